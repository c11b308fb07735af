import CLua
import CLuaShim
import LatheCore

/// `tok:truncation` and `tok:padding`: getters without an argument, setters with one (a table
/// of options, a shorthand, or false), checked as the tokenizer.json reader checks the file.
extension TokenizerMethods {
    static let truncation = LuaFunc(
        "truncation", "Sets (or returns) the truncation tok:encode applies.",
        options: [
            LuaOpt("max_length", .integer(0...Int.max), .none, "the most tokens an encoding keeps, special tokens included (required)"),
            LuaOpt("strategy", .choice(TextTruncation.Strategy.allCases.map(\.name)), .string(TextTruncation.Strategy.longestFirst.name),
                   "which text of a pair loses tokens: longest_first (the longer one, token by token), only_first or only_second"),
            LuaOpt("direction", side, .string("right"), "\"left\" cuts tokens from the start (keeps the end)"),
            LuaOpt("stride", .integer(0...Int.max), .int(0), "overlap of overflowing pieces, below max_length (kept in the saved file)"),
        ],
        returns: "Truncation {max_length=, strategy=, direction=, stride=} or nil: the current setting, when called without an argument",
        details: "tok:truncation(n) is tok:truncation({max_length = n}); tok:truncation(false) turns truncation off.",
        errors: "a stride not below max_length; true as the argument.",
        example: ex + "tok:truncation(3)\nprint(tok:encode(\"the cat sat on the mat\"), tok:truncation())\ntok:truncation(false)"
    ) { c in
        let tok = try tok(c)
        switch c.type(2) {
        case LUA_TNONE, LUA_TNIL:
            guard let t = tok.truncation else { return try c.ret(.nil) }
            try c.pushRecord([("max_length", .int(t.maxLength)), ("strategy", .string(t.strategy.name)),
                              ("direction", .string(t.left ? "left" : "right")), ("stride", .int(t.stride))], name: "Truncation")
            return 1
        case LUA_TBOOLEAN:
            if lua_toboolean(c.L, 2) != 0 { throw c.argError(2, "setting", "expected a max_length, a table or false, got true") }
            tok.truncation = nil
        case LUA_TNUMBER:
            tok.truncation = try TextTruncation(maxLength: try c.checkInt(2, "max_length")).validated()
        default:
            let o = try c.opts()
            guard let n = try o.intIfGiven("max_length") else { throw LuaError("option 'max_length' is required (the most tokens an encoding keeps)") }
            tok.truncation = try TextTruncation(maxLength: n, strategy: TextTruncation.Strategy(name: try o.string("strategy"))!,
                                                stride: try o.int("stride"), left: try o.string("direction") == "left").validated()
        }
        return 0
    }

    static let padding = LuaFunc(
        "padding", "Sets (or returns) the padding tok:encode and tok:encode_batch apply.",
        options: [
            LuaOpt("length", .integer(0...TextTokenizer.maxLength), .computed("the longest of the batch"),
                   "pad every encoding to this length (without it a single encode is left as is)"),
            LuaOpt("direction", side, .string("right"), "\"left\" pads before the text"),
            LuaOpt("pad_id", .integer(0...Int.max), .computed("the tokenizer's [PAD]/<pad> token, else 0"), "the id of padding"),
            LuaOpt("pad_token", .string, .string(TextPadding().padToken), "the token string of padding"),
            LuaOpt("pad_type_id", .integer(0...Int.max), .int(TextPadding().padTypeId), "the type id of padding"),
            LuaOpt("pad_to_multiple_of", .integer(0...Int.max), .none, "round the padded length up to a multiple of this (0: no rounding)"),
        ],
        returns: "Padding {direction=, pad_id=, pad_token=, pad_type_id=, length=, pad_to_multiple_of=} or nil: the current setting, when called without an argument",
        details: "tok:padding(true) pads to the longest of a batch with the defaults; tok:padding(false) turns padding off.",
        example: ex + "tok:padding({length = 6})\nprint(tok:encode(\"the cat\"), tok:padding())\ntok:padding(false)"
    ) { c in
        let tok = try tok(c)
        switch c.type(2) {
        case LUA_TNONE, LUA_TNIL:
            guard let p = tok.padding else { return try c.ret(.nil) }
            try c.pushRecord([("direction", .string(p.left ? "left" : "right")), ("pad_id", .int(p.padId)), ("pad_token", .string(p.padToken)),
                              ("pad_type_id", .int(p.padTypeId)), ("length", p.length.map { .int($0) } ?? .nil),
                              ("pad_to_multiple_of", p.padToMultipleOf.map { .int($0) } ?? .nil)], name: "Padding")
            return 1
        case LUA_TBOOLEAN:
            tok.padding = lua_toboolean(c.L, 2) != 0 ? TextPadding(padId: tok.defaultPadId) : nil
        default:
            let o = try c.opts()
            tok.padding = try TextPadding(length: try o.intIfGiven("length"), left: try o.string("direction") == "left",
                                          padToMultipleOf: try o.intIfGiven("pad_to_multiple_of"), padId: try o.intIfGiven("pad_id") ?? tok.defaultPadId,
                                          padTypeId: try o.int("pad_type_id"), padToken: try o.string("pad_token")).validated()
        }
        return 0
    }
}
