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
    @inline(__always) static func isPad(_ c: UInt8) -> Bool {
        switch c {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    /// The language-independent part of 13a: `<skipped>` and `-\n` removed, newlines to spaces,
    /// four HTML entities decoded (in sacrebleu's order), when the line needs it.
    static func prepare13a(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var needs = false
        var amp = false
        for b in input {
            if b == 0x3C || b == 0x0A { needs = true }
            if b == 0x26 { amp = true; needs = true }
        }
        if !needs { return nil }
        var line = replace(Array(input), Array("<skipped>".utf8), [])
        line = replace(line, Array("-\n".utf8), [])
        line = replace(line, [0x0A], [0x20])
        if amp {
            line = replace(line, Array("&quot;".utf8), Array("\"".utf8))
            line = replace(line, Array("&amp;".utf8), Array("&".utf8))
            line = replace(line, Array("&lt;".utf8), Array("<".utf8))
            line = replace(line, Array("&gt;".utf8), Array(">".utf8))
        }
        return line
    }

    /// Scratch buffers for the regular-expression part of 13a (reused across segments).
    final class Scratch {
        var a: UnsafeMutablePointer<UInt8>
        var b: UnsafeMutablePointer<UInt8>
        var cap: Int
        init() {
            cap = 4096
            a = .allocate(capacity: cap)
            b = .allocate(capacity: cap)
        }
        deinit { a.deallocate(); b.deallocate() }

        /// Runs the four rules of sacrebleu's TokenizerRegexp on ` line `; the result is valid
        /// until the next call.
        func run(_ p: UnsafePointer<UInt8>, _ n: Int) -> UnsafeBufferPointer<UInt8> {
            let need = 24 * n + 64
            if need > cap {
                a.deallocate(); b.deallocate()
                cap = need
                a = .allocate(capacity: cap)
                b = .allocate(capacity: cap)
            }
            // rule 1: pad punctuation and symbols
            var m = 0
            a[m] = 0x20; m += 1
            for i in 0..<n {
                let c = p[i]
                if SacreTokenizer.isPad(c) { a[m] = 0x20; a[m + 1] = c; a[m + 2] = 0x20; m += 3 } else { a[m] = c; m += 1 }
            }
            a[m] = 0x20; m += 1
            // rule 2: ([^0-9])([\.,]) -> "\1 \2 "
            var k = 0, i = 0
            while i < m {
                let c = a[i]
                if i + 1 < m && !SacreTokenizer.isDigit(c) && (a[i + 1] == 0x2E || a[i + 1] == 0x2C) {
                    b[k] = c; b[k + 1] = 0x20; b[k + 2] = a[i + 1]; b[k + 3] = 0x20
                    k += 4; i += 2
                } else {
                    b[k] = c; k += 1; i += 1
                }
            }
            // rule 3: ([\.,])([^0-9]) -> " \1 \2"
            m = 0; i = 0
            while i < k {
                let c = b[i]
                if i + 1 < k && (c == 0x2E || c == 0x2C) && !SacreTokenizer.isDigit(b[i + 1]) {
                    a[m] = 0x20; a[m + 1] = c; a[m + 2] = 0x20; a[m + 3] = b[i + 1]
                    m += 4; i += 2
                } else {
                    a[m] = c; m += 1; i += 1
                }
            }
            // rule 4: ([0-9])(-) -> "\1 \2 "
            k = 0; i = 0
            while i < m {
                let c = a[i]
                if i + 1 < m && SacreTokenizer.isDigit(c) && a[i + 1] == 0x2D {
                    b[k] = c; b[k + 1] = 0x20; b[k + 2] = 0x2D; b[k + 3] = 0x20
                    k += 4; i += 2
                } else {
                    b[k] = c; k += 1; i += 1
                }
            }
            return UnsafeBufferPointer(start: b, count: k)
        }
    }

    /// sacrebleu's Tokenizer13a on a line (already rstripped), returning the tokenized line.
    public static func tokenize13a(_ input: [UInt8]) -> [UInt8] {
        let line = input.withUnsafeBufferPointer { prepare13a($0) } ?? input
        let scratch = Scratch()
        return line.withUnsafeBufferPointer { p in
            Array(scratch.run(p.baseAddress ?? UnsafePointer(scratch.a), p.count))
        }
    }

    /// Calls `body` with the bytes of each token of a segment as sacrebleu's BLEU sees them
    /// (`tokenizer(sent.rstrip()).split()`).
    static func forEachToken(_ s: String, tokenizer: String, lowercase: Bool, scratch: Scratch,
                             ranges: inout [Range<Int>], _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        var text = lowercase ? PyText.lower(s) : s
        text.withUTF8 { u in
            let n = PyText.rstripLength(u)
            let base = u.baseAddress ?? UnsafePointer(scratch.a)
            func split(_ p: UnsafeBufferPointer<UInt8>) {
                PyText.splitRanges(p, into: &ranges)
                if let b = p.baseAddress { for r in ranges { body(b + r.lowerBound, r.count) } }
            }
            switch tokenizer {
            case "13a":
                if let prepared = prepare13a(UnsafeBufferPointer(start: base, count: n)) {
                    prepared.withUnsafeBufferPointer { pp in
                        split(scratch.run(pp.baseAddress ?? base, pp.count))
                    }
                } else {
                    split(scratch.run(base, n))
                }
            case "char":
                let p = UnsafeBufferPointer(start: base, count: n)
                var i = 0
                while i < n {
                    var j = i + 1
                    while j < n && p[j] & 0xC0 == 0x80 { j += 1 }
                    if PyText.spaceLength(p, i) == 0 { body(base + i, j - i) }
                    i = j
                }
            default:
                split(UnsafeBufferPointer(start: base, count: n))
            }
        }
    }
}

/// Corpus and sentence BLEU exactly as sacrebleu 2.6.0 computes them.
public final class BLEU {
    public let options: BLEUOptions
    let tokens = ByteInterner(capacity: 1 << 14)
    /// n-gram ids of the current segment (its hypothesis and references)
    let local = LocalInterner(capacity: 1024)
    var orderOf: [UInt8] = []
    var refMax: [Int32] = []
    var tmp: [Int32] = []
    var hypCount: [Int32] = []
    let scratch = SacreTokenizer.Scratch()
    var ranges: [Range<Int>] = []
    var tokIds: [Int32] = []
    var prev: [Int32] = []

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

    /// N-gram ids of a segment (all orders), appended to `out`; returns the token count.
    func ngramIds(_ s: String, into out: inout [Int32]) -> Int {
        tokIds.removeAll(keepingCapacity: true)
        SacreTokenizer.forEachToken(s, tokenizer: options.tokenize, lowercase: options.lowercase,
                                    scratch: scratch, ranges: &ranges) { p, n in
            tokIds.append(tokens.intern(p, n))
        }
        let n = tokIds.count
        if prev.count < n { prev = [Int32](repeating: -1, count: n) }
        for i in 0..<n { prev[i] = -1 }
        for order in 1...options.maxNgramOrder {
            if n - order + 1 <= 0 { break }
            for i in 0...(n - order) {
                let before = local.count
                let id = local.intern(NgramKey.pair(prev[i], tokIds[i + order - 1]))
                if local.count != before {
                    if orderOf.count < local.count {
                        orderOf.append(0); refMax.append(0); tmp.append(0); hypCount.append(0)
                    }
                    orderOf[Int(id)] = UInt8(order - 1)
                }
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
            local.reset()
            // references: max count of each n-gram over the references
            var refLens: [Int] = []
            for r in refs[i] {
                guard let r else { continue }
                ids.removeAll(keepingCapacity: true)
                let len = ngramIds(r, into: &ids)
                refLens.append(len)
                for id in ids { tmp[Int(id)] += 1 }
                for id in ids {
                    let k = Int(id)
                    if tmp[k] > refMax[k] { refMax[k] = tmp[k] }
                }
                for id in ids { tmp[Int(id)] = 0 }
            }
            ids.removeAll(keepingCapacity: true)
            let hypLen = ngramIds(h, into: &ids)
            for id in ids { hypCount[Int(id)] += 1 }
            var correct = [Int](repeating: 0, count: N), total = correct
            for k in 0..<local.count where hypCount[k] > 0 {
                let o = Int(orderOf[k])
                let c = Int(hypCount[k])
                total[o] += c
                correct[o] += min(c, Int(refMax[k]))
            }
            for k in 0..<local.count { hypCount[k] = 0; refMax[k] = 0 }
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
