import CLua
import CLuaShim
import Foundation
import LatheCore

extension TextTokenizer: LuaObject {
    public static var luaTag: Int32 { LuaTag.tokenizer }
    public var luaByteSize: Int { vocabSize(withAddedTokens: true) * 96 }
}

/// The `text` module: tokenizers (Hugging Face tokenizer.json, trained byte-level BPE,
/// character and word vocabularies) and batches of token ids as int64 tensors.
enum TextModule: LuaInstaller {
    static let encodeOptions = ["add_special_tokens", "pair"]

    static func install(_ vm: LuaVM) throws {
        let m = vm.module("text", summary: "Tokenizers: load tokenizer.json files, train byte-level BPE, character and word vocabularies; encode to tensors.",
                          details: """
            A tokenizer turns text into the integer ids a model reads and back. text.load_tokenizer reads a
            Hugging Face tokenizer.json (BPE as in GPT-2, Llama 3, SmolLM2; WordPiece as in BERT; WordLevel)
            and gives exactly the ids the Python `tokenizers` library gives, special tokens included.
            Token ids are data: they keep their natural 0-based numbers. Offsets are 0-based byte offsets
            [start, end) into the text (text:sub(start + 1, end) is the token's text).
            Tokenizer objects have methods (encode, decode, encode_batch, mask_prompt, save, ...):
            help("Tokenizer") or help(tok) lists them.
            """)

        m.function("load_tokenizer", Doc(
            "Reads a Hugging Face tokenizer.json file (BPE, WordPiece or WordLevel model).",
            signature: "text.load_tokenizer(path) -> Tokenizer",
            details: """
                Supports the normalizers (BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents,
                Replace, Prepend, Nmt, ByteLevel, Sequence), pre-tokenizers (BertPreTokenizer, ByteLevel, Digits,
                Split, Whitespace, WhitespaceSplit, Metaspace, Punctuation, CharDelimiterSplit, Sequence),
                post-processors (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence),
                decoders (WordPiece, ByteLevel, Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace,
                Sequence) and added/special tokens. Truncation and padding saved in the file are applied by
                tok:encode as the Python library does (all-MiniLM-L6-v2's file pads every encoding to 128);
                tok:truncation(false) and tok:padding(false) turn them off. Unigram (SentencePiece) models
                are not supported; BPE dropout (a training-time augmentation) is kept in the file but not
                applied. Split patterns other than the GPT-2 and Llama-3 ones run on Swift's regex engine.
                """,
            returns: "a Tokenizer",
            errors: "the file is missing or is not valid JSON; an unsupported or malformed part (the message names it).",
            example: """
                local path = os.tmpname()
                text.word_vocab({"hello world"}):save(path, {overwrite = true})
                local tok = text.load_tokenizer(path)
                print(tok:encode("hello world"))
                os.remove(path)
                """)) { c in
            let path = try c.checkString(1, "path")
            c.push(try TextTokenizer.load(path: path))
            return 1
        }

        m.function("tokenizer_from_json", Doc(
            "Builds a tokenizer from tokenizer.json text held in a string.",
            signature: "text.tokenizer_from_json(json) -> Tokenizer",
            returns: "a Tokenizer",
            errors: "the text is not valid JSON or not a tokenizer.",
            example: """
                local json = text.char_vocab({"abc"}):to_json()
                local tok = text.tokenizer_from_json(json)
                print(tok:encode("cab"))
                """)) { c in
            let s = try c.checkString(1, "json")
            c.push(try TextTokenizer(json: try TextJSON.parse(s)))
            return 1
        }

        m.function("train_bpe", Doc(
            "Trains a byte-level BPE tokenizer (GPT-2 style) on texts.",
            signature: "text.train_bpe(texts, {vocab_size = 30000, min_frequency = 2, special_tokens = {}, lowercase = false, add_prefix_space = false}) -> Tokenizer",
            details: """
                Works like the Python library's ByteLevelBPETokenizer.train_from_iterator: texts are cut into
                words by the GPT-2 regex, the vocabulary starts with the special tokens and the 256 byte
                characters, then the most frequent pair of tokens is merged (ties: the pair of smallest ids)
                until vocab_size is reached or no pair is seen min_frequency times. On the tested corpora the
                merges and the saved tokenizer.json are identical to the Python library's. Shows progress on
                long corpora; Ctrl-C stops.
                """,
            returns: "a Tokenizer (save it with tok:save(path))",
            errors: "texts is not an array of strings; vocab_size < 1; min_frequency < 0.",
            example: """
                local tok = text.train_bpe({"the cat sat on the mat", "the dog sat on the log"}, {vocab_size = 270})
                local ids = tok:encode("the cat sat")
                print(#ids, tok:decode(ids))
                """)) { c in
            let texts = try textsArg(c, 1)
            let o = try c.options(2, allowed: ["vocab_size", "min_frequency", "special_tokens", "lowercase", "add_prefix_space"])
            var t = BPETrainer(vocabSize: try o.int("vocab_size", 30000), minFrequency: try o.int("min_frequency", 2),
                               specialTokens: try o.stringArray("special_tokens") ?? [])
            t.lowercase = try o.bool("lowercase", false)
            t.addPrefixSpace = try o.bool("add_prefix_space", false)
            if t.vocabSize < 1 { throw LuaError("bad option 'vocab_size' (expected a positive integer, got \(t.vocabSize))") }
            if t.minFrequency < 0 { throw LuaError("bad option 'min_frequency' (expected a non-negative integer, got \(t.minFrequency))") }
            let bar = ProgressBar("train_bpe", total: nil, unit: "tokens")
            defer { bar.finish() }
            let tok = try t.train(texts) { stage, done, total in
                bar.total = total
                bar.update(done, note: stage)
            }
            c.push(tok)
            return 1
        }

        let vocabDoc = """
            specials come first (ids 0, 1, ...); unk_token is added to them if missing and stands for
            anything not in the vocabulary. Entries are ordered by descending count (ties in byte order),
            kept when seen at least min_freq times, at most max_size in all (specials included).
            """
        m.function("char_vocab", Doc(
            "Builds a character-level tokenizer (one token per Unicode character) from texts.",
            signature: "text.char_vocab(texts, {specials = {\"<pad>\", \"<unk>\"}, unk_token = \"<unk>\", min_freq = 1, max_size = nil, lowercase = false}) -> Tokenizer",
            details: vocabDoc + "\nSaved as a tokenizer.json (BPE without merges, Fuse decoder), so decode gives the text back.",
            returns: "a Tokenizer",
            errors: "texts is not an array of strings; min_freq < 1; max_size smaller than the specials.",
            example: """
                local tok = text.char_vocab({"hello", "world"})
                print(tok:vocab_size(), tok:encode("hold"), tok:decode(tok:encode("hold")))
                """)) { c in
            let texts = try textsArg(c, 1)
            c.push(try TextVocabulary.characters(texts, try vocabOptions(c, 2)))
            return 1
        }

        m.function("word_vocab", Doc(
            "Builds a word-level tokenizer (words and punctuation runs) from texts.",
            signature: "text.word_vocab(texts, {specials = {\"<pad>\", \"<unk>\"}, unk_token = \"<unk>\", min_freq = 1, max_size = nil, lowercase = false}) -> Tokenizer",
            details: vocabDoc + "\nWords are cut like the Whitespace pre-tokenizer (\\w+|[^\\w\\s]+); decode joins tokens with spaces.",
            returns: "a Tokenizer",
            errors: "texts is not an array of strings; min_freq < 1; max_size smaller than the specials.",
            example: """
                local tok = text.word_vocab({"the cat sat", "the dog sat!"}, {min_freq = 1})
                print(tok:encode("the bird sat"), tok:id_to_token(1))
                """)) { c in
            let texts = try textsArg(c, 1)
            c.push(try TextVocabulary.words(texts, try vocabOptions(c, 2)))
            return 1
        }

        defineTokenizer(vm)
    }

