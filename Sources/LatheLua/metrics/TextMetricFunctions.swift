import CLua
import CLuaShim
import LatheCore

/// metrics.exact_match, token_f1, bleu, sentence_bleu, chrf, sentence_chrf, rouge, wer, cer and
/// perplexity.
extension MetricsFunctions {
    static let preds = LuaParam("preds", .described("string or array of strings", .either([.string, .table])),
                                "the predictions: an array (or data column) of strings, or one string")
    static let refs = LuaParam("refs", .described("reference(s)", .either([.string, .table])),
                               "per prediction a string or an array of acceptable references; for one prediction string, a string or an array")
    static let hyps = LuaParam("hyps", .described(LuaKind.texts.text, .either([.string, .table])), "the hypotheses (system outputs)")
    static let streams = LuaParam("refs", .described("reference streams {refs1, refs2, ...}", .table),
                                  "sacrebleu's shape: streams of one reference per hypothesis (false where a segment lacks that reference)")
    static let hyp = LuaParam("hyp", .string, "one hypothesis")
    static let sentenceRefs = LuaParam("refs", .strings, "its references")

    /// Predictions at 1 and references at 2, of the same length; one prediction string goes with
    /// one reference string or an array of references.
    static func predsAndRefs(_ c: LuaCall) throws -> (preds: [String], refs: [[String]], single: Bool) {
        if let p = c.string(1) {
            if let r = c.string(2) { return ([p], [[r]], true) }
            let rs = try c.texts(2, "refs")
            try c.checkNotEmpty(rs.count, 2, "refs")
            return ([p], [rs], true)
        }
        let preds = try c.texts(1, "preds"), refs = try c.references(2, "refs")
        try c.checkCount(refs.count, preds.count, 2, "refs", like: "preds", noun: "references")
        try c.checkNotEmpty(preds.count, 1, "preds")
        return (preds, refs, false)
    }

    static let squad = "Answers are normalized as the SQuAD v1.1 script does: lowercased, ASCII punctuation removed, the words a/an/the\nremoved, whitespace collapsed. With several references per prediction the best one counts. The result is the mean\nover predictions, in [0, 1] (the SQuAD script prints it times 100)."

    static let exactMatch = LuaFunc(
        "exact_match", "Exact match after SQuAD answer normalization, averaged over predictions.",
        params: [preds, refs], returns: "number: the fraction of predictions that match a reference", details: squad,
        errors: "preds and refs differ in length or are empty; non-string elements.",
        example: "print(metrics.exact_match({\"The Eiffel Tower\", \"Paris\"}, {\"eiffel tower\", {\"Lyon\", \"Marseille\"}}))  --> 0.5"
    ) { c in
        let (p, r, _) = try predsAndRefs(c)
        return try c.ret(.number(try TextMetrics.exactMatch(predictions: p, references: r)))
    }

    static let tokenF1 = LuaFunc(
        "token_f1", "Token-overlap F1 after SQuAD answer normalization, averaged over predictions.",
        params: [preds, refs], returns: "number: the mean token F1 in [0, 1]",
        details: squad + "\nAs in SQuAD v1.1, a pair with no common token scores 0 (also when both are empty).",
        errors: "preds and refs differ in length or are empty; non-string elements.",
        example: "print(metrics.token_f1({\"the big red barn\"}, {\"a red barn\"}))  --> 0.8"
    ) { c in
        let (p, r, _) = try predsAndRefs(c)
        return try c.ret(.number(try TextMetrics.tokenF1(predictions: p, references: r)))
    }

    static func bleuOptions(effectiveOrder: Bool) -> [LuaOpt] {
        [
            LuaOpt("lowercase", .boolean, .bool(BLEUOptions().lowercase), "lowercase hypotheses and references"),
            LuaOpt("tokenize", .choice(BLEUOptions.tokenizers), .string(BLEUOptions().tokenize),
                   "13a: sacrebleu's default (mteval-v13a); none: split at spaces only; char: every character a token"),
            LuaOpt("smooth_method", .choice(["exp", "floor", "add-k", "none"]), .string(BLEUOptions().smoothMethod),
                   "exp: sacrebleu's default; floor: zero counts become smooth_value; add-k: smooth_value added to counts above unigrams"),
            LuaOpt("smooth_value", .number(min: 0), .computed("0.1 (floor), 1 (add-k)"), "the value of floor and add-k smoothing"),
            LuaOpt("max_ngram_order", .integer(1...16), .int(BLEUOptions().maxNgramOrder), "the longest n-gram counted"),
            LuaOpt("effective_order", .boolean, .bool(effectiveOrder), "average only over n-gram orders the hypothesis has"),
            LuaOpt("force", .boolean, .bool(BLEUOptions().force), "no warning for hypotheses that look tokenized"),
        ]
    }

