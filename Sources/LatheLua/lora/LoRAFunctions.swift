import CLua
import CLuaShim
import LatheCore

/// The `lora` module: LoRA adapters on Linear layers, saved and loaded in PEFT's layout.
enum LoRAFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("lora", summary: "Low-rank adapters (LoRA) on Linear layers, PEFT-compatible.",
                  details: "Only the small A and B matrices train; the frozen base weights compute no weight gradient and carry\nno optimizer state. Adapters save and load in PEFT's layout (adapter_config.json + adapter_model.safetensors).")
            .add([apply, trainable, merge, unmerge, save, load])
    }

    static let model = LuaParam("model", .object("Module"), "the model (from nn or hf)")
    static let llamaExample = "local function llama() return nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4, seed = 1, naming = \"llama\", norm = \"rmsnorm\", mlp = \"swiglu\", positions = \"rotary\", bias = false} end\n"

    static let apply = LuaFunc(
        "apply", "Freezes the model and adds LoRA adapters to the Linear layers named in targets.",
        params: [model],
        options: [
            LuaOpt("r", .integer(1...Int.max), .int(LoRA.Config().r), "rank of the adapters"),
            LuaOpt("alpha", .number(min: 0, above: true), .number(Double(LoRA.Config().alpha)), "scale: the update is (alpha / r) B A"),
            LuaOpt("dropout", .number(min: 0, max: 0.999), .number(Double(LoRA.Config().dropout)), "dropout on the adapter's input while training"),
            LuaOpt("targets", .strings, .strings(LoRA.Config().targets), "layer names or dotted suffixes to adapt; \"all-linear\" adapts every Linear but the head"),
            LuaOpt("modules_to_save", .strings, .strings([]), "parameter globs that stay trainable (e.g. \"classifier.*\")"),
            LuaOpt("seed", .integer(), .computed("lathe.seed's stream"), "a private random stream for A's initialisation"),
        ],
        returns: "{path, ...}: the paths of the adapted layers",
        details: "output = W x + (alpha/r) * B(A(dropout(x))); A starts Kaiming-uniform (as PEFT), B at zero, so the model's\noutputs do not change until training. targets match a Linear's name (q_proj) or dotted suffix\n(attention.self.query).",
        errors: "targets that match no Linear layer (the message lists the names there are).",
        example: "local g = nn.gpt{vocab = 32, layers = 2, dim = 16, heads = 2, seq = 8}\nlocal layers = lora.apply(g, {r = 4, alpha = 8, targets = {\"q_proj\", \"v_proj\"}})\nprint(#layers)\nlora.trainable(g)"
    ) { c in
        let o = try c.opts()
        var cfg = LoRA.Config()
        cfg.r = try o.int("r")
        cfg.alpha = Float(try o.number("alpha"))
        cfg.dropout = Float(try o.number("dropout"))
        cfg.targets = try o.strings("targets")
        cfg.keepTrainable = try o.strings("modules_to_save")
        let seed = try o.intIfGiven("seed")
        var rng = seed.map { RandomGenerator(seed: UInt64(bitPattern: Int64($0))) } ?? Runtime.rng
        let paths = try LoRA.apply(try c.moduleArg(1), cfg, rng: &rng)
        if seed == nil { Runtime.rng = rng }
        return try c.ret(.strings(paths))
    }

    static let trainable = LuaFunc(
        "trainable", "Prints and returns the trainable share of the parameters, as PEFT's print_trainable_parameters.",
        params: [model],
        returns: "{trainable=, all=, percent=}",
        example: "local m = nn.mlp{sizes = {4, 8, 2}}\nlocal r = lathe.capture(function() lora.trainable(m) end)\nprint(r)"
    ) { c in
        let (tr, all, pct) = LoRA.counts(try c.moduleArg(1))
        Output.write("trainable params: \(Cost.commas(tr)) || all params: \(Cost.commas(all)) || trainable%: \(String(format: "%.4f", pct))\n")
        return try c.ret(.record([("trainable", .int(tr)), ("all", .int(all)), ("percent", .number(pct))]))
    }

    static let merge = LuaFunc(
        "merge", "Folds the adapters into the base weights (W += alpha/r * B A); outputs stay the same, inference gets faster.",
        params: [model],
        returns: "integer: the number of layers merged",
        errors: "a model without adapters.",
        example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}\nlora.apply(g, {r = 2})\nprint(lora.merge(g))"
    ) { c in
        c.push(try LoRA.merge(try c.moduleArg(1)))
        return 1
    }

    static let unmerge = LuaFunc(
        "unmerge", "Undoes lora.merge (W -= alpha/r * B A) so the adapters train again.",
        params: [model],
        returns: "integer: the number of layers unmerged",
        example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}\nlora.apply(g, {r = 2})\nlora.merge(g)\nprint(lora.unmerge(g))"
    ) { c in
        c.push(try LoRA.unmerge(try c.moduleArg(1)))
        return 1
    }

    static let save = LuaFunc(
        "save", "Writes the adapters in PEFT's layout: adapter_config.json and adapter_model.safetensors.",
        params: [model, LuaParam("dir", .string, "the folder to write (created when missing)")],
        options: [
            LuaOpt("base_model", .string, .string(""), "base_model_name_or_path in adapter_config.json"),
            LuaOpt("task_type", .string, .computed("from the model"), "PEFT's task type (CAUSAL_LM, SEQ_CLS, FEATURE_EXTRACTION)"),
            LuaOpt("overwrite", .boolean, .bool(false), "replace the files of an earlier save"),
        ],
        returns: "{files=, task_type=, architecture=, lathe_head=}: the files written; the task type; the transformers class (nil for Lathe's own names); the pooling of a head saved apart",
        details: """

                Tensor names are those of the transformers class the model stands for (PEFT's base_model.model.<name>.lora_A.weight
                [r, in] and lora_B.weight [out, r]), so PeftModel.from_pretrained on that class applies every tensor and gives Lathe's
                outputs (tested with peft 0.21.2 both ways):
                  encoder, no head               BertModel                      encoder.layer.0...   task FEATURE_EXTRACTION
                  head with pooling = "pooler"   BertForSequenceClassification  bert.encoder...      task SEQ_CLS
                  Llama/Mistral/Qwen2, SmolLM2   LlamaForCausalLM, ...          model.layers.0...    task CAUSAL_LM
                  GPT-2                          GPT2LMHeadModel                transformer.h.0...   CAUSAL_LM, fan_in_fan_out
                Modules with trainable parameters (modules_to_save, e.g. classifier.* and pooler.*) and a sequence classifier's head
                are saved whole, as PEFT's modules_to_save. A head on mean or first-token pooling has no transformers class: the
                adapter is saved for BertModel and the head in lathe_head.safetensors (metadata: pooling, labels), with a warning;
                lora.load reads it back, and in Python (BASE: the base model, input_ids/attention_mask from its tokenizer):
                  model = PeftModel.from_pretrained(AutoModel.from_pretrained(BASE), ADAPTER).eval()
                  with safe_open(f"{ADAPTER}/lathe_head.safetensors", "pt") as f:
                      w, b, pooling = f.get_tensor("classifier.weight"), f.get_tensor("classifier.bias"), f.metadata()["pooling"]
                  with torch.no_grad():
                      h = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                      m = attention_mask.unsqueeze(-1).to(h.dtype)
                      logits = ((h * m).sum(1) / m.sum(1) if pooling == "mean" else h[:, 0]) @ w.T + b
                A model with Lathe's own names (nn.gpt without naming = "llama" or "gpt2") is saved under those names, with a warning.
                """,
        errors: "a model without adapters; merged adapters (unmerge first); existing files without overwrite.\nDuring a run (track.start), the files are also kept with the run as artifacts adapter/....",
        example: llamaExample + "local g = llama()\nlora.apply(g, {r = 2})\nlocal d = os.tmpname()\nos.remove(d)\nlocal r = lora.save(g, d)\nprint(r.architecture, r.task_type)\nos.execute(\"rm -r \" .. d)"
    ) { c in
        let o = try c.opts()
        let dir = try c.checkString(2, "dir")
        let saved = try PEFT.save(try c.moduleArg(1), dir: dir, baseModel: try o.string("base_model"),
                                  taskType: try o.stringIfGiven("task_type"), overwrite: try o.bool("overwrite"))
        for w in saved.warnings { Output.warning("lora.save", w) }
        TrackFunctions.attach(c, dir: dir, files: saved.files, folder: "adapter")
        var r: [(String, LuaValue)] = [("files", .strings(saved.files))]
        if let t = saved.taskType { r.append(("task_type", .string(t))) }
        if let a = saved.architecture { r.append(("architecture", .string(a))) }
        if let h = saved.latheHead { r.append(("lathe_head", .string(h))) }
        return try c.ret(.record(r))
    }

    static let load = LuaFunc(
        "load", "Loads PEFT adapters from a folder into a model (adding them if it has none).",
        params: [model, LuaParam("dir", .string, "a folder written by PEFT's save_pretrained or lora.save")],
        returns: "{path, ...}: the paths of the adapted layers",
        details: """

                Reads what PEFT's save_pretrained writes (names with or without the class prefix, e.g. bert., and the older
                lora_A.default.weight form) and what lora.save writes. When the model has no adapters, they are added to the layers
                the file names, with r, alpha and dropout from adapter_config.json; modules_to_save (PEFT's rule: module names ending
                so) are loaded and stay trainable. A SEQ_CLS adapter on an encoder is BertForSequenceClassification: the head pools
                through BERT's pooler and is created when the model has none; lathe_head.safetensors restores a Lathe-only head.
                """,
        errors: "a missing or malformed adapter_config.json; DoRA, rsLoRA, rank_pattern/alpha_pattern, bias or embedding adapters; weights that do not fit the model.",
        example: llamaExample + "local g = llama()\nlora.apply(g, {r = 2})\nlocal d = os.tmpname()\nos.remove(d)\nlora.save(g, d)\nprint(#lora.load(llama(), d))\nos.execute(\"rm -r \" .. d)"
    ) { c in
        var rng = Runtime.rng
        let paths = try PEFT.load(try c.moduleArg(1), dir: try c.checkString(2, "dir"), rng: &rng)
        Runtime.rng = rng
        return try c.ret(.strings(paths))
    }
}
