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
