import CLua
import CLuaShim
import Foundation
import LatheCore

// MARK: - Objects

/// `metrics.report(...)`: scikit-learn's classification_report, as text and numbers.
final class ReportObject: LuaObject {
    static var luaTag: Int32 { LuaTag.metricsReport }
    let report: ClassificationReport
    init(_ r: ClassificationReport) { report = r }
}

/// `metrics.confusion(...)`: a confusion matrix with its labels.
final class ConfusionObject: LuaObject {
    static var luaTag: Int32 { LuaTag.metricsConfusion }
    let matrix: ConfusionMatrix
    init(_ m: ConfusionMatrix) { matrix = m }
}

/// `metrics.slices(...)`: a metric per group and the gap between groups.
final class SlicesObject: LuaObject {
    static var luaTag: Int32 { LuaTag.metricsSlices }
    let slices: Resampling.Slices
    init(_ s: Resampling.Slices) { slices = s }
}

/// `metrics.drift(...)`: drift measures per column.
final class DriftObject: LuaObject {
    static var luaTag: Int32 { LuaTag.metricsDrift }
    let columns: [Drift.ColumnDrift]
    let referenceRows: Int
    let currentRows: Int
    init(_ c: [Drift.ColumnDrift], _ r: Int, _ n: Int) { columns = c; referenceRows = r; currentRows = n }
    var text: String { Drift.table(columns, referenceRows: referenceRows, currentRows: currentRows) }
}

// MARK: - Reading arguments

/// Argument readers shared by every metrics function: one label reader (Lua arrays of
/// integers, strings or booleans, or tensors), numbers, texts and references.
enum MetricsArgs {
    /// Labels at argument i (a Lua array or a 1-D tensor of integers/booleans).
    static func labels(_ c: LuaCall, _ i: Int32, _ name: String) throws -> LabelColumn {
        let L = c.L
        let idx = lua_absindex(L, i)
        if let t = c.object(idx, Tensor.self) {
            return try tensorLabels(t, c.argLabel(idx, name))
        }
        guard lua_type(L, idx) == LUA_TTABLE else {
            throw c.argError(idx, name, expected: "an array of labels (integers, strings or booleans) or a tensor")
        }
        let n = c.rawLen(idx)
        var kind = 0  // 1 numbers, 2 strings, 3 booleans
        var ints: [Int] = []
        var bools: [Bool] = []
        var codes: [Int32] = []
        var values: [String] = []
        var byPointer: [UnsafeRawPointer: Int32] = [:]
        let interner = ByteInterner()
        func bad(_ k: Int, _ why: String) -> LuaError {
            LuaError("bad argument \(c.argLabel(idx, name)) (\(why), element \(k + 1) is \(c.describe(-1)))")
        }
        for k in 0..<n {
            let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            switch t {
            case LUA_TNUMBER:
                var v: Int64 = 0
                guard lp_isinteger_value(L, -1, &v) != 0 else { throw bad(k, "labels must be integers, strings or booleans") }
                if kind == 2 { throw bad(k, "labels mix strings and numbers") }
                if kind == 3 { ints = bools.map { $0 ? 1 : 0 }; bools = [] }
                kind = 1
                if ints.isEmpty { ints.reserveCapacity(n) }
                ints.append(Int(v))
            case LUA_TSTRING:
                if kind == 1 || kind == 3 { throw bad(k, "labels mix strings and \(kind == 1 ? "numbers" : "booleans")") }
                kind = 2
                if codes.isEmpty { codes.reserveCapacity(n) }
                let p = lua_topointer(L, -1)!
                if let code = byPointer[p] {
                    codes.append(code)
                } else {
                    var len = 0
                    let s = lp_tostring(L, -1, &len)!
                    let code = s.withMemoryRebound(to: UInt8.self, capacity: len) {
                        interner.intern(UnsafeBufferPointer(start: $0, count: len), 0..<len)
                    }
                    if Int(code) == values.count {
                        values.append(String(decoding: UnsafeRawBufferPointer(start: s, count: len), as: UTF8.self))
                    }
                    byPointer[p] = code
                    codes.append(code)
                }
            case LUA_TBOOLEAN:
                if kind == 2 { throw bad(k, "labels mix strings and booleans") }
                let b = lua_toboolean(L, -1) != 0
                if kind == 1 { ints.append(b ? 1 : 0) } else { kind = 3; bools.append(b) }
            default:
                throw bad(k, "labels must be integers, strings or booleans")
            }
        }
        switch kind {
        case 2: return .strings(codes: codes, values: values)
        case 3: return .bools(bools)
        default: return .ints(ints)
        }
    }

    static func tensorLabels(_ t: Tensor, _ what: String) throws -> LabelColumn {
        if t.rank > 1 && !(t.rank == 2 && t.shape[1] == 1) {
            throw LuaError("bad argument \(what) (expected a 1-D tensor of labels, got shape \(t.shapeString))")
        }
        switch t.dtype {
        case .int64:
            return .ints(try t.toInt64Array().map { Int($0) })
        case .bool:
            return .bools(try t.toInt64Array().map { $0 != 0 })
        case .float32:
            let d = t.toDoubleArray()
            var out = [Int](repeating: 0, count: d.count)
            for (k, x) in d.enumerated() {
                guard x == x.rounded(), abs(x) < 9e15 else {
                    throw LuaError("bad argument \(what) (a float32 tensor of labels must hold integers, element \(k + 1) is \(fmt(x)))")
                }
                out[k] = Int(x)
            }
            return .ints(out)
        }
    }

    /// One label value (pos_label, a label option).
    static func labelValue(_ c: LuaCall, _ idx: Int32) -> LabelValue? {
        switch lua_type(c.L, idx) {
        case LUA_TSTRING: return .string(c.string(idx) ?? "")
        case LUA_TBOOLEAN: return .bool(lua_toboolean(c.L, idx) != 0)
        case LUA_TNUMBER:
            var v: Int64 = 0
            if lp_isinteger_value(c.L, idx, &v) != 0 { return .int(Int(v)) }
            return nil
        default: return nil
        }
    }

    static func pushLabel(_ c: LuaCall, _ v: LabelValue) {
        switch v {
        case .int(let i): c.push(i)
        case .string(let s): c.push(s)
        case .bool(let b): c.push(b)
        }
    }

    static func labelLua(_ v: LabelValue) -> LuaValue {
        switch v {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        }
    }

    /// Numbers at argument i: a Lua array of numbers or a tensor (flattened).
    static func numbers(_ c: LuaCall, _ i: Int32, _ name: String, finite: Bool = true) throws -> [Double] {
        let idx = lua_absindex(c.L, i)
        var xs: [Double]
        if let t = c.object(idx, Tensor.self) {
            xs = t.toDoubleArray()
        } else if lua_type(c.L, idx) == LUA_TTABLE {
            xs = try c.numberArray(idx, name)
        } else {
            throw c.argError(idx, name, expected: "an array of numbers or a tensor")
        }
        if finite {
            for (k, x) in xs.enumerated() where !x.isFinite {
                throw LuaError("bad argument \(c.argLabel(idx, name)) (element \(k + 1) is \(x.isNaN ? "NaN" : fmt(x)); expected finite numbers)")
            }
        }
        return xs
    }

    /// Probabilities: an array of numbers (positive class), an array of rows, or a tensor [n] / [n,k].
    static func probabilities(_ c: LuaCall, _ i: Int32, _ name: String) throws -> [[Double]] {
        let L = c.L
        let idx = lua_absindex(L, i)
        if let t = c.object(idx, Tensor.self) {
            let d = t.toDoubleArray()
            if t.rank == 1 { return d.map { [$0] } }
            if t.rank == 2 {
                let k = t.shape[1]
                return (0..<t.shape[0]).map { Array(d[($0 * k)..<($0 * k + k)]) }
            }
            throw c.argError(idx, name, "expected a tensor of shape [n] or [n,k], got \(t.shapeString)")
        }
        guard lua_type(L, idx) == LUA_TTABLE else {
            throw c.argError(idx, name, expected: "an array of probabilities, an array of rows, or a tensor")
        }
        let n = c.rawLen(idx)
        if n == 0 { return [] }
        let first = lua_rawgeti(L, idx, 1)
        lp_pop(L, 1)
        if first == LUA_TTABLE {
            var rows: [[Double]] = []
            for k in 0..<n {
                let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
                defer { lp_pop(L, 1) }
                guard t == LUA_TTABLE else {
                    throw LuaError("bad argument \(c.argLabel(idx, name)) (expected an array of rows, element \(k + 1) is \(c.describe(-1)))")
                }
                do { rows.append(try c.numberArray(-1, name)) } catch {
                    throw LuaError("bad argument \(c.argLabel(idx, name)) (row \(k + 1) must be an array of numbers)")
                }
            }
            return rows
        }
        return try numbers(c, idx, name, finite: false).map { [$0] }
    }

    /// Texts at argument i (an array of strings).
    static func texts(_ c: LuaCall, _ i: Int32, _ name: String) throws -> [String] {
        let idx = lua_absindex(c.L, i)
        guard lua_type(c.L, idx) == LUA_TTABLE else { throw c.argError(idx, name, expected: "an array of strings") }
        return try c.stringArray(idx, name)
    }

    /// Per-item references: each element a string or an array of strings (several references).
    static func references(_ c: LuaCall, _ i: Int32, _ name: String) throws -> [[String]] {
        let L = c.L
        let idx = lua_absindex(L, i)
        guard lua_type(L, idx) == LUA_TTABLE else {
            throw c.argError(idx, name, expected: "an array of references (each a string or an array of strings)")
        }
        let n = c.rawLen(idx)
        var out: [[String]] = []
        out.reserveCapacity(n)
        for k in 0..<n {
            let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            if t == LUA_TSTRING {
                out.append([c.string(-1) ?? ""])
            } else if t == LUA_TTABLE {
                guard let a = try? c.stringArray(-1, name), !a.isEmpty else {
                    throw LuaError("bad argument \(c.argLabel(idx, name)) (element \(k + 1) must be a string or a non-empty array of strings)")
                }
                out.append(a)
            } else {
                throw LuaError("bad argument \(c.argLabel(idx, name)) (expected a string or an array of strings, element \(k + 1) is \(c.describe(-1)))")
            }
        }
        return out
    }

    /// sacrebleu's reference shape: `{refs1, refs2, ...}`, each stream one reference per
    /// hypothesis (`false` where a segment lacks that reference).
    static func referenceStreams(_ c: LuaCall, _ i: Int32, _ name: String, count: Int) throws -> [[String?]] {
        let L = c.L
        let idx = lua_absindex(L, i)
        guard lua_type(L, idx) == LUA_TTABLE else {
            throw c.argError(idx, name, expected: "a table of reference streams {refs1, refs2, ...}")
        }
        let n = c.rawLen(idx)
        if n == 0 { throw c.argError(idx, name, "expected at least one reference stream {refs1, ...}, got an empty table") }
        var streams: [[String?]] = []
        for s in 0..<n {
            let t = lua_rawgeti(L, idx, lua_Integer(s + 1))
            defer { lp_pop(L, 1) }
            if t == LUA_TSTRING {
                throw LuaError("bad argument \(c.argLabel(idx, name)) (expected reference streams {refs1, refs2, ...} with one reference per hypothesis; got a string: wrap your references as {refs})")
            }
            guard t == LUA_TTABLE else {
                throw LuaError("bad argument \(c.argLabel(idx, name)) (stream \(s + 1) is \(c.describe(-1)); expected an array of strings)")
            }
            let m = c.rawLen(-1)
            if m != count {
                throw LuaError("bad argument \(c.argLabel(idx, name)) (reference stream \(s + 1) has \(m) segments but there are \(count) hypotheses)")
            }
            var stream: [String?] = []
            stream.reserveCapacity(m)
            let sidx = lua_absindex(L, -1)
            for k in 0..<m {
                let tt = lua_rawgeti(L, sidx, lua_Integer(k + 1))
                defer { lp_pop(L, 1) }
                if tt == LUA_TSTRING { stream.append(c.string(-1)) } else if tt == LUA_TBOOLEAN && lua_toboolean(L, -1) == 0 { stream.append(nil) } else {
                    throw LuaError("bad argument \(c.argLabel(idx, name)) (stream \(s + 1) element \(k + 1) is \(c.describe(-1)); expected a string, or false for a missing reference)")
                }
            }
            streams.append(stream)
        }
        return streams
    }

    static func sameLength(_ c: LuaCall, _ n: Int, _ m: Int, _ i: Int32, _ name: String, _ first: String, noun: String = "values") throws {
        if n != m {
            throw c.argError(i, name, "expected \(n) \(noun) like \(first), got \(m)")
        }
    }

