import Foundation

/// A layer or model: named parameters and named sub-modules, so every parameter has a dotted
/// path (`layers.0.attn.q_proj.weight`) that matches the Hugging Face name of the same weight
/// in real checkpoints. Paths may contain dots: `register("model.layers", list)` creates the
/// intermediate containers.
open class Module {
    public private(set) var params: [(String, Tensor)] = []
    public private(set) var children: [(String, Module)] = []
    public private(set) var training = true

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

    /// Number of parameter elements (all, or only trainable ones).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        namedParameters().reduce(0) { $0 + (trainableOnly && !$1.1.requiresGrad ? 0 : $1.1.count) }
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
        for (path, m) in namedModules() where !m.params.isEmpty {
            let shapes = m.params.map { $0.1.shapeString }.joined(separator: " ")
            let count = m.params.reduce(0) { $0 + $1.1.count }
            let tr = m.params.map { $0.1.requiresGrad }
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
    /// PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
    /// (kaiming_uniform with a = sqrt(5)).
    public static func linear(out: Int, in inF: Int, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        let b = 1 / Float(max(inF, 1)).squareRoot()
        return try Tensor.uniform([out, inF], -b, b, rng: &rng)
    }
    public static func normal(_ shape: [Int], std: Float, rng: inout RandomGenerator) throws(LatheError) -> Tensor {
        let t = try Tensor.randn(shape, rng: &rng)
        if std != 1 { try t.scaleInPlace(std) }
        return t
    }
}
