import Foundation
import LatheCore
import Testing

// Lathe's matrix kernels against a float64 reference.
//
// Tolerances (per element, relative to the magnitude mag = |alpha| * sum_k |a_ik b_kj| +
// |beta c_ij|, which bounds every rounding error):
//  - fp32 kernels: |err| <= 2e-6 * sqrt(K) * mag (typical fp32 error is ~6e-8 * sqrt(K));
//  - bf16 kernels, against the exact product of the fp32 inputs: |err| <= 1e-2 * mag (rounding
//    each operand to bf16 costs at most 2^-8 relative per product);
//  - bf16 kernels, against the exact product of the bf16-rounded inputs: the fp32 bound, so
//    the bf16 arithmetic itself is checked to fp32 accuracy.

// MARK: - reference and helpers

struct GemmCase: CustomStringConvertible {
    var m: Int, n: Int, k: Int
    var ta: Bool, tb: Bool
    var lda: Int, ldb: Int, ldc: Int
    var alpha: Float, beta: Float
    var description: String {
        "\(m)x\(n)x\(k) ta=\(ta) tb=\(tb) lda=\(lda) ldb=\(ldb) ldc=\(ldc) alpha=\(alpha) beta=\(beta)"
    }
    var aCount: Int { (ta ? k : m) * lda }
    var bCount: Int { (tb ? n : k) * ldb }
    var cCount: Int { m * ldc }

    init(m: Int, n: Int, k: Int, ta: Bool = false, tb: Bool = false, pad: (Int, Int, Int) = (0, 0, 0),
         alpha: Float = 1, beta: Float = 0) {
        self.m = m; self.n = n; self.k = k; self.ta = ta; self.tb = tb
        lda = (ta ? m : k) + pad.0
        ldb = (tb ? k : n) + pad.1
        ldc = n + pad.2
        self.alpha = alpha; self.beta = beta
    }

    @inline(__always) func a(_ A: [Float], _ i: Int, _ kk: Int) -> Float { ta ? A[kk * lda + i] : A[i * lda + kk] }
    @inline(__always) func b(_ B: [Float], _ kk: Int, _ j: Int) -> Float { tb ? B[j * ldb + kk] : B[kk * ldb + j] }

    /// Reference value and magnitude of C[i][j] (float64), from C0 (C before the call).
    func ref(_ A: [Float], _ B: [Float], _ C0: [Float], _ i: Int, _ j: Int) -> (Double, Double) {
        var s = 0.0, mag = 0.0
        for kk in 0..<k {
            let p = Double(a(A, i, kk)) * Double(b(B, kk, j))
            s += p
            mag += abs(p)
        }
        let c0 = beta == 0 ? 0 : Double(beta) * Double(C0[i * ldc + j])
        return (Double(alpha) * s + c0, abs(Double(alpha)) * mag + abs(c0))
    }
}

func randomFloats(_ n: Int, _ rng: inout RandomGenerator, lo: Float = -1, hi: Float = 1) -> [Float] {
    (0..<n).map { _ in lo + (hi - lo) * rng.uniformFloat() }
}

enum Path: CustomStringConvertible {
    case fp32(Gemm.Kernel), bf16(Gemm.BF16Kernel)
    var description: String {
        switch self {
        case .fp32(let k): return "fp32/\(k.rawValue)"
        case .bf16(let k): return "bf16/\(k.rawValue)"
        }
    }
    var isBF16: Bool { if case .bf16 = self { return true } else { return false } }
    var supported: Bool {
        switch self {
        case .fp32(let k): return Gemm.supports(k)
        case .bf16(let k): return k != .none && Gemm.supports(k)
        }
    }
    static let every: [Path] = [.fp32(.avx512), .fp32(.avx2), .bf16(.amx), .bf16(.avx512bf16), .bf16(.amxEmulated)]
    static var all: [Path] { every.filter { $0.supported } }
}

