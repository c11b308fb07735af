import CLua
import CLuaShim
import LatheCore

extension Module: LuaObject {
    public static var luaTag: Int32 { LuaTag.module }
}

extension LuaCall {
    /// The model at argument i (or self when the call is a method).
    func moduleArg(_ i: Int32, _ label: String = "model") throws -> Module {
        if isMethod && i == 1 { return try selfObject(Module.self) }
        return try checkObject(i, Module.self, label, expected: "Module (a model or layer from nn)")
    }
    /// Returns a result record (one value).
    func record(_ name: String, _ fields: [(String, LuaValue)]) throws -> Int32 {
        try pushRecord(fields, name: name)
        return 1
    }
    /// Returns argument i (a function that changes its argument and returns it).
    func retArg(_ i: Int32) -> Int32 {
        lua_pushvalue(L, i)
        return 1
    }
}

/// The methods of Module objects (`model:summary()`, `model:generate(ids)`, ...).
enum ModuleMethods {
    static func install(_ vm: LuaVM) {
        vm.defineClass(Module.self, name: "Module", summary: "A layer or model: call it on tensors; it owns named parameters.") { b in
            b.add([forward, parameters, namedParameters, summary, numParams, train, eval, isTraining] + trainable +
                  [get, modules, save, load, generate, embed, chat, weightBytes, config])
            b.meta("__call") { c in try run(c) }
            b.meta("__tostring") { c in try c.ret(.string(try c.moduleArg(1).headline)) }
            b.getter("tokenizer") { c in try c.ret(try c.moduleArg(1).pretrained?.tokenizer.map { .object($0) } ?? .nil) }
        }
    }

    static let gptExample = "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8, seed = 1}\n"
    static let ids = LuaKind.either([.object("Tensor"), .table])

    /// model(x, mask, ...): language models and encoders take token ids first.
    static func run(_ c: LuaCall) throws -> Int32 {
        let mod = try c.moduleArg(1)
        var inputs = [mod is DecoderLM || mod is Encoder ? try NNFunctions.idsArg(c, 2, "ids") : try c.tensorArg(2, "input")]
        for j in stride(from: Int32(3), through: c.top, by: 1) where !c.isNoneOrNil(j) { inputs.append(try c.tensorArg(j, "mask")) }
        return try c.ret(.object(try mod.forward(inputs)))
    }

    static let forward = LuaFunc(
        "forward", "Runs the model (same as calling it).",
        params: [LuaParam("x", ids, "the input; token ids (int64 tensor [batch, seq] or a Lua array) for language models and encoders"),
                 LuaParam("mask", .object("Tensor"), optional: true, "1 for tokens, 0 for padding (encoders, attention)")], returns: "Tensor",
        details: "Language models return logits [batch, seq, vocab]; encoders logits [batch, classes] (token states without a head).",
        example: "local l = nn.linear(2, 1)\nprint(l:forward(tensor.ones(3, 2)):shape()[1])  --> 3"
    ) { c in try run(c) }

    static let parameters = LuaFunc("parameters", "The parameter tensors, in order (each keeps its gradient in .grad).", returns: "{Tensor, ...}",
                                    example: "print(#nn.linear(2, 3):parameters())  --> 2"
    ) { c in try c.ret(.array(try c.moduleArg(1).namedParameters().map { .object($0.1) })) }
    static let namedParameters = LuaFunc("named_parameters", "The parameters by dotted path (layers.0.attn.q_proj.weight).", returns: "{path = Tensor, ...}",
                                         example: "for name, t in pairs(nn.linear(2, 3):named_parameters()) do print(name, t:shape()[1]) end"
    ) { c in try c.ret(.record(try c.moduleArg(1).namedParameters().map { ($0.0, .object($0.1)) })) }
    static let summary = LuaFunc("summary", "A table of the model's layers: path, type, parameter shapes and counts, trainable or frozen.", returns: "string",
                                 example: "print(nn.mlp{sizes = {4, 8, 2}}:summary())  --> MLP: 58 parameters, 58 trainable (100.00%)"
    ) { c in try c.ret(.string(try c.moduleArg(1).summary())) }
    static let numParams = LuaFunc("num_params", "Number of parameter elements (all, or only trainable ones).",
                                   options: [LuaOpt("trainable", .boolean, .bool(false), "count only the trainable ones")], returns: "integer",
                                   example: "print(nn.linear(10, 5):num_params())  --> 55"
    ) { c in try c.ret(.int(try c.moduleArg(1).parameterCount(trainableOnly: try c.opts().bool("trainable")))) }
    static let isTraining = LuaFunc("is_training", "Whether the model is in training mode.", returns: "boolean", example: "print(nn.linear(1, 1):is_training())  --> true"
    ) { c in try c.ret(.bool(try c.moduleArg(1).training)) }
    static let weightBytes = LuaFunc("weight_bytes", "Bytes held by the model's weights (float parameters and packed quantized blocks).", returns: "integer",
                                     example: "print(nn.linear(4, 2):weight_bytes())  --> 40"
    ) { c in try c.ret(.int(try c.moduleArg(1).weightBytes)) }

