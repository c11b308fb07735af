import Foundation

/// Prompt templates that turn rows into training examples for causal language models.
///
/// Every example is `text = prompt .. response`, and `response_start` is the 0-based byte
/// offset in `text` where the response begins (= the byte length of `prompt`). A tokenizer
/// turns that offset into a loss mask so training counts only the response tokens (the
/// `text` module's contract: tokens whose byte span starts at or after `response_start`
/// are response tokens).
public enum PromptTemplate {
    public static let alpacaWithInput = "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
    public static let alpacaNoInput = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"

    static let alpacaWithInputParsed = try! Parsed(alpacaWithInput)
    static let alpacaNoInputParsed = try! Parsed(alpacaNoInput)

    /// A parsed custom template: literal text and {field} placeholders ("{{" and "}}" are
    /// literal braces).
    public struct Parsed: Sendable {
        public enum Piece: Sendable, Equatable { case text(String), field(String) }
        public var pieces: [Piece]
        public var fields: [String] { pieces.compactMap { if case .field(let f) = $0 { return f }; return nil } }

        public init(_ template: String) throws(LatheError) {
            var pieces: [Piece] = []
            var lit = ""
            let u = Array(template)
            var i = 0
            while i < u.count {
                let c = u[i]
                if c == "{" {
                    if i + 1 < u.count && u[i + 1] == "{" { lit.append("{"); i += 2; continue }
                    guard let close = u[(i + 1)...].firstIndex(of: "}") else {
                        throw LatheError("template has a '{' without a closing '}' (write {{ for a literal brace)")
                    }
                    let name = String(u[(i + 1)..<close]).trimmingCharacters(in: .whitespaces)
                    if name.isEmpty { throw LatheError("template has an empty placeholder {}") }
                    if !lit.isEmpty { pieces.append(.text(lit)); lit = "" }
                    pieces.append(.field(name))
                    i = close + 1
                    continue
                }
                if c == "}" {
                    if i + 1 < u.count && u[i + 1] == "}" { lit.append("}"); i += 2; continue }
                    throw LatheError("template has a '}' without an opening '{' (write }} for a literal brace)")
                }
                lit.append(c)
                i += 1
            }
            if !lit.isEmpty { pieces.append(.text(lit)) }
            self.pieces = pieces
        }

        /// Fills the placeholders; returns the text and, if `marker` is a field, the byte
        /// offset where it starts.
        public func fill(_ values: [String: String], marker: String? = nil) -> (String, Int?) {
            var out = ""
            var at: Int? = nil
            for p in pieces {
                switch p {
                case .text(let s): out += s
                case .field(let f):
                    if f == marker && at == nil { at = out.utf8.count }
                    out += values[f] ?? ""
                }
            }
            return (out, at)
        }
    }

    public enum Kind: Sendable {
        case alpaca
        case chatml
        case custom(String)

        /// "alpaca" or "chatml" (any case), or a template with {field} placeholders.
        public init?(name: String) {
            switch name.lowercased() {
            case "alpaca": self = .alpaca
            case "chatml": self = .chatml
            default:
                guard name.contains("{") else { return nil }
                self = .custom(name)
            }
        }
    }

    public struct Options: Sendable {
        /// Columns: the instruction (user message), an optional input, the response.
        public var instruction: String? = nil
        public var input: String? = nil
        public var response: String? = nil
        /// ChatML system message (none when nil).
        public var system: String? = nil
        /// Appended to every response (e.g. an end-of-sequence token).
        public var eos = ""
        /// Other columns to carry over.
        public var keep: [String] = []
        /// Skip rows with a missing field instead of failing.
        public var skipMissing = false
        public init() {}
    }

    public struct Report: Sendable {
        public var rows = 0
        public var skipped = 0
    }

    static func pick(_ t: DataTable, _ given: String?, _ candidates: [String], role: String) throws(LatheError) -> String {
        if let g = given { _ = try t.column(g); return g }
        for c in candidates where t.names.contains(c) { return c }
        throw LatheError("no \(role) column: name it with the option \(role) = \"column\" (looked for \(candidates.joined(separator: ", ")); columns: \(t.names.joined(separator: ", ")))")
    }

