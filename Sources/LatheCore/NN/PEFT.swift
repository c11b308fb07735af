import Foundation

/// PEFT's on-disk layout for LoRA adapters: adapter_config.json and adapter_model.safetensors
/// with the names of the transformers class the model stands for (`HFLayout`), so that
/// `PeftModel.from_pretrained` applies every tensor, and adapters PEFT wrote load back.
public enum PEFT {
    public static let prefix = "base_model.model."
    /// A classification head no transformers class computes (mean or first-token pooling):
    /// its weights, with the pooling in the file's metadata.
    public static let headFile = "lathe_head.safetensors"

    /// What `save` wrote and how PEFT will see it.
    public struct Saved {
        public var files: [String]
        public var taskType: String?
        /// The transformers class the adapter's names are for (nil: Lathe's own names).
        public var architecture: String?
        /// The pooling of a head saved in `headFile` instead of the adapter.
        public var latheHead: String?
        /// Plain sentences about what PEFT will not reproduce.
        public var warnings: [String]
    }

    static func isLoRA(_ name: String) -> Bool { name.contains(".lora_A.") || name.contains(".lora_B.") }

    /// Module paths (Lathe's) saved whole besides the adapters, as PEFT's modules_to_save: those
    /// with trainable parameters, and a sequence classifier's head (PEFT always saves it).
    static func savedModules(_ model: Module, classifierHead: Bool, latheHead: Bool) -> [String] {
        var out: [String] = []
        for (p, t) in model.namedParameters() where t.requiresGrad && !isLoRA(p) {
            let module = p.split(separator: ".").dropLast().joined(separator: ".")
            if !out.contains(module) { out.append(module) }
        }
        if classifierHead, !out.contains("classifier") { out.append("classifier") }
        if latheHead { out.removeAll { $0 == "classifier" } }
        return out
    }

    /// The shortest dotted suffixes of `chosen` that select exactly `chosen` among `all` under
    /// PEFT's matching: target_modules match `key == s || key.endswith("." + s)`,
    /// modules_to_save plain `key.endswith(s)`.
    static func suffixes(_ chosen: [String], among all: [String], plain: Bool) -> [String] {
        let picked = Set(chosen)
        func matches(_ key: String, _ s: String) -> Bool { plain ? key.hasSuffix(s) : (key == s || key.hasSuffix("." + s)) }
        var out: [String] = []
        for path in chosen {
            let parts = path.split(separator: ".")
            var pick = path
            for n in 1...max(parts.count, 1) {
                let s = parts.suffix(n).joined(separator: ".")
                if all.allSatisfy({ !matches($0, s) || picked.contains($0) }) { pick = s; break }
            }
            if !out.contains(pick) { out.append(pick) }
        }
        return out.sorted()
    }

    /// The adapter tensors with PEFT's names for `layout` (Lathe's paths when nil).
    public static func tensors(_ model: Module, layout: HFLayout?, modules: [String]) throws(LatheError) -> [(name: String, tensor: Tensor)] {
        let layers = LoRA.adapted(model)
        if layers.isEmpty { throw LatheError("the model has no LoRA adapters (use lora.apply first)") }
        func name(_ p: String) -> String { prefix + (layout?.hfName(p) ?? p) }
        var out: [(name: String, tensor: Tensor)] = []
        for (path, lin) in layers {
            guard let a = lin.lora else { continue }
            if a.merged { throw LatheError("adapters are merged into the base weights; lora.unmerge(model) before saving them") }
            out.append((name(path) + ".lora_A.weight", a.a))
            out.append((name(path) + ".lora_B.weight", a.b))
        }
        for (p, t) in model.namedParameters() where !isLoRA(p) {
            if modules.contains(where: { p.hasPrefix($0 + ".") }) { out.append((name(p), t)) }
        }
        return out
    }

