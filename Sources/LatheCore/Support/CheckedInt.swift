/// Conversions of floating-point numbers (from users, files and float tensors) to integers.
/// Swift's `Int(x)` and `Int64(x)` stop the process on NaN, on infinities and on values past
/// 2^63; every such conversion of a number Lathe did not compute itself goes through these.
extension BinaryFloatingPoint {
    /// The value as an Int64 when it is a whole number an Int64 holds; nil for NaN,
    /// infinities, fractions and magnitudes of 2^63 and more.
    @inlinable public var exactInt64: Int64? { Int64(exactly: self) }

    /// The value as an Int when it is a whole number an Int holds (see `exactInt64`).
    @inlinable public var exactInt: Int? { Int(exactly: self) }

    /// The value truncated toward zero when the result fits in an Int64; nil for NaN,
    /// infinities and magnitudes of 2^63 and more.
    @inlinable public var truncatedInt64: Int64? {
        guard self >= -0x1p63 && self < 0x1p63 else { return nil }  // false for NaN too
        return Int64(self)
    }

    /// The value truncated toward zero when the result fits in an Int (see `truncatedInt64`).
    @inlinable public var truncatedInt: Int? { truncatedInt64.map { Int($0) } }

    /// The value truncated toward zero and clamped to Int's range (NaN gives `nan`), for
    /// numbers that only size or scale something already bounded elsewhere.
    @inlinable public func clampedInt(nan: Int = 0) -> Int {
        if isNaN { return nan }
        if self >= 0x1p63 { return Int.max }
        if self < -0x1p63 { return Int.min }
        return Int(self)
    }
}

extension LatheError {
    /// "`what` must be a whole number from lo to hi (got x)".
    public static func notAnInteger(_ what: String, _ x: Double) -> LatheError {
        LatheError("\(what) must be a whole number that fits in 64 bits (got \(formatNumber(x)))")
    }

    static func formatNumber(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return "\(x)"
    }
}

/// A user's number as an Int64: whole and within 64 bits, else an error naming `what`.
public func checkedInt64(_ x: Double, _ what: String) throws(LatheError) -> Int64 {
    guard let v = x.exactInt64 else { throw LatheError.notAnInteger(what, x) }
    return v
}

/// A user's number as an Int: whole and within 64 bits, else an error naming `what`.
public func checkedInt(_ x: Double, _ what: String) throws(LatheError) -> Int {
    guard let v = x.exactInt else { throw LatheError.notAnInteger(what, x) }
    return v
}
