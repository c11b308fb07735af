import Foundation

/// Options of the CSV reader.
public struct CSVReadOptions: Sendable {
    /// Field separator (one ASCII byte).
    public var separator: UInt8 = UInt8(ascii: ",")
    /// The quote character, or nil for no quoting at all (every byte is data, as pandas'
    /// `quoting=csv.QUOTE_NONE`; tab-separated exports often quote nothing).
    public var quote: UInt8? = UInt8(ascii: "\"")
    /// A quoted field may span at most this many physical lines; a longer one is read as a
    /// stray quote (an error, or a skip of its opening line).
    public var maxQuotedLines = 1000
    /// The first row names the columns.
    public var header = true
    /// Column types that override inference, by name.
    public var types: [String: ColumnType] = [:]
    public var encoding: TextBytes.Encoding = .utf8
    /// Skip malformed rows (and rows with invalid UTF-8) instead of failing.
    public var skipErrors = false
    /// Unquoted field texts that mean "missing". A quoted field is always a value, so `""` is
    /// an empty string while an empty unquoted field is missing.
    public var na: [String] = CSVReadOptions.defaultNA

    public static let defaultNA = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A"]

    public init() {}
}

/// RFC 4180 CSV: quoted fields, doubled quotes, embedded newlines, CRLF or LF line ends, a
/// UTF-8 byte-order mark. The reader works on bytes (one read of the file), validates UTF-8,
/// infers each column's type (integer, number, boolean, string) and converts columns in
/// parallel. Every physical line is accounted for in the report: lines of rows read, of rows
/// skipped, blank lines and header lines add up to the file's lines.
public enum CSV {
    static let quoted = 1 << 62
    static let escaped = 1 << 61
    static let endMask = (1 << 61) - 1

    /// `progress(bytesDone, bytesTotal)` is called now and then on the calling thread.
    public static func read(path: String, options: CSVReadOptions = CSVReadOptions(),
                            progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, ReadReport) {
        try parse(try RegularFile.read(path), name: path, options: options, progress: progress)
    }

