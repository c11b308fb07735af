import Foundation

/// Loading and saving Hugging Face checkpoints onto Lathe's own modules.
///
/// A folder with `config.json` and `model.safetensors` (or `model-0000N-of-0000M.safetensors`
/// with `model.safetensors.index.json`) becomes:
/// - `Encoder` for BERT-family encoders (`model_type` "bert": BERT, MiniLM, sentence-transformers
///   models), with or without the `bert.` prefix; the pooler is kept when present; a
///   classification head is loaded when the checkpoint has one;
/// - `DecoderLM` with HF Llama names for Llama, Mistral and Qwen2 (RMSNorm, rotary positions in
///   the `rotate_half` layout with `rope_theta` and llama3/linear scaling, grouped-query
///   attention, SwiGLU, tied or untied head, q/k/v biases for Qwen2);
/// - `DecoderLM` with GPT-2 names for GPT-2 (fused `c_attn`, Conv1D weights transposed to
///   Linear's [out, in] on load and back on save, learned positions, LayerNorm, gelu_new).
/// Weights may be F32, F16, BF16 (or F64); they compute in float32.
public enum HF {
    public struct LoadOptions: Sendable {
        /// Longest sequence the model accepts (rotary tables are sized for it); default: the
        /// config's max_position_embeddings, capped at `defaultMaxSeq`.
        public var maxSeq: Int? = nil
        /// Quantize the linear layers (not the embeddings or the output head) to this ggml type
        /// after loading, for QLoRA-style memory.
        public var quantize: GGMLType? = nil
        /// Keep GGUF linear layers in their quantized blocks (GGUF files only).
        public var quantized = false
        /// Load tokenizer.json (and the chat template) when present.
        public var tokenizer = true
        public init() {}
    }

    /// Positions a loaded model accepts unless `maxSeq` says otherwise.
    public static let defaultMaxSeq = 16384

    public static let supportedTypes = ["bert", "llama", "mistral", "qwen2", "gpt2"]

    /// Loads a model folder (or a `.gguf` file, see `loadGGUF`). `warnings` receives notes
    /// about tensors of the checkpoint the model does not use.
    public static func load(path: String, _ o: LoadOptions = LoadOptions(), warnings: ((String) -> Void)? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> Module {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw LatheError("\(path): no such file or folder") }
        if !isDir.boolValue {
            if path.lowercased().hasSuffix(".gguf") { return try loadGGUF(path: path, o, progress: progress) }
            if (path as NSString).lastPathComponent == "config.json" {
                return try load(path: FilePath.parent(path), o, warnings: warnings, progress: progress)
            }
            throw LatheError("\(path): expected a Hugging Face model folder (config.json + model.safetensors) or a .gguf file")
        }
        let dir = path
        let cfg = try HFConfig(path: (dir as NSString).appendingPathComponent("config.json"))
        let type = try modelType(cfg)
        guard supportedTypes.contains(type) else {
            throw LatheError("\(cfg.path): model_type '\(type)' is not supported (supported: \(supportedTypes.joined(separator: ", ")))")
        }
        let ck = try openWeights(dir)
        let info = PretrainedInfo(family: type, source: dir)
        info.config = cfg.json
        var src = WeightSource(ck: ck, configPath: cfg.path)
        let model: Module
        switch type {
        case "bert": model = try loadBert(cfg, &src, info)
        case "gpt2": model = try loadGPT2(cfg, &src, info, o)
        default: model = try loadLlama(cfg, &src, info, o)
        }
        try src.fill(model, progress: progress)
        let unused = src.unused()
        if !unused.isEmpty {
            warnings?("\(ck.path): \(unused.count) tensor\(unused.count == 1 ? "" : "s") not used by the model: \(unused.prefix(5).joined(separator: ", "))\(unused.count > 5 ? ", ..." : "")")
        }
        if o.tokenizer { try attachTokenizer(dir: dir, cfg: cfg, info: info) }
        if let q = o.quantize { try quantizeLinears(model, type: q) ; info.quantized = true }
        model.pretrained = info
        model.setTraining(false)
        return model
    }

