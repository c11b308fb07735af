import CLua
import CLuaShim
import LatheCore

/// data.clean and its steps, PII finding and masking, and de-duplication.
enum DataCleanFunctions {
    static let all = [normalizeWhitespace, nfkc, lower, stripHTML, stripURLs, dropMissing, filterLength, clean, findPII, maskPII, dedupe]

    static let ex = "local t = data.from({text = {\"  Hello <b>World</b>  \", \"ﬁne  print\", data.NA}, label = {\"a\", \"b\", \"a\"}})\n"
    static let texts = LuaParam("t", .either([.object("DataTable"), .string, .table]), "a table, one text, or an array of texts (such as t:column(name))")
    static let columns = LuaParam("columns", .strings, optional: true, "the string columns of a table to change (default: all); leave it out for texts")
    static let cleanReport = "the table and a CleanReport {step=, columns=, cells_changed=, rows_dropped=, rows=, example = {before, after}}"

    /// Runs a step on argument 1 and pushes the result in the form it came: a table, one text,
    /// or an array of texts (which goes through a one-column table). The step's report is
    /// returned unless the input was one text.
    static func onTexts<R>(_ c: LuaCall, columns: [String]?, text: (String) throws -> String,
                           table: (DataTable, [String]?) throws -> (DataTable, R)) throws -> R? {
        if let s = c.string(1) {
            c.push(try text(s))
            return nil
        }
        if let t = c.object(1, DataTable.self) {
            let (out, r) = try table(t, columns)
            c.push(out)
            return r
        }
        let (out, r) = try table(try DataTable(names: ["text"], columns: [try DataLua.column(c, 1, "t")]), ["text"])
        try DataLua.pushColumn(c, try out.column("text"))
        return r
    }

    /// For a text or texts the options follow at once (`data.strip_urls(s, {replace = ...})`):
    /// they move to where the declaration reads them, after the absent columns.
    static func optionsAfterTexts(_ c: LuaCall) {
        if c.object(1, DataTable.self) == nil && c.type(2) == LUA_TTABLE && c.isNoneOrNil(3) {
            lua_settop(c.L, 2)
            lua_pushnil(c.L)
            lp_insert(c.L, 2)
        }
    }

    static func fields(_ r: CleanReport) -> [(String, LuaValue)] {
        [("step", .string(r.step)), ("columns", .strings(r.columns)), ("cells_changed", .int(r.cellsChanged)),
         ("rows_dropped", .int(r.rowsDropped)), ("rows", .int(r.rows))] + (r.example.map { [("example", .strings($0))] } ?? [])
    }
    static func pushReport(_ c: LuaCall, _ r: CleanReport) throws { try c.pushRecord(fields(r), name: "CleanReport") }

    /// A text step: on a table the new table and its report, on a text the text, on texts the array and the report.
    static func textStep(_ name: String, _ summary: String, details: String = "", options: [LuaOpt] = [], example: String,
                         _ make: @escaping (DeclaredOptions) throws -> @Sendable (String) -> String) -> LuaFunc {
        LuaFunc(name, summary, params: [texts, columns], options: options, returns: cleanReport + "; or the text; or the array of texts and the report",
                details: details, errors: "a column that is not a string column.", example: example) { c in
            optionsAfterTexts(c)
            let f = try make(try c.opts())
            guard let r = try onTexts(c, columns: try DataLua.names(c, 2, "columns"), text: f, table: { t, cols in try Clean.mapStrings(t, columns: cols, step: name, f) })
            else { return 1 }
            try pushReport(c, r)
            return 2
        }
    }

    static let normalizeWhitespace = textStep(
        "normalize_whitespace", "Trims text and collapses every run of white space (line breaks, tabs, no-break spaces) to one space.",
        details: "Zero-width spaces and byte-order marks count as white space.",
        example: ex + "local t2, report = data.normalize_whitespace(t, \"text\")\nprint(t2:column(\"text\")[1], report.cells_changed)\nprint(data.normalize_whitespace(\"  a \\n\\t b \"))"
    ) { _ in { Clean.normalizeWhitespace($0) } }

