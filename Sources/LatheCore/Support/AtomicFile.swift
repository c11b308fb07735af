import Foundation

/// Atomic file writes: the data goes to a temporary file in the same folder, is flushed to
/// disk, then renamed over the target, so a crash leaves either the old file or the new one,
/// never a torn one. Existing files are only replaced when `overwrite` is true.
public enum AtomicFile {
    /// The process's umask, read once (umask(2) can only be read by setting it).
    static let umaskBits: mode_t = {
        let m = umask(0o022)
        umask(m)
        return m
    }()

    public static func write(_ data: [UInt8], to path: String, overwrite: Bool) throws(LatheError) {
        try write(to: path, overwrite: overwrite) { fd in
            var off = 0
            while off < data.count {
                let n = data.withUnsafeBytes { buf in
                    Glibc.write(fd, buf.baseAddress! + off, data.count - off)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                off += n
            }
            return true
        }
    }

    public static func write(_ text: String, to path: String, overwrite: Bool) throws(LatheError) {
        try write(Array(text.utf8), to: path, overwrite: overwrite)
    }

    /// Writes through `body(fd)` (return false on a write error) into a temporary file, then
    /// renames it into place.
    public static func write(to path: String, overwrite: Bool,
                             _ body: (Int32) throws(LatheError) -> Bool) throws(LatheError) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if path.utf8.contains(0) { throw LatheError("cannot write \(path.debugDescription): the path holds a NUL byte") }
        var st = stat()
        if stat(path, &st) == 0 {
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR { throw LatheError("\(path) is a folder, not a file") }
            // the rename would replace a device or FIFO node with a file (as root: /dev/null)
            if kind != S_IFREG { throw LatheError("\(path) is \(RegularFile.describe(kind)), not a regular file") }
            if !overwrite {
                throw LatheError("\(path) already exists (pass overwrite = true to replace it)")
            }
        }
        let dir = FilePath.parent(path)
        let folder = dir.isEmpty ? "." : dir
        if !fm.fileExists(atPath: folder, isDirectory: &isDir) || !isDir.boolValue {
            throw LatheError("cannot write \(path): folder \(folder) does not exist")
        }
        let base = (path as NSString).lastPathComponent
        var template = Array("\(folder)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 {
            throw LatheError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let tmp = String(cString: template)
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        let wrote: Bool
        do {
            wrote = try body(fd)
        } catch {
            close(fd)
            throw error
        }
        if !wrote {
            let e = String(cString: strerror(errno))
            close(fd)
            throw LatheError("cannot write \(path): \(e)")
        }
        // mkstemp creates 0600; a new file gets what open(2) would give it: 0666 less the umask
        fchmod(fd, 0o666 & ~AtomicFile.umaskBits)
        if fsync(fd) != 0 {
            let e = String(cString: strerror(errno))
            close(fd)
            throw LatheError("cannot write \(path): fsync failed: \(e)")
        }
        close(fd)
        if !overwrite {
            // link() fails if the target appeared meanwhile: never clobber silently
            if link(tmp, path) != 0 {
                let e = errno == EEXIST ? "it already exists (pass overwrite = true to replace it)" : String(cString: strerror(errno))
                throw LatheError("cannot write \(path): \(e)")
            }
            unlink(tmp)
        } else if rename(tmp, path) != 0 {
            throw LatheError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        ok = true
        // make the rename durable
        let dfd = open(folder, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Reads a whole file (a regular file only: see `RegularFile`).
    public static func read(_ path: String) throws(LatheError) -> [UInt8] {
        try RegularFile.read(path)
    }
}
