import Foundation

/// Train/validation/test splits, k-fold assignment, re-sampling to a label distribution and
/// class weights.
public enum Split {
    /// Sizes for n items in the given proportions (which sum to 1): floors, then the
    /// remaining items to the largest fractional parts (ties to the earlier part).
    public static func allocate(_ n: Int, _ fractions: [Double]) -> [Int] {
        let ideal = fractions.map { Double(n) * $0 }
        var sizes = ideal.map { Int($0.rounded(.down)) }
        var rest = n - sizes.reduce(0, +)
        let order = fractions.indices.sorted { a, b in
            let fa = ideal[a] - Double(sizes[a]), fb = ideal[b] - Double(sizes[b])
            return fa != fb ? fa > fb : a < b
        }
        var k = 0
        while rest > 0 && !order.isEmpty {
            sizes[order[k % order.count]] += 1
            rest -= 1
            k += 1
        }
        return sizes
    }

    /// Integer counts[l][s] with row sums `labelCounts`, each entry the floor or ceiling of
    /// labelCounts[l] * fractions[s], and column sums as close as possible to the global
    /// largest-remainder sizes (controlled rounding by max flow).
    public static func stratifiedCounts(_ labelCounts: [Int], _ fractions: [Double]) -> [[Int]] {
        let L = labelCounts.count, S = fractions.count
        let total = labelCounts.reduce(0, +)
        var counts = labelCounts.map { c in fractions.map { Int((Double(c) * $0).rounded(.down)) } }
        let frac = labelCounts.enumerated().map { (l, c) in fractions.enumerated().map { (s, f) in Double(c) * f - Double(counts[l][s]) } }
        let rowNeed = (0..<L).map { labelCounts[$0] - counts[$0].reduce(0, +) }
        let target = allocate(total, fractions)
        let colSum = (0..<S).map { s in counts.reduce(0) { $0 + $1[s] } }
        func solve(_ colCap: [Int]) -> [[Bool]]? {
            // x[l][s] = 1 when label l gives one more item to split s
            var x = [[Bool]](repeating: [Bool](repeating: false, count: S), count: L)
            var used = [Int](repeating: 0, count: S)
            // greedy by largest fractional part
            var cells: [(Double, Int, Int)] = []
            for l in 0..<L { for s in 0..<S where frac[l][s] > 1e-9 { cells.append((frac[l][s], l, s)) } }
            cells.sort { $0.0 != $1.0 ? $0.0 > $1.0 : ($0.1 != $1.1 ? $0.1 < $1.1 : $0.2 < $1.2) }
            var given = [Int](repeating: 0, count: L)
            for (_, l, s) in cells where given[l] < rowNeed[l] && used[s] < colCap[s] {
                x[l][s] = true; given[l] += 1; used[s] += 1
            }
            // augmenting paths for labels still short
            for l in 0..<L {
                while given[l] < rowNeed[l] {
                    // BFS over alternating paths: label -> split (unused edge) -> label (used edge)
                    var prevSplit = [Int](repeating: -1, count: S)   // label that reached split s
                    var prevLabel = [Int](repeating: -2, count: L)   // split that reached label
                    prevLabel[l] = -1
                    var queue = [l]
                    var found = -1
                    var qi = 0
                    while qi < queue.count && found < 0 {
                        let a = queue[qi]; qi += 1
                        for s in 0..<S where frac[a][s] > 1e-9 && !x[a][s] && prevSplit[s] < 0 {
                            prevSplit[s] = a
                            if used[s] < colCap[s] { found = s; break }
                            for b in 0..<L where x[b][s] && prevLabel[b] == -2 {
                                prevLabel[b] = s
                                queue.append(b)
                            }
                        }
                    }
                    if found < 0 { return nil }
                    // flip the path
                    var s = found
                    used[s] += 1
                    while true {
                        let a = prevSplit[s]
                        x[a][s] = true
                        let back = prevLabel[a]
                        if back == -1 { break }
                        x[a][back] = false
                        s = back
                    }
                    given[l] += 1
                }
            }
            return x
        }
        let exactCap = (0..<S).map { max(0, target[$0] - colSum[$0]) }
        var x = solve(exactCap)
        if x == nil {
            let looseCap = (0..<S).map { s in
                let ideal = fractions[s] * Double(total)
                return max(0, Int(ideal.rounded(.up)) - colSum[s])
            }
            x = solve(looseCap)
        }
        if let x {
            for l in 0..<L { for s in 0..<S where x[l][s] { counts[l][s] += 1 } }
        } else {
            // unreachable in theory; fall back to per-label largest remainder
            counts = labelCounts.map { allocate($0, fractions) }
        }
        return counts
    }

