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
        try Gemm.ensureReady()
        let x2 = try Autograd.noGrad { () throws(LatheError) -> Tensor in try x.toFloat32().reshape([rows, inF]).contiguous() }
        var mask: Tensor? = nil
        var xd = x2
        if training && dropout > 0 {
            let m = Tensor(uninitialized: [rows, inF], dtype: .float32)
            let mp = m.floatPointer
            let keep = 1 / (1 - dropout)
            let threshold = UInt64(Double(dropout) * 18446744073709551615.0)
            for i in 0..<m.count { mp[i] = Runtime.rng.next() >= threshold ? keep : 0 }
            mask = m
            xd = try Autograd.noGrad { () throws(LatheError) -> Tensor in try x2 * m }
        }
        let wc = try w.toFloat32().contiguous(), ac = try a.toFloat32().contiguous(), bc = try b.toFloat32().contiguous()
        let out = Tensor(uninitialized: [rows, outF], dtype: .float32)
        let op = out.floatPointer
        var beta: Float = 0
        if let bias {
            let bp = try bias.toFloat32().contiguous().floatPointer
            for i in 0..<rows { (op + i * outF).update(from: bp, count: outF) }
            beta = 1
        }
        let T = Int32(LK_TRANS), N = Int32(LK_NO_TRANS)
        // y = x Wᵀ (+ b)
        try gemmRowMajor(N, T, Int32(rows), Int32(outF), Int32(inF), 1, x2.floatPointer, Int32(inF), wc.floatPointer, Int32(inF), beta, op, Int32(outF))
        // u = x_d Aᵀ ; y += scale u Bᵀ
        let u = Tensor(uninitialized: [rows, r], dtype: .float32)
        try gemmRowMajor(N, T, Int32(rows), Int32(r), Int32(inF), 1, xd.floatPointer, Int32(inF), ac.floatPointer, Int32(inF), 0, u.floatPointer, Int32(r))
        try gemmRowMajor(N, T, Int32(rows), Int32(outF), Int32(r), scale, u.floatPointer, Int32(r), bc.floatPointer, Int32(r), 1, op, Int32(outF))
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
                let gu = Tensor(uninitialized: [rows, r], dtype: .float32)
                try gemmRowMajor(N, N, Int32(rows), Int32(r), Int32(outF), 1, gp, Int32(outF), bc.floatPointer, Int32(r), 0, gu.floatPointer, Int32(r))
                var gx: Tensor? = nil
                if needX {
                    let d = Tensor(uninitialized: [rows, inF], dtype: .float32)
                    if let mask {
                        // the adapter path sees dropout(x): its gradient is masked, the base path's not
                        try gemmRowMajor(N, N, Int32(rows), Int32(inF), Int32(r), scale, gu.floatPointer, Int32(r), ac.floatPointer, Int32(inF), 0, d.floatPointer, Int32(inF))
                        lk_binary_f32(Int32(LK_MUL), d.floatPointer, mask.floatPointer, d.floatPointer, d.count)
                        try gemmRowMajor(N, N, Int32(rows), Int32(inF), Int32(outF), 1, gp, Int32(outF), wc.floatPointer, Int32(inF), 1, d.floatPointer, Int32(inF))
                    } else {
                        try gemmRowMajor(N, N, Int32(rows), Int32(inF), Int32(outF), 1, gp, Int32(outF), wc.floatPointer, Int32(inF), 0, d.floatPointer, Int32(inF))
                        try gemmRowMajor(N, N, Int32(rows), Int32(inF), Int32(r), scale, gu.floatPointer, Int32(r), ac.floatPointer, Int32(inF), 1, d.floatPointer, Int32(inF))
                    }
                    gx = try d.reshape(xShape)
                }
                var gw: Tensor? = nil
                if needW {
                    let t = Tensor(uninitialized: [outF, inF], dtype: .float32)
                    try gemmRowMajor(T, N, Int32(outF), Int32(inF), Int32(rows), 1, gp, Int32(outF), x2.floatPointer, Int32(inF), 0, t.floatPointer, Int32(inF))
                    gw = t
                }
                var ga: Tensor? = nil
                if needA {
                    let t = Tensor(uninitialized: [r, inF], dtype: .float32)
                    try gemmRowMajor(T, N, Int32(r), Int32(inF), Int32(rows), scale, gu.floatPointer, Int32(r), xd.floatPointer, Int32(inF), 0, t.floatPointer, Int32(inF))
                    ga = t
                }
                var gb: Tensor? = nil
                if needB {
                    let t = Tensor(uninitialized: [outF, r], dtype: .float32)
                    try gemmRowMajor(T, N, Int32(outF), Int32(r), Int32(rows), scale, gp, Int32(outF), u.floatPointer, Int32(r), 0, t.floatPointer, Int32(r))
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
