import CLatheCore
import Foundation
import LatheCore

/// A progress display for long work. On a terminal (stderr is a tty) it redraws one line
/// (`title [#####.....] 52% 1,234/2,400 12.3/s ETA 0:41 note`) at most 10 times a second;
/// otherwise it prints a plain line every `plainInterval` seconds and at the end, so logs
/// show progress too. Nothing is drawn for work that finishes within `delay` seconds.
public final class ProgressBar {
    public let title: String
    public var total: Int?
    public let unit: String
    let start = monotonicSeconds()
    var lastDraw = 0.0
    var drewAnything = false
    public let isTTY: Bool
    /// Seconds before anything is shown.
    public var delay = 0.5
    /// Seconds between plain lines when not on a terminal.
    public var plainInterval = 10.0
    /// Set false to suppress all output.
    public var enabled = true
    public private(set) var done = 0

    public init(_ title: String, total: Int?, unit: String = "it") {
        self.title = title
        self.total = total
        self.unit = unit
        isTTY = isatty(2) != 0
        if ProcessInfo.processInfo.environment["LATHE_PROGRESS"] == "0" { enabled = false }
    }

    /// Reports `done` units finished, with an optional note (e.g. `loss 0.412`).
    public func update(_ done: Int, note: String = "") {
        self.done = done
        guard enabled else { return }
        let now = monotonicSeconds()
        let elapsed = now - start
        if elapsed < delay { return }
        if isTTY {
            if now - lastDraw < 0.1 { return }
        } else if drewAnything && now - lastDraw < plainInterval {
            return
        }
        lastDraw = now
        draw(done: done, elapsed: elapsed, note: note, final: false)
    }

    /// Ends the display (a final line with totals if anything was shown).
    public func finish(note: String = "") {
        guard enabled, drewAnything else { return }
        draw(done: done, elapsed: monotonicSeconds() - start, note: note, final: true)
    }

    func draw(done: Int, elapsed: Double, note: String, final: Bool) {
        drewAnything = true
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = title
        if let total, total > 0 {
            let frac = min(1, Double(done) / Double(total))
            if isTTY {
                let w = 24
                let filled = Int(frac * Double(w))
                line += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: w - filled) + "]"
            }
            line += String(format: " %3d%% %@/%@", Int(frac * 100), ProgressBar.group(done), ProgressBar.group(total))
            if !final && rate > 0 && done < total {
                line += " ETA " + ProgressBar.clock(Double(total - done) / rate)
            }
        } else {
            line += " " + ProgressBar.group(done) + " " + unit
        }
        line += String(format: " %@/s", ProgressBar.rateString(rate)) + " " + ProgressBar.clock(elapsed)
        if !note.isEmpty { line += " " + note }
        let out: String
        if isTTY {
            out = "\r\u{1B}[2K" + line + (final ? "\n" : "")
        } else {
            out = line + "\n"
        }
        fflush(nil)
        FileHandle.standardError.write(out.data(using: .utf8)!)
    }

    public static func group(_ n: Int) -> String { n.groupedThousands }

    /// A whole number in groups of three digits; "inf" or "nan" for those.
    public static func group(_ x: Double) -> String {
        guard let n = x.truncatedInt else { return fmt(x) }
        return group(n)
    }

    public static func rateString(_ r: Double) -> String {
        if r >= 100 { return ProgressBar.group(r) }
        if r >= 10 { return String(format: "%.1f", r) }
        return String(format: "%.2f", r)
    }

    static func clock(_ s: Double) -> String {
        let t = s.rounded().clampedInt()
        if t >= 3600 { return String(format: "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60) }
        return String(format: "%d:%02d", t / 60, t % 60)
    }
}
