import Foundation

/// Key/value cache of one attention layer for incremental decoding: [1, maxLen, kvHeads*D].
public final class KVCache {
    public let k: Tensor, v: Tensor
    public var length = 0
    public init(maxLength: Int, width: Int) throws(LatheError) {
        k = try Tensor(uninitialized: [1, maxLength, width], dtype: .float32)
        v = try Tensor(uninitialized: [1, maxLength, width], dtype: .float32)
    }
}

/// Multi-head (or grouped-query) self-attention with separate q/k/v/o projections (or one
/// fused q|k|v projection, GPT-2's `c_attn`), causal or bidirectional, optional rotary
/// positions and padding mask.
public final class SelfAttention: Module {
    public let dim: Int, heads: Int, kvHeads: Int, headDim: Int
    public let causal: Bool
    /// The projections: Linear layers, or QuantLinear after a quantized load. Either q, k, v
    /// are set, or qkv (fused: its output is q, then k, then v).
    public private(set) var q: Module?, k: Module?, v: Module?, qkv: Module?
    public private(set) var o: Module
    public var rope: (cos: Tensor, sin: Tensor)?
    public let dropout: Float
    let names: Names

    public struct Names: Sendable {
        public var q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj", qkv = "c_attn"
        public init(q: String = "q_proj", k: String = "k_proj", v: String = "v_proj", o: String = "o_proj", qkv: String = "c_attn") {
            self.q = q; self.k = k; self.v = v; self.o = o; self.qkv = qkv
        }
    }

    /// `bias` sets the q/k/v biases (and o's unless `oBias` is given); `fused` makes one q|k|v
    /// projection named `names.qkv`.
    public init(dim: Int, heads: Int, kvHeads: Int? = nil, headDim: Int? = nil, causal: Bool, bias: Bool,
                oBias: Bool? = nil, dropout: Float = 0, fused: Bool = false, names: Names = Names(),
                rng: inout RandomGenerator) throws(LatheError) {
        let kvh = kvHeads ?? heads
        let hd = headDim ?? (dim / max(heads, 1))
        guard heads > 0, kvh > 0, heads % kvh == 0 else {
            throw LatheError("attention: heads (\(heads)) must be a positive multiple of kv_heads (\(kvh))")
        }
        guard headDim != nil || dim % heads == 0 else {
            throw LatheError("attention: dim \(dim) is not divisible by \(heads) heads")
        }
        guard hd > 0 else { throw LatheError("attention: head_dim must be positive, got \(hd)") }
        self.dim = dim
        self.heads = heads
        self.kvHeads = kvh
        self.headDim = hd
        self.causal = causal
        self.dropout = dropout
        self.names = names
        if fused {
            qkv = try Linear(dim, (heads + 2 * kvh) * hd, bias: bias, rng: &rng)
        } else {
            q = try Linear(dim, heads * hd, bias: bias, rng: &rng)
            k = try Linear(dim, kvh * hd, bias: bias, rng: &rng)
            v = try Linear(dim, kvh * hd, bias: bias, rng: &rng)
        }
        o = try Linear(heads * hd, dim, bias: oBias ?? bias, rng: &rng)
        super.init()
        if let qkv {
            register(names.qkv, qkv)
        } else if let q, let k, let v {
            register(names.q, q)
            register(names.k, k)
            register(names.v, v)
        }
        register(names.o, o)
    }

    /// Rotary positions on q and k for up to `maxPositions` tokens (Llama's rotate_half layout).
    public func useRotary(maxPositions: Int, theta: Double) throws(LatheError) {
        let t = try F.ropeTables(headDim: headDim, maxPositions: maxPositions, theta: theta)
        rope = (t.0, t.1)
    }

    override public var typeName: String { "Attention" }
    override public var details: String {
        "\(heads) heads" + (kvHeads != heads ? ", \(kvHeads) kv heads" : "") + ", head_dim \(headDim)" + (causal ? ", causal" : "") + (rope != nil ? ", rotary" : "") + (qkv != nil ? ", fused qkv" : "")
    }

