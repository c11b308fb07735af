import CLua
import CLuaShim
import LatheCore

extension TensorModule {
    static func math(_ b: LuaClassBuilder<Tensor>) {
        let binaries: [(String, BinaryOp, String)] = [
            ("add", .add, "a + b"), ("sub", .sub, "a - b"), ("mul", .mul, "a * b"), ("div", .div, "a / b"),
            ("pow", .pow, "a ^ b"), ("maximum", .maximum, "elementwise max"), ("minimum", .minimum, "elementwise min"),
        ]
        for (name, op, what) in binaries {
            b.method(name, Doc("Elementwise \(what) with broadcasting (b: Tensor or number).",
                               signature: "t:\(name)(b)", errors: "shapes that do not broadcast.",
                               example: "print(tensor.from({1.0, 2.0}):\(name)(tensor.from({3.0, 4.0})))")) { c in
                return push(c, try binaryArith(c, op))
            }
        }
        let unaries: [(String, UnaryOp, String)] = [
            ("exp", .exp, "e^x"), ("log", .log, "natural logarithm"), ("sqrt", .sqrt, "square root"),
            ("rsqrt", .rsqrt, "1/sqrt(x)"), ("tanh", .tanh, "hyperbolic tangent"), ("sigmoid", .sigmoid, "1/(1+e^-x)"),
            ("relu", .relu, "max(x, 0)"), ("silu", .silu, "x * sigmoid(x)"), ("abs", .abs, "absolute value"),
            ("neg", .neg, "-x"), ("sin", .sin, "sine"), ("cos", .cos, "cosine"), ("erf", .erf, "error function"),
            ("floor", .floor, "round down"), ("ceil", .ceil, "round up"), ("round", .round, "round half to even"),
            ("sign", .sign, "-1, 0 or 1"), ("softplus", .softplus, "log(1 + e^x)"), ("reciprocal", .recip, "1/x"),
            ("square", .square, "x^2"), ("log1p", .log1p, "log(1 + x)"), ("expm1", .expm1, "e^x - 1"),
        ]
        for (name, op, what) in unaries {
            b.method(name, Doc("Elementwise \(what).", signature: "t:\(name)()",
                               example: "print(tensor.from({-1.0, 0.5, 2.0}):\(name)())")) { c in
                return push(c, try selfT(c).unary(op))
            }
        }
        for (name, div) in [("remainder", false), ("floor_divide", true)] {
            b.method(name, Doc(div ? "Elementwise floor division (a // b); int64 stays int64." : "Elementwise floor modulo (a % b, the sign of b), as Lua and torch.remainder.",
                               signature: "t:\(name)(b)", errors: "integer division by zero; shapes that do not broadcast.",
                               example: "print(tensor.from({7, -7}):\(name)(3))")) { c in
                let t = try selfT(c)
                return push(c, try Tensor.modOrDiv(t, try c.tensorOrNumber(2, "b", like: t), floorDivide: div))
            }
        }
        b.method("gelu", Doc("Gaussian error linear unit: x * Phi(x) (exact, erf form) or the tanh approximation.",
                             signature: "t:gelu([{approximate = \"none\"|\"tanh\"}])",
                             details: "\"none\" matches torch.nn.GELU() and BERT; \"tanh\" matches GPT-2's gelu_new.",
                             example: "print(tensor.from({-1.0, 0.0, 1.0}):gelu())")) { c in
            let t = try selfT(c)
            let o = try c.options(2, allowed: ["approximate"])
            let a = try o.choice("approximate", ["none", "tanh"], "none")
            return push(c, try t.gelu(approximate: a == "tanh"))
        }
        b.method("clamp", Doc("Limits values to [lo, hi] (either may be nil).", signature: "t:clamp(lo [, hi])",
                              example: "print(tensor.from({-2.0, 0.5, 3.0}):clamp(-1, 1))")) { c in
            let t = try selfT(c)
            let lo: Double? = c.isNoneOrNil(2) ? nil : try c.checkNumber(2, "lo")
            let hi: Double? = c.isNoneOrNil(3) ? nil : try c.checkNumber(3, "hi")
            if let lo, let hi, lo > hi { throw c.error("lo (\(fmt(lo))) is greater than hi (\(fmt(hi)))") }
            return push(c, try t.clamp(min: lo, max: hi))
        }
        let comparisons: [(String, CompareOp, String)] = [("eq", .eq, "=="), ("ne", .ne, "~="), ("lt", .lt, "<"),
                                                          ("le", .le, "<="), ("gt", .gt, ">"), ("ge", .ge, ">=")]
        for (name, op, sym) in comparisons {
            b.method(name, Doc("Elementwise a \(sym) b as a bool tensor (b: Tensor or number).",
                               signature: "t:\(name)(b)",
                               details: "Lua's ==, <, <= operators cannot return tensors, so comparisons are methods.",
                               example: "print(tensor.from({1, 2, 3}):\(name)(2))")) { c in
                let t = try selfT(c)
                let o = try c.tensorOrNumber(2, "b", like: t)
                return push(c, try Tensor.compare(t, o, op))
            }
        }
        for name in ["and", "or", "xor"] {
            b.method("logical_" + name, Doc("Elementwise logical \(name) of bool tensors.", signature: "t:logical_\(name)(b)",
                                            example: "local a = tensor.from({true, false})\nprint(a:logical_\(name)(tensor.from({true, true})))")) { c in
                return push(c, try Tensor.logical(try selfT(c), try c.tensorOrNumber(2, "b"), name))
            }
        }
        b.method("logical_not", Doc("Elementwise logical not.", signature: "t:logical_not()",
                                    example: "print(tensor.from({true, false}):logical_not())")) { c in
            return push(c, try selfT(c).logicalNot())
        }
        for name in ["matmul", "mm"] {
            b.method(name, Doc("Matrix product with b (1-d, 2-d, batched; transposed views are not copied).",
                               signature: "t:\(name)(b, {precision=\"fp32\"})",
                               details: TensorModule.precisionDetails,
                               errors: "inner sizes that differ: `matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ`.",
                               example: "print(tensor.ones(2, 3):\(name)(tensor.ones(3, 2)))")) { c in
                return push(c, try Tensor.matmul(try selfT(c), try c.tensorArg(2, "b"), precision: try TensorModule.precisionOption(c, 3)))
            }
        }
    }

