import Foundation

/// Zero-width assertions, with Oniguruma's (Ruby syntax) meanings: `^` and `$` are line
/// anchors (newline is U+000A only), `\Z` also matches before a final newline.
enum TextRegexAssert: Int32 {
    case lineStart, lineEnd, textStart, textEnd, textEndNewline, wordBoundary, notWordBoundary
}

/// A parsed regular expression. Groups do not capture: only whole-match spans are needed.
indirect enum TextRegexNode {
    case empty
    /// One character from a class.
    case set(TextCharSet)
    case concat([TextRegexNode])
    case alt([TextRegexNode])
    /// `max < 0`: unbounded.
    case rep(TextRegexNode, min: Int, max: Int, greedy: Bool)
    case assert(TextRegexAssert)
    /// A lookaround; `index` numbers it within the pattern.
    case look(index: Int, TextRegexNode, behind: Bool, negate: Bool)
    /// A capturing, named or option group: kept so quantifier checks see a group boundary as
    /// Oniguruma does.
    case group(TextRegexNode)

    /// True when some path through the node consumes no character.
    var nullable: Bool {
        switch self {
        case .empty, .assert, .look: return true
        case .set: return false
        case .concat(let xs): return xs.allSatisfy { $0.nullable }
        case .alt(let xs): return xs.contains { $0.nullable }
        case .rep(let x, let mn, _, _): return mn == 0 || x.nullable
        case .group(let x): return x.nullable
        }
    }
}

/// Parses the Oniguruma syntax (ONIG_SYNTAX_ONIGURUMA, as the onig crate compiles Hugging Face
/// tokenizer patterns) into `TextRegexNode`s. Constructs the engine does not run
/// (backreferences, atomic groups, possessive quantifiers, conditionals, absent groups,
/// callouts, subexpression calls, `\G`, `\K`, `\R`, `\X`, script properties) are errors that
/// name the construct.
struct TextRegexParser {
    struct Flags {
        var ignoreCase = false
        var dotAll = false
        var extended = false
    }

    let pattern: String
    let src: [UInt32]
    var i = 0
    var depth = 0
    var lookCount = 0
    var groupCount = 0

    static let maxDepth = 200
    static let maxRepeat = 100_000

    init(_ pattern: String) {
        self.pattern = pattern
        src = pattern.unicodeScalars.map { $0.value }
    }

    func fail(_ what: String) -> LatheError {
        LatheError("regular expression \(pattern.debugDescription): \(what)")
    }

    var atEnd: Bool { i >= src.count }
    func peek(_ k: Int = 0) -> UInt32? { i + k < src.count ? src[i + k] : nil }
    func peekIs(_ c: Character, _ k: Int = 0) -> Bool { peek(k) == c.unicodeScalars.first!.value }

    mutating func parse() throws(LatheError) -> TextRegexNode {
        let n = try parseAlt(Flags())
        if !atEnd { throw fail("unmatched close parenthesis at offset \(i)") }
        return n
    }

