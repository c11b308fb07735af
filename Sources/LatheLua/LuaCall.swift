import CLua
import CLuaShim
import Foundation
import LatheCore

/// A Lua value converted to Swift (tables recursively). Used for results with several named
/// parts and for reading nested arguments.
public indirect enum LuaValue {
    case `nil`
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    /// An array (Lua sequence 1..n).
    case array([LuaValue])
    /// A record with named fields, pushed in this order.
    case record([(String, LuaValue)])
    /// A Lathe object.
    case object(any LuaObject)
    /// A Lua value left on the stack at this absolute index (only while the call runs).
    case stackValue(Int32)

    public static func numbers(_ xs: [Double]) -> LuaValue { .array(xs.map { .number($0) }) }
    public static func ints(_ xs: [Int]) -> LuaValue { .array(xs.map { .int($0) }) }
    public static func strings(_ xs: [String]) -> LuaValue { .array(xs.map { .string($0) }) }
}

/// What a binding sees of its call: typed argument readers that report errors the Lathe way,
/// and pushers for results. Never raises; errors are thrown as `LuaError`.
public struct LuaCall {
    public let L: OpaquePointer
    /// The running binding. Lua holds it (the function's upvalue) for the whole call, so the
    /// call borrows it without reference counting.
    unowned(unsafe) let box: FunctionBox
    /// The Lua-visible name (`tensor.zeros`, `Tensor:reshape`).
    public var name: String { box.name }
    /// Methods number their arguments after `self`.
    public var isMethod: Bool { box.isMethod }

    init(L: OpaquePointer, box: FunctionBox) {
        self.L = L
        self.box = box
    }

    /// Argument readers and pushers outside any binding (building modules, printing).
    public init(L: OpaquePointer) {
        self.init(L: L, box: FunctionBox.unnamed)
    }

    /// Number of arguments (including self for methods).
    @inline(__always) public var top: Int32 { lua_gettop(L) }

    /// How deep nested tables may go where Lathe reads or writes them (Lua's own parser
    /// stops at 200 C levels).
    public static let maxNesting = 100

    /// Makes room for `n` more values on the Lua stack. Lua guarantees only LUA_MINSTACK (20)
    /// slots to a C function, so every loop or recursion that keeps values on the stack calls
    /// this (once per level) before pushing.
    @inline(__always) public func reserve(_ n: Int32 = 4) throws {
        if lua_checkstack(L, n) == 0 {
            throw LuaError("values nested too deeply: the Lua stack cannot grow further")
        }
    }

    @inline(__always) public func type(_ i: Int32) -> Int32 { lua_type(L, i) }
    @inline(__always) public func isNoneOrNil(_ i: Int32) -> Bool { lua_type(L, i) <= 0 }

    /// The Lua type name of argument i, with Lathe class names for objects.
    public func typeName(_ i: Int32) -> String {
        let t = lua_type(L, i)
        if t == LUA_TNONE { return "no value" }
        if t == LUA_TUSERDATA || t == LUA_TTABLE {
            if lua_getmetatable(L, i) != 0 {
                let tt = lua_rawgetp_string(L, -1, "__name")
                lp_pop(L, 1)
                if let tt { return tt }
            }
        }
        if t == LUA_TNUMBER { return lua_isinteger(L, i) != 0 ? "integer" : "number" }
        return String(cString: lua_typename(L, t))
    }

    /// `#2 'shape'` (method arguments are numbered after self).
    public func argLabel(_ i: Int32, _ label: String?) -> String {
        let n = isMethod ? i - 1 : i
        if let label, !label.isEmpty { return "#\(n) '\(label)'" }
        return "#\(n)"
    }

    /// An error for argument i: `bad argument #i 'label' (expected X, got Y)`.
    public func argError(_ i: Int32, _ label: String?, expected: String) -> LuaError {
        LuaError("bad argument \(argLabel(i, label)) (expected \(expected), got \(describe(i)))")
    }
    /// An error for argument i with a free-form reason.
    public func argError(_ i: Int32, _ label: String?, _ reason: String) -> LuaError {
        LuaError("bad argument \(argLabel(i, label)) (\(reason))")
    }
    public func error(_ message: String) -> LuaError { LuaError(message) }

