import CLua
import CLuaShim
import LatheCore

/// The `data` module: data.NA, tables from Lua values, and CSV, JSON Lines and JSON files.
/// Cleaning, PII and de-duplication are in DataCleanFunctions; splits, balancing,
/// augmentation and templates in DataPrepFunctions; table methods in DataTableMethods.
enum DataFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("data", summary: "Data preparation: tables, CSV/JSONL/JSON, cleaning, PII masking, de-duplication, splits, balancing, augmentation, prompt templates.",
                  details: """
            Tables are columnar with typed columns (string, number, integer, boolean) and real
            missing values, shown as data.NA. Tables are values: every method returns a new table.
            Read: data.read_csv, data.read_jsonl, data.read_json, data.from. Inspect: print(t), t:show{...},
            t:describe(), t:value_counts(col). Clean: data.clean and its steps, data.mask_pii, data.dedupe.
            Prepare: data.split, data.kfold, data.oversample, data.augment, data.template.
            """)
            .add([isNA, from, readCSV, writeCSV, readJSONL, readJSON, writeJSONL] + DataCleanFunctions.all + DataPrepFunctions.all)
        installNA(vm)
        DataTableMethods.install(vm)
    }

    /// data.NA: a unique table that prints as NA. It is made in Lua, so writing to it is an
    /// error Lua raises itself.
    static func installNA(_ vm: LuaVM) {
        let error = vm.run("""
            local NA = setmetatable({}, {__name = "NA", __metatable = "NA", __tostring = function() return "NA" end,
              __newindex = function() error("data.NA is read-only (it marks a missing value)", 2) end})
            data.NA = NA
            debug.getregistry()["\(DataLua.naKey)"] = NA
            """)
        precondition(error == nil, "data.NA: \(error ?? "")")
    }

    static let isNA = LuaFunc(
        "is_na", "True when a value is missing: data.NA or nil.",
        params: [LuaParam("v", .any, optional: true, "any value")],
        returns: "boolean",
        details: "Missing cells come out of tables as data.NA (never nil, so arrays have no holes).\ndata.NA prints as NA, is a unique read-only table, and compares equal only to itself.",
        example: "local t = data.from({x = {1, data.NA, 3}})\nlocal xs = t:column(\"x\")\nprint(data.is_na(xs[2]), data.is_na(xs[1]), xs[2] == data.NA)"
    ) { c in try c.ret(.bool(c.isNoneOrNil(1) || DataLua.isNA(c.L, 1))) }

    static let from = LuaFunc(
        "from", "Makes a table from Lua values: a record of columns, or an array of rows.",
        params: [LuaParam("values", .table, "{name = {v1, v2, ...}, ...} (a column may also be a 1-D tensor), {{name = v, ...}, ...} or array rows {{v1, v2}, ...}")],
        options: [LuaOpt("columns", .strings, .computed("alphabetical"), "the column order (needed for array rows)"), DataLua.types],
        returns: "DataTable",
        details: """
            Values may be strings, numbers, integers, booleans, and nil or data.NA for missing. A column's
            type is inferred: all integers -> integer, integers and floats -> number, booleans -> boolean,
            strings -> string; `types` converts (e.g. {zip = "string"}). Use data.NA rather than nil inside
            column arrays (a Lua array cannot end in nil).
            """,
        errors: "columns of different lengths; a value of an unsupported kind; a column mixing strings and numbers.",
        example: "local t = data.from({name = {\"Ann\", \"Bob\"}, age = {31, data.NA}}, {columns = {\"name\", \"age\"}})\nprint(t)\nlocal r = data.from({{q = \"hi\", n = 1}, {q = \"yo\", n = 2}})\nprint(#r, r:columns()[1])"
    ) { c in
        let o = try c.opts()
        return try c.ret(.object(try DataFromLua(c: c).table(order: try o.stringsIfGiven("columns")).converting(try DataLua.types(c, o))))
    }

    // MARK: files

    static let path = LuaParam("path", .string, "the file")
    static let encoding = LuaOpt("encoding", .string, .string("utf-8"), "the file's encoding: utf-8, latin-1, cp1252 or utf-16")
    static let onError = LuaOpt("on_error", .choice(["error", "skip"]), .string("error"), "skip: leave malformed rows out, count them in the report and warn once")
    static let overwrite = LuaOpt("overwrite", .boolean, .bool(false), "replace an existing file")
    static let sep = LuaOpt("sep", .string, .computed("\",\" (tab for .tsv and .tab files)"), "the field separator, one ASCII character")
    static let quote = LuaOpt("quote", .either([.string, .boolean]), .string("\""), "the quote character, or false for no quoting (pandas' QUOTE_NONE)")
    static let readReport = "the table, and a report {rows=, lines=, row_lines=, skipped=, skipped_lines=, blank_lines=, header_lines=, problems=, notes=}"

    static let readCSV = LuaFunc(
        "read_csv", "Reads a CSV file (RFC 4180) into a table, inferring column types.",
        params: [path],
        options: [sep, quote,
                  LuaOpt("max_quoted_lines", .integer(1...Int.max), .int(CSVReadOptions().maxQuotedLines), "a quoted field spanning more lines is a stray quote"),
                  LuaOpt("header", .boolean, .bool(CSVReadOptions().header), "the first row names the columns (else col1, col2, ...)"),
                  DataLua.types, encoding,
                  LuaOpt("na", .strings, .strings(CSVReadOptions.defaultNA), "unquoted field texts that mean missing"),
                  onError],
        returns: readReport,
        details: """
            RFC 4180: quoted fields, doubled quotes, line breaks inside quotes, CRLF or LF, a UTF-8 byte-order mark;
            blank lines are skipped. Types are inferred: integer (no leading zeros: "007" stays text), number, boolean,
            else string. An unquoted field in `na` is missing; a quoted field is always a value ("" is an empty string).
            A quote that opens a field and does not close properly (no closing quote, a field longer than
            max_quoted_lines, text after the closing quote, or a multi-line field in a row with the wrong number of
            fields) is a stray quote: an error naming where it opened, or with on_error = "skip" the row's lines up to
            there are skipped and reading resumes on the next line (one stray quote costs one row, where pandas merges
            the following lines into one field). The report accounts for every line: row_lines + skipped_lines +
            blank_lines + header_lines == lines; problems = {{line=, end_line=, column=, message=}, ...}.
            """,
        errors: "a missing file; invalid UTF-8, a malformed row, a stray quote or a value not fitting `types`, named by file, line and column.",
        example: "local path = os.tmpname()\nlocal f = io.open(path, \"w\")\nf:write('id,text,score\\n1,\"hello, world\",0.5\\n2,\"say \"\"hi\"\"\",\\n3,\"stray,7\\n4,fine,1\\n')\nf:close()\nlocal t, report = data.read_csv(path, {on_error = \"skip\"})\nprint(t)\nprint(report.lines, report.row_lines, report.skipped_lines, report.problems[1].message)\nprint(data.read_csv(path, {quote = false, on_error = \"skip\"}):column(\"text\")[2])\nos.remove(path)"
    ) { c in
        let path = try c.checkString(1, "path")
        let o = try c.opts()
        var r = CSVReadOptions()
        r.separator = try separator(o, path: path)
        r.quote = try quoteChar(c, o, separator: r.separator)
        r.maxQuotedLines = try o.int("max_quoted_lines")
        r.header = try o.bool("header")
        r.na = try o.strings("na")
        (r.types, r.encoding, r.skipErrors) = try readerOptions(c, o)
        return try read(c, "read_csv", path) { try CSV.read(path: path, options: r, progress: $0) }
    }

    static let writeCSV = LuaFunc(
        "write_csv", "Writes a table as CSV (RFC 4180).",
        params: [DataLua.t, LuaParam("path", .string, "the file to write")],
        options: [sep, quote, LuaOpt("header", .boolean, .bool(CSV.WriteOptions().header), "write the column names first"),
                  LuaOpt("na", .string, .string(CSV.WriteOptions().na), "the text of a missing value"),
                  LuaOpt("crlf", .boolean, .bool(false), "end lines with CRLF (else LF)"), overwrite],
        details: """
            Fields holding the separator, the quote, a line break, leading or trailing spaces, or text that
            would read back as missing are quoted (quotes doubled); an empty string is written as "" and a
            missing value as an empty field (or `na`), so data.read_csv reads the file back to the same
            table. Numbers use the shortest text that reads back exactly. With quote = false every field
            is written as it is: a field holding the separator or a line break is then an error naming its
            column and row. The write is atomic.
            """,
        errors: "the file exists (without overwrite); the folder does not exist; with quote = false, a field holding the separator or a line break.",
        example: "local path = os.tmpname()\nlocal t = data.from({a = {1, 2}, b = {\"x, y\", \"\"}}, {columns = {\"a\", \"b\"}})\ndata.write_csv(t, path, {overwrite = true})\nprint(io.open(path):read(\"a\"))\ndata.write_csv(data.from({q = {'say \"hi\"'}}), path, {sep = \"\\t\", quote = false, overwrite = true})\nprint(io.open(path):read(\"a\"))\nos.remove(path)"
    ) { c in
        let path = try c.checkString(2, "path")
        let o = try c.opts()
        var w = CSV.WriteOptions()
        w.separator = try separator(o, path: path)
        w.quote = try quoteChar(c, o, separator: w.separator)
        w.header = try o.bool("header")
        w.na = try o.string("na")
        w.lineEnding = try o.bool("crlf") ? "\r\n" : "\n"
        try AtomicFile.write(try CSV.write(try c.checkObject(1, DataTable.self), options: w), to: path, overwrite: try o.bool("overwrite"))
        return 0
    }

    static let readJSONL = LuaFunc(
        "read_jsonl", "Reads a JSON Lines file (one JSON object per line) into a table.",
        params: [path], options: [DataLua.types, encoding, onError],
        returns: readReport,
        details: """
            Keys become columns in order of first appearance; a key absent from a line, or null, is
            missing. Strings, integers, other numbers and booleans give typed columns; nested objects and
            arrays are kept as their JSON text (decode with json.decode). A key whose values mix kinds
            becomes a string column of JSON texts unless `types` says otherwise. Blank lines are skipped.
            The report accounts for every line: row_lines + skipped_lines + blank_lines == lines.
            """,
        errors: "a missing file; a line that is not a JSON object, or invalid UTF-8, named by file, line and column.",
        example: "local path = os.tmpname()\nlocal f = io.open(path, \"w\")\nf:write('{\"q\": \"hi\", \"n\": 1, \"tags\": [\"a\"]}\\n\\n{\"q\": \"yo\", \"n\": null}\\n{\"q\": oops}\\n')\nf:close()\nlocal t, report = data.read_jsonl(path, {on_error = \"skip\"})\nprint(t)\nprint(report.lines, report.row_lines, report.blank_lines, report.skipped_lines)\nos.remove(path)"
    ) { c in
        let path = try c.checkString(1, "path")
        let o = try c.opts()
        var r = JSONL.ReadOptions()
        (r.types, r.encoding, r.skipErrors) = try readerOptions(c, o)
        return try read(c, "read_jsonl", path) { try JSONL.read(path: path, options: r, progress: $0) }
    }

    static let readJSON = LuaFunc(
        "read_json", "Reads a JSON file of records (an array of objects) into a table, flattening nested objects.",
        params: [path],
        options: [LuaOpt("records", .string, .none, "the key of a top-level object that holds the array of records"),
                  LuaOpt("flatten", .boolean, .bool(true), "false keeps nested objects as JSON text (the same as max_level = 0)"),
                  LuaOpt("sep", .string, .string(JSONRecords.ReadOptions().separator), "joins the keys of nested objects into column names"),
                  LuaOpt("max_level", .integer(0...Int.max), .computed("no limit"), "flatten only this many levels"),
                  DataLua.types, encoding, onError],
        returns: readReport,
        details: """
            Each object is a row. Nested objects are flattened as pandas.json_normalize does: {"a": {"b": 1}}
            gives column "a.b"; a record's plain keys come first, then its nested objects' keys; an empty
            nested object gives no column. Arrays stay compact JSON text. Otherwise as data.read_jsonl.
            With on_error = "skip", records that are not objects or hold invalid UTF-8 are skipped; a
            syntax error is always an error. The report counts physical lines (records may share lines).
            """,
        errors: "a missing file; invalid JSON, a top level that is not an array (or no array under `records`), a record that is not an object, invalid UTF-8, named by file, line and column.",
        example: "local path = os.tmpname()\nlocal f = io.open(path, \"w\")\nf:write('{\"data\": [{\"id\": 1, \"user\": {\"name\": \"Ann\", \"geo\": {\"city\": \"Oslo\"}}, \"tags\": [\"a\", \"b\"]},\\n {\"id\": 2, \"user\": {\"name\": \"Bob\"}, \"tags\": []}]}')\nf:close()\nlocal t = data.read_json(path, {records = \"data\"})\nprint(t)\nprint(data.read_json(path, {records = \"data\", flatten = false}):column(\"user\")[2])\nos.remove(path)"
    ) { c in
        let path = try c.checkString(1, "path")
        let o = try c.opts()
        var r = JSONRecords.ReadOptions()
        r.recordsKey = try o.stringIfGiven("records")
        r.separator = try o.string("sep")
        let (flatten, maxLevel) = (try o.bool("flatten"), try o.intIfGiven("max_level"))
        try DataLua.checked("max_level") { () throws(LatheError) in try r.flatten(flatten, maxLevel: maxLevel) }
        (r.types, r.encoding, r.skipErrors) = try readerOptions(c, o)
        return try read(c, "read_json", path) { try JSONRecords.read(path: path, options: r, progress: $0) }
    }

    static let writeJSONL = LuaFunc(
        "write_jsonl", "Writes a table as JSON Lines (one object per row).",
        params: [DataLua.t, LuaParam("path", .string, "the file to write")],
        options: [LuaOpt("missing", .choice(["null", "omit"]), .string("null"), "write missing values as null, or leave their keys out"), overwrite],
        details: "Keys follow the column order. Numbers that are not finite (nan, inf) are written as null. The write is atomic.",
        errors: "the file exists (without overwrite); the folder does not exist.",
        example: "local path = os.tmpname()\ndata.write_jsonl(data.from({q = {\"hi\"}, n = {1}}), path, {overwrite = true})\nprint(io.open(path):read(\"a\"))\nos.remove(path)"
    ) { c in
        let o = try c.opts()
        let bytes = JSONL.write(try c.checkObject(1, DataTable.self), omitMissing: try o.string("missing") == "omit")
        try AtomicFile.write(bytes, to: try c.checkString(2, "path"), overwrite: try o.bool("overwrite"))
        return 0
    }

    // MARK: readers of file options

    /// Reads with a progress bar, warns about skipped rows, and returns the table and its report.
    static func read(_ c: LuaCall, _ fn: String, _ path: String,
                     _ body: (@escaping (Int, Int) -> Void) throws -> (DataTable, ReadReport)) throws -> Int32 {
        let (t, r) = try DataLua.progress(fn, "B", body)
        for w in r.warnings(path: path) { Output.warning("data." + fn, w) }
        let problems: [LuaValue] = r.problems.map { p in
            .record([("line", .int(p.line)), ("end_line", .int(p.endLine)), ("message", .string(p.message))] + (p.column.map { [("column", .int($0))] } ?? []))
        }
        c.push(t)
        try DataLua.pushReport(c, r.title, [
            ("rows", .int(r.rows)), ("skipped", .int(r.skipped)), ("lines", .int(r.lines)), ("row_lines", .int(r.rowLines)),
            ("skipped_lines", .int(r.skippedLines)), ("blank_lines", .int(r.blankLines)), ("header_lines", .int(r.headerLines)),
            ("problems", .array(problems)), ("notes", .strings(r.notes)),
        ], name: "ReadReport")
        return 2
    }

    /// types, encoding and on_error, which every reader takes.
    static func readerOptions(_ c: LuaCall, _ o: DeclaredOptions) throws -> ([String: ColumnType], TextBytes.Encoding, Bool) {
        let name = try o.string("encoding")
        return (try DataLua.types(c, o), try DataLua.checked("encoding") { () throws(LatheError) in try TextBytes.Encoding.named(name) },
                try o.string("on_error") == "skip")
    }

    static func separator(_ o: DeclaredOptions, path: String) throws -> UInt8 {
        let given = try o.stringIfGiven("sep")
        return try DataLua.checked("sep") { () throws(LatheError) in try CSV.separator(given, path: path) }
    }

    /// The `quote` option: one character, true (the double quote) or false (no quoting).
    static func quoteChar(_ c: LuaCall, _ o: DeclaredOptions, separator: UInt8) throws -> UInt8? {
        switch try o.value("quote") {
        case .string(let s): return try DataLua.checked("quote") { () throws(LatheError) in try CSV.quote(s, separator: separator) }
        case .bool(false): return nil
        default: return UInt8(ascii: "\"")
        }
    }
}