    override public func didReplaceChild(_ name: String, with m: Module) {
        if qkv != nil && name == names.qkv { qkv = m }
        else if name == names.q { q = m } else if name == names.k { k = m } else if name == names.v { v = m }
        else if name == names.o { o = m }
    }

    /// The q, k, v projections of x: [B, T, heads*D], [B, T, kvHeads*D] twice.
    func project(_ x: Tensor) throws(LatheError) -> (Tensor, Tensor, Tensor) {
        if let q, let k, let v { return (try q(x), try k(x), try v(x)) }
        guard let qkv else { throw LatheError("attention: no query/key/value projections") }
        let y = try qkv(x)
        let qw = heads * headDim, kw = kvHeads * headDim
        return (try y.narrow(2, 0, qw), try y.narrow(2, qw, kw), try y.narrow(2, qw + kw, kw))
    }

    /// x: [B, T, dim]; keyMask [B, T] (1 = token, 0 = padding); cache for decoding.
    public func forward(_ x: Tensor, keyMask: Tensor?, cache: KVCache?) throws(LatheError) -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        var (qh, kh, vh) = try project(x)
        let offset = cache?.length ?? 0
        if let rope {
            qh = try F.rope(qh.contiguous().reshape([b, t, heads, headDim]), cos: rope.cos, sin: rope.sin, offset: offset).reshape([b, t, heads * headDim])
            kh = try F.rope(kh.contiguous().reshape([b, t, kvHeads, headDim]), cos: rope.cos, sin: rope.sin, offset: offset).reshape([b, t, kvHeads * headDim])
        }
        var keys = kh, values = vh
        if let cache {
            guard b == 1 else { throw LatheError("attention: the key/value cache decodes one sequence at a time") }
            guard offset + t <= cache.k.shape[1] else {
                throw LatheError("attention: sequence of \(offset + t) tokens exceeds the cache of \(cache.k.shape[1])")
            }
            try Autograd.noGrad { () throws(LatheError) in
                try cache.k.narrow(1, offset, t).assign(kh)
                try cache.v.narrow(1, offset, t).assign(vh)
            }
            cache.length = offset + t
            keys = try cache.k.narrow(1, 0, offset + t)
            values = try cache.v.narrow(1, 0, offset + t)
        }
        var a = try F.attention(qh, keys, values, heads: heads, kvHeads: kvHeads, causal: causal, keyMask: cache == nil ? keyMask : nil)
        if training && dropout > 0 { a = try F.dropout(a, p: dropout, rng: &Runtime.rng) }
        return try o(a)
    }

    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        try forward(inputs[0], keyMask: inputs.count > 1 ? inputs[1] : nil, cache: nil)
    }
}

/// How a transformer block is wired and named.
public struct BlockStyle: Sendable {
    public enum Norm: String, Sendable {
        case layer, rms
        /// The epsilon GPT-2 (LayerNorm, 1e-5) and Llama (RMSNorm, 1e-6) use.
        public var defaultEps: Float { self == .rms ? 1e-6 : 1e-5 }
    }
    public var norm: Norm = .layer
    public var normEps: Float = 1e-5
    public var preNorm = true
    public var attnNorm = "attn_norm", mlpNorm = "mlp_norm", attn = "attn", mlp = "mlp"
    public var attnNames = SelfAttention.Names()
    public var mlpNames: (gate: String, up: String, down: String) = ("gate_proj", "up_proj", "down_proj")
    public init() {}
}

/// A transformer block: pre-norm (x + attn(norm(x)); h + mlp(norm(h))) or post-norm
/// (norm(x + attn(x)); norm(h + mlp(h)), as BERT).
public final class Block: Module {
    public let attn: SelfAttention
    public let mlp: FeedForward
    public let norm1: Module, norm2: Module
    public let preNorm: Bool
    public let residDropout: Float

