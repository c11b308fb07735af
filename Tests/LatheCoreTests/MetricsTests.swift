import Foundation
import LatheCore
import Testing

@Suite struct PyTextTests {
    @Test func whitespaceIsPythons() {
        let python: Set<UInt32> = [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
                                   0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009,
                                   0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]
        for v in UInt32(0)..<0x3100 { #expect(PyText.isSpace(v) == python.contains(v), "U+\(String(v, radix: 16))") }
        #expect(PyText.split("  a\u{a0}b\tc\u{3000} ") == ["a", "b", "c"])
        #expect(PyText.split("") == [])
        #expect(PyText.strip("\u{2009} x y \n") == "x y")
        #expect(PyText.rstrip(" x \u{85}") == " x")
    }

    @Test func lowerIsPythons() {
        #expect(PyText.lower("ABC def") == "abc def")
        #expect(PyText.lower("İ") == "i\u{307}")
        #expect(PyText.lower("ΟΔΟΣ") == "οδος")           // final sigma
        #expect(PyText.lower("ΣΑ") == "σα")              // not final
        #expect(PyText.lower("ΑΣ.") == "ας.")
        #expect(PyText.lower("Straße") == "straße")
        #expect(PyText.lower("\u{212A}") == "k")
    }

    @Test func wordCharsAreUnicode() {
        #expect(PyText.isWordChar("é"))
        #expect(PyText.isWordChar("_"))
        #expect(PyText.isWordChar("٣"))
        #expect(!PyText.isWordChar("-"))
        #expect(!PyText.isWordChar(" "))
        #expect(TextMetrics.normalizeAnswer("Théa and the cat") == "théa and cat")
        #expect(TextMetrics.normalizeAnswer("x_the y") == "xthe y")  // "_" is punctuation
        #expect(TextMetrics.normalizeAnswer("éthe the") == "éthe")
    }
}

@Suite struct LabelTests {
    @Test func sortedAsScikitLearn() throws {
        let e = try EncodedLabels([try LabelColumn([.string("apple"), .string("Zebra"), .string("é")]),
                                   try LabelColumn([.string("e\u{301}"), .string("apple"), .string("apple")])])
        #expect(e.classes == [.string("Zebra"), .string("apple"), .string("e\u{301}"), .string("é")])
        #expect(e.yTrue == [1, 0, 3])
        #expect(e.yPred == [2, 1, 1])
        let n = try EncodedLabels([.ints([10, -3, 7_000_000_000]), .ints([-3, -3, 10])])
        #expect(n.classes == [.int(-3), .int(10), .int(7_000_000_000)])
        #expect(n.yTrue == [1, 0, 2])
        let b = try EncodedLabels([.bools([true, false]), .bools([true, true])])
        #expect(b.classes == [.bool(false), .bool(true)])
        #expect(b.index(of: .int(1)) == 1)  // Python: True == 1
        let mixed = try EncodedLabels([.bools([true, false]), .ints([2, 1])])
        #expect(mixed.classes == [.int(0), .int(1), .int(2)])
    }

    @Test func mixingStringsAndNumbersFails() {
        #expect(throws: LatheError.self) { _ = try EncodedLabels([.ints([1]), .strings(codes: [0], values: ["a"])]) }
        #expect(throws: LatheError.self) { _ = try LabelColumn([.int(1), .string("a")]) }
    }

    @Test func binaryNeedsTwoClassesAndAValidPosLabel() throws {
        let e = try EncodedLabels([.ints([0, 1, 2]), .ints([0, 1, 1])])
        #expect(throws: LatheError.self) { _ = try Classification.prf(e, PRFOptions()) }
        let s = try EncodedLabels([try LabelColumn([.string("a"), .string("b")]), try LabelColumn([.string("a"), .string("a")])])
        #expect(throws: LatheError.self) { _ = try Classification.prf(s, PRFOptions()) }
        var o = PRFOptions()
        o.posLabel = .string("a")
        #expect(try Classification.prf(s, o).precision == [0.5])
    }

