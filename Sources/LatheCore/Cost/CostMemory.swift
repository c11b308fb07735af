/// Memory estimates for inference and training (full fine-tuning, LoRA, QLoRA), each an
/// itemized breakdown whose formulas are stated next to the numbers.
///
/// Sources: ZeRO (Rajbhandari et al. 2020) for mixed-precision Adam, 2 + 2 + 12 bytes per
/// parameter and its sharding over data-parallel GPUs; QLoRA (Dettmers et al. 2023) for NF4
/// storage and double quantization; Korthikanti et al. 2022 ("Reducing Activation
/// Recomputation in Large Transformer Models") for activations, sbh(34 + 5as/h) per layer,
/// 2sbh with full recomputation, applied term by term to what Hugging Face's PyTorch modules
/// keep for backward (checked against torch's saved tensors in Tests/golden/cost).
extension Cost {
    public enum DType: String, Sendable, CaseIterable {
        case fp32, bf16, fp16, int8, nf4

        public static func parse(_ s: String) -> DType? {
            switch s.lowercased() {
            case "fp32", "float32", "float", "f32": return .fp32
            case "bf16", "bfloat16": return .bf16
            case "fp16", "float16", "half", "f16": return .fp16
            case "int8", "8bit", "llm.int8": return .int8
            case "nf4", "4bit", "int4": return .nf4
            default: return nil
            }
        }
        /// Bytes per element for the unquantized types.
        public var bytes: Int {
            switch self {
            case .fp32: return 4
            case .bf16, .fp16: return 2
            case .int8: return 1
            case .nf4: return 1   // storage is computed per tensor (half a byte + constants)
            }
        }
        public var isQuantized: Bool { self == .int8 || self == .nf4 }
    }

    public enum Method: String, Sendable, CaseIterable {
        case inference, full, lora, qlora
    }

    /// How a 16-bit full fine-tune keeps its weights.
    public enum Precision: String, Sendable, CaseIterable {
        /// ZeRO's mixed precision: 16-bit weights and gradients, fp32 master weights and
        /// optimizer states (2 + 2 + 12 = 16 bytes per parameter with Adam).
        case mixed
        /// PyTorch autocast (HF Trainer bf16/fp16=True on an fp32 model): fp32 weights and
        /// gradients plus the 16-bit copies autocast makes (4 + 2 + 4 + 8 = 18 bytes with Adam).
        case amp
        /// Everything in the 16-bit type, no fp32 copy (2 + 2 + 4 = 8 bytes with Adam).
        case pure
    }

    public enum Optimizer: String, Sendable, CaseIterable {
        case adamw, adam, adamw_8bit, paged_adamw_8bit, sgd, sgd_momentum, lion, adafactor
    }

    public enum Attention: String, Sendable, CaseIterable {
        /// Fused scaled-dot-product attention (flash / memory-efficient kernels; HF's default):
        /// keeps q, k, v, the output and the log-sum-exp, no s x s matrices.
        case sdpa
        /// Plain PyTorch attention: keeps the a x s x s score matrices.
        case eager
    }

    public struct MemoryOptions: Sendable {
        public var method: Method = .full
        /// Weight / compute type. Defaults: bf16 for training, the checkpoint's type (or bf16)
        /// for inference. For inference, int8 and nf4 quantize the linear layers.
        public var dtype: DType? = nil
        /// QLoRA's 4-bit (nf4) or 8-bit (int8) base weights.
        public var quant: DType = .nf4
        public var doubleQuant: Bool = true
        public var precision: Precision = .mixed
        public var optimizer: Optimizer = .adamw
        public var batch: Int = 1
        /// Sequence length (training) or context length in the KV cache (inference).
        public var seq: Int? = nil
        public var gpus: Int = 1
        public var zero: Int = 0
        public var checkpointing: Bool = false
        public var attention: Attention = .sdpa
        public var lora: LoRAOptions = LoRAOptions()
        /// Bytes per element of the KV cache (default: the compute type).
        public var kvDType: DType? = nil
        /// Bytes of a dropout mask element (1 on CUDA, where masks are bool).
        public var maskBytes: Int = 1
        /// Bytes of a LayerNorm mean/rstd element (fp32 on CUDA).
        public var statBytes: Int = 4
        public init() {}
    }

