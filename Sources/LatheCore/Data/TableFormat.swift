import Foundation

/// Text rendering of tables for the prompt: a summary line, aligned columns with a type row,
/// long strings cut with "…", long tables shown as head and tail, and columns that do not fit
/// the width listed at the end.
public struct TableFormat: Sendable {
    /// Tables with more rows show `edgeRows` first and last rows.
    public var maxRows = 20
    public var edgeRows = 5
    /// Total line width.
    public var width = 80
    /// Widest a string column gets (in terminal cells).
    public var maxCellWidth = 30

    public init() {}

    /// A format showing every column (`allColumns`) or those that fit `width`, cells up to
    /// `cellWidth` (nil: whole), and up to `rows` rows (nil: all; a longer table shows its ends).
    public init(allColumns: Bool, width: Int, cellWidth: Int?, rows: Int?) {
        self.width = allColumns ? Int.max : width
        maxCellWidth = cellWidth ?? Int.max
        maxRows = rows ?? Int.max
        edgeRows = min(edgeRows, max(1, maxRows / 2))
    }

    /// "1 row", "3 rows".
    public static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    /// Terminal cells a character takes (East Asian wide and emoji take 2).
    static func cellWidth(_ ch: Character) -> Int {
        guard let u = ch.unicodeScalars.first?.value else { return 0 }
        if u < 0x1100 { return 1 }
        if (0x1100...0x115F).contains(u) || (0x2E80...0xA4CF).contains(u) || (0xAC00...0xD7A3).contains(u)
            || (0xF900...0xFAFF).contains(u) || (0xFE30...0xFE4F).contains(u) || (0xFF00...0xFF60).contains(u)
            || (0xFFE0...0xFFE6).contains(u) || (0x1F300...0x1FAFF).contains(u) || (0x20000...0x3FFFD).contains(u) {
            return 2
        }
        return 1
    }

    public static func displayWidth(_ s: String) -> Int {
        var w = 0
        for ch in s { w += cellWidth(ch) }
        return w
    }

    /// Cuts s to at most `limit` cells, ending with "…" when cut.
    public static func truncate(_ s: String, _ limit: Int) -> String {
        if displayWidth(s) <= limit { return s }
        var out = ""
        var w = 0
        for ch in s {
            let cw = cellWidth(ch)
            if w + cw > limit - 1 { break }
            out.append(ch)
            w += cw
        }
        return out + "…"
    }

    /// A string as one line: control characters shown as escapes.
    static func oneLine(_ s: String) -> String {
        var needs = false
        for u in s.unicodeScalars where u.value < 32 || u.value == 127 { needs = true; break }
        if !needs { return s }
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 32 || u.value == 127 { out += "\\\(u.value)" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    static func pad(_ s: String, _ w: Int, right: Bool) -> String {
        let d = w - displayWidth(s)
        if d <= 0 { return s }
        let sp = String(repeating: " ", count: d)
        return right ? sp + s : s + sp
    }

    func cellText(_ col: Column, _ r: Int) -> String {
        if col.missing[r] { return "NA" }
        switch col.values {
        case .string(let a): return TableFormat.truncate(TableFormat.oneLine(a[r]), maxCellWidth)
        case .integer(let a): return String(a[r])
        case .number(let a): return TableFormat.shortNumber(a[r])
        case .boolean(let a): return a[r] ? "true" : "false"
        }
    }

    /// Up to 6 significant digits, no exponent for ordinary magnitudes.
    public static func shortNumber(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == x.rounded() && abs(x) < 1e15 { return String(format: "%.0f", x) + ".0" }
        return String(format: "%.6g", x)
    }

    public func render(_ t: DataTable, title: String = "DataTable") -> String {
        var out = "\(title): \(t.rowCount) row\(t.rowCount == 1 ? "" : "s") x \(t.columnCount) column\(t.columnCount == 1 ? "" : "s")"
        if t.columnCount == 0 { return out }
        let rows: [Int?]
        if t.rowCount <= maxRows {
            rows = Array(0..<t.rowCount)
        } else {
            rows = Array(0..<edgeRows) + [nil] + Array((t.rowCount - edgeRows)..<t.rowCount)
        }
        let idx = rows.map { $0.map { String($0 + 1) } ?? "…" }
        let idxW = max(1, idx.map { TableFormat.displayWidth($0) }.max() ?? 1)
        var used = idxW
        var shown: [(name: String, type: String, cells: [String], w: Int, right: Bool)] = []
        var hidden: [String] = []
        for (k, col) in t.columns.enumerated() {
            let name = TableFormat.truncate(TableFormat.oneLine(t.names[k]), maxCellWidth)
            let type = col.type.rawValue
            let cells = rows.map { $0.map { cellText(col, $0) } ?? "…" }
            var w = max(TableFormat.displayWidth(name), type.count)
            for c in cells { w = max(w, TableFormat.displayWidth(c)) }
            let right = col.type != .string
            if !hidden.isEmpty || (used + 2 + w > width && !shown.isEmpty) {
                hidden.append(t.names[k])
                continue
            }
            shown.append((name, type, cells, w, right))
            used += 2 + w
        }
        func line(_ first: String, _ parts: [String]) -> String {
            var s = TableFormat.pad(first, idxW, right: true)
            for p in parts { s += "  " + p }
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        out += "\n" + line("", shown.map { TableFormat.pad($0.name, $0.w, right: $0.right) })
        out += "\n" + line("", shown.map { TableFormat.pad($0.type, $0.w, right: $0.right) })
        for (r, label) in idx.enumerated() {
            out += "\n" + line(label, shown.map { TableFormat.pad($0.cells[r], $0.w, right: $0.right) })
        }
        if !hidden.isEmpty {
            var line = "… \(hidden.count) more column\(hidden.count == 1 ? "" : "s"): "
            for (k, h) in hidden.enumerated() {
                let piece = TableFormat.truncate(TableFormat.oneLine(h), maxCellWidth) + (k + 1 < hidden.count ? ", " : "")
                if TableFormat.displayWidth(line + piece) > width - 1 { line += "…"; break }
                line += piece
            }
            out += "\n" + line
        }
        if t.rowCount > maxRows {
            out += "\n(\(t.rowCount) rows x \(t.columnCount) columns)"
        }
        return out
    }
}
