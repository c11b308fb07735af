import Foundation

/// A printable account of one calculation: a title, the settings it used, a table (with the
/// formula or source of every line) and notes. `text()` is what the prompt prints;
/// `markdown()` is what `cost.report` returns.
extension Cost {
    public struct Report: Sendable {
        public var title: String
        /// Settings and inputs, printed as "name: value".
        public var facts: [[String]]
        /// Column titles of the table (the first column holds the item names).
        public var header: [String]
        public var rows: [[String]]
        /// Columns (by index) that hold numbers and are right-aligned.
        public var numeric: Set<Int>
        public var notes: [String]
        /// Preformatted text printed after the table (the Gantt chart of a budget).
        public var chart: String?
        /// Print the column titles in `text()` too (tables whose columns are not obvious).
        public var textHeader = false

        public init(title: String, facts: [[String]] = [], header: [String] = [], rows: [[String]] = [],
                    numeric: Set<Int> = [1], notes: [String] = [], chart: String? = nil) {
            self.title = title
            self.facts = facts
            self.header = header
            self.rows = rows
            self.numeric = numeric
            self.notes = notes
            self.chart = chart
        }

        /// Aligned plain text: title, settings on one line, the table without its header.
        public func text() -> String {
            var out = title
            if !facts.isEmpty {
                // settings, wrapped at about 90 columns
                var line = ""
                for f in facts {
                    let item = "\(f[0]) \(f[1])"
                    if !line.isEmpty && line.count + item.count + 2 > 88 {
                        out += "\n  " + line + ","
                        line = ""
                    }
                    line += line.isEmpty ? item : ", " + item
                }
                if !line.isEmpty { out += "\n  " + line }
            }
            if !rows.isEmpty {
                let all = textHeader ? [header] + rows : rows
                let ncol = all.map { $0.count }.max() ?? 0
                var widths = [Int](repeating: 0, count: ncol)
                for r in all { for (k, c) in r.enumerated() { widths[k] = max(widths[k], c.count) } }
                for r in all {
                    var line = ""
                    for (k, c) in r.enumerated() {
                        let last = k == r.count - 1
                        line += "  "
                        if numeric.contains(k) {
                            line += String(repeating: " ", count: widths[k] - c.count) + c
                        } else if last {
                            line += c
                        } else {
                            line += c + String(repeating: " ", count: widths[k] - c.count)
                        }
                    }
                    while line.hasSuffix(" ") { line.removeLast() }
                    out += "\n" + line
                }
            }
            if let chart { out += "\n\n" + chart }
            for n in notes { out += "\n  " + n }
            return out
        }

        /// Markdown: a heading, the settings as a list, the table, the chart in a code block,
        /// and the notes.
        public func markdown(level: Int = 2) -> String {
            var out = String(repeating: "#", count: max(1, min(level, 6))) + " " + title + "\n"
            if !facts.isEmpty {
                out += "\n"
                for f in facts { out += "- **\(md(f[0]))**: \(md(f[1]))\n" }
            }
            if !rows.isEmpty {
                let ncol = max(header.count, rows.map { $0.count }.max() ?? 0)
                var head = header
                while head.count < ncol { head.append("") }
                out += "\n| " + head.map(md).joined(separator: " | ") + " |\n"
                out += "|" + (0..<ncol).map { numeric.contains($0) ? " ---: |" : " --- |" }.joined() + "\n"
                for r in rows {
                    var cells = r
                    while cells.count < ncol { cells.append("") }
                    out += "| " + cells.map(md).joined(separator: " | ") + " |\n"
                }
            }
            if let chart { out += "\n```text\n" + chart + "\n```\n" }
            if !notes.isEmpty {
                out += "\n"
                for n in notes { out += "- " + md(n) + "\n" }
            }
            return out
        }

        /// A two-column table of named values (numbers, strings, booleans; others are left out).
        public init(title: String, values: [(String, Value)]) {
            let rows: [[String]] = values.compactMap { k, v in
                switch v {
                case .int(let i): return [k, Cost.commas(i)]
                case .double(let x): return [k, Cost.formatNumber(x)]
                case .string(let s): return [k, s]
                case .bool(let b): return [k, b ? "true" : "false"]
                default: return nil
                }
            }
            self.init(title: title, header: ["item", "value"], rows: rows, numeric: [1])
        }

        /// One Markdown document of several reports: a section each under `title`, or the one
        /// report under its own heading (or `title`).
        public static func document(_ parts: [Report], title: String?) -> String {
            if parts.count == 1 {
                return title.map { "# \($0)\n\n" + parts[0].markdown(level: 2) } ?? parts[0].markdown(level: 1)
            }
            return "# \(title ?? "Cost report")\n" + parts.map { "\n" + $0.markdown(level: 2) }.joined()
        }

        func md(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
    }

    /// 1234567 -> "1,234,567".
    public static func commas(_ n: Int) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (k, ch) in s.enumerated() {
            if k > 0 && (s.count - k) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }

    /// Bytes in binary units: "512 B", "1.50 KiB", "13.48 GiB".
    public static func formatBytes(_ b: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var x = b
        var u = 0
        while abs(x) >= 1024 && u < units.count - 1 {
            x /= 1024
            u += 1
        }
        if u == 0 { return x.isFinite ? "\(Int(x.rounded())) B" : "\(x) B" }
        return String(format: "%.2f", x) + " " + units[u]
    }

    /// Dollars: "$1,234.56" (cents kept below $1,000,000).
    public static func formatMoney(_ x: Double) -> String {
        if !x.isFinite { return x.isNaN ? "n/a" : (x > 0 ? "inf" : "-inf") }
        let neg = x < 0
        let v = abs(x)
        if v >= 1e13 { return (neg ? "-$" : "$") + String(format: "%.3e", v) }
        let cents = Int((v * 100).rounded())
        var s = "$" + commas(cents / 100)
        if v < 1_000_000 { s += String(format: ".%02d", cents % 100) }
        return neg ? "-" + s : s
    }

    /// Seconds as "45 s", "12.5 min", "3.2 h", "4.1 days".
    public static func formatDuration(_ sec: Double) -> String {
        if !sec.isFinite { return "n/a" }
        if sec < 60 { return String(format: "%.1f s", sec) }
        if sec < 3600 { return String(format: "%.1f min", sec / 60) }
        if sec < 86400 * 2 { return String(format: "%.2f h", sec / 3600) }
        return String(format: "%.1f days", sec / 86400)
    }

    /// A plain number with up to `digits` significant digits and thousands separators for
    /// large values.
    public static func formatNumber(_ x: Double, digits: Int = 4) -> String {
        if !x.isFinite { return x.isNaN ? "n/a" : (x > 0 ? "inf" : "-inf") }
        if x == x.rounded() && abs(x) < 1e15 { return commas(Int(x)) }
        if abs(x) >= 1e15 || (abs(x) < 1e-4 && x != 0) { return String(format: "%.\(digits - 1)e", x) }
        if abs(x) >= 1000 { return commas(Int(x.rounded())) }
        var s = String(format: "%.\(digits)g", x)
        if s.contains("e") { s = String(format: "%.\(digits)f", x) }
        return s
    }

    /// FLOPs as "1.23e18 FLOPs".
    public static func formatFLOPs(_ x: Double) -> String {
        String(format: "%.3g FLOPs", x)
    }

    public static func formatPercent(_ x: Double) -> String {
        String(format: "%.1f%%", x * 100)
    }
}
