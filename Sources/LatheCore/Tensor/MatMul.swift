import CLatheCore
import Foundation

extension Tensor {
    /// How a 2-d (matrix) view can be handed to BLAS without copying: transposed or not, and
    /// its leading dimension. nil when neither layout applies (then it is copied).
    func blasLayout(_ m: Int, _ n: Int, _ s0: Int, _ s1: Int) -> (trans: Bool, ld: Int)? {
        if s1 == 1 && (s0 >= max(n, 1) || m <= 1) { return (false, max(s0, max(n, 1))) }
        if s0 == 1 && (s1 >= max(m, 1) || n <= 1) { return (true, max(s1, max(m, 1))) }
        return nil
    }

    /// Matrix product with numpy semantics: 1-d/2-d/batched (batch dims broadcast).
    /// `precision: .bf16` rounds the operands to bf16 and accumulates in fp32 (forward and
    /// backward products alike); the result and the gradients stay fp32.
    public static func matmul(_ a: Tensor, _ b: Tensor, precision: MatmulPrecision = Runtime.autocast) throws(LatheError) -> Tensor {
        if a.rank == 0 || b.rank == 0 {
            throw LatheError("matmul: needs at least 1-d operands, got shapes \(a.shapeString) and \(b.shapeString)")
        }
        if a.rank == 1 && b.rank == 1 {
            guard a.shape[0] == b.shape[0] else {
                throw LatheError("matmul: \(a.shapeString) x \(b.shapeString): inner sizes \(a.shape[0]) and \(b.shape[0]) differ")
            }
            return try matmul(a.unsqueeze(0), b.unsqueeze(1), precision: precision).reshape([])
        }
        if a.rank == 1 { return try matmul(a.unsqueeze(0), b, precision: precision).squeeze(-2) }
        if b.rank == 1 { return try matmul(a, b.unsqueeze(1), precision: precision).squeeze(-1) }
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
        let k2 = b.shape[b.rank - 2], n = b.shape[b.rank - 1]
        guard k == k2 else {
            throw LatheError("matmul: \(a.shapeString) x \(b.shapeString): inner sizes \(k) and \(k2) differ")
        }
        guard let batch = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) else {
            throw LatheError("matmul: batch dimensions of \(a.shapeString) and \(b.shapeString) are not broadcastable")
        }
        let af = try a.toFloat32(), bf = try b.toFloat32()
        let outShape = batch + [m, n]
        _ = try checkShape(outShape)
        try Gemm.ensureReady()
        let out = try Tensor(uninitialized: outShape, dtype: .float32)
        try gemmInto(af, bf, out, batch: batch, m: m, n: n, k: k, precision: precision)
        if Autograd.needs(a, b) {
            let ad = af.detach(), bd = bf.detach()
            let aShape = a.shape, bShape = b.shape
            let needA = a.requiresGrad, needB = b.requiresGrad
            out.record("matmul", [a, b]) { g throws(LatheError) in
                let ga = needA ? try matmul(g, bd.transpose(-1, -2), precision: precision).sumTo(aShape) : nil
                let gb = needB ? try matmul(ad.transpose(-1, -2), g, precision: precision).sumTo(bShape) : nil
                return [ga, gb]
            }
        }
        return out
    }

    /// out[batch] = a[batch] @ b[batch] (out contiguous).
    /// With `bias` (n floats, no batch): out = a @ b + bias on every row.
    static func gemmInto(_ a: Tensor, _ b: Tensor, _ out: Tensor, batch: [Int], m: Int, n: Int, k: Int,
                         beta: Float = 0, bias: UnsafePointer<Float>? = nil,
                         precision: MatmulPrecision = .fp32) throws(LatheError) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { memset(out.floatPointer, 0, out.count * 4) }
            if let bias {
                let op = out.floatPointer
                for i in 0..<(out.count / n) { for j in 0..<n { op[i * n + j] += bias[j] } }
            }
            return
        }
        precondition(bias == nil || batch.isEmpty, "gemmInto: bias with a batch")
        let av = try a.broadcastView(to: batch + [m, k])
        let bv = try b.broadcastView(to: batch + [k, n])
        var A = av, B = bv
        var la = A.blasLayout(m, k, A.strides[A.rank - 2], A.strides[A.rank - 1])
        if la == nil {
            A = try av.contiguous(copy: true)
            la = (false, k)
        }
        var lb = B.blasLayout(k, n, B.strides[B.rank - 2], B.strides[B.rank - 1])
        if lb == nil {
            B = try bv.contiguous(copy: true)
            lb = (false, n)
        }
        let nb = batch.reduce(1, *)
        let ta = la!.trans, tb = lb!.trans
        let ap = UnsafePointer(A.floatPointer), bp = UnsafePointer(B.floatPointer), cp = out.floatPointer
        if nb == 1 {
            try Gemm.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: ap, lda: la!.ld, b: bp, ldb: lb!.ld,
                          beta: beta, c: cp, ldc: n, bias: bias, precision: precision)
            return
        }
        // batch offsets (broadcast dims have stride 0)
        let abs = Array(A.strides.dropLast(2)), bbs = Array(B.strides.dropLast(2))
        var idx = [Int](repeating: 0, count: batch.count)
        var offA = [Int](repeating: 0, count: nb), offB = offA, offC = offA
        var oa = 0, ob = 0
        for bi in 0..<nb {
            offA[bi] = oa
            offB[bi] = ob
            offC[bi] = bi * m * n
            var d = batch.count - 1
            while d >= 0 {
                idx[d] += 1
                oa += abs[d]
                ob += bbs[d]
                if idx[d] < batch[d] { break }
                oa -= abs[d] * batch[d]
                ob -= bbs[d] * batch[d]
                idx[d] = 0
                d -= 1
            }
        }
        // B shared by every product and A's matrices one after another: one tall product.
        if !ta, offB.allSatisfy({ $0 == offB[0] }),
           (0..<nb).allSatisfy({ offA[$0] == offA[0] + $0 * m * la!.ld }) {
            try Gemm.gemm(transA: false, transB: tb, m: nb * m, n: n, k: k, a: ap + offA[0], lda: la!.ld,
                          b: bp + offB[0], ldb: lb!.ld, beta: beta, c: cp, ldc: n, precision: precision)
            return
        }
        try Gemm.gemmBatched(transA: ta, transB: tb, m: m, n: n, k: k, a: ap, lda: la!.ld, offA: offA,
                             b: bp, ldb: lb!.ld, offB: offB, beta: beta, c: cp, ldc: n, offC: offC,
                             precision: precision)
    }

    /// x @ wᵀ + bias for x [..., in], w [out, in], bias [out] (a Linear layer), with the
    /// bias folded into the product. `precision: .bf16` runs the three products (forward,
    /// input gradient, weight gradient) with bf16 operands and fp32 accumulation.
    public static func linear(_ x: Tensor, _ w: Tensor, _ bias: Tensor?,
                              precision: MatmulPrecision = Runtime.autocast) throws(LatheError) -> Tensor {
        guard w.rank == 2 else { throw LatheError("linear: weight must be 2-d [out, in], got \(w.shapeString)") }
        let inF = w.shape[1], outF = w.shape[0]
        guard x.rank >= 1, x.shape[x.rank - 1] == inF else {
            throw LatheError("linear: input \(x.shapeString) does not end in the weight's input size \(inF) (weight \(w.shapeString))")
        }
        if let bias, bias.shape != [outF] {
            throw LatheError("linear: bias shape \(bias.shapeString) does not match the weight's output size \(outF)")
        }
        let rows = x.count / max(inF, 1)
        let x2 = try Autograd.noGrad { () throws(LatheError) -> Tensor in try x.toFloat32().reshape([rows, inF]) }
        try Gemm.ensureReady()
        let out = try Tensor(uninitialized: [rows, outF], dtype: .float32)
        let wt = Autograd.noGrad { try! w.toFloat32().transpose(0, 1) }
        if let bias {
            // the kernels add the bias to each tile of the output as they finish it
            let bc = try bias.toFloat32().contiguous()
            try withExtendedLifetime(bc) { () throws(LatheError) in
                try gemmInto(x2, wt, out, batch: [], m: rows, n: outF, k: inF, bias: UnsafePointer(bc.floatPointer),
                             precision: precision)
            }
        } else {
            try gemmInto(x2, wt, out, batch: [], m: rows, n: outF, k: inF, precision: precision)
        }
        let res = Tensor(storage: out.storage, shape: Array(x.shape.dropLast()) + [outF], dtype: .float32)
        var inputs = [x, w]
        if let bias { inputs.append(bias) }
        if Autograd.needs(inputs) {
            let xd = x2.detach(), wd = try w.toFloat32().detach()
            let xShape = x.shape
            let needX = x.requiresGrad, needW = w.requiresGrad, needB = bias?.requiresGrad ?? false
            res.record("linear", inputs) { g throws(LatheError) in
                let g2 = try g.reshape([rows, outF])
                let gx = needX ? try matmul(g2, wd, precision: precision).reshape(xShape) : nil
                let gw = needW ? try matmul(g2.transpose(0, 1), xd, precision: precision) : nil
                var grads: [Tensor?] = [gx, gw]
                if bias != nil { grads.append(needB ? try g2.sum(dims: [0]) : nil) }
                return grads
            }
        }
        return res
    }
}