    /// Parses CSV bytes; `name` is the file name errors mention.
    public static func parse(_ raw: [UInt8], name: String, options: CSVReadOptions = CSVReadOptions(),
                             progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, ReadReport) {
        let sep = options.separator
        if sep == 10 || sep == 13 || sep >= 0x80 {
            throw LatheError("separator must be one ASCII character other than a line break")
        }
        if let q = options.quote {
            if q == 10 || q == 13 || q >= 0x80 { throw LatheError("quote must be one ASCII character other than a line break") }
            if q == sep { throw LatheError("the quote character and the separator are both \(String(UnicodeScalar(q)).debugDescription)") }
        }
        if options.maxQuotedLines < 1 { throw LatheError("max_quoted_lines must be at least 1, got \(options.maxQuotedLines)") }
        let bytes = try TextBytes.toUTF8(raw, from: options.encoding, name: name)
        return try bytes.withUnsafeBufferPointer { (buf) throws(LatheError) -> (DataTable, ReadReport) in
            guard let base = buf.baseAddress, buf.count > 0 else {
                if options.header { throw LatheError("\(name) is empty (expected a header line)") }
                return (DataTable.empty, ReadReport())
            }
            var t = Tokenizer(buf: buf, name: name, sep: sep, quote: options.quote, maxQuotedLines: options.maxQuotedLines,
                              skipErrors: options.skipErrors)
            t.invalid = TextBytes.invalidUTF8(base, buf.count, limit: options.skipErrors ? Int.max : 1)
            var report = ReadReport()
            report.lines = t.physicalLines()

            // header (or the first row, to count the fields); a bad header is always an error,
            // since it decides the columns
            var names: [String] = []
            var dataStart = 0
            t.skipErrors = options.skipErrors && !options.header
            let first = try t.run(from: 0, ncols: nil, maxRows: 1)
            t.skipErrors = options.skipErrors
            if first.rows == 0 {
                if options.header { throw LatheError("\(name) has no header line (it holds only blank lines)") }
                report.blankLines = report.lines
                return (DataTable.empty, report)
            }
            let ncols = first.fieldsInFirstRow
            if options.header {
                if t.firstRowInvalidUTF8 { throw t.invalidError(t.invalid[0]) }
                names = headerNames(t, ncols, &report)
                dataStart = first.next
                t.line = first.line
                report.headerLines = t.rowLineCount
                report.blankLines = t.blankLines
            } else {
                names = (1...max(ncols, 1)).map { "col\($0)" }
                dataStart = 0
                t.line = 1
            }
            for k in options.types.keys.sorted() where !names.contains(k) {
                var msg = "types names no column '\(k)'"
                if let h = closestName(k, names) { msg += "; did you mean '\(h)'?" }
                throw LatheError(msg + " (columns: \(names.joined(separator: ", ")))")
            }
            t.resetCounts()
            // capacity guess from the first rows' length; grows by doubling
            var probe = Tokenizer(buf: buf, name: name, sep: sep, quote: options.quote, maxQuotedLines: options.maxQuotedLines, skipErrors: true)
            probe.store = FieldStore(ncols: ncols, capacity: 256)
            let pr = try probe.run(from: dataStart, ncols: ncols, maxRows: 200)
            let perRow = max(1, (pr.next - dataStart) / max(pr.rows, 1))
            t.store = FieldStore(ncols: ncols, capacity: (buf.count - dataStart) / perRow + (buf.count - dataStart) / perRow / 16 + 64)
            t.rowLines.reserveCapacity((buf.count - dataStart) / perRow + 64)
            t.rowEnds.reserveCapacity((buf.count - dataStart) / perRow + 64)
            t.progress = progress
            let res = try t.run(from: dataStart, ncols: ncols, maxRows: nil)
            report.skipped = t.report.skipped
            report.skippedLines = t.report.skippedLines
            report.problems = t.report.problems
            report.blankLines += t.blankLines
            report.rowLines = t.rowLineCount
            let rows = res.rows

            // convert columns in parallel
            let naSet = NASet(options.na)
            let tok = t
            let converted = try Parallel.map(ncols) { (k) throws(LatheError) -> (Column, [Int]) in
                var conv = ColumnConverter(tok: tok, col: k, ncols: ncols, rows: rows, na: naSet)
                let c = try conv.convert(forced: options.types[names[k]], name: names[k], skipErrors: options.skipErrors)
                return (c, conv.badRows)
            }
            let cols = converted.map { $0.0 }
            var table = try DataTable(names: names, columns: cols)
            var badColumn: [Int: String] = [:]
            for (k, c) in converted.enumerated() {
                for r in c.1 where badColumn[r] == nil { badColumn[r] = names[k] }
            }
            if !badColumn.isEmpty {
                for r in badColumn.keys.sorted() {
                    let col = badColumn[r]!
                    let p = ReadReport.Problem(line: tok.rowLines[r], endLine: tok.rowEnds[r],
                                               message: "column '\(col)' holds a value that is not \(options.types[col]?.rawValue ?? "of its type") (from types)")
                    report.add(p)
                    report.rowLines -= p.lineCount
                }
                table = table.take((0..<rows).filter { badColumn[$0] == nil })
            }
            report.rows = table.rowCount
            return (table, report)
        }
    }

    /// Column names from the header row: trimmed, empty ones called colN, duplicates renamed.
    static func headerNames(_ t: Tokenizer, _ ncols: Int, _ report: inout ReadReport) -> [String] {
        var names: [String] = []
        var seen: [String: Int] = [:]
        for k in 0..<ncols {
            var s = t.fieldString(t.fields[2 * k], t.fields[2 * k + 1])
            s = s.trimmingCharacters(in: .whitespaces)
            if s.isEmpty { s = "col\(k + 1)" }
            if let c = seen[s] {
                var m = c + 1
                while seen["\(s)_\(m)"] != nil || names.contains("\(s)_\(m)") { m += 1 }
                let renamed = "\(s)_\(m)"
                report.notes.append("header \"\(s)\" appears twice; column \(k + 1) is called \"\(renamed)\"")
                seen[s] = m
                s = renamed
            }
            seen[s] = seen[s] ?? 1
            names.append(s)
        }
        return names
    }

    /// Field ranges stored per column (contiguous, so converting a column reads only its own
    /// memory): column c's row r is at cols[c][2r] (start) and cols[c][2r+1] (end | flags).
    final class FieldStore: @unchecked Sendable {
        var cols: [UnsafeMutablePointer<Int>]
        private(set) var capacity: Int

        init(ncols: Int, capacity: Int) {
            self.capacity = max(capacity, 16)
            cols = (0..<ncols).map { _ in UnsafeMutablePointer<Int>.allocate(capacity: 2 * max(capacity, 16)) }
        }
        deinit { for c in cols { c.deallocate() } }

        @inline(__always) func ensure(_ rows: Int) {
            if rows <= capacity { return }
            let newCap = max(rows, capacity * 2)
            for k in cols.indices {
                let nb = UnsafeMutablePointer<Int>.allocate(capacity: 2 * newCap)
                nb.update(from: cols[k], count: 2 * capacity)
                cols[k].deallocate()
                cols[k] = nb
            }
            capacity = newCap
        }
    }