    /// Label ids per row (missing labels form their own class) and the distinct labels in
    /// order of first appearance.
    public static func labelIds(_ col: Column) -> ([Int], [Cell]) {
        var index: [Cell: Int] = [:]
        var labels: [Cell] = []
        var ids = [Int](repeating: 0, count: col.count)
        for i in 0..<col.count {
            let c = col[i]
            if let j = index[c] { ids[i] = j } else { index[c] = labels.count; ids[i] = labels.count; labels.append(c) }
        }
        return (ids, labels)
    }

    /// Assigns each of n rows to a split (0..<fractions.count).
    /// - labels: stratify so every split keeps each label's share within one example.
    /// - groups: rows with the same group id always land in the same split.
    public static func assign(n: Int, fractions: [Double], labels: [Int]? = nil, groups: [Int]? = nil,
                              rng: inout RandomGenerator) throws(LatheError) -> [Int] {
        let sum = fractions.reduce(0, +)
        // written so that NaN fails: a NaN proportion would reach Int() in allocate
        if !fractions.allSatisfy({ $0 >= 0 && $0 <= 1 }) || !(abs(sum - 1) <= 1e-6) {
            throw LatheError("split proportions must be >= 0 and sum to 1 (got \(fractions.map { formatNumber($0) }.joined(separator: " + ")) = \(formatNumber(sum)))")
        }
        var out = [Int](repeating: 0, count: n)
        let S = fractions.count
        if let groups {
            // group-aware: whole groups go to the split furthest below its target
            var gIndex: [Int: Int] = [:]
            var members: [[Int]] = []
            for i in 0..<n {
                if let g = gIndex[groups[i]] { members[g].append(i) } else { gIndex[groups[i]] = members.count; members.append([i]) }
            }
            var order = rng.permutation(members.count)
            order = mergeSort(order) { members[$0].count > members[$1].count }
            let target = allocate(n, fractions).map(Double.init)
            var size = [Double](repeating: 0, count: S)
            if let labels {
                let L = (labels.max() ?? -1) + 1
                var labelTotal = [Double](repeating: 0, count: L)
                for l in labels { labelTotal[l] += 1 }
                var cnt = [[Double]](repeating: [Double](repeating: 0, count: L), count: S)
                for g in order {
                    var gl = [Double](repeating: 0, count: L)
                    for i in members[g] { gl[labels[i]] += 1 }
                    var best = 0
                    var bestCost = Double.infinity
                    for s in 0..<S where fractions[s] > 0 {
                        var cost = 0.0
                        for t in 0..<S {
                            for l in 0..<L where labelTotal[l] > 0 {
                                let c = cnt[t][l] + (t == s ? gl[l] : 0)
                                let d = (c - fractions[t] * labelTotal[l]) / max(1, labelTotal[l])
                                cost += d * d
                            }
                            let sz = size[t] + (t == s ? Double(members[g].count) : 0)
                            let e = (sz - target[t]) / Double(max(n, 1))
                            cost += Double(L) * e * e
                        }
                        if cost < bestCost - 1e-15 { bestCost = cost; best = s }
                    }
                    for i in members[g] { out[i] = best; cnt[best][labels[i]] += 1 }
                    size[best] += Double(members[g].count)
                }
            } else {
                for g in order {
                    var best = 0
                    var bestDeficit = -Double.infinity
                    for s in 0..<S where fractions[s] > 0 {
                        let d = target[s] - size[s]
                        if d > bestDeficit + 1e-12 { bestDeficit = d; best = s }
                    }
                    for i in members[g] { out[i] = best }
                    size[best] += Double(members[g].count)
                }
            }
            return out
        }
        if let labels {
            let L = (labels.max() ?? -1) + 1
            var rowsOf = [[Int]](repeating: [], count: L)
            for i in 0..<n { rowsOf[labels[i]].append(i) }
            let counts = stratifiedCounts(rowsOf.map { $0.count }, fractions)
            for l in 0..<L {
                var rows = rowsOf[l]
                rng.shuffle(&rows)
                var k = 0
                for s in 0..<S {
                    for _ in 0..<counts[l][s] { out[rows[k]] = s; k += 1 }
                }
            }
            return out
        }
        let sizes = allocate(n, fractions)
        let perm = rng.permutation(n)
        var k = 0
        for s in 0..<S {
            for _ in 0..<sizes[s] { out[perm[k]] = s; k += 1 }
        }
        return out
    }

