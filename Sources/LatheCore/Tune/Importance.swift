/// Hyperparameter importance: a port of Optuna 4.9.0's PED-ANOVA evaluator
/// (`optuna.importance.PedAnovaImportanceEvaluator`, optuna/importance/_ped_anova/) together with
/// what `optuna.importance.get_param_importances` does around it (which trials and parameters
/// count, normalization, ordering), written to return exactly what Optuna returns for the same
/// trials.
///
/// PED-ANOVA compares, per parameter, a Parzen estimate of the top-10% trials' distribution with
/// one of all trials' on a grid (at most 50 cells for numerical parameters, one per choice for
/// categoricals); the importance is the Pearson divergence between the two, scaled by the squared
/// fraction of top trials. The estimates use the TPE kernels (`ParzenEstimator` in TPESampler.swift,
/// discrete truncated normals and categorical kernels) with Scott's-rule bandwidths.
///
/// Floating point follows numpy on the project's x86-64/AVX-512 machines: exp/log through
/// `NumpyCompat` (SVML), numpy's pairwise sums, OpenBLAS's Haswell `ddot` kernel for numpy's `@`
/// on vectors (see `blasDot`), and the C library's `pow` where Python and numpy call it.

import Foundation

public enum ParamImportance {
    /// PED-ANOVA importances (Optuna's PedAnovaImportanceEvaluator with its defaults:
    /// target_quantile 0.1, region_quantile 1.0, evaluate_on_local true), normalized to sum to 1
    /// as optuna.importance.get_param_importances does (normalize=True), ordered from most to least important.
    ///
    /// As in Optuna:
    /// * Only COMPLETE trials count. With `params` nil, the parameters are those every complete
    ///   trial has with one and the same distribution (Optuna's intersection search space);
    ///   with `params`, those parameters, taking the trials that have all of them.
    ///   Trials whose value is missing or not finite are left out of the estimate.
    /// * A parameter whose distribution has a single value gets importance 0; if every
    ///   parameter is like that, or at most 2 trials are left, every parameter gets 1/n; if all
    ///   importances come out 0 (e.g. a constant objective), every parameter gets 1/n too.
    /// * The order is by importance, descending; equal importances come in the reverse of
    ///   Optuna's evaluation order (parameters with a range by name, then single-valued ones by
    ///   name), because Optuna sorts ascending (stably) and reverses. The early 1/n results
    ///   (all single-valued, too few trials) come by name, unsorted, as Optuna returns them.
    ///
    /// Where Optuna raises a ValueError (fewer than 2 complete trials; `params` that no complete
    /// trial has all of; `params` whose distributions differ between trials), this returns [].
    public static func pedANOVA(trials: [FrozenTrial], direction: StudyDirection, params: [String]? = nil) -> [(name: String, importance: Double)] {
        guard let raw = evaluate(trials: trials, direction: direction, params: params) else { return [] }
        return normalized(raw)
    }

    /// `PedAnovaImportanceEvaluator().evaluate(study, params)`: the importances before
    /// normalization, in Optuna's order; nil where Optuna raises.
    static func evaluate(trials: [FrozenTrial], direction: StudyDirection, params: [String]?) -> [(String, Double)]? {
        // study.get_trials(states=(COMPLETE,)), in trial-number order.
        let complete = trials.enumerated()
            .filter { $0.element.state == .complete }
            .sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }
            .map(\.element)
        guard complete.count >= 2 else { return nil }
        guard let dists = distributions(complete, params: params) else { return nil }

        let nonSingle = dists.filter { !isSingle($0.dist) }
        let single = dists.filter { isSingle($0.dist) }
        if nonSingle.isEmpty {
            return single.map { ($0.name, 0.0) }
        }

        // _get_filtered_trials: every considered parameter present, finite value.
        let required = params ?? dists.map(\.name)
        let considered = complete.filter { t in
            required.allSatisfy { t.params[$0] != nil } && (t.value?.isFinite ?? false)
        }
        let minNTopTrials = 2
        if considered.count <= minNTopTrials {
            return dists.map { ($0.name, 0.0) }
        }

