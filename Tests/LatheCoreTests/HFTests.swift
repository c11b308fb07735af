import Foundation
import LatheCore
import TestSupport
import Testing

/// Tests/golden/pretrained (written by scripts/golden/pretrained.py with PyTorch transformers).
let hfGolden: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("golden/pretrained").path

func hfJSON(_ name: String) throws -> [String: Any] {
    let d = try Data(contentsOf: URL(fileURLWithPath: hfGolden + "/" + name))
    return try JSONSerialization.jsonObject(with: d) as? [String: Any] ?? [:]
}

/// max |a - b| / max(1, |b|) over positions the mask keeps.
func hfMaxRel(_ out: Tensor, _ g: [String: Any]) -> Double {
    let want = (g["logits"] ?? g["hidden"]) as? [Double] ?? []
    let shape = g["shape"] as? [Int] ?? []
    let mask = g["mask"] as? [[Int]] ?? []
    let got = out.toDoubleArray()
    guard got.count == want.count, let last = shape.last else { return .infinity }
    var kept: [Double] = [], ref: [Double] = []
    for i in 0..<want.count {
        if shape.count == 3 {
            let row = i / last
            if mask[row / shape[1]][row % shape[1]] == 0 { continue }
        }
        kept.append(got[i])
        ref.append(want[i])
    }
    return maxError(kept, ref)
}

func hfInputs(_ g: [String: Any]) -> (Tensor, Tensor) {
    let ids = (g["ids"] as? [[Int]] ?? []), mask = (g["mask"] as? [[Int]] ?? [])
    let b = ids.count, t = ids.first?.count ?? 0
    return (Tensor(int64s: ids.flatMap { $0 }.map { Int64($0) }, shape: [b, t]),
            Tensor(int64s: mask.flatMap { $0 }.map { Int64($0) }, shape: [b, t]))
}

@Suite(.serialized) struct HFLoading {
    @Test func tinyModelsMatchTransformers() throws {
        let gold = try hfJSON("tiny.json")
        for name in ["tiny-llama", "tiny-llama-bf16-sharded", "tiny-qwen2-f16", "tiny-mistral", "tiny-gpt2", "tiny-bert", "tiny-bert-cls-f16"] {
            let g = gold[name] as? [String: Any] ?? [:]
            let m = try HF.load(path: hfGolden + "/" + name)
            let (ids, mask) = hfInputs(g)
            let out = try Autograd.noGrad { () throws(LatheError) in try m.forward([ids, mask]) }
            let rel = hfMaxRel(out, g)
            #expect(rel < 1e-4, "\(name): \(rel)")
            #expect(m.pretrained?.family == (name.contains("bert") ? "bert" : name.contains("gpt2") ? "gpt2" : name.contains("qwen") ? "qwen2" : name.contains("mistral") ? "mistral" : "llama"))
        }
    }

    @Test func nameMapping() throws {
        // GPT-2: the Conv1D weights are transposed into Linear's [out, in]; the causal-mask
        // buffers of old checkpoints and a tied lm_head are skipped
        let g = try HF.load(path: hfGolden + "/tiny-gpt2")
        let names = Set(g.namedParameters().map { $0.0 })
        #expect(names.contains("transformer.h.1.attn.c_attn.weight"))
        #expect(names.contains("transformer.h.0.mlp.c_fc.bias"))
        #expect(!names.contains("lm_head.weight"))
        let file = try SafetensorsFile(path: hfGolden + "/tiny-gpt2/model.safetensors")
        let w = try file.tensor("transformer.h.0.mlp.c_fc.weight")   // [32, 128] in the file
        let p = try #require(g.parameter("transformer.h.0.mlp.c_fc.weight"))
        #expect(p.shape == [128, 32])
        #expect(try p.transpose(0, 1).contiguous().toFloatArray() == w.toFloatArray())
        // BERT: the `bert.` prefix is stripped, the pooler and classifier are kept
        let b = try HF.load(path: hfGolden + "/tiny-bert-cls-f16")
        let enc = try #require(b as? Encoder)
        #expect(enc.pooler != nil && enc.classifier?.outFeatures == 3 && enc.pooling == "pooler")
        #expect(b.parameter("encoder.layer.0.attention.self.query.weight") != nil)
        // Llama: HF names as they are; tied embeddings have no head
        let l = try HF.load(path: hfGolden + "/tiny-llama-bf16-sharded")
        #expect((l as? DecoderLM)?.head == nil)
        #expect(l.parameter("model.layers.1.post_attention_layernorm.weight") != nil)
        let q = try HF.load(path: hfGolden + "/tiny-qwen2-f16")
        #expect(q.parameter("model.layers.0.self_attn.k_proj.bias") != nil && q.parameter("model.layers.0.self_attn.o_proj.bias") == nil)
        // GGUF names map back and forth
        #expect(GGUFLlama.ggufName(for: "model.layers.3.self_attn.q_proj.weight") == "blk.3.attn_q.weight")
        #expect(GGUFLlama.ggufName(for: "model.embed_tokens.weight") == "token_embd.weight")
        #expect(GGUFLlama.ggufName(for: "lm_head.weight") == "output.weight")
    }

