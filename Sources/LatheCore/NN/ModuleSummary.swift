import Foundation

/// What a model is, as people read it: a one-line headline, a table of its layers, the bytes its
/// weights take; and its weights as one safetensors file.
extension Module {
    /// "DecoderLM (4 layers, ...): 1,234 parameters, 56 trainable" (trainable only when it differs).
    public var headline: String {
        let n = parameterCount(), tr = parameterCount(trainableOnly: true)
        return titled + ": \(Cost.commas(n)) parameters" + (tr != n ? ", \(Cost.commas(tr)) trainable" : "")
    }

    var titled: String { typeName + (details.isEmpty ? "" : " (\(details))") }

    /// The headline with the trainable share, then one row per layer that owns parameters:
    /// path, type, shapes, count, trainable (yes, partly, frozen).
    public func summary() -> String {
        let rows = summaryRows()
        let n = parameterCount(), tr = parameterCount(trainableOnly: true)
        let pct = String(format: "%.2f", n > 0 ? 100 * Double(tr) / Double(n) : 0)
        let table = [("module", "type", "shapes", "params", "trainable")] + rows.map { ($0.name, $0.type, $0.shapes, Cost.commas($0.params), $0.trainable) }
        let w = [table.map { $0.0.count }.max()!, table.map { $0.1.count }.max()!, table.map { $0.2.count }.max()!, table.map { $0.3.count }.max()!]
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
        let lines = table.map { r in
            pad(r.0, w[0]) + "  " + pad(r.1, w[1]) + "  " + pad(r.2, w[2]) + "  " + String(repeating: " ", count: w[3] - r.3.count) + r.3 + "  " + r.4
        }
        return ([titled + ": \(Cost.commas(n)) parameters, \(Cost.commas(tr)) trainable (\(pct)%)"] + lines).joined(separator: "\n")
    }

    /// Bytes held by the weights: float parameters (shared storage counted once) and the packed
    /// blocks of quantized layers.
    public var weightBytes: Int {
        var seen = Set<ObjectIdentifier>()
        var n = 0
        for (_, t) in namedParameters() where seen.insert(ObjectIdentifier(t.storage)).inserted { n += t.storage.byteCount }
        for (_, m) in namedModules() { if let q = m as? QuantLinear { n += q.weight.byteCount } }
        return n
    }

    /// The sub-module at a dotted path ("layers.0.attn"), or nil.
    public func module(at path: String) -> Module? {
        namedModules().first { $0.0 == path }?.1
    }

    /// `setTrainable(matching:)` for a person's pattern: one that matches nothing is an error
    /// showing what the paths look like.
    @discardableResult
    public func setTrainable(glob pattern: String, _ on: Bool) throws(LatheError) -> Int {
        let n = setTrainable(matching: pattern, on)
        if n == 0 {
            let examples = namedParameters().prefix(3).map(\.0).joined(separator: ", ")
            throw LatheError("no parameter matches '\(pattern)' (paths look like \(examples))")
        }
        return n
    }

    /// Writes the parameters to a safetensors file under their dotted paths.
    public func save(safetensors path: String, overwrite: Bool = false) throws(LatheError) {
        try SafetensorsWriter.write(namedParameters().map { (name: $0.0, tensor: $0.1) }, to: path,
                                    metadata: ["format": "pt"], overwrite: overwrite)
    }

    /// Reads parameters from a safetensors file by path (see `loadValues`).
    @discardableResult
    public func load(safetensors path: String, strict: Bool = true) throws(LatheError) -> (missing: [String], unexpected: [String]) {
        let f = try SafetensorsCheckpoint(path: path)
        var values: [String: Tensor] = [:]
        for n in f.names { values[n] = try f.tensor(n) }
        return try loadValues(values, strict: strict)
    }
}
