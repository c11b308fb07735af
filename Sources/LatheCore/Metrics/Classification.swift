import Foundation

/// What to do where precision, recall or F is 0/0 (scikit-learn's `zero_division`).
public enum ZeroDivision: Sendable, Equatable {
    /// 0.0 and a warning (scikit-learn's default "warn").
    case warn
    /// 0.0, 1.0 or NaN, without a warning. With NaN, averages skip the undefined classes.
    case value(Double)

    var fill: Double {
        switch self {
        case .warn: return 0
        case .value(let v): return v
        }
    }
}

/// How per-class scores are combined.
public enum AverageMode: String, Sendable, CaseIterable {
    case binary, micro, macro, weighted, none
}

/// Which of precision, recall and F warn when undefined (scikit-learn's `warn_for`).
public enum PRFMetric: Sendable { case precision, recall, fscore }

/// Options of precision/recall/F (scikit-learn's `precision_recall_fscore_support`).
public struct PRFOptions: Sendable {
    public var average: AverageMode = .binary
    /// Positive class for `average = .binary` (scikit-learn's default is 1).
    public var posLabel: LabelValue = .int(1)
    /// True when the caller chose pos_label (a non-default one with another average warns).
    public var posLabelGiven = false
    /// Restrict and order the classes (labels not in the data count as empty classes).
    public var labels: [LabelValue]? = nil
    public var beta: Double = 1
    public var zeroDivision: ZeroDivision = .warn
    public init() {}
}

/// Per-class counts: true positives, predicted and true totals.
public struct ClassCounts: Sendable {
    public var tp: [Int]
    public var pred: [Int]
    public var truth: [Int]
}

/// Precision, recall and F per class (or one averaged value each).
public struct PRFResult: Sendable {
    /// Labels of the per-class values (empty when averaged).
    public var labels: [LabelValue]
    public var precision: [Double]
    public var recall: [Double]
    public var fscore: [Double]
    /// True samples per class (per-class results only).
    public var support: [Int]
    public var warnings: [String]
}

/// The labels a precision/recall/F computation looks at, validated once (so resampling can
/// reuse it).
public struct PRFPlan: Sendable {
    public let encoded: EncodedLabels
    public let options: PRFOptions
    /// Index into `encoded.classes` of each label, or -1 for labels absent from the data.
    public let labelIndex: [Int]
    public let labels: [LabelValue]
    public let warnings: [String]

    public init(_ e: EncodedLabels, _ o: PRFOptions) throws(LatheError) {
        encoded = e
        options = o
        var warns: [String] = []
        var labs: [LabelValue]
        if o.average == .binary {
            if e.classes.count > 2 {
                throw LatheError("the labels have \(e.classes.count) classes but average = \"binary\" needs at most 2 (use average = \"micro\", \"macro\", \"weighted\" or \"none\")")
            }
            if e.index(of: o.posLabel) == nil && e.classes.count >= 2 {
                let choices = e.classes.map { $0.quoted }.joined(separator: ", ")
                throw LatheError("pos_label = \(o.posLabel.quoted) is not a valid label (expected one of \(choices); pass the pos_label option)")
            }
            labs = [o.posLabel]
        } else {
            if o.posLabelGiven && !o.posLabel.matches(.int(1)) {
                warns.append("pos_label (set to \(o.posLabel.quoted)) is ignored when average is not \"binary\" (got \"\(o.average.rawValue)\"); use labels = {\(o.posLabel.quoted)} to score a single class")
            }
            labs = o.labels ?? e.classes
        }
        labels = labs
        labelIndex = labs.map { e.index(of: $0) ?? -1 }
        warnings = warns
    }

    /// Counts per class over rows, each row counted `weights[i]` times (all once when nil).
    public func counts(weights: [Int32]? = nil) -> ClassCounts {
        let k = encoded.classes.count
        var tp = [Int](repeating: 0, count: k), pred = tp, truth = tp
        let yt = encoded.yTrue, yp = encoded.yPred
        tp.withUnsafeMutableBufferPointer { tpp in
            pred.withUnsafeMutableBufferPointer { pp in
                truth.withUnsafeMutableBufferPointer { tr in
                    yt.withUnsafeBufferPointer { a in
                        yp.withUnsafeBufferPointer { b in
                            if let weights {
                                weights.withUnsafeBufferPointer { w in
                                    for i in 0..<a.count where w[i] != 0 {
                                        let t = Int(a[i]), p = Int(b[i]), c = Int(w[i])
                                        tr[t] += c
                                        pp[p] += c
                                        if t == p { tpp[t] += c }
                                    }
                                }
                            } else {
                                for i in 0..<a.count {
                                    let t = Int(a[i]), p = Int(b[i])
                                    tr[t] += 1
                                    pp[p] += 1
                                    if t == p { tpp[t] += 1 }
                                }
                            }
                        }
                    }
                }
            }
        }
        return ClassCounts(tp: tp, pred: pred, truth: truth)
    }

