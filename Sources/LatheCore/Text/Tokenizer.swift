import Foundation

/// Truncation settings (the Python library's `enable_truncation`).
public struct TextTruncation: Sendable, Equatable {
    public enum Strategy: String, Sendable, CaseIterable {
        case longestFirst = "LongestFirst", onlyFirst = "OnlyFirst", onlySecond = "OnlySecond"

        /// The name the Python library's `enable_truncation(strategy=)` takes ("longest_first").
        public var name: String {
            switch self {
            case .longestFirst: return "longest_first"
            case .onlyFirst: return "only_first"
            case .onlySecond: return "only_second"
            }
        }
        public init?(name: String) {
            guard let s = Strategy.allCases.first(where: { $0.name == name }) else { return nil }
            self = s
        }
    }
    public var maxLength: Int
    public var strategy: Strategy = .longestFirst
    public var stride = 0
    /// Cut tokens from the left (keep the end) instead of the right.
    public var left = false

    public init(maxLength: Int, strategy: Strategy = .longestFirst, stride: Int = 0, left: Bool = false) {
        self.maxLength = maxLength
        self.strategy = strategy
        self.stride = stride
        self.left = left
    }

    static func from(_ j: TextJSON) throws(LatheError) -> TextTruncation? {
        if j.isNull { return nil }
        guard let m = try j.usize("max_length", in: "truncation") else { throw LatheError("truncation: \"max_length\" is missing") }
        var p = TextTruncation(maxLength: m)
        if let s = j["strategy"]?.stringValue {
            guard let st = Strategy(rawValue: s) else { throw LatheError("truncation: unknown strategy \"\(s)\"") }
            p.strategy = st
        }
        p.stride = try j.usize("stride", in: "truncation") ?? 0
        p.left = j["direction"]?.stringValue == "Left"
        return try p.validated()
    }

    /// The settings when the tokenizers library would accept them (the checks its
    /// tokenizer.json reader makes): non-negative lengths, a stride below max_length (the
    /// reference panics on the first long text instead).
    public func validated() throws(LatheError) -> TextTruncation {
        if maxLength < 0 { throw LatheError("truncation: \"max_length\" must be a non-negative integer (got \(maxLength))") }
        if stride < 0 { throw LatheError("truncation: \"stride\" must be a non-negative integer (got \(stride))") }
        if stride > 0 && stride >= maxLength {
            throw LatheError("truncation: \"stride\" (\(stride)) must be smaller than \"max_length\" (\(maxLength))")
        }
        return self
    }

    var json: TextJSON {
        .object([("direction", .string(left ? "Left" : "Right")), ("max_length", .int(maxLength)),
                 ("strategy", .string(strategy.rawValue)), ("stride", .int(stride))])
    }
}

/// Padding settings (the Python library's `enable_padding`).
public struct TextPadding: Sendable, Equatable {
    /// Pad to this length, or (nil) to the longest encoding of the batch.
    public var length: Int?
    public var left = false
    public var padToMultipleOf: Int?
    public var padId = 0
    public var padTypeId = 0
    public var padToken = "[PAD]"

    public init(length: Int? = nil, left: Bool = false, padToMultipleOf: Int? = nil, padId: Int = 0,
                padTypeId: Int = 0, padToken: String = "[PAD]") {
        self.length = length
        self.left = left
        self.padToMultipleOf = padToMultipleOf
        self.padId = padId
        self.padTypeId = padTypeId
        self.padToken = padToken
    }

    static func from(_ j: TextJSON) throws(LatheError) -> TextPadding? {
        if j.isNull { return nil }
        var p = TextPadding()
        if let s = j["strategy"] {
            if let f = try s.usize("Fixed", in: "padding strategy") { p.length = f } else if s.stringValue != "BatchLongest" {
                throw LatheError("padding: \"strategy\" must be \"BatchLongest\" or {\"Fixed\": n}")
            }
        }
        p.left = j["direction"]?.stringValue == "Left"
        p.padToMultipleOf = try j.usize("pad_to_multiple_of", in: "padding")
        p.padId = try j.usize("pad_id", in: "padding") ?? 0
        p.padTypeId = try j.usize("pad_type_id", in: "padding") ?? 0
        p.padToken = j["pad_token"]?.stringValue ?? "[PAD]"
        return p
    }