    static let nfkc = textStep(
        "nfkc", "Unicode NFKC normalization: compatibility characters folded (ﬁ -> fi, full-width -> ASCII, ① -> 1), accents composed.",
        example: ex + "print(data.nfkc(t, \"text\"):column(\"text\")[2])\nprint(data.nfkc(\"Ｌａｔｈｅ ①\"))\nprint(data.nfkc({\"ﬁ\", \"①\"}))"
    ) { _ in { Clean.nfkc($0) } }

    static let lower = textStep(
        "lower", "Lower-cases text (Unicode aware).",
        example: ex + "print(data.lower(\"ÄBC Straße\"))"
    ) { _ in { Clean.lower($0) } }

    static let stripHTML = textStep(
        "strip_html", "Removes HTML tags, comments, script and style elements, and decodes character references (&amp;, &#39;).",
        details: "Block tags (p, br, div, li, ...) become a space so words do not run together; inline tags (b, i, a, span, ...)\nvanish. A '<' that does not start a tag (\"a < b\", \"<3\") is kept.",
        example: ex + "print(data.strip_html(\"<p>Hi&nbsp;<b>there</b></p><script>x()</script>\"))"
    ) { _ in { Clean.stripHTML($0) } }

    static let stripURLs = textStep(
        "strip_urls", "Removes URLs (http, https, ftp and www. addresses), or replaces them with `replace`.",
        details: "Trailing sentence punctuation is not part of a URL; a closing parenthesis is, when the URL opened one.",
        options: [LuaOpt("replace", .string, .string(""), "the text put in place of each URL")],
        example: ex + "print(data.strip_urls(\"see https://example.com/a?b=1. thanks\", {replace = \"[URL]\"}))"
    ) { o in
        let replacement = try o.string("replace")
        return { Clean.stripURLs($0, replacement: replacement) }
    }

    static let dropMissing = LuaFunc(
        "drop_missing", "Drops rows with a missing value in any of the given columns (default: any column).",
        params: [DataLua.t, LuaParam("columns", .strings, optional: true, "the columns to look at (default: all)")],
        returns: cleanReport,
        errors: "no such column.",
        example: ex + "local t2, r = data.drop_missing(t, \"text\")\nprint(#t2, r.rows_dropped)"
    ) { c in
        let (out, r) = try Clean.dropMissing(try c.checkObject(1, DataTable.self), columns: try DataLua.names(c, 2, "columns"))
        c.push(out)
        try pushReport(c, r)
        return 2
    }

    static let lengthUnit = LuaKind.choice(["chars", "words", "tokens"])
    static let unitDefault = LuaDefault.computed("\"tokens\" with count, else \"chars\"")
    static let countOpt = LuaOpt("count", .function, .none, "count(text) -> the number of tokens, e.g. function(s) return #tok:encode(s) end")

    /// The `count` option: count(text) -> an integer.
    static func counter(_ c: LuaCall, _ o: DeclaredOptions) throws -> ((String) throws -> Int)? {
        try DataLua.function(c, o, "count", { (s: String) in c.push(s); return 1 }) { _ in
            var v: Int64 = 0
            guard lua_type(c.L, -1) == LUA_TNUMBER, lp_isinteger_value(c.L, -1, &v) != 0 else { throw LuaError("count must return an integer, got \(c.describe(-1))") }
            return Int(v)
        }
    }

    static func unit(_ o: DeclaredOptions, _ key: String) throws -> Clean.LengthUnit? {
        try o.stringIfGiven(key).flatMap { Clean.LengthUnit(rawValue: $0) }
    }

    static let filterLength = LuaFunc(
        "filter_length", "Keeps rows whose text length is within [min, max], in characters, words, or tokens.",
        params: [DataLua.t, LuaParam("column", .string, "a string column")],
        options: [LuaOpt("min", .integer(0...Int.max), .none, "the shortest length kept"), LuaOpt("max", .integer(0...Int.max), .none, "the longest length kept"),
                  LuaOpt("unit", lengthUnit, unitDefault, "chars: characters; words: runs of non-white-space; tokens: count(text)"), countOpt],
        returns: "the table and a CleanReport {step=, rows_dropped=, rows=}", details: "Missing values are dropped.",
        errors: "a column that is not a string column; unit = \"tokens\" without count.",
        example: ex + "local t2, r = data.filter_length(t, \"text\", {min = 12})\nprint(#t2, r.rows_dropped)\nprint(#data.filter_length(t, \"text\", {max = 2, unit = \"words\"}))"
    ) { c in
        let o = try c.opts()
        let count = try counter(c, o)
        let (out, r) = try Clean.filterLength(try c.checkObject(1, DataTable.self), column: try c.checkString(2, "column"),
                                              min: try o.intIfGiven("min"), max: try o.intIfGiven("max"),
                                              unit: try Clean.lengthUnit(try unit(o, "unit"), count: count), count: count)
        c.push(out)
        try pushReport(c, r)
        return 2
    }

