import CLua
import CLuaShim
import LatheCore

/// The `cost` module: will a job fit, how long will it take, what will it cost, when does it
/// pay back. This file holds the model arithmetic; money is in CostMoneyFunctions.swift, the
/// catalog and reports in CostCatalogFunctions.swift.
enum CostFunctions: LuaInstaller {
    typealias R = CostReaders
    typealias M = CostMoneyFunctions
    typealias K = CostCatalogFunctions

    static func install(_ vm: LuaVM) {
        LuaCall(L: vm.L).push(CostCatalogState())
        lua_setfield(vm.L, lp_registryindex(), R.catalogKey)
        vm.module("cost", summary: "Will it fit, how long, what will it cost: parameters, memory, time, cloud money, ROI, budgets.",
                  details: """
            Model arithmetic takes a Hugging Face config (a config.json path, a model folder or a Lua table) of a Llama-style
            decoder (llama, mistral, qwen2, qwen3, gemma, phi3), GPT-2 or a BERT-family encoder (bert, roberta, distilbert).
            Counts equal what transformers and PEFT report for the real checkpoints. Results are tables of named numbers that
            print as an itemized breakdown with the formula of every line; cost.report(result) gives Markdown. Money functions
            take one table of named quantities; a missing one is an error that says how to supply it. GPUs come from a catalog
            with dated prices (cost.catalog()).
            """)
            .add([params, loraParams, memory, fits, trainTime, inferenceSpeed, M.project, M.cloud, M.apiVsInHouse, M.roi, M.breakeven,
                  M.perMetricGain, M.budget, K.report, K.catalog, K.gpu])
    }

    static let smolLM = """
        local smol = {model_type = "llama", hidden_size = 576, intermediate_size = 1536, num_hidden_layers = 30,
          num_attention_heads = 9, num_key_value_heads = 3, vocab_size = 49152, tie_word_embeddings = true}

        """

    static let params = LuaFunc("params", "Exact parameter count of a Hugging Face model from its config.",
        params: [R.config], options: R.head,
        returns: "integer: the number of parameters",
        details: """
            Equal to transformers' model.num_parameters() (tied weights once) for the class `head` names. Published figures:
            GPT-2 small 124,439,808; bert-base-uncased 109,482,240; Llama-2-7b 6,738,415,616.
            """,
        errors: "an unknown model_type; a missing or non-positive field (the message lists the fields the family needs); an unreadable file.",
        example: """
            local gpt2 = {model_type = "gpt2", n_embd = 768, n_layer = 12, n_head = 12, vocab_size = 50257, n_positions = 1024}
            print(cost.params(gpt2))                      --> 124439808
            print(cost.params(gpt2, {head = "seq_cls"}))  --> 124441344
            """
    ) { c in
        c.push(try R.model(c, try c.opts()).count)
        return 1
    }

    static let loraParams = LuaFunc("lora_params", "LoRA trainable parameters for a rank and target layers, as PEFT's print_trainable_parameters reports them.",
        params: [R.config], options: R.lora.opts() + R.head,
        returns: "trainable, details: the trainable count, then {trainable=, all=, percent=, adapters=, dora=, biases=, saved=, modules=} that prints like PEFT",
        details: "Each adapted layer of in x out features adds r x (in + out); a seq_cls head trains in full (PEFT's modules_to_save).",
        errors: "a target that matches no layer (the message lists the model's layers); a model type without PEFT defaults and no targets.",
        example: smolLM + """
            print(cost.lora_params(smol, {r = 8, targets = {"q_proj", "v_proj"}}))   --> 460800 ...
            local n, info = cost.lora_params(smol, {r = 16, targets = "all-linear"})
            print(n, info.all, string.format("%.2f%%", info.percent))
            """
    ) { c in
        let o = try c.opts()
        var lo = Cost.LoRAOptions()
        try R.lora.read(o, into: &lo)
        let l = try Cost.lora(try R.model(c, o), lo)
        c.push(l.trainable)
        return 1 + (try R.push(c, "LoRACount", l.report(), [
            ("trainable", .int(l.trainable)), ("all", .int(l.all)), ("percent", .number(l.percent)), ("adapters", .int(l.adapters)),
            ("dora", .int(l.dora)), ("biases", .int(l.biases)), ("saved", .int(l.saved)), ("modules", .strings(l.targets.map(\.name)))]))
    }