    static func modelType(_ cfg: HFConfig) throws(LatheError) -> String {
        if let t = try cfg.string("model_type") { return t }
        let arch = cfg["architectures"]?.arrayValue?.first?.stringValue ?? ""
        for (prefix, t) in [("Bert", "bert"), ("Llama", "llama"), ("Mistral", "mistral"), ("Qwen2", "qwen2"), ("GPT2", "gpt2")] where arch.hasPrefix(prefix) {
            return t
        }
        throw LatheError("\(cfg.path): no 'model_type' (and no known 'architectures'); cannot tell which model this is")
    }

    static func openWeights(_ dir: String) throws(LatheError) -> SafetensorsCheckpoint {
        let fm = FileManager.default
        let has = { (f: String) in fm.fileExists(atPath: (dir as NSString).appendingPathComponent(f)) }
        if !has("model.safetensors") && !has("model.safetensors.index.json") {
            if has("pytorch_model.bin") || has("pytorch_model.bin.index.json") {
                throw LatheError("\(dir): only PyTorch .bin weights found; Lathe reads safetensors (convert with transformers: model.save_pretrained(dir, safe_serialization=True))")
            }
            throw LatheError("\(dir): no model.safetensors or model.safetensors.index.json")
        }
        return try SafetensorsCheckpoint(path: dir)
    }

    // MARK: - families

    static func activation(_ cfg: HFConfig, _ key: String, _ def: String) throws(LatheError) -> ActivationKind {
        let name = try cfg.string(key) ?? def
        guard let a = ActivationKind.huggingFace(name) else {
            throw LatheError("\(cfg.path): \(key) '\(name)' is not supported (supported: relu, gelu, gelu_new, gelu_pytorch_tanh, silu, tanh, sigmoid)")
        }
        return a
    }

    static func loadBert(_ cfg: HFConfig, _ src: inout WeightSource, _ info: PretrainedInfo) throws(LatheError) -> Module {
        let ck = src.ck
        if let pe = try cfg.string("position_embedding_type"), pe != "absolute" {
            throw LatheError("\(cfg.path): position_embedding_type '\(pe)' is not supported (only 'absolute')")
        }
        var c = EncoderConfig()
        c.vocab = try cfg.int("vocab_size")
        c.dim = try cfg.int("hidden_size")
        c.layers = try cfg.int("num_hidden_layers", min: 0)
        try src.checkLayerCount(c.layers, key: "num_hidden_layers")
        c.heads = try cfg.int("num_attention_heads")
        guard c.dim % c.heads == 0 else { throw LatheError("\(cfg.path): hidden_size \(c.dim) is not divisible by num_attention_heads \(c.heads)") }
        c.hidden = try cfg.int("intermediate_size")
        c.maxSeq = try cfg.int("max_position_embeddings")
        c.typeVocab = try cfg.int("type_vocab_size", 2, min: 0)
        c.normEps = Float(try cfg.double("layer_norm_eps", 1e-12))
        c.activation = try activation(cfg, "hidden_act", "gelu")
        c.dropout = Float(try cfg.double("hidden_dropout_prob", 0.1))
        c.initStd = Float(try cfg.double("initializer_range", 0.02))
        let layout = HFLayout.bert(classifier: ck.contains("bert.embeddings.word_embeddings.weight"))
        src.rename = { path in layout.hfName(path) }
        c.pooler = ck.contains(layout.hfName("pooler.dense.weight"))
        if ck.contains("classifier.weight") {
            let shape = try ck.info("classifier.weight").shape
            guard shape.count == 2, shape[0] > 0 else {
                throw LatheError("\(ck.path): tensor 'classifier.weight' has shape \(Tensor.shapeString(shape)), expected [classes, \(c.dim)]")
            }
            c.classes = shape[0]
            // hf.save records a head on mean or first-token pooling (no transformers class) as lathe_pooling
            if let lp = try cfg.string("lathe_pooling"), !layout.nested, ["mean", "cls"].contains(lp) {
                c.pooling = lp
            } else {
                c.pooling = c.pooler ? "pooler" : "cls"
            }
            info.labels = labels(cfg, count: c.classes)
        } else {
            c.classes = 0
        }
        var rng = Runtime.rng
        let model = try Init.withoutRandomInit { () throws(LatheError) in try Encoder(c, rng: &rng) }
        src.ignore = { n in n.hasSuffix("embeddings.position_ids") || n.hasPrefix("cls.") || n.hasPrefix("bert.cls.") }
        readSentenceTransformers(dir: info.source, info: info)
        if c.classes == 0, let p = info.sentencePooling, p == "mean" || p == "cls" { try model.setPooling(p) }
        return model
    }