    static func mode(_ name: String, _ on: Bool, _ summary: String) -> LuaFunc {
        LuaFunc(name, summary, returns: "the model", example: "local m = nn.dropout(0.1):\(name)()\nprint(m:is_training())  --> \(on)") { c in
            try c.moduleArg(1).setTraining(on)
            return c.retArg(1)
        }
    }
    static let train = mode("train", true, "Training mode (dropout active).")
    static let eval = mode("eval", false, "Evaluation mode (dropout off).")

    static let trainable = [("freeze", false), ("unfreeze", true)].map { name, on in
        LuaFunc(name, (on ? "Makes trainable" : "Freezes") + " the parameters whose path matches a glob pattern (all by default).",
                params: [LuaParam("pattern", .string, optional: true, "a glob over dotted paths: \"*\" any run of characters, \"?\" one (default \"*\": all)")],
                returns: "integer: how many parameters matched",
                details: "E.g. \"layers.0.*\", \"*.q_proj.*\", \"embed*\". Frozen parameters get no gradient and no optimizer state.", errors: "a pattern that matches nothing.",
                example: gptExample + "print(g:\(name)(\"layers.0.*\"))  --> 16") { c in
            try c.ret(.int(try c.moduleArg(1).setTrainable(glob: try c.optString(2, "pattern", "*") ?? "*", on)))
        }
    }

    static let get = LuaFunc(
        "get", "A sub-module by path (e.g. \"layers.0.attn\").",
        params: [LuaParam("path", .string, "a dotted path, as m:modules() lists them")], returns: "Module", errors: "a path that names no module.",
        example: gptExample + "print(g:get(\"layers.0.attn\"))  --> Attention..."
    ) { c in
        let path = try c.checkString(2, "path")
        guard let sub = try c.moduleArg(1).module(at: path) else { throw c.argError(2, "path", "no module at '\(path)'") }
        return try c.ret(.object(sub))
    }

    static let modules = LuaFunc("modules", "Paths and types of all sub-modules.", returns: "{{path=, type=}, ...}",
                                 example: "print(#nn.mlp{sizes = {2, 4, 1}}:modules())  --> 4"
    ) { c in try c.ret(.array(try c.moduleArg(1).namedModules().map { .record([("path", .string($0.0)), ("type", .string($0.1.typeName))]) })) }

    static let path = LuaParam("path", .string, "a .safetensors file")

    static let save = LuaFunc(
        "save", "Writes the parameters to a safetensors file (names are the dotted paths).",
        params: [path], options: [LuaOpt("overwrite", .boolean, .bool(false), "replace an existing file")], errors: "an existing file without overwrite; an unwritable folder.",
        example: "local p = os.tmpname()\nos.remove(p)\nnn.linear(2, 2):save(p)\nos.remove(p)"
    ) { c in
        try c.moduleArg(1).save(safetensors: try c.checkString(2, "path"), overwrite: try c.opts().bool("overwrite"))
        return 0
    }

