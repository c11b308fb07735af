import Foundation

extension Tensor {
    /// The most dimensions a tensor may have (numpy's limit).
    public static let maxRank = 64

    /// Validates a shape and returns its element count (no negatives, no overflow, within
    /// the memory limit).
    public static func checkShape(_ shape: [Int], dtype: DType = .float32, checkMemory: Bool = true) throws(LatheError) -> Int {
        if shape.count > maxRank {
            throw LatheError("a tensor has at most \(maxRank) dimensions (got \(shape.count))")
        }
        var n = 1, span = 1
        for d in shape {
            if d < 0 { throw LatheError("negative size \(d) in shape \(Tensor.shapeString(shape))") }
            let (m, o) = n.multipliedReportingOverflow(by: d)
            // the sizes other than 0 must multiply too (as numpy asks): strides are made of them
            let (sp, o2) = span.multipliedReportingOverflow(by: max(d, 1))
            if o || o2 { throw LatheError("shape \(Tensor.shapeString(shape)) has too many elements") }
            n = m
            span = sp
        }
        let (bytes, o) = n.multipliedReportingOverflow(by: dtype.byteSize)
        if o || bytes > TensorMemory.maxBytes {
            throw LatheError("shape \(Tensor.shapeString(shape)) needs \(Tensor.humanBytes(Double(n) * Double(dtype.byteSize))), more than Lathe allocates at once")
        }
        if checkMemory { do { try TensorMemory.checkAvailable(bytes) } catch {
            throw LatheError("shape \(Tensor.shapeString(shape)): \(error.message)")
        } }
        return n
    }

    public static func shapeString(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }

