import Foundation

/// Element types a safetensors header can name, in the order of the reference implementation
/// (Rust crate `safetensors`, whose enum order is also the writer's sort order: tensors are
/// written by descending dtype, then by name).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6e2m3 = "F6_E2M3"
    case f6e3m2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case f8e8m0 = "F8_E8M0"
    case f8e4m3fnuz = "F8_E4M3FNUZ"
    case f8e5m2fnuz = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element (F4 and F6 pack several elements per byte).
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// The Lathe dtype a tensor of this type loads as (floats -> float32, integers -> int64,
    /// BOOL -> bool), or nil when Lathe cannot load it (F4, F6, F8_E8M0, the FNUZ float8s, C64).
    public var latheDType: DType? {
        switch self {
        case .f32, .f16, .bf16, .f64, .f8e4m3, .f8e5m2: return .float32
        case .i64, .i32, .i16, .i8, .u8, .u16, .u32, .u64: return .int64
        case .bool: return .bool
        case .f4, .f6e2m3, .f6e3m2, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz, .c64: return nil
        }
    }

    /// Position in the reference enum (the writer sorts by descending rank).
    var rank: Int { SafetensorsDType.allCases.firstIndex(of: self) ?? 0 }

    static let loadable: String = allCases.filter { $0.latheDType != nil }.map(\.rawValue).joined(separator: ", ")

    /// The float types weights are written in, by PyTorch's names (`torch_dtype`) and short ones.
    public static let floatNames: [(name: String, dtype: SafetensorsDType)] = [
        ("float32", .f32), ("float16", .f16), ("bfloat16", .bf16), ("f32", .f32), ("f16", .f16), ("bf16", .bf16),
    ]
    public init?(floatName: String) {
        guard let d = SafetensorsDType.floatNames.first(where: { $0.name == floatName })?.dtype else { return nil }
        self = d
    }
}

/// What a safetensors header says about one tensor.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    /// The dtype stored in the file (`tensor(name)` converts it; see `SafetensorsDType.latheDType`).
    public let dtype: SafetensorsDType
    /// Row-major shape (`[]` for a scalar).
    public let shape: [Int]
    /// `data_offsets`: the tensor's bytes in the data buffer that follows the header.
    public let dataOffsets: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file opened for reading: the header is parsed and fully validated when the
/// file opens (as the reference Rust crate does, and more: duplicate names are rejected and
/// every error names the file and the tensor); the file itself is memory-mapped and each
/// tensor is copied and converted only when `tensor(_:)` asks for it.
///
/// Layout: 8-byte little-endian header size N, N bytes of UTF-8 JSON
/// `{"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
/// "data_offsets": [begin, end]}, ...}`, then the data buffer; the offsets are relative to the
/// buffer, tensors are C-order little-endian, and together they cover the buffer exactly.
///
///     let f = try SafetensorsFile(path: "model.safetensors")
///     for name in f.names { print(name, try f.info(name).shape) }
///     let w = try f.tensor("encoder.layer.0.attention.self.query.weight")   // float32 Tensor
public final class SafetensorsFile: @unchecked Sendable {
    /// The path (or name) given when opening; every error message starts with it.
    public let path: String
    /// Tensor names in the order of their data in the file.
    public let names: [String]
    /// The `__metadata__` map (string to string), nil when the header has none.
    public let metadata: [String: String]?
    /// N, the header's size in bytes (the data buffer starts at byte 8 + N).
    public let headerSize: Int
    let bytes: FileBytes
    let infos: [String: SafetensorsTensorInfo]

    /// The largest header accepted (the reference crate's limit).
    public static let maxHeaderSize = 100_000_000

    /// Opens and validates the file at `path` (memory-mapped; nothing is copied yet).
    public convenience init(path: String) throws(LatheError) {
        try self.init(file: FileBytes(path: path))
    }

