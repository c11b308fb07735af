import CLua
import CLuaShim
import Foundation
import LatheLua

/// Tab completion at the prompt: globals, table fields and methods (`string.fo`, `t:up`),
/// shell commands (`:sa`), and file paths inside string literals or after `:load`/`:save`.
/// Reads Lua tables with raw access only, so completing never runs user code.
public struct Completer {
    let vm: LuaVM
    public init(vm: LuaVM) { self.vm = vm }

    public static let magics = [":help", ":save", ":save!", ":load", ":history", ":time", ":reset", ":who", ":quit"]
    static let keywords = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
                           "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]

    /// Candidates that replace the bytes [start, end) of `line`.
    public func complete(line: String, start: Int, end: Int) -> [String] {
        let bytes = Array(line.utf8)
        let s = max(0, min(start, bytes.count)), e = max(s, min(end, bytes.count))
        let text = String(decoding: bytes[s..<e], as: UTF8.self)
        let before = String(decoding: bytes[0..<s], as: UTF8.self)

        // shell commands
        if before.isEmpty && text.hasPrefix(":") {
            return Completer.magics.filter { $0.hasPrefix(text) }
        }
        let trimmedBefore = before.trimmingCharacters(in: .whitespaces)
        if [":load", ":save", ":save!"].contains(trimmedBefore) {
            return files(text)
        }
        if insideString(before) {
            return files(text)
        }
        // stdlib/lathe's Lua conveniences load on first use: list them too (Lathe's code only)
        if text.contains(".") { try? vm.loadConveniences() }
        return lua(text)
    }

    /// True when `before` ends inside an unterminated '...' or "..." literal.
    func insideString(_ before: String) -> Bool {
        var quote: Character? = nil
        var escaped = false
        for ch in before {
            if let q = quote {
                if escaped { escaped = false; continue }
                if ch == "\\" { escaped = true; continue }
                if ch == q { quote = nil }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == "-" {
                continue
            }
        }
        return quote != nil
    }

    // MARK: Files

    func files(_ text: String) -> [String] {
        let fm = FileManager.default
        var dirPart = ""
        var namePrefix = text
        if let slash = text.lastIndex(of: "/") {
            dirPart = String(text[...slash])
            namePrefix = String(text[text.index(after: slash)...])
        }
        var dir = dirPart.isEmpty ? "." : dirPart
        if dir.hasPrefix("~") {
            dir = NSString(string: dir).expandingTildeInPath
        }
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [String] = []
        for n in names.sorted() where n.hasPrefix(namePrefix) {
            if n.hasPrefix(".") && !namePrefix.hasPrefix(".") { continue }
            var isDir: ObjCBool = false
            let full = (dir as NSString).appendingPathComponent(n)
            _ = fm.fileExists(atPath: full, isDirectory: &isDir)
            out.append(dirPart + n + (isDir.boolValue ? "/" : ""))
        }
        return out
    }

    // MARK: Lua names

    static func isIdentChar(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }

    func lua(_ text: String) -> [String] {
        // the trailing name chain, e.g. "x+string.fo" -> prefix "x+", chain "string.fo"
        let b = Array(text.utf8)
        var i = b.count
        while i > 0 && (Completer.isIdentChar(b[i - 1]) || b[i - 1] == 46 || b[i - 1] == 58) { i -= 1 }
        // a chain cannot start with a digit or a separator
        while i < b.count && !(Completer.isIdentChar(b[i]) && !(b[i] >= 48 && b[i] <= 57)) { i += 1 }
        let prefix = String(decoding: b[0..<i], as: UTF8.self)
        let chain = String(decoding: b[i...], as: UTF8.self)
        if chain.isEmpty && !text.isEmpty { return [] }

        // split into parts and the last separator
        var parts: [String] = []
        var seps: [Character] = []
        var cur = ""
        for ch in chain {
            if ch == "." || ch == ":" {
                parts.append(cur)
                seps.append(ch)
                cur = ""
            } else {
                cur.append(ch)
            }
        }
        let last = cur
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }

        if parts.isEmpty {
            var names = Set(vm.globalNames().filter { isIdentifier($0) })
            for k in Completer.keywords { names.insert(k) }
            return names.filter { $0.hasPrefix(last) }.sorted().map { prefix + $0 }
        }
        // a ':' may only be the last separator
        if seps.dropLast().contains(":") { return [] }
        lp_pushglobaltable(L)
        for p in parts {
            guard step(into: p) else { return [] }
        }
        let sep = seps.last!
        let base = prefix + parts.joined(separator: ".") + String(sep)
        var names = Set<String>()
        if sep == ":" {
            collectMethods(into: &names)
        } else {
            collectFields(into: &names)
        }
        return names.filter { $0.hasPrefix(last) && isIdentifier($0) }.sorted().map { base + $0 }
    }

