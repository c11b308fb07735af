import CGemm
import CLatheCore
import Foundation

/// Process-wide engine settings shared by every module: the seeded generator and the thread
/// count. Lathe runs Lua on one thread; these are only touched from that thread.
public enum Runtime {
    /// The seed used when a session starts and `lathe.seed` was never called.
    public static let defaultSeed: UInt64 = 42
    nonisolated(unsafe) public static var rng = RandomGenerator(seed: defaultSeed)
    nonisolated(unsafe) private static var _threads: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 64))

    /// Sets the seed of the generator every random draw uses.
    public static func seed(_ s: UInt64) { rng.reseed(s) }
    public static var seed: UInt64 { rng.seed }

    /// Runs `body` with a private generator seeded with `seed` (one call made reproducible
    /// without touching the session's stream), or with the session's, which then advances.
    public static func withRNG<T>(seed: Int?, _ body: (inout RandomGenerator) throws -> T) rethrows -> T {
        var r = seed.map { RandomGenerator(seed: UInt64(bitPattern: Int64($0))) } ?? rng
        defer { if seed == nil { rng = r } }
        return try body(&r)
    }

    /// Precision of the matrix products in layers that do not name one (linear layers, attention,
    /// LoRA): fp32, or bf16 operands with fp32 accumulation (`train.fit{precision="bf16"}`,
    /// `tensor.autocast`). Weights, gradients and optimizer state stay fp32.
    nonisolated(unsafe) public static var autocast: MatmulPrecision = .fp32

    /// Threads used by Lathe's parallel kernels (its thread pool) and by BLAS.
    public static var threads: Int { _threads }
    public static func setThreads(_ n: Int) {
        _threads = max(1, n)
        lg_pool_set_threads(Int32(min(_threads, 256)))
        syncBLASThreads()
    }
    nonisolated(unsafe) static var blasLoaded = false

    /// OpenBLAS gets all the threads only when it serves the fp32 products; otherwise it is
    /// held to one thread so its workers never compete with Lathe's pool.
    static func syncBLASThreads() {
        if blasLoaded { lk_blas_set_threads(Gemm.needsBLAS ? Int32(_threads) : 1) }
    }

    /// Loads OpenBLAS on first use and sets its thread count. Throws if it cannot be loaded.
    public static func ensureBLAS() throws(LatheError) {
        if blasLoaded { return }
        if lk_blas_load() != 0 {
            throw LatheError("BLAS unavailable: " + String(cString: lk_blas_error()))
        }
        blasLoaded = true
        syncBLASThreads()
    }

    /// A one-line description of the BLAS in use (loads it).
    public static func blasDescription() -> String {
        do { try ensureBLAS() } catch { return error.message }
        return String(cString: lk_blas_config())
    }

    /// Runs `body` on a private generator when a seed is given (the global stream is left as it
    /// was), else on the global one, which it advances: the `seed` option of every random draw.
    public static func drawing<T>(seed: Int?, _ body: (inout RandomGenerator) throws -> T) rethrows -> T {
        guard let seed else { return try body(&rng) }
        var private_ = RandomGenerator(seed: UInt64(bitPattern: Int64(seed)))
        return try body(&private_)
    }

    public static func reset() {
        rng = RandomGenerator(seed: defaultSeed)
    }
}