    @Test func confusionText() throws {
        let e = try EncodedLabels([.ints([1, 2, 2, 10]), .ints([1, 1, 2, 10])])
        let m = try Classification.confusion(e)
        #expect(m.text() == """
            ConfusionMatrix: 3 labels, 4 samples (rows = true, columns = predicted)
            true \\ pred  1  2  10
            1            1  0   0
            2            1  1   0
            10           0  0   1

            """)
    }
}

@Suite struct RankingTests {
    @Test func eceOfAPerfectlyCalibratedSetIsZero() throws {
        // confidence 0.75 in one bin, 3 of 4 right
        let y = try LabelColumn([.int(1), .int(1), .int(1), .int(0)])
        let t = try Ranking.probabilityTable(y, [[0.75], [0.75], [0.75], [0.75]], labels: nil)
        let (v, bins) = try Ranking.ece(t, bins: 10)
        #expect(v == 0)
        #expect(bins[7].count == 4 && bins[7].accuracy == 0.75)
        #expect(throws: LatheError.self) { _ = try Ranking.ece(t, bins: 0) }
    }

    @Test func logLossClips() throws {
        let t = try Ranking.probabilityTable(try LabelColumn([.int(0), .int(1)]), [[1.0], [1.0]], labels: nil)
        #expect(abs(Ranking.logLoss(t) - (-log(Double.ulpOfOne)) / 2) < 1e-12)
        #expect(throws: LatheError.self) { _ = try Ranking.probabilityTable(try LabelColumn([.int(0), .int(1)]), [[1.5], [0.2]], labels: nil) }
        #expect(throws: LatheError.self) { _ = try Ranking.rocAUC(.ints([0, 1]), [0.1, .nan]) }
        #expect(throws: LatheError.self) { _ = try Ranking.rocAUC(.ints([0, 1, 2]), [0.1, 0.2, 0.3]) }
    }
}

@Suite struct TextMetricTests {
    @Test func errorRates() throws {
        let w = try TextMetrics.wer(predictions: ["the cat sat", ""], references: ["the cat sat down", "a b"])
        #expect(w.edits == 3 && w.referenceLength == 6 && w.rate == 0.5)
        #expect(w.items == [0.25, 1.0])
        let c = try TextMetrics.cer(predictions: ["kitten"], references: ["sitting"])
        #expect(c.edits == 3 && c.referenceLength == 7)
        #expect(throws: LatheError.self) { _ = try TextMetrics.wer(predictions: ["a"], references: [""]) }
        #expect(throws: LatheError.self) { _ = try TextMetrics.wer(predictions: ["a", "b"], references: ["a"]) }
    }

    @Test func perplexity() throws {
        #expect(try TextMetrics.perplexity(losses: [0]) == 1)
        #expect(abs(try TextMetrics.perplexity(losses: [1, 3], tokens: [3, 1]) - exp(1.5)) < 1e-12)
        #expect(throws: LatheError.self) { _ = try TextMetrics.perplexity(losses: [.infinity]) }
        #expect(throws: LatheError.self) { _ = try TextMetrics.perplexity(losses: [1], tokens: [0]) }
    }

    @Test func bleuEdgeCases() throws {
        let b = try BLEU()
        let empty = try b.corpus([""], [[""]])
        #expect(empty.score == 0 && empty.sysLen == 0 && empty.refLen == 0)
        #expect(throws: LatheError.self) { _ = try b.corpus(["a", "b"], [["a"]]) }
        #expect(throws: LatheError.self) { _ = try BLEU({ var o = BLEUOptions(); o.tokenize = "intl"; return o }()) }
        let perfect = try b.corpus(["the quick brown fox jumps"], [["the quick brown fox jumps"]])
        #expect(abs(perfect.score - 100) < 1e-9)
        #expect(perfect.signature == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0")
    }

    @Test func rougeTokenizer() throws {
        let r = Rouge(stem: true)
        let s = try r.score(target: "Running RUNS!", prediction: "runner ran run")
        #expect(s["rouge1"]!.precision == 1.0 / 3.0)
        #expect(throws: LatheError.self) { _ = try r.score(target: "a", prediction: "a", types: ["rouge3x"]) }
        #expect(PorterStemmer.stem("generalizations") == "gener")
        #expect(PorterStemmer.stem("skies") == "sky")
    }
}

@Suite struct ResamplingTests {
    /// Labels and predictions right with probability `acc` (deterministic).
    static func data(_ n: Int, _ acc: Double, seed: UInt64) throws -> EncodedLabels {
        var rng = RandomGenerator(seed: seed)
        var y: [Int] = [], p: [Int] = []
        for _ in 0..<n {
            let t = rng.below(2)
            y.append(t)
            p.append(rng.uniform() < acc ? t : 1 - t)
        }
        return try EncodedLabels([.ints(y), .ints(p)])
    }

    @Test func bootstrapIntervalContainsTheEstimateAndIsSeeded() throws {
        let e = try Self.data(500, 0.8, seed: 1)
        var r1 = RandomGenerator(seed: 9), r2 = RandomGenerator(seed: 9)
        let a = try Resampling.bootstrap(items: e.count, samples: 400, ci: 0.95, rng: &r1) { Classification.accuracy(e, weights: $0) }
        let b = try Resampling.bootstrap(items: e.count, samples: 400, ci: 0.95, rng: &r2) { Classification.accuracy(e, weights: $0) }
        #expect(a.score == Classification.accuracy(e))
        #expect(a.low <= a.score && a.score <= a.high)
        #expect(a.low == b.low && a.high == b.high && a.mean == b.mean)
        // the standard error of a proportion: sqrt(p(1-p)/n)
        let se = (a.score * (1 - a.score) / 500).squareRoot()
        #expect(abs(a.std - se) < 0.25 * se, "std \(a.std) vs \(se)")
        #expect(abs((a.high - a.low) - 2 * 1.96 * se) < 0.3 * 2 * 1.96 * se)
        let narrow = try Resampling.bootstrap(items: e.count, samples: 400, ci: 0.5, rng: &r1) { Classification.accuracy(e, weights: $0) }
        #expect(narrow.high - narrow.low < a.high - a.low)
        #expect(throws: LatheError.self) { _ = try Resampling.bootstrap(items: 0, samples: 10, ci: 0.9, rng: &r1) { _ in 0 } }
        #expect(throws: LatheError.self) { _ = try Resampling.bootstrap(items: 5, samples: 10, ci: 1, rng: &r1) { _ in 0 } }
    }

    /// Two systems over the same items: rows 0..<n are A's, n..<2n B's.
    static func paired(_ n: Int, accA: Double, accB: Double) throws -> EncodedLabels {
        var rng = RandomGenerator(seed: 4)
        var y: [Int] = [], a: [Int] = [], b: [Int] = []
        for _ in 0..<n {
            let t = rng.below(3)
            y.append(t)
            a.append(rng.uniform() < accA ? t : (t + 1) % 3)
            b.append(rng.uniform() < accB ? t : (t + 2) % 3)
        }
        return try EncodedLabels([.ints(y + y), .ints(a + b)])
    }

    @Test func identicalSystemsGivePOne() throws {
        let e = try Self.data(200, 0.7, seed: 3)
        let doubled = try EncodedLabels([.ints(e.yTrue.map { Int($0) } + e.yTrue.map { Int($0) }), .ints(e.yPred.map { Int($0) } + e.yPred.map { Int($0) })])
        for method in [Resampling.Method.bootstrap, .permutation] {
            for alt in [Resampling.Alternative.twoSided, .greater, .less] {
                var rng = RandomGenerator(seed: 1)
                let t = try Resampling.pairedTest(items: 200, method: method, alternative: alt, samples: 300, ci: 0.95, rng: &rng) {
                    Classification.accuracy(doubled, weights: $0)
                }
                #expect(t.pValue == 1, "\(method) \(alt)")
                #expect(t.delta == 0)
            }
        }
    }

    @Test func aClearlyBetterSystemGetsASmallP() throws {
        let e = try Self.paired(300, accA: 0.6, accB: 0.85)
        var plan = PRFOptions()
        plan.average = .macro
        let p = try PRFPlan(e, plan)
        for method in [Resampling.Method.bootstrap, .permutation] {
            var rng = RandomGenerator(seed: 2)
            let t = try Resampling.pairedTest(items: 300, method: method, alternative: .greater, samples: 1000, ci: 0.95, rng: &rng) {
                p.compute(p.counts(weights: $0), warnFor: []).fscore[0]
            }
            #expect(t.delta > 0.15)
            #expect(t.pValue < 0.01, "\(method): \(t.pValue)")
            if method == .bootstrap { #expect(t.low > 0 && t.low <= t.delta && t.delta <= t.high) }
            var rng2 = RandomGenerator(seed: 2)
            let worse = try Resampling.pairedTest(items: 300, method: method, alternative: .less, samples: 1000, ci: 0.95, rng: &rng2) {
                p.compute(p.counts(weights: $0), warnFor: []).fscore[0]
            }
            #expect(worse.pValue > 0.9)
        }
    }

    @Test func permutationPValuesAreUniformishUnderTheNull() throws {
        // two systems of equal quality: p-values should not be small most of the time
        var small = 0
        for seed in 0..<20 {
            var rng = RandomGenerator(seed: UInt64(100 + seed))
            var y: [Int] = [], a: [Int] = [], b: [Int] = []
            for _ in 0..<150 {
                let t = rng.below(2)
                y.append(t)
                a.append(rng.uniform() < 0.7 ? t : 1 - t)
                b.append(rng.uniform() < 0.7 ? t : 1 - t)
            }
            let e = try EncodedLabels([.ints(y + y), .ints(a + b)])
            var r = RandomGenerator(seed: UInt64(seed))
            let t = try Resampling.pairedTest(items: 150, method: .permutation, alternative: .twoSided, samples: 200, ci: 0.95, rng: &r) {
                Classification.accuracy(e, weights: $0)
            }
            if t.pValue < 0.05 { small += 1 }
        }
        #expect(small <= 4, "\(small) of 20 null comparisons had p < 0.05")
    }

    @Test func slicesAndGap() throws {
        let groups = try LabelColumn([.string("a"), .string("a"), .string("b"), .string("b"), .string("c")])
        let e = try EncodedLabels([.ints([1, 0, 1, 1, 0]), .ints([1, 0, 0, 1, 1])])
        let s = try Resampling.slices(groups: groups, metric: "accuracy", minSize: 2) { Classification.accuracy(e, weights: $0) }
        #expect(s.groups.map { $0.score } == [1.0, 0.5, 0.0])
        #expect(s.groups.map { $0.size } == [2, 2, 1])
        #expect(s.gap == 0.5)
        #expect(s.worst == .string("b") && s.best == .string("a"))
        #expect(s.overall == 0.6)
        #expect(s.text.contains("(fewer than 2 items: not in the gap)"))
    }

    @Test func latencyPercentiles() {
        let l = Resampling.Latency(seconds: [0.001, 0.002, 0.003, 0.004], batch: 10)
        #expect(abs(l.p50 - 2.5) < 1e-12)
        #expect(abs(l.p90 - 3.7) < 1e-12)
        #expect(abs(l.mean - 2.5) < 1e-12)
        #expect(l.min == 1 && l.max == 4)
        #expect(abs(l.itemsPerSecond - 4000) < 1e-6)
        #expect(NumPy.percentile(sorted: [1, 2, 3, 4], 90) == 3.7)
        #expect(NumPy.percentile(sorted: [5], 99) == 5)
    }
}

@Suite struct DriftTests {
    @Test func psiOfIdenticalSamplesIsZero() throws {
        let x = (0..<100).map { Double($0) }
        let r = try Drift.psi(expected: x, actual: x)
        #expect(r.psi == 0)
        #expect(r.bins.count == 10)
        #expect(r.bins.first!.hasPrefix("(-inf, "))
        #expect(throws: LatheError.self) { _ = try Drift.psi(expected: [], actual: [1]) }
        #expect(throws: LatheError.self) { _ = try Drift.psi(expected: [.nan], actual: [1]) }
    }

    @Test func oov() throws {
        let r = try Drift.oovRate(reference: ["The cat"], texts: ["the cat dog dog"], lowercase: true)
        #expect(r.rate == 0.5 && r.oovTokens == 2 && r.vocabulary == 2)
        #expect(r.top.first?.0 == "dog" && r.top.first?.1 == 2)
        #expect(throws: LatheError.self) { _ = try Drift.oovRate(reference: ["a"], texts: [" "]) }
    }

    @Test func ksEdges() throws {
        #expect(throws: LatheError.self) { _ = try KolmogorovSmirnov.twoSample([], [1]) }
        #expect(throws: LatheError.self) { _ = try KolmogorovSmirnov.twoSample([1, .nan], [1]) }
        let same = try KolmogorovSmirnov.twoSample([1, 2, 3], [1, 2, 3])
        #expect(same.statistic == 0 && same.pValue == 1)
        let forced = try KolmogorovSmirnov.twoSample([1, 2, 3, 4], [2.5, 3.5, 5, 6, 7], method: "asymp")
        #expect(forced.method == "asymp" && forced.pValue > 0 && forced.pValue < 1)
    }

    @Test func columnKindsMustAgree() throws {
        #expect(throws: LatheError.self) { _ = try Drift.column("x", .numeric([1]), .text(["a b c"]), bins: 10, eps: 1e-4) }
        let d = try Drift.column("plan", .categorical(.bools([true, false])), .categorical(.bools([true, true])), bins: 10, eps: 1e-4)
        #expect(d.kind == "categorical" && d.js! > 0)
        let table = Drift.table([d], referenceRows: 2, currentRows: 2)
        #expect(table.hasPrefix("DriftReport: 1 column, 2 reference rows, 2 current rows\ncolumn  kind"))
    }
}
