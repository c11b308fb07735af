import CLua
import CLuaShim
import Foundation
import LatheCore

extension DataTable: LuaObject {
    public static var luaTag: Int32 { LuaTag.table }
    public var luaByteSize: Int { byteSize }
}

/// Lua values <-> table cells, and the readers and result pushers the data bindings share.
enum DataLua {
    static let naKey = "lathe.data.NA"
    static let t = LuaParam("t", .object("DataTable"), "the table")
    static let seed = LuaOpt("seed", .integer(), .computed("lathe.seed's stream"), "a private random stream, for draws that do not depend on earlier ones")

    static func pushNA(_ L: OpaquePointer) {
        lua_getfield(L, lp_registryindex(), naKey)
    }

    static func isNA(_ L: OpaquePointer, _ idx: Int32) -> Bool {
        guard lua_type(L, idx) == LUA_TTABLE else { return false }
        let abs = lua_absindex(L, idx)
        pushNA(L)
        defer { lp_pop(L, 1) }
        return lua_rawequal(L, abs, -1) != 0
    }

    /// Pushes a cell: missing as data.NA.
    static func push(_ c: LuaCall, _ cell: Cell) {
        switch cell {
        case .missing: pushNA(c.L)
        case .string(let s): c.push(s)
        case .number(let x): c.push(x)
        case .integer(let x): lua_pushinteger(c.L, lua_Integer(x))
        case .boolean(let b): c.push(b)
        }
    }

    /// Pushes cell r of a column (strings straight from the column's bytes); data.NA is at naIndex.
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

