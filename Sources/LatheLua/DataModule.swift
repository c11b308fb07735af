import CLua
import CLuaShim
import Foundation
import LatheCore

extension DataTable: LuaObject {
    public static var luaTag: Int32 { LuaTag.table }
    public var luaByteSize: Int { byteSize }
}

/// Conversions between Lua values and table cells shared by the data bindings.
enum DataLua {
    static let naKey = "lathe.data.NA"
    static let reportKey = "lathe.data.Report"

    /// Pushes data.NA.
    static func pushNA(_ L: OpaquePointer) {
        lua_getfield(L, lp_registryindex(), naKey)
    }

    /// Is the value at idx data.NA?
    static func isNA(_ L: OpaquePointer, _ idx: Int32) -> Bool {
        guard lua_type(L, idx) == LUA_TTABLE else { return false }
        let abs = lua_absindex(L, idx)
        pushNA(L)
        defer { lp_pop(L, 1) }
        return lua_rawequal(L, abs, -1) != 0
    }

    /// Pushes a cell: missing as data.NA (naIndex: where NA sits on the stack, if there).
    static func push(_ c: LuaCall, _ cell: Cell, naIndex: Int32 = 0) {
        switch cell {
        case .missing: if naIndex != 0 { lua_pushvalue(c.L, naIndex) } else { pushNA(c.L) }
        case .string(let s): c.push(s)
        case .number(let x): c.push(x)
        case .integer(let x): lua_pushinteger(c.L, lua_Integer(x))
        case .boolean(let b): c.push(b)
        }
    }

