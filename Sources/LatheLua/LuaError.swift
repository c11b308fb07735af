import LatheCore

/// An error a binding reports to Lua. The trampoline raises it after the Swift frame returned.
public struct LuaError: Error, CustomStringConvertible {
    public var message: String
    /// Raise the message unchanged (no `file:line:` prefix, no function name): for errors that
    /// came back from a nested Lua call and already carry their position.
    public var asIs: Bool
    public init(_ message: String, asIs: Bool = false) {
        self.message = message
        self.asIs = asIs
    }
    public var description: String { message }
}
