import Foundation

/// A reference the compiler lets concurrent workers share; each worker writes only its own
/// slots, so no two touch the same memory.
final class SharedSlots<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    let count: Int
    init(_ n: Int, _ value: T) {
        count = n
        p = UnsafeMutablePointer<T>.allocate(capacity: max(n, 1))
        p.initialize(repeating: value, count: n)
    }
    deinit {
        p.deinitialize(count: count)
        p.deallocate()
    }
    var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// Work split over the cores that returns results (at most `Runtime.threads` at a time; one
/// thread runs in order). See Tensor/Parallel.swift for the in-place forms.
extension Parallel {
    /// body(i) for every i in 0..<n, results in order. The first error (by index) is thrown.
    public static func map<T>(_ n: Int, _ body: (Int) throws(LatheError) -> T) throws(LatheError) -> [T] {
        if n <= 0 { return [] }
        if n == 1 || Runtime.threads <= 1 {
            var out: [T] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try body(i)) }
            return out
        }
        let results = SharedSlots<T?>(n, nil)
        let errors = SharedSlots<LatheError?>(n, nil)
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(b)
            DispatchQueue.concurrentPerform(iterations: n) { i in
                do throws(LatheError) { results.p[i] = try box.value(i) } catch { errors.p[i] = error }
            }
        }
        if let e = errors.array.compactMap({ $0 }).first { throw e }
        return results.array.map { $0! }
    }

    /// Splits 0..<n into about `2 * threads` contiguous chunks and runs body(range) on each.
    public static func chunks<T>(_ n: Int, minChunk: Int = 1024, _ body: (Range<Int>) throws(LatheError) -> T) throws(LatheError) -> [T] {
        if n <= 0 { return [] }
        let parts = max(1, min(Runtime.threads * 4, (n + minChunk - 1) / minChunk))
        let size = (n + parts - 1) / parts
        let ranges = stride(from: 0, to: n, by: size).map { $0..<min($0 + size, n) }
        return try map(ranges.count) { (i) throws(LatheError) -> T in try body(ranges[i]) }
    }
}
