import Foundation

/// `data.clean`: the cleaning steps in a fixed order, each only when asked, with a report per
/// step. The defaults here are the ones `data.clean` documents.
extension Clean {
    public struct Steps {
        public enum DropMissing: Sendable { case off, textColumns, columns([String]) }
        /// The columns the text steps and the length filter work on (nil: every string column).
        public var columns: [String]? = nil
        /// Rows with a missing value in the text columns (or the named ones) are dropped first.
        public var dropMissing: DropMissing = .off
        public var stripHTML = false
        public var stripURLs = false
        public var nfkc = true
        public var lower = false
        public var whitespace = true
        /// Length bounds for the first text column, in `lengthUnit`.
        public var minLength: Int? = nil
        public var maxLength: Int? = nil
        /// nil: tokens when `count` is given, else characters.
        public var lengthUnit: LengthUnit? = nil
        /// The number of tokens in a text (for the unit tokens).
        public var count: ((String) throws -> Int)? = nil
        /// A rule of your own, run last: whether to keep row r of the table as it is then.
        public var filter: ((DataTable, Int) throws -> Bool)? = nil
        public init() {}
    }

    /// Runs the steps asked for, in the order of `Steps`' fields.
    public static func run(_ t: DataTable, _ s: Steps) throws -> (DataTable, [CleanReport]) {
        let cols = try stringColumns(t, s.columns)
        var t = t
        var reports: [CleanReport] = []
        func add(_ r: (DataTable, CleanReport)) { t = r.0; reports.append(r.1) }
        switch s.dropMissing {
        case .off: break
        case .textColumns: add(try dropMissing(t, columns: cols))
        case .columns(let named): add(try dropMissing(t, columns: named))
        }
        let textSteps: [(Bool, String, @Sendable (String) -> String)] = [
            (s.stripHTML, "strip_html", stripHTML), (s.stripURLs, "strip_urls", { stripURLs($0) }), (s.nfkc, "nfkc", nfkc),
            (s.lower, "lower", lower), (s.whitespace, "normalize_whitespace", normalizeWhitespace),
        ]
        for (on, name, f) in textSteps where on { add(try mapStrings(t, columns: cols, step: name, f)) }
        if s.minLength != nil || s.maxLength != nil {
            guard let first = cols.first else { throw LatheError("min_length and max_length need a string column") }
            add(try filterLength(t, column: first, min: s.minLength, max: s.maxLength, unit: try lengthUnit(s.lengthUnit, count: s.count), count: s.count))
        }
        if let f = s.filter {
            var keep = [Bool](repeating: false, count: t.rowCount)
            for r in 0..<t.rowCount { keep[r] = try f(t, r) }
            let kept = try t.filter(keep)
            var r = CleanReport(step: "filter", columns: [])
            r.rowsDropped = t.rowCount - kept.rowCount
            r.rows = kept.rowCount
            add((kept, r))
        }
        return (t, reports)
    }

    /// The unit of a length filter: the one given, else tokens when a counter is given, else
    /// characters.
    public static func lengthUnit(_ given: LengthUnit?, count: ((String) throws -> Int)?) throws(LatheError) -> LengthUnit {
        let unit = given ?? (count == nil ? .chars : .tokens)
        if unit == .tokens && count == nil {
            throw LatheError("unit \"tokens\" needs count = function(text) return number_of_tokens end")
        }
        return unit
    }

    /// What `data.clean` prints: the rows before and after, then one line per step.
    public static func summary(rowsBefore: Int, _ t: DataTable, _ reports: [CleanReport]) -> String {
        "data.clean: \(rowsBefore) -> \(t.rowCount) rows" + reports.map { "\n  " + $0.line }.joined()
    }
}

extension CleanReport {
    /// The step, the rows it dropped or the cells it changed, and its first change.
    public var line: String {
        var s = step.padding(toLength: 22, withPad: " ", startingAt: 0)
        if rowsDropped > 0 || ["drop_missing", "filter_length", "filter"].contains(step) {
            s += "rows dropped \(rowsDropped)"
        } else {
            s += "cells changed \(cellsChanged)"
        }
        if let e = example {
            s += "   \"" + e[0] + "\" -> \"" + e[1] + "\""   // already one line, control characters escaped
        }
        return s
    }
}
