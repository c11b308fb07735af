import Foundation
import LatheCore
import Testing

/// The repository root (for golden files).
let dataRepoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func goldenData(_ name: String) throws -> Any {
    let url = dataRepoRoot.appendingPathComponent("Tests/golden/data/\(name)")
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
}

func csv(_ text: String, _ configure: (inout CSVReadOptions) -> Void = { _ in }) throws -> DataTable {
    var o = CSVReadOptions()
    configure(&o)
    return try CSV.parse(Array(text.utf8), name: "t.csv", options: o).0
}

func csvError(_ text: String, _ configure: (inout CSVReadOptions) -> Void = { _ in }) -> String {
    csvUnwrapError { _ = try csv(text, configure) }
}

func strings(_ t: DataTable, _ col: String) throws -> [String?] {
    try t.column(col).cells.map { c in c.isMissing ? nil : c.description }
}

@Suite struct DataCSVTests {
    @Test func infersTypes() throws {
        let t = try csv("i,f,b,s,z,e\n1,1.5,true,x,007,\n-20,2e3,False,y,010,\n300,-0.25,TRUE,z,0,\n")
        #expect(t.names == ["i", "f", "b", "s", "z", "e"])
        #expect(t.types == [.integer, .number, .boolean, .string, .string, .string])
        guard case .integer(let i) = try t.column("i").values else { Issue.record("i"); return }
        #expect(i == [1, -20, 300])
        guard case .number(let f) = try t.column("f").values else { Issue.record("f"); return }
        #expect(f == [1.5, 2000, -0.25])
        #expect(try strings(t, "z") == ["007", "010", "0"])   // leading zeros stay text
        #expect(try t.column("e").missingCount == 3)
    }

    @Test func matchesPandasInference() throws {
        let g = try goldenData("csv_pandas.json") as! [String: Any]
        let t = try csv(g["text"] as! String)
        let values = g["values"] as! [String: [Any]]
        #expect(t.types == [.integer, .number, .boolean, .string, .integer])  // pandas: float64 for m (NaN); we keep integers
        for name in t.names {
            let col = try t.column(name)
            for (r, v) in values[name]!.enumerated() {
                switch col[r] {
                case .missing: #expect(v is NSNull)
                case .integer(let x): #expect((v as! NSNumber).int64Value == x)
                case .number(let x): #expect((v as! NSNumber).doubleValue == x)
                case .boolean(let b): #expect((v as! NSNumber).boolValue == b)
                case .string(let s): #expect(v as! String == s)
                }
            }
        }
    }

    @Test func rfc4180MatchesPythonCSV() throws {
        let g = try goldenData("csv_cases.json") as! [String: Any]
        for case let c as [String: Any] in g["cases"] as! [Any] {
            let text = c["text"] as! String
            let rows = c["rows"] as! [[String]]
            let t = try csv(text) { o in
                o.header = false
                o.na = []
                o.separator = Array((c["sep"] as! String).utf8)[0]
                o.types = Dictionary(uniqueKeysWithValues: (1...rows[0].count).map { ("col\($0)", ColumnType.string) })
            }
            #expect(t.rowCount == rows.count, "\(text.debugDescription)")
            for (r, row) in rows.enumerated() where r < t.rowCount {
                let got = (0..<t.columnCount).map { t.cell(r, $0).description }
                #expect(got == row, "\(text.debugDescription) row \(r)")
            }
        }
    }

    @Test func quotedEmptyIsAStringUnquotedEmptyIsMissing() throws {
        let t = try csv("a,b\n\"\",\nNA,\"NA\"\n")
        #expect(try strings(t, "a") == ["", nil])
        #expect(try strings(t, "b") == [nil, "NA"])
    }

    @Test func bomAndCRLF() throws {
        let t = try CSV.parse([0xEF, 0xBB, 0xBF] + Array("id,name\r\n1,\"a\r\nb\"\r\n2,c\r\n".utf8), name: "x.csv").0
        #expect(t.names == ["id", "name"])
        #expect(try strings(t, "name") == ["a\r\nb", "c"])
    }

