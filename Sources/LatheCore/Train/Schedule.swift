import Foundation

/// A learning-rate schedule: linear warm-up, then constant, linear or cosine decay to a
/// floor, step decay or exponential decay. `lr(step)` is the rate for update number `step`
/// (0-based, as PyTorch's LambdaLR counts).
public struct Schedule: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable { case constant, linear, cosine, step, exponential }
    public var kind: Kind
    public var lr: Double
    public var warmup: Int = 0
    /// Total number of updates (needed by linear and cosine decay).
    public var total: Int = 0
    public var minLR: Double = 0
    /// Step decay: multiply by gamma every stepSize updates after warm-up.
    public var stepSize: Int = 1
    public var gamma: Double = 0.1

    public init(kind: Kind, lr: Double, warmup: Int = 0, total: Int = 0, minLR: Double = 0, stepSize: Int = 1, gamma: Double = 0.1) throws(LatheError) {
        if !(lr >= 0) || !lr.isFinite { throw LatheError("schedule: lr must be a non-negative number, got \(lr)") }
        if warmup < 0 { throw LatheError("schedule: warmup must be non-negative, got \(warmup)") }
        if (kind == .linear || kind == .cosine) && total <= 0 {
            throw LatheError("schedule: \(kind.rawValue) decay needs total (the number of updates), got \(total)")
        }
        if (kind == .linear || kind == .cosine) && warmup > total {
            throw LatheError("schedule: warmup (\(warmup)) is longer than total (\(total))")
        }
        if kind == .step && stepSize <= 0 { throw LatheError("schedule: step_size must be positive, got \(stepSize)") }
        if minLR < 0 || minLR > lr { throw LatheError("schedule: min_lr must be between 0 and lr (\(lr)), got \(minLR)") }
        self.kind = kind
        self.lr = lr
        self.warmup = warmup
        self.total = total
        self.minLR = minLR
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func lr(at step: Int) -> Double {
        if warmup > 0 && step < warmup {
            return lr * Double(step + 1) / Double(warmup)
        }
        let s = step - warmup
        switch kind {
        case .constant:
            return lr
        case .linear:
            let span = max(total - warmup, 1)
            let frac = min(1, Double(s) / Double(span))
            return minLR + (lr - minLR) * (1 - frac)
        case .cosine:
            let span = max(total - warmup, 1)
            let frac = min(1, Double(s) / Double(span))
            return minLR + (lr - minLR) * 0.5 * (1 + Foundation.cos(Double.pi * frac))
        case .step:
            return lr * Foundation.pow(gamma, Double(s / stepSize))
        case .exponential:
            return lr * Foundation.pow(gamma, Double(s))
        }
    }

    /// The rates of the first n updates.
    public func list(_ n: Int) -> [Double] { (0..<max(n, 0)).map { lr(at: $0) } }

    /// A text plot of the first n updates.
    public var description: String {
        var t = "Schedule \(kind.rawValue): lr \(lr)"
        if warmup > 0 { t += ", warmup \(warmup)" }
        if total > 0 { t += ", total \(total)" }
        if minLR > 0 { t += ", min_lr \(minLR)" }
        return t
    }

    public func plot(steps n: Int, width: Int = 60, height: Int = 12) -> String {
        let n = max(n, 1)
        // the step of column x, in Double: x * (n - 1) overflows for n near Int.max
        let ys = (0..<width).map { lr(at: (Double($0) * Double(n - 1) / Double(max(width - 1, 1))).clampedInt()) }
        let top = max(ys.max() ?? 1, 1e-30), bottom = min(ys.min() ?? 0, 0)
        var grid = [[Character]](repeating: [Character](repeating: " ", count: width), count: height)
        for (x, y) in ys.enumerated() {
            let r = min(max(((y - bottom) / (top - bottom) * Double(height - 1)).rounded().clampedInt(), 0), height - 1)
            grid[height - 1 - r][x] = "*"
        }
        func label(_ v: Double) -> String { String(format: "%9.2e", v) }
        var out = "lr (\(kind.rawValue)\(warmup > 0 ? ", warmup \(warmup)" : "")) over \(n) updates\n"
        for (i, row) in grid.enumerated() {
            let l = i == 0 ? label(top) : (i == height - 1 ? label(bottom) : String(repeating: " ", count: 9))
            out += l + " |" + String(row) + "\n"
        }
        out += String(repeating: " ", count: 10) + "+" + String(repeating: "-", count: width) + "\n"
        let right = "\(n - 1)"
        out += String(repeating: " ", count: 11) + "0" + String(repeating: " ", count: max(1, width - 1 - right.count)) + right
        return out
    }
}

/// How a training run asks for its learning rate over time: an explicit schedule, a kind name
/// that takes the run's rate, warm-up and length, or none (a constant rate, with an optional
/// warm-up). Linear and cosine decay over the run's own updates unless a total is given.
public enum ScheduleSpec {
    case none
    case schedule(Schedule)
    case kind(Schedule.Kind)
    case options(kind: Schedule.Kind, lr: Double?, warmup: Int?, total: Int?, minLR: Double, stepSize: Int, gamma: Double)

    /// The schedule for a run of `totalUpdates` updates at `lr` with `warmup` warm-up steps (nil:
    /// a constant rate without warm-up).
    public func resolve(lr: Double, warmup: Int, totalUpdates: Int) throws(LatheError) -> Schedule? {
        switch self {
        case .none:
            return warmup > 0 ? try Schedule(kind: .constant, lr: lr, warmup: warmup) : nil
        case .schedule(let s):
            return s
        case .kind(let k):
            return try Schedule(kind: k, lr: lr, warmup: warmup, total: totalUpdates)
        case .options(let k, let l, let w, let total, let minLR, let stepSize, let gamma):
            return try Schedule(kind: k, lr: l ?? lr, warmup: w ?? warmup, total: total ?? totalUpdates,
                                minLR: minLR, stepSize: stepSize, gamma: gamma)
        }
    }
}
