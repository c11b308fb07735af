import Foundation

/// A set of Unicode scalars as a regular expression class describes it: ranges, general
/// categories and properties combined with negation, union and intersection (Oniguruma's
/// `[a-z&&[^aeiou]]`), and case-folded closures for bracket classes under `(?i)`.
indirect enum TextCharSet: Sendable {
    case ranges([ClosedRange<UInt32>])
    /// General categories, one bit per `TextUnicodeTables.categoryIndex`.
    case categories(UInt32)
    case property(TextCharProperty)
    case not(TextCharSet)
    case union([TextCharSet])
    case intersection([TextCharSet])
    /// Any scalar whose simple case-fold class meets the inner set.
    case folded(TextCharSet)

    static func char(_ v: UInt32) -> TextCharSet { .ranges([v...v]) }

    func contains(_ v: UInt32) -> Bool {
        switch self {
        case .ranges(let rs):
            for r in rs where r.contains(v) { return true }
            return false
        case .categories(let mask):
            return mask & (1 << UInt32(TextUnicodeTables.category(v))) != 0
        case .property(let p): return p.contains(v)
        case .not(let s): return !s.contains(v)
        case .union(let ss):
            for s in ss where s.contains(v) { return true }
            return false
        case .intersection(let ss):
            for s in ss where !s.contains(v) { return false }
            return true
        case .folded(let s):
            if s.contains(v) { return true }
            guard let orbit = TextCaseFold.orbit(v) else { return false }
            for o in orbit where o != v && s.contains(o) { return true }
            return false
        }
    }

    /// The set of `v` under simple case folding (itself when it has no other case).
    static func caseless(_ v: UInt32) -> TextCharSet {
        guard let orbit = TextCaseFold.orbit(v) else { return .char(v) }
        return .ranges(orbit.map { $0...$0 })
    }
}

/// Named properties beyond the general categories, with Oniguruma's Unicode definitions
/// (its `make_unicode_property_data.py`: Word = Alphabetic | Mark | Decimal_Number |
/// Connector_Punctuation, Space = White_Space, ...).
enum TextCharProperty: Sendable {
    case any, assigned, ascii, alphabetic, uppercase, lowercase, whiteSpace, word, hexDigit
    case blank, graph, print, posixPunct, posixWord, newline

    func contains(_ v: UInt32) -> Bool {
        switch self {
        case .any: return true
        case .assigned: return TextUnicodeTables.category(v) != TextUnicodeTables.unassigned
        case .ascii: return v < 0x80
        case .alphabetic: return TextUnicodeTables.isAlphabetic(v)
        case .uppercase: return TextUnicodeTables.has(v, \.isUppercase)
        case .lowercase: return TextUnicodeTables.has(v, \.isLowercase)
        case .whiteSpace: return TextChar.isWhitespace(v)
        case .word: return TextUnicodeTables.isWord(v)
        case .posixWord: return TextUnicodeTables.isWordProperty(v)
        case .hexDigit: return (v >= 0x30 && v <= 0x39) || ((v | 0x20) >= 0x61 && (v | 0x20) <= 0x66)
        case .blank: return v == 0x09 || TextUnicodeTables.category(v) == TextUnicodeTables.spaceSeparator
        case .graph:
            if TextChar.isWhitespace(v) { return false }
            let c = TextUnicodeTables.category(v)
            return c != TextUnicodeTables.control && c != TextUnicodeTables.surrogate && c != TextUnicodeTables.unassigned
        case .print:
            return TextCharProperty.graph.contains(v) || TextUnicodeTables.category(v) == TextUnicodeTables.spaceSeparator
        case .posixPunct:
            // Oniguruma's [[:punct:]] in Unicode is Punctuation and Symbol (\p{Punct} is P alone)
            let mask = TextUnicodeTables.categories.punctuationMask | TextUnicodeTables.categories.symbolMask
            return mask & (1 << UInt32(TextUnicodeTables.category(v))) != 0
        case .newline: return v == 0x0A
        }
    }
}

