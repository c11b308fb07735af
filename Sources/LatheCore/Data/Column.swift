import Foundation

/// The type of a table column. Every column has one type; any cell may also be missing.
public enum ColumnType: String, Sendable, CaseIterable {
    case string
    case number
    case integer
    case boolean
}

/// One bit per row; a set bit marks a missing value.
public struct Bitmap: Sendable, Equatable {
    public private(set) var words: [UInt64]
    public private(set) var count: Int

    public init(count: Int, value: Bool = false) {
        self.count = count
        words = [UInt64](repeating: value ? ~0 : 0, count: (count + 63) / 64)
        if value { clearTail() }
    }

    public init(_ bits: [Bool]) {
        self.init(count: bits.count)
        for (i, b) in bits.enumerated() where b { self[i] = true }
    }

    private mutating func clearTail() {
        let r = count % 64
        if r != 0, !words.isEmpty { words[words.count - 1] &= (UInt64(1) << UInt64(r)) - 1 }
    }

    @inline(__always) public subscript(i: Int) -> Bool {
        get { (words[i >> 6] >> UInt64(i & 63)) & 1 != 0 }
        set {
            if newValue { words[i >> 6] |= UInt64(1) << UInt64(i & 63) } else { words[i >> 6] &= ~(UInt64(1) << UInt64(i & 63)) }
        }
    }

    public mutating func append(_ b: Bool) {
        if count % 64 == 0 { words.append(0) }
        count += 1
        if b { self[count - 1] = true }
    }

    /// Number of set bits.
    public var setCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var anySet: Bool { words.contains { $0 != 0 } }

    /// The bits at the given rows, in that order.
    public func gather(_ rows: [Int]) -> Bitmap {
        var out = Bitmap(count: rows.count)
        if !anySet { return out }
        for (k, r) in rows.enumerated() where self[r] { out[k] = true }
        return out
    }

    public static func + (a: Bitmap, b: Bitmap) -> Bitmap {
        var out = a
        for i in 0..<b.count { out.append(b[i]) }
        return out
    }
}

/// Strings stored one after another in one byte buffer (Arrow's layout): cell i is
/// `bytes[offsets[i] ..< offsets[i+1]]`, always valid UTF-8. Reading a 100 MB file makes two
/// arrays per column instead of millions of small strings.
public struct StringArray: Sendable {
    public private(set) var bytes: [UInt8]
    public private(set) var offsets: [Int]

    public init() {
        bytes = []
        offsets = [0]
    }

    public init(_ strings: [String]) {
        self.init()
        reserve(count: strings.count, bytes: strings.reduce(0) { $0 + $1.utf8.count })
        for s in strings { append(s) }
    }

    /// Builds directly from a byte buffer and offsets (the caller guarantees valid UTF-8).
    public init(bytes: [UInt8], offsets: [Int]) {
        self.bytes = bytes
        self.offsets = offsets
    }

    public var count: Int { offsets.count - 1 }

    public mutating func reserve(count: Int, bytes n: Int) {
        offsets.reserveCapacity(count + 1)
        bytes.reserveCapacity(n)
    }

