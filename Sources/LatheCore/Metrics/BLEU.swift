import Foundation

/// The version of sacrebleu whose output Lathe's BLEU and chrF reproduce (it appears in the
/// signature string).
public let sacrebleuVersion = "2.6.0"

/// Options of BLEU, named as in sacrebleu.
public struct BLEUOptions: Sendable {
    public var lowercase = false
    /// "13a" (sacrebleu's default, mteval-v13a), "none" (split on whitespace) or "char".
    public var tokenize = "13a"
    /// "exp" (default), "floor", "add-k" or "none".
    public var smoothMethod = "exp"
    /// For floor (default 0.1) and add-k (default 1).
    public var smoothValue: Double? = nil
    public var maxNgramOrder = 4
    public var effectiveOrder = false
    /// Silences the warning about hypotheses that look tokenized.
    public var force = false
    public init() {}

    public static let smoothDefaults: [String: Double?] = ["none": nil, "floor": 0.1, "add-k": 1, "exp": nil]
    public static let tokenizers = ["13a", "none", "char"]
}

/// A BLEU result with sacrebleu's fields.
public struct BLEUScore: Sendable {
    public var score: Double
    public var counts: [Double]
    public var totals: [Double]
    public var precisions: [Double]
    public var bp: Double
    public var sysLen: Int
    public var refLen: Int
    public var signature: String
    public var warnings: [String] = []

    public var ratio: Double { refLen != 0 ? Double(sysLen) / Double(refLen) : 0 }

    /// sacrebleu's `str(score)`: `BLEU = 32.45 61.5/38.2/26.0/18.1 (BP = 1.000 ratio = ...)`.
    public var text: String {
        let prec = precisions.map { pyFixed($0, 1) }.joined(separator: "/")
        return "BLEU = \(pyFixed(score, 2)) \(prec) (BP = \(pyFixed(bp, 3)) ratio = \(pyFixed(ratio, 3)) hyp_len = \(sysLen) ref_len = \(refLen))"
    }
}

/// Tokenizers of sacrebleu, on UTF-8 bytes.
public enum SacreTokenizer {
    /// Python's `str.replace` (all non-overlapping occurrences, left to right).
    static func replace(_ a: [UInt8], _ pat: [UInt8], _ rep: [UInt8]) -> [UInt8] {
        let n = a.count, m = pat.count
        if m == 0 || n < m { return a }
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var i = 0
        var found = false
        while i < n {
            if a[i] == pat[0] && i + m <= n {
                var j = 1
                while j < m && a[i + j] == pat[j] { j += 1 }
                if j == m {
                    out.append(contentsOf: rep)
                    i += m
                    found = true
                    continue
                }
            }
            out.append(a[i])
            i += 1
        }
        return found ? out : a
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// The characters the first 13a rule pads with spaces: `{|}~ [\]^_` space-& ( ) * + :-@ /`.
    static let padTable: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in UInt8(ascii: "{")...UInt8(ascii: "~") { t[Int(c)] = true }
        for c in UInt8(ascii: "[")...UInt8(ascii: "`") { t[Int(c)] = true }
        for c in UInt8(ascii: " ")...UInt8(ascii: "&") { t[Int(c)] = true }
        for c in UInt8(ascii: "(")...UInt8(ascii: "+") { t[Int(c)] = true }
        for c in UInt8(ascii: ":")...UInt8(ascii: "@") { t[Int(c)] = true }
        t[Int(UInt8(ascii: "/"))] = true
        return t
    }()

