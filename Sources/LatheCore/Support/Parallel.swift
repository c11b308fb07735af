import CGemm

/// Splits work over Lathe's threads (`Runtime.threads`) on Lathe's own thread pool (CGemm:
/// persistent workers, a fork-join of a few microseconds). Small jobs run inline: threads
/// only pay off for large ranges.
public enum Parallel {
    /// Calls body(lo, hi) over [0, n) in up to `Runtime.threads` contiguous chunks, each at
    /// least `grain` long.
    @inline(__always)
    public static func chunks(_ n: Int, grain: Int = 32768, _ body: (Int, Int) -> Void) {
        let t = Runtime.threads
        if t <= 1 || n < 2 * grain {
            if n > 0 { body(0, n) }
            return
        }
        let parts = min(t, max(1, n / grain))
        if parts <= 1 {
            body(0, n)
            return
        }
        run(parts) { p in
            let lo = n * p / parts, hi = n * (p + 1) / parts
            if hi > lo { body(lo, hi) }
        }
    }

    /// Calls body(i) for i in [0, n) spread over threads when there are enough items each
    /// costing `costPerItem` (in elements of work).
    @inline(__always)
    public static func forEach(_ n: Int, costPerItem: Int, _ body: (Int) -> Void) {
        let t = Runtime.threads
        if t <= 1 || n < 2 || n * costPerItem < 65536 {
            for i in 0..<n { body(i) }
            return
        }
        let parts = min(t, n)
        run(parts) { p in
            let lo = n * p / parts, hi = n * (p + 1) / parts
            for i in lo..<hi { body(i) }
        }
    }

    /// Runs body(p) for p in [0, parts) on the pool with at most `maxThreads` threads (0: all
    /// of `Runtime.threads`; the caller takes part) and returns when all are done. Tasks are
    /// handed out in order; a call made from inside a task runs serially.
    public static func run(_ parts: Int, maxThreads: Int = 0, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { b in
            var box = TaskBox(body: b)
            withUnsafeMutablePointer(to: &box) { p in
                lg_parallel_for_n(parts, Int32(clamping: maxThreads), { ctx, task, _ in
                    ctx!.assumingMemoryBound(to: TaskBox.self).pointee.body(task)
                }, p)
            }
        }
    }

    /// Jobs the pool has run on more than one thread since start (for tests).
    public static var poolJobs: Int { lg_pool_jobs() }
    /// Threads the pool uses (follows `Runtime.threads`).
    public static var poolThreads: Int { Int(lg_pool_threads()) }
}

private struct TaskBox {
    let body: (Int) -> Void
}

/// Hands a non-Sendable value to worker threads whose use of it the caller has made safe
/// (disjoint ranges of one buffer).
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