    /// self op arg2 where arg2 is a tensor or number.
    static func binaryArith(_ c: LuaCall, _ op: BinaryOp) throws -> Tensor {
        let t = try selfT(c)
        if c.type(2) == LUA_TNUMBER && c.object(2, Tensor.self) == nil {
            return try t.scalarOp(try c.checkNumber(2, "b"), op)
        }
        return try Tensor.binary(t, try c.tensorOrNumber(2, "b", like: t), op)
    }

    // MARK: - reductions

    static func reductions(_ b: LuaClassBuilder<Tensor>) {
        for (name, what) in [("sum", "Sum"), ("mean", "Mean")] {
            b.method(name, Doc("\(what) over all elements, or over the given dims.",
                               signature: "t:\(name)([dim or {dims}] [, {keepdim = false}])",
                               returns: "a Tensor (0-d when reducing everything; use :item() for a number)",
                               example: "local t = tensor.from({{1.0, 2.0}, {3.0, 4.0}})\nprint(t:\(name)(), t:\(name)(1), t:\(name)(2, {keepdim = true}))")) { c in
                let t = try selfT(c)
                let (dims, next) = try reduceArgs(c, 2)
                let o = try c.options(next, allowed: ["keepdim"])
                let keep = try o.bool("keepdim", false)
                return push(c, name == "sum" ? try t.sum(dims: dims, keepdim: keep) : try t.mean(dims: dims, keepdim: keep))
            }
        }
        for (name, what) in [("var", "Variance"), ("std", "Standard deviation")] {
            b.method(name, Doc("\(what) over all elements or the given dims; correction 1 (default) is the unbiased estimate, 0 the population one.",
                               signature: "t:\(name)([dim or {dims}] [, {correction = 1, keepdim = false}])",
                               example: "print(tensor.from({1.0, 2.0, 3.0, 4.0}):\(name)())")) { c in
                let t = try selfT(c)
                let (dims, next) = try reduceArgs(c, 2)
                let o = try c.options(next, allowed: ["correction", "keepdim"])
                let corr = try o.int("correction", 1), keep = try o.bool("keepdim", false)
                return push(c, name == "var" ? try t.variance(dims: dims, correction: corr, keepdim: keep)
                                             : try t.std(dims: dims, correction: corr, keepdim: keep))
            }
        }
        for (name, isMin) in [("max", false), ("min", true)] {
            b.method(name, Doc("The \(name)imum: over everything (one value), or along dim (values and 1-based positions).",
                               signature: "t:\(name)([dim [, {keepdim = false}]]) -> values [, positions]",
                               errors: "an empty tensor.",
                               example: "local t = tensor.from({{1, 5}, {7, 2}})\nprint(t:\(name)())\nlocal v, i = t:\(name)(2)\nprint(v, i)")) { c in
                let t = try selfT(c)
                guard let d = try c.optDimArg(2) else {
                    let (v, _) = try t.maxMin(dim: nil, isMin: isMin)
                    return push(c, v)
                }
                let o = try c.options(3, allowed: ["keepdim"])
                let (v, i) = try t.maxMin(dim: d, keepdim: try o.bool("keepdim", false), isMin: isMin)
                c.push(v)
                c.push(try positions(i))
                return 2
            }
        }
        for (name, isMin) in [("argmax", false), ("argmin", true)] {
            b.method(name, Doc("The 1-based position of the \(isMin ? "smallest" : "largest") value, overall or along dim.",
                               signature: "t:\(name)([dim [, {keepdim = false}]])",
                               details: "Positions are 1-based like Lua (class ids from logits are position - 1).",
                               example: "local t = tensor.from({{1, 5}, {7, 2}})\nprint(t:\(name)(), t:\(name)(2))")) { c in
                let t = try selfT(c)
                let d = try c.optDimArg(2)
                let o = try c.options(3, allowed: ["keepdim"])
                let (_, i) = try t.maxMin(dim: d, keepdim: try o.bool("keepdim", false), isMin: isMin)
                if d == nil {
                    c.push(Int(i.int64Pointer[0]) + 1)
                    return 1
                }
                return push(c, try positions(i))
            }
        }
        b.method("logsumexp", Doc("log(sum(exp(x))) along dim, computed stably.",
                                  signature: "t:logsumexp(dim [, {keepdim = false}])",
                                  example: "print(tensor.from({1.0, 2.0, 3.0}):logsumexp(1))")) { c in
            let t = try selfT(c)
            let d = try c.dimArg(2)
            let o = try c.options(3, allowed: ["keepdim"])
            return push(c, try t.logsumexp(d, keepdim: try o.bool("keepdim", false)))
        }
        b.method("softmax", Doc("exp(x) / sum(exp(x)) along dim (default -1).", signature: "t:softmax([dim = -1])",
                                example: "print(tensor.from({1.0, 2.0, 3.0}):softmax())")) { c in
            return push(c, try selfT(c).softmax(try c.optDimArg(2) ?? -1))
        }
        b.method("log_softmax", Doc("log(softmax(x)) along dim (default -1), computed stably.", signature: "t:log_softmax([dim = -1])",
                                    example: "print(tensor.from({1.0, 2.0, 3.0}):log_softmax())")) { c in
            return push(c, try selfT(c).logSoftmax(try c.optDimArg(2) ?? -1))
        }
        b.method("cumsum", Doc("Cumulative sum along dim.", signature: "t:cumsum(dim)",
                               example: "print(tensor.arange(1, 5):cumsum(1))")) { c in
            return push(c, try selfT(c).cumsum(try c.dimArg(2)))
        }
        b.method("topk", Doc("The k largest (or smallest) values along dim (default -1) and their 1-based positions.",
                             signature: "t:topk(k [, dim = -1] [, {largest = true}]) -> values, positions",
                             example: "local v, i = tensor.from({5.0, 1.0, 9.0, 3.0}):topk(2)\nprint(v, i)")) { c in
            let t = try selfT(c)
            let k = try c.checkInt(2, "k")
            var next: Int32 = 3
            var d = -1
            if c.type(3) == LUA_TNUMBER { d = try c.dimArg(3); next = 4 }
            let o = try c.options(next, allowed: ["largest"])
            let (v, i) = try t.topk(k, d, largest: try o.bool("largest", true))
            c.push(v)
            c.push(try positions(i))
            return 2
        }
        b.method("sort", Doc("Sorts along dim (default -1), stably; returns values and 1-based positions.",
                             signature: "t:sort([dim = -1] [, {descending = false}]) -> values, positions",
                             example: "local v, i = tensor.from({3, 1, 2}):sort()\nprint(v, i)")) { c in
            let t = try selfT(c)
            var next: Int32 = 2
            var d = -1
            if c.type(2) == LUA_TNUMBER { d = try c.dimArg(2); next = 3 }
            let o = try c.options(next, allowed: ["descending"])
            let (v, i) = try t.sort(d, descending: try o.bool("descending", false))
            c.push(v)
            c.push(try positions(i))
            return 2
        }
    }

