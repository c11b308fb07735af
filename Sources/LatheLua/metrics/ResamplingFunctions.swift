import CLua
import CLuaShim
import LatheCore

/// metrics.bootstrap, paired_test and slices: any metric, named (LatheCore's `Scorer`
/// registry) or a Lua function, over resampled or grouped items.
extension MetricsFunctions {
    static let metricKind = LuaKind.either([.string, .function])
    static let truth = LuaParam("y_true", .described("array, tensor or data column", .either([.table, .object("Tensor")])),
                                "the truth: labels, or for text metrics the references (a string or an array of strings per item)")
    static func outputs(_ name: String, _ doc: String) -> LuaParam {
        LuaParam(name, truth.kind, doc + ": labels, texts, or scores for roc_auc and average_precision")
    }

    static let metricOptions = [
        averageOption, posLabelOption, labelsOption, zeroDivisionOption,
        LuaOpt("beta", .number(min: 0), .none, "fbeta's weight of recall (fbeta needs it)"),
        LuaOpt("stem", .boolean, .bool(Scorer.Options().stem), "ROUGE: Porter-stem tokens"),
        LuaOpt("lowercase", .boolean, .bool(Scorer.Options().lowercase), "BLEU and chrF: lowercase the texts"),
    ]
    static let sampleOptions = [
        LuaOpt("n", .integer(1...Int.max), .int(1000), "resamples (or shuffles) drawn"),
        LuaOpt("ci", .number(min: 0, max: 1, above: true), .number(0.95), "the confidence level of the interval"),
        LuaOpt("seed", .integer(0...Int.max), .computed("lathe.seed's generator"), "a private random stream for the draws"),
    ]
    static let metricDetails = """
        metric: a function(y_true, y_pred) returning a number, called with new arrays of the rows drawn, or a name:
          \(Scorer.names.prefix(9).joined(separator: ", ")),
          \(Scorer.names.dropFirst(9).joined(separator: ", ")).
        Classification metrics read average, pos_label, labels, zero_division and beta; ROUGE stem; BLEU and chrF
        lowercase; roc_auc and average_precision take scores as predictions. For text metrics y_true holds the
        references. Corpus metrics (BLEU, F1, WER) are recomputed from the statistics of the rows drawn, not
        averaged per row.
        """

    /// The scorer of the metric at stack index `metric` (a name or a function) over y_true at
    /// `truth` and the systems' outputs, each checked against y_true's length.
    static func scorer(_ c: LuaCall, _ o: DeclaredOptions, metric: Int32, truth: Int32, systems: [(Int32, String)]) throws -> Scorer {
        if c.type(metric) == LUA_TFUNCTION { return try functionScorer(c, metric, truth: truth, systems: systems) }
        let name = c.string(metric) ?? ""
        func read<T, S>(_ rt: (Int32, String) throws -> T, _ nt: (T) -> Int, _ rs: (Int32, String) throws -> S, _ ns: (S) -> Int,
                        _ noun: String) throws -> (T, [S]) {
            let t = try rt(truth, "y_true")
            let s = try systems.map { i, n in
                let v = try rs(i, n)
                try c.checkCount(ns(v), nt(t), i, n, like: "y_true", noun: noun)
                return v
            }
            try c.checkNotEmpty(nt(t), truth, "y_true")
            return (t, s)
        }
        let data: Scorer.Data
        switch try Scorer.input(of: name) {
        case .labels:
            let (t, s) = try read(c.labels, \.count, c.labels, \.count, "labels")
            data = .labels(truth: t, systems: s)
        case .texts:
            let (t, s) = try read(c.references, \.count, c.texts, \.count, "texts")
            data = .texts(references: t, systems: s)
        case .scores:
            let (t, s) = try read(c.labels, \.count, { try c.numbers($0, $1) }, \.count, "scores")
            data = .scores(truth: t, systems: s)
        }
        var so = Scorer.Options()
        so.prf = try prfOptions(o)
        so.beta = try o.numberIfGiven("beta")
        so.stem = try o.bool("stem")
        so.lowercase = try o.bool("lowercase")
        return try Scorer.named(name, data, options: so)
    }