    @Test func layoutMapsNamesBothWays() throws {
        // transformers' base_model_prefix: head classes nest the backbone, the head stays on top
        let seq = HFLayout.bert(classifier: true), base = HFLayout.bert(classifier: false)
        #expect(seq.hfName("encoder.layer.0.attention.self.query.weight") == "bert.encoder.layer.0.attention.self.query.weight")
        #expect(seq.hfName("classifier.weight") == "classifier.weight")
        #expect(base.hfName("encoder.layer.0.output.dense.bias") == "encoder.layer.0.output.dense.bias")
        for l in [seq, base] {
            #expect(l.lathePath("bert.pooler.dense.weight") == "pooler.dense.weight")
            #expect(l.lathePath("pooler.dense.weight") == "pooler.dense.weight")
        }
        let gpt = HFLayout.gpt2(), bare = HFLayout.gpt2(nested: false)
        #expect(gpt.hfName("transformer.h.0.attn.c_attn") == "transformer.h.0.attn.c_attn")
        #expect(bare.hfName("transformer.h.0.attn.c_attn.weight") == "h.0.attn.c_attn.weight")
        #expect(gpt.lathePath("h.0.attn.c_attn") == "transformer.h.0.attn.c_attn")
        #expect(gpt.hfName("lm_head.weight") == "lm_head.weight")
        let llama = HFLayout.llama("llama")
        #expect(llama.hfName("model.layers.0.self_attn.q_proj") == "model.layers.0.self_attn.q_proj")
        #expect(llama.lathePath("layers.0.self_attn.q_proj") == "model.layers.0.self_attn.q_proj")
        // which class a model stands for follows its head
        let m = try HF.load(path: hfGolden + "/tiny-bert")
        #expect(HF.layout(of: m)?.architecture == "BertModel")
        var rng = RandomGenerator(seed: 1)
        try HF.classifier(m, classes: 2, labels: nil, pooling: "pooler", rng: &rng)
        #expect(HF.layout(of: m)?.architecture == "BertForSequenceClassification" && HF.latheOnlyHead(m) == nil)
        try HF.classifier(m, classes: 2, labels: nil, pooling: "mean", rng: &rng)
        #expect(HF.layout(of: m)?.architecture == "BertModel" && HF.latheOnlyHead(m) == "mean")
        #expect(HF.layout(of: try HF.load(path: hfGolden + "/tiny-qwen2-f16"))?.architecture == "Qwen2ForCausalLM")
        #expect(HF.layout(of: try HF.load(path: hfGolden + "/tiny-gpt2"))?.architecture == "GPT2LMHeadModel")
        var c = DecoderConfig()
        c.vocab = 16; c.layers = 1; c.dim = 8; c.heads = 2; c.maxSeq = 4
        #expect(HF.layout(of: try DecoderLM(c, rng: &rng)) == nil, "Lathe's own names have no transformers class")
    }

