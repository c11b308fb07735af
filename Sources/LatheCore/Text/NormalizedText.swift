import Foundation

/// Where one byte of normalized text came from in the original input: a byte range.
struct TextSpan: Equatable {
    var start: Int32
    var end: Int32
}

/// A piece of normalized text with its alignment to the original input, like the Rust
/// library's `NormalizedString`: every normalized byte knows the original byte range it came
/// from, so token offsets can be reported in the caller's text. Alignments here are absolute
/// (offsets in the whole input), and slices share storage with their parent.
struct NText {
    var bytes: ArraySlice<UInt8>
    var align: ArraySlice<TextSpan>
    /// Original offset of this piece's start: the alignment of characters inserted before the
    /// first one.
    var shift: Int32
    /// True when each byte stands for its GPT-2 byte-level character (the ByteLevel
    /// pre-tokenizer's transform, applied lazily: see `materializedByteLevel`).
    var byteLevel = false

    var count: Int { bytes.count }
    var isEmpty: Bool { bytes.isEmpty }

    /// The whole of `text` (valid UTF-8), starting at original offset `base`.
    init(original text: [UInt8], base: Int = 0) {
        var al = [TextSpan]()
        al.reserveCapacity(text.count)
        text.withUnsafeBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            var i = 0
            let n = buf.count
            while i < n {
                let l = min(TextChar.seqLen(p[i]), n - i)
                let sp = TextSpan(start: Int32(base + i), end: Int32(base + i + l))
                for _ in 0..<l { al.append(sp) }
                i += l
            }
        }
        bytes = text[...]
        align = al[...]
        shift = Int32(base)
    }

    init(bytes: ArraySlice<UInt8>, align: ArraySlice<TextSpan>, shift: Int32, byteLevel: Bool = false) {
        self.bytes = bytes
        self.align = align
        self.shift = shift
        self.byteLevel = byteLevel
    }

    /// The normalized text as a Swift string.
    var string: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always) func byte(_ i: Int) -> UInt8 { bytes[bytes.startIndex + i] }
    @inline(__always) func span(_ i: Int) -> TextSpan { align[align.startIndex + i] }

    /// A sub-range [s, e) in bytes of this piece (on character boundaries).
    func slice(_ s: Int, _ e: Int) -> NText {
        let bs = bytes.startIndex, as_ = align.startIndex
        let newShift = s < e ? align[as_ + s].start : shift
        return NText(bytes: bytes[(bs + s)..<(bs + e)], align: align[(as_ + s)..<(as_ + e)],
                     shift: newShift, byteLevel: byteLevel)
    }

    /// Original offsets of the normalized byte range [s, e): the first byte's start and the
    /// last byte's end (the Rust library's `convert_offsets`).
    func originalRange(_ s: Int, _ e: Int) -> (Int, Int) {
        if s >= e || e > count {
            return (Int(shift) + s, Int(shift) + e)
        }
        let a = align.startIndex
        return (Int(align[a + s].start), Int(align[a + e - 1].end))
    }

    /// The characters of the text: (scalar, byte length).
    func chars() -> [(UInt32, Int)] {
        var out: [(UInt32, Int)] = []
        out.reserveCapacity(count)
        bytes.withUnsafeBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            var i = 0
            while i < buf.count {
                let (v, l) = TextChar.decode(p, i, buf.count)
                out.append((v, l))
                i += l
            }
        }
        return out
    }

    var isASCII: Bool {
        bytes.withUnsafeBufferPointer { buf in
            for b in buf where b >= 0x80 { return false }
            return true
        }
    }

    var firstScalar: UInt32? {
        guard !bytes.isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { TextChar.decode($0.baseAddress!, 0, $0.count).0 }
    }

    /// Applies a transformation given as the new characters, each with its change relative to
    /// the current text (the Rust library's `transform`): 0 replaces the next character,
    /// +1 inserts a new one (aligned with the previous byte), -n replaces the next character and
    /// removes the n after it. `initialOffset` characters are removed at the start.
    func transformed(_ dest: [(UInt32, Int)], initialOffset: Int = 0) -> NText {
        let src = materializedByteLevel()
        let cur = src.chars()
        var newBytes: [UInt8] = []
        newBytes.reserveCapacity(src.count + dest.count)
        var newAlign: [TextSpan] = []
        newAlign.reserveCapacity(src.count + dest.count)
        var ci = 0
        var offset = 0
        while ci < initialOffset && ci < cur.count {
            offset += cur[ci].1
            ci += 1
        }
        let n = src.count
        let base = src.align.startIndex
        let start = TextSpan(start: src.shift, end: src.shift)
        for (c, change) in dest {
            let sp: TextSpan
            if change > 0 {
                sp = offset >= 1 && offset - 1 < n ? src.align[base + offset - 1] : start
            } else {
                sp = offset < n ? src.align[base + offset] : (n > 0 ? src.align[base + n - 1] : start)
                if ci < cur.count { offset += cur[ci].1; ci += 1 }
                if change < 0 {
                    var k = 0
                    while k < -change && ci < cur.count { offset += cur[ci].1; ci += 1; k += 1 }
                }
            }
            let before = newBytes.count
            TextChar.append(c, to: &newBytes)
            for _ in before..<newBytes.count { newAlign.append(sp) }
        }
        return NText(bytes: newBytes[...], align: newAlign[...], shift: src.shift)
    }

    /// Maps every character through `f` (change 0 each).
    func mapped(_ f: (UInt32) -> UInt32) -> NText {
        transformed(chars().map { (f($0.0), 0) })
    }

    /// Keeps the characters for which `keep` is true (the Rust library's `filter`).
    func filtered(_ keep: (UInt32) -> Bool) -> NText {
        var removed = 0
        var removedStart = 0
        var out: [(UInt32, Int)] = []
        var last: UInt32? = nil
        for (c, _) in chars() {
            if keep(c) {
                if let lc = last { out.append((lc, -removed)) } else { removedStart = removed }
                last = c
                removed = 0
            } else {
                removed += 1
            }
        }
        if let lc = last { out.append((lc, -removed)) }
        return transformed(out, initialOffset: removedStart)
    }

    /// Inserts `s` before the first character (the Rust library's `prepend`).
    func prepended(_ s: String) -> NText {
        let cs = chars()
        guard let first = cs.first else { return self }
        var dest: [(UInt32, Int)] = []
        for (k, u) in s.unicodeScalars.enumerated() { dest.append((u.value, k == 0 ? 0 : 1)) }
        dest.append((first.0, 1))
        for c in cs.dropFirst() { dest.append((c.0, 0)) }
        return transformed(dest)
    }

    /// Appends `s` after the last character.
    func appended(_ s: String) -> NText {
        var dest = chars().map { ($0.0, 0) }
        for u in s.unicodeScalars { dest.append((u.value, 1)) }
        return transformed(dest)
    }

    /// Removes leading and/or trailing whitespace.
    func stripped(left: Bool, right: Bool) -> NText {
        let cs = chars()
        var lead = 0, trail = 0
        if left { while lead < cs.count && TextChar.isWhitespace(cs[lead].0) { lead += 1 } }
        if right { while trail < cs.count - lead && TextChar.isWhitespace(cs[cs.count - 1 - trail].0) { trail += 1 } }
        if lead == 0 && trail == 0 { return self }
        var dest: [(UInt32, Int)] = []
        let n = cs.count
        // The Rust code compares a char index with the byte length here; mirror it.
        for i in 0..<n where !(i < lead || i >= n - trail) {
            if i == count - trail - 1 { dest.append((cs[i].0, -trail)) } else { dest.append((cs[i].0, 0)) }
        }
        return transformed(dest, initialOffset: lead)
    }

    /// Replaces every match of `pattern` with `content`.
    func replacing(_ pattern: TextPattern, with content: String) throws(LatheError) -> NText {
        let src = materializedByteLevel()
        let matches = try pattern.findMatches(src)
        var newBytes: [UInt8] = []
        var newAlign: [TextSpan] = []
        newBytes.reserveCapacity(src.count)
        newAlign.reserveCapacity(src.count)
        let bb = src.bytes.startIndex, ab = src.align.startIndex
        let contentScalars = TextChar.scalars(content)
        var lastEnd = 0
        for m in matches where m.isMatch {
            newBytes.append(contentsOf: src.bytes[(bb + lastEnd)..<(bb + m.start)])
            newAlign.append(contentsOf: src.align[(ab + lastEnd)..<(ab + m.start)])
            // every content char is "added" after the removed match: aligned with the byte
            // before the match's end
            let idx = m.end
            let sp = idx >= 1 ? src.align[ab + idx - 1] : TextSpan(start: src.shift, end: src.shift)
            for c in contentScalars {
                let before = newBytes.count
                TextChar.append(c, to: &newBytes)
                for _ in before..<newBytes.count { newAlign.append(sp) }
            }
            lastEnd = m.end
        }
        newBytes.append(contentsOf: src.bytes[(bb + lastEnd)...])
        newAlign.append(contentsOf: src.align[(ab + lastEnd)...])
        return NText(bytes: newBytes[...], align: newAlign[...], shift: src.shift)
    }

    /// The text with the lazy byte-level mapping applied for real: each original byte
    /// becomes its byte-level character (the first byte of a character replaces it, the
    /// others are inserted, as the Rust ByteLevel pre-tokenizer does).
    func materializedByteLevel() -> NText {
        guard byteLevel else { return self }
        var newBytes: [UInt8] = []
        var newAlign: [TextSpan] = []
        newBytes.reserveCapacity(count * 2)
        newAlign.reserveCapacity(count * 2)
        let bb = bytes.startIndex, ab = align.startIndex
        for i in 0..<count {
            let b = bytes[bb + i]
            let sp = align[ab + i]
            for x in TextByteLevel.byteToUTF8[Int(b)] {
                newBytes.append(x)
                newAlign.append(sp)
            }
        }
        return NText(bytes: newBytes[...], align: newAlign[...], shift: shift)
    }

    /// Splits on the given matches (which cover the whole text in order) with one of the
    /// delimiter behaviours; empty pieces are dropped.
    func split(_ matches: [TextMatch], _ behavior: TextSplitBehavior) -> [NText] {
        var ranges: [(Int, Int)] = []
        switch behavior {
        case .isolated:
            ranges = matches.map { ($0.start, $0.end) }
        case .removed:
            ranges = matches.filter { !$0.isMatch }.map { ($0.start, $0.end) }
        case .contiguous:
            var prev = false
            for m in matches {
                if m.isMatch == prev, !ranges.isEmpty {
                    ranges[ranges.count - 1].1 = m.end
                } else {
                    ranges.append((m.start, m.end))
                }
                prev = m.isMatch
            }
        case .mergedWithPrevious:
            var prev = false
            for m in matches {
                if m.isMatch && !prev, !ranges.isEmpty {
                    ranges[ranges.count - 1].1 = m.end
                } else {
                    ranges.append((m.start, m.end))
                }
                prev = m.isMatch
            }
        case .mergedWithNext:
            var prev = false
            var rev: [(Int, Int)] = []
            for m in matches.reversed() {
                if m.isMatch && !prev, !rev.isEmpty {
                    rev[rev.count - 1].0 = m.start
                } else {
                    rev.append((m.start, m.end))
                }
                prev = m.isMatch
            }
            ranges = rev.reversed()
        }
        var out: [NText] = []
        out.reserveCapacity(ranges.count)
        for (s, e) in ranges where e > s { out.append(slice(s, e)) }
        return out
    }
}