    static func nonEmpty(_ c: LuaCall, _ n: Int, _ i: Int32, _ name: String) throws {
        if n == 0 { throw c.argError(i, name, "expected at least one value, got an empty array") }
    }

    /// zero_division: "warn" (default), 0, 1 or "nan" (or a NaN number).
    static func zeroDivision(_ o: LuaOptions) throws -> ZeroDivision {
        let t = o.push("zero_division")
        defer { lp_pop(o.call.L, 1) }
        switch t {
        case LUA_TNIL: return .warn
        case LUA_TSTRING:
            let s = o.call.string(-1) ?? ""
            if s == "warn" { return .warn }
            if s == "nan" { return .value(.nan) }
        case LUA_TNUMBER:
            let x = lua_tonumberx(o.call.L, -1, nil)
            if x == 0 || x == 1 || x.isNaN { return .value(x) }
        default: break
        }
        throw LuaError("bad option 'zero_division' (expected \"warn\", 0, 1 or \"nan\", got \(o.call.describe(-1)))")
    }

    static func labelOption(_ o: LuaOptions, _ key: String) throws -> LabelValue? {
        let t = o.push(key)
        defer { lp_pop(o.call.L, 1) }
        if t == LUA_TNIL { return nil }
        guard let v = labelValue(o.call, -1) else {
            throw LuaError("bad option '\(key)' (expected an integer, string or boolean label, got \(o.call.describe(-1)))")
        }
        return v
    }

    static func labelsOption(_ o: LuaOptions, _ key: String = "labels") throws -> [LabelValue]? {
        let t = o.push(key)
        defer { lp_pop(o.call.L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TTABLE else { throw LuaError("bad option '\(key)' (expected an array of labels, got \(o.call.describe(-1)))") }
        let col: LabelColumn
        do { col = try labels(o.call, -1, key) } catch {
            throw LuaError("bad option '\(key)' (expected an array of labels: integers, strings or booleans)")
        }
        if col.count == 0 { throw LuaError("bad option '\(key)' (expected at least one label, got an empty array)") }
        return (0..<col.count).map { col[$0] }
    }

    static let prfOptionNames = ["average", "pos_label", "labels", "zero_division"]

    static func prfOptions(_ o: LuaOptions, average def: String = "binary") throws -> PRFOptions {
        var p = PRFOptions()
        let avg = try o.choice("average", AverageMode.allCases.map { $0.rawValue }, def)
        p.average = AverageMode(rawValue: avg) ?? .binary
        if let pl = try labelOption(o, "pos_label") { p.posLabel = pl; p.posLabelGiven = true }
        p.labels = try labelsOption(o)
        p.zeroDivision = try zeroDivision(o)
        return p
    }
}

// MARK: - Warnings

enum MetricsWarnings {
    nonisolated(unsafe) static var seen = Set<String>()

    /// Writes each warning to stderr once per session: `warning: metrics.f1: ...`.
    static func emit(_ fn: String, _ messages: [String]) {
        for m in messages {
            let line = "warning: \(fn): \(m)"
            if seen.insert(line).inserted {
                fflush(nil)
                FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
            }
        }
    }
}

// MARK: - Scorers for bootstrap, paired tests and slices

/// A metric that scores weighted rows (see `Resampling`).
struct Scorer {
    var name: String
    var rows: Int
    var score: ([Int32]) throws -> Double
}

enum MetricsScorers {
    static let classification = ["accuracy", "precision", "recall", "f1", "fbeta"]
    static let text = ["exact_match", "token_f1", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "wer", "cer"]
    static let scores = ["roc_auc", "average_precision"]
    static var names: [String] { classification + text + scores }
    static let optionNames = ["average", "pos_label", "labels", "zero_division", "beta", "stem", "lowercase"]

    /// Builds a scorer over rows = y_true paired with each prediction array in turn
    /// (one array: n rows; two arrays: 2n rows, the first system's rows first).
    static func named(_ c: LuaCall, _ name: String, yTrue: Int32, preds: [Int32], options o: LuaOptions) throws -> Scorer {
        let pname = { (k: Int) -> String in preds.count == 1 ? "y_pred" : ["pred_a", "pred_b"][k] }
        if classification.contains(name) {
            let yt = try MetricsArgs.labels(c, yTrue, "y_true")
            var cols: [LabelColumn] = []
            for (k, p) in preds.enumerated() {
                let col = try MetricsArgs.labels(c, p, pname(k))
                try MetricsArgs.sameLength(c, yt.count, col.count, p, pname(k), "y_true", noun: "labels")
                cols.append(col)
            }
            try MetricsArgs.nonEmpty(c, yt.count, yTrue, "y_true")
            let trueCol = try concat(Array(repeating: yt, count: preds.count))
            let predCol = try concat(cols)
            let enc = try EncodedLabels([trueCol, predCol])
            if name == "accuracy" {
                return Scorer(name: name, rows: enc.count) { Classification.accuracy(enc, weights: $0) }
            }
            var po = try MetricsArgs.prfOptions(o, average: "binary")
            if name == "fbeta" {
                guard let b = try o.number("beta") else { throw LuaError("metric \"fbeta\" needs the beta option") }
                po.beta = b
            }
            let plan = try PRFPlan(enc, po)
            let which = name
            return Scorer(name: name, rows: enc.count) { w in
                let r = plan.compute(plan.counts(weights: w), warnFor: [])
                return which == "precision" ? r.precision[0] : which == "recall" ? r.recall[0] : r.fscore[0]
            }
        }
        if text.contains(name) {
            let refs = try MetricsArgs.references(c, yTrue, "y_true")
            var hyps: [String] = []
            for (k, p) in preds.enumerated() {
                let h = try MetricsArgs.texts(c, p, pname(k))
                try MetricsArgs.sameLength(c, refs.count, h.count, p, pname(k), "y_true", noun: "texts")
                hyps += h
            }
            try MetricsArgs.nonEmpty(c, refs.count, yTrue, "y_true")
            let allRefs = Array(Array(repeating: refs, count: preds.count).joined())
            switch name {
            case "bleu", "chrf":
                let stats: [[Int]]
                let compute: ([Int]) -> Double
                let refRows: [[String?]] = allRefs.map { $0.map { Optional($0) } }
                if name == "bleu" {
                    var bo = BLEUOptions()
                    bo.lowercase = try o.bool("lowercase", false)
                    let b = try BLEU(bo)
                    stats = try b.segmentStatistics(hyps, refRows)
                    compute = { b.score(fromTotals: $0, nrefs: "1").score }
                } else {
                    var co = CHRFOptions()
                    co.lowercase = try o.bool("lowercase", false)
                    let ch = try CHRF(co)
                    stats = try ch.segmentStatistics(hyps, refRows)
                    compute = { ch.fScore($0) }
                }
                let width = stats.first?.count ?? 0
                return Scorer(name: name, rows: hyps.count) { w in
                    var sum = [Int](repeating: 0, count: width)
                    for (i, s) in stats.enumerated() where w[i] != 0 && s.count == width {
                        for k in 0..<width { sum[k] += Int(w[i]) * s[k] }
                    }
                    return compute(sum)
                }
            case "wer", "cer":
                var edits: [Double] = [], lens: [Double] = []
                let interner = ByteInterner()
                for (h, rs) in zip(hyps, allRefs) {
                    let split: (String) -> [Int32] = name == "wer"
                        ? { PyText.split($0).map { interner.intern($0) } }
                        : { PyText.strip($0).unicodeScalars.map { Int32(bitPattern: $0.value) } }
                    let r = split(rs[0]), p = split(h)
                    edits.append(Double(TextMetrics.editDistance(r, p)))
                    lens.append(Double(r.count))
                }
                return Scorer(name: name, rows: hyps.count) { w in
                    var e = 0.0, l = 0.0
                    for i in 0..<w.count where w[i] != 0 { e += Double(w[i]) * edits[i]; l += Double(w[i]) * lens[i] }
                    return l == 0 ? .nan : e / l
                }
            default:
                var per: [Double] = []
                per.reserveCapacity(hyps.count)
                let rouge = name.hasPrefix("rouge") ? Rouge(stem: try o.bool("stem", false)) : nil
                for (h, rs) in zip(hyps, allRefs) {
                    switch name {
                    case "exact_match": per.append(TextMetrics.exactMatch(h, rs))
                    case "token_f1": per.append(TextMetrics.tokenF1(h, rs))
                    default: per.append(try rouge!.scoreMulti(targets: rs, prediction: h, types: [name])[name]!.fmeasure)
                    }
                }
                return Scorer(name: name, rows: hyps.count) { weightedMean(per, $0) }
            }
        }
        if scores.contains(name) {
            let yt = try MetricsArgs.labels(c, yTrue, "y_true")
            var s: [Double] = []
            for (k, p) in preds.enumerated() {
                let x = try MetricsArgs.numbers(c, p, pname(k))
                try MetricsArgs.sameLength(c, yt.count, x.count, p, pname(k), "y_true", noun: "scores")
                s += x
            }
            let all = try concat(Array(repeating: yt, count: preds.count))
            let pos = try MetricsArgs.labelOption(o, "pos_label")
            let which = name
            return Scorer(name: name, rows: all.count) { w in
                var ys: [LabelValue] = [], ss: [Double] = []
                for i in 0..<w.count where w[i] > 0 {
                    for _ in 0..<Int(w[i]) { ys.append(all[i]); ss.append(s[i]) }
                }
                let col = try LabelColumn(ys)
                return which == "roc_auc" ? try Ranking.rocAUC(col, ss, posLabel: pos).value : try Ranking.averagePrecision(col, ss, posLabel: pos).value
            }
        }
        let hint = closest(name, names).map { "; did you mean \"\($0)\"?" } ?? ""
        throw LuaError("unknown metric \"\(name)\"\(hint) (expected a function or one of: \(names.joined(separator: ", ")))")
    }

    static func weightedMean(_ v: [Double], _ w: [Int32]) -> Double {
        var s = 0.0, n = 0.0
        for i in 0..<v.count where w[i] != 0 { s += Double(w[i]) * v[i]; n += Double(w[i]) }
        return n == 0 ? .nan : s / n
    }

    static func concat(_ cols: [LabelColumn]) throws -> LabelColumn {
        if cols.count == 1 { return cols[0] }
        var vals: [LabelValue] = []
        for c in cols { for i in 0..<c.count { vals.append(c[i]) } }
        return try LabelColumn(vals)
    }

    /// A Lua function metric: fn(y_true_rows, y_pred_rows) -> number, called on new arrays
    /// built from the weighted rows (a row drawn k times appears k times).
    static func function(_ c: LuaCall, fn: Int32, yTrue: Int32, preds: [Int32]) throws -> Scorer {
        let L = c.L
        let fnIdx = lua_absindex(L, fn), yt = lua_absindex(L, yTrue)
        let ps = preds.map { lua_absindex(L, $0) }
        guard lua_type(L, yt) == LUA_TTABLE else { throw c.argError(yt, "y_true", expected: "an array") }
        let n = c.rawLen(yt)
        for (k, p) in ps.enumerated() {
            let name = preds.count == 1 ? "y_pred" : ["pred_a", "pred_b"][k]
            guard lua_type(L, p) == LUA_TTABLE else { throw c.argError(p, name, expected: "an array") }
            try MetricsArgs.sameLength(c, n, c.rawLen(p), p, name, "y_true")
        }
        try MetricsArgs.nonEmpty(c, n, yt, "y_true")
        return Scorer(name: "function", rows: n * preds.count) { w in
            var result = Double.nan
            try c.callLua(fnIdx, nresults: 1) {
                try c.newTable(array: n)
                let a = lua_gettop(L)
                try c.newTable(array: n)
                let b = lua_gettop(L)
                var k: lua_Integer = 1
                for r in 0..<w.count where w[r] > 0 {
                    let sys = r / n, i = r % n
                    for _ in 0..<Int(w[r]) {
                        lua_rawgeti(L, yt, lua_Integer(i + 1)); lua_rawseti(L, a, k)
                        lua_rawgeti(L, ps[sys], lua_Integer(i + 1)); lua_rawseti(L, b, k)
                        k += 1
                    }
                }
                return 2
            }
            defer { lp_pop(L, 1) }
            guard lua_type(L, -1) == LUA_TNUMBER else {
                throw LuaError("the metric function must return a number, got \(c.describe(-1))")
            }
            result = lua_tonumberx(L, -1, nil)
            return result
        }
    }

    /// The metric argument: a name or a function.
    static func make(_ c: LuaCall, metricAt m: Int32?, name: String?, yTrue: Int32, preds: [Int32], options o: LuaOptions) throws -> Scorer {
        if let m, c.type(m) == LUA_TFUNCTION {
            return try function(c, fn: m, yTrue: yTrue, preds: preds)
        }
        if let m, c.type(m) != LUA_TSTRING {
            throw c.argError(m, "metric", expected: "a metric name or a function(y_true, y_pred)")
        }
        let n = name ?? m.flatMap { c.string($0) } ?? "accuracy"
        return try named(c, n, yTrue: yTrue, preds: preds, options: o)
    }

    static func rng(_ o: LuaOptions) throws -> RandomGenerator {
        if let s = try o.int("seed") {
            if s < 0 { throw LuaError("bad option 'seed' (expected a non-negative integer, got \(s))") }
            return RandomGenerator(seed: UInt64(s))
        }
        return RandomGenerator(seed: Runtime.rng.next())
    }
}

// MARK: - Results with a printed form

extension LuaVM {
    /// Pushes a record whose metatable prints `text` (`__tostring`) and names it `name`.
    func pushRecord(_ c: LuaCall, _ fields: [(String, LuaValue)], name: String, text: String) throws {
        try c.pushRecord(fields, name: name, text: text)
    }
}

func roundedString(_ x: Double, _ d: Int = 4) -> String { pyFixed(x, d) }

/// Drops one trailing newline (objects print without a blank line after them).
func chomp(_ s: String) -> String { s.hasSuffix("\n") ? String(s.dropLast()) : s }

// MARK: - The module

enum MetricsModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        let m = vm.module("metrics", summary: "Evaluation that matches scikit-learn, sacrebleu and rouge-score; significance tests, slices, drift, latency.",
                          details: """
            Classification metrics follow scikit-learn 1.9 (labels sorted as sklearn sorts them; where a
            score is 0/0 the result is 0 with a warning, or the zero_division option). BLEU and chrF
            follow sacrebleu 2.6.0 (13a tokenization, smoothing, its signature); ROUGE follows
            rouge-score 0.1.2 (its tokenizer, optional Porter stemming). Labels are Lua arrays of
            integers, strings or booleans, or 1-D tensors. For text metrics predictions come first
            (metrics.rouge(preds, refs)); bootstrap, paired_test and slices take (y_true, y_pred),
            where y_true holds the references.
            """)
        installClassification(vm, m)
        installScores(vm, m)
        installText(vm, m)
        installStatistics(vm, m)
        installDrift(vm, m)
        installErrorsAndBench(vm, m)
        defineClasses(vm)
    }