    public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
        offsets.append(bytes.count)
    }

    /// Appends bytes that are known to be valid UTF-8.
    public mutating func append(utf8 buf: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: buf)
        offsets.append(bytes.count)
    }

    public mutating func appendEmpty() { offsets.append(bytes.count) }

    @inline(__always) public subscript(i: Int) -> String {
        let a = offsets[i], b = offsets[i + 1]
        if a == b { return "" }
        return bytes.withUnsafeBufferPointer { buf in
            String(decoding: UnsafeBufferPointer(rebasing: buf[a..<b]), as: UTF8.self)
        }
    }

    /// Byte length of cell i.
    @inline(__always) public func byteCount(_ i: Int) -> Int { offsets[i + 1] - offsets[i] }

    /// Calls body with the bytes of cell i.
    @inline(__always)
    public func withBytes<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let a = offsets[i], b = offsets[i + 1]
        return try bytes.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[a..<b]))
        }
    }

    /// Do cells i and j hold the same bytes?
    @inline(__always) public func bytesEqual(_ i: Int, _ j: Int) -> Bool {
        let a = offsets[i], n = offsets[i + 1] - a
        let b = offsets[j]
        if n != offsets[j + 1] - b { return false }
        if n == 0 { return true }
        return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + a, $0.baseAddress! + b, n) == 0 }
    }

    /// Byte-wise (so code point) order of cells i and j: -1, 0 or 1.
    @inline(__always) public func compareBytes(_ i: Int, _ j: Int) -> Int {
        let a = offsets[i], na = offsets[i + 1] - a
        let b = offsets[j], nb = offsets[j + 1] - b
        let m = min(na, nb)
        let c: Int32 = m == 0 ? 0 : bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + a, $0.baseAddress! + b, m) }
        if c != 0 { return c < 0 ? -1 : 1 }
        return na == nb ? 0 : (na < nb ? -1 : 1)
    }

    /// Unicode scalars (characters, for most text) in cell i.
    @inline(__always) public func scalarCount(_ i: Int) -> Int {
        var n = 0
        for k in offsets[i]..<offsets[i + 1] where bytes[k] & 0xC0 != 0x80 { n += 1 }
        return n
    }

    /// A 64-bit hash of cell i's bytes.
    @inline(__always) public func hash(_ i: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let a = offsets[i], b = offsets[i + 1]
        bytes.withUnsafeBufferPointer { p in
            var k = a
            while k + 8 <= b {
                h = (h ^ UnsafeRawPointer(p.baseAddress! + k).loadUnaligned(as: UInt64.self)) &* 0x100_0000_01b3
                h ^= h >> 29
                k += 8
            }
            while k < b { h = (h ^ UInt64(p[k])) &* 0x100_0000_01b3; k += 1 }
        }
        return h ^ UInt64(b - a)
    }

    /// The cells at the given rows, in that order.
    public func gather(_ rows: [Int]) -> StringArray {
        var out = StringArray()
        var total = 0
        for r in rows { total += offsets[r + 1] - offsets[r] }
        out.reserve(count: rows.count, bytes: total)
        bytes.withUnsafeBufferPointer { buf in
            for r in rows {
                out.append(utf8: UnsafeBufferPointer(rebasing: buf[offsets[r]..<offsets[r + 1]]))
            }
        }
        return out
    }

    public static func + (a: StringArray, b: StringArray) -> StringArray {
        var out = a
        out.bytes.append(contentsOf: b.bytes)
        let base = a.bytes.count
        out.offsets.append(contentsOf: b.offsets.dropFirst().map { $0 + base })
        return out
    }

    /// All cells as Swift strings.
    public var strings: [String] { (0..<count).map { self[$0] } }
}

/// One value of a table, as generic code sees it.
public enum Cell: Hashable, Sendable, CustomStringConvertible {
    case missing
    case string(String)
    case number(Double)
    case integer(Int64)
    case boolean(Bool)