    /// The cell for the Lua value at idx, or nil if the value cannot be a cell (a function, a
    /// table other than data.NA). nil and data.NA are missing.
    static func cell(_ c: LuaCall, _ idx: Int32, naIndex: Int32 = 0) -> Cell? {
        let L = c.L
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .missing
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .integer(Int64(lua_tointegerx(L, idx, nil))) }
            return .number(lua_tonumberx(L, idx, nil))
        case LUA_TSTRING: return .string(c.string(idx) ?? "")
        case LUA_TTABLE: return (naIndex != 0 ? lua_rawequal(L, idx, naIndex) != 0 : isNA(L, idx)) ? .missing : nil
        default: return nil
        }
    }

    /// Pushes row r as a record {column = value}.
    static func pushRow(_ c: LuaCall, _ t: DataTable, _ r: Int, naIndex: Int32) {
        lua_createtable(c.L, 0, Int32(t.columnCount))
        for (k, col) in t.columns.enumerated() {
            c.push(t.names[k])
            push(c.L, col, r, naIndex: naIndex)
            lua_rawset(c.L, -3)
        }
    }

    /// Pushes a whole column as a Lua array (missing values as data.NA).
    static func pushColumn(_ c: LuaCall, _ col: Column) throws {
        pushNA(c.L)
        let na = lua_gettop(c.L)
        try c.reserve()
        try c.newTable(array: col.count)
        for r in 0..<col.count {
            push(c.L, col, r, naIndex: na)
            lua_rawseti(c.L, -2, lua_Integer(r + 1))
        }
        lp_remove(c.L, na)
    }

    /// Runs fn (at fnIndex) on every row, as fn(row, i) or with `column` fn(value, i), with a
    /// progress bar; `read(r, na)` reads what the call returned (then popped). With `cells`,
    /// what fn returns is the row's cell.
    static func eachRow<T>(_ c: LuaCall, _ t: DataTable, fn fnIndex: Int32, column: Column? = nil, _ title: String,
                           _ read: (Int, Int32) throws -> T) throws -> [T] {
        pushNA(c.L)
        let na = lua_gettop(c.L)
        defer { lp_remove(c.L, na) }
        let bar = ProgressBar(title, total: t.rowCount, unit: "rows")
        defer { bar.finish() }
        return try (0..<t.rowCount).map { r in
            try c.callLua(fnIndex, nresults: 1) {
                if let column { push(c.L, column, r, naIndex: na) } else { pushRow(c, t, r, naIndex: na) }
                c.push(r + 1)
                return 2
            }
            defer { lp_pop(c.L, 1) }
            bar.update(r + 1)
            return try read(r, na)
        }
    }

    static func cells(_ c: LuaCall, _ t: DataTable, fn: Int32, column: Column? = nil, _ title: String) throws -> [Cell] {
        try eachRow(c, t, fn: fn, column: column, title) { r, na in
            guard let v = cell(c, -1, naIndex: na) else {
                throw LuaError("fn returned \(c.describe(-1)) for row \(r + 1) (expected a string, number, boolean, nil or data.NA)")
            }
            return v
        }
    }

    /// The cells of the Lua array at idx (data.NA or nil for missing); `bad(k, what)` makes the
    /// error for element k holding something else.
    static func cells(_ c: LuaCall, _ idx: Int32, naIndex na: Int32, bad: (Int, String) -> LuaError) throws -> [Cell] {
        let abs = lua_absindex(c.L, idx)
        return try (0..<c.rawLen(abs)).map { k in
            lua_rawgeti(c.L, abs, lua_Integer(k + 1))
            defer { lp_pop(c.L, 1) }
            guard let v = cell(c, -1, naIndex: na) else { throw bad(k, c.describe(-1)) }
            return v
        }
    }

    /// Values, labels or texts at argument i as a column: a Lua array (data.NA or nil for
    /// missing, so t:column's arrays work), a 1-D tensor, or with `rows` one value for every row.
    static func column(_ c: LuaCall, _ i: Int32, _ label: String, rows: Int? = nil) throws -> Column {
        try column(c, i, rows: rows) { c.argError(i, label, $0) }
    }

    /// The column at idx (see above); `bad(reason)` makes the errors.
    static func column(_ c: LuaCall, _ idx: Int32, rows: Int? = nil, bad: (String) -> LuaError) throws -> Column {
        let i = lua_absindex(c.L, idx)
        if let x = c.object(i, Tensor.self) {
            guard x.rank == 1, rows.map({ $0 == x.shape[0] }) ?? true else {
                throw bad("expected a 1-D tensor\(rows.map { " of length \($0)" } ?? ""), got shape \(x.shapeString)")
            }
            return try Column(tensor: x)
        }
        pushNA(c.L)
        let na = lua_gettop(c.L)
        defer { lp_remove(c.L, na) }
        var cells: [Cell]
        if lua_type(c.L, i) == LUA_TTABLE && lua_rawequal(c.L, i, na) == 0 {
            cells = try self.cells(c, i, naIndex: na) { k, d in bad("element \(k + 1) is \(d); values must be strings, numbers, booleans or data.NA") }
            if let rows, cells.count != rows { throw bad("expected \(rows) values (one per row), got \(cells.count)") }
        } else if let rows, !c.isNoneOrNil(i), let v = cell(c, i, naIndex: na) {
            cells = [Cell](repeating: v, count: rows)
        } else {
            throw bad("expected \(rows == nil ? "an array of values or a tensor" : "an array, a tensor, a function or a single value"), got \(c.describe(i))")
        }
        do { return try Column.from(cells: cells) } catch { throw bad(error.message) }
    }

    /// A column name or an array of names at argument i (nil when absent).
    static func names(_ c: LuaCall, _ i: Int32, _ label: String) throws -> [String]? {
        if c.isNoneOrNil(i) { return nil }
        if let s = c.string(i) { return [s] }
        return try c.stringArray(i, label)
    }

    /// A table {name = "text", ...} at idx, sorted by name; `bad(name)` is the error for a
    /// value that is not a string.
    static func stringMap(_ c: LuaCall, _ idx: Int32, _ bad: (String) -> LuaError) throws -> [(String, String)] {
        guard case .record(let fields) = try c.value(idx) else { return [] }
        return try fields.map { k, v in
            guard case .string(let s) = v else { throw bad(k) }
            return (k, s)
        }
    }

    /// An option {name = "text", ...}.
    static func stringMap(_ c: LuaCall, _ o: DeclaredOptions, _ key: String) throws -> [(String, String)] {
        guard try o.push(key) == LUA_TTABLE else { lp_pop(c.L, 1); return [] }
        defer { lp_pop(c.L, 1) }
        return try stringMap(c, -1) { LuaError("bad option '\(key)' (expected names mapped to strings; '\($0)' is not a string)") }
    }

    static let types = LuaOpt("types", .table, .none, "column types that override inference: {zip = \"string\"} (string, number, integer or boolean)")
    static func types(_ c: LuaCall, _ o: DeclaredOptions) throws -> [String: ColumnType] {
        try Dictionary(stringMap(c, o, "types").map { k, v in
            guard let t = ColumnType(rawValue: v) else {
                throw LuaError("bad option 'types' (column '\(k)': expected \"string\", \"number\", \"integer\" or \"boolean\", got \"\(v)\")")
            }
            return (k, t)
        }, uniquingKeysWith: { a, _ in a })
    }

    /// Runs body with the generator the `seed` option asks for, or the session's.
    static func withRNG<T>(_ o: DeclaredOptions, _ body: (inout RandomGenerator) throws -> T) throws -> T {
        if let s = try o.intIfGiven("seed") {
            var g = RandomGenerator(seed: UInt64(bitPattern: Int64(s)))
            return try body(&g)
        }
        return try body(&Runtime.rng)
    }

    /// Runs body with a progress bar that body's progress(done, total) moves.
    static func progress<T>(_ title: String, _ unit: String, _ body: (@escaping (Int, Int) -> Void) throws -> T) throws -> T {
        let bar = ProgressBar(title, total: nil, unit: unit)
        defer { bar.finish() }
        return try body { done, total in
            bar.total = total
            bar.update(done)
        }
    }

    /// The function option `key` (kept on the stack for the calls) as a Swift function: `args`
    /// pushes the arguments and returns their count, `read` reads the one result (then popped).
    static func function<A, R>(_ c: LuaCall, _ o: DeclaredOptions, _ key: String, _ args: @escaping (A) throws -> Int32,
                               _ read: @escaping (A) throws -> R) throws -> ((A) throws -> R)? {
        guard try o.push(key) == LUA_TFUNCTION else { lp_pop(c.L, 1); return nil }
        let fi = lua_gettop(c.L)
        return { a in
            try c.callLua(fi, nresults: 1) { try args(a) }
            defer { lp_pop(c.L, 1) }
            return try read(a)
        }
    }

    /// A Jaccard threshold option that may be true (`Dedupe.defaultNear`) or false (none).
    static func near(_ o: DeclaredOptions) throws -> Double? {
        if case .bool(let on) = try o.value("near") { return on ? Dedupe.defaultNear : nil }
        return try o.numberIfGiven("near")
    }

    /// The engine's complaint about an option's value as a bad option.
    static func checked<T>(_ key: String, _ body: () throws(LatheError) -> T) throws -> T {
        do { return try body() } catch { throw LuaError("bad option '\(key)' (\(error.message))") }
    }

    /// Pushes a report record that prints as a title, its scalar fields aligned, then its
    /// tables and lists below.
    static func pushReport(_ c: LuaCall, _ title: String, _ fields: [(String, LuaValue)], name: String) throws {
        try c.push(.record(fields))
        let text = ReportFormat.render(c, -1, title: title)
        lp_pop(c.L, 1)
        try c.pushRecord(fields, name: name, text: text)
    }

    /// Pushes an array of records.
    static func pushRecords(_ c: LuaCall, _ records: [[(String, LuaValue)]], name: String) throws {
        try c.push(.array([]))
        for (k, r) in records.enumerated() {
            try c.pushRecord(r, name: name)
            lua_rawseti(c.L, -2, lua_Integer(k + 1))
        }
    }
}

