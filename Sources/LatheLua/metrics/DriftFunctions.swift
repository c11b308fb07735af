import CLua
import CLuaShim
import LatheCore

/// metrics.psi, ks, js, oov_rate and drift: distribution shift between a reference sample or
/// dataset and a current one.
extension MetricsFunctions {
    static let sample = LuaKind.described("array of numbers or labels, tensor or data column", .either([.table, .object("Tensor")]))
    static let eps = LuaOpt("eps", .number(min: 0, max: 1, above: true), .number(1e-4), "the floor of each bin's share (an empty bin would make PSI infinite)")
    static let bins = LuaOpt("bins", .integer(1...100_000), .int(10), "numeric bins, cut at the reference's quantiles")
    static let datasetKind = LuaKind.described("DataTable, array of row tables or table of columns", .either([.object("DataTable"), .table]))

    /// True when argument i holds numbers: a tensor other than bool, or an array whose first element is a number.
    static func isNumeric(_ c: LuaCall, _ i: Int32) -> Bool {
        if let t = c.object(i, Tensor.self) { return t.dtype != .bool }
        defer { lp_pop(c.L, 1) }
        return lua_rawgeti(c.L, i, 1) == LUA_TNUMBER
    }

    static let psi = LuaFunc(
        "psi", "Population stability index between a reference sample and a current one.",
        params: [LuaParam("expected", sample, "the reference sample"), LuaParam("actual", sample, "the current sample")],
        options: [bins, eps],
        returns: "psi, details: the PSI, and PSI {bins=, expected=, actual=} (bin names and shares)",
        details: """
            Numbers: bins cut at the reference's 1/bins ... (bins-1)/bins quantiles (numpy's linear interpolation; repeated
            cut points merged), right-closed, the outer bins open-ended. Labels (strings, booleans): one bin per category.
            PSI = sum over bins of (a - e) * ln(a / e), with e and a the reference and current shares, each floored at eps.
            Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
            """,
        errors: "an empty sample; NaN values; mixed numbers and strings.",
        example: "local train = {1, 2, 2, 3, 3, 3, 4, 4, 5, 6}\nlocal now = {3, 4, 4, 5, 5, 6, 6, 7, 7, 8}\nlocal psi, d = metrics.psi(train, now, {bins = 4})\nprint(psi, d.bins[1])  --> 3.2472135755196  (-inf, 2.25]\nprint(d)"
    ) { c in
        let o = try c.opts()
        let eps = try o.number("eps")
        let r = isNumeric(c, 1)
            ? try Drift.psi(expected: try c.numbers(1, "expected", finite: false), actual: try c.numbers(2, "actual", finite: false), bins: try o.int("bins"), eps: eps)
            : try Drift.psi(expected: try c.labels(1, "expected"), actual: try c.labels(2, "actual"), eps: eps)
        c.push(r.psi)
        try c.pushRecord([("bins", .strings(r.bins)), ("expected", .numbers(r.expected)), ("actual", .numbers(r.actual))], name: "PSI")
        return 2
    }

    static let ks = LuaFunc(
        "ks", "Two-sample Kolmogorov–Smirnov test for a numeric feature (scipy.stats.ks_2samp).",
        params: [LuaParam("a", .column, "the first sample"), LuaParam("b", .column, "the second sample")],
        options: [LuaOpt("method", .choice(["auto", "exact", "asymp"]), .string("auto"),
                         "auto: exact when both samples have at most 10,000 values, as SciPy 1.17; exact or asymp force one")],
        returns: "KSTest: {statistic=, p_value=, method=, location=} (location: where the CDFs differ most)",
        details: "Two-sided.",
        errors: "an empty sample; NaN values.",
        example: "local r = metrics.ks({0.1, 0.4, 0.5, 0.9, 1.2}, {0.8, 1.1, 1.5, 1.9, 2.2, 2.5})\nprint(r.statistic, r.p_value)  --> 0.66666666666667  0.10822510822511\nprint(r)"
    ) { c in
        let r = try KolmogorovSmirnov.twoSample(try c.numbers(1, "a", finite: false), try c.numbers(2, "b", finite: false), method: try c.opts().string("method"))
        warn(c, r.warnings)
        try c.pushRecord([("statistic", .number(r.statistic)), ("p_value", .number(r.pValue)), ("method", .string(r.method)), ("location", .number(r.location))],
                         name: "KSTest")
        return 1
    }

    static let js = LuaFunc(
        "js", "Jensen–Shannon distance between two distributions (scipy.spatial.distance.jensenshannon).",
        params: [LuaParam("p", sample, "a distribution (probabilities or counts) or a sample of labels"), LuaParam("q", sample, "the other, alike")],
        options: [
            LuaOpt("base", .number(min: 0, above: true), .computed("e (natural log)"), "the logarithm's base (2 bounds the distance by 1)"),
            LuaOpt("samples", .boolean, .computed("true unless p holds numbers"), "p and q are samples (compared as their empirical distributions), not distributions"),
        ],
        returns: "number: the distance (the square root of the JS divergence)",
        details: "Distributions are normalized to sum to 1. Samples are compared over the union of their values (strings,\nbooleans; integers with samples = true).",
        errors: "distributions of different lengths; negative entries; an all-zero distribution; empty samples.",
        example: "print(metrics.js({0.5, 0.5}, {0.9, 0.1}, {base = 2}))  --> 0.38313587985994\nprint(metrics.js({\"a\", \"b\", \"b\"}, {\"b\", \"c\"}, {base = 2}))  --> 0.65213770579024"
    ) { c in
        let o = try c.opts()
        let base = try o.numberIfGiven("base")
        if try o.boolIfGiven("samples") ?? !isNumeric(c, 1) {
            return try c.ret(.number(try Drift.jensenShannon(try c.labels(1, "p"), try c.labels(2, "q"), base: base)))
        }
        return try c.ret(.number(try Drift.jensenShannon(try c.numbers(1, "p", finite: false), try c.numbers(2, "q", finite: false), base: base)))
    }

