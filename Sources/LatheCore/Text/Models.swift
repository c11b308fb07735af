import Foundation

/// Scratch space and caches for one thread of tokenization.
final class TextWorkspace: @unchecked Sendable {
    /// Tokens of the piece being tokenized: (id, start, end) triples, offsets in the piece's bytes.
    var toks: [Int32] = []
    /// (id, byte length) pairs from the BPE merge loop or the cache.
    var pairs: [Int32] = []
    var bpeCache = TextWordCache()
    var bpeCacheRaw = TextWordCache()
    var unicode = TextUnicodeCache()
    // BPE merge scratch
    var symC: [Int32] = []
    var symPrev: [Int32] = []
    var symNext: [Int32] = []
    var symLen: [Int32] = []
    var heap: [UInt64] = []      // rank << 32 | pos
    var heapId: [Int32] = []     // the merged id each heap entry expects
    var key: [UInt8] = []

    init() {
        toks.reserveCapacity(256)
        pairs.reserveCapacity(256)
        key.reserveCapacity(64)
    }
}

/// The model of a `tokenizer.json`: BPE, WordPiece or WordLevel.
enum TextModel {
    case bpe(BPEModel)
    case wordPiece(WordPieceModel)
    case wordLevel(WordLevelModel)

    static func from(_ j: TextJSON) throws(LatheError) -> TextModel {
        guard case .object = j else { throw LatheError("model: expected an object, got \(j.kindName)") }
        var type = j["type"]?.stringValue
        if type == nil {
            // old files without "type": guess from the fields
            if j["merges"] != nil { type = "BPE" } else if j["continuing_subword_prefix"] != nil || j["max_input_chars_per_word"] != nil { type = "WordPiece" } else { type = "WordLevel" }
        }
        switch type ?? "" {
        case "BPE": return .bpe(try BPEModel(json: j))
        case "WordPiece": return .wordPiece(try WordPieceModel(json: j))
        case "WordLevel": return .wordLevel(try WordLevelModel(json: j))
        case "Unigram":
            throw LatheError("Unigram models (SentencePiece: T5, ALBERT, XLM-R...) are not supported yet; supported models: BPE, WordPiece, WordLevel")
        default:
            throw LatheError("unknown model type \"\(type ?? "")\"")
        }
    }

    var table: TextBytesTable {
        switch self {
        case .bpe(let m): return m.table
        case .wordPiece(let m): return m.table
        case .wordLevel(let m): return m.table
        }
    }

    var vocabSize: Int { table.count }

    func tokenToId(_ s: String) -> Int32? { table.get(s) }

    func idToToken(_ id: Int) -> String? {
        let r: [String?]
        switch self {
        case .bpe(let m): r = m.vocabR
        case .wordPiece(let m): r = m.vocabR
        case .wordLevel(let m): r = m.vocabR
        }
        return id >= 0 && id < r.count ? r[id] : nil
    }

    var vocabR: [String?] {
        switch self {
        case .bpe(let m): return m.vocabR
        case .wordPiece(let m): return m.vocabR
        case .wordLevel(let m): return m.vocabR
        }
    }

    /// The piece as the model reads it: byte-level pieces stay raw only for a BPE model that
    /// can read raw bytes; token offsets refer to the returned text.
    func prepare(_ t: NText) -> NText {
        if case .bpe(let m) = self, m.byteIds != nil { return t }
        return t.materializedByteLevel()
    }

    /// Tokenizes one piece (prepared with `prepare`) into ws.toks (id, start, end triples).
    func tokenize(_ t: NText, _ ws: TextWorkspace) throws(LatheError) {
        ws.toks.removeAll(keepingCapacity: true)
        switch self {
        case .bpe(let m): try m.tokenize(t, ws)
        case .wordPiece(let m): try m.tokenize(t.materializedByteLevel(), ws)
        case .wordLevel(let m): try m.tokenize(t.materializedByteLevel(), ws)
        }
    }

    var json: TextJSON {
        switch self {
        case .bpe(let m): return m.json
        case .wordPiece(let m): return m.json
        case .wordLevel(let m): return m.json
        }
    }
}