    /// Alternatives up to a `)` (not consumed) or the end.
    mutating func parseAlt(_ flags: Flags) throws(LatheError) -> TextRegexNode {
        depth += 1
        defer { depth -= 1 }
        if depth > TextRegexParser.maxDepth { throw fail("nested too deeply (at most \(TextRegexParser.maxDepth) levels)") }
        var alts: [TextRegexNode] = [try parseConcat(flags)]
        while peekIs("|") {
            i += 1
            alts.append(try parseConcat(flags))
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    mutating func skipExtended(_ flags: Flags) {
        guard flags.extended else { return }
        while let c = peek() {
            if c == 0x20 || (c >= 0x09 && c <= 0x0D) { i += 1; continue }
            if c == 0x23 {  // '#' comment to the end of the line
                while let d = peek(), d != 0x0A { i += 1 }
                continue
            }
            break
        }
    }

    mutating func parseConcat(_ flags: Flags) throws(LatheError) -> TextRegexNode {
        var items: [TextRegexNode] = []
        while true {
            skipExtended(flags)
            guard let c = peek(), c != 0x7C, c != 0x29 else { break }  // | )
            if c == 0x28, peekIs("?", 1), let newFlags = try parseOptionSwitch(flags) {
                // `(?i)` applies to the rest of the enclosing group, later alternatives included
                // (Ruby semantics: a(?i)b|c is a(?i:b|c))
                items.append(.group(try parseAlt(newFlags)))
                break
            }
            guard var atom = try parseAtom(flags) else { continue }
            atom = try parseQuantifiers(atom, flags)
            items.append(atom)
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .concat(items))
    }

    /// `(?imx-imx)` without a colon: the new flags (the group is consumed), else nil.
    mutating func parseOptionSwitch(_ flags: Flags) throws(LatheError) -> Flags? {
        var k = i + 2
        var f = flags
        var on = true
        while k < src.count {
            switch src[k] {
            case 0x69: f.ignoreCase = on
            case 0x6D: f.dotAll = on
            case 0x78: f.extended = on
            case 0x2D: on = false
            case 0x29:
                if k == i + 2 { return nil }
                i = k + 1
                return f
            default: return nil
            }
            k += 1
        }
        return nil
    }

    mutating func parseAtom(_ flags: Flags) throws(LatheError) -> TextRegexNode? {
        let c = src[i]
        switch c {
        case 0x28: return try parseGroup(flags)
        case 0x5B:
            i += 1
            return .set(try parseClass(flags))
        case 0x2E:
            i += 1
            return .set(flags.dotAll ? .property(.any) : .not(.property(.newline)))
        case 0x5E: i += 1; return .assert(.lineStart)
        case 0x24: i += 1; return .assert(.lineEnd)
        case 0x5C:
            i += 1
            switch try parseEscape(inClass: false) {
            case .char(let v): return literal(v, flags)
            case .set(let s): return .set(s)
            case .assert(let a): return .assert(a)
            }
        case 0x2A, 0x2B, 0x3F:
            throw fail("target of repeat operator is not specified at offset \(i)")
        case 0x7B:
            if intervalAhead() { throw fail("target of repeat operator is not specified at offset \(i)") }
            i += 1
            return literal(c, flags)
        default:
            i += 1
            return literal(c, flags)
        }
    }

    func literal(_ v: UInt32, _ flags: Flags) -> TextRegexNode {
        .set(flags.ignoreCase ? TextCharSet.caseless(v) : .char(v))
    }

    // MARK: groups

    mutating func parseGroup(_ flags: Flags) throws(LatheError) -> TextRegexNode? {
        let open = i
        i += 1
        var body: TextRegexNode
        if peekIs("?") {
            i += 1
            guard let c = peek() else { throw fail("end pattern in group") }
            switch c {
            case 0x3A:  // (?:
                i += 1
                body = try parseAlt(flags)
                try closeGroup(open)
                return body
            case 0x3D, 0x21:  // (?= (?!
                i += 1
                return try parseLook(flags, behind: false, negate: c == 0x21, open: open)
            case 0x3C:  // (?<= (?<! (?<name>
                if peekIs("=", 1) || peekIs("!", 1) {
                    let neg = peekIs("!", 1)
                    i += 2
                    return try parseLook(flags, behind: true, negate: neg, open: open)
                }
                i += 1
                try skipName(until: 0x3E)
            case 0x27:  // (?'name'
                i += 1
                try skipName(until: 0x27)
            case 0x23:  // (?# comment )
                while let d = peek(), d != 0x29 { i += 1 }
                if atEnd { throw fail("end pattern in group") }
                i += 1
                return nil
            case 0x3E: throw fail("atomic groups (?>...) are not supported")
            case 0x7E: throw fail("absent groups (?~...) are not supported")
            case 0x28: throw fail("conditionals (?(cond)...) are not supported")
            case 0x7B: throw fail("callouts (?{...}) are not supported")
            default:
                body = try parseAlt(try parseGroupOptions(flags))
                try closeGroup(open)
                return .group(body)
            }
        } else if peekIs("*") {
            throw fail("callouts (*...) are not supported")
        }
        groupCount += 1
        body = try parseAlt(flags)
        try closeGroup(open)
        return .group(body)
    }

    /// The flags of `(?imx-imx:` (after the `?`, through the colon).
    mutating func parseGroupOptions(_ flags: Flags) throws(LatheError) -> Flags {
        var f = flags
        var on = true
        while let d = peek() {
            switch d {
            case 0x69: f.ignoreCase = on
            case 0x6D: f.dotAll = on
            case 0x78: f.extended = on
            case 0x2D: on = false
            case 0x3A:
                i += 1
                return f
            default:
                let name = String(Character(Unicode.Scalar(d) ?? "?"))
                throw fail("group option \"\(name)\" is not supported (at offset \(i))")
            }
            i += 1
        }
        throw fail("end pattern in group")
    }

    mutating func closeGroup(_ open: Int) throws(LatheError) {
        guard peekIs(")") else { throw fail("end pattern with unmatched parenthesis (group at offset \(open))") }
        i += 1
    }

    mutating func skipName(until close: UInt32) throws(LatheError) {
        while let d = peek(), d != close { i += 1 }
        if atEnd { throw fail("invalid group name") }
        i += 1
        groupCount += 1
    }

    mutating func parseLook(_ flags: Flags, behind: Bool, negate: Bool, open: Int) throws(LatheError) -> TextRegexNode {
        let body = try parseAlt(flags)
        try closeGroup(open)
        let idx = lookCount
        lookCount += 1
        return .look(index: idx, body, behind: behind, negate: negate)
    }

    // MARK: quantifiers

    /// True when a valid `{n}`, `{n,}`, `{,m}` or `{n,m}` starts at i.
    func intervalAhead() -> Bool {
        var k = i + 1
        var digits = 0, comma = false, digitsAfter = 0
        while k < src.count {
            let c = src[k]
            if c >= 0x30 && c <= 0x39 { if comma { digitsAfter += 1 } else { digits += 1 } }
            else if c == 0x2C && !comma { comma = true }
            else if c == 0x7D { return digits > 0 || (comma && digitsAfter > 0) }
            else { return false }
            k += 1
        }
        return false
    }

    mutating func readInt() throws(LatheError) -> Int? {
        var v = 0
        var any = false
        while let c = peek(), c >= 0x30 && c <= 0x39 {
            v = v * 10 + Int(c - 0x30)
            if v > TextRegexParser.maxRepeat { throw fail("too big number for repeat range (at most \(TextRegexParser.maxRepeat))") }
            any = true
            i += 1
        }
        return any ? v : nil
    }

    func checkTarget(_ node: TextRegexNode) throws(LatheError) {
        func invalid(_ n: TextRegexNode) -> Bool {
            switch n {
            case .assert, .look: return true
            case .alt(let xs): return xs.contains { if case .assert = $0 { return true }; if case .look = $0 { return true }; return false }
            default: return false
            }
        }
        if invalid(node) { throw fail("target of repeat operator is invalid at offset \(i)") }
    }

    mutating func parseQuantifiers(_ atom: TextRegexNode, _ flags: Flags) throws(LatheError) -> TextRegexNode {
        var node = atom
        while true {
            skipExtended(flags)
            guard let c = peek() else { return node }
            var mn = 0, mx = -1
            var interval = false
            var fixed = false  // {n}, without a comma
            switch c {
            case 0x2A: i += 1
            case 0x2B: mn = 1; i += 1
            case 0x3F: mx = 1; i += 1
            case 0x7B:
                guard intervalAhead() else { return node }
                i += 1
                mn = try readInt() ?? 0
                if peekIs(",") {
                    i += 1
                    mx = try readInt() ?? -1
                } else {
                    mx = mn
                    fixed = true
                }
                i += 1  // }
                interval = true
                if mx >= 0 && mx < mn {
                    throw fail("possessive interval {\(mn),\(mx)} is not supported")
                }
            default: return node
            }
            try checkTarget(node)
            var greedy = true
            if peekIs("?") {
                if fixed {
                    // ONIG_SYNTAX_ONIGURUMA: a{n}? is (?:a{n})?, not a lazy a{n}
                    i += 1
                    node = .rep(.rep(node, min: mn, max: mx, greedy: true), min: 0, max: 1, greedy: true)
                    continue
                }
                greedy = false
                i += 1
            } else if peekIs("+") && !interval {
                throw fail("possessive quantifiers (*+, ++, ?+) are not supported")
            }
            node = .rep(node, min: mn, max: mx, greedy: greedy)
        }
    }

    // MARK: escapes

    enum Escape {
        case char(UInt32)
        case set(TextCharSet)
        case assert(TextRegexAssert)
    }

    mutating func hexDigits(max: Int, exact: Bool) throws(LatheError) -> UInt32 {
        var v: UInt32 = 0
        var n = 0
        while n < max, let c = peek(), let d = hexValue(c) {
            v = v * 16 + d
            n += 1
            i += 1
        }
        if n == 0 || (exact && n != max) { throw fail("invalid code point value at offset \(i)") }
        return v
    }

    func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    mutating func octalDigits(max: Int) -> UInt32 {
        var v: UInt32 = 0
        var n = 0
        while n < max, let c = peek(), c >= 0x30 && c <= 0x37 {
            v = v * 8 + (c - 0x30)
            n += 1
            i += 1
        }
        return v
    }

    mutating func codePoint(_ v: UInt32) throws(LatheError) -> Escape {
        if v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { throw fail("invalid code point value \(String(v, radix: 16))") }
        return .char(v)
    }

    /// The escape after a backslash (already consumed).
    mutating func parseEscape(inClass: Bool) throws(LatheError) -> Escape {
        guard let c = peek() else { throw fail("end pattern at escape") }
        i += 1
        if let v = TextRegexParser.controlEscapes[c] { return .char(v) }
        if let set = TextRegexParser.shorthandClasses[c] { return .set(set) }
        switch c {
        case 0x78, 0x75, 0x6F, 0x30...0x39, 0x63: return try numericEscape(c, inClass: inClass)
        case 0x70, 0x50:  // p{..} P{..}
            guard peekIs("{") else { return .char(c) }
            i += 1
            return .set(try parseProperty(negated: c == 0x50))
        default: break
        }
        if inClass { return .char(c == 0x62 ? 0x08 : c) }  // \b in a class is backspace
        return try anchorEscape(c)
    }

    /// \t \n \r \f \v \a \e
    static let controlEscapes: [UInt32: UInt32] = [0x74: 0x09, 0x6E: 0x0A, 0x72: 0x0D, 0x66: 0x0C, 0x76: 0x0B, 0x61: 0x07, 0x65: 0x1B]

    /// \d \D \w \W \s \S \h \H with Oniguruma's Unicode meanings.
    static let shorthandClasses: [UInt32: TextCharSet] = [
        0x64: .categories(TextUnicodeTables.categories.decimal), 0x44: .not(.categories(TextUnicodeTables.categories.decimal)),
        0x77: .property(.word), 0x57: .not(.property(.word)),
        0x73: .property(.whiteSpace), 0x53: .not(.property(.whiteSpace)),
        0x68: .property(.hexDigit), 0x48: .not(.property(.hexDigit)),
    ]

    /// \xHH \x{H..} \uHHHH \o{O..} \0OO \OOO \cX, and backreferences (rejected).
    mutating func numericEscape(_ c: UInt32, inClass: Bool) throws(LatheError) -> Escape {
        switch c {
        case 0x78:  // x
            guard peekIs("{") else { return try codePoint(try hexDigits(max: 2, exact: false)) }
            i += 1
            let v = try hexDigits(max: 8, exact: false)
            guard peekIs("}") else { throw fail("invalid code point value at offset \(i)") }
            i += 1
            return try codePoint(v)
        case 0x75: return try codePoint(try hexDigits(max: 4, exact: true))  // u
        case 0x6F:  // o{...}
            guard peekIs("{") else { return .char(c) }
            i += 1
            let v = octalDigits(max: 11)
            guard peekIs("}") else { throw fail("invalid code point value at offset \(i)") }
            i += 1
            return try codePoint(v)
        case 0x63:  // cX
            guard let x = peek() else { throw fail("end pattern at control") }
            i += 1
            return .char(x == 0x3F ? 0x7F : x & 0x1F)
        case 0x30: return .char(octalDigits(max: 2))
        default: break
        }
        // \1-\9...: a backreference when the number can be one (as Oniguruma decides), else
        // an octal code (\101) or the digit itself (\8)
        if !inClass {
            var num = Int(c - 0x30)
            var k = i
            while k < src.count, src[k] >= 0x30 && src[k] <= 0x39, num < 1000 { num = num * 10 + Int(src[k] - 0x30); k += 1 }
            if num <= 9 || num <= groupCount { throw fail("backreferences (\\\(num)) are not supported") }
        }
        if c >= 0x38 { return .char(c) }
        i -= 1
        return try codePoint(octalDigits(max: 3))
    }

    /// Anchors and the escapes outside classes that are not characters.
    func anchorEscape(_ c: UInt32) throws(LatheError) -> Escape {
        switch c {
        case 0x62: return .assert(.wordBoundary)
        case 0x42: return .assert(.notWordBoundary)
        case 0x41: return .assert(.textStart)
        case 0x7A: return .assert(.textEnd)
        case 0x5A: return .assert(.textEndNewline)
        case 0x4E: return .set(.not(.property(.newline)))
        case 0x4F: return .set(.property(.any))
        case 0x47: throw fail("\\G (search start anchor) is not supported")
        case 0x4B: throw fail("\\K (keep) is not supported")
        case 0x52: throw fail("\\R (general newline) is not supported")
        case 0x58: throw fail("\\X (extended grapheme cluster) is not supported")
        case 0x79, 0x59: throw fail("\\y and \\Y (text segment boundaries) are not supported")
        case 0x6B where peekIs("<") || peekIs("'"): throw fail("backreferences (\\k<name>) are not supported")
        case 0x67 where peekIs("<") || peekIs("'"): throw fail("subexpression calls (\\g<name>) are not supported")
        default: return .char(c)
        }
    }

    /// `\p{Name}`, `\p{^Name}`, `\P{Name}` (the `{` consumed).
    mutating func parseProperty(negated: Bool) throws(LatheError) -> TextCharSet {
        var neg = negated
        if peekIs("^") { neg.toggle(); i += 1 }
        var name = ""
        while let c = peek(), c != 0x7D {
            name.unicodeScalars.append(Unicode.Scalar(c) ?? "?")
            i += 1
        }
        if atEnd { throw fail("invalid character property name {\(name)}") }
        i += 1
        guard let set = TextRegexParser.property(name) else {
            throw fail("character property {\(name)} is not supported (general categories and Alpha, Digit, Space, Word, ... are)")
        }
        return neg ? .not(set) : set
    }

    static func property(_ raw: String) -> TextCharSet? {
        let key = String(raw.lowercased().filter { $0 != " " && $0 != "_" && $0 != "-" })
        typealias C = TextUnicodeTables.categories
        let cats: [String: UInt32] = [
            "l": C.letterMask, "letter": C.letterMask, "lc": C.casedLetterMask, "casedletter": C.casedLetterMask,
            "lu": 1 << 0, "uppercaseletter": 1 << 0, "ll": 1 << 1, "lowercaseletter": 1 << 1,
            "lt": 1 << 2, "titlecaseletter": 1 << 2, "lm": 1 << 3, "modifierletter": 1 << 3, "lo": 1 << 4, "otherletter": 1 << 4,
            "m": C.markMask, "mark": C.markMask, "combiningmark": C.markMask,
            "mn": 1 << 5, "nonspacingmark": 1 << 5, "mc": 1 << 6, "spacingmark": 1 << 6, "me": 1 << 7, "enclosingmark": 1 << 7,
            "n": C.numberMask, "number": C.numberMask, "nd": 1 << 8, "decimalnumber": 1 << 8, "digit": 1 << 8,
            "nl": 1 << 9, "letternumber": 1 << 9, "no": 1 << 10, "othernumber": 1 << 10,
            "p": C.punctuationMask, "punctuation": C.punctuationMask, "punct": C.punctuationMask,
            "pc": 1 << 11, "connectorpunctuation": 1 << 11, "pd": 1 << 12, "dashpunctuation": 1 << 12,
            "ps": 1 << 13, "openpunctuation": 1 << 13, "pe": 1 << 14, "closepunctuation": 1 << 14,
            "pi": 1 << 15, "initialpunctuation": 1 << 15, "pf": 1 << 16, "finalpunctuation": 1 << 16,
            "po": 1 << 17, "otherpunctuation": 1 << 17,
            "s": C.symbolMask, "symbol": C.symbolMask, "sm": 1 << 18, "mathsymbol": 1 << 18,
            "sc": 1 << 19, "currencysymbol": 1 << 19, "sk": 1 << 20, "modifiersymbol": 1 << 20, "so": 1 << 21, "othersymbol": 1 << 21,
            "z": C.separatorMask, "separator": C.separatorMask, "zs": 1 << 22, "spaceseparator": 1 << 22,
            "zl": 1 << 23, "lineseparator": 1 << 23, "zp": 1 << 24, "paragraphseparator": 1 << 24,
            "c": C.otherMask, "other": C.otherMask, "cc": 1 << 25, "control": 1 << 25, "cntrl": 1 << 25,
            "cf": 1 << 26, "format": 1 << 26, "cs": 1 << 27, "surrogate": 1 << 27,
            "co": 1 << 28, "privateuse": 1 << 28, "cn": 1 << 29, "unassigned": 1 << 29,
        ]
        if let m = cats[key] { return .categories(m) }
        let props: [String: TextCharProperty] = [
            "any": .any, "assigned": .assigned, "ascii": .ascii, "alpha": .alphabetic, "alphabetic": .alphabetic,
            "upper": .uppercase, "uppercase": .uppercase, "lower": .lowercase, "lowercase": .lowercase,
            "space": .whiteSpace, "whitespace": .whiteSpace, "word": .word, "xdigit": .hexDigit,
            "blank": .blank, "graph": .graph, "print": .print,
        ]
        if let p = props[key] { return .property(p) }
        if key == "alnum" { return .union([.property(.alphabetic), .categories(C.decimal)]) }
        return nil
    }

    // MARK: bracket classes

    static let posixNames: [String: TextCharSet] = [
        "alnum": .union([.property(.alphabetic), .categories(TextUnicodeTables.categories.decimal)]),
        "alpha": .property(.alphabetic), "ascii": .property(.ascii), "blank": .property(.blank),
        "cntrl": .categories(1 << 25), "digit": .categories(TextUnicodeTables.categories.decimal),
        "graph": .property(.graph), "lower": .property(.lowercase), "print": .property(.print),
        "punct": .property(.posixPunct), "space": .property(.whiteSpace), "upper": .property(.uppercase),
        "xdigit": .property(.hexDigit), "word": .property(.posixWord),
    ]

    /// `[:name:]` or `[:^name:]` at i: the set (consumed), or nil when it is not one.
    mutating func parsePosix() throws(LatheError) -> TextCharSet? {
        guard peekIs("[") && peekIs(":", 1) else { return nil }
        var k = i + 2
        var neg = false
        if k < src.count && src[k] == 0x5E { neg = true; k += 1 }
        var name = ""
        while k < src.count, (src[k] >= 0x61 && src[k] <= 0x7A) || (src[k] >= 0x41 && src[k] <= 0x5A) {
            name.unicodeScalars.append(Unicode.Scalar(src[k])!)
            k += 1
        }
        guard k + 1 < src.count, src[k] == 0x3A, src[k + 1] == 0x5D else { return nil }
        guard let set = TextRegexParser.posixNames[name] else { throw fail("invalid POSIX bracket type [:\(name):]") }
        i = k + 2
        return neg ? .not(set) : set
    }

    /// A bracket class after its `[`, through its `]`.
    mutating func parseClass(_ flags: Flags) throws(LatheError) -> TextCharSet {
        depth += 1
        defer { depth -= 1 }
        if depth > TextRegexParser.maxDepth { throw fail("nested too deeply (at most \(TextRegexParser.maxDepth) levels)") }
        var negate = false
        if peekIs("^") { negate = true; i += 1 }
        var items: [TextCharSet] = []
        var ranges: [ClosedRange<UInt32>] = []
        var intersected: [TextCharSet] = []
        var first = true
        while true {
            guard let c = peek() else { throw fail("premature end of char-class") }
            if c == 0x5D && !first { i += 1; break }
            first = false
            if c == 0x26 && peekIs("&", 1) {  // &&
                i += 2
                intersected.append(TextRegexParser.union(items, ranges))
                items = []
                ranges = []
                continue
            }
            if c == 0x5B {
                if let p = try parsePosix() { items.append(p); continue }
                i += 1
                items.append(try parseClass(flags))
                continue
            }
            i += 1
            switch try parseClassElement(c) {
            case .set(let set): items.append(set)
            case .range(let r): ranges.append(r)
            }
        }
        var set = TextRegexParser.union(items, ranges)
        if !intersected.isEmpty { set = .intersection(intersected + [set]) }
        // under (?i) the class is closed under case folding before its negation, as Oniguruma
        // does: (?i)[^a] matches neither a nor A
        if flags.ignoreCase { set = .folded(set) }
        return negate ? .not(set) : set
    }

    enum ClassElement {
        case set(TextCharSet)
        case range(ClosedRange<UInt32>)
    }

    /// A character, a range `a-z` or a class escape inside brackets (its first character `c`
    /// consumed).
    mutating func parseClassElement(_ c: UInt32) throws(LatheError) -> ClassElement {
        var lo = c
        if c == 0x5C {
            switch try parseEscape(inClass: true) {
            case .char(let v): lo = v
            case .set(let s):
                if peekIs("-") && !peekIs("]", 1) && peek(1) != nil { throw fail("unmatched range specifier in char-class") }
                return .set(s)
            case .assert: throw fail("invalid escape in char-class")
            }
        }
        guard peekIs("-"), let after = peek(1), after != 0x5D else { return .range(lo...lo) }
        i += 1
        let hi: UInt32
        if after == 0x5C {
            i += 1
            guard case .char(let v) = try parseEscape(inClass: true) else { throw fail("char-class value at end of range") }
            hi = v
        } else if after == 0x5B {
            throw fail("char-class value at end of range")
        } else {
            hi = after
            i += 1
        }
        if hi < lo { throw fail("empty range in char class") }
        return .range(lo...hi)
    }

    static func union(_ items: [TextCharSet], _ ranges: [ClosedRange<UInt32>]) -> TextCharSet {
        var all = items
        if !ranges.isEmpty { all.insert(.ranges(ranges), at: 0) }
        return all.count == 1 ? all[0] : .union(all)
    }
}
