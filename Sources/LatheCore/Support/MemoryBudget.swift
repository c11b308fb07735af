import Foundation

/// How much more memory this process can get, and the check every allocation sized by a
/// user's number or a file's field goes through before it is made. Swift arrays cannot report
/// a refused allocation (the process stops), so their sizes are checked here first; tensor
/// buffers are checked by `Storage.make`, which also survives a refusal.
public enum MemoryBudget {
    /// Requests up to this size are not checked against the system (reading /proc costs
    /// microseconds; small requests that fail mean the process is lost anyway).
    public static let uncheckedBytes = 64 << 20

    /// The least of: the system's available memory (MemAvailable), the cgroup's limit less its
    /// usage (containers: MemAvailable counts the whole machine), the address-space limit
    /// (`ulimit -v`) less what is mapped, and `LATHE_MEMORY_LIMIT` less the resident memory.
    /// 0 when none is known.
    public static func available() -> Int {
        var best = Int.max
        if let m = memAvailable() { best = min(best, m) }
        if let c = cgroupHeadroom() { best = min(best, c) }
        if let a = addressSpaceHeadroom() { best = min(best, a) }
        if let l = limit, let r = residentBytes() { best = min(best, l - r) }
        return best == Int.max ? 0 : max(best, 0)
    }

    /// `LATHE_MEMORY_LIMIT` (bytes, or with a K, M or G suffix): a cap on the memory Lathe
    /// plans to use, for shared machines and for builds where `ulimit -v` cannot apply (the
    /// AddressSanitizer reserves terabytes of address space).
    public static let limit: Int? = {
        guard let s = ProcessInfo.processInfo.environment["LATHE_MEMORY_LIMIT"], !s.isEmpty else { return nil }
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        if let u = s.last.flatMap({ units[$0] }), let n = Int(s.dropLast()) { return n.multipliedReportingOverflow(by: u).overflow ? nil : n * u }
        return Int(s)
    }()

    static func residentBytes() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let f = s.split(separator: " ")
        guard f.count > 1, let pages = Int(f[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Throws unless `count` values of `type` fit: not negative, no overflow, and (past
    /// `uncheckedBytes`) within `available()`. `what` names the thing in the error.
    public static func check<T>(count: Int, of type: T.Type, for what: String) throws(LatheError) {
        if count < 0 { throw LatheError("\(what): negative size \(count)") }
        let (bytes, o) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        if o { throw LatheError("\(what): \(count) items do not fit in memory") }
        try check(bytes: bytes, for: what)
    }

    /// Throws unless `bytes` fit (see `check(count:of:for:)`).
    public static func check(bytes: Int, for what: String) throws(LatheError) {
        if bytes <= uncheckedBytes { return }
        let avail = available()
        if avail > 0 && bytes > avail {
            throw LatheError("\(what) needs \(Tensor.humanBytes(Double(bytes))), but only \(Tensor.humanBytes(Double(avail))) of memory is available")
        }
    }

    static func memAvailable() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }

    static func readInt(_ path: String) -> Int? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(s.trimmingCharacters(in: .whitespacesAndNewlines))  // "max" gives nil
    }

    /// The memory cgroup's limit less its usage (v2: memory.max, v1: memory.limit_in_bytes),
    /// for the process's own cgroup; nil when unlimited or unknown.
    static func cgroupHeadroom() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty {
                let dir = "/sys/fs/cgroup" + (path == "/" ? "" : path)
                if let limit = readInt(dir + "/memory.max"), let used = readInt(dir + "/memory.current") {
                    return limit - used
                }
            } else if parts[1].split(separator: ",").contains("memory") {
                for dir in ["/sys/fs/cgroup/memory" + path, "/sys/fs/cgroup/memory"] {
                    if let limit = readInt(dir + "/memory.limit_in_bytes"), let used = readInt(dir + "/memory.usage_in_bytes") {
                        // v1 reports "no limit" as a huge page-rounded number
                        return limit >= (1 << 60) ? nil : limit - used
                    }
                }
            }
        }
        return nil
    }

    /// RLIMIT_AS less the mapped address space (/proc/self/statm); nil when unlimited.
    static func addressSpaceHeadroom() -> Int? {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &r) == 0, r.rlim_cur != rlim_t.max else { return nil }
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = s.split(separator: " ").first.flatMap({ Int($0) }) else { return nil }
        let limit = r.rlim_cur > UInt(Int.max) ? Int.max : Int(r.rlim_cur)
        return limit - pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
