/// The Porter stemmer exactly as NLTK's `PorterStemmer()` (mode NLTK_EXTENSIONS, the mode
/// rouge-score uses), on Unicode code points.
public enum PorterStemmer {
    typealias W = [UInt32]

    static let pool: [W: W] = {
        let irregular: [String: [String]] = [
            "sky": ["sky", "skies"], "die": ["dying"], "lie": ["lying"], "tie": ["tying"],
            "news": ["news"], "inning": ["innings", "inning"], "outing": ["outings", "outing"],
            "canning": ["cannings", "canning"], "howe": ["howe"], "proceed": ["proceed"],
            "exceed": ["exceed"], "succeed": ["succeed"],
        ]
        var p: [W: W] = [:]
        for (k, vs) in irregular { for v in vs { p[w(v)] = w(k) } }
        return p
    }()

    static func w(_ s: String) -> W { s.unicodeScalars.map { $0.value } }

    static let a: UInt32 = 0x61, e: UInt32 = 0x65, i: UInt32 = 0x69, o: UInt32 = 0x6F, u: UInt32 = 0x75, y: UInt32 = 0x79

    @inline(__always) static func isVowel(_ c: UInt32) -> Bool { c == a || c == e || c == i || c == o || c == u }

    static func isConsonant(_ word: W, _ idx: Int) -> Bool {
        if isVowel(word[idx]) { return false }
        if word[idx] == y {
            var negate = false
            var k = idx
            while k > 0 && word[k] == y { negate.toggle(); k -= 1 }
            return (!isVowel(word[k])) != negate
        }
        return true
    }

    static func consonantFlags(_ word: ArraySlice<UInt32>) -> [Bool] {
        var flags: [Bool] = []
        flags.reserveCapacity(word.count)
        for (k, ch) in word.enumerated() {
            if isVowel(ch) { flags.append(false) } else if ch == y { flags.append(k == 0 ? true : !flags[k - 1]) } else { flags.append(true) }
        }
        return flags
    }

    static func measure(_ stem: ArraySlice<UInt32>) -> Int {
        let f = consonantFlags(stem)
        var m = 0
        if f.count >= 2 { for k in 0..<(f.count - 1) where !f[k] && f[k + 1] { m += 1 } }
        return m
    }
    static func measure(_ stem: W) -> Int { measure(stem[...]) }

    static func containsVowel(_ stem: W) -> Bool { consonantFlags(stem[...]).contains(false) }

    static func endsDoubleConsonant(_ word: W) -> Bool {
        word.count >= 2 && word[word.count - 1] == word[word.count - 2] && isConsonant(word, word.count - 1)
    }

