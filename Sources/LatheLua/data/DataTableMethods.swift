import CLua
import CLuaShim
import LatheCore

/// The methods of DataTable objects (`t:column`, `t:filter`, `t:describe`, ...).
enum DataTableMethods {
    static func install(_ vm: LuaVM) {
        vm.defineClass(DataTable.self, name: "DataTable", summary: "A columnar table with typed columns (string, number, integer, boolean) and missing values (data.NA). Methods return new tables.") { b in
            b.add([columns, types, column, row, rows, head, tail, select, drop, rename, filter, map, addColumn, sort, sample, concat, join,
                   groupCount, valueCounts, unique, describe, show])
            b.meta("__tostring") { c in try c.ret(.string(TableFormat().render(try tab(c)))) }
            b.meta("__len") { c in try c.ret(.int(try tab(c).rowCount)) }
            b.index(index)
        }
    }

    static let ex = "local t = data.from({name = {\"Ann\", \"Bob\", \"Cy\"}, age = {31, 25, data.NA}}, {columns = {\"name\", \"age\"}})\n"
    static let columnName = LuaParam("column", .string, "a column name")
    static let names = LuaParam("names", .strings, "a column name or an array of names (more names may follow as arguments)")
    static let count = LuaParam("n", .integer(0...Int.max), optional: true, "how many rows (default 5)")

    static func tab(_ c: LuaCall) throws -> DataTable { try c.selfObject(DataTable.self) }

    /// t[i] is row i; t.name is an error that points to t:column.
    static func index(_ c: LuaCall) throws -> Int32 {
        let t = try tab(c)
        var v: Int64 = 0
        if lua_type(c.L, 2) == LUA_TNUMBER, lp_isinteger_value(c.L, 2, &v) != 0, v >= 1, v <= t.rowCount {
            try pushRow(c, t, Int(v) - 1)
        } else if let k = c.string(2) {
            throw LuaError("DataTable has no method '\(k)'" + (t.names.contains(k) ? "; for the column use t:column(\"\(k)\")" : ""))
        } else {
            c.pushNil()
        }
        return 1
    }

    static func pushRow(_ c: LuaCall, _ t: DataTable, _ r: Int) throws {
        try c.reserve()
        DataLua.pushNA(c.L)
        DataLua.pushRow(c, t, r, naIndex: lua_gettop(c.L))
        lp_remove(c.L, -2)
    }

    static let columns = LuaFunc(
        "columns", "The column names, in order.", returns: "{name, ...}",
        example: ex + "print(table.concat(t:columns(), \", \"))"
    ) { c in try c.ret(.strings(try tab(c).names)) }

    static let types = LuaFunc(
        "types", "The type of each column: string, number, integer or boolean.", returns: "{name = type, ...}",
        example: ex + "print(t:types().age)"
    ) { c in
        let t = try tab(c)
        try c.pushRecord(zip(t.names, t.types).map { ($0, .string($1.rawValue)) }, name: "ColumnTypes")
        return 1
    }

    static let column = LuaFunc(
        "column", "One column as a Lua array (missing values as data.NA), or as a tensor.",
        params: [LuaParam("name", .string, "the column")],
        options: [LuaOpt("tensor", .boolean, .bool(false), "a 1-D tensor: number columns float32, integer and boolean columns int64"),
                  LuaOpt("fill", .number(), .none, "the value of missing cells in the tensor (else they are an error)")],
        returns: "array or Tensor", details: "The array has exactly #t elements, with data.NA where a value is missing, so it has no holes.",
        errors: "no such column; tensor = true on a string column or with missing values and no fill.",
        example: ex + "local ages = t:column(\"age\")\nprint(ages[1], ages[3], #ages)"
    ) { c in
        let t = try tab(c), name = try c.checkString(2, "name")
        let o = try c.opts()
        if try o.bool("tensor") { return try c.ret(.object(try t.tensor(name, fill: try o.numberIfGiven("fill")))) }
        try DataLua.pushColumn(c, try t.column(name))
        return 1
    }

    static let row = LuaFunc(
        "row", "Row i as a record {column = value} (t[i] is the same).",
        params: [LuaParam("i", .integer(), "the row number, from 1")],
        returns: "{name = value, ...}: missing values are data.NA", errors: "i is not between 1 and #t.",
        example: ex + "local r = t:row(2)\nprint(r.name, r.age, t[1].name)"
    ) { c in
        let t = try tab(c), i = try c.checkInt(2, "i")
        guard i >= 1 && i <= t.rowCount else { throw c.argError(2, "i", expected: "a row number from 1 to \(t.rowCount)") }
        try pushRow(c, t, i - 1)
        return 1
    }