    public init(attn: SelfAttention, mlp: FeedForward, style: BlockStyle, dim: Int, dropout: Float) throws(LatheError) {
        self.attn = attn
        self.mlp = mlp
        preNorm = style.preNorm
        residDropout = dropout
        norm1 = style.norm == .layer ? try LayerNorm(dim, eps: style.normEps) : try RMSNorm(dim, eps: style.normEps)
        norm2 = style.norm == .layer ? try LayerNorm(dim, eps: style.normEps) : try RMSNorm(dim, eps: style.normEps)
        super.init()
        register(style.attnNorm, norm1)
        register(style.attn, attn)
        register(style.mlpNorm, norm2)
        register(style.mlp, mlp)
    }

    func drop(_ x: Tensor) throws(LatheError) -> Tensor {
        training && residDropout > 0 ? try F.dropout(x, p: residDropout, rng: &Runtime.rng) : x
    }

    public func forward(_ x: Tensor, keyMask: Tensor?, cache: KVCache?) throws(LatheError) -> Tensor {
        if preNorm {
            let h = try x + drop(attn.forward(norm1.forward([x]), keyMask: keyMask, cache: cache))
            return try h + drop(mlp(norm2.forward([h])))
        }
        let h = try norm1.forward([x + drop(attn.forward(x, keyMask: keyMask, cache: cache))])
        return try norm2.forward([h + drop(mlp(h))])
    }

    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        try forward(inputs[0], keyMask: inputs.count > 1 ? inputs[1] : nil, cache: nil)
    }
}

/// Configuration of a decoder-only language model (GPT, Llama family).
public struct DecoderConfig: Sendable {
    public var vocab = 256, layers = 4, dim = 256, heads = 4, kvHeads: Int? = nil, headDim: Int? = nil
    public var hidden: Int? = nil
    public var maxSeq = 128
    public var activation: ActivationKind = .gelu
    public var gated = false
    public var norm: BlockStyle.Norm = .layer
    public var normEps: Float = 1e-5
    public var positions = "learned"  // "learned" or "rotary"
    public var ropeTheta = 10000.0
    public var dropout: Float = 0
    public var tieEmbeddings = true
    /// Biases of every projection, unless one of the three below says otherwise.
    public var bias = true
    /// Biases of the q, k and v projections (Qwen2: true while o has none).
    public var qkvBias: Bool? = nil
    /// Bias of the attention output projection.
    public var oBias: Bool? = nil
    /// Biases of the MLP projections.
    public var mlpBias: Bool? = nil
    /// Rotary frequency scaling (Llama 3's "llama3", or "linear"); nil for none.
    public var ropeScaling: RopeScaling? = nil
    public var initStd: Float = 0.02
    /// Names: Lathe's own (layers.0.attn.q_proj.weight), "llama" (HF Llama paths:
    /// model.layers.0.self_attn.q_proj.weight) or "gpt2" (HF GPT-2 paths:
    /// transformer.h.0.attn.c_attn.weight, with one fused q|k|v projection).
    public var naming = "lathe"
    public init() {}

    /// MLP kinds by name: "swiglu" (gated SiLU, Llama's) or an activation of a plain MLP (GPT-2's gelu).
    public static let mlpKinds = ["swiglu"] + ActivationKind.allCases.map(\.rawValue)

    /// The MLP by name (see `mlpKinds`); `setMLP` sets `gated` and `activation` from one.
    public var mlp: String { gated ? "swiglu" : activation.rawValue }
    public mutating func setMLP(_ name: String) throws(LatheError) {
        if name == "swiglu" {
            gated = true
            activation = .silu
            return
        }
        guard let a = ActivationKind(rawValue: name) else {
            throw LatheError("unknown MLP '\(name)' (expected one of: \(DecoderConfig.mlpKinds.joined(separator: ", ")))")
        }
        gated = false
        activation = a
    }
}

