import CLua
import CLuaShim
import Foundation
import LatheCore

extension LuaTag {
    /// The report behind a `cost` result table (kept in the table's metatable).
    public static let costResult: Int32 = 25
}

/// The printable report of a `cost` result; it lives in the result table's metatable so
/// `print`, `show` and `cost.report` can render it.
final class CostResult: LuaObject {
    static let luaTag = LuaTag.costResult
    let report: Cost.Report
    init(_ report: Cost.Report) { self.report = report }
}

/// Per-VM state: the GPU catalog in use.
final class CostState {
    let vm: LuaVM
    var catalog: [Cost.GPU]? = nil
    var source = ""
    init(vm: LuaVM) { self.vm = vm }

    static func defaultCatalogPath(_ vm: LuaVM) -> String? {
        if let env = ProcessInfo.processInfo.environment["LATHE_GPU_CATALOG"], !env.isEmpty { return env }
        guard let dir = vm.stdlibPath else { return nil }
        let p = dir + "/lathe/data/gpus.csv"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    func gpus() throws -> [Cost.GPU] {
        if let catalog { return catalog }
        guard let path = CostState.defaultCatalogPath(vm) else {
            throw LuaError("the GPU catalog (stdlib/lathe/data/gpus.csv) was not found; load one with cost.catalog(path) or pass the GPU as a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=}")
        }
        let c = try Cost.loadCatalog(path: path)
        catalog = c
        source = path
        return c
    }
}

/// `cost`: will a job fit, how long will it take, what will it cost, when does it pay back.
enum CostModule: LuaInstaller {
    static let registryKey = "lathe.cost.tostring"

