import CLua
import LatheCore

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
    let report: Drift.Report
    init(_ r: Drift.Report) { report = r }
}

/// The result classes of `metrics`: Report, ConfusionMatrix, Slices and DriftReport. Their
/// fields are getters; each prints its engine text.
enum MetricsClasses {
    static func install(_ vm: LuaVM) {
        vm.defineClass(ReportObject.self, name: "Report", summary: "scikit-learn's classification_report: print it for the text, read its fields for the numbers.") { b in
            func r(_ c: LuaCall) throws -> ClassificationReport { try c.selfObject(ReportObject.self).report }
            b.getter("accuracy") { c in try c.ret(try r(c).accuracy.map { .number($0) } ?? .nil) }
            b.getter("labels") { c in try c.ret(.array(try r(c).labels.map(\.lua))) }
            b.getter("classes") { c in
                let rep = try r(c)
                try c.pushLabelMap(rep.labels, rep.rows.map(scores))
                return 1
            }
            for (field, heading) in [("macro", "macro avg"), ("weighted", "weighted avg"), ("micro", "micro avg")] {
                b.getter(field) { c in try c.ret(try r(c).averages.first { $0.name == heading }.map(scores) ?? .nil) }
            }
            b.getter("text") { c in try c.ret(.string(try r(c).text)) }
            b.meta("__tostring") { c in try c.ret(.string(try r(c).text)) }
        }
        vm.defineClass(ConfusionObject.self, name: "ConfusionMatrix", summary: "A confusion matrix: rows are true labels, columns predicted ones.") { b in
            func m(_ c: LuaCall) throws -> ConfusionMatrix { try c.selfObject(ConfusionObject.self).matrix }
            b.add([get])
            b.getter("labels") { c in try c.ret(.array(try m(c).labels.map(\.lua))) }
            b.getter("matrix") { c in try c.ret(.array(try m(c).counts.map { .ints($0) })) }
            b.getter("normalized") { c in try c.ret(try m(c).normalized.map { .array($0.map { .numbers($0) }) } ?? .nil) }
            b.getter("total") { c in try c.ret(.int(try m(c).total)) }
            b.meta("__tostring") { c in try c.ret(.string(MetricsFunctions.chomp(try m(c).text()))) }
            b.meta("__len") { c in try c.ret(.int(try m(c).labels.count)) }
        }
        vm.defineClass(SlicesObject.self, name: "Slices", summary: "A metric per group, the overall score and the largest gap between groups.") { b in
            func s(_ c: LuaCall) throws -> Resampling.Slices { try c.selfObject(SlicesObject.self).slices }
            b.getter("groups") { c in
                try c.ret(.array(try s(c).groups.map { .record([("group", $0.group.lua), ("n", .int($0.size)), ("score", .number($0.score))]) }))
            }
            b.getter("overall") { c in try c.ret(.number(try s(c).overall)) }
            b.getter("gap") { c in try c.ret(.number(try s(c).gap)) }
            b.getter("metric") { c in try c.ret(.string(try s(c).metric)) }
            b.getter("best") { c in try c.ret(try s(c).best?.lua ?? .nil) }
            b.getter("worst") { c in try c.ret(try s(c).worst?.lua ?? .nil) }
            b.meta("__tostring") { c in try c.ret(.string(MetricsFunctions.chomp(try s(c).text))) }
            b.meta("__len") { c in try c.ret(.int(try s(c).groups.count)) }
        }
        vm.defineClass(DriftObject.self, name: "DriftReport", summary: "Drift measures per column between a reference and a current dataset.") { b in
            func d(_ c: LuaCall) throws -> Drift.Report { try c.selfObject(DriftObject.self).report }
            b.getter("columns") { c in try c.ret(.array(try d(c).columns.map(column))) }
            b.getter("reference_rows") { c in try c.ret(.int(try d(c).referenceRows)) }
            b.getter("current_rows") { c in try c.ret(.int(try d(c).currentRows)) }
            b.meta("__tostring") { c in try c.ret(.string(MetricsFunctions.chomp(try d(c).text))) }
            b.meta("__len") { c in try c.ret(.int(try d(c).columns.count)) }
        }
    }

    static func scores(_ r: ClassificationReport.Row) -> LuaValue {
        .record([("precision", .number(r.precision)), ("recall", .number(r.recall)), ("f1", .number(r.f1)), ("support", .int(r.support))])
    }

    static func column(_ col: Drift.ColumnDrift) -> LuaValue {
        let optional: [(String, Double?)] = [("ks", col.ks), ("ks_p", col.ksPValue), ("js", col.js), ("oov", col.oov)]
        return .record([("column", .string(col.name)), ("kind", .string(col.kind)), ("psi", .number(col.psi))]
            + optional.compactMap { k, v in v.map { (k, .number($0)) } })
    }

    static let get = LuaFunc(
        "get", "The count (or normalized value) for a true label and a predicted label.",
        params: [LuaParam("true_label", .label, "a label of cm.labels (a row)"), LuaParam("predicted_label", .label, "a label of cm.labels (a column)")],
        returns: "number: the matrix entry",
        errors: "a label that is not one of cm.labels.",
        example: "local cm = metrics.confusion({1, 0, 1}, {1, 1, 1})\nprint(cm:get(0, 1))  --> 1"
    ) { c in
        let m = try c.selfObject(ConfusionObject.self).matrix
        func find(_ i: Int32, _ name: String) throws -> Int {
            guard let v = c.label(i), let k = m.labels.firstIndex(where: { $0.matches(v) }) else {
                throw c.argError(i, name, "expected one of \(m.labels.map(\.quoted).joined(separator: ", ")), got \(c.describe(i))")
            }
            return k
        }
        let r = try find(2, "true_label"), col = try find(3, "predicted_label")
        return try c.ret(m.normalized.map { .number($0[r][col]) } ?? .int(m.counts[r][col]))
    }
}
