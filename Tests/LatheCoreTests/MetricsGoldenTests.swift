import Foundation
import LatheCore
import TestSupport
import Testing

/// Golden vectors from scripts/golden/metrics.py (scikit-learn 1.9.1, sacrebleu 2.6.0,
/// rouge-score 0.1.2, NLTK 3.10.4, SciPy 1.17.1, jiwer 4.0.0).
enum Golden {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/metrics").standardized

    static func load(_ name: String) throws -> Any {
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    static func num(_ v: Any?) -> Double? {
        if let s = v as? String {
            switch s {
            case "nan": return .nan
            case "inf": return .infinity
            case "-inf": return -.infinity
            default: return nil
            }
        }
        if let n = v as? NSNumber { return n.doubleValue }
        return nil
    }

    static func nums(_ v: Any?) -> [Double] { (v as? [Any] ?? []).map { num($0) ?? .nan } }

    static func label(_ v: Any) -> LabelValue {
        if let s = v as? String { return .string(s) }
        if let n = v as? NSNumber {
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            return .int(n.intValue)
        }
        return .string("?")
    }

    static func labels(_ v: Any?) -> [LabelValue]? {
        guard let a = v as? [Any] else { return nil }
        return a.map(label)
    }

    static func column(_ v: Any?) throws -> LabelColumn { try LabelColumn(labels(v) ?? []) }
}

func close(_ a: Double, _ b: Double, _ tol: Double = 1e-12) -> Bool {
    isClose(a, b, rtol: tol, atol: tol)
}

func closeAll(_ a: [Double], _ b: [Double], _ tol: Double = 1e-12) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { close($0, $1, tol) }
}

@Suite struct ClassificationGolden {
    let cases = (try? Golden.load("classification.json")) as? [[String: Any]] ?? []

