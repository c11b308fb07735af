import Foundation

/// Training FLOPs and time at a stated model-FLOPs utilization, decode-speed bounds for
/// inference, projections from Lathe's own measured speed, and whether a job fits a GPU.
extension Cost {
    // MARK: FLOPs

    public struct FLOPs: Sendable {
        /// Model FLOPs per trained token (what MFU is measured against).
        public var perToken: Double
        /// Extra FLOPs per token spent recomputing activations (gradient checkpointing).
        public var recomputePerToken: Double
        public var matmulParams: Int
        public var attentionPerToken: Double
        public var trainable: Int
    }

    /// FLOPs per training token (PaLM, Chowdhery et al. 2022, appendix B): 6N + 12·L·H·Q·T
    /// for full training, N the parameters in matrix products (the output head included,
    /// embedding lookups not) and H·Q·T the attention width times the sequence. LoRA skips the
    /// frozen weights' gradients: 4N + 6·(adapter params) + the attention term.
    public static func trainingFLOPs(_ m: Model, method: Method, seq: Int, lora lc: LoRACount?,
                                     checkpointing: Bool) -> FLOPs {
        let a = m.arch
        let N = Double(m.matmulParams)
        let att = 12 * Double(a.layers) * Double(a.qWidth) * Double(seq)
        var per: Double
        var trainable = m.count
        switch method {
        case .full, .inference:
            per = 6 * N + att
        case .lora, .qlora:
            let T = Double(lc?.adapters ?? 0) + Double(lc?.saved ?? 0)
            per = 4 * N + 6 * T + att
            trainable = lc?.trainable ?? 0
        }
        let recompute = checkpointing ? 2 * N + att / 3 : 0
        return FLOPs(perToken: per, recomputePerToken: recompute, matmulParams: m.matmulParams,
                     attentionPerToken: att, trainable: trainable)
    }

    public struct TrainTimeOptions: Sendable {
        public var tokens: Double
        public var epochs: Double = 1
        public var method: Method = .full
        public var seq: Int? = nil
        public var gpus: Int = 1
        public var mfu: Double = 0.4
        public var checkpointing: Bool = false
        public var lora: LoRAOptions = LoRAOptions()
        public init(tokens: Double) { self.tokens = tokens }
    }

    public struct TrainTime: Sendable {
        public var flopsPerToken: Double
        public var totalFLOPs: Double
        public var hardwareFLOPs: Double
        public var seconds: Double
        public var tokens: Double
        public var gpu: GPU
        public var gpus: Int
        public var mfu: Double
        public var method: Method
        public var seq: Int
        public var costOnDemand: Double?
        public var costSpot: Double?
        public var params: Int
        public var trainable: Int
        public var hours: Double { seconds / 3600 }
        public var gpuHours: Double { hours * Double(gpus) }
        public var days: Double { seconds / 86400 }
    }

    public static func trainTime(_ m: Model, gpu: GPU, _ o: TrainTimeOptions) throws(LatheError) -> TrainTime {
        if !(o.tokens > 0 && o.tokens.isFinite) { throw LatheError("tokens must be a positive number (got \(formatNumber(o.tokens)))") }
        if !(o.epochs > 0 && o.epochs.isFinite) { throw LatheError("epochs must be a positive number (got \(formatNumber(o.epochs)))") }
        if !(o.mfu > 0 && o.mfu <= 1) { throw LatheError("mfu must be in (0, 1] (got \(formatNumber(o.mfu))); 0.3 to 0.5 is typical for training") }
        if o.gpus < 1 { throw LatheError("gpus must be a positive integer (got \(o.gpus))") }
        if o.method == .inference { throw LatheError("method must be \"full\", \"lora\" or \"qlora\" for training time (use cost.inference_speed for inference)") }
        let seq = o.seq ?? min(m.arch.maxPositions, 2048)
        if seq < 1 || seq > 1 << 24 { throw LatheError("seq must be a positive integer up to \(1 << 24) tokens (got \(seq))") }
        var lc: LoRACount? = nil
        if o.method == .lora || o.method == .qlora { lc = try lora(m, o.lora) }
        let f = trainingFLOPs(m, method: o.method, seq: seq, lora: lc, checkpointing: o.checkpointing)
        let tokens = o.tokens * o.epochs
        let total = f.perToken * tokens
        let seconds = total / (Double(o.gpus) * gpu.tflops * 1e12 * o.mfu)
        let gpuHours = seconds / 3600 * Double(o.gpus)
        try finite(seconds, "the training time")
        try finite(gpuHours * (gpu.onDemand ?? 0), "the cost")
        return TrainTime(flopsPerToken: f.perToken, totalFLOPs: total,
                         hardwareFLOPs: (f.perToken + f.recomputePerToken) * tokens, seconds: seconds,
                         tokens: tokens, gpu: gpu, gpus: o.gpus, mfu: o.mfu, method: o.method, seq: seq,
                         costOnDemand: gpu.onDemand.map { $0 * gpuHours }, costSpot: gpu.spot.map { $0 * gpuHours },
                         params: m.count, trainable: f.trainable)
    }

