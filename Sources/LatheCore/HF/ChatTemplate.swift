import Foundation

/// Chat templates: the subset of Jinja2 that Hugging Face chat templates use, rendered with
/// transformers' settings (`trim_blocks`, `lstrip_blocks`, loop controls).
///
/// Supported: `{{ }}`, `{% %}`, `{# #}` with `-` whitespace control; `for` (with `if` filter,
/// `else`, `loop.index/index0/first/last/length/revindex/revindex0/previtem/nextitem`, `break`,
/// `continue`), `if/elif/else`, `set` (also `set ns.attr`), `generation` blocks, `raw`;
/// expressions with Jinja's precedence (`x if c else y`, `or`, `and`, `not`, comparisons, `in`,
/// `is [not] test`, `~`, `+ - * / // % **`, filters `|f(args)`), literals, lists, dicts,
/// attribute and item access, slices, string and dict methods, `namespace()`, `range()`,
/// `raise_exception()`, `strftime_now()`. Anything else is an error naming the construct.
public struct ChatTemplate {
    let nodes: [JNode]
    public let source: String

    public init(_ source: String) throws(LatheError) {
        self.source = source
        var p = JParser(tokens: try JLexer.lex(source))
        nodes = try p.parseBody(until: [])
    }

    /// Renders the template for `messages` (each a dictionary such as role/content).
    /// `maxSteps` bounds the work (statements run plus loop iterations): a template that loops
    /// longer is an error, not a hang.
    public func render(messages: [[(String, JValue)]], addGenerationPrompt: Bool, extra: [String: JValue] = [:],
                       maxSteps: Int = 1_000_000) throws(LatheError) -> String {
        var ctx = JContext()
        ctx.maxSteps = maxSteps
        ctx.scopes[0]["messages"] = .list(messages.map { .dict($0) })
        ctx.scopes[0]["add_generation_prompt"] = .bool(addGenerationPrompt)
        // transformers passes these as None when the caller gives none
        ctx.scopes[0]["tools"] = JValue.none
        ctx.scopes[0]["documents"] = JValue.none
        for (k, v) in extra { ctx.scopes[0][k] = v }
        var out = ""
        _ = try ctx.run(nodes, &out)
        if out.utf8.count > JContext.maxStringBytes { throw JContext.tooLong(Double(out.utf8.count)) }
        return out
    }

    /// Renders with plain string messages and the special tokens transformers passes.
    public func render(messages: [(role: String, content: String)], addGenerationPrompt: Bool,
                       bosToken: String?, eosToken: String?, maxSteps: Int = 1_000_000) throws(LatheError) -> String {
        var extra: [String: JValue] = [:]
        extra["bos_token"] = bosToken.map { .string($0) } ?? .undefined
        extra["eos_token"] = eosToken.map { .string($0) } ?? .undefined
        return try render(messages: messages.map { [("role", .string($0.role)), ("content", .string($0.content))] },
                          addGenerationPrompt: addGenerationPrompt, extra: extra, maxSteps: maxSteps)
    }
}

/// A value in a template.
public indirect enum JValue: Equatable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JValue])
    case dict([(String, JValue)])
    case namespace(JNamespace)
    case function(String)

    public static func == (a: JValue, b: JValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.namespace(x), .namespace(y)): return x === y
        case let (.function(x), .function(y)): return x == y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .function: return true
        }
    }

    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "none"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "float"
        case .string: return "string"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "namespace"
        case .function: return "function"
        }
    }

    /// As Jinja prints it (`{{ x }}`): Python's str().
    var text: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python's repr(), for values inside lists and dicts.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JValue.pyFloat(d)
        case .string(let s):
            let q = s.contains("'") && !s.contains("\"") ? "\"" : "'"
            var out = q
            for ch in s.unicodeScalars {
                switch ch {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    if String(ch) == q { out += "\\" + q } else { out.unicodeScalars.append(ch) }
                }
            }
            return out + q
        case .list(let l): return "[" + l.map { $0.repr }.joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.map { JValue.string($0.0).repr + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace \(n.fields.map { "\($0.0)=\($0.1.repr)" }.joined(separator: ", "))>"
        case .function(let f): return "<function \(f)>"
        }
    }

    static func pyFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    /// json.dumps(x, ensure_ascii=False) as transformers' tojson filter writes it.
    func json(indent: Int?, level: Int = 0) throws(LatheError) -> String {
        let nl = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let close = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let sep = indent == nil ? ", " : ","
        switch self {
        case .undefined, .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return JValue.pyFloat(d)
        case .string(let s):
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                default:
                    if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
                }
            }
            return out + "\""
        case .list(let l):
            if l.isEmpty { return "[]" }
            var parts: [String] = []
            for v in l { parts.append(try v.json(indent: indent, level: level + 1)) }
            return "[" + nl + parts.joined(separator: sep + nl) + close + "]"
        case .dict(let d):
            if d.isEmpty { return "{}" }
            var parts: [String] = []
            for (k, v) in d { parts.append(try JValue.string(k).json(indent: nil) + ": " + v.json(indent: indent, level: level + 1)) }
            return "{" + nl + parts.joined(separator: sep + nl) + close + "}"
        case .namespace, .function:
            throw LatheError("chat template: tojson cannot encode a \(typeName)")
        }
    }
}

/// `namespace(...)`: the one mutable object of a template.
public final class JNamespace {
    var fields: [(String, JValue)]
    init(_ f: [(String, JValue)]) { fields = f }
    subscript(_ k: String) -> JValue? {
        get { fields.first { $0.0 == k }?.1 }
        set {
            if let i = fields.firstIndex(where: { $0.0 == k }) { fields[i].1 = newValue ?? .none } else { fields.append((k, newValue ?? .none)) }
        }
    }
}

// MARK: - lexer

enum JToken: Equatable {
    case text(String)
    case exprStart, exprEnd, stmtStart, stmtEnd
    case name(String), str(String), int(Int), float(Double), op(String)
}