    /// The settings when encoding can use them: non-negative numbers (as the tokenizer.json
    /// reader requires) and a length of at most `TextTokenizer.maxLength`.
    public func validated() throws(LatheError) -> TextPadding {
        let counts: [(String, Int?)] = [("length", length), ("pad_to_multiple_of", padToMultipleOf), ("pad_id", padId), ("pad_type_id", padTypeId)]
        for (name, v) in counts {
            if let v, v < 0 { throw LatheError("padding: \"\(name)\" must be a non-negative integer (got \(v))") }
        }
        if let l = length, l > TextTokenizer.maxLength {
            throw LatheError("padding length \(l) is too large (at most \(TextTokenizer.maxLength))")
        }
        return self
    }

    var json: TextJSON {
        .object([("strategy", length.map { .object([("Fixed", .int($0))]) } ?? .string("BatchLongest")),
                 ("direction", .string(left ? "Left" : "Right")),
                 ("pad_to_multiple_of", padToMultipleOf.map { .int($0) } ?? .null),
                 ("pad_id", .int(padId)), ("pad_type_id", .int(padTypeId)), ("pad_token", .string(padToken))])
    }
}

/// A tokenizer read from (or written as) a Hugging Face `tokenizer.json`: normalizer,
/// pre-tokenizer, model (BPE, WordPiece, WordLevel), post-processor, decoder and added tokens,
/// with encode/decode giving the ids and text the Python `tokenizers` library gives.
public final class TextTokenizer: @unchecked Sendable {
    var normalizer: TextNormalizer?
    var preTokenizer: TextPreTokenizer?
    var model: TextModel
    var postProcessor: TextPostProcessor?
    var decoder: TextDecoder?
    let added = TextAddedVocabulary()
    /// Truncation applied by `encode` (set from the file; change or clear it freely).
    public var truncation: TextTruncation?
    /// Padding applied by `encode` and `encodeBatch` (set from the file).
    public var padding: TextPadding?
    /// The JSON of each part as read, written back unchanged by `json()`.
    var partJSON: [String: TextJSON] = [:]

    let workspace = TextWorkspace()
    private var pool: [TextWorkspace] = []
    private let poolLock = NSLock()

    /// What kind of model this is ("BPE", "WordPiece", "WordLevel").
    public var modelType: String {
        switch model {
        case .bpe: return "BPE"
        case .wordPiece: return "WordPiece"
        case .wordLevel: return "WordLevel"
        }
    }

    // MARK: Loading

    /// Reads a `tokenizer.json` file.
    public static func load(path: String) throws(LatheError) -> TextTokenizer {
        let bytes = try AtomicFile.read(path)
        do {
            return try TextTokenizer(json: try TextJSON.parse(bytes))
        } catch {
            throw LatheError("\(path): \(error.message)")
        }
    }

