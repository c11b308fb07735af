import CLua
import CLuaShim
import LatheCore

/// Methods and metamethods of Tensor objects.
extension TensorModule {
    static func installClass(_ vm: LuaVM) {
        vm.defineClass(Tensor.self, name: "Tensor", summary: "An n-dimensional array (float32, int64 or bool) with autograd.") { b in
            info(b)
            shapeOps(b)
            math(b)
            reductions(b)
            autograd(b)
            metas(b)
        }
    }

    static func selfT(_ c: LuaCall) throws -> Tensor { try c.selfObject(Tensor.self) }

    /// Pushes a core 0-based index tensor as 1-based positions.
    static func positions(_ t: Tensor) throws -> Tensor { try t.addScalar(1) }
    /// Reads 1-based positions (int64 tensor or Lua array) as a 0-based index tensor.
    static func indexArg(_ c: LuaCall, _ i: Int32, _ label: String) throws -> Tensor {
        if let t = c.object(i, Tensor.self) {
            guard t.dtype == .int64 else {
                throw c.argError(i, label, "positions must be an int64 tensor (1-based), got \(t.dtype.rawValue)")
            }
            let p = try t.contiguous()
            for k in 0..<p.count where p.int64Pointer[k] == 0 {
                throw c.argError(i, label, "positions are 1-based; 0 is not a position")
            }
            return try t.addScalar(-1)
        }
        if c.type(i) == LUA_TTABLE {
            let xs = try c.intArray(i, label)
            if xs.contains(0) { throw c.argError(i, label, "positions are 1-based; 0 is not a position") }
            // below 1 is out of range anyway; wrapping keeps Int.min from trapping
            return Tensor(int64s: xs.map { Int64($0) &- 1 }, shape: [xs.count])
        }
        throw c.argError(i, label, expected: "int64 Tensor or array of positions")
    }

    /// A 1-based position (negative from the end) along a dim of size n, as 0-based.
    static func position(_ c: LuaCall, _ i: Int32, _ label: String, size n: Int) throws -> Int {
        let p = try c.checkInt(i, label)
        let z = p > 0 ? p - 1 : n + p
        if p == 0 || z < 0 || z >= n {
            throw c.argError(i, label, "position \(p) out of range 1..\(n)\(n > 0 ? " (or -\(n)..-1)" : "")")
        }
        return z
    }

    // MARK: - information

