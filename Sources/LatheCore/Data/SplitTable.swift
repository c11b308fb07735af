import Foundation

/// Splits, folds and re-sampling of whole tables by column name: what `data.split`,
/// `data.kfold` and `data.oversample` do, with their defaults, for Swift callers too.
extension Split {
    /// How `split(_:_:rng:)` cuts a table.
    public struct TableOptions: Sendable {
        /// The parts a split may have, in the order they are made.
        public static let parts = ["train", "val", "test"]
        /// Proportions when none is given.
        public static let defaultFractions: [String: Double] = ["train": 0.8, "val": 0.1, "test": 0.1]
        /// The Jaccard similarity at which `dedupe` keeps near-duplicate texts together.
        public static let defaultNear = Dedupe.defaultNear

        /// Proportion per part ("train", "val", "test"); parts left out are not made. Empty:
        /// `defaultFractions`.
        public var fractions: [String: Double] = [:]
        /// A label column: every part keeps each label's share within one row.
        public var stratify: String? = nil
        /// A group column: the rows of a group land in one part.
        public var group: String? = nil
        /// A text column: duplicate texts (exact, and near at `near`) land in one part.
        public var dedupe: String? = nil
        /// The Jaccard threshold of `dedupe`; nil keeps only exact duplicates together.
        public var near: Double? = TableOptions.defaultNear
        public init() {}
    }

    /// The parts of a table in the proportions asked, named, in the order of `TableOptions.parts`.
    /// Rows keep their table order within each part.
    public static func split(_ t: DataTable, _ o: TableOptions, rng: inout RandomGenerator) throws(LatheError) -> [(name: String, table: DataTable)] {
        let given = o.fractions.isEmpty ? TableOptions.defaultFractions : o.fractions
        for k in given.keys where !TableOptions.parts.contains(k) {
            throw LatheError("no split part '\(k)' (parts: \(TableOptions.parts.joined(separator: ", ")))")
        }
        if o.dedupe == nil && o.near != TableOptions.defaultNear {
            throw LatheError("near applies with dedupe = \"text column\" (the duplicates to keep together)")
        }
        let names = TableOptions.parts.filter { given[$0] != nil }
        let labels = try o.stratify.map { (c) throws(LatheError) in labelIds(try t.column(c)).0 }
        let groups = try rowGroups(t, group: o.group, dedupe: o.dedupe, near: o.near)
        let assignment = try assign(n: t.rowCount, fractions: names.map { given[$0]! }, labels: labels, groups: groups, rng: &rng)
        return names.enumerated().map { s, name in (name, t.take(assignment.indices.filter { assignment[$0] == s })) }
    }

    /// k folds of a table: fold f validates on the rows assigned to it and trains on the rest.
    public static func kfold(_ t: DataTable, k: Int, stratify: String? = nil, group: String? = nil,
                             rng: inout RandomGenerator) throws(LatheError) -> [(train: DataTable, val: DataTable)] {
        let labels = try stratify.map { (c) throws(LatheError) in labelIds(try t.column(c)).0 }
        let groups = try rowGroups(t, group: group, dedupe: nil, near: nil)
        let folds = try kfold(n: t.rowCount, k: k, labels: labels, groups: groups, rng: &rng)
        return (0..<k).map { f in
            (t.take(folds.indices.filter { folds[$0] != f }), t.take(folds.indices.filter { folds[$0] == f }))
        }
    }

    /// Group ids that keep together the rows sharing a `group` value and the rows whose `dedupe`
    /// texts are duplicates (exact, and near at `near`); nil when neither is asked.
    public static func rowGroups(_ t: DataTable, group: String?, dedupe: String?, near: Double?) throws(LatheError) -> [Int]? {
        let byGroup = try group.map { (g) throws(LatheError) in groupIds(try t.column(g)) }
        guard let dedupe else { return byGroup }
        var opts = Dedupe.Options()
        opts.near = near
        let clusters = try Dedupe.dedupe(t, column: dedupe, options: opts).1.clusterOf
        return byGroup.map { combineGroups($0, clusters) } ?? clusters
    }

    /// The rows of a table re-sampled so its labels reach `target` (see `resample(_:target:over:rng:)`).
    public static func resample(_ t: DataTable, label: String, target: Target, over: Bool,
                                rng: inout RandomGenerator) throws(LatheError) -> DataTable {
        t.take(try resample(try t.column(label), target: target, over: over, rng: &rng))
    }

    /// A label given for a column, in the column's type: 2 names the label 2.0 of a number
    /// column and 2.0 the label 2 of an integer column.
    public static func labelKey(_ c: Cell, for col: Column) -> Cell {
        switch (col.type, c) {
        case (.number, .integer(let x)): return .number(Double(x))
        case (.integer, .number(let x)) where x == x.rounded() && abs(x) < 9.2e18: return .integer(Int64(x))
        default: return c
        }
    }
}
