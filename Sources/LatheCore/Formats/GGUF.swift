import Foundation

/// Types of GGUF metadata values (the numbers stored in the file).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of a fixed-size value (0 for string and array).
    var fixedSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return 0
        }
    }
    /// The fewest bytes one value of this type takes in a file (for checking counts).
    var minSize: Int {
        switch self {
        case .string: return 8            // length
        case .array: return 12            // element type + count
        default: return fixedSize
        }
    }
}

/// A GGUF metadata value. Arrays keep their element type (arrays of arrays are allowed).
public indirect enum GGUFValue: Equatable, Sendable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// The value of any integer type, when it fits in Int.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): return Int(v)
        default: return nil
        }
    }
    /// The value of any number type as a Double (float32 widened exactly).
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [GGUFValue]? { if case .array(_, let a) = self { return a }; return nil }
    /// An array of strings as [String] (nil for anything else).
    public var stringArray: [String]? {
        guard case .array(.string, let a) = self else { return nil }
        return a.compactMap(\.string)
    }
    /// An array of integers as [Int] (nil for anything else).
    public var intArray: [Int]? {
        guard case .array(_, let a) = self else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a { guard let i = v.int else { return nil }; out.append(i) }
        return out
    }
    /// An array of numbers as [Float] (nil for anything else).
    public var floatArray: [Float]? {
        guard case .array(_, let a) = self else { return nil }
        var out: [Float] = []
        out.reserveCapacity(a.count)
        for v in a { guard let d = v.double else { return nil }; out.append(Float(d)) }
        return out
    }

    public var description: String {
        switch self {
        case .string(let s): return s.debugDescription
        case .bool(let b): return b ? "true" : "false"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .array(let t, let a):
            let head = a.prefix(4).map(\.description).joined(separator: ", ")
            return "[\(t) x \(a.count): \(head)\(a.count > 4 ? ", ..." : "")]"
        default: return int.map(String.init) ?? "?"
        }
    }
}

