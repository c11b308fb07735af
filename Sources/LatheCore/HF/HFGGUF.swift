import Foundation

extension HF {
    /// Loads a llama.cpp GGUF file of a Llama-architecture model (Llama, SmolLM, Mistral-style)
    /// as a `DecoderLM` with Hugging Face Llama names: tensors renamed, the q/k rows un-permuted
    /// back to the HF layout, the config taken from the metadata, and the embedded tokenizer
    /// and chat template attached. With `quantized`, linear layers stored as Q8_0, Q4_0 or Q4_1
    /// stay packed (`QuantLinear`, dequantized block by block inside the product); otherwise
    /// every tensor is dequantized to float32. The token embedding (and the tied output head)
    /// is float32 either way.
    public static func loadGGUF(path: String, _ o: LoadOptions = LoadOptions(), progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> Module {
        let g = try GGUFFile(path: path)
        let arch = g.architecture ?? "?"
        guard arch == "llama" else {
            throw LatheError("\(path): architecture '\(arch)' is not supported (GGUF files of the 'llama' architecture: Llama, SmolLM, Mistral-style models)")
        }
        if g.contains("rope_freqs.weight") {
            throw LatheError("\(path): rope frequency factors (rope_freqs.weight, Llama 3.1-style scaling) are not supported in GGUF files yet")
        }
        if let t = g["\(arch).rope.scaling.type"]?.string, t != "none" {
            throw LatheError("\(path): rope scaling '\(t)' is not supported in GGUF files yet")
        }
        let hc = try GGUFLlama.config(g)
        if let d = g["\(arch).rope.dimension_count"]?.int, d != hc.headDim {
            throw LatheError("\(path): rotary dimension \(d) differs from head_dim \(hc.headDim) (partial rotary is not supported)")
        }
        guard hc.headDim % 2 == 0, hc.numAttentionHeads % hc.numKeyValueHeads == 0 else {
            throw LatheError("\(path): heads \(hc.numAttentionHeads) / kv heads \(hc.numKeyValueHeads) / head_dim \(hc.headDim) do not make a valid attention layout")
        }
        // llama.cpp refuses a file whose block_count disagrees with its blk.N tensors; a count
        // of 0 would otherwise give an empty model and 4e9 would allocate until memory runs out
        var blocks = Set<Int>()
        for t in g.tensors where t.name.hasPrefix("blk.") {
            if let n = Int(t.name.dropFirst(4).prefix { $0 != "." }) { blocks.insert(n) }
        }
        let have = (blocks.max() ?? -1) + 1
        guard hc.numHiddenLayers == have else {
            throw LatheError("\(path): metadata \(arch).block_count is \(hc.numHiddenLayers), but the file holds tensors for \(have) block\(have == 1 ? "" : "s")")
        }
        guard hc.ropeTheta > 0, hc.rmsNormEps >= 0 else {
            throw LatheError("\(path): \(arch).rope.freq_base must be positive and the norm epsilon not negative (got \(hc.ropeTheta) and \(hc.rmsNormEps))")
        }
        var c = DecoderConfig()
        c.naming = "llama"
        c.vocab = hc.vocabSize
        c.dim = hc.hiddenSize
        c.layers = hc.numHiddenLayers
        c.heads = hc.numAttentionHeads
        c.kvHeads = hc.numKeyValueHeads
        c.headDim = hc.headDim
        c.hidden = hc.intermediateSize
        c.maxSeq = min(o.maxSeq ?? min(hc.maxPositionEmbeddings, defaultMaxSeq), hc.maxPositionEmbeddings)
        c.activation = .silu
        c.gated = true
        c.norm = .rms
        c.normEps = Float(hc.rmsNormEps)
        c.positions = "rotary"
        c.ropeTheta = hc.ropeTheta
        c.tieEmbeddings = hc.tieWordEmbeddings
        c.bias = false
        c.dropout = 0
        guard c.vocab > 0, c.dim > 0, c.heads > 0, c.maxSeq > 0, (c.hidden ?? 0) > 0 else {
            throw LatheError("\(path): sizes in the metadata must be positive")
        }
        var rng = Runtime.rng
        let model = try Init.withoutRandomInit { () throws(LatheError) in try DecoderLM(c, rng: &rng) }
        // HF name -> GGUF tensor
        var byHF: [String: GGUFTensorInfo] = [:]
        for t in g.tensors { if let n = GGUFLlama.hfName(for: t.name) { byHF[n] = t } }
        let modules = Dictionary(model.namedModules().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        let params = model.namedParameters()
        var replacements: [(String, QuantLinear)] = []
        for (i, (name, p)) in params.enumerated() {
            try Interrupt.check()
            guard let t = byHF[name] else {
                let expected = GGUFLlama.ggufName(for: name) ?? name
                throw LatheError("\(path): no tensor '\(expected)' (the model's \(name))")
            }
            guard t.shape == p.shape else {
                throw LatheError("\(path): tensor '\(t.name)' has shape \(Tensor.shapeString(t.shape)), expected \(p.shapeString) from the metadata")
            }
            let modulePath = String(name.dropLast(".weight".count))
            if o.quantized, name.hasSuffix(".weight"), modules[modulePath] is Linear, QuantizedMatrix.supported.contains(t.type) {
                let heads = name.hasSuffix("q_proj.weight") ? hc.numAttentionHeads : (name.hasSuffix("k_proj.weight") ? hc.numKeyValueHeads : 0)
                let q = try g.withRawData(t.name) { (b) throws(LatheError) -> QuantizedMatrix in
                    if heads > 0 {
                        let rows = try unpermutedRows(b, rows: t.shape[0], heads: heads)
                        return try withRawBytes(of: rows) { (rb) throws(LatheError) in
                            try QuantizedMatrix(type: t.type, rows: t.shape[0], cols: t.shape[1], bytes: rb)
                        }
                    }
                    return try QuantizedMatrix(type: t.type, rows: t.shape[0], cols: t.shape[1], bytes: b)
                }
                replacements.append((modulePath, try QuantLinear(q, bias: nil)))
            } else {
                let (_, w) = try GGUFLlama.hfTensor(g, t.name, config: hc)
                try Autograd.noGrad { () throws(LatheError) in try p.assign(w) }
            }
            progress?(i + 1, params.count)
        }
        for (p, q) in replacements { try model.replaceModule(at: p, with: q) }
        let info = PretrainedInfo(family: "llama", source: path)
        info.quantized = !replacements.isEmpty
        var cfgJSON = try TextJSON.parse(hc.jsonText)
        cfgJSON = cfgJSON.setting("max_position_embeddings", .int(hc.maxPositionEmbeddings))
        info.config = cfgJSON
        if o.tokenizer, g["tokenizer.ggml.model"] != nil {
            let gt = try g.tokenizer()
            let tj = try tokenizerJSON(gt, path: path)
            do { info.tokenizer = try TextTokenizer(json: tj) } catch { throw LatheError("\(path): embedded tokenizer: \(error.message)") }
            info.chatTemplate = gt.chatTemplate
            info.bosToken = gt.bosID.map { gt.tokens[$0] }
            info.eosToken = gt.eosID.map { gt.tokens[$0] }
            info.padToken = gt.paddingID.map { gt.tokens[$0] }
            info.eosIDs = gt.eosID.map { [$0] } ?? []
            var tc: [(String, TextJSON)] = [("tokenizer_class", .string("PreTrainedTokenizerFast"))]
            if let b = info.bosToken { tc.append(("bos_token", .string(b))) }
            if let e = info.eosToken { tc.append(("eos_token", .string(e))) }
            if let p = info.padToken { tc.append(("pad_token", .string(p))) }
            if let u = gt.unknownID { tc.append(("unk_token", .string(gt.tokens[u]))) }
            tc.append(("model_max_length", .int(hc.maxPositionEmbeddings)))
            if let t = gt.chatTemplate { tc.append(("chat_template", .string(t))) }
            info.tokenizerConfig = .object(tc)
        }
        model.pretrained = info
        model.setTraining(false)
        return model
    }

    /// Packed rows of a q_proj/k_proj in llama.cpp's order, reordered to Hugging Face's
    /// (whole rows move, so the blocks stay intact).
    static func unpermutedRows(_ b: UnsafeRawBufferPointer, rows: Int, heads: Int) throws(LatheError) -> [UInt8] {
        guard heads > 0, rows % (2 * heads) == 0, rows > 0, b.count % rows == 0 else {
            throw LatheError("unpermute: \(rows) rows cannot be split into \(heads) heads of two rotary halves")
        }
        let rowBytes = b.count / rows
        let D = rows / heads, half = D / 2
        var out = [UInt8](repeating: 0, count: b.count)
        out.withUnsafeMutableBytes { o in
            for h in 0..<heads {
                for part in 0..<2 {
                    for j in 0..<half {
                        let to = h * D + part * half + j, from = h * D + 2 * j + part
                        (o.baseAddress! + to * rowBytes).copyMemory(from: b.baseAddress! + from * rowBytes, byteCount: rowBytes)
                    }
                }
            }
        }
        return out
    }
}

extension GGUFLlama {
    /// The GGUF name of a Hugging Face Llama tensor name (the inverse of `hfName(for:)`).
    public static func ggufName(for hf: String) -> String? {
        let parts = hf.split(separator: ".").map(String.init)
        guard let suffix = parts.last else { return nil }
        let stem = parts.dropLast().joined(separator: ".")
        if let t = topLevel.first(where: { $0.value == stem })?.key { return "\(t).\(suffix)" }
        if parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) {
            let rest = parts[3..<(parts.count - 1)].joined(separator: ".")
            if let k = perLayer.first(where: { $0.value == rest })?.key { return "blk.\(layer).\(k).\(suffix)" }
        }
        return nil
    }
}
