import CLua
import CLuaShim
import LatheCore

/// The methods of Tensor objects: information and conversions, autograd (here), shape and
/// views, math, reductions (TensorShapeMethods, TensorMathMethods, TensorReductionMethods).
enum TensorMethods {
    static func install(_ vm: LuaVM) {
        vm.defineClass(Tensor.self, name: "Tensor", summary: "An n-dimensional array (float32, int64 or bool) with autograd.") { b in
            b.add(info + conversions + shapeMethods + mathMethods + reductionMethods + autograd)
            b.getter("grad") { c in c.ret(try c.selfTensor().grad) }
            TensorMetamethods.install(b)
        }
    }

    /// A method whose result is a new tensor made from self (most of them).
    static func op(_ name: String, _ summary: String, params: [LuaParam] = [], options: [LuaOpt] = [], details: String = "",
                   errors: String = "", example: String, _ body: @escaping (Tensor, LuaCall) throws -> Tensor) -> LuaFunc {
        LuaFunc(name, summary, params: params, options: options, returns: "Tensor", details: details, errors: errors, example: example) { c in
            c.ret(try body(try c.selfTensor(), c))
        }
    }

    static let info: [LuaFunc] = [
        LuaFunc("shape", "The size of each dimension.", returns: "{d1, d2, ...}",
                example: "print(table.concat(tensor.zeros(2, 3):shape(), 'x'))") { c in try c.ret(.ints(try c.selfTensor().shape)) },
        LuaFunc("size", "The size of one dimension (or the shape table without an argument).", params: [LuaParam("dim", .integer(), optional: true, "1-based, negative from the end")],
                returns: "integer, or {d1, d2, ...}", errors: "dim out of range.", example: "local t = tensor.zeros(2, 3)\nprint(t:size(2), t:size(-1))") { c in
            let t = try c.selfTensor()
            guard let d = try c.optDimArg(2) else { return try c.ret(.ints(t.shape)) }
            return c.ret(t.shape[try t.dim(d, op: "size")])
        },
        LuaFunc("dim", "Number of dimensions.", returns: "integer", example: "print(tensor.zeros(2, 3):dim())") { c in c.ret(try c.selfTensor().rank) },
        LuaFunc("numel", "Number of elements.", returns: "integer", example: "print(tensor.zeros(2, 3):numel())") { c in c.ret(try c.selfTensor().count) },
        LuaFunc("dtype", "The element type: \"float32\", \"int64\" or \"bool\".", returns: "string",
                example: "print(tensor.arange(3):dtype(), tensor.zeros(1):dtype())") { c in try c.ret(.string(try c.selfTensor().dtype.rawValue)) },
        LuaFunc("stored_dtype", "The element type in the file the tensor was read from, when it was converted on load.", returns: "string or nil",
                details: "safetensors names (\"F16\", \"BF16\", \"F64\", \"I32\", ...) or numpy's (\"<f2\", \"<f8\", ...); nil when the\ntensor was not read from a file or was stored as its own dtype (F32, I64, BOOL, <f4, <i8, |b1).",
                example: "local p = os.tmpname()\nos.remove(p)\ntensor.save(p, {w = tensor.ones(2)}, nil, {dtype = \"bfloat16\"})\nlocal w = tensor.load(p).w\nprint(w:dtype(), w:stored_dtype())\nos.remove(p)") { c in
            try c.ret(try c.selfTensor().storedDType.map { .string($0) } ?? .nil)
        },
        LuaFunc("item", "The value of a one-element tensor as a Lua number (integer for int64, boolean for bool).", returns: "number, integer or boolean",
                errors: "more than one element.", example: "print(tensor.ones(2):sum():item())") { c in
            c.push(scalar: try c.selfTensor().itemScalar())
        },
        LuaFunc("totable", "The values as nested Lua tables (numbers, integers or booleans); a 0-d tensor gives a number.", returns: "table",
                example: "local t = tensor.from({{1, 2}, {3, 4}}):totable()\nprint(t[2][1])") { c in try c.pushNested(try c.selfTensor()); return 1 },
        LuaFunc("is_contiguous", "Whether the elements are laid out densely in row-major order.", returns: "boolean",
                example: "local t = tensor.zeros(2, 3)\nprint(t:is_contiguous(), t:t():is_contiguous())") { c in c.ret(try c.selfTensor().isContiguous) },
    ]

