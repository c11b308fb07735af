/// What a training run records of its model: the architecture, the LoRA adapters and the frozen
/// parts, as (name, text) pairs named `model.*` and `lora.*` (the params of a tracked run).
public enum ModelFacts {
    public static func of(_ model: Module) -> [(String, String)] {
        let total = model.parameterCount(), trainable = model.parameterCount(trainableOnly: true)
        var out: [(String, String)] = [
            ("model.class", String(describing: type(of: model))),
            ("model.params", String(total)), ("model.trainable_params", String(trainable)),
        ]
        if let d = model as? DecoderLM {
            let c = d.config
            out += [("model.vocab", "\(c.vocab)"), ("model.layers", "\(c.layers)"), ("model.dim", "\(c.dim)"),
                    ("model.heads", "\(c.heads)"), ("model.kv_heads", "\(c.kvHeads ?? c.heads)"), ("model.max_seq", "\(c.maxSeq)"),
                    ("model.activation", c.activation.rawValue), ("model.positions", c.positions)]
            if let h = c.hidden { out.append(("model.hidden", "\(h)")) }
        } else if let e = model as? Encoder {
            let c = e.config
            out += [("model.vocab", "\(c.vocab)"), ("model.layers", "\(c.layers)"), ("model.dim", "\(c.dim)"),
                    ("model.heads", "\(c.heads)"), ("model.max_seq", "\(c.maxSeq)"), ("model.classes", "\(c.classes)"),
                    ("model.pooling", c.pooling)]
            if let h = c.hidden { out.append(("model.hidden", "\(h)")) }
        }
        // LoRA adapters: their settings (several values when layers differ) and target layers
        let adapted = model.namedModules().compactMap { name, m in (m as? LoRAHost)?.lora.map { (name, $0) } }
        if !adapted.isEmpty {
            func distinct<T: Hashable & Comparable>(_ f: (LoRAAdapter) -> T) -> String {
                Set(adapted.map { f($0.1) }).sorted().map { "\($0)" }.joined(separator: ",")
            }
            let targets = Set(adapted.map { $0.0.split(separator: ".").last.map(String.init) ?? $0.0 }).sorted()
            out += [("lora.r", distinct { $0.r }), ("lora.alpha", distinct { $0.alpha }), ("lora.dropout", distinct { $0.dropout }),
                    ("lora.targets", targets.joined(separator: ",")), ("lora.layers", "\(adapted.count)"),
                    ("lora.merged", adapted.contains { $0.1.merged } ? "true" : "false")]
        }
        // frozen parts: groups (a top-level part, or one numbered layer) none of whose weights train
        if trainable < total {
            var order: [String] = [], training: [String: Bool] = [:]
            for (name, t) in model.namedParameters() {
                let parts = name.split(separator: ".")
                let group = parts.count > 2 && Int(parts[1]) != nil ? parts[0] + "." + parts[1] : String(parts.first ?? "")
                if training[group] == nil { order.append(group) }
                training[group] = (training[group] ?? false) || t.requiresGrad
            }
            let frozen = order.filter { training[$0] == false }
            out.append(("model.frozen", frozen.isEmpty ? "parts of layers" : frozen.count > 40 ? "\(frozen.count) groups" : frozen.joined(separator: ",")))
            out.append(("model.frozen_params", String(total - trainable)))
        }
        return out
    }
}
