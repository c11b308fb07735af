import Foundation

extension HF {
    /// Reads tokenizer.json, tokenizer_config.json (special tokens, chat template),
    /// chat_template.jinja and generation_config.json of a model folder into `info`.
    static func attachTokenizer(dir: String, cfg: HFConfig, info: PretrainedInfo) throws(LatheError) {
        let fm = FileManager.default
        func path(_ f: String) -> String { (dir as NSString).appendingPathComponent(f) }
        if fm.fileExists(atPath: path("tokenizer.json")) {
            info.tokenizer = try TextTokenizer.load(path: path("tokenizer.json"))
        }
        if fm.fileExists(atPath: path("tokenizer_config.json")) {
            let tc = try HFConfig(path: path("tokenizer_config.json"))
            info.tokenizerConfig = tc.json
            func token(_ k: String) -> String? {
                guard let v = tc[k] else { return nil }
                return v.stringValue ?? v["content"]?.stringValue
            }
            info.bosToken = token("bos_token")
            info.eosToken = token("eos_token")
            info.padToken = token("pad_token")
            if let t = tc["chat_template"] {
                if let s = t.stringValue {
                    info.chatTemplate = s
                } else if let list = t.arrayValue {
                    // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
                    let named = list.first { $0["name"]?.stringValue == "default" } ?? list.first
                    info.chatTemplate = named?["template"]?.stringValue
                }
            }
        }
        // transformers 5 writes the template to its own file
        if fm.fileExists(atPath: path("chat_template.jinja")) {
            let b = try AtomicFile.read(path("chat_template.jinja"))
            info.chatTemplate = String(decoding: b, as: UTF8.self)
        }
        var eos = cfg.ids("eos_token_id")
        if fm.fileExists(atPath: path("generation_config.json")), let g = try? HFConfig(path: path("generation_config.json")) {
            eos += g.ids("eos_token_id")
        }
        if let t = info.eosToken, let id = info.tokenizer?.tokenToId(t) { eos.append(id) }
        var seen = Set<Int>()
        info.eosIDs = eos.filter { seen.insert($0).inserted }
    }

    /// The `tokenizer.json` content equivalent to a GGUF file's embedded byte-level BPE
    /// tokenizer (`tokenizer.ggml.model` "gpt2"), with the pre-tokenizer llama.cpp names in
    /// `tokenizer.ggml.pre` (smollm, gpt2, llama-bpe, qwen2, ...).
    public static func tokenizerJSON(_ t: GGUFTokenizer, path: String) throws(LatheError) -> TextJSON {
        guard t.model == "gpt2" else {
            throw LatheError("\(path): the embedded tokenizer is '\(t.model)'; Lathe builds byte-level BPE tokenizers ('gpt2') from GGUF files (SentencePiece 'llama' tokenizers are not supported yet)")
        }
        let byteLevel: (Bool) -> TextJSON = { regex in
            .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(regex))])
        }
        func split(_ pattern: String) -> TextJSON {
            .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(pattern))])),
                     ("behavior", .string("Isolated")), ("invert", .bool(false))])
        }
        let llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
        let qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
        let pre: TextJSON
        switch t.pre ?? "default" {
        case "smollm":
            pre = .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Digits")), ("individual_digits", .bool(true))]), byteLevel(true)]))])
        case "gpt2", "default", "gpt-2":
            pre = byteLevel(true)
        case "llama-bpe", "llama3", "smaug-bpe":
            pre = .object([("type", .string("Sequence")), ("pretokenizers", .array([split(llama3), byteLevel(false)]))])
        case "qwen2":
            pre = .object([("type", .string("Sequence")), ("pretokenizers", .array([split(qwen2), byteLevel(false)]))])
        case let other:
            throw LatheError("\(path): the tokenizer's pre-tokenizer '\(other)' is not supported (supported: smollm, gpt2, llama-bpe, qwen2)")
        }
        var vocab: [(String, TextJSON)] = []
        vocab.reserveCapacity(t.tokens.count)
        var seen = Set<String>()
        for (i, tok) in t.tokens.enumerated() where seen.insert(tok).inserted { vocab.append((tok, .int(i))) }
        var merges: [TextJSON] = []
        merges.reserveCapacity(t.merges.count)
        for (k, m) in t.merges.enumerated() {
            let parts = m.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw LatheError("\(path): tokenizer merge \(k + 1) '\(m)' is not two tokens separated by a space") }
            merges.append(.array([.string(String(parts[0])), .string(String(parts[1]))]))
        }
        var added: [TextJSON] = []
        for (i, type) in (t.tokenTypes ?? []).enumerated() where type == 3 || type == 4 {
            added.append(.object([("id", .int(i)), ("content", .string(t.tokens[i])), ("single_word", .bool(false)),
                                  ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)),
                                  ("special", .bool(type == 3))]))
        }
        var post: TextJSON = .null
        if t.addBOS == true || t.addEOS == true {
            var single: [TextJSON] = [], pair: [TextJSON] = []
            var specials: [(String, TextJSON)] = []
            func special(_ id: Int?, _ typeID: Int) -> TextJSON? {
                guard let id else { return nil }
                let s = t.tokens[id]
                if !specials.contains(where: { $0.0 == s }) {
                    specials.append((s, .object([("id", .string(s)), ("ids", .array([.int(id)])), ("tokens", .array([.string(s)]))])))
                }
                return .object([("SpecialToken", .object([("id", .string(s)), ("type_id", .int(typeID))]))])
            }
            func seq(_ n: String, _ typeID: Int) -> TextJSON { .object([("Sequence", .object([("id", .string(n)), ("type_id", .int(typeID))]))]) }
            if t.addBOS == true, let b = special(t.bosID, 0) { single.append(b); pair.append(b) }
            single.append(seq("A", 0)); pair.append(seq("A", 0))
            if t.addEOS == true, let e = special(t.eosID, 0) { single.append(e); pair.append(e) }
            if t.addBOS == true, let b = special(t.bosID, 1) { pair.append(b) }
            pair.append(seq("B", 1))
            if t.addEOS == true, let e = special(t.eosID, 1) { pair.append(e) }
            post = .object([("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
                            ("special_tokens", .object(specials))])
        }
        let model: TextJSON = .object([
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
            ("ignore_merges", .bool(false)), ("vocab", .object(vocab)), ("merges", .array(merges)),
        ])
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)),
            ("normalizer", .null), ("pre_tokenizer", pre), ("post_processor", post),
            ("decoder", .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])),
            ("model", model),
        ])
    }
}
