/// The module skeleton of a Hugging Face model built from its config: every weight-bearing
/// module with the name transformers gives it, so parameter counts, LoRA targets and
/// quantization follow the real model exactly (checked against transformers' own
/// `named_parameters()` in Tests/golden/cost).
extension Cost {
    public enum ModuleKind: String, Sendable {
        case linear      // nn.Linear: weight [out, in]
        case conv1d      // transformers' GPT-2 Conv1D: weight [in, out]
        case embedding   // nn.Embedding: weight [num, dim]
        case norm        // LayerNorm (weight, bias) or RMSNorm (weight)
    }

    public struct Module: Sendable {
        /// The module path, e.g. `model.layers.0.self_attn.q_proj`.
        public var name: String
        public var kind: ModuleKind
        /// Linear: in/out features; embedding: number of rows / width; norm: width / width.
        public var inFeatures: Int
        public var outFeatures: Int
        public var bias: Bool
        /// The module whose weight this one shares (a tied `lm_head`), not counted again.
        public var tiedTo: String?
        /// The output head (`lm_head`, `score`, `classifier`...): never quantized, and left out
        /// of LoRA's "all-linear".
        public var isHead: Bool
        /// The transformer layer it belongs to (0-based, as in the names), if any.
        public var layer: Int?

        public var weightShape: [Int] {
            switch kind {
            case .linear: return [outFeatures, inFeatures]
            case .conv1d: return [inFeatures, outFeatures]
            case .embedding: return [inFeatures, outFeatures]
            case .norm: return [outFeatures]
            }
        }
        public var weightCount: Int { kind == .norm ? outFeatures : inFeatures * outFeatures }
        public var biasCount: Int { bias ? outFeatures : 0 }
        /// Parameters this module owns (0 for the weight of a tied module).
        public var ownCount: Int { (tiedTo == nil ? weightCount : 0) + biasCount }
        public var isLinearLike: Bool { kind == .linear || kind == .conv1d }
    }

    public struct Parameter: Sendable {
        public var name: String
        public var shape: [Int]
        public var count: Int { shape.reduce(1, *) }
    }

    /// A model skeleton: architecture, head and modules.
    public struct Model: Sendable {
        public var arch: Architecture
        public var head: Head
        public var modules: [Module]

        /// Every parameter once (tied weights once), named as transformers names them.
        public var parameters: [Parameter] {
            var out: [Parameter] = []
            for m in modules {
                if m.tiedTo == nil { out.append(Parameter(name: m.name + ".weight", shape: m.weightShape)) }
                if m.bias { out.append(Parameter(name: m.name + ".bias", shape: [m.outFeatures])) }
            }
            return out
        }
        /// The total parameter count, as `model.num_parameters()` reports it.
        public var count: Int { modules.reduce(0) { $0 + $1.ownCount } }
        /// Weights that take part in matrix products per token (linear layers and the output
        /// head, tied or not), for FLOP counts.
        public var matmulParams: Int {
            modules.reduce(0) { $0 + ($1.isLinearLike ? $1.weightCount : 0) }
        }
        /// Parameters of the embedding tables (lookups, no FLOPs).
        public var embeddingParams: Int {
            modules.reduce(0) { $0 + ($1.kind == .embedding ? $1.weightCount : 0) }
        }
    }

    /// Builds the skeleton of a config. `head` defaults to the causal LM for decoders and the
    /// bare encoder (`AutoModel`) for encoders, the classes whose counts model cards publish.
    public static func model(_ config: [String: Value], head: Head? = nil) throws(LatheError) -> Model {
        let a = try architecture(config)
        let h = head ?? (a.isDecoder ? .causalLM : .base)
        if case .sequenceClassification(let n) = h, n < 1 || n > 1 << 24 {
            throw LatheError("num_labels must be a positive integer up to \(1 << 24) (got \(n))")
        }
        var b = Builder()
        switch a.family {
        case .llama: buildLlama(a, h, &b)
        case .gpt2: buildGPT2(a, h, &b)
        case .bert:
            if h == .causalLM {
                throw LatheError("a \(a.modelType) model is an encoder; it has no causal-LM head (use head = \"base\" or \"seq_cls\")")
            }
            buildBERT(a, h, &b)
        case .distilbert:
            if h == .causalLM {
                throw LatheError("a distilbert model is an encoder; it has no causal-LM head (use head = \"base\" or \"seq_cls\")")
            }
            buildDistilBERT(a, h, &b)
        }
        // every product and sum stays exact in 64 bits for any real model; refuse the rest
        let total = b.modules.reduce(0.0) { $0 + Double($1.weightCount) + Double($1.biasCount) }
        if total > 1e15 {
            throw LatheError("the config describes \(Cost.formatNumber(total)) parameters, far more than any real model (check its sizes)")
        }
        return Model(arch: a, head: h, modules: b.modules)
    }