    /// The scanner: walks bytes once, recording each field's byte range (and whether it was
    /// quoted or holds doubled quotes) in one flat array, row after row.
    struct Tokenizer {
        let buf: UnsafeBufferPointer<UInt8>
        let p: UnsafePointer<UInt8>
        let n: Int
        let name: String
        let sep: UInt8
        /// The quote byte, or -1 when nothing is quoted.
        let quote: Int
        let maxQuotedLines: Int
        var skipErrors: Bool
        /// Fields of the first row (header mode).
        var fields: [Int] = []
        /// Fields of data rows.
        var store: FieldStore? = nil
        /// First and last physical line of each row read.
        var rowLines: [Int] = []
        var rowEnds: [Int] = []
        /// Physical lines covered by the rows read, and blank lines met.
        var rowLineCount = 0
        var blankLines = 0
        var line = 1
        var invalid: [Int] = []
        var invalidCursor = 0
        var firstRowInvalidUTF8 = false
        var report = ReadReport()
        var progress: ((Int, Int) -> Void)? = nil

        init(buf: UnsafeBufferPointer<UInt8>, name: String, sep: UInt8, quote: UInt8?, maxQuotedLines: Int, skipErrors: Bool) {
            self.buf = buf
            // an empty buffer is handled before any scanning
            p = buf.baseAddress ?? UnsafePointer(bitPattern: 1)!
            n = buf.count
            self.name = name
            self.sep = sep
            self.quote = quote.map { Int($0) } ?? -1
            self.maxQuotedLines = maxQuotedLines
            self.skipErrors = skipErrors
        }

        struct Result { var rows: Int; var next: Int; var line: Int; var fieldsInFirstRow: Int }

        /// A quoted field that crossed a line end: where it opened.
        struct OpenQuote { var pos: Int; var line: Int }

        mutating func resetCounts() {
            fields.removeAll(keepingCapacity: true)
            rowLines.removeAll(keepingCapacity: true)
            rowEnds.removeAll(keepingCapacity: true)
            rowLineCount = 0
            blankLines = 0
            invalidCursor = 0
            report = ReadReport()
        }

        func err(_ line: Int, _ pos: Int?, _ msg: String) -> LatheError {
            if let pos {
                return LatheError("\(name) line \(line), column \(column(pos)): \(msg)")
            }
            return LatheError("\(name) line \(line): \(msg)")
        }

        func column(_ pos: Int) -> Int {
            TextBytes.column(buf, lineStart: TextBytes.lineStart(buf, pos), pos: pos)
        }

        func invalidError(_ pos: Int) -> LatheError {
            let lc = TextBytes.lineColumn(buf, pos)
            return LatheError("\(name) line \(lc.line), column \(lc.column): invalid UTF-8 (byte 0x\(String(p[pos], radix: 16, uppercase: true))); pass encoding = \"latin-1\" or \"cp1252\" if the file is not UTF-8")
        }

        func fieldString(_ start: Int, _ endFlags: Int) -> String {
            let end = endFlags & CSV.endMask
            var bytes = Array(buf[start..<end])
            if endFlags & CSV.escaped != 0 { bytes = CSV.unescape(bytes, quote: UInt8(truncatingIfNeeded: quote)) }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// First byte at or after i that is sep, LF or CR (SWAR, 8 bytes at a time).
        @inline(__always)
        func scanUnquoted(_ i0: Int) -> Int {
            var i = i0
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let ms = UInt64(sep) &* ones, mn: UInt64 = 10 &* ones, mr: UInt64 = 13 &* ones
            while i + 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let a = w ^ ms, b = w ^ mn, c = w ^ mr
                let t = ((a &- ones) & ~a | (b &- ones) & ~b | (c &- ones) & ~c) & highs
                if t != 0 { return i + t.trailingZeroBitCount >> 3 }
                i += 8
            }
            while i < n {
                let c = p[i]
                if c == sep || c == 10 || c == 13 { return i }
                i += 1
            }
            return n
        }

        /// Line ends in [a, b): each LF, and each CR not followed by LF (the reader's line ends
        /// are LF, CRLF and a lone CR).
        @inline(__always)
        func countLineEnds(_ a: Int, _ b: Int) -> Int {
            var k = 0
            var i = a
            while i < b {
                guard let q = memchr(p + i, 10, b - i) else { break }
                k += 1
                i = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - p + 1
            }
            i = a
            while i < b {
                guard let q = memchr(p + i, 13, b - i) else { break }
                let at = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - p
                if at + 1 >= n || p[at + 1] != 10 { k += 1 }
                i = at + 1
            }
            return k
        }