/// A character class ready for matching: ASCII answers come from a bitmap, the rest from the set.
struct TextCharClass {
    let lo: UInt64
    let hi: UInt64
    let set: TextCharSet

    init(_ set: TextCharSet) {
        var lo: UInt64 = 0, hi: UInt64 = 0
        for v in UInt32(0)..<128 where set.contains(v) {
            if v < 64 { lo |= 1 << UInt64(v) } else { hi |= 1 << UInt64(v - 64) }
        }
        self.lo = lo
        self.hi = hi
        self.set = set
    }

    @inline(__always) func matches(_ v: UInt32) -> Bool {
        if v < 64 { return lo & (1 << UInt64(v)) != 0 }
        if v < 128 { return hi & (1 << UInt64(v - 64)) != 0 }
        return set.contains(v)
    }
}

/// General categories and a few binary properties of Unicode scalars, from the standard
/// library's Unicode data, kept in tables below U+20000 (every cased, emoji and common CJK
/// scalar) so a lookup is a load.
enum TextUnicodeTables {
    static let limit: UInt32 = 0x20000

    static let unassigned = categoryIndex(.unassigned)
    static let control = categoryIndex(.control)
    static let surrogate = categoryIndex(.surrogate)
    static let spaceSeparator = categoryIndex(.spaceSeparator)

    static func categoryIndex(_ c: Unicode.GeneralCategory) -> Int {
        switch c {
        case .uppercaseLetter: return 0
        case .lowercaseLetter: return 1
        case .titlecaseLetter: return 2
        case .modifierLetter: return 3
        case .otherLetter: return 4
        case .nonspacingMark: return 5
        case .spacingMark: return 6
        case .enclosingMark: return 7
        case .decimalNumber: return 8
        case .letterNumber: return 9
        case .otherNumber: return 10
        case .connectorPunctuation: return 11
        case .dashPunctuation: return 12
        case .openPunctuation: return 13
        case .closePunctuation: return 14
        case .initialPunctuation: return 15
        case .finalPunctuation: return 16
        case .otherPunctuation: return 17
        case .mathSymbol: return 18
        case .currencySymbol: return 19
        case .modifierSymbol: return 20
        case .otherSymbol: return 21
        case .spaceSeparator: return 22
        case .lineSeparator: return 23
        case .paragraphSeparator: return 24
        case .control: return 25
        case .format: return 26
        case .surrogate: return 27
        case .privateUse: return 28
        case .unassigned: return 29
        @unknown default: return 29
        }
    }

    /// Masks of the category groups (Oniguruma's one-letter names).
    enum categories {
        static let letterMask: UInt32 = 0b11111
        static let casedLetterMask: UInt32 = 0b111
        static let markMask: UInt32 = 0b111 << 5
        static let numberMask: UInt32 = 0b111 << 8
        static let punctuationMask: UInt32 = 0b1111111 << 11
        static let symbolMask: UInt32 = 0b1111 << 18
        static let separatorMask: UInt32 = 0b111 << 22
        static let otherMask: UInt32 = 0b11111 << 25
        static let decimal: UInt32 = 1 << 8
    }

    static let categoryTable: [UInt8] = (0..<limit).map { v in
        guard let s = Unicode.Scalar(v) else { return UInt8(surrogate) }
        return UInt8(categoryIndex(s.properties.generalCategory))
    }

    @inline(__always) static func category(_ v: UInt32) -> Int {
        if v < limit { return Int(categoryTable[Int(v)]) }
        guard let s = Unicode.Scalar(v) else { return surrogate }
        return categoryIndex(s.properties.generalCategory)
    }