    @Test func raggedRowsNameTheLine() throws {
        let msg = csvError("a,b,c\n1,2,3\n4,5\n6,7,8\n")
        #expect(msg == "t.csv line 3: expected 3 fields, got 2 (a missing separator, or an unquoted line break?)")
        let msg2 = csvError("a,b\n1,2\n\"multi\nline\",2\n4,5,6\n")
        #expect(msg2.hasPrefix("t.csv line 5: expected 2 fields, got 3"))
    }

    @Test func skipModeCountsBadRows() throws {
        var o = CSVReadOptions()
        o.skipErrors = true
        let (t, rep) = try CSV.parse(Array("a,b\n1,2\n3\n4,5\n6,7,8\n\"x\"y,9\n10,11\n".utf8), name: "t.csv", options: o)
        #expect(t.rowCount == 3)
        #expect(rep.skipped == 3)
        #expect(rep.problems.map { $0.line } == [3, 5, 6])
        guard case .integer(let a) = try t.column("a").values else { Issue.record("type"); return }
        #expect(a == [1, 4, 10])
    }

    @Test func invalidUTF8IsAnErrorWithLineAndColumn() throws {
        var bytes = Array("a,b\nok,fine\nxé,".utf8)
        bytes += [0xE9, 0x74, 0x65, 10]   // latin-1 é in "éte"
        #expect(csvUnwrapError { _ = try CSV.parse(bytes, name: "f.csv") }.hasPrefix("f.csv line 3, column 4: invalid UTF-8 (byte 0xE9)"))
        var o = CSVReadOptions()
        o.skipErrors = true
        let (t, rep) = try CSV.parse(bytes, name: "f.csv", options: o)
        #expect(t.rowCount == 1 && rep.skipped == 1)
        o = CSVReadOptions()
        o.encoding = .latin1
        let t2 = try CSV.parse(bytes, name: "f.csv", options: o).0
        #expect(try strings(t2, "b") == ["fine", "éte"])
    }

