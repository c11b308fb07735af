import Foundation

/// The tokenizer a GGUF file embeds (`tokenizer.ggml.*`, `tokenizer.chat_template`), as plain
/// values. `model` is "gpt2" for byte-level BPE (tokens are in GPT-2's byte-to-unicode
/// alphabet, merges are "left right" pairs) or "llama" for SentencePiece (with `scores`).
public struct GGUFTokenizer: Sendable, Equatable {
    /// `tokenizer.ggml.model`: "gpt2", "llama", "bert", ...
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name llama.cpp uses (e.g. "smollm"), if any.
    public var pre: String?
    /// Token strings by id.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type` by id (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte), if present.
    public var tokenTypes: [Int]?
    /// `tokenizer.ggml.scores` by id (SentencePiece), if present.
    public var scores: [Float]?
    /// BPE merges, "left right", in priority order (empty for SentencePiece).
    public var merges: [String]
    public var bosID: Int?
    public var eosID: Int?
    public var unknownID: Int?
    public var paddingID: Int?
    public var separatorID: Int?
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?
    /// The Jinja chat template, if present.
    public var chatTemplate: String?

    /// Ids of control tokens (type 3), e.g. `<|im_start|>`.
    public var controlTokenIDs: [Int] {
        guard let t = tokenTypes else { return [] }
        return t.indices.filter { t[$0] == 3 }
    }
}

/// A Llama-architecture model's settings as Hugging Face's `config.json` names them, derived
/// from GGUF metadata (keys `<arch>.block_count`, `<arch>.embedding_length`, ...).
public struct LlamaHFConfig: Sendable, Equatable {
    public var modelType: String = "llama"
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var vocabSize: Int
    /// True when the file has no `output.weight` (the LM head reuses the token embeddings).
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var padTokenID: Int?

    /// `config.json` text for a `LlamaForCausalLM` in float32 (keys sorted, 2-space indent).
    public var jsonText: String {
        var m: [(String, String)] = [
            ("architectures", "[\"LlamaForCausalLM\"]"),
            ("attention_bias", "false"),
            ("head_dim", String(headDim)),
            ("hidden_act", "\"silu\""),
            ("hidden_size", String(hiddenSize)),
            ("intermediate_size", String(intermediateSize)),
            ("max_position_embeddings", String(maxPositionEmbeddings)),
            ("mlp_bias", "false"),
            ("model_type", "\"\(modelType)\""),
            ("num_attention_heads", String(numAttentionHeads)),
            ("num_hidden_layers", String(numHiddenLayers)),
            ("num_key_value_heads", String(numKeyValueHeads)),
            ("rms_norm_eps", jsonNumber(rmsNormEps)),
            ("rope_theta", jsonNumber(ropeTheta)),
            ("tie_word_embeddings", tieWordEmbeddings ? "true" : "false"),
            ("torch_dtype", "\"float32\""),
            ("vocab_size", String(vocabSize)),
        ]
        if let b = bosTokenID { m.append(("bos_token_id", String(b))) }
        if let e = eosTokenID { m.append(("eos_token_id", String(e))) }
        if let p = padTokenID { m.append(("pad_token_id", String(p))) }
        m.sort { $0.0 < $1.0 }
        return "{\n" + m.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    func jsonNumber(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }
}

/// Turning a llama.cpp GGUF of a Llama-architecture model (Llama, SmolLM, Mistral-style
/// checkpoints converted with `convert_hf_to_gguf.py`) back into Hugging Face's layout:
/// tensor names, Q/K row order and config values.
public enum GGUFLlama {
    static let topLevel: [String: String] = [
        "token_embd": "model.embed_tokens",
        "output_norm": "model.norm",
        "output": "lm_head",
    ]
    static let perLayer: [String: String] = [
        "attn_norm": "input_layernorm",
        "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    ]

    /// The Hugging Face name of a GGUF tensor of a Llama model (`blk.3.attn_q.weight` ->
    /// `model.layers.3.self_attn.q_proj.weight`, `token_embd.weight` ->
    /// `model.embed_tokens.weight`, `output.weight` -> `lm_head.weight`), or nil for tensors
    /// HF has no counterpart for (e.g. `rope_freqs.weight`).
    public static func hfName(for gguf: String) -> String? {
        let parts = gguf.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        if parts.count == 2, let t = topLevel[parts[0]] { return "\(t).\(suffix)" }
        if parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1],
           let t = perLayer[parts[2]] {
            return "model.layers.\(layer).\(t).\(suffix)"
        }
        return nil
    }

