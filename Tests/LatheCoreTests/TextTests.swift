import Foundation
import Testing
import LatheCore

/// A tiny WordLevel tokenizer.json with the given parts (JSON text of each, or null).
func tinyTokenizer(normalizer: String = "null", preTokenizer: String = "null", postProcessor: String = "null",
                   decoder: String = "null", added: String = "[]", vocab: [String] = ["<unk>", "hello", "world", "."],
                   extra: String = "") throws -> TextTokenizer {
    let v = vocab.enumerated().map { "\"\($0.element)\": \($0.offset)" }.joined(separator: ", ")
    let json = """
        {"version": "1.0", "truncation": null, "padding": null, "added_tokens": \(added),
         "normalizer": \(normalizer), "pre_tokenizer": \(preTokenizer), "post_processor": \(postProcessor),
         "decoder": \(decoder), \(extra)
         "model": {"type": "WordLevel", "vocab": {\(v)}, "unk_token": "<unk>"}}
        """
    return try TextTokenizer(json: try TextJSON.parse(json))
}

// errorMessage(_:) is shared: Tests/LatheCoreTests/FormatsTests.swift

@Suite struct TextJSONTests {
    @Test func parsesAndKeepsKeyOrder() throws {
        let j = try TextJSON.parse(#"{"b": [1, 2.5, "x\n\u00e9\ud83d\ude00"], "a": null, "c": true, "d": -3e2}"#)
        #expect(j.objectValue?.map { $0.0 } == ["b", "a", "c", "d"])
        #expect(j["b"]?.arrayValue?[0] == .int(1))
        #expect(j["b"]?.arrayValue?[1] == .double(2.5))
        #expect(j["b"]?.arrayValue?[2].stringValue == "x\né😀")
        #expect(j["a"]?.isNull == true)
        #expect(j["d"]?.doubleValue == -300)
    }

    @Test func writesLikeSerdeJSON() throws {
        let j = TextJSON.object([("a", .array([])), ("b", .object([])), ("c", .array([.int(1), .string("q\"\\\u{1}é")])), ("d", .double(0.5))])
        #expect(j.serialized(pretty: true) == "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    \"q\\\"\\\\\\u0001é\"\n  ],\n  \"d\": 0.5\n}")
        #expect(j.serialized(pretty: false) == "{\"a\":[],\"b\":{},\"c\":[1,\"q\\\"\\\\\\u0001é\"],\"d\":0.5}")
        #expect(try TextJSON.parse(j.serialized()) == j)
    }

    @Test func errorsNameTheByte() {
        #expect(errorMessage { _ = try TextJSON.parse("{\"a\": [1, 2}") } == "invalid JSON at byte 11: expected ',' or ']'")
        #expect(errorMessage { _ = try TextJSON.parse("[1] x") } == "invalid JSON at byte 4: unexpected text after the JSON value")
        #expect(errorMessage { _ = try TextJSON.parse("\"abc") } == "invalid JSON at byte 4: unterminated string")
        #expect(errorMessage { _ = try TextJSON.parse(String(repeating: "[", count: 500)) } == "invalid JSON at byte 201: nested too deeply")
    }
}

@Suite struct TextPipelineTests {
    @Test func bertNormalizerOffsetsPointIntoTheOriginal() throws {
        let tok = try tinyTokenizer(normalizer: #"{"type": "BertNormalizer", "lowercase": true}"#,
                                    preTokenizer: #"{"type": "BertPreTokenizer"}"#,
                                    vocab: ["<unk>", "cafe", "東", "京", "hello"])
        let s = "Café\u{0}\t東京 HELLO"
        let e = try tok.encode(s)
        #expect(e.ids == [1, 2, 3, 4])
        let bytes = Array(s.utf8)
        let pieces = e.offsets.map { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) }
        #expect(pieces == ["Café", "東", "京", "HELLO"])
        #expect(try tok.normalize(s) == "cafe  東  京  hello")
    }