/// How rotary frequencies are rescaled for long contexts (Hugging Face `rope_scaling` /
/// `rope_parameters`).
public struct RopeScaling: Sendable, Equatable {
    public enum Kind: String, Sendable { case llama3, linear }
    public var kind: Kind
    public var factor: Double
    /// llama3 only.
    public var lowFreqFactor = 1.0, highFreqFactor = 4.0
    public var originalMaxPositions = 8192
    public init(kind: Kind, factor: Double, lowFreqFactor: Double = 1, highFreqFactor: Double = 4, originalMaxPositions: Int = 8192) {
        self.kind = kind
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositions = originalMaxPositions
    }
}

/// Decoder-only transformer language model: ids [B, T] -> logits [B, T, vocab].
public final class DecoderLM: Module {
    public let config: DecoderConfig
    public let embed: Embedding
    public let posEmbed: Embedding?
    public private(set) var blocks: [Block] = []
    public let finalNorm: Module
    /// The output projection (nil when tied to the token embedding).
    public private(set) var head: Module?

    public init(_ c: DecoderConfig, rng: inout RandomGenerator) throws(LatheError) {
        guard c.vocab > 0, c.layers >= 0, c.dim > 0, c.heads > 0, c.maxSeq > 0 else {
            throw LatheError("gpt: vocab, dim, heads and seq must be positive (got vocab=\(c.vocab), dim=\(c.dim), heads=\(c.heads), seq=\(c.maxSeq))")
        }
        if c.headDim == nil && c.dim % c.heads != 0 {
            throw LatheError("gpt: dim \(c.dim) must be divisible by heads \(c.heads)")
        }
        if c.positions != "learned" && c.positions != "rotary" {
            throw LatheError("gpt: positions must be \"learned\" or \"rotary\", got \"\(c.positions)\"")
        }
        if c.positions == "rotary" && !(c.ropeTheta > 0 && c.ropeTheta.isFinite) {
            throw LatheError("gpt: rope_theta must be a positive number (got \(c.ropeTheta))")
        }
        if !(c.normEps >= 0 && c.normEps.isFinite) { throw LatheError("gpt: norm_eps must be a number >= 0 (got \(c.normEps))") }
        guard ["lathe", "llama", "gpt2"].contains(c.naming) else {
            throw LatheError("gpt: naming must be \"lathe\", \"llama\" or \"gpt2\", got \"\(c.naming)\"")
        }
        config = c
        let llama = c.naming == "llama", gpt2 = c.naming == "gpt2"
        embed = try Embedding(c.vocab, c.dim, std: c.initStd, rng: &rng)
        posEmbed = c.positions == "learned" ? try Embedding(c.maxSeq, c.dim, std: c.initStd, rng: &rng) : nil
        var style = BlockStyle()
        style.norm = c.norm
        style.normEps = c.normEps
        if llama {
            style.attnNorm = "input_layernorm"
            style.mlpNorm = "post_attention_layernorm"
            style.attn = "self_attn"
        }
        if gpt2 {
            style.attnNorm = "ln_1"
            style.mlpNorm = "ln_2"
            style.attnNames.o = "c_proj"
            style.mlpNames = ("c_gate", "c_fc", "c_proj")
        }
        let hd = c.headDim ?? c.dim / c.heads
        let ropeTables: (Tensor, Tensor)? = c.positions == "rotary"
            ? try F.ropeTables(headDim: hd, maxPositions: c.maxSeq, theta: c.ropeTheta, scaling: c.ropeScaling) : nil
        var blocks: [Block] = []
        for _ in 0..<c.layers {
            let attn = try SelfAttention(dim: c.dim, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, causal: true,
                                         bias: c.qkvBias ?? c.bias, oBias: c.oBias ?? c.bias, dropout: c.dropout, fused: gpt2,
                                         names: style.attnNames, rng: &rng)
            if let ropeTables { attn.rope = (ropeTables.0, ropeTables.1) }
            let mlp = try FeedForward(dim: c.dim, hidden: c.hidden ?? 4 * c.dim, act: c.activation, gated: c.gated, bias: c.mlpBias ?? c.bias,
                                      dropout: 0, names: style.mlpNames, rng: &rng)
            blocks.append(try Block(attn: attn, mlp: mlp, style: style, dim: c.dim, dropout: c.dropout))
            if blocks.count == 1 { try Module.checkLayersFit(blocks[0], count: c.layers, what: "layers") }
        }
        finalNorm = c.norm == .layer ? try LayerNorm(c.dim, eps: c.normEps) : try RMSNorm(c.dim, eps: c.normEps)
        head = c.tieEmbeddings ? nil : try Linear(c.dim, c.vocab, bias: false, rng: &rng)
        super.init()
        let prefix = llama ? "model." : (gpt2 ? "transformer." : "")
        register(prefix + (llama ? "embed_tokens" : (gpt2 ? "wte" : "embed")), embed)
        if let posEmbed { register(gpt2 ? "transformer.wpe" : "pos_embed", posEmbed) }
        for (i, b) in blocks.enumerated() { register(prefix + (gpt2 ? "h.\(i)" : "layers.\(i)"), b) }
        register(prefix + (gpt2 ? "ln_f" : "norm"), finalNorm)
        if let head { register("lm_head", head) }
        self.blocks = blocks
        // GPT-2 style initialization: N(0, 0.02) for projections, scaled for the residual outputs
        if !llama && !Init.skipRandom {
            for (name, t) in namedParameters() where name.hasSuffix(".weight") && t.rank == 2 && t !== embed.weight && t !== posEmbed?.weight {
                let std = name.hasSuffix("o_proj.weight") || name.hasSuffix("down_proj.weight") || name.hasSuffix("c_proj.weight") ? c.initStd / Float(2 * max(c.layers, 1)).squareRoot() : c.initStd
                try t.assign(Init.normal(t.shape, std: std, rng: &rng))
            }
            for (name, t) in namedParameters() where name.hasSuffix(".bias") && !name.contains("norm") {
                try t.fill(0)
            }
        }
    }

