import CLua
import CLuaShim
import LatheCore

extension TextTokenizer: LuaObject {
    public static var luaTag: Int32 { LuaTag.tokenizer }
    public var luaByteSize: Int { vocabSize(withAddedTokens: true) * 96 }
}

/// The methods of Tokenizer objects (`tok:encode`, `tok:encode_batch`, ...).
enum TokenizerMethods {
    static func install(_ vm: LuaVM) {
        vm.defineClass(TextTokenizer.self, name: "Tokenizer", summary: "A tokenizer: text to token ids and back (Hugging Face tokenizer.json compatible).") { b in
            b.add([encode, encodeDetailed, tokenize, decode, decodeBatch, encodeBatch, maskPrompt, vocabSize, tokenToId, idToToken,
                   vocab, addedTokens, addTokens, normalize, preTokenize, truncation, padding, save, toJSON])
            b.meta("__tostring") { c in try c.ret(.string(try tok(c).summary)) }
            b.meta("__len") { c in try c.ret(.int(try tok(c).vocabSize(withAddedTokens: true))) }
        }
    }

    static let ex = "local tok = text.train_bpe({\"the cat sat on the mat\", \"the dog sat on the log\"}, {vocab_size = 270, special_tokens = {\"<|end|>\"}})\n"
    static let text = LuaParam("text", .string, "the text")
    static let ids = LuaParam("ids", .either([.object("Tensor"), .table]), "a Lua array of integers or a 1-D int64 tensor")
    static let addSpecial = LuaOpt("add_special_tokens", .boolean, .bool(true), "add the post-processor's special tokens ([CLS] ... [SEP] for BERT)")
    static let encodeOptions = [addSpecial, LuaOpt("pair", .string, .none, "a second text, encoded as a pair (BERT sentence pairs)")]
    static let skipSpecial = LuaOpt("skip_special_tokens", .boolean, .bool(true), "leave special tokens (padding, end of text) out")
    static let side = LuaKind.choice(["right", "left"])

    static func tok(_ c: LuaCall) throws -> TextTokenizer { try c.selfObject(TextTokenizer.self) }

    /// The encoding of the text at argument 2 with the encode options.
    static func encoding(_ c: LuaCall, withTokens: Bool) throws -> TextEncoding {
        let o = try c.opts()
        return try tok(c).encode(
            try c.checkString(2, "text"), pair: try o.stringIfGiven("pair"), addSpecialTokens: try o.bool("add_special_tokens"),
            withTokens: withTokens, withOffsets: withTokens)
    }

    static let encode = LuaFunc(
        "encode", "Encodes a text into token ids, exactly as the Python tokenizers library's encode(text).ids.",
        params: [text], options: encodeOptions,
        returns: "{id, ...}: a Lua array of integer ids",
        details: "The truncation and padding settings of the tokenizer apply (see tok:truncation, tok:padding).",
        example: ex + "print(tok:encode(\"the cat<|end|>\"))"
    ) { c in try c.ret(.ints(try encoding(c, withTokens: false).ids)) }

    static let encodeDetailed = LuaFunc(
        "encode_detailed", "Encodes a text and returns everything the encoding holds: ids, tokens, offsets, word ids, masks.",
        params: [text], options: encodeOptions,
        returns: "Encoding {ids=, tokens=, offsets=, word_ids=, type_ids=, attention_mask=, special_tokens_mask=}: arrays of the same length",
        details: """
            offsets[i] = {start, end}: 0-based byte offsets into the text (special tokens: {0, 0}), so the
            token's text is text:sub(start + 1, end). word_ids[i] is the 0-based index of the pre-tokenized
            word the token comes from, -1 for added special tokens and padding.
            """,
        example: ex + "local e = tok:encode_detailed(\"the cat\")\nprint(e.tokens[2], e.offsets[2][1], e.offsets[2][2])\nprint(e)"
    ) { c in
        let e = try encoding(c, withTokens: true)
        try c.pushRecord([("ids", .ints(e.ids)), ("tokens", .strings(e.tokens)), ("offsets", .array(e.offsets.map { .ints([$0.start, $0.end]) })),
                          ("word_ids", .ints(e.wordIds.map { $0 ?? -1 })), ("type_ids", .ints(e.typeIds)), ("attention_mask", .ints(e.attentionMask)),
                          ("special_tokens_mask", .ints(e.specialTokensMask))], name: "Encoding")
        return 1
    }

