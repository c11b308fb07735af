import CLua
import CLuaShim
import LatheCore

/// The `text` module: tokenizers (Hugging Face tokenizer.json, trained byte-level BPE,
/// character and word vocabularies) and batches of token ids as int64 tensors.
enum TextFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("text", summary: "Tokenizers: load tokenizer.json files, train byte-level BPE, character and word vocabularies; encode to tensors.",
                  details: """
            A tokenizer turns text into the integer ids a model reads and back. text.load_tokenizer reads a
            Hugging Face tokenizer.json (BPE as in GPT-2, Llama 3, SmolLM2; WordPiece as in BERT; WordLevel)
            and gives exactly the ids the Python `tokenizers` library gives, special tokens included.
            Token ids are data: they keep their natural 0-based numbers. Offsets are 0-based byte offsets
            [start, end) into the text (text:sub(start + 1, end) is the token's text).
            Tokenizer objects have methods (encode, decode, encode_batch, mask_prompt, save, ...):
            help("Tokenizer") or help(tok) lists them.
            """)
            .add([loadTokenizer, tokenizerFromJSON, trainBPE, charVocab, wordVocab])
        TokenizerMethods.install(vm)
    }

    static let texts = LuaParam("texts", .strings, "the texts: an array of strings (a data column) or one string")

    /// Texts: an array of strings or one string.
    static func texts(_ c: LuaCall, _ i: Int32) throws -> [String] {
        if let s = c.string(i) { return [s] }
        return try c.stringArray(i, "texts")
    }

    static let loadTokenizer = LuaFunc(
        "load_tokenizer", "Reads a Hugging Face tokenizer.json file (BPE, WordPiece or WordLevel model).",
        params: [LuaParam("path", .string, "the tokenizer.json file")],
        returns: "Tokenizer",
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
        errors: "the file is missing or is not valid JSON; an unsupported or malformed part (the message names it).",
        example: """
            local path = os.tmpname()
            text.word_vocab({"hello world"}):save(path, {overwrite = true})
            local tok = text.load_tokenizer(path)
            print(tok:encode("hello world"))
            os.remove(path)
            """
    ) { c in try c.ret(.object(try TextTokenizer.load(path: try c.checkString(1, "path")))) }

    static let tokenizerFromJSON = LuaFunc(
        "tokenizer_from_json", "Builds a tokenizer from tokenizer.json text held in a string.",
        params: [LuaParam("json", .string, "the tokenizer.json text")],
        returns: "Tokenizer",
        errors: "the text is not valid JSON or not a tokenizer.",
        example: "local json = text.char_vocab({\"abc\"}):to_json()\nlocal tok = text.tokenizer_from_json(json)\nprint(tok:encode(\"cab\"))"
    ) { c in try c.ret(.object(try TextTokenizer(json: try TextJSON.parse(try c.checkString(1, "json"))))) }

    static let trainBPE = LuaFunc(
        "train_bpe", "Trains a byte-level BPE tokenizer (GPT-2 style) on texts.",
        params: [texts],
        options: [
            LuaOpt("vocab_size", .integer(1...Int.max), .int(BPETrainer().vocabSize), "the vocabulary size to reach (specials and the 256 bytes included)"),
            LuaOpt("min_frequency", .integer(0...Int.max), .int(BPETrainer().minFrequency), "pairs seen fewer times are never merged"),
            LuaOpt("special_tokens", .strings, .strings(BPETrainer().specialTokens), "tokens first in the vocabulary (ids 0, 1, ...), matched whole in text"),
            LuaOpt("lowercase", .boolean, .bool(BPETrainer().lowercase), "lowercase the text first (adds a Lowercase normalizer)"),
            LuaOpt("add_prefix_space", .boolean, .bool(BPETrainer().addPrefixSpace), "a space before each text's first word, as GPT-2's add_prefix_space"),
        ],
        returns: "Tokenizer: save it with tok:save(path)",
        details: """
            Works like the Python library's ByteLevelBPETokenizer.train_from_iterator: texts are cut into
            words by the GPT-2 regex, the vocabulary starts with the special tokens and the 256 byte
            characters, then the most frequent pair of tokens is merged (ties: the pair of smallest ids)
            until vocab_size is reached or no pair is seen min_frequency times. On the tested corpora the
            merges and the saved tokenizer.json are identical to the Python library's. Shows progress on
            long corpora; Ctrl-C stops.
            """,
        example: """
            local tok = text.train_bpe({"the cat sat on the mat", "the dog sat on the log"}, {vocab_size = 270})
            local ids = tok:encode("the cat sat")
            print(#ids, tok:decode(ids))
            """
    ) { c in
        let o = try c.opts()
        var t = BPETrainer(vocabSize: try o.int("vocab_size"), minFrequency: try o.int("min_frequency"), specialTokens: try o.strings("special_tokens"))
        t.lowercase = try o.bool("lowercase")
        t.addPrefixSpace = try o.bool("add_prefix_space")
        let bar = ProgressBar("train_bpe", total: nil, unit: "tokens")
        defer { bar.finish() }
        return try c.ret(.object(try t.train(try texts(c, 1)) { stage, done, total in
            bar.total = total
            bar.update(done, note: stage)
        }))
    }

    static let vocabOptions = [
        LuaOpt("specials", .strings, .strings(TextVocabulary.Options().specials), "special tokens, first in the vocabulary (ids 0, 1, ...)"),
        LuaOpt("unk_token", .string, .string(TextVocabulary.Options().unkToken), "stands for anything not in the vocabulary (added to the specials if missing; \"\" drops unknown input)"),
        LuaOpt("min_freq", .integer(1...Int.max), .int(TextVocabulary.Options().minFrequency), "keep entries seen at least this many times"),
        LuaOpt("max_size", .integer(1...Int.max), .computed("no limit"), "at most this many entries in all, specials included"),
        LuaOpt("lowercase", .boolean, .bool(TextVocabulary.Options().lowercase), "lowercase the text first (adds a Lowercase normalizer)"),
    ]
    /// char_vocab and word_vocab: the same options, a different cut.
    static func vocabulary(_ name: String, _ summary: String, _ details: String, _ example: String,
                           _ build: @escaping ([String], TextVocabulary.Options) throws -> TextTokenizer) -> LuaFunc {
        LuaFunc(name, summary, params: [texts], options: vocabOptions, returns: "Tokenizer",
                details: "Entries follow the specials by descending count (ties in byte order). " + details,
                errors: "max_size smaller than the specials.", example: example) { c in
            let o = try c.opts()
            var v = TextVocabulary.Options()
            v.specials = try o.strings("specials")
            v.unkToken = try o.string("unk_token")
            v.minFrequency = try o.int("min_freq")
            v.maxSize = try o.intIfGiven("max_size")
            v.lowercase = try o.bool("lowercase")
            return try c.ret(.object(try build(try texts(c, 1), v)))
        }
    }

    static let charVocab = vocabulary(
        "char_vocab", "Builds a character-level tokenizer (one token per Unicode character) from texts.",
        "Saved as a tokenizer.json (BPE without merges, Fuse decoder), so decode gives the text back.",
        "local tok = text.char_vocab({\"hello\", \"world\"})\nprint(tok:vocab_size(), tok:encode(\"hold\"), tok:decode(tok:encode(\"hold\")))",
        TextVocabulary.characters)

    static let wordVocab = vocabulary(
        "word_vocab", "Builds a word-level tokenizer (words and punctuation runs) from texts.",
        "Words are cut like the Whitespace pre-tokenizer (\\w+|[^\\w\\s]+); decode joins tokens with spaces.",
        "local tok = text.word_vocab({\"the cat sat\", \"the dog sat!\"}, {min_freq = 1})\nprint(tok:encode(\"the bird sat\"), tok:id_to_token(1))",
        TextVocabulary.words)
}
