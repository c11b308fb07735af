import CLua
import CLuaShim
import LatheCore

/// The report of a `cost` result: `cost.report` renders it as Markdown.
final class CostResult: LuaObject {
    static let luaTag = LuaTag.costResult
    let report: Cost.Report
    init(_ report: Cost.Report) { self.report = report }
}

/// The GPU catalog a VM prices with: the shipped one, read when first needed, until
/// `cost.catalog` loads another.
final class CostCatalogState: LuaObject {
    static let luaTag = LuaTag.costCatalog
    var catalog: Cost.Catalog?
}

/// Arguments, options, readers and the result pusher the `cost` functions share.
enum CostReaders {
    static let catalogKey = "lathe.cost.catalog"

    static let config = LuaParam("config", .either([.string, .table]), "a config.json path, a folder holding one, or a Lua table with its fields")
    static let gpu = LuaParam("gpu", .either([.string, .table]),
                              "a catalog name (\"A100 80GB\"; case, spaces and dashes do not matter) or {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=}")

    /// A number option without an engine struct behind it: >= 0 (> 0 with `above`).
    static func amount(_ name: String, above: Bool = false, default def: Double? = nil, _ doc: String) -> LuaOpt {
        LuaOpt(name, .number(min: 0, above: above), def.map { .number($0) } ?? .none, doc)
    }

    static let head: [LuaOpt] = [
        LuaOpt("head", .choice(Cost.Head.names), .computed("causal_lm for decoders, base for encoders"),
               "the model class: causal_lm (AutoModelForCausalLM), base (AutoModel), seq_cls (AutoModelForSequenceClassification)"),
        LuaOpt("num_labels", .integer(1...Int.max), .int(Cost.Head.defaultLabels), "classes of the seq_cls head (given alone, it means head = \"seq_cls\")"),
    ]
    static let lora: [CostField<Cost.LoRAOptions>] = [
        .int("r", \.r, "rank of the adapters"),
        CostField(opt: LuaOpt("targets", .strings, .computed("PEFT's: q_proj, v_proj (Llama); c_attn (GPT-2); query, value (BERT)"),
                              "layer names (a path equal to the name or ending in \".\" .. name), \"all-linear\", or one regular expression matching whole paths")) { o, t in
            switch try o.value("targets") {
            case .nil: break
            case .string(let s): t.targets = Cost.LoRATargets(pattern: s)
            default: t.targets = .names(try o.strings("targets"))
            }
        },
        CostField(opt: LuaOpt("bias", .choice(Cost.LoRAOptions.biasModes), .string(Cost.LoRAOptions().bias),
                              "trainable biases: none, all, or lora_only (those of adapted layers)")) { o, t in t.bias = try o.string("bias") },
        .bool("dora", \.dora, "DoRA: a magnitude vector (out features) per adapted layer"),
        CostField(opt: LuaOpt("modules_to_save", .strings, .strings([]), "modules trained in full and saved with the adapter (PEFT's modules_to_save)")) { o, t in
            t.modulesToSave = try o.strings("modules_to_save")
        },
    ]
    static let method = CostField<Cost.MemoryOptions>.choice("method", \.method, "inference, full fine-tuning, LoRA, or QLoRA (LoRA on a quantized base)")
    /// cost.memory's options but `method` (cost.fits takes it as an argument).
    static let memory: [CostField<Cost.MemoryOptions>] = [
        .dtype("dtype", \.dtype, "bf16; inference: the config's torch_dtype",
               "weights: fp32 4 B, bf16/fp16 2 B; int8 (LLM.int8) or nf4 (4-bit) quantize inference; qlora: the compute type"),
        .choice("quant", \.quant, only: [.nf4, .int8], "qlora: storage of the frozen linear weights"),
        .doubleQuant(\.doubleQuant),
        .choice("precision", \.precision, "full 16-bit training: mixed (16-bit weights + fp32 master, 16 B/param), amp (fp32 weights + autocast copies, 18 B), pure (all 16-bit)"),
        .choice("optimizer", \.optimizer, "state per trained param: adam(w) 8 B, *_8bit ~2 B, sgd 0, sgd_momentum and lion 4, adafactor (rows + cols) x 4 per matrix"),
        .int("batch", \.batch, "sequences per step (per GPU)"),
        .seq(\.seq), .gpus(\.gpus),
        .int("zero", \.zero, kind: .integer(0...3), "ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also weights"),
        .checkpointing(\.checkpointing),
        .choice("attention", \.attention, "sdpa: fused kernels keep no s x s scores (HF's default); eager keeps them"),
        .kvDType(\.kvDType),
    ]

    // MARK: readers