/// The printed form of reports (describe, dedupe, read): the title, scalar fields as aligned
/// `key  value` lines, then nested tables and DataTables below (empty lists left out).
enum ReportFormat {
    static func render(_ c: LuaCall, _ idx: Int32, title: String) -> String {
        let L = c.L, abs = lua_absindex(L, idx)
        var scalars: [(String, String)] = [], blocks: [String] = []
        lua_pushnil(L)
        while lua_next(L, abs) != 0 {
            defer { lp_pop(L, 1) }
            guard lua_type(L, -2) == LUA_TSTRING, let k = c.string(-2) else { continue }
            let t = lua_type(L, -1)
            if t == LUA_TTABLE || t == LUA_TUSERDATA {
                let text = Printer.format(L: L, index: -1, topLevel: true)
                if text != "{}" { blocks.append(k + ":\n  " + text.replacingOccurrences(of: "\n", with: "\n  ")) }
            } else {
                scalars.append((k, Printer.format(L: L, index: -1, topLevel: false)))
            }
        }
        let w = scalars.map { $0.0.count }.max() ?? 0
        return ([title] + scalars.sorted { $0.0 < $1.0 }.map { "  " + $0.0.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + $0.1 } + blocks.sorted()).joined(separator: "\n")
    }
}

/// data.from's argument 1: a record of columns (arrays or 1-D tensors) or an array of rows
/// (records, or arrays named by `columns`).
struct DataFromLua {
    let c: LuaCall

