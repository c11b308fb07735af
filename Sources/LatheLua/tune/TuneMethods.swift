import CLua
import CLuaShim
import Foundation
import LatheCore

/// The `Study` and `Trial` classes.
enum TuneMethods {
    static func install(_ vm: LuaVM) {
        vm.defineClass(StudyObject.self, name: "Study", summary: "A hyperparameter search kept in the run store (tune.study).") { b in
            b.add([optimize, best, trials, importance])
            b.getter("name") { c in try c.ret(.string(try c.selfObject(StudyObject.self).study.name)) }
            b.getter("direction") { c in try c.ret(.string(try c.selfObject(StudyObject.self).study.direction.rawValue)) }
            b.getter("run_id") { c in try c.ret(.string(try c.selfObject(StudyObject.self).study.run)) }
            b.meta("__tostring") { c in
                let s = try c.selfObject(StudyObject.self).study
                let ts = try s.trials()
                var text = "Study \(s.name) (\(s.direction.rawValue), sampler \(s.sampler.name), pruner \(s.pruner.name)): \(ts.count) trials"
                for st in [TrialState.complete, .pruned, .fail, .running] {
                    let n = ts.filter { $0.frozen.state == st }.count
                    if n > 0 { text += ", \(n) \(st.rawValue.lowercased())" }
                }
                if let b = try s.best() { text += "\n  best: trial \(b.frozen.number), value \(fmt(b.frozen.value ?? .nan)), " + paramsText(b) }
                return try c.ret(.string(text))
            }
        }
        vm.defineClass(TrialObject.self, name: "Trial", summary: "One trial of a study: draws parameters, reports values (the objective's argument).") { b in
            b.add([float, int, choice, report, shouldPrune])
            b.getter("number") { c in try c.ret(.int(try c.selfObject(TrialObject.self).trial.number)) }
            b.getter("run_id") { c in try c.ret(.string(try c.selfObject(TrialObject.self).trial.run)) }
            b.getter("params") { c in
                try pushParams(c, try c.selfObject(TrialObject.self).trial.frozen)
                return 1
            }
            b.meta("__tostring") { c in
                let t = try c.selfObject(TrialObject.self).trial
                let ps = t.frozen.params.sorted { $0.key < $1.key }.compactMap { k, v in t.frozen.distributions[k].map { "\(k)=\($0.text(v))" } }
                return try c.ret(.string("Trial \(t.number) of \(t.study.name) (\(ps.joined(separator: ", ")))"))
            }
        }
    }