/// ggml tensor types. Lathe dequantizes F32, F16, BF16, F64, Q8_0, Q4_0 and Q4_1; the others
/// are known (so files holding them open and their sizes are checked) but `tensor(_:)` refuses
/// them by name.
///
/// Block layouts of the quantized types Lathe reads (little-endian, blocks of 32 consecutive
/// elements along the row, `ne[0]` a multiple of 32; `f16` is IEEE half precision):
/// - `Q8_0`, 34 bytes: `d: f16`, `qs: [Int8; 32]`; `x[j] = Float(qs[j]) * d`.
/// - `Q4_0`, 18 bytes: `d: f16`, `qs: [UInt8; 16]`; `x[j] = Float(Int(qs[j] & 0xF) - 8) * d`
///   and `x[j + 16] = Float(Int(qs[j] >> 4) - 8) * d` for j in 0..<16 (low nibbles hold the
///   first half of the block, high nibbles the second half).
/// - `Q4_1`, 20 bytes: `d: f16`, `m: f16`, `qs: [UInt8; 16]`; `x[j] = Float(qs[j] & 0xF) * d + m`,
///   `x[j + 16] = Float(qs[j] >> 4) * d + m` (product rounded to float32 before the add).
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// The name ggml and gguf-py use (`Q4_1`, `F16`, ...).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .iq2_XXS: return "IQ2_XXS"
        case .iq2_XS: return "IQ2_XS"
        case .iq3_XXS: return "IQ3_XXS"
        case .iq1_S: return "IQ1_S"
        case .iq4_NL: return "IQ4_NL"
        case .iq3_S: return "IQ3_S"
        case .iq2_S: return "IQ2_S"
        case .iq4_XS: return "IQ4_XS"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .iq1_M: return "IQ1_M"
        case .bf16: return "BF16"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        case .q1_0: return "Q1_0"
        }
    }

    /// Elements per block and bytes per block (1 and the element size for plain types).
    public var blockSize: Int { GGMLType.sizes(self).0 }
    public var typeSize: Int { GGMLType.sizes(self).1 }

    static func sizes(_ t: GGMLType) -> (Int, Int) {
        let K = 256
        switch t {
        case .f32: return (1, 4)
        case .f16: return (1, 2)
        case .q4_0: return (32, 2 + 16)
        case .q4_1: return (32, 2 + 2 + 16)
        case .q5_0: return (32, 2 + 4 + 16)
        case .q5_1: return (32, 2 + 2 + 4 + 16)
        case .q8_0: return (32, 2 + 32)
        case .q8_1: return (32, 4 + 4 + 32)
        case .q2_K: return (K, 2 + 2 + K / 16 + K / 4)
        case .q3_K: return (K, 2 + K / 4 + K / 8 + 12)
        case .q4_K: return (K, 2 + 2 + K / 2 + 12)
        case .q5_K: return (K, 2 + 2 + K / 2 + K / 8 + 12)
        case .q6_K: return (K, 2 + K / 2 + K / 4 + K / 16)
        case .q8_K: return (K, 4 + K + K / 8)
        case .iq2_XXS: return (K, 2 + K / 4)
        case .iq2_XS: return (K, 2 + K / 4 + K / 32)
        case .iq3_XXS: return (K, 2 + K / 4 + K / 8)
        case .iq1_S: return (K, 2 + K / 8 + K / 16)
        case .iq4_NL: return (32, 2 + 16)
        case .iq3_S: return (K, 2 + K / 4 + K / 8 + K / 32 + 4)
        case .iq2_S: return (K, 2 + K / 4 + K / 16)
        case .iq4_XS: return (K, 2 + 2 + K / 2 + K / 64)
        case .i8: return (1, 1)
        case .i16: return (1, 2)
        case .i32: return (1, 4)
        case .i64: return (1, 8)
        case .f64: return (1, 8)
        case .iq1_M: return (K, K / 8 + K / 16 + K / 32)
        case .bf16: return (1, 2)
        case .tq1_0: return (K, 2 + 4 * 13)
        case .tq2_0: return (K, 2 + 64)
        case .mxfp4: return (32, 1 + 16)
        case .nvfp4: return (64, 4 + 32)
        case .q1_0: return (128, 2 + 16)
        }
    }

    /// Types `dequantize` handles.
    public static let dequantizable: [GGMLType] = [.f32, .f16, .bf16, .f64, .q8_0, .q4_0, .q4_1]
    public var canDequantize: Bool { GGMLType.dequantizable.contains(self) }

    /// Converts `count` elements (a multiple of `blockSize`) of this type at `src` (any
    /// alignment) to float32 at `dst`, exactly as ggml's and gguf-py's dequantize do. Throws for
    /// types Lathe does not dequantize.
    public func dequantize(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) throws(LatheError) {
        if count % blockSize != 0 {
            throw LatheError("\(self): \(count) elements is not a whole number of \(blockSize)-element blocks")
        }
        switch self {
        case .f32: ElementConversion.copyFloats(src, dst, count: count)
        case .f16: ElementConversion.halfToFloat(src, dst, count: count)
        case .bf16: ElementConversion.bf16ToFloat(src, dst, count: count)
        case .f64: ElementConversion.doubleToFloat(src, dst, count: count)
        case .q8_0: GGMLType.dequantizeQ8_0(src, dst, blocks: count / 32)
        case .q4_0: GGMLType.dequantizeQ4_0(src, dst, blocks: count / 32)
        case .q4_1: GGMLType.dequantizeQ4_1(src, dst, blocks: count / 32)
        default:
            throw LatheError("\(self) tensors cannot be dequantized by Lathe yet (supported: \(GGMLType.dequantizable.map(\.description).joined(separator: ", ")))")
        }
    }

    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ off: Int) -> Float {
        ElementConversion.halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: off, as: UInt16.self)))
    }

    static func dequantizeQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let blk = src + b * 34
            let d = f16(blk, 0)
            let q = (blk + 2).assumingMemoryBound(to: Int8.self)
            let o = dst + b * 32
            for j in 0..<32 { o[j] = Float(q[j]) * d }
        }
    }

    static func dequantizeQ4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let blk = src + b * 18
            let d = f16(blk, 0)
            let q = (blk + 2).assumingMemoryBound(to: UInt8.self)
            let o = dst + b * 32
            for j in 0..<16 {
                let v = q[j]
                o[j] = Float(Int32(v & 0x0F) - 8) * d
                o[j + 16] = Float(Int32(v >> 4) - 8) * d
            }
        }
    }

    static func dequantizeQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let blk = src + b * 20
            let d = f16(blk, 0)
            let m = f16(blk, 2)
            let q = (blk + 4).assumingMemoryBound(to: UInt8.self)
            let o = dst + b * 32
            for j in 0..<16 {
                let v = q[j]
                let lo = Float(v & 0x0F) * d
                let hi = Float(v >> 4) * d
                o[j] = lo + m
                o[j + 16] = hi + m
            }
        }
    }
}