        /// The next quote at or after `from` and the line it is on, searched a chunk at a time
        /// so that a runaway field costs about max_quoted_lines lines, not the rest of the file:
        /// (-1, line) when more lines than that pass without a quote, (n, line) at the end.
        func nextQuote(from start: Int, line startLine: Int, openLine: Int) -> (Int, Int) {
            var from = start
            var line = startLine
            while true {
                let end = min(n, from + 1 << 16)
                if let q = memchr(p + from, Int32(quote), end - from) {
                    let qi = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - p
                    return (qi, line + countLineEnds(from, qi))
                }
                line += countLineEnds(from, end)
                if line - openLine + 1 > maxQuotedLines { return (-1, line) }
                if end == n { return (n, line) }
                from = end
            }
        }

        /// Physical lines of the whole file.
        func physicalLines() -> Int {
            if n == 0 { return 0 }
            let last = p[n - 1]
            return countLineEnds(0, n) + (last == 10 || last == 13 ? 0 : 1)
        }

        /// The offset just past the line end that closes the line holding `pos` (n at the end).
        func afterLineEnd(_ pos: Int) -> Int {
            var i = pos
            while i < n && p[i] != 10 && p[i] != 13 { i += 1 }
            if i < n && p[i] == 13 { i += 1; if i < n && p[i] == 10 { i += 1 }; return i }
            return i < n ? i + 1 : n
        }

        /// Separators from `pos` to the end of its line.
        func separators(from pos: Int) -> Int {
            var k = 0
            var i = pos
            while i < n && p[i] != 10 && p[i] != 13 {
                if p[i] == sep { k += 1 }
                i += 1
            }
            return k
        }

        /// "line 12" or "lines 12-14".
        static func lineRange(_ a: Int, _ b: Int) -> String { a == b ? "line \(a)" : "lines \(a)-\(b)" }

        /// Handles a quote that does not close properly (`tail` says how, after "quoted field
        /// opened at ..."): an error, or (skip mode) a skip of the row's lines through the
        /// quote's opening line. Returns where reading resumes.
        mutating func strayQuote(_ q: OpenQuote, rowLine: Int, tail: String, fieldBase: Int) throws(LatheError) -> Int {
            let col = column(q.pos)
            if !skipErrors {
                throw err(q.line, q.pos, "quoted field opened here \(tail) (a stray quote? pass quote = false if the file does not quote fields, or on_error = \"skip\" to skip the line where it opened)")
            }
            let resume = afterLineEnd(q.pos)
            let ended = resume > 0 && (p[resume - 1] == 10 || p[resume - 1] == 13)
            report.add(ReadReport.Problem(line: rowLine, endLine: q.line, column: rowLine == q.line ? col : nil,
                                          message: "quoted field opened at line \(q.line), column \(col) \(tail); skipped \(Tokenizer.lineRange(rowLine, q.line)) as a stray quote" + (ended ? " and resumed at line \(q.line + 1)" : "")))
            fields.removeSubrange(fieldBase...)
            line = ended ? q.line + 1 : q.line
            while invalidCursor > 0 && invalid[invalidCursor - 1] >= resume { invalidCursor -= 1 }
            return resume
        }

        /// The last physical line when scanning reached the end of the file on line `line`.
        func eofLine(_ line: Int) -> Int {
            n > 0 && (p[n - 1] == 10 || p[n - 1] == 13) ? line - 1 : line
        }

