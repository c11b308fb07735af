import CLua
import LatheCore

/// metrics.accuracy, precision, recall, f1, fbeta, confusion and report (scikit-learn 1.9).
extension MetricsFunctions {
    static let prfErrors = "y_true and y_pred differ in length or are empty; labels mix strings and numbers; average = \"binary\" with\nmore than two classes or a pos_label that is not a label."
    static let prfExample = "local y_true = {\"cat\", \"dog\", \"dog\", \"bird\"}\nlocal y_pred = {\"cat\", \"dog\", \"cat\", \"bird\"}\n"

    static let accuracy = LuaFunc(
        "accuracy", "Fraction of predictions equal to the true labels (scikit-learn's accuracy_score).",
        params: [yTrue, yPred],
        returns: "number in [0, 1]",
        errors: "y_true and y_pred differ in length or are empty; labels mix strings and numbers.",
        example: "print(metrics.accuracy({1, 0, 1, 1}, {1, 1, 1, 0}))  --> 0.5"
    ) { c in try c.ret(.number(Classification.accuracy(try encodePair(c)))) }

    static let precision = prf("precision", "Precision: of the items predicted as a class, the fraction that truly are (scikit-learn's precision_score).",
                               .precision, example: prfExample + "print(metrics.precision(y_true, y_pred, {average = \"macro\"}))  --> 0.83333333333333")
    static let recall = prf("recall", "Recall: of the items of a class, the fraction predicted as it (scikit-learn's recall_score).",
                            .recall, example: prfExample + "show(metrics.recall(y_true, y_pred, {average = \"none\"}))")
    static let f1 = prf("f1", "F1: the harmonic mean of precision and recall (scikit-learn's f1_score).",
                        .fscore, example: prfExample + "print(metrics.f1(y_true, y_pred, {average = \"weighted\"}))  --> 0.75")
    static let fbeta = prf("fbeta", "F-beta: precision and recall combined with recall weighted beta times (scikit-learn's fbeta_score).",
                           .fscore, beta: true, example: "print(metrics.fbeta({0, 1, 1, 0}, {0, 1, 0, 0}, {beta = 2}))  --> 0.55555555555556")

    static func prf(_ name: String, _ summary: String, _ which: PRFMetric, beta: Bool = false, example: String) -> LuaFunc {
        let betaOption = LuaOpt("beta", .number(min: 0), .none, "the weight of recall (required): 0 is precision, math.huge recall")
        return LuaFunc(
            name, summary, params: [yTrue, yPred],
            options: (beta ? [betaOption] : []) + [averageOption, posLabelOption, labelsOption, zeroDivisionOption],
            returns: "number or table: in [0, 1], or with average = \"none\" {label = score, ...}",
            errors: prfErrors, example: example
        ) { c in
            let o = try c.opts()
            var p = try prfOptions(o)
            if beta {
                guard let b = try o.numberIfGiven("beta") else { throw LuaError("missing option 'beta' (the weight of recall, e.g. {beta = 2})") }
                p.beta = b
            }
            let r = try Classification.prf(try encodePair(c), p, warnFor: [which])
            warn(c, r.warnings)
            let values = which == .precision ? r.precision : which == .recall ? r.recall : r.fscore
            if p.average == .none {
                try c.pushLabelMap(r.labels, values.map { .number($0) })
                return 1
            }
            return try c.ret(.number(values[0]))
        }
    }

    static let confusion = LuaFunc(
        "confusion", "The confusion matrix: rows are true labels, columns predicted labels, both in sorted label order.",
        params: [yTrue, yPred],
        options: [
            LuaOpt("labels", .labels, .computed("the sorted labels of y_true and y_pred"), "the rows and columns, in this order (rows of other labels are left out)"),
            LuaOpt("normalize", .choice(["true", "pred", "all"]), .none, "true: rows sum to 1; pred: columns sum to 1; all: the matrix sums to 1"),
        ],
        returns: "ConfusionMatrix: prints as an aligned table; cm.labels, cm.matrix (counts), cm.normalized, cm:get(true_label, predicted_label)",
        errors: "length mismatch or empty input; none of the given labels occurs in y_true.",
        example: "local cm = metrics.confusion({\"cat\", \"dog\", \"dog\"}, {\"cat\", \"cat\", \"dog\"})\nprint(cm)\nprint(cm:get(\"dog\", \"cat\"), cm.matrix[2][1])  --> 1  1"
    ) { c in
        let o = try c.opts()
        let m = try Classification.confusion(try encodePair(c), labels: try o.labels("labels"), normalize: try o.stringIfGiven("normalize"))
        return try c.ret(.object(ConfusionObject(m)))
    }

    static let report = LuaFunc(
        "report", "Per-class precision, recall, F1 and support, laid out exactly like scikit-learn's classification_report.",
        params: [yTrue, yPred],
        options: [
            labelsOption,
            LuaOpt("target_names", .strings, .computed("the labels"), "names printed for the classes, one per label"),
            LuaOpt("digits", .integer(0...15), .int(2), "digits after the decimal point"),
            zeroDivisionOption,
        ],
        returns: "Report: print(r) shows scikit-learn's text; r.accuracy, r.labels, r.classes[label] = {precision=, recall=, f1=, support=}, r.macro, r.weighted (and r.micro), r.text",
        details: """
            During a run (track.start), the text is kept as its artifact reports/classification_report.txt and the
            accuracy and the averages' F1 as metrics report.accuracy, report.macro_f1, report.weighted_f1.
            The text has scikit-learn's columns and rounding: the accuracy row (or "micro avg" when labels
            leaves classes out), then the macro and weighted averages. One difference: when no prediction
            is right, scikit-learn 1.9 prints supports as floats ("3.0"); Lathe prints integers.
            """,
        errors: "length mismatch or empty input; target_names of the wrong length.",
        example: "local r = metrics.report({\"cat\", \"dog\", \"dog\", \"bird\"}, {\"cat\", \"dog\", \"cat\", \"bird\"})\nprint(r)\nprint(r.accuracy, r.classes.dog.recall)  --> 0.75  0.5"
    ) { c in
        let o = try c.opts()
        let r = try Classification.report(try encodePair(c), labels: try o.labels("labels"), targetNames: try o.stringsIfGiven("target_names"),
                                          digits: try o.int("digits"), zeroDivision: try zeroDivision(o))
        warn(c, r.warnings)
        var headline: [(String, Double)] = r.accuracy.map { [("report.accuracy", $0)] } ?? []
        for a in r.averages where a.name != "accuracy" {
            headline.append(("report.\(a.name.replacingOccurrences(of: " avg", with: ""))_f1", a.f1))
        }
        TrackFunctions.attachReport(c, "classification_report.txt", text: r.text, metrics: headline)
        return try c.ret(.object(ReportObject(r)))
    }
}