    /// Builds a tokenizer from parsed `tokenizer.json` content.
    public init(json j: TextJSON) throws(LatheError) {
        guard case .object = j else { throw LatheError("a tokenizer.json must hold a JSON object (got \(j.kindName))") }
        if let v = j["version"]?.stringValue, v != "1.0" {
            throw LatheError("unknown tokenizer.json version \"\(v)\" (expected \"1.0\")")
        }
        guard let mj = j["model"] else { throw LatheError("missing \"model\"") }
        model = try TextModel.from(mj)
        normalizer = try j["normalizer"].map { (x) throws(LatheError) in try TextNormalizer.from(x) } ?? nil
        preTokenizer = try j["pre_tokenizer"].map { (x) throws(LatheError) in try TextPreTokenizer.from(x) } ?? nil
        postProcessor = try j["post_processor"].map { (x) throws(LatheError) in try TextPostProcessor.from(x) } ?? nil
        decoder = try j["decoder"].map { (x) throws(LatheError) in try TextDecoder.from(x) } ?? nil
        truncation = try j["truncation"].map { (x) throws(LatheError) in try TextTruncation.from(x) } ?? nil
        padding = try j["padding"].map { (x) throws(LatheError) in try TextPadding.from(x) } ?? nil
        for k in ["normalizer", "pre_tokenizer", "post_processor", "decoder"] { if let x = j[k] { partJSON[k] = x } }
        var toks: [TextAddedToken] = []
        if let arr = j["added_tokens"]?.arrayValue {
            for a in arr { toks.append(try TextAddedToken.from(a).1) }
        } else if let a = j["added_tokens"], !a.isNull {
            throw LatheError("\"added_tokens\" must be an array")
        }
        try added.add(toks, model: model, normalizer: normalizer, uc: workspace.unicode)
    }