    struct Builder {
        var modules: [Module] = []
        mutating func linear(_ name: String, _ i: Int, _ o: Int, bias: Bool, layer: Int? = nil,
                             head: Bool = false, tied: String? = nil, conv: Bool = false) {
            modules.append(Module(name: name, kind: conv ? .conv1d : .linear, inFeatures: i, outFeatures: o,
                                  bias: bias, tiedTo: tied, isHead: head, layer: layer))
        }
        mutating func embedding(_ name: String, _ n: Int, _ d: Int) {
            modules.append(Module(name: name, kind: .embedding, inFeatures: n, outFeatures: d,
                                  bias: false, tiedTo: nil, isHead: false, layer: nil))
        }
        mutating func norm(_ name: String, _ d: Int, bias: Bool, layer: Int? = nil) {
            modules.append(Module(name: name, kind: .norm, inFeatures: d, outFeatures: d,
                                  bias: bias, tiedTo: nil, isHead: false, layer: layer))
        }
    }

    static func buildLlama(_ a: Architecture, _ head: Head, _ b: inout Builder) {
        let pre = head == .base ? "" : "model."
        let h = a.hidden
        b.embedding(pre + "embed_tokens", a.vocab, h)
        for l in 0..<a.layers {
            let p = "\(pre)layers.\(l)."
            if a.fusedQKV {
                b.linear(p + "self_attn.o_proj", a.qWidth, h, bias: a.outputBias, layer: l)
                b.linear(p + "self_attn.qkv_proj", h, a.qWidth + 2 * a.kvWidth, bias: a.attentionBias, layer: l)
                b.linear(p + "mlp.gate_up_proj", h, 2 * a.intermediate, bias: a.mlpBias, layer: l)
                b.linear(p + "mlp.down_proj", a.intermediate, h, bias: a.mlpBias, layer: l)
            } else {
                b.linear(p + "self_attn.q_proj", h, a.qWidth, bias: a.attentionBias, layer: l)
                b.linear(p + "self_attn.k_proj", h, a.kvWidth, bias: a.attentionBias, layer: l)
                b.linear(p + "self_attn.v_proj", h, a.kvWidth, bias: a.attentionBias, layer: l)
                b.linear(p + "self_attn.o_proj", a.qWidth, h, bias: a.outputBias, layer: l)
                if a.qkNorm {
                    b.norm(p + "self_attn.q_norm", a.headDim, bias: false, layer: l)
                    b.norm(p + "self_attn.k_norm", a.headDim, bias: false, layer: l)
                }
                b.linear(p + "mlp.gate_proj", h, a.intermediate, bias: a.mlpBias, layer: l)
                b.linear(p + "mlp.up_proj", h, a.intermediate, bias: a.mlpBias, layer: l)
                b.linear(p + "mlp.down_proj", a.intermediate, h, bias: a.mlpBias, layer: l)
            }
            b.norm(p + "input_layernorm", h, bias: false, layer: l)
            b.norm(p + "post_attention_layernorm", h, bias: false, layer: l)
        }
        b.norm(pre + "norm", h, bias: false)
        switch head {
        case .base: break
        case .causalLM:
            b.linear("lm_head", h, a.vocab, bias: false, head: true,
                     tied: a.tiedEmbeddings ? pre + "embed_tokens" : nil)
        case .sequenceClassification(let n):
            b.linear("score", h, n, bias: false, head: true)
        }
    }

