import CLua
import CLuaShim
import Foundation
import LatheCore

/// The `metrics` module: evaluation that matches scikit-learn, sacrebleu, rouge-score and SciPy.
/// The functions live by area (classification, scores, text, resampling, drift, errors and
/// bench); the arguments and options they share are declared here.
enum MetricsFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("metrics", summary: "Evaluation that matches scikit-learn, sacrebleu and rouge-score; significance tests, slices, drift, latency.",
                  details: """
            Classification metrics follow scikit-learn 1.9 (labels sorted as sklearn sorts them; where a
            score is 0/0 the result is 0 with a warning, or the zero_division option). BLEU and chrF
            follow sacrebleu 2.6.0 (13a tokenization, smoothing, its signature); ROUGE follows
            rouge-score 0.1.2 (its tokenizer, optional Porter stemming). Labels are Lua arrays (or data
            table columns) of integers, strings or booleans, or 1-D tensors. For text metrics
            predictions come first (metrics.rouge(preds, refs)); bootstrap, paired_test and slices take
            (y_true, y_pred), where y_true holds the references.
            """)
            .add([accuracy, precision, recall, f1, fbeta, confusion, report,
                  rocAUC, averagePrecision, logLoss, ece,
                  exactMatch, tokenF1, bleu, sentenceBLEU, chrf, sentenceCHRF, rouge, wer, cer, perplexity,
                  bootstrap, pairedTest, slices,
                  psi, ks, js, oovRate, drift,
                  errors, bench])
        MetricsClasses.install(vm)
    }

    static let yTrue = LuaParam("y_true", .labels, "the true labels")
    static let yPred = LuaParam("y_pred", .labels, "the predicted labels")
    static let labelsOption = LuaOpt("labels", .labels, .computed("the labels of the data"),
                                     "the classes to score, in this order (labels absent from the data count as empty classes)")
    static let zeroDivisionOption = LuaOpt(
        "zero_division", .described("\"warn\", 0, 1 or \"nan\"", .either([.choice(["warn", "nan"]), .integer(0...1)])), .string("warn"),
        "a score that is 0/0: \"warn\" gives 0 and a warning (scikit-learn); 0, 1 or \"nan\" give that value silently (averages skip \"nan\")")
    static let posLabelOption = LuaOpt("pos_label", .label, .computed("1 (true for boolean labels)"), "the positive class of binary scores")
    static let averageOption = LuaOpt(
        "average", .choice(AverageMode.allCases.map(\.rawValue)), .string(PRFOptions().average.rawValue),
        "binary: the score of pos_label; micro: from global counts; macro: the mean over classes; weighted: the mean weighted by support; none: a table label -> score")

    /// precision/recall/F options as the engine takes them.
    static func prfOptions(_ o: DeclaredOptions) throws -> PRFOptions {
        var p = PRFOptions()
        p.average = AverageMode(rawValue: try o.string("average")) ?? p.average
        if let pl = try o.label("pos_label") {
            p.posLabel = pl
            p.posLabelGiven = true
        }
        p.labels = try o.labels("labels")
        p.zeroDivision = try zeroDivision(o)
        return p
    }

    static func zeroDivision(_ o: DeclaredOptions) throws -> ZeroDivision {
        switch try o.value("zero_division") {
        case .string("nan"): return .value(.nan)
        case .int(let v): return .value(Double(v))
        case .number(let v): return .value(v)
        default: return .warn
        }
    }

    /// y_true (1) and y_pred (2) of the same length, encoded together.
    static func encodePair(_ c: LuaCall) throws -> EncodedLabels {
        let yt = try c.labels(1, "y_true"), yp = try c.labels(2, "y_pred")
        try c.checkCount(yp.count, yt.count, 2, "y_pred", like: "y_true", noun: "labels")
        try c.checkNotEmpty(yt.count, 1, "y_true")
        return try EncodedLabels([yt, yp])
    }

    /// Writes each warning to stderr once per session (`warning: metrics.f1: ...`).
    nonisolated(unsafe) static var warned = Set<String>()
    static func warn(_ c: LuaCall, _ messages: [String]) {
        for m in messages where warned.insert(c.name + m).inserted { Output.warning(c.name, m) }
    }

    /// Drops one trailing newline (objects print without a blank line after them).
    static func chomp(_ s: String) -> String { s.hasSuffix("\n") ? String(s.dropLast()) : s }
}