    @Test func cp1252AndUTF16() throws {
        var o = CSVReadOptions()
        o.encoding = .cp1252
        let t = try CSV.parse(Array("a\n".utf8) + [0x93, 0x68, 0x69, 0x94, 0x80, 10], name: "w.csv", options: o).0
        #expect(try strings(t, "a") == ["“hi”€"])
        let u16: [UInt8] = [0xFF, 0xFE] + Array("a\nx\n".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(csvUnwrapError { _ = try CSV.parse(u16, name: "u.csv") }.contains("UTF-16"))
        o.encoding = .utf16
        #expect(try strings(try CSV.parse(u16, name: "u.csv", options: o).0, "a") == ["x"])
    }

    @Test func unterminatedQuoteAndJunkAfterQuote() {
        #expect(csvError("a,b\n1,\"open\n2,3\n") == "t.csv line 2, column 3: quoted field opened here is never closed (it runs to the end of the file, line 3) (a stray quote? pass quote = false if the file does not quote fields, or on_error = \"skip\" to skip the line where it opened)")
        #expect(csvError("a,b\n\"x\"y,2\n") == "t.csv line 2, column 4: unexpected character after a closing quote (a quote inside a field must be doubled: \"\")")
    }

    /// Lines of rows read + skipped + blank + header = the file's physical lines.
    func expectLinesAddUp(_ rep: ReadReport, _ text: String, _ label: String) {
        var ends = 0
        let b = Array(text.utf8)
        for (i, c) in b.enumerated() where c == 10 || (c == 13 && (i + 1 == b.count || b[i + 1] != 10)) { ends += 1 }
        let lines = ends + (b.last.map { $0 == 10 || $0 == 13 } == false ? 1 : 0)
        #expect(rep.lines == lines, "\(label): lines")
        #expect(rep.rowLines + rep.skippedLines + rep.blankLines + rep.headerLines == lines, "\(label): \(rep.rowLines) + \(rep.skippedLines) + \(rep.blankLines) + \(rep.headerLines) != \(lines)")
        #expect(rep.problems.map { $0.lineCount }.reduce(0, +) == rep.skippedLines, "\(label): problem ranges")
    }

    @Test func strayQuotesCostOneRowAndEveryLineIsCounted() throws {
        var o = CSVReadOptions()
        o.skipErrors = true
        o.separator = 9
        // the user's case: a field opening with a bare quote that a far quote "closes"
        var text = "id\ttext\tstars\n"
        for i in 1...200 {
            let body = i == 12 ? "\"Best ever!" : (i == 178 ? "said 5\" is small" : "review \(i)")
            text += "\(i)\t\(body)\t\(i % 5)\n"
        }
        let (t, rep) = try CSV.parse(Array(text.utf8), name: "r.tsv", options: o)
        #expect(t.rowCount == 199 && rep.skipped == 1 && rep.skippedLines == 1)
        #expect(rep.problems[0].line == 13 && rep.problems[0].endLine == 13)
        #expect(rep.problems[0].message.hasPrefix("quoted field opened at line 13, column 4 runs to line 179 (167 lines), where its closing quote is followed by ' '"))
        expectLinesAddUp(rep, text, "user case")
        // quote = nil reads every row, quotes as text
        o.quote = nil
        let (t2, rep2) = try CSV.parse(Array(text.utf8), name: "r.tsv", options: o)
        #expect(t2.rowCount == 200 && rep2.skipped == 0)
        #expect(try t2.column("text").string(11) == "\"Best ever!")
        // without skip: the error names where the quote opened
        o = CSVReadOptions()
        o.separator = 9
        #expect(csvUnwrapError { _ = try CSV.parse(Array(text.utf8), name: "r.tsv", options: o) }.contains("the quoted field opened at line 13, column 4 (a stray quote?"))
    }

    @Test func lineAccountingOverMessyFiles() throws {
        let files = [
            "a,b\n1,2\n\n3,\"x\ny\"\r\n4,\"never\n5,6\r\n\r\n7,8",
            "a,b\r\n\"h\nh\",b2\n1,2\n3\n4,5,6\n\"q\"z,1\n9,\"ok\"\n",
            "\n\na,b\n1,\"stray\n2,3\n4,\"x\" y\n5,6\n\"last",
            "a\rb\r1\r\"2\r\n3\"\r",
        ]
        for (k, text) in files.enumerated() {
            var o = CSVReadOptions()
            o.skipErrors = true
            let (t, rep) = try CSV.parse(Array(text.utf8), name: "m.csv", options: o)
            #expect(t.rowCount == rep.rows)
            expectLinesAddUp(rep, text, "file \(k)")
            o.header = false
            expectLinesAddUp(try CSV.parse(Array(text.utf8), name: "m.csv", options: o).1, text, "file \(k) headerless")
        }
    }

    @Test func maxQuotedLinesAndQuoteCharacter() throws {
        let text = "a,b\n1,\"l1\nl2\nl3\nl4\"\n2,x\n"
        #expect(try csv(text).rowCount == 2)
        #expect(csvError(text) { $0.maxQuotedLines = 3 }.hasPrefix("t.csv line 2, column 3: quoted field opened here spans more than max_quoted_lines = 3 lines (it closes at line 5)"))
        let t = try csv("a;b\n'x;y';'it''s'\n\"q\";2\n") { $0.separator = 59; $0.quote = 39 }
        #expect(try strings(t, "a") == ["x;y", "\"q\""])
        #expect(try strings(t, "b") == ["it's", "2"])
        var w = CSV.WriteOptions()
        w.quote = 39
        #expect(String(decoding: try CSV.write(t, options: w), as: UTF8.self) == "a,b\nx;y,'it''s'\n\"q\",2\n")
        w.quote = nil
        w.separator = 59
        #expect(csvUnwrapError { _ = try CSV.write(t, options: w) } == "column 'a' row 1 holds the separator \";\" or a line break, which cannot be written with quote = false (pass a quote character, or clean the text first)")
        w.separator = 9
        #expect(String(decoding: try CSV.write(t, options: w), as: UTF8.self) == "a\tb\nx;y\tit's\n\"q\"\t2\n")
    }

    @Test func forcedTypes() throws {
        let t = try csv("zip,n,flag\n01234,1,true\n99999,2,false\n") { $0.types = ["zip": .string, "n": .number] }
        #expect(t.types == [.string, .number, .boolean])
        #expect(try strings(t, "zip") == ["01234", "99999"])
        let msg = csvError("id,n\n1,x\n") { $0.types = ["n": .integer] }
        #expect(msg == "t.csv line 2, column 3: column 'n' is integer (from types), but \"x\" is not an integer")
        #expect(csvError("a\n1\n") { $0.types = ["b": .string] }.hasPrefix("types names no column 'b'"))
    }

    @Test func duplicateAndEmptyHeaders() throws {
        let (t, rep) = try CSV.parse(Array("a,a,,b\n1,2,3,4\n".utf8), name: "t.csv")
        #expect(t.names == ["a", "a_2", "col3", "b"])
        #expect(rep.notes.count == 1)
    }

    @Test func headerless() throws {
        let t = try csv("1,x\n2,y\n") { $0.header = false }
        #expect(t.names == ["col1", "col2"])
        #expect(t.rowCount == 2)
    }

    @Test func writeReadRoundTrip() throws {
        let t = try DataTable(names: ["s", "i", "n", "b"], columns: [
            Column(strings: ["plain", "with, comma", "quote \"q\"", "line\nbreak", "", nil, " pad ", "NA", "007"]),
            Column(integers: [1, -2, nil, 4, 5, 6, 7, 8, Int64.max]),
            Column(numbers: [0.1, 1e-5, 1e300, nil, -0.0, 2.5, 3, 1.0 / 3.0, 100]),
            Column(booleans: [true, false, nil, true, true, true, false, false, true]),
        ])
        let bytes = try CSV.write(t)
        let back = try CSV.parse(bytes, name: "rt.csv").0
        #expect(back.types == [.string, .integer, .number, .boolean])
        for c in 0..<t.columnCount {
            for r in 0..<t.rowCount { #expect(back.cell(r, c) == t.cell(r, c), "row \(r) col \(c)") }
        }
    }

    @Test func largeFileAndParallelConversion() throws {
        var text = "id,text,score\n"
        for i in 0..<30000 { text += "\(i),\"row \(i), with comma\",\(Double(i) / 4)\n" }
        let t = try csv(text)
        #expect(t.rowCount == 30000)
        #expect(t.types == [.integer, .string, .number])
        #expect(try t.column("text").string(29999) == "row 29999, with comma")
        #expect(try t.column("score").double(101) == 25.25)
    }

    @Test func emptyAndBlankFiles() {
        #expect(csvError("") == "t.csv is empty (expected a header line)")
        #expect(csvError("\n\n") == "t.csv has no header line (it holds only blank lines)")
    }
}

func csvUnwrapError(_ f: () throws -> Void) -> String {
    do { try f(); return "no error" } catch let e as LatheError { return e.message } catch { return "\(error)" }
}

@Suite struct DataJSONRecordsTests {
    func read(_ s: String, _ configure: (inout JSONRecords.ReadOptions) -> Void = { _ in }) throws -> (DataTable, ReadReport) {
        var o = JSONRecords.ReadOptions()
        configure(&o)
        return try JSONRecords.parse(Array(s.utf8), name: "d.json", options: o)
    }

    @Test func flattensAsJSONNormalize() throws {
        let (t, rep) = try read("[{\"u\": {\"n\": \"a\", \"g\": {\"c\": 1}}, \"id\": 1, \"tags\": [1, 2], \"e\": {}},\n {\"id\": 2, \"u\": {\"n\": \"b\"}}]")
        #expect(t.names == ["id", "tags", "u.n", "u.g.c"])
        #expect(t.types == [.integer, .string, .string, .integer])
        #expect(try strings(t, "tags") == ["[1,2]", nil])
        #expect(rep.rows == 2 && rep.lines == 2 && rep.rowLines == 2)
        let (t2, _) = try read("{\"data\": [{\"a\": {\"b\": {\"c\": 1}}}], \"n\": 1}") { $0.recordsKey = "data"; $0.maxLevel = 1; $0.separator = "_" }
        #expect(t2.names == ["a_b"])
        #expect(try strings(t2, "a_b") == ["{\"c\":1}"])
    }

    @Test func shapeErrorsAndSkips() throws {
        #expect(csvUnwrapError { _ = try read("{\"rows\": [], \"n\": 1}") } == "d.json line 1, column 1: the top level is an object, not an array of records; pass records = \"rows\" to read the array under that key")
        #expect(csvUnwrapError { _ = try read("[1]") { $0.recordsKey = "x" } } == "d.json line 1, column 1: records = \"x\" names a key of a top-level object, but the top level is an array")
        #expect(csvUnwrapError { _ = try read("{\"a\": [1]}") { $0.recordsKey = "x" } } == "d.json line 1, column 1: the top-level object has no key \"x\" (keys holding arrays: \"a\")")
        #expect(csvUnwrapError { _ = try read("[{\"a\": 1},\n 2]") } == "d.json line 2, column 2: record 2 is a number, not an object (each record must be a JSON object {...})")
        #expect(csvUnwrapError { _ = try read("[{\"a\": 1},\n {\"a\" 2}]") } == "d.json line 2, column 7: expected ':', got '2'")
        let (t, rep) = try read("[{\"a\": 1},\n \"x\",\n [1,\n 2],\n {\"a\": 2}]") { $0.skipErrors = true }
        #expect(t.rowCount == 2 && rep.skipped == 2 && rep.skippedLines == 3)
        #expect(rep.problems.map { [$0.line, $0.endLine] } == [[2, 2], [3, 4]])
        var bytes = Array("[{\"a\": \"ok\"},\n{\"a\": \"".utf8) + [0xE9] + Array("\"}]".utf8)
        #expect(csvUnwrapError { _ = try JSONRecords.parse(bytes, name: "d.json") }.hasPrefix("d.json line 2, column 8: invalid UTF-8 (byte 0xE9)"))
        var o = JSONRecords.ReadOptions()
        o.skipErrors = true
        let (t2, rep2) = try JSONRecords.parse(bytes, name: "d.json", options: o)
        #expect(t2.rowCount == 1 && rep2.skipped == 1 && rep2.problems[0].line == 2)
        bytes = []
        #expect(csvUnwrapError { _ = try JSONRecords.parse(bytes, name: "d.json") } == "d.json is empty (expected a JSON array of records)")
    }
}

@Suite struct DataJSONLTests {
    func jsonl(_ s: String, skip: Bool = false) throws -> (DataTable, ReadReport) {
        var o = JSONL.ReadOptions()
        o.skipErrors = skip
        return try JSONL.parse(Array(s.utf8), name: "d.jsonl", options: o)
    }

    @Test func readsObjects() throws {
        let (t, _) = try jsonl("{\"q\": \"hi \\u00e9\\n\", \"n\": 1, \"x\": 1.5, \"ok\": true, \"tags\": [1, {\"a\": 2}]}\n\n{\"n\": null, \"q\": \"yo\", \"extra\": \"e\"}\r\n")
        #expect(t.names == ["q", "n", "x", "ok", "tags", "extra"])
        #expect(t.types == [.string, .integer, .number, .boolean, .string, .string])
        #expect(try strings(t, "q") == ["hi é\n", "yo"])
        #expect(try strings(t, "tags") == ["[1, {\"a\": 2}]", nil])
        #expect(try t.column("n").missingCount == 1)
        #expect(try strings(t, "extra") == [nil, "e"])
    }

    @Test func mixedKindsBecomeJSONText() throws {
        let (t, _) = try jsonl("{\"v\": 1}\n{\"v\": \"a\"}\n{\"v\": true}\n")
        #expect(t.types == [.string])
        #expect(try strings(t, "v") == ["1", "a", "true"])
    }

    @Test func surrogatePairs() throws {
        let (t, _) = try jsonl("{\"e\": \"\\ud83d\\ude00\"}\n")
        #expect(try strings(t, "e") == ["😀"])
    }

    @Test func errorsNameLineAndColumn() throws {
        #expect(csvUnwrapError { _ = try jsonl("{\"a\": 1}\n{\"a\": 1,}\n") } == "d.jsonl line 2, column 9: expected a key in double quotes, got '}'")
        #expect(csvUnwrapError { _ = try jsonl("[1,2]\n") } == "d.jsonl line 1, column 1: expected a JSON object '{' (one object per line), got '['")
        #expect(csvUnwrapError { _ = try jsonl("{\"a\": \"x}\n") } == "d.jsonl line 1, column 7: unterminated string")
        let (t, rep) = try jsonl("{\"a\": 1}\nnot json\n\n  \r\n{\"a\": 2}", skip: true)
        #expect(t.rowCount == 2 && rep.skipped == 1 && rep.problems[0].line == 2)
        #expect(rep.lines == 5 && rep.rowLines == 2 && rep.skippedLines == 1 && rep.blankLines == 2)
    }

    @Test func writeReadRoundTrip() throws {
        let t = try DataTable(names: ["s", "i", "n", "b"], columns: [
            Column(strings: ["tab\there", "quote \" and \\ back", "ctrl \u{01}", nil, "ünï😀"]),
            Column(integers: [1, nil, -3, 4, 5]),
            Column(numbers: [0.5, 1e-7, nil, 3, -2.25]),
            Column(booleans: [true, false, nil, true, false]),
        ])
        let bytes = JSONL.write(t)
        let back = try JSONL.parse(bytes, name: "rt").0
        for c in 0..<t.columnCount {
            for r in 0..<t.rowCount { #expect(back.cell(r, c) == t.cell(r, c)) }
        }
        // every line parses with Foundation's JSON too
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
        }
        let omitted = String(decoding: JSONL.write(t, omitMissing: true), as: UTF8.self)
        #expect(!omitted.contains("null"))
    }
}

@Suite struct DataTableOpsTests {
    func sample() throws -> DataTable {
        try DataTable(names: ["name", "age", "city"], columns: [
            Column(strings: ["Ann", "Bob", "Cy", "Dee"]),
            Column(integers: [31, 25, nil, 25]),
            Column(strings: ["Oslo", "Rome", "Oslo", nil]),
        ])
    }

    @Test func selectRenameDropHeadTail() throws {
        let t = try sample()
        #expect(try t.select(["city", "name"]).names == ["city", "name"])
        #expect(try t.rename(["age": "years"]).names == ["name", "years", "city"])
        #expect(try t.drop(["age"]).names == ["name", "city"])
        #expect(try strings(t.head(2), "name") == ["Ann", "Bob"])
        #expect(try strings(t.tail(1), "name") == ["Dee"])
        #expect(t.head(99).rowCount == 4)
        #expect(csvUnwrapError { _ = try t.select(["nmae"]) } == "no column 'nmae'; did you mean 'name'? (columns: name, age, city)")
        #expect(csvUnwrapError { _ = try t.rename(["age": "name"]) } == "column name 'name' appears twice")
    }

    @Test func sortIsStableWithMissingLast() throws {
        let t = try sample()
        #expect(try strings(t.sorted(by: ["age"], descending: [false]), "name") == ["Bob", "Dee", "Ann", "Cy"])
        #expect(try strings(t.sorted(by: ["age"], descending: [true]), "name") == ["Ann", "Bob", "Dee", "Cy"])
        #expect(try strings(t.sorted(by: ["city", "name"], descending: [false, true]), "name") == ["Cy", "Ann", "Bob", "Dee"])
    }

    @Test func filterSampleConcat() throws {
        let t = try sample()
        #expect(try t.filter([true, false, true, false]).rowCount == 2)
        var g = RandomGenerator(seed: 3)
        let s = try t.sample(4, rng: &g)
        #expect(Set(try strings(s, "name").compactMap { $0 }) == ["Ann", "Bob", "Cy", "Dee"])
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try t.sample(5, rng: &g2) }.contains("without replacement"))
        let other = try DataTable(names: ["name", "score"], columns: [Column(strings: ["Eve"]), Column(numbers: [1.5])])
        let c = try t.concat(other)
        #expect(c.names == ["name", "age", "city", "score"])
        #expect(c.rowCount == 5)
        #expect(try c.column("score").missingCount == 4)
        #expect(try c.column("age").missingCount == 2)
        let bad = try DataTable(names: ["age"], columns: [Column(strings: ["x"])])
        #expect(csvUnwrapError { _ = try t.concat(bad) }.contains("column 'age' is integer in one table and string in the other"))
    }