    @Test func nfcNfkcAndLowercaseSpecialCases() throws {
        let nfc = try tinyTokenizer(normalizer: #"{"type": "NFC"}"#)
        #expect(Array(try nfc.normalize("e\u{301} \u{1112}\u{1161}\u{11AB}").utf8) == Array("é 한".utf8))
        let nfkc = try tinyTokenizer(normalizer: #"{"type": "NFKC"}"#)
        #expect(try nfkc.normalize("ﬁ ① ＡＢ ｶ") == "fi 1 AB カ")
        let lower = try tinyTokenizer(normalizer: #"{"type": "Lowercase"}"#)
        #expect(Array(try lower.normalize("İSTANBUL ΣΑΣ").utf8) == Array("i̇stanbul σασ".utf8))
        let nfd = try tinyTokenizer(normalizer: #"{"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]}"#)
        #expect(try nfd.normalize("Ångström naïve") == "Angstrom naive")
    }

    /// The hand-written GPT-2 and Llama-3 scanners against the regex engine running the same
    /// patterns (wrapped in a group, so the scanner is not used) on random text.
    @Test func scannersAgreeWithTheRegexEngine() throws {
        let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        func split(_ pattern: String) throws -> TextTokenizer {
            let p = pattern.replacingOccurrences(of: "\\", with: "\\\\")
            return try tinyTokenizer(preTokenizer: #"{"type": "Split", "pattern": {"Regex": "\#(p)"}, "behavior": "Isolated", "invert": false}"#)
        }
        let pool: [String] = ["a", "b", "Z", "é", "ß", "東", "ſ", "S", "s", "t", "r", "e", "v", "l", "m", "d", "D", "'", "1", "7", "٣", "½",
                              " ", " ", " ", "\t", "\n", "\r", "\u{A0}", "\u{3000}", ",", ".", "!", "(", "😀", "\u{301}", "\u{200D}", "-", "_"]
        var rng = RandomGenerator(seed: 7)
        for (fast, slow) in [(try split(gpt2), try split("(?:" + gpt2 + ")")), (try split(llama3), try split("(?:" + llama3 + ")"))] {
            for _ in 0..<400 {
                let n = Int(rng.next() % 24)
                var s = ""
                for _ in 0..<n { s += pool[Int(rng.next() % UInt64(pool.count))] }
                let a = try fast.preTokenize(s).map { "\($0.start)-\($0.end)" }
                let b = try slow.preTokenize(s).map { "\($0.start)-\($0.end)" }
                #expect(a == b, "\(s.debugDescription)")
            }
        }
    }

    @Test func addedTokenOptions() throws {
        let added = """
            [{"id": 4, "content": "<mask>", "single_word": true, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
             {"id": 5, "content": "[x]", "single_word": false, "lstrip": false, "rstrip": true, "normalized": false, "special": false}]
            """
        let tok = try tinyTokenizer(preTokenizer: #"{"type": "WhitespaceSplit"}"#, added: added)
        let e = try tok.encode("hello  <mask> world [x]   hello a<mask>")
        #expect(e.ids == [1, 4, 2, 5, 1, 0])
        let bytes = Array("hello  <mask> world [x]   hello a<mask>".utf8)
        #expect(e.offsets.map { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) }
                == ["hello", "  <mask>", "world", "[x]   ", "hello", "a<mask>"])
        #expect(try tok.decode(e.ids) == "hello world [x] hello <unk>")
        #expect(tok.vocabSize(withAddedTokens: false) == 4 && tok.vocabSize() == 6)
    }

    @Test func truncationStrategiesAndErrors() throws {
        let tok = try tinyTokenizer(preTokenizer: #"{"type": "WhitespaceSplit"}"#)
        let a = "hello hello hello hello", b = "world world"
        #expect(try tok.encode(a, pair: b, truncation: .some(TextTruncation(maxLength: 4))).ids == [1, 1, 2, 2])
        #expect(try tok.encode(a, pair: b, truncation: .some(TextTruncation(maxLength: 3, strategy: .onlyFirst))).ids == [1, 2, 2])
        #expect(errorMessage { _ = try tok.encode(a, pair: b, truncation: .some(TextTruncation(maxLength: 3, strategy: .onlySecond))) }
                == "truncation: the second sequence is too short to fit max_length 3")
        #expect(errorMessage { _ = try tok.encode(a, truncation: .some(TextTruncation(maxLength: 2, strategy: .onlySecond))) }
                == "truncation: strategy only_second needs a pair of texts")
        #expect(try tok.encode(a, truncation: .some(TextTruncation(maxLength: 0))).ids == [])
    }

    @Test func batchPaddingAndParallelEncodingAgree() throws {
        let tok = try TextTokenizer.load(path: TextGolden.dir + "/bytelevel_bpe.json")
        let corpus = String(decoding: try AtomicFile.read(TextGolden.dir + "/corpus.txt"), as: UTF8.self)
        let lines = corpus.split(separator: "\n").prefix(300).map(String.init)
        let seq = try tok.encodeBatch(lines, withTokens: true, padding: .some(nil), threads: 1)
        let par = try tok.encodeBatch(lines, withTokens: true, padding: .some(nil), threads: 4)
        #expect(seq.map { $0.ids } == par.map { $0.ids })
        #expect(seq.map { $0.tokens } == par.map { $0.tokens })
        let padded = try tok.encodeBatch(Array(lines.prefix(5)), padding: .some(TextPadding(padToMultipleOf: 8, padId: 7)), threads: 2)
        let width = padded[0].count
        #expect(width % 8 == 0 && padded.allSatisfy { $0.count == width })
        #expect(padded.map { $0.attentionMask.reduce(0, +) } == seq.prefix(5).map { $0.count })
        let left = try tok.encodeBatch(["a", "a man"], padding: .some(TextPadding(left: true, padId: 9)))
        #expect(left[0].ids.first == 9 && left[0].attentionMask.first == 0)
    }

    @Test func labelsForPromptAndResponse() throws {
        var e = TextEncoding()
        e.ids = [10, 11, 12, 13, 14, 0]
        e.offsets = [(0, 0), (0, 3), (3, 7), (7, 12), (0, 0), (0, 0)]
        e.specialTokensMask = [1, 0, 0, 0, 1, 1]
        e.attentionMask = [1, 1, 1, 1, 1, 0]
        #expect(TextTokenizer.labels(e, responseStart: 5) == [-100, -100, 12, 13, 14, -100])
        #expect(TextTokenizer.labels(e, responseStart: 3) == [-100, -100, 12, 13, 14, -100])
        #expect(TextTokenizer.labels(e, responseStart: 0) == [-100, 11, 12, 13, 14, -100])
        #expect(TextTokenizer.labels(e, responseStart: 12) == [-100, -100, -100, -100, -100, -100])
    }

    @Test func malformedFilesGiveClearErrors() {
        func load(_ s: String) -> String? { errorMessage { _ = try TextTokenizer(json: try TextJSON.parse(s)) } }
        #expect(load(#"{"version": "2.0", "model": {}}"#) == "unknown tokenizer.json version \"2.0\" (expected \"1.0\")")
        #expect(load(#"{"version": "1.0"}"#) == "missing \"model\"")
        #expect(load(#"{"model": {"type": "WordPiece"}}"#) == "WordPiece model: missing \"vocab\" object")
        #expect(load(#"{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}"#) == "BPE model: vocab entry \"a\" has a bad id (expected a non-negative integer)")
        #expect(load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}}"#) == "BPE model: merge 1 \"a\" is not two tokens separated by one space")
        #expect(load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Magic"}}"#) == "unknown or unsupported pre_tokenizer type \"Magic\"")
        #expect(load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": {"type": "Precompiled"}}"#) == "the Precompiled normalizer (SentencePiece character maps) is not supported")
        #expect(load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}}"#)
                == "pre_tokenizer Split: regular expression \"(\": end pattern with unmatched parenthesis (group at offset 0)")
        #expect(load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}], "pair": [], "special_tokens": {}}}"#)
                == "post_processor TemplateProcessing: the template uses \"[X]\", which is not in \"special_tokens\"")
        #expect(errorMessage { _ = try TextTokenizer.load(path: "/nonexistent/tokenizer.json") } == "/nonexistent/tokenizer.json: no such file")
        let wp = #"{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}"#
        #expect(errorMessage { _ = try TextTokenizer(json: try TextJSON.parse(wp)).encode("b") }
                == "WordPiece model: the unk_token \"[UNK]\" is not in the vocabulary")
    }

    @Test func vocabulariesBuildAndRoundTrip() throws {
        var o = TextVocabulary.Options()
        o.maxSize = 5
        let chars = try TextVocabulary.characters(["aab", "abc"], o)
        #expect(chars.vocabSize() == 5)
        #expect(try chars.encode("abcd").ids == [2, 3, 4, 1])
        #expect(try chars.decode(try chars.encode("cab").ids) == "cab")
        var wo = TextVocabulary.Options()
        wo.lowercase = true
        let words = try TextVocabulary.words(["The cat sat.", "the cat!"], wo)
        #expect(words.idToToken(2) == "cat" && words.idToToken(3) == "the")
        let back = try TextTokenizer(json: try TextJSON.parse(words.json().serialized()))
        #expect(try back.encode("the cat sat!").ids == (try words.encode("the cat sat!").ids))
    }

    @Test func trainerStopsAtMinFrequencyAndReportsProgress() throws {
        var t = BPETrainer(vocabSize: 1000, minFrequency: 3)
        t.specialTokens = ["<s>"]
        var stages: Set<String> = []
        let tok = try t.train(["ab ab ab cd cd"]) { stage, _, _ in stages.insert(stage) }
        #expect(tok.tokenToId("<s>") == 0)
        #expect(tok.tokenToId("ab") != nil && tok.tokenToId("cd") == nil)
        #expect(stages.contains("Merging"))
        #expect(errorMessage { _ = try BPETrainer(vocabSize: 0).train(["x"]) } == "vocab_size must be positive (got 0)")
    }
}
