import Foundation

/// Bootstrap confidence intervals, paired significance tests and per-group scores, for any
/// metric that can score a weighted subset of items.
///
/// A metric is given as `score(weights)`: `weights[i]` is how many times item i counts (0
/// leaves it out). Corpus metrics (BLEU, F1, WER) then resample exactly: a resample sums the
/// items' statistics, it does not average per-item scores.
public enum Resampling {
    public struct Bootstrap: Sendable {
        public var score: Double
        public var low: Double
        public var high: Double
        public var mean: Double
        public var std: Double
        public var ci: Double
        public var samples: Int
        /// Resamples whose metric was undefined (NaN) and left out.
        public var undefined: Int

        /// One line: `accuracy = 0.8000 (95% CI 0.7500 to 0.8500, 1000 bootstrap resamples)`.
        public func text(metric: String) -> String {
            "\(metric) = \(pyFixed(score, 4)) (\(Int((ci * 100).rounded()))% CI \(pyFixed(low, 4)) to \(pyFixed(high, 4)), \(samples) bootstrap resamples)"
        }
    }

    /// Percentile bootstrap: `samples` resamples of n items with replacement; the interval is
    /// the (1-ci)/2 and (1+ci)/2 percentiles (NumPy's linear interpolation) of their scores.
    public static func bootstrap(items n: Int, samples: Int, ci: Double, rng: inout RandomGenerator,
                                 progress: ((Int) -> Void)? = nil,
                                 score: ([Int32]) throws -> Double) throws -> Bootstrap {
        try check(n: n, samples: samples, ci: ci)
        let point = try score([Int32](repeating: 1, count: n))
        var scores: [Double] = []
        scores.reserveCapacity(samples)
        var w = [Int32](repeating: 0, count: n)
        var undefined = 0
        for s in 0..<samples {
            try Interrupt.check()
            for i in 0..<n { w[i] = 0 }
            for _ in 0..<n { w[rng.below(n)] += 1 }
            let v = try score(w)
            if v.isNaN { undefined += 1 } else { scores.append(v) }
            progress?(s + 1)
        }
        scores.sort()
        let mean = scores.isEmpty ? Double.nan : NumPy.mean(scores)
        var ss = 0.0
        for v in scores { ss += (v - mean) * (v - mean) }
        let std = scores.count > 1 ? (ss / Double(scores.count - 1)).squareRoot() : .nan
        return Bootstrap(score: point, low: NumPy.percentile(sorted: scores, (1 - ci) / 2 * 100),
                         high: NumPy.percentile(sorted: scores, (1 + ci) / 2 * 100), mean: mean, std: std,
                         ci: ci, samples: samples, undefined: undefined)
    }

    static func check(n: Int, samples: Int, ci: Double) throws(LatheError) {
        if n < 1 { throw LatheError("empty input (expected at least one item)") }
        if samples < 1 { throw LatheError("n must be at least 1 (got \(samples))") }
        if !(ci > 0 && ci < 1) { throw LatheError("ci must be between 0 and 1 (got \(ci))") }
        // every resample's score is kept (for the percentiles)
        try MemoryBudget.check(count: samples, of: Double.self, for: "\(samples) resamples")
    }

    public enum Method: String, Sendable { case bootstrap, permutation }
    public enum Alternative: String, Sendable { case twoSided = "two-sided", greater, less }

    public struct PairedTest: Sendable {
        public var a: Double
        public var b: Double
        /// b - a.
        public var delta: Double
        public var pValue: Double
        public var method: Method
        public var alternative: Alternative
        public var samples: Int
        /// Percentile interval of the resampled delta (bootstrap only).
        public var low: Double
        public var high: Double
        public var ci: Double

        /// One line: the scores, delta, p-value and how it was tested.
        public func text(metric: String) -> String {
            var t = "\(metric): A \(pyFixed(a, 4)), B \(pyFixed(b, 4)), delta \(delta >= 0 ? "+" : "")\(pyFixed(delta, 4)), p = \(String(format: "%.4g", pValue))"
            t += " (\(method == .bootstrap ? "paired bootstrap" : "approximate randomization"), \(alternative.rawValue), \(samples) samples"
            if method == .bootstrap { t += "; \(Int((ci * 100).rounded()))% CI of delta \(pyFixed(low, 4)) to \(pyFixed(high, 4))" }
            return t + ")"
        }
    }

