import Foundation

/// Trains a byte-level BPE tokenizer the way the Python library's `ByteLevelBPETokenizer`
/// (`BpeTrainer` with the 256-character byte alphabet) does: words from the ByteLevel
/// pre-tokenizer, special tokens first, the alphabet sorted by code point, then merges of the
/// most frequent pair (ties: the pair of smallest ids) until the vocabulary is full.
public struct BPETrainer {
    public var vocabSize = 30000
    /// Pairs seen fewer times than this are never merged.
    public var minFrequency = 2
    public var specialTokens: [String] = []
    /// Lowercase the text first (adds a Lowercase normalizer).
    public var lowercase = false
    /// Put a space before the first word of each text (as GPT-2's `add_prefix_space`).
    public var addPrefixSpace = false

    public init(vocabSize: Int = 30000, minFrequency: Int = 2, specialTokens: [String] = []) {
        self.vocabSize = vocabSize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens
    }

    /// A heap entry: a pair with the count it had when pushed and the words it occurs in.
    struct Merge {
        var a: Int32
        var b: Int32
        var count: Int64
        var pos: [Int32]
    }

    @inline(__always)
    static func before(_ x: Merge, _ y: Merge) -> Bool {
        // max-heap on count; ties: smaller pair first
        if x.count != y.count { return x.count > y.count }
        if x.a != y.a { return x.a < y.a }
        return x.b < y.b
    }