    /// id2label of a config, as names by class id (nil when absent or generic LABEL_n).
    static func labels(_ cfg: HFConfig, count: Int) -> [String]? {
        guard let obj = cfg["id2label"]?.objectValue else { return nil }
        var names = [String?](repeating: nil, count: count)
        for (k, v) in obj {
            if let i = Int(k), i >= 0, i < count, let s = v.stringValue { names[i] = s }
        }
        guard names.allSatisfy({ $0 != nil }) else { return nil }
        let out = names.map { $0! }
        if out.enumerated().allSatisfy({ $0.element == "LABEL_\($0.offset)" }) { return nil }
        return out
    }

    /// Reads modules.json / sentence_bert_config.json / the Pooling module's config of a
    /// sentence-transformers folder.
    static func readSentenceTransformers(dir: String, info: PretrainedInfo) {
        func json(_ rel: String) -> TextJSON? {
            let p = (dir as NSString).appendingPathComponent(rel)
            guard let b = try? AtomicFile.read(p) else { return nil }
            return try? TextJSON.parse(b)
        }
        guard let modules = json("modules.json")?.arrayValue else { return }
        info.sentenceFiles = ["modules.json"]
        for f in ["sentence_bert_config.json", "config_sentence_transformers.json"] where json(f) != nil { info.sentenceFiles.append(f) }
        if let m = json("sentence_bert_config.json")?["max_seq_length"]?.intValue, m > 0 { info.sentenceMaxLength = m }
        for m in modules {
            let type = m["type"]?.stringValue ?? ""
            let rel = m["path"]?.stringValue ?? ""
            if type.hasSuffix("Pooling"), let pc = json(rel + "/config.json") {
                info.sentenceFiles.append(rel + "/config.json")
                if pc["pooling_mode_mean_tokens"]?.boolValue == true { info.sentencePooling = "mean" }
                else if pc["pooling_mode_cls_token"]?.boolValue == true { info.sentencePooling = "cls" }
                else if pc["pooling_mode_max_tokens"]?.boolValue == true { info.sentencePooling = "max" }
                else { info.sentencePooling = "unsupported" }
            }
            if type.hasSuffix("Normalize") { info.normalizeEmbeddings = true }
        }
    }

    static func ropeScaling(_ cfg: HFConfig) throws(LatheError) -> (theta: Double, scaling: RopeScaling?) {
        // transformers 5 writes rope_parameters {rope_type, rope_theta, ...}; 4.x wrote rope_theta
        // and rope_scaling {type | rope_type, factor, ...}
        var theta = try cfg.double("rope_theta", 10000)
        var params: TextJSON? = cfg["rope_scaling"]
        if let rp = cfg["rope_parameters"] {
            if let t = rp["rope_theta"]?.doubleValue { theta = t }
            params = rp
        }
        guard theta > 0 else { throw LatheError("\(cfg.path): rope_theta must be positive (got \(theta))") }
        guard let p = params, case .object = p else { return (theta, nil) }
        let kind = p["rope_type"]?.stringValue ?? p["type"]?.stringValue ?? "default"
        func num(_ k: String, _ def: Double?) throws(LatheError) -> Double {
            if let v = p[k]?.doubleValue { return v }
            if let def { return def }
            throw LatheError("\(cfg.path): rope scaling '\(kind)' needs '\(k)'")
        }
        switch kind {
        case "default": return (theta, nil)
        case "linear":
            let f = try num("factor", nil)
            guard f > 0 else { throw LatheError("\(cfg.path): rope scaling factor must be positive (got \(f))") }
            return (theta, RopeScaling(kind: .linear, factor: f))
        case "llama3":
            let f = try num("factor", nil), lo = try num("low_freq_factor", nil), hi = try num("high_freq_factor", nil)
            let old = Int(try num("original_max_position_embeddings", nil))
            guard f > 0, lo > 0, hi > lo, old > 0 else {
                throw LatheError("\(cfg.path): llama3 rope scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0")
            }
            return (theta, RopeScaling(kind: .llama3, factor: f, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositions: old))
        default:
            throw LatheError("\(cfg.path): rope scaling '\(kind)' is not supported (supported: default, linear, llama3)")
        }
    }

