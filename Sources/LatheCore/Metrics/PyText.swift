/// Text primitives that behave exactly like Python's `str` methods, so tokenizers ported from
/// sacrebleu, rouge-score and the SQuAD script split and lowercase the same way.
public enum PyText {
    /// Python's `str.isspace()` for one code point (Unicode 14 set used by CPython 3.11).
    @inline(__always)
    public static func isSpace(_ v: UInt32) -> Bool {
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) || (v >= 0x1C && v <= 0x1F) }
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Length in bytes of a whitespace character (Python's definition) starting at `i`, or 0.
    @inline(__always)
    static func spaceLength(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let b = p[i]
        if b < 0x80 { return (b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F)) ? 1 : 0 }
        let n = p.count
        if b == 0xC2, i + 1 < n { return (p[i + 1] == 0x85 || p[i + 1] == 0xA0) ? 2 : 0 }
        if b == 0xE1, i + 2 < n { return (p[i + 1] == 0x9A && p[i + 2] == 0x80) ? 3 : 0 }
        if b == 0xE2, i + 2 < n {
            let c = p[i + 1], d = p[i + 2]
            if c == 0x80 && (d <= 0x8A || d == 0xA8 || d == 0xA9 || d == 0xAF) { return 3 }
            if c == 0x81 && d == 0x9F { return 3 }
            return 0
        }
        if b == 0xE3, i + 2 < n { return (p[i + 1] == 0x80 && p[i + 2] == 0x80) ? 3 : 0 }
        return 0
    }

    /// Length of the bytes after Python's `rstrip()` (trailing Unicode whitespace removed).
    static func rstripLength(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var n = p.count
        while n > 0 {
            var start = n - 1
            while start > 0 && p[start] & 0xC0 == 0x80 { start -= 1 }
            let w = spaceLength(p, start)
            if w > 0 && start + w == n { n = start } else { break }
        }
        return n
    }

    /// Byte ranges of the fields of Python's `s.split()` (runs of non-whitespace) in UTF-8 bytes.
    static func splitRanges(_ p: UnsafeBufferPointer<UInt8>, into out: inout [Range<Int>]) {
        out.removeAll(keepingCapacity: true)
        var i = 0
        let n = p.count
        var start = -1
        while i < n {
            let w = spaceLength(p, i)
            if w > 0 {
                if start >= 0 { out.append(start..<i); start = -1 }
                i += w
            } else {
                if start < 0 { start = i }
                i += 1
            }
        }
        if start >= 0 { out.append(start..<n) }
    }

    /// Python's `s.split()`.
    public static func split(_ s: String) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        var inWord = false
        for u in s.unicodeScalars {
            if isSpace(u.value) {
                if inWord { out.append(String(cur)); cur = String.UnicodeScalarView(); inWord = false }
            } else {
                cur.append(u)
                inWord = true
            }
        }
        if inWord { out.append(String(cur)) }
        return out
    }

    /// Python's `s.strip()` (Unicode whitespace at both ends).
    public static func strip(_ s: String) -> String {
        let sc = s.unicodeScalars
        guard let a = sc.firstIndex(where: { !isSpace($0.value) }) else { return "" }
        let b = sc.lastIndex(where: { !isSpace($0.value) })!
        return String(sc[a...b])
    }

    /// Python's `s.rstrip()`.
    public static func rstrip(_ s: String) -> String {
        let sc = s.unicodeScalars
        guard let b = sc.lastIndex(where: { !isSpace($0.value) }) else { return "" }
        return String(sc[...b])
    }

    /// Python's `str.lower()`: full Unicode lowercase mappings (U+0130 becomes "i̇"), with the
    /// Final_Sigma rule for U+03A3.
    public static func lower(_ s: String) -> String {
        var ascii = true
        for b in s.utf8 where b >= 0x80 { ascii = false; break }
        if ascii {
            var hasUpper = false
            for b in s.utf8 where b >= 0x41 && b <= 0x5A { hasUpper = true; break }
            if !hasUpper { return s }
            return String(decoding: s.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 32 : $0 }, as: UTF8.self)
        }
        let scalars = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        out.reserveCapacity(scalars.count)
        for (i, u) in scalars.enumerated() {
            if u.value < 0x80 {
                out.append((u.value >= 0x41 && u.value <= 0x5A) ? Unicode.Scalar(u.value + 32)! : u)
            } else if u.value == 0x3A3 {
                out.append(Unicode.Scalar(finalSigma(scalars, i) ? 0x3C2 : 0x3C3)!)
            } else {
                out.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// CPython's handle_capital_sigma: \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}).
    static func finalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        var k = i + 1
        while k < s.count && s[k].properties.isCaseIgnorable { k += 1 }
        return k == s.count || !s[k].properties.isCased
    }

    /// Python's `\w` for one code point in a `str` pattern: letters, numbers (isalnum) and `_`.
    public static func isWordChar(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return u.properties.numericType != nil
        }
    }

    /// Number of code points (Python's `len`).
    @inline(__always) public static func length(_ s: String) -> Int { s.unicodeScalars.count }

    /// Right-aligns `s` in `width` code points (Python's `{:>width}`).
    public static func rjust(_ s: String, _ width: Int) -> String {
        let n = length(s)
        return n >= width ? s : String(repeating: " ", count: width - n) + s
    }

    /// Left-aligns `s` in `width` code points.
    public static func ljust(_ s: String, _ width: Int) -> String {
        let n = length(s)
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }
}