    @Test func ropeFrequencies() {
        // transformers' default: 1 / theta ** (arange(0, d, 2) / d) in float32
        let inv = F.ropeInverseFrequencies(headDim: 8, theta: 10000)
        #expect(inv == [1, 0.1, 0.01, 0.001].map { Float($0) } || zip(inv, [1.0, 0.1, 0.01, 0.001]).allSatisfy { abs(Double($0) - $1) < 1e-9 })
        // llama3: low frequencies divided by the factor, high ones kept, the middle smoothed
        let s = RopeScaling(kind: .llama3, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64)
        let l3 = F.ropeInverseFrequencies(headDim: 8, theta: 10000, scaling: s)
        #expect(l3[0] == inv[0])                        // wavelength 6.3 < 16: kept
        #expect(abs(l3[2] - inv[2] / 8) < 1e-9)         // wavelength 628 > 64: divided
        #expect(l3[1] < inv[1] && l3[1] > inv[1] / 8)   // 62.8: smoothed
        let lin = F.ropeInverseFrequencies(headDim: 8, theta: 10000, scaling: RopeScaling(kind: .linear, factor: 2))
        #expect(lin[1] == inv[1] / 2)
    }

    @Test func ggufQuantizedAndDequantized() throws {
        let g = try hfJSON("tiny.json")["tiny-llama.gguf"] as? [String: Any] ?? [:]
        let (ids, mask) = hfInputs(g)
        var o = HF.LoadOptions()
        let plain = try HF.loadGGUF(path: hfGolden + "/tiny-llama.gguf", o)
        o.quantized = true
        let packed = try HF.loadGGUF(path: hfGolden + "/tiny-llama.gguf", o)
        let a = try Autograd.noGrad { () throws(LatheError) in try plain.forward([ids, mask]) }
        let b = try Autograd.noGrad { () throws(LatheError) in try packed.forward([ids, mask]) }
        #expect(hfMaxRel(a, g) < 1e-4)
        #expect(hfMaxRel(b, g) < 1e-4)
        let quant = packed.namedModules().compactMap { $0.1 as? QuantLinear }
        #expect(Set(quant.map { $0.weight.type }) == [.q4_0, .q4_1, .q8_0])   // F16 attn_output stays float
        #expect(packed.parameterCount() == plain.parameterCount())
        #expect(packed.pretrained?.tokenizer?.tokenToId("<|im_end|>") == 2)
    }
}

@Suite struct QuantizedKernels {
    /// The packed kernels dequantize exactly as ggml / gguf-py (the Formats reader's dequantizer).
    @Test func dequantizeMatchesReference() throws {
        for type in QuantizedMatrix.supported {
            let w = randTensor([7, 96], seed: 5, lo: -2, hi: 1.5)
            let q = try QuantizedMatrix(quantizing: w, type: type)
            #expect(q.byteCount == 7 * 3 * type.typeSize)
            let mine = try q.dequantized().toFloatArray()
            var ref = [Float](repeating: 0, count: 7 * 96)
            let packed = q.packedBytes
            try packed.withUnsafeBytes { p in
                try ref.withUnsafeMutableBufferPointer { o in try type.dequantize(p.baseAddress!, into: o.baseAddress!, count: 7 * 96) }
            }
            #expect(mine == ref, "\(type)")
            // the quantization error is what the format allows
            let err = maxError(mine, w.toFloatArray(), relative: false)
            #expect(err < (type == .q8_0 ? 0.02 : 0.3), "\(type) error \(err)")
        }
    }

    @Test func productMatchesDenseForwardAndBackward() throws {
        for type in QuantizedMatrix.supported {
            let w = randTensor([40, 64], seed: 11, lo: -1, hi: 1)
            let q = try QuantizedMatrix(quantizing: w, type: type)
            let dense = try q.dequantized()
            let bias = randTensor([40], seed: 12)
            for n in [1, 3, 8, 9, 33] {   // the matrix-vector kernel and the tiled BLAS path
                let x = randTensor([n, 64], seed: UInt64(20 + n))
                try x.setRequiresGrad(true)
                let y = try F.quantLinear(x, q, bias)
                let ref = try Autograd.noGrad { () throws(LatheError) in try Tensor.linear(x, dense, bias) }
                #expect(close(y.toFloatArray(), ref.toDoubleArray(), rtol: 1e-4, atol: 1e-5), "\(type) n=\(n)")
                // dx = g W
                let g = randTensor([n, 40], seed: 30)
                try (y * g).sum().backward()
                let dx = try #require(x.grad)
                let refDx = try Tensor.matmul(g, dense)
                #expect(close(dx.toFloatArray(), refDx.toDoubleArray(), rtol: 1e-4, atol: 1e-5), "\(type) n=\(n) backward")
            }
        }
    }

