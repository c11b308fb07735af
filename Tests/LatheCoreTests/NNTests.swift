import Foundation
import LatheCore
import Testing

@Suite(.serialized) struct NNGradients {
    @Test func normsAndLosses() throws {
        let x = randTensor([3, 5], seed: 40), w = randTensor([5], seed: 41, lo: 0.5, hi: 1.5), b = randTensor([5], seed: 42)
        try gradcheck("layer_norm", [x, w, b]) { try F.layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        try gradcheck("layer_norm no affine", [x]) { try F.layerNorm($0[0], weight: nil, bias: nil) }
        try gradcheck("rms_norm", [x, w]) { try F.rmsNorm($0[0], weight: $0[1]) }
        let logits = randTensor([4, 6], seed: 43, lo: -2, hi: 2)
        let targets = Tensor(int64s: [1, 5, -100, 0], shape: [4])
        try gradcheck("cross_entropy", [logits]) { try F.crossEntropy($0[0], targets) }
        try gradcheck("cross_entropy smoothing", [logits]) { try F.crossEntropy($0[0], targets, labelSmoothing: 0.1) }
        let cw = Tensor(floats: [1, 2, 0.5, 1, 1, 3], shape: [6])
        try gradcheck("cross_entropy weights", [logits]) { try F.crossEntropy($0[0], targets, weight: cw) }
        try gradcheck("cross_entropy none", [logits]) { try F.crossEntropy($0[0], targets, reduction: "none") }
        try gradcheck("mse", [x, randTensor([3, 5], seed: 44)]) { try F.mse($0[0], $0[1]) }
        try gradcheck("bce", [x]) { try F.bceWithLogits($0[0], Tensor(floats: (0..<15).map { Float($0 % 2) }, shape: [3, 5])) }
    }

    @Test func crossEntropyMatchesDefinition() throws {
        // PyTorch's values for these inputs: loss = mean(logsumexp - x[target]) over counted targets
        let logits = Tensor(floats: [2, 0.5, -1, 0.1, 0.2, 3], shape: [2, 3])
        let l = try F.crossEntropy(logits, Tensor(int64s: [0, 2], shape: [2])).item()
        let r0 = Foundation.log(Foundation.exp(2.0) + Foundation.exp(0.5) + Foundation.exp(-1.0)) - 2
        let r1 = Foundation.log(Foundation.exp(0.1) + Foundation.exp(0.2) + Foundation.exp(3.0)) - 3
        #expect(abs(l - (r0 + r1) / 2) < 1e-6)
        // weighted mean divides by the summed weights of the targets
        let w = Tensor(floats: [2, 1, 0.5], shape: [3])
        let lw = try F.crossEntropy(logits, Tensor(int64s: [0, 2], shape: [2]), weight: w).item()
        #expect(abs(lw - (2 * r0 + 0.5 * r1) / 2.5) < 1e-6)
        #expect(throws: LatheError.self) { try F.crossEntropy(logits, Tensor(int64s: [0, 3], shape: [2])) }
    }

    @Test func attentionMatchesComposedOps() throws {
        // fused attention == softmax(q k^T / sqrt(d) + causal mask) v computed with tensor ops
        let (b, t, h, d) = (2, 5, 2, 4)
        let q = randTensor([b, t, h * d], seed: 50), k = randTensor([b, t, h * d], seed: 51), v = randTensor([b, t, h * d], seed: 52)
        let fused = try F.attention(q, k, v, heads: h, kvHeads: h, causal: true)
        let qh = try q.reshape([b, t, h, d]).transpose(1, 2), kh = try k.reshape([b, t, h, d]).transpose(1, 2), vh = try v.reshape([b, t, h, d]).transpose(1, 2)
        var scores = try Tensor.matmul(qh, kh.transpose(-1, -2)).mulScalar(1 / Double(d).squareRoot())
        var maskVals = [Bool]()
        for i in 0..<t { for j in 0..<t { maskVals.append(j > i) } }
        scores = try scores.maskedFill(Tensor(bools: maskVals, shape: [t, t]), -1e30)
        let ref = try Tensor.matmul(scores.softmax(-1), vh).transpose(1, 2).reshape([b, t, h * d])
        #expect(close(fused.toFloatArray(), ref.toDoubleArray(), rtol: 1e-5, atol: 1e-6))
    }

    /// Long causal sequences run in blocks of query rows that skip unseen keys: outputs and
    /// all three gradients equal a plain float64 computation, with more queries than one
    /// block, fewer queries than keys (a cached prefix), grouped-query heads and padding.
    @Test func blockedCausalAttentionMatchesFloat64() throws {
        for (t, s, masked) in [(70, 70, false), (40, 75, true), (33, 33, true)] {
            let (bsz, heads, kvh, d) = (2, 4, 2, 8)
            let q = randTensor([bsz, t, heads * d], seed: 90), k = randTensor([bsz, s, kvh * d], seed: 91)
            let v = randTensor([bsz, s, kvh * d], seed: 92), w = randTensor([bsz, t, heads * d], seed: 93)
            var mvals = [Float](repeating: 1, count: bsz * s)
            if masked { for j in 0..<5 { mvals[s + j] = 0 } }   // the second sequence is left-padded by 5
            let mask = Tensor(floats: mvals, shape: [bsz, s])
            for x in [q, k, v] { x.requiresGrad = true }
            let out = try F.attention(q, k, v, heads: heads, kvHeads: kvh, causal: true, keyMask: masked ? mask : nil)
            try (out * w).sum().backward()
            let Q = q.toDoubleArray(), K = k.toDoubleArray(), V = v.toDoubleArray(), W = w.toDoubleArray()
            var O = [Double](repeating: 0, count: Q.count), dQ = O
            var dK = [Double](repeating: 0, count: K.count), dV = dK
            let sc = 1 / Double(d).squareRoot(), group = heads / kvh, shift = s - t
            for b in 0..<bsz {
                for h in 0..<heads {
                    let kh = h / group
                    func qi(_ i: Int, _ c: Int) -> Int { (b * t + i) * heads * d + h * d + c }
                    func kj(_ j: Int, _ c: Int) -> Int { (b * s + j) * kvh * d + kh * d + c }
                    var P = [[Double]](repeating: [Double](repeating: 0, count: s), count: t)
                    for i in 0..<t {
                        let vis = (0..<s).filter { $0 <= i + shift && mvals[b * s + $0] != 0 }
                        var sc_ = [Double](repeating: -Double.infinity, count: s)
                        for j in vis { sc_[j] = (0..<d).reduce(0) { $0 + Q[qi(i, $1)] * K[kj(j, $1)] } * sc }
                        let m = vis.map { sc_[$0] }.max() ?? 0
                        let z = vis.reduce(0) { $0 + Foundation.exp(sc_[$1] - m) }
                        for j in vis { P[i][j] = Foundation.exp(sc_[j] - m) / z }
                        for c in 0..<d { O[qi(i, c)] = (0..<s).reduce(0) { $0 + P[i][$1] * V[kj($1, c)] } }
                    }
                    for i in 0..<t {
                        let dP = (0..<s).map { j in (0..<d).reduce(0) { $0 + W[qi(i, $1)] * V[kj(j, $1)] } }
                        let dot = (0..<s).reduce(0) { $0 + dP[$1] * P[i][$1] }
                        for j in 0..<s where P[i][j] != 0 {
                            let ds = P[i][j] * (dP[j] - dot) * sc
                            for c in 0..<d {
                                dV[kj(j, c)] += P[i][j] * W[qi(i, c)]
                                dQ[qi(i, c)] += ds * K[kj(j, c)]
                                dK[kj(j, c)] += ds * Q[qi(i, c)]
                            }
                        }
                    }
                }
            }
            #expect(close(out.toFloatArray(), O, rtol: 1e-4, atol: 1e-5), "output t \(t) s \(s)")
            #expect(close(q.grad!.toFloatArray(), dQ, rtol: 1e-4, atol: 1e-5), "dq t \(t) s \(s)")
            #expect(close(k.grad!.toFloatArray(), dK, rtol: 1e-4, atol: 1e-5), "dk t \(t) s \(s)")
            #expect(close(v.grad!.toFloatArray(), dV, rtol: 1e-4, atol: 1e-5), "dv t \(t) s \(s)")
        }
    }

    @Test func attentionGradients() throws {
        let (b, t, d) = (2, 4, 3)
        let q = randTensor([b, t, 2 * d], seed: 60), k = randTensor([b, t, 2 * d], seed: 61), v = randTensor([b, t, 2 * d], seed: 62)
        try gradcheck("attention causal", [q, k, v]) { try F.attention($0[0], $0[1], $0[2], heads: 2, kvHeads: 2, causal: true) }
        let mask = Tensor(floats: [1, 1, 1, 0, 1, 1, 0, 0], shape: [2, 4])
        try gradcheck("attention masked", [q, k, v]) { try F.attention($0[0], $0[1], $0[2], heads: 2, kvHeads: 2, causal: false, keyMask: mask) }
        let q4 = randTensor([b, t, 4 * d], seed: 63)
        try gradcheck("attention grouped-query", [q4, k, v]) { try F.attention($0[0], $0[1], $0[2], heads: 4, kvHeads: 2, causal: true) }
        let x = randTensor([1, 3, 2, 4], seed: 64)
        let (c, s) = try F.ropeTables(headDim: 4, maxPositions: 8, theta: 10000)
        try gradcheck("rope", [x]) { try F.rope($0[0], cos: c, sin: s, offset: 2) }
    }

    @Test func kvCacheDecodingMatchesFullForward() throws {
        var rng = RandomGenerator(seed: 3)
        var cfg = DecoderConfig()
        cfg.vocab = 20; cfg.layers = 2; cfg.dim = 16; cfg.heads = 4; cfg.kvHeads = 2; cfg.maxSeq = 16
        cfg.positions = "rotary"; cfg.norm = .rms; cfg.gated = true; cfg.activation = .silu; cfg.bias = false
        let m = try DecoderLM(cfg, rng: &rng)
        m.setTraining(false)
        let ids: [Int64] = [3, 7, 1, 19, 4, 4, 0]
        let full = try Autograd.noGrad { () throws -> Tensor in try m.logits(Tensor(int64s: ids, shape: [1, ids.count])) }
        let caches = try m.makeCaches(maxLength: 16)
        var stepLogits: [Float] = []
        try Autograd.noGrad { () throws in
            let first = try m.logits(Tensor(int64s: Array(ids.prefix(3)), shape: [1, 3]), caches: caches)
            stepLogits += first.toFloatArray()
            for i in 3..<ids.count {
                stepLogits += try m.logits(Tensor(int64s: [ids[i]], shape: [1, 1]), caches: caches).toFloatArray()
            }
        }
        #expect(close(stepLogits, full.toDoubleArray(), rtol: 1e-4, atol: 1e-5))
    }

    @Test func modelGradients() throws {
        var rng = RandomGenerator(seed: 5)
        var cfg = DecoderConfig()
        cfg.vocab = 11; cfg.layers = 1; cfg.dim = 8; cfg.heads = 2; cfg.maxSeq = 6
        let m = try DecoderLM(cfg, rng: &rng)
        let ids = Tensor(int64s: [1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 4])
        let targets = Tensor(int64s: [2, 3, 4, 5, 6, 7, 8, 9], shape: [8])
        // check a few weight matrices of the whole model against finite differences
        let params = m.namedParameters().filter { ["layers.0.attn.q_proj.weight", "layers.0.mlp.down_proj.bias", "embed.weight"].contains($0.0) }.map { $0.1 }
        try gradcheck("gpt", params, atol: 3e-3) { _ in try F.crossEntropy(m.logits(ids).reshape([8, 11]), targets) }
    }

    @Test func loraStartsAsBaseAndMergesExactly() throws {
        var rng = RandomGenerator(seed: 8)
        var cfg = DecoderConfig()
        cfg.vocab = 16; cfg.layers = 2; cfg.dim = 8; cfg.heads = 2; cfg.maxSeq = 8
        let m = try DecoderLM(cfg, rng: &rng)
        m.setTraining(false)
        let ids = Tensor(int64s: [1, 5, 9, 2], shape: [1, 4])
        let before = try Autograd.noGrad { () throws -> Tensor in try m.logits(ids) }.toFloatArray()
        var c = LoRA.Config()
        c.r = 2; c.alpha = 4
        let paths = try LoRA.apply(m, c, rng: &rng)
        #expect(paths == ["layers.0.attn.q_proj", "layers.0.attn.v_proj", "layers.1.attn.q_proj", "layers.1.attn.v_proj"])
        #expect(try Autograd.noGrad { () throws -> Tensor in try m.logits(ids) }.toFloatArray() == before)
        let (tr, all, _) = LoRA.counts(m)
        #expect(tr == 4 * 2 * (8 + 8))
        #expect(all == m.parameterCount())
        // give B values, then merging must not change the outputs
        for (_, lin) in LoRA.adapted(m) { try lin.lora!.b.assign(randTensor([8, 2], seed: 9)) }
        let adapted = try Autograd.noGrad { () throws -> Tensor in try m.logits(ids) }
        #expect(adapted.toFloatArray() != before)
        #expect(try LoRA.merge(m) == 4)
        let merged = try Autograd.noGrad { () throws -> Tensor in try m.logits(ids) }
        #expect(close(merged.toFloatArray(), adapted.toDoubleArray(), rtol: 1e-5, atol: 1e-5))
        #expect(try LoRA.unmerge(m) == 4)
        #expect(close(try Autograd.noGrad { () throws -> Tensor in try m.logits(ids) }.toFloatArray(), adapted.toDoubleArray(), rtol: 1e-5, atol: 1e-5))
        // frozen base weights get no gradient at all
        m.setTraining(true)
        try F.crossEntropy(m.logits(ids).reshape([4, 16]), Tensor(int64s: [1, 2, 3, 4], shape: [4])).backward()
        for (name, t) in m.namedParameters() {
            if name.contains("lora_") { #expect(t.grad != nil, "\(name)") } else { #expect(t.grad == nil, "\(name)") }
        }
        var bad = LoRA.Config()
        bad.targets = ["query"]
        #expect(throws: LatheError.self) { try LoRA.apply(m, bad, rng: &rng) }
    }

    @Test func loraLinearGradients() throws {
        let x = randTensor([2, 3, 5], seed: 70), w = randTensor([4, 5], seed: 71), bias = randTensor([4], seed: 72)
        let a = randTensor([2, 5], seed: 73), b = randTensor([4, 2], seed: 74)
        try gradcheck("lora_linear", [x, w, a, b, bias]) {
            try F.loraLinear($0[0], weight: $0[1], bias: $0[4], a: $0[2], b: $0[3], scale: 1.5, dropout: 0, training: true)
        }
        // equals the composed form
        let fused = try F.loraLinear(x, weight: w, bias: bias, a: a, b: b, scale: 1.5, dropout: 0, training: false)
        let composed = try Tensor.linear(x, w, bias) + Tensor.linear(Tensor.linear(x, a, nil), b, nil).mulScalar(1.5)
        #expect(close(fused.toFloatArray(), composed.toDoubleArray(), rtol: 1e-5, atol: 1e-6))
    }

    @Test func schedules() throws {
        let s = try Schedule(kind: .cosine, lr: 1, warmup: 10, total: 110, minLR: 0.1)
        #expect(abs(s.lr(at: 0) - 0.1) < 1e-12)
        #expect(abs(s.lr(at: 9) - 1) < 1e-12)
        #expect(abs(s.lr(at: 10) - 1) < 1e-12)
        #expect(abs(s.lr(at: 60) - 0.55) < 1e-12)
        #expect(abs(s.lr(at: 110) - 0.1) < 1e-12)
        let l = try Schedule(kind: .linear, lr: 2, total: 4)
        #expect(l.list(5) == [2, 1.5, 1, 0.5, 0])
        let st = try Schedule(kind: .step, lr: 1, stepSize: 2, gamma: 0.5)
        #expect(st.list(5) == [1, 1, 0.5, 0.5, 0.25])
        #expect(throws: LatheError.self) { try Schedule(kind: .cosine, lr: 1) }
        #expect(throws: LatheError.self) { try Schedule(kind: .linear, lr: 1, warmup: 20, total: 10) }
    }

    @Test func earlyStoppingObservesAndResumes() throws {
        var es = EarlyStopping()
        es.patience = 2
        es.minDelta = 0.1
        es.mode = "min"
        // NaN is never a first best; a gain within min_delta is not an improvement
        #expect(es.observe(.nan, step: 1) == .worse)
        #expect(es.observe(1.0, step: 2) == .improved)
        #expect(es.observe(0.95, step: 3) == .worse)
        #expect(es.best == 1.0 && es.bestStep == 2 && es.badEvals == 1)
        // only the progress is written; settings come from the run that resumes
        let saved = try JSONDecoder().decode(EarlyStopping.self, from: JSONEncoder().encode(es))
        #expect(saved.best == 1.0 && saved.bestStep == 2 && saved.badEvals == 1 && saved.patience == 3)
        var resumed = es
        resumed.patience = 5
        resumed = resumed.continuing(saved)
        #expect(resumed.patience == 5 && resumed.badEvals == 1)
        #expect(es.observe(0.99, step: 4) == .stop)
        #expect(es.shouldStop)
        #expect(resumed.observe(0.5, step: 4) == .improved && resumed.badEvals == 0 && resumed.bestStep == 4)
        var up = EarlyStopping.trackingOnly(higherIsBetter: true)
        #expect(up.observe(0.5, step: 1) == .improved)
        for s in 2...50 { #expect(up.observe(0.4, step: s) == .worse) }
        #expect(up.best == 0.5 && !up.shouldStop)
    }

    @Test func optimizersMatchPyTorchFormulas() throws {
        // one AdamW step by hand (torch.optim.AdamW, lr 0.1, wd 0.01): p = p*(1 - lr*wd) - lr*m_hat/(sqrt(v_hat)+eps)
        let p = Tensor(floats: [1, -2], shape: [2])
        try p.setRequiresGrad(true)
        let opt = try Optimizer(.adamw, params: [("p", p)], lr: 0.1, weightDecay: 0.01)
        p.grad = Tensor(floats: [0.5, -1], shape: [2])
        try opt.step()
        // first step: m_hat = g, v_hat = g^2 -> update = lr * g/(|g| + eps) = lr * sign(g)
        let expect: [Double] = [1 * (1 - 0.001) - 0.1 * 0.5 / (0.5 + 1e-8), -2 * (1 - 0.001) + 0.1 * 1 / (1 + 1e-8)]
        #expect(close(p.toFloatArray(), expect, rtol: 1e-6, atol: 1e-7))
        // three steps of AdamW and of Adam (L2 decay in the gradient) on 37 values (vector body and
        // tail), against float64 formulas
        for kind in [Optimizer.Kind.adamw, .adam] {
            let n = 37
            let start = (0..<n).map { Float(($0 * 7) % 11) * 0.3 - 1.4 }
            let w = Tensor(floats: start, shape: [n])
            try w.setRequiresGrad(true)
            let o = try Optimizer(kind, params: [("w", w)], lr: 0.01, weightDecay: 0.1)
            var P = start.map(Double.init), M = [Double](repeating: 0, count: n), V = M
            for t in 1...3 {
                let g = (0..<n).map { Float((($0 + t) * 5) % 13) * 0.2 - 1.1 }
                w.grad = Tensor(floats: g, shape: [n])
                try o.step()
                let bc1 = 1 - Foundation.pow(0.9, Double(t)), bc2 = 1 - Foundation.pow(0.999, Double(t))
                for i in 0..<n {
                    var gi = Double(g[i])
                    if kind == .adam { gi += 0.1 * P[i] } else { P[i] *= 1 - 0.01 * 0.1 }
                    M[i] = 0.9 * M[i] + 0.1 * gi
                    V[i] = 0.999 * V[i] + 0.001 * gi * gi
                    P[i] -= 0.01 * (M[i] / bc1) / ((V[i] / bc2).squareRoot() + 1e-8)
                }
            }
            #expect(close(w.toFloatArray(), P, rtol: 1e-5, atol: 1e-6), "\(kind)")
        }
        // SGD with momentum 0.9, Nesterov
        let q = Tensor(floats: [1], shape: [1])
        try q.setRequiresGrad(true)
        let sgd = try Optimizer(.sgd, params: [("q", q)], lr: 0.1)
        sgd.momentum = 0.9
        sgd.nesterov = true
        q.grad = Tensor(floats: [1], shape: [1])
        try sgd.step()   // buf = 1; step = g + 0.9*buf = 1.9
        #expect(abs(q.toFloatArray()[0] - (1 - 0.19)) < 1e-6)
        q.grad = Tensor(floats: [1], shape: [1])
        try sgd.step()   // buf = 0.9 + 1 = 1.9; step = 1 + 0.9*1.9 = 2.71
        #expect(abs(q.toFloatArray()[0] - (0.81 - 0.271)) < 1e-6)
    }
}

@Suite struct ModuleReports {
    func mlp() throws -> MLPModel {
        var rng = RandomGenerator(seed: 1)
        return try MLPModel(sizes: [4, 8, 2], activation: .relu, dropout: 0, rng: &rng)
    }

    @Test func headlineSummaryAndWeightBytes() throws {
        let m = try mlp()
        #expect(m.headline == "MLP: 58 parameters")
        try m.setTrainable(glob: "0.*", false)
        #expect(m.headline == "MLP: 58 parameters, 18 trainable")
        #expect(m.summary().split(separator: "\n").map(String.init) == [
            "MLP: 58 parameters, 18 trainable (31.03%)",
            "module  type    shapes     params  trainable",
            "0       Linear  [8,4] [8]      40  frozen",
            "2       Linear  [2,8] [2]      18  yes",
        ])
        #expect(m.weightBytes == 58 * 4)
        // a tied head shares the embedding's storage: counted once
        var rng = RandomGenerator(seed: 2)
        var cfg = DecoderConfig()
        (cfg.vocab, cfg.layers, cfg.dim, cfg.heads, cfg.maxSeq) = (16, 1, 8, 2, 4)
        let g = try DecoderLM(cfg, rng: &rng)
        #expect(g.weightBytes == g.parameterCount() * 4)
        #expect(g.module(at: "layers.0.attn") is SelfAttention)
        #expect(g.module(at: "layers.7") == nil)
    }

    @Test func globsThatMatchNothingAreErrors() throws {
        let m = try mlp()
        #expect(errorMessage { try m.setTrainable(glob: "layers.*", true) } == "no parameter matches 'layers.*' (paths look like 0.weight, 0.bias, 2.weight)")
        #expect(try m.setTrainable(glob: "*.bias", false) == 2)
        #expect(m.parameterCount(trainableOnly: true) == 48)
    }

    @Test func safetensorsRoundTrip() throws {
        let p = NSTemporaryDirectory() + "lathe-module-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: p) }
        let a = try mlp()
        try a.save(safetensors: p)
        #expect(errorMessage { try a.save(safetensors: p) }?.contains("exists") == true)
        var rng = RandomGenerator(seed: 9)
        let b = try MLPModel(sizes: [4, 8, 2], activation: .relu, dropout: 0, rng: &rng)
        let r = try b.load(safetensors: p)
        #expect(r.missing.isEmpty && r.unexpected.isEmpty)
        for ((n, x), (_, y)) in zip(a.namedParameters(), b.namedParameters()) { #expect(x.toFloatArray() == y.toFloatArray(), "\(n)") }
        var rng2 = RandomGenerator(seed: 3)
        let deeper = try MLPModel(sizes: [4, 8, 2, 5], activation: .relu, dropout: 0, rng: &rng2)
        let loose = try deeper.load(safetensors: p, strict: false)
        #expect(loose.missing == ["4.weight", "4.bias"] && loose.unexpected.isEmpty)
        #expect(errorMessage { try deeper.load(safetensors: p) }?.contains("missing: 4.weight, 4.bias") == true)
    }

    @Test func decoderConfigByNames() throws {
        var cfg = DecoderConfig()
        #expect(cfg.mlp == "gelu" && !cfg.gated)
        try cfg.setMLP("swiglu")
        #expect(cfg.gated && cfg.activation == .silu && cfg.mlp == "swiglu")
        try cfg.setMLP("gelu_tanh")
        #expect(!cfg.gated && cfg.activation == .geluTanh)
        #expect(errorMessage { try cfg.setMLP("geglu") } == "unknown MLP 'geglu' (expected one of: swiglu, relu, gelu, gelu_tanh, silu, tanh, sigmoid)")
        #expect(DecoderConfig.mlpKinds.allSatisfy { (try? cfg.setMLP($0)) != nil && cfg.mlp == $0 })
        #expect(BlockStyle.Norm.rms.defaultEps == 1e-6 && BlockStyle.Norm.layer.defaultEps == 1e-5)
    }

    @Test func rotaryAttentionMovesWithPosition() throws {
        // with rotary positions, the same token at two positions attends differently
        var rng = RandomGenerator(seed: 4)
        let a = try SelfAttention(dim: 8, heads: 2, causal: false, bias: false, rng: &rng)
        let x = Tensor(floats: (0..<24).map { Float($0 % 5) / 5 }, shape: [1, 3, 8])
        let plain = try a.forward([x]).toFloatArray()
        try a.useRotary(maxPositions: 16, theta: 10000)
        #expect(a.rope?.cos.shape == [16, 4])
        let rotated = try a.forward([x]).toFloatArray()
        #expect(plain != rotated)
    }
}

@Suite struct SeededStreams {
    @Test func aSeedGivesAPrivateReproducibleStream() {
        let a = Runtime.withRNG(seed: 7) { r in (0..<4).map { _ in r.next() } }
        let b = Runtime.withRNG(seed: 7) { r in (0..<4).map { _ in r.next() } }
        var fresh = RandomGenerator(seed: 7)
        #expect(a == b && a == (0..<4).map { _ in fresh.next() })
        #expect(Runtime.withRNG(seed: -1) { $0.next() } == { var r = RandomGenerator(seed: UInt64(bitPattern: -1)); return r.next() }())
    }
}
