import Foundation

/// A columnar table: named, typed columns of equal length with real missing values. Tables
/// are values: every operation returns a new table and leaves its input unchanged (columns
/// share storage until one is changed).
public final class DataTable: @unchecked Sendable {
    public let names: [String]
    public let columns: [Column]
    public let rowCount: Int

    public init(names: [String], columns: [Column]) throws(LatheError) {
        guard names.count == columns.count else {
            throw LatheError("\(names.count) column names for \(columns.count) columns")
        }
        var seen = Set<String>()
        for n in names {
            if n.isEmpty { throw LatheError("column names must not be empty") }
            if !seen.insert(n).inserted { throw LatheError("column name '\(n)' appears twice") }
        }
        let n = columns.first?.count ?? 0
        for (name, c) in zip(names, columns) where c.count != n {
            throw LatheError("column '\(name)' has \(c.count) values, expected \(n) like the others")
        }
        self.names = names
        self.columns = columns
        rowCount = n
    }

    /// A table with no columns and no rows.
    public static let empty = try! DataTable(names: [], columns: [])

    public var columnCount: Int { columns.count }
    public var types: [ColumnType] { columns.map { $0.type } }

    /// Bytes held by the table (approximate), for the Lua collector.
    public var byteSize: Int {
        var total = 0
        for c in columns {
            total += c.missing.words.count * 8
            switch c.values {
            case .string(let a): total += a.bytes.count + a.offsets.count * 8
            case .number(let a): total += a.count * 8
            case .integer(let a): total += a.count * 8
            case .boolean(let a): total += a.count
            }
        }
        return total
    }

    public func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The column called `name`, or an error listing the columns (with a hint for typos).
    public func column(_ name: String) throws(LatheError) -> Column {
        columns[try columnIndex(name)]
    }

    public func columnIndex(_ name: String) throws(LatheError) -> Int {
        if let i = names.firstIndex(of: name) { return i }
        throw LatheError(unknownColumnMessage(name))
    }

    func unknownColumnMessage(_ name: String) -> String {
        var msg = "no column '\(name)'"
        if let hint = closestName(name, names) { msg += "; did you mean '\(hint)'?" }
        let list = names.count <= 12 ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", ..."
        return msg + " (columns: \(list))"
    }

    /// Cell at (row, column), both 0-based.
    public func cell(_ row: Int, _ col: Int) -> Cell { columns[col][row] }

    /// Row i (0-based) as (name, value) pairs.
    public func row(_ i: Int) -> [(String, Cell)] {
        (0..<columns.count).map { (names[$0], columns[$0][i]) }
    }

    // MARK: - Row selection

    /// The rows at the given 0-based indices, in that order (indices may repeat).
    public func take(_ rows: [Int]) -> DataTable {
        let cols: [Column]
        if columns.count > 1 && rows.count > 100_000 {
            let cs = columns
            cols = (try? Parallel.map(cs.count) { k in cs[k].gather(rows) }) ?? cs.map { $0.gather(rows) }
        } else {
            cols = columns.map { $0.gather(rows) }
        }
        return DataTable(unchecked: names, cols, rows.count)
    }

    init(unchecked names: [String], _ columns: [Column], _ rows: Int) {
        self.names = names
        self.columns = columns
        rowCount = rows
    }

    public func head(_ n: Int) -> DataTable { take(Array(0..<max(0, min(n, rowCount)))) }
    public func tail(_ n: Int) -> DataTable {
        let k = max(0, min(n, rowCount))
        return take(Array((rowCount - k)..<rowCount))
    }

    /// Rows where `keep` is true.
    public func filter(_ keep: [Bool]) throws(LatheError) -> DataTable {
        guard keep.count == rowCount else { throw LatheError("filter mask has \(keep.count) values for \(rowCount) rows") }
        var rows: [Int] = []
        rows.reserveCapacity(rowCount)
        for (i, k) in keep.enumerated() where k { rows.append(i) }
        return take(rows)
    }

