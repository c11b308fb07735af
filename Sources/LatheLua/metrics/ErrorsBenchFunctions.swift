import CLua
import CLuaShim
import Foundation
import LatheCore

/// metrics.errors (the misclassified rows) and metrics.bench (latency and throughput).
extension MetricsFunctions {
    static let errorLabels = LuaKind.described("array of labels or field name", .either([.string, .table]))

    static let errors = LuaFunc(
        "errors", "The misclassified rows, with both labels, ready to print or save.",
        params: [
            LuaParam("rows", .described("DataTable, array of row tables or array of strings", .either([.object("DataTable"), .table])), "a data table, an array of row tables, or an array of strings (each becomes {text=...})"),
            LuaParam("y_true", errorLabels, "the true labels: an array as long as rows, or the name of a field of the rows"),
            LuaParam("y_pred", errorLabels, "the predictions, alike"),
        ],
        options: [LuaOpt("limit", .integer(0...Int.max), .computed("all"), "keep only the first limit errors")],
        returns: "MetricsErrors: an array of row tables, each a copy of the row with row (its position), y_true and y_pred added",
        details: "Labels are compared with Lua's raw equality. The result prints as an aligned table (the first 20 rows).",
        errors: "rows is not an array; y_true or y_pred of another length or a missing field name.",
        example: "local rows = {{text = \"great\"}, {text = \"awful\"}, {text = \"fine\"}}\nlocal e = metrics.errors(rows, {\"pos\", \"neg\", \"pos\"}, {\"pos\", \"pos\", \"neg\"})\nprint(#e, e[1].row, e[1].y_true, e[1].y_pred)  --> 2  2  neg  pos\nprint(e)"
    ) { c in
        let L = c.L
        let limit = try c.opts().intIfGiven("limit") ?? Int.max
        let (n, pushRow) = try errorRows(c)
        let truth = try errorLabel(c, 2, "y_true", n), pred = try errorLabel(c, 3, "y_pred", n)
        lua_createtable(L, 0, 0)
        let out = lua_gettop(L)
        var count: lua_Integer = 0
        for k in 0..<n where count < limit {
            try c.reserve(8)
            pushRow(k)
            let row = lua_gettop(L)
            try truth(k, row)
            try pred(k, row)
            if lua_rawequal(L, -2, -1) == 0 {
                // a copy of the row with row, y_true and y_pred added
                lua_createtable(L, 0, 4)
                lua_pushnil(L)
                while lua_next(L, row) != 0 {
                    lua_pushvalue(L, -2)
                    lua_rotate(L, -2, 1)
                    lua_rawset(L, -4)
                }
                c.push("row"); c.push(k + 1); lua_rawset(L, -3)
                c.push("y_true"); lua_pushvalue(L, row + 1); lua_rawset(L, -3)
                c.push("y_pred"); lua_pushvalue(L, row + 2); lua_rawset(L, -3)
                count += 1
                lua_rawseti(L, out, count)
            }
            lua_settop(L, out)
        }
        pushErrorsMetatable(c)
        lua_setmetatable(L, out)
        return 1
    }

    /// The rows at 1: their count and a function pushing row k as a table.
    static func errorRows(_ c: LuaCall) throws -> (Int, (Int) -> Void) {
        let L = c.L
        if let table = c.object(1, DataTable.self) {
            return (table.rowCount, { k in
                DataLua.pushNA(L)
                DataLua.pushRow(c, table, k, naIndex: lua_gettop(L))
                lp_remove(L, -2)
            })
        }
        let n = c.rawLen(1)
        for k in 1...max(n, 1) where n > 0 {
            defer { lp_pop(L, 1) }
            let t = lua_rawgeti(L, 1, lua_Integer(k))
            if t != LUA_TTABLE && t != LUA_TSTRING { throw c.argError(1, "rows", "expected row tables or strings, element \(k) is \(c.describe(-1))") }
        }
        return (n, { k in
            if lua_rawgeti(L, 1, lua_Integer(k + 1)) == LUA_TSTRING {
                lua_createtable(L, 0, 1)
                lua_rotate(L, -2, 1)
                lua_setfield(L, -2, "text")
            }
        })
    }

    /// A function pushing label k of argument i: from its array, or the field it names in the row at `row`.
    static func errorLabel(_ c: LuaCall, _ i: Int32, _ name: String, _ n: Int) throws -> (Int, Int32) throws -> Void {
        let L = c.L
        let field = c.string(i)
        if field == nil { try c.checkCount(c.rawLen(i), n, i, name, like: "rows", noun: "labels") }
        return { k, row in
            if let field {
                c.push(field)
                lua_rawget(L, row)
            } else {
                lua_rawgeti(L, i, lua_Integer(k + 1))
            }
            if lua_type(L, -1) == LUA_TNIL {
                throw c.argError(i, name, field.map { "row \(k + 1) has no field '\($0)'" } ?? "element \(k + 1) is nil")
            }
        }
    }

