import CLua
import CLuaShim
import LatheCore

extension LuaCall {
    /// The declaration of the running function (nil for the few functions made by hand).
    public var decl: LuaFunc? { box.decl }

    /// The VM this call runs in.
    public var vm: LuaVM {
        lua_getfield(L, lp_registryindex(), "lathe.vm")
        defer { lp_pop(L, 1) }
        return Unmanaged<LuaVM>.fromOpaque(lua_touserdata(L, -1)!).takeUnretainedValue()
    }

    /// Reads the options table of a declared function: every given name must be declared (an
    /// unknown one gets a "did you mean" or the Lathe name of another library's option) and
    /// every value must be of the declared kind, range or choice. The readers of the result
    /// return the declared default for an absent option.
    /// `index`: where the table is when the function decides (after a variable number of sizes).
    public func opts(at index: Int32? = nil) throws -> DeclaredOptions {
        // the common case, no options given, reads only the box
        if box.optionsIndex > 0, isNoneOrNil(index ?? box.optionsIndex) { return DeclaredOptions(call: self, options: box.options, index: 0) }
        guard let decl else { throw LuaError("internal: \(name) reads declared options but has no declaration") }
        let idx = index ?? decl.optionsIndex(isMethod: isMethod)
        if isNoneOrNil(idx) { return DeclaredOptions(call: self, options: decl.options, index: 0) }
        guard lua_type(L, idx) == LUA_TTABLE else {
            throw argError(idx, "options", expected: "table of options")
        }
        let abs = lua_absindex(L, idx)
        try checkOptions(abs, decl.options, prefix: "")
        return DeclaredOptions(call: self, options: decl.options, index: abs)
    }

    /// Options given right after the last argument, optional ones left out (`t:topk(2, {largest =
    /// false})`: a last table that the optional argument in its place does not accept), move to
    /// their declared place, nils before them, so bodies read every argument where it is declared.
    func placeEarlyOptions(_ decl: LuaFunc) throws {
        let idx = decl.optionsIndex(isMethod: isMethod), last = lua_gettop(L)
        guard !decl.options.isEmpty, last < idx, lua_type(L, last) == LUA_TTABLE else { return }
        let k = Int(last) - (isMethod ? 2 : 1)
        guard decl.params.indices.contains(k), decl.params[k].optional, !matches(decl.params[k].kind, last) else { return }
        try reserve(idx - last + 1)
        for _ in last..<idx {
            lua_pushnil(L)
            lua_rotate(L, last, 1)
        }
    }

    /// Checks the table at `abs` against declared options (nested option tables too).
    func checkOptions(_ abs: Int32, _ declared: [LuaOpt], prefix: String) throws {
        try reserve()
        lua_pushnil(L)
        while lua_next(L, abs) != 0 {
            defer { lp_pop(L, 1) }
            guard lua_type(L, -2) == LUA_TSTRING, let key = string(-2) else {
                let what = describe(-2)
                lp_pop(L, 1)
                throw LuaError("bad option table\(prefix.isEmpty ? "" : " '\(prefix.dropLast())'") (option names must be strings, got \(what))")
            }
            guard let o = declared.first(where: { $0.name == key }) else {
                lp_pop(L, 1)
                throw unknownOption(prefix + key, declared)
            }
            if !matches(o.kind, -1) {
                let got = describe(-1)
                lp_pop(L, 1)
                throw LuaError("bad option '\(prefix + key)' (expected \(o.kind.text), got \(got))")
            }
            if let nested = o.kind.nestedOptions, lua_type(L, -1) == LUA_TTABLE {
                do { try checkOptions(lua_absindex(L, -1), nested, prefix: prefix + key + ".") } catch {
                    lp_pop(L, 1)
                    throw error
                }
            }
        }
    }

    func unknownOption(_ key: String, _ declared: [LuaOpt]) -> LuaError {
        let leaf = String(key.split(separator: ".").last ?? Substring(key))
        let names = declared.map(\.name)
        var hint = ""
        if let alias = LuaOptionAliases.known[leaf.lowercased()], names.contains(alias) {
            hint = "; Lathe calls it '\(alias)'"
        } else if let c = closest(leaf, names) {
            hint = "; did you mean '\(c)'?"
        }
        return LuaError("unknown option '\(key)'\(hint) (expected one of: \(names.sorted().joined(separator: ", ")))")
    }

