import Foundation
import LatheCore
import Testing

@Suite struct DataSplitTests {
    @Test func largestRemainder() {
        #expect(Split.allocate(10, [0.7, 0.2, 0.1]) == [7, 2, 1])
        #expect(Split.allocate(11, [0.7, 0.2, 0.1]) == [8, 2, 1])
        #expect(Split.allocate(3, [1.0 / 3, 1.0 / 3, 1.0 / 3]) == [1, 1, 1])
        #expect(Split.allocate(5, [0.5, 0.5]) == [3, 2])
        #expect(Split.allocate(0, [0.8, 0.2]) == [0, 0])
        for n in [1, 7, 99, 1000, 1001] {
            #expect(Split.allocate(n, [0.7, 0.2, 0.1]).reduce(0, +) == n)
        }
    }

    @Test func randomSplitExactSizesAndSeeded() throws {
        var g = RandomGenerator(seed: 1)
        let a = try Split.assign(n: 101, fractions: [0.7, 0.2, 0.1], rng: &g)
        #expect((0..<3).map { s in a.filter { $0 == s }.count } == Split.allocate(101, [0.7, 0.2, 0.1]))
        var g2 = RandomGenerator(seed: 1)
        #expect(try Split.assign(n: 101, fractions: [0.7, 0.2, 0.1], rng: &g2) == a)
        var g3 = RandomGenerator(seed: 2)
        #expect(try Split.assign(n: 101, fractions: [0.7, 0.2, 0.1], rng: &g3) != a)
        #expect(csvUnwrapError { var g4 = RandomGenerator(seed: 1); _ = try Split.assign(n: 5, fractions: [0.7, 0.2], rng: &g4) }
            .contains("sum to 1"))
    }

    @Test func stratifiedWithinOneExample() throws {
        var g = RandomGenerator(seed: 9)
        for trial in 0..<20 {
            let n = 50 + g.below(2000)
            let L = 2 + g.below(9)
            // skewed label distribution
            let labels = (0..<n).map { _ in min(L - 1, Int(Double(L) * g.uniform() * g.uniform())) }
            let fr: [[Double]] = [[0.7, 0.2, 0.1], [0.8, 0.2], [0.6, 0.2, 0.2], [1.0 / 3, 1.0 / 3, 1.0 / 3]]
            let fractions = fr[trial % fr.count]
            let a = try Split.assign(n: n, fractions: fractions, labels: labels, rng: &g)
            for l in 0..<L {
                let nl = labels.filter { $0 == l }.count
                for (s, f) in fractions.enumerated() {
                    let got = zip(labels, a).filter { $0.0 == l && $0.1 == s }.count
                    #expect(abs(Double(got) - Double(nl) * f) < 1, "trial \(trial) label \(l) split \(s): \(got) vs \(Double(nl) * f)")
                }
            }
            for (s, f) in fractions.enumerated() {
                let size = a.filter { $0 == s }.count
                #expect(abs(Double(size) - Double(n) * f) < 1, "split size \(size) vs \(Double(n) * f)")
            }
        }
    }

    @Test func controlledRoundingHitsGlobalSizes() {
        // three labels of 5 rows, 0.5/0.5: per-label 2.5 each; totals 7.5 -> sizes 8 and 7
        let c = Split.stratifiedCounts([5, 5, 5], [0.5, 0.5])
        #expect(c.map { $0.reduce(0, +) } == [5, 5, 5])
        #expect(c.reduce(0) { $0 + $1[0] } == 8 && c.reduce(0) { $0 + $1[1] } == 7)
        for row in c { #expect(row.allSatisfy { $0 == 2 || $0 == 3 }) }
    }

    @Test func groupsNeverSpanSplits() throws {
        var g = RandomGenerator(seed: 4)
        let n = 600
        let groups = (0..<n).map { _ in g.below(90) }
        let labels = (0..<n).map { _ in g.below(3) }
        for lab in [nil, labels] {
            let a = try Split.assign(n: n, fractions: [0.7, 0.2, 0.1], labels: lab, groups: groups, rng: &g)
            var where_: [Int: Int] = [:]
            for i in 0..<n {
                if let s = where_[groups[i]] { #expect(s == a[i]) } else { where_[groups[i]] = a[i] }
            }
            let maxGroup = Dictionary(grouping: groups, by: { $0 }).values.map { $0.count }.max()!
            for (s, f) in [0.7, 0.2, 0.1].enumerated() {
                let size = a.filter { $0 == s }.count
                #expect(abs(Double(size) - Double(n) * f) <= Double(2 * maxGroup), "size \(size)")
            }
        }
    }

    @Test func duplicateAwareSplitKeepsClustersTogether() throws {
        var texts: [String?] = []
        for i in 0..<200 {
            texts.append("ticket number \(i) about my delayed order and refund")
            if i % 5 == 0 { texts.append("Ticket number \(i) about my  delayed order and refund!") }
        }
        var o = Dedupe.Options()
        o.near = 0.8
        let r = try Dedupe.find(texts, options: o)
        let groups = Split.combineGroups((0..<texts.count).map { $0 }, r.clusterOf)
        var g = RandomGenerator(seed: 3)
        let a = try Split.assign(n: texts.count, fractions: [0.8, 0.2], groups: groups, rng: &g)
        var pairs = 0
        for i in 0..<texts.count {
            for j in (i + 1)..<texts.count where r.clusterOf[i] == r.clusterOf[j] {
                #expect(a[i] == a[j])
                pairs += 1
            }
        }
        #expect(pairs >= 40)
    }

    @Test func kfoldProperties() throws {
        var g = RandomGenerator(seed: 8)
        let n = 503
        let labels = (0..<n).map { _ in g.below(4) }
        let folds = try Split.kfold(n: n, k: 5, labels: labels, rng: &g)
        let sizes = (0..<5).map { f in folds.filter { $0 == f }.count }
        #expect(sizes.max()! - sizes.min()! <= 1 && sizes.reduce(0, +) == n)
        for l in 0..<4 {
            let per = (0..<5).map { f in zip(labels, folds).filter { $0.0 == l && $0.1 == f }.count }
            #expect(per.max()! - per.min()! <= 1)
        }
        let groups = (0..<n).map { _ in g.below(60) }
        let gf = try Split.kfold(n: n, k: 4, groups: groups, rng: &g)
        var seen: [Int: Int] = [:]
        for i in 0..<n { if let f = seen[groups[i]] { #expect(f == gf[i]) } else { seen[groups[i]] = gf[i] } }
        #expect(Set(gf) == [0, 1, 2, 3])
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Split.kfold(n: 3, k: 5, rng: &g2) }.contains("need at least 5 rows"))
    }

    @Test func classWeightsMatchSklearn() throws {
        let g = try goldenData("class_weights.json") as! [String: Any]
        for case let c as [String: Any] in g["cases"] as! [Any] {
            let labels = c["labels"] as! [Any]
            let col: Column
            if labels.first is String {
                col = Column(strings: labels.map { $0 as? String })
            } else {
                col = Column(integers: labels.map { ($0 as! NSNumber).int64Value })
            }
            let w = Split.classWeights(col)
            let want = c["weights"] as! [Double]
            #expect(w.count == want.count)
            for (k, (label, weight)) in w.enumerated() {
                #expect(abs(weight - want[k]) < 1e-12, "\(label)")
                #expect(label.description == "\((c["classes"] as! [Any])[k])")
            }
        }
    }

    @Test func oversampleAndUndersample() throws {
        let col = Column(strings: ["a", "a", "a", "a", "a", "a", "a", "b", "b", "c"])
        var g = RandomGenerator(seed: 2)
        let over = try Split.resample(col, target: .auto, over: true, rng: &g)
        let counts = Dictionary(grouping: over.map { col[$0].description }, by: { $0 }).mapValues { $0.count }
        #expect(counts == ["a": 7, "b": 7, "c": 7])
        #expect(Set(over.prefix(10)) == Set(0..<10))   // every original row kept first
        let under = try Split.resample(col, target: .auto, over: false, rng: &g)
        #expect(under.count == 3 && under == under.sorted())
        let dist = try Split.resample(col, target: .distribution([.string("a"): 0.5, .string("b"): 0.25, .string("c"): 0.25]), over: true, rng: &g)
        let dc = Dictionary(grouping: dist.map { col[$0].description }, by: { $0 }).mapValues { $0.count }
        #expect(dc == ["a": 7, "b": 4, "c": 4])   // total 14 = 7 / 0.5
        let ud = try Split.resample(col, target: .distribution([.string("a"): 0.5, .string("b"): 0.5]), over: false, rng: &g)
        let uc = Dictionary(grouping: ud.map { col[$0].description }, by: { $0 }).mapValues { $0.count }
        #expect(uc == ["a": 2, "b": 2])
        let named = try Split.resample(col, target: .counts([.string("b"): 5]), over: true, rng: &g)
        #expect(named.count == 13)
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Split.resample(col, target: .counts([.string("z"): 5]), over: true, rng: &g2) }.contains("label \"z\""))
    }
}