    @Test func loaded() { #expect(cases.count > 20) }

    @Test func accuracyAndPRF() throws {
        var checked = 0
        for c in cases {
            let name = c["name"] as! String
            let enc = try EncodedLabels([try Golden.column(c["y_true"]), try Golden.column(c["y_pred"])])
            #expect(close(Classification.accuracy(enc), Golden.num(c["accuracy"])!), "\(name) accuracy")
            for r in c["prf"] as! [[String: Any]] {
                var o = PRFOptions()
                o.average = AverageMode(rawValue: r["average"] as! String)!
                let zd = r["zero_division"]!
                if let s = zd as? String { o.zeroDivision = s == "warn" ? .warn : .value(.nan) } else { o.zeroDivision = .value(Golden.num(zd)!) }
                o.beta = Golden.num(r["beta"])!
                if let pl = r["pos_label"], !(pl is NSNull) {
                    o.posLabel = Golden.label(pl)
                    o.posLabelGiven = true
                }
                o.labels = Golden.labels(r["labels"])
                let what = "\(name) \(r["average"]!) zd=\(zd) beta=\(o.beta) pos=\(o.posLabel) labels=\(String(describing: o.labels))"
                if let err = r["error"] as? String {
                    #expect(throws: LatheError.self, "\(what) should fail like sklearn's \(err)") { _ = try Classification.prf(enc, o) }
                    checked += 1
                    continue
                }
                let res = try Classification.prf(enc, o)
                if o.average == .none {
                    #expect(closeAll(res.precision, Golden.nums(r["precision"])), "\(what) precision \(res.precision)")
                    #expect(closeAll(res.recall, Golden.nums(r["recall"])), "\(what) recall")
                    #expect(closeAll(res.fscore, Golden.nums(r["fscore"])), "\(what) fscore \(res.fscore) vs \(Golden.nums(r["fscore"]))")
                    #expect(res.support == Golden.nums(r["support"]).map { Int($0) }, "\(what) support")
                } else {
                    #expect(close(res.precision[0], Golden.num(r["precision"])!), "\(what) precision \(res.precision[0]) vs \(r["precision"]!)")
                    #expect(close(res.recall[0], Golden.num(r["recall"])!), "\(what) recall \(res.recall[0]) vs \(r["recall"]!)")
                    #expect(close(res.fscore[0], Golden.num(r["fscore"])!), "\(what) fscore \(res.fscore[0]) vs \(r["fscore"]!)")
                }
                // sklearn warns exactly when we do (same first sentence)
                let theirs = Set((r["warnings"] as! [String]).filter { $0.contains("ill-defined") }.map { $0.components(separatedBy: ". ")[0] })
                let ours = Set(res.warnings.filter { $0.contains("ill-defined") }.map { $0.components(separatedBy: ". ")[0] })
                #expect(theirs == ours, "\(what) warnings \(ours) vs \(theirs)")
                checked += 1
            }
        }
        #expect(checked > 900)
    }

    @Test func confusionMatrices() throws {
        for c in cases {
            let name = c["name"] as! String
            let enc = try EncodedLabels([try Golden.column(c["y_true"]), try Golden.column(c["y_pred"])])
            for r in c["confusion"] as! [[String: Any]] {
                let labels = Golden.labels(r["labels"])
                let normalize = r["normalize"] as? String
                if r["error"] is String {
                    #expect(throws: LatheError.self) { _ = try Classification.confusion(enc, labels: labels, normalize: normalize) }
                    continue
                }
                let m = try Classification.confusion(enc, labels: labels, normalize: normalize)
                let want = (r["matrix"] as! [[Any]]).map(Golden.nums)
                let got = m.normalized ?? m.counts.map { $0.map(Double.init) }
                #expect(got.count == want.count && zip(got, want).allSatisfy { closeAll($0, $1) }, "\(name) \(String(describing: labels)) \(String(describing: normalize))")
            }
        }
    }

    @Test func reportText() throws {
        var n = 0
        for c in cases {
            let name = c["name"] as! String
            let enc = try EncodedLabels([try Golden.column(c["y_true"]), try Golden.column(c["y_pred"])])
            if enc.classes.contains(where: { if case .bool = $0 { return true } else { return false } }) { continue }
            for r in c["report"] as! [[String: Any]] {
                let zd = r["zero_division"]!
                let z: ZeroDivision = (zd as? String).map { $0 == "warn" ? .warn : .value(.nan) } ?? .value(Golden.num(zd)!)
                let rep = try Classification.report(enc, labels: Golden.labels(r["labels"]),
                                                    targetNames: r["target_names"] as? [String],
                                                    digits: r["digits"] as! Int, zeroDivision: z)
                // scikit-learn 1.9 prints the supports as floats ("3.0") when no prediction is
                // right (its pathological-case zeros are floats); Lathe prints integers.
                let want = (r["text"] as! String).replacingOccurrences(of: "([0-9]+)\\.0\n", with: "  $1\n", options: .regularExpression)
                #expect(rep.text == want, "\(name)\n\(rep.text)\nvs\n\(want)")
                n += 1
            }
        }
        #expect(n > 100)
    }
}

@Suite struct RankingGolden {
    let g = (try? Golden.load("ranking.json")) as? [String: Any] ?? [:]

    @Test func rocAUC() throws {
        for c in g["roc_auc"] as! [[String: Any]] {
            let name = c["name"] as! String
            let y = try Golden.column(c["y_true"])
            let s = Golden.nums(c["scores"])
            let (v, w) = try Ranking.rocAUC(y, s)
            #expect(close(v, Golden.num(c["value"])!), "\(name): \(v) vs \(c["value"]!)")
            #expect(w.isEmpty == (c["warnings"] as! [String]).isEmpty, "\(name) warnings \(w)")
        }
    }

    @Test func averagePrecision() throws {
        for c in g["average_precision"] as! [[String: Any]] {
            let name = c["name"] as! String
            let y = try Golden.column(c["y_true"])
            let s = Golden.nums(c["scores"])
            let pos = (c["pos_label"] as? String).map { LabelValue.string($0) }
            if c["error"] is String {
                #expect(throws: LatheError.self, "\(name)") { _ = try Ranking.averagePrecision(y, s, posLabel: pos) }
                continue
            }
            let (v, w) = try Ranking.averagePrecision(y, s, posLabel: pos)
            #expect(close(v, Golden.num(c["value"])!), "\(name): \(v) vs \(c["value"]!)")
            #expect(w.isEmpty == (c["warnings"] as! [String]).isEmpty, "\(name) warnings \(w) vs \(c["warnings"]!)")
        }
    }

    static func probs(_ v: Any?) -> [[Double]] {
        let a = v as! [Any]
        if a.first is [Any] { return a.map { Golden.nums($0) } }
        return Golden.nums(a).map { [$0] }
    }

