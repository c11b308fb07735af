import Foundation

extension Tensor {
    /// A one-line summary: `Tensor [2,3] float32` plus autograd facts.
    public var summary: String {
        var s = "Tensor \(shapeString) \(dtype.rawValue)"
        if let fn = gradFn { s += " (grad_fn=\(fn.name))" } else if requiresGrad { s += " (requires_grad)" }
        return s
    }

    /// The summary line, then the values laid out like numpy/PyTorch: aligned columns, and
    /// long dims summarized with `...` (first and last `edge` items) past `threshold` elements.
    public func formatted(threshold: Int = 1000, edge: Int = 3) -> String {
        // a long dimension of a tensor without elements ([2^53, 0]) is summarized too: its
        // rows would be listed one by one
        let summarize = count > threshold || shape.contains { $0 > threshold }
        // collect the values that will be shown, to pick one format for all
        var shown: [TensorScalar] = []
        collectShown(dim: 0, offset: offset, summarize: summarize, edge: edge, into: &shown)
        let fmt = NumberFormat(values: shown, dtype: dtype)
        var out = summary + "\n"
        if rank == 0 {
            out += fmt.format(scalar(at: offset))
            return out
        }
        out += render(dim: 0, offset: offset, indent: 1, summarize: summarize, edge: edge, fmt: fmt)
        return out
    }

    public func value(at storageIndex: Int) -> Double {
        switch dtype {
        case .float32: return Double(storage.floats[storageIndex])
        case .int64: return Double(storage.int64s[storageIndex])
        case .bool: return storage.bytes[storageIndex] != 0 ? 1 : 0
        }
    }

    func shownIndices(_ n: Int, summarize: Bool, edge: Int) -> [Int?] {
        if summarize && n > 2 * edge {
            return Array(0..<edge).map { Optional($0) } + [nil] + Array((n - edge)..<n).map { Optional($0) }
        }
        return Array(0..<n).map { Optional($0) }
    }

    func collectShown(dim d: Int, offset off: Int, summarize: Bool, edge: Int, into out: inout [TensorScalar]) {
        if rank == 0 { out.append(scalar(at: off)); return }
        for i in shownIndices(shape[d], summarize: summarize, edge: edge) {
            guard let i else { continue }
            let o = off + i * strides[d]
            if d == rank - 1 { out.append(scalar(at: o)) } else { collectShown(dim: d + 1, offset: o, summarize: summarize, edge: edge, into: &out) }
        }
    }

    func render(dim d: Int, offset off: Int, indent: Int, summarize: Bool, edge: Int, fmt: NumberFormat) -> String {
        let idx = shownIndices(shape[d], summarize: summarize, edge: edge)
        if d == rank - 1 {
            var parts: [String] = []
            for i in idx {
                if let i { parts.append(fmt.format(scalar(at: off + i * strides[d]))) } else { parts.append("...") }
            }
            // wrap long rows
            var lines: [String] = []
            var line = ""
            for (k, p) in parts.enumerated() {
                let piece = p + (k < parts.count - 1 ? ", " : "")
                if line.count + piece.count > 76 - indent && !line.isEmpty {
                    lines.append(line)
                    line = ""
                }
                line += piece
            }
            lines.append(line)
            return "[" + lines.map { $0.hasSuffix(" ") ? String($0.dropLast()) : $0 }.joined(separator: "\n" + String(repeating: " ", count: indent)) + "]"
        }
        var rows: [String] = []
        for i in idx {
            if let i {
                rows.append(render(dim: d + 1, offset: off + i * strides[d], indent: indent + 1, summarize: summarize, edge: edge, fmt: fmt))
            } else {
                rows.append("...")
            }
        }
        let sep = "," + String(repeating: "\n", count: rank - d - 1) + String(repeating: " ", count: indent)
        return "[" + rows.joined(separator: sep) + "]"
    }
}

/// Picks one layout for all shown numbers: integers, fixed 4 decimals, or scientific.
struct NumberFormat {
    enum Kind { case int, bool, fixed, sci }
    let kind: Kind
    let width: Int

    init(values: [TensorScalar], dtype: DType) {
        switch dtype {
        case .bool:
            kind = .bool
        case .int64:
            kind = .int
        case .float32:
            let finite = values.compactMap { v -> Double? in
                if case .float(let x) = v, x.isFinite { return Double(x) }
                return nil
            }
            let allInt = finite.allSatisfy { $0 == $0.rounded() && abs($0) < 1e8 }
            let maxAbs = finite.map { abs($0) }.max() ?? 0
            let minAbs = finite.filter { $0 != 0 }.map { abs($0) }.min() ?? 1
            if allInt && !finite.isEmpty { kind = .int } else if maxAbs >= 1e8 || minAbs < 1e-4 || (maxAbs / max(minAbs, 1e-300) > 1e6 && minAbs < 1e-2) {
                kind = .sci
            } else {
                kind = .fixed
            }
        }
        let proto = NumberFormat(kind: kind, width: 0)
        width = values.map { proto.raw($0).count }.max() ?? 1
    }

    init(kind: Kind, width: Int) {
        self.kind = kind
        self.width = width
    }

    func raw(_ v: TensorScalar) -> String {
        switch v {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f):
            let x = Double(f)
            if x.isNaN { return "nan" }
            if x.isInfinite { return x < 0 ? "-inf" : "inf" }
            switch kind {
            case .int: return String(format: "%.0f.", x)
            case .sci: return String(format: "%.4e", x)
            default: return String(format: "%.4f", x)
            }
        }
    }

    func format(_ v: TensorScalar) -> String {
        let s = raw(v)
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }
}
