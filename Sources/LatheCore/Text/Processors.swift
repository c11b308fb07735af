import Foundation

/// The result of encoding one text (or a pair): ids and everything aligned with them, as the
/// Python library's `Encoding` holds it. Offsets are byte offsets into the input text.
public struct TextEncoding: Sendable {
    public var ids: [Int] = []
    public var typeIds: [Int] = []
    /// Token strings (empty when the encode call did not ask for them).
    public var tokens: [String] = []
    public var offsets: [(start: Int, end: Int)] = []
    /// The index of the word (pre-tokenized piece) each token comes from; nil for added specials.
    public var wordIds: [Int?] = []
    public var specialTokensMask: [Int] = []
    public var attentionMask: [Int] = []

    public init() {}

    public var count: Int { ids.count }

    mutating func append(_ o: TextEncoding) {
        ids += o.ids
        typeIds += o.typeIds
        tokens += o.tokens
        offsets += o.offsets
        wordIds += o.wordIds
        specialTokensMask += o.specialTokensMask
        attentionMask += o.attentionMask
    }

    mutating func setTypeIds(_ t: Int) {
        for k in typeIds.indices { typeIds[k] = t }
    }

    static func specials(ids: [Int], tokens: [String], typeId: Int, withTokens: Bool) -> TextEncoding {
        var e = TextEncoding()
        e.ids = ids
        e.typeIds = [Int](repeating: typeId, count: ids.count)
        if withTokens { e.tokens = tokens }
        e.offsets = [(start: Int, end: Int)](repeating: (0, 0), count: ids.count)
        e.wordIds = [Int?](repeating: nil, count: ids.count)
        e.specialTokensMask = [Int](repeating: 1, count: ids.count)
        e.attentionMask = [Int](repeating: 1, count: ids.count)
        return e
    }

    /// Keeps `maxLen` tokens (from the right end when `left`).
    mutating func truncate(_ maxLen: Int, left: Bool) {
        guard maxLen < ids.count else { return }
        func cut<T>(_ a: inout [T]) {
            if a.isEmpty { return }
            a = left ? Array(a[(a.count - maxLen)...]) : Array(a[..<maxLen])
        }
        cut(&ids); cut(&typeIds); cut(&tokens); cut(&offsets); cut(&wordIds); cut(&specialTokensMask); cut(&attentionMask)
    }

    /// Pads to `length` tokens.
    mutating func pad(to length: Int, id: Int, typeId: Int, token: String, left: Bool, withTokens: Bool) {
        let k = length - ids.count
        guard k > 0 else { return }
        func ins<T>(_ a: inout [T], _ v: T) {
            if left { a.insert(contentsOf: repeatElement(v, count: k), at: 0) } else { a.append(contentsOf: repeatElement(v, count: k)) }
        }
        ins(&ids, id); ins(&typeIds, typeId)
        if withTokens { ins(&tokens, token) }
        ins(&offsets, (0, 0)); ins(&wordIds, nil); ins(&specialTokensMask, 1); ins(&attentionMask, 0)
    }
}

/// One piece of a TemplateProcessing template.
enum TextTemplatePiece {
    case sequence(b: Bool, typeId: Int)
    case special(String, typeId: Int)

    static func from(_ j: TextJSON) throws(LatheError) -> TextTemplatePiece {
        if let s = j["Sequence"] {
            let id = s["id"]?.stringValue ?? "A"
            return .sequence(b: id == "B", typeId: s["type_id"]?.intValue ?? 0)
        }
        if let s = j["SpecialToken"], let id = s["id"]?.stringValue {
            return .special(id, typeId: s["type_id"]?.intValue ?? 0)
        }
        throw LatheError("post_processor TemplateProcessing: a template piece must be {\"Sequence\": ...} or {\"SpecialToken\": ...}")
    }

    var json: TextJSON {
        switch self {
        case .sequence(let b, let t):
            return .object([("Sequence", .object([("id", .string(b ? "B" : "A")), ("type_id", .int(t))]))])
        case .special(let s, let t):
            return .object([("SpecialToken", .object([("id", .string(s)), ("type_id", .int(t))]))])
        }
    }
}