    static let rows = LuaFunc(
        "rows", "Iterates over the rows: for i, row in t:rows() do ... end.",
        returns: "iterator: the row number and a record per row",
        example: ex + "for i, row in t:rows() do print(i, row.name) end"
    ) { c in
        let t = try tab(c)
        var i = 0
        LuaVM.pushFunction(c.L, "DataTable:rows iterator") { ic in
            if i >= t.rowCount { return try ic.ret(.nil) }
            i += 1
            ic.push(i)
            try pushRow(ic, t, i - 1)
            return 2
        }
        return 1
    }

    static func ends(_ name: String, _ which: String, _ f: @escaping (DataTable, Int) -> DataTable, _ n: Int) -> LuaFunc {
        LuaFunc(name, "The \(which) n rows.", params: [count], returns: "DataTable", example: ex + "print(t:\(name)(\(n)))") { c in
            try c.ret(.object(f(try tab(c), try c.optInt(2, "n", 5))))
        }
    }
    static let head = ends("head", "first", { $0.head($1) }, 2)
    static let tail = ends("tail", "last", { $0.tail($1) }, 1)

    /// Names given as arguments from argument 2 on, or one array.
    static func varNames(_ c: LuaCall) throws -> [String] {
        if c.type(2) == LUA_TTABLE { return try c.stringArray(2, "names") }
        return try (2...max(2, c.top)).map { try c.checkString($0, "names") }
    }

    static func columnSet(_ name: String, _ summary: String, _ f: @escaping (DataTable, [String]) throws -> DataTable, _ example: String) -> LuaFunc {
        LuaFunc(name, summary, params: [names], returns: "DataTable", errors: "a name that is not a column.", example: ex + example) { c in
            try c.ret(.object(try f(try tab(c), try varNames(c))))
        }
    }
    static let select = columnSet("select", "Keeps the named columns, in the order given.", { try $0.select($1) }, "print(t:select(\"age\", \"name\"))")
    static let drop = columnSet("drop", "Removes the named columns.", { try $0.drop($1) }, "print(t:drop(\"age\"):columns()[1])")

    static let rename = LuaFunc(
        "rename", "Renames columns: t:rename{old = \"new\", ...}.",
        params: [LuaParam("mapping", .table, "{old_name = \"new_name\", ...}")], returns: "DataTable",
        errors: "an old name that is not a column; a new name that clashes.",
        example: ex + "print(t:rename({name = \"customer\"}):columns()[1])"
    ) { c in
        let map = try DataLua.stringMap(c, 2) { c.argError(2, "mapping", "expected {old_name = \"new_name\", ...}; '\($0)' is not given a string") }
        return try c.ret(.object(try tab(c).rename(Dictionary(map, uniquingKeysWith: { a, _ in a }))))
    }

    static let filter = LuaFunc(
        "filter", "Keeps the rows for which fn returns a true value.",
        params: [LuaParam("fn_or_column", .either([.function, .string]), "fn(row, i) receiving each row as a record and its number, or a column name"),
                 LuaParam("fn", .function, optional: true, "after a column name: fn(value, i) receiving only that column's value (faster)")],
        returns: "DataTable", details: "Missing values are data.NA.",
        errors: "fn is not a function; any error fn raises.",
        example: ex + "print(t:filter(function(r) return r.name ~= \"Bob\" end))\nprint(#t:filter(\"age\", function(a) return a ~= data.NA and a > 30 end))"
    ) { c in
        let t = try tab(c)
        var col: Column? = nil
        if let name = c.string(2) {
            try c.checkFunction(3, "fn")
            col = try t.column(name)
        }
        let keep = try DataLua.eachRow(c, t, fn: col == nil ? 2 : 3, column: col, "filter") { _, _ in lua_toboolean(c.L, -1) != 0 }
        return try c.ret(.object(try t.filter(keep)))
    }

    static let map = LuaFunc(
        "map", "Replaces a column by fn(value, i) for each value (or writes a new column with into =).",
        params: [columnName, LuaParam("fn", .function, "fn(value, i) -> the new value (nil or data.NA for missing)")],
        options: [LuaOpt("into", .string, .computed("the column itself"), "the column to write")],
        returns: "DataTable",
        details: "fn receives each value (data.NA when missing) and the row number. The new column's type is inferred from the results.",
        errors: "no such column; fn returns a table or function; results mixing strings and numbers.",
        example: ex + "print(t:map(\"name\", string.upper))\nprint(t:map(\"age\", function(a) return a ~= data.NA and a + 1 or a end, {into = \"next_age\"}))"
    ) { c in
        let t = try tab(c), name = try c.checkString(2, "column")
        let into = try c.opts().stringIfGiven("into") ?? name
        let col = try t.column(name)
        let cells = try DataLua.cells(c, t, fn: 3, column: col, "map")
        return try c.ret(.object(try t.setting(into, try Column.from(cells: cells, emptyType: col.type, name: into))))
    }

