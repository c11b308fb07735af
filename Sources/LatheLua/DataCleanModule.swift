import CLua
import CLuaShim
import Foundation
import LatheCore

/// data.clean and its steps, PII masking and de-duplication.
enum DataCleanModule {
    static let ex = "local t = data.from({text = {\"  Hello <b>World</b>  \", \"ﬁne  print\", data.NA}, label = {\"a\", \"b\", \"a\"}})\n"

    static func pushReport(_ c: LuaCall, _ r: CleanReport) throws {
        var f: [(String, LuaValue)] = [
            ("step", .string(r.step)), ("columns", .strings(r.columns)),
            ("cells_changed", .int(r.cellsChanged)), ("rows_dropped", .int(r.rowsDropped)), ("rows", .int(r.rows)),
        ]
        if let e = r.example { f.append(("example", .strings(e))) }
        try c.push(.record(f))
    }

    static func reportLine(_ r: CleanReport) -> String {
        var s = r.step.padding(toLength: 22, withPad: " ", startingAt: 0)
        if r.rowsDropped > 0 || r.step == "drop_missing" || r.step == "filter_length" || r.step == "filter" {
            s += "rows dropped \(r.rowsDropped)"
        } else {
            s += "cells changed \(r.cellsChanged)"
        }
        if let e = r.example {
            s += "   \"" + e[0] + "\" -> \"" + e[1] + "\""   // already one line, control characters escaped
        }
        return s
    }

    /// Columns as argument i: nil (all string columns), a name or an array of names.
    static func optColumns(_ c: LuaCall, _ i: Int32) throws -> [String]? {
        if c.isNoneOrNil(i) { return nil }
        return try DataLua.names(c, i, "columns")
    }

    /// A text step usable on a string (returns the string) or a table (returns table, report).
    static func textStep(_ m: LuaModuleBuilder, _ name: String, _ summary: String, details: String, example: String,
                         extraOptions: [String] = [],
                         _ make: @escaping (LuaOptions) throws -> @Sendable (String) -> String) {
        m.function(name, Doc(
            summary,
            signature: "data.\(name)(t, [columns]\(extraOptions.isEmpty ? "" : ", {" + extraOptions.map { "\($0) = ..." }.joined(separator: ", ") + "}")) -> DataTable, report; or data.\(name)(text) -> text",
            details: details + "\nOn a table it changes the given string columns (default: every string column) and\nreturns the new table and a report {step =, columns =, cells_changed =, rows =, example = {before, after}}.",
            returns: "the cleaned table and its report, or the cleaned string",
            errors: "a column that is not a string column.",
            example: example)) { c in
            if let s = c.string(1) {
                let o = try c.options(2, allowed: extraOptions)
                c.push(try make(o)(s))
                return 1
            }
            let t = try DataLua.table(c, 1, "t")
            let o = try c.options(3, allowed: extraOptions)
            let (out, rep) = try Clean.mapStrings(t, columns: try optColumns(c, 2), step: name, try make(o))
            c.push(out)
            try pushReport(c, rep)
            return 2
        }
    }

    static func kinds(_ o: LuaOptions) throws -> [String] {
        guard let k = try o.stringArray("kinds") else { return PII.kinds }
        for x in k where !PII.kinds.contains(x) {
            var msg = "bad option 'kinds' (unknown kind '\(x)'"
            if let h = closestName(x, PII.kinds) { msg += "; did you mean '\(h)'?" }
            throw LuaError(msg + "; expected some of: \(PII.kinds.joined(separator: ", ")))")
        }
        return k
    }

    static func patterns(_ c: LuaCall, _ o: LuaOptions) throws -> [PII.Pattern] {
        try DataLua.stringMap(c, o, "patterns").sorted { $0.key < $1.key }.map { try PII.Pattern(name: $0.key.lowercased(), pattern: $0.value) }
    }

