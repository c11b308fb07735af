import Foundation

/// The two-sample Kolmogorov–Smirnov test as SciPy 1.17's `scipy.stats.ks_2samp` computes it
/// (two-sided; method "auto": the exact distribution when both samples have at most 10,000
/// values, else the asymptotic one, Simard & L'Ecuyer's algorithm for the one-sample KS
/// distribution at n = round(n1 n2 / (n1 + n2))).
public enum KolmogorovSmirnov {
    public struct Result: Sendable {
        public var statistic: Double
        public var pValue: Double
        /// "exact" or "asymp".
        public var method: String
        /// The value where the empirical CDFs differ most.
        public var location: Double
        public var warnings: [String]
    }

    public static func twoSample(_ a: [Double], _ b: [Double], method: String = "auto") throws(LatheError) -> Result {
        if a.isEmpty || b.isEmpty { throw LatheError("both samples must be non-empty (got \(a.count) and \(b.count) values)") }
        for (k, x) in (a + b).enumerated() where x.isNaN {
            throw LatheError("the samples contain NaN (value \(k + 1))")
        }
        if !["auto", "exact", "asymp"].contains(method) {
            throw LatheError("method must be \"auto\", \"exact\" or \"asymp\" (got \"\(method)\")")
        }
        let d1 = a.sorted(), d2 = b.sorted()
        let n1 = d1.count, n2 = d2.count
        func upper(_ d: [Double], _ x: Double) -> Int {  // searchsorted side="right"
            var lo = 0, hi = d.count
            while lo < hi { let m = (lo + hi) / 2; if d[m] <= x { lo = m + 1 } else { hi = m } }
            return lo
        }
        let all = d1 + d2
        var minIdx = 0, maxIdx = 0
        var minV = Double.infinity, maxV = -Double.infinity
        for (k, x) in all.enumerated() {
            let diff = Double(upper(d1, x)) / Double(n1) - Double(upper(d2, x)) / Double(n2)
            if diff < minV { minV = diff; minIdx = k }
            if diff > maxV { maxV = diff; maxIdx = k }
        }
        let minS = min(max(-minV, 0), 1)
        let maxS = maxV
        var d: Double
        let loc: Double
        if minS > maxS { d = minS; loc = all[minIdx] } else { d = maxS; loc = all[maxIdx] }
        let g = gcd(n1, n2)
        var mode = method
        var warns: [String] = []
        if mode == "auto" {
            mode = max(n1, n2) <= 10000 ? "exact" : "asymp"
        } else if mode == "exact" && Double(n1 / g) >= Double(Int32.max) / Double(n2 / g) {
            mode = "asymp"
            warns.append("exact ks test not possible with sample sizes \(n1) and \(n2); switching to the asymptotic method")
        }
        var prob = -Double.infinity
        if mode == "exact" {
            let lcm = Double(n1 / g) * Double(n2)
            let h = (d * lcm).rounded(.toNearestOrEven)
            d = h / lcm
            if h == 0 {
                prob = 1
            } else {
                let hi = Int(h)
                prob = n1 == n2 ? probOutsideSquare(n1, hi) : try outerProbInside(n1, n2, g, hi)
                if !(prob >= 0 && prob <= 1) || !prob.isFinite {
                    mode = "asymp"
                    warns.append("exact ks calculation unsuccessful; switching to the asymptotic method")
                }
            }
        }
        if mode == "asymp" {
            let m = Double(max(n1, n2)), n = Double(min(n1, n2))
            let en = m * n / (m + n)
            prob = kolmogorovSF(n: en.rounded(.toNearestOrEven), d)
        }
        return Result(statistic: d, pValue: min(max(prob, 0), 1), method: mode, location: loc, warnings: warns)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// P(D_{n,n} >= h/n) (SciPy's _compute_prob_outside_square).
    static func probOutsideSquare(_ n: Int, _ h: Int) -> Double {
        var P = 0.0
        var k = n / h
        while k >= 0 {
            var p1 = 1.0
            for j in 0..<h {
                p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1)
            }
            P = p1 * (1.0 - P)
            k -= 1
        }
        return 2 * P
    }