/// Runs one path on a case and returns C.
func runPath(_ p: Path, _ c: GemmCase, _ A: [Float], _ B: [Float], _ C0: [Float], threads: Int) throws -> [Float] {
    var C = C0
    try A.withUnsafeBufferPointer { pa in
        try B.withUnsafeBufferPointer { pb in
            try C.withUnsafeMutableBufferPointer { pc in
                switch p {
                case .fp32(let k):
                    try Gemm.run(k, threads: threads, transA: c.ta, transB: c.tb, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                 a: pa.baseAddress!, lda: c.lda, b: pb.baseAddress!, ldb: c.ldb, beta: c.beta,
                                 c: pc.baseAddress!, ldc: c.ldc)
                case .bf16(let k):
                    try Gemm.run(k, threads: threads, transA: c.ta, transB: c.tb, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                 a: pa.baseAddress!, lda: c.lda, b: pb.baseAddress!, ldb: c.ldb, beta: c.beta,
                                 c: pc.baseAddress!, ldc: c.ldc)
                }
            }
        }
    }
    return C
}

/// Checks C against the reference on the given entries (all when nil); returns the number of
/// failures (and records the first few).
@discardableResult
func checkGemm(_ p: Path, _ c: GemmCase, _ A: [Float], _ B: [Float], _ C0: [Float], _ C: [Float],
               entries: [(Int, Int)]? = nil) -> Int {
    let fp32Tol = 2e-6 * Double(max(c.k, 1)).squareRoot()
    let Ar = p.isBF16 ? Gemm.roundToBF16(A) : A
    let Br = p.isBF16 ? Gemm.roundToBF16(B) : B
    var bad = 0
    func check(_ i: Int, _ j: Int) {
        let got = Double(C[i * c.ldc + j])
        let (want, mag) = c.ref(A, B, C0, i, j)
        var ok = abs(got - want) <= (p.isBF16 ? 1e-2 : fp32Tol) * mag + 1e-30
        if ok && p.isBF16 {
            let (wantR, magR) = c.ref(Ar, Br, C0, i, j)
            ok = abs(got - wantR) <= fp32Tol * magR + 1e-30
        }
        if !ok {
            bad += 1
            if bad <= 3 { Issue.record("\(p) \(c): C[\(i)][\(j)] = \(got), expected \(want)") }
        }
    }
    if let entries {
        for (i, j) in entries { check(i, j) }
    } else {
        for i in 0..<c.m { for j in 0..<c.n { check(i, j) } }
    }
    // padding columns of C (beyond n) are never written
    for i in 0..<c.m {
        for j in c.n..<c.ldc where C[i * c.ldc + j].bitPattern != C0[i * c.ldc + j].bitPattern {
            bad += 1
            Issue.record("\(p) \(c): wrote C[\(i)][\(j)] beyond n")
        }
    }
    return bad
}

// MARK: - tests

