import Foundation

/// Element types. float32 is the compute type; int64 holds indices, labels and token ids;
/// bool holds masks (one byte per element). Files may also carry float16, bfloat16, float64
/// and int32, which are converted on load.
public enum DType: String, Sendable, CaseIterable {
    case float32
    case int64
    case bool

    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .int64: return 8
        case .bool: return 1
        }
    }
}

/// A block of memory shared by a tensor and its views.
///
/// Small blocks live inside the object itself (one allocation per tensor; the kernels use
/// unaligned loads). Large blocks are 64-byte aligned and, when freed, kept in a size-keyed
/// cache for reuse: Lua frees tensors only when its collector runs, so without the cache every
/// step of a loop would fault in fresh pages from the kernel, and the page faults alone would
/// hold elementwise ops on big tensors well below numpy's speed.
public struct StorageHeader {
    var raw: UnsafeMutableRawPointer?
    var byteCount: Int
    var capacity: Int
    var cached: Bool
}

public final class Storage: ManagedBuffer<StorageHeader, UInt8>, @unchecked Sendable {
    /// Uninitialized storage for `byteCount` bytes. Every tensor buffer comes from here, so
    /// this is the one place where sizes from users and files are checked against the memory
    /// there is, and where an allocation the system refuses becomes an error, not an abort.
    public static func make(byteCount: Int) throws(LatheError) -> Storage {
        if byteCount < 0 { throw LatheError("cannot allocate a negative number of bytes (\(byteCount))") }
        if byteCount <= BlockCache.smallLimit {
            // create returns the class it is called on (ManagedBuffer's contract): no checked cast
            let s = unsafeDowncast(Storage.create(minimumCapacity: max(byteCount, 16)) { _ in
                StorageHeader(raw: nil, byteCount: byteCount, capacity: max(byteCount, 16), cached: false)
            }, to: Storage.self)
            s.withUnsafeMutablePointers { h, e in h.pointee.raw = UnsafeMutableRawPointer(e) }
            return s
        }
        try TensorMemory.checkAvailable(byteCount)
        let cap = BlockCache.roundUp(byteCount)
        guard let p = BlockCache.shared.take(cap) else {
            throw LatheError("out of memory: the system refused \(Tensor.humanBytes(Double(cap))) for a tensor")
        }
        return unsafeDowncast(Storage.create(minimumCapacity: 0) { _ in
            StorageHeader(raw: p, byteCount: byteCount, capacity: cap, cached: true)
        }, to: Storage.self)
    }

    /// Zero-filled storage.
    public static func zeroed(byteCount: Int) throws(LatheError) -> Storage {
        let s = try make(byteCount: byteCount)
        memset(s.raw, 0, max(byteCount, 0))
        return s
    }

    deinit {
        if header.cached, let p = header.raw { BlockCache.shared.give(p, header.capacity) }
    }

    @inline(__always) public var raw: UnsafeMutableRawPointer { header.raw.unsafelyUnwrapped }
    @inline(__always) public var byteCount: Int { header.byteCount }

    @inline(__always) public var floats: UnsafeMutablePointer<Float> {
        raw.assumingMemoryBound(to: Float.self)
    }
    @inline(__always) public var int64s: UnsafeMutablePointer<Int64> {
        raw.assumingMemoryBound(to: Int64.self)
    }
    @inline(__always) public var bytes: UnsafeMutablePointer<UInt8> {
        raw.assumingMemoryBound(to: UInt8.self)
    }
}

/// Recently freed large blocks, by exact (rounded) size, up to a byte budget; the oldest go
/// back to the system first.
final class BlockCache: @unchecked Sendable {
    static let shared = BlockCache()
    static let smallLimit = 256 * 1024
    /// At most this many bytes are kept (a quarter of physical memory, capped at 4 GiB).
    let budget: Int = min(Int(ProcessInfo.processInfo.physicalMemory / 4), 4 << 30)

