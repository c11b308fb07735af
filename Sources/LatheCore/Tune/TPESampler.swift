/// A port of Optuna's univariate TPE sampler (optuna 4.9.0, `optuna/samplers/_tpe/`) and of the
/// RandomSampler it falls back to during the startup trials, written to suggest exactly the values
/// Optuna suggests for the same seed and the same trials.
///
/// Defaults reproduced (TPESampler() in optuna 4.9.0): n_startup_trials 10, n_ei_candidates 24,
/// gamma(n) = min(ceil(0.1 n), 25), default_weights (flat 25 newest, linear ramp for older),
/// prior_weight 1, consider_magic_clip, not consider_endpoints, consider_prior, multivariate off,
/// constant_liar off (so RUNNING trials are ignored), FAIL trials ignored, no constraints.
///
/// Random streams: like Optuna, the sampler owns two numpy RandomStates seeded with the same seed:
/// one for TPE proper (`TPESampler._rng`) and one inside its RandomSampler (startup trials). Each is
/// consumed in call order across the study; neither is reseeded per trial.
///
/// Floating point: numpy computes exp/log/log1p/expm1 of arrays with its own kernels (on AVX-512
/// machines, Intel SVML), not the C library; `NumpyCompat` mirrors what numpy does where that is
/// needed for identical results, and also mirrors numpy's pairwise summation and its (unstable,
/// AVX-512 x86-simd-sort) argsort tie order, which decides which kernel gets which bandwidth.

import Foundation

public final class TPESampler: @unchecked Sendable {
    public let nStartupTrials: Int
    public let nEICandidates: Int

    private let lock = NSLock()
    private var tpeRng: LegacyRandomState
    private var randomRng: LegacyRandomState

    /// `seed` nil draws fresh seeds (not reproducible), like `TPESampler(seed=None)`.
    public init(seed: UInt32?, nStartupTrials: Int = 10, nEICandidates: Int = 24) {
        if let seed {
            tpeRng = LegacyRandomState(seed: seed)
            randomRng = LegacyRandomState(seed: seed)
        } else {
            var g = SystemRandomNumberGenerator()
            tpeRng = LegacyRandomState(seed: UInt32.random(in: .min ... .max, using: &g))
            randomRng = LegacyRandomState(seed: UInt32.random(in: .min ... .max, using: &g))
        }
        self.nStartupTrials = nStartupTrials
        self.nEICandidates = max(1, nEICandidates)
    }

    /// The internal value (see TuneDistribution) of parameter `name` for trial `trialNumber`,
    /// given every trial of the study so far (any states; the trial being sampled is among
    /// them as RUNNING, with the params it already has).
    ///
    /// A distribution with a single value (Optuna's `single()`) returns it without drawing, as
    /// Optuna's Trial does before it reaches the sampler.
    public func sample(name: String, distribution: TuneDistribution, trials: [FrozenTrial],
                       direction: StudyDirection, trialNumber: Int) -> Double {
        let distribution = Self.adjusted(distribution)
        if let v = Self.singleValue(distribution) { return v }
        lock.lock()
        defer { lock.unlock() }
        let finished = stableSorted(trials.filter { $0.state == .complete || $0.state == .pruned }) {
            $0.number < $1.number
        }
        if finished.count < nStartupTrials {
            return sampleRandom(distribution)
        }
        return sampleTPE(name: name, distribution: distribution, finished: finished, direction: direction)
    }

    /// log l(x) of Optuna's univariate `_ParzenEstimator` (default parameters) built from
    /// `observations` (internal values) of a parameter with `distribution`, at `points`.
    /// Exposed for testing the density estimate independently of the random streams.
    public static func parzenLogPDF(distribution: TuneDistribution, observations: [Double],
                                    points: [Double]) -> [Double] {
        ParzenEstimator(observations: observations, distribution: Self.adjusted(distribution)).logPDF(points)
    }

    /// Optuna narrows an int range whose width is not a multiple of `step` to the last reachable
    /// value (`_adjust_int_uniform_high`). Float ranges with a step are expected already aligned
    /// (Optuna aligns them with decimal arithmetic when the distribution is created).
    static func adjusted(_ d: TuneDistribution) -> TuneDistribution {
        if case .int(let low, let high, let log, let step) = d, step > 0, high > low, (high - low) % step != 0 {
            return .int(low: low, high: (high - low) / step * step + low, log: log, step: step)
        }
        return d
    }

    // MARK: - TPE proper

    private func sampleTPE(name: String, distribution: TuneDistribution, finished: [FrozenTrial],
                           direction: StudyDirection) -> Double {
        let n = finished.count
        let nBelow = min(Int((0.1 * Double(n)).rounded(.up)), 25)
        let (below, above) = Self.splitTrials(finished, nBelow: nBelow, direction: direction)
        let obsBelow = below.compactMap { $0.params[name] }
        let obsAbove = above.compactMap { $0.params[name] }
        let mpeBelow = ParzenEstimator(observations: obsBelow, distribution: distribution)
        let mpeAbove = ParzenEstimator(observations: obsAbove, distribution: distribution)
        let samples = mpeBelow.sample(rng: &tpeRng, size: nEICandidates)
        let lb = mpeBelow.logPDF(samples)
        let la = mpeAbove.logPDF(samples)
        // np.argmax: first maximum; a NaN counts as the maximum.
        var best = 0
        var bestVal = lb[0] - la[0]
        if !bestVal.isNaN {
            for i in 1..<samples.count {
                let v = lb[i] - la[i]
                if v.isNaN { best = i; break }
                if v > bestVal { best = i; bestVal = v }
            }
        }
        return samples[best]
    }

    static func splitTrials(_ trials: [FrozenTrial], nBelow nBelow0: Int,
                            direction: StudyDirection) -> ([FrozenTrial], [FrozenTrial]) {
        let complete = trials.filter { $0.state == .complete }
        let pruned = trials.filter { $0.state == .pruned }
        let sortedComplete: [FrozenTrial]
        switch direction {
        case .minimize:
            sortedComplete = stableSorted(complete) { ($0.value ?? .nan) < ($1.value ?? .nan) }
        case .maximize:
            sortedComplete = stableSorted(complete) { ($0.value ?? .nan) > ($1.value ?? .nan) }
        }
        let nbc = min(nBelow0, sortedComplete.count)
        var below = Array(sortedComplete[..<nbc])
        var above = Array(sortedComplete[nbc...])
        let nBelow = max(0, nBelow0 - nbc)
        func score(_ t: FrozenTrial) -> (Double, Double) {
            guard let step = t.intermediate.keys.max(), let v = t.intermediate[step] else { return (1, 0) }
            if v.isNaN { return (-Double(step), .infinity) }
            return (-Double(step), direction == .minimize ? v : -v)
        }
        let sortedPruned = stableSorted(pruned) {
            let a = score($0), b = score($1)
            return a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
        }
        let nbp = min(nBelow, sortedPruned.count)
        below += sortedPruned[..<nbp]
        above += sortedPruned[nbp...]
        return (stableSorted(below) { $0.number < $1.number }, stableSorted(above) { $0.number < $1.number })
    }