    static let addColumn = LuaFunc(
        "add_column", "Adds a column from an array, a tensor, a function of the row, or one value for every row.",
        params: [LuaParam("name", .string, "the new column"),
                 LuaParam("values", .any, "an array of #t values (data.NA for missing), a 1-D tensor of length #t, a function(row, i), or one string, number or boolean")],
        returns: "DataTable", errors: "the column exists; the wrong number of values; values of mixed kinds.",
        example: ex + "print(t:add_column(\"id\", {10, 20, 30}):add_column(\"source\", \"web\"))\nprint(t:add_column(\"len\", function(r) return #r.name end))"
    ) { c in
        let t = try tab(c), name = try c.checkString(2, "name")
        if t.names.contains(name) { throw c.argError(2, "name", "column '\(name)' already exists; use t:map to change it") }
        guard c.type(3) == LUA_TFUNCTION else { return try c.ret(.object(try t.adding(name, try DataLua.column(c, 3, "values", rows: t.rowCount)))) }
        return try c.ret(.object(try t.adding(name, try Column.from(cells: try DataLua.cells(c, t, fn: 3, "add_column"), name: name))))
    }

    static let sort = LuaFunc(
        "sort", "Sorts rows by a column (or several), stable; missing values last.",
        params: [LuaParam("columns", .strings, "a column name or an array of names"),
                 LuaParam("desc", .either([.boolean, .table]), optional: true, "true for descending, or an array with one boolean per column")],
        returns: "DataTable", errors: "no such column.",
        example: ex + "print(t:sort(\"age\", true))"
    ) { c in
        let cols = try DataLua.names(c, 2, "columns") ?? []
        let desc: [Bool] = switch try c.value(3) {
        case .bool(let d): [Bool](repeating: d, count: cols.count)
        case .array(let a): a.map { if case .bool(true) = $0 { true } else { false } }
        default: []
        }
        return try c.ret(.object(try tab(c).sorted(by: cols, descending: desc)))
    }

    static let sample = LuaFunc(
        "sample", "n rows drawn at random (seeded).",
        params: [LuaParam("n", .integer(0...Int.max), "how many rows")],
        options: [DataLua.seed, LuaOpt("replace", .boolean, .bool(false), "draw with replacement (n may exceed #t)")],
        returns: "DataTable", errors: "n larger than #t without replace.",
        example: ex + "print(t:sample(2, {seed = 1}))"
    ) { c in
        let t = try tab(c), n = try c.checkInt(2, "n")
        let o = try c.opts()
        let replace = try o.bool("replace")
        return try c.ret(.object(try DataLua.withRNG(o) { g in try t.sample(n, replace: replace, rng: &g) }))
    }

    static let concat = LuaFunc(
        "concat", "Rows of t followed by rows of other; columns are matched by name.",
        params: [LuaParam("other", .object("DataTable"), "the rows to append")],
        returns: "DataTable",
        details: "A column only one table has is missing in the other's rows. Integer and number columns combine as number;\nother type differences are an error.",
        errors: "a column with different types in the two tables.",
        example: ex + "print(#t:concat(t))"
    ) { c in try c.ret(.object(try tab(c).concat(try c.checkObject(2, DataTable.self)))) }

    static let join = LuaFunc(
        "join", "Joins the rows of other whose key columns equal t's (a hash join).",
        params: [LuaParam("other", .object("DataTable"), "the table to join"), LuaParam("on", .strings, "the key column, or an array of them, present in both tables")],
        options: [LuaOpt("how", .choice(["inner", "left"]), .string("inner"), "inner keeps rows with a match; left keeps every row of t (missing values where nothing matches)"),
                  LuaOpt("suffix", .string, .string("_right"), "added to other's column names that clash with t's")],
        returns: "DataTable", details: "A row matching several rows appears once per match. Missing keys never match.",
        errors: "a key missing from either table, or of incompatible types.",
        example: ex + "local cities = data.from({name = {\"Ann\", \"Cy\"}, city = {\"Oslo\", \"Rome\"}})\nprint(t:join(cities, \"name\", {how = \"left\"}))"
    ) { c in
        let o = try c.opts()
        return try c.ret(.object(try tab(c).join(try c.checkObject(2, DataTable.self), on: try DataLua.names(c, 3, "on") ?? [],
                                                 kind: try o.string("how") == "left" ? .left : .inner, suffix: try o.string("suffix"))))
    }