    static func install(_ vm: LuaVM) throws {
        let L = vm.L
        let state = CostState(vm: vm)
        let m = vm.module("cost", summary: "Will it fit, how long, what will it cost: parameters, memory, time, cloud money, ROI, budgets.",
                          details: """
            Model arithmetic takes a Hugging Face config (a config.json path, a model folder or a Lua
            table) of a Llama-style decoder (llama, mistral, qwen2, qwen3, gemma, phi3), GPT-2 or a
            BERT-family encoder (bert, roberta, distilbert). Counts equal what transformers and PEFT
            report for the real checkpoints. Results are tables of named numbers that print as an
            itemized breakdown with the formula of every line; cost.report(result) gives Markdown.
            Money functions take one table of named quantities; a missing one is an error that says
            how to supply it. GPUs come from a catalog with dated prices (cost.catalog()).
            """)

        // one __tostring for every result table
        vm.pushFunction("cost result") { c in
            guard let r = resultObject(c, 1) else { c.push("(cost result)"); return 1 }
            c.push(r.report.text())
            return 1
        }
        lua_setfield(L, lp_registryindex(), registryKey)

        let loraKeys = ["r", "targets", "bias", "dora", "modules_to_save", "head", "num_labels"]
        let memoryKeys = ["method", "dtype", "quant", "double_quant", "precision", "optimizer", "batch", "seq",
                          "gpus", "zero", "checkpointing", "attention", "kv_dtype"] + loraKeys
        let smolLM = """
            local smol = {model_type = "llama", hidden_size = 576, intermediate_size = 1536,
              num_hidden_layers = 30, num_attention_heads = 9, num_key_value_heads = 3,
              vocab_size = 49152, tie_word_embeddings = true}
            """

        // MARK: params
        m.function("params", Doc(
            "Exact parameter count of a Hugging Face model from its config.",
            signature: "cost.params(config, {head = \"causal_lm\"|\"base\"|\"seq_cls\", num_labels = 2}) -> integer",
            details: """
                config: a config.json path, a folder holding one, or a Lua table with the same fields.
                The count equals transformers' model.num_parameters() (tied weights once) for
                AutoModelForCausalLM (decoders; the default), AutoModel (encoders; the default) or
                AutoModelForSequenceClassification (head = "seq_cls"). Published figures: GPT-2 small
                124,439,808; bert-base-uncased 109,482,240; Llama-2-7b 6,738,415,616.
                Supported model_type: llama, mistral, qwen2, qwen3, gemma, phi3, gpt2, bert, roberta,
                distilbert.
                """,
            returns: "the number of parameters (an integer)",
            errors: "an unknown model_type; a missing or non-positive field (the message lists the fields the family needs); an unreadable file.",
            example: """
                local gpt2 = {model_type = "gpt2", n_embd = 768, n_layer = 12, n_head = 12,
                  vocab_size = 50257, n_positions = 1024}
                print(cost.params(gpt2))                      --> 124439808
                print(cost.params(gpt2, {head = "seq_cls"}))  --> 124441344
                """)) { c in
            let cfg = try config(c, 1)
            let o = try c.options(2, allowed: ["head", "num_labels"])
            let model = try Cost.model(cfg, head: try head(o))
            c.push(model.count)
            return 1
        }

        // MARK: lora_params
        m.function("lora_params", Doc(
            "LoRA trainable parameters for a rank and target layers, as PEFT's print_trainable_parameters reports them.",
            signature: "cost.lora_params(config, {r = 8, targets = PEFT's default | {names} | \"all-linear\" | \"regex\", bias = \"none\", dora = false, modules_to_save = {}, head = , num_labels = 2}) -> trainable, details",
            details: """
                Each adapted Linear (or GPT-2 Conv1D, or Embedding) of in x out features adds r x (in + out)
                parameters. targets: layer names matched as PEFT does (a module whose path equals the name
                or ends with "." .. name: "q_proj", "self_attn.v_proj", "c_attn", "query"); "all-linear"
                (every linear layer but the output head); or a regular expression matching whole module
                paths. Without targets PEFT's default for the model type is used (q_proj and v_proj for
                Llama, c_attn for GPT-2, query and value for BERT). head = "seq_cls" trains the
                classification head in full (PEFT's modules_to_save), counted once more in `all`.
                bias = "all" or "lora_only" makes biases trainable; dora = true adds DoRA's magnitude
                vector (out features) per adapted layer.
                """,
            returns: "the trainable count (an integer), then a table {trainable=, all=, percent=, adapters=, dora=, biases=, saved=, modules=} that prints like PEFT",
            errors: "a target that matches no layer (the message lists the model's layers); r < 1; a model type without PEFT defaults and no targets.",
            example: smolLM + """

                print(cost.lora_params(smol, {r = 8, targets = {"q_proj", "v_proj"}}))   --> 460800 ...
                local n, info = cost.lora_params(smol, {r = 16, targets = "all-linear"})
                print(n, info.all, string.format("%.2f%%", info.percent))
                """)) { c in
            let cfg = try config(c, 1)
            let o = try c.options(2, allowed: loraKeys)
            let model = try Cost.model(cfg, head: try head(o))
            let lc = try Cost.lora(model, try loraOptions(o))
            c.push(lc.trainable)
            let mods = lc.targets.map { LuaValue.string($0.name) }
            let report = Cost.Report(
                title: "trainable params: \(Cost.commas(lc.trainable)) || all params: \(Cost.commas(lc.all)) || trainable%: \(String(format: "%.4f", lc.percent))",
                rows: [["adapters", Cost.commas(lc.adapters), "r x (in + out) over \(lc.targets.count) layers"]]
                    + (lc.dora > 0 ? [["dora", Cost.commas(lc.dora), "magnitude vectors"]] : [])
                    + (lc.biases > 0 ? [["biases", Cost.commas(lc.biases), "trainable biases"]] : [])
                    + (lc.saved > 0 ? [["saved modules", Cost.commas(lc.saved), lc.savedModules.joined(separator: ", ")]] : []),
                numeric: [1])
            try pushResult(c, [
                ("trainable", .int(lc.trainable)), ("all", .int(lc.all)), ("percent", .number(lc.percent)),
                ("adapters", .int(lc.adapters)), ("dora", .int(lc.dora)), ("biases", .int(lc.biases)),
                ("saved", .int(lc.saved)), ("modules", .array(mods)),
            ], report)
            return 2
        }

        // MARK: memory
        m.function("memory", Doc(
            "Memory for inference or training (full, LoRA, QLoRA), itemized: weights, gradients, optimizer, activations...",
            signature: """
                cost.memory(config, {method = "full"|"lora"|"qlora"|"inference", dtype = "bf16", optimizer = "adamw",
                  batch = 1, seq = min(max positions, 2048), gpus = 1, zero = 0, checkpointing = false,
                  attention = "sdpa"|"eager", precision = "mixed"|"amp"|"pure", quant = "nf4"|"int8",
                  double_quant = true, kv_dtype = dtype, r = 8, targets = , bias = , dora = , head = }) -> table
                """,
            details: """
                The result is a table of byte counts with a `total`, per GPU; it prints as a breakdown.
                weights: bytes per parameter of dtype (fp32 4, bf16/fp16 2); int8/nf4 quantize the linear
                  layers (not the output head): NF4 is 0.5 B per weight plus an fp32 absmax per 64 weights
                  (0.5 bit/param) or, double-quantized, 8/64 + 32/(64 x 256) = 0.127 bit/param (QLoRA,
                  Dettmers et al. 2023; equal to bitsandbytes' storage); LLM.int8 is 1 B plus an fp32 scale per row.
                full, mixed precision (ZeRO, Rajbhandari et al. 2020): 2 (weights) + 2 (gradients) + 4 (fp32
                  master) + 8 (Adam states) = 16 B/param; precision = "amp" (PyTorch autocast on fp32
                  weights, as HF's docs count it): 4 + 2 + 4 + 8 = 18 B/param; "pure" 16-bit: 2 + 2 + 4.
                  dtype = "fp32": 4 + 4 + 8 = 16. Optimizers: adamw/adam 8 B, adamw_8bit and
                  paged_adamw_8bit ~2 B (bitsandbytes, blocks of 256), sgd 0, sgd_momentum 4, lion 4,
                  adafactor (rows + cols) x 4 per matrix.
                zero = 1, 2, 3 shards optimizer states (and master weights), then gradients, then weights
                  over `gpus` GPUs.
                lora/qlora: frozen base (qlora: quantized) + adapters, their gradients and optimizer
                  states in fp32 (PEFT's default).
                activations (Korthikanti et al. 2022, sbh(34 + 5as/h) per layer for a GPT layer, 2sbh per
                  layer with full recomputation), applied term by term to what Hugging Face's modules keep
                  for backward (equal to torch's saved tensors for Llama, Qwen, Gemma, Phi-3, GPT-2, BERT),
                  plus fp32 logits (4 B x b x s x vocab) for a causal LM. attention = "sdpa" (fused kernels,
                  HF's default) keeps no s x s matrices; "eager" does. checkpointing keeps each layer's input
                  and recomputes one layer at a time.
                inference: weights + kv_cache (2 x layers x batch x context x kv heads x head_dim x bytes)
                  + one layer's working set.
                """,
            returns: "a table {weights=, ..., total=} of bytes (fields depend on the method)",
            errors: "an unknown option or value (the message lists the choices); non-positive batch, seq or gpus; zero not in 0..3; a quantized dtype for full fine-tuning.",
            example: smolLM + """

                local m = cost.memory(smol, {method = "lora", batch = 4, seq = 512})
                print(m)
                print(m.total > m.weights, m.activations > 0)
                print(cost.memory(smol, {method = "inference", dtype = "nf4", batch = 1, seq = 2048}).total)
                """)) { c in
            let cfg = try config(c, 1)
            let o = try c.options(2, allowed: memoryKeys)
            let model = try Cost.model(cfg, head: try head(o))
            let mo = try memoryOptions(o, method: nil)
            let est = try Cost.memory(model, mo)
            try pushMemory(c, est)
            return 1
        }

        // MARK: fits
        m.function("fits", Doc(
            "Does a job fit one GPU, and with what batch size?",
            signature: "cost.fits(config, method, gpu, {headroom = 0.1, batch = 1, seq = , dtype = , optimizer = , ... as cost.memory}) -> {fits=, max_batch=, memory=, usable=, needed=, gpu=}",
            details: """
                method: "full", "lora", "qlora" or "inference". gpu: a catalog name ("A100 80GB", "L4", ...;
                case, spaces and dashes do not matter) or a table {name=, memory_gb=, bf16_tflops=,
                bandwidth_gbs=}. Usable memory is the GPU's memory x (1 - headroom), leaving room for the
                CUDA context and fragmentation. Memory grows linearly with the batch (activations, KV cache),
                so max_batch = floor((usable - fixed) / bytes per sample); 0 when batch 1 does not fit.
                With gpus and zero, memory is per GPU.
                """,
            returns: "a table {fits = boolean (at the given batch), max_batch = integer, memory = cost.memory table, usable = bytes, needed = bytes, per_sample = bytes, gpu = name}",
            errors: "a GPU not in the catalog (the message lists the catalog); the errors of cost.memory.",
            example: smolLM + """

                local f = cost.fits(smol, "lora", "T4", {seq = 512})
                print(f.fits, f.max_batch)
                print(cost.fits(smol, "full", {name = "tiny", memory_gb = 1, bf16_tflops = 10, bandwidth_gbs = 100}).fits)
                """)) { c in
            let cfg = try config(c, 1)
            let method = try c.checkString(2, "method")
            guard let meth = Cost.Method(rawValue: method) else {
                throw c.argError(2, "method", expected: "\"full\", \"lora\", \"qlora\" or \"inference\"")
            }
            let gpu = try gpuArg(c, 3, state)
            let o = try c.options(4, allowed: memoryKeys.filter { $0 != "method" } + ["headroom"])
            let model = try Cost.model(cfg, head: try head(o))
            let mo = try memoryOptions(o, method: meth)
            let f = try Cost.fits(model, mo, gpu: gpu, headroom: try o.number("headroom") ?? 0.1)
            try pushResult(c, [
                ("fits", .bool(f.fits)), ("max_batch", .int(f.maxBatch)), ("memory", .nil),
                ("usable", num(f.usable)), ("needed", num(f.memory.total)), ("per_sample", num(f.perSample)),
                ("gpu", .string(gpu.name)),
            ], f.report())
            try pushMemory(c, f.memory)
            lua_setfield(L, -2, "memory")
            return 1
        }

        // MARK: train_time
        m.function("train_time", Doc(
            "Training time and GPU cost from FLOPs (about 6 x params x tokens plus attention) at a stated MFU.",
            signature: "cost.train_time(config, gpu, {tokens = , epochs = 1, method = \"full\"|\"lora\"|\"qlora\", seq = , gpus = 1, mfu = 0.4, checkpointing = false, r = , targets = , head = }) -> table",
            details: """
                FLOPs per token (PaLM, Chowdhery et al. 2022, appendix B): 6N + 12·L·H·Q·T, N the weights
                in matrix products (the output head included, embedding lookups not), L layers, H·Q the
                attention width, T the sequence length. LoRA/QLoRA skip the frozen weights' gradients:
                4N + 6·(adapter params) + the attention term. time = tokens x epochs x FLOPs per token /
                (gpus x peak bf16 FLOP/s x mfu), where mfu (model-FLOPs utilization) is the fraction of the
                peak a run reaches: 0.3 to 0.5 is typical; checkpointing lowers it (hardware_flops counts the
                recomputation). Cost uses the catalog's price per GPU-hour.
                """,
            returns: "a table {seconds=, hours=, days=, gpu_hours=, flops=, flops_per_token=, hardware_flops=, tokens=, cost_on_demand=, cost_spot=}",
            errors: "missing tokens; mfu outside (0, 1]; the errors of cost.memory's LoRA options.",
            example: smolLM + """

                local t = cost.train_time(smol, "A100 80GB", {tokens = 50e6, epochs = 3, method = "lora", seq = 1024})
                print(t)
                print(t.hours < 1, t.cost_on_demand > 0)
                """)) { c in
            let cfg = try config(c, 1)
            let gpu = try gpuArg(c, 2, state)
            let o = try c.options(3, allowed: ["tokens", "epochs", "method", "seq", "gpus", "mfu", "checkpointing"] + loraKeys)
            let model = try Cost.model(cfg, head: try head(o))
            guard let tokens = try o.number("tokens") else {
                throw LuaError("missing option 'tokens' (the number of training tokens per epoch, e.g. {tokens = 50e6})")
            }
            var to = Cost.TrainTimeOptions(tokens: tokens)
            to.epochs = try o.number("epochs") ?? 1
            to.method = try methodOption(o, default: .full)
            to.seq = try posInt(o, "seq")
            to.gpus = try posInt(o, "gpus") ?? 1
            to.mfu = try o.number("mfu") ?? 0.4
            to.checkpointing = try o.bool("checkpointing") ?? false
            to.lora = try loraOptions(o)
            let t = try Cost.trainTime(model, gpu: gpu, to)
            try pushResult(c, [
                ("seconds", .number(t.seconds)), ("hours", .number(t.hours)), ("days", .number(t.seconds / 86400)),
                ("gpu_hours", .number(t.gpuHours)), ("flops", .number(t.totalFLOPs)), ("flops_per_token", .number(t.flopsPerToken)),
                ("hardware_flops", .number(t.hardwareFLOPs)), ("tokens", .number(t.tokens)),
                ("cost_on_demand", t.costOnDemand.map { .number($0) } ?? .nil), ("cost_spot", t.costSpot.map { .number($0) } ?? .nil),
                ("gpu", .string(gpu.name)), ("gpus", .int(t.gpus)), ("mfu", .number(t.mfu)),
            ], t.report())
            return 1
        }

        // MARK: inference_speed
        m.function("inference_speed", Doc(
            "Upper bounds on generation speed: memory-bandwidth-bound decode, compute bound, prefill.",
            signature: "cost.inference_speed(config, gpu, {dtype = , batch = 1, context = , mfu = 0.5, double_quant = true, kv_dtype = }) -> table",
            details: """
                Each decode step reads every weight and the batch's KV cache from memory, so tokens/s <=
                batch x bandwidth / (weight bytes + KV cache bytes); it also costs 2N + 4·L·H·Q·context
                FLOPs per token, so tokens/s <= peak x mfu / FLOPs. decode is the smaller; prefill
                (the prompt) is compute bound. Real servers reach roughly 60-80% of the bandwidth bound.
                """,
            returns: "a table {decode=, memory_bound=, compute_bound=, prefill= (tokens/s), ms_per_token=, weights=, kv_cache= (bytes), limited_by=}",
            errors: "an encoder config; batch < 1; the errors of cost.memory.",
            example: smolLM + """

                local s = cost.inference_speed(smol, "L4", {dtype = "bf16", context = 2048})
                print(s)
                print(s.limited_by, s.decode > 100)
                """)) { c in
            let cfg = try config(c, 1)
            let gpu = try gpuArg(c, 2, state)
            let o = try c.options(3, allowed: ["dtype", "batch", "context", "mfu", "double_quant", "kv_dtype"])
            let model = try Cost.model(cfg)
            var io = Cost.InferenceOptions()
            io.dtype = try dtypeOption(o, "dtype")
            io.batch = try posInt(o, "batch") ?? 1
            io.context = try posInt(o, "context")
            io.mfu = try o.number("mfu") ?? 0.5
            io.doubleQuant = try o.bool("double_quant") ?? true
            io.kvDType = try dtypeOption(o, "kv_dtype")
            let s = try Cost.inferenceSpeed(model, gpu: gpu, io)
            try pushResult(c, [
                ("decode", .number(s.decode)), ("memory_bound", .number(s.memoryBound)), ("compute_bound", .number(s.computeBound)),
                ("prefill", .number(s.prefill)), ("ms_per_token", .number(s.msPerToken)), ("weights", num(s.weightBytes)),
                ("kv_cache", num(s.kvBytes)), ("limited_by", .string(s.limitedBy)),
            ], s.report())
            return 1
        }

        // MARK: project
        m.function("project", Doc(
            "Projects time and cost for a larger run from Lathe's own measured tokens/s on this machine.",
            signature: "cost.project{measured_tokens_per_sec = , tokens = , epochs = 1, price_per_hour = 0, measured_params = , params = , overhead = 0} -> table",
            details: """
                seconds = tokens x epochs / speed x (1 + overhead). Pass the speed a Lathe run printed (its
                tokens per second), the tokens of the full dataset, and what an hour of this machine costs.
                To project to another model size, pass measured_params (the model you timed) and params
                (the one you plan): the speed scales with measured_params / params (6N FLOPs per token).
                overhead is a fraction for evaluation and checkpoint saving (0.1 = 10%).
                """,
            returns: "a table {tokens_per_sec=, seconds=, hours=, days=, cost=, tokens=}",
            errors: "a missing or non-positive speed or token count; only one of measured_params and params.",
            example: """
                local p = cost.project{measured_tokens_per_sec = 20, tokens = 5e6, epochs = 2, price_per_hour = 0.10}
                print(p)
                print(p.hours, p.cost)
                """)) { c in
            let o = try c.options(1, allowed: ["measured_tokens_per_sec", "tokens", "epochs", "price_per_hour", "measured_params", "params", "overhead"])
            guard let tps = try o.number("measured_tokens_per_sec") else {
                throw LuaError("missing 'measured_tokens_per_sec' (the tokens per second a Lathe run measured on this machine)")
            }
            guard let tokens = try o.number("tokens") else {
                throw LuaError("missing 'tokens' (the tokens per epoch of the run to project)")
            }
            let p = try Cost.project(measuredTokensPerSecond: tps, tokens: tokens, epochs: try o.number("epochs") ?? 1,
                                     pricePerHour: try o.number("price_per_hour") ?? 0,
                                     measuredParams: try o.number("measured_params"), targetParams: try o.number("params"),
                                     overhead: try o.number("overhead") ?? 0)
            try pushResult(c, [
                ("tokens_per_sec", .number(p.tokensPerSecond)), ("seconds", .number(p.seconds)), ("hours", .number(p.hours)),
                ("days", .number(p.days)), ("cost", .number(p.cost)), ("tokens", .number(p.tokens)),
            ], p.report())
            return 1
        }

        // MARK: cloud
        m.function("cloud", Doc(
            "Cloud cost of a training job: on-demand vs spot (with an interruption overhead), storage and transfer.",
            signature: "cost.cloud{hours = , gpu = , gpus = 1, spot = false, interruption_overhead = 0.15, on_demand_price = , spot_price = , storage_gb = 0, storage_price = 0.10, storage_months = 1, transfer_gb = 0, transfer_price = 0.09} -> table",
            details: """
                compute = hours x gpus x price per GPU-hour (the catalog's, or on_demand_price / spot_price);
                spot runs (1 + interruption_overhead) times longer to redo work lost to preemptions;
                storage = GB x USD per GB-month x months (0.10 is block storage); transfer = GB x USD per GB
                (0.09 is typical internet egress). Both totals are computed when both prices are known;
                `total` is the spot one when spot = true. hours is the wall-clock time of the job, as
                cost.train_time(...).hours gives it.
                """,
            returns: "a table {compute_on_demand=, compute_spot=, spot_hours=, storage=, transfer=, total_on_demand=, total_spot=, savings=, total=} in USD",
            errors: "missing hours or gpu; negative amounts; a GPU without the needed price (pass on_demand_price or spot_price).",
            example: """
                local c = cost.cloud{hours = 12, gpu = "A100 80GB", gpus = 2, storage_gb = 200}
                print(c)
                print(c.total_spot < c.total_on_demand)
                """)) { c in
            let o = try c.options(1, allowed: ["hours", "gpu", "gpus", "spot", "interruption_overhead", "on_demand_price", "spot_price",
                                              "storage_gb", "storage_price", "storage_months", "transfer_gb", "transfer_price"])
            guard let hours = try o.number("hours") else {
                throw LuaError("missing 'hours' (the job's wall-clock hours, e.g. cost.train_time(...).hours)")
            }
            let gpu = try gpuOption(c, o, "gpu", state, required: true)!
            var co = Cost.CloudOptions(hours: hours)
            co.gpus = try posInt(o, "gpus") ?? 1
            co.spot = try o.bool("spot") ?? false
            co.interruptionOverhead = try o.number("interruption_overhead") ?? 0.15
            co.onDemandPrice = try o.number("on_demand_price")
            co.spotPrice = try o.number("spot_price")
            co.storageGB = try o.number("storage_gb") ?? 0
            co.storagePricePerGBMonth = try o.number("storage_price") ?? 0.10
            co.storageMonths = try o.number("storage_months") ?? 1
            co.transferGB = try o.number("transfer_gb") ?? 0
            co.transferPricePerGB = try o.number("transfer_price") ?? 0.09
            let r = try Cost.cloud(gpu: gpu, co)
            func opt(_ x: Double?) -> LuaValue { x.map { .number($0) } ?? .nil }
            try pushResult(c, [
                ("compute_on_demand", opt(r.computeOnDemand)), ("compute_spot", opt(r.computeSpot)), ("spot_hours", .number(r.spotHours)),
                ("storage", .number(r.storage)), ("transfer", .number(r.transfer)), ("total_on_demand", opt(r.totalOnDemand)),
                ("total_spot", opt(r.totalSpot)), ("savings", opt(r.savings)), ("total", .number(r.total)),
            ], r.report())
            return 1
        }

        // MARK: api_vs_inhouse
        m.function("api_vs_inhouse", Doc(
            "Pay-per-token API against running your own model: monthly costs, break-even month, ROI.",
            signature: """
                cost.api_vs_inhouse{tokens_per_month = , api_price = (USD per million tokens) | input_tokens_per_month = ,
                  output_tokens_per_month = , api_input_price = , api_output_price = , hardware_cost = 0,
                  amortization_months = 36, hosting_per_month = 0, gpu = , gpu_hours_per_month = 0, gpu_price = ,
                  power_per_month = 0, staff_hours_per_month = 0, staff_rate = 0, setup_cost = 0, months = 12} -> table
                """,
            details: """
                API per month = tokens / 1e6 x price per million (input and output priced apart if given).
                In-house per month = hardware_cost / amortization_months + hosting + GPU hours x price (the
                catalog's on-demand price for `gpu` unless gpu_price is given) + power + staff hours x rate.
                setup_cost is one-off (fine-tuning, engineering). break-even month = the first month m
                with m x API >= setup + m x in-house; nil when in-house never catches up. ROI of going
                in-house over `months` = (API spend avoided - in-house cost) / in-house cost.
                """,
            returns: "a table {api_per_month=, inhouse_per_month=, savings_per_month=, setup_cost=, breakeven_month=, total_api=, total_inhouse=, roi=, cheaper=, api_per_million=, inhouse_per_million=, months=}",
            errors: "no token volume or no API price (the message says which field to pass); negative amounts.",
            example: """
                local r = cost.api_vs_inhouse{tokens_per_month = 200e6, api_price = 5,
                  gpu = "L4", gpu_hours_per_month = 730, staff_hours_per_month = 4, staff_rate = 80,
                  setup_cost = 3000, months = 24}
                print(r)
                print(r.cheaper, r.breakeven_month)
                """)) { c in
            let o = try c.options(1, allowed: ["tokens_per_month", "api_price", "input_tokens_per_month", "output_tokens_per_month",
                                              "api_input_price", "api_output_price", "hardware_cost", "amortization_months",
                                              "hosting_per_month", "gpu", "gpu_hours_per_month", "gpu_price", "power_per_month",
                                              "staff_hours_per_month", "staff_rate", "setup_cost", "months"])
            var a = Cost.APIvsInHouseOptions()
            if let t = try o.number("tokens_per_month") {
                if o.has("input_tokens_per_month") { throw LuaError("pass tokens_per_month or input_tokens_per_month, not both") }
                a.inputTokensPerMonth = t
            } else {
                a.inputTokensPerMonth = try o.number("input_tokens_per_month") ?? 0
            }
            a.outputTokensPerMonth = try o.number("output_tokens_per_month") ?? 0
            if let p = try o.number("api_price") {
                a.apiInputPrice = p
                a.apiOutputPrice = try o.number("api_output_price") ?? p
            } else {
                a.apiInputPrice = try o.number("api_input_price") ?? 0
                a.apiOutputPrice = try o.number("api_output_price") ?? 0
            }
            a.hardwareCost = try o.number("hardware_cost") ?? 0
            a.amortizationMonths = try o.number("amortization_months") ?? 36
            a.hostingPerMonth = try o.number("hosting_per_month") ?? 0
            a.gpuHoursPerMonth = try o.number("gpu_hours_per_month") ?? 0
            if let p = try o.number("gpu_price") {
                a.gpuPricePerHour = p
            } else if let g = try gpuOption(c, o, "gpu", state, required: false) {
                guard let p = g.onDemand else {
                    throw LuaError("GPU '\(g.name)' has no on-demand price in the catalog (pass gpu_price = USD per hour)")
                }
                a.gpuPricePerHour = p
            } else if a.gpuHoursPerMonth > 0 {
                throw LuaError("gpu_hours_per_month needs a price: pass gpu = \"L4\" (catalog price) or gpu_price = USD per hour")
            }
            a.powerPerMonth = try o.number("power_per_month") ?? 0
            a.staffHoursPerMonth = try o.number("staff_hours_per_month") ?? 0
            a.staffRate = try o.number("staff_rate") ?? 0
            a.setupCost = try o.number("setup_cost") ?? 0
            a.months = try posInt(o, "months") ?? 12
            let r = try Cost.apiVsInHouse(a)
            try pushResult(c, [
                ("api_per_month", .number(r.apiPerMonth)), ("inhouse_per_month", .number(r.inHousePerMonth)),
                ("savings_per_month", .number(r.savingsPerMonth)), ("setup_cost", .number(r.setupCost)),
                ("breakeven_month", r.breakevenMonth.map { .int($0) } ?? .nil), ("total_api", .number(r.totalAPI)),
                ("total_inhouse", .number(r.totalInHouse)), ("roi", r.roi.map { .number($0) } ?? .nil), ("cheaper", .string(r.cheaper)),
                ("api_per_million", r.apiPerMillion.map { .number($0) } ?? .nil),
                ("inhouse_per_million", r.inHousePerMillion.map { .number($0) } ?? .nil), ("months", .int(r.months)),
            ], r.report())
            return 1
        }

        // MARK: roi
        m.function("roi", Doc(
            "Return on investment: (total return - total cost) / total cost.",
            signature: "cost.roi{total_return = , total_cost = } or cost.roi{monthly_return = , monthly_cost = 0, upfront = 0, months = } -> table",
            details: "With monthly figures: total return = monthly_return x months; total cost = upfront + monthly_cost x months.",
            returns: "a table {roi=, roi_percent=, net=, total_return=, total_cost=}",
            errors: "a missing field (the message names it); a zero or negative total cost; negative amounts.",
            example: """
                print(cost.roi{total_return = 150000, total_cost = 100000}.roi)   --> 0.5
                local r = cost.roi{monthly_return = 4000, monthly_cost = 500, upfront = 20000, months = 12}
                print(r)
                """)) { c in
            let o = try c.options(1, allowed: ["total_return", "total_cost", "monthly_return", "monthly_cost", "upfront", "months"])
            let ret: Double, cost: Double
            if let mr = try o.number("monthly_return") {
                if o.has("total_return") { throw LuaError("pass total_return or monthly_return, not both") }
                guard let months = try o.number("months") else {
                    throw LuaError("missing 'months' (how many months of monthly_return and monthly_cost to count)")
                }
                if !(months > 0) { throw LuaError("bad option 'months' (expected a positive number, got \(Cost.formatNumber(months)))") }
                ret = mr * months
                cost = (try o.number("upfront") ?? 0) + (try o.number("monthly_cost") ?? 0) * months
                for k in ["monthly_return", "monthly_cost", "upfront"] {
                    if let v = try o.number(k), v < 0 { throw LuaError("bad option '\(k)' (expected zero or a positive number, got \(Cost.formatNumber(v)))") }
                }
            } else {
                guard let r = try o.number("total_return") else {
                    throw LuaError("missing 'total_return' (what the project brings in; or pass monthly_return and months)")
                }
                guard let k = try o.number("total_cost") else {
                    throw LuaError("missing 'total_cost' (everything the project costs)")
                }
                ret = r
                cost = k
            }
            let r = try Cost.roi(totalReturn: ret, totalCost: cost)
            try pushResult(c, [
                ("roi", .number(r.roi)), ("roi_percent", .number(r.roi * 100)), ("net", .number(r.net)),
                ("total_return", .number(r.totalReturn)), ("total_cost", .number(r.totalCost)),
            ], r.report())
            return 1
        }

        // MARK: breakeven
        m.function("breakeven", Doc(
            "The month an upfront investment pays back from a monthly net return.",
            signature: "cost.breakeven{upfront = , monthly_return = , monthly_cost = 0, months = } -> table",
            details: """
                net per month = monthly_return - monthly_cost; break-even month = ceil(upfront / net), the
                first whole month whose cumulative net covers the upfront cost (nil when the net is not
                positive). cumulative[m] is the position after month m (starting at -upfront); months
                sets how many to list (default: a few past break-even, at least 12).
                """,
            returns: "a table {month=, months_exact=, net_per_month=, upfront=, cumulative = {...}}",
            errors: "a missing upfront or monthly_return; negative amounts.",
            example: """
                local b = cost.breakeven{upfront = 12000, monthly_return = 3000, monthly_cost = 1000}
                print(b.month, b.cumulative[6])   --> 6  0.0
                print(b)
                """)) { c in
            let o = try c.options(1, allowed: ["upfront", "monthly_return", "monthly_cost", "months"])
            guard let up = try o.number("upfront") else { throw LuaError("missing 'upfront' (the one-off cost to pay back)") }
            guard let mr = try o.number("monthly_return") else {
                throw LuaError("missing 'monthly_return' (what the investment brings in or saves each month)")
            }
            let b = try Cost.breakeven(upfront: up, monthlyReturn: mr, monthlyCost: try o.number("monthly_cost") ?? 0,
                                       horizon: try posInt(o, "months"))
            try pushResult(c, [
                ("month", b.month.map { .int($0) } ?? .nil), ("months_exact", b.exactMonths.map { .number($0) } ?? .nil),
                ("net_per_month", .number(b.netPerMonth)), ("upfront", .number(b.upfront)),
                ("cumulative", .array(b.cumulative.map { .number($0) })),
            ], b.report())
            return 1
        }

        // MARK: per_metric_gain
        m.function("per_metric_gain", Doc(
            "Dollars per point of metric gain over the baseline (e.g. per F1 point).",
            signature: "cost.per_metric_gain{cost = , baseline = , score = , scale = , metric = \"metric\", lower_is_better = false} -> table",
            details: """
                gain = (score - baseline) x scale points (reversed when lower is better, e.g. perplexity);
                scale defaults to 100 when both scores are in [0, 1] (F1 0.80 -> 0.86 is 6 points), else 1.
                cost_per_point = cost / gain; nil when there is no gain.
                """,
            returns: "a table {cost_per_point=, gain=, cost=, baseline=, score=, scale=}",
            errors: "a missing cost, baseline or score; a negative cost.",
            example: """
                local g = cost.per_metric_gain{cost = 1200, baseline = 0.80, score = 0.86, metric = "F1"}
                print(g.gain, g.cost_per_point)   --> 6.0  200.0
                print(g)
                """)) { c in
            let o = try c.options(1, allowed: ["cost", "baseline", "score", "scale", "metric", "lower_is_better"])
            guard let k = try o.number("cost") else { throw LuaError("missing 'cost' (what the improvement cost)") }
            guard let b = try o.number("baseline") else { throw LuaError("missing 'baseline' (the metric before: the current model or a simple baseline)") }
            guard let s = try o.number("score") else { throw LuaError("missing 'score' (the metric after fine-tuning)") }
            let g = try Cost.perMetricGain(cost: k, baseline: b, score: s, scale: try o.number("scale"),
                                           higherIsBetter: !(try o.bool("lower_is_better") ?? false),
                                           metric: try o.string("metric") ?? "metric")
            try pushResult(c, [
                ("cost_per_point", g.costPerPoint.map { .number($0) } ?? .nil), ("gain", .number(g.gain)),
                ("cost", .number(g.cost)), ("baseline", .number(g.baseline)), ("score", .number(g.score)),
                ("scale", .number(g.scale)),
            ], g.report())
            return 1
        }

        // MARK: budget
        m.function("budget", Doc(
            "A project budget by phase with contingency buffers and a timeline that prints as a text Gantt chart.",
            signature: "cost.budget(phases, {contingency = 0.15}) -> table",
            details: """
                phases: an array of {name = , cost = (USD), weeks = , after = name or {names}, start = week,
                contingency = fraction}. Phases run one after another unless a phase says `after` (it starts
                when those end) or `start` (a week number from 1). Each phase's contingency buffer is a
                fraction of its cost (the default for all: 0.15; 0.10 to 0.20 is usual). The Gantt chart has
                one column per week ('#' = the phase runs); long projects use several weeks per column.
                """,
            returns: "a table {phases = {{name=, cost=, contingency=, total=, start_week=, end_week=, weeks=}, ...}, subtotal=, contingency=, total=, weeks=, gantt = text}",
            errors: "an empty list; a phase without name, cost or weeks; negative cost; zero weeks; `after` naming an unknown or later phase; contingency outside 0..1.",
            example: """
                local b = cost.budget({
                  {name = "data collection", cost = 4000, weeks = 3},
                  {name = "preparation",     cost = 2000, weeks = 2},
                  {name = "training",        cost = 3000, weeks = 2},
                  {name = "evaluation",      cost = 1000, weeks = 1},
                  {name = "deployment",      cost = 2000, weeks = 2, after = "training"},
                }, {contingency = 0.15})
                print(b)
                print(b.total, b.weeks)
                """)) { c in
            try c.checkTable(1, "phases")
            let o = try c.options(2, allowed: ["contingency"])
            let n = c.rawLen(1)
            if n == 0 { throw c.argError(1, "phases", "expected an array of phases such as {name = \"training\", cost = 2000, weeks = 2}") }
            var phases: [Cost.Phase] = []
            for k in 1...n {
                lua_rawgeti(L, 1, lua_Integer(k))
                defer { lp_pop(L, 1) }
                guard c.type(-1) == LUA_TTABLE, case .record(let fields) = try c.value(-1) else {
                    throw c.argError(1, "phases", "element \(k) is not a table {name = , cost = , weeks = }")
                }
                var d: [String: LuaValue] = [:]
                for (key, v) in fields { d[key] = v }
                let label = "phase \(k)"
                for key in d.keys where !["name", "cost", "weeks", "after", "start", "contingency"].contains(key) {
                    throw LuaError("\(label): unknown field '\(key)' (expected name, cost, weeks, after, start, contingency)")
                }
                guard case .string(let name)? = d["name"] else { throw LuaError("\(label): missing 'name' (a string)") }
                func numField(_ key: String, required: Bool) throws -> Double? {
                    switch d[key] {
                    case .int(let i)?: return Double(i)
                    case .number(let x)?: return x
                    case nil, .nil?:
                        if required { throw LuaError("phase '\(name)': missing '\(key)'\(key == "cost" ? " (USD)" : " (duration in weeks)")") }
                        return nil
                    default: throw LuaError("phase '\(name)': '\(key)' must be a number")
                    }
                }
                var after: [String] = []
                switch d["after"] {
                case .string(let s)?: after = [s]
                case .array(let a)?:
                    for x in a {
                        guard case .string(let s) = x else { throw LuaError("phase '\(name)': 'after' must name phases (strings)") }
                        after.append(s)
                    }
                case nil, .nil?: break
                default: throw LuaError("phase '\(name)': 'after' must be a phase name or a list of names")
                }
                phases.append(Cost.Phase(name: name, cost: try numField("cost", required: true)!, weeks: try numField("weeks", required: true)!,
                                         start: try numField("start", required: false), after: after,
                                         contingency: try numField("contingency", required: false)))
            }
            let b = try Cost.budget(phases, contingency: try o.number("contingency") ?? 0.15)
            let rows: [LuaValue] = b.phases.map { p in
                .record([("name", .string(p.name)), ("cost", .number(p.cost)), ("contingency", .number(p.contingency)),
                         ("total", .number(p.total)), ("start_week", .number(p.start + 1)), ("end_week", .number(p.end)),
                         ("weeks", .number(p.weeks))])
            }
            try pushResult(c, [
                ("phases", .array(rows)), ("subtotal", .number(b.subtotal)), ("contingency", .number(b.contingency)),
                ("total", .number(b.total)), ("weeks", .number(b.weeks)), ("gantt", .string(Cost.gantt(b))),
            ], b.report())
            return 1
        }

        // MARK: report
        m.function("report", Doc(
            "A Markdown report of any cost calculation (or several).",
            signature: "cost.report(result or {results...}, {title = }) -> string",
            details: """
                result: a table returned by a cost function (memory, fits, train_time, cloud, budget, ...);
                the report has its settings, the itemized table with the formula or source of each line,
                the Gantt chart of a budget, and the notes. Several results become one document with a
                section each. A plain table of numbers and strings becomes a two-column table.
                """,
            returns: "Markdown text",
            errors: "an argument that is not a table.",
            example: smolLM + """

                local md = cost.report(cost.memory(smol, {method = "qlora", batch = 2, seq = 1024}), {title = "SmolLM2 QLoRA"})
                print(md:sub(1, 200))
                """)) { c in
            try c.checkTable(1, "result")
            let o = try c.options(2, allowed: ["title"])
            let title = try o.string("title")
            var parts: [Cost.Report] = []
            if let r = resultObject(c, 1) {
                parts = [r.report]
            } else if c.rawLen(1) > 0 {
                for k in 1...c.rawLen(1) {
                    lua_rawgeti(L, 1, lua_Integer(k))
                    defer { lp_pop(L, 1) }
                    if let r = resultObject(c, lua_gettop(L)) {
                        parts.append(r.report)
                    } else if c.type(-1) == LUA_TTABLE {
                        parts.append(try plainReport(c, lua_gettop(L), title: "item \(k)"))
                    } else {
                        throw c.argError(1, "result", "element \(k) is a \(c.typeName(-1)), not a cost result")
                    }
                }
            } else {
                parts = [try plainReport(c, 1, title: title ?? "cost")]
            }
            var out = ""
            if parts.count == 1 {
                let r = parts[0]
                out = title.map { "# \($0)\n\n" + r.markdown(level: 2) } ?? r.markdown(level: 1)
            } else {
                out = "# \(title ?? "Cost report")\n"
                for r in parts { out += "\n" + r.markdown(level: 2) }
            }
            c.push(out)
            return 1
        }

        // MARK: catalog / gpu
        m.function("catalog", Doc(
            "The GPU catalog in use (memory, bf16 TFLOP/s, bandwidth, on-demand and spot prices, source, date); or load another.",
            signature: "cost.catalog([path or rows], {merge = false}) -> table or nothing",
            details: """
                With no argument: the catalog's rows (it prints as a table). With a path (a CSV with the
                columns name, memory_gb, bf16_tflops, bandwidth_gbs, on_demand_usd_hr, spot_usd_hr,
                price_source, spec_source, date, notes; or a JSON array of such objects) or a Lua array of
                such tables: the catalog for this session (merge = true adds rows and replaces those with
                the same name). The shipped catalog is stdlib/lathe/data/gpus.csv (or $LATHE_GPU_CATALOG).
                Prices change: every row says where and when its price was read.
                """,
            returns: "without arguments, an array of GPU tables; with a catalog, nothing",
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
                """)) { c in
            if c.isNoneOrNil(1) {
                let gpus = try state.gpus()
                let rows: [LuaValue] = gpus.map(gpuValue)
                let report = Cost.Report(
                    title: "cost.catalog: \(gpus.count) GPUs (\(state.source))",
                    header: ["name", "memory", "bf16 TFLOP/s", "GB/s", "on demand", "spot", "date"],
                    rows: gpus.map { g in [g.name, Cost.formatNumber(g.memoryGB) + " GiB", Cost.formatNumber(g.tflops),
                                           Cost.formatNumber(g.bandwidthGBs), g.onDemand.map(Cost.formatMoney) ?? "-",
                                           g.spot.map(Cost.formatMoney) ?? "-", g.date] },
                    numeric: [1, 2, 3, 4, 5], notes: ["USD per GPU-hour; prices change, see each row's price_source."])
                var rep = report
                rep.textHeader = true
                try c.push(.array(rows))
                try attachReport(c, rep)
                return 1
            }
            let o = try c.options(2, allowed: ["merge"])
            var new: [Cost.GPU]
            var source: String
            if let path = c.string(1) {
                new = try Cost.loadCatalog(path: path)
                source = path
            } else if c.type(1) == LUA_TTABLE {
                new = []
                for k in 0..<c.rawLen(1) {
                    lua_rawgeti(L, 1, lua_Integer(k + 1))
                    defer { lp_pop(L, 1) }
                    guard case .record(let f) = try c.value(-1) else {
                        throw c.argError(1, "rows", "element \(k + 1) is not a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=}")
                    }
                    new.append(try Cost.gpu(from: costValues(f), source: "row \(k + 1)"))
                }
                source = "a Lua table"
            } else {
                throw c.argError(1, "catalog", expected: "a CSV/JSON path or an array of GPU tables")
            }
            if try o.bool("merge") ?? false {
                var cur = try state.gpus()
                for g in new {
                    if let i = cur.firstIndex(where: { $0.name.lowercased() == g.name.lowercased() }) { cur[i] = g } else { cur.append(g) }
                }
                state.catalog = cur
                state.source += " + " + source
            } else {
                state.catalog = new
                state.source = source
            }
            return 0
        }

        m.function("gpu", Doc(
            "One GPU of the catalog by name (case, spaces and dashes do not matter).",
            signature: "cost.gpu(name) -> table",
            returns: "a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=, on_demand_usd_hr=, spot_usd_hr=, price_source=, spec_source=, date=, notes=}",
            errors: "a name not in the catalog (the message lists the catalog).",
            example: """
                local g = cost.gpu("h100 sxm")
                print(g.name, g.memory_gb, g.bf16_tflops, g.bandwidth_gbs)
                """)) { c in
            let name = try c.checkString(1, "name")
            let g = try Cost.findGPU(name, in: try state.gpus())
            try c.push(gpuValue(g))
            return 1
        }
    }

    // MARK: - helpers

    /// The CostResult in the metatable of the table at idx, if any.
    static func resultObject(_ c: LuaCall, _ idx: Int32) -> CostResult? {
        let L = c.L
        guard lua_type(L, idx) == LUA_TTABLE, lua_getmetatable(L, idx) != 0 else { return nil }
        defer { lp_pop(L, 1) }
        c.push("__cost")
        lua_rawget(L, -2)
        defer { lp_pop(L, 1) }
        return c.object(-1, CostResult.self)
    }

    /// Sets a metatable with __tostring/__name/__cost on the table at the top of the stack.
    static func attachReport(_ c: LuaCall, _ report: Cost.Report) throws {
        let L = c.L
        lua_createtable(L, 0, 3)
        c.push("__tostring")
        c.push(registryKey)
        lua_rawget(L, lp_registryindex())
        lua_rawset(L, -3)
        c.push("__name")
        c.push("cost result")
        lua_rawset(L, -3)
        c.push("__cost")
        c.push(CostResult(report))
        lua_rawset(L, -3)
        lua_setmetatable(L, -2)
    }

    static func pushResult(_ c: LuaCall, _ fields: [(String, LuaValue)], _ report: Cost.Report) throws {
        try c.push(.record(fields))
        try attachReport(c, report)
    }

    static func num(_ x: Double) -> LuaValue {
        if x == x.rounded() && abs(x) < 9.0e15 { return .int(Int(x)) }
        return .number(x)
    }

    static func pushMemory(_ c: LuaCall, _ est: Cost.MemoryEstimate) throws {
        var fields: [(String, LuaValue)] = est.items.map { ($0.key, num($0.bytes)) }
        fields.append(("total", num(est.total)))
        try pushResult(c, fields, est.report())
    }

    static func gpuValue(_ g: Cost.GPU) -> LuaValue {
        .record([("name", .string(g.name)), ("memory_gb", .number(g.memoryGB)), ("bf16_tflops", .number(g.tflops)),
                 ("bandwidth_gbs", .number(g.bandwidthGBs)), ("on_demand_usd_hr", g.onDemand.map { .number($0) } ?? .nil),
                 ("spot_usd_hr", g.spot.map { .number($0) } ?? .nil), ("price_source", .string(g.priceSource)),
                 ("spec_source", .string(g.specSource)), ("date", .string(g.date)), ("notes", .string(g.notes))])
    }

    static func costValue(_ v: LuaValue) -> Cost.Value {
        switch v {
        case .nil: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .number(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(costValue))
        case .record(let r):
            var o: [String: Cost.Value] = [:]
            for (k, x) in r { o[k] = costValue(x) }
            return .object(o)
        case .object, .stackValue: return .null
        }
    }

    static func costValues(_ fields: [(String, LuaValue)]) -> [String: Cost.Value] {
        var o: [String: Cost.Value] = [:]
        for (k, v) in fields { o[k] = costValue(v) }
        return o
    }

    /// A config argument: a config.json path, a model folder, or a table.
    static func config(_ c: LuaCall, _ i: Int32) throws -> [String: Cost.Value] {
        if let path = c.string(i) { return try Cost.loadConfig(path: path) }
        if c.type(i) == LUA_TTABLE {
            switch try c.value(i) {
            case .record(let fields): return costValues(fields)
            default: throw c.argError(i, "config", "expected a table of config fields such as {model_type = \"llama\", hidden_size = 4096, ...}, got an array")
            }
        }
        throw c.argError(i, "config", expected: "a config.json path, a model folder or a table")
    }

    static func head(_ o: LuaOptions) throws -> Cost.Head? {
        guard let h = try o.string("head") else {
            if o.has("num_labels") { return .sequenceClassification(labels: try posInt(o, "num_labels") ?? 2) }
            return nil
        }
        switch h {
        case "base": return .base
        case "causal_lm": return .causalLM
        case "seq_cls": return .sequenceClassification(labels: try posInt(o, "num_labels") ?? 2)
        default: throw LuaError("bad option 'head' (expected one of \"causal_lm\", \"base\", \"seq_cls\", got \"\(h)\")")
        }
    }

    static func posInt(_ o: LuaOptions, _ key: String) throws -> Int? {
        guard let v = try o.int(key) else { return nil }
        if v < 1 { throw LuaError("bad option '\(key)' (expected a positive integer, got integer \(v))") }
        return v
    }

    static func dtypeOption(_ o: LuaOptions, _ key: String) throws -> Cost.DType? {
        guard let s = try o.string(key) else { return nil }
        guard let d = Cost.DType.parse(s) else {
            throw LuaError("bad option '\(key)' (expected one of \"fp32\", \"bf16\", \"fp16\", \"int8\", \"nf4\", got \"\(s)\")")
        }
        return d
    }

    static func methodOption(_ o: LuaOptions, default def: Cost.Method) throws -> Cost.Method {
        let s = try o.choice("method", Cost.Method.allCases.map { $0.rawValue }, def.rawValue)
        return Cost.Method(rawValue: s) ?? def
    }

    static func loraOptions(_ o: LuaOptions) throws -> Cost.LoRAOptions {
        var l = Cost.LoRAOptions()
        l.r = try posInt(o, "r") ?? 8
        switch try o.value("targets") {
        case .nil: l.targets = .default
        case .string(let s): l.targets = s.lowercased() == "all-linear" ? .allLinear : .regex(s)
        case .array(let a):
            var names: [String] = []
            for x in a {
                guard case .string(let s) = x else { throw LuaError("bad option 'targets' (expected layer names as strings, e.g. {\"q_proj\", \"v_proj\"})") }
                names.append(s)
            }
            l.targets = .names(names)
        case .record(let r) where r.isEmpty:
            throw LuaError("bad option 'targets' (empty: name the layers to adapt, e.g. {\"q_proj\", \"v_proj\"}, or \"all-linear\")")
        default:
            throw LuaError("bad option 'targets' (expected an array of layer names, \"all-linear\" or a regular expression)")
        }
        l.bias = try o.choice("bias", ["none", "all", "lora_only"], "none")
        l.dora = try o.bool("dora") ?? false
        l.modulesToSave = try o.stringArray("modules_to_save") ?? []
        return l
    }

    static func memoryOptions(_ o: LuaOptions, method: Cost.Method?) throws -> Cost.MemoryOptions {
        var mo = Cost.MemoryOptions()
        mo.method = try method ?? methodOption(o, default: .full)
        mo.dtype = try dtypeOption(o, "dtype")
        if let q = try dtypeOption(o, "quant") {
            guard q.isQuantized else { throw LuaError("bad option 'quant' (expected \"nf4\" or \"int8\", got \"\(q.rawValue)\")") }
            mo.quant = q
        }
        mo.doubleQuant = try o.bool("double_quant") ?? true
        mo.precision = Cost.Precision(rawValue: try o.choice("precision", Cost.Precision.allCases.map { $0.rawValue }, "mixed")) ?? .mixed
        mo.optimizer = Cost.Optimizer(rawValue: try o.choice("optimizer", Cost.Optimizer.allCases.map { $0.rawValue }, "adamw")) ?? .adamw
        mo.batch = try posInt(o, "batch") ?? 1
        mo.seq = try posInt(o, "seq")
        mo.gpus = try posInt(o, "gpus") ?? 1
        if let z = try o.int("zero") {
            if !(0...3).contains(z) { throw LuaError("bad option 'zero' (expected a ZeRO stage 0, 1, 2 or 3, got integer \(z))") }
            mo.zero = z
        }
        mo.checkpointing = try o.bool("checkpointing") ?? false
        mo.attention = Cost.Attention(rawValue: try o.choice("attention", ["sdpa", "eager"], "sdpa")) ?? .sdpa
        mo.kvDType = try dtypeOption(o, "kv_dtype")
        mo.lora = try loraOptions(o)
        return mo
    }

    /// A GPU argument: a catalog name or a table.
    static func gpuArg(_ c: LuaCall, _ i: Int32, _ state: CostState) throws -> Cost.GPU {
        if let name = c.string(i) { return try Cost.findGPU(name, in: try state.gpus()) }
        if c.type(i) == LUA_TTABLE, case .record(let f) = try c.value(i) {
            return try Cost.gpu(from: costValues(f), source: "gpu")
        }
        throw c.argError(i, "gpu", expected: "a GPU name from cost.catalog() or a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=}")
    }

    static func gpuOption(_ c: LuaCall, _ o: LuaOptions, _ key: String, _ state: CostState, required: Bool) throws -> Cost.GPU? {
        switch try o.value(key) {
        case .nil:
            if required { throw LuaError("missing '\(key)' (a GPU name from cost.catalog(), e.g. \"A100 80GB\", or a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=, on_demand_usd_hr=})") }
            return nil
        case .string(let s): return try Cost.findGPU(s, in: try state.gpus())
        case .record(let f): return try Cost.gpu(from: costValues(f), source: key)
        default: throw LuaError("bad option '\(key)' (expected a GPU name or table)")
        }
    }

    /// A plain table of numbers and strings as a two-column report.
    static func plainReport(_ c: LuaCall, _ idx: Int32, title: String) throws -> Cost.Report {
        guard case .record(let fields) = try c.value(idx) else {
            throw c.argError(1, "result", "expected a cost result or a table of named values")
        }
        var rows: [[String]] = []
        for (k, v) in fields {
            switch v {
            case .int(let i): rows.append([k, Cost.commas(i)])
            case .number(let x): rows.append([k, Cost.formatNumber(x)])
            case .string(let s): rows.append([k, s])
            case .bool(let b): rows.append([k, b ? "true" : "false"])
            default: continue
            }
        }
        return Cost.Report(title: title, header: ["item", "value"], rows: rows, numeric: [1])
    }
}
