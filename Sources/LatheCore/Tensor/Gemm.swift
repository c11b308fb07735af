import CGemm
import CLatheCore

/// Arithmetic used for the products inside `matmul` and `linear`.
public enum MatmulPrecision: String, Sendable, CaseIterable {
    /// fp32 operands, fp32 accumulation.
    case fp32
    /// Operands rounded to bf16 (nearest even), fp32 accumulation and output (mixed precision).
    /// Served by AMX tiles or AVX512_BF16; on CPUs with neither, the product runs in fp32.
    case bf16
}

/// Lathe's matrix kernels (CGemm) and their dispatch: which kernel serves fp32 and bf16
/// products, forcing one for comparisons, and the raw row-major GEMM entry points.
public enum Gemm {
    /// The fp32 kernels.
    public enum Kernel: String, Sendable, CaseIterable {
        case openblas, avx2, avx512
        var code: Int32 {
            switch self {
            case .openblas: return Int32(LG_SGEMM_FALLBACK)
            case .avx2: return Int32(LG_SGEMM_AVX2)
            case .avx512: return Int32(LG_SGEMM_AVX512)
            }
        }
        init(code: Int32) {
            switch code {
            case Int32(LG_SGEMM_AVX512): self = .avx512
            case Int32(LG_SGEMM_AVX2): self = .avx2
            default: self = .openblas
            }
        }
    }

    /// The bf16 kernels (`none`: bf16 products run in fp32; `amxEmulated`: the AMX path with
    /// the tile instructions modelled in C, for testing it on CPUs without AMX; slow, never
    /// chosen automatically).
    public enum BF16Kernel: String, Sendable, CaseIterable {
        case none, avx512bf16, amx
        case amxEmulated = "amx-emulated"
        var code: Int32 {
            switch self {
            case .none: return Int32(LG_BGEMM_NONE)
            case .avx512bf16: return Int32(LG_BGEMM_AVX512BF16)
            case .amx: return Int32(LG_BGEMM_AMX)
            case .amxEmulated: return Int32(LG_BGEMM_AMX_EMULATED)
            }
        }
        init(code: Int32) {
            switch code {
            case Int32(LG_BGEMM_AMX): self = .amx
            case Int32(LG_BGEMM_AMX_EMULATED): self = .amxEmulated
            case Int32(LG_BGEMM_AVX512BF16): self = .avx512bf16
            default: self = .none
            }
        }
    }

    /// The fp32 kernel in use (from the CPU and LATHE_GEMM=openblas|avx2|avx512|lathe).
    public static var kernel: Kernel { Kernel(code: lg_sgemm_kernel()) }
    /// The bf16 kernel in use (from the CPU and LATHE_GEMM_BF16=amx|avx512bf16|none).
    public static var bf16Kernel: BF16Kernel { BF16Kernel(code: lg_bgemm_kernel()) }

    /// Whether the CPU (and OS) can run a kernel.
    public static func supports(_ k: Kernel) -> Bool {
        let f = lg_cpu_features()
        switch k {
        case .openblas: return true
        case .avx2: return f & Int32(LG_CPU_AVX2) != 0
        case .avx512: return f & Int32(LG_CPU_AVX512) != 0
        }
    }
    public static func supports(_ k: BF16Kernel) -> Bool {
        let f = lg_cpu_features()
        switch k {
        case .none: return true
        case .avx512bf16, .amxEmulated: return f & Int32(LG_CPU_AVX512_BF16) != 0
        case .amx: return f & Int32(LG_CPU_AMX_BF16) != 0 && lg_amx_enable() != 0
        }
    }

    /// Forces the fp32 kernel (nil: automatic). Throws if this CPU cannot run it.
    public static func force(_ k: Kernel?) throws(LatheError) {
        guard let k else {
            _ = lg_set_sgemm_kernel(-1)
            Runtime.syncBLASThreads()
            return
        }
        guard supports(k) else { throw LatheError("gemm: this CPU cannot run the \(k.rawValue) kernel") }
        _ = lg_set_sgemm_kernel(k.code)
        Runtime.syncBLASThreads()
    }
    /// Forces the bf16 kernel (nil: automatic). Throws if this CPU cannot run it.
    public static func force(_ k: BF16Kernel?) throws(LatheError) {
        guard let k else {
            _ = lg_set_bgemm_kernel(-1)
            return
        }
        guard supports(k) else { throw LatheError("gemm: this CPU cannot run the \(k.rawValue) kernel") }
        _ = lg_set_bgemm_kernel(k.code)
    }

