import Foundation

/// Unicode character classes and UTF-8 helpers used by the tokenizer pipeline. The classes
/// follow the definitions the Rust `tokenizers` library uses (Rust's `char` methods, the
/// `regex` crate's `\w`/`\s`, Oniguruma's `\p{L}`/`\p{N}`/`\s`).
enum TextChar {
    /// Decodes the scalar starting at byte i of valid UTF-8; returns (scalar, byte length).
    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0, i + 1 < end {
            return (((b0 & 0x1F) << 6) | (UInt32(p[i + 1]) & 0x3F), 2)
        }
        if b0 < 0xF0, i + 2 < end {
            return (((b0 & 0x0F) << 12) | ((UInt32(p[i + 1]) & 0x3F) << 6) | (UInt32(p[i + 2]) & 0x3F), 3)
        }
        if i + 3 < end {
            return (((b0 & 0x07) << 18) | ((UInt32(p[i + 1]) & 0x3F) << 12)
                    | ((UInt32(p[i + 2]) & 0x3F) << 6) | (UInt32(p[i + 3]) & 0x3F), 4)
        }
        return (0xFFFD, 1)
    }

    /// Byte length of the UTF-8 sequence that starts with b.
    @inline(__always)
    static func seqLen(_ b: UInt8) -> Int {
        if b < 0x80 { return 1 }
        if b < 0xE0 { return 2 }
        if b < 0xF0 { return 3 }
        return 4
    }

    @inline(__always)
    static func utf8Len(_ v: UInt32) -> Int {
        v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4
    }

    @inline(__always)
    static func append(_ v: UInt32, to out: inout [UInt8]) {
        textAppendUTF8(Unicode.Scalar(v) ?? "\u{FFFD}", to: &out)
    }

    @inline(__always)
    static func category(_ v: UInt32) -> Unicode.GeneralCategory {
        (Unicode.Scalar(v) ?? "\u{FFFD}").properties.generalCategory
    }

    /// Unicode White_Space (Rust `char::is_whitespace`, regex `\s`, Oniguruma `\s`).
    @inline(__always)
    static func isWhitespace(_ v: UInt32) -> Bool {
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    @inline(__always)
    static func isLetter(_ v: UInt32) -> Bool {
        if v < 0x80 { return (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A }
        switch category(v) {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}` and Rust `char::is_numeric`: Nd, Nl, No.
    @inline(__always)
    static func isNumeric(_ v: UInt32) -> Bool {
        if v < 0x80 { return v >= 0x30 && v <= 0x39 }
        switch category(v) {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Punctuation as BERT sees it: ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~)
    /// or any Unicode P* category.
    @inline(__always)
    static func isBertPunctuation(_ v: UInt32) -> Bool {
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch category(v) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The `regex` crate's Unicode `\w`: Alphabetic, marks, decimal digits, connector
    /// punctuation, Join_Control.
    static func isWordChar(_ v: UInt32) -> Bool {
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || ((v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A) || v == 0x5F
        }
        guard let s = Unicode.Scalar(v) else { return false }
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// General categories Cc, Cf, Cs, Co: what BERT's clean_text drops as control. Unassigned
    /// code points (Cn: U+0378, U+FFFE, U+10FFFF) are kept, as the Rust library keeps them
    /// (the WordPiece model then maps them to [UNK]).
    static func isOther(_ v: UInt32) -> Bool {
        if v < 0x80 { return v < 0x20 || v == 0x7F }
        switch category(v) {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    static func isNonspacingMark(_ v: UInt32) -> Bool {
        v >= 0x300 && category(v) == .nonspacingMark
    }

    static func isCombiningMark(_ v: UInt32) -> Bool {
        if v < 0x300 { return false }
        switch category(v) {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The CJK ideograph blocks BERT surrounds with spaces.
    static func isChineseChar(_ v: UInt32) -> Bool {
        switch v {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    static func ccc(_ v: UInt32) -> UInt8 {
        if v < 0x300 { return 0 }
        return (Unicode.Scalar(v) ?? "a").properties.canonicalCombiningClass.rawValue
    }

    /// The scalars of a Swift string.
    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map { $0.value } }
}

/// Per-worker caches for Unicode mappings that go through Foundation (decompositions,
/// compositions, case mappings), so each distinct character is looked up once.
final class TextUnicodeCache {
    var nfd: [UInt32: [UInt32]] = [:]
    var nfkd: [UInt32: [UInt32]] = [:]
    var compose: [UInt64: UInt32] = [:]
    var lower: [UInt32: [UInt32]] = [:]
    var upper: [UInt32: [UInt32]] = [:]

    func decompose(_ v: UInt32, compat: Bool) -> [UInt32] {
        if v < 0xA0 { return [v] }
        if compat {
            if let d = nfkd[v] { return d }
            let s = String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}")
            let d = TextChar.scalars(s.decomposedStringWithCompatibilityMapping)
            nfkd[v] = d
            return d
        }
        if v < 0xC0 { return [v] }
        if let d = nfd[v] { return d }
        let s = String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}")
        let d = TextChar.scalars(s.decomposedStringWithCanonicalMapping)
        nfd[v] = d
        return d
    }

    /// The primary composite of a + b, or 0.
    func composite(_ a: UInt32, _ b: UInt32) -> UInt32 {
        // Hangul syllables compose algorithmically (Foundation on Linux misses LV + T)
        if a >= 0x1100 && a < 0x1113 && b >= 0x1161 && b < 0x1176 {
            return 0xAC00 + ((a - 0x1100) * 21 + (b - 0x1161)) * 28
        }
        if a >= 0xAC00 && a < 0xAC00 + 11172 && (a - 0xAC00) % 28 == 0 && b > 0x11A7 && b < 0x11A7 + 28 {
            return a + (b - 0x11A7)
        }
        let key = (UInt64(a) << 32) | UInt64(b)
        if let c = compose[key] { return c }
        var s = String.UnicodeScalarView()
        if let x = Unicode.Scalar(a), let y = Unicode.Scalar(b) { s.append(x); s.append(y) }
        let r = TextChar.scalars(String(s).precomposedStringWithCanonicalMapping)
        let c: UInt32 = r.count == 1 ? r[0] : 0
        compose[key] = c
        return c
    }

    func lowercase(_ v: UInt32) -> [UInt32] {
        if v < 0x80 { return [(v >= 0x41 && v <= 0x5A) ? v + 32 : v] }
        if let m = lower[v] { return m }
        let m = TextChar.scalars((Unicode.Scalar(v) ?? "\u{FFFD}").properties.lowercaseMapping)
        lower[v] = m
        return m
    }

    func uppercase(_ v: UInt32) -> [UInt32] {
        if v < 0x80 { return [(v >= 0x61 && v <= 0x7A) ? v - 32 : v] }
        if let m = upper[v] { return m }
        let m = TextChar.scalars((Unicode.Scalar(v) ?? "\u{FFFD}").properties.uppercaseMapping)
        upper[v] = m
        return m
    }
}

/// The GPT-2 byte <-> character table used by byte-level BPE: printable bytes map to
/// themselves, the others to U+0100 and up.
enum TextByteLevel {
    static let byteToChar: [UInt32] = {
        var bs: [Int] = Array(33...126) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var cs: [Int] = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [UInt32](repeating: 0, count: 256)
        for (b, c) in zip(bs, cs) { table[b] = UInt32(c) }
        return table
    }()

    static let charToByte: [UInt32: UInt8] = {
        var m: [UInt32: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { m[c] = UInt8(b) }
        return m
    }()

    /// UTF-8 of each byte's character.
    static let byteToUTF8: [[UInt8]] = byteToChar.map { c in
        var out: [UInt8] = []
        TextChar.append(c, to: &out)
        return out
    }

    /// The raw bytes a byte-level token string stands for, or nil when it holds a character
    /// outside the 256-character alphabet.
    static func rawBytes(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = charToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}

/// Byte-wise string helpers: Swift's `hasPrefix` and friends compare grapheme clusters, which
/// differs from Rust's byte/char semantics when a combining character or emoji modifier follows
/// the prefix (`"##🏽".hasPrefix("##")` is false).
extension String {
    func utf8HasPrefix(_ p: String) -> Bool {
        let a = self.utf8, b = p.utf8
        return a.count >= b.count && a.prefix(b.count).elementsEqual(b)
    }

    func utf8HasSuffix(_ p: String) -> Bool {
        let a = self.utf8, b = p.utf8
        return a.count >= b.count && a.suffix(b.count).elementsEqual(b)
    }

    func utf8DroppingPrefix(_ n: Int) -> String {
        String(decoding: self.utf8.dropFirst(n), as: UTF8.self)
    }

    /// Replaces every non-overlapping occurrence of `of` (left to right), like Rust's `str::replace`.
    func utf8Replacing(_ of: String, with rep: String) -> String {
        let a = Array(self.utf8), p = Array(of.utf8), r = Array(rep.utf8)
        if p.isEmpty || a.count < p.count { return self }
        var out: [UInt8] = []
        out.reserveCapacity(a.count)
        var i = 0
        var changed = false
        while i < a.count {
            if i + p.count <= a.count && a[i] == p[0] && a[i..<(i + p.count)].elementsEqual(p) {
                out.append(contentsOf: r)
                i += p.count
                changed = true
            } else {
                out.append(a[i])
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}
