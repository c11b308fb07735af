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
        let sc = scale ?? 1 / Float(d).squareRoot()
        let precision = Runtime.autocast
        let qc = try q.toFloat32().contiguous(), kc = try k.toFloat32().contiguous(), vc = try v.toFloat32().contiguous()
        let maskC = try keyMask.map { m throws(LatheError) in try m.to(.float32).contiguous() }
        let out = try Tensor(uninitialized: [bsz, t, qw], dtype: .float32)
        let probs = try Tensor(uninitialized: [bsz, heads, t, s], dtype: .float32)
        let group = heads / kvHeads
        let ldq = heads * d, ldk = kvHeads * d
        let qp = qc.floatPointer, kp = kc.floatPointer, vp = vc.floatPointer, op = out.floatPointer, pp = probs.floatPointer
        let mp = maskC?.floatPointer
        let shift = s - t
        // One product of each kind per head. Causal ones skip, tile by tile, the keys no row of a
        // tile sees (about 40% of the work at 128 positions): each operand is packed once per head
        // (blocks of 32 query rows, each its own product, packed K and V again for every block).
        func mm(_ mode: Gemm.Causal, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                c: UnsafeMutablePointer<Float>, ldc: Int) throws(LatheError) {
            if causal {
                try Gemm.gemmCausal(mode, shift: shift, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, precision: precision)
            } else {
                try Gemm.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                              ldb: ldb, beta: beta, c: c, ldc: ldc, precision: precision)
            }
        }
        // one task per (batch, key/value head): its query heads share K and V, and its
        // gradients for K and V are written by no other task
        let tasks = bsz * kvHeads
        var failure: LatheError? = nil
        let lock = NSLock()
        Parallel.forEach(tasks, costPerItem: group * t * s * d * 4) { task in
            let b = task / kvHeads, kh = task % kvHeads
            do {
                for h in (kh * group)..<((kh + 1) * group) {
                    let qbh = qp + b * t * ldq + h * d
                    let kbh = kp + b * s * ldk + kh * d
                    let vbh = vp + b * s * ldk + kh * d
                    let pbh = pp + ((b * heads + h) * t) * s
                    // scores; with causal, past each row's last key they are left unset
                    try mm(.out, transA: false, transB: true, m: t, n: s, k: d, alpha: sc, a: qbh, lda: ldq,
                           b: kbh, ldb: ldk, beta: 0, c: pbh, ldc: s)
                    for i in 0..<t {
                        let row = pbh + i * s
                        // keys past the causal limit get probability 0 without computing exp
                        let rl = causal ? min(s, i + 1 + shift) : s
                        var any = rl > 0
                        if let mp {
                            any = false
                            for j in 0..<rl {
                                if mp[b * s + j] == 0 { row[j] = -.infinity } else { any = true }
                            }
                        }
                        if any { lk_softmax_row_f32(row, row, rl) } else { row.initialize(repeating: 0, count: rl) }
                        if rl < s { (row + rl).initialize(repeating: 0, count: s - rl) }
                    }
                    try mm(.keyPrefix, transA: false, transB: false, m: t, n: d, k: s, alpha: 1, a: pbh, lda: s,
                           b: vbh, ldb: ldk, beta: 0, c: op + b * t * ldq + h * d, ldc: ldq)
                }
            } catch {
                lock.lock(); failure = failure ?? (error as? LatheError ?? LatheError("\(error)")); lock.unlock()
            }
        }
        if let failure { throw failure }
        if Autograd.needs([q, k, v]) {
            let needQ = q.requiresGrad, needK = k.requiresGrad, needV = v.requiresGrad
            out.record("attention", [q, k, v]) { [qc, kc, vc, probs] g throws(LatheError) in
                _ = (qc, kc, vc, probs)
                let gc = try g.contiguous()
                let dq = try Tensor(uninitialized: qc.shape, dtype: .float32)
                // dK and dV: the first query head of each key/value head writes them (beta 0), the
                // others of its group add to them; each task owns its slice
                let dk = try Tensor(uninitialized: kc.shape, dtype: .float32), dv = try Tensor(uninitialized: vc.shape, dtype: .float32)
                let gp = gc.floatPointer, dqp = dq.floatPointer, dkp = dk.floatPointer, dvp = dv.floatPointer
                var failure: LatheError? = nil
                let lock = NSLock()
                Parallel.forEach(tasks, costPerItem: group * t * s * d * 8) { task in
                    let b = task / kvHeads, kh = task % kvHeads
                    let dP = UnsafeMutablePointer<Float>.allocate(capacity: t * s)
                    defer { dP.deallocate() }
                    do {
                        for h in (kh * group)..<((kh + 1) * group) {
                            let acc: Float = h == kh * group ? 0 : 1
                            let qbh = qp + b * t * ldq + h * d
                            let kbh = kp + b * s * ldk + kh * d
                            let vbh = vp + b * s * ldk + kh * d
                            let pbh = pp + ((b * heads + h) * t) * s
                            let gbh = gp + b * t * ldq + h * d
                            let dvh = dvp + b * s * ldk + kh * d, dkh = dkp + b * s * ldk + kh * d
                            // dV += Pᵀ dO (key j's sum starts at the first query that sees it)
                            try mm(.keySuffix, transA: true, transB: false, m: s, n: d, k: t, alpha: 1, a: pbh, lda: s,
                                   b: gbh, ldb: ldq, beta: acc, c: dvh, ldc: ldk)
                            // dP = dO Vᵀ, unset past each row's last key
                            try mm(.out, transA: false, transB: true, m: t, n: s, k: d, alpha: 1, a: gbh, lda: ldq,
                                   b: vbh, ldb: ldk, beta: 0, c: dP, ldc: s)
                            // dS = P * (dP - rowsum(dP * P)) over the keys each row sees, 0 past them;
                            // the scale goes into the next products
                            for i in 0..<t {
                                let rl = causal ? min(s, i + 1 + shift) : s
                                lk_softmax_grad_row_f32(pbh + i * s, dP + i * s, dP + i * s, rl)
                                if rl < s { (dP + i * s + rl).initialize(repeating: 0, count: s - rl) }
                            }
                            // dQ = scale dS K ; dK += scale dSᵀ Q
                            try mm(.keyPrefix, transA: false, transB: false, m: t, n: d, k: s, alpha: sc, a: dP, lda: s,
                                   b: kbh, ldb: ldk, beta: 0, c: dqp + b * t * ldq + h * d, ldc: ldq)
                            try mm(.keySuffix, transA: true, transB: false, m: s, n: d, k: t, alpha: sc, a: dP, lda: s,
                                   b: qbh, ldb: ldq, beta: acc, c: dkh, ldc: ldk)
                        }
                    } catch {
                        lock.lock(); failure = failure ?? (error as? LatheError ?? LatheError("\(error)")); lock.unlock()
                    }
                }
                if let failure { throw failure }
                return [needQ ? dq : nil, needK ? dk : nil, needV ? dv : nil]
            }
        }
        return out
    }
}