    static let tokenize = LuaFunc(
        "tokenize", "The token strings of a text (no special tokens, no padding).",
        params: [text],
        returns: "{token, ...}: byte-level BPE shows a space as Ġ",
        example: ex + "print(tok:tokenize(\"the cat sat\"))"
    ) { c in
        let e = try tok(c).encode(try c.checkString(2, "text"), addSpecialTokens: false, withTokens: true, truncation: .some(nil), padding: .some(nil))
        return try c.ret(.strings(e.tokens))
    }

    /// Ids: a Lua array of integers or a 1-D int64 tensor.
    static func idsArg(_ c: LuaCall, _ i: Int32) throws -> [Int] {
        guard let t = c.object(i, Tensor.self) else { return try c.intArray(i, "ids") }
        guard t.dtype == .int64 else { throw c.argError(i, "ids", "expected an int64 tensor, got a \(t.dtype.rawValue) tensor") }
        guard t.rank <= 1 else { throw c.argError(i, "ids", "expected a 1-D tensor, got shape \(t.shapeString); use decode_batch for 2-D") }
        return try t.toInt64Array().map { Int($0) }
    }

    /// Rows of ids: a 2-D int64 tensor or a Lua array of arrays of integers.
    static func idRows(_ c: LuaCall, _ i: Int32) throws -> [[Int]] {
        if let t = c.object(i, Tensor.self) {
            guard t.dtype == .int64, t.rank == 2 else {
                throw c.argError(i, "ids", "expected a 2-D int64 tensor, got a \(t.dtype.rawValue) tensor of shape \(t.shapeString)")
            }
            let flat = try t.toInt64Array(), w = t.shape[1]
            return (0..<t.shape[0]).map { r in flat[(r * w)..<((r + 1) * w)].map { Int($0) } }
        }
        return try (0..<c.rawLen(i)).map { k in
            lua_rawgeti(c.L, i, lua_Integer(k + 1))
            defer { lp_pop(c.L, 1) }
            guard lua_type(c.L, -1) == LUA_TTABLE, let row = try? c.intArray(-1) else {
                throw c.argError(i, "ids", "expected an array of arrays of integers, element \(k + 1) is \(c.describe(-1))")
            }
            return row
        }
    }

    static let decode = LuaFunc(
        "decode", "Turns token ids back into text.",
        params: [ids], options: [skipSpecial],
        returns: "string: the text",
        details: "Ids the vocabulary does not have are skipped, as in the Python library.",
        errors: "a float tensor; a negative id.",
        example: ex + "print(tok:decode(tok:encode(\"the dog<|end|>\")), tok:decode(tok:encode(\"the dog<|end|>\"), {skip_special_tokens = false}))"
    ) { c in try c.ret(.string(try tok(c).decode(try idsArg(c, 2), skipSpecialTokens: try c.opts().bool("skip_special_tokens")))) }

    static let decodeBatch = LuaFunc(
        "decode_batch", "Decodes each row of a batch of ids.",
        params: [LuaParam("ids", .either([.object("Tensor"), .table]), "a 2-D int64 tensor [batch, length] or a Lua array of arrays")],
        options: [skipSpecial],
        returns: "{string, ...}",
        details: "Padding is a special token in most tokenizers, so it is skipped.",
        example: ex + "local ids = tok:encode_batch({\"the cat\", \"the dog sat\"})\nprint(tok:decode_batch(ids))"
    ) { c in try c.ret(.strings(try tok(c).decodeBatch(try idRows(c, 2), skipSpecialTokens: try c.opts().bool("skip_special_tokens")))) }

    static let encodeBatch = LuaFunc(
        "encode_batch", "Encodes many texts into a batch ready for a model: ids and attention mask as int64 tensors [batch, length].",
        params: [TextFunctions.texts],
        options: [
            LuaOpt("max_length", .integer(1...TextTokenizer.maxLength), .none, "truncate to this many tokens (special tokens included)"),
            LuaOpt("padding", .either([.boolean, .choice([TextPaddingMode.longest, .maxLength].map(\.rawValue))]), .computed("the tokenizer's, else true"),
                   "true or \"longest\": to the longest text of the batch; \"max_length\": to max_length; false: none (all texts must then encode to the same length)"),
            LuaOpt("truncation", .boolean, .computed("true with max_length"), "false: never truncate; true without max_length: the tokenizer's setting"),
            addSpecial,
            LuaOpt("padding_side", side, .computed("the tokenizer's, else \"right\""), "\"left\" pads before the text (for generation)"),
            LuaOpt("truncation_side", side, .string("right"), "\"left\" keeps the end of long texts"),
            LuaOpt("pad_id", .integer(0...Int.max), .computed("the tokenizer's padding, else its [PAD]/<pad> token, else 0"), "the id of padding (the mask is 0 there)"),
            LuaOpt("pairs", .strings, .none, "second texts, one per text (sentence pairs)"),
            LuaOpt("response_starts", .numbers, .none,
                   "one byte offset per text where the response begins (the data module's response_start): labels are then returned"),
        ],
        returns: "ids, mask[, labels]: int64 tensors [#texts, length]",
        details: """
            labels (with response_starts) are the ids with -100 on the prompt and on padding (see tok:mask_prompt).
            Texts are encoded on all threads.
            """,
        errors: "padding = \"max_length\" without max_length; padding = false with texts of different lengths; response_starts of the wrong length.",
        example: ex + "local ids, mask = tok:encode_batch({\"the cat\", \"the dog sat on the log\"}, {max_length = 8})\nprint(ids, mask)"
    ) { c in
        let r = try tok(c).batch(try TextFunctions.texts(c, 2), try batchOptions(c), threads: Runtime.threads)
        return try r.labels.map { try c.ret(.object(r.ids), .object(r.mask), .object($0)) } ?? c.ret(.object(r.ids), .object(r.mask))
    }