    @Test func joins() throws {
        let t = try sample()
        let cities = try DataTable(names: ["city", "country", "name"], columns: [
            Column(strings: ["Oslo", "Rome", "Oslo"]), Column(strings: ["NO", "IT", "NO2"]), Column(strings: ["x", "y", "z"]),
        ])
        let inner = try t.join(cities, on: ["city"])
        #expect(inner.rowCount == 5)   // Oslo appears twice: Ann x2, Bob, Cy x2
        #expect(inner.names == ["name", "age", "city", "country", "name_right"])
        let left = try t.join(cities, on: ["city"], kind: .left)
        #expect(left.rowCount == 6)
        #expect(try strings(left, "country").last! == nil)   // Dee has no city
    }

    @Test func countsAndDescribe() throws {
        let t = try sample()
        let vc = try t.valueCounts("city")
        #expect(try strings(vc, "city") == ["Oslo", "Rome", nil])
        guard case .integer(let counts) = try vc.column("count").values else { Issue.record("type"); return }
        #expect(counts == [2, 1, 1])
        let gc = try t.groupCount(["age"])
        #expect(try strings(gc, "age") == ["25", "31", nil])
        let d = try t.concat(t.head(1)).describe()
        #expect(d.rows == 5 && d.duplicates == 1)
        let name = d.columns[0]
        #expect(name.missing == 0 && name.unique == 4 && name.min == 2 && name.max == 3)
        let age = d.columns[1]
        #expect(age.missing == 1 && age.min == 25 && age.max == 31)
    }