enum JLexer {
    /// Splits the source into text and tag tokens, applying `-` whitespace control and
    /// transformers' trim_blocks / lstrip_blocks.
    static func lex(_ src: String) throws(LatheError) -> [JToken] {
        let s = Array(src.unicodeScalars)
        var out: [JToken] = []
        var i = 0
        var text: [Unicode.Scalar] = []
        var trimNextNewline = false   // trim_blocks after %}
        var stripNextWhitespace = false  // after a -%} / -}}
        func flush() {
            if !text.isEmpty { out.append(.text(String(String.UnicodeScalarView(text)))); text = [] }
        }
        func isWS(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        while i < s.count {
            let c = s[i]
            if c == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" {
                let kind = s[i + 1]
                let minus = i + 2 < s.count && s[i + 2] == "-"
                let plus = i + 2 < s.count && s[i + 2] == "+"
                if minus {
                    while let last = text.last, isWS(last) { text.removeLast() }
                } else if (kind == "%" || kind == "#") && !plus {
                    // lstrip_blocks: a block tag that starts its line (in the source) takes the
                    // spaces and tabs before it
                    var k = i
                    while k > 0, s[k - 1] == " " || s[k - 1] == "\t" { k -= 1 }
                    if k == 0 || s[k - 1] == "\n" {
                        var n = i - k
                        while n > 0, let last = text.last, last == " " || last == "\t" { text.removeLast(); n -= 1 }
                    }
                }
                flush()
                i += (minus || plus) ? 3 : 2
                if kind == "#" {
                    // comment: skip to #}
                    var closed = false
                    while i + 1 < s.count {
                        if s[i] == "#", s[i + 1] == "}" {
                            let m = i > 0 && s[i - 1] == "-"
                            i += 2
                            closed = true
                            stripNextWhitespace = m
                            trimNextNewline = !m
                            break
                        }
                        i += 1
                    }
                    if !closed { throw LatheError("chat template: unclosed comment {# ... #}") }
                    continue
                }
                let close: Unicode.Scalar = kind == "{" ? "}" : "%"
                // raw blocks
                if kind == "%" {
                    var k = i
                    while k < s.count, isWS(s[k]) { k += 1 }
                    if k + 3 <= s.count, String(String.UnicodeScalarView(s[k..<min(k + 3, s.count)])) == "raw" {
                        var e = k + 3
                        while e < s.count, isWS(s[e]) || s[e] == "-" { e += 1 }
                        guard e + 1 < s.count, s[e] == "%", s[e + 1] == "}" else { throw LatheError("chat template: bad {% raw %} tag") }
                        i = e + 2
                        // find {% endraw %}
                        var body: [Unicode.Scalar] = []
                        var found = false
                        while i < s.count {
                            if s[i] == "{", i + 1 < s.count, s[i + 1] == "%" {
                                var q = i + 2
                                if q < s.count, s[q] == "-" { q += 1 }
                                while q < s.count, isWS(s[q]) { q += 1 }
                                if q + 6 <= s.count, String(String.UnicodeScalarView(s[q..<(q + 6)])) == "endraw" {
                                    var e2 = q + 6
                                    while e2 < s.count, isWS(s[e2]) || s[e2] == "-" { e2 += 1 }
                                    if e2 + 1 < s.count, s[e2] == "%", s[e2 + 1] == "}" { i = e2 + 2; found = true; break }
                                }
                            }
                            body.append(s[i])
                            i += 1
                        }
                        if !found { throw LatheError("chat template: {% raw %} without {% endraw %}") }
                        out.append(.text(String(String.UnicodeScalarView(body))))
                        trimNextNewline = true
                        continue
                    }
                }
                out.append(kind == "{" ? .exprStart : .stmtStart)
                // tokens until the closing delimiter
                var closed = false
                while i < s.count {
                    let ch = s[i]
                    if isWS(ch) { i += 1; continue }
                    if (ch == "-" || ch == "+"), i + 2 < s.count, s[i + 1] == close, s[i + 2] == "}" {
                        out.append(kind == "{" ? .exprEnd : .stmtEnd)
                        i += 3
                        stripNextWhitespace = ch == "-"
                        trimNextNewline = kind == "%" && ch != "+" && ch != "-"
                        closed = true
                        break
                    }
                    if ch == close, i + 1 < s.count, s[i + 1] == "}" {
                        out.append(kind == "{" ? .exprEnd : .stmtEnd)
                        i += 2
                        trimNextNewline = kind == "%"
                        closed = true
                        break
                    }
                    if ch == "'" || ch == "\"" {
                        var j = i + 1
                        var str: [Unicode.Scalar] = []
                        var ok = false
                        while j < s.count {
                            if s[j] == "\\", j + 1 < s.count {
                                let e = s[j + 1]
                                switch e {
                                case "n": str.append("\n")
                                case "t": str.append("\t")
                                case "r": str.append("\r")
                                case "\\": str.append("\\")
                                case "'": str.append("'")
                                case "\"": str.append("\"")
                                default: str.append("\\"); str.append(e)
                                }
                                j += 2
                                continue
                            }
                            if s[j] == ch { ok = true; break }
                            str.append(s[j])
                            j += 1
                        }
                        if !ok { throw LatheError("chat template: unterminated string") }
                        out.append(.str(String(String.UnicodeScalarView(str))))
                        i = j + 1
                        continue
                    }
                    if ("0"..."9").contains(ch) {
                        var j = i
                        var isFloat = false
                        while j < s.count, ("0"..."9").contains(s[j]) || (s[j] == "." && !isFloat && j + 1 < s.count && ("0"..."9").contains(s[j + 1])) || s[j] == "_" {
                            if s[j] == "." { isFloat = true }
                            j += 1
                        }
                        let lit = String(String.UnicodeScalarView(s[i..<j])).replacingOccurrences(of: "_", with: "")
                        if isFloat { out.append(.float(Double(lit) ?? 0)) } else {
                            guard let v = Int(lit) else { throw LatheError("chat template: number \(lit) is too large") }
                            out.append(.int(v))
                        }
                        i = j
                        continue
                    }
                    if ch == "_" || ch.properties.isAlphabetic {
                        var j = i
                        while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
                        out.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                        i = j
                        continue
                    }
                    let two = i + 1 < s.count ? String(String.UnicodeScalarView([ch, s[i + 1]])) : ""
                    if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                        out.append(.op(two))
                        i += 2
                        continue
                    }
                    if "+-*/%~|.,:()[]{}<>=".unicodeScalars.contains(ch) {
                        out.append(.op(String(ch)))
                        i += 1
                        continue
                    }
                    throw LatheError("chat template: unexpected character '\(ch)' in a tag")
                }
                if !closed { throw LatheError("chat template: unclosed tag (missing '\(close)}')") }
                continue
            }
            // plain text
            if stripNextWhitespace {
                if isWS(c) { i += 1; continue }
                stripNextWhitespace = false
            }
            if trimNextNewline {
                trimNextNewline = false
                if c == "\n" { i += 1; continue }
                if c == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 2; continue }
            }
            text.append(c)
            i += 1
        }
        flush()
        return out
    }

    /// Whether the output so far ends at a line start (for lstrip_blocks right after a tag).
    static func lastTextEndsLine(_ out: [JToken]) -> Bool {
        for t in out.reversed() {
            if case .text(let s) = t { return s.hasSuffix("\n") }
            return false
        }
        return true
    }
}

