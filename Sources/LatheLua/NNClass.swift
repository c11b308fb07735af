import CLua
import CLuaShim
import Foundation
import LatheCore

extension NNModule {
    static func selfM(_ c: LuaCall) throws -> Module { try c.selfObject(Module.self) }

    static func forwardCall(_ c: LuaCall, from i: Int32) throws -> Int32 {
        let mod = try selfM(c)
        var inputs: [Tensor] = []
        var j = i
        while !c.isNoneOrNil(j) {
            if mod is DecoderLM || mod is Encoder, j == i {
                inputs.append(try idsArg(c, j, "ids"))
            } else {
                inputs.append(try c.tensorArg(j, j == i ? "input" : "mask"))
            }
            j += 1
        }
        if inputs.isEmpty { throw c.argError(i, "input", expected: "Tensor") }
        return c.ret(try mod.forward(inputs))
    }

    static func installClass(_ vm: LuaVM) {
        vm.defineClass(Module.self, name: "Module", summary: "A layer or model: call it on tensors; it owns named parameters.") { b in
            b.meta("__call") { c in try forwardCall(c, from: 2) }
            b.method("forward", Doc("Runs the model (same as calling it).", signature: "m:forward(x [, mask])",
                                    details: "Language models take int64 ids [batch, seq] (or a Lua array) and return logits [batch, seq, vocab];\nencoders take ids and an optional mask and return logits [batch, classes].",
                                    example: "local l = nn.linear(2, 1)\nprint(l:forward(tensor.ones(3, 2)):shape()[1])")) { c in
                try forwardCall(c, from: 2)
            }
            b.meta("__tostring") { c in
                let mod = try selfM(c)
                let n = mod.parameterCount(), tr = mod.parameterCount(trainableOnly: true)
                var s = "\(mod.typeName)"
                if !mod.details.isEmpty { s += " (\(mod.details))" }
                s += ": \(group(n)) parameters"
                if tr != n { s += ", \(group(tr)) trainable" }
                c.push(s)
                return 1
            }
            b.method("parameters", Doc("The parameter tensors, in order (each keeps its gradient in .grad).",
                                       signature: "m:parameters() -> {Tensor, ...}",
                                       example: "print(#nn.linear(2, 3):parameters())")) { c in
                return try c.ret(.array(try selfM(c).namedParameters().map { .object($0.1) }))
            }
            b.method("named_parameters", Doc("The parameters by dotted path (layers.0.attn.q_proj.weight).",
                                             signature: "m:named_parameters() -> {path = Tensor, ...}",
                                             example: "for name, t in pairs(nn.linear(2, 3):named_parameters()) do print(name, t:shape()[1]) end")) { c in
                return try c.ret(.record(try selfM(c).namedParameters().map { ($0.0, .object($0.1)) }))
            }
            b.method("summary", Doc("A table of the model's layers: path, type, parameter shapes and counts, trainable or frozen.",
                                    signature: "m:summary() -> text",
                                    example: "print(nn.mlp{sizes = {4, 8, 2}}:summary())")) { c in
                c.push(summaryText(try selfM(c)))
                return 1
            }
            b.method("num_params", Doc("Number of parameter elements (all, or only trainable ones).",
                                       signature: "m:num_params([{trainable=false}]) -> integer",
                                       example: "print(nn.linear(10, 5):num_params())")) { c in
                let o = try c.options(2, allowed: ["trainable"])
                c.push(try selfM(c).parameterCount(trainableOnly: try o.bool("trainable", false)))
                return 1
            }
            b.method("train", Doc("Training mode (dropout active); returns the model.", signature: "m:train() -> m",
                                  example: "local m = nn.dropout(0.1):train()")) { c in
                try selfM(c).setTraining(true)
                lua_pushvalue(c.L, 1)
                return 1
            }
            b.method("eval", Doc("Evaluation mode (dropout off); returns the model.", signature: "m:eval() -> m",
                                 example: "local m = nn.dropout(0.1):eval()")) { c in
                try selfM(c).setTraining(false)
                lua_pushvalue(c.L, 1)
                return 1
            }
            b.method("is_training", Doc("Whether the model is in training mode.", signature: "m:is_training() -> boolean",
                                        example: "print(nn.linear(1, 1):is_training())")) { c in
                c.push(try selfM(c).training)
                return 1
            }
            for (name, on) in [("freeze", false), ("unfreeze", true)] {
                b.method(name, Doc((on ? "Makes trainable" : "Freezes") + " the parameters whose path matches a glob pattern (all by default).",
                                   signature: "m:\(name)([pattern = \"*\"]) -> count",
                                   details: "Patterns are globs over dotted paths: \"*\" any run of characters, \"?\" one character,\ne.g. \"layers.0.*\", \"*.q_proj.*\", \"embed*\". Frozen parameters get no gradient and no optimizer state.",
                                   errors: "a pattern that matches nothing.",
                                   example: "local g = nn.gpt{vocab = 16, layers = 2, dim = 8, heads = 2, seq = 4}\nprint(g:\(name)(\"layers.0.*\"))")) { c in
                let mod = try selfM(c)
                let pat = try c.optString(2, "pattern", "*") ?? "*"
                let n = mod.setTrainable(matching: pat, on)
                if n == 0 {
                    throw LuaError("no parameter matches '\(pat)' (paths look like \(mod.namedParameters().prefix(3).map { $0.0 }.joined(separator: ", ")))")
                }
                c.push(n)
                return 1
            }
            }
            b.method("get", Doc("A sub-module by path (e.g. \"layers.0.attn\").", signature: "m:get(path) -> Module",
                                errors: "a path that names no module.",
                                example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}\nprint(g:get(\"layers.0.attn\"))")) { c in
                let mod = try selfM(c)
                let path = try c.checkString(2, "path")
                guard let sub = mod.namedModules().first(where: { $0.0 == path })?.1 else {
                    throw c.argError(2, "path", "no module at '\(path)'")
                }
                return push(c, sub)
            }
            b.method("modules", Doc("Paths and types of all sub-modules.", signature: "m:modules() -> {{path=, type=}, ...}",
                                    example: "print(#nn.mlp{sizes = {2, 4, 1}}:modules())")) { c in
                let mods = try selfM(c).namedModules()
                return try c.ret(.array(mods.map { .record([("path", .string($0.0)), ("type", .string($0.1.typeName))]) }))
            }
            b.method("save", Doc("Writes the parameters to a safetensors file (names are the dotted paths).",
                                 signature: "m:save(path [, {overwrite=false}])",
                                 errors: "an existing file without overwrite; an unwritable folder.",
                                 example: "local p = os.tmpname()\nos.remove(p)\nnn.linear(2, 2):save(p)\nos.remove(p)")) { c in
                let mod = try selfM(c)
                let path = try c.checkString(2, "path")
                let o = try c.options(3, allowed: ["overwrite"])
                try SafetensorsWriter.write(mod.namedParameters().map { (name: $0.0, tensor: $0.1) }, to: path,
                                            metadata: ["format": "pt"], overwrite: try o.bool("overwrite", false))
                return 0
            }
            b.method("load", Doc("Reads parameters from a safetensors file into this model (matching paths and shapes).",
                                 signature: "m:load(path [, {strict=true}]) -> {missing=, unexpected=}",
                                 errors: "missing or extra weights (with strict), a shape mismatch, a corrupted file.",
                                 example: "local p = os.tmpname()\nos.remove(p)\nlocal a = nn.linear(2, 2)\na:save(p)\nnn.linear(2, 2):load(p)\nos.remove(p)")) { c in
                let mod = try selfM(c)
                let path = try c.checkString(2, "path")
                let o = try c.options(3, allowed: ["strict"])
                let f = try SafetensorsCheckpoint(path: path)
                var values: [String: Tensor] = [:]
                for n in f.names { values[n] = try f.tensor(n) }
                let (missing, unexpected) = try mod.loadValues(values, strict: try o.bool("strict", true))
                return try c.ret(.record([("missing", .strings(missing)), ("unexpected", .strings(unexpected))]))
            }
            b.method("generate", Doc("Generates tokens after a prompt (decoder LMs), using a key/value cache.",
                                     signature: "m:generate(ids [, {max_tokens=64, temperature=1, top_k=0, top_p=1, greedy=false, stop={ids...}, seed=}]) -> {ids...}",
                                     details: "ids: a Lua array (or int64 tensor) of 0-based token ids. temperature 0 or greedy=true picks the most\nlikely token; top_k and top_p limit sampling. stop lists token ids that end generation (not included).\nSampling draws from the seeded generator (or a private one with seed).",
                                     returns: "a Lua array of the new token ids",
                                     errors: "a model that is not a language model; ids outside the vocabulary; a prompt longer than the model.",
                                     example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 32, seed = 1}\nprint(#g:generate({1, 2, 3}, {max_tokens = 5, greedy = true}))")) { c in
                guard let lm = try selfM(c) as? DecoderLM else { throw LuaError("generate needs a decoder language model (nn.gpt or a loaded causal LM)") }
                let ids = try idsArg(c, 2, "ids").toInt64Array().map { Int($0) }
                let o = try c.options(3, allowed: ["max_tokens", "temperature", "top_k", "top_p", "greedy", "stop", "seed"])
                var g = GenerateOptions()
                g.maxTokens = try c.intOpt(o, "max_tokens", 64, min: 0)
                g.temperature = try o.bool("greedy", false) ? 0 : try c.floatOpt(o, "temperature", 1, min: 0)
                g.topK = try c.intOpt(o, "top_k", 0, min: 0)
                g.topP = try c.floatOpt(o, "top_p", 1, min: 1e-9, max: 1)
                g.stopIds = Set((try o.numberArray("stop") ?? []).map { Int($0) })
                if let s = try o.int("seed") { g.seed = UInt64(bitPattern: Int64(s)) }
                let out = try lm.generate(prompt: ids, g)
                return try c.ret(.ints(out))
            }
            b.getter("tokenizer") { c in
                if let t = try selfM(c).pretrained?.tokenizer { c.push(t) } else { c.pushNil() }
                return 1
            }
            b.method("embed", Doc("Sentence embeddings of texts (encoders with a tokenizer); see hf.embed.",
                                  signature: "m:embed(texts [, {batch_size=32, normalize=auto, max_length=auto, pooling=auto}]) -> Tensor [n, dim]",
                                  errors: "a model that is not an encoder or has no tokenizer.",
                                  example: "local tok = text.word_vocab({\"hello world\"})\nlocal e = nn.encoder{vocab = tok:vocab_size(), layers = 1, dim = 8, heads = 2, classes = 0}\nhf.attach(e, {tokenizer = tok})\nprint(e:embed({\"hello\", \"world\"}):shape()[1])")) { c in
                return try HFModule.embed(c, model: try selfM(c), textsAt: 2)
            }
            b.method("chat", Doc("Answers a conversation with a chat model (its chat template, then generation); see hf.chat.",
                                 signature: "m:chat(messages | question [, {system=, max_tokens=256, greedy=true, temperature=, top_k=, top_p=, seed=, stream=false}]) -> text, {ids=, prompt=}",
                                 errors: "a model without a tokenizer or chat template.",
                                 example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8}\nprint(pcall(g.chat, g, \"hi\"))")) { c in
                return try HFModule.chat(c, model: try selfM(c), at: 2)
            }
            b.method("weight_bytes", Doc("Bytes held by the model's weights (float parameters and packed quantized blocks).",
                                         signature: "m:weight_bytes() -> integer",
                                         example: "print(nn.linear(4, 2):weight_bytes())")) { c in
                c.push(HFModule.weightBytes(try selfM(c)))
                return 1
            }
            b.method("config", Doc("The model's configuration as a table (language models and encoders).",
                                   signature: "m:config() -> table",
                                   example: "print(nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}:config().vocab)")) { c in
                let mod = try selfM(c)
                if let lm = mod as? DecoderLM {
                    let k = lm.config
                    return try c.ret(.record([("vocab", .int(k.vocab)), ("layers", .int(k.layers)), ("dim", .int(k.dim)), ("heads", .int(k.heads)),
                                          ("kv_heads", .int(k.kvHeads ?? k.heads)), ("seq", .int(k.maxSeq)), ("hidden", .int(k.hidden ?? 4 * k.dim)),
                                          ("positions", .string(k.positions)), ("norm", .string(k.norm == .rms ? "rmsnorm" : "layernorm")),
                                          ("mlp", .string(k.gated ? "swiglu" : k.activation.rawValue)), ("tie", .bool(k.tieEmbeddings))]))
                }
                if let e = mod as? Encoder {
                    let k = e.config
                    return try c.ret(.record([("vocab", .int(k.vocab)), ("layers", .int(k.layers)), ("dim", .int(k.dim)), ("heads", .int(k.heads)),
                                          ("seq", .int(k.maxSeq)), ("classes", .int(e.classifier?.outFeatures ?? 0)), ("pooling", .string(e.pooling))]))
                }
                return try c.ret(.record([("type", .string(mod.typeName))]))
            }
        }
    }

    static func group(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    static func summaryText(_ mod: Module) -> String {
        let rows = mod.summaryRows()
        let n = mod.parameterCount(), tr = mod.parameterCount(trainableOnly: true)
        var out = "\(mod.typeName)\(mod.details.isEmpty ? "" : " (\(mod.details))"): \(group(n)) parameters, \(group(tr)) trainable (\(String(format: "%.2f", n > 0 ? 100 * Double(tr) / Double(n) : 0))%)\n"
        let header = ("module", "type", "shapes", "params", "trainable")
        let cols = [rows.map { $0.name.count }.max() ?? 0, rows.map { $0.type.count }.max() ?? 0, rows.map { $0.shapes.count }.max() ?? 0,
                    rows.map { group($0.params).count }.max() ?? 0]
        let w = [max(cols[0], 6), max(cols[1], 4), max(cols[2], 6), max(cols[3], 6)]
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
        func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        out += pad(header.0, w[0]) + "  " + pad(header.1, w[1]) + "  " + pad(header.2, w[2]) + "  " + lpad(header.3, w[3]) + "  " + header.4 + "\n"
        for r in rows {
            out += pad(r.name, w[0]) + "  " + pad(r.type, w[1]) + "  " + pad(r.shapes, w[2]) + "  " + lpad(group(r.params), w[3]) + "  " + r.trainable + "\n"
        }
        return String(out.dropLast())
    }
}
