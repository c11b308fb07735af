import CLua
import CLuaShim
import LatheCore

extension Module: LuaObject {
    public static var luaTag: Int32 { LuaTag.module }
}

extension LuaCall {
    func moduleArg(_ i: Int32, _ label: String = "model") throws -> Module {
        try checkObject(i, Module.self, label, expected: "Module (a model or layer from nn)")
    }
    /// A float option in [lo, hi].
    func floatOpt(_ o: LuaOptions, _ key: String, _ def: Double, min lo: Double = -.infinity, max hi: Double = .infinity) throws -> Double {
        let v = try o.number(key, def)
        if !(v >= lo && v <= hi) {
            throw LuaError("bad option '\(key)' (expected a number from \(fmt(lo)) to \(fmt(hi)), got \(fmt(v)))")
        }
        return v
    }
    func intOpt(_ o: LuaOptions, _ key: String, _ def: Int, min lo: Int = Int.min) throws -> Int {
        let v = try o.int(key, def)
        if v < lo { throw LuaError("bad option '\(key)' (expected an integer >= \(lo), got \(v))") }
        return v
    }
}

enum NNModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        let m = vm.module("nn", summary: "Layers, models (GPT, BERT-style encoder, MLP), losses and generation.",
                          details: """
        Models are built from a config table and their parameters carry dotted Hugging Face-style
        paths (layers.0.attn.q_proj.weight), so they map onto real checkpoints. Call a model like a
        function: logits = model(ids). Token ids and class ids are 0-based data.
        """)
        installModels(vm, m)
        installLayers(vm, m)
        installLosses(vm, m)
        installClass(vm)
    }

    static func push(_ c: LuaCall, _ mod: Module) -> Int32 {
        c.push(mod)
        return 1
    }

    // MARK: - models

    static func installModels(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("gpt", Doc("A decoder-only transformer language model (GPT-2 or Llama layout).",
            signature: "nn.gpt{vocab=256, layers=4, dim=256, heads=4, seq=128, kv_heads=heads, hidden=4*dim, mlp=\"gelu\"|\"swiglu\", norm=\"layernorm\"|\"rmsnorm\", positions=\"learned\"|\"rotary\", rope_theta=10000, dropout=0, tie=true, bias=true, naming=\"lathe\"|\"llama\", seed=}",
            details: "GPT-2 layout by default: pre-norm blocks, learned positions, GELU MLP, LM head tied to the embedding.\nLlama layout: norm=\"rmsnorm\", mlp=\"swiglu\", positions=\"rotary\", bias=false (naming=\"llama\" uses HF Llama paths).\nkv_heads < heads gives grouped-query attention. Initialization follows GPT-2 (N(0, 0.02)).",
            returns: "a Module: model(ids) maps int64 ids [batch, seq] to logits [batch, seq, vocab]",
            errors: "sizes that do not divide (dim by heads, heads by kv_heads); unknown option values.",
            example: "local g = nn.gpt{vocab = 64, layers = 2, dim = 32, heads = 4, seq = 16}\nlocal logits = g(tensor.randint(0, 64, {2, 8}))\nprint(logits:shape()[3], g:num_params())")) { c in
            let o = try c.options(1, allowed: ["vocab", "layers", "dim", "heads", "seq", "kv_heads", "head_dim", "hidden", "mlp", "norm", "norm_eps",
                                               "positions", "rope_theta", "dropout", "tie", "bias", "naming", "seed", "activation", "init_std"])
            var cfg = DecoderConfig()
            cfg.vocab = try c.intOpt(o, "vocab", 256, min: 1)
            cfg.layers = try c.intOpt(o, "layers", 4, min: 0)
            cfg.dim = try c.intOpt(o, "dim", 256, min: 1)
            cfg.heads = try c.intOpt(o, "heads", 4, min: 1)
            cfg.maxSeq = try c.intOpt(o, "seq", 128, min: 1)
            cfg.kvHeads = try o.int("kv_heads")
            cfg.headDim = try o.int("head_dim")
            cfg.hidden = try o.int("hidden")
            let mlp = try o.choice("mlp", ["gelu", "swiglu", "relu", "gelu_tanh"], "gelu")
            cfg.gated = mlp == "swiglu"
            cfg.activation = mlp == "swiglu" ? .silu : ActivationKind(rawValue: mlp) ?? .gelu
            if let a = try o.string("activation") {
                guard let k = ActivationKind(rawValue: a) else { throw LuaError("bad option 'activation' (expected relu, gelu, gelu_tanh, silu, tanh or sigmoid, got \"\(a)\")") }
                cfg.activation = k
            }
            cfg.norm = try o.choice("norm", ["layernorm", "rmsnorm"], "layernorm") == "rmsnorm" ? .rms : .layer
            cfg.normEps = Float(try c.floatOpt(o, "norm_eps", cfg.norm == .rms ? 1e-6 : 1e-5, min: 0, max: 1))
            cfg.positions = try o.choice("positions", ["learned", "rotary"], "learned")
            cfg.ropeTheta = try c.floatOpt(o, "rope_theta", 10000, min: 1)
            cfg.dropout = Float(try c.floatOpt(o, "dropout", 0, min: 0, max: 0.999))
            cfg.tieEmbeddings = try o.bool("tie", true)
            cfg.bias = try o.bool("bias", true)
            cfg.naming = try o.choice("naming", ["lathe", "llama", "gpt2"], "lathe")
            cfg.initStd = Float(try c.floatOpt(o, "init_std", 0.02, min: 0))
            var rng = try seededRNG(o)
            let model = try DecoderLM(cfg, rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            return push(c, model)
        }

        m.function("encoder", Doc("A BERT-style encoder with a classification head (first-token or mean pooling).",
            signature: "nn.encoder{vocab=30522, layers=2, dim=128, heads=2, seq=128, hidden=4*dim, classes=2, pooling=\"cls\"|\"mean\", dropout=0.1, type_vocab=2, seed=}",
            details: "Post-norm blocks and parameter paths as Hugging Face's BertModel (embeddings.word_embeddings.weight,\nencoder.layer.0.attention.self.query.weight, ...) plus classifier.weight/bias. classes = 0 gives a model\nthat returns token states [batch, seq, dim]. Call model(ids, mask) with mask 1 for tokens, 0 for padding.",
            returns: "a Module: model(ids [, mask]) -> logits [batch, classes]",
            errors: "dim not divisible by heads; an unknown pooling.",
            example: "local e = nn.encoder{vocab = 100, layers = 1, dim = 16, heads = 2, seq = 8, classes = 3}\nprint(e(tensor.randint(0, 100, {4, 8})):shape()[2])")) { c in
            let o = try c.options(1, allowed: ["vocab", "layers", "dim", "heads", "seq", "hidden", "classes", "pooling", "dropout", "type_vocab", "seed", "norm_eps", "activation"])
            var cfg = EncoderConfig()
            cfg.vocab = try c.intOpt(o, "vocab", 30522, min: 1)
            cfg.layers = try c.intOpt(o, "layers", 2, min: 0)
            cfg.dim = try c.intOpt(o, "dim", 128, min: 1)
            cfg.heads = try c.intOpt(o, "heads", 2, min: 1)
            cfg.maxSeq = try c.intOpt(o, "seq", 128, min: 1)
            cfg.hidden = try o.int("hidden")
            cfg.classes = try c.intOpt(o, "classes", 2, min: 0)
            cfg.pooling = try o.choice("pooling", ["cls", "mean"], "cls")
            cfg.dropout = Float(try c.floatOpt(o, "dropout", 0.1, min: 0, max: 0.999))
            cfg.typeVocab = try c.intOpt(o, "type_vocab", 2, min: 0)
            cfg.normEps = Float(try c.floatOpt(o, "norm_eps", 1e-12, min: 0, max: 1))
            if let a = try o.string("activation") {
                guard let k = ActivationKind(rawValue: a) else { throw LuaError("bad option 'activation' (expected relu, gelu, gelu_tanh, silu, tanh or sigmoid, got \"\(a)\")") }
                cfg.activation = k
            }
            var rng = try seededRNG(o)
            let model = try Encoder(cfg, rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            return push(c, model)
        }

        m.function("mlp", Doc("A multilayer perceptron (e.g. a classifier on feature vectors).",
            signature: "nn.mlp{sizes={in, hidden..., out}, activation=\"relu\", dropout=0, seed=}",
            returns: "a Module: model(x [batch, in]) -> [batch, out]",
            errors: "fewer than two sizes; non-positive sizes.",
            example: "local m = nn.mlp{sizes = {4, 16, 3}}\nprint(m(tensor.randn(5, 4)):shape()[2])")) { c in
            let o = try c.options(1, allowed: ["sizes", "activation", "dropout", "seed"])
            guard let sizes = try o.numberArray("sizes")?.map({ Int($0) }) else { throw LuaError("option 'sizes' is required, e.g. {sizes = {4, 16, 3}}") }
            let act = try o.choice("activation", ActivationKind.allCases.map { $0.rawValue }, "relu")
            var rng = try seededRNG(o)
            let model = try MLPModel(sizes: sizes, activation: ActivationKind(rawValue: act)!, dropout: Float(try c.floatOpt(o, "dropout", 0, min: 0, max: 0.999)), rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            return push(c, model)
        }
    }

    static func seededRNG(_ o: LuaOptions) throws -> RandomGenerator {
        if let s = try o.int("seed") { return RandomGenerator(seed: UInt64(bitPattern: Int64(s))) }
        return Runtime.rng
    }

    // MARK: - layers

    static func installLayers(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("linear", Doc("A fully connected layer y = x Wᵀ + b (W is [out, in], as PyTorch).",
            signature: "nn.linear(in, out [, {bias=true, seed=}])",
            returns: "a Module", errors: "non-positive sizes.",
            example: "local l = nn.linear(3, 2)\nprint(l(tensor.ones(4, 3)):shape()[2])")) { c in
            let inF = try c.checkInt(1, "in"), outF = try c.checkInt(2, "out")
            let o = try c.options(3, allowed: ["bias", "seed"])
            var rng = try seededRNG(o)
            let l = try Linear(inF, outF, bias: try o.bool("bias", true), rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            return push(c, l)
        }
        m.function("embedding", Doc("A lookup table of vectors for 0-based ids.",
            signature: "nn.embedding(count, dim [, {std=1, seed=}])",
            returns: "a Module: emb(ids) -> ids.shape + {dim}", errors: "ids out of range when called.",
            example: "local e = nn.embedding(10, 4)\nprint(e(tensor.from({0, 9})):shape()[2])")) { c in
            let n = try c.checkInt(1, "count"), d = try c.checkInt(2, "dim")
            let o = try c.options(3, allowed: ["std", "seed"])
            var rng = try seededRNG(o)
            let e = try Embedding(n, d, std: Float(try c.floatOpt(o, "std", 1, min: 0)), rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            return push(c, e)
        }
        m.function("layer_norm", Doc("Layer normalization over the last dimension (learned scale and shift).",
            signature: "nn.layer_norm(dim [, {eps=1e-5, affine=true}])", returns: "a Module",
            example: "print(nn.layer_norm(4)(tensor.randn(2, 4)):mean(2))")) { c in
            let d = try c.checkInt(1, "dim")
            let o = try c.options(2, allowed: ["eps", "affine"])
            return push(c, try LayerNorm(d, eps: Float(try c.floatOpt(o, "eps", 1e-5, min: 0)), affine: try o.bool("affine", true)))
        }
        m.function("rms_norm", Doc("RMS normalization over the last dimension (Llama's norm).",
            signature: "nn.rms_norm(dim [, {eps=1e-6}])", returns: "a Module",
            example: "print(nn.rms_norm(4)(tensor.randn(2, 4)))")) { c in
            let d = try c.checkInt(1, "dim")
            let o = try c.options(2, allowed: ["eps"])
            return push(c, try RMSNorm(d, eps: Float(try c.floatOpt(o, "eps", 1e-6, min: 0))))
        }
        m.function("dropout", Doc("Randomly zeroes inputs with probability p while training (and rescales the rest).",
            signature: "nn.dropout(p)", returns: "a Module", errors: "p outside [0, 1).",
            example: "local d = nn.dropout(0.5)\nd:eval()\nprint(d(tensor.ones(4)))")) { c in
            return push(c, try Dropout(Float(try c.checkNumber(1, "p"))))
        }
        for kind in ActivationKind.allCases {
            m.function(kind.rawValue, Doc("The \(kind.rawValue) activation as a layer.", signature: "nn.\(kind.rawValue)()", returns: "a Module",
                                          example: "print(nn.\(kind.rawValue)()(tensor.from({-1.0, 0.0, 1.0})))")) { c in
                return push(c, Activation(kind))
            }
        }
        m.function("sequential", Doc("Chains layers: the output of each is the input of the next.",
            signature: "nn.sequential{layer1, layer2, ...}", returns: "a Module",
            errors: "an element that is not a Module.",
            example: "local net = nn.sequential{nn.linear(4, 8), nn.relu(), nn.linear(8, 2)}\nprint(net(tensor.randn(3, 4)):shape()[2])")) { c in
            try c.checkTable(1, "layers")
            var items: [Module] = []
            for k in 0..<c.rawLen(1) {
                lua_rawgeti(c.L, 1, lua_Integer(k + 1))
                defer { lp_pop(c.L, 1) }
                guard let mod = c.object(-1, Module.self) else { throw c.argError(1, "layers", "element \(k + 1) is a \(c.typeName(-1)), expected a Module") }
                items.append(mod)
            }
            return push(c, Sequential(items))
        }
        m.function("attention", Doc("Multi-head self-attention (causal or bidirectional, grouped-query with kv_heads).",
            signature: "nn.attention{dim=, heads=, kv_heads=heads, causal=true, bias=true, rotary=false, seq=2048, rope_theta=10000, seed=}",
            returns: "a Module: att(x [batch, seq, dim] [, mask]) -> [batch, seq, dim]",
            example: "local a = nn.attention{dim = 16, heads = 4}\nprint(a(tensor.randn(2, 5, 16)):shape()[3])")) { c in
            let o = try c.options(1, allowed: ["dim", "heads", "kv_heads", "causal", "bias", "rotary", "seq", "rope_theta", "seed"])
            guard let dim = try o.int("dim"), let heads = try o.int("heads") else { throw LuaError("options 'dim' and 'heads' are required") }
            var rng = try seededRNG(o)
            let a = try SelfAttention(dim: dim, heads: heads, kvHeads: try o.int("kv_heads"), causal: try o.bool("causal", true),
                                      bias: try o.bool("bias", true), rng: &rng)
            if try o.bool("rotary", false) {
                let t = try F.ropeTables(headDim: a.headDim, maxPositions: try c.intOpt(o, "seq", 2048, min: 1), theta: try c.floatOpt(o, "rope_theta", 10000, min: 1))
                a.rope = (t.0, t.1)
            }
            if try o.int("seed") == nil { Runtime.rng = rng }
            return push(c, a)
        }
    }

    // MARK: - losses

    static func installLosses(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("cross_entropy", Doc("Cross-entropy of logits [N, C] (or [..., C]) against 0-based class ids, as torch.nn.functional.cross_entropy.",
            signature: "nn.cross_entropy(logits, targets [, {ignore_index=-100, label_smoothing=0, weight=nil, reduction=\"mean\"}])",
            details: "targets: an int64 tensor or Lua array of 0-based class ids; entries equal to ignore_index do not count.\nweight: a per-class tensor; the weighted mean divides by the weights of the counted targets (PyTorch's rule).",
            returns: "a 0-d Tensor (or per-example losses with reduction=\"none\")",
            errors: "a target outside 0..C-1; shapes that do not match.",
            example: "local logits = tensor.from({{2.0, 0.5, -1.0}, {0.1, 0.2, 3.0}})\nprint(nn.cross_entropy(logits, {0, 2}):item())")) { c in
            let logits = try c.tensorArg(1, "logits")
            let targets = try labelsArg(c, 2, "targets")
            let o = try c.options(3, allowed: ["ignore_index", "label_smoothing", "weight", "reduction"])
            return c.ret(try F.crossEntropy(logits, targets, ignoreIndex: try o.int("ignore_index", -100),
                                              labelSmoothing: Float(try c.floatOpt(o, "label_smoothing", 0, min: 0, max: 1)),
                                              weight: try o.object("weight", Tensor.self), reduction: try o.choice("reduction", ["mean", "sum", "none"], "mean")))
        }
        m.function("mse", Doc("Mean squared error.", signature: "nn.mse(prediction, target)", returns: "a 0-d Tensor",
                              errors: "shapes that differ.",
                              example: "print(nn.mse(tensor.from({1.0, 2.0}), tensor.from({1.5, 2.0})):item())")) { c in
            return c.ret(try F.mse(try c.tensorArg(1, "prediction"), try c.tensorOrNumber(2, "target")))
        }
        m.function("bce_with_logits", Doc("Binary cross-entropy on logits (stable), as torch's BCEWithLogitsLoss.",
            signature: "nn.bce_with_logits(logits, targets [, {pos_weight=}])", returns: "a 0-d Tensor",
            errors: "shapes that differ.",
            example: "print(nn.bce_with_logits(tensor.from({0.5, -1.0}), tensor.from({1.0, 0.0})):item())")) { c in
            let o = try c.options(3, allowed: ["pos_weight"])
            return c.ret(try F.bceWithLogits(try c.tensorArg(1, "logits"), try c.tensorArg(2, "targets"), posWeight: try o.object("pos_weight", Tensor.self)))
        }
    }

    /// Class ids as an int64 tensor from a tensor or a Lua array of integers.
    static func labelsArg(_ c: LuaCall, _ i: Int32, _ label: String) throws -> Tensor {
        if let t = c.object(i, Tensor.self) {
            return t.dtype == .int64 ? t : try t.to(.int64)
        }
        let xs = try c.intArray(i, label)
        return Tensor(int64s: xs.map { Int64($0) }, shape: [xs.count])
    }

    /// Token ids [1, T] or [B, T] from a tensor or a Lua array.
    static func idsArg(_ c: LuaCall, _ i: Int32, _ label: String) throws -> Tensor {
        if let t = c.object(i, Tensor.self) {
            guard t.dtype == .int64 else { throw c.argError(i, label, "token ids must be an int64 tensor, got \(t.dtype.rawValue)") }
            return t
        }
        if c.type(i) == LUA_TTABLE {
            let xs = try c.intArray(i, label)
            return Tensor(int64s: xs.map { Int64($0) }, shape: [1, xs.count])
        }
        throw c.argError(i, label, expected: "int64 Tensor or array of token ids")
    }
}
