import CLua
import CLuaShim

/// Formats Lua values readably, the way the prompt prints them: tables nested and aligned,
/// cycle-safe and truncated; objects through `__tostring`; strings raw at the top level and
/// quoted inside tables. Uses only raw access, so printing never runs user metamethods except
/// `__tostring`/`__name` (under pcall).
public enum Printer {
    public struct Limits {
        public var maxItems = 40        // entries shown per table before "... N more"
        public var maxDepth = 4         // nested tables deeper than this print as {...}
        public var lineWidth = 80       // a table that fits is printed on one line
        public var maxString = 200      // strings inside tables are cut after this many chars
        public init() {}
    }

    public static func format(L: OpaquePointer, index: Int32, topLevel: Bool = true,
                              limits: Limits = Limits()) -> String {
        var p = State(L: L, limits: limits)
        let abs = lua_absindex(L, index)
        return p.value(abs, depth: 0, indent: 0, topLevel: topLevel)
    }

    /// A table's fields as the prompt shows them, without its own `__tostring` (which is how
    /// result records print themselves).
    public static func fields(L: OpaquePointer, index: Int32, limits: Limits = Limits()) -> String {
        var p = State(L: L, limits: limits)
        return p.table(lua_absindex(L, index), depth: 0, indent: 0)
    }

    struct State {
        let L: OpaquePointer
        let limits: Limits
        var path: [UnsafeRawPointer] = []

        func str(_ i: Int32) -> String {
            var len = 0
            guard let p = lp_tostring(L, i, &len) else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
        }

        func quote(_ s: String, cut: Bool) -> String {
            var out = "\""
            var n = 0
            for ch in s.unicodeScalars {
                if cut && n >= limits.maxString {
                    out += "...\" (\(s.count) chars)"
                    return out
                }
                n += 1
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if ch.value < 32 || ch.value == 127 { out += "\\\(ch.value)" } else { out.unicodeScalars.append(ch) }
                }
            }
            return out + "\""
        }

        mutating func value(_ i: Int32, depth: Int, indent: Int, topLevel: Bool) -> String {
            let t = lua_type(L, i)
            switch t {
            case LUA_TNIL, LUA_TNONE: return "nil"
            case LUA_TBOOLEAN: return lua_toboolean(L, i) != 0 ? "true" : "false"
            case LUA_TNUMBER:
                lua_pushvalue(L, i)
                let s = str(-1)  // lua_tolstring formats numbers exactly as Lua does
                lp_pop(L, 1)
                return s
            case LUA_TSTRING:
                return topLevel ? str(i) : quote(str(i), cut: true)
            case LUA_TTABLE:
                if hasMeta(i, "__tostring") { return tostring(i, indent: indent) }
                return table(i, depth: depth, indent: indent)
            case LUA_TFUNCTION:
                if let name = docName(i) { return "function: \(name)" }
                return tostring(i, indent: indent)
            default:
                return tostring(i, indent: indent)
            }
        }

        func hasMeta(_ i: Int32, _ key: String) -> Bool {
            guard lua_getmetatable(L, i) != 0 else { return false }
            LuaCall(L: L).push(key)
            let t = lua_rawget(L, -2)
            lp_pop(L, 2)
            return t != LUA_TNIL
        }

        func docName(_ i: Int32) -> String? {
            lua_getfield(L, lp_registryindex(), "lathe.docnames")
            guard lua_type(L, -1) == LUA_TTABLE else { lp_pop(L, 1); return nil }
            lua_pushvalue(L, i)
            lua_rawget(L, -2)
            defer { lp_pop(L, 2) }
            return lua_type(L, -1) == LUA_TSTRING ? str(-1) : nil
        }

        func tostring(_ i: Int32, indent: Int) -> String {
            var len = 0
            let top = lua_gettop(L)
            defer { lua_settop(L, top) }
            guard let p = lp_safe_tolstring(L, i, &len) else {
                return "<__tostring failed: \(str(-1))>"
            }
            let s = String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
            if indent > 0 && s.contains("\n") {
                return s.replacingOccurrences(of: "\n", with: "\n" + String(repeating: " ", count: indent))
            }
            return s
        }