    static func paramsText(_ t: TrialRecord) -> String {
        t.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    /// A trial's parameters as a table {name = value} (values as the user gave them).
    static func pushParams(_ c: LuaCall, _ t: FrozenTrial) throws {
        try c.reserve(4)
        lua_createtable(c.L, 0, Int32(t.params.count))
        for (k, v) in t.params.sorted(by: { $0.key < $1.key }) {
            guard let d = t.distributions[k] else { continue }
            try pushValue(c, d, v)
            lua_setfield(c.L, -2, k)
        }
    }

    /// A parameter's internal value as the Lua value the user gave: numbers, or the choice itself.
    static func pushValue(_ c: LuaCall, _ d: TuneDistribution, _ v: Double) throws {
        switch d {
        case .float: c.push(v)
        case .int: c.push(Int(v))
        case .categorical(let choices):
            let text = choices[min(max(Int(v), 0), choices.count - 1)]
            switch try? JSONValue.parse(text) {
            case .string(let s)?: c.push(s)
            case .bool(let b)?: c.push(b)
            case let n? where n.number != nil:
                if case .int(let i)? = n.number { c.push(Int(i)) } else { c.push(n.double ?? .nan) }
            default: c.push(text)
            }
        }
    }

    /// A choice as JSON text, so it comes back with its type.
    static func choiceText(_ c: LuaCall, _ idx: Int32, _ what: String) throws -> String {
        switch lua_type(c.L, idx) {
        case LUA_TSTRING: return JSONValue.string(c.string(idx) ?? "").compactText
        case LUA_TBOOLEAN: return lua_toboolean(c.L, idx) != 0 ? "true" : "false"
        case LUA_TNUMBER:
            if lua_isinteger(c.L, idx) != 0 { return String(lua_tointegerx(c.L, idx, nil)) }
            let x = lua_tonumberx(c.L, idx, nil)
            guard x.isFinite else { throw LuaError("bad \(what) (choices must be finite numbers, strings or booleans, got \(x))") }
            return JSONValue.number(x).compactText
        default: throw LuaError("bad \(what) (choices must be strings, numbers or booleans, got \(c.describe(idx)))")
        }
    }

    static func trial(_ c: LuaCall) throws -> StudyTrial { try c.selfObject(TrialObject.self).trial }
    static let name = LuaParam("name", .string, "the parameter's name")
    static let example = TuneFunctions.example + "local s = tune.study{name = \"demo\", seed = 1}\n"

    static let float = LuaFunc(
        "float", "Draws a float parameter from [low, high] (the same value when asked again in this trial).",
        params: [name, LuaParam("low", .number(), "the smallest value"), LuaParam("high", .number(), "the largest value")],
        options: [LuaOpt("log", .boolean, .bool(false), "draw on a log scale (learning rates; low > 0)"),
                  LuaOpt("step", .number(min: 0, above: true), .none, "draw only low + k * step")],
        returns: "number",
        errors: "low above high, a log range touching 0, log with step.",
        example: example + "s:optimize(function(t) return t:float(\"lr\", 1e-4, 1e-1, {log = true}) end, {n_trials = 3, quiet = true})\nprint(#s:trials())  --> 3" + TuneFunctions.exampleEnd
    ) { c in
        let o = try c.opts(at: 5)
        let d = TuneDistribution.float(low: try c.checkNumber(3, "low"), high: try c.checkNumber(4, "high"), log: try o.bool("log"), step: try o.numberIfGiven("step"))
        return try c.ret(.number(try trial(c).suggest(try c.checkString(2, "name"), d)))
    }

    static let int = LuaFunc(
        "int", "Draws an integer parameter from [low, high].",
        params: [name, LuaParam("low", .integer(), "the smallest value"), LuaParam("high", .integer(), "the largest value")],
        options: [LuaOpt("log", .boolean, .bool(false), "draw on a log scale (low >= 1)"),
                  LuaOpt("step", .integer(1...Int.max), .int(1), "draw only low + k * step")],
        returns: "integer",
        example: example + "s:optimize(function(t) return t:int(\"r\", 2, 64, {log = true}) end, {n_trials = 2, quiet = true})\nprint(s:trials():column(\"params.r\")[1] >= 2)  --> true" + TuneFunctions.exampleEnd
    ) { c in
        let o = try c.opts(at: 5)
        let d = TuneDistribution.int(low: try c.checkInt(3, "low"), high: try c.checkInt(4, "high"), log: try o.bool("log"), step: try o.int("step"))
        return try c.ret(.int(Int(try trial(c).suggest(try c.checkString(2, "name"), d))))
    }

    static let choice = LuaFunc(
        "choice", "Draws one of the values (strings, numbers or booleans).",
        params: [name, LuaParam("values", .table, "an array of the values")],
        returns: "the value",
        example: example + "s:optimize(function(t) local m = t:choice(\"method\", {\"lora\", \"full\"}); return m == \"lora\" and 1 or 2 end, {n_trials = 2, quiet = true})\nprint(#s:trials())  --> 2" + TuneFunctions.exampleEnd
    ) { c in
        guard c.type(3) == LUA_TTABLE else { throw c.argError(3, "values", expected: "an array of values") }
        var choices: [String] = []
        let n = c.rawLen(3)
        if n > 0 {
            for i in 1...n {
                lua_rawgeti(c.L, 3, lua_Integer(i))
                defer { lp_pop(c.L, 1) }
                choices.append(try choiceText(c, -1, "values[\(i)]"))
            }
        }
        let d = TuneDistribution.categorical(choices)
        let v = try trial(c).suggest(try c.checkString(2, "name"), d)
        try pushValue(c, d, v)
        return 1
    }

    static let report = LuaFunc(
        "report", "Reports an intermediate value (e.g. the validation score after an epoch) for the pruner.",
        params: [LuaParam("value", .value, "the value"), LuaParam("step", .integer(0...Int.max), "the step (epoch, update) it belongs to")],
        example: example + "s:optimize(function(t)\n  for step = 1, 3 do t:report(1 / step, step) end\n  return 0.3\nend, {n_trials = 1, quiet = true})\nprint(#s:trials())  --> 1" + TuneFunctions.exampleEnd
    ) { c in
        try trial(c).report(try c.checkNumber(2, "value"), step: try c.checkInt(3, "step"))
        return 0
    }

    static let shouldPrune = LuaFunc(
        "should_prune", "Whether the study's pruner stops this trial now (then call tune.pruned()).",
        returns: "boolean",
        example: example + "s:optimize(function(t)\n  for step = 1, 5 do\n    t:report(t:float(\"x\", 0, 1) * step, step)\n    if t:should_prune() then tune.pruned() end\n  end\n  return t.params.x\nend, {n_trials = 8, quiet = true})\nprint(#s:trials())  --> 8" + TuneFunctions.exampleEnd
    ) { c in try c.ret(.bool(try trial(c).shouldPrune())) }

    static let optimize = LuaFunc(
        "optimize", "Runs trials: objective(trial) returns the value to minimize or maximize.",
        params: [LuaParam("objective", .function, "function(trial) -> number")],
        options: [
            LuaOpt("n_trials", .integer(1...Int.max), .computed("until timeout, the grid's end or Ctrl-C"), "trials to run in this call"),
            LuaOpt("timeout", .number(min: 0, above: true), .none, "seconds after which no new trial starts"),
            LuaOpt("catch", .boolean, .bool(true), "a trial whose objective raises is marked FAIL and the search goes on (false: the error stops it)"),
            LuaOpt("space", .table, .none, "{name = tune.uniform(...) | tune.loguniform(...) | tune.int(...) | tune.choice{...}}: drawn before the objective runs (trial.params)"),
            LuaOpt("quiet", .boolean, .bool(false), "no line per trial"),
        ],
        returns: "the study",
        details: """
            A trial ends COMPLETE with the number returned; PRUNED when tune.pruned() was called or train.fit{trial = t}
            stopped at the pruner's word (its last report is its value, as in Optuna); FAIL when the objective raised,
            returned nil, NaN or something else than a number (the message is its run's error tag). While the objective
            runs, the trial's run is the active run: train.fit runs nest in it, lora.save and reports attach to it.
            """,
        example: example + "s:optimize(function(t) return (t:float(\"x\", -5, 5) - 1) ^ 2 end, {n_trials = 15, quiet = true})\nprint(s:best().number >= 0)  --> true" + TuneFunctions.exampleEnd
    ) { c in
        let study = try c.selfObject(StudyObject.self).study
        guard c.type(2) == LUA_TFUNCTION else { throw c.argError(2, "objective", expected: "a function(trial) returning a number") }
        let o = try c.opts(at: 3)
        let nTrials = try o.intIfGiven("n_trials"), timeout = try o.numberIfGiven("timeout")
        let catchErrors = try o.bool("catch"), quiet = try o.bool("quiet")
        var space: [(String, TuneDistribution)] = []
        if try o.push("space") == LUA_TTABLE { space = try spaceEntries(c, lua_gettop(c.L)) }
        lp_pop(c.L, 1)
        if nTrials == nil && timeout == nil && study.gridSize == nil {
            throw LuaError("give n_trials or timeout (or a grid sampler), e.g. study:optimize(objective, {n_trials = 20})")
        }
        let state = TrackFunctions.state(c)
        let started = Date().timeIntervalSince1970
        var done = 0
        // the first Ctrl-C lets the running trial finish, then the search stops
        lp_set_deferred_interrupt(1)
        defer { lp_set_deferred_interrupt(0) }
        while nTrials.map({ done < $0 }) ?? true {
            if lp_stop_requested() != 0 {
                Output.note("tune: stopped by Ctrl-C after \(done) trial\(done == 1 ? "" : "s") in this call; study:optimize again continues the study")
                break
            }
            if let timeout, Date().timeIntervalSince1970 - started >= timeout { break }
            guard let t = try study.ask() else {
                if !quiet { Output.note("tune: every point of the grid has been tried") }
                break
            }
            done += 1
            let obj = TrialObject(t)
            let previous = state.active
            state.active = RunObject(store: study.store, id: t.run)
            defer { state.active = previous }
            var outcome: (TrialState, Double?, String?)
            var stop = false, raise: Error? = nil
            do {
                for (name, d) in space { _ = try t.suggest(name, d) }
                try c.callLua(2, nresults: 1) {
                    c.push(obj)
                    return 1
                }
                defer { lp_pop(c.L, 1) }
                let lastReport = t.frozen.intermediate.max { $0.key < $1.key }?.value
                if obj.pruned {
                    outcome = (.pruned, lastReport, nil)
                } else if lua_type(c.L, -1) == LUA_TNUMBER, !lua_tonumberx(c.L, -1, nil).isNaN {
                    outcome = (.complete, lua_tonumberx(c.L, -1, nil), nil)
                } else {
                    let what = lua_type(c.L, -1) == LUA_TNUMBER ? "NaN" : c.describe(-1)
                    outcome = (.fail, nil, "the objective returned \(what), not a number")
                }
            } catch {
                let msg = (error as? LuaError)?.message ?? (error as? LatheError)?.message ?? "\(error)"
                if msg.contains(TuneFunctions.prunedMessage) {
                    outcome = (.pruned, t.frozen.intermediate.max { $0.key < $1.key }?.value, nil)
                } else if msg.contains("interrupted!") || error as? LatheError == .interrupted {
                    outcome = (.fail, nil, "interrupted")
                    stop = true
                    lp_consume_interrupt(c.L)
                } else {
                    outcome = (.fail, nil, msg)
                    if !catchErrors { raise = error }
                }
            }
            try t.finish(outcome.0, value: outcome.1, error: outcome.2)
            if !quiet { Output.note(line(study, t, outcome.0, outcome.1, outcome.2)) }
            if let raise { throw raise }
            if stop || Interrupt.pending || (lp_stop_requested() != 0 && nTrials.map({ done >= $0 }) == true) {
                Interrupt.clear()
                lp_consume_interrupt(c.L)
                Output.note("tune: stopped by Ctrl-C after \(done) trial\(done == 1 ? "" : "s") in this call; study:optimize again continues the study")
                break
            }
        }
        lua_pushvalue(c.L, 1)
        return 1
    }

    static func line(_ s: Study, _ t: StudyTrial, _ state: TrialState, _ value: Double?, _ error: String?) -> String {
        let ps = t.frozen.params.sorted { $0.key < $1.key }.compactMap { k, v in t.frozen.distributions[k].map { "\(k)=\($0.text(v))" } }
        var text = "tune: trial \(t.number) "
        switch state {
        case .complete: text += "finished with value \(fmt(value ?? .nan))"
        case .pruned: text += "pruned" + (value.map { " at \(fmt($0))" } ?? "")
        default: text += "failed: \(error ?? "")"
        }
        text += " (\(ps.joined(separator: ", ")))"
        if let b = try? s.best(), let v = b.frozen.value { text += "; best is trial \(b.frozen.number) with \(fmt(v))" }
        return text
    }

    /// The declarative space: name -> SearchSpace record (tune.uniform, loguniform, int, choice).
    static func spaceEntries(_ c: LuaCall, _ idx: Int32) throws -> [(String, TuneDistribution)] {
        var out: [(String, TuneDistribution)] = []
        try c.reserve(4)
        lua_pushnil(c.L)
        while lua_next(c.L, idx) != 0 {
            defer { lp_pop(c.L, 1) }
            guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2), lua_type(c.L, -1) == LUA_TTABLE else {
                throw LuaError("bad option 'space' (expected {name = tune.uniform(...) ...}, got \(c.describe(-2)) = \(c.describe(-1)))")
            }
            let e = lua_gettop(c.L)
            func num(_ f: String) -> Double? { TuneFunctions.field(c, e, f) }
            func flag(_ f: String) -> Bool {
                TuneFunctions.rawGet(c, e, f)
                defer { lp_pop(c.L, 1) }
                return lua_toboolean(c.L, -1) != 0
            }
            switch TuneFunctions.kind(c, e) {
            case "float":
                out.append((k, .float(low: num("low") ?? .nan, high: num("high") ?? .nan, log: flag("log"), step: num("step"))))
            case "int":
                out.append((k, .int(low: Int(num("low") ?? 0), high: Int(num("high") ?? 0), log: flag("log"), step: Int(num("step") ?? 1))))
            case "choice":
                TuneFunctions.rawGet(c, e, "values")
                defer { lp_pop(c.L, 1) }
                var choices: [String] = []
                let n = c.rawLen(-1)
                if n > 0 {
                    for i in 1...n {
                        lua_rawgeti(c.L, -1, lua_Integer(i))
                        defer { lp_pop(c.L, 1) }
                        choices.append(try choiceText(c, -1, "space.\(k)[\(i)]"))
                    }
                }
                out.append((k, .categorical(choices)))
            default:
                throw LuaError("bad option 'space' (\(k) is not a search space: use tune.uniform, tune.loguniform, tune.int or tune.choice)")
            }
        }
        for (k, d) in out { try d.validate(k) }
        return out.sorted { $0.0 < $1.0 }
    }

