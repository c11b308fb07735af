/// Class labels as scikit-learn sees them: integers, strings or booleans, ordered as
/// `sklearn.utils.multiclass.unique_labels` orders them (sorted; strings by code point).

/// One class label.
public enum LabelValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case string(String)
    case bool(Bool)

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        }
    }

    /// How errors name the value: `1`, `"cat"`, `true`.
    public var quoted: String {
        if case .string(let s) = self { return "\"\(s)\"" }
        return description
    }

    var kind: String {
        switch self {
        case .int: return "integers"
        case .string: return "strings"
        case .bool: return "booleans"
        }
    }

    /// Equality as Python sees it (True == 1, False == 0; strings compared by code points).
    public func matches(_ other: LabelValue) -> Bool {
        switch (self, other) {
        case (.int(let a), .int(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .bool(let b)), (.bool(let b), .int(let a)): return a == (b ? 1 : 0)
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        default: return false
        }
    }

    /// Order of sorted labels (strings by code point, as Python sorts them).
    static func less(_ a: LabelValue, _ b: LabelValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.bool(let x), .bool(let y)): return !x && y
        case (.string(let x), .string(let y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.int(let x), .bool(let y)): return x < (y ? 1 : 0)
        case (.bool(let x), .int(let y)): return (x ? 1 : 0) < y
        case (.string, _): return false
        default: return true
        }
    }
}

/// A column of labels, stored compactly: integers, interned strings, or booleans.
public enum LabelColumn: Sendable {
    case ints([Int])
    /// `values[codes[i]]` is row i's label; values are distinct (byte-wise).
    case strings(codes: [Int32], values: [String])
    case bools([Bool])

    public var count: Int {
        switch self {
        case .ints(let a): return a.count
        case .strings(let c, _): return c.count
        case .bools(let b): return b.count
        }
    }

    /// A column from label values (all of one kind; booleans may mix with integers).
    public init(_ values: [LabelValue], name: String = "labels") throws(LatheError) {
        var hasInt = false, hasString = false, hasBool = false
        for v in values {
            switch v {
            case .int: hasInt = true
            case .string: hasString = true
            case .bool: hasBool = true
            }
        }
        if hasString && (hasInt || hasBool) {
            throw LatheError("\(name) mix strings and \(hasInt ? "integers" : "booleans") (labels must all be strings, or all numbers/booleans)")
        }
        if hasString {
            let interner = ByteInterner()
            var strings: [String] = []
            var codes: [Int32] = []
            codes.reserveCapacity(values.count)
            for v in values {
                guard case .string(let s) = v else { continue }
                let id = interner.intern(s)
                if Int(id) == strings.count { strings.append(s) }
                codes.append(id)
            }
            self = .strings(codes: codes, values: strings)
        } else if hasInt || !hasBool {
            self = .ints(values.map {
                switch $0 {
                case .int(let i): return i
                case .bool(let b): return b ? 1 : 0
                case .string: return 0
                }
            })
        } else {
            self = .bools(values.map { if case .bool(let b) = $0 { return b } else { return false } })
        }
    }

    /// Labels from a 1-D tensor (or a column [n, 1]): int64, bool, or float32 holding integers.
    public init(_ t: Tensor) throws(LatheError) {
        if t.rank > 1 && !(t.rank == 2 && t.shape[1] == 1) {
            throw LatheError("expected a 1-D tensor of labels, got shape \(t.shapeString)")
        }
        switch t.dtype {
        case .int64: self = .ints(try t.toInt64Array().map { Int($0) })
        case .bool: self = .bools(try t.toInt64Array().map { $0 != 0 })
        case .float32:
            var out: [Int] = []
            for (k, x) in t.toDoubleArray().enumerated() {
                guard x == x.rounded(), abs(x) < 9e15 else {
                    throw LatheError("a float32 tensor of labels must hold integers, element \(k + 1) is \(x)")
                }
                out.append(Int(x))
            }
            self = .ints(out)
        }
    }

