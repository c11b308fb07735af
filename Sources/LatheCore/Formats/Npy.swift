import Foundation

/// Element types of `.npy` files Lathe reads (the `descr` code without its byte-order
/// character: `<f4` is `.f4`).
public enum NpyDType: String, CaseIterable, Sendable {
    case f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1

    public var byteSize: Int {
        switch self {
        case .i1, .u1, .b1: return 1
        case .f2, .i2, .u2: return 2
        case .f4, .i4, .u4: return 4
        case .f8, .i8, .u8: return 8
        }
    }

    /// The header's `descr` for this type: `<f4` (little-endian), `|b1` (one byte).
    public var descr: String { (byteSize == 1 ? "|" : "<") + rawValue }

    /// The type of a header's `descr` (`<f4`, `|b1`), nil for another byte order or type.
    public init?(descr: String) {
        guard let t = NpyDType.allCases.first(where: { $0.descr == descr }) else { return nil }
        self = t
    }

    /// The Lathe dtype arrays of this type load as (floats -> float32, integers -> int64).
    public var latheDType: DType {
        switch self {
        case .f2, .f4, .f8: return .float32
        case .i1, .i2, .i4, .i8, .u1, .u2, .u4, .u8: return .int64
        case .b1: return .bool
        }
    }
}

/// The header of a `.npy` file.
public struct NpyHeader: Sendable, Equatable {
    /// Format version (1, 2 or 3 as major; minor 0).
    public let major: Int
    public let minor: Int
    /// `descr` as written, e.g. `<f4`.
    public let descr: String
    public let dtype: NpyDType
    /// True for `>` (big-endian) data; Lathe swaps the bytes when loading.
    public let bigEndian: Bool
    /// True when the data is stored column-major; Lathe reorders it when loading.
    public let fortranOrder: Bool
    public let shape: [Int]
    /// Where the array data starts in the file.
    public let dataOffset: Int
}