    /// `n` rows drawn at random (without replacement unless `replace`).
    public func sample(_ n: Int, replace: Bool = false, rng: inout RandomGenerator) throws(LatheError) -> DataTable {
        if n < 0 { throw LatheError("sample size must be >= 0 (got \(n))") }
        if replace {
            if rowCount == 0 && n > 0 { throw LatheError("cannot sample from an empty table") }
            var rows: [Int] = []
            for _ in 0..<n { rows.append(rng.below(rowCount)) }
            return take(rows)
        }
        if n > rowCount {
            throw LatheError("cannot sample \(n) rows without replacement from \(rowCount) rows (pass replace = true)")
        }
        // partial Fisher-Yates
        var p = Array(0..<rowCount)
        for i in 0..<n {
            let j = i + rng.below(rowCount - i)
            p.swapAt(i, j)
        }
        return take(Array(p[0..<n]))
    }

    // MARK: - Columns

    public func select(_ cols: [String]) throws(LatheError) -> DataTable {
        var idx: [Int] = []
        for c in cols { idx.append(try columnIndex(c)) }
        return try DataTable(names: idx.map { names[$0] }, columns: idx.map { columns[$0] })
    }

    public func drop(_ cols: [String]) throws(LatheError) -> DataTable {
        for c in cols { _ = try columnIndex(c) }
        let keep = names.indices.filter { !cols.contains(names[$0]) }
        return DataTable(unchecked: keep.map { names[$0] }, keep.map { columns[$0] }, rowCount)
    }

    public func rename(_ mapping: [String: String]) throws(LatheError) -> DataTable {
        for k in mapping.keys.sorted() { _ = try columnIndex(k) }
        return try DataTable(names: names.map { mapping[$0] ?? $0 }, columns: columns)
    }

    /// Adds a column at the end, or replaces the column of that name in place.
    public func setting(_ name: String, _ col: Column) throws(LatheError) -> DataTable {
        if columns.count > 0 && col.count != rowCount {
            throw LatheError("column '\(name)' has \(col.count) values for \(rowCount) rows")
        }
        var n = names, c = columns
        if let i = names.firstIndex(of: name) { c[i] = col } else { n.append(name); c.append(col) }
        return try DataTable(names: n, columns: c)
    }

    /// Adds a new column (an error if it exists).
    public func adding(_ name: String, _ col: Column) throws(LatheError) -> DataTable {
        if names.contains(name) { throw LatheError("column '\(name)' already exists (use t:map to change it)") }
        return try setting(name, col)
    }

    // MARK: - Sorting

    /// Stable sort by one or more columns; missing values go last in either direction.
    public func sorted(by cols: [String], descending: [Bool]) throws(LatheError) -> DataTable {
        var keys: [[Int]] = []
        for (k, c) in cols.enumerated() {
            let r = try column(c).ranks()
            let desc = k < descending.count ? descending[k] : false
            // descending flips the values' ranks; missing (Int.max) stays last either way
            keys.append(desc ? r.map { $0 == Int.max ? Int.max : -$0 } : r)
        }
        var order = Array(0..<rowCount)
        if keys.count == 1 {
            let k0 = keys[0]
            order.sort { k0[$0] != k0[$1] ? k0[$0] < k0[$1] : $0 < $1 }
        } else {
            order.sort { a, b in
                for k in keys where k[a] != k[b] { return k[a] < k[b] }
                return a < b
            }
        }
        return take(order)
    }

    // MARK: - Combining

    /// Rows of `self` followed by rows of `other`, columns matched by name (a column missing
    /// from one table is missing in its rows; integer and number columns combine as number).
    public func concat(_ other: DataTable) throws(LatheError) -> DataTable {
        var n = names
        for x in other.names where !n.contains(x) { n.append(x) }
        var cols: [Column] = []
        for name in n {
            let a = index(of: name).map { columns[$0] }
            let b = other.index(of: name).map { other.columns[$0] }
            let ta = a?.type ?? b!.type
            let ca = a ?? Column.missing(b!.type, count: rowCount)
            let cb = b ?? Column.missing(ta, count: other.rowCount)
            cols.append(try ca.appending(cb, name: name))
        }
        return try DataTable(names: n, columns: cols)
    }