// MARK: - syntax tree

indirect enum JExpr {
    case lit(JValue)
    case name(String)
    case list([JExpr])
    case dict([(JExpr, JExpr)])
    case attr(JExpr, String)
    case item(JExpr, JExpr)
    case slice(JExpr, JExpr?, JExpr?, JExpr?)
    case call(JExpr, [JExpr], [(String, JExpr)])
    case filter(JExpr, String, [JExpr], [(String, JExpr)])
    case test(JExpr, String, [JExpr], Bool)
    case unary(String, JExpr)
    case binary(String, JExpr, JExpr)
    case cond(JExpr, JExpr, JExpr?)
}

indirect enum JNode {
    case text(String)
    case output(JExpr)
    case ifs([(JExpr?, [JNode])])
    case forLoop(vars: [String], iter: JExpr, filter: JExpr?, body: [JNode], orElse: [JNode])
    case set(target: JExpr, value: JExpr)
    case breakLoop, continueLoop
}

struct JParser {
    let tokens: [JToken]
    var pos = 0
    /// Statements and expressions open inside each other right now.
    var depth = 0
    /// Deeper nesting is an error (the parser recurses once per level; Python's Jinja stops
    /// at its recursion limit).
    static let maxDepth = 200

    init(tokens: [JToken]) { self.tokens = tokens }

    var peek: JToken? { pos < tokens.count ? tokens[pos] : nil }
    mutating func next() -> JToken? {
        defer { pos += 1 }
        return peek
    }

    func isName(_ n: String, at p: Int? = nil) -> Bool {
        let i = p ?? pos
        if i < tokens.count, case .name(let x) = tokens[i] { return x == n }
        return false
    }
    func isOp(_ o: String) -> Bool {
        if let t = peek, case .op(let x) = t { return x == o }
        return false
    }
    mutating func expectOp(_ o: String) throws(LatheError) {
        guard isOp(o) else { throw LatheError("chat template: expected '\(o)'\(describeHere)") }
        pos += 1
    }
    mutating func expect(_ t: JToken, _ what: String) throws(LatheError) {
        guard peek == t else { throw LatheError("chat template: expected \(what)\(describeHere)") }
        pos += 1
    }
    mutating func nameToken() throws(LatheError) -> String {
        guard let t = peek, case .name(let n) = t else { throw LatheError("chat template: expected a name\(describeHere)") }
        pos += 1
        return n
    }
    var describeHere: String {
        guard let t = peek else { return " at the end of the template" }
        switch t {
        case .text: return " before text"
        case .exprStart: return " before '{{'"
        case .exprEnd: return " before '}}'"
        case .stmtStart: return " before '{%'"
        case .stmtEnd: return " before '%}'"
        case .name(let n): return " before '\(n)'"
        case .str(let s): return " before '\(s.prefix(20))'"
        case .int(let i): return " before \(i)"
        case .float(let d): return " before \(d)"
        case .op(let o): return " before '\(o)'"
        }
    }

    /// Parses nodes until a `{% name %}` statement whose name is in `until` (left unconsumed,
    /// positioned at the name).
    mutating func parseBody(until: Set<String>) throws(LatheError) -> [JNode] {
        try enter()
        defer { depth -= 1 }
        var nodes: [JNode] = []
        while let t = peek {
            switch t {
            case .text(let s):
                pos += 1
                nodes.append(.text(s))
            case .exprStart:
                pos += 1
                let e = try parseExpr()
                try expect(.exprEnd, "'}}'")
                nodes.append(.output(e))
            case .stmtStart:
                guard pos + 1 < tokens.count, case .name(let kw) = tokens[pos + 1] else {
                    throw LatheError("chat template: expected a statement after '{%'")
                }
                if until.contains(kw) { pos += 1; return nodes }
                pos += 2
                switch kw {
                case "if": nodes.append(try parseIf())
                case "for": nodes.append(try parseFor())
                case "set":
                    let target = try parseTarget()
                    try expectOp("=")
                    let v = try parseExpr()
                    try expect(.stmtEnd, "'%}'")
                    nodes.append(.set(target: target, value: v))
                case "break": try expect(.stmtEnd, "'%}'"); nodes.append(.breakLoop)
                case "continue": try expect(.stmtEnd, "'%}'"); nodes.append(.continueLoop)
                case "generation":
                    try expect(.stmtEnd, "'%}'")
                    nodes += try parseBody(until: ["endgeneration"])
                    try endTag("endgeneration")
                default:
                    throw LatheError("chat template: the '{% \(kw) %}' statement is not supported by Lathe's template engine")
                }
            default:
                throw LatheError("chat template: unexpected token\(describeHere)")
            }
        }
        if !until.isEmpty {
            let end = until.first { $0.hasPrefix("end") } ?? until.sorted()[0]
            throw LatheError("chat template: missing {% \(end) %}")
        }
        return nodes
    }

    /// `name`, `ns.attr` or `a, b` on the left of `set`.
    mutating func parseTarget() throws(LatheError) -> JExpr {
        let first = try nameToken()
        if isOp(".") { pos += 1; return .attr(.name(first), try nameToken()) }
        if isOp(",") {
            var names: [JExpr] = [.name(first)]
            while isOp(",") { pos += 1; names.append(.name(try nameToken())) }
            return .list(names)
        }
        if isOp("[") { throw LatheError("chat template: assigning to an item ({% set x[...] = ... %}) is not supported") }
        return .name(first)
    }

    mutating func endTag(_ name: String) throws(LatheError) {
        guard isName(name) else { throw LatheError("chat template: expected {% \(name) %}\(describeHere)") }
        pos += 1
        try expect(.stmtEnd, "'%}'")
    }

    mutating func parseIf() throws(LatheError) -> JNode {
        var branches: [(JExpr?, [JNode])] = []
        var cond: JExpr? = try parseExpr()
        try expect(.stmtEnd, "'%}'")
        while true {
            let body = try parseBody(until: ["elif", "else", "endif"])
            branches.append((cond, body))
            let kw = try nameToken()
            if kw == "endif" { try expect(.stmtEnd, "'%}'"); break }
            if kw == "elif" { cond = try parseExpr(); try expect(.stmtEnd, "'%}'"); continue }
            try expect(.stmtEnd, "'%}'")
            let body2 = try parseBody(until: ["endif"])
            branches.append((nil, body2))
            try endTag("endif")
            break
        }
        return .ifs(branches)
    }

