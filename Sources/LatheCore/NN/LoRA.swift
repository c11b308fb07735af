import Foundation

/// Low-rank adaptation (Hu et al. 2021) as PEFT implements it for Linear layers.
public enum LoRA {
    public struct Config: Sendable {
        public var r = 8
        public var alpha: Float = 16
        public var dropout: Float = 0
        /// Module names to adapt: the last component of a Linear's path (`q_proj`), a dotted
        /// suffix (`attention.self.query`), or "all-linear" (every Linear but the output head).
        public var targets: [String] = ["q_proj", "v_proj"]
        /// Parameters kept trainable besides the adapters (PEFT's modules_to_save), as globs.
        public var keepTrainable: [String] = []
        public init() {}
    }

    /// Paths of the Linear layers `targets` selects, in model order.
    public static func targetPaths(_ model: Module, targets: [String]) -> [String] {
        let linears = model.namedModules().compactMap { (p, m) -> String? in m is LoRAHost ? p : nil }
        if targets.contains("all-linear") {
            // PEFT excludes the output layer (lm_head / classifier)
            return linears.filter { !$0.hasSuffix("lm_head") && !$0.hasSuffix("classifier") && !$0.hasSuffix("score") }
        }
        return linears.filter { path in
            targets.contains { t in path == t || path.hasSuffix("." + t) }
        }
    }

    /// Freezes the model, attaches adapters to the target layers and returns their paths.
    @discardableResult
    public static func apply(_ model: Module, _ c: Config, rng: inout RandomGenerator) throws(LatheError) -> [String] {
        guard c.r > 0 else { throw LatheError("r must be a positive integer, got \(c.r)") }
        guard c.alpha > 0 else { throw LatheError("alpha must be positive, got \(c.alpha)") }
        guard c.dropout >= 0 && c.dropout < 1 else { throw LatheError("dropout must be in [0, 1), got \(c.dropout)") }
        guard !c.targets.isEmpty else { throw LatheError("targets is empty; name the layers to adapt, e.g. {\"q_proj\", \"v_proj\"}") }
        let paths = targetPaths(model, targets: c.targets)
        if paths.isEmpty {
            let names = Set(model.namedModules().compactMap { (p, m) -> String? in m is LoRAHost ? String(p.split(separator: ".").last ?? "") : nil })
            throw LatheError("no Linear layer matches targets \(c.targets) (this model's Linear layers are named: \(names.sorted().joined(separator: ", ")))")
        }
        let modules = Dictionary(model.namedModules().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        for (p, t) in model.namedParameters() {
            t.requiresGrad = c.keepTrainable.contains { Glob.match($0, p) }
            t.grad = nil
        }
        for path in paths {
            guard let lin = modules[path] as? LoRAHost else { continue }
            if lin.lora != nil { throw LatheError("layer '\(path)' already has a LoRA adapter") }
            let a = try LoRAAdapter(inFeatures: lin.inFeatures, outFeatures: lin.outFeatures, r: c.r, alpha: c.alpha, dropout: c.dropout, rng: &rng)
            lin.attachLoRA(a)
        }
        return paths
    }

    /// (trainable, all, percent) as PEFT's print_trainable_parameters counts them.
    public static func counts(_ model: Module) -> (trainable: Int, all: Int, percent: Double) {
        let all = model.parameterCount()
        let tr = model.parameterCount(trainableOnly: true)
        return (tr, all, all > 0 ? 100 * Double(tr) / Double(all) : 0)
    }

    public static func adapted(_ model: Module) -> [(String, LoRAHost)] {
        model.namedModules().compactMap { (p, m) in (m as? LoRAHost).flatMap { $0.lora != nil ? (p, $0) : nil } }
    }

    /// Folds every adapter into its base weight: W += (alpha/r) B A.
    public static func merge(_ model: Module) throws(LatheError) -> Int {
        let layers = adapted(model)
        if layers.isEmpty { throw LatheError("the model has no LoRA adapters (use lora.apply first)") }
        for (path, l) in layers where l is QuantLinear && l.lora?.merged == false {
            throw LatheError("layer '\(path)' is quantized: its adapter cannot be folded into the packed weights (hf.save writes the merged float weights; or load with {quantized = false})")
        }
        var n = 0
        for (_, l) in layers {
            guard let lin = l as? Linear, let a = lin.lora, !a.merged else { continue }
            try Autograd.noGrad { () throws(LatheError) in
                let delta = try Tensor.matmul(a.b, a.a).mulScalar(Double(a.scale))
                try lin.weight.addInPlace(delta)
            }
            a.merged = true
            n += 1
        }
        return n
    }

    /// Undoes merge: W -= (alpha/r) B A.
    public static func unmerge(_ model: Module) throws(LatheError) -> Int {
        var n = 0
        for (_, l) in adapted(model) {
            guard let lin = l as? Linear, let a = lin.lora, a.merged else { continue }
            try Autograd.noGrad { () throws(LatheError) in
                let delta = try Tensor.matmul(a.b, a.a).mulScalar(Double(a.scale))
                try lin.weight.addInPlace(delta, alpha: -1)
            }
            a.merged = false
            n += 1
        }
        return n
    }
}
