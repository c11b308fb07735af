import Foundation

/// Reductions that add in the same order as NumPy (pairwise summation), so averages agree with
/// scikit-learn to the last bit.
public enum NumPy {
    /// `np.sum` of a float64 array (NumPy's pairwise summation, blocks of 8, PW_BLOCKSIZE 128).
    public static func sum(_ a: [Double]) -> Double {
        a.withUnsafeBufferPointer { pairwise($0.baseAddress, $0.count) }
    }

    static func pairwise(_ a: UnsafePointer<Double>?, _ n: Int) -> Double {
        guard let a else { return 0 }
        if n < 8 {
            var res = 0.0
            for i in 0..<n { res += a[i] }
            return res
        } else if n <= 128 {
            var r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7]
            var i = 8
            while i < n - (n % 8) {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
                i += 8
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n { res += a[i]; i += 1 }
            return res
        } else {
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwise(a, n2) + pairwise(a + n2, n - n2)
        }
    }

    /// `np.mean`.
    public static func mean(_ a: [Double]) -> Double {
        a.isEmpty ? .nan : sum(a) / Double(a.count)
    }

    /// `np.average(a, weights=w)`; nil when the weights sum to zero.
    public static func average(_ a: [Double], weights w: [Double]) -> Double? {
        let sw = sum(w)
        if sw == 0 { return nil }
        var prod = [Double](repeating: 0, count: a.count)
        for i in 0..<a.count { prod[i] = a[i] * w[i] }
        return sum(prod) / sw
    }

    /// `np.nanmean`: NaNs count as zero in the sum and are left out of the count.
    public static func nanmean(_ a: [Double]) -> Double {
        var n = 0
        var z = a
        for i in 0..<z.count { if z[i].isNaN { z[i] = 0 } else { n += 1 } }
        return n == 0 ? .nan : sum(z) / Double(n)
    }

    /// `np.percentile(a, q)` with the default linear interpolation (q in 0...100); `a` sorted.
    public static func percentile(sorted a: [Double], _ q: Double) -> Double {
        guard !a.isEmpty else { return .nan }
        let pos = q / 100 * Double(a.count - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, a.count - 1)
        let frac = pos - Double(lo)
        // NumPy's _lerp: a + (b - a) * t, switched to b - (b - a) * (1 - t) for t >= 0.5
        let x = a[lo], y = a[hi]
        let d = y - x
        return frac >= 0.5 ? y - d * (1 - frac) : x + d * frac
    }
}

/// Python's float formatting: `format(x, ".Nf")` (correctly rounded, "nan", "inf").
public func pyFixed(_ x: Double, _ digits: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    return String(format: "%.\(digits)f", x)
}
