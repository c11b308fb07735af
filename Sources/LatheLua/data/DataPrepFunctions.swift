import CLua
import CLuaShim
import LatheCore

/// Splits, folds, balancing, augmentation and prompt templates.
enum DataPrepFunctions {
    static let all = [split, kfold, oversample, undersample, classWeights, augmentText, augment, template]

    static let ex = "local t = data.from({text = {\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"},\n  label = {\"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"y\", \"y\", \"y\", \"y\"},\n  customer = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5}})\n"
    static let stratify = LuaOpt("stratify", .string, .none, "a label column: each part keeps each label's share within one row")
    static let group = LuaOpt("group", .string, .none, "a group column: all rows of a group land in the same part")

    static func part(_ name: String) -> LuaOpt {
        LuaOpt(name, .number(min: 0, max: 1), .computed("\(fmtShort(Split.TableOptions.defaultFractions[name] ?? 0)) when no part is given"),
               "the share of rows in the part `\(name)`")
    }

    static let split = LuaFunc(
        "split", "Splits a table into train / val / test: random, stratified by a label, group-aware, duplicate-aware, seeded.",
        params: [DataLua.t],
        options: Split.TableOptions.parts.map(part) + [stratify, group,
                  LuaOpt("dedupe", .string, .none, "a text column: duplicate texts (data.dedupe's clusters) land in the same part"),
                  LuaOpt("near", .either([.number(min: 0, max: 1, above: true), .boolean]), .number(Split.TableOptions.defaultNear),
                         "with dedupe: the Jaccard similarity of near duplicates; false keeps only exact duplicates together"),
                  DataLua.seed],
        returns: "Split {train=, val=, test=}: DataTables, the parts asked for",
        details: """
            The shares must sum to 1 (leave a part out or set it to 0 to skip it). Sizes are exact: the largest-remainder
            rounding of n * share. With group, sizes follow the shares as closely as whole groups allow (with stratify too,
            label shares as close as groups allow). With dedupe, no test text has a twin in train. Rows keep their table
            order within each part.
            """,
        errors: "shares that do not sum to 1; no such column; near without dedupe.",
        example: ex + "local s = data.split(t, {train = 0.6, val = 0.2, test = 0.2, stratify = \"label\", seed = 1})\nprint(#s.train, #s.val, #s.test)\nlocal g = data.split(t, {train = 0.6, test = 0.4, group = \"customer\", seed = 1})\nprint(g.test)"
    ) { c in
        let t = try c.checkObject(1, DataTable.self)
        let o = try c.opts()
        var s = Split.TableOptions()
        for p in Split.TableOptions.parts { s.fractions[p] = try o.numberIfGiven(p) }
        (s.stratify, s.group, s.dedupe) = (try o.stringIfGiven("stratify"), try o.stringIfGiven("group"), try o.stringIfGiven("dedupe"))
        s.near = try DataLua.near(o)
        let parts = try DataLua.withRNG(o) { g in try Split.split(t, s, rng: &g) }
        try c.pushRecord(parts.map { ($0.name, .object($0.table)) }, name: "Split")
        return 1
    }

    static let kfold = LuaFunc(
        "kfold", "k folds for cross-validation: each fold is a {train =, val =} pair; stratified and group-aware on request.",
        params: [DataLua.t, LuaParam("k", .integer(2...Int.max), "the number of folds")],
        options: [stratify, group, DataLua.seed],
        returns: "{Fold {fold=, train=, val=}, ...}: k records",
        details: "Every row is in exactly one val part. Fold sizes differ by at most one; with stratify each label's count differs by at\nmost one between folds; with group a group never spans two folds.",
        errors: "k > #t; no such column.",
        example: ex + "for _, f in ipairs(data.kfold(t, 5, {stratify = \"label\", seed = 1})) do\n  print(f.fold, #f.train, #f.val)\nend"
    ) { c in
        let t = try c.checkObject(1, DataTable.self), k = try c.checkInt(2, "k")
        let o = try c.opts()
        let (stratify, group) = (try o.stringIfGiven("stratify"), try o.stringIfGiven("group"))
        let folds = try DataLua.withRNG(o) { g in try Split.kfold(t, k: k, stratify: stratify, group: group, rng: &g) }
        try DataLua.pushRecords(c, folds.enumerated().map { [("fold", .int($0 + 1)), ("train", .object($1.train)), ("val", .object($1.val))] }, name: "Fold")
        return 1
    }

    /// An option {label = number, ...}; labels may be strings, integers or booleans.
    static func labelMap(_ c: LuaCall, _ o: DeclaredOptions, _ key: String) throws -> [Cell: Double]? {
        guard try o.push(key) == LUA_TTABLE else { lp_pop(c.L, 1); return nil }
        defer { lp_pop(c.L, 1) }
        var out: [Cell: Double] = [:]
        lua_pushnil(c.L)
        while lua_next(c.L, -2) != 0 {
            guard let k = DataLua.cell(c, -2), !k.isMissing, lua_type(c.L, -1) == LUA_TNUMBER else {
                throw LuaError("bad option '\(key)' (expected labels mapped to numbers, got \(c.describe(-2)) = \(c.describe(-1)))")
            }
            out[k] = lua_tonumberx(c.L, -1, nil)
            lp_pop(c.L, 1)
        }
        return out
    }

    static func resample(over: Bool) -> LuaFunc {
        let (name, verb, auto) = over ? ("oversample", "Adds copies of rows", "max") : ("undersample", "Keeps a random subset of rows", "min")
        return LuaFunc(
            name, "\(verb) so labels reach a target count or distribution (random \(name)-sampling, seeded).",
            params: [DataLua.t, LuaParam("label", .string, "the label column")],
            options: [LuaOpt("target", .either([.choice(["max", "min", "mean"]), .integer(0...Int.max), .table]), .string(auto),
                             "every label to the largest, smallest or mean count, to a count, or {label = count}"),
                      LuaOpt("distribution", .table, .none, "{label = share}: the \(over ? "smallest" : "largest") total with those shares (summing to 1)"),
                      DataLua.seed],
            returns: "DataTable",
            details: over
                ? "Every original row stays; copies are whole passes over a label's rows, then a random subset without replacement,\nappended after the original rows. Labels never shrink."
                : "Kept rows stay in table order. Labels never grow.",
            errors: "no such column; a target naming an unknown label; shares not summing to 1; both target and distribution.",
            example: ex + "print(data.\(name)(t, \"label\", {seed = 1}):value_counts(\"label\"))"
        ) { c in
            let o = try c.opts()
            var target = Split.Target.auto
            switch try o.value("target") {
            case .string(let s): target = s == "mean" ? .mean : s == "max" ? .largest : s == "min" ? .smallest : .auto
            case .int(let n): target = .count(n)
            case .nil: break
            default:
                target = .counts(try Dictionary(uniqueKeysWithValues: (try labelMap(c, o, "target") ?? [:]).map { k, v in
                    guard v >= 0, v == v.rounded(), v < 9e15 else { throw LuaError("bad option 'target' (counts must be non-negative integers; \(k) = \(fmt(v)))") }
                    return (k, Int(v))
                }))
            }
            if let d = try labelMap(c, o, "distribution") {
                if try o.has("target") { throw LuaError("give either target or distribution, not both") }
                target = .distribution(d)
            }
            let t = try c.checkObject(1, DataTable.self), label = try c.checkString(2, "label")
            return try c.ret(.object(try DataLua.withRNG(o) { g in try Split.resample(t, label: label, target: target, over: over, rng: &g) }))
        }
    }
    static let oversample = resample(over: true)
    static let undersample = resample(over: false)

    static let classWeights = LuaFunc(
        "class_weights", "Per-label loss weights n_samples / (n_classes * count), as scikit-learn's \"balanced\".",
        params: [LuaParam("labels", .either([.object("DataTable"), .table, .object("Tensor")]), "a table (then name the column), or labels: a Lua array, a table column or a 1-D tensor"),
                 LuaParam("label", .string, optional: true, "with a table: the label column")],
        returns: "ClassWeights {label = weight, ...}", details: "Rare labels weigh more. Missing labels are left out.",
        errors: "no such column; a table without the label column named.",
        example: ex + "local w = data.class_weights(t, \"label\")\nprint(w.x, w.y)\nprint(data.class_weights({1, 1, 2}))"
    ) { c in
        let col = try c.object(1, DataTable.self).map { try $0.column(try c.checkString(2, "label")) } ?? DataLua.column(c, 1, "labels")
        try c.pushRecord([], name: "ClassWeights")
        for (k, w) in Split.classWeights(col) {
            if case .number(let x) = k, x.isNaN { throw LuaError("the labels hold NaN, which cannot be a key of a Lua table") }
            DataLua.push(c, k)
            c.push(w)
            lua_rawset(c.L, -3)
        }
        return 1
    }

    // MARK: augmentation

    static let alpha = LuaOpt("alpha", .number(min: 0, max: 1, above: true), .number(EDA().alpha), "the share of words changed (at least one); for delete, each word's chance")
    static let synonyms = LuaOpt("synonyms", .table, .none, "{word = {\"synonym\", ...}}: your dictionary (keys case-insensitive)")
    static let stopwords = LuaOpt("stopwords", .strings, .computed("a small English list"), "words never replaced")

    static func eda(_ c: LuaCall, _ o: DeclaredOptions) throws -> EDA {
        var syn: [String: [String]] = [:]
        if case .record(let fields) = try o.value("synonyms") {
            for (word, v) in fields {
                switch v {
                case .string(let s): syn[word] = [s]
                case .array(let a): syn[word] = try a.map { guard case .string(let s) = $0 else { throw LuaError("bad option 'synonyms' (the synonyms of '\(word)' must be strings)") }; return s }
                default: throw LuaError("bad option 'synonyms' (expected {word = {\"synonym\", ...}}; '\(word)' is given neither)")
                }
            }
        }
        let stop = try o.stringsIfGiven("stopwords").map { Set($0.map { $0.lowercased() }) } ?? EDA.englishStopwords
        return EDA(synonyms: syn, stopwords: stop, alpha: try o.number("alpha"))
    }

    static let augmentText = LuaFunc(
        "augment_text", "One EDA augmentation of a text: synonym replacement, random insertion, swap or deletion (seeded).",
        params: [LuaParam("text", .string, "the text"), LuaParam("op", .choice(EDA.Op.allCases.map(\.rawValue)), "the operation")],
        options: [alpha, synonyms, stopwords, DataLua.seed],
        returns: "string: the augmented text", details: "Synonyms come from your dictionary; stop words are never replaced.",
        example: "local syn = {order = {\"purchase\"}, late = {\"delayed\"}}\nprint(data.augment_text(\"My order is late\", \"synonym\", {synonyms = syn, alpha = 0.5, seed = 1}))\nprint(data.augment_text(\"My order is late\", \"swap\", {seed = 2}))"
    ) { c in
        let text = try c.checkString(1, "text"), op = EDA.Op(rawValue: try c.checkString(2, "op"))!
        let o = try c.opts()
        let e = try eda(c, o)
        return try c.ret(.string(try DataLua.withRNG(o) { g in e.apply(op, to: text, rng: &g) }))
    }

    static let augment = LuaFunc(
        "augment", "Adds augmented copies of rows: EDA operations on a text column, or your own function (e.g. back-translation).",
        params: [DataLua.t, LuaParam("column", .string, "the text column")],
        options: [LuaOpt("ops", .strings, .computed("{\"fn\"} with fn, else all four"), "operations drawn at random per copy: synonym, insert, swap, delete, fn"),
                  LuaOpt("n", .integer(0...Int.max), .int(1), "copies per row"), alpha, synonyms, stopwords,
                  LuaOpt("fn", .function, .none, "fn(text, row_number) -> a new text, or nil to skip that copy"),
                  LuaOpt("keep_original", .boolean, .bool(true), "keep the original rows before the copies"), DataLua.seed],
        returns: "the table and an AugmentReport {added=, unchanged=, per_op = {op = n}}",
        details: "Copies equal to their original are dropped. The result holds the original rows then the new ones, with a boolean\ncolumn `augmented`. synonym and insert need a dictionary (without one they change nothing).",
        errors: "a column that is not a string column; an unknown op; \"fn\" without fn.",
        example: "local t = data.from({text = {\"my order is late\", \"the app is slow\"}, label = {\"shipping\", \"tech\"}})\nlocal syn = {late = {\"delayed\"}, slow = {\"sluggish\"}}\nlocal a, r = data.augment(t, \"text\", {ops = {\"synonym\", \"swap\"}, n = 2, synonyms = syn, seed = 1})\nprint(a)\nprint(r)\nlocal b = data.augment(t, \"text\", {fn = function(s) return s:upper() end})\nprint(b:column(\"text\")[3])"
    ) { c in
        let t = try c.checkObject(1, DataTable.self), column = try c.checkString(2, "column")
        let o = try c.opts()
        let e = try eda(c, o)
        let fn = try DataLua.function(c, o, "fn", { (s: String, r: Int) in c.push(s); c.push(r + 1); return 2 }) { (_, r) -> String? in
            if lua_type(c.L, -1) == LUA_TNIL { return nil }
            guard let out = c.string(-1) else { throw LuaError("fn must return a string or nil, got \(c.describe(-1)) for row \(r + 1)") }
            return out
        }
        let custom = fn.map { f in { (s: String, r: Int) in try f((s, r)) } }
        let ops = try o.stringsIfGiven("ops") ?? Augment.defaultOps(custom: custom != nil)
        let (copies, keep) = (try o.int("n"), try o.bool("keep_original"))
        let (out, r) = try DataLua.progress("augment", "rows") { progress in
            try DataLua.withRNG(o) { g in try Augment.table(t, column: column, ops: ops, copies: copies, eda: e, custom: custom, keepOriginal: keep, rng: &g, progress: progress) }
        }
        c.push(out)
        try c.pushRecord([("added", .int(r.added)), ("unchanged", .int(r.unchanged)),
                          ("per_op", .record(r.perOp.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))], name: "AugmentReport")
        return 2
    }

    // MARK: templates

    static func column(_ role: String, _ doc: String) -> LuaOpt { LuaOpt(role, .string, .none, doc) }

    static let template = LuaFunc(
        "template", "Turns rows into training examples with a prompt template (Alpaca, ChatML or your own {field} text).",
        params: [DataLua.t, LuaParam("template", .string, "\"alpaca\", \"chatml\", or a text with {column} placeholders")],
        options: [column("instruction", "the instruction column (default: instruction, prompt or question)"),
                  column("input", "the optional input column (default: input)"),
                  column("response", "the response column (default: output, response or answer)"),
                  column("system", "a ChatML system message"),
                  LuaOpt("eos", .string, .string(PromptTemplate.Options().eos), "appended to every response (an end-of-sequence token)"),
                  LuaOpt("keep", .strings, .strings([]), "other columns to carry over (e.g. a label for data.split)"),
                  LuaOpt("on_missing", .choice(["error", "skip"]), .string("error"), "a row with a missing value is an error, or skipped with a warning")],
        returns: "DataTable: columns prompt, response, text, response_start (and keep)",
        details: """
            text = prompt .. response; response_start is the 0-based byte offset in text where the response begins: train on
            the response only by masking tokens before it (the text module's tokenizers turn it into a loss mask).
            "alpaca": the Stanford Alpaca prompt (with "### Input:" only when the input is present). "chatml":
            <|im_start|>system/user/assistant turns; the response ends with <|im_end|>. A custom template names columns in
            braces: "Q: {question}\\nA: {answer}" with response = "answer" makes everything from {answer} on the response;
            without the response in the template, the response column is appended; with no response at all, the whole text
            is the response. {{ and }} are literal braces.
            """,
        errors: "a missing column; a missing value (unless on_missing = \"skip\"); a malformed template.",
        example: "local t = data.from({question = {\"What is Lathe?\"}, answer = {\"A shell for fine-tuning.\"}})\nlocal ex = data.template(t, \"Q: {question}\\nA: {answer}\", {response = \"answer\", eos = \"</s>\"})\nlocal row = ex:row(1)\nprint(row.text)\nprint(row.response_start, row.text:sub(row.response_start + 1))\nprint(data.template(t, \"chatml\", {instruction = \"question\", response = \"answer\"}):row(1).text)"
    ) { c in
        let name = try c.checkString(2, "template")
        guard let kind = PromptTemplate.Kind(name: name) else {
            throw c.argError(2, "template", "expected \"alpaca\", \"chatml\" or a template with {field} placeholders, got \"\(name)\"")
        }
        let o = try c.opts()
        var p = PromptTemplate.Options()
        (p.instruction, p.input, p.response, p.system) = (try o.stringIfGiven("instruction"), try o.stringIfGiven("input"), try o.stringIfGiven("response"), try o.stringIfGiven("system"))
        (p.eos, p.keep, p.skipMissing) = (try o.string("eos"), try o.strings("keep"), try o.string("on_missing") == "skip")
        let (out, r) = try PromptTemplate.apply(try c.checkObject(1, DataTable.self), kind, options: p)
        if r.skipped > 0 { Output.warning("data.template", "skipped \(TableFormat.count(r.skipped, "row")) with missing values") }
        return try c.ret(.object(out))
    }
}