    init(model: TextModel, normalizer: TextNormalizer?, preTokenizer: TextPreTokenizer?,
         postProcessor: TextPostProcessor?, decoder: TextDecoder?, addedTokens: [TextAddedToken]) throws(LatheError) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        try added.add(addedTokens, model: model, normalizer: normalizer, uc: workspace.unicode)
    }

    // MARK: Vocabulary

    /// Vocabulary size; with added tokens counted once (the Python `get_vocab_size(True)`).
    public func vocabSize(withAddedTokens: Bool = true) -> Int {
        let base = model.vocabSize
        guard withAddedTokens else { return base }
        var extra = 0
        for (content, _) in added.byContentPairs() where model.tokenToId(content) == nil { extra += 1 }
        return base + extra
    }

    public func tokenToId(_ token: String) -> Int? {
        if let id = added.id(token) { return id }
        return model.tokenToId(token).map { Int($0) }
    }

    public func idToToken(_ id: Int) -> String? {
        added.token(id) ?? model.idToToken(id)
    }

    /// The whole vocabulary, added tokens included, as (token, id) pairs in id order (a list,
    /// not a dictionary: Swift dictionaries would merge canonically equivalent tokens).
    public func vocabulary() -> [(token: String, id: Int)] {
        var v: [(String, Int)] = []
        v.reserveCapacity(model.vocabR.count + added.count)
        var seen = Set<[UInt8]>()
        for (k, id) in added.byContentPairs() { v.append((k, id)); seen.insert(Array(k.utf8)) }
        for (id, k) in model.vocabR.enumerated() { if let k, !seen.contains(Array(k.utf8)) { v.append((k, id)) } }
        return v.sorted { $0.1 < $1.1 }
    }

    /// Is this id a special added token?
    public func isSpecial(_ id: Int) -> Bool {
        guard let t = added.byId[id] else { return false }
        return t.special
    }

    /// The added tokens with their ids, in id order.
    public var addedTokens: [(id: Int, token: TextAddedToken)] {
        added.byId.keys.sorted().compactMap { id in added.byId[id].map { (id, $0) } }
    }

    /// Adds tokens to the vocabulary (special ones are matched in text and skipped when
    /// decoding). Returns how many were new.
    @discardableResult
    public func addTokens(_ tokens: [TextAddedToken]) throws(LatheError) -> Int {
        try added.add(tokens, model: model, normalizer: normalizer, uc: workspace.unicode)
    }

    // MARK: Inspecting the pipeline

    /// The text after the normalizer alone (the Python `normalizer.normalize_str`).
    public func normalize(_ text: String) throws(LatheError) -> String {
        guard let normalizer else { return text }
        return try normalizer.apply(NText(original: Array(text.utf8)), workspace.unicode).string
    }

    /// The pieces the pre-tokenizer alone cuts the text into, with their byte offsets in the
    /// text (the Python `pre_tokenizer.pre_tokenize_str`).
    public func preTokenize(_ text: String) throws(LatheError) -> [(piece: String, start: Int, end: Int)] {
        var pieces = [TextPiece(text: NText(original: Array(text.utf8)))]
        if pieces[0].text.isEmpty { pieces = [] }
        try preTokenizer?.apply(&pieces)
        return pieces.map { p in
            let t = p.text.materializedByteLevel()
            let (s, e) = t.originalRange(0, t.count)
            return (t.string, s, e)
        }
    }

    // MARK: Encoding

    private var trimsOffsets: Bool {
        func check(_ p: TextPostProcessor) -> Bool {
            switch p {
            case .byteLevel(let t, _), .roberta(_, _, let t, _): return t
            case .sequence(let ps): return ps.contains(where: check)
            default: return false
            }
        }
        return postProcessor.map(check) ?? false
    }

    /// Encodes one sequence without post-processing.
    func encodeSequence(_ text: String, typeId: Int, withTokens: Bool, _ ws: TextWorkspace) throws(LatheError) -> TextEncoding {
        let bytes = Array(text.utf8)
        if bytes.count >= Int(Int32.max) { throw LatheError("text too long (\(bytes.count) bytes; at most 2 GB)") }
        var pieces = try added.extractAndNormalize(bytes, normalizer: normalizer, uc: ws.unicode)
        try preTokenizer?.apply(&pieces)
        var e = TextEncoding()
        e.ids.reserveCapacity(bytes.count / 3 + 4)
        e.offsets.reserveCapacity(bytes.count / 3 + 4)
        for (w, piece) in pieces.enumerated() {
            if piece.addedId >= 0 {
                e.ids.append(Int(piece.addedId))
                e.offsets.append(piece.text.originalRange(0, piece.text.count))
                if withTokens { e.tokens.append(piece.text.string) }
                e.wordIds.append(w)
                continue
            }
            let text = model.prepare(piece.text)
            try model.tokenize(text, ws)
            let toks = ws.toks
            var k = 0
            while k < toks.count {
                let id = Int(toks[k])
                e.ids.append(id)
                e.offsets.append(text.originalRange(Int(toks[k + 1]), Int(toks[k + 2])))
                if withTokens { e.tokens.append(model.idToToken(id) ?? "") }
                e.wordIds.append(w)
                k += 3
            }
        }
        let n = e.ids.count
        e.typeIds = [Int](repeating: typeId, count: n)
        e.specialTokensMask = [Int](repeating: 0, count: n)
        e.attentionMask = [Int](repeating: 1, count: n)
        return e
    }

    /// Encodes a text (and optionally a second text of a pair) exactly as the Python library's
    /// `Tokenizer.encode` does: added tokens, normalizer, pre-tokenizer, model, then the
    /// tokenizer's truncation, post-processor (special tokens) and padding.
    /// `withOffsets: false` skips the offset trimming some post-processors do (the offsets are
    /// then the untrimmed ones): faster when only ids are wanted.
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true,
                       withTokens: Bool = true, withOffsets: Bool = true, truncation: TextTruncation?? = .none,
                       padding: TextPadding?? = .none) throws(LatheError) -> TextEncoding {
        try encode(text, pair: pair, addSpecialTokens: addSpecialTokens, withTokens: withTokens, withOffsets: withOffsets,
                   truncation: truncation ?? self.truncation, padding: padding ?? self.padding, ws: workspace)
    }

    /// The longest padding or truncation length accepted (a guard against typos such as 1e9).
    public static let maxLength = 1 << 24

    func encode(_ text: String, pair: String?, addSpecialTokens: Bool, withTokens: Bool, withOffsets: Bool = true,
                truncation: TextTruncation?, padding: TextPadding?, ws: TextWorkspace) throws(LatheError) -> TextEncoding {
        if let l = padding?.length, l > TextTokenizer.maxLength {
            throw LatheError("padding length \(l) is too large (at most \(TextTokenizer.maxLength))")
        }
        let needTokens = withTokens || (withOffsets && trimsOffsets)
        let a = try encodeSequence(text, typeId: 0, withTokens: needTokens, ws)
        let b = try pair.map { (p) throws(LatheError) in try encodeSequence(p, typeId: 1, withTokens: needTokens, ws) }
        var e = try postProcess(a, b, addSpecialTokens: addSpecialTokens, withTokens: needTokens, truncation: truncation)
        if let padding {
            var target = padding.length ?? e.count
            if let m = padding.padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
            e.pad(to: target, id: padding.padId, typeId: padding.padTypeId, token: padding.padToken, left: padding.left, withTokens: needTokens)
        }
        if !withTokens { e.tokens = [] }
        return e
    }

    func postProcess(_ a: TextEncoding, _ b: TextEncoding?, addSpecialTokens: Bool, withTokens: Bool,
                     truncation: TextTruncation?) throws(LatheError) -> TextEncoding {
        var a = a, b = b
        if let t = truncation {
            var params = t
            let nAdded = postProcessor?.addedTokens(pair: b != nil) ?? 0
            if addSpecialTokens && nAdded > 0 {
                params.maxLength = max(0, t.maxLength - nAdded)
            }
            try TextTokenizer.truncate(&a, &b, params)
        }
        guard let pp = postProcessor else {
            if let b {
                var r = a
                r.append(b)
                return r
            }
            return a
        }
        var encs = [a]
        if let b { encs.append(b) }
        for k in encs.indices { encs[k].setTypeIds(k) }
        var r = TextEncoding()
        for e in pp.processEncodings(encs, addSpecial: addSpecialTokens, withTokens: withTokens) { r.append(e) }
        return r
    }

    static func truncate(_ a: inout TextEncoding, _ b: inout TextEncoding?, _ p: TextTruncation) throws(LatheError) {
        if p.maxLength == 0 {
            a.truncate(0, left: p.left)
            b?.truncate(0, left: p.left)
            return
        }
        let total = a.count + (b?.count ?? 0)
        guard total > p.maxLength else { return }
        let toRemove = total - p.maxLength
        switch p.strategy {
        case .longestFirst:
            if var bb = b {
                var n1 = a.count, n2 = bb.count
                let swap = n1 > n2
                if swap { (n1, n2) = (n2, n1) }
                if n1 > p.maxLength { n2 = n1 } else { n2 = max(n1, p.maxLength - n1) }
                if n1 + n2 > p.maxLength {
                    n1 = p.maxLength / 2
                    n2 = n1 + p.maxLength % 2
                }
                if swap { (n1, n2) = (n2, n1) }
                a.truncate(n1, left: p.left)
                bb.truncate(n2, left: p.left)
                b = bb
            } else {
                a.truncate(total - toRemove, left: p.left)
            }
        case .onlyFirst, .onlySecond:
            if p.strategy == .onlyFirst {
                guard a.count > toRemove else {
                    throw LatheError("truncation: the first sequence is too short to fit max_length \(p.maxLength)")
                }
                a.truncate(a.count - toRemove, left: p.left)
            } else {
                guard var bb = b else { throw LatheError("truncation: strategy only_second needs a pair of texts") }
                guard bb.count > toRemove else {
                    throw LatheError("truncation: the second sequence is too short to fit max_length \(p.maxLength)")
                }
                bb.truncate(bb.count - toRemove, left: p.left)
                b = bb
            }
        }
    }

    /// Encodes many texts (in parallel over Lathe's threads), then pads them together when the
    /// padding settings say so (to the longest, or a fixed length).
    public func encodeBatch(_ texts: [String], pairs: [String]? = nil, addSpecialTokens: Bool = true,
                            withTokens: Bool = false, withOffsets: Bool = true, truncation: TextTruncation?? = .none,
                            padding: TextPadding?? = .none, threads: Int = 1) throws(LatheError) -> [TextEncoding] {
        if let pairs, pairs.count != texts.count {
            throw LatheError("\(texts.count) texts but \(pairs.count) pair texts")
        }
        let trunc = truncation ?? self.truncation
        let pad = padding ?? self.padding
        if let l = pad?.length, l > TextTokenizer.maxLength {
            throw LatheError("padding length \(l) is too large (at most \(TextTokenizer.maxLength))")
        }
        var out = [TextEncoding](repeating: TextEncoding(), count: texts.count)
        let nThreads = max(1, min(threads, texts.count / 8))
        if nThreads <= 1 {
            for (i, t) in texts.enumerated() {
                if i % 256 == 0 { try Interrupt.check() }
                out[i] = try encode(t, pair: pairs?[i], addSpecialTokens: addSpecialTokens, withTokens: withTokens,
                                    withOffsets: withOffsets, truncation: trunc, padding: nil, ws: workspace)
            }
        } else {
            let workspaces = takeWorkspaces(nThreads)
            defer { returnWorkspaces(workspaces) }
            let lock = NSLock()
            nonisolated(unsafe) var firstError: LatheError? = nil
            nonisolated(unsafe) var results = out
            let chunk = (texts.count + nThreads - 1) / nThreads
            results.withUnsafeMutableBufferPointer { rbuf in
                nonisolated(unsafe) let rb = rbuf
                DispatchQueue.concurrentPerform(iterations: nThreads) { w in
                    let ws = workspaces[w]
                    let lo = w * chunk, hi = min(texts.count, lo + chunk)
                    if lo >= hi { return }
                    for i in lo..<hi {
                        if Interrupt.pending { break }
                        do throws(LatheError) {
                            rb[i] = try self.encode(texts[i], pair: pairs?[i], addSpecialTokens: addSpecialTokens,
                                                    withTokens: withTokens, withOffsets: withOffsets, truncation: trunc,
                                                    padding: nil, ws: ws)
                        } catch {
                            lock.lock()
                            if firstError == nil { firstError = error }
                            lock.unlock()
                            return
                        }
                    }
                }
            }
            if let e = firstError { throw e }
            try Interrupt.check()
            out = results
        }
        if let pad {
            var target = pad.length ?? (out.map { $0.count }.max() ?? 0)
            if let m = pad.padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
            for i in out.indices {
                out[i].pad(to: target, id: pad.padId, typeId: pad.padTypeId, token: pad.padToken, left: pad.left, withTokens: withTokens)
            }
        }
        return out
    }

    private func takeWorkspaces(_ n: Int) -> [TextWorkspace] {
        poolLock.lock()
        defer { poolLock.unlock() }
        while pool.count < n { pool.append(TextWorkspace()) }
        let ws = Array(pool.prefix(n))
        pool.removeFirst(n)
        return ws
    }

    private func returnWorkspaces(_ ws: [TextWorkspace]) {
        poolLock.lock()
        pool.append(contentsOf: ws)
        poolLock.unlock()
    }

    // MARK: Training labels

    /// Labels for supervised fine-tuning on a prompt + response text: the token ids, with -100
    /// (the value PyTorch's cross-entropy ignores, as Hugging Face collators use it) for the
    /// prompt and padding. `responseStart` is the byte offset in the text where the response
    /// begins (the data module's `response_start`). A token belongs to the response when it
    /// ends after that offset (a token straddling the boundary is learned); a special token
    /// added by the post-processor counts as response once a response token came before it
    /// (an end-of-sequence token after the response is learned, a start token is not).
    public static func labels(_ e: TextEncoding, responseStart: Int) -> [Int] {
        var out = [Int](repeating: -100, count: e.count)
        var inResponse = false
        for i in 0..<e.count {
            if i < e.attentionMask.count && e.attentionMask[i] == 0 { continue }
            let isAddedSpecial = i < e.specialTokensMask.count && e.specialTokensMask[i] == 1
            if isAddedSpecial {
                if inResponse { out[i] = e.ids[i] }
                continue
            }
            if e.offsets[i].end > responseStart { inResponse = true }
            if inResponse { out[i] = e.ids[i] }
        }
        return out
    }

    /// The id to pad with: the padding settings' pad id, else the id of a usual padding token
    /// ([PAD], <pad>, <|pad|>, <|padding|>), else 0.
    public var defaultPadId: Int {
        if let p = padding { return p.padId }
        for t in ["[PAD]", "<pad>", "<|pad|>", "<|padding|>", "<|finetune_right_pad_id|>"] {
            if let id = tokenToId(t) { return id }
        }
        return 0
    }

    /// A one-line description: model, vocabulary, pipeline parts.
    public var summary: String {
        func name(_ j: TextJSON?) -> String {
            guard let j, !j.isNull else { return "none" }
            let t = j["type"]?.stringValue ?? "?"
            if t == "Sequence" {
                let items = (j["normalizers"] ?? j["pretokenizers"] ?? j["processors"] ?? j["decoders"])?.arrayValue ?? []
                return "Sequence[" + items.map { name($0) }.joined(separator: ", ") + "]"
            }
            return t
        }
        let j: [String: TextJSON] = [
            "normalizer": partJSON["normalizer"] ?? normalizer?.json ?? .null,
            "pre_tokenizer": partJSON["pre_tokenizer"] ?? preTokenizer?.json ?? .null,
            "post_processor": partJSON["post_processor"] ?? postProcessor?.json ?? .null,
            "decoder": partJSON["decoder"] ?? decoder?.json ?? .null,
        ]
        var s = "Tokenizer(\(modelType), \(model.vocabSize) tokens"
        let extra = vocabSize(withAddedTokens: true) - model.vocabSize
        if !added.isEmpty { s += extra > 0 ? " + \(extra) added" : ", \(added.count) added" }
        s += "; normalizer \(name(j["normalizer"] ?? .null)); pre-tokenizer \(name(j["pre_tokenizer"] ?? .null))"
        s += "; post-processor \(name(j["post_processor"] ?? .null)); decoder \(name(j["decoder"] ?? .null))"
        if let t = truncation { s += "; truncation \(t.maxLength)" }
        if let p = padding { s += "; padding " + (p.length.map { "to \($0)" } ?? "to longest") }
        return s + ")"
    }

    // MARK: Decoding

    /// Turns ids back into text: token strings (special tokens dropped when asked), then the
    /// decoder (or the tokens joined by spaces when there is none). Unknown ids are skipped, as
    /// in the Python library.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) throws(LatheError) -> String {
        var toks: [String] = []
        toks.reserveCapacity(ids.count)
        for id in ids {
            if id < 0 { throw LatheError("token ids must be non-negative (got \(id))") }
            guard let t = added.token(id) ?? model.idToToken(id) else { continue }
            if skipSpecialTokens && added.isSpecial(t) { continue }
            toks.append(t)
        }
        if let decoder { return try decoder.decodeChain(toks).joined() }
        return toks.joined(separator: " ")
    }

    // MARK: Saving

    /// The tokenizer as `tokenizer.json` content (the layout the Python library writes).
    public func json() -> TextJSON {
        func part(_ k: String, _ v: TextJSON?) -> TextJSON { partJSON[k] ?? v ?? .null }
        return .object([
            ("version", .string("1.0")),
            ("truncation", truncation?.json ?? .null),
            ("padding", padding?.json ?? .null),
            ("added_tokens", added.json),
            ("normalizer", part("normalizer", normalizer?.json)),
            ("pre_tokenizer", part("pre_tokenizer", preTokenizer?.json)),
            ("post_processor", part("post_processor", postProcessor?.json)),
            ("decoder", part("decoder", decoder?.json)),
            ("model", model.json),
        ])
    }

    /// Writes `tokenizer.json` (atomically; an existing file only with overwrite).
    public func save(path: String, overwrite: Bool = false) throws(LatheError) {
        try AtomicFile.write(json().serialized(pretty: true), to: path, overwrite: overwrite)
    }
}

extension TextAddedVocabulary {
    func byContentPairs() -> [(String, Int)] {
        byContent.map { (String(decoding: $0.key, as: UTF8.self), $0.value) }
    }
}