    public enum JoinKind: String, Sendable { case inner, left }

    /// Joins rows of `other` whose `on` columns equal ours (a hash join). Inner keeps matching
    /// rows only; left keeps every row of self (missing values where nothing matches). A row
    /// matching several rows of other appears once per match. Other's non-key columns whose
    /// names clash get `suffix`.
    public func join(_ other: DataTable, on: [String], kind: JoinKind = .inner, suffix: String = "_right") throws(LatheError) -> DataTable {
        if on.isEmpty { throw LatheError("join needs at least one key column") }
        var leftKeys: [Column] = [], rightKeys: [Column] = []
        for k in on {
            let a = try column(k)
            guard let j = other.index(of: k) else { throw LatheError("the other table has " + other.unknownColumnMessage(k)) }
            let b = other.columns[j]
            let numeric: Set<ColumnType> = [.integer, .number]
            if a.type != b.type && !(numeric.contains(a.type) && numeric.contains(b.type)) {
                throw LatheError("key '\(k)' is \(a.type.rawValue) here and \(b.type.rawValue) in the other table")
            }
            leftKeys.append(a)
            rightKeys.append(b)
        }
        func key(_ cols: [Column], _ i: Int) -> [Cell]? {
            var out: [Cell] = []
            for c in cols {
                var v = c[i]
                if v.isMissing { return nil }  // missing keys never match
                if case .integer(let x) = v { v = .number(Double(x)) }
                out.append(v)
            }
            return out
        }
        var index: [[Cell]: [Int]] = [:]
        for j in 0..<other.rowCount {
            if let k = key(rightKeys, j) { index[k, default: []].append(j) }
        }
        var li: [Int] = [], ri: [Int?] = []
        for i in 0..<rowCount {
            if let k = key(leftKeys, i), let m = index[k] {
                for j in m { li.append(i); ri.append(j) }
            } else if kind == .left {
                li.append(i); ri.append(nil)
            }
        }
        let left = take(li)
        var outNames = left.names, outCols = left.columns
        for (j, name) in other.names.enumerated() where !on.contains(name) {
            var nn = name
            if outNames.contains(nn) { nn = name + suffix }
            while outNames.contains(nn) { nn += suffix }
            let col = other.columns[j]
            let hasNil = ri.contains { $0 == nil }
            if hasNil {
                let cells: [Cell] = ri.map { $0.map { col[$0] } ?? .missing }
                outCols.append(Column.build(cells: cells, as: col.type))
            } else {
                outCols.append(col.gather(ri.map { $0! }))
            }
            outNames.append(nn)
        }
        return try DataTable(names: outNames, columns: outCols)
    }

    // MARK: - Counting

    /// Distinct values of a column with their counts, most frequent first (ties in order of
    /// first appearance), with the share of rows. Missing values count as one value (NA).
    public func valueCounts(_ name: String) throws(LatheError) -> DataTable {
        let col = try column(name)
        let (keys, counts) = col.distinctCounts()
        let order = Array(keys.indices).sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        let total = Double(max(rowCount, 1))
        return try DataTable(names: [name, "count", "share"], columns: [
            Column.build(cells: order.map { keys[$0] }, as: col.type),
            Column(.integer(order.map { Int64(counts[$0]) })),
            Column(.number(order.map { Double(counts[$0]) / total })),
        ])
    }