    static func bleuOptions(_ o: DeclaredOptions) throws -> BLEUOptions {
        var b = BLEUOptions()
        b.lowercase = try o.bool("lowercase")
        b.tokenize = try o.string("tokenize")
        b.smoothMethod = try o.string("smooth_method")
        b.smoothValue = try o.numberIfGiven("smooth_value")
        b.maxNgramOrder = try o.int("max_ngram_order")
        b.effectiveOrder = try o.bool("effective_order")
        b.force = try o.bool("force")
        return b
    }

    static let chrfOptionList = [
        LuaOpt("char_order", .integer(0...32), .int(CHRFOptions().charOrder), "the longest character n-gram"),
        LuaOpt("word_order", .integer(0...16), .int(CHRFOptions().wordOrder), "the longest word n-gram (2 gives chrF++)"),
        LuaOpt("beta", .number(min: 0), .number(CHRFOptions().beta), "the weight of recall"),
        LuaOpt("lowercase", .boolean, .bool(CHRFOptions().lowercase), "lowercase hypotheses and references"),
        LuaOpt("whitespace", .boolean, .bool(CHRFOptions().whitespace), "keep whitespace in character n-grams"),
        LuaOpt("eps_smoothing", .boolean, .bool(CHRFOptions().epsSmoothing), "chrF++.py's smoothing instead of sacrebleu's default"),
    ]

    static func chrfOptions(_ o: DeclaredOptions) throws -> CHRFOptions {
        var co = CHRFOptions()
        co.charOrder = try o.int("char_order")
        co.wordOrder = try o.int("word_order")
        co.beta = try o.number("beta")
        co.lowercase = try o.bool("lowercase")
        co.whitespace = try o.bool("whitespace")
        co.epsSmoothing = try o.bool("eps_smoothing")
        return co
    }

    /// Hypotheses at 1 and sacrebleu's reference streams at 2 (`false` for a missing reference).
    static func hypsAndStreams(_ c: LuaCall, single: String) throws -> ([String], [[String?]]) {
        if c.string(1) != nil { throw c.argError(1, "hyps", "expected an array of hypotheses, got a string; use \(single)(hyp, {ref, ...}) for one sentence") }
        let hyps = try c.texts(1, "hyps")
        try c.checkNotEmpty(hyps.count, 1, "hyps")
        let L = c.L
        let n = c.rawLen(2)
        if n == 0 { throw c.argError(2, "refs", "expected at least one reference stream {refs1, ...}, got an empty table") }
        let streams: [[String?]] = try (1...n).map { s in
            let t = lua_rawgeti(L, 2, lua_Integer(s))
            defer { lp_pop(L, 1) }
            if t == LUA_TSTRING { throw c.argError(2, "refs", "expected reference streams {refs1, refs2, ...} with one reference per hypothesis; got a string: wrap your references as {refs}") }
            guard t == LUA_TTABLE else { throw c.argError(2, "refs", "stream \(s) is \(c.describe(-1)); expected an array of strings") }
            if c.rawLen(-1) != hyps.count { throw c.argError(2, "refs", "reference stream \(s) has \(c.rawLen(-1)) segments but there are \(hyps.count) hypotheses") }
            return try (1...hyps.count).map { k in
                let tt = lua_rawgeti(L, -1, lua_Integer(k))
                defer { lp_pop(L, 1) }
                if tt == LUA_TSTRING { return c.string(-1) }
                if tt == LUA_TBOOLEAN && lua_toboolean(L, -1) == 0 { return nil }
                throw c.argError(2, "refs", "stream \(s) element \(k) is \(c.describe(-1)); expected a string, or false for a missing reference")
            }
        }
        return (hyps, streams)
    }

    static func bleuRecord(_ c: LuaCall, _ s: BLEUScore) throws -> Int32 {
        warn(c, s.warnings)
        func counts(_ xs: [Double]) -> LuaValue { .array(xs.map { $0 == $0.rounded() && abs($0) < 1e15 ? .int(Int($0)) : .number($0) }) }
        try c.pushRecord([
            ("score", .number(s.score)), ("bp", .number(s.bp)), ("precisions", .numbers(s.precisions)), ("counts", counts(s.counts)),
            ("totals", counts(s.totals)), ("sys_len", .int(s.sysLen)), ("ref_len", .int(s.refLen)), ("ratio", .number(s.ratio)),
            ("signature", .string(s.signature)),
        ], name: "BLEUScore", text: s.text)
        return 1
    }

    static func chrfRecord(_ c: LuaCall, _ s: CHRFScore) throws -> Int32 {
        try c.pushRecord([("score", .number(s.score)), ("name", .string(s.name)), ("signature", .string(s.signature))], name: "CHRFScore", text: s.text)
        return 1
    }