@Suite("GEMM kernels", .serialized)
struct GemmTests {
    @Test("the CPU facts and the kernel report are consistent")
    func report() throws {
        let rows = Gemm.report()
        let names = rows.map { $0.op }
        #expect(names.contains("fp32") && names.contains("bf16") && names.contains("fallback"))
        let fp32 = rows.first { $0.op == "fp32" }!.kernel
        switch Gemm.kernel {
        case .avx512: #expect(fp32.contains("avx512"))
        case .avx2: #expect(fp32.contains("avx2"))
        case .openblas: #expect(fp32.contains("openblas"))
        }
        if Gemm.supports(.avx512) { #expect(Gemm.supports(.avx2)) }
        if Gemm.supports(.amx) { #expect(Gemm.supports(.avx512)) }
        // the kernel tests below run every path this CPU has; say which, and which not
        let ran = Path.every.filter { $0.supported }.map(\.description)
        let skipped = Path.every.filter { !$0.supported }.map(\.description)
        print("GEMM kernels tested on this CPU: \(ran.joined(separator: ", ")); skipped (not on this CPU): \(skipped.isEmpty ? "none" : skipped.joined(separator: ", "))")
    }

    @Test("seeded random shapes 1..300, all transposes, strides, alpha/beta, every kernel")
    func randomShapes() throws {
        var rng = RandomGenerator(seed: 20261122)
        let paths = Path.all
        #expect(!paths.isEmpty || !Gemm.supports(.avx2))
        var cases = 0
        while cases < 240 {
            // log-uniform sizes in 1...300 keep the float64 reference cheap while still
            // reaching every edge (tails of 14/32/6/16-wide tiles, K blocks, pairs, tiles).
            func dim() -> Int { Int(exp(rng.uniform() * log(300.0)).rounded(.down)).clamped(1, 300) }
            let m = dim(), n = dim(), k = dim()
            if m * n * k > 2_000_000 { continue }    // keeps the float64 reference fast
            let alphas: [Float] = [1, 0.5, -2]
            let betas: [Float] = [0, 1, 0.75]
            let c = GemmCase(m: m, n: n, k: k, ta: rng.next() & 1 == 1, tb: rng.next() & 1 == 1,
                             pad: (Int(rng.next() % 4), Int(rng.next() % 4), Int(rng.next() % 4)),
                             alpha: alphas[Int(rng.next() % 3)], beta: betas[Int(rng.next() % 3)])
            let A = randomFloats(c.aCount, &rng), B = randomFloats(c.bCount, &rng)
            let C0 = randomFloats(c.cCount, &rng)
            for p in paths {
                let C = try runPath(p, c, A, B, C0, threads: 1 + cases % 2)
                checkGemm(p, c, A, B, C0, C)
            }
            cases += 1
        }
    }

    @Test("the small-GPT shapes and their backward transposes (sampled entries)")
    func gptShapes() throws {
        var rng = RandomGenerator(seed: 7)
        let shapes = [(2048, 256, 256), (2048, 1024, 256), (2048, 256, 1024)]
        for (m, n, k) in shapes {
            // forward x·Wᵀ, input gradient g·W, weight gradient gᵀ·x
            let variants: [GemmCase] = [
                GemmCase(m: m, n: n, k: k, tb: true),
                GemmCase(m: m, n: n, k: k),
                GemmCase(m: n, n: k, k: m, ta: true),
                GemmCase(m: m, n: n, k: k, ta: true, tb: true, beta: 1),
            ]
            for c in variants {
                let A = randomFloats(c.aCount, &rng), B = randomFloats(c.bCount, &rng)
                let C0 = randomFloats(c.cCount, &rng)
                let entries = (0..<150).map { _ in (Int(rng.next() % UInt64(c.m)), Int(rng.next() % UInt64(c.n))) }
                for p in Path.all {
                    let C = try runPath(p, c, A, B, C0, threads: 2)
                    #expect(checkGemm(p, c, A, B, C0, C, entries: entries) == 0, "\(p) \(c)")
                }
            }
        }
    }

    @Test("few columns (LoRA rank 8 and 16): all transposes, strides, alpha/beta, 1 and 2 threads")
    func fewColumns() throws {
        var rng = RandomGenerator(seed: 17)
        // x·Aᵀ (2048×8 from 2048×256 and 8×256), g·B, gᵀ·u, and odd sizes around 16 columns
        let shapes = [(2048, 8, 256), (300, 16, 1024), (17, 1, 5), (129, 15, 33), (64, 3, 1500)]
        for (m, n, k) in shapes {
            for t in 0..<4 {
                let c = GemmCase(m: m, n: n, k: k, ta: t & 1 == 1, tb: t & 2 == 2,
                                 pad: (t, 3 - t, t % 2), alpha: t == 3 ? -2 : 1, beta: [0, 1, 0.75, 0][t])
                let A = randomFloats(c.aCount, &rng), B = randomFloats(c.bCount, &rng)
                let C0 = randomFloats(c.cCount, &rng)
                for p in Path.all {
                    let C = try runPath(p, c, A, B, C0, threads: 1 + t % 2)
                    #expect(checkGemm(p, c, A, B, C0, C) == 0, "\(p) \(c)")
                }
            }
        }
        // past the few-columns path's scratch limit (4 Mi entries of C) the packed path serves
        let c = GemmCase(m: 300_001, n: 15, k: 3, ta: true, pad: (1, 0, 2), beta: 0.75)
        let A = randomFloats(c.aCount, &rng), B = randomFloats(c.bCount, &rng), C0 = randomFloats(c.cCount, &rng)
        let entries = (0..<2000).map { _ in (Int(rng.next() % UInt64(c.m)), Int(rng.next() % UInt64(c.n))) }
        for p in Path.all {
            let C = try runPath(p, c, A, B, C0, threads: 2)
            #expect(checkGemm(p, c, A, B, C0, C, entries: entries) == 0, "\(p) \(c)")
        }
    }

    @Test("long-K products (split in halves of K): float64 reference, same bits with 1, 2 and 3 threads")
    func longK() throws {
        var rng = RandomGenerator(seed: 11)
        // K >= 1024 with a small C takes the K split; odd sizes put the halves' boundary
        // mid-block and leave tails in M, N and K; pads test the strides and the untouched
        // columns of C; the weight-gradient shape gᵀ·x is sampled.
        let cases = [
            GemmCase(m: 37, n: 45, k: 1100, ta: true, pad: (3, 1, 2), alpha: 0.5, beta: 0.75),
            GemmCase(m: 29, n: 70, k: 1031, tb: true, pad: (0, 5, 1), beta: 1),
            GemmCase(m: 20, n: 33, k: 2047, ta: true, tb: true, alpha: -2),
            GemmCase(m: 45, n: 17, k: 1500, pad: (1, 0, 3)),
            GemmCase(m: 256, n: 256, k: 2048, ta: true),
        ]
        for c in cases {
            let A = randomFloats(c.aCount, &rng), B = randomFloats(c.bCount, &rng)
            let C0 = randomFloats(c.cCount, &rng)
            let entries: [(Int, Int)]? = c.m * c.n > 10_000
                ? (0..<200).map { _ in (Int(rng.next() % UInt64(c.m)), Int(rng.next() % UInt64(c.n))) } : nil
            for p in Path.all {
                let C1 = try runPath(p, c, A, B, C0, threads: 1)
                #expect(checkGemm(p, c, A, B, C0, C1, entries: entries) == 0, "\(p) \(c)")
                for t in [2, 3] {
                    let Ct = try runPath(p, c, A, B, C0, threads: t)
                    #expect(Ct.map(\.bitPattern) == C1.map(\.bitPattern), "\(p) \(c): \(t) threads differ from 1")
                }
            }
        }
        // NaN and Inf in the second half of K reach C
        for p in Path.all {
            let c = GemmCase(m: 20, n: 24, k: 1200, ta: true)
            var A = randomFloats(c.aCount, &rng, lo: 0.5, hi: 1)
            let B = randomFloats(c.bCount, &rng, lo: 0.5, hi: 1)
            A[1100 * c.lda + 4] = .nan
            A[1150 * c.lda + 9] = .infinity
            for t in [1, 2] {
                let C = try runPath(p, c, A, B, [Float](repeating: .nan, count: c.cCount), threads: t)
                #expect((0..<c.n).allSatisfy { C[4 * c.ldc + $0].isNaN && C[9 * c.ldc + $0] == .infinity }, "\(p) \(t)")
                #expect((0..<c.n).allSatisfy { C[$0].isFinite }, "\(p) \(t): beta = 0 read C")
            }
        }
    }

    @Test("a bias added inside the product: few rows, packed, split over K; with alpha and beta")
    func bias() throws {
        var rng = RandomGenerator(seed: 13)
        let cases = [
            GemmCase(m: 5, n: 45, k: 129, tb: true, pad: (0, 2, 1)),
            GemmCase(m: 67, n: 45, k: 129, tb: true, alpha: 0.5, beta: 0.75),
            GemmCase(m: 40, n: 12, k: 1100, tb: true, pad: (1, 0, 3), beta: 1),
            GemmCase(m: 33, n: 70, k: 20, ta: true),
        ]
        for c in cases {
            let A = randomFloats(c.aCount, &rng), B = randomFloats(c.bCount, &rng)
            let C0 = randomFloats(c.cCount, &rng), bias = randomFloats(c.n, &rng)
            // the reference: beta C + bias, then the product on top (C0 with the bias folded in, beta 1)
            var Cb = C0
            for i in 0..<c.m { for j in 0..<c.n { Cb[i * c.ldc + j] = c.beta * C0[i * c.ldc + j] + bias[j] } }
            var ref = c
            ref.beta = 1
            for precision in [MatmulPrecision.fp32, .bf16] {
                var C = C0
                try A.withUnsafeBufferPointer { pa in
                    try B.withUnsafeBufferPointer { pb in
                        try bias.withUnsafeBufferPointer { pbias in
                            try C.withUnsafeMutableBufferPointer { pc in
                                try Gemm.gemm(transA: c.ta, transB: c.tb, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                                              a: pa.baseAddress!, lda: c.lda, b: pb.baseAddress!, ldb: c.ldb, beta: c.beta,
                                              c: pc.baseAddress!, ldc: c.ldc, bias: pbias.baseAddress!, precision: precision)
                            }
                        }
                    }
                }
                let path: Path = precision == .bf16 && Gemm.bf16Kernel != .none ? .bf16(Gemm.bf16Kernel) : .fp32(Gemm.kernel)
                #expect(checkGemm(path, ref, A, B, Cb, C) == 0, "\(precision) \(c)")
            }
        }
    }

    @Test("causal attention products: skipped tiles untouched, prefix and suffix sums exact, fp32 and bf16")
    func causalProducts() throws {
        var rng = RandomGenerator(seed: 31)
        // (queries, keys, head size): one K block and, with 700 keys, several; shift = keys - queries
        for (t, s, d) in [(37, 37, 8), (70, 75, 16), (128, 128, 64), (600, 700, 16)] {
            let shift = s - t
            for precision in [MatmulPrecision.fp32, .bf16] {
                let path: Path = precision == .bf16 && Gemm.bf16Kernel != .none ? .bf16(Gemm.bf16Kernel) : .fp32(Gemm.kernel)
                // scores Q Kᵀ: entries a row sees are exact, the others computed or left as they were
                let out = GemmCase(m: t, n: s, k: d, tb: true)
                let Q = randomFloats(out.aCount, &rng), K = randomFloats(out.bCount, &rng)
                let sentinel = [Float](repeating: .nan, count: out.cCount)
                var C = sentinel
                try Q.withUnsafeBufferPointer { q in try K.withUnsafeBufferPointer { k in try C.withUnsafeMutableBufferPointer { c in
                    try Gemm.gemmCausal(.out, shift: shift, transA: false, transB: true, m: t, n: s, k: d, a: q.baseAddress!, lda: d,
                                        b: k.baseAddress!, ldb: d, c: c.baseAddress!, ldc: s, precision: precision) } } }
                let seen = (0..<t).flatMap { i in (0..<min(s, i + 1 + shift)).map { (i, $0) } }
                #expect(checkGemm(path, out, Q, K, sentinel, C, entries: seen) == 0, "out \(t)x\(s) \(precision)")
                var skipped = 0
                for i in 0..<t { for j in min(s, i + 1 + shift)..<s where C[i * s + j].isNaN { skipped += 1 } }
                if Gemm.kernel != .openblas { #expect(skipped > 0, "no tile was skipped for \(t)x\(s)") }
                // P zero past each row's last key
                var P = randomFloats(t * s, &rng, lo: 0, hi: 1)
                for i in 0..<t { for j in min(s, i + 1 + shift)..<s { P[i * s + j] = 0 } }
                let pre = GemmCase(m: t, n: d, k: s)
                let V = randomFloats(pre.bCount, &rng)
                var O = [Float](repeating: .nan, count: pre.cCount)
                try P.withUnsafeBufferPointer { p in try V.withUnsafeBufferPointer { v in try O.withUnsafeMutableBufferPointer { o in
                    try Gemm.gemmCausal(.keyPrefix, shift: shift, transA: false, transB: false, m: t, n: d, k: s, a: p.baseAddress!,
                                        lda: s, b: v.baseAddress!, ldb: d, c: o.baseAddress!, ldc: d, precision: precision) } } }
                #expect(checkGemm(path, pre, P, V, [Float](repeating: 0, count: pre.cCount), O) == 0, "prefix \(t)x\(s) \(precision)")
                // Pᵀ G accumulated into C (alpha, beta = 1): key j's sum starts at query j - shift
                let suf = GemmCase(m: s, n: d, k: t, ta: true, alpha: 0.5, beta: 1)
                let G = randomFloats(suf.bCount, &rng), C0 = randomFloats(suf.cCount, &rng)
                var D = C0
                try P.withUnsafeBufferPointer { p in try G.withUnsafeBufferPointer { g in try D.withUnsafeMutableBufferPointer { c in
                    try Gemm.gemmCausal(.keySuffix, shift: shift, transA: true, transB: false, m: s, n: d, k: t, alpha: 0.5,
                                        a: p.baseAddress!, lda: s, b: g.baseAddress!, ldb: d, beta: 1, c: c.baseAddress!, ldc: d,
                                        precision: precision) } } }
                #expect(checkGemm(path, suf, P, G, C0, D) == 0, "suffix \(t)x\(s) \(precision)")
            }
        }
    }

    @Test("NaN and Inf propagate; beta = 0 ignores NaN in C; fp32 keeps denormals")
    func ieee() throws {
        // m = 20 takes the packed kernels, m = 12 the unpacked few-row path
        for m in [20, 12] { try ieee(m: m) }
    }

    func ieee(m: Int) throws {
        let n = 40, k = 37
        var rng = RandomGenerator(seed: 3)
        for p in Path.all {
            var A = randomFloats(m * k, &rng, lo: 0.5, hi: 1), B = randomFloats(k * n, &rng, lo: 0.5, hi: 1)
            A[3 * k + 5] = .nan            // row 3 of C: NaN
            A[7 * k + 2] = .infinity       // row 7: +Inf (B > 0)
            B[11 * n + 33] = -.infinity    // column 33: -Inf, except rows 3 (NaN) and 7 (Inf - Inf = NaN)
            let C0 = [Float](repeating: .nan, count: m * n)
            let c = GemmCase(m: m, n: n, k: k)
            let C = try runPath(p, c, A, B, C0, threads: 1)
            for i in 0..<m {
                for j in 0..<n {
                    let v = C[i * n + j]
                    if i == 3 || (i == 7 && j == 33) { #expect(v.isNaN, "\(p) C[\(i)][\(j)] = \(v)") }
                    else if i == 7 { #expect(v == .infinity, "\(p) C[\(i)][\(j)] = \(v)") }
                    else if j == 33 { #expect(v == -.infinity, "\(p) C[\(i)][\(j)] = \(v)") }
                    else { #expect(v.isFinite && v > 0, "\(p) C[\(i)][\(j)] = \(v)") }
                }
            }
        }
        // fp32: denormal operands and results are computed exactly as IEEE (no flush to zero)
        let d = Float.leastNormalMagnitude / 64    // a denormal
        for p in Path.all where !p.isBF16 {
            let c = GemmCase(m: m - 5, n: 33, k: 9)
            let A = [Float](repeating: d, count: c.aCount), B = [Float](repeating: 1, count: c.bCount)
            let C = try runPath(p, c, A, B, [Float](repeating: 0, count: c.cCount), threads: 1)
            #expect(C.allSatisfy { $0 == d * 9 }, "\(p): \(C[0]) != \(d * 9)")
            #expect((d * 9).isSubnormal)
        }
    }

    @Test("degenerate sizes: K = 0 scales C, alpha = 0, 1x1x1")
    func degenerate() throws {
        for p in Path.all {
            let c0 = GemmCase(m: 3, n: 5, k: 0, beta: 0.5)
            let C0 = (0..<15).map { Float($0) }
            let C = try runPath(p, c0, [0], [0], C0, threads: 1)
            #expect(C == C0.map { $0 * 0.5 }, "\(p)")
            let c1 = GemmCase(m: 1, n: 1, k: 1, alpha: 2, beta: 1)
            let C1 = try runPath(p, c1, [3], [0.25], [1], threads: 1)
            #expect(C1 == [2.5], "\(p)")
            let c2 = GemmCase(m: 2, n: 2, k: 3, alpha: 0, beta: 0)
            let C2 = try runPath(p, c2, [Float](repeating: .nan, count: 6), [Float](repeating: 1, count: 6),
                                 [Float](repeating: .nan, count: 4), threads: 1)
            #expect(C2 == [0, 0, 0, 0], "\(p)")
        }
    }

    // Forcing a kernel (Gemm.force, LATHE_GEMM) changes process-wide state, which would race
    // with the tests running in parallel here; Tests/lua/test_gemm.lua checks it, one process
    // per kernel.

    @Test("Tensor matmul and linear with precision: .bf16, forward and backward")
    func tensorBF16() throws {
        var rng = RandomGenerator(seed: 5)
        let x = try Tensor.uniform([3, 50, 70], -1, 1, rng: &rng)
        let w = try Tensor.uniform([90, 70], -1, 1, rng: &rng)
        let bias = try Tensor.uniform([90], -1, 1, rng: &rng)
        for t in [x, w, bias] { try t.setRequiresGrad(true) }
        func run(_ p: MatmulPrecision) throws -> ([Double], [Double], [Double], [Double]) {
            for t in [x, w, bias] { t.zeroGrad() }
            let y = try Tensor.linear(x, w, bias, precision: p)
            let g = try Tensor.uniform(y.shape, -1, 1, rng: &rng)
            try (y * g).sum().backward()
            return (y.toDoubleArray(), x.grad!.toDoubleArray(), w.grad!.toDoubleArray(), bias.grad!.toDoubleArray())
        }
        var saved = rng
        let f = try run(.fp32)
        rng = saved
        let h = try run(.bf16)
        func rel(_ a: [Double], _ b: [Double]) -> Double {
            let num = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            let den = b.map { $0 * $0 }.reduce(0, +)
            return (num / max(den, 1e-30)).squareRoot()
        }
        let bf16 = Gemm.bf16Kernel != .none
        for (name, e) in [("y", rel(h.0, f.0)), ("dx", rel(h.1, f.1)), ("dw", rel(h.2, f.2)), ("db", rel(h.3, f.3))] {
            #expect(e < 1e-2, "\(name): relative error \(e)")
            if bf16 && name != "db" { #expect(e > 1e-6, "\(name): bf16 result identical to fp32 (bf16 path not taken?)") }
        }
        // matmul: batched with a broadcast operand, transposed views
        saved = rng
        let a = try Tensor.uniform([4, 33, 20], -1, 1, rng: &rng)
        let b = try Tensor.uniform([31, 20], -1, 1, rng: &rng).transpose(0, 1)
        let y32 = try Tensor.matmul(a, b).toDoubleArray()
        let y16 = try Tensor.matmul(a, b, precision: .bf16).toDoubleArray()
        #expect(rel(y16, y32) < 1e-2)
        let ar = Tensor(floats: Gemm.roundToBF16(a.toFloatArray()), shape: a.shape)
        let br = Tensor(floats: Gemm.roundToBF16(try b.contiguous().toFloatArray()), shape: [20, 31])
        let yr = try Tensor.matmul(ar, br).toDoubleArray()
        if bf16 { #expect(rel(y16, yr) < 1e-5, "bf16 product differs from the product of bf16-rounded operands") }
    }

    @Test("batched products: broadcast batch dims, transposed and strided views")
    func batched() throws {
        var rng = RandomGenerator(seed: 9)
        let a = try Tensor.uniform([2, 3, 17, 24], -1, 1, rng: &rng)
        let b = try Tensor.uniform([3, 19, 24], -1, 1, rng: &rng).transpose(1, 2)   // [3, 24, 19], transposed
        let y = try Tensor.matmul(a, b)
        #expect(y.shape == [2, 3, 17, 19])
        let av = a.toDoubleArray(), bv = try b.contiguous().toDoubleArray(), yv = y.toDoubleArray()
        var maxErr = 0.0
        for p in 0..<2 {
            for q in 0..<3 {
                for i in 0..<17 {
                    for j in 0..<19 {
                        var s = 0.0
                        for kk in 0..<24 { s += av[((p * 3 + q) * 17 + i) * 24 + kk] * bv[(q * 24 + kk) * 19 + j] }
                        maxErr = max(maxErr, abs(s - yv[((p * 3 + q) * 17 + i) * 19 + j]))
                    }
                }
            }
        }
        #expect(maxErr < 1e-4)
        // a batch of many products against one shared matrix folds into one tall product
        let x = try Tensor.uniform([16, 40, 64], -1, 1, rng: &rng)
        let w = try Tensor.uniform([64, 48], -1, 1, rng: &rng)
        let z = try Tensor.matmul(x, w).toDoubleArray()
        let z2 = try Tensor.matmul(x.reshape([640, 64]), w).toDoubleArray()
        #expect(z == z2)
        // many small products (attention-like), spread over the pool
        let q = try Tensor.uniform([64, 32, 16], -1, 1, rng: &rng)
        let kT = try Tensor.uniform([64, 32, 16], -1, 1, rng: &rng).transpose(1, 2)
        let s = try Tensor.matmul(q, kT)
        let qv = q.toDoubleArray(), kv = try kT.transpose(1, 2).contiguous().toDoubleArray(), sv = s.toDoubleArray()
        var e2 = 0.0
        for h in stride(from: 0, to: 64, by: 9) {
            for i in 0..<32 {
                for j in 0..<32 {
                    var t = 0.0
                    for kk in 0..<16 { t += qv[(h * 32 + i) * 16 + kk] * kv[(h * 32 + j) * 16 + kk] }
                    e2 = max(e2, abs(t - sv[(h * 32 + i) * 32 + j]))
                }
            }
        }
        #expect(e2 < 1e-4)
    }

    @Test("bf16 conversion: nearest even, NaN kept, Inf kept, denormals kept")
    func bf16Conversion() {
        let one: Float = 1
        let ulp = Float(bitPattern: 0x3F80_8000) - one        // half a bf16 ulp at 1.0 (2^-8)
        let xs: [Float] = [1, one + ulp, one + 3 * ulp, one + ulp * 1.5, -2.5, .infinity, -.infinity, .nan,
                           Float(bitPattern: 0x0001_0000), 3.0e38, 0, -0.0]
        let h = Gemm.toBF16Bits(xs)
        #expect(h[0] == 0x3F80)
        #expect(h[1] == 0x3F80)    // tie -> even (down)
        #expect(h[2] == 0x3F82)    // tie -> even (up)
        #expect(h[3] == 0x3F81)    // above the tie -> up
        #expect(h[4] == 0xC020)
        #expect(h[5] == 0x7F80 && h[6] == 0xFF80)
        #expect(h[7] & 0x7F80 == 0x7F80 && h[7] & 0x007F != 0)    // still a NaN
        #expect(h[8] == 0x0001)    // denormal kept
        #expect(h[9] == 0x7F62 || h[9] == 0x7F61)
        #expect(h[10] == 0 && h[11] == 0x8000)
        let back = Gemm.fromBF16Bits(h)
        #expect(back[0] == 1 && back[4] == -2.5 && back[5] == .infinity && back[7].isNaN)
        // a long array takes the vector path: same answers as the scalar one
        var rng = RandomGenerator(seed: 1)
        var long = randomFloats(1000, &rng, lo: -1e3, hi: 1e3)
        long[17] = .nan
        long[500] = Float(bitPattern: 0x0000_8001)
        let hv = Gemm.toBF16Bits(long)
        for i in 0..<long.count {
            let s = Gemm.toBF16Bits([long[i]])[0]
            #expect(hv[i] == s || (long[i].isNaN && hv[i] & 0x7F80 == 0x7F80 && hv[i] & 0x7F != 0))
        }
    }

    @Test("thread pool: correct with 1 and 2 threads, many small jobs, nested calls")
    func pool() {
        let old = Runtime.threads
        defer { Runtime.setThreads(old) }
        for t in [1, 2] {
            Runtime.setThreads(t)
            #expect(Parallel.poolThreads == t)
            let n = 1000
            let out = UnsafeMutablePointer<Int>.allocate(capacity: n)
            defer { out.deallocate() }
            let jobs0 = Parallel.poolJobs
            for round in 0..<3000 {
                let parts = 1 + round % 7
                out.initialize(repeating: -1, count: parts)
                Parallel.run(parts) { p in out[p] = p * round }
                for p in 0..<parts where out[p] != p * round {
                    Issue.record("threads \(t) round \(round): part \(p) = \(out[p])")
                }
            }
            if t == 2 { #expect(Parallel.poolJobs > jobs0) } else { #expect(Parallel.poolJobs == jobs0) }
            // chunks cover the range exactly once
            let m = 200_000
            let hits = UnsafeMutablePointer<UInt8>.allocate(capacity: m)
            defer { hits.deallocate() }
            hits.initialize(repeating: 0, count: m)
            Parallel.chunks(m, grain: 1000) { lo, hi in for i in lo..<hi { hits[i] &+= 1 } }
            #expect((0..<m).allSatisfy { hits[$0] == 1 })
            // a parallel call from inside a task runs serially and still completes
            let inner = UnsafeMutablePointer<Int>.allocate(capacity: 16)
            defer { inner.deallocate() }
            inner.initialize(repeating: 0, count: 16)
            Parallel.run(4) { p in Parallel.run(4) { q in inner[p * 4 + q] = 1 } }
            #expect((0..<16).allSatisfy { inner[$0] == 1 })
        }
    }

    @Test("matmul results do not depend on the thread count")
    func threadsAgree() throws {
        let old = Runtime.threads
        defer { Runtime.setThreads(old) }
        var rng = RandomGenerator(seed: 2)
        let a = try Tensor.uniform([300, 200], -1, 1, rng: &rng), b = try Tensor.uniform([200, 260], -1, 1, rng: &rng)
        Runtime.setThreads(1)
        let y1 = try Tensor.matmul(a, b).toFloatArray()
        Runtime.setThreads(2)
        let y2 = try Tensor.matmul(a, b).toFloatArray()
        #expect(y1 == y2)
    }
}

extension Int {
    func clamped(_ lo: Int, _ hi: Int) -> Int { Swift.min(Swift.max(self, lo), hi) }
}
