/// The vocabulary of hyperparameter search, as Optuna has it: distributions of parameters,
/// trials with their states, values and intermediate values, and the direction of a study.

/// A parameter's search space. Values are held internally as Doubles: floats and ints as
/// themselves, a categorical choice as its index in `choices` (Optuna's internal repr).
public enum TuneDistribution: Sendable, Equatable {
    /// low <= x <= high; `log` samples log(x) uniformly (low > 0); `step` rounds to low + k*step.
    case float(low: Double, high: Double, log: Bool, step: Double?)
    /// low <= x <= high, integers; `log` (low >= 1) or `step` (>= 1; 1 when log).
    case int(low: Int, high: Int, log: Bool, step: Int)
    /// One of the choices (as text); the internal value is the index.
    case categorical([String])

    public var isCategorical: Bool { if case .categorical = self { return true } else { return false } }
}

public enum TrialState: String, Sendable, Equatable {
    case running = "RUNNING", complete = "COMPLETE", pruned = "PRUNED", fail = "FAIL"
}

public enum StudyDirection: String, Sendable, Equatable {
    case minimize, maximize
}

/// A trial as samplers and pruners see it (Optuna's FrozenTrial, single objective).
public struct FrozenTrial: Sendable {
    public var number: Int
    public var state: TrialState
    /// Internal values (see TuneDistribution) of the parameters sampled so far.
    public var params: [String: Double]
    public var distributions: [String: TuneDistribution]
    public var value: Double?
    /// Values reported with trial:report(value, step), by step.
    public var intermediate: [Int: Double]

    public init(number: Int, state: TrialState, params: [String: Double] = [:], distributions: [String: TuneDistribution] = [:],
                value: Double? = nil, intermediate: [Int: Double] = [:]) {
        self.number = number
        self.state = state
        self.params = params
        self.distributions = distributions
        self.value = value
        self.intermediate = intermediate
    }
}