    // MARK: Inference speed

    public struct InferenceOptions: Sendable {
        public var dtype: DType? = nil
        public var batch: Int = 1
        public var context: Int? = nil
        public var mfu: Double = 0.5
        public var doubleQuant: Bool = true
        public var kvDType: DType? = nil
        public init() {}
    }

    public struct InferenceSpeed: Sendable {
        /// Decode tokens/s (all sequences of the batch) if reading weights and KV cache from
        /// memory were the only cost.
        public var memoryBound: Double
        /// Decode tokens/s if the matrix products were the only cost.
        public var computeBound: Double
        public var decode: Double { min(memoryBound, computeBound) }
        public var limitedBy: String { memoryBound <= computeBound ? "memory bandwidth" : "compute" }
        /// Prompt (prefill) tokens/s, compute bound.
        public var prefill: Double
        public var weightBytes: Double
        public var kvBytes: Double
        public var batch: Int
        public var context: Int
        public var gpu: GPU
        public var dtype: DType
        /// Milliseconds per generated token for one sequence.
        public var msPerToken: Double { 1000 * Double(batch) / decode }
    }

    /// Upper bounds on generation speed: every decode step reads all weights and the batch's
    /// KV cache from memory (tokens/s <= batch x bandwidth / bytes read) and performs
    /// 2N + 4·L·H·Q·context FLOPs per token (tokens/s <= peak x mfu / FLOPs).
    public static func inferenceSpeed(_ m: Model, gpu: GPU, _ o: InferenceOptions) throws(LatheError) -> InferenceSpeed {
        if !m.arch.isDecoder { throw LatheError("a \(m.arch.modelType) model is an encoder; decode speed applies to decoders (llama, gpt2, ...)") }
        if o.batch < 1 { throw LatheError("batch must be a positive integer (got \(o.batch))") }
        if !(o.mfu > 0 && o.mfu <= 1) { throw LatheError("mfu must be in (0, 1] (got \(formatNumber(o.mfu)))") }
        var mo = MemoryOptions()
        mo.method = .inference
        mo.dtype = o.dtype
        mo.batch = o.batch
        mo.seq = o.context ?? min(m.arch.maxPositions, 2048)
        mo.doubleQuant = o.doubleQuant
        mo.kvDType = o.kvDType
        let est = try memory(m, mo)
        let w = (est.bytes("weights") ?? 0) + (est.bytes("quantization") ?? 0)
        let kv = est.bytes("kv_cache") ?? 0
        let bw = gpu.bandwidthGBs * 1e9
        let memBound = Double(o.batch) * bw / (w + kv)
        let a = m.arch
        let ctx = Double(est.seq)
        let flopsDecode = 2 * Double(m.matmulParams) + 4 * Double(a.layers) * Double(a.qWidth) * ctx
        let peak = gpu.tflops * 1e12 * o.mfu
        let flopsPrefill = 2 * Double(m.matmulParams) + 2 * Double(a.layers) * Double(a.qWidth) * ctx
        return InferenceSpeed(memoryBound: memBound, computeBound: peak / flopsDecode, prefill: peak / flopsPrefill,
                              weightBytes: w, kvBytes: kv, batch: o.batch, context: est.seq, gpu: gpu, dtype: est.dtype)
    }

    // MARK: Projection from a measurement

    public struct Projection: Sendable {
        public var tokensPerSecond: Double
        public var seconds: Double
        public var tokens: Double
        public var cost: Double
        public var pricePerHour: Double
        public var scale: Double
        public var hours: Double { seconds / 3600 }
        public var days: Double { seconds / 86400 }
    }