    /// Assigns each row to one of k folds (0..<k): sizes within one; stratified folds keep
    /// each label's count within one across folds; groups never span folds.
    public static func kfold(n: Int, k: Int, labels: [Int]? = nil, groups: [Int]? = nil,
                             rng: inout RandomGenerator) throws(LatheError) -> [Int] {
        if k < 2 { throw LatheError("k must be at least 2 (got \(k))") }
        if k > n { throw LatheError("k = \(k) folds need at least \(k) rows (got \(n))") }
        if groups != nil {
            return try assign(n: n, fractions: [Double](repeating: 1.0 / Double(k), count: k - 1) + [1.0 - Double(k - 1) / Double(k)],
                              labels: labels, groups: groups, rng: &rng)
        }
        var out = [Int](repeating: 0, count: n)
        if let labels {
            let L = (labels.max() ?? -1) + 1
            var rowsOf = [[Int]](repeating: [], count: L)
            for i in 0..<n { rowsOf[labels[i]].append(i) }
            var pos = 0
            for l in 0..<L {
                var rows = rowsOf[l]
                rng.shuffle(&rows)
                for r in rows { out[r] = pos % k; pos += 1 }
            }
            return out
        }
        let perm = rng.permutation(n)
        for (pos, r) in perm.enumerated() { out[r] = pos % k }
        return out
    }

    /// sklearn's "balanced" weights: n_samples / (n_classes * count), for each distinct
    /// non-missing label sorted by value.
    public static func classWeights(_ col: Column) -> [(Cell, Double)] {
        let (keys, counts) = col.distinctCounts()
        var pairs: [(Cell, Int)] = []
        for (k, c) in zip(keys, counts) where !k.isMissing { pairs.append((k, c)) }
        pairs.sort { compareCells($0.0, $1.0) < 0 }
        let total = pairs.reduce(0) { $0 + $1.1 }
        let nc = Double(pairs.count)
        return pairs.map { ($0.0, Double(total) / (nc * Double($0.1))) }
    }

    /// How many rows each label should have after re-sampling.
    public enum Target: Sendable {
        /// Every label to the largest (over-sampling) or smallest (under-sampling) count.
        case auto
        /// Every label to the largest count, the smallest, or the mean count (rounded).
        case largest, smallest, mean
        case count(Int)
        case counts([Cell: Int])
        /// Shares per label (summing to 1); the total is the smallest (under) or largest
        /// (over) that respects every label's available rows.
        case distribution([Cell: Double])
    }

