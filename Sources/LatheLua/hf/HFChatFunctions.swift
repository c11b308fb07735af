import CLua
import CLuaShim
import LatheCore

/// hf.chat, hf.chat_prompt, hf.chat_data, hf.generate: chat templates and text generation, and
/// the sampling options every generating function shares (model:generate too).
enum HFChatFunctions {
    static let all = [chat, chatPrompt, chatData, generate]

    typealias Message = (role: String, content: String)

    /// The sampling options; greedy and temperature defaults differ between token and text generation.
    static func sampling(maxTokens: Int, greedy: LuaDefault, temperature: LuaDefault) -> [LuaOpt] {
        [LuaOpt("max_tokens", .integer(0...Int.max), .int(maxTokens), "new tokens at most"), LuaOpt("greedy", .boolean, greedy, "pick the most likely token at each step"),
         LuaOpt("temperature", .number(min: 0), temperature, "sample with this temperature (0: greedy)"),
         LuaOpt("top_k", .integer(0...Int.max), .int(GenerateOptions().topK), "sample among the k most likely tokens (0: all)"),
         LuaOpt("top_p", .number(min: 0, max: 1, above: true), .number(GenerateOptions().topP), "sample among the most likely tokens whose probabilities reach p"),
         LuaOpt("seed", .integer(), .computed("lathe.seed's stream"), "a private random stream for sampling")]
    }

    static func textOptions(maxTokens: Int) -> [LuaOpt] {
        sampling(maxTokens: maxTokens, greedy: .computed("true unless temperature is given"), temperature: .computed("1 with greedy = false"))
            + [LuaOpt("stop", .either([.string, .table]), .none, "a string, or an array of strings and token ids, that ends generation (the text is cut before it)"),
               LuaOpt("stream", .boolean, .bool(false), "print the reply as it comes")]
    }

    /// GenerateOptions from the sampling options and `stop`.
    static func options(_ o: DeclaredOptions) throws -> GenerateOptions {
        var g = GenerateOptions()
        g.maxTokens = try o.int("max_tokens")
        let sample = try o.boolIfGiven("greedy").map { !$0 } ?? (try o.has("temperature"))
        g.temperature = sample ? try o.numberIfGiven("temperature") ?? 1 : 0
        (g.topK, g.topP) = (try o.int("top_k"), try o.number("top_p"))
        g.seed = try o.intIfGiven("seed").map { UInt64(bitPattern: Int64($0)) }
        var stops: [LuaValue] = []
        switch try o.value("stop") {
        case .nil: break
        case .array(let xs): stops = xs
        case .record(let r) where r.isEmpty: break
        case let v: stops = [v]
        }
        for s in stops {
            switch s {
            case .string(let t) where !t.isEmpty: g.stopStrings.append(t)
            case .string: throw LuaError("bad option 'stop' (an empty stop string would stop at once)")
            case .int(let i): g.stopIds.insert(i)
            case .number(let d) where Int(exactly: d) != nil: g.stopIds.insert(Int(d))
            default: throw LuaError("bad option 'stop' (expected a string or an array of strings and token ids)")
            }
        }
        return g
    }

    /// Runs text generation, printing the reply as it comes with stream = true.
    static func streamed<T>(_ o: DeclaredOptions, _ model: Module, _ g: GenerateOptions, _ what: String,
                            _ run: (((Int) -> Void)?) throws -> T) throws -> T {
        guard try o.bool("stream") else { return try run(nil) }
        let s = TextStream(tokenizer: try HF.tokenizer(of: model, what), stops: g.stopStrings)
        let r = try run { Output.write(s.push($0)) }
        Output.write(s.finish() + "\n")
        return r
    }

    static let messages = LuaParam("messages", .either([.string, .table]), "{{role = \"system\" | \"user\" | \"assistant\", content = \"...\"}, ...}, or a string: one user turn")