    static func reduceArgs(_ c: LuaCall, _ i: Int32) throws -> ([Int]?, Int32) {
        if c.type(i) == LUA_TNUMBER { return ([try c.dimArg(i)], i + 1) }
        if c.type(i) == LUA_TTABLE && c.rawLen(i) > 0 {
            return (try c.dimsArgs(from: i), i + 1)
        }
        return (nil, i)
    }

    // MARK: - autograd

    static func autograd(_ b: LuaClassBuilder<Tensor>) {
        b.method("requires_grad", Doc("With a boolean: marks the tensor as needing a gradient and returns it. Without: whether it does.",
                                      signature: "t:requires_grad([flag]) -> t or boolean",
                                      errors: "a non-float32 tensor; turning it off on the result of an op.",
                                      example: "local w = tensor.randn(3):requires_grad(true)\nprint(w:requires_grad())")) { c in
            let t = try selfT(c)
            if c.isNoneOrNil(2) {
                c.push(t.requiresGrad)
                return 1
            }
            try t.setRequiresGrad(try c.checkBool(2, "flag"))
            lua_pushvalue(c.L, 1)
            return 1
        }
        b.method("backward", Doc("Computes gradients of this (scalar) tensor with respect to every input that requires one; they accumulate in .grad.",
                                 signature: "t:backward([gradient])",
                                 details: "Without a gradient the tensor must have one element. Gradients add up across calls: zero them\nwith :zero_grad() (optimizers do this for you).",
                                 errors: "a tensor that does not require a gradient; a non-scalar without a gradient.",
                                 example: "local x = tensor.from({1.0, 2.0, 3.0}):requires_grad(true)\nlocal y = (x * x):sum()\ny:backward()\nprint(x.grad)")) { c in
            let t = try selfT(c)
            let g: Tensor? = c.isNoneOrNil(2) ? nil : try c.tensorArg(2, "gradient")
            try t.backward(g)
            return 0
        }
        b.getter("grad") { c in
            let t = try selfT(c)
            if let g = t.grad { c.push(g) } else { c.pushNil() }
            return 1
        }
        b.method("zero_grad", Doc("Forgets the accumulated gradient (.grad becomes nil).", signature: "t:zero_grad()",
                                  example: "local x = tensor.ones(2):requires_grad(true)\nx:sum():backward()\nx:zero_grad()\nprint(x.grad)")) { c in
            try selfT(c).zeroGrad()
            return 0
        }
        b.method("detach", Doc("The same values outside the autograd graph (shares storage).", signature: "t:detach()",
                               example: "local x = tensor.ones(2):requires_grad(true)\nprint((x * 2):detach():requires_grad())")) { c in
            return push(c, try selfT(c).detach())
        }
        b.method("is_leaf", Doc("True unless the tensor is the result of a recorded op.", signature: "t:is_leaf() -> boolean",
                                example: "local x = tensor.ones(2):requires_grad(true)\nprint(x:is_leaf(), (x * 2):is_leaf())")) { c in
            c.push(try selfT(c).isLeaf)
            return 1
        }
        b.method("grad_fn", Doc("The name of the op that made this tensor (nil for leaves).", signature: "t:grad_fn() -> string or nil",
                                example: "local x = tensor.ones(2):requires_grad(true)\nprint((x * 2):grad_fn())")) { c in
            if let f = try selfT(c).gradFn { c.push(f.name) } else { c.pushNil() }
            return 1
        }
    }

