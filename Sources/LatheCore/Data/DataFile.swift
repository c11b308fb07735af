import Foundation

/// Reading whole data files fast: one open, one fstat, reads straight into the array.
public enum DataFile {
    public static func readBytes(_ path: String) throws(LatheError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                if isDir.boolValue { throw LatheError("\(path) is a folder, not a file") }
                throw LatheError("cannot read \(path): \(String(decoding: Array(UnsafeBufferPointer(start: strerror(e), count: strlen(strerror(e)))).map { UInt8(bitPattern: $0) }, as: UTF8.self))")
            }
            throw LatheError("\(path): no such file")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw LatheError("cannot read \(path)") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw LatheError("\(path) is a folder, not a file") }
        var size = Int(st.st_size)
        var out = [UInt8]()
        if size > 0 {
            var failed = false
            out = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
                var off = 0
                while off < size {
                    let n = read(fd, buf.baseAddress! + off, size - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failed = true
                        break
                    }
                    if n == 0 { break }
                    off += n
                }
                initialized = off
            }
            if failed { throw LatheError("cannot read \(path): read error") }
            size = out.count
        }
        // the file may have grown, or be a pipe with no size: read the rest
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LatheError("cannot read \(path): read error")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