    /// Precision, recall and F from counts, averaged as the options say. `warnFor` lists the
    /// quantities whose 0/0 produces a warning (with zero_division = warn).
    public func compute(_ c: ClassCounts, warnFor: Set<PRFMetric>) -> PRFResult {
        var tp = labelIndex.map { $0 >= 0 ? Double(c.tp[$0]) : 0 }
        var ps = labelIndex.map { $0 >= 0 ? Double(c.pred[$0]) : 0 }
        var ts = labelIndex.map { $0 >= 0 ? Double(c.truth[$0]) : 0 }
        let support = labelIndex.map { $0 >= 0 ? c.truth[$0] : 0 }
        if options.average == .micro {
            tp = [NumPy.sum(tp)]
            ps = [NumPy.sum(ps)]
            ts = [NumPy.sum(ts)]
        }
        var warns = warnings
        let avg = options.average
        func divide(_ num: [Double], _ den: [Double], _ metric: PRFMetric, _ name: String, _ modifier: String) -> [Double] {
            var out = [Double](repeating: 0, count: num.count)
            var any = false
            for i in 0..<num.count {
                if den[i] == 0 { out[i] = options.zeroDivision.fill; any = true } else { out[i] = num[i] / den[i] }
            }
            if any && options.zeroDivision == .warn && warnFor.contains(metric) {
                let how = out.count == 1 ? "due to" : "in labels with"
                warns.append("\(name) is ill-defined and being set to 0.0 \(how) no \(modifier) samples. Use the zero_division option to control this behavior.")
            }
            return out
        }
        let precision = divide(tp, ps, .precision, "Precision", "predicted")
        let recall = divide(tp, ts, .recall, "Recall", "true")
        let beta2 = options.beta * options.beta
        let fscore: [Double]
        if options.beta.isInfinite {
            fscore = recall
        } else if options.beta == 0 {
            fscore = precision
        } else {
            let num = tp.map { (1 + beta2) * $0 }
            var den = [Double](repeating: 0, count: tp.count)
            for i in 0..<tp.count { den[i] = beta2 * ts[i] + ps[i] }
            fscore = divide(num, den, .fscore, "F-score", "true nor predicted")
        }
        if avg == .none {
            return PRFResult(labels: labels, precision: precision, recall: recall, fscore: fscore,
                             support: support, warnings: warns)
        }
        let w: [Double]? = avg == .weighted ? ts : nil
        return PRFResult(labels: [], precision: [PRFPlan.nanaverage(precision, w)],
                         recall: [PRFPlan.nanaverage(recall, w)], fscore: [PRFPlan.nanaverage(fscore, w)],
                         support: [], warnings: warns)
    }

    /// scikit-learn's `_nanaverage`.
    static func nanaverage(_ a: [Double], _ w: [Double]?) -> Double {
        if a.isEmpty { return .nan }
        if a.allSatisfy({ $0.isNaN }) { return .nan }
        guard let w else { return NumPy.nanmean(a) }
        var aa: [Double] = [], ww: [Double] = []
        for i in 0..<a.count where !a[i].isNaN { aa.append(a[i]); ww.append(w[i]) }
        return NumPy.average(aa, weights: ww) ?? NumPy.mean(aa)
    }
}

/// Classification metrics that match scikit-learn 1.9.
public enum Classification {
    /// Fraction of rows where the labels agree (optionally weighted).
    public static func accuracy(_ e: EncodedLabels, weights: [Int32]? = nil) -> Double {
        let a = e.yTrue, b = e.yPred
        var hit = 0, total = 0
        if let weights {
            for i in 0..<a.count where weights[i] != 0 {
                total += Int(weights[i])
                if a[i] == b[i] { hit += Int(weights[i]) }
            }
        } else {
            for i in 0..<a.count where a[i] == b[i] { hit += 1 }
            total = a.count
        }
        return total == 0 ? .nan : Double(hit) / Double(total)
    }