    /// 1 - proportion of lattice paths staying strictly inside |x/m - y/n| < h/lcm
    /// (SciPy's _compute_outer_prob_inside_method, Viehmann's recursion).
    static func outerProbInside(_ m0: Int, _ n0: Int, _ g: Int, _ h: Int) throws(LatheError) -> Double {
        var m = m0, n = n0
        if m < n { swap(&m, &n) }
        let mg = m / g, ng = n / g
        var minj = 0
        var maxj = min(Int((Double(h) / Double(mg)).rounded(.up)), n + 1)
        var curlen = maxj - minj
        let lenA = min(2 * maxj + 2, n + 1)
        var A = [Double](repeating: 1, count: lenA)
        for k in minj..<maxj { A[k] = 0 }
        for i in 1...m {
            if i & 1023 == 0 { try Interrupt.check() }
            let lastminj = minj, lastlen = curlen
            minj = max(Int((Double(ng * i - h) / Double(mg)).rounded(.down)) + 1, 0)
            minj = min(minj, n)
            maxj = min(Int((Double(ng * i + h) / Double(mg)).rounded(.up)), n + 1)
            if maxj <= minj { return 1.0 }
            var val = minj == 0 ? 0.0 : 1.0
            for jj in 0..<(maxj - minj) {
                let j = jj + minj
                val = (A[jj + minj - lastminj] * Double(i) + val * Double(j)) / Double(i + j)
                A[jj] = val
            }
            curlen = maxj - minj
            if lastlen > curlen {
                for k in (maxj - minj)..<(maxj - minj + lastlen - curlen) where k < A.count { A[k] = 1 }
            }
        }
        return A[maxj - minj - 1]
    }

    // MARK: One-sample two-sided KS distribution (SciPy's kstwo.sf, _ksstats._kolmogn)

    static let stirling: [Double] = [-2.955065359477124183e-2, 6.4102564102564102564e-3,
                                     -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                     -5.952380952380952381e-4, 7.9365079365079365079e-4,
                                     -2.7777777777777777778e-3, 8.3333333333333333333e-2]

    static func logNFactorialDivNPowN(_ n: Double) -> Double {
        let rn = 1.0 / n
        var poly = 0.0
        for c in stirling { poly = poly * (rn / n) + c }
        return log(n) / 2 - n + log(2 * Double.pi) / 2 + rn * poly
    }

    @inline(__always) static func clip(_ p: Double) -> Double { min(max(p, 0), 1) }

    /// P(D_n >= x) for the two-sided one-sample statistic.
    public static func kolmogorovSF(n: Double, _ x: Double) -> Double {
        if n.isNaN || n <= 0 || n != n.rounded() { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let ni = Int(n)
        let t = n * x
        if t <= 1.0 {
            if t <= 0.5 { return 1 }
            let prob: Double
            if ni <= 140 {
                var p = 1.0
                for k in 1...ni { p *= Double(k) * (1.0 / n) * (2 * t - 1) }
                prob = p
            } else {
                prob = exp(logNFactorialDivNPowN(n) + n * log(2 * t - 1))
            }
            return clip(1 - prob)
        }
        if t >= n - 1 { return clip(2 * pow(1.0 - x, n)) }
        if x >= 0.5 { return clip(2 * smirnovSF(ni, x)) }
        let nxsquared = t * x
        if ni <= 140 {
            if nxsquared <= 0.754693 { return clip(1 - dmtwCDF(ni, x)) }
            if nxsquared <= 4 { return clip(1 - pomeranzCDF(ni, x)) }
            return clip(2 * smirnovSF(ni, x))
        }
        if nxsquared >= 370 { return 0 }
        if nxsquared >= 2.2 { return clip(2 * smirnovSF(ni, x)) }
        let cdf: Double
        if nxsquared >= 18 {
            cdf = 1
        } else if ni <= 100000 && n * pow(x, 1.5) <= 1.4 {
            cdf = dmtwCDF(ni, x)
        } else {
            cdf = pelzGoodCDF(n, x)
        }
        return clip(1 - cdf)
    }

    static let ep128 = 0x1p128, em128 = 0x1p-128

    /// Durbin's matrix method (Marsaglia, Tsang & Wang) for P(D_n <= d).
    static func dmtwCDF(_ n: Int, _ d: Double) -> Double {
        if d >= 1 { return 1 }
        let nd = Double(n) * d
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var H = [Double](repeating: 0, count: m * m)
        var v = (1...m).map { 1.0 - pow(h, Double($0)) }
        var w = [Double](repeating: 0, count: m)
        var fac = 1.0
        for j in 1...m {
            w[j - 1] = fac
            fac /= Double(j)
            v[j - 1] *= fac
        }
        let tt = pow(max(2 * h - 1.0, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1.0 + tt) * fac
        for i in 1..<max(m, 1) {
            for r in (i - 1)..<m { H[r * m + i] = w[r - (i - 1)] }
        }
        for r in 0..<m { H[r * m] = v[r] }
        for c in 0..<m { H[(m - 1) * m + c] = v[m - 1 - c] }
        func matmul(_ a: [Double], _ b: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: m * m)
            for i in 0..<m {
                for l in 0..<m {
                    let x = a[i * m + l]
                    if x == 0 { continue }
                    for j in 0..<m { out[i * m + j] += x * b[l * m + j] }
                }
            }
            return out
        }
        var P = [Double](repeating: 0, count: m * m)
        for i in 0..<m { P[i * m + i] = 1 }
        var nn = n
        var expnt = 0, hexpnt = 0
        while nn > 0 {
            if nn % 2 == 1 {
                P = matmul(P, H)
                expnt += hexpnt
            }
            H = matmul(H, H)
            hexpnt *= 2
            if abs(H[(k - 1) * m + k - 1]) > ep128 {
                for q in 0..<H.count { H[q] /= ep128 }
                hexpnt += 128
            }
            nn /= 2
        }
        var p = P[(k - 1) * m + k - 1]
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < em128 {
                p *= ep128
                expnt -= 128
            }
        }
        if expnt != 0 { p = scalbn(p, expnt) }
        return clip(p)
    }