        let top = topQuantile(considered, quantile: 0.1, direction: direction, minNTopTrials: minNTopTrials)
        let region = considered  // region_quantile 1.0
        let quantile = Double(top.count) / Double(region.count)
        let scale = libmPow(quantile, 2)  // Python float ** 2 is the C library's pow, not q * q
        var importances = [(String, Double)]()
        for (name, dist) in nonSingle {
            importances.append((name, scale * pearsonDivergence(name: name, dist: dist, top: top, region: region)))
        }
        importances += single.map { ($0.name, 0.0) }

        // _sort_dict_by_importance: reversed(sorted(items, key=value)).
        let ascending = importances.enumerated().sorted { a, b in
            if a.element.1 < b.element.1 { return true }
            if b.element.1 < a.element.1 { return false }
            return a.offset < b.offset
        }.map(\.element)
        return Array(ascending.reversed())
    }

    // MARK: - get_param_importances

    /// normalize=True: divide by the (left-to-right) sum, or 1/n each when it is 0.
    static func normalized(_ items: [(String, Double)]) -> [(name: String, importance: Double)] {
        var s = 0.0
        for (_, v) in items { s += v }
        if s == 0 {
            let n = Double(items.count)
            return items.map { (name: $0.0, importance: 1.0 / n) }
        }
        return items.map { (name: $0.0, importance: $0.1 / s) }
    }

    /// `_get_distributions`: the parameters to assess with their distributions, by name; nil
    /// where Optuna raises.
    static func distributions(_ complete: [FrozenTrial], params: [String]?) -> [(name: String, dist: TuneDistribution)]? {
        var found: [String: TuneDistribution]
        if let params {
            let hasAll = { (t: FrozenTrial) in params.allSatisfy { t.distributions[$0] != nil } }
            if !params.isEmpty && !complete.contains(where: hasAll) { return nil }
            var first: [String: TuneDistribution]? = nil
            for t in complete where hasAll(t) {
                guard let current = first else {
                    var d = [String: TuneDistribution]()
                    for (name, dist) in t.distributions where params.contains(name) { d[name] = canonical(dist) }
                    first = d
                    continue
                }
                for (name, dist) in current where t.distributions[name].map(canonical) != dist { return nil }
            }
            found = first ?? [:]
        } else {
            // intersection_search_space: same distribution in every complete trial.
            found = complete[complete.count - 1].distributions.mapValues(canonical)
            for t in complete.dropLast() {
                found = found.filter { t.distributions[$0.key].map(canonical) == $0.value }
            }
        }
        return found.map { (name: $0.key, dist: $0.value) }
            .sorted { $0.name.unicodeScalars.lexicographicallyPrecedes($1.name.unicodeScalars) }
    }

    /// The distribution as Optuna would hold it: the high end of a stepped range moved down to
    /// the last reachable value (`_adjust_int_uniform_high`, `_adjust_discrete_uniform_high`).
    static func canonical(_ d: TuneDistribution) -> TuneDistribution {
        switch d {
        case .int:
            return TPESampler.adjusted(d)
        case .float(let low, let high, let log, let step?):
            guard !log, let (r, s, l, e) = PyDecimal.aligned(high: high, low: low, step: step), s > 0, r >= 0,
                  r % s != 0 else { return d }
            let (q, overflow) = (r / s).multipliedReportingOverflow(by: s)
            let (sum, overflow2) = q.addingReportingOverflow(l)
            guard !overflow, !overflow2, let v = Double("\(sum)e\(e)") else { return d }
            return .float(low: low, high: v, log: log, step: step)
        default:
            return d
        }
    }

    /// `BaseDistribution.single()`.
    static func isSingle(_ d: TuneDistribution) -> Bool {
        switch d {
        case .categorical(let choices):
            return choices.count == 1
        case .int(let low, let high, let log, let step):
            if log || low == high { return low == high }
            return high - low < step
        case .float(let low, let high, _, let step):
            guard let step else { return low == high }
            if low == high { return true }
            if let (r, s, _, _) = PyDecimal.aligned(high: high, low: low, step: step) { return r < s }
            return high - low < step
        }
    }

    // MARK: - PedAnovaImportanceEvaluator

    /// `_QuantileFilter(quantile, is_lower_better, min_n_top_trials).filter`: the trials whose loss
    /// is at most max(2nd smallest, ceil(quantile * n)-th smallest), ties included.
    static func topQuantile(_ trials: [FrozenTrial], quantile: Double, direction: StudyDirection,
                            minNTopTrials: Int) -> [FrozenTrial] {
        let sign = direction == .minimize ? 1.0 : -1.0
        let loss = trials.map { sign * ($0.value ?? .nan) }
        let sorted = loss.sorted()
        let cutoffIndex = Int((quantile * Double(loss.count)).rounded(.up)) - 1
        let a = sorted[minNTopTrials - 1], b = sorted[cutoffIndex]
        let cutoff = b > a ? b : a
        return zip(trials, loss).filter { $0.1 <= cutoff }.map(\.0)
    }

    /// `_compute_pearson_divergence` with evaluate_on_local: sum over the grid of
    /// p_local * (p_top / p_local - 1)^2, each density plus 1e-12.
    static func pearsonDivergence(name: String, dist: TuneDistribution, top: [FrozenTrial], region: [FrozenTrial]) -> Double {
        let peTop = scottEstimator(name: name, dist: dist, trials: top)
        let peLocal = scottEstimator(name: name, dist: dist, trials: region)
        let grids = (0..<peTop.nSteps).map(Double.init)
        let pdfTop = peTop.pe.logPDF(grids).map { NumpyCompat.exp($0) + 1e-12 }
        let pdfLocal = peLocal.pe.logPDF(grids).map { NumpyCompat.exp($0) + 1e-12 }
        var sq = [Double](repeating: 0, count: grids.count)
        for i in 0..<grids.count {
            let r = pdfTop[i] / pdfLocal[i] - 1
            sq[i] = r * r
        }
        return blasDot(pdfLocal, sq)
    }

    // MARK: - scott_parzen_estimator.py

    /// `_build_parzen_estimator`: counts of the trials per grid cell (or per choice), and the
    /// Parzen estimator over the cell indices built from them.
    static func scottEstimator(name: String, dist: TuneDistribution, trials: [FrozenTrial]) -> (pe: ParzenEstimator, nSteps: Int) {
        let values = trials.map { $0.params[name] ?? .nan }
        switch dist {
        case .categorical(let choices):
            var counts = [Double](repeating: 0, count: choices.count)
            for v in values {
                if let c = Int(exactly: v), c >= 0, c < counts.count { counts[c] += 1 }
            }
            return (scott(counts: counts, categorical: true), counts.count)
        case .float(let low, let high, let log, let step):
            var nSteps = 50
            if !log, let step { nSteps = min(pyRound((high - low) / step) + 1, 50) }
            let counts = gridCounts(values, low: low, high: high, log: log, nSteps: nSteps)
            return (scott(counts: counts, categorical: false), counts.count)
        case .int(let low, let high, let log, let step):
            let nSteps: Int
            if log {
                let log2Size = Int((NumpyCompat.log(Double(high - low + 1)) / NumpyCompat.log(2)).rounded(.up)) + 1
                nSteps = min(log2Size, 50)
            } else {
                nSteps = min(pyRound(Double(high - low) / Double(step)) + 1, 50)
            }
            let counts = gridCounts(values, low: Double(low), high: Double(high), log: log, nSteps: nSteps)
            return (scott(counts: counts, categorical: false), counts.count)
        }
    }

    /// Python's round(x) for a float: nearest integer, ties to even.
    static func pyRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

    /// `_count_numerical_param_in_grid`: grid = linspace(low, high, nSteps) (of the logs when
    /// `log`), each value counted in the cell searchsorted(grid, value - cell / 2) (side left).
    static func gridCounts(_ values: [Double], low: Double, high: Double, log: Bool, nSteps: Int) -> [Double] {
        let start = log ? NumpyCompat.log(low) : low
        let stop = log ? NumpyCompat.log(high) : high
        let grid = linspace(start, stop, nSteps)
        let halfCell = (grid[1] - grid[0]) / 2
        var counts = [Double](repeating: 0, count: grid.count)
        for v0 in values {
            let v = (log ? NumpyCompat.log(v0) : v0) - halfCell
            // searchsorted left: number of grid points < v.
            var lo = 0, hi = grid.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if grid[mid] < v { lo = mid + 1 } else { hi = mid }
            }
            counts[min(lo, grid.count - 1)] += 1
        }
        return counts
    }

    /// np.linspace(start, stop, n) for float64 scalars (n >= 2): i * step + start, last = stop.
    static func linspace(_ start: Double, _ stop: Double, _ n: Int) -> [Double] {
        let div = Double(n - 1)
        let delta = stop - start
        let step = delta / div
        var y = (0..<n).map { i -> Double in
            step == 0 ? (Double(i) / div) * delta : Double(i) * step
        }
        for i in 0..<n { y[i] += start }
        if n > 1 { y[n - 1] = stop }
        return y
    }

    /// `_ScottParzenEstimator(counts, prior_weight=1)`: one kernel per non-empty cell (weighted by
    /// its count) plus the prior. Categorical kernels as TPE's; numerical ones discrete truncated
    /// normals on 0..<n with a common Scott's-rule bandwidth (prior: mean (n-1)/2, sigma n).
    static func scott(counts: [Double], categorical: Bool) -> ParzenEstimator {
        let n = counts.count
        let priorWeight = 1.0
        let nonZero = (0..<n).filter { counts[$0] > 0 }
        let countsNZ = nonZero.map { counts[$0] }

        var w = countsNZ.isEmpty ? [1.0] : countsNZ + [priorWeight]
        let total = NumpyCompat.pairwiseSum(w)
        for i in 0..<w.count { w[i] /= total }

        if categorical {
            if nonZero.isEmpty {
                return ParzenEstimator(mixtureWeights: w, body: .categorical([[Double](repeating: 1.0 / Double(n), count: n)]))
            }
            let nk = nonZero.count + 1
            var rows = [[Double]](repeating: [Double](repeating: priorWeight / Double(nk), count: n), count: nk)
            for (k, c) in nonZero.enumerated() { rows[k][c] += 1 }
            for k in 0..<nk {
                let s = NumpyCompat.pairwiseSum(rows[k])
                let d = s == 0 ? 1 : s
                for c in 0..<n { rows[k][c] /= d }
            }
            return ParzenEstimator(mixtureWeights: w, body: .categorical(rows))
        }

        let nTrials = NumpyCompat.pairwiseSum(counts)
        let weights = countsNZ.map { $0 / nTrials }
        var mus = nonZero.map(Double.init)
        let meanEst = blasDot(mus, weights)
        let sqDev = mus.map { ($0 - meanEst) * ($0 - meanEst) }
        let denom = nTrials - 1 > 1 ? nTrials - 1 : 1
        var sigmaEst = (blasDot(sqDev, countsNZ) / denom).squareRoot()

        var cum = [Double]()
        var acc = 0.0
        for c in countsNZ { acc += c; cum.append(acc) }
        let q25 = (nTrials / 4).rounded(.down), q75 = (nTrials * 3 / 4).rounded(.down)
        let idxQ25 = cum.filter { $0 < q25 }.count    // searchsorted side left
        let idxQ75 = cum.filter { $0 <= q75 }.count   // searchsorted side right
        let iqr = Double(nonZero[min(nonZero.count - 1, idxQ75)] - nonZero[idxQ25])
        let a = iqr / 1.34
        let m = sigmaEst < a ? sigmaEst : a           // Python min(a, sigma_est)
        sigmaEst = 1.059 * m * libmPow(nTrials, -0.2)
        let sigmaMin = 0.5 / 1.64
        let sigma = sigmaMin > sigmaEst ? sigmaMin : sigmaEst  // Python max(sigma_est, sigma_min)
        var sigmas = [Double](repeating: sigma, count: mus.count)
        mus.append(0.5 * Double(n - 1))
        sigmas.append(Double(n))
        return ParzenEstimator(mixtureWeights: w,
                               body: .numerical(mus: mus, sigmas: sigmas, low: 0, high: Double(n - 1), step: 1, log: false))
    }

    // MARK: - Numerics

    /// numpy's `x @ y` for float64 vectors: OpenBLAS `ddot` with its Haswell kernel (the one
    /// numpy's scipy-openblas picks on the project's CPUs): the first n & ~15 products fused into
    /// 4 x 4 accumulators (index i into accumulator (i % 16) / 4, lane i % 4), folded as the
    /// kernel does, then the remaining products added one by one (multiply, then add).
    static func blasDot(_ x: [Double], _ y: [Double]) -> Double {
        let n = min(x.count, y.count)
        let n1 = n & ~15
        var dot = 0.0
        if n1 > 0 {
            var acc = [Double](repeating: 0, count: 16)
            var i = 0
            while i < n1 {
                for j in 0..<16 { acc[j] = acc[j].addingProduct(x[i + j], y[i + j]) }
                i += 16
            }
            // vextractf128 + vaddpd per accumulator: (lane 0 + lane 2, lane 1 + lane 3).
            var h = [(Double, Double)]()
            for k in 0..<4 { h.append((acc[4 * k + 2] + acc[4 * k], acc[4 * k + 3] + acc[4 * k + 1])) }
            let h01 = (h[1].0 + h[0].0, h[1].1 + h[0].1)
            let h23 = (h[3].0 + h[2].0, h[3].1 + h[2].1)
            let all = (h23.0 + h01.0, h23.1 + h01.1)
            dot = all.0 + all.1  // vhaddpd
        }
        for i in n1..<n { dot += y[i] * x[i] }
        return 0.0 + dot  // numpy's DOUBLE_dot: sum = 0.; sum += cblas_ddot(...)
    }
}

