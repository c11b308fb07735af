import CLua
import CLuaShim
import LatheCore

/// Pushes decoded values, tables with their marker metatables. Nesting is bounded by the
/// parser's depth limit; each level grows the Lua stack first.
struct JSONToLua {
    let c: LuaCall
    /// Stack slot of the value null becomes; nil drops nulls.
    let null: Int32?
    let arrayMeta: Int32
    let objectMeta: Int32

    func push(_ v: JSONValue) throws {
        let L = c.L
        switch v {
        case .null: if let n = null { lua_pushvalue(L, n) } else { lua_pushnil(L) }
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .number: if case .int(let i)? = v.number { lua_pushinteger(L, lua_Integer(i)) } else { lua_pushnumber(L, v.double ?? .nan) }
        case .string(let s): c.push(s)
        case .array(let a):
            try c.reserve(3)
            lua_createtable(L, Int32(clamping: a.count), 0)
            for (k, e) in a.enumerated() {
                if case .null = e, null == nil { continue }
                try push(e)
                lua_rawseti(L, -2, lua_Integer(k + 1))
            }
            lua_pushvalue(L, arrayMeta)
            lua_setmetatable(L, -2)
        case .object(let m):
            try c.reserve(4)
            lua_createtable(L, 0, Int32(clamping: m.count))
            for (k, e) in m {
                c.push(k)
                // a dropped null still clears an earlier duplicate: the last member wins
                if case .null = e, null == nil { lua_pushnil(L) } else { try push(e) }
                lua_rawset(L, -3)
            }
            lua_pushvalue(L, objectMeta)
            lua_setmetatable(L, -2)
        }
    }
}

/// Lua values -> JSONValue, with the path of the value being read for error messages.
struct LuaToJSON {
    let c: LuaCall
    let allowNaN: Bool
    /// Stack slots of json.null, data.NA and the two marker metatables.
    let null: Int32, na: Int32, arrayMeta: Int32, objectMeta: Int32
    var path = JSONPath()
    var open: Set<UnsafeRawPointer> = []

    /// Pushes json.null, data.NA and the markers, which stay on the stack for the walk.
    init(c: LuaCall, allowNaN: Bool) {
        (self.c, self.allowNaN) = (c, allowNaN)
        null = JSONFunctions.pushRegistry(c.L, [JSONFunctions.nullKey])
        DataLua.pushNA(c.L)
        (na, arrayMeta, objectMeta) = (null + 1, JSONFunctions.pushRegistry(c.L, [JSONFunctions.arrayKey, JSONFunctions.objectKey]), null + 3)
    }

    mutating func value(_ idx: Int32, depth: Int) throws -> JSONValue {
        let L = c.L
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .null
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .number(String(lua_tointegerx(L, idx, nil))) }
            let x = lua_tonumberx(L, idx, nil)
            if !x.isFinite && !allowNaN {
                throw LuaError("\(x.isNaN ? "NaN" : (x > 0 ? "inf" : "-inf")) at \(path) is not valid JSON (pass allow_nan = true to write NaN, Infinity and -Infinity as Python does)")
            }
            return JSONValue.number(x)
        case LUA_TSTRING: return .string(try string(idx, what: "the string"))
        case LUA_TTABLE: return try table(lua_absindex(L, idx), depth: depth)
        default:
            let t = c.typeName(idx)
            throw LuaError("\("aeiou".contains(t.prefix(1)) ? "an" : "a") \(t) at \(path) cannot be written as JSON")
        }
    }

    func string(_ idx: Int32, what: String) throws -> String {
        var len = 0
        guard let p = lp_tostring(c.L, idx, &len) else { return "" }
        let b = UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self)
        if let bad = TextBytes.invalidUTF8(b, len, limit: 1).first {
            throw LuaError("\(what) at \(path) is not valid UTF-8 (byte 0x\(String(b[bad], radix: 16, uppercase: true)) at offset \(bad + 1))")
        }
        return String(decoding: UnsafeBufferPointer(start: b, count: len), as: UTF8.self)
    }

    /// "array", "object" or nil, from the table's marker metatable.
    func marker(_ t: Int32) -> String? {
        let L = c.L
        guard lua_getmetatable(L, t) != 0 else { return nil }
        defer { lp_pop(L, 1) }
        if lua_rawequal(L, -1, arrayMeta) != 0 { return "array" }
        return lua_rawequal(L, -1, objectMeta) != 0 ? "object" : nil
    }

    /// A table's members, read in one pass: string keys in traversal order, positive integer
    /// keys sorted; other keys are an error.
    mutating func table(_ t: Int32, depth: Int) throws -> JSONValue {
        let L = c.L
        if lua_rawequal(L, t, null) != 0 || lua_rawequal(L, t, na) != 0 { return .null }
        guard let ptr = lua_topointer(L, t) else { return .null }
        if open.contains(ptr) { throw LuaError("a cycle at \(path): the table contains itself") }
        if depth >= JSONFunctions.maxDepth { throw LuaError("nested deeper than \(JSONFunctions.maxDepth) levels at \(path)") }
        try c.reserve(4)
        open.insert(ptr)
        defer { open.remove(ptr) }
        var named: [(String, JSONValue)] = [], numbered: [(Int, JSONValue)] = []
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            if lua_type(L, -2) == LUA_TSTRING {
                path.steps.append(.key(try string(-2, what: "a key")))
            } else if lua_isinteger(L, -2) != 0, case let k = lua_tointegerx(L, -2, nil), k > 0 {
                path.steps.append(.index(Int(clamping: k)))
            } else {
                throw LuaError("key \(c.describe(-2)) at \(path) cannot be written as JSON (object keys are strings; an array has keys 1..n)")
            }
            let v = try value(-1, depth: depth + 1)
            switch path.steps.removeLast() {
            case .key(let k): named.append((k, v))
            case .index(let i): numbered.append((i, v))
            }
            lp_pop(L, 1)
        }
        numbered.sort { $0.0 < $1.0 }
        return try shape(named, numbered, marker(t))
    }

    /// An array when marked so or keyed 1..n, an object when marked so or keyed by names.
    func shape(_ named: [(String, JSONValue)], _ numbered: [(Int, JSONValue)], _ marked: String?) throws -> JSONValue {
        let count = named.count + numbered.count, largest = numbered.last?.0 ?? 0
        let isSequence = named.isEmpty && largest == count
        if marked == "array" || (marked == nil && isSequence) {
            if let s = named.first?.0 { throw LuaError("the array at \(path) has the key \(JSONL.jsonString(s)) (an array has only keys 1..n)") }
            if !isSequence { throw LuaError("the array at \(path) has a hole: \(count) values but key \(largest) (an array has keys 1..n without holes)") }
            return .array(numbered.map(\.1))
        }
        guard let first = numbered.first?.0 else { return .object(named) }
        if marked == "object" { throw LuaError("the object at \(path) has the key \(first) (object keys are strings)") }
        if let s = named.first?.0 {
            throw LuaError("the table at \(path) mixes keys 1..n with names (key \(first) and key \(JSONL.jsonString(s))); it must be an array or an object")
        }
        throw LuaError("the table at \(path) has integer keys with holes (\(count) values, largest key \(largest)); an array needs keys 1..n and object keys are strings")
    }
}
