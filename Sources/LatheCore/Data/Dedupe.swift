import Foundation

/// De-duplication of texts: exact (after normalization) and near-duplicate by MinHash with
/// LSH banding at a Jaccard threshold.
///
/// Normalization: Unicode NFKC, lower case, white space trimmed and collapsed. Texts with the
/// same normalized form are exact duplicates. For near duplicates each text becomes a set of
/// shingles (by default character 5-grams of the normalized text; `unit = .word` uses word
/// 3-grams), each hashed to 64 bits; a MinHash signature of `numPerm` 32-bit values (hash
/// functions a*x+b mod 2^32 on the upper 32 bits of the shingle hash, a odd) estimates the
/// Jaccard similarity of two sets; LSH bands (b bands of r rows, b*r <= numPerm, chosen with datasketch's
/// `_optimal_param` formula, weighting false negatives 0.95 and false positives 0.05 because
/// candidates are verified) propose candidate pairs (each document against the latest 8
/// members of each of its buckets); each candidate is checked with the true Jaccard similarity of the two
/// shingle sets (or the signature estimate), and pairs at or above the threshold are joined.
/// Clusters are the connected groups (so A~B and B~C put A, B, C together); the first row of
/// each cluster is kept. Missing texts are never duplicates.
public enum Dedupe {
    public enum Unit: String, Sendable { case char, word }
    public enum Verify: String, Sendable { case jaccard, minhash }

    public struct Options: Sendable {
        public var exact = true
        /// Jaccard threshold for near duplicates (nil: exact only).
        public var near: Double? = nil
        public var unit: Unit = .char
        /// Shingle size (default 5 characters or 3 words).
        public var ngram: Int? = nil
        public var numPerm = 128
        public var verify: Verify = .jaccard
        public var seed: UInt64 = 1
        public init() {}
        var n: Int { ngram ?? (unit == .char ? 5 : 3) }
    }

    public struct Result: Sendable {
        /// For each row, the first row (0-based) of its cluster (itself when unique).
        public var clusterOf: [Int]
        /// Clusters with more than one row, each in row order (the first is kept), ordered by
        /// their first row.
        public var clusters: [[Int]]
        /// Rows removed because their normalized text equals an earlier row's.
        public var exactDuplicates: Int
        /// Further rows removed as near duplicates.
        public var nearDuplicates: Int
        public var bands = 0
        public var rowsPerBand = 0
        /// Candidate pairs the LSH proposed and how many passed the check.
        public var candidatePairs = 0
        public var verifiedPairs = 0
        public var keep: [Bool] { clusterOf.enumerated().map { $0.offset == $0.element } }
    }

    /// NFKC, lower case, white space collapsed.
    public static func normalize(_ s: String) -> String {
        Clean.normalizeWhitespace(Clean.nfkc(s).lowercased())
    }

    // MARK: - LSH parameters

    /// Adaptive Simpson integration (tolerance 1e-10), close to the QUADPACK result
    /// datasketch gets from scipy.
    static func integrate(_ f: (Double) -> Double, _ a: Double, _ b: Double) -> Double {
        func simpson(_ a: Double, _ fa: Double, _ b: Double, _ fb: Double) -> (Double, Double, Double) {
            let m = (a + b) / 2, fm = f(m)
            return (m, fm, (b - a) / 6 * (fa + 4 * fm + fb))
        }
        func rec(_ a: Double, _ fa: Double, _ b: Double, _ fb: Double, _ m: Double, _ fm: Double, _ whole: Double, _ eps: Double, _ depth: Int) -> Double {
            let (lm, flm, left) = simpson(a, fa, m, fm)
            let (rm, frm, right) = simpson(m, fm, b, fb)
            let delta = left + right - whole
            if depth <= 0 || abs(delta) <= 15 * eps { return left + right + delta / 15 }
            return rec(a, fa, m, fm, lm, flm, left, eps / 2, depth - 1) + rec(m, fm, b, fb, rm, frm, right, eps / 2, depth - 1)
        }
        if a >= b { return 0 }
        let fa = f(a), fb = f(b)
        let (m, fm, whole) = simpson(a, fa, b, fb)
        return rec(a, fa, b, fb, m, fm, whole, 1e-10, 40)
    }

