import Foundation

/// Tables built from values a program holds: named columns, records, or rows (what `data.from`
/// reads from Lua), and columns from tensors.
extension DataTable {
    /// A table of named columns, in `order` (which must list every column) or alphabetically.
    public convenience init(columns: [String: Column], order: [String]? = nil) throws(LatheError) {
        let names = try DataTable.ordered(Array(columns.keys), order)
        // a name `order` gives without values is an empty column
        let cols = names.map { columns[$0] ?? Column(strings: []) }
        if Set(cols.map(\.count)).count > 1 {
            throw LatheError("columns have different lengths: \(zip(names, cols).map { "\($0): \($1.count)" }.joined(separator: ", ")); every column needs a value (or a missing value) per row")
        }
        try self.init(names: names, columns: cols)
    }

    /// A table of records: a column per key, in `order` or alphabetically; a key a record
    /// lacks is missing there.
    public convenience init(records: [[String: Cell]], order: [String]? = nil) throws(LatheError) {
        let names = try DataTable.ordered(Array(Set(records.flatMap(\.keys))), order)
        try self.init(names: names, columns: try names.map { (n) throws(LatheError) in try Column.from(cells: records.map { $0[n] ?? .missing }, name: n) })
    }

    /// A table of rows, each with one value per name.
    public convenience init(rows: [[Cell]], names: [String]) throws(LatheError) {
        if let r = rows.firstIndex(where: { $0.count != names.count }) {
            throw LatheError("row \(r + 1) has \(rows[r].count) values for \(names.count) columns")
        }
        try self.init(names: names, columns: try names.indices.map { (k) throws(LatheError) in try Column.from(cells: rows.map { $0[k] }, name: names[k]) })
    }

    /// The table with the named columns converted to the given types (column order kept).
    public func converting(_ types: [String: ColumnType]) throws(LatheError) -> DataTable {
        var t = self
        for (name, type) in types.sorted(by: { $0.key < $1.key }) { t = try t.setting(name, try t.column(name).converted(to: type, name: name)) }
        return t
    }

    static func ordered(_ have: [String], _ order: [String]?) throws(LatheError) -> [String] {
        guard let order else { return have.sorted() }
        if let k = have.first(where: { !order.contains($0) }) {
            throw LatheError("the column order does not list '\(k)', which the values have")
        }
        return order
    }
}

extension Column {
    /// A 1-D tensor as a column: float32 -> number, int64 -> integer, bool -> boolean.
    public init(tensor x: Tensor) throws(LatheError) {
        guard x.rank == 1 else { throw LatheError("expected a 1-D tensor, got shape \(x.shapeString)") }
        switch x.dtype {
        case .float32: self.init(.number(x.toDoubleArray()))
        case .int64: self.init(.integer(try x.toInt64Array()))
        case .bool: self.init(.boolean(try x.toInt64Array().map { $0 != 0 }))
        }
    }
}
