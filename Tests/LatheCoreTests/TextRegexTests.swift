import CLatheCore
import Foundation
import Testing
import LatheCore

/// The regular expression engine against Oniguruma (golden vectors from the Python `tokenizers`
/// library: scripts/golden/regex.py), on pathological patterns, and its errors.
@Suite struct TextRegexTests {
    static func golden() throws -> TextJSON {
        try TextJSON.parse(try AtomicFile.read(TextGolden.dir + "/regex.json"))
    }

    /// Character (scalar) index of every byte offset of `s` that starts a character, plus the end.
    static func charIndex(_ s: String) -> [Int: Int] {
        var map: [Int: Int] = [:]
        var b = 0
        for (i, u) in s.unicodeScalars.enumerated() {
            map[b] = i
            b += String(u).utf8.count
        }
        map[b] = s.unicodeScalars.count
        return map
    }

    /// What Split("isolated") and Replace(mark) make of `matches`, as the Rust library's
    /// `find_matches` and `NormalizedString` do (an empty text has no matches).
    static func render(_ text: String, _ matches: [(start: Int, end: Int)], mark: String) -> ([[Int]], String) {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return ([], "") }
        let idx = charIndex(text)
        var pieces: [[Int]] = []
        var replaced: [UInt8] = []
        var last = 0
        for m in matches {
            if last < m.start { pieces.append([idx[last]!, idx[m.start]!]) }
            if m.start < m.end { pieces.append([idx[m.start]!, idx[m.end]!]) }
            replaced += bytes[last..<m.start]
            replaced += Array(mark.utf8)
            last = m.end
        }
        if last < bytes.count { pieces.append([idx[last]!, idx[bytes.count]!]) }
        replaced += bytes[last...]
        return (pieces, String(decoding: replaced, as: UTF8.self))
    }

    static func jsonString(_ s: String) -> String { TextJSON.string(s).serialized(pretty: false) }

    @Test func bothEnginesMatchOniguruma() throws {
        let g = try TextRegexTests.golden()
        let mark = g["mark"]!.stringValue!
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let patterns = g["patterns"]!.arrayValue!
        #expect(patterns.count >= 40 && texts.count >= 30)
        for e in patterns {
            let p = e["pattern"]!.stringValue!
            let prog = try TextRegexProgram(p)
            for (k, c) in e["cases"]!.arrayValue!.enumerated() {
                let want = (c["isolated"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } }, c["replaced"]!.stringValue!)
                for engine in [TextRegexProgram.Engine.backtrack, .pike] {
                    let got = TextRegexTests.render(texts[k], try prog.matches(in: texts[k], engine: engine), mark: mark)
                    #expect(got.0 == want.0 && got.1 == want.1, "\(engine) \(p.debugDescription) on \(texts[k].debugDescription)")
                }
            }
        }
    }

    /// Random small patterns (nested quantifiers, lazy ones, empty alternatives, lookarounds)
    /// on random short texts: the corners of priority and empty-loop semantics.
    @Test func randomPatternsMatchOniguruma() throws {
        let g = try TextRegexTests.golden()
        let mark = g["mark"]!.stringValue!
        let entries = g["random"]!.arrayValue!
        #expect(entries.count >= 200)
        for e in entries {
            let p = e["pattern"]!.stringValue!
            let prog = try TextRegexProgram(p)
            for c in e["cases"]!.arrayValue! {
                let t = c["text"]!.stringValue!
                let want = (c["isolated"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } }, c["replaced"]!.stringValue!)
                for engine in [TextRegexProgram.Engine.backtrack, .pike] {
                    let got = TextRegexTests.render(t, try prog.matches(in: t, engine: engine), mark: mark)
                    #expect(got.0 == want.0 && got.1 == want.1,
                            "\(engine) \(p.debugDescription) on \(t.debugDescription): got \(got.1.debugDescription), want \(want.1.debugDescription)")
                }
            }
        }
    }

    /// The same vectors through tokenizer.json: a Split pre-tokenizer and a Replace normalizer
    /// (the pipeline's own path, scanners included for the GPT-2 and Llama-3 patterns).
    @Test func tokenizerPipelineMatchesOniguruma() throws {
        let g = try TextRegexTests.golden()
        let mark = g["mark"]!.stringValue!
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        for e in g["patterns"]!.arrayValue! {
            let p = TextRegexTests.jsonString(e["pattern"]!.stringValue!)
            let split = try tinyTokenizer(preTokenizer: #"{"type": "Split", "pattern": {"Regex": \#(p)}, "behavior": "Isolated", "invert": false}"#)
            let replace = try tinyTokenizer(normalizer: #"{"type": "Replace", "pattern": {"Regex": \#(p)}, "content": \#(TextRegexTests.jsonString(mark))}"#)
            for (k, c) in e["cases"]!.arrayValue!.enumerated() {
                let t = texts[k]
                let idx = TextRegexTests.charIndex(t)
                let pieces = try split.preTokenize(t).map { [idx[$0.start]!, idx[$0.end]!] }
                #expect(pieces == c["isolated"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } }, "split \(p) on \(t.debugDescription)")
                #expect(try replace.normalize(t) == c["replaced"]!.stringValue!, "replace \(p) on \(t.debugDescription)")
            }
        }
    }

    /// Patterns that take exponential time in a backtracking engine finish at once here (a
    /// regression would hang this test for hours).
    @Test func pathologicalPatternsRunInLinearTime() throws {
        let a = String(repeating: "a", count: 5000)
        let cases: [(String, String, [(Int, Int)])] = [
            (#"(a+)+$"#, a + "b", []),
            (#"(a+)+$"#, a, [(0, 5000)]),
            (#"(a|a)*b"#, a, []),
            (#"(a*)*b"#, a, []),
            (#"(x+x+)+y"#, String(repeating: "x", count: 5000), []),
            (#"(?:a|aa)+$"#, a + "!", []),
            (#"(\w+\s?)*$"#, String(repeating: "ab ", count: 1700) + "!", [(5101, 5101)]),
        ]
        for (p, text, want) in cases {
            let prog = try TextRegexProgram(p)
            for engine in [TextRegexProgram.Engine.backtrack, .pike] {
                let got = try prog.matches(in: text, engine: engine)
                #expect(got.map { [$0.start, $0.end] } == want.map { [$0.0, $0.1] }, "\(engine) \(p)")
            }
        }
        // every search of find_iter scans to the end of the word before \w settles for one
        // character: the backtracker's visited set, kept across searches, makes this linear
        let many = try TextRegexProgram(#"\w+x|\w"#).matches(in: a)
        #expect(many.count == 5000 && many.last.map { [$0.start, $0.end] } == [4999, 5000])
    }

    /// Lookarounds are answered from per-position tables: `(?=.*z)` at every position stays linear.
    @Test func lookaroundsAreLinear() throws {
        let text = String(repeating: "ab", count: 4000) + "z"
        let ahead = try TextRegexProgram(#"\w(?=.*z)"#).matches(in: text)
        #expect(ahead.count == 8000)
        let behind = try TextRegexProgram(#"(?<=a.*)b"#).matches(in: text)
        #expect(behind.count == 4000 && behind.first.map { [$0.start, $0.end] } == [1, 2])
    }

    @Test func ctrlCStopsAMatch() throws {
        let prog = try TextRegexProgram(#"(a|a)*b"#)
        let text = String(repeating: "a", count: 200_000)
        for engine in [TextRegexProgram.Engine.backtrack, .pike] {
            lk_interrupt_set()
            #expect(errorMessage { _ = try prog.matches(in: text, engine: engine) } == LatheError.interrupted.message)
            #expect(lk_interrupt_pending() == 0, "the flag is cleared once handled")
        }
    }

    @Test func unsupportedAndInvalidPatternsNameTheConstruct() throws {
        let cases: [(String, String)] = [
            (#"(a)\1"#, #"backreferences (\1) are not supported"#),
            (#"(?<x>a)\k<x>"#, #"backreferences (\k<name>) are not supported"#),
            (#"(?>a+)b"#, "atomic groups (?>...) are not supported"),
            (#"a++"#, "possessive quantifiers (*+, ++, ?+) are not supported"),
            (#"a{3,2}"#, "possessive interval {3,2} is not supported"),
            (#"(?(1)a|b)"#, "conditionals (?(cond)...) are not supported"),
            (#"(?~ab)"#, "absent groups (?~...) are not supported"),
            (#"\p{Han}"#, "character property {Han} is not supported (general categories and Alpha, Digit, Space, Word, ... are)"),
            (#"\Gx"#, #"\G (search start anchor) is not supported"#),
            (#"(?s).+"#, #"group option "s" is not supported (at offset 2)"#),
            (#"*a"#, "target of repeat operator is not specified at offset 0"),
            (#"\b+"#, "target of repeat operator is invalid at offset 3"),
            (#"[z-a]"#, "empty range in char class"),
            (#"[\d-z]"#, "unmatched range specifier in char-class"),
            (#"(ab"#, "end pattern with unmatched parenthesis (group at offset 0)"),
            (#"ab)"#, "unmatched close parenthesis at offset 2"),
            (#"[ab"#, "premature end of char-class"),
            (#"a{100001}"#, "too big number for repeat range (at most 100000)"),
            (#"(?:\w{1000}){1000}"#, "too large once its repeats are expanded (more than 100000 instructions)"),
            (String(repeating: "(", count: 300) + String(repeating: ")", count: 300), "nested too deeply (at most 200 levels)"),
            (String(repeating: "[", count: 300), "nested too deeply (at most 200 levels)"),
        ]
        for (p, what) in cases {
            let json = TextRegexTests.jsonString(p)
            let msg = errorMessage {
                _ = try tinyTokenizer(preTokenizer: #"{"type": "Split", "pattern": {"Regex": \#(json)}, "behavior": "Isolated", "invert": false}"#)
            }
            #expect(msg == "pre_tokenizer Split: regular expression \(p.debugDescription): \(what)")
        }
    }

    /// Syntax corners, each checked against Oniguruma (tokenizers 0.23.3) by hand.
    @Test func syntaxCornersMatchOniguruma() throws {
        let cases: [(String, String, [[Int]])] = [
            (#"a{,2}"#, "aaa", [[0, 2], [2, 3]]),                 // {,n} is {0,n}
            (#"a{2}?"#, "aaa", [[0, 2], [3, 3]]),                 // {n}? is (?:a{n})?, not lazy
            (#"a{2,2}?"#, "aaa", [[0, 2]]),                       // ... but {n,n}? is lazy
            (#"a{"#, "a{b", [[0, 2]]),                           // not an interval: a literal {
            (#"x{1,2}+"#, "xxxxx", [[0, 5]]),                     // {n,m}+ is not possessive
            (#"a(?i)b|c"#, "CaBc", [[1, 3]]),                     // (?i) takes in later alternatives
            (#"(?x) a b # c"#, "ab", [[0, 2]]),
            (#"[]a]"#, "]a", [[0, 1], [1, 2]]),
            (#"[a-z&&[^aeiou]]"#, "abcde", [[1, 2], [2, 3], [3, 4]]),
            (#"[[:^alpha:][:digit:]]"#, "a1-", [[1, 2], [2, 3]]),
            (#"(?i)[^\W\d]+"#, "Ab1_c", [[0, 2], [3, 5]]),
            (#"((?=a)b){0}c"#, "abc", [[2, 3]]),
            (#"\x41\x{42}\u0043\101"#, "ABCA", [[0, 4]]),
            (#"\o{101}\x{1F600}"#, "A😀", [[0, 5]]),
            (#"[\x{1F600}-\x{1F64F}]+"#, "x😀😃y", [[1, 9]]),
            (#"(?<=^|\s)\w"#, "ab cd", [[0, 1], [3, 4]]),
            (#"\Aa|b\z|c\Z"#, "abc\n", [[0, 1], [2, 3]]),
            (#"(?#comment)a"#, "a", [[0, 1]]),
            (#"\cA\e\0"#, "\u{1}\u{1B}\u{0}", [[0, 3]]),
        ]
        for (p, t, want) in cases {
            for engine in [TextRegexProgram.Engine.backtrack, .pike] {
                #expect(try TextRegexProgram(p).matches(in: t, engine: engine).map { [$0.start, $0.end] } == want, "\(engine) \(p)")
            }
        }
    }

    /// Case-insensitive matching uses simple case folding; Oniguruma's multi-character folds
    /// (ß with "ss") are not applied.
    @Test func caseFoldingClasses() throws {
        func spans(_ p: String, _ t: String) throws -> [String] {
            let bytes = Array(t.utf8)
            return try TextRegexProgram(p).matches(in: t).map { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) }
        }
        #expect(try spans("(?i)k", "k K \u{212A} x") == ["k", "K", "\u{212A}"])
        #expect(try spans("(?i)s+", "sSſ ß") == ["sSſ"])
        #expect(try spans("(?i)[^a]", "aAb") == ["b"])
        #expect(try spans("(?i)σ", "Σσς") == ["Σ", "σ", "ς"])
        #expect(try spans("(?i)i", "ıİiI") == ["i", "I"])
    }
}

/// Character classes and case folding over every code point Python's Unicode data knows.
@Suite struct TextRegexClassTests {
    static func codePoints(_ j: TextJSON?) -> [UInt32] {
        var out: [UInt32] = []
        for r in j?.arrayValue ?? [] {
            let a = r.arrayValue!.map { UInt32($0.intValue!) }
            out += Array(a[0]...a[1])
        }
        return out
    }

    static func text(_ cps: [UInt32]) -> String {
        var s = String.UnicodeScalarView()
        for c in cps { s.append(Unicode.Scalar(c)!) }
        return String(s)
    }

    /// The code points of `text` that `pattern` matches one at a time.
    static func matched(_ pattern: String, _ text: String) throws -> Set<UInt32> {
        let bytes = Array(text.utf8)
        var out = Set<UInt32>()
        for m in try TextRegexProgram(pattern).matches(in: text) {
            let piece = String(decoding: bytes[m.start..<m.end], as: UTF8.self)
            if piece.unicodeScalars.count == 1 { out.insert(piece.unicodeScalars.first!.value) }
        }
        return out
    }

    /// Code points whose properties differ between Oniguruma's Unicode 14 data and the Swift
    /// runtime's newer data: the tests skip them (U+0295 ʕ became Lo in Unicode 15).
    static let unicodeUpdates: Set<UInt32> = [0x295]

    @Test func classesMatchOniguruma() throws {
        let g = try TextRegexTests.golden()
        let checked = TextRegexClassTests.codePoints(g["checked"]).filter { !TextRegexClassTests.unicodeUpdates.contains($0) }
        let text = TextRegexClassTests.text(checked)
        for c in g["classes"]!.arrayValue! {
            let p = c["pattern"]!.stringValue!
            let want = Set(TextRegexClassTests.codePoints(c["matches"]))
            let got = try TextRegexClassTests.matched(p, text)
            let missing = checked.filter { want.contains($0) && !got.contains($0) }
            let extra = checked.filter { !want.contains($0) && got.contains($0) }
            #expect(missing.isEmpty && extra.isEmpty,
                    "\(p): missing \(missing.prefix(12).map { String($0, radix: 16) }) (\(missing.count)), extra \(extra.prefix(12).map { String($0, radix: 16) }) (\(extra.count))")
        }
    }

    @Test func caseFoldingMatchesOniguruma() throws {
        let g = try TextRegexTests.golden()
        let cased = TextRegexClassTests.codePoints(g["cased"])
        var folds: [UInt32: [UInt32]] = [:]
        for f in g["folds"]!.arrayValue! {
            let a = f.arrayValue!
            folds[UInt32(a[0].intValue!)] = a[1].arrayValue!.map { UInt32($0.intValue!) }
        }
        let text = TextRegexClassTests.text(cased)
        var bad: [String] = []
        for c in cased {
            let want = Set(folds[c] ?? [c])
            let got = try TextRegexClassTests.matched("(?i)\\x{\(String(c, radix: 16))}", text)
            if got != want { bad.append("\(String(c, radix: 16)): want \(want.sorted().map { String($0, radix: 16) }) got \(got.sorted().map { String($0, radix: 16) })") }
        }
        #expect(bad.isEmpty, "\(bad.count) differ: \(bad.prefix(20))")
    }
}
