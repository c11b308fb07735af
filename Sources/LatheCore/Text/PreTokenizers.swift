import Foundation

/// One split of the input on its way to the model: normalized text, or an added token that was
/// matched whole (`addedId >= 0`).
struct TextPiece {
    var text: NText
    var addedId: Int32 = -1
}

/// How Metaspace adds its replacement character in front of words.
enum TextPrependScheme: String {
    case always, first, never
}

/// A pre-tokenizer of a `tokenizer.json` (the Rust library's `pre_tokenizers`).
indirect enum TextPreTokenizer {
    case bert
    case byteLevel(addPrefixSpace: Bool, trimOffsets: Bool, useRegex: Bool)
    case digits(individual: Bool)
    case split(TextPattern, TextSplitBehavior, invert: Bool)
    case whitespace
    case whitespaceSplit
    case metaspace(replacement: UInt32, scheme: TextPrependScheme, split: Bool)
    case punctuation(TextSplitBehavior)
    case delimiter(UInt32)
    case sequence([TextPreTokenizer])

    static func from(_ j: TextJSON) throws(LatheError) -> TextPreTokenizer? {
        if j.isNull { return nil }
        guard let type = j["type"]?.stringValue else {
            throw LatheError("pre_tokenizer: missing \"type\" (got \(j.kindName))")
        }
        func behavior(_ key: String, _ def: TextSplitBehavior) throws(LatheError) -> TextSplitBehavior {
            guard let s = j[key]?.stringValue else { return def }
            guard let b = TextSplitBehavior(rawValue: s) else {
                throw LatheError("pre_tokenizer \(type): unknown behavior \"\(s)\"")
            }
            return b
        }
        switch type {
        case "BertPreTokenizer": return .bert
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: j["add_prefix_space"]?.boolValue ?? true,
                              trimOffsets: j["trim_offsets"]?.boolValue ?? true,
                              useRegex: j["use_regex"]?.boolValue ?? true)
        case "Digits": return .digits(individual: j["individual_digits"]?.boolValue ?? false)
        case "Split":
            let pat = try textParsePattern(j["pattern"], what: "pre_tokenizer Split")
            return .split(pat, try behavior("behavior", .removed), invert: j["invert"]?.boolValue ?? false)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Metaspace":
            guard let r = j["replacement"]?.stringValue, let rc = r.unicodeScalars.first, r.unicodeScalars.count == 1 else {
                throw LatheError("pre_tokenizer Metaspace: \"replacement\" must be one character")
            }
            var scheme = TextPrependScheme(rawValue: j["prepend_scheme"]?.stringValue ?? "always") ?? .always
            if j["add_prefix_space"]?.boolValue == false { scheme = .never }
            return .metaspace(replacement: rc.value, scheme: scheme, split: j["split"]?.boolValue ?? true)
        case "Punctuation": return .punctuation(try behavior("behavior", .isolated))
        case "CharDelimiterSplit":
            guard let d = j["delimiter"]?.stringValue, let dc = d.unicodeScalars.first else {
                throw LatheError("pre_tokenizer CharDelimiterSplit: missing \"delimiter\"")
            }
            return .delimiter(dc.value)
        case "Sequence":
            guard let items = j["pretokenizers"]?.arrayValue else {
                throw LatheError("pre_tokenizer Sequence: missing \"pretokenizers\"")
            }
            var out: [TextPreTokenizer] = []
            for it in items { if let p = try from(it) { out.append(p) } }
            return .sequence(out)
        default:
            throw LatheError("unknown or unsupported pre_tokenizer type \"\(type)\"")
        }
    }

    /// Runs `f` on every piece that is not an added token, replacing it by the pieces f
    /// returns (empty ones dropped).
    @inline(__always)
    static func splitEach(_ pieces: inout [TextPiece], _ f: (NText) throws(LatheError) -> [NText]) throws(LatheError) {
        var out: [TextPiece] = []
        out.reserveCapacity(pieces.count * 2)
        for p in pieces {
            if p.addedId >= 0 { out.append(p); continue }
            for t in try f(p.text.materializedByteLevel()) where !t.isEmpty { out.append(TextPiece(text: t)) }
        }
        pieces = out
    }

    static let bertWhitespace = TextPattern.chars { TextChar.isWhitespace($0) }
    static let bertPunct = TextPattern.chars { TextChar.isBertPunctuation($0) }
    static let numeric = TextPattern.chars { TextChar.isNumeric($0) }

    /// Throws only when Ctrl-C stops a regular expression.
    func apply(_ pieces: inout [TextPiece]) throws(LatheError) {
        switch self {
        case .bert:
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(try TextPreTokenizer.bertWhitespace.findMatches(t), .removed) }
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(try TextPreTokenizer.bertPunct.findMatches(t), .isolated) }
        case .byteLevel(let addPrefix, _, let useRegex):
            var out: [TextPiece] = []
            out.reserveCapacity(pieces.count * 8)
            for p in pieces {
                if p.addedId >= 0 { out.append(p); continue }
                var t = p.text.materializedByteLevel()
                if t.isEmpty { continue }
                if addPrefix && t.byte(0) != 0x20 { t = t.prepended(" ") }
                if useRegex {
                    let n = t.count
                    var last = 0
                    let base = t
                    t.bytes.withUnsafeBufferPointer { buf in
                        TextRegex.scanGPT2(buf.baseAddress!, n) { s, e in
                            if last < s {
                                var x = base.slice(last, s); x.byteLevel = true; out.append(TextPiece(text: x))
                            }
                            if e > s {
                                var x = base.slice(s, e); x.byteLevel = true; out.append(TextPiece(text: x))
                            }
                            last = e
                        }
                    }
                    if last < n { var x = base.slice(last, n); x.byteLevel = true; out.append(TextPiece(text: x)) }
                } else {
                    t.byteLevel = true
                    out.append(TextPiece(text: t))
                }
            }
            pieces = out
        case .digits(let individual):
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(try TextPreTokenizer.numeric.findMatches(t), individual ? .isolated : .contiguous) }
        case .split(let pat, let behavior, let invert):
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in
                var m = try pat.findMatches(t)
                if invert { for k in m.indices { m[k].isMatch.toggle() } }
                return t.split(m, behavior)
            }
        case .whitespace:
            // `\w+|[^\w\s]+`, delimiters (the text between matches) removed
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(TextPreTokenizer.whitespaceMatches(t), .removed) }
        case .whitespaceSplit:
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(try TextPreTokenizer.bertWhitespace.findMatches(t), .removed) }
        case .metaspace(let rep, let scheme, let split):
            var repStr = ""
            repStr.unicodeScalars.append(Unicode.Scalar(rep) ?? "\u{2581}")
            let repPattern = TextPattern.chars { $0 == rep }
            try TextPreTokenizer.splitEach(&pieces) { (t0) throws(LatheError) in
                var t = try t0.replacing(.literal([0x20]), with: repStr)
                switch scheme {
                case .always:
                    if t.firstScalar != rep { t = t.prepended(repStr) }
                case .first:
                    if t.firstScalar != rep && t0.shift == 0 { t = t.prepended(repStr) }
                case .never: break
                }
                if split { return t.split(try repPattern.findMatches(t), .mergedWithNext) }
                return [t]
            }
        case .punctuation(let behavior):
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(try TextPreTokenizer.bertPunct.findMatches(t), behavior) }
        case .delimiter(let d):
            try TextPreTokenizer.splitEach(&pieces) { (t) throws(LatheError) in t.split(try TextPattern.chars { $0 == d }.findMatches(t), .removed) }
        case .sequence(let ps):
            for p in ps { try p.apply(&pieces) }
        }
    }

    /// Matches of `\w+|[^\w\s]+` (the Whitespace pre-tokenizer), with the gaps.
    static func whitespaceMatches(_ t: NText) -> [TextMatch] {
        let n = t.count
        if n == 0 { return [TextMatch(start: 0, end: 0, isMatch: false)] }
        var out: [TextMatch] = []
        t.bytes.withUnsafeBufferPointer { buf in
            let p = buf.baseAddress!
            var i = 0
            var last = 0
            while i < n {
                let (v, l) = TextChar.decode(p, i, n)
                let kind = TextChar.isWordChar(v) ? 1 : (TextChar.isWhitespace(v) ? 0 : 2)
                if kind == 0 { i += l; continue }
                var k = i + l
                while k < n {
                    let (v2, l2) = TextChar.decode(p, k, n)
                    let k2 = TextChar.isWordChar(v2) ? 1 : (TextChar.isWhitespace(v2) ? 0 : 2)
                    if k2 != kind { break }
                    k += l2
                }
                if last < i { out.append(TextMatch(start: last, end: i, isMatch: false)) }
                out.append(TextMatch(start: i, end: k, isMatch: true))
                last = k
                i = k
            }
            if last < n { out.append(TextMatch(start: last, end: n, isMatch: false)) }
        }
        // the pre-tokenizer splits on the inverted pattern: the words are kept
        return out.map { TextMatch(start: $0.start, end: $0.end, isMatch: !$0.isMatch) }
    }

    var json: TextJSON {
        switch self {
        case .bert: return .object([("type", .string("BertPreTokenizer"))])
        case .byteLevel(let a, let t, let u):
            return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(a)), ("trim_offsets", .bool(t)), ("use_regex", .bool(u))])
        case .digits(let i): return .object([("type", .string("Digits")), ("individual_digits", .bool(i))])
        case .split(let p, let b, let inv):
            return .object([("type", .string("Split")), ("pattern", textPatternJSON(p)), ("behavior", .string(b.rawValue)), ("invert", .bool(inv))])
        case .whitespace: return .object([("type", .string("Whitespace"))])
        case .whitespaceSplit: return .object([("type", .string("WhitespaceSplit"))])
        case .metaspace(let r, let s, let sp):
            var rs = ""; rs.unicodeScalars.append(Unicode.Scalar(r) ?? "\u{2581}")
            return .object([("type", .string("Metaspace")), ("replacement", .string(rs)), ("prepend_scheme", .string(s.rawValue)), ("split", .bool(sp))])
        case .punctuation(let b): return .object([("type", .string("Punctuation")), ("behavior", .string(b.rawValue))])
        case .delimiter(let d):
            var ds = ""; ds.unicodeScalars.append(Unicode.Scalar(d) ?? " ")
            return .object([("type", .string("CharDelimiterSplit")), ("delimiter", .string(ds))])
        case .sequence(let ps): return .object([("type", .string("Sequence")), ("pretokenizers", .array(ps.map { $0.json }))])
        }
    }
}