    static func batchOptions(_ c: LuaCall) throws -> TextBatchOptions {
        let o = try c.opts()
        var b = TextBatchOptions()
        b.maxLength = try o.intIfGiven("max_length")
        let padding = try o.value("padding")
        if case .bool(let on) = padding { b.padding = on ? .longest : .doNotPad }
        if case .string(let mode) = padding { b.padding = TextPaddingMode(rawValue: mode) }
        b.truncation = try o.boolIfGiven("truncation")
        b.truncateLeft = try o.string("truncation_side") == "left"
        b.padLeft = try o.stringIfGiven("padding_side").map { $0 == "left" }
        b.padId = try o.intIfGiven("pad_id")
        b.addSpecialTokens = try o.bool("add_special_tokens")
        b.pairs = try o.stringsIfGiven("pairs")
        b.responseStarts = try o.numbersIfGiven("response_starts")?.map { x in
            guard x == x.rounded(), abs(x) < 1e15 else { throw LuaError("bad option 'response_starts' (expected integer byte offsets, got \(fmt(x)))") }
            return Int(x)
        }
        return b
    }

    static let maskPrompt = LuaFunc(
        "mask_prompt", "Encodes a prompt + response text for supervised fine-tuning: ids, and labels with -100 on the prompt.",
        params: [text, LuaParam("response_start", .integer(0...Int.max), "the 0-based byte offset in text where the response begins")],
        options: [
            addSpecial,
            LuaOpt("max_length", .integer(1...TextTokenizer.maxLength), .computed("the tokenizer's truncation"), "truncate to this many tokens"),
            LuaOpt("truncation_side", side, .string("right"), "\"left\" keeps the end, so the response survives a long prompt"),
        ],
        returns: "ids, labels: two Lua arrays of the same length",
        details: """
            response_start is what the data module's templates report (#prompt for text = prompt .. response).
            labels are the ids with -100 (ignored by the loss, as in Hugging Face) for every token that
            ends at or before response_start; a token straddling the boundary is learned. A special token
            added after the response (an end-of-text token) is learned, one added before it is not.
            """,
        example: ex + "local prompt, answer = \"Q: the cat? A:\", \" the mat\"\nlocal ids, labels = tok:mask_prompt(prompt .. answer, #prompt)\nprint(ids, labels)"
    ) { c in
        let o = try c.opts()
        let r = try tok(c).maskPrompt(
            try c.checkString(2, "text"), responseStart: try c.checkInt(3, "response_start"), addSpecialTokens: try o.bool("add_special_tokens"),
            maxLength: try o.intIfGiven("max_length"), truncateLeft: try o.string("truncation_side") == "left")
        return try c.ret(.ints(r.ids), .ints(r.labels))
    }

    static let vocabSize = LuaFunc(
        "vocab_size", "The size of the vocabulary (added tokens included unless asked otherwise).",
        options: [LuaOpt("with_added_tokens", .boolean, .bool(true), "count the added tokens the model does not have")],
        returns: "integer",
        example: ex + "print(tok:vocab_size(), tok:vocab_size({with_added_tokens = false}))"
    ) { c in try c.ret(.int(try tok(c).vocabSize(withAddedTokens: try c.opts().bool("with_added_tokens")))) }

    static let tokenToId = LuaFunc(
        "token_to_id", "The id of a token string, or nil.",
        params: [LuaParam("token", .string, "the token string")],
        returns: "integer or nil",
        example: ex + "print(tok:token_to_id(\"<|end|>\"), tok:token_to_id(\"no such token\"))"
    ) { c in try c.ret(tok(c).tokenToId(try c.checkString(2, "token")).map { .int($0) } ?? .nil) }