        static func isIdentifier(_ s: String) -> Bool {
            guard let f = s.unicodeScalars.first, f == "_" || (f.isASCII && f.properties.isAlphabetic) else { return false }
            let kw: Set<String> = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]
            if kw.contains(s) { return false }
            return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
        }

        mutating func table(_ i: Int32, depth: Int, indent: Int) -> String {
            guard let ptr = lua_topointer(L, i) else { return "{}" }
            if path.contains(ptr) { return "<cycle>" }
            if depth >= limits.maxDepth || lua_checkstack(L, 4) == 0 { return "{...}" }
            path.append(ptr)
            defer { path.removeLast() }

            // the sequence part 1..n
            let n = Int(lua_rawlen(L, i))
            var seq: [String] = []
            var shownSeq = 0
            for k in 0..<n {
                if shownSeq >= limits.maxItems { break }
                lua_rawgeti(L, i, lua_Integer(k + 1))
                seq.append(value(lua_gettop(L), depth: depth + 1, indent: indent + 2, topLevel: false))
                lp_pop(L, 1)
                shownSeq += 1
            }
            // the other keys
            struct Entry { var sortKey: (Int, Double, String); var key: String; var val: String }
            var rest: [Entry] = []
            var restTotal = 0
            lua_pushnil(L)
            while lua_next(L, i) != 0 {
                let kt = lua_type(L, -2)
                var isSeq = false
                if kt == LUA_TNUMBER && lua_isinteger(L, -2) != 0 {
                    let k = lua_tointegerx(L, -2, nil)
                    if k >= 1 && k <= n { isSeq = true }
                }
                if !isSeq {
                    restTotal += 1
                    if rest.count < limits.maxItems * 4 {
                        let keyStr: String
                        let sk: (Int, Double, String)
                        switch kt {
                        case LUA_TSTRING:
                            let s = str(-2)
                            keyStr = State.isIdentifier(s) ? s : "[" + quote(s, cut: true) + "]"
                            sk = (1, 0, s)
                        case LUA_TNUMBER:
                            lua_pushvalue(L, -2)
                            let s = str(-1)
                            lp_pop(L, 1)
                            keyStr = "[" + s + "]"
                            sk = (0, lua_tonumberx(L, -2, nil), "")
                        case LUA_TBOOLEAN:
                            keyStr = lua_toboolean(L, -2) != 0 ? "[true]" : "[false]"
                            sk = (2, 0, keyStr)
                        default:
                            let s = tostring(lua_gettop(L) - 1, indent: 0)
                            keyStr = "[" + s + "]"
                            sk = (3, 0, s)
                        }
                        let v = value(lua_gettop(L), depth: depth + 1, indent: indent + 2, topLevel: false)
                        rest.append(Entry(sortKey: sk, key: keyStr, val: v))
                    }
                }
                lp_pop(L, 1)
            }
            rest.sort { a, b in
                if a.sortKey.0 != b.sortKey.0 { return a.sortKey.0 < b.sortKey.0 }
                if a.sortKey.1 != b.sortKey.1 { return a.sortKey.1 < b.sortKey.1 }
                return a.sortKey.2 < b.sortKey.2
            }
            let restShown = Array(rest.prefix(limits.maxItems))
            let hidden = (n - shownSeq) + (restTotal - restShown.count)

            if seq.isEmpty && restShown.isEmpty { return hidden > 0 ? "{... \(hidden) more}" : "{}" }

            // one line when it fits and nothing inside is multi-line
            var items = seq + restShown.map { "\($0.key) = \($0.val)" }
            if hidden > 0 { items.append("... (\(hidden) more)") }
            let oneLine = "{" + items.joined(separator: ", ") + "}"
            if !oneLine.contains("\n") && oneLine.count + indent <= limits.lineWidth {
                return oneLine
            }
            // multi-line, keys aligned
            let pad = String(repeating: " ", count: indent + 2)
            var lines: [String] = []
            if !seq.isEmpty {
                // pack short sequence items several per line
                var line = ""
                for s in seq {
                    if s.contains("\n") || line.count + s.count + 2 + indent + 2 > limits.lineWidth {
                        if !line.isEmpty { lines.append(pad + line) }
                        line = ""
                    }
                    line += s + ","
                    if s.contains("\n") { lines.append(pad + line); line = "" } else { line += " " }
                }
                if !line.isEmpty { lines.append(pad + String(line.dropLast())) }
            }
            let kw = restShown.map { $0.key.count }.max() ?? 0
            for e in restShown {
                lines.append(pad + e.key.padding(toLength: kw, withPad: " ", startingAt: 0) + " = " + e.val + ",")
            }
            if hidden > 0 { lines.append(pad + "... (\(hidden) more)") }
            return "{\n" + lines.joined(separator: "\n") + "\n" + String(repeating: " ", count: indent) + "}"
        }
    }
}
