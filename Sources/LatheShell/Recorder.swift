import Foundation
import LatheCore

/// Records the chunks of a session that ran without error and writes them as a plain Lua
/// script in Jupytext "percent" form, so `lathe run FILE` replays the session.
public struct SessionRecorder {
    public private(set) var cells: [String] = []
    /// The seed in force when the session (or the last :reset) started.
    public var initialSeed: UInt64

    public init(initialSeed: UInt64) {
        self.initialSeed = initialSeed
    }

    /// Records a statement chunk as typed.
    public mutating func recordStatement(_ code: String) {
        let c = code.trimmingCharacters(in: .whitespacesAndNewlines)
        if !c.isEmpty { cells.append(c) }
    }

    /// Records an expression typed alone: replayed as `show(expr)` so the script prints what
    /// the prompt printed. The closing parenthesis goes on its own line, so a trailing
    /// `-- comment` stays harmless.
    public mutating func recordExpression(_ code: String) {
        var c = code.trimmingCharacters(in: .whitespacesAndNewlines)
        while c.hasSuffix(";") { c = String(c.dropLast()).trimmingCharacters(in: .whitespaces) }
        if c.isEmpty { return }
        if c.contains("--") || c.contains("\n") {
            cells.append("show(" + c + "\n)")
        } else {
            cells.append("show(" + c + ")")
        }
    }

    public mutating func clear(initialSeed: UInt64) {
        cells = []
        self.initialSeed = initialSeed
    }

    /// The script text.
    public func render(date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        var out = "-- Lathe session saved by Lathe \(LatheInfo.version) on \(f.string(from: date))\n"
        out += "-- seed: \(initialSeed)\n"
        out += "-- Replay with: lathe run FILE   (cells are separated by '-- %%' lines)\n\n"
        out += "-- %%\nlathe.seed(\(initialSeed))\n"
        for c in cells {
            out += "\n-- %%\n" + c + "\n"
        }
        return out
    }

    /// Writes the script atomically; refuses to replace an existing file unless `overwrite`.
    public func save(to path: String, overwrite: Bool, date: Date = Date()) throws(LatheError) {
        do {
            try AtomicFile.write(render(date: date), to: path, overwrite: overwrite)
        } catch {
            if error.message.contains("already exists") {
                throw LatheError("\(path) already exists; use :save! \(path) to replace it")
            }
            throw error
        }
    }
}