    /// Whether the value at `i` is of `kind` (ranges and choices included).
    public func matches(_ kind: LuaKind, _ i: Int32) -> Bool {
        let t = lua_type(L, i)
        switch kind {
        case .any: return t != LUA_TNONE
        case .boolean: return t == LUA_TBOOLEAN
        case .string: return t == LUA_TSTRING
        case .table: return t == LUA_TTABLE
        case .function: return t == LUA_TFUNCTION
        case .integer(let r):
            var v: Int64 = 0
            guard t == LUA_TNUMBER, lp_isinteger_value(L, i, &v) != 0 else { return false }
            return r.map { $0.contains(Int(v)) } ?? true
        case .number(let lo, let hi, let above):
            guard t == LUA_TNUMBER else { return false }
            let x = lua_tonumberx(L, i, nil)
            if x.isNaN { return false }
            if let lo, above ? !(x > lo) : !(x >= lo) { return false }
            if let hi, !(x <= hi) { return false }
            return true
        case .value: return t == LUA_TNUMBER
        case .choice(let cs):
            guard t == LUA_TSTRING, let s = string(i) else { return false }
            return cs.contains(s)
        case .strings:
            if t == LUA_TSTRING { return true }
            guard t == LUA_TTABLE else { return false }
            let n = rawLen(i)
            let abs = lua_absindex(L, i)
            for k in 1...max(n, 1) where n > 0 {
                let et = lua_rawgeti(L, abs, lua_Integer(k))
                lp_pop(L, 1)
                if et != LUA_TSTRING { return false }
            }
            return true
        case .numbers:
            guard t == LUA_TTABLE else { return false }
            let n = rawLen(i)
            let abs = lua_absindex(L, i)
            for k in 1...max(n, 1) where n > 0 {
                let et = lua_rawgeti(L, abs, lua_Integer(k))
                lp_pop(L, 1)
                if et != LUA_TNUMBER { return false }
            }
            return true
        case .object(let cls): return (t == LUA_TUSERDATA || t == LUA_TTABLE) && hasClassName(i, cls)
        case .either(let ks): return ks.contains { matches($0, i) }
        case .options: return t == LUA_TTABLE
        case .described(_, let k): return matches(k, i)
        }
    }

    /// Whether the value's metatable is named `cls` (compared in place, no Swift string made).
    func hasClassName(_ i: Int32, _ cls: String) -> Bool {
        guard lua_getmetatable(L, i) != 0 else { return false }
        defer { lp_pop(L, 2) }
        var len = 0
        guard lua_getfield(L, -1, "__name") == LUA_TSTRING, let p = lp_tostring(L, -1, &len) else { return false }
        var cls = cls
        return cls.withUTF8 { $0.elementsEqual(UnsafeRawBufferPointer(start: p, count: len)) }
    }

    /// Checks the positional arguments against the declaration: present unless optional, of
    /// the declared kind; errors name the argument as the declaration does. The common cases
    /// read only the plain `ArgCheck`s (this runs on every call); the rest look at the kinds.
    public func checkArgs() throws {
        let checks = box.checks
        if checks.isEmpty { return }
        // a method called with a dot has no self: say so, not that its first argument is missing
        if isMethod, lua_type(L, 1) != LUA_TUSERDATA, let decl, let cls = name.split(separator: ":").first, typeName(1) != cls {
            throw LuaError("expected a \(cls) as self (call it with a colon: obj:\(decl.name)(...)), got \(describe(1))")
        }
        if lua_gettop(L) < box.optionsIndex, lua_type(L, lua_gettop(L)) == LUA_TTABLE, let decl { try placeEarlyOptions(decl) }
        let base: Int32 = isMethod ? 1 : 0
        for k in 0..<checks.count {
            let i = base + Int32(k) + 1, t = lua_type(L, i)
            if t <= LUA_TNIL ? checks[k].optional : checks[k].accepts(L, i, t) { continue }
            guard let p = decl?.params[k] else { continue }
            if t <= LUA_TNIL { throw argError(i, p.name, expected: p.kind.text) }
            if !matches(p.kind, i) {
                // an array with a wrong element: the readers name the element
                if case .strings = p.kind, t == LUA_TTABLE { _ = try stringArray(i, p.name) }
                if case .numbers = p.kind, t == LUA_TTABLE { _ = try numberArray(i, p.name) }
                if t == LUA_TNUMBER, lua_tonumberx(L, i, nil).isNaN { throw argError(i, p.name, expected: p.kind.text + " (not NaN)") }
                throw argError(i, p.name, expected: p.kind.text)
            }
        }
    }
}

