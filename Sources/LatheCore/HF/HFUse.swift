import Foundation

extension HF {
    public static func tokenizer(of model: Module, _ what: String) throws(LatheError) -> TextTokenizer {
        guard let t = model.pretrained?.tokenizer else {
            throw LatheError("\(what) needs the model's tokenizer (load the model with hf.load from a folder with tokenizer.json, or a GGUF file)")
        }
        return t
    }

    // MARK: - sentence embeddings

    public struct EmbedOptions: Sendable {
        public var batchSize = 32
        /// L2-normalize the vectors; nil: as the model's sentence-transformers config says.
        public var normalize: Bool? = nil
        /// Tokens per text (longer texts are truncated); nil: sentence-transformers'
        /// max_seq_length, else the model's maximum.
        public var maxLength: Int? = nil
        /// "mean" or "cls"; nil: the model's sentence-transformers pooling, else mean.
        public var pooling: String? = nil
        public init() {}
    }

    /// Sentence embeddings as sentence-transformers computes them: texts sorted by length into
    /// batches, tokenized with truncation, token states pooled over the attention mask (mean,
    /// or the first token), then L2-normalized when the model has a Normalize module.
    /// Returns float32 [texts, dim] in the order of `texts`.
    public static func embed(_ model: Module, texts: [String], _ o: EmbedOptions = EmbedOptions(),
                             progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> Tensor {
        guard let enc = model as? Encoder else {
            throw LatheError("embed needs an encoder (a BERT-family model), got \(model.typeName)")
        }
        let tok = try tokenizer(of: model, "embed")
        let info = model.pretrained
        guard o.batchSize > 0 else { throw LatheError("batch_size must be positive, got \(o.batchSize)") }
        let pooling = o.pooling ?? info?.sentencePooling ?? "mean"
        guard pooling == "mean" || pooling == "cls" else {
            throw LatheError("the model's sentence pooling '\(pooling)' is not supported (mean or cls)")
        }
        let maxLen = min(o.maxLength ?? info?.sentenceMaxLength ?? enc.config.maxSeq, enc.config.maxSeq)
        guard maxLen > 0 else { throw LatheError("max_length must be positive") }
        let normalize = o.normalize ?? info?.normalizeEmbeddings ?? false
        let dim = enc.config.dim
        let out = try Tensor(uninitialized: [texts.count, dim], dtype: .float32)
        if texts.isEmpty { return out }
        // texts are tokenized once (in parallel), then batched longest first as
        // sentence-transformers does, by token count so batches pad little (the vectors do not
        // depend on the batching)
        let all = try tok.encodeBatch(texts, addSpecialTokens: true, withTokens: false, withOffsets: false,
                                      truncation: .some(TextTruncation(maxLength: maxLen)), padding: .some(nil),
                                      threads: Runtime.threads)
        let order = texts.indices.sorted { (all[$0].count, $1) > (all[$1].count, $0) }
        let wasTraining = enc.training
        enc.setTraining(false)
        defer { enc.setTraining(wasTraining) }
        var done = 0
        try Autograd.noGrad { () throws(LatheError) in
            var start = 0
            while start < order.count {
                try Interrupt.check()
                let idx = Array(order[start..<min(start + o.batchSize, order.count)])
                let encs = idx.map { all[$0] }
                let len = encs.map(\.count).max() ?? 0
                var ids = [Int64](repeating: 0, count: idx.count * len)
                var mask = [Int64](repeating: 0, count: idx.count * len)
                var types = [Int64](repeating: 0, count: idx.count * len)
                for (r, e) in encs.enumerated() {
                    for j in 0..<e.count {
                        ids[r * len + j] = Int64(e.ids[j])
                        mask[r * len + j] = Int64(e.attentionMask[j])
                        types[r * len + j] = Int64(e.typeIds.count > j ? e.typeIds[j] : 0)
                    }
                }
                let idsT = Tensor(int64s: ids, shape: [idx.count, len])
                let maskT = Tensor(int64s: mask, shape: [idx.count, len])
                let states = try enc.tokenStates(idsT, mask: maskT, types: Tensor(int64s: types, shape: [idx.count, len]))
                var pooled = pooling == "cls" ? try states.select(1, 0).contiguous() : try F.meanPool(states, mask: maskT).contiguous()
                if normalize {
                    let norms = try (pooled * pooled).sum(dims: [1], keepdim: true).sqrt().clamp(min: 1e-12, max: nil)
                    pooled = try (pooled / norms).contiguous()
                }
                let pp = pooled.floatPointer, op = out.floatPointer
                for (r, i) in idx.enumerated() { (op + i * dim).update(from: pp + r * dim, count: dim) }
                start += idx.count
                done += idx.count
                progress?(done, texts.count)
            }
        }
        return out
    }

    // MARK: - classification

    /// Class probabilities [texts, classes] of an encoder with a classification head, and the
    /// most likely class of each text.
    public static func predict(_ model: Module, texts: [String], batchSize: Int = 32, maxLength: Int? = nil,
                               progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (probs: Tensor, classes: [Int]) {
        guard let enc = model as? Encoder, let head = enc.classifier else {
            throw LatheError("predict needs an encoder with a classification head (hf.classifier(model, {classes = n}))")
        }
        let tok = try tokenizer(of: model, "predict")
        guard batchSize > 0 else { throw LatheError("batch_size must be positive, got \(batchSize)") }
        let maxLen = min(maxLength ?? enc.config.maxSeq, enc.config.maxSeq)
        let k = head.outFeatures
        let probs = try Tensor(uninitialized: [texts.count, k], dtype: .float32)
        var classes = [Int](repeating: 0, count: texts.count)
        let wasTraining = enc.training
        enc.setTraining(false)
        defer { enc.setTraining(wasTraining) }
        let pad = TextPadding(length: nil, padId: tok.defaultPadId)
        try Autograd.noGrad { () throws(LatheError) in
            var start = 0
            while start < texts.count {
                try Interrupt.check()
                let n = min(batchSize, texts.count - start)
                let encs = try tok.encodeBatch(Array(texts[start..<(start + n)]), withTokens: false, withOffsets: false,
                                               truncation: .some(TextTruncation(maxLength: maxLen)), padding: .some(pad),
                                               threads: Runtime.threads)
                let len = encs.map(\.count).max() ?? 0
                var ids = [Int64](repeating: 0, count: n * len), mask = [Int64](repeating: 0, count: n * len)
                for (r, e) in encs.enumerated() {
                    for j in 0..<e.count { ids[r * len + j] = Int64(e.ids[j]); mask[r * len + j] = Int64(e.attentionMask[j]) }
                }
                let logits = try enc.forward([Tensor(int64s: ids, shape: [n, len]), Tensor(int64s: mask, shape: [n, len])])
                let p = try logits.softmax(-1).contiguous()
                let pp = p.floatPointer
                (probs.floatPointer + start * k).update(from: pp, count: n * k)
                for r in 0..<n {
                    var best = 0
                    for c in 1..<max(k, 1) where pp[r * k + c] > pp[r * k + best] { best = c }
                    classes[start + r] = best
                }
                start += n
                progress?(start, texts.count)
            }
        }
        return (probs, classes)
    }

    /// The label names of class ids (a class the model does not name keeps its id), or nil when
    /// the model names no classes.
    public static func labelNames(_ model: Module, _ classes: [Int]) -> [String]? {
        guard let names = model.pretrained?.labels else { return nil }
        return classes.map { $0 >= 0 && $0 < names.count ? names[$0] : String($0) }
    }

    // MARK: - chat and generation

    /// The prompt text the model's chat template makes of `messages`.
    public static func chatPrompt(_ model: Module, messages: [(role: String, content: String)],
                                  addGenerationPrompt: Bool = true) throws(LatheError) -> String {
        guard let info = model.pretrained, let tpl = info.chatTemplate else {
            throw LatheError("the model has no chat template (tokenizer_config.json 'chat_template', chat_template.jinja or the GGUF 'tokenizer.chat_template')")
        }
        let t = try ChatTemplate(tpl)
        return try t.render(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: info.bosToken, eosToken: info.eosToken)
    }

    /// Generates a continuation of `prompt` (text): tokenized (with the tokenizer's special
    /// tokens when `addSpecialTokens`), decoded with a key/value cache until an end-of-sequence
    /// id of the model or `maxTokens`; returns the new text (special tokens dropped) and ids.
    public static func generate(_ model: Module, prompt: String, _ o: GenerateOptions, addSpecialTokens: Bool = true,
                                onToken: ((Int) -> Void)? = nil) throws(LatheError) -> (text: String, ids: [Int]) {
        guard let lm = model as? DecoderLM else {
            throw LatheError("generation needs a language model (a decoder such as Llama, SmolLM2 or GPT-2), got \(model.typeName)")
        }
        let tok = try tokenizer(of: model, "generation")
        let ids = try tok.encode(prompt, addSpecialTokens: addSpecialTokens, withTokens: false, withOffsets: false).ids
        var g = o
        g.stopIds.formUnion(model.pretrained?.eosIDs ?? [])
        let stops = o.stopStrings.filter { !$0.isEmpty }
        var shouldStop: (([Int]) -> Bool)? = nil
        if !stops.isEmpty {
            // only the text the last token may have completed needs looking at
            let longest = stops.map { $0.utf8.count }.max() ?? 0
            shouldStop = { ids in
                guard let text = try? tok.decode(Array(ids.suffix(longest + 8)), skipSpecialTokens: true) else { return false }
                return stops.contains { text.contains($0) }
            }
        }
        let out = try lm.generate(prompt: ids, g, shouldStop: shouldStop, onToken: onToken)
        var text = try tok.decode(out, skipSpecialTokens: true)
        if let cut = cutAtStop(text, stops) { text = cut }
        return (text, out)
    }

    /// `text` up to the earliest occurrence of any of `stops`, or nil when none occurs.
    public static func cutAtStop(_ text: String, _ stops: [String]) -> String? {
        var first: String.Index? = nil
        for s in stops where !s.isEmpty {
            if let r = text.range(of: s), first == nil || r.lowerBound < first! { first = r.lowerBound }
        }
        return first.map { String(text[..<$0]) }
    }

    /// Applies the chat template to `messages` (with the assistant's turn opened) and
    /// generates the reply.
    public static func chat(_ model: Module, messages: [(role: String, content: String)], _ o: GenerateOptions,
                            onToken: ((Int) -> Void)? = nil) throws(LatheError) -> (text: String, ids: [Int], prompt: String) {
        let prompt = try chatPrompt(model, messages: messages, addGenerationPrompt: true)
        let r = try generate(model, prompt: prompt, o, addSpecialTokens: false, onToken: onToken)
        return (r.text, r.ids, prompt)
    }

    /// Supervised fine-tuning data from conversations whose last message is the reply to
    /// learn: each is rendered with the chat template, tokenized and cut to `maxLength`
    /// tokens; targets are the next tokens with -100 (ignored by the loss) wherever the
    /// token to predict belongs to the prompt, so only the reply (and the template's
    /// end-of-turn) is learned, as TRL's completion-only loss. Rows are right-padded to the
    /// longest; the mask marks real tokens.
    public struct ChatData {
        public var x: Tensor, y: Tensor, mask: Tensor
        public var truncated = 0
        public var targetTokens = 0
    }

    /// `system`, when given, is put first in every conversation as a system message.
    public static func chatData(_ model: Module, conversations: [[(role: String, content: String)]], system: String? = nil,
                                maxLength: Int = 256) throws(LatheError) -> ChatData {
        guard !conversations.isEmpty else { throw LatheError("chat data: no examples") }
        let conversations = system.map { s in conversations.map { [(role: "system", content: s)] + $0 } } ?? conversations
        guard maxLength >= 2 else { throw LatheError("chat data: max_length must be at least 2, got \(maxLength)") }
        let tok = try tokenizer(of: model, "chat data")
        var rows: [(ids: [Int], promptLen: Int)] = []
        var truncated = 0
        for (k, conv) in conversations.enumerated() {
            guard conv.count >= 2, conv.last?.role == "assistant" else {
                throw LatheError("chat data: example \(k + 1) must end with an assistant message after at least one other message")
            }
            let prompt = try chatPrompt(model, messages: Array(conv.dropLast()), addGenerationPrompt: true)
            let full = try chatPrompt(model, messages: conv, addGenerationPrompt: false)
            guard full.hasPrefix(prompt) else {
                throw LatheError("chat data: the chat template does not render the reply after the prompt (example \(k + 1))")
            }
            let pIds = try tok.encode(prompt, addSpecialTokens: false, withTokens: false, withOffsets: false).ids
            var ids = try tok.encode(full, addSpecialTokens: false, withTokens: false, withOffsets: false).ids
            if ids.count < pIds.count || Array(ids[0..<pIds.count]) != pIds {
                // the reply's first token merged across the boundary: tokenize the parts apart
                let rest = String(full.dropFirst(prompt.count))
                ids = pIds + (try tok.encode(rest, addSpecialTokens: false, withTokens: false, withOffsets: false).ids)
            }
            if ids.count > maxLength + 1 { ids = Array(ids.prefix(maxLength + 1)); truncated += 1 }
            rows.append((ids, pIds.count))
        }
        let t = max(1, rows.map { $0.ids.count - 1 }.max() ?? 1)
        let pad = Int64(model.pretrained?.eosIDs.first ?? 0)
        var x = [Int64](repeating: pad, count: rows.count * t)
        var y = [Int64](repeating: -100, count: rows.count * t)
        var m = [Int64](repeating: 0, count: rows.count * t)
        var targets = 0
        for (r, row) in rows.enumerated() {
            for j in 0..<(row.ids.count - 1) {
                x[r * t + j] = Int64(row.ids[j])
                m[r * t + j] = 1
                // position j predicts token j+1: learned only when that token is part of the reply
                if j + 1 >= row.promptLen { y[r * t + j] = Int64(row.ids[j + 1]); targets += 1 }
            }
        }
        if targets == 0 { throw LatheError("chat data: every reply was cut away (max_length \(maxLength) is shorter than the prompts)") }
        return ChatData(x: Tensor(int64s: x, shape: [rows.count, t]), y: Tensor(int64s: y, shape: [rows.count, t]),
                        mask: Tensor(int64s: m, shape: [rows.count, t]), truncated: truncated, targetTokens: targets)
    }

    /// A conversation to learn from a record of an instruction-tuning file: the prompt
    /// (`prompt`, `instruction` or `question`, with a non-empty `input` appended after a blank
    /// line, as Alpaca's files have it) as the user's turn and the reply (`response`, `output`,
    /// `answer` or `completion`) as the assistant's; nil when either is missing.
    public static func conversation(record f: [String: String]) -> [(role: String, content: String)]? {
        guard var prompt = f["prompt"] ?? f["instruction"] ?? f["question"],
              let reply = f["response"] ?? f["output"] ?? f["answer"] ?? f["completion"] else { return nil }
        if let input = f["input"], !input.isEmpty { prompt += "\n\n" + input }
        return [("user", prompt), ("assistant", reply)]
    }

    /// Replies are longer than plain continuations: `chat`'s usual limit of new tokens.
    public static let chatMaxTokens = 256

    // MARK: - classification heads

    /// Gives an encoder a fresh classification head for `classes` labels (names optional) for
    /// fine-tuning; pooling defaults to the model's sentence pooling (mean for
    /// sentence-transformers models), else BERT's pooler when the model has one, else the first
    /// token.
    public static func classifier(_ model: Module, classes: Int, labels: [String]?, pooling: String?,
                                  rng: inout RandomGenerator) throws(LatheError) {
        guard let enc = model as? Encoder else {
            throw LatheError("a classification head needs an encoder (a BERT-family model), got \(model.typeName)")
        }
        if let labels, labels.count != classes {
            throw LatheError("\(labels.count) labels for \(classes) classes")
        }
        let info = model.pretrained
        var p = pooling
        if p == nil {
            if let sp = info?.sentencePooling, sp == "mean" || sp == "cls" { p = sp } else { p = enc.pooler != nil ? "pooler" : "cls" }
        }
        try enc.newHead(classes: classes, pooling: p, rng: &rng)
        if let info { info.labels = labels } else {
            let i = PretrainedInfo(family: "bert", source: "")
            i.labels = labels
            model.pretrained = i
        }
    }
}