    /// Undoes llama.cpp's reordering of the rows of q_proj / k_proj (its converter interleaves
    /// the two rotary halves of each head: HF row `h*D + half*D/2 + j` is stored at
    /// `h*D + 2*j + half`, with `D = rows / heads`). `heads` is the number of attention heads
    /// for q_proj and of key/value heads for k_proj. Works on 2-D weights and 1-D biases.
    public static func unpermute(_ w: Tensor, heads: Int) throws(LatheError) -> Tensor {
        guard w.dtype == .float32 else { throw LatheError("unpermute: expected a float32 tensor (got \(w.dtype.rawValue))") }
        guard w.rank == 1 || w.rank == 2 else { throw LatheError("unpermute: expected a 1-D or 2-D tensor (got shape \(w.shapeString))") }
        let rows = w.shape[0]
        let cols = w.rank == 2 ? w.shape[1] : 1
        guard heads > 0, rows % (2 * heads) == 0 else {
            throw LatheError("unpermute: \(rows) rows cannot be split into \(heads) heads of two rotary halves")
        }
        let src = w.isContiguous ? w : Tensor(floats: w.toFloatArray(), shape: w.shape)
        let out = try Tensor(uninitialized: w.shape, dtype: .float32)
        let D = rows / heads, half = D / 2
        let s = src.floatPointer, d = out.floatPointer
        for h in 0..<heads {
            for part in 0..<2 {
                for j in 0..<half {
                    let to = h * D + part * half + j
                    let from = h * D + 2 * j + part
                    (d + to * cols).update(from: s + from * cols, count: cols)
                }
            }
        }
        out.name = w.name
        return out
    }

