/// Precision, recall and F of one ROUGE type.
public struct RougeScore: Sendable, Equatable {
    public var precision: Double
    public var recall: Double
    public var fmeasure: Double
    public init(precision: Double, recall: Double, fmeasure: Double) {
        self.precision = precision
        self.recall = recall
        self.fmeasure = fmeasure
    }
    static let zero = RougeScore(precision: 0, recall: 0, fmeasure: 0)

    static func make(_ p: Double, _ r: Double) -> RougeScore {
        RougeScore(precision: p, recall: r, fmeasure: p + r > 0 ? 2 * p * r / (p + r) : 0)
    }
}

/// ROUGE-N, ROUGE-L and ROUGE-Lsum exactly as Google's rouge-score 0.1.2 computes them: its
/// tokenizer (lowercase, non-[a-z0-9] to spaces), optional Porter stemming of tokens longer
/// than 3 characters (NLTK's stemmer), and per-pair precision/recall/F.
public final class Rouge {
    public static let types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    public let stem: Bool
    let tokens = ByteInterner(capacity: 1 << 14)
    let bigrams = LocalInterner(capacity: 256)
    var stemOf: [Int32] = []
    let ca = SparseCounter(capacity: 1 << 14)
    let cb = SparseCounter(capacity: 1 << 14)

    public init(stem: Bool = false) { self.stem = stem }

    /// Token ids of a text (rouge-score's tokenize).
    func tokenize(_ text: String) -> [Int32] {
        var out: [Int32] = []
        var word: [UInt8] = []
        func flush() {
            guard !word.isEmpty else { return }
            let id = word.withUnsafeBufferPointer { tokens.intern($0, 0..<$0.count) }
            if stem {
                while stemOf.count < tokens.count { stemOf.append(-1) }
                var s = stemOf[Int(id)]
                if s < 0 {
                    if word.count > 3 {
                        let st = PorterStemmer.stem(scalars: word.map { UInt32($0) }, originalLength: word.count)
                        let bytes = st.map { UInt8(truncatingIfNeeded: $0) }
                        s = bytes.withUnsafeBufferPointer { tokens.intern($0, 0..<$0.count) }
                    } else {
                        s = id
                    }
                    while stemOf.count < tokens.count { stemOf.append(-1) }
                    stemOf[Int(id)] = s
                }
                out.append(s)
            } else {
                out.append(id)
            }
            word.removeAll(keepingCapacity: true)
        }
        var ascii = true
        for b in text.utf8 where b >= 0x80 { ascii = false; break }
        if ascii {
            for b in text.utf8 {
                if b >= 0x61 && b <= 0x7A || b >= 0x30 && b <= 0x39 { word.append(b) } else if b >= 0x41 && b <= 0x5A { word.append(b + 32) } else { flush() }
            }
        } else {
            for sc in text.unicodeScalars {
                let v = sc.value
                if v >= 0x61 && v <= 0x7A || v >= 0x30 && v <= 0x39 {
                    word.append(UInt8(v))
                } else if v >= 0x41 && v <= 0x5A {
                    word.append(UInt8(v + 32))
                } else if v == 0x130 {
                    // "İ".lower() == "i\u{307}": an i, then a separator
                    word.append(0x69); flush()
                } else if v == 0x212A {
                    // KELVIN SIGN lowercases to k
                    word.append(0x6B)
                } else {
                    flush()
                }
            }
        }
        flush()
        return out
    }

    func ngramScore(_ target: [Int32], _ pred: [Int32], n: Int) -> RougeScore {
        if n == 2 { bigrams.reset() }
        func ids(_ t: [Int32]) -> [Int32] {
            if n == 1 { return t }
            if t.count < 2 { return [] }
            return (0..<(t.count - 1)).map { bigrams.intern(NgramKey.pair(t[$0], t[$0 + 1])) }
        }
        let a = ids(target), b = ids(pred)
        let size = n == 1 ? tokens.count : bigrams.count
        ca.ensure(size); cb.ensure(size)
        for x in a { ca.add(x) }
        for x in b { cb.add(x) }
        var inter = 0
        for t in 0..<ca.touchedCount {
            let x = ca.touched[t]
            inter += Int(min(ca[x], cb[x]))
        }
        ca.reset(); cb.reset()
        return .make(Double(inter) / Double(max(b.count, 1)), Double(inter) / Double(max(a.count, 1)))
    }

    static func lcsLength(_ a: [Int32], _ b: [Int32]) -> Int {
        if a.isEmpty || b.isEmpty { return 0 }
        var prev = [Int32](repeating: 0, count: b.count + 1)
        var cur = prev
        for i in 1...a.count {
            let x = a[i - 1]
            for j in 1...b.count {
                cur[j] = x == b[j - 1] ? prev[j - 1] + 1 : max(prev[j], cur[j - 1])
            }
            swap(&prev, &cur)
        }
        return Int(prev[b.count])
    }

