import Foundation

/// A layer computing y = x Wᵀ (+ b) that LoRA can adapt: `Linear` (float32 weights) or
/// `QuantLinear` (frozen ggml blocks, dequantized inside the product).
public protocol LoRAHost: Module {
    var inFeatures: Int { get }
    var outFeatures: Int { get }
    var lora: LoRAAdapter? { get }
    var bias: Tensor? { get }
    func attachLoRA(_ adapter: LoRAAdapter)
    func detachLoRA()
    /// The weight as a float32 [out, in] tensor (a new dequantized copy for quantized layers;
    /// the parameter itself for Linear), without any adapter folded in.
    func denseWeight() throws(LatheError) -> Tensor
}

extension LoRAHost {
    /// Adds the (unmerged) adapter's contribution to a base output.
    func addLoRA(_ y: Tensor, _ x: Tensor) throws(LatheError) -> Tensor {
        guard let a = lora, !a.merged else { return y }
        var h = x
        if training && a.dropout > 0 { h = try F.dropout(h, p: a.dropout, rng: &Runtime.rng) }
        let low = try Tensor.linear(h, a.a, nil)
        let up = try Tensor.linear(low, a.b, nil)
        return try y + up.mulScalar(Double(a.scale))
    }
}

/// y = x Wᵀ + b, with an optional LoRA adapter: y += (alpha/r) · B(A(dropout(x))).
public final class Linear: Module, LoRAHost {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public private(set) var lora: LoRAAdapter?

    public init(_ inF: Int, _ outF: Int, bias: Bool = true, rng: inout RandomGenerator) throws(LatheError) {
        if inF <= 0 || outF <= 0 { throw LatheError("linear: sizes must be positive, got \(inF) -> \(outF)") }
        inFeatures = inF
        outFeatures = outF
        weight = try Init.linear(out: outF, in: inF, rng: &rng)
        let bnd = 1 / Float(inF).squareRoot()
        self.bias = bias ? try Init.uniform([outF], -bnd, bnd, rng: &rng) : nil
        super.init()
        param("weight", weight)
        if let b = self.bias { param("bias", b) }
    }

    override public var typeName: String { lora == nil ? "Linear" : "Linear+LoRA" }
    override public var details: String {
        "\(inFeatures) -> \(outFeatures)" + (bias == nil ? ", no bias" : "") + (lora.map { ", lora r=\($0.r)\($0.merged ? " (merged)" : "")" } ?? "")
    }

    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        let x = inputs[0]
        guard x.shape.last == inFeatures else {
            throw LatheError("linear: input \(x.shapeString) does not end in \(inFeatures) features")
        }
        if let a = lora, !a.merged {
            return try F.loraLinear(x, weight: weight, bias: bias, a: a.a, b: a.b, scale: a.scale, dropout: a.dropout, training: training)
        }
        return try Tensor.linear(x, weight, bias)
    }

    public func denseWeight() throws(LatheError) -> Tensor { weight }

    /// Attaches a LoRA adapter (replacing any previous one).
    public func attachLoRA(_ adapter: LoRAAdapter) {
        lora = adapter
        register("lora_A", adapter.aModule)
        register("lora_B", adapter.bModule)
    }

    public func detachLoRA() {
        lora = nil
        removeChildren(["lora_A", "lora_B"])
    }
}

extension Module {
    func removeChildren(_ names: [String]) {
        // rebuild without the named children (Module keeps children private-set)
        let keep = children.filter { !names.contains($0.0) }
        resetChildren(keep)
    }
}

/// A parameter holder used for LoRA's A and B matrices so their paths read
/// `...q_proj.lora_A.weight` as in PEFT.
public final class WeightHolder: Module {
    public let weight: Tensor
    public init(_ w: Tensor) {
        weight = w
        super.init()
        param("weight", w)
    }
    override public var typeName: String { "LoRA" }
}

/// A LoRA adapter of one Linear layer.
public final class LoRAAdapter {
    public let r: Int
    public let alpha: Float
    public let dropout: Float
    public var scale: Float { alpha / Float(r) }
    public let a: Tensor   // [r, in]
    public let b: Tensor   // [out, r]
    public internal(set) var merged = false
    let aModule: WeightHolder
    let bModule: WeightHolder

    /// A initialized as PEFT does (kaiming_uniform with a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))),
    /// B zero, so the adapted layer starts equal to the base layer.
    public init(inFeatures: Int, outFeatures: Int, r: Int, alpha: Float, dropout: Float, rng: inout RandomGenerator) throws(LatheError) {
        self.r = r
        self.alpha = alpha
        self.dropout = dropout
        a = try Init.linear(out: r, in: inFeatures, rng: &rng)
        b = try Tensor.zeros([outFeatures, r])
        aModule = WeightHolder(a)
        bModule = WeightHolder(b)
    }
}

public final class Embedding: Module {
    public let weight: Tensor
    public let count: Int, dim: Int

    public init(_ count: Int, _ dim: Int, std: Float = 1, rng: inout RandomGenerator) throws(LatheError) {
        if count <= 0 || dim <= 0 { throw LatheError("embedding: sizes must be positive, got \(count) x \(dim)") }
        self.count = count
        self.dim = dim
        weight = try Init.normal([count, dim], std: std, rng: &rng)
        super.init()
        param("weight", weight)
    }
    override public var details: String { "\(count) x \(dim)" }

