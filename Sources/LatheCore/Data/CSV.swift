import Foundation

/// Options of the CSV reader.
public struct CSVReadOptions: Sendable {
    /// Field separator (one ASCII byte).
    public var separator: UInt8 = UInt8(ascii: ",")
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
/// parallel.
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
        if sep == 34 || sep == 10 || sep == 13 || sep >= 0x80 {
            throw LatheError("separator must be one ASCII character other than a quote or a line break")
        }
        let bytes = try TextBytes.toUTF8(raw, from: options.encoding, name: name)
        return try bytes.withUnsafeBufferPointer { (buf) throws(LatheError) -> (DataTable, ReadReport) in
            var t = Tokenizer(buf: buf, name: name, sep: sep, skipErrors: options.skipErrors)
            guard let base = buf.baseAddress, buf.count > 0 else {
                if options.header { throw LatheError("\(name) is empty (expected a header line)") }
                return (DataTable.empty, ReadReport())
            }
            t.invalid = TextBytes.invalidUTF8(base, buf.count, limit: options.skipErrors ? Int.max : 1)

            // header (or the first row, to count the fields)
            var names: [String] = []
            var report = ReadReport()
            var dataStart = 0
            let first = try t.run(from: 0, ncols: nil, maxRows: 1)
            if first.rows == 0 {
                if options.header { throw LatheError("\(name) has no header line (it holds only blank lines)") }
                return (DataTable.empty, report)
            }
            let ncols = first.fieldsInFirstRow
            t.report = ReadReport()
            if options.header {
                if t.firstRowInvalidUTF8 { throw t.invalidError(t.invalid[0]) }
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
                dataStart = first.next
                t.line = first.line
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
            t.fields.removeAll(keepingCapacity: true)
            t.rowLines.removeAll(keepingCapacity: true)
            t.invalidCursor = 0
            // capacity guess from the first rows' length; grows by doubling
            var probe = Tokenizer(buf: buf, name: name, sep: sep, skipErrors: true)
            probe.store = FieldStore(ncols: ncols, capacity: 256)
            let pr = try probe.run(from: dataStart, ncols: ncols, maxRows: 200)
            let perRow = max(1, (pr.next - dataStart) / max(pr.rows, 1))
            t.store = FieldStore(ncols: ncols, capacity: (buf.count - dataStart) / perRow + (buf.count - dataStart) / perRow / 16 + 64)
            t.rowLines.reserveCapacity((buf.count - dataStart) / perRow + 64)
            t.progress = progress
            let res = try t.run(from: dataStart, ncols: ncols, maxRows: nil)
            report.skipped = t.report.skipped
            report.problems = t.report.problems
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
            let badRows = converted.map { $0.1 }
            var table = try DataTable(names: names, columns: cols)
            let bad = Set(badRows.joined())
            if !bad.isEmpty {
                for r in bad.sorted() {
                    report.add(ReadReport.Problem(line: tok.rowLines[r], column: nil, message: "a value does not fit its column type"))
                }
                table = table.take((0..<rows).filter { !bad.contains($0) })
            }
            report.rows = table.rowCount
            return (table, report)
        }
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
        let skipErrors: Bool
        /// Fields of the first row (header mode).
        var fields: [Int] = []
        /// Fields of data rows.
        var store: FieldStore? = nil
        var rowLines: [Int] = []
        var line = 1
        var invalid: [Int] = []
        var invalidCursor = 0
        var firstRowInvalidUTF8 = false
        var report = ReadReport()
        var progress: ((Int, Int) -> Void)? = nil

        init(buf: UnsafeBufferPointer<UInt8>, name: String, sep: UInt8, skipErrors: Bool) {
            self.buf = buf
            // an empty buffer is handled before any scanning
            p = buf.baseAddress ?? UnsafePointer(bitPattern: 1)!
            n = buf.count
            self.name = name
            self.sep = sep
            self.skipErrors = skipErrors
        }

        struct Result { var rows: Int; var next: Int; var line: Int; var fieldsInFirstRow: Int }

        func err(_ line: Int, _ pos: Int?, _ msg: String) -> LatheError {
            if let pos {
                let col = TextBytes.column(buf, lineStart: TextBytes.lineStart(buf, pos), pos: pos)
                return LatheError("\(name) line \(line), column \(col): \(msg)")
            }
            return LatheError("\(name) line \(line): \(msg)")
        }

        func invalidError(_ pos: Int) -> LatheError {
            let lc = TextBytes.lineColumn(buf, pos)
            return LatheError("\(name) line \(lc.line), column \(lc.column): invalid UTF-8 (byte 0x\(String(p[pos], radix: 16, uppercase: true))); pass encoding = \"latin-1\" or \"cp1252\" if the file is not UTF-8")
        }

        func fieldString(_ start: Int, _ endFlags: Int) -> String {
            let end = endFlags & CSV.endMask
            var bytes = Array(buf[start..<end])
            if endFlags & CSV.escaped != 0 { bytes = CSV.unescape(bytes) }
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

        @inline(__always)
        func countNewlines(_ a: Int, _ b: Int) -> Int {
            var k = 0
            var i = a
            while i < b {
                guard let q = memchr(p + i, 10, b - i) else { break }
                k += 1
                i = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - p + 1
            }
            return k
        }

        /// Scans rows from byte i. With ncols nil every field of the first row is kept (the
        /// header); otherwise rows must have exactly ncols fields.
        mutating func run(from start: Int, ncols: Int?, maxRows: Int?) throws(LatheError) -> Result {
            var i = start
            var rows = 0
            var firstCount = 0
            let limit = ncols ?? Int.max
            while i < n {
                if let m = maxRows, rows >= m { break }
                let c0 = p[i]
                if c0 == 10 { line += 1; i += 1; continue }         // blank line
                if c0 == 13 {
                    i += 1
                    if i < n && p[i] == 10 { i += 1 }
                    line += 1
                    continue
                }
                let rowStart = i
                let rowLine = line
                let fieldBase = fields.count
                store?.ensure(rows + 1)
                let row2 = 2 * rows
                var nf = 0
                var bad: (Int, Int?, String)? = nil  // line, pos, message
                while true {
                    var fs = i
                    var fe = i
                    var flags = 0
                    if i < n && p[i] == 34 {
                        flags = CSV.quoted
                        let qline = line
                        i += 1
                        fs = i
                        while true {
                            guard let q = memchr(p + i, 34, n - i) else {
                                let e = err(qline, fs - 1, "unterminated quoted field (the quote opened here is never closed)")
                                if skipErrors {
                                    report.add(ReadReport.Problem(line: qline, column: nil, message: "unterminated quoted field"))
                                    line += countNewlines(i, n)
                                    fields.removeSubrange(fieldBase...)
                                    return Result(rows: rows, next: n, line: line, fieldsInFirstRow: firstCount)
                                }
                                throw e
                            }
                            let qi = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - p
                            line += countNewlines(i, qi)
                            if qi + 1 < n && p[qi + 1] == 34 {
                                flags |= CSV.escaped
                                i = qi + 2
                                continue
                            }
                            fe = qi
                            i = qi + 1
                            break
                        }
                        if i < n {
                            let c = p[i]
                            if c != sep && c != 10 && c != 13 {
                                if bad == nil {
                                    bad = (line, i, "unexpected character after a closing quote (a quote inside a field must be doubled: \"\")")
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
                    break
                }
                // the row is complete: check it
                if ncols == nil { firstCount = nf }
                if bad == nil, let nc = ncols, nf != nc {
                    bad = (rowLine, nil, "expected \(nc) fields, got \(nf)" + (nf < nc ? " (a missing separator, or an unquoted line break?)" : " (an unquoted separator inside a field?)"))
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
                    report.add(ReadReport.Problem(line: lc.line, column: lc.column, message: "invalid UTF-8"))
                    fields.removeSubrange(fieldBase...)
                    continue
                }
                if let b = bad {
                    if !skipErrors { throw err(b.0, b.1, b.2) }
                    var col: Int? = nil
                    if let pos = b.1 { col = TextBytes.column(buf, lineStart: TextBytes.lineStart(buf, pos), pos: pos) }
                    report.add(ReadReport.Problem(line: b.0, column: col, message: b.2))
                    fields.removeSubrange(fieldBase...)
                    continue
                }
                rowLines.append(rowLine)
                rows += 1
                if rows & 0xFFFF == 0 {
                    try Interrupt.check()
                    progress?(i, n)
                }
            }
            return Result(rows: rows, next: i, line: line, fieldsInFirstRow: firstCount)
        }
    }

    static func unescape(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            out.append(b[i])
            if b[i] == 34 && i + 1 < b.count && b[i + 1] == 34 { i += 2 } else { i += 1 }
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
                            var i = s
                            while i < e {
                                d[out] = p[i]
                                out += 1
                                if p[i] == 34 && i + 1 < e && p[i + 1] == 34 { i += 2 } else { i += 1 }
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
        public var header = true
        /// Text written for missing values (unquoted).
        public var na = ""
        public var lineEnding = "\n"
        public init() {}
    }

    /// The table as CSV bytes (RFC 4180: fields quoted when they hold the separator, a quote,
    /// a line break, surrounding spaces, or text that reads back as missing).
    public static func write(_ t: DataTable, options: WriteOptions = WriteOptions()) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(t.byteSize + t.rowCount * (t.columnCount + 1) * 2 + 64)
        let sep = options.separator
        let eol = Array(options.lineEnding.utf8)
        let naBytes = Array(options.na.utf8)
        let naTexts = Set(CSVReadOptions.defaultNA + [options.na])
        let naMax = naTexts.map { $0.utf8.count }.max() ?? 0

        func writeString(_ b: UnsafeBufferPointer<UInt8>) {
            var needs = b.isEmpty
            if !needs {
                if b[0] == 32 || b[0] == 9 || b[b.count - 1] == 32 || b[b.count - 1] == 9 { needs = true }
                else {
                    for c in b where c == sep || c == 34 || c == 10 || c == 13 { needs = true; break }
                }
                if !needs && b.count <= naMax && naTexts.contains(String(decoding: b, as: UTF8.self)) { needs = true }
            }
            if !needs { out.append(contentsOf: b); return }
            out.append(34)
            for c in b {
                out.append(c)
                if c == 34 { out.append(34) }
            }
            out.append(34)
        }
        if options.header {
            for (k, name) in t.names.enumerated() {
                if k > 0 { out.append(sep) }
                var s = name
                s.withUTF8 { writeString($0) }
            }
            out.append(contentsOf: eol)
        }
        for r in 0..<t.rowCount {
            for (k, col) in t.columns.enumerated() {
                if k > 0 { out.append(sep) }
                if col.missing[r] { out.append(contentsOf: naBytes); continue }
                switch col.values {
                case .string(let a): a.withBytes(r) { writeString($0) }
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