    /// {role=, content=} records of argument i (`label`), converted; `which` names one in errors.
    static func messages(_ c: LuaCall, _ i: Int32, _ label: String, _ items: [LuaValue], which: (Int) -> String) throws -> [Message] {
        try items.enumerated().map { k, m in
            guard case .record(let r) = m, case .string(let role)? = r.first(where: { $0.0 == "role" })?.1,
                  case .string(let content)? = r.first(where: { $0.0 == "content" })?.1 else {
                throw c.argError(i, label, "\(which(k + 1)) needs string fields role and content")
            }
            return (role, content)
        }
    }

    /// The messages at argument i (a string is one user turn), after a system turn when given.
    static func messages(_ c: LuaCall, _ i: Int32, system: String?) throws -> [Message] {
        let first: [Message] = system.map { [("system", $0)] } ?? []
        if let s = c.string(i) { return first + [("user", s)] }
        guard case .array(let items) = try c.value(i) else { throw c.argError(i, "messages", expected: "string or non-empty array of {role=, content=}") }
        return try first + messages(c, i, "messages", items) { "message \($0)" }
    }

    static let system = LuaOpt("system", .string, .none, "a system message put first")
    /// A tiny model with a word tokenizer (and a template) for the examples.
    static func tiny(_ words: String, template: String) -> String {
        "local tok = text.word_vocab({\"\(words)\"})\nlocal g = nn.gpt{vocab = tok:vocab_size() + 4, layers = 1, dim = 16, heads = 2, seq = 64, seed = 1}\n"
            + "hf.attach(g, {tokenizer = tok, chat_template = \"\(template)\"})\n"
    }

    static let chat = LuaFunc(
        "chat", "Answers a conversation with a chat model: applies its chat template and generates the reply.",
        params: [HFFunctions.model, messages], options: [system] + textOptions(maxTokens: HF.chatMaxTokens),
        returns: "text, ChatReply {ids=, prompt=}: the reply (special tokens removed); its token ids and the prompt",
        details: "The model's chat template (Jinja as transformers renders it: ChatML, Llama 3, Mistral, Zephyr, Gemma-style...) makes the\n"
            + "prompt, opened for the assistant's turn; generation (with a key/value cache) stops at the model's end-of-sequence ids\n"
            + "(config, generation_config, tokenizer), a stop string or id, or max_tokens.",
        errors: "a model without a tokenizer or chat template; template constructs Lathe does not support (named); raise_exception in the template.",
        example: tiny("hello there", template: "{% for m in messages %}<{{ m.role }}> {{ m.content }} {% endfor %}<assistant>")
            + "local reply, info = hf.chat(g, \"hello\", {max_tokens = 3})\nprint(info.prompt)  --> <user> hello <assistant>"
    ) { c in
        let (model, o) = (try c.moduleArg(1), try c.opts())
        let (msgs, g) = (try messages(c, 2, system: try o.stringIfGiven("system")), try options(o))
        let r = try streamed(o, model, g, "hf.chat") { try HF.chat(model, messages: msgs, g, onToken: $0) }
        c.push(r.text)
        return try 1 + c.record("ChatReply", [("ids", .ints(r.ids)), ("prompt", .string(r.prompt))])
    }

    static let chatPrompt = LuaFunc(
        "chat_prompt", "The prompt text a model's chat template makes of messages.",
        params: [HFFunctions.model, messages],
        options: [system, LuaOpt("add_generation_prompt", .boolean, .bool(true), "open the assistant's turn at the end")],
        returns: "string: the rendered prompt", errors: "a model without a chat template; unsupported template constructs.",
        example: tiny("hi", template: "{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}") + "print(hf.chat_prompt(g, \"What is the capital of Japan?\"))  --> [user] What is the capital of Japan?"
    ) { c in
        let (model, o) = (try c.moduleArg(1), try c.opts())
        let msgs = try messages(c, 2, system: try o.stringIfGiven("system"))
        return try c.ret(.string(try HF.chatPrompt(model, messages: msgs, addGenerationPrompt: try o.bool("add_generation_prompt"))))
    }