    /// Row counts per combination of the given columns, sorted by the group values.
    public func groupCount(_ cols: [String]) throws(LatheError) -> DataTable {
        if cols.isEmpty { throw LatheError("group_count needs at least one column") }
        var keyCols: [Column] = []
        for c in cols { keyCols.append(try column(c)) }
        let (ids, first) = Column.groups(keyCols, rows: rowCount)
        var counts = [Int](repeating: 0, count: first.count)
        for g in ids { counts[g] += 1 }
        let ranks = keyCols.map { $0.ranks() }
        let order = Array(first.indices).sorted { a, b in
            for r in ranks where r[first[a]] != r[first[b]] { return r[first[a]] < r[first[b]] }
            return a < b
        }
        var outCols: [Column] = []
        for kc in keyCols { outCols.append(kc.gather(order.map { first[$0] })) }
        outCols.append(Column(.integer(order.map { Int64(counts[$0]) })))
        var outNames = cols
        outNames.append(cols.contains("count") ? "n" : "count")
        return try DataTable(names: outNames, columns: outCols)
    }

    /// Whether each row is an exact repeat of an earlier row (all columns equal).
    public func duplicateRows() -> [Bool] {
        if columns.isEmpty { return [Bool](repeating: false, count: rowCount) }
        let (ids, first) = Column.groups(columns, rows: rowCount)
        return (0..<rowCount).map { first[ids[$0]] != $0 }
    }

    /// Summary statistics per column.
    public struct Description: Sendable {
        public struct ColumnStats: Sendable {
            public var name: String
            public var type: ColumnType
            public var missing: Int
            public var unique: Int
            /// For strings: length in characters; for numbers: the values.
            public var min: Double?
            public var mean: Double?
            public var max: Double?
        }
        public var rows: Int
        public var duplicates: Int
        public var columns: [ColumnStats]
        public var labelColumn: String?
        public var labels: DataTable?
    }

    /// Rows, duplicate rows, and per column: missing count, distinct values, and min / mean /
    /// max (string length in characters for text columns). `label` (or a column called
    /// `label`) adds its distribution.
    public func describe(label: String? = nil) throws(LatheError) -> Description {
        var stats: [Description.ColumnStats] = []
        for (name, col) in zip(names, columns) {
            var s = Description.ColumnStats(name: name, type: col.type, missing: col.missingCount, unique: 0)
            let firsts = Column.groups([col], rows: col.count).first
            s.unique = firsts.count - (firsts.contains { col.missing[$0] } ? 1 : 0)
            var lo = Double.infinity, hi = -Double.infinity, sum = 0.0, n = 0
            for i in 0..<col.count where !col.missing[i] {
                let v: Double
                if case .string(let a) = col.values {
                    v = Double(a.scalarCount(i))
                } else {
                    v = col.double(i) ?? 0
                    if v.isNaN { continue }
                }
                lo = Swift.min(lo, v); hi = Swift.max(hi, v); sum += v; n += 1
            }
            if n > 0 { s.min = lo; s.max = hi; s.mean = sum / Double(n) }
            stats.append(s)
        }
        let dups = duplicateRows().filter { $0 }.count
        var labelCol = label
        if labelCol == nil && names.contains("label") { labelCol = "label" }
        var labels: DataTable? = nil
        if let l = labelCol { labels = try valueCounts(l) }
        return Description(rows: rowCount, duplicates: dups, columns: stats, labelColumn: labelCol, labels: labels)
    }

    /// The description as a table (one row per column). Its column `of` says what min, mean
    /// and max measure: "length" (characters) for text columns, "value" for the others.
    public func describeTable(_ d: Description) -> DataTable {
        let c = d.columns
        return try! DataTable(names: ["column", "type", "missing", "unique", "of", "min", "mean", "max"], columns: [
            Column(.string(StringArray(c.map { $0.name }))),
            Column(.string(StringArray(c.map { $0.type.rawValue }))),
            Column(.integer(c.map { Int64($0.missing) })),
            Column(.integer(c.map { Int64($0.unique) })),
            Column(.string(StringArray(c.map { $0.type == .string ? "length" : "value" }))),
            Column(numbers: c.map { $0.min }),
            Column(numbers: c.map { $0.mean }),
            Column(numbers: c.map { $0.max }),
        ])
    }

    // MARK: - Tensors