    /// A Lua function metric: fn(y_true_rows, y_pred_rows) -> number, called on new arrays of
    /// the rows drawn (a row drawn k times appears k times).
    static func functionScorer(_ c: LuaCall, _ fn: Int32, truth: Int32, systems: [(Int32, String)]) throws -> Scorer {
        let L = c.L
        guard c.type(truth) == LUA_TTABLE else { throw c.argError(truth, "y_true", expected: "an array") }
        let n = c.rawLen(truth)
        for (i, name) in systems {
            guard c.type(i) == LUA_TTABLE else { throw c.argError(i, name, expected: "an array") }
            try c.checkCount(c.rawLen(i), n, i, name, like: "y_true")
        }
        try c.checkNotEmpty(n, truth, "y_true")
        return Scorer(name: "function", rows: n * systems.count) { w in
            try c.callLua(fn, nresults: 1) {
                try c.reserve()
                try c.newTable(array: n)
                try c.newTable(array: n)
                var k: lua_Integer = 1
                for r in 0..<w.count where w[r] > 0 {
                    for _ in 0..<Int(w[r]) {
                        lua_rawgeti(L, truth, lua_Integer(r % n + 1)); lua_rawseti(L, -3, k)
                        lua_rawgeti(L, systems[r / n].0, lua_Integer(r % n + 1)); lua_rawseti(L, -2, k)
                        k += 1
                    }
                }
                return 2
            }
            defer { lp_pop(L, 1) }
            guard lua_type(L, -1) == LUA_TNUMBER else { throw LuaError("the metric function must return a number, got \(c.describe(-1))") }
            return lua_tonumberx(L, -1, nil)
        }
    }

    /// The metric option pushed (a name or a function; "accuracy" when absent); its stack index.
    static func metricOption(_ c: LuaCall, _ o: DeclaredOptions) throws -> Int32 {
        if try o.push("metric") == LUA_TNIL {
            lp_pop(c.L, 1)
            c.push("accuracy")
        }
        return lua_gettop(c.L)
    }

    static func rng(_ o: DeclaredOptions) throws -> RandomGenerator {
        RandomGenerator(seed: try o.intIfGiven("seed").map { UInt64($0) } ?? Runtime.rng.next())
    }

    static let bootstrap = LuaFunc(
        "bootstrap", "Bootstrap confidence interval for any metric.",
        params: [LuaParam("metric", metricKind, "a metric name or function(y_true, y_pred) -> number (below)"), truth, outputs("y_pred", "the predictions")],
        options: sampleOptions + metricOptions,
        returns: "Bootstrap: {score= (on all items), low=, high=, mean=, std=, ci=, n=, metric=, undefined=} (prints as one line)",
        details: "Resamples the items with replacement n times and reports the (1-ci)/2 and (1+ci)/2 percentiles (linear\ninterpolation, as numpy.percentile) of the resampled scores; undefined counts resamples whose score was NaN.\n" + metricDetails,
        errors: "an unknown metric; length mismatch or empty input; errors of the metric.",
        example: "local y = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1}\nlocal p = {1, 0, 1, 0, 0, 1, 1, 0, 1, 1}\nlocal r = metrics.bootstrap(\"accuracy\", y, p, {n = 200, seed = 1})\nprint(r)\nprint(r.low <= r.score and r.score <= r.high)  --> true"
    ) { c in
        let o = try c.opts()
        let scorer = try scorer(c, o, metric: 1, truth: 2, systems: [(3, "y_pred")])
        let n = try o.int("n")
        var rng = try rng(o)
        let bar = ProgressBar("bootstrap", total: n)
        let r = try Resampling.bootstrap(items: scorer.rows, samples: n, ci: try o.number("ci"), rng: &rng, progress: { bar.update($0) }, score: scorer.score)
        bar.finish()
        try c.pushRecord([("metric", .string(scorer.name)), ("score", .number(r.score)), ("low", .number(r.low)), ("high", .number(r.high)),
                          ("mean", .number(r.mean)), ("std", .number(r.std)), ("ci", .number(r.ci)), ("n", .int(n)), ("undefined", .int(r.undefined))],
                         name: "Bootstrap", text: r.text(metric: scorer.name))
        return 1
    }