    /// The metatable of metrics.errors results: they print as an aligned table.
    static func pushErrorsMetatable(_ c: LuaCall) {
        let L = c.L
        if lua_getfield(L, lp_registryindex(), "lathe.metrics.errors") == LUA_TTABLE { return }
        lp_pop(L, 1)
        lua_createtable(L, 0, 2)
        c.push("MetricsErrors")
        lua_setfield(L, -2, "__name")
        LuaVM.pushFunction(L, "metrics.errors.__tostring") { cc in
            cc.push(chomp(try errorsText(cc)))
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        lua_pushvalue(L, -1)
        lua_setfield(L, lp_registryindex(), "lathe.metrics.errors")
    }

    /// The first 20 rows of an errors result (argument 1) as text: row, y_true and y_pred first,
    /// then the other fields sorted; long values cut.
    static func errorsText(_ c: LuaCall) throws -> String {
        let L = c.L
        let n = c.rawLen(1)
        var keys = Set<String>()
        var cells: [[String: String]] = []
        try c.reserve(6)
        for k in 0..<min(n, 20) {
            var row: [String: String] = [:]
            if lua_rawgeti(L, 1, lua_Integer(k + 1)) == LUA_TTABLE {
                lua_pushnil(L)
                while lua_next(L, -2) != 0 {
                    if c.type(-2) == LUA_TSTRING, let key = c.string(-2) {
                        let s = (lp_safe_tolstring(L, -1, nil).map { String(cString: $0) } ?? "?").replacingOccurrences(of: "\n", with: " ")
                        lp_pop(L, 1)
                        row[key] = s.count > 40 ? String(s.prefix(37)) + "..." : s
                        keys.insert(key)
                    }
                    lp_pop(L, 1)
                }
            }
            lp_pop(L, 1)
            cells.append(row)
        }
        var out = "MetricsErrors: \(n) misclassified row\(n == 1 ? "" : "s")\n"
        if n == 0 { return out }
        let first = ["row", "y_true", "y_pred"].filter(keys.contains)
        let cols = first + keys.subtracting(first).sorted()
        let widths = cols.map { k in cells.reduce(PyText.length(k)) { max($0, PyText.length($1[k] ?? "")) } }
        for r in [Dictionary(uniqueKeysWithValues: cols.map { ($0, $0) })] + cells {
            let line = zip(cols, widths).map { PyText.ljust(r[$0] ?? "", $1) }.joined(separator: "  ")
            out += line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        return n > 20 ? out + "... (\(n - 20) more)\n" : out
    }

    static let bench = LuaFunc(
        "bench", "Latency and throughput of a function: p50/p90/p99 latency and items per second.",
        params: [LuaParam("fn", .function, "the function to time, called without arguments")],
        options: [
            LuaOpt("warmup", .integer(0...Int.max), .int(5), "untimed calls first"),
            LuaOpt("runs", .integer(1...Int.max), .int(100), "timed calls"),
            LuaOpt("batch", .integer(1...Int.max), .int(1), "items one call handles (for items_per_sec)"),
            LuaOpt("max_seconds", .number(min: 0, above: true), .none, "stop once this much time is spent (after at least one timed call)"),
        ],
        returns: "Bench: {p50=, p90=, p99=, mean=, min=, max= (ms), items_per_sec=, runs=, batch=, unit=\"ms\"} (prints as one line)",
        details: "Each call is timed with the monotonic clock; percentiles use linear interpolation (as numpy.percentile). Ctrl-C\nstops between calls.",
        errors: "any error fn raises.",
        example: "local r = metrics.bench(function() local s = 0 for i = 1, 1000 do s = s + i end end, {runs = 20, batch = 1000})\nprint(r)\nprint(r.p50 <= r.p99, r.items_per_sec > 0)  --> true  true"
    ) { c in
        let o = try c.opts()
        let bar = ProgressBar("bench", total: try o.int("runs"))
        let l = try Resampling.Latency.measure(warmup: try o.int("warmup"), runs: try o.int("runs"), batch: try o.int("batch"),
                                               maxSeconds: try o.numberIfGiven("max_seconds"), progress: { bar.update($0) }) { try c.callLua(1, nresults: 0) { 0 } }
        bar.finish()
        try c.pushRecord([("p50", .number(l.p50)), ("p90", .number(l.p90)), ("p99", .number(l.p99)), ("mean", .number(l.mean)),
                          ("min", .number(l.min)), ("max", .number(l.max)), ("items_per_sec", .number(l.itemsPerSecond)),
                          ("runs", .int(l.runs)), ("batch", .int(l.batch)), ("unit", .string("ms"))], name: "Bench", text: l.text)
        return 1
    }
}