    /// The label of row i.
    public subscript(i: Int) -> LabelValue {
        switch self {
        case .ints(let a): return .int(a[i])
        case .strings(let c, let v): return .string(v[Int(c[i])])
        case .bools(let b): return .bool(b[i])
        }
    }

    var kindName: String {
        switch self {
        case .ints: return "integers"
        case .strings: return "strings"
        case .bools: return "booleans"
        }
    }

    var asInts: [Int]? {
        switch self {
        case .ints(let a): return a
        case .bools(let b): return b.map { $0 ? 1 : 0 }
        case .strings: return nil
        }
    }
}

/// Rows of one or two label columns mapped to class indices 0..<k, classes sorted as
/// scikit-learn sorts the union of labels.
public struct EncodedLabels: Sendable {
    public let classes: [LabelValue]
    public let codes: [[Int32]]

    public var yTrue: [Int32] { codes[0] }
    public var yPred: [Int32] { codes.count > 1 ? codes[1] : codes[0] }
    public var count: Int { codes.first?.count ?? 0 }

    /// Encodes columns together (their labels share one class list).
    public init(_ columns: [LabelColumn], names: [String] = ["y_true", "y_pred"]) throws(LatheError) {
        let strings = columns.map { col -> Bool in if case .strings = col { return true } else { return false } }
        if strings.contains(true) && strings.contains(false) {
            let desc = columns.enumerated().map { "\(names.count > $0.offset ? names[$0.offset] : "column \($0.offset + 1)") has \($0.element.kindName)" }
            throw LatheError("labels mix strings and numbers (\(desc.joined(separator: ", ")))")
        }
        if strings.first == true {
            let interner = ByteInterner(capacity: 64)
            var all: [String] = []
            var maps: [[Int32]] = []
            for col in columns {
                guard case .strings(_, let values) = col else { continue }
                var m = [Int32](repeating: 0, count: values.count)
                for (k, v) in values.enumerated() {
                    let id = interner.intern(v)
                    if Int(id) == all.count { all.append(v) }
                    m[k] = id
                }
                maps.append(m)
            }
            let order = all.indices.sorted { all[$0].utf8.lexicographicallyPrecedes(all[$1].utf8) }
            var rank = [Int32](repeating: 0, count: all.count)
            for (r, k) in order.enumerated() { rank[k] = Int32(r) }
            classes = order.map { .string(all[$0]) }
            var out: [[Int32]] = []
            var ci = 0
            for col in columns {
                guard case .strings(let c, _) = col else { continue }
                let m = maps[ci].map { rank[Int($0)] }
                ci += 1
                out.append(c.map { m[Int($0)] })
            }
            codes = out
            return
        }
        let allBools = columns.allSatisfy { if case .bools = $0 { return true } else { return false } }
        let ints = columns.map { $0.asInts ?? [] }
        var lo = Int.max, hi = Int.min
        for a in ints { for v in a { if v < lo { lo = v }; if v > hi { hi = v } } }
        if lo > hi { classes = []; codes = ints.map { _ in [] }; return }
        let toLabel: (Int) -> LabelValue = allBools ? { .bool($0 != 0) } : { .int($0) }
        let (span, overflow) = hi.subtractingReportingOverflow(lo)
        if !overflow && span < 1 << 22 {
            var present = [Int32](repeating: -1, count: span + 1)
            for a in ints { for v in a { present[v - lo] = 0 } }
            var k: Int32 = 0
            var cls: [LabelValue] = []
            for j in 0...span where present[j] == 0 {
                present[j] = k
                k += 1
                cls.append(toLabel(j + lo))
            }
            classes = cls
            codes = ints.map { a in a.map { present[$0 - lo] } }
        } else {
            let uniq = Array(Set(ints.joined())).sorted()
            var index: [Int: Int32] = [:]
            for (k, v) in uniq.enumerated() { index[v] = Int32(k) }
            classes = uniq.map(toLabel)
            codes = ints.map { a in a.map { index[$0] ?? 0 } }
        }
    }

    /// The class index of a label (Python equality: true == 1), or nil.
    public func index(of v: LabelValue) -> Int? {
        classes.firstIndex { $0.matches(v) }
    }
}
