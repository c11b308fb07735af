import Foundation

/// JSON Lines: one JSON object per line. Keys become columns (in order of first appearance);
/// a key absent from a line, or null, is a missing value. Strings, numbers and booleans map to
/// column types; nested objects and arrays are kept as their JSON text in a string column.
/// A column whose values mix kinds (say numbers and strings) becomes a string column holding
/// each value's JSON text, unless `types` says otherwise.
public enum JSONL {
    public struct ReadOptions: Sendable {
        public var types: [String: ColumnType] = [:]
        public var encoding: TextBytes.Encoding = .utf8
        public var skipErrors = false
        public init() {}
    }

    /// `progress(bytesDone, bytesTotal)` is called now and then on the calling thread.
    public static func read(path: String, options: ReadOptions = ReadOptions(),
                            progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, ReadReport) {
        try parse(try RegularFile.read(path), name: path, options: options, progress: progress)
    }

    public static func parse(_ raw: [UInt8], name: String, options: ReadOptions = ReadOptions(),
                             progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, ReadReport) {
        let bytes = try TextBytes.toUTF8(raw, from: options.encoding, name: name)
        var report = ReadReport()
        var names: [String] = []
        var index: [String: Int] = [:]
        var cols: [[Cell]] = []
        var rows = 0
        try bytes.withUnsafeBufferPointer { (buf) throws(LatheError) in
            guard let base = buf.baseAddress else { return }
            let invalid = TextBytes.invalidUTF8(base, buf.count, limit: options.skipErrors ? Int.max : 1)
            var inv = 0
            var lineNo = 0
            var start = 0
            let n = buf.count
            while start < n {
                lineNo += 1
                var end = start
                if let q = memchr(base + start, 10, n - start) {
                    end = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - base
                } else {
                    end = n
                }
                defer { start = end + 1 }
                var e = end
                if e > start && base[e - 1] == 13 { e -= 1 }
                // invalid UTF-8 on this line?
                var bad: Int? = nil
                while inv < invalid.count && invalid[inv] < end {
                    if bad == nil && invalid[inv] >= start { bad = invalid[inv] }
                    inv += 1
                }
                if let pos = bad {
                    let col = TextBytes.column(buf, lineStart: start, pos: pos)
                    if options.skipErrors {
                        report.add(ReadReport.Problem(line: lineNo, column: col, message: "invalid UTF-8"))
                        continue
                    }
                    throw LatheError("\(name) line \(lineNo), column \(col): invalid UTF-8 (byte 0x\(String(base[pos], radix: 16, uppercase: true))); pass encoding = \"latin-1\" or \"cp1252\" if the file is not UTF-8")
                }
                var sc = Scanner(p: base, i: start, end: e)
                sc.skipSpace()
                if sc.i >= e { report.blankLines += 1; continue }  // blank line
                do {
                    let fields = try sc.object()
                    sc.skipSpace()
                    if sc.i < e { throw ScanError(pos: sc.i, message: "unexpected text after the object (one JSON object per line)") }
                    var seen = Set<Int>()
                    for (k, v) in fields {
                        let j: Int
                        if let x = index[k] { j = x } else {
                            j = names.count
                            index[k] = j
                            names.append(k)
                            cols.append([Cell](repeating: .missing, count: rows))
                        }
                        if seen.insert(j).inserted { cols[j].append(v) } else { cols[j][rows] = v }  // last duplicate wins
                    }
                    rows += 1
                    for j in 0..<cols.count where cols[j].count < rows { cols[j].append(.missing) }
                } catch let err as ScanError {
                    let col = TextBytes.column(buf, lineStart: start, pos: err.pos)
                    if options.skipErrors {
                        report.add(ReadReport.Problem(line: lineNo, column: col, message: err.message))
                        continue
                    }
                    throw LatheError("\(name) line \(lineNo), column \(col): \(err.message)")
                } catch {
                    throw LatheError("\(name) line \(lineNo): \(error)")
                }
                if rows & 0x3FFF == 0 {
                    try Interrupt.check()
                    progress?(end, n)
                }
            }
            report.lines = lineNo
        }
        let built = try JSONL.columns(names: names, cells: cols, types: options.types)
        report.rows = rows
        report.rowLines = rows
        return (try DataTable(names: names, columns: built), report)
    }

    /// Typed columns from cells, as the JSON readers make them: a column mixing kinds becomes
    /// a string column of each value's text; `types` converts (a name it gives that is no key
    /// is an error).
    static func columns(names: [String], cells: [[Cell]], types: [String: ColumnType]) throws(LatheError) -> [Column] {
        for k in types.keys.sorted() where !names.contains(k) {
            var msg = "types names no key '\(k)'"
            if let h = closestName(k, names) { msg += "; did you mean '\(h)'?" }
            throw LatheError(msg)
        }
        var columns: [Column] = []
        for (j, cells) in cells.enumerated() {
            var col: Column
            do {
                col = try Column.from(cells: cells, name: names[j])
            } catch {
                col = Column.build(cells: cells.map { c in
                    if case .string = c { return c }
                    if case .missing = c { return c }
                    return .string(c.description)
                }, as: .string)
            }
            if let t = types[names[j]] { col = try col.converted(to: t, name: names[j]) }
            columns.append(col)
        }
        return columns
    }