    static let bleuDetails = "Exactly sacrebleu 2.6.0's BLEU: clipped n-gram counts against all references, the brevity penalty with the closest\nreference length, smoothing; scores are 0-100. The result prints as sacrebleu prints it; r.signature is its\nreproducibility string."
    static let bleuReturns = "BLEUScore: {score=, bp=, precisions=, counts=, totals=, sys_len=, ref_len=, ratio=, signature=}"

    static let bleu = LuaFunc(
        "bleu", "Corpus BLEU exactly as sacrebleu computes it by default (with its signature).",
        params: [hyps, streams], options: bleuOptions(effectiveOrder: BLEUOptions().effectiveOrder),
        returns: bleuReturns, details: bleuDetails,
        errors: "hyps is empty or not strings; a stream of the wrong length.",
        example: "local r = metrics.bleu({\"the cat sat on the mat\", \"a dog barked\"},\n  {{\"the cat sat on the mat\", \"the dog barked loudly\"}})\nprint(r)  --> BLEU = 79.07 88.9/85.7/80.0/100.0 (BP = 0.895 ratio = 0.900 hyp_len = 9 ref_len = 10)\nprint(r.signature)  --> nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    ) { c in
        let (h, r) = try hypsAndStreams(c, single: "metrics.sentence_bleu")
        return try bleuRecord(c, try BLEU(try bleuOptions(try c.opts())).corpus(h, r))
    }

    static let sentenceBLEU = LuaFunc(
        "sentence_bleu", "BLEU of one hypothesis against its references, as sacrebleu.sentence_bleu computes it.",
        params: [hyp, sentenceRefs], options: bleuOptions(effectiveOrder: true),
        returns: bleuReturns, details: bleuDetails + "\nAs in sacrebleu.sentence_bleu, effective_order defaults to true.",
        errors: "hyp is not a string; no references.",
        example: "print(metrics.sentence_bleu(\"the cat sat on the mat\", {\"the cat is on the mat\"}).score)  --> 37.99178428258"
    ) { c in try bleuRecord(c, try BLEU(try bleuOptions(try c.opts())).sentence(try c.checkString(1, "hyp"), try sentenceReferences(c))) }

    /// The references of one sentence at 2: a string or a non-empty array of strings.
    static func sentenceReferences(_ c: LuaCall) throws -> [String] {
        if let r = c.string(2) { return [r] }
        let refs = try c.texts(2, "refs")
        try c.checkNotEmpty(refs.count, 2, "refs")
        return refs
    }

    static let chrfDetails = "Exactly sacrebleu 2.6.0's chrF: character n-grams up to char_order with whitespace removed, word n-grams up to\nword_order (2 gives chrF++), F-beta averaged over the orders that occur. Scores are 0-100; the result prints as\nsacrebleu prints it."

    static let chrf = LuaFunc(
        "chrf", "Corpus chrF (or chrF++) exactly as sacrebleu computes it.",
        params: [hyps, streams], options: chrfOptionList,
        returns: "CHRFScore: {score=, name=, signature=}", details: chrfDetails,
        errors: "as metrics.bleu; char_order and word_order both 0.",
        example: "local r = metrics.chrf({\"the cat sat on the mat\"}, {{\"the cat is on the mat\"}}, {word_order = 2})\nprint(r)  --> chrF2++ = 66.36"
    ) { c in
        let (h, r) = try hypsAndStreams(c, single: "metrics.sentence_chrf")
        return try chrfRecord(c, try CHRF(try chrfOptions(try c.opts())).corpus(h, r))
    }

    static let sentenceCHRF = LuaFunc(
        "sentence_chrf", "chrF of one hypothesis against its references (sacrebleu.sentence_chrf).",
        params: [hyp, sentenceRefs], options: chrfOptionList,
        returns: "CHRFScore: {score=, name=, signature=}", details: chrfDetails,
        errors: "hyp is not a string; no references.",
        example: "print(metrics.sentence_chrf(\"the cat sat\", {\"the cat is here\"}).score)  --> 38.429890599613"
    ) { c in try chrfRecord(c, try CHRF(try chrfOptions(try c.opts())).sentence(try c.checkString(1, "hyp"), try sentenceReferences(c))) }

