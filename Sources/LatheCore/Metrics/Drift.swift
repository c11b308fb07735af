import Foundation

/// Distribution shift between a reference dataset (e.g. the training data) and a current one
/// (e.g. this month's traffic).
public enum Drift {
    /// Population stability index of one feature, with its bins.
    public struct PSIResult: Sendable {
        public var psi: Double
        /// Bin labels: `(-inf, 1.5]`, `(1.5, 3]`, ... for numbers; the category for labels.
        public var bins: [String]
        /// Upper edges of the numeric bins (the last is +inf); empty for categories.
        public var edges: [Double]
        public var expected: [Double]
        public var actual: [Double]
    }

    /// `np.quantile(a, q)` (linear interpolation) on sorted data.
    static func quantile(sorted a: [Double], _ q: Double) -> Double {
        NumPy.percentile(sorted: a, q * 100)
    }

    /// PSI = sum over bins of (a - e) ln(a / e), with e and a the reference and current
    /// proportions, each floored at `eps`. Numeric bins are right-closed, cut at the `bins`
    /// quantiles of the reference (duplicate cut points merged), the outer bins open-ended.
    public static func psi(expected: [Double], actual: [Double], bins: Int = 10, eps: Double = 1e-4) throws(LatheError) -> PSIResult {
        if expected.isEmpty || actual.isEmpty { throw LatheError("both samples must be non-empty (got \(expected.count) and \(actual.count) values)") }
        if bins < 1 || bins > 100_000 { throw LatheError("bins must be from 1 to 100000 (got \(bins))") }
        for x in expected + actual where x.isNaN { throw LatheError("the values contain NaN") }
        let se = expected.sorted()
        var cuts: [Double] = []
        for k in 1..<max(bins, 1) {
            let q = quantile(sorted: se, Double(k) / Double(bins))
            if cuts.last != q { cuts.append(q) }
        }
        func counts(_ xs: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: cuts.count + 1)
            for x in xs {
                // searchsorted(cuts, x, side="left"): the number of cuts < x
                var lo = 0, hi = cuts.count
                while lo < hi { let m = (lo + hi) / 2; if cuts[m] < x { lo = m + 1 } else { hi = m } }
                c[lo] += 1
            }
            return c.map { $0 / Double(xs.count) }
        }
        let e = counts(expected), a = counts(actual)
        var labels: [String] = []
        var lo = "-inf"
        for c in cuts { labels.append("(\(lo), \(fmtShort(c))]"); lo = fmtShort(c) }
        labels.append("(\(lo), inf)")
        return PSIResult(psi: psiValue(e, a, eps), bins: labels, edges: cuts + [.infinity], expected: e, actual: a)
    }

    /// PSI over categories (the union of both samples' labels, sorted).
    public static func psi(expected: LabelColumn, actual: LabelColumn, eps: Double = 1e-4) throws(LatheError) -> PSIResult {
        if expected.count == 0 || actual.count == 0 { throw LatheError("both samples must be non-empty (got \(expected.count) and \(actual.count) values)") }
        let enc = try EncodedLabels([expected, actual], names: ["expected", "actual"])
        let k = enc.classes.count
        var e = [Double](repeating: 0, count: k), a = e
        for c in enc.codes[0] { e[Int(c)] += 1 }
        for c in enc.codes[1] { a[Int(c)] += 1 }
        e = e.map { $0 / Double(expected.count) }
        a = a.map { $0 / Double(actual.count) }
        return PSIResult(psi: psiValue(e, a, eps), bins: enc.classes.map { $0.description }, edges: [], expected: e, actual: a)
    }

    static func psiValue(_ e: [Double], _ a: [Double], _ eps: Double) -> Double {
        var terms = [Double](repeating: 0, count: e.count)
        for i in 0..<e.count {
            let ee = max(e[i], eps), aa = max(a[i], eps)
            terms[i] = (aa - ee) * log(aa / ee)
        }
        return NumPy.sum(terms)
    }

    static func fmtShort(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
        return String(format: "%.6g", x)
    }

    /// Jensen–Shannon distance between two distributions (SciPy's
    /// `scipy.spatial.distance.jensenshannon`): both are normalized to sum to 1; natural log
    /// unless `base` is given (base 2 bounds it by 1).
    public static func jensenShannon(_ p0: [Double], _ q0: [Double], base: Double? = nil) throws(LatheError) -> Double {
        if p0.count != q0.count { throw LatheError("the distributions have \(p0.count) and \(q0.count) entries (expected the same length)") }
        if p0.isEmpty { throw LatheError("the distributions are empty") }
        for x in p0 + q0 where x < 0 || !x.isFinite { throw LatheError("distribution entries must be finite and non-negative (got \(x))") }
        let sp = NumPy.sum(p0), sq = NumPy.sum(q0)
        if sp == 0 || sq == 0 { throw LatheError("a distribution sums to 0") }
        let p = p0.map { $0 / sp }, q = q0.map { $0 / sq }
        var left = [Double](repeating: 0, count: p.count), right = left
        for i in 0..<p.count {
            let m = (p[i] + q[i]) / 2.0
            left[i] = relEntr(p[i], m)
            right[i] = relEntr(q[i], m)
        }
        var js = NumPy.sum(left) + NumPy.sum(right)
        if let base {
            if !(base > 0 && base != 1 && base.isFinite) { throw LatheError("base must be a positive number other than 1 (got \(base))") }
            js /= log(base)
        }
        return (js / 2.0).squareRoot()
    }

    @inline(__always) static func relEntr(_ x: Double, _ y: Double) -> Double {
        if x > 0 && y > 0 { return x * log(x / y) }
        if x == 0 && y >= 0 { return 0 }
        return .infinity
    }

    /// Jensen–Shannon distance between the empirical distributions of two label samples.
    public static func jensenShannon(_ a: LabelColumn, _ b: LabelColumn, base: Double? = nil) throws(LatheError) -> Double {
        if a.count == 0 || b.count == 0 { throw LatheError("both samples must be non-empty (got \(a.count) and \(b.count) values)") }
        let d = try distributions(a, b)
        return try jensenShannon(d.p, d.q, base: base)
    }

    /// Empirical distributions of two label samples over the union of their labels (sorted).
    public static func distributions(_ a: LabelColumn, _ b: LabelColumn) throws(LatheError) -> (labels: [LabelValue], p: [Double], q: [Double]) {
        let enc = try EncodedLabels([a, b], names: ["a", "b"])
        var p = [Double](repeating: 0, count: enc.classes.count), q = p
        for c in enc.codes[0] { p[Int(c)] += 1 }
        for c in enc.codes[1] { q[Int(c)] += 1 }
        return (enc.classes, p, q)
    }

    /// Out-of-vocabulary rate of new texts against the vocabulary of reference texts (tokens
    /// are whitespace-separated; optional lowercasing).
    public struct OOVResult: Sendable {
        public var rate: Double
        public var oovTokens: Int
        public var tokens: Int
        public var vocabulary: Int
        /// The most frequent unknown tokens with their counts (most frequent first).
        public var top: [(String, Int)]
    }

    public static func oovRate(reference: [String], texts: [String], lowercase: Bool = false, top: Int = 10) throws -> OOVResult {
        let vocab = ByteInterner(capacity: 1 << 12)
        for (i, r) in reference.enumerated() {
            if i & 1023 == 0 { try Interrupt.check() }
            for t in PyText.split(lowercase ? PyText.lower(r) : r) { _ = vocab.intern(t) }
        }
        let vocabSize = vocab.count
        var unknown: [String: Int] = [:]
        var order: [String] = []
        var total = 0, oov = 0
        for (i, s) in texts.enumerated() {
            if i & 1023 == 0 { try Interrupt.check() }
            for t in PyText.split(lowercase ? PyText.lower(s) : s) {
                total += 1
                let id = vocab.intern(t)
                if Int(id) >= vocabSize {
                    oov += 1
                    if unknown[t] == nil { order.append(t) }
                    unknown[t, default: 0] += 1
                }
            }
        }
        if total == 0 { throw LatheError("the texts have no tokens (the OOV rate is undefined)") }
        let ranked = order.enumerated().sorted { l, r in
            let cl = unknown[l.element]!, cr = unknown[r.element]!
            return cl != cr ? cl > cr : l.offset < r.offset
        }.prefix(top).map { ($0.element, unknown[$0.element]!) }
        return OOVResult(rate: Double(oov) / Double(total), oovTokens: oov, tokens: total, vocabulary: vocabSize, top: Array(ranked))
    }

    /// One column of a dataset, for the drift report.
    public enum Column: Sendable {
        case numeric([Double])
        case categorical(LabelColumn)
        case text([String])

        var kind: String {
            switch self {
            case .numeric: return "numeric"
            case .categorical: return "categorical"
            case .text: return "text"
            }
        }

        /// A column's kind from its values: numbers, labels (strings, booleans) or text (strings
        /// averaging 3 or more words, or `forceText`); the current data takes the reference's
        /// kind (`like`) when its values allow.
        public init(_ name: String, _ values: [Cell], forceText: Bool = false, like: Column? = nil) throws {
            if values.isEmpty { throw LatheError("column '\(name)' has no values") }
            var numbers: [Double] = [], strings: [String] = [], bools: [Bool] = []
            for v in values {
                switch v {
                case .number(let x): numbers.append(x)
                case .integer(let x): numbers.append(Double(x))
                case .string(let x): strings.append(x)
                case .boolean(let x): bools.append(x)
                case .missing: break
                }
            }
            switch (numbers.count, strings.count, bools.count) {
            case (_, 0, 0) where !forceText:
                self = .numeric(numbers)
            case (0, _, 0):
                if case .text = like { self = .text(strings); return }
                if case .categorical = like { self = .categorical(try LabelColumn(strings.map { .string($0) })); return }
                let words = strings.reduce(0) { $0 + PyText.split($1).count }
                self = forceText || Double(words) / Double(strings.count) >= 3 ? .text(strings) : .categorical(try LabelColumn(strings.map { .string($0) }))
            case (0, 0, _):
                self = .categorical(.bools(bools))
            default:
                throw LatheError("column '\(name)' mixes numbers, strings and booleans")
            }
        }
    }

    /// Drift measures of one column.
    public struct ColumnDrift: Sendable {
        public var name: String
        public var kind: String
        public var psi: Double
        public var ks: Double?
        public var ksPValue: Double?
        public var js: Double?
        public var oov: Double?
    }

    /// Columns of a dataset by name (missing values left out) and its row count.
    public struct Dataset: Sendable {
        public var columns: [String: [Cell]]
        public var rows: Int
        public var names: [String] { columns.keys.sorted() }

        public init(columns: [String: [Cell]], rows: Int) {
            self.columns = columns.mapValues { $0.filter { $0 != .missing } }
            self.rows = rows
        }

        public init(_ table: DataTable) {
            var cols: [String: [Cell]] = [:]
            for (name, col) in zip(table.names, table.columns) { cols[name] = (0..<col.count).map { col[$0] } }
            self.init(columns: cols, rows: table.rowCount)
        }
    }

    /// The drift of every column (or of `columns`, in that order) between two datasets.
    public struct Report: Sendable {
        public var columns: [ColumnDrift]
        public var referenceRows: Int
        public var currentRows: Int
        public var text: String { Drift.table(columns, referenceRows: referenceRows, currentRows: currentRows) }
    }

    /// Compares the datasets column by column; `text` names string columns to treat as text
    /// whatever their length.
    public static func report(reference: Dataset, current: Dataset, columns: [String]? = nil, text: Set<String> = [],
                              bins: Int = 10, eps: Double = 1e-4) throws -> Report {
        var out: [ColumnDrift] = []
        for name in columns ?? reference.names {
            try Interrupt.check()
            guard let rv = reference.columns[name] else { throw LatheError("column '\(name)' is not in the reference data") }
            guard let cv = current.columns[name] else { throw LatheError("column '\(name)' is not in the current data") }
            let rc = try Column(name, rv, forceText: text.contains(name))
            out.append(try column(name, rc, try Column(name, cv, forceText: text.contains(name), like: rc), bins: bins, eps: eps))
        }
        return Report(columns: out, referenceRows: reference.rows, currentRows: current.rows)
    }

    /// Compares one column between the reference and current data: numbers get PSI and the
    /// two-sample KS test; categories PSI and the Jensen–Shannon distance (base 2); text the
    /// JS distance of token distributions, PSI over tokens and the OOV rate.
    public static func column(_ name: String, _ ref: Column, _ cur: Column, bins: Int, eps: Double) throws -> ColumnDrift {
        switch (ref, cur) {
        case (.numeric(let a), .numeric(let b)):
            let p = try psi(expected: a, actual: b, bins: bins, eps: eps)
            let k = try KolmogorovSmirnov.twoSample(a, b)
            return ColumnDrift(name: name, kind: "numeric", psi: p.psi, ks: k.statistic, ksPValue: k.pValue)
        case (.categorical(let a), .categorical(let b)):
            let p = try psi(expected: a, actual: b, eps: eps)
            let d = try distributions(a, b)
            return ColumnDrift(name: name, kind: "categorical", psi: p.psi, js: try jensenShannon(d.p, d.q, base: 2))
        case (.text(let a), .text(let b)):
            func toks(_ xs: [String]) throws -> LabelColumn { try LabelColumn(xs.flatMap(PyText.split).map { .string($0) }) }
            let ta = try toks(a), tb = try toks(b)
            if ta.count == 0 || tb.count == 0 { throw LatheError("column '\(name)' has no tokens in one of the datasets") }
            let d = try distributions(ta, tb)
            let p = try psi(expected: ta, actual: tb, eps: eps)
            let o = try oovRate(reference: a, texts: b)
            return ColumnDrift(name: name, kind: "text", psi: p.psi, js: try jensenShannon(d.p, d.q, base: 2), oov: o.rate)
        default:
            throw LatheError("column '\(name)' is \(ref.kind) in the reference data but \(cur.kind) in the current data")
        }
    }

    /// An aligned table of column drifts.
    public static func table(_ cols: [ColumnDrift], referenceRows: Int, currentRows: Int) -> String {
        var out = "DriftReport: \(cols.count) column\(cols.count == 1 ? "" : "s"), \(referenceRows) reference rows, \(currentRows) current rows\n"
        let headers = ["column", "kind", "psi", "ks", "ks_p", "js", "oov"]
        var rows: [[String]] = []
        func f(_ x: Double?) -> String { x.map { pyFixed($0, 4) } ?? "-" }
        for c in cols {
            rows.append([c.name, c.kind, f(c.psi), f(c.ks), c.ksPValue.map { String(format: "%.3g", $0) } ?? "-", f(c.js), f(c.oov)])
        }
        var widths = headers.map { PyText.length($0) }
        for r in rows { for (k, v) in r.enumerated() { widths[k] = max(widths[k], PyText.length(v)) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { k, v in k < 2 ? PyText.ljust(v, widths[k]) : PyText.rjust(v, widths[k]) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        out += line(headers) + "\n"
        for r in rows { out += line(r) + "\n" }
        out += "psi: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift"
        return out + "\n"
    }
}
