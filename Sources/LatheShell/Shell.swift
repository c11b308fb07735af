import CLatheCore
import CLua
import CLuaShim
import Foundation
import LatheCore
import LatheLua

/// The interactive shell: reads chunks (continuing incomplete ones), runs them, prints
/// expression values, handles `:magics` and `?help`, and records the session.
public final class Shell {
    public private(set) var vm: LuaVM
    public private(set) var recorder: SessionRecorder
    let reader: LineReader
    public let interactive: Bool
    /// Where results and shell messages go (stdout by default; tests capture them).
    public var write: (String) -> Void = { s in
        Output.write(s)
    }
    public var writeError: (String) -> Void = { s in
        fflush(nil)
        FileHandle.standardError.write(s.data(using: .utf8) ?? Data())
    }
    /// True once any chunk failed (the exit status of a piped session).
    public private(set) var hadError = false
    public private(set) var quitRequested = false

    public static let prompt = "lathe> "
    public static let continuationPrompt = ".. "

    public init(vm: LuaVM, reader: LineReader, interactive: Bool) {
        self.vm = vm
        self.reader = reader
        self.interactive = interactive
        recorder = SessionRecorder(initialSeed: Runtime.seed)
        if let ed = reader as? EditlineReader { ed.setCompleter(Completer(vm: vm)) }
        attachSession()
    }

    /// train.fit keeps the session so far (the recorder's cells) with its run.
    func attachSession() {
        vm.sessionText = { [unowned self] in self.recorder.render() }
    }

    public static var banner: String {
        "Lathe \(LatheInfo.version) (Lua 5.4): help() for the modules, :help for shell commands, Ctrl-D to quit.\n"
    }

    /// Runs until EOF or :quit. Returns the process exit status.
    public func run() -> Int32 {
        if interactive { write(Shell.banner) }
        while !quitRequested {
            fflush(nil)
            if interactive { lp_install_prompt_sigint() }
            let r = reader.read(prompt: Shell.prompt)
            switch r {
            case .eof:
                if interactive { write("\n") }
                quitRequested = true
            case .interrupted:
                if interactive { write("\n") }
                continue  // Ctrl-C on the line: clear it
            case .line(let first):
                if first.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let chunk = readChunk(first) else { continue }
                reader.addHistory(chunk)
                handle(chunk)
            }
        }
        reader.saveHistory()
        fflush(nil)
        return hadError && !interactive ? 1 : 0
    }

    /// Reads continuation lines while the chunk is incomplete. nil when cancelled (Ctrl-C) or
    /// EOF in the middle (the syntax error is reported).
    func readChunk(_ first: String) -> String? {
        var buf = first
        if isMagicOrHelp(buf) { return buf }
        while case .incomplete = parse(buf) {
            fflush(nil)
            switch reader.read(prompt: Shell.continuationPrompt) {
            case .line(let more):
                buf += "\n" + more
            case .interrupted:
                return nil
            case .eof:
                if case .incomplete(let msg) = parseStatement(buf) { reportError(msg) } else { reportError("unfinished chunk at end of input") }
                reader.addHistory(buf)
                return nil
            }
        }
        return buf
    }

