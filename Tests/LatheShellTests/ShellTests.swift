import CLua
import Foundation
import LatheCore
import LatheLua
import LatheShell
import Testing

/// A shell over scripted lines whose output is captured.
final class Harness {
    let shell: Shell
    var out = ""
    var err = ""
    init(_ lines: [String]) throws {
        let vm = try LuaVM(stdlib: nil)
        shell = Shell(vm: vm, reader: ScriptedReader(lines), interactive: false)
        shell.write = { [unowned self] s in self.out += s }
        shell.writeError = { [unowned self] s in self.err += s }
    }
    @discardableResult func run() -> Int32 { shell.run() }
    /// Formats the value of a Lua expression with the prompt's printer.
    func format(_ expr: String) -> String {
        let L = shell.vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        _ = shell.vm.load("return " + expr, chunkname: "=test")
        _ = shell.vm.call(nargs: 0, base: top)
        return Printer.format(L: L, index: top + 1)
    }
}

@Suite struct PrinterTests {
    @Test func scalars() throws {
        let h = try Harness([])
        #expect(h.format("1") == "1")
        #expect(h.format("1.5") == "1.5")
        #expect(h.format("2^53") == "9.007199254741e+15")
        #expect(h.format("10/2") == "5.0")
        #expect(h.format("'hi'") == "hi")
        #expect(h.format("nil") == "nil")
        #expect(h.format("true") == "true")
    }

    @Test func shortTablesOnOneLine() throws {
        let h = try Harness([])
        #expect(h.format("{1, 2, 3}") == "{1, 2, 3}")
        #expect(h.format("{b = 2, a = 'x'}") == "{a = \"x\", b = 2}")
        #expect(h.format("{}") == "{}")
        #expect(h.format("{1, {2, {3}}, k = {z = true}}") == "{1, {2, {3}}, k = {z = true}}")
        #expect(h.format("{['a b'] = 1, [10] = 2, ['end'] = 3}") == "{[10] = 2, [\"a b\"] = 1, [\"end\"] = 3}")
    }

