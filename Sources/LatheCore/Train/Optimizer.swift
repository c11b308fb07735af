import CLatheCore
import Foundation

/// SGD (momentum, Nesterov, weight decay), Adam and AdamW, updating parameters in place.
/// Only parameters that require a gradient and have one are updated; state is created on the
/// first update, so frozen parameters carry no optimizer state.
public final class Optimizer {
    public enum Kind: String, Sendable { case sgd, adam, adamw }
    public let kind: Kind
    public var lr: Float
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    public var weightDecay: Float
    public var momentum: Float = 0, dampening: Float = 0
    public var nesterov = false
    /// Glob patterns of parameter names that get no weight decay (e.g. "*bias", "*norm*").
    public var noDecay: [String] = []
    public let params: [(String, Tensor)]
    /// Per-parameter state by name: exp_avg/exp_avg_sq (Adam) or momentum_buffer (SGD), and
    /// the parameter's step count.
    public private(set) var state: [String: [String: Tensor]] = [:]
    public private(set) var steps: [String: Int] = [:]
    public private(set) var stepCount = 0

    public init(_ kind: Kind, params: [(String, Tensor)], lr: Float, weightDecay: Float? = nil) throws(LatheError) {
        if !(lr >= 0) || !lr.isFinite { throw LatheError("learning rate must be a non-negative number, got \(lr)") }
        var seen = Set<String>()
        for (n, _) in params where !seen.insert(n).inserted {
            throw LatheError("parameter '\(n)' is given twice")
        }
        self.kind = kind
        self.lr = lr
        self.params = params
        self.weightDecay = weightDecay ?? Float(Optimizer.defaultWeightDecay(kind))
    }

    /// PyTorch's defaults: lr 0.01 for SGD (torch has none; 0.01 is the common choice), 1e-3 for
    /// Adam and AdamW; weight decay 0.01 for AdamW, 0 otherwise.
    public static func defaultLR(_ kind: Kind) -> Double { kind == .sgd ? 0.01 : 1e-3 }
    public static func defaultWeightDecay(_ kind: Kind) -> Double { kind == .adamw ? 0.01 : 0 }

    public func zeroGrad() {
        for (_, p) in params { p.grad = nil }
    }

    /// Applies one update with the current gradients.
    public func step() throws(LatheError) {
        stepCount += 1
        for (name, p) in params where p.requiresGrad {
            guard let g0 = p.grad else { continue }
            guard g0.shape == p.shape else {
                throw LatheError("gradient of '\(name)' has shape \(g0.shapeString), the parameter \(p.shapeString)")
            }
            let g = try g0.contiguous()
            guard p.isContiguous, p.dtype == .float32 else { throw LatheError("parameter '\(name)' must be a contiguous float32 tensor") }
            let wd = noDecay.contains { Glob.match($0, name) } ? 0 : weightDecay
            let n = p.count
            let t = (steps[name] ?? 0) + 1
            steps[name] = t
            var st = state[name] ?? [:]
            switch kind {
            case .adam, .adamw:
                let m = try Optimizer.stateTensor(st["exp_avg"], p.shape)
                let v = try Optimizer.stateTensor(st["exp_avg_sq"], p.shape)
                st["exp_avg"] = m
                st["exp_avg_sq"] = v
                let bc1 = 1 - Foundation.pow(beta1, Float(t)), bc2 = 1 - Foundation.pow(beta2, Float(t))
                let pp = p.floatPointer, gp = g.floatPointer, mp = m.floatPointer, vp = v.floatPointer
                let (lr, b1, b2, eps, dec) = (self.lr, beta1, beta2, self.eps, kind == .adamw ? 1 : 0)
                Parallel.chunks(n, grain: 16384) { lo, hi in
                    lk_adam_step(pp + lo, gp + lo, mp + lo, vp + lo, hi - lo, lr, b1, b2, eps, wd, Int32(dec), bc1, bc2)
                }
            case .sgd:
                var buf: Tensor? = nil
                if momentum != 0 {
                    buf = try Optimizer.stateTensor(st["momentum_buffer"], p.shape)
                    st["momentum_buffer"] = buf
                }
                let first = t == 1 ? 1 : 0
                let pp = p.floatPointer, gp = g.floatPointer, bp = buf?.floatPointer
                let (lr, mom, damp, nest) = (self.lr, momentum, dampening, nesterov ? 1 : 0)
                Parallel.chunks(n, grain: 16384) { lo, hi in
                    lk_sgd_step(pp + lo, gp + lo, bp.map { $0 + lo }, hi - lo, lr, mom, damp, wd, Int32(nest), Int32(first))
                }
            }
            state[name] = st
        }
    }

    /// Flat state for checkpoints: "name/exp_avg" -> tensor, plus step counts.
    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, st) in state { for (k, t) in st { out[name + "/" + k] = t } }
        return out
    }

    public func loadState(tensors: [String: Tensor], steps: [String: Int], stepCount: Int) throws(LatheError) {
        var newState: [String: [String: Tensor]] = [:]
        let shapes = Dictionary(params.map { ($0.0, $0.1.shape) }, uniquingKeysWith: { a, _ in a })
        for (key, t) in tensors {
            guard let slash = key.lastIndex(of: "/") else { throw LatheError("optimizer state entry '\(key)' is malformed") }
            let name = String(key[..<slash]), k = String(key[key.index(after: slash)...])
            guard let shape = shapes[name] else { throw LatheError("optimizer state for '\(name)', which this model does not have") }
            guard t.shape == shape else { throw LatheError("optimizer state '\(key)' has shape \(t.shapeString), the parameter \(Tensor.shapeString(shape))") }
            newState[name, default: [:]][k] = try t.toFloat32().contiguous(copy: true)
        }
        state = newState
        self.steps = steps
        self.stepCount = stepCount
    }

    /// Scales all gradients so their global L2 norm is at most maxNorm; returns the norm
    /// before clipping.
    @discardableResult
    public static func clipGradNorm(_ params: [(String, Tensor)], maxNorm: Float) throws(LatheError) -> Double {
        let total = try gradNorm(params)
        if maxNorm > 0 && total.isFinite && total > Double(maxNorm) {
            let s = Float(Double(maxNorm) / (total + 1e-6))
            for (_, p) in params {
                guard let g = p.grad else { continue }
                let gc = g.isContiguous ? g : try g.contiguous(copy: true)
                try gc.scaleInPlace(s)
                p.grad = gc
            }
        }
        return total
    }

    /// An optimizer state tensor: the existing one, or zeros of the parameter's shape.
    static func stateTensor(_ t: Tensor?, _ shape: [Int]) throws(LatheError) -> Tensor {
        if let t { return t }
        return try Tensor.full(shape, 0)
    }

    public static func gradNorm(_ params: [(String, Tensor)]) throws(LatheError) -> Double {
        var ss = 0.0
        for (_, p) in params {
            guard let g = p.grad else { continue }
            let gc = try g.contiguous()
            ss += lk_sumsq_f32(gc.floatPointer, gc.count)
        }
        return ss.squareRoot()
    }
}