    func isMagicOrHelp(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: .whitespaces)
        return t.hasPrefix(":") || t.hasPrefix("?")
    }

    // MARK: - Parsing

    enum Parse {
        case expression
        case statement
        case incomplete(String)
        case error(String)
    }

    func parse(_ code: String) -> Parse {
        let L = vm.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        if vm.load(Shell.exprForm(code), chunkname: "=stdin").ok { return .expression }
        return parseStatement(code)
    }

    func parseStatement(_ code: String) -> Parse {
        let L = vm.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        let (ok, err) = vm.load(code, chunkname: "=stdin")
        if ok { return .statement }
        let msg = err ?? "syntax error"
        if msg.hasSuffix("<eof>") { return .incomplete(msg) }
        return .error(msg)
    }

    /// `help(x)` typed alone: a lookup, which a saved session leaves out (as it leaves out `?x`).
    static func isHelpLookup(_ code: String) -> Bool {
        code.range(of: #"^\s*help\s*\([^()\n]*\)\s*;?\s*$"#, options: .regularExpression) != nil
    }

    static func exprForm(_ code: String) -> String {
        var c = code
        if c.hasPrefix("=") { c.removeFirst() }
        return "return " + c
    }

    // MARK: - Handling a chunk

    /// Runs one complete chunk (code, `:magic` or `?help`).
    public func handle(_ chunk: String) {
        let t = chunk.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix(":") {
            magic(t)
            return
        }
        if t.hasPrefix("?") {
            let what = t.dropFirst().trimmingCharacters(in: .whitespaces)
            _ = execute(what.isEmpty ? "help()" : "help(\(what))", record: false)
            return
        }
        _ = execute(chunk, record: true)
    }

    /// Runs a file's text as `dofile` would and records the text itself (inside `do ... end`,
    /// as the file's locals are its own), so a saved session replays what ran then, not what
    /// the file holds later.
    func loadFile(_ text: String, name: String) {
        var body = text
        if body.hasPrefix("#") { body = String(body.drop { $0 != "\n" }) }  // a #! line, as lua skips it
        let L = vm.L
        let base = lua_gettop(L)
        let (ok, err) = vm.load(body, chunkname: "@" + name)
        guard ok else { reportError(err ?? "syntax error"); return }
        if case .failure(let e) = vm.call(nargs: 0, base: base) { reportError(e.message); return }
        lua_settop(L, base)
        // inner cell marks would split the do-block when the script is read as cells
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("-- %%") ? "-- (a cell of \(name))" + line.dropFirst(5) : String(line)
        }
        recorder.recordStatement("-- :load \(name)\ndo\n" + lines.joined(separator: "\n") + "\nend")
    }

    /// Executes code; prints expression results; records it on success. Returns success.
    @discardableResult
    public func execute(_ code: String, record: Bool) -> Bool {
        let L = vm.L
        let base = lua_gettop(L)
        let form = parse(code)
        let source: String
        let isExpr: Bool
        switch form {
        case .expression:
            source = Shell.exprForm(code)
            isExpr = true
        case .statement:
            source = code
            isExpr = false
        case .incomplete(let msg):
            reportError(msg)
            return false
        case .error(let msg):
            reportError(msg)
            return false
        }
        let (ok, err) = vm.load(source, chunkname: "=stdin")
        guard ok else {
            reportError(err ?? "syntax error")
            return false
        }
        switch vm.call(nargs: 0, base: base) {
        case .failure(let e):
            reportError(e.message)
            return false
        case .success(let n):
            if isExpr && n > 0 {
                var parts: [String] = []
                for i in 1...n { parts.append(Printer.format(L: L, index: base + i, topLevel: true)) }
                write(parts.joined(separator: "\t") + "\n")
            }
            lua_settop(L, base)
            if record && !Shell.isHelpLookup(code) {
                if isExpr && n > 0 {
                    recorder.recordExpression(code)
                } else if isExpr, case .statement = parseStatement(code) {
                    recorder.recordStatement(code)
                } else if isExpr {
                    recorder.recordExpression(code)
                } else {
                    recorder.recordStatement(code)
                }
            }
            return true
        }
    }

    func reportError(_ msg: String) {
        hadError = true
        writeError(msg + "\n")
    }

    // MARK: - Magics

    public static let magicHelp = """
    Shell commands:
      :help              this list (help() documents the Lua modules)
      :save FILE         save the session's successful chunks as a Lua script (:save! FILE replaces)
      :load FILE         run a Lua file in this session (its text is recorded, for :save)
      :history [N]       the last N history entries (default 20)
      :time CODE         run CODE and report wall and CPU time
      :reset             start a fresh Lua state (the recording starts over)
      :who               your global variables with their type and value
      :quit              leave (Ctrl-D does the same)
    ?x is help(x). An expression typed alone prints its value. Ctrl-C stops running code.
    """

    func magic(_ line: String) {
        let body = line.dropFirst()
        let name: String
        let rest: String
        if let sp = body.firstIndex(where: { $0 == " " || $0 == "\t" }) {
            name = String(body[..<sp])
            rest = body[sp...].trimmingCharacters(in: .whitespaces)
        } else {
            name = String(body)
            rest = ""
        }
        switch name {
        case "help", "h", "?":
            write(Shell.magicHelp + "\n")
        case "quit", "q", "exit":
            quitRequested = true
        case "save", "save!":
            guard !rest.isEmpty else { reportError(":save: give a file name, e.g. :save session.lua"); return }
            let path = Shell.expandPath(rest)
            do {
                try recorder.save(to: path, overwrite: name == "save!")
                write("saved \(recorder.cells.count) cell\(recorder.cells.count == 1 ? "" : "s") to \(rest)\n")
            } catch {
                reportError(":save: " + error.message)
            }
        case "load":
            guard !rest.isEmpty else { reportError(":load: give a file name, e.g. :load prep.lua"); return }
            let path = Shell.expandPath(rest)
            let bytes: [UInt8]
            do { bytes = try RegularFile.read(path) } catch { reportError(":load: " + error.message); return }
            loadFile(String(decoding: bytes, as: UTF8.self), name: rest)
        case "history":
            var n = 20
            if !rest.isEmpty {
                guard let k = Int(rest), k > 0 else { reportError(":history: expected a positive number, got '\(rest)'"); return }
                n = k
            }
            let h = reader.history()
            let startIdx = max(0, h.count - n)
            var out = ""
            for i in startIdx..<h.count {
                let lines = h[i].split(separator: "\n", omittingEmptySubsequences: false)
                out += String(format: "%5d  ", i + 1) + lines.joined(separator: "\n       ") + "\n"
            }
            write(out)
        case "time":
            guard !rest.isEmpty else { reportError(":time: give code to time, e.g. :time tensor.randn(512, 512):sum()"); return }
            let w0 = monotonicSeconds(), c0 = lk_cpu_seconds()
            let ok = execute(rest, record: true)
            let w1 = monotonicSeconds(), c1 = lk_cpu_seconds()
            if ok { write("wall \(Shell.formatSeconds(w1 - w0)), cpu \(Shell.formatSeconds(c1 - c0))\n") }
        case "reset":
            do {
                Runtime.reset()
                let fresh = try LuaVM(stdlib: vm.stdlibPath)
                vm = fresh
                recorder.clear(initialSeed: Runtime.seed)
                attachSession()
                if let ed = reader as? EditlineReader { ed.setCompleter(Completer(vm: vm)) }
                write("fresh Lua state (seed \(Runtime.seed)); the recording starts over\n")
            } catch {
                reportError(":reset: \(error)")
            }
        case "who":
            write(who())
        default:
            let names = Completer.magics.map { String($0.dropFirst()) }
            let hint = names.first { $0.hasPrefix(name) }.map { " (did you mean :\($0)?)" } ?? ""
            reportError("unknown command :\(name)\(hint); :help lists the commands")
        }
    }

    /// The user's globals: name, type and a short value, aligned.
    public func who() -> String {
        let L = vm.L
        let names = vm.globalNames().filter { !vm.builtinGlobals.contains($0) }.sorted()
        if names.isEmpty { return "no user-defined globals\n" }
        var rows: [(String, String, String)] = []
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lp_pushglobaltable(L)
        let g = lua_gettop(L)
        for n in names {
            vm.push(n)
            lua_rawget(L, g)
            let tname: String
            let ty = lua_type(L, -1)
            if ty == LUA_TUSERDATA || ty == LUA_TTABLE, lua_getmetatable(L, -1) != 0 {
                vm.push("__name")
                lua_rawget(L, -2)
                tname = vm.string(at: -1) ?? String(cString: lua_typename(L, ty))
                lp_pop(L, 2)
            } else {
                tname = String(cString: lua_typename(L, ty))
            }
            var v = Printer.format(L: L, index: -1, topLevel: false)
            v = v.replacingOccurrences(of: "\n", with: " ")
            while v.contains("  ") { v = v.replacingOccurrences(of: "  ", with: " ") }
            if v.count > 60 { v = String(v.prefix(57)) + "..." }
            rows.append((n, tname, v))
            lp_pop(L, 1)
        }
        let w0 = max(4, rows.map { $0.0.count }.max() ?? 0)
        let w1 = max(4, rows.map { $0.1.count }.max() ?? 0)
        var out = "name".padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + "type".padding(toLength: w1, withPad: " ", startingAt: 0) + "  value\n"
        for r in rows {
            out += r.0.padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + r.1.padding(toLength: w1, withPad: " ", startingAt: 0) + "  " + r.2 + "\n"
        }
        return out
    }

    static func expandPath(_ p: String) -> String {
        var s = p
        if (s.hasPrefix("\"") && s.hasSuffix("\"") || s.hasPrefix("'") && s.hasSuffix("'")) && s.count >= 2 {
            s = String(s.dropFirst().dropLast())
        }
        return NSString(string: s).expandingTildeInPath
    }

    public static func formatSeconds(_ s: Double) -> String {
        if s < 1e-3 { return String(format: "%.0f µs", s * 1e6) }
        if s < 1 { return String(format: "%.2f ms", s * 1e3) }
        if s < 120 { return String(format: "%.3f s", s) }
        return String(format: "%dm %.1fs", Int(s) / 60, s.truncatingRemainder(dividingBy: 60))
    }
}

/// A Lua string literal for any text.
public func luaQuote(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\0": out += "\\0"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out + "\""
}
