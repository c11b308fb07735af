import Foundation

/// Byte-level helpers for reading text files: UTF-8 validation that reports positions,
/// transcoding from single-byte encodings, and line/column lookup for error messages.
public enum TextBytes {
    /// Text encodings the readers accept.
    public enum Encoding: String, Sendable, CaseIterable {
        case utf8 = "utf-8"
        case latin1 = "latin-1"
        case cp1252 = "cp1252"
        case utf16 = "utf-16"

        /// Accepts common spellings ("UTF8", "iso-8859-1", "windows-1252", ...).
        public init?(name: String) {
            switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
            case "utf-8", "utf8", "utf-8-sig": self = .utf8
            case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1": self = .latin1
            case "cp1252", "windows-1252", "win-1252": self = .cp1252
            case "utf-16", "utf16", "utf-16le", "utf-16be": self = .utf16
            default: return nil
            }
        }

        /// The encoding of a name, or an error listing the names there are.
        public static func named(_ name: String) throws(LatheError) -> Encoding {
            guard let e = Encoding(name: name) else {
                throw LatheError("expected \"utf-8\", \"latin-1\", \"cp1252\" or \"utf-16\", got \(name.debugDescription)")
            }
            return e
        }
    }

    /// Byte offsets where invalid UTF-8 sequences start (at most `limit`), in order.
    public static func invalidUTF8(_ p: UnsafePointer<UInt8>, _ n: Int, from start: Int = 0, limit: Int = Int.max) -> [Int] {
        var out: [Int] = []
        var i = start
        while i < n {
            // ASCII fast path, 8 bytes at a time
            while i + 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if w & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            if i >= n { break }
            let c = p[i]
            if c < 0x80 { i += 1; continue }
            let len = sequenceLength(p, n, i)
            if len == 0 {
                out.append(i)
                if out.count >= limit { return out }
                i += 1
            } else {
                i += len
            }
        }
        return out
    }

    /// Length of the valid UTF-8 sequence starting at i, or 0 when it is invalid.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> Int {
        let c = p[i]
        @inline(__always) func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        switch c {
        case 0xC2...0xDF:
            return cont(1) ? 2 : 0
        case 0xE0:
            return (i + 1 < n && (0xA0...0xBF).contains(p[i + 1]) && cont(2)) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return (cont(1) && cont(2)) ? 3 : 0
        case 0xED:
            return (i + 1 < n && (0x80...0x9F).contains(p[i + 1]) && cont(2)) ? 3 : 0
        case 0xF0:
            return (i + 1 < n && (0x90...0xBF).contains(p[i + 1]) && cont(2) && cont(3)) ? 4 : 0
        case 0xF1...0xF3:
            return (cont(1) && cont(2) && cont(3)) ? 4 : 0
        case 0xF4:
            return (i + 1 < n && (0x80...0x8F).contains(p[i + 1]) && cont(2) && cont(3)) ? 4 : 0
        default:
            return 0
        }
    }

    /// 1-based line and column (in characters) of byte offset `pos`.
    public static func lineColumn(_ bytes: UnsafeBufferPointer<UInt8>, _ pos: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var i = 0
        let end = min(pos, bytes.count)
        while i < end {
            if bytes[i] == 10 { line += 1; lineStart = i + 1 }
            i += 1
        }
        // characters from the line start: count bytes that start a UTF-8 sequence
        var col = 1
        var k = lineStart
        while k < end {
            if bytes[k] & 0xC0 != 0x80 { col += 1 }
            k += 1
        }
        return (line, col)
    }

    /// Column (1-based, in characters) of byte `pos` on a line that starts at `lineStart`.
    public static func column(_ bytes: UnsafeBufferPointer<UInt8>, lineStart: Int, pos: Int) -> Int {
        var col = 1
        var k = lineStart
        while k < pos && k < bytes.count {
            if bytes[k] & 0xC0 != 0x80 { col += 1 }
            k += 1
        }
        return col
    }

    /// The start of the line containing `pos`.
    public static func lineStart(_ bytes: UnsafeBufferPointer<UInt8>, _ pos: Int) -> Int {
        var k = min(pos, bytes.count)
        while k > 0 && bytes[k - 1] != 10 { k -= 1 }
        return k
    }

    static let cp1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// Converts bytes in the given encoding to UTF-8 (a UTF-8 byte-order mark is removed).
    public static func toUTF8(_ bytes: [UInt8], from enc: Encoding, name: String) throws(LatheError) -> [UInt8] {
        switch enc {
        case .utf8:
            if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
                return Array(bytes[3...])
            }
            if bytes.count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)) {
                throw LatheError("\(name) is UTF-16 (it starts with a UTF-16 byte-order mark); pass encoding = \"utf-16\"")
            }
            return bytes
        case .latin1, .cp1252:
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + bytes.count / 8)
            for b in bytes {
                if b < 0x80 { out.append(b); continue }
                var u = UInt32(b)
                if enc == .cp1252 && b < 0xA0 { u = cp1252High[Int(b) - 0x80] }
                appendScalar(&out, u)
            }
            return out
        case .utf16:
            var data = Data(bytes)
            var little = true
            if bytes.count >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF { little = false; data = data.dropFirst(2) }
            else if bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE { data = data.dropFirst(2) }
            guard let s = String(data: data, encoding: little ? .utf16LittleEndian : .utf16BigEndian) else {
                throw LatheError("\(name) is not valid UTF-16")
            }
            return Array(s.utf8)
        }
    }

    @inline(__always) static func appendScalar(_ out: inout [UInt8], _ u: UInt32) {
        if u < 0x80 { out.append(UInt8(u)) }
        else if u < 0x800 { out.append(UInt8(0xC0 | (u >> 6))); out.append(UInt8(0x80 | (u & 0x3F))) }
        else if u < 0x10000 {
            out.append(UInt8(0xE0 | (u >> 12))); out.append(UInt8(0x80 | ((u >> 6) & 0x3F))); out.append(UInt8(0x80 | (u & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (u >> 18))); out.append(UInt8(0x80 | ((u >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((u >> 6) & 0x3F))); out.append(UInt8(0x80 | (u & 0x3F)))
        }
    }
}

/// What a reader read and skipped, in records and in physical lines. For CSV and JSONL the
/// line counts add up: `rowLines + skippedLines + blankLines + headerLines == lines`.
public struct ReadReport: Sendable {
    public struct Problem: Sendable {
        /// First and last physical line (1-based) of what was skipped or is wrong.
        public var line: Int
        public var endLine: Int
        public var column: Int?
        public var message: String

        public init(line: Int, endLine: Int? = nil, column: Int? = nil, message: String) {
            self.line = line
            self.endLine = max(endLine ?? line, line)
            self.column = column
            self.message = message
        }

        public var lineCount: Int { endLine - line + 1 }
    }
    /// Records read into the table.
    public var rows = 0
    /// Records skipped (`on_error = "skip"`).
    public var skipped = 0
    /// Physical lines of the file (a line ends at LF, CRLF or, in CSV, a lone CR).
    public var lines = 0
    /// Physical lines the records read cover.
    public var rowLines = 0
    /// Physical lines the skipped records cover.
    public var skippedLines = 0
    /// Empty lines between records.
    public var blankLines = 0
    /// Lines of the CSV header row.
    public var headerLines = 0
    /// The first problems met (at most 100).
    public var problems: [Problem] = []
    /// Notes such as renamed duplicate headers.
    public var notes: [String] = []

    public init() {}

    /// Counts a skipped record covering the problem's lines.
    mutating func add(_ p: Problem) {
        skipped += 1
        skippedLines += p.lineCount
        if problems.count < 100 { problems.append(p) }
    }
}

extension ReadReport {
    /// "read: 3 rows (4 lines), 1 skipped (1 line), of 6 lines".
    public var title: String {
        "read: \(TableFormat.count(rows, "row")) (\(TableFormat.count(rowLines, "line"))), \(skipped) skipped (\(TableFormat.count(skippedLines, "line"))), of \(TableFormat.count(lines, "line"))"
    }

    /// What a reader warns about: the notes, and when rows were skipped how many rows and lines,
    /// and the first problem.
    public func warnings(path: String) -> [String] {
        var out = notes.map { "\(path): \($0)" }
        if skipped > 0, let p = problems.first {
            let at = p.endLine > p.line ? "lines \(p.line)-\(p.endLine)" : "line \(p.line)\(p.column.map { ", column \($0)" } ?? "")"
            out.append("skipped \(TableFormat.count(skipped, "bad row")) covering \(TableFormat.count(skippedLines, "line")) of \(path) (read \(TableFormat.count(rows, "row")) from \(TableFormat.count(lines, "line")); first at \(at): \(p.message)); the second result lists them")
        }
        return out
    }
}
