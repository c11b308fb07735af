import Foundation

/// Cost, resource and time calculators: parameter counts of real architectures, LoRA
/// trainable counts, memory for inference and training, FLOPs and time, cloud money and
/// planning. Everything lives in this namespace so the names never clash with other areas.
public enum Cost {}

extension Cost {
    /// A JSON-like value: what a Hugging Face `config.json` (or a Lua table) holds.
    public indirect enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        /// A short description for error messages.
        public var describe: String {
            switch self {
            case .null: return "null"
            case .bool(let b): return "boolean \(b)"
            case .int(let i): return "integer \(i)"
            case .double(let d): return "number \(d)"
            case .string(let s): return "string \"\(s.count > 30 ? String(s.prefix(27)) + "..." : s)\""
            case .array: return "array"
            case .object: return "object"
            }
        }
    }

    /// Parses JSON text into a `Value` (JSONSerialization underneath; booleans, integers and
    /// floats kept apart).
    public static func parseJSON(_ bytes: [UInt8], source: String) throws(LatheError) -> Value {
        let obj: Any
        do {
            obj = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw LatheError("\(source) is not valid JSON (\(error.localizedDescription))")
        }
        return convert(obj)
    }

    static func convert(_ v: Any) -> Value {
        switch v {
        case is NSNull: return .null
        case let s as String: return .string(s)
        case let n as NSNumber:
            let t = String(cString: n.objCType)
            if t == "c" || t == "B" { return .bool(n.boolValue) }
            if t == "d" || t == "f" { return .double(n.doubleValue) }
            return .int(n.intValue)
        case let a as [Any]: return .array(a.map(convert))
        case let d as [String: Any]:
            var out: [String: Value] = [:]
            for (k, x) in d { out[k] = convert(x) }
            return .object(out)
        default: return .string("\(v)")
        }
    }

    /// Reads a Hugging Face config: a `config.json` file, or a folder holding one.
    public static func loadConfig(path: String) throws(LatheError) -> [String: Value] {
        var file = path
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            file = (path as NSString).appendingPathComponent("config.json")
            if !FileManager.default.fileExists(atPath: file) {
                throw LatheError("\(path) is a folder without a config.json (pass the config.json of a Hugging Face model, or a table)")
            }
        }
        let bytes = try AtomicFile.read(file)
        guard case .object(let o) = try parseJSON(bytes, source: file) else {
            throw LatheError("\(file) does not hold a JSON object (expected a Hugging Face config.json)")
        }
        return o
    }
}

// MARK: - Architecture

extension Cost {
    /// The model classes whose parameters can be counted: the bare backbone (`AutoModel`),
    /// the causal language model (`AutoModelForCausalLM`, adds the output head) and sequence
    /// classification (`AutoModelForSequenceClassification`).
    public enum Head: Sendable, Equatable {
        case base
        case causalLM
        case sequenceClassification(labels: Int)

        public var name: String {
            switch self {
            case .base: return "base"
            case .causalLM: return "causal_lm"
            case .sequenceClassification: return "seq_cls"
            }
        }

        /// The names `head(named:labels:)` reads.
        public static let names = ["causal_lm", "base", "seq_cls"]
        /// Classes of a sequence-classification head when none are given (transformers' default).
        public static let defaultLabels = 2

        /// The head a name and a label count ask for; nil: the model type's default (causal LM
        /// for decoders, the bare model for encoders). A label count alone means a
        /// sequence-classification head.
        public static func named(_ name: String?, labels: Int? = nil) throws(LatheError) -> Head? {
            switch name {
            case nil: return labels.map { .sequenceClassification(labels: $0) }
            case "base": return .base
            case "causal_lm": return .causalLM
            case "seq_cls": return .sequenceClassification(labels: labels ?? defaultLabels)
            case let other?: throw LatheError("head must be one of \"causal_lm\", \"base\", \"seq_cls\" (got \"\(other)\")")
            }
        }
    }

    /// Families with the same module layout.
    public enum Family: String, Sendable {
        case llama      // llama, mistral, qwen2, qwen3, gemma, phi3: RMSNorm, RoPE, gated MLP
        case gpt2
        case bert       // bert, roberta
        case distilbert
    }

    public enum NormKind: String, Sendable {
        case layerNorm      // torch LayerNorm (weight and bias)
        case rmsNorm        // HF LlamaRMSNorm: computes in fp32
        case gemmaRMSNorm   // HF GemmaRMSNorm: x.float(), scale (1 + w)
    }

