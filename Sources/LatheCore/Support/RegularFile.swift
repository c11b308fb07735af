import Foundation

/// Opening files to read. Only regular files are read: a FIFO named like a model file would
/// block `open` until some writer appears (forever, deaf to Ctrl-C), and a folder or a device
/// gives errors that say nothing useful. The file is opened without blocking, checked, then read.
public enum RegularFile {
    /// An open descriptor of the regular file at `path` and its size. The caller closes it.
    public static func open(_ path: String) throws(LatheError) -> (fd: Int32, size: Int) {
        // C would read the path only up to the NUL: another file than the one named
        if path.utf8.contains(0) { throw LatheError("cannot read \(path.debugDescription): the path holds a NUL byte") }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw LatheError("\(path): no such file") }
            if e == EISDIR { throw LatheError("\(path) is a folder, not a file") }
            throw LatheError("cannot read \(path): \(String(cString: strerror(e)))")
        }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = errno
            Glibc.close(fd)
            throw LatheError("cannot read \(path): \(String(cString: strerror(e)))")
        }
        let kind = st.st_mode & S_IFMT
        if kind != S_IFREG {
            Glibc.close(fd)
            throw LatheError("\(path) is \(describe(kind)), not a regular file")
        }
        // reads of a regular file never block; clear the flag for tidiness
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return (fd, Int(st.st_size))
    }

    /// The whole file.
    public static func read(_ path: String) throws(LatheError) -> [UInt8] {
        let (fd, size) = try open(path)
        defer { Glibc.close(fd) }
        var out = [UInt8](repeating: 0, count: size)
        var off = 0
        while off < size {
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + off, size - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LatheError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            off += n
        }
        if off < size { out.removeLast(size - off) }  // the file shrank meanwhile
        return out
    }

    static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a file"
        }
    }
}