    // MARK: Classification

    static let labelDoc = "Labels: a Lua array of integers, strings or booleans, or a 1-D tensor (int64, bool, or float32\nholding integers)."
    static let zeroDoc = "zero_division: where a score is 0/0 (e.g. precision with no predicted positives), \"warn\"\n(default) gives 0 and prints a warning as scikit-learn does; 0, 1 or \"nan\" give that value\nsilently (with \"nan\", averages skip the undefined classes)."

    static func prf(_ vm: LuaVM, _ m: LuaModuleBuilder, _ fname: String, _ summary: String, _ which: PRFMetric) {
        let isFbeta = fname == "fbeta"
        let sig = isFbeta
            ? "metrics.fbeta(y_true, y_pred, {beta=, average=\"binary\", pos_label=1, labels=, zero_division=\"warn\"}) -> number or table"
            : "metrics.\(fname)(y_true, y_pred, {average=\"binary\", pos_label=1, labels=, zero_division=\"warn\"}) -> number or table"
        m.function(fname, Doc(summary, signature: sig, details: """
            average: "binary" (default; the score of pos_label, which defaults to 1, or true for
            boolean labels), "micro" (global counts), "macro" (unweighted mean over classes),
            "weighted" (mean weighted by support) or "none" (a table label -> score).
            labels: restrict and order the classes scored (labels absent from the data count as empty).
            \(isFbeta ? "beta: weight of recall (beta = 0 is precision, math.huge is recall).\n" : "")\(labelDoc)
            \(zeroDoc)
            """,
            returns: "a number in [0, 1], or with average = \"none\" a table mapping each label to its score",
            errors: "y_true and y_pred differ in length or are empty; labels mix strings and numbers; an unknown\naverage; average = \"binary\" with more than two classes or a pos_label that is not a label.",
            example: isFbeta
                ? "print(metrics.fbeta({0, 1, 1, 0}, {0, 1, 0, 0}, {beta = 2}))"
                : "local y_true = {\"cat\", \"dog\", \"dog\", \"bird\"}\nlocal y_pred = {\"cat\", \"dog\", \"cat\", \"bird\"}\nprint(metrics.\(fname)(y_true, y_pred, {average = \"macro\"}))\nshow(metrics.\(fname)(y_true, y_pred, {average = \"none\"}))")) { c in
            let o = try c.options(3, allowed: MetricsArgs.prfOptionNames + (isFbeta ? ["beta"] : []))
            let (enc, _) = try encodePair(c)
            var po = try MetricsArgs.prfOptions(o)
            if isFbeta {
                guard let b = try o.number("beta") else { throw c.argError(3, "options", "the beta option is required") }
                if b < 0 || b.isNaN { throw LuaError("bad option 'beta' (expected a non-negative number, got \(fmt(b)))") }
                po.beta = b
            }
            let r = try Classification.prf(enc, po, warnFor: [which == .fscore ? .fscore : which])
            MetricsWarnings.emit(c.name, r.warnings)
            let values = which == .precision ? r.precision : which == .recall ? r.recall : r.fscore
            if po.average == .none {
                try c.newTable(records: values.count)
                for (k, l) in r.labels.enumerated() {
                    MetricsArgs.pushLabel(c, l)
                    c.push(values[k])
                    try c.rawsetKeyChecked(-3)
                }
                return 1
            }
            c.push(values[0])
            return 1
        }
    }

    /// Reads y_true (1) and y_pred (2) and encodes them together.
    static func encodePair(_ c: LuaCall) throws -> (EncodedLabels, Int) {
        let yt = try MetricsArgs.labels(c, 1, "y_true")
        let yp = try MetricsArgs.labels(c, 2, "y_pred")
        try MetricsArgs.sameLength(c, yt.count, yp.count, 2, "y_pred", "y_true", noun: "labels")
        try MetricsArgs.nonEmpty(c, yt.count, 1, "y_true")
        return (try EncodedLabels([yt, yp]), yt.count)
    }

    static func installClassification(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("accuracy", Doc(
            "Fraction of predictions equal to the true labels (scikit-learn's accuracy_score).",
            signature: "metrics.accuracy(y_true, y_pred) -> number",
            details: labelDoc,
            returns: "a number in [0, 1]",
            errors: "y_true and y_pred differ in length or are empty; labels mix strings and numbers.",
            example: "print(metrics.accuracy({1, 0, 1, 1}, {1, 1, 1, 0}))  --> 0.5")) { c in
            let (enc, _) = try encodePair(c)
            c.push(Classification.accuracy(enc))
            return 1
        }
        prf(vm, m, "precision", "Precision: of the items predicted as a class, the fraction that truly are (scikit-learn's precision_score).", .precision)
        prf(vm, m, "recall", "Recall: of the items of a class, the fraction predicted as it (scikit-learn's recall_score).", .recall)
        prf(vm, m, "f1", "F1: the harmonic mean of precision and recall (scikit-learn's f1_score).", .fscore)
        prf(vm, m, "fbeta", "F-beta: precision and recall combined with recall weighted beta times (scikit-learn's fbeta_score).", .fscore)

        m.function("confusion", Doc(
            "The confusion matrix: rows are true labels, columns predicted labels, both in sorted label order.",
            signature: "metrics.confusion(y_true, y_pred, {labels=, normalize=}) -> ConfusionMatrix",
            details: "Labels are ordered as scikit-learn orders them (sorted union of y_true and y_pred), or as\ngiven by the labels option (rows whose labels are not listed are left out).\nnormalize: \"true\" (rows sum to 1), \"pred\" (columns sum to 1) or \"all\".\nThe object prints as an aligned table; cm.labels, cm.matrix (counts), cm.normalized and\ncm:get(true_label, predicted_label) give the numbers.\n\(labelDoc)",
            returns: "a ConfusionMatrix",
            errors: "length mismatch or empty input; none of the given labels occurs in y_true; a bad normalize.",
            example: "local cm = metrics.confusion({\"cat\", \"dog\", \"dog\"}, {\"cat\", \"cat\", \"dog\"})\nprint(cm)\nprint(cm:get(\"dog\", \"cat\"), cm.matrix[2][1])")) { c in
            let o = try c.options(3, allowed: ["labels", "normalize"])
            let (enc, _) = try encodePair(c)
            let normalize = try o.string("normalize")
            if let n = normalize, !["true", "pred", "all"].contains(n) {
                throw LuaError("bad option 'normalize' (expected \"true\", \"pred\" or \"all\", got \"\(n)\")")
            }
            c.push(ConfusionObject(try Classification.confusion(enc, labels: try MetricsArgs.labelsOption(o), normalize: normalize)))
            return 1
        }

        m.function("report", Doc(
            "Per-class precision, recall, F1 and support, laid out exactly like scikit-learn's classification_report.",
            signature: "metrics.report(y_true, y_pred, {labels=, target_names=, digits=2, zero_division=\"warn\"}) -> Report",
            details: """
                print(r) shows the text scikit-learn prints (same columns and rounding; the accuracy row, or
                "micro avg" when labels leaves classes out; macro and weighted averages). The numbers are
                fields: r.accuracy, r.labels, r.classes[label] = {precision=, recall=, f1=, support=},
                r.macro, r.weighted (and r.micro), r.text.
                One difference: when no prediction is right, scikit-learn 1.9 prints supports as floats
                ("3.0"); Lathe prints integers.
                \(labelDoc)
                \(zeroDoc)
                """,
            returns: "a Report",
            errors: "length mismatch or empty input; target_names of the wrong length; a bad digits.",
            example: "local r = metrics.report({\"cat\", \"dog\", \"dog\", \"bird\"}, {\"cat\", \"dog\", \"cat\", \"bird\"})\nprint(r)\nprint(r.accuracy, r.classes.dog.recall)")) { c in
            let o = try c.options(3, allowed: ["labels", "target_names", "digits", "zero_division"])
            let (enc, _) = try encodePair(c)
            let digits = try o.int("digits", 2)
            if digits < 0 || digits > 15 { throw LuaError("bad option 'digits' (expected an integer from 0 to 15, got \(digits))") }
            let names = try o.stringArray("target_names")
            let r = try Classification.report(enc, labels: try MetricsArgs.labelsOption(o), targetNames: names,
                                              digits: digits, zeroDivision: try MetricsArgs.zeroDivision(o))
            MetricsWarnings.emit(c.name, r.warnings)
            c.push(ReportObject(r))
            return 1
        }
    }

    // MARK: Scores and probabilities