    static let clean = LuaFunc(
        "clean", "Runs cleaning steps in a fixed order and reports what each changed.",
        params: [DataLua.t],
        options: [LuaOpt("columns", .strings, .computed("every string column"), "the text columns the text steps and the length filter work on"),
                  LuaOpt("drop_missing", .either([.boolean, .strings]), .bool(false), "drop rows missing a text (true) or a value in the columns listed"),
                  LuaOpt("strip_html", .boolean, .bool(Clean.Steps().stripHTML), "remove HTML (data.strip_html)"),
                  LuaOpt("strip_urls", .boolean, .bool(Clean.Steps().stripURLs), "remove URLs (data.strip_urls)"),
                  LuaOpt("nfkc", .boolean, .bool(Clean.Steps().nfkc), "NFKC normalization (data.nfkc)"),
                  LuaOpt("lower", .boolean, .bool(Clean.Steps().lower), "lower-case (data.lower)"),
                  LuaOpt("whitespace", .boolean, .bool(Clean.Steps().whitespace), "trim and collapse white space (data.normalize_whitespace)"),
                  LuaOpt("min_length", .integer(0...Int.max), .none, "drop rows whose first text column is shorter"),
                  LuaOpt("max_length", .integer(0...Int.max), .none, "drop rows whose first text column is longer"),
                  LuaOpt("length_unit", lengthUnit, unitDefault, "the unit of min_length and max_length"), countOpt,
                  LuaOpt("filter", .function, .none, "filter(row, i) -> boolean: your own rule, run last"),
                  LuaOpt("quiet", .boolean, .bool(false), "print no summary")],
        returns: "the cleaned table, and an array of CleanReports {step=, cells_changed=, rows_dropped=, rows=, example=}",
        details: "The steps run in the order of the options above, each only when asked. Unless quiet, a summary is printed: one line\nper step with rows dropped or cells changed and an example of a change.",
        errors: "a column that is not a string column; errors raised by filter or count.",
        example: ex + "local clean, reports = data.clean(t, {drop_missing = true, strip_html = true, lower = true})\nprint(clean)\nprint(reports[1])"
    ) { c in
        let t = try c.checkObject(1, DataTable.self)
        let o = try c.opts()
        var s = Clean.Steps()
        s.columns = try o.stringsIfGiven("columns")
        switch try o.value("drop_missing") {
        case .bool(let on): s.dropMissing = on ? .textColumns : .off
        case .nil: break
        default: s.dropMissing = .columns(try o.strings("drop_missing"))
        }
        (s.stripHTML, s.stripURLs, s.nfkc) = (try o.bool("strip_html"), try o.bool("strip_urls"), try o.bool("nfkc"))
        (s.lower, s.whitespace) = (try o.bool("lower"), try o.bool("whitespace"))
        (s.minLength, s.maxLength, s.lengthUnit) = (try o.intIfGiven("min_length"), try o.intIfGiven("max_length"), try unit(o, "length_unit"))
        s.count = try counter(c, o)
        let filter = try DataLua.function(c, o, "filter", { (t: DataTable, r: Int) in try pushRowAndNumber(c, t, r) }) { _ in lua_toboolean(c.L, -1) != 0 }
        s.filter = filter.map { f in { try f(($0, $1)) } }
        let (out, reports) = try Clean.run(t, s)
        if try !o.bool("quiet") { Output.write(Clean.summary(rowsBefore: t.rowCount, out, reports) + "\n") }
        c.push(out)
        try DataLua.pushRecords(c, reports.map(fields), name: "CleanReport")
        return 2
    }