/// A declared argument's check as plain values (no reference counting on the hot path): the
/// Lua types every value of which its kind accepts, the tag of the objects it accepts, the
/// unbounded numbers it accepts (1: any but NaN, 2: integers), and whether it may be absent.
/// `accepts` answering false sends the value to the full check of the kind.
struct ArgCheck {
    let sureTypes: UInt32
    let classTag: Int32
    let numbers: UInt8
    let optional: Bool

    init(_ kind: LuaKind, optional: Bool) {
        sureTypes = kind.sureTypes
        classTag = kind.objectClass.flatMap { LuaTag.byClassName[$0] } ?? -1
        numbers = kind.numbers
        self.optional = optional
    }

    @inline(__always) func accepts(_ L: OpaquePointer, _ i: Int32, _ t: Int32) -> Bool {
        if sureTypes & (1 << UInt32(t)) != 0 { return true }
        if t == LUA_TUSERDATA { return classTag >= 0 && lp_objecttag(L, i) == classTag }
        var v: Int64 = 0
        return t == LUA_TNUMBER && (numbers == 1 ? !lua_tonumberx(L, i, nil).isNaN : numbers == 2 && lp_isinteger_value(L, i, &v) != 0)
    }
}

/// A checked options table of a declared function (see `LuaCall.opts`).
public struct DeclaredOptions {
    let call: LuaCall
    let options: [LuaOpt]
    /// Absolute stack index of the table, 0 when none was given.
    let index: Int32

    var L: OpaquePointer { call.L }

    func declared(_ name: String) throws -> LuaOpt { options[try place(name)] }

    /// The option's place in `options` (readers look at it there: a copy is a retain per field).
    func place(_ name: String) throws -> Int {
        guard let k = options.firstIndex(where: { $0.name == name }) else {
            throw LuaError("internal: option '\(name)' is not declared by \(call.name)")
        }
        return k
    }

    /// A nested option table (checked already), as options of its own. The table stays on the
    /// Lua stack until the call returns (its readers need it there).
    public func nested(_ name: String) throws -> DeclaredOptions? {
        guard let sub = options[try place(name)].kind.nestedOptions else { throw LuaError("internal: option '\(name)' of \(call.name) is not an option table") }
        if try push(name) != LUA_TTABLE {
            lp_pop(L, 1)
            return nil
        }
        return DeclaredOptions(call: call, options: sub, index: lua_gettop(L))
    }

    /// Pushes the option's value (nil when absent) and returns its Lua type.
    @discardableResult
    public func push(_ name: String) throws -> Int32 {
        _ = try place(name)
        return rawPush(name)
    }

    @inline(__always) func rawPush(_ name: String) -> Int32 {
        if index == 0 {
            lua_pushnil(L)
            return LUA_TNIL
        }
        call.push(name)
        return lua_rawget(L, index)
    }

    /// Whether the caller gave the option.
    public func has(_ name: String) throws -> Bool {
        let t = try push(name)
        lp_pop(L, 1)
        return t != LUA_TNIL
    }

    func missing(_ name: String) -> LuaError {
        LuaError("internal: option '\(name)' of \(call.name) has no default; read it with an IfGiven reader")
    }

    public func numberIfGiven(_ name: String) throws -> Double? {
        let k = try place(name)
        if rawPush(name) == LUA_TNIL {
            lp_pop(L, 1)
            switch options[k].defaultValue {
            case .number(let d): return d
            case .int(let i): return Double(i)
            default: return nil
            }
        }
        defer { lp_pop(L, 1) }
        return lua_tonumberx(L, -1, nil)
    }
    public func number(_ name: String) throws -> Double {
        guard let v = try numberIfGiven(name) else { throw missing(name) }
        return v
    }