    static func install(_ vm: LuaVM) throws {
        let m = vm.module("data", summary: "")

        textStep(m, "normalize_whitespace", "Trims text and collapses every run of white space (line breaks, tabs, no-break spaces) to one space.",
                 details: "Zero-width spaces and byte-order marks count as white space.",
                 example: ex + "local t2, report = data.normalize_whitespace(t, \"text\")\nprint(t2:column(\"text\")[1], report.cells_changed)\nprint(data.normalize_whitespace(\"  a \\n\\t b \"))") { _ in
            { Clean.normalizeWhitespace($0) }
        }
        textStep(m, "nfkc", "Unicode NFKC normalization: compatibility characters folded (ﬁ -> fi, full-width -> ASCII, ① -> 1), accents composed.",
                 details: "Text that is plain ASCII is left as is without work.",
                 example: ex + "print(data.nfkc(t, \"text\"):column(\"text\")[2])\nprint(data.nfkc(\"Ｌａｔｈｅ ①\"))") { _ in
            { Clean.nfkc($0) }
        }
        textStep(m, "lower", "Lower-cases text (Unicode aware).", details: "",
                 example: ex + "print(data.lower(\"ÄBC Straße\"))") { _ in
            { Clean.lower($0) }
        }
        textStep(m, "strip_html", "Removes HTML tags, comments, script and style elements, and decodes character references (&amp;, &#39;).",
                 details: "Block tags (p, br, div, li, ...) become a space so words do not run together; inline tags\n(b, i, a, span, ...) vanish. A '<' that does not start a tag (\"a < b\", \"<3\") is kept.",
                 example: ex + "print(data.strip_html(\"<p>Hi&nbsp;<b>there</b></p><script>x()</script>\"))") { _ in
            { Clean.stripHTML($0) }
        }
        textStep(m, "strip_urls", "Removes URLs (http, https, ftp and www. addresses), or replaces them with `replace`.",
                 details: "Trailing sentence punctuation is not part of a URL; a closing parenthesis is, when the URL\nopened one.",
                 example: ex + "print(data.strip_urls(\"see https://example.com/a?b=1. thanks\", {replace = \"[URL]\"}))",
                 extraOptions: ["replace"]) { o in
            let rep = try o.string("replace", "")
            return { Clean.stripURLs($0, replacement: rep) }
        }

        m.function("drop_missing", Doc(
            "Drops rows with a missing value in any of the given columns (default: any column).",
            signature: "data.drop_missing(t, [columns]) -> DataTable, report",
            returns: "the table and a report {step =, columns =, rows_dropped =, rows =}",
            errors: "no such column.",
            example: ex + "local t2, r = data.drop_missing(t, \"text\")\nprint(#t2, r.rows_dropped)")) { c in
            let t = try DataLua.table(c, 1, "t")
            let (out, rep) = try Clean.dropMissing(t, columns: try optColumns(c, 2))
            c.push(out)
            try pushReport(c, rep)
            return 2
        }

        m.function("filter_length", Doc(
            "Keeps rows whose text length is within [min, max], in characters, words, or tokens.",
            signature: "data.filter_length(t, column, {min = nil, max = nil, unit = \"chars\", count = nil}) -> DataTable, report",
            details: "unit = \"chars\" counts characters, \"words\" runs of non-white-space, and \"tokens\" calls\ncount(text) for each value (e.g. function(s) return #tok:encode(s) end). Missing values are\ndropped.",
            returns: "the table and a report {step =, rows_dropped =, rows =}",
            errors: "a column that is not a string column; unit = \"tokens\" without count.",
            example: ex + "local t2, r = data.filter_length(t, \"text\", {min = 12})\nprint(#t2, r.rows_dropped)\nprint(#data.filter_length(t, \"text\", {max = 2, unit = \"words\"}))")) { c in
            let t = try DataLua.table(c, 1, "t")
            let col = try c.checkString(2, "column")
            let o = try c.options(3, allowed: ["min", "max", "unit", "count"])
            let (out, rep) = try lengthFilter(c, t, col, o, countKey: "count")
            c.push(out)
            try pushReport(c, rep)
            return 2
        }

        m.function("clean", Doc(
            "Runs cleaning steps in a fixed order and reports what each changed.",
            signature: "data.clean(t, {columns = nil, drop_missing = false, strip_html = false, strip_urls = false, nfkc = true, lower = false, whitespace = true, min_length = nil, max_length = nil, length_unit = \"chars\", count = nil, filter = nil, quiet = false}) -> DataTable, reports",
            details: """
            Steps, in this order, each only when asked: drop_missing (true = the text columns, or a
            list of columns), strip_html, strip_urls, nfkc, lower, whitespace (trim and collapse),
            a length filter (min_length / max_length on the first text column, in length_unit
            "chars", "words" or "tokens" with count(text)), then filter(row) -> boolean, your own
            rule. Text steps work on `columns` (default: every string column). Unless quiet, a
            summary is printed: one line per step with rows dropped or cells changed and an
            example of a change. The per-step functions (data.strip_html, ...) do one step each.
            """,
            returns: "the cleaned table, and an array of step reports {step =, cells_changed =, rows_dropped =, rows =, example =}",
            errors: "a column that is not a string column; errors raised by filter or count.",
            example: ex + "local clean, reports = data.clean(t, {drop_missing = true, strip_html = true, lower = true})\nprint(clean)\nprint(reports[1].rows_dropped)")) { c in
            var t = try DataLua.table(c, 1, "t")
            let o = try c.options(2, allowed: ["columns", "drop_missing", "strip_html", "strip_urls", "nfkc", "lower", "whitespace",
                                               "min_length", "max_length", "length_unit", "count", "filter", "quiet"])
            let cols = try Clean.stringColumns(t, try DataLua.names(o, "columns"))
            let before = t.rowCount
            var reports: [CleanReport] = []
            // drop_missing: true or a list
            let dmType = o.push("drop_missing"); lp_pop(c.L, 1)
            if dmType == LUA_TBOOLEAN {
                if try o.bool("drop_missing") == true {
                    let (x, r) = try Clean.dropMissing(t, columns: cols); t = x; reports.append(r)
                }
            } else if dmType != LUA_TNIL {
                guard let list = try o.stringArray("drop_missing") else { throw LuaError("bad option 'drop_missing'") }
                let (x, r) = try Clean.dropMissing(t, columns: list); t = x; reports.append(r)
            }
            func step(_ key: String, _ def: Bool, _ name: String, _ f: @escaping @Sendable (String) -> String) throws {
                if try o.bool(key, def) {
                    let (x, r) = try Clean.mapStrings(t, columns: cols, step: name, f); t = x; reports.append(r)
                }
            }
            try step("strip_html", false, "strip_html") { Clean.stripHTML($0) }
            try step("strip_urls", false, "strip_urls") { Clean.stripURLs($0) }
            try step("nfkc", true, "nfkc") { Clean.nfkc($0) }
            try step("lower", false, "lower") { Clean.lower($0) }
            try step("whitespace", true, "normalize_whitespace") { Clean.normalizeWhitespace($0) }
            if o.has("min_length") || o.has("max_length") {
                guard let first = cols.first else { throw LuaError("min_length/max_length need a string column") }
                let (x, r) = try lengthFilter(c, t, first, o, countKey: "count", minKey: "min_length", maxKey: "max_length", unitKey: "length_unit")
                t = x; reports.append(r)
            }
            if o.isFunction("filter") {
                o.push("filter")
                let fi = lua_gettop(c.L)
                DataLua.pushNA(c.L)
                let na = lua_gettop(c.L)
                var keep = [Bool](repeating: false, count: t.rowCount)
                let tt = t
                for r in 0..<tt.rowCount {
                    try c.callLua(fi, nresults: 1) {
                        DataLua.pushRow(c, tt, r, naIndex: na)
                        lua_pushinteger(c.L, lua_Integer(r + 1))
                        return 2
                    }
                    keep[r] = lua_toboolean(c.L, -1) != 0
                    lp_pop(c.L, 1)
                }
                lua_settop(c.L, fi - 1)
                let x = try t.filter(keep)
                var r = CleanReport(step: "filter", columns: [])
                r.rowsDropped = t.rowCount - x.rowCount
                r.rows = x.rowCount
                t = x; reports.append(r)
            } else if o.has("filter") {
                o.push("filter")
                let d = c.describe(-1)
                lp_pop(c.L, 1)
                throw LuaError("bad option 'filter' (expected function, got \(d))")
            }
            if !(try o.bool("quiet", false)) {
                var text = "data.clean: \(before) -> \(t.rowCount) rows"
                for r in reports { text += "\n  " + reportLine(r) }
                Output.write(text + "\n")
            }
            c.push(t)
            try c.newTable(array: reports.count)
            for (k, r) in reports.enumerated() {
                try pushReport(c, r)
                lua_rawseti(c.L, -2, lua_Integer(k + 1))
            }
            return 2
        }

        m.function("find_pii", Doc(
            "Finds personal data in a text: e-mail addresses, phone numbers, card numbers, IBANs, IP addresses, URLs, your patterns.",
            signature: "data.find_pii(text, {kinds = {...all...}, patterns = {name = regex}}) -> {{kind =, text =, first =, last =}, ...}",
            details: """
            kinds: email, url, iban (country length and mod-97 checksum), card (13-19 digits, a known
            issuer prefix, Luhn checksum), ipv6, ipv4, phone (+country code in any common layout,
            00 prefix, (area) numbers, North American 555-123-4567, and national numbers starting
            with 0 written in groups; plain digit runs without + are not phones). patterns are
            regular expressions (ICU syntax); they win overlaps, then kinds in the order listed.
            first and last are 1-based byte positions, so text:sub(first, last) is the match.
            """,
            returns: "an array of matches in text order",
            errors: "an unknown kind; an invalid pattern.",
            example: "for _, m in ipairs(data.find_pii(\"Mail ann@example.com or call +44 20 7946 0958\")) do\n  print(m.kind, m.text, m.first, m.last)\nend")) { c in
            let s = try c.checkString(1, "text")
            let o = try c.options(2, allowed: ["kinds", "patterns"])
            let ms = PII.find(s, kinds: try kinds(o), patterns: try patterns(c, o))
            return try c.ret(.array(ms.map { m in
                .record([("kind", .string(m.kind)), ("text", .string(m.text)), ("first", .int(m.range.lowerBound + 1)), ("last", .int(m.range.upperBound))])
            }))
        }

        m.function("mask_pii", Doc(
            "Masks personal data in a text or a table with typed placeholders ([EMAIL]) or consistent pseudonyms ([EMAIL_1]).",
            signature: "data.mask_pii(text_or_table, {kinds = {...all...}, pseudonyms = false, patterns = {name = regex}, columns = nil}) -> masked, report",
            details: """
            Finds what data.find_pii finds (see there for each kind's rules) and replaces each match
            with [KIND], or with pseudonyms = true [KIND_n], where the same value (e-mail case
            folded, numbers by their digits) gets the same n everywhere in the call, so
            conversations stay readable. Custom patterns are named by their key ([EMPLOYEE_ID]).
            On a table, every string column (or `columns`) is masked.
            """,
            returns: "the masked text or table, and a report of counts per kind {email = n, phone = n, ...}",
            errors: "an unknown kind; an invalid pattern; a column that is not a string column.",
            example: "local text, report = data.mask_pii(\"Write to ann@example.com, ANN@example.com or bob@example.org\", {pseudonyms = true})\nprint(text)\nprint(report.email)\nprint((data.mask_pii(\"card 4111 1111 1111 1111, not 4111 1111 1111 1112\")))")) { c in
            let o = try c.options(2, allowed: ["kinds", "pseudonyms", "patterns", "columns"])
            let masker = try PIIMasker(kinds: try kinds(o), patterns: try patterns(c, o), pseudonyms: try o.bool("pseudonyms", false))
            if let s = c.string(1) {
                c.push(masker.mask(s))
            } else if let t = c.object(1, DataTable.self) {
                let bar = ProgressBar("mask_pii", total: nil, unit: "cells")
                let (out, _) = try masker.mask(t, columns: try DataLua.names(o, "columns")) { done, total in
                    bar.total = total
                    bar.update(done)
                }
                bar.finish()
                c.push(out)
            } else {
                throw c.argError(1, "text_or_table", expected: "a string or a DataTable")
            }
            try c.push(.record(masker.counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
            return 2
        }

        m.function("dedupe", Doc(
            "Removes duplicate texts: exact (after normalization) and, with near =, near duplicates by MinHash LSH.",
            signature: "data.dedupe(t, column, {near = nil, exact = true, unit = \"char\", ngram = 5, num_perm = 128, verify = \"jaccard\", seed = 1, mark = false}) -> DataTable, report",
            details: """
            Texts are normalized (NFKC, lower case, white space collapsed); equal normalized texts are
            exact duplicates. near = 0.8 also joins texts whose shingle sets have Jaccard similarity
            >= 0.8: shingles are character 5-grams (unit = "word": word 3-grams; ngram sets the size),
            MinHash signatures of num_perm values feed LSH bands tuned to the threshold, and every
            candidate pair is checked with the true Jaccard similarity (verify = "minhash" uses the
            signature estimate instead). Joined rows form clusters (A~B and B~C make one cluster);
            the first row of each cluster is kept. Missing texts are never duplicates. With
            mark = true every row is kept and a column duplicate_of gives the kept row's number
            (NA for rows that are kept). The report lists the clusters (1-based row numbers).
            """,
            returns: "the de-duplicated table and a report {rows_before =, rows_after =, exact_duplicates =, near_duplicates =, clusters = {{rows...}...}, examples =, bands =, rows_per_band =, candidate_pairs =, verified_pairs =}",
            errors: "a column that is not a string column; near outside (0, 1].",
            example: "local t = data.from({text = {\"Where is my order?\", \"where is my  ORDER?\", \"Where is my order??\", \"Cancel my plan\"}})\nlocal d, report = data.dedupe(t, \"text\", {near = 0.7})\nprint(d)\nprint(report.exact_duplicates, report.near_duplicates, #report.clusters)")) { c in
            let t = try DataLua.table(c, 1, "t")
            let column = try c.checkString(2, "column")
            let o = try c.options(3, allowed: ["near", "exact", "unit", "ngram", "num_perm", "verify", "seed", "mark"])
            let opts = try dedupeOptions(o)
            let bar = ProgressBar("dedupe", total: t.rowCount, unit: "rows")
            let (out, r) = try Dedupe.dedupe(t, column: column, options: opts) { done, total in
                bar.total = total
                bar.update(done)
            }
            bar.finish()
            if try o.bool("mark", false) {
                let dup: [Int64?] = r.clusterOf.enumerated().map { $0.offset == $0.element ? nil : Int64($0.element + 1) }
                c.push(try t.setting("duplicate_of", Column(integers: dup)))
            } else {
                c.push(out)
            }
            let col = try t.column(column)
            var examples: [LuaValue] = []
            for cl in r.clusters.prefix(3) {
                examples.append(.strings(cl.prefix(4).map { col.string($0) ?? "NA" }))
            }
            var f: [(String, LuaValue)] = [
                ("title", .string("dedupe of '\(column)': \(t.rowCount) -> \(out.rowCount) rows")),
                ("rows_before", .int(t.rowCount)), ("rows_after", .int(out.rowCount)),
                ("exact_duplicates", .int(r.exactDuplicates)), ("near_duplicates", .int(r.nearDuplicates)),
                ("clusters", .array(r.clusters.map { .ints($0.map { $0 + 1 }) })),
                ("examples", .array(examples)),
            ]
            if opts.near != nil {
                f += [("bands", .int(r.bands)), ("rows_per_band", .int(r.rowsPerBand)),
                      ("candidate_pairs", .int(r.candidatePairs)), ("verified_pairs", .int(r.verifiedPairs))]
            }
            try c.push(.record(f))
            DataLua.setReportMeta(c)
            return 2
        }
    }

    static func dedupeOptions(_ o: LuaOptions) throws -> Dedupe.Options {
        var opts = Dedupe.Options()
        let nearType = o.push("near"); lp_pop(o.call.L, 1)
        if nearType == LUA_TBOOLEAN {
            if try o.bool("near") == true { opts.near = 0.8 }
        } else if let near = try o.number("near") {
            guard near > 0 && near <= 1 else { throw LuaError("bad option 'near' (expected a Jaccard threshold in (0, 1], got \(fmt(near)))") }
            opts.near = near
        }
        opts.exact = try o.bool("exact", true)
        opts.unit = try o.choice("unit", ["char", "word"], "char") == "word" ? .word : .char
        if let n = try o.int("ngram") {
            guard n >= 1 && n <= 64 else { throw LuaError("bad option 'ngram' (expected an integer from 1 to 64, got \(n))") }
            opts.ngram = n
        }
        let np = try o.int("num_perm", 128)
        guard np >= 8 && np <= 1024 && np % 8 == 0 else { throw LuaError("bad option 'num_perm' (expected a multiple of 8 from 8 to 1024, got \(np))") }
        opts.numPerm = np
        opts.verify = try o.choice("verify", ["jaccard", "minhash"], "jaccard") == "minhash" ? .minhash : .jaccard
        if let s = try o.int("seed") { opts.seed = UInt64(bitPattern: Int64(s)) }
        return opts
    }

    static func lengthFilter(_ c: LuaCall, _ t: DataTable, _ column: String, _ o: LuaOptions, countKey: String,
                             minKey: String = "min", maxKey: String = "max", unitKey: String = "unit") throws -> (DataTable, CleanReport) {
        let lo = try o.int(minKey), hi = try o.int(maxKey)
        var unitName = try o.choice(unitKey, ["chars", "words", "tokens"], "chars")
        let hasCount = o.isFunction(countKey)
        if o.has(countKey) && !hasCount {
            o.push(countKey)
            let d = c.describe(-1)
            lp_pop(c.L, 1)
            throw LuaError("bad option '\(countKey)' (expected function, got \(d))")
        }
        if hasCount && !o.has(unitKey) { unitName = "tokens" }
        let unit = Clean.LengthUnit(rawValue: unitName) ?? .chars
        if unit == .tokens && !hasCount {
            throw LuaError("bad option '\(unitKey)' (\"tokens\" needs \(countKey) = function(text) return number_of_tokens end)")
        }
        var counter: ((String) throws -> Int)? = nil
        var fi: Int32 = 0
        if hasCount {
            o.push(countKey)
            fi = lua_gettop(c.L)
            counter = { s in
                try c.callLua(fi, nresults: 1) { c.push(s); return 1 }
                defer { lp_pop(c.L, 1) }
                var v: Int64 = 0
                guard lua_type(c.L, -1) == LUA_TNUMBER, lp_isinteger_value(c.L, -1, &v) != 0 else {
                    throw LuaError("\(countKey) must return an integer, got \(c.describe(-1))")
                }
                return Int(v)
            }
        }
        defer { if fi != 0 { lua_settop(c.L, fi - 1) } }
        return try Clean.filterLength(t, column: column, min: lo, max: hi, unit: unit, count: counter)
    }
}
