import CLua
import CLuaShim
import Foundation
import LatheCore

extension TrainModule {
    /// A dataset from the value on top of the stack: a Tensor of LM sequences [N, T+1], or a
    /// table {x=, y= [, mask=]} (also inputs=/targets=).
    static func datasetOnTop(_ c: LuaCall, _ label: String) throws -> Dataset {
        let L = c.L
        if let t = c.object(-1, Tensor.self) {
            return try Dataset.languageModel(t)
        }
        guard lua_type(L, -1) == LUA_TTABLE else {
            throw LuaError("bad option '\(label)' (expected a Tensor of token sequences or a table {x = inputs, y = targets}, got \(c.describe(-1)))")
        }
        func field(_ names: [String]) -> Tensor? {
            for n in names {
                c.push(n)
                lua_rawget(L, -2)
                defer { lp_pop(L, 1) }
                if let t = c.object(-1, Tensor.self) { return t }
            }
            return nil
        }
        guard let x = field(["x", "inputs", "input_ids"]) else {
            throw LuaError("option '\(label)' needs x (inputs) as a Tensor, e.g. {x = ids, y = labels}")
        }
        guard var y = field(["y", "targets", "labels"]) else {
            throw LuaError("option '\(label)' needs y (targets) as a Tensor, e.g. {x = ids, y = labels}")
        }
        if y.dtype == .bool { y = try y.to(.int64) }
        return try Dataset(inputs: x, targets: y, mask: field(["mask", "attention_mask"]))
    }