    /// The facts of one architecture that the calculators need, read from a config.
    public struct Architecture: Sendable {
        public var modelType: String
        public var family: Family
        public var hidden: Int
        public var layers: Int
        public var heads: Int
        public var kvHeads: Int
        public var headDim: Int
        public var intermediate: Int
        public var vocab: Int
        public var maxPositions: Int
        public var typeVocab: Int
        public var tiedEmbeddings: Bool
        public var attentionBias: Bool      // q/k/v (and o for some) carry a bias
        public var outputBias: Bool         // o_proj bias
        public var mlpBias: Bool
        public var qkNorm: Bool             // qwen3: RMSNorm on q and k per head
        public var fusedQKV: Bool           // phi3 qkv_proj, gate_up_proj
        public var gated: Bool              // SwiGLU / GeGLU
        public var activation: String
        public var norm: NormKind
        public var attentionDropout: Double
        public var hiddenDropout: Double
        public var embeddingDropout: Double
        public var defaultDType: String?    // torch_dtype of the checkpoint
        public var isDecoder: Bool { family == .llama || family == .gpt2 }
        /// Width of all query heads (heads x head_dim; may differ from hidden).
        public var qWidth: Int { heads * headDim }
        public var kvWidth: Int { kvHeads * headDim }
    }

    static let supportedTypes = ["llama", "mistral", "qwen2", "qwen3", "gemma", "phi3", "gpt2",
                                 "bert", "roberta", "distilbert"]