    @Test func loraOnQuantLinearTrains() throws {
        var rng = RandomGenerator(seed: 3)
        let lin = try Linear(64, 16, bias: true, rng: &rng)
        let ql = try QuantLinear(quantizing: lin, type: .q4_1)
        let model = Sequential([ql])
        var c = LoRA.Config()
        c.targets = ["0"]
        c.r = 2
        let paths = try LoRA.apply(model, c, rng: &rng)
        #expect(paths == ["0"])
        #expect(ql.lora != nil && model.parameterCount(trainableOnly: true) == 2 * 64 + 16 * 2)
        let x = randTensor([5, 64], seed: 9)
        let y = try model(x)
        try y.sum().backward()
        #expect(ql.lora!.a.grad != nil && ql.lora!.b.grad != nil)
        #expect(ql.bias?.grad == nil)
        #expect(throws: LatheError.self) { _ = try LoRA.merge(model) }
        // the effective weight folds the adapter in
        let eff = try ql.denseWeight()
        #expect(eff.shape == [16, 64])
    }

    @Test func quantizeErrors() throws {
        #expect(errorMessage { _ = try QuantizedMatrix(quantizing: randTensor([2, 30], seed: 1), type: .q8_0) }?.contains("multiple of the 32-weight block") == true)
        #expect(errorMessage { _ = try QuantizedMatrix(quantizing: randTensor([2, 32], seed: 1), type: .q5_0) }?.contains("supported types") == true)
        let q = try QuantizedMatrix(quantizing: randTensor([2, 32], seed: 1), type: .q8_0)
        #expect(errorMessage { _ = try F.quantLinear(randTensor([3, 31], seed: 2), q, nil) }?.contains("does not end in the weight's input size 32") == true)
    }
}

@Suite struct ChatTemplates {
    @Test func goldenCases() throws {
        let doc = try hfJSON("chat_templates.json")
        let templates = doc["templates"] as? [String: String] ?? [:]
        let convs = doc["conversations"] as? [[[String: String]]] ?? []
        let cases = doc["cases"] as? [[String: Any]] ?? []
        #expect(cases.count == 48)
        for c in cases {
            let name = c["template"] as? String ?? ""
            let conv = convs[c["conversation"] as? Int ?? 0].map { (role: $0["role"] ?? "", content: $0["content"] ?? "") }
            let agp = c["add_generation_prompt"] as? Bool ?? false
            let tpl = try ChatTemplate(templates[name] ?? "")
            if let err = c["error"] as? String {
                let msg = errorMessage { _ = try tpl.render(messages: conv, addGenerationPrompt: agp, bosToken: "<s>", eosToken: "</s>") }
                #expect(msg == err, "\(name)")
            } else {
                let out = try tpl.render(messages: conv, addGenerationPrompt: agp, bosToken: "<s>", eosToken: "</s>")
                #expect(out == c["text"] as? String, "\(name) \(c["conversation"] ?? 0) \(agp)")
            }
        }
    }