    func isIdentifier(_ s: String) -> Bool {
        guard let f = s.utf8.first, Completer.isIdentChar(f), !(f >= 48 && f <= 57) else { return false }
        return s.utf8.allSatisfy(Completer.isIdentChar)
    }

    /// Replaces the value on top with value[key] (raw, following __index tables).
    func step(into key: String) -> Bool {
        let L = vm.L
        var hops = 0
        while hops < 8 {
            hops += 1
            if lua_type(L, -1) == LUA_TTABLE {
                vm.push(key)
                if lua_rawget(L, -2) != LUA_TNIL {
                    lp_remove(L, -2)
                    return true
                }
                lp_pop(L, 1)
            }
            // follow the metatable's __index when it is a table
            guard lua_getmetatable(L, -1) != 0 else { return false }
            vm.push("__index")
            let t = lua_rawget(L, -2)
            if t != LUA_TTABLE {
                lp_pop(L, 2)
                return false
            }
            lp_remove(L, -2)  // metatable
            lp_remove(L, -2)  // old value
        }
        return false
    }

    func keys(ofTableAt idx: Int32, functionsOnly: Bool, into names: inout Set<String>) {
        let L = vm.L
        let abs = lua_absindex(L, idx)
        lua_pushnil(L)
        while lua_next(L, abs) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let k = vm.string(at: -2) {
                if !functionsOnly || lua_type(L, -1) == LUA_TFUNCTION { names.insert(k) }
            }
            lp_pop(L, 1)
        }
    }

    func collectFields(into names: inout Set<String>) {
        let L = vm.L
        if lua_type(L, -1) == LUA_TTABLE {
            keys(ofTableAt: -1, functionsOnly: false, into: &names)
        }
        collectMeta(into: &names, functionsOnly: false)
    }

    func collectMethods(into names: inout Set<String>) {
        let L = vm.L
        if lua_type(L, -1) == LUA_TTABLE {
            keys(ofTableAt: -1, functionsOnly: true, into: &names)
        }
        if lua_type(L, -1) == LUA_TSTRING {
            lp_pop(L, 1)
            lp_pushglobaltable(L)
            _ = step(into: "string")
            keys(ofTableAt: -1, functionsOnly: true, into: &names)
            return
        }
        collectMeta(into: &names, functionsOnly: true)
    }

    /// Names reachable through the metatable: Lathe objects' methods and fields, or an
    /// __index table chain.
    func collectMeta(into names: inout Set<String>, functionsOnly: Bool) {
        let L = vm.L
        var hops = 0
        lua_pushvalue(L, -1)
        while hops < 8, lua_getmetatable(L, -1) != 0 {
            hops += 1
            vm.push("__methods")
            if lua_rawget(L, -2) == LUA_TTABLE { keys(ofTableAt: -1, functionsOnly: false, into: &names) }
            lp_pop(L, 1)
            if !functionsOnly {
                vm.push("__getters")
                if lua_rawget(L, -2) == LUA_TTABLE { keys(ofTableAt: -1, functionsOnly: false, into: &names) }
                lp_pop(L, 1)
            }
            vm.push("__index")
            if lua_rawget(L, -2) == LUA_TTABLE {
                keys(ofTableAt: -1, functionsOnly: functionsOnly, into: &names)
                lp_remove(L, -2)  // metatable
                lp_remove(L, -2)  // previous value
                continue
            }
            lp_pop(L, 2)
            break
        }
        lp_pop(L, 1)
    }
}