    static let pairedTest = LuaFunc(
        "paired_test", "Is system B better than system A on the same items? Paired bootstrap or approximate randomization, with a p-value.",
        params: [truth, outputs("pred_a", "system A's predictions"), outputs("pred_b", "system B's predictions")],
        options: [
            LuaOpt("metric", metricKind, .string("accuracy"), "a metric name or function(y_true, y_pred) -> number (below)"),
            LuaOpt("method", .choice(["bootstrap", "permutation"]), .string("bootstrap"),
                   "bootstrap: resample items, the same draw for both systems; permutation: swap A's and B's output of each item with probability 1/2"),
            LuaOpt("alternative", .choice(["two-sided", "greater", "less"]), .string("two-sided"),
                   "two-sided: B differs from A; greater: B is better; less: B is worse"),
        ] + sampleOptions + metricOptions,
        returns: "PairedTest: {metric=, a=, b=, delta=, p_value=, method=, alternative=, n=, low=, high=, ci=} (prints as one line)",
        details: """
            delta = metric(B) - metric(A). The bootstrap's p counts resamples with |delta* - delta| >= |delta|; the
            permutation's shuffles with |delta'| >= |delta| (one-sided: in the tested direction). p = (count + 1) / (n + 1),
            so identical systems give p = 1; a small p (e.g. < 0.05) means the difference is unlikely to be chance. The
            bootstrap also gives a ci interval for delta.
            """ + "\n" + metricDetails,
        errors: "an unknown metric; length mismatch or empty input; errors of the metric.",
        example: "local y = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1}\nlocal a = {0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0}\nlocal b = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0}\nlocal t = metrics.paired_test(y, a, b, {metric = \"accuracy\", n = 500, seed = 7})\nprint(t)\nprint(t.delta > 0, t.p_value < 0.05)  --> true  true"
    ) { c in
        let o = try c.opts()
        let scorer = try scorer(c, o, metric: try metricOption(c, o), truth: 1, systems: [(2, "pred_a"), (3, "pred_b")])
        let method = Resampling.Method(rawValue: try o.string("method"))!
        let alt = Resampling.Alternative(rawValue: try o.string("alternative"))!
        let n = try o.int("n")
        var rng = try rng(o)
        let bar = ProgressBar("paired \(method.rawValue)", total: n)
        let r = try Resampling.pairedTest(items: scorer.rows / 2, method: method, alternative: alt, samples: n, ci: try o.number("ci"),
                                          rng: &rng, progress: { bar.update($0) }, score: scorer.score)
        bar.finish()
        try c.pushRecord([("metric", .string(scorer.name)), ("a", .number(r.a)), ("b", .number(r.b)), ("delta", .number(r.delta)),
                          ("p_value", .number(r.pValue)), ("method", .string(method.rawValue)), ("alternative", .string(alt.rawValue)),
                          ("n", .int(n)), ("low", .number(r.low)), ("high", .number(r.high)), ("ci", .number(r.ci))],
                         name: "PairedTest", text: r.text(metric: scorer.name))
        return 1
    }

    static let slices = LuaFunc(
        "slices", "A metric per group (region, product line, ...) with the largest gap between groups (a bias check).",
        params: [LuaParam("groups", .labels, "the group of each item"), truth, outputs("y_pred", "the predictions")],
        options: [
            LuaOpt("metric", metricKind, .string("accuracy"), "a metric name or function(y_true, y_pred) -> number (below)"),
            LuaOpt("min_size", .integer(1...Int.max), .int(1), "groups with fewer items are shown but left out of the gap"),
        ] + metricOptions,
        returns: "Slices: s.groups = {{group=, n=, score=}, ...}, s.overall, s.gap, s.best, s.worst; prints as an aligned table",
        details: "Each group is scored on its own items; gap = best - worst over the groups with at least min_size items.\n" + metricDetails,
        errors: "groups, y_true and y_pred differ in length; an unknown metric; errors of the metric.",
        example: "local region = {\"north\", \"north\", \"south\", \"south\", \"south\"}\nlocal s = metrics.slices(region, {1, 0, 1, 1, 0}, {1, 0, 0, 1, 1})\nprint(s)\nprint(s.gap, s.worst)  --> 0.66666666666667  south"
    ) { c in
        let o = try c.opts()
        let groups = try c.labels(1, "groups")
        let scorer = try scorer(c, o, metric: try metricOption(c, o), truth: 2, systems: [(3, "y_pred")])
        try c.checkCount(groups.count, scorer.rows, 1, "groups", like: "y_true", noun: "groups")
        let s = try Resampling.slices(groups: groups, metric: scorer.name, minSize: try o.int("min_size"), score: scorer.score)
        return try c.ret(.object(SlicesObject(s)))
    }
}