    /// The examples of hf.chat_data: records of an instruction-tuning file, or message arrays.
    static func conversations(_ c: LuaCall, _ i: Int32) throws -> [[Message]] {
        guard case .array(let items) = try c.value(i) else { throw c.argError(i, "examples", expected: "non-empty array of {prompt=, response=} or of message arrays") }
        return try items.enumerated().map { k, item in
            if case .array(let msgs) = item { return try messages(c, i, "examples", msgs) { "example \(k + 1), message \($0)" } }
            guard case .record(let r) = item else { throw c.argError(i, "examples", "example \(k + 1) is not a table") }
            let fields = Dictionary(r.compactMap { key, v in if case .string(let s) = v { (key, s) } else { nil } }, uniquingKeysWith: { a, _ in a })
            if let conv = HF.conversation(record: fields) { return conv }
            throw c.argError(i, "examples", "example \(k + 1) needs string fields prompt (or instruction) and response (or output)")
        }
    }

    static let chatData = LuaFunc(
        "chat_data", "Fine-tuning data for a chat model: conversations through its chat template, the loss on the replies only.",
        params: [HFFunctions.model, LuaParam("examples", .table, "an array of {prompt =, response =} records or of message arrays")],
        options: [system, LuaOpt("max_length", .integer(2...Int.max), .int(256), "tokens per example; longer ones are cut")],
        returns: "ChatData {x=, y=, mask=}, ChatDataInfo {examples=, target_tokens=, truncated=}: int64 tensors [N, T] for train.fit; counts",
        details: "Records may also name the prompt instruction [+ input] and the reply output/answer (Alpaca-style files); message arrays\n"
            + "end with the assistant's reply. y holds the next token where it belongs to the reply (and the template's end-of-turn) and\n"
            + "-100 elsewhere, which the loss ignores (TRL's completion-only loss). Rows are right-padded to the longest.",
        errors: "a model without a tokenizer or chat template; an example without a reply; replies cut away entirely by max_length.",
        example: tiny("how are you fine thanks", template: "{% for m in messages %}{{ m.content }} {% endfor %}")
            + "local d, info = hf.chat_data(g, {{prompt = \"how are you\", response = \"fine thanks\"}})\nprint(info)  --> ChatDataInfo {examples = 1, target_tokens = 2, truncated = 0}"
    ) { c in
        let (model, o) = (try c.moduleArg(1), try c.opts())
        let convs = try conversations(c, 2)
        let d = try HF.chatData(model, conversations: convs, system: try o.stringIfGiven("system"), maxLength: try o.int("max_length"))
        try c.pushRecord([("x", .object(d.x)), ("y", .object(d.y)), ("mask", .object(d.mask))], name: "ChatData")
        return try 1 + c.record("ChatDataInfo", [("examples", .int(convs.count)), ("target_tokens", .int(d.targetTokens)), ("truncated", .int(d.truncated))])
    }

    static let generate = LuaFunc(
        "generate", "Continues a text prompt with a language model.",
        params: [HFFunctions.model, LuaParam("prompt", .string, "the text to continue")],
        options: textOptions(maxTokens: GenerateOptions().maxTokens)
            + [LuaOpt("special_tokens", .boolean, .bool(true), "add the tokenizer's special tokens to the prompt (false for a prompt from hf.chat_prompt)")],
        returns: "text, {id, ...}: the generated text (special tokens removed) and its token ids",
        details: "Generation stops at the model's end-of-sequence ids, at a stop token id, at a stop string (the text is cut before it;\nstop = \"\\n\\n\" or {\"Q:\", \"###\"}) or at max_tokens.",
        errors: "a model that is not a language model or has no tokenizer.",
        example: tiny("the cat sat on the mat", template: "") + "local out, ids = hf.generate(g, \"the cat\", {max_tokens = 4})\nprint(#ids)  --> 4"
    ) { c in
        let (model, o) = (try c.moduleArg(1), try c.opts())
        let (prompt, g, special) = (try c.checkString(2, "prompt"), try options(o), try o.bool("special_tokens"))
        let r = try streamed(o, model, g, "hf.generate") { try HF.generate(model, prompt: prompt, g, addSpecialTokens: special, onToken: $0) }
        return try c.ret(.string(r.text), .ints(r.ids))
    }
}