        /// Scans rows from byte i. With ncols nil every field of the first row is kept (the
        /// header); otherwise rows must have exactly ncols fields.
        mutating func run(from start: Int, ncols: Int?, maxRows: Int?) throws(LatheError) -> Result {
            var i = start
            var rows = 0
            var firstCount = 0
            let limit = ncols ?? Int.max
            rowLoop: while i < n {
                if let m = maxRows, rows >= m { break }
                let c0 = p[i]
                if c0 == 10 || c0 == 13 {   // blank line
                    i += 1
                    if c0 == 13 && i < n && p[i] == 10 { i += 1 }
                    line += 1
                    blankLines += 1
                    continue
                }
                let rowStart = i
                let rowLine = line
                let fieldBase = fields.count
                store?.ensure(rows + 1)
                let row2 = 2 * rows
                var nf = 0
                var bad: (Int, Int?, String)? = nil  // line, pos, message
                var spanning: OpenQuote? = nil
                var spanningField = 0
                var ended = false
                while true {
                    var fs = i
                    var fe = i
                    var flags = 0
                    if i < n && Int(p[i]) == quote {
                        flags = CSV.quoted
                        let open = OpenQuote(pos: i, line: line)
                        i += 1
                        fs = i
                        while true {
                            let (qi, last) = nextQuote(from: i, line: line, openLine: open.line)
                            if qi < 0 || last - open.line + 1 > maxQuotedLines {
                                let tail = "spans more than max_quoted_lines = \(maxQuotedLines) lines"
                                    + (qi < 0 ? " (no closing quote within them)" : (qi < n ? " (it closes at line \(last))" : " (it is never closed)"))
                                i = try strayQuote(open, rowLine: rowLine, tail: tail, fieldBase: fieldBase)
                                continue rowLoop
                            }
                            if qi == n {
                                let tail = "is never closed (it runs to the end of the file, line \(max(eofLine(last), open.line)))"
                                i = try strayQuote(open, rowLine: rowLine, tail: tail, fieldBase: fieldBase)
                                continue rowLoop
                            }
                            line = last
                            if qi + 1 < n && Int(p[qi + 1]) == quote {
                                flags |= CSV.escaped
                                i = qi + 2
                                continue
                            }
                            fe = qi
                            i = qi + 1
                            break
                        }
                        if line > open.line && spanning == nil { spanning = open; spanningField = nf }
                        if i < n {
                            let c = p[i]
                            if c != sep && c != 10 && c != 13 {
                                if line > open.line && skipErrors {
                                    let tail = "runs to line \(line) (\(line - open.line + 1) lines), where its closing quote is followed by \(Tokenizer.describe(c))"
                                    i = try strayQuote(open, rowLine: rowLine, tail: tail, fieldBase: fieldBase)
                                    continue rowLoop
                                }
                                if bad == nil {
                                    let note = line > open.line ? "; the quoted field opened at line \(open.line), column \(column(open.pos)) (a stray quote? pass quote = false if the file does not quote fields)" : ""
                                    bad = (line, i, "unexpected character after a closing quote (a quote inside a field must be doubled: \(Tokenizer.doubled(quote)))" + note)
                                }
                                i = scanUnquoted(i)
                            }
                        }
                    } else {
                        i = scanUnquoted(i)
                        fe = i
                    }
                    if nf < limit {
                        if let st = store {
                            let cp = st.cols[nf]
                            cp[row2] = fs
                            cp[row2 + 1] = fe | flags
                        } else {
                            fields.append(fs)
                            fields.append(fe | flags)
                        }
                    }
                    nf += 1
                    if i >= n { break }
                    let c = p[i]
                    if c == sep {
                        i += 1
                        if i >= n {
                            // a separator at the very end: one more empty field
                            if nf < limit {
                                if let st = store {
                                    st.cols[nf][row2] = i
                                    st.cols[nf][row2 + 1] = i
                                } else {
                                    fields.append(i); fields.append(i)
                                }
                            }
                            nf += 1
                            break
                        }
                        continue
                    }
                    // line end
                    if c == 13 {
                        i += 1
                        if i < n && p[i] == 10 { i += 1 }
                    } else {
                        i += 1
                    }
                    line += 1
                    ended = true
                    break
                }
                let rowLast = ended ? line - 1 : line
                // the row is complete: check it
                if ncols == nil { firstCount = nf }
                var countWrong = false
                if bad == nil, let nc = ncols, nf != nc {
                    countWrong = true
                    var msg = "expected \(nc) fields, got \(nf)"
                    if let q = spanning {
                        msg += " (the row runs to line \(rowLast) through the quoted field opened at line \(q.line), column \(column(q.pos)): a stray quote? pass quote = false if the file does not quote fields)"
                    } else {
                        msg += nf < nc ? " (a missing separator, or an unquoted line break?)" : " (an unquoted separator inside a field?)"
                    }
                    bad = (rowLine, nil, msg)
                }
                // a multi-line quoted field in a bad row is a stray quote when its opening line,
                // with that quote read as an ordinary character, has the right number of fields
                // (otherwise the whole row is skipped, as the field may be real)
                if let b = bad, let q = spanning, skipErrors,
                   !countWrong || spanningField + 1 + separators(from: q.pos) == ncols {
                    let span = "runs to line \(rowLast) (\(rowLast - q.line + 1) lines)"
                    let tail = countWrong ? "\(span), and that row has \(nf) fields, expected \(ncols ?? 0)" : "\(span), and that row is malformed: \(b.2)"
                    i = try strayQuote(q, rowLine: rowLine, tail: tail, fieldBase: fieldBase)
                    continue
                }
                var badUTF8: Int? = nil
                while invalidCursor < invalid.count && invalid[invalidCursor] < i {
                    if invalid[invalidCursor] >= rowStart, badUTF8 == nil { badUTF8 = invalid[invalidCursor] }
                    invalidCursor += 1
                }
                if ncols == nil && badUTF8 != nil { firstRowInvalidUTF8 = true }
                if let pos = badUTF8, ncols != nil {
                    if !skipErrors { throw invalidError(pos) }
                    let lc = TextBytes.lineColumn(buf, pos)
                    report.add(ReadReport.Problem(line: rowLine, endLine: rowLast, column: lc.line == rowLine ? lc.column : nil,
                                                  message: "invalid UTF-8 (byte 0x\(String(p[pos], radix: 16, uppercase: true)) at line \(lc.line), column \(lc.column))"))
                    fields.removeSubrange(fieldBase...)
                    continue
                }
                if let b = bad {
                    if !skipErrors { throw err(b.0, b.1, b.2) }
                    report.add(ReadReport.Problem(line: rowLine, endLine: rowLast, column: b.1.map { column($0) }, message: b.2))
                    fields.removeSubrange(fieldBase...)
                    continue
                }
                rowLines.append(rowLine)
                rowEnds.append(rowLast)
                rowLineCount += rowLast - rowLine + 1
                rows += 1
                if rows & 0xFFFF == 0 {
                    try Interrupt.check()
                    progress?(i, n)
                }
            }
            return Result(rows: rows, next: i, line: line, fieldsInFirstRow: firstCount)
        }

