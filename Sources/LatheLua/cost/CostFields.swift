import LatheCore

/// An engine options struct whose defaults the declared options show.
protocol CostOptions { static var defaults: Self { get } }
extension Cost.MemoryOptions: CostOptions { static var defaults: Self { Self() } }
extension Cost.InferenceOptions: CostOptions { static var defaults: Self { Self() } }
extension Cost.APIvsInHouseOptions: CostOptions { static var defaults: Self { Self() } }
extension Cost.LoRAOptions: CostOptions { static var defaults: Self { Self() } }
extension Cost.CloudOptions: CostOptions { static var defaults: Self { Self(hours: 1) } }
extension Cost.TrainTimeOptions: CostOptions { static var defaults: Self { Self(tokens: 1) } }

/// An option that sets one field of an engine options struct: declared once, with the field's
/// default, and read into the struct by `set`.
struct CostField<T: CostOptions>: @unchecked Sendable {
    let opt: LuaOpt
    let set: (DeclaredOptions, inout T) throws -> Void

    static func number(_ n: String, _ kp: WritableKeyPath<T, Double>, kind: LuaKind = .number(min: 0), _ doc: String) -> Self {
        Self(opt: LuaOpt(n, kind, .number(T.defaults[keyPath: kp]), doc)) { o, t in t[keyPath: kp] = try o.number(n) }
    }
    static func number(_ n: String, _ kp: WritableKeyPath<T, Double?>, kind: LuaKind = .number(min: 0), _ def: String, _ doc: String) -> Self {
        Self(opt: LuaOpt(n, kind, .computed(def), doc)) { o, t in t[keyPath: kp] = try o.numberIfGiven(n) }
    }
    static func int(_ n: String, _ kp: WritableKeyPath<T, Int>, kind: LuaKind = .integer(1...Int.max), _ doc: String) -> Self {
        Self(opt: LuaOpt(n, kind, .int(T.defaults[keyPath: kp]), doc)) { o, t in t[keyPath: kp] = try o.int(n) }
    }
    static func int(_ n: String, _ kp: WritableKeyPath<T, Int?>, _ def: String, _ doc: String) -> Self {
        Self(opt: LuaOpt(n, .integer(1...Int.max), .computed(def), doc)) { o, t in t[keyPath: kp] = try o.intIfGiven(n) }
    }
    static func bool(_ n: String, _ kp: WritableKeyPath<T, Bool>, _ doc: String) -> Self {
        Self(opt: LuaOpt(n, .boolean, .bool(T.defaults[keyPath: kp]), doc)) { o, t in t[keyPath: kp] = try o.bool(n) }
    }
    static func choice<E: RawRepresentable & CaseIterable>(_ n: String, _ kp: WritableKeyPath<T, E>, only: [E]? = nil, _ doc: String) -> Self
    where E.RawValue == String {
        Self(opt: LuaOpt(n, .choice((only ?? Array(E.allCases)).map(\.rawValue)), .string(T.defaults[keyPath: kp].rawValue), doc)) { o, t in
            t[keyPath: kp] = E(rawValue: try o.string(n))!
        }
    }
    static func dtype(_ n: String, _ kp: WritableKeyPath<T, Cost.DType?>, _ def: String, _ doc: String) -> Self {
        Self(opt: LuaOpt(n, .choice(Cost.DType.allCases.map(\.rawValue)), .computed(def), doc)) { o, t in
            t[keyPath: kp] = try o.stringIfGiven(n).flatMap(Cost.DType.init(rawValue:))
        }
    }

    // options several functions take
    static func seq(_ kp: WritableKeyPath<T, Int?>) -> Self { .int("seq", kp, "min(max positions, 2048)", "tokens per sequence") }
    static func gpus(_ kp: WritableKeyPath<T, Int>) -> Self { .int("gpus", kp, "GPUs (data parallel; ZeRO shards over them)") }
    static func checkpointing(_ kp: WritableKeyPath<T, Bool>) -> Self {
        .bool("checkpointing", kp, "gradient checkpointing: keep each layer's input, recompute the rest")
    }
    static func doubleQuant(_ kp: WritableKeyPath<T, Bool>) -> Self { .bool("double_quant", kp, "quantize NF4's absmax constants too (QLoRA)") }
    static func kvDType(_ kp: WritableKeyPath<T, Cost.DType?>) -> Self { .dtype("kv_dtype", kp, "the compute type", "type of the KV cache (inference)") }
}

extension Array {
    func opts<T>() -> [LuaOpt] where Element == CostField<T> { map(\.opt) }
    /// Reads every field's option into `t`.
    func read<T>(_ o: DeclaredOptions, into t: inout T) throws where Element == CostField<T> {
        for f in self { try f.set(o, &t) }
    }
}
