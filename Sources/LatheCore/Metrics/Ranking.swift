import Foundation

/// Metrics on scores and probabilities: ROC-AUC, average precision, log loss (scikit-learn
/// 1.9) and expected calibration error.
public enum Ranking {
    static func checkFinite(_ xs: [Double], _ name: String) throws(LatheError) {
        for (i, x) in xs.enumerated() where !x.isFinite {
            throw LatheError("\(name) contains \(x.isNaN ? "NaN" : "an infinite value") (element \(i + 1))")
        }
    }

    /// Binary relevance (1 for the positive class) from labels. Default positive class: the
    /// larger label (roc_auc) or `defaultPos` (average precision).
    static func binarize(_ y: LabelColumn, posLabel: LabelValue?, metric: String, defaultLargest: Bool)
        throws(LatheError) -> (truth: [Bool], classes: [LabelValue], pos: LabelValue) {
        let e = try EncodedLabels([y], names: ["y_true"])
        if e.classes.count > 2 {
            throw LatheError("\(metric) needs binary y_true (2 classes), got \(e.classes.count) classes")
        }
        let pos: LabelValue
        if let posLabel {
            if e.index(of: posLabel) == nil && e.classes.count == 2 {
                throw LatheError("pos_label = \(posLabel.quoted) is not a valid label (expected one of \(e.classes.map { $0.quoted }.joined(separator: ", ")))")
            }
            pos = posLabel
        } else if defaultLargest {
            pos = e.classes.last ?? .int(1)
        } else {
            let one = LabelValue.int(1)
            if e.index(of: one) == nil && e.classes.count == 2 {
                throw LatheError("pos_label = 1 is not a valid label (expected one of \(e.classes.map { $0.quoted }.joined(separator: ", ")); pass the pos_label option)")
            }
            pos = one
        }
        let pi = e.index(of: pos).map { Int32($0) } ?? -1
        return (e.yTrue.map { $0 == pi }, e.classes, pos)
    }

