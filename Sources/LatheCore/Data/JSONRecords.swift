import Foundation

/// JSON documents of records, the shape most exports have: a top-level array of objects, or a
/// top-level object holding that array under a key (`{"data": [...]}`). Nested objects are
/// flattened into dotted columns as `pandas.json_normalize` does (`{"a": {"b": 1}}` -> column
/// `a.b`; a record's plain keys first, then its nested objects' keys depth first; an empty
/// nested object gives no column); arrays, and objects below `maxLevel`, are kept as compact
/// JSON text. Values map to column types as in JSON Lines.
public enum JSONRecords {
    public struct ReadOptions: Sendable {
        public var types: [String: ColumnType] = [:]
        public var encoding: TextBytes.Encoding = .utf8
        public var skipErrors = false
        /// Read the array under this key of a top-level object.
        public var recordsKey: String? = nil
        /// Joins the keys of nested objects into column names.
        public var separator = "."
        /// Flatten nested objects at most this many levels deep (nil: all; 0: none).
        public var maxLevel: Int? = nil
        public init() {}

        /// Sets `maxLevel` from the two ways to say it: flatten = false is max_level = 0, and
        /// giving both is an error unless they agree.
        public mutating func flatten(_ flatten: Bool, maxLevel given: Int?) throws(LatheError) {
            if !flatten, let m = given, m != 0 {
                throw LatheError("flatten = false keeps nested objects whole; give one of the two, got max_level = \(m)")
            }
            maxLevel = flatten ? given : 0
        }
    }

    public static let maxDepth = 200

    /// `progress(bytesDone, bytesTotal)` is called now and then on the calling thread.
    public static func read(path: String, options: ReadOptions = ReadOptions(),
                            progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, ReadReport) {
        try parse(try RegularFile.read(path), name: path, options: options, progress: progress)
    }

    public static func parse(_ raw: [UInt8], name: String, options: ReadOptions = ReadOptions(),
                             progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, ReadReport) {
        let bytes = try TextBytes.toUTF8(raw, from: options.encoding, name: name)
        var state = State(options: options)
        try bytes.withUnsafeBufferPointer { (buf) throws(LatheError) in
            guard let base = buf.baseAddress, buf.count > 0 else { throw LatheError("\(name) is empty (expected a JSON array of records)") }
            let invalid = TextBytes.invalidUTF8(base, buf.count, limit: options.skipErrors ? Int.max : 1)
            if let pos = invalid.first, !options.skipErrors {
                let lc = TextBytes.lineColumn(buf, pos)
                throw LatheError("\(name) line \(lc.line), column \(lc.column): invalid UTF-8 (byte 0x\(String(base[pos], radix: 16, uppercase: true))); pass encoding = \"latin-1\" or \"cp1252\" if the file is not UTF-8")
            }
            var lines = LineCursor(buf: buf)
            state.report.lines = lines.total
            var inv = 0
            do throws(JSONSyntaxError) {
                try JSONValue.forEachRecord(UnsafeRawBufferPointer(buf), key: options.recordsKey, maxDepth: maxDepth) { (v, range) throws(JSONSyntaxError) in
                    let first = lines.line(at: range.lowerBound)
                    let last = lines.line(at: range.upperBound - 1)
                    var badByte: Int? = nil
                    while inv < invalid.count && invalid[inv] < range.upperBound {
                        if badByte == nil && invalid[inv] >= range.lowerBound { badByte = invalid[inv] }
                        inv += 1
                    }
                    if let pos = badByte {
                        let lc = TextBytes.lineColumn(buf, pos)
                        state.skip(first, last, "invalid UTF-8 (byte 0x\(String(base[pos], radix: 16, uppercase: true)) at line \(lc.line), column \(lc.column))")
                    } else if case .object(let members) = v {
                        state.add(members, first, last)
                    } else if options.skipErrors {
                        state.skip(first, last, "record \(state.records + 1) is \(article(v.kind)), not an object")
                    } else {
                        throw JSONSyntaxError(offset: range.lowerBound, message: "record \(state.records + 1) is \(article(v.kind)), not an object (each record must be a JSON object {...})")
                    }
                    state.records += 1
                    if state.records & 0xFFF == 0 {
                        if Interrupt.pending { _ = try? Interrupt.check(); throw JSONSyntaxError(offset: -1, message: LatheError.interrupted.message) }
                        progress?(range.upperBound, buf.count)
                    }
                }
            } catch {
                if error.offset < 0 { throw LatheError(error.message) }
                let lc = TextBytes.lineColumn(buf, min(error.offset, buf.count))
                throw LatheError("\(name) line \(lc.line), column \(lc.column): \(error.message)")
            }
        }
        let built = try JSONL.columns(names: state.names, cells: state.cols, types: options.types)
        return (try DataTable(names: state.names, columns: built), state.report)
    }