/// A post-processor of a `tokenizer.json`: adds the model's special tokens.
indirect enum TextPostProcessor {
    case template(single: [TextTemplatePiece], pair: [TextTemplatePiece], specials: [(String, [Int], [String])])
    case bert(sep: (String, Int), cls: (String, Int))
    case roberta(sep: (String, Int), cls: (String, Int), trimOffsets: Bool, addPrefixSpace: Bool)
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    case sequence([TextPostProcessor])

    static func from(_ j: TextJSON) throws(LatheError) -> TextPostProcessor? {
        if j.isNull { return nil }
        guard let type = j["type"]?.stringValue else {
            throw LatheError("post_processor: missing \"type\" (got \(j.kindName))")
        }
        func tokPair(_ k: String) throws(LatheError) -> (String, Int) {
            guard let a = j[k]?.arrayValue, a.count == 2, let s = a[0].stringValue, let id = a[1].intValue else {
                throw LatheError("post_processor \(type): \"\(k)\" must be [token, id]")
            }
            return (s, id)
        }
        switch type {
        case "TemplateProcessing":
            func pieces(_ k: String) throws(LatheError) -> [TextTemplatePiece] {
                guard let a = j[k]?.arrayValue else { throw LatheError("post_processor TemplateProcessing: missing \"\(k)\"") }
                var out: [TextTemplatePiece] = []
                for x in a { out.append(try TextTemplatePiece.from(x)) }
                return out
            }
            var specials: [(String, [Int], [String])] = []
            for (name, v) in j["special_tokens"]?.objectValue ?? [] {
                let ids = (v["ids"]?.arrayValue ?? []).compactMap { $0.intValue }
                let toks = (v["tokens"]?.arrayValue ?? []).compactMap { $0.stringValue }
                guard ids.count == toks.count else {
                    throw LatheError("post_processor TemplateProcessing: special token \(name.debugDescription) has \(ids.count) ids and \(toks.count) tokens")
                }
                specials.append((name, ids, toks))
            }
            let single = try pieces("single"), pair = try pieces("pair")
            for p in single + pair {
                if case .special(let s, _) = p, !specials.contains(where: { $0.0 == s }) {
                    throw LatheError("post_processor TemplateProcessing: the template uses \(s.debugDescription), which is not in \"special_tokens\"")
                }
            }
            return .template(single: single, pair: pair, specials: specials)
        case "BertProcessing":
            return .bert(sep: try tokPair("sep"), cls: try tokPair("cls"))
        case "RobertaProcessing":
            return .roberta(sep: try tokPair("sep"), cls: try tokPair("cls"),
                            trimOffsets: j["trim_offsets"]?.boolValue ?? true, addPrefixSpace: j["add_prefix_space"]?.boolValue ?? true)
        case "ByteLevel":
            return .byteLevel(trimOffsets: j["trim_offsets"]?.boolValue ?? true, addPrefixSpace: j["add_prefix_space"]?.boolValue ?? true)
        case "Sequence":
            guard let items = j["processors"]?.arrayValue else { throw LatheError("post_processor Sequence: missing \"processors\"") }
            var out: [TextPostProcessor] = []
            for it in items { if let p = try from(it) { out.append(p) } }
            return .sequence(out)
        default:
            throw LatheError("unknown post_processor type \"\(type)\"")
        }
    }

    /// How many tokens processing adds (for truncation).
    func addedTokens(pair: Bool) -> Int {
        switch self {
        case .template(let s, let p, let specials):
            var n = 0
            for piece in pair ? p : s {
                if case .special(let name, _) = piece { n += specials.first { $0.0 == name }?.1.count ?? 0 }
            }
            return n
        case .bert: return pair ? 3 : 2
        case .roberta: return pair ? 4 : 2
        case .byteLevel: return 0
        case .sequence(let ps): return ps.reduce(0) { $0 + $1.addedTokens(pair: pair) }
        }
    }

    func processEncodings(_ encs: [TextEncoding], addSpecial: Bool, withTokens: Bool) -> [TextEncoding] {
        switch self {
        case .template(let single, let pair, let specials):
            let tpl = encs.count == 2 ? pair : single
            var out: [TextEncoding] = []
            for piece in tpl {
                switch piece {
                case .sequence(let b, let typeId):
                    let i = b ? 1 : 0
                    guard i < encs.count else { continue }
                    var e = encs[i]
                    e.setTypeIds(typeId)
                    out.append(e)
                case .special(let name, let typeId):
                    if addSpecial, let s = specials.first(where: { $0.0 == name }) {
                        out.append(.specials(ids: s.1, tokens: s.2, typeId: typeId, withTokens: withTokens))
                    }
                }
            }
            return out
        case .bert(let sep, let cls):
            guard addSpecial else { return encs }
            var out: [TextEncoding] = []
            for (i, e) in encs.enumerated() {
                var r = TextEncoding()
                if i == 0 {
                    r.append(.specials(ids: [cls.1], tokens: [cls.0], typeId: 0, withTokens: withTokens))
                    r.append(e)
                    r.append(.specials(ids: [sep.1], tokens: [sep.0], typeId: 0, withTokens: withTokens))
                } else {
                    r.append(e)
                    r.append(.specials(ids: [sep.1], tokens: [sep.0], typeId: 1, withTokens: withTokens))
                }
                out.append(r)
            }
            return out
        case .roberta(let sep, let cls, let trim, let prefixSpace):
            var encs = encs
            if trim { for k in encs.indices { TextPostProcessor.trimOffsets(&encs[k], addPrefixSpace: prefixSpace) } }
            for k in encs.indices { encs[k].setTypeIds(0) }
            guard addSpecial else { return encs }
            var out: [TextEncoding] = []
            for (i, e) in encs.enumerated() {
                var r = TextEncoding()
                r.append(.specials(ids: [i == 0 ? cls.1 : sep.1], tokens: [i == 0 ? cls.0 : sep.0], typeId: 0, withTokens: withTokens))
                r.append(e)
                r.append(.specials(ids: [sep.1], tokens: [sep.0], typeId: 0, withTokens: withTokens))
                out.append(r)
            }
            return out
        case .byteLevel(let trim, let prefixSpace):
            var encs = encs
            if trim { for k in encs.indices { TextPostProcessor.trimOffsets(&encs[k], addPrefixSpace: prefixSpace) } }
            return encs
        case .sequence(let ps):
            var e = encs
            for p in ps { e = p.processEncodings(e, addSpecial: addSpecial, withTokens: withTokens) }
            return e
        }
    }

    /// The ByteLevel `process_offsets`: offsets lose the leading/trailing spaces (Ġ) of their token.
    static func trimOffsets(_ e: inout TextEncoding, addPrefixSpace: Bool) {
        let spaceChar: UInt32 = 0x120  // 'Ġ'
        for i in e.ids.indices {
            guard i < e.tokens.count else { return }
            let scalars = Array(e.tokens[i].unicodeScalars)
            var lead = 0
            while lead < scalars.count && (scalars[lead].value == spaceChar || TextChar.isWhitespace(scalars[lead].value)) { lead += 1 }
            var trail = 0
            while trail < scalars.count && (scalars[scalars.count - 1 - trail].value == spaceChar || TextChar.isWhitespace(scalars[scalars.count - 1 - trail].value)) { trail += 1 }
            if lead == 0 && trail == 0 { continue }
            var (s, en) = e.offsets[i]
            if lead > 0 {
                let isFirst = i == 0 || s == 0
                if isFirst && addPrefixSpace && lead == 1 { lead = 0 }
                s = min(s + lead, en)
            }
            if trail > 0 && en >= trail { en = max(en - trail, s) }
            e.offsets[i] = (s, en)
        }
    }

    var json: TextJSON {
        switch self {
        case .template(let s, let p, let specials):
            return .object([
                ("type", .string("TemplateProcessing")),
                ("single", .array(s.map { $0.json })),
                ("pair", .array(p.map { $0.json })),
                ("special_tokens", .object(specials.map { ($0.0, .object([("id", .string($0.0)), ("ids", .array($0.1.map { .int($0) })), ("tokens", .array($0.2.map { .string($0) }))])) })),
            ])
        case .bert(let sep, let cls):
            return .object([("type", .string("BertProcessing")), ("sep", .array([.string(sep.0), .int(sep.1)])), ("cls", .array([.string(cls.0), .int(cls.1)]))])
        case .roberta(let sep, let cls, let t, let a):
            return .object([("type", .string("RobertaProcessing")), ("sep", .array([.string(sep.0), .int(sep.1)])), ("cls", .array([.string(cls.0), .int(cls.1)])),
                            ("trim_offsets", .bool(t)), ("add_prefix_space", .bool(a))])
        case .byteLevel(let t, let a):
            return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(a)), ("trim_offsets", .bool(t)), ("use_regex", .bool(true))])
        case .sequence(let ps):
            return .object([("type", .string("Sequence")), ("processors", .array(ps.map { $0.json }))])
        }
    }
}