    @Test func tensorPath() throws {
        let t = try DataTable(names: ["x", "k", "flag", "s"], columns: [
            Column(numbers: [1.5, nil, 3]), Column(integers: [1, 2, 3]), Column(booleans: [true, false, true]), Column(strings: ["a", "b", "c"]),
        ])
        let k = try t.tensor("k")
        #expect(try k.dtype == .int64 && k.shape == [3] && k.toInt64Array() == [1, 2, 3])
        let f = try t.tensor("flag")
        #expect(try f.dtype == .int64 && f.toInt64Array() == [1, 0, 1])
        #expect(csvUnwrapError { _ = try t.tensor("x") } == "column 'x' has 1 missing values (first at row 2); drop them or pass fill = value")
        let x = try t.tensor("x", fill: 0)
        #expect(x.dtype == .float32 && x.toDoubleArray() == [1.5, 0, 3])
        #expect(csvUnwrapError { _ = try t.tensor("s") }.contains("holds strings"))
    }

    @Test func columnTypeInferenceFromCells() throws {
        #expect(try Column.from(cells: [.integer(1), .number(2.5), .missing]).type == .number)
        #expect(try Column.from(cells: [.missing, .missing]).type == .string)
        #expect(csvUnwrapError { _ = try Column.from(cells: [.integer(1), .string("a")], name: "v") }
            == "column 'v' mixes integer and string values (row 2 is string \"a\"); convert them to one type first")
        #expect(try Column.from(cells: [.string("1")]).converted(to: .integer)[0] == .integer(1))
    }

    @Test func printingIsAlignedAndTruncated() throws {
        let long = String(repeating: "word ", count: 20)
        let t = try DataTable(names: ["id", "text", "score"], columns: [
            Column(integers: (0..<30).map { Int64($0) }),
            Column(strings: (0..<30).map { $0 == 3 ? nil : ($0 == 1 ? "two\nlines" : long) }),
            Column(numbers: (0..<30).map { Double($0) / 3 }),
        ])
        let s = TableFormat().render(t)
        let lines = s.split(separator: "\n").map(String.init)
        #expect(lines[0] == "DataTable: 30 rows x 3 columns")
        #expect(lines[1].contains("id") && lines[1].contains("text") && lines[2].contains("integer"))
        #expect(s.contains("two\\nlines"))
        #expect(s.contains("…"))
        #expect(lines.last == "(30 rows x 3 columns)")
        #expect(lines.count == 2 + 1 + 11 + 1)
        #expect(lines.allSatisfy { TableFormat.displayWidth($0) <= 80 })
        // NA shows for the missing text
        #expect(lines[3 + 3].contains("NA"))
        // many columns: the rest are listed
        let wide = try DataTable(names: (1...20).map { "column_\($0)" }, columns: (1...20).map { _ in Column(integers: [1]) })
        let ws = TableFormat().render(wide)
        #expect(ws.contains("more columns: "))
        #expect(ws.split(separator: "\n").allSatisfy { TableFormat.displayWidth(String($0)) <= 80 })
    }

    @Test func valueParsers() {
        #expect(parseNumber("1e-3") == 0.001)
        #expect(parseNumber(" 12.5 ") == 12.5)
        #expect(parseNumber("0.1") == 0.1)
        #expect(parseNumber("123456789012345678901234567890") == 1.2345678901234568e29)
        #expect(parseNumber("-inf") == -Double.infinity)
        #expect(parseNumber("1.2.3") == nil && parseNumber("e5") == nil && parseNumber("") == nil && parseNumber("1e") == nil)
        #expect(parseInteger("9223372036854775807") == Int64.max)
        #expect(parseInteger("-9223372036854775808") == Int64.min)
        #expect(parseInteger("9223372036854775808") == nil)
        #expect(parseInteger("007") == nil && parseInteger("0") == 0 && parseInteger("+5") == 5)
        #expect(parseBoolean("TRUE") == true && parseBoolean("False") == false && parseBoolean("tRUE") == nil && parseBoolean("yes") == nil)
    }
}