    static func installTrain(_ vm: LuaVM) {
        let m = vm.module("train", summary: "The training loop: fit a model with schedules, early stopping, checkpoints and resumption.")
        let allowed = ["model", "train", "val", "epochs", "max_steps", "batch_size", "lr", "optimizer", "weight_decay", "betas", "momentum",
                       "nesterov", "no_decay", "schedule", "warmup", "grad_accum", "clip", "eval_every", "metric", "metric_mode",
                       "early_stopping", "checkpoint_dir", "resume", "seed", "shuffle", "task", "label_smoothing", "class_weights",
                       "gradual_unfreeze", "keep_checkpoints", "quiet", "precision"]
        m.function("fit", Doc("Trains a model and returns its history.",
            signature: "train.fit{model=, train=, val=, epochs=1, batch_size=16, lr=1e-3, optimizer=\"adamw\"|\"adam\"|\"sgd\", weight_decay=, schedule=, warmup=, grad_accum=1, clip=, eval_every=, metric=\"loss\"|\"accuracy\"|\"f1\"|\"perplexity\"|fn, early_stopping={patience=3, min_delta=0, mode=\"auto\", restore_best=true}, checkpoint_dir=, resume=, seed=, max_steps=, label_smoothing=0, class_weights=, gradual_unfreeze=false, precision=\"fp32\"|\"bf16\", quiet=false}",
            details: """
            train/val: a Tensor of token sequences [N, T+1] for language models (inputs are tokens 1..T, targets
            2..T+1), or {x = inputs, y = targets [, mask = attention_mask]} (class ids 0-based, or floats for regression).
            schedule: an optim.schedule object, a kind name ("cosine", "linear", ...) or a table of its options; with
            warmup = n the first n updates ramp up. grad_accum sums gradients over several batches before each update
            (a larger effective batch in the same memory). clip limits the global gradient norm.
            Evaluation runs on val each epoch (or every eval_every updates); early_stopping stops after `patience`
            evaluations without improvement; at the end (stopped early or not) the best evaluated weights are put back
            unless restore_best = false (history.restored_step says which). checkpoint_dir keeps the newest checkpoints
            (weights, optimizer state, schedule position, random state) written atomically; resume = true continues from
            the newest one there (or resume = a checkpoint folder) and reproduces the uninterrupted run number for number.
            Ctrl-C stops after the current update, writes a checkpoint and returns the history; the model stays usable.
            A NaN or infinite loss stops with an error naming the step; the weights from the last good step are kept.
            precision = "bf16" runs the matrix products (forward and backward) with bf16 operands and fp32 accumulation
            on AMX or AVX512_BF16 when the CPU has them (mixed precision); weights, gradients and optimizer state stay fp32.
            """,
            returns: "a history table: loss and lr per update, evals ({step, epoch, val_loss, metric}), best_step, best_metric, restored_step, steps, epochs, seconds, tokens_per_sec or examples_per_sec, stopped_early, interrupted, checkpoint",
            errors: "missing model or train data; shapes that do not fit the model; unknown options; a mismatched or corrupted checkpoint.",
            example: "lathe.seed(1)\nlocal x = tensor.randn(64, 4)\nlocal y = x:sum(2):gt(0):long()\nlocal model = nn.mlp{sizes = {4, 16, 2}}\nlocal h = train.fit{model = model, train = {x = x, y = y}, val = {x = x, y = y}, epochs = 5, batch_size = 16, lr = 0.01, metric = \"accuracy\", quiet = true}\nprint(h)")) { c in
            let o = try c.options(1, allowed: allowed)
            let L = c.L
            guard let model = try o.object("model", Module.self) else { throw LuaError("option 'model' is required (a model from nn or hf)") }
            guard o.push("train") != LUA_TNIL else { lp_pop(L, 1); throw LuaError("option 'train' is required (the training data)") }
            let train = try datasetOnTop(c, "train")
            lp_pop(L, 1)
            var val: Dataset? = nil
            if o.push("val") != LUA_TNIL { val = try datasetOnTop(c, "val") }
            lp_pop(L, 1)
            var cfg = FitConfig()
            cfg.epochs = try c.intOpt(o, "epochs", 1, min: 1)
            cfg.maxSteps = try o.int("max_steps")
            if let ms = cfg.maxSteps, ms < 1 { throw LuaError("bad option 'max_steps' (expected a positive integer, got \(ms))") }
            cfg.batchSize = try c.intOpt(o, "batch_size", 16, min: 1)
            cfg.lr = try c.floatOpt(o, "lr", 1e-3, min: 0)
            cfg.optimizer = Optimizer.Kind(rawValue: try o.choice("optimizer", ["adamw", "adam", "sgd"], "adamw"))!
            cfg.weightDecay = try o.number("weight_decay").map { Float($0) }
            if let b = try o.numberArray("betas") {
                guard b.count == 2 else { throw LuaError("bad option 'betas' (expected two numbers)") }
                cfg.betas = (Float(b[0]), Float(b[1]))
            }
            cfg.momentum = Float(try c.floatOpt(o, "momentum", 0, min: 0))
            cfg.nesterov = try o.bool("nesterov", false)
            cfg.noDecay = try o.stringArray("no_decay") ?? []
            cfg.gradAccum = try c.intOpt(o, "grad_accum", 1, min: 1)
            cfg.clip = try o.number("clip").map { Float($0) }
            if let cl = cfg.clip, !(cl > 0) { throw LuaError("bad option 'clip' (expected a positive number)") }
            cfg.evalEvery = try o.int("eval_every")
            if let e = cfg.evalEvery, e < 1 { throw LuaError("bad option 'eval_every' (expected a positive integer)") }
            cfg.seed = try o.int("seed").map { UInt64(bitPattern: Int64($0)) }
            cfg.shuffle = try o.bool("shuffle", true)
            if let t = try o.string("task") {
                guard let task = Task(rawValue: t) else { throw LuaError("bad option 'task' (expected \"lm\", \"classification\" or \"regression\", got \"\(t)\")") }
                cfg.task = task
            }
            cfg.labelSmoothing = Float(try c.floatOpt(o, "label_smoothing", 0, min: 0, max: 1))
            cfg.classWeights = try o.object("class_weights", Tensor.self)
            cfg.gradualUnfreeze = try o.bool("gradual_unfreeze", false)
            cfg.keepCheckpoints = try c.intOpt(o, "keep_checkpoints", 2, min: 1)
            cfg.precision = MatmulPrecision(rawValue: try o.choice("precision", ["fp32", "bf16"], "fp32"))!
            cfg.checkpointDir = try o.string("checkpoint_dir")
            // resume: true (newest in checkpoint_dir) or a folder
            let rt = o.push("resume")
            if rt == LUA_TBOOLEAN {
                if lua_toboolean(L, -1) != 0 { cfg.resume = "latest" }
            } else if rt == LUA_TSTRING {
                cfg.resume = c.string(-1)
            } else if rt != LUA_TNIL {
                lp_pop(L, 1)
                throw LuaError("bad option 'resume' (expected true or a checkpoint folder)")
            }
            lp_pop(L, 1)
            // metric: a name or a function(model) -> number
            var metricFn: Int32 = 0
            if o.isFunction("metric") {
                o.push("metric")
                metricFn = lua_gettop(L)
                cfg.metric = "custom"
                cfg.customMetricMode = try o.choice("metric_mode", ["max", "min"], "max")
                o.push("model")
                let modelIdx = lua_gettop(L)
                cfg.customMetric = { _ in
                    let top = lua_gettop(L)
                    defer { lua_settop(L, top) }
                    try c.callLua(metricFn, nresults: 1) {
                        lua_pushvalue(L, modelIdx)
                        return 1
                    }
                    guard lua_type(L, -1) == LUA_TNUMBER else { throw LuaError("the metric function must return a number, got \(c.describe(-1))") }
                    return lua_tonumberx(L, -1, nil)
                }
            } else {
                cfg.metric = try o.choice("metric", ["loss", "accuracy", "f1", "perplexity"], "loss")
            }
            // early stopping
            let et = o.push("early_stopping")
            if et == LUA_TTABLE {
                let eo = try c.options(lua_gettop(L), allowed: ["patience", "min_delta", "mode", "restore_best"])
                var es = EarlyStopping()
                es.patience = try c.intOpt(eo, "patience", 3, min: 1)
                es.minDelta = try c.floatOpt(eo, "min_delta", 0, min: 0)
                es.mode = try eo.choice("mode", ["auto", "min", "max"], "auto")
                es.restoreBest = try eo.bool("restore_best", true)
                cfg.earlyStopping = es
            } else if et == LUA_TBOOLEAN && lua_toboolean(L, -1) != 0 {
                cfg.earlyStopping = EarlyStopping()
            } else if et != LUA_TNIL && et != LUA_TBOOLEAN {
                lp_pop(L, 1)
                throw LuaError("bad option 'early_stopping' (expected a table {patience=, min_delta=, mode=, restore_best=} or true)")
            }
            lp_pop(L, 1)
            if cfg.earlyStopping != nil && val == nil { throw LuaError("early_stopping needs val data to watch") }
            let trainer = try Trainer(model: model, train: train, val: val, config: cfg)
            // schedule: object, kind name, or options table; warmup shortcut
            let total = trainer.totalUpdates
            let st = o.push("schedule")
            var sched: Schedule? = nil
            if let box = c.object(-1, ScheduleBox.self) {
                sched = box.s
            } else if st == LUA_TSTRING, let k = c.string(-1) {
                guard let kind = Schedule.Kind(rawValue: k) else { lp_pop(L, 1); throw LuaError("bad option 'schedule' (expected constant, linear, cosine, step or exponential, got \"\(k)\")") }
                sched = try Schedule(kind: kind, lr: cfg.lr, warmup: try o.int("warmup", 0), total: total)
            } else if st == LUA_TTABLE {
                let so = try c.options(lua_gettop(L), allowed: ["kind", "lr", "warmup", "total", "min_lr", "step_size", "gamma"])
                // linear and cosine decay over the run's updates unless total is given
                sched = try scheduleFrom(c, so, lr: cfg.lr, defaultTotal: total)
            } else if st != LUA_TNIL {
                lp_pop(L, 1)
                throw LuaError("bad option 'schedule' (expected an optim.schedule, a kind name or a table)")
            }
            lp_pop(L, 1)
            if sched == nil, let w = try o.int("warmup"), w > 0 {
                sched = try Schedule(kind: .constant, lr: cfg.lr, warmup: w)
            }
            trainer.config.schedule = sched
            // progress
            let quiet = try o.bool("quiet", false)
            let bar = ProgressBar("train", total: total, unit: "steps")
            bar.enabled = bar.enabled && !quiet
            trainer.progress = { p in
                var note = String(format: "epoch %d/%d loss %.4f lr %.2e %@ %@/s", p.epoch, p.epochs, p.loss, p.lr,
                                  ProgressBar.rateString(p.unitsPerSecond), p.unit == "tokens" ? "tok" : "ex")
                if let e = p.evalNote { note += " " + e }
                bar.update(p.step, note: note)
            }
            trainer.log = { msg in if !quiet && !bar.isTTY { FileHandle.standardError.write(("train: " + msg + "\n").data(using: .utf8)!) } }
            let h: FitHistory
            do {
                h = try trainer.fit()
            } catch {
                bar.finish()
                throw error
            }
            bar.finish(note: String(format: "%d steps, %.1f s", h.steps, h.seconds))
            if let e = h.checkpointError {
                FileHandle.standardError.write("warning: train.fit: the checkpoint could not be saved (\(e)); the model keeps the trained weights and the returned history says so (checkpoint_error)\n".data(using: .utf8)!)
            }
            if h.interrupted {
                lp_consume_interrupt(L)
                FileHandle.standardError.write("train: interrupted after step \(h.steps); checkpoint written to \(h.checkpoint ?? "-"). Resume with resume = \"\(h.checkpoint ?? "")\"\n".data(using: .utf8)!)
            }
            try pushHistory(c, h)
            return 1
        }

        m.function("windows", Doc("Cuts a long stream of token ids into training sequences of seq+1 tokens for a language model.",
            signature: "train.windows(ids, seq) -> Tensor [n, seq+1]",
            details: "ids: an int64 tensor or Lua array of 0-based token ids. Consecutive windows overlap by one token\n(each window's last token is the next one's first), so every token is predicted once.",
            errors: "fewer than seq+1 tokens.",
            example: "local w = train.windows(tensor.arange(0, 21), 4)\nprint(w:shape()[1], w:shape()[2])")) { c in
            let ids: [Int64]
            if let t = c.object(1, Tensor.self) { ids = try t.toInt64Array() } else { ids = try c.intArray(1, "ids").map { Int64($0) } }
            let seq = try c.checkInt(2, "seq")
            c.push(try Dataset.windows(ids, length: seq))
            return 1
        }

        m.function("evaluate", Doc("Mean loss and a metric of a model on data (no gradients, eval mode).",
            signature: "train.evaluate(model, data [, {batch_size=32, metric=\"loss\"|\"accuracy\"|\"f1\"|\"perplexity\", task=}]) -> {loss=, metric=}",
            example: "local m = nn.mlp{sizes = {2, 2}}\nlocal r = train.evaluate(m, {x = tensor.randn(8, 2), y = tensor.from({0, 1, 0, 1, 0, 1, 0, 1})}, {metric = \"accuracy\"})\nprint(r.loss > 0)")) { c in
            let model = try c.moduleArg(1)
            lua_pushvalue(c.L, 2)
            let data = try datasetOnTop(c, "data")
            lp_pop(c.L, 1)
            let o = try c.options(3, allowed: ["batch_size", "metric", "task"])
            var cfg = FitConfig()
            cfg.batchSize = try c.intOpt(o, "batch_size", 32, min: 1)
            cfg.metric = try o.choice("metric", ["loss", "accuracy", "f1", "perplexity"], "loss")
            if let t = try o.string("task") { cfg.task = Task(rawValue: t) }
            let tr = try Trainer(model: model, train: data, val: nil, config: cfg)
            let (l, mv) = try tr.evaluate(data)
            return try c.ret(.record([("loss", .number(l)), ("metric", .number(mv)), ("name", .string(cfg.metric))]))
        }
    }

