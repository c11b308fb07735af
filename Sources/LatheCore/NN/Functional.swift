import CLatheCore
import Foundation

/// Fused neural-network operations with their own backward passes (fewer passes over memory
/// than composing tensor ops).
public enum F {
    // MARK: - normalization

    /// LayerNorm over the last dimension, with optional affine weight and bias.
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws(LatheError) -> Tensor {
        guard let n = x.shape.last, n > 0 else { throw LatheError("layer_norm: input \(x.shapeString) has no last dimension to normalize") }
        if let weight, weight.shape != [n] { throw LatheError("layer_norm: weight shape \(weight.shapeString) does not match the last dimension \(n) of the input \(x.shapeString)") }
        if let bias, bias.shape != [n] { throw LatheError("layer_norm: bias shape \(bias.shapeString) does not match the last dimension \(n)") }
        let xc = try x.toFloat32().contiguous()
        let rows = xc.count / n
        let out = try Tensor(uninitialized: x.shape, dtype: .float32)
        let stats = try Tensor(uninitialized: [rows, 2], dtype: .float32)
        let wp = try weight.map { w throws(LatheError) in try w.toFloat32().contiguous() }
        let bp = try bias.map { b throws(LatheError) in try b.toFloat32().contiguous() }
        let xs = xc.floatPointer, ys = out.floatPointer, st = stats.floatPointer
        let wptr = wp?.floatPointer, bptr = bp?.floatPointer
        Parallel.forEach(rows, costPerItem: n * 4) { r in
            lk_layernorm_row(xs + r * n, wptr, bptr, ys + r * n, n, eps, st + 2 * r, st + 2 * r + 1)
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        if Autograd.needs(inputs) {
            let needX = x.requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
            let hasW = weight != nil, hasB = bias != nil
            // the closure keeps the buffers its pointers point into alive
            out.record("layer_norm", inputs) { [xc, stats, wp, bp] g throws(LatheError) in
                _ = (xc, stats, wp, bp)
                let gc = try g.contiguous()
                let dx = try Tensor(uninitialized: xc.shape, dtype: .float32)
                let parts = max(1, min(Runtime.threads, rows))
                // per-thread partial sums for dw/db, reduced at the end
                let partial = try Tensor.full([parts, 2, n], 0)
                let gp = gc.floatPointer, dxp = dx.floatPointer, pp = partial.floatPointer
                Parallel.forEach(parts, costPerItem: rows * n * 4 / parts) { part in
                    let lo = rows * part / parts, hi = rows * (part + 1) / parts
                    let dw = (needW ? pp + part * 2 * n : nil), db = (needB ? pp + part * 2 * n + n : nil)
                    for r in lo..<hi {
                        lk_layernorm_grad_row(xs + r * n, wptr, gp + r * n, st[2 * r], st[2 * r + 1], dxp + r * n, dw, db, n)
                    }
                }
                var grads: [Tensor?] = [needX ? dx : nil]
                let sums = (needW || needB) ? try partial.sum(dims: [0]) : nil
                if hasW { grads.append(needW ? try sums!.select(0, 0).contiguous() : nil) }
                if hasB { grads.append(needB ? try sums!.select(0, 1).contiguous() : nil) }
                return grads
            }
        }
        return out
    }

    /// RMSNorm over the last dimension: x / sqrt(mean(x^2) + eps) * weight.
    public static func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float = 1e-6) throws(LatheError) -> Tensor {
        guard let n = x.shape.last, n > 0 else { throw LatheError("rms_norm: input \(x.shapeString) has no last dimension to normalize") }
        if let weight, weight.shape != [n] { throw LatheError("rms_norm: weight shape \(weight.shapeString) does not match the last dimension \(n) of the input \(x.shapeString)") }
        let xc = try x.toFloat32().contiguous()
        let rows = xc.count / n
        let out = try Tensor(uninitialized: x.shape, dtype: .float32)
        let rr = try Tensor(uninitialized: [rows], dtype: .float32)
        let wp = try weight.map { w throws(LatheError) in try w.toFloat32().contiguous() }
        let xs = xc.floatPointer, ys = out.floatPointer, rp = rr.floatPointer, wptr = wp?.floatPointer
        Parallel.forEach(rows, costPerItem: n * 3) { r in lk_rmsnorm_row(xs + r * n, wptr, ys + r * n, n, eps, rp + r) }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if Autograd.needs(inputs) {
            let needX = x.requiresGrad, needW = weight?.requiresGrad ?? false, hasW = weight != nil
            out.record("rms_norm", inputs) { [xc, rr, wp] g throws(LatheError) in
                _ = (xc, rr, wp)
                let gc = try g.contiguous()
                let dx = try Tensor(uninitialized: xc.shape, dtype: .float32)
                let parts = max(1, min(Runtime.threads, rows))
                let partial = try Tensor.full([parts, n], 0)
                let gp = gc.floatPointer, dxp = dx.floatPointer, pp = partial.floatPointer
                Parallel.forEach(parts, costPerItem: rows * n * 3 / parts) { part in
                    let lo = rows * part / parts, hi = rows * (part + 1) / parts
                    for r in lo..<hi {
                        lk_rmsnorm_grad_row(xs + r * n, wptr, gp + r * n, rp[r], dxp + r * n, needW ? pp + part * n : nil, n)
                    }
                }
                var grads: [Tensor?] = [needX ? dx : nil]
                if hasW { grads.append(needW ? try partial.sum(dims: [0]) : nil) }
                return grads
            }
        }
        return out
    }

