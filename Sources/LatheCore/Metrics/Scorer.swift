/// A metric over weighted rows, as `Resampling` needs it: `score(w)` counts row i `w[i]` times
/// (0 leaves it out). Named scorers keep per-row statistics, so corpus metrics (BLEU, F1, WER)
/// are recomputed from the rows drawn, not averaged per row.
public struct Scorer {
    public var name: String
    public var rows: Int
    public var score: ([Int32]) throws -> Double

    public init(name: String, rows: Int, score: @escaping ([Int32]) throws -> Double) {
        self.name = name
        self.rows = rows
        self.score = score
    }

    /// What a named metric compares.
    public enum Input: String, Sendable {
        case labels = "labels against labels"
        case texts = "predictions against references"
        case scores = "scores against labels"
    }

    /// The truth and the outputs of one system (n rows) or of two (2n rows, the first system's
    /// first, as `Resampling.pairedTest` reads them).
    public enum Data {
        case labels(truth: LabelColumn, systems: [LabelColumn])
        /// References per item (WER and CER use the first), predictions per system.
        case texts(references: [[String]], systems: [[String]])
        case scores(truth: LabelColumn, systems: [[Double]])

        var input: Input {
            switch self {
            case .labels: return .labels
            case .texts: return .texts
            case .scores: return .scores
            }
        }
    }

    /// Options of the named metrics; each metric reads the ones that concern it.
    public struct Options: Sendable {
        /// precision, recall, f1, fbeta (average, pos_label, labels, zero_division); roc_auc and
        /// average_precision read pos_label when it was given.
        public var prf = PRFOptions()
        /// fbeta's weight of recall (fbeta needs it).
        public var beta: Double? = nil
        /// ROUGE: Porter-stem tokens longer than 3 characters.
        public var stem = false
        /// BLEU and chrF: lowercase the texts first.
        public var lowercase = false
        public init() {}
    }

    /// Every named metric, in the order help lists them.
    public static let registry: [(name: String, input: Input)] = [
        ("accuracy", .labels), ("precision", .labels), ("recall", .labels), ("f1", .labels), ("fbeta", .labels),
        ("exact_match", .texts), ("token_f1", .texts), ("bleu", .texts), ("chrf", .texts), ("rouge1", .texts),
        ("rouge2", .texts), ("rougeL", .texts), ("rougeLsum", .texts), ("wer", .texts), ("cer", .texts),
        ("roc_auc", .scores), ("average_precision", .scores),
    ]
    public static var names: [String] { registry.map(\.name) }

    /// What the named metric compares; an unknown name is an error with the nearest one.
    public static func input(of name: String) throws(LatheError) -> Input {
        if let r = registry.first(where: { $0.name == name }) { return r.input }
        let hint = closestName(name, names).map { "; did you mean \"\($0)\"?" } ?? ""
        throw LatheError("unknown metric \"\(name)\"\(hint) (expected a function or one of: \(names.joined(separator: ", ")))")
    }

    /// The named metric over `data`: `Scorer.named("bleu", .texts(references: refs, systems: [hyps]))`.
    public static func named(_ name: String, _ data: Data, options: Options = Options()) throws -> Scorer {
        let input = try input(of: name)
        if input != data.input { throw LatheError("metric \"\(name)\" compares \(input.rawValue), not \(data.input.rawValue)") }
        switch data {
        case .labels(let truth, let systems):
            try checkRows(truth.count, systems.map(\.count))
            return try classification(name, options, truth, systems)
        case .texts(let refs, let systems):
            try checkRows(refs.count, systems.map(\.count))
            return try text(name, options, refs, systems)
        case .scores(let truth, let systems):
            try checkRows(truth.count, systems.map(\.count))
            return try ranking(name, options, truth, systems)
        }
    }

    static func checkRows(_ n: Int, _ counts: [Int]) throws(LatheError) {
        if counts.isEmpty || counts.count > 2 { throw LatheError("expected one or two systems, got \(counts.count)") }
        for (k, m) in counts.enumerated() where m != n {
            throw LatheError("system \(k + 1) has \(m) rows but the truth has \(n)")
        }
        if n == 0 { throw LatheError("empty input (expected at least one item)") }
    }

    static func joined(_ cols: [LabelColumn]) throws(LatheError) -> LabelColumn {
        if cols.count == 1 { return cols[0] }
        return try LabelColumn(cols.flatMap { c in (0..<c.count).map { c[$0] } })
    }