@Suite struct DataGroupingTests {
    @Test func stringsCompareByteForByte() throws {
        // "é" precomposed and decomposed are different values, as in files and other tools
        #expect(Cell.string("é") != Cell.string("e\u{301}"))
        #expect(Set([Cell.string("é"), Cell.string("e\u{301}"), Cell.string("é")]).count == 2)
        let c = Column(strings: ["b", "é", "e\u{301}", nil, "a", "é", "B"])
        let (keys, counts) = c.distinctCounts()
        #expect(keys.count == 6 && counts == [1, 2, 1, 1, 1, 1])
        // code point order: "B" < "a" < "b" < "e\u{301}" < "é"; missing last
        #expect(c.ranks() == [2, 4, 3, Int.max, 1, 4, 0])
    }

    @Test func groupsAndRanksOfNumbers() {
        let c = Column(numbers: [2, .nan, nil, -1, 2, .nan, 0])
        #expect(c.ranks() == [2, 3, Int.max, 0, 2, 3, 1])
        let (ids, first) = Column.groups([c], rows: c.count)
        #expect(ids == [0, 1, 2, 3, 0, 1, 4] && first == [0, 1, 2, 3, 6])
        let b = Column(booleans: [true, false, nil, true])
        #expect(b.ranks() == [1, 0, Int.max, 1])
        let two = Column.groups([Column(integers: [1, 1, 2, 1]), Column(strings: ["x", "y", "x", "x"])], rows: 4)
        #expect(two.ids == [0, 1, 2, 0])
    }