    public static func save(_ model: Module, dir: String, baseModel: String, taskType: String?, overwrite: Bool) throws(LatheError) -> Saved {
        let layers = LoRA.adapted(model)
        guard let first = layers.first?.1.lora else { throw LatheError("the model has no LoRA adapters (use lora.apply first)") }
        if let odd = layers.first(where: { $0.1.lora?.r != first.r || $0.1.lora?.alpha != first.alpha }) {
            throw LatheError("layer '\(odd.0)' has a different r or alpha from the others; PEFT's files hold one r and alpha")
        }
        let layout = HF.layout(of: model)
        let headPooling = HF.latheOnlyHead(model)
        let classifierHead = layout?.nested == true && model is Encoder
        let task = taskType ?? (model is DecoderLM ? "CAUSAL_LM" : (model is Encoder ? (classifierHead ? "SEQ_CLS" : "FEATURE_EXTRACTION") : nil))
        let modules = savedModules(model, classifierHead: classifierHead, latheHead: headPooling != nil)
        let ts = try tensors(model, layout: layout, modules: modules)
        func hf(_ p: String) -> String { layout?.hfName(p) ?? p }
        let allModules = model.namedModules().map { hf($0.0) }.filter { !$0.isEmpty && !isLoRA($0 + ".") }
        let targets = suffixes(layers.map { hf($0.0) }, among: allModules, plain: false)
        let toSave = suffixes(modules.map(hf), among: allModules, plain: true)
        var cfg: [String: Any] = [
            "alpha_pattern": [String: Any](),
            "auto_mapping": NSNull(),
            "base_model_name_or_path": baseModel,
            "bias": "none",
            // GPT-2's Conv1D layers store weights [in, out]: PEFT needs to know (the adapter tensors are [r, in] and [out, r] as for Linear)
            "fan_in_fan_out": layout?.basePrefix == "transformer",
            "inference_mode": true,
            "init_lora_weights": true,
            "layers_pattern": NSNull(),
            "layers_to_transform": NSNull(),
            // float32 settings as the decimals given (0.05, not 0.05000000074505806)
            "lora_alpha": Double(first.alpha) == Double(Int(first.alpha)) ? Int(first.alpha) as Any : Double(first.alpha.description) as Any,
            "lora_dropout": Double(first.dropout.description) ?? Double(first.dropout),
            "modules_to_save": toSave.isEmpty ? NSNull() : toSave as Any,
            "peft_type": "LORA",
            "r": first.r,
            "rank_pattern": [String: Any](),
            "revision": NSNull(),
            "target_modules": targets,
            "task_type": task.map { $0 as Any } ?? NSNull(),
            "use_dora": false,
            "use_rslora": false,
        ]
        guard let json = try? JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys]) else {
            throw LatheError("cannot encode adapter_config.json")
        }
        var files = ["adapter_config.json", "adapter_model.safetensors"]
        if headPooling != nil { files.append(headFile) }
        let fm = FileManager.default
        func path(_ f: String) -> String { (dir as NSString).appendingPathComponent(f) }
        for f in files where !overwrite && fm.fileExists(atPath: path(f)) {
            throw LatheError("\(path(f)) exists (pass overwrite = true to replace it)")
        }
        try Folder.create(dir)
        try SafetensorsWriter.write(ts, to: path("adapter_model.safetensors"), metadata: ["format": "pt"], overwrite: overwrite)
        try AtomicFile.write([UInt8](json), to: path("adapter_config.json"), overwrite: overwrite)
        var warnings: [String] = []
        if let enc = model as? Encoder, let headPooling, let head = enc.classifier {
            try writeHead(head, pooling: headPooling, labels: model.pretrained?.labels, to: path(headFile), overwrite: overwrite)
            warnings.append("the classification head pools by '\(headPooling)', which no transformers class does: the adapter is saved for BertModel (task_type FEATURE_EXTRACTION) and the head in \(headFile); PeftModel.from_pretrained alone gives token states, not these logits (help(lora.save) shows the Python lines that apply the head)")
        } else if overwrite && fm.fileExists(atPath: path(headFile)) {
            // a head left from an earlier save would be read back by lora.load
            if unlink(path(headFile)) != 0 {
                throw LatheError("cannot remove the earlier \(path(headFile)): \(String(cString: strerror(errno)))")
            }
        }
        if layout == nil {
            warnings.append("this model's parameter names are Lathe's own (\(model.typeName)), which no transformers class has: PEFT cannot apply this adapter to a transformers model (build decoders with naming = \"llama\" or \"gpt2\")")
        }
        return Saved(files: files, taskType: task, architecture: layout?.architecture, latheHead: headPooling, warnings: warnings)
    }

    static func writeHead(_ head: Linear, pooling: String, labels: [String]?, to path: String, overwrite: Bool) throws(LatheError) {
        var meta = ["format": "pt", "pooling": pooling]
        if let labels, let data = try? JSONSerialization.data(withJSONObject: labels), let s = String(data: data, encoding: .utf8) {
            meta["labels"] = s
        }
        var ts: [(name: String, tensor: Tensor)] = [("classifier.weight", head.weight)]
        if let b = head.bias { ts.append(("classifier.bias", b)) }
        try SafetensorsWriter.write(ts, to: path, metadata: meta, overwrite: overwrite)
    }
}