    static func installScores(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("roc_auc", Doc(
            "Area under the ROC curve for binary labels and scores (scikit-learn's roc_auc_score).",
            signature: "metrics.roc_auc(y_true, scores, {pos_label=}) -> number",
            details: "Ties in scores count half, as in scikit-learn. The positive class is the larger label (1,\ntrue, or the later string) unless pos_label says otherwise. With one class in y_true the area\nis undefined: the result is NaN with a warning, as scikit-learn does.\n\(labelDoc)",
            returns: "a number in [0, 1] (NaN when y_true has one class)",
            errors: "length mismatch or empty input; NaN or infinite scores; more than two classes; a pos_label\nthat is not a label.",
            example: "print(metrics.roc_auc({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}))  --> 0.75")) { c in
            let o = try c.options(3, allowed: ["pos_label"])
            let y = try MetricsArgs.labels(c, 1, "y_true")
            let s = try MetricsArgs.numbers(c, 2, "scores")
            try MetricsArgs.sameLength(c, y.count, s.count, 2, "scores", "y_true")
            try MetricsArgs.nonEmpty(c, y.count, 1, "y_true")
            let (v, w) = try Ranking.rocAUC(y, s, posLabel: try MetricsArgs.labelOption(o, "pos_label"))
            MetricsWarnings.emit(c.name, w)
            c.push(v)
            return 1
        }
        m.function("average_precision", Doc(
            "Average precision: the step-wise area under the precision-recall curve (scikit-learn's average_precision_score).",
            signature: "metrics.average_precision(y_true, scores, {pos_label=1}) -> number",
            details: "pos_label defaults to 1 (true for boolean labels); string labels need it. With no positive in\ny_true, recall is taken as 1 everywhere and a warning is printed, as scikit-learn does.\n\(labelDoc)",
            returns: "a number in [0, 1]",
            errors: "length mismatch or empty input; NaN scores; more than two classes; pos_label not a label.",
            example: "print(metrics.average_precision({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}))")) { c in
            let o = try c.options(3, allowed: ["pos_label"])
            let y = try MetricsArgs.labels(c, 1, "y_true")
            let s = try MetricsArgs.numbers(c, 2, "scores")
            try MetricsArgs.sameLength(c, y.count, s.count, 2, "scores", "y_true")
            try MetricsArgs.nonEmpty(c, y.count, 1, "y_true")
            let (v, w) = try Ranking.averagePrecision(y, s, posLabel: try MetricsArgs.labelOption(o, "pos_label"))
            MetricsWarnings.emit(c.name, w)
            c.push(v)
            return 1
        }
        let probDoc = "probs: one probability per sample (of the positive, larger class), or one row per sample with a\ncolumn per class in sorted label order (a Lua array of rows or a tensor [n, k]).\nlabels: all class labels, when y_true does not contain every class."
        m.function("log_loss", Doc(
            "Log loss (cross-entropy) of predicted probabilities, natural log (scikit-learn's log_loss).",
            signature: "metrics.log_loss(y_true, probs, {labels=}) -> number",
            details: "\(probDoc)\nProbabilities are clipped to [eps, 1 - eps] with eps = 2.22e-16 (float64 machine epsilon,\nas scikit-learn does for float64 input); rows that do not sum to 1 give a warning.",
            returns: "the mean negative log-likelihood of the true classes (nats)",
            errors: "length mismatch or empty input; probabilities below 0, above 1 or NaN; a column count that\ndoes not match the classes; a single class in y_true without labels.",
            example: "print(metrics.log_loss({0, 1, 1}, {0.1, 0.9, 0.6}))\nprint(metrics.log_loss({\"a\", \"b\", \"c\"}, {{0.8, 0.1, 0.1}, {0.2, 0.7, 0.1}, {0.1, 0.1, 0.8}}))")) { c in
            let o = try c.options(3, allowed: ["labels"])
            let t = try probabilityTable(c, o)
            MetricsWarnings.emit(c.name, t.warnings)
            c.push(Ranking.logLoss(t))
            return 1
        }
        m.function("ece", Doc(
            "Expected calibration error: how far predicted confidence is from accuracy, over equal-width bins.",
            signature: "metrics.ece(y_true, probs, {bins=10, labels=}) -> number, bins",
            details: "Top-label ECE (Guo et al., 2017): each sample's confidence is its largest class probability and\nits prediction that class (the first on ties; for one probability p per sample, the positive\nclass when p > 0.5). Bin b of `bins` equal-width bins holds confidences in (b/bins, (b+1)/bins]\n(0 goes to the first). ECE = sum over bins of |bin|/n * |accuracy(bin) - mean confidence(bin)|.\nscikit-learn has no ECE; Lathe's is tested against a NumPy implementation of this definition.\n\(probDoc)",
            returns: "the ECE in [0, 1], and a table of bins {lower=, upper=, count=, accuracy=, confidence=}",
            errors: "as log_loss; bins < 1.",
            example: "local e, bins = metrics.ece({0, 1, 1, 0}, {0.2, 0.9, 0.6, 0.7}, {bins = 5})\nprint(e, #bins, bins[5].count)")) { c in
            let o = try c.options(3, allowed: ["labels", "bins"])
            let t = try probabilityTable(c, o)
            MetricsWarnings.emit(c.name, t.warnings)
            let (v, bins) = try Ranking.ece(t, bins: try o.int("bins", 10))
            c.push(v)
            try c.push(.array(bins.map { b in
                .record([("lower", .number(b.lower)), ("upper", .number(b.upper)), ("count", .int(b.count)),
                         ("accuracy", .number(b.accuracy)), ("confidence", .number(b.confidence))])
            }))
            return 2
        }
    }

    static func probabilityTable(_ c: LuaCall, _ o: LuaOptions) throws -> Ranking.ProbabilityTable {
        let y = try MetricsArgs.labels(c, 1, "y_true")
        let p = try MetricsArgs.probabilities(c, 2, "probs")
        try MetricsArgs.sameLength(c, y.count, p.count, 2, "probs", "y_true", noun: "rows")
        try MetricsArgs.nonEmpty(c, y.count, 1, "y_true")
        return try Ranking.probabilityTable(y, p, labels: try MetricsArgs.labelsOption(o))
    }

    // MARK: Text

    static func pushBLEU(_ vm: LuaVM, _ c: LuaCall, _ s: BLEUScore) throws {
        func nums(_ xs: [Double]) -> LuaValue { .array(xs.map { $0 == $0.rounded() && abs($0) < 1e15 ? .int(Int($0)) : .number($0) }) }
        try vm.pushRecord(c, [
            ("score", .number(s.score)), ("bp", .number(s.bp)), ("precisions", .numbers(s.precisions)),
            ("counts", nums(s.counts)), ("totals", nums(s.totals)), ("sys_len", .int(s.sysLen)),
            ("ref_len", .int(s.refLen)), ("ratio", .number(s.ratio)), ("signature", .string(s.signature)),
        ], name: "BLEUScore", text: s.text)
    }

    static func bleuOptions(_ o: LuaOptions, sentence: Bool) throws -> BLEUOptions {
        var b = BLEUOptions()
        b.lowercase = try o.bool("lowercase", false)
        b.tokenize = try o.choice("tokenize", BLEUOptions.tokenizers, "13a")
        b.smoothMethod = try o.choice("smooth_method", ["exp", "floor", "add-k", "none"], "exp")
        b.smoothValue = try o.number("smooth_value")
        b.maxNgramOrder = try o.int("max_ngram_order", 4)
        if b.maxNgramOrder < 1 || b.maxNgramOrder > 16 {
            throw LuaError("bad option 'max_ngram_order' (expected an integer from 1 to 16, got \(b.maxNgramOrder))")
        }
        b.effectiveOrder = try o.bool("effective_order", sentence)
        b.force = try o.bool("force", false)
        return b
    }

    static let bleuOptionNames = ["lowercase", "tokenize", "smooth_method", "smooth_value", "max_ngram_order", "effective_order", "force"]

    static func chrfOptions(_ o: LuaOptions) throws -> CHRFOptions {
        var co = CHRFOptions()
        co.charOrder = try o.int("char_order", 6)
        co.wordOrder = try o.int("word_order", 0)
        co.beta = try o.number("beta", 2)
        if !(co.beta >= 0) || !co.beta.isFinite { throw LuaError("bad option 'beta' (expected a non-negative number, got \(fmt(co.beta)))") }
        co.lowercase = try o.bool("lowercase", false)
        co.whitespace = try o.bool("whitespace", false)
        co.epsSmoothing = try o.bool("eps_smoothing", false)
        return co
    }

    static let chrfOptionNames = ["char_order", "word_order", "beta", "lowercase", "whitespace", "eps_smoothing"]

    /// Predictions at 1 (array, or one string) and references at 2 (per item: a string or an
    /// array of strings; with one prediction string, a string or an array of references).
    static func predsAndRefs(_ c: LuaCall) throws -> (preds: [String], refs: [[String]], single: Bool) {
        if c.type(1) == LUA_TSTRING {
            let p = c.string(1) ?? ""
            if c.type(2) == LUA_TSTRING { return ([p], [[c.string(2) ?? ""]], true) }
            guard c.type(2) == LUA_TTABLE, let rs = try? c.stringArray(2, "refs"), !rs.isEmpty else {
                throw c.argError(2, "refs", expected: "a reference string or an array of reference strings (for one prediction)")
            }
            return ([p], [rs], true)
        }
        let preds = try MetricsArgs.texts(c, 1, "preds")
        let refs = try MetricsArgs.references(c, 2, "refs")
        try MetricsArgs.sameLength(c, preds.count, refs.count, 2, "refs", "preds", noun: "references")
        try MetricsArgs.nonEmpty(c, preds.count, 1, "preds")
        return (preds, refs, false)
    }