    static func loadLlama(_ cfg: HFConfig, _ src: inout WeightSource, _ info: PretrainedInfo, _ o: LoadOptions) throws(LatheError) -> Module {
        let type = info.family
        var c = DecoderConfig()
        c.naming = "llama"
        c.vocab = try cfg.int("vocab_size")
        c.dim = try cfg.int("hidden_size")
        c.layers = try cfg.int("num_hidden_layers", min: 0)
        try src.checkLayerCount(c.layers, key: "num_hidden_layers")
        c.heads = try cfg.int("num_attention_heads")
        c.kvHeads = try cfg.int("num_key_value_heads", c.heads)
        if cfg.has("head_dim") { c.headDim = try cfg.int("head_dim") }
        else if c.dim % c.heads != 0 { throw LatheError("\(cfg.path): hidden_size \(c.dim) is not divisible by num_attention_heads \(c.heads) (and there is no head_dim)") }
        guard c.heads % (c.kvHeads ?? c.heads) == 0 else {
            throw LatheError("\(cfg.path): num_attention_heads \(c.heads) is not a multiple of num_key_value_heads \(c.kvHeads ?? 0)")
        }
        if (c.headDim ?? c.dim / c.heads) % 2 != 0 { throw LatheError("\(cfg.path): head_dim must be even for rotary positions") }
        if let f = cfg["partial_rotary_factor"]?.doubleValue, f != 1 {
            throw LatheError("\(cfg.path): partial_rotary_factor \(f) is not supported (rotary positions over the whole head only)")
        }
        c.hidden = try cfg.int("intermediate_size")
        var maxSeq = try cfg.int("max_position_embeddings", 4096)
        // sliding-window attention equals full attention while the sequence fits the window
        let useWindow = try cfg.bool("use_sliding_window", false)
        let windowed = type == "mistral" || (type == "qwen2" && useWindow)
        if windowed, let w = cfg["sliding_window"]?.intValue, w > 0 { maxSeq = min(maxSeq, w) }
        c.maxSeq = min(o.maxSeq ?? min(maxSeq, defaultMaxSeq), maxSeq)
        c.activation = try activation(cfg, "hidden_act", "silu")
        c.gated = true
        c.norm = .rms
        c.normEps = Float(try cfg.double("rms_norm_eps", 1e-6))
        c.positions = "rotary"
        let (theta, scaling) = try ropeScaling(cfg)
        c.ropeTheta = theta
        c.ropeScaling = scaling
        c.tieEmbeddings = try cfg.bool("tie_word_embeddings", false)
        c.dropout = 0
        c.initStd = Float(try cfg.double("initializer_range", 0.02))
        switch type {
        case "qwen2":
            c.bias = false
            c.qkvBias = true
        case "mistral":
            c.bias = false
        default:
            c.bias = false
            c.qkvBias = try cfg.bool("attention_bias", false)
            c.oBias = c.qkvBias
            c.mlpBias = try cfg.bool("mlp_bias", false)
        }
        var rng = Runtime.rng
        let model = try Init.withoutRandomInit { () throws(LatheError) in try DecoderLM(c, rng: &rng) }
        let tied = c.tieEmbeddings
        src.ignore = { n in n.hasSuffix(".rotary_emb.inv_freq") || (tied && n == "lm_head.weight") }
        return model
    }

