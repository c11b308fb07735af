import Foundation

/// LoRA trainable-parameter counts that equal PEFT's `get_nb_trainable_parameters()` (what
/// `print_trainable_parameters()` prints), following PEFT's own rules for target matching,
/// "all-linear", `modules_to_save` (classification heads), `bias` and DoRA.
extension Cost {
    public enum LoRATargets: Sendable, Equatable {
        /// PEFT's default targets for the model type (q_proj/v_proj for Llama, c_attn for GPT-2...).
        case `default`
        /// Module names: a module matches when its path equals a name or ends with "." + name.
        case names([String])
        /// Every Linear/Conv1D layer except the output head.
        case allLinear
        /// A regular expression that must match the whole module path.
        case regex(String)

        /// One string as PEFT reads `target_modules = "..."`: "all-linear" (any case), else a
        /// regular expression matching whole module paths.
        public init(pattern: String) {
            self = pattern.lowercased() == "all-linear" ? .allLinear : .regex(pattern)
        }
    }

    public struct LoRAOptions: Sendable {
        public var r: Int
        public var targets: LoRATargets
        /// "none", "all" (every bias) or "lora_only" (biases of the adapted layers).
        public var bias: String
        /// The values `bias` takes (PEFT's).
        public static let biasModes = ["none", "all", "lora_only"]
        /// Weight-decomposed LoRA: adds a magnitude vector (out_features) per adapted layer.
        public var dora: Bool
        /// Modules trained in full and saved with the adapter (matched by name suffix, as
        /// PEFT does); classification heads are added automatically for seq_cls.
        public var modulesToSave: [String]

        public init(r: Int = 8, targets: LoRATargets = .default, bias: String = "none",
                    dora: Bool = false, modulesToSave: [String] = []) {
            self.r = r
            self.targets = targets
            self.bias = bias
            self.dora = dora
            self.modulesToSave = modulesToSave
        }
    }

    public struct LoRACount: Sendable {
        /// Trainable parameters (adapters, DoRA magnitudes, trainable biases, saved modules).
        public var trainable: Int
        /// All parameters of the PEFT model (base + adapters + the trainable copies of saved modules).
        public var all: Int
        /// Parameters of the LoRA A and B matrices.
        public var adapters: Int
        public var dora: Int
        public var biases: Int
        /// Parameters of the fully trained modules (modules_to_save / classification head).
        public var saved: Int
        /// The adapted modules and their adapter sizes.
        public var targets: [(name: String, params: Int)]
        public var targetModules: [Module]
        public var savedModules: [String]
        public var percent: Double { all > 0 ? 100 * Double(trainable) / Double(all) : 0 }
    }

    /// PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the supported types.
    static let defaultLoRATargets: [String: [String]] = [
        "llama": ["q_proj", "v_proj"], "mistral": ["q_proj", "v_proj"], "qwen2": ["q_proj", "v_proj"],
        "qwen3": ["q_proj", "v_proj"], "gemma": ["q_proj", "v_proj"], "gpt2": ["c_attn"],
        "bert": ["query", "value"], "roberta": ["query", "value"],
    ]