    mutating func parseFor() throws(LatheError) -> JNode {
        var vars = [try nameToken()]
        while isOp(",") { pos += 1; vars.append(try nameToken()) }
        guard isName("in") else { throw LatheError("chat template: expected 'in' in a for loop\(describeHere)") }
        pos += 1
        let iter = try parseOr(noCond: true)
        var filter: JExpr? = nil
        if isName("if") { pos += 1; filter = try parseOr(noCond: true) }
        if isName("recursive") { throw LatheError("chat template: recursive loops are not supported") }
        try expect(.stmtEnd, "'%}'")
        let body = try parseBody(until: ["else", "endfor"])
        var orElse: [JNode] = []
        if isName("else") {
            pos += 1
            try expect(.stmtEnd, "'%}'")
            orElse = try parseBody(until: ["endfor"])
        }
        try endTag("endfor")
        return .forLoop(vars: vars, iter: iter, filter: filter, body: body, orElse: orElse)
    }

    // expressions, lowest precedence first
    mutating func parseExpr() throws(LatheError) -> JExpr {
        let e = try parseOr(noCond: false)
        return e
    }

    mutating func parseOr(noCond: Bool) throws(LatheError) -> JExpr {
        var e = try parseAnd()
        while isName("or") { pos += 1; e = .binary("or", e, try parseAnd()) }
        if !noCond && isName("if") {
            pos += 1
            let c = try parseOr(noCond: true)
            var other: JExpr? = nil
            if isName("else") { pos += 1; other = try parseOr(noCond: false) }
            return .cond(c, e, other)
        }
        return e
    }

    mutating func parseAnd() throws(LatheError) -> JExpr {
        var e = try parseNot()
        while isName("and") { pos += 1; e = .binary("and", e, try parseNot()) }
        return e
    }

    mutating func parseNot() throws(LatheError) -> JExpr {
        if isName("not") { pos += 1; return .unary("not", try parseNot()) }
        return try parseCompare()
    }

    mutating func parseCompare() throws(LatheError) -> JExpr {
        var e = try parseConcat()
        while true {
            if let t = peek, case .op(let o) = t, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                pos += 1
                e = .binary(o, e, try parseConcat())
            } else if isName("in") {
                pos += 1
                e = .binary("in", e, try parseConcat())
            } else if isName("not") && isName("in", at: pos + 1) {
                pos += 2
                e = .unary("not", .binary("in", e, try parseConcat()))
            } else if isName("is") {
                pos += 1
                var negate = false
                if isName("not") { negate = true; pos += 1 }
                let test = try nameToken()
                var args: [JExpr] = []
                if isOp("(") {
                    pos += 1
                    while !isOp(")") { args.append(try parseExpr()); if isOp(",") { pos += 1 } }
                    pos += 1
                } else if peek != nil, test == "sameas" || test == "equalto" || test == "eq" {
                    args.append(try parseConcat())
                }
                e = .test(e, test, args, negate)
            } else {
                return e
            }
        }
    }

    mutating func parseConcat() throws(LatheError) -> JExpr {
        var e = try parseAdd()
        while isOp("~") { pos += 1; e = .binary("~", e, try parseAdd()) }
        return e
    }

    mutating func parseAdd() throws(LatheError) -> JExpr {
        var e = try parseMul()
        while let t = peek, case .op(let o) = t, o == "+" || o == "-" {
            pos += 1
            e = .binary(o, e, try parseMul())
        }
        return e
    }

    mutating func parseMul() throws(LatheError) -> JExpr {
        var e = try parsePow()
        while let t = peek, case .op(let o) = t, ["*", "/", "//", "%"].contains(o) {
            pos += 1
            e = .binary(o, e, try parsePow())
        }
        return e
    }

    mutating func parsePow() throws(LatheError) -> JExpr {
        var e = try parseUnary()
        while isOp("**") { pos += 1; e = .binary("**", e, try parseUnary()) }
        return e
    }

    mutating func enter() throws(LatheError) {
        depth += 1
        if depth > JParser.maxDepth {
            throw LatheError("chat template: nested more than \(JParser.maxDepth) levels deep")
        }
    }

    mutating func parseUnary() throws(LatheError) -> JExpr {
        try enter()
        defer { depth -= 1 }
        if isOp("-") { pos += 1; return try parseFilters(.unary("-", try parseUnary())) }
        if isOp("+") { pos += 1; return try parseUnary() }
        return try parseFilters(try parsePostfix(try parsePrimary()))
    }

    mutating func parseFilters(_ base: JExpr) throws(LatheError) -> JExpr {
        var e = base
        while isOp("|") {
            pos += 1
            var name = try nameToken()
            while isOp(".") { pos += 1; name += "." + (try nameToken()) }
            var (args, kw): ([JExpr], [(String, JExpr)]) = ([], [])
            if isOp("(") { (args, kw) = try parseArgs() }
            e = .filter(e, name, args, kw)
            e = try parsePostfix(e)
        }
        return e
    }

    mutating func parseArgs() throws(LatheError) -> ([JExpr], [(String, JExpr)]) {
        try expectOp("(")
        var args: [JExpr] = [], kw: [(String, JExpr)] = []
        while !isOp(")") {
            if let t = peek, case .name(let n) = t, pos + 1 < tokens.count, tokens[pos + 1] == .op("=") {
                pos += 2
                kw.append((n, try parseExpr()))
            } else {
                args.append(try parseExpr())
            }
            if isOp(",") { pos += 1 } else if !isOp(")") { throw LatheError("chat template: expected ',' or ')' in arguments\(describeHere)") }
        }
        pos += 1
        return (args, kw)
    }

    mutating func parsePostfix(_ base: JExpr) throws(LatheError) -> JExpr {
        var e = base
        while true {
            if isOp(".") {
                pos += 1
                if let t = peek, case .int(let i) = t { pos += 1; e = .item(e, .lit(.int(i))); continue }
                e = .attr(e, try nameToken())
            } else if isOp("[") {
                pos += 1
                var parts: [JExpr?] = [nil]
                var colons = 0
                while !isOp("]") {
                    if isOp(":") { pos += 1; colons += 1; parts.append(nil); continue }
                    parts[parts.count - 1] = try parseExpr()
                }
                pos += 1
                if colons == 0 {
                    guard let idx = parts[0] else { throw LatheError("chat template: empty subscript") }
                    e = .item(e, idx)
                } else {
                    e = .slice(e, parts[0], parts.count > 1 ? parts[1] : nil, parts.count > 2 ? parts[2] : nil)
                }
            } else if isOp("(") {
                let (a, k) = try parseArgs()
                e = .call(e, a, k)
            } else {
                return e
            }
        }
    }

    mutating func parsePrimary() throws(LatheError) -> JExpr {
        guard let t = next() else { throw LatheError("chat template: unexpected end of an expression") }
        switch t {
        case .str(var s):
            while let n = peek, case .str(let more) = n { s += more; pos += 1 }  // adjacent literals concatenate
            return .lit(.string(s))
        case .int(let i): return .lit(.int(i))
        case .float(let d): return .lit(.double(d))
        case .name(let n):
            switch n {
            case "true", "True": return .lit(.bool(true))
            case "false", "False": return .lit(.bool(false))
            case "none", "None": return .lit(.none)
            default: return .name(n)
            }
        case .op("("):
            let e = try parseExpr()
            if isOp(",") {  // a tuple: treat as a list
                var items = [e]
                while isOp(",") { pos += 1; if isOp(")") { break }; items.append(try parseExpr()) }
                try expectOp(")")
                return .list(items)
            }
            try expectOp(")")
            return e
        case .op("["):
            var items: [JExpr] = []
            while !isOp("]") {
                items.append(try parseExpr())
                if isOp(",") { pos += 1 } else if !isOp("]") { throw LatheError("chat template: expected ',' or ']'\(describeHere)") }
            }
            pos += 1
            return .list(items)
        case .op("{"):
            var items: [(JExpr, JExpr)] = []
            while !isOp("}") {
                let k = try parseExpr()
                try expectOp(":")
                items.append((k, try parseExpr()))
                if isOp(",") { pos += 1 } else if !isOp("}") { throw LatheError("chat template: expected ',' or '}'\(describeHere)") }
            }
            pos += 1
            return .dict(items)
        default:
            pos -= 1
            throw LatheError("chat template: unexpected token\(describeHere)")
        }
    }
}

