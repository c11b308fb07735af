import Foundation

/// What a pretrained model carries besides its weights: where it came from, its Hugging Face
/// config, tokenizer, chat template and label names. Attached to the model as
/// `Module.pretrained` by the `HF` loaders and used by `HF.save`, `HF.embed` and `HF.chat`.
public final class PretrainedInfo: @unchecked Sendable {
    /// "bert", "llama", "mistral", "qwen2" or "gpt2".
    public var family: String
    /// The folder or file loaded.
    public var source: String
    /// config.json as read (nil when the model came from a GGUF file).
    public var config: TextJSON?
    /// tokenizer_config.json as read, if any.
    public var tokenizerConfig: TextJSON?
    public var tokenizer: TextTokenizer?
    /// The Jinja chat template (tokenizer_config.json, chat_template.jinja or the GGUF file).
    public var chatTemplate: String?
    public var bosToken: String?, eosToken: String?, padToken: String?
    /// Ids that end generation (config, generation_config and tokenizer eos tokens).
    public var eosIDs: [Int] = []
    /// Class names of a classification head, by class id.
    public var labels: [String]?
    /// sentence-transformers settings: the Transformer module's max_seq_length, the Pooling
    /// mode, and whether a Normalize module follows.
    public var sentenceMaxLength: Int?
    public var sentencePooling: String?
    public var normalizeEmbeddings = false
    /// Files of a sentence-transformers folder to copy when saving (relative paths).
    public var sentenceFiles: [String] = []
    /// True when linear layers were kept in ggml block formats.
    public var quantized = false

    public init(family: String, source: String) {
        self.family = family
        self.source = source
    }
}

/// Typed access to a config.json with error messages that name the file and the key.
struct HFConfig {
    let json: TextJSON
    let path: String

    init(path: String) throws(LatheError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw LatheError("\(path): no such file (a Hugging Face model folder has a config.json)")
        }
        let bytes = try AtomicFile.read(path)
        let j: TextJSON
        do { j = try TextJSON.parse(bytes) } catch {
            throw LatheError("\(path): not valid JSON: \(error.message)")
        }
        guard case .object = j else { throw LatheError("\(path): expected a JSON object (got \(j.kindName))") }
        json = j
    }

    init(json: TextJSON, path: String) {
        self.json = json
        self.path = path
    }

    subscript(_ k: String) -> TextJSON? {
        guard let v = json[k], !v.isNull else { return nil }
        return v
    }

    func has(_ k: String) -> Bool { self[k] != nil }

    func int(_ k: String, _ def: Int? = nil, min lo: Int = 1) throws(LatheError) -> Int {
        guard let v = self[k] else {
            if let def { return def }
            throw LatheError("\(path): '\(k)' is missing")
        }
        guard let i = v.intValue, i >= lo else {
            throw LatheError("\(path): '\(k)' must be an integer >= \(lo) (got \(v.serialized(pretty: false)))")
        }
        return i
    }

    func double(_ k: String, _ def: Double? = nil) throws(LatheError) -> Double {
        guard let v = self[k] else {
            if let def { return def }
            throw LatheError("\(path): '\(k)' is missing")
        }
        guard let d = v.doubleValue, d.isFinite else {
            throw LatheError("\(path): '\(k)' must be a number (got \(v.serialized(pretty: false)))")
        }
        return d
    }

    func bool(_ k: String, _ def: Bool) throws(LatheError) -> Bool {
        guard let v = self[k] else { return def }
        guard let b = v.boolValue else { throw LatheError("\(path): '\(k)' must be true or false (got \(v.serialized(pretty: false)))") }
        return b
    }

    func string(_ k: String) throws(LatheError) -> String? {
        guard let v = self[k] else { return nil }
        guard let s = v.stringValue else { throw LatheError("\(path): '\(k)' must be a string (got \(v.serialized(pretty: false)))") }
        return s
    }

    /// Token ids of a key that holds an integer or a list of integers.
    func ids(_ k: String) -> [Int] {
        guard let v = self[k] else { return [] }
        if let i = v.intValue { return [i] }
        return v.arrayValue?.compactMap { $0.intValue } ?? []
    }
}

extension TextJSON {
    /// A copy of an object with `key` set (replaced in place, or appended).
    func setting(_ key: String, _ value: TextJSON) -> TextJSON {
        guard case .object(var fields) = self else { return .object([(key, value)]) }
        if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = value } else { fields.append((key, value)) }
        return .object(fields)
    }

    /// A copy of an object without `key`.
    func removing(_ key: String) -> TextJSON {
        guard case .object(let fields) = self else { return self }
        return .object(fields.filter { $0.0 != key })
    }

    /// An object with its keys sorted (as transformers writes config.json).
    var sortedKeys: TextJSON {
        guard case .object(let fields) = self else { return self }
        return .object(fields.sorted { $0.0 < $1.0 })
    }
}

extension HF {
    /// What `attach` gives a model; nil fields leave the model's own.
    public struct Attachments {
        public var tokenizer: TextTokenizer?
        public var chatTemplate: String?
        public var bosToken: String?, eosToken: String?, padToken: String?
        /// Ids that end generation (replacing the model's).
        public var eosIDs: [Int]?
        public var labels: [String]?
        public init() {}
    }

    /// Gives a model (one built from scratch, or a checkpoint to amend) a tokenizer, chat
    /// template, special tokens or label names. The template is parsed now, so a bad one fails
    /// here; an eos token also ends generation (its id joins the eos ids).
    public static func attach(_ model: Module, _ a: Attachments) throws(LatheError) {
        let info = model.pretrained ?? PretrainedInfo(family: model is Encoder ? "bert" : "llama", source: "")
        if let t = a.tokenizer { info.tokenizer = t }
        if let t = a.chatTemplate {
            _ = try ChatTemplate(t)
            info.chatTemplate = t
        }
        if let b = a.bosToken { info.bosToken = b }
        if let p = a.padToken { info.padToken = p }
        if let e = a.eosToken {
            info.eosToken = e
            if let id = info.tokenizer?.tokenToId(e), !info.eosIDs.contains(id) { info.eosIDs.append(id) }
        }
        if let ids = a.eosIDs { info.eosIDs = ids }
        if let l = a.labels { info.labels = l }
        model.pretrained = info
    }

    /// How an encoder pools token states: its classification head's pooling when it has one
    /// ("pooler", "mean" or "cls"), else the sentence-transformers pooling `embed` uses; nil
    /// for other models.
    public static func pooling(of model: Module) -> String? {
        guard let e = model as? Encoder else { return nil }
        return e.classifier != nil ? e.pooling : (model.pretrained?.sentencePooling ?? e.pooling)
    }
}