    override public var typeName: String { "DecoderLM" }
    override public func didReplaceChild(_ name: String, with m: Module) {
        if name == "lm_head" { head = m }
    }
    override public var details: String {
        "vocab \(config.vocab), \(config.layers) layers, dim \(config.dim), \(config.heads) heads, seq \(config.maxSeq)"
    }

    /// ids [B, T] int64 -> hidden states [B, T, dim] (before the final norm when `normed` is false).
    public func hidden(_ ids: Tensor, keyMask: Tensor? = nil, caches: [KVCache]? = nil) throws(LatheError) -> Tensor {
        guard ids.dtype == .int64 else { throw LatheError("gpt: token ids must be int64, got \(ids.dtype.rawValue)") }
        let x2 = ids.rank == 1 ? try ids.unsqueeze(0) : ids
        guard x2.rank == 2 else { throw LatheError("gpt: ids must be [batch, seq], got \(ids.shapeString)") }
        let t = x2.shape[1]
        let offset = caches?.first?.length ?? 0
        if offset + t > config.maxSeq {
            throw LatheError("gpt: sequence of \(offset + t) tokens is longer than the model's maximum of \(config.maxSeq)")
        }
        var h = try embed(x2)
        if let posEmbed {
            let pos = Tensor(int64s: (offset..<(offset + t)).map { Int64($0) }, shape: [t])
            h = try h + posEmbed(pos)
        }
        if training && config.dropout > 0 { h = try F.dropout(h, p: config.dropout, rng: &Runtime.rng) }
        for (i, b) in blocks.enumerated() {
            h = try b.forward(h, keyMask: keyMask, cache: caches?[i])
        }
        return try finalNorm.forward([h])
    }