    /// Is system B different from (or better than) system A on the same items?
    /// `score(weights)` scores 2n rows: rows 0..<n are A's items, rows n..<2n B's.
    ///
    /// - bootstrap (paired): resample items; delta* = B* - A*; p counts resamples with
    ///   |delta* - delta| >= |delta| (two-sided), delta* - delta >= delta (greater: B better),
    ///   or <= (less).
    /// - permutation (approximate randomization): swap each item's A and B outputs with
    ///   probability 1/2; p counts shuffles with |delta'| >= |delta| (or >= / <= one-sided).
    /// p = (count + 1) / (samples + 1), so identical systems get p = 1.
    public static func pairedTest(items n: Int, method: Method, alternative: Alternative, samples: Int, ci: Double,
                                  rng: inout RandomGenerator, progress: ((Int) -> Void)? = nil,
                                  score: ([Int32]) throws -> Double) throws -> PairedTest {
        try check(n: n, samples: samples, ci: ci)
        var w = [Int32](repeating: 0, count: 2 * n)
        for i in 0..<n { w[i] = 1 }
        let a = try score(w)
        for i in 0..<n { w[i] = 0; w[n + i] = 1 }
        let b = try score(w)
        let delta = b - a
        let tol = 1e-12 * max(1, abs(delta))
        var count = 0
        var deltas: [Double] = []
        deltas.reserveCapacity(samples)
        var draw = [Int32](repeating: 0, count: n)
        for s in 0..<samples {
            try Interrupt.check()
            var d: Double
            switch method {
            case .bootstrap:
                for i in 0..<n { draw[i] = 0 }
                for _ in 0..<n { draw[rng.below(n)] += 1 }
                for i in 0..<n { w[i] = draw[i]; w[n + i] = 0 }
                let sa = try score(w)
                for i in 0..<n { w[i] = 0; w[n + i] = draw[i] }
                let sb = try score(w)
                d = sb - sa
                if d.isNaN { continue }
                deltas.append(d)
                let c = d - delta
                switch alternative {
                case .twoSided: if abs(c) >= abs(delta) - tol { count += 1 }
                case .greater: if c >= delta - tol { count += 1 }
                case .less: if c <= delta + tol { count += 1 }
                }
            case .permutation:
                var swapped = [Bool](repeating: false, count: n)
                var bits: UInt64 = 0
                for i in 0..<n {
                    if i & 63 == 0 { bits = rng.next() }
                    swapped[i] = bits & 1 == 1
                    bits >>= 1
                }
                for i in 0..<n { w[i] = swapped[i] ? 0 : 1; w[n + i] = swapped[i] ? 1 : 0 }
                let sa = try score(w)
                for i in 0..<n { w[i] = swapped[i] ? 1 : 0; w[n + i] = swapped[i] ? 0 : 1 }
                let sb = try score(w)
                d = sb - sa
                if d.isNaN { continue }
                deltas.append(d)
                switch alternative {
                case .twoSided: if abs(d) >= abs(delta) - tol { count += 1 }
                case .greater: if d >= delta - tol { count += 1 }
                case .less: if d <= delta + tol { count += 1 }
                }
            }
            progress?(s + 1)
        }
        deltas.sort()
        let p = Double(count + 1) / Double(deltas.count + 1)
        var low = Double.nan, high = Double.nan
        if method == .bootstrap {
            low = NumPy.percentile(sorted: deltas, (1 - ci) / 2 * 100)
            high = NumPy.percentile(sorted: deltas, (1 + ci) / 2 * 100)
        }
        return PairedTest(a: a, b: b, delta: delta, pValue: min(p, 1), method: method, alternative: alternative,
                          samples: samples, low: low, high: high, ci: ci)
    }

    /// A metric per group, with the largest gap between groups.
    public struct Slices: Sendable {
        public struct Group: Sendable {
            public var group: LabelValue
            public var size: Int
            public var score: Double
        }
        public var metric: String
        public var groups: [Group]
        public var overall: Double
        /// max - min over groups with at least `minSize` items (NaN scores left out).
        public var gap: Double
        public var best: LabelValue?
        public var worst: LabelValue?
        public var minSize: Int