    /// One line of a breakdown.
    public struct Item: Sendable {
        public var key: String
        public var bytes: Double
        public var formula: String
    }

    public struct MemoryEstimate: Sendable {
        public var items: [Item]
        public var total: Double { items.reduce(0) { $0 + $1.bytes } }
        public var method: Method
        public var dtype: DType
        public var optimizer: Optimizer?
        public var precision: Precision?
        public var batch: Int
        public var seq: Int
        public var gpus: Int
        public var zero: Int
        public var checkpointing: Bool
        public var attention: Attention
        public var params: Int
        public var trainable: Int
        public var modelType: String
        public var lora: LoRACount?

        public func bytes(_ key: String) -> Double? { items.first { $0.key == key }?.bytes }
    }

    /// Storage of one NF4 tensor of n elements: packed 4-bit values (n/2 bytes), an fp32
    /// absmax per 64-value block, or with double quantization an 8-bit absmax per block plus
    /// an fp32 absmax per 256 blocks and one fp32 offset (bitsandbytes' layout).
    public static func nf4Bytes(_ n: Int, doubleQuant: Bool) -> (packed: Int, constants: Int) {
        let packed = (n + 1) / 2
        let blocks = (n + 63) / 64
        if !doubleQuant { return (packed, blocks * 4) }
        return (packed, blocks + ((blocks + 255) / 256) * 4 + 4)
    }

    /// LLM.int8 storage of a Linear(in, out): one byte per weight and an fp32 scale per row.
    public static func int8Bytes(rows: Int, cols: Int) -> (packed: Int, constants: Int) {
        (rows * cols, rows * 4)
    }

    /// Bytes of the model weights in `dtype`; for int8/nf4 the linear layers (not the output
    /// head) are quantized and the rest stays in `compute`.
    static func weightBytes(_ m: Model, _ dtype: DType, compute: DType, doubleQuant: Bool)
        -> (weights: Double, constants: Double, quantizedParams: Int)
    {
        if !dtype.isQuantized { return (Double(m.count * dtype.bytes), 0, 0) }
        var w = 0, c = 0, q = 0
        for mod in m.modules {
            if mod.isLinearLike && !mod.isHead && mod.tiedTo == nil {
                let n = mod.weightCount
                let s = dtype == .nf4 ? nf4Bytes(n, doubleQuant: doubleQuant)
                                      : int8Bytes(rows: mod.outFeatures, cols: mod.inFeatures)
                w += s.packed
                c += s.constants
                q += n
                w += mod.biasCount * compute.bytes
            } else {
                w += mod.ownCount * compute.bytes
            }
        }
        return (Double(w), Double(c), q)
    }

    /// Optimizer state bytes for tensors with the given element counts (and 2-D shapes for
    /// Adafactor). `stateBytes` is 4 for fp32 states, 2 for pure 16-bit training.
    static func optimizerBytes(_ o: Optimizer, tensors: [(count: Int, rows: Int, cols: Int)], stateBytes: Int) -> Double {
        var total = 0.0
        for t in tensors {
            let n = Double(t.count)
            switch o {
            case .adam, .adamw: total += 2 * n * Double(stateBytes)
            case .sgd: break
            case .sgd_momentum, .lion: total += n * Double(stateBytes)
            case .adamw_8bit, .paged_adamw_8bit:
                // bitsandbytes: two 8-bit states with an fp32 absmax per 256-value block; tensors
                // under 4096 elements keep 32-bit states
                if t.count < 4096 { total += 8 * n } else { total += 2 * n + 2 * 4 * Double((t.count + 255) / 256) }
            case .adafactor:
                // factored second moment (row and column means) for matrices, full for vectors;
                // no first moment (HF's default beta1 = None)
                if t.rows > 1 && t.cols > 1 { total += Double(t.rows + t.cols) * Double(stateBytes) } else { total += n * Double(stateBytes) }
            }
        }
        return total
    }