    static func classification(_ name: String, _ options: Options, _ truth: LabelColumn, _ systems: [LabelColumn]) throws -> Scorer {
        let enc = try EncodedLabels([try joined(Array(repeating: truth, count: systems.count)), try joined(systems)])
        if name == "accuracy" { return Scorer(name: name, rows: enc.count) { Classification.accuracy(enc, weights: $0) } }
        var o = options.prf
        if o.average == .none {
            throw LatheError("average = \"none\" gives a score per class; resampling needs one number (use \"binary\", \"micro\", \"macro\" or \"weighted\")")
        }
        if name == "fbeta" {
            guard let b = options.beta else { throw LatheError("metric \"fbeta\" needs the beta option") }
            o.beta = b
        }
        let plan = try PRFPlan(enc, o)
        let pick: (PRFResult) -> Double = name == "precision" ? { $0.precision[0] } : name == "recall" ? { $0.recall[0] } : { $0.fscore[0] }
        return Scorer(name: name, rows: enc.count) { w in pick(plan.compute(plan.counts(weights: w), warnFor: [])) }
    }

    static func text(_ name: String, _ options: Options, _ references: [[String]], _ systems: [[String]]) throws -> Scorer {
        let refs = Array(Array(repeating: references, count: systems.count).joined())
        let hyps = Array(systems.joined())
        switch name {
        case "bleu":
            var o = BLEUOptions()
            o.lowercase = options.lowercase
            let b = try BLEU(o)
            return summed(name, try b.segmentStatistics(hyps, refs.map { $0.map(Optional.some) })) { b.score(fromTotals: $0, nrefs: "1").score }
        case "chrf":
            var o = CHRFOptions()
            o.lowercase = options.lowercase
            let ch = try CHRF(o)
            return summed(name, try ch.segmentStatistics(hyps, refs.map { $0.map(Optional.some) })) { ch.fScore($0) }
        case "wer", "cer":
            let first = refs.map { $0[0] }
            let e = name == "wer" ? try TextMetrics.wer(predictions: hyps, references: first) : try TextMetrics.cer(predictions: hyps, references: first)
            return summed(name, zip(e.itemEdits, e.itemLengths).map { [$0, $1] }) { $0[1] == 0 ? .nan : Double($0[0]) / Double($0[1]) }
        case "exact_match":
            return averaged(name, zip(hyps, refs).map { TextMetrics.exactMatch($0, $1) })
        case "token_f1":
            return averaged(name, zip(hyps, refs).map { TextMetrics.tokenF1($0, $1) })
        default:
            let rouge = Rouge(stem: options.stem)
            return averaged(name, try zip(hyps, refs).map { try rouge.scoreMulti(targets: $1, prediction: $0, types: [name])[name]!.fmeasure })
        }
    }

    static func ranking(_ name: String, _ options: Options, _ truth: LabelColumn, _ systems: [[Double]]) throws -> Scorer {
        let all = try joined(Array(repeating: truth, count: systems.count))
        let scores = Array(systems.joined())
        let pos = options.prf.posLabelGiven ? options.prf.posLabel : nil
        return Scorer(name: name, rows: all.count) { w in
            var ys: [LabelValue] = [], ss: [Double] = []
            for i in 0..<w.count where w[i] > 0 {
                for _ in 0..<Int(w[i]) { ys.append(all[i]); ss.append(scores[i]) }
            }
            let col = try LabelColumn(ys)
            return name == "roc_auc" ? try Ranking.rocAUC(col, ss, posLabel: pos).value : try Ranking.averagePrecision(col, ss, posLabel: pos).value
        }
    }

    /// A corpus metric: the weighted sum of the rows' statistics, then `total` of the sum.
    static func summed(_ name: String, _ stats: [[Int]], _ total: @escaping ([Int]) -> Double) -> Scorer {
        let width = stats.first?.count ?? 0
        return Scorer(name: name, rows: stats.count) { w in
            var sum = [Int](repeating: 0, count: width)
            for (i, s) in stats.enumerated() where w[i] != 0 && s.count == width {
                for k in 0..<width { sum[k] += Int(w[i]) * s[k] }
            }
            return total(sum)
        }
    }

    /// A mean of per-row scores, each row counted its weight's times.
    static func averaged(_ name: String, _ per: [Double]) -> Scorer {
        Scorer(name: name, rows: per.count) { w in
            var s = 0.0, n = 0.0
            for i in 0..<per.count where w[i] != 0 { s += Double(w[i]) * per[i]; n += Double(w[i]) }
            return n == 0 ? .nan : s / n
        }
    }
}
