import CLatheCore
import Foundation

extension F {
    /// Scaled dot-product attention on the projection layout, as one autograd op.
    ///
    /// q: [B, T, Hq*D]; k, v: [B, S, Hkv*D] (Hq a multiple of Hkv: grouped-query attention);
    /// keyMask: [B, S] with 1 for real tokens and 0 for padding (optional); causal: query t
    /// (at absolute position S - T + t) sees keys up to that position. Returns [B, T, Hq*D].
    /// The heads are read in place through leading dimensions (no transposes); the softmax
    /// probabilities are kept for the backward pass.
    public static func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, kvHeads: Int,
                                 causal: Bool, keyMask: Tensor? = nil, scale: Float? = nil) throws(LatheError) -> Tensor {
        guard q.rank == 3, k.rank == 3, v.rank == 3 else {
            throw LatheError("attention: q, k, v must be [batch, seq, heads*head_dim], got \(q.shapeString), \(k.shapeString), \(v.shapeString)")
        }
        let (bsz, t, qw) = (q.shape[0], q.shape[1], q.shape[2])
        let s = k.shape[1]
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, qw % heads == 0 else {
            throw LatheError("attention: \(heads) heads must be a positive multiple of \(kvHeads) key/value heads and divide the width \(qw)")
        }
        let d = qw / heads
        guard k.shape == [bsz, s, kvHeads * d], v.shape == k.shape else {
            throw LatheError("attention: keys \(k.shapeString) and values \(v.shapeString) do not match queries \(q.shapeString) with \(kvHeads) key/value heads of size \(d)")
        }
        guard !causal || t <= s else { throw LatheError("attention: \(t) queries but only \(s) keys in causal attention") }
        if let m = keyMask, m.shape != [bsz, s] {
            throw LatheError("attention: key mask \(m.shapeString) does not match [batch, keys] = [\(bsz),\(s)]")
        }
        try Gemm.ensureReady()
        let sc = scale ?? 1 / Float(d).squareRoot()
        let qc = try q.toFloat32().contiguous(), kc = try k.toFloat32().contiguous(), vc = try v.toFloat32().contiguous()
        let maskC = try keyMask.map { m throws(LatheError) in try m.to(.float32).contiguous() }
        let out = Tensor(uninitialized: [bsz, t, qw], dtype: .float32)
        let probs = Tensor(uninitialized: [bsz, heads, t, s], dtype: .float32)
        let group = heads / kvHeads
        let ldq = heads * d, ldk = kvHeads * d
        let qp = qc.floatPointer, kp = kc.floatPointer, vp = vc.floatPointer, op = out.floatPointer, pp = probs.floatPointer
        let mp = maskC?.floatPointer
        let shift = s - t
        // (batch, head) pairs are independent: they run in parallel on the pool (each product
        // then runs on its own thread); OpenBLAS, when it serves the products, keeps them serial
        let parallel = !Gemm.needsBLAS
        nonisolated(unsafe) var failure: LatheError? = nil
        func forward(_ bh: Int) {
            let b = bh / heads, h = bh % heads
            let kh = h / group
            let qbh = qp + b * t * ldq + h * d
            let kbh = kp + b * s * ldk + kh * d
            let vbh = vp + b * s * ldk + kh * d
            let pbh = pp + ((b * heads + h) * t) * s
            do throws(LatheError) {
                try Gemm.gemm(transA: false, transB: true, m: t, n: s, k: d, alpha: sc, a: qbh, lda: ldq, b: kbh, ldb: ldk, c: pbh, ldc: s)
                for i in 0..<t {
                    let row = pbh + i * s
                    let lim = causal ? min(s, i + 1 + shift) : s
                    var any = false
                    for j in 0..<s {
                        let masked = j >= lim || (mp != nil && mp![b * s + j] == 0)
                        if masked { row[j] = -.infinity } else { any = true }
                    }
                    if any { lk_softmax_row_f32(row, row, s) } else { row.initialize(repeating: 0, count: s) }
                }
                try Gemm.gemm(transA: false, transB: false, m: t, n: d, k: s, a: pbh, lda: s, b: vbh, ldb: ldk,
                              c: op + b * t * ldq + h * d, ldc: ldq)
            } catch {
                failure = error
            }
        }
        if parallel {
            Parallel.forEach(bsz * heads, costPerItem: 2 * t * s * d) { forward($0) }
        } else {
            for bh in 0..<(bsz * heads) { forward(bh) }
        }
        if let failure { throw failure }
        if Autograd.needs([q, k, v]) {
            let needQ = q.requiresGrad, needK = k.requiresGrad, needV = v.requiresGrad
            out.record("attention", [q, k, v]) { [qc, kc, vc, probs] g throws(LatheError) in
                _ = (qc, kc, vc, probs)
                let gc = g.contiguous()
                let dq = Tensor(uninitialized: qc.shape, dtype: .float32)
                let dk = Tensor.full(kc.shape, 0), dv = Tensor.full(vc.shape, 0)
                let gp = gc.floatPointer, dqp = dq.floatPointer, dkp = dk.floatPointer, dvp = dv.floatPointer
                nonisolated(unsafe) var failure: LatheError? = nil
                // (batch, kv head) groups write disjoint parts of dk and dv; the heads of a group
                // accumulate into them in order
                func backward(_ bk: Int) {
                    let b = bk / kvHeads, kh = bk % kvHeads
                    let dP = Tensor(uninitialized: [t, s], dtype: .float32)
                    let dpp = dP.floatPointer
                    do throws(LatheError) {
                        for h in (kh * group)..<((kh + 1) * group) {
                            let qbh = qp + b * t * ldq + h * d
                            let kbh = kp + b * s * ldk + kh * d
                            let vbh = vp + b * s * ldk + kh * d
                            let pbh = pp + ((b * heads + h) * t) * s
                            let gbh = gp + b * t * ldq + h * d
                            // dV += P^T dO
                            try Gemm.gemm(transA: true, transB: false, m: s, n: d, k: t, a: pbh, lda: s, b: gbh, ldb: ldq, beta: 1,
                                          c: dvp + b * s * ldk + kh * d, ldc: ldk)
                            // dP = dO V^T
                            try Gemm.gemm(transA: false, transB: true, m: t, n: s, k: d, a: gbh, lda: ldq, b: vbh, ldb: ldk, c: dpp, ldc: s)
                            // dS = P * (dP - rowsum(dP * P)) * scale
                            for i in 0..<t {
                                lk_softmax_grad_row_f32(pbh + i * s, dpp + i * s, dpp + i * s, s)
                            }
                            lk_binary_scalar_f32(Int32(LK_MUL), dpp, sc, dpp, t * s)
                            // dQ = dS K ; dK += dS^T Q
                            try Gemm.gemm(transA: false, transB: false, m: t, n: d, k: s, a: dpp, lda: s, b: kbh, ldb: ldk,
                                          c: dqp + b * t * ldq + h * d, ldc: ldq)
                            try Gemm.gemm(transA: true, transB: false, m: s, n: d, k: t, a: dpp, lda: s, b: qbh, ldb: ldq, beta: 1,
                                          c: dkp + b * s * ldk + kh * d, ldc: ldk)
                        }
                    } catch {
                        failure = error
                    }
                }
                if parallel {
                    Parallel.forEach(bsz * kvHeads, costPerItem: 8 * group * t * s * d) { backward($0) }
                } else {
                    for bk in 0..<(bsz * kvHeads) { backward(bk) }
                }
                if let failure { throw failure }
                return [needQ ? dq : nil, needK ? dk : nil, needV ? dv : nil]
            }
        }
        return out
    }
}