    struct ScanError: Error {
        var pos: Int
        var message: String
    }

    /// A JSON scanner over one line.
    struct Scanner {
        let p: UnsafePointer<UInt8>
        var i: Int
        let end: Int

        mutating func skipSpace() {
            while i < end, p[i] == 32 || p[i] == 9 || p[i] == 13 || p[i] == 10 { i += 1 }
        }

        func fail(_ msg: String) -> ScanError { ScanError(pos: i, message: msg) }

        func describeHere() -> String {
            if i >= end { return "the end of the line" }
            let c = p[i]
            if c >= 32 && c < 127 { return "'\(Character(Unicode.Scalar(c)))'" }
            return "byte 0x\(String(c, radix: 16))"
        }

        mutating func object() throws(ScanError) -> [(String, Cell)] {
            guard i < end, p[i] == 123 else { throw fail("expected a JSON object '{' (one object per line), got \(describeHere())") }
            i += 1
            var out: [(String, Cell)] = []
            skipSpace()
            if i < end && p[i] == 125 { i += 1; return out }
            while true {
                skipSpace()
                guard i < end, p[i] == 34 else { throw fail("expected a key in double quotes, got \(describeHere())") }
                let key = try string()
                skipSpace()
                guard i < end, p[i] == 58 else { throw fail("expected ':' after the key \"\(key)\", got \(describeHere())") }
                i += 1
                skipSpace()
                let v = try value()
                out.append((key, v))
                skipSpace()
                guard i < end else { throw fail("unterminated object (expected ',' or '}')") }
                if p[i] == 44 { i += 1; continue }
                if p[i] == 125 { i += 1; return out }
                throw fail("expected ',' or '}', got \(describeHere())")
            }
        }

        mutating func value() throws(ScanError) -> Cell {
            guard i < end else { throw fail("expected a value, got the end of the line") }
            let c = p[i]
            switch c {
            case 34: return .string(try string())
            case 116: try word("true"); return .boolean(true)
            case 102: try word("false"); return .boolean(false)
            case 110: try word("null"); return .missing
            case 123, 91:
                let s = i
                try skipValue(depth: 0)
                return .string(String(decoding: UnsafeBufferPointer(start: p + s, count: i - s), as: UTF8.self))
            case 45, 48...57: return try number()
            default: throw fail("expected a value, got \(describeHere())")
            }
        }

        mutating func word(_ w: StaticString) throws(ScanError) {
            let n = w.utf8CodeUnitCount
            let wp = w.utf8Start
            if i + n <= end && memcmp(p + i, wp, n) == 0 { i += n; return }
            throw fail("expected \(w), got \(describeHere())")
        }

        mutating func number() throws(ScanError) -> Cell {
            let s = i
            if p[i] == 45 { i += 1 }
            guard i < end, p[i] &- 48 <= 9 else { throw fail("invalid number") }
            if p[i] == 48 { i += 1 } else { while i < end, p[i] &- 48 <= 9 { i += 1 } }
            var isInt = true
            if i < end && p[i] == 46 {
                isInt = false
                i += 1
                guard i < end, p[i] &- 48 <= 9 else { throw fail("invalid number (digits must follow '.')") }
                while i < end, p[i] &- 48 <= 9 { i += 1 }
            }
            if i < end && (p[i] == 101 || p[i] == 69) {
                isInt = false
                i += 1
                if i < end && (p[i] == 43 || p[i] == 45) { i += 1 }
                guard i < end, p[i] &- 48 <= 9 else { throw fail("invalid number (digits must follow the exponent)") }
                while i < end, p[i] &- 48 <= 9 { i += 1 }
            }
            let b = UnsafeBufferPointer(start: p + s, count: i - s)
            if isInt, let v = ValueParser.integer(b) { return .integer(v) }
            if let x = ValueParser.number(b) { return .number(x) }
            throw ScanError(pos: s, message: "invalid number")
        }

