import Foundation

/// Stops unpromising trials early, from the values trials report at their steps; Optuna's
/// pruners with their parameters and defaults.
public enum Pruner: Sendable, Equatable {
    case none
    /// Prunes when the trial's best value so far is worse than the `percentile` of the values
    /// completed trials reported at the same step (the median pruner is percentile 50).
    case percentile(percentile: Double, startupTrials: Int, warmupSteps: Int, intervalSteps: Int, minTrials: Int)
    /// Asynchronous successive halving (ASHA): at steps min_resource * eta^(rate + rung) a
    /// trial continues only when it is in the top 1/eta of the trials that reached that rung.
    case successiveHalving(minResource: Int?, reductionFactor: Int, minEarlyStoppingRate: Int, bootstrapCount: Int)

    /// Hyperband: successive halving in several brackets (each with its own early-stopping
    /// rate), a trial's bracket chosen from a hash of the study's name and its number, so that
    /// some brackets explore many configurations briefly and others few for longer.
    case hyperband(minResource: Int, maxResource: Int?, reductionFactor: Int, bootstrapCount: Int)

    public static func median(startupTrials: Int = 5, warmupSteps: Int = 0, intervalSteps: Int = 1, minTrials: Int = 1) -> Pruner {
        .percentile(percentile: 50, startupTrials: startupTrials, warmupSteps: warmupSteps, intervalSteps: intervalSteps, minTrials: minTrials)
    }

    public var name: String {
        switch self {
        case .none: return "none"
        case .percentile(let p, _, _, _, _): return p == 50 ? "median" : "percentile(\(p))"
        case .successiveHalving(_, let eta, _, _): return "successive halving (eta \(eta))"
        case .hyperband(_, _, let eta, _): return "hyperband (eta \(eta))"
        }
    }

    /// The verdict for `trial` (its intermediate values up to its last step) among `trials`
    /// (the study's, the trial itself included or not), and for successive halving the rung
    /// values to record on the trial (`rungs`, updated).
    public func shouldPrune(_ trial: FrozenTrial, rungs: inout [Int: Double], trials: [TrialRecord], direction: StudyDirection,
                            studyName: String = "") -> Bool {
        guard let step = trial.intermediate.keys.max() else { return false }
        switch self {
        case .none:
            return false
        case let .hyperband(minResource, maxGiven, eta, bootstrap):
            let completed = trials.filter { $0.frozen.state == .complete }
            var maxResource = maxGiven
            if maxResource == nil {
                guard let longest = completed.compactMap({ $0.frozen.intermediate.keys.max() }).max() else { return false }
                maxResource = longest + 1
            }
            guard let maxResource else { return false }
            let brackets = Int((log(Double(maxResource) / Double(minResource)) / log(Double(eta))).rounded(.down)) + 1
            let budgets = (0..<brackets).map { b -> Int in
                let s = brackets - 1 - b
                return Int((Double(brackets) * pow(Double(eta), Double(s)) / Double(s + 1)).rounded(.up))
            }
            let total = budgets.reduce(0, +)
            func bracket(_ number: Int) -> Int {
                var n = Int(Pruner.crc32(Array("\(studyName)_\(number)".utf8)) % UInt32(total))
                for (b, budget) in budgets.enumerated() {
                    n -= budget
                    if n < 0 { return b }
                }
                return brackets - 1
            }
            let mine = bracket(trial.number)
            let same = trials.filter { bracket($0.frozen.number) == mine }
            return Pruner.successiveHalving(minResource: minResource, reductionFactor: eta, minEarlyStoppingRate: mine, bootstrapCount: bootstrap)
                .shouldPrune(trial, rungs: &rungs, trials: same, direction: direction)
        case let .percentile(percentile, startup, warmup, interval, minTrials):
            let completed = trials.filter { $0.frozen.state == .complete }
            if completed.isEmpty || completed.count < startup || step < warmup { return false }
            // only the first report at or after each interval boundary is judged
            let boundary = (step - warmup) / interval * interval + warmup
            let previous = trial.intermediate.keys.filter { $0 != step }.max() ?? -1
            if previous >= boundary { return false }
            let own = trial.intermediate.values.filter { !$0.isNaN }
            guard let best = direction == .maximize ? own.max() : own.min() else { return true }
            let others = completed.compactMap { $0.frozen.intermediate[step] }
            if others.count < minTrials { return false }
            let p = Pruner.percentile(others.filter { !$0.isNaN }, direction == .maximize ? 100 - percentile : percentile)
            if p.isNaN { return false }
            return direction == .maximize ? best < p : best > p
        case let .successiveHalving(minResourceGiven, eta, rate, bootstrap):
            let value = trial.intermediate[step] ?? .nan
            var rung = 0
            while rungs[rung] != nil { rung += 1 }
            var minResource = minResourceGiven
            if minResource == nil {
                // "auto": a hundredth of the longest completed trial
                let lasts = trials.filter { $0.frozen.state == .complete }.compactMap { $0.frozen.intermediate.keys.max() }
                guard let longest = lasts.max() else { return false }
                minResource = max(longest / 100, 1)
            }
            guard let minResource else { return false }
            while true {
                let promotion = minResource * Pruner.power(eta, rate + rung)
                if step < promotion { return false }
                if value.isNaN { return true }
                rungs[rung] = value
                var competing = trials.filter { $0.frozen.number != trial.number }.compactMap { $0.rungs[rung] }
                competing.append(value)
                if competing.count <= bootstrap { return true }
                var idx = competing.count / eta - 1
                if idx == -1 { idx = 0 }
                competing.sort()
                let promotable = direction == .maximize ? value >= competing[competing.count - 1 - idx] : value <= competing[idx]
                if !promotable { return true }
                rung += 1
            }
        }
    }

    /// CRC-32 (IEEE, as zlib's and Python's binascii.crc32).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    static func power(_ b: Int, _ e: Int) -> Int {
        var r = 1
        for _ in 0..<e { r = r.multipliedReportingOverflow(by: b).overflow ? Int.max : r * b }
        return r
    }

    /// numpy's percentile with linear interpolation (NaN for no values).
    static func percentile(_ xs: [Double], _ q: Double) -> Double {
        if xs.isEmpty { return .nan }
        let s = xs.sorted()
        let pos = q / 100 * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
        let t = pos - Double(lo), a = s[lo], b = s[hi], d = b - a
        // numpy's lerp: from the nearer end, so the result stays within [a, b]
        return t >= 0.5 ? b - d * (1 - t) : a + d * t
    }
}