    static func installText(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        let squadDoc = "Answers are normalized as the SQuAD v1.1 script does: lowercased, ASCII punctuation removed, the\nwords a/an/the removed, whitespace collapsed. With several references per prediction the best\none counts. The result is the mean over predictions, in [0, 1] (the SQuAD script prints it\ntimes 100)."
        m.function("exact_match", Doc(
            "Exact match after SQuAD answer normalization, averaged over predictions.",
            signature: "metrics.exact_match(preds, refs) -> number",
            details: "preds: an array of strings (or one string); refs: per prediction a string or an array of\nacceptable answers.\n\(squadDoc)",
            returns: "the fraction of predictions that match a reference",
            errors: "preds and refs differ in length or are empty; non-string elements.",
            example: "print(metrics.exact_match({\"The Eiffel Tower\", \"Paris\"}, {\"eiffel tower\", {\"Lyon\", \"Marseille\"}}))  --> 0.5")) { c in
            let (p, r, _) = try predsAndRefs(c)
            var s = [Double](repeating: 0, count: p.count)
            for i in 0..<p.count { s[i] = TextMetrics.exactMatch(p[i], r[i]) }
            c.push(NumPy.mean(s))
            return 1
        }
        m.function("token_f1", Doc(
            "Token-overlap F1 after SQuAD answer normalization, averaged over predictions.",
            signature: "metrics.token_f1(preds, refs) -> number",
            details: "\(squadDoc)\nAs in SQuAD v1.1, a pair with no common token scores 0 (also when both are empty).",
            returns: "the mean token F1 in [0, 1]",
            errors: "preds and refs differ in length or are empty; non-string elements.",
            example: "print(metrics.token_f1({\"the big red barn\"}, {\"a red barn\"}))")) { c in
            let (p, r, _) = try predsAndRefs(c)
            var s = [Double](repeating: 0, count: p.count)
            for i in 0..<p.count { s[i] = TextMetrics.tokenF1(p[i], r[i]) }
            c.push(NumPy.mean(s))
            return 1
        }

        let bleuDetails = """
            Exactly sacrebleu 2.6.0's BLEU: 13a tokenization (tokenize = "none" or "char" as alternatives),
            clipped n-gram counts up to max_ngram_order (4) against all references, brevity penalty with
            the closest reference length, smoothing "exp" (default), "floor" (smooth_value 0.1), "add-k"
            (smooth_value 1) or "none". Scores are 0-100 like sacrebleu's. The result prints as sacrebleu
            prints it; r.signature is its reproducibility string.
            """
        m.function("bleu", Doc(
            "Corpus BLEU exactly as sacrebleu computes it by default (with its signature).",
            signature: "metrics.bleu(hyps, {refs1, refs2, ...}, {lowercase=false, tokenize=\"13a\", smooth_method=\"exp\", smooth_value=, max_ngram_order=4, effective_order=false, force=false}) -> table",
            details: "\(bleuDetails)\nThe references have sacrebleu's shape: a list of reference streams, each with one reference per\nhypothesis; false marks a missing reference (a variable number of references).",
            returns: "{score=, bp=, precisions=, counts=, totals=, sys_len=, ref_len=, ratio=, signature=}",
            errors: "hyps is empty or not strings; a stream of the wrong length; an unknown tokenizer or smoothing.",
            example: "local r = metrics.bleu({\"the cat sat on the mat\", \"a dog barked\"},\n  {{\"the cat sat on the mat\", \"the dog barked loudly\"}})\nprint(r)\nprint(r.score, r.bp, r.signature)")) { c in
            let o = try c.options(3, allowed: bleuOptionNames)
            if c.type(1) == LUA_TSTRING {
                throw c.argError(1, "hyps", "expected an array of hypotheses, got a string; use metrics.sentence_bleu(hyp, {ref, ...}) for one sentence")
            }
            let hyps = try MetricsArgs.texts(c, 1, "hyps")
            try MetricsArgs.nonEmpty(c, hyps.count, 1, "hyps")
            let refs = try MetricsArgs.referenceStreams(c, 2, "refs", count: hyps.count)
            let b = try BLEU(try bleuOptions(o, sentence: false))
            let s = try b.corpus(hyps, refs)
            MetricsWarnings.emit(c.name, s.warnings)
            try pushBLEU(vm, c, s)
            return 1
        }
        m.function("sentence_bleu", Doc(
            "BLEU of one hypothesis against its references, as sacrebleu.sentence_bleu computes it.",
            signature: "metrics.sentence_bleu(hyp, {ref1, ref2, ...}, {effective_order=true, ...}) -> table",
            details: "\(bleuDetails)\nAs in sacrebleu.sentence_bleu, effective_order defaults to true. Options as metrics.bleu.",
            returns: "{score=, bp=, precisions=, counts=, totals=, sys_len=, ref_len=, ratio=, signature=}",
            errors: "hyp is not a string; refs is not a non-empty array of strings.",
            example: "print(metrics.sentence_bleu(\"the cat sat on the mat\", {\"the cat is on the mat\"}).score)")) { c in
            let o = try c.options(3, allowed: bleuOptionNames)
            let hyp = try c.checkString(1, "hyp")
            if c.type(2) == LUA_TSTRING { throw c.argError(2, "refs", "expected an array of reference strings, got a string; wrap it as {ref}") }
            let refs = try MetricsArgs.texts(c, 2, "refs")
            try MetricsArgs.nonEmpty(c, refs.count, 2, "refs")
            try pushBLEU(vm, c, try BLEU(try bleuOptions(o, sentence: true)).sentence(hyp, refs))
            return 1
        }
        let chrfDetails = "Exactly sacrebleu 2.6.0's chrF: character n-grams up to char_order (6) with whitespace removed\n(whitespace = true keeps it), word n-grams up to word_order (0; 2 gives chrF++), F-beta with\nbeta = 2, averaged over orders that occur (eps_smoothing = true uses chrF++.py's smoothing).\nScores are 0-100; the result prints as sacrebleu prints it."
        m.function("chrf", Doc(
            "Corpus chrF (or chrF++) exactly as sacrebleu computes it.",
            signature: "metrics.chrf(hyps, {refs1, ...}, {char_order=6, word_order=0, beta=2, lowercase=false, whitespace=false, eps_smoothing=false}) -> table",
            details: "\(chrfDetails)\nReferences have sacrebleu's shape, as in metrics.bleu.",
            returns: "{score=, name=, signature=}",
            errors: "as metrics.bleu; negative orders.",
            example: "local r = metrics.chrf({\"the cat sat on the mat\"}, {{\"the cat is on the mat\"}}, {word_order = 2})\nprint(r)")) { c in
            let o = try c.options(3, allowed: chrfOptionNames)
            if c.type(1) == LUA_TSTRING {
                throw c.argError(1, "hyps", "expected an array of hypotheses, got a string; use metrics.sentence_chrf(hyp, {ref, ...}) for one sentence")
            }
            let hyps = try MetricsArgs.texts(c, 1, "hyps")
            try MetricsArgs.nonEmpty(c, hyps.count, 1, "hyps")
            let refs = try MetricsArgs.referenceStreams(c, 2, "refs", count: hyps.count)
            let s = try CHRF(try chrfOptions(o)).corpus(hyps, refs)
            try vm.pushRecord(c, [("score", .number(s.score)), ("name", .string(s.name)), ("signature", .string(s.signature))],
                          name: "CHRFScore", text: s.text)
            return 1
        }
        m.function("sentence_chrf", Doc(
            "chrF of one hypothesis against its references (sacrebleu.sentence_chrf).",
            signature: "metrics.sentence_chrf(hyp, {ref1, ...}, {word_order=0, ...}) -> table",
            details: chrfDetails,
            returns: "{score=, name=, signature=}",
            errors: "hyp is not a string; refs is not a non-empty array of strings.",
            example: "print(metrics.sentence_chrf(\"the cat sat\", {\"the cat is here\"}).score)")) { c in
            let o = try c.options(3, allowed: chrfOptionNames)
            let hyp = try c.checkString(1, "hyp")
            if c.type(2) == LUA_TSTRING { throw c.argError(2, "refs", "expected an array of reference strings, got a string; wrap it as {ref}") }
            let refs = try MetricsArgs.texts(c, 2, "refs")
            try MetricsArgs.nonEmpty(c, refs.count, 2, "refs")
            let s = try CHRF(try chrfOptions(o)).sentence(hyp, refs)
            try vm.pushRecord(c, [("score", .number(s.score)), ("name", .string(s.name)), ("signature", .string(s.signature))],
                          name: "CHRFScore", text: s.text)
            return 1
        }

        m.function("rouge", Doc(
            "ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum exactly as Google's rouge-score computes them.",
            signature: "metrics.rouge(preds, refs, {stem=false, types={\"rouge1\", \"rouge2\", \"rougeL\", \"rougeLsum\"}, per_item=false}) -> table",
            details: """
                rouge-score 0.1.2's tokenizer: lowercase, every character outside a-z and 0-9 becomes a space;
                with stem = true, tokens longer than 3 characters are Porter-stemmed (NLTK's stemmer).
                ROUGE-Lsum splits texts into sentences at newlines ("\\n"). Each pair gets precision, recall
                and F; with several references per prediction the best F wins (rouge-score's score_multi).
                The corpus result is the mean of the per-pair values (0-1). per_item = true adds items, the
                per-pair scores. One prediction string and one reference string score that pair.
                """,
            returns: "{rouge1 = {precision=, recall=, fmeasure=}, rouge2 = ..., rougeL = ..., rougeLsum = ...}",
            errors: "preds and refs differ in length or are empty; an unknown ROUGE type.",
            example: "local r = metrics.rouge({\"the cat sat on the mat\"}, {\"the cat is on the mat\"}, {stem = true})\nprint(r.rouge1.fmeasure, r.rougeL.recall)")) { c in
            let o = try c.options(3, allowed: ["stem", "types", "per_item"])
            let (p, r, single) = try predsAndRefs(c)
            let types = try o.stringArray("types") ?? Rouge.types
            for t in types where !Rouge.types.contains(t) {
                let hint = closest(t, Rouge.types).map { "; did you mean \"\($0)\"?" } ?? ""
                throw LuaError("bad option 'types' (unknown ROUGE type \"\(t)\"\(hint); expected rouge1, rouge2, rougeL or rougeLsum)")
            }
            let rouge = Rouge(stem: try o.bool("stem", false))
            let (mean, items) = try rouge.corpus(predictions: p, references: r, types: types)
            func rec(_ d: [String: RougeScore]) -> LuaValue {
                .record(types.map { t in
                    let s = d[t]!
                    return (t, .record([("precision", .number(s.precision)), ("recall", .number(s.recall)), ("fmeasure", .number(s.fmeasure))]))
                })
            }
            var fields: [(String, LuaValue)]
            if case .record(let f) = rec(mean) { fields = f } else { fields = [] }
            if try o.bool("per_item", false) && !single { fields.append(("items", .array(items.map(rec)))) }
            try c.push(.record(fields))
            return 1
        }

        let erDetails = "Edit distance (substitutions, insertions, deletions) summed over pairs, divided by the total\nreference length: the corpus rate jiwer computes. The second result has edits, the reference\nlength and per-item rates."
        m.function("wer", Doc(
            "Word error rate of predictions against references.",
            signature: "metrics.wer(preds, refs) -> number, details",
            details: "Words are separated by whitespace. \(erDetails)",
            returns: "the WER (can exceed 1), and {edits=, words=, items={...}}",
            errors: "length mismatch or empty input; every reference empty.",
            example: "local wer, details = metrics.wer({\"the cat sat\"}, {\"the cat sat down\"})\nprint(wer)  --> 0.25\nprint(details.edits, details.words)  --> 1  4")) { c in
            let (p, r, _) = try predsAndRefs(c)
            let e = try TextMetrics.wer(predictions: p, references: r.map { $0[0] })
            c.push(e.rate)
            try c.push(.record([("edits", .int(e.edits)), ("words", .int(e.referenceLength)), ("items", .numbers(e.items))]))
            return 2
        }
        m.function("cer", Doc(
            "Character error rate of predictions against references.",
            signature: "metrics.cer(preds, refs) -> number, details",
            details: "Characters are Unicode code points of each text with leading and trailing whitespace removed\n(as jiwer's default). \(erDetails)",
            returns: "the CER, and {edits=, chars=, items={...}}",
            errors: "length mismatch or empty input; every reference empty.",
            example: "print(metrics.cer({\"kitten\"}, {\"sitting\"}))")) { c in
            let (p, r, _) = try predsAndRefs(c)
            let e = try TextMetrics.cer(predictions: p, references: r.map { $0[0] })
            c.push(e.rate)
            try c.push(.record([("edits", .int(e.edits)), ("chars", .int(e.referenceLength)), ("items", .numbers(e.items))]))
            return 2
        }
        m.function("perplexity", Doc(
            "Perplexity from a model's loss: exp of the mean negative log-likelihood per token.",
            signature: "metrics.perplexity(loss_or_losses, {tokens=}) -> number",
            details: "Losses are mean cross-entropies in nats (natural log), as training loops report them. One number\ngives exp(loss); an array (or tensor) of per-batch mean losses gives exp of their mean, each\nweighted by its token count when tokens = {n1, n2, ...} is given.",
            returns: "the perplexity (>= 1 for non-negative losses)",
            errors: "no losses; NaN or infinite losses; tokens of another length, negative or summing to 0.",
            example: "print(metrics.perplexity(2.0))\nprint(metrics.perplexity({2.1, 1.9}, {tokens = {100, 300}}))")) { c in
            let o = try c.options(2, allowed: ["tokens"])
            let losses: [Double]
            if c.type(1) == LUA_TNUMBER {
                losses = [try c.checkNumber(1, "loss")]
            } else {
                losses = try MetricsArgs.numbers(c, 1, "losses", finite: false)
            }
            let tokens = try o.numberArray("tokens")
            if c.type(1) == LUA_TNUMBER && tokens != nil && tokens!.count != 1 {
                throw LuaError("bad option 'tokens' (expected one token count per loss: 1, got \(tokens!.count))")
            }
            c.push(try TextMetrics.perplexity(losses: losses, tokens: tokens))
            return 1
        }
    }

    // MARK: Bootstrap, paired tests, slices

