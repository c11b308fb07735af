import Foundation

/// PEFT's on-disk layout for LoRA adapters.
public enum PEFT {
    public static let prefix = "base_model.model."

    /// The adapter tensors with PEFT's names.
    public static func tensors(_ model: Module) throws(LatheError) -> [(name: String, tensor: Tensor)] {
        let layers = LoRA.adapted(model)
        if layers.isEmpty { throw LatheError("the model has no LoRA adapters (use lora.apply first)") }
        var out: [(name: String, tensor: Tensor)] = []
        for (path, lin) in layers {
            guard let a = lin.lora else { continue }
            if a.merged { throw LatheError("adapters are merged into the base weights; lora.unmerge(model) before saving them") }
            out.append((prefix + path + ".lora_A.weight", a.a))
            out.append((prefix + path + ".lora_B.weight", a.b))
        }
        // parameters kept trainable outside the adapters (modules_to_save)
        for (name, t) in model.namedParameters() where t.requiresGrad && !name.contains(".lora_A.") && !name.contains(".lora_B.") {
            out.append((prefix + name, t))
        }
        return out
    }

    static func moduleNamesToSave(_ model: Module) -> [String] {
        var names = Set<String>()
        for (name, t) in model.namedParameters() where t.requiresGrad && !name.contains(".lora_A.") && !name.contains(".lora_B.") {
            let parts = name.split(separator: ".")
            if parts.count >= 2 { names.insert(String(parts[parts.count - 2])) }
        }
        return names.sorted()
    }

    public static func save(_ model: Module, dir: String, baseModel: String, taskType: String?, overwrite: Bool) throws(LatheError) {
        let ts = try tensors(model)
        let layers = LoRA.adapted(model)
        guard let first = layers.first?.1.lora else { throw LatheError("the model has no LoRA adapters") }
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw LatheError("cannot create \(dir): \(error.localizedDescription)")
        }
        let targets = Array(Set(layers.map { String($0.0.split(separator: ".").last ?? "") })).sorted()
        let task = taskType ?? (model is DecoderLM ? "CAUSAL_LM" : (model is Encoder ? "SEQ_CLS" : nil))
        let toSave = moduleNamesToSave(model)
        var cfg: [String: Any] = [
            "alpha_pattern": [String: Any](),
            "auto_mapping": NSNull(),
            "base_model_name_or_path": baseModel,
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": true,
            "layers_pattern": NSNull(),
            "layers_to_transform": NSNull(),
            "lora_alpha": Double(first.alpha) == Double(Int(first.alpha)) ? Int(first.alpha) as Any : Double(first.alpha) as Any,
            "lora_dropout": Double(first.dropout),
            "modules_to_save": toSave.isEmpty ? NSNull() : toSave as Any,
            "peft_type": "LORA",
            "r": first.r,
            "rank_pattern": [String: Any](),
            "revision": NSNull(),
            "target_modules": targets,
            "task_type": task as Any? ?? NSNull(),
            "use_dora": false,
            "use_rslora": false,
        ]
        if task == nil { cfg["task_type"] = NSNull() }
        guard let json = try? JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys]) else {
            throw LatheError("cannot encode adapter_config.json")
        }
        try SafetensorsWriter.write(ts, to: dir + "/adapter_model.safetensors", metadata: ["format": "pt"], overwrite: overwrite)
        try AtomicFile.write([UInt8](json), to: dir + "/adapter_config.json", overwrite: overwrite)
    }

    public static func load(_ model: Module, dir: String, rng: inout RandomGenerator) throws(LatheError) -> [String] {
        let cfgPath = dir + "/adapter_config.json"
        let bytes = try AtomicFile.read(cfgPath)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)), let cfg = obj as? [String: Any] else {
            throw LatheError("\(cfgPath) is not valid JSON")
        }
        guard (cfg["peft_type"] as? String ?? "LORA") == "LORA" else { throw LatheError("\(cfgPath): only LoRA adapters are supported (peft_type \(cfg["peft_type"] ?? "?"))") }
        guard let r = cfg["r"] as? Int else { throw LatheError("\(cfgPath) has no integer 'r'") }
        let alpha = (cfg["lora_alpha"] as? Double) ?? Double(cfg["lora_alpha"] as? Int ?? r)
        let targets: [String]
        if let t = cfg["target_modules"] as? [String] { targets = t } else if let t = cfg["target_modules"] as? String { targets = [t] } else {
            throw LatheError("\(cfgPath) has no target_modules")
        }
        if let bias = cfg["bias"] as? String, bias != "none" { throw LatheError("\(cfgPath): bias = \"\(bias)\" adapters are not supported (only \"none\")") }
        let wfile = try SafetensorsFile(path: dir + "/adapter_model.safetensors")
        var paths = LoRA.adapted(model).map { $0.0 }
        if paths.isEmpty {
            var c = LoRA.Config()
            c.r = r
            c.alpha = Float(alpha)
            c.dropout = Float(cfg["lora_dropout"] as? Double ?? 0)
            c.targets = targets
            let saved = (cfg["modules_to_save"] as? [String]) ?? []
            c.keepTrainable = saved.map { "*\($0).*" }
            paths = try LoRA.apply(model, c, rng: &rng)
        }
        var values: [String: Tensor] = [:]
        for name in wfile.names {
            guard name.hasPrefix(prefix) else { throw LatheError("\(dir)/adapter_model.safetensors: tensor '\(name)' lacks the '\(prefix)' prefix PEFT uses") }
            var key = String(name.dropFirst(prefix.count))
            key = key.replacingOccurrences(of: ".lora_A.default.", with: ".lora_A.").replacingOccurrences(of: ".lora_B.default.", with: ".lora_B.")
            values[key] = try wfile.tensor(name)
        }
        let params = Dictionary(model.namedParameters().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        var loaded = 0
        for (k, v) in values {
            guard let p = params[k] else { throw LatheError("\(dir): adapter weight '\(k)' matches no parameter of this model") }
            guard p.shape == v.shape else { throw LatheError("\(dir): adapter weight '\(k)' has shape \(v.shapeString), the model expects \(p.shapeString) (a different r or base model?)") }
            try Autograd.noGrad { () throws(LatheError) in try p.assign(v.toFloat32()) }
            loaded += 1
        }
        for p in paths where values[p + ".lora_A.weight"] == nil {
            throw LatheError("\(dir): no weights for adapted layer '\(p)'")
        }
        return paths
    }
}