    /// Trains on `texts`. `progress(stage, done, total)` is called now and then; Ctrl-C stops
    /// with `LatheError.interrupted`.
    public func train(_ texts: [String], progress: ((String, Int, Int) -> Void)? = nil) throws(LatheError) -> TextTokenizer {
        if vocabSize < 1 { throw LatheError("vocab_size must be positive (got \(vocabSize))") }
        if minFrequency < 0 { throw LatheError("min_frequency must be non-negative (got \(minFrequency))") }
        let normalizer: TextNormalizer? = lowercase ? .lowercase : nil
        let pre = TextPreTokenizer.byteLevel(addPrefixSpace: addPrefixSpace, trimOffsets: true, useRegex: true)
        let uc = TextUnicodeCache()

        // 1. word counts (words in raw bytes; their byte-level form only matters for ids)
        var wordIndex: [[UInt8]: Int] = [:]
        var words: [[UInt8]] = []
        var counts: [Int64] = []
        for (k, t) in texts.enumerated() {
            if k % 1024 == 0 {
                try Interrupt.check()
                progress?("Pre-processing", k, texts.count)
            }
            var text = NText(original: Array(t.utf8))
            if let normalizer { text = try normalizer.apply(text, uc) }
            if text.isEmpty { continue }
            var pieces = [TextPiece(text: text)]
            try pre.apply(&pieces)
            for p in pieces {
                let w = Array(p.text.bytes)
                if let i = wordIndex[w] {
                    counts[i] += 1
                } else {
                    wordIndex[w] = words.count
                    words.append(w)
                    counts.append(1)
                }
            }
        }

        // 2. vocabulary: special tokens, then the byte alphabet sorted by code point
        var idToWord: [String] = []
        var wordToId: [String: Int32] = [:]   // exact strings: all byte-level tokens are distinct as scalars
        func addWord(_ s: String) {
            if wordToId[s] == nil {
                wordToId[s] = Int32(idToWord.count)
                idToWord.append(s)
            }
        }
        for s in specialTokens where !s.isEmpty { addWord(s) }
        for c in TextByteLevel.byteToChar.sorted() {
            var s = ""
            s.unicodeScalars.append(Unicode.Scalar(c) ?? " ")
            addWord(s)
        }
        var byteId = [Int32](repeating: 0, count: 256)
        for b in 0..<256 {
            var s = ""
            s.unicodeScalars.append(Unicode.Scalar(TextByteLevel.byteToChar[b]) ?? " ")
            byteId[b] = wordToId[s] ?? 0
        }

        // 3. words as symbol ids
        var syms: [[Int32]] = words.map { w in w.map { byteId[Int($0)] } }

        // 4. pair counts and where each pair occurs
        var pairCounts: [UInt64: Int64] = [:]
        var whereToUpdate: [UInt64: Set<Int32>] = [:]
        for (i, s) in syms.enumerated() where s.count > 1 {
            for k in 0..<(s.count - 1) {
                let key = TextPairTable.key(s[k], s[k + 1])
                pairCounts[key, default: 0] += counts[i]
                whereToUpdate[key, default: []].insert(Int32(i))
            }
        }
        var heap: [Merge] = []
        func push(_ m: Merge) {
            heap.append(m)
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) >> 1
                if !BPETrainer.before(heap[c], heap[p]) { break }
                heap.swapAt(c, p)
                c = p
            }
        }
        func pop() -> Merge? {
            guard !heap.isEmpty else { return nil }
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var c = 0
                let n = heap.count
                while true {
                    let l = 2 * c + 1
                    if l >= n { break }
                    var m = l
                    if l + 1 < n && BPETrainer.before(heap[l + 1], heap[l]) { m = l + 1 }
                    if !BPETrainer.before(heap[m], heap[c]) { break }
                    heap.swapAt(c, m)
                    c = m
                }
            }
            return top
        }
        func flushUpdates() {
            for (key, pos) in whereToUpdate {
                let count = pairCounts[key] ?? 0
                if count > 0 {
                    push(Merge(a: Int32(truncatingIfNeeded: key >> 32), b: Int32(truncatingIfNeeded: key & 0xFFFF_FFFF),
                               count: count, pos: Array(pos)))
                }
            }
            whereToUpdate.removeAll(keepingCapacity: true)
        }
        flushUpdates()

        // 5. merges
        var merges: [(Int32, Int32, Int32)] = []
        var steps = 0
        while idToWord.count < vocabSize {
            guard var top = pop() else { break }
            let key = TextPairTable.key(top.a, top.b)
            let current = pairCounts[key] ?? 0
            if top.count != current {
                top.count = current
                push(top)
                continue
            }
            if top.count < 1 || Int64(minFrequency) > top.count { break }
            steps += 1
            if steps % 64 == 0 {
                try Interrupt.check()
                progress?("Merging", idToWord.count, vocabSize)
            }
            let newToken = idToWord[Int(top.a)] + idToWord[Int(top.b)]
            let newId: Int32
            if let e = wordToId[newToken] { newId = e } else {
                newId = Int32(idToWord.count)
                wordToId[newToken] = newId
                idToWord.append(newToken)
            }
            merges.append((top.a, top.b, newId))
            for wi in top.pos {
                let w = Int(wi)
                var s = syms[w]
                var i = 0
                while i < s.count {
                    if s[i] == top.a && i + 1 < s.count && s[i + 1] == top.b {
                        let c = counts[w]
                        if i > 0 {
                            let k1 = TextPairTable.key(s[i - 1], top.a)
                            pairCounts[k1, default: 0] -= c
                            let k2 = TextPairTable.key(s[i - 1], newId)
                            pairCounts[k2, default: 0] += c
                            whereToUpdate[k2, default: []].insert(wi)
                        }
                        s[i] = newId
                        s.remove(at: i + 1)
                        if i < s.count - 1 {
                            let k1 = TextPairTable.key(top.b, s[i + 1])
                            pairCounts[k1, default: 0] -= c
                            let k2 = TextPairTable.key(newId, s[i + 1])
                            pairCounts[k2, default: 0] += c
                            whereToUpdate[k2, default: []].insert(wi)
                        }
                    }
                    i += 1
                }
                syms[w] = s
            }
            flushUpdates()
        }
        progress?("Merging", idToWord.count, vocabSize)

        // the model: merges by rank, a pair merged twice keeps its last rank
        var mergeStrings: [(String, String)] = []
        mergeStrings.reserveCapacity(merges.count)
        var lastRank: [UInt64: Int] = [:]
        for (r, m) in merges.enumerated() { lastRank[TextPairTable.key(m.0, m.1)] = r }
        for (r, m) in merges.enumerated() where lastRank[TextPairTable.key(m.0, m.1)] == r {
            mergeStrings.append((idToWord[Int(m.0)], idToWord[Int(m.1)]))
        }
        let model = try BPEModel(vocabR: idToWord.map { Optional($0) }, merges: mergeStrings, unkToken: nil,
                                 prefix: nil, suffix: nil, fuseUnk: false, byteFallback: false,
                                 ignoreMerges: false, dropout: nil)
        let specials = specialTokens.filter { !$0.isEmpty }.map { TextAddedToken($0, special: true) }
        return try TextTokenizer(model: .bpe(model), normalizer: normalizer, preTokenizer: pre,
                             postProcessor: .byteLevel(trimOffsets: false, addPrefixSpace: true),
                             decoder: .byteLevel, addedTokens: specials)
    }
}