    static func pomeranzJ1J2(_ i: Int, _ n: Int, _ ll: Int, _ ceilf: Int, _ roundf: Int) -> (Int, Int) {
        var j1: Int, j2: Int
        if i == 0 {
            j1 = -ll - ceilf - 1; j2 = ll + ceilf - 1
        } else {
            let ip1div2 = (i + 1) / 2, ip1mod2 = (i + 1) % 2
            if ip1mod2 == 0 {
                if ip1div2 == n + 1 {
                    j1 = n - ll - ceilf - 1; j2 = n + ll + ceilf - 1
                } else {
                    j1 = ip1div2 - 1 - ll - roundf - 1; j2 = ip1div2 + ll - 1 + ceilf - 1
                }
            } else {
                j1 = ip1div2 - 1 - ll - 1; j2 = ip1div2 + ll + roundf - 1
            }
        }
        return (max(j1 + 2, 0), min(j2, n))
    }

    /// Pomeranz's recursion for P(D_n <= x).
    static func pomeranzCDF(_ n: Int, _ x: Double) -> Double {
        let t = Double(n) * x
        let ll = Int(t.rounded(.down))
        let f = t - Double(ll)
        let g = min(f, 1.0 - f)
        let ceilf = f > 0 ? 1 : 0
        let roundf = f > 0.5 ? 1 : 0
        let npwrs = 2 * (ll + 1)
        var gpower = [Double](repeating: 0, count: npwrs)
        var twogpower = gpower, onem2gpower = gpower
        gpower[0] = 1; twogpower[0] = 1; onem2gpower[0] = 1
        var expnt = 0
        let gn = g / Double(n), tgn = 2 * g / Double(n), omgn = (1 - 2 * g) / Double(n)
        for m in 1..<npwrs {
            gpower[m] = gpower[m - 1] * gn / Double(m)
            twogpower[m] = twogpower[m - 1] * tgn / Double(m)
            onem2gpower[m] = onem2gpower[m - 1] * omgn / Double(m)
        }
        var V0 = [Double](repeating: 0, count: npwrs)
        var V1 = [Double](repeating: 0, count: npwrs)
        V1[0] = 1
        var V0s = 0, V1s = 0
        var (j1, j2) = pomeranzJ1J2(0, n, ll, ceilf, roundf)
        for i in 1..<(2 * n + 2) {
            let k1 = j1
            swap(&V0, &V1)
            swap(&V0s, &V1s)
            for q in 0..<V1.count { V1[q] = 0 }
            (j1, j2) = pomeranzJ1J2(i, n, ll, ceilf, roundf)
            let pwrs = (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 == 1 ? twogpower : onem2gpower)
            let ln2 = j2 - k1 + 1
            if ln2 > 0 {
                let start = k1 - V0s
                // full convolution of V0[start..<start+ln2] with pwrs[0..<ln2]
                let convStart = j1 - k1
                let convLen = j2 - j1 + 1
                for q in 0..<max(convLen, 0) {
                    let idx = convStart + q
                    var s = 0.0
                    let lo = max(0, idx - (ln2 - 1)), hi = min(idx, ln2 - 1)
                    if lo <= hi {
                        for a in lo...hi {
                            let ai = start + a
                            let av = ai >= 0 && ai < V0.count ? V0[ai] : 0
                            s += av * pwrs[idx - a]
                        }
                    }
                    V1[q] = s
                }
                let mx = V1.max() ?? 0
                if mx > 0 && mx < em128 {
                    for q in 0..<V1.count { V1[q] *= ep128 }
                    expnt -= 128
                }
                V1s = V0s + j1 - k1
            }
        }
        var ans = V1[n - V1s]
        for m in 1...n {
            if abs(ans) > ep128 {
                ans *= em128
                expnt += 128
            }
            ans *= Double(m)
        }
        if expnt != 0 { ans = scalbn(ans, expnt) }
        return clip(ans)
    }

