import Foundation

/// The transformers class a Lathe model stands for, and how Lathe's parameter paths map to that
/// class's state-dict names. transformers nests a family's backbone under its
/// `base_model_prefix` in head classes (BertForSequenceClassification: `bert.encoder...`, head
/// `classifier` at the top) and not in the backbone class itself (BertModel: `encoder...`); it
/// accepts either form when loading. Lathe's encoders use BertModel's names; its decoders built
/// with HF names already carry the prefix (`model.layers...`, `transformer.h...`). `HF.save`,
/// `HF.load` and the PEFT adapter files all map names through this one type.
public struct HFLayout: Sendable, Equatable {
    /// The transformers class: BertModel, BertForSequenceClassification, LlamaForCausalLM, ...
    public let architecture: String
    /// The family's `base_model_prefix` ("bert", "model", "transformer").
    public let basePrefix: String
    /// Whether the class is a head class that nests the backbone under `basePrefix`.
    public let nested: Bool
    /// The head class's own top-level modules (not under `basePrefix`).
    public let headModules: [String]
    /// The prefix Lathe's own paths carry for the backbone.
    let lathePrefix: String

    /// BERT as BertModel (`nested` false) or BertForSequenceClassification.
    public static func bert(classifier: Bool) -> HFLayout {
        HFLayout(architecture: classifier ? "BertForSequenceClassification" : "BertModel", basePrefix: "bert",
                 nested: classifier, headModules: ["classifier"], lathePrefix: "")
    }

    /// A causal language model of the Llama family (`model.` backbone, `lm_head`).
    public static func llama(_ family: String, nested: Bool = true) -> HFLayout {
        let arch = ["mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"][family] ?? "LlamaForCausalLM"
        return HFLayout(architecture: nested ? arch : arch.replacingOccurrences(of: "ForCausalLM", with: "Model"),
                        basePrefix: "model", nested: nested, headModules: ["lm_head"], lathePrefix: "model.")
    }

    /// GPT-2 as GPT2LMHeadModel (`transformer.` backbone) or GPT2Model.
    public static func gpt2(nested: Bool = true) -> HFLayout {
        HFLayout(architecture: nested ? "GPT2LMHeadModel" : "GPT2Model", basePrefix: "transformer", nested: nested,
                 headModules: ["lm_head"], lathePrefix: "transformer.")
    }

    func isHead(_ path: String) -> Bool {
        headModules.contains { path == $0 || path.hasPrefix($0 + ".") }
    }

    /// The class's name for a Lathe parameter or module path.
    public func hfName(_ lathePath: String) -> String {
        if isHead(lathePath) { return lathePath }
        let rel = lathePath.hasPrefix(lathePrefix) ? String(lathePath.dropFirst(lathePrefix.count)) : lathePath
        return nested ? basePrefix + "." + rel : rel
    }

    /// The Lathe path of a name of this family, with or without the `basePrefix` (as
    /// transformers loads a backbone checkpoint into a head class and back).
    public func lathePath(_ hfName: String) -> String {
        if isHead(hfName) { return hfName }
        let p = basePrefix + "."
        let rel = hfName.hasPrefix(p) ? String(hfName.dropFirst(p.count)) : hfName
        return lathePrefix + rel
    }
}

extension HF {
    /// The transformers class `model` corresponds to, or nil when none has its names (nn.gpt
    /// with Lathe's own naming). An encoder whose head pools through BERT's pooler is
    /// BertForSequenceClassification; other encoders are BertModel (a head on mean or
    /// first-token pooling has no transformers class: see `latheOnlyHead`).
    public static func layout(of model: Module) -> HFLayout? {
        if let enc = model as? Encoder { return .bert(classifier: enc.classifier != nil && enc.pooling == "pooler") }
        guard let lm = model as? DecoderLM else { return nil }
        switch lm.config.naming {
        case "llama": return .llama(model.pretrained?.family ?? "llama")
        case "gpt2": return .gpt2()
        default: return nil
        }
    }

    /// The pooling of an encoder's classification head when no transformers class computes it
    /// (mean or first token without BERT's pooler), else nil.
    public static func latheOnlyHead(_ model: Module) -> String? {
        guard let enc = model as? Encoder, enc.classifier != nil, enc.pooling != "pooler" else { return nil }
        return enc.pooling
    }
}
