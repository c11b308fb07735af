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
            signature: "lora.save(model, dir [, {base_model=\"\", task_type=auto, overwrite=false}])",
            details: "Tensor names are PEFT's: base_model.model.<layer path>.lora_A.weight [r, in] and lora_B.weight [out, r];\nparameters kept trainable with modules_to_save are saved as base_model.model.<path>. task_type defaults to\nCAUSAL_LM for language models and SEQ_CLS for classifiers. PEFT's PeftModel.from_pretrained loads the folder.",
            errors: "a model without adapters; merged adapters (unmerge first); an existing folder's files without overwrite.",
            example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}\nlora.apply(g, {r = 2})\nlocal d = os.tmpname()\nos.remove(d)\nlora.save(g, d)\nprint(io.open(d .. \"/adapter_config.json\") ~= nil)\nos.execute(\"rm -r \" .. d)")) { c in
            let model = try c.moduleArg(1)
            let dir = try c.checkString(2, "dir")
            let o = try c.options(3, allowed: ["base_model", "task_type", "overwrite"])
            try PEFT.save(model, dir: dir, baseModel: try o.string("base_model", ""), taskType: try o.string("task_type"),
                          overwrite: try o.bool("overwrite", false))
            return 0
        }
        m.function("load", Doc("Loads PEFT adapters from a folder into a model (adding them if it has none).",
            signature: "lora.load(model, dir) -> paths of adapted layers",
            errors: "a missing or malformed adapter_config.json; weights that do not fit the model.",
            example: "local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4, seed = 1}\nlora.apply(g, {r = 2})\nlocal d = os.tmpname()\nos.remove(d)\nlora.save(g, d)\nlocal h = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4, seed = 1}\nprint(#lora.load(h, d))\nos.execute(\"rm -r \" .. d)")) { c in
            let model = try c.moduleArg(1)
            let dir = try c.checkString(2, "dir")
            var rng = Runtime.rng
            let paths = try PEFT.load(model, dir: dir, rng: &rng)
            Runtime.rng = rng
            return try c.ret(.strings(paths))
        }
    }
}
