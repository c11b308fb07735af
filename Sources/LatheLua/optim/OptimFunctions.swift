import CLua
import CLuaShim
import LatheCore

extension Optimizer: LuaObject { public static var luaTag: Int32 { LuaTag.optimizer } }

final class ScheduleBox: LuaObject {
    static var luaTag: Int32 { LuaTag.schedule }
    let s: Schedule
    init(_ s: Schedule) { self.s = s }
}

/// The `optim` module: optimizers, gradient clipping and learning-rate schedules.
enum OptimFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("optim", summary: "Optimizers (SGD, Adam, AdamW), gradient clipping and learning-rate schedules.")
            .add([optimizer(.sgd, "Stochastic gradient descent with optional momentum (Nesterov) and L2 weight decay."),
                  optimizer(.adam, "Adam (weight decay added to the gradient, as torch.optim.Adam)."),
                  optimizer(.adamw, "AdamW: Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW."),
                  clipGradNorm, schedule])
        vm.defineClass(Optimizer.self, name: "Optimizer", summary: "Updates parameters from their gradients.") { b in
            b.add([step, zeroGrad, lr, setLR])
            b.meta("__tostring") { c in
                let o = try c.selfObject(Optimizer.self)
                c.push("Optimizer \(o.kind.rawValue) (lr \(fmt(Double(o.lr))), weight_decay \(fmt(Double(o.weightDecay))), \(o.params.count) parameters, \(o.stepCount) steps)")
                return 1
            }
        }
        vm.defineClass(ScheduleBox.self, name: "Schedule", summary: "A learning-rate schedule.") { b in
            b.add([scheduleLR, list, plot])
            b.meta("__tostring") { c in
                c.push(try c.selfObject(ScheduleBox.self).s.description)
                return 1
            }
        }
    }

    static let params = LuaParam("params", .either([.object("Module"), .table]), "a model, an array of tensors, or a table of name = tensor")

    static func optimizer(_ kind: Optimizer.Kind, _ summary: String) -> LuaFunc {
        LuaFunc(
            kind.rawValue, summary,
            params: [params],
            options: [
                LuaOpt("lr", .number(min: 0), .number(Optimizer.defaultLR(kind)), "learning rate"),
                LuaOpt("weight_decay", .number(min: 0), .number(Optimizer.defaultWeightDecay(kind)), "weight decay"),
                LuaOpt("betas", .numbers, .computed("{0.9, 0.999}"), "Adam's beta1 and beta2, each in [0, 1)"),
                LuaOpt("eps", .number(min: 0), .number(1e-8), "added to Adam's denominator"),
                LuaOpt("momentum", .number(min: 0), .number(0), "SGD momentum"),
                LuaOpt("dampening", .number(min: 0, max: 1), .number(0), "SGD momentum dampening"),
                LuaOpt("nesterov", .boolean, .bool(false), "Nesterov momentum (needs momentum > 0)"),
                LuaOpt("no_decay", .strings, .strings([]), "parameter globs without weight decay (e.g. \"*.bias\")"),
            ],
            returns: "Optimizer: with :step(), :zero_grad(), :lr(), :set_lr(x)",
            details: "Only parameters that require a gradient and have one are updated; state is created on first use, so\nfrozen weights cost nothing.",
            errors: "a parameter given twice; nesterov without momentum.",
            example: "local w = tensor.from({1.0, 2.0}):requires_grad(true)\nlocal opt = optim.\(kind.rawValue)({w}, {lr = 0.1})\nlocal loss = (w * w):sum()\nloss:backward()\nopt:step()\nprint(w)"
        ) { c in
            let o = try c.opts()
            let opt = try Optimizer(kind, params: try paramsArg(c, 1), lr: Float(try o.number("lr")),
                                    weightDecay: Float(try o.number("weight_decay")))
            if let b = try o.numbersIfGiven("betas") { (opt.beta1, opt.beta2) = try betas(b) }
            opt.eps = Float(try o.number("eps"))
            opt.momentum = Float(try o.number("momentum"))
            opt.dampening = Float(try o.number("dampening"))
            opt.nesterov = try o.bool("nesterov")
            if opt.nesterov && opt.momentum <= 0 { throw LuaError("nesterov needs momentum > 0") }
            opt.noDecay = try o.strings("no_decay")
            c.push(opt)
            return 1
        }
    }

    /// Adam's (beta1, beta2) from an option.
    static func betas(_ b: [Double]) throws -> (Float, Float) {
        guard b.count == 2, b.allSatisfy({ $0 >= 0 && $0 < 1 }) else {
            throw LuaError("bad option 'betas' (expected two numbers in [0, 1), got \(b.count) numbers)")
        }
        return (Float(b[0]), Float(b[1]))
    }

    /// Parameters from a model, an array of tensors or a table of name -> tensor.
    static func paramsArg(_ c: LuaCall, _ i: Int32) throws -> [(String, Tensor)] {
        if let m = c.object(i, Module.self) { return m.namedParameters() }
        try c.reserve()
        var out: [(String, Tensor)] = []
        let n = c.rawLen(i)
        for k in stride(from: 1, through: n, by: 1) {
            lua_rawgeti(c.L, i, lua_Integer(k))
            defer { lp_pop(c.L, 1) }
            guard let t = c.object(-1, Tensor.self) else { throw c.argError(i, "params", "element \(k) is a \(c.typeName(-1)), expected Tensor") }
            out.append((t.name ?? "param\(k)", t))
        }
        if n > 0 { return out }
        let abs = lua_absindex(c.L, i)
        lua_pushnil(c.L)
        while lua_next(c.L, abs) != 0 {
            defer { lp_pop(c.L, 1) }
            guard let k = c.string(-2), let t = c.object(-1, Tensor.self) else {
                lp_pop(c.L, 1)
                throw c.argError(i, "params", "expected a model, an array of tensors or a table of name = Tensor")
            }
            out.append((k, t))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    static let clipGradNorm = LuaFunc(
        "clip_grad_norm", "Scales gradients so their global L2 norm is at most max_norm.",
        params: [params, LuaParam("max_norm", .number(min: 0, above: true), "the largest norm allowed")],
        returns: "number: the norm before clipping",
        example: "local w = tensor.ones(4):requires_grad(true)\nlocal loss = (w * 10):sum()\nloss:backward()\nprint(optim.clip_grad_norm({w}, 1.0))  --> 20.0"
    ) { c in
        c.push(try Optimizer.clipGradNorm(try paramsArg(c, 1), maxNorm: Float(try c.checkNumber(2, "max_norm"))))
        return 1
    }

    /// A schedule's settings from its options (lr may come from the run: see ScheduleSpec).
    static func spec(_ o: DeclaredOptions) throws -> ScheduleSpec {
        .options(kind: Schedule.Kind(rawValue: try o.string("kind"))!, lr: try o.numberIfGiven("lr"), warmup: try o.intIfGiven("warmup"),
                 total: try o.intIfGiven("total"), minLR: try o.number("min_lr"), stepSize: try o.int("step_size"), gamma: try o.number("gamma"))
    }

    static let schedule = LuaFunc(
        "schedule", "A learning-rate schedule: warm-up then constant, linear or cosine decay, step or exponential decay.",
        options: TrainFunctions.scheduleOptions, tableCall: true,
        returns: "Schedule: with :lr(step), :list(n) and :plot()",
        details: "Steps count updates from 1. Warm-up rises linearly to lr over `warmup` steps; linear and cosine then\ndecay to min_lr at step `total`; step multiplies by gamma every step_size steps; exponential by gamma each step.\ntrain.fit{schedule = ...} takes the object or the same table.",
        errors: "a missing lr; a missing total for linear/cosine; warmup longer than total.",
        example: "local s = optim.schedule{kind = \"cosine\", lr = 1e-3, warmup = 10, total = 100}\nprint(s:lr(1), s:lr(10), s:lr(100))\nprint(s:plot())"
    ) { c in
        let o = try c.opts()
        guard let lr = try o.numberIfGiven("lr") else { throw LuaError("option 'lr' is required") }
        c.push(ScheduleBox(try spec(o).resolve(lr: lr, warmup: 0, totalUpdates: 0)!))
        return 1
    }

    static let step = LuaFunc("step", "Applies one update with the current gradients.",
        example: "local w = tensor.ones(2):requires_grad(true)\nlocal opt = optim.sgd({w})\nw:sum():backward()\nopt:step()") { c in
        try c.selfObject(Optimizer.self).step()
        return 0
    }
    static let zeroGrad = LuaFunc("zero_grad", "Clears the gradients of all its parameters.",
        example: "local opt = optim.adamw(nn.linear(2, 2))\nopt:zero_grad()") { c in
        try c.selfObject(Optimizer.self).zeroGrad()
        return 0
    }
    static let lr = LuaFunc("lr", "The current learning rate.", returns: "number",
        example: "print(optim.adam(nn.linear(1, 1), {lr = 3e-4}):lr())") { c in
        c.push(Double(try c.selfObject(Optimizer.self).lr))
        return 1
    }
    static let setLR = LuaFunc("set_lr", "Sets the learning rate (schedules do this each step).",
        params: [LuaParam("lr", .number(min: 0), "the new rate")],
        example: "local opt = optim.sgd(nn.linear(1, 1))\nopt:set_lr(0.5)\nprint(opt:lr())  --> 0.5") { c in
        try c.selfObject(Optimizer.self).lr = Float(try c.checkNumber(2, "lr"))
        return 0
    }

    static let scheduleLR = LuaFunc("lr", "The learning rate of update number step (1-based).",
        params: [LuaParam("step", .integer(1...Int.max), "the update, from 1")], returns: "number",
        example: "print(optim.schedule{kind = \"linear\", lr = 1, total = 10}:lr(6))  --> 0.5") { c in
        c.push(try c.selfObject(ScheduleBox.self).s.lr(at: try c.checkInt(2, "step") - 1))
        return 1
    }
    static let list = LuaFunc("list", "The rates of steps 1..n as a Lua array.",
        params: [LuaParam("n", .integer(0...Int.max), optional: true, "how many steps (default: total, else 100)")],
        returns: "{number, ...}",
        example: "print(#optim.schedule{kind = \"cosine\", lr = 1, total = 20}:list())  --> 20") { c in
        let s = try c.selfObject(ScheduleBox.self).s
        let n = try c.optInt(2, "n", s.total > 0 ? s.total : 100)
        try LuaCall.checkTableSize(n)
        try c.push(numbers: s.list(n))
        return 1
    }
    static let plot = LuaFunc("plot", "A text plot of the schedule over n steps.",
        options: [LuaOpt("steps", .integer(1...Int.max), .computed("total, else 100"), "steps shown"),
                  LuaOpt("width", .integer(10...1000), .int(60), "characters across"),
                  LuaOpt("height", .integer(3...1000), .int(12), "lines"),],
        returns: "string",
        example: "print(optim.schedule{kind = \"cosine\", lr = 1e-3, warmup = 5, total = 50}:plot{width = 40, height = 8})") { c in
        let s = try c.selfObject(ScheduleBox.self).s
        let o = try c.opts()
        c.push(s.plot(steps: try o.intIfGiven("steps") ?? (s.total > 0 ? s.total : 100), width: try o.int("width"), height: try o.int("height")))
        return 1
    }
}