    @Test func logLoss() throws {
        for c in g["log_loss"] as! [[String: Any]] {
            let name = c["name"] as! String
            let y = try Golden.column(c["y_true"])
            if c["error"] is String {
                #expect(throws: LatheError.self, "\(name)") {
                    _ = Ranking.logLoss(try Ranking.probabilityTable(y, RankingGolden.probs(c["proba"]), labels: Golden.labels(c["labels"])))
                }
                continue
            }
            let t = try Ranking.probabilityTable(y, RankingGolden.probs(c["proba"]), labels: Golden.labels(c["labels"]))
            let v = Ranking.logLoss(t)
            #expect(close(v, Golden.num(c["value"])!), "\(name): \(v) vs \(c["value"]!)")
            let theirs = (c["warnings"] as! [String]).contains { $0.contains("sum to one") }
            #expect(t.warnings.contains { $0.contains("sum to one") } == theirs, "\(name) \(t.warnings)")
        }
    }

    @Test func ece() throws {
        for c in g["ece"] as! [[String: Any]] {
            let name = c["name"] as! String
            let t = try Ranking.probabilityTable(try Golden.column(c["y_true"]), RankingGolden.probs(c["proba"]), labels: Golden.labels(c["labels"]))
            let (v, bins) = try Ranking.ece(t, bins: c["bins"] as! Int)
            #expect(close(v, Golden.num(c["value"])!, 1e-12), "\(name) bins=\(c["bins"]!): \(v) vs \(c["value"]!)")
            let per = c["per_bin"] as! [[String: Any]]
            #expect(bins.map { $0.count } == per.map { $0["count"] as! Int }, "\(name) bin counts")
        }
    }
}

@Suite struct BLEUGolden {
    let g = (try? Golden.load("bleu.json")) as? [String: Any] ?? [:]

    @Test func tokenizer13a() throws {
        for c in g["tokenizer_13a"] as! [[String: Any]] {
            let line = c["line"] as! String
            let want = c["tokens"] as! String
            let got = String(decoding: SacreTokenizer.tokenize13a(Array(PyText.rstrip(line).utf8)), as: UTF8.self)
            #expect(PyText.split(got) == PyText.split(want), "\(line.debugDescription): \(got.debugDescription) vs \(want.debugDescription)")
        }
    }

    static func options(_ d: [String: Any]) -> BLEUOptions {
        var o = BLEUOptions()
        if let v = d["smooth_method"] as? String { o.smoothMethod = v }
        if let v = d["smooth_value"] { o.smoothValue = Golden.num(v) }
        if let v = d["lowercase"] as? Bool { o.lowercase = v }
        if let v = d["tokenize"] as? String { o.tokenize = v }
        if let v = d["effective_order"] as? Bool { o.effectiveOrder = v }
        if let v = d["max_ngram_order"] as? Int { o.maxNgramOrder = v }
        return o
    }

    @Test func corpus() throws {
        for c in g["corpus"] as! [[String: Any]] {
            let name = c["name"] as! String
            let hyps = c["hyps"] as! [String]
            let refs = (c["refs"] as! [[Any]]).map { $0.map { $0 as? String } }
            let b = try BLEU(BLEUGolden.options(c["options"] as! [String: Any]))
            let s = try b.corpus(hyps, refs)
            #expect(close(s.score, Golden.num(c["score"])!), "\(name): \(s.score) vs \(c["score"]!)")
            #expect(closeAll(s.counts, Golden.nums(c["counts"])), "\(name) counts \(s.counts) vs \(c["counts"]!)")
            #expect(closeAll(s.totals, Golden.nums(c["totals"])), "\(name) totals")
            #expect(closeAll(s.precisions, Golden.nums(c["precisions"])), "\(name) precisions")
            #expect(close(s.bp, Golden.num(c["bp"])!), "\(name) bp")
            #expect(s.sysLen == c["sys_len"] as! Int && s.refLen == c["ref_len"] as! Int, "\(name) lengths \(s.sysLen) \(s.refLen)")
            #expect(s.signature == c["signature"] as! String, "\(name) signature \(s.signature)")
            #expect(s.text == c["text"] as! String, "\(name) text \(s.text)")
        }
    }

    @Test func sentence() throws {
        for c in g["sentence"] as! [[String: Any]] {
            var o = BLEUOptions()
            o.smoothMethod = c["smooth_method"] as! String
            o.effectiveOrder = true
            let s = try BLEU(o).sentence(c["hyp"] as! String, c["refs"] as! [String])
            #expect(close(s.score, Golden.num(c["score"])!), "\(c["hyp"]!) \(o.smoothMethod): \(s.score) vs \(c["score"]!)")
            #expect(closeAll(s.precisions, Golden.nums(c["precisions"])))
        }
    }
}

