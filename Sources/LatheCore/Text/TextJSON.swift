import Foundation

/// A JSON value as the tokenizer files need it: objects keep their key order (so a file we
/// write reads like the one the Python `tokenizers` library writes), integers stay integers.
public indirect enum TextJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TextJSON])
    case object([(String, TextJSON)])

    public static func == (a: TextJSON, b: TextJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.int(x), .double(y)), let (.double(y), .int(x)): return Double(x) == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where p.0 != q.0 || p.1 != q.1 { return false }
            return true
        default: return false
        }
    }

    /// The value of key `k` of an object (nil when absent or not an object).
    public subscript(_ k: String) -> TextJSON? {
        if case .object(let fields) = self {
            for (key, v) in fields where key == k { return v }
        }
        return nil
    }

    public var isNull: Bool { if case .null = self { return true }; return false }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }
    /// A field that must be a non-negative integer when present (Rust's `usize`: no sign, no
    /// fraction, not a float literal), as the tokenizers library reads it; nil when absent or null.
    public func usize(_ key: String, in what: String) throws(LatheError) -> Int? {
        guard let v = self[key], !v.isNull else { return nil }
        guard case .int(let i) = v, i >= 0 else {
            throw LatheError("\(what): \"\(key)\" must be a non-negative integer (got \(v.serialized(pretty: false)))")
        }
        return i
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var arrayValue: [TextJSON]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [(String, TextJSON)]? { if case .object(let o) = self { return o }; return nil }

    /// A short name of the value's kind for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    // MARK: Parsing

    /// Parses JSON text (UTF-8 bytes). Errors name the byte offset.
    public static func parse(_ bytes: [UInt8]) throws(LatheError) -> TextJSON {
        var p = TextJSONParser(bytes: bytes)
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i != bytes.count { throw p.error("unexpected text after the JSON value") }
        return v
    }

    public static func parse(_ text: String) throws(LatheError) -> TextJSON {
        try parse(Array(text.utf8))
    }

    // MARK: Writing

    /// JSON text. `pretty` writes two-space indentation like serde_json's pretty printer (the
    /// format of `Tokenizer.save` in the Python library); otherwise compact.
    public func serialized(pretty: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(into: &out, indent: pretty ? 0 : -1)
        return String(decoding: out, as: UTF8.self)
    }

    func write(into out: inout [UInt8], indent: Int) {
        switch self {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .int(let i): out.append(contentsOf: Array(String(i).utf8))
        case .double(let d): out.append(contentsOf: Array(TextJSON.formatDouble(d).utf8))
        case .string(let s): TextJSON.writeString(s, into: &out)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: [0x5B, 0x5D]); return }
            out.append(0x5B)
            for (k, v) in a.enumerated() {
                if k > 0 { out.append(0x2C) }
                if indent >= 0 { TextJSON.newline(&out, indent + 1) }
                v.write(into: &out, indent: indent >= 0 ? indent + 1 : -1)
            }
            if indent >= 0 { TextJSON.newline(&out, indent) }
            out.append(0x5D)
        case .object(let o):
            if o.isEmpty { out.append(contentsOf: [0x7B, 0x7D]); return }
            out.append(0x7B)
            for (k, (key, v)) in o.enumerated() {
                if k > 0 { out.append(0x2C) }
                if indent >= 0 { TextJSON.newline(&out, indent + 1) }
                TextJSON.writeString(key, into: &out)
                out.append(0x3A)
                if indent >= 0 { out.append(0x20) }
                v.write(into: &out, indent: indent >= 0 ? indent + 1 : -1)
            }
            if indent >= 0 { TextJSON.newline(&out, indent) }
            out.append(0x7D)
        }
    }

    static func newline(_ out: inout [UInt8], _ level: Int) {
        out.append(0x0A)
        for _ in 0..<(2 * level) { out.append(0x20) }
    }

    /// A float32 setting as the decimal the user wrote: the shortest decimal that reads back as
    /// this Float (1e-5 stays 1e-05, not 9.999999747378752e-06 as its exact double would).
    public static func float(_ f: Float) -> TextJSON {
        .double(f.isFinite ? (Double(f.description) ?? Double(f)) : Double(f))
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "null" }
        if d == d.rounded() && abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    /// Escapes like serde_json: quote, backslash and control characters; everything else
    /// (including non-ASCII) is written as is.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0x08: out.append(contentsOf: [0x5C, 0x62])
            case 0x0C: out.append(contentsOf: [0x5C, 0x66])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