    /// sacrebleu's Tokenizer13a on a line (already rstripped), returning the tokenized line.
    public static func tokenize13a(_ input: [UInt8]) -> [UInt8] {
        var line = replace(input, Array("<skipped>".utf8), [])
        line = replace(line, Array("-\n".utf8), [])
        line = replace(line, [0x0A], [0x20])
        if line.contains(UInt8(ascii: "&")) {
            line = replace(line, Array("&quot;".utf8), Array("\"".utf8))
            line = replace(line, Array("&amp;".utf8), Array("&".utf8))
            line = replace(line, Array("&lt;".utf8), Array("<".utf8))
            line = replace(line, Array("&gt;".utf8), Array(">".utf8))
        }
        // rule 1: pad punctuation and symbols (on " line ")
        var a: [UInt8] = []
        a.reserveCapacity(line.count * 2 + 8)
        a.append(0x20)
        for b in line {
            if padTable[Int(b)] { a.append(0x20); a.append(b); a.append(0x20) } else { a.append(b) }
        }
        a.append(0x20)
        let dot = UInt8(ascii: "."), comma = UInt8(ascii: ","), dash = UInt8(ascii: "-")
        // rule 2: ([^0-9])([\.,]) -> "\1 \2 "
        var b2: [UInt8] = []
        b2.reserveCapacity(a.count + 16)
        var i = 0
        while i < a.count {
            if i + 1 < a.count && !isDigit(a[i]) && (a[i + 1] == dot || a[i + 1] == comma) {
                b2.append(a[i]); b2.append(0x20); b2.append(a[i + 1]); b2.append(0x20)
                i += 2
            } else {
                b2.append(a[i]); i += 1
            }
        }
        // rule 3: ([\.,])([^0-9]) -> " \1 \2"
        var b3: [UInt8] = []
        b3.reserveCapacity(b2.count + 16)
        i = 0
        while i < b2.count {
            if i + 1 < b2.count && (b2[i] == dot || b2[i] == comma) && !isDigit(b2[i + 1]) {
                b3.append(0x20); b3.append(b2[i]); b3.append(0x20); b3.append(b2[i + 1])
                i += 2
            } else {
                b3.append(b2[i]); i += 1
            }
        }
        // rule 4: ([0-9])(-) -> "\1 \2 "
        var b4: [UInt8] = []
        b4.reserveCapacity(b3.count + 16)
        i = 0
        while i < b3.count {
            if i + 1 < b3.count && isDigit(b3[i]) && b3[i + 1] == dash {
                b4.append(b3[i]); b4.append(0x20); b4.append(dash); b4.append(0x20)
                i += 2
            } else {
                b4.append(b3[i]); i += 1
            }
        }
        return b4
    }

    /// The tokens of a segment as sacrebleu's BLEU sees them (`tokenizer(sent.rstrip()).split()`),
    /// as byte ranges into `buffer`.
    static func tokens(_ s: String, tokenizer: String, lowercase: Bool, buffer: inout [UInt8], ranges: inout [Range<Int>]) {
        var text = lowercase ? PyText.lower(s) : s
        text = PyText.rstrip(text)
        switch tokenizer {
        case "13a":
            buffer = tokenize13a(Array(text.utf8))
        case "char":
            // " ".join(ch for ch in line): every code point is a token (whitespace dropped by split)
            buffer = Array(text.utf8)
            ranges.removeAll(keepingCapacity: true)
            buffer.withUnsafeBufferPointer { p in
                var i = 0
                while i < p.count {
                    var j = i + 1
                    while j < p.count && p[j] & 0xC0 == 0x80 { j += 1 }
                    if PyText.spaceLength(p, i) == 0 { ranges.append(i..<j) }
                    i = j
                }
            }
            return
        default:
            buffer = Array(text.utf8)
        }
        buffer.withUnsafeBufferPointer { PyText.splitRanges($0, into: &ranges) }
    }
}

/// Corpus and sentence BLEU exactly as sacrebleu 2.6.0 computes them.
public final class BLEU {
    public let options: BLEUOptions
    let tokens = ByteInterner(capacity: 1 << 14)
    let ngrams = KeyInterner(capacity: 1 << 16)
    var orderOf: [UInt8] = []
    var refMax = SparseCounter()
    var tmp = SparseCounter()
    var hyp = SparseCounter()
    var buffer: [UInt8] = []
    var ranges: [Range<Int>] = []
    var tokIds: [Int32] = []