    /// Parses a safetensors file held in memory; `name` is used in error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws(LatheError) {
        try self.init(file: FileBytes(bytes: bytes, name: name))
    }

    init(file: FileBytes) throws(LatheError) {
        bytes = file
        path = file.name
        let p = file.name
        let total = file.count
        if total < 8 {
            throw LatheError("\(p): file is \(total) bytes, too short for a safetensors file (at least 8 bytes of header size expected; truncated?)")
        }
        let n64 = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        if n64 > UInt64(SafetensorsFile.maxHeaderSize) {
            throw LatheError("\(p): header size \(n64) is over the 100 MB limit (not a safetensors file, or corrupted)")
        }
        let n = Int(n64)
        if n > total - 8 {
            throw LatheError("\(p): header size \(n) exceeds the \(total - 8) bytes after the size field (truncated file?)")
        }
        headerSize = n
        let bufferSize = total - 8 - n
        let json: JSONValue
        do {
            json = try JSONValue.parse(UnsafeRawBufferPointer(start: file.base + 8, count: n))
        } catch {
            throw LatheError("\(p): header is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = json else {
            throw LatheError("\(p): header is not a JSON object (got \(json.kind))")
        }

        var meta: [String: String]? = nil
        var seen = Set<String>()
        var list: [SafetensorsTensorInfo] = []
        list.reserveCapacity(members.count)
        for (key, value) in members {
            if !seen.insert(key).inserted {
                throw LatheError(key == "__metadata__" ? "\(p): header has two '__metadata__' entries"
                                                       : "\(p): tensor '\(key)' appears twice in the header")
            }
            if key == "__metadata__" {
                switch value {
                case .null: continue
                case .object(let kv):
                    var m: [String: String] = [:]
                    for (k, v) in kv {
                        guard case .string(let s) = v else {
                            throw LatheError("\(p): __metadata__ value for '\(k)' must be a string (got \(v.kind))")
                        }
                        m[k] = s
                    }
                    meta = m
                default:
                    throw LatheError("\(p): __metadata__ must be an object of strings (got \(value.kind))")
                }
                continue
            }
            list.append(try SafetensorsFile.parseEntry(key, value, path: p, bufferSize: bufferSize))
        }

        // the tensors must tile the buffer exactly: sorted by offsets, each starts where the
        // previous one ended, and the last ends at the end of the file
        let sorted = list.enumerated().sorted { a, b in
            let (x, y) = (a.element.dataOffsets, b.element.dataOffsets)
            if x.lowerBound != y.lowerBound { return x.lowerBound < y.lowerBound }
            if x.upperBound != y.upperBound { return x.upperBound < y.upperBound }
            return a.offset < b.offset
        }.map(\.element)
        var end = 0
        var previous: SafetensorsTensorInfo? = nil
        for t in sorted {
            let r = t.dataOffsets
            if r.lowerBound < end, let q = previous {
                throw LatheError("\(p): tensors '\(q.name)' (bytes [\(q.dataOffsets.lowerBound), \(q.dataOffsets.upperBound)]) and '\(t.name)' (bytes [\(r.lowerBound), \(r.upperBound)]) overlap")
            }
            if r.lowerBound > end {
                throw LatheError("\(p): bytes [\(end), \(r.lowerBound)] of the data buffer belong to no tensor (before tensor '\(t.name)')")
            }
            end = r.upperBound
            previous = t
        }
        if end != bufferSize {
            throw LatheError("\(p): the tensors cover \(end) bytes but the data buffer has \(bufferSize) (extra or missing bytes at the end of the file)")
        }
        names = sorted.map(\.name)
        var map: [String: SafetensorsTensorInfo] = [:]
        map.reserveCapacity(sorted.count)
        for t in sorted { map[t.name] = t }
        infos = map
        metadata = meta
    }

    static func parseEntry(_ name: String, _ value: JSONValue, path p: String, bufferSize: Int) throws(LatheError) -> SafetensorsTensorInfo {
        let where_ = "\(p): tensor '\(name)'"
        guard case .object = value else {
            throw LatheError("\(where_): expected an object with dtype, shape and data_offsets (got \(value.kind))")
        }
        guard let dv = value["dtype"] else { throw LatheError("\(where_): missing 'dtype'") }
        guard case .string(let ds) = dv else { throw LatheError("\(where_): 'dtype' must be a string (got \(dv.kind))") }
        guard let dtype = SafetensorsDType(rawValue: ds) else {
            throw LatheError("\(where_): unknown dtype '\(ds)' (expected one of \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let sv = value["shape"] else { throw LatheError("\(where_): missing 'shape'") }
        guard case .array(let dims) = sv else { throw LatheError("\(where_): 'shape' must be an array (got \(sv.kind))") }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for d in dims {
            guard let v = d.nonNegativeInt else {
                throw LatheError("\(where_): shape entries must be non-negative integers (got \(d.compactText))")
            }
            shape.append(v)
        }
        guard let ov = value["data_offsets"] else { throw LatheError("\(where_): missing 'data_offsets'") }
        guard case .array(let offs) = ov, offs.count == 2 else {
            throw LatheError("\(where_): 'data_offsets' must be an array of 2 integers (got \(ov.compactText.prefix(60)))")
        }
        guard let b = offs[0].nonNegativeInt, let e = offs[1].nonNegativeInt else {
            throw LatheError("\(where_): data_offsets must be non-negative integers (got \(ov.compactText.prefix(60)))")
        }
        if e < b {
            throw LatheError("\(where_): data_offsets [\(b), \(e)] end before they begin")
        }
        if e > bufferSize {
            throw LatheError("\(where_): data_offsets [\(b), \(e)] exceed the \(bufferSize)-byte buffer")
        }
        guard let count = checkedProduct(shape) else {
            throw LatheError("\(where_): shape \(shapeText(shape)) has too many elements (overflow)")
        }
        let (bits, o) = count.multipliedReportingOverflow(by: dtype.bitSize)
        if o { throw LatheError("\(where_): shape \(shapeText(shape)) is too large for \(dtype.rawValue) (overflow)") }
        if bits % 8 != 0 {
            throw LatheError("\(where_): \(count) elements of \(dtype.rawValue) do not fill whole bytes")
        }
        if bits / 8 != e - b {
            throw LatheError("\(where_): data_offsets [\(b), \(e)] hold \(e - b) bytes but \(dtype.rawValue) \(shapeText(shape)) needs \(bits / 8)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: b..<e)
    }

    /// True when the file has a tensor of that name.
    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The header entry of one tensor (dtype, shape, offsets).
    public func info(_ name: String) throws(LatheError) -> SafetensorsTensorInfo {
        guard let i = infos[name] else { throw missing(name) }
        return i
    }

    func missing(_ name: String) -> LatheError {
        var msg = "\(path): no tensor named '\(name)'"
        if let s = closestName(to: name, in: names) { msg += " (did you mean '\(s)'?)" }
        else if names.isEmpty { msg += " (the file has no tensors)" }
        return LatheError(msg)
    }

    /// Calls `body` with the tensor's raw bytes as stored in the file (little-endian, C order,
    /// `info(name).dtype`). The buffer is valid only during the call.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws(LatheError) -> R) throws(LatheError) -> R {
        let i = try info(name)
        return try body(UnsafeRawBufferPointer(start: bytes.base + 8 + headerSize + i.dataOffsets.lowerBound, count: i.dataOffsets.count))
    }

    /// Copies one tensor out of the file into a new contiguous Lathe tensor, converting
    /// F16/BF16/F64/F8 to float32, I32/I16/I8/U8/U16/U32/U64 to int64, BOOL to bool (any non-zero
    /// byte is true). Throws for dtypes Lathe cannot load and for U64 values above Int64.max.
    public func tensor(_ name: String) throws(LatheError) -> Tensor {
        let i = try info(name)
        guard let dt = i.dtype.latheDType else {
            throw LatheError("\(path): tensor '\(name)' has dtype \(i.dtype.rawValue), which Lathe cannot load (supported: \(SafetensorsDType.loadable))")
        }
        let n = i.elementCount
        try checkTensorFits(elements: n, dtype: dt, "\(path): tensor '\(name)'")
        let t = try Tensor(uninitialized: i.shape, dtype: dt)
        let start = 8 + headerSize + i.dataOffsets.lowerBound
        let src = bytes.base + start
        switch i.dtype {
        case .f32: bytes.copy(from: start, count: n * 4, to: t.storage.raw)
        case .f16: ElementConversion.halfToFloat(src, t.floatPointer, count: n)
        case .bf16: ElementConversion.bf16ToFloat(src, t.floatPointer, count: n)
        case .f64: ElementConversion.doubleToFloat(src, t.floatPointer, count: n)
        case .f8e4m3: ElementConversion.table8ToFloat(src, t.floatPointer, count: n, table: ElementConversion.f8e4m3Table)
        case .f8e5m2: ElementConversion.table8ToFloat(src, t.floatPointer, count: n, table: ElementConversion.f8e5m2Table)
        case .i64: bytes.copy(from: start, count: n * 8, to: t.storage.raw)
        case .i32: ElementConversion.int32ToInt64(src, t.int64Pointer, count: n)
        case .u32: ElementConversion.uint32ToInt64(src, t.int64Pointer, count: n)
        case .i16: ElementConversion.int16ToInt64(src, t.int64Pointer, count: n)
        case .u16: ElementConversion.uint16ToInt64(src, t.int64Pointer, count: n)
        case .i8: ElementConversion.int8ToInt64(src, t.int64Pointer, count: n)
        case .u8: ElementConversion.uint8ToInt64(src, t.int64Pointer, count: n)
        case .u64:
            if let bad = ElementConversion.uint64ToInt64(src, t.int64Pointer, count: n) {
                throw LatheError("\(path): tensor '\(name)': U64 element \(bad) is above the int64 range")
            }
        case .bool: ElementConversion.bytesToBool(src, t.bytePointer, count: n)
        default:
            throw LatheError("\(path): tensor '\(name)' has dtype \(i.dtype.rawValue), which Lathe cannot load")
        }
        t.name = name
        if !(i.dtype == .f32 || i.dtype == .i64 || i.dtype == .bool) { t.storedDType = i.dtype.rawValue }
        return t
    }

    /// Every tensor, in file order (stops cleanly on Ctrl-C).
    public func tensors() throws(LatheError) -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        out.reserveCapacity(names.count)
        for n in names {
            try Interrupt.check()
            out.append((n, try tensor(n)))
        }
        return out
    }
}

// MARK: - Writing

/// Writes safetensors files byte-identical to what Python's `safetensors` (0.8.0) writes for
/// the same tensors: header `{"__metadata__":{...},"name":{"dtype":..,"shape":[..],
/// "data_offsets":[b,e]},...}` in compact JSON, tensors ordered by descending dtype (I64,
/// F32, BF16, F16, BOOL, ...) then by name (byte order), header padded with spaces to a
/// multiple of 8, then the tensors' bytes back to back.
///
/// Metadata keys are written sorted. (Python's package writes them in hash-map order, which
/// changes from run to run when there are two or more keys; with zero or one key the files are
/// identical, and any reader gets the same map either way.)
public enum SafetensorsWriter {
    /// The dtypes the writer can store: float32 tensors as F32, F16 or BF16 (round to nearest,
    /// ties to even); int64 tensors as I64; bool tensors as BOOL.
    public static let writable: [SafetensorsDType] = [.f32, .f16, .bf16, .i64, .bool]
    /// The types float32 tensors can be stored as, by the names torch gives them.
    public static let floatTypes: [(name: String, dtype: SafetensorsDType)] = [("float32", .f32), ("float16", .f16), ("bfloat16", .bf16)]

    struct Planned {
        let name: String
        let tensor: Tensor
        let dtype: SafetensorsDType
        let byteCount: Int
    }

    /// Orders, checks and sizes the tensors and builds the padded header.
    static func plan(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]?,
                     floatDType: SafetensorsDType) throws(LatheError) -> (header: [UInt8], items: [Planned]) {
        guard [.f32, .f16, .bf16].contains(floatDType) else {
            throw LatheError("float tensors can be stored as F32, F16 or BF16 (got \(floatDType.rawValue))")
        }
        var seen = Set<String>()
        var items: [Planned] = []
        for (name, t) in tensors {
            if name == "__metadata__" { throw LatheError("'__metadata__' cannot be a tensor name") }
            if !seen.insert(name).inserted { throw LatheError("tensor name '\(name)' is given twice") }
            let dt: SafetensorsDType
            switch t.dtype {
            case .float32: dt = floatDType
            case .int64: dt = .i64
            case .bool: dt = .bool
            }
            items.append(Planned(name: name, tensor: t, dtype: dt, byteCount: t.count * dt.bitSize / 8))
        }
        items.sort { a, b in
            if a.dtype.rank != b.dtype.rank { return a.dtype.rank > b.dtype.rank }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
        var h = "{"
        var first = true
        if let m = metadata {
            h += "\"__metadata__\":{"
            let keys = m.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (i, k) in keys.enumerated() {
                if i > 0 { h += "," }
                JSONValue.appendQuoted(k, to: &h)
                h += ":"
                JSONValue.appendQuoted(m[k] ?? "", to: &h)
            }
            h += "}"
            first = false
        }
        var offset = 0
        for it in items {
            if !first { h += "," }
            first = false
            JSONValue.appendQuoted(it.name, to: &h)
            h += ":{\"dtype\":\"\(it.dtype.rawValue)\",\"shape\":["
            h += it.tensor.shape.map(String.init).joined(separator: ",")
            h += "],\"data_offsets\":[\(offset),\(offset + it.byteCount)]}"
            offset += it.byteCount
        }
        h += "}"
        var header = Array(h.utf8)
        let pad = (8 - header.count % 8) % 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: pad))
        var out = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { b in
            for i in 0..<8 { out[i] = b[i] }
        }
        out.append(contentsOf: header)
        return (out, items)
    }

    /// Streams one tensor's bytes (row-major, converted to `dtype`) into `sink` in chunks.
    static func emit(_ t: Tensor, as dtype: SafetensorsDType,
                     _ sink: (UnsafeRawBufferPointer) throws(LatheError) -> Void) throws(LatheError) {
        let n = t.count
        if n == 0 { return }
        switch dtype {
        case .f32, .i64, .bool:
            let size = t.dtype.byteSize
            if t.isContiguous {
                try sink(UnsafeRawBufferPointer(start: t.storage.raw + t.offset * size, count: n * size))
            } else {
                switch t.dtype {
                case .float32:
                    let a = t.toFloatArray()
                    try withRawBytes(of: a) { (b) throws(LatheError) in try sink(b) }
                case .int64:
                    let a = try t.toInt64Array()
                    try withRawBytes(of: a) { (b) throws(LatheError) in try sink(b) }
                case .bool:
                    var a = [UInt8](repeating: 0, count: n)
                    let p = t.storage.bytes
                    t.forEachIndex { i, s in a[i] = p[s] }
                    try withRawBytes(of: a) { (b) throws(LatheError) in try sink(b) }
                }
            }
        case .f16, .bf16:
            if t.isContiguous {
                try emitHalf(UnsafePointer(t.floatPointer), count: n, bf16: dtype == .bf16, sink)
            } else {
                let a = t.toFloatArray()
                try withBuffer(of: a) { (b) throws(LatheError) in
                    if let p = b.baseAddress { try emitHalf(p, count: n, bf16: dtype == .bf16, sink) }
                }
            }
        default:
            throw LatheError("cannot write dtype \(dtype.rawValue)")
        }
    }

    static func emitHalf(_ values: UnsafePointer<Float>, count n: Int, bf16: Bool,
                         _ sink: (UnsafeRawBufferPointer) throws(LatheError) -> Void) throws(LatheError) {
        let chunk = 1 << 16
        var buf = [UInt16](repeating: 0, count: min(chunk, n))
        var start = 0
        while start < n {
            let m = min(chunk, n - start)
            buf.withUnsafeMutableBufferPointer { b in
                if bf16 {
                    for i in 0..<m { b[i] = ElementConversion.floatToBF16(values[start + i]).littleEndian }
                } else {
                    for i in 0..<m { b[i] = ElementConversion.floatToHalf(values[start + i]).littleEndian }
                }
            }
            try withRawBytes(of: buf) { (b) throws(LatheError) in try sink(UnsafeRawBufferPointer(rebasing: b[0..<(2 * m)])) }
            start += m
        }
    }

    /// The whole file as bytes. `floatDType` says how float32 tensors are stored (F32, F16 or
    /// BF16); int64 tensors are stored as I64 and bool tensors as BOOL. Names must be unique.
    public static func serialize(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]? = nil,
                                 floatDType: SafetensorsDType = .f32) throws(LatheError) -> [UInt8] {
        let (header, items) = try plan(tensors, metadata: metadata, floatDType: floatDType)
        var out = header
        out.reserveCapacity(header.count + items.reduce(0) { $0 + $1.byteCount })
        for it in items {
            try emit(it.tensor, as: it.dtype) { b in out.append(contentsOf: b) }
        }
        return out
    }

    /// Writes the file atomically (temporary file, fsync, rename), streaming tensor by tensor
    /// so no second copy of the weights is built in memory. Existing files are replaced only
    /// when `overwrite` is true.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to path: String,
                             metadata: [String: String]? = nil, floatDType: SafetensorsDType = .f32,
                             overwrite: Bool = false) throws(LatheError) {
        let (header, items) = try plan(tensors, metadata: metadata, floatDType: floatDType)
        try AtomicFile.write(to: path, overwrite: overwrite) { (fd) throws(LatheError) -> Bool in
            var ok = true
            func put(_ b: UnsafeRawBufferPointer) throws(LatheError) {
                guard ok, let base = b.baseAddress else { return }
                var off = 0
                while off < b.count {
                    let w = Glibc.write(fd, base + off, b.count - off)
                    if w < 0 {
                        if errno == EINTR { continue }
                        ok = false
                        return
                    }
                    off += w
                }
            }
            try withRawBytes(of: header) { (b) throws(LatheError) in try put(b) }
            for it in items {
                try Interrupt.check()
                try emit(it.tensor, as: it.dtype, put)
                if !ok { return false }
            }
            return ok
        }
    }
}