    /// A numeric column as a 1-D tensor: number -> float32, integer and boolean -> int64.
    /// Missing values are an error unless `fill` gives a value for them.
    public func tensor(_ name: String, fill: Double? = nil) throws(LatheError) -> Tensor {
        let col = try column(name)
        let m = col.missingCount
        if m > 0 && fill == nil {
            let first = (0..<col.count).first { col.missing[$0] }! + 1
            throw LatheError("column '\(name)' has \(m) missing values (first at row \(first)); drop them or pass fill = value")
        }
        switch col.values {
        case .string:
            throw LatheError("column '\(name)' holds strings; a tensor needs a number, integer or boolean column (encode labels first)")
        case .number(let a):
            var out = a.map { Float($0) }
            if m > 0 { for i in 0..<a.count where col.missing[i] { out[i] = Float(fill!) } }
            return Tensor(floats: out, shape: [a.count])
        case .integer(let a):
            var out = a
            if m > 0 {
                guard let f = fill, f == f.rounded() else { throw LatheError("fill for integer column '\(name)' must be a whole number") }
                for i in 0..<a.count where col.missing[i] { out[i] = Int64(f) }
            }
            return Tensor(int64s: out, shape: [a.count])
        case .boolean(let a):
            var out = a.map { Int64($0 ? 1 : 0) }
            if m > 0 {
                guard let f = fill, f == f.rounded() else { throw LatheError("fill for boolean column '\(name)' must be 0 or 1") }
                for i in 0..<a.count where col.missing[i] { out[i] = Int64(f) }
            }
            return Tensor(int64s: out, shape: [a.count])
        }
    }
}

extension Column {
    /// Distinct cells in order of first appearance, with their counts.
    public func distinctCounts() -> ([Cell], [Int]) {
        let (ids, first) = Column.groups([self], rows: count)
        var counts = [Int](repeating: 0, count: first.count)
        for g in ids { counts[g] += 1 }
        return (first.map { self[$0] }, counts)
    }

    /// Rows grouped by equal values in the given columns (missing values equal each other;
    /// strings byte for byte): a group id per row, numbered in order of first appearance,
    /// and each group's first row.
    public static func groups(_ cols: [Column], rows n: Int) -> (ids: [Int], first: [Int]) {
        var h = [UInt64](repeating: 0x9E37_79B9_7F4A_7C15, count: n)
        for c in cols {
            let ch = c.rowHashes()
            for i in 0..<n { h[i] = Dedupe.fmix((h[i] &* 31) ^ ch[i]) }
        }
        var head: [UInt64: Int] = [:]
        head.reserveCapacity(min(n, 1 << 20))
        var chain: [Int] = []
        var first: [Int] = []
        var ids = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let start = head[h[i]] ?? -1
            var g = start
            while g >= 0 && !cols.allSatisfy({ $0.cellsEqual(first[g], i) }) { g = chain[g] }
            if g < 0 {
                g = first.count
                first.append(i)
                chain.append(start)
                head[h[i]] = g
            }
            ids[i] = g
        }
        return (ids, first)
    }

    /// A rank per row for ordering: equal values share a rank, ranks follow the value order
    /// (numbers numerically with NaN after them, strings by code points, false < true) and
    /// missing values get Int.max.
    public func ranks() -> [Int] {
        let n = count
        var idx = (0..<n).filter { !missing[$0] }
        var out = [Int](repeating: Int.max, count: n)
        func assign(_ equal: (Int, Int) -> Bool) {
            var r = 0
            for (k, i) in idx.enumerated() {
                if k > 0 && !equal(idx[k - 1], i) { r += 1 }
                out[i] = r
            }
        }
        switch values {
        case .string(let a):
            a.bytes.withUnsafeBufferPointer { p in
                a.offsets.withUnsafeBufferPointer { o in
                    let base = p.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    func cmp(_ i: Int, _ j: Int) -> Int32 {
                        let ai = o[i], ni = o[i + 1] - ai, aj = o[j], nj = o[j + 1] - aj
                        let c = memcmp(base + ai, base + aj, min(ni, nj))
                        if c != 0 { return c }
                        return ni == nj ? 0 : (ni < nj ? -1 : 1)
                    }
                    idx.sort { x, y in
                        let c = cmp(x, y)
                        return c != 0 ? c < 0 : x < y
                    }
                    assign { cmp($0, $1) == 0 }
                }
            }
        case .number(let a):
            idx.sort { x, y in
                let u = a[x], v = a[y]
                if u.isNaN || v.isNaN { return u.isNaN != v.isNaN ? v.isNaN : x < y }
                return u != v ? u < v : x < y
            }
            assign { a[$0] == a[$1] || (a[$0].isNaN && a[$1].isNaN) }
        case .integer(let a):
            idx.sort { a[$0] != a[$1] ? a[$0] < a[$1] : $0 < $1 }
            assign { a[$0] == a[$1] }
        case .boolean(let a):
            idx.sort { a[$0] != a[$1] ? !a[$0] : $0 < $1 }
            assign { a[$0] == a[$1] }
        }
        return out
    }
}