    static func endsCVC(_ word: W) -> Bool {
        let n = word.count
        if n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) {
            let last = word[n - 1]
            if last != 0x77 && last != 0x78 && last != y { return true }
        }
        return n == 2 && !isConsonant(word, 0) && isConsonant(word, 1)
    }

    static func endsWith(_ word: W, _ suffix: W) -> Bool {
        word.count >= suffix.count && word[(word.count - suffix.count)...].elementsEqual(suffix)
    }

    static func dropping(_ word: W, _ n: Int) -> W { Array(word[0..<(word.count - n)]) }

    struct Rule {
        var suffix: W
        var replacement: W
        var condition: ((W) -> Bool)?
        var doubleConsonant = false
        init(_ s: String, _ r: String, _ c: ((W) -> Bool)?) { suffix = w(s); replacement = w(r); condition = c }
        init(doubleConsonant r: W, _ c: @escaping (W) -> Bool) { suffix = []; replacement = r; condition = c; doubleConsonant = true }
    }

    static func applyRules(_ word: W, _ rules: [Rule]) -> W {
        for rule in rules {
            if rule.doubleConsonant {
                if endsDoubleConsonant(word) {
                    let stem = dropping(word, 2)
                    if rule.condition == nil || rule.condition!(stem) { return stem + rule.replacement }
                    return word
                }
                continue  // NLTK then tests endswith("*d"), which never holds
            }
            if endsWith(word, rule.suffix) {
                let stem = dropping(word, rule.suffix.count)
                if rule.condition == nil || rule.condition!(stem) { return stem + rule.replacement }
                return word
            }
        }
        return word
    }

    static func positive(_ s: W) -> Bool { measure(s) > 0 }

    static func step1a(_ word: W) -> W {
        if endsWith(word, w("ies")) && word.count == 4 { return dropping(word, 3) + w("ie") }
        return applyRules(word, [Rule("sses", "ss", nil), Rule("ies", "i", nil), Rule("ss", "ss", nil), Rule("s", "", nil)])
    }

    static func step1b(_ word: W) -> W {
        if endsWith(word, w("ied")) {
            return word.count == 4 ? dropping(word, 3) + w("ie") : dropping(word, 3) + w("i")
        }
        if endsWith(word, w("eed")) {
            let stem = dropping(word, 3)
            return measure(stem) > 0 ? stem + w("ee") : word
        }
        var inter: W? = nil
        for suffix in ["ed", "ing"] where endsWith(word, w(suffix)) {
            let s = dropping(word, suffix.count)
            if containsVowel(s) { inter = s; break }
        }
        guard let st = inter else { return word }
        let last = st.last ?? 0
        return applyRules(st, [
            Rule("at", "ate", nil), Rule("bl", "ble", nil), Rule("iz", "ize", nil),
            Rule(doubleConsonant: st.isEmpty ? [] : [last], { _ in last != 0x6C && last != 0x73 && last != 0x7A }),
            Rule("", "e", { measure($0) == 1 && endsCVC($0) }),
        ])
    }

    static func step1c(_ word: W) -> W {
        applyRules(word, [Rule("y", "i", { $0.count > 1 && isConsonant($0, $0.count - 1) })])
    }

    static func step2(_ word: W) -> W {
        if endsWith(word, w("alli")) && positive(dropping(word, 4)) {
            return step2(dropping(word, 4) + w("al"))
        }
        let rules: [Rule] = [
            Rule("ational", "ate", positive), Rule("tional", "tion", positive), Rule("enci", "ence", positive),
            Rule("anci", "ance", positive), Rule("izer", "ize", positive), Rule("bli", "ble", positive),
            Rule("alli", "al", positive), Rule("entli", "ent", positive), Rule("eli", "e", positive),
            Rule("ousli", "ous", positive), Rule("ization", "ize", positive), Rule("ation", "ate", positive),
            Rule("ator", "ate", positive), Rule("alism", "al", positive), Rule("iveness", "ive", positive),
            Rule("fulness", "ful", positive), Rule("ousness", "ous", positive), Rule("aliti", "al", positive),
            Rule("iviti", "ive", positive), Rule("biliti", "ble", positive), Rule("fulli", "ful", positive),
            Rule("logi", "log", { _ in positive(dropping(word, 3)) }),
        ]
        return applyRules(word, rules)
    }

    static func step3(_ word: W) -> W {
        applyRules(word, [
            Rule("icate", "ic", positive), Rule("ative", "", positive), Rule("alize", "al", positive),
            Rule("iciti", "ic", positive), Rule("ical", "ic", positive), Rule("ful", "", positive),
            Rule("ness", "", positive),
        ])
    }

    static func step4(_ word: W) -> W {
        let gt1: (W) -> Bool = { measure($0) > 1 }
        return applyRules(word, [
            Rule("al", "", gt1), Rule("ance", "", gt1), Rule("ence", "", gt1), Rule("er", "", gt1),
            Rule("ic", "", gt1), Rule("able", "", gt1), Rule("ible", "", gt1), Rule("ant", "", gt1),
            Rule("ement", "", gt1), Rule("ment", "", gt1), Rule("ent", "", gt1),
            Rule("ion", "", { measure($0) > 1 && ($0.last == 0x73 || $0.last == 0x74) }),
            Rule("ou", "", gt1), Rule("ism", "", gt1), Rule("ate", "", gt1), Rule("iti", "", gt1),
            Rule("ous", "", gt1), Rule("ive", "", gt1), Rule("ize", "", gt1),
        ])
    }

    static func step5a(_ word: W) -> W {
        if endsWith(word, [e]) {
            let stem = dropping(word, 1)
            let m = measure(stem)
            if m > 1 { return stem }
            if m == 1 && !endsCVC(stem) { return stem }
        }
        return word
    }

    static func step5b(_ word: W) -> W {
        applyRules(word, [Rule("ll", "l", { _ in measure(dropping(word, 1)) > 1 })])
    }

    /// Stems a word (lowercased first, as NLTK does).
    public static func stem(_ word: String) -> String {
        let lowered = PyText.lower(word)
        let out = stem(scalars: w(lowered), originalLength: word.unicodeScalars.count)
        var s = String.UnicodeScalarView()
        for c in out { if let sc = Unicode.Scalar(c) { s.append(sc) } }
        return String(s)
    }

    /// Stems an already lowercased word given as code points.
    static func stem(scalars word: W, originalLength: Int) -> W {
        if let p = pool[word] { return p }
        if originalLength <= 2 { return word }
        var s = step1a(word)
        s = step1b(s)
        s = step1c(s)
        s = step2(s)
        s = step3(s)
        s = step4(s)
        s = step5a(s)
        s = step5b(s)
        return s
    }
}
