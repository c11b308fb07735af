import CLua
import CLuaShim
import Foundation
import LatheCore

/// The `json` module: JSON text <-> Lua values, on LatheCore's `JSONValue` parser and writer.
/// Arrays and objects are told apart by marker metatables (decoded tables carry them; plain
/// tables are classified by their keys), numbers keep the integer/float distinction, floats are
/// written as the shortest text that reads back exactly.
enum JSONModule: LuaInstaller {
    static let nullKey = "lathe.json.null"
    static let arrayKey = "lathe.json.array"
    static let objectKey = "lathe.json.object"
    /// Deepest nesting decoded or encoded.
    static let maxDepth = 200

    static func install(_ vm: LuaVM) throws {
        let m = vm.module("json", summary: "JSON text to Lua values and back: json.decode, json.encode, json.null, json.array, json.object.",
                          details: """
        JSON arrays become Lua sequences and objects tables with string keys; decoded tables
        carry a marker (see json.array, json.object) so they encode back as the same kind,
        empty ones included. null becomes json.null. Integers that fit 64 bits stay Lua
        integers; floats are written as the shortest text that reads back to the same number.
        """)
        installSentinels(vm)

        m.function("decode", Doc(
            "Parses JSON text into Lua values.",
            signature: "json.decode(text, {null = json.null, drop_null = false, allow_nan = false}) -> value",
            details: """
            Objects become tables with string keys (a duplicate key: the last one wins, as in
            Python), arrays become sequences 1..n; both carry a marker metatable so that
            json.encode writes them back as the same kind, empty ones included. null becomes
            `null` (default json.null; e.g. null = data.NA); drop_null = true leaves null members
            out of objects and leaves holes in arrays (so # may not count them). Numbers written
            without fraction or exponent that fit 64 bits become Lua integers; others (and larger
            integers) become floats, read exactly as the nearest double. \\u escapes, surrogate
            pairs included, become UTF-8. The text must be strict JSON (RFC 8259): valid UTF-8,
            no trailing commas, no comments, no lone surrogates, nesting at most 200 deep;
            allow_nan = true also accepts the NaN, Infinity and -Infinity Python writes.
            """,
            returns: "the value (a table, string, number, boolean or json.null)",
            errors: "invalid JSON, named by line and column; invalid UTF-8; nesting deeper than 200.",
            example: "local v = json.decode('{\"name\": \"Ann\", \"scores\": [1, 2.5, null], \"meta\": {}}')\nprint(v.name, v.scores[1], math.type(v.scores[1]), v.scores[2], v.scores[3] == json.null)\nprint(json.encode(v.meta))\nprint(json.decode('[1, null]', {drop_null = true})[2])")) { c in
            try decode(c)
        }

        m.function("encode", Doc(
            "Writes a Lua value as JSON text.",
            signature: "json.encode(value, {indent = nil, sort_keys = true, ascii = false, allow_nan = false}) -> string",
            details: """
            A table is an array when it is marked by json.array (or came from json.decode as
            one), or when its keys are exactly 1..n; an object when it is marked by json.object
            (or decoded as one), or when all its keys are strings. An unmarked empty table is
            written as [] (mark it with json.object for {}). Other keys (a hole in 1..n, a
            boolean or float key, integer keys mixed with names) are an error naming the key
            and its path. json.null and data.NA are written as null. Integers are written as
            integers; floats as the shortest text that reads back to the same double (0.1 ->
            0.1, 3.0 -> 3.0, 1e-07), NaN and infinities are an error unless allow_nan = true
            (then NaN, Infinity, -Infinity as Python writes them). Strings must be valid UTF-8;
            ascii = true escapes non-ASCII characters as \\uXXXX. Keys are sorted (code point
            order) by default, since Lua tables have no order and their traversal order changes
            between runs; sort_keys = false writes them in traversal order. indent = n writes one
            member per line, n spaces per level, as Python's json.dumps(indent = n); without it
            the text is compact (no spaces). Cycles and nesting deeper than 200 are errors.
            """,
            returns: "the JSON text",
            errors: "a value JSON cannot hold (function, userdata, NaN, a key that is not a string), a cycle, invalid UTF-8, named by path ($.a[2].b, indices 1-based).",
            example: "print(json.encode({name = \"Ann\", tags = {\"a\", \"b\"}, score = 0.1, n = 3}))\nprint(json.encode({list = json.array({}), map = json.object({})}, {indent = 2}))\nprint(pcall(json.encode, {x = 0/0}))")) { c in
            try encode(c)
        }

        m.function("array", Doc(
            "Marks a table to be written as a JSON array (needed for an empty one).",
            signature: "json.array([t]) -> t",
            details: "Sets the array marker metatable on `t` (a new empty table when no argument) and returns it.\njson.encode then writes it as an array, and fails if it has keys other than 1..n. Decoded\narrays carry the same marker. A table that already has another metatable is an error.",
            returns: "the table",
            errors: "`t` is not a table, or has another metatable.",
            example: "print(json.encode({tags = json.array()}))\nprint(json.encode(json.array({1, 2})))")) { c in
            try mark(c, key: arrayKey, kind: "array")
        }

        m.function("object", Doc(
            "Marks a table to be written as a JSON object (needed for an empty one).",
            signature: "json.object([t]) -> t",
            details: "Sets the object marker metatable on `t` (a new empty table when no argument) and returns\nit. json.encode then writes it as an object, and fails if it has keys that are not strings.\nDecoded objects carry the same marker. A table that already has another metatable is an error.",
            returns: "the table",
            errors: "`t` is not a table, or has another metatable.",
            example: "print(json.encode({meta = json.object()}))\nprint(json.encode(json.object({a = 1})))")) { c in
            try mark(c, key: objectKey, kind: "object")
        }
    }