    @Test func longTablesAlignKeys() throws {
        let h = try Harness([])
        let s = h.format("{alpha = string.rep('x', 40), b = string.rep('y', 40), longer_name = 3}")
        #expect(s == """
        {
          alpha       = "\(String(repeating: "x", count: 40))",
          b           = "\(String(repeating: "y", count: 40))",
          longer_name = 3,
        }
        """)
    }

    @Test func cyclesAndDepthAreSafe() throws {
        let h = try Harness([])
        _ = h.shell.vm.run("c = {name = 'c'}; c.self = c")
        #expect(h.format("c") == "{name = \"c\", self = <cycle>}")
        #expect(h.format("{{{{{{1}}}}}}") == "{{{{{...}}}}}")
    }

    @Test func truncatesLongTablesAndStrings() throws {
        let h = try Harness([])
        let s = h.format("(function() local t = {} for i = 1, 1000 do t[i] = i end return t end)()")
        #expect(s.contains("... (960 more)"))
        #expect(s.split(separator: "\n").count < 20)
        let long = h.format("{string.rep('a', 500)}")
        #expect(long.contains("...\" (500 chars)"))
    }

    @Test func usesTostringAndDocNames() throws {
        let h = try Harness([])
        #expect(h.format("setmetatable({}, {__tostring = function() return 'obj!' end})") == "obj!")
        #expect(h.format("lathe.seed") == "function: lathe.seed")
        let bad = h.format("setmetatable({}, {__tostring = function() error('nope') end})")
        #expect(bad.contains("__tostring failed"))
    }
}

@Suite struct RecorderTests {
    @Test func rendersPercentCells() {
        var r = SessionRecorder(initialSeed: 7)
        r.recordStatement("x = 1")
        r.recordExpression("x + 1")
        r.recordExpression("x -- a comment")
        r.recordExpression("x;")
        let text = r.render(date: Date(timeIntervalSince1970: 0))
        #expect(text.hasPrefix("-- Lathe session saved by Lathe \(LatheInfo.version) on 1970-01-01 00:00:00 UTC\n-- seed: 7\n"))
        #expect(text.contains("-- %%\nlathe.seed(7)\n"))
        #expect(text.contains("-- %%\nx = 1\n"))
        #expect(text.contains("-- %%\nshow(x + 1)\n"))
        #expect(text.contains("-- %%\nshow(x -- a comment\n)\n"))
        #expect(text.contains("-- %%\nshow(x)\n"))
    }

    @Test func savesAtomicallyAndRefusesToOverwrite() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lathe-rec-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.lua").path
        var r = SessionRecorder(initialSeed: 1)
        r.recordStatement("a = 1")
        try r.save(to: path, overwrite: false)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("a = 1"))
        r.recordStatement("b = 2")
        #expect(throws: LatheError.self) { try r.save(to: path, overwrite: false) }
        #expect(!(try String(contentsOfFile: path, encoding: .utf8).contains("b = 2")))
        try r.save(to: path, overwrite: true)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("b = 2"))
        // no temporary files left behind
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["s.lua"])
    }
}

@Suite struct CompletionTests {
    @Test func globalsFieldsAndMethods() throws {
        let h = try Harness([])
        _ = h.shell.vm.run("myvar = 1; mytable = {alpha = 1, beta = {gamma = 2}, fn = function() end}; s = 'x'")
        let c = Completer(vm: h.shell.vm)
        func comp(_ line: String) -> [String] {
            // the word starts after the last break character, as libedit computes it
            let breaks = Set(" \t\n\"'`=({[,;+*%^<>~#|&".utf8)
            let b = Array(line.utf8)
            var start = b.count
            while start > 0 && !breaks.contains(b[start - 1]) { start -= 1 }
            return c.complete(line: line, start: start, end: b.count)
        }
        #expect(comp("string.fo") == ["string.format"])
        #expect(comp("myv") == ["myvar"])
        #expect(comp("mytable.") == ["mytable.alpha", "mytable.beta", "mytable.fn"])
        #expect(comp("mytable.beta.g") == ["mytable.beta.gamma"])
        #expect(comp("mytable:f") == ["mytable:fn"])
        #expect(comp("s:up") == ["s:upper"])
        #expect(comp("x = 1 + mytable.al") == ["x = 1 + mytable.alpha"].map { String($0.split(separator: " ").last!) })
        #expect(comp("lathe.se") == ["lathe.seed"])
        #expect(comp("whi") == ["while"])
        #expect(comp(":sa") == [":save", ":save!"])
        #expect(comp("nosuch.x").isEmpty)
    }

    @Test func filePathsInsideStrings() throws {
        let h = try Harness([])
        let c = Completer(vm: h.shell.vm)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lathe-comp-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("data.csv").path, contents: Data())
        defer { try? FileManager.default.removeItem(at: dir) }
        let line = "t = data.read_csv(\"\(dir.path)/d"
        let start = line.utf8.count - (dir.path.utf8.count + 2)
        #expect(c.complete(line: line, start: start, end: line.utf8.count) == ["\(dir.path)/data.csv"])
        let line2 = "x = '\(dir.path)/s"
        let start2 = line2.utf8.count - (dir.path.utf8.count + 2)
        #expect(c.complete(line: line2, start: start2, end: line2.utf8.count) == ["\(dir.path)/sub/"])
        let line3 = ":load \(dir.path)/da"
        #expect(c.complete(line: line3, start: 6, end: line3.utf8.count) == ["\(dir.path)/data.csv"])
    }
}

@Suite struct MagicTests {
    @Test func autoPrintContinuationAndErrors() throws {
        let h = try Harness(["x = 41", "x + 1", "for i = 1, 2 do", "y = (y or 0) + i", "end", "y", "error('boom')", "x"])
        #expect(h.run() == 1)  // a chunk failed: a piped session exits 1
        #expect(h.out == "42\n3\n41\n")
        #expect(h.err.contains("stdin:1: boom"))
    }

    @Test func whoListsUserGlobals() throws {
        let h = try Harness(["alpha = 3", "beta = {1, 2}", ":who"])
        h.run()
        #expect(h.out.contains("name   type    value"))
        #expect(h.out.contains("alpha  number  3"))
        #expect(h.out.contains("beta   table   {1, 2}"))
        #expect(!h.out.contains("lathe "))
    }

    @Test func saveThenReplayRecordsOnlySuccessfulChunks() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lathe-magic-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.lua").path
        let h = try Harness(["a = 2", "nosuch()", "a * 21", ":save \(path)", ":save \(path)", "b = 1", ":save! \(path)"])
        h.run()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("a = 2"))
        #expect(text.contains("show(a * 21)"))
        #expect(text.contains("b = 1"))
        #expect(!text.contains("nosuch"))
        #expect(h.err.contains("already exists; use :save! \(path)"))
        // replaying the script in a fresh state prints what the session printed
        let vm = try LuaVM(stdlib: nil)
        #expect(vm.run(text, chunkname: "@s.lua") == nil)
    }

    @Test func timeLoadHistoryResetAndUnknown() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lathe-load-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("f.lua").path
        try "loaded_value = 99\n".write(toFile: file, atomically: true, encoding: .utf8)
        let h = try Harness([":time 1 + 1", ":load \(file)", "loaded_value", ":history 2", ":reset", "loaded_value", ":frobnicate", ":hist"])
        h.run()
        #expect(h.out.contains("2\nwall "))
        #expect(h.out.contains(", cpu "))
        #expect(h.out.contains("99\n"))
        #expect(h.out.contains("    3  loaded_value\n    4  :history 2\n"))
        #expect(h.out.contains("fresh Lua state"))
        #expect(h.out.hasSuffix("nil\n") || h.out.contains("\nnil\n"))
        #expect(h.err.contains("unknown command :frobnicate"))
        #expect(h.shell.recorder.cells == ["loaded_value"].map { "show(\($0))" })
    }

    /// :load runs and records the file's text, so a saved session replays what ran even after
    /// the file changes; help lookups are left out of the saved script.
    @Test func loadIsInlinedAndHelpLeftOut() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lathe-inline-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("prep.lua").path
        try "local k = 20\n-- %% a cell mark inside\nprepared = k + 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let saved = dir.appendingPathComponent("s.lua").path
        let h = try Harness([":load \(file)", "help(lathe.seed)", "?lathe.seed", "x = prepared * 2", ":save \(saved)"])
        h.run()
        #expect(h.err.isEmpty, "\(h.err)")
        try "prepared = -1\n".write(toFile: file, atomically: true, encoding: .utf8)  // the file changes later
        let text = try String(contentsOfFile: saved, encoding: .utf8)
        #expect(!text.contains("dofile"))
        #expect(!text.contains("help("))
        #expect(text.contains("local k = 20"))
        #expect(!text.contains("\n-- %% a cell mark"))
        let vm = try LuaVM(stdlib: nil)
        #expect(vm.run(text + "\nassert(x == 42 and k == nil)", chunkname: "@s.lua") == nil)
    }

    @Test func helpShortcut() throws {
        let h = try Harness(["?lathe.seed", "?"])
        h.run()
        #expect(h.err.isEmpty)
    }
}