/// A decoder of a `tokenizer.json`: turns tokens back into text.
indirect enum TextDecoder {
    case wordPiece(prefix: String, cleanup: Bool)
    case byteLevel
    case metaspace(replacement: UInt32, scheme: TextPrependScheme)
    case bpe(suffix: String)
    case byteFallback
    case fuse
    case strip(content: UInt32, start: Int, stop: Int)
    case replace(TextPattern, String)
    case sequence([TextDecoder])

    static func from(_ j: TextJSON) throws(LatheError) -> TextDecoder? {
        if j.isNull { return nil }
        guard let type = j["type"]?.stringValue else {
            throw LatheError("decoder: missing \"type\" (got \(j.kindName))")
        }
        switch type {
        case "WordPiece":
            return .wordPiece(prefix: j["prefix"]?.stringValue ?? "##", cleanup: j["cleanup"]?.boolValue ?? true)
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            guard let r = j["replacement"]?.stringValue, let rc = r.unicodeScalars.first else {
                throw LatheError("decoder Metaspace: missing \"replacement\"")
            }
            var scheme = TextPrependScheme(rawValue: j["prepend_scheme"]?.stringValue ?? "always") ?? .always
            if j["add_prefix_space"]?.boolValue == false { scheme = .never }
            return .metaspace(replacement: rc.value, scheme: scheme)
        case "BPEDecoder": return .bpe(suffix: j["suffix"]?.stringValue ?? "</w>")
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            guard let c = j["content"]?.stringValue, let cc = c.unicodeScalars.first else {
                throw LatheError("decoder Strip: missing \"content\"")
            }
            return .strip(content: cc.value, start: j["start"]?.intValue ?? 0, stop: j["stop"]?.intValue ?? 0)
        case "Replace":
            let (p, c) = try textParseReplace(j, what: "decoder Replace")
            return .replace(p, c)
        case "Sequence":
            guard let items = j["decoders"]?.arrayValue else { throw LatheError("decoder Sequence: missing \"decoders\"") }
            var out: [TextDecoder] = []
            for it in items { if let d = try from(it) { out.append(d) } }
            return .sequence(out)
        default:
            throw LatheError("unknown or unsupported decoder type \"\(type)\"")
        }
    }

    static func wordPieceCleanup(_ s: String) -> String {
        s.utf8Replacing(" .", with: ".")
            .utf8Replacing(" ?", with: "?")
            .utf8Replacing(" !", with: "!")
            .utf8Replacing(" ,", with: ",")
            .utf8Replacing(" ' ", with: "'")
            .utf8Replacing(" n't", with: "n't")
            .utf8Replacing(" 'm", with: "'m")
            .utf8Replacing(" do not", with: " don't")
            .utf8Replacing(" 's", with: "'s")
            .utf8Replacing(" 've", with: "'ve")
            .utf8Replacing(" 're", with: "'re")
    }

    /// Throws only when Ctrl-C stops a regular expression (Replace).
    func decodeChain(_ tokens: [String]) throws(LatheError) -> [String] {
        switch self {
        case .wordPiece(let prefix, let cleanup):
            var out = tokens
            for i in out.indices {
                if i != 0 {
                    if out[i].utf8HasPrefix(prefix) {
                        out[i] = out[i].utf8DroppingPrefix(prefix.utf8.count)
                    } else {
                        out[i] = " " + out[i]
                    }
                }
                if cleanup { out[i] = TextDecoder.wordPieceCleanup(out[i]) }
            }
            return out
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let raw = TextByteLevel.rawBytes(t) { bytes += raw } else { bytes += Array(t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let rep, let scheme):
            return tokens.enumerated().map { (i, t) in
                var s = String.UnicodeScalarView()
                for u in t.unicodeScalars {
                    if u.value == rep {
                        if i == 0 && scheme != .never { continue }
                        s.append(" ")
                    } else {
                        s.append(u)
                    }
                }
                return String(s)
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { (i, t) in
                suffix.isEmpty ? t : t.utf8Replacing( suffix, with: i == tokens.count - 1 ? "" : " ")
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                if pending.isEmpty { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    for _ in pending { out.append("\u{FFFD}") }
                }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6 && t.utf8HasPrefix("<0x") && t.utf8HasSuffix(">"), let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                let cs = Array(t.unicodeScalars)
                var a = 0
                for i in 0..<min(start, cs.count) { if cs[i].value == content { a = i + 1 } else { break } }
                var b = cs.count
                if stop > 0 {
                    for i in 0..<min(stop, cs.count) {
                        let idx = cs.count - i - 1
                        if cs[idx].value == content { b = idx } else { break }
                    }
                }
                if a >= b { return "" }
                var s = String.UnicodeScalarView()
                s.append(contentsOf: cs[a..<b])
                return String(s)
            }
        case .replace(let pat, let content):
            return try tokens.map { (t) throws(LatheError) in
                let nt = NText(original: Array(t.utf8))
                var out: [UInt8] = []
                let u = Array(t.utf8)
                for m in try pat.findMatches(nt) {
                    if m.isMatch { out += Array(content.utf8) } else { out += u[m.start..<m.end] }
                }
                return String(decoding: out, as: UTF8.self)
            }
        case .sequence(let ds):
            var t = tokens
            for d in ds { t = try d.decodeChain(t) }
            return t
        }
    }

    var json: TextJSON {
        switch self {
        case .wordPiece(let p, let c): return .object([("type", .string("WordPiece")), ("prefix", .string(p)), ("cleanup", .bool(c))])
        case .byteLevel:
            return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])
        case .metaspace(let r, let s):
            var rs = ""; rs.unicodeScalars.append(Unicode.Scalar(r) ?? "\u{2581}")
            return .object([("type", .string("Metaspace")), ("replacement", .string(rs)), ("prepend_scheme", .string(s.rawValue)), ("split", .bool(true))])
        case .bpe(let s): return .object([("type", .string("BPEDecoder")), ("suffix", .string(s))])
        case .byteFallback: return .object([("type", .string("ByteFallback"))])
        case .fuse: return .object([("type", .string("Fuse"))])
        case .strip(let c, let a, let b):
            var cs = ""; cs.unicodeScalars.append(Unicode.Scalar(c) ?? " ")
            return .object([("type", .string("Strip")), ("content", .string(cs)), ("start", .int(a)), ("stop", .int(b))])
        case .replace(let p, let c): return .object([("type", .string("Replace")), ("pattern", textPatternJSON(p)), ("content", .string(c))])
        case .sequence(let ds): return .object([("type", .string("Sequence")), ("decoders", .array(ds.map { $0.json }))])
        }
    }
}