    /// Reads the architecture from a config. Errors say which field is missing and what the
    /// family needs.
    public static func architecture(_ c: [String: Value]) throws(LatheError) -> Architecture {
        guard let mtv = c["model_type"] else {
            throw LatheError("config has no 'model_type' (add model_type = \"llama\" or one of: \(supportedTypes.joined(separator: ", ")))")
        }
        guard case .string(let mt) = mtv else {
            throw LatheError("config field 'model_type' must be a string (got \(mtv.describe))")
        }
        let r = ConfigReader(config: c, modelType: mt)
        switch mt {
        case "llama", "mistral", "qwen2", "qwen3", "gemma", "phi3":
            r.needs = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"]
            let h = try r.int("hidden_size")
            let heads = try r.int("num_attention_heads")
            let kv = try r.optInt("num_key_value_heads") ?? heads
            let hd = try r.optInt("head_dim") ?? (h / max(heads, 1))
            if try r.optInt("head_dim") == nil && h % heads != 0 {
                throw LatheError("config: hidden_size \(h) is not divisible by num_attention_heads \(heads) (add 'head_dim')")
            }
            if heads % kv != 0 {
                throw LatheError("config: num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kv)")
            }
            let tieDefault = mt == "gemma"
            var act = try r.optString("hidden_act") ?? (mt == "gemma" ? "gelu_pytorch_tanh" : "silu")
            if mt == "gemma" && act == "gelu" { act = "gelu_pytorch_tanh" }
            // Qwen2 always has q/k/v biases (no o_proj bias); Phi-3 has none; the others follow
            // attention_bias (q, k, v and o together).
            let attnBiasField = try r.optBool("attention_bias") ?? false
            let attnBias = mt == "qwen2" ? true : mt == "phi3" ? false : attnBiasField
            let mlpBias = try r.optBool("mlp_bias") ?? false
            let resid = try r.optDouble("resid_pdrop") ?? 0
            var dt = try r.optString("torch_dtype")
            if dt == nil { dt = try r.optString("dtype") }
            return Architecture(
                modelType: mt, family: .llama, hidden: h, layers: try r.int("num_hidden_layers"),
                heads: heads, kvHeads: kv, headDim: hd, intermediate: try r.int("intermediate_size"),
                vocab: try r.int("vocab_size"),
                maxPositions: try r.optInt("max_position_embeddings") ?? 2048, typeVocab: 0,
                tiedEmbeddings: try r.optBool("tie_word_embeddings") ?? tieDefault,
                attentionBias: attnBias,
                outputBias: mt == "qwen2" ? false : attnBias,
                mlpBias: mt == "llama" ? mlpBias : false,
                qkNorm: mt == "qwen3", fusedQKV: mt == "phi3", gated: true, activation: act,
                norm: mt == "gemma" ? .gemmaRMSNorm : .rmsNorm,
                attentionDropout: try r.optDouble("attention_dropout") ?? 0,
                hiddenDropout: mt == "phi3" ? resid : 0,
                embeddingDropout: 0,   // Phi-3 does not apply embd_pdrop
                defaultDType: dt)
        case "gpt2":
            r.needs = ["n_embd", "n_layer", "n_head", "vocab_size", "n_positions"]
            let h = try r.int("n_embd")
            let heads = try r.int("n_head")
            if h % heads != 0 {
                throw LatheError("config: n_embd \(h) is not divisible by n_head \(heads)")
            }
            return Architecture(
                modelType: mt, family: .gpt2, hidden: h, layers: try r.int("n_layer"), heads: heads,
                kvHeads: heads, headDim: h / heads, intermediate: try r.optInt("n_inner") ?? 4 * h,
                vocab: try r.int("vocab_size"), maxPositions: try r.int("n_positions"), typeVocab: 0,
                tiedEmbeddings: true, attentionBias: true, outputBias: true, mlpBias: true,
                qkNorm: false, fusedQKV: true, gated: false,
                activation: try r.optString("activation_function") ?? "gelu_new", norm: .layerNorm,
                attentionDropout: try r.optDouble("attn_pdrop") ?? 0.1,
                hiddenDropout: try r.optDouble("resid_pdrop") ?? 0.1,
                embeddingDropout: try r.optDouble("embd_pdrop") ?? 0.1,
                defaultDType: try r.optString("torch_dtype"))
        case "bert", "roberta":
            r.needs = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "max_position_embeddings"]
            let h = try r.int("hidden_size")
            let heads = try r.int("num_attention_heads")
            if h % heads != 0 {
                throw LatheError("config: hidden_size \(h) is not divisible by num_attention_heads \(heads)")
            }
            if let pe = try r.optString("position_embedding_type"), pe != "absolute" {
                throw LatheError("config: position_embedding_type '\(pe)' is not supported (only \"absolute\")")
            }
            let hp = try r.optDouble("hidden_dropout_prob") ?? 0.1
            return Architecture(
                modelType: mt, family: .bert, hidden: h, layers: try r.int("num_hidden_layers"),
                heads: heads, kvHeads: heads, headDim: h / heads, intermediate: try r.int("intermediate_size"),
                vocab: try r.int("vocab_size"), maxPositions: try r.int("max_position_embeddings"),
                typeVocab: try r.optInt("type_vocab_size") ?? 2,
                tiedEmbeddings: false, attentionBias: true, outputBias: true, mlpBias: true,
                qkNorm: false, fusedQKV: false, gated: false,
                activation: try r.optString("hidden_act") ?? "gelu", norm: .layerNorm,
                attentionDropout: try r.optDouble("attention_probs_dropout_prob") ?? 0.1,
                hiddenDropout: hp, embeddingDropout: hp,
                defaultDType: try r.optString("torch_dtype"))
        case "distilbert":
            r.needs = ["dim", "hidden_dim", "n_layers", "n_heads", "vocab_size", "max_position_embeddings"]
            let h = try r.int("dim")
            let heads = try r.int("n_heads")
            if h % heads != 0 {
                throw LatheError("config: dim \(h) is not divisible by n_heads \(heads)")
            }
            let dp = try r.optDouble("dropout") ?? 0.1
            return Architecture(
                modelType: mt, family: .distilbert, hidden: h, layers: try r.int("n_layers"),
                heads: heads, kvHeads: heads, headDim: h / heads, intermediate: try r.int("hidden_dim"),
                vocab: try r.int("vocab_size"), maxPositions: try r.int("max_position_embeddings"),
                typeVocab: 0, tiedEmbeddings: false, attentionBias: true, outputBias: true,
                mlpBias: true, qkNorm: false, fusedQKV: false, gated: false,
                activation: try r.optString("activation") ?? "gelu", norm: .layerNorm,
                attentionDropout: try r.optDouble("attention_dropout") ?? 0.1,
                hiddenDropout: dp, embeddingDropout: dp,
                defaultDType: try r.optString("torch_dtype"))
        default:
            throw LatheError("unknown architecture '\(mt)' (model_type in the config); supported: \(supportedTypes.joined(separator: ", "))")
        }
    }

    /// Typed access to config fields with errors that name the field and what the family needs.
    final class ConfigReader {
        let config: [String: Value]
        let modelType: String
        var needs: [String] = []
        init(config: [String: Value], modelType: String) {
            self.config = config
            self.modelType = modelType
        }

        func missing(_ key: String) -> LatheError {
            LatheError("config has no '\(key)' (a \(modelType) config needs \(needs.joined(separator: ", ")))")
        }

        func int(_ key: String) throws(LatheError) -> Int {
            guard let v = try optInt(key) else { throw missing(key) }
            return v
        }

        func optInt(_ key: String) throws(LatheError) -> Int? {
            guard let v = config[key] else { return nil }
            let n: Int
            switch v {
            case .null: return nil
            case .int(let i): n = i
            case .double(let d) where d == d.rounded() && abs(d) < 9e15: n = Int(d)
            default: throw LatheError("config field '\(key)' must be a positive integer (got \(v.describe))")
            }
            if n <= 0 { throw LatheError("config field '\(key)' must be a positive integer (got \(n))") }
            // real models are far below these; the bounds keep every product exact in 64 bits
            let limit = key.hasSuffix("layers") || key == "n_layer" ? 10_000 : 1 << 26
            if n > limit { throw LatheError("config field '\(key)' is \(n), larger than any real model (at most \(limit))") }
            return n
        }

        func optDouble(_ key: String) throws(LatheError) -> Double? {
            guard let v = config[key] else { return nil }
            switch v {
            case .null: return nil
            case .int(let i): return Double(i)
            case .double(let d): return d
            default: throw LatheError("config field '\(key)' must be a number (got \(v.describe))")
            }
        }

        func optBool(_ key: String) throws(LatheError) -> Bool? {
            guard let v = config[key] else { return nil }
            switch v {
            case .null: return nil
            case .bool(let b): return b
            default: throw LatheError("config field '\(key)' must be true or false (got \(v.describe))")
            }
        }

        func optString(_ key: String) throws(LatheError) -> String? {
            guard let v = config[key] else { return nil }
            switch v {
            case .null: return nil
            case .string(let s): return s
            default: throw LatheError("config field '\(key)' must be a string (got \(v.describe))")
            }
        }
    }
}
