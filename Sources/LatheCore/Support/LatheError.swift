import CLatheCore

/// The one error type of the engine. Its message says what is wrong, what was expected and what
/// came, in the form the Lua API shows (`module.function: what is wrong (expected X, got Y)`).
/// The Lua binding prefixes the Lua-visible function name when the message does not already
/// start with it.
public struct LatheError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// Ctrl-C arrived while long work was running.
    public static let interrupted = LatheError("interrupted!")
}

/// Ctrl-C handling for long work in the engine. The SIGINT handler (in C) only sets a flag;
/// loops poll it at safe points and stop there.
public enum Interrupt {
    /// True when Ctrl-C was pressed and not yet handled.
    @inline(__always) public static var pending: Bool { lk_interrupt_pending() != 0 }
    /// Throws `LatheError.interrupted` (and clears the flag) when Ctrl-C is pending.
    @inline(__always) public static func check() throws(LatheError) {
        if lk_interrupt_pending() != 0 {
            lk_interrupt_clear()
            throw LatheError.interrupted
        }
    }
    public static func clear() { lk_interrupt_clear() }
}