    /// Pelz–Good approximation of P(D_n <= x).
    static func pelzGoodCDF(_ n: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let z = n.squareRoot() * x
        let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
        let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
        let qlog = -pi2 / 8 / z2
        if qlog < -708 { return 0 }
        var q = exp(qlog)
        let k1a = -z2, k1b = pi2 / 4
        let k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16
        let k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16
        let k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8)
        var K = [0.0, 0.0, 0.0, 0.0]
        let maxk = Int((16 * z / Double.pi).rounded(.up))
        if maxk >= 1 {
            for k in stride(from: maxk, through: 1, by: -1) {
                let m = Double(2 * k - 1)
                let m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
                let qp = pow(q, Double(8 * k))
                let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
                for c in 0..<4 { K[c] = K[c] * qp + coeffs[c] }
            }
        }
        let sqrt2pi = (2 * Double.pi).squareRoot()
        let div = [z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)]
        for c in 0..<4 { K[c] = K[c] * q * sqrt2pi / div[c] }
        q = exp(-pi2 / 2 / z2)
        let sqrt3z = 3.0.squareRoot() * z
        var k2extra = 0.0, k3extra = 0.0
        if maxk >= 1 {
            for k in stride(from: maxk, through: 1, by: -1) {
                let kd = Double(k)
                let qk = pow(q, kd * kd)
                k2extra += kd * kd * qk
                let kspi = Double.pi * kd
                k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kd * kd * qk
            }
        }
        K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
        K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
        var sum = 0.0
        for c in 0..<4 { sum += K[c] / pow(n, Double(c) / 2) }
        return sum
    }

    /// The one-sided Smirnov survival function P(D_n^+ >= x) (Birnbaum–Tingey sum).
    static func smirnovSF(_ n: Int, _ x: Double) -> Double {
        if n == 1 { return 1 - x }  // sf = 1 - x? (cdf = x)
        if x <= 0 { return 1 }
        if x >= 1 { return 0 }
        let nd = Double(n)
        let nx = nd * x
        var nxfl = Int(nx.rounded(.down))
        var alpha = nx - Double(nxfl)
        if alpha >= 1 { nxfl += 1; alpha = 0 }
        if nxfl == 0 || (nxfl == 1 && alpha == 0) {
            let t = pow(1 + x, nd - 1)
            return clip(1 - x * t)
        }
        if -2 * nd * x * x < -708.3964185322641 { return 0 }
        if nxfl >= n - 1 { return pow(1 - x, nd) }
        // sf = x * sum_{v=0}^{floor(n(1-x))} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1)
        var last = n - nxfl - (alpha == 0 ? 0 : 1)
        if alpha == 0 { last -= 1 }
        var logC = 0.0  // log C(n, v)
        var sum = 0.0
        var maxLog = -Double.infinity
        var terms: [Double] = []
        terms.reserveCapacity(last + 1)
        if last >= 0 {
            for v in 0...last {
                if v > 0 { logC += log(Double(n - v + 1) / Double(v)) }
                let a = (Double(n - v) / nd) - x
                let b = Double(v) / nd + x
                if a <= 0 { break }
                let lt = logC + Double(n - v) * log(a) + Double(v - 1) * log(b)
                terms.append(lt)
                if lt > maxLog { maxLog = lt }
            }
        }
        for lt in terms { sum += exp(lt - maxLog) }
        return clip(x * sum * exp(maxLog))
    }
}
