import CLatheCore
import CShellShim
import Foundation
import LatheLua

/// What a read returned.
public enum ReadResult: Equatable {
    case line(String)
    case eof
    case interrupted
}

/// Where the shell gets its lines: libedit on a terminal, plain stdin otherwise, or a list
/// of lines in tests.
public protocol LineReader: AnyObject {
    func read(prompt: String) -> ReadResult
    func addHistory(_ entry: String)
    /// History entries, oldest first.
    func history() -> [String]
    /// Persists history (called after each entry and at exit).
    func saveHistory()
}

/// libedit's readline layer: line editing, persistent capped history, Ctrl-R search, tab
/// completion.
public final class EditlineReader: LineReader {
    let historyPath: String?
    public static let maxHistory = 1000

    public init(historyPath: String?, completer: Completer?) {
        self.historyPath = historyPath
        completionTarget = completer
        ls_init("lathe", completionCallback, Int32(EditlineReader.maxHistory), historyPath)
    }

    public func setCompleter(_ c: Completer) { completionTarget = c }

    public func read(prompt: String) -> ReadResult {
        lk_interrupt_clear()
        guard let p = ls_readline(prompt) else {
            if lk_interrupt_pending() != 0 {
                lk_interrupt_clear()
                return .interrupted
            }
            return .eof
        }
        defer { ls_free(p) }
        // A Ctrl-C while libedit reads makes readline return NULL (above). One that came before
        // libedit put the terminal in raw mode was handled by the terminal, which dropped the
        // typed text; the line returned now was typed after it, so it runs.
        lk_interrupt_clear()
        return .line(String(cString: p))
    }

    public func addHistory(_ entry: String) {
        ls_add_history(entry)
        saveHistory()
    }

    public func history() -> [String] {
        let n = Int(ls_history_length())
        var out: [String] = []
        for i in 0..<n {
            if let p = ls_history_get(Int32(i)) { out.append(String(cString: p)) }
        }
        return out
    }

    public func saveHistory() {
        if let historyPath { _ = ls_write_history(historyPath) }
    }
}

/// Plain lines from stdin (pipes, files): no prompt, no editing; history kept in memory.
public final class PlainReader: LineReader {
    var entries: [String] = []
    public init() {}
    public func read(prompt: String) -> ReadResult {
        guard let s = Swift.readLine(strippingNewline: true) else { return .eof }
        return .line(s)
    }
    public func addHistory(_ entry: String) { entries.append(entry) }
    public func history() -> [String] { entries }
    public func saveHistory() {}
}

/// Lines given up front (tests and `lathe` driven from code).
public final class ScriptedReader: LineReader {
    var lines: [ReadResult]
    var entries: [String] = []
    public init(_ lines: [String]) { self.lines = lines.map { .line($0) } }
    public init(results: [ReadResult]) { self.lines = results }
    public func read(prompt: String) -> ReadResult {
        if lines.isEmpty { return .eof }
        return lines.removeFirst()
    }
    public func addHistory(_ entry: String) { entries.append(entry) }
    public func history() -> [String] { entries }
    public func saveHistory() {}
}

// libedit's completion hook has no context pointer: the one active completer lives here.
nonisolated(unsafe) var completionTarget: Completer?

func completionCallback(_ line: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<CChar>? {
    guard let line, let c = completionTarget else { return nil }
    let cands = c.complete(line: String(cString: line), start: Int(start), end: Int(end))
    if cands.isEmpty { return nil }
    return strdup(cands.joined(separator: "\n"))
}
