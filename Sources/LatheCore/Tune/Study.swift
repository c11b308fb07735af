import Foundation

/// How a study picks parameter values.
public enum SamplerKind: Sendable {
    /// Optuna's TPE (univariate, its defaults), seeded.
    case tpe(seed: UInt32?, startupTrials: Int, candidates: Int)
    /// Independent uniform draws (log-uniform on log ranges), seeded.
    case random(seed: UInt32?)
    /// Every combination of the given values once, in a seeded order.
    case grid(space: [String: [String]], seed: UInt32?)

    public var name: String {
        switch self {
        case .tpe: return "tpe"
        case .random: return "random"
        case .grid: return "grid"
        }
    }
}

/// A hyperparameter search kept in the run store: created or resumed by name, shared by every
/// process that opens it (trial numbers are taken in one transaction each).
public final class Study: @unchecked Sendable {
    public let store: TrackStore
    /// The study's run.
    public let run: String
    public let name: String
    public let experiment: String
    public let direction: StudyDirection
    public let sampler: SamplerKind
    public let pruner: Pruner
    let tpe: TPESampler?
    /// Grid points in the order trials take them.
    let grid: [[String: String]]?

    /// Opens the study `name`, creating it when new. A study keeps its direction: reopening it
    /// with the other one is an error.
    public init(store: TrackStore, name: String, direction: StudyDirection, sampler: SamplerKind, pruner: Pruner,
                experiment: String? = nil) throws(LatheError) {
        self.store = store
        self.name = name
        self.direction = direction
        self.sampler = sampler
        self.pruner = pruner
        let id = try store.studyRun(name, creatingIn: experiment ?? name,
                                    tags: [("tune.direction", direction.rawValue), ("lathe.source", "tune.study")])
        let rec = try store.run(id)
        if let d = rec.tags["tune.direction"], d != direction.rawValue {
            throw LatheError("study \"\(name)\" was created to \(d); it cannot \(direction.rawValue) now (give another name for a new study)")
        }
        run = id
        self.experiment = rec.experiment
        switch sampler {
        case let .tpe(seed, startup, candidates): tpe = TPESampler(seed: seed, nStartupTrials: startup, nEICandidates: candidates)
        case .random(let seed): tpe = TPESampler(seed: seed, nStartupTrials: Int.max, nEICandidates: 1)
        case .grid: tpe = nil
        }
        if case let .grid(space, seed) = sampler {
            var points: [[String: String]] = [[:]]
            for key in space.keys.sorted() {
                guard let values = space[key], !values.isEmpty else { throw LatheError("grid: \(key) has no values") }
                points = points.flatMap { p in values.map { v in p.merging([key: v]) { $1 } } }
            }
            var rng = RandomGenerator(seed: UInt64(seed ?? UInt32.random(in: 0...UInt32.max)))
            for i in stride(from: points.count - 1, to: 0, by: -1) { points.swapAt(i, rng.below(i + 1)) }
            grid = points
        } else {
            grid = nil
        }
    }

    public var gridSize: Int? { grid?.count }

    /// Finished trials never change: they are read from the store once.
    var finishedTrials: [String: TrialRecord] = [:]
    let cacheLock = NSLock()

    /// Every trial, by number: the finished ones from memory, the others (running here or in
    /// another process, or new) from the store.
    public func trials(except skip: String? = nil) throws(LatheError) -> [TrialRecord] {
        var runs = try store.trialRuns(study: run)
        if let skip { runs.removeAll { $0.id == skip } }
        cacheLock.lock()
        let known = finishedTrials
        cacheLock.unlock()
        let fresh = try store.trials(study: run, only: runs.filter { known[$0.id] == nil }.map(\.id))
        cacheLock.lock()
        for t in fresh where t.frozen.state != .running && t.endTime != nil { finishedTrials[t.run] = t }
        cacheLock.unlock()
        let present = Set(runs.map(\.id))
        return (fresh + known.values.filter { present.contains($0.run) }).sorted { $0.frozen.number < $1.frozen.number }
    }

    /// The best complete trial (nil when none completed).
    public func best() throws(LatheError) -> TrialRecord? {
        let done = try trials().filter { $0.frozen.state == .complete && !($0.frozen.value ?? .nan).isNaN }
        return direction == .maximize ? done.max { $0.frozen.value! < $1.frozen.value! } : done.min { $0.frozen.value! < $1.frozen.value! }
    }

    /// Starts a trial; nil when a grid has no points left.
    public func ask(parent: String? = nil) throws(LatheError) -> StudyTrial? {
        if let grid, try trials().count >= grid.count { return nil }
        let (id, number) = try store.startTrial(study: run, experiment: experiment)
        if let grid, number >= grid.count {
            // another process took the last point meanwhile
            store.beating(id, false)
            try store.delete(id)
            return nil
        }
        return StudyTrial(study: self, run: id, number: number, others: try trials(except: id))
    }
}

/// One trial: the parameters it drew, what it reported, its end.
public final class StudyTrial: @unchecked Sendable {
    public let study: Study
    public let run: String
    public let number: Int
    public private(set) var frozen: FrozenTrial
    var rungs: [Int: Double] = [:]
    /// The study's other trials as they were when this one started.
    let others: [TrialRecord]
    public private(set) var finished = false

    init(study: Study, run: String, number: Int, others: [TrialRecord]) {
        self.study = study
        self.run = run
        self.number = number
        self.others = others
        frozen = FrozenTrial(number: number, state: .running)
    }