    @Test func manyGroupsWithHashCollisionsStayExact() throws {
        let n = 20000
        let t = try DataTable(names: ["k"], columns: [Column(strings: (0..<n).map { "key-\($0 % 5000)" })])
        let gc = try t.groupCount(["k"])
        #expect(gc.rowCount == 5000)
        guard case .integer(let counts) = try gc.column("count").values else { Issue.record("type"); return }
        #expect(counts.allSatisfy { $0 == 4 })
        #expect(try gc.column("k").string(0) == "key-0" && gc.column("k").string(1) == "key-1")
        #expect(t.duplicateRows().filter { $0 }.count == n - 5000)
    }
}

@Suite struct DataEdgeTests {
    @Test func emptyStringsAndEmptyTables() throws {
        let c = Column(strings: ["", "", nil])
        guard case .string(let a) = c.values else { Issue.record("type"); return }
        #expect(a.compareBytes(0, 1) == 0 && a.bytesEqual(0, 1))
        #expect(c.ranks() == [0, 0, Int.max])
        let t = try DataTable(names: ["s"], columns: [c])
        #expect(try t.sorted(by: ["s"], descending: [true]).rowCount == 3)
        #expect(try t.valueCounts("s").rowCount == 2)
        #expect(t.duplicateRows() == [false, true, false])
        let empty = try t.filter([false, false, false])
        #expect(try empty.describe().rows == 0)
        #expect(try empty.groupCount(["s"]).rowCount == 0)
        #expect(try Dedupe.dedupe(empty, column: "s").0.rowCount == 0)
        var o = Dedupe.Options()
        o.near = 0.5
        #expect(try Dedupe.find(["", "", nil], options: o).clusterOf == [0, 0, 2])
        #expect(String(decoding: try CSV.write(empty), as: UTF8.self) == "s\n")
        #expect(JSONL.write(empty).isEmpty)
        var g = RandomGenerator(seed: 1)
        #expect(try Split.assign(n: 0, fractions: [0.5, 0.5], rng: &g).isEmpty)
    }
}