    /// A short description of a value for error messages: its type, and the value when short.
    public func describe(_ i: Int32) -> String {
        let t = lua_type(L, i)
        switch t {
        case LUA_TNUMBER:
            if lua_isinteger(L, i) != 0 { return "integer \(lua_tointegerx(L, i, nil))" }
            return "number \(fmt(lua_tonumberx(L, i, nil)))"
        case LUA_TSTRING:
            let s = string(i) ?? ""
            return s.count > 30 ? "string \"\(s.prefix(27))...\"" : "string \"\(s)\""
        case LUA_TBOOLEAN:
            return "boolean \(lua_toboolean(L, i) != 0)"
        default:
            return typeName(i)
        }
    }

    // MARK: Readers

    public func string(_ i: Int32) -> String? {
        guard lua_type(L, i) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = lp_tostring(L, i, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    public func checkString(_ i: Int32, _ label: String? = nil) throws -> String {
        if let s = string(i) { return s }
        throw argError(i, label, expected: "string")
    }
    public func optString(_ i: Int32, _ label: String? = nil, _ def: String? = nil) throws -> String? {
        if isNoneOrNil(i) { return def }
        return try checkString(i, label)
    }

    public func checkNumber(_ i: Int32, _ label: String? = nil) throws -> Double {
        if lua_type(L, i) == LUA_TNUMBER { return lua_tonumberx(L, i, nil) }
        throw argError(i, label, expected: "number")
    }
    public func optNumber(_ i: Int32, _ label: String? = nil, _ def: Double) throws -> Double {
        if isNoneOrNil(i) { return def }
        return try checkNumber(i, label)
    }

    /// An integer (a float with an exact integer value is accepted, as Lua does).
    public func checkInt(_ i: Int32, _ label: String? = nil) throws -> Int {
        if lua_type(L, i) == LUA_TNUMBER {
            var v: Int64 = 0
            if lp_isinteger_value(L, i, &v) != 0 { return Int(v) }
            throw argError(i, label, expected: "integer")
        }
        throw argError(i, label, expected: "integer")
    }
    public func optInt(_ i: Int32, _ label: String? = nil, _ def: Int) throws -> Int {
        if isNoneOrNil(i) { return def }
        return try checkInt(i, label)
    }

    public func checkBool(_ i: Int32, _ label: String? = nil) throws -> Bool {
        if lua_type(L, i) == LUA_TBOOLEAN { return lua_toboolean(L, i) != 0 }
        throw argError(i, label, expected: "boolean")
    }
    public func optBool(_ i: Int32, _ label: String? = nil, _ def: Bool) throws -> Bool {
        if isNoneOrNil(i) { return def }
        return try checkBool(i, label)
    }

    public func checkTable(_ i: Int32, _ label: String? = nil) throws {
        if lua_type(L, i) != LUA_TTABLE { throw argError(i, label, expected: "table") }
    }

    public func checkFunction(_ i: Int32, _ label: String? = nil) throws {
        if lua_type(L, i) != LUA_TFUNCTION { throw argError(i, label, expected: "function") }
    }

    /// The Lathe object of class T at argument i.
    public func checkObject<T: LuaObject>(_ i: Int32, _ type: T.Type, _ label: String? = nil,
                                          expected: String? = nil) throws -> T {
        if let p = lp_toobject(L, i, T.luaTag) {
            return Unmanaged<T>.fromOpaque(p).takeUnretainedValue()
        }
        throw argError(i, label, expected: expected ?? "\(T.self)")
    }
    public func object<T: LuaObject>(_ i: Int32, _ type: T.Type) -> T? {
        guard let p = lp_toobject(L, i, T.luaTag) else { return nil }
        // the tag is unique per class and was set by push(_:) from a T: no checked cast
        return Unmanaged<T>.fromOpaque(p).takeUnretainedValue()
    }
    /// `self` of a method call.
    @inline(__always)
    public func selfObject<T: LuaObject>(_ type: T.Type) throws -> T {
        if let p = lp_toobject(L, 1, T.luaTag) {
            return Unmanaged<T>.fromOpaque(p).takeUnretainedValue()
        }
        let m = name.split(separator: ":").last.map(String.init) ?? name
        throw LuaError("expected a \(T.self) as self (call it with a colon: obj:\(m)(...)), got \(describe(1))")
    }

    /// Length of the sequence part of the table at i (raw).
    public func rawLen(_ i: Int32) -> Int { Int(lua_rawlen(L, i)) }

    /// Reads a Lua array of numbers (raw access).
    public func numberArray(_ i: Int32, _ label: String? = nil) throws -> [Double] {
        try checkTable(i, label)
        let n = rawLen(i)
        var out = [Double](repeating: 0, count: n)
        let abs = lua_absindex(L, i)
        for k in 0..<n {
            let t = lua_rawgeti(L, abs, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            guard t == LUA_TNUMBER else {
                throw LuaError("bad argument \(argLabel(i, label)) (expected an array of numbers, element \(k + 1) is \(typeNameOfTop()))")
            }
            out[k] = lua_tonumberx(L, -1, nil)
        }
        return out
    }

    /// Reads a Lua array of integers (raw access).
    public func intArray(_ i: Int32, _ label: String? = nil) throws -> [Int] {
        try checkTable(i, label)
        let n = rawLen(i)
        var out = [Int](repeating: 0, count: n)
        let abs = lua_absindex(L, i)
        for k in 0..<n {
            lua_rawgeti(L, abs, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            var v: Int64 = 0
            guard lua_type(L, -1) == LUA_TNUMBER, lp_isinteger_value(L, -1, &v) != 0 else {
                throw LuaError("bad argument \(argLabel(i, label)) (expected an array of integers, element \(k + 1) is \(typeNameOfTop()))")
            }
            out[k] = Int(v)
        }
        return out
    }

    /// Reads a Lua array of strings (raw access).
    public func stringArray(_ i: Int32, _ label: String? = nil) throws -> [String] {
        try checkTable(i, label)
        let n = rawLen(i)
        var out: [String] = []
        out.reserveCapacity(n)
        let abs = lua_absindex(L, i)
        for k in 0..<n {
            lua_rawgeti(L, abs, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            guard lua_type(L, -1) == LUA_TSTRING, let s = string(-1) else {
                throw LuaError("bad argument \(argLabel(i, label)) (expected an array of strings, element \(k + 1) is \(typeNameOfTop()))")
            }
            out.append(s)
        }
        return out
    }

    /// Reads a Lua array of Lathe objects of class T (raw access); `noun` names them in errors.
    public func objectArray<T: LuaObject>(_ i: Int32, _ type: T.Type, _ label: String? = nil, noun: String) throws -> [T] {
        try checkTable(i, label)
        let n = rawLen(i)
        var out: [T] = []
        out.reserveCapacity(n)
        let abs = lua_absindex(L, i)
        for k in 0..<n {
            lua_rawgeti(L, abs, lua_Integer(k + 1))
            defer { lp_pop(L, 1) }
            guard let o = object(-1, T.self) else {
                throw LuaError("bad argument \(argLabel(i, label)) (expected an array of \(noun), element \(k + 1) is \(typeNameOfTop()))")
            }
            out.append(o)
        }
        return out
    }

    func typeNameOfTop() -> String { describe(-1) }

    /// Converts any Lua value to `LuaValue` (tables: arrays when they are sequences, else
    /// records with string keys; cycles and other key types are errors).
    public func value(_ i: Int32, depth: Int = 0) throws -> LuaValue {
        let t = lua_type(L, i)
        switch t {
        case LUA_TNONE, LUA_TNIL: return .nil
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, i) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, i) != 0 { return .int(Int(lua_tointegerx(L, i, nil))) }
            return .number(lua_tonumberx(L, i, nil))
        case LUA_TSTRING: return .string(string(i) ?? "")
        case LUA_TTABLE:
            if depth >= LuaCall.maxNesting {
                throw LuaError("table nested more than \(LuaCall.maxNesting) levels deep (or a table that contains itself)")
            }
            try reserve()
            let abs = lua_absindex(L, i)
            let n = rawLen(abs)
            var arr: [LuaValue] = []
            var rec: [(String, LuaValue)] = []
            lua_pushnil(L)
            var count = 0
            while lua_next(L, abs) != 0 {
                count += 1
                if lua_type(L, -2) == LUA_TSTRING {
                    rec.append((string(-2) ?? "", try value(-1, depth: depth + 1)))
                }
                lp_pop(L, 1)
            }
            if n > 0 {
                for k in 1...n {
                    lua_rawgeti(L, abs, lua_Integer(k))
                    arr.append(try value(-1, depth: depth + 1))
                    lp_pop(L, 1)
                }
            }
            if n > 0 && rec.isEmpty { return .array(arr) }
            if n == 0 { return .record(rec.sorted { $0.0 < $1.0 }) }
            return .record(rec.sorted { $0.0 < $1.0 } + arr.enumerated().map { ("\($0.offset + 1)", $0.element) })
        default:
            throw LuaError("cannot convert a \(typeName(i)) value")
        }
    }

    // MARK: Options tables

    /// Reads the options table at argument i (nil or absent = no options). Names not in
    /// `allowed` are an error, so typos never pass silently.
    public func options(_ i: Int32, allowed: [String]) throws -> LuaOptions {
        if box.decl != nil {
            throw LuaError("internal: \(name) is declared; it reads its options with opts(), so help lists exactly what it accepts")
        }
        if isNoneOrNil(i) { return LuaOptions(call: self, index: 0, argIndex: i) }
        guard lua_type(L, i) == LUA_TTABLE else {
            throw argError(i, "options", expected: "table of options")
        }
        let abs = lua_absindex(L, i)
        var badName: String? = nil
        var badKey: String? = nil
        lua_pushnil(L)
        while lua_next(L, abs) != 0 {
            guard lua_type(L, -2) == LUA_TSTRING, let k = string(-2) else {
                badName = describe(-2)
                lp_pop(L, 2)
                break
            }
            if !allowed.contains(k) {
                badKey = k
                lp_pop(L, 2)
                break
            }
            lp_pop(L, 1)
        }
        if let badName {
            throw LuaError("bad argument \(argLabel(i, "options")) (option names must be strings, got \(badName))")
        }
        if let k = badKey {
            let hint = closest(k, allowed).map { "; did you mean '\($0)'?" } ?? ""
            throw LuaError("unknown option '\(k)'\(hint) (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
        return LuaOptions(call: self, index: abs, argIndex: i)
    }

    // MARK: Pushers

    @inline(__always) public func push(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            _ = buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }
    @inline(__always) public func push(_ x: Double) { lua_pushnumber(L, x) }
    @inline(__always) public func push(_ x: Int) { lua_pushinteger(L, lua_Integer(x)) }
    @inline(__always) public func push(_ x: Bool) { lua_pushboolean(L, x ? 1 : 0) }
    @inline(__always) public func pushNil() { lua_pushnil(L) }
    @inline(__always) public func push<T: LuaObject>(_ obj: T) {
        let p = Unmanaged.passRetained(obj as AnyObject).toOpaque()
        lp_pushobject(L, p, T.luaTag, releaseObject, obj.luaByteSize)
    }
    public func pushAnyObject(_ obj: any LuaObject) {
        let p = Unmanaged.passRetained(obj as AnyObject).toOpaque()
        lp_pushobject(L, p, Swift.type(of: obj).luaTag, releaseObject, obj.luaByteSize)
    }

    /// Pushes a converted value (nested arrays and records as tables).
    public func push(_ v: LuaValue) throws {
        try push(v, depth: 0)
    }

    func push(_ v: LuaValue, depth: Int) throws {
        switch v {
        case .nil: lua_pushnil(L)
        case .bool(let b): push(b)
        case .int(let x): push(x)
        case .number(let x): push(x)
        case .string(let s): push(s)
        case .array(let a):
            try enterTable(depth)
            try newTable(array: a.count)
            for (k, e) in a.enumerated() {
                try push(e, depth: depth + 1)
                lua_rawseti(L, -2, lua_Integer(k + 1))
            }
        case .record(let fields):
            try enterTable(depth)
            try newTable(records: fields.count)
            for (k, e) in fields {
                push(k)
                try push(e, depth: depth + 1)
                lua_rawset(L, -3)
            }
        case .object(let o): pushAnyObject(o)
        case .stackValue(let idx): lua_pushvalue(L, idx)
        }
    }

    /// Checks the nesting limit and the stack's room before a table is pushed at `depth`.
    func enterTable(_ depth: Int) throws {
        if depth >= LuaCall.maxNesting { throw LuaError("result nested more than \(LuaCall.maxNesting) levels deep") }
        try reserve()
    }

    /// Pushes a new table for `array` items and `records` named fields (sizes from data: a
    /// result column, a tensor's rows). Lua tables hold fewer than 2^31 array items, and a
    /// table Lua cannot grow, or memory running out while it is filled, would raise an error
    /// through the Swift frame filling it; so such results are refused here, before any item.
    public func newTable(array: Int = 0, records: Int = 0) throws {
        try LuaCall.checkTableSize(array + records)
        lua_createtable(L, Int32(clamping: array), Int32(clamping: records))
    }

    /// Throws unless a Lua table of `count` items can be built (see `newTable`).
    public static func checkTableSize(_ count: Int) throws {
        if count >= Int(Int32.max) {
            throw LuaError("a result of \(count) items is more than a Lua table holds (2^31 - 1)")
        }
        // a table slot is 16 bytes (TValue), a record slot about twice that
        do { try MemoryBudget.check(count: count, of: (Int, Int, Int).self, for: "a result of \(count) items") } catch {
            throw LuaError(error.message)
        }
    }

    /// `t[key] = value` (raw) for the key and the value on top of the stack, t at `table`.
    /// Lua raises an error for a nil or NaN key, and that error would unwind through this Swift
    /// frame, so such keys (from data: a NaN label) are refused here first.
    public func rawsetKeyChecked(_ table: Int32) throws {
        let t = lua_absindex(L, table)
        let kt = lua_type(L, -2)
        if kt == LUA_TNIL || (kt == LUA_TNUMBER && lua_isinteger(L, -2) == 0 && lua_tonumberx(L, -2, nil).isNaN) {
            let what = describe(-2)
            lp_pop(L, 2)
            throw LuaError("\(what) cannot be a key of a Lua table")
        }
        lua_rawset(L, t)
    }

    /// Pushes values and returns their count (the usual last line of a binding).
    public func ret(_ values: LuaValue...) throws -> Int32 {
        try reserve(Int32(clamping: values.count + 2))
        for v in values { try push(v) }
        return Int32(values.count)
    }

    /// Pushes an array of numbers.
    public func push(numbers xs: [Double]) throws {
        try newTable(array: xs.count)
        for (k, x) in xs.enumerated() {
            lua_pushnumber(L, x)
            lua_rawseti(L, -2, lua_Integer(k + 1))
        }
    }

    // MARK: Calling back into Lua

    /// Calls the Lua function at `fnIndex` with `args` pushed by `pushArgs` (which returns how
    /// many it pushed), expecting `nresults` results left on the stack. Errors in the callee
    /// (including Ctrl-C) come back as a LuaError raised unchanged.
    /// `arguments`: at most how many values pushArgs pushes (room is made for them first).
    public func callLua(_ fnIndex: Int32, nresults: Int32, arguments: Int32 = 8, _ pushArgs: () throws -> Int32) throws {
        let top = lua_gettop(L)
        try reserve(arguments + 1)
        lua_pushvalue(L, fnIndex)
        let n: Int32
        do { n = try pushArgs() } catch { lua_settop(L, top); throw error }
        if lp_call_protected(L, n, nresults) != LUA_OK {
            let msg: String
            if let s = string(-1) {
                msg = s
            } else if let p = lp_safe_tolstring(L, -1, nil) {
                msg = String(cString: p)
            } else {
                msg = "(error object is a \(String(cString: lua_typename(L, lua_type(L, -1)))) value)"
            }
            lua_settop(L, top)
            throw LuaError(msg, asIs: true)
        }
    }
}

/// A validated options table (see `LuaCall.options`). Field readers report errors as
/// `bad option 'name' (expected X, got Y)`.
public struct LuaOptions {
    let call: LuaCall
    /// Absolute stack index of the table, 0 when no table was given.
    public let index: Int32
    let argIndex: Int32

    public var isEmpty: Bool { index == 0 }
    var L: OpaquePointer { call.L }

    /// Pushes the field's value (nil when absent) and returns its Lua type.
    @discardableResult
    public func push(_ key: String) -> Int32 {
        if index == 0 {
            lua_pushnil(L)
            return LUA_TNIL
        }
        call.push(key)
        return lua_rawget(L, index)
    }

    public func has(_ key: String) -> Bool {
        let t = push(key)
        lp_pop(L, 1)
        return t != LUA_TNIL
    }

    func bad(_ key: String, expected: String) -> LuaError {
        let got = call.describe(-1)
        return LuaError("bad option '\(key)' (expected \(expected), got \(got))")
    }

    public func number(_ key: String) throws -> Double? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TNUMBER else { throw bad(key, expected: "number") }
        return lua_tonumberx(L, -1, nil)
    }
    public func number(_ key: String, _ def: Double) throws -> Double { try number(key) ?? def }

    public func int(_ key: String) throws -> Int? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        var v: Int64 = 0
        guard t == LUA_TNUMBER, lp_isinteger_value(L, -1, &v) != 0 else { throw bad(key, expected: "integer") }
        return Int(v)
    }
    public func int(_ key: String, _ def: Int) throws -> Int { try int(key) ?? def }

    public func string(_ key: String) throws -> String? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TSTRING, let s = call.string(-1) else { throw bad(key, expected: "string") }
        return s
    }
    public func string(_ key: String, _ def: String) throws -> String { try string(key) ?? def }

    /// A string that must be one of `choices`.
    public func choice(_ key: String, _ choices: [String], _ def: String) throws -> String {
        guard let s = try string(key) else { return def }
        if !choices.contains(s) {
            throw LuaError("bad option '\(key)' (expected one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(s)\")")
        }
        return s
    }

    public func bool(_ key: String) throws -> Bool? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TBOOLEAN else { throw bad(key, expected: "boolean") }
        return lua_toboolean(L, -1) != 0
    }
    public func bool(_ key: String, _ def: Bool) throws -> Bool { try bool(key) ?? def }

    public func stringArray(_ key: String) throws -> [String]? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        if t == LUA_TSTRING { return [call.string(-1) ?? ""] }
        guard t == LUA_TTABLE else { throw bad(key, expected: "array of strings") }
        do { return try call.stringArray(-1, key) } catch { throw bad(key, expected: "array of strings") }
    }

