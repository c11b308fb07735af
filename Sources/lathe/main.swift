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
        subcommands: [Run.self]
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

func makeVM() throws -> LuaVM {
    do {
        return try LuaVM()
    } catch {
        FileHandle.standardError.write("lathe: cannot start: \(error)\n".data(using: .utf8)!)
        throw ExitCode(2)
    }
}