    // MARK: - losses

    /// Mean cross-entropy of logits [N, C] (or [..., C]) against 0-based class ids [N] (or
    /// [...]), skipping targets equal to `ignoreIndex`, with optional label smoothing and
    /// per-class weights (PyTorch's semantics: the weighted mean divides by the sum of the
    /// weights of the counted targets). reduction: "mean", "sum" or "none".
    public static func crossEntropy(_ logits: Tensor, _ targets: Tensor, ignoreIndex: Int = -100,
                                    labelSmoothing: Float = 0, weight: Tensor? = nil,
                                    reduction: String = "mean") throws(LatheError) -> Tensor {
        guard let c = logits.shape.last, logits.rank >= 1 else {
            throw LatheError("cross_entropy: logits must have a class dimension, got \(logits.shapeString)")
        }
        let rows = logits.count / max(c, 1)
        guard targets.count == rows, Array(logits.shape.dropLast()) == targets.shape || targets.rank == 1 && targets.count == rows else {
            throw LatheError("cross_entropy: targets \(targets.shapeString) do not match logits \(logits.shapeString) (expected \(Tensor.shapeString(Array(logits.shape.dropLast()))))")
        }
        guard targets.dtype == .int64 else {
            throw LatheError("cross_entropy: targets must be int64 class ids (0-based), got \(targets.dtype.rawValue)")
        }
        if labelSmoothing < 0 || labelSmoothing > 1 { throw LatheError("cross_entropy: label_smoothing must be in [0, 1], got \(labelSmoothing)") }
        if let weight, weight.shape != [c] { throw LatheError("cross_entropy: weight shape \(weight.shapeString) does not match \(c) classes") }
        guard ["mean", "sum", "none"].contains(reduction) else { throw LatheError("cross_entropy: reduction must be \"mean\", \"sum\" or \"none\", got \"\(reduction)\"") }
        let lc = try logits.toFloat32().contiguous()
        let tc = try targets.contiguous()
        let tp = tc.int64Pointer
        for i in 0..<rows {
            let t = tp[i]
            if t != Int64(ignoreIndex) && (t < 0 || t >= Int64(c)) {
                throw LatheError("cross_entropy: target \(t) at position \(i + 1) is outside the class ids 0..\(c - 1)")
            }
        }
        let wc = try weight.map { w throws(LatheError) in try w.toFloat32().contiguous() }
        let wptr = wc?.floatPointer
        var denom: Double = 0
        for i in 0..<rows where tp[i] != Int64(ignoreIndex) { denom += wptr.map { Double($0[Int(tp[i])]) } ?? 1 }
        let losses = try Tensor.full([rows], 0)
        let lp = lc.floatPointer, op = losses.floatPointer
        Parallel.forEach(rows, costPerItem: c * 4) { i in
            let t = tp[i]
            if t == Int64(ignoreIndex) { return }
            let w = wptr.map { $0[Int(t)] } ?? 1
            op[i] = w * lk_xent_row(lp + i * c, c, Int(t), labelSmoothing, nil, 1)
        }
        let out: Tensor
        let gradScaleBase: Double
        switch reduction {
        case "none":
            out = try losses.reshape(Array(logits.shape.dropLast()))
            gradScaleBase = 1
        case "sum":
            out = Tensor(floats: [Float(losses.toDoubleArray().reduce(0, +))], shape: [])
            gradScaleBase = 1
        default:
            let s = lk_sum_f64acc(op, rows)
            out = Tensor(floats: [denom > 0 ? Float(s / denom) : .nan], shape: [])
            gradScaleBase = denom > 0 ? 1 / denom : .nan
        }
        if Autograd.needs(logits) {
            let shape = logits.shape
            out.record("cross_entropy", [logits]) { [lc, tc, wc] g throws(LatheError) in
                _ = (lc, tc, wc)
                let gc = try g.contiguous()
                let grad = try Tensor.full([rows, c], 0)
                let gp = grad.floatPointer, gg = gc.floatPointer
                Parallel.forEach(rows, costPerItem: c * 4) { i in
                    let t = tp[i]
                    if t == Int64(ignoreIndex) { return }
                    let w = wptr.map { $0[Int(t)] } ?? 1
                    let upstream = reduction == "none" ? gg[i] : gg[0]
                    _ = lk_xent_row(lp + i * c, c, Int(t), labelSmoothing, gp + i * c, Float(gradScaleBase) * w * upstream)
                }
                return [try grad.reshape(shape)]
            }
        }
        return out
    }

