import ArgumentParser
import Foundation
import LatheCore
import LatheLua
import LatheShell

@main
struct LatheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe",
        abstract: "A notebook-style shell for fine-tuning language models on your own data (Lua 5.4).",
        discussion: """
        With no arguments, lathe opens the interactive prompt (plain line reading when stdin is
        not a terminal, so `printf 'x=1\\nx\\n' | lathe` works). Inside, help() lists the modules
        and :help the shell commands.
        """,
        version: LatheInfo.version,
        subcommands: [Run.self, Runs.self]
    )

    @Option(name: .customShort("e"), help: ArgumentHelp("Run a snippet of Lua and exit (may be repeated).", valueName: "code"))
    var execute: [String] = []

    mutating func run() throws {
        let vm = try makeVM()
        if !execute.isEmpty {
            for code in execute {
                let st = Runner.runCode(code, vm: vm)
                if st != 0 { vm.close(); throw ExitCode(st) }
            }
            vm.close()
            return
        }
        let interactive = isatty(0) != 0 && isatty(1) != 0
        let reader: LineReader
        if interactive {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            let hist = ProcessInfo.processInfo.environment["LATHE_HISTORY"] ?? (home + "/.lathe_history")
            reader = EditlineReader(historyPath: hist.isEmpty ? nil : hist, completer: nil)
        } else {
            reader = PlainReader()
        }
        let shell = Shell(vm: vm, reader: reader, interactive: interactive)
        let st = shell.run()
        vm.close()
        if st != 0 { throw ExitCode(st) }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Lua script (a saved session replays with the same output).",
        discussion: "ARGS go to the script in the global `arg` (arg[0] is the script) and as `...`, as the stock lua does. Use - to read the script from stdin."
    )

    @Argument(help: "The script to run.")
    var file: String

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the script.")
    var args: [String] = []

    mutating func run() throws {
        let vm = try makeVM()
        let st = Runner.runFile(file, args: args, vm: vm)
        vm.close()
        if st != 0 { throw ExitCode(st) }
    }
}

/// `lathe runs`: the run store (track) without a session.
struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, compare and export the runs of a run store (track) without starting a session.",
        discussion: "The store is --store, else $LATHE_TRACKING, else ./lathe-runs.db (it must exist).",
        subcommands: [List.self, Show.self, Compare.self, Export.self],
        defaultSubcommand: List.self
    )

    struct StoreOption: ParsableArguments {
        @Option(help: ArgumentHelp("The run store (a SQLite file written by Lathe).", valueName: "path"))
        var store: String?

        var path: String {
            store ?? ProcessInfo.processInfo.environment["LATHE_TRACKING"].flatMap { $0.isEmpty || $0 == "off" ? nil : $0 } ?? "lathe-runs.db"
        }
    }

    /// Runs Lua against the store; `values` become globals (strings) of the snippet.
    static func lua(_ store: StoreOption, _ code: String, _ values: [String: String] = [:]) throws {
        guard FileManager.default.fileExists(atPath: store.path) else {
            FileHandle.standardError.write("lathe runs: no run store at \(store.path) (train.fit and track.start create one; --store names another)\n".data(using: .utf8)!)
            throw ExitCode(1)
        }
        let vm = try makeVM()
        vm.setGlobal("STORE", string: store.path)
        for (k, v) in values { vm.setGlobal(k, string: v) }
        let st = Runner.runCode("track.open(STORE)\n" + code, vm: vm)
        vm.close()
        if st != 0 { throw ExitCode(st) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per run, newest first: status, params, last metrics.")
        @OptionGroup var store: StoreOption
        @Option(help: "Only this experiment's runs.") var experiment: String?
        @Option(help: ArgumentHelp("Sort by a column; --order-by=-metrics.f1 puts the best F1 first.", valueName: "column")) var orderBy: String?
        @Flag(help: "Every column, however wide.") var all = false
        mutating func run() throws {
            try Runs.lua(store, """
                local t = track.runs{experiment = EXPERIMENT ~= "" and EXPERIMENT or nil, order_by = ORDER ~= "" and ORDER or nil}
                if ALL == "1" then t:show{columns = "all", rows = "all"} else t:show{rows = "all"} end
                """, ["EXPERIMENT": experiment ?? "", "ORDER": orderBy ?? "", "ALL": all ? "1" : "0"])
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One run: params, last metrics, tags, artifacts.")
        @OptionGroup var store: StoreOption
        @Argument(help: "The run: its id, the first characters of its id, or its name.") var ref: String
        mutating func run() throws {
            try Runs.lua(store, """
                local r = track.get(RUN)
                print(r)
                for _, a in ipairs(r.artifacts) do print(string.format("  artifact %s (%d bytes, sha256 %s)", a.path, a.size, a.sha256)) end
                """, ["RUN": ref])
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Runs side by side: params that differ first, then metrics with the change.")
        @OptionGroup var store: StoreOption
        @Argument(help: "Two or more runs (ids, id prefixes or names).") var runs: [String]
        mutating func run() throws {
            try Runs.lua(store, """
                local refs = {}
                for r in RUNS:gmatch("[^\\n]+") do refs[#refs + 1] = r end
                local t = track.compare(refs)
                t:show{columns = "all", rows = "all"}
                """, ["RUNS": runs.joined(separator: "\n")])
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every run as CSV or JSON Lines (one row per run, params and last metrics as columns).")
        @OptionGroup var store: StoreOption
        @Option(help: "csv or jsonl.") var format: String = "csv"
        @Option(help: ArgumentHelp("The file to write (default: standard output).", valueName: "path")) var out: String?
        @Option(help: "Only this experiment's runs.") var experiment: String?
        mutating func run() throws {
            guard ["csv", "jsonl"].contains(format) else { throw ValidationError("--format must be csv or jsonl, got \(format)") }
            try Runs.lua(store, """
                local t = track.runs{experiment = EXPERIMENT ~= "" and EXPERIMENT or nil}
                local path = OUT ~= "" and OUT or os.tmpname()
                if FORMAT == "csv" then data.write_csv(t, path, {overwrite = true}) else data.write_jsonl(t, path, {overwrite = true}) end
                if OUT == "" then
                  local f = assert(io.open(path, "rb"))
                  io.write(f:read("a"))
                  f:close()
                  os.remove(path)
                end
                """, ["OUT": out ?? "", "FORMAT": format, "EXPERIMENT": experiment ?? ""])
        }
    }
}

func makeVM() throws -> LuaVM {
    // A file size limit (ulimit -f) makes a too-large write fail with EFBIG, reported like a full
    // disk, instead of killing the process (and the session) with SIGXFSZ.
    signal(SIGXFSZ, SIG_IGN)
    do {
        return try LuaVM()
    } catch {
        FileHandle.standardError.write("lathe: cannot start: \(error)\n".data(using: .utf8)!)
        throw ExitCode(2)
    }
}
