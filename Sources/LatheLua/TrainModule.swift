import CLua
import CLuaShim
import Foundation
import LatheCore

extension Optimizer: LuaObject { public static var luaTag: Int32 { LuaTag.optimizer } }

final class ScheduleBox: LuaObject {
    static var luaTag: Int32 { LuaTag.schedule }
    let s: Schedule
    init(_ s: Schedule) { self.s = s }
}

/// `optim`, `train` and `lora`.
enum TrainModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        installOptim(vm)
        installTrain(vm)
        installLoRA(vm)
    }

    /// Parameters from a model, an array of tensors or a table of name -> tensor.
    static func paramsArg(_ c: LuaCall, _ i: Int32) throws -> [(String, Tensor)] {
        if let m = c.object(i, Module.self) { return m.namedParameters() }
        try c.checkTable(i, "params")
        var out: [(String, Tensor)] = []
        let n = c.rawLen(i)
        if n > 0 {
            for k in 1...n {
                lua_rawgeti(c.L, i, lua_Integer(k))
                defer { lp_pop(c.L, 1) }
                guard let t = c.object(-1, Tensor.self) else { throw c.argError(i, "params", "element \(k) is a \(c.typeName(-1)), expected Tensor") }
                out.append((t.name ?? "param\(k)", t))
            }
            return out
        }
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

    static func scheduleFrom(_ c: LuaCall, _ o: LuaOptions, lr: Double, defaultTotal: Int = 0) throws -> Schedule {
        let kind = try o.choice("kind", Schedule.Kind.allCases.map { $0.rawValue }, "constant")
        return try Schedule(kind: Schedule.Kind(rawValue: kind)!, lr: try o.number("lr") ?? lr,
                            warmup: try c.intOpt(o, "warmup", 0, min: 0), total: try o.int("total", defaultTotal),
                            minLR: try o.number("min_lr", 0), stepSize: try o.int("step_size", 1), gamma: try o.number("gamma", 0.1))
    }

    // MARK: - optim

    static func installOptim(_ vm: LuaVM) {
        let m = vm.module("optim", summary: "Optimizers (SGD, Adam, AdamW), gradient clipping and learning-rate schedules.")
        let kinds: [(String, Optimizer.Kind, String)] = [
            ("sgd", .sgd, "Stochastic gradient descent with optional momentum (Nesterov) and L2 weight decay."),
            ("adam", .adam, "Adam (weight decay added to the gradient, as torch.optim.Adam)."),
            ("adamw", .adamw, "AdamW: Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW."),
        ]
        for (name, kind, summary) in kinds {
            m.function(name, Doc(summary,
                signature: "optim.\(name)(params [, {lr=\(kind == .sgd ? "0.01" : "1e-3"), weight_decay=\(kind == .adamw ? "0.01" : "0"), betas={0.9, 0.999}, eps=1e-8, momentum=0, nesterov=false, no_decay={globs}}])",
                details: "params: a model, an array of tensors, or a table of name = tensor. Only parameters that require a\ngradient and have one are updated; state is created on first use, so frozen weights cost nothing.",
                returns: "an Optimizer with :step(), :zero_grad(), :lr(), :set_lr(x)",
                errors: "a negative or non-numeric lr; a parameter given twice.",
                example: "local w = tensor.from({1.0, 2.0}):requires_grad(true)\nlocal opt = optim.\(name)({w}, {lr = 0.1})\nlocal loss = (w * w):sum()\nloss:backward()\nopt:step()\nprint(w)")) { c in
                let params = try paramsArg(c, 1)
                let o = try c.options(2, allowed: ["lr", "weight_decay", "betas", "eps", "momentum", "nesterov", "dampening", "no_decay"])
                let opt = try Optimizer(kind, params: params, lr: Float(try o.number("lr", kind == .sgd ? 0.01 : 1e-3)),
                                        weightDecay: try o.number("weight_decay").map { Float($0) })
                if let b = try o.numberArray("betas") {
                    guard b.count == 2, b.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw LuaError("bad option 'betas' (expected two numbers in [0, 1))") }
                    opt.beta1 = Float(b[0]); opt.beta2 = Float(b[1])
                }
                opt.eps = Float(try c.floatOpt(o, "eps", 1e-8, min: 0))
                opt.momentum = Float(try c.floatOpt(o, "momentum", 0, min: 0))
                opt.dampening = Float(try c.floatOpt(o, "dampening", 0, min: 0, max: 1))
                opt.nesterov = try o.bool("nesterov", false)
                if opt.nesterov && opt.momentum <= 0 { throw LuaError("nesterov needs momentum > 0") }
                opt.noDecay = try o.stringArray("no_decay") ?? []
                c.push(opt)
                return 1
            }
        }
        vm.defineClass(Optimizer.self, name: "Optimizer", summary: "Updates parameters from their gradients.") { b in
            b.method("step", Doc("Applies one update with the current gradients.", signature: "opt:step()",
                                 example: "local w = tensor.ones(2):requires_grad(true)\nlocal opt = optim.sgd({w})\nw:sum():backward()\nopt:step()")) { c in
                try c.selfObject(Optimizer.self).step()
                return 0
            }
            b.method("zero_grad", Doc("Clears the gradients of all its parameters.", signature: "opt:zero_grad()",
                                      example: "local opt = optim.adamw(nn.linear(2, 2))\nopt:zero_grad()")) { c in
                try c.selfObject(Optimizer.self).zeroGrad()
                return 0
            }
            b.method("lr", Doc("The current learning rate.", signature: "opt:lr() -> number",
                               example: "print(optim.adam(nn.linear(1, 1), {lr = 3e-4}):lr())")) { c in
                c.push(Double(try c.selfObject(Optimizer.self).lr))
                return 1
            }
            b.method("set_lr", Doc("Sets the learning rate (schedules do this each step).", signature: "opt:set_lr(x)",
                                   errors: "a negative rate.",
                                   example: "local opt = optim.sgd(nn.linear(1, 1))\nopt:set_lr(0.5)\nprint(opt:lr())")) { c in
                let o = try c.selfObject(Optimizer.self)
                let lr = try c.checkNumber(2, "lr")
                if !(lr >= 0) { throw c.argError(2, "lr", expected: "a non-negative number") }
                o.lr = Float(lr)
                return 0
            }
            b.meta("__tostring") { c in
                let o = try c.selfObject(Optimizer.self)
                c.push("Optimizer \(o.kind.rawValue) (lr \(fmt(Double(o.lr))), weight_decay \(fmt(Double(o.weightDecay))), \(o.params.count) parameters, \(o.stepCount) steps)")
                return 1
            }
        }

        m.function("clip_grad_norm", Doc("Scales gradients so their global L2 norm is at most max_norm.",
            signature: "optim.clip_grad_norm(params, max_norm) -> norm before clipping",
            example: "local w = tensor.ones(4):requires_grad(true)\nlocal loss = (w * 10):sum()\nloss:backward()\nprint(optim.clip_grad_norm({w}, 1.0))")) { c in
            let params = try paramsArg(c, 1)
            let mx = try c.checkNumber(2, "max_norm")
            if !(mx > 0) { throw c.argError(2, "max_norm", expected: "a positive number") }
            c.push(try Optimizer.clipGradNorm(params, maxNorm: Float(mx)))
            return 1
        }

        m.function("schedule", Doc("A learning-rate schedule: warm-up then constant, linear or cosine decay, step or exponential decay.",
            signature: "optim.schedule{kind=\"constant\"|\"linear\"|\"cosine\"|\"step\"|\"exponential\", lr=, warmup=0, total=, min_lr=0, step_size=, gamma=0.1}",
            details: "Steps count updates from 1. Warm-up rises linearly to lr over `warmup` steps; linear and cosine then\ndecay to min_lr at step `total`; step multiplies by gamma every step_size steps; exponential by gamma each step.\ntrain.fit{schedule = ...} takes the object or the same table.",
            returns: "a Schedule with :lr(step), :list(n) and :plot()",
            errors: "a missing total for linear/cosine; warmup longer than total; an unknown kind.",
            example: "local s = optim.schedule{kind = \"cosine\", lr = 1e-3, warmup = 10, total = 100}\nprint(s:lr(1), s:lr(10), s:lr(100))\nprint(s:plot())")) { c in
            try c.checkTable(1, "options")
            let o = try c.options(1, allowed: ["kind", "lr", "warmup", "total", "min_lr", "step_size", "gamma"])
            guard let lr = try o.number("lr") else { throw LuaError("option 'lr' is required") }
            c.push(ScheduleBox(try scheduleFrom(c, o, lr: lr)))
            return 1
        }
        vm.defineClass(ScheduleBox.self, name: "Schedule", summary: "A learning-rate schedule.") { b in
            b.method("lr", Doc("The learning rate of update number step (1-based).", signature: "s:lr(step) -> number",
                               errors: "step < 1.",
                               example: "print(optim.schedule{kind = \"linear\", lr = 1, total = 10}:lr(6))")) { c in
                let s = try c.selfObject(ScheduleBox.self).s
                let step = try c.checkInt(2, "step")
                if step < 1 { throw c.argError(2, "step", "steps are 1-based") }
                c.push(s.lr(at: step - 1))
                return 1
            }
            b.method("list", Doc("The rates of steps 1..n as a Lua array.", signature: "s:list([n = total])",
                                 example: "print(#optim.schedule{kind = \"cosine\", lr = 1, total = 20}:list())")) { c in
                let s = try c.selfObject(ScheduleBox.self).s
                let n = try c.optInt(2, "n", s.total > 0 ? s.total : 100)
                if n < 0 { throw c.argError(2, "n", expected: "a non-negative integer") }
                try LuaCall.checkTableSize(n)
                try c.push(numbers: s.list(n))
                return 1
            }
            b.method("plot", Doc("A text plot of the schedule over n steps.", signature: "s:plot([{steps=total, width=60, height=12}]) -> text",
                                 example: "print(optim.schedule{kind = \"cosine\", lr = 1e-3, warmup = 5, total = 50}:plot{width = 40, height = 8})")) { c in
                let s = try c.selfObject(ScheduleBox.self).s
                let o = try c.options(2, allowed: ["steps", "width", "height"])
                c.push(s.plot(steps: try c.intOpt(o, "steps", s.total > 0 ? s.total : 100, min: 1),
                              width: try c.intOpt(o, "width", 60, min: 10, max: 1000),
                              height: try c.intOpt(o, "height", 12, min: 3, max: 1000)))
                return 1
            }
            b.meta("__tostring") { c in
                let s = try c.selfObject(ScheduleBox.self).s
                var t = "Schedule \(s.kind.rawValue): lr \(fmt(s.lr))"
                if s.warmup > 0 { t += ", warmup \(s.warmup)" }
                if s.total > 0 { t += ", total \(s.total)" }
                if s.minLR > 0 { t += ", min_lr \(fmt(s.minLR))" }
                c.push(t)
                return 1
            }
        }
    }
}