@Suite struct CHRFGolden {
    let g = (try? Golden.load("chrf.json")) as? [String: Any] ?? [:]

    @Test func corpus() throws {
        for c in g["corpus"] as! [[String: Any]] {
            let name = c["name"] as! String
            let d = c["options"] as! [String: Any]
            var o = CHRFOptions()
            if let v = d["word_order"] as? Int { o.wordOrder = v }
            if let v = d["char_order"] as? Int { o.charOrder = v }
            if let v = d["beta"] { o.beta = Golden.num(v)! }
            if let v = d["lowercase"] as? Bool { o.lowercase = v }
            if let v = d["whitespace"] as? Bool { o.whitespace = v }
            if let v = d["eps_smoothing"] as? Bool { o.epsSmoothing = v }
            let refs = (c["refs"] as! [[Any]]).map { $0.map { $0 as? String } }
            let s = try CHRF(o).corpus(c["hyps"] as! [String], refs)
            #expect(s.statistics == (c["statistics"] as! [Int]), "\(name) stats")
            #expect(close(s.score, Golden.num(c["score"])!), "\(name): \(s.score) vs \(c["score"]!)")
            #expect(s.signature == c["signature"] as! String, "\(name) \(s.signature)")
            #expect(s.text == c["text"] as! String, "\(name) \(s.text)")
        }
    }

    @Test func sentence() throws {
        for c in g["sentence"] as! [[String: Any]] {
            var o = CHRFOptions()
            o.wordOrder = c["word_order"] as! Int
            let s = try CHRF(o).sentence(c["hyp"] as! String, c["refs"] as! [String])
            #expect(close(s.score, Golden.num(c["score"])!))
        }
    }
}

@Suite struct RougeGolden {
    let g = (try? Golden.load("rouge.json")) as? [String: Any] ?? [:]

    func same(_ got: [String: RougeScore], _ want: [String: Any], _ what: String) {
        for (k, v) in want {
            let w = Golden.nums(v)
            guard let s = got[k] else { Issue.record("\(what): no \(k)"); continue }
            #expect(closeAll([s.precision, s.recall, s.fmeasure], w), "\(what) \(k): \(s) vs \(w)")
        }
    }

    @Test func pairs() throws {
        for c in g["pairs"] as! [[String: Any]] {
            let r = Rouge(stem: c["stem"] as! Bool)
            let s = try r.score(target: c["target"] as! String, prediction: c["prediction"] as! String)
            same(s, c["scores"] as! [String: Any], "\((c["target"] as! String).debugDescription) stem=\(c["stem"]!)")
        }
    }

    @Test func multi() throws {
        for c in g["multi"] as! [[String: Any]] {
            let r = Rouge(stem: c["stem"] as! Bool)
            let s = try r.scoreMulti(targets: c["targets"] as! [String], prediction: c["prediction"] as! String)
            same(s, c["scores"] as! [String: Any], "multi")
        }
    }

    @Test func corpus() throws {
        for c in g["corpus"] as! [[String: Any]] {
            let r = Rouge(stem: c["stem"] as! Bool)
            let (mean, items) = try r.corpus(predictions: c["predictions"] as! [String], references: (c["references"] as! [String]).map { [$0] })
            #expect(items.count == (c["predictions"] as! [String]).count)
            same(mean, c["mean"] as! [String: Any], "corpus")
        }
    }

    @Test func porterMatchesNLTK() throws {
        let words = try Golden.load("porter.json") as! [[String]]
        #expect(words.count > 3000)
        var bad: [String] = []
        for w in words where PorterStemmer.stem(w[0]) != w[1] { bad.append("\(w[0]) -> \(PorterStemmer.stem(w[0])) (nltk \(w[1]))") }
        #expect(bad.isEmpty, "\(bad.prefix(20))")
    }
}

@Suite struct MetricsTextGolden {
    let g = (try? Golden.load("text.json")) as? [String: Any] ?? [:]

