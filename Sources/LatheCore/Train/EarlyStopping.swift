/// Early stopping: its settings (patience, min_delta, mode, restore_best) and what it has seen
/// (the best metric, its step, the evaluations since). A value type, so a checkpoint holds a
/// copy and resuming continues the count where the run left it.
public struct EarlyStopping: Sendable, Codable, Equatable {
    public enum Verdict: Sendable, Equatable { case improved, worse, stop }

    public var patience = 3
    public var minDelta = 0.0
    /// "min", "max" or "auto" (the trainer resolves auto from the metric before observing).
    public var mode = "auto"
    /// Whether the best evaluated weights are put back at the end (also when training ran
    /// all its epochs and the last evaluation was not the best), as Keras' restore_best_weights.
    public var restoreBest = true

    public private(set) var best: Double? = nil
    public private(set) var bestStep: Int? = nil
    /// Evaluations since the last improvement.
    public private(set) var badEvals = 0

    // Only what was observed goes into a checkpoint: the settings come from the run that
    // resumes, so a larger patience given on resume lets a stopped run continue.
    enum CodingKeys: String, CodingKey { case best, bestStep, badEvals }

    public init() {}

    /// A tracker that never stops: the best metric is recorded for every run, with or
    /// without early stopping.
    public static func trackingOnly(higherIsBetter: Bool) -> EarlyStopping {
        var t = EarlyStopping()
        t.patience = Int.max
        t.mode = higherIsBetter ? "max" : "min"
        return t
    }

    /// Whether patience is used up.
    public var shouldStop: Bool { badEvals >= patience }

    /// Records one evaluation. A first finite metric is an improvement; later ones must beat
    /// the best by more than minDelta in the mode's direction.
    public mutating func observe(_ metric: Double, step: Int) -> Verdict {
        let better: Bool
        if let best {
            better = mode == "max" ? metric > best + minDelta : metric < best - minDelta
        } else {
            better = metric.isFinite
        }
        if better {
            best = metric
            bestStep = step
            badEvals = 0
            return .improved
        }
        badEvals += 1
        return shouldStop ? .stop : .worse
    }

    /// These settings with the progress of `saved` (a tracker read from a checkpoint).
    public func continuing(_ saved: EarlyStopping) -> EarlyStopping {
        var t = self
        t.best = saved.best
        t.bestStep = saved.bestStep
        t.badEvals = saved.badEvals
        return t
    }
}
