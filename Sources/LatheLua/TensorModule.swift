import CLua
import CLuaShim
import LatheCore

// Lua binding of the tensor core. Dimensions and positions are 1-based in Lua (negative ones
// count from the end: -1 is the last); the core is 0-based. Token ids, class ids and other
// values that are data keep their natural numbers.

extension LuaCall {
    /// A Lua dimension (1-based, or negative from the end) as a core dimension.
    func dimArg(_ i: Int32, _ label: String = "dim") throws -> Int {
        let d = try checkInt(i, label)
        if d == 0 { throw argError(i, label, "dimensions are 1-based; use 1 for the first or -1 for the last") }
        return d > 0 ? d - 1 : d
    }
    func optDimArg(_ i: Int32, _ label: String = "dim") throws -> Int? {
        if isNoneOrNil(i) { return nil }
        return try dimArg(i, label)
    }

    /// A shape given as integers (zeros(2, 3)) or one table (zeros{2, 3}); returns the
    /// shape and the index of the first argument after it.
    func shapeArgs(from i: Int32) throws -> ([Int], Int32) {
        if type(i) == LUA_TTABLE && object(i, Tensor.self) == nil {
            // a table of sizes, unless it is an options table (has string keys)
            let abs = lua_absindex(L, i)
            if rawLen(abs) > 0 || !hasStringKeys(abs) {
                let s = try intArray(i, "size")
                for (k, d) in s.enumerated() where d < 0 {
                    throw argError(i, "size", "negative size \(d) at position \(k + 1)")
                }
                return (s, i + 1)
            }
        }
        var shape: [Int] = []
        var j = i
        while type(j) == LUA_TNUMBER {
            let d = try checkInt(j, "size")
            if d < 0 { throw argError(j, "size", "negative size \(d)") }
            shape.append(d)
            j += 1
        }
        return (shape, j)
    }

    func hasStringKeys(_ abs: Int32) -> Bool {
        lua_pushnil(L)
        while lua_next(L, abs) != 0 {
            if lua_type(L, -2) == LUA_TSTRING {
                lp_pop(L, 2)
                return true
            }
            lp_pop(L, 1)
        }
        return false
    }

    /// A list of dims given as integers or one table.
    func dimsArgs(from i: Int32) throws -> [Int] {
        if type(i) == LUA_TTABLE {
            return try intArray(i, "dims").map { d throws in
                if d == 0 { throw argError(i, "dims", "dimensions are 1-based") }
                return d > 0 ? d - 1 : d
            }
        }
        var out: [Int] = []
        var j = i
        while type(j) == LUA_TNUMBER {
            out.append(try dimArg(j, "dim"))
            j += 1
        }
        return out
    }

    /// Pushes a tensor element as Lua sees it: a number, an integer or a boolean.
    func push(scalar v: TensorScalar) {
        switch v {
        case .float(let x): lua_pushnumber(L, Double(x))
        case .int(let x): lua_pushinteger(L, lua_Integer(x))
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        }
    }

    func tensorArg(_ i: Int32, _ label: String) throws -> Tensor {
        try checkObject(i, Tensor.self, label, expected: "Tensor")
    }

    /// A tensor, or a number made into a 0-d tensor (float32, or int64 for integers when
    /// `like` is an int64 tensor).
    func tensorOrNumber(_ i: Int32, _ label: String, like: Tensor? = nil) throws -> Tensor {
        if let t = object(i, Tensor.self) { return t }
        if type(i) == LUA_TNUMBER {
            if lua_isinteger(L, i) != 0, let like, like.dtype != .float32 {
                return Tensor(int64s: [Int64(lua_tointegerx(L, i, nil))], shape: [])
            }
            return Tensor(floats: [Float(lua_tonumberx(L, i, nil))], shape: [])
        }
        if type(i) == LUA_TBOOLEAN {
            return Tensor(bools: [lua_toboolean(L, i) != 0], shape: [])
        }
        throw argError(i, label, expected: "Tensor or number")
    }

