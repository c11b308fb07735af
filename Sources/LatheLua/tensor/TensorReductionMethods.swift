import CLua
import CLuaShim
import LatheCore

/// Tensor methods that reduce, normalize, sort and rank along dimensions.
extension TensorMethods {
    static let keepdim = LuaOpt("keepdim", .boolean, .bool(false), "keep the reduced dimensions, with size 1")
    static let dims = LuaParam("dim", .either([.integer(), .table]), optional: true, "a dimension or a table of them (default: all)")

    /// The dims of a reduction (nil: all) and where its options are: t:sum(), t:sum(2), t:sum({1, 2}, {keepdim = true}), t:sum({keepdim = true}).
    static func reduced(_ c: LuaCall) throws -> ([Int]?, DeclaredOptions) {
        if c.type(2) == LUA_TNUMBER { return ([try c.dimArg(2)], try c.opts(at: 3)) }
        if c.type(2) == LUA_TTABLE && c.rawLen(2) > 0 { return (try c.dimsArgs(from: 2).0, try c.opts(at: 3)) }
        return (nil, try c.opts(at: c.type(2) == LUA_TTABLE ? 2 : 3))
    }

    /// Pushes values and their 0-based positions as 1-based ones.
    static func withPositions(_ c: LuaCall, _ r: (Tensor, Tensor)) throws -> Int32 {
        c.push(r.0)
        return c.ret(try r.1.addScalar(1)) + 1
    }

    static let reductionMethods: [LuaFunc] = ["sum", "mean"].map { name in
        op(name, "\(name == "sum" ? "Sum" : "Mean") over all elements, or over the given dims (a 0-d tensor when reducing everything; :item() gives the number).",
           params: [dims], options: [keepdim],
           example: "local t = tensor.from({{1.0, 2.0}, {3.0, 4.0}})\nprint(t:\(name)(), t:\(name)(1), t:\(name)(2, {keepdim = true}))") { t, c in
            let (ds, o) = try reduced(c)
            return name == "sum" ? try t.sum(dims: ds, keepdim: try o.bool("keepdim")) : try t.mean(dims: ds, keepdim: try o.bool("keepdim"))
        }
    } + ["var", "std"].map { name in
        op(name, "\(name == "var" ? "Variance" : "Standard deviation") over all elements or the given dims.", params: [dims],
           options: [LuaOpt("correction", .integer(0...Int.max), .int(1), "1: the unbiased estimate (n - 1); 0: the population one"), keepdim],
           example: "print(tensor.from({1.0, 2.0, 3.0, 4.0}):\(name)())") { t, c in
            let (ds, o) = try reduced(c)
            let corr = try o.int("correction"), keep = try o.bool("keepdim")
            return name == "var" ? try t.variance(dims: ds, correction: corr, keepdim: keep) : try t.std(dims: ds, correction: corr, keepdim: keep)
        }
    } + [("max", false), ("min", true)].map { name, isMin in
        LuaFunc(name, "The \(name)imum: over everything (one value), or along dim (values and 1-based positions).",
                params: [dim(default: "all")], options: [keepdim], returns: "values[, positions]", errors: "an empty tensor.",
                example: "local t = tensor.from({{1, 5}, {7, 2}})\nprint(t:\(name)())\nlocal v, i = t:\(name)(2)\nprint(v, i)") { c in
            let t = try c.selfTensor()
            guard let d = try c.optDimArg(2) else { return c.ret(try t.maxMin(dim: nil, isMin: isMin).0) }
            return try withPositions(c, try t.maxMin(dim: d, keepdim: try c.opts().bool("keepdim"), isMin: isMin))
        }
    } + [("argmax", false), ("argmin", true)].map { name, isMin in
        LuaFunc(name, "The 1-based position of the \(isMin ? "smallest" : "largest") value, overall or along dim.", params: [dim(default: "all")],
                options: [keepdim], returns: "integer, or a Tensor of positions", details: "Positions are 1-based like Lua (class ids from logits are position - 1).",
                example: "local t = tensor.from({{1, 5}, {7, 2}})\nprint(t:\(name)(), t:\(name)(2))") { c in
            let d = try c.optDimArg(2)
            let i = try c.selfTensor().maxMin(dim: d, keepdim: try c.opts().bool("keepdim"), isMin: isMin).1
            return d == nil ? c.ret(Int(i.int64Pointer[0]) + 1) : c.ret(try i.addScalar(1))
        }
    } + [
        op("logsumexp", "log(sum(exp(x))) along dim, computed stably.", params: [dim], options: [keepdim],
           example: "print(tensor.from({1.0, 2.0, 3.0}):logsumexp(1))") { t, c in try t.logsumexp(try c.dimArg(2), keepdim: try c.opts().bool("keepdim")) },
        op("softmax", "exp(x) / sum(exp(x)) along dim.", params: [dim(default: "-1")],
           example: "print(tensor.from({1.0, 2.0, 3.0}):softmax())") { t, c in try t.softmax(try c.optDimArg(2) ?? -1) },
        op("log_softmax", "log(softmax(x)) along dim, computed stably.", params: [dim(default: "-1")],
           example: "print(tensor.from({1.0, 2.0, 3.0}):log_softmax())") { t, c in try t.logSoftmax(try c.optDimArg(2) ?? -1) },
        op("cumsum", "Cumulative sum along dim.", params: [dim], example: "print(tensor.arange(1, 5):cumsum(1))") { t, c in try t.cumsum(try c.dimArg(2)) },
        LuaFunc("topk", "The k largest (or smallest) values along dim and their 1-based positions.",
                params: [LuaParam("k", .integer(0...Int.max), "how many"), dim(default: "-1")],
                options: [LuaOpt("largest", .boolean, .bool(true), "false: the k smallest")], returns: "values, positions",
                example: "local v, i = tensor.from({5.0, 1.0, 9.0, 3.0}):topk(2)\nprint(v, i)") { c in
            let t = try c.selfTensor()
            return try withPositions(c, try t.topk(try c.checkInt(2, "k"), try c.optDimArg(3) ?? -1, largest: try c.opts().bool("largest")))
        },
        LuaFunc("sort", "Sorts along dim, stably; returns values and 1-based positions.", params: [dim(default: "-1")],
                options: [LuaOpt("descending", .boolean, .bool(false), "largest first")], returns: "values, positions",
                example: "local v, i = tensor.from({3, 1, 2}):sort()\nprint(v, i)") { c in
            try withPositions(c, try c.selfTensor().sort(try c.optDimArg(2) ?? -1, descending: try c.opts().bool("descending")))
        },
    ]
}