    // MARK: - RandomSampler (startup trials)

    private func sampleRandom(_ distribution: TuneDistribution) -> Double {
        switch distribution {
        case .categorical(let choices):
            // One-hot search-space transform: one uniform(0, 1) per choice, then argmax.
            var best = 0
            var bestVal = -Double.infinity
            for i in 0..<choices.count {
                let u = randomRng.uniform(low: 0, high: 1)
                if i == 0 || u > bestVal { best = i; bestVal = u }
            }
            return Double(best)
        case .float(let low, let high, let log, let step):
            if log {
                let t = randomRng.uniform(low: Foundation.log(low), high: Foundation.log(high))
                let p = Foundation.exp(t)
                let cap = high.nextDown
                return cap < p ? cap : p
            } else if let step {
                let t = randomRng.uniform(low: low - 0.5 * step, high: high + 0.5 * step)
                return clip(((t - low) / step).rounded(.toNearestOrEven) * step + low, low, high)
            } else {
                let t = randomRng.uniform(low: low, high: high)
                let cap = high.nextDown
                return cap < t ? cap : t
            }
        case .int(let low, let high, let log, let step):
            let half = 0.5 * Double(step)
            let lo = Double(low), hi = Double(high)
            if log {
                let t = randomRng.uniform(low: Foundation.log(lo - half), high: Foundation.log(hi + half))
                return clip(Foundation.exp(t).rounded(.toNearestOrEven), lo, hi)
            } else {
                let t = randomRng.uniform(low: lo - half, high: hi + half)
                return clip(((t - lo) / Double(step)).rounded(.toNearestOrEven) * Double(step) + lo, lo, hi)
            }
        }
    }

    static func singleValue(_ d: TuneDistribution) -> Double? {
        switch d {
        case .categorical(let choices):
            return choices.count == 1 ? 0 : nil
        case .float(let low, let high, _, let step):
            if low == high { return low }
            if let step, high - low < step { return low }
            return nil
        case .int(let low, let high, let log, let step):
            if low == high { return Double(low) }
            if !log && high - low < step { return Double(low) }
            return nil
        }
    }
}

// MARK: - Helpers

/// Stable sort (Python's `sorted`): equal elements keep their order.
fileprivate func stableSorted<T>(_ xs: [T], by less: (T, T) -> Bool) -> [T] {
    let idx = Array(xs.indices).sorted { a, b in
        if less(xs[a], xs[b]) { return true }
        if less(xs[b], xs[a]) { return false }
        return a < b
    }
    return idx.map { xs[$0] }
}

/// np.clip for one value: min(max(x, lo), hi).
@inline(__always) fileprivate func clip(_ x: Double, _ lo: Double, _ hi: Double) -> Double {
    let m = x < lo ? lo : x
    return m > hi ? hi : m
}

// MARK: - Parzen estimator (univariate)

struct ParzenEstimator {
    enum Body {
        /// Row k: probabilities of each choice under kernel k (last row: prior).
        case categorical([[Double]])
        /// Truncated (log-)normal kernels; `step` non-nil for the discrete variants.
        case numerical(mus: [Double], sigmas: [Double], low: Double, high: Double, step: Double?, log: Bool)
    }

    static let priorWeight = 1.0
    let weights: [Double]
    let body: Body

    init(observations obs: [Double], distribution: TuneDistribution) {
        let n = obs.count
        var w: [Double]
        if n == 0 {
            w = [1.0]
        } else {
            w = Self.defaultWeights(n)
            w.append(Self.priorWeight)
        }
        let total = NumpyCompat.pairwiseSum(w)
        for i in 0..<w.count { w[i] /= total }
        weights = w

        switch distribution {
        case .categorical(let choices):
            let k = choices.count
            if n == 0 {
                body = .categorical([[Double](repeating: 1.0 / Double(k), count: k)])
            } else {
                let nk = n + 1
                var rows = [[Double]](repeating: [Double](repeating: Self.priorWeight / Double(nk), count: k), count: nk)
                for i in 0..<n {
                    let c = Int(exactly: obs[i]) ?? -1
                    if c >= 0 && c < k { rows[i][c] += 1 }
                }
                for r in 0..<nk {
                    let s = NumpyCompat.pairwiseSum(rows[r])
                    let d = s == 0 ? 1 : s
                    for c in 0..<k { rows[r][c] /= d }
                }
                body = .categorical(rows)
            }
        case .float(let low, let high, let log, let step):
            body = Self.numerical(obs, low: low, high: high, step: step, log: log)
        case .int(let low, let high, let log, let step):
            body = Self.numerical(obs, low: Double(low), high: Double(high), step: Double(step), log: log)
        }
    }

    /// Optuna's default_weights(n): ones for n < 25, else linspace(1/n, 1, n - 25) ++ ones(25).
    static func defaultWeights(_ x: Int) -> [Double] {
        if x == 0 { return [] }
        if x < 25 { return [Double](repeating: 1, count: x) }
        let num = x - 25
        let start = 1.0 / Double(x), stop = 1.0
        var ramp = [Double]()
        if num == 1 {
            ramp = [0.0 * (stop - start) + start]
        } else if num > 1 {
            let step = (stop - start) / Double(num - 1)
            for i in 0..<num { ramp.append(Double(i) * step + start) }
            ramp[num - 1] = stop
        }
        return ramp + [Double](repeating: 1, count: 25)
    }

