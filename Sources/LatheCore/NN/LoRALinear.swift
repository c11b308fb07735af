import CLatheCore
import Foundation

extension F {
    /// A Linear layer with a LoRA adapter as one autograd op:
    ///   y = x Wᵀ + b + scale · (x_d Aᵀ) Bᵀ,  x_d = dropout(x)
    /// The low-rank product accumulates straight into y and the backward pass runs as a few
    /// matrix products with accumulation (no separate elementwise passes); a frozen W gets no
    /// weight gradient.
    public static func loraLinear(_ x: Tensor, weight w: Tensor, bias: Tensor?, a: Tensor, b: Tensor, scale: Float,
                                  dropout: Float, training: Bool) throws(LatheError) -> Tensor {
        let inF = w.shape[1], outF = w.shape[0], r = a.shape[0]
        guard x.shape.last == inF else { throw LatheError("linear: input \(x.shapeString) does not end in \(inF) features") }
        guard a.shape == [r, inF], b.shape == [outF, r] else {
            throw LatheError("lora: A \(a.shapeString) and B \(b.shapeString) do not fit the layer [\(outF),\(inF)]")
        }
        let rows = x.count / max(inF, 1)
        let precision = Runtime.autocast
        let x2 = try Autograd.noGrad { () throws(LatheError) -> Tensor in try x.toFloat32().reshape([rows, inF]).contiguous() }
        var mask: Tensor? = nil
        var xd = x2
        if training && dropout > 0 {
            let m = try Tensor(uninitialized: [rows, inF], dtype: .float32)
            let mp = m.floatPointer
            let keep = 1 / (1 - dropout)
            let threshold = UInt64(Double(dropout) * 18446744073709551615.0)
            for i in 0..<m.count { mp[i] = Runtime.rng.next() >= threshold ? keep : 0 }
            mask = m
            xd = try Autograd.noGrad { () throws(LatheError) -> Tensor in try x2 * m }
        }
        let wc = try w.toFloat32().contiguous(), ac = try a.toFloat32().contiguous(), bc = try b.toFloat32().contiguous()
        let out = try Tensor(uninitialized: [rows, outF], dtype: .float32)
        let op = out.floatPointer
        var beta: Float = 0
        if let bias {
            let bp = try bias.toFloat32().contiguous().floatPointer
            for i in 0..<rows { (op + i * outF).update(from: bp, count: outF) }
            beta = 1
        }
        // y = x Wᵀ (+ b)
        try Gemm.gemm(transA: false, transB: true, m: rows, n: outF, k: inF, alpha: 1, a: x2.floatPointer, lda: inF, b: wc.floatPointer, ldb: inF, beta: beta, c: op, ldc: outF, precision: precision)
        // u = x_d Aᵀ ; y += scale u Bᵀ
        let u = try Tensor(uninitialized: [rows, r], dtype: .float32)
        try Gemm.gemm(transA: false, transB: true, m: rows, n: r, k: inF, alpha: 1, a: xd.floatPointer, lda: inF, b: ac.floatPointer, ldb: inF, beta: 0, c: u.floatPointer, ldc: r, precision: precision)
        try Gemm.gemm(transA: false, transB: true, m: rows, n: outF, k: r, alpha: scale, a: u.floatPointer, lda: r, b: bc.floatPointer, ldb: r, beta: 1, c: op, ldc: outF, precision: precision)
        let res = Tensor(storage: out.storage, shape: Array(x.shape.dropLast()) + [outF], dtype: .float32)
        var inputs = [x, w, a, b]
        if let bias { inputs.append(bias) }
        if Autograd.needs(inputs) {
            let needX = x.requiresGrad, needW = w.requiresGrad, needA = a.requiresGrad, needB = b.requiresGrad
            let needBias = bias?.requiresGrad ?? false, hasBias = bias != nil
            let xShape = x.shape
            res.record("lora_linear", inputs) { [x2, xd, u, wc, ac, bc, mask] g throws(LatheError) in
                let gc = try g.reshape([rows, outF]).contiguous()
                let gp = gc.floatPointer
                // gu = g B  [rows, r]
                let gu = try Tensor(uninitialized: [rows, r], dtype: .float32)
                try Gemm.gemm(transA: false, transB: false, m: rows, n: r, k: outF, alpha: 1, a: gp, lda: outF, b: bc.floatPointer, ldb: r, beta: 0, c: gu.floatPointer, ldc: r, precision: precision)
                var gx: Tensor? = nil
                if needX {
                    let d = try Tensor(uninitialized: [rows, inF], dtype: .float32)
                    if let mask {
                        // the adapter path sees dropout(x): its gradient is masked, the base path's not
                        try Gemm.gemm(transA: false, transB: false, m: rows, n: inF, k: r, alpha: scale, a: gu.floatPointer, lda: r, b: ac.floatPointer, ldb: inF, beta: 0, c: d.floatPointer, ldc: inF, precision: precision)
                        lk_binary_f32(Int32(LK_MUL), d.floatPointer, mask.floatPointer, d.floatPointer, d.count)
                        try Gemm.gemm(transA: false, transB: false, m: rows, n: inF, k: outF, alpha: 1, a: gp, lda: outF, b: wc.floatPointer, ldb: inF, beta: 1, c: d.floatPointer, ldc: inF, precision: precision)
                    } else {
                        try Gemm.gemm(transA: false, transB: false, m: rows, n: inF, k: outF, alpha: 1, a: gp, lda: outF, b: wc.floatPointer, ldb: inF, beta: 0, c: d.floatPointer, ldc: inF, precision: precision)
                        try Gemm.gemm(transA: false, transB: false, m: rows, n: inF, k: r, alpha: scale, a: gu.floatPointer, lda: r, b: ac.floatPointer, ldb: inF, beta: 1, c: d.floatPointer, ldc: inF, precision: precision)
                    }
                    gx = try d.reshape(xShape)
                }
                var gw: Tensor? = nil
                if needW {
                    let t = try Tensor(uninitialized: [outF, inF], dtype: .float32)
                    try Gemm.gemm(transA: true, transB: false, m: outF, n: inF, k: rows, alpha: 1, a: gp, lda: outF, b: x2.floatPointer, ldb: inF, beta: 0, c: t.floatPointer, ldc: inF, precision: precision)
                    gw = t
                }
                var ga: Tensor? = nil
                if needA {
                    let t = try Tensor(uninitialized: [r, inF], dtype: .float32)
                    try Gemm.gemm(transA: true, transB: false, m: r, n: inF, k: rows, alpha: scale, a: gu.floatPointer, lda: r, b: xd.floatPointer, ldb: inF, beta: 0, c: t.floatPointer, ldc: inF, precision: precision)
                    ga = t
                }
                var gb: Tensor? = nil
                if needB {
                    let t = try Tensor(uninitialized: [outF, r], dtype: .float32)
                    try Gemm.gemm(transA: true, transB: false, m: outF, n: r, k: rows, alpha: scale, a: gp, lda: outF, b: u.floatPointer, ldb: r, beta: 0, c: t.floatPointer, ldc: r, precision: precision)
                    gb = t
                }
                var grads: [Tensor?] = [gx, gw, ga, gb]
                if hasBias { grads.append(needBias ? try gc.sum(dims: [0]) : nil) }
                return grads
            }
        }
        return res
    }
}
