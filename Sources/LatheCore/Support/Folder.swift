import Foundation

/// Creating folders with errors that say what is in the way (Foundation's say
/// "NSCocoaErrorDomain error 512").
public enum Folder {
    /// Creates `path` and any missing parents, with the permissions the umask gives; an
    /// existing folder is fine.
    public static func create(_ path: String) throws(LatheError) {
        if path.utf8.contains(0) { throw LatheError("cannot create the folder \(path.debugDescription): the path holds a NUL byte") }
        try create(path, asked: path)
    }

    /// Creates `path` for the folder `asked` (named in errors, with what is in the way).
    static func create(_ path: String, asked: String) throws(LatheError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            let where_ = path == asked ? "a file of that name is in the way" : "\(path) is a file, not a folder"
            throw LatheError("cannot create the folder \(asked): \(where_)")
        }
        let parent = FilePath.parent(path)
        if !parent.isEmpty && parent != path && parent != "/" { try create(parent, asked: asked) }
        if mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw LatheError("cannot create the folder \(asked): \(String(cString: strerror(errno)))")
        }
    }
}