    /// (bands, rows per band) minimizing the equally weighted false positive and false
    /// negative areas at the threshold (datasketch's `_optimal_param`).
    public static func lshParams(threshold t: Double, numPerm: Int, fpWeight: Double = 0.5, fnWeight: Double = 0.5) -> (Int, Int) {
        let key = "\(t)/\(numPerm)/\(fpWeight)/\(fnWeight)"
        paramLock.lock()
        let cached = paramCache[key]
        paramLock.unlock()
        if let cached { return cached }
        let opt = computeLSHParams(t, numPerm, fpWeight, fnWeight)
        paramLock.lock()
        paramCache[key] = opt
        paramLock.unlock()
        return opt
    }

    nonisolated(unsafe) static var paramCache: [String: (Int, Int)] = [:]
    static let paramLock = NSLock()

    static func computeLSHParams(_ t: Double, _ numPerm: Int, _ fpWeight: Double, _ fnWeight: Double) -> (Int, Int) {
        var best = Double.infinity
        var opt = (1, 1)
        for b in 1...numPerm {
            let maxR = numPerm / b
            if maxR < 1 { continue }
            for r in 1...maxR {
                let bd = Double(b), rd = Double(r)
                let fp = integrate({ s in 1 - Foundation.pow(1 - Foundation.pow(s, rd), bd) }, 0, t)
                let fn = integrate({ s in 1 - (1 - Foundation.pow(1 - Foundation.pow(s, rd), bd)) }, t, 1)
                let err = fp * fpWeight + fn * fnWeight
                if err < best { best = err; opt = (b, r) }
            }
        }
        return opt
    }

    // MARK: - Shingles and signatures

