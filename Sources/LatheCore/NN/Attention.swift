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
        try Runtime.ensureBLAS()
        let sc = scale ?? 1 / Float(d).squareRoot()
        let qc = try q.toFloat32().contiguous(), kc = try k.toFloat32().contiguous(), vc = try v.toFloat32().contiguous()
        let maskC = try keyMask.map { m throws(LatheError) in try m.to(.float32).contiguous() }
        let out = Tensor(uninitialized: [bsz, t, qw], dtype: .float32)
        let probs = Tensor(uninitialized: [bsz, heads, t, s], dtype: .float32)
        let group = heads / kvHeads
        let ldq = Int32(heads * d), ldk = Int32(kvHeads * d)
        let qp = qc.floatPointer, kp = kc.floatPointer, vp = vc.floatPointer, op = out.floatPointer, pp = probs.floatPointer
        let mp = maskC?.floatPointer
        let shift = s - t
        for b in 0..<bsz {
            for h in 0..<heads {
                let kh = h / group
                let qbh = qp + b * t * Int(ldq) + h * d
                let kbh = kp + b * s * Int(ldk) + kh * d
                let vbh = vp + b * s * Int(ldk) + kh * d
                let pbh = pp + ((b * heads + h) * t) * s
                lk_sgemm(Int32(LK_NO_TRANS), Int32(LK_TRANS), Int32(t), Int32(s), Int32(d), sc, qbh, ldq, kbh, ldk, 0, pbh, Int32(s))
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
                lk_sgemm(Int32(LK_NO_TRANS), Int32(LK_NO_TRANS), Int32(t), Int32(d), Int32(s), 1, pbh, Int32(s), vbh, ldk, 0,
                         op + b * t * Int(ldq) + h * d, ldq)
            }
        }
        if Autograd.needs([q, k, v]) {
            let needQ = q.requiresGrad, needK = k.requiresGrad, needV = v.requiresGrad
            out.record("attention", [q, k, v]) { [qc, kc, vc, probs] g throws(LatheError) in
                _ = (qc, kc, vc, probs)
                let gc = g.contiguous()
                let dq = Tensor(uninitialized: qc.shape, dtype: .float32)
                let dk = Tensor.full(kc.shape, 0), dv = Tensor.full(vc.shape, 0)
                let gp = gc.floatPointer, dqp = dq.floatPointer, dkp = dk.floatPointer, dvp = dv.floatPointer
                let dP = Tensor(uninitialized: [t, s], dtype: .float32)
                let dpp = dP.floatPointer
                for b in 0..<bsz {
                    for h in 0..<heads {
                        let kh = h / group
                        let qbh = qp + b * t * Int(ldq) + h * d
                        let kbh = kp + b * s * Int(ldk) + kh * d
                        let vbh = vp + b * s * Int(ldk) + kh * d
                        let pbh = pp + ((b * heads + h) * t) * s
                        let gbh = gp + b * t * Int(ldq) + h * d
                        // dV += P^T dO
                        lk_sgemm(Int32(LK_TRANS), Int32(LK_NO_TRANS), Int32(s), Int32(d), Int32(t), 1, pbh, Int32(s), gbh, ldq, 1,
                                 dvp + b * s * Int(ldk) + kh * d, ldk)
                        // dP = dO V^T
                        lk_sgemm(Int32(LK_NO_TRANS), Int32(LK_TRANS), Int32(t), Int32(s), Int32(d), 1, gbh, ldq, vbh, ldk, 0, dpp, Int32(s))
                        // dS = P * (dP - rowsum(dP * P)) * scale
                        for i in 0..<t {
                            lk_softmax_grad_row_f32(pbh + i * s, dpp + i * s, dpp + i * s, s)
                        }
                        lk_binary_scalar_f32(Int32(LK_MUL), dpp, sc, dpp, t * s)
                        // dQ = dS K ; dK += dS^T Q
                        lk_sgemm(Int32(LK_NO_TRANS), Int32(LK_NO_TRANS), Int32(t), Int32(d), Int32(s), 1, dpp, Int32(s), kbh, ldk, 0,
                                 dqp + b * t * Int(ldq) + h * d, ldq)
                        lk_sgemm(Int32(LK_TRANS), Int32(LK_NO_TRANS), Int32(s), Int32(d), Int32(t), 1, dpp, Int32(s), qbh, ldq, 1,
                                 dkp + b * s * Int(ldk) + kh * d, ldk)
                    }
                }
                return [needQ ? dq : nil, needK ? dk : nil, needV ? dv : nil]
            }
        }
        return out
    }
}