/// One stretch of text found by a pattern: a match, or the text between matches.
struct TextMatch {
    var start: Int
    var end: Int
    var isMatch: Bool
}

/// How a pre-tokenizer treats the delimiters it splits on (the Rust library's
/// `SplitDelimiterBehavior`).
enum TextSplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// What pre-tokenizers and normalizers split or replace on.
enum TextPattern {
    /// Single characters satisfying a predicate.
    case chars(@Sendable (UInt32) -> Bool)
    /// A literal string.
    case literal([UInt8])
    /// A regular expression (the two well-known GPT-2 and Llama-3 patterns run through
    /// hand-written scanners; others through `TextRegexProgram`).
    case regex(TextRegex)

    /// Matches and the text between them, covering the whole text in order. Throws only when
    /// Ctrl-C stops a regular expression.
    func findMatches(_ t: NText) throws(LatheError) -> [TextMatch] {
        let n = t.count
        if n == 0 { return [TextMatch(start: 0, end: 0, isMatch: false)] }
        var out: [TextMatch] = []
        switch self {
        case .chars(let pred):
            t.bytes.withUnsafeBufferPointer { buf in
                let p = buf.baseAddress!
                var last = 0
                var i = 0
                while i < n {
                    let (v, l) = TextChar.decode(p, i, n)
                    if pred(v) {
                        if last < i { out.append(TextMatch(start: last, end: i, isMatch: false)) }
                        out.append(TextMatch(start: i, end: i + l, isMatch: true))
                        last = i + l
                    }
                    i += l
                }
                if last < n { out.append(TextMatch(start: last, end: n, isMatch: false)) }
            }
        case .literal(let lit):
            if lit.isEmpty { return [TextMatch(start: 0, end: n, isMatch: false)] }
            t.bytes.withUnsafeBufferPointer { buf in
                let p = buf.baseAddress!
                var last = 0
                var i = 0
                let m = lit.count
                while i + m <= n {
                    var ok = true
                    for k in 0..<m where p[i + k] != lit[k] { ok = false; break }
                    if ok {
                        if last < i { out.append(TextMatch(start: last, end: i, isMatch: false)) }
                        out.append(TextMatch(start: i, end: i + m, isMatch: true))
                        i += m
                        last = i
                    } else {
                        i += 1
                    }
                }
                if last < n { out.append(TextMatch(start: last, end: n, isMatch: false)) }
            }
        case .regex(let re):
            var last = 0
            try re.forEachMatch(t) { s, e in
                if last != s { out.append(TextMatch(start: last, end: s, isMatch: false)) }
                out.append(TextMatch(start: s, end: e, isMatch: true))
                last = e
            }
            if last != n { out.append(TextMatch(start: last, end: n, isMatch: false)) }
        }
        return out
    }
}

