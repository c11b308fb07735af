import CLua
import CLuaShim
import LatheCore

// Lua gives and gets dimensions and positions 1-based (negative ones count from the end: -1 is
// the last); the core is 0-based. Token ids, class ids and other values that are data keep
// their natural numbers.

extension Tensor: LuaObject {
    public static var luaTag: Int32 { LuaTag.tensor }
    public var luaByteSize: Int { byteSize }
}

extension LuaCall {
    /// Pushes a tensor (or nil), an integer or a boolean as the one result.
    @inline(__always) func ret(_ t: Tensor) -> Int32 { push(t); return 1 }
    @inline(__always) func ret(_ t: Tensor?) -> Int32 { if let t { push(t) } else { pushNil() }; return 1 }
    @inline(__always) func ret(_ x: Int) -> Int32 { push(x); return 1 }
    @inline(__always) func ret(_ b: Bool) -> Int32 { push(b); return 1 }

    @inline(__always) func selfTensor() throws -> Tensor { try selfObject(Tensor.self) }

    /// Pushes one element as Lua sees it: a number, an integer (exact past 2^53) or a boolean.
    @discardableResult func push(scalar v: TensorScalar) -> Int32 {
        switch v {
        case .float(let x): lua_pushnumber(L, Double(x))
        case .int(let x): lua_pushinteger(L, lua_Integer(x))
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        }
        return 1
    }

    func tensorArg(_ i: Int32, _ label: String) throws -> Tensor { try checkObject(i, Tensor.self, label, expected: "Tensor") }

    /// A Lua dimension (1-based, or negative from the end) as a core dimension.
    func dimArg(_ i: Int32, _ label: String = "dim") throws -> Int {
        let d = try checkInt(i, label)
        if d == 0 { throw argError(i, label, "dimensions are 1-based; use 1 for the first or -1 for the last") }
        return d > 0 ? d - 1 : d
    }
    func optDimArg(_ i: Int32, _ label: String = "dim") throws -> Int? { isNoneOrNil(i) ? nil : try dimArg(i, label) }

    /// Integers given one by one (f(2, 3)) or as one table (f{2, 3}), and the index after them.
    func intsArgs(from i: Int32, _ label: String) throws -> ([Int], Int32) {
        if type(i) == LUA_TTABLE { return (try intArray(i, label), i + 1) }
        var out: [Int] = []
        var j = i
        while type(j) == LUA_TNUMBER { out.append(try checkInt(j, label)); j += 1 }
        return (out, j)
    }

    /// A shape given as sizes (zeros(2, 3)) or one table (zeros{2, 3}), and the index after it;
    /// a table with string keys is the options table of a 0-d tensor.
    func shapeArgs(from i: Int32) throws -> ([Int], Int32) {
        if type(i) == LUA_TTABLE && rawLen(i) == 0 && keys(i).contains(where: { $0 != nil }) { return ([], i) }
        let (shape, next) = try intsArgs(from: i, "size")
        if let k = shape.firstIndex(where: { $0 < 0 }) {
            throw argError(type(i) == LUA_TTABLE ? i : i + Int32(k), "size", "negative size \(shape[k])")
        }
        return (shape, next)
    }

    /// The keys of the table at (positive) index i; nil for keys that are not strings.
    func keys(_ i: Int32) -> [String?] {
        var out: [String?] = []
        lua_pushnil(L)
        while lua_next(L, i) != 0 { out.append(string(-2)); lp_pop(L, 1) }
        return out
    }

    /// Dimensions given one by one or as one table, and the index after them.
    func dimsArgs(from i: Int32) throws -> ([Int], Int32) {
        let (ds, next) = try intsArgs(from: i, "dims")
        if ds.contains(0) { throw argError(i, "dims", "dimensions are 1-based; use 1 for the first or -1 for the last") }
        return (ds.map { $0 > 0 ? $0 - 1 : $0 }, next)
    }

    /// A tensor, or a number made into a 0-d tensor (float32, or int64 for integers when
    /// `like` is an int64 tensor).
    func tensorOrNumber(_ i: Int32, _ label: String, like: Tensor? = nil) throws -> Tensor {
        if let t = object(i, Tensor.self) { return t }
        switch type(i) {
        case LUA_TNUMBER:
            if lua_isinteger(L, i) != 0, let like, like.dtype != .float32 {
                return Tensor(int64s: [Int64(lua_tointegerx(L, i, nil))], shape: [])
            }
            return Tensor(floats: [Float(lua_tonumberx(L, i, nil))], shape: [])
        case LUA_TBOOLEAN: return Tensor(bools: [lua_toboolean(L, i) != 0], shape: [])
        default: throw argError(i, label, expected: "Tensor or number")
        }
    }

    /// 1-based positions (an int64 tensor or a Lua array) as a 0-based index tensor.
    func positionsArg(_ i: Int32, _ label: String = "positions") throws -> Tensor {
        let zero = "positions are 1-based; 0 is not a position"
        if let t = object(i, Tensor.self) {
            guard t.dtype == .int64 else { throw argError(i, label, "positions must be an int64 tensor (1-based), got \(t.dtype.rawValue)") }
            if try t.toInt64Array().contains(0) { throw argError(i, label, zero) }
            return try t.addScalar(-1)
        }
        let xs = try intArray(i, label)
        if xs.contains(0) { throw argError(i, label, zero) }
        // below 1 is out of range anyway; wrapping keeps Int.min from trapping
        return Tensor(int64s: xs.map { Int64($0) &- 1 }, shape: [xs.count])
    }

