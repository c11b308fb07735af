import CLua
import CLuaShim
import LatheCore

/// Argument kinds with one reader each, for every module: wherever labels, numbers or texts are
/// expected, a Lua array, a data table column (`t:column(name)`, the same array) and, for
/// labels and numbers, a tensor are accepted alike, and a bad element is named the same way.
extension LuaKind {
    public static let labels = LuaKind.described("array of labels, tensor or data column", .either([.table, .object("Tensor")]))
    public static let column = LuaKind.described("array of numbers, tensor or data column", .either([.table, .object("Tensor")]))
    public static let texts = LuaKind.described("array of strings or data column", .table)
    public static let references = LuaKind.described("array of references (each a string or an array of strings)", .table)
    public static let probabilities = LuaKind.described("array of probabilities, array of rows or tensor", .either([.table, .object("Tensor")]))
    public static let label = LuaKind.described("label (integer, string or boolean)", .either([.integer(), .string, .boolean]))
}

extension LuaCall {
    /// Labels at i: integers, strings or booleans (an array or a data column), or a 1-D tensor
    /// (int64, bool, or float32 holding integers).
    public func labels(_ i: Int32, _ name: String) throws -> LabelColumn {
        try readLabels(i, "argument " + argLabel(i, name))
    }

    /// The labels reader behind arguments and options; `what` names the value in errors.
    func readLabels(_ i: Int32, _ what: String) throws -> LabelColumn {
        let idx = lua_absindex(L, i)
        if let t = object(idx, Tensor.self) {
            do { return try LabelColumn(t) } catch { throw LuaError("bad \(what) (\(error.message))") }
        }
        guard lua_type(L, idx) == LUA_TTABLE else { throw LuaError("bad \(what) (expected \(LuaKind.labels.text), got \(describe(idx)))") }
        let n = rawLen(idx)
        var kind = 0  // 1 numbers, 2 strings, 3 booleans
        var ints: [Int] = [], bools: [Bool] = [], codes: [Int32] = [], values: [String] = []
        ints.reserveCapacity(n)
        // a label array repeats few strings: intern each Lua string once, by its address (made
        // at the first string: number labels pay nothing for it)
        var byPointer: [UnsafeRawPointer: Int32] = [:]
        var interner: ByteInterner? = nil
        func bad(_ k: Int, _ why: String) -> LuaError { LuaError("bad \(what) (\(why), element \(k + 1) is \(describe(-1)))") }
        for k in 0..<n {
            let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            switch t {
            case LUA_TNUMBER:
                var v: Int64 = 0
                guard lp_isinteger_value(L, -1, &v) != 0 else { throw bad(k, "labels must be integers, strings or booleans") }
                if kind == 2 { throw bad(k, "labels mix strings and numbers") }
                if kind == 3 { ints = bools.map { $0 ? 1 : 0 }; bools = [] }
                kind = 1
                ints.append(Int(v))
            case LUA_TSTRING:
                if kind == 1 || kind == 3 { throw bad(k, "labels mix strings and \(kind == 1 ? "numbers" : "booleans")") }
                kind = 2
                let p = lua_topointer(L, -1)!
                if let code = byPointer[p] { codes.append(code); continue }
                var len = 0
                let s = lp_tostring(L, -1, &len)!
                if interner == nil { interner = ByteInterner(capacity: 64) }
                let code = s.withMemoryRebound(to: UInt8.self, capacity: len) { interner!.intern(UnsafeBufferPointer(start: $0, count: len), 0..<len) }
                if Int(code) == values.count { values.append(String(decoding: UnsafeRawBufferPointer(start: s, count: len), as: UTF8.self)) }
                byPointer[p] = code
                codes.append(code)
            case LUA_TBOOLEAN:
                if kind == 2 { throw bad(k, "labels mix strings and booleans") }
                let b = lua_toboolean(L, -1) != 0
                if kind == 1 { ints.append(b ? 1 : 0) } else { kind = 3; bools.append(b) }
            default:
                throw bad(k, "labels must be integers, strings or booleans")
            }
        }
        switch kind {
        case 2: return .strings(codes: codes, values: values)
        case 3: return .bools(bools)
        default: return .ints(ints)
        }
    }

    /// Numbers at i: an array or data column of numbers, or a tensor (flattened). With
    /// `finite`, NaN and infinities are errors naming the element.
    public func numbers(_ i: Int32, _ name: String, finite: Bool = true) throws -> [Double] {
        let idx = lua_absindex(L, i)
        let xs: [Double]
        if let t = object(idx, Tensor.self) {
            xs = t.toDoubleArray()
        } else if lua_type(L, idx) == LUA_TTABLE {
            xs = try numberArray(idx, name)
        } else {
            throw argError(idx, name, expected: LuaKind.column.text)
        }
        if finite, let k = xs.firstIndex(where: { !$0.isFinite }) {
            throw argError(idx, name, "element \(k + 1) is \(xs[k].isNaN ? "NaN" : fmt(xs[k])); expected finite numbers")
        }
        return xs
    }