/// One tensor of a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// Dimensions as GGUF lists them, fastest-varying first (ggml's `ne`).
    public let dims: [Int]
    /// Offset of the data relative to the start of the data section.
    public let offset: Int
    /// Absolute offset of the data in the file.
    public let fileOffset: Int
    /// Bytes of data (whole blocks).
    public let byteCount: Int
    /// The row-major shape Lathe uses: `dims` reversed (`[576, 49152]` in the file is a
    /// `[49152, 576]` tensor: 49152 rows of 576).
    public var shape: [Int] { dims.reversed() }
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A GGUF file (llama.cpp's model format, versions 2 and 3), opened for reading: the header,
/// metadata and tensor table are parsed and validated when it opens; the file is
/// memory-mapped and tensors are dequantized only when asked for.
///
/// Layout: `GGUF` magic, u32 version, u64 tensor count, u64 metadata count; metadata as
/// (string key, u32 type, value) with strings as u64 length + UTF-8 bytes and arrays as
/// u32 element type + u64 count + values; then per tensor: name, u32 n_dims, u64 dims
/// (fastest first), u32 ggml type, u64 offset; then padding to `general.alignment` (default
/// 32) and the data section, each tensor at an aligned offset within it.
///
///     let g = try GGUFFile(path: "SmolLM2-135M-Instruct.Q4_1.gguf")
///     g["llama.block_count"]?.int                  // 30
///     let w = try g.tensor("blk.0.attn_q.weight")  // float32 [576, 576]
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    /// `general.alignment` or 32.
    public let alignment: Int
    /// Where the data section starts in the file.
    public let dataOffset: Int
    /// Metadata keys in file order.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    let index: [String: Int]
    let bytes: FileBytes

    /// Deepest nesting of arrays accepted in metadata.
    static let maxArrayDepth = 8
    /// Most dimensions a tensor may have (ggml's GGML_MAX_DIMS).
    static let maxDims = 4

    public convenience init(path: String) throws(LatheError) {
        try self.init(file: FileBytes(path: path))
    }

    /// Parses GGUF bytes held in memory; `name` is used in error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws(LatheError) {
        try self.init(file: FileBytes(bytes: bytes, name: name))
    }

    init(file: FileBytes) throws(LatheError) {
        bytes = file
        path = file.name
        let p = file.name
        var c = ByteCursor(file) { what in LatheError("\(p): file ends inside \(what) (truncated?)") }
        let magic = try c.raw(4, "the magic")
        if !(magic[0] == 0x47 && magic[1] == 0x47 && magic[2] == 0x55 && magic[3] == 0x46) {
            throw LatheError("\(p): not a GGUF file (it does not start with 'GGUF')")
        }
        let v = try c.u32("the version")
        if v & 0xFFFF == 0 && v != 0 {
            throw LatheError("\(p): GGUF version \(v) looks byte-swapped (big-endian files are not supported)")
        }
        if v == 1 { throw LatheError("\(p): GGUF version 1 is not supported (re-convert the model; versions 2 and 3 are read)") }
        if v != 2 && v != 3 { throw LatheError("\(p): GGUF version \(v) is not supported (expected 2 or 3)") }
        version = Int(v)
        let nTensors = try c.u64("the tensor count")
        let nKV = try c.u64("the metadata count")
        // a metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor entry at least 8 + 4 + 4 + 8
        if nKV > UInt64(c.remaining / 13) {
            throw LatheError("\(p): header claims \(nKV) metadata entries, more than the file can hold (corrupted?)")
        }
        if nTensors > UInt64(c.remaining / 24) {
            throw LatheError("\(p): header claims \(nTensors) tensors, more than the file can hold (corrupted?)")
        }

        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(nKV))
        for i in 0..<Int(nKV) {
            let key = try GGUFFile.readString(&c, what: "metadata key \(i)", path: p)
            if meta[key] != nil { throw LatheError("\(p): metadata key '\(key)' appears twice") }
            let rawType = try c.u32("the type of '\(key)'")
            guard let t = GGUFValueType(rawValue: rawType) else {
                throw LatheError("\(p): metadata '\(key)' has unknown value type \(rawType)")
            }
            meta[key] = try GGUFFile.readValue(&c, type: t, key: key, depth: 0, path: p)
            keys.append(key)
        }
        self.keys = keys
        metadata = meta

        var align = 32
        if let a = meta["general.alignment"] {
            guard case .uint32(let av) = a else {
                throw LatheError("\(p): general.alignment must be a uint32 (got \(a.type))")
            }
            if av == 0 || av & (av - 1) != 0 {
                throw LatheError("\(p): general.alignment \(av) is not a power of two")
            }
            align = Int(av)
        }
        alignment = align

        var infos: [GGUFTensorInfo] = []
        var rawOffsets: [Int] = []
        infos.reserveCapacity(Int(nTensors))
        var index: [String: Int] = [:]
        for i in 0..<Int(nTensors) {
            let name = try GGUFFile.readString(&c, what: "the name of tensor \(i)", path: p)
            if index[name] != nil { throw LatheError("\(p): tensor '\(name)' appears twice") }
            let w = "\(p): tensor '\(name)'"
            let nd = try c.u32("the dimension count of tensor '\(name)'")
            if nd > UInt32(GGUFFile.maxDims) {
                throw LatheError("\(w) has \(nd) dimensions (at most \(GGUFFile.maxDims) allowed)")
            }
            var dims: [Int] = []
            for _ in 0..<Int(nd) {
                let d = try c.u64("the dimensions of tensor '\(name)'")
                if d > UInt64(Int64.max) { throw LatheError("\(w): dimension \(d) is negative or too large") }
                dims.append(Int(d))
            }
            let rawType = try c.u32("the type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw LatheError("\(w) has unknown ggml type \(rawType)")
            }
            let off = try c.u64("the offset of tensor '\(name)'")
            guard let count = checkedProduct(dims) else {
                throw LatheError("\(w): dimensions \(shapeText(dims)) have too many elements (overflow)")
            }
            let rowLen = dims.first ?? 1
            if rowLen % type.blockSize != 0 {
                throw LatheError("\(w): rows of \(rowLen) elements are not a whole number of \(type) blocks (\(type.blockSize) elements)")
            }
            let (nb, o) = (count / type.blockSize).multipliedReportingOverflow(by: type.typeSize)
            if o { throw LatheError("\(w): \(shapeText(dims)) is too large (overflow)") }
            if off > UInt64(Int.max / 2) { throw LatheError("\(w): data offset \(off) is beyond any file") }
            if Int(off) % align != 0 {
                throw LatheError("\(w): data offset \(off) is not a multiple of the alignment \(align)")
            }
            index[name] = infos.count
            rawOffsets.append(Int(off))
            infos.append(GGUFTensorInfo(name: name, type: type, dims: dims, offset: Int(off), fileOffset: 0, byteCount: nb))
        }
        let pad = (align - c.pos % align) % align
        let start = c.pos + pad
        dataOffset = start
        var fixed: [GGUFTensorInfo] = []
        fixed.reserveCapacity(infos.count)
        for t in infos {
            let abs = start + t.offset
            if abs > file.count || t.byteCount > file.count - abs {
                throw LatheError("\(p): tensor '\(t.name)': data [\(abs), \(abs + t.byteCount)) extends past the end of the \(file.count)-byte file (truncated?)")
            }
            fixed.append(GGUFTensorInfo(name: t.name, type: t.type, dims: t.dims, offset: t.offset, fileOffset: abs, byteCount: t.byteCount))
        }
        let byOffset = fixed.sorted { $0.offset < $1.offset }
        for k in byOffset.indices.dropFirst() {
            let a = byOffset[k - 1], b = byOffset[k]
            if a.offset + a.byteCount > b.offset && a.byteCount > 0 && b.byteCount > 0 {
                throw LatheError("\(p): tensors '\(a.name)' and '\(b.name)' overlap in the data section")
            }
        }
        tensors = fixed
        self.index = index
    }

    static func readString(_ c: inout ByteCursor, what: String, path p: String) throws(LatheError) -> String {
        let n = try c.u64("the length of \(what)")
        if n > UInt64(c.remaining) {
            throw LatheError("\(p): \(what) claims \(n) bytes, past the end of the file (truncated?)")
        }
        let b = try c.raw(Int(n), what)
        if let bad = firstInvalidUTF8(b) {
            throw LatheError("\(p): \(what) is not valid UTF-8 (at byte \(bad))")
        }
        return String(decoding: b, as: UTF8.self)
    }

    static func readValue(_ c: inout ByteCursor, type: GGUFValueType, key: String, depth: Int,
                          path p: String) throws(LatheError) -> GGUFValue {
        let w = "the value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try c.u8(w))
        case .int8: return .int8(Int8(bitPattern: try c.u8(w)))
        case .uint16: return .uint16(try c.u16(w))
        case .int16: return .int16(Int16(bitPattern: try c.u16(w)))
        case .uint32: return .uint32(try c.u32(w))
        case .int32: return .int32(Int32(bitPattern: try c.u32(w)))
        case .uint64: return .uint64(try c.u64(w))
        case .int64: return .int64(Int64(bitPattern: try c.u64(w)))
        case .float32: return .float32(Float(bitPattern: try c.u32(w)))
        case .float64: return .float64(Double(bitPattern: try c.u64(w)))
        case .bool:
            let b = try c.u8(w)
            if b > 1 { throw LatheError("\(p): metadata '\(key)': bool byte is \(b) (expected 0 or 1)") }
            return .bool(b == 1)
        case .string: return .string(try readString(&c, what: w, path: p))
        case .array:
            if depth >= maxArrayDepth { throw LatheError("\(p): metadata '\(key)': arrays nested deeper than \(maxArrayDepth) levels") }
            let rt = try c.u32("the element type of '\(key)'")
            guard let et = GGUFValueType(rawValue: rt) else {
                throw LatheError("\(p): metadata '\(key)': unknown array element type \(rt)")
            }
            let n = try c.u64("the length of '\(key)'")
            if n > UInt64(c.remaining / max(et.minSize, 1)) {
                throw LatheError("\(p): metadata '\(key)': array of \(n) \(et) values does not fit in the rest of the file (truncated or corrupted?)")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(n))
            for _ in 0..<Int(n) {
                items.append(try readValue(&c, type: et, key: key, depth: depth + 1, path: p))
            }
            return .array(et, items)
        }
    }

    /// The metadata value for `key`, or nil.
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// `general.architecture` (e.g. "llama").
    public var architecture: String? { metadata["general.architecture"]?.string }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func info(_ name: String) throws(LatheError) -> GGUFTensorInfo {
        guard let i = index[name] else {
            var msg = "\(path): no tensor named '\(name)'"
            if let s = closestName(to: name, in: tensors.map(\.name)) { msg += " (did you mean '\(s)'?)" }
            throw LatheError(msg)
        }
        return tensors[i]
    }

    /// Calls `body` with the tensor's stored bytes (quantized blocks as laid out in the file; see
    /// `GGMLType` for the layouts). Rows are `dims[0]` elements, i.e. `dims[0] / blockSize`
    /// blocks of `typeSize` bytes; the buffer is valid only during the call.
    public func withRawData<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws(LatheError) -> R) throws(LatheError) -> R {
        let i = try info(name)
        return try body(UnsafeRawBufferPointer(start: bytes.base + i.fileOffset, count: i.byteCount))
    }

    /// A copy of the tensor's stored bytes (see `withRawData`).
    public func rawData(_ name: String) throws(LatheError) -> [UInt8] {
        try withRawData(name) { b in [UInt8](b) }
    }

    /// The tensor dequantized to a new float32 tensor of row-major `shape` (`dims` reversed).
    /// Throws, naming the type, for types Lathe cannot dequantize (I8..I64 included).
    public func tensor(_ name: String) throws(LatheError) -> Tensor {
        let i = try info(name)
        guard i.type.canDequantize else {
            throw LatheError("\(path): tensor '\(name)' is \(i.type), which Lathe cannot dequantize yet (supported: \(GGMLType.dequantizable.map(\.description).joined(separator: ", ")))")
        }
        let n = i.elementCount
        try checkTensorFits(elements: n, dtype: .float32, "\(path): tensor '\(name)'")
        let t = try Tensor(uninitialized: i.shape, dtype: .float32)
        // dequantize in slices of rows so a Ctrl-C can stop a big tensor early
        let rowElems = max(i.dims.first ?? 1, 1)
        let rows = n / rowElems
        let rowBytes = rowElems / i.type.blockSize * i.type.typeSize
        let step = max(1, (1 << 22) / rowElems)
        var r = 0
        while r < rows {
            try Interrupt.check()
            let m = min(step, rows - r)
            try i.type.dequantize(bytes.base + i.fileOffset + r * rowBytes, into: t.floatPointer + r * rowElems, count: m * rowElems)
            r += m
        }
        t.name = name
        return t
    }
}
