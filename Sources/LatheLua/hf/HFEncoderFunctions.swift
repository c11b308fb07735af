import CLua
import CLuaShim
import LatheCore

/// hf.embed, hf.classifier, hf.predict: sentence vectors and classification heads on encoders.
enum HFEncoderFunctions {
    static let all = [embed, classifier, predict]

    static let texts: LuaParam = TextFunctions.texts
    static let batchSize = LuaOpt("batch_size", .integer(1...Int.max), .int(HF.EmbedOptions().batchSize), "texts per forward pass")
    static let encoderExample = "local tok = text.word_vocab({\"a man is eating food\", \"a man rides a horse\"})\n"
        + "local e = nn.encoder{vocab = tok:vocab_size(), layers = 1, dim = 16, heads = 2, classes = 0, seed = 1}\nhf.attach(e, {tokenizer = tok})\n"

    static let embedOptions = [
        batchSize, LuaOpt("normalize", .boolean, .computed("true when the model has a Normalize module"), "L2-normalize the vectors (dot products are then cosine similarities)"),
        LuaOpt("max_length", .integer(1...Int.max), .computed("sentence-transformers' max_seq_length, else the model's maximum"), "tokens per text; longer texts are cut"),
        LuaOpt("pooling", .choice(["mean", "cls"]), .computed("the model's sentence-transformers pooling, else mean"), "the mean over real tokens, or the first token's state")]

    static let embed = LuaFunc(
        "embed", "Sentence embeddings of texts from an encoder, as sentence-transformers computes them.",
        params: [HFFunctions.model, texts], options: embedOptions,
        returns: "Tensor: float32 [#texts, dim], rows in the order of texts", errors: "a model that is not an encoder or has no tokenizer.",
        example: encoderExample + "local v = hf.embed(e, {\"a man is eating food\", \"a man rides a horse\"}, {normalize = true})\nprint(v:shape()[1], v:shape()[2])  --> 2 16"
    ) { c in
        let (model, xs, o) = (try c.moduleArg(1), try TextFunctions.texts(c, 2), try c.opts())
        var e = HF.EmbedOptions()
        (e.batchSize, e.normalize, e.maxLength, e.pooling) = (try o.int("batch_size"), try o.boolIfGiven("normalize"), try o.intIfGiven("max_length"), try o.stringIfGiven("pooling"))
        return try c.ret(.object(try HFFunctions.progress("embedding", "texts") { try HF.embed(model, texts: xs, e, progress: $0) }))
    }

    static let classifier = LuaFunc(
        "classifier", "Gives an encoder a fresh classification head for fine-tuning.",
        params: [HFFunctions.model],
        options: [LuaOpt("classes", .integer(1...Int.max), .computed("#labels"), "how many classes (required without labels)"), LuaOpt("labels", .strings, .none, "class names, by class id"),
                  LuaOpt("pooling", .choice(Encoder.poolings), .computed("sentence pooling, else pooler when there is one, else cls"),
                         "what the head sees: the first token's state, the mean over real tokens, or BERT's pooler (tanh(dense) on the first token)"), NNFunctions.seed],
        returns: "the model",
        details: "The head is a Linear layer named classifier, initialized as transformers does. Only pooling \"pooler\" is a transformers\n"
            + "class (BertForSequenceClassification: hf.save writes it, PEFT reproduces lora.save's adapter); a \"mean\" or \"cls\" head is\n"
            + "Lathe's own (see help(lora.save)). Then model(ids, mask) gives logits: train.fit{model = model, train = {x = ids, y = labels,\n"
            + "mask = mask}}; with LoRA, modules_to_save = {\"classifier.*\"} (and \"pooler.*\" to train the pooler).",
        errors: "a model that is not an encoder; neither classes nor labels; labels that do not match classes.",
        example: "local e = nn.encoder{vocab = 50, layers = 1, dim = 16, heads = 2, classes = 0, seed = 1}\nhf.classifier(e, {classes = 2, labels = {\"ham\", \"spam\"}})\nprint(e(tensor.from({{1, 2, 3}})):shape()[2])  --> 2"
    ) { c in
        let (model, o) = (try c.moduleArg(1), try c.opts())
        let (labels, pooling) = (try o.stringsIfGiven("labels"), try o.stringIfGiven("pooling"))
        guard let classes = try o.intIfGiven("classes") ?? labels?.count else { throw LuaError("option 'classes' is required (or labels)") }
        try NNFunctions.seeded(o) { try HF.classifier(model, classes: classes, labels: labels, pooling: pooling, rng: &$0) }
        return c.retArg(1)
    }

    static let predict = LuaFunc(
        "predict", "Class predictions of an encoder with a classification head on texts.",
        params: [HFFunctions.model, texts],
        options: [batchSize, LuaOpt("max_length", .integer(1...Int.max), .computed("the model's maximum"), "tokens per text; longer texts are cut")],
        returns: "Predictions {labels=, classes=, probs=}: the label names (class ids when the model has none), 0-based class ids, Tensor [n, classes]",
        errors: "a model without a head or tokenizer.",
        example: encoderExample + "hf.classifier(e, {labels = {\"neg\", \"pos\"}, seed = 1})\nprint(#hf.predict(e, {\"a man\", \"a horse\"}).labels)  --> 2"
    ) { c in
        let (model, xs, o) = (try c.moduleArg(1), try TextFunctions.texts(c, 2), try c.opts())
        let (batch, maxLength) = (try o.int("batch_size"), try o.intIfGiven("max_length"))
        let r = try HFFunctions.progress("predicting", "texts") { try HF.predict(model, texts: xs, batchSize: batch, maxLength: maxLength, progress: $0) }
        let labels: LuaValue = HF.labelNames(model, r.classes).map { .strings($0) } ?? .ints(r.classes)
        return try c.record("Predictions", [("labels", labels), ("classes", .ints(r.classes)), ("probs", .object(r.probs))])
    }
}
