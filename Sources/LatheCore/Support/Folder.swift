import Foundation

/// Creating folders with errors that say what is in the way (Foundation's say
/// "NSCocoaErrorDomain error 512").
public enum Folder {
    /// Creates `path` and any missing parents, with the permissions the umask gives; an
    /// existing folder is fine.
    public static func create(_ path: String) throws(LatheError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw LatheError("cannot create the folder \(path): a file of that name is in the way")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path && parent != "/" { try create(parent) }
        if mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw LatheError("cannot create the folder \(path): \(String(cString: strerror(errno)))")
        }
    }
}
