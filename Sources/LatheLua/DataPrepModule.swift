import CLua
import CLuaShim
import Foundation
import LatheCore

/// Splits, folds, balancing, augmentation and prompt templates.
enum DataPrepModule {
    static let ex = "local t = data.from({text = {\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"},\n  label = {\"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"y\", \"y\", \"y\", \"y\"},\n  customer = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5}})\n"

    static func labelColumn(_ t: DataTable, _ name: String?) throws -> [Int]? {
        guard let name else { return nil }
        return Split.labelIds(try t.column(name)).0
    }

    /// Reads a record {label = number} whose keys may be strings, integers or booleans.
    static func cellMap(_ c: LuaCall, _ o: LuaOptions, _ key: String) throws -> [Cell: Double]? {
        let t = o.push(key)
        defer { lp_pop(c.L, 1) }
        if t == LUA_TNIL { return nil }
        guard t == LUA_TTABLE else { throw LuaError("bad option '\(key)' (expected a table {label = number}, got \(c.describe(-1)))") }
        var out: [Cell: Double] = [:]
        let abs = lua_gettop(c.L)
        lua_pushnil(c.L)
        while lua_next(c.L, abs) != 0 {
            guard let k = DataLua.cell(c, -2), !k.isMissing, lua_type(c.L, -1) == LUA_TNUMBER else {
                let d = "\(c.describe(-2)) = \(c.describe(-1))"
                lp_pop(c.L, 2)
                throw LuaError("bad option '\(key)' (expected labels mapped to numbers, got \(d))")
            }
            out[k] = lua_tonumberx(c.L, -1, nil)
            lp_pop(c.L, 1)
        }
        return out
    }

    /// Makes label keys match the column: integer keys for an integer column, etc.
    static func matchKeys(_ m: [Cell: Double], _ col: Column) -> [Cell: Double] {
        var out: [Cell: Double] = [:]
        for (k, v) in m {
            var key = k
            if col.type == .number, case .integer(let x) = k { key = .number(Double(x)) }
            if col.type == .integer, case .number(let x) = k, x == x.rounded() { key = .integer(Int64(x)) }
            out[key] = v
        }
        return out
    }

    static func resampleBinding(_ c: LuaCall, over: Bool) throws -> Int32 {
        let t = try DataLua.table(c, 1, "t")
        let label = try c.checkString(2, "label")
        let o = try c.options(3, allowed: ["target", "distribution", "seed"])
        let col = try t.column(label)
        var target = Split.Target.auto
        let tt = o.push("target"); lp_pop(c.L, 1)
        if tt == LUA_TSTRING {
            let s = try o.string("target")!
            let want = over ? "max" : "min"
            guard s == want || s == "max" || s == "min" || s == "mean" else {
                throw LuaError("bad option 'target' (expected \"max\", \"min\", \"mean\", a count or {label = count}, got \"\(s)\")")
            }
            let counts = col.distinctCounts().1
            let v: Int
            switch s {
            case "max": v = counts.max() ?? 0
            case "min": v = counts.min() ?? 0
            default: v = counts.isEmpty ? 0 : Int((Double(counts.reduce(0, +)) / Double(counts.count)).rounded())
            }
            target = .count(v)
        } else if tt == LUA_TNUMBER {
            guard let n = try o.int("target"), n >= 0 else { throw LuaError("bad option 'target' (expected a non-negative integer count)") }
            target = .count(n)
        } else if tt == LUA_TTABLE {
            let m = matchKeys(try cellMap(c, o, "target") ?? [:], col)
            var counts: [Cell: Int] = [:]
            for (k, v) in m {
                guard v >= 0, v == v.rounded() else { throw LuaError("bad option 'target' (counts must be non-negative integers; \(k) = \(fmt(v)))") }
                counts[k] = Int(v)
            }
            target = .counts(counts)
        } else if tt != LUA_TNIL {
            throw LuaError("bad option 'target' (expected \"max\", \"min\", \"mean\", a count or {label = count})")
        }
        if let d = try cellMap(c, o, "distribution") {
            if tt != LUA_TNIL { throw LuaError("give either target or distribution, not both") }
            target = .distribution(matchKeys(d, col))
        }
        let rows = try DataLua.withRNG(try o.int("seed")) { g in try Split.resample(col, target: target, over: over, rng: &g) }
        c.push(t.take(rows))
        return 1
    }

    static func install(_ vm: LuaVM) throws {
        let m = vm.module("data", summary: "")

        m.function("split", Doc(
            "Splits a table into train / val / test: random, stratified by a label, group-aware, duplicate-aware, seeded.",
            signature: "data.split(t, {train = 0.8, val = 0.1, test = 0.1, stratify = nil, group = nil, dedupe = nil, near = 0.8, seed = nil}) -> {train =, val =, test =}",
            details: """
            Proportions must sum to 1 (leave a part out or set it to 0 to skip it; with none given,
            0.8/0.1/0.1). Sizes are exact: the largest-remainder rounding of n * p.
            stratify = "label": each split holds each label's share within one example.
            group = "customer_id": all rows of a group land in the same split (sizes then follow the
            proportions as closely as whole groups allow; with stratify too, label shares are kept
            as close as groups allow).
            dedupe = "text": near-duplicate texts (data.dedupe's clusters at Jaccard `near`, or exact
            duplicates only with near = false) are kept in one split, so no test example has a twin
            in train. Rows keep their table order within each split. Random draws come from the
            session generator (lathe.seed) unless seed is given.
            """,
            returns: "a record of DataTables named like the proportions given",
            errors: "proportions that do not sum to 1; no such column.",
            example: ex + "local s = data.split(t, {train = 0.6, val = 0.2, test = 0.2, stratify = \"label\", seed = 1})\nprint(#s.train, #s.val, #s.test)\nlocal g = data.split(t, {train = 0.6, test = 0.4, group = \"customer\", seed = 1})\nprint(g.test)")) { c in
            let t = try DataLua.table(c, 1, "t")
            let o = try c.options(2, allowed: ["train", "val", "test", "stratify", "group", "dedupe", "near", "seed"])
            var names: [String] = []
            var fracs: [Double] = []
            for k in ["train", "val", "test"] {
                if let v = try o.number(k) { names.append(k); fracs.append(v) }
            }
            if names.isEmpty { names = ["train", "val", "test"]; fracs = [0.8, 0.1, 0.1] }
            let labels = try labelColumn(t, try o.string("stratify"))
            var groups: [Int]? = nil
            if let g = try o.string("group") { groups = Split.groupIds(try t.column(g)) }
            if let d = try o.string("dedupe") {
                var opts = Dedupe.Options()
                let nt = o.push("near"); lp_pop(c.L, 1)
                if nt == LUA_TBOOLEAN { opts.near = (try o.bool("near") ?? false) ? 0.8 : nil }
                else { opts.near = try o.number("near") ?? 0.8 }
                let (_, r) = try Dedupe.dedupe(t, column: d, options: opts)
                groups = groups.map { Split.combineGroups($0, r.clusterOf) } ?? r.clusterOf
            } else if o.has("near") {
                throw LuaError("bad option 'near' (it applies with dedupe = \"text column\")")
            }
            let assign = try DataLua.withRNG(try o.int("seed")) { g in
                try Split.assign(n: t.rowCount, fractions: fracs, labels: labels, groups: groups, rng: &g)
            }
            var fields: [(String, LuaValue)] = []
            for (s, name) in names.enumerated() {
                let rows = assign.indices.filter { assign[$0] == s }
                fields.append((name, .object(t.take(rows))))
            }
            try c.push(.record(fields))
            return 1
        }

        m.function("kfold", Doc(
            "k folds for cross-validation: each fold is a {train =, val =} pair; stratified and group-aware on request.",
            signature: "data.kfold(t, k, {stratify = nil, group = nil, seed = nil}) -> {{train =, val =, fold =}, ...}",
            details: "Every row is in exactly one val part. Fold sizes differ by at most one; with stratify\neach label's count differs by at most one between folds; with group a group never spans\ntwo folds.",
            returns: "an array of k records",
            errors: "k < 2 or k > #t; no such column.",
            example: ex + "for _, f in ipairs(data.kfold(t, 5, {stratify = \"label\", seed = 1})) do\n  print(f.fold, #f.train, #f.val)\nend")) { c in
            let t = try DataLua.table(c, 1, "t")
            let k = try c.checkInt(2, "k")
            let o = try c.options(3, allowed: ["stratify", "group", "seed"])
            let labels = try labelColumn(t, try o.string("stratify"))
            var groups: [Int]? = nil
            if let g = try o.string("group") { groups = Split.groupIds(try t.column(g)) }
            let folds = try DataLua.withRNG(try o.int("seed")) { g in
                try Split.kfold(n: t.rowCount, k: k, labels: labels, groups: groups, rng: &g)
            }
            var out: [LuaValue] = []
            for f in 0..<k {
                let val = folds.indices.filter { folds[$0] == f }
                let train = folds.indices.filter { folds[$0] != f }
                out.append(.record([("fold", .int(f + 1)), ("train", .object(t.take(train))), ("val", .object(t.take(val)))]))
            }
            try c.push(.array(out))
            return 1
        }

        m.function("oversample", Doc(
            "Adds copies of rows so labels reach a target count or distribution (random over-sampling, seeded).",
            signature: "data.oversample(t, label, {target = \"max\", distribution = nil, seed = nil}) -> DataTable",
            details: """
            target: "max" (every label up to the largest label's count), "mean", a count, or
            {label = count}. distribution = {a = 0.5, b = 0.5}: the smallest total that reaches
            those shares without dropping rows. Every original row stays; copies are whole passes
            over a label's rows, then a random subset without replacement, appended after the
            original rows. Labels never shrink.
            """,
            returns: "a new table",
            errors: "no such column; a target naming an unknown label; shares not summing to 1.",
            example: ex + "print(data.oversample(t, \"label\", {seed = 1}):value_counts(\"label\"))")) { c in
            try resampleBinding(c, over: true)
        }

        m.function("undersample", Doc(
            "Keeps a random subset of rows so labels reach a target count or distribution (random under-sampling, seeded).",
            signature: "data.undersample(t, label, {target = \"min\", distribution = nil, seed = nil}) -> DataTable",
            details: "target: \"min\" (every label down to the smallest count), \"mean\", a count, or\n{label = count}. distribution = {a = 0.5, b = 0.5}: the largest total with those shares that\nthe rows allow. Kept rows stay in table order. Labels never grow.",
            returns: "a new table",
            errors: "no such column; a target naming an unknown label; shares not summing to 1.",
            example: ex + "print(data.undersample(t, \"label\", {seed = 1}):value_counts(\"label\"))")) { c in
            try resampleBinding(c, over: false)
        }

        m.function("class_weights", Doc(
            "Per-label loss weights n_samples / (n_classes * count), as scikit-learn's \"balanced\".",
            signature: "data.class_weights(t, label) or data.class_weights({labels...}) -> {label = weight, ...}",
            details: "Rare labels weigh more. Missing labels are left out.",
            returns: "a record from label to weight",
            errors: "no such column.",
            example: ex + "local w = data.class_weights(t, \"label\")\nprint(w.x, w.y)")) { c in
            let col: Column
            if let t = c.object(1, DataTable.self) {
                col = try t.column(try c.checkString(2, "label"))
            } else if c.type(1) == LUA_TTABLE {
                var cells: [Cell] = []
                for k in 0..<c.rawLen(1) {
                    lua_rawgeti(c.L, 1, lua_Integer(k + 1))
                    guard let v = DataLua.cell(c, -1) else { lp_pop(c.L, 1); throw c.argError(1, "labels", "element \(k + 1) is not a label") }
                    cells.append(v)
                    lp_pop(c.L, 1)
                }
                col = try Column.from(cells: cells, name: "labels")
            } else {
                throw c.argError(1, "t", expected: "a DataTable or an array of labels")
            }
            let w = Split.classWeights(col)
            try c.newTable(records: w.count)
            for (k, v) in w {
                DataLua.push(c, k)
                c.push(v)
                try c.rawsetKeyChecked(-3)
            }
            return 1
        }

        m.function("augment_text", Doc(
            "One EDA augmentation of a text: synonym replacement, random insertion, swap or deletion (seeded).",
            signature: "data.augment_text(text, op, {alpha = 0.1, synonyms = {word = {...}}, stopwords = nil, seed = nil}) -> text",
            details: "op is \"synonym\", \"insert\", \"swap\" or \"delete\". alpha is the share of words changed\n(at least one); for delete, each word's chance of removal. Synonyms come from your\ndictionary (case-insensitive keys); stop words (a small English list by default) are never\nreplaced.",
            returns: "the augmented text",
            errors: "an unknown op.",
            example: "local syn = {order = {\"purchase\"}, late = {\"delayed\"}}\nprint(data.augment_text(\"My order is late\", \"synonym\", {synonyms = syn, alpha = 0.5, seed = 1}))\nprint(data.augment_text(\"My order is late\", \"swap\", {seed = 2}))")) { c in
            let text = try c.checkString(1, "text")
            let opName = try c.checkString(2, "op")
            guard let op = EDA.Op(rawValue: opName) else {
                throw c.argError(2, "op", expected: "\"synonym\", \"insert\", \"swap\" or \"delete\"")
            }
            let o = try c.options(3, allowed: ["alpha", "synonyms", "stopwords", "seed"])
            let eda = try edaFrom(c, o)
            c.push(DataLua.withRNG(try o.int("seed")) { g in eda.apply(op, to: text, rng: &g) })
            return 1
        }

        m.function("augment", Doc(
            "Adds augmented copies of rows: EDA operations on a text column, or your own function (e.g. back-translation).",
            signature: "data.augment(t, column, {ops = {\"synonym\", \"insert\", \"swap\", \"delete\"}, n = 1, alpha = 0.1, synonyms = {}, stopwords = nil, fn = nil, keep_original = true, seed = nil}) -> DataTable, report",
            details: """
            For each row with a text, n copies are made, each by one operation drawn at random
            from ops. "fn" in ops (the default when only fn is given) calls fn(text, row_number)
            and uses the string it returns (nil skips that copy). Copies equal to their original
            are dropped. The result holds the original rows then the new ones, with a boolean
            column `augmented`. Operations without synonyms to use (synonym, insert) leave the
            text unchanged, so give a dictionary.
            """,
            returns: "the table and a report {added =, unchanged =, per_op = {op = n}}",
            errors: "a column that is not a string column; an unknown op; \"fn\" without fn.",
            example: "local t = data.from({text = {\"my order is late\", \"the app is slow\"}, label = {\"shipping\", \"tech\"}})\nlocal syn = {late = {\"delayed\"}, slow = {\"sluggish\"}}\nlocal a, r = data.augment(t, \"text\", {ops = {\"synonym\", \"swap\"}, n = 2, synonyms = syn, seed = 1})\nprint(a)\nlocal b = data.augment(t, \"text\", {fn = function(s) return s:upper() end})\nprint(b:column(\"text\")[3])")) { c in
            let t = try DataLua.table(c, 1, "t")
            let column = try c.checkString(2, "column")
            let o = try c.options(3, allowed: ["ops", "n", "alpha", "synonyms", "stopwords", "fn", "keep_original", "seed"])
            let eda = try edaFrom(c, o)
            let hasFn = o.isFunction("fn")
            if o.has("fn") && !hasFn { throw LuaError("bad option 'fn' (expected function)") }
            let ops = try o.stringArray("ops") ?? (hasFn ? ["fn"] : ["synonym", "insert", "swap", "delete"])
            var fi: Int32 = 0
            var custom: ((String, Int) throws -> String?)? = nil
            if hasFn {
                o.push("fn")
                fi = lua_gettop(c.L)
                custom = { s, r in
                    try c.callLua(fi, nresults: 1) { c.push(s); c.push(r + 1); return 2 }
                    defer { lp_pop(c.L, 1) }
                    if lua_type(c.L, -1) == LUA_TNIL { return nil }
                    guard let out = c.string(-1) else { throw LuaError("fn must return a string or nil, got \(c.describe(-1)) for row \(r + 1)") }
                    return out
                }
            }
            defer { if fi != 0 { lua_settop(c.L, fi - 1) } }
            let copies = try o.int("n", 1)
            let keep = try o.bool("keep_original", true)
            let bar = ProgressBar("augment", total: t.rowCount, unit: "rows")
            let (out, rep) = try DataLua.withRNG(try o.int("seed")) { g in
                try Augment.table(t, column: column, ops: ops, copies: copies, eda: eda, custom: custom, keepOriginal: keep, rng: &g) { done, _ in
                    bar.update(done)
                }
            }
            bar.finish()
            if fi != 0 { lua_settop(c.L, fi - 1); fi = 0 }
            c.push(out)
            try c.push(.record([("added", .int(rep.added)), ("unchanged", .int(rep.unchanged)),
                            ("per_op", .record(rep.perOp.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))]))
            return 2
        }

        m.function("template", Doc(
            "Turns rows into training examples with a prompt template (Alpaca, ChatML or your own {field} text).",
            signature: "data.template(t, \"alpaca\" | \"chatml\" | \"custom {field} text\", {instruction =, input =, response =, system = nil, eos = \"\", keep = {}, on_missing = \"error\"}) -> DataTable",
            details: """
            Each row gives prompt, response, text = prompt .. response, and response_start: the
            0-based byte offset in text where the response begins. Train on the response only by
            masking tokens before response_start (the text module's tokenizers turn the offset into
            a loss mask); train on everything by ignoring it.
            "alpaca": the Stanford Alpaca prompt (with the "### Input:" part only when the input is
            present). Columns: instruction (or prompt/question), input (optional), response
            (output/response/answer), or name them with the options.
            "chatml": <|im_start|>system/user/assistant turns; the response ends with <|im_end|>.
            A custom template names columns in braces: "Q: {question}\nA: {answer}" with
            response = "answer" makes everything from {answer} on the response; without the
            response in the template, the response column is appended; with no response at all,
            the whole text is the response. {{ and }} are literal braces. eos is appended to every
            response. keep lists other columns to carry over (e.g. a label for data.split).
            """,
            returns: "a table with columns prompt, response, text, response_start (and keep)",
            errors: "a missing column; a missing value (unless on_missing = \"skip\"); a malformed template.",
            example: "local t = data.from({question = {\"What is Lathe?\"}, answer = {\"A shell for fine-tuning.\"}})\nlocal ex = data.template(t, \"Q: {question}\\nA: {answer}\", {response = \"answer\", eos = \"</s>\"})\nlocal row = ex:row(1)\nprint(row.text)\nprint(row.response_start, row.text:sub(row.response_start + 1))\nprint(data.template(t, \"chatml\", {instruction = \"question\", response = \"answer\"}):row(1).text)")) { c in
            let t = try DataLua.table(c, 1, "t")
            let kindName = try c.checkString(2, "template")
            let o = try c.options(3, allowed: ["instruction", "input", "response", "system", "eos", "keep", "on_missing"])
            var opts = PromptTemplate.Options()
            opts.instruction = try o.string("instruction")
            opts.input = try o.string("input")
            opts.response = try o.string("response")
            opts.system = try o.string("system")
            opts.eos = try o.string("eos", "")
            opts.keep = try o.stringArray("keep") ?? []
            opts.skipMissing = try o.choice("on_missing", ["error", "skip"], "error") == "skip"
            let kind: PromptTemplate.Kind
            switch kindName.lowercased() {
            case "alpaca": kind = .alpaca
            case "chatml": kind = .chatml
            default:
                guard kindName.contains("{") else {
                    throw c.argError(2, "template", "expected \"alpaca\", \"chatml\" or a template with {field} placeholders, got \"\(kindName)\"")
                }
                kind = .custom(kindName)
            }
            let (out, rep) = try PromptTemplate.apply(t, kind, options: opts)
            if rep.skipped > 0 { DataLua.warn("data.template: skipped \(rep.skipped) row\(rep.skipped == 1 ? "" : "s") with missing values") }
            c.push(out)
            return 1
        }
    }

    static func edaFrom(_ c: LuaCall, _ o: LuaOptions) throws -> EDA {
        var syn: [String: [String]] = [:]
        let t = o.push("synonyms")
        if t == LUA_TTABLE {
            let abs = lua_gettop(c.L)
            lua_pushnil(c.L)
            while lua_next(c.L, abs) != 0 {
                guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2) else {
                    lp_pop(c.L, 3)
                    throw LuaError("bad option 'synonyms' (expected {word = {\"synonym\", ...}})")
                }
                if let s = c.string(-1) { syn[k, default: []].append(s) }
                else if lua_type(c.L, -1) == LUA_TTABLE {
                    do { syn[k, default: []].append(contentsOf: try c.stringArray(-1, "synonyms")) } catch { lp_pop(c.L, 3); throw LuaError("bad option 'synonyms' (the synonyms of '\(k)' must be strings)") }
                } else {
                    lp_pop(c.L, 3)
                    throw LuaError("bad option 'synonyms' (expected {word = {\"synonym\", ...}})")
                }
                lp_pop(c.L, 1)
            }
        } else if t != LUA_TNIL {
            lp_pop(c.L, 1)
            throw LuaError("bad option 'synonyms' (expected {word = {\"synonym\", ...}})")
        }
        lp_pop(c.L, 1)
        let alpha = try o.number("alpha", 0.1)
        guard alpha > 0 && alpha <= 1 else { throw LuaError("bad option 'alpha' (expected a number in (0, 1], got \(fmt(alpha)))") }
        let stop = try o.stringArray("stopwords").map { Set($0.map { $0.lowercased() }) } ?? EDA.englishStopwords
        return EDA(synonyms: syn, stopwords: stop, alpha: alpha)
    }
}