    /// Texts: an array of strings (or one string).
    static func textsArg(_ c: LuaCall, _ i: Int32) throws -> [String] {
        if let s = c.string(i) { return [s] }
        if c.type(i) != LUA_TTABLE { throw c.argError(i, "texts", expected: "an array of strings") }
        return try c.stringArray(i, "texts")
    }

    static func vocabOptions(_ c: LuaCall, _ i: Int32) throws -> TextVocabulary.Options {
        let o = try c.options(i, allowed: ["specials", "unk_token", "min_freq", "max_size", "lowercase"])
        var v = TextVocabulary.Options()
        if let s = try o.stringArray("specials") { v.specials = s }
        v.unkToken = try o.string("unk_token", "<unk>")
        v.minFrequency = try o.int("min_freq", 1)
        v.maxSize = try o.int("max_size")
        v.lowercase = try o.bool("lowercase", false)
        return v
    }

    /// Ids: a Lua array of integers or an int64 tensor (1-D).
    static func idsArg(_ c: LuaCall, _ i: Int32) throws -> [Int] {
        if let t = c.object(i, Tensor.self) {
            guard t.dtype == .int64 else { throw c.argError(i, "ids", "expected an int64 tensor, got a \(t.dtype.rawValue) tensor") }
            guard t.rank <= 1 else { throw c.argError(i, "ids", "expected a 1-D tensor, got shape \(t.shapeString); use decode_batch for 2-D") }
            return try t.toInt64Array().map { Int($0) }
        }
        if c.type(i) != LUA_TTABLE { throw c.argError(i, "ids", expected: "an array of integers or an int64 tensor") }
        return try c.intArray(i, "ids")
    }

