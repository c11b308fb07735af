import CLua
import CLuaShim
import Foundation
import LatheCore

/// A study as Lua holds it.
final class StudyObject: LuaObject {
    static let luaTag = LuaTag.study
    let study: Study
    init(_ s: Study) { study = s }
}

/// A trial as Lua holds it (the objective's argument).
final class TrialObject: LuaObject {
    static let luaTag = LuaTag.trial
    let trial: StudyTrial
    /// Set when train.fit{trial = ...} stopped because the pruner said so.
    var pruned = false
    init(_ t: StudyTrial) { trial = t }
}

/// The `tune` module: hyperparameter search (Optuna's samplers and pruners) kept in the run store.
enum TuneFunctions: LuaInstaller {
    /// The message of tune.pruned()'s error, recognized by study:optimize.
    static let prunedMessage = "tune.pruned: the trial was pruned"

    static func install(_ vm: LuaVM) {
        vm.module("tune", summary: "Hyperparameter search as Optuna does it (TPE, random, grid; median, percentile, successive halving), kept in the run store.",
                  details: """
            A study is created or resumed by name in the track store (track.open; LATHE_TRACKING); each trial is a run
            nested in the study's run, with its parameters as params, its value and reports as metrics. Several
            processes can optimize one study at once. Ctrl-C lets the running trial finish and stops the search (a second
            Ctrl-C stops the trial itself, marked FAIL "interrupted"); study:optimize again continues the study.
            """)
            .add([study, pruned, uniform, loguniform, int, choice, grid, tpe, median, percentile, asha, hyperband])
        TuneMethods.install(vm)
    }

    static let example = "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\n"
    static let exampleEnd = "\ntrack.off()\nos.remove(p)"

    static let study = LuaFunc(
        "study", "Creates a study, or resumes the one of that name in the run store.",
        options: [
            LuaOpt("name", .string, .none, "the study's name (required): optimizing it again, here or in another process, continues it"),
            LuaOpt("direction", .choice(["minimize", "maximize"]), .string("minimize"), "whether lower or higher values are better"),
            LuaOpt("sampler", .either([.choice(["tpe", "random"]), .table]), .string("tpe"), "\"tpe\", \"random\", tune.tpe{...} or tune.grid{...}"),
            LuaOpt("pruner", .either([.choice(["median", "none"]), .table]), .string("median"), "\"median\", \"none\", tune.median{...}, tune.percentile{...}, tune.asha{...} or tune.hyperband{...}"),
            LuaOpt("seed", .integer(0...Int(UInt32.max)), .none, "the sampler's seed: the same seed gives the same suggestions"),
            LuaOpt("experiment", .string, .computed("the study's name"), "the track experiment its runs belong to"),
        ],
        tableCall: true, returns: "Study",
        errors: "no name; a name whose study has the other direction; tracking off.",
        example: example + """
            local s = tune.study{name = "quadratic", seed = 1}
            s:optimize(function(trial)
              local x = trial:float("x", -10, 10)
              return (x - 2) ^ 2
            end, {n_trials = 20, quiet = true})
            print(#s:trials(), s:best().value < 5)  --> 20  true
            """ + exampleEnd
    ) { c in
        let o = try c.opts()
        guard let name = try o.stringIfGiven("name") else { throw LuaError("option 'name' is required (the study's name, e.g. tune.study{name = \"lora lr\"})") }
        let direction = StudyDirection(rawValue: try o.string("direction"))!
        let seed = try o.intIfGiven("seed").map { UInt32($0) }
        var sampler = SamplerKind.tpe(seed: seed, startupTrials: 10, candidates: 24)
        switch try o.push("sampler") {
        case LUA_TSTRING: if c.string(-1) == "random" { sampler = .random(seed: seed) }
        case LUA_TTABLE: sampler = try samplerSpec(c, -1, seed: seed)
        default: break
        }
        lp_pop(c.L, 1)
        var pruner = Pruner.median()
        switch try o.push("pruner") {
        case LUA_TSTRING: if c.string(-1) == "none" { pruner = .none }
        case LUA_TTABLE: pruner = try prunerSpec(c, -1)
        default: break
        }
        lp_pop(c.L, 1)
        let store = try TrackFunctions.store(c)
        c.push(StudyObject(try Study(store: store, name: name, direction: direction, sampler: sampler, pruner: pruner,
                                     experiment: try o.stringIfGiven("experiment"))))
        return 1
    }

    /// Pushes t[key] without metamethods (a hostile table's __index must not raise through Swift).
    static func rawGet(_ c: LuaCall, _ idx: Int32, _ key: String) {
        let abs = lua_absindex(c.L, idx)
        c.push(key)
        lua_rawget(c.L, abs)
    }

