import Foundation

/// A normalizer of a `tokenizer.json` (the Rust library's `normalizers`).
indirect enum TextNormalizer {
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case replace(TextPattern, String)
    case prepend(String)
    case byteLevel
    case nmt
    case sequence([TextNormalizer])

    static func from(_ j: TextJSON) throws(LatheError) -> TextNormalizer? {
        if j.isNull { return nil }
        guard let type = j["type"]?.stringValue else {
            throw LatheError("normalizer: missing \"type\" (got \(j.kindName))")
        }
        func flag(_ k: String, _ def: Bool) -> Bool { j[k]?.boolValue ?? def }
        switch type {
        case "BertNormalizer":
            return .bert(cleanText: flag("clean_text", true), chineseChars: flag("handle_chinese_chars", true),
                         stripAccents: j["strip_accents"]?.boolValue, lowercase: flag("lowercase", true))
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip": return .strip(left: flag("strip_left", true), right: flag("strip_right", true))
        case "StripAccents": return .stripAccents
        case "Nmt": return .nmt
        case "ByteLevel": return .byteLevel
        case "Prepend":
            guard let s = j["prepend"]?.stringValue else { throw LatheError("normalizer Prepend: missing \"prepend\"") }
            return .prepend(s)
        case "Replace":
            let (pat, content) = try textParseReplace(j, what: "normalizer Replace")
            return .replace(pat, content)
        case "Sequence":
            guard let items = j["normalizers"]?.arrayValue else {
                throw LatheError("normalizer Sequence: missing \"normalizers\"")
            }
            var out: [TextNormalizer] = []
            for it in items { if let n = try from(it) { out.append(n) } }
            return .sequence(out)
        case "Precompiled":
            throw LatheError("the Precompiled normalizer (SentencePiece character maps) is not supported")
        default:
            throw LatheError("unknown normalizer type \"\(type)\"")
        }
    }

    /// Throws only when Ctrl-C stops a regular expression (Replace).
    func apply(_ t: NText, _ uc: TextUnicodeCache) throws(LatheError) -> NText {
        switch self {
        case .bert(let clean, let chinese, let strip, let lower):
            var t = t
            if clean { t = TextNormalizer.cleanText(t) }
            if chinese { t = TextNormalizer.padChinese(t) }
            if strip ?? lower { t = TextNormalizer.decomposed(t, compat: false, uc).filtered { !TextChar.isNonspacingMark($0) } }
            if lower { t = TextNormalizer.lowercased(t, uc) }
            return t
        case .nfd: return TextNormalizer.decomposed(t, compat: false, uc)
        case .nfkd: return TextNormalizer.decomposed(t, compat: true, uc)
        case .nfc: return TextNormalizer.composed(t, compat: false, uc)
        case .nfkc: return TextNormalizer.composed(t, compat: true, uc)
        case .lowercase: return TextNormalizer.lowercased(t, uc)
        case .strip(let l, let r): return t.stripped(left: l, right: r)
        case .stripAccents: return t.filtered { !TextChar.isCombiningMark($0) }
        case .replace(let pat, let content): return try t.replacing(pat, with: content)
        case .prepend(let s): return t.isEmpty ? t : t.prepended(s)
        case .byteLevel:
            if t.isEmpty { return t }
            var m = t.materializedByteLevel()
            m.byteLevel = true
            return m.materializedByteLevel()
        case .nmt:
            return t.filtered { c in
                !((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F)
            }.mapped { c in
                switch c {
                case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD: return 0x20
                default: return c
                }
            }
        case .sequence(let ns):
            var t = t
            for n in ns { t = try n.apply(t, uc) }
            return t
        }
    }

    /// BERT's clean_text: drop NUL, U+FFFD and control characters; whitespace becomes a space.
    static func cleanText(_ t: NText) -> NText {
        if t.isASCII {
            var needsFilter = false
            var needsMap = false
            for b in t.bytes {
                if b == 0x09 || b == 0x0A || b == 0x0D { needsMap = true } else if b < 0x20 || b == 0x7F { needsFilter = true; break }
            }
            if !needsFilter {
                if !needsMap { return t }
                var nb = Array(t.bytes)
                for k in 0..<nb.count where nb[k] == 0x09 || nb[k] == 0x0A || nb[k] == 0x0D { nb[k] = 0x20 }
                return NText(bytes: nb[...], align: t.align, shift: t.shift)
            }
        }
        let kept = t.filtered { c in
            !(c == 0 || c == 0xFFFD || (c != 0x09 && c != 0x0A && c != 0x0D && TextChar.isOther(c)))
        }
        return kept.mapped { c in
            (c == 0x09 || c == 0x0A || c == 0x0D || TextChar.isWhitespace(c)) ? 0x20 : c
        }
    }

    static func padChinese(_ t: NText) -> NText {
        if t.isASCII { return t }
        var any = false
        let cs = t.chars()
        for (c, _) in cs where TextChar.isChineseChar(c) { any = true; break }
        if !any { return t }
        var dest: [(UInt32, Int)] = []
        dest.reserveCapacity(cs.count + 8)
        for (c, _) in cs {
            if TextChar.isChineseChar(c) {
                dest.append((0x20, 0)); dest.append((c, 1)); dest.append((0x20, 1))
            } else {
                dest.append((c, 0))
            }
        }
        return t.transformed(dest)
    }

    static func lowercased(_ t: NText, _ uc: TextUnicodeCache) -> NText {
        if t.isASCII {
            var changed = false
            for b in t.bytes where b >= 0x41 && b <= 0x5A { changed = true; break }
            if !changed { return t }
            var nb = Array(t.bytes)
            for k in 0..<nb.count where nb[k] >= 0x41 && nb[k] <= 0x5A { nb[k] += 32 }
            return NText(bytes: nb[...], align: t.align, shift: t.shift)
        }
        var dest: [(UInt32, Int)] = []
        for (c, _) in t.chars() {
            for (k, m) in uc.lowercase(c).enumerated() { dest.append((m, k > 0 ? 1 : 0)) }
        }
        return t.transformed(dest)
    }

    /// Canonical (NFD) or compatibility (NFKD) decomposition, with the changes the Rust
    /// library's alignment-tracking normalization gives: a character's first scalar replaces
    /// it, the others are inserted; then canonical ordering of combining marks.
    static func decomposedChanges(_ t: NText, compat: Bool, _ uc: TextUnicodeCache) -> [(UInt32, Int)] {
        var dest: [(UInt32, Int)] = []
        let cs = t.chars()
        dest.reserveCapacity(cs.count + 4)
        for (c, _) in cs {
            let d = uc.decompose(c, compat: compat)
            for (k, x) in d.enumerated() { dest.append((x, k > 0 ? 1 : 0)) }
        }
        // canonical ordering: stable sort of each run of non-starters by combining class
        var i = 0
        while i < dest.count {
            if TextChar.ccc(dest[i].0) == 0 { i += 1; continue }
            var j = i
            while j < dest.count && TextChar.ccc(dest[j].0) != 0 { j += 1 }
            if j - i > 1 {
                let run = dest[i..<j].enumerated().sorted { a, b in
                    let ca = TextChar.ccc(a.element.0), cb = TextChar.ccc(b.element.0)
                    return ca != cb ? ca < cb : a.offset < b.offset
                }.map { $0.element }
                dest.replaceSubrange(i..<j, with: run)
            }
            i = j
        }
        return dest
    }

    static func decomposed(_ t: NText, compat: Bool, _ uc: TextUnicodeCache) -> NText {
        if t.isASCII { return t }
        return t.transformed(decomposedChanges(t, compat: compat, uc))
    }

    /// NFC / NFKC: decomposition, then canonical composition; a composed character's change
    /// accounts for the characters it absorbed.
    static func composed(_ t: NText, compat: Bool, _ uc: TextUnicodeCache) -> NText {
        if t.isASCII { return t }
        let d = decomposedChanges(t, compat: compat, uc)
        var out: [(UInt32, Int)] = []
        out.reserveCapacity(d.count)
        var starter = -1
        var lastClass: UInt8 = 0
        for (c, change) in d {
            let cc = TextChar.ccc(c)
            if starter >= 0 {
                let adjacent = out.count - 1 == starter
                let blocked = !adjacent && (lastClass == 0 || lastClass >= cc)
                if !blocked {
                    let comp = uc.composite(out[starter].0, c)
                    if comp != 0 {
                        out[starter] = (comp, out[starter].1 + change - 1)
                        continue
                    }
                }
            }
            if cc == 0 { starter = out.count }
            lastClass = cc
            out.append((c, change))
        }
        return t.transformed(out)
    }

    var json: TextJSON {
        switch self {
        case .bert(let c, let h, let s, let l):
            return .object([("type", .string("BertNormalizer")), ("clean_text", .bool(c)), ("handle_chinese_chars", .bool(h)),
                            ("strip_accents", s.map { .bool($0) } ?? .null), ("lowercase", .bool(l))])
        case .nfc: return .object([("type", .string("NFC"))])
        case .nfd: return .object([("type", .string("NFD"))])
        case .nfkc: return .object([("type", .string("NFKC"))])
        case .nfkd: return .object([("type", .string("NFKD"))])
        case .lowercase: return .object([("type", .string("Lowercase"))])
        case .strip(let l, let r): return .object([("type", .string("Strip")), ("strip_left", .bool(l)), ("strip_right", .bool(r))])
        case .stripAccents: return .object([("type", .string("StripAccents"))])
        case .nmt: return .object([("type", .string("Nmt"))])
        case .byteLevel: return .object([("type", .string("ByteLevel"))])
        case .prepend(let s): return .object([("type", .string("Prepend")), ("prepend", .string(s))])
        case .replace(let p, let c): return .object([("type", .string("Replace")), ("pattern", textPatternJSON(p)), ("content", .string(c))])
        case .sequence(let ns): return .object([("type", .string("Sequence")), ("normalizers", .array(ns.map { $0.json }))])
        }
    }
}

/// `{"String": "..."}` or `{"Regex": "..."}` patterns of Split, Replace.
func textParsePattern(_ j: TextJSON?, what: String) throws(LatheError) -> TextPattern {
    guard let j else { throw LatheError("\(what): missing \"pattern\"") }
    // the reference escapes a string into a regex, so an empty one matches at every position
    if let s = j["String"]?.stringValue { return s.isEmpty ? .regex(try TextRegex("")) : TextRegex.literal(s) }
    if let r = j["Regex"]?.stringValue {
        do throws(LatheError) {
            return .regex(try TextRegex(r))
        } catch {
            throw LatheError("\(what): \(error.message)")
        }
    }
    throw LatheError("\(what): \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}")
}

func textPatternJSON(_ p: TextPattern) -> TextJSON {
    switch p {
    case .literal(let b): return .object([("String", .string(String(decoding: b, as: UTF8.self)))])
    case .regex(let r): return .object([("Regex", .string(r.source))])
    case .chars: return .null
    }
}

func textParseReplace(_ j: TextJSON, what: String) throws(LatheError) -> (TextPattern, String) {
    let pat = try textParsePattern(j["pattern"], what: what)
    guard let content = j["content"]?.stringValue else { throw LatheError("\(what): missing \"content\"") }
    return (pat, content)
}
