import Foundation

extension HF {
    /// A linear layer's weight and bias as they act now: LoRA adapters that are not merged are
    /// folded in (W + alpha/r B A), quantized weights are dequantized.
    static func effective(_ m: Module) throws(LatheError) -> (weight: Tensor, bias: Tensor?) {
        if let l = m as? LoRAHost {
            var w = try l.denseWeight()
            if let a = l.lora, !a.merged {
                w = try Autograd.noGrad { () throws(LatheError) in try w + Tensor.matmul(a.b, a.a).mulScalar(Double(a.scale)) }
            }
            return (w, l.bias)
        }
        throw LatheError("expected a linear layer, got \(m.typeName)")
    }

    static func norm(_ m: Module) -> (weight: Tensor?, bias: Tensor?) {
        if let n = m as? LayerNorm { return (n.weight, n.bias) }
        if let n = m as? RMSNorm { return (n.weight, nil) }
        return (nil, nil)
    }

    static func actName(_ a: ActivationKind) -> String {
        switch a {
        case .geluTanh: return "gelu_new"
        default: return a.rawValue
        }
    }

    /// Writes a model as a Hugging Face folder that `transformers` loads: config.json,
    /// model.safetensors (weights with LoRA adapters merged in and quantized layers
    /// dequantized, stored as F32, F16 or BF16), and the tokenizer (tokenizer.json,
    /// tokenizer_config.json with the chat template) and sentence-transformers files when the
    /// model has them. Decoders are written as Llama (or Mistral, Qwen2: the family they were
    /// loaded as; rotary positions, RMSNorm, SwiGLU) or GPT-2 (learned positions, LayerNorm,
    /// plain MLP); encoders as BertModel, or BertForSequenceClassification when the head pools
    /// through BERT's pooler. Returns the files written.
    @discardableResult
    public static func save(_ model: Module, dir: String, dtype: SafetensorsDType = .f32, overwrite: Bool = false) throws(LatheError) -> [String] {
        guard [.f32, .f16, .bf16].contains(dtype) else { throw LatheError("dtype must be float32, float16 or bfloat16") }
        let fm = FileManager.default
        func path(_ f: String) -> String { (dir as NSString).appendingPathComponent(f) }
        if fm.fileExists(atPath: path("model.safetensors.index.json")) {
            throw LatheError("\(dir) holds a sharded checkpoint (model.safetensors.index.json); save to a new folder")
        }
        let torchDType: String = dtype == .f32 ? "float32" : (dtype == .f16 ? "float16" : "bfloat16")
        var tensors: [(name: String, tensor: Tensor)] = []
        var config: TextJSON
        if let lm = model as? DecoderLM {
            (tensors, config) = try decoderTensors(lm)
        } else if let enc = model as? Encoder {
            (tensors, config) = try encoderTensors(enc)
        } else {
            throw LatheError("only language models (decoders) and encoders can be written as Hugging Face models, got \(model.typeName)")
        }
        config = config.setting("torch_dtype", .string(torchDType)).removing("dtype").sortedKeys
        try Folder.create(dir)
        // everything is checked before the first file is written
        var files: [(String, [UInt8])] = [("config.json", Array((config.serialized(pretty: true) + "\n").utf8))]
        let info = model.pretrained
        if let tok = info?.tokenizer {
            files.append(("tokenizer.json", Array(tok.json().serialized(pretty: true).utf8)))
            var tc = info?.tokenizerConfig ?? .object([("tokenizer_class", .string("PreTrainedTokenizerFast"))])
            if tc["tokenizer_class"] == nil { tc = tc.setting("tokenizer_class", .string("PreTrainedTokenizerFast")) }
            if let t = info?.chatTemplate, tc["chat_template"] == nil { tc = tc.setting("chat_template", .string(t)) }
            for (k, v) in [("bos_token", info?.bosToken), ("eos_token", info?.eosToken), ("pad_token", info?.padToken)] {
                if let v, tc[k] == nil { tc = tc.setting(k, .string(v)) }
            }
            files.append(("tokenizer_config.json", Array((tc.serialized(pretty: true) + "\n").utf8)))
        }
        // files of the source folder that belong to the tokenizer or to sentence-transformers
        if let info, !info.source.isEmpty {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: info.source, isDirectory: &isDir), isDir.boolValue {
                var extra = ["vocab.txt", "special_tokens_map.json", "merges.txt", "vocab.json"]
                if model is Encoder, (model as? Encoder)?.classifier == nil { extra += info.sentenceFiles }
                for f in extra where !files.contains(where: { $0.0 == f }) {
                    let src = (info.source as NSString).appendingPathComponent(f)
                    if fm.fileExists(atPath: src) { files.append((f, try AtomicFile.read(src))) }
                }
            }
        }
        for (f, _) in files + [("model.safetensors", [])] where !overwrite && fm.fileExists(atPath: path(f)) {
            throw LatheError("\(path(f)) exists (pass overwrite = true to replace it)")
        }
        try SafetensorsWriter.write(tensors, to: path("model.safetensors"), metadata: ["format": "pt"], floatDType: dtype, overwrite: overwrite)
        for (f, bytes) in files {
            let p = path(f)
            let sub = FilePath.parent(p)
            if !fm.fileExists(atPath: sub) {
                try Folder.create(sub)
            }
            try AtomicFile.write(bytes, to: p, overwrite: overwrite)
        }
        return ["model.safetensors"] + files.map { $0.0 }
    }

    static func decoderTensors(_ lm: DecoderLM) throws(LatheError) -> ([(name: String, tensor: Tensor)], TextJSON) {
        let c = lm.config
        let info = lm.pretrained
        var base: TextJSON = info?.config ?? .object([])
        var out: [(name: String, tensor: Tensor)] = []
        func add(_ n: String, _ t: Tensor?) { if let t { out.append((n, t)) } }
        let hd = c.headDim ?? c.dim / c.heads
        let kv = c.kvHeads ?? c.heads
        let gpt2 = c.positions == "learned" && c.norm == .layer && !c.gated
        let llama = c.positions == "rotary" && c.norm == .rms && c.gated
        guard gpt2 || llama else {
            throw LatheError("this language model has no Hugging Face equivalent (GPT-2 needs learned positions, LayerNorm and a plain MLP; Llama needs rotary positions, RMSNorm and SwiGLU)")
        }
        if gpt2 {
            guard kv == c.heads, hd * c.heads == c.dim else { throw LatheError("GPT-2 has no grouped-query attention or separate head_dim") }
            let allBias = lm.blocks.allSatisfy { b in
                let ok = [b.attn.qkv, b.attn.q, b.attn.k, b.attn.v, b.attn.o, b.mlp.up, b.mlp.down].compactMap { $0 }.allSatisfy { (($0 as? LoRAHost)?.bias) != nil }
                return ok && (b.norm1 as? LayerNorm)?.bias != nil && (b.norm2 as? LayerNorm)?.bias != nil
            }
            guard allBias, (lm.finalNorm as? LayerNorm)?.bias != nil else { throw LatheError("GPT-2 needs biases on every projection and LayerNorm") }
            if info?.family != "gpt2" { base = .object([]) }
            add("transformer.wte.weight", lm.embed.weight)
            add("transformer.wpe.weight", lm.posEmbed?.weight)
            for (i, b) in lm.blocks.enumerated() {
                let p = "transformer.h.\(i)."
                add(p + "ln_1.weight", norm(b.norm1).weight)
                add(p + "ln_1.bias", norm(b.norm1).bias)
                var w: Tensor, bias: Tensor?
                if let qkv = b.attn.qkv {
                    (w, bias) = try effective(qkv)
                } else if let q = b.attn.q, let k = b.attn.k, let v = b.attn.v {
                    let (wq, bq) = try effective(q), (wk, bk) = try effective(k), (wv, bv) = try effective(v)
                    w = try Tensor.cat([wq, wk, wv], dim: 0)
                    bias = try [bq, bk, bv].allSatisfy { $0 != nil } ? Tensor.cat([bq!, bk!, bv!], dim: 0) : nil
                } else {
                    throw LatheError("attention layer \(i) has no projections")
                }
                add(p + "attn.c_attn.weight", try w.transpose(0, 1).contiguous())
                add(p + "attn.c_attn.bias", bias)
                let (wo, bo) = try effective(b.attn.o)
                add(p + "attn.c_proj.weight", try wo.transpose(0, 1).contiguous())
                add(p + "attn.c_proj.bias", bo)
                add(p + "ln_2.weight", norm(b.norm2).weight)
                add(p + "ln_2.bias", norm(b.norm2).bias)
                let (wu, bu) = try effective(b.mlp.up), (wd, bd) = try effective(b.mlp.down)
                add(p + "mlp.c_fc.weight", try wu.transpose(0, 1).contiguous())
                add(p + "mlp.c_fc.bias", bu)
                add(p + "mlp.c_proj.weight", try wd.transpose(0, 1).contiguous())
                add(p + "mlp.c_proj.bias", bd)
            }
            add("transformer.ln_f.weight", norm(lm.finalNorm).weight)
            add("transformer.ln_f.bias", norm(lm.finalNorm).bias)
            if let head = lm.head { add("lm_head.weight", try effective(head).weight) }
            var cfg = base
            for (k, v): (String, TextJSON) in [
                ("architectures", .array([.string("GPT2LMHeadModel")])), ("model_type", .string("gpt2")),
                ("vocab_size", .int(c.vocab)), ("n_embd", .int(c.dim)), ("n_layer", .int(c.layers)), ("n_head", .int(c.heads)),
                ("n_inner", .int(c.hidden ?? 4 * c.dim)), ("n_positions", .int(c.maxSeq)), ("layer_norm_epsilon", .float(c.normEps)),
                ("activation_function", .string(actName(c.activation))), ("tie_word_embeddings", .bool(c.tieEmbeddings)),
                ("resid_pdrop", .float(c.dropout)), ("embd_pdrop", .float(c.dropout)), ("attn_pdrop", .float(c.dropout)),
                ("scale_attn_weights", .bool(true)), ("scale_attn_by_inverse_layer_idx", .bool(false)),
            ] { cfg = cfg.setting(k, v) }
            if info?.config == nil { cfg = cfg.setting("bos_token_id", .int(0)).setting("eos_token_id", .int(0)) }
            return (out, cfg)
        }
        // Llama family
        var qkvBias = false, oBias = false, mlpBias = false
        if let b0 = lm.blocks.first {
            if let q = b0.attn.q ?? b0.attn.qkv { qkvBias = (q as? LoRAHost)?.bias != nil }
            oBias = (b0.attn.o as? LoRAHost)?.bias != nil
            mlpBias = (b0.mlp.up as? LoRAHost)?.bias != nil
        }
        var type = info?.family ?? "llama"
        if !["llama", "mistral", "qwen2"].contains(type) { type = "llama" }
        if qkvBias && !oBias && !mlpBias { type = "qwen2" }
        else if type == "qwen2" || (type == "mistral" && (qkvBias || oBias || mlpBias)) { type = "llama" }
        if type == "llama" && qkvBias != oBias {
            throw LatheError("Llama needs biases on all of q, k, v, o or on none (Qwen2: q, k, v only)")
        }
        if info?.family != type { base = .object([]) }
        add("model.embed_tokens.weight", lm.embed.weight)
        for (i, b) in lm.blocks.enumerated() {
            let p = "model.layers.\(i)."
            add(p + "input_layernorm.weight", norm(b.norm1).weight)
            let projections: [(String, Tensor, Tensor?)]
            if let qkv = b.attn.qkv {
                let (w, bias) = try effective(qkv)
                let qw = c.heads * hd, kw = kv * hd
                projections = [("q_proj", try w.narrow(0, 0, qw).contiguous(), try bias?.narrow(0, 0, qw).contiguous()),
                               ("k_proj", try w.narrow(0, qw, kw).contiguous(), try bias?.narrow(0, qw, kw).contiguous()),
                               ("v_proj", try w.narrow(0, qw + kw, kw).contiguous(), try bias?.narrow(0, qw + kw, kw).contiguous())]
            } else if let q = b.attn.q, let k = b.attn.k, let v = b.attn.v {
                let (wq, bq) = try effective(q), (wk, bk) = try effective(k), (wv, bv) = try effective(v)
                projections = [("q_proj", wq, bq), ("k_proj", wk, bk), ("v_proj", wv, bv)]
            } else {
                throw LatheError("attention layer \(i) has no projections")
            }
            for (n, w, bias) in projections {
                add(p + "self_attn.\(n).weight", w)
                add(p + "self_attn.\(n).bias", bias)
            }
            let (wo, bo) = try effective(b.attn.o)
            add(p + "self_attn.o_proj.weight", wo)
            add(p + "self_attn.o_proj.bias", bo)
            add(p + "post_attention_layernorm.weight", norm(b.norm2).weight)
            guard let gate = b.mlp.gate else { throw LatheError("layer \(i) has no gate projection (SwiGLU)") }
            for (n, m) in [("gate_proj", gate), ("up_proj", b.mlp.up), ("down_proj", b.mlp.down)] {
                let (w, bias) = try effective(m)
                add(p + "mlp.\(n).weight", w)
                add(p + "mlp.\(n).bias", bias)
            }
        }
        add("model.norm.weight", norm(lm.finalNorm).weight)
        if let head = lm.head { add("lm_head.weight", try effective(head).weight) }
        let arch = ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"][type] ?? "LlamaForCausalLM"
        var cfg = base.removing("rope_parameters").removing("rope_scaling")
        let maxPos = base["max_position_embeddings"]?.intValue.map { max($0, c.maxSeq) } ?? c.maxSeq
        for (k, v): (String, TextJSON) in [
            ("architectures", .array([.string(arch)])), ("model_type", .string(type)),
            ("vocab_size", .int(c.vocab)), ("hidden_size", .int(c.dim)), ("intermediate_size", .int(c.hidden ?? 4 * c.dim)),
            ("num_hidden_layers", .int(c.layers)), ("num_attention_heads", .int(c.heads)), ("num_key_value_heads", .int(kv)),
            ("head_dim", .int(hd)), ("hidden_act", .string(actName(c.activation))), ("max_position_embeddings", .int(maxPos)),
            ("rms_norm_eps", .float(c.normEps)), ("rope_theta", .double(c.ropeTheta)),
            ("tie_word_embeddings", .bool(c.tieEmbeddings)),
        ] { cfg = cfg.setting(k, v) }
        if let s = c.ropeScaling {
            var rs: [(String, TextJSON)] = [("rope_type", .string(s.kind.rawValue)), ("factor", .double(s.factor))]
            if s.kind == .llama3 {
                rs += [("low_freq_factor", .double(s.lowFreqFactor)), ("high_freq_factor", .double(s.highFreqFactor)),
                       ("original_max_position_embeddings", .int(s.originalMaxPositions))]
            }
            cfg = cfg.setting("rope_scaling", .object(rs))
        }
        switch type {
        case "llama":
            cfg = cfg.setting("attention_bias", .bool(qkvBias)).setting("mlp_bias", .bool(mlpBias))
        case "mistral":
            if cfg["sliding_window"] == nil { cfg = cfg.setting("sliding_window", .null) }
        default:
            cfg = cfg.setting("use_sliding_window", .bool(false))
        }
        return (out, cfg)
    }

    static func encoderTensors(_ enc: Encoder) throws(LatheError) -> ([(name: String, tensor: Tensor)], TextJSON) {
        let c = enc.config
        let info = enc.pretrained
        let layout = HF.layout(of: enc) ?? .bert(classifier: false)
        let classifierModel = layout.nested
        var out: [(name: String, tensor: Tensor)] = []
        let modules = enc.namedModules()
        var covered = Set<String>()
        for (p, m) in modules {
            guard m is LoRAHost else { continue }
            let (w, b) = try effective(m)
            let name = layout.hfName(p)
            out.append((name + ".weight", w))
            if let b { out.append((name + ".bias", b)) }
            covered.insert(p + ".weight")
            covered.insert(p + ".bias")
        }
        for (p, t) in enc.namedParameters() where !covered.contains(p) && !p.contains(".lora_A.") && !p.contains(".lora_B.") {
            out.append((layout.hfName(p), t))
        }
        var cfg: TextJSON = info?.family == "bert" ? (info?.config ?? .object([])) : .object([])
        for (k, v): (String, TextJSON) in [
            ("architectures", .array([.string(layout.architecture)])), ("model_type", .string("bert")),
            ("vocab_size", .int(c.vocab)), ("hidden_size", .int(c.dim)), ("num_hidden_layers", .int(c.layers)),
            ("num_attention_heads", .int(c.heads)), ("intermediate_size", .int(c.hidden ?? 4 * c.dim)),
            ("max_position_embeddings", .int(c.maxSeq)), ("type_vocab_size", .int(c.typeVocab)),
            ("layer_norm_eps", .float(c.normEps)), ("hidden_act", .string(actName(c.activation))),
            ("position_embedding_type", .string("absolute")),
        ] { cfg = cfg.setting(k, v) }
        cfg = cfg.removing("id2label").removing("label2id").removing("lathe_pooling")
        if let head = enc.classifier {
            let n = head.outFeatures
            let names = info?.labels ?? (0..<n).map { "LABEL_\($0)" }
            cfg = cfg.setting("id2label", .object(names.enumerated().map { (String($0.offset), .string($0.element)) }))
            cfg = cfg.setting("label2id", .object(names.enumerated().map { ($0.element, .int($0.offset)) }))
            if !classifierModel { cfg = cfg.setting("lathe_pooling", .string(enc.pooling)) }
        }
        if c.typeVocab == 0 { throw LatheError("BERT needs token type embeddings (type_vocab_size > 0)") }
        return (out, cfg)
    }
}