    /// ids [B, T] -> logits [B, T, vocab].
    public func logits(_ ids: Tensor, keyMask: Tensor? = nil, caches: [KVCache]? = nil) throws(LatheError) -> Tensor {
        let h = try hidden(ids, keyMask: keyMask, caches: caches)
        if let head { return try head(h) }
        return try Tensor.linear(h, embed.weight, nil)
    }

    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        try logits(inputs[0], keyMask: inputs.count > 1 ? inputs[1] : nil)
    }

    public func makeCaches(maxLength: Int) throws(LatheError) -> [KVCache] {
        var caches: [KVCache] = []
        for b in blocks { caches.append(try KVCache(maxLength: maxLength, width: b.attn.kvHeads * b.attn.headDim)) }
        return caches
    }
}

/// Configuration of a BERT-style encoder with a classification head.
public struct EncoderConfig: Sendable {
    public var vocab = 30522, layers = 2, dim = 128, heads = 2, hidden: Int? = nil, maxSeq = 128
    public var typeVocab = 2
    public var classes = 2
    /// "cls" (first token), "mean" (over real tokens) or "pooler" (BERT's pooler: tanh of a
    /// dense layer on the first token, as BertForSequenceClassification).
    public var pooling = "cls"
    /// Whether the model has BERT's pooler layer (`pooler.dense`); implied by pooling "pooler".
    public var pooler = false
    public var dropout: Float = 0.1
    public var normEps: Float = 1e-12
    public var activation: ActivationKind = .gelu
    public var initStd: Float = 0.02
    public var headName = "classifier"
    public init() {}
}

/// BERT-style encoder (post-norm blocks, learned positions, token types) with pooling and a
/// classification head. Parameter paths follow Hugging Face's BertModel
/// (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, ...).
public final class Encoder: Module {
    public let config: EncoderConfig
    public let wordEmb: Embedding, posEmb: Embedding, typeEmb: Embedding?
    public let embNorm: LayerNorm
    public private(set) var blocks: [BertLayer] = []
    public var classifier: Linear?
    /// BERT's pooler (`pooler.dense`), when the model has one.
    public private(set) var pooler: Linear?
    /// How `pooled` reduces token states ("cls", "mean" or "pooler"); a new head may change it.
    public internal(set) var pooling: String
    /// The poolings: the first token's state, the mean over real tokens, or BERT's pooler (tanh
    /// of a dense layer on the first token).
    public static let poolings = ["cls", "mean", "pooler"]

    public init(_ c: EncoderConfig, rng: inout RandomGenerator) throws(LatheError) {
        guard c.dim % c.heads == 0 else { throw LatheError("encoder: dim \(c.dim) must be divisible by heads \(c.heads)") }
        guard Encoder.poolings.contains(c.pooling) else {
            throw LatheError("encoder: pooling must be \"cls\", \"mean\" or \"pooler\", got \"\(c.pooling)\"")
        }
        config = c
        pooling = c.pooling
        wordEmb = try Embedding(c.vocab, c.dim, std: c.initStd, rng: &rng)
        posEmb = try Embedding(c.maxSeq, c.dim, std: c.initStd, rng: &rng)
        typeEmb = c.typeVocab > 0 ? try Embedding(c.typeVocab, c.dim, std: c.initStd, rng: &rng) : nil
        embNorm = try LayerNorm(c.dim, eps: c.normEps)
        var blocks: [BertLayer] = []
        for _ in 0..<c.layers {
            blocks.append(try BertLayer(c, rng: &rng))
            if blocks.count == 1 { try Module.checkLayersFit(blocks[0], count: c.layers, what: "layers") }
        }
        classifier = c.classes > 0 ? try Linear(c.dim, c.classes, rng: &rng) : nil
        pooler = c.pooler || c.pooling == "pooler" ? try Linear(c.dim, c.dim, rng: &rng) : nil
        super.init()
        register("embeddings.word_embeddings", wordEmb)
        register("embeddings.position_embeddings", posEmb)
        if let typeEmb { register("embeddings.token_type_embeddings", typeEmb) }
        register("embeddings.LayerNorm", embNorm)
        for (i, b) in blocks.enumerated() { register("encoder.layer.\(i)", b) }
        if let pooler { register("pooler.dense", pooler) }
        if let classifier { register(c.headName, classifier) }
        self.blocks = blocks
        if !Init.skipRandom {
            for (name, t) in namedParameters() where t.rank == 2 && !name.contains("embeddings") {
                try t.assign(Init.normal(t.shape, std: c.initStd, rng: &rng))
            }
            for (name, t) in namedParameters() where name.hasSuffix(".bias") && !name.contains("LayerNorm") { try t.fill(0) }
        }
    }

