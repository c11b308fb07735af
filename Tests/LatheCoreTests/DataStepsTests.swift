import Foundation
import LatheCore
import Testing

/// The table-level steps `data.*` calls, as a Swift user of LatheCore calls them: splits and
/// folds by column name with their defaults, re-sampling targets, marked duplicates, the
/// cleaning pipeline, and the small parsers and checks the binding used to own.
@Suite struct DataStepsTests {
    /// 100 rows: text (row 1 and 2 near duplicates), label a/b/c in 7/2/1 shares, 25 customers of 4 rows.
    func tickets() throws -> DataTable {
        var text: [String?] = [], label: [String?] = [], customer: [Int64?] = []
        for i in 1...100 {
            text.append("ticket \(i) about an order that did not arrive in time")
            label.append(i % 10 < 7 ? "a" : (i % 10 < 9 ? "b" : "c"))
            customer.append(Int64((i - 1) / 4))
        }
        text[1] = text[0]! + "!"
        return try DataTable(names: ["text", "label", "customer"], columns: [Column(strings: text), Column(strings: label), Column(integers: customer)])
    }

    func sizes(_ parts: [(name: String, table: DataTable)]) -> [String] { parts.map { "\($0.name) \($0.table.rowCount)" } }

    @Test func splitDefaultsAndParts() throws {
        let t = try tickets()
        var g = RandomGenerator(seed: 1)
        #expect(sizes(try Split.split(t, Split.TableOptions(), rng: &g)) == ["train 80", "val 10", "test 10"])
        var o = Split.TableOptions()
        o.fractions = ["test": 0.25, "train": 0.75]
        #expect(sizes(try Split.split(t, o, rng: &g)) == ["train 75", "test 25"])
        o.fractions = ["train": 0.5, "tset": 0.5]
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Split.split(t, o, rng: &g2) } == "no split part 'tset' (parts: train, val, test)")
        o.fractions = ["train": 0.5, "test": 0.4]
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Split.split(t, o, rng: &g2) }.contains("sum to 1"))
        var near = Split.TableOptions()
        near.near = 0.5
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Split.split(t, near, rng: &g2) }.contains("near applies with dedupe"))
    }

    @Test func splitIsSeededStratifiedGroupedAndDuplicateAware() throws {
        let t = try tickets()
        var o = Split.TableOptions()
        o.fractions = ["train": 0.7, "val": 0.2, "test": 0.1]
        o.stratify = "label"
        var g1 = RandomGenerator(seed: 2), g2 = RandomGenerator(seed: 2)
        let a = try Split.split(t, o, rng: &g1), b = try Split.split(t, o, rng: &g2)
        #expect(try a[2].table.column("text").stringValues! == b[2].table.column("text").stringValues!)
        let testLabels = try a[2].table.valueCounts("label")
        guard case .integer(let counts) = try testLabels.column("count").values else { Issue.record("type"); return }
        #expect(counts == [7, 2, 1])
        // groups never span parts, and the near-duplicate pair stays in one part
        var gd = Split.TableOptions()
        gd.fractions = ["train": 0.5, "test": 0.5]
        gd.group = "customer"
        gd.dedupe = "text"
        gd.near = 0.9
        for seed in 1...5 {
            var g = RandomGenerator(seed: UInt64(seed))
            let parts = try Split.split(t, gd, rng: &g)
            guard case .integer(let train) = try parts[0].table.column("customer").values,
                  case .integer(let test) = try parts[1].table.column("customer").values else { Issue.record("type"); return }
            #expect(Set(train).isDisjoint(with: Set(test)))
            let trainTexts = try parts[0].table.column("text").stringValues!.compactMap { $0 }
            let first = try t.column("text").string(0)!, second = try t.column("text").string(1)!
            #expect(trainTexts.contains(first) == trainTexts.contains(second))
        }
        // rows 1 and 2 are one group of customer 0 anyway: without groups, dedupe alone joins them
        let groups = try Split.rowGroups(t, group: nil, dedupe: "text", near: 0.9)!
        #expect(groups[0] == groups[1] && groups[1] != groups[2])
        #expect(try Split.rowGroups(t, group: nil, dedupe: "text", near: nil)![0] != groups[2])
        #expect(try Split.rowGroups(t, group: nil, dedupe: nil, near: nil) == nil)
    }

    @Test func kfoldOfTables() throws {
        let t = try tickets()
        var g = RandomGenerator(seed: 3)
        let folds = try Split.kfold(t, k: 4, stratify: "label", group: nil, rng: &g)
        #expect(folds.count == 4)
        var seen = Set<String>()
        for f in folds {
            #expect(f.train.rowCount + f.val.rowCount == 100)
            for s in try f.val.column("text").stringValues! { #expect(seen.insert(s!).inserted) }
        }
        #expect(seen.count == 100)
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Split.kfold(t, k: 4, stratify: "lable", rng: &g2) }.contains("did you mean 'label'?"))
    }

    @Test func resampleTargetsByName() throws {
        let t = try DataTable(names: ["y"], columns: [Column(integers: [1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3])])
        func counts(_ target: Split.Target, over: Bool) throws -> [Int64] {
            var g = RandomGenerator(seed: 1)
            let out = try Split.resample(t, label: "y", target: target, over: over, rng: &g)
            guard case .integer(let c) = try out.groupCount(["y"]).column("count").values else { return [] }
            return c
        }
        #expect(try counts(.largest, over: true) == [6, 6, 6])
        #expect(try counts(.mean, over: true) == [6, 4, 4])
        #expect(try counts(.mean, over: false) == [4, 2, 4])
        #expect(try counts(.smallest, over: false) == [2, 2, 2])
        #expect(try counts(.auto, over: false) == [2, 2, 2])
        // a number key names an integer label (Lua gives 2.0 for 2 in some tables)
        #expect(try counts(.counts([.number(2): 5]), over: true) == [6, 5, 4])
        #expect(Split.labelKey(.integer(2), for: Column(numbers: [2.0])) == .number(2))
        #expect(Split.labelKey(.number(2.5), for: Column(integers: [2])) == .number(2.5))
    }

    @Test func dedupeMarksAndExamples() throws {
        let t = try DataTable(names: ["text"], columns: [Column(strings: ["Hi there", "hi  THERE", "bye", nil, "Bye"])])
        let (out, r) = try Dedupe.dedupe(t, column: "text")
        #expect(out.rowCount == 3)
        let marked = try Dedupe.marked(t, r)
        #expect(marked.rowCount == 5)
        guard case .integer(let of) = try marked.column("duplicate_of").values else { Issue.record("type"); return }
        let missing = try marked.column("duplicate_of").missing
        #expect((0..<5).map { missing[$0] ? nil : of[$0] } == [nil, 1, nil, nil, 3])
        #expect(r.examples(try t.column("text")) == [["Hi there", "hi  THERE"], ["bye", "Bye"]])
        #expect(r.examples(try t.column("text"), clusters: 1, rows: 1) == [["Hi there"]])
    }

    @Test func cleanStepsRunInOrderWithDefaults() throws {
        let t = try DataTable(names: ["text", "n"], columns: [
            Column(strings: ["  <p>Hello&amp;bye</p> ", "ﬁne\u{a0}print", nil, "Visit https://x.io now"]), Column(integers: [1, 2, 3, 4]),
        ])
        let (plain, defaults) = try Clean.run(t, Clean.Steps())
        #expect(defaults.map(\.step) == ["nfkc", "normalize_whitespace"])
        #expect(try plain.column("text").string(1) == "fine print")
        var s = Clean.Steps()
        s.dropMissing = .textColumns
        s.stripHTML = true
        s.stripURLs = true
        s.lower = true
        s.maxLength = 9
        s.filter = { t, r in try t.column("n").double(r) != 4 }
        let (out, reports) = try Clean.run(t, s)
        #expect(reports.map(\.step) == ["drop_missing", "strip_html", "strip_urls", "nfkc", "lower", "normalize_whitespace", "filter_length", "filter"])
        #expect(try out.column("text").stringValues! == ["hello&bye"])
        #expect(reports[0].rowsDropped == 1 && reports[6].rowsDropped == 1 && reports[7].rowsDropped == 1)
        let summary = Clean.summary(rowsBefore: t.rowCount, out, reports)
        #expect(summary.hasPrefix("data.clean: 4 -> 1 rows\n  drop_missing          rows dropped 1"))
        #expect(summary.contains("strip_html            cells changed 1   \"  <p>Hello&amp;bye</p> \" -> \"  Hello&bye  \""))
        // the length unit: tokens when a counter is given, characters otherwise
        #expect(try Clean.lengthUnit(nil, count: nil) == .chars)
        #expect(try Clean.lengthUnit(nil, count: { $0.count }) == .tokens)
        #expect(try Clean.lengthUnit(.words, count: { $0.count }) == .words)
        #expect(csvUnwrapError { _ = try Clean.lengthUnit(.tokens, count: nil) }.contains("\"tokens\" needs count"))
        var bad = Clean.Steps()
        bad.columns = ["n"]
        #expect(csvUnwrapError { _ = try Clean.run(t, bad) } == "column 'n' is integer; text cleaning works on string columns")
    }

    @Test func namesTheBindingUsedToCheck() throws {
        #expect(csvUnwrapError { try PII.checkKinds(["email", "emial"]) } == "unknown kind 'emial'; did you mean 'email'? (kinds: email, url, iban, card, ipv6, ipv4, phone)")
        try PII.checkKinds(PII.kinds)
        if case .alpaca = PromptTemplate.Kind(name: "Alpaca") {} else { Issue.record("alpaca") }
        if case .chatml = PromptTemplate.Kind(name: "chatml") {} else { Issue.record("chatml") }
        if case .custom(let s) = PromptTemplate.Kind(name: "Q: {q}") { #expect(s == "Q: {q}") } else { Issue.record("custom") }
        #expect(PromptTemplate.Kind(name: "llama") == nil)
        #expect(Augment.defaultOps(custom: true) == ["fn"])
        #expect(Augment.defaultOps(custom: false) == ["synonym", "insert", "swap", "delete"])
    }

    @Test func describeSaysWhatMinMeanMaxMeasure() throws {
        let t = try DataTable(names: ["text", "x"], columns: [Column(strings: ["hi", "hello"]), Column(numbers: [1.5, 2.5])])
        let d = t.describeTable(try t.describe())
        #expect(d.names == ["column", "type", "missing", "unique", "of", "min", "mean", "max"])
        #expect(try d.column("of").stringValues! == ["length", "value"])
        guard case .number(let mins) = try d.column("min").values else { Issue.record("type"); return }
        #expect(mins == [2, 1.5])
    }

    @Test func tablesFromColumnsRecordsRowsAndTensors() throws {
        let t = try DataTable(columns: ["b": Column(strings: ["x", nil]), "a": Column(tensor: Tensor(floats: [1.5, 2], shape: [2]))])
        #expect(t.names == ["a", "b"] && t.types == [.number, .string])
        #expect(try DataTable(columns: ["b": Column(integers: [1]), "a": Column(integers: [2])], order: ["b", "a"]).names == ["b", "a"])
        #expect(csvUnwrapError { _ = try DataTable(columns: ["a": Column(integers: [1, 2]), "b": Column(integers: [1])]) }.hasPrefix("columns have different lengths: a: 2, b: 1"))
        #expect(csvUnwrapError { _ = try DataTable(columns: ["a": Column(integers: [1])], order: ["b"]) } == "the column order does not list 'a', which the values have")
        let r = try DataTable(records: [["q": .string("hi"), "n": .integer(1)], ["q": .string("yo"), "n": .number(2.5)], ["q": .string("z")]])
        #expect(r.names == ["n", "q"] && r.types == [.number, .string] && r.columns[0].missing[2])
        let rows = try DataTable(rows: [[.integer(1), .string("x")], [.integer(2), .missing]], names: ["id", "v"])
        #expect(rows.types == [.integer, .string] && rows.columns[1].missing[1])
        #expect(csvUnwrapError { _ = try DataTable(rows: [[.integer(1)]], names: ["a", "b"]) } == "row 1 has 1 values for 2 columns")
        #expect(try Column(tensor: Tensor(int64s: [3, 4], shape: [2])).type == .integer)
        #expect(csvUnwrapError { _ = try Column(tensor: Tensor(floats: [1, 2], shape: [1, 2])) } == "expected a 1-D tensor, got shape [1,2]")
        let typed = try rows.converting(["id": .string])
        #expect(typed.types == [.string, .string] && typed.names == ["id", "v"])
    }

    @Test func readerOptionsAndReportsInTheEngine() throws {
        #expect(try CSV.separator(nil, path: "a.TSV") == 9 && CSV.separator(nil, path: "a.csv") == 44 && CSV.separator(";", path: "a.tsv") == 59)
        #expect(csvUnwrapError { _ = try CSV.separator("\"", path: "a.csv") }.hasPrefix("expected one ASCII character such as"))
        #expect(try CSV.quote("'", separator: 44) == 39)
        #expect(csvUnwrapError { _ = try CSV.quote(",", separator: 44) } == "it is the separator \",\"; the quote and the separator must differ")
        #expect(try TextBytes.Encoding.named("ISO-8859-1") == .latin1)
        #expect(csvUnwrapError { _ = try TextBytes.Encoding.named("ebcdic") } == "expected \"utf-8\", \"latin-1\", \"cp1252\" or \"utf-16\", got \"ebcdic\"")
        var j = JSONRecords.ReadOptions()
        try j.flatten(false, maxLevel: nil)
        #expect(j.maxLevel == 0)
        try j.flatten(true, maxLevel: 2)
        #expect(j.maxLevel == 2)
        #expect(csvUnwrapError { var k = JSONRecords.ReadOptions(); try k.flatten(false, maxLevel: 2) }.contains("give one of the two"))
        var r = ReadReport()
        (r.rows, r.lines, r.rowLines, r.skipped, r.skippedLines) = (3, 6, 4, 1, 1)
        r.problems = [ReadReport.Problem(line: 5, column: 2, message: "bad")]
        r.notes = ["renamed a duplicate header"]
        #expect(r.title == "read: 3 rows (4 lines), 1 skipped (1 line), of 6 lines")
        #expect(r.warnings(path: "f.csv") == ["f.csv: renamed a duplicate header",
                                              "skipped 1 bad row covering 1 line of f.csv (read 3 rows from 6 lines; first at line 5, column 2: bad); the second result lists them"])
        let f = TableFormat(allColumns: true, width: 40, cellWidth: nil, rows: 4)
        #expect(f.width == Int.max && f.maxCellWidth == Int.max && f.maxRows == 4 && f.edgeRows == 2)
        #expect(TableFormat.count(1, "row") == "1 row" && TableFormat.count(0, "line") == "0 lines")
    }
}
