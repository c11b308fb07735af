import Foundation

/// Character-level and word-level vocabularies built from texts. Both are ordinary tokenizers
/// (saved as `tokenizer.json` files the Python library loads): the character vocabulary is a
/// BPE model without merges and a Fuse decoder; the word vocabulary a WordLevel model with the
/// Whitespace pre-tokenizer (`\w+|[^\w\s]+`).
public enum TextVocabulary {
    public struct Options {
        /// Special tokens, first in the vocabulary (ids 0, 1, ...).
        public var specials: [String] = ["<pad>", "<unk>"]
        /// The token for anything not in the vocabulary (added to the specials if missing).
        public var unkToken = "<unk>"
        /// Keep entries seen at least this many times.
        public var minFrequency = 1
        /// At most this many entries in all, specials included.
        public var maxSize: Int?
        public var lowercase = false

        public init() {}
    }

    static func specialsList(_ o: Options) -> [String] {
        var s: [String] = []
        for x in o.specials where !x.isEmpty && !s.contains(where: { Array($0.utf8) == Array(x.utf8) }) { s.append(x) }
        if !o.unkToken.isEmpty && !s.contains(where: { Array($0.utf8) == Array(o.unkToken.utf8) }) { s.append(o.unkToken) }
        return s
    }

    /// Entries by descending count, ties in byte order, cut by min frequency and size.
    static func ranked(_ counts: [[UInt8]: Int], _ o: Options, reserved: Int) -> [[UInt8]] {
        var items = counts.filter { $0.value >= o.minFrequency }.map { ($0.key, $0.value) }
        items.sort { a, b in a.1 != b.1 ? a.1 > b.1 : a.0.lexicographicallyPrecedes(b.0) }
        var keys = items.map { $0.0 }
        if let m = o.maxSize { keys = Array(keys.prefix(max(0, m - reserved))) }
        return keys
    }

    static func validate(_ o: Options) throws(LatheError) {
        if o.minFrequency < 1 { throw LatheError("min_freq must be at least 1 (got \(o.minFrequency))") }
        if let m = o.maxSize, m < specialsList(o).count {
            throw LatheError("max_size \(m) is smaller than the \(specialsList(o).count) special tokens")
        }
    }

    /// A character-level tokenizer: one token per Unicode character.
    public static func characters(_ texts: [String], _ o: Options = Options()) throws(LatheError) -> TextTokenizer {
        try validate(o)
        let specials = specialsList(o)
        let uc = TextUnicodeCache()
        var counts: [[UInt8]: Int] = [:]
        for (k, t) in texts.enumerated() {
            if k % 4096 == 0 { try Interrupt.check() }
            var text = NText(original: Array(t.utf8))
            if o.lowercase { text = TextNormalizer.lowercased(text, uc) }
            text.bytes.withUnsafeBufferPointer { buf in
                guard let p = buf.baseAddress else { return }
                var i = 0
                while i < buf.count {
                    let l = min(TextChar.seqLen(p[i]), buf.count - i)
                    counts[Array(buf[i..<(i + l)]), default: 0] += 1
                    i += l
                }
            }
        }
        for s in specials { counts[Array(s.utf8)] = nil }
        let chars = ranked(counts, o, reserved: specials.count)
        let vocabR: [String?] = specials.map { Optional($0) } + chars.map { String(decoding: $0, as: UTF8.self) }
        let model = try BPEModel(vocabR: vocabR, merges: [], unkToken: o.unkToken.isEmpty ? nil : o.unkToken,
                                 prefix: nil, suffix: nil, fuseUnk: false, byteFallback: false,
                                 ignoreMerges: false, dropout: nil)
        return try TextTokenizer(model: .bpe(model), normalizer: o.lowercase ? .lowercase : nil, preTokenizer: nil,
                             postProcessor: nil, decoder: .fuse,
                             addedTokens: specials.map { TextAddedToken($0, special: true) })
    }

    /// A word-level tokenizer: words and punctuation runs (`\w+|[^\w\s]+`).
    public static func words(_ texts: [String], _ o: Options = Options()) throws(LatheError) -> TextTokenizer {
        try validate(o)
        let specials = specialsList(o)
        let uc = TextUnicodeCache()
        let pre = TextPreTokenizer.whitespace
        var counts: [[UInt8]: Int] = [:]
        for (k, t) in texts.enumerated() {
            if k % 4096 == 0 { try Interrupt.check() }
            var text = NText(original: Array(t.utf8))
            if o.lowercase { text = TextNormalizer.lowercased(text, uc) }
            if text.isEmpty { continue }
            var pieces = [TextPiece(text: text)]
            try pre.apply(&pieces)
            for p in pieces { counts[Array(p.text.bytes), default: 0] += 1 }
        }
        for s in specials { counts[Array(s.utf8)] = nil }
        let words = ranked(counts, o, reserved: specials.count)
        let vocabR: [String?] = specials.map { Optional($0) } + words.map { String(decoding: $0, as: UTF8.self) }
        let model = WordLevelModel(vocabR: vocabR, unkToken: o.unkToken)
        return try TextTokenizer(model: .wordLevel(model), normalizer: o.lowercase ? .lowercase : nil, preTokenizer: pre,
                             postProcessor: nil, decoder: nil,
                             addedTokens: specials.map { TextAddedToken($0, special: true) })
    }
}
