import Foundation

/// The bytes of a model file, read-only: a memory map of a file on disk (pages are loaded on
/// first touch and can be dropped by the kernel again, so opening a 500 MB checkpoint costs
/// almost no memory until tensors are copied out of it), or a private copy of bytes given in
/// memory. Every access goes through bounds-checked helpers; nothing reads past `count`.
public final class FileBytes: @unchecked Sendable {
    /// The name used in error messages (the path as the caller gave it).
    public let name: String
    /// Start of the bytes (never nil; a 1-byte dummy allocation for empty input).
    public let base: UnsafeRawPointer
    /// Number of readable bytes.
    public let count: Int
    private let mapped: Bool
    private let mappedLength: Int
    /// The open file behind a mapping (-1 for bytes in memory): large same-format copies read
    /// straight into the destination with pread, which costs fewer page faults than copying
    /// out of the mapping.
    private let fd: Int32

    /// Maps the file at `path` read-only.
    public init(path: String) throws(LatheError) {
        name = path
        let (fd, size) = try RegularFile.open(path)
        if size == 0 {
            // mmap of 0 bytes fails; an empty file is simply an empty buffer
            let p = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
            base = UnsafeRawPointer(p)
            count = 0
            mapped = false
            mappedLength = 0
            self.fd = -1
            close(fd)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            close(fd)
            throw LatheError("cannot map \(path) into memory: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        count = size
        mapped = true
        mappedLength = size
        self.fd = fd
    }

    /// A private copy of `bytes`; `name` is used in error messages.
    public init(bytes: [UInt8], name: String) {
        self.name = name
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress, !bytes.isEmpty { p.copyMemory(from: s, byteCount: bytes.count) }
        }
        base = UnsafeRawPointer(p)
        count = bytes.count
        mapped = false
        mappedLength = 0
        fd = -1
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
            if fd >= 0 { close(fd) }
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// Tells the kernel that a byte range will be read soon (sequential read-ahead).
    func willNeed(_ range: Range<Int>) {
        guard mapped, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base) + start, range.upperBound - start, MADV_WILLNEED)
    }

    /// Copies `n` bytes at `offset` (already bounds-checked by the caller) to `dst`: pread from
    /// the file when it is mapped and the copy is large, memcpy otherwise.
    func copy(from offset: Int, count n: Int, to dst: UnsafeMutableRawPointer) {
        if n <= 0 { return }
        if fd >= 0 && n >= 1 << 20 {
            var done = 0
            while done < n {
                let r = pread(fd, dst + done, n - done, off_t(offset + done))
                if r > 0 { done += r; continue }
                if r < 0 && errno == EINTR { continue }
                break   // I/O error or the file shrank: fall back to the mapping
            }
            if done == n { return }
            (dst + done).copyMemory(from: base + offset + done, byteCount: n - done)
            return
        }
        dst.copyMemory(from: base + offset, byteCount: n)
    }

    /// The bytes in `range` as an array (bounds-checked).
    public func bytes(_ range: Range<Int>) throws(LatheError) -> [UInt8] {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw LatheError("\(name): byte range \(range.lowerBound)..<\(range.upperBound) is outside the \(count)-byte file")
        }
        return [UInt8](UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }
}

/// A forward reader over `FileBytes` with little-endian integer reads. Every read checks the
/// remaining length first and throws a `LatheError` built by `fail` instead of over-reading.
struct ByteCursor {
    let file: FileBytes
    var pos: Int
    /// Builds the error for a read past the end (gets what was being read).
    let truncated: (String) -> LatheError

    init(_ file: FileBytes, at pos: Int = 0, truncated: @escaping (String) -> LatheError) {
        self.file = file
        self.pos = pos
        self.truncated = truncated
    }

    var remaining: Int { file.count - pos }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws(LatheError) {
        if n < 0 || n > remaining { throw truncated(what()) }
    }

    mutating func u8(_ what: @autoclosure () -> String) throws(LatheError) -> UInt8 {
        try need(1, what())
        defer { pos += 1 }
        return file.base.load(fromByteOffset: pos, as: UInt8.self)
    }
    mutating func u16(_ what: @autoclosure () -> String) throws(LatheError) -> UInt16 {
        try need(2, what())
        defer { pos += 2 }
        return UInt16(littleEndian: file.base.loadUnaligned(fromByteOffset: pos, as: UInt16.self))
    }
    mutating func u32(_ what: @autoclosure () -> String) throws(LatheError) -> UInt32 {
        try need(4, what())
        defer { pos += 4 }
        return UInt32(littleEndian: file.base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
    }
    mutating func u64(_ what: @autoclosure () -> String) throws(LatheError) -> UInt64 {
        try need(8, what())
        defer { pos += 8 }
        return UInt64(littleEndian: file.base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
    }
    /// `n` raw bytes as a buffer into the file (no copy).
    mutating func raw(_ n: Int, _ what: @autoclosure () -> String) throws(LatheError) -> UnsafeRawBufferPointer {
        try need(n, what())
        defer { pos += n }
        return UnsafeRawBufferPointer(start: file.base + pos, count: n)
    }
}

/// The element count of a shape, or nil when a size is negative or when the product of the
/// sizes (zeros counted as 1, as tensor strides are computed) overflows: a shape like
/// `[0, 2^40, 2^40]` has no elements but no tensor can be made of it either.
@inline(__always) func checkedProduct(_ xs: [Int]) -> Int? {
    var acc = 1
    var nonzero = 1
    for x in xs {
        if x < 0 { return nil }
        let (r, o) = nonzero.multipliedReportingOverflow(by: max(x, 1))
        if o { return nil }
        nonzero = r
        acc = x == 0 ? 0 : acc
    }
    return acc == 0 ? 0 : nonzero
}

/// `[1,2,3]` for messages.
@inline(__always) func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

/// `withUnsafeBytes` for code with typed throws (the standard one rethrows `any Error`).
@inline(__always) func withRawBytes<T, R>(of a: [T], _ body: (UnsafeRawBufferPointer) throws(LatheError) -> R) throws(LatheError) -> R {
    var result: Result<R, LatheError>? = nil
    a.withUnsafeBytes { b in
        do throws(LatheError) { result = .success(try body(b)) } catch { result = .failure(error) }
    }
    guard let r = result else { throw LatheError("internal error: buffer closure did not run") }
    return try r.get()
}

/// `withUnsafeBufferPointer` for code with typed throws.
@inline(__always) func withBuffer<T, R>(of a: [T], _ body: (UnsafeBufferPointer<T>) throws(LatheError) -> R) throws(LatheError) -> R {
    var result: Result<R, LatheError>? = nil
    a.withUnsafeBufferPointer { b in
        do throws(LatheError) { result = .success(try body(b)) } catch { result = .failure(error) }
    }
    guard let r = result else { throw LatheError("internal error: buffer closure did not run") }
    return try r.get()
}

/// Refuses to allocate a tensor larger than this machine's memory (a corrupt or sparse file can
/// describe one; the allocator would otherwise abort the process).
func checkTensorFits(elements: Int, dtype: DType, _ what: @autoclosure () -> String) throws(LatheError) {
    let (bytes, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
    let ram = ProcessInfo.processInfo.physicalMemory
    if o || UInt64(bytes) > ram {
        let gb = { (x: Double) in String(format: "%.1f GB", x / 1e9) }
        throw LatheError("\(what()) needs \(o ? "more than 9e18 bytes" : gb(Double(bytes))) as \(dtype.rawValue), more than this machine's \(gb(Double(ram))) of memory")
    }
}