    /// Precision, recall and F-beta in one go.
    public static func prf(_ e: EncodedLabels, _ o: PRFOptions, warnFor: Set<PRFMetric> = [.precision, .recall, .fscore]) throws(LatheError) -> PRFResult {
        let plan = try PRFPlan(e, o)
        return plan.compute(plan.counts(), warnFor: warnFor)
    }

    /// The confusion matrix: rows are true labels, columns predicted, in label order.
    public static func confusion(_ e: EncodedLabels, labels: [LabelValue]? = nil, normalize: String? = nil) throws(LatheError) -> ConfusionMatrix {
        let labs = labels ?? e.classes
        if labs.isEmpty { throw LatheError("labels is empty (expected at least one label)") }
        let k = labs.count
        if k > 10_000 {
            throw LatheError("\(k) classes are too many for a confusion matrix (at most 10000; choose some with the labels option)")
        }
        var map = [Int](repeating: -1, count: e.classes.count)
        for (j, l) in labs.enumerated() {
            if let i = e.index(of: l), map[i] < 0 { map[i] = j }
        }
        if labels != nil && e.count > 0 {
            var inTrue = [Bool](repeating: false, count: e.classes.count)
            for t in e.yTrue { inTrue[Int(t)] = true }
            if !(0..<e.classes.count).contains(where: { map[$0] >= 0 && inTrue[$0] }) {
                throw LatheError("at least one of the given labels must occur in y_true")
            }
        }
        var m = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        let a = e.yTrue, b = e.yPred
        for i in 0..<a.count {
            let r = map[Int(a[i])], c = map[Int(b[i])]
            if r >= 0 && c >= 0 { m[r][c] += 1 }
        }
        var norm: [[Double]]? = nil
        if let normalize {
            var out = m.map { $0.map(Double.init) }
            switch normalize {
            case "true":
                for r in 0..<k {
                    let s = Double(m[r].reduce(0, +))
                    for c in 0..<k { out[r][c] = s == 0 ? 0 : Double(m[r][c]) / s }
                }
            case "pred":
                for c in 0..<k {
                    var s = 0
                    for r in 0..<k { s += m[r][c] }
                    for r in 0..<k { out[r][c] = s == 0 ? 0 : Double(m[r][c]) / Double(s) }
                }
            case "all":
                let s = Double(m.joined().reduce(0, +))
                for r in 0..<k { for c in 0..<k { out[r][c] = s == 0 ? 0 : Double(m[r][c]) / s } }
            default:
                throw LatheError("normalize must be \"true\", \"pred\" or \"all\" (got \"\(normalize)\")")
            }
            norm = out
        }
        return ConfusionMatrix(labels: labs, counts: m, normalized: norm, normalize: normalize)
    }

    /// scikit-learn's `classification_report` (text and numbers).
    public static func report(_ e: EncodedLabels, labels: [LabelValue]? = nil, targetNames: [String]? = nil,
                              digits: Int = 2, zeroDivision: ZeroDivision = .warn) throws(LatheError) -> ClassificationReport {
        let labs = labels ?? e.classes
        if labs.isEmpty { throw LatheError("there are no labels to report on") }
        var warns: [String] = []
        // micro average is accuracy when every label present is reported
        let microIsAccuracy = labels == nil || e.classes.allSatisfy { c in labs.contains { $0.matches(c) } }
        var names = labs.map { $0.description }
        if let targetNames {
            if targetNames.count != labs.count {
                if labels != nil {
                    warns.append("labels size, \(labs.count), does not match size of target_names, \(targetNames.count)")
                } else {
                    throw LatheError("there are \(labs.count) classes but \(targetNames.count) target_names (pass labels to choose the classes)")
                }
            }
            names = targetNames
        }
        var o = PRFOptions()
        o.average = .none
        o.labels = labs
        o.zeroDivision = zeroDivision
        let plan = try PRFPlan(e, o)
        let counts = plan.counts()
        let per = plan.compute(counts, warnFor: [.precision, .recall, .fscore])
        warns += per.warnings
        var rows: [ClassificationReport.Row] = []
        for i in 0..<min(names.count, labs.count) {
            rows.append(.init(name: names[i], precision: per.precision[i], recall: per.recall[i],
                              f1: per.fscore[i], support: per.support[i]))
        }
        let total = per.support.reduce(0, +)
        var avgs: [ClassificationReport.Row] = []
        for mode in [AverageMode.micro, .macro, .weighted] {
            var oo = o
            oo.average = mode
            let p = try PRFPlan(e, oo)
            let r = p.compute(counts, warnFor: [.precision, .recall, .fscore])
            warns += r.warnings
            let heading = mode == .micro && microIsAccuracy ? "accuracy" : "\(mode.rawValue) avg"
            avgs.append(.init(name: heading, precision: r.precision[0], recall: r.recall[0], f1: r.fscore[0], support: total))
        }
        var seen = Set<String>()
        warns = warns.filter { seen.insert($0).inserted }
        return ClassificationReport(labels: labs, rows: rows, averages: avgs, digits: digits, warnings: warns)
    }
}