    static func pushHistory(_ c: LuaCall, _ h: FitHistory) throws {
        let evals: [LuaValue] = h.evals.map { .record([("step", .int($0.step)), ("epoch", .int($0.epoch)), ("val_loss", .number($0.valLoss)), ("metric", .number($0.metric))]) }
        var fields: [(String, LuaValue)] = [
            ("loss", .numbers(h.loss)), ("lr", .numbers(h.lr)), ("evals", .array(evals)),
            ("steps", .int(h.steps)), ("epochs", .int(h.epochs)), ("seconds", .number(h.seconds)),
            (h.unit == "tokens" ? "tokens_per_sec" : "examples_per_sec", .number(h.unitsPerSecond)),
            ("stopped_early", .bool(h.stoppedEarly)), ("interrupted", .bool(h.interrupted)), ("metric", .string(h.metricName)),
        ]
        if let b = h.bestStep { fields.append(("best_step", .int(b))) }
        if let b = h.bestMetric { fields.append(("best_metric", .number(b))) }
        if let ck = h.checkpoint { fields.append(("checkpoint", .string(ck))) }
        if let e = h.checkpointError { fields.append(("checkpoint_error", .string(e))) }
        if let r = h.restoredStep { fields.append(("restored_step", .int(r))) }
        try c.push(.record(fields))
        // a readable one-paragraph summary when printed
        var s = "History: \(h.steps) updates"
        s += h.epochs > 0 ? " (\(h.epochs) epoch\(h.epochs == 1 ? "" : "s"))" : ""
        s += String(format: " in %.1f s, %@ %@/s", h.seconds, ProgressBar.group(h.unitsPerSecond.rounded(.down)), h.unit)
        if let f = h.loss.first, let l = h.loss.last { s += String(format: "; train loss %.4f -> %.4f", f, l) }
        if let last = h.evals.last { s += String(format: "; last val_loss %.4f", last.valLoss) + (h.metricName != "loss" ? String(format: ", %@ %.4f", h.metricName, last.metric) : "") }
        if let b = h.bestMetric, let bs = h.bestStep { s += String(format: "; best %@ %.4f at step %d", h.metricName, b, bs) }
        if h.stoppedEarly { s += "; stopped early" }
        if let r = h.restoredStep { s += "; weights of step \(r) restored" }
        if h.interrupted { s += "; interrupted (checkpoint: \(h.checkpoint ?? "-"))" }
        let summary = s
        lua_createtable(c.L, 0, 1)
        LuaVM.pushFunction(c.L, "History.__tostring") { cc in
            cc.push(summary)
            return 1
        }
        lua_setfield(c.L, -2, "__tostring")
        lua_setmetatable(c.L, -2)
    }
}