    /// Texts at i: an array or data column of strings.
    public func texts(_ i: Int32, _ name: String) throws -> [String] {
        guard lua_type(L, i) == LUA_TTABLE else { throw argError(i, name, expected: LuaKind.texts.text) }
        return try stringArray(i, name)
    }

    /// References at i, one item each: a string, or a non-empty array of strings (several
    /// acceptable references).
    public func references(_ i: Int32, _ name: String) throws -> [[String]] {
        let idx = lua_absindex(L, i)
        guard lua_type(L, idx) == LUA_TTABLE else { throw argError(idx, name, expected: LuaKind.references.text) }
        return try (0..<rawLen(idx)).map { k in
            let t = lua_rawgeti(L, idx, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            if t == LUA_TSTRING { return [string(-1) ?? ""] }
            guard t == LUA_TTABLE, let a = try? stringArray(-1, name), !a.isEmpty else {
                throw argError(idx, name, "expected a string or a non-empty array of strings, element \(k + 1) is \(describe(-1))")
            }
            return a
        }
    }

    /// Probabilities at i: one number per sample (an array, data column or 1-D tensor), or
    /// one row per sample (an array of rows or a tensor [n, k]).
    public func probabilities(_ i: Int32, _ name: String) throws -> [[Double]] {
        let idx = lua_absindex(L, i)
        if let t = object(idx, Tensor.self) {
            let d = t.toDoubleArray()
            if t.rank == 1 { return d.map { [$0] } }
            guard t.rank == 2 else { throw argError(idx, name, "expected a tensor of shape [n] or [n,k], got \(t.shapeString)") }
            let k = t.shape[1]
            return (0..<t.shape[0]).map { Array(d[($0 * k)..<($0 * k + k)]) }
        }
        guard lua_type(L, idx) == LUA_TTABLE else { throw argError(idx, name, expected: LuaKind.probabilities.text) }
        let rows = lua_rawgeti(L, idx, 1) == LUA_TTABLE
        lp_pop(L, 1)
        if !rows { return try numbers(idx, name, finite: false).map { [$0] } }
        return try (0..<rawLen(idx)).map { k in
            lua_rawgeti(L, idx, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            guard lua_type(L, -1) == LUA_TTABLE, let row = try? numberArray(-1, name) else {
                throw argError(idx, name, "expected rows of numbers, row \(k + 1) is \(describe(-1))")
            }
            return row
        }
    }

    /// Argument i holds `count` values where `like` has `expected`.
    public func checkCount(_ count: Int, _ expected: Int, _ i: Int32, _ name: String, like: String, noun: String = "values") throws {
        if count != expected { throw argError(i, name, "expected \(expected) \(noun) like \(like), got \(count)") }
    }

    /// Argument i must hold at least one value.
    public func checkNotEmpty(_ count: Int, _ i: Int32, _ name: String) throws {
        if count == 0 { throw argError(i, name, "expected at least one value, got an empty array") }
    }

    /// The label at i (an integer, a string or a boolean), nil for anything else.
    public func label(_ i: Int32) -> LabelValue? {
        switch lua_type(L, i) {
        case LUA_TSTRING: return .string(string(i) ?? "")
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, i) != 0)
        case LUA_TNUMBER:
            var v: Int64 = 0
            return lp_isinteger_value(L, i, &v) != 0 ? .int(Int(v)) : nil
        default: return nil
        }
    }

    /// Pushes a table keyed by labels (`{cat = 0.5, dog = 1}`, `{[true] = 0.5}`).
    public func pushLabelMap(_ labels: [LabelValue], _ values: [LuaValue]) throws {
        try reserve()
        try newTable(records: labels.count)
        for (l, v) in zip(labels, values) {
            try push(l.lua)
            try push(v)
            try rawsetKeyChecked(-3)
        }
    }
}

extension LabelValue {
    /// The label as a Lua value.
    public var lua: LuaValue {
        switch self {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        }
    }
}

extension DeclaredOptions {
    /// A label option (e.g. pos_label), nil when absent.
    public func label(_ name: String) throws -> LabelValue? {
        try push(name)
        defer { lp_pop(L, 1) }
        return call.label(-1)
    }

    /// A labels option (an array, data column or tensor of at least one label), nil when absent.
    public func labels(_ name: String) throws -> [LabelValue]? {
        if try push(name) == LUA_TNIL {
            lp_pop(L, 1)
            return nil
        }
        defer { lp_pop(L, 1) }
        let col = try call.readLabels(-1, "option '\(name)'")
        if col.count == 0 { throw LuaError("bad option '\(name)' (expected at least one label, got an empty array)") }
        return (0..<col.count).map { col[$0] }
    }
}