/// A compiled regular expression. The GPT-2 and Llama-3 (also Qwen-2) pre-tokenization
/// patterns are recognised and run by fast scanners with the exact semantics of Oniguruma;
/// any other pattern runs through `TextRegexProgram` (linear time, interruptible).
final class TextRegex: @unchecked Sendable {
    enum Kind {
        case gpt2
        case llama3(maxDigits: Int)
        case program(TextRegexProgram)
    }
    let source: String
    let kind: Kind

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    init(_ source: String) throws(LatheError) {
        self.source = source
        switch source {
        case TextRegex.gpt2Pattern: kind = .gpt2
        case TextRegex.llama3Pattern: kind = .llama3(maxDigits: 3)
        case TextRegex.qwen2Pattern: kind = .llama3(maxDigits: 1)
        default: kind = .program(try TextRegexProgram(source))
        }
    }

    /// An escaped literal (the Rust library escapes Split/Replace string patterns).
    static func literal(_ s: String) -> TextPattern { .literal(Array(s.utf8)) }

    /// Calls `body` with the byte range of every match, left to right (onig's `find_iter`).
    /// Throws `LatheError.interrupted` on Ctrl-C.
    func forEachMatch(_ t: NText, _ body: (Int, Int) -> Void) throws(LatheError) {
        switch kind {
        case .gpt2:
            t.bytes.withUnsafeBufferPointer { buf in
                TextRegex.scanGPT2(buf.baseAddress!, buf.count, body)
            }
        case .llama3(let maxDigits):
            t.bytes.withUnsafeBufferPointer { buf in
                TextRegex.scanLlama3(buf.baseAddress!, buf.count, maxDigits, body)
            }
        case .program(let prog):
            var failure: LatheError?
            t.bytes.withUnsafeBufferPointer { buf in
                do throws(LatheError) {
                    try prog.forEachMatch(buf.baseAddress!, buf.count, body)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
    }

    // Character classes of the two scanners.
    static let kLetter: UInt8 = 1, kNumber: UInt8 = 2, kSpace: UInt8 = 3, kOther: UInt8 = 4

    static let asciiClass: [UInt8] = (0..<128).map { v in
        let u = UInt32(v)
        if TextChar.isLetter(u) { return kLetter }
        if TextChar.isNumeric(u) { return kNumber }
        if TextChar.isWhitespace(u) { return kSpace }
        return kOther
    }

    @inline(__always)
    static func classify(_ v: UInt32) -> UInt8 {
        if v < 128 { return asciiClass[Int(v)] }
        if TextChar.isWhitespace(v) { return kSpace }
        switch TextChar.category(v) {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return kLetter
        case .decimalNumber, .letterNumber, .otherNumber: return kNumber
        default: return kOther
        }
    }

    /// Scans `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func scanGPT2(_ p: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < n {
            let b0 = p[i]
            // contractions
            if b0 == 0x27, i + 1 < n {
                let b1 = p[i + 1]
                if b1 == 0x73 || b1 == 0x74 || b1 == 0x6D || b1 == 0x64 {  // s t m d
                    body(i, i + 2); i += 2; continue
                }
                if i + 2 < n {
                    let b2 = p[i + 2]
                    if (b1 == 0x72 && b2 == 0x65) || (b1 == 0x76 && b2 == 0x65) || (b1 == 0x6C && b2 == 0x6C) {
                        body(i, i + 3); i += 3; continue
                    }
                }
            }
            // ` ?` followed by a run of one class
            var j = i
            if b0 == 0x20 { j = i + 1 }
            if j < n {
                let (v1, l1) = TextChar.decode(p, j, n)
                let c1 = classify(v1)
                if c1 != kSpace {
                    var k = j + l1
                    while k < n {
                        let (v, l) = TextChar.decode(p, k, n)
                        if classify(v) != c1 { break }
                        k += l
                    }
                    body(i, k); i = k; continue
                }
            }
            // whitespace: \s+(?!\S) then \s+
            var k = i
            var lastStart = i
            var count = 0
            while k < n {
                let (v, l) = TextChar.decode(p, k, n)
                if !TextChar.isWhitespace(v) { break }
                lastStart = k
                k += l
                count += 1
            }
            if count == 0 {
                // cannot happen (every character is in one of the classes); stay safe
                let l = TextChar.seqLen(b0)
                body(i, min(n, i + l)); i = min(n, i + l); continue
            }
            if k == n || count == 1 {
                body(i, k); i = k
            } else {
                body(i, lastStart); i = lastStart
            }
        }
    }

    @inline(__always)
    static func isCRLF(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }

    /// Scans the Llama-3 pattern (maxDigits 3) or Qwen-2's (maxDigits 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    static func scanLlama3(_ p: UnsafePointer<UInt8>, _ n: Int, _ maxDigits: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < n {
            let (v0, l0) = TextChar.decode(p, i, n)
            // case-insensitive contractions
            if v0 == 0x27, i + 1 < n {
                let (v1, l1) = TextChar.decode(p, i + 1, n)
                let f1 = v1 < 128 ? (v1 | 0x20) : v1
                if f1 == 0x73 || f1 == 0x74 || f1 == 0x6D || f1 == 0x64 || v1 == 0x17F {  // s t m d ſ
                    body(i, i + 1 + l1); i += 1 + l1; continue
                }
                if i + 1 + l1 < n {
                    let (v2, l2) = TextChar.decode(p, i + 1 + l1, n)
                    let f2 = v2 < 128 ? (v2 | 0x20) : v2
                    if (f1 == 0x72 && f2 == 0x65) || (f1 == 0x76 && f2 == 0x65) || (f1 == 0x6C && f2 == 0x6C) {
                        let e = i + 1 + l1 + l2
                        body(i, e); i = e; continue
                    }
                }
            }
            let c0 = classify(v0)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            var letterStart = -1
            if c0 == kLetter {
                letterStart = i
            } else if c0 != kNumber && !isCRLF(v0) && i + l0 < n {
                let (v1, _) = TextChar.decode(p, i + l0, n)
                if classify(v1) == kLetter { letterStart = i + l0 }
            }
            if letterStart >= 0 {
                var k = letterStart
                while k < n {
                    let (v, l) = TextChar.decode(p, k, n)
                    if classify(v) != kLetter { break }
                    k += l
                }
                body(i, k); i = k; continue
            }
            // \p{N}{1,maxDigits}
            if c0 == kNumber {
                var k = i + l0
                var d = 1
                while d < maxDigits && k < n {
                    let (v, l) = TextChar.decode(p, k, n)
                    if classify(v) != kNumber { break }
                    k += l
                    d += 1
                }
                body(i, k); i = k; continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            var j = i
            if v0 == 0x20 { j = i + 1 }
            if j < n {
                let (v1, l1) = TextChar.decode(p, j, n)
                if classify(v1) == kOther {
                    var k = j + l1
                    while k < n {
                        let (v, l) = TextChar.decode(p, k, n)
                        if classify(v) != kOther { break }
                        k += l
                    }
                    while k < n && (p[k] == 0x0A || p[k] == 0x0D) { k += 1 }
                    body(i, k); i = k; continue
                }
            }
            // whitespace: \s*[\r\n]+ , \s+(?!\S) , \s+
            var k = i
            var lastStart = i
            var lastCRLFEnd = -1
            var count = 0
            while k < n {
                let (v, l) = TextChar.decode(p, k, n)
                if !TextChar.isWhitespace(v) { break }
                if isCRLF(v) { lastCRLFEnd = k + l }
                lastStart = k
                k += l
                count += 1
            }
            if count == 0 {
                body(i, i + l0); i += l0; continue
            }
            if lastCRLFEnd > 0 {
                body(i, lastCRLFEnd); i = lastCRLFEnd
            } else if k == n || count == 1 {
                body(i, k); i = k
            } else {
                body(i, lastStart); i = lastStart
            }
        }
    }
}