    public static func humanBytes(_ b: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = b
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[u])
    }

    /// Memory this process can still get (see `MemoryBudget.available`; 0 if unknown).
    static func availableMemory() -> Int { MemoryBudget.available() }

    /// A new contiguous tensor after checking the shape.
    public static func empty(_ shape: [Int], dtype: DType = .float32) throws(LatheError) -> Tensor {
        _ = try checkShape(shape, dtype: dtype)
        return try Tensor(uninitialized: shape, dtype: dtype)
    }

    /// Filled with a value.
    public static func full(_ shape: [Int], _ value: Float) throws(LatheError) -> Tensor {
        let t = try Tensor(uninitialized: shape, dtype: .float32)
        let n = t.count
        let p = t.storage.floats
        if value == 0 {
            memset(p, 0, n * 4)
        } else {
            Parallel.chunks(n, grain: 1 << 18) { lo, hi in
                (p + lo).initialize(repeating: value, count: hi - lo)
            }
        }
        return t
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32) throws(LatheError) -> Tensor {
        _ = try checkShape(shape, dtype: dtype)
        let t = Tensor(storage: try Storage.zeroed(byteCount: shape.reduce(1, *) * dtype.byteSize), shape: shape, dtype: dtype)
        return t
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32) throws(LatheError) -> Tensor {
        try filled(shape, 1, dtype: dtype)
    }

    public static func filled(_ shape: [Int], _ value: Double, dtype: DType = .float32) throws(LatheError) -> Tensor {
        _ = try checkShape(shape, dtype: dtype)
        switch dtype {
        case .float32: return try full(shape, Float(value))
        case .int64:
            return try filled(shape, int64: try checkedInt64(value, "the fill value of an int64 tensor"))
        case .bool:
            let t = try Tensor(uninitialized: shape, dtype: .bool)
            t.storage.bytes.initialize(repeating: value != 0 ? 1 : 0, count: t.count)
            return t
        }
    }

    /// An int64 tensor filled with one value.
    public static func filled(_ shape: [Int], int64 value: Int64) throws(LatheError) -> Tensor {
        _ = try checkShape(shape, dtype: .int64)
        let t = try Tensor(uninitialized: shape, dtype: .int64)
        t.storage.int64s.initialize(repeating: value, count: t.count)
        return t
    }

    /// A tensor of `dtype` from row-major values (a Lua table's, a JSON array's); int64 takes
    /// only integral values, bool is true for nonzero.
    public static func from(values: [Double], shape: [Int], dtype: DType) throws(LatheError) -> Tensor {
        let n = try checkShape(shape, dtype: dtype)
        if n != values.count { throw LatheError("shape \(shapeString(shape)) holds \(n) values, got \(values.count)") }
        switch dtype {
        case .float32: return Tensor(floats: values.map { Float($0) }, shape: shape)
        case .bool: return Tensor(bools: values.map { $0 != 0 }, shape: shape)
        case .int64:
            var ints = [Int64](); ints.reserveCapacity(values.count)
            for v in values { ints.append(try checkedInt64(v, "value")) }
            return Tensor(int64s: ints, shape: shape)
        }
    }

    /// Values from start (inclusive) to stop (exclusive) by step, as numpy's arange.
    public static func arange(_ start: Double, _ stop: Double, _ step: Double, dtype: DType) throws(LatheError) -> Tensor {
        if step == 0 { throw LatheError("step must not be zero") }
        if !start.isFinite || !stop.isFinite || !step.isFinite { throw LatheError("arange needs finite numbers") }
        let steps = ((stop - start) / step).rounded(.up)
        guard let count = steps.truncatedInt else {
            throw LatheError("arange from \(start) to \(stop) by \(step) has too many elements")
        }
        let n = max(0, count)
        let t = try empty([n], dtype: dtype)
        switch dtype {
        case .float32:
            let p = t.storage.floats
            for i in 0..<n { p[i] = Float(start + Double(i) * step) }
        case .int64:
            let p = t.storage.int64s
            for i in 0..<n {
                guard let v = (start + Double(i) * step).truncatedInt64 else {
                    throw LatheError("arange value \(start + Double(i) * step) does not fit in int64")
                }
                p[i] = v
            }
        case .bool:
            throw LatheError("arange cannot make a bool tensor")
        }
        return t
    }

    /// Integers from start (inclusive) to stop (exclusive) by step, exactly (no rounding
    /// through doubles past 2^53).
    public static func arange(int64 start: Int64, _ stop: Int64, _ step: Int64) throws(LatheError) -> Tensor {
        if step == 0 { throw LatheError("step must not be zero") }
        // the span as a magnitude in the step's direction; past Int64 it has too many elements
        let (span, o) = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
        if o { throw LatheError("arange from \(start) to \(stop) has too many elements") }
        let mag = step == Int64.min ? UInt64(1) << 63 : UInt64(abs(step))
        let n = span <= 0 ? 0 : Int((UInt64(span) + mag - 1) / mag)
        let t = try empty([n], dtype: .int64)
        let p = t.storage.int64s
        var v = start
        for i in 0..<n {
            p[i] = v
            if i + 1 < n { v &+= step }  // stays within [start, stop): no overflow
        }
        return t
    }

    /// n evenly spaced values from a to b inclusive.
    public static func linspace(_ a: Double, _ b: Double, _ n: Int) throws(LatheError) -> Tensor {
        if n < 0 { throw LatheError("number of points must be non-negative, got \(n)") }
        let t = try empty([n])
        let p = t.storage.floats
        if n == 1 { p[0] = Float(a) }
        if n > 1 {
            let step = (b - a) / Double(n - 1)
            for i in 0..<n { p[i] = Float(a + Double(i) * step) }
            p[n - 1] = Float(b)
        }
        return t
    }

    /// Identity matrix n x m.
    public static func eye(_ n: Int, _ m: Int? = nil) throws(LatheError) -> Tensor {
        let mm = m ?? n
        let t = try zeros([n, mm])
        let p = t.storage.floats
        for i in 0..<min(n, mm) { p[i * mm + i] = 1 }
        return t
    }

    /// Uniform [0, 1) from the seeded generator.
    public static func rand(_ shape: [Int], rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        let t = try empty(shape)
        let p = t.storage.floats
        for i in 0..<t.count { p[i] = rng.uniformFloat() }
        return t
    }

    /// Standard normal from the seeded generator.
    public static func randn(_ shape: [Int], rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        let t = try empty(shape)
        let p = t.storage.floats
        for i in 0..<t.count { p[i] = Float(rng.normal()) }
        return t
    }

    /// Integers uniform in [low, high).
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        if high <= low { throw LatheError("randint needs low < high (got \(low) and \(high))") }
        let t = try empty(shape, dtype: .int64)
        let p = t.storage.int64s
        // high - low may pass Int64.max (randint(-2^63, 2^63-1)); as unsigned it is exact
        let span = UInt64(bitPattern: Int64(high) &- Int64(low))
        for i in 0..<t.count { p[i] = Int64(low) &+ Int64(bitPattern: rng.below64(span)) }
        return t
    }

    /// Uniform in [a, b) (parameter initialization).
    public static func uniform(_ shape: [Int], _ a: Float, _ b: Float, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        let t = try empty(shape)
        let p = t.storage.floats
        let w = b - a
        for i in 0..<t.count { p[i] = a + w * rng.uniformFloat() }
        return t
    }

    /// A 0-d or 1-element tensor's value.
    public func item() throws(LatheError) -> Double {
        guard count == 1 else {
            throw LatheError("item() needs a single-element tensor, got shape \(shapeString)")
        }
        switch dtype {
        case .float32: return Double(storage.floats[offset])
        case .int64: return Double(storage.int64s[offset])
        case .bool: return storage.bytes[offset] != 0 ? 1 : 0
        }
    }

    /// The one element, exactly (int64 values past 2^53 are not rounded through a Double).
    public func itemScalar() throws(LatheError) -> TensorScalar {
        guard count == 1 else {
            throw LatheError("item() needs a single-element tensor, got shape \(shapeString)")
        }
        return scalar(at: offset)
    }

    /// The element at a storage index, exactly.
    public func scalar(at storageIndex: Int) -> TensorScalar {
        switch dtype {
        case .float32: return .float(storage.floats[storageIndex])
        case .int64: return .int(storage.int64s[storageIndex])
        case .bool: return .bool(storage.bytes[storageIndex] != 0)
        }
    }
}

/// One tensor element in its own type.
public enum TensorScalar: Equatable, Sendable {
    case float(Float)
    case int(Int64)
    case bool(Bool)
}
