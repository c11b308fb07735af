import Foundation

@inline(__always)
func textHashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n &+ 1)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= n {
        let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
        i += 8
    }
    if i < n {
        var w: UInt64 = 0
        var s: UInt64 = 0
        while i < n { w |= UInt64(p[i]) << s; s += 8; i += 1 }
        h = (h ^ w) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
    }
    return h &* 0x9E37_79B9_7F4A_7C15
}

/// An immutable hash table from byte strings to ids (vocabularies), built once.
struct TextBytesTable {
    private var slots: [Int32]       // entry index, or -1
    private var keyStart: [Int32] = []
    private var keyLen: [Int32] = []
    private var values: [Int32] = []
    private var arena: [UInt8] = []
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    init(_ pairs: [(String, Int32)]) {
        self.init(capacity: pairs.count)
        for (k, v) in pairs { insert(Array(k.utf8), v) }
    }

    var count: Int { values.count }

    /// Inserts (or overwrites) key -> value.
    mutating func insert(_ key: [UInt8], _ value: Int32) {
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = key.withUnsafeBufferPointer { textHashBytes($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = slots[s]
            if e < 0 {
                slots[s] = Int32(values.count)
                keyStart.append(Int32(arena.count))
                keyLen.append(Int32(key.count))
                values.append(value)
                arena.append(contentsOf: key)
                return
            }
            if Int(keyLen[Int(e)]) == key.count {
                let st = Int(keyStart[Int(e)])
                if arena[st..<(st + key.count)].elementsEqual(key) {
                    values[Int(e)] = value
                    return
                }
            }
            s = (s + 1) & mask
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        arena.withUnsafeBufferPointer { ab in
            for e in 0..<values.count {
                let st = Int(keyStart[e]), l = Int(keyLen[e])
                let h = textHashBytes((ab.baseAddress ?? UnsafePointer(bitPattern: 1)!) + st, l)
                var s = Int(truncatingIfNeeded: h) & mask
                while slots[s] >= 0 { s = (s + 1) & mask }
                slots[s] = Int32(e)
            }
        }
    }

    @inline(__always)
    func get(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        let h = textHashBytes(p, n)
        var s = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { sl in
            arena.withUnsafeBufferPointer { ab in
                while true {
                    let e = Int(sl[s])
                    if e < 0 { return nil }
                    if Int(keyLen[e]) == n {
                        let st = Int(keyStart[e])
                        if n == 0 || memcmp(ab.baseAddress! + st, p, n) == 0 { return values[e] }
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }

    func get(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { get($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
    }

    func get(_ key: String) -> Int32? { get(Array(key.utf8)) }
}

/// Merge ranks of a BPE model: (left id, right id) -> (rank, merged id).
struct TextPairTable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private var mask: Int
    private(set) var count = 0
    static let empty: UInt64 = .max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: TextPairTable.empty, count: size)
        vals = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: a)) << 32) | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always) static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// Inserts or overwrites (a later duplicate merge wins, as in the Rust library's map).
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int32, newId: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let k = TextPairTable.key(a, b)
        var s = TextPairTable.slot(k, mask)
        while keys[s] != TextPairTable.empty && keys[s] != k { s = (s + 1) & mask }
        if keys[s] == TextPairTable.empty { count += 1 }
        keys[s] = k
        vals[s] = (UInt64(UInt32(bitPattern: rank)) << 32) | UInt64(UInt32(bitPattern: newId))
    }

    private mutating func grow() {
        let oldK = keys, oldV = vals
        let size = keys.count * 2
        keys = [UInt64](repeating: TextPairTable.empty, count: size)
        vals = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for (k, v) in zip(oldK, oldV) where k != TextPairTable.empty {
            var s = TextPairTable.slot(k, mask)
            while keys[s] != TextPairTable.empty { s = (s + 1) & mask }
            keys[s] = k
            vals[s] = v
        }
    }

    /// (rank, newId) packed as rank << 32 | newId, or nil.
    @inline(__always)
    func get(_ a: Int32, _ b: Int32) -> UInt64? {
        let k = TextPairTable.key(a, b)
        var s = TextPairTable.slot(k, mask)
        return keys.withUnsafeBufferPointer { kb in
            while true {
                let x = kb[s]
                if x == k { return vals[s] }
                if x == TextPairTable.empty { return nil }
                s = (s + 1) & mask
            }
        }
    }

    /// All entries (for serialization).
    func entries() -> [(a: Int32, b: Int32, rank: Int32, newId: Int32)] {
        var out: [(Int32, Int32, Int32, Int32)] = []
        for (k, v) in zip(keys, vals) where k != TextPairTable.empty {
            out.append((Int32(bitPattern: UInt32(k >> 32)), Int32(bitPattern: UInt32(k & 0xFFFF_FFFF)),
                        Int32(bitPattern: UInt32(v >> 32)), Int32(bitPattern: UInt32(v & 0xFFFF_FFFF))))
        }
        return out
    }
}

/// A cache of tokenized words: key bytes -> (id, byte length) pairs. Bounded: when full it is
/// cleared and refills with the words in use.
final class TextWordCache {
    private var slots: [Int32]
    private var keyStart: [Int32] = []
    private var keyLen: [Int32] = []
    private var valStart: [Int32] = []
    private var valLen: [Int32] = []
    private var arena: [UInt8] = []
    private var vals: [Int32] = []
    private var mask: Int
    let maxEntries: Int
    let maxKeyLength = 256

    /// Empty until the first insert: every tokenizer holds two caches, and most (vocabularies
    /// built to be looked at, tokenizers of other kinds) never fill them; allocated at once
    /// they cost 4 MB of address space per tokenizer, which Lua's collector does not see.
    init(maxEntries: Int = 1 << 16) {
        self.maxEntries = maxEntries
        slots = [-1]  // one empty slot: lookups miss without a branch of their own
        mask = 0
    }

    func allocate() {
        var size = 16
        while size < maxEntries * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        arena.reserveCapacity(maxEntries * 8)
        vals.reserveCapacity(maxEntries * 4)
    }

    func clear() {
        for k in slots.indices { slots[k] = -1 }
        keyStart.removeAll(keepingCapacity: true)
        keyLen.removeAll(keepingCapacity: true)
        valStart.removeAll(keepingCapacity: true)
        valLen.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        vals.removeAll(keepingCapacity: true)
    }

    /// Appends the cached (id, len) pairs of the key to `out` and returns true, or returns false.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, into out: inout [Int32]) -> Bool {
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[s])
            if e < 0 { return false }
            if Int(keyLen[e]) == n {
                let st = Int(keyStart[e])
                let same = arena.withUnsafeBufferPointer { ab in ab.baseAddress.map { memcmp($0 + st, p, n) == 0 } ?? false }
                if same {
                    let vs = Int(valStart[e]), vl = Int(valLen[e])
                    if vl > 0 {
                        vals.withUnsafeBufferPointer { vb in
                            if let b = vb.baseAddress { out.append(contentsOf: UnsafeBufferPointer(start: b + vs, count: vl)) }
                        }
                    }
                    return true
                }
            }
            s = (s + 1) & mask
        }
    }

    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, _ v: ArraySlice<Int32>) {
        if n > maxKeyLength || n == 0 { return }
        if mask == 0 { allocate() }
        if keyLen.count >= maxEntries { clear() }
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] >= 0 { s = (s + 1) & mask }
        slots[s] = Int32(keyLen.count)
        keyStart.append(Int32(arena.count))
        keyLen.append(Int32(n))
        valStart.append(Int32(vals.count))
        valLen.append(Int32(v.count))
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        vals.append(contentsOf: v)
    }
}