    /// Mean squared error.
    public static func mse(_ pred: Tensor, _ target: Tensor) throws(LatheError) -> Tensor {
        guard pred.shape == target.shape || Tensor.broadcastShape(pred.shape, target.shape) == pred.shape else {
            throw LatheError("mse: prediction \(pred.shapeString) and target \(target.shapeString) do not match")
        }
        let d = try pred - target.toFloat32()
        return try (d * d).mean()
    }

    /// Binary cross-entropy on logits, computed stably: max(x,0) - x*y + log(1 + exp(-|x|)).
    public static func bceWithLogits(_ logits: Tensor, _ targets: Tensor, posWeight: Tensor? = nil) throws(LatheError) -> Tensor {
        guard logits.shape == targets.shape else {
            throw LatheError("bce_with_logits: logits \(logits.shapeString) and targets \(targets.shapeString) do not match")
        }
        let y = try targets.toFloat32()
        let x = logits
        // softplus(-x) = log(1 + exp(-x)); loss = (1 - y) x + (1 + (pw - 1) y) softplus(-x)
        let sp = try x.neg().unary(.softplus)
        var loss: Tensor
        if let pw = posWeight {
            let coef = try (y * (pw.toFloat32().addScalar(-1))).addScalar(1)
            loss = try y.rsubScalar(1) * x + coef * sp
        } else {
            loss = try y.rsubScalar(1) * x + sp
        }
        loss = try loss.mean()
        return loss
    }

    // MARK: - dropout

    /// Zeroes elements with probability p and scales the rest by 1/(1-p) (training only).
    public static func dropout(_ x: Tensor, p: Float, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        if p <= 0 { return x }
        if p >= 1 { return try x.mulScalar(0) }
        let n = x.count
        let mask = try Tensor(uninitialized: x.shape, dtype: .float32)
        let mp = mask.floatPointer
        let keep = 1 / (1 - p)
        let threshold = UInt64(Double(p) * 18446744073709551615.0)
        for i in 0..<n { mp[i] = rng.next() >= threshold ? keep : 0 }
        return try x * mask
    }

    // MARK: - rotary positions