    static func truncationValue(_ p: TextTruncation?) -> LuaValue {
        guard let p else { return .nil }
        return .record([("max_length", .int(p.maxLength)), ("strategy", .string(p.strategy == .longestFirst ? "longest_first" : p.strategy == .onlyFirst ? "only_first" : "only_second")),
                        ("direction", .string(p.left ? "left" : "right")), ("stride", .int(p.stride))])
    }

    static func paddingValue(_ p: TextPadding?) -> LuaValue {
        guard let p else { return .nil }
        var f: [(String, LuaValue)] = [("direction", .string(p.left ? "left" : "right")), ("pad_id", .int(p.padId)),
                                       ("pad_token", .string(p.padToken)), ("pad_type_id", .int(p.padTypeId))]
        if let l = p.length { f.append(("length", .int(l))) }
        if let m = p.padToMultipleOf { f.append(("pad_to_multiple_of", .int(m))) }
        return .record(f)
    }

    static func encodingValue(_ e: TextEncoding) -> LuaValue {
        .record([
            ("ids", .ints(e.ids)),
            ("tokens", .strings(e.tokens)),
            ("offsets", .array(e.offsets.map { .ints([$0.start, $0.end]) })),
            ("word_ids", .ints(e.wordIds.map { $0 ?? -1 })),
            ("type_ids", .ints(e.typeIds)),
            ("attention_mask", .ints(e.attentionMask)),
            ("special_tokens_mask", .ints(e.specialTokensMask)),
        ])
    }