    static let load = LuaFunc(
        "load", "Reads parameters from a safetensors file into this model (matching paths and shapes).",
        params: [path], options: [LuaOpt("strict", .boolean, .bool(true), "every parameter must be in the file and every tensor of the file in the model")],
        returns: "{missing=, unexpected=}: paths of parameters the file lacks; names in the file the model lacks",
        errors: "missing or extra weights (with strict), a shape mismatch, a corrupted file.",
        example: "local p = os.tmpname()\nos.remove(p)\nnn.linear(2, 2):save(p)\nprint(nn.linear(2, 2, {bias = false}):load(p, {strict = false}))  --> LoadResult {missing = {}, unexpected = {\"bias\"}}\nos.remove(p)"
    ) { c in
        let r = try c.moduleArg(1).load(safetensors: try c.checkString(2, "path"), strict: try c.opts().bool("strict"))
        return try c.record("LoadResult", [("missing", .strings(r.missing)), ("unexpected", .strings(r.unexpected))])
    }

    static let generate = LuaFunc(
        "generate", "Generates tokens after a prompt (decoder LMs), using a key/value cache.",
        params: [LuaParam("ids", ids, "the prompt's 0-based token ids: a Lua array or an int64 tensor")],
        options: HFChatFunctions.sampling(maxTokens: GenerateOptions().maxTokens, greedy: .bool(false), temperature: .number(GenerateOptions().temperature))
            + [LuaOpt("stop", .numbers, .none, "token ids that end generation (not included)")],
        returns: "{id, ...}: the new token ids", errors: "a model that is not a language model; ids outside the vocabulary; a prompt longer than the model.",
        example: gptExample + "print(#g:generate({1, 2, 3}, {max_tokens = 5, greedy = true}))  --> 5"
    ) { c in
        guard let lm = try c.moduleArg(1) as? DecoderLM else { throw LuaError("generate needs a decoder language model (nn.gpt or a loaded causal LM)") }
        let ids = try NNFunctions.idsArg(c, 2, "ids").toInt64Array().map { Int($0) }
        return try c.ret(.ints(try lm.generate(prompt: ids, try HFChatFunctions.options(c.opts()))))
    }

    /// hf.f(model, ...) as model:f(...): the same options and body.
    static func method(_ f: LuaFunc, example: String) -> LuaFunc {
        LuaFunc(f.name, f.summary, params: Array(f.params.dropFirst()), options: f.options, returns: f.returns, details: "Also hf.\(f.name)(model, ...).",
                errors: f.errors, example: example, f.body)
    }
    static let embed = method(HFEncoderFunctions.embed, example: HFEncoderFunctions.encoderExample + "print(e:embed({\"a man\", \"a horse\"}):shape()[1])  --> 2")
    static let chat = method(HFChatFunctions.chat, example: gptExample + "print(pcall(g.chat, g, \"hi\"))  --> false ...")

    static let config = LuaFunc(
        "config", "The model's configuration, by the names of nn.gpt's and nn.encoder's options.",
        returns: "ModelConfig: {vocab=, layers=, dim=, heads=, ...} (other modules: {type=})",
        example: "print(nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}:config().vocab)  --> 16"
    ) { c in try c.record("ModelConfig", configFields(try c.moduleArg(1))) }

    static func configFields(_ mod: Module) -> [(String, LuaValue)] {
        if let k = (mod as? DecoderLM)?.config {
            return [("vocab", .int(k.vocab)), ("layers", .int(k.layers)), ("dim", .int(k.dim)), ("heads", .int(k.heads)), ("kv_heads", .int(k.kvHeads ?? k.heads)),
                    ("seq", .int(k.maxSeq)), ("hidden", .int(k.hidden ?? 4 * k.dim)), ("positions", .string(k.positions)),
                    ("norm", .string(k.norm == .rms ? "rmsnorm" : "layernorm")), ("mlp", .string(k.mlp)), ("tie", .bool(k.tieEmbeddings))]
        }
        guard let e = mod as? Encoder else { return [("type", .string(mod.typeName))] }
        return [("vocab", .int(e.config.vocab)), ("layers", .int(e.config.layers)), ("dim", .int(e.config.dim)), ("heads", .int(e.config.heads)),
                ("seq", .int(e.config.maxSeq)), ("classes", .int(e.classifier?.outFeatures ?? 0)), ("pooling", .string(e.pooling))]
    }
}