    static func optimizerNote(_ o: Optimizer, stateBytes: Int) -> String {
        switch o {
        case .adam, .adamw: return "2 states x \(stateBytes) B (momentum, variance)"
        case .sgd: return "no state"
        case .sgd_momentum: return "momentum, \(stateBytes) B"
        case .lion: return "momentum, \(stateBytes) B"
        case .adamw_8bit, .paged_adamw_8bit: return "2 x 1 B states + fp32 absmax per 256 (bitsandbytes)"
        case .adafactor: return "factored 2nd moment: (rows + cols) x \(stateBytes) B per matrix"
        }
    }

    /// The estimate for one configuration (per GPU when `gpus` > 1).
    public static func memory(_ m: Model, _ o: MemoryOptions) throws(LatheError) -> MemoryEstimate {
        if o.batch < 0 || o.batch > 1 << 24 { throw LatheError("batch must be a positive integer up to \(1 << 24) (got \(o.batch))") }
        if o.gpus < 1 { throw LatheError("gpus must be a positive integer (got \(o.gpus))") }
        if !(0...3).contains(o.zero) { throw LatheError("zero must be a ZeRO stage 0, 1, 2 or 3 (got \(o.zero))") }
        let a = m.arch
        let seq = o.seq ?? min(a.maxPositions, 2048)
        if seq < 1 || seq > 1 << 24 { throw LatheError("seq must be a positive integer up to \(1 << 24) tokens (got \(seq))") }
        if !a.isDecoder && seq > a.maxPositions {
            throw LatheError("seq \(seq) is longer than this \(a.modelType) model's \(a.maxPositions) positions")
        }
        let P = m.count
        let N = Double(o.gpus)
        func shard(_ x: Double, _ stage: Int) -> Double { o.zero >= stage ? x / N : x }
        let zNote = o.zero > 0 && o.gpus > 1 ? " / \(o.gpus) GPUs" : ""
        var items: [Item] = []
        var trainable = 0
        var loraCount: LoRACount? = nil
        let dtype: DType

        switch o.method {
        case .inference:
            dtype = o.dtype ?? DType.parse(a.defaultDType ?? "bf16") ?? .bf16
            let compute: DType = dtype.isQuantized ? .bf16 : dtype
            let w = weightBytes(m, dtype, compute: compute, doubleQuant: o.doubleQuant)
            switch dtype {
            case .nf4:
                items.append(Item(key: "weights", bytes: w.weights, formula: "NF4: 0.5 B x \(commas(w.quantizedParams)) linear params; rest \(compute.rawValue)"))
                items.append(Item(key: "quantization", bytes: w.constants, formula: o.doubleQuant ? "double-quantized absmax: ~0.127 bit/param (QLoRA)" : "fp32 absmax per 64 weights: 0.5 bit/param"))
            case .int8:
                items.append(Item(key: "weights", bytes: w.weights, formula: "int8: 1 B x \(commas(w.quantizedParams)) linear params; rest \(compute.rawValue)"))
                items.append(Item(key: "quantization", bytes: w.constants, formula: "fp32 scale per output row (LLM.int8)"))
            default:
                items.append(Item(key: "weights", bytes: w.weights, formula: "\(dtype.bytes) B x \(commas(P)) params"))
            }
            let kvE = (o.kvDType ?? compute).bytes
            if a.isDecoder {
                let kv = 2 * Double(a.layers) * Double(o.batch) * Double(seq) * Double(a.kvWidth) * Double(kvE)
                items.append(Item(key: "kv_cache", bytes: kv, formula: "2 x \(a.layers) layers x \(o.batch) x \(seq) tokens x \(a.kvWidth) (kv heads x head_dim) x \(kvE) B"))
            }
            let e = Double(compute.bytes)
            let inner = Double(a.gated ? 2 * a.intermediate : a.intermediate)
            var act = e * Double(o.batch) * Double(seq) * (2 * Double(a.hidden) + inner)
            var note = "\(Int(e)) B x b x s x (2h + \(a.gated ? "2i" : "i")): one layer's working set"
            if a.isDecoder {
                act += 4 * Double(o.batch) * Double(a.vocab)
                note += " + fp32 logits of the last token"
            }
            items.append(Item(key: "activations", bytes: act, formula: note))

        case .full:
            dtype = o.dtype ?? .bf16
            if dtype.isQuantized {
                throw LatheError("full fine-tuning needs fp32, bf16 or fp16 weights (got \(dtype.rawValue); use method = \"qlora\" for quantized weights)")
            }
            trainable = P
            let Pd = Double(P)
            let tensors = m.parameters.map { p in (p.count, p.shape.first ?? 1, p.shape.count > 1 ? p.shape[1] : 1) }
            if dtype == .fp32 {
                items.append(Item(key: "weights", bytes: shard(4 * Pd, 3), formula: "4 B x params\(o.zero >= 3 ? zNote : "")"))
                items.append(Item(key: "gradients", bytes: shard(4 * Pd, 2), formula: "4 B x params\(o.zero >= 2 ? zNote : "")"))
                items.append(Item(key: "optimizer", bytes: shard(optimizerBytes(o.optimizer, tensors: tensors, stateBytes: 4), 1),
                                  formula: optimizerNote(o.optimizer, stateBytes: 4) + (o.zero >= 1 ? zNote : "")))
            } else {
                let e = Double(dtype.bytes)
                switch o.precision {
                case .mixed:
                    items.append(Item(key: "weights", bytes: shard(e * Pd, 3), formula: "\(Int(e)) B x params (\(dtype.rawValue))\(o.zero >= 3 ? zNote : "")"))
                    items.append(Item(key: "gradients", bytes: shard(e * Pd, 2), formula: "\(Int(e)) B x params\(o.zero >= 2 ? zNote : "")"))
                    items.append(Item(key: "master_weights", bytes: shard(4 * Pd, 1), formula: "4 B x params (fp32 copy)\(o.zero >= 1 ? zNote : "")"))
                    items.append(Item(key: "optimizer", bytes: shard(optimizerBytes(o.optimizer, tensors: tensors, stateBytes: 4), 1),
                                      formula: optimizerNote(o.optimizer, stateBytes: 4) + (o.zero >= 1 ? zNote : "")))
                case .amp:
                    items.append(Item(key: "weights", bytes: shard(4 * Pd, 3), formula: "4 B x params (fp32)\(o.zero >= 3 ? zNote : "")"))
                    items.append(Item(key: "weight_copies", bytes: shard(e * Pd, 3), formula: "\(Int(e)) B x params (autocast \(dtype.rawValue) copies)\(o.zero >= 3 ? zNote : "")"))
                    items.append(Item(key: "gradients", bytes: shard(4 * Pd, 2), formula: "4 B x params (fp32)\(o.zero >= 2 ? zNote : "")"))
                    items.append(Item(key: "optimizer", bytes: shard(optimizerBytes(o.optimizer, tensors: tensors, stateBytes: 4), 1),
                                      formula: optimizerNote(o.optimizer, stateBytes: 4) + (o.zero >= 1 ? zNote : "")))
                case .pure:
                    items.append(Item(key: "weights", bytes: shard(e * Pd, 3), formula: "\(Int(e)) B x params\(o.zero >= 3 ? zNote : "")"))
                    items.append(Item(key: "gradients", bytes: shard(e * Pd, 2), formula: "\(Int(e)) B x params\(o.zero >= 2 ? zNote : "")"))
                    items.append(Item(key: "optimizer", bytes: shard(optimizerBytes(o.optimizer, tensors: tensors, stateBytes: dtype.bytes), 1),
                                      formula: optimizerNote(o.optimizer, stateBytes: dtype.bytes) + (o.zero >= 1 ? zNote : "")))
                }
            }
            items.append(activationItem(m, o, seq: seq, e: dtype.bytes))

        case .lora, .qlora:
            let lc = try lora(m, o.lora)
            loraCount = lc
            trainable = lc.trainable
            let compute: DType
            if o.method == .lora {
                dtype = o.dtype ?? .bf16
                if dtype.isQuantized {
                    throw LatheError("LoRA keeps the base in fp32, bf16 or fp16 (got \(dtype.rawValue); use method = \"qlora\" for a quantized base)")
                }
                compute = dtype
                items.append(Item(key: "weights", bytes: shard(Double(P * dtype.bytes), 3), formula: "\(dtype.bytes) B x \(commas(P)) frozen params\(o.zero >= 3 ? zNote : "")"))
            } else {
                compute = o.dtype ?? .bf16
                if compute.isQuantized {
                    throw LatheError("for QLoRA, dtype is the compute type (bf16, fp16 or fp32); choose the storage with quant = \"nf4\" or \"int8\"")
                }
                guard o.quant.isQuantized else {
                    throw LatheError("quant must be \"nf4\" or \"int8\" (got \(o.quant.rawValue))")
                }
                dtype = o.quant
                let w = weightBytes(m, o.quant, compute: compute, doubleQuant: o.doubleQuant)
                let what = o.quant == .nf4 ? "NF4: 0.5 B" : "int8: 1 B"
                items.append(Item(key: "weights", bytes: shard(w.weights, 3), formula: "\(what) x \(commas(w.quantizedParams)) linear params; rest \(compute.rawValue)\(o.zero >= 3 ? zNote : "")"))
                items.append(Item(key: "quantization", bytes: shard(w.constants, 3),
                                  formula: o.quant == .int8 ? "fp32 scale per output row (LLM.int8)" : (o.doubleQuant ? "double-quantized absmax: ~0.127 bit/param (QLoRA)" : "fp32 absmax per 64 weights: 0.5 bit/param")))
            }
            // PEFT keeps adapters (and saved modules) in fp32 (autocast_adapter_dtype)
            let copies = lc.adapters + lc.dora + lc.saved
            items.append(Item(key: "adapters", bytes: shard(Double(4 * copies), 3), formula: "4 B x \(commas(copies)) adapter params (fp32)\(o.zero >= 3 ? zNote : "")"))
            items.append(Item(key: "gradients", bytes: shard(Double(4 * lc.trainable), 2), formula: "4 B x \(commas(lc.trainable)) trainable\(o.zero >= 2 ? zNote : "")"))
            var tensors: [(Int, Int, Int)] = []
            for t in lc.targetModules {
                tensors.append((o.lora.r * t.inFeatures, o.lora.r, t.inFeatures))
                tensors.append((t.outFeatures * o.lora.r, t.outFeatures, o.lora.r))
                if o.lora.dora { tensors.append((t.outFeatures, t.outFeatures, 1)) }
            }
            for name in lc.savedModules {
                if let mod = m.modules.first(where: { $0.name == name }) {
                    let s = mod.weightShape
                    tensors.append((mod.weightCount, s[0], s.count > 1 ? s[1] : 1))
                    if mod.bias { tensors.append((mod.biasCount, mod.biasCount, 1)) }
                }
            }
            if lc.biases > 0 { tensors.append((lc.biases, lc.biases, 1)) }
            items.append(Item(key: "optimizer", bytes: shard(optimizerBytes(o.optimizer, tensors: tensors, stateBytes: 4), 1),
                              formula: optimizerNote(o.optimizer, stateBytes: 4) + " on trainable" + (o.zero >= 1 ? zNote : "")))
            items.append(activationItem(m, o, seq: seq, e: compute.bytes))
        }
        try finite(items.reduce(0) { $0 + $1.bytes }, "the memory for batch \(o.batch) x seq \(seq)")
        return MemoryEstimate(items: items, method: o.method, dtype: dtype,
                              optimizer: o.method == .inference ? nil : o.optimizer,
                              precision: o.method == .full && dtype != .fp32 ? o.precision : nil,
                              batch: o.batch, seq: seq, gpus: o.gpus, zero: o.zero,
                              checkpointing: o.checkpointing, attention: o.attention,
                              params: P, trainable: trainable, modelType: a.modelType, lora: loraCount)
    }

