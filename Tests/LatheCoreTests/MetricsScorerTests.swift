import Foundation
import LatheCore
import Testing

/// The named metrics behind bootstrap, paired tests and slices (`Scorer.named`), drift
/// datasets and the result texts, as a Swift user of LatheCore calls them.
@Suite struct ScorerTests {
    let hyps = ["the cat sat on the mat", "a dog barked at night", "hello world", "good morning to you", "see you later"]
    let refs = ["the cat sat on a mat", "the dog barked loudly", "hello there world", "good morning to you", "see you soon"]

    /// Rows repeated as many times as their weight.
    func drawn<T>(_ xs: [T], _ w: [Int32]) -> [T] { zip(xs, w).flatMap { Array(repeating: $0, count: Int($1)) } }

    @Test func bootstrapsBLEUFromSegmentStatistics() throws {
        let s = try Scorer.named("bleu", .texts(references: refs.map { [$0] }, systems: [hyps]))
        #expect(s.rows == 5)
        let corpus = try BLEU().corpus(hyps, [refs]).score
        #expect(try s.score([1, 1, 1, 1, 1]) == corpus)
        // a resample is the corpus BLEU of the rows drawn, not a mean of sentence scores
        let w: [Int32] = [2, 0, 1, 1, 0]
        #expect(try s.score(w) == (try BLEU().corpus(drawn(hyps, w), [drawn(refs, w)]).score))
        var rng = RandomGenerator(seed: 3)
        let r = try Resampling.bootstrap(items: s.rows, samples: 200, ci: 0.9, rng: &rng, score: s.score)
        #expect(r.score == corpus)
        #expect(r.low < r.score && r.score < r.high, "\(r)")
        #expect(r.text(metric: "bleu").hasPrefix("bleu = \(pyFixed(corpus, 4)) (90% CI "))
    }

    @Test func errorRatesSumEditsOverTheRowsDrawn() throws {
        let s = try Scorer.named("wer", .texts(references: refs.map { [$0] }, systems: [hyps]))
        let w: [Int32] = [0, 3, 1, 0, 1]
        #expect(try s.score(w) == (try TextMetrics.wer(predictions: drawn(hyps, w), references: drawn(refs, w)).rate))
        let c = try Scorer.named("cer", .texts(references: refs.map { [$0] }, systems: [hyps]))
        #expect(try c.score([1, 1, 1, 1, 1]) == (try TextMetrics.cer(predictions: hyps, references: refs).rate))
        #expect(try c.score([0, 0, 0, 0, 0]).isNaN)
    }

    @Test func pairedRowsHoldTwoSystems() throws {
        let y = LabelColumn.ints([1, 0, 1, 1, 0, 1, 0, 0])
        let a = LabelColumn.ints([1, 0, 0, 1, 1, 1, 0, 1]), b = LabelColumn.ints([1, 0, 1, 1, 0, 0, 0, 0])
        var o = Scorer.Options()
        o.prf.average = .macro
        let s = try Scorer.named("f1", .labels(truth: y, systems: [a, b]), options: o)
        #expect(s.rows == 16)
        let ones = [Int32](repeating: 1, count: 8), zeros = [Int32](repeating: 0, count: 8)
        var p = PRFOptions()
        p.average = .macro
        #expect(try s.score(ones + zeros) == (try Classification.prf(EncodedLabels([y, a]), p).fscore[0]))
        #expect(try s.score(zeros + ones) == (try Classification.prf(EncodedLabels([y, b]), p).fscore[0]))
        var rng = RandomGenerator(seed: 1)
        let t = try Resampling.pairedTest(items: 8, method: .permutation, alternative: .twoSided, samples: 100, ci: 0.95, rng: &rng, score: s.score)
        #expect(t.text(metric: "f1").contains("approximate randomization, two-sided, 100 samples)"))
    }

    @Test func rankingScoresRepeatDrawnRows() throws {
        let y = LabelColumn.ints([0, 0, 1, 1, 0]), scores = [0.1, 0.4, 0.35, 0.8, 0.5]
        let s = try Scorer.named("roc_auc", .scores(truth: y, systems: [scores]))
        let w: [Int32] = [2, 1, 0, 1, 1]
        let yd = try LabelColumn(drawn((0..<5).map { y[$0] }, w))
        #expect(try s.score(w) == (try Ranking.rocAUC(yd, drawn(scores, w)).value))
    }