    static let best = LuaFunc(
        "best", "The best complete trial: {number, value, params, run_id}, or nil when none completed.",
        returns: "table or nil",
        example: example + "s:optimize(function(t) return t:float(\"x\", 0, 1) end, {n_trials = 4, quiet = true})\nprint(s:best().value <= 1)  --> true" + TuneFunctions.exampleEnd
    ) { c in
        guard let b = try c.selfObject(StudyObject.self).study.best() else { c.pushNil(); return 1 }
        try pushParams(c, b.frozen)
        let params = lua_gettop(c.L)
        try c.pushRecord([("number", .int(b.frozen.number)), ("value", .number(b.frozen.value ?? .nan)), ("params", .stackValue(params)),
                          ("run_id", .string(b.run))], name: "BestTrial",
                         text: "trial \(b.frozen.number): value \(fmt(b.frozen.value ?? .nan)) (\(paramsText(b)))")
        return 1
    }

    static let trials = LuaFunc(
        "trials", "Every trial as a data table: number, state, value, params.<name>..., seconds, run_id.",
        returns: "DataTable",
        example: example + "s:optimize(function(t) return t:float(\"x\", 0, 1) end, {n_trials = 3, quiet = true})\nprint(s:trials():column(\"state\")[1])  --> COMPLETE" + TuneFunctions.exampleEnd
    ) { c in
        c.push(try c.selfObject(StudyObject.self).study.table())
        return 1
    }