/// The C library's pow, called as Python (`float ** float`) and numpy scalars do: kept out of the
/// optimizer's reach so that pow(x, 2) is not rewritten as x * x (glibc's pow is not always the
/// correctly rounded square).
@inline(never) @_optimize(none)
fileprivate func libmPow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }

extension ParzenEstimator {
    /// A mixture with given (normalized) weights and kernels, as `_ScottParzenEstimator` builds it.
    init(mixtureWeights: [Double], body: Body) {
        self.weights = mixtureWeights
        self.body = body
    }
}

/// Python's `decimal.Decimal(str(x))` for the few comparisons Optuna makes in decimal
/// (float steps): shortest round-trip digits as integers at a common power of ten.
fileprivate enum PyDecimal {
    /// (high - low, step, low) as integers scaled by 10^-e, and e; nil if they do not fit in 64
    /// bits (then well within Python's 28-digit decimal precision) or are not finite.
    static func aligned(high: Double, low: Double, step: Double) -> (Int, Int, Int, Int)? {
        guard let h = parse(high), let l = parse(low), let s = parse(step) else { return nil }
        let e = min(h.1, l.1, s.1)
        guard let hh = scale(h, to: e), let ll = scale(l, to: e), let ss = scale(s, to: e) else { return nil }
        let (r, o) = hh.subtractingReportingOverflow(ll)
        if o { return nil }
        return (r, ss, ll, e)
    }

    static func scale(_ v: (Int, Int), to e: Int) -> Int? {
        var m = v.0
        for _ in 0..<(v.1 - e) {
            let (p, o) = m.multipliedReportingOverflow(by: 10)
            if o { return nil }
            m = p
        }
        return m
    }

    /// Digits and exponent of Swift's shortest round-trip description (as Python's repr).
    static func parse(_ x: Double) -> (Int, Int)? {
        guard x.isFinite else { return nil }
        var text = x.description
        var negative = false
        if text.hasPrefix("-") { negative = true; text.removeFirst() }
        var exp = 0
        if let eIdx = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let e = Int(text[text.index(after: eIdx)...]) else { return nil }
            exp = e
            text = String(text[..<eIdx])
        }
        var digits = text
        if let dot = text.firstIndex(of: ".") {
            let frac = text[text.index(after: dot)...]
            digits = String(text[..<dot]) + frac
            exp -= frac.count
        }
        guard let m = Int(digits) else { return nil }
        return (negative ? -m : m, exp)
    }
}