    static func installStatistics(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        let metricDoc = """
            metric: a name — "accuracy", "precision", "recall", "f1", "fbeta" (with average, pos_label,
            labels, zero_division, beta options), "exact_match", "token_f1", "bleu", "chrf", "rouge1",
            "rouge2", "rougeL", "rougeLsum" (F; stem option), "wer", "cer", "roc_auc",
            "average_precision" (y_pred holds scores) — or a function(y_true, y_pred) returning a number,
            called with new arrays of the resampled rows. For text metrics y_true holds the references
            (a string or an array of strings per item) and y_pred the predictions. Corpus metrics (BLEU,
            F1, WER) are recomputed from the resampled items' statistics, not averaged per item.
            """
        let optNames = ["n", "ci", "seed"] + MetricsScorers.optionNames
        m.function("bootstrap", Doc(
            "Bootstrap confidence interval for any metric.",
            signature: "metrics.bootstrap(metric, y_true, y_pred, {n=1000, ci=0.95, seed=, ...metric options}) -> table",
            details: "Resamples the items with replacement n times and reports the (1-ci)/2 and (1+ci)/2\npercentiles (linear interpolation, as numpy.percentile) of the resampled scores.\n\(metricDoc)\nRandom draws come from lathe.seed's generator, or from seed when given.",
            returns: "{score= (on all items), low=, high=, mean=, std=, ci=, n=, metric=} (prints as one line)",
            errors: "an unknown metric; length mismatch or empty input; n < 1; ci outside (0, 1); errors of the metric.",
            example: "local y = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1}\nlocal p = {1, 0, 1, 0, 0, 1, 1, 0, 1, 1}\nlocal r = metrics.bootstrap(\"accuracy\", y, p, {n = 200, seed = 1})\nprint(r)\nprint(r.low <= r.score and r.score <= r.high)")) { c in
            let o = try c.options(4, allowed: optNames)
            let scorer = try MetricsScorers.make(c, metricAt: 1, name: nil, yTrue: 2, preds: [3], options: o)
            let n = try o.int("n", 1000)
            let ci = try o.number("ci", 0.95)
            if n < 1 { throw LuaError("bad option 'n' (expected a positive integer, got \(n))") }
            if !(ci > 0 && ci < 1) { throw LuaError("bad option 'ci' (expected a number between 0 and 1, got \(fmt(ci)))") }
            var rng = try MetricsScorers.rng(o)
            let bar = ProgressBar("bootstrap", total: n)
            let r = try Resampling.bootstrap(items: scorer.rows, samples: n, ci: ci, rng: &rng, progress: { bar.update($0) }, score: scorer.score)
            bar.finish()
            let text = "\(scorer.name) = \(roundedString(r.score)) (\(Int((ci * 100).rounded()))% CI \(roundedString(r.low)) to \(roundedString(r.high)), \(n) bootstrap resamples)"
            try vm.pushRecord(c, [("metric", .string(scorer.name)), ("score", .number(r.score)), ("low", .number(r.low)),
                              ("high", .number(r.high)), ("mean", .number(r.mean)), ("std", .number(r.std)),
                              ("ci", .number(ci)), ("n", .int(n)), ("undefined", .int(r.undefined))],
                          name: "Bootstrap", text: text)
            return 1
        }
        m.function("paired_test", Doc(
            "Is system B better than system A on the same items? Paired bootstrap or approximate randomization, with a p-value.",
            signature: "metrics.paired_test(y_true, pred_a, pred_b, {metric=\"accuracy\", method=\"bootstrap\", alternative=\"two-sided\", n=1000, ci=0.95, seed=, ...metric options}) -> table",
            details: """
                delta = metric(B) - metric(A). method = "bootstrap" (paired bootstrap: resample items, the
                same draw for both systems; p counts resamples with |delta* - delta| >= |delta|) or
                "permutation" (approximate randomization: swap A's and B's output of each item with
                probability 1/2; p counts shuffles with |delta'| >= |delta|). alternative = "greater" tests
                "B is better" (one-sided), "less" "B is worse". p = (count + 1) / (n + 1), so identical
                systems give p = 1; small p (e.g. < 0.05) means the difference is unlikely to be chance.
                The bootstrap also gives a ci interval for delta.
                \(metricDoc)
                """,
            returns: "{metric=, a=, b=, delta=, p_value=, method=, alternative=, n=, low=, high=} (prints as one line)",
            errors: "an unknown metric, method or alternative; length mismatch or empty input; n < 1.",
            example: "local y = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1}\nlocal a = {0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0}\nlocal b = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0}\nlocal t = metrics.paired_test(y, a, b, {metric = \"accuracy\", n = 500, seed = 7})\nprint(t)\nprint(t.delta > 0, t.p_value < 0.05)")) { c in
            let o = try c.options(4, allowed: ["metric", "method", "alternative", "n", "ci", "seed"] + MetricsScorers.optionNames)
            let scorer: Scorer
            if o.isFunction("metric") {
                o.push("metric")
                let fi = lua_gettop(c.L)
                scorer = try MetricsScorers.make(c, metricAt: fi, name: nil, yTrue: 1, preds: [2, 3], options: o)
            } else {
                scorer = try MetricsScorers.make(c, metricAt: nil, name: try o.string("metric", "accuracy"), yTrue: 1, preds: [2, 3], options: o)
            }
            let method = Resampling.Method(rawValue: try o.choice("method", ["bootstrap", "permutation"], "bootstrap"))!
            let alt = Resampling.Alternative(rawValue: try o.choice("alternative", ["two-sided", "greater", "less"], "two-sided"))!
            let n = try o.int("n", 1000)
            let ci = try o.number("ci", 0.95)
            if n < 1 { throw LuaError("bad option 'n' (expected a positive integer, got \(n))") }
            if !(ci > 0 && ci < 1) { throw LuaError("bad option 'ci' (expected a number between 0 and 1, got \(fmt(ci)))") }
            var rng = try MetricsScorers.rng(o)
            let bar = ProgressBar("paired \(method.rawValue)", total: n)
            let r = try Resampling.pairedTest(items: scorer.rows / 2, method: method, alternative: alt, samples: n, ci: ci,
                                              rng: &rng, progress: { bar.update($0) }, score: scorer.score)
            bar.finish()
            var text = "\(scorer.name): A \(roundedString(r.a)), B \(roundedString(r.b)), delta \(r.delta >= 0 ? "+" : "")\(roundedString(r.delta)), p = \(String(format: "%.4g", r.pValue)) (\(method == .bootstrap ? "paired bootstrap" : "approximate randomization"), \(alt.rawValue), \(n) samples"
            if method == .bootstrap { text += "; \(Int((ci * 100).rounded()))% CI of delta \(roundedString(r.low)) to \(roundedString(r.high))" }
            text += ")"
            try vm.pushRecord(c, [("metric", .string(scorer.name)), ("a", .number(r.a)), ("b", .number(r.b)),
                              ("delta", .number(r.delta)), ("p_value", .number(r.pValue)), ("method", .string(method.rawValue)),
                              ("alternative", .string(alt.rawValue)), ("n", .int(n)), ("low", .number(r.low)),
                              ("high", .number(r.high)), ("ci", .number(ci))],
                          name: "PairedTest", text: text)
            return 1
        }
        m.function("slices", Doc(
            "A metric per group (region, product line, ...) with the largest gap between groups (a bias check).",
            signature: "metrics.slices(groups, y_true, y_pred, {metric=\"accuracy\", min_size=1, ...metric options}) -> Slices",
            details: "groups: the group of each item (labels: integers, strings or booleans). Each group is scored\non its own items; gap = best - worst over groups with at least min_size items.\n\(metricDoc)",
            returns: "a Slices object: s.groups = {{group=, n=, score=}, ...}, s.overall, s.gap, s.best, s.worst;\nprints as an aligned table",
            errors: "groups, y_true and y_pred differ in length; an unknown metric; errors of the metric.",
            example: "local region = {\"north\", \"north\", \"south\", \"south\", \"south\"}\nlocal s = metrics.slices(region, {1, 0, 1, 1, 0}, {1, 0, 0, 1, 1})\nprint(s)\nprint(s.gap, s.worst)")) { c in
            let o = try c.options(4, allowed: ["metric", "min_size"] + MetricsScorers.optionNames)
            let groups = try MetricsArgs.labels(c, 1, "groups")
            let scorer: Scorer
            if o.isFunction("metric") {
                o.push("metric")
                let fi = lua_gettop(c.L)
                scorer = try MetricsScorers.make(c, metricAt: fi, name: nil, yTrue: 2, preds: [3], options: o)
            } else {
                scorer = try MetricsScorers.make(c, metricAt: nil, name: try o.string("metric", "accuracy"), yTrue: 2, preds: [3], options: o)
            }
            try MetricsArgs.sameLength(c, scorer.rows, groups.count, 1, "groups", "y_true", noun: "groups")
            let minSize = try o.int("min_size", 1)
            let s = try Resampling.slices(groups: groups, metric: scorer.name, minSize: minSize, score: scorer.score)
            c.push(SlicesObject(s))
            return 1
        }
    }

    // MARK: Drift

    static func installDrift(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("psi", Doc(
            "Population stability index between a reference sample and a current one.",
            signature: "metrics.psi(expected, actual, {bins=10, eps=1e-4}) -> number, details",
            details: "Numbers: bins cut at the reference's 1/bins ... (bins-1)/bins quantiles (numpy's linear\ninterpolation; repeated cut points merged), right-closed, the outer bins open-ended. Labels\n(strings, booleans): one bin per category. PSI = sum over bins of (a - e) * ln(a / e), with e\nand a the reference and current shares, each floored at eps. Rule of thumb: < 0.1 stable,\n0.1-0.25 moderate shift, > 0.25 large shift.",
            returns: "the PSI, and {bins=, expected=, actual=} (bin names and shares)",
            errors: "an empty sample; NaN values; bins < 1; mixed numbers and strings.",
            example: "local train = {1, 2, 2, 3, 3, 3, 4, 4, 5, 6}\nlocal now = {3, 4, 4, 5, 5, 6, 6, 7, 7, 8}\nlocal psi, d = metrics.psi(train, now, {bins = 4})\nprint(psi, d.bins[1])")) { c in
            let o = try c.options(3, allowed: ["bins", "eps"])
            let eps = try o.number("eps", 1e-4)
            if !(eps > 0 && eps < 1) { throw LuaError("bad option 'eps' (expected a number between 0 and 1, got \(fmt(eps)))") }
            let r: Drift.PSIResult
            if try isNumeric(c, 1) {
                let e = try MetricsArgs.numbers(c, 1, "expected", finite: false)
                let a = try MetricsArgs.numbers(c, 2, "actual", finite: false)
                r = try Drift.psi(expected: e, actual: a, bins: try o.int("bins", 10), eps: eps)
            } else {
                let e = try MetricsArgs.labels(c, 1, "expected")
                let a = try MetricsArgs.labels(c, 2, "actual")
                r = try Drift.psi(expected: e, actual: a, eps: eps)
            }
            c.push(r.psi)
            try c.push(.record([("bins", .strings(r.bins)), ("expected", .numbers(r.expected)), ("actual", .numbers(r.actual))]))
            return 2
        }
        m.function("ks", Doc(
            "Two-sample Kolmogorov–Smirnov test for a numeric feature (scipy.stats.ks_2samp).",
            signature: "metrics.ks(a, b, {method=\"auto\"}) -> table",
            details: "Two-sided. method = \"auto\" uses the exact distribution when both samples have at most 10,000\nvalues and the asymptotic one otherwise, as SciPy 1.17 does (\"exact\" and \"asymp\" force one).",
            returns: "{statistic=, p_value=, method=, location=} (location: where the CDFs differ most)",
            errors: "an empty sample; NaN values; an unknown method.",
            example: "local r = metrics.ks({0.1, 0.4, 0.5, 0.9, 1.2}, {0.8, 1.1, 1.5, 1.9, 2.2, 2.5})\nprint(r.statistic, r.p_value)")) { c in
            let o = try c.options(3, allowed: ["method"])
            let a = try MetricsArgs.numbers(c, 1, "a", finite: false)
            let b = try MetricsArgs.numbers(c, 2, "b", finite: false)
            let r = try KolmogorovSmirnov.twoSample(a, b, method: try o.choice("method", ["auto", "exact", "asymp"], "auto"))
            MetricsWarnings.emit(c.name, r.warnings)
            try c.push(.record([("statistic", .number(r.statistic)), ("p_value", .number(r.pValue)), ("method", .string(r.method)), ("location", .number(r.location))]))
            return 1
        }
        m.function("js", Doc(
            "Jensen–Shannon distance between two distributions (scipy.spatial.distance.jensenshannon).",
            signature: "metrics.js(p, q, {base=, samples=}) -> number",
            details: "p and q: two arrays (or tensors) of numbers of the same length, the distributions (probabilities\nor counts; each is normalized); or two samples of labels/tokens (strings, booleans; integers with\nsamples = true), compared as their empirical distributions over the union of values. Natural log\nunless base is given (base = 2 bounds the distance by 1).",
            returns: "the distance (the square root of the JS divergence)",
            errors: "arrays of different lengths; negative entries; an all-zero distribution; empty samples.",
            example: "print(metrics.js({0.5, 0.5}, {0.9, 0.1}, {base = 2}))\nprint(metrics.js({\"a\", \"b\", \"b\"}, {\"b\", \"c\"}, {base = 2}))")) { c in
            let o = try c.options(3, allowed: ["base", "samples"])
            let base = try o.number("base")
            if let b = base, !(b > 0 && b != 1) { throw LuaError("bad option 'base' (expected a positive number other than 1, got \(fmt(b)))") }
            let samples = try o.bool("samples") ?? !(try isNumeric(c, 1))
            if !samples {
                let p = try MetricsArgs.numbers(c, 1, "p", finite: false), q = try MetricsArgs.numbers(c, 2, "q", finite: false)
                try MetricsArgs.sameLength(c, p.count, q.count, 2, "q", "p")
                c.push(try Drift.jensenShannon(p, q, base: base))
            } else {
                let a = try MetricsArgs.labels(c, 1, "p"), b = try MetricsArgs.labels(c, 2, "q")
                try MetricsArgs.nonEmpty(c, a.count, 1, "p")
                try MetricsArgs.nonEmpty(c, b.count, 2, "q")
                let d = try Drift.distributions(a, b)
                c.push(try Drift.jensenShannon(d.p, d.q, base: base))
            }
            return 1
        }
        m.function("oov_rate", Doc(
            "Out-of-vocabulary rate: the share of tokens in new texts never seen in the reference texts.",
            signature: "metrics.oov_rate(reference_texts, texts, {lowercase=false, top=10}) -> table",
            details: "Tokens are whitespace-separated words; the vocabulary is every token of the reference texts.",
            returns: "{rate=, oov=, tokens=, vocabulary=, top={{token, count}, ...}} (top: the commonest unknown tokens)",
            errors: "texts not arrays of strings; no tokens in texts.",
            example: "local r = metrics.oov_rate({\"the cat sat\", \"the dog ran\"}, {\"the cat flew\", \"a bird sang\"})\nprint(r.rate, r.top[1][1])")) { c in
            let o = try c.options(3, allowed: ["lowercase", "top"])
            let ref = try MetricsArgs.texts(c, 1, "reference_texts")
            let txt = try MetricsArgs.texts(c, 2, "texts")
            let r = try Drift.oovRate(reference: ref, texts: txt, lowercase: try o.bool("lowercase", false), top: max(0, try o.int("top", 10)))
            try c.push(.record([("rate", .number(r.rate)), ("oov", .int(r.oovTokens)), ("tokens", .int(r.tokens)),
                            ("vocabulary", .int(r.vocabulary)), ("top", .array(r.top.map { .array([.string($0.0), .int($0.1)]) }))]))
            return 1
        }
        m.function("drift", Doc(
            "Drift report between two datasets (e.g. training data and this month's traffic), column by column.",
            signature: "metrics.drift(reference, current, {columns=, text=, bins=10, eps=1e-4}) -> DriftReport",
            details: """
                reference and current: arrays of row tables ({{age=31, plan="pro"}, ...}) or tables of
                columns ({age={...}, plan={...}}). Missing values (nil) are skipped. Numeric columns get PSI
                and the two-sample KS test; label columns (strings, booleans) PSI and the Jensen–Shannon
                distance (base 2); text columns (strings averaging 3 or more words, or named in text) the
                JS distance and PSI of their token distributions and the OOV rate. columns picks and orders
                the columns (default: every column of the reference, sorted).
                """,
            returns: "a DriftReport: d.columns = {{column=, kind=, psi=, ks=, ks_p=, js=, oov=}, ...}; prints as a table",
            errors: "not rows or columns; a column missing or of another kind in current; empty columns.",
            example: "local ref = {{age = 31, plan = \"pro\"}, {age = 45, plan = \"free\"}, {age = 28, plan = \"free\"}}\nlocal cur = {{age = 52, plan = \"pro\"}, {age = 61, plan = \"pro\"}, {age = 49, plan = \"free\"}}\nprint(metrics.drift(ref, cur))")) { c in
            let o = try c.options(3, allowed: ["columns", "text", "bins", "eps"])
            let eps = try o.number("eps", 1e-4)
            if !(eps > 0 && eps < 1) { throw LuaError("bad option 'eps' (expected a number between 0 and 1, got \(fmt(eps)))") }
            let bins = try o.int("bins", 10)
            let ref = try readDataset(c, 1, "reference")
            let cur = try readDataset(c, 2, "current")
            let names = try o.stringArray("columns") ?? ref.names
            let textCols = Set(try o.stringArray("text") ?? [])
            var out: [Drift.ColumnDrift] = []
            for name in names {
                try Interrupt.check()
                guard let rv = ref.columns[name] else { throw LuaError("column '\(name)' is not in the reference data") }
                guard let cv = cur.columns[name] else { throw LuaError("column '\(name)' is not in the current data") }
                let rc = try driftColumn(name, rv, forceText: textCols.contains(name))
                let cc = try driftColumn(name, cv, forceText: textCols.contains(name), like: rc)
                out.append(try Drift.column(name, rc, cc, bins: bins, eps: eps))
            }
            c.push(DriftObject(out, ref.rows, cur.rows))
            return 1
        }
    }

