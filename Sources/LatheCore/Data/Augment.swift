import Foundation

/// Easy Data Augmentation (Wei and Zou, 2019): synonym replacement from a user dictionary,
/// random insertion of synonyms, random swap, and random deletion, all seeded. Words are the
/// runs of non-white-space; punctuation stays attached to its word, and a replacement keeps
/// the word's punctuation and a leading capital.
public struct EDA: Sendable {
    public enum Op: String, Sendable, CaseIterable { case synonym, insert, swap, delete }

    /// Lower-case word -> synonyms.
    public var synonyms: [String: [String]]
    public var stopwords: Set<String>
    /// Share of words changed by one operation (n = max(1, alpha * words)); for delete, the
    /// probability of deleting each word.
    public var alpha: Double

    public static let englishStopwords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "if", "then", "of", "at", "by", "for", "with", "about", "to", "from",
        "in", "on", "is", "are", "was", "were", "be", "been", "am", "i", "me", "my", "we", "our", "you", "your", "he",
        "she", "it", "its", "they", "them", "their", "this", "that", "these", "those", "do", "does", "did", "have",
        "has", "had", "not", "no", "so", "as", "can", "will", "just", "there", "here", "what", "which", "who", "how",
    ]

    public init(synonyms: [String: [String]] = [:], stopwords: Set<String> = EDA.englishStopwords, alpha: Double = 0.1) {
        var s: [String: [String]] = [:]
        for (k, v) in synonyms { s[k.lowercased(), default: []].append(contentsOf: v.filter { !$0.isEmpty }) }
        self.synonyms = s
        self.stopwords = stopwords
        self.alpha = alpha
    }

    static func split(_ text: String) -> [String] {
        text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }

    /// A word's core (letters/digits inside surrounding punctuation), its prefix and suffix.
    static func parts(_ w: String) -> (String, String, String) {
        let chars = Array(w)
        var a = 0, b = chars.count
        while a < b && !(chars[a].isLetter || chars[a].isNumber) { a += 1 }
        while b > a && !(chars[b - 1].isLetter || chars[b - 1].isNumber) { b -= 1 }
        return (String(chars[0..<a]), String(chars[a..<b]), String(chars[b...]))
    }

    func synonymsOf(_ w: String) -> [String]? {
        let core = EDA.parts(w).1.lowercased()
        if core.isEmpty || stopwords.contains(core) { return nil }
        guard let s = synonyms[core]?.filter({ $0.lowercased() != core }), !s.isEmpty else { return nil }
        return s
    }

    func replace(_ w: String, with syn: String) -> String {
        let (pre, core, post) = EDA.parts(w)
        var s = syn
        if let f = core.first, f.isUppercase, let g = s.first { s = g.uppercased() + s.dropFirst() }
        return pre + s + post
    }

    public func apply(_ op: Op, to text: String, rng: inout RandomGenerator) -> String {
        var words = EDA.split(text)
        if words.isEmpty { return text }
        let n = max(1, Int(alpha * Double(words.count)))
        switch op {
        case .synonym:
            var cands = Array(Set(words.indices.compactMap { synonymsOf(words[$0]) != nil ? EDA.parts(words[$0]).1.lowercased() : nil })).sorted()
            rng.shuffle(&cands)
            var replaced = 0
            for core in cands {
                let idx = words.indices.filter { EDA.parts(words[$0]).1.lowercased() == core }
                guard let first = idx.first, let syns = synonymsOf(words[first]) else { continue }
                let syn = syns[rng.below(syns.count)]
                for i in idx { words[i] = replace(words[i], with: syn) }
                replaced += 1
                if replaced >= n { break }
            }
        case .insert:
            for _ in 0..<n {
                var syn: String? = nil
                for _ in 0..<10 {
                    let w = words[rng.below(words.count)]
                    if let s = synonymsOf(w) { syn = s[rng.below(s.count)]; break }
                }
                guard let syn else { break }
                words.insert(syn, at: rng.below(words.count + 1))
            }
        case .swap:
            if words.count < 2 { return text }
            for _ in 0..<n {
                let i = rng.below(words.count)
                var j = rng.below(words.count)
                var tries = 0
                while j == i && tries < 3 { j = rng.below(words.count); tries += 1 }
                words.swapAt(i, j)
            }
        case .delete:
            if words.count == 1 { return text }
            let kept = words.filter { _ in rng.uniform() >= alpha }
            words = kept.isEmpty ? [words[rng.below(words.count)]] : kept
        }
        return words.joined(separator: " ")
    }
}