    override public var typeName: String { "Encoder" }
    override public var details: String {
        "vocab \(config.vocab), \(config.layers) layers, dim \(config.dim), \(config.heads) heads, \(pooling) pooling" + (classifier.map { ", \($0.outFeatures) classes" } ?? "")
    }

    /// Replaces the classification head with a fresh one for `classes` labels (N(0, init_std)
    /// weights and zero bias, as transformers initializes BertForSequenceClassification's),
    /// optionally changing the pooling. Pooling "pooler" needs the model's pooler layer.
    public func newHead(classes: Int, pooling: String? = nil, rng: inout RandomGenerator) throws(LatheError) {
        guard classes > 0 else { throw LatheError("encoder: classes must be positive, got \(classes)") }
        if let p = pooling {
            guard Encoder.poolings.contains(p) else {
                throw LatheError("encoder: pooling must be \"cls\", \"mean\" or \"pooler\", got \"\(p)\"")
            }
            if p == "pooler" && pooler == nil {
                throw LatheError("encoder: pooling \"pooler\" needs BERT's pooler layer, which this model does not have (use \"mean\" or \"cls\")")
            }
            self.pooling = p
        }
        let h = try Linear(config.dim, classes, rng: &rng)
        try h.weight.assign(Init.normal(h.weight.shape, std: config.initStd, rng: &rng))
        try h.bias?.fill(0)
        classifier = h
        register(config.headName, h)
    }

    /// Token states [B, T, dim].
    public func tokenStates(_ ids: Tensor, mask: Tensor?, types: Tensor? = nil) throws(LatheError) -> Tensor {
        guard ids.dtype == .int64 else { throw LatheError("encoder: token ids must be int64, got \(ids.dtype.rawValue)") }
        let x = ids.rank == 1 ? try ids.unsqueeze(0) : ids
        let (b, t) = (x.shape[0], x.shape[1])
        if t > config.maxSeq { throw LatheError("encoder: sequence of \(t) tokens is longer than the maximum \(config.maxSeq)") }
        if let mask, mask.shape != [b, t] { throw LatheError("encoder: mask \(mask.shapeString) does not match ids \(x.shapeString)") }
        var h = try wordEmb(x) + posEmb(Tensor(int64s: (0..<t).map { Int64($0) }, shape: [t]))
        if let typeEmb {
            let tt: Tensor
            if let types { tt = types } else { tt = try Tensor.zeros([b, t], dtype: .int64) }
            h = try h + typeEmb(tt)
        }
        h = try embNorm(h)
        if training && config.dropout > 0 { h = try F.dropout(h, p: config.dropout, rng: &Runtime.rng) }
        for blk in blocks { h = try blk.forward(h, mask: mask) }
        return h
    }

    /// Pooled sentence vectors [B, dim]: the first token, or the mean over real tokens.
    public func pooled(_ states: Tensor, mask: Tensor?) throws(LatheError) -> Tensor {
        switch pooling {
        case "cls": return try states.select(1, 0)
        case "pooler":
            guard let pooler else { throw LatheError("encoder: pooling \"pooler\" needs a pooler layer") }
            return try pooler(states.select(1, 0)).tanh()
        default: return try F.meanPool(states, mask: mask)
        }
    }

    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        let mask = inputs.count > 1 ? inputs[1] : nil
        let states = try tokenStates(inputs[0], mask: mask)
        guard let classifier else { return states }
        var p = try pooled(states, mask: mask)
        if training && config.dropout > 0 { p = try F.dropout(p, p: config.dropout, rng: &Runtime.rng) }
        return try classifier(p)
    }
}

