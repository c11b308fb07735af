import Foundation

/// A layer or model: named parameters and named sub-modules, so every parameter has a dotted
/// path (`layers.0.attn.q_proj.weight`) that matches the Hugging Face name of the same weight
/// in real checkpoints. Paths may contain dots: `register("model.layers", list)` creates the
/// intermediate containers.
open class Module {
    public private(set) var params: [(String, Tensor)] = []
    public private(set) var children: [(String, Module)] = []
    public private(set) var training = true
    /// Where a pretrained model came from: its Hugging Face config, tokenizer, chat template and
    /// label names (set by the `hf` loaders; nil for models built from scratch).
    public var pretrained: PretrainedInfo?

    public init() {}

    /// A short type name for summaries (`Linear`, `LayerNorm`...).
    open var typeName: String { String(describing: Swift.type(of: self)) }
    /// Extra facts for summaries (sizes, options).
    open var details: String { "" }

    /// Registers a parameter (it becomes a leaf that requires a gradient).
    @discardableResult
    public func param(_ name: String, _ t: Tensor) -> Tensor {
        t.requiresGrad = true
        params.append((name, t))
        return t
    }

    /// Registers a sub-module under a (possibly dotted) path.
    @discardableResult
    public func register<M: Module>(_ path: String, _ m: M) -> M {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        if parts.count == 2 {
            let head = parts[0]
            let container: Module
            if let existing = children.first(where: { $0.0 == head })?.1 {
                container = existing
            } else {
                container = Container()
                children.append((head, container))
            }
            container.register(parts[1], m)
            return m
        }
        if let i = children.firstIndex(where: { $0.0 == path }) {
            children[i] = (path, m)
        } else {
            children.append((path, m))
        }
        return m
    }

    func resetChildren(_ list: [(String, Module)]) { children = list }

    /// Replaces the sub-module at a dotted path (e.g. `model.layers.0.self_attn.q_proj`) by
    /// another one, keeping its place in the order; the parent's typed fields follow
    /// (`didReplaceChild`). Used to swap float layers for quantized ones after loading.
    public func replaceModule(at path: String, with m: Module) throws(LatheError) {
        var parent: Module = self
        var parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.popLast(), !last.isEmpty else { throw LatheError("no module at '\(path)'") }
        var i = 0
        while i < parts.count {
            // children may be registered under dotted names ("attention.self.query" is one level)
            var found = false
            for j in stride(from: parts.count, to: i, by: -1) {
                let key = parts[i..<j].joined(separator: ".")
                if let c = parent.children.first(where: { $0.0 == key })?.1 {
                    parent = c
                    i = j
                    found = true
                    break
                }
            }
            if !found { throw LatheError("no module at '\(path)'") }
        }
        guard let idx = parent.children.firstIndex(where: { $0.0 == last }) else { throw LatheError("no module at '\(path)'") }
        parent.children[idx] = (last, m)
        parent.didReplaceChild(last, with: m)
    }

    /// Called after `replaceModule` put `m` under `name`: subclasses that keep typed references
    /// to their children update them here.
    open func didReplaceChild(_ name: String, with m: Module) {}

    /// Weights this module holds outside `params` (packed quantized blocks): counted by
    /// `parameterCount` as frozen parameters.
    open var packedParameterCount: Int { 0 }