    /// Pushes cell r of a column (strings straight from the column's bytes).
    @inline(__always)
    static func push(_ L: OpaquePointer, _ col: Column, _ r: Int, naIndex: Int32) {
        if col.missing[r] { lua_pushvalue(L, naIndex); return }
        switch col.values {
        case .string(let a):
            a.withBytes(r) { b in
                _ = b.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        case .number(let a): lua_pushnumber(L, a[r])
        case .integer(let a): lua_pushinteger(L, lua_Integer(a[r]))
        case .boolean(let a): lua_pushboolean(L, a[r] ? 1 : 0)
        }
    }

    /// The cell for the Lua value at idx, or nil if the value cannot be a cell (a function,
    /// a table other than data.NA, ...). nil and data.NA are missing.
    static func cell(_ c: LuaCall, _ idx: Int32, naIndex: Int32 = 0) -> Cell? {
        let L = c.L
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .missing
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .integer(Int64(lua_tointegerx(L, idx, nil))) }
            return .number(lua_tonumberx(L, idx, nil))
        case LUA_TSTRING: return .string(c.string(idx) ?? "")
        case LUA_TTABLE:
            if naIndex != 0 { return lua_rawequal(L, idx, naIndex) != 0 ? .missing : nil }
            return isNA(L, idx) ? .missing : nil
        default: return nil
        }
    }

    /// Pushes row r as a record {column = value}.
    static func pushRow(_ c: LuaCall, _ t: DataTable, _ r: Int, naIndex: Int32) {
        let L = c.L
        lua_createtable(L, 0, Int32(t.columnCount))
        for (k, col) in t.columns.enumerated() {
            c.push(t.names[k])
            push(L, col, r, naIndex: naIndex)
            lua_rawset(L, -3)
        }
    }

    /// Pushes a whole column as a Lua array (missing values as data.NA).
    static func pushColumn(_ c: LuaCall, _ col: Column) throws {
        let L = c.L
        try LuaCall.checkTableSize(col.count)
        pushNA(L)
        let na = lua_gettop(L)
        lua_createtable(L, Int32(clamping: col.count), 0)
        for r in 0..<col.count {
            push(L, col, r, naIndex: na)
            lua_rawseti(L, -2, lua_Integer(r + 1))
        }
        lp_remove(L, na)
    }

    static func table(_ c: LuaCall, _ i: Int32, _ label: String) throws -> DataTable {
        try c.checkObject(i, DataTable.self, label, expected: "DataTable")
    }

    /// A column name or an array of them (argument i).
    static func names(_ c: LuaCall, _ i: Int32, _ label: String) throws -> [String] {
        if let s = c.string(i) { return [s] }
        if c.type(i) == LUA_TTABLE { return try c.stringArray(i, label) }
        throw c.argError(i, label, expected: "a column name or an array of names")
    }

    /// An option holding a column name or an array of names.
    static func names(_ o: LuaOptions, _ key: String) throws -> [String]? {
        try o.stringArray(key)
    }

    /// An option holding a record {name = string}.
    static func stringMap(_ c: LuaCall, _ o: LuaOptions, _ key: String) throws -> [String: String] {
        let t = o.push(key)
        defer { lp_pop(c.L, 1) }
        if t == LUA_TNIL { return [:] }
        guard t == LUA_TTABLE else { throw LuaError("bad option '\(key)' (expected a table {name = value}, got \(c.describe(-1)))") }
        var out: [String: String] = [:]
        let abs = lua_gettop(c.L)
        lua_pushnil(c.L)
        while lua_next(c.L, abs) != 0 {
            guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2), lua_type(c.L, -1) == LUA_TSTRING, let v = c.string(-1) else {
                let what = "key \(c.describe(-2)) = \(c.describe(-1))"
                lp_pop(c.L, 2)
                throw LuaError("bad option '\(key)' (expected names mapped to strings, got \(what))")
            }
            out[k] = v
            lp_pop(c.L, 1)
        }
        return out
    }

    static func types(_ c: LuaCall, _ o: LuaOptions) throws -> [String: ColumnType] {
        var out: [String: ColumnType] = [:]
        for (k, v) in try stringMap(c, o, "types") {
            guard let t = ColumnType(rawValue: v) else {
                throw LuaError("bad option 'types' (column '\(k)': expected \"string\", \"number\", \"integer\" or \"boolean\", got \"\(v)\")")
            }
            out[k] = t
        }
        return out
    }

    /// Runs body with the generator a `seed` option asks for (or the session's).
    static func withRNG<T>(_ seed: Int?, _ body: (inout RandomGenerator) throws -> T) rethrows -> T {
        if let s = seed {
            var g = RandomGenerator(seed: UInt64(bitPattern: Int64(s)))
            return try body(&g)
        }
        return try body(&Runtime.rng)
    }

    static func warn(_ s: String) { Output.note("warning: " + s) }

    /// Pushes a report record whose printed form lists scalar fields then nested tables.
    static func setReportMeta(_ c: LuaCall) {
        lua_getfield(c.L, lp_registryindex(), reportKey)
        lua_setmetatable(c.L, -2)
    }

    static func readReport(_ c: LuaCall, _ r: ReadReport) throws {
        var problems: [LuaValue] = []
        for p in r.problems {
            var f: [(String, LuaValue)] = [("line", .int(p.line)), ("end_line", .int(p.endLine)), ("message", .string(p.message))]
            if let col = p.column { f.append(("column", .int(col))) }
            problems.append(.record(f))
        }
        let title = "read: \(r.rows) row\(r.rows == 1 ? "" : "s") (\(lines(r.rowLines))), \(r.skipped) skipped (\(lines(r.skippedLines))), of \(lines(r.lines))"
        try c.push(.record([("title", .string(title)), ("rows", .int(r.rows)), ("skipped", .int(r.skipped)),
                        ("lines", .int(r.lines)), ("row_lines", .int(r.rowLines)), ("skipped_lines", .int(r.skippedLines)),
                        ("blank_lines", .int(r.blankLines)), ("header_lines", .int(r.headerLines)),
                        ("problems", .array(problems)), ("notes", .strings(r.notes))]))
        setReportMeta(c)
    }

    static func lines(_ n: Int) -> String { n == 1 ? "1 line" : "\(n) lines" }

    /// Notes, and one warning when rows were skipped: how many rows and physical lines, and
    /// the first problem.
    static func warnReport(_ fn: String, _ path: String, _ r: ReadReport) {
        for n in r.notes { warn("\(fn): \(path): \(n)") }
        if r.skipped > 0, let p = r.problems.first {
            let col = p.column.map { ", column \($0)" } ?? ""
            let at = p.endLine > p.line ? "lines \(p.line)-\(p.endLine)" : "line \(p.line)\(col)"
            warn("\(fn): skipped \(r.skipped) bad row\(r.skipped == 1 ? "" : "s") covering \(lines(r.skippedLines)) of \(path) (read \(r.rows) row\(r.rows == 1 ? "" : "s") from \(lines(r.lines)); first at \(at): \(p.message)); the second result lists them")
        }
    }

    static func encoding(_ o: LuaOptions) throws -> TextBytes.Encoding {
        guard let e = try o.string("encoding") else { return .utf8 }
        guard let enc = TextBytes.Encoding(name: e) else {
            throw LuaError("bad option 'encoding' (expected \"utf-8\", \"latin-1\", \"cp1252\" or \"utf-16\", got \"\(e)\")")
        }
        return enc
    }

    static func separator(_ o: LuaOptions, path: String) throws -> UInt8 {
        if let s = try o.string("sep") {
            let b = Array(s.utf8)
            guard b.count == 1, b[0] < 0x80, b[0] != 34, b[0] != 10, b[0] != 13 else {
                throw LuaError("bad option 'sep' (expected one ASCII character such as \",\", \";\" or \"\\t\", got \(JSONL.jsonString(s)))")
            }
            return b[0]
        }
        let lower = path.lowercased()
        return lower.hasSuffix(".tsv") || lower.hasSuffix(".tab") ? 9 : 44
    }

    static func onError(_ o: LuaOptions) throws -> Bool {
        try o.choice("on_error", ["error", "skip"], "error") == "skip"
    }

    /// The `quote` option: a one-character string, true (the default double quote) or false
    /// (no quoting).
    static func quote(_ o: LuaOptions, separator: UInt8) throws -> UInt8? {
        let t = o.push("quote")
        defer { lp_pop(o.call.L, 1) }
        if t == LUA_TNIL { return UInt8(ascii: "\"") }
        if t == LUA_TBOOLEAN { return lua_toboolean(o.call.L, -1) != 0 ? UInt8(ascii: "\"") : nil }
        if t == LUA_TSTRING, let s = o.call.string(-1) {
            let b = Array(s.utf8)
            guard b.count == 1, b[0] < 0x80, b[0] != 10, b[0] != 13 else {
                throw LuaError("bad option 'quote' (expected one ASCII character such as \"'\", or false for no quoting, got \(JSONL.jsonString(s)))")
            }
            if b[0] == separator {
                throw LuaError("bad option 'quote' (it is the separator \(JSONL.jsonString(s)); quote and sep must differ)")
            }
            return b[0]
        }
        throw o.bad("quote", expected: "a one-character string or false")
    }
}