/// Reads `"vocab": {token: id}` into an id-indexed array and a byte-exact lookup table (Swift
/// dictionaries compare strings up to canonical equivalence; vocabularies need exact bytes).
func textParseVocab(_ j: TextJSON?, what: String) throws(LatheError) -> ([String?], TextBytesTable) {
    guard let fields = j?.objectValue else { throw LatheError("\(what): missing \"vocab\" object") }
    var table = TextBytesTable(capacity: fields.count)
    var maxId = -1
    for (k, v) in fields {
        guard let id = v.intValue, id >= 0, id < Int(Int32.max) else {
            throw LatheError("\(what): vocab entry \(k.debugDescription) has a bad id (expected a non-negative integer)")
        }
        maxId = max(maxId, id)
    }
    if maxId > fields.count * 4 + 1_000_000 {
        throw LatheError("\(what): vocab ids are too sparse (max id \(maxId) for \(fields.count) tokens)")
    }
    var r = [String?](repeating: nil, count: maxId + 1)
    for (k, v) in fields {
        let id = v.intValue ?? 0
        r[id] = k
        table.insert(Array(k.utf8), Int32(id))
    }
    return (r, table)
}

/// A lookup table for an id-indexed vocabulary.
func textVocabTable(_ vocabR: [String?]) -> TextBytesTable {
    var t = TextBytesTable(capacity: vocabR.count)
    for (i, k) in vocabR.enumerated() { if let k { t.insert(Array(k.utf8), Int32(i)) } }
    return t
}

func textOrderedVocabJSON(_ vocabR: [String?]) -> TextJSON {
    var fields: [(String, TextJSON)] = []
    fields.reserveCapacity(vocabR.count)
    for (i, t) in vocabR.enumerated() { if let t { fields.append((t, .int(i))) } }
    return .object(fields)
}

// MARK: - BPE

final class BPEModel: @unchecked Sendable {
    let vocabR: [String?]
    let table: TextBytesTable
    var merges: TextPairTable
    /// Merges in rank order as read (for saving).
    let mergeList: [(String, String)]
    let unkToken: String?
    let unkId: Int32
    let prefix: String?
    let suffix: String?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let dropout: Double?
    /// Ids of the 256 byte-level characters when all are in the vocabulary and no prefix or
    /// suffix is set: byte-level pieces are then tokenized on raw bytes (no transform).
    let byteIds: [Int32]?
    /// Raw bytes -> id for byte-level tokens (for ignore_merges on raw pieces).
    let rawTable: TextBytesTable?
    /// "<0xXX>" ids for byte_fallback.
    let fallbackIds: [Int32]