    static func loadGPT2(_ cfg: HFConfig, _ src: inout WeightSource, _ info: PretrainedInfo, _ o: LoadOptions) throws(LatheError) -> Module {
        if try cfg.bool("scale_attn_by_inverse_layer_idx", false) {
            throw LatheError("\(cfg.path): scale_attn_by_inverse_layer_idx = true is not supported")
        }
        if !(try cfg.bool("scale_attn_weights", true)) {
            throw LatheError("\(cfg.path): scale_attn_weights = false is not supported")
        }
        var c = DecoderConfig()
        c.naming = "gpt2"
        c.vocab = try cfg.int("vocab_size")
        c.dim = try cfg.int("n_embd")
        c.layers = try cfg.int("n_layer", min: 0)
        try src.checkLayerCount(c.layers, key: "n_layer")
        c.heads = try cfg.int("n_head")
        guard c.dim % c.heads == 0 else { throw LatheError("\(cfg.path): n_embd \(c.dim) is not divisible by n_head \(c.heads)") }
        c.hidden = cfg.has("n_inner") ? try cfg.int("n_inner") : 4 * c.dim
        let maxSeq = try cfg.int("n_positions")
        c.maxSeq = min(o.maxSeq ?? maxSeq, maxSeq)
        c.activation = try activation(cfg, "activation_function", "gelu_new")
        c.gated = false
        c.norm = .layer
        c.normEps = Float(try cfg.double("layer_norm_epsilon", 1e-5))
        c.positions = "learned"
        c.tieEmbeddings = try cfg.bool("tie_word_embeddings", true)
        c.bias = true
        c.dropout = 0
        var rng = Runtime.rng
        let model = try Init.withoutRandomInit { () throws(LatheError) in try DecoderLM(c, rng: &rng) }
        // Hub checkpoints of GPT-2 itself are GPT2Model's, without the `transformer.` prefix
        let layout = HFLayout.gpt2(nested: !(!src.ck.contains("transformer.wte.weight") && src.ck.contains("wte.weight")))
        src.rename = { path in layout.hfName(path) }
        src.transposed = { path in gpt2Conv1D(path) }
        let tied = c.tieEmbeddings
        src.ignore = { n in
            let parts = n.split(separator: ".")
            // the causal-mask buffers older checkpoints carry: h.N.attn.bias, h.N.attn.masked_bias
            if parts.count >= 2, parts[parts.count - 2] == "attn", parts.last == "bias" || parts.last == "masked_bias" { return true }
            return tied && n == "lm_head.weight"
        }
        return model
    }

    /// GPT-2's Conv1D weights ([in, out] in the file).
    static func gpt2Conv1D(_ path: String) -> Bool {
        path.hasSuffix(".attn.c_attn.weight") || path.hasSuffix(".attn.c_proj.weight") ||
            path.hasSuffix(".mlp.c_fc.weight") || path.hasSuffix(".mlp.c_proj.weight")
    }

    // MARK: - quantizing on load

    /// Replaces every Linear layer except output heads (lm_head, classifier, score) by a
    /// QuantLinear of `type`.
    public static func quantizeLinears(_ model: Module, type: GGMLType) throws(LatheError) {
        let targets = model.namedModules().compactMap { (p, m) -> (String, Linear)? in
            guard let l = m as? Linear, !p.hasSuffix("lm_head"), !p.hasSuffix("classifier"), !p.hasSuffix("score") else { return nil }
            return (p, l)
        }
        for (p, l) in targets {
            try Interrupt.check()
            guard l.lora == nil else { throw LatheError("layer '\(p)' has a LoRA adapter; quantize before lora.apply") }
            guard l.inFeatures % 32 == 0 else { continue }  // blocks need whole 32-column groups
            try model.replaceModule(at: p, with: QuantLinear(quantizing: l, type: type))
        }
    }
}