    /// A 1-based position (negative from the end) along a dimension of size n, as 0-based.
    func positionArg(_ i: Int32, _ label: String, size n: Int) throws -> Int {
        let p = try checkInt(i, label)
        let z = p > 0 ? p - 1 : n + p
        if p == 0 || z < 0 || z >= n {
            throw argError(i, label, "position \(p) out of range 1..\(n)\(n > 0 ? " (or -\(n)..-1)" : "")")
        }
        return z
    }

    /// An array of tensors.
    func tensorList(_ i: Int32, _ label: String = "tensors") throws -> [Tensor] {
        let n = rawLen(i)
        if n == 0 { throw argError(i, label, "the list is empty") }
        return try (1...n).map { k in
            lua_rawgeti(L, i, lua_Integer(k))
            defer { lp_pop(L, 1) }
            guard let t = object(-1, Tensor.self) else { throw argError(i, label, "element \(k) is \(describe(-1)), expected Tensor") }
            return t
        }
    }

    /// The `dtype` option (see `TensorFunctions.dtype`), or `def` when it is absent.
    func dtypeOption(_ o: DeclaredOptions, _ def: DType) throws -> DType {
        try o.stringIfGiven("dtype").flatMap(DType.init(rawValue:)) ?? def
    }

    /// The values as nested Lua tables (`t:totable()`); a 0-d tensor gives a number.
    func pushNested(_ t: Tensor) throws {
        if t.rank == 0 { return _ = push(scalar: t.scalar(at: t.offset)) }
        // every element becomes a Lua value: the whole result must fit before the first row
        try LuaCall.checkTableSize(t.count)
        func rec(_ d: Int, _ off: Int) throws {
            try reserve()
            lua_createtable(L, Int32(clamping: t.shape[d]), 0)
            for i in 0..<t.shape[d] {
                let o = off + i * t.strides[d]
                if d == t.rank - 1 { push(scalar: t.scalar(at: o)) } else { try rec(d + 1, o) }
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
        }
        try rec(0, t.offset)
    }
}

/// Reads nested Lua tables of numbers or booleans into row-major values and a shape.
struct NestedReader {
    let call: LuaCall
    var values: [Double] = []
    /// The same values as integers while every one is a Lua integer or boolean (int64 tensors
    /// keep integers past 2^53 exact).
    var ints: [Int64] = []
    var shape: [Int] = []
    var sawFloat = false, sawBool = false, sawNumber = false

    /// The tensor of `dtype` from what was read; int64 from integers is exact.
    func tensor(_ dtype: DType) throws -> Tensor {
        if dtype == .int64 && !sawFloat && ints.count == values.count {
            _ = try Tensor.checkShape(shape, dtype: .int64)
            return Tensor(int64s: ints, shape: shape)
        }
        return try Tensor.from(values: values, shape: shape, dtype: dtype)
    }

    /// int64 when every value is a Lua integer, float32 with any float, bool for booleans only.
    var dtype: DType { sawFloat || !(sawNumber || sawBool) ? .float32 : sawNumber ? .int64 : .bool }

    mutating func read(_ idx: Int32, depth: Int, path: @autoclosure () -> String) throws {
        if depth >= Tensor.maxRank { throw LuaError("table nested more than \(Tensor.maxRank) levels deep (a tensor has at most \(Tensor.maxRank) dimensions)") }
        try call.reserve()
        let L = call.L, abs = lua_absindex(L, idx), n = Int(lua_rawlen(L, abs))
        if depth == shape.count { shape.append(n) } else if shape[depth] != n {
            throw LuaError("ragged nested table: \(path()) has \(n) items, expected \(shape[depth]) like its siblings")
        }
        for k in stride(from: 1, through: n, by: 1) {
            let t = lua_rawgeti(L, abs, lua_Integer(k))
            defer { lp_pop(L, 1) }
            // the path of an element is only built for an error
            func p() -> String { "\(path())[\(k)]" }
            let leaf = shape.count == depth + 1
            if call.object(-1, Tensor.self) != nil { throw LuaError("\(p()) is a Tensor; use tensor.stack or tensor.cat to combine tensors") }
            if t == LUA_TTABLE {
                if k > 1 && leaf { throw LuaError("\(p()) is a table where numbers were expected (ragged nesting)") }
                try read(-1, depth: depth + 1, path: p())
            } else if t == LUA_TNUMBER || t == LUA_TBOOLEAN {
                if !leaf { throw LuaError("\(p()) is \(call.describe(-1)) where a table was expected (ragged nesting)") }
                let isBool = t == LUA_TBOOLEAN
                (sawBool, sawNumber) = (sawBool || isBool, sawNumber || !isBool)
                sawFloat = sawFloat || (!isBool && lua_isinteger(L, -1) == 0)
                values.append(isBool ? (lua_toboolean(L, -1) != 0 ? 1 : 0) : lua_tonumberx(L, -1, nil))
                if !sawFloat { ints.append(isBool ? (lua_toboolean(L, -1) != 0 ? 1 : 0) : lua_tointegerx(L, -1, nil)) }
            } else {
                throw LuaError("\(p()) is \(call.describe(-1)); expected numbers, booleans or nested tables")
            }
        }
    }
}