    struct State {
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        var order: [(Int, UnsafeMutableRawPointer)] = []  // oldest first
        var bytes = 0
    }
    let lock = NSLock()
    nonisolated(unsafe) var s = State()

    static func roundUp(_ n: Int) -> Int {
        // 4 KiB granularity below 4 MiB, 64 KiB above: same-shape tensors always share a class
        let g = n < (4 << 20) ? 4096 : 65536
        return (n + g - 1) / g * g
    }

    /// A block of `cap` bytes, or nil when the system has no memory for it.
    func take(_ cap: Int) -> UnsafeMutableRawPointer? {
        lock.lock()
        var hit: UnsafeMutableRawPointer? = nil
        if var list = s.free[cap], let p = list.popLast() {
            s.free[cap] = list.isEmpty ? nil : list
            s.bytes -= cap
            if let i = s.order.lastIndex(where: { $0.1 == p }) { s.order.remove(at: i) }
            hit = p
        }
        lock.unlock()
        if let hit { return hit }
        var p: UnsafeMutableRawPointer? = nil
        // big blocks: 2 MiB aligned and backed by huge pages, so first touch faults 512x less
        let huge = cap >= (4 << 20)
        let align = huge ? (2 << 20) : 64
        if posix_memalign(&p, align, cap) != 0 || p == nil {
            // give cached blocks back and retry once
            trim(to: 0)
            if posix_memalign(&p, align, cap) != 0 || p == nil { return nil }
        }
        if huge { _ = madvise(p!, cap & ~((2 << 20) - 1), MADV_HUGEPAGE) }
        return p!
    }

    func give(_ p: UnsafeMutableRawPointer, _ cap: Int) {
        if cap > budget / 2 {
            free(p)
            return
        }
        lock.lock()
        s.free[cap, default: []].append(p)
        s.order.append((cap, p))
        s.bytes += cap
        let evict = evictLocked(above: budget)
        lock.unlock()
        for q in evict { free(q) }
    }

    /// Frees cached blocks until at most `bytes` remain cached.
    func trim(to bytes: Int) {
        lock.lock()
        let evict = evictLocked(above: bytes)
        lock.unlock()
        for q in evict { free(q) }
    }

    /// Removes the oldest blocks until at most `limit` bytes are cached (lock held).
    func evictLocked(above limit: Int) -> [UnsafeMutableRawPointer] {
        var evict: [UnsafeMutableRawPointer] = []
        while s.bytes > limit, !s.order.isEmpty {
            let (c, q) = s.order.removeFirst()
            if var list = s.free[c], let i = list.firstIndex(of: q) {
                list.remove(at: i)
                s.free[c] = list.isEmpty ? nil : list
            }
            s.bytes -= c
            evict.append(q)
        }
        return evict
    }

    var cachedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return s.bytes
    }
}

/// Memory held for reuse by the tensor allocator.
public enum TensorMemory {
    /// Bytes of freed tensor memory kept for reuse.
    public static var cachedBytes: Int { BlockCache.shared.cachedBytes }
    /// Returns cached blocks to the system.
    public static func releaseCache() { BlockCache.shared.trim(to: 0) }

    /// The largest tensor Lathe agrees to allocate in one piece (guards typos like zeros(1e12)).
    public static let maxBytes = 1 << 40

    /// Throws when `bytes` is more than Lathe allocates at once or than the system has free.
    public static func checkAvailable(_ bytes: Int) throws(LatheError) {
        if bytes > maxBytes {
            throw LatheError("a tensor of \(Tensor.humanBytes(Double(bytes))) is more than Lathe allocates at once (\(Tensor.humanBytes(Double(maxBytes))))")
        }
        // only big requests consult the system (reading /proc/meminfo costs microseconds)
        guard bytes > (256 << 20) else { return }
        let avail = Tensor.availableMemory() + BlockCache.shared.cachedBytes
        if avail > 0 && bytes > avail {
            throw LatheError("a tensor of \(Tensor.humanBytes(Double(bytes))) does not fit: only \(Tensor.humanBytes(Double(avail))) of memory is available")
        }
    }
}