    @Test func expressions() throws {
        func r(_ s: String) throws -> String {
            try ChatTemplate(s).render(messages: [(role: "user", content: "Hi")], addGenerationPrompt: true, bosToken: "<s>", eosToken: nil)
        }
        #expect(try r("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ 7 % 3 }}|{{ 2 ** 3 }}|{{ 7 / 2 }}") == "7|9|3|1|8.0|3.5")
        #expect(try r("{{ 'a' ~ 1 ~ none }}|{{ [1, 'b', true] }}|{{ {'k': 1} }}") == "a1None|[1, 'b', True]|{'k': 1}")
        #expect(try r("{{ 'abc'[1] }}{{ 'abc'[-1] }}{{ 'abcdef'[1:3] }}{{ [1,2,3][::-1] }}") == "bcbc[3, 2, 1]")
        #expect(try r("{{ messages[0].content | upper }} {{ messages|length }} {{ 'x' if eos_token is defined else 'y' }}") == "HI 1 y")
        #expect(try r("{% for i in range(3) %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}") == "0,1,2")
        #expect(try r("{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}") == "02")
        #expect(try r("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;")
        #expect(try r("{{ {'a': [1, 'x\"y']} | tojson }}") == "{\"a\": [1, \"x\\\"y\"]}")
        #expect(try r("{{ ' a b '.strip().split(' ') }}{{ 'Hi'.startswith('H') }}") == "['a', 'b']True")
        #expect(try r("{%- if true -%}\n  x  \n{%- endif -%}\n") == "x")
        #expect(try r("{# comment #}{% set x = 'v' %}{{ x }}{% raw %}{{ kept }}{% endraw %}") == "v{{ kept }}")
        #expect(try r("a\n  {% if true %}\nb\n  {% endif %}\nc") == "a\nb\nc", "trim_blocks and lstrip_blocks")
        #expect(errorMessage { _ = try r("{{ x.y.z }}") } == "chat template: subscript of an undefined value" || (try? r("{{ x.y.z }}")) == "")
        #expect(errorMessage { _ = try r("{% for x in 3 %}{% endfor %}") }?.contains("cannot loop over a integer") == true)
        #expect(errorMessage { _ = try ChatTemplate("{{ 'a' ") }?.contains("unclosed tag") == true)
        #expect(errorMessage { _ = try r("{% for i in range(100000000) %}{% endfor %}") }?.contains("is too long") == true)
        let loop = try ChatTemplate("{% for i in range(1000) %}{% for j in range(10) %}{% endfor %}{% endfor %}")
        #expect(errorMessage { _ = try loop.render(messages: [], addGenerationPrompt: false, bosToken: nil, eosToken: nil, maxSteps: 5000) }?.contains("too many steps") == true)
        #expect((try? loop.render(messages: [], addGenerationPrompt: false, bosToken: nil, eosToken: nil)) == "")
    }
}

@Suite struct HFSaveAndErrors {
    func tmp() -> String {
        let p = NSTemporaryDirectory() + "lathe-hf-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @Test func saveRoundTrip() throws {
        let dir = tmp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gold = try hfJSON("tiny.json")
        for name in ["tiny-llama", "tiny-gpt2", "tiny-bert-cls-f16", "tiny-qwen2-f16"] {
            let m = try HF.load(path: hfGolden + "/" + name)
            let files = try HF.save(m, dir: dir + "/" + name)
            #expect(files.contains("config.json") && files.contains("model.safetensors"))
            let back = try HF.load(path: dir + "/" + name)
            let (ids, mask) = hfInputs(gold[name] as? [String: Any] ?? [:])
            let a = try Autograd.noGrad { () throws(LatheError) in try m.forward([ids, mask]) }.toFloatArray()
            let b = try Autograd.noGrad { () throws(LatheError) in try back.forward([ids, mask]) }.toDoubleArray()
            #expect(close(a, b, rtol: 1e-6, atol: 1e-6), "\(name)")
        }
        // names and layout transformers expects
        let gpt = try SafetensorsFile(path: dir + "/tiny-gpt2/model.safetensors")
        #expect(try gpt.info("transformer.h.0.attn.c_attn.weight").shape == [32, 96])
        #expect(!gpt.contains("lm_head.weight"))
        let cls = try SafetensorsFile(path: dir + "/tiny-bert-cls-f16/model.safetensors")
        #expect(cls.contains("bert.pooler.dense.weight") && cls.contains("classifier.bias"))
        let cfg = try String(contentsOfFile: dir + "/tiny-bert-cls-f16/config.json", encoding: .utf8)
        #expect(cfg.contains("\"BertForSequenceClassification\"") && cfg.contains("\"positive\""))
        #expect(errorMessage { try HF.save(try HF.load(path: hfGolden + "/tiny-llama"), dir: dir + "/tiny-llama") }?.contains("exists") == true)
    }

