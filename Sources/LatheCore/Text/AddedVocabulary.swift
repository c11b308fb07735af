import Foundation

/// A token added on top of the model's vocabulary (special tokens such as `[CLS]` or
/// `<|im_start|>`, or user additions), matched in the text before the model runs.
public struct TextAddedToken: Sendable, Equatable {
    public var content: String
    public var singleWord = false
    public var lstrip = false
    public var rstrip = false
    /// Matched against the normalized text (true) or the original text (false).
    public var normalized: Bool
    /// Special tokens are skipped by `decode(..., skipSpecialTokens: true)`.
    public var special: Bool

    public init(_ content: String, special: Bool, normalized: Bool? = nil, singleWord: Bool = false,
                lstrip: Bool = false, rstrip: Bool = false) {
        self.content = content
        self.special = special
        self.normalized = normalized ?? !special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
    }

    static func from(_ j: TextJSON) throws(LatheError) -> (Int?, TextAddedToken) {
        guard let content = j["content"]?.stringValue else {
            throw LatheError("added_tokens: each entry needs a \"content\" string")
        }
        let special = j["special"]?.boolValue ?? false
        var t = TextAddedToken(content, special: special, normalized: j["normalized"]?.boolValue ?? !special)
        t.singleWord = j["single_word"]?.boolValue ?? false
        t.lstrip = j["lstrip"]?.boolValue ?? false
        t.rstrip = j["rstrip"]?.boolValue ?? false
        return (j["id"]?.intValue, t)
    }

    func sameOptions(_ o: TextAddedToken) -> Bool {
        singleWord == o.singleWord && lstrip == o.lstrip && rstrip == o.rstrip && normalized == o.normalized && special == o.special
    }

    func json(id: Int) -> TextJSON {
        .object([("id", .int(id)), ("content", .string(content)), ("single_word", .bool(singleWord)),
                 ("lstrip", .bool(lstrip)), ("rstrip", .bool(rstrip)), ("normalized", .bool(normalized)),
                 ("special", .bool(special))])
    }
}

/// A byte trie for leftmost-longest matching of added tokens.
struct TextTokenTrie {
    var children: [[UInt8: Int32]] = [[:]]
    var terminal: [Int32] = [-1]   // token id ending at the node, or -1
    var firstBytes = [Bool](repeating: false, count: 256)
    var isEmpty = true

    mutating func insert(_ key: [UInt8], id: Int32) {
        guard let f = key.first else { return }
        isEmpty = false
        firstBytes[Int(f)] = true
        var node = 0
        for b in key {
            if let c = children[node][b] {
                node = Int(c)
            } else {
                children.append([:])
                terminal.append(-1)
                let c = Int32(children.count - 1)
                children[node][b] = c
                node = Int(c)
            }
        }
        terminal[node] = id
    }

    /// The longest token starting at i: (id, end), or nil.
    @inline(__always)
    func longest(_ p: UnsafePointer<UInt8>, _ n: Int, at i: Int) -> (Int32, Int)? {
        var node = 0
        var best: (Int32, Int)? = nil
        var k = i
        while k < n, let c = children[node][p[k]] {
            node = Int(c)
            k += 1
            if terminal[node] >= 0 { best = (terminal[node], k) }
        }
        return best
    }
}

/// The added vocabulary of a tokenizer (the Rust library's `TextAddedVocabulary`).
final class TextAddedVocabulary: @unchecked Sendable {
    /// id -> token, and content -> id.
    private(set) var byId: [Int: TextAddedToken] = [:]
    /// Keyed by the exact UTF-8 bytes (Swift string equality is canonical equivalence).
    private(set) var byContent: [[UInt8]: Int] = [:]
    private(set) var specialSet: Set<[UInt8]> = []
    /// Normalized forms of normalized tokens whose form differs from their content.
    private(set) var normalizedForm: [Int: String] = [:]
    private var trie = TextTokenTrie()
    private var normTrie = TextTokenTrie()

    var isEmpty: Bool { byId.isEmpty }
    var count: Int { byContent.count }

    /// Adds tokens, giving each the model's id for its content or the next free id.
    @discardableResult
    func add(_ tokens: [TextAddedToken], model: TextModel, normalizer: TextNormalizer?, uc: TextUnicodeCache) throws(LatheError) -> Int {
        var added = 0
        let vs = model.vocabSize
        var nextId: Int = byId.keys.max().map { ($0 >= vs || vs == 0) ? $0 + 1 : vs } ?? vs
        for t in tokens {
            if t.content.isEmpty { continue }
            let key = Array(t.content.utf8)
            if let id = byContent[key], byId[id].map({ Array($0.content.utf8) == key && $0.sameOptions(t) }) == true { continue }
            let id: Int
            if let existing = byContent[key] {
                id = existing
            } else if let mid = model.tokenToId(t.content) {
                id = Int(mid)
            } else {
                id = nextId
                nextId += 1
            }
            if t.normalized, let normalizer {
                let n = try normalizer.apply(NText(original: Array(t.content.utf8)), uc).string
                if n != t.content { normalizedForm[id] = n }
            }
            byContent[key] = id
            if t.special { specialSet.insert(key) }
            byId[id] = t
            added += 1
        }
        rebuild()
        return added
    }