    @inline(__always) static func fmix(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33; h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33; h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    @inline(__always) static func fnv(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b { h = (h ^ UInt64(c)) &* 0x100_0000_01b3 }
        return h
    }

    /// The sorted, distinct shingle hashes of a normalized text.
    static func shingles(_ s: String, unit: Unit, n: Int, scratch: inout [UInt32], distinct: Bool = true) -> [UInt64] {
        var out: [UInt64] = []
        var s = s
        switch unit {
        case .char:
            scratch.removeAll(keepingCapacity: true)
            s.withUTF8 { b in
                var ascii = true
                for c in b where c >= 0x80 { ascii = false; break }
                if ascii { for c in b { scratch.append(UInt32(c)) } }
            }
            if scratch.isEmpty && !s.isEmpty { for u in s.unicodeScalars { scratch.append(u.value) } }
            let m = scratch.count
            if m == 0 { return [] }
            if m <= n {
                var h: UInt64 = 0x9E37_79B9_7F4A_7C15
                for v in scratch { h = (h ^ UInt64(v)) &* 0x100_0000_01b3 }
                return [fmix(h)]
            }
            out.reserveCapacity(m - n + 1)
            for j in 0...(m - n) {
                var h: UInt64 = 0x9E37_79B9_7F4A_7C15
                for k in 0..<n { h = (h ^ UInt64(scratch[j + k])) &* 0x100_0000_01b3 }
                out.append(fmix(h))
            }
        case .word:
            var words: [UInt64] = []
            s.withUTF8 { b in
                var start = 0
                for i in 0...b.count {
                    if i == b.count || b[i] == 32 {
                        if i > start { words.append(fnv(UnsafeBufferPointer(rebasing: b[start..<i]))) }
                        start = i + 1
                    }
                }
            }
            if words.isEmpty { return [] }
            if words.count <= n {
                var h: UInt64 = 0x9E37_79B9_7F4A_7C15
                for w in words { h = fmix(h ^ w) }
                return [h]
            }
            for j in 0...(words.count - n) {
                var h: UInt64 = 0x9E37_79B9_7F4A_7C15
                for k in 0..<n { h = fmix(h ^ words[j + k]) }
                out.append(h)
            }
        }
        if !distinct { return out }   // repeats do not change a minimum
        out.sort()
        var w = 0
        for x in out where w == 0 || out[w - 1] != x { out[w] = x; w += 1 }
        out.removeLast(out.count - w)
        return out
    }

    /// The MinHash signature of a shingle set: for each of the np hash functions
    /// h_k(x) = a_k * x + b_k (mod 2^32, a_k odd) of the shingle's upper 32 hash bits, the
    /// minimum over the set. Eight functions per SIMD vector; each vector keeps its minimum in
    /// a register while it runs over the shingles.
    @inline(__always)
    static func signature(_ sh: [UInt64], _ a: UnsafeBufferPointer<SIMD8<UInt32>>, _ b: UnsafeBufferPointer<SIMD8<UInt32>>,
                          _ acc: UnsafeMutableBufferPointer<SIMD8<UInt32>>, into out: UnsafeMutablePointer<UInt32>) {
        let groups = acc.count
        for g in 0..<groups {
            let ag = a[g], bg = b[g]
            var m = SIMD8<UInt32>(repeating: .max)
            for x in sh {
                m = pointwiseMin(m, ag &* SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: x >> 32)) &+ bg)
            }
            acc[g] = m
        }
        UnsafeMutableRawPointer(out).copyMemory(from: UnsafeRawPointer(acc.baseAddress!), byteCount: groups * 32)
    }

    /// Jaccard similarity of two sorted distinct arrays.
    static func jaccard(_ a: [UInt64], _ b: [UInt64]) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        var i = 0, j = 0, inter = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { inter += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return Double(inter) / Double(a.count + b.count - inter)
    }

    /// A union-find over row indices (the smaller root wins, so a cluster's root is its first row).
    struct UnionFind {
        var parent: [Int32]
        init(_ n: Int) { parent = (0..<n).map { Int32($0) } }
        mutating func find(_ x: Int) -> Int {
            var r = x
            while Int(parent[r]) != r { r = Int(parent[r]) }
            var y = x
            while Int(parent[y]) != r { let nx = Int(parent[y]); parent[y] = Int32(r); y = nx }
            return r
        }
        mutating func union(_ a: Int, _ b: Int) {
            let ra = find(a), rb = find(b)
            if ra == rb { return }
            if ra < rb { parent[rb] = Int32(ra) } else { parent[ra] = Int32(rb) }
        }
    }

    /// An open-addressing map from band hash to the latest document with it; `next` links each
    /// document to the previous one in its bucket.
    struct BucketTable {
        var keys: [UInt64]
        var vals: [Int32]
        var next: [Int32]
        let mask: Int
        init(capacity: Int) {
            var c = 16
            while c < capacity * 2 { c <<= 1 }
            keys = [UInt64](repeating: 0, count: c)
            vals = [Int32](repeating: -1, count: c)
            next = [Int32](repeating: -1, count: capacity)
            mask = c - 1
        }
        /// Inserts doc and returns the previous document of its bucket (-1 if none).
        mutating func insert(_ key: UInt64, _ doc: Int32) -> Int32 {
            let k = key == 0 ? 1 : key
            var i = Int(truncatingIfNeeded: k) & mask
            while true {
                if keys[i] == 0 { keys[i] = k; vals[i] = doc; return -1 }
                if keys[i] == k {
                    let prev = vals[i]
                    next[Int(doc)] = prev
                    vals[i] = doc
                    return prev
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Candidates per document and band: the latest this many members of its bucket.
    static let bucketReach = 8

    /// MinHash signatures of texts (normalized first), as `find` computes them.
    public static func signatures(_ texts: [String], options: Options = Options()) -> [[UInt32]] {
        let np = options.numPerm, groups = np / 8
        var g = RandomGenerator(seed: options.seed)
        var A = [SIMD8<UInt32>](repeating: .init(), count: groups), B = A
        for k in 0..<groups {
            for l in 0..<8 {
                A[k][l] = UInt32(truncatingIfNeeded: g.next()) | 1
                B[k][l] = UInt32(truncatingIfNeeded: g.next())
            }
        }
        var scratch: [UInt32] = []
        var acc = [SIMD8<UInt32>](repeating: .init(), count: groups)
        return texts.map { t in
            var out = [UInt32](repeating: 0, count: np)
            let sh = shingles(normalize(t), unit: options.unit, n: options.n, scratch: &scratch, distinct: false)
            A.withUnsafeBufferPointer { a in
                B.withUnsafeBufferPointer { b in
                    acc.withUnsafeMutableBufferPointer { ac in
                        out.withUnsafeMutableBufferPointer { o in signature(sh, a, b, ac, into: o.baseAddress!) }
                    }
                }
            }
            return out
        }
    }

    /// The true Jaccard similarity of two texts' shingle sets (normalized first).
    public static func jaccard(_ a: String, _ b: String, options: Options = Options()) -> Double {
        var scratch: [UInt32] = []
        return jaccard(shingles(normalize(a), unit: options.unit, n: options.n, scratch: &scratch),
                       shingles(normalize(b), unit: options.unit, n: options.n, scratch: &scratch))
    }

    // MARK: - Finding duplicates

    /// Clusters of duplicate texts (nil = missing). `progress(done, total)` is called on the
    /// calling thread between blocks of work.
    public static func find(_ texts: [String?], options: Options = Options(),
                            progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> Result {
        let n = texts.count
        if let t = options.near, !(t > 0 && t <= 1) { throw LatheError("near must be a Jaccard threshold in (0, 1], got \(t)") }
        if options.numPerm < 8 || options.numPerm > 1024 || options.numPerm % 8 != 0 {
            throw LatheError("num_perm must be a multiple of 8 from 8 to 1024, got \(options.numPerm)")
        }
        if options.n < 1 || options.n > 64 { throw LatheError("ngram must be from 1 to 64, got \(options.n)") }
        let totalWork = n * (options.near == nil ? 1 : 3)
        var done = 0
        // 1. normalize
        var keys = [String?](repeating: nil, count: n)
        let block = 50_000
        var start = 0
        while start < n {
            let end = min(n, start + block)
            let part = try Parallel.chunks(end - start, minChunk: 2048) { (r) throws(LatheError) -> [String?] in
                r.map { i in texts[start + i].map { options.exact || options.near != nil ? normalize($0) : $0 } }
            }
            var k = start
            for p in part { for v in p { keys[k] = v; k += 1 } }
            start = end
            progress?(end, totalWork)
            try Interrupt.check()
        }
        done = n
        var uf = UnionFind(n)
        // 2. exact
        var reps: [Int] = []   // first row of each distinct normalized text
        if options.exact {
            var first: [String: Int] = [:]
            first.reserveCapacity(n)
            for i in 0..<n {
                guard let k = keys[i] else { continue }
                if let f = first[k] { uf.union(f, i) } else { first[k] = i; reps.append(i) }
            }
        } else {
            reps = (0..<n).filter { keys[$0] != nil }
        }
        var exactRoots = [Int](repeating: 0, count: n)
        for i in 0..<n { exactRoots[i] = uf.find(i) }
        var result = Result(clusterOf: [], clusters: [], exactDuplicates: 0, nearDuplicates: 0)

        // 3. near duplicates among the distinct texts
        if let threshold = options.near {
            // every candidate is verified, so the bands favour recall: the false-negative area
            // weighs 0.95 (about 93% of pairs right at the threshold become candidates)
            let (b, r) = lshParams(threshold: threshold, numPerm: options.numPerm, fpWeight: 0.05, fnWeight: 0.95)
            result.bands = b
            result.rowsPerBand = r
            let np = options.numPerm
            var g = RandomGenerator(seed: options.seed)
            let groups = np / 8
            var A = [SIMD8<UInt32>](repeating: .init(), count: groups), B = A
            for k in 0..<groups {
                for l in 0..<8 {
                    A[k][l] = UInt32(truncatingIfNeeded: g.next()) | 1
                    B[k][l] = UInt32(truncatingIfNeeded: g.next())
                }
            }
            let m = reps.count
            var sigs = [UInt32](repeating: 0, count: m * np)
            var s0 = 0
            let unit = options.unit, ng = options.n
            while s0 < m {
                let s1 = min(m, s0 + block)
                let parts = try Parallel.chunks(s1 - s0, minChunk: 1024) { (range) throws(LatheError) -> [UInt32] in
                    var out = [UInt32](repeating: UInt32.max, count: range.count * np)
                    var scratch: [UInt32] = []
                    var acc = [SIMD8<UInt32>](repeating: .init(), count: groups)
                    A.withUnsafeBufferPointer { a in
                        B.withUnsafeBufferPointer { bb in
                            acc.withUnsafeMutableBufferPointer { ac in
                                out.withUnsafeMutableBufferPointer { o in
                                    for (q, j) in range.enumerated() {
                                        let sh = shingles(keys[reps[s0 + j]]!, unit: unit, n: ng, scratch: &scratch, distinct: false)
                                        signature(sh, a, bb, ac, into: o.baseAddress! + q * np)
                                    }
                                }
                            }
                        }
                    }
                    return out
                }
                var off = s0 * np
                for p in parts {
                    sigs.withUnsafeMutableBufferPointer { d in
                        p.withUnsafeBufferPointer { src in (d.baseAddress! + off).update(from: src.baseAddress!, count: src.count) }
                    }
                    off += p.count
                }
                s0 = s1
                progress?(done + s1, totalWork)
                try Interrupt.check()
            }
            done += m
            // LSH: per band, documents whose band values agree share a bucket
            let sigsC = sigs
            let pairLists = try Parallel.map(b) { (band) throws(LatheError) -> [UInt64] in
                var table = BucketTable(capacity: m)
                var pairs: [UInt64] = []
                sigsC.withUnsafeBufferPointer { sp in
                    for j in 0..<m {
                        var h: UInt64 = 0x243F_6A88_85A3_08D3 &+ UInt64(band)
                        let base = sp.baseAddress! + j * np + band * r
                        for k in 0..<r { h = fmix(h ^ UInt64(base[k]) &+ UInt64(k)) }
                        var prev = table.insert(h, Int32(j))
                        var steps = 0
                        while prev >= 0 && steps < bucketReach {
                            pairs.append(UInt64(prev) << 32 | UInt64(j))
                            prev = table.next[Int(prev)]
                            steps += 1
                        }
                    }
                }
                return pairs
            }
            var pairs = Array(pairLists.joined())
            pairs.sort()
            var w = 0
            for x in pairs where w == 0 || pairs[w - 1] != x { pairs[w] = x; w += 1 }
            pairs.removeLast(pairs.count - w)
            result.candidatePairs = pairs.count
            progress?(done + m / 2, totalWork)
            try Interrupt.check()
            // verify candidates (a signature estimate far below the threshold rejects at once)
            let verify = options.verify
            let margin = max(0.15, 4 * (threshold * (1 - threshold) / Double(np)).squareRoot())
            let ok = try Parallel.chunks(pairs.count, minChunk: 256) { (range) throws(LatheError) -> [Bool] in
                var scratch: [UInt32] = []
                var out: [Bool] = []
                out.reserveCapacity(range.count)
                for q in range {
                    let a = Int(pairs[q] >> 32), c = Int(pairs[q] & 0xFFFF_FFFF)
                    var eq = 0
                    for k in 0..<np where sigsC[a * np + k] == sigsC[c * np + k] { eq += 1 }
                    let est = Double(eq) / Double(np)
                    let sim: Double
                    switch verify {
                    case .jaccard:
                        if est < threshold - margin { out.append(false); continue }
                        let sa = shingles(keys[reps[a]]!, unit: unit, n: ng, scratch: &scratch)
                        let sb = shingles(keys[reps[c]]!, unit: unit, n: ng, scratch: &scratch)
                        sim = jaccard(sa, sb)
                    case .minhash:
                        sim = est
                    }
                    out.append(sim >= threshold - 1e-12)
                }
                return out
            }
            var q = 0
            for part in ok {
                for v in part {
                    if v {
                        result.verifiedPairs += 1
                        uf.union(reps[Int(pairs[q] >> 32)], reps[Int(pairs[q] & 0xFFFF_FFFF)])
                    }
                    q += 1
                }
            }
            done += m
            progress?(totalWork, totalWork)
        }

        // 4. clusters
        var clusterOf = [Int](repeating: 0, count: n)
        var members: [Int: [Int]] = [:]
        for i in 0..<n {
            let root = uf.find(i)
            clusterOf[i] = root
            if root != i {
                members[root, default: [root]].append(i)
                if exactRoots[i] != i { result.exactDuplicates += 1 } else { result.nearDuplicates += 1 }
            }
        }
        result.clusterOf = clusterOf
        result.clusters = members.keys.sorted().map { members[$0]! }
        return result
    }

    /// The table without duplicate rows (by the text in `column`), and what was found.
    public static func dedupe(_ t: DataTable, column: String, options: Options = Options(),
                              progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, Result) {
        let col = try t.column(column)
        guard let texts = col.stringValues else {
            throw LatheError("column '\(column)' is \(col.type.rawValue); de-duplication works on a string column")
        }
        let r = try find(texts, options: options, progress: progress)
        return (try t.filter(r.keep), r)
    }
}

extension Dedupe {
    /// The Jaccard threshold that near-duplicate detection uses when none is named.
    public static let defaultNear = 0.8

    /// Every row of `t` with a column `duplicate_of`: the 1-based row kept in place of a
    /// duplicate, missing for the rows kept.
    public static func marked(_ t: DataTable, _ r: Result) throws(LatheError) -> DataTable {
        try t.setting("duplicate_of", Column(integers: r.clusterOf.enumerated().map { $0.offset == $0.element ? nil : Int64($0.element + 1) }))
    }
}

extension Dedupe.Result {
    /// The texts of the first `clusters` clusters (at most `rows` each), so a person sees what
    /// was joined.
    public func examples(_ texts: Column, clusters: Int = 3, rows: Int = 4) -> [[String]] {
        self.clusters.prefix(clusters).map { cl in cl.prefix(rows).map { texts.string($0) ?? "NA" } }
    }
}