// MARK: - evaluation

enum JFlow { case normal, breakLoop, continueLoop }

struct JContext {
    /// The longest string (and rendered prompt) a template may make: enough for any real
    /// prompt, small enough that a template doubling a string cannot exhaust memory.
    static let maxStringBytes = 16 << 20

    static func tooLong(_ bytes: Double) -> LatheError {
        LatheError("chat template: a string of \(Tensor.humanBytes(bytes)) is longer than templates may make (\(Tensor.humanBytes(Double(maxStringBytes))))")
    }

    static func join(_ parts: [String], _ sep: String) throws(LatheError) -> String {
        let n = parts.reduce(0) { $0 + $1.utf8.count } + max(0, parts.count - 1) * sep.utf8.count
        if n > maxStringBytes { throw tooLong(Double(n)) }
        return parts.joined(separator: sep)
    }

    static func replace(_ s: String, _ old: String, _ new: String) throws(LatheError) -> String {
        if new.utf8.count > old.utf8.count {
            let hits = Double(s.components(separatedBy: old).count - 1)
            let n = Double(s.utf8.count) + hits * Double(new.utf8.count - old.utf8.count)
            if n > Double(maxStringBytes) { throw tooLong(n) }
        }
        return s.replacingOccurrences(of: old, with: new)
    }

    static func joined(_ a: String, _ b: String) throws(LatheError) -> String {
        let n = a.utf8.count + b.utf8.count
        if n > maxStringBytes { throw tooLong(Double(n)) }
        return a + b
    }

    var scopes: [[String: JValue]] = [[:]]
    var steps = 0
    var maxSteps = 1_000_000

    func lookup(_ n: String) -> JValue {
        for s in scopes.reversed() { if let v = s[n] { return v } }
        switch n {
        case "raise_exception", "namespace", "range", "strftime_now", "dict", "len": return .function(n)
        default: return .undefined
        }
    }

    mutating func run(_ nodes: [JNode], _ out: inout String) throws(LatheError) -> JFlow {
        for n in nodes {
            if out.utf8.count > JContext.maxStringBytes { throw JContext.tooLong(Double(out.utf8.count)) }
            steps += 1
            if steps > maxSteps { throw LatheError("chat template: too many steps (an endless loop?)") }
            switch n {
            case .text(let s): out += s
            case .output(let e): out += try eval(e).text
            case .ifs(let branches):
                for (c, body) in branches {
                    if try c.map({ (x) throws(LatheError) in try eval(x).truthy }) ?? true {
                        let f = try run(body, &out)
                        if f != .normal { return f }
                        break
                    }
                }
            case .set(let target, let value):
                let v = try eval(value)
                switch target {
                case .name(let n): scopes[scopes.count - 1][n] = v
                case .attr(let obj, let a):
                    guard case .namespace(let ns) = try eval(obj) else {
                        throw LatheError("chat template: only namespace attributes can be set ({% set ns.\(a) = ... %})")
                    }
                    ns[a] = v
                case .list(let names):
                    guard case .list(let vals) = v, vals.count == names.count else {
                        throw LatheError("chat template: cannot unpack \(v.typeName) into \(names.count) names")
                    }
                    for (ne, x) in zip(names, vals) {
                        guard case .name(let n) = ne else { throw LatheError("chat template: bad assignment target") }
                        scopes[scopes.count - 1][n] = x
                    }
                default: throw LatheError("chat template: bad assignment target")
                }
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            case .forLoop(let vars, let iterE, let filter, let body, let orElse):
                var items = try iterate(try eval(iterE))
                if let filter {
                    var kept: [JValue] = []
                    for it in items {
                        scopes.append(bind(vars, it))
                        let keep = try eval(filter).truthy
                        scopes.removeLast()
                        if keep { kept.append(it) }
                    }
                    items = kept
                }
                if items.isEmpty {
                    let f = try run(orElse, &out)
                    if f != .normal { return f }
                    continue
                }
                for (i, it) in items.enumerated() {
                    steps += 1
                    if steps > maxSteps { throw LatheError("chat template: too many steps (an endless loop?)") }
                    var scope = bind(vars, it)
                    let n = items.count
                    scope["loop"] = .dict([
                        ("index", .int(i + 1)), ("index0", .int(i)), ("first", .bool(i == 0)), ("last", .bool(i == n - 1)),
                        ("length", .int(n)), ("revindex", .int(n - i)), ("revindex0", .int(n - i - 1)),
                        ("previtem", i > 0 ? items[i - 1] : .undefined), ("nextitem", i + 1 < n ? items[i + 1] : .undefined),
                    ])
                    scopes.append(scope)
                    let f = try run(body, &out)
                    scopes.removeLast()
                    if f == .breakLoop { break }
                }
            }
        }
        return .normal
    }

    func bind(_ vars: [String], _ it: JValue) -> [String: JValue] {
        if vars.count == 1 { return [vars[0]: it] }
        var s: [String: JValue] = [:]
        if case .list(let parts) = it {
            for (k, v) in vars.enumerated() { s[v] = k < parts.count ? parts[k] : .undefined }
        }
        return s
    }

