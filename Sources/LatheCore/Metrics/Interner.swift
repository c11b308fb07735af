import Glibc

/// Dense integer ids for byte strings and for pairs of ids, so n-gram counting works on
/// integers (no String per token or n-gram in the hot loops). Storage is manually managed
/// (no reference counting or bounds checks in the inner loops).

private func realloc<T>(_ p: UnsafeMutablePointer<T>, _ count: Int, _ cap: Int) -> UnsafeMutablePointer<T> {
    let q = UnsafeMutablePointer<T>.allocate(capacity: cap)
    q.moveInitialize(from: p, count: count)
    p.deallocate()
    return q
}

@inline(__always)
private func grow<T>(_ p: inout UnsafeMutablePointer<T>, _ cap: inout Int, to need: Int, count: Int) {
    if need <= cap { return }
    var c = max(cap, 16)
    while c < need { c *= 2 }
    let q = UnsafeMutablePointer<T>.allocate(capacity: c)
    q.moveInitialize(from: p, count: count)
    p.deallocate()
    p = q
    cap = c
}

/// Interns byte strings (tokens) to ids 0, 1, 2, ... (open addressing over an arena). Equal
/// bytes give equal ids (no Unicode normalization, as Python compares strings).
public final class ByteInterner {
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCap: Int
    private var arenaLen = 0
    private var starts: UnsafeMutablePointer<Int>
    private var lens: UnsafeMutablePointer<Int32>
    private var hashes: UnsafeMutablePointer<UInt64>
    private var idCap: Int
    public private(set) var count = 0
    private var table: UnsafeMutablePointer<Int32>
    private var tableCap: Int
    private var mask: Int

    public init(capacity: Int = 1024) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        tableCap = cap
        mask = cap - 1
        table = .allocate(capacity: cap)
        table.initialize(repeating: -1, count: cap)
        idCap = max(capacity, 16)
        starts = .allocate(capacity: idCap)
        lens = .allocate(capacity: idCap)
        hashes = .allocate(capacity: idCap)
        arenaCap = max(capacity * 8, 64)
        arena = .allocate(capacity: arenaCap)
    }

    deinit {
        arena.deallocate(); starts.deallocate(); lens.deallocate(); hashes.deallocate(); table.deallocate()
    }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 29)
    }

    /// The id of the n bytes at p, adding them if new.
    @inline(__always)
    public func intern(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        let h = ByteInterner.hash(p, n)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = table[slot]
            if id < 0 { break }
            let k = Int(id)
            if hashes[k] == h && Int(lens[k]) == n && memcmp(arena + starts[k], p, n) == 0 { return id }
            slot = (slot + 1) & mask
        }
        let k = count
        if k == idCap {
            let nc = idCap * 2
            starts = realloc(starts, k, nc)
            lens = realloc(lens, k, nc)
            hashes = realloc(hashes, k, nc)
            idCap = nc
        }
        grow(&arena, &arenaCap, to: arenaLen + n, count: arenaLen)
        (arena + arenaLen).update(from: p, count: n)
        starts[k] = arenaLen
        lens[k] = Int32(n)
        hashes[k] = h
        arenaLen += n
        table[slot] = Int32(k)
        count += 1
        if count * 2 > tableCap { rehash() }
        return Int32(k)
    }

    /// The id of bytes p[r], adding it if new.
    public func intern(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int32 {
        guard let base = p.baseAddress else { return intern(UnsafePointer(arena), 0) }
        return intern(base + r.lowerBound, r.count)
    }

    public func intern(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { b in b.baseAddress.map { intern($0, b.count) } ?? intern(UnsafePointer(arena), 0) }
    }

    func bytes(_ id: Int32) -> [UInt8] {
        let k = Int(id)
        return Array(UnsafeBufferPointer(start: arena + starts[k], count: Int(lens[k])))
    }

    private func rehash() {
        tableCap *= 2
        mask = tableCap - 1
        table.deallocate()
        table = .allocate(capacity: tableCap)
        table.initialize(repeating: -1, count: tableCap)
        for k in 0..<count {
            var slot = Int(truncatingIfNeeded: hashes[k]) & mask
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(k)
        }
    }
}