/// Reads tensors of a checkpoint into a model's parameters, checking names, shapes and dtypes.
struct WeightSource {
    let ck: SafetensorsCheckpoint
    let configPath: String
    /// Lathe parameter path -> checkpoint name.
    var rename: (String) -> String = { $0 }
    /// Whether the checkpoint stores this parameter transposed (GPT-2's Conv1D).
    var transposed: (String) -> Bool = { _ in false }
    /// Checkpoint tensors the model does not need (buffers, tied duplicates).
    var ignore: (String) -> Bool = { _ in false }
    var used = Set<String>()

    init(ck: SafetensorsCheckpoint, configPath: String) {
        self.ck = ck
        self.configPath = configPath
    }

    /// The layer count of config.json must match the layers the checkpoint holds weights for
    /// (`layers.N.`, `layer.N.` or `h.N.` in tensor names): a wrong count would build a model
    /// missing layers, or try to build a billion of them.
    func checkLayerCount(_ layers: Int, key: String) throws(LatheError) {
        var found = Set<Int>()
        for name in ck.names {
            let parts = name.split(separator: ".")
            for (i, p) in parts.enumerated() where i + 1 < parts.count && (p == "layers" || p == "layer" || p == "h") {
                if let n = Int(parts[i + 1]) { found.insert(n) }
            }
        }
        let have = (found.max() ?? -1) + 1
        if layers > have {
            throw LatheError("\(configPath): \(key) is \(layers), but \(ck.path) holds weights for \(have) layer\(have == 1 ? "" : "s")")
        }
        if layers == 0 && have > 0 {
            throw LatheError("\(configPath): \(key) is 0, but \(ck.path) holds weights for \(have) layers")
        }
    }

    /// A float tensor of the checkpoint with the expected (row-major, Lathe) shape.
    mutating func take(_ name: String, shape: [Int], transposed: Bool) throws(LatheError) -> Tensor {
        guard ck.contains(name) else {
            var msg = "\(ck.path): no tensor '\(name)', which the model needs (config \(configPath))"
            if let alt = closestName(to: name, in: ck.names) { msg += "; did you mean '\(alt)'?" }
            throw LatheError(msg)
        }
        let f = try ck.file(for: name)
        let info = try f.info(name)
        guard info.dtype.latheDType == .float32 else {
            throw LatheError("\(f.path): tensor '\(name)' has dtype \(info.dtype.rawValue), expected a float type (F32, F16, BF16)")
        }
        let want = transposed ? Array(shape.reversed()) : shape
        guard info.shape == want else {
            throw LatheError("\(f.path): tensor '\(name)' has shape \(Tensor.shapeString(info.shape)), expected \(Tensor.shapeString(want)) from \(configPath)")
        }
        var t = try f.tensor(name)
        if transposed { t = try t.transpose(0, 1) }
        used.insert(name)
        return t
    }

    /// Fills every parameter of the model.
    mutating func fill(_ model: Module, progress: ((Int, Int) -> Void)?) throws(LatheError) {
        let params = model.namedParameters()
        for (i, (path, p)) in params.enumerated() {
            try Interrupt.check()
            var name = rename(path)
            // old BERT checkpoints name LayerNorm parameters gamma and beta
            if !ck.contains(name) && name.contains("LayerNorm.") {
                let alt = name.hasSuffix(".weight") ? String(name.dropLast(6)) + "gamma" : String(name.dropLast(4)) + "beta"
                if ck.contains(alt) { name = alt }
            }
            let t = try take(name, shape: p.shape, transposed: transposed(path))
            try Autograd.noGrad { () throws(LatheError) in try p.assign(t) }
            progress?(i + 1, params.count)
        }
    }

    /// Checkpoint tensors neither used nor known to be unneeded.
    func unused() -> [String] {
        ck.names.filter { !used.contains($0) && !ignore($0) }
    }
}

extension Encoder {
    /// Sets the pooling used by `pooled` (for models without a head: how sentence vectors are made).
    func setPooling(_ p: String) throws(LatheError) {
        guard ["cls", "mean", "pooler"].contains(p), p != "pooler" || pooler != nil else {
            throw LatheError("encoder: pooling '\(p)' is not available for this model")
        }
        pooling = p
    }
}