    convenience init(json j: TextJSON) throws(LatheError) {
        let (vocabR, table) = try textParseVocab(j["vocab"], what: "BPE model")
        var merges: [(String, String)] = []
        if let arr = j["merges"]?.arrayValue {
            merges.reserveCapacity(arr.count)
            for (k, m) in arr.enumerated() {
                if let s = m.stringValue {
                    let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else {
                        throw LatheError("BPE model: merge \(k + 1) \(s.debugDescription) is not two tokens separated by one space")
                    }
                    merges.append((String(parts[0]), String(parts[1])))
                } else if let pair = m.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                    merges.append((a, b))
                } else {
                    throw LatheError("BPE model: merge \(k + 1) must be \"a b\" or [\"a\", \"b\"]")
                }
            }
        } else if let mj = j["merges"], !mj.isNull {
            throw LatheError("BPE model: \"merges\" must be an array")
        }
        func str(_ k: String) -> String? { j[k]?.stringValue }
        try self.init(vocabR: vocabR, table: table, merges: merges, unkToken: str("unk_token"),
                      prefix: str("continuing_subword_prefix"), suffix: str("end_of_word_suffix"),
                      fuseUnk: j["fuse_unk"]?.boolValue ?? false, byteFallback: j["byte_fallback"]?.boolValue ?? false,
                      ignoreMerges: j["ignore_merges"]?.boolValue ?? false, dropout: j["dropout"]?.doubleValue)
    }

    init(vocabR: [String?], table: TextBytesTable? = nil, merges mergeList: [(String, String)], unkToken: String?,
         prefix: String?, suffix: String?, fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool,
         dropout: Double?) throws(LatheError) {
        self.vocabR = vocabR
        self.mergeList = mergeList
        self.unkToken = unkToken
        self.prefix = prefix
        self.suffix = suffix
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.dropout = dropout
        if let d = dropout, !(d >= 0 && d <= 1) {
            throw LatheError("BPE model: dropout must be between 0 and 1 (got \(d))")
        }
        let table = table ?? textVocabTable(vocabR)
        self.table = table
        unkId = unkToken.flatMap { table.get($0) } ?? -1
        var pt = TextPairTable(capacity: mergeList.count)
        let prefixLen = prefix?.utf8.count ?? 0
        for (rank, (a, b)) in mergeList.enumerated() {
            guard let ia = table.get(a) else { throw LatheError("BPE model: merge \(rank + 1) uses \(a.debugDescription), which is not in the vocabulary") }
            guard let ib = table.get(b) else { throw LatheError("BPE model: merge \(rank + 1) uses \(b.debugDescription), which is not in the vocabulary") }
            let bb = Array(b.utf8)
            let mergedBytes = Array(a.utf8) + bb.dropFirst(min(prefixLen, bb.count))
            let merged = String(decoding: mergedBytes, as: UTF8.self)
            guard let inew = table.get(mergedBytes) else {
                throw LatheError("BPE model: merge \(rank + 1) makes \(merged.debugDescription), which is not in the vocabulary")
            }
            pt.insert(ia, ib, rank: Int32(rank), newId: inew)
        }
        merges = pt
        var fb = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = table.get(String(format: "<0x%02X>", b)) { fb[b] = id }
        }
        fallbackIds = fb
        if prefix == nil && suffix == nil {
            var ids = [Int32](repeating: -1, count: 256)
            var all = true
            for b in 0..<256 {
                var s = ""
                s.unicodeScalars.append(Unicode.Scalar(TextByteLevel.byteToChar[b]) ?? " ")
                if let id = table.get(s) { ids[b] = id } else { all = false }
            }
            byteIds = all ? ids : nil
        } else {
            byteIds = nil
        }
        if ignoreMerges && byteIds != nil {
            var rt = TextBytesTable(capacity: vocabR.count)
            for (i, k) in vocabR.enumerated() { if let k, let raw = TextByteLevel.rawBytes(k) { rt.insert(raw, Int32(i)) } }
            rawTable = rt
        } else {
            rawTable = nil
        }
    }

    func tokenize(_ t0: NText, _ ws: TextWorkspace) throws(LatheError) {
        if t0.isEmpty { return }
        let raw = t0.byteLevel && byteIds != nil
        let t = raw ? t0 : t0.materializedByteLevel()
        try t.bytes.withUnsafeBufferPointer { (buf) throws(LatheError) in
            let p = buf.baseAddress!
            let n = buf.count
            if ignoreMerges {
                let id = raw ? rawTable?.get(p, n) : table.get(p, n)
                if let id {
                    ws.toks.append(id); ws.toks.append(0); ws.toks.append(Int32(n))
                    return
                }
            }
            let cache = raw ? ws.bpeCacheRaw : ws.bpeCache
            let h = textHashBytes(p, n)
            ws.pairs.removeAll(keepingCapacity: true)
            if !cache.lookup(p, n, hash: h, into: &ws.pairs) {
                try mergeWord(p, n, raw: raw, ws)
                cache.insert(p, n, hash: h, ws.pairs[...])
            }
            var pos: Int32 = 0
            var k = 0
            let pairs = ws.pairs
            while k < pairs.count {
                let id = pairs[k], l = pairs[k + 1]
                ws.toks.append(id); ws.toks.append(pos); ws.toks.append(pos + l)
                pos += l
                k += 2
            }
        }
    }

    /// The BPE merge loop over one word: initial symbols, then the lowest-ranked merge first
    /// (ties: leftmost), leaving (id, byte length) pairs in ws.pairs.
    func mergeWord(_ p: UnsafePointer<UInt8>, _ n: Int, raw: Bool, _ ws: TextWorkspace) throws(LatheError) {
        ws.symC.removeAll(keepingCapacity: true)
        ws.symLen.removeAll(keepingCapacity: true)
        if raw, let byteIds {
            for i in 0..<n {
                ws.symC.append(byteIds[Int(p[i])])
                ws.symLen.append(1)
            }
        } else {
            try initialSymbols(p, n, ws)
        }
        let count = ws.symC.count
        ws.symPrev.removeAll(keepingCapacity: true)
        ws.symNext.removeAll(keepingCapacity: true)
        for i in 0..<count {
            ws.symPrev.append(Int32(i - 1))
            ws.symNext.append(i + 1 < count ? Int32(i + 1) : -1)
        }
        ws.heap.removeAll(keepingCapacity: true)
        ws.heapId.removeAll(keepingCapacity: true)
        if count > 1 {
            for i in 0..<(count - 1) {
                if let m = merges.get(ws.symC[i], ws.symC[i + 1]) {
                    heapPush(ws, rank: UInt32(truncatingIfNeeded: m >> 32), pos: UInt32(i), id: Int32(truncatingIfNeeded: m & 0xFFFF_FFFF))
                }
            }
        }
        while !ws.heap.isEmpty {
            let (key, expectId) = heapPop(ws)
            let pos = Int(key & 0xFFFF_FFFF)
            if ws.symLen[pos] == 0 { continue }
            let nx = Int(ws.symNext[pos])
            if nx < 0 { continue }
            guard let m = merges.get(ws.symC[pos], ws.symC[nx]),
                  Int32(truncatingIfNeeded: m & 0xFFFF_FFFF) == expectId else { continue }
            ws.symC[pos] = expectId
            ws.symLen[pos] += ws.symLen[nx]
            let nn = ws.symNext[nx]
            ws.symNext[pos] = nn
            ws.symLen[nx] = 0
            if nn >= 0 && Int(nn) < count { ws.symPrev[Int(nn)] = Int32(pos) }
            let pv = Int(ws.symPrev[pos])
            if pv >= 0, let m2 = merges.get(ws.symC[pv], ws.symC[pos]) {
                heapPush(ws, rank: UInt32(truncatingIfNeeded: m2 >> 32), pos: UInt32(pv), id: Int32(truncatingIfNeeded: m2 & 0xFFFF_FFFF))
            }
            if nn >= 0 && Int(nn) < count, let m3 = merges.get(ws.symC[pos], ws.symC[Int(nn)]) {
                heapPush(ws, rank: UInt32(truncatingIfNeeded: m3 >> 32), pos: UInt32(pos), id: Int32(truncatingIfNeeded: m3 & 0xFFFF_FFFF))
            }
        }
        for i in 0..<count where ws.symLen[i] != 0 {
            ws.pairs.append(ws.symC[i])
            ws.pairs.append(ws.symLen[i])
        }
    }

    /// Symbols of a non-byte-level word: each character looked up (with the continuing-subword
    /// prefix and end-of-word suffix where set), unknown ones through byte_fallback or unk.
    func initialSymbols(_ p: UnsafePointer<UInt8>, _ n: Int, _ ws: TextWorkspace) throws(LatheError) {
        var i = 0
        var pendingUnk: (Int32, Int32)? = nil
        let prefixBytes = prefix.map { Array($0.utf8) } ?? []
        let suffixBytes = suffix.map { Array($0.utf8) } ?? []
        while i < n {
            let l = min(TextChar.seqLen(p[i]), n - i)
            let isFirst = i == 0
            let isLast = i + l >= n
            ws.key.removeAll(keepingCapacity: true)
            if !isFirst { ws.key.append(contentsOf: prefixBytes) }
            ws.key.append(contentsOf: UnsafeBufferPointer(start: p + i, count: l))
            if isLast { ws.key.append(contentsOf: suffixBytes) }
            if let id = table.get(ws.key) {
                if let u = pendingUnk { ws.symC.append(u.0); ws.symLen.append(u.1); pendingUnk = nil }
                ws.symC.append(id)
                ws.symLen.append(Int32(l))
            } else {
                var handled = false
                if byteFallback {
                    var ids: [Int32] = []
                    for b in ws.key {
                        let id = fallbackIds[Int(b)]
                        if id < 0 { ids.removeAll(); break }
                        ids.append(id)
                    }
                    if !ids.isEmpty {
                        for id in ids { ws.symC.append(id); ws.symLen.append(1) }
                        handled = true
                    }
                }
                if !handled, let unk = unkToken {
                    guard unkId >= 0 else {
                        throw LatheError("BPE model: the unk_token \(unk.debugDescription) is not in the vocabulary")
                    }
                    if let u = pendingUnk {
                        if fuseUnk {
                            pendingUnk = (u.0, u.1 + Int32(l))
                        } else {
                            ws.symC.append(u.0); ws.symLen.append(u.1)
                            pendingUnk = (unkId, Int32(l))
                        }
                    } else {
                        pendingUnk = (unkId, Int32(l))
                    }
                }
            }
            i += l
        }
        if let u = pendingUnk { ws.symC.append(u.0); ws.symLen.append(u.1) }
    }

    @inline(__always)
    func heapPush(_ ws: TextWorkspace, rank: UInt32, pos: UInt32, id: Int32) {
        let key = (UInt64(rank) << 32) | UInt64(pos)
        ws.heap.append(key)
        ws.heapId.append(id)
        var c = ws.heap.count - 1
        while c > 0 {
            let par = (c - 1) >> 1
            if ws.heap[par] <= key { break }
            ws.heap[c] = ws.heap[par]
            ws.heapId[c] = ws.heapId[par]
            c = par
        }
        ws.heap[c] = key
        ws.heapId[c] = id
    }

    @inline(__always)
    func heapPop(_ ws: TextWorkspace) -> (UInt64, Int32) {
        let top = ws.heap[0], topId = ws.heapId[0]
        let lastK = ws.heap.removeLast()
        let lastI = ws.heapId.removeLast()
        let n = ws.heap.count
        if n > 0 {
            var c = 0
            while true {
                let l = 2 * c + 1
                if l >= n { break }
                var m = l
                if l + 1 < n && ws.heap[l + 1] < ws.heap[l] { m = l + 1 }
                if ws.heap[m] >= lastK { break }
                ws.heap[c] = ws.heap[m]
                ws.heapId[c] = ws.heapId[m]
                c = m
            }
            ws.heap[c] = lastK
            ws.heapId[c] = lastI
        }
        return (top, topId)
    }

    var json: TextJSON {
        .object([
            ("type", .string("BPE")),
            ("dropout", dropout.map { .double($0) } ?? .null),
            ("unk_token", unkToken.map { .string($0) } ?? .null),
            ("continuing_subword_prefix", prefix.map { .string($0) } ?? .null),
            ("end_of_word_suffix", suffix.map { .string($0) } ?? .null),
            ("fuse_unk", .bool(fuseUnk)),
            ("byte_fallback", .bool(byteFallback)),
            ("ignore_merges", .bool(ignoreMerges)),
            ("vocab", textOrderedVocabJSON(vocabR)),
            ("merges", .array(serializedMerges().map { .array([.string($0.0), .string($0.1)]) })),
        ])
    }

    /// Merges ordered by rank, one per pair (a repeated merge keeps its last rank), as the Rust
    /// library writes them.
    func serializedMerges() -> [(String, String)] {
        let e = merges.entries().sorted { $0.rank < $1.rank }
        return e.compactMap { x in
            guard let a = vocabR[Int(x.a)], let b = vocabR[Int(x.b)] else { return nil }
            return (a, b)
        }
    }
}