    /// Projects time and cost from a measured speed: seconds = tokens x epochs / (tokens/s),
    /// optionally scaled to another model size (time grows with the parameters, 6N per token)
    /// and with an overhead fraction for evaluation and checkpoints.
    public static func project(measuredTokensPerSecond tps: Double, tokens: Double, epochs: Double = 1,
                               pricePerHour: Double = 0, measuredParams: Double? = nil,
                               targetParams: Double? = nil, overhead: Double = 0) throws(LatheError) -> Projection {
        if !(tps > 0 && tps.isFinite) { throw LatheError("measured_tokens_per_sec must be a positive number (got \(formatNumber(tps)))") }
        if !(tokens > 0 && tokens.isFinite) { throw LatheError("tokens must be a positive number (got \(formatNumber(tokens)))") }
        if !(epochs > 0 && epochs.isFinite) { throw LatheError("epochs must be a positive number (got \(formatNumber(epochs)))") }
        if pricePerHour < 0 || !pricePerHour.isFinite { throw LatheError("price_per_hour must be zero or positive (got \(formatNumber(pricePerHour)))") }
        if overhead < 0 || !overhead.isFinite { throw LatheError("overhead must be zero or positive (got \(formatNumber(overhead)))") }
        var scale = 1.0
        if let mp = measuredParams, let tp = targetParams {
            if !(mp > 0) || !(tp > 0) { throw LatheError("measured_params and params must be positive (got \(formatNumber(mp)) and \(formatNumber(tp)))") }
            scale = mp / tp
        } else if (measuredParams == nil) != (targetParams == nil) {
            throw LatheError("pass both measured_params (the model you timed) and params (the model to project), or neither")
        }
        let speed = tps * scale
        let seconds = tokens * epochs / speed * (1 + overhead)
        try finite(seconds, "the projected time")
        try finite(seconds / 3600 * pricePerHour, "the projected cost")
        return Projection(tokensPerSecond: speed, seconds: seconds, tokens: tokens * epochs,
                          cost: seconds / 3600 * pricePerHour, pricePerHour: pricePerHour, scale: scale)
    }

    // MARK: Fits

    public struct Fit: Sendable {
        public var fits: Bool
        public var maxBatch: Int
        public var memory: MemoryEstimate
        public var usable: Double
        public var perSample: Double
        public var fixed: Double
        public var gpu: GPU
        public var headroom: Double
    }

    /// Whether a job fits one GPU and the largest per-GPU batch that does. Memory is linear in
    /// the batch (activations, KV cache), so max batch = (usable - fixed) / per-sample bytes,
    /// with usable = GPU memory x (1 - headroom) for the CUDA context and fragmentation.
    /// The fraction of GPU memory `fits` keeps free for the CUDA context and fragmentation.
    public static let defaultHeadroom = 0.1

    public static func fits(_ m: Model, _ o: MemoryOptions, gpu: GPU, headroom: Double = defaultHeadroom) throws(LatheError) -> Fit {
        if !(headroom >= 0 && headroom < 1) { throw LatheError("headroom must be in [0, 1) (got \(formatNumber(headroom)))") }
        var o1 = o
        o1.batch = 1
        var o2 = o
        o2.batch = 2
        let m1 = try memory(m, o1).total
        let m2 = try memory(m, o2).total
        let per = m2 - m1
        let fixed = m1 - per
        let usable = gpu.memoryBytes * (1 - headroom)
        var maxBatch = 0
        if usable >= fixed + per {
            // capped at 2^20: beyond that the number means "no practical limit"
            let q = per > 0 ? ((usable - fixed) / per).rounded(.down) : .infinity
            maxBatch = q.isFinite ? Int(min(q, Double(1 << 20))) : 1 << 20
        }
        let est = try memory(m, o)
        return Fit(fits: est.total <= usable, maxBatch: maxBatch, memory: est, usable: usable,
                   perSample: per, fixed: fixed, gpu: gpu, headroom: headroom)
    }
}

// MARK: - Reports