        /// An aligned table: one row per group, then the overall score and the gap.
        public var text: String {
            var out = "Slices: \(metric) over \(groups.count) group\(groups.count == 1 ? "" : "s")"
            out += ", gap \(pyFixed(gap, 4))"
            if let worst, let best { out += " (worst \(worst.description), best \(best.description))" }
            out += "\n"
            let names = groups.map { $0.group.description }
            let w0 = max(PyText.length("group"), PyText.length("overall"), names.map(PyText.length).max() ?? 0)
            let sizes = groups.map { String($0.size) }
            let total = String(groups.reduce(0) { $0 + $1.size })
            let w1 = max(4, total.count)
            let w2 = max(PyText.length(metric), 6)
            out += PyText.ljust("group", w0) + "  " + PyText.rjust("n", w1) + "  " + PyText.rjust(metric, w2) + "\n"
            for (k, g) in groups.enumerated() {
                var line = PyText.ljust(names[k], w0) + "  " + PyText.rjust(sizes[k], w1) + "  " + PyText.rjust(pyFixed(g.score, 4), w2)
                if g.size < minSize { line += "  (fewer than \(minSize) items: not in the gap)" }
                out += line + "\n"
            }
            out += PyText.ljust("overall", w0) + "  " + PyText.rjust(total, w1) + "  " + PyText.rjust(pyFixed(overall, 4), w2) + "\n"
            return out
        }
    }

    /// Scores each group (rows whose group label is equal) and the whole set.
    public static func slices(groups: LabelColumn, metric: String, minSize: Int = 1,
                              score: ([Int32]) throws -> Double) throws -> Slices {
        let enc = try EncodedLabels([groups], names: ["groups"])
        let n = groups.count
        if n == 0 { throw LatheError("empty input (expected at least one item)") }
        let overall = try score([Int32](repeating: 1, count: n))
        var out: [Slices.Group] = []
        var w = [Int32](repeating: 0, count: n)
        let codes = enc.yTrue
        for (k, g) in enc.classes.enumerated() {
            try Interrupt.check()
            var size = 0
            for i in 0..<n {
                let hit = codes[i] == Int32(k)
                w[i] = hit ? 1 : 0
                if hit { size += 1 }
            }
            out.append(.init(group: g, size: size, score: try score(w)))
        }
        let eligible = out.filter { $0.size >= minSize && !$0.score.isNaN }
        let best = eligible.max { $0.score < $1.score }
        let worst = eligible.min { $0.score < $1.score }
        let gap = (best?.score ?? .nan) - (worst?.score ?? .nan)
        return Slices(metric: metric, groups: out, overall: overall, gap: gap, best: best?.group, worst: worst?.group, minSize: minSize)
    }

    /// Latency summary of timed runs (seconds in, milliseconds out).
    public struct Latency: Sendable {
        public var runs: Int
        public var batch: Int
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var mean: Double
        public var min: Double
        public var max: Double
        public var itemsPerSecond: Double

        public init(seconds: [Double], batch: Int) {
            let ms = seconds.map { $0 * 1000 }.sorted()
            runs = ms.count
            self.batch = batch
            p50 = NumPy.percentile(sorted: ms, 50)
            p90 = NumPy.percentile(sorted: ms, 90)
            p99 = NumPy.percentile(sorted: ms, 99)
            mean = NumPy.mean(ms)
            min = ms.first ?? .nan
            max = ms.last ?? .nan
            let total = seconds.reduce(0, +)
            itemsPerSecond = total > 0 ? Double(batch) * Double(ms.count) / total : .infinity
        }

        /// Times `call`: `warmup` untimed calls, then `runs` timed ones with the monotonic clock,
        /// stopping early once `maxSeconds` have passed (after at least one). Ctrl-C stops
        /// between calls.
        public static func measure(warmup: Int, runs: Int, batch: Int, maxSeconds: Double? = nil,
                                   progress: ((Int) -> Void)? = nil, _ call: () throws -> Void) throws -> Latency {
            for _ in 0..<warmup {
                try Interrupt.check()
                try call()
            }
            var times: [Double] = []
            let start = monotonicSeconds()
            for k in 0..<runs {
                try Interrupt.check()
                let t0 = monotonicSeconds()
                try call()
                times.append(monotonicSeconds() - t0)
                progress?(k + 1)
                if let maxSeconds, monotonicSeconds() - start >= maxSeconds { break }
            }
            return Latency(seconds: times, batch: batch)
        }

        /// One line: percentiles, mean and throughput.
        public var text: String {
            let rate = abs(itemsPerSecond) < 9e18 ? Int(itemsPerSecond.rounded()).groupedThousands : String(format: "%.4g", itemsPerSecond)
            return String(format: "p50 %.4g ms  p90 %.4g ms  p99 %.4g ms  mean %.4g ms  ", p50, p90, p99, mean)
                + "\(rate) items/s (\(runs) runs, batch \(batch))"
        }
    }
}