    func bad(_ what: String) -> LuaError { LuaError("bad argument #1 'values' (\(what))") }

    func table(order: [String]?) throws -> DataTable {
        DataLua.pushNA(c.L)
        let na = lua_gettop(c.L)
        defer { lp_remove(c.L, na) }
        try c.reserve(6)
        do {
            return c.rawLen(1) == 0 ? try DataTable(columns: try columns(na), order: order) : try rows(order: order, na)
        } catch let e as LatheError {
            throw bad(e.message)
        }
    }

    func columns(_ na: Int32) throws -> [String: Column] {
        var cols: [String: Column] = [:]
        lua_pushnil(c.L)
        while lua_next(c.L, 1) != 0 {
            guard lua_type(c.L, -2) == LUA_TSTRING, let name = c.string(-2) else { throw bad("expected column names as keys, got \(c.describe(-2))") }
            cols[name] = try DataLua.column(c, -1) { bad("column '\(name)' \($0)") }
            lp_pop(c.L, 1)
        }
        return cols
    }

    func rows(order: [String]?, _ na: Int32) throws -> DataTable {
        var records: [[String: Cell]] = []
        var arrays: [[Cell]] = []
        for r in 0..<c.rawLen(1) {
            guard lua_rawgeti(c.L, 1, lua_Integer(r + 1)) == LUA_TTABLE else { throw bad("row \(r + 1) is \(c.describe(-1)); expected a table per row") }
            let isArray = c.rawLen(-1) > 0
            if r > 0 && isArray == arrays.isEmpty { throw bad("row \(r + 1) mixes array rows and record rows") }
            if isArray {
                arrays.append(try DataLua.cells(c, -1, naIndex: na) { k, d in bad("row \(r + 1) element \(k + 1) is \(d); values must be strings, numbers, booleans or data.NA") })
            } else {
                var rec: [String: Cell] = [:]
                lua_pushnil(c.L)
                while lua_next(c.L, -2) != 0 {
                    guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2) else { throw bad("row \(r + 1) has key \(c.describe(-2)); expected column names") }
                    guard let v = DataLua.cell(c, -1, naIndex: na) else { throw bad("row \(r + 1) field '\(k)' is \(c.describe(-1)); values must be strings, numbers, booleans or data.NA") }
                    rec[k] = v
                    lp_pop(c.L, 1)
                }
                records.append(rec)
            }
            lp_pop(c.L, 1)
        }
        if arrays.isEmpty { return try DataTable(records: records, order: order) }
        guard let order else { throw bad("rows given as arrays need the column names: {columns = {...}}") }
        return try DataTable(rows: arrays, names: order)
    }
}