@Suite struct DataAugmentTests {
    let syn = EDA(synonyms: ["order": ["purchase"], "late": ["delayed", "overdue"], "the": ["a"]], alpha: 0.5)

    @Test func synonymReplacementUsesTheDictionary() {
        var g = RandomGenerator(seed: 1)
        let out = syn.apply(.synonym, to: "My Order is late.", rng: &g)
        #expect(out == "My Purchase is delayed." || out == "My Purchase is overdue." || out == "My Order is delayed." || out == "My Order is overdue." || out == "My Purchase is late.")
        #expect(out != "My Order is late.")
        // stop words are never replaced
        var g2 = RandomGenerator(seed: 1)
        #expect(syn.apply(.synonym, to: "the the the", rng: &g2) == "the the the")
    }

    @Test func opsKeepOrChangeWordsAsDocumented() {
        var g = RandomGenerator(seed: 3)
        let text = "one two three four five six seven eight nine ten"
        let sw = syn.apply(.swap, to: text, rng: &g)
        #expect(sw.split(separator: " ").sorted() == text.split(separator: " ").sorted())
        let del = syn.apply(.delete, to: text, rng: &g)
        #expect(del.split(separator: " ").count < 10 && del.split(separator: " ").count >= 1)
        #expect(syn.apply(.delete, to: "single", rng: &g) == "single")
        let ins = syn.apply(.insert, to: "order late order late", rng: &g)
        #expect(ins.split(separator: " ").count == 6)   // alpha 0.5 of 4 words: 2 synonyms inserted
        #expect(ins.split(separator: " ").allSatisfy { ["order", "late", "purchase", "delayed", "overdue"].contains(String($0)) })
        var a = RandomGenerator(seed: 11), b = RandomGenerator(seed: 11)
        #expect(syn.apply(.swap, to: text, rng: &a) == syn.apply(.swap, to: text, rng: &b))
    }