    public func intIfGiven(_ name: String) throws -> Int? {
        let k = try place(name)
        if rawPush(name) == LUA_TNIL {
            lp_pop(L, 1)
            if case .int(let i) = options[k].defaultValue { return i }
            return nil
        }
        defer { lp_pop(L, 1) }
        var v: Int64 = 0
        _ = lp_isinteger_value(L, -1, &v)
        return Int(v)
    }
    public func int(_ name: String) throws -> Int {
        guard let v = try intIfGiven(name) else { throw missing(name) }
        return v
    }

    public func boolIfGiven(_ name: String) throws -> Bool? {
        let k = try place(name)
        if rawPush(name) == LUA_TNIL {
            lp_pop(L, 1)
            if case .bool(let b) = options[k].defaultValue { return b }
            return nil
        }
        defer { lp_pop(L, 1) }
        return lua_toboolean(L, -1) != 0
    }
    public func bool(_ name: String) throws -> Bool {
        guard let v = try boolIfGiven(name) else { throw missing(name) }
        return v
    }

    public func stringIfGiven(_ name: String) throws -> String? {
        let k = try place(name)
        if rawPush(name) == LUA_TNIL {
            lp_pop(L, 1)
            if case .string(let s) = options[k].defaultValue { return s }
            return nil
        }
        defer { lp_pop(L, 1) }
        return call.string(-1)
    }
    public func string(_ name: String) throws -> String {
        guard let v = try stringIfGiven(name) else { throw missing(name) }
        return v
    }

    public func stringsIfGiven(_ name: String) throws -> [String]? {
        let k = try place(name)
        let t = rawPush(name)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL {
            if case .strings(let ss) = options[k].defaultValue { return ss }
            return nil
        }
        if t == LUA_TSTRING { return [call.string(-1) ?? ""] }
        return try call.stringArray(-1, name)
    }
    public func strings(_ name: String) throws -> [String] {
        guard let v = try stringsIfGiven(name) else { throw missing(name) }
        return v
    }

    /// An array of integers (each checked: a huge, fractional or NaN number is an error).
    public func intsIfGiven(_ name: String) throws -> [Int]? {
        let t = try push(name)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        return try call.intArray(-1, name)
    }

    public func numbersIfGiven(_ name: String) throws -> [Double]? {
        let t = try push(name)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        return try call.numberArray(-1, name)
    }

    public func object<T: LuaObject>(_ name: String, _ type: T.Type) throws -> T? {
        let t = try push(name)
        defer { lp_pop(L, 1) }
        if t == LUA_TNIL { return nil }
        guard let o = call.object(-1, T.self) else {
            throw LuaError("bad option '\(name)' (expected \(options[try place(name)].kind.text), got \(call.describe(-1)))")
        }
        return o
    }

    /// Any value, converted.
    public func value(_ name: String) throws -> LuaValue {
        try push(name)
        defer { lp_pop(L, 1) }
        return try call.value(-1)
    }
}

extension LuaKind {
    /// The Lua types every value of which is of this kind (a bit per type; see `LuaParam.sureTypes`).
    var sureTypes: UInt32 {
        switch self {
        case .any: return ~0
        case .boolean: return 1 << LUA_TBOOLEAN
        case .string, .strings: return 1 << LUA_TSTRING
        case .table, .options: return 1 << LUA_TTABLE
        case .function: return 1 << LUA_TFUNCTION
        case .value: return 1 << LUA_TNUMBER
        case .either(let ks): return ks.reduce(0) { $0 | $1.sureTypes }
        default: return 0
        }
    }

    /// The numbers this kind accepts with no bound: 1 any (not NaN), 2 any integer, 0 none or bounded ones.
    var numbers: UInt8 {
        switch self {
        case .number(nil, nil, _): return 1
        case .integer(nil): return 2
        case .either(let ks): return ks.map(\.numbers).max() ?? 0
        default: return 0
        }
    }

    /// The class of the objects this kind accepts, if any.
    var objectClass: String? {
        if case .object(let c) = self { return c }
        if case .either(let ks) = self { return ks.lazy.compactMap(\.objectClass).first }
        return nil
    }
}