    static let conversions: [LuaFunc] = [("float", DType.float32), ("long", .int64), ("bool", .bool)].map { name, dt in
        op(name, "Converts to \(dt.rawValue) (a copy unless it already is).", details: dt == .int64 ? "Floats are truncated toward zero." : "",
           errors: dt == .int64 ? "NaN or infinite values." : "", example: "print(tensor.from({1.7, -1.7}):\(name)())") { t, _ in try t.to(dt) }
    } + [
        op("clone", "A copy with its own storage.", example: "local a = tensor.ones(2)\nlocal b = a:clone()\nprint(b)") { t, _ in try t.contiguous(copy: true) },
        op("contiguous", "A densely laid out tensor (the same one when it already is).",
           example: "print(tensor.zeros(2, 3):t():contiguous():is_contiguous())") { t, _ in try t.contiguous() },
    ]

    static let autograd: [LuaFunc] = [
        LuaFunc("requires_grad", "With a boolean: marks the tensor as needing a gradient and returns it. Without: whether it does.",
                params: [LuaParam("flag", .boolean, optional: true, "whether a gradient is needed")], returns: "the tensor, or a boolean",
                errors: "a non-float32 tensor; turning it off on the result of an op.",
                example: "local w = tensor.randn(3):requires_grad(true)\nprint(w:requires_grad())") { c in
            let t = try c.selfTensor()
            if c.isNoneOrNil(2) { return c.ret(t.requiresGrad) }
            try t.setRequiresGrad(try c.checkBool(2, "flag"))
            lua_pushvalue(c.L, 1)  // the same Lua value, not a second userdata
            return 1
        },
        LuaFunc("backward", "Computes gradients of this (scalar) tensor with respect to every input that requires one; they accumulate in .grad.",
                params: [LuaParam("gradient", .object("Tensor"), optional: true, "the gradient of the output (needed when it has several elements)")],
                details: "Gradients add up across calls: zero them with :zero_grad() (optimizers do this for you).",
                errors: "a tensor that does not require a gradient; a non-scalar without a gradient.",
                example: "local x = tensor.from({1.0, 2.0, 3.0}):requires_grad(true)\nlocal y = (x * x):sum()\ny:backward()\nprint(x.grad)") { c in
            try c.selfTensor().backward(c.isNoneOrNil(2) ? nil : try c.tensorArg(2, "gradient")); return 0
        },
        LuaFunc("zero_grad", "Forgets the accumulated gradient (.grad becomes nil).",
                example: "local x = tensor.ones(2):requires_grad(true)\nx:sum():backward()\nx:zero_grad()\nprint(x.grad)") { c in try c.selfTensor().zeroGrad(); return 0 },
        op("detach", "The same values outside the autograd graph (shares storage).",
           example: "local x = tensor.ones(2):requires_grad(true)\nprint((x * 2):detach():requires_grad())") { t, _ in t.detach() },
        LuaFunc("is_leaf", "True unless the tensor is the result of a recorded op.", returns: "boolean",
                example: "local x = tensor.ones(2):requires_grad(true)\nprint(x:is_leaf(), (x * 2):is_leaf())") { c in c.ret(try c.selfTensor().isLeaf) },
        LuaFunc("grad_fn", "The name of the op that made this tensor (nil for leaves).", returns: "string or nil",
                example: "local x = tensor.ones(2):requires_grad(true)\nprint((x * 2):grad_fn())") { c in
            try c.ret(try c.selfTensor().gradFn.map { .string($0.name) } ?? .nil)
        },
    ]
}