// MARK: - WordPiece

final class WordPieceModel: @unchecked Sendable {
    let vocabR: [String?]
    let table: TextBytesTable
    /// Tokens that start with the prefix, keyed without it.
    let contTable: TextBytesTable
    let unkToken: String
    let prefix: String
    let maxChars: Int

    init(json j: TextJSON) throws(LatheError) {
        (vocabR, table) = try textParseVocab(j["vocab"], what: "WordPiece model")
        unkToken = j["unk_token"]?.stringValue ?? "[UNK]"
        prefix = j["continuing_subword_prefix"]?.stringValue ?? "##"
        maxChars = try j.usize("max_input_chars_per_word", in: "WordPiece model") ?? 100
        var ct = TextBytesTable(capacity: vocabR.count)
        for (i, k) in vocabR.enumerated() {
            if let k, k.utf8HasPrefix(prefix) { ct.insert(Array(k.utf8.dropFirst(prefix.utf8.count)), Int32(i)) }
        }
        contTable = ct
    }

    func unk() throws(LatheError) -> Int32 {
        guard let id = table.get(unkToken) else {
            throw LatheError("WordPiece model: the unk_token \(unkToken.debugDescription) is not in the vocabulary")
        }
        return id
    }

    func tokenize(_ t: NText, _ ws: TextWorkspace) throws(LatheError) {
        let n = t.count
        if n == 0 { return }
        try t.bytes.withUnsafeBufferPointer { (buf) throws(LatheError) in
            let p = buf.baseAddress!
            var chars = 0
            for i in 0..<n where p[i] & 0xC0 != 0x80 { chars += 1 }
            if chars > maxChars {
                ws.toks.append(try unk()); ws.toks.append(0); ws.toks.append(Int32(n))
                return
            }
            var start = 0
            while start < n {
                var end = n
                var found: Int32 = -1
                while start < end {
                    let id = start == 0 ? table.get(p + start, end - start) : contTable.get(p + start, end - start)
                    if let id { found = id; break }
                    end -= 1
                    while end > start && p[end] & 0xC0 == 0x80 { end -= 1 }
                }
                if found < 0 {
                    ws.toks.removeAll(keepingCapacity: true)
                    ws.toks.append(try unk()); ws.toks.append(0); ws.toks.append(Int32(n))
                    return
                }
                ws.toks.append(found); ws.toks.append(Int32(start)); ws.toks.append(Int32(end))
                start = end
            }
        }
    }