    static func activationItem(_ m: Model, _ o: MemoryOptions, seq: Int, e: Int) -> Item {
        let act = activations(m, batch: o.batch, seq: seq, e: e, attention: o.attention,
                              checkpointing: o.checkpointing, maskBytes: o.maskBytes, statBytes: o.statBytes)
        let formula: String
        if o.checkpointing {
            formula = "checkpointing: \(e) B x sbh per layer (inputs) + one layer recomputed + head; s=\(seq), b=\(o.batch)"
        } else if m.arch.family == .gpt2 || m.arch.family == .bert || m.arch.family == .distilbert, o.attention == .eager {
            formula = "Korthikanti: sbh(34 + 5as/h) per layer as HF keeps it; s=\(seq), b=\(o.batch)"
        } else {
            formula = "per layer: what HF keeps for backward (Korthikanti's terms); s=\(seq), b=\(o.batch)"
        }
        return Item(key: "activations", bytes: act.total, formula: formula)
    }

    /// Bytes saved for backward by one training forward pass.
    public struct Activations: Sendable {
        public var perLayer: Double
        public var outside: Double
        public var total: Double
    }

    /// Activation memory: per transformer layer, the tensors autograd keeps (Korthikanti et
    /// al.'s accounting, term by term as Hugging Face's modules store them), times the
    /// layers, plus what lives outside the layers (embeddings, final norm, fp32 logits for the
    /// loss). With checkpointing only each layer's input is kept, plus one layer recomputed.
    /// `maskBytes`/`statBytes`: dropout-mask and LayerNorm-statistic element sizes (1 and 4
    /// on CUDA; a CPU keeps both in the activation type).
    public static func activations(_ m: Model, batch b: Int, seq s: Int, e: Int, attention: Attention,
                                   checkpointing: Bool = false, maskBytes mb: Int = 1, statBytes st: Int = 4) -> Activations {
        let a = m.arch
        let B = Double(b), S = Double(s), E = Double(e), M = Double(mb), ST = Double(st)
        let sb = S * B
        let h = Double(a.hidden), i = Double(a.intermediate)
        let hq = Double(a.qWidth), hkv = Double(a.kvWidth), heads = Double(a.heads)
        let as2b = heads * S * S * B
        func norm() -> Double {
            switch a.norm {
            case .layerNorm: return E * sb * h + 2 * ST * sb                 // input + mean, rstd
            case .rmsNorm: return 4 * sb * h + E * sb * h + 4 * sb           // fp32 input, normalized, rsqrt
            case .gemmaRMSNorm: return 8 * sb * h + 4 * sb + 4 * h           // fp32 input and normalized, rsqrt, fp32 (1 + w)
            }
        }
        var layer = 0.0
        layer += norm()                  // first norm of the block
        layer += E * sb * h              // q/k/v projection input
        switch attention {
        case .sdpa:
            layer += E * sb * (hq + 2 * hkv)     // q, k, v
            layer += E * sb * hq + 4 * B * heads * S   // output (also the o_proj input) + log-sum-exp
            if a.fusedQKV { layer += E * sb * hq }     // Phi-3 copies the output before o_proj
        case .eager:
            layer += 3 * E * sb * hq             // q, k, v (k and v repeated to all heads)
            if a.family == .llama {
                layer += 4 * as2b + E * as2b     // fp32 softmax, cast back
            } else {
                layer += E * as2b                // softmax output
            }
            if a.attentionDropout > 0 { layer += M * as2b + E * as2b }   // mask, dropped probabilities
            layer += E * sb * hq                 // o_proj input
        }
        if a.qkNorm {                            // qwen3 RMSNorm on q and k
            layer += (4 + E) * sb * (hq + hkv) + 4 * sb * Double(a.heads + a.kvHeads)
        }
        let residualMasks = a.family == .distilbert ? 1.0 : 2.0
        if a.hiddenDropout > 0 { layer += residualMasks * M * sb * h }
        layer += norm()                  // second norm
        layer += E * sb * h              // MLP input
        if a.gated {
            layer += 4 * E * sb * i      // gate, act(gate), up, product
        } else if a.activation == "gelu_new" {
            layer += 5 * E * sb * i      // HF's Python tanh-GELU keeps four intermediates + output
        } else {
            layer += 2 * E * sb * i      // activation input and output
        }

        // outside the layers
        var outside = 0.0
        switch a.family {
        case .llama:
            outside += norm()                                       // final norm
            outside += E * sb * h                                   // head input
            outside += 2 * E * S * Double(a.headDim)                // RoPE cos, sin
            if a.embeddingDropout > 0 { outside += M * sb * h }
        case .gpt2:
            if a.embeddingDropout > 0 { outside += M * sb * h }
            outside += norm() + E * sb * h
        case .bert, .distilbert:
            outside += norm()                                       // embedding LayerNorm
            if a.embeddingDropout > 0 { outside += M * sb * h }
            // the pooler (BERT, AutoModel) and DistilBERT's head read the first token as a view of
            // the last hidden state, which keeps it; RoBERTa's head applies dropout first
            if !(a.modelType == "roberta" && m.head != .base) { outside += E * sb * h }
        }
        if m.head == .causalLM {
            outside += 4 * sb * Double(a.vocab)                     // fp32 logits kept by the loss
        } else if case .sequenceClassification = m.head {
            outside += 5 * E * B * h                                // the head's few b x h tensors
        }
        outside += 16 * sb                                          // token ids and labels
        let L = Double(a.layers)
        let total: Double
        if checkpointing {
            total = L * E * sb * h + layer + outside
        } else {
            total = L * layer + outside
        }
        return Activations(perLayer: layer, outside: outside, total: total)
    }
}