    static let idToToken = LuaFunc(
        "id_to_token", "The token string of an id, or nil.",
        params: [LuaParam("id", .integer(), "the token id (0-based)")],
        returns: "string or nil",
        example: ex + "print(tok:id_to_token(0), tok:id_to_token(1e6))"
    ) { c in try c.ret(tok(c).idToToken(try c.checkInt(2, "id")).map { .string($0) } ?? .nil) }

    static let vocab = LuaFunc(
        "vocab", "The whole vocabulary as a table token -> id (added tokens included).",
        returns: "{token = id, ...}",
        example: ex + "local v = tok:vocab()\nprint(v[\"<|end|>\"])"
    ) { c in try c.ret(.record(try tok(c).vocabulary().map { ($0.token, .int($0.id)) })) }

    static let addedTokens = LuaFunc(
        "added_tokens", "The added tokens (special tokens and user additions) with their ids, in id order.",
        returns: "{AddedToken, ...}: records {id=, content=, special=}",
        example: ex + "print(tok:added_tokens()[1])"
    ) { c in
        let list = try tok(c).addedTokens
        try c.reserve(3)
        lua_createtable(c.L, Int32(clamping: list.count), 0)
        for (k, a) in list.enumerated() {
            try c.pushRecord([("id", .int(a.id)), ("content", .string(a.token.content)), ("special", .bool(a.token.special))], name: "AddedToken")
            lua_rawseti(c.L, -2, lua_Integer(k + 1))
        }
        return 1
    }

    static let addTokens = LuaFunc(
        "add_tokens", "Adds tokens to the vocabulary (new ids after the model's); special ones are skipped by decode.",
        params: [LuaParam("tokens", .strings, "the token strings")],
        options: [LuaOpt("special", .boolean, .bool(false), "special tokens: matched in the raw text, skipped by decode")],
        returns: "integer: how many tokens were new",
        details: "Added tokens are matched whole in the text before the model runs (special ones against the raw text, others after normalization), as in the Python library. A model's embedding matrix must be resized to tok:vocab_size() after adding.",
        example: ex + "print(tok:add_tokens({\"<|user|>\", \"<|assistant|>\"}, {special = true}), tok:encode(\"<|user|>the cat\"))"
    ) { c in
        let special = try c.opts().bool("special")
        return try c.ret(.int(try tok(c).addTokens(try TextFunctions.texts(c, 2).map { TextAddedToken($0, special: special) })))
    }

    static let normalize = LuaFunc(
        "normalize", "The text after the tokenizer's normalizer alone (lowercasing, accent stripping...).",
        params: [text],
        returns: "string: the normalized text (the text itself when there is no normalizer)",
        example: "local tok = text.word_vocab({\"Hello\"}, {lowercase = true})\nprint(tok:normalize(\"HeLLo World\"))"
    ) { c in try c.ret(.string(try tok(c).normalize(try c.checkString(2, "text")))) }

    static let preTokenize = LuaFunc(
        "pre_tokenize", "The pieces the pre-tokenizer alone cuts a text into, with their byte offsets.",
        params: [text],
        returns: "{{piece, start, end}, ...}: 0-based byte offsets [start, end) in text",
        example: ex + "show(tok:pre_tokenize(\"the cat, sat\"))"
    ) { c in try c.ret(.array(try tok(c).preTokenize(try c.checkString(2, "text")).map { .array([.string($0.piece), .int($0.start), .int($0.end)]) })) }

    static let save = LuaFunc(
        "save", "Writes the tokenizer as a tokenizer.json file (the format the Python library and transformers read).",
        params: [LuaParam("path", .string, "the file to write")],
        options: [LuaOpt("overwrite", .boolean, .bool(false), "replace an existing file")],
        errors: "the file exists and overwrite is not true; the folder does not exist.",
        example: ex + "local path = os.tmpname()\ntok:save(path, {overwrite = true})\nprint(text.load_tokenizer(path):encode(\"the cat\"))\nos.remove(path)"
    ) { c in
        try tok(c).save(path: try c.checkString(2, "path"), overwrite: try c.opts().bool("overwrite"))
        return 0
    }

    static let toJSON = LuaFunc(
        "to_json", "The tokenizer.json text of the tokenizer.",
        options: [LuaOpt("pretty", .boolean, .bool(true), "one member per line, indented (as the Python library saves)")],
        returns: "string",
        example: ex + "print(#tok:to_json() > 0)"
    ) { c in try c.ret(.string(try tok(c).json().serialized(pretty: try c.opts().bool("pretty")))) }
}