    /// Which kernel serves which op on this CPU, e.g.
    /// [("fp32", "avx512 fp32 14x32 (kc 438, nc 576)"), ("bf16", "amx bf16 32x32 ..."), ...].
    public static func report() -> [(op: String, kernel: String)] {
        var rows: [(String, String)] = []
        let fp32 = String(cString: lg_sgemm_kernel_name())
        let blas = Runtime.blasDescription()
        rows.append(("fp32", kernel == .openblas ? "openblas: " + blas : "lathe " + fp32))
        let bf = bf16Kernel
        rows.append(("bf16", bf == .none ? "none (bf16 products run as fp32)" : "lathe " + String(cString: lg_bgemm_kernel_name())))
        rows.append(("fallback", "openblas: " + blas))
        var isa: [String] = []
        let f = lg_cpu_features()
        if f & Int32(LG_CPU_AVX2) != 0 { isa.append("avx2+fma") }
        if f & Int32(LG_CPU_AVX512) != 0 { isa.append("avx512") }
        if f & Int32(LG_CPU_AVX512_BF16) != 0 { isa.append("avx512_bf16") }
        if f & Int32(LG_CPU_AMX_BF16) != 0 { isa.append(lg_amx_enable() != 0 ? "amx_bf16" : "amx_bf16 (permission refused)") }
        rows.append(("cpu", isa.isEmpty ? "baseline x86-64" : isa.joined(separator: " ")))
        rows.append(("caches", "L1d \(lg_cache_l1d() / 1024) KiB, L2 \(lg_cache_l2() / 1024) KiB"))
        rows.append(("threads", "\(Runtime.threads) (Lathe pool; OpenBLAS \(kernel == .openblas ? Runtime.threads : 1))"))
        let note = String(cString: lg_env_note())
        if !note.isEmpty { rows.append(("override", note)) }
        return rows
    }

    /// Whether the fp32 products run on OpenBLAS (then it must be loaded).
    static var needsBLAS: Bool { lg_sgemm_kernel() == Int32(LG_SGEMM_FALLBACK) }

    /// Loads what the current kernels need (OpenBLAS only when it serves fp32).
    static func ensureReady() throws(LatheError) {
        if needsBLAS { try Runtime.ensureBLAS() }
    }

