import CLua
import CLuaShim
import Foundation
import LatheCore

/// The `train` module: `train.fit` and its helpers.
enum TrainFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("train", summary: "The training loop: fit a model with schedules, early stopping, checkpoints and resumption.")
            .add([fit, windows, evaluate])
    }

    static let data = LuaKind.either([.object("Tensor"), .table])
    static let earlyStopping: [LuaOpt] = [
        LuaOpt("patience", .integer(1...Int.max), .int(EarlyStopping().patience), "evaluations without improvement before stopping"),
        LuaOpt("min_delta", .number(min: 0), .number(EarlyStopping().minDelta), "how much better counts as better"),
        LuaOpt("mode", .choice(["auto", "min", "max"]), .string(EarlyStopping().mode), "whether higher metrics are better (auto: from the metric)"),
        LuaOpt("restore_best", .boolean, .bool(EarlyStopping().restoreBest), "put the best evaluated weights back at the end"),
    ]
    static let fitOptions: [LuaOpt] = [
        LuaOpt("model", .object("Module"), .none, "the model to train (required)"),
        LuaOpt("train", data, .none, "training data: a Tensor of token sequences [N, T+1], or {x =, y = [, mask =]} (required)"),
        LuaOpt("val", data, .none, "validation data, as train"),
        LuaOpt("epochs", .integer(1...Int.max), .int(FitConfig().epochs), "passes over the training data"),
        LuaOpt("max_steps", .integer(1...Int.max), .none, "stop after this many updates"),
        LuaOpt("batch_size", .integer(1...Int.max), .int(FitConfig().batchSize), "examples per micro-batch"),
        LuaOpt("lr", .number(min: 0), .number(FitConfig().lr), "learning rate"),
        LuaOpt("optimizer", .choice(["adamw", "adam", "sgd"]), .string(FitConfig().optimizer.rawValue), "the optimizer"),
        LuaOpt("weight_decay", .number(min: 0), .computed("0.01 for adamw, else 0"), "weight decay"),
        LuaOpt("betas", .numbers, .computed("{0.9, 0.999}"), "Adam's beta1 and beta2"),
        LuaOpt("momentum", .number(min: 0), .number(Double(FitConfig().momentum)), "SGD momentum"),
        LuaOpt("nesterov", .boolean, .bool(FitConfig().nesterov), "Nesterov momentum (SGD)"),
        LuaOpt("no_decay", .strings, .strings(FitConfig().noDecay), "parameter globs without weight decay (e.g. \"*.bias\")"),
        LuaOpt("schedule", .either([.object("Schedule"), .choice(Schedule.Kind.allCases.map(\.rawValue)), .table]), .none,
               "an optim.schedule, a kind name, or a table of its options (linear and cosine decay over the run)"),
        LuaOpt("warmup", .integer(0...Int.max), .int(0), "updates of linear warm-up"),
        LuaOpt("grad_accum", .integer(1...Int.max), .int(FitConfig().gradAccum), "micro-batches summed per update"),
        LuaOpt("clip", .number(min: 0, above: true), .none, "largest global gradient norm"),
        LuaOpt("eval_every", .integer(1...Int.max), .computed("each epoch"), "updates between evaluations on val"),
        LuaOpt("metric", .either([.choice(FitConfig.metrics), .function]), .string(FitConfig().metric),
               "what evaluation tracks: loss, perplexity, accuracy, f1 (macro F1: the mean of each class's F1), f1_binary (the F1 of class pos_label), or function(model) -> number"),
        LuaOpt("pos_label", .integer(), .int(FitConfig().posLabel), "the positive class id for metric = \"f1_binary\""),
        LuaOpt("metric_mode", .choice(["max", "min"]), .string("max"), "whether a metric function is better when higher"),
        LuaOpt("early_stopping", .either([.boolean, .options(earlyStopping)]), .none, "stop when val stops improving: true or {patience =, min_delta =, mode =, restore_best =}"),
        LuaOpt("checkpoint_dir", .string, .none, "folder for checkpoints (written at the end, on Ctrl-C and every checkpoint_every updates)"),
        LuaOpt("checkpoint_every", .integer(1...Int.max), .none, "updates between checkpoints (needs checkpoint_dir)"),
        LuaOpt("keep_checkpoints", .integer(1...Int.max), .int(FitConfig().keepCheckpoints), "how many of the newest checkpoints stay"),
        LuaOpt("resume", .either([.boolean, .string]), .none, "true: the newest checkpoint in checkpoint_dir; or a checkpoint folder"),
        LuaOpt("seed", .integer(), .computed("lathe.seed()"), "seed of shuffling, dropout and initialisation"),
        LuaOpt("shuffle", .boolean, .bool(FitConfig().shuffle), "shuffle the training data each epoch"),
        LuaOpt("task", .choice(["lm", "classification", "regression"]), .computed("from the model and targets"), "what the targets are"),
        LuaOpt("label_smoothing", .number(min: 0, max: 1), .number(Double(FitConfig().labelSmoothing)), "cross-entropy label smoothing"),
        LuaOpt("class_weights", .object("Tensor"), .none, "per-class weights of the classification loss"),
        LuaOpt("gradual_unfreeze", .boolean, .bool(FitConfig().gradualUnfreeze), "unfreeze layer groups top down, one per epoch"),
        LuaOpt("precision", .choice(["fp32", "bf16"]), .string(FitConfig().precision.rawValue), "matrix products in fp32 or bf16 (fp32 accumulation)"),
        LuaOpt("quiet", .boolean, .bool(false), "no progress bar"),
        LuaOpt("track", .either([.boolean, .string]), .bool(true), "record the run in the track store (false: not; a string: the run's name)"),
        LuaOpt("trial", .object("Trial"), .none, "a search's trial (study:optimize): each evaluation's metric is reported to it, and training stops when its pruner says so"),
    ]

    static let fit = LuaFunc(
        "fit", "Trains a model and returns its history.",
        options: fitOptions, tableCall: true,
        returns: "History: loss and lr per update, evals ({step, epoch, val_loss, metric}), best_step, best_metric, restored_step, steps, epochs, seconds, tokens_per_sec or examples_per_sec, stopped_early, interrupted, checkpoint (and checkpoint_error when the final save failed)",
        details: """
            Language models train on Tensors of token sequences [N, T+1] (inputs 1..T, targets 2..T+1); other models on
            {x = inputs, y = targets [, mask = attention_mask]} (class ids 0-based, or floats for regression).
            grad_accum sums gradients over several batches before each update (a larger effective batch in the same memory).
            Evaluation runs on val each epoch (or every eval_every updates); early stopping stops after `patience`
            evaluations without improvement and, at the end, puts the best evaluated weights back unless restore_best =
            false (history.restored_step says which). Each checkpoint holds what continuing needs (the last update's
            weights, optimizer state, schedule and data position, random state, early stopping's best weights and
            counts, the history so far) and is written atomically: a process killed at any moment leaves only whole
            checkpoints, and resuming ends with the uninterrupted run's losses and weights, bit for bit.
            Ctrl-C stops after the current update, writes a checkpoint and returns the history; the model stays usable.
            A NaN or infinite loss stops with an error naming the step; the weights from the last good step are kept.
            precision = "bf16" runs the matrix products (forward and backward) with bf16 operands and fp32 accumulation
            on AMX or AVX512_BF16 when the CPU has them; weights, gradients and optimizer state stay fp32.
            """,
        errors: "missing model or train data; shapes that do not fit the model; a mismatched or corrupted checkpoint.",
        example: "lathe.seed(1)\nlocal x = tensor.randn(64, 4)\nlocal y = x:sum(2):gt(0):long()\nlocal model = nn.mlp{sizes = {4, 16, 2}}\nlocal h = train.fit{model = model, train = {x = x, y = y}, val = {x = x, y = y}, epochs = 5, batch_size = 16, lr = 0.01, metric = \"accuracy\", quiet = true}\nprint(h)"
    ) { c in
        let o = try c.opts()
        guard let model = try o.object("model", Module.self) else { throw LuaError("option 'model' is required (a model from nn or hf)") }
        guard let train = try dataset(c, o, "train") else { throw LuaError("option 'train' is required (the training data)") }
        let val = try dataset(c, o, "val")
        var cfg = try fitConfig(c, o)
        if cfg.earlyStopping != nil && val == nil { throw LuaError("early_stopping needs val data to watch") }
        let trainer = try Trainer(model: model, train: train, val: val, config: cfg)
        cfg.schedule = try scheduleSpec(c, o).resolve(lr: cfg.lr, warmup: try o.int("warmup"), totalUpdates: trainer.totalUpdates)
        trainer.config.schedule = cfg.schedule
        let trial = try o.object("trial", TrialObject.self)
        if let trial {
            guard val != nil else { throw LuaError("trial needs val data: the search is told the evaluation metric on it") }
            trainer.onEvaluation = { step, metric throws(LatheError) in
                try trial.trial.report(metric, step: step)
                return try trial.trial.shouldPrune()
            }
        }
        let tracked = try FitTracking.start(c, o, model: model, train: train, val: val, config: cfg, totalUpdates: trainer.totalUpdates)
        let h: FitHistory
        do { h = try run(trainer, quiet: try o.bool("quiet"), onStep: tracked.map(FitTracking.live)) } catch {
            if let tracked { FitTracking.finish(c, tracked, nil, error: error) }
            throw error
        }
        if h.interrupted { lp_consume_interrupt(c.L) }
        if h.prunedAt != nil { trial?.pruned = true }
        if let tracked { FitTracking.finish(c, tracked, h, error: nil) }
        try pushHistory(c, h, runID: tracked?.id)
        return 1
    }

    /// The engine's settings from the options (all but model, data, schedule and quiet).
    static func fitConfig(_ c: LuaCall, _ o: DeclaredOptions) throws -> FitConfig {
        var cfg = FitConfig()
        cfg.epochs = try o.int("epochs")
        cfg.maxSteps = try o.intIfGiven("max_steps")
        cfg.batchSize = try o.int("batch_size")
        cfg.lr = try o.number("lr")
        cfg.optimizer = Optimizer.Kind(rawValue: try o.string("optimizer"))!
        cfg.weightDecay = try o.numberIfGiven("weight_decay").map { Float($0) }
        if let b = try o.numbersIfGiven("betas") { cfg.betas = try OptimFunctions.betas(b) }
        cfg.momentum = Float(try o.number("momentum"))
        cfg.nesterov = try o.bool("nesterov")
        cfg.noDecay = try o.strings("no_decay")
        cfg.gradAccum = try o.int("grad_accum")
        cfg.clip = try o.numberIfGiven("clip").map { Float($0) }
        cfg.evalEvery = try o.intIfGiven("eval_every")
        cfg.seed = try o.intIfGiven("seed").map { UInt64(bitPattern: Int64($0)) }
        cfg.shuffle = try o.bool("shuffle")
        cfg.task = try o.stringIfGiven("task").flatMap { Task(rawValue: $0) }
        cfg.labelSmoothing = Float(try o.number("label_smoothing"))
        cfg.classWeights = try o.object("class_weights", Tensor.self)
        cfg.gradualUnfreeze = try o.bool("gradual_unfreeze")
        cfg.keepCheckpoints = try o.int("keep_checkpoints")
        cfg.precision = MatmulPrecision(rawValue: try o.string("precision"))!
        cfg.checkpointDir = try o.stringIfGiven("checkpoint_dir")
        if let every = try o.intIfGiven("checkpoint_every") {
            guard cfg.checkpointDir != nil else { throw LuaError("option 'checkpoint_every' needs checkpoint_dir (the folder the checkpoints go to)") }
            cfg.checkpointEvery = every
        }
        if try o.push("resume") == LUA_TSTRING { cfg.resume = c.string(-1) } else if lua_toboolean(c.L, -1) != 0 { cfg.resume = "latest" }
        lp_pop(c.L, 1)
        try metric(c, o, &cfg)
        cfg.earlyStopping = try earlyStopping(o)
        return cfg
    }

    /// metric: a name, or a function(model) -> number called at each evaluation.
    static func metric(_ c: LuaCall, _ o: DeclaredOptions, _ cfg: inout FitConfig) throws {
        cfg.posLabel = try o.int("pos_label")
        guard try o.push("metric") == LUA_TFUNCTION else {
            lp_pop(c.L, 1)
            cfg.metric = try o.string("metric")
            return
        }
        // the function and the model stay on the stack for the whole call
        let L = c.L
        let fn = lua_gettop(L)
        try o.push("model")
        let model = lua_gettop(L)
        cfg.metric = "custom"
        cfg.customMetricMode = try o.string("metric_mode")
        cfg.customMetric = { _ in
            let top = lua_gettop(L)
            defer { lua_settop(L, top) }
            try c.callLua(fn, nresults: 1) {
                lua_pushvalue(L, model)
                return 1
            }
            guard lua_type(L, -1) == LUA_TNUMBER else { throw LuaError("the metric function must return a number, got \(c.describe(-1))") }
            return lua_tonumberx(L, -1, nil)
        }
    }

    static func earlyStopping(_ o: DeclaredOptions) throws -> EarlyStopping? {
        if let eo = try o.nested("early_stopping") {
            var es = EarlyStopping()
            es.patience = try eo.int("patience")
            es.minDelta = try eo.number("min_delta")
            es.mode = try eo.string("mode")
            es.restoreBest = try eo.bool("restore_best")
            return es
        }
        return try o.boolIfGiven("early_stopping") == true ? EarlyStopping() : nil
    }

    static let scheduleOptions: [LuaOpt] = [
        LuaOpt("kind", .choice(Schedule.Kind.allCases.map(\.rawValue)), .string("constant"), "the shape after warm-up"),
        LuaOpt("lr", .number(min: 0), .none, "the peak rate (required for optim.schedule; train.fit's lr otherwise)"),
        LuaOpt("warmup", .integer(0...Int.max), .int(0), "updates of linear warm-up"),
        LuaOpt("total", .integer(0...Int.max), .none, "updates until min_lr (linear and cosine; train.fit: the run's updates)"),
        LuaOpt("min_lr", .number(min: 0), .number(0), "the rate at the end of linear or cosine decay"),
        LuaOpt("step_size", .integer(1...Int.max), .int(1), "updates between step decays"),
        LuaOpt("gamma", .number(min: 0), .number(0.1), "the factor of step and exponential decay"),
    ]

    /// schedule: an object, a kind name, or a table of optim.schedule's options.
    static func scheduleSpec(_ c: LuaCall, _ o: DeclaredOptions) throws -> ScheduleSpec {
        let t = try o.push("schedule")
        defer { lp_pop(c.L, 1) }
        if let box = c.object(-1, ScheduleBox.self) { return .schedule(box.s) }
        if t == LUA_TSTRING, let k = c.string(-1) { return .kind(Schedule.Kind(rawValue: k)!) }
        guard t == LUA_TTABLE else { return .none }
        try c.checkOptions(lua_absindex(c.L, -1), scheduleOptions, prefix: "schedule.")
        let so = DeclaredOptions(call: c, options: scheduleOptions, index: lua_absindex(c.L, -1))
        return try OptimFunctions.spec(so)
    }

    /// Runs the trainer with a progress bar; says what happened to the final checkpoint.
    static func run(_ trainer: Trainer, quiet: Bool, onStep: ((FitProgress) -> Void)? = nil) throws -> FitHistory {
        let bar = ProgressBar("train", total: trainer.totalUpdates, unit: "steps")
        bar.enabled = bar.enabled && !quiet
        trainer.progress = { p in
            var note = String(format: "epoch %d/%d loss %.4f lr %.2e %@ %@/s", p.epoch, p.epochs, p.loss, p.lr,
                              ProgressBar.rateString(p.unitsPerSecond), p.unit == "tokens" ? "tok" : "ex")
            if let e = p.evalNote { note += " " + e }
            bar.update(p.step, note: note)
            onStep?(p)
        }
        trainer.log = { msg in if !quiet && !bar.isTTY { Output.note("train: " + msg) } }
        let h: FitHistory
        do { h = try trainer.fit() } catch {
            bar.finish()
            throw error
        }
        bar.finish(note: String(format: "%d steps, %.1f s", h.steps, h.seconds))
        if let e = h.checkpointError {
            Output.warning("train.fit", "the checkpoint could not be saved (\(e)); the model keeps the trained weights and the returned history says so (checkpoint_error)")
        }
        if h.interrupted {
            Output.note("train: interrupted after step \(h.steps); checkpoint written to \(h.checkpoint ?? "-"). Resume with resume = \"\(h.checkpoint ?? "")\"")
        }
        return h
    }

    /// A dataset option: a Tensor of LM sequences [N, T+1], or {x=, y= [, mask=]} (also
    /// inputs=/targets=, input_ids=/labels=/attention_mask=).
    static func dataset(_ c: LuaCall, _ o: DeclaredOptions, _ name: String) throws -> Dataset? {
        if try o.push(name) == LUA_TNIL {
            lp_pop(c.L, 1)
            return nil
        }
        defer { lp_pop(c.L, 1) }
        return try datasetOnTop(c, name)
    }

    static func datasetOnTop(_ c: LuaCall, _ label: String) throws -> Dataset {
        if let t = c.object(-1, Tensor.self) { return try Dataset.languageModel(t) }
        guard lua_type(c.L, -1) == LUA_TTABLE else {
            throw LuaError("bad option '\(label)' (expected a Tensor of token sequences or a table {x = inputs, y = targets}, got \(c.describe(-1)))")
        }
        func field(_ names: [String]) -> Tensor? {
            for n in names {
                c.push(n)
                lua_rawget(c.L, -2)
                defer { lp_pop(c.L, 1) }
                if let t = c.object(-1, Tensor.self) { return t }
            }
            return nil
        }
        guard let x = field(["x", "inputs", "input_ids"]) else {
            throw LuaError("'\(label)' needs x (inputs) as a Tensor, e.g. {x = ids, y = labels}")
        }
        guard var y = field(["y", "targets", "labels"]) else {
            throw LuaError("'\(label)' needs y (targets) as a Tensor, e.g. {x = ids, y = labels}")
        }
        if y.dtype == .bool { y = try y.to(.int64) }
        return try Dataset(inputs: x, targets: y, mask: field(["mask", "attention_mask"]))
    }

    static func pushHistory(_ c: LuaCall, _ h: FitHistory, runID: String? = nil) throws {
        let evals: [LuaValue] = h.evals.map { .record([("step", .int($0.step)), ("epoch", .int($0.epoch)), ("val_loss", .number($0.valLoss)), ("metric", .number($0.metric))]) }
        var fields: [(String, LuaValue)] = [
            ("loss", .numbers(h.loss)), ("lr", .numbers(h.lr)), ("evals", .array(evals)),
            ("steps", .int(h.steps)), ("epochs", .int(h.epochs)), ("seconds", .number(h.seconds)),
            (h.unit == "tokens" ? "tokens_per_sec" : "examples_per_sec", .number(h.unitsPerSecond)),
            ("stopped_early", .bool(h.stoppedEarly)), ("interrupted", .bool(h.interrupted)), ("pruned_at", h.prunedAt.map { .int($0) } ?? .nil), ("metric", .string(h.metricName)),
        ]
        if let b = h.bestStep { fields.append(("best_step", .int(b))) }
        if let b = h.bestMetric { fields.append(("best_metric", .number(b))) }
        if let ck = h.checkpoint { fields.append(("checkpoint", .string(ck))) }
        if let e = h.checkpointError { fields.append(("checkpoint_error", .string(e))) }
        if let r = h.restoredStep { fields.append(("restored_step", .int(r))) }
        if let id = runID { fields.append(("run_id", .string(id))) }
        try c.pushRecord(fields, name: "History", text: h.summary)
    }

    static let windows = LuaFunc(
        "windows", "Cuts a long stream of token ids into training sequences of seq+1 tokens for a language model.",
        params: [LuaParam("ids", .either([.object("Tensor"), .table]), "an int64 tensor or Lua array of 0-based token ids"),
                 LuaParam("seq", .integer(1...Int.max), "tokens per training sequence (each window holds seq+1)")],
        returns: "Tensor: [n, seq+1]",
        details: "Consecutive windows overlap by one token (each window's last token is the next one's first), so\nevery token is predicted once.",
        errors: "fewer than seq+1 tokens.",
        example: "local w = train.windows(tensor.arange(0, 21), 4)\nprint(w:shape()[1], w:shape()[2])  --> 5  5"
    ) { c in
        let ids: [Int64]
        if let t = c.object(1, Tensor.self) { ids = try t.contiguous().toInt64Array() } else { ids = try c.intArray(1, "ids").map { Int64($0) } }
        c.push(try Dataset.windows(ids, length: try c.checkInt(2, "seq")))
        return 1
    }

    static let evaluate = LuaFunc(
        "evaluate", "Mean loss and a metric of a model on data (no gradients, eval mode).",
        params: [LuaParam("model", .object("Module"), "the model"),
                 LuaParam("data", data, "a Tensor of token sequences or {x =, y = [, mask =]}")],
        options: [
            LuaOpt("batch_size", .integer(1...Int.max), .int(32), "examples per batch"),
            LuaOpt("metric", .choice(FitConfig.metrics), .string("loss"), "loss, perplexity, accuracy, f1 (macro) or f1_binary"),
            LuaOpt("pos_label", .integer(), .int(FitConfig().posLabel), "the positive class id for f1_binary"),
            LuaOpt("task", .choice(["lm", "classification", "regression"]), .computed("from the model and targets"), "what the targets are"),
        ],
        returns: "{loss=, metric=, name=}",
        example: "local m = nn.mlp{sizes = {2, 2}}\nlocal r = train.evaluate(m, {x = tensor.randn(8, 2), y = tensor.from({0, 1, 0, 1, 0, 1, 0, 1})}, {metric = \"accuracy\"})\nprint(r.loss > 0)  --> true"
    ) { c in
        lua_pushvalue(c.L, 2)
        let data = try datasetOnTop(c, "data")
        lp_pop(c.L, 1)
        let o = try c.opts()
        var cfg = FitConfig()
        cfg.batchSize = try o.int("batch_size")
        cfg.metric = try o.string("metric")
        cfg.posLabel = try o.int("pos_label")
        cfg.task = try o.stringIfGiven("task").flatMap { Task(rawValue: $0) }
        let (l, mv) = try Trainer(model: try c.moduleArg(1), train: data, val: nil, config: cfg).evaluate(data)
        try c.pushRecord([("loss", .number(l)), ("metric", .number(mv)), ("name", .string(cfg.metric))], name: "Evaluation")
        return 1
    }
}
