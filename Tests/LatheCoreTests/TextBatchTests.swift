import Testing
import LatheCore

/// Batches, prompt masks and the checks on truncation and padding settings (the engine side
/// of `tok:encode_batch`, `tok:mask_prompt`, `tok:truncation` and `tok:padding`).
@Suite struct TextBatchTests {
    /// <pad> 0, <unk> 1, <eos> 2, then the 3, a 4, cat 5, dog 6, mat 7, on 8, sat 9.
    func words() throws -> TextTokenizer {
        var o = TextVocabulary.Options()
        o.specials = ["<pad>", "<unk>", "<eos>"]
        return try TextVocabulary.words(["the cat sat on the mat", "a dog"], o)
    }

    @Test func padsToTheLongestWithThePadToken() throws {
        let b = try words().batch(["the cat", "a dog sat"])
        #expect(b.ids.shape == [2, 3] && b.ids.dtype == .int64)
        #expect(try b.ids.toInt64Array() == [3, 5, 0, 4, 6, 9])
        #expect(try b.mask.toInt64Array() == [1, 1, 0, 1, 1, 1])
        #expect(b.labels == nil)
    }

    @Test func fixedLengthOnTheLeftWithAnotherPadId() throws {
        var o = TextBatchOptions()
        o.maxLength = 4
        o.padding = .maxLength
        o.padLeft = true
        o.padId = 2
        let b = try words().batch(["the cat", "a dog sat on the mat"], o)
        #expect(try b.ids.toInt64Array() == [2, 2, 3, 5, 4, 6, 9, 8])
        #expect(try b.mask.toInt64Array() == [0, 0, 1, 1, 1, 1, 1, 1])
    }

    @Test func labelsMaskThePromptAndPadding() throws {
        var o = TextBatchOptions()
        o.responseStarts = [7, 1]
        let b = try words().batch(["the cat sat", "a dog"], o)
        #expect(try b.labels?.toInt64Array() == [-100, -100, 9, -100, 6, -100])
        o.responseStarts = [7]
        #expect(errorMessage { _ = try words().batch(["a", "b"], o) } == "response_starts: expected 2 byte offsets, one per text, got 1")
    }

    @Test func batchErrors() throws {
        let tok = try words()
        var o = TextBatchOptions()
        o.padding = .doNotPad
        #expect(errorMessage { _ = try tok.batch(["a", "the cat sat"], o) }
                == "texts encode to different lengths (1 for text 1, 3 for text 2); pass padding = true")
        o.padding = .maxLength
        #expect(errorMessage { _ = try tok.batch(["a"], o) } == "padding \"max_length\" needs the max_length option")
        o = TextBatchOptions()
        o.truncation = true
        #expect(errorMessage { _ = try tok.batch(["a"], o) } == "truncation = true needs max_length or a tokenizer truncation setting")
        o.maxLength = 0
        #expect(errorMessage { _ = try tok.batch(["a"], o) } == "max_length must be from 1 to 16777216 (got 0)")
    }

    @Test func theTokenizerSettingsApplyUnlessOverridden() throws {
        let tok = try words()
        tok.padding = TextPadding(length: 10, padId: 1)
        tok.truncation = TextTruncation(maxLength: 8)
        var (t, p) = try tok.batchSettings(TextBatchOptions())
        #expect(t == TextTruncation(maxLength: 8) && p == TextPadding(length: 10, padId: 1))
        var o = TextBatchOptions()
        o.maxLength = 4
        o.truncateLeft = true
        (t, p) = try tok.batchSettings(o)
        #expect(t == TextTruncation(maxLength: 4, left: true) && p?.length == 4 && p?.padId == 1)
        o.truncation = false
        o.padding = .longest
        (t, p) = try tok.batchSettings(o)
        #expect(t == nil && p?.length == nil)
    }

    @Test func maskPromptAndDecodeBatch() throws {
        let tok = try words()
        let r = try tok.maskPrompt("the cat sat", responseStart: 7)
        #expect(r.ids == [3, 5, 9] && r.labels == [-100, -100, 9])
        let cut = try tok.maskPrompt("the cat sat", responseStart: 7, maxLength: 2, truncateLeft: true)
        #expect(cut.ids == [5, 9] && cut.labels == [-100, 9])
        #expect(errorMessage { _ = try tok.maskPrompt("a", responseStart: -1) } == "response_start must be a non-negative byte offset (got -1)")
        #expect(try tok.decodeBatch([[3, 5, 0], [4]]) == ["the cat", "a"])
        #expect(try tok.decodeBatch([[3, 0]], skipSpecialTokens: false) == ["the <pad>"])
    }

    @Test func settingsAreCheckedAsTheTokenizerJSONReaderChecksThem() throws {
        #expect(errorMessage { _ = try TextTruncation(maxLength: 2, stride: 2).validated() }
                == "truncation: \"stride\" (2) must be smaller than \"max_length\" (2)")
        #expect(errorMessage { _ = try TextTruncation(maxLength: -1).validated() }
                == "truncation: \"max_length\" must be a non-negative integer (got -1)")
        #expect(try TextTruncation(maxLength: 2, stride: 1).validated().stride == 1)
        #expect(try TextTruncation(maxLength: 0).validated().maxLength == 0)
        #expect(errorMessage { _ = try TextPadding(length: -5).validated() } == "padding: \"length\" must be a non-negative integer (got -5)")
        #expect(errorMessage { _ = try TextPadding(padId: -1).validated() } == "padding: \"pad_id\" must be a non-negative integer (got -1)")
        #expect(errorMessage { _ = try TextPadding(length: TextTokenizer.maxLength + 1).validated() }
                == "padding length 16777217 is too large (at most 16777216)")
        #expect(TextTruncation.Strategy.allCases.map(\.name) == ["longest_first", "only_first", "only_second"])
        #expect(TextTruncation.Strategy(name: "only_second") == .onlySecond && TextTruncation.Strategy(name: "OnlySecond") == nil)
    }
}