    static func numerical(_ obs: [Double], low dLow: Double, high dHigh: Double, step: Double?, log: Bool) -> Body {
        var low = dLow, high = dHigh
        if let step { low -= step / 2; high += step / 2 }
        var mus = obs
        if log {
            mus = obs.map(NumpyCompat.log)
            low = NumpyCompat.log(low)
            high = NumpyCompat.log(high)
        }
        let n = mus.count
        // Bandwidths: distance to the farther neighbour among sorted mus and the bounds, the
        // end kernels using their inner neighbour only (consider_endpoints=False).
        let order = NumpyCompat.argsort(mus)
        var ext = [low]
        for i in order { ext.append(mus[i]) }
        ext.append(high)
        var sortedSigmas = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let l = ext[i + 1] - ext[i], r = ext[i + 2] - ext[i + 1]
            sortedSigmas[i] = (l.isNaN || r.isNaN) ? .nan : Swift.max(l, r)
        }
        if ext.count >= 4 {
            sortedSigmas[0] = ext[2] - ext[1]
            sortedSigmas[n - 1] = ext[n] - ext[n - 1]
        }
        var sigmas = [Double](repeating: 0, count: n)
        for k in 0..<n { sigmas[order[k]] = sortedSigmas[k] }
        let maxSigma = high - low
        let minSigma = (high - low) / Swift.min(100.0, 1.0 + Double(n + 1))
        for i in 0..<n { sigmas[i] = clip(sigmas[i], minSigma, maxSigma) }
        mus.append(0.5 * (low + high))
        sigmas.append(high - low)
        return .numerical(mus: mus, sigmas: sigmas, low: dLow, high: dHigh, step: step, log: log)
    }

    func sample(rng: inout LegacyRandomState, size: Int) -> [Double] {
        let active = rng.choice(probabilities: weights, size: size)
        switch body {
        case .categorical(let rows):
            var out = [Double]()
            out.reserveCapacity(size)
            for s in 0..<size {
                let u = rng.randomSample()
                let row = rows[active[s]]
                var acc = 0.0
                var count = 0
                for c in 0..<row.count {
                    acc += row[c]
                    let cum = c == row.count - 1 ? 1.0 : acc
                    if cum < u { count += 1 }
                }
                out.append(Double(count))
            }
            return out
        case .numerical(let mus, let sigmas, let low, let high, let step, let log):
            var lowN = low, highN = high
            if let step { lowN = low - step / 2; highN = high + step / 2 }
            if log { lowN = NumpyCompat.log(lowN); highN = NumpyCompat.log(highN) }
            var a = [Double](), b = [Double](), q = [Double]()
            for s in 0..<size {
                let mu = mus[active[s]], sg = sigmas[active[s]]
                a.append((lowN - mu) / sg)
                b.append((highN - mu) / sg)
            }
            for _ in 0..<size { q.append(rng.uniform(low: 0, high: 1)) }
            let p = TruncNorm.ppf(q, a, b)
            var out = [Double](repeating: 0, count: size)
            for s in 0..<size {
                var x = p[s] * sigmas[active[s]] + mus[active[s]]
                if log { x = NumpyCompat.exp(x) }
                if let step {
                    x = clip(low + ((x - low) / step).rounded(.toNearestOrEven) * step, low, high)
                }
                out[s] = x
            }
            return out
        }
    }

    func logPDF(_ xs: [Double]) -> [Double] {
        let nk = weights.count
        let logW = weights.map(NumpyCompat.log)
        var out = [Double]()
        out.reserveCapacity(xs.count)
        var row = [Double](repeating: 0, count: nk)
        var e = [Double](repeating: 0, count: nk)
        // what does not depend on x, once per kernel (the same values, so results are unchanged)
        var boundA = [Double](), boundB = [Double](), boundMass = [Double](), logSigma = [Double]()
        if case .numerical(let mus, let sigmas, let low, let high, let step, let log) = body {
            if let step {
                boundMass = (0..<nk).map { k in
                    let mu = mus[k], sg = sigmas[k]
                    let blo = log ? (NumpyCompat.log(low - step / 2) - mu) / sg : (low - step / 2 - mu) / sg
                    let bhi = log ? (NumpyCompat.log(high + step / 2) - mu) / sg : (high + step / 2 - mu) / sg
                    return TruncNorm.logGaussMass(blo, bhi)
                }
            } else {
                let lowC = log ? NumpyCompat.log(low) : low
                let highC = log ? NumpyCompat.log(high) : high
                boundA = (0..<nk).map { (lowC - mus[$0]) / sigmas[$0] }
                boundB = (0..<nk).map { (highC - mus[$0]) / sigmas[$0] }
                boundMass = (0..<nk).map { TruncNorm.logGaussMass(boundA[$0], boundB[$0]) }
                logSigma = sigmas.map(NumpyCompat.log)
            }
        }
        for x in xs {
            switch body {
            case .categorical(let rows):
                guard let c = Int(exactly: x), c >= 0, c < rows[0].count else {
                    out.append(.nan)
                    continue
                }
                for k in 0..<nk { row[k] = (0.0 + NumpyCompat.log(rows[k][c])) + logW[k] }
            case .numerical(let mus, let sigmas, _, _, let step, let log):
                if let step {
                    for k in 0..<nk {
                        let mu = mus[k], sg = sigmas[k]
                        let lo: Double, hi: Double
                        if log {
                            lo = (NumpyCompat.log(x - step / 2) - mu) / sg
                            hi = (NumpyCompat.log(x + step / 2) - mu) / sg
                        } else {
                            lo = ((x - step / 2) - mu) / sg
                            hi = ((x + step / 2) - mu) / sg
                        }
                        row[k] = ((0.0 + TruncNorm.logGaussMass(lo, hi)) - boundMass[k]) + logW[k]
                    }
                } else {
                    let xv = log ? NumpyCompat.log(x) : x
                    for k in 0..<nk {
                        let mu = mus[k], sg = sigmas[k]
                        let a = boundA[k], b = boundB[k]
                        let z = (xv - mu) / sg
                        var v = (TruncNorm.normLogPDF(z) - boundMass[k]) - logSigma[k]
                        if a == b { v = .nan } else if z < a || z > b { v = -.infinity }
                        row[k] = (0.0 + (0.0 + v)) + logW[k]
                    }
                }
            }
            // log-sum-exp over kernels, as numpy does it.
            var m = row[0]
            for k in 1..<nk {
                if m.isNaN { break }
                if row[k].isNaN || row[k] > m { m = row[k] }
            }
            if m == -.infinity { m = 0 }
            for k in 0..<nk { e[k] = NumpyCompat.exp(row[k] - m) }
            out.append(NumpyCompat.log(NumpyCompat.pairwiseSum(e)) + m)
        }
        return out
    }
}

// MARK: - Truncated normal (optuna/samplers/_tpe/_truncnorm.py)

enum TruncNorm {
    static let sqrt2 = Foundation.pow(2.0, 0.5)
    static let normPdfC = Foundation.sqrt(2 * Double.pi)
    static let normPdfLogC = Foundation.log(normPdfC)
    static let ndtriExpApproxC = Foundation.sqrt(3.0) / Double.pi
    static let halfLog2Pi = 0.5 * Foundation.log(2 * Double.pi)

    /// Python-float ndtr (math.erf / math.erfc: the C library, as Swift's).
    static func ndtrSingle(_ a: Double) -> Double {
        let x = a / sqrt2
        if x < -1 / sqrt2 { return 0.5 * Foundation.erfc(-x) }
        if x < 1 / sqrt2 { return 0.5 + 0.5 * Foundation.erf(x) }
        return 1.0 - 0.5 * Foundation.erfc(x)
    }

