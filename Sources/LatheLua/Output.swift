import CLua
import CLuaShim
import Foundation

/// Where Lathe's own printing goes (help, show, tables, progress lines): stdout, unless
/// `lathe.capture` is collecting it.
public enum Output {
    // Captures are per thread: each Lua state runs on one thread, and tests run states on many.
    nonisolated(unsafe) static var captures: [UInt: [String]] = [:]
    static let lock = NSLock()
    static var thread: UInt { UInt(bitPattern: Int(pthread_self())) }

    /// Writes text to stdout (through C stdio, in order with Lua's print) or the capture.
    public static func write(_ s: String) {
        lock.lock()
        let t = thread
        if var stack = captures[t], !stack.isEmpty {
            stack[stack.count - 1] += s
            captures[t] = stack
            lock.unlock()
            return
        }
        lock.unlock()
        print(s, terminator: "")
    }

    /// A warning on stderr, as `warning: fn: message` (after what stdout holds so far).
    public static func warning(_ fn: String, _ message: String) {
        note("warning: \(fn): \(message)")
    }

    /// A line on stderr (after what stdout holds so far).
    public static func note(_ line: String) {
        fflush(nil)
        FileHandle.standardError.write((line + "\n").data(using: .utf8) ?? Data())
    }

    public static func begin() {
        lock.lock()
        captures[thread, default: []].append("")
        lock.unlock()
    }
    public static func end() -> String {
        lock.lock()
        defer { lock.unlock() }
        let t = thread
        let s = captures[t]?.popLast() ?? ""
        if captures[t]?.isEmpty == true { captures[t] = nil }
        return s
    }
    public static var isCapturing: Bool {
        lock.lock()
        defer { lock.unlock() }
        return captures[thread]?.isEmpty == false
    }
}

/// `lathe.capture`: runs a function with print, io.write and Lathe's own output collected
/// into a string.
enum CaptureModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        vm.module("lathe", summary: "").add([capture])
    }

    static let capture = LuaFunc(
        "capture", "Runs a function and returns everything it printed (print, io.write, help, show) as a string.",
        params: [LuaParam("fn", .function, "the function to run"), LuaParam("args", .any, optional: true, variadic: true, "passed to fn")],
        returns: "the captured text, then fn's results",
        details: "Useful for tests and for keeping a report in a variable. The output does not reach the\nterminal. Errors inside fn propagate after the printing functions are restored.",
        errors: "fn is not a function; any error fn raises.",
        example: "local text = lathe.capture(function() print(\"hello\", 42) end)\nprint(text == \"hello\\t42\\n\")  --> true"
    ) { c in
            let vm = c.vm
            let L = c.L
            let nargs = c.top - 1
            // originals
            lp_pushglobaltable(L)
            let g = lua_gettop(L)
            c.push("print"); lua_rawget(L, g)
            let oldPrint = lua_gettop(L)
            c.push("io"); lua_rawget(L, g)
            let io = lua_gettop(L)
            let hasIO = lua_type(L, io) == LUA_TTABLE
            if hasIO { c.push("write"); lua_rawget(L, io) } else { lua_pushnil(L) }
            let oldWrite = lua_gettop(L)
            if hasIO { c.push("stdout"); lua_rawget(L, io) } else { lua_pushnil(L) }
            let stdoutIdx = lua_gettop(L)

            vm.pushFunction("print") { pc in
                var parts: [String] = []
                let n = pc.top
                if n > 0 {
                    for i in 1...n {
                        var len = 0
                        guard let p = lp_safe_tolstring(pc.L, i, &len) else {
                            throw LuaError(pc.string(-1) ?? "error in __tostring")
                        }
                        parts.append(String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self))
                        lp_pop(pc.L, 1)
                    }
                }
                Output.write(parts.joined(separator: "\t") + "\n")
                return 0
            }
            c.push("print"); lp_insert(L, -2); lua_rawset(L, g)
            lua_pushvalue(L, stdoutIdx)
            let stdoutRef = luaL_ref(L, lp_registryindex())
            defer { luaL_unref(L, lp_registryindex(), stdoutRef) }
            if hasIO {
                vm.pushFunction("io.write") { wc in
                    let n = wc.top
                    if n > 0 {
                        for i in 1...n {
                            let t = lua_type(wc.L, i)
                            guard t == LUA_TSTRING || t == LUA_TNUMBER else {
                                throw wc.argError(i, nil, expected: "string")
                            }
                            lua_pushvalue(wc.L, i)
                            var len = 0
                            let p = lp_tostring(wc.L, -1, &len)
                            Output.write(String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self))
                            lp_pop(wc.L, 1)
                        }
                    }
                    lua_rawgeti(wc.L, lp_registryindex(), lua_Integer(stdoutRef))  // io.write returns the file
                    return 1
                }
                c.push("write"); lp_insert(L, -2); lua_rawset(L, io)
            }
            func restore() {
                c.push("print"); lua_pushvalue(L, oldPrint); lua_rawset(L, g)
                if hasIO { c.push("write"); lua_pushvalue(L, oldWrite); lua_rawset(L, io) }
            }
            Output.begin()
            let base = lua_gettop(L)
            do {
                try c.callLua(1, nresults: LUA_MULTRET, arguments: nargs) {
                    for i in 0..<nargs { lua_pushvalue(L, 2 + i) }
                    return nargs
                }
            } catch {
                _ = Output.end()
                restore()
                throw error
            }
            let nres = lua_gettop(L) - base
            let text = Output.end()
            // Lua made room for fn's results only; restoring and the text need a few slots more
            if lua_checkstack(L, 4) == 0 {
                lua_settop(L, base)
                restore()
                throw LuaError("fn returned more values than the Lua stack holds")
            }
            restore()
            c.push(text)
            lp_insert(L, base + 1)
            return nres + 1
    }
}