/// The `data` module: tables, CSV/JSONL, cleaning, PII, de-duplication, splits, balancing,
/// augmentation and prompt templates.
enum DataModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        let L = vm.L
        let m = vm.module("data", summary: "Data preparation: tables, CSV/JSONL/JSON, cleaning, PII masking, de-duplication, splits, balancing, augmentation, prompt templates.",
                          details: """
        Tables are columnar with typed columns (string, number, integer, boolean) and real
        missing values, shown as data.NA. Tables are values: every method returns a new table.
        Read: data.read_csv, data.read_jsonl, data.read_json, data.from. Inspect: print(t), t:describe(),
        t:value_counts(col). Clean: data.clean and its steps, data.mask_pii, data.dedupe.
        Prepare: data.split, data.kfold, data.oversample, data.augment, data.template.
        """)

        // data.NA: a unique, read-only sentinel
        lp_newtable(L)
        lp_newtable(L)
        vm.push("NA")
        lua_setfield(L, -2, "__name")
        vm.pushFunction("data.NA") { c in
            c.push("NA")
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        vm.pushFunction("data.NA") { _ in
            throw LuaError("data.NA is read-only (it marks a missing value)")
        }
        lua_setfield(L, -2, "__newindex")
        vm.push("NA")
        lua_setfield(L, -2, "__metatable")
        lua_setmetatable(L, -2)
        lua_pushvalue(L, -1)
        lua_setfield(L, lp_registryindex(), DataLua.naKey)
        lua_getglobal(L, "data")
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "NA")
        lp_pop(L, 2)

        // the metatable of report records
        lp_newtable(L)
        vm.pushFunction("data report") { c in
            c.push(ReportFormat.render(c, 1))
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        vm.push("DataReport")
        lua_setfield(L, -2, "__name")
        lua_setfield(L, lp_registryindex(), DataLua.reportKey)

        m.function("is_na", Doc(
            "True when a value is missing: data.NA or nil.",
            signature: "data.is_na(v) -> boolean",
            details: "Missing cells come out of tables as data.NA (never nil, so arrays have no holes).\ndata.NA prints as NA, is a unique read-only table, and compares equal only to itself.",
            returns: "a boolean",
            example: "local t = data.from({x = {1, data.NA, 3}})\nlocal xs = t:column(\"x\")\nprint(data.is_na(xs[2]), data.is_na(xs[1]), xs[2] == data.NA)")) { c in
            c.push(c.isNoneOrNil(1) || DataLua.isNA(c.L, 1))
            return 1
        }

        m.function("from", Doc(
            "Makes a table from Lua values: a record of column arrays, or an array of rows.",
            signature: "data.from(columns_or_rows, {columns = {names...}, types = {name = type}}) -> DataTable",
            details: """
            {name = {v1, v2, ...}, ...} gives one column per key; {{name = v, ...}, ...} gives one row
            per element; {{v1, v2}, ...} (arrays) needs `columns` for the names. Column order is
            `columns` when given, otherwise alphabetical. Values may be strings, numbers, integers,
            booleans, and nil or data.NA for missing. A column's type is inferred: all integers ->
            integer, integers and floats -> number, booleans -> boolean, strings -> string;
            `types` converts (e.g. {zip = "string"}). Use data.NA rather than nil inside column
            arrays (a Lua array cannot end in nil).
            """,
            returns: "a DataTable",
            errors: "columns of different lengths; a value of an unsupported kind; a column mixing strings and numbers.",
            example: "local t = data.from({name = {\"Ann\", \"Bob\"}, age = {31, data.NA}}, {columns = {\"name\", \"age\"}})\nprint(t)\nlocal r = data.from({{q = \"hi\", n = 1}, {q = \"yo\", n = 2}})\nprint(#r, r:columns()[1])")) { c in
            try c.checkTable(1, "values")
            let o = try c.options(2, allowed: ["columns", "types"])
            let order = try o.stringArray("columns")
            let types = try DataLua.types(c, o)
            var t = try fromLua(c, 1, order: order)
            for (k, ty) in types.sorted(by: { $0.key < $1.key }) {
                let col = try t.column(k)
                t = try t.setting(k, try col.converted(to: ty, name: k))
            }
            c.push(t)
            return 1
        }

        m.function("read_csv", Doc(
            "Reads a CSV file (RFC 4180) into a table, inferring column types.",
            signature: "data.read_csv(path, {sep = \",\", quote = '\"', max_quoted_lines = 1000, header = true, types = {}, encoding = \"utf-8\", na = {...}, on_error = \"error\"}) -> DataTable, report",
            details: """
            Follows RFC 4180: quoted fields, doubled quotes ("" inside quotes), line breaks inside
            quoted fields, CRLF or LF line ends, a UTF-8 byte-order mark. Blank lines are skipped.
            `sep` is one character (default "," or tab for .tsv files). `quote` is the quote
            character (default '"', e.g. "'"), or false for no quoting at all: every quote is then
            an ordinary character (pandas' quoting=csv.QUOTE_NONE; use it for TSV exports that
            never quote). Column types are inferred:
            integer (no leading zeros, so "007" stays text), number, boolean (true/false in three
            spellings), else string; `types = {zip = "string"}` overrides. An unquoted empty field,
            or one of `na` (default "", NA, N/A, n/a, NaN, nan, null, NULL, None, #N/A), is missing;
            a quoted field is always a value, so "" is an empty string. `encoding` may be
            "utf-8", "latin-1", "cp1252" or "utf-16". Duplicate header names get _2, _3; with
            header = false the columns are col1, col2, ... A progress bar shows for big files.
            A quote that opens a field and never closes properly (no closing quote before the end
            of the file, a field spanning more than `max_quoted_lines` lines, a closing quote
            followed by text, or a row with the wrong number of fields through a multi-line quoted
            field) is a stray quote: an error naming the line and column where it opened, or with
            on_error = "skip" a skip of the row's lines up to the line where it opened, and reading
            resumes on the next line (so one stray quote costs one row, not the rest of the file;
            pandas and Python's csv module instead merge the following lines into one field).
            With on_error = "skip", rows with the wrong number of fields, bad quoting, invalid
            UTF-8 or values not fitting `types` are skipped, and a warning says how many rows and
            physical lines. The report accounts for every line of the file:
            row_lines + skipped_lines + blank_lines + header_lines == lines.
            """,
            returns: "the table, and a report {rows =, lines =, row_lines =, skipped =, skipped_lines =, blank_lines =, header_lines =, problems = {{line =, end_line =, column =, message =}...}, notes =}",
            errors: "a missing file; invalid UTF-8, a malformed row, a stray quote or a value not fitting `types`, named by file, line and column.",
            example: "local path = os.tmpname()\nlocal f = io.open(path, \"w\")\nf:write('id,text,score\\n1,\"hello, world\",0.5\\n2,\"say \"\"hi\"\"\",\\n3,\"stray,7\\n4,fine,1\\n')\nf:close()\nlocal t, report = data.read_csv(path, {on_error = \"skip\"})\nprint(t)\nprint(report.lines, report.row_lines, report.skipped_lines, report.problems[1].message)\nprint(data.read_csv(path, {quote = false, on_error = \"skip\"}):column(\"text\")[2])\nos.remove(path)")) { c in
            let path = try c.checkString(1, "path")
            let o = try c.options(2, allowed: ["sep", "quote", "max_quoted_lines", "header", "types", "encoding", "na", "on_error"])
            var opts = CSVReadOptions()
            opts.separator = try DataLua.separator(o, path: path)
            opts.quote = try DataLua.quote(o, separator: opts.separator)
            opts.maxQuotedLines = try o.int("max_quoted_lines", 1000)
            if opts.maxQuotedLines < 1 { throw LuaError("bad option 'max_quoted_lines' (expected a positive integer, got \(opts.maxQuotedLines))") }
            opts.header = try o.bool("header", true)
            opts.types = try DataLua.types(c, o)
            opts.encoding = try DataLua.encoding(o)
            if let na = try o.stringArray("na") { opts.na = na }
            opts.skipErrors = try DataLua.onError(o)
            let bar = ProgressBar("read_csv", total: nil, unit: "B")
            let (t, report) = try CSV.read(path: path, options: opts) { done, total in
                bar.total = total
                bar.update(done)
            }
            bar.finish()
            DataLua.warnReport("data.read_csv", path, report)
            c.push(t)
            try DataLua.readReport(c, report)
            return 2
        }

        m.function("write_csv", Doc(
            "Writes a table as CSV (RFC 4180).",
            signature: "data.write_csv(t, path, {sep = \",\", quote = '\"', header = true, na = \"\", crlf = false, overwrite = false})",
            details: """
            Fields holding the separator, the quote, a line break, leading or trailing spaces, or
            text that would read back as missing are quoted (quotes doubled); an empty string is
            written as "" and a missing value as an empty field (or `na`), so data.read_csv reads
            the file back to the same table. Numbers use the shortest text that reads back
            exactly. `quote` picks the quote character; quote = false writes every field as it
            is (pandas' QUOTE_NONE): a field holding the separator or a line break is then an
            error naming its column and row, and empty strings or texts such as "NA" read back as
            missing. The write is atomic; an existing file is replaced only with overwrite = true.
            """,
            returns: "nothing",
            errors: "the file exists (without overwrite); the folder does not exist; with quote = false, a field holding the separator or a line break.",
            example: "local path = os.tmpname()\nlocal t = data.from({a = {1, 2}, b = {\"x, y\", \"\"}}, {columns = {\"a\", \"b\"}})\ndata.write_csv(t, path, {overwrite = true})\nprint(io.open(path):read(\"a\"))\ndata.write_csv(data.from({q = {'say \"hi\"'}}), path, {sep = \"\\t\", quote = false, overwrite = true})\nprint(io.open(path):read(\"a\"))\nos.remove(path)")) { c in
            let t = try DataLua.table(c, 1, "t")
            let path = try c.checkString(2, "path")
            let o = try c.options(3, allowed: ["sep", "quote", "header", "na", "crlf", "overwrite"])
            var w = CSV.WriteOptions()
            w.separator = try DataLua.separator(o, path: path)
            w.quote = try DataLua.quote(o, separator: w.separator)
            w.header = try o.bool("header", true)
            w.na = try o.string("na", "")
            w.lineEnding = try o.bool("crlf", false) ? "\r\n" : "\n"
            let bytes = try CSV.write(t, options: w)
            try AtomicFile.write(bytes, to: path, overwrite: try o.bool("overwrite", false))
            return 0
        }

        m.function("read_jsonl", Doc(
            "Reads a JSON Lines file (one JSON object per line) into a table.",
            signature: "data.read_jsonl(path, {types = {}, encoding = \"utf-8\", on_error = \"error\"}) -> DataTable, report",
            details: """
            Keys become columns in order of first appearance; a key absent from a line, or null, is
            missing. Strings, integers, other numbers and booleans give typed columns. Nested
            objects and arrays are kept as their JSON text in a string column (decode them with
            json.decode if needed). A key whose values mix kinds (numbers and strings) becomes a
            string column of JSON texts unless `types` says otherwise. Blank lines are skipped.
            With on_error = "skip", malformed lines (and lines with invalid UTF-8) are skipped,
            and a warning says how many. The report accounts for every line of the file:
            row_lines + skipped_lines + blank_lines == lines.
            """,
            returns: "the table, and a report {rows =, lines =, row_lines =, skipped =, skipped_lines =, blank_lines =, problems = {{line =, end_line =, column =, message =}...}, notes =}",
            errors: "a missing file; a line that is not a JSON object, or invalid UTF-8, named by file, line and column.",
            example: "local path = os.tmpname()\nlocal f = io.open(path, \"w\")\nf:write('{\"q\": \"hi\", \"n\": 1, \"tags\": [\"a\"]}\\n\\n{\"q\": \"yo\", \"n\": null}\\n{\"q\": oops}\\n')\nf:close()\nlocal t, report = data.read_jsonl(path, {on_error = \"skip\"})\nprint(t)\nprint(report.lines, report.row_lines, report.blank_lines, report.skipped_lines)\nos.remove(path)")) { c in
            let path = try c.checkString(1, "path")
            let o = try c.options(2, allowed: ["types", "encoding", "on_error"])
            var opts = JSONL.ReadOptions()
            opts.types = try DataLua.types(c, o)
            opts.encoding = try DataLua.encoding(o)
            opts.skipErrors = try DataLua.onError(o)
            let bar = ProgressBar("read_jsonl", total: nil, unit: "B")
            let (t, report) = try JSONL.read(path: path, options: opts) { done, total in
                bar.total = total
                bar.update(done)
            }
            bar.finish()
            DataLua.warnReport("data.read_jsonl", path, report)
            c.push(t)
            try DataLua.readReport(c, report)
            return 2
        }

        m.function("read_json", Doc(
            "Reads a JSON file of records (an array of objects) into a table, flattening nested objects.",
            signature: "data.read_json(path, {records = nil, flatten = true, sep = \".\", max_level = nil, types = {}, encoding = \"utf-8\", on_error = \"error\"}) -> DataTable, report",
            details: """
            The file holds a top-level array of objects, or a top-level object holding that array
            under a key: records = "data" reads {"data": [...], ...}. Each object is a row. Nested
            objects are flattened into columns as pandas.json_normalize does: {"a": {"b": 1}} gives
            column "a.b" (`sep` joins the keys; `max_level` flattens only that many levels;
            flatten = false, the same as max_level = 0, keeps nested objects as JSON text). A
            record's plain keys come first, then its nested objects' keys; an empty nested object
            gives no column. Arrays stay compact JSON text (decode with json.decode). Otherwise as
            data.read_jsonl: keys become columns in order of first appearance, null or an absent
            key is missing, a key mixing kinds becomes a string column of JSON texts unless
            `types` says otherwise. With on_error = "skip", records that are not objects or hold
            invalid UTF-8 are skipped and counted; a syntax error in the document is always an
            error (a JSON document cannot be resynchronized). The report counts physical lines
            (lines, and the distinct lines holding rows read and skipped; brackets and other keys
            are on no record's lines, so these need not add up to `lines`).
            """,
            returns: "the table, and a report {rows =, lines =, row_lines =, skipped =, skipped_lines =, problems = {{line =, end_line =, message =}...}}",
            errors: "a missing file; invalid JSON, a top level that is not an array (or no array under `records`), a record that is not an object, invalid UTF-8, named by file, line and column.",
            example: "local path = os.tmpname()\nlocal f = io.open(path, \"w\")\nf:write('{\"data\": [{\"id\": 1, \"user\": {\"name\": \"Ann\", \"geo\": {\"city\": \"Oslo\"}}, \"tags\": [\"a\", \"b\"]},\\n {\"id\": 2, \"user\": {\"name\": \"Bob\"}, \"tags\": []}]}')\nf:close()\nlocal t = data.read_json(path, {records = \"data\"})\nprint(t)\nprint(data.read_json(path, {records = \"data\", flatten = false}):column(\"user\")[2])\nos.remove(path)")) { c in
            let path = try c.checkString(1, "path")
            let o = try c.options(2, allowed: ["records", "flatten", "sep", "max_level", "types", "encoding", "on_error"])
            var opts = JSONRecords.ReadOptions()
            opts.recordsKey = try o.string("records")
            opts.separator = try o.string("sep", ".")
            opts.maxLevel = try o.int("max_level")
            if let m = opts.maxLevel, m < 0 { throw LuaError("bad option 'max_level' (expected an integer >= 0, got \(m))") }
            if let f = try o.bool("flatten"), !f {
                if let m = opts.maxLevel, m != 0 { throw LuaError("bad option 'max_level' (flatten = false keeps nested objects whole; give one of the two, got max_level = \(m))") }
                opts.maxLevel = 0
            }
            opts.types = try DataLua.types(c, o)
            opts.encoding = try DataLua.encoding(o)
            opts.skipErrors = try DataLua.onError(o)
            let bar = ProgressBar("read_json", total: nil, unit: "B")
            let (t, report) = try JSONRecords.read(path: path, options: opts) { done, total in
                bar.total = total
                bar.update(done)
            }
            bar.finish()
            DataLua.warnReport("data.read_json", path, report)
            c.push(t)
            try DataLua.readReport(c, report)
            return 2
        }

        m.function("write_jsonl", Doc(
            "Writes a table as JSON Lines (one object per row).",
            signature: "data.write_jsonl(t, path, {missing = \"null\", overwrite = false})",
            details: "Keys follow the column order. Missing values are written as null, or left out with\nmissing = \"omit\". Numbers that are not finite (nan, inf) are written as null. The write is\natomic; an existing file is replaced only with overwrite = true.",
            returns: "nothing",
            errors: "the file exists (without overwrite); the folder does not exist.",
            example: "local path = os.tmpname()\ndata.write_jsonl(data.from({q = {\"hi\"}, n = {1}}), path, {overwrite = true})\nprint(io.open(path):read(\"a\"))\nos.remove(path)")) { c in
            let t = try DataLua.table(c, 1, "t")
            let path = try c.checkString(2, "path")
            let o = try c.options(3, allowed: ["missing", "overwrite"])
            let omit = try o.choice("missing", ["null", "omit"], "null") == "omit"
            try AtomicFile.write(JSONL.write(t, omitMissing: omit), to: path, overwrite: try o.bool("overwrite", false))
            return 0
        }

        try DataTableClass.install(vm)
        try DataCleanModule.install(vm)
        try DataPrepModule.install(vm)
    }

    /// data.from: a record of columns or an array of rows.
    static func fromLua(_ c: LuaCall, _ idx: Int32, order: [String]?) throws -> DataTable {
        let L = c.L
        DataLua.pushNA(L)
        let na = lua_gettop(L)
        defer { lua_settop(L, na - 1) }
        let abs = lua_absindex(L, idx)
        let n = c.rawLen(abs)
        func cellAt(_ i: Int32, _ what: () -> String) throws -> Cell {
            guard let v = DataLua.cell(c, i, naIndex: na) else {
                throw LuaError("bad argument #1 'values' (\(what()) is \(c.describe(i)); values must be strings, numbers, booleans or data.NA)")
            }
            return v
        }
        if n == 0 {
            // record of columns
            var cols: [String: [Cell]] = [:]
            lua_pushnil(L)
            while lua_next(L, abs) != 0 {
                guard lua_type(L, -2) == LUA_TSTRING, let name = c.string(-2) else {
                    let d = c.describe(-2)
                    lp_pop(L, 2)
                    throw LuaError("bad argument #1 'values' (expected column names as keys, got \(d))")
                }
                guard lua_type(L, -1) == LUA_TTABLE, !DataLua.isNA(L, -1) else {
                    let d = c.describe(-1)
                    lp_pop(L, 2)
                    throw LuaError("bad argument #1 'values' (column '\(name)' must be an array of values, got \(d))")
                }
                let col = lua_gettop(L)
                let len = c.rawLen(col)
                var cells: [Cell] = []
                cells.reserveCapacity(len)
                for k in 0..<len {
                    lua_rawgeti(L, col, lua_Integer(k + 1))
                    do {
                        cells.append(try cellAt(-1) { "column '\(name)' element \(k + 1)" })
                    } catch { lp_pop(L, 3); throw error }
                    lp_pop(L, 1)
                }
                cols[name] = cells
                lp_pop(L, 1)
            }
            let names = try orderNames(Array(cols.keys), order)
            var lens = Set<Int>()
            for nm in names { lens.insert(cols[nm]?.count ?? 0) }
            if lens.count > 1 {
                let desc = names.map { "\($0): \(cols[$0]?.count ?? 0)" }.joined(separator: ", ")
                throw LuaError("bad argument #1 'values' (columns have different lengths: \(desc); use data.NA for missing values)")
            }
            var columns: [Column] = []
            for nm in names {
                do { columns.append(try Column.from(cells: cols[nm] ?? [], name: nm)) } catch { throw LuaError("bad argument #1 'values' (\(error.message))") }
            }
            return try DataTable(names: names, columns: columns)
        }
        // array of rows
        var keysSeen: [String] = []
        var rows: [[String: Cell]] = []
        var arrays: [[Cell]] = []
        var isArrayRows: Bool? = nil
        for r in 0..<n {
            lua_rawgeti(L, abs, lua_Integer(r + 1))
            let row = lua_gettop(L)
            guard lua_type(L, row) == LUA_TTABLE else {
                let d = c.describe(row)
                lp_pop(L, 1)
                throw LuaError("bad argument #1 'values' (row \(r + 1) is \(d); expected a table per row)")
            }
            let rl = c.rawLen(row)
            let arrayRow = rl > 0
            if let a = isArrayRows, a != arrayRow {
                lp_pop(L, 1)
                throw LuaError("bad argument #1 'values' (row \(r + 1) mixes array rows and record rows)")
            }
            isArrayRows = arrayRow
            if arrayRow {
                var cells: [Cell] = []
                for k in 0..<rl {
                    lua_rawgeti(L, row, lua_Integer(k + 1))
                    do { cells.append(try cellAt(-1) { "row \(r + 1) element \(k + 1)" }) } catch { lp_pop(L, 2); throw error }
                    lp_pop(L, 1)
                }
                arrays.append(cells)
            } else {
                var rec: [String: Cell] = [:]
                lua_pushnil(L)
                while lua_next(L, row) != 0 {
                    guard lua_type(L, -2) == LUA_TSTRING, let k = c.string(-2) else {
                        let d = c.describe(-2)
                        lp_pop(L, 3)
                        throw LuaError("bad argument #1 'values' (row \(r + 1) has key \(d); expected column names)")
                    }
                    do { rec[k] = try cellAt(-1) { "row \(r + 1) field '\(k)'" } } catch { lp_pop(L, 3); throw error }
                    if !keysSeen.contains(k) { keysSeen.append(k) }
                    lp_pop(L, 1)
                }
                rows.append(rec)
            }
            lp_pop(L, 1)
        }
        if isArrayRows == true {
            guard let order else { throw LuaError("bad argument #1 'values' (rows given as arrays need the column names: {columns = {...}})") }
            for (r, a) in arrays.enumerated() where a.count != order.count {
                throw LuaError("bad argument #1 'values' (row \(r + 1) has \(a.count) values for \(order.count) columns)")
            }
            var columns: [Column] = []
            for (k, nm) in order.enumerated() {
                do { columns.append(try Column.from(cells: arrays.map { $0[k] }, name: nm)) } catch { throw LuaError("bad argument #1 'values' (\(error.message))") }
            }
            return try DataTable(names: order, columns: columns)
        }
        let names = try orderNames(keysSeen, order)
        var columns: [Column] = []
        for nm in names {
            do { columns.append(try Column.from(cells: rows.map { $0[nm] ?? .missing }, name: nm)) } catch { throw LuaError("bad argument #1 'values' (\(error.message))") }
        }
        return try DataTable(names: names, columns: columns)
    }

    static func orderNames(_ have: [String], _ order: [String]?) throws -> [String] {
        guard let order else { return have.sorted() }
        for k in have where !order.contains(k) {
            throw LuaError("bad option 'columns' (it does not list '\(k)', which the values have)")
        }
        return order
    }
}