    /// Sorted by score descending; (tps, fps) at each distinct score (scikit-learn's
    /// confusion_matrix_at_thresholds).
    static func thresholdCounts(_ truth: [Bool], _ scores: [Double]) -> (tps: [Double], fps: [Double]) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var tps: [Double] = [], fps: [Double] = []
        var cum = 0.0
        let n = order.count
        for k in 0..<n {
            if truth[order[k]] { cum += 1 }
            if k == n - 1 || scores[order[k]] != scores[order[k + 1]] {
                tps.append(cum)
                fps.append(1 + Double(k) - cum)
            }
        }
        return (tps, fps)
    }

    /// Area under the ROC curve for binary labels (scikit-learn's roc_auc_score). With a
    /// single class in y_true the area is undefined: NaN and a warning, as scikit-learn does.
    public static func rocAUC(_ y: LabelColumn, _ scores: [Double], posLabel: LabelValue? = nil) throws(LatheError) -> (value: Double, warnings: [String]) {
        if y.count != scores.count { throw LatheError("y_true has \(y.count) labels but scores has \(scores.count) values") }
        if y.count == 0 { throw LatheError("empty input (expected at least one sample)") }
        try checkFinite(scores, "scores")
        let (truth, classes, _) = try binarize(y, posLabel: posLabel, metric: "roc_auc", defaultLargest: true)
        if classes.count != 2 {
            return (.nan, ["Only one class is present in y_true. ROC AUC score is not defined in that case."])
        }
        var (tps, fps) = thresholdCounts(truth, scores)
        // drop_intermediate: keep corners only (as roc_curve does by default)
        if fps.count > 2 {
            var keep = [Bool](repeating: true, count: fps.count)
            for i in 1..<(fps.count - 1) {
                let d2f = fps[i + 1] - 2 * fps[i] + fps[i - 1]
                let d2t = tps[i + 1] - 2 * tps[i] + tps[i - 1]
                keep[i] = d2f != 0 || d2t != 0
            }
            tps = tps.indices.filter { keep[$0] }.map { tps[$0] }
            fps = fps.indices.filter { keep[$0] }.map { fps[$0] }
        }
        tps.insert(0, at: 0)
        fps.insert(0, at: 0)
        let fpr = fps.map { $0 / fps[fps.count - 1] }
        let tpr = tps.map { $0 / tps[tps.count - 1] }
        var terms = [Double](repeating: 0, count: fpr.count - 1)
        for i in 0..<terms.count { terms[i] = (fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2.0 }
        return (NumPy.sum(terms), [])
    }

    /// Average precision (scikit-learn's average_precision_score for binary y_true): the
    /// step-wise area under the precision-recall curve.
    public static func averagePrecision(_ y: LabelColumn, _ scores: [Double], posLabel: LabelValue? = nil) throws(LatheError) -> (value: Double, warnings: [String]) {
        if y.count != scores.count { throw LatheError("y_true has \(y.count) labels but scores has \(scores.count) values") }
        if y.count == 0 { throw LatheError("empty input (expected at least one sample)") }
        try checkFinite(scores, "scores")
        let (truth, _, _) = try binarize(y, posLabel: posLabel, metric: "average_precision", defaultLargest: false)
        let (tps, fps) = thresholdCounts(truth, scores)
        var warns: [String] = []
        let m = tps.count
        let precision = (0..<m).map { tps[$0] + fps[$0] != 0 ? tps[$0] / (tps[$0] + fps[$0]) : 0 }
        let recall: [Double]
        if tps[m - 1] == 0 {
            warns.append("No positive class found in y_true, recall is set to one for all thresholds.")
            recall = [Double](repeating: 1, count: m)
        } else {
            recall = tps.map { $0 / tps[m - 1] }
        }
        let P = Array(precision.reversed()) + [1.0]
        let R = Array(recall.reversed()) + [0.0]
        var terms = [Double](repeating: 0, count: m)
        for k in 0..<m { terms[k] = (R[k + 1] - R[k]) * P[k] }
        return (max(0.0, -NumPy.sum(terms)), warns)
    }

    /// Validated probabilities: one row per sample, one column per class (`classes` sorted).
    public struct ProbabilityTable {
        public var classes: [LabelValue]
        /// Row i's true class index into `classes`.
        public var truth: [Int]
        public var rows: [[Double]]
        public var warnings: [String]
    }

    /// Checks y_true and probabilities as scikit-learn's log_loss does. `probs` is either one
    /// column (probability of the positive, larger class) or one row per sample.
    public static func probabilityTable(_ y: LabelColumn, _ probs: [[Double]], labels: [LabelValue]?) throws(LatheError) -> ProbabilityTable {
        if y.count != probs.count { throw LatheError("y_true has \(y.count) labels but the probabilities have \(probs.count) rows") }
        if y.count == 0 { throw LatheError("empty input (expected at least one sample)") }
        var mx = -Double.infinity, mn = Double.infinity
        for r in probs {
            for v in r {
                if v.isNaN { throw LatheError("the probabilities contain NaN") }
                mx = max(mx, v); mn = min(mn, v)
            }
        }
        if mx > 1 { throw LatheError("the probabilities contain values greater than 1 (max \(mx))") }
        if mn < 0 { throw LatheError("the probabilities contain values lower than 0 (min \(mn))") }
        var warns: [String] = []
        let ey = try EncodedLabels([y], names: ["y_true"])
        var classes: [LabelValue]
        if let labels {
            let col = try LabelColumn(labels, name: "labels")
            let el = try EncodedLabels([col], names: ["labels"])
            classes = el.classes
            if !zip(classes, labels).allSatisfy({ $0.matches($1) }) || classes.count != labels.count {
                warns.append("labels were given as \(labels.map { $0.quoted }) but the probability columns are taken in sorted order \(classes.map { $0.quoted })")
            }
            for c in ey.classes where !classes.contains(where: { $0.matches(c) }) {
                throw LatheError("y_true contains \(c.quoted), which is not among the labels")
            }
            if classes.count < 2 { throw LatheError("labels needs at least two labels (got \(classes.count))") }
        } else {
            classes = ey.classes
            if classes.count == 1 {
                throw LatheError("y_true contains only one label (\(classes[0].quoted)); pass all class labels with the labels option")
            }
        }
        let width = probs[0].count
        var rows = probs
        if width == 1 {
            rows = probs.map { [1 - $0[0], $0[0]] }
        }
        for (i, r) in rows.enumerated() where r.count != rows[0].count {
            throw LatheError("probability row \(i + 1) has \(r.count) values (row 1 has \(rows[0].count))")
        }
        let rtol = Double.ulpOfOne.squareRoot()
        if rows.contains(where: { abs($0.reduce(0, +) - 1) > 1e-8 + rtol }) {
            warns.append("The probabilities do not sum to one. Make sure to pass probabilities.")
        }
        if classes.count != rows[0].count {
            if labels == nil {
                throw LatheError("y_true has \(classes.count) classes but the probabilities have \(rows[0].count) columns (pass all class labels with the labels option)")
            }
            throw LatheError("labels has \(classes.count) classes but the probabilities have \(rows[0].count) columns")
        }
        let truth = ey.yTrue.map { t in classes.firstIndex { $0.matches(ey.classes[Int(t)]) } ?? 0 }
        return ProbabilityTable(classes: classes, truth: truth, rows: rows, warnings: warns)
    }

    /// Mean negative log-likelihood (natural log) of the true class, probabilities clipped to
    /// [eps, 1 - eps] with eps the float64 machine epsilon (scikit-learn's log_loss).
    public static func logLoss(_ t: ProbabilityTable) -> Double {
        let eps = Double.ulpOfOne
        var losses = [Double](repeating: 0, count: t.rows.count)
        for i in 0..<t.rows.count {
            let p = min(max(t.rows[i][t.truth[i]], eps), 1 - eps)
            losses[i] = -log(p)
        }
        return NumPy.mean(losses)
    }

    /// One bin of a reliability diagram.
    public struct CalibrationBin: Sendable {
        public var lower: Double
        public var upper: Double
        public var count: Int
        public var accuracy: Double
        public var confidence: Double
    }

    /// Expected calibration error (top-label, Guo et al. 2017): confidence = the largest class
    /// probability, prediction = its class (the first on ties); `bins` equal-width bins, bin b
    /// holding confidences in (b/bins, (b+1)/bins] (0 goes to the first bin);
    /// ECE = sum over bins of |bin|/n * |accuracy(bin) - mean confidence(bin)|.
    public static func ece(_ t: ProbabilityTable, bins: Int) throws(LatheError) -> (value: Double, bins: [CalibrationBin]) {
        if bins < 1 || bins > 100_000 { throw LatheError("bins must be from 1 to 100000 (got \(bins))") }
        // edges as np.linspace(0, 1, bins + 1)
        let step = 1.0 / Double(bins)
        var edges = (0...bins).map { Double($0) * step }
        edges[bins] = 1
        var count = [Int](repeating: 0, count: bins)
        var hit = [Double](repeating: 0, count: bins)
        var conf = [Double](repeating: 0, count: bins)
        for i in 0..<t.rows.count {
            let r = t.rows[i]
            var best = 0
            for j in 1..<r.count where r[j] > r[best] { best = j }
            let c = r[best]
            // searchsorted(edges, c, side="left") - 1
            var lo = 0, hi = edges.count
            while lo < hi { let mid = (lo + hi) / 2; if edges[mid] < c { lo = mid + 1 } else { hi = mid } }
            let b = min(max(lo - 1, 0), bins - 1)
            count[b] += 1
            conf[b] += c
            if best == t.truth[i] { hit[b] += 1 }
        }
        let n = Double(t.rows.count)
        var total = 0.0
        var out: [CalibrationBin] = []
        for b in 0..<bins {
            let k = count[b]
            let acc = k > 0 ? hit[b] / Double(k) : .nan
            let mc = k > 0 ? conf[b] / Double(k) : .nan
            if k > 0 { total += Double(k) / n * abs(acc - mc) }
            out.append(CalibrationBin(lower: edges[b], upper: edges[b + 1], count: k, accuracy: acc, confidence: mc))
        }
        return (total, out)
    }
}