    /// C = alpha * op(A) * op(B) + beta * C (+ bias[j] on every row when `bias` is given), row
    /// major, with the kernel for `precision`. Pointers must cover the described matrices.
    /// Throws only when OpenBLAS is needed and cannot be loaded.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                            bias: UnsafePointer<Float>? = nil,
                            precision: MatmulPrecision = .fp32) throws(LatheError) {
        let ta = transA ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        let tb = transB ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        if let bias {
            // Lathe's kernels add the bias to each tile of C as it is finished
            if precision == .bf16,
               lg_gemm_bias(1, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc) == 0 { return }
            if lg_gemm_bias(0, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc) == 0 { return }
            // OpenBLAS: C = beta C + bias first, then the product on top
            try Runtime.ensureBLAS()
            Parallel.forEach(m, costPerItem: n) { i in
                let row = c + i * ldc
                if beta == 0 { row.update(from: bias, count: n) }
                else { for j in 0..<n { row[j] = beta * row[j] + bias[j] } }
            }
            lk_sgemm(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), 1, c, Int32(ldc))
            return
        }
        if precision == .bf16,
           lg_bgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0 { return }
        if lg_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0 { return }
        try Runtime.ensureBLAS()
        lk_sgemm(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Causal attention's products (see `lg_gemm_causal`): `.out` skips tiles of C past every
    /// row's last key (those entries are left as they were), `.keyPrefix` / `.keySuffix` stop or
    /// start each row's sum at its causal limit (op(A) must be 0 beyond it). Row i of op(A) sees
    /// keys up to i + shift. Without Lathe's kernels the whole product is computed.
    public enum Causal: Int32, Sendable { case out = 1, keyPrefix = 2, keySuffix = 3 }

    public static func gemmCausal(_ mode: Causal, shift: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                  precision: MatmulPrecision = .fp32) throws(LatheError) {
        let ta = transA ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        let tb = transB ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        if precision == .bf16,
           lg_gemm_causal(1, mode.rawValue, shift, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0 { return }
        if lg_gemm_causal(0, mode.rawValue, shift, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0 { return }
        try gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                 beta: beta, c: c, ldc: ldc, precision: .fp32)
    }

    /// `offsets.count` products at element offsets (A, B, C) from the base pointers, spread
    /// over the thread pool one product per task when there are many.
    static func gemmBatched(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int, offA: [Int],
                            b: UnsafePointer<Float>, ldb: Int, offB: [Int],
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, offC: [Int],
                            precision: MatmulPrecision) throws(LatheError) {
        let ta = transA ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        let tb = transB ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        let nb = offC.count
        let done: Bool = offA.withUnsafeBufferPointer { pa in
            offB.withUnsafeBufferPointer { pb in
                offC.withUnsafeBufferPointer { pc in
                    if precision == .bf16,
                       lg_bgemm_batched_offsets(ta, tb, m, n, k, 1, a, lda, pa.baseAddress, b, ldb, pb.baseAddress,
                                                beta, c, ldc, pc.baseAddress, nb) == 0 { return true }
                    return lg_sgemm_batched_offsets(ta, tb, m, n, k, 1, a, lda, pa.baseAddress, b, ldb, pb.baseAddress,
                                                    beta, c, ldc, pc.baseAddress, nb) == 0
                }
            }
        }
        if done { return }
        try Runtime.ensureBLAS()
        for i in 0..<nb {
            lk_sgemm(ta, tb, Int32(m), Int32(n), Int32(k), 1, a + offA[i], Int32(lda), b + offB[i], Int32(ldb),
                     beta, c + offC[i], Int32(ldc))
        }
    }

    /// Rounds fp32 values to bf16 and back (what the bf16 products do to their operands).
    public static func roundToBF16(_ x: [Float]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { p in lg_round_bf16_array(p.baseAddress, p.count) }
        return y
    }
    /// fp32 -> bf16 bit patterns (round to nearest even; NaN stays NaN; denormals kept).
    public static func toBF16Bits(_ x: [Float]) -> [UInt16] {
        var y = [UInt16](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in lg_f32_to_bf16_array(px.baseAddress, py.baseAddress, px.count) }
        }
        return y
    }
    public static func fromBF16Bits(_ x: [UInt16]) -> [Float] {
        x.map { lg_bf16_to_f32($0) }
    }

    /// Runs one kernel directly (tests, benchmarks): `threads` threads at most. Throws when
    /// the CPU lacks the kernel.
    public static func run(_ k: Kernel, threads: Int = 1, transA: Bool, transB: Bool, m: Int, n: Int, k kk: Int,
                           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) throws(LatheError) {
        let ta = transA ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        let tb = transB ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        if k == .openblas {
            try Runtime.ensureBLAS()
            lk_sgemm(ta, tb, Int32(m), Int32(n), Int32(kk), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        if lg_sgemm_with(k.code, Int32(threads), ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc) != 0 {
            throw LatheError("gemm: this CPU cannot run the \(k.rawValue) kernel")
        }
    }
    public static func run(_ k: BF16Kernel, threads: Int = 1, transA: Bool, transB: Bool, m: Int, n: Int, k kk: Int,
                           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) throws(LatheError) {
        let ta = transA ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        let tb = transB ? Int32(LK_TRANS) : Int32(LK_NO_TRANS)
        if lg_bgemm_with(k.code, Int32(threads), ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc) != 0 {
            throw LatheError("gemm: this CPU cannot run the \(k.rawValue) kernel")
        }
    }
}
