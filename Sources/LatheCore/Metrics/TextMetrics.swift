import Foundation

/// Answer-level text metrics (SQuAD v1.1), error rates and perplexity.
public enum TextMetrics {
    static let punctuation: Set<UInt32> = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars.map { $0.value })

    /// SQuAD's normalize_answer: lowercase, drop ASCII punctuation, drop the words a/an/the,
    /// collapse whitespace.
    public static func normalizeAnswer(_ s: String) -> String {
        let lowered = PyText.lower(s)
        let noPunct = lowered.unicodeScalars.filter { !punctuation.contains($0.value) }
        // re.sub(r'\b(a|an|the)\b', ' ', text) with Unicode word characters
        let cs = Array(noPunct)
        var out = String.UnicodeScalarView()
        var i = 0
        let n = cs.count
        func isW(_ k: Int) -> Bool { k >= 0 && k < n && PyText.isWordChar(cs[k]) }
        func at(_ k: Int, _ c: Character) -> Bool { k < n && cs[k] == c.unicodeScalars.first! }
        while i < n {
            if !isW(i - 1) && isW(i) {
                var len = 0
                if at(i, "a") && !isW(i + 1) { len = 1 } else if at(i, "a") && at(i + 1, "n") && !isW(i + 2) { len = 2 } else if at(i, "t") && at(i + 1, "h") && at(i + 2, "e") && !isW(i + 3) { len = 3 }
                if len > 0 {
                    out.append(" ")
                    i += len
                    continue
                }
            }
            out.append(cs[i])
            i += 1
        }
        return PyText.split(String(out)).joined(separator: " ")
    }

    /// 1 when the normalized answers are equal (best over the references), else 0.
    public static func exactMatch(_ prediction: String, _ references: [String]) -> Double {
        let p = normalizeAnswer(prediction)
        for r in references where normalizeAnswer(r).utf8.elementsEqual(p.utf8) { return 1 }
        return 0
    }

    /// SQuAD v1.1 token F1 (best over the references; 0 when nothing overlaps).
    public static func tokenF1(_ prediction: String, _ references: [String]) -> Double {
        let pt = PyText.split(normalizeAnswer(prediction))
        var best = 0.0
        for r in references {
            let rt = PyText.split(normalizeAnswer(r))
            var counts: [[UInt8]: Int] = [:]
            for t in rt { counts[Array(t.utf8), default: 0] += 1 }
            var same = 0
            for t in pt {
                let k = Array(t.utf8)
                if let c = counts[k], c > 0 { same += 1; counts[k] = c - 1 }
            }
            if same == 0 { continue }
            let precision = 1.0 * Double(same) / Double(pt.count)
            let recall = 1.0 * Double(same) / Double(rt.count)
            best = max(best, (2 * precision * recall) / (precision + recall))
        }
        return best
    }

    /// Mean exact match over predictions, each against its references.
    public static func exactMatch(predictions: [String], references: [[String]]) throws(LatheError) -> Double {
        try mean(predictions, references, exactMatch)
    }

    /// Mean token F1 over predictions, each against its references.
    public static func tokenF1(predictions: [String], references: [[String]]) throws(LatheError) -> Double {
        try mean(predictions, references, tokenF1)
    }

    static func mean(_ preds: [String], _ refs: [[String]], _ score: (String, [String]) -> Double) throws(LatheError) -> Double {
        if preds.count != refs.count { throw LatheError("there are \(preds.count) predictions but \(refs.count) references") }
        if preds.isEmpty { throw LatheError("empty input (expected at least one pair)") }
        return NumPy.mean(zip(preds, refs).map(score))
    }

    /// Levenshtein distance between two id sequences.
    public static func editDistance(_ a: [Int32], _ b: [Int32]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = [Int32](0...Int32(b.count))
        var cur = [Int32](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = Int32(i)
            let x = a[i - 1]
            for j in 1...b.count {
                let sub = prev[j - 1] + (x == b[j - 1] ? 0 : 1)
                cur[j] = min(sub, min(prev[j], cur[j - 1]) + 1)
            }
            swap(&prev, &cur)
        }
        return Int(prev[b.count])
    }

    /// An error rate: edits, reference length and their ratio.
    public struct ErrorRate: Sendable {
        public var rate: Double
        public var edits: Int
        public var referenceLength: Int
        /// Per pair: edits / reference length (NaN for an empty reference).
        public var items: [Double]
        /// Per pair: the edits and the reference length (what resampling sums).
        public var itemEdits: [Int]
        public var itemLengths: [Int]
    }

    /// Word error rate: total word-level edit distance / total reference words; words are
    /// separated by whitespace.
    public static func wer(predictions: [String], references: [String]) throws -> ErrorRate {
        let interner = ByteInterner()
        func words(_ s: String) -> [Int32] { PyText.split(s).map { interner.intern($0) } }
        return try errorRate(predictions, references, words)
    }

    /// Character error rate: edits over code points of the stripped texts / reference length.
    public static func cer(predictions: [String], references: [String]) throws -> ErrorRate {
        try errorRate(predictions, references) { PyText.strip($0).unicodeScalars.map { Int32(bitPattern: $0.value) } }
    }

    static func errorRate(_ preds: [String], _ refs: [String], _ split: (String) -> [Int32]) throws -> ErrorRate {
        if preds.count != refs.count { throw LatheError("there are \(preds.count) predictions but \(refs.count) references") }
        if preds.isEmpty { throw LatheError("empty input (expected at least one pair)") }
        var edits: [Int] = [], lengths: [Int] = []
        for i in 0..<preds.count {
            if i & 255 == 0 { try Interrupt.check() }
            let r = split(refs[i]), p = split(preds[i])
            edits.append(editDistance(r, p))
            lengths.append(r.count)
        }
        let e = edits.reduce(0, +), total = lengths.reduce(0, +)
        if total == 0 { throw LatheError("every reference is empty (the error rate is undefined)") }
        let items = zip(edits, lengths).map { $1 == 0 ? Double.nan : Double($0) / Double($1) }
        return ErrorRate(rate: Double(e) / Double(total), edits: e, referenceLength: total, items: items, itemEdits: edits, itemLengths: lengths)
    }

    /// Perplexity from mean negative log-likelihoods (natural log): exp of their mean, each
    /// weighted by its token count when given.
    public static func perplexity(losses: [Double], tokens: [Double]? = nil) throws(LatheError) -> Double {
        if losses.isEmpty { throw LatheError("no losses given") }
        for (i, l) in losses.enumerated() where !l.isFinite {
            throw LatheError("loss \(i + 1) is \(l.isNaN ? "NaN" : "infinite")")
        }
        if let tokens {
            if tokens.count != losses.count { throw LatheError("there are \(losses.count) losses but \(tokens.count) token counts") }
            var s = 0.0, w = 0.0
            for i in 0..<losses.count {
                if tokens[i] < 0 || !tokens[i].isFinite { throw LatheError("token count \(i + 1) is \(tokens[i]) (expected a non-negative number)") }
                s += losses[i] * tokens[i]
                w += tokens[i]
            }
            if w == 0 { throw LatheError("the token counts sum to 0") }
            return exp(s / w)
        }
        return exp(NumPy.mean(losses))
    }
}