        mutating func hex4() throws(ScanError) -> UInt32 {
            guard i + 4 <= end else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = p[i]
                var d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 97...102: d = UInt32(c - 87)
                case 65...70: d = UInt32(c - 55)
                default: throw fail("invalid \\u escape")
                }
                v = v * 16 + d
                i += 1
            }
            return v
        }

        mutating func string() throws(ScanError) -> String {
            let open = i
            i += 1
            let s = i
            // fast path: no escapes
            while i < end {
                let c = p[i]
                if c == 34 {
                    let str = String(decoding: UnsafeBufferPointer(start: p + s, count: i - s), as: UTF8.self)
                    i += 1
                    return str
                }
                if c == 92 { break }
                if c < 32 { throw fail("control character in a string (escape it as \\n, \\t, ...)") }
                i += 1
            }
            var out = [UInt8](UnsafeBufferPointer(start: p + s, count: i - s))
            while i < end {
                let c = p[i]
                if c == 34 { i += 1; return String(decoding: out, as: UTF8.self) }
                if c < 32 { throw fail("control character in a string (escape it as \\n, \\t, ...)") }
                if c != 92 { out.append(c); i += 1; continue }
                i += 1
                guard i < end else { break }
                let e = p[i]
                i += 1
                switch e {
                case 34: out.append(34)
                case 92: out.append(92)
                case 47: out.append(47)
                case 98: out.append(8)
                case 102: out.append(12)
                case 110: out.append(10)
                case 114: out.append(13)
                case 116: out.append(9)
                case 117:
                    var u = try hex4()
                    if (0xD800...0xDBFF).contains(u) {
                        if i + 6 <= end && p[i] == 92 && p[i + 1] == 117 {
                            i += 2
                            let lo = try hex4()
                            if (0xDC00...0xDFFF).contains(lo) {
                                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                            } else { u = 0xFFFD }
                        } else { u = 0xFFFD }
                    } else if (0xDC00...0xDFFF).contains(u) { u = 0xFFFD }
                    TextBytes.appendScalar(&out, u)
                default:
                    i -= 1
                    throw fail("invalid escape \\\(Character(Unicode.Scalar(e)))")
                }
            }
            throw ScanError(pos: open, message: "unterminated string")
        }

        mutating func skipValue(depth: Int) throws(ScanError) {
            if depth > 200 { throw fail("nested too deeply") }
            skipSpace()
            guard i < end else { throw fail("expected a value, got the end of the line") }
            let c = p[i]
            if c == 123 {
                i += 1
                skipSpace()
                if i < end && p[i] == 125 { i += 1; return }
                while true {
                    skipSpace()
                    guard i < end, p[i] == 34 else { throw fail("expected a key in double quotes, got \(describeHere())") }
                    _ = try string()
                    skipSpace()
                    guard i < end, p[i] == 58 else { throw fail("expected ':', got \(describeHere())") }
                    i += 1
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    guard i < end else { throw fail("unterminated object") }
                    if p[i] == 44 { i += 1; continue }
                    if p[i] == 125 { i += 1; return }
                    throw fail("expected ',' or '}', got \(describeHere())")
                }
            } else if c == 91 {
                i += 1
                skipSpace()
                if i < end && p[i] == 93 { i += 1; return }
                while true {
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    guard i < end else { throw fail("unterminated array") }
                    if p[i] == 44 { i += 1; continue }
                    if p[i] == 93 { i += 1; return }
                    throw fail("expected ',' or ']', got \(describeHere())")
                }
            } else {
                _ = try value()
            }
        }
    }

    // MARK: - Writing

    /// Appends s as a JSON string (UTF-8 kept as is; quotes, backslashes and control
    /// characters escaped).
    public static func appendJSONString(_ out: inout [UInt8], _ b: UnsafeBufferPointer<UInt8>) {
        out.append(34)
        for c in b {
            switch c {
            case 34: out.append(92); out.append(34)
            case 92: out.append(92); out.append(92)
            case 10: out.append(92); out.append(110)
            case 13: out.append(92); out.append(114)
            case 9: out.append(92); out.append(116)
            case 8: out.append(92); out.append(98)
            case 12: out.append(92); out.append(102)
            case 0..<32, 127:
                out.append(contentsOf: Array(String(format: "\\u%04x", Int(c)).utf8))
            default: out.append(c)
            }
        }
        out.append(34)
    }

    public static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        var s = s
        s.withUTF8 { appendJSONString(&out, $0) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The table as JSON Lines. Missing values are written as null, or left out with
    /// `omitMissing`. Numbers that are not finite are written as null (JSON has no NaN).
    public static func write(_ t: DataTable, omitMissing: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(t.byteSize + t.rowCount * t.columnCount * 8)
        let keys: [[UInt8]] = t.names.map { n in
            var o: [UInt8] = []
            var s = n
            s.withUTF8 { appendJSONString(&o, $0) }
            o.append(58)
            return o
        }
        for r in 0..<t.rowCount {
            out.append(123)
            var first = true
            for (k, col) in t.columns.enumerated() {
                let miss = col.missing[r]
                if miss && omitMissing { continue }
                if !first { out.append(44) }
                first = false
                out.append(contentsOf: keys[k])
                if miss { out.append(contentsOf: [110, 117, 108, 108]); continue }
                switch col.values {
                case .string(let a): a.withBytes(r) { appendJSONString(&out, $0) }
                case .integer(let a): out.append(contentsOf: String(a[r]).utf8)
                case .number(let a):
                    let x = a[r]
                    if x.isFinite { out.append(contentsOf: "\(x)".utf8) } else { out.append(contentsOf: [110, 117, 108, 108]) }
                case .boolean(let a): out.append(contentsOf: (a[r] ? "true" : "false").utf8)
                }
            }
            out.append(125)
            out.append(10)
        }
        return out
    }
}
