import Foundation

/// Element conversions between the number formats model files use and Lathe's float32 /
/// int64 / bool. Bulk loops read unaligned little-endian input (tensor data in a file is not
/// always aligned) and are written without branches so the compiler vectorizes them.
public enum ElementConversion {
    // MARK: IEEE 754 half precision (F16)

    /// The float32 with the same value as half-precision bits `h` (exact; NaN payloads kept).
    @inline(__always) public static func halfToFloat(_ h: UInt16) -> Float {
        let magic = Float(bitPattern: 113 << 23)         // 2^-14: rebias for subnormals
        let expMask: UInt32 = 0x7C00 << 13
        let o = (UInt32(h) & 0x7FFF) << 13
        let exp = o & expMask
        let normal = o &+ ((127 - 15) << 23)
        let infNaN = normal &+ ((128 - 16) << 23)
        let sub = (Float(bitPattern: normal &+ (1 << 23)) - magic).bitPattern
        let bits = exp == expMask ? infNaN : (exp == 0 ? sub : normal)
        return Float(bitPattern: bits | ((UInt32(h) & 0x8000) << 16))
    }

    /// Half-precision bits nearest to `f` (round to nearest, ties to even; overflow gives
    /// infinity; NaN stays NaN with its sign and upper payload, quiet bit set).
    @inline(__always) public static func floatToHalf(_ f: Float) -> UInt16 {
        var x = f.bitPattern
        let sign = x & 0x8000_0000
        x ^= sign
        var o: UInt32
        if x >= 0x4780_0000 {                            // too big for half, Inf or NaN
            o = x > 0x7F80_0000 ? (0x7E00 | ((x >> 13) & 0x3FF)) : 0x7C00
        } else if x < 0x3880_0000 {                      // half subnormal or zero
            let denormMagic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
            let r = Float(bitPattern: x) + Float(bitPattern: denormMagic)
            o = r.bitPattern &- denormMagic
        } else {
            let mantOdd = (x >> 13) & 1
            x = x &+ (UInt32(bitPattern: Int32(15 - 127) << 23) &+ 0xFFF)
            x = x &+ mantOdd
            o = x >> 13
        }
        return UInt16(truncatingIfNeeded: (sign >> 16) | o)
    }

    // MARK: bfloat16 (BF16)

    /// The float32 with the same value as bfloat16 bits `b` (exact).
    @inline(__always) public static func bf16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// bfloat16 bits nearest to `f` (round to nearest, ties to even, as ggml and PyTorch;
    /// NaN keeps its sign and upper payload with the quiet bit set, as ggml does).
    @inline(__always) public static func floatToBF16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if x & 0x7FFF_FFFF > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: ((x & 0xFFFF_0000) | (64 << 16)) >> 16)
        }
        let r = (UInt64(x) + UInt64(0x7FFF + ((x >> 16) & 1))) >> 16
        return UInt16(truncatingIfNeeded: r)
    }

    // MARK: 8-bit floats (read only)

    /// float8 E4M3 ("fn": no infinities, S.1111.111 is NaN), as in safetensors F8_E4M3.
    public static let f8e4m3Table: [Float] = (0..<256).map { i in
        let s: Float = i & 0x80 != 0 ? -1 : 1
        let e = (i >> 3) & 0xF, m = i & 7
        if e == 15 && m == 7 { return .nan }
        if e == 0 { return s * Float(m) / 8 * Float(pow(2.0, -6.0)) }
        return s * (1 + Float(m) / 8) * Float(pow(2.0, Double(e - 7)))
    }

    /// float8 E5M2 (IEEE-like: infinities and NaNs), as in safetensors F8_E5M2.
    public static let f8e5m2Table: [Float] = (0..<256).map { i in
        halfToFloat(UInt16(i) << 8)
    }

    // MARK: bulk conversions (src may be unaligned)

    public static func halfToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            dst[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    public static func bf16ToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
        }
    }

    public static func doubleToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        }
    }

    public static func table8ToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int, table: [Float]) {
        table.withUnsafeBufferPointer { t in
            let s = src.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { dst[i] = t[Int(s[i])] }
        }
    }

    /// Copies `count` float32 values stored little-endian.
    public static func copyFloats(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        if count > 0 { UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4) }
    }

    public static func copyInt64s(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        if count > 0 { UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 8) }
    }

    public static func int32ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        for i in 0..<count { dst[i] = Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
    }
    public static func uint32ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        for i in 0..<count { dst[i] = Int64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
    }
    public static func int16ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        for i in 0..<count { dst[i] = Int64(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
    }
    public static func uint16ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        for i in 0..<count { dst[i] = Int64(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    }
    public static func int8ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        let s = src.assumingMemoryBound(to: Int8.self)
        for i in 0..<count { dst[i] = Int64(s[i]) }
    }
    public static func uint8ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) {
        let s = src.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { dst[i] = Int64(s[i]) }
    }
    /// uint64 to int64; returns the index of the first value above Int64.max (nothing is
    /// written past it), or nil when all fit.
    public static func uint64ToInt64(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Int64>, count: Int) -> Int? {
        for i in 0..<count {
            let v = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
            if v > UInt64(Int64.max) { return i }
            dst[i] = Int64(v)
        }
        return nil
    }
    /// Bytes to bool (any non-zero byte is true, stored as 1).
    public static func bytesToBool(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<UInt8>, count: Int) {
        let s = src.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { dst[i] = s[i] != 0 ? 1 : 0 }
    }
}
