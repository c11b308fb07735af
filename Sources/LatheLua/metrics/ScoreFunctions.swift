import LatheCore

/// metrics.roc_auc, average_precision, log_loss and ece: scores and probabilities.
extension MetricsFunctions {
    static let scores = LuaParam("scores", .column, "one score per item, larger for the positive class")
    static let probs = LuaParam("probs", .probabilities,
                                "one probability per item (of the positive, larger class), or one row per item with a column per class in sorted label order")
    static let probsLabels = LuaOpt("labels", .labels, .computed("the labels of y_true"), "every class, when y_true does not hold them all")

    static func ranking(_ name: String, _ summary: String, pos: String, returns: String, details: String, errors: String, example: String,
                        _ compute: @escaping (LabelColumn, [Double], LabelValue?) throws -> (value: Double, warnings: [String])) -> LuaFunc {
        LuaFunc(name, summary, params: [yTrue, scores],
                options: [LuaOpt("pos_label", .label, .computed(pos), "the positive class")],
                returns: returns, details: details, errors: errors, example: example) { c in
            let y = try c.labels(1, "y_true"), s = try c.numbers(2, "scores")
            try c.checkCount(s.count, y.count, 2, "scores", like: "y_true")
            try c.checkNotEmpty(y.count, 1, "y_true")
            let (v, w) = try compute(y, s, try c.opts().label("pos_label"))
            warn(c, w)
            return try c.ret(.number(v))
        }
    }

    static let rocAUC = ranking(
        "roc_auc", "Area under the ROC curve for binary labels and scores (scikit-learn's roc_auc_score).",
        pos: "the larger label (1, true, the later string)", returns: "number in [0, 1] (NaN when y_true has one class)",
        details: "Ties in scores count half, as in scikit-learn. With one class in y_true the area is undefined: the result is\nNaN with a warning, as scikit-learn does.",
        errors: "length mismatch or empty input; NaN or infinite scores; more than two classes; a pos_label that is not a label.",
        example: "print(metrics.roc_auc({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}))  --> 0.75") { try Ranking.rocAUC($0, $1, posLabel: $2) }

    static let averagePrecision = ranking(
        "average_precision", "Average precision: the step-wise area under the precision-recall curve (scikit-learn's average_precision_score).",
        pos: "1 (true for boolean labels; string labels need it)", returns: "number in [0, 1]",
        details: "With no positive in y_true, recall is taken as 1 everywhere and a warning is printed, as scikit-learn does.",
        errors: "length mismatch or empty input; NaN scores; more than two classes; pos_label not a label.",
        example: "print(metrics.average_precision({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}))  --> 0.83333333333333") { try Ranking.averagePrecision($0, $1, posLabel: $2) }

    /// y_true (1) and probs (2) as the engine's table of classes and rows.
    static func probabilityTable(_ c: LuaCall, _ o: DeclaredOptions) throws -> Ranking.ProbabilityTable {
        let y = try c.labels(1, "y_true"), p = try c.probabilities(2, "probs")
        try c.checkCount(p.count, y.count, 2, "probs", like: "y_true", noun: "rows")
        try c.checkNotEmpty(y.count, 1, "y_true")
        let t = try Ranking.probabilityTable(y, p, labels: try o.labels("labels"))
        warn(c, t.warnings)
        return t
    }

    static let logLoss = LuaFunc(
        "log_loss", "Log loss (cross-entropy) of predicted probabilities, natural log (scikit-learn's log_loss).",
        params: [yTrue, probs], options: [probsLabels],
        returns: "number: the mean negative log-likelihood of the true classes (nats)",
        details: "Probabilities are clipped to [eps, 1 - eps] with eps = 2.22e-16 (float64 machine epsilon, as scikit-learn does for\nfloat64 input); rows that do not sum to 1 give a warning.",
        errors: "length mismatch or empty input; probabilities below 0, above 1 or NaN; a column count that does not match the\nclasses; a single class in y_true without labels.",
        example: "print(metrics.log_loss({0, 1, 1}, {0.1, 0.9, 0.6}))  --> 0.24051555169388\nprint(metrics.log_loss({\"a\", \"b\", \"c\"}, {{0.8, 0.1, 0.1}, {0.2, 0.7, 0.1}, {0.1, 0.1, 0.8}}))"
    ) { c in try c.ret(.number(Ranking.logLoss(try probabilityTable(c, try c.opts())))) }

    static let ece = LuaFunc(
        "ece", "Expected calibration error: how far predicted confidence is from accuracy, over equal-width bins.",
        params: [yTrue, probs],
        options: [LuaOpt("bins", .integer(1...100_000), .int(10), "equal-width confidence bins"), probsLabels],
        returns: "ece, bins: the ECE in [0, 1], and {{lower=, upper=, count=, accuracy=, confidence=}, ...}",
        details: """
            Top-label ECE (Guo et al., 2017): each item's confidence is its largest class probability and its
            prediction that class (the first on ties; for one probability p per item, the positive class when
            p > 0.5). Bin b holds confidences in (b/bins, (b+1)/bins] (0 goes to the first). ECE = sum over bins
            of |bin|/n * |accuracy(bin) - mean confidence(bin)|. scikit-learn has no ECE; Lathe's is tested
            against a NumPy implementation of this definition.
            """,
        errors: "as log_loss.",
        example: "local e, bins = metrics.ece({0, 1, 1, 0}, {0.2, 0.9, 0.6, 0.7}, {bins = 5})\nprint(e, #bins, bins[5].count)  --> 0.25  5  1"
    ) { c in
        let o = try c.opts()
        let (v, bins) = try Ranking.ece(try probabilityTable(c, o), bins: try o.int("bins"))
        return try c.ret(.number(v), .array(bins.map { b in
            .record([("lower", .number(b.lower)), ("upper", .number(b.upper)), ("count", .int(b.count)),
                     ("accuracy", .number(b.accuracy)), ("confidence", .number(b.confidence))])
        }))
    }
}
