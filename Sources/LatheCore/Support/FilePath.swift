/// Path arithmetic on paths users give. swift-corelibs-foundation's
/// `NSString.deletingLastPathComponent` stops the process on one-character names ("a", "a/",
/// "."), so the folder part of a path is computed here.
public enum FilePath {
    /// The folder holding `path`, as NSString.deletingLastPathComponent gives it: "" for a bare
    /// name ("a", "a/"), "/" for a name under the root ("/a") and for "/" itself; repeated and
    /// trailing slashes are dropped ("a//b/" gives "a").
    public static func parent(_ path: String) -> String {
        var b = Array(path.utf8)
        let slash = UInt8(ascii: "/")
        while b.count > 1 && b.last == slash { b.removeLast() }
        if b == [slash] { return "/" }
        guard let i = b.lastIndex(of: slash) else { return "" }
        var head = Array(b[..<i])
        while head.last == slash { head.removeLast() }
        if head.isEmpty { return "/" }
        return String(decoding: head, as: UTF8.self)
    }
}
