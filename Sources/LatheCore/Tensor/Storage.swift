import Foundation

/// Element types. float32 is the compute type; int64 holds indices, labels and token ids;
/// bool holds masks (one byte per element). Files may also carry float16, bfloat16, float64
/// and int32, which are converted on load.
public enum DType: String, Sendable, CaseIterable {
    case float32
    case int64
    case bool

    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .int64: return 8
        case .bool: return 1
        }
    }
}

/// A block of 64-byte aligned memory shared by a tensor and its views.
public final class Storage: @unchecked Sendable {
    public let raw: UnsafeMutableRawPointer
    public let byteCount: Int

    /// Uninitialized storage for `byteCount` bytes.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        var p: UnsafeMutableRawPointer? = nil
        let n = max(byteCount, 64)
        if posix_memalign(&p, 64, n) != 0 || p == nil {
            // Callers check sizes against available memory before allocating; reaching this
            // means the system refused a reasonable request.
            fatalError("out of memory allocating \(byteCount) bytes")
        }
        raw = p!
    }

    /// Zero-filled storage.
    public convenience init(zeroedBytes byteCount: Int) {
        self.init(byteCount: byteCount)
        memset(raw, 0, max(byteCount, 0))
    }

    deinit { free(raw) }

    @inline(__always) public var floats: UnsafeMutablePointer<Float> {
        raw.assumingMemoryBound(to: Float.self)
    }
    @inline(__always) public var int64s: UnsafeMutablePointer<Int64> {
        raw.assumingMemoryBound(to: Int64.self)
    }
    @inline(__always) public var bytes: UnsafeMutablePointer<UInt8> {
        raw.assumingMemoryBound(to: UInt8.self)
    }
}
