import Foundation

/// Text generation from a decoder LM with a key/value cache (each new token costs one
/// position of attention, not a full recomputation).
public struct GenerateOptions: Sendable {
    public var maxTokens = 64
    /// 0 = greedy.
    public var temperature: Double = 1
    public var topK = 0
    public var topP: Double = 1
    public var stopIds: Set<Int> = []
    /// Texts that end generation when the decoded output contains one (the text is cut
    /// before it); applied by text-level generation (`HF.generate`), which decodes.
    public var stopStrings: [String] = []
    public var seed: UInt64? = nil
    public init() {}
}

extension DecoderLM {
    /// Generates up to `maxTokens` new ids after `prompt`. `shouldStop` sees the generated ids
    /// so far (for stop strings); generation also ends at a stop id (not included) or the
    /// model's maximum length.
    public func generate(prompt: [Int], _ o: GenerateOptions, shouldStop: (([Int]) -> Bool)? = nil,
                         onToken: ((Int) -> Void)? = nil) throws(LatheError) -> [Int] {
        guard !prompt.isEmpty else { throw LatheError("generate: the prompt is empty") }
        for id in prompt where id < 0 || id >= config.vocab {
            throw LatheError("generate: token id \(id) is outside the vocabulary 0..\(config.vocab - 1)")
        }
        if o.maxTokens < 0 { throw LatheError("generate: max_tokens must be non-negative") }
        if o.temperature < 0 { throw LatheError("generate: temperature must be non-negative") }
        if o.topP <= 0 || o.topP > 1 { throw LatheError("generate: top_p must be in (0, 1], got \(o.topP)") }
        let room = config.maxSeq - prompt.count
        if room <= 0 { throw LatheError("generate: the prompt has \(prompt.count) tokens, the model's maximum is \(config.maxSeq)") }
        let wasTraining = training
        setTraining(false)
        defer { setTraining(wasTraining) }
        var rng = o.seed.map { RandomGenerator(seed: $0) } ?? Runtime.rng
        defer { if o.seed == nil { Runtime.rng = rng } }
        let steps = min(o.maxTokens, room)
        let caches = try makeCaches(maxLength: prompt.count + steps)
        var out: [Int] = []
        try Autograd.noGrad { () throws(LatheError) in
            var input = Tensor(int64s: prompt.map { Int64($0) }, shape: [1, prompt.count])
            for _ in 0..<steps {
                try Interrupt.check()
                // only the last position's logits are needed (the prompt's others are not computed)
                let h = try self.hidden(input, caches: caches)
                let hl = try h.select(1, h.shape[1] - 1)
                let logits: Tensor
                if let head { logits = try head(hl) } else { logits = try Tensor.linear(hl, embed.weight, nil) }
                let last = try logits.reshape([config.vocab]).contiguous()
                let next = DecoderLM.sample(last.toFloatArray(), o, rng: &rng)
                if o.stopIds.contains(next) { break }
                out.append(next)
                onToken?(next)
                if let shouldStop, shouldStop(out) { break }
                input = Tensor(int64s: [Int64(next)], shape: [1, 1])
            }
        }
        return out
    }

    static func sample(_ logits: [Float], _ o: GenerateOptions, rng: inout RandomGenerator) -> Int {
        if o.temperature == 0 {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return best
        }
        var idx = Array(0..<logits.count)
        let scaled = logits.map { Double($0) / o.temperature }
        idx.sort { scaled[$0] > scaled[$1] }
        if o.topK > 0 && o.topK < idx.count { idx = Array(idx.prefix(o.topK)) }
        let m = scaled[idx[0]]
        var probs = idx.map { Foundation.exp(scaled[$0] - m) }
        let z = probs.reduce(0, +)
        probs = probs.map { $0 / z }
        if o.topP < 1 {
            var acc = 0.0
            var keep = 0
            for p in probs {
                acc += p
                keep += 1
                if acc >= o.topP { break }
            }
            idx = Array(idx.prefix(keep))
            probs = Array(probs.prefix(keep))
            let z2 = probs.reduce(0, +)
            probs = probs.map { $0 / z2 }
        }
        let u = rng.uniform()
        var acc = 0.0
        for (k, p) in probs.enumerated() {
            acc += p
            if u < acc { return idx[k] }
        }
        return idx[probs.count - 1]
    }
}