    /// Indices into `ref` of one LCS, chosen as rouge-score's `_backtrack_norec` chooses.
    static func lcsIndices(_ ref: [Int32], _ can: [Int32]) -> [Int] {
        let rows = ref.count, cols = can.count
        if rows == 0 || cols == 0 { return [] }
        let w = cols + 1
        var t = [Int32](repeating: 0, count: (rows + 1) * w)
        for i in 1...rows {
            for j in 1...cols {
                t[i * w + j] = ref[i - 1] == can[j - 1] ? t[(i - 1) * w + j - 1] + 1 : max(t[(i - 1) * w + j], t[i * w + j - 1])
            }
        }
        var out: [Int] = []
        var i = rows, j = cols
        while i > 0 && j > 0 {
            if ref[i - 1] == can[j - 1] {
                out.append(i - 1); i -= 1; j -= 1
            } else if t[i * w + j - 1] > t[(i - 1) * w + j] {
                j -= 1
            } else {
                i -= 1
            }
        }
        return out.reversed()
    }

    func summaryLCS(_ refSents: [[Int32]], _ canSents: [[Int32]]) -> RougeScore {
        if refSents.isEmpty || canSents.isEmpty { return .zero }
        let m = refSents.reduce(0) { $0 + $1.count }, n = canSents.reduce(0) { $0 + $1.count }
        if m == 0 || n == 0 { return .zero }
        var cr: [Int32: Int] = [:], cc: [Int32: Int] = [:]
        for s in refSents { for t in s { cr[t, default: 0] += 1 } }
        for s in canSents { for t in s { cc[t, default: 0] += 1 } }
        var hits = 0
        for r in refSents {
            var union = Set<Int>()
            for c in canSents { union.formUnion(Rouge.lcsIndices(r, c)) }
            for idx in union.sorted() {
                let t = r[idx]
                if (cc[t] ?? 0) > 0 && (cr[t] ?? 0) > 0 {
                    hits += 1
                    cc[t]! -= 1
                    cr[t]! -= 1
                }
            }
        }
        return .make(Double(hits) / Double(n), Double(hits) / Double(m))
    }

    /// Scores of one prediction against one target (rouge-score's `scorer.score(target, prediction)`).
    public func score(target: String, prediction: String, types: [String] = Rouge.types) throws(LatheError) -> [String: RougeScore] {
        var out: [String: RougeScore] = [:]
        var tt: [Int32]? = nil, pt: [Int32]? = nil
        for type in types {
            switch type {
            case "rouge1", "rouge2":
                if tt == nil { tt = tokenize(target); pt = tokenize(prediction) }
                out[type] = ngramScore(tt!, pt!, n: type == "rouge1" ? 1 : 2)
            case "rougeL":
                if tt == nil { tt = tokenize(target); pt = tokenize(prediction) }
                let a = tt!, b = pt!
                if a.isEmpty || b.isEmpty { out[type] = .zero; continue }
                let l = Double(Rouge.lcsLength(a, b))
                out[type] = .make(l / Double(b.count), l / Double(a.count))
            case "rougeLsum":
                func sents(_ s: String) -> [[Int32]] {
                    s.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: true)
                        .map { tokenize(String(String.UnicodeScalarView($0))) }
                }
                out[type] = summaryLCS(sents(target), sents(prediction))
            default:
                let hint = closestName(type, Rouge.types).map { "; did you mean \"\($0)\"?" } ?? ""
                throw LatheError("unknown ROUGE type \"\(type)\"\(hint) (expected rouge1, rouge2, rougeL or rougeLsum)")
            }
        }
        return out
    }

    /// Several targets: per type, the target with the highest F wins (rouge-score's score_multi).
    public func scoreMulti(targets: [String], prediction: String, types: [String] = Rouge.types) throws(LatheError) -> [String: RougeScore] {
        if targets.count == 1 { return try score(target: targets[0], prediction: prediction, types: types) }
        if targets.isEmpty { throw LatheError("no reference for a prediction") }
        var all: [[String: RougeScore]] = []
        for t in targets { all.append(try score(target: t, prediction: prediction, types: types)) }
        var out: [String: RougeScore] = [:]
        for type in types {
            var best = 0
            for k in 1..<all.count where all[k][type]!.fmeasure > all[best][type]!.fmeasure { best = k }
            out[type] = all[best][type]
        }
        return out
    }

    /// Mean precision, recall and F over pairs; also the per-pair scores.
    public func corpus(predictions: [String], references: [[String]], types: [String] = Rouge.types) throws -> (mean: [String: RougeScore], items: [[String: RougeScore]]) {
        if predictions.count != references.count {
            throw LatheError("there are \(predictions.count) predictions but \(references.count) references")
        }
        var items: [[String: RougeScore]] = []
        items.reserveCapacity(predictions.count)
        for i in 0..<predictions.count {
            if i & 255 == 0 { try Interrupt.check() }
            items.append(try scoreMulti(targets: references[i], prediction: predictions[i], types: types))
        }
        var mean: [String: RougeScore] = [:]
        let n = Double(items.count)
        for type in types {
            let p = NumPy.sum(items.map { $0[type]!.precision })
            let r = NumPy.sum(items.map { $0[type]!.recall })
            let f = NumPy.sum(items.map { $0[type]!.fmeasure })
            mean[type] = RougeScore(precision: p / n, recall: r / n, fmeasure: f / n)
        }
        return (mean, items)
    }
}