    static func pushRowAndNumber(_ c: LuaCall, _ t: DataTable, _ r: Int) throws -> Int32 {
        try DataTableMethods.pushRow(c, t, r)
        c.push(r + 1)
        return 2
    }

    // MARK: PII

    static let kinds = LuaOpt("kinds", .strings, .strings(PII.kinds), "the kinds to find")
    static let patterns = LuaOpt("patterns", .table, .none, "{name = regex}: your own kinds, ICU regular expressions; they win overlaps")

    static func piiOptions(_ c: LuaCall, _ o: DeclaredOptions) throws -> ([String], [PII.Pattern]) {
        let k = try o.strings("kinds")
        try PII.checkKinds(k)
        return (k, try DataLua.stringMap(c, o, "patterns").map { try PII.Pattern(name: $0.0.lowercased(), pattern: $0.1) })
    }

    static let findPII = LuaFunc(
        "find_pii", "Finds personal data in a text: e-mail addresses, phone numbers, card numbers, IBANs, IP addresses, URLs, your patterns.",
        params: [LuaParam("text", .string, "the text")], options: [kinds, patterns],
        returns: "{PIIMatch {kind=, text=, first=, last=}, ...}: in text order",
        details: """
            kinds: email, url, iban (country length and mod-97 checksum), card (13-19 digits, a known issuer prefix, Luhn
            checksum), ipv6, ipv4, phone (+country code in any common layout, 00 prefix, (area) numbers, North American
            555-123-4567, and national numbers starting with 0 written in groups; plain digit runs without + are not phones).
            first and last are 1-based byte positions, so text:sub(first, last) is the match.
            """,
        errors: "an unknown kind; an invalid pattern.",
        example: "for _, m in ipairs(data.find_pii(\"Mail ann@example.com or call +44 20 7946 0958\")) do\n  print(m.kind, m.text, m.first, m.last)\nend"
    ) { c in
        let (k, p) = try piiOptions(c, try c.opts())
        let matches = PII.find(try c.checkString(1, "text"), kinds: k, patterns: p)
        try DataLua.pushRecords(c, matches.map { m in
            [("kind", .string(m.kind)), ("text", .string(m.text)), ("first", .int(m.range.lowerBound + 1)), ("last", .int(m.range.upperBound))]
        }, name: "PIIMatch")
        return 1
    }