    /// True when argument i is a tensor or a table whose first element is a number.
    static func isNumeric(_ c: LuaCall, _ i: Int32) throws -> Bool {
        if let t = c.object(i, Tensor.self) { return t.dtype != .bool }
        guard c.type(i) == LUA_TTABLE else { throw c.argError(i, nil, expected: "an array or a tensor") }
        let t = lua_rawgeti(c.L, i, 1)
        lp_pop(c.L, 1)
        return t == LUA_TNUMBER
    }

    struct Dataset {
        var names: [String]
        var columns: [String: [LabelOrNumber]]
        var rows: Int
    }

    enum LabelOrNumber: CustomStringConvertible {
        case number(Double), string(String), bool(Bool)
        var description: String {
            switch self {
            case .number(let x): return fmt(x)
            case .string(let s): return s
            case .bool(let b): return b ? "true" : "false"
            }
        }
    }

    /// Rows ({{col=...}, ...}) or columns ({col={...}}) into columns of values (nil skipped).
    static func readDataset(_ c: LuaCall, _ i: Int32, _ name: String) throws -> Dataset {
        let L = c.L
        let idx = lua_absindex(L, i)
        guard lua_type(L, idx) == LUA_TTABLE else { throw c.argError(idx, name, expected: "an array of row tables or a table of columns") }
        func value(_ at: Int32) -> LabelOrNumber? {
            switch lua_type(L, at) {
            case LUA_TNUMBER: return .number(lua_tonumberx(L, at, nil))
            case LUA_TSTRING: return .string(c.string(at) ?? "")
            case LUA_TBOOLEAN: return .bool(lua_toboolean(L, at) != 0)
            default: return nil
            }
        }
        var cols: [String: [LabelOrNumber]] = [:]
        let n = c.rawLen(idx)
        if n > 0 {
            for k in 0..<n {
                let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
                defer { lp_pop(L, 1) }
                guard t == LUA_TTABLE else {
                    throw LuaError("bad argument \(c.argLabel(idx, name)) (expected row tables, element \(k + 1) is \(c.describe(-1)))")
                }
                let row = lua_gettop(L)
                lua_pushnil(L)
                while lua_next(L, row) != 0 {
                    if lua_type(L, -2) == LUA_TSTRING, let key = c.string(-2) {
                        if let v = value(-1) { cols[key, default: []].append(v) } else if lua_type(L, -1) != LUA_TNIL && cols[key] == nil { cols[key] = [] }
                    }
                    lp_pop(L, 1)
                }
            }
            return Dataset(names: cols.keys.sorted(), columns: cols, rows: n)
        }
        var rows = 0
        lua_pushnil(L)
        while lua_next(L, idx) != 0 {
            defer { lp_pop(L, 1) }
            guard lua_type(L, -2) == LUA_TSTRING, let key = c.string(-2), lua_type(L, -1) == LUA_TTABLE else {
                throw LuaError("bad argument \(c.argLabel(idx, name)) (expected an array of row tables or a table of columns {name = {...}})")
            }
            let col = lua_gettop(L)
            let m = c.rawLen(col)
            rows = max(rows, m)
            var vals: [LabelOrNumber] = []
            for k in 0..<m {
                lua_rawgeti(L, col, lua_Integer(k + 1))
                if let v = value(-1) { vals.append(v) }
                lp_pop(L, 1)
            }
            cols[key] = vals
        }
        if cols.isEmpty { throw c.argError(idx, name, "expected rows or columns, got an empty table") }
        return Dataset(names: cols.keys.sorted(), columns: cols, rows: rows)
    }

