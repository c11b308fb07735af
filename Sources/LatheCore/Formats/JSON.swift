/// A strict JSON value (RFC 8259) as the file-format readers need it: objects keep their key
/// order and duplicate keys (so a reader can reject duplicates), numbers keep their exact text
/// (so 64-bit offsets are never rounded through a Double).
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `"17"`, `"-0.5e3"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in file order, duplicates included.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A short name of the kind of value, for error messages ("string", "array", ...).
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The value of a non-negative integer written without fraction or exponent, if it fits in Int.
    public var nonNegativeInt: Int? {
        guard case .number(let s) = self, !s.isEmpty else { return nil }
        var v = 0
        for c in s.utf8 {
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - 48))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }

    /// The number as a Double (nil for non-numbers).
    public var double: Double? {
        guard case .number(let s) = self else { return nil }
        return Double(s)
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A number as a program holds it: an integer when written without fraction or exponent
    /// and it fits 64 bits, else the nearest double (NaN and the infinities Python writes included).
    public enum Number: Equatable, Sendable {
        case int(Int64)
        case double(Double)
    }

    /// The value of a number (nil for non-numbers).
    public var number: Number? {
        guard case .number(let s) = self else { return nil }
        switch s {
        case "NaN": return .double(.nan)
        case "Infinity": return .double(.infinity)
        case "-Infinity": return .double(-.infinity)
        default: break
        }
        if !s.utf8.contains(where: { $0 == 46 || $0 == 101 || $0 == 69 }), let i = Int64(s) { return .int(i) }
        return .double(Double(s) ?? .nan)
    }

    /// A double as the shortest text that reads back to it (Python's `repr`: 0.1, 3.0, 1e-07);
    /// NaN and the infinities as Python's json module writes them (not valid JSON: callers decide).
    public static func number(_ x: Double) -> JSONValue {
        if x.isFinite { return .number("\(x)") }
        return .number(x.isNaN ? "NaN" : (x > 0 ? "Infinity" : "-Infinity"))
    }

    /// The last member named `key` of an object (nil for non-objects or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let m) = self else { return nil }
        return m.last(where: { $0.0 == key })?.1
    }

    /// Parses UTF-8 JSON text. Rejects invalid UTF-8, trailing garbage, nesting deeper than
    /// `maxDepth`, lone surrogates and anything else RFC 8259 does not allow. Errors say
    /// where (byte offset) and what was wrong; they do not name a file (callers prefix that).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(LatheError) -> JSONValue {
        do {
            return try parseDocument(bytes, maxDepth: maxDepth)
        } catch {
            throw LatheError("invalid JSON at byte \(error.offset): \(error.message)")
        }
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(LatheError) -> JSONValue {
        try withRawBytes(of: bytes) { (b) throws(LatheError) -> JSONValue in try parse(b, maxDepth: maxDepth) }
    }

    public static func parse(_ text: String, maxDepth: Int = 64) throws(LatheError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// `parse` with the error's byte offset kept apart (so callers can name a line and
    /// column). `allowNonFinite` accepts the `NaN`, `Infinity` and `-Infinity` that Python's
    /// json module writes; they become the numbers "NaN", "Infinity", "-Infinity".
    public static func parseDocument(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64,
                                     allowNonFinite: Bool = false) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes: bytes, maxDepth: maxDepth)
        p.allowNonFinite = allowNonFinite
        return try p.parseDocument()
    }

    /// `parseDocument` with errors naming the line and column (1-based, columns in
    /// characters): "invalid JSON at line 2, column 9: expected a string key, got '}'".
    public static func parseReportingLines(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64,
                                           allowNonFinite: Bool = false) throws(LatheError) -> JSONValue {
        do {
            return try parseDocument(bytes, maxDepth: maxDepth, allowNonFinite: allowNonFinite)
        } catch {
            let (line, column) = TextBytes.lineColumn(bytes.assumingMemoryBound(to: UInt8.self), error.offset)
            throw LatheError("invalid JSON at line \(line), column \(column): \(error.message)")
        }
    }

    /// Where a document's records are: the elements of its top-level array, or of the array
    /// under `key` in its top-level object. Each element goes to `each` with its byte range as
    /// soon as it is parsed, so the whole document is never held as one tree. Invalid UTF-8 is
    /// not checked here (strings holding it are decoded with U+FFFD); callers check first.
    public static func forEachRecord(_ bytes: UnsafeRawBufferPointer, key: String?, maxDepth: Int = 200,
                                     _ each: (JSONValue, Range<Int>) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        var p = JSONParser(bytes: bytes, maxDepth: maxDepth)
        try p.records(key: key, each)
    }

    /// Compact JSON text (no spaces), strings escaped as serde_json and Python's safetensors
    /// write them: `"` `\` and control characters escaped (`\n`, `\t`, `\r`, `\b`, `\f`, else
    /// `\u00XX` in lowercase hex); everything else, `/` and non-ASCII included, written as is.
    public var compactText: String {
        String(decoding: text(), as: UTF8.self)
    }

    /// JSON text: compact (`,` and `:` without spaces) or, with `indent`, one member per line
    /// indented by that many spaces per level with `": "` after keys (Python's
    /// `json.dumps(indent=n)` layout). `sortKeys` orders members by key (code points, as
    /// Python's `sort_keys`); `asciiOnly` escapes non-ASCII as `\uXXXX` (surrogate pairs above
    /// U+FFFF), as Python's default `ensure_ascii`. Numbers are written as their text.
    public func text(indent: Int? = nil, sortKeys: Bool = false, asciiOnly: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out, indent: indent, level: 0, sortKeys: sortKeys, ascii: asciiOnly)
        return out
    }

    func write(into out: inout [UInt8], indent: Int?, level: Int, sortKeys: Bool, ascii: Bool) {
        func newline(_ lvl: Int) {
            guard let indent else { return }
            out.append(10)
            out.append(contentsOf: repeatElement(32, count: indent * lvl))
        }
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let s): out.append(contentsOf: s.utf8)
        case .string(let s): JSONValue.appendQuoted(s, to: &out, ascii: ascii)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(91)
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(44) }
                newline(level + 1)
                v.write(into: &out, indent: indent, level: level + 1, sortKeys: sortKeys, ascii: ascii)
            }
            newline(level)
            out.append(93)
        case .object(var m):
            if m.isEmpty { out.append(contentsOf: "{}".utf8); return }
            if sortKeys { m.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } }
            out.append(123)
            for (i, (k, v)) in m.enumerated() {
                if i > 0 { out.append(44) }
                newline(level + 1)
                JSONValue.appendQuoted(k, to: &out, ascii: ascii)
                out.append(58)
                if indent != nil { out.append(32) }
                v.write(into: &out, indent: indent, level: level + 1, sortKeys: sortKeys, ascii: ascii)
            }
            newline(level)
            out.append(125)
        }
    }

    /// Appends `s` as a JSON string literal (serde_json's escaping).
    public static func appendQuoted(_ s: String, to out: inout String) {
        var b: [UInt8] = []
        appendQuoted(s, to: &b, ascii: false)
        out += String(decoding: b, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal; `ascii` escapes everything outside printable
    /// ASCII (DEL and above), as Python's `ensure_ascii`.
    public static func appendQuoted(_ s: String, to out: inout [UInt8], ascii: Bool) {
        let hex = Array("0123456789abcdef".utf8)
        func u4(_ v: UInt32) {
            out.append(contentsOf: [92, 117, hex[Int(v >> 12 & 15)], hex[Int(v >> 8 & 15)], hex[Int(v >> 4 & 15)], hex[Int(v & 15)]])
        }
        out.append(34)
        var s = s
        s.withUTF8 { b in
            var i = 0
            while i < b.count {
                let c = b[i]
                switch c {
                case 34: out.append(92); out.append(34)
                case 92: out.append(92); out.append(92)
                case 10: out.append(92); out.append(110)
                case 13: out.append(92); out.append(114)
                case 9: out.append(92); out.append(116)
                case 8: out.append(92); out.append(98)
                case 12: out.append(92); out.append(102)
                case 0..<32: u4(UInt32(c))
                case 127 where ascii: u4(127)
                case 0x80...:
                    if !ascii { out.append(c); break }
                    // a valid Swift string: decode one scalar
                    var len = 2
                    var v = UInt32(c & 0x1F)
                    if c >= 0xF0 { len = 4; v = UInt32(c & 0x07) } else if c >= 0xE0 { len = 3; v = UInt32(c & 0x0F) }
                    for k in 1..<len { v = v << 6 | UInt32(b[i + k] & 0x3F) }
                    if v >= 0x10000 {
                        let w = v - 0x10000
                        u4(0xD800 + (w >> 10))
                        u4(0xDC00 + (w & 0x3FF))
                    } else {
                        u4(v)
                    }
                    i += len
                    continue
                default: out.append(c)
                }
                i += 1
            }
        }
        out.append(34)
    }
}

/// A JSON syntax error: what was wrong, at which byte offset.
public struct JSONSyntaxError: Error, Sendable {
    public var offset: Int
    public var message: String
    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
}

/// Where a value sits in a JSON document, as errors name it: `$.a[2]["odd key"]` (indices as
/// the caller counts them); a very deep path shows its first and last steps.
public struct JSONPath: CustomStringConvertible, Sendable {
    public enum Step: Sendable { case key(String), index(Int) }
    public var steps: [Step] = []

    public init() {}

    public var description: String {
        let shown: [Step?] = steps.count > 12 ? steps.prefix(6).map { $0 } + [nil] + steps.suffix(4).map { $0 } : steps.map { $0 }
        var s = "$"
        for step in shown {
            switch step {
            case nil: s += "[...\(steps.count - 10) more...]"
            case .index(let i)?: s += "[\(i)]"
            case .key(let k)?:
                let u = Array(k.utf8)
                let ident = !u.isEmpty && !(48...57).contains(u[0])
                    && u.allSatisfy { (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
                if ident { s += "." + k } else { s += "["; JSONValue.appendQuoted(k, to: &s); s += "]" }
            }
        }
        return s
    }
}

/// Recursive-descent parser over raw bytes with an explicit depth limit (no stack overflow on
/// hostile input like 100,000 nested `[`).
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var i = 0
    var depth = 0
    var allowNonFinite = false

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ what: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: i, message: what)
    }

    @inline(__always) var atEnd: Bool { i >= bytes.count }
    @inline(__always) func peek() -> UInt8 { bytes[i] }

    mutating func skipSpace() {
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 } else { break }
        }
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        // UTF-8 validity of the whole text first: strings can then be decoded without checks
        if let bad = firstInvalidUTF8(bytes) {
            i = bad
            throw fail("invalid UTF-8")
        }
        skipSpace()
        let v = try parseValue()
        skipSpace()
        if !atEnd { throw fail("unexpected \(describe(peek())) after the end of the value") }
        return v
    }

    func describe(_ c: UInt8) -> String {
        if c >= 0x20 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16)
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        if atEnd { throw fail("unexpected end of text (expected a value)") }
        let c = peek()
        switch c {
        case UInt8(ascii: "{"):
            depth += 1
            if depth > maxDepth { throw fail("nested deeper than \(maxDepth) levels") }
            defer { depth -= 1 }
            i += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if !atEnd && peek() == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                if atEnd || peek() != UInt8(ascii: "\"") {
                    throw fail(atEnd ? "unexpected end of text (expected a key)" : "expected a string key, got \(describe(peek()))")
                }
                let k = try parseString()
                skipSpace()
                if atEnd || peek() != UInt8(ascii: ":") {
                    throw fail(atEnd ? "unexpected end of text (expected ':')" : "expected ':', got \(describe(peek()))")
                }
                i += 1
                skipSpace()
                let v = try parseValue()
                members.append((k, v))
                skipSpace()
                if atEnd { throw fail("unexpected end of text (expected ',' or '}')") }
                let d = peek()
                i += 1
                if d == UInt8(ascii: ",") { continue }
                if d == UInt8(ascii: "}") { return .object(members) }
                i -= 1
                throw fail("expected ',' or '}', got \(describe(d))")
            }
        case UInt8(ascii: "["):
            depth += 1
            if depth > maxDepth { throw fail("nested deeper than \(maxDepth) levels") }
            defer { depth -= 1 }
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if !atEnd && peek() == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try parseValue())
                skipSpace()
                if atEnd { throw fail("unexpected end of text (expected ',' or ']')") }
                let d = peek()
                i += 1
                if d == UInt8(ascii: ",") { continue }
                if d == UInt8(ascii: "]") { return .array(items) }
                i -= 1
                throw fail("expected ',' or ']', got \(describe(d))")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if allowNonFinite && c == UInt8(ascii: "-") && bytes.count - i > 1 && bytes[i + 1] == UInt8(ascii: "I") {
                i += 1
                try literal("Infinity")
                return .number("-Infinity")
            }
            return .number(try parseNumber())
        case UInt8(ascii: "N") where allowNonFinite:
            try literal("NaN"); return .number("NaN")
        case UInt8(ascii: "I") where allowNonFinite:
            try literal("Infinity"); return .number("Infinity")
        default:
            let hint = c == UInt8(ascii: "N") || c == UInt8(ascii: "I") ? "; NaN and Infinity are not JSON" : ""
            throw fail("unexpected \(describe(c)) (expected a value\(hint))")
        }
    }

    /// Walks the top-level array (or the array under `key` in the top-level object), handing
    /// each element and its byte range to `each`.
    mutating func records(key: String?, _ each: (JSONValue, Range<Int>) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        skipSpace()
        if atEnd { throw fail("the file holds no JSON value (expected an array of records)") }
        let top = peek()
        if let key {
            guard top == UInt8(ascii: "{") else {
                throw fail("records = \(key.debugDescription) names a key of a top-level object, but the top level is \(kindAhead())")
            }
            depth += 1
            i += 1
            var found = false
            var arrays: [String] = []
            skipSpace()
            if !atEnd && peek() == UInt8(ascii: "}") { i += 1 } else {
                while true {
                    skipSpace()
                    if atEnd || peek() != UInt8(ascii: "\"") {
                        throw fail(atEnd ? "unexpected end of text (expected a key)" : "expected a string key, got \(describe(peek()))")
                    }
                    let keyAt = i
                    let k = try parseString()
                    skipSpace()
                    if atEnd || peek() != UInt8(ascii: ":") {
                        throw fail(atEnd ? "unexpected end of text (expected ':')" : "expected ':', got \(describe(peek()))")
                    }
                    i += 1
                    skipSpace()
                    if k == key {
                        if found {
                            i = keyAt
                            throw fail("the key \(key.debugDescription) appears twice in the top-level object")
                        }
                        found = true
                        if atEnd || peek() != UInt8(ascii: "[") {
                            throw fail("the key \(key.debugDescription) holds \(kindAhead()), expected an array of records")
                        }
                        try elements(each)
                    } else {
                        if !atEnd && peek() == UInt8(ascii: "[") { arrays.append(k) }
                        _ = try parseValue()
                    }
                    skipSpace()
                    if atEnd { throw fail("unexpected end of text (expected ',' or '}')") }
                    let d = peek()
                    i += 1
                    if d == UInt8(ascii: ",") { continue }
                    if d == UInt8(ascii: "}") { break }
                    i -= 1
                    throw fail("expected ',' or '}', got \(describe(d))")
                }
            }
            depth -= 1
            if !found {
                let hint = arrays.isEmpty ? "" : " (keys holding arrays: \(arrays.map { $0.debugDescription }.joined(separator: ", ")))"
                i = 0
                throw fail("the top-level object has no key \(key.debugDescription)\(hint)")
            }
        } else {
            guard top == UInt8(ascii: "[") else {
                if top == UInt8(ascii: "{") {
                    // name the keys that hold arrays, so the error says what to pass
                    let start = i
                    let v = try parseValue()
                    i = start
                    var arrays: [String] = []
                    if case .object(let m) = v { for (k, x) in m where x.kind == "array" { arrays.append(k) } }
                    let hint = arrays.isEmpty ? "" : "; pass records = \(arrays[0].debugDescription) to read the array under that key"
                    throw fail("the top level is an object, not an array of records\(hint)")
                }
                throw fail("the top level is \(kindAhead()), expected an array of records")
            }
            try elements(each)
        }
        skipSpace()
        if !atEnd { throw fail("unexpected \(describe(peek())) after the end of the value") }
    }

    /// The elements of the array starting at i, each handed to `each` with its byte range.
    mutating func elements(_ each: (JSONValue, Range<Int>) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        depth += 1
        defer { depth -= 1 }
        i += 1
        skipSpace()
        if !atEnd && peek() == UInt8(ascii: "]") { i += 1; return }
        while true {
            skipSpace()
            let start = i
            let v = try parseValue()
            try each(v, start..<i)
            skipSpace()
            if atEnd { throw fail("unexpected end of text (expected ',' or ']')") }
            let d = peek()
            i += 1
            if d == UInt8(ascii: ",") { continue }
            if d == UInt8(ascii: "]") { return }
            i -= 1
            throw fail("expected ',' or ']', got \(describe(d))")
        }
    }

    /// "an object", "a string", ... for the value starting at i.
    func kindAhead() -> String {
        guard !atEnd else { return "nothing" }
        switch peek() {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "a number"
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: n)
        if bytes.count - i < n || !(0..<n).allSatisfy({ bytes[i + $0] == w[$0] }) {
            throw fail("invalid literal (expected \(word))")
        }
        i += n
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = i
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        if peek() == UInt8(ascii: "-") { i += 1 }
        if atEnd || !isDigit(peek()) { throw fail("invalid number") }
        if peek() == UInt8(ascii: "0") {
            i += 1
        } else {
            while !atEnd && isDigit(peek()) { i += 1 }
        }
        if !atEnd && peek() == UInt8(ascii: ".") {
            i += 1
            if atEnd || !isDigit(peek()) { throw fail("invalid number (digits expected after '.')") }
            while !atEnd && isDigit(peek()) { i += 1 }
        }
        if !atEnd && (peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E")) {
            i += 1
            if !atEnd && (peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-")) { i += 1 }
            if atEnd || !isDigit(peek()) { throw fail("invalid number (digits expected in the exponent)") }
            while !atEnd && isDigit(peek()) { i += 1 }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        if bytes.count - i < 4 { throw fail("unexpected end of text in a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        i += 1  // opening quote
        let start = i
        // fast path: no escapes
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in a string (must be escaped)") }
            i += 1
        }
        if atEnd { throw fail("unterminated string") }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        while true {
            if atEnd { throw fail("unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in a string (must be escaped)") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            if atEnd { throw fail("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var cp = try hex4()
                if cp >= 0xD800 && cp < 0xDC00 {
                    guard bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone leading surrogate in a \\u escape")
                    }
                    i += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw fail("invalid low surrogate in a \\u escape") }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    throw fail("lone trailing surrogate in a \\u escape")
                }
                guard let scalar = Unicode.Scalar(cp) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                i -= 1
                throw fail("invalid escape \\\(describe(e))")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Offset of the first byte that breaks UTF-8 (overlongs, surrogates and code points above
/// U+10FFFF count as broken), or nil when all of `b` is valid.
func firstInvalidUTF8(_ b: UnsafeRawBufferPointer) -> Int? {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        var need = 0
        var min: UInt32 = 0
        var cp: UInt32 = 0
        if c & 0xE0 == 0xC0 { need = 1; cp = UInt32(c & 0x1F); min = 0x80 }
        else if c & 0xF0 == 0xE0 { need = 2; cp = UInt32(c & 0x0F); min = 0x800 }
        else if c & 0xF8 == 0xF0 { need = 3; cp = UInt32(c & 0x07); min = 0x10000 }
        else { return i }
        if n - i <= need { return i }
        for k in 1...need {
            let d = b[i + k]
            if d & 0xC0 != 0x80 { return i }
            cp = cp << 6 | UInt32(d & 0x3F)
        }
        if cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000) { return i }
        i += need + 1
    }
    return nil
}