    @Test func squad() throws {
        for c in g["squad"] as! [[String: Any]] {
            let p = c["prediction"] as! String, rs = c["references"] as! [String]
            #expect(TextMetrics.normalizeAnswer(p) == c["normalized"] as! String, "\(p.debugDescription): \(TextMetrics.normalizeAnswer(p).debugDescription)")
            #expect(TextMetrics.exactMatch(p, rs) == Golden.num(c["exact_match"])!, "\(p) EM")
            #expect(close(TextMetrics.tokenF1(p, rs), Golden.num(c["f1"])!), "\(p) F1")
        }
    }

    @Test func errorRates() throws {
        for c in g["error_rates"] as! [[String: Any]] {
            let p = c["predictions"] as! [String], r = c["references"] as! [String]
            let w = try TextMetrics.wer(predictions: p, references: r)
            let ch = try TextMetrics.cer(predictions: p, references: r)
            #expect(close(w.rate, Golden.num(c["wer"])!), "\(c["name"]!) WER \(w.rate) vs \(c["wer"]!)")
            #expect(close(ch.rate, Golden.num(c["cer"])!), "\(c["name"]!) CER \(ch.rate) vs \(c["cer"]!)")
        }
    }
}

func lcgSample(_ seed: Int, _ n: Int, _ shift: Double) -> [Double] {
    var x = seed
    var out: [Double] = []
    out.reserveCapacity(n)
    for _ in 0..<n {
        var s = 0.0
        for _ in 0..<3 {
            x = (1103515245 * x + 12345) % 2147483648
            s += Double(x) / 2147483648.0
        }
        out.append(s / 3 + shift)
    }
    return out
}

@Suite struct DriftGolden {
    let g = (try? Golden.load("drift.json")) as? [String: Any] ?? [:]

    @Test func ksMatchesScipy() throws {
        for c in g["ks"] as! [[String: Any]] {
            let name = c["name"] as! String
            var a = Golden.nums(c["a"]), b = Golden.nums(c["b"])
            if let gen = c["generate"] as? [String: Any] {
                let ga = gen["a"] as! [Any]
                a = lcgSample(ga[0] as! Int, ga[1] as! Int, Golden.num(ga[2])!)
                if let q = gen["quantiles"] as? Int {
                    let sorted = a.sorted()
                    b = (1...q).map { sorted[Int((Double($0) - 0.2) / Double(q) * Double(a.count))] }
                } else {
                    let gb = gen["b"] as! [Any]
                    b = lcgSample(gb[0] as! Int, gb[1] as! Int, Golden.num(gb[2])!)
                }
            }
            let r = try KolmogorovSmirnov.twoSample(a, b)
            #expect(close(r.statistic, Golden.num(c["statistic"])!, 1e-12), "\(name) D \(r.statistic) vs \(c["statistic"]!)")
            let want = Golden.num(c["pvalue"])!
            #expect(close(r.pValue, want, 1e-9) || abs(r.pValue - want) < 1e-15, "\(name) p \(r.pValue) vs \(want) (\(r.method))")
            #expect(close(r.location, Golden.num(c["location"])!), "\(name) location")
        }
    }

    @Test func jensenShannonMatchesScipy() throws {
        for c in g["js"] as! [[String: Any]] {
            let p = Golden.nums(c["p"]), q = Golden.nums(c["q"])
            #expect(close(try Drift.jensenShannon(p, q), Golden.num(c["base_e"])!), "\(p) \(q)")
            #expect(close(try Drift.jensenShannon(p, q, base: 2), Golden.num(c["base_2"])!))
        }
    }

    @Test func psi() throws {
        for c in g["psi"] as! [[String: Any]] {
            let r = try Drift.psi(expected: Golden.nums(c["expected"]), actual: Golden.nums(c["actual"]), bins: c["bins"] as! Int)
            #expect(close(r.psi, Golden.num(c["psi"])!), "\(c["name"]!) \(r.psi) vs \(c["psi"]!)")
            #expect(closeAll(Array(r.edges.dropLast()), Golden.nums(c["cuts"])), "\(c["name"]!) cuts")
            #expect(closeAll(r.expected, Golden.nums(c["expected_p"])) && closeAll(r.actual, Golden.nums(c["actual_p"])))
        }
        for c in g["categorical"] as! [[String: Any]] {
            let e = try Golden.column(c["expected"]), a = try Golden.column(c["actual"])
            #expect(close(try Drift.psi(expected: e, actual: a).psi, Golden.num(c["psi"])!))
            let d = try Drift.distributions(e, a)
            #expect(close(try Drift.jensenShannon(d.p, d.q, base: 2), Golden.num(c["js_base2"])!))
        }
    }
}
