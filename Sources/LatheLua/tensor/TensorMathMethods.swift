import CLua
import CLuaShim
import LatheCore

/// Elementwise Tensor methods, comparisons and matrix products.
extension TensorMethods {
    static let other = LuaParam("b", TensorFunctions.tensorOrNumber, "a Tensor or a number (broadcast)")

    static let mathMethods: [LuaFunc] = binaries + unaries + divisions + others + comparisons + logicals + products

    static let divisions: [LuaFunc] = [("remainder", false), ("floor_divide", true)].map { name, div in
        op(name, div ? "Elementwise floor division (a // b); int64 stays int64." : "Elementwise floor modulo (a % b, the sign of b), as Lua and torch.remainder.",
           params: [other], errors: "integer division by zero; shapes that do not broadcast.", example: "print(tensor.from({7, -7}):\(name)(3))") { t, c in
            try Tensor.modOrDiv(t, try c.tensorOrNumber(2, "b", like: t), floorDivide: div)
        }
    }

    static let others: [LuaFunc] = [
        op("gelu", "Gaussian error linear unit: x * Phi(x) (exact, erf form) or the tanh approximation.",
           options: [LuaOpt("approximate", .choice(["none", "tanh"]), .string("none"), "\"none\" matches torch.nn.GELU() and BERT; \"tanh\" GPT-2's gelu_new")],
           example: "print(tensor.from({-1.0, 0.0, 1.0}):gelu())") { t, c in try t.gelu(approximate: try c.opts().string("approximate") == "tanh") },
        op("clamp", "Limits values to [lo, hi].", params: [LuaParam("lo", .value, optional: true, "the lower limit (nil: none)"),
                                                         LuaParam("hi", .value, optional: true, "the upper limit (nil: none)")],
           errors: "lo greater than hi.", example: "print(tensor.from({-2.0, 0.5, 3.0}):clamp(-1, 1))") { t, c in
            try t.clamp(min: c.isNoneOrNil(2) ? nil : try c.checkNumber(2, "lo"), max: c.isNoneOrNil(3) ? nil : try c.checkNumber(3, "hi"))
        },
        op("logical_not", "Elementwise logical not.", example: "print(tensor.from({true, false}):logical_not())") { t, _ in try t.logicalNot() },
    ]

    static let logicals: [LuaFunc] = ["and", "or", "xor"].map { name in
        op("logical_" + name, "Elementwise logical \(name) of bool tensors.", params: [other],
           example: "local a = tensor.from({true, false})\nprint(a:logical_\(name)(tensor.from({true, true})))") { t, c in
            try Tensor.logical(t, try c.tensorOrNumber(2, "b"), name)
        }
    }

    static let products: [LuaFunc] = ["matmul", "mm"].map { name in
        op(name, "Matrix product with b (1-d, 2-d, batched; transposed views are not copied).",
           params: [LuaParam("b", .object("Tensor"), "the right operand")], options: [TensorFunctions.precision], details: TensorFunctions.precisionDetails,
           errors: "inner sizes that differ: `matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ`.", example: "print(tensor.ones(2, 3):\(name)(tensor.ones(3, 2)))") { t, c in
            try Tensor.matmul(t, try c.tensorArg(2, "b"), precision: try TensorFunctions.precision(c))
        }
    }

    static let binaries: [LuaFunc] = [
        ("add", BinaryOp.add, "a + b"), ("sub", .sub, "a - b"), ("mul", .mul, "a * b"), ("div", .div, "a / b"), ("pow", .pow, "a ^ b"),
        ("maximum", .maximum, "max(a, b)"), ("minimum", .minimum, "min(a, b)"),
    ].map { name, o, what in
        op(name, "Elementwise \(what) with broadcasting.", params: [other], errors: "shapes that do not broadcast.",
           example: "print(tensor.from({1.0, 2.0}):\(name)(tensor.from({3.0, 4.0})))") { t, c in
            c.type(2) == LUA_TNUMBER ? try t.scalarOp(try c.checkNumber(2, "b"), o) : try Tensor.binary(t, try c.tensorOrNumber(2, "b", like: t), o)
        }
    }

    static let unaries: [LuaFunc] = [
        ("exp", UnaryOp.exp, "e^x"), ("log", .log, "natural logarithm"), ("sqrt", .sqrt, "square root"), ("rsqrt", .rsqrt, "1/sqrt(x)"),
        ("tanh", .tanh, "hyperbolic tangent"), ("sigmoid", .sigmoid, "1/(1+e^-x)"), ("relu", .relu, "max(x, 0)"), ("silu", .silu, "x * sigmoid(x)"),
        ("abs", .abs, "absolute value"), ("neg", .neg, "-x"), ("sin", .sin, "sine"), ("cos", .cos, "cosine"), ("erf", .erf, "error function"),
        ("floor", .floor, "round down"), ("ceil", .ceil, "round up"), ("round", .round, "round half to even"), ("sign", .sign, "-1, 0 or 1"),
        ("softplus", .softplus, "log(1 + e^x)"), ("reciprocal", .recip, "1/x"), ("square", .square, "x^2"), ("log1p", .log1p, "log(1 + x)"),
        ("expm1", .expm1, "e^x - 1"),
    ].map { name, u, what in
        op(name, "Elementwise \(what).", example: "print(tensor.from({-1.0, 0.5, 2.0}):\(name)())") { t, _ in try t.unary(u) }
    }

    static let comparisons: [LuaFunc] = [("eq", CompareOp.eq, "=="), ("ne", .ne, "~="), ("lt", .lt, "<"), ("le", .le, "<="), ("gt", .gt, ">"), ("ge", .ge, ">=")]
        .map { name, o, sym in
            op(name, "Elementwise a \(sym) b as a bool tensor.", params: [other],
               details: "Lua's ==, <, <= operators cannot return tensors, so comparisons are methods.", example: "print(tensor.from({1, 2, 3}):\(name)(2))") { t, c in
                try Tensor.compare(t, try c.tensorOrNumber(2, "b", like: t), o)
            }
        }
}