/// NumPy's `.npy` format (versions 1.0, 2.0 and 3.0): the magic `\x93NUMPY`, two version
/// bytes, a little-endian header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), a Python
/// dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with
/// spaces and a newline so the data starts on a 64-byte boundary, then the raw data.
public enum Npy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads a `.npy` file into a new contiguous tensor (C order; float16/float64 become
    /// float32, every integer type becomes int64, bool stays bool) and returns its header too.
    public static func read(path: String) throws(LatheError) -> (tensor: Tensor, header: NpyHeader) {
        let r = try decode(FileBytes(path: path))
        if !(r.header.dtype == .f4 || r.header.dtype == .i8 || r.header.dtype == .b1) { r.tensor.storedDType = r.header.descr }
        return r
    }

    /// Decodes `.npy` bytes held in memory; `name` is used in error messages.
    public static func decode(bytes: [UInt8], name: String = "<memory>") throws(LatheError) -> (tensor: Tensor, header: NpyHeader) {
        try decode(FileBytes(bytes: bytes, name: name))
    }

    /// Parses and checks the header only.
    public static func header(path: String) throws(LatheError) -> NpyHeader {
        try header(of: FileBytes(path: path))
    }

    static func header(of file: FileBytes) throws(LatheError) -> NpyHeader {
        let p = file.name
        var c = ByteCursor(file) { what in LatheError("\(p): file ends inside the \(what) (truncated?)") }
        let m = try c.raw(6, "magic string")
        if !zip(m, magic).allSatisfy({ $0 == $1 }) {
            throw LatheError("\(p): not a .npy file (it does not start with \\x93NUMPY)")
        }
        let major = Int(try c.u8("version"))
        let minor = Int(try c.u8("version"))
        let hlen: Int
        switch major {
        case 1: hlen = Int(try c.u16("header length"))
        case 2, 3: hlen = Int(try c.u32("header length"))
        default: throw LatheError("\(p): .npy format version \(major).\(minor) is not supported (expected 1.0, 2.0 or 3.0)")
        }
        if hlen > 1_000_000 { throw LatheError("\(p): .npy header length \(hlen) is implausibly large (corrupted?)") }
        let raw = try c.raw(hlen, "header")
        let text: String
        if major == 3 {
            if let bad = firstInvalidUTF8(raw) {
                throw LatheError("\(p): .npy header is not valid UTF-8 (at byte \(bad))")
            }
            text = String(decoding: raw, as: UTF8.self)
        } else {
            text = String(raw.map { Character(Unicode.Scalar($0)) })  // latin-1
        }
        var parser = PyLiteralParser(Array(text.unicodeScalars))
        let dict: [(String, PyLiteral)]
        do { dict = try parser.parseDict() } catch {
            throw LatheError("\(p): cannot parse the .npy header \(text.debugDescription.prefix(120)): \(error.message)")
        }
        var descr: String? = nil, fortran: Bool? = nil, shape: [Int]? = nil
        for (k, v) in dict {
            switch k {
            case "descr":
                guard case .string(let s) = v else {
                    throw LatheError("\(p): .npy descr \(v) is not supported (only simple dtypes such as '<f4')")
                }
                descr = s
            case "fortran_order":
                guard case .bool(let b) = v else { throw LatheError("\(p): .npy fortran_order must be True or False") }
                fortran = b
            case "shape":
                guard case .tuple(let dims) = v else { throw LatheError("\(p): .npy shape must be a tuple of integers") }
                shape = dims
            default:
                throw LatheError("\(p): unexpected key '\(k)' in the .npy header (expected descr, fortran_order, shape)")
            }
        }
        guard let d = descr, let f = fortran, let s = shape, dict.count == 3 else {
            throw LatheError("\(p): the .npy header must have exactly the keys descr, fortran_order and shape")
        }
        let scalars = Array(d.unicodeScalars)
        guard scalars.count >= 2 else { throw LatheError("\(p): .npy dtype '\(d)' is not supported") }
        let order = scalars[0]
        let code = String(String.UnicodeScalarView(scalars.dropFirst()))
        guard "<>|=".unicodeScalars.contains(order), let dt = NpyDType(rawValue: code) else {
            throw LatheError("\(p): .npy dtype '\(d)' is not supported (expected one of \(NpyDType.allCases.map { "<" + $0.rawValue }.joined(separator: ", ")))")
        }
        if s.contains(where: { $0 < 0 }) { throw LatheError("\(p): .npy shape \(shapeText(s)) has a negative size") }
        return NpyHeader(major: major, minor: minor, descr: d, dtype: dt, bigEndian: order == ">" && dt.byteSize > 1,
                         fortranOrder: f, shape: s, dataOffset: c.pos)
    }

    static func decode(_ file: FileBytes) throws(LatheError) -> (tensor: Tensor, header: NpyHeader) {
        let p = file.name
        let h = try header(of: file)
        guard let n = checkedProduct(h.shape), let need = Optional(n.multipliedReportingOverflow(by: h.dtype.byteSize)), !need.overflow else {
            throw LatheError("\(p): .npy shape \(shapeText(h.shape)) is too large (overflow)")
        }
        let have = file.count - h.dataOffset
        if have < need.partialValue {
            throw LatheError("\(p): .npy data is \(have) bytes but \(h.descr) \(shapeText(h.shape)) needs \(need.partialValue) (truncated file?)")
        }
        if have > need.partialValue {
            throw LatheError("\(p): \(have - need.partialValue) unexpected bytes after the .npy array data (corrupted file?)")
        }
        let src = file.base + h.dataOffset
        var swapped: [UInt8] = []
        if h.bigEndian {
            let w = h.dtype.byteSize
            swapped = [UInt8](UnsafeRawBufferPointer(start: src, count: need.partialValue))
            var i = 0
            while i < swapped.count {
                swapped[i..<(i + w)].reverse()
                i += w
            }
        }
        // file order: C order of `shape`, or for fortran_order the C order of reversed `shape`
        try checkTensorFits(elements: n, dtype: h.dtype.latheDType, "\(p): the array")
        let fileShape = h.fortranOrder ? Array(h.shape.reversed()) : h.shape
        let t = try Tensor(uninitialized: fileShape, dtype: h.dtype.latheDType)
        func fill(_ s: UnsafeRawPointer) {
            switch h.dtype {
            case .f4: ElementConversion.copyFloats(s, t.floatPointer, count: n)
            case .f2: ElementConversion.halfToFloat(s, t.floatPointer, count: n)
            case .f8: ElementConversion.doubleToFloat(s, t.floatPointer, count: n)
            case .i8: ElementConversion.copyInt64s(s, t.int64Pointer, count: n)
            case .i4: ElementConversion.int32ToInt64(s, t.int64Pointer, count: n)
            case .i2: ElementConversion.int16ToInt64(s, t.int64Pointer, count: n)
            case .i1: ElementConversion.int8ToInt64(s, t.int64Pointer, count: n)
            case .u4: ElementConversion.uint32ToInt64(s, t.int64Pointer, count: n)
            case .u2: ElementConversion.uint16ToInt64(s, t.int64Pointer, count: n)
            case .u1: ElementConversion.uint8ToInt64(s, t.int64Pointer, count: n)
            case .u8: _ = ElementConversion.uint64ToInt64(s, t.int64Pointer, count: n)
            case .b1: ElementConversion.bytesToBool(s, t.bytePointer, count: n)
            }
        }
        if h.dtype == .u8 {
            var bad: Int? = nil
            if h.bigEndian {
                swapped.withUnsafeBytes { b in
                    if let base = b.baseAddress { bad = ElementConversion.uint64ToInt64(base, t.int64Pointer, count: n) }
                }
            } else {
                bad = ElementConversion.uint64ToInt64(src, t.int64Pointer, count: n)
            }
            if let b = bad { throw LatheError("\(p): uint64 element \(b) is above the int64 range") }
        } else if h.bigEndian {
            swapped.withUnsafeBytes { b in if let base = b.baseAddress { fill(base) } }
        } else if h.dtype == .f4 || h.dtype == .i8 {
            file.copy(from: h.dataOffset, count: need.partialValue, to: t.storage.raw)
        } else {
            fill(src)
        }
        if !h.fortranOrder || h.shape.count < 2 {
            return (h.fortranOrder ? reshaped(t, h.shape) : t, h)
        }
        return (try transposeAll(t, to: h.shape), h)
    }

    /// A contiguous tensor with the same data and a new shape of the same size.
    static func reshaped(_ t: Tensor, _ shape: [Int]) -> Tensor {
        Tensor(storage: t.storage, offset: 0, shape: shape, dtype: t.dtype)
    }

    /// `t` has the reversed shape of `shape` (a column-major array read as row-major): returns
    /// the row-major array of `shape` (reverses the order of all axes).
    static func transposeAll(_ t: Tensor, to shape: [Int]) throws(LatheError) -> Tensor {
        let out = try Tensor(uninitialized: shape, dtype: t.dtype)
        let r = shape.count
        let n = out.count
        if n == 0 { return out }
        // source stride of output axis k: column-major strides of `shape`
        var fstride = [Int](repeating: 1, count: r)
        for k in 1..<r { fstride[k] = fstride[k - 1] * shape[k - 1] }
        let w = t.dtype.byteSize
        let src = t.storage.raw, dst = out.storage.raw
        var idx = [Int](repeating: 0, count: r)
        var s = 0
        for i in 0..<n {
            (dst + i * w).copyMemory(from: src + s * w, byteCount: w)
            var k = r - 1
            while k >= 0 {
                idx[k] += 1
                s += fstride[k]
                if idx[k] < shape[k] { break }
                s -= fstride[k] * shape[k]
                idx[k] = 0
                k -= 1
            }
        }
        return out
    }

    /// The `.npy` bytes NumPy (`np.save`) writes for this tensor: version 1.0, C order,
    /// `<f4` for float32 (or `<f2` / `<f8` when `dtype` says so), `<i8` for int64, `|b1` for bool.
    public static func encode(_ t: Tensor, as dtype: NpyDType? = nil) throws(LatheError) -> [UInt8] {
        let dt = dtype ?? (t.dtype == .float32 ? .f4 : t.dtype == .int64 ? .i8 : .b1)
        let fits: [NpyDType] = t.dtype == .float32 ? [.f2, .f4, .f8] : t.dtype == .int64 ? [.i8] : [.b1]
        if !fits.contains(dt) {
            throw LatheError("\(t.dtype.rawValue) tensors cannot be stored as .npy '\(dt.descr)' (expected one of \(fits.map { "'\($0.descr)'" }.joined(separator: ", ")))")
        }
        let descr = dt.descr
        let shapeRepr: String
        switch t.shape.count {
        case 0: shapeRepr = "()"
        case 1: shapeRepr = "(\(t.shape[0]),)"
        default: shapeRepr = "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeRepr), }"
        if let first = t.shape.first {
            header += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        let hlen = header.utf8.count + 1
        let padlen = 64 - ((8 + 2 + hlen) % 64)   // magic + version, length field, header
        let total = hlen + padlen
        if total > 65535 { throw LatheError("the .npy header is too long") }
        var out = magic + [1, 0, UInt8(total & 0xFF), UInt8(total >> 8)]
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padlen))
        out.append(UInt8(ascii: "\n"))
        let n = t.count
        switch dt {
        case .f4:
            for v in t.toFloatArray() { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .f2:
            for v in t.toFloatArray() { withUnsafeBytes(of: ElementConversion.floatToHalf(v).littleEndian) { out.append(contentsOf: $0) } }
        case .f8:
            for v in t.toFloatArray() { withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .i8:
            for v in try t.toInt64Array() { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        default:
            out.reserveCapacity(out.count + n)
            for v in try t.toInt64Array() { out.append(v != 0 ? 1 : 0) }
        }
        return out
    }

    /// Writes `t` as a `.npy` file (atomically; replaces an existing file only with `overwrite`).
    public static func write(_ t: Tensor, to path: String, as dtype: NpyDType? = nil, overwrite: Bool = false) throws(LatheError) {
        try AtomicFile.write(encode(t, as: dtype), to: path, overwrite: overwrite)
    }
}

/// The values a `.npy` header dict may hold.
enum PyLiteral: CustomStringConvertible {
    case string(String)
    case bool(Bool)
    case int(Int)
    case tuple([Int])
    case other(String)

    var description: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .tuple(let t): return "(" + t.map(String.init).joined(separator: ", ") + ")"
        case .other(let s): return s
        }
    }
}

/// A parser for the small Python literal subset `.npy` headers use: a dict of string keys
/// to strings, True/False, integers and tuples of integers (anything else is rejected).
struct PyLiteralParser {
    let s: [Unicode.Scalar]
    var i = 0
    init(_ s: [Unicode.Scalar]) { self.s = s }

    func fail(_ m: String) -> LatheError { LatheError("\(m) at character \(i)") }
    mutating func space() { while i < s.count && (s[i] == " " || s[i] == "\t" || s[i] == "\n" || s[i] == "\r") { i += 1 } }
    mutating func expect(_ c: Unicode.Scalar) throws(LatheError) {
        space()
        guard i < s.count, s[i] == c else { throw fail("expected '\(c)'") }
        i += 1
    }
    mutating func peekIs(_ c: Unicode.Scalar) -> Bool { space(); return i < s.count && s[i] == c }

    mutating func parseDict() throws(LatheError) -> [(String, PyLiteral)] {
        try expect("{")
        var out: [(String, PyLiteral)] = []
        while true {
            if peekIs("}") { i += 1; break }
            guard case .string(let k) = try value() else { throw fail("dict keys must be strings") }
            try expect(":")
            let v = try value()
            if out.contains(where: { $0.0 == k }) { throw fail("duplicate key '\(k)'") }
            out.append((k, v))
            if peekIs(",") { i += 1; continue }
            try expect("}")
            break
        }
        space()
        if i != s.count { throw fail("unexpected text after the dict") }
        return out
    }

    mutating func integer() throws(LatheError) -> Int {
        space()
        var neg = false
        if i < s.count && (s[i] == "-" || s[i] == "+") { neg = s[i] == "-"; i += 1 }
        var v = 0, digits = 0
        while i < s.count, let d = Int(String(s[i])), s[i].isASCII {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { throw fail("integer too large") }
            v = a; digits += 1; i += 1
        }
        if digits == 0 { throw fail("expected an integer") }
        if i < s.count && (s[i] == "L" || s[i] == "l") { i += 1 }  // Python 2 long
        return neg ? -v : v
    }

    mutating func value() throws(LatheError) -> PyLiteral {
        space()
        guard i < s.count else { throw fail("unexpected end of header") }
        let c = s[i]
        if c == "'" || c == "\"" {
            i += 1
            var out = String.UnicodeScalarView()
            while true {
                guard i < s.count else { throw fail("unterminated string") }
                let d = s[i]
                i += 1
                if d == c { break }
                if d == "\\" {
                    guard i < s.count else { throw fail("unterminated string") }
                    out.append(s[i]); i += 1
                } else {
                    out.append(d)
                }
            }
            return .string(String(out))
        }
        if c == "(" || c == "[" {
            let close: Unicode.Scalar = c == "(" ? ")" : "]"
            i += 1
            var items: [Int] = []
            while true {
                if peekIs(close) { i += 1; break }
                items.append(try integer())
                if peekIs(",") { i += 1; continue }
                try expect(close)
                break
            }
            return c == "(" ? .tuple(items) : .other("[list]")
        }
        if s[i...].starts(with: "True".unicodeScalars) { i += 4; return .bool(true) }
        if s[i...].starts(with: "False".unicodeScalars) { i += 5; return .bool(false) }
        if c == "-" || c == "+" || (c.isASCII && c.properties.numericType != nil) { return .int(try integer()) }
        throw fail("unsupported value")
    }
}
