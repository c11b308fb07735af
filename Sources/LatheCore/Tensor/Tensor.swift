import Foundation

/// An n-dimensional array: row-major storage with shape and strides (in elements), so that
/// transposes, slices and reshapes of contiguous data are views sharing the storage.
/// Autograd fields: `requiresGrad`, `grad`, and `gradFn` (the node that made it).
public final class Tensor: @unchecked Sendable {
    public let storage: Storage
    /// Offset of the first element, in elements.
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
    public let dtype: DType
    /// Elements laid out densely in row-major order (computed once: shape and strides never change).
    public let isContiguous: Bool

    /// Leaves: gradients accumulate in `grad`. Non-leaves: set when any input requires grad.
    public var requiresGrad: Bool = false
    public var grad: Tensor?
    /// The autograd node that produced this tensor (nil for leaves and no-grad results).
    public var gradFn: GradNode?
    /// Optional name (parameters carry their dotted path).
    public var name: String?
    /// The element type in the file this tensor was read from, when it differs from `dtype`
    /// (safetensors "F16", "BF16", "I32"...; .npy "<f2", "<f8"...): values are converted on
    /// load, the origin stays visible.
    public var storedDType: String?

    public init(storage: Storage, offset: Int = 0, shape: [Int], strides: [Int]? = nil, dtype: DType) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        if let strides {
            self.strides = strides
            isContiguous = Tensor.contiguous(shape, strides)
        } else {
            self.strides = Tensor.contiguousStrides(shape)
            isContiguous = true
        }
        self.dtype = dtype
    }

    /// A new uninitialized contiguous tensor; throws when the shape is invalid or the memory
    /// is not there.
    public init(uninitialized shape: [Int], dtype: DType = .float32) throws(LatheError) {
        storage = try Storage.make(byteCount: try Tensor.checkShape(shape, dtype: dtype, checkMemory: false) * dtype.byteSize)
        offset = 0
        self.shape = shape
        strides = Tensor.contiguousStrides(shape)
        isContiguous = true
        self.dtype = dtype
    }

    /// A new tensor over `storage` (from offset 0) with the shape and strides of the contiguous
    /// tensor `like`, sharing its arrays.
    @inline(__always)
    init(storage: Storage, contiguousShapeOf like: Tensor) {
        self.storage = storage
        offset = 0
        shape = like.shape
        strides = like.strides
        isContiguous = true
        dtype = like.dtype
    }

    /// A float32 tensor from values (count must equal the product of shape).
    public convenience init(floats: [Float], shape: [Int]) {
        precondition(floats.count == shape.reduce(1, *), "Tensor(floats:shape:): \(floats.count) values for shape \(shape)")
        // the values are already in memory, so the size was checked when they were made
        try! self.init(uninitialized: shape, dtype: .float32)
        floats.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { storage.floats.update(from: b, count: floats.count) }
        }
    }

    /// An int64 tensor from values.
    public convenience init(int64s: [Int64], shape: [Int]) {
        precondition(int64s.count == shape.reduce(1, *), "Tensor(int64s:shape:): \(int64s.count) values for shape \(shape)")
        // the values are already in memory, so the size was checked when they were made
        try! self.init(uninitialized: shape, dtype: .int64)
        int64s.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { storage.int64s.update(from: b, count: int64s.count) }
        }
    }

    /// A bool tensor from values.
    public convenience init(bools: [Bool], shape: [Int]) {
        precondition(bools.count == shape.reduce(1, *))
        // the values are already in memory, so the size was checked when they were made
        try! self.init(uninitialized: shape, dtype: .bool)
        for (i, b) in bools.enumerated() { storage.bytes[i] = b ? 1 : 0 }
    }

    /// A 0-dimensional float32 tensor.
    public convenience init(scalar: Float) {
        self.init(floats: [scalar], shape: [])
    }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            // wrapping: only a tensor without elements can get here with sizes whose product
            // overflows (checkShape refuses them), and its strides are never used
            acc &*= max(shape[i], 1)
        }
        return s
    }

    @inline(__always) public var rank: Int { shape.count }
    @inline(__always) public var count: Int { shape.reduce(1, *) }

    static func contiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[i] != 1 && strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Bytes of storage this tensor keeps alive (for the Lua collector's accounting).
    public var byteSize: Int { storage.byteCount }

    /// Pointer to the first float element (float32 tensors only).
    @inline(__always) public var floatPointer: UnsafeMutablePointer<Float> { storage.floats + offset }
    @inline(__always) public var int64Pointer: UnsafeMutablePointer<Int64> { storage.int64s + offset }
    @inline(__always) public var bytePointer: UnsafeMutablePointer<UInt8> { storage.bytes + offset }

    /// Calls body(linearIndex, storageIndex) for every element in row-major order.
    @inline(__always)
    public func forEachIndex(_ body: (Int, Int) -> Void) {
        let n = count
        if n == 0 { return }
        if isContiguous {
            for i in 0..<n { body(i, offset + i) }
            return
        }
        let r = rank
        var idx = [Int](repeating: 0, count: r)
        var pos = offset
        for i in 0..<n {
            body(i, pos)
            var d = r - 1
            while d >= 0 {
                idx[d] += 1
                pos += strides[d]
                if idx[d] < shape[d] { break }
                pos -= strides[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// Values as Float in row-major order (any dtype).
    public func toFloatArray() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        switch dtype {
        case .float32:
            let p = storage.floats
            if isContiguous {
                out.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p + offset, count: count) }
            } else {
                forEachIndex { i, s in out[i] = p[s] }
            }
        case .int64:
            let p = storage.int64s
            forEachIndex { i, s in out[i] = Float(p[s]) }
        case .bool:
            let p = storage.bytes
            forEachIndex { i, s in out[i] = p[s] != 0 ? 1 : 0 }
        }
        return out
    }

    /// Values as Double in row-major order (any dtype).
    public func toDoubleArray() -> [Double] {
        var out = [Double](repeating: 0, count: count)
        switch dtype {
        case .float32:
            let p = storage.floats
            forEachIndex { i, s in out[i] = Double(p[s]) }
        case .int64:
            let p = storage.int64s
            forEachIndex { i, s in out[i] = Double(p[s]) }
        case .bool:
            let p = storage.bytes
            forEachIndex { i, s in out[i] = p[s] != 0 ? 1 : 0 }
        }
        return out
    }

    /// Values as Int64 in row-major order (floats are truncated toward zero; NaN, infinities
    /// and floats past 2^63 are an error).
    public func toInt64Array() throws(LatheError) -> [Int64] {
        var out = [Int64](repeating: 0, count: count)
        switch dtype {
        case .float32:
            let p = storage.floats
            var bad: Float? = nil
            forEachIndex { i, s in
                if let v = p[s].truncatedInt64 { out[i] = v } else if bad == nil { bad = p[s] }
            }
            if let bad { throw LatheError("cannot convert \(bad) to an integer (a float tensor holds it where integers were expected)") }
        case .int64:
            let p = storage.int64s
            forEachIndex { i, s in out[i] = p[s] }
        case .bool:
            let p = storage.bytes
            forEachIndex { i, s in out[i] = p[s] != 0 ? 1 : 0 }
        }
        return out
    }

    /// The shape as text: `[2,3]`.
    public var shapeString: String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
}

/// A node of the autograd graph: the inputs of an op and how to turn the gradient of its
/// output into gradients of its inputs.
public final class GradNode {
    public let name: String
    public let inputs: [Tensor]
    /// Given the gradient of the output, returns one gradient (or nil) per input.
    public let backward: (Tensor) throws(LatheError) -> [Tensor?]

    public init(_ name: String, inputs: [Tensor], backward: @escaping (Tensor) throws(LatheError) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}