/// One BERT layer with HF names: attention.self.{query,key,value}, attention.output.dense,
/// attention.output.LayerNorm, intermediate.dense, output.dense, output.LayerNorm.
public final class BertLayer: Module {
    public let attn: SelfAttention
    public let attnNorm: LayerNorm, outNorm: LayerNorm
    public let inter: Linear, out: Linear
    let act: ActivationKind
    let dropout: Float

    init(_ c: EncoderConfig, rng: inout RandomGenerator) throws(LatheError) {
        attn = try SelfAttention(dim: c.dim, heads: c.heads, causal: false, bias: true, dropout: c.dropout,
                                 names: .init(q: "self.query", k: "self.key", v: "self.value", o: "output.dense"), rng: &rng)
        attnNorm = try LayerNorm(c.dim, eps: c.normEps)
        outNorm = try LayerNorm(c.dim, eps: c.normEps)
        inter = try Linear(c.dim, c.hidden ?? 4 * c.dim, rng: &rng)
        out = try Linear(c.hidden ?? 4 * c.dim, c.dim, rng: &rng)
        act = c.activation
        dropout = c.dropout
        super.init()
        register("attention", attn)
        register("attention.output.LayerNorm", attnNorm)
        register("intermediate.dense", inter)
        register("output.dense", out)
        register("output.LayerNorm", outNorm)
    }

    override public var typeName: String { "BertLayer" }

    func drop(_ x: Tensor) throws(LatheError) -> Tensor {
        training && dropout > 0 ? try F.dropout(x, p: dropout, rng: &Runtime.rng) : x
    }

    public func forward(_ x: Tensor, mask: Tensor?) throws(LatheError) -> Tensor {
        let a = try attn.forward(x, keyMask: mask, cache: nil)
        let h = try attnNorm(x + drop(a))
        let f = try out(act.apply(inter(h)))
        return try outNorm(h + drop(f))
    }
}

extension F {
    /// Mean over the sequence of [B, T, D] states, counting only mask = 1 positions.
    public static func meanPool(_ states: Tensor, mask: Tensor?) throws(LatheError) -> Tensor {
        guard let mask else { return try states.mean(dims: [1]) }
        let m = try mask.toFloat32().unsqueeze(-1)           // [B, T, 1]
        let summed = try (states * m).sum(dims: [1])          // [B, D]
        let counts = try m.sum(dims: [1]).clamp(min: 1e-9, max: nil)  // [B, 1]
        return try summed / counts
    }
}

/// A multilayer perceptron classifier: sizes [in, h1, ..., out].
public final class MLPModel: Module {
    public let net: Sequential
    public init(sizes: [Int], activation: ActivationKind, dropout: Float, rng: inout RandomGenerator) throws(LatheError) {
        guard sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else {
            throw LatheError("mlp: sizes must list at least input and output sizes, all positive (got \(sizes))")
        }
        // every layer's memory is known before the first is drawn: a list of huge or many
        // sizes is refused at once, not after minutes of initialization
        let params = zip(sizes, sizes.dropFirst()).reduce(0.0) { $0 + Double($1.0) * Double($1.1) + Double($1.1) }
        if params * 4 > Double(TensorMemory.maxBytes) {
            throw LatheError("\(sizes.count - 1) layers need \(Tensor.humanBytes(params * 4)), more than Lathe allocates")
        }
        do { try TensorMemory.checkAvailable(Int(params * 4)) } catch {
            throw LatheError("\(sizes.count - 1) layers: \(error.message)")
        }
        var items: [Module] = []
        for i in 0..<(sizes.count - 1) {
            items.append(try Linear(sizes[i], sizes[i + 1], rng: &rng))
            if i < sizes.count - 2 {
                items.append(Activation(activation))
                if dropout > 0 { items.append(try Dropout(dropout)) }
            }
        }
        net = Sequential(items)
        super.init()
        for (n, m) in net.children { register(n, m) }
    }
    override public var typeName: String { "MLP" }
    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor { try net.forward(inputs) }
}