    static func logNdtrSingle(_ a: Double) -> Double {
        if a > 6 { return -ndtrSingle(-a) }
        if a > -20 { return Foundation.log(ndtrSingle(a)) }
        let logLHS = -0.5 * Foundation.pow(a, 2) - Foundation.log(-a) - halfLog2Pi
        var lastTotal = 0.0, rhs = 1.0, numerator = 1.0, denomFactor = 1.0
        let denomCons = 1 / Foundation.pow(a, 2)
        var sign = 1.0
        var i = 0
        while Swift.abs(lastTotal - rhs) > Double.ulpOfOne {
            i += 1
            lastTotal = rhs
            sign = -sign
            denomFactor *= denomCons
            numerator *= Double(2 * i - 1)
            rhs += sign * numerator * denomFactor
        }
        return logLHS + Foundation.log(rhs)
    }

    /// The vectorised ndtr (0.5 + 0.5 erf(a / sqrt 2), erf from the C library for small arrays).
    static func ndtr(_ a: Double) -> Double { 0.5 + 0.5 * Foundation.erf(a / sqrt2) }

    static func normLogPDF(_ x: Double) -> Double { -(x * x) / 2.0 - normPdfLogC }

    static func logDiff(_ logP: Double, _ logQ: Double) -> Double {
        logP + NumpyCompat.log1p(-NumpyCompat.exp(logQ - logP))
    }

    /// log of the standard normal mass in [a, b] (elementwise in Optuna too).
    static func logGaussMass(_ a: Double, _ b: Double) -> Double {
        if b <= 0 {
            if a > 0 { return logDiff(logNdtrSingle(-a), logNdtrSingle(-b)) }
            return logDiff(logNdtrSingle(b), logNdtrSingle(a))
        }
        if a > 0 { return logDiff(logNdtrSingle(-a), logNdtrSingle(-b)) }
        if b.isNaN || a.isNaN { return .nan }
        return NumpyCompat.log1p(-ndtr(a) - ndtr(-b))
    }

    /// x with log_ndtr(x) = y, by Newton's method run on the whole batch until every entry has
    /// converged (as Optuna's `_ndtri_exp`, whose iteration count depends on the batch).
    static func ndtriExp(_ y: [Double]) -> [Double] {
        let n = y.count
        if n == 0 { return [] }
        var z = y
        var flipped = [Bool](repeating: false, count: n)
        for i in 0..<n where y[i] > -1e-2 {
            flipped[i] = true
            z[i] = NumpyCompat.log(-NumpyCompat.expm1(y[i]))
        }
        var x = [Double](repeating: .nan, count: n)
        for i in 0..<n {
            if z[i] < -5 {
                x[i] = -Foundation.sqrt(-2.0 * (z[i] + normPdfLogC))
            } else if z[i] >= -5 {
                x[i] = -ndtriExpApproxC * NumpyCompat.log(NumpyCompat.expm1(-z[i]))
            }
        }
        for _ in 0..<100 {
            var converged = true
            for i in 0..<n {
                let lnx = logNdtrSingle(x[i])
                let lnp = -0.5 * (x[i] * x[i]) - normPdfLogC
                let dx = (lnx - z[i]) * NumpyCompat.exp(lnx - lnp)
                x[i] -= dx
                if !(Swift.abs(dx) < 1e-8 * Swift.abs(x[i])) { converged = false }
            }
            if converged { break }
        }
        for i in 0..<n where flipped[i] { x[i] *= -1 }
        return x
    }

    /// Percent point function of the standard normal truncated to [a, b].
    static func ppf(_ q: [Double], _ a: [Double], _ b: [Double]) -> [Double] {
        let n = q.count
        var out = [Double](repeating: .nan, count: n)
        var leftIdx = [Int](), rightIdx = [Int]()
        var leftY = [Double](), rightY = [Double]()
        for i in 0..<n {
            let logMass = logGaussMass(a[i], b[i])
            if a[i] < 0 {
                leftIdx.append(i)
                leftY.append(NumpyCompat.logaddexp(logNdtrSingle(a[i]), NumpyCompat.log(q[i]) + logMass))
            } else {
                rightIdx.append(i)
                rightY.append(NumpyCompat.logaddexp(logNdtrSingle(-b[i]), NumpyCompat.log1p(-q[i]) + logMass))
            }
        }
        if !leftIdx.isEmpty {
            let x = ndtriExp(leftY)
            for (j, i) in leftIdx.enumerated() { out[i] = x[j] }
        }
        if !rightIdx.isEmpty {
            let x = ndtriExp(rightY)
            for (j, i) in rightIdx.enumerated() { out[i] = -x[j] }
        }
        for i in 0..<n {
            if q[i] == 0 { out[i] = a[i] }
            if q[i] == 1 { out[i] = b[i] }
            if a[i] == b[i] { out[i] = .nan }
        }
        return out
    }
}

// MARK: - numpy numerics

enum NumpyCompat {
    /// np.exp / np.log / np.log1p / np.expm1 of float64 arrays: numpy 2.x wheels on x86-64
    /// CPUs with AVX-512 (the project's machines) run Intel SVML's high-accuracy kernels, which
    /// differ from the C library in the last bit for a few percent of inputs; `SVML` reproduces them.
    static func exp(_ x: Double) -> Double { SVML.exp(x) }
    static func log(_ x: Double) -> Double { SVML.log(x) }
    static func log1p(_ x: Double) -> Double { SVML.log1p(x) }
    static func expm1(_ x: Double) -> Double { SVML.expm1(x) }

    /// np.logaddexp (scalar loop over the C library's exp and log1p).
    static func logaddexp(_ x: Double, _ y: Double) -> Double {
        if x == y { return x + 0.693147180559945309417232121458176568 }
        let t = x - y
        if t > 0 { return x + Foundation.log1p(Foundation.exp(-t)) }
        if t <= 0 { return y + Foundation.log1p(Foundation.exp(t)) }
        return t
    }

    /// numpy's pairwise summation of a contiguous float64 array (`a.sum()`).
    static func pairwiseSum(_ a: [Double]) -> Double { pairwise(a, 0, a.count) }

    private static func pairwise(_ a: [Double], _ start: Int, _ n: Int) -> Double {
        if n < 8 {
            var res = 0.0
            for i in 0..<n { res += a[start + i] }
            return res
        } else if n <= 128 {
            var r = [Double](repeating: 0, count: 8)
            for j in 0..<8 { r[j] = a[start + j] }
            var i = 8
            while i < n - (n % 8) {
                for j in 0..<8 { r[j] += a[start + i + j] }
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n { res += a[start + i]; i += 1 }
            return res
        } else {
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2)
        }
    }