    static let groupCount = LuaFunc(
        "group_count", "Row counts per distinct value (or combination of values), sorted by the values.",
        params: [LuaParam("columns", .strings, "a column name or an array of names")],
        returns: "DataTable: the group columns and `count`", errors: "no such column.",
        example: ex + "print(t:concat(t):group_count(\"name\"))"
    ) { c in try c.ret(.object(try tab(c).groupCount(try DataLua.names(c, 2, "columns") ?? []))) }

    static let valueCounts = LuaFunc(
        "value_counts", "Distinct values of a column with counts and shares, most frequent first.",
        params: [columnName], returns: "DataTable: (column, count, share)",
        details: "Missing values count as one value, shown as NA.", errors: "no such column.",
        example: "local t = data.from({label = {\"spam\", \"ham\", \"ham\"}})\nprint(t:value_counts(\"label\"))"
    ) { c in try c.ret(.object(try tab(c).valueCounts(try c.checkString(2, "column")))) }

    static let unique = LuaFunc(
        "unique", "The distinct values of a column, in order of first appearance (missing left out).",
        params: [columnName], returns: "{value, ...}",
        errors: "no such column.",
        example: "local t = data.from({label = {\"spam\", \"ham\", \"ham\"}})\nprint(table.concat(t:unique(\"label\"), \" \"))"
    ) { c in
        let keys = try tab(c).column(try c.checkString(2, "column")).distinctCounts().0.filter { !$0.isMissing }
        try c.push(.array([]))
        for (k, v) in keys.enumerated() {
            DataLua.push(c, v)
            lua_rawseti(c.L, -2, lua_Integer(k + 1))
        }
        return 1
    }

    static let describe = LuaFunc(
        "describe", "A summary: rows, duplicate rows, and per column the type, missing values, distinct values and min/mean/max.",
        options: [LuaOpt("label", .string, .computed("a column called \"label\""), "the column whose label distribution is shown")],
        returns: "DescribeReport {rows=, duplicates=, columns=, labels=}: columns and labels are DataTables; prints readably",
        details: "The column `of` says what min, mean and max measure: \"length\" (in characters) for text columns, \"value\" for the others.",
        errors: "no such label column.",
        example: "local t = data.from({text = {\"hi\", \"hello\", \"hi\"}, label = {\"a\", \"b\", \"a\"}})\nprint(t:describe())"
    ) { c in
        let t = try tab(c)
        let d = try t.describe(label: try c.opts().stringIfGiven("label"))
        let title = "describe: \(TableFormat.count(d.rows, "row")) x \(TableFormat.count(t.columnCount, "column"))"
        try DataLua.pushReport(c, title, [("rows", .int(d.rows)), ("duplicates", .int(d.duplicates)), ("columns", .object(t.describeTable(d)))]
            + (d.labels.map { [("labels", .object($0))] } ?? []), name: "DescribeReport")
        return 1
    }

    static let show = LuaFunc(
        "show", "Prints the table with the columns, cell widths and rows you ask for (print(t) shows what fits 80 columns).",
        options: [LuaOpt("columns", .choice(["fit", "all"]), .string("fit"), "fit: the columns that fit `width`, the others named at the end; all: every column, however long the lines"),
                  LuaOpt("width", .integer(20...Int.max), .int(TableFormat().width), "the line width the columns fit"),
                  LuaOpt("cell_width", .either([.integer(2...Int.max), .choice(["full"])]), .int(TableFormat().maxCellWidth),
                         "the widest a cell is shown (longer text ends in …); \"full\" shows whole texts"),
                  LuaOpt("rows", .either([.integer(1...Int.max), .choice(["all"])]), .int(TableFormat().maxRows),
                         "a longer table shows its first and last rows; \"all\" shows every row")],
        details: "Line breaks and tabs in cells are shown as \\n and \\t, so every row stays one line.",
        example: "local t = data.from({id = {1, 2}, review = {\"A long review that goes on and on about the product\", \"Short\"}}, {columns = {\"id\", \"review\"}})\nt:show({columns = \"all\", cell_width = \"full\"})\nt:show({cell_width = 12})"
    ) { c in
        let o = try c.opts()
        // "full" and "all" are strings; the numbers read with their declared defaults
        let f = TableFormat(allColumns: try o.string("columns") == "all", width: try o.int("width"),
                            cellWidth: try o.stringIfGiven("cell_width") == nil ? try o.int("cell_width") : nil,
                            rows: try o.stringIfGiven("rows") == nil ? try o.int("rows") : nil)
        Output.write(f.render(try tab(c)) + "\n")
        return 0
    }
}