    public func numberArray(_ key: String) throws -> [Double]? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TTABLE else { throw bad(key, expected: "array of numbers") }
        do { return try call.numberArray(-1, key) } catch { throw bad(key, expected: "array of numbers") }
    }

    /// An array of integers (floats with an exact integer value are accepted, as Lua does).
    public func intArray(_ key: String) throws -> [Int]? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TTABLE else { throw bad(key, expected: "array of integers") }
        do { return try call.intArray(-1, key) } catch { throw bad(key, expected: "array of integers") }
    }

    public func object<T: LuaObject>(_ key: String, _ type: T.Type) throws -> T? {
        let t = push(key)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard let o = call.object(-1, T.self) else { throw bad(key, expected: "\(T.self)") }
        return o
    }

    /// Any value, converted.
    public func value(_ key: String) throws -> LuaValue {
        push(key)
        defer { lp_pop(L, 1) }
        return try call.value(-1)
    }

    /// Is the field a function?
    public func isFunction(_ key: String) -> Bool {
        let t = push(key)
        lp_pop(L, 1)
        return t == LUA_TFUNCTION
    }
}

/// The closest name by edit distance (for "did you mean" hints), if close enough.
func closest(_ s: String, _ names: [String]) -> String? {
    func dist(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        var cur = prev
        for i in 1...max(a.count, 1) where !a.isEmpty {
            cur[0] = i
            for j in 1..<(b.count + 1) {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
    let a = Array(s)
    var best: (String, Int)? = nil
    for n in names {
        let d = dist(a, Array(n))
        if d <= max(1, n.count / 3), best == nil || d < best!.1 { best = (n, d) }
    }
    return best?.0
}

/// Formats a double as Lua's `%.14g` does.
public func fmt(_ x: Double) -> String {
    if x.isNaN { return x.sign == .minus ? "-nan" : "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    var buf = [CChar](repeating: 0, count: 64)
    _ = withVaList([x]) { vsnprintf(&buf, 64, "%.14g", $0) }
    var s = String(cString: buf)
    if x == x.rounded(), abs(x) < 1e16, !s.contains("e"), !s.contains(".") { s += ".0" }
    return s
}

/// Reads `t[key]` raw for a string key at table index idx; returns the string value or nil.
func lua_rawgetp_string(_ L: OpaquePointer, _ idx: Int32, _ key: String) -> String? {
    let abs = lua_absindex(L, idx)
    var k = key
    k.withUTF8 { buf in
        _ = buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
    }
    let t = lua_rawget(L, abs)
    defer { lp_pop(L, 1) }
    guard t == LUA_TSTRING else { return nil }
    var len = 0
    guard let p = lp_tostring(L, -1, &len) else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
}