    func dtypeOption(_ o: LuaOptions, _ def: DType = .float32) throws -> DType {
        guard let s = try o.string("dtype") else { return def }
        switch s {
        case "float32", "float", "f32": return .float32
        case "int64", "long", "i64": return .int64
        case "bool": return .bool
        default:
            throw LuaError("bad option 'dtype' (expected \"float32\", \"int64\" or \"bool\", got \"\(s)\")")
        }
    }
}

/// Reads nested Lua tables of numbers/booleans into a flat array and shape.
struct NestedReader {
    let call: LuaCall
    var values: [Double] = []
    /// The same values as integers while every one is a Lua integer or boolean (int64
    /// tensors keep integers past 2^53 exact).
    var ints: [Int64] = []
    var shape: [Int] = []
    var sawFloat = false
    var sawBool = false
    var sawNumber = false

    mutating func read(_ idx: Int32, depth: Int, path: String) throws {
        let L = call.L
        if depth >= Tensor.maxRank {
            throw LuaError("tensor.from: table nested more than \(Tensor.maxRank) levels deep (a tensor has at most \(Tensor.maxRank) dimensions)")
        }
        try call.reserve()
        let abs = lua_absindex(L, idx)
        let n = Int(lua_rawlen(L, abs))
        if depth == shape.count {
            shape.append(n)
        } else if shape[depth] != n {
            throw LuaError("tensor.from: ragged nested table: \(path) has \(n) items, expected \(shape[depth]) like its siblings")
        }
        if n == 0 { return }
        for k in 1...n {
            let t = lua_rawgeti(L, abs, lua_Integer(k))
            defer { lp_pop(L, 1) }
            let p = "\(path)[\(k)]"
            if t == LUA_TTABLE {
                if depth + 1 < shape.count && shape.count == depth + 1 {
                    throw LuaError("tensor.from: \(p) is a table where numbers were expected")
                }
                if call.object(-1, Tensor.self) != nil {
                    throw LuaError("tensor.from: \(p) is a Tensor; use tensor.stack or tensor.cat to combine tensors")
                }
                if k > 1 && shape.count == depth + 1 {
                    throw LuaError("tensor.from: \(p) is a table where numbers were expected (ragged nesting)")
                }
                try read(-1, depth: depth + 1, path: p)
            } else if t == LUA_TNUMBER {
                if shape.count > depth + 1 {
                    throw LuaError("tensor.from: \(p) is a number where a table was expected (ragged nesting)")
                }
                if lua_isinteger(L, -1) == 0 { sawFloat = true }
                sawNumber = true
                values.append(lua_tonumberx(L, -1, nil))
                if !sawFloat { ints.append(lua_tointegerx(L, -1, nil)) }
            } else if t == LUA_TBOOLEAN {
                if shape.count > depth + 1 {
                    throw LuaError("tensor.from: \(p) is a boolean where a table was expected (ragged nesting)")
                }
                sawBool = true
                values.append(lua_toboolean(L, -1) != 0 ? 1 : 0)
                if !sawFloat { ints.append(lua_toboolean(L, -1) != 0 ? 1 : 0) }
            } else {
                throw LuaError("tensor.from: \(p) is a \(call.typeName(-1)); expected numbers, booleans or nested tables")
            }
        }
    }
}