struct TextJSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ what: String) -> LatheError {
        LatheError("invalid JSON at byte \(i): \(what)")
    }

    mutating func skipSpace() {
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1 } else { break }
        }
    }

    mutating func value(depth: Int) throws(LatheError) -> TextJSON {
        if depth > 200 { throw error("nested too deeply") }
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of input") }
        switch bytes[i] {
        case 0x7B:  // {
            i += 1
            var fields: [(String, TextJSON)] = []
            skipSpace()
            if i < bytes.count && bytes[i] == 0x7D { i += 1; return .object(fields) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == 0x22 else { throw error("expected a string key") }
                let k = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == 0x3A else { throw error("expected ':'") }
                i += 1
                let v = try value(depth: depth + 1)
                fields.append((k, v))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of input in an object") }
                if bytes[i] == 0x2C { i += 1; continue }
                if bytes[i] == 0x7D { i += 1; return .object(fields) }
                throw error("expected ',' or '}'")
            }
        case 0x5B:  // [
            i += 1
            var items: [TextJSON] = []
            skipSpace()
            if i < bytes.count && bytes[i] == 0x5D { i += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of input in an array") }
                if bytes[i] == 0x2C { i += 1; continue }
                if bytes[i] == 0x5D { i += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case 0x22:
            return .string(try string())
        case 0x74:
            try literal("true"); return .bool(true)
        case 0x66:
            try literal("false"); return .bool(false)
        case 0x6E:
            try literal("null"); return .null
        default:
            return try number()
        }
    }

    mutating func literal(_ s: String) throws(LatheError) {
        let u = Array(s.utf8)
        guard i + u.count <= bytes.count, Array(bytes[i..<(i + u.count)]) == u else {
            throw error("unexpected character")
        }
        i += u.count
    }

    mutating func number() throws(LatheError) -> TextJSON {
        let start = i
        var isInt = true
        if i < bytes.count && bytes[i] == 0x2D { i += 1 }
        var digits = 0
        while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1; digits += 1 }
        if digits == 0 { i = start; throw error("unexpected character") }
        if i < bytes.count && bytes[i] == 0x2E {
            isInt = false
            i += 1
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
        }
        if i < bytes.count && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            isInt = false
            i += 1
            if i < bytes.count && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isInt, let v = Int(text) { return .int(v) }
        guard let d = Double(text) else { throw error("bad number \(text)") }
        return .double(d)
    }

    mutating func hex4() throws(LatheError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw error("bad \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    mutating func string() throws(LatheError) -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        var runStart = i
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let b = bytes[i]
            if b == 0x22 {
                if out.isEmpty {
                    let s = String(decoding: bytes[runStart..<i], as: UTF8.self)
                    i += 1
                    return s
                }
                out.append(contentsOf: bytes[runStart..<i])
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b == 0x5C {
                out.append(contentsOf: bytes[runStart..<i])
                i += 1
                guard i < bytes.count else { throw error("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var cp = try hex4()
                    if cp >= 0xD800 && cp < 0xDC00 {
                        if i + 6 <= bytes.count && bytes[i] == 0x5C && bytes[i + 1] == 0x75 {
                            i += 2
                            let lo = try hex4()
                            if lo >= 0xDC00 && lo < 0xE000 {
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                cp = 0xFFFD
                            }
                        } else {
                            cp = 0xFFFD
                        }
                    } else if cp >= 0xDC00 && cp < 0xE000 {
                        cp = 0xFFFD
                    }
                    textAppendUTF8(Unicode.Scalar(cp) ?? "\u{FFFD}", to: &out)
                default: throw error("bad escape")
                }
                runStart = i
                continue
            }
            i += 1
        }
    }
}

@inline(__always)
func textAppendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
    let v = s.value
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}