        static func describe(_ c: UInt8) -> String {
            if c >= 32 && c < 127 { return "'\(Character(Unicode.Scalar(c)))'" }
            return "byte 0x\(String(c, radix: 16, uppercase: true))"
        }

        static func doubled(_ quote: Int) -> String {
            let q = String(Character(Unicode.Scalar(UInt8(truncatingIfNeeded: quote))))
            return q + q
        }
    }

    /// Undoes doubled quotes.
    static func unescape(_ b: [UInt8], quote: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            out.append(b[i])
            if b[i] == quote && i + 1 < b.count && b[i + 1] == quote { i += 2 } else { i += 1 }
        }
        return out
    }

    /// The texts that mean missing, for fast byte comparison.
    struct NASet: @unchecked Sendable {
        let empty: Bool
        let items: [[UInt8]]
        let maxLen: Int
        init(_ na: [String]) {
            empty = na.contains("")
            items = na.filter { !$0.isEmpty }.map { Array($0.utf8) }
            maxLen = items.map { $0.count }.max() ?? 0
        }
        @inline(__always) func contains(_ p: UnsafePointer<UInt8>, _ len: Int) -> Bool {
            if len == 0 { return empty }
            if len > maxLen { return false }
            for it in items where it.count == len {
                if memcmp(p, it, len) == 0 { return true }
            }
            return false
        }
    }

    /// Turns one column's raw fields into a typed column.
    struct ColumnConverter {
        let tok: Tokenizer
        let col: Int
        let ncols: Int
        let rows: Int
        let na: NASet
        var badRows: [Int] = []

        init(tok: Tokenizer, col: Int, ncols: Int, rows: Int, na: NASet) {
            self.tok = tok
            self.col = col
            self.ncols = ncols
            self.rows = rows
            self.na = na
        }

        mutating func convert(forced: ColumnType?, name: String, skipErrors: Bool) throws(LatheError) -> Column {
            let f = UnsafeBufferPointer(start: tok.store!.cols[col], count: 2 * rows)
            let p = tok.p
            var missing = Bitmap(count: rows)
            var anyMissing = false
            var canInt = forced == nil || forced == .integer
            var canNum = forced == nil || forced == .number
            var canBool = forced == nil || forced == .boolean
            if forced == .string { canInt = false; canNum = false; canBool = false }
            var anyValue = false
            var ints: [Int64] = []
            var nums: [Double] = []
            var bools: [Bool] = []
            if canInt { ints = [Int64](repeating: 0, count: rows) }
            do {
                let fb = f
                for r in 0..<rows {
                    let k = 2 * r
                    let s = fb[k], ef = fb[k + 1]
                    let e = ef & CSV.endMask
                    let len = e - s
                    if ef & CSV.quoted == 0 && na.contains(p + s, len) {
                        missing[r] = true
                        anyMissing = true
                        continue
                    }
                    anyValue = true
                    if !(canInt || canNum || canBool) { continue }
                    if ef & CSV.escaped != 0 {
                        // a doubled quote never belongs to a number or boolean
                        canInt = false; canNum = false; canBool = false
                        continue
                    }
                    let b = UnsafeBufferPointer(start: p + s, count: len)
                    if canInt {
                        if let v = ValueParser.integer(b) { ints[r] = v; canBool = false; continue }
                        canInt = false
                        if canNum {
                            nums = [Double](repeating: 0, count: rows)
                            for q in 0..<r where !missing[q] { nums[q] = Double(ints[q]) }
                            ints = []
                        }
                    }
                    if canNum {
                        if nums.isEmpty { nums = [Double](repeating: 0, count: rows) }
                        if let v = ValueParser.number(b) { nums[r] = v; canBool = false; continue }
                        canNum = false
                        nums = []
                    }
                    if canBool {
                        if bools.isEmpty { bools = [Bool](repeating: false, count: rows) }
                        if let v = ValueParser.boolean(b) { bools[r] = v; continue }
                        canBool = false
                        bools = []
                    }
                }
            }
            let m: Bitmap? = anyMissing ? missing : nil
            if let forced, forced != .string, !(canInt || canNum || canBool) {
                return try convertForced(forced, name: name, missing: missing, skipErrors: skipErrors)
            }
            if !anyValue && forced == nil { return Column.missing(.string, count: rows) }
            if canInt { return Column(.integer(ints), missing: m) }
            if canNum {
                if nums.isEmpty { nums = [Double](repeating: 0, count: rows) }
                return Column(.number(nums), missing: m)
            }
            if canBool && !bools.isEmpty && forced != .string {
                return Column(.boolean(bools), missing: m)
            }
            if canBool && forced == .boolean { return Column(.boolean([Bool](repeating: false, count: rows)), missing: m) }
            return Column(.string(strings(missing: missing)), missing: m)
        }

        /// A forced type that some value does not fit: report (or skip) the first such rows.
        mutating func convertForced(_ type: ColumnType, name: String, missing: Bitmap, skipErrors: Bool) throws(LatheError) -> Column {
            let f = UnsafeBufferPointer(start: tok.store!.cols[col], count: 2 * rows)
            let p = tok.p
            var cells = [Cell](repeating: .missing, count: rows)
            for r in 0..<rows where !missing[r] {
                let k = 2 * r
                let s = f[k], ef = f[k + 1]
                let b = UnsafeBufferPointer(start: p + s, count: (ef & CSV.endMask) - s)
                var c: Cell? = nil
                if ef & CSV.escaped == 0 {
                    switch type {
                    case .integer: c = ValueParser.integer(b).map { .integer($0) }
                    case .number: c = ValueParser.number(b).map { .number($0) }
                    case .boolean: c = ValueParser.boolean(b).map { .boolean($0) }
                    case .string: c = nil
                    }
                }
                if let c { cells[r] = c; continue }
                if skipErrors { badRows.append(r); continue }
                let text = tok.fieldString(s, ef)
                let what = type == .integer ? "an integer" : (type == .number ? "a number" : "a boolean (true or false)")
                throw tok.err(tok.rowLines[r], s, "column '\(name)' is \(type.rawValue) (from types), but \(text.debugDescription) is not \(what)")
            }
            return Column.build(cells: cells, as: type)
        }

        func strings(missing: Bitmap) -> StringArray {
            let f = UnsafeBufferPointer(start: tok.store!.cols[col], count: 2 * rows)
            let p = tok.p
            var total = 0
            for r in 0..<rows where !missing[r] {
                let k = 2 * r
                total += (f[k + 1] & CSV.endMask) - f[k]
            }
            var offsets = [Int](repeating: 0, count: rows + 1)
            var out = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: max(total, 1)) { dst, initialized in
                let d = dst.baseAddress!
                for r in 0..<rows {
                    if !missing[r] {
                        let k = 2 * r
                        let s = f[k], ef = f[k + 1]
                        let e = ef & CSV.endMask
                        if ef & CSV.escaped == 0 {
                            memcpy(d + out, p + s, e - s)
                            out += e - s
                        } else {
                            let q = UInt8(truncatingIfNeeded: tok.quote)
                            var i = s
                            while i < e {
                                d[out] = p[i]
                                out += 1
                                if p[i] == q && i + 1 < e && p[i + 1] == q { i += 2 } else { i += 1 }
                            }
                        }
                    }
                    offsets[r + 1] = out
                }
                initialized = out
            }
            return StringArray(bytes: bytes, offsets: offsets)
        }
    }

    // MARK: - Writing

    public struct WriteOptions: Sendable {
        public var separator: UInt8 = UInt8(ascii: ",")
        /// The quote character, or nil to write every field as it is (fields holding the
        /// separator or a line break are then an error).
        public var quote: UInt8? = UInt8(ascii: "\"")
        public var header = true
        /// Text written for missing values (unquoted).
        public var na = ""
        public var lineEnding = "\n"
        public init() {}
    }

    /// The table as CSV bytes (RFC 4180: fields quoted when they hold the separator, the
    /// quote, a line break, surrounding spaces, or text that reads back as missing). Without a
    /// quote character, a field holding the separator or a line break is an error.
    public static func write(_ t: DataTable, options: WriteOptions = WriteOptions()) throws(LatheError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(t.byteSize + t.rowCount * (t.columnCount + 1) * 2 + 64)
        let sep = options.separator
        if let q = options.quote, q == sep || q == 10 || q == 13 || q >= 0x80 {
            throw LatheError("the quote must be one ASCII character other than the separator or a line break")
        }
        let eol = Array(options.lineEnding.utf8)
        let naBytes = Array(options.na.utf8)
        if options.quote == nil, naBytes.contains(where: { $0 == sep || $0 == 10 || $0 == 13 }) {
            throw LatheError("na \(options.na.debugDescription) holds the separator or a line break, which cannot be written without quoting")
        }
        let naTexts = Set(CSVReadOptions.defaultNA + [options.na])
        let naMax = naTexts.map { $0.utf8.count }.max() ?? 0

        /// Writes a field; returns false when it cannot be written (no quoting, and it holds
        /// the separator or a line break).
        func writeString(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let quote = options.quote else {
                for c in b where c == sep || c == 10 || c == 13 { return false }
                out.append(contentsOf: b)
                return true
            }
            var needs = b.isEmpty
            if !needs {
                if b[0] == 32 || b[0] == 9 || b[b.count - 1] == 32 || b[b.count - 1] == 9 { needs = true }
                else {
                    for c in b where c == sep || c == quote || c == 10 || c == 13 { needs = true; break }
                }
                if !needs && b.count <= naMax && naTexts.contains(String(decoding: b, as: UTF8.self)) { needs = true }
            }
            if !needs { out.append(contentsOf: b); return true }
            out.append(quote)
            for c in b {
                out.append(c)
                if c == quote { out.append(quote) }
            }
            out.append(quote)
            return true
        }
        func unwritable(_ what: String) -> LatheError {
            let sepName = sep == 9 ? "a tab" : "the separator \(String(UnicodeScalar(sep)).debugDescription)"
            return LatheError("\(what) holds \(sepName) or a line break, which cannot be written with quote = false (pass a quote character, or clean the text first)")
        }
        if options.header {
            for (k, name) in t.names.enumerated() {
                if k > 0 { out.append(sep) }
                var s = name
                if !s.withUTF8({ writeString($0) }) { throw unwritable("the column name \(name.debugDescription)") }
            }
            out.append(contentsOf: eol)
        }
        for r in 0..<t.rowCount {
            for (k, col) in t.columns.enumerated() {
                if k > 0 { out.append(sep) }
                if col.missing[r] { out.append(contentsOf: naBytes); continue }
                switch col.values {
                case .string(let a):
                    if !a.withBytes(r, { writeString($0) }) { throw unwritable("column '\(t.names[k])' row \(r + 1)") }
                case .integer(let a): out.append(contentsOf: String(a[r]).utf8)
                case .number(let a): out.append(contentsOf: formatNumber(a[r]).utf8)
                case .boolean(let a): out.append(contentsOf: (a[r] ? "true" : "false").utf8)
                }
            }
            out.append(contentsOf: eol)
        }
        return out
    }
}

extension CSV {
    /// The field separator: `given` (one ASCII character, not a quote or a line break), else a
    /// tab for .tsv and .tab files, else a comma.
    public static func separator(_ given: String?, path: String) throws(LatheError) -> UInt8 {
        guard let given else { return [".tsv", ".tab"].contains { path.lowercased().hasSuffix($0) } ? 9 : 44 }
        let b = Array(given.utf8)
        guard b.count == 1, b[0] < 0x80, b[0] != 34, b[0] != 10, b[0] != 13 else {
            throw LatheError("expected one ASCII character such as \",\", \";\" or \"\\t\", got \(JSONL.jsonString(given))")
        }
        return b[0]
    }

    /// The quote character: one ASCII character, not a line break or the separator.
    public static func quote(_ given: String, separator: UInt8) throws(LatheError) -> UInt8 {
        let b = Array(given.utf8)
        guard b.count == 1, b[0] < 0x80, b[0] != 10, b[0] != 13 else {
            throw LatheError("expected one ASCII character such as \"'\", got \(JSONL.jsonString(given))")
        }
        if b[0] == separator { throw LatheError("it is the separator \(JSONL.jsonString(given)); the quote and the separator must differ") }
        return b[0]
    }
}