    /// np.argsort(a) (default kind) as numpy 2.x computes it on x86-64 with AVX-512, where it
    /// runs x86-simd-sort's avx512 argsort: identity for already-sorted input; else quicksort with
    /// a median-of-8 pivot and vectorised partitions down to runs of <= 256, each finished by
    /// bitonic networks over 8-lane (key, index) registers. Neither step is stable, and the order it
    /// leaves equal keys in decides which kernel gets which bandwidth in Optuna's estimator.
    static func argsort(_ a: [Double]) -> [Int] {
        let n = a.count
        if n <= 1 { return Array(0..<n) }
        if a.contains(where: { $0.isNaN }) {
            // numpy's NaN path (std::sort, NaN last); TPE never sorts NaN, so a stable stand-in.
            return stableSorted(Array(0..<n)) { i, j in
                if a[i].isNaN { return false }
                if a[j].isNaN { return true }
                return a[i] < a[j]
            }
        }
        var sorted = true
        for i in 0..<(n - 1) where a[i + 1] < a[i] { sorted = false; break }
        if sorted { return Array(0..<n) }
        return SIMDArgsort.argsort(a)
    }
}

/// Emulation of x86-simd-sort's `argsort_n_vec` for 64-bit keys on 8-lane AVX-512 registers.
enum BitonicArgsort {
    typealias Reg = [Double]   // 8 lanes
    typealias IReg = [Int]

    @inline(__always) static func vmin(_ x: Double, _ y: Double) -> Double { x < y ? x : y }
    @inline(__always) static func vmax(_ x: Double, _ y: Double) -> Double { x > y ? x : y }

    /// cmp_merge with index tracking; the partner lane is `l ^ m`, mask bit 1 takes the max.
    static func cmpMerge(_ k: inout Reg, _ idx: inout IReg, _ m: Int, _ mask: Int) {
        var nk = k, ni = idx
        for l in 0..<8 {
            let k2 = k[l ^ m]
            let mn = vmin(k2, k[l]), mx = vmax(k2, k[l])
            let t = (mask >> l) & 1 == 1 ? mx : mn
            nk[l] = t
            ni[l] = t == k[l] ? idx[l] : idx[l ^ m]
        }
        k = nk
        idx = ni
    }

    static func sortReg(_ k: inout Reg, _ i: inout IReg) {
        for (m, mask) in [(1, 0xAA), (3, 0xCC), (1, 0xAA), (7, 0xF0), (2, 0xCC), (1, 0xAA)] {
            cmpMerge(&k, &i, m, mask)
        }
    }

    static func mergeReg(_ k: inout Reg, _ i: inout IReg) {
        for (m, mask) in [(4, 0xF0), (2, 0xCC), (1, 0xAA)] { cmpMerge(&k, &i, m, mask) }
    }

    static func coex(_ K: inout [Reg], _ I: inout [IReg], _ a: Int, _ b: Int) {
        for l in 0..<8 {
            let k1 = K[a][l], k2 = K[b][l]
            let t1 = vmin(k1, k2), t2 = vmax(k1, k2)
            let eq = t1 == k1
            let i1 = I[a][l], i2 = I[b][l]
            I[a][l] = eq ? i1 : i2
            I[b][l] = eq ? i2 : i1
            K[a][l] = t1
            K[b][l] = t2
        }
    }

    static func mergeN(_ K: inout [Reg], _ I: inout [IReg], _ base: Int, _ n: Int) {
        for i in 0..<(n / 2) {
            let a = base + i, b = base + n - i - 1
            K[b].reverse(); I[b].reverse()
            coex(&K, &I, a, b)
            K[b].reverse(); I[b].reverse()
        }
        var num = n / 2
        while num >= 2 {
            var j = 0
            while j < n {
                for i in 0..<(num / 2) { coex(&K, &I, base + i + j, base + i + j + num / 2) }
                j += num
            }
            num /= 2
        }
        for v in base..<(base + n) { mergeReg(&K[v], &I[v]) }
    }

    /// argsort_n: sorts the indices `idx` by `arr[idx]` (idx.count <= 256).
    static func sort(_ arr: [Double], _ idx: [Int]) -> [Int] {
        let n = idx.count
        var nv = 32
        while nv > 1 && n * 2 <= nv * 8 { nv /= 2 }
        var K = [Reg](), I = [IReg]()
        for v in 0..<nv {
            var kk = Reg(repeating: .infinity, count: 8)
            var ii = IReg(repeating: Int.max, count: 8)
            for l in 0..<8 where 8 * v + l < n {
                ii[l] = idx[8 * v + l]
                kk[l] = arr[ii[l]]
            }
            K.append(kk)
            I.append(ii)
        }
        for v in 0..<nv { sortReg(&K[v], &I[v]) }
        var per = 2
        while per <= nv {
            for g in 0..<(nv / per) { mergeN(&K, &I, g * per, per) }
            per *= 2
        }
        var out = [Int]()
        for v in 0..<nv { out += I[v] }
        return Array(out[..<n])
    }
}

/// libstdc++'s std::sort (introsort: median-of-3 quicksort, heapsort past the depth limit,
/// insertion sort of runs <= 16) of the indices arg[first..<last] by a[index].
enum StdSort {
    static func sort(_ a: [Double], _ arg: inout [Int], _ first: Int, _ last: Int) {
        let n = last - first
        if n < 2 { return }
        introsortLoop(a, &arg, first, last, 2 * (Int.bitWidth - 1 - n.leadingZeroBitCount))
        if n > 16 {
            insertionSort(a, &arg, first, first + 16)
            for i in (first + 16)..<last { unguardedLinearInsert(a, &arg, i) }
        } else {
            insertionSort(a, &arg, first, last)
        }
    }

    static func introsortLoop(_ a: [Double], _ arg: inout [Int], _ first: Int, _ last0: Int, _ depth0: Int) {
        var last = last0, depth = depth0
        while last - first > 16 {
            if depth == 0 {
                heapSort(a, &arg, first, last)
                return
            }
            depth -= 1
            let mid = first + (last - first) / 2
            moveMedianToFirst(a, &arg, first, first + 1, mid, last - 1)
            let cut = unguardedPartition(a, &arg, first + 1, last, first)
            introsortLoop(a, &arg, cut, last, depth)
            last = cut
        }
    }

