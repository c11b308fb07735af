import Foundation

/// The GPU catalog: memory, dense bf16 TFLOP/s, memory bandwidth and prices per GPU-hour,
/// with the source and date of every row. Shipped as `stdlib/lathe/data/gpus.csv`; users edit
/// it, load their own, or pass a GPU as a table.
extension Cost {
    public struct GPU: Sendable, Equatable {
        public var name: String
        /// Memory in GiB (the nominal size: an "80GB" A100 has 80 GiB).
        public var memoryGB: Double
        /// Dense (no sparsity) bf16 tensor TFLOP/s; fp16 for GPUs without bf16.
        public var tflops: Double
        /// Memory bandwidth in GB/s (10^9 bytes per second).
        public var bandwidthGBs: Double
        /// USD per GPU-hour.
        public var onDemand: Double?
        public var spot: Double?
        public var priceSource: String
        public var specSource: String
        public var date: String
        public var notes: String

        public init(name: String, memoryGB: Double, tflops: Double, bandwidthGBs: Double,
                    onDemand: Double? = nil, spot: Double? = nil, priceSource: String = "",
                    specSource: String = "", date: String = "", notes: String = "") {
            self.name = name
            self.memoryGB = memoryGB
            self.tflops = tflops
            self.bandwidthGBs = bandwidthGBs
            self.onDemand = onDemand
            self.spot = spot
            self.priceSource = priceSource
            self.specSource = specSource
            self.date = date
            self.notes = notes
        }

        public var memoryBytes: Double { memoryGB * 1_073_741_824 }

        /// Checks the numbers (errors name the GPU and the field).
        public func validate() throws(LatheError) {
            if name.isEmpty { throw LatheError("a GPU needs a name") }
            for (k, v, top) in [("memory_gb", memoryGB, 1e6), ("bf16_tflops", tflops, 1e7), ("bandwidth_gbs", bandwidthGBs, 1e8)] where !(v > 0 && v <= top) {
                throw LatheError("GPU '\(name)': \(k) must be a positive number up to \(Cost.formatNumber(top)) (got \(v))")
            }
            for (k, v) in [("on_demand", onDemand), ("spot", spot)] {
                if let v, !(v > 0 && v <= 1e6) { throw LatheError("GPU '\(name)': \(k) price must be a positive number of USD per hour (got \(v))") }
            }
        }
    }

    /// The columns of the catalog file, in order.
    public static let catalogColumns = ["name", "memory_gb", "bf16_tflops", "bandwidth_gbs", "on_demand_usd_hr",
                                        "spot_usd_hr", "price_source", "spec_source", "date", "notes"]

