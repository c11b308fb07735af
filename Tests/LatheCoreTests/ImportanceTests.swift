import Foundation
import LatheCore
import Testing

/// Golden vectors from scripts/golden/tune_importance.py (optuna 4.9.0, numpy 2.4.6, CPython 3.11
/// on x86-64 with AVX-512): Optuna's `get_param_importances(study,
/// evaluator=PedAnovaImportanceEvaluator(), params=...)` for whole studies (TPE and random
/// sampling; float, log, int, int-log, stepped and categorical parameters; constant
/// distributions, conditional parameters, pruned/failed/infinite trials, ties), or the error
/// Optuna raised (where ParamImportance returns []).
///
/// Names and order must match exactly; values are compared bitwise, with the largest relative
/// difference reported should any differ (the port is meant to be exact; 1e-12 is the bound).
enum ImportanceGolden {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../fixtures/tune/importance_golden.json").standardized

    static func load() throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Floats are stored as Python repr() strings ("inf", "-inf" included), which round-trip exactly.
    static func num(_ v: Any?) -> Double? {
        if let s = v as? String { return Double(s) }
        if let n = v as? NSNumber { return n.doubleValue }
        return nil
    }

    static func distribution(_ d: [String: Any]) -> TuneDistribution? {
        switch d["type"] as? String {
        case "categorical":
            return .categorical(d["choices"] as? [String] ?? [])
        case "int":
            guard let low = d["low"] as? Int, let high = d["high"] as? Int, let step = d["step"] as? Int else { return nil }
            return .int(low: low, high: high, log: d["log"] as? Bool ?? false, step: step)
        case "float":
            guard let low = num(d["low"]), let high = num(d["high"]) else { return nil }
            return .float(low: low, high: high, log: d["log"] as? Bool ?? false, step: num(d["step"]))
        default:
            return nil
        }
    }

    /// A trial; its distributions are indices into the case's "distribution_table".
    static func trial(_ t: [String: Any], table: [TuneDistribution]) -> FrozenTrial? {
        guard let number = t["number"] as? Int, let stateName = t["state"] as? String,
              let state = TrialState(rawValue: stateName),
              let params = t["params"] as? [String: Any], let dists = t["distributions"] as? [String: Int]
        else { return nil }
        var trial = FrozenTrial(number: number, state: state, value: num(t["value"]))
        for (k, v) in params {
            guard let x = num(v) else { return nil }
            trial.params[k] = x
        }
        for (k, i) in dists {
            guard table.indices.contains(i) else { return nil }
            trial.distributions[k] = table[i]
        }
        return trial
    }
}

@Suite struct ImportanceTests {
    @Test func pedANOVAMatchesOptuna() throws {
        let doc = try ImportanceGolden.load()
        let cases = try #require(doc["cases"] as? [[String: Any]])
        #expect(cases.count >= 20)
        var compared = 0
        var maxRel = 0.0
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let direction: StudyDirection = (c["direction"] as? String) == "maximize" ? .maximize : .minimize
            let params = c["params"] as? [String]
            let table = try #require(c["distribution_table"] as? [[String: Any]]).map { try #require(ImportanceGolden.distribution($0)) }
            let trialsJSON = try #require(c["trials"] as? [[String: Any]])
            let trials = trialsJSON.compactMap { ImportanceGolden.trial($0, table: table) }
            #expect(trials.count == trialsJSON.count, "\(name): unreadable trials")
            let got = ParamImportance.pedANOVA(trials: trials, direction: direction, params: params)
            guard let expected = c["expected"] as? [[String]] else {
                // Optuna raised (recorded in "error"): the port returns nothing.
                #expect(got.isEmpty, "\(name): Optuna raised \(c["error"] ?? "?"), got \(got)")
                continue
            }
            #expect(got.map(\.name) == expected.map { $0[0] }, "\(name): order \(got.map(\.name)) vs Optuna \(expected.map { $0[0] })")
            guard got.count == expected.count else { continue }
            for (g, e) in zip(got, expected) {
                let want = try #require(Double(e[1]))
                let rel = want == 0 ? abs(g.importance) : abs(g.importance - want) / abs(want)
                maxRel = max(maxRel, rel)
                #expect(g.importance == want, "\(name) \(e[0]): got \(g.importance), Optuna \(want) (rel \(rel))")
                #expect(rel <= 1e-12)
                compared += 1
            }
            let total = got.reduce(0.0) { $0 + $1.importance }
            #expect(got.isEmpty || abs(total - 1) < 1e-12, "\(name): importances sum to \(total)")
        }
        #expect(compared >= 60)
        #expect(maxRel <= 1e-12)
    }

    /// Single-valued distributions and the empty/too-few cases, without the fixture.
    @Test func edgeCases() {
        let d = TuneDistribution.float(low: 0, high: 1, log: false, step: nil)
        let constant = TuneDistribution.int(low: 2, high: 2, log: false, step: 1)
        func t(_ i: Int, _ x: Double, _ v: Double?, _ s: TrialState = .complete) -> FrozenTrial {
            FrozenTrial(number: i, state: s, params: ["x": x, "k": 2], distributions: ["x": d, "k": constant], value: v)
        }
        // Fewer than two complete trials: Optuna raises; nothing here.
        #expect(ParamImportance.pedANOVA(trials: [t(0, 0.5, 1)], direction: .minimize).isEmpty)
        // Two complete trials: too few for the estimate, so 1/n each, by name.
        let two = ParamImportance.pedANOVA(trials: [t(0, 0.5, 1), t(1, 0.2, 2), t(2, 0.3, nil, .pruned)], direction: .minimize)
        #expect(two.map(\.name) == ["k", "x"])
        #expect(two.map(\.importance) == [0.5, 0.5])
        // Enough trials: the constant parameter gets 0 and comes last.
        let many = (0..<20).map { t($0, Double($0) / 20, Double(($0 * 7) % 20)) }
        let r = ParamImportance.pedANOVA(trials: many, direction: .maximize)
        #expect(r.map(\.name) == ["x", "k"])
        #expect(r.last?.importance == 0)
        #expect(r.first?.importance == 1)
        // params: [] gives nothing.
        #expect(ParamImportance.pedANOVA(trials: many, direction: .minimize, params: []).isEmpty)
    }
}