/// A confusion matrix with its labels.
public struct ConfusionMatrix: Sendable {
    public let labels: [LabelValue]
    /// counts[i][j]: rows with true label i predicted as j.
    public let counts: [[Int]]
    /// The normalized matrix when `normalize` was given.
    public let normalized: [[Double]]?
    public let normalize: String?

    public var total: Int { counts.joined().reduce(0, +) }

    /// An aligned table: a summary line, then rows = true labels, columns = predicted.
    public func text(digits: Int = 2) -> String {
        let k = labels.count
        var out = "ConfusionMatrix: \(k) label\(k == 1 ? "" : "s"), \(total) sample\(total == 1 ? "" : "s")"
        if let normalize { out += ", normalized over \(normalize == "all" ? "all samples" : normalize == "true" ? "true labels (rows)" : "predicted labels (columns)")" }
        out += " (rows = true, columns = predicted)\n"
        let corner = "true \\ pred"
        let names = labels.map { $0.description }
        let cells: [[String]] = (0..<k).map { r in
            (0..<k).map { c in normalized.map { pyFixed($0[r][c], digits) } ?? String(counts[r][c]) }
        }
        let firstW = max(PyText.length(corner), names.map(PyText.length).max() ?? 0)
        var widths = [Int](repeating: 0, count: k)
        for c in 0..<k {
            widths[c] = max(PyText.length(names[c]), (0..<k).map { PyText.length(cells[$0][c]) }.max() ?? 0)
        }
        var line = PyText.ljust(corner, firstW)
        for c in 0..<k { line += "  " + PyText.rjust(names[c], widths[c]) }
        out += line + "\n"
        for r in 0..<k {
            var l = PyText.ljust(names[r], firstW)
            for c in 0..<k { l += "  " + PyText.rjust(cells[r][c], widths[c]) }
            out += l + "\n"
        }
        return out
    }
}

/// scikit-learn's classification_report as numbers and as its exact text layout.
public struct ClassificationReport: Sendable {
    public struct Row: Sendable {
        public var name: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }
    public let labels: [LabelValue]
    public let rows: [Row]
    /// "accuracy" (or "micro avg" when labels leave some classes out), "macro avg", "weighted avg".
    public let averages: [Row]
    public let digits: Int
    public let warnings: [String]

    public var accuracy: Double? { averages.first { $0.name == "accuracy" }?.f1 }

    /// The text scikit-learn prints, character for character.
    public var text: String {
        let headers = ["precision", "recall", "f1-score", "support"]
        let nameWidth = rows.map { PyText.length($0.name) }.max() ?? 0
        let width = max(nameWidth, PyText.length("weighted avg"), digits)
        var out = PyText.rjust("", width) + " "
        for h in headers { out += " " + PyText.rjust(h, 9) }
        out += "\n\n"
        func row(_ r: Row) -> String {
            var s = PyText.rjust(r.name, width) + " "
            for v in [r.precision, r.recall, r.f1] { s += " " + PyText.rjust(pyFixed(v, digits), 9) }
            return s + " " + PyText.rjust(String(r.support), 9) + "\n"
        }
        for r in rows { out += row(r) }
        out += "\n"
        for a in averages {
            if a.name == "accuracy" {
                out += PyText.rjust(a.name, width) + " " + " " + PyText.rjust("", 9) + " " + PyText.rjust("", 9)
                out += " " + PyText.rjust(pyFixed(a.f1, digits), 9) + " " + PyText.rjust(String(a.support), 9) + "\n"
            } else {
                out += row(a)
            }
        }
        return out
    }
}