    static func info(_ b: LuaClassBuilder<Tensor>) {
        b.method("shape", Doc("The size of each dimension.", signature: "t:shape() -> {d1, d2, ...}",
                              example: "print(table.concat(tensor.zeros(2, 3):shape(), 'x'))")) { c in
            let t = try selfT(c)
            return try c.ret(.ints(t.shape))
        }
        b.method("size", Doc("The size of one dimension (or the shape table without an argument).",
                             signature: "t:size([dim])", errors: "dim out of range.",
                             example: "local t = tensor.zeros(2, 3)\nprint(t:size(2), t:size(-1))")) { c in
            let t = try selfT(c)
            guard let d = try c.optDimArg(2) else { return try c.ret(.ints(t.shape)) }
            c.push(t.shape[try t.dim(d, op: "size")])
            return 1
        }
        b.method("dim", Doc("Number of dimensions.", signature: "t:dim() -> integer",
                            example: "print(tensor.zeros(2, 3):dim())")) { c in
            c.push(try selfT(c).rank)
            return 1
        }
        b.method("numel", Doc("Number of elements.", signature: "t:numel() -> integer",
                              example: "print(tensor.zeros(2, 3):numel())")) { c in
            c.push(try selfT(c).count)
            return 1
        }
        b.method("stored_dtype", Doc("The element type in the file the tensor was read from, when it was converted on load.",
                              signature: "t:stored_dtype() -> string or nil",
                              details: "safetensors names (\"F16\", \"BF16\", \"F64\", \"I32\", ...) or numpy's (\"<f2\", \"<f8\", ...); nil when the\ntensor was not read from a file or was stored as its own dtype (F32, I64, BOOL, <f4, <i8, |b1).",
                              example: "local p = os.tmpname()\nos.remove(p)\ntensor.save(p, {w = tensor.ones(2)}, nil, {dtype = \"bfloat16\"})\nlocal w = tensor.load(p).w\nprint(w:dtype(), w:stored_dtype())\nos.remove(p)")) { c in
            if let s = try selfT(c).storedDType { c.push(s) } else { c.pushNil() }
            return 1
        }
        b.method("dtype", Doc("The element type: \"float32\", \"int64\" or \"bool\".", signature: "t:dtype() -> string",
                              example: "print(tensor.arange(3):dtype(), tensor.zeros(1):dtype())")) { c in
            c.push(try selfT(c).dtype.rawValue)
            return 1
        }
        b.method("item", Doc("The value of a one-element tensor as a Lua number (integer for int64, boolean for bool).",
                             signature: "t:item()", errors: "more than one element.",
                             example: "print(tensor.ones(2):sum():item())")) { c in
            c.push(scalar: try selfT(c).itemScalar())
            return 1
        }
        b.method("totable", Doc("The values as nested Lua tables (numbers, integers or booleans).",
                                signature: "t:totable() -> table", details: "A 0-d tensor gives a number.",
                                example: "local t = tensor.from({{1, 2}, {3, 4}}):totable()\nprint(t[2][1])")) { c in
            let t = try selfT(c)
            try pushNested(c, t)
            return 1
        }
        b.method("is_contiguous", Doc("Whether the elements are laid out densely in row-major order.",
                                      signature: "t:is_contiguous() -> boolean",
                                      example: "local t = tensor.zeros(2, 3)\nprint(t:is_contiguous(), t:t():is_contiguous())")) { c in
            c.push(try selfT(c).isContiguous)
            return 1
        }
        for (name, dt) in [("float", DType.float32), ("long", .int64), ("bool", .bool)] {
            b.method(name, Doc("Converts to \(dt.rawValue) (a copy unless it already is).", signature: "t:\(name)()",
                               details: dt == .int64 ? "Floats are truncated toward zero." : "",
                               errors: dt == .int64 ? "NaN or infinite values." : "",
                               example: "print(tensor.from({1.7, -1.7}):\(name)())")) { c in
                return push(c, try selfT(c).to(dt))
            }
        }
        b.method("clone", Doc("A copy with its own storage.", signature: "t:clone()",
                              example: "local a = tensor.ones(2)\nlocal b = a:clone()\nprint(b)")) { c in
            return push(c, try selfT(c).contiguous(copy: true))
        }
        b.method("contiguous", Doc("A densely laid out tensor (the same one when it already is).", signature: "t:contiguous()",
                                   example: "print(tensor.zeros(2, 3):t():contiguous():is_contiguous())")) { c in
            return push(c, try selfT(c).contiguous())
        }
    }