    /// Runs the module on its inputs.
    open func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        throw LatheError("\(typeName) cannot be called directly")
    }

    /// Convenience for single-input modules.
    public func callAsFunction(_ x: Tensor) throws(LatheError) -> Tensor { try forward([x]) }

    /// Every parameter with its dotted path, in registration order (depth first).
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (n, t) in params { out.append((prefix + n, t)) }
        for (n, c) in children { out += c.namedParameters(prefix: prefix + n + ".") }
        return out
    }

    /// Every module with its path ("" for this one).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (n, c) in children {
            out += c.namedModules(prefix: prefix.isEmpty ? n : prefix + "." + n)
        }
        return out
    }

    /// Training mode (dropout on) or evaluation mode, for this module and all below it.
    public func setTraining(_ on: Bool) {
        training = on
        for (_, c) in children { c.setTraining(on) }
    }

    public func parameter(_ path: String) -> Tensor? {
        namedParameters().first { $0.0 == path }?.1
    }

    /// Throws when `count` layers like `first` (built already) would not fit in memory: models
    /// build their layers one by one, so a typo like layers = 1e9 would otherwise allocate until
    /// the system runs out.
    public static func checkLayersFit(_ first: Module, count: Int, what: String) throws(LatheError) {
        let bytes = Double(first.parameterCount()) * 4 * Double(max(count - 1, 0))
        if bytes > Double(TensorMemory.maxBytes) {
            throw LatheError("\(count) \(what) need \(Tensor.humanBytes(bytes)), more than Lathe allocates")
        }
        do { try TensorMemory.checkAvailable(Int(bytes)) } catch {
            throw LatheError("\(count) \(what): \(error.message)")
        }
    }

    /// Number of parameter elements (all, or only trainable ones).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        let plain = namedParameters().reduce(0) { $0 + (trainableOnly && !$1.1.requiresGrad ? 0 : $1.1.count) }
        if trainableOnly { return plain }
        return plain + namedModules().reduce(0) { $0 + $1.1.packedParameterCount }
    }

    /// Sets requires_grad on every parameter whose path matches the glob pattern (`*` matches
    /// any run of characters, `?` one character). Returns how many matched.
    @discardableResult
    public func setTrainable(matching pattern: String, _ on: Bool) -> Int {
        var n = 0
        for (name, t) in namedParameters() where Glob.match(pattern, name) {
            t.requiresGrad = on
            if !on { t.grad = nil }
            n += 1
        }
        return n
    }

    /// Copies values into parameters by path (same shapes); returns the paths not found in
    /// `values` and the names in `values` that match no parameter.
    public func loadValues(_ values: [String: Tensor], strict: Bool) throws(LatheError) -> (missing: [String], unexpected: [String]) {
        let named = namedParameters()
        var missing: [String] = []
        for (name, t) in named {
            guard let v = values[name] else { missing.append(name); continue }
            guard v.shape == t.shape else {
                throw LatheError("parameter '\(name)' has shape \(t.shapeString) but the file has \(v.shapeString)")
            }
            try Autograd.noGrad { () throws(LatheError) in try t.assign(v.toFloat32()) }
        }
        let known = Set(named.map { $0.0 })
        let unexpected = values.keys.filter { !known.contains($0) }.sorted()
        if strict && (!missing.isEmpty || !unexpected.isEmpty) {
            var msg = "weights do not match the model"
            if !missing.isEmpty { msg += "; missing: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " (\(missing.count) in all)" : "")" }
            if !unexpected.isEmpty { msg += "; unexpected: \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? " (\(unexpected.count) in all)" : "")" }
            throw LatheError(msg)
        }
        return (missing, unexpected)
    }

    /// One row per module that owns parameters: path, type, shapes, count, trainable.
    public func summaryRows() -> [(name: String, type: String, shapes: String, params: Int, trainable: String)] {
        var rows: [(String, String, String, Int, String)] = []
        for (path, m) in namedModules() where !m.params.isEmpty || m.packedParameterCount > 0 {
            var shapes = m.params.map { $0.1.shapeString }.joined(separator: " ")
            if let q = m as? QuantLinear { shapes = ([q.packedShapeText] + (shapes.isEmpty ? [] : [shapes])).joined(separator: " ") }
            let count = m.params.reduce(0) { $0 + $1.1.count } + m.packedParameterCount
            let tr = m.params.map { $0.1.requiresGrad } + (m.packedParameterCount > 0 ? [false] : [])
            let flag = tr.allSatisfy { $0 } ? "yes" : (tr.contains(true) ? "partly" : "frozen")
            rows.append((path.isEmpty ? "(root)" : path, m.typeName, shapes, count, flag))
        }
        return rows
    }
}

/// A module that only groups others (a path segment such as `model` or `layers`).
public final class Container: Module {
    override public var typeName: String { "Container" }
}

/// Simple glob matching for parameter paths.
public enum Glob {
    public static func match(_ pattern: String, _ s: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(s.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}

/// Parameter initialization, seeded by the one generator.
public enum Init {
    /// While true (inside `withoutRandomInit`), initializers hand out uninitialized tensors and
    /// draw nothing: a model whose weights are about to be loaded from a checkpoint is built
    /// without the cost (and the touched memory) of a random initialization.
    nonisolated(unsafe) public private(set) static var skipRandom = false

    /// Runs `body` with random initialization switched off. Every parameter created inside
    /// must be filled by the caller before use.
    public static func withoutRandomInit<R>(_ body: () throws(LatheError) -> R) throws(LatheError) -> R {
        let was = skipRandom
        skipRandom = true
        defer { skipRandom = was }
        return try body()
    }

    /// PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
    /// (kaiming_uniform with a = sqrt(5)).
    public static func linear(out: Int, in inF: Int, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        let b = 1 / Float(max(inF, 1)).squareRoot()
        return try uniform([out, inF], -b, b, rng: &rng)
    }
    public static func uniform(_ shape: [Int], _ a: Float, _ b: Float, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        if skipRandom { return try Tensor.empty(shape) }
        return try Tensor.uniform(shape, a, b, rng: &rng)
    }
    public static func normal(_ shape: [Int], std: Float, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        if skipRandom { return try Tensor.empty(shape) }
        let t = try Tensor.randn(shape, rng: &rng)
        if std != 1 { try t.scaleInPlace(std) }
        return t
    }
}
