import Foundation

/// Runs as data tables: one row per run (`runs`), or the runs side by side (`compare`).
public enum TrackTables {
    /// A param's text as a cell: numbers stay numbers, so tables sort and filter them as such.
    static func cell(_ s: String) -> Cell {
        if let i = Int64(s) { return .integer(i) }
        if let d = Double(s), d.isFinite || s == "nan" || s == "inf" || s == "-inf" { return .number(d) }
        if s == "true" || s == "false" { return .boolean(s == "true") }
        return .string(s)
    }

    /// Columns of one type each; a column whose runs disagree on the type (a param that is a
    /// number in one run and text in another) is text.
    static func table(_ names: [String], _ cols: [[Cell]], asText: Set<String> = []) throws(LatheError) -> DataTable {
        let columns = cols.enumerated().map { k, cells -> Column in
            if asText.contains(names[k]) { return Column.build(cells: cells, as: .string) }
            return (try? Column.from(cells: cells, emptyType: .string, name: names[k])) ?? Column.build(cells: cells, as: .string)
        }
        return try DataTable(names: names, columns: columns)
    }

    static func time(_ t: Double) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    /// One row per run: id, name, experiment, status, start, seconds, then params.<key> and
    /// metrics.<key> (the last value of each), as MLflow's search_runs names them.
    public static func runs(_ runs: [RunRecord]) throws(LatheError) -> DataTable {
        let paramKeys = Set(runs.flatMap(\.params.keys)).sorted()
        let metricKeys = Set(runs.flatMap(\.metrics.keys)).sorted()
        var names = ["id", "name", "experiment", "status", "start", "seconds"]
        var cols: [[Cell]] = [
            runs.map { .string($0.id) }, runs.map { .string($0.name) }, runs.map { .string($0.experiment) },
            runs.map { .string($0.status) }, runs.map { .string(time($0.startTime)) },
            runs.map { r in r.endTime.map { .number(($0 - r.startTime).rounded(toPlaces: 3)) } ?? .missing },
        ]
        for k in paramKeys {
            names.append("params." + k)
            cols.append(runs.map { r in r.params[k].map(cell) ?? .missing })
        }
        for k in metricKeys {
            names.append("metrics." + k)
            cols.append(runs.map { r in r.metrics[k].map { .number($0) } ?? .missing })
        }
        return try table(names, cols)
    }

    /// The runs side by side: a row per field, params that differ first, then the params they
    /// share, then metrics (the last value) with the change from the first run to the last.
    public static func compare(_ runs: [RunRecord]) throws(LatheError) -> DataTable {
        guard runs.count >= 1 else { throw LatheError("compare needs at least one run") }
        let heads = runs.map { r in r.name }
        var seen: [String: Int] = [:]
        let colNames = heads.map { h -> String in
            seen[h, default: 0] += 1
            return seen[h]! > 1 || heads.filter { $0 == h }.count > 1 ? "\(h) #\(seen[h]!)" : h
        }
        let paramKeys = Set(runs.flatMap(\.params.keys)).sorted()
        let differ = paramKeys.filter { k in Set(runs.map { $0.params[k] ?? "\u{0}" }).count > 1 }
        let same = paramKeys.filter { !differ.contains($0) }
        let metricKeys = Set(runs.flatMap(\.metrics.keys)).sorted()
        var field: [Cell] = [], kind: [Cell] = [], values: [[Cell]] = Array(repeating: [], count: runs.count), delta: [Cell] = []
        for (k, label) in differ.map({ ($0, "param (differs)") }) + same.map({ ($0, "param") }) {
            field.append(.string(k)); kind.append(.string(label)); delta.append(.missing)
            for (i, r) in runs.enumerated() { values[i].append(r.params[k].map { .string($0) } ?? .missing) }
        }
        field.append(.string("status")); kind.append(.string("run")); delta.append(.missing)
        for (i, r) in runs.enumerated() { values[i].append(.string(r.status)) }
        for k in metricKeys {
            field.append(.string(k)); kind.append(.string("metric"))
            // shown to 6 significant digits (the runs' own values keep every digit)
            for (i, r) in runs.enumerated() { values[i].append(r.metrics[k].map { .string(String(format: "%.6g", $0)) } ?? .missing) }
            if let a = runs.first?.metrics[k], let b = runs.last?.metrics[k], runs.count > 1 { delta.append(.number(b - a)) } else { delta.append(.missing) }
        }
        var names = ["field", "kind"] + colNames
        var cols = [field, kind] + values
        if runs.count > 1 {
            names.append("change")
            cols.append(delta)
        }
        // the runs' columns hold params (text) and metrics (numbers): shown as text
        return try table(names, cols, asText: Set(colNames))
    }
}

extension Double {
    func rounded(toPlaces p: Int) -> Double {
        let m = pow(10.0, Double(p))
        return (self * m).rounded() / m
    }
}