extension Cost.TrainTime {
    public func report() -> Cost.Report {
        var rows: [[String]] = [
            ["tokens", Cost.formatNumber(tokens), "tokens x epochs"],
            ["FLOPs per token", Cost.formatNumber(flopsPerToken), method == .full ? "6N + 12·L·H·Q·T (PaLM)" : "4N + 6·adapters + 12·L·H·Q·T"],
            ["total FLOPs", String(format: "%.3g", totalFLOPs), "per token x tokens"],
            ["time", Cost.formatDuration(seconds), "FLOPs / (\(gpus) x \(Cost.formatNumber(gpu.tflops)) TFLOP/s x MFU \(Cost.formatNumber(mfu)))"],
            ["GPU-hours", Cost.formatNumber((gpuHours * 100).rounded() / 100), "hours x GPUs"],
        ]
        if let c = costOnDemand { rows.append(["cost on demand", Cost.formatMoney(c), "\(Cost.formatMoney(gpu.onDemand ?? 0))/GPU-hour (\(gpu.date))"]) }
        if let c = costSpot { rows.append(["cost spot", Cost.formatMoney(c), "\(Cost.formatMoney(gpu.spot ?? 0))/GPU-hour, no interruption overhead"]) }
        return Cost.Report(title: "cost.train_time: \(method.rawValue) on \(gpus) x \(gpu.name)",
                           facts: [["params", Cost.commas(params)], ["trainable", Cost.commas(trainable)], ["seq", Cost.commas(seq)]],
                           header: ["item", "value", "formula"], rows: rows, numeric: [1],
                           notes: ["FLOPs: Chowdhery et al. 2022 (PaLM), appendix B; MFU = model FLOPs / (time x peak). Recomputation (checkpointing) lowers the MFU a run reaches."])
    }
}

extension Cost.InferenceSpeed {
    public func report() -> Cost.Report {
        let rows: [[String]] = [
            ["decode", Cost.rate(decode), "limited by \(limitedBy)"],
            ["memory bound", Cost.rate(memoryBound), "batch x \(Cost.formatNumber(gpu.bandwidthGBs)) GB/s / (weights + KV cache)"],
            ["compute bound", Cost.rate(computeBound), "peak x MFU / (2N + 4·L·H·Q·context)"],
            ["prefill", Cost.rate(prefill), "compute bound"],
            ["per token", String(format: "%.2f ms", msPerToken), "one sequence"],
            ["weights", Cost.formatBytes(weightBytes), dtype.rawValue],
            ["KV cache", Cost.formatBytes(kvBytes), "\(batch) x \(Cost.commas(context)) tokens"],
        ]
        return Cost.Report(title: "cost.inference_speed: \(gpu.name), \(dtype.rawValue), batch \(batch)",
                           header: ["item", "value", "formula"], rows: rows, numeric: [1],
                           notes: ["Bounds, not measurements: real servers reach 60-80% of the bandwidth bound."])
    }
}

extension Cost.Projection {
    public func report() -> Cost.Report {
        var rows: [[String]] = [
            ["tokens", Cost.formatNumber(tokens), "tokens x epochs"],
            ["speed", Cost.rate(tokensPerSecond), scale == 1 ? "measured" : "measured x \(Cost.formatNumber(scale)) (model size)"],
            ["time", Cost.formatDuration(seconds), "tokens / speed x (1 + overhead)"],
        ]
        if pricePerHour > 0 { rows.append(["cost", Cost.formatMoney(cost), "\(Cost.formatMoney(pricePerHour)) per hour"]) }
        return Cost.Report(title: "cost.project", header: ["item", "value", "formula"], rows: rows, numeric: [1])
    }
}

extension Cost.Fit {
    public func report() -> Cost.Report {
        var r = memory.report()
        r.title = "cost.fits: \(fits ? "fits" : "does not fit") on \(gpu.name) (\(Cost.formatNumber(gpu.memoryGB)) GiB)"
        r.facts.append(["usable", Cost.formatBytes(usable) + " (\(Cost.formatPercent(1 - headroom)) of memory)"])
        r.facts.append(["max batch", maxBatch > 0 ? Cost.commas(maxBatch) : "none (batch 1 does not fit)"])
        return r
    }
}

extension Cost {
    /// Tokens per second: "948.7 tok/s", "147,375 tok/s".
    static func rate(_ x: Double) -> String {
        if !x.isFinite || x >= 1e15 { return String(format: "%.3g tok/s", x) }
        if x >= 10_000 { return commas(Int(x.rounded())) + " tok/s" }
        return String(format: "%.1f tok/s", x)
    }
}
