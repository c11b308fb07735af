/// Dense integer ids for byte strings and for pairs of ids, so n-gram counting works on
/// integers (no String per token or n-gram in the hot loops).

/// Interns byte strings (tokens) to ids 0, 1, 2, ... (open addressing over an arena). Equal
/// bytes give equal ids (no Unicode normalization, as Python compares strings).
public final class ByteInterner {
    private(set) var arena: [UInt8] = []
    private var starts: [Int] = []
    private var lens: [Int] = []
    private var table: [Int32]
    private var hashes: [UInt64] = []
    private var mask: Int

    public init(capacity: Int = 1024) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        table = [Int32](repeating: -1, count: cap)
        mask = cap - 1
    }

    public var count: Int { starts.count }

    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in r { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 29)
    }

    /// The id of bytes p[r], adding it if new.
    public func intern(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int32 {
        let h = ByteInterner.hash(p, r)
        var slot = Int(truncatingIfNeeded: h) & mask
        let n = r.count
        while true {
            let id = table[slot]
            if id < 0 { break }
            let k = Int(id)
            if hashes[k] == h && lens[k] == n {
                let s = starts[k]
                var same = true
                var j = 0
                while j < n {
                    if arena[s + j] != p[r.lowerBound + j] { same = false; break }
                    j += 1
                }
                if same { return id }
            }
            slot = (slot + 1) & mask
        }
        let id = Int32(starts.count)
        starts.append(arena.count)
        lens.append(n)
        hashes.append(h)
        arena.append(contentsOf: UnsafeBufferPointer(rebasing: p[r]))
        table[slot] = id
        if starts.count * 2 > table.count { grow() }
        return id
    }

    public func intern(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { intern($0, 0..<$0.count) }
    }

    func bytes(_ id: Int32) -> ArraySlice<UInt8> {
        let k = Int(id)
        return arena[starts[k]..<(starts[k] + lens[k])]
    }

    private func grow() {
        let cap = table.count * 2
        table = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        for k in 0..<starts.count {
            var slot = Int(truncatingIfNeeded: hashes[k]) & mask
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(k)
        }
    }
}

/// Interns 64-bit keys (e.g. a pair of ids) to ids 0, 1, 2, ...
final class KeyInterner {
    private var keys: [UInt64]
    private var ids: [Int32]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 4096) {
        var cap = 16
        var bits: UInt64 = 4
        while cap < capacity * 2 { cap <<= 1; bits += 1 }
        keys = [UInt64](repeating: 0, count: cap)
        ids = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        shift = 64 - bits
    }

    @inline(__always)
    func intern(_ key: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let id = ids[slot]
            if id < 0 { break }
            if keys[slot] == key { return id }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        keys[slot] = key
        ids[slot] = id
        count += 1
        if count * 2 > ids.count { grow() }
        return id
    }

    /// The id of key if present.
    @inline(__always)
    func find(_ key: UInt64) -> Int32? {
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let id = ids[slot]
            if id < 0 { return nil }
            if keys[slot] == key { return id }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    static func pair(_ a: Int32, _ b: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: a)) << 32) | UInt64(UInt32(bitPattern: b))
    }

    private func grow() {
        let oldKeys = keys, oldIds = ids
        let cap = ids.count * 2
        keys = [UInt64](repeating: 0, count: cap)
        ids = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        shift -= 1
        for s in 0..<oldIds.count where oldIds[s] >= 0 {
            var slot = Int(truncatingIfNeeded: (oldKeys[s] &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while ids[slot] >= 0 { slot = (slot + 1) & mask }
            keys[slot] = oldKeys[s]
            ids[slot] = oldIds[s]
        }
    }
}

/// Counts of ids within one segment, reset in O(touched).
struct SparseCounter {
    var counts: [Int32] = []
    var touched: [Int32] = []

    @inline(__always)
    mutating func ensure(_ n: Int) {
        if counts.count < n { counts.append(contentsOf: repeatElement(0, count: max(n - counts.count, counts.count))) }
    }

    @inline(__always)
    mutating func add(_ id: Int32) {
        let k = Int(id)
        if counts[k] == 0 { touched.append(id) }
        counts[k] += 1
    }

    @inline(__always)
    mutating func reset() {
        for id in touched { counts[Int(id)] = 0 }
        touched.removeAll(keepingCapacity: true)
    }
}