    @Test func namesAndDataAreChecked() throws {
        #expect(Scorer.names.count == 17 && Scorer.names.contains("rougeLsum"))
        let y = LabelColumn.ints([1, 0])
        #expect(throws: LatheError("unknown metric \"acuracy\"; did you mean \"accuracy\"? (expected a function or one of: \(Scorer.names.joined(separator: ", ")))")) {
            try Scorer.named("acuracy", .labels(truth: y, systems: [y]))
        }
        #expect(throws: LatheError("metric \"bleu\" compares predictions against references, not labels against labels")) {
            try Scorer.named("bleu", .labels(truth: y, systems: [y]))
        }
        #expect(throws: LatheError("metric \"fbeta\" needs the beta option")) { try Scorer.named("fbeta", .labels(truth: y, systems: [y])) }
        #expect(throws: LatheError("system 2 has 1 rows but the truth has 2")) {
            try Scorer.named("accuracy", .labels(truth: y, systems: [y, .ints([1])]))
        }
        var o = Scorer.Options()
        o.prf.average = .none
        #expect(throws: LatheError.self) { try Scorer.named("recall", .labels(truth: y, systems: [y]), options: o) }
    }
}

@Suite struct DriftDatasetTests {
    @Test func dataTablesAndColumnsGiveTheSameReport() throws {
        let ref = try DataTable(names: ["age", "plan"], columns: [Column(integers: [31, 45, nil, 39]), Column(strings: ["pro", "free", "free", nil])])
        let cur = try DataTable(names: ["age", "plan"], columns: [Column(integers: [52, 61, 51, 58]), Column(strings: ["pro", "pro", "pro", "free"])])
        let fromTables = try Drift.report(reference: Drift.Dataset(ref), current: Drift.Dataset(cur))
        let cols = Drift.Dataset(columns: ["age": [.number(31), .number(45), .missing, .number(39)], "plan": [.string("pro"), .string("free"), .string("free")]], rows: 4)
        let fromColumns = try Drift.report(reference: cols, current: Drift.Dataset(cur))
        #expect(fromTables.columns.map(\.kind) == ["numeric", "categorical"])
        #expect(fromTables.columns.map(\.psi) == fromColumns.columns.map(\.psi))
        #expect(fromTables.columns[0].ks == 1.0)
        #expect(fromTables.text.hasPrefix("DriftReport: 2 columns, 4 reference rows, 4 current rows\n"))
        #expect(throws: LatheError("column 'zip' is not in the reference data")) {
            try Drift.report(reference: Drift.Dataset(ref), current: Drift.Dataset(cur), columns: ["zip"])
        }
    }

    @Test func columnKindsFollowTheValues() throws {
        let text = try Drift.Column("note", [.string("the app is great"), .string("too slow on my phone")])
        guard case .text = text else { Issue.record("expected text, got \(text)"); return }
        guard case .categorical = try Drift.Column("plan", [.string("pro"), .string("free")]) else { Issue.record("expected categorical"); return }
        guard case .text = try Drift.Column("plan", [.string("pro")], like: text) else { Issue.record("the current data takes the reference's kind"); return }
        #expect(throws: LatheError("column 'x' mixes numbers, strings and booleans")) { try Drift.Column("x", [.number(1), .string("a")]) }
        #expect(throws: LatheError("column 'x' has no values")) { try Drift.Column("x", []) }
        #expect(throws: LatheError.self) { try Drift.jensenShannon([0.5, 0.5], [0.9, 0.1], base: 1) }
    }
}

@Suite struct MetricsInputTests {
    @Test func labelsFromTensors() throws {
        guard case .ints(let a) = try LabelColumn(Tensor(floats: [1, 0, 2], shape: [3, 1])) else { Issue.record("expected integers"); return }
        #expect(a == [1, 0, 2])
        #expect(throws: LatheError("a float32 tensor of labels must hold integers, element 2 is 0.5")) { try LabelColumn(Tensor(floats: [1, 0.5], shape: [2])) }
        #expect(throws: LatheError("expected a 1-D tensor of labels, got shape [2,2]")) { try LabelColumn(Tensor(int64s: [1, 0, 1, 1], shape: [2, 2])) }
    }

    @Test func latencyTextSurvivesZeroTimes() {
        let l = Resampling.Latency(seconds: [0, 0], batch: 1)
        #expect(l.text.hasSuffix("inf items/s (2 runs, batch 1)"), "\(l.text)")
        #expect(Resampling.Latency(seconds: [0.001, 0.003], batch: 10).text == "p50 2 ms  p90 2.8 ms  p99 2.98 ms  mean 2 ms  5,000 items/s (2 runs, batch 10)")
    }

    @Test func corpusAnswerMetricsAreMeans() throws {
        #expect(try TextMetrics.exactMatch(predictions: ["The Eiffel Tower", "Paris"], references: [["eiffel tower"], ["Lyon", "Marseille"]]) == 0.5)
        #expect(throws: LatheError("there are 1 predictions but 2 references")) { try TextMetrics.tokenF1(predictions: ["a"], references: [["a"], ["b"]]) }
    }
}