    @Test func loaderErrorsNameFileAndTensor() throws {
        let dir = tmp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(errorMessage { _ = try HF.load(path: dir + "/none") }?.contains("no such file or folder") == true)
        #expect(errorMessage { _ = try HF.load(path: dir) }?.contains("config.json: no such file") == true)
        let fm = FileManager.default
        for f in ["config.json", "model.safetensors"] {
            try fm.copyItem(atPath: hfGolden + "/tiny-mistral/" + f, toPath: dir + "/" + f)
        }
        let cfgPath = dir + "/config.json"
        let cfg = try String(contentsOfFile: cfgPath, encoding: .utf8)
        try cfg.replacingOccurrences(of: "\"num_key_value_heads\": 1", with: "\"num_key_value_heads\": 2").write(toFile: cfgPath, atomically: true, encoding: .utf8)
        let msg = errorMessage { _ = try HF.load(path: dir) } ?? ""
        #expect(msg.contains("model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [8,32], expected [16,32]"), "\(msg)")
        try cfg.replacingOccurrences(of: "\"num_attention_heads\": 4", with: "\"num_attention_heads\": 3").write(toFile: cfgPath, atomically: true, encoding: .utf8)
        #expect(errorMessage { _ = try HF.load(path: dir) }?.contains("tensor 'model.layers.0.self_attn.q_proj.weight' has shape [32,32], expected [24,32]") == true)
        try cfg.replacingOccurrences(of: "\"mistral\"", with: "\"gpt_neox\"").write(toFile: cfgPath, atomically: true, encoding: .utf8)
        #expect(errorMessage { _ = try HF.load(path: dir) }?.contains("model_type 'gpt_neox' is not supported") == true)
        try cfg.write(toFile: cfgPath, atomically: true, encoding: .utf8)
        // every truncation of the weights file is an error naming it, never a crash
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: hfGolden + "/tiny-mistral/model.safetensors")))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
            let m = errorMessage { _ = try HF.load(path: dir) }
            #expect(m?.contains("model.safetensors") == true, "cut at \(cut): \(m ?? "loaded")")
        }
    }

    @Test func ggufMutationsNeverCrash() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: hfGolden + "/tiny-llama.gguf")))
        let path = NSTemporaryDirectory() + "lathe-hf-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rng = RandomGenerator(seed: 77)
        var failed = 0
        for k in 0..<150 {
            var b = bytes
            if k % 3 == 0 {
                b = Array(b[0..<Int(rng.next() % UInt64(b.count))])
            } else {
                // edits in the header, metadata and tensor table (the first few KB)
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let i = Int(rng.next() % UInt64(min(b.count, 12000)))
                    b[i] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            try Data(b).write(to: URL(fileURLWithPath: path))
            var o = HF.LoadOptions()
            o.quantized = k % 2 == 0
            do { _ = try HF.loadGGUF(path: path, o) } catch {
                failed += 1
                #expect(error.message.contains(path) || error.message.hasPrefix("chat template") || error.message.contains("tokenizer"), "\(error.message)")
            }
        }
        #expect(failed > 50)
    }
}

@Suite struct HFBindingsInEngine {
    @Test func attachSetsTokensTemplateAndLabels() throws {
        var rng = RandomGenerator(seed: 1)
        var cfg = DecoderConfig()
        (cfg.vocab, cfg.layers, cfg.dim, cfg.heads, cfg.maxSeq) = (8, 1, 8, 2, 8)
        let g = try DecoderLM(cfg, rng: &rng)
        var a = HF.Attachments()
        a.tokenizer = try tinyTokenizer(vocab: ["<unk>", "hello", "world", "</s>"])
        a.eosToken = "</s>"
        a.chatTemplate = "{% for m in messages %}{{ m.content }}{% endfor %}"
        try HF.attach(g, a)
        #expect(g.pretrained?.family == "llama" && g.pretrained?.eosIDs == [3] && g.pretrained?.tokenizer != nil)
        #expect(try HF.chatPrompt(g, messages: [("user", "hi")]) == "hi")
        var b = HF.Attachments()
        b.eosIDs = [1, 2]
        b.labels = ["a", "b"]
        b.chatTemplate = "{% for x in y %}"
        #expect(errorMessage { try HF.attach(g, b) }?.contains("endfor") == true)
        b.chatTemplate = nil
        try HF.attach(g, b)
        #expect(g.pretrained?.eosIDs == [1, 2] && g.pretrained?.labels == ["a", "b"] && g.pretrained?.eosToken == "</s>")
    }

