import Foundation
import LatheCore
import Testing

/// Golden vectors from scripts/golden/tune_tpe.py (optuna 4.9.0, numpy 2.4.6 on x86-64 with
/// AVX-512): whole Optuna studies replayed trial by trial through TPESampler, Parzen-estimator
/// densities, and numpy legacy RandomState streams.
///
/// Every comparison is bitwise (`==`): the port reproduces numpy's SVML exp/log/log1p/expm1,
/// pairwise summation and argsort tie order, so no tolerance is needed (none is used).
enum TPEGolden {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../fixtures/tune/tpe_golden.json").standardized

    static func load() throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Floats are stored as Python repr() strings, which round-trip exactly.
    static func num(_ v: Any?) -> Double {
        if let s = v as? String, let d = Double(s) { return d }
        if let n = v as? NSNumber { return n.doubleValue }
        return .nan
    }

    static func distribution(_ d: [String: Any]) -> TuneDistribution? {
        switch d["type"] as? String {
        case "categorical":
            return .categorical(d["choices"] as? [String] ?? [])
        case "int":
            guard let low = d["low"] as? Int, let high = d["high"] as? Int, let step = d["step"] as? Int else { return nil }
            return .int(low: low, high: high, log: d["log"] as? Bool ?? false, step: step)
        case "float":
            let step = (d["step"] as? String).flatMap(Double.init)
            return .float(low: num(d["low"]), high: num(d["high"]), log: d["log"] as? Bool ?? false, step: step)
        default:
            return nil
        }
    }

    static func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
}

@Suite struct TPETests {
    /// For each case, a fresh sampler with the case's seed sees trial i's history (earlier trials
    /// with their states, values and intermediate values, plus trial i as RUNNING with the params
    /// suggested so far) and must suggest, parameter by parameter in Optuna's order, exactly
    /// what Optuna suggested (startup trials from the random fallback, the rest from TPE).
    @Test func suggestionsMatchOptuna() throws {
        let doc = try TPEGolden.load()
        let cases = try #require(doc["cases"] as? [[String: Any]])
        #expect(cases.count >= 5)
        var compared = 0
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let seed = UInt32(try #require(c["seed"] as? Int))
            let direction: StudyDirection = (c["direction"] as? String) == "maximize" ? .maximize : .minimize
            var dists = [String: TuneDistribution]()
            for s in try #require(c["space"] as? [[String: Any]]) {
                let name = try #require(s["name"] as? String)
                let d: TuneDistribution = try #require(TPEGolden.distribution(s))
                dists[name] = d
            }
            let sampler = TPESampler(seed: seed, nStartupTrials: c["n_startup_trials"] as? Int ?? 10,
                                     nEICandidates: c["n_ei_candidates"] as? Int ?? 24)
            var history = [FrozenTrial]()
            for t in try #require(c["trials"] as? [[String: Any]]) {
                let number = try #require(t["number"] as? Int)
                let params = try #require(t["params"] as? [String: Any])
                var current = FrozenTrial(number: number, state: .running)
                for p in try #require(t["order"] as? [String]) {
                    let d = try #require(dists[p])
                    let got = sampler.sample(name: p, distribution: d, trials: history + [current],
                                             direction: direction, trialNumber: number)
                    let want = TPEGolden.num(params[p])
                    #expect(TPEGolden.same(got, want), "\(name) trial \(number) \(p): got \(got), Optuna \(want)")
                    compared += 1
                    current.params[p] = want
                    current.distributions[p] = d
                }
                current.state = TrialState(rawValue: t["state"] as? String ?? "") ?? .fail
                if let v = t["value"] as? String { current.value = Double(v) }
                for (k, v) in t["intermediate"] as? [String: Any] ?? [:] {
                    if let step = Int(k) { current.intermediate[step] = TPEGolden.num(v) }
                }
                history.append(current)
            }
        }
        #expect(compared > 1000)
    }

    /// log l(x) of the univariate Parzen estimator for fixed observations, independently of the
    /// random streams (float, log, step, int, int log, int step, categorical; 0 to 30 points).
    @Test func parzenLogPDFMatchesOptuna() throws {
        let doc = try TPEGolden.load()
        let checks = try #require(doc["parzen"] as? [[String: Any]])
        #expect(!checks.isEmpty)
        for c in checks {
            let spec = try #require(c["distribution"] as? [String: Any])
            let d: TuneDistribution = try #require(TPEGolden.distribution(spec))
            let obs = (c["observations"] as? [Any] ?? []).map(TPEGolden.num)
            let points = (c["points"] as? [Any] ?? []).map(TPEGolden.num)
            let want = (c["log_pdf"] as? [Any] ?? []).map(TPEGolden.num)
            let got = TPESampler.parzenLogPDF(distribution: d, observations: obs, points: points)
            try #require(got.count == want.count)
            for i in 0..<want.count {
                #expect(TPEGolden.same(got[i], want[i]),
                        "\(c["kind"] ?? "?") n=\(obs.count) x=\(points[i]): got \(got[i]), Optuna \(want[i])")
            }
        }
    }

    /// numpy's legacy RandomState(seed): raw draws, random_sample, uniform, choice with p.
    @Test func legacyRandomStateMatchesNumpy() throws {
        let doc = try TPEGolden.load()
        let checks = try #require(doc["random_state"] as? [[String: Any]])
        #expect(!checks.isEmpty)
        for c in checks {
            let seed = UInt32(try #require(c["seed"] as? Int))
            var rs = LegacyRandomState(seed: seed)
            for w in c["uint32"] as? [Int] ?? [] {
                #expect(Int(rs.nextUInt32()) == w, "seed \(seed) uint32")
            }
            for v in (c["random_sample"] as? [Any] ?? []).map(TPEGolden.num) {
                #expect(rs.randomSample() == v, "seed \(seed) random_sample")
            }
            let uni = try #require(c["uniform"] as? [String: Any])
            for v in (uni["values"] as? [Any] ?? []).map(TPEGolden.num) {
                #expect(rs.uniform(low: TPEGolden.num(uni["low"]), high: TPEGolden.num(uni["high"])) == v,
                        "seed \(seed) uniform")
            }
            let ch = try #require(c["choice"] as? [String: Any])
            let p = (ch["p"] as? [Any] ?? []).map(TPEGolden.num)
            let want = ch["values"] as? [Int] ?? []
            #expect(rs.choice(probabilities: p, size: want.count) == want, "seed \(seed) choice")
        }
    }

    /// A single-valued distribution is returned without drawing from either random stream.
    @Test func singleValueDistributionsDoNotDraw() {
        let a = TPESampler(seed: 3), b = TPESampler(seed: 3)
        let running = [FrozenTrial(number: 0, state: .running)]
        #expect(a.sample(name: "c", distribution: .int(low: 4, high: 4, log: false, step: 1), trials: running,
                         direction: .minimize, trialNumber: 0) == 4)
        #expect(a.sample(name: "k", distribution: .categorical(["only"]), trials: running,
                         direction: .minimize, trialNumber: 0) == 0)
        let d = TuneDistribution.float(low: 0, high: 1, log: false, step: nil)
        #expect(a.sample(name: "x", distribution: d, trials: running, direction: .minimize, trialNumber: 0)
            == b.sample(name: "x", distribution: d, trials: running, direction: .minimize, trialNumber: 0))
    }
}