enum TensorModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        let m = vm.module("tensor", summary: "n-dimensional arrays on OpenBLAS with automatic differentiation.",
                          details: """
        Tensors are float32 (the compute type), int64 (ids, labels, indices) or bool (masks).
        Dimensions and positions are 1-based, like Lua (-1 is the last); token ids and class ids
        are data and keep their natural 0-based numbers. Arithmetic broadcasts like numpy:
        a + b, a - b, a * b, a / b, a ^ b and -a work between tensors and numbers.
        Random functions draw from the one seeded generator (lathe.seed).
        """)
        installCreation(vm, m)
        installFunctions(vm, m)
        installIO(vm, m)
        installClass(vm)
    }

    static func push(_ c: LuaCall, _ t: Tensor) -> Int32 {
        c.push(t)
        return 1
    }

    // MARK: - creation

    static func installCreation(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        func filler(_ name: String, _ summary: String, _ value: Double) {
            m.function(name, Doc(summary,
                signature: "tensor.\(name)(d1, d2, ... [, {dtype=\"float32\"}]) or tensor.\(name){d1, d2, ...}",
                details: "dtype is \"float32\" (default), \"int64\" or \"bool\".",
                returns: "a new Tensor",
                errors: "negative sizes; sizes too large for memory; an unknown dtype.",
                example: "local t = tensor.\(name)(2, 3)\nprint(t)\nprint(tensor.\(name)({4}, {dtype = \"int64\"}))")) { c in
                let (shape, next) = try c.shapeArgs(from: 1)
                let o = try c.options(next, allowed: ["dtype"])
                return push(c, try Tensor.filled(shape, value, dtype: try c.dtypeOption(o)))
            }
        }
        filler("zeros", "A tensor of zeros.", 0)
        filler("ones", "A tensor of ones.", 1)

        m.function("full", Doc("A tensor filled with one value.",
            signature: "tensor.full(size, value [, {dtype=}])",
            details: "size is a table of dimension sizes ({2, 3}) or a single integer.",
            returns: "a new Tensor",
            errors: "a negative size; a non-number value.",
            example: "print(tensor.full({2, 2}, 7))")) { c in
            let shape: [Int] = c.type(1) == LUA_TTABLE ? try c.intArray(1, "size") : [try c.checkInt(1, "size")]
            let v = try c.checkNumber(2, "value")
            let o = try c.options(3, allowed: ["dtype"])
            let dt = try c.dtypeOption(o)
            if dt == .int64 && lua_isinteger(c.L, 2) != 0 {
                return push(c, try Tensor.filled(shape, int64: Int64(try c.checkInt(2, "value"))))
            }
            return push(c, try Tensor.filled(shape, v, dtype: dt))
        }

        m.function("arange", Doc("Evenly spaced values from start up to (not including) stop, like numpy.arange.",
            signature: "tensor.arange(stop) | tensor.arange(start, stop [, step] [, {dtype=}])",
            details: "With integer arguments the result is int64 (like numpy), else float32; dtype overrides.\nThe values are data: arange(5) is 0, 1, 2, 3, 4.",
            returns: "a 1-d Tensor",
            errors: "step = 0; non-finite numbers.",
            example: "print(tensor.arange(5))\nprint(tensor.arange(0, 1, 0.25))")) { c in
            var nums: [Double] = []
            var allInt = true
            var j: Int32 = 1
            while c.type(j) == LUA_TNUMBER && j <= 3 {
                nums.append(try c.checkNumber(j))
                if lua_isinteger(c.L, j) == 0 { allInt = false }
                j += 1
            }
            if nums.isEmpty { throw c.argError(1, "stop", expected: "number") }
            let o = try c.options(j, allowed: ["dtype"])
            let (start, stop, step) = nums.count == 1 ? (0, nums[0], 1.0) : (nums[0], nums[1], nums.count > 2 ? nums[2] : 1)
            let dt = try c.dtypeOption(o, allInt ? .int64 : .float32)
            if allInt && dt == .int64 {
                var ints: [Int64] = []
                for k in 1...nums.count { ints.append(Int64(try c.checkInt(Int32(k)))) }
                let (a, b, s) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count > 2 ? ints[2] : 1)
                return push(c, try Tensor.arange(int64: a, b, s))
            }
            return push(c, try Tensor.arange(start, stop, step, dtype: dt))
        }

        m.function("linspace", Doc("n evenly spaced float32 values from a to b, both included.",
            signature: "tensor.linspace(a, b, n)",
            returns: "a 1-d Tensor of n values",
            errors: "n negative.",
            example: "print(tensor.linspace(0, 1, 5))")) { c in
            return push(c, try Tensor.linspace(try c.checkNumber(1, "a"), try c.checkNumber(2, "b"), try c.checkInt(3, "n")))
        }

        m.function("eye", Doc("An identity matrix.",
            signature: "tensor.eye(n [, m])",
            returns: "an n x m float32 Tensor (m defaults to n)",
            example: "print(tensor.eye(3))")) { c in
            let n = try c.checkInt(1, "n")
            let mm = try c.optInt(2, "m", n)
            if n < 0 || mm < 0 { throw c.error("sizes must be non-negative (got \(n) x \(mm))") }
            return push(c, try Tensor.eye(n, mm))
        }

        func random(_ name: String, _ summary: String, _ make: @escaping ([Int], inout RandomGenerator) throws -> Tensor) {
            m.function(name, Doc(summary,
                signature: "tensor.\(name)(d1, d2, ... [, {seed=}]) or tensor.\(name){d1, d2, ...}",
                details: "Draws from the one generator seeded by lathe.seed; {seed = n} uses a private generator instead\n(the global stream is then left untouched).",
                returns: "a new float32 Tensor",
                errors: "negative sizes.",
                example: "lathe.seed(1)\nprint(tensor.\(name)(2, 3))")) { c in
                let (shape, next) = try c.shapeArgs(from: 1)
                let o = try c.options(next, allowed: ["seed"])
                if let s = try o.int("seed") {
                    var rng = RandomGenerator(seed: UInt64(bitPattern: Int64(s)))
                    return push(c, try make(shape, &rng))
                }
                return push(c, try make(shape, &Runtime.rng))
            }
        }
        random("rand", "Uniform random numbers in [0, 1).") { s, r in try Tensor.rand(s, rng: &r) }
        random("randn", "Standard normal random numbers (mean 0, std 1).") { s, r in try Tensor.randn(s, rng: &r) }

        m.function("randint", Doc("Random integers from low (included) to high (excluded), as int64.",
            signature: "tensor.randint(low, high, size [, {seed=}])",
            details: "size is a table ({2, 3}) or an integer. Values are data, so the bounds are as given.",
            returns: "an int64 Tensor",
            errors: "high <= low; negative sizes.",
            example: "lathe.seed(1)\nprint(tensor.randint(0, 10, {2, 4}))")) { c in
            let low = try c.checkInt(1, "low"), high = try c.checkInt(2, "high")
            let shape: [Int] = c.type(3) == LUA_TTABLE ? try c.intArray(3, "size") : [try c.checkInt(3, "size")]
            if shape.contains(where: { $0 < 0 }) { throw c.argError(3, "size", "sizes must be non-negative") }
            let o = try c.options(4, allowed: ["seed"])
            if let s = try o.int("seed") {
                var rng = RandomGenerator(seed: UInt64(bitPattern: Int64(s)))
                return push(c, try Tensor.randint(low, high, shape, rng: &rng))
            }
            return push(c, try Tensor.randint(low, high, shape, rng: &Runtime.rng))
        }

        m.function("from", Doc("A tensor from (nested) Lua tables of numbers or booleans.",
            signature: "tensor.from(table [, {dtype=}])",
            details: "All integers give int64, any float gives float32, booleans give bool; dtype overrides.\nNested tables must be rectangular.",
            returns: "a new Tensor",
            errors: "ragged nesting; values that are not numbers or booleans.",
            example: "local t = tensor.from({{1, 2}, {3, 4}})\nprint(t, t:dtype())\nprint(tensor.from({0.5, 1.5}))")) { c in
            if c.type(1) == LUA_TNUMBER {
                let o = try c.options(2, allowed: ["dtype"])
                let isInt = lua_isinteger(c.L, 1) != 0
                let dt = try c.dtypeOption(o, isInt ? .int64 : .float32)
                if dt == .int64 { return push(c, Tensor(int64s: [Int64(try c.checkInt(1, "value"))], shape: [])) }
                return push(c, try Tensor.filled([], try c.checkNumber(1), dtype: dt))
            }
            try c.checkTable(1, "table")
            let o = try c.options(2, allowed: ["dtype"])
            var r = NestedReader(call: c)
            try r.read(1, depth: 0, path: "table")
            let def: DType = r.sawFloat ? .float32 : (r.sawBool && !r.sawNumber ? .bool : (r.sawNumber ? .int64 : .float32))
            let dt = try c.dtypeOption(o, def)
            _ = try Tensor.checkShape(r.shape, dtype: dt)
            switch dt {
            case .float32: return push(c, Tensor(floats: r.values.map { Float($0) }, shape: r.shape))
            case .int64:
                if !r.sawFloat { return push(c, Tensor(int64s: r.ints, shape: r.shape)) }
                let ints = try r.values.map { v throws(LatheError) in try checkedInt64(v, "value") }
                return push(c, Tensor(int64s: ints, shape: r.shape))
            case .bool: return push(c, Tensor(bools: r.values.map { $0 != 0 }, shape: r.shape))
            }
        }
    }

    // MARK: - module-level functions

    static func installFunctions(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("cat", Doc("Joins tensors along an existing dimension.",
            signature: "tensor.cat({t1, t2, ...} [, dim = 1])",
            returns: "a new Tensor",
            errors: "shapes that differ outside dim; an empty list.",
            example: "local a, b = tensor.ones(2, 2), tensor.zeros(1, 2)\nprint(tensor.cat({a, b}, 1):shape())")) { c in
            let ts = try tensorList(c, 1)
            let d = try c.optDimArg(2) ?? 0
            return push(c, try Tensor.cat(ts, dim: d))
        }
        m.function("stack", Doc("Stacks same-shape tensors along a new dimension.",
            signature: "tensor.stack({t1, t2, ...} [, dim = 1])",
            returns: "a new Tensor with one more dimension",
            errors: "shapes that differ; an empty list.",
            example: "print(tensor.stack({tensor.ones(3), tensor.zeros(3)}):shape())")) { c in
            let ts = try tensorList(c, 1)
            let d = try c.optDimArg(2) ?? 0
            return push(c, try Tensor.stack(ts, dim: d))
        }
        m.function("where", Doc("Elementwise choice: cond ? a : b, broadcasting all three.",
            signature: "tensor.where(cond, a, b)",
            details: "cond is a bool tensor (or numbers, nonzero = true); a and b are tensors or numbers.",
            returns: "a new Tensor",
            errors: "shapes that do not broadcast.",
            example: "local x = tensor.from({-1, 2, -3})\nprint(tensor.where(x:gt(0), x, 0))")) { c in
            let cond = try c.tensorArg(1, "cond")
            let a = try c.tensorOrNumber(2, "a"), b = try c.tensorOrNumber(3, "b", like: a)
            return push(c, try Tensor.whereSelect(cond, a, b))
        }
        m.function("no_grad", Doc("Runs a function without recording gradients (for evaluation and updates).",
            signature: "tensor.no_grad(fn, ...) -> fn's results",
            returns: "whatever fn returns",
            errors: "any error fn raises (recording is switched back on first).",
            example: "local w = tensor.ones(2):requires_grad(true)\nlocal y = tensor.no_grad(function() return w * 2 end)\nprint(y:requires_grad())")) { c in
            try c.checkFunction(1, "fn")
            let nargs = c.top - 1
            let base = c.top
            let old = Autograd.enabled
            Autograd.enabled = false
            defer { Autograd.enabled = old }
            try c.callLua(1, nresults: LUA_MULTRET, arguments: nargs) {
                for i in 0..<nargs { lua_pushvalue(c.L, 2 + i) }
                return nargs
            }
            return c.top - base
        }
        m.function("autocast", Doc("Runs a function with the matrix products of layers (linear, attention, LoRA, matmul) in a given precision.",
            signature: "tensor.autocast(precision, fn, ...) -> fn's results",
            details: "precision: \"bf16\" (operands rounded to bf16, fp32 accumulation and outputs; AMX or AVX512_BF16 when the\nCPU has them, else fp32) or \"fp32\". Like torch.autocast: tensors stay float32, only the products change.\ntrain.fit{precision = \"bf16\"} does the same for a whole training run.",
            returns: "whatever fn returns",
            errors: "an unknown precision; any error fn raises (the previous precision is restored first).",
            example: "local a, b = tensor.randn(64, 64), tensor.randn(64, 64)\nlocal c = tensor.autocast(\"bf16\", function() return a:matmul(b) end)\nprint((c - a:matmul(b)):abs():max():item() < 1)")) { c in
            let name = try c.checkString(1, "precision")
            guard let p = MatmulPrecision(rawValue: name) else { throw c.argError(1, "precision", expected: "\"fp32\" or \"bf16\"") }
            try c.checkFunction(2, "fn")
            let nargs = c.top - 2
            let base = c.top
            let old = Runtime.autocast
            Runtime.autocast = p
            defer { Runtime.autocast = old }
            try c.callLua(2, nresults: LUA_MULTRET, arguments: nargs) {
                for i in 0..<nargs { lua_pushvalue(c.L, 3 + i) }
                return nargs
            }
            return c.top - base
        }
        m.function("is_tensor", Doc("True when x is a Tensor.",
            signature: "tensor.is_tensor(x) -> boolean",
            example: "print(tensor.is_tensor(tensor.zeros(1)), tensor.is_tensor({}))")) { c in
            c.push(c.object(1, Tensor.self) != nil)
            return 1
        }
        m.function("mm", Doc("Matrix product (same as a:matmul(b)): 1-d, 2-d and batched with broadcast batch dims.",
            signature: "tensor.mm(a, b, {precision=\"fp32\"})",
            details: Self.precisionDetails,
            returns: "a new Tensor",
            errors: "inner sizes that differ, e.g. `matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ`; a precision other than \"fp32\" or \"bf16\".",
            example: "print(tensor.mm(tensor.ones(2, 3), tensor.ones(3, 4)))\nprint(tensor.mm(tensor.ones(2, 3), tensor.ones(3, 4), {precision = \"bf16\"}))")) { c in
            return push(c, try Tensor.matmul(try c.tensorArg(1, "a"), try c.tensorArg(2, "b"), precision: try precisionOption(c, 3)))
        }
        m.function("matmul", Doc("Matrix product (numpy semantics). Same as tensor.mm.",
            signature: "tensor.matmul(a, b, {precision=\"fp32\"})",
            details: Self.precisionDetails,
            returns: "a new Tensor",
            errors: "inner sizes that differ; a precision other than \"fp32\" or \"bf16\".",
            example: "local a = tensor.randn(4, 2, 3)\nprint(tensor.matmul(a, tensor.randn(3, 5)):shape())")) { c in
            return push(c, try Tensor.matmul(try c.tensorArg(1, "a"), try c.tensorArg(2, "b"), precision: try precisionOption(c, 3)))
        }
    }

    static let precisionDetails = "precision: default fp32, or the one tensor.autocast set around the call.\nprecision = \"bf16\" rounds both operands to bf16 (nearest even) and accumulates in fp32\n(AMX or AVX512_BF16; on CPUs with neither the product runs in fp32); the result, and the\ngradients, which use the same precision, are fp32. lathe.blas() names the kernels."

    /// The trailing {precision=} option of matmul/mm.
    static func precisionOption(_ c: LuaCall, _ i: Int32) throws -> MatmulPrecision {
        let o = try c.options(i, allowed: ["precision"])
        // no option: the precision tensor.autocast set (fp32 outside it)
        return MatmulPrecision(rawValue: try o.choice("precision", ["fp32", "bf16"], Runtime.autocast.rawValue)) ?? .fp32
    }

    static func tensorList(_ c: LuaCall, _ i: Int32) throws -> [Tensor] {
        try c.checkTable(i, "tensors")
        let n = c.rawLen(i)
        if n == 0 { throw c.argError(i, "tensors", "the list is empty") }
        var out: [Tensor] = []
        for k in 1...n {
            lua_rawgeti(c.L, i, lua_Integer(k))
            defer { lp_pop(c.L, 1) }
            guard let t = c.object(-1, Tensor.self) else {
                throw c.argError(i, "tensors", "element \(k) is a \(c.typeName(-1)), expected Tensor")
            }
            out.append(t)
        }
        return out
    }
}