    static let oovRate = LuaFunc(
        "oov_rate", "Out-of-vocabulary rate: the share of tokens in new texts never seen in the reference texts.",
        params: [LuaParam("reference_texts", .texts, "the texts that make the vocabulary"), LuaParam("texts", .texts, "the new texts")],
        options: [LuaOpt("lowercase", .boolean, .bool(false), "lowercase both first"), LuaOpt("top", .integer(0...Int.max), .int(10), "how many unknown tokens to list")],
        returns: "OOV: {rate=, oov=, tokens=, vocabulary=, top={{token, count}, ...}} (top: the commonest unknown tokens)",
        details: "Tokens are whitespace-separated words; the vocabulary is every token of the reference texts.",
        errors: "no tokens in texts.",
        example: "local r = metrics.oov_rate({\"the cat sat\", \"the dog ran\"}, {\"the cat flew\", \"a bird sang\"})\nprint(r.rate, r.top[1][1])  --> 0.66666666666667  flew"
    ) { c in
        let o = try c.opts()
        let r = try Drift.oovRate(reference: try c.texts(1, "reference_texts"), texts: try c.texts(2, "texts"), lowercase: try o.bool("lowercase"), top: try o.int("top"))
        try c.pushRecord([("rate", .number(r.rate)), ("oov", .int(r.oovTokens)), ("tokens", .int(r.tokens)), ("vocabulary", .int(r.vocabulary)),
                          ("top", .array(r.top.map { .array([.string($0.0), .int($0.1)]) }))], name: "OOV")
        return 1
    }

    /// A dataset at i: a data table, rows ({{age = 31, plan = "pro"}, ...}) or columns
    /// ({age = {...}, plan = {...}}); nil and data.NA are missing, other values are left out.
    static func dataset(_ c: LuaCall, _ i: Int32, _ name: String) throws -> Drift.Dataset {
        if let t = c.object(i, DataTable.self) { return Drift.Dataset(t) }
        let L = c.L
        try c.reserve(6)
        var cols: [String: [Cell]] = [:]
        /// Each string key of the table on top with its value, as cells.
        func fields(_ each: (String) throws -> Void) throws {
            let t = lua_gettop(L)
            lua_pushnil(L)
            while lua_next(L, t) != 0 {
                defer { lp_pop(L, 1) }
                guard lua_type(L, -2) == LUA_TSTRING, let key = c.string(-2) else { lp_pop(L, 1); throw c.argError(i, name, expected: datasetKind.text) }
                try each(key)
            }
        }
        let n = c.rawLen(i)
        if n > 0 {
            for k in 1...n {
                defer { lp_pop(L, 1) }
                guard lua_rawgeti(L, i, lua_Integer(k)) == LUA_TTABLE else { throw c.argError(i, name, "expected row tables, element \(k) is \(c.describe(-1))") }
                try fields { key in if let v = DataLua.cell(c, -1) { cols[key, default: []].append(v) } }
            }
            return Drift.Dataset(columns: cols, rows: n)
        }
        var rows = 0
        lua_pushvalue(L, i)
        defer { lp_pop(L, 1) }
        try fields { key in
            guard lua_type(L, -1) == LUA_TTABLE else { throw c.argError(i, name, "column '\(key)' is \(c.describe(-1)); expected an array") }
            let m = c.rawLen(-1)
            rows = max(rows, m)
            cols[key] = (0..<m).compactMap { k in
                lua_rawgeti(L, -1, lua_Integer(k + 1))
                defer { lp_pop(L, 1) }
                return DataLua.cell(c, -1)
            }
        }
        if cols.isEmpty { throw c.argError(i, name, "expected rows or columns, got an empty table") }
        return Drift.Dataset(columns: cols, rows: rows)
    }

    static let drift = LuaFunc(
        "drift", "Drift report between two datasets (e.g. training data and this month's traffic), column by column.",
        params: [LuaParam("reference", datasetKind, "the reference data (e.g. the training set)"), LuaParam("current", datasetKind, "the data to compare")],
        options: [
            LuaOpt("columns", .strings, .computed("every column of the reference, sorted"), "the columns to compare, in this order"),
            LuaOpt("text", .strings, .strings([]), "string columns to treat as text whatever their length"),
            bins, eps,
        ],
        returns: "DriftReport: d.columns = {{column=, kind=, psi=, ks=, ks_p=, js=, oov=}, ...}; prints as a table",
        details: """
            Missing values (nil, data.NA) are skipped. Numeric columns get PSI and the two-sample KS test; label columns
            (strings, booleans) PSI and the Jensen–Shannon distance (base 2); text columns (strings averaging 3 or more
            words, or named in text) the JS distance and PSI of their token distributions and the OOV rate.
            """,
        errors: "not rows or columns; a column missing or of another kind in current; empty columns.",
        example: "local ref = {{age = 31, plan = \"pro\"}, {age = 45, plan = \"free\"}, {age = 28, plan = \"free\"}}\nlocal cur = data.from{age = {52, 61, 49}, plan = {\"pro\", \"pro\", \"free\"}}\nprint(metrics.drift(ref, cur))"
    ) { c in
        let o = try c.opts()
        let r = try Drift.report(reference: try dataset(c, 1, "reference"), current: try dataset(c, 2, "current"), columns: try o.stringsIfGiven("columns"),
                                 text: Set(try o.strings("text")), bins: try o.int("bins"), eps: try o.number("eps"))
        return try c.ret(.object(DriftObject(r)))
    }
}