    /// Rows (0-based, with repeats for over-sampling) that give each label its target count.
    /// Over-sampling keeps every row and adds copies (whole passes over the label's rows, then
    /// a random subset without replacement); under-sampling keeps a random subset in table
    /// order. Labels a target does not mention keep their rows.
    public static func resample(_ col: Column, target: Target, over: Bool, rng: inout RandomGenerator) throws(LatheError) -> [Int] {
        let (ids, labels) = labelIds(col)
        let L = labels.count
        var rowsOf = [[Int]](repeating: [], count: L)
        for (i, l) in ids.enumerated() { rowsOf[l].append(i) }
        let have = rowsOf.map { $0.count }
        var want = have
        switch target {
        case .auto, .largest, .smallest, .mean:
            let mean = have.isEmpty ? 0 : Int((Double(have.reduce(0, +)) / Double(have.count)).rounded())
            let largest = have.max() ?? 0, smallest = have.min() ?? 0
            let t: Int
            switch target {
            case .largest: t = largest
            case .smallest: t = smallest
            case .mean: t = mean
            default: t = over ? largest : smallest
            }
            want = have.map { _ in t }
        case .count(let t):
            if t < 0 { throw LatheError("target count must be >= 0 (got \(t))") }
            want = have.map { _ in t }
        case .counts(let given):
            let m = Dictionary(given.map { (labelKey($0.key, for: col), $0.value) }, uniquingKeysWith: { a, _ in a })
            for k in m.keys where !labels.contains(k) {
                throw LatheError("target names label \(k.description.debugDescription), which the column does not have (labels: \(labels.map { $0.description }.joined(separator: ", ")))")
            }
            for (l, lab) in labels.enumerated() { if let t = m[lab] { if t < 0 { throw LatheError("target counts must be >= 0") }; want[l] = t } }
        case .distribution(let given):
            let m = Dictionary(given.map { (labelKey($0.key, for: col), $0.value) }, uniquingKeysWith: { a, _ in a })
            for k in m.keys where !labels.contains(k) {
                throw LatheError("distribution names label \(k.description.debugDescription), which the column does not have (labels: \(labels.map { $0.description }.joined(separator: ", ")))")
            }
            let s = m.values.reduce(0, +)
            if abs(s - 1) > 1e-6 || m.values.contains(where: { $0 < 0 }) {
                throw LatheError("distribution shares must be >= 0 and sum to 1 (got \(formatNumber(s)))")
            }
            var total: Double = over ? 0 : .infinity
            for (l, lab) in labels.enumerated() {
                let p = m[lab] ?? 0
                if p <= 0 { continue }
                let t = Double(have[l]) / p
                total = over ? max(total, t) : min(total, t)
            }
            if !total.isFinite { total = 0 }
            for (l, lab) in labels.enumerated() {
                let p = m[lab] ?? 0
                let t = p * total
                want[l] = over ? max(have[l], Int(t.rounded())) : min(have[l], Int((t + 1e-9).rounded(.down)))
            }
        }
        var keep: [Int] = []
        var extra: [Int] = []
        for l in 0..<L {
            let rows = rowsOf[l]
            if over {
                keep.append(contentsOf: rows)
                var need = want[l] - rows.count
                if need > 0 && rows.isEmpty { continue }
                while need >= rows.count && need > 0 { extra.append(contentsOf: rows); need -= rows.count }
                if need > 0 {
                    var p = rows
                    rng.shuffle(&p)
                    extra.append(contentsOf: p.prefix(need).sorted())
                }
            } else {
                if want[l] >= rows.count { keep.append(contentsOf: rows); continue }
                var p = rows
                rng.shuffle(&p)
                keep.append(contentsOf: p.prefix(want[l]))
            }
        }
        keep.sort()
        return keep + extra
    }
}

extension Split {
    /// Group ids that join rows sharing an id in either input (connected components).
    public static func combineGroups(_ a: [Int], _ b: [Int]) -> [Int] {
        var uf = Dedupe.UnionFind(a.count)
        for ids in [a, b] {
            var first: [Int: Int] = [:]
            for (i, g) in ids.enumerated() {
                if let f = first[g] { uf.union(f, i) } else { first[g] = i }
            }
        }
        return (0..<a.count).map { uf.find($0) }
    }

    /// Group ids from a column; each missing value is its own group.
    public static func groupIds(_ col: Column) -> [Int] {
        let (ids, labels) = labelIds(col)
        var next = labels.count
        return ids.enumerated().map { (i, g) in
            if col.missing[i] { next += 1; return next - 1 }
            return g
        }
    }
}