    @Test func augmentTable() throws {
        let t = try DataTable(names: ["text", "label"], columns: [
            Column(strings: ["my order is late", "the app crashes", nil]), Column(strings: ["ship", "tech", "x"]),
        ])
        var g = RandomGenerator(seed: 5)
        let (out, rep) = try Augment.table(t, column: "text", ops: ["swap", "fn"], copies: 2, eda: syn,
                                           custom: { s, _ in s.uppercased() }, keepOriginal: true, rng: &g)
        #expect(out.rowCount == 3 + rep.added)
        #expect(rep.added + rep.unchanged == 4)
        #expect(out.names == ["text", "label", "augmented"])
        guard case .boolean(let aug) = try out.column("augmented").values else { Issue.record("type"); return }
        #expect(aug.prefix(3).allSatisfy { !$0 } && aug.dropFirst(3).allSatisfy { $0 })
        #expect(csvUnwrapError { var g2 = RandomGenerator(seed: 1); _ = try Augment.table(t, column: "text", ops: ["swapp"], copies: 1, eda: syn, custom: nil, keepOriginal: true, rng: &g2) }
            .contains("did you mean 'swap'?"))
    }
}

@Suite struct DataTemplateTests {
    func qa() throws -> DataTable {
        try DataTable(names: ["instruction", "input", "output", "label"], columns: [
            Column(strings: ["Summarize", "Translate to German"]), Column(strings: [nil, "Good morning"]),
            Column(strings: ["Short.", "Guten Morgen"]), Column(strings: ["a", "b"]),
        ])
    }