    static let rouge = LuaFunc(
        "rouge", "ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum exactly as Google's rouge-score computes them.",
        params: [preds, refs],
        options: [
            LuaOpt("stem", .boolean, .bool(false), "Porter-stem tokens longer than 3 characters (NLTK's stemmer)"),
            LuaOpt("types", .strings, .strings(Rouge.types), "the scores to compute: rouge1, rouge2, rougeL, rougeLsum"),
            LuaOpt("per_item", .boolean, .bool(false), "add items: the scores of each pair"),
        ],
        returns: "ROUGE: {rouge1 = {precision=, recall=, fmeasure=}, rouge2 =, rougeL =, rougeLsum =}",
        details: """
            rouge-score 0.1.2's tokenizer: lowercase, every character outside a-z and 0-9 becomes a space. ROUGE-Lsum
            splits texts into sentences at newlines. With several references per prediction the best F wins
            (rouge-score's score_multi); the corpus result is the mean of the per-pair values (0-1).
            """,
        errors: "preds and refs differ in length or are empty; an unknown ROUGE type.",
        example: "local r = metrics.rouge({\"the cat sat on the mat\"}, {\"the cat is on the mat\"}, {stem = true})\nprint(r.rouge1.fmeasure, r.rougeL.recall)  --> 0.83333333333333  0.83333333333333\nprint(r)"
    ) { c in
        let o = try c.opts()
        let (p, r, single) = try predsAndRefs(c)
        let types = try o.strings("types")
        let (mean, items) = try Rouge(stem: try o.bool("stem")).corpus(predictions: p, references: r, types: types)
        func scores(_ d: [String: RougeScore]) -> [(String, LuaValue)] {
            types.map { t in (t, .record([("precision", .number(d[t]!.precision)), ("recall", .number(d[t]!.recall)), ("fmeasure", .number(d[t]!.fmeasure))])) }
        }
        let perItem: [(String, LuaValue)] = try o.bool("per_item") && !single ? [("items", .array(items.map { .record(scores($0)) }))] : []
        try c.pushRecord(scores(mean) + perItem, name: "ROUGE")
        return 1
    }

    static func errorRate(_ name: String, _ summary: String, unit: String, details: String, example: String,
                          _ compute: @escaping ([String], [String]) throws -> TextMetrics.ErrorRate) -> LuaFunc {
        LuaFunc(
            name, summary, params: [preds, refs],
            returns: "rate, details: the rate (can exceed 1), and ErrorRate {edits=, \(unit)=, items=} (items: the rate of each pair)",
            details: details + " Edit distance (substitutions, insertions, deletions) summed over pairs, divided by the total reference\nlength: the corpus rate jiwer computes. With several references, the first counts.",
            errors: "length mismatch or empty input; every reference empty.", example: example
        ) { c in
            let (p, r, _) = try predsAndRefs(c)
            let e = try compute(p, r.map { $0[0] })
            c.push(e.rate)
            try c.pushRecord([("edits", .int(e.edits)), (unit, .int(e.referenceLength)), ("items", .numbers(e.items))], name: "ErrorRate")
            return 2
        }
    }

    static let wer = errorRate(
        "wer", "Word error rate of predictions against references.", unit: "words", details: "Words are separated by whitespace.",
        example: "local wer, details = metrics.wer({\"the cat sat\"}, {\"the cat sat down\"})\nprint(wer)  --> 0.25\nprint(details.edits, details.words)  --> 1  4\nprint(details)"
    ) { try TextMetrics.wer(predictions: $0, references: $1) }

    static let cer = errorRate(
        "cer", "Character error rate of predictions against references.", unit: "chars",
        details: "Characters are Unicode code points of each text with leading and trailing whitespace removed (as jiwer's default).",
        example: "local cer, d = metrics.cer({\"kitten\"}, {\"sitting\"})\nprint(cer, d.edits)  --> 0.42857142857143  3"
    ) { try TextMetrics.cer(predictions: $0, references: $1) }

    static let perplexity = LuaFunc(
        "perplexity", "Perplexity from a model's loss: exp of the mean negative log-likelihood per token.",
        params: [LuaParam("losses", .either([.number(), .column]), "a mean loss, or per-batch mean losses (cross-entropy in nats, as training loops report)")],
        options: [LuaOpt("tokens", .numbers, .none, "the token count of each loss: the mean is weighted by them")],
        returns: "number: the perplexity (>= 1 for non-negative losses)",
        errors: "no losses; NaN or infinite losses; tokens of another length, negative or summing to 0.",
        example: "print(metrics.perplexity(2.0))  --> 7.3890560989307\nprint(metrics.perplexity({2.1, 1.9}, {tokens = {100, 300}}))  --> 7.0286875805893"
    ) { c in
        let losses = c.type(1) == LUA_TNUMBER ? [lua_tonumberx(c.L, 1, nil)] : try c.numbers(1, "losses", finite: false)
        return try c.ret(.number(try TextMetrics.perplexity(losses: losses, tokens: try c.opts().numbersIfGiven("tokens"))))
    }
}
