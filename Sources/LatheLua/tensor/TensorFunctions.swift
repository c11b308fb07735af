import CLua
import CLuaShim
import LatheCore

/// The `tensor` module: creating and combining tensors (the Tensor methods are in TensorMethods).
enum TensorFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) {
        vm.module("tensor", summary: "n-dimensional arrays with automatic differentiation; products on Lathe's own kernels (OpenBLAS as fallback).",
                  details: """
        Tensors are float32 (the compute type), int64 (ids, labels, indices) or bool (masks).
        Dimensions and positions are 1-based, like Lua (-1 is the last); token ids and class ids
        are data and keep their natural 0-based numbers. Arithmetic broadcasts like numpy:
        a + b, a - b, a * b, a / b, a ^ b, a % b, a // b and -a work between tensors and numbers.
        Random functions draw from the one seeded generator (lathe.seed).
        """)
            .add([filler("zeros", 0), filler("ones", 1), full, arange, linspace, eye, random("rand", "Uniform random numbers in [0, 1)."),
                  random("randn", "Standard normal random numbers (mean 0, std 1)."), randint, from, cat, stack, whereSelect, noGrad, autocast,
                  isTensor, mm("mm", "Matrix product (same as a:matmul(b)): 1-d, 2-d and batched with broadcast batch dims."),
                  mm("matmul", "Matrix product (numpy semantics). Same as tensor.mm."), save, load, saveNpy, loadNpy])
        TensorMethods.install(vm)
    }

    static let tensorOrNumber = LuaKind.either([.object("Tensor"), .value, .boolean])
    static let sizes = LuaParam("size", .either([.integer(), .table]), optional: true, variadic: true, "the sizes d1, d2, ... or one table {d1, d2, ...}")
    static let size = LuaParam("size", .either([.integer(), .table]), "a size, or a table of sizes {d1, d2, ...}")
    static func dtype(_ def: LuaDefault) -> LuaOpt { LuaOpt("dtype", .choice(DType.allCases.map(\.rawValue)), def, "the element type") }
    static let seed = LuaOpt("seed", .integer(), .computed("lathe.seed's stream"), "a private generator (the global stream is left untouched)")
    static let dim = LuaParam("dim", .integer(), optional: true, "1-based, negative from the end (default 1)")
    static let precision = LuaOpt("precision", .choice(MatmulPrecision.allCases.map(\.rawValue)), .computed("fp32, or tensor.autocast's"),
                                  "\"bf16\" rounds both operands to bf16 (nearest even) and sums in fp32; the result and its gradients are fp32")
    static let precisionDetails = "AMX or AVX512_BF16 serve bf16 (on CPUs with neither the product runs in fp32); lathe.blas() names the kernels."

    /// A size given as one integer or a table.
    static func sizeArg(_ c: LuaCall, _ i: Int32) throws -> [Int] {
        c.type(i) == LUA_TTABLE ? try c.shapeArgs(from: i).0 : [try c.checkInt(i, "size")]
    }

    static func filler(_ name: String, _ value: Double) -> LuaFunc {
        LuaFunc(name, "A tensor of \(name).", params: [sizes], options: [dtype(.string("float32"))], returns: "Tensor",
                errors: "negative sizes; sizes too large for memory.",
                example: "local t = tensor.\(name)(2, 3)\nprint(t)\nprint(tensor.\(name)({4}, {dtype = \"int64\"}))") { c in
            let (shape, next) = try c.shapeArgs(from: 1)
            return c.ret(try Tensor.filled(shape, value, dtype: try c.dtypeOption(c.opts(at: next), .float32)))
        }
    }

    static let full = LuaFunc(
        "full", "A tensor filled with one value.", params: [size, LuaParam("value", .value, "the value of every element")],
        options: [dtype(.string("float32"))], returns: "Tensor", example: "print(tensor.full({2, 2}, 7))"
    ) { c in
        let shape = try sizeArg(c, 1), dt = try c.dtypeOption(c.opts(), .float32)
        if dt == .int64 && lua_isinteger(c.L, 2) != 0 { return c.ret(try Tensor.filled(shape, int64: Int64(try c.checkInt(2, "value")))) }
        return c.ret(try Tensor.filled(shape, try c.checkNumber(2, "value"), dtype: dt))
    }

    static let arange = LuaFunc(
        "arange", "Evenly spaced values from start up to (not including) stop, like numpy.arange.",
        params: [LuaParam("start", .number(), "the first value; alone, the stop (from 0)"), LuaParam("stop", .number(), optional: true, "the end, not included"),
                 LuaParam("step", .number(), optional: true, "the spacing (default 1)")],
        options: [dtype(.computed("int64 for integer arguments, else float32"))], returns: "Tensor: 1-d",
        details: "The values are data: arange(5) is 0, 1, 2, 3, 4.", errors: "step = 0; non-finite numbers.",
        example: "print(tensor.arange(5))\nprint(tensor.arange(0, 1, 0.25))"
    ) { c in
        let given = (Int32(1)...3).prefix { c.type($0) == LUA_TNUMBER }
        let xs = try given.map { try c.checkNumber($0) }, allInt = given.allSatisfy { lua_isinteger(c.L, $0) != 0 }
        let dt = try c.dtypeOption(c.opts(), allInt ? .int64 : .float32)
        if allInt && dt == .int64 {
            // integers stay exact past 2^53
            let ns = try given.map { Int64(try c.checkInt($0)) }
            let (a, b, s) = ns.count == 1 ? (0, ns[0], 1) : (ns[0], ns[1], ns.count > 2 ? ns[2] : 1)
            return c.ret(try Tensor.arange(int64: a, b, s))
        }
        let (start, stop, step) = xs.count == 1 ? (0, xs[0], 1.0) : (xs[0], xs[1], xs.count > 2 ? xs[2] : 1)
        return c.ret(try Tensor.arange(start, stop, step, dtype: dt))
    }

    static let linspace = LuaFunc(
        "linspace", "n evenly spaced float32 values from a to b, both included.",
        params: [LuaParam("a", .number(), "the first value"), LuaParam("b", .number(), "the last value"), LuaParam("n", .integer(0...Int.max), "how many")],
        returns: "Tensor: 1-d, n values", example: "print(tensor.linspace(0, 1, 5))"
    ) { c in c.ret(try Tensor.linspace(try c.checkNumber(1, "a"), try c.checkNumber(2, "b"), try c.checkInt(3, "n"))) }

    static let eye = LuaFunc(
        "eye", "An identity matrix.", params: [LuaParam("n", .integer(0...Int.max), "rows"), LuaParam("m", .integer(0...Int.max), optional: true, "columns (default n)")],
        returns: "Tensor: n x m, float32", example: "print(tensor.eye(3))"
    ) { c in c.ret(try Tensor.eye(try c.checkInt(1, "n"), c.isNoneOrNil(2) ? nil : try c.checkInt(2, "m"))) }

    static func random(_ name: String, _ summary: String) -> LuaFunc {
        LuaFunc(name, summary, params: [sizes], options: [seed], returns: "Tensor: float32", errors: "negative sizes.",
                example: "lathe.seed(1)\nprint(tensor.\(name)(2, 3))") { c in
            let (shape, next) = try c.shapeArgs(from: 1)
            return c.ret(try Runtime.drawing(seed: try c.opts(at: next).intIfGiven("seed")) { r in
                name == "rand" ? try Tensor.rand(shape, rng: &r) : try Tensor.randn(shape, rng: &r)
            })
        }
    }

    static let randint = LuaFunc(
        "randint", "Random integers from low (included) to high (excluded), as int64.",
        params: [LuaParam("low", .integer(), "the smallest value"), LuaParam("high", .integer(), "one past the largest value"), size],
        options: [seed], returns: "Tensor: int64", details: "Values are data, so the bounds are as given.", errors: "high <= low.",
        example: "lathe.seed(1)\nprint(tensor.randint(0, 10, {2, 4}))"
    ) { c in
        let low = try c.checkInt(1, "low"), high = try c.checkInt(2, "high"), shape = try sizeArg(c, 3)
        return c.ret(try Runtime.drawing(seed: try c.opts().intIfGiven("seed")) { r in try Tensor.randint(low, high, shape, rng: &r) })
    }

    static let from = LuaFunc(
        "from", "A tensor from (nested) Lua tables of numbers or booleans.",
        params: [LuaParam("values", .either([.table, .value]), "nested tables (rectangular), or one number for a 0-d tensor")],
        options: [dtype(.computed("int64 for integers only, bool for booleans only, else float32"))], returns: "Tensor",
        errors: "ragged nesting; values that are not numbers or booleans; a non-integer value for int64.",
        example: "local t = tensor.from({{1, 2}, {3, 4}})\nprint(t, t:dtype())\nprint(tensor.from({0.5, 1.5}))"
    ) { c in
        var r = NestedReader(call: c)
        if c.type(1) == LUA_TTABLE { try r.read(1, depth: 0, path: "table") } else {
            (r.values, r.sawNumber, r.sawFloat) = ([try c.checkNumber(1)], true, lua_isinteger(c.L, 1) == 0)
            if !r.sawFloat { r.ints = [Int64(try c.checkInt(1))] }
        }
        return c.ret(try r.tensor(try c.dtypeOption(c.opts(), r.dtype)))
    }

    static let cat = LuaFunc(
        "cat", "Joins tensors along an existing dimension.", params: [LuaParam("tensors", .table, "an array of Tensors"), dim],
        returns: "Tensor", errors: "shapes that differ outside dim; an empty list.",
        example: "local a, b = tensor.ones(2, 2), tensor.zeros(1, 2)\nprint(tensor.cat({a, b}, 1):shape())"
    ) { c in c.ret(try Tensor.cat(try c.tensorList(1), dim: try c.optDimArg(2) ?? 0)) }

    static let stack = LuaFunc(
        "stack", "Stacks same-shape tensors along a new dimension.", params: [LuaParam("tensors", .table, "an array of Tensors"), dim],
        returns: "Tensor: one more dimension than the inputs", errors: "shapes that differ; an empty list.",
        example: "print(tensor.stack({tensor.ones(3), tensor.zeros(3)}):shape())"
    ) { c in c.ret(try Tensor.stack(try c.tensorList(1), dim: try c.optDimArg(2) ?? 0)) }

    static let whereSelect = LuaFunc(
        "where", "Elementwise choice: cond ? a : b, broadcasting all three.",
        params: [LuaParam("cond", .object("Tensor"), "a bool tensor (or numbers: nonzero is true)"),
                 LuaParam("a", tensorOrNumber, "the values where cond is true"), LuaParam("b", tensorOrNumber, "the values elsewhere")],
        returns: "Tensor", errors: "shapes that do not broadcast.",
        example: "local x = tensor.from({-1, 2, -3})\nprint(tensor.where(x:gt(0), x, 0))"
    ) { c in
        let a = try c.tensorOrNumber(2, "a")
        return c.ret(try Tensor.whereSelect(try c.tensorArg(1, "cond"), a, try c.tensorOrNumber(3, "b", like: a)))
    }

    /// Calls the function at `fn` with the arguments after it and returns its results; `restore`
    /// runs after it, error or not.
    static func calling(_ c: LuaCall, _ fn: Int32, restore: () -> Void) throws -> Int32 {
        let nargs = c.top - fn, base = c.top
        defer { restore() }
        try c.callLua(fn, nresults: LUA_MULTRET) {
            for i in 0..<nargs { lua_pushvalue(c.L, fn + 1 + i) }
            return nargs
        }
        return c.top - base
    }
    static let args = LuaParam("args", .any, optional: true, variadic: true, "passed to fn")

    static let noGrad = LuaFunc(
        "no_grad", "Runs a function without recording gradients (for evaluation and updates).",
        params: [LuaParam("fn", .function, "the function to run"), args], returns: "whatever fn returns",
        errors: "any error fn raises (recording is switched back on first).",
        example: "local w = tensor.ones(2):requires_grad(true)\nlocal y = tensor.no_grad(function() return w * 2 end)\nprint(y:requires_grad())"
    ) { c in
        let old = Autograd.enabled
        Autograd.enabled = false
        return try calling(c, 1) { Autograd.enabled = old }
    }

    static let autocast = LuaFunc(
        "autocast", "Runs a function with the matrix products of layers (linear, attention, LoRA, matmul) in a given precision.",
        params: [LuaParam("precision", .choice(MatmulPrecision.allCases.map(\.rawValue)), "\"bf16\": operands rounded to bf16, fp32 sums and outputs"),
                 LuaParam("fn", .function, "the function to run"), args],
        returns: "whatever fn returns",
        details: "Like torch.autocast: tensors stay float32, only the products change. " + precisionDetails
            + "\ntrain.fit{precision = \"bf16\"} does the same for a whole training run.",
        errors: "any error fn raises (the previous precision is restored first).",
        example: "local a, b = tensor.randn(64, 64), tensor.randn(64, 64)\nlocal c = tensor.autocast(\"bf16\", function() return a:matmul(b) end)\nprint((c - a:matmul(b)):abs():max():item() < 1)"
    ) { c in
        let old = Runtime.autocast
        Runtime.autocast = MatmulPrecision(rawValue: try c.checkString(1, "precision")) ?? .fp32
        return try calling(c, 2) { Runtime.autocast = old }
    }

    static let isTensor = LuaFunc(
        "is_tensor", "True when x is a Tensor.", params: [LuaParam("x", .any, optional: true, "any value")], returns: "boolean",
        example: "print(tensor.is_tensor(tensor.zeros(1)), tensor.is_tensor({}))"
    ) { c in c.ret(c.object(1, Tensor.self) != nil) }

    /// The precision option of a product: given, or the one tensor.autocast set around the call.
    static func precision(_ c: LuaCall) throws -> MatmulPrecision {
        try c.opts().stringIfGiven("precision").flatMap(MatmulPrecision.init(rawValue:)) ?? Runtime.autocast
    }

    static func mm(_ name: String, _ summary: String) -> LuaFunc {
        LuaFunc(name, summary, params: [LuaParam("a", .object("Tensor"), "the left operand"), LuaParam("b", .object("Tensor"), "the right operand")],
                options: [precision], returns: "Tensor", details: precisionDetails,
                errors: "inner sizes that differ, e.g. `matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ`.",
                example: "print(tensor.\(name)(tensor.ones(2, 3), tensor.ones(3, 4)))\nprint(tensor.\(name)(tensor.randn(4, 2, 3), tensor.ones(3, 4), {precision = \"bf16\"}):shape())") { c in
            c.ret(try Tensor.matmul(try c.tensorArg(1, "a"), try c.tensorArg(2, "b"), precision: try precision(c)))
        }
    }
}