    @Test func alpaca() throws {
        let (t, _) = try PromptTemplate.apply(try qa(), .alpaca, options: { var o = PromptTemplate.Options(); o.keep = ["label"]; return o }())
        #expect(t.names == ["prompt", "response", "text", "response_start", "label"])
        let p0 = try t.column("prompt").string(0)!
        #expect(p0 == "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSummarize\n\n### Response:\n")
        let p1 = try t.column("prompt").string(1)!
        #expect(p1.contains("### Input:\nGood morning\n\n### Response:\n"))
        let text = try t.column("text").string(1)!
        guard case .integer(let starts) = try t.column("response_start").values else { Issue.record("type"); return }
        let b = Array(text.utf8)
        #expect(String(decoding: b[Int(starts[1])...], as: UTF8.self) == "Guten Morgen")
        // braces in the data are kept literally
        let braces = try DataTable(names: ["instruction", "input", "output"], columns: [
            Column(strings: ["Fill {input} in"]), Column(strings: ["{instruction}"]), Column(strings: ["ok"])])
        let (bt, _) = try PromptTemplate.apply(braces, .alpaca)
        #expect(try bt.column("prompt").string(0)!.contains("### Instruction:\nFill {input} in\n\n### Input:\n{instruction}\n"))
    }

    @Test func chatml() throws {
        var o = PromptTemplate.Options()
        o.system = "You are helpful."
        let (t, _) = try PromptTemplate.apply(try qa(), .chatml, options: o)
        #expect(try t.column("text").string(0)! == "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nSummarize<|im_end|>\n<|im_start|>assistant\nShort.<|im_end|>\n")
        #expect(try t.column("response").string(0)! == "Short.<|im_end|>\n")
        #expect(try t.column("prompt").string(1)!.contains("Translate to German\n\nGood morning"))
    }

    @Test func customTemplateOffsetsAreBytes() throws {
        let t = try DataTable(names: ["frage", "antwort"], columns: [Column(strings: ["Größe?"]), Column(strings: ["Groß — ja."])])
        var o = PromptTemplate.Options()
        o.response = "antwort"
        o.eos = "</s>"
        let (out, _) = try PromptTemplate.apply(t, .custom("F: {frage}\nA: {antwort}\n"), options: o)
        let text = try out.column("text").string(0)!
        #expect(text == "F: Größe?\nA: Groß — ja.\n</s>")
        guard case .integer(let s) = try out.column("response_start").values else { Issue.record("type"); return }
        #expect(Int(s[0]) == "F: Größe?\nA: ".utf8.count)
        #expect(try out.column("response").string(0)! == "Groß — ja.\n</s>")
        // response not in the template: appended; no response: the whole text
        let (app, _) = try PromptTemplate.apply(t, .custom("Q {frage} "), options: o)
        #expect(try app.column("text").string(0)! == "Q Größe? Groß — ja.</s>")
        let (all, _) = try PromptTemplate.apply(t, .custom("{frage} {antwort}"))
        guard case .integer(let z) = try all.column("response_start").values else { Issue.record("type"); return }
        #expect(z == [0])
        // literal braces and errors
        let (lit, _) = try PromptTemplate.apply(t, .custom("{{json}} {frage}"))
        #expect(try lit.column("text").string(0)! == "{json} Größe?")
        #expect(csvUnwrapError { _ = try PromptTemplate.apply(t, .custom("{nope}")) }.contains("no column 'nope'"))
        #expect(csvUnwrapError { _ = try PromptTemplate.apply(t, .custom("{frage")) }.contains("without a closing"))
    }

    @Test func missingValues() throws {
        let t = try DataTable(names: ["instruction", "output"], columns: [Column(strings: ["a", "b"]), Column(strings: ["x", nil])])
        #expect(csvUnwrapError { _ = try PromptTemplate.apply(t, .alpaca) }.contains("row 2: column 'output' is missing"))
        var o = PromptTemplate.Options()
        o.skipMissing = true
        let (out, rep) = try PromptTemplate.apply(t, .alpaca, options: o)
        #expect(out.rowCount == 1 && rep.skipped == 1)
    }
}