    /// json.null (a unique read-only sentinel printing as json.null) and the two marker
    /// metatables, kept in the registry.
    static func installSentinels(_ vm: LuaVM) {
        let L = vm.L
        lp_newtable(L)
        lp_newtable(L)
        vm.push("json.null")
        lua_setfield(L, -2, "__name")
        vm.pushFunction("json.null") { c in
            c.push("json.null")
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        vm.pushFunction("json.null") { _ in
            throw LuaError("json.null is read-only (it marks a JSON null)")
        }
        lua_setfield(L, -2, "__newindex")
        vm.push("json.null")
        lua_setfield(L, -2, "__metatable")
        lua_setmetatable(L, -2)
        lua_pushvalue(L, -1)
        lua_setfield(L, lp_registryindex(), nullKey)
        lua_getglobal(L, "json")
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "null")
        lp_pop(L, 2)
        for (key, kind) in [(arrayKey, "array"), (objectKey, "object")] {
            lp_newtable(L)
            vm.push(kind)
            lua_setfield(L, -2, "__jsontype")
            lua_setfield(L, lp_registryindex(), key)
        }
    }

    /// Grows the Lua stack before a nested push, or fails clearly.
    static func ensureStack(_ L: OpaquePointer, _ n: Int32) throws {
        if lua_checkstack(L, n) == 0 { throw LuaError("the Lua stack cannot grow (nested too deeply)") }
    }

    static func mark(_ c: LuaCall, key: String, kind: String) throws -> Int32 {
        let L = c.L
        if c.isNoneOrNil(1) {
            lp_newtable(L)
        } else {
            guard c.type(1) == LUA_TTABLE else { throw c.argError(1, "t", expected: "table") }
            lua_settop(L, 1)
        }
        lua_getfield(L, lp_registryindex(), key)
        if lua_getmetatable(L, 1) != 0 {
            let same = lua_rawequal(L, -1, -2) != 0
            lp_pop(L, 1)
            if !same {
                lp_pop(L, 1)
                throw c.argError(1, "t", "the table already has a metatable; json.\(kind) would replace it")
            }
        }
        lua_setmetatable(L, 1)
        lua_settop(L, 1)
        return 1
    }

    // MARK: - Decoding