    static func buildGPT2(_ a: Architecture, _ head: Head, _ b: inout Builder) {
        let pre = head == .base ? "" : "transformer."
        let h = a.hidden
        b.embedding(pre + "wte", a.vocab, h)
        b.embedding(pre + "wpe", a.maxPositions, h)
        for l in 0..<a.layers {
            let p = "\(pre)h.\(l)."
            b.norm(p + "ln_1", h, bias: true, layer: l)
            b.linear(p + "attn.c_attn", h, 3 * h, bias: true, layer: l, conv: true)
            b.linear(p + "attn.c_proj", h, h, bias: true, layer: l, conv: true)
            b.norm(p + "ln_2", h, bias: true, layer: l)
            b.linear(p + "mlp.c_fc", h, a.intermediate, bias: true, layer: l, conv: true)
            b.linear(p + "mlp.c_proj", a.intermediate, h, bias: true, layer: l, conv: true)
        }
        b.norm(pre + "ln_f", h, bias: true)
        switch head {
        case .base: break
        case .causalLM: b.linear("lm_head", h, a.vocab, bias: false, head: true, tied: pre + "wte")
        case .sequenceClassification(let n): b.linear("score", h, n, bias: false, head: true)
        }
    }

    static func buildBERT(_ a: Architecture, _ head: Head, _ b: inout Builder) {
        let pre = head == .base ? "" : a.modelType + "."
        let h = a.hidden
        b.embedding(pre + "embeddings.word_embeddings", a.vocab, h)
        b.embedding(pre + "embeddings.position_embeddings", a.maxPositions, h)
        b.embedding(pre + "embeddings.token_type_embeddings", a.typeVocab, h)
        b.norm(pre + "embeddings.LayerNorm", h, bias: true)
        for l in 0..<a.layers {
            let p = "\(pre)encoder.layer.\(l)."
            b.linear(p + "attention.self.query", h, h, bias: true, layer: l)
            b.linear(p + "attention.self.key", h, h, bias: true, layer: l)
            b.linear(p + "attention.self.value", h, h, bias: true, layer: l)
            b.linear(p + "attention.output.dense", h, h, bias: true, layer: l)
            b.norm(p + "attention.output.LayerNorm", h, bias: true, layer: l)
            b.linear(p + "intermediate.dense", h, a.intermediate, bias: true, layer: l)
            b.linear(p + "output.dense", a.intermediate, h, bias: true, layer: l)
            b.norm(p + "output.LayerNorm", h, bias: true, layer: l)
        }
        let roberta = a.modelType != "bert"
        // AutoModel keeps the pooler; RobertaForSequenceClassification drops it
        if head == .base || !roberta {
            b.linear(pre + "pooler.dense", h, h, bias: true)
        }
        if case .sequenceClassification(let n) = head {
            if roberta {
                b.linear("classifier.dense", h, h, bias: true, head: true)
                b.linear("classifier.out_proj", h, n, bias: true, head: true)
            } else {
                b.linear("classifier", h, n, bias: true, head: true)
            }
        }
    }

    static func buildDistilBERT(_ a: Architecture, _ head: Head, _ b: inout Builder) {
        let pre = head == .base ? "" : "distilbert."
        let h = a.hidden
        b.embedding(pre + "embeddings.word_embeddings", a.vocab, h)
        b.embedding(pre + "embeddings.position_embeddings", a.maxPositions, h)
        b.norm(pre + "embeddings.LayerNorm", h, bias: true)
        for l in 0..<a.layers {
            let p = "\(pre)transformer.layer.\(l)."
            for n in ["q_lin", "k_lin", "v_lin", "out_lin"] {
                b.linear(p + "attention." + n, h, h, bias: true, layer: l)
            }
            b.norm(p + "sa_layer_norm", h, bias: true, layer: l)
            b.linear(p + "ffn.lin1", h, a.intermediate, bias: true, layer: l)
            b.linear(p + "ffn.lin2", a.intermediate, h, bias: true, layer: l)
            b.norm(p + "output_layer_norm", h, bias: true, layer: l)
        }
        if case .sequenceClassification(let n) = head {
            b.linear("pre_classifier", h, h, bias: true, head: true)
            b.linear("classifier", h, n, bias: true, head: true)
        }
    }
}