    func iterate(_ v: JValue) throws(LatheError) -> [JValue] {
        switch v {
        case .list(let l): return l
        case .dict(let d): return d.map { .string($0.0) }
        case .string(let s): return s.map { .string(String($0)) }
        case .undefined: return []
        default: throw LatheError("chat template: cannot loop over a \(v.typeName)")
        }
    }

    mutating func eval(_ e: JExpr) throws(LatheError) -> JValue {
        switch e {
        case .lit(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items):
            var out: [JValue] = []
            for i in items { out.append(try eval(i)) }
            return .list(out)
        case .dict(let items):
            var out: [(String, JValue)] = []
            for (k, v) in items {
                let kv = try eval(k)
                guard case .string(let ks) = kv else { throw LatheError("chat template: dict keys must be strings") }
                let vv = try eval(v)
                if let i = out.firstIndex(where: { $0.0 == ks }) { out[i].1 = vv } else { out.append((ks, vv)) }
            }
            return .dict(out)
        case .attr(let o, let a):
            let v = try eval(o)
            return attribute(v, a)
        case .item(let o, let i):
            return try item(try eval(o), try eval(i))
        case .slice(let o, let a, let b, let c):
            let v = try eval(o)
            let lo = try a.map { (x) throws(LatheError) in try eval(x) }, hi = try b.map { (x) throws(LatheError) in try eval(x) }
            let st = try c.map { (x) throws(LatheError) in try eval(x) }
            return try slice(v, lo, hi, st)
        case .call(let f, let args, let kw):
            var av: [JValue] = []
            for a in args { av.append(try eval(a)) }
            var kv: [(String, JValue)] = []
            for (k, x) in kw { kv.append((k, try eval(x))) }
            if case .attr(let objE, let method) = f {
                let obj = try eval(objE)
                if case .function = attribute(obj, method) {} else if !(attribute(obj, method) == .undefined) {
                    throw LatheError("chat template: '\(method)' is not callable")
                }
                return try callMethod(obj, method, av, kv)
            }
            guard case .function(let name) = try eval(f) else { throw LatheError("chat template: calling something that is not a function") }
            return try callFunction(name, av, kv)
        case .filter(let x, let name, let args, let kw):
            let v = try eval(x)
            var av: [JValue] = []
            for a in args { av.append(try eval(a)) }
            var kv: [(String, JValue)] = []
            for (k, y) in kw { kv.append((k, try eval(y))) }
            return try applyFilter(name, v, av, kv)
        case .test(let x, let name, let args, let negate):
            let v = try eval(x)
            var av: [JValue] = []
            for a in args { av.append(try eval(a)) }
            let r = try test(name, v, av)
            return .bool(negate ? !r : r)
        case .unary(let op, let x):
            let v = try eval(x)
            if op == "not" { return .bool(!v.truthy) }
            switch v {
            case .int(let i): return .int(-i)
            case .double(let d): return .double(-d)
            default: throw LatheError("chat template: cannot negate a \(v.typeName)")
            }
        case .cond(let c, let a, let b):
            if try eval(c).truthy { return try eval(a) }
            return try b.map { (x) throws(LatheError) in try eval(x) } ?? .undefined
        case .binary(let op, let l, let r):
            if op == "and" { let a = try eval(l); return a.truthy ? try eval(r) : a }
            if op == "or" { let a = try eval(l); return a.truthy ? a : try eval(r) }
            return try binary(op, try eval(l), try eval(r))
        }
    }

    func attribute(_ v: JValue, _ a: String) -> JValue {
        switch v {
        case .dict(let d):
            if let x = d.first(where: { $0.0 == a })?.1 { return x }
            return ["items", "keys", "values", "get"].contains(a) ? .function(a) : .undefined
        case .namespace(let ns): return ns[a] ?? .undefined
        case .string:
            return ["strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "startswith", "endswith", "split",
                    "replace", "find", "count", "format", "join", "splitlines"].contains(a) ? .function(a) : .undefined
        case .list: return ["append", "index", "count"].contains(a) ? .function(a) : .undefined
        default: return .undefined
        }
    }

    func item(_ v: JValue, _ i: JValue) throws(LatheError) -> JValue {
        switch (v, i) {
        case (.list(let l), .int(let k)):
            let j = k < 0 ? l.count + k : k
            return j >= 0 && j < l.count ? l[j] : .undefined
        case (.string(let s), .int(let k)):
            let chars = Array(s)
            let j = k < 0 ? chars.count + k : k
            return j >= 0 && j < chars.count ? .string(String(chars[j])) : .undefined
        case (.dict, .string(let k)): return attribute(v, k) == .function(k) ? .undefined : attribute(v, k)
        case (.namespace(let ns), .string(let k)): return ns[k] ?? .undefined
        case (.undefined, _): throw LatheError("chat template: subscript of an undefined value")
        default: return .undefined
        }
    }

    func slice(_ v: JValue, _ a: JValue?, _ b: JValue?, _ c: JValue?) throws(LatheError) -> JValue {
        func pick<T>(_ xs: [T]) throws(LatheError) -> [T] {
            let n = xs.count
            let step: Int
            if let c, case .int(let s) = c { step = s } else { step = 1 }
            guard step != 0 else { throw LatheError("chat template: slice step cannot be zero") }
            func norm(_ x: JValue?, _ def: Int) -> Int {
                guard let x, case .int(var i) = x else { return def }
                if i < 0 { i += n }
                return step > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
            }
            var out: [T] = []
            if step > 0 {
                var i = norm(a, 0)
                let e = norm(b, n)
                while i < e { out.append(xs[i]); i += step }
            } else {
                var i = norm(a, n - 1)
                let e = norm(b, -1)
                while i > e { out.append(xs[i]); i += step }
            }
            return out
        }
        switch v {
        case .list(let l): return .list(try pick(l))
        case .string(let s): return .string(String(try pick(Array(s))))
        default: throw LatheError("chat template: cannot slice a \(v.typeName)")
        }
    }