    static let memory = LuaFunc("memory", "Memory for inference or training (full, LoRA, QLoRA), itemized: weights, gradients, optimizer, activations...",
        params: [R.config], options: ([R.method] + R.memory).opts() + R.lora.opts() + R.head,
        returns: "{weights=, ..., total=}: bytes per GPU (the fields depend on the method)",
        details: """
            NF4 is 0.5 B per weight plus an fp32 absmax per 64 weights (0.5 bit/param) or, double-quantized, 0.127 bit/param (QLoRA,
            Dettmers et al. 2023; equal to bitsandbytes' storage); LLM.int8 is 1 B plus an fp32 scale per row. The output head stays 16-bit.
            Full mixed-precision training with Adam keeps 2 + 2 + 4 + 8 = 16 B/param (ZeRO, Rajbhandari et al. 2020); LoRA keeps the
            adapters, their gradients and optimizer states in fp32 (PEFT's default). Activations: Korthikanti et al. 2022 (sbh(34 + 5as/h)
            per GPT layer), term by term as Hugging Face's modules keep them (equal to torch's saved tensors), plus fp32 logits for a
            causal LM. Inference: weights + KV cache (2 x layers x batch x context x kv heads x head_dim x bytes) + one layer's working set.
            """,
        errors: "a quantized dtype for full fine-tuning or LoRA; a seq longer than an encoder's positions.",
        example: smolLM + """
            local m = cost.memory(smol, {method = "lora", batch = 4, seq = 512})
            print(m)
            print(m.total > m.weights, m.activations > 0)
            print(cost.memory(smol, {method = "inference", dtype = "nf4", batch = 1, seq = 2048}).total)
            """
    ) { c in
        let o = try c.opts()
        let e = try Cost.memory(try R.model(c, o), try R.memory(o, [R.method] + R.memory))
        return try R.push(c, "MemoryEstimate", e.report(), R.memoryFields(e))
    }

    static let fits = LuaFunc("fits", "Does a job fit one GPU, and with what batch size?",
        params: [R.config, LuaParam("method", .choice(Cost.Method.allCases.map(\.rawValue)), "what runs, as cost.memory's method"), R.gpu],
        options: [LuaOpt("headroom", .number(min: 0, max: 1), .number(Cost.defaultHeadroom), "fraction of memory (below 1) kept free for the CUDA context")]
            + R.memory.opts() + R.lora.opts() + R.head,
        returns: "{fits=, max_batch=, memory=, usable=, needed=, per_sample=, gpu=}: fits at the given batch, the largest batch that fits (0: none), the cost.memory result, bytes",
        details: "Memory grows linearly with the batch, so max_batch = floor((usable - fixed) / bytes per sample); with gpus and zero, per GPU.",
        errors: "a GPU not in the catalog (the message lists the catalog); the errors of cost.memory.",
        example: smolLM + """
            local f = cost.fits(smol, "lora", "T4", {seq = 512})
            print(f.fits, f.max_batch)
            print(cost.fits(smol, "full", {name = "tiny", memory_gb = 1, bf16_tflops = 10, bandwidth_gbs = 100}).fits)
            """
    ) { c in
        let o = try c.opts()
        let gpu = try R.gpu(c, try c.value(3), "argument #3 'gpu'")
        var mo = try R.memory(o, R.memory)
        mo.method = Cost.Method(rawValue: try c.checkString(2, "method"))!
        let f = try Cost.fits(try R.model(c, o), mo, gpu: gpu, headroom: try o.number("headroom"))
        try R.push(c, "Fit", f.report(), [("fits", .bool(f.fits)), ("max_batch", .int(f.maxBatch)), ("usable", R.num(f.usable)),
                                          ("needed", R.num(f.memory.total)), ("per_sample", R.num(f.perSample)), ("gpu", .string(gpu.name))])
        try R.push(c, "MemoryEstimate", f.memory.report(), R.memoryFields(f.memory))
        lua_setfield(c.L, -2, "memory")
        return 1
    }