    public static func lora(_ model: Model, _ o: LoRAOptions) throws(LatheError) -> LoRACount {
        if o.r < 1 || o.r > 65536 { throw LatheError("LoRA rank r must be a positive integer up to 65536 (got \(o.r))") }
        guard LoRAOptions.biasModes.contains(o.bias) else {
            throw LatheError("bias must be \"none\", \"all\" or \"lora_only\" (got \"\(o.bias)\")")
        }
        var save = o.modulesToSave
        if case .sequenceClassification = model.head {
            for n in ["classifier", "score"] where !save.contains(n) { save.append(n) }
        }
        // All module paths (containers too): each dotted prefix of a leaf module name.
        func prefixes(_ name: String) -> [String] {
            var out: [String] = []
            var cur = ""
            for part in name.split(separator: ".", omittingEmptySubsequences: false) {
                cur = cur.isEmpty ? String(part) : cur + "." + part
                out.append(cur)
            }
            return out
        }
        // PEFT's _set_trainable: a module is saved when its path ends with a given name.
        func isSaved(_ m: Module) -> Bool {
            prefixes(m.name).contains { p in save.contains { p.hasSuffix($0) } }
        }
        // check_target_module_exists never adapts a module inside a saved module.
        let savedRegexes = save.compactMap { try? NSRegularExpression(pattern: "^(?:(^|.*\\.)\(NSRegularExpression.escapedPattern(for: $0))($|\\..*))$") }
        func insideSaved(_ name: String) -> Bool {
            savedRegexes.contains { fullMatch($0, name) }
        }

        var matched: [Module] = []
        switch o.targets {
        case .allLinear:
            // _maybe_include_all_linear_layers: drop the output embedding (causal LM) or the
            // classifier head named score/classifier (seq_cls)
            matched = model.modules.filter { m in
                guard m.isLinearLike else { return false }
                if model.head == .causalLM && m.name == "lm_head" { return false }
                if case .sequenceClassification = model.head, m.name == "score" || m.name == "classifier" { return false }
                return true
            }
        case .regex(let pat):
            guard let re = try? NSRegularExpression(pattern: "^(?:" + pat + ")$") else {
                throw LatheError("targets \"\(pat)\" is not a valid regular expression")
            }
            matched = model.modules.filter { fullMatch(re, $0.name) }
        case .names(let names):
            if names.isEmpty { throw LatheError("targets is empty (name the layers to adapt, e.g. {\"q_proj\", \"v_proj\"}, or \"all-linear\")") }
            matched = model.modules.filter { m in names.contains { m.name == $0 || m.name.hasSuffix("." + $0) } }
            let allNames = Set(model.modules.map { $0.name })
            for t in names where !allNames.contains(where: { $0 == t || $0.hasSuffix("." + t) }) {
                throw LatheError("target '\(t)' matches no module of this \(model.arch.modelType) model (its layers: \(layerNames(model).joined(separator: ", ")))")
            }
        case .default:
            guard let names = defaultLoRATargets[model.arch.modelType] else {
                throw LatheError("PEFT has no default LoRA targets for model_type '\(model.arch.modelType)' (pass targets, e.g. {\(layerNames(model).filter { $0 != "lm_head" }.prefix(2).map { "\"\($0)\"" }.joined(separator: ", "))} or \"all-linear\")")
            }
            matched = model.modules.filter { m in names.contains { m.name == $0 || m.name.hasSuffix("." + $0) } }
        }
        matched = matched.filter { !insideSaved($0.name) }
        for m in matched where m.kind == .norm {
            throw LatheError("target '\(m.name)' is a normalization layer; LoRA adapts Linear, Conv1D and Embedding layers")
        }
        if matched.isEmpty {
            throw LatheError("the targets match no adaptable layer of this \(model.arch.modelType) model (its layers: \(layerNames(model).joined(separator: ", ")))")
        }

        var adapters = 0, dora = 0, biases = 0, saved = 0
        var perModule: [(String, Int)] = []
        for m in matched {
            let n = o.r * (m.inFeatures + m.outFeatures)
            adapters += n
            perModule.append((m.name, n))
            if o.dora { dora += m.outFeatures }
        }
        let savedMods = model.modules.filter(isSaved)
        // a saved module gets a trainable copy of all its weights (a tied lm_head too)
        for m in savedMods { saved += m.weightCount + m.biasCount }
        let savedNames = Set(savedMods.map { $0.name })
        let targetNames = Set(matched.map { $0.name })
        for m in model.modules where m.bias && !savedNames.contains(m.name) {
            if o.bias == "all" || (o.bias == "lora_only" && targetNames.contains(m.name)) {
                biases += m.biasCount
            }
        }
        let trainable = adapters + dora + biases + saved
        return LoRACount(trainable: trainable, all: model.count + adapters + dora + saved,
                         adapters: adapters, dora: dora, biases: biases, saved: saved,
                         targets: perModule, targetModules: matched,
                         savedModules: savedMods.map { $0.name })
    }

    /// The distinct short names of the adaptable layers ("q_proj", "c_attn", ...).
    static func layerNames(_ model: Model) -> [String] {
        var seen: [String] = []
        for m in model.modules where m.kind != .norm {
            let short = m.layer != nil ? String(m.name.split(separator: ".").last ?? "") : m.name
            if !seen.contains(short) { seen.append(short) }
        }
        return seen
    }

    /// True when the regex (compiled as ^(?:pattern)$) matches the whole string.
    static func fullMatch(_ re: NSRegularExpression, _ s: String) -> Bool {
        let ns = s as NSString
        return re.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }
}

extension Cost.LoRACount {
    /// PEFT's print_trainable_parameters line, then where the trainable parameters are.
    public func report() -> Cost.Report {
        var rows = [["adapters", Cost.commas(adapters), "r x (in + out) over \(targets.count) layers"]]
        if dora > 0 { rows.append(["dora", Cost.commas(dora), "magnitude vectors"]) }
        if biases > 0 { rows.append(["biases", Cost.commas(biases), "trainable biases"]) }
        if saved > 0 { rows.append(["saved modules", Cost.commas(saved), savedModules.joined(separator: ", ")]) }
        return Cost.Report(
            title: "trainable params: \(Cost.commas(trainable)) || all params: \(Cost.commas(all)) || trainable%: \(String(format: "%.4f", percent))",
            rows: rows, numeric: [1])
    }
}