    /// The model of argument 1 with the head the options ask for.
    static func model(_ c: LuaCall, _ o: DeclaredOptions?) throws -> Cost.Model {
        let cfg: [String: Cost.Value]
        if let path = c.string(1) {
            cfg = try Cost.loadConfig(path: path)
        } else if case .record(let fields) = try c.value(1) {
            cfg = values(fields)
        } else {
            throw c.argError(1, "config", "expected a table of config fields such as {model_type = \"llama\", hidden_size = 4096, ...}, got an array")
        }
        guard let o else { return try Cost.model(cfg) }
        let labels = try o.has("num_labels") ? try o.int("num_labels") : nil
        return try Cost.model(cfg, head: try Cost.Head.named(try o.stringIfGiven("head"), labels: labels))
    }

    static func memory(_ o: DeclaredOptions, _ fields: [CostField<Cost.MemoryOptions>]) throws -> Cost.MemoryOptions {
        var m = Cost.MemoryOptions()
        try fields.read(o, into: &m)
        try lora.read(o, into: &m.lora)
        return m
    }

    /// A GPU given by catalog name or as a table.
    static func gpu(_ c: LuaCall, _ v: LuaValue, _ what: String) throws -> Cost.GPU {
        switch v {
        case .string(let name): return try catalog(c).gpu(name)
        case .record(let f): return try Cost.gpu(from: values(f), source: what)
        default: throw LuaError("bad \(what) (expected a GPU name from cost.catalog() or a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=})")
        }
    }

    /// An option a function cannot do without; the error says what it is (its declared doc).
    static func required(_ o: DeclaredOptions, _ name: String) throws -> Double {
        if let v = try o.numberIfGiven(name) { return v }
        throw try missing(o, name)
    }

    static func missing(_ o: DeclaredOptions, _ name: String) throws -> LuaError {
        LuaError("missing option '\(name)' (\(try o.declared(name).doc.replacingOccurrences(of: " (required)", with: "")))")
    }

    static func state(_ c: LuaCall) -> CostCatalogState {
        lua_getfield(c.L, lp_registryindex(), catalogKey)
        defer { lp_pop(c.L, 1) }
        return c.object(-1, CostCatalogState.self)!
    }

    static func catalog(_ c: LuaCall) throws -> Cost.Catalog {
        if let cat = state(c).catalog { return cat }
        state(c).catalog = try Cost.Catalog.shipped(stdlib: c.vm.stdlibPath)
        return state(c).catalog!
    }

    // MARK: values

    static func value(_ v: LuaValue) -> Cost.Value {
        switch v {
        case .nil, .object, .stackValue: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .number(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(value))
        case .record(let r): return .object(values(r))
        }
    }

    static func values(_ fields: [(String, LuaValue)]) -> [String: Cost.Value] {
        Dictionary(fields.map { ($0.0, value($0.1)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Byte counts and other whole numbers as Lua integers.
    static func num(_ x: Double) -> LuaValue { x == x.rounded() && abs(x) < 9.0e15 ? .int(Int(x)) : .number(x) }
    static func opt(_ x: Double?) -> LuaValue { x.map { .number($0) } ?? .nil }
    static func opt(_ x: Int?) -> LuaValue { x.map { .int($0) } ?? .nil }

    static func gpuFields(_ g: Cost.GPU) -> [(String, LuaValue)] {
        [("name", .string(g.name)), ("memory_gb", .number(g.memoryGB)), ("bf16_tflops", .number(g.tflops)), ("bandwidth_gbs", .number(g.bandwidthGBs)),
         ("on_demand_usd_hr", opt(g.onDemand)), ("spot_usd_hr", opt(g.spot)), ("price_source", .string(g.priceSource)),
         ("spec_source", .string(g.specSource)), ("date", .string(g.date)), ("notes", .string(g.notes))]
    }

    static func memoryFields(_ e: Cost.MemoryEstimate) -> [(String, LuaValue)] {
        e.items.map { ($0.key, num($0.bytes)) } + [("total", num(e.total))]
    }

    /// Pushes a result: its fields (and array rows), printing as the report's text, with the
    /// report kept for `cost.report`.
    @discardableResult
    static func push(_ c: LuaCall, _ name: String, _ report: Cost.Report, _ fields: [(String, LuaValue)], rows: [LuaValue] = []) throws -> Int32 {
        try c.pushRecord(fields, name: name, text: report.text())
        for (k, row) in rows.enumerated() {
            try c.push(row)
            lua_rawseti(c.L, -2, lua_Integer(k + 1))
        }
        lua_getmetatable(c.L, -1)
        c.push(CostResult(report))
        lua_setfield(c.L, -2, "__cost")
        lp_pop(c.L, 1)
        return 1
    }

    /// The report of a result at `idx`, if it is one.
    static func report(_ c: LuaCall, _ idx: Int32) -> Cost.Report? {
        guard lua_type(c.L, idx) == LUA_TTABLE, lua_getmetatable(c.L, idx) != 0 else { return nil }
        c.push("__cost")
        lua_rawget(c.L, -2)
        defer { lp_pop(c.L, 2) }
        return c.object(-1, CostResult.self)?.report
    }
}