    /// Parses a catalog in CSV (header row with the catalog columns; `#` lines are comments).
    public static func parseCatalogCSV(_ text: String, source: String) throws(LatheError) -> [GPU] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" })
        var header: [String]? = nil
        var out: [GPU] = []
        for (ln, raw) in lines.enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let cells = try csvSplit(line, source: source, line: ln + 1)
            guard let h = header else {
                let names = cells.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                for need in ["name", "memory_gb", "bf16_tflops", "bandwidth_gbs"] where !names.contains(need) {
                    throw LatheError("\(source): the header has no '\(need)' column (expected: \(catalogColumns.joined(separator: ",")))")
                }
                header = names
                continue
            }
            var row: [String: String] = [:]
            for (k, name) in h.enumerated() { row[name] = k < cells.count ? cells[k].trimmingCharacters(in: .whitespaces) : "" }
            func num(_ key: String, required: Bool) throws(LatheError) -> Double? {
                let s = row[key] ?? ""
                if s.isEmpty {
                    if required { throw LatheError("\(source) line \(ln + 1): '\(key)' is empty for \(row["name"] ?? "?")") }
                    return nil
                }
                guard let v = Double(s) else {
                    throw LatheError("\(source) line \(ln + 1): '\(key)' is not a number (got \"\(s)\")")
                }
                return v
            }
            let g = GPU(name: row["name"] ?? "", memoryGB: try num("memory_gb", required: true) ?? 0,
                        tflops: try num("bf16_tflops", required: true) ?? 0,
                        bandwidthGBs: try num("bandwidth_gbs", required: true) ?? 0,
                        onDemand: try num("on_demand_usd_hr", required: false),
                        spot: try num("spot_usd_hr", required: false),
                        priceSource: row["price_source"] ?? "", specSource: row["spec_source"] ?? "",
                        date: row["date"] ?? "", notes: row["notes"] ?? "")
            do { try g.validate() } catch { throw LatheError("\(source) line \(ln + 1): \(error.message)") }
            out.append(g)
        }
        if header == nil { throw LatheError("\(source) is empty (expected a header: \(catalogColumns.joined(separator: ",")))") }
        return out
    }

    /// Splits one CSV line (RFC 4180 quoting).
    static func csvSplit(_ line: String, source: String, line ln: Int) throws(LatheError) -> [String] {
        var cells: [String] = []
        var cur = ""
        var quoted = false
        var it = Array(line)
        var k = 0
        while k < it.count {
            let ch = it[k]
            if quoted {
                if ch == "\"" {
                    if k + 1 < it.count && it[k + 1] == "\"" { cur.append("\""); k += 1 } else { quoted = false }
                } else { cur.append(ch) }
            } else if ch == "\"" && cur.isEmpty {
                quoted = true
            } else if ch == "," {
                cells.append(cur)
                cur = ""
            } else {
                cur.append(ch)
            }
            k += 1
        }
        if quoted { throw LatheError("\(source) line \(ln): unterminated quoted field") }
        cells.append(cur)
        it.removeAll()
        return cells
    }

    /// Reads a catalog file: CSV, or JSON (an array of objects with the catalog columns).
    public static func loadCatalog(path: String) throws(LatheError) -> [GPU] {
        let bytes = try AtomicFile.read(path)
        let text = String(decoding: bytes, as: UTF8.self)
        if path.lowercased().hasSuffix(".json") {
            guard case .array(let rows) = try parseJSON(bytes, source: path) else {
                throw LatheError("\(path): expected a JSON array of GPU objects")
            }
            return try gpus(from: rows, source: path)
        }
        return try parseCatalogCSV(text, source: path)
    }

    /// GPUs from an array of named-field rows (a JSON array or a Lua array of tables).
    public static func gpus(from rows: [Value], source: String) throws(LatheError) -> [GPU] {
        var out: [GPU] = []
        for (k, r) in rows.enumerated() {
            guard case .object(let o) = r else { throw LatheError("\(source): element \(k + 1) is not a set of named fields {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=}") }
            out.append(try gpu(from: o, source: "\(source) element \(k + 1)"))
        }
        return out
    }

    /// A GPU from named fields (a JSON object or a Lua table).
    public static func gpu(from o: [String: Value], source: String) throws(LatheError) -> GPU {
        func num(_ keys: [String], required: Bool) throws(LatheError) -> Double? {
            for k in keys {
                guard let v = o[k] else { continue }
                switch v {
                case .int(let i): return Double(i)
                case .double(let d): return d
                case .null: return nil
                default: throw LatheError("\(source): '\(k)' must be a number (got \(v.describe))")
                }
            }
            if required { throw LatheError("\(source): missing '\(keys[0])' (a GPU needs name, memory_gb, bf16_tflops, bandwidth_gbs; prices on_demand_usd_hr and spot_usd_hr are optional)") }
            return nil
        }
        func str(_ k: String) -> String {
            if case .string(let s)? = o[k] { return s }
            return ""
        }
        guard case .string(let name)? = o["name"], !name.isEmpty else {
            throw LatheError("\(source): missing 'name' (a GPU needs name, memory_gb, bf16_tflops, bandwidth_gbs)")
        }
        let g = GPU(name: name, memoryGB: try num(["memory_gb"], required: true) ?? 0,
                    tflops: try num(["bf16_tflops", "tflops"], required: true) ?? 0,
                    bandwidthGBs: try num(["bandwidth_gbs"], required: true) ?? 0,
                    onDemand: try num(["on_demand_usd_hr", "on_demand"], required: false),
                    spot: try num(["spot_usd_hr", "spot"], required: false),
                    priceSource: str("price_source"), specSource: str("spec_source"),
                    date: str("date"), notes: str("notes"))
        try g.validate()
        return g
    }

    /// Finds a GPU by name, ignoring case, spaces, dashes and underscores ("a100-80gb" finds
    /// "A100 80GB"). Errors list the catalog.
    public static func findGPU(_ name: String, in catalog: [GPU]) throws(LatheError) -> GPU {
        func norm(_ s: String) -> String {
            String(s.lowercased().filter { $0.isLetter || $0.isNumber })
        }
        let key = norm(name)
        if let g = catalog.first(where: { norm($0.name) == key }) { return g }
        let starts = catalog.filter { norm($0.name).hasPrefix(key) }
        if starts.count == 1 { return starts[0] }
        let names = catalog.map { $0.name }
        let hint = starts.count > 1 ? " ('\(name)' is ambiguous: \(starts.map { $0.name }.joined(separator: ", ")))" : ""
        throw LatheError("GPU '\(name)' is not in the catalog\(hint) (known: \(names.joined(separator: ", ")); add a row with cost.catalog(path) or pass a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=, on_demand_usd_hr=})")
    }
}