    /// Strings compare byte for byte (code points), not by Swift's canonical equivalence, so
    /// "é" and "e\u{301}" are different values, as in files and other tools.
    public static func == (a: Cell, b: Cell) -> Bool {
        switch (a, b) {
        case (.missing, .missing): return true
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.number(let x), .number(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.boolean(let x), .boolean(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .missing: h.combine(0)
        case .string(let s):
            h.combine(1)
            var s = s
            s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
        case .number(let x): h.combine(2); h.combine(x)
        case .integer(let x): h.combine(3); h.combine(x)
        case .boolean(let b): h.combine(4); h.combine(b)
        }
    }

    public var isMissing: Bool { if case .missing = self { return true }; return false }

    public var description: String {
        switch self {
        case .missing: return "NA"
        case .string(let s): return s
        case .number(let x): return formatNumber(x)
        case .integer(let x): return String(x)
        case .boolean(let b): return b ? "true" : "false"
        }
    }

    /// The type this value would give a column, nil for missing.
    public var type: ColumnType? {
        switch self {
        case .missing: return nil
        case .string: return .string
        case .number: return .number
        case .integer: return .integer
        case .boolean: return .boolean
        }
    }
}

/// Formats a number the way Lathe shows data: integers without a fraction part get ".0"
/// removed only when they came from integer columns; numbers use the shortest text that reads
/// back to the same value.
public func formatNumber(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    return "\(x)"
}

/// The values of one column, by type.
public enum ColumnValues: Sendable {
    case string(StringArray)
    case number([Double])
    case integer([Int64])
    case boolean([Bool])

    public var type: ColumnType {
        switch self {
        case .string: return .string
        case .number: return .number
        case .integer: return .integer
        case .boolean: return .boolean
        }
    }

    public var count: Int {
        switch self {
        case .string(let a): return a.count
        case .number(let a): return a.count
        case .integer(let a): return a.count
        case .boolean(let a): return a.count
        }
    }
}

/// A typed column with real missing values: `values` holds a placeholder (empty string, 0,
/// false) where `missing` is set.
public struct Column: Sendable {
    public let values: ColumnValues
    public let missing: Bitmap

    public init(_ values: ColumnValues, missing: Bitmap? = nil) {
        self.values = values
        self.missing = missing ?? Bitmap(count: values.count)
    }

    public init(strings: [String?]) {
        var a = StringArray()
        var m = Bitmap(count: strings.count)
        for (i, s) in strings.enumerated() {
            if let s { a.append(s) } else { a.appendEmpty(); m[i] = true }
        }
        self.init(.string(a), missing: m)
    }
    public init(numbers: [Double?]) {
        var m = Bitmap(count: numbers.count)
        for (i, x) in numbers.enumerated() where x == nil { m[i] = true }
        self.init(.number(numbers.map { $0 ?? 0 }), missing: m)
    }
    public init(integers: [Int64?]) {
        var m = Bitmap(count: integers.count)
        for (i, x) in integers.enumerated() where x == nil { m[i] = true }
        self.init(.integer(integers.map { $0 ?? 0 }), missing: m)
    }
    public init(booleans: [Bool?]) {
        var m = Bitmap(count: booleans.count)
        for (i, x) in booleans.enumerated() where x == nil { m[i] = true }
        self.init(.boolean(booleans.map { $0 ?? false }), missing: m)
    }

    public var type: ColumnType { values.type }
    public var count: Int { values.count }
    public var missingCount: Int { missing.setCount }

    @inline(__always) public func isMissing(_ i: Int) -> Bool { missing[i] }

    /// Cell i.
    public subscript(i: Int) -> Cell {
        if missing[i] { return .missing }
        switch values {
        case .string(let a): return .string(a[i])
        case .number(let a): return .number(a[i])
        case .integer(let a): return .integer(a[i])
        case .boolean(let a): return .boolean(a[i])
        }
    }

    /// The string at row i (nil when missing or not a string column).
    @inline(__always) public func string(_ i: Int) -> String? {
        guard !missing[i], case .string(let a) = values else { return nil }
        return a[i]
    }

    /// The strings of a string column (nil for missing cells).
    public var stringValues: [String?]? {
        guard case .string(let a) = values else { return nil }
        return (0..<a.count).map { missing[$0] ? nil : a[$0] }
    }

    /// The value as a number (integers, numbers and booleans), nil when missing or a string.
    @inline(__always) public func double(_ i: Int) -> Double? {
        if missing[i] { return nil }
        switch values {
        case .number(let a): return a[i]
        case .integer(let a): return Double(a[i])
        case .boolean(let a): return a[i] ? 1 : 0
        case .string: return nil
        }
    }

    /// All cells.
    public var cells: [Cell] { (0..<count).map { self[$0] } }

    /// A hash per row (missing values hash alike; strings by their bytes).
    public func rowHashes() -> [UInt64] {
        let n = count
        var out = [UInt64](repeating: 0, count: n)
        let missingHash: UInt64 = 0x5bd1_e995_1234_5678
        switch values {
        case .string(let a): for i in 0..<n { out[i] = missing[i] ? missingHash : a.hash(i) }
        case .number(let a): for i in 0..<n { out[i] = missing[i] ? missingHash : (a[i] == 0 ? 0 : a[i].bitPattern) &* 0x9E37_79B9_7F4A_7C15 }
        case .integer(let a): for i in 0..<n { out[i] = missing[i] ? missingHash : UInt64(bitPattern: a[i]) &* 0x9E37_79B9_7F4A_7C15 }
        case .boolean(let a): for i in 0..<n { out[i] = missing[i] ? missingHash : (a[i] ? 1 : 2) }
        }
        return out
    }

    /// Are rows i and j equal (both missing, or the same value; strings byte for byte)?
    @inline(__always) public func cellsEqual(_ i: Int, _ j: Int) -> Bool {
        let mi = missing[i], mj = missing[j]
        if mi || mj { return mi == mj }
        switch values {
        case .string(let a): return a.bytesEqual(i, j)
        case .number(let a): return a[i] == a[j] || (a[i].isNaN && a[j].isNaN)
        case .integer(let a): return a[i] == a[j]
        case .boolean(let a): return a[i] == a[j]
        }
    }

    /// The rows at `rows`, in that order.
    public func gather(_ rows: [Int]) -> Column {
        let m = missing.gather(rows)
        switch values {
        case .string(let a): return Column(.string(a.gather(rows)), missing: m)
        case .number(let a): return Column(.number(rows.map { a[$0] }), missing: m)
        case .integer(let a): return Column(.integer(rows.map { a[$0] }), missing: m)
        case .boolean(let a): return Column(.boolean(rows.map { a[$0] }), missing: m)
        }
    }

    /// A column of `n` missing values of the given type.
    public static func missing(_ type: ColumnType, count n: Int) -> Column {
        let m = Bitmap(count: n, value: true)
        switch type {
        case .string: return Column(.string(StringArray(bytes: [], offsets: [Int](repeating: 0, count: n + 1))), missing: m)
        case .number: return Column(.number([Double](repeating: 0, count: n)), missing: m)
        case .integer: return Column(.integer([Int64](repeating: 0, count: n)), missing: m)
        case .boolean: return Column(.boolean([Bool](repeating: false, count: n)), missing: m)
        }
    }

    /// Builds a column from cells, inferring the type: all integers -> integer, integers and
    /// numbers -> number, all booleans -> boolean, all strings -> string; all missing ->
    /// `emptyType`. Mixed kinds are an error naming the first offending row (1-based).
    public static func from(cells: [Cell], emptyType: ColumnType = .string, name: String = "") throws(LatheError) -> Column {
        var type: ColumnType? = nil
        for (i, c) in cells.enumerated() {
            guard let t = c.type else { continue }
            if let cur = type {
                if cur == t { continue }
                if (cur == .integer && t == .number) || (cur == .number && t == .integer) { type = .number; continue }
                let col = name.isEmpty ? "" : "column '\(name)' "
                throw LatheError("\(col)mixes \(cur.rawValue) and \(t.rawValue) values (row \(i + 1) is \(t.rawValue) \(c.description.debugDescription)); convert them to one type first")
            } else {
                type = t
            }
        }
        return build(cells: cells, as: type ?? emptyType)
    }

    /// Builds a column of a given type from cells already known to fit it (integers are
    /// widened to numbers).
    static func build(cells: [Cell], as type: ColumnType) -> Column {
        var m = Bitmap(count: cells.count)
        switch type {
        case .string:
            var a = StringArray()
            for (i, c) in cells.enumerated() {
                switch c {
                case .string(let s): a.append(s)
                case .missing: a.appendEmpty(); m[i] = true
                default: a.append(c.description)
                }
            }
            return Column(.string(a), missing: m)
        case .number:
            var a = [Double](repeating: 0, count: cells.count)
            for (i, c) in cells.enumerated() {
                switch c {
                case .number(let x): a[i] = x
                case .integer(let x): a[i] = Double(x)
                case .boolean(let b): a[i] = b ? 1 : 0
                default: m[i] = true
                }
            }
            return Column(.number(a), missing: m)
        case .integer:
            var a = [Int64](repeating: 0, count: cells.count)
            for (i, c) in cells.enumerated() {
                switch c {
                case .integer(let x): a[i] = x
                case .boolean(let b): a[i] = b ? 1 : 0
                default: m[i] = true
                }
            }
            return Column(.integer(a), missing: m)
        case .boolean:
            var a = [Bool](repeating: false, count: cells.count)
            for (i, c) in cells.enumerated() {
                if case .boolean(let b) = c { a[i] = b } else { m[i] = true }
            }
            return Column(.boolean(a), missing: m)
        }
    }

    /// The column converted to another type. Strings are parsed (an unparsable value is an
    /// error naming its row); numbers become integers only when they are whole.
    public func converted(to type: ColumnType, name: String = "") throws(LatheError) -> Column {
        if type == self.type { return self }
        var out: [Cell] = []
        out.reserveCapacity(count)
        let label = name.isEmpty ? "" : "column '\(name)' "
        for i in 0..<count {
            let c = self[i]
            switch (c, type) {
            case (.missing, _): out.append(.missing)
            case (_, .string): out.append(.string(c.description))
            case (.string(let s), .number):
                guard let x = parseNumber(s) else { throw LatheError("\(label)row \(i + 1): cannot read \(s.debugDescription) as a number") }
                out.append(.number(x))
            case (.string(let s), .integer):
                guard let x = parseInteger(s) else { throw LatheError("\(label)row \(i + 1): cannot read \(s.debugDescription) as an integer") }
                out.append(.integer(x))
            case (.string(let s), .boolean):
                guard let b = parseBoolean(s) else { throw LatheError("\(label)row \(i + 1): cannot read \(s.debugDescription) as a boolean (expected true or false)") }
                out.append(.boolean(b))
            case (.number(let x), .integer):
                guard x == x.rounded(), abs(x) < 9.2e18 else { throw LatheError("\(label)row \(i + 1): \(formatNumber(x)) is not a whole number") }
                out.append(.integer(Int64(x)))
            case (.number(let x), .boolean): out.append(.boolean(x != 0))
            case (.integer(let x), .number): out.append(.number(Double(x)))
            case (.integer(let x), .boolean): out.append(.boolean(x != 0))
            case (.boolean(let b), .number): out.append(.number(b ? 1 : 0))
            case (.boolean(let b), .integer): out.append(.integer(b ? 1 : 0))
            default: out.append(c)
            }
        }
        return Column.build(cells: out, as: type)
    }

    /// This column followed by another of a compatible type (integer and number give number).
    public func appending(_ other: Column, name: String = "") throws(LatheError) -> Column {
        var a = self, b = other
        if a.type != b.type {
            if a.missingCount == a.count { a = try a.converted(to: b.type) }
            else if b.missingCount == b.count { b = try b.converted(to: a.type) }
            else if (a.type == .integer && b.type == .number) { a = try a.converted(to: .number) }
            else if (a.type == .number && b.type == .integer) { b = try b.converted(to: .number) }
            else {
                throw LatheError("column '\(name)' is \(a.type.rawValue) in one table and \(b.type.rawValue) in the other (convert one with t:map first)")
            }
        }
        let m = a.missing + b.missing
        switch (a.values, b.values) {
        case (.string(let x), .string(let y)): return Column(.string(x + y), missing: m)
        case (.number(let x), .number(let y)): return Column(.number(x + y), missing: m)
        case (.integer(let x), .integer(let y)): return Column(.integer(x + y), missing: m)
        case (.boolean(let x), .boolean(let y)): return Column(.boolean(x + y), missing: m)
        default: throw LatheError("column '\(name)': types do not match")
        }
    }
}

// MARK: - Parsing values from text

/// true/false in the spellings spreadsheets write.
public func parseBoolean(_ s: String) -> Bool? {
    switch s.trimmingCharacters(in: .whitespaces) {
    case "true", "True", "TRUE": return true
    case "false", "False", "FALSE": return false
    default: return nil
    }
}

public func parseInteger(_ s: String) -> Int64? {
    var s = s
    return s.withUTF8 { ValueParser.integer($0) }
}

public func parseNumber(_ s: String) -> Double? {
    var s = s
    return s.withUTF8 { ValueParser.number($0) }
}

/// Parsers over UTF-8 bytes used by the CSV reader's type inference.
public enum ValueParser {
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 }

    @inline(__always) static func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var lo = 0, hi = b.count
        while lo < hi && isSpace(b[lo]) { lo += 1 }
        while hi > lo && isSpace(b[hi - 1]) { hi -= 1 }
        return (lo, hi)
    }