    static func article(_ kind: String) -> String {
        kind == "null" ? "null" : (kind == "array" || kind == "object" ? "an \(kind)" : "a \(kind)")
    }

    /// The table being built, with the report.
    struct State {
        let options: ReadOptions
        var names: [String] = []
        var index: [String: Int] = [:]
        var cols: [[Cell]] = []
        var report = ReadReport()
        var records = 0
        /// The last line counted as holding a record read, and one skipped (records may
        /// share lines, so line counts are of distinct lines).
        var lastRowLine = 0
        var lastSkippedLine = 0

        init(options: ReadOptions) { self.options = options }

        mutating func add(_ members: [(String, JSONValue)], _ first: Int, _ last: Int) {
            let rows = report.rows
            for (k, cell) in JSONRecords.flatten(members, separator: options.separator, maxLevel: options.maxLevel) {
                let j: Int
                if let x = index[k] { j = x } else {
                    j = names.count
                    index[k] = j
                    names.append(k)
                    cols.append([Cell](repeating: .missing, count: rows))
                }
                cols[j].append(cell)
            }
            report.rows = rows + 1
            for j in 0..<cols.count where cols[j].count < rows + 1 { cols[j].append(.missing) }
            report.rowLines += max(0, last - max(first, lastRowLine + 1) + 1)
            lastRowLine = max(lastRowLine, last)
        }

        mutating func skip(_ first: Int, _ last: Int, _ message: String) {
            let before = report.skippedLines
            report.add(ReadReport.Problem(line: first, endLine: last, message: message))
            report.skippedLines = before + max(0, last - max(first, lastSkippedLine + 1) + 1)
            lastSkippedLine = max(lastSkippedLine, last)
        }
    }

    /// One record's cells, named and ordered as `pandas.json_normalize` does. Duplicate keys
    /// keep the first one's place and the last one's value (Python's dict).
    public static func flatten(_ members: [(String, JSONValue)], separator: String, maxLevel: Int?) -> [(String, Cell)] {
        var out: [(String, Cell)] = []
        var at: [String: Int] = [:]
        func set(_ k: String, _ c: Cell) {
            if let i = at[k] { out[i].1 = c } else { at[k] = out.count; out.append((k, c)) }
        }
        func expand(_ m: [(String, JSONValue)], _ prefix: String, _ level: Int) {
            for (k, v) in dictionary(m) {
                let key = prefix + separator + k
                if case .object(let inner) = v, maxLevel.map({ level < $0 }) ?? true {
                    expand(inner, key, level + 1)
                } else {
                    set(key, cell(v))
                }
            }
        }
        var nested: [(String, [(String, JSONValue)])] = []
        for (k, v) in dictionary(members) {
            if case .object(let inner) = v, maxLevel.map({ 0 < $0 }) ?? true {
                nested.append((k, inner))
            } else {
                set(k, cell(v))
            }
        }
        for (k, inner) in nested { expand(inner, k, 1) }
        return out
    }

    /// Members with duplicates merged (first place, last value).
    static func dictionary(_ m: [(String, JSONValue)]) -> [(String, JSONValue)] {
        var seen: [String: Int] = [:]
        var out: [(String, JSONValue)] = []
        out.reserveCapacity(m.count)
        for (k, v) in m {
            if let i = seen[k] { out[i].1 = v } else { seen[k] = out.count; out.append((k, v)) }
        }
        return out
    }

    /// A value as a cell: integers that fit 64 bits stay integers, other numbers are doubles,
    /// arrays and objects are their compact JSON text, null is missing.
    static func cell(_ v: JSONValue) -> Cell {
        switch v {
        case .null: return .missing
        case .bool(let b): return .boolean(b)
        case .string(let s): return .string(s)
        case .number(let s):
            if !s.utf8.contains(where: { $0 == 46 || $0 == 101 || $0 == 69 }), let i = Int64(s) { return .integer(i) }
            return .number(Double(s) ?? .nan)
        case .array, .object: return .string(v.compactText)
        }
    }

    /// Line numbers of byte offsets asked for in increasing order (lines end at LF).
    struct LineCursor {
        let buf: UnsafeBufferPointer<UInt8>
        var pos = 0
        var line = 1

        init(buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

        var total: Int {
            guard let base = buf.baseAddress, buf.count > 0 else { return 0 }
            var k = 0
            var i = 0
            while i < buf.count, let q = memchr(base + i, 10, buf.count - i) {
                k += 1
                i = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - base + 1
            }
            return k + (buf[buf.count - 1] == 10 ? 0 : 1)
        }

        mutating func line(at offset: Int) -> Int {
            guard let base = buf.baseAddress else { return 1 }
            while pos < offset, let q = memchr(base + pos, 10, offset - pos) {
                line += 1
                pos = UnsafePointer<UInt8>(q.assumingMemoryBound(to: UInt8.self)) - base + 1
            }
            pos = max(pos, offset)
            return line
        }
    }
}