    static func defineTokenizer(_ vm: LuaVM) {
        let ex = "local tok = text.train_bpe({\"the cat sat on the mat\", \"the dog sat on the log\"}, {vocab_size = 270, special_tokens = {\"<|end|>\"}})\n"
        vm.defineClass(TextTokenizer.self, name: "Tokenizer", summary: "A tokenizer: text to token ids and back (Hugging Face tokenizer.json compatible).") { b in
            b.method("encode", Doc(
                "Encodes a text into token ids, exactly as the Python tokenizers library's encode(text).ids.",
                signature: "tok:encode(text, {add_special_tokens = true, pair = nil}) -> {id, ...}",
                details: """
                    Special tokens are added as the tokenizer's post-processor says ([CLS] ... [SEP] for BERT).
                    The truncation and padding settings of the tokenizer apply (see tok:truncation, tok:padding).
                    pair: a second text, encoded as a pair (BERT sentence pairs).
                    """,
                returns: "a Lua array of integer ids",
                errors: "text is not a string.",
                example: ex + "print(tok:encode(\"the cat<|end|>\"))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let text = try c.checkString(2, "text")
                let o = try c.options(3, allowed: encodeOptions)
                let e = try tok.encode(text, pair: try o.string("pair"), addSpecialTokens: try o.bool("add_special_tokens", true),
                                       withTokens: false, withOffsets: false)
                return try c.ret(.ints(e.ids))
            }
            b.method("encode_detailed", Doc(
                "Encodes a text and returns everything the encoding holds: ids, tokens, offsets, word ids, masks.",
                signature: "tok:encode_detailed(text, {add_special_tokens = true, pair = nil}) -> {ids=, tokens=, offsets=, word_ids=, type_ids=, attention_mask=, special_tokens_mask=}",
                details: """
                    offsets[i] = {start, end}: 0-based byte offsets into the text (special tokens: {0, 0}), so the
                    token's text is text:sub(start + 1, end). word_ids[i] is the 0-based index of the pre-tokenized
                    word the token comes from, -1 for added special tokens and padding.
                    """,
                returns: "a table of arrays of the same length",
                errors: "text is not a string.",
                example: ex + "local e = tok:encode_detailed(\"the cat\")\nprint(e.tokens[2], e.offsets[2][1], e.offsets[2][2])")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let text = try c.checkString(2, "text")
                let o = try c.options(3, allowed: encodeOptions)
                let e = try tok.encode(text, pair: try o.string("pair"), addSpecialTokens: try o.bool("add_special_tokens", true), withTokens: true)
                return try c.ret(encodingValue(e))
            }
            b.method("tokenize", Doc(
                "The token strings of a text (no special tokens, no padding).",
                signature: "tok:tokenize(text) -> {token, ...}",
                returns: "a Lua array of strings (byte-level BPE shows a space as Ġ)",
                errors: "text is not a string.",
                example: ex + "print(tok:tokenize(\"the cat sat\"))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let text = try c.checkString(2, "text")
                let e = try tok.encode(text, addSpecialTokens: false, withTokens: true, truncation: .some(nil), padding: .some(nil))
                return try c.ret(.strings(e.tokens))
            }
            b.method("decode", Doc(
                "Turns token ids back into text.",
                signature: "tok:decode(ids, {skip_special_tokens = true}) -> string",
                details: "ids: a Lua array or a 1-D int64 tensor. Ids the vocabulary does not have are skipped, as in the Python library.",
                returns: "the text",
                errors: "ids is not an array of integers or an int64 tensor; a negative id.",
                example: ex + "print(tok:decode(tok:encode(\"the dog<|end|>\")), tok:decode(tok:encode(\"the dog<|end|>\"), {skip_special_tokens = false}))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let ids = try idsArg(c, 2)
                let o = try c.options(3, allowed: ["skip_special_tokens"])
                c.push(try tok.decode(ids, skipSpecialTokens: try o.bool("skip_special_tokens", true)))
                return 1
            }
            b.method("decode_batch", Doc(
                "Decodes each row of a batch of ids.",
                signature: "tok:decode_batch(ids, {skip_special_tokens = true}) -> {string, ...}",
                details: "ids: a 2-D int64 tensor [batch, length] or a Lua array of arrays. Padding is a special token in most tokenizers, so it is skipped.",
                returns: "a Lua array of strings",
                errors: "ids is not a 2-D int64 tensor or an array of arrays of integers.",
                example: ex + "local ids = tok:encode_batch({\"the cat\", \"the dog sat\"})\nprint(tok:decode_batch(ids))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let o = try c.options(3, allowed: ["skip_special_tokens"])
                let skip = try o.bool("skip_special_tokens", true)
                var rows: [[Int]] = []
                if let t = c.object(2, Tensor.self) {
                    guard t.dtype == .int64, t.rank == 2 else {
                        throw c.argError(2, "ids", "expected a 2-D int64 tensor, got a \(t.dtype.rawValue) tensor of shape \(t.shapeString)")
                    }
                    let flat = try t.toInt64Array().map { Int($0) }
                    let w = t.shape[1]
                    for r in 0..<t.shape[0] { rows.append(Array(flat[(r * w)..<((r + 1) * w)])) }
                } else {
                    try c.checkTable(2, "ids")
                    let n = c.rawLen(2)
                    for k in 0..<n {
                        lua_rawgeti(c.L, 2, lua_Integer(k + 1))
                        defer { lp_pop(c.L, 1) }
                        guard lua_type(c.L, -1) == LUA_TTABLE else {
                            throw c.argError(2, "ids", "expected an array of arrays of integers, element \(k + 1) is \(c.describe(-1))")
                        }
                        rows.append(try c.intArray(-1, "ids"))
                    }
                }
                var out: [String] = []
                for r in rows { out.append(try tok.decode(r, skipSpecialTokens: skip)) }
                return try c.ret(.strings(out))
            }
            b.method("encode_batch", Doc(
                "Encodes many texts into a batch ready for a model: ids and attention mask as int64 tensors [batch, length].",
                signature: "tok:encode_batch(texts, {max_length = nil, padding = true, truncation = nil, add_special_tokens = true, padding_side = nil, truncation_side = \"right\", pad_id = nil, pairs = nil, response_starts = nil}) -> ids, mask[, labels]",
                details: """
                    padding: true or "longest" pads to the longest text of the batch, "max_length" to max_length,
                    false pads nothing (all texts must then encode to the same length). When padding is not given,
                    the tokenizer's own padding setting is used if it has one, else "longest".
                    max_length truncates (special tokens included) unless truncation = false; truncation = true
                    without max_length uses the tokenizer's setting; truncation_side "left" keeps the end of long
                    texts. padding_side: "right" (default) or "left" (for generation). pad_id: the id of padding (default: the tokenizer's padding setting, else
                    its [PAD]/<pad> token, else 0); the mask is 0 there.
                    response_starts: one 0-based byte offset per text where the response begins (the data
                    module's response_start); a third tensor of labels is then returned: the ids with -100 on
                    the prompt and on padding (see tok:mask_prompt). Texts are encoded on all threads.
                    """,
                returns: "ids and mask int64 tensors of shape [#texts, length], and labels when response_starts is given",
                errors: "texts is not an array of strings; padding = \"max_length\" without max_length; padding = false with texts of different lengths; response_starts of the wrong length.",
                example: ex + "local ids, mask = tok:encode_batch({\"the cat\", \"the dog sat on the log\"}, {max_length = 8})\nprint(ids, mask)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let texts = try textsArg(c, 2)
                let o = try c.options(3, allowed: ["max_length", "padding", "truncation", "add_special_tokens", "padding_side",
                                                   "truncation_side", "pad_id", "pairs", "response_starts"])
                let truncLeft = try o.choice("truncation_side", ["right", "left"], "right") == "left"
                let maxLength = try o.int("max_length")
                if let m = maxLength, m < 1 || m > TextTokenizer.maxLength {
                    throw LuaError("bad option 'max_length' (expected an integer from 1 to \(TextTokenizer.maxLength), got \(m))")
                }
                // padding: nil | true | false | "longest" | "max_length"
                var padMode: String? = nil
                let pt = o.push("padding")
                if pt == LUA_TBOOLEAN { padMode = lua_toboolean(c.L, -1) != 0 ? "longest" : "none" } else if pt == LUA_TSTRING {
                    padMode = c.string(-1)
                    if padMode != "longest" && padMode != "max_length" {
                        let got = c.describe(-1)
                        lp_pop(c.L, 1)
                        throw LuaError("bad option 'padding' (expected true, false, \"longest\" or \"max_length\", got \(got))")
                    }
                } else if pt != LUA_TNIL {
                    let got = c.describe(-1)
                    lp_pop(c.L, 1)
                    throw LuaError("bad option 'padding' (expected true, false, \"longest\" or \"max_length\", got \(got))")
                }
                lp_pop(c.L, 1)
                let truncOpt = try o.bool("truncation")
                let side = try o.string("padding_side")
                if let side, side != "left" && side != "right" {
                    throw LuaError("bad option 'padding_side' (expected \"left\" or \"right\", got \"\(side)\")")
                }
                let pairs = try o.stringArray("pairs")
                if let pairs, pairs.count != texts.count {
                    throw LuaError("bad option 'pairs' (expected \(texts.count) strings, one per text, got \(pairs.count))")
                }
                var starts: [Int]? = nil
                if let ns = try o.numberArray("response_starts") {
                    guard ns.count == texts.count else {
                        throw LuaError("bad option 'response_starts' (expected \(texts.count) byte offsets, one per text, got \(ns.count))")
                    }
                    starts = try ns.map { x -> Int in
                        guard x == x.rounded(), x >= 0, x < 1e15 else { throw LuaError("bad option 'response_starts' (expected non-negative integers, got \(fmt(x)))") }
                        return Int(x)
                    }
                }
                // truncation
                var trunc: TextTruncation? = tok.truncation
                if let maxLength, truncOpt != false {
                    trunc = TextTruncation(maxLength: maxLength, left: truncLeft)
                } else if truncOpt == false {
                    trunc = nil
                } else if truncOpt == true && trunc == nil {
                    throw LuaError("bad option 'truncation' (truncation = true needs max_length or a tokenizer truncation setting)")
                }
                // padding
                var pad: TextPadding? = nil
                let padId = try o.int("pad_id") ?? tok.defaultPadId
                let base = tok.padding
                switch padMode {
                case nil:
                    if let base {
                        pad = base
                        if let maxLength, base.length != nil { pad?.length = maxLength }
                    } else {
                        pad = TextPadding(padId: padId)
                    }
                case "longest"?:
                    pad = TextPadding(length: nil, left: base?.left ?? false, padToMultipleOf: base?.padToMultipleOf,
                                        padId: padId, padTypeId: base?.padTypeId ?? 0, padToken: base?.padToken ?? "[PAD]")
                case "max_length"?:
                    guard let maxLength else { throw LuaError("bad option 'padding' (\"max_length\" needs the max_length option)") }
                    pad = TextPadding(length: maxLength, left: base?.left ?? false, padId: padId,
                                        padTypeId: base?.padTypeId ?? 0, padToken: base?.padToken ?? "[PAD]")
                default:
                    pad = nil
                }
                if try o.int("pad_id") != nil { pad?.padId = padId }
                if let side { pad?.left = side == "left" }
                let encs = try tok.encodeBatch(texts, pairs: pairs, addSpecialTokens: try o.bool("add_special_tokens", true),
                                               withTokens: false, withOffsets: starts != nil, truncation: .some(trunc), padding: .some(pad),
                                               threads: Runtime.threads)
                let len = encs.first?.count ?? 0
                for (i, e) in encs.enumerated() where e.count != len {
                    throw LuaError("texts encode to different lengths (\(len) for text 1, \(e.count) for text \(i + 1)); pass padding = true")
                }
                if encs.count.multipliedReportingOverflow(by: len).overflow || encs.count * len > 1 << 32 {
                    throw LuaError("the batch would hold \(encs.count) x \(len) ids, too many for one tensor; encode it in chunks")
                }
                var ids: [Int64] = [], mask: [Int64] = [], labels: [Int64] = []
                ids.reserveCapacity(encs.count * len)
                mask.reserveCapacity(encs.count * len)
                for (i, e) in encs.enumerated() {
                    ids.append(contentsOf: e.ids.map { Int64($0) })
                    mask.append(contentsOf: e.attentionMask.map { Int64($0) })
                    if let starts {
                        labels.append(contentsOf: TextTokenizer.labels(e, responseStart: starts[i]).map { Int64($0) })
                    }
                }
                c.push(Tensor(int64s: ids, shape: [encs.count, len]))
                c.push(Tensor(int64s: mask, shape: [encs.count, len]))
                if starts != nil {
                    c.push(Tensor(int64s: labels, shape: [encs.count, len]))
                    return 3
                }
                return 2
            }
            b.method("mask_prompt", Doc(
                "Encodes a prompt + response text for supervised fine-tuning: ids, and labels with -100 on the prompt.",
                signature: "tok:mask_prompt(text, response_start, {add_special_tokens = true, max_length = nil, truncation_side = \"right\"}) -> ids, labels",
                details: """
                    response_start is the 0-based byte offset in text where the response begins (what the data
                    module's templates report as response_start; #prompt for text = prompt .. response).
                    labels are the ids with -100 (ignored by the loss, as in Hugging Face) for every token that
                    ends at or before response_start; a token straddling the boundary is learned. A special token
                    added after the response (an end-of-text token) is learned, one added before it is not.
                    max_length truncates like encode_batch (truncation_side "left" keeps the end, so the
                    response survives a long prompt).
                    """,
                returns: "two Lua arrays of the same length: ids and labels",
                errors: "text is not a string; response_start is not a non-negative integer.",
                example: ex + "local prompt, answer = \"Q: the cat? A:\", \" the mat\"\nlocal ids, labels = tok:mask_prompt(prompt .. answer, #prompt)\nprint(ids, labels)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let text = try c.checkString(2, "text")
                let start = try c.checkInt(3, "response_start")
                if start < 0 { throw c.argError(3, "response_start", expected: "a non-negative byte offset") }
                let o = try c.options(4, allowed: ["add_special_tokens", "max_length", "truncation_side"])
                var trunc = tok.truncation
                if let m = try o.int("max_length") {
                    if m < 1 { throw LuaError("bad option 'max_length' (expected a positive integer, got \(m))") }
                    trunc = TextTruncation(maxLength: m, left: try o.choice("truncation_side", ["right", "left"], "right") == "left")
                }
                let e = try tok.encode(text, addSpecialTokens: try o.bool("add_special_tokens", true), withTokens: false,
                                       truncation: .some(trunc), padding: .some(nil))
                return try c.ret(.ints(e.ids), .ints(TextTokenizer.labels(e, responseStart: start)))
            }
            b.method("vocab_size", Doc(
                "The size of the vocabulary (added tokens included unless asked otherwise).",
                signature: "tok:vocab_size({with_added_tokens = true}) -> integer",
                returns: "an integer",
                example: ex + "print(tok:vocab_size(), tok:vocab_size({with_added_tokens = false}))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let o = try c.options(2, allowed: ["with_added_tokens"])
                c.push(tok.vocabSize(withAddedTokens: try o.bool("with_added_tokens", true)))
                return 1
            }
            b.method("token_to_id", Doc(
                "The id of a token string, or nil.",
                signature: "tok:token_to_id(token) -> integer or nil",
                returns: "an integer id or nil",
                errors: "token is not a string.",
                example: ex + "print(tok:token_to_id(\"<|end|>\"), tok:token_to_id(\"no such token\"))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                if let id = tok.tokenToId(try c.checkString(2, "token")) { c.push(id) } else { c.pushNil() }
                return 1
            }
            b.method("id_to_token", Doc(
                "The token string of an id, or nil.",
                signature: "tok:id_to_token(id) -> string or nil",
                returns: "a string or nil",
                errors: "id is not an integer.",
                example: ex + "print(tok:id_to_token(0), tok:id_to_token(1e6))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                if let t = tok.idToToken(try c.checkInt(2, "id")) { c.push(t) } else { c.pushNil() }
                return 1
            }
            b.method("vocab", Doc(
                "The whole vocabulary as a table token -> id (added tokens included).",
                signature: "tok:vocab() -> {token = id, ...}",
                returns: "a table",
                example: ex + "local v = tok:vocab()\nprint(v[\"<|end|>\"])")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let v = tok.vocabulary()
                try c.newTable(records: v.count)
                for (k, id) in v {
                    c.push(k)
                    c.push(id)
                    lua_rawset(c.L, -3)
                }
                return 1
            }
            b.method("added_tokens", Doc(
                "The added tokens (special tokens and user additions) with their ids, in id order.",
                signature: "tok:added_tokens() -> {{id=, content=, special=}, ...}",
                returns: "a Lua array of records",
                example: ex + "print(tok:added_tokens()[1].content)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                return try c.ret(.array(tok.addedTokens.map { .record([("id", .int($0.id)), ("content", .string($0.token.content)), ("special", .bool($0.token.special))]) }))
            }
            b.method("add_tokens", Doc(
                "Adds tokens to the vocabulary (new ids after the model's); special ones are skipped by decode.",
                signature: "tok:add_tokens({token, ...}, {special = false}) -> integer",
                details: "Added tokens are matched whole in the text before the model runs (special ones against the raw text, others after normalization), as in the Python library. A model's embedding matrix must be resized to tok:vocab_size() after adding.",
                returns: "how many tokens were new",
                errors: "tokens is not an array of strings.",
                example: ex + "print(tok:add_tokens({\"<|user|>\", \"<|assistant|>\"}, {special = true}), tok:encode(\"<|user|>the cat\"))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let list = try textsArg(c, 2)
                let o = try c.options(3, allowed: ["special"])
                let special = try o.bool("special", false)
                c.push(try tok.addTokens(list.map { TextAddedToken($0, special: special) }))
                return 1
            }
            b.method("normalize", Doc(
                "The text after the tokenizer's normalizer alone (lowercasing, accent stripping...).",
                signature: "tok:normalize(text) -> string",
                returns: "the normalized text (the text itself when there is no normalizer)",
                errors: "text is not a string.",
                example: "local tok = text.word_vocab({\"Hello\"}, {lowercase = true})\nprint(tok:normalize(\"HeLLo World\"))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                c.push(try tok.normalize(try c.checkString(2, "text")))
                return 1
            }
            b.method("pre_tokenize", Doc(
                "The pieces the pre-tokenizer alone cuts a text into, with their byte offsets.",
                signature: "tok:pre_tokenize(text) -> {{piece, start, end}, ...}",
                returns: "a Lua array of {piece, start, end} (0-based byte offsets [start, end) in text)",
                errors: "text is not a string.",
                example: ex + "show(tok:pre_tokenize(\"the cat, sat\"))")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                return try c.ret(.array(try tok.preTokenize(try c.checkString(2, "text")).map { .array([.string($0.piece), .int($0.start), .int($0.end)]) }))
            }
            b.method("truncation", Doc(
                "Sets (or returns) the truncation tok:encode applies.",
                signature: "tok:truncation([max_length | {max_length=, strategy = \"longest_first\", direction = \"right\", stride = 0} | false])",
                details: "strategy: \"longest_first\", \"only_first\" or \"only_second\" (pairs). max_length counts special tokens. false turns truncation off.",
                returns: "with no argument, the current setting (a table) or nil; otherwise nothing",
                errors: "a bad max_length, strategy or direction.",
                example: ex + "tok:truncation(3)\nprint(tok:encode(\"the cat sat on the mat\"), tok:truncation().max_length)\ntok:truncation(false)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                if c.top < 2 { return try c.ret(truncationValue(tok.truncation)) }
                if c.type(2) == LUA_TBOOLEAN {
                    if try c.checkBool(2) { throw c.argError(2, "setting", "expected a max_length, a table or false, got true") }
                    tok.truncation = nil
                    return 0
                }
                if c.type(2) == LUA_TNUMBER {
                    let n = try c.checkInt(2, "max_length")
                    if n < 0 { throw c.argError(2, "max_length", expected: "a non-negative integer") }
                    tok.truncation = TextTruncation(maxLength: n)
                    return 0
                }
                let o = try c.options(2, allowed: ["max_length", "strategy", "direction", "stride"])
                guard let n = try o.int("max_length"), n >= 0 else { throw LuaError("bad option 'max_length' (expected a non-negative integer)") }
                let st = try o.choice("strategy", ["longest_first", "only_first", "only_second"], "longest_first")
                let dir = try o.choice("direction", ["right", "left"], "right")
                let stride = try o.int("stride", 0)
                if stride < 0 || (stride > 0 && stride >= n) { throw LuaError("bad option 'stride' (expected 0 <= stride < max_length, got \(stride))") }
                tok.truncation = TextTruncation(maxLength: n, strategy: st == "longest_first" ? .longestFirst : st == "only_first" ? .onlyFirst : .onlySecond,
                                                  stride: stride, left: dir == "left")
                return 0
            }
            b.method("padding", Doc(
                "Sets (or returns) the padding tok:encode and tok:encode_batch apply.",
                signature: "tok:padding([{length = nil, direction = \"right\", pad_id = 0, pad_token = \"[PAD]\", pad_type_id = 0, pad_to_multiple_of = nil} | false])",
                details: "length nil pads a batch to its longest text (a single encode is then left as is); a number pads to that length. false turns padding off.",
                returns: "with no argument, the current setting (a table) or nil; otherwise nothing",
                errors: "a bad option.",
                example: ex + "tok:padding({length = 6})\nprint(tok:encode(\"the cat\"))\ntok:padding(false)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                if c.top < 2 { return try c.ret(paddingValue(tok.padding)) }
                if c.type(2) == LUA_TBOOLEAN {
                    if try c.checkBool(2) {
                        tok.padding = TextPadding(padId: tok.defaultPadId)
                    } else {
                        tok.padding = nil
                    }
                    return 0
                }
                let o = try c.options(2, allowed: ["length", "direction", "pad_id", "pad_token", "pad_type_id", "pad_to_multiple_of"])
                let len = try o.int("length")
                if let len, len < 0 || len > TextTokenizer.maxLength {
                    throw LuaError("bad option 'length' (expected an integer from 0 to \(TextTokenizer.maxLength), got \(len))")
                }
                let mult = try o.int("pad_to_multiple_of")
                if let mult, mult < 1 { throw LuaError("bad option 'pad_to_multiple_of' (expected a positive integer, got \(mult))") }
                tok.padding = TextPadding(length: len, left: try o.choice("direction", ["right", "left"], "right") == "left",
                                            padToMultipleOf: mult, padId: try o.int("pad_id") ?? tok.defaultPadId,
                                            padTypeId: try o.int("pad_type_id", 0), padToken: try o.string("pad_token", "[PAD]"))
                return 0
            }
            b.method("save", Doc(
                "Writes the tokenizer as a tokenizer.json file (the format the Python library and transformers read).",
                signature: "tok:save(path, {overwrite = false})",
                returns: "nothing",
                errors: "the file exists and overwrite is not true; the folder does not exist.",
                example: ex + "local path = os.tmpname()\ntok:save(path, {overwrite = true})\nprint(text.load_tokenizer(path):encode(\"the cat\"))\nos.remove(path)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let path = try c.checkString(2, "path")
                let o = try c.options(3, allowed: ["overwrite"])
                try tok.save(path: path, overwrite: try o.bool("overwrite", false))
                return 0
            }
            b.method("to_json", Doc(
                "The tokenizer.json text of the tokenizer.",
                signature: "tok:to_json({pretty = true}) -> string",
                returns: "a string of JSON",
                example: ex + "print(#tok:to_json() > 0)")) { c in
                let tok = try c.selfObject(TextTokenizer.self)
                let o = try c.options(2, allowed: ["pretty"])
                c.push(tok.json().serialized(pretty: try o.bool("pretty", true)))
                return 1
            }
            b.meta("__tostring") { c in
                let tok = try c.selfObject(TextTokenizer.self)
                c.push(tok.summary)
                return 1
            }
            b.meta("__len") { c in
                let tok = try c.selfObject(TextTokenizer.self)
                c.push(tok.vocabSize(withAddedTokens: true))
                return 1
            }
        }
    }
}