    // MARK: - metamethods

    static func metas(_ b: LuaClassBuilder<Tensor>) {
        func arith(_ name: String, _ op: BinaryOp) {
            b.meta(name) { c in
                // either operand may be the number
                if let a = c.object(1, Tensor.self) {
                    if c.type(2) == LUA_TNUMBER { return push(c, try a.scalarOp(c.checkNumber(2), op)) }
                    guard let bb = c.object(2, Tensor.self) else {
                        throw LuaError("\(op.name): cannot combine a Tensor with a \(c.typeName(2))")
                    }
                    return push(c, try Tensor.binary(a, bb, op))
                }
                guard let bb = c.object(2, Tensor.self), c.type(1) == LUA_TNUMBER else {
                    throw LuaError("\(op.name): cannot combine a \(c.typeName(1)) with a Tensor")
                }
                return push(c, try bb.scalarOp(c.checkNumber(1), op, reversed: true))
            }
        }
        arith("__add", .add)
        arith("__sub", .sub)
        arith("__mul", .mul)
        arith("__div", .div)
        arith("__pow", .pow)
        b.meta("__unm") { c in push(c, try selfT(c).neg()) }
        for (name, div) in [("__mod", false), ("__idiv", true)] {
            b.meta(name) { c in
                let a = try c.tensorOrNumber(1, "a", like: c.object(2, Tensor.self))
                let bb = try c.tensorOrNumber(2, "b", like: a)
                return push(c, try Tensor.modOrDiv(a, bb, floorDivide: div))
            }
        }
        b.meta("__len") { c in
            let t = try selfT(c)
            c.push(t.rank == 0 ? 0 : t.shape[0])
            return 1
        }
        b.meta("__tostring") { c in
            c.push(try selfT(c).formatted())
            return 1
        }
        b.meta("__concat") { c in
            func s(_ i: Int32) -> String {
                if let t = c.object(i, Tensor.self) { return t.formatted() }
                return c.string(i) ?? c.describe(i)
            }
            c.push(s(1) + s(2))
            return 1
        }
        // t[i]: the i-th entry along the first dimension (a number for 1-d tensors)
        b.index { c in
            let t = try selfT(c)
            guard c.type(2) == LUA_TNUMBER else {
                if let k = c.string(2) {
                    throw LuaError("Tensor has no field or method '\(k)'")
                }
                throw LuaError("tensors are indexed with integer positions, got \(c.typeName(2))")
            }
            if t.rank == 0 { throw LuaError("cannot index a 0-d tensor; use :item()") }
            let i = try position(c, 2, "index", size: t.shape[0])
            let row = try t.select(0, i)
            if row.rank == 0 {
                c.push(scalar: row.scalar(at: row.offset))
                return 1
            }
            return push(c, row)
        }
        b.meta("__newindex") { c in
            let t = try selfT(c)
            guard c.type(2) == LUA_TNUMBER else {
                throw LuaError("cannot set field '\(c.string(2) ?? c.typeName(2))' on a Tensor")
            }
            if t.rank == 0 { throw LuaError("cannot index a 0-d tensor") }
            if t.requiresGrad && Autograd.enabled {
                throw LuaError("cannot assign into a tensor that requires grad (use tensor.no_grad)")
            }
            let i = try position(c, 2, "index", size: t.shape[0])
            let row = try t.select(0, i)
            let v = try c.tensorOrNumber(3, "value", like: t)
            try row.assign(v)
            return 0
        }
    }
}