    static func moveMedianToFirst(_ a: [Double], _ arg: inout [Int], _ result: Int, _ x: Int, _ y: Int, _ z: Int) {
        let va = a[arg[x]], vb = a[arg[y]], vc = a[arg[z]]
        if va < vb {
            if vb < vc { arg.swapAt(result, y) } else if va < vc { arg.swapAt(result, z) } else { arg.swapAt(result, x) }
        } else if va < vc {
            arg.swapAt(result, x)
        } else if vb < vc {
            arg.swapAt(result, z)
        } else {
            arg.swapAt(result, y)
        }
    }

    static func unguardedPartition(_ a: [Double], _ arg: inout [Int], _ first0: Int, _ last0: Int, _ pivot: Int) -> Int {
        var first = first0, last = last0
        let pv = a[arg[pivot]]
        while true {
            while a[arg[first]] < pv { first += 1 }
            last -= 1
            while pv < a[arg[last]] { last -= 1 }
            if !(first < last) { return first }
            arg.swapAt(first, last)
            first += 1
        }
    }

    static func insertionSort(_ a: [Double], _ arg: inout [Int], _ first: Int, _ last: Int) {
        if first == last { return }
        var i = first + 1
        while i < last {
            if a[arg[i]] < a[arg[first]] {
                let v = arg[i]
                var j = i
                while j > first { arg[j] = arg[j - 1]; j -= 1 }
                arg[first] = v
            } else {
                unguardedLinearInsert(a, &arg, i)
            }
            i += 1
        }
    }

    static func unguardedLinearInsert(_ a: [Double], _ arg: inout [Int], _ i: Int) {
        let v = arg[i]
        var hole = i, next = i - 1
        while a[v] < a[arg[next]] {
            arg[hole] = arg[next]
            hole = next
            next -= 1
        }
        arg[hole] = v
    }

    static func heapSort(_ a: [Double], _ arg: inout [Int], _ first: Int, _ last0: Int) {
        let len = last0 - first
        if len >= 2 {
            var parent = (len - 2) / 2
            while true {
                adjustHeap(a, &arg, first, parent, len, arg[first + parent])
                if parent == 0 { break }
                parent -= 1
            }
        }
        var last = last0
        while last - first > 1 {
            last -= 1
            let v = arg[last]
            arg[last] = arg[first]
            adjustHeap(a, &arg, first, 0, last - first, v)
        }
    }

    static func adjustHeap(_ a: [Double], _ arg: inout [Int], _ first: Int, _ hole0: Int, _ len: Int, _ value: Int) {
        let top = hole0
        var hole = hole0, child = hole0
        while child < (len - 1) / 2 {
            child = 2 * (child + 1)
            if a[arg[first + child]] < a[arg[first + child - 1]] { child -= 1 }
            arg[first + hole] = arg[first + child]
            hole = child
        }
        if len & 1 == 0 && child == (len - 2) / 2 {
            child = 2 * (child + 1)
            arg[first + hole] = arg[first + child - 1]
            hole = child - 1
        }
        var parent = (hole - 1) / 2
        while hole > top && a[arg[first + parent]] < a[value] {
            arg[first + hole] = arg[first + parent]
            hole = parent
            parent = (hole - 1) / 2
        }
        arg[first + hole] = value
    }
}

/// x86-simd-sort's `argsort_` / `argpartition_unrolled<4>` / `get_pivot_64bit` for 8 lanes.
enum SIMDArgsort {
    static func argsort(_ a: [Double]) -> [Int] {
        var arg = Array(0..<a.count)
        let maxIters = 2 * Int(Foundation.log2(Double(a.count)))
        sortRange(a, &arg, 0, a.count - 1, maxIters)
        return arg
    }

    static func sortRange(_ a: [Double], _ arg: inout [Int], _ left: Int, _ right: Int, _ maxIters: Int) {
        if maxIters <= 0 {
            // x86-simd-sort hands over to std::sort (libstdc++'s introsort) when quicksort stalls,
            // as it does on long arrays of few distinct values.
            StdSort.sort(a, &arg, left, right + 1)
            return
        }
        if right + 1 - left <= 256 {
            arg.replaceSubrange(left...right, with: BitonicArgsort.sort(a, Array(arg[left...right])))
            return
        }
        let size = (right - left) / 8
        let sample = (1...8).map { a[arg[left + $0 * size]] }.sorted()
        let pivot = sample[4]
        var smallest = Double.infinity, biggest = -Double.infinity
        let p = partitionUnrolled(a, &arg, left, right + 1, pivot, &smallest, &biggest)
        if pivot != smallest { sortRange(a, &arg, left, p - 1, maxIters - 1) }
        if pivot != biggest { sortRange(a, &arg, p, right, maxIters - 1) }
    }

    /// One register: indices of keys < pivot compress-stored at `left`, the others at
    /// `right - count`, both in lane order. Returns how many were >= pivot.
    static func partitionVec(_ a: [Double], _ arg: inout [Int], _ left: Int, _ right: Int, _ vec: ArraySlice<Int>,
                             _ pivot: Double, _ minV: inout Double, _ maxV: inout Double) -> Int {
        var ge = [Bool](repeating: false, count: 8)
        var amount = 0
        for (l, i) in vec.enumerated() {
            let k = a[i]
            ge[l] = k >= pivot
            if ge[l] { amount += 1 }
            minV = k < minV ? k : minV
            maxV = k > maxV ? k : maxV
        }
        var p = left, q = right - amount
        for (l, i) in vec.enumerated() {
            if ge[l] { arg[q] = i; q += 1 } else { arg[p] = i; p += 1 }
        }
        return amount
    }

    static func partitionUnrolled(_ a: [Double], _ arg: inout [Int], _ left0: Int, _ right0: Int, _ pivot: Double,
                                  _ smallest: inout Double, _ biggest: inout Double) -> Int {
        var left = left0, right = right0
        var i = (right - left) % 32
        while i > 0 {
            let v = a[arg[left]]
            if v < smallest { smallest = v }
            if biggest < v { biggest = v }
            if !(v < pivot) {
                right -= 1
                arg.swapAt(left, right)
            } else {
                left += 1
            }
            i -= 1
        }
        if left == right { return left }
        var minV = smallest, maxV = biggest
        let vecLeft = (0..<4).map { arg[(left + 8 * $0)..<(left + 8 * $0 + 8)] }
        let vecRight = (0..<4).map { arg[(right - 8 * (4 - $0))..<(right - 8 * (4 - $0) + 8)] }
        var rStore = right - 8, lStore = left
        left += 32
        right -= 32
        while right - left != 0 {
            let vecs: [ArraySlice<Int>]
            if (rStore + 8) - right < left - lStore {
                right -= 32
                vecs = (0..<4).map { Array(arg[(right + 8 * $0)..<(right + 8 * $0 + 8)])[...] }
            } else {
                vecs = (0..<4).map { Array(arg[(left + 8 * $0)..<(left + 8 * $0 + 8)])[...] }
                left += 32
            }
            for v in vecs {
                let amount = partitionVec(a, &arg, lStore, rStore + 8, v, pivot, &minV, &maxV)
                lStore += 8 - amount
                rStore -= amount
            }
        }
        for v in vecLeft + vecRight {
            let amount = partitionVec(a, &arg, lStore, rStore + 8, v, pivot, &minV, &maxV)
            lStore += 8 - amount
            rStore -= amount
        }
        smallest = minV
        biggest = maxV
        return lStore
    }
}