    static let importance = LuaFunc(
        "importance", "How much each parameter matters to the value (PED-ANOVA, as Optuna computes it), most important first.",
        options: [LuaOpt("params", .strings, .computed("every parameter all complete trials share"), "only these parameters")],
        returns: "Importance: an array of {name, importance} (summing to 1); prints as bars",
        details: """
            Optuna's PedAnovaImportanceEvaluator with its defaults (the best 10% of complete trials against all of them,
            Scott's-rule Parzen estimates), normalized as optuna.importance.get_param_importances does; the same numbers as
            Optuna for the same trials (tested against optuna 4.9.0). PED-ANOVA rather than fANOVA, Optuna's default: it
            needs no random forest, so it is exact and fast. Parameters with one possible value get 0.
            """,
        errors: "fewer than 2 complete trials; params no complete trial has.",
        example: example + "s:optimize(function(t) return 10 * t:float(\"big\", 0, 1) + t:float(\"small\", 0, 1) end, {n_trials = 30, quiet = true})\nlocal imp = s:importance()\nprint(imp[1].name)  --> big\nprint(imp)" + TuneFunctions.exampleEnd
    ) { c in
        let s = try c.selfObject(StudyObject.self).study
        let ranked = try s.importance(params: try c.opts().stringsIfGiven("params"))
        let width = ranked.map(\.name.count).max() ?? 0
        let text = ranked.map { r in
            r.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(format: "%.3f", r.importance) + "  "
                + String(repeating: "█", count: Int((r.importance * 40).rounded()))
        }.joined(separator: "\n")
        let rows: [LuaValue] = ranked.map { .record([("name", .string($0.name)), ("importance", .number($0.importance))]) }
        try c.push(.array(rows))
        try c.reserve(4)
        lua_createtable(c.L, 0, 2)
        c.push("Importance")
        lua_setfield(c.L, -2, "__name")
        LuaVM.pushFunction(c.L, "Importance.__tostring") { c2 in
            c2.push(text)
            return 1
        }
        lua_setfield(c.L, -2, "__tostring")
        lua_setmetatable(c.L, -2)
        return 1
    }
}
