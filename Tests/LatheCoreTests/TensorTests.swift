import CLatheCore
import Foundation
import LatheCore
import TestSupport
import Testing

// MARK: - helpers

func randTensor(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return try! Tensor.uniform(shape, lo, hi, rng: &rng)
}

/// Checks analytic gradients of `f` (any output; reduced with fixed random weights in double
/// precision) against central finite differences. float32 arithmetic limits the accuracy of
/// the numeric estimate to about n*1e-7/eps; with eps = 5e-3 the tolerance below (2e-3
/// absolute plus 1e-2 relative) is above that noise and below any real mistake.
func gradcheck(_ name: String, _ inputs: [Tensor], eps: Float = 5e-3, atol: Double = 2e-3, rtol: Double = 1e-2,
               _ f: ([Tensor]) throws -> Tensor) throws {
    for t in inputs { try t.setRequiresGrad(true); t.zeroGrad() }
    let out = try f(inputs)
    var rng = RandomGenerator(seed: 99)
    let w = (0..<out.count).map { _ in rng.uniform() * 2 - 1 }
    let wt = Tensor(floats: w.map { Float($0) }, shape: out.shape)
    try (out * wt).sum().backward()
    func loss() throws -> Double {
        let o = try Autograd.noGrad { () throws -> Tensor in try f(inputs) }
        let v = o.toDoubleArray()
        var s = 0.0
        for i in 0..<v.count { s += v[i] * w[i] }
        return s
    }
    for (k, t) in inputs.enumerated() {
        let analytic = t.grad?.toDoubleArray() ?? [Double](repeating: 0, count: t.count)
        #expect(analytic.count == t.count, "\(name): gradient of input \(k + 1) has the wrong size")
        let p = try t.contiguous().floatPointer
        #expect(t.isContiguous)
        for i in 0..<t.count {
            let old = p[i]
            p[i] = old + eps
            let fp = try loss()
            p[i] = old - eps
            let fm = try loss()
            p[i] = old
            let numeric = (fp - fm) / (2 * Double(eps))
            let a = analytic[i]
            let ok = abs(a - numeric) <= atol + rtol * abs(numeric)
            #expect(ok, "\(name): input \(k + 1) element \(i): analytic \(a) vs numeric \(numeric)")
            if !ok { return }
        }
    }
}

/// nil when a matches b within tolerance, else a description of the first mismatch.
func mismatch(_ a: [Float], _ b: [Double], rtol: Double = 1e-5, atol: Double = 1e-6, inputs: [Float]? = nil) -> String? {
    firstMismatch(a, b, rtol: rtol, atol: atol, describe: inputs.map { xs in { "input \(xs[$0])" } })
}
func close(_ a: [Float], _ b: [Double], rtol: Double = 1e-5, atol: Double = 1e-6) -> Bool {
    mismatch(a, b, rtol: rtol, atol: atol) == nil
}

// MARK: - tests

