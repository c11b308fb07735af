import CLua
import CLuaShim
import Foundation
import LatheCore
import LatheLua

/// `lathe run FILE [ARGS]` and `lathe -e CODE`: scripts, as the stock `lua` runs them.
public enum Runner {
    /// Sets the global `arg` as lua.c does: arg[0] = script, arg[1..] = its arguments,
    /// arg[-1] = the interpreter.
    static func setArgs(_ vm: LuaVM, script: String, args: [String]) {
        let L = vm.L
        lua_createtable(L, Int32(args.count), 2)
        vm.push(CommandLine.arguments.first ?? "lathe")
        lua_rawseti(L, -2, -1)
        vm.push(script)
        lua_rawseti(L, -2, 0)
        for (i, a) in args.enumerated() {
            vm.push(a)
            lua_rawseti(L, -2, lua_Integer(i + 1))
        }
        lua_setglobal(L, "arg")
    }

    static func report(_ msg: String) {
        fflush(nil)
        FileHandle.standardError.write(("lathe: " + msg + "\n").data(using: .utf8)!)
    }

    /// Runs a script file. Returns the exit status (0 ok, 1 error).
    public static func runFile(_ path: String, args: [String], vm: LuaVM) -> Int32 {
        setArgs(vm, script: path, args: args)
        let L = vm.L
        let base = lua_gettop(L)
        let st: Int32
        if path == "-" {
            var data = [UInt8]()
            while let line = Swift.readLine(strippingNewline: false) { data += Array(line.utf8) }
            let code = String(decoding: data, as: UTF8.self)
            st = vm.load(code, chunkname: "=stdin").ok ? LUA_OK : LUA_ERRSYNTAX
            if st != LUA_OK {
                report(vm.load(code, chunkname: "=stdin").error ?? "syntax error")
                return 1
            }
        } else {
            guard FileManager.default.fileExists(atPath: path) else {
                report("cannot open \(path): no such file")
                return 1
            }
            vm.sessionText = { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            st = luaL_loadfilex(L, path, nil)
            if st != LUA_OK {
                report(vm.string(at: -1) ?? "cannot load \(path)")
                lua_settop(L, base)
                return 1
            }
        }
        for a in args { vm.push(a) }
        switch vm.call(nargs: Int32(args.count), base: base) {
        case .success:
            lua_settop(L, base)
            fflush(nil)
            return 0
        case .failure(let e):
            report(e.message)
            vm.endedWithError = true
            return 1
        }
    }

    /// Runs a snippet (`lathe -e CODE`).
    public static func runCode(_ code: String, vm: LuaVM) -> Int32 {
        let L = vm.L
        let base = lua_gettop(L)
        let (ok, err) = vm.load(code, chunkname: "=(command line)")
        guard ok else {
            report(err ?? "syntax error")
            return 1
        }
        switch vm.call(nargs: 0, base: base) {
        case .success:
            lua_settop(L, base)
            fflush(nil)
            return 0
        case .failure(let e):
            report(e.message)
            vm.endedWithError = true
            return 1
        }
    }
}