    static let trainFields: [CostField<Cost.TrainTimeOptions>] = [
        .number("epochs", \.epochs, kind: .number(min: 0, above: true), "passes over the tokens"),
        .choice("method", \.method, only: [.full, .lora, .qlora], "full fine-tuning, LoRA or QLoRA"),
        .seq(\.seq), .gpus(\.gpus),
        .number("mfu", \.mfu, kind: .number(min: 0, max: 1, above: true), "model-FLOPs utilization: the fraction of the peak a run reaches (0.3 to 0.5 is typical)"),
        .checkpointing(\.checkpointing),
    ]
    static let trainTime = LuaFunc("train_time", "Training time and GPU cost from FLOPs (about 6 x params x tokens plus attention) at a stated MFU.",
        params: [R.config, R.gpu],
        options: [R.amount("tokens", above: true, "the number of training tokens per epoch, e.g. {tokens = 50e6} (required)")]
            + trainFields.opts() + R.lora.opts() + R.head,
        returns: "{seconds=, hours=, days=, gpu_hours=, flops=, flops_per_token=, hardware_flops=, tokens=, cost_on_demand=, cost_spot=, gpu=, gpus=, mfu=}",
        details: """
            FLOPs per token (PaLM, Chowdhery et al. 2022, appendix B): 6N + 12·L·H·Q·T, N the weights in matrix products (the output
            head included, embedding lookups not), L layers, H·Q the attention width, T the sequence length; LoRA/QLoRA skip the frozen
            weights' gradients: 4N + 6·(adapter params) + the attention term. time = tokens x epochs x FLOPs per token / (gpus x peak
            bf16 FLOP/s x mfu); hardware_flops adds checkpointing's recomputation. Cost uses the catalog's price per GPU-hour.
            """,
        errors: "missing tokens; the errors of cost.memory's LoRA options.",
        example: smolLM + """
            local t = cost.train_time(smol, "A100 80GB", {tokens = 50e6, epochs = 3, method = "lora", seq = 1024})
            print(t)
            print(t.hours < 1, t.cost_on_demand > 0)
            """
    ) { c in
        let o = try c.opts()
        let gpu = try R.gpu(c, try c.value(2), "argument #2 'gpu'")
        var to = Cost.TrainTimeOptions(tokens: try R.required(o, "tokens"))
        try trainFields.read(o, into: &to)
        try R.lora.read(o, into: &to.lora)
        let t = try Cost.trainTime(try R.model(c, o), gpu: gpu, to)
        return try R.push(c, "TrainTime", t.report(), [
            ("seconds", .number(t.seconds)), ("hours", .number(t.hours)), ("days", .number(t.days)), ("gpu_hours", .number(t.gpuHours)),
            ("flops", .number(t.totalFLOPs)), ("flops_per_token", .number(t.flopsPerToken)), ("hardware_flops", .number(t.hardwareFLOPs)),
            ("tokens", .number(t.tokens)), ("cost_on_demand", R.opt(t.costOnDemand)), ("cost_spot", R.opt(t.costSpot)),
            ("gpu", .string(gpu.name)), ("gpus", .int(t.gpus)), ("mfu", .number(t.mfu))])
    }

    static let inferenceFields: [CostField<Cost.InferenceOptions>] = [
        .dtype("dtype", \.dtype, "the config's torch_dtype, else bf16", "weights: fp32, bf16, fp16, or int8/nf4 (bitsandbytes)"),
        .int("batch", \.batch, "sequences decoded together"),
        .int("context", \.context, "min(max positions, 2048)", "tokens in the KV cache"),
        .number("mfu", \.mfu, kind: .number(min: 0, max: 1, above: true), "fraction of the peak FLOP/s the matrix products reach"),
        .doubleQuant(\.doubleQuant), .kvDType(\.kvDType),
    ]
    static let inferenceSpeed = LuaFunc("inference_speed", "Upper bounds on generation speed: memory-bandwidth-bound decode, compute bound, prefill.",
        params: [R.config, R.gpu], options: inferenceFields.opts(),
        returns: "{decode=, memory_bound=, compute_bound=, prefill=, ms_per_token=, weights=, kv_cache=, limited_by=}: tokens/s, ms, bytes",
        details: """
            Each decode step reads every weight and the batch's KV cache, so tokens/s <= batch x bandwidth / (weight + KV cache bytes);
            it costs 2N + 4·L·H·Q·context FLOPs per token, so tokens/s <= peak x mfu / FLOPs. decode is the smaller; prefill (the
            prompt) is compute bound. Real servers reach roughly 60-80% of the bandwidth bound.
            """,
        errors: "an encoder config; the errors of cost.memory.",
        example: smolLM + """
            local s = cost.inference_speed(smol, "L4", {dtype = "bf16", context = 2048})
            print(s)
            print(s.limited_by, s.decode > 100)
            """
    ) { c in
        let o = try c.opts()
        let gpu = try R.gpu(c, try c.value(2), "argument #2 'gpu'")
        var io = Cost.InferenceOptions()
        try inferenceFields.read(o, into: &io)
        let s = try Cost.inferenceSpeed(try R.model(c, nil), gpu: gpu, io)
        return try R.push(c, "InferenceSpeed", s.report(), [
            ("decode", .number(s.decode)), ("memory_bound", .number(s.memoryBound)), ("compute_bound", .number(s.computeBound)),
            ("prefill", .number(s.prefill)), ("ms_per_token", .number(s.msPerToken)), ("weights", R.num(s.weightBytes)),
            ("kv_cache", R.num(s.kvBytes)), ("limited_by", .string(s.limitedBy))])
    }
}