    var json: TextJSON {
        .object([
            ("type", .string("WordPiece")),
            ("unk_token", .string(unkToken)),
            ("continuing_subword_prefix", .string(prefix)),
            ("max_input_chars_per_word", .int(maxChars)),
            ("vocab", textOrderedVocabJSON(vocabR)),
        ])
    }
}

// MARK: - WordLevel

final class WordLevelModel: @unchecked Sendable {
    let vocabR: [String?]
    let table: TextBytesTable
    let unkToken: String

    init(json j: TextJSON) throws(LatheError) {
        (vocabR, table) = try textParseVocab(j["vocab"], what: "WordLevel model")
        unkToken = j["unk_token"]?.stringValue ?? "<unk>"
    }

    init(vocabR: [String?], unkToken: String) {
        self.vocabR = vocabR
        self.unkToken = unkToken
        table = textVocabTable(vocabR)
    }

    func tokenize(_ t: NText, _ ws: TextWorkspace) throws(LatheError) {
        let n = t.count
        try t.bytes.withUnsafeBufferPointer { (buf) throws(LatheError) in
            let id = n > 0 ? table.get(buf.baseAddress!, n) : table.get([])
            if let id {
                ws.toks.append(id)
            } else if let u = table.get(unkToken) {
                ws.toks.append(u)
            } else {
                throw LatheError("WordLevel model: \(t.string.debugDescription) is not in the vocabulary and the unk_token \(unkToken.debugDescription) is missing")
            }
            ws.toks.append(0); ws.toks.append(Int32(n))
        }
    }

    var json: TextJSON {
        .object([
            ("type", .string("WordLevel")),
            ("vocab", textOrderedVocabJSON(vocabR)),
            ("unk_token", .string(unkToken)),
        ])
    }
}
