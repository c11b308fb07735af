import CLua
import CLuaShim
import LatheCore

/// The `json` module: JSON text <-> Lua values, on LatheCore's `JSONValue` parser and writer.
/// Arrays and objects are told apart by marker metatables (decoded tables carry them; plain
/// tables are classified by their keys).
enum JSONFunctions: LuaInstaller {
    static let nullKey = "lathe.json.null"
    static let arrayKey = "lathe.json.array"
    static let objectKey = "lathe.json.object"
    /// Deepest nesting decoded or encoded.
    static let maxDepth = 200

    static func install(_ vm: LuaVM) {
        vm.module("json", summary: "JSON text to Lua values and back: json.decode, json.encode, json.null, json.array, json.object.",
                  details: """
            JSON arrays become Lua sequences and objects tables with string keys; decoded tables
            carry a marker (see json.array, json.object) so they encode back as the same kind,
            empty ones included. null becomes json.null. Integers that fit 64 bits stay Lua
            integers; floats are written as the shortest text that reads back to the same number.
            """)
            .add([decode, encode, array, object])
        installSentinels(vm)
    }

    /// json.null (a unique read-only table printing as json.null) and the two marker
    /// metatables, kept in the registry.
    static func installSentinels(_ vm: LuaVM) {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard vm.load(sentinels, chunkname: "=(json)").ok else { return }
        lua_pushvalue(L, lp_registryindex())
        lua_getglobal(L, "json")
        _ = lp_pcall(L, 2, 0, 0)
    }
    static let sentinels = """
        local reg, json = ...
        local error = error
        json.null = setmetatable({}, {__name = "json.null", __metatable = "json.null", __tostring = function() return "json.null" end,
          __newindex = function() error("json.null is read-only (it marks a JSON null)", 2) end})
        reg["\(nullKey)"], reg["\(arrayKey)"], reg["\(objectKey)"] = json.null, {__jsontype = "array"}, {__jsontype = "object"}
        """

    /// Pushes the registry values `keys` and returns the stack index of the first.
    static func pushRegistry(_ L: OpaquePointer, _ keys: [String]) -> Int32 {
        for k in keys { lua_getfield(L, lp_registryindex(), k) }
        return lua_gettop(L) - Int32(keys.count) + 1
    }

    static let decode = LuaFunc(
        "decode", "Parses JSON text into Lua values.",
        params: [LuaParam("text", .string, "the JSON text")],
        options: [
            LuaOpt("null", .any, .computed("json.null"), "the value JSON null becomes (e.g. data.NA)"),
            LuaOpt("drop_null", .boolean, .bool(false), "leave null members out of objects and holes in arrays (so # may not count them)"),
            LuaOpt("allow_nan", .boolean, .bool(false), "also accept the NaN, Infinity and -Infinity Python writes"),
        ],
        returns: "value: a table, string, number, boolean or json.null",
        details: """
            Objects become tables with string keys (a duplicate key: the last one wins, as in Python),
            arrays become sequences 1..n; both carry a marker metatable so that json.encode writes them
            back as the same kind, empty ones included. Numbers written without fraction or exponent
            that fit 64 bits become Lua integers; others (and larger integers) become floats, read
            exactly as the nearest double. \\u escapes, surrogate pairs included, become UTF-8. The text
            must be strict JSON (RFC 8259): valid UTF-8, no trailing commas, no comments, no lone
            surrogates, nesting at most 200 deep.
            """,
        errors: "invalid JSON, named by line and column; invalid UTF-8; nesting deeper than 200; both null and drop_null.",
        example: "local v = json.decode('{\"name\": \"Ann\", \"scores\": [1, 2.5, null], \"meta\": {}}')\nprint(v.name, v.scores[1], math.type(v.scores[1]), v.scores[2], v.scores[3] == json.null)\nprint(json.encode(v.meta))\nprint(json.decode('[1, null]', {drop_null = true})[2])"
    ) { c in
        let o = try c.opts()
        let L = c.L
        let drop = try o.bool("drop_null"), allowNaN = try o.bool("allow_nan")
        if try drop && o.has("null") { throw LuaError("bad option 'drop_null' (give null = value or drop_null = true, not both)") }
        // the null value and the markers sit on the stack for the whole walk
        if try o.push("null") == LUA_TNIL { lua_getfield(L, lp_registryindex(), nullKey) }
        let null = lua_gettop(L), markers = pushRegistry(L, [arrayKey, objectKey])
        var len = 0
        let bytes = UnsafeRawBufferPointer(start: lp_tostring(L, 1, &len), count: len)
        let value = try JSONValue.parseReportingLines(bytes, maxDepth: maxDepth, allowNonFinite: allowNaN)
        try JSONToLua(c: c, null: drop ? nil : null, arrayMeta: markers, objectMeta: markers + 1).push(value)
        return 1
    }

