import Foundation
import Testing
import LatheCore

/// The cost calculators against the reference libraries: transformers' parameter counts and
/// parameter names, PEFT's trainable counts, bitsandbytes' quantized storage and torch's
/// saved activations (Tests/golden/cost/golden.json, made by scripts/golden/cost.py), plus
/// published figures and hand-checked money examples.
// errorMessage(_:) is shared: Tests/LatheCoreTests/FormatsTests.swift

@Suite struct CostTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let goldenDir = root.appendingPathComponent("golden/cost")

    static func golden() throws -> [String: Any] {
        let data = try Data(contentsOf: goldenDir.appendingPathComponent("golden.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func config(_ name: String, _ override: [String: Cost.Value] = [:]) throws -> [String: Cost.Value] {
        var c = try Cost.loadConfig(path: goldenDir.appendingPathComponent("configs/\(name).json").path)
        for (k, v) in override { c[k] = v }
        return c
    }

    static func value(_ any: Any) -> Cost.Value {
        switch any {
        case let n as NSNumber:
            let t = String(cString: n.objCType)
            if t == "c" { return .bool(n.boolValue) }
            if t == "d" || t == "f" { return .double(n.doubleValue) }
            return .int(n.intValue)
        case let s as String: return .string(s)
        default: return .null
        }
    }

    static func head(_ name: String) -> Cost.Head {
        switch name {
        case "base": return .base
        case "causal_lm": return .causalLM
        default: return .sequenceClassification(labels: 2)
        }
    }

    // MARK: parameter counts

    @Test func publishedParameterCounts() throws {
        let published: [String: Int] = [
            "gpt2": 124_439_808, "gpt2-medium": 354_823_168, "bert-base-uncased": 109_482_240,
            "all-MiniLM-L6-v2": 22_713_216, "roberta-base": 124_645_632, "distilbert-base-uncased": 66_362_880,
            "SmolLM2-135M": 134_515_008, "Llama-2-7b-hf": 6_738_415_616, "Mistral-7B-v0.1": 7_241_732_096,
            "Qwen2-0.5B": 494_032_768, "TinyLlama-1.1B-Chat-v1.0": 1_100_048_384, "Meta-Llama-3-8B": 8_030_261_248,
            "Qwen3-0.6B": 596_049_920, "gemma-2b": 2_506_172_416, "Phi-3-mini-4k-instruct": 3_821_079_552,
        ]
        for (name, n) in published {
            let m = try Cost.model(try Self.config(name))
            #expect(m.count == n, "\(name)")
        }
    }

    @Test func countsEqualTransformersForEveryHead() throws {
        let g = try Self.golden()
        let params = g["params"] as! [String: [String: Int]]
        #expect(params.count == 15)
        for (name, row) in params {
            for (kind, n) in row {
                let m = try Cost.model(try Self.config(name), head: Self.head(kind))
                #expect(m.count == n, "\(name) \(kind)")
            }
        }
    }

    @Test func parameterNamesAndShapesEqualTransformers() throws {
        let g = try Self.golden()
        let inv = g["inventory"] as! [String: [[Any]]]
        for (name, rows) in inv {
            let m = try Cost.model(try Self.config(name))
            var want: [String: [Int]] = [:]
            for r in rows { want[r[0] as! String] = r[1] as? [Int] }
            var got: [String: [Int]] = [:]
            for p in m.parameters { got[p.name] = p.shape }
            #expect(got == want, "\(name): \(Set(got.keys).symmetricDifference(Set(want.keys)).sorted().prefix(6))")
        }
    }

    @Test func handDerivedGPT2AndBERT() throws {
        // GPT-2 small: wte 50257x768 + wpe 1024x768 + 12 x (2 LN + c_attn + c_proj + c_fc + mlp.c_proj) + ln_f
        let h = 768, v = 50257
        let layer = 2 * 2 * h + (h * 3 * h + 3 * h) + (h * h + h) + (h * 4 * h + 4 * h) + (4 * h * h + h)
        #expect(v * h + 1024 * h + 12 * layer + 2 * h == 124_439_808)
        let m = try Cost.model(try Self.config("gpt2"))
        #expect(m.count == v * h + 1024 * h + 12 * layer + 2 * h)
        // embeddings are looked up, the tied head multiplies: matmul params = layers' weights + head
        #expect(m.matmulParams == 12 * (h * 3 * h + h * h + 8 * h * h) + v * h)
    }

    // MARK: LoRA

    @Test func loraCountsEqualPEFT() throws {
        let g = try Self.golden()
        let cases = g["lora"] as! [[String: Any]]
        #expect(cases.count >= 30)
        for c in cases {
            let name = c["config"] as! String
            let m = try Cost.model(try Self.config(name), head: Self.head(c["task"] as! String))
            var o = Cost.LoRAOptions(r: c["r"] as! Int)
            switch c["targets"] {
            case let s as String where s == "all-linear": o.targets = .allLinear
            case let s as String: o.targets = .regex(s)
            case let a as [String]: o.targets = .names(a)
            default: o.targets = .default
            }
            o.bias = c["bias"] as! String
            o.dora = c["dora"] as! Bool
            o.modulesToSave = c["modules_to_save"] as? [String] ?? []
            let r = try Cost.lora(m, o)
            #expect(r.trainable == c["trainable"] as! Int, "\(name) \(c)")
            #expect(r.all == c["all"] as! Int, "\(name) \(c)")
        }
    }

    @Test func loraPublishedFigure() throws {
        // PEFT's README: "trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622"
        let m = try Cost.model(try Self.config("Llama-2-7b-hf"))
        let r = try Cost.lora(m, Cost.LoRAOptions(r: 8, targets: .names(["q_proj", "v_proj"])))
        #expect(r.trainable == 4_194_304)
        #expect(r.all == 6_742_609_920)
        #expect(abs(r.percent - 0.0622) < 0.00005)
        // GPT-2 c_attn is a Conv1D(768 -> 2304): r (768 + 2304) per layer
        let gpt = try Cost.lora(try Cost.model(try Self.config("gpt2")), Cost.LoRAOptions(r: 8, targets: .names(["c_attn"])))
        #expect(gpt.trainable == 8 * (768 + 2304) * 12)
    }

    @Test func loraRegexTargets() throws {
        let m = try Cost.model(try Self.config("SmolLM2-135M"))
        let a = try Cost.lora(m, Cost.LoRAOptions(r: 8, targets: .regex(#".*\.(q_proj|v_proj)"#)))
        let b = try Cost.lora(m, Cost.LoRAOptions(r: 8, targets: .names(["q_proj", "v_proj"])))
        #expect(a.trainable == b.trainable)
        // only layer 0
        let c = try Cost.lora(m, Cost.LoRAOptions(r: 8, targets: .regex(#"model\.layers\.0\.self_attn\.q_proj"#)))
        #expect(c.trainable == 8 * (576 + 576))
    }

    @Test func loraBadInput() throws {
        let m = try Cost.model(try Self.config("SmolLM2-135M"))
        #expect(throws: LatheError.self) { try Cost.lora(m, Cost.LoRAOptions(r: 0)) }
        do {
            let msg = errorMessage { _ = try Cost.lora(m, Cost.LoRAOptions(r: 8, targets: .names(["q_porj"]))) } ?? "no error"
            #expect(msg.contains("target 'q_porj' matches no module"))
            #expect(msg.contains("q_proj"))
        }
        do {
            let msg = errorMessage { _ = try Cost.lora(m, Cost.LoRAOptions(r: 8, targets: .names(["input_layernorm"]))) } ?? "no error"
            #expect(msg.contains("normalization"))
        }
        let phi = try Cost.model(try Self.config("Phi-3-mini-4k-instruct"))
        do {
            let msg = errorMessage { _ = try Cost.lora(phi, Cost.LoRAOptions(r: 8)) } ?? "no error"
            #expect(msg.contains("no default LoRA targets for model_type 'phi3'"))
        }
    }

    // MARK: quantization

    @Test func nf4StorageEqualsBitsandbytes() throws {
        let g = try Self.golden()
        for t in g["nf4_tensors"] as! [[String: Any]] {
            let shape = t["shape"] as! [Int]
            let s = Cost.nf4Bytes(shape[0] * shape[1], doubleQuant: t["double_quant"] as! Bool)
            #expect(s.packed == t["packed"] as! Int, "\(shape)")
            #expect(s.constants == (t["absmax"] as! Int) + (t["second_level"] as! Int), "\(shape)")
        }
    }

    @Test func quantizedModelsEqualTransformersFootprint() throws {
        let g = try Self.golden()
        for row in g["quantized_models"] as! [[String: Any]] {
            let name = row["config"] as! String
            let m = try Cost.model(try Self.config(name, ["num_hidden_layers": .int(row["num_hidden_layers"] as! Int)]))
            let buffers = Double(row["buffers"] as! Int)
            for (mode, dtype, dq) in [("nf4", Cost.DType.nf4, false), ("nf4_dq", Cost.DType.nf4, true), ("int8", Cost.DType.int8, false)] {
                var o = Cost.MemoryOptions()
                o.method = .inference
                o.dtype = dtype
                o.doubleQuant = dq
                o.batch = 1
                o.seq = 1
                let est = try Cost.memory(m, o)
                let want = row[mode] as! [String: Int]
                // transformers' get_memory_footprint counts parameters and buffers, not the
                // quantization constants; those are compared separately
                #expect(est.bytes("weights")! + buffers == Double(want["footprint"]!), "\(name) \(mode)")
                #expect(est.bytes("quantization")! == Double(want["constants"]!), "\(name) \(mode)")
            }
            var o = Cost.MemoryOptions()
            o.method = .inference
            o.dtype = .bf16
            let est = try Cost.memory(m, o)
            #expect(est.bytes("weights")! + buffers == Double(row["bf16_footprint"] as! Int))
        }
    }

    @Test func qloraStorageAboutHalfAByte() throws {
        // QLoRA: 4 bits per weight plus 0.5 bit (fp32 absmax per 64) or 0.127 bit (double quantized)
        let n = 4096 * 4096
        let plain = Cost.nf4Bytes(n, doubleQuant: false)
        let dq = Cost.nf4Bytes(n, doubleQuant: true)
        #expect(Double(plain.packed) / Double(n) == 0.5)
        #expect(abs(Double(plain.constants * 8) / Double(n) - 0.5) < 1e-9)
        #expect(abs(Double(dq.constants * 8) / Double(n) - 0.127) < 0.001)
        // a whole 7B model in NF4 with double quantization: about 0.5 byte per linear weight
        let m = try Cost.model(try Self.config("Llama-2-7b-hf"))
        var o = Cost.MemoryOptions()
        o.method = .inference
        o.dtype = .nf4
        let est = try Cost.memory(m, o)
        let linear = m.modules.filter { $0.isLinearLike && !$0.isHead }.reduce(0) { $0 + $1.weightCount }
        let rest = m.count - linear
        let w = est.bytes("weights")!
        #expect(w == Double(linear) / 2 + Double(rest * 2))
        #expect(abs(est.bytes("quantization")! / Double(linear) * 8 - 0.127) < 0.001)
    }

    // MARK: training memory

    @Test func mixedPrecisionAdamIs16BytesPerParam() throws {
        let m = try Cost.model(try Self.config("Llama-2-7b-hf"))
        let P = Double(m.count)
        var o = Cost.MemoryOptions()
        o.method = .full
        o.dtype = .bf16
        o.batch = 0
        let est = try Cost.memory(m, o)
        #expect(est.bytes("weights")! == 2 * P)
        #expect(est.bytes("gradients")! == 2 * P)
        #expect(est.bytes("master_weights")! == 4 * P)
        #expect(est.bytes("optimizer")! == 8 * P)
        let noAct = est.total - est.bytes("activations")!
        #expect(noAct / P == 16)
        // HF's autocast recipe: 6 + 4 + 8 = 18 bytes per parameter
        o.precision = .amp
        let amp = try Cost.memory(m, o)
        #expect((amp.total - amp.bytes("activations")!) / P == 18)
        // fp32 and Adam: 4 + 4 + 8
        o.dtype = .fp32
        let f32 = try Cost.memory(m, o)
        #expect((f32.total - f32.bytes("activations")!) / P == 16)
        // 8-bit Adam: about 2 bytes of state
        o.dtype = .bf16
        o.precision = .mixed
        o.optimizer = .adamw_8bit
        let a8 = try Cost.memory(m, o)
        let perParam = a8.bytes("optimizer")! / P
        #expect(perParam > 2.0 && perParam < 2.05)
        o.optimizer = .sgd
        #expect(try Cost.memory(m, o).bytes("optimizer")! == 0)
        o.optimizer = .sgd_momentum
        #expect(try Cost.memory(m, o).bytes("optimizer")! == 4 * P)
    }

    @Test func zeroStagesShardAsThePaperSays() throws {
        // ZeRO paper, 7.5B params, 64 GPUs, K = 12: 120 GB (baseline), 31.4 GB (Pos), 16.6 GB (Pos+g), 1.88 GB (Pos+g+p)
        let psi = 7.5e9, nd = 64.0
        let expect = [2 * psi + 2 * psi + 12 * psi, 2 * psi + 2 * psi + 12 * psi / nd,
                      2 * psi + (2 + 12) * psi / nd, (2 + 2 + 12) * psi / nd]
        #expect(abs(expect[0] / 1e9 - 120) < 0.01)
        #expect(abs(expect[1] / 1e9 - 31.4) < 0.05)
        #expect(abs(expect[2] / 1e9 - 16.6) < 0.05)
        #expect(abs(expect[3] / 1e9 - 1.88) < 0.01)
        let m = try Cost.model(try Self.config("Llama-2-7b-hf"))
        let P = Double(m.count)
        for stage in 0...3 {
            var o = Cost.MemoryOptions()
            o.method = .full
            o.batch = 0
            o.gpus = 64
            o.zero = stage
            let est = try Cost.memory(m, o)
            let states = est.total - est.bytes("activations")!
            let want = [2 * P + 2 * P + 12 * P, 2 * P + 2 * P + 12 * P / nd,
                        2 * P + 14 * P / nd, 16 * P / nd][stage]
            #expect(abs(states - want) < 1, "stage \(stage)")
        }
    }

    @Test func loraAndQLoRAMemory() throws {
        let m = try Cost.model(try Self.config("Llama-2-7b-hf"))
        var o = Cost.MemoryOptions()
        o.method = .lora
        o.lora = Cost.LoRAOptions(r: 8, targets: .names(["q_proj", "v_proj"]))
        o.batch = 0
        let est = try Cost.memory(m, o)
        #expect(est.trainable == 4_194_304)
        #expect(est.bytes("weights")! == 2 * Double(m.count))
        #expect(est.bytes("adapters")! == 4 * 4_194_304)
        #expect(est.bytes("gradients")! == 4 * 4_194_304)
        #expect(est.bytes("optimizer")! == 8 * 4_194_304)
        o.method = .qlora
        let q = try Cost.memory(m, o)
        // a 7B model in QLoRA: weights under 4 GiB
        #expect(q.bytes("weights")! < 4 * 1_073_741_824)
        #expect(q.bytes("quantization")! > 0)
        #expect(q.total < est.total / 2)
    }

    @Test func activationsEqualTorchSavedTensors() throws {
        let g = try Self.golden()
        let rows = g["activations"] as! [[String: Any]]
        #expect(rows.count >= 10)
        for r in rows {
            let name = r["config"] as! String
            var over: [String: Cost.Value] = [:]
            for (k, v) in r["overrides"] as! [String: Any] { over[k] = Self.value(v) }
            let cfg = try Self.config(name, over)
            let arch = try Cost.architecture(cfg)
            let m = try Cost.model(cfg, head: arch.isDecoder ? .causalLM : .sequenceClassification(labels: 2))
            let e = r["dtype"] as! String == "float32" ? 4 : 2
            // on a CPU, dropout masks and LayerNorm statistics are kept in the activation type
            let a = Cost.activations(m, batch: r["batch"] as! Int, seq: r["seq"] as! Int, e: e,
                                     attention: Cost.Attention(rawValue: r["attention"] as! String)!,
                                     maskBytes: e, statBytes: e)
            let per = Double(r["per_layer"] as! Int)
            let out = Double(r["outside_layers"] as! Int)
            #expect(abs(a.perLayer - per) / per < 0.001, "\(name) \(r["attention"]!) per layer: \(a.perLayer) vs \(per)")
            #expect(abs(a.outside - out) / out < 0.03, "\(name) outside: \(a.outside) vs \(out)")
        }
    }

    @Test func korthikantiFormulaForGPTLayers() throws {
        // sbh(34 + 5as/h) for a GPT layer with GELU (not GPT-2's Python tanh-GELU), 16-bit, CUDA masks
        let cfg = try Self.config("gpt2", ["activation_function": .string("gelu")])
        let m = try Cost.model(cfg)
        let s = 1024.0, b = 4.0, h = 768.0, a = 12.0
        let act = Cost.activations(m, batch: 4, seq: 1024, e: 2, attention: .eager)
        let paper = s * b * h * (34 + 5 * a * s / h)
        // plus LayerNorm statistics (2 x 4 bytes per token per norm), which the paper leaves out
        #expect(act.perLayer == paper + 2 * 2 * 4 * s * b)
        // with full recomputation: 2sbh per layer
        let ck = Cost.activations(m, batch: 4, seq: 1024, e: 2, attention: .eager, checkpointing: true)
        #expect(ck.total == 12 * 2 * s * b * h + act.perLayer + act.outside)
    }

    // MARK: time

    @Test func trainingFLOPs() throws {
        let m = try Cost.model(try Self.config("Llama-2-7b-hf"))
        let gpu = Cost.GPU(name: "X", memoryGB: 80, tflops: 1000, bandwidthGBs: 2000, onDemand: 2)
        var o = Cost.TrainTimeOptions(tokens: 1e9)
        o.seq = 4096
        o.mfu = 0.5
        let t = try Cost.trainTime(m, gpu: gpu, o)
        let N = Double(m.count - 32000 * 4096 - 65 * 4096)     // the input embedding is a lookup; norms scale
        #expect(t.flopsPerToken == 6 * N + 12 * 32 * 4096 * 4096)
        #expect(abs(t.seconds - t.totalFLOPs / (1000e12 * 0.5)) < 1e-6)
        #expect(abs(t.costOnDemand! - t.seconds / 3600 * 2) < 1e-9)
        let speed = try Cost.inferenceSpeed(m, gpu: gpu, Cost.InferenceOptions())
        // bandwidth bound: 2 TB/s over ~13.5 GB of bf16 weights plus the KV cache
        #expect(speed.memoryBound < 2000e9 / (2 * Double(m.count)))
        #expect(speed.limitedBy == "memory bandwidth")
    }

    @Test func projection() throws {
        let p = try Cost.project(measuredTokensPerSecond: 20, tokens: 72000, epochs: 2, pricePerHour: 0.5)
        #expect(p.seconds == 7200)
        #expect(p.cost == 1.0)
        let q = try Cost.project(measuredTokensPerSecond: 20, tokens: 72000, measuredParams: 100, targetParams: 200)
        #expect(q.seconds == 7200)
        #expect(throws: LatheError.self) { try Cost.project(measuredTokensPerSecond: 0, tokens: 1) }
    }

    @Test func fitsFindsTheLargestBatch() throws {
        let m = try Cost.model(try Self.config("SmolLM2-135M"))
        let gpu = Cost.GPU(name: "T", memoryGB: 16, tflops: 65, bandwidthGBs: 320)
        var o = Cost.MemoryOptions()
        o.method = .lora
        o.seq = 512
        let f = try Cost.fits(m, o, gpu: gpu)
        #expect(f.fits)
        var ok = o
        ok.batch = f.maxBatch
        var over = o
        over.batch = f.maxBatch + 1
        #expect(try Cost.memory(m, ok).total <= f.usable)
        #expect(try Cost.memory(m, over).total > f.usable)
        let big = try Cost.model(try Self.config("Llama-2-7b-hf"))
        var full = Cost.MemoryOptions()
        full.method = .full
        let nf = try Cost.fits(big, full, gpu: gpu)
        #expect(!nf.fits)
        #expect(nf.maxBatch == 0)
    }

    // MARK: money

    @Test func moneyHandChecked() throws {
        // ROI: return 150k on cost 100k -> 50 %
        let r = try Cost.roi(totalReturn: 150_000, totalCost: 100_000)
        #expect(r.roi == 0.5)
        #expect(r.net == 50_000)
        // break-even: 12,000 upfront, 3,000 - 1,000 per month -> month 6
        let b = try Cost.breakeven(upfront: 12_000, monthlyReturn: 3_000, monthlyCost: 1_000)
        #expect(b.month == 6)
        #expect(b.exactMonths == 6)
        #expect(b.cumulative[5] == 0)
        #expect(b.cumulative[4] == -2_000)
        let b2 = try Cost.breakeven(upfront: 10_000, monthlyReturn: 3_000)
        #expect(b2.month == 4)
        let never = try Cost.breakeven(upfront: 10_000, monthlyReturn: 1_000, monthlyCost: 1_500)
        #expect(never.month == nil)
        // F1 0.80 -> 0.86 for $1,200: 6 points, $200 per point
        let g = try Cost.perMetricGain(cost: 1200, baseline: 0.80, score: 0.86)
        #expect(abs(g.gain - 6) < 1e-9)
        #expect(abs(g.costPerPoint! - 200) < 1e-9)
        // lower is better (perplexity 20 -> 16, 4 points, $100 each)
        let p = try Cost.perMetricGain(cost: 400, baseline: 20, score: 16, higherIsBetter: false)
        #expect(p.costPerPoint == 100)
        // API vs in-house: 100M tokens at $10/M = $1,000/month; in-house $400/month + $3,000 setup
        var o = Cost.APIvsInHouseOptions()
        o.inputTokensPerMonth = 100e6
        o.apiInputPrice = 10
        o.hostingPerMonth = 400
        o.setupCost = 3000
        o.months = 12
        let a = try Cost.apiVsInHouse(o)
        #expect(a.apiPerMonth == 1000)
        #expect(a.savingsPerMonth == 600)
        #expect(a.breakevenMonth == 5)       // 3000 / 600 = 5
        #expect(a.totalAPI == 12_000)
        #expect(a.totalInHouse == 3000 + 4800)
        #expect(a.cheaper == "in-house")
        #expect(abs(a.roi! - (12_000 - 7_800) / 7_800) < 1e-12)
        // cloud: 10 h on 2 GPUs at $2, spot $0.8 with 25 % overhead, 100 GB storage at $0.1 for 2 months
        let gpu = Cost.GPU(name: "G", memoryGB: 80, tflops: 300, bandwidthGBs: 2000, onDemand: 2, spot: 0.8)
        var c = Cost.CloudOptions(hours: 10)
        c.gpus = 2
        c.interruptionOverhead = 0.25
        c.storageGB = 100
        c.storageMonths = 2
        c.transferGB = 10
        let cc = try Cost.cloud(gpu: gpu, c)
        #expect(cc.computeOnDemand == 40)
        #expect(cc.computeSpot == 20)
        #expect(abs(cc.storage - 20) < 1e-9)
        #expect(abs(cc.transfer - 0.9) < 1e-9)
        #expect(abs(cc.totalOnDemand! - 60.9) < 1e-9)
        #expect(abs(cc.savings! - 20) < 1e-9)
    }

    @Test func budgetAndGantt() throws {
        let b = try Cost.budget([
            Cost.Phase(name: "data collection", cost: 4000, weeks: 3),
            Cost.Phase(name: "preparation", cost: 2000, weeks: 2),
            Cost.Phase(name: "training", cost: 3000, weeks: 2),
            Cost.Phase(name: "evaluation", cost: 1000, weeks: 1),
            Cost.Phase(name: "deployment", cost: 2000, weeks: 2, after: ["training"], contingency: 0.2),
        ], contingency: 0.1)
        #expect(b.subtotal == 12_000)
        #expect(abs(b.contingency - (1000 + 400)) < 1e-9)
        #expect(abs(b.total - 13_400) < 1e-9)
        #expect(b.weeks == 9)
        #expect(b.phases[4].start == 7)
        let chart = Cost.gantt(b)
        let lines = chart.split(separator: "\n").map(String.init)
        #expect(lines[1].hasSuffix("|###......"))
        #expect(lines[2].hasSuffix("|...##...."))
        #expect(lines[4].hasSuffix("|.......#."))
        #expect(lines[5].hasSuffix("|.......##"))
        #expect(throws: LatheError.self) { try Cost.budget([Cost.Phase(name: "x", cost: 1, weeks: 1)], contingency: 1.5) }
        #expect(throws: LatheError.self) { try Cost.budget([Cost.Phase(name: "x", cost: 1, weeks: 1, after: ["y"])]) }
    }

    // MARK: bad input and catalog

    @Test func configErrorsNameTheField() throws {
        var c = try Self.config("Llama-2-7b-hf")
        c["num_hidden_layers"] = nil
        do {
            let msg = errorMessage { _ = try Cost.model(c) } ?? "no error"
            #expect(msg == "config has no 'num_hidden_layers' (a llama config needs hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, vocab_size)")
        }
        c["num_hidden_layers"] = .int(-2)
        #expect(throws: LatheError("config field 'num_hidden_layers' must be a positive integer (got -2)")) { try Cost.model(c) }
        c["model_type"] = .string("falcon")
        do {
            let msg = errorMessage { _ = try Cost.model(c) } ?? "no error"
            #expect(msg.hasPrefix("unknown architecture 'falcon'"))
        }
    }

    @Test func shippedCatalogParses() throws {
        let path = Self.root.deletingLastPathComponent().appendingPathComponent("stdlib/lathe/data/gpus.csv").path
        let cat = try Cost.loadCatalog(path: path)
        #expect(cat.count >= 10)
        for g in cat {
            #expect(!g.date.isEmpty && !g.specSource.isEmpty, "\(g.name)")
            if g.onDemand != nil { #expect(!g.priceSource.isEmpty, "\(g.name)") }
        }
        let h = try Cost.findGPU("h100-sxm", in: cat)
        #expect(h.memoryGB == 80)
        #expect(throws: LatheError.self) { try Cost.findGPU("Voodoo 5", in: cat) }
        #expect(throws: LatheError.self) { try Cost.parseCatalogCSV("name,memory_gb,bf16_tflops,bandwidth_gbs\nX,-1,1,1\n", source: "t.csv") }
    }
    // MARK: what the Lua binding decodes into

    @Test func headsAndTargetsByName() throws {
        #expect(try Cost.Head.named(nil) == nil)
        #expect(try Cost.Head.named(nil, labels: 5) == .sequenceClassification(labels: 5))
        #expect(try Cost.Head.named("seq_cls") == .sequenceClassification(labels: 2))
        #expect(try Cost.Head.named("base", labels: 3) == .base)
        #expect(errorMessage { _ = try Cost.Head.named("lm") }?.hasPrefix("head must be one of") == true)
        let bert = try Self.config("bert-base-uncased")
        #expect(try Cost.model(bert, head: try Cost.Head.named(nil, labels: 5)).count == 109_483_778 + 3 * 769)
        #expect(Cost.LoRATargets(pattern: "ALL-linear") == .allLinear)
        #expect(Cost.LoRATargets(pattern: ".*q_proj") == .regex(".*q_proj"))
        var o = Cost.LoRAOptions(r: 8)
        o.bias = "some"
        let smol = try Cost.model(try Self.config("SmolLM2-135M"))
        #expect(errorMessage { _ = try Cost.lora(smol, o) }?.hasPrefix("bias must be") == true)
        let l = try Cost.lora(smol, Cost.LoRAOptions(r: 8, targets: .names(["q_proj", "v_proj"])))
        #expect(l.report().text().hasPrefix("trainable params: 460,800 || all params: 134,975,808 || trainable%: 0.3414\n  adapters  460,800"))
    }

    @Test func catalogLoadsMergesAndFinds() throws {
        let stdlib = Self.root.deletingLastPathComponent().appendingPathComponent("stdlib").path
        var cat = try Cost.Catalog.shipped(stdlib: stdlib)
        #expect(cat.source.hasSuffix("stdlib/lathe/data/gpus.csv"))
        let n = cat.gpus.count
        let t4 = try cat.gpu("t4")
        var mine = t4
        mine.name = "t4"
        mine.onDemand = 0.1
        cat = cat.merging(Cost.Catalog(gpus: [mine, Cost.GPU(name: "Box", memoryGB: 24, tflops: 100, bandwidthGBs: 900)], source: "mine"))
        #expect(cat.gpus.count == n + 1)
        #expect(try cat.gpu("T4").onDemand == 0.1)
        #expect(cat.source.hasSuffix(" + mine"))
        #expect(cat.report().text().contains("Box"))
        if ProcessInfo.processInfo.environment["LATHE_GPU_CATALOG"] == nil {
            #expect(Cost.Catalog.shippedPath(stdlib: "/nonexistent") == nil)
            #expect(errorMessage { _ = try Cost.Catalog.shipped(stdlib: nil) }?.contains("was not found") == true)
        }
    }

    @Test func moneyFromTheirInputs() throws {
        // ROI from monthly figures: 4,000 x 12 back on 20,000 + 500 x 12
        let r = try Cost.roi(monthlyReturn: 4000, monthlyCost: 500, upfront: 20_000, months: 12)
        #expect(r.totalReturn == 48_000 && r.totalCost == 26_000)
        #expect(throws: LatheError.self) { try Cost.roi(monthlyReturn: 1, months: 0) }
        #expect(throws: LatheError.self) { try Cost.roi(monthlyReturn: -1, months: 2) }
        // in-house GPU hours priced from the GPU's on-demand price unless a price is given
        var o = Cost.APIvsInHouseOptions()
        o.inputTokensPerMonth = 1e6
        o.apiInputPrice = 10
        o.gpuHoursPerMonth = 100
        #expect(errorMessage { _ = try Cost.apiVsInHouse(o) }?.hasPrefix("gpu_hours_per_month needs a price") == true)
        o.gpu = Cost.GPU(name: "G", memoryGB: 24, tflops: 100, bandwidthGBs: 900, onDemand: 0.5)
        #expect(try Cost.apiVsInHouse(o).gpuPerMonth == 50)
        o.gpuPricePerHour = 2
        #expect(try Cost.apiVsInHouse(o).gpuPerMonth == 200)
        o.gpuPricePerHour = nil
        o.gpu?.onDemand = nil
        #expect(errorMessage { _ = try Cost.apiVsInHouse(o) }?.contains("has no on-demand price") == true)
    }

    @Test func phasesFromNamedFields() throws {
        let p = try Cost.Phase(from: .object(["name": .string("train"), "cost": .int(3000), "weeks": .double(2),
                                              "after": .array([.string("data")]), "contingency": .double(0.2)]), index: 2)
        #expect(p.name == "train" && p.cost == 3000 && p.weeks == 2 && p.after == ["data"] && p.contingency == 0.2 && p.start == nil)
        let missing = errorMessage { _ = try Cost.Phase(from: .object(["name": .string("a"), "cost": .int(1)]), index: 1) }
        #expect(missing == "phase 'a': missing 'weeks' (duration in weeks)")
        let unknown = errorMessage { _ = try Cost.Phase(from: .object(["name": .string("a"), "colour": .int(1)]), index: 3) }
        #expect(unknown?.hasPrefix("phase 3: unknown field 'colour'") == true)
        #expect(errorMessage { _ = try Cost.Phase(from: .int(5), index: 1) }?.hasPrefix("phase 1 is not a table") == true)
        #expect(errorMessage { _ = try Cost.budget([]) }?.hasPrefix("phases is empty") == true)
    }

    @Test func reportsOfValuesAndDocuments() throws {
        let v = Cost.Report(title: "t", values: [("accuracy", .double(0.91)), ("n", .int(1234)), ("skip", .array([]))])
        #expect(v.rows == [["accuracy", "0.91"], ["n", "1,234"]])
        let roi = try Cost.roi(totalReturn: 3, totalCost: 2).report()
        #expect(Cost.Report.document([roi], title: nil).hasPrefix("# cost.roi: 50.0%\n"))
        #expect(Cost.Report.document([roi], title: "Plan").hasPrefix("# Plan\n\n## cost.roi: 50.0%\n"))
        let both = Cost.Report.document([roi, v], title: nil)
        #expect(both.hasPrefix("# Cost report\n\n## cost.roi") && both.contains("\n## t\n"))
    }
}