    /// The column's kind: numbers, labels or text (strings averaging 3+ words, or forced);
    /// the current data takes the reference's kind (`like`).
    static func driftColumn(_ name: String, _ vals: [LabelOrNumber], forceText: Bool, like: Drift.Column? = nil) throws -> Drift.Column {
        if vals.isEmpty { throw LuaError("column '\(name)' has no values") }
        let allStrings = vals.allSatisfy { if case .string = $0 { return true } else { return false } }
        if case .text = like, allStrings { return .text(vals.map { $0.description }) }
        if case .categorical = like, allStrings { return .categorical(try LabelColumn(vals.map { .string($0.description) })) }
        if vals.allSatisfy({ if case .number = $0 { return true } else { return false } }) && !forceText {
            return .numeric(vals.map { if case .number(let x) = $0 { return x } else { return 0 } })
        }
        if vals.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
            let strs = vals.map { $0.description }
            let words = strs.reduce(0) { $0 + PyText.split($1).count }
            if forceText || Double(words) / Double(strs.count) >= 3 { return .text(strs) }
            return .categorical(try LabelColumn(strs.map { .string($0) }))
        }
        if vals.allSatisfy({ if case .bool = $0 { return true } else { return false } }) {
            return .categorical(.bools(vals.map { if case .bool(let b) = $0 { return b } else { return false } }))
        }
        throw LuaError("column '\(name)' mixes numbers, strings and booleans")
    }

    // MARK: Error analysis and latency

    static func installErrorsAndBench(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("errors", Doc(
            "The misclassified rows, with both labels, ready to print or save.",
            signature: "metrics.errors(rows, y_true, y_pred, {limit=}) -> table",
            details: """
                rows: a data table (data.read_csv, data.from), an array of row tables ({{text=..., id=...}, ...})
                or an array of strings (each becomes {text=...}).
                y_true, y_pred: arrays as long as rows, or the names of fields in the rows
                (metrics.errors(rows, "label", "prediction")). Labels are compared with Lua's raw equality.
                Each returned row is a copy of the original row with row (its position), y_true and y_pred
                added. The result prints as an aligned table (the first 20 rows); limit keeps only the first
                limit errors.
                """,
            returns: "an array of row tables (empty when every prediction is right)",
            errors: "rows is not an array; y_true or y_pred of another length or a missing field name.",
            example: "local rows = {{text = \"great\"}, {text = \"awful\"}, {text = \"fine\"}}\nlocal e = metrics.errors(rows, {\"pos\", \"neg\", \"pos\"}, {\"pos\", \"pos\", \"neg\"})\nprint(#e, e[1].row, e[1].y_true, e[1].y_pred)\nprint(e)")) { c in
            let o = try c.options(4, allowed: ["limit"])
            let limit = try o.int("limit") ?? Int.max
            try pushErrors(vm, c, limit: limit)
            return 1
        }
        m.function("bench", Doc(
            "Latency and throughput of a function: p50/p90/p99 latency and items per second.",
            signature: "metrics.bench(fn, {warmup=5, runs=100, batch=1, max_seconds=}) -> table",
            details: "Calls fn() warmup times untimed, then runs times, timing each call with the monotonic clock.\nbatch is the number of items one call handles (for items_per_sec). max_seconds stops early\nonce that much time has been spent (at least one timed run). Latencies are in milliseconds;\npercentiles use linear interpolation (as numpy.percentile). Ctrl-C stops between calls.",
            returns: "{p50=, p90=, p99=, mean=, min=, max= (ms), items_per_sec=, runs=, batch=, unit=\"ms\"} (prints as one line)",
            errors: "fn is not a function; runs < 1, warmup < 0 or batch < 1; any error fn raises.",
            example: "local r = metrics.bench(function() local s = 0 for i = 1, 1000 do s = s + i end end, {runs = 20, batch = 1000})\nprint(r)\nprint(r.p50 <= r.p99, r.items_per_sec > 0)")) { c in
            try c.checkFunction(1, "fn")
            let o = try c.options(2, allowed: ["warmup", "runs", "batch", "max_seconds"])
            let warmup = try o.int("warmup", 5), runs = try o.int("runs", 100), batch = try o.int("batch", 1)
            if warmup < 0 { throw LuaError("bad option 'warmup' (expected a non-negative integer, got \(warmup))") }
            if runs < 1 { throw LuaError("bad option 'runs' (expected a positive integer, got \(runs))") }
            if batch < 1 { throw LuaError("bad option 'batch' (expected a positive integer, got \(batch))") }
            let maxSeconds = try o.number("max_seconds")
            if let ms = maxSeconds, !(ms > 0) { throw LuaError("bad option 'max_seconds' (expected a positive number, got \(fmt(ms)))") }
            for _ in 0..<warmup {
                try Interrupt.check()
                try c.callLua(1, nresults: 0) { 0 }
            }
            var times: [Double] = []
            times.reserveCapacity(min(runs, 1 << 16))
            let bar = ProgressBar("bench", total: runs)
            let start = monotonicSeconds()
            for k in 0..<runs {
                try Interrupt.check()
                let t0 = monotonicSeconds()
                try c.callLua(1, nresults: 0) { 0 }
                times.append(monotonicSeconds() - t0)
                bar.update(k + 1)
                if let ms = maxSeconds, monotonicSeconds() - start >= ms { break }
            }
            bar.finish()
            let l = Resampling.Latency(seconds: times, batch: batch)
            let text = String(format: "p50 %.4g ms  p90 %.4g ms  p99 %.4g ms  mean %.4g ms  %@ items/s (%d runs, batch %d)",
                              l.p50, l.p90, l.p99, l.mean, ProgressBar.group(l.itemsPerSecond.rounded()), l.runs, l.batch)
            try vm.pushRecord(c, [("p50", .number(l.p50)), ("p90", .number(l.p90)), ("p99", .number(l.p99)), ("mean", .number(l.mean)),
                              ("min", .number(l.min)), ("max", .number(l.max)), ("items_per_sec", .number(l.itemsPerSecond)),
                              ("runs", .int(l.runs)), ("batch", .int(l.batch)), ("unit", .string("ms"))],
                          name: "Bench", text: text)
            return 1
        }
    }

    /// DATA TABLE HOOK: where rows come from. Today: a Lua array of row tables or of strings.
    /// When the `data` module's table object exists, accept it here (return its row count and
    /// push row k as a Lua table); nothing else in metrics.errors needs to change.
    static func errorRowSource(_ c: LuaCall, _ i: Int32) throws -> (count: Int, pushRow: (Int) -> Void) {
        let L = c.L
        let idx = lua_absindex(L, i)
        if let table = c.object(idx, DataTable.self) {
            return (table.rowCount, { k in
                DataLua.pushNA(L)
                let na = lua_gettop(L)
                DataLua.pushRow(c, table, k, naIndex: na)
                lp_remove(L, na)
            })
        }
        guard lua_type(L, idx) == LUA_TTABLE else {
            throw c.argError(idx, "rows", expected: "a DataTable or an array of row tables or strings")
        }
        let n = c.rawLen(idx)
        for k in 0..<n {
            let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
            lp_pop(L, 1)
            if t != LUA_TTABLE && t != LUA_TSTRING {
                lua_rawgeti(L, idx, lua_Integer(k + 1))
                defer { lp_pop(L, 1) }
                throw LuaError("bad argument \(c.argLabel(idx, "rows")) (expected row tables or strings, element \(k + 1) is \(c.describe(-1)))")
            }
        }
        return (n, { k in
            if lua_rawgeti(L, idx, lua_Integer(k + 1)) == LUA_TSTRING {
                lua_createtable(L, 0, 1)
                lua_rotate(L, -2, 1)
                lua_setfield(L, -2, "text")
            }
        })
    }

    static func pushErrors(_ vm: LuaVM, _ c: LuaCall, limit: Int) throws {
        let L = c.L
        let src = try errorRowSource(c, 1)
        let n = src.count
        /// Pushes label k of argument a (an array, or a field name in the row at rowIdx).
        func labelPusher(_ a: Int32, _ name: String) throws -> (Int, Int32) -> Void {
            if c.type(a) == LUA_TSTRING {
                let field = c.string(a) ?? ""
                return { _, row in
                    c.push(field)
                    lua_rawget(L, row)
                }
            }
            guard c.type(a) == LUA_TTABLE else { throw c.argError(a, name, expected: "an array of labels or a field name") }
            try MetricsArgs.sameLength(c, n, c.rawLen(a), a, name, "rows", noun: "labels")
            return { k, _ in _ = lua_rawgeti(L, a, lua_Integer(k + 1)) }
        }
        let pt = try labelPusher(2, "y_true"), pp = try labelPusher(3, "y_pred")
        lua_createtable(L, 0, 0)
        let out = lua_gettop(L)
        var count: lua_Integer = 0
        for k in 0..<n {
            if count >= lua_Integer(limit) { break }
            src.pushRow(k)
            let row = lua_gettop(L)
            pt(k, row)
            pp(k, row)
            for (off, nm) in [(-2, "y_true"), (-1, "y_pred")] where lua_type(L, Int32(off)) == LUA_TNIL {
                let argIdx: Int32 = nm == "y_true" ? 2 : 3
                let what = c.type(argIdx) == LUA_TSTRING ? "row \(k + 1) has no field '\(c.string(argIdx) ?? "")'" : "element \(k + 1) is nil"
                lua_settop(L, out)
                throw LuaError("bad argument \(c.argLabel(argIdx, nm)) (\(what))")
            }
            if lua_rawequal(L, -2, -1) != 0 {
                lua_settop(L, out)
                continue
            }
            // copy the row, then add row, y_true, y_pred
            lua_createtable(L, 0, 4)
            let copy = lua_gettop(L)
            lua_pushnil(L)
            while lua_next(L, row) != 0 {
                lua_pushvalue(L, -2)
                lua_rotate(L, -2, 1)
                lua_rawset(L, copy)
            }
            c.push("row"); c.push(k + 1); lua_rawset(L, copy)
            c.push("y_true"); lua_pushvalue(L, row + 1); lua_rawset(L, copy)
            c.push("y_pred"); lua_pushvalue(L, row + 2); lua_rawset(L, copy)
            count += 1
            lua_rawseti(L, out, count)
            lua_settop(L, out)
        }
        pushErrorsMetatable(vm, c)
        lua_setmetatable(L, out)
    }

    /// The metatable of metrics.errors results: prints an aligned table of the rows.
    static func pushErrorsMetatable(_ vm: LuaVM, _ c: LuaCall) {
        let L = c.L
        lua_getfield(L, lp_registryindex(), "lathe.metrics.errors")
        if lua_type(L, -1) == LUA_TTABLE { return }
        lp_pop(L, 1)
        lua_createtable(L, 0, 2)
        c.push("MetricsErrors")
        lua_setfield(L, -2, "__name")
        vm.pushFunction("metrics.errors.__tostring") { cc in
            cc.push(chomp(errorsText(cc, 1)))
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        lua_pushvalue(L, -1)
        lua_setfield(L, lp_registryindex(), "lathe.metrics.errors")
    }

    static func errorsText(_ c: LuaCall, _ i: Int32) -> String {
        let L = c.L
        let idx = lua_absindex(L, i)
        guard lua_type(L, idx) == LUA_TTABLE else { return "MetricsErrors" }
        let n = c.rawLen(idx)
        let shown = min(n, 20)
        var keys: [String] = []
        var seen = Set<String>()
        var cells: [[String: String]] = []
        func str(_ at: Int32) -> String {
            var len = 0
            guard let p = lp_safe_tolstring(L, at, &len) else { lp_pop(L, 1); return "?" }
            let s = String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
            lp_pop(L, 1)
            let flat = s.replacingOccurrences(of: "\n", with: " ")
            return flat.count > 40 ? String(flat.prefix(37)) + "..." : flat
        }
        for k in 0..<shown {
            var row: [String: String] = [:]
            if lua_rawgeti(L, idx, lua_Integer(k + 1)) == LUA_TTABLE {
                let r = lua_gettop(L)
                lua_pushnil(L)
                while lua_next(L, r) != 0 {
                    if lua_type(L, -2) == LUA_TSTRING, let key = c.string(-2) {
                        row[key] = str(-1)
                        if seen.insert(key).inserted { keys.append(key) }
                    }
                    lp_pop(L, 1)
                }
            }
            lp_pop(L, 1)
            cells.append(row)
        }
        let first = ["row", "y_true", "y_pred"].filter { seen.contains($0) }
        let cols = first + keys.filter { !first.contains($0) }.sorted()
        var out = "MetricsErrors: \(n) misclassified row\(n == 1 ? "" : "s")\n"
        if n == 0 { return out }
        var widths = cols.map { PyText.length($0) }
        for r in cells { for (j, k) in cols.enumerated() { widths[j] = max(widths[j], PyText.length(r[k] ?? "")) } }
        out += cols.enumerated().map { PyText.ljust($0.element, widths[$0.offset]) }.joined(separator: "  ")
            .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        for r in cells {
            out += cols.enumerated().map { PyText.ljust(r[$0.element] ?? "", widths[$0.offset]) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        if n > shown { out += "... (\(n - shown) more)\n" }
        return out
    }

    // MARK: Classes

    static func scoreRecord(_ r: ClassificationReport.Row) -> LuaValue {
        .record([("precision", .number(r.precision)), ("recall", .number(r.recall)), ("f1", .number(r.f1)), ("support", .int(r.support))])
    }

    static func defineClasses(_ vm: LuaVM) {
        vm.defineClass(ReportObject.self, name: "Report", summary: "scikit-learn's classification_report: print it for the text, read its fields for the numbers.") { b in
            b.getter("accuracy") { c in
                let r = try c.selfObject(ReportObject.self).report
                if let a = r.accuracy { c.push(a) } else { c.pushNil() }
                return 1
            }
            b.getter("labels") { c in
                try c.push(.array(try c.selfObject(ReportObject.self).report.labels.map(MetricsArgs.labelLua)))
                return 1
            }
            b.getter("classes") { c in
                let r = try c.selfObject(ReportObject.self).report
                try c.newTable(records: r.rows.count)
                for (k, row) in r.rows.enumerated() where k < r.labels.count {
                    MetricsArgs.pushLabel(c, r.labels[k])
                    try c.push(scoreRecord(row))
                    try c.rawsetKeyChecked(-3)
                }
                return 1
            }
            for (field, heading) in [("macro", "macro avg"), ("weighted", "weighted avg"), ("micro", "micro avg")] {
                b.getter(field) { c in
                    let r = try c.selfObject(ReportObject.self).report
                    if let row = r.averages.first(where: { $0.name == heading }) { try c.push(scoreRecord(row)) } else { c.pushNil() }
                    return 1
                }
            }
            b.getter("text") { c in
                c.push(try c.selfObject(ReportObject.self).report.text)
                return 1
            }
            b.meta("__tostring") { c in
                c.push(try c.selfObject(ReportObject.self).report.text)
                return 1
            }
        }
        vm.defineClass(ConfusionObject.self, name: "ConfusionMatrix", summary: "A confusion matrix: rows are true labels, columns predicted ones.") { b in
            b.method("get", Doc("The count (or normalized value) for a true label and a predicted label.",
                                signature: "cm:get(true_label, predicted_label) -> number",
                                returns: "the matrix entry",
                                errors: "a label that is not one of cm.labels.",
                                example: "local cm = metrics.confusion({1, 0, 1}, {1, 1, 1})\nprint(cm:get(0, 1))")) { c in
                let m = try c.selfObject(ConfusionObject.self).matrix
                func find(_ i: Int32, _ name: String) throws -> Int {
                    guard let v = MetricsArgs.labelValue(c, i), let k = m.labels.firstIndex(where: { $0.matches(v) }) else {
                        throw c.argError(i, name, "expected one of \(m.labels.map { $0.quoted }.joined(separator: ", ")), got \(c.describe(i))")
                    }
                    return k
                }
                let r = try find(2, "true_label"), col = try find(3, "predicted_label")
                if let n = m.normalized { c.push(n[r][col]) } else { c.push(m.counts[r][col]) }
                return 1
            }
            b.getter("labels") { c in
                try c.push(.array(try c.selfObject(ConfusionObject.self).matrix.labels.map(MetricsArgs.labelLua)))
                return 1
            }
            b.getter("matrix") { c in
                try c.push(.array(try c.selfObject(ConfusionObject.self).matrix.counts.map { .ints($0) }))
                return 1
            }
            b.getter("normalized") { c in
                if let n = try c.selfObject(ConfusionObject.self).matrix.normalized { try c.push(.array(n.map { .numbers($0) })) } else { c.pushNil() }
                return 1
            }
            b.getter("total") { c in
                c.push(try c.selfObject(ConfusionObject.self).matrix.total)
                return 1
            }
            b.meta("__tostring") { c in
                c.push(chomp(try c.selfObject(ConfusionObject.self).matrix.text()))
                return 1
            }
            b.meta("__len") { c in
                c.push(try c.selfObject(ConfusionObject.self).matrix.labels.count)
                return 1
            }
        }
        vm.defineClass(SlicesObject.self, name: "Slices", summary: "A metric per group, the overall score and the largest gap between groups.") { b in
            b.getter("groups") { c in
                let s = try c.selfObject(SlicesObject.self).slices
                try c.push(.array(s.groups.map { .record([("group", MetricsArgs.labelLua($0.group)), ("n", .int($0.size)), ("score", .number($0.score))]) }))
                return 1
            }
            b.getter("overall") { c in c.push(try c.selfObject(SlicesObject.self).slices.overall); return 1 }
            b.getter("gap") { c in c.push(try c.selfObject(SlicesObject.self).slices.gap); return 1 }
            b.getter("metric") { c in c.push(try c.selfObject(SlicesObject.self).slices.metric); return 1 }
            b.getter("best") { c in
                if let v = try c.selfObject(SlicesObject.self).slices.best { MetricsArgs.pushLabel(c, v) } else { c.pushNil() }
                return 1
            }
            b.getter("worst") { c in
                if let v = try c.selfObject(SlicesObject.self).slices.worst { MetricsArgs.pushLabel(c, v) } else { c.pushNil() }
                return 1
            }
            b.meta("__tostring") { c in c.push(chomp(try c.selfObject(SlicesObject.self).slices.text)); return 1 }
            b.meta("__len") { c in c.push(try c.selfObject(SlicesObject.self).slices.groups.count); return 1 }
        }
        vm.defineClass(DriftObject.self, name: "DriftReport", summary: "Drift measures per column between a reference and a current dataset.") { b in
            b.getter("columns") { c in
                let d = try c.selfObject(DriftObject.self)
                try c.push(.array(d.columns.map { col in
                    var f: [(String, LuaValue)] = [("column", .string(col.name)), ("kind", .string(col.kind)), ("psi", .number(col.psi))]
                    if let v = col.ks { f.append(("ks", .number(v))) }
                    if let v = col.ksPValue { f.append(("ks_p", .number(v))) }
                    if let v = col.js { f.append(("js", .number(v))) }
                    if let v = col.oov { f.append(("oov", .number(v))) }
                    return .record(f)
                }))
                return 1
            }
            b.getter("reference_rows") { c in c.push(try c.selfObject(DriftObject.self).referenceRows); return 1 }
            b.getter("current_rows") { c in c.push(try c.selfObject(DriftObject.self).currentRows); return 1 }
            b.meta("__tostring") { c in c.push(chomp(try c.selfObject(DriftObject.self).text)); return 1 }
            b.meta("__len") { c in c.push(try c.selfObject(DriftObject.self).columns.count); return 1 }
        }
    }
}