    static func pushNested(_ c: LuaCall, _ t: Tensor) throws {
        let L = c.L
        if t.rank == 0 {
            c.push(scalar: t.scalar(at: t.offset))
            return
        }
        // every element becomes a Lua value: the whole result must fit before the first row
        try LuaCall.checkTableSize(t.count)
        func rec(_ d: Int, _ off: Int) throws {
            try c.reserve()
            let n = t.shape[d]
            lua_createtable(L, Int32(clamping: n), 0)
            for i in 0..<n {
                let o = off + i * t.strides[d]
                if d == t.rank - 1 {
                    switch t.dtype {
                    case .float32: lua_pushnumber(L, Double(t.storage.floats[o]))
                    case .int64: lua_pushinteger(L, lua_Integer(t.storage.int64s[o]))
                    case .bool: lua_pushboolean(L, t.storage.bytes[o] != 0 ? 1 : 0)
                    }
                } else {
                    try rec(d + 1, o)
                }
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
        }
        try rec(0, t.offset)
    }

    // MARK: - shape

    static func shapeOps(_ b: LuaClassBuilder<Tensor>) {
        for name in ["reshape", "view"] {
            b.method(name, Doc("The same values with a new shape; one size may be -1 (inferred).",
                               signature: "t:\(name)(d1, d2, ...) or t:\(name){d1, d2, ...}",
                               details: "A view sharing storage when the data is contiguous, a copy otherwise.",
                               errors: "a shape with a different number of elements.",
                               example: "print(tensor.arange(6):\(name)(2, -1))")) { c in
                let t = try selfT(c)
                var shape: [Int] = []
                if c.type(2) == LUA_TTABLE { shape = try c.intArray(2, "shape") } else {
                    var j: Int32 = 2
                    while c.type(j) == LUA_TNUMBER { shape.append(try c.checkInt(j, "size")); j += 1 }
                }
                return push(c, try t.reshape(shape))
            }
        }
        b.method("flatten", Doc("Flattens dims start..stop (default: all) into one.", signature: "t:flatten([start = 1 [, stop = -1]])",
                                example: "print(tensor.zeros(2, 3, 4):flatten(2):shape()[2])")) { c in
            let t = try selfT(c)
            return push(c, try t.flatten(try c.optDimArg(2, "start") ?? 0, try c.optDimArg(3, "stop") ?? -1))
        }
        b.method("transpose", Doc("Swaps two dimensions (a view, no copy).", signature: "t:transpose(dim1, dim2)",
                                  errors: "a dimension out of range.",
                                  example: "print(tensor.zeros(2, 3):transpose(1, 2):shape()[1])")) { c in
            let t = try selfT(c)
            return push(c, try t.transpose(try c.dimArg(2, "dim1"), try c.dimArg(3, "dim2")))
        }
        b.method("t", Doc("Transpose of a 2-d tensor (a view).", signature: "t:t()", errors: "not 2-d.",
                          example: "print(tensor.from({{1, 2, 3}}):t())")) { c in
            let t = try selfT(c)
            if t.rank != 2 { throw c.error("t() needs a 2-d tensor, got shape \(t.shapeString); use transpose(d1, d2)") }
            return push(c, try t.transpose(0, 1))
        }
        b.method("permute", Doc("Reorders dimensions (a view).", signature: "t:permute(d1, d2, ...)",
                                errors: "not a permutation of all dims.",
                                example: "print(table.concat(tensor.zeros(2, 3, 4):permute(3, 1, 2):shape(), 'x'))")) { c in
            let t = try selfT(c)
            return push(c, try t.permute(try c.dimsArgs(from: 2)))
        }
        b.method("squeeze", Doc("Removes dimensions of size 1 (all, or just dim).", signature: "t:squeeze([dim])",
                                example: "print(tensor.zeros(1, 3, 1):squeeze():dim())")) { c in
            let t = try selfT(c)
            return push(c, try t.squeeze(try c.optDimArg(2)))
        }
        b.method("unsqueeze", Doc("Inserts a dimension of size 1 at position dim (-1 = at the end).", signature: "t:unsqueeze(dim)",
                                  example: "print(table.concat(tensor.zeros(3):unsqueeze(1):shape(), 'x'))")) { c in
            let t = try selfT(c)
            let d = try c.checkInt(2, "dim")
            if d == 0 { throw c.argError(2, "dim", "dimensions are 1-based") }
            return push(c, try t.unsqueeze(d > 0 ? d - 1 : d))
        }
        b.method("expand", Doc("Broadcasts size-1 dimensions to a larger shape without copying (-1 keeps a size).",
                               signature: "t:expand(d1, d2, ...)", errors: "a non-1 size that differs.",
                               example: "print(tensor.from({{1}, {2}}):expand(2, 3))")) { c in
            let t = try selfT(c)
            let (shape, _) = try expandArgs(c, 2)
            return push(c, try t.expand(shape))
        }
        b.method("narrow", Doc("A view of length elements along dim starting at position start (1-based).",
                               signature: "t:narrow(dim, start, length)", errors: "a range outside the dimension.",
                               example: "print(tensor.arange(10):narrow(1, 3, 4))")) { c in
            let t = try selfT(c)
            let d = try t.dim(try c.dimArg(2), op: "narrow")
            let start = try position(c, 3, "start", size: max(t.shape[d], 1))
            let len = try c.checkInt(4, "length")
            return push(c, try t.narrow(d, start, len))
        }
        b.method("slice", Doc("A view of positions a..b (inclusive, 1-based; negative counts from the end) along dim, like string.sub.",
                              signature: "t:slice(dim, a [, b = -1 [, step = 1]])",
                              details: "Out-of-range bounds are clipped like string.sub; an empty range gives size 0.",
                              example: "local t = tensor.arange(10)\nprint(t:slice(1, 2, 4), t:slice(1, -3))")) { c in
            let t = try selfT(c)
            let d = try t.dim(try c.dimArg(2), op: "slice")
            let n = t.shape[d]
            var a = try c.checkInt(3, "a"), e = try c.optInt(4, "b", -1)
            let step = try c.optInt(5, "step", 1)
            if a < 0 { a = max(n + a + 1, 1) } else if a == 0 { a = 1 }
            if e < 0 { e = n + e + 1 } else if e > n { e = n }
            return push(c, try t.slice(d, a - 1, max(e, a - 1), step: step))
        }
        b.method("select", Doc("The slice at position i (1-based) along dim, with that dimension removed.",
                               signature: "t:select(dim, i)", errors: "i out of range.",
                               example: "print(tensor.from({{1, 2}, {3, 4}}):select(2, 1))")) { c in
            let t = try selfT(c)
            let d = try t.dim(try c.dimArg(2), op: "select")
            return push(c, try t.select(d, try position(c, 3, "i", size: t.shape[d])))
        }
        b.method("index_select", Doc("Entries at the given positions (1-based) along dim.",
                                     signature: "t:index_select(dim, positions)",
                                     details: "positions: an int64 tensor or a Lua array of 1-based positions.",
                                     errors: "a position out of range.",
                                     example: "print(tensor.arange(10, 20):index_select(1, {1, 3, 10}))")) { c in
            let t = try selfT(c)
            return push(c, try t.index(try c.dimArg(2), try indexArg(c, 3, "positions")))
        }
        b.method("gather", Doc("Gathers values along dim at 1-based positions (an int64 tensor of the same rank).",
                               signature: "t:gather(dim, positions)",
                               example: "local t = tensor.from({{1, 2}, {3, 4}})\nprint(t:gather(2, tensor.from({{2}, {1}})))")) { c in
            let t = try selfT(c)
            return push(c, try t.gather(try c.dimArg(2), try indexArg(c, 3, "positions")))
        }
        b.method("scatter_add", Doc("A copy with src added at 1-based positions along dim.",
                                    signature: "t:scatter_add(dim, positions, src)",
                                    example: "local z = tensor.zeros(3)\nprint(z:scatter_add(1, tensor.from({1, 3, 1}), tensor.from({1.0, 2.0, 3.0})))")) { c in
            let t = try selfT(c)
            return push(c, try t.scatterAdd(try c.dimArg(2), try indexArg(c, 3, "positions"), try c.tensorArg(4, "src")))
        }
        b.method("masked_fill", Doc("A copy with value where mask is true.", signature: "t:masked_fill(mask, value)",
                                    errors: "a mask shape that does not broadcast to t.",
                                    example: "local x = tensor.from({1.0, -2.0, 3.0})\nprint(x:masked_fill(x:lt(0), 0))")) { c in
            let t = try selfT(c)
            return push(c, try t.maskedFill(try c.tensorArg(2, "mask"), try c.checkNumber(3, "value")))
        }
        for (name, lower) in [("tril", true), ("triu", false)] {
            b.method(name, Doc("The \(lower ? "lower" : "upper") triangle of the last two dims (others set to 0); k shifts the diagonal.",
                               signature: "t:\(name)([k = 0])",
                               example: "print(tensor.ones(3, 3):\(name)())")) { c in
                return push(c, try selfT(c).triangle(lower: lower, k: try c.optInt(2, "k", 0)))
            }
        }
        b.method("one_hot", Doc("One-hot encoding of 0-based class ids (an int64 tensor): shape + {n}.",
                                signature: "t:one_hot(n)", errors: "an id outside 0..n-1.",
                                example: "print(tensor.from({0, 2}):one_hot(3))")) { c in
            return push(c, try selfT(c).oneHot(try c.checkInt(2, "n")))
        }
        b.method("split", Doc("Splits into pieces of size along dim (the last may be smaller).",
                              signature: "t:split(size [, dim = 1]) -> {t1, t2, ...}",
                              example: "print(#tensor.arange(10):split(4))")) { c in
            let t = try selfT(c)
            let parts = try t.split(try c.checkInt(2, "size"), dim: try c.optDimArg(3) ?? 0)
            return try c.ret(.array(parts.map { .object($0) }))
        }
        b.method("chunk", Doc("Splits into n nearly equal pieces along dim.",
                              signature: "t:chunk(n [, dim = 1]) -> {t1, ...}",
                              example: "local q, k, v = table.unpack(tensor.zeros(2, 6):chunk(3, 2))\nprint(q:shape()[2])")) { c in
            let t = try selfT(c)
            let parts = try t.chunk(try c.checkInt(2, "n"), dim: try c.optDimArg(3) ?? 0)
            return try c.ret(.array(parts.map { .object($0) }))
        }
    }

    static func expandArgs(_ c: LuaCall, _ i: Int32) throws -> ([Int], Int32) {
        if c.type(i) == LUA_TTABLE { return (try c.intArray(i, "shape"), i + 1) }
        var shape: [Int] = []
        var j = i
        while c.type(j) == LUA_TNUMBER { shape.append(try c.checkInt(j, "size")); j += 1 }
        return (shape, j)
    }
}