    @Test func poolingIsTheHeadsThenTheSentenceModels() throws {
        let m = try HF.load(path: hfGolden + "/tiny-bert")
        #expect(HF.pooling(of: m) == "cls")
        m.pretrained?.sentencePooling = "mean"
        #expect(HF.pooling(of: m) == "mean")
        var rng = RandomGenerator(seed: 1)
        try HF.classifier(m, classes: 2, labels: nil, pooling: "cls", rng: &rng)
        #expect(HF.pooling(of: m) == "cls")
        #expect(HF.pooling(of: try HF.load(path: hfGolden + "/tiny-llama")) == nil)
    }

    @Test func conversationsFromInstructionRecords() {
        let c = HF.conversation(record: ["instruction": "Add", "input": "1 and 2", "output": "3"])
        #expect(c?.map(\.role) == ["user", "assistant"] && c?.map(\.content) == ["Add\n\n1 and 2", "3"])
        #expect(HF.conversation(record: ["prompt": "p", "input": "", "completion": "r"])?.map(\.content) == ["p", "r"])
        #expect(HF.conversation(record: ["prompt": "p"]) == nil)
        #expect(HF.conversation(record: ["response": "r"]) == nil)
    }

    @Test func chatDataPutsTheSystemMessageFirst() throws {
        let m = try HF.load(path: hfGolden + "/tiny-llama")
        let conv: [(role: String, content: String)] = [("user", "the cat"), ("assistant", "sat")]
        let with = try HF.chatData(m, conversations: [conv], system: "Be brief.")
        let explicit = try HF.chatData(m, conversations: [[("system", "Be brief.")] + conv])
        #expect(try with.x.toInt64Array() == explicit.x.toInt64Array())
        #expect(try with.y.toInt64Array() == explicit.y.toInt64Array())
        #expect(with.targetTokens == explicit.targetTokens && with.targetTokens > 0)
    }

    @Test func textStreamGivesTheTextGenerationReturns() throws {
        let tok = try tinyTokenizer()
        func streamed(_ ids: [Int], _ stops: [String]) -> String {
            let s = TextStream(tokenizer: tok, stops: stops)
            return ids.map { s.push($0) }.joined() + s.finish()
        }
        let ids = [1, 2, 3, 1, 2]
        let full = try tok.decode(ids, skipSpecialTokens: true)
        #expect(streamed(ids, []) == full)
        for stops in [["world"], ["d ."], ["o"], [". hello", "zzz"], ["nothing"]] {
            #expect(streamed(ids, stops) == HF.cutAtStop(full, stops) ?? full, "\(stops)")
        }
        // text that may start a stop string waits for the next token
        let s = TextStream(tokenizer: tok, stops: ["world x"])
        #expect(s.push(1) == "hello")
        #expect(s.push(2) == " ")
        #expect(s.push(3) == "world .")
    }

    @Test func labelNamesFallBackToIds() throws {
        let m = try HF.load(path: hfGolden + "/tiny-bert-cls-f16")
        #expect(HF.labelNames(m, [2, 0, 5]) == ["positive", "negative", "5"])
        var rng = RandomGenerator(seed: 1)
        #expect(HF.labelNames(try Encoder(EncoderConfig(), rng: &rng), [0]) == nil)
    }

    @Test func cachedItemsAndFloatNames() {
        #expect(errorMessage { _ = try HF.cachedPath("nope") } == "unknown item 'nope' (expected one of: minilm, smollm2, sms-spam, movie-reviews, trec, chatterbot)")
        #expect(HF.cachedItems.allSatisfy { !$0.path.isEmpty && ["minilm", "smollm2", "data"].contains($0.fetch) })
        #expect(SafetensorsDType(floatName: "bfloat16") == .bf16 && SafetensorsDType(floatName: "f16") == .f16 && SafetensorsDType(floatName: "int8") == nil)
    }
}