    static let encode = LuaFunc(
        "encode", "Writes a Lua value as JSON text.",
        params: [LuaParam("value", .any, optional: true, "a table, string, number, boolean, nil, json.null or data.NA")],
        options: [
            LuaOpt("indent", .integer(0...64), .none, "one member per line, this many spaces per level (Python's json.dumps(indent = n)); without it compact"),
            LuaOpt("sort_keys", .boolean, .bool(true), "write keys in code point order (false: Lua's traversal order, which changes between runs)"),
            LuaOpt("ascii", .boolean, .bool(false), "escape non-ASCII characters as \\uXXXX"),
            LuaOpt("allow_nan", .boolean, .bool(false), "write NaN and infinities as Python does (NaN, Infinity, -Infinity) instead of failing"),
        ],
        returns: "string: the JSON text",
        details: """
            A table is an array when it is marked by json.array (or came from json.decode as one), or when
            its keys are exactly 1..n; an object when it is marked by json.object (or decoded as one), or
            when all its keys are strings. An unmarked empty table is written as [] (mark it with
            json.object for {}). Other keys (a hole in 1..n, a boolean or float key, integer keys mixed
            with names) are an error naming the key and its path. json.null and data.NA are written as
            null. Floats are written as the shortest text that reads back to the same double (0.1 -> 0.1,
            3.0 -> 3.0, 1e-07). Strings must be valid UTF-8. Cycles and nesting deeper than 200 are errors.
            """,
        errors: "a value JSON cannot hold (function, userdata, NaN, a key that is not a string), a cycle, invalid UTF-8, named by path ($.a[2].b, indices 1-based).",
        example: "print(json.encode({name = \"Ann\", tags = {\"a\", \"b\"}, score = 0.1, n = 3}))\nprint(json.encode({list = json.array({}), map = json.object({})}, {indent = 2}))\nprint(pcall(json.encode, {x = 0/0}))"
    ) { c in
        let o = try c.opts()
        let indent = try o.intIfGiven("indent"), sortKeys = try o.bool("sort_keys"), ascii = try o.bool("ascii"), allowNaN = try o.bool("allow_nan")
        lua_settop(c.L, 1)
        var w = LuaToJSON(c: c, allowNaN: allowNaN)
        return try c.ret(.string(String(decoding: try w.value(1, depth: 0).text(indent: indent, sortKeys: sortKeys, asciiOnly: ascii), as: UTF8.self)))
    }

    static func marker(_ kind: String, _ key: String, _ what: String) -> LuaFunc {
        LuaFunc(
            kind, "Marks a table to be written as a JSON \(kind) (needed for an empty one).",
            params: [LuaParam("t", .table, optional: true, "the table (a new empty one when absent)")],
            returns: "t: the table, marked",
            details: "Sets the \(kind) marker metatable on `t` and returns it. json.encode then writes it as \(what).\nDecoded \(kind)s carry the same marker.",
            errors: "`t` has another metatable.",
            example: "print(json.encode({x = json.\(kind)()}))\nprint(json.encode(json.\(kind)(\(kind == "array" ? "{1, 2}" : "{a = 1}"))))"
        ) { c in
            let L = c.L
            if c.isNoneOrNil(1) { lua_settop(L, 0); lp_newtable(L) }
            lua_settop(L, 1)
            lua_getfield(L, lp_registryindex(), key)
            if lua_getmetatable(L, 1) != 0, lua_rawequal(L, 2, 3) == 0 {
                throw c.argError(1, "t", "the table already has a metatable; json.\(kind) would replace it")
            }
            lua_settop(L, 2)
            lua_setmetatable(L, 1)
            return 1
        }
    }
    static let array = marker("array", arrayKey, "an array, and fails if it has keys other than 1..n")
    static let object = marker("object", objectKey, "an object, and fails if it has keys that are not strings")
}