    public init(_ options: BLEUOptions = BLEUOptions()) throws(LatheError) {
        if !BLEUOptions.tokenizers.contains(options.tokenize) {
            throw LatheError("unknown tokenizer \"\(options.tokenize)\" (expected one of \(BLEUOptions.tokenizers.map { "\"\($0)\"" }.joined(separator: ", ")))")
        }
        if BLEUOptions.smoothDefaults[options.smoothMethod] == nil {
            throw LatheError("unknown smooth_method \"\(options.smoothMethod)\" (expected \"exp\", \"floor\", \"add-k\" or \"none\")")
        }
        if options.maxNgramOrder < 1 || options.maxNgramOrder > 16 {
            throw LatheError("max_ngram_order must be from 1 to 16 (got \(options.maxNgramOrder))")
        }
        self.options = options
    }

    /// N-gram ids of a segment (all orders), appended to `out`.
    func ngramIds(_ s: String, into out: inout [Int32]) -> Int {
        SacreTokenizer.tokens(s, tokenizer: options.tokenize, lowercase: options.lowercase, buffer: &buffer, ranges: &ranges)
        tokIds.removeAll(keepingCapacity: true)
        buffer.withUnsafeBufferPointer { p in
            for r in ranges { tokIds.append(tokens.intern(p, r)) }
        }
        let n = tokIds.count
        var prev = [Int32](repeating: -1, count: n)
        for order in 1...options.maxNgramOrder {
            if n - order + 1 <= 0 { break }
            for i in 0...(n - order) {
                let before = ngrams.count
                let id = ngrams.intern(KeyInterner.pair(prev[i], tokIds[i + order - 1]))
                if ngrams.count != before { orderOf.append(UInt8(order - 1)) }
                prev[i] = id
                out.append(id)
            }
        }
        return n
    }

    /// Per-segment sufficient statistics [hyp_len, ref_len, correct_1..N, total_1..N].
    /// `refs[i]` holds segment i's references (nil entries are missing references).
    public func segmentStatistics(_ hyps: [String], _ refs: [[String?]]) throws -> [[Int]] {
        let N = options.maxNgramOrder
        var out: [[Int]] = []
        out.reserveCapacity(hyps.count)
        var ids: [Int32] = []
        for (i, h) in hyps.enumerated() {
            if i & 1023 == 0 { try Interrupt.check() }
            // references: max count of each n-gram over the references
            var refLens: [Int] = []
            for r in refs[i] {
                guard let r else { continue }
                ids.removeAll(keepingCapacity: true)
                let len = ngramIds(r, into: &ids)
                refLens.append(len)
                tmp.ensure(ngrams.count); refMax.ensure(ngrams.count)
                for id in ids { tmp.add(id) }
                for id in tmp.touched {
                    let k = Int(id)
                    if tmp.counts[k] > refMax.counts[k] {
                        if refMax.counts[k] == 0 { refMax.touched.append(id) }
                        refMax.counts[k] = tmp.counts[k]
                    }
                }
                tmp.reset()
            }
            ids.removeAll(keepingCapacity: true)
            let hypLen = ngramIds(h, into: &ids)
            hyp.ensure(ngrams.count); refMax.ensure(ngrams.count)
            for id in ids { hyp.add(id) }
            var correct = [Int](repeating: 0, count: N), total = correct
            for id in hyp.touched {
                let k = Int(id)
                let o = Int(orderOf[k])
                let c = Int(hyp.counts[k])
                total[o] += c
                correct[o] += min(c, Int(refMax.counts[k]))
            }
            hyp.reset()
            refMax.reset()
            // closest reference length (ties: the shorter)
            var closestDiff = -1, closestLen = -1
            for rl in refLens {
                let d = abs(hypLen - rl)
                if closestDiff == -1 || d < closestDiff { closestDiff = d; closestLen = rl } else if d == closestDiff && rl < closestLen { closestLen = rl }
            }
            out.append([hypLen, closestLen] + correct + total)
        }
        return out
    }

    /// BLEU from summed statistics (sacrebleu's compute_bleu).
    public func score(fromTotals stats: [Int], nrefs: String) -> BLEUScore {
        let N = options.maxNgramOrder
        var correct = stats[2..<(2 + N)].map(Double.init)
        var total = stats[(2 + N)...].map(Double.init)
        let sysLen = stats[0], refLen = stats[1]
        let method = options.smoothMethod
        let smoothValue = options.smoothValue ?? (BLEUOptions.smoothDefaults[method] ?? nil) ?? 0
        var bp = 1.0
        if sysLen < refLen { bp = sysLen > 0 ? exp(1 - Double(refLen) / Double(sysLen)) : 0.0 }
        var precisions = [Double](repeating: 0, count: N)
        let sig = signature(nrefs: nrefs)
        if !correct.contains(where: { $0 != 0 }) {
            return BLEUScore(score: 0, counts: correct, totals: total, precisions: precisions, bp: bp,
                             sysLen: sysLen, refLen: refLen, signature: sig)
        }
        var smoothMteval = 1.0
        var effOrder = N
        for n in 1...N {
            if method == "add-k" && n > 1 {
                correct[n - 1] += smoothValue
                total[n - 1] += smoothValue
            }
            if total[n - 1] == 0 { break }
            if options.effectiveOrder { effOrder = n }
            if correct[n - 1] == 0 {
                if method == "exp" {
                    smoothMteval *= 2
                    precisions[n - 1] = 100.0 / (smoothMteval * total[n - 1])
                } else if method == "floor" {
                    precisions[n - 1] = 100.0 * smoothValue / total[n - 1]
                }
            } else {
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
            }
        }
        var s = 0.0
        for p in precisions[0..<effOrder] { s += p == 0 ? -9999999999 : log(p) }
        let score = bp * exp(s / Double(effOrder))
        return BLEUScore(score: score, counts: correct, totals: total, precisions: precisions, bp: bp,
                         sysLen: sysLen, refLen: refLen, signature: sig)
    }

    /// sacrebleu's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    public func signature(nrefs: String) -> String {
        var smooth = options.smoothMethod
        if let def = BLEUOptions.smoothDefaults[smooth] ?? nil {
            smooth += "[\(pyFixed(options.smoothValue ?? def, 2))]"
        }
        return "nrefs:\(nrefs)|case:\(options.lowercase ? "lc" : "mixed")|eff:\(options.effectiveOrder ? "yes" : "no")|tok:\(options.tokenize)|smooth:\(smooth)|version:\(sacrebleuVersion)"
    }

    /// Corpus BLEU: `refs` is a list of reference streams, each as long as `hyps` (sacrebleu's
    /// argument shape); a nil entry means that segment lacks that reference.
    public func corpus(_ hyps: [String], _ refs: [[String?]]) throws -> BLEUScore {
        let (segRefs, nrefs) = try transposeReferences(hyps.count, refs)
        let stats = try segmentStatistics(hyps, segRefs)
        var sum = [Int](repeating: 0, count: 2 + 2 * options.maxNgramOrder)
        for s in stats { for k in 0..<sum.count { sum[k] += s[k] } }
        var result = score(fromTotals: sum, nrefs: nrefs)
        if !options.force && hyps.filter({ $0.hasSuffix(" .") }).count >= 100 {
            result.warnings.append("That's 100 lines that end in a tokenized period ('.'); it looks like you forgot to detokenize your test data, which may hurt your score (pass force = true if your data is detokenized).")
        }
        return result
    }

    /// Sentence BLEU of one hypothesis against its references.
    public func sentence(_ hyp: String, _ refs: [String]) throws -> BLEUScore {
        try corpus([hyp], refs.map { [$0] })
    }
}

/// Checks reference streams against the hypotheses and regroups them per segment. Returns the
/// signature's `nrefs` ("1", "2", ... or "var").
func transposeReferences(_ n: Int, _ refs: [[String?]]) throws(LatheError) -> ([[String?]], String) {
    if refs.isEmpty { throw LatheError("no reference streams (expected {refs1, refs2, ...}, each with one reference per hypothesis)") }
    for (k, stream) in refs.enumerated() where stream.count != n {
        throw LatheError("reference stream \(k + 1) has \(stream.count) segments but there are \(n) hypotheses")
    }
    var seg = [[String?]](repeating: [], count: n)
    var counts = Set<Int>()
    for i in 0..<n {
        seg[i] = refs.map { $0[i] }
        counts.insert(seg[i].compactMap { $0 }.count)
    }
    let nrefs = counts.count == 1 ? String(counts.first!) : "var"
    return (seg, nrefs)
}