/// The tensors of a checkpoint stored as one safetensors file or as shards listed by an index
/// (`model.safetensors.index.json`: `{"metadata": {...}, "weight_map": {"tensor name":
/// "model-00001-of-00002.safetensors", ...}}`), the way Hugging Face saves large models.
public final class SafetensorsCheckpoint: @unchecked Sendable {
    /// The path given when opening.
    public let path: String
    /// All tensor names, sorted.
    public let names: [String]
    /// The opened files (one, or one per shard in the order of the index).
    public let files: [SafetensorsFile]
    let owner: [String: Int]

    /// Opens `path`: a `.safetensors` file, an index `.json`, or a folder holding
    /// `model.safetensors.index.json` or `model.safetensors`.
    public init(path: String) throws(LatheError) {
        self.path = path
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw LatheError("\(path): no such file or folder") }
        var target = path
        if isDir.boolValue {
            let index = (path as NSString).appendingPathComponent("model.safetensors.index.json")
            let single = (path as NSString).appendingPathComponent("model.safetensors")
            if fm.fileExists(atPath: index) { target = index }
            else if fm.fileExists(atPath: single) { target = single }
            else {
                throw LatheError("\(path): folder has neither model.safetensors.index.json nor model.safetensors")
            }
        }
        if target.hasSuffix(".json") {
            let text = try AtomicFile.read(target)
            let json: JSONValue
            do { json = try JSONValue.parse(text) } catch { throw LatheError("\(target): \(error.message)") }
            guard let wm = json["weight_map"] else { throw LatheError("\(target): no 'weight_map' in the index") }
            guard case .object(let entries) = wm else {
                throw LatheError("\(target): 'weight_map' must be an object (got \(wm.kind))")
            }
            let dir = FilePath.parent(target)
            var shardIndex: [String: Int] = [:]
            var files: [SafetensorsFile] = []
            var owner: [String: Int] = [:]
            for (tensor, v) in entries {
                guard case .string(let shard) = v else {
                    throw LatheError("\(target): weight_map entry for '\(tensor)' must be a file name (got \(v.kind))")
                }
                if shard.isEmpty || shard.hasPrefix("/") || shard.split(separator: "/").contains("..") {
                    throw LatheError("\(target): weight_map entry for '\(tensor)' names '\(shard)', which is not a file inside the checkpoint folder")
                }
                if owner[tensor] != nil { throw LatheError("\(target): tensor '\(tensor)' appears twice in weight_map") }
                let idx: Int
                if let i = shardIndex[shard] { idx = i } else {
                    let f = try SafetensorsFile(path: dir.isEmpty ? shard : (dir as NSString).appendingPathComponent(shard))
                    idx = files.count
                    files.append(f)
                    shardIndex[shard] = idx
                }
                if !files[idx].contains(tensor) {
                    throw LatheError("\(files[idx].path): no tensor '\(tensor)', although \(target) maps it to this shard")
                }
                owner[tensor] = idx
            }
            self.files = files
            self.owner = owner
            names = owner.keys.sorted()
        } else {
            let f = try SafetensorsFile(path: target)
            files = [f]
            var o: [String: Int] = [:]
            for n in f.names { o[n] = 0 }
            owner = o
            names = f.names.sorted()
        }
    }

    /// The file that holds tensor `name`.
    public func file(for name: String) throws(LatheError) -> SafetensorsFile {
        guard let i = owner[name] else {
            var msg = "\(path): no tensor named '\(name)'"
            if let s = closestName(to: name, in: names) { msg += " (did you mean '\(s)'?)" }
            throw LatheError(msg)
        }
        return files[i]
    }

    public func contains(_ name: String) -> Bool { owner[name] != nil }
    public func info(_ name: String) throws(LatheError) -> SafetensorsTensorInfo { try file(for: name).info(name) }
    public func tensor(_ name: String) throws(LatheError) -> Tensor { try file(for: name).tensor(name) }
}

/// The candidate closest to `name` by edit distance, if it is plausibly a typo.
func closestName(to name: String, in candidates: [String]) -> String? {
    let a = Array(name.utf8)
    var best: (String, Int)? = nil
    for c in candidates.prefix(100_000) {
        let b = Array(c.utf8)
        if abs(a.count - b.count) > 3 { continue }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...max(a.count, 1) where a.count > 0 {
            cur[0] = i
            for j in 1...max(b.count, 1) where b.count > 0 {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        let d = a.isEmpty ? b.count : prev[b.count]
        if d <= 3 && d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best?.0
}