extension Cost {
    /// The GPUs a session prices with and where they came from: the shipped catalog until
    /// another is loaded or merged in.
    public struct Catalog: Sendable {
        public var gpus: [GPU]
        /// The file or files the rows came from.
        public var source: String

        public init(gpus: [GPU], source: String) {
            self.gpus = gpus
            self.source = source
        }

        public static func load(path: String) throws(LatheError) -> Catalog {
            Catalog(gpus: try loadCatalog(path: path), source: path)
        }

        /// $LATHE_GPU_CATALOG, else `<stdlib>/lathe/data/gpus.csv` when it exists.
        public static func shippedPath(stdlib: String?) -> String? {
            if let env = ProcessInfo.processInfo.environment["LATHE_GPU_CATALOG"], !env.isEmpty { return env }
            guard let stdlib else { return nil }
            let p = stdlib + "/lathe/data/gpus.csv"
            return FileManager.default.fileExists(atPath: p) ? p : nil
        }

        public static func shipped(stdlib: String?) throws(LatheError) -> Catalog {
            guard let path = shippedPath(stdlib: stdlib) else {
                throw LatheError("the GPU catalog (stdlib/lathe/data/gpus.csv) was not found; load one with cost.catalog(path) or pass the GPU as a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=}")
            }
            return try load(path: path)
        }

        /// This catalog with the rows of `other`; a row whose name is already here (any case) replaces it.
        public func merging(_ other: Catalog) -> Catalog {
            var out = self
            for g in other.gpus {
                if let i = out.gpus.firstIndex(where: { $0.name.lowercased() == g.name.lowercased() }) { out.gpus[i] = g } else { out.gpus.append(g) }
            }
            out.source += " + " + other.source
            return out
        }

        public func gpu(_ name: String) throws(LatheError) -> GPU { try findGPU(name, in: gpus) }

        /// One line per GPU: memory, speed, bandwidth, prices and the date they were read.
        public func report() -> Report {
            var r = Report(
                title: "cost.catalog: \(gpus.count) GPUs (\(source))",
                header: ["name", "memory", "bf16 TFLOP/s", "GB/s", "on demand", "spot", "date"],
                rows: gpus.map { g in [g.name, formatNumber(g.memoryGB) + " GiB", formatNumber(g.tflops), formatNumber(g.bandwidthGBs),
                                       g.onDemand.map(formatMoney) ?? "-", g.spot.map(formatMoney) ?? "-", g.date] },
                numeric: [1, 2, 3, 4, 5], notes: ["USD per GPU-hour; prices change, see each row's price_source."])
            r.textHeader = true
            return r
        }
    }
}