@Suite struct TensorBasics {
    @Test func viewsShareStorage() throws {
        let t = Tensor(floats: (0..<12).map(Float.init), shape: [3, 4])
        let tt = try t.transpose(0, 1)
        #expect(tt.storage === t.storage)
        #expect(tt.shape == [4, 3])
        #expect(!tt.isContiguous)
        #expect(tt.toFloatArray() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        let r = try t.reshape([2, -1])
        #expect(r.storage === t.storage && r.shape == [2, 6])
        let s = try t.narrow(1, 1, 2)
        #expect(s.storage === t.storage && s.toFloatArray() == [1, 2, 5, 6, 9, 10])
        let sl = try t.slice(1, 0, 4, step: 2)
        #expect(sl.toFloatArray() == [0, 2, 4, 6, 8, 10])
        // reshape of a non-contiguous view copies
        let rr = try tt.reshape([12])
        #expect(rr.storage !== t.storage)
        #expect(rr.toFloatArray() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    }

    @Test func shapeErrorsNameBothShapes() throws {
        let a = Tensor(floats: [Float](repeating: 1, count: 6), shape: [2, 3])
        let b = Tensor(floats: [Float](repeating: 1, count: 20), shape: [4, 5])
        #expect(throws: LatheError("matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ")) { try Tensor.matmul(a, b) }
        #expect(throws: LatheError("add: shapes [2,3] and [4,5] are not broadcastable")) { try a + b }
        #expect(throws: LatheError.self) { try a.reshape([4, 2]) }
        #expect(throws: LatheError.self) { try Tensor.zeros([-1, 2]) }
        #expect(throws: LatheError.self) { try Tensor.zeros([1 << 40, 1 << 30]) }
        #expect(throws: LatheError.self) { try a.transpose(0, 5) }
    }

    @Test func broadcastingArithmetic() throws {
        let a = Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor(floats: [10, 20, 30], shape: [3])
        #expect(try (a + b).toFloatArray() == [11, 22, 33, 14, 25, 36])
        let col = Tensor(floats: [100, 200], shape: [2, 1])
        #expect(try (a * col).toFloatArray() == [100, 200, 300, 800, 1000, 1200])
        #expect(try a.scalarOp(2, .sub, reversed: true).toFloatArray() == [1, 0, -1, -2, -3, -4])
        #expect(try a.transpose(0, 1).contiguous().toFloatArray() == [1, 4, 2, 5, 3, 6])
        // int64 arithmetic stays int64; division gives float32
        let i = Tensor(int64s: [1, 2, 3], shape: [3])
        #expect(try (i + i).dtype == .int64)
        #expect(try (i / i).dtype == .float32)
    }

    @Test func reductions() throws {
        let t = Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(try t.sum().toFloatArray() == [21])
        #expect(try t.sum(dims: [0]).toFloatArray() == [5, 7, 9])
        #expect(try t.sum(dims: [1], keepdim: true).shape == [2, 1])
        #expect(try t.mean(dims: [1]).toFloatArray() == [2, 5])
        let (v, i) = try t.maxMin(dim: 1, isMin: false)
        #expect(try v.toFloatArray() == [3, 6] && i.toInt64Array() == [2, 2])
        #expect(try t.variance().item() == 3.5)
        let big = try Tensor.full([3_000_000], 0.5)
        #expect(try big.sum().item() == 1_500_000)
        let (sv, si) = try Tensor(floats: [3, 1, 2, 1], shape: [4]).sort(0)
        #expect(try sv.toFloatArray() == [1, 1, 2, 3] && si.toInt64Array() == [1, 3, 2, 0])
        let sm = try Tensor(floats: [1, 2, 3], shape: [3]).softmax(0).toDoubleArray()
        let e = [1.0, 2, 3].map { Foundation.exp($0) }
        let z = e.reduce(0, +)
        #expect(close(sm.map { Float($0) }, e.map { $0 / z }))
    }

    @Test func matmulMatchesNaiveDouble() throws {
        for (m, k, n, seed) in [(1, 1, 1, 1), (3, 5, 2, 2), (17, 33, 9, 3), (64, 128, 31, 4), (2, 1, 300, 5)] as [(Int, Int, Int, UInt64)] {
            let a = randTensor([m, k], seed: seed), b = randTensor([k, n], seed: seed + 100)
            let c = try Tensor.matmul(a, b).toDoubleArray()
            let ad = a.toDoubleArray(), bd = b.toDoubleArray()
            var ref = [Double](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { for p in 0..<k { ref[i * n + j] += ad[i * k + p] * bd[p * n + j] } } }
            #expect(close(c.map { Float($0) }, ref, rtol: 1e-4, atol: 1e-5), "\(m)x\(k)x\(n)")
            // transposed operands are used in place, with the same result
            let at = try a.transpose(0, 1).contiguous().transpose(0, 1)
            let bt = try b.transpose(0, 1).contiguous().transpose(0, 1)
            #expect(!at.isContiguous || m == 1 || k == 1)
            #expect(close(try Tensor.matmul(at, bt).toFloatArray(), ref, rtol: 1e-4, atol: 1e-5))
        }
        // batched with broadcast batch dims
        let a = randTensor([2, 1, 3, 4], seed: 7), b = randTensor([5, 4, 2], seed: 8)
        let c = try Tensor.matmul(a, b)
        #expect(c.shape == [2, 5, 3, 2])
        let one = try Tensor.matmul(a.select(0, 1).select(0, 0), b.select(0, 3))
        #expect(close(try c.select(0, 1).select(0, 3).contiguous().toFloatArray(), one.toDoubleArray()))
    }

    @Test func vectorMathAccuracy() throws {
        var xs: [Float] = []
        var x: Float = -30
        while x < 30 { xs.append(x); x += 0.0137 }
        xs += [0, -0.0, 1e-6, -1e-6, 1e-30, 88, -87, -100, 1e-40]
        let t = Tensor(floats: xs, shape: [xs.count])
        let cases: [(UnaryOp, (Double) -> Double, Double)] = [
            (.exp, Foundation.exp, 2e-6), (.tanh, Foundation.tanh, 3e-6), (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, 3e-6),
            (.erf, Foundation.erf, 3e-6), (.silu, { $0 / (1 + Foundation.exp(-$0)) }, 3e-6),
            // far in the negative tail the rounding of x*x in float32 limits the relative accuracy
            (.geluErf, { 0.5 * $0 * Foundation.erfc(-$0 / 2.0.squareRoot()) }, 2e-5),
            (.geluTanh, { $0 / (1 + Foundation.exp(-2 * (2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }, 2e-5),
        ]
        for (op, ref, rtol) in cases {
            let got = try t.unary(op).toFloatArray()
            let want = xs.map { ref(Double($0)) }
            let bad = mismatch(got, want, rtol: rtol, atol: 1e-37, inputs: xs)
            #expect(bad == nil, "\(op): \(bad ?? "")")
        }
        let pos = xs.filter { $0 > 0 }
        let got = try Tensor(floats: pos, shape: [pos.count]).unary(.log).toFloatArray()
        let bad = mismatch(got, pos.map { Foundation.log(Double($0)) }, rtol: 2e-6, atol: 1e-7, inputs: pos)
        #expect(bad == nil, "log: \(bad ?? "")")
        // special values
        let sp = Tensor(floats: [.nan, .infinity, -.infinity, 0, -1], shape: [5])
        let e = try sp.exp().toFloatArray()
        #expect(e[0].isNaN && e[1] == .infinity && e[2] == 0 && e[3] == 1)
        let l = try sp.log().toFloatArray()
        #expect(l[0].isNaN && l[1] == .infinity && l[2].isNaN && l[3] == -.infinity && l[4].isNaN)
        let th = try sp.tanh().toFloatArray()
        #expect(th[0].isNaN && th[1] == 1 && th[2] == -1 && th[3] == 0, "tanh of specials: \(th)")
    }

    @Test func geluGradientMatchesFloat64() throws {
        // the backward recovers Phi(x) from the forward's output (y / x): check it over the range
        // gelu is used on, the tails, and tiny inputs where y / x would lose precision
        var xs: [Float] = []
        var x: Float = -16
        while x < 16 { xs.append(x); x += 0.0093 }
        xs += [0, -0.0, 1e-6, -1e-6, 1e-30, -1e-30, 1e-40, -1e-40, 30, -30]
        let t = Tensor(floats: xs, shape: [xs.count])
        try t.setRequiresGrad(true)
        try t.gelu().sum().backward()
        let got = try #require(t.grad).toFloatArray()
        let want = xs.map { v -> Double in
            let d = Double(v)
            return 0.5 * Foundation.erfc(-d / 2.0.squareRoot()) + d * Foundation.exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
        }
        // gelu' crosses 0 near -0.75, where only an absolute bound is meaningful
        let bad = mismatch(got, want, rtol: 2e-5, atol: 3e-7, inputs: xs)
        #expect(bad == nil, "gelu gradient: \(bad ?? "")")
        let sp = Tensor(floats: [.nan], shape: [1])
        try sp.setRequiresGrad(true)
        try sp.gelu().sum().backward()
        #expect(try #require(sp.grad).toFloatArray()[0].isNaN)
    }

    @Test func layerNormMatchesFloat64() throws {
        // widths around the 16-lane blocks (tails of every length), with and without affine
        for n in [2, 5, 16, 17, 31, 256, 301] {
            let rows = 3
            let x = randTensor([rows, n], seed: UInt64(n), lo: -3, hi: 5), w = randTensor([n], seed: 7, lo: 0.5, hi: 1.5)
            let b = randTensor([n], seed: 8), g = randTensor([rows, n], seed: 9)
            for affine in [true, false] {
                let xi = x.detach()
                try xi.setRequiresGrad(true)
                let wi = affine ? w.detach() : nil, bi = affine ? b.detach() : nil
                if let wi, let bi { try wi.setRequiresGrad(true); try bi.setRequiresGrad(true) }
                let y = try F.layerNorm(xi, weight: wi, bias: bi)
                try (y * g).sum().backward()
                let xv = x.toDoubleArray(), wv = w.toDoubleArray(), bv = b.toDoubleArray(), gv = g.toDoubleArray()
                var wantY = [Double](), wantDx = [Double](), wantDw = [Double](repeating: 0, count: n), wantDb = wantDw
                for r in 0..<rows {
                    let row = Array(xv[(r * n)..<((r + 1) * n)]), gr = Array(gv[(r * n)..<((r + 1) * n)])
                    let mean = row.reduce(0, +) / Double(n)
                    let rstd = 1 / (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n) + 1e-5).squareRoot()
                    let xh = row.map { ($0 - mean) * rstd }
                    let dxh = (0..<n).map { gr[$0] * (affine ? wv[$0] : 1) }
                    let ma = dxh.reduce(0, +) / Double(n)
                    let mc = (0..<n).map { dxh[$0] * xh[$0] }.reduce(0, +) / Double(n)
                    for j in 0..<n {
                        wantY.append(affine ? xh[j] * wv[j] + bv[j] : xh[j])
                        wantDx.append(rstd * (dxh[j] - ma - xh[j] * mc))
                        wantDw[j] += gr[j] * xh[j]
                        wantDb[j] += gr[j]
                    }
                }
                let tag = "n=\(n) affine=\(affine)"
                #expect(mismatch(y.toFloatArray(), wantY, rtol: 1e-5, atol: 1e-5) == nil, "\(tag) y: \(mismatch(y.toFloatArray(), wantY, rtol: 1e-5, atol: 1e-5) ?? "")")
                let dx = try #require(xi.grad).toFloatArray()
                #expect(mismatch(dx, wantDx, rtol: 1e-4, atol: 1e-5) == nil, "\(tag) dx: \(mismatch(dx, wantDx, rtol: 1e-4, atol: 1e-5) ?? "")")
                if let wi, let bi {
                    #expect(mismatch(try #require(wi.grad).toFloatArray(), wantDw, rtol: 1e-5, atol: 1e-5) == nil, "\(tag) dw")
                    #expect(mismatch(try #require(bi.grad).toFloatArray(), wantDb, rtol: 1e-5, atol: 1e-5) == nil, "\(tag) db")
                }
            }
        }
    }

    @Test func seededRandomIsReproducible() throws {
        var r1 = RandomGenerator(seed: 5), r2 = RandomGenerator(seed: 5)
        let a = try Tensor.randn([100], rng: &r1), b = try Tensor.randn([100], rng: &r2)
        #expect(a.toFloatArray() == b.toFloatArray())
        let mean = a.toDoubleArray().reduce(0, +) / 100
        #expect(abs(mean) < 0.3)
        var r3 = RandomGenerator(seed: 6)
        #expect(try Tensor.randn([100], rng: &r3).toFloatArray() != a.toFloatArray())
    }

    @Test func fromValuesChecksShapeAndIntegers() throws {
        let f = try Tensor.from(values: [0.5, 1, 2, 3], shape: [2, 2], dtype: .float32)
        #expect(f.toDoubleArray() == [0.5, 1, 2, 3] && f.shape == [2, 2])
        #expect(try Tensor.from(values: [3, -4], shape: [2], dtype: .int64).toInt64Array() == [3, -4])
        #expect(try Tensor.from(values: [0, 2], shape: [2], dtype: .bool).toDoubleArray() == [0, 1])
        #expect(errorMessage { _ = try Tensor.from(values: [1.5], shape: [1], dtype: .int64) } == "value must be a whole number that fits in 64 bits (got 1.5)")
        #expect(errorMessage { _ = try Tensor.from(values: [0x1p63], shape: [1], dtype: .int64) }?.contains("whole number that fits in 64 bits") == true)
        #expect(errorMessage { _ = try Tensor.from(values: [.nan], shape: [1], dtype: .int64) } != nil)
        #expect(errorMessage { _ = try Tensor.from(values: [1, 2, 3], shape: [2], dtype: .float32) } == "shape [2] holds 2 values, got 3")
    }

    @Test func drawingUsesAPrivateStreamWhenSeeded() throws {
        var reference = RandomGenerator(seed: 9)
        let expected = try Tensor.rand([3], rng: &reference).toDoubleArray()
        #expect(try Runtime.drawing(seed: 9) { try Tensor.rand([3], rng: &$0) }.toDoubleArray() == expected)
        #expect(try Runtime.drawing(seed: 9) { try Tensor.rand([3], rng: &$0) }.toDoubleArray() == expected)
        // without a seed the global stream is drawn from and advances (other tests may draw too)
        let a = try Runtime.drawing(seed: nil) { try Tensor.rand([3], rng: &$0) }.toDoubleArray()
        #expect(try Runtime.drawing(seed: nil) { try Tensor.rand([3], rng: &$0) }.toDoubleArray() != a)
    }

    @Test func clampRefusesCrossedLimits() throws {
        let x = Tensor(floats: [-2, 0.5, 3], shape: [3])
        #expect(try x.clamp(min: -1, max: 1).toDoubleArray() == [-1, 0.5, 1])
        #expect(try x.clamp(min: nil, max: 0).toDoubleArray() == [-2, 0, 0])
        #expect(errorMessage { _ = try x.clamp(min: 2, max: 1) } == "lo (2.0) is greater than hi (1.0)")
    }

    @Test func formattingIsAlignedAndSummarized() throws {
        let t = Tensor(floats: [1, -2.5, 3, 4], shape: [2, 2])
        #expect(t.formatted() == "Tensor [2,2] float32\n[[ 1.0000, -2.5000],\n [ 3.0000,  4.0000]]")
        #expect(Tensor(int64s: [1, 22], shape: [2]).formatted() == "Tensor [2] int64\n[ 1, 22]")
        let big = try Tensor.full([50, 50], 1)
        let s = big.formatted()
        #expect(s.contains("...") && s.split(separator: "\n").count == 8)
    }
}

@Suite struct Gradients {
    @Test func binaryOpsWithBroadcast() throws {
        let a = randTensor([2, 3], seed: 1), b = randTensor([3], seed: 2, lo: 0.5, hi: 2)
        try gradcheck("add", [a, b]) { try $0[0] + $0[1] }
        try gradcheck("sub", [a, b]) { try $0[0] - $0[1] }
        try gradcheck("mul", [a, b]) { try $0[0] * $0[1] }
        try gradcheck("div", [a, b]) { try $0[0] / $0[1] }
        let p = randTensor([2, 3], seed: 3, lo: 0.5, hi: 2)
        try gradcheck("pow", [p, b]) { try Tensor.binary($0[0], $0[1], .pow) }
        try gradcheck("maximum", [a, randTensor([2, 3], seed: 9)]) { try Tensor.binary($0[0], $0[1], .maximum) }
        try gradcheck("scalar ops", [p]) { x in
            try x[0].scalarOp(3, .sub, reversed: true).scalarOp(2, .div, reversed: true).scalarOp(1.5, .pow).mulScalar(0.7).addScalar(1)
        }
    }

    @Test func unaryOps() throws {
        let x = randTensor([7], seed: 4, lo: -2, hi: 2)
        let pos = randTensor([7], seed: 5, lo: 0.3, hi: 3)
        for op in [UnaryOp.exp, .tanh, .sigmoid, .geluErf, .geluTanh, .silu, .sin, .cos, .erf, .softplus, .square, .neg, .expm1] {
            try gradcheck("\(op)", [x]) { try $0[0].unary(op) }
        }
        for op in [UnaryOp.log, .sqrt, .rsqrt, .recip, .log1p] {
            try gradcheck("\(op)", [pos]) { try $0[0].unary(op) }
        }
        let away = Tensor(floats: [-1.5, -0.7, 0.4, 1.2, 2.0], shape: [5])  // away from kinks
        try gradcheck("relu", [away]) { try $0[0].relu() }
        try gradcheck("abs", [away]) { try $0[0].unary(.abs) }
        try gradcheck("clamp", [away]) { try $0[0].clamp(min: -1, max: 1.5) }
    }

    @Test func reductionsAndSoftmax() throws {
        let x = randTensor([3, 4], seed: 6)
        try gradcheck("sum all", [x]) { try $0[0].sum() }
        try gradcheck("sum dim 0", [x]) { try $0[0].sum(dims: [0]) }
        try gradcheck("sum dim 1 keepdim", [x]) { try $0[0].sum(dims: [1], keepdim: true) }
        try gradcheck("mean", [x]) { try $0[0].mean(dims: [1]) }
        try gradcheck("var", [x]) { try $0[0].variance(dims: [1]) }
        try gradcheck("std", [x]) { try $0[0].std(dims: [0], correction: 0) }
        // well separated values, so a finite-difference step never changes which one wins
        let distinct = Tensor(floats: [0.3, -0.9, 0.7, 0.1, -0.2, 0.5, -0.6, 0.9, -0.4, 0.0, 0.8, -0.75], shape: [3, 4])
        try gradcheck("max dim", [distinct]) { try $0[0].maxMin(dim: 1, isMin: false).0 }
        try gradcheck("min all", [distinct]) { try $0[0].maxMin(dim: nil, isMin: true).0 }
        try gradcheck("softmax", [x]) { try $0[0].softmax(1) }
        try gradcheck("softmax dim 0", [x]) { try $0[0].softmax(0) }
        try gradcheck("log_softmax", [x]) { try $0[0].logSoftmax(-1) }
        try gradcheck("logsumexp", [x]) { try $0[0].logsumexp(1) }
        try gradcheck("cumsum", [x]) { try $0[0].cumsum(1) }
        try gradcheck("topk", [distinct]) { try $0[0].topk(2, 1).0 }
        let x3 = randTensor([2, 3, 4], seed: 16)
        try gradcheck("sum dims 0,2", [x3]) { try $0[0].sum(dims: [0, 2]) }
    }

    @Test func matmulAndLinear() throws {
        let a = randTensor([3, 4], seed: 7), b = randTensor([4, 2], seed: 8)
        try gradcheck("matmul", [a, b]) { try Tensor.matmul($0[0], $0[1]) }
        try gradcheck("matmul transposed views", [a, randTensor([2, 4], seed: 9)]) { try Tensor.matmul($0[0], $0[1].transpose(0, 1)) }
        let v = randTensor([4], seed: 10)
        try gradcheck("vector-matrix", [v, b]) { try Tensor.matmul($0[0], $0[1]) }
        try gradcheck("dot", [v, randTensor([4], seed: 11)]) { try Tensor.matmul($0[0], $0[1]) }
        let ba = randTensor([2, 3, 4], seed: 12), bb = randTensor([4, 5], seed: 13)
        try gradcheck("batched broadcast", [ba, bb]) { try Tensor.matmul($0[0], $0[1]) }
        let x = randTensor([2, 3, 4], seed: 14), w = randTensor([5, 4], seed: 15), bias = randTensor([5], seed: 16)
        try gradcheck("linear", [x, w, bias]) { try Tensor.linear($0[0], $0[1], $0[2]) }
    }

    @Test func shapeAndIndexOps() throws {
        let x = randTensor([2, 3, 4], seed: 20)
        try gradcheck("reshape", [x]) { try $0[0].reshape([6, 4]) }
        try gradcheck("transpose", [x]) { try $0[0].transpose(0, 2) }
        try gradcheck("permute", [x]) { try $0[0].permute([2, 0, 1]) }
        try gradcheck("narrow", [x]) { try $0[0].narrow(2, 1, 2) }
        try gradcheck("slice step", [x]) { try $0[0].slice(2, 0, 4, step: 2) }
        try gradcheck("select", [x]) { try $0[0].select(1, 2) }
        try gradcheck("squeeze/unsqueeze", [x]) { try $0[0].unsqueeze(1).squeeze(1) }
        try gradcheck("expand", [randTensor([3, 1], seed: 21)]) { try $0[0].expand([2, 3, 4]) }
        let idx = Tensor(int64s: [2, 0, 2], shape: [3])
        try gradcheck("index_select", [x]) { try $0[0].index(1, idx) }
        let table = randTensor([5, 3], seed: 22)
        try gradcheck("embedding", [table]) { try $0[0].embedding(Tensor(int64s: [4, 0, 4, 1], shape: [2, 2])) }
        let g = Tensor(int64s: [1, 0, 3, 3, 2, 1], shape: [2, 3])
        let m = randTensor([2, 4], seed: 23)
        try gradcheck("gather", [m]) { try $0[0].gather(1, g) }
        try gradcheck("scatter_add", [m, randTensor([2, 3], seed: 24)]) { try $0[0].scatterAdd(1, g, $0[1]) }
        try gradcheck("cat", [randTensor([2, 2], seed: 25), randTensor([2, 3], seed: 26)]) { try Tensor.cat($0, dim: 1) }
        try gradcheck("stack", [randTensor([2, 2], seed: 27), randTensor([2, 2], seed: 28)]) { try Tensor.stack($0, dim: 0) }
        let cond = Tensor(bools: [true, false, true, false, false, true], shape: [2, 3])
        try gradcheck("where", [randTensor([2, 3], seed: 29), randTensor([3], seed: 30)]) { try Tensor.whereSelect(cond, $0[0], $0[1]) }
        try gradcheck("masked_fill", [randTensor([2, 3], seed: 31)]) { try $0[0].maskedFill(cond, -5) }
        try gradcheck("tril", [randTensor([3, 3], seed: 32)]) { try $0[0].triangle(lower: true) }
    }

    @Test func gradientsAccumulateAndNoGradRecordsNothing() throws {
        let x = Tensor(floats: [1, 2, 3], shape: [3])
        try x.setRequiresGrad(true)
        try (x * x).sum().backward()
        try (x * x).sum().backward()
        #expect(x.grad?.toFloatArray() == [4, 8, 12])
        x.zeroGrad()
        #expect(x.grad == nil)
        let y = try Autograd.noGrad { () throws -> Tensor in try x * x }
        #expect(!y.requiresGrad && y.gradFn == nil)
        // a shared input's gradient is the sum over its uses
        let z = Tensor(floats: [2], shape: [1])
        try z.setRequiresGrad(true)
        try (z * z + z).sum().backward()
        #expect(z.grad?.toFloatArray() == [5])
        #expect(throws: LatheError.self) { try Tensor.full([2], 1).backward() }
        let w = Tensor(floats: [1, 2], shape: [2])
        try w.setRequiresGrad(true)
        #expect(throws: LatheError.self) { try w.mulScalar(2).backward() }
    }
}

// MARK: - elementwise kernels on aliased memory

@Suite struct KernelAliasing {
    /// In place (output = input) and partly overlapping (output shifted by one) calls give
    /// what a copy of the inputs would give, at every length around the vector width.
    @Test func inPlaceAndShiftedOperandsMatchCopies() {
        for n in [1, 7, 15, 16, 17, 33, 100] {
            let base = (0..<(n + 1)).map { Float($0 % 7) * 0.25 - 0.6 }
            // in place: z = a * b with z == a
            var buf = base
            let b = (0..<n).map { Float($0 % 3) + 0.5 }
            buf.withUnsafeMutableBufferPointer { p in
                b.withUnsafeBufferPointer { bp in lk_binary_f32(Int32(LK_MUL), p.baseAddress!, bp.baseAddress!, p.baseAddress!, n) }
            }
            for i in 0..<n { #expect(buf[i] == base[i] * b[i], "in place, n \(n), i \(i)") }
            // shifted: z[i] = a[i] + 1 with z = a + 1 (reads must see the original values)
            buf = base
            buf.withUnsafeMutableBufferPointer { p in
                lk_binary_scalar_f32(Int32(LK_ADD), p.baseAddress!, 1, p.baseAddress! + 1, n)
            }
            for i in 0..<n { #expect(buf[i + 1] == base[i] + 1, "shifted, n \(n), i \(i)") }
            // exp of a softmax row in place, every length
            var row = Array(base.prefix(n))
            row.withUnsafeMutableBufferPointer { p in lk_softmax_row_f32(p.baseAddress!, p.baseAddress!, n) }
            let m = base.prefix(n).max()!
            let e = base.prefix(n).map { Foundation.exp(Double($0 - m)) }
            let s = e.reduce(0, +)
            for i in 0..<n { #expect(abs(Double(row[i]) - e[i] / s) < 1e-6, "softmax n \(n), i \(i)") }
            // softmax backward in place (g == gx, as attention calls it) against float64
            let y = row.map(Double.init), gIn = (0..<n).map { Float(($0 * 5) % 11) * 0.1 - 0.4 }
            var gx = gIn
            row.withUnsafeBufferPointer { yp in gx.withUnsafeMutableBufferPointer { p in
                lk_softmax_grad_row_f32(yp.baseAddress!, p.baseAddress!, p.baseAddress!, n) } }
            let dot = (0..<n).map { Double(gIn[$0]) * y[$0] }.reduce(0, +)
            for i in 0..<n { #expect(abs(Double(gx[i]) - y[i] * (Double(gIn[i]) - dot)) < 1e-6, "softmax grad n \(n), i \(i)") }
            // the row maximum sees a NaN anywhere (first, last, in the vector part or the tail)
            for at in Set([0, n / 2, n - 1]) {
                var withNaN = Array(base.prefix(n))
                withNaN[at] = .nan
                #expect(withNaN.withUnsafeBufferPointer { lk_max_f32($0.baseAddress!, n) }.isNaN, "max with NaN at \(at) of \(n)")
            }
            #expect(base.prefix(n).withUnsafeBufferPointer { lk_max_f32($0.baseAddress!, n) } == base.prefix(n).max()!)
            // unary shifted backwards: y = x - 1 (output before the input)
            buf = base
            buf.withUnsafeMutableBufferPointer { p in lk_unary_f32(Int32(LK_NEG), p.baseAddress! + 1, p.baseAddress!, n) }
            for i in 0..<n { #expect(buf[i] == -base[i + 1], "unary shifted, n \(n), i \(i)") }
        }
    }
}