/// The printed form of report records (describe, dedupe, clean): scalar fields as aligned
/// `key: value` lines, then nested tables and DataTables below.
enum ReportFormat {
    static func render(_ c: LuaCall, _ idx: Int32) -> String {
        let L = c.L
        guard lua_type(L, idx) == LUA_TTABLE else { return "report" }
        let abs = lua_absindex(L, idx)
        var scalars: [(String, String)] = []
        var blocks: [(String, String)] = []
        var title = "report"
        lua_pushnil(L)
        while lua_next(L, abs) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let k = c.string(-2) {
                let t = lua_type(L, -1)
                if k == "title", let s = c.string(-1) {
                    title = s
                } else if t == LUA_TTABLE && lua_rawlen(L, -1) == 0 && { lua_pushnil(L); let e = lua_next(L, -2) == 0; if !e { lp_pop(L, 2) }; return e }() {
                    // an empty list: nothing to show
                } else if t == LUA_TTABLE || t == LUA_TUSERDATA {
                    blocks.append((k, Printer.format(L: L, index: -1, topLevel: true)))
                } else {
                    scalars.append((k, Printer.format(L: L, index: -1, topLevel: false)))
                }
            }
            lp_pop(L, 1)
        }
        scalars.sort { $0.0 < $1.0 }
        blocks.sort { $0.0 < $1.0 }
        var out = title
        let w = scalars.map { $0.0.count }.max() ?? 0
        for (k, v) in scalars { out += "\n  " + k.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + v }
        for (k, v) in blocks {
            out += "\n" + k + ":\n  " + v.replacingOccurrences(of: "\n", with: "\n  ")
        }
        return out
    }
}