    /// The HF config values of a Llama-architecture GGUF file. Throws naming the missing key.
    public static func config(_ g: GGUFFile) throws(LatheError) -> LlamaHFConfig {
        let arch = g.architecture ?? "llama"
        func int(_ k: String) throws(LatheError) -> Int {
            guard let v = g["\(arch).\(k)"] else { throw LatheError("\(g.path): metadata '\(arch).\(k)' is missing") }
            guard let i = v.int else { throw LatheError("\(g.path): metadata '\(arch).\(k)' is not an integer (got \(v))") }
            return i
        }
        func num(_ k: String, _ def: Double? = nil) throws(LatheError) -> Double {
            guard let v = g["\(arch).\(k)"] else {
                if let d = def { return d }
                throw LatheError("\(g.path): metadata '\(arch).\(k)' is missing")
            }
            // a float32 value as the decimal it was written from (1e-05, not 9.999999747378752e-06)
            if case .float32(let f) = v, f.isFinite, let d = Double(f.description) { return d }
            guard let x = v.double else { throw LatheError("\(g.path): metadata '\(arch).\(k)' is not a number (got \(v))") }
            return x
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kv = g["\(arch).attention.head_count_kv"] != nil ? try int("attention.head_count_kv") : heads
        guard heads > 0, kv > 0 else { throw LatheError("\(g.path): head counts must be positive (got \(heads) and \(kv))") }
        let headDim = g["\(arch).attention.key_length"] != nil ? try int("attention.key_length") : hidden / heads
        let tokens = g["tokenizer.ggml.tokens"]?.array?.count
        let vocab: Int
        if g["\(arch).vocab_size"] != nil { vocab = try int("vocab_size") }
        else if let t = tokens { vocab = t }
        else if let e = g.tensors.first(where: { $0.name == "token_embd.weight" }), e.shape.count == 2 { vocab = e.shape[0] }
        else { throw LatheError("\(g.path): cannot tell the vocabulary size (no \(arch).vocab_size, tokens or token_embd.weight)") }
        return LlamaHFConfig(
            modelType: arch == "llama" ? "llama" : arch,
            hiddenSize: hidden,
            intermediateSize: try int("feed_forward_length"),
            numHiddenLayers: try int("block_count"),
            numAttentionHeads: heads,
            numKeyValueHeads: kv,
            headDim: headDim,
            maxPositionEmbeddings: try int("context_length"),
            rmsNormEps: try num("attention.layer_norm_rms_epsilon"),
            ropeTheta: try num("rope.freq_base", 10000),
            vocabSize: vocab,
            tieWordEmbeddings: !g.contains("output.weight"),
            bosTokenID: g["tokenizer.ggml.bos_token_id"]?.int,
            eosTokenID: g["tokenizer.ggml.eos_token_id"]?.int,
            padTokenID: g["tokenizer.ggml.padding_token_id"]?.int)
    }

    /// One tensor in HF layout: dequantized to float32, Q/K rows un-permuted, with its HF name.
    public static func hfTensor(_ g: GGUFFile, _ ggufName: String, config: LlamaHFConfig) throws(LatheError) -> (name: String, tensor: Tensor) {
        guard let hf = hfName(for: ggufName) else {
            throw LatheError("\(g.path): tensor '\(ggufName)' has no Hugging Face Llama counterpart")
        }
        var t = try g.tensor(ggufName)
        let kind = ggufName.split(separator: ".").dropLast().last.map(String.init) ?? ""
        if kind == "attn_q" { t = try unpermute(t, heads: config.numAttentionHeads) }
        if kind == "attn_k" { t = try unpermute(t, heads: config.numKeyValueHeads) }
        t.name = hf
        return (hf, t)
    }

    /// Every tensor of the file that has an HF counterpart, in HF layout, in file order.
    public static func hfTensors(_ g: GGUFFile) throws(LatheError) -> [(name: String, tensor: Tensor)] {
        let cfg = try config(g)
        var out: [(name: String, tensor: Tensor)] = []
        for t in g.tensors where hfName(for: t.name) != nil {
            out.append(try hfTensor(g, t.name, config: cfg))
        }
        return out
    }
}

extension GGUFFile {
    /// The embedded tokenizer. Throws when `tokenizer.ggml.model` or `tokenizer.ggml.tokens`
    /// is missing or when the per-token arrays do not match the token count.
    public func tokenizer() throws(LatheError) -> GGUFTokenizer {
        guard let model = self["tokenizer.ggml.model"]?.string else {
            throw LatheError("\(path): no embedded tokenizer (tokenizer.ggml.model is missing)")
        }
        guard let tv = self["tokenizer.ggml.tokens"], let tokens = tv.stringArray else {
            throw LatheError("\(path): tokenizer.ggml.tokens is missing or not an array of strings")
        }
        var types: [Int]? = nil
        if let v = self["tokenizer.ggml.token_type"] {
            guard let a = v.intArray, a.count == tokens.count else {
                throw LatheError("\(path): tokenizer.ggml.token_type must be \(tokens.count) integers (got \(v))")
            }
            types = a
        }
        var scores: [Float]? = nil
        if let v = self["tokenizer.ggml.scores"] {
            guard let a = v.floatArray, a.count == tokens.count else {
                throw LatheError("\(path): tokenizer.ggml.scores must be \(tokens.count) numbers (got \(v))")
            }
            scores = a
        }
        var merges: [String] = []
        if let v = self["tokenizer.ggml.merges"] {
            guard let a = v.stringArray else { throw LatheError("\(path): tokenizer.ggml.merges must be an array of strings") }
            merges = a
        }
        func id(_ k: String) throws(LatheError) -> Int? {
            guard let v = self["tokenizer.ggml.\(k)"] else { return nil }
            guard let i = v.int, i >= 0, i < tokens.count else {
                throw LatheError("\(path): tokenizer.ggml.\(k) is \(v), not a token id below \(tokens.count)")
            }
            return i
        }
        // llama.cpp's key is spelled "seperator"; accept the correct spelling too
        var sep = try id("seperator_token_id")
        if sep == nil { sep = try id("separator_token_id") }
        return GGUFTokenizer(
            model: model,
            pre: self["tokenizer.ggml.pre"]?.string,
            tokens: tokens,
            tokenTypes: types,
            scores: scores,
            merges: merges,
            bosID: try id("bos_token_id"),
            eosID: try id("eos_token_id"),
            unknownID: try id("unknown_token_id"),
            paddingID: try id("padding_token_id"),
            separatorID: sep,
            addBOS: self["tokenizer.ggml.add_bos_token"]?.bool,
            addEOS: self["tokenizer.ggml.add_eos_token"]?.bool,
            addSpacePrefix: self["tokenizer.ggml.add_space_prefix"]?.bool,
            chatTemplate: self["tokenizer.chat_template"]?.string)
    }
}
