import CLua
import CLuaShim
import LatheCore

/// Tensor metamethods: operators, #t, tostring, t[i] and t[i] = v. Their Lua semantics are fixed,
/// so they are made by hand (no declaration, no argument pass: a + b stays as cheap as it can be).
enum TensorMetamethods {
    static func install(_ b: LuaClassBuilder<Tensor>) {
        for (name, op) in [("__add", BinaryOp.add), ("__sub", .sub), ("__mul", .mul), ("__div", .div), ("__pow", .pow)] {
            b.meta(name) { c in
                // either operand may be the number
                if let a = c.object(1, Tensor.self) {
                    if c.type(2) == LUA_TNUMBER { return c.ret(try a.scalarOp(c.checkNumber(2), op)) }
                    guard let bb = c.object(2, Tensor.self) else { throw LuaError("\(op.name): cannot combine a Tensor with a \(c.typeName(2))") }
                    return c.ret(try Tensor.binary(a, bb, op))
                }
                guard let bb = c.object(2, Tensor.self), c.type(1) == LUA_TNUMBER else { throw LuaError("\(op.name): cannot combine a \(c.typeName(1)) with a Tensor") }
                return c.ret(try bb.scalarOp(c.checkNumber(1), op, reversed: true))
            }
        }
        b.meta("__unm") { c in c.ret(try c.selfTensor().neg()) }
        for (name, div) in [("__mod", false), ("__idiv", true)] {
            b.meta(name) { c in
                let a = try c.tensorOrNumber(1, "a", like: c.object(2, Tensor.self))
                return c.ret(try Tensor.modOrDiv(a, try c.tensorOrNumber(2, "b", like: a), floorDivide: div))
            }
        }
        b.meta("__len") { c in c.ret(try c.selfTensor().shape.first ?? 0) }
        b.meta("__tostring") { c in try c.ret(.string(try c.selfTensor().formatted())) }
        b.meta("__concat") { c in
            func s(_ i: Int32) -> String { c.object(i, Tensor.self)?.formatted() ?? c.string(i) ?? c.describe(i) }
            return try c.ret(.string(s(1) + s(2)))
        }
        b.index(index)
        b.meta("__newindex", newIndex)
    }

    /// t[i]: the i-th entry along the first dimension (a number for 1-d tensors).
    static func index(_ c: LuaCall) throws -> Int32 {
        let t = try c.selfTensor()
        guard c.type(2) == LUA_TNUMBER else {
            if let k = c.string(2) { throw LuaError("Tensor has no field or method '\(k)'") }
            throw LuaError("tensors are indexed with integer positions, got \(c.typeName(2))")
        }
        if t.rank == 0 { throw LuaError("cannot index a 0-d tensor; use :item()") }
        let row = try t.select(0, try c.positionArg(2, "index", size: t.shape[0]))
        return row.rank == 0 ? c.push(scalar: row.scalar(at: row.offset)) : c.ret(row)
    }

    /// t[i] = v: assigns the i-th entry along the first dimension (a number or a tensor that broadcasts).
    static func newIndex(_ c: LuaCall) throws -> Int32 {
        let t = try c.selfTensor()
        guard c.type(2) == LUA_TNUMBER else { throw LuaError("cannot set field '\(c.string(2) ?? c.typeName(2))' on a Tensor") }
        if t.rank == 0 { throw LuaError("cannot index a 0-d tensor") }
        if t.requiresGrad && Autograd.enabled { throw LuaError("cannot assign into a tensor that requires grad (use tensor.no_grad)") }
        try t.select(0, try c.positionArg(2, "index", size: t.shape[0])).assign(try c.tensorOrNumber(3, "value", like: t))
        return 0
    }
}