    private func rebuild() {
        trie = TextTokenTrie()
        normTrie = TextTokenTrie()
        for (id, t) in byId {
            if t.normalized {
                normTrie.insert(Array((normalizedForm[id] ?? t.content).utf8), id: Int32(id))
            } else {
                trie.insert(Array(t.content.utf8), id: Int32(id))
            }
        }
    }

    func isSpecial(_ content: String) -> Bool { specialSet.contains(Array(content.utf8)) }

    /// The token string of an added id (its normalized form for normalized tokens).
    func token(_ id: Int) -> String? {
        guard let t = byId[id] else { return nil }
        return normalizedForm[id] ?? t.content
    }

    func id(_ content: String) -> Int? { byContent[Array(content.utf8)] }

    /// Splits the input on added tokens, normalizing the rest (the Rust library's
    /// `extract_and_normalize`).
    func extractAndNormalize(_ text: [UInt8], normalizer: TextNormalizer?, uc: TextUnicodeCache) throws(LatheError) -> [TextPiece] {
        let whole = NText(original: text)
        var pieces: [TextPiece] = []
        for p in split(whole, trie) {
            if p.addedId >= 0 { pieces.append(p); continue }
            var t = p.text
            if let normalizer { t = try normalizer.apply(t, uc) }
            if t.isEmpty { continue }
            if normTrie.isEmpty {
                pieces.append(TextPiece(text: t))
            } else {
                pieces.append(contentsOf: split(t, normTrie))
            }
        }
        return pieces
    }

    private func split(_ t: NText, _ trie: TextTokenTrie) -> [TextPiece] {
        if trie.isEmpty || t.isEmpty { return t.isEmpty ? [] : [TextPiece(text: t)] }
        var out: [TextPiece] = []
        t.bytes.withUnsafeBufferPointer { buf in
            let p = buf.baseAddress!
            let n = buf.count
            var startOffset = 0
            var i = 0
            while i < n {
                guard trie.firstBytes[Int(p[i])], let (id, e) = trie.longest(p, n, at: i) else { i += 1; continue }
                var start = i
                var stop = e
                let tok = byId[Int(id)]
                if let tok, tok.singleWord {
                    let startOK = start == 0 || !TextAddedVocabulary.endsWithWord(p, start)
                    let stopOK = stop == n || !TextAddedVocabulary.startsWithWord(p, stop, n)
                    if !startOK || !stopOK { i = e; continue }
                }
                if let tok, tok.lstrip {
                    start = max(TextAddedVocabulary.trailingSpaceStart(p, start), startOffset)
                }
                if let tok, tok.rstrip {
                    stop = TextAddedVocabulary.leadingSpaceEnd(p, stop, n)
                }
                if startOffset < start { out.append(TextPiece(text: t.slice(startOffset, start))) }
                out.append(TextPiece(text: t.slice(start, stop), addedId: id))
                startOffset = stop
                i = stop
            }
            if startOffset < n { out.append(TextPiece(text: t.slice(startOffset, n))) }
        }
        return out
    }

    /// Does the text before `end` end with a word character (`\w$`)?
    static func endsWithWord(_ p: UnsafePointer<UInt8>, _ end: Int) -> Bool {
        var s = end - 1
        while s > 0 && p[s] & 0xC0 == 0x80 { s -= 1 }
        guard s >= 0 else { return false }
        return TextChar.isWordChar(TextChar.decode(p, s, end).0)
    }

    static func startsWithWord(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> Bool {
        guard start < n else { return false }
        return TextChar.isWordChar(TextChar.decode(p, start, n).0)
    }

    /// Start of the whitespace run that ends at `end`.
    static func trailingSpaceStart(_ p: UnsafePointer<UInt8>, _ end: Int) -> Int {
        var pos = end
        while pos > 0 {
            var s = pos - 1
            while s > 0 && p[s] & 0xC0 == 0x80 { s -= 1 }
            if !TextChar.isWhitespace(TextChar.decode(p, s, pos).0) { break }
            pos = s
        }
        return pos
    }

    /// End of the whitespace run that starts at `start`.
    static func leadingSpaceEnd(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> Int {
        var k = start
        while k < n {
            let (v, l) = TextChar.decode(p, k, n)
            if !TextChar.isWhitespace(v) { break }
            k += l
        }
        return k
    }

    var json: TextJSON {
        .array(byId.keys.sorted().map { byId[$0]!.json(id: $0) })
    }
}
