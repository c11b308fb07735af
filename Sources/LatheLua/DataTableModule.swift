import CLua
import CLuaShim
import Foundation
import LatheCore

/// The DataTable class: methods of tables in Lua.
enum DataTableClass {
    static let example0 = "local t = data.from({name = {\"Ann\", \"Bob\", \"Cy\"}, age = {31, 25, data.NA}}, {columns = {\"name\", \"age\"}})\n"

    static func install(_ vm: LuaVM) throws {
        vm.defineClass(DataTable.self, name: "DataTable", summary: "A columnar table with typed columns (string, number, integer, boolean) and missing values (data.NA). Methods return new tables.") { b in
            b.meta("__tostring") { c in
                let t = try c.selfObject(DataTable.self)
                c.push(TableFormat().render(t))
                return 1
            }
            b.meta("__len") { c in
                c.push(try c.selfObject(DataTable.self).rowCount)
                return 1
            }
            b.index { c in
                let t = try c.selfObject(DataTable.self)
                if lua_type(c.L, 2) == LUA_TNUMBER {
                    var v: Int64 = 0
                    guard lp_isinteger_value(c.L, 2, &v) != 0, v >= 1, Int(v) <= t.rowCount else {
                        c.pushNil()
                        return 1
                    }
                    DataLua.pushNA(c.L)
                    DataLua.pushRow(c, t, Int(v) - 1, naIndex: lua_gettop(c.L))
                    return 1
                }
                if let k = c.string(2) {
                    var msg = "DataTable has no method '\(k)'"
                    if t.names.contains(k) { msg += "; for the column use t:column(\"\(k)\")" }
                    throw LuaError(msg)
                }
                c.pushNil()
                return 1
            }

            b.method("columns", Doc(
                "The column names, in order.",
                signature: "t:columns() -> {name, ...}",
                returns: "an array of strings",
                example: example0 + "print(table.concat(t:columns(), \", \"))")) { c in
                let t = try c.selfObject(DataTable.self)
                return try c.ret(.strings(t.names))
            }

            b.method("types", Doc(
                "The type of each column: string, number, integer or boolean.",
                signature: "t:types() -> {name = type, ...}",
                returns: "a record from column name to type name",
                example: example0 + "print(t:types().age)")) { c in
                let t = try c.selfObject(DataTable.self)
                return try c.ret(.record(zip(t.names, t.types).map { ($0, .string($1.rawValue)) }))
            }

            b.method("column", Doc(
                "One column as a Lua array (missing values as data.NA), or as a tensor.",
                signature: "t:column(name, {tensor = false, fill = nil}) -> array or Tensor",
                details: """
                The array has exactly #t elements, with data.NA where a value is missing, so it has no
                holes. With tensor = true a number column becomes a float32 tensor and an integer or
                boolean column an int64 tensor (1-D, length #t); missing values are an error unless
                `fill` gives the value to use.
                """,
                returns: "an array of values, or a Tensor",
                errors: "no such column; tensor = true on a string column or with missing values and no fill.",
                example: example0 + "local ages = t:column(\"age\")\nprint(ages[1], ages[3], #ages)")) { c in
                let t = try c.selfObject(DataTable.self)
                let name = try c.checkString(2, "name")
                let o = try c.options(3, allowed: ["tensor", "fill"])
                let col = try t.column(name)
                if try o.bool("tensor", false) {
                    c.push(try t.tensor(name, fill: try o.number("fill")))
                    return 1
                }
                try DataLua.pushColumn(c, col)
                return 1
            }

            b.method("row", Doc(
                "Row i as a record {column = value} (t[i] is the same).",
                signature: "t:row(i) -> {name = value, ...}",
                returns: "a record; missing values are data.NA",
                errors: "i is not between 1 and #t.",
                example: example0 + "local r = t:row(2)\nprint(r.name, r.age, t[1].name)")) { c in
                let t = try c.selfObject(DataTable.self)
                let i = try c.checkInt(2, "i")
                guard i >= 1 && i <= t.rowCount else {
                    throw c.argError(2, "i", expected: "a row number from 1 to \(t.rowCount)")
                }
                DataLua.pushNA(c.L)
                DataLua.pushRow(c, t, i - 1, naIndex: lua_gettop(c.L))
                return 1
            }

            b.method("rows", Doc(
                "Iterates over the rows: for i, row in t:rows() do ... end.",
                signature: "t:rows() -> iterator",
                returns: "an iterator giving the row number and a record per row",
                example: example0 + "for i, row in t:rows() do print(i, row.name) end")) { c in
                let t = try c.selfObject(DataTable.self)
                var i = 0
                vm.pushFunction("DataTable:rows iterator") { ic in
                    if i >= t.rowCount { ic.pushNil(); return 1 }
                    i += 1
                    ic.push(i)
                    DataLua.pushNA(ic.L)
                    let na = lua_gettop(ic.L)
                    DataLua.pushRow(ic, t, i - 1, naIndex: na)
                    lp_remove(ic.L, na)
                    return 2
                }
                return 1
            }

            b.method("head", Doc(
                "The first n rows (default 5).",
                signature: "t:head([n = 5]) -> DataTable",
                returns: "a new table",
                example: example0 + "print(t:head(2))")) { c in
                let t = try c.selfObject(DataTable.self)
                let n = try c.optInt(2, "n", 5)
                if n < 0 { throw c.argError(2, "n", expected: "a non-negative integer") }
                c.push(t.head(n))
                return 1
            }

            b.method("tail", Doc(
                "The last n rows (default 5).",
                signature: "t:tail([n = 5]) -> DataTable",
                returns: "a new table",
                example: example0 + "print(t:tail(1))")) { c in
                let t = try c.selfObject(DataTable.self)
                let n = try c.optInt(2, "n", 5)
                if n < 0 { throw c.argError(2, "n", expected: "a non-negative integer") }
                c.push(t.tail(n))
                return 1
            }

            b.method("select", Doc(
                "Keeps the named columns, in the order given.",
                signature: "t:select(name, ...) or t:select({names...}) -> DataTable",
                returns: "a new table",
                errors: "a name that is not a column.",
                example: example0 + "print(t:select(\"age\", \"name\"))")) { c in
                let t = try c.selfObject(DataTable.self)
                c.push(try t.select(try varNames(c, from: 2)))
                return 1
            }

            b.method("drop", Doc(
                "Removes the named columns.",
                signature: "t:drop(name, ...) or t:drop({names...}) -> DataTable",
                returns: "a new table",
                errors: "a name that is not a column.",
                example: example0 + "print(t:drop(\"age\"):columns()[1])")) { c in
                let t = try c.selfObject(DataTable.self)
                c.push(try t.drop(try varNames(c, from: 2)))
                return 1
            }

            b.method("rename", Doc(
                "Renames columns: t:rename{old = \"new\", ...}.",
                signature: "t:rename({old = new, ...}) -> DataTable",
                returns: "a new table",
                errors: "an old name that is not a column; a new name that clashes.",
                example: example0 + "print(t:rename({name = \"customer\"}):columns()[1])")) { c in
                let t = try c.selfObject(DataTable.self)
                try c.checkTable(2, "mapping")
                var map: [String: String] = [:]
                lua_pushnil(c.L)
                while lua_next(c.L, 2) != 0 {
                    guard let k = c.string(-2), let v = c.string(-1), lua_type(c.L, -2) == LUA_TSTRING, lua_type(c.L, -1) == LUA_TSTRING else {
                        lp_pop(c.L, 2)
                        throw c.argError(2, "mapping", "expected {old_name = \"new_name\", ...}")
                    }
                    map[k] = v
                    lp_pop(c.L, 1)
                }
                c.push(try t.rename(map))
                return 1
            }

            b.method("filter", Doc(
                "Keeps the rows for which fn returns a true value.",
                signature: "t:filter(fn) or t:filter(column, fn) -> DataTable",
                details: "fn(row, i) receives each row as a record and its number; with a column name,\nfn(value, i) receives only that column's value (faster). Missing values are data.NA.",
                returns: "a new table",
                errors: "fn is not a function; any error fn raises.",
                example: example0 + "print(t:filter(function(r) return r.name ~= \"Bob\" end))\nprint(#t:filter(\"age\", function(a) return a ~= data.NA and a > 30 end))")) { c in
                let t = try c.selfObject(DataTable.self)
                let L = c.L
                DataLua.pushNA(L)
                let na = lua_gettop(L)
                var keep = [Bool](repeating: false, count: t.rowCount)
                let bar = ProgressBar("filter", total: t.rowCount, unit: "rows")
                if let name = c.string(2) {
                    try c.checkFunction(3, "fn")
                    let col = try t.column(name)
                    for r in 0..<t.rowCount {
                        try c.callLua(3, nresults: 1) {
                            DataLua.push(L, col, r, naIndex: na)
                            lua_pushinteger(L, lua_Integer(r + 1))
                            return 2
                        }
                        keep[r] = lua_toboolean(L, -1) != 0
                        lp_pop(L, 1)
                        bar.update(r + 1)
                    }
                } else {
                    try c.checkFunction(2, "fn")
                    for r in 0..<t.rowCount {
                        try c.callLua(2, nresults: 1) {
                            DataLua.pushRow(c, t, r, naIndex: na)
                            lua_pushinteger(L, lua_Integer(r + 1))
                            return 2
                        }
                        keep[r] = lua_toboolean(L, -1) != 0
                        lp_pop(L, 1)
                        bar.update(r + 1)
                    }
                }
                bar.finish()
                c.push(try t.filter(keep))
                return 1
            }

            b.method("map", Doc(
                "Replaces a column by fn(value, i) for each value (or writes a new column with into =).",
                signature: "t:map(column, fn, {into = column}) -> DataTable",
                details: "fn receives each value (data.NA when missing) and the row number and returns the new\nvalue (nil or data.NA for missing). The new column's type is inferred from the results.",
                returns: "a new table",
                errors: "no such column; fn returns a table or function; results mixing strings and numbers.",
                example: example0 + "print(t:map(\"name\", string.upper))\nprint(t:map(\"age\", function(a) return a ~= data.NA and a + 1 or a end, {into = \"next_age\"}))")) { c in
                let t = try c.selfObject(DataTable.self)
                let name = try c.checkString(2, "column")
                try c.checkFunction(3, "fn")
                let o = try c.options(4, allowed: ["into"])
                let into = try o.string("into") ?? name
                let col = try t.column(name)
                let L = c.L
                DataLua.pushNA(L)
                let na = lua_gettop(L)
                var cells: [Cell] = []
                cells.reserveCapacity(t.rowCount)
                let bar = ProgressBar("map", total: t.rowCount, unit: "rows")
                defer { bar.finish() }
                for r in 0..<t.rowCount {
                    bar.update(r)
                    try c.callLua(3, nresults: 1) {
                        DataLua.push(L, col, r, naIndex: na)
                        lua_pushinteger(L, lua_Integer(r + 1))
                        return 2
                    }
                    guard let v = DataLua.cell(c, -1, naIndex: na) else {
                        let d = c.describe(-1)
                        lp_pop(L, 1)
                        throw LuaError("fn returned \(d) for row \(r + 1) (expected a string, number, boolean, nil or data.NA)")
                    }
                    cells.append(v)
                    lp_pop(L, 1)
                }
                let newCol = try Column.from(cells: cells, emptyType: col.type, name: into)
                c.push(try t.setting(into, newCol))
                return 1
            }

            b.method("add_column", Doc(
                "Adds a column from an array, a tensor, a function of the row, or one value for every row.",
                signature: "t:add_column(name, values) -> DataTable",
                details: "values may be an array of #t values (data.NA for missing), a 1-D tensor of length #t,\na function(row, i) returning each value, or a single string/number/boolean.",
                returns: "a new table",
                errors: "the column exists; the wrong number of values; values of mixed kinds.",
                example: example0 + "print(t:add_column(\"id\", {10, 20, 30}):add_column(\"source\", \"web\"))\nprint(t:add_column(\"len\", function(r) return #r.name end))")) { c in
                let t = try c.selfObject(DataTable.self)
                let name = try c.checkString(2, "name")
                if t.names.contains(name) { throw c.argError(2, "name", "column '\(name)' already exists; use t:map to change it") }
                let L = c.L
                DataLua.pushNA(L)
                let na = lua_gettop(L)
                var col: Column
                if let tensor = c.object(3, Tensor.self) {
                    guard tensor.shape.count == 1, tensor.shape[0] == t.rowCount else {
                        throw c.argError(3, "values", "expected a 1-D tensor of length \(t.rowCount), got shape \(tensor.shapeString)")
                    }
                    switch tensor.dtype {
                    case .float32: col = Column(.number(tensor.toDoubleArray()))
                    case .int64: col = Column(.integer(try tensor.toInt64Array()))
                    case .bool: col = Column(.boolean(try tensor.toInt64Array().map { $0 != 0 }))
                    }
                } else if c.type(3) == LUA_TFUNCTION {
                    var cells: [Cell] = []
                    let bar = ProgressBar("add_column", total: t.rowCount, unit: "rows")
                    defer { bar.finish() }
                    for r in 0..<t.rowCount {
                        bar.update(r + 1)
                        try c.callLua(3, nresults: 1) {
                            DataLua.pushRow(c, t, r, naIndex: na)
                            lua_pushinteger(L, lua_Integer(r + 1))
                            return 2
                        }
                        guard let v = DataLua.cell(c, -1, naIndex: na) else {
                            let d = c.describe(-1)
                            lp_pop(L, 1)
                            throw LuaError("fn returned \(d) for row \(r + 1) (expected a string, number, boolean, nil or data.NA)")
                        }
                        cells.append(v)
                        lp_pop(L, 1)
                    }
                    col = try Column.from(cells: cells, name: name)
                } else if c.type(3) == LUA_TTABLE && !DataLua.isNA(L, 3) {
                    let n = c.rawLen(3)
                    guard n == t.rowCount else {
                        throw c.argError(3, "values", "expected \(t.rowCount) values (one per row), got \(n)")
                    }
                    var cells: [Cell] = []
                    for r in 0..<n {
                        lua_rawgeti(L, 3, lua_Integer(r + 1))
                        guard let v = DataLua.cell(c, -1, naIndex: na) else {
                            let d = c.describe(-1)
                            lp_pop(L, 1)
                            throw c.argError(3, "values", "element \(r + 1) is \(d)")
                        }
                        cells.append(v)
                        lp_pop(L, 1)
                    }
                    col = try Column.from(cells: cells, name: name)
                } else if let v = DataLua.cell(c, 3, naIndex: na), c.type(3) != LUA_TNONE {
                    col = try Column.from(cells: [Cell](repeating: v, count: t.rowCount), name: name)
                } else {
                    throw c.argError(3, "values", expected: "an array, a tensor, a function or a single value")
                }
                c.push(try t.adding(name, col))
                return 1
            }

            b.method("sort", Doc(
                "Sorts rows by a column (or several), stable; missing values last.",
                signature: "t:sort(column, [desc = false]) or t:sort({columns...}, [{desc...}]) -> DataTable",
                returns: "a new table",
                errors: "no such column.",
                example: example0 + "print(t:sort(\"age\", true))")) { c in
                let t = try c.selfObject(DataTable.self)
                let cols = try DataLua.names(c, 2, "column")
                var desc: [Bool] = []
                if c.type(3) == LUA_TBOOLEAN { desc = [Bool](repeating: c.type(3) == LUA_TBOOLEAN && lua_toboolean(c.L, 3) != 0, count: cols.count) }
                else if c.type(3) == LUA_TTABLE {
                    for k in 0..<c.rawLen(3) {
                        lua_rawgeti(c.L, 3, lua_Integer(k + 1))
                        desc.append(lua_toboolean(c.L, -1) != 0)
                        lp_pop(c.L, 1)
                    }
                } else if !c.isNoneOrNil(3) {
                    throw c.argError(3, "desc", expected: "boolean")
                }
                c.push(try t.sorted(by: cols, descending: desc))
                return 1
            }

            b.method("sample", Doc(
                "n rows drawn at random (seeded).",
                signature: "t:sample(n, {seed = nil, replace = false}) -> DataTable",
                details: "Without replacement by default (n <= #t). Draws from the session generator\n(lathe.seed) unless `seed` is given.",
                returns: "a new table",
                errors: "n larger than #t without replace.",
                example: example0 + "print(t:sample(2, {seed = 1}))")) { c in
                let t = try c.selfObject(DataTable.self)
                let n = try c.checkInt(2, "n")
                let o = try c.options(3, allowed: ["seed", "replace"])
                let replace = try o.bool("replace", false)
                let out = try DataLua.withRNG(try o.int("seed")) { g in try t.sample(n, replace: replace, rng: &g) }
                c.push(out)
                return 1
            }

            b.method("concat", Doc(
                "Rows of t followed by rows of other; columns are matched by name.",
                signature: "t:concat(other) -> DataTable",
                details: "A column only one table has is missing in the other's rows. Integer and number\ncolumns combine as number; other type differences are an error.",
                returns: "a new table",
                errors: "a column with different types in the two tables.",
                example: example0 + "print(#t:concat(t))")) { c in
                let t = try c.selfObject(DataTable.self)
                let o = try DataLua.table(c, 2, "other")
                c.push(try t.concat(o))
                return 1
            }

            b.method("join", Doc(
                "Joins the rows of other whose key columns equal t's (a hash join).",
                signature: "t:join(other, on, {how = \"inner\", suffix = \"_right\"}) -> DataTable",
                details: "`on` is a column name or an array of names present in both tables. how = \"inner\" keeps\nrows with a match; \"left\" keeps every row of t (missing values where nothing matches).\nA row matching several rows appears once per match. Missing keys never match.\nOther's columns whose names clash get `suffix`.",
                returns: "a new table",
                errors: "a key missing from either table, or of incompatible types.",
                example: example0 + "local cities = data.from({name = {\"Ann\", \"Cy\"}, city = {\"Oslo\", \"Rome\"}})\nprint(t:join(cities, \"name\", {how = \"left\"}))")) { c in
                let t = try c.selfObject(DataTable.self)
                let other = try DataLua.table(c, 2, "other")
                let on = try DataLua.names(c, 3, "on")
                let o = try c.options(4, allowed: ["how", "suffix"])
                let how = try o.choice("how", ["inner", "left"], "inner")
                c.push(try t.join(other, on: on, kind: how == "left" ? .left : .inner, suffix: try o.string("suffix", "_right")))
                return 1
            }

            b.method("group_count", Doc(
                "Row counts per distinct value (or combination of values), sorted by the values.",
                signature: "t:group_count(column or {columns...}) -> DataTable",
                returns: "a table with the group columns and `count`",
                errors: "no such column.",
                example: example0 + "print(t:concat(t):group_count(\"name\"))")) { c in
                let t = try c.selfObject(DataTable.self)
                c.push(try t.groupCount(try DataLua.names(c, 2, "column")))
                return 1
            }

            b.method("value_counts", Doc(
                "Distinct values of a column with counts and shares, most frequent first.",
                signature: "t:value_counts(column) -> DataTable",
                details: "Missing values count as one value, shown as NA.",
                returns: "a table with columns (column, count, share)",
                errors: "no such column.",
                example: "local t = data.from({label = {\"spam\", \"ham\", \"ham\"}})\nprint(t:value_counts(\"label\"))")) { c in
                let t = try c.selfObject(DataTable.self)
                c.push(try t.valueCounts(try c.checkString(2, "column")))
                return 1
            }

            b.method("unique", Doc(
                "The distinct values of a column, in order of first appearance (missing left out).",
                signature: "t:unique(column) -> {values...}",
                returns: "an array",
                errors: "no such column.",
                example: "local t = data.from({label = {\"spam\", \"ham\", \"ham\"}})\nprint(table.concat(t:unique(\"label\"), \" \"))")) { c in
                let t = try c.selfObject(DataTable.self)
                let col = try t.column(try c.checkString(2, "column"))
                let keys = col.distinctCounts().0.filter { !$0.isMissing }
                try c.newTable(array: keys.count)
                for (k, v) in keys.enumerated() {
                    DataLua.push(c, v)
                    lua_rawseti(c.L, -2, lua_Integer(k + 1))
                }
                return 1
            }

            b.method("describe", Doc(
                "A summary: rows, duplicate rows, and per column the type, missing values, distinct values and min/mean/max.",
                signature: "t:describe({label = nil}) -> report",
                details: "For string columns min/mean/max are lengths in characters; for the others, values.\nThe label distribution is shown for `label`, or for a column called \"label\".",
                returns: "a report {rows =, duplicates =, columns = DataTable, labels = DataTable or nil} that prints readably",
                errors: "no such label column.",
                example: "local t = data.from({text = {\"hi\", \"hello\", \"hi\"}, label = {\"a\", \"b\", \"a\"}})\nprint(t:describe())")) { c in
                let t = try c.selfObject(DataTable.self)
                let o = try c.options(2, allowed: ["label"])
                let d = try t.describe(label: try o.string("label"))
                var fields: [(String, LuaValue)] = [
                    ("title", .string("describe: \(d.rows) row\(d.rows == 1 ? "" : "s") x \(t.columnCount) column\(t.columnCount == 1 ? "" : "s")")),
                    ("rows", .int(d.rows)), ("duplicates", .int(d.duplicates)),
                    ("columns", .object(t.describeTable(d))),
                ]
                if let l = d.labels { fields.append(("labels", .object(l))) }
                try c.push(.record(fields))
                DataLua.setReportMeta(c)
                return 1
            }
        }
    }

    /// Names given as varargs from argument i, or one array.
    static func varNames(_ c: LuaCall, from i: Int32) throws -> [String] {
        if c.type(i) == LUA_TTABLE { return try c.stringArray(i, "names") }
        var out: [String] = []
        var k = i
        while k <= c.top {
            out.append(try c.checkString(k, "name"))
            k += 1
        }
        if out.isEmpty { throw c.argError(i, "name", expected: "column names") }
        return out
    }
}
