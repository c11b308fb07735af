import CLua
import CLuaShim
import LatheCore

/// The `cost` module's GPU catalog and its Markdown reports.
enum CostCatalogFunctions {
    typealias R = CostReaders

    static let catalog = LuaFunc("catalog", "The GPU catalog in use (memory, bf16 TFLOP/s, bandwidth, on-demand and spot prices, source, date); or load another.",
        params: [LuaParam("source", .either([.string, .table]), optional: true, "a CSV or JSON file, or a Lua array of GPU tables, to use from now on")],
        options: [LuaOpt("merge", .boolean, .bool(false), "add the rows to the catalog in use (a row with the same name replaces the old one)")],
        returns: "without a source, the array of GPU tables (it prints as a table); with one, nothing",
        details: """
            A file has the columns name, memory_gb, bf16_tflops, bandwidth_gbs, on_demand_usd_hr, spot_usd_hr, price_source,
            spec_source, date, notes (CSV with a header row, or a JSON array of objects). The shipped catalog is
            stdlib/lathe/data/gpus.csv (or $LATHE_GPU_CATALOG). Prices change: every row says where and when its price was read.
            """,
        errors: "an unreadable file; a row with a missing or non-positive number.",
        example: """
            local rows = cost.catalog()
            print(#rows > 5, rows[1].name, rows[1].memory_gb)
            local path = os.tmpname()
            local f = io.open(path, "w")
            f:write("name,memory_gb,bf16_tflops,bandwidth_gbs,on_demand_usd_hr\\nMy GPU,24,100,900,0.5\\n")
            f:close()
            cost.catalog(path, {merge = true})
            print(cost.gpu("my gpu").on_demand_usd_hr)
            os.remove(path)
            """
    ) { c in
        let o = try c.opts()
        if c.isNoneOrNil(1) {
            let cat = try R.catalog(c)
            return try R.push(c, "Catalog", cat.report(), [], rows: cat.gpus.map { .record(R.gpuFields($0)) })
        }
        let new: Cost.Catalog
        if let path = c.string(1) {
            new = try Cost.Catalog.load(path: path)
        } else {
            guard case .array(let rows) = try c.value(1) else { throw c.argError(1, "source", "expected a path or an array of GPU tables") }
            new = Cost.Catalog(gpus: try Cost.gpus(from: rows.map(R.value), source: "argument #1 'source'"), source: "a Lua table")
        }
        R.state(c).catalog = try o.bool("merge") ? try R.catalog(c).merging(new) : new
        return 0
    }

    static let gpu = LuaFunc("gpu", "One GPU of the catalog by name (case, spaces and dashes do not matter).",
        params: [LuaParam("name", .string, "a catalog name such as \"A100 80GB\" or \"l4\"")],
        returns: "{name=, memory_gb=, bf16_tflops=, bandwidth_gbs=, on_demand_usd_hr=, spot_usd_hr=, price_source=, spec_source=, date=, notes=}",
        errors: "a name not in the catalog (the message lists the catalog).",
        example: """
            local g = cost.gpu("h100 sxm")
            print(g.name, g.memory_gb, g.bf16_tflops, g.bandwidth_gbs)
            """
    ) { c in
        try c.pushRecord(R.gpuFields(try R.catalog(c).gpu(try c.checkString(1, "name"))), name: "GPU")
        return 1
    }

    static let report = LuaFunc("report", "A Markdown report of any cost calculation (or several).",
        params: [LuaParam("result", .table, "a result of a cost function, an array of them, or a plain table of named numbers and strings")],
        options: [LuaOpt("title", .string, .none, "the document's heading")],
        returns: "string: Markdown",
        details: """
            A result's report has its settings, the itemized table with the formula or source of each line, the Gantt chart of a
            budget, and the notes. Several results become one document with a section each. During a run (track.start),
            the document is kept as its artifact reports/cost.md.
            """,
        example: CostFunctions.smolLM + """
            local md = cost.report(cost.memory(smol, {method = "qlora", batch = 2, seq = 1024}), {title = "SmolLM2 QLoRA"})
            print(md:sub(1, 200))
            """
    ) { c in
        let title = try c.opts().stringIfGiven("title")
        var parts: [Cost.Report] = []
        if let r = R.report(c, 1) {
            parts = [r]
        } else if c.rawLen(1) > 0 {
            for k in 1...c.rawLen(1) {
                lua_rawgeti(c.L, 1, lua_Integer(k))
                defer { lp_pop(c.L, 1) }
                guard c.type(-1) == LUA_TTABLE else { throw c.argError(1, "result", "element \(k) is \(c.describe(-1)), not a cost result") }
                parts.append(try R.report(c, -1) ?? plain(c, -1, title: "item \(k)"))
            }
        } else {
            parts = [try plain(c, 1, title: title ?? "cost")]
        }
        let md = Cost.Report.document(parts, title: title)
        TrackFunctions.attachReport(c, "cost.md", text: md)
        c.push(md)
        return 1
    }

    /// A plain table of named values as a two-column report.
    static func plain(_ c: LuaCall, _ idx: Int32, title: String) throws -> Cost.Report {
        guard case .record(let fields) = try c.value(idx) else { throw c.argError(1, "result", "expected a cost result or a table of named values") }
        return Cost.Report(title: title, values: fields.map { ($0.0, R.value($0.1)) })
    }
}