    static let alphabeticBits: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: Int(limit) / 64)
        for v in 0..<limit {
            if let s = Unicode.Scalar(v), s.properties.isAlphabetic { bits[Int(v >> 6)] |= 1 << UInt64(v & 63) }
        }
        return bits
    }()

    @inline(__always) static func isAlphabetic(_ v: UInt32) -> Bool {
        if v < limit { return alphabeticBits[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }
        return Unicode.Scalar(v)?.properties.isAlphabetic ?? false
    }

    /// Oniguruma's `\w`: Alphabetic, marks, decimal digits, connector punctuation, and (its
    /// Latin-1 ctype table) the superscripts ¹²³ and fractions ¼½¾.
    @inline(__always) static func isWord(_ v: UInt32) -> Bool {
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || ((v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A) || v == 0x5F
        }
        if v == 0xB2 || v == 0xB3 || v == 0xB9 || (v >= 0xBC && v <= 0xBE) { return true }
        return isWordProperty(v)
    }

    /// `[[:word:]]`: `\w` without the Latin-1 additions.
    @inline(__always) static func isWordProperty(_ v: UInt32) -> Bool {
        if v < 0x80 { return isWord(v) }
        if isAlphabetic(v) { return true }
        let c = category(v)
        return (categories.markMask | categories.decimal | 1 << 11) & (1 << UInt32(c)) != 0
    }

    static func has(_ v: UInt32, _ p: KeyPath<Unicode.Scalar.Properties, Bool>) -> Bool {
        guard let s = Unicode.Scalar(v) else { return false }
        return s.properties[keyPath: p]
    }
}

/// Simple case folding classes (Unicode CaseFolding.txt, statuses C and S, as Oniguruma uses
/// them for single characters): scalars that fold to the same scalar match each other under
/// `(?i)`. Derived from the standard library's case mappings: a scalar's fold is the lowercase
/// of its uppercase, keeping only single-scalar mappings; dotless ı and dotted İ have no simple
/// fold (their folds are Turkic-only or multi-character).
enum TextCaseFold {
    static let orbits: [UInt32: [UInt32]] = {
        var groups: [UInt32: [UInt32]] = [:]
        for v in UInt32(0)..<TextUnicodeTables.limit {
            guard let s = Unicode.Scalar(v), s.properties.changesWhenCaseMapped else { continue }
            groups[key(s), default: []].append(v)
        }
        var out: [UInt32: [UInt32]] = [:]
        var byFullFold: [String: [UInt32]] = [:]
        for (k, members) in groups {
            var all = members
            if !all.contains(k) { all.append(k) }
            if all.count < 2 {
                // characters with no simple fold but the same multi-character fold (ΐ and ΐ,
                // ﬅ and ﬆ) match each other in Oniguruma
                let s = Unicode.Scalar(k)!
                let full = s.properties.uppercaseMapping.unicodeScalars.map { $0.properties.lowercaseMapping }.joined()
                if full.unicodeScalars.count > 1 { byFullFold[full, default: []].append(k) }
                continue
            }
            for m in all { out[m] = all }
        }
        for (_, members) in byFullFold where members.count > 1 {
            for m in members { out[m] = members }
        }
        return out
    }()

    static func key(_ s: Unicode.Scalar) -> UInt32 {
        if s.value == 0x130 || s.value == 0x131 { return s.value }
        func single(_ m: String) -> Unicode.Scalar? {
            var it = m.unicodeScalars.makeIterator()
            guard let a = it.next(), it.next() == nil else { return nil }
            return a
        }
        let up = single(s.properties.uppercaseMapping) ?? s
        if up.value == 0x130 { return s.value }
        return (single(up.properties.lowercaseMapping) ?? up).value
    }

    /// Every scalar in v's fold class (v included), or nil when v has no other case.
    @inline(__always) static func orbit(_ v: UInt32) -> [UInt32]? {
        if v < 0x80 {
            let l = v | 0x20
            guard l >= 0x61 && l <= 0x7A else { return nil }
        }
        return orbits[v]
    }
}