    func binary(_ op: String, _ a: JValue, _ b: JValue) throws(LatheError) -> JValue {
        switch op {
        case "==": return .bool(a == b)
        case "!=": return .bool(a != b)
        case "~": return .string(try JContext.joined(a.text, b.text))
        case "in":
            switch b {
            case .string(let s): return .bool(s.contains(a.text) || a.text.isEmpty)
            case .list(let l): return .bool(l.contains(a))
            case .dict(let d): if case .string(let k) = a { return .bool(d.contains { $0.0 == k }) }; return .bool(false)
            case .undefined: throw LatheError("chat template: 'in' on an undefined value")
            default: return .bool(false)
            }
        case "<", ">", "<=", ">=":
            if let x = a.number, let y = b.number {
                switch op { case "<": return .bool(x < y); case ">": return .bool(x > y); case "<=": return .bool(x <= y); default: return .bool(x >= y) }
            }
            if case .string(let x) = a, case .string(let y) = b {
                switch op { case "<": return .bool(x < y); case ">": return .bool(x > y); case "<=": return .bool(x <= y); default: return .bool(x >= y) }
            }
            throw LatheError("chat template: cannot compare \(a.typeName) and \(b.typeName)")
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(try JContext.joined(x, y))
            case (.list(let x), .list(let y)): return .list(x + y)
            case (.int(let x), .int(let y)): return .int(x &+ y)
            default:
                if let x = a.number, let y = b.number { return .double(x + y) }
                throw LatheError("chat template: cannot add \(a.typeName) and \(b.typeName)")
            }
        case "-", "*", "/", "//", "%", "**":
            if op == "*", case .string(let s) = a, case .int(let n) = b {
                let count = max(0, n)
                if count > 0 && s.utf8.count > JContext.maxStringBytes / count { throw JContext.tooLong(Double(s.utf8.count) * Double(count)) }
                return .string(String(repeating: s, count: count))
            }
            if op == "%", case .string(let s) = a { return .string(try pyFormat(s, b)) }
            if case .int(let x) = a, case .int(let y) = b {
                switch op {
                case "-": return .int(x &- y)
                case "*": return .int(x &* y)
                // floor division and modulo in integers (through a Double, 2^63 - 1 // 1 trapped;
                // Int.min // -1 wraps as the other operators here do)
                case "//":
                    guard y != 0 else { throw LatheError("chat template: division by zero") }
                    let q = x.dividedReportingOverflow(by: y).partialValue, r = x.remainderReportingOverflow(dividingBy: y).partialValue
                    return .int(r != 0 && (r < 0) != (y < 0) ? q &- 1 : q)
                case "%":
                    guard y != 0 else { throw LatheError("chat template: division by zero") }
                    let r = x.remainderReportingOverflow(dividingBy: y).partialValue
                    return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
                case "**": return .double(Foundation.pow(Double(x), Double(y)))
                default: break
                }
            }
            guard let x = a.number, let y = b.number else { throw LatheError("chat template: '\(op)' needs numbers (got \(a.typeName) and \(b.typeName))") }
            switch op {
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": guard y != 0 else { throw LatheError("chat template: division by zero") }; return .double(x / y)
            case "//": guard y != 0 else { throw LatheError("chat template: division by zero") }; return .double((x / y).rounded(.down))
            case "%": guard y != 0 else { throw LatheError("chat template: division by zero") }; return .double(x - y * (x / y).rounded(.down))
            default: return .double(Foundation.pow(x, y))
            }
        default: throw LatheError("chat template: unknown operator '\(op)'")
        }
    }

    func pyFormat(_ s: String, _ arg: JValue) throws(LatheError) -> String {
        var args: [JValue]
        if case .list(let l) = arg { args = l } else { args = [arg] }
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            if c != "%" { out.append(c); continue }
            guard let f = it.next() else { break }
            if f == "%" { out.append("%"); continue }
            guard !args.isEmpty else { throw LatheError("chat template: not enough arguments for format string") }
            let v = args.removeFirst()
            out += f == "r" ? v.repr : v.text
        }
        return out
    }

    func test(_ name: String, _ v: JValue, _ args: [JValue]) throws(LatheError) -> Bool {
        switch name {
        case "defined": return v != .undefined
        case "undefined": return v == .undefined
        case "none": return v == .none
        case "string": if case .string = v { return true }; return false
        case "number": return v.number != nil && { if case .bool = v { return false }; return true }()
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "sequence", "iterable":
            switch v { case .list, .string, .dict: return true; default: return false }
        case "true": return v == .bool(true)
        case "false": return v == .bool(false)
        case "even": if case .int(let i) = v { return i % 2 == 0 }; return false
        case "odd": if case .int(let i) = v { return i % 2 != 0 }; return false
        case "eq", "equalto", "sameas", "==": return args.first.map { $0 == v } ?? false
        case "callable": if case .function = v { return true }; return false
        default: throw LatheError("chat template: the test 'is \(name)' is not supported by Lathe's template engine")
        }
    }

    func callFunction(_ name: String, _ args: [JValue], _ kw: [(String, JValue)]) throws(LatheError) -> JValue {
        switch name {
        case "raise_exception":
            throw LatheError(args.first?.text ?? "raise_exception")
        case "namespace", "dict":
            var f: [(String, JValue)] = []
            if case .dict(let d)? = args.first { f = d }
            for (k, v) in kw { if let i = f.firstIndex(where: { $0.0 == k }) { f[i].1 = v } else { f.append((k, v)) } }
            return name == "dict" ? .dict(f) : .namespace(JNamespace(f))
        case "range":
            let ints = args.compactMap { v -> Int? in if case .int(let i) = v { return i }; return nil }
            guard ints.count == args.count, (1...3).contains(ints.count) else { throw LatheError("chat template: range() takes 1 to 3 integers") }
            let (lo, hi, st) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
            guard st != 0 else { throw LatheError("chat template: range() step cannot be zero") }
            let n = st > 0 ? max(0, (hi - lo + st - 1) / st) : max(0, (lo - hi - st - 1) / -st)
            guard n <= 1_000_000 else { throw LatheError("chat template: range() of \(n) items is too long (at most 1,000,000)") }
            return .list((0..<n).map { .int(lo + $0 * st) })
        case "strftime_now":
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            var fmt = args.first?.text ?? "%Y-%m-%d"
            for (p, r) in [("%d", "dd"), ("%B", "MMMM"), ("%b", "MMM"), ("%Y", "yyyy"), ("%m", "MM"), ("%H", "HH"), ("%M", "mm"), ("%S", "ss"), ("%A", "EEEE")] {
                fmt = fmt.replacingOccurrences(of: p, with: r)
            }
            f.dateFormat = fmt
            return .string(f.string(from: Date()))
        case "len":
            return try applyFilter("length", args.first ?? .undefined, [], [])
        default:
            throw LatheError("chat template: unknown function '\(name)'")
        }
    }

    func callMethod(_ obj: JValue, _ m: String, _ args: [JValue], _ kw: [(String, JValue)]) throws(LatheError) -> JValue {
        switch obj {
        case .string(let s):
            let chars: String? = args.first.flatMap { if case .string(let c) = $0 { return c }; return nil }
            func strip(_ s: Substring, left: Bool, right: Bool) -> String {
                let set = chars.map { Set($0) }
                func drop(_ c: Character) -> Bool { set.map { $0.contains(c) } ?? c.isWhitespace }
                var sub = s
                if left { while let f = sub.first, drop(f) { sub = sub.dropFirst() } }
                if right { while let l = sub.last, drop(l) { sub = sub.dropLast() } }
                return String(sub)
            }
            switch m {
            case "strip": return .string(strip(Substring(s), left: true, right: true))
            case "lstrip": return .string(strip(Substring(s), left: true, right: false))
            case "rstrip": return .string(strip(Substring(s), left: false, right: true))
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(s.capitalized)
            case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            case "startswith":
                if case .list(let l)? = args.first { return .bool(l.contains { s.hasPrefix($0.text) }) }
                return .bool(s.hasPrefix(args.first?.text ?? ""))
            case "endswith":
                if case .list(let l)? = args.first { return .bool(l.contains { s.hasSuffix($0.text) }) }
                return .bool(s.hasSuffix(args.first?.text ?? ""))
            case "split":
                if let sep = chars, !sep.isEmpty { return .list(s.components(separatedBy: sep).map { .string($0) }) }
                return .list(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
            case "splitlines": return .list(s.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).map { .string(String($0)) })
            case "replace":
                guard args.count >= 2 else { throw LatheError("chat template: replace() needs two arguments") }
                return .string(try JContext.replace(s, args[0].text, args[1].text))
            case "find":
                guard let r = s.range(of: args.first?.text ?? "") else { return .int(-1) }
                return .int(s.distance(from: s.startIndex, to: r.lowerBound))
            case "count": return .int(max(0, s.components(separatedBy: args.first?.text ?? "").count - 1))
            case "join":
                guard case .list(let l)? = args.first else { throw LatheError("chat template: join() needs a list") }
                return .string(try JContext.join(l.map { $0.text }, s))
            case "format":
                var out = s
                for a in args { if let r = out.range(of: "{}") { out.replaceSubrange(r, with: a.text) } }
                for (k, v) in kw { out = out.replacingOccurrences(of: "{\(k)}", with: v.text) }
                return .string(out)
            default: break
            }
        case .dict(let d):
            switch m {
            case "items": return .list(d.map { .list([.string($0.0), $0.1]) })
            case "keys": return .list(d.map { .string($0.0) })
            case "values": return .list(d.map { $0.1 })
            case "get":
                let k = args.first?.text ?? ""
                return d.first { $0.0 == k }?.1 ?? (args.count > 1 ? args[1] : .none)
            default: break
            }
        default: break
        }
        throw LatheError("chat template: \(obj.typeName) has no method '\(m)' in Lathe's template engine")
    }

    func applyFilter(_ name: String, _ v: JValue, _ args: [JValue], _ kw: [(String, JValue)]) throws(LatheError) -> JValue {
        switch name {
        case "trim":
            return .string(v.text.trimmingCharacters(in: .whitespacesAndNewlines))
        case "upper": return .string(v.text.uppercased())
        case "lower": return .string(v.text.lowercased())
        case "title": return .string(v.text.capitalized)
        case "capitalize": return .string(v.text.prefix(1).uppercased() + v.text.dropFirst().lowercased())
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.count)
            case .list(let l): return .int(l.count)
            case .dict(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw LatheError("chat template: \(v.typeName) has no length")
            }
        case "string": return .string(v.text)
        case "int":
            // Jinja's int gives its default (0) where Python's int() fails (NaN, inf); past
            // 2^63, where Python would still answer, this does too
            if let d = v.number { return .int(d.truncatedInt ?? 0) }
            return .int(Int(v.text.trimmingCharacters(in: .whitespaces)) ?? 0)
        case "float": return .double(v.number ?? Double(v.text) ?? 0)
        case "first": if case .list(let l) = v { return l.first ?? .undefined }; if case .string(let s) = v { return s.first.map { .string(String($0)) } ?? .undefined }; return .undefined
        case "last": if case .list(let l) = v { return l.last ?? .undefined }; if case .string(let s) = v { return s.last.map { .string(String($0)) } ?? .undefined }; return .undefined
        case "list": return .list(try iterate(v))
        case "reverse":
            if case .list(let l) = v { return .list(l.reversed()) }
            return .string(String(v.text.reversed()))
        case "join":
            let sep = args.first?.text ?? ""
            return .string(try JContext.join(try iterate(v).map { $0.text }, sep))
        case "replace":
            guard args.count >= 2 else { throw LatheError("chat template: replace needs two arguments") }
            return .string(try JContext.replace(v.text, args[0].text, args[1].text))
        case "default", "d":
            let useForFalse = args.count > 1 ? args[1].truthy : (kw.first { $0.0 == "boolean" }?.1.truthy ?? false)
            if v == .undefined || (useForFalse && !v.truthy) { return args.first ?? .string("") }
            return v
        case "tojson":
            var indent: Int? = nil
            if case .int(let i)? = args.first { indent = i }
            if let (_, x) = kw.first(where: { $0.0 == "indent" }), case .int(let i) = x { indent = i }
            return .string(try v.json(indent: indent))
        case "safe", "e", "escape", "forceescape": return v
        case "items": if case .dict(let d) = v { return .list(d.map { .list([.string($0.0), $0.1]) }) }; return .list([])
        case "abs": if case .int(let i) = v { return .int(abs(i)) }; return .double(abs(v.number ?? 0))
        case "unique":
            var out: [JValue] = []
            for x in try iterate(v) where !out.contains(x) { out.append(x) }
            return .list(out)
        case "selectattr", "rejectattr":
            guard let a = args.first?.text else { throw LatheError("chat template: \(name) needs an attribute name") }
            let items = try iterate(v)
            var out: [JValue] = []
            for it in items {
                let x = attribute(it, a)
                var ok: Bool
                if args.count >= 2 {
                    ok = try test(args[1].text, x, Array(args.dropFirst(2)))
                } else {
                    ok = x.truthy
                }
                if name == "rejectattr" { ok = !ok }
                if ok { out.append(it) }
            }
            return .list(out)
        case "map":
            if let (_, a) = kw.first(where: { $0.0 == "attribute" }) { return .list(try iterate(v).map { attribute($0, a.text) }) }
            guard let f = args.first?.text else { throw LatheError("chat template: map needs a filter name or attribute=") }
            var out: [JValue] = []
            for x in try iterate(v) { out.append(try applyFilter(f, x, Array(args.dropFirst()), [])) }
            return .list(out)
        case "indent":
            let width: Int
            if case .int(let w)? = args.first { width = w } else { width = 4 }
            let pad = String(repeating: " ", count: width)
            let lines = v.text.components(separatedBy: "\n")
            return .string(lines.enumerated().map { $0.offset == 0 || $0.element.isEmpty ? $0.element : pad + $0.element }.joined(separator: "\n"))
        default:
            throw LatheError("chat template: the filter '\(name)' is not supported by Lathe's template engine")
        }
    }
}