/// Orders cells: missing last, then by value (numbers numerically, strings by code points).
public func compareCells(_ a: Cell, _ b: Cell) -> Int {
    switch (a, b) {
    case (.missing, .missing): return 0
    case (.missing, _): return 1
    case (_, .missing): return -1
    case (.string(let x), .string(let y)):
        // code point order: compare the UTF-8 bytes
        var a = x, b = y
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                let c = memcmp(pa.baseAddress ?? UnsafePointer(bitPattern: 1)!, pb.baseAddress ?? UnsafePointer(bitPattern: 1)!, min(pa.count, pb.count))
                if c != 0 { return c < 0 ? -1 : 1 }
                return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
            }
        }
    case (.boolean(let x), .boolean(let y)): return x == y ? 0 : (x ? 1 : -1)
    default:
        let x = numericValue(a), y = numericValue(b)
        return x < y ? -1 : (x == y ? 0 : 1)
    }
}

func numericValue(_ c: Cell) -> Double {
    switch c {
    case .number(let x): return x
    case .integer(let x): return Double(x)
    case .boolean(let b): return b ? 1 : 0
    default: return .nan
    }
}

/// A stable merge sort (Swift's sort is not guaranteed stable).
func mergeSort(_ a: [Int], _ less: (Int, Int) -> Bool) -> [Int] {
    if a.count < 2 { return a }
    var src = a
    var dst = a
    var width = 1
    let n = a.count
    // insertion sort runs of 16 first
    let run = 16
    var s = 0
    while s < n {
        let e = min(s + run, n)
        var i = s + 1
        while i < e {
            let x = src[i]
            var j = i - 1
            while j >= s && less(x, src[j]) { src[j + 1] = src[j]; j -= 1 }
            src[j + 1] = x
            i += 1
        }
        s = e
    }
    width = run
    while width < n {
        var lo = 0
        while lo < n {
            let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
            var i = lo, j = mid, k = lo
            while i < mid && j < hi {
                if less(src[j], src[i]) { dst[k] = src[j]; j += 1 } else { dst[k] = src[i]; i += 1 }
                k += 1
            }
            while i < mid { dst[k] = src[i]; i += 1; k += 1 }
            while j < hi { dst[k] = src[j]; j += 1; k += 1 }
            lo = hi
        }
        swap(&src, &dst)
        width *= 2
    }
    return src
}

/// The closest name by edit distance, if close enough to be a likely typo.
public func closestName(_ s: String, _ names: [String]) -> String? {
    // optimal string alignment distance (a swap of neighbours costs 1)
    func dist(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
    let a = Array(s.lowercased())
    var best: (String, Int)? = nil
    for n in names {
        var d = dist(a, Array(n.lowercased()))
        if a.count >= 3 && n.lowercased().hasPrefix(String(a)) { d = min(d, 1) }   // a shortened name
        if d <= max(1, n.count / 3), best.map({ d < $0.1 }) ?? true { best = (n, d) }
    }
    return best?.0
}
