import CLua
import CLuaShim
import Foundation
import LatheCore

extension TrainModule {
    static func installLoRA(_ vm: LuaVM) {
        let m = vm.module("lora", summary: "Low-rank adapters (LoRA) on Linear layers, PEFT-compatible.",
                          details: "Only the small A and B matrices train; the frozen base weights compute no weight gradient and carry\nno optimizer state. Adapters save and load in PEFT's layout (adapter_config.json + adapter_model.safetensors).")
        m.function("apply", Doc("Freezes the model and adds LoRA adapters to the Linear layers named in targets.",
            signature: "lora.apply(model, {r=8, alpha=16, dropout=0, targets={\"q_proj\", \"v_proj\"}, modules_to_save={}, seed=})",
            details: "output = W x + (alpha/r) * B(A(dropout(x))); A starts Kaiming-uniform (as PEFT), B at zero, so the model's\noutputs do not change until training. targets match a Linear's name (q_proj) or dotted suffix\n(attention.self.query); \"all-linear\" adapts every Linear but the output head. modules_to_save lists\nparameter globs that stay trainable (e.g. {\"classifier.*\"} for a fresh classification head).",
            returns: "the paths of the adapted layers",
            errors: "targets that match no Linear layer (the message lists the names there are); r or alpha not positive.",
            example: "local g = nn.gpt{vocab = 32, layers = 2, dim = 16, heads = 2, seq = 8}\nlocal layers = lora.apply(g, {r = 4, alpha = 8, targets = {\"q_proj\", \"v_proj\"}})\nprint(#layers)\nlora.trainable(g)")) { c in
            let model = try c.moduleArg(1)
            let o = try c.options(2, allowed: ["r", "alpha", "dropout", "targets", "modules_to_save", "seed"])
            var cfg = LoRA.Config()
            cfg.r = try o.int("r", 8)
            cfg.alpha = Float(try o.number("alpha", 16))
            cfg.dropout = Float(try c.floatOpt(o, "dropout", 0, min: 0, max: 0.999))
            cfg.targets = try o.stringArray("targets") ?? ["q_proj", "v_proj"]
            cfg.keepTrainable = try o.stringArray("modules_to_save") ?? []
            var rng = try NNModule.seededRNG(o)
            let paths = try LoRA.apply(model, cfg, rng: &rng)
            if try o.int("seed") == nil { Runtime.rng = rng }
            return try c.ret(.strings(paths))
        }
        m.function("trainable", Doc("Prints and returns the trainable share of the parameters, as PEFT's print_trainable_parameters.",
            signature: "lora.trainable(model) -> {trainable=, all=, percent=}",
            example: "local m = nn.mlp{sizes = {4, 8, 2}}\nlocal r = lathe.capture(function() lora.trainable(m) end)\nprint(r)")) { c in
            let model = try c.moduleArg(1)
            let (tr, all, pct) = LoRA.counts(model)
            Output.write("trainable params: \(NNModule.group(tr)) || all params: \(NNModule.group(all)) || trainable%: \(String(format: "%.4f", pct))\n")
            return try c.ret(.record([("trainable", .int(tr)), ("all", .int(all)), ("percent", .number(pct))]))
        }
        m.function("merge", Doc("Folds the adapters into the base weights (W += alpha/r * B A); outputs stay the same, inference gets faster.",
            signature: "lora.merge(model) -> number of layers merged",
            errors: "a model without adapters.",
            example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}\nlora.apply(g, {r = 2})\nprint(lora.merge(g))")) { c in
            c.push(try LoRA.merge(try c.moduleArg(1)))
            return 1
        }
        m.function("unmerge", Doc("Undoes lora.merge (W -= alpha/r * B A) so the adapters train again.",
            signature: "lora.unmerge(model) -> number of layers",
            example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}\nlora.apply(g, {r = 2})\nlora.merge(g)\nprint(lora.unmerge(g))")) { c in
            c.push(try LoRA.unmerge(try c.moduleArg(1)))
            return 1
        }
        m.function("save", Doc("Writes the adapters in PEFT's layout: adapter_config.json and adapter_model.safetensors.",
            signature: "lora.save(model, dir [, {base_model=\"\", task_type=auto, overwrite=false}]) -> {files=, task_type=, architecture=, lathe_head=}",
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
            returns: "files written; task_type; architecture: the transformers class (nil for Lathe's own names); lathe_head: the pooling of a head saved apart",
            errors: "a model without adapters; merged adapters (unmerge first); existing files without overwrite.",
            example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4, naming = \"llama\", norm = \"rmsnorm\", mlp = \"swiglu\", positions = \"rotary\", bias = false}\nlora.apply(g, {r = 2})\nlocal d = os.tmpname()\nos.remove(d)\nlocal r = lora.save(g, d)\nprint(r.architecture, r.task_type)\nos.execute(\"rm -r \" .. d)")) { c in
            let model = try c.moduleArg(1)
            let dir = try c.checkString(2, "dir")
            let o = try c.options(3, allowed: ["base_model", "task_type", "overwrite"])
            let saved = try PEFT.save(model, dir: dir, baseModel: try o.string("base_model", ""), taskType: try o.string("task_type"),
                                      overwrite: try o.bool("overwrite", false))
            for w in saved.warnings { HFModule.warn("lora.save", w) }
            var r: [(String, LuaValue)] = [("files", .strings(saved.files))]
            if let t = saved.taskType { r.append(("task_type", .string(t))) }
            if let a = saved.architecture { r.append(("architecture", .string(a))) }
            if let h = saved.latheHead { r.append(("lathe_head", .string(h))) }
            return try c.ret(.record(r))
        }
        m.function("load", Doc("Loads PEFT adapters from a folder into a model (adding them if it has none).",
            signature: "lora.load(model, dir) -> paths of adapted layers",
            details: """
                Reads what PEFT's save_pretrained writes (names with or without the class prefix, e.g. bert., and the older
                lora_A.default.weight form) and what lora.save writes. When the model has no adapters, they are added to the layers
                the file names, with r, alpha and dropout from adapter_config.json; modules_to_save (PEFT's rule: module names ending
                so) are loaded and stay trainable. A SEQ_CLS adapter on an encoder is BertForSequenceClassification: the head pools
                through BERT's pooler and is created when the model has none; lathe_head.safetensors restores a Lathe-only head.
                """,
            errors: "a missing or malformed adapter_config.json; DoRA, rsLoRA, rank_pattern/alpha_pattern, bias or embedding adapters; weights that do not fit the model.",
            example: "local function llama() return nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4, seed = 1, naming = \"llama\", norm = \"rmsnorm\", mlp = \"swiglu\", positions = \"rotary\", bias = false} end\nlocal g = llama()\nlora.apply(g, {r = 2})\nlocal d = os.tmpname()\nos.remove(d)\nlora.save(g, d)\nprint(#lora.load(llama(), d))\nos.execute(\"rm -r \" .. d)")) { c in
            let model = try c.moduleArg(1)
            let dir = try c.checkString(2, "dir")
            var rng = Runtime.rng
            let paths = try PEFT.load(model, dir: dir, rng: &rng)
            Runtime.rng = rng
            return try c.ret(.strings(paths))
        }
    }
}
