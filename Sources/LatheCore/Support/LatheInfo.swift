import Foundation

/// Version and build facts.
public enum LatheInfo {
    public static let version = "0.1.0"
}

/// Seconds on a monotonic clock (for timing).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension Int {
    /// 1234567 as "1,234,567".
    public var groupedThousands: String {
        let digits = String(self.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return self < 0 ? "-" + out : out
    }
}