/// The key of an n-gram: the id of its (n-1)-gram prefix (-1 for none) and its last token.
enum NgramKey {
    @inline(__always)
    static func pair(_ a: Int32, _ b: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: a)) << 32) | UInt64(UInt32(bitPattern: b))
    }
}

/// Counts of ids within one segment, reset in O(touched).
final class SparseCounter {
    private(set) var counts: UnsafeMutablePointer<Int32>
    private var cap: Int
    private(set) var touched: UnsafeMutablePointer<Int32>
    private var touchedCap: Int
    private(set) var touchedCount = 0

    init(capacity: Int = 1024) {
        cap = max(capacity, 16)
        counts = .allocate(capacity: cap)
        counts.initialize(repeating: 0, count: cap)
        touchedCap = 256
        touched = .allocate(capacity: touchedCap)
    }

    deinit { counts.deallocate(); touched.deallocate() }

    /// Room for ids below n.
    @inline(__always)
    func ensure(_ n: Int) {
        if n <= cap { return }
        var c = cap
        while c < n { c *= 2 }
        let q = UnsafeMutablePointer<Int32>.allocate(capacity: c)
        q.moveInitialize(from: counts, count: cap)
        (q + cap).initialize(repeating: 0, count: c - cap)
        counts.deallocate()
        counts = q
        cap = c
    }

    @inline(__always)
    func add(_ id: Int32, _ by: Int32 = 1) {
        let k = Int(id)
        if counts[k] == 0 { markTouched(id) }
        counts[k] += by
    }

    /// Sets the count of id (which must be 0 and untouched, or already touched).
    @inline(__always)
    func set(_ id: Int32, _ v: Int32) {
        let k = Int(id)
        if counts[k] == 0 && v != 0 { markTouched(id) }
        counts[k] = v
    }

    @inline(__always)
    private func markTouched(_ id: Int32) {
        if touchedCount == touchedCap {
            let q = UnsafeMutablePointer<Int32>.allocate(capacity: touchedCap * 2)
            q.moveInitialize(from: touched, count: touchedCount)
            touched.deallocate()
            touched = q
            touchedCap *= 2
        }
        touched[touchedCount] = id
        touchedCount += 1
    }

    @inline(__always)
    subscript(_ id: Int32) -> Int32 { counts[Int(id)] }

    @inline(__always)
    func reset() {
        for i in 0..<touchedCount { counts[Int(touched[i])] = 0 }
        touchedCount = 0
    }
}

/// A small interner for the n-grams of one segment: 64-bit keys to ids 0, 1, 2, ... that is
/// emptied in O(1) (a generation stamp), so the table stays small and in cache.
final class LocalInterner {
    private struct Slot {
        var key: UInt64
        var id: Int32
        var gen: UInt32
    }
    private var slots: UnsafeMutablePointer<Slot>
    private var cap: Int
    private var mask: Int
    private var shift: UInt64
    private var gen: UInt32 = 1
    private(set) var count = 0

    init(capacity: Int = 512) {
        var c = 16
        var bits: UInt64 = 4
        while c < capacity * 2 { c <<= 1; bits += 1 }
        cap = c
        mask = c - 1
        shift = 64 - bits
        slots = .allocate(capacity: c)
        slots.initialize(repeating: Slot(key: 0, id: -1, gen: 0), count: c)
    }

    deinit { slots.deallocate() }

    /// Forgets every key.
    @inline(__always)
    func reset() {
        count = 0
        gen &+= 1
        if gen == 0 {
            for i in 0..<cap { slots[i].gen = 0 }
            gen = 1
        }
    }

    @inline(__always)
    func intern(_ key: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let s = slots[slot]
            if s.gen != gen { break }
            if s.key == key { return s.id }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        slots[slot] = Slot(key: key, id: id, gen: gen)
        count += 1
        if count * 2 > cap { rehash() }
        return id
    }

    private func rehash() {
        let old = slots, oldCap = cap
        cap *= 2
        mask = cap - 1
        shift -= 1
        slots = .allocate(capacity: cap)
        slots.initialize(repeating: Slot(key: 0, id: -1, gen: 0), count: cap)
        for i in 0..<oldCap where old[i].gen == gen {
            var slot = Int(truncatingIfNeeded: (old[i].key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while slots[slot].gen == gen { slot = (slot + 1) & mask }
            slots[slot] = old[i]
        }
        old.deallocate()
    }
}