    /// An integer: optional sign and digits, no leading zeros (so "007" stays text), within
    /// Int64. Surrounding spaces are allowed.
    @inline(__always)
    public static func integer(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        var (i, hi) = trimmed(b)
        if i >= hi { return nil }
        var neg = false
        if b[i] == 45 || b[i] == 43 { neg = b[i] == 45; i += 1 }
        let digits = hi - i
        if digits <= 0 || digits > 19 { return nil }
        if b[i] == 48 && digits > 1 { return nil }  // leading zero: an identifier, not a number
        var v: UInt64 = 0
        while i < hi {
            let d = b[i] &- 48
            if d > 9 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        if neg {
            if v > UInt64(Int64.max) + 1 { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        if v > UInt64(Int64.max) { return nil }
        return Int64(v)
    }

    static let pow10: [Double] = (0...22).map { Foundation.pow(10.0, Double($0)) }

    /// A decimal number: `[+-]? (digits [. digits] | . digits) ([eE] [+-]? digits)?`, or inf /
    /// infinity (any case, signed). Exact when the digits fit in 2^53 and the exponent is
    /// small (Clinger's fast path); otherwise strtod.
    @inline(__always)
    public static func number(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        let (lo, hi) = trimmed(b)
        var i = lo
        if i >= hi { return nil }
        var neg = false
        if b[i] == 45 || b[i] == 43 { neg = b[i] == 45; i += 1 }
        if i >= hi { return nil }
        if b[i] == 48 && i + 1 < hi && b[i + 1] &- 48 <= 9 { return nil }  // leading zero: an identifier
        // inf / infinity
        if b[i] | 0x20 == 105 {
            let rest = hi - i
            if rest == 3 || rest == 8 {
                var word = ""
                for k in i..<hi { word.unicodeScalars.append(Unicode.Scalar(b[k] | 0x20)) }
                if word == "inf" || word == "infinity" { return neg ? -.infinity : .infinity }
            }
            return nil
        }
        var mant: UInt64 = 0
        var sig = 0          // significant digits taken into mant
        var dropped = 0      // integer digits beyond 19 (scale)
        var fracDigits = 0
        var anyDigit = false
        var exact = true
        while i < hi, b[i] &- 48 <= 9 {
            anyDigit = true
            if sig < 19 {
                mant = mant * 10 + UInt64(b[i] - 48)
                if mant != 0 { sig += 1 }
            } else {
                dropped += 1
                exact = false
            }
            i += 1
        }
        if i < hi && b[i] == 46 {
            i += 1
            while i < hi, b[i] &- 48 <= 9 {
                anyDigit = true
                if sig < 19 {
                    mant = mant * 10 + UInt64(b[i] - 48)
                    if mant != 0 { sig += 1 }
                    fracDigits += 1
                } else {
                    exact = false
                }
                i += 1
            }
        }
        if !anyDigit { return nil }
        var exp = 0
        if i < hi && (b[i] == 101 || b[i] == 69) {
            i += 1
            var eneg = false
            if i < hi && (b[i] == 45 || b[i] == 43) { eneg = b[i] == 45; i += 1 }
            var any = false
            while i < hi, b[i] &- 48 <= 9 {
                any = true
                if exp < 100_000 { exp = exp * 10 + Int(b[i] - 48) }
                i += 1
            }
            if !any { return nil }
            if eneg { exp = -exp }
        }
        if i != hi { return nil }
        let e10 = exp - fracDigits + dropped
        if exact && mant < (UInt64(1) << 53) && e10 >= -22 && e10 <= 22 {
            var x = Double(mant)
            if e10 < 0 { x /= pow10[-e10] } else { x *= pow10[e10] }
            return neg ? -x : x
        }
        // slow path: strtod on a NUL-terminated copy
        var buf = [CChar](repeating: 0, count: hi - lo + 1)
        for k in lo..<hi { buf[k - lo] = CChar(bitPattern: b[k]) }
        return buf.withUnsafeBufferPointer { p in strtod(p.baseAddress!, nil) }
    }

    /// true / false in three spellings (surrounding spaces allowed).
    @inline(__always)
    public static func boolean(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        let (lo, hi) = trimmed(b)
        let n = hi - lo
        if n == 4 {
            let w = (b[lo], b[lo + 1] | 0x20, b[lo + 2] | 0x20, b[lo + 3] | 0x20)
            guard w.1 == 114, w.2 == 117, w.3 == 101, b[lo] == 116 || b[lo] == 84 else { return nil }
            // "true", "True", "TRUE" only
            let upper = b[lo + 1] == 82
            if upper != (b[lo + 2] == 85) || upper != (b[lo + 3] == 69) { return nil }
            if upper && b[lo] != 84 { return nil }
            return true
        }
        if n == 5 {
            guard b[lo] == 102 || b[lo] == 70 else { return nil }
            let rest = (b[lo + 1], b[lo + 2], b[lo + 3], b[lo + 4])
            if rest == (97, 108, 115, 101) { return false }
            if rest == (65, 76, 83, 69) && b[lo] == 70 { return false }
            return nil
        }
        return nil
    }
}
