import CLua
import CLuaShim
import LatheCore

/// The `nn` module: models, layers and losses (the Module class's methods are in ModuleMethods).
enum NNFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("nn", summary: "Layers, models (GPT, BERT-style encoder, MLP), losses and generation.", details: """
            Models are built from a config table and their parameters carry dotted Hugging Face-style
            paths (layers.0.attn.q_proj.weight), so they map onto real checkpoints. Call a model like a
            function: logits = model(ids). Token ids and class ids are 0-based data.
            """).add([gpt, encoder, mlp, linear, embedding, layerNorm, rmsNorm, dropout, sequential, attention, crossEntropy, mse, bceWithLogits] + activations)
        ModuleMethods.install(vm)
    }

    static let seed = LuaOpt("seed", .integer(), .computed("lathe.seed's stream"), "a private random stream for the initial weights")
    static let size = LuaKind.integer(1...Int.max), count = LuaKind.integer(0...Int.max), tensor = LuaKind.object("Tensor")
    static let probability = LuaKind.number(min: 0, max: 0.999), activation = LuaKind.choice(ActivationKind.allCases.map(\.rawValue))
    static let D = DecoderConfig(), E = EncoderConfig()
    static let dimParam = LuaParam("dim", size, "size of the last dimension")
    static let kvHeads = LuaOpt("kv_heads", size, .computed("heads"), "key/value heads; fewer than heads is grouped-query attention")
    static let ropeTheta = LuaOpt("rope_theta", .number(min: 1), .number(D.ropeTheta), "base of the rotary frequencies")

    /// A Float default as written (0.02, not the double nearest the float).
    static func float(_ f: Float) -> LuaDefault { .number(Double("\(f)")!) }

    /// Builds with the `seed` option's private stream, or with lathe.seed's (which then advances).
    static func seeded<T>(_ o: DeclaredOptions, _ make: (inout RandomGenerator) throws -> T) throws -> T {
        try Runtime.withRNG(seed: try o.intIfGiven("seed"), make)
    }

    /// The sizes nn.gpt and nn.encoder share, with each one's defaults, and their reader.
    static func sizes(_ vocab: Int, _ layers: Int, _ dim: Int, _ heads: Int, _ seq: Int) -> [LuaOpt] {
        [LuaOpt("vocab", size, .int(vocab), "vocabulary size (token ids 0..vocab-1)"), LuaOpt("layers", count, .int(layers), "transformer blocks"),
         LuaOpt("dim", size, .int(dim), "width of the token vectors"), LuaOpt("heads", size, .int(heads), "attention heads"),
         LuaOpt("seq", size, .int(seq), "the longest sequence the model takes"), LuaOpt("hidden", size, .computed("4 * dim"), "width of the MLP")]
    }
    static func sizes(_ o: DeclaredOptions) throws -> (Int, Int, Int, Int, Int, Int?) {
        (try o.int("vocab"), try o.int("layers"), try o.int("dim"), try o.int("heads"), try o.int("seq"), try o.intIfGiven("hidden"))
    }

    static let gpt = LuaFunc(
        "gpt", "A decoder-only transformer language model (GPT-2 or Llama layout).",
        options: sizes(D.vocab, D.layers, D.dim, D.heads, D.maxSeq) + [
            kvHeads, LuaOpt("head_dim", size, .computed("dim / heads"), "width of each head"),
            LuaOpt("mlp", .choice(DecoderConfig.mlpKinds), .string(D.mlp), "\"swiglu\": gated SiLU (Llama); an activation: a plain MLP with it (GPT-2: gelu)"),
            LuaOpt("activation", activation, .computed("mlp's"), "replaces the MLP's activation (with swiglu: the gate's)"),
            LuaOpt("norm", .choice(["layernorm", "rmsnorm"]), .string("layernorm"), "LayerNorm (GPT-2) or RMSNorm (Llama)"),
            LuaOpt("norm_eps", .number(min: 0, max: 1), .computed("1e-6 with rmsnorm, else 1e-5"), "epsilon of the norms"),
            LuaOpt("positions", .choice(["learned", "rotary"]), .string(D.positions), "learned position embeddings (GPT-2) or rotary positions (Llama)"),
            ropeTheta, LuaOpt("dropout", probability, float(D.dropout), "dropout while training"),
            LuaOpt("tie", .boolean, .bool(D.tieEmbeddings), "the LM head shares the token embedding's weights"), LuaOpt("bias", .boolean, .bool(D.bias), "biases in the layers"),
            LuaOpt("naming", .choice(["lathe", "llama", "gpt2"]), .string(D.naming), "parameter paths: Lathe's own, Hugging Face Llama's or GPT-2's"),
            LuaOpt("init_std", .number(min: 0), float(D.initStd), "standard deviation of the initial weights"), seed,
        ], tableCall: true,
        returns: "Module: model(ids) maps int64 ids [batch, seq] to logits [batch, seq, vocab]",
        details: "GPT-2 layout by default: pre-norm blocks, learned positions, GELU MLP, LM head tied to the embedding.\nLlama layout: norm = \"rmsnorm\", mlp = \"swiglu\", positions = \"rotary\", bias = false (naming = \"llama\" uses HF Llama paths).",
        errors: "sizes that do not divide (dim by heads, heads by kv_heads); more layers than memory holds.",
        example: "local g = nn.gpt{vocab = 64, layers = 2, dim = 32, heads = 4, seq = 16, seed = 1}\nlocal logits = g(tensor.randint(0, 64, {2, 8}))\nprint(logits:shape()[3], g:num_params())  --> 64 28032"
    ) { c in
        let o = try c.opts()
        var cfg = DecoderConfig()
        (cfg.vocab, cfg.layers, cfg.dim, cfg.heads, cfg.maxSeq, cfg.hidden) = try sizes(o)
        (cfg.kvHeads, cfg.headDim) = (try o.intIfGiven("kv_heads"), try o.intIfGiven("head_dim"))
        try cfg.setMLP(try o.string("mlp"))
        if let a = try o.stringIfGiven("activation") { cfg.activation = ActivationKind(rawValue: a)! }
        cfg.norm = try o.string("norm") == "rmsnorm" ? .rms : .layer
        cfg.normEps = try o.numberIfGiven("norm_eps").map { Float($0) } ?? cfg.norm.defaultEps
        (cfg.positions, cfg.ropeTheta, cfg.dropout) = (try o.string("positions"), try o.number("rope_theta"), Float(try o.number("dropout")))
        (cfg.tieEmbeddings, cfg.bias, cfg.naming, cfg.initStd) = (try o.bool("tie"), try o.bool("bias"), try o.string("naming"), Float(try o.number("init_std")))
        return try c.ret(.object(try seeded(o) { try DecoderLM(cfg, rng: &$0) }))
    }

    static let encoder = LuaFunc(
        "encoder", "A BERT-style encoder with a classification head.",
        options: sizes(E.vocab, E.layers, E.dim, E.heads, E.maxSeq) + [
            LuaOpt("classes", count, .int(E.classes), "classes of the head; 0: no head, the model returns token states"),
            LuaOpt("pooling", .choice(Encoder.poolings), .string(E.pooling), "what the head sees: the first token, the mean over real tokens, or BERT's pooler"),
            LuaOpt("dropout", probability, float(E.dropout), "dropout while training"), LuaOpt("type_vocab", count, .int(E.typeVocab), "token types (segment ids); 0: none"),
            LuaOpt("norm_eps", .number(min: 0, max: 1), float(E.normEps), "epsilon of the LayerNorms"),
            LuaOpt("activation", activation, .string(E.activation.rawValue), "the MLP's activation"), seed,
        ], tableCall: true,
        returns: "Module: model(ids [, mask]) -> logits [batch, classes] (token states [batch, seq, dim] with classes = 0)",
        details: "Post-norm blocks and parameter paths as Hugging Face's BertModel (encoder.layer.0.attention.self.query.weight, ...) plus\nclassifier.weight/bias. The mask is 1 for tokens, 0 for padding.",
        errors: "dim not divisible by heads.",
        example: "local e = nn.encoder{vocab = 100, layers = 1, dim = 16, heads = 2, seq = 8, classes = 3}\nprint(e(tensor.randint(0, 100, {4, 8})):shape()[2])  --> 3"
    ) { c in
        let o = try c.opts()
        var cfg = EncoderConfig()
        (cfg.vocab, cfg.layers, cfg.dim, cfg.heads, cfg.maxSeq, cfg.hidden) = try sizes(o)
        (cfg.classes, cfg.pooling, cfg.typeVocab) = (try o.int("classes"), try o.string("pooling"), try o.int("type_vocab"))
        (cfg.dropout, cfg.normEps, cfg.activation) = (Float(try o.number("dropout")), Float(try o.number("norm_eps")), ActivationKind(rawValue: try o.string("activation"))!)
        return try c.ret(.object(try seeded(o) { try Encoder(cfg, rng: &$0) }))
    }

    static let mlp = LuaFunc(
        "mlp", "A multilayer perceptron (e.g. a classifier on feature vectors).",
        options: [LuaOpt("sizes", .numbers, .none, "the widths {in, hidden..., out} (required)"), LuaOpt("activation", activation, .string("relu"), "between the layers"),
                  LuaOpt("dropout", probability, .number(0), "dropout after each activation while training"), seed],
        tableCall: true, returns: "Module: model(x [batch, in]) -> [batch, out]", errors: "fewer than two sizes; sizes that are not positive integers.",
        example: "local m = nn.mlp{sizes = {4, 16, 3}}\nprint(m(tensor.randn(5, 4)):shape()[2])  --> 3"
    ) { c in
        let o = try c.opts()
        guard let sizes = try o.numbersIfGiven("sizes") else { throw LuaError("option 'sizes' is required, e.g. {sizes = {4, 16, 3}}") }
        if let x = sizes.first(where: { Int(exactly: $0) == nil }) { throw LuaError("bad option 'sizes' (expected an array of integers, got \(fmt(x)))") }
        let ints = sizes.map { Int($0) }
        let (act, p) = (ActivationKind(rawValue: try o.string("activation"))!, Float(try o.number("dropout")))
        return try c.ret(.object(try seeded(o) { try MLPModel(sizes: ints, activation: act, dropout: p, rng: &$0) }))
    }

    static let linear = LuaFunc(
        "linear", "A fully connected layer y = x Wᵀ + b (W is [out, in], as PyTorch).",
        params: [LuaParam("in", size, "input features"), LuaParam("out", size, "output features")],
        options: [LuaOpt("bias", .boolean, .bool(true), "add a learned bias"), seed], returns: "Module",
        example: "local l = nn.linear(3, 2)\nprint(l(tensor.ones(4, 3)):shape()[2])  --> 2"
    ) { c in
        let (o, i, n) = (try c.opts(), try c.checkInt(1, "in"), try c.checkInt(2, "out"))
        let bias = try o.bool("bias")
        return try c.ret(.object(try seeded(o) { try Linear(i, n, bias: bias, rng: &$0) }))
    }

    static let embedding = LuaFunc(
        "embedding", "A lookup table of vectors for 0-based ids.",
        params: [LuaParam("count", size, "how many ids"), LuaParam("dim", size, "width of each vector")],
        options: [LuaOpt("std", .number(min: 0), .number(1), "standard deviation of the initial vectors"), seed],
        returns: "Module: emb(ids) -> ids.shape + {dim}", errors: "ids out of range when called.",
        example: "local e = nn.embedding(10, 4)\nprint(e(tensor.from({0, 9})):shape()[2])  --> 4"
    ) { c in
        let (o, n, d) = (try c.opts(), try c.checkInt(1, "count"), try c.checkInt(2, "dim"))
        let std = Float(try o.number("std"))
        return try c.ret(.object(try seeded(o) { try Embedding(n, d, std: std, rng: &$0) }))
    }

    static let layerNorm = LuaFunc(
        "layer_norm", "Layer normalization over the last dimension (learned scale and shift).",
        params: [dimParam], options: [LuaOpt("eps", .number(min: 0), .number(1e-5), "added to the variance"), LuaOpt("affine", .boolean, .bool(true), "learn a scale and a shift")],
        returns: "Module", example: "print(nn.layer_norm(4)(tensor.from({{1.0, 2.0, 3.0, 4.0}})):sum():item())  --> 0.0"
    ) { c in try c.ret(.object(try LayerNorm(try c.checkInt(1, "dim"), eps: Float(try c.opts().number("eps")), affine: try c.opts().bool("affine")))) }

    static let rmsNorm = LuaFunc(
        "rms_norm", "RMS normalization over the last dimension (Llama's norm).",
        params: [dimParam], options: [LuaOpt("eps", .number(min: 0), .number(1e-6), "added to the mean square")],
        returns: "Module", example: "print(nn.rms_norm(2, {eps = 0})(tensor.from({{2.0, -2.0}})):totable()[1][2])  --> -1.0"
    ) { c in try c.ret(.object(try RMSNorm(try c.checkInt(1, "dim"), eps: Float(try c.opts().number("eps"))))) }

    static let dropout = LuaFunc(
        "dropout", "Randomly zeroes inputs with probability p while training (and rescales the rest).",
        params: [LuaParam("p", .number(), "the probability of zeroing, in [0, 1)")], returns: "Module", errors: "p outside [0, 1).",
        example: "local d = nn.dropout(0.5)\nd:eval()\nprint(d(tensor.ones(2)))"
    ) { c in try c.ret(.object(try Dropout(Float(try c.checkNumber(1, "p"))))) }

    static let activations = ActivationKind.allCases.map { k in
        LuaFunc(k.rawValue, "The \(k.rawValue) activation as a layer.", returns: "Module",
                example: "print(nn.\(k.rawValue)()(tensor.from({-1.0, 0.0, 1.0})))") { c in try c.ret(.object(Activation(k))) }
    }

    static let sequential = LuaFunc(
        "sequential", "Chains layers: the output of each is the input of the next.",
        params: [LuaParam("layers", .table, "an array of Modules, e.g. nn.sequential{nn.linear(4, 8), nn.relu()}")], returns: "Module",
        errors: "an element that is not a Module.",
        example: "local net = nn.sequential{nn.linear(4, 8), nn.relu(), nn.linear(8, 2)}\nprint(net(tensor.randn(3, 4)):shape()[2])  --> 2"
    ) { c in try c.ret(.object(Sequential(try c.objectArray(1, Module.self, "layers", noun: "Modules")))) }

    static let attention = LuaFunc(
        "attention", "Multi-head self-attention (causal or bidirectional, grouped-query with kv_heads).",
        options: [LuaOpt("dim", size, .none, "width of the input vectors (required)"), LuaOpt("heads", size, .none, "attention heads (required)"),
                  kvHeads, LuaOpt("causal", .boolean, .bool(true), "each position sees only the ones before it"), LuaOpt("bias", .boolean, .bool(true), "biases in the projections"),
                  LuaOpt("rotary", .boolean, .bool(false), "rotary positions on queries and keys"), LuaOpt("seq", size, .int(2048), "the longest sequence (with rotary)"),
                  ropeTheta, seed], tableCall: true,
        returns: "Module: att(x [batch, seq, dim] [, mask]) -> [batch, seq, dim]", errors: "missing dim or heads; dim not divisible by heads.",
        example: "local a = nn.attention{dim = 16, heads = 4}\nprint(a(tensor.randn(2, 5, 16)):shape()[3])  --> 16"
    ) { c in
        let o = try c.opts()
        guard let dim = try o.intIfGiven("dim"), let heads = try o.intIfGiven("heads") else { throw LuaError("options 'dim' and 'heads' are required") }
        let (kv, causal, bias) = (try o.intIfGiven("kv_heads"), try o.bool("causal"), try o.bool("bias"))
        let a = try seeded(o) { try SelfAttention(dim: dim, heads: heads, kvHeads: kv, causal: causal, bias: bias, rng: &$0) }
        if try o.bool("rotary") { try a.useRotary(maxPositions: try o.int("seq"), theta: try o.number("rope_theta")) }
        return try c.ret(.object(a))
    }

    static let crossEntropy = LuaFunc(
        "cross_entropy", "Cross-entropy of logits [N, C] (or [..., C]) against 0-based class ids, as torch.nn.functional.cross_entropy.",
        params: [LuaParam("logits", tensor, "scores [N, C] or [..., C]"), LuaParam("targets", .either([tensor, .table]), "0-based class ids: a tensor or a Lua array (a data column)")],
        options: [LuaOpt("ignore_index", .integer(), .int(-100), "targets equal to it do not count"), LuaOpt("label_smoothing", .number(min: 0, max: 1), .number(0), "share of the target's probability spread over all classes"),
                  LuaOpt("weight", tensor, .none, "per-class weights; the mean divides by the weights of the counted targets (PyTorch's rule)"),
                  LuaOpt("reduction", .choice(["mean", "sum", "none"]), .string("mean"), "the mean or sum over targets, or none: one loss per target")],
        returns: "Tensor: 0-d (per-target losses with reduction = \"none\")", errors: "a target outside 0..C-1; shapes that do not match.",
        example: "local logits = tensor.from({{0.0, 0.0}, {0.0, 0.0}})\nprint(nn.cross_entropy(logits, {0, 1}):item())  --> 0.69314718..."
    ) { c in
        let o = try c.opts()
        return try c.ret(.object(try F.crossEntropy(try c.tensorArg(1, "logits"), try labelsArg(c, 2, "targets"), ignoreIndex: try o.int("ignore_index"),
                                                    labelSmoothing: Float(try o.number("label_smoothing")), weight: try o.object("weight", Tensor.self), reduction: try o.string("reduction"))))
    }

    static let mse = LuaFunc(
        "mse", "Mean squared error.",
        params: [LuaParam("prediction", tensor, "the predictions"), LuaParam("target", .either([tensor, .number()]), "the targets (same shape), or one number")],
        returns: "Tensor: 0-d", errors: "shapes that differ.",
        example: "print(nn.mse(tensor.from({1.0, 2.0}), tensor.from({1.5, 2.0})):item())  --> 0.125"
    ) { c in try c.ret(.object(try F.mse(try c.tensorArg(1, "prediction"), try c.tensorOrNumber(2, "target")))) }

    static let bceWithLogits = LuaFunc(
        "bce_with_logits", "Binary cross-entropy on logits (stable), as torch's BCEWithLogitsLoss.",
        params: [LuaParam("logits", tensor, "scores"), LuaParam("targets", tensor, "0 or 1 (or probabilities), same shape")],
        options: [LuaOpt("pos_weight", tensor, .none, "weight of the positive targets, per class")], returns: "Tensor: 0-d", errors: "shapes that differ.",
        example: "print(nn.bce_with_logits(tensor.from({0.0}), tensor.from({1.0})):item())  --> 0.69314718..."
    ) { c in try c.ret(.object(try F.bceWithLogits(try c.tensorArg(1, "logits"), try c.tensorArg(2, "targets"), posWeight: try c.opts().object("pos_weight", Tensor.self)))) }

    /// Class ids as an int64 tensor from a tensor or a Lua array of integers.
    static func labelsArg(_ c: LuaCall, _ i: Int32, _ label: String) throws -> Tensor {
        if let t = c.object(i, Tensor.self) { return t.dtype == .int64 ? t : try t.to(.int64) }
        return Tensor(int64s: try c.intArray(i, label).map { Int64($0) }, shape: [c.rawLen(i)])
    }

    /// Token ids [1, T] or [B, T] from an int64 tensor or a Lua array.
    static func idsArg(_ c: LuaCall, _ i: Int32, _ label: String) throws -> Tensor {
        if let t = c.object(i, Tensor.self) {
                  guard t.dtype == .int64 else { throw c.argError(i, label, "token ids must be an int64 tensor, got \(t.dtype.rawValue)") }
                  return t
        }
        guard c.type(i) == LUA_TTABLE else { throw c.argError(i, label, expected: "int64 Tensor or array of token ids") }
        return Tensor(int64s: try c.intArray(i, label).map { Int64($0) }, shape: [1, c.rawLen(i)])
    }
}
