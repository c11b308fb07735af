import LatheCore

/// What an argument or an option accepts. Each kind has one reader, so every function that
/// takes a kind accepts the same things and says the same thing when it gets something else.
public indirect enum LuaKind: @unchecked Sendable {
    case any
    case boolean
    case string
    case table
    case function
    /// An integer (a float with an integral value is accepted, as Lua does), optionally bounded.
    case integer(ClosedRange<Int>? = nil)
    /// A number, optionally bounded; `above` excludes the lower bound (> instead of >=).
    case number(min: Double? = nil, max: Double? = nil, above: Bool = false)
    /// Any number, NaN and infinities included: a data value (a fill value, a clamp limit), not a setting.
    case value
    /// One of the given strings.
    case choice([String])
    /// A string or an array of strings.
    case strings
    /// An array of numbers.
    case numbers
    /// A Lathe object of a class, by its Lua name (Tensor, Module, DataTable, ...).
    case object(String)
    /// Any of the kinds.
    case either([LuaKind])
    /// A table of named options, themselves declared (checked as a function's options are).
    case options([LuaOpt])
    /// A kind with a reader of its own (labels, texts, a column: Binding/Readers.swift), named
    /// as help and errors say it; values of the inner kind reach the reader, which decodes
    /// them and names what is wrong inside.
    case described(String, LuaKind)

    /// The declared options of an option table (directly or as one of `either`'s kinds).
    var nestedOptions: [LuaOpt]? {
        switch self {
        case .options(let os): return os
        case .either(let ks): return ks.lazy.compactMap(\.nestedOptions).first
        default: return nil
        }
    }

    /// The kind as help and errors say it: "number > 0", "\"cosine\" or \"linear\"".
    public var text: String {
        switch self {
        case .any: return "any value"
        case .boolean: return "boolean"
        case .string: return "string"
        case .table: return "table"
        case .function: return "function"
        case .integer(let r):
            guard let r else { return "integer" }
            if r.upperBound == Int.max { return "integer >= \(r.lowerBound)" }
            return "integer in \(r.lowerBound)..\(r.upperBound)"
        case .number(let lo, let hi, let above):
            switch (lo, hi) {
            case (nil, nil): return "number"
            case (let l?, nil): return "number \(above ? ">" : ">=") \(fmtShort(l))"
            case (nil, let h?): return "number <= \(fmtShort(h))"
            case (let l?, let h?): return above ? "number in (\(fmtShort(l)), \(fmtShort(h))]" : "number in [\(fmtShort(l)), \(fmtShort(h))]"
            }
        case .value: return "number"
        case .choice(let cs): return cs.map { "\"\($0)\"" }.joined(separator: ", ").replacingLast(", ", with: " or ")
        case .strings: return "string or array of strings"
        case .numbers: return "array of numbers"
        case .object(let c): return c
        case .either(let ks): return ks.map(\.text).joined(separator: " or ")
        case .options(let os): return "{" + os.map { "\($0.name) = \($0.defaultValue.literal)" }.joined(separator: ", ") + "}"
        case .described(let text, _): return text
        }
    }
}

/// A default as help shows it and as the option reader returns it when the option is absent.
public enum LuaDefault: @unchecked Sendable {
    /// No default: an absent option reads as nil.
    case none
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case strings([String])
    /// Decided by the function (help shows the text; the reader returns nil).
    case computed(String)

    var text: String? {
        switch self {
        case .none: return nil
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .number(let d): return fmtShort(d)
        case .string(let s): return "\"\(s)\""
        case .strings(let ss): return "{" + ss.map { "\"\($0)\"" }.joined(separator: ", ") + "}"
        case .computed(let t): return t
        }
    }

    /// As the signature shows it: the value, or nil when the function decides.
    var literal: String {
        if case .computed = self { return "nil" }
        return text ?? "nil"
    }
}

/// A positional argument.
public struct LuaParam: @unchecked Sendable {
    public let name: String
    public let kind: LuaKind
    public let optional: Bool
    /// This and the arguments after it (`size...`: sizes d1, d2, ...); the function reads them.
    public let variadic: Bool
    public let doc: String
    /// The check every call makes, as plain values.
    let check: ArgCheck
    public init(_ name: String, _ kind: LuaKind, optional: Bool = false, variadic: Bool = false, _ doc: String = "") {
        self.name = name
        self.kind = kind
        self.optional = optional
        self.variadic = variadic
        self.doc = doc
        check = ArgCheck(kind, optional: optional)
    }

    /// As signatures and help show it.
    public var shown: String { variadic ? name + "..." : name }
}