/// Scalar re-statements of the AVX-512 SVML kernels numpy links (`__svml_exp8_ha`,
/// `__svml_log8_ha`, `__svml_log1p8_ha`, `__svml_expm18_ha`, numpy/SVML), one lane at a time,
/// with the same table values, operation order and fused multiply-adds, and of the VRCP14PD
/// approximation they use (Intel's published reference algorithm for RCP14, "RECIP14.c").
/// Inputs the kernels hand to their scalar fallback (zero, negative, infinite or NaN arguments of
/// the logarithms; |x| >= 707.70 for exp, x >= 707.70 for expm1) take the C library's value.
enum SVML {
    @inline(__always) static func d(_ u: UInt64) -> Double { Double(bitPattern: u) }
    /// a * b + c with one rounding.
    @inline(__always) static func fma(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }
    /// vrndscalepd $0x58: round to 5 fraction bits, ties to even.
    @inline(__always) static func round32(_ x: Double) -> Double { (x * 32).rounded(.toNearestOrEven) / 32 }

    /// VRCP14PD for m in [1, 2) (Intel's reference: 64 linear segments, coefficients a_i / b_i).
    static let rcp14Coeff: [UInt32] = [
        1009, 260119, 977, 256148, 949, 252296, 921, 248558,
        893, 244929, 869, 241405, 843, 237981, 821, 234652,
        797, 231416, 777, 228266, 755, 225202, 735, 222220,
        717, 219314, 699, 216485, 681, 213727, 663, 211038,
        647, 208417, 631, 205859, 617, 203364, 601, 200929,
        587, 198551, 573, 196229, 561, 193960, 547, 191743,
        535, 189576, 523, 187458, 513, 185387, 501, 183360,
        491, 181377, 479, 179439, 469, 177540, 459, 175681,
        451, 173860, 441, 172077, 433, 170330, 423, 168618,
        415, 166940, 407, 165295, 399, 163682, 391, 162101,
        385, 160550, 377, 159027, 369, 157535, 363, 156069,
        357, 154631, 349, 153219, 343, 151832, 337, 150470,
        331, 149133, 325, 147819, 319, 146528, 315, 145260,
        309, 144012, 303, 142787, 299, 141582, 293, 140397,
        289, 139232, 285, 138085, 279, 136959, 275, 135853,
        271, 134763, 267, 133689, 263, 132631, 259, 131589,
    ]

    static func rcp14(_ m: Double) -> Double {
        if m == 1.0 { return 1.0 }
        let i = Int((m - 1.0) * 64)
        let y = 1.0 + 1.0 / 128 + Double(i) / 64.0
        let xt = d(m.bitPattern & 0xffff_fff0_0000_0000)
        let xmy = xt - y
        let a = Double(rcp14Coeff[2 * i + 1])
        let b = 256 * Double(rcp14Coeff[2 * i])
        let prod = b * xmy
        let r = a - prod
        return d((r.bitPattern & 0xffff_fff0_0000_0000) &- 0x0120_0000_0000_0000)
    }

    static let logTh: [UInt64] = [
        0x0000000000000000, 0xbfaf0a30c0120000, 0xbfbe27076e2b0000, 0xbfc5ff3070a78000,
        0xbfcc8ff7c79a8000, 0xbfd1675cababc000, 0xbfd4618bc21c4000, 0xbfd739d7f6bbc000,
        0x3fd269621134c000, 0x3fcf991c6cb38000, 0x3fca93ed3c8b0000, 0x3fc5bf406b540000,
        0x3fc1178e82280000, 0x3fb9335e5d590000, 0x3fb08598b59e0000, 0x3fa0415d89e80000,
    ]
    static let logTl: [UInt64] = [
        0x0000000000000000, 0x3d53ab33d066d1d2, 0x3d2a342c2af0003c, 0xbd43d3c873e20a07,
        0xbd4a21ac25d81ef3, 0x3d59f1fc63382a8f, 0xbd5ec27d0b7b37b3, 0xbd50069ce24c53fb,
        0x3d5b92783beb7677, 0x3d59bcbecca0cdf3, 0xbd530e486a0ac42d, 0x3d5ed8fdc149767e,
        0xbd4b8421cc74be04, 0x3d52622b8757a8fb, 0x3d4d034451fecdfb, 0xbd577771fd187145,
    ]
    static let expTh: [UInt64] = [
        0x3ff0000000000000, 0x3ff0b5586cf9890f, 0x3ff172b83c7d517b, 0x3ff2387a6e756238,
        0x3ff306fe0a31b715, 0x3ff3dea64c123422, 0x3ff4bfdad5362a27, 0x3ff5ab07dd485429,
        0x3ff6a09e667f3bcd, 0x3ff7a11473eb0187, 0x3ff8ace5422aa0db, 0x3ff9c49182a3f090,
        0x3ffae89f995ad3ad, 0x3ffc199bdd85529c, 0x3ffd5818dcfba487, 0x3ffea4afa2a490da,
    ]
    static let expTlr: [UInt64] = [
        0x0000000000000000, 0x3c979aa65d837b6d, 0xbc801b15eaa59348, 0x3c968efde3a8a894,
        0x3c834d754db0abb6, 0x3c859f48a72a4c6d, 0x3c7690cebb7aafb0, 0x3c9063e1e21c5409,
        0xbc93b3efbf5e2228, 0xbc7b32dcb94da51d, 0x3c8db72fc1f0eab4, 0x3c71affc2b91ce27,
        0x3c8c1a7792cb3387, 0x3c736eae30af0cb3, 0x3c74a385a63d07a7, 0xbc8ff7128fd391f0,
    ]

    // Shared logarithm constants (polynomial in R, log(2) split high/low).
    static let lc384 = d(0x3fbc81cd309d7c70), lc448 = d(0xbfc007357e93af62)
    static let lc512 = d(0x3fc249229cee81ef), lc576 = d(0xbfc55553fb28db06)
    static let lc640 = d(0x3fc9999999cc9f5c), lc704 = d(0xbfd00000000c05bd)
    static let lc768 = d(0x3fd5555555555466), lc832 = d(0xbfdfffffffffffc6)
    static let log2Hi = d(0x3fe62e42fefa0000), log2Lo = d(0x3d7cf79abc9e0000)