    static let maskPII = LuaFunc(
        "mask_pii", "Masks personal data in a text, an array of texts or a table with placeholders ([EMAIL]) or consistent pseudonyms ([EMAIL_1]).",
        params: [LuaParam("text_or_table", .either([.string, .object("DataTable"), .table]), "one text, an array of texts (such as t:column(name)), or a table")],
        options: [kinds, LuaOpt("pseudonyms", .boolean, .bool(false), "[KIND_n]: the same value gets the same n everywhere in the call"),
                  patterns, LuaOpt("columns", .strings, .computed("every string column"), "the columns of a table to mask")],
        returns: "the masked text, array or table, and a PIIReport of counts per kind {email = n, phone = n, ...}",
        details: "Finds what data.find_pii finds. With pseudonyms, e-mail addresses compare case-folded and numbers by their digits,\nso conversations stay readable. Custom patterns are named by their key ([EMPLOYEE_ID]).",
        errors: "an unknown kind; an invalid pattern; a column that is not a string column.",
        example: "local text, report = data.mask_pii(\"Write to ann@example.com, ANN@example.com or bob@example.org\", {pseudonyms = true})\nprint(text)\nprint(report)\nprint((data.mask_pii(\"card 4111 1111 1111 1111, not 4111 1111 1111 1112\")))"
    ) { c in
        let o = try c.opts()
        let (k, p) = try piiOptions(c, o)
        let masker = try PIIMasker(kinds: k, patterns: p, pseudonyms: try o.bool("pseudonyms"))
        _ = try onTexts(c, columns: try o.stringsIfGiven("columns"), text: { masker.mask($0) }) { t, cols in
            try DataLua.progress("mask_pii", "cells") { try masker.mask(t, columns: cols, progress: $0) }
        }
        try c.pushRecord(masker.counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }, name: "PIIReport")
        return 2
    }

    // MARK: de-duplication

    static let dedupe = LuaFunc(
        "dedupe", "Removes duplicate texts: exact (after normalization) and, with near =, near duplicates by MinHash LSH.",
        params: [DataLua.t, LuaParam("column", .string, "the text column")],
        options: [LuaOpt("near", .either([.number(min: 0, max: 1, above: true), .boolean]), .none, "also join texts whose Jaccard similarity is at least this (true: \(fmtShort(Dedupe.defaultNear)))"),
                  LuaOpt("exact", .boolean, .bool(Dedupe.Options().exact), "join texts equal after normalization"),
                  LuaOpt("unit", .choice(["char", "word"]), .string(Dedupe.Options().unit.rawValue), "shingles of characters or of words"),
                  LuaOpt("ngram", .integer(1...64), .computed("5 for char, 3 for word"), "the shingle size"),
                  LuaOpt("num_perm", .integer(8...1024), .int(Dedupe.Options().numPerm), "MinHash values per text (a multiple of 8)"),
                  LuaOpt("verify", .choice(["jaccard", "minhash"]), .string(Dedupe.Options().verify.rawValue), "check candidate pairs with the true Jaccard similarity or the signature estimate"),
                  LuaOpt("seed", .integer(), .int(Int(Dedupe.Options().seed)), "the seed of the MinHash functions"),
                  LuaOpt("mark", .boolean, .bool(false), "keep every row and add a column duplicate_of: the kept row's number (NA for kept rows)")],
        returns: "the de-duplicated table and a DedupeReport {rows_before=, rows_after=, exact_duplicates=, near_duplicates=, clusters=, examples=, bands=, rows_per_band=, candidate_pairs=, verified_pairs=}",
        details: """
            Texts are normalized (NFKC, lower case, white space collapsed); equal normalized texts are exact duplicates.
            Near duplicates: shingle sets (character 5-grams, or word 3-grams) whose MinHash signatures share an LSH band
            tuned to the threshold become candidates, and each candidate pair is verified. Joined rows form clusters (A~B
            and B~C make one cluster); the first row of each is kept. Missing texts are never duplicates. The report lists
            the clusters as 1-based row numbers.
            """,
        errors: "a column that is not a string column.",
        example: "local t = data.from({text = {\"Where is my order?\", \"where is my  ORDER?\", \"Where is my order??\", \"Cancel my plan\"}})\nlocal d, report = data.dedupe(t, \"text\", {near = 0.7})\nprint(d)\nprint(report)"
    ) { c in
        let t = try c.checkObject(1, DataTable.self), column = try c.checkString(2, "column")
        let o = try c.opts()
        var d = Dedupe.Options()
        d.near = try DataLua.near(o)
        d.exact = try o.bool("exact")
        d.unit = try o.string("unit") == "word" ? .word : .char
        d.ngram = try o.intIfGiven("ngram")
        d.numPerm = try o.int("num_perm")
        d.verify = try o.string("verify") == "minhash" ? .minhash : .jaccard
        d.seed = UInt64(bitPattern: Int64(try o.int("seed")))
        let (out, r) = try DataLua.progress("dedupe", "rows") { try Dedupe.dedupe(t, column: column, options: d, progress: $0) }
        c.push(try o.bool("mark") ? try Dedupe.marked(t, r) : out)
        var f: [(String, LuaValue)] = [
            ("rows_before", .int(t.rowCount)), ("rows_after", .int(out.rowCount)), ("exact_duplicates", .int(r.exactDuplicates)),
            ("near_duplicates", .int(r.nearDuplicates)), ("clusters", .array(r.clusters.map { .ints($0.map { $0 + 1 }) })),
            ("examples", .array(r.examples(try t.column(column)).map { .strings($0) })),
        ]
        if d.near != nil {
            f += [("bands", .int(r.bands)), ("rows_per_band", .int(r.rowsPerBand)), ("candidate_pairs", .int(r.candidatePairs)), ("verified_pairs", .int(r.verifiedPairs))]
        }
        try DataLua.pushReport(c, "dedupe of '\(column)': \(t.rowCount) -> \(out.rowCount) rows", f, name: "DedupeReport")
        return 2
    }
}
