import Foundation

extension PEFT {
    /// What an adapter_config.json says that loading needs.
    struct AdapterConfig {
        var r: Int
        var alpha: Double
        var dropout: Double
        var taskType: String?
        var modulesToSave: [String]
    }

    static func readConfig(_ path: String) throws(LatheError) -> AdapterConfig {
        let bytes = try AtomicFile.read(path)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)), let cfg = obj as? [String: Any] else {
            throw LatheError("\(path) is not valid JSON")
        }
        guard (cfg["peft_type"] as? String ?? "LORA") == "LORA" else { throw LatheError("\(path): only LoRA adapters are supported (peft_type \(cfg["peft_type"] ?? "?"))") }
        guard let r = cfg["r"] as? Int, r > 0 else { throw LatheError("\(path) has no positive integer 'r'") }
        if let bias = cfg["bias"] as? String, bias != "none" { throw LatheError("\(path): bias = \"\(bias)\" adapters are not supported (only \"none\")") }
        for k in ["use_dora", "use_rslora"] where cfg[k] as? Bool == true {
            throw LatheError("\(path): \(k) = true is not supported (plain LoRA only)")
        }
        for k in ["rank_pattern", "alpha_pattern"] {
            if let d = cfg[k] as? [String: Any], !d.isEmpty { throw LatheError("\(path): a non-empty \(k) is not supported (one r and alpha for all layers)") }
        }
        let alpha = (cfg["lora_alpha"] as? Double) ?? Double(cfg["lora_alpha"] as? Int ?? r)
        var saved = (cfg["modules_to_save"] as? [String]) ?? []
        let task = cfg["task_type"] as? String
        // PEFT's sequence classifiers always save their head (PeftModelForSequenceClassification)
        if task == "SEQ_CLS" { saved += ["classifier", "score"] }
        return AdapterConfig(r: r, alpha: alpha, dropout: cfg["lora_dropout"] as? Double ?? 0, taskType: task, modulesToSave: saved)
    }

    /// The adapter's tensors by PEFT name without `base_model.model.`, in the forms PEFT writes
    /// (`lora_A.weight`; older files: `lora_A.default.weight`, `modules_to_save.default.`).
    static func readTensors(_ file: SafetensorsFile, dir: String) throws(LatheError) -> [String: Tensor] {
        var values: [String: Tensor] = [:]
        for name in file.names {
            guard name.hasPrefix(prefix) else { throw LatheError("\(file.path): tensor '\(name)' lacks the '\(prefix)' prefix PEFT uses") }
            if name.contains(".lora_embedding_") || name.contains(".lora_magnitude_vector") {
                throw LatheError("\(file.path): tensor '\(name)' belongs to an embedding or DoRA adapter, which Lathe does not support")
            }
            var key = String(name.dropFirst(prefix.count))
            for (old, new) in [(".lora_A.default.", ".lora_A."), (".lora_B.default.", ".lora_B."), (".modules_to_save.default.", ".")] {
                key = key.replacingOccurrences(of: old, with: new)
            }
            values[key] = try file.tensor(name)
        }
        return values
    }

    /// Gives an encoder the head an adapter describes: the Lathe-only head of `headFile`, or
    /// BertForSequenceClassification's (pooler + classifier) for a SEQ_CLS adapter.
    static func setHead(_ model: Module, dir: String, cfg: AdapterConfig, values: [String: Tensor], rng: inout RandomGenerator) throws(LatheError) {
        guard let enc = model as? Encoder else { return }
        let headPath = (dir as NSString).appendingPathComponent(headFile)
        if FileManager.default.fileExists(atPath: headPath) {
            let f = try SafetensorsFile(path: headPath)
            let w = try f.tensor("classifier.weight")
            guard let pooling = f.metadata?["pooling"], ["mean", "cls"].contains(pooling), w.rank == 2 else {
                throw LatheError("\(headPath): expected classifier.weight [classes, dim] and metadata pooling \"mean\" or \"cls\"")
            }
            if enc.classifier?.outFeatures != w.shape[0] || enc.pooling != pooling {
                try enc.newHead(classes: w.shape[0], pooling: pooling, rng: &rng)
            }
            guard let head = enc.classifier, head.weight.shape == w.shape else {
                throw LatheError("\(headPath): classifier.weight has shape \(w.shapeString), the model expects [classes, \(enc.config.dim)]")
            }
            try Autograd.noGrad { () throws(LatheError) in
                try head.weight.assign(w.toFloat32())
                if let b = head.bias, f.names.contains("classifier.bias") { try b.assign(try f.tensor("classifier.bias").toFloat32()) }
            }
            if let s = f.metadata?["labels"], let d = s.data(using: .utf8), let l = try? JSONSerialization.jsonObject(with: d) as? [String] {
                let info = model.pretrained ?? PretrainedInfo(family: "bert", source: "")
                info.labels = l
                model.pretrained = info
            }
            return
        }
        guard cfg.taskType == "SEQ_CLS" else { return }
        // BertForSequenceClassification: the classifier reads BERT's pooler
        guard enc.pooler != nil else {
            throw LatheError("\(dir): the adapter is for BertForSequenceClassification, which pools through BERT's pooler; this model has no pooler layer")
        }
        if let w = values["classifier.weight"], w.rank == 2, enc.classifier?.outFeatures != w.shape[0] {
            try enc.newHead(classes: w.shape[0], pooling: "pooler", rng: &rng)
        } else if enc.classifier == nil {
            throw LatheError("\(dir): the SEQ_CLS adapter has no classifier.weight and the model has no classification head")
        }
        try enc.setPooling("pooler")
    }

    /// Loads a PEFT LoRA adapter folder into `model`: names are mapped from the transformers
    /// class (`HFLayout`, with or without its base_model_prefix), adapters are added to the
    /// layers the file names when the model has none, and modules_to_save are restored.
    public static func load(_ model: Module, dir: String, rng: inout RandomGenerator) throws(LatheError) -> [String] {
        let cfg = try readConfig((dir as NSString).appendingPathComponent("adapter_config.json"))
        let wfile = try SafetensorsFile(path: (dir as NSString).appendingPathComponent("adapter_model.safetensors"))
        let raw = try readTensors(wfile, dir: dir)
        try setHead(model, dir: dir, cfg: cfg, values: raw, rng: &rng)
        let layout = HF.layout(of: model)
        var values: [String: Tensor] = [:]
        for (k, v) in raw { values[layout?.lathePath(k) ?? k] = v }
        var layers: [String] = []
        for k in values.keys.sorted() where k.hasSuffix(".lora_A.weight") {
            let p = String(k.dropLast(".lora_A.weight".count))
            guard values[p + ".lora_B.weight"] != nil else { throw LatheError("\(wfile.path): '\(k)' has no lora_B partner") }
            layers.append(p)
        }
        if layers.isEmpty { throw LatheError("\(wfile.path) holds no LoRA weights (lora_A / lora_B)") }
        let hosts = Dictionary(model.namedModules().compactMap { (p, m) in (m as? LoRAHost).map { (p, $0) } }, uniquingKeysWith: { a, _ in a })
        for p in layers where hosts[p] == nil {
            throw LatheError("\(dir): adapter weight '\(p).lora_A.weight' matches no Linear layer of this model (\(layout?.architecture ?? model.typeName) names)")
        }
        var paths = LoRA.adapted(model).map { $0.0 }
        if paths.isEmpty {
            var c = LoRA.Config()
            c.r = cfg.r
            c.alpha = Float(cfg.alpha)
            c.dropout = Float(cfg.dropout)
            c.targets = layers
            c.keepTrainable = keptModules(model, layout: layout, names: cfg.modulesToSave).map { $0 + ".*" }
            paths = try LoRA.apply(model, c, rng: &rng)
        }
        let params = Dictionary(model.namedParameters().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        for (k, v) in values {
            guard let p = params[k] else { throw LatheError("\(dir): adapter weight '\(k)' matches no parameter of this model") }
            guard p.shape == v.shape else { throw LatheError("\(dir): adapter weight '\(k)' has shape \(v.shapeString), the model expects \(p.shapeString) (a different r or base model?)") }
            try Autograd.noGrad { () throws(LatheError) in try p.assign(v.toFloat32()) }
        }
        for p in paths where values[p + ".lora_A.weight"] == nil {
            throw LatheError("\(dir): no weights for adapted layer '\(p)'")
        }
        return paths
    }

    /// Lathe module paths PEFT's modules_to_save names select (plain suffix match on the
    /// transformers names, as PEFT's `_set_trainable`).
    static func keptModules(_ model: Module, layout: HFLayout?, names: [String]) -> [String] {
        model.namedModules().compactMap { (p, _) -> String? in
            guard !p.isEmpty, !isLoRA(p + ".") else { return nil }
            let key = layout?.hfName(p) ?? p
            return names.contains { key.hasSuffix($0) } ? p : nil
        }
    }
}