    /// Rotary inverse frequencies, computed in float32 exactly as Hugging Face transformers
    /// does (`1 / theta ** (arange(0, dim, 2) / dim)`, then the `llama3` or `linear` rescaling of
    /// `rope_parameters`), so the tables match the reference to the last bit or so.
    public static func ropeInverseFrequencies(headDim: Int, theta: Double, scaling: RopeScaling? = nil) -> [Float] {
        let half = headDim / 2
        var inv = (0..<half).map { i -> Float in 1 / powf(Float(theta), Float(2 * i) / Float(headDim)) }
        guard let sc = scaling else { return inv }
        let factor = Float(sc.factor)
        switch sc.kind {
        case .linear:
            inv = inv.map { $0 / factor }
        case .llama3:
            let old = Double(sc.originalMaxPositions)
            let lowWavelen = Float(old / sc.lowFreqFactor), highWavelen = Float(old / sc.highFreqFactor)
            let twoPi = Float(2 * Double.pi)
            inv = inv.map { f in
                let wavelen = twoPi / f
                let scaled = wavelen > lowWavelen ? f / factor : f
                let medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen)
                if !medium { return scaled }
                let smooth = (Float(old) / wavelen - Float(sc.lowFreqFactor)) / Float(sc.highFreqFactor - sc.lowFreqFactor)
                return (1 - smooth) * scaled / factor + smooth * scaled
            }
        }
        return inv
    }

    /// cos/sin tables [maxPositions, headDim] for rotary embeddings, HF rotate_half layout
    /// (frequencies repeated for the two halves); angles are float32 products position x
    /// frequency, as in transformers.
    public static func ropeTables(headDim: Int, maxPositions: Int, theta: Double, scaling: RopeScaling? = nil) throws(LatheError) -> (Tensor, Tensor) {
        let half = headDim / 2
        let inv = ropeInverseFrequencies(headDim: headDim, theta: theta, scaling: scaling)
        let cosT = try Tensor(uninitialized: [maxPositions, headDim], dtype: .float32)
        let sinT = try Tensor(uninitialized: [maxPositions, headDim], dtype: .float32)
        let cp = cosT.floatPointer, sp = sinT.floatPointer
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Double(Float(p) * inv[i])
                let c = Float(Foundation.cos(angle)), s = Float(Foundation.sin(angle))
                cp[p * headDim + i] = c
                cp[p * headDim + i + half] = c
                sp[p * headDim + i] = s
                sp[p * headDim + i + half] = s
            }
        }
        return (cosT, sinT)
    }

    /// Applies rotary embeddings to x [B, T, H, D] (contiguous last two dims) for positions
    /// offset..offset+T-1: out = x*cos + rotate_half(x)*sin.
    public static func rope(_ x: Tensor, cos: Tensor, sin: Tensor, offset: Int) throws(LatheError) -> Tensor {
        guard x.rank == 4 else { throw LatheError("rope: input must be [batch, seq, heads, head_dim], got \(x.shapeString)") }
        let (b, t, h, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard d % 2 == 0, cos.shape.count == 2, cos.shape[1] == d else { throw LatheError("rope: head_dim \(d) does not match the rotary tables \(cos.shapeString)") }
        guard offset + t <= cos.shape[0] else {
            throw LatheError("rope: positions up to \(offset + t) exceed the model's maximum of \(cos.shape[0])")
        }
        let xc = try x.contiguous()
        let out = try Tensor(uninitialized: x.shape, dtype: .float32)
        let half = d / 2
        let cp = cos.floatPointer, sp = sin.floatPointer
        func apply(_ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>, sign: Float) {
            Parallel.forEach(b * t, costPerItem: h * d * 2) { bt in
                let pos = offset + bt % t
                let c = cp + pos * d, s = sp + pos * d
                for hh in 0..<h {
                    let xi = src + (bt * h + hh) * d, yi = dst + (bt * h + hh) * d
                    for i in 0..<half {
                        let a = xi[i], bb = xi[i + half]
                        yi[i] = a * c[i] - sign * bb * s[i]
                        yi[i + half] = bb * c[i + half] + sign * a * s[i + half]
                    }
                }
            }
        }
        apply(xc.floatPointer, out.floatPointer, sign: 1)
        if Autograd.needs(x) {
            out.record("rope", [x]) { g throws(LatheError) in
                let gc = try g.contiguous()
                let dx = try Tensor(uninitialized: gc.shape, dtype: .float32)
                apply(gc.floatPointer, dx.floatPointer, sign: -1)
                return [dx]
            }
        }
        return out
    }
}