    /// Rows -> (prompt, response, text, response_start) plus the `keep` columns.
    public static func apply(_ t: DataTable, _ kind: Kind, options o: Options = Options()) throws(LatheError) -> (DataTable, Report) {
        var prompts: [String] = [], responses: [String] = [], starts: [Int64] = []
        var kept: [Int] = []
        var report = Report()
        func cellText(_ col: Column, _ r: Int) -> String? {
            if col.missing[r] { return nil }
            return col[r].description
        }
        func missing(_ name: String, _ r: Int) throws(LatheError) -> Bool {
            if o.skipMissing { report.skipped += 1; return true }
            throw LatheError("row \(r + 1): column '\(name)' is missing (drop such rows first, e.g. data.drop_missing, or pass on_missing = \"skip\")")
        }
        for k in o.keep { _ = try t.column(k) }
        switch kind {
        case .alpaca, .chatml:
            let isAlpaca: Bool = { if case .alpaca = kind { return true }; return false }()
            let ins = try pick(t, o.instruction, ["instruction", "prompt", "question"], role: "instruction")
            let res = try pick(t, o.response, ["output", "response", "answer"], role: "response")
            var inp: String? = o.input
            if let i = inp { _ = try t.column(i) } else if t.names.contains("input") { inp = "input" }
            let insC = try t.column(ins), resC = try t.column(res)
            let inpC: Column? = try inp.map { (n: String) throws(LatheError) -> Column in try t.column(n) }
            let chatSystem = o.system.map { "<|im_start|>system\n\($0)<|im_end|>\n" } ?? ""
            for r in 0..<t.rowCount {
                guard let instruction = cellText(insC, r) else { if try missing(ins, r) { continue }; continue }
                guard let response = cellText(resC, r) else { if try missing(res, r) { continue }; continue }
                let input = inpC.flatMap { cellText($0, r) } ?? ""
                let prompt: String
                let resp: String
                if isAlpaca {
                    // filled piece by piece, so braces in the data stay as they are
                    prompt = input.isEmpty
                        ? alpacaNoInputParsed.fill(["instruction": instruction]).0
                        : alpacaWithInputParsed.fill(["instruction": instruction, "input": input]).0
                    resp = response + o.eos
                } else {
                    let user = input.isEmpty ? instruction : instruction + "\n\n" + input
                    prompt = chatSystem + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
                    resp = response + "<|im_end|>\n" + o.eos
                }
                prompts.append(prompt)
                responses.append(resp)
                starts.append(Int64(prompt.utf8.count))
                kept.append(r)
            }
        case .custom(let template):
            let parsed = try Parsed(template)
            let fields = parsed.fields
            if fields.isEmpty { throw LatheError("template has no {field} placeholders") }
            for f in fields { _ = try t.column(f) }
            let res: String? = o.response
            if let res { _ = try t.column(res) }
            let inTemplate = res.map { fields.contains($0) } ?? false
            let cols = fields.map { t.columns[t.index(of: $0)!] }
            let resC: Column? = try res.map { (n: String) throws(LatheError) -> Column in try t.column(n) }
            rowLoop: for r in 0..<t.rowCount {
                var values: [String: String] = [:]
                for (f, c) in zip(fields, cols) {
                    guard let v = cellText(c, r) else { if try missing(f, r) { continue rowLoop }; continue rowLoop }
                    values[f] = v
                }
                var response = ""
                if let res, let rc = resC {
                    guard let v = cellText(rc, r) else { if try missing(res, r) { continue rowLoop }; continue rowLoop }
                    response = v
                    values[res] = v
                }
                let (text, at) = parsed.fill(values, marker: inTemplate ? res : nil)
                let prompt: String, resp: String
                if let at {
                    let b = Array(text.utf8)
                    prompt = String(decoding: b[0..<at], as: UTF8.self)
                    resp = String(decoding: b[at...], as: UTF8.self) + o.eos
                } else if res != nil {
                    prompt = text
                    resp = response + o.eos
                } else {
                    prompt = ""
                    resp = text + o.eos
                }
                prompts.append(prompt)
                responses.append(resp)
                starts.append(Int64(prompt.utf8.count))
                kept.append(r)
            }
        }
        report.rows = kept.count
        var names = ["prompt", "response", "text", "response_start"]
        var cols: [Column] = [
            Column(.string(StringArray(prompts))),
            Column(.string(StringArray(responses))),
            Column(.string(StringArray(zip(prompts, responses).map { $0 + $1 }))),
            Column(.integer(starts)),
        ]
        for k in o.keep where !names.contains(k) {
            names.append(k)
            cols.append(try t.column(k).gather(kept))
        }
        return (try DataTable(names: names, columns: cols), report)
    }
}