/// A named option of the trailing options table.
public struct LuaOpt: @unchecked Sendable {
    public let name: String
    public let kind: LuaKind
    public let defaultValue: LuaDefault
    public let doc: String
    public init(_ name: String, _ kind: LuaKind, _ defaultValue: LuaDefault = .none, _ doc: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// One Lua function or method, declared once: from this come the argument and option checks
/// (unknown options with a "did you mean", wrong types, ranges and choices), the signature and
/// option list `help()` prints, and the reference section of docs/API.md. A class: every call
/// of the function reads it, and a reference is one retain where a struct copy is one per field.
public final class LuaFunc: @unchecked Sendable {
    /// The name inside its module or class ("fit", "reshape").
    public let name: String
    public let summary: String
    public let params: [LuaParam]
    public let options: [LuaOpt]
    /// The options table is the only argument: `train.fit{model = m, ...}`.
    public let tableCall: Bool
    public let returns: String
    public let details: String
    public let errors: String
    public let example: String
    public let body: LuaBody

    public init(_ name: String, _ summary: String, params: [LuaParam] = [], options: [LuaOpt] = [],
                tableCall: Bool = false, returns: String = "", details: String = "", errors: String = "",
                example: String, _ body: @escaping LuaBody) {
        self.name = name
        self.summary = summary
        self.params = params
        self.options = options
        self.tableCall = tableCall
        self.returns = returns
        self.details = details
        self.errors = errors
        self.example = example
        self.body = body
    }

    /// The stack index of the options table (after self for methods).
    func optionsIndex(isMethod: Bool) -> Int32 {
        Int32(tableCall ? 1 : params.count + 1) + (isMethod ? 1 : 0)
    }

    /// `train.fit{model =, train =, epochs = 1, ...}` or `lora.apply(model, {r = 8, ...})`.
    public func signature(_ full: String, isMethod: Bool) -> String {
        let opts = options.map { o in "\(o.name) = \(o.defaultValue.literal)" }.joined(separator: ", ")
        if tableCall { return full + "{" + opts + "}" + returnsSuffix }
        var parts = params.map { $0.optional ? "[\($0.shown)]" : $0.shown }
        if !options.isEmpty { parts.append("{" + opts + "}") }
        return full + "(" + parts.joined(separator: ", ") + ")" + returnsSuffix
    }

    /// `returns` up to its first ": " is the short form the signature shows ("{rss=, lua=}: byte counts").
    var returnsSuffix: String {
        guard let first = returns.split(separator: "\n").first, !first.isEmpty else { return "" }
        if let r = first.range(of: ": ") { return " -> " + first[..<r.lowerBound] }
        return first.count <= 60 ? " -> " + first : ""
    }

    /// The help entry: the signature, then one line per argument and option.
    public func doc(_ full: String, isMethod: Bool) -> Doc {
        var d = details
        let described = params.filter { !$0.doc.isEmpty }
        if !described.isEmpty {
            if !d.isEmpty { d += "\n\n" }
            d += "Arguments:\n" + described.map { "  \($0.shown) (\($0.kind.text)\($0.optional ? ", optional" : "")): \($0.doc)" }.joined(separator: "\n")
        }
        if !options.isEmpty {
            if !d.isEmpty { d += "\n\n" }
            d += "Options:\n" + options.map { o in
                "  \(o.name) (\(o.kind.text)\(o.defaultValue.text.map { ", default \($0)" } ?? "")): \(o.doc)"
            }.joined(separator: "\n")
        }
        return Doc(summary, signature: signature(full, isMethod: isMethod), details: d, returns: returns,
                   errors: errors, example: example, declared: true)
    }
}

/// Names other libraries give to Lathe's options: an unknown option that is one of these, where
/// the function has the Lathe name, says so.
public enum LuaOptionAliases {
    public static let known: [String: String] = [
        "learning_rate": "lr", "num_epochs": "epochs", "num_train_epochs": "epochs", "n_epochs": "epochs",
        "per_device_train_batch_size": "batch_size", "train_batch_size": "batch_size", "batchsize": "batch_size",
        "gradient_accumulation_steps": "grad_accum", "max_grad_norm": "clip", "warmup_steps": "warmup",
        "lr_scheduler_type": "schedule", "scheduler": "schedule", "random_state": "seed", "random_seed": "seed",
        "lora_r": "r", "rank": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "target_modules": "targets",
        "max_new_tokens": "max_tokens", "test_size": "test", "train_size": "train", "stratify_by": "stratify",
        "n_splits": "k", "num_labels": "classes", "n_classes": "classes", "eval_steps": "eval_every",
        "save_steps": "checkpoint_every", "output_dir": "checkpoint_dir", "save_total_limit": "keep_checkpoints",
        "early_stopping_patience": "early_stopping", "delimiter": "sep", "quotechar": "quote",
        "gradient_checkpointing": "checkpointing", "torch_dtype": "dtype", "optim": "optimizer", "num_gpus": "gpus",
        "attn_implementation": "attention", "bnb_4bit_use_double_quant": "double_quant", "max_seq_length": "seq",
        "special_tokens": "specials", "specials": "special_tokens", "min_frequency": "min_freq", "min_freq": "min_frequency",
        "padding_side": "direction", "truncation_side": "direction", "max_vocab_size": "max_size",
    ]
}

func fmtShort(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
    return "\(x)"
}

extension String {
    func replacingLast(_ s: String, with r: String) -> String {
        guard let range = range(of: s, options: .backwards) else { return self }
        return replacingCharacters(in: range, with: r)
    }
}