    static func log(_ x: Double) -> Double {
        if !(x > 0) || !x.isFinite { return Foundation.log(x) }
        let mant = x.significand
        var e = Double(x.exponent)
        let rr = round32(rcp14(mant))
        let r = fma(rr, mant, -1.0)
        if rr < 0.75 { e += 1.0 }
        let z7 = fma(lc512, r, lc576)
        var z1 = fma(lc384, r, lc448)
        let r2 = r * r
        var z9 = fma(lc640, r, lc704)
        let idx = Int((rr.bitPattern >> 48) & 0xf)
        z1 = fma(r2, z1, z7)
        let r4 = r2 * r2
        let z8 = fma(lc768, r, lc832)
        z9 = fma(r2, z9, z8)
        let hi0 = fma(log2Hi, e, d(logTh[idx]))
        z1 = fma(r4, z1, z9)
        let hi = hi0 + r
        let rh = hi - hi0
        let rl = r - rh
        z1 = fma(r2, z1, rl)
        let lo = fma(log2Lo, e, d(logTl[idx]))
        return hi + (z1 + lo)
    }

    static func log1p(_ x: Double) -> Double {
        if x.isNaN || x <= -1 || x == .infinity { return Foundation.log1p(x) }
        let one = 1.0
        let mx = one > x ? one : x
        let mn = one < x ? one : x
        let s = one + x
        let sign = x.bitPattern & 0x8000_0000_0000_0000
        let mant = s.significand
        var e = Double(s.exponent)
        let z15 = s - mx
        let rr = round32(rcp14(mant))
        let xl = mn - z15
        let z4 = Double(sign: .plus, exponent: -s.exponent, significand: xl)
        let r0 = fma(rr, mant, -1.0)
        let z1 = rr * z4
        if rr < 0.75 { e += 1.0 }
        let r = r0 + z1
        let r2 = r * r
        var z3 = fma(lc384, r, lc448)
        var z5 = r - r0
        let idx = Int((rr.bitPattern >> 48) & 0xf)
        z5 = z1 - z5
        let hi0 = fma(log2Hi, e, d(logTh[idx]))
        let z0 = d(logTl[idx]) + z5
        let z1b = fma(lc512, r, lc576)
        let z8 = fma(lc768, r, lc832)
        let hi = hi0 + r
        z3 = fma(r2, z3, z1b)
        var z12 = fma(lc640, r, lc704)
        let r4 = r2 * r2
        z12 = fma(r2, z12, z8)
        let rh = hi - hi0
        z3 = fma(r4, z3, z12)
        let rl = r - rh
        z3 = fma(r2, z3, rl)
        let z9 = fma(log2Lo, e, z0)
        let res = hi + (z3 + z9)
        return d(res.bitPattern | sign)
    }

    static let l2e = d(0x3ff71547652b82fe), shifter = d(0x42f8000000003ff0)
    static let ln2Hi = d(0x3fe62e42fefa39ef), ln2Lo = d(0x3c7abc9e3b39803f)
    static let ec576 = d(0x3f57411836940c04), ec640 = d(0x3f81101cbbc265c0)
    static let ec704 = d(0x3fa55557242d68fe), ec768 = d(0x3fc5555553939732)
    static let ec832 = d(0x3fe000000000d008), ec896 = d(0x3fefffffffffff70)
    static let expLimit = d(0x40861da04cbafe44)

    static func exp(_ x: Double) -> Double {
        if x.isNaN || !(Swift.abs(x) < expLimit) { return Foundation.exp(x) }
        // x * log2(e) + shifter, rounded toward zero.
        var t = fma(x, l2e, shifter)
        if fma(x, l2e, -(t - shifter)) < 0 { t = t.nextDown }
        let n = t - shifter
        let j = Int(t.bitPattern & 0xf)
        var r = fma(-n, ln2Hi, x)
        r = fma(-ln2Lo, n, r)
        r = d(r.bitPattern & 0xbfff_ffff_ffff_ffff)
        let r2 = r * r
        var p = fma(ec576, r, ec640)
        let p34 = fma(ec704, r, ec768)
        let p12 = fma(ec832, r, ec896)
        p = fma(r2, p, p34)
        p = fma(r2, p, p12)
        p = fma(p, r, d(expTlr[j]))
        let th = d(expTh[j])
        p = fma(th, p, th)
        return Double(sign: .plus, exponent: Int(n.rounded(.down)), significand: p)
    }

    static let mc768 = d(0x3efa01f8f4be0bb2), mc832 = d(0x3f2a01f8f4b129c3)
    static let mc896 = d(0x3f56c16c16304601), mc960 = d(0x3f81111110a65711)
    static let mc1024 = d(0x3fa555555555560a), mc1088 = d(0x3fc55555555555f9)

    static func expm1(_ x: Double) -> Double {
        if x.isNaN || !(x < expLimit) { return Foundation.expm1(x) }
        let t = fma(x, l2e, shifter)
        let z0 = t - shifter
        let j = Int(t.bitPattern & 0xf)
        let th = d(expTh[j]), tlr = d(expTlr[j])
        let sign = x.bitPattern & 0x8000_0000_0000_0000
        let rh0 = fma(-z0, ln2Hi, x)
        let zc = z0 > -128.0 ? z0 : -128.0
        let ts = Double(sign: .plus, exponent: Int(zc.rounded(.down)), significand: th)
        var r = fma(-z0, ln2Lo, rh0)
        let small = ts < 1.0
        var z1 = rh0 - r
        r = d(r.bitPattern & 0xbfff_ffff_ffff_ffff)
        z1 = fma(-ln2Lo, z0, z1)
        let z10 = fma(mc896, r, mc960)
        let z11 = fma(mc1024, r, mc1088)
        let z13 = d(z1.bitPattern & 0xbfff_ffff_ffff_ffff)
        let r2 = r * r
        let z14 = z13 + tlr
        var p = fma(mc768, r, mc832)
        let z4 = fma(r, tlr, z14)
        p = fma(r2, p, z10)
        let z8 = small ? -1.0 : ts
        let z10b = small ? ts : -1.0
        p = fma(r2, p, z11)
        let tm1 = ts + -1.0
        p = fma(r, p, 0.5)
        let z9 = z8 - tm1
        p = fma(r2, p, z4)
        let tl1 = z9 + z10b
        var hi = fma(r, ts, tm1)
        var lo = hi - tm1
        lo = fma(r, ts, -lo)
        var z3 = fma(p, ts, tl1)
        z3 = z3 + lo
        hi = hi + z3
        return d(hi.bitPattern | sign)
    }
}