    /// The value of a parameter: drawn by the study's sampler the first time, the same value
    /// when asked again with the same distribution.
    public func suggest(_ name: String, _ dist: TuneDistribution) throws(LatheError) -> Double {
        try dist.validate(name)
        if let v = frozen.params[name] {
            if frozen.distributions[name] != dist { throw LatheError("\(name) was already drawn in this trial from another range") }
            return v
        }
        var v: Double
        if let grid = study.grid {
            let point = grid[number]
            guard let text = point[name] else { throw LatheError("\(name) is not in the grid (it has \(point.keys.sorted().joined(separator: ", ")))") }
            guard let x = dist.internalValue(text) else { throw LatheError("\(name): the grid value \(text) is not one of the choices") }
            v = x
        } else {
            var all = others.map(\.frozen)
            all.append(frozen)
            v = study.tpe!.sample(name: name, distribution: dist, trials: all, direction: study.direction, trialNumber: number)
        }
        if case .int = dist { v = v.rounded() }
        try study.store.logParams(run, [(name, dist.text(v))], tags: [("tune.dist." + name, dist.encoded)])
        frozen.params[name] = v
        frozen.distributions[name] = dist
        return v
    }

    /// Records an intermediate value (e.g. a validation score after an epoch).
    public func report(_ value: Double, step: Int) throws(LatheError) {
        if frozen.intermediate[step] != nil { return }  // as Optuna: the first report of a step counts
        frozen.intermediate[step] = value
        // through the store's buffer: other processes see it within 0.2 s, this one decides
        // from `frozen`
        try study.store.logMetric(run, key: "intermediate", value: value, step: Int64(step), timestamp: Date().timeIntervalSince1970)
    }

    /// Whether the study's pruner stops this trial now.
    public func shouldPrune() throws(LatheError) -> Bool {
        let before = rungs
        let current = try study.trials(except: run)
        var pruner = study.pruner
        if case let .hyperband(minR, nil, eta, boot) = pruner {
            // "auto": fixed once, from the trials completed when it is first needed (as Optuna)
            if let fixed = try study.store.run(study.run).tags["tune.hyperband.max_resource"].flatMap(Int.init) {
                pruner = .hyperband(minResource: minR, maxResource: fixed, reductionFactor: eta, bootstrapCount: boot)
            } else if let longest = current.filter({ $0.frozen.state == .complete }).compactMap({ $0.frozen.intermediate.keys.max() }).max() {
                try study.store.setTags(study.run, [("tune.hyperband.max_resource", String(longest + 1))])
                pruner = .hyperband(minResource: minR, maxResource: longest + 1, reductionFactor: eta, bootstrapCount: boot)
            }
        }
        let verdict = pruner.shouldPrune(frozen, rungs: &rungs, trials: current, direction: study.direction, studyName: study.name)
        if rungs != before {
            try study.store.setTags(run, rungs.filter { before[$0.key] != $0.value }.map { ("tune.rung.\($0.key)", "\($0.value)") })
        }
        return verdict
    }

    /// Ends the trial: COMPLETE with its value, PRUNED (its last report counts) or FAIL (with why).
    public func finish(_ state: TrialState, value: Double? = nil, error: String? = nil) throws(LatheError) {
        if finished { return }
        finished = true
        var tags = [("tune.state", state.rawValue)]
        if let error { tags.append(("error", String(error.prefix(5000)))) }
        try study.store.endTrial(run, value: value, tags: tags, status: state == .fail ? "FAILED" : "FINISHED")
        frozen.state = state
        frozen.value = value
    }
}

extension Study {
    /// The trials as a data table: number, state, value, params.<name>..., seconds, run_id
    /// (as Optuna's trials_dataframe).
    public func table() throws(LatheError) -> DataTable {
        let ts = try trials()
        let keys = Set(ts.flatMap(\.params.keys)).sorted()
        var names = ["number", "state", "value"]
        var cols: [[Cell]] = [ts.map { .integer(Int64($0.frozen.number)) }, ts.map { .string($0.frozen.state.rawValue) },
                              ts.map { t in t.frozen.value.map { .number($0) } ?? .missing }]
        for k in keys {
            names.append("params." + k)
            cols.append(ts.map { t in t.params[k].map(TrackTables.cell) ?? .missing })
        }
        names += ["seconds", "run_id"]
        cols.append(ts.map { t in t.endTime.map { .number(($0 - t.startTime).rounded(toPlaces: 3)) } ?? .missing })
        cols.append(ts.map { .string($0.run) })
        return try TrackTables.table(names, cols)
    }
}

extension Study {
    /// How much each parameter matters to the value: PED-ANOVA (Optuna's
    /// PedAnovaImportanceEvaluator with its defaults), normalized to sum to 1, most important
    /// first. Needs at least two complete trials.
    public func importance(params: [String]? = nil) throws(LatheError) -> [(name: String, importance: Double)] {
        let done = try trials().map(\.frozen)
        if done.filter({ $0.state == .complete }).count < 2 {
            throw LatheError("parameter importance needs at least 2 complete trials, the study has \(done.filter { $0.state == .complete }.count)")
        }
        let out = ParamImportance.pedANOVA(trials: done, direction: direction, params: params)
        if out.isEmpty, let params {
            throw LatheError("no complete trial has every parameter of \(params.joined(separator: ", ")) with one range")
        }
        return out
    }
}