extension Cost.MemoryEstimate {
    /// The printable breakdown.
    public func report() -> Cost.Report {
        let what: String
        switch method {
        case .inference: what = "inference"
        case .full: what = "full fine-tuning"
        case .lora: what = "LoRA fine-tuning"
        case .qlora: what = "QLoRA fine-tuning"
        }
        var facts: [[String]] = [["model", "\(modelType), \(Cost.commas(params)) params"]]
        facts.append(["dtype", dtype.rawValue])
        if let precision { facts.append(["precision", precision.rawValue]) }
        if let optimizer { facts.append(["optimizer", optimizer.rawValue]) }
        if method == .inference {
            facts.append(["batch x context", "\(batch) x \(Cost.commas(seq))"])
        } else {
            facts.append(["batch x seq", "\(batch) x \(Cost.commas(seq))"])
            facts.append(["trainable", Cost.commas(trainable)])
            facts.append(["attention", attention.rawValue])
            if checkpointing { facts.append(["checkpointing", "on"]) }
        }
        if gpus > 1 || zero > 0 { facts.append(["GPUs", "\(gpus), ZeRO stage \(zero) (bytes per GPU)"]) }
        var rows = items.map { [$0.key, Cost.formatBytes($0.bytes), $0.formula] }
        rows.append(["total", Cost.formatBytes(total), gpus > 1 ? "per GPU" : ""])
        var notes: [String] = []
        switch method {
        case .inference:
            notes.append("Weights: bytes per parameter of the type; int8/nf4 quantize the linear layers (bitsandbytes), the output head and embeddings stay 16-bit.")
            notes.append("KV cache: 2 (keys and values) x layers x batch x tokens x kv heads x head_dim x bytes.")
        case .full:
            notes.append("ZeRO (Rajbhandari et al. 2020): mixed-precision Adam keeps 2 + 2 + 12 = 16 bytes per parameter; stages 1/2/3 shard optimizer states, gradients, weights over the GPUs.")
            notes.append("Activations: Korthikanti et al. 2022, sbh(34 + 5as/h) bytes per layer (2sbh with full recomputation), term by term as Hugging Face's modules keep them.")
        case .lora, .qlora:
            notes.append("Adapters, their gradients and optimizer states in fp32 (PEFT's default); the frozen base needs no gradients or optimizer states.")
            if method == .qlora { notes.append("QLoRA (Dettmers et al. 2023): NF4 is 0.5 B per weight plus an absmax per 64 weights: 32/64 = 0.5 bit, or 8/64 + 32/(64 x 256) = 0.127 bit double-quantized.") }
            notes.append("Activations: Korthikanti et al. 2022 accounting (an upper bound for LoRA: frozen layers need not keep their inputs).")
        }
        return Cost.Report(title: "cost.memory: \(what)", facts: facts, header: ["item", "bytes", "formula"],
                           rows: rows, numeric: [1], notes: notes)
    }
}