/// Augmenting a table column: each row gets `copies` new rows, each made by one operation
/// drawn at random from `ops` (an EDA operation or "fn", the user's function).
public enum Augment {
    public struct Report: Sendable {
        public var added = 0
        /// Copies dropped because the operation left the text unchanged (or fn returned nil).
        public var unchanged = 0
        public var perOp: [String: Int] = [:]
    }

    /// The operations when none is named: your function alone when there is one, else the four EDA operations.
    public static func defaultOps(custom: Bool) -> [String] { custom ? ["fn"] : EDA.Op.allCases.map(\.rawValue) }

    public static func table(_ t: DataTable, column: String, ops: [String], copies: Int, eda: EDA,
                             custom: ((String, Int) throws -> String?)?, keepOriginal: Bool,
                             rng: inout RandomGenerator, progress: ((Int, Int) -> Void)? = nil) throws -> (DataTable, Report) {
        let col = try t.column(column)
        guard case .string = col.values else {
            throw LatheError("column '\(column)' is \(col.type.rawValue); augmentation works on a string column")
        }
        if ops.isEmpty { throw LatheError("ops is empty (use synonym, insert, swap, delete, or fn)") }
        for op in ops where op != "fn" && EDA.Op(rawValue: op) == nil {
            var msg = "unknown operation '\(op)'"
            if let h = closestName(op, EDA.Op.allCases.map { $0.rawValue } + ["fn"]) { msg += "; did you mean '\(h)'?" }
            throw LatheError(msg + " (expected synonym, insert, swap, delete or fn)")
        }
        if ops.contains("fn") && custom == nil { throw LatheError("op \"fn\" needs a function: pass fn = function(text, row) ... end") }
        if copies < 0 { throw LatheError("n must be >= 0 (got \(copies))") }
        // n copies of every text (and a row of every other column each): refused at once when
        // that cannot fit, instead of growing until the system gives out
        if case .string(let texts) = col.values {
            let perCopy = Double(texts.bytes.count) + Double(t.rowCount) * Double(48 + 16 * t.columnCount)
            let need = perCopy * Double(copies)
            try MemoryBudget.check(bytes: need < 0x1p62 ? Int(need) : Int.max, for: "augment with n = \(copies)")
        }
        var report = Report()
        var srcRows: [Int] = []
        var texts: [String] = []
        var made = 0
        for r in 0..<t.rowCount {
            guard let s = col.string(r) else { continue }
            for _ in 0..<copies {
                made += 1
                if made & 0xFFF == 0 { try Interrupt.check() }
                let op = ops[rng.below(ops.count)]
                let out: String?
                if op == "fn" { out = try custom?(s, r) } else { out = eda.apply(EDA.Op(rawValue: op)!, to: s, rng: &rng) }
                guard let o = out, o != s else { report.unchanged += 1; continue }
                srcRows.append(r)
                texts.append(o)
                report.perOp[op, default: 0] += 1
            }
            if r & 0xFFF == 0 || custom != nil {
                try Interrupt.check()
                progress?(r + 1, t.rowCount)
            }
        }
        report.added = texts.count
        var aug = t.take(srcRows)
        aug = try aug.setting(column, Column(.string(StringArray(texts))))
        aug = try aug.setting("augmented", Column(.boolean([Bool](repeating: true, count: texts.count))))
        if !keepOriginal { return (aug, report) }
        var orig = t
        if !t.names.contains("augmented") {
            orig = try t.setting("augmented", Column(.boolean([Bool](repeating: false, count: t.rowCount))))
        }
        return (try orig.concat(aug), report)
    }
}