    static func decode(_ c: LuaCall) throws -> Int32 {
        let L = c.L
        guard c.type(1) == LUA_TSTRING else { throw c.argError(1, "text", expected: "string (JSON text)") }
        let o = try c.options(2, allowed: ["null", "drop_null", "allow_nan"])
        let drop = try o.bool("drop_null", false)
        let allowNaN = try o.bool("allow_nan", false)
        if drop && o.has("null") { throw LuaError("bad option 'drop_null' (give null = value or drop_null = true, not both)") }
        // the null value sits on the stack for the whole walk
        if o.push("null") == LUA_TNIL {
            lp_pop(L, 1)
            lua_getfield(L, lp_registryindex(), nullKey)
        }
        let nullIdx: Int32? = drop ? nil : lua_gettop(L)
        lua_getfield(L, lp_registryindex(), arrayKey)
        let arrayMeta = lua_gettop(L)
        lua_getfield(L, lp_registryindex(), objectKey)
        let objectMeta = lua_gettop(L)
        var len = 0
        guard let p = lp_tostring(L, 1, &len) else { throw c.argError(1, "text", expected: "string (JSON text)") }
        let bytes = UnsafeRawBufferPointer(start: p, count: len)
        let value: JSONValue
        do {
            value = try JSONValue.parseDocument(bytes, maxDepth: maxDepth, allowNonFinite: allowNaN)
        } catch {
            let (line, col) = lineColumn(bytes, error.offset)
            throw LuaError("invalid JSON at line \(line), column \(col): \(error.message)")
        }
        let pusher = Pusher(c: c, nullIdx: nullIdx, arrayMeta: arrayMeta, objectMeta: objectMeta)
        try pusher.push(value)
        return 1
    }

    /// 1-based line and column (in characters) of a byte offset.
    static func lineColumn(_ b: UnsafeRawBufferPointer, _ offset: Int) -> (Int, Int) {
        var line = 1, col = 1
        for i in 0..<min(offset, b.count) {
            if b[i] == 10 { line += 1; col = 1 } else if b[i] & 0xC0 != 0x80 { col += 1 }
        }
        return (line, col)
    }

    /// Pushes decoded values, tables with their marker metatables.
    struct Pusher {
        let c: LuaCall
        let nullIdx: Int32?
        let arrayMeta: Int32
        let objectMeta: Int32

        func push(_ v: JSONValue) throws {
            let L = c.L
            switch v {
            case .null:
                if let n = nullIdx { lua_pushvalue(L, n) } else { lua_pushnil(L) }
            case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
            case .number(let s): JSONModule.pushNumber(L, s)
            case .string(let s): c.push(s)
            case .array(let a):
                try ensureStack(L, 3)
                lua_createtable(L, Int32(clamping: a.count), 0)
                for (k, e) in a.enumerated() {
                    if case .null = e, nullIdx == nil { continue }
                    try push(e)
                    lua_rawseti(L, -2, lua_Integer(k + 1))
                }
                lua_pushvalue(L, arrayMeta)
                lua_setmetatable(L, -2)
            case .object(let m):
                try ensureStack(L, 4)
                lua_createtable(L, 0, Int32(clamping: m.count))
                for (k, e) in m {
                    c.push(k)
                    // a dropped null still clears an earlier duplicate: the last member wins
                    if case .null = e, nullIdx == nil { lua_pushnil(L) } else { try push(e) }
                    lua_rawset(L, -3)
                }
                lua_pushvalue(L, objectMeta)
                lua_setmetatable(L, -2)
            }
        }
    }

    /// Integers that fit 64 bits as Lua integers, everything else as the nearest double.
    static func pushNumber(_ L: OpaquePointer, _ s: String) {
        switch s {
        case "NaN": lua_pushnumber(L, .nan); return
        case "Infinity": lua_pushnumber(L, .infinity); return
        case "-Infinity": lua_pushnumber(L, -.infinity); return
        default: break
        }
        if !s.utf8.contains(where: { $0 == 46 || $0 == 101 || $0 == 69 }), let i = Int64(s) {
            lua_pushinteger(L, lua_Integer(i))
        } else {
            lua_pushnumber(L, Double(s) ?? .nan)
        }
    }

    // MARK: - Encoding

