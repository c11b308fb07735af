import CLua
import CLuaShim
import LatheCore

/// Tensor methods that reshape, view, select and split.
extension TensorMethods {
    static let dim = LuaParam("dim", .integer(), "a dimension: 1-based, negative from the end")
    static func dim(_ name: String = "dim", default d: String) -> LuaParam { LuaParam(name, .integer(), optional: true, "\(dim.doc) (default \(d))") }
    static let positions = LuaParam("positions", .either([.object("Tensor"), .table]), "1-based positions: an int64 tensor or a Lua array")
    static let sizes = LuaParam("size", .either([.integer(), .table]), variadic: true, "the sizes d1, d2, ... or one table {d1, d2, ...}")

    static let shapeMethods: [LuaFunc] = ["reshape", "view"].map { name in
        op(name, "The same values with a new shape; one size may be -1 (inferred).", params: [sizes],
           details: "A view sharing storage when the data is contiguous, a copy otherwise.", errors: "a shape with a different number of elements.",
           example: "print(tensor.arange(6):\(name)(2, -1))") { t, c in try t.reshape(try c.intsArgs(from: 2, "size").0) }
    } + [
        op("flatten", "Flattens dims start..stop into one.", params: [dim("start", default: "1"), dim("stop", default: "-1")],
           example: "print(tensor.zeros(2, 3, 4):flatten(2):shape()[2])") { t, c in try t.flatten(try c.optDimArg(2, "start") ?? 0, try c.optDimArg(3, "stop") ?? -1) },
        op("transpose", "Swaps two dimensions (a view, no copy).", params: [LuaParam("dim1", .integer(), "a dimension"), LuaParam("dim2", .integer(), "the other")],
           errors: "a dimension out of range.", example: "print(tensor.zeros(2, 3):transpose(1, 2):shape()[1])") { t, c in
            try t.transpose(try c.dimArg(2, "dim1"), try c.dimArg(3, "dim2"))
        },
        op("t", "Transpose of a 2-d tensor (a view).", errors: "not 2-d.", example: "print(tensor.from({{1, 2, 3}}):t())") { t, _ in
            if t.rank != 2 { throw LuaError("t() needs a 2-d tensor, got shape \(t.shapeString); use transpose(d1, d2)") }
            return try t.transpose(0, 1)
        },
        op("permute", "Reorders dimensions (a view).", params: [LuaParam("dims", .either([.integer(), .table]), variadic: true, "every dimension once, in the new order")],
           errors: "not a permutation of all dims.", example: "print(table.concat(tensor.zeros(2, 3, 4):permute(3, 1, 2):shape(), 'x'))") { t, c in
            try t.permute(try c.dimsArgs(from: 2).0)
        },
        op("squeeze", "Removes dimensions of size 1 (all, or just dim).", params: [dim(default: "all")],
           example: "print(tensor.zeros(1, 3, 1):squeeze():dim())") { t, c in try t.squeeze(try c.optDimArg(2)) },
        op("unsqueeze", "Inserts a dimension of size 1 at position dim (-1 = at the end).", params: [dim],
           example: "print(table.concat(tensor.zeros(3):unsqueeze(1):shape(), 'x'))") { t, c in try t.unsqueeze(try c.dimArg(2)) },
        op("expand", "Broadcasts size-1 dimensions to a larger shape without copying (-1 keeps a size).", params: [sizes],
           errors: "a non-1 size that differs.", example: "print(tensor.from({{1}, {2}}):expand(2, 3))") { t, c in try t.expand(try c.intsArgs(from: 2, "size").0) },
        op("narrow", "A view of length elements along dim starting at position start (1-based).",
           params: [dim, LuaParam("start", .integer(), "the first position"), LuaParam("length", .integer(0...Int.max), "how many")],
           errors: "a range outside the dimension.", example: "print(tensor.arange(10):narrow(1, 3, 4))") { t, c in
            let d = try t.dim(try c.dimArg(2), op: "narrow")
            return try t.narrow(d, try c.positionArg(3, "start", size: max(t.shape[d], 1)), try c.checkInt(4, "length"))
        },
        op("slice", "A view of positions a..b (inclusive, 1-based; negative counts from the end) along dim, like string.sub.",
           params: [dim, LuaParam("a", .integer(), "the first position"), LuaParam("b", .integer(), optional: true, "the last position (default -1)"),
                    LuaParam("step", .integer(1...Int.max), optional: true, "take every step-th (default 1)")],
           details: "Out-of-range bounds are clipped like string.sub; an empty range gives size 0.",
           example: "local t = tensor.arange(10)\nprint(t:slice(1, 2, 4), t:slice(1, -3))") { t, c in
            let d = try t.dim(try c.dimArg(2), op: "slice"), n = t.shape[d]
            var a = try c.checkInt(3, "a"), b = try c.optInt(4, "b", -1)
            if a < 0 { a = max(n + a + 1, 1) } else if a == 0 { a = 1 }
            if b < 0 { b = n + b + 1 } else if b > n { b = n }
            return try t.slice(d, a - 1, max(b, a - 1), step: try c.optInt(5, "step", 1))
        },
        op("select", "The slice at position i (1-based) along dim, with that dimension removed.", params: [dim, LuaParam("i", .integer(), "the position")],
           errors: "i out of range.", example: "print(tensor.from({{1, 2}, {3, 4}}):select(2, 1))") { t, c in
            let d = try t.dim(try c.dimArg(2), op: "select")
            return try t.select(d, try c.positionArg(3, "i", size: t.shape[d]))
        },
        op("index_select", "Entries at the given positions (1-based) along dim.", params: [dim, positions], errors: "a position out of range.",
           example: "print(tensor.arange(10, 20):index_select(1, {1, 3, 10}))") { t, c in try t.index(try c.dimArg(2), try c.positionsArg(3)) },
        op("gather", "Gathers values along dim at 1-based positions (an int64 tensor of the same rank).", params: [dim, positions],
           example: "local t = tensor.from({{1, 2}, {3, 4}})\nprint(t:gather(2, tensor.from({{2}, {1}})))") { t, c in try t.gather(try c.dimArg(2), try c.positionsArg(3)) },
        op("scatter_add", "A copy with src added at 1-based positions along dim.",
           params: [dim, positions, LuaParam("src", .object("Tensor"), "the values to add, shaped like positions")],
           example: "local z = tensor.zeros(3)\nprint(z:scatter_add(1, tensor.from({1, 3, 1}), tensor.from({1.0, 2.0, 3.0})))") { t, c in
            try t.scatterAdd(try c.dimArg(2), try c.positionsArg(3), try c.tensorArg(4, "src"))
        },
        op("masked_fill", "A copy with value where mask is true.",
           params: [LuaParam("mask", .object("Tensor"), "a bool tensor that broadcasts to t"), LuaParam("value", .value, "the value to put there")],
           errors: "a mask shape that does not broadcast to t.", example: "local x = tensor.from({1.0, -2.0, 3.0})\nprint(x:masked_fill(x:lt(0), 0))") { t, c in
            try t.maskedFill(try c.tensorArg(2, "mask"), try c.checkNumber(3, "value"))
        },
    ] + [("tril", true), ("triu", false)].map { name, lower in
        op(name, "The \(lower ? "lower" : "upper") triangle of the last two dims (others set to 0).",
           params: [LuaParam("k", .integer(), optional: true, "shifts the diagonal: > 0 up, < 0 down (default 0)")],
           example: "print(tensor.ones(3, 3):\(name)())") { t, c in try t.triangle(lower: lower, k: try c.optInt(2, "k", 0)) }
    } + [
        op("one_hot", "One-hot encoding of 0-based class ids (an int64 tensor): shape + {n}.", params: [LuaParam("n", .integer(0...Int.max), "the number of classes")],
           errors: "an id outside 0..n-1.", example: "print(tensor.from({0, 2}):one_hot(3))") { t, c in try t.oneHot(try c.checkInt(2, "n")) },
        LuaFunc("split", "Splits into pieces of size along dim (the last may be smaller).",
                params: [LuaParam("size", .integer(1...Int.max), "the size of each piece"), dim(default: "1")], returns: "{t1, t2, ...}",
                example: "print(#tensor.arange(10):split(4))") { c in
            try c.ret(.array(try c.selfTensor().split(try c.checkInt(2, "size"), dim: try c.optDimArg(3) ?? 0).map { .object($0) }))
        },
        LuaFunc("chunk", "Splits into n nearly equal pieces along dim.", params: [LuaParam("n", .integer(1...Int.max), "how many pieces"), dim(default: "1")],
                returns: "{t1, ...}", example: "local q, k, v = table.unpack(tensor.zeros(2, 6):chunk(3, 2))\nprint(q:shape()[2])") { c in
            try c.ret(.array(try c.selfTensor().chunk(try c.checkInt(2, "n"), dim: try c.optDimArg(3) ?? 0).map { .object($0) }))
        },
    ]
}