    static func field(_ c: LuaCall, _ idx: Int32, _ key: String) -> Double? {
        rawGet(c, idx, key)
        defer { lp_pop(c.L, 1) }
        return lua_type(c.L, -1) == LUA_TNUMBER ? lua_tonumberx(c.L, -1, nil) : nil
    }

    static func kind(_ c: LuaCall, _ idx: Int32) -> String? {
        rawGet(c, idx, "kind")
        defer { lp_pop(c.L, 1) }
        return c.string(-1)
    }

    static func samplerSpec(_ c: LuaCall, _ idx: Int32, seed: UInt32?) throws -> SamplerKind {
        let abs = lua_absindex(c.L, idx)
        switch kind(c, abs) {
        case "tpe":
            return .tpe(seed: seed, startupTrials: Int(field(c, abs, "startup_trials") ?? 10), candidates: Int(field(c, abs, "candidates") ?? 24))
        case "grid":
            rawGet(c, abs, "space")
            defer { lp_pop(c.L, 1) }
            var space: [String: [String]] = [:]
            let t = lua_absindex(c.L, -1)
            try c.reserve()
            lua_pushnil(c.L)
            while lua_next(c.L, t) != 0 {
                defer { lp_pop(c.L, 1) }
                guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2), lua_type(c.L, -1) == LUA_TTABLE, c.rawLen(-1) > 0 else {
                    throw LuaError("bad grid (expected {name = {values...}} with at least one value each, got \(c.describe(-2)) = \(c.describe(-1)))")
                }
                var vals: [String] = []
                for i in 1...c.rawLen(-1) {
                    lua_rawgeti(c.L, -1, lua_Integer(i))
                    defer { lp_pop(c.L, 1) }
                    vals.append(try TrackFunctions.text(c, -1, "grid.\(k)[\(i)]"))
                }
                space[k] = vals
            }
            return .grid(space: space, seed: seed)
        default:
            throw LuaError("bad option 'sampler' (expected \"tpe\", \"random\", tune.tpe{...} or tune.grid{...}, got a table without a sampler kind)")
        }
    }

    static func prunerSpec(_ c: LuaCall, _ idx: Int32) throws -> Pruner {
        let abs = lua_absindex(c.L, idx)
        func i(_ k: String, _ d: Int) -> Int { Int(field(c, abs, k) ?? Double(d)) }
        switch kind(c, abs) {
        case "percentile":
            return .percentile(percentile: field(c, abs, "percentile") ?? 50, startupTrials: i("startup_trials", 5), warmupSteps: i("warmup_steps", 0),
                               intervalSteps: i("interval_steps", 1), minTrials: i("min_trials", 1))
        case "asha":
            return .successiveHalving(minResource: field(c, abs, "min_resource").map { Int($0) }, reductionFactor: i("reduction_factor", 4),
                                      minEarlyStoppingRate: i("min_early_stopping_rate", 0), bootstrapCount: i("bootstrap_count", 0))
        case "hyperband":
            return .hyperband(minResource: i("min_resource", 1), maxResource: field(c, abs, "max_resource").map { Int($0) },
                              reductionFactor: i("reduction_factor", 3), bootstrapCount: i("bootstrap_count", 0))
        default:
            throw LuaError("bad option 'pruner' (expected \"median\", \"none\", tune.median{...}, tune.percentile{...} or tune.asha{...}, got a table without a pruner kind)")
        }
    }

    static let pruned = LuaFunc(
        "pruned", "Stops the running trial as pruned (call it when trial:should_prune() says so).",
        errors: "always raises: study:optimize catches it and records the trial as PRUNED.",
        example: "local ok, err = pcall(tune.pruned)\nprint(ok, err)  --> false  tune.pruned: the trial was pruned"
    ) { _ in throw LuaError(prunedMessage, asIs: true) }

    /// A search-space entry: a record whose `kind` says which trial method draws it.
    static func space(_ c: LuaCall, _ fields: [(String, LuaValue)]) throws -> Int32 {
        try c.pushRecord(fields, name: "SearchSpace")
        return 1
    }

    static let low = LuaParam("low", .number(), "the smallest value"), high = LuaParam("high", .number(), "the largest value")

    static let uniform = LuaFunc(
        "uniform", "A float drawn uniformly from [low, high] (for study:optimize's space).",
        params: [low, high], options: [LuaOpt("step", .number(min: 0, above: true), .none, "draw only low + k * step")],
        returns: "SearchSpace",
        example: "print(tune.uniform(0, 0.3).kind)  --> float"
    ) { c in
        try space(c, [("kind", .string("float")), ("low", .number(try c.checkNumber(1, "low"))), ("high", .number(try c.checkNumber(2, "high"))),
                      ("log", .bool(false)), ("step", try c.opts(at: 3).numberIfGiven("step").map { .number($0) } ?? .nil)])
    }

    static let loguniform = LuaFunc(
        "loguniform", "A float whose logarithm is drawn uniformly (learning rates, weight decay).",
        params: [low, high], returns: "SearchSpace",
        example: "print(tune.loguniform(1e-5, 1e-2).log)  --> true"
    ) { c in
        try space(c, [("kind", .string("float")), ("low", .number(try c.checkNumber(1, "low"))), ("high", .number(try c.checkNumber(2, "high"))),
                      ("log", .bool(true))])
    }

    static let int = LuaFunc(
        "int", "An integer from [low, high] (for study:optimize's space).",
        params: [LuaParam("low", .integer(), "the smallest value"), LuaParam("high", .integer(), "the largest value")],
        options: [LuaOpt("step", .integer(1...Int.max), .int(1), "draw only low + k * step"), LuaOpt("log", .boolean, .bool(false), "draw on a log scale")],
        returns: "SearchSpace",
        example: "print(tune.int(1, 4).kind)  --> int"
    ) { c in
        let o = try c.opts(at: 3)
        return try space(c, [("kind", .string("int")), ("low", .int(try c.checkInt(1, "low"))), ("high", .int(try c.checkInt(2, "high"))),
                             ("step", .int(try o.int("step"))), ("log", .bool(try o.bool("log")))])
    }

    static let choice = LuaFunc(
        "choice", "One of the values (strings, numbers or booleans; for study:optimize's space).",
        params: [LuaParam("values", .table, "an array of the values")], returns: "SearchSpace",
        example: "print(#tune.choice{4, 8, 16}.values)  --> 3"
    ) { c in
        guard c.type(1) == LUA_TTABLE else { throw c.argError(1, "values", expected: "an array of values") }
        lua_pushvalue(c.L, 1)
        let idx = lua_gettop(c.L)
        return try space(c, [("kind", .string("choice")), ("values", .stackValue(idx))])
    }

    static let grid = LuaFunc(
        "grid", "A grid sampler: every combination of the values, once each (a study's sampler).",
        params: [LuaParam("space", .table, "{name = {values...}}: the values of each parameter")], returns: "Sampler",
        details: "Processes sharing a study take different points (a trial's point follows from its number). When every point\nhas been tried, study:optimize stops.",
        example: TuneFunctions.example + """
            local s = tune.study{name = "g", sampler = tune.grid{r = {4, 8}, lr = {0.1, 0.01}}, seed = 3}
            s:optimize(function(t) return t:int("r", 4, 8) * t:float("lr", 0.01, 0.1) end, {quiet = true})
            print(#s:trials())  --> 4
            """ + exampleEnd
    ) { c in
        guard c.type(1) == LUA_TTABLE else { throw c.argError(1, "space", expected: "a table {name = {values...}}") }
        try c.pushRecord([("kind", .string("grid")), ("space", .stackValue(1))], name: "Sampler")
        return 1
    }

    static let tpe = LuaFunc(
        "tpe", "The TPE sampler with other settings than Optuna's defaults (a study's sampler).",
        options: [LuaOpt("startup_trials", .integer(0...Int.max), .int(10), "random trials before TPE takes over"),
                  LuaOpt("candidates", .integer(1...Int.max), .int(24), "candidates drawn per suggestion, the best by expected improvement kept")],
        tableCall: true, returns: "Sampler",
        example: "print(tune.tpe{startup_trials = 5}.kind)  --> tpe"
    ) { c in
        let o = try c.opts()
        try c.pushRecord([("kind", .string("tpe")), ("startup_trials", .int(try o.int("startup_trials"))), ("candidates", .int(try o.int("candidates")))], name: "Sampler")
        return 1
    }

    static let pruneOptions = [
        LuaOpt("startup_trials", .integer(0...Int.max), .int(5), "no pruning until this many trials completed"),
        LuaOpt("warmup_steps", .integer(0...Int.max), .int(0), "no pruning before this step"),
        LuaOpt("interval_steps", .integer(1...Int.max), .int(1), "steps between pruning checks"),
        LuaOpt("min_trials", .integer(1...Int.max), .int(1), "completed trials that must have reported at a step to judge it"),
    ]

    static func percentileRecord(_ c: LuaCall, _ o: DeclaredOptions, _ p: Double) throws -> Int32 {
        try c.pushRecord([("kind", .string("percentile")), ("percentile", .number(p)), ("startup_trials", .int(try o.int("startup_trials"))),
                          ("warmup_steps", .int(try o.int("warmup_steps"))), ("interval_steps", .int(try o.int("interval_steps"))),
                          ("min_trials", .int(try o.int("min_trials")))], name: "Pruner")
        return 1
    }

    static let median = LuaFunc(
        "median", "The median pruner: stops a trial whose best report is worse than the median of completed trials' reports at that step.",
        options: pruneOptions, tableCall: true, returns: "Pruner",
        example: "print(tune.median{warmup_steps = 2}.percentile)  --> 50.0"
    ) { c in try percentileRecord(c, try c.opts(), 50) }

    static let percentile = LuaFunc(
        "percentile", "The percentile pruner: as median, at another percentile (25: keep the top quarter).",
        options: [LuaOpt("percentile", .number(min: 0, max: 100), .none, "the percentile (required), 0 to 100")] + pruneOptions,
        tableCall: true, returns: "Pruner",
        example: "print(tune.percentile{percentile = 25}.kind)  --> percentile"
    ) { c in
        let o = try c.opts()
        guard let p = try o.numberIfGiven("percentile") else { throw LuaError("option 'percentile' is required (0 to 100, e.g. 25)") }
        return try percentileRecord(c, o, p)
    }

    static let asha = LuaFunc(
        "asha", "Asynchronous successive halving: at steps min_resource * reduction_factor^k, only the top 1/reduction_factor continue.",
        options: [
            LuaOpt("min_resource", .integer(1...Int.max), .computed("a hundredth of the longest completed trial's steps"), "the first rung's step"),
            LuaOpt("reduction_factor", .integer(2...Int.max), .int(4), "eta: the share kept at each rung is 1/eta"),
            LuaOpt("min_early_stopping_rate", .integer(0...Int.max), .int(0), "rungs skipped before the first"),
            LuaOpt("bootstrap_count", .integer(0...Int.max), .int(0), "trials that must reach a rung before any is promoted"),
        ],
        tableCall: true, returns: "Pruner",
        example: "print(tune.asha{min_resource = 1, reduction_factor = 3}.kind)  --> asha"
    ) { c in
        let o = try c.opts()
        if try o.int("bootstrap_count") > 0 && o.intIfGiven("min_resource") == nil {
            throw LuaError("bootstrap_count needs min_resource (as Optuna: the automatic min_resource cannot be bootstrapped)")
        }
        try c.pushRecord([("kind", .string("asha")), ("min_resource", try o.intIfGiven("min_resource").map { .int($0) } ?? .nil),
                          ("reduction_factor", .int(try o.int("reduction_factor"))), ("min_early_stopping_rate", .int(try o.int("min_early_stopping_rate"))),
                          ("bootstrap_count", .int(try o.int("bootstrap_count")))], name: "Pruner")
        return 1
    }

    static let hyperband = LuaFunc(
        "hyperband", "Hyperband: successive halving in several brackets, each trial in one bracket (by a hash of the study's name and its number).",
        options: [
            LuaOpt("min_resource", .integer(1...Int.max), .int(1), "the first rung's step"),
            LuaOpt("max_resource", .integer(1...Int.max), .computed("the longest completed trial's last step + 1, fixed when first needed"), "the most steps a trial takes"),
            LuaOpt("reduction_factor", .integer(2...Int.max), .int(3), "eta: the share kept at each rung is 1/eta"),
            LuaOpt("bootstrap_count", .integer(0...Int.max), .int(0), "trials that must reach a rung before any is promoted"),
        ],
        tableCall: true, returns: "Pruner",
        example: "print(tune.hyperband{max_resource = 27}.kind)  --> hyperband"
    ) { c in
        let o = try c.opts()
        if try o.int("bootstrap_count") > 0 && o.intIfGiven("max_resource") == nil {
            throw LuaError("bootstrap_count needs max_resource (as Optuna: the automatic max_resource cannot be bootstrapped)")
        }
        try c.pushRecord([("kind", .string("hyperband")), ("min_resource", .int(try o.int("min_resource"))),
                          ("max_resource", try o.intIfGiven("max_resource").map { .int($0) } ?? .nil),
                          ("reduction_factor", .int(try o.int("reduction_factor"))), ("bootstrap_count", .int(try o.int("bootstrap_count")))],
                         name: "Pruner")
        return 1
    }
}