    /// Looks up 0-based ids (int64, any shape) -> shape + [dim].
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        let ids = inputs[0]
        guard ids.dtype == .int64 else { throw LatheError("embedding: ids must be int64 (0-based), got \(ids.dtype.rawValue)") }
        return try weight.embedding(ids)
    }
}

public final class LayerNorm: Module {
    public let weight: Tensor?, bias: Tensor?
    public let eps: Float
    public let dim: Int
    public init(_ dim: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true) throws(LatheError) {
        self.dim = dim
        self.eps = eps
        weight = affine ? try Tensor.full([dim], 1) : nil
        self.bias = affine && bias ? try Tensor.full([dim], 0) : nil
        super.init()
        if let w = weight { param("weight", w) }
        if let b = self.bias { param("bias", b) }
    }
    override public var details: String { "\(dim), eps=\(eps)" }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        try F.layerNorm(inputs[0], weight: weight, bias: bias, eps: eps)
    }
}

public final class RMSNorm: Module {
    public let weight: Tensor
    public let eps: Float
    public let dim: Int
    public init(_ dim: Int, eps: Float = 1e-6) throws(LatheError) {
        self.dim = dim
        self.eps = eps
        weight = try Tensor.full([dim], 1)
        super.init()
        param("weight", weight)
    }
    override public var details: String { "\(dim), eps=\(eps)" }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        try F.rmsNorm(inputs[0], weight: weight, eps: eps)
    }
}

public final class Dropout: Module {
    public let p: Float
    public init(_ p: Float) throws(LatheError) {
        if p < 0 || p >= 1 { throw LatheError("dropout: probability must be in [0, 1), got \(p)") }
        self.p = p
        super.init()
    }
    override public var details: String { "p=\(p)" }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        training && p > 0 ? try F.dropout(inputs[0], p: p, rng: &Runtime.rng) : inputs[0]
    }
}

public enum ActivationKind: String, CaseIterable, Sendable {
    case relu, gelu, geluTanh = "gelu_tanh", silu, tanh, sigmoid

    /// The kind a Hugging Face config's `hidden_act` / `activation_function` names, or nil.
    public static func huggingFace(_ name: String) -> ActivationKind? {
        switch name {
        case "relu": return .relu
        case "gelu": return .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
        case "silu", "swish": return .silu
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        default: return nil
        }
    }
    public func apply(_ x: Tensor) throws(LatheError) -> Tensor {
        switch self {
        case .relu: return try x.relu()
        case .gelu: return try x.gelu(approximate: false)
        case .geluTanh: return try x.gelu(approximate: true)
        case .silu: return try x.silu()
        case .tanh: return try x.tanh()
        case .sigmoid: return try x.sigmoid()
        }
    }
}

public final class Activation: Module {
    public let kind: ActivationKind
    public init(_ kind: ActivationKind) { self.kind = kind }
    override public var typeName: String { kind.rawValue.uppercased() }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor { try kind.apply(inputs[0]) }
}

/// Runs modules in order (each takes the previous output).
public final class Sequential: Module {
    public private(set) var items: [Module] = []
    public init(_ items: [Module]) {
        super.init()
        for (i, m) in items.enumerated() { register(String(i), m) }
        self.items = items
    }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        var x = inputs[0]
        for m in items { x = try m.forward([x]) }
        return x
    }
}

/// A feed-forward block: down(act(up(x))), or SwiGLU: down(silu(gate(x)) * up(x)).
public final class FeedForward: Module {
    /// The projections (Linear, or QuantLinear after a quantized load).
    public private(set) var up: Module, down: Module, gate: Module?
    public let act: ActivationKind
    public let dropout: Float
    let names: (gate: String, up: String, down: String)

    public init(dim: Int, hidden: Int, act: ActivationKind, gated: Bool, bias: Bool, dropout: Float = 0,
                names: (gate: String, up: String, down: String) = ("gate_proj", "up_proj", "down_proj"),
                rng: inout RandomGenerator) throws(LatheError) {
        self.act = act
        self.dropout = dropout
        gate = gated ? try Linear(dim, hidden, bias: bias, rng: &rng) : nil
        up = try Linear(dim, hidden, bias: bias, rng: &rng)
        down = try Linear(hidden, dim, bias: bias, rng: &rng)
        self.names = names
        super.init()
        if let gate { register(names.gate, gate) }
        register(names.up, up)
        register(names.down, down)
    }
    override public var typeName: String { gate == nil ? "MLP" : "SwiGLU" }
    override public func didReplaceChild(_ name: String, with m: Module) {
        if name == names.up { up = m } else if name == names.down { down = m } else if name == names.gate { gate = m }
    }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        let x = inputs[0]
        var h: Tensor
        if let gate {
            h = try act.apply(gate(x)) * up(x)
        } else {
            h = try act.apply(up(x))
        }
        if training && dropout > 0 { h = try F.dropout(h, p: dropout, rng: &Runtime.rng) }
        return try down(h)
    }
}