    static func encode(_ c: LuaCall) throws -> Int32 {
        let L = c.L
        let o = try c.options(2, allowed: ["indent", "sort_keys", "ascii", "allow_nan"])
        let indent = try o.int("indent")
        if let n = indent, n < 0 || n > 64 { throw LuaError("bad option 'indent' (expected an integer from 0 to 64, got \(n))") }
        let sortKeys = try o.bool("sort_keys", true)
        let ascii = try o.bool("ascii", false)
        let allowNaN = try o.bool("allow_nan", false)
        lua_settop(L, 1)
        lua_getfield(L, lp_registryindex(), nullKey)
        DataLua.pushNA(L)
        lua_getfield(L, lp_registryindex(), arrayKey)
        lua_getfield(L, lp_registryindex(), objectKey)
        var e = Encoder(c: c, allowNaN: allowNaN, nullIdx: 2, naIdx: 3, arrayMeta: 4, objectMeta: 5)
        let v = try e.value(1, depth: 0)
        let out = v.text(indent: indent, sortKeys: sortKeys, asciiOnly: ascii)
        out.withUnsafeBufferPointer { b in
            _ = b.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
        return 1
    }

    /// Lua values -> JSONValue, with the path of the value being read for error messages.
    struct Encoder {
        enum Step { case key(String), index(Int) }

        let c: LuaCall
        let allowNaN: Bool
        let nullIdx: Int32
        let naIdx: Int32
        let arrayMeta: Int32
        let objectMeta: Int32
        var path: [Step] = []
        var open: Set<UnsafeRawPointer> = []

        init(c: LuaCall, allowNaN: Bool, nullIdx: Int32, naIdx: Int32, arrayMeta: Int32, objectMeta: Int32) {
            self.c = c
            self.allowNaN = allowNaN
            self.nullIdx = nullIdx
            self.naIdx = naIdx
            self.arrayMeta = arrayMeta
            self.objectMeta = objectMeta
        }

        /// `$.a[2]["odd key"]` (indices as Lua's, 1-based).
        var location: String {
            var s = "$"
            // a very deep path shows its first and last steps
            let shown = path.count > 12 ? Array(path.prefix(6)) + [nil] + Array(path.suffix(4)) : path.map { Optional($0) }
            for step in shown {
                guard let st = step else { s += "[...\(path.count - 10) more...]"; continue }
                switch st {
                case .index(let i): s += "[\(i)]"
                case .key(let k):
                    let ident = !k.isEmpty && k.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
                        && !(k.utf8.first! >= 48 && k.utf8.first! <= 57)
                    s += ident ? ".\(k)" : "[\(JSONL.jsonString(k))]"
                }
            }
            return s
        }

        mutating func value(_ idx: Int32, depth: Int) throws -> JSONValue {
            let L = c.L
            switch lua_type(L, idx) {
            case LUA_TNIL, LUA_TNONE: return .null
            case LUA_TBOOLEAN: return .bool(lua_toboolean(L, idx) != 0)
            case LUA_TNUMBER:
                if lua_isinteger(L, idx) != 0 { return .number(String(lua_tointegerx(L, idx, nil))) }
                return try number(lua_tonumberx(L, idx, nil))
            case LUA_TSTRING: return .string(try string(idx, what: "the string"))
            case LUA_TTABLE: return try table(lua_absindex(L, idx), depth: depth)
            default:
                throw LuaError("\(article(c.typeName(idx))) at \(location) cannot be written as JSON")
            }
        }

        func article(_ t: String) -> String {
            t.first.map { "aeiou".contains($0) } == true ? "an \(t)" : "a \(t)"
        }

        func number(_ x: Double) throws -> JSONValue {
            if x.isFinite { return .number("\(x)") }
            guard allowNaN else {
                let name = x.isNaN ? "NaN" : (x > 0 ? "inf" : "-inf")
                throw LuaError("\(name) at \(location) is not valid JSON (pass allow_nan = true to write NaN, Infinity and -Infinity as Python does)")
            }
            return .number(x.isNaN ? "NaN" : (x > 0 ? "Infinity" : "-Infinity"))
        }

        func string(_ idx: Int32, what: String) throws -> String {
            var len = 0
            guard let p = lp_tostring(c.L, idx, &len) else { return "" }
            let b = UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self)
            if let bad = TextBytes.invalidUTF8(b, len, limit: 1).first {
                throw LuaError("\(what) at \(location) is not valid UTF-8 (byte 0x\(String(b[bad], radix: 16, uppercase: true)) at offset \(bad + 1))")
            }
            return String(decoding: UnsafeBufferPointer(start: b, count: len), as: UTF8.self)
        }

        mutating func table(_ t: Int32, depth: Int) throws -> JSONValue {
            let L = c.L
            if lua_rawequal(L, t, nullIdx) != 0 || lua_rawequal(L, t, naIdx) != 0 { return .null }
            guard let ptr = lua_topointer(L, t) else { return .null }
            if open.contains(ptr) { throw LuaError("a cycle at \(location): the table contains itself") }
            if depth >= JSONModule.maxDepth { throw LuaError("nested deeper than \(JSONModule.maxDepth) levels at \(location)") }
            try JSONModule.ensureStack(L, 4)
            open.insert(ptr)
            defer { open.remove(ptr) }
            var marked = ""
            if lua_getmetatable(L, t) != 0 {
                if lua_rawequal(L, -1, arrayMeta) != 0 { marked = "array" } else if lua_rawequal(L, -1, objectMeta) != 0 { marked = "object" }
                lp_pop(L, 1)
            }
            // classify the keys
            var count = 0, ints = 0, maxInt = 0, strings = 0
            var odd: String? = nil      // the first key that is neither a string nor a positive integer
            var firstString: String? = nil
            var firstInt: Int? = nil
            lua_pushnil(L)
            while lua_next(L, t) != 0 {
                count += 1
                let kt = lua_type(L, -2)
                if kt == LUA_TSTRING {
                    strings += 1
                    if firstString == nil { firstString = c.string(-2) }
                } else if kt == LUA_TNUMBER, lua_isinteger(L, -2) != 0, case let v = lua_tointegerx(L, -2, nil), v > 0 {
                    ints += 1
                    maxInt = max(maxInt, Int(clamping: v))
                    if firstInt == nil { firstInt = Int(v) }
                } else if odd == nil {
                    odd = c.describe(-2)
                }
                lp_pop(L, 1)
            }
            let isSequence = ints == count && maxInt == count
            if let odd {
                throw LuaError("key \(odd) at \(location) cannot be written as JSON (object keys are strings; an array has keys 1..n)")
            }
            if marked == "array" || (marked.isEmpty && (count == 0 || isSequence)) {
                guard isSequence else {
                    if let s = firstString { throw LuaError("the array at \(location) has the key \(JSONL.jsonString(s)) (an array has only keys 1..n)") }
                    throw LuaError("the array at \(location) has a hole: \(count) values but key \(maxInt) (an array has keys 1..n without holes)")
                }
                return .array(try items(t, count, depth: depth))
            }
            if strings != count {
                if marked == "object" {
                    throw LuaError("the object at \(location) has the key \(firstInt ?? 0) (object keys are strings)")
                }
                if strings > 0 {
                    throw LuaError("the table at \(location) mixes keys 1..n with names (key \(firstInt ?? 0) and key \(JSONL.jsonString(firstString ?? ""))); it must be an array or an object")
                }
                throw LuaError("the table at \(location) has integer keys with holes (\(count) values, largest key \(maxInt)); an array needs keys 1..n and object keys are strings")
            }
            return .object(try members(t, depth: depth))
        }

        mutating func items(_ t: Int32, _ n: Int, depth: Int) throws -> [JSONValue] {
            let L = c.L
            var out: [JSONValue] = []
            out.reserveCapacity(n)
            for k in 0..<n {
                lua_rawgeti(L, t, lua_Integer(k + 1))
                path.append(.index(k + 1))
                out.append(try value(-1, depth: depth + 1))
                path.removeLast()
                lp_pop(L, 1)
            }
            return out
        }

        mutating func members(_ t: Int32, depth: Int) throws -> [(String, JSONValue)] {
            let L = c.L
            var out: [(String, JSONValue)] = []
            lua_pushnil(L)
            while lua_next(L, t) != 0 {
                let k = try string(-2, what: "a key")
                path.append(.key(k))
                out.append((k, try value(-1, depth: depth + 1)))
                path.removeLast()
                lp_pop(L, 1)
            }
            return out
        }
    }
}
