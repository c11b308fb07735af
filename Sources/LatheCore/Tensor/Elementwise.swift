import CLatheCore
import Foundation

/// Elementwise binary operations with numpy broadcasting.
public enum BinaryOp: Int32, Sendable {
    case add = 0, sub, mul, div, pow, maximum, minimum

    public var name: String {
        switch self {
        case .add: return "add"
        case .sub: return "sub"
        case .mul: return "mul"
        case .div: return "div"
        case .pow: return "pow"
        case .maximum: return "maximum"
        case .minimum: return "minimum"
        }
    }
    var kernel: Int32 {
        switch self {
        case .add: return Int32(LK_ADD)
        case .sub: return Int32(LK_SUB)
        case .mul: return Int32(LK_MUL)
        case .div: return Int32(LK_DIV)
        case .pow: return Int32(LK_POW)
        case .maximum: return Int32(LK_MAX)
        case .minimum: return Int32(LK_MIN)
        }
    }
}

public enum CompareOp: Int32, Sendable {
    case eq = 0, ne, lt, le, gt, ge
    var name: String { ["eq", "ne", "lt", "le", "gt", "ge"][Int(rawValue)] }
}

/// Elementwise unary functions (float32).
public enum UnaryOp: Int32, Sendable {
    case neg = 0, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, geluTanh, geluErf, silu, abs, recip,
         square, sin, cos, erf, log1p, expm1, sign, floor, ceil, round, softplus
    public var name: String {
        ["neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu", "gelu", "silu", "abs", "reciprocal",
         "square", "sin", "cos", "erf", "log1p", "expm1", "sign", "floor", "ceil", "round", "softplus"][Int(rawValue)]
    }
}

extension Tensor {
    // MARK: - binary

    public static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) throws(LatheError) -> Tensor {
        if a.dtype == .float32 && b.dtype == .float32 && a.isContiguous && b.isContiguous && a.shape == b.shape {
            // the common case, kept short for small tensors where the call costs more than the math:
            // the result shares the operand's shape and strides arrays
            let n = a.count
            let out = Tensor(storage: try Storage.make(byteCount: n * 4), contiguousShapeOf: a)
            let ap = a.floatPointer, bp = b.floatPointer, o = out.floatPointer
            Parallel.chunks(n) { lo, hi in lk_binary_f32(op.kernel, ap + lo, bp + lo, o + lo, hi - lo) }
            if Autograd.needs(a, b) { recordBinary(a, b, op, out) }
            return out
        }
        guard let shape = broadcastShape(a.shape, b.shape) else {
            throw LatheError("\(op.name): shapes \(a.shapeString) and \(b.shapeString) are not broadcastable")
        }
        if a.dtype != .float32 || b.dtype != .float32 {
            let intOK = a.dtype != .float32 && b.dtype != .float32 && [.add, .sub, .mul, .maximum, .minimum].contains(op)
            if intOK { return try intBinary(a, b, op, shape) }
            return try binary(a.toFloat32(), b.toFloat32(), op)
        }
        _ = try checkShape(shape)
        let out = try Tensor(uninitialized: shape, dtype: .float32)
        floatBinaryKernel(a, b, op.kernel, out)
        if Autograd.needs(a, b) { recordBinary(a, b, op, out) }
        return out
    }

    /// The backward of `out = a op b`.
    private static func recordBinary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp, _ out: Tensor) {
        let ad = a.detach(), bd = b.detach(), od = out.detach()
        let aShape = a.shape, bShape = b.shape
        let needA = a.requiresGrad, needB = b.requiresGrad
        out.record(op.name, [a, b]) { g throws(LatheError) in
            switch op {
            case .add:
                return [needA ? try g.sumTo(aShape) : nil, needB ? try g.sumTo(bShape) : nil]
            case .sub:
                return [needA ? try g.sumTo(aShape) : nil, needB ? try g.neg().sumTo(bShape) : nil]
            case .mul:
                return [needA ? try (g * bd).sumTo(aShape) : nil, needB ? try (g * ad).sumTo(bShape) : nil]
            case .div:
                let ga = needA ? try (g / bd).sumTo(aShape) : nil
                let gb = needB ? try (g * od / bd).neg().sumTo(bShape) : nil
                return [ga, gb]
            case .pow:
                let ga = needA ? try (g * bd * Tensor.binary(ad, bd.addScalar(-1), .pow)).sumTo(aShape) : nil
                let gb = needB ? try (g * od * ad.unary(.log)).sumTo(bShape) : nil
                return [ga, gb]
            case .maximum, .minimum:
                let pick = try Tensor.compare(ad, bd, op == .maximum ? .ge : .le).toFloat32()
                let ga = needA ? try (g * pick).sumTo(aShape) : nil
                let gb = needB ? try (g * pick.rsubScalar(1)).sumTo(bShape) : nil
                return [ga, gb]
            }
        }
    }

    /// out = a op b for float32 tensors (out contiguous, shapes broadcast to out's).
    static func floatBinaryKernel(_ a: Tensor, _ b: Tensor, _ k: Int32, _ out: Tensor) {
        let n = out.count
        if n == 0 { return }
        let o = out.floatPointer
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            let ap = a.floatPointer, bp = b.floatPointer
            Parallel.chunks(n) { lo, hi in lk_binary_f32(k, ap + lo, bp + lo, o + lo, hi - lo) }
            return
        }
        if b.count == 1 && a.shape == out.shape && a.isContiguous {
            let ap = a.floatPointer, s = b.floatPointer[0]
            Parallel.chunks(n) { lo, hi in lk_binary_scalar_f32(k, ap + lo, s, o + lo, hi - lo) }
            return
        }
        // general broadcasting: coalesce, then parallelize over the outer runs
        let av = try! a.broadcastView(to: out.shape), bv = try! b.broadcastView(to: out.shape)
        let (shp, sts) = coalesce(out.shape, [out.strides, av.strides, bv.strides])
        let ap = a.floatPointer, bp = b.floatPointer
        let inner = shp.last ?? 1
        let outer = n / max(inner, 1)
        let grain = max(1, 32768 / max(inner, 1))
        Parallel.chunks(outer, grain: grain) { lo, hi in
            stridedRange(shp, sts, lo, hi) { offs, len, ist in
                lk_binary_strided_f32(k, ap + offs[1], ist[1], bp + offs[2], ist[2], o + offs[0], ist[0], len)
            }
        }
    }

    /// Like stridedLoop but only for outer runs [lo, hi).
    @inline(__always)
    static func stridedRange(_ shape: [Int], _ strides: [[Int]], _ lo: Int, _ hi: Int,
                             _ body: ([Int], Int, [Int]) -> Void) {
        let r = shape.count
        let k = strides.count
        if r == 0 {
            body([Int](repeating: 0, count: k), 1, [Int](repeating: 1, count: k))
            return
        }
        let inner = shape[r - 1]
        let innerStrides = strides.map { $0[r - 1] }
        var idx = [Int](repeating: 0, count: r)
        var offs = [Int](repeating: 0, count: k)
        var rem = lo
        for d in stride(from: r - 2, through: 0, by: -1) {
            idx[d] = rem % shape[d]
            rem /= shape[d]
            for j in 0..<k { offs[j] += idx[d] * strides[j][d] }
        }
        for _ in lo..<hi {
            body(offs, inner, innerStrides)
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                for j in 0..<k { offs[j] += strides[j][d] }
                if idx[d] < shape[d] { break }
                for j in 0..<k { offs[j] -= strides[j][d] * shape[d] }
                idx[d] = 0
                d -= 1
            }
        }
    }

    static func intBinary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp, _ shape: [Int]) throws(LatheError) -> Tensor {
        let a64 = try a.to(.int64), b64 = try b.to(.int64)
        _ = try checkShape(shape, dtype: .int64)
        let out = try Tensor(uninitialized: shape, dtype: .int64)
        let av = try a64.broadcastView(to: shape), bv = try b64.broadcastView(to: shape)
        let (shp, sts) = coalesce(shape, [out.strides, av.strides, bv.strides])
        let o = out.int64Pointer, ap = a64.int64Pointer, bp = b64.int64Pointer
        stridedLoop(shp, sts) { offs, len, ist in
            for i in 0..<len {
                let x = ap[offs[1] + i * ist[1]], y = bp[offs[2] + i * ist[2]]
                let v: Int64
                switch op {
                case .add: v = x &+ y
                case .sub: v = x &- y
                case .mul: v = x &* y
                case .maximum: v = max(x, y)
                case .minimum: v = min(x, y)
                default: v = 0
                }
                o[offs[0] + i * ist[0]] = v
            }
        }
        return out
    }

    // MARK: - scalar operands

    /// self op s (op in add, sub, mul, div, pow, maximum, minimum) or s op self with `reversed`.
    public func scalarOp(_ s: Double, _ op: BinaryOp, reversed: Bool = false) throws(LatheError) -> Tensor {
        if dtype != .float32 {
            if s == s.rounded() && [.add, .sub, .mul, .maximum, .minimum].contains(op) && abs(s) < 9e15 {
                let st = Tensor(int64s: [Int64(s)], shape: [])
                return reversed ? try Tensor.binary(st, self, op) : try Tensor.binary(self, st, op)
            }
            return try toFloat32().scalarOp(s, op, reversed: reversed)
        }
        let f = Float(s)
        let out = try Tensor(uninitialized: shape, dtype: .float32)
        let k: Int32
        switch (op, reversed) {
        case (.sub, true): k = Int32(LK_RSUB)
        case (.div, true): k = Int32(LK_RDIV)
        case (.pow, true): k = Int32(LK_RPOW)
        default: k = op.kernel
        }
        let src = try contiguous()
        let ap = src.floatPointer, o = out.floatPointer
        Parallel.chunks(count) { lo, hi in lk_binary_scalar_f32(k, ap + lo, f, o + lo, hi - lo) }
        if Autograd.needs(self) {
            let xd = src.detach(), od = out.detach()
            out.record(op.name, [self]) { g throws(LatheError) in
                switch (op, reversed) {
                case (.add, _): return [g]
                case (.sub, false): return [g]
                case (.sub, true): return [try g.neg()]
                case (.mul, _): return [try g.scalarOp(s, .mul)]
                case (.div, false): return [try g.scalarOp(s, .div)]
                case (.div, true): return [try (g * od / xd).neg()]          // d(s/x) = -s/x^2 = -out/x
                case (.pow, false): return [try g * xd.scalarOp(s - 1, .pow).scalarOp(s, .mul)]
                case (.pow, true): return [try (g * od).scalarOp(Foundation.log(s), .mul)]
                case (.maximum, _): return [try g * Tensor.compareScalar(xd, s, .ge).toFloat32()]
                case (.minimum, _): return [try g * Tensor.compareScalar(xd, s, .le).toFloat32()]
                }
            }
        }
        return out
    }

    public func addScalar(_ s: Double) throws(LatheError) -> Tensor { try scalarOp(s, .add) }
    public func mulScalar(_ s: Double) throws(LatheError) -> Tensor { try scalarOp(s, .mul) }
    public func rsubScalar(_ s: Double) throws(LatheError) -> Tensor { try scalarOp(s, .sub, reversed: true) }

    // MARK: - unary

    public func unary(_ op: UnaryOp) throws(LatheError) -> Tensor {
        if dtype != .float32 {
            if dtype == .int64 && (op == .neg || op == .abs || op == .sign) {
                let src = try contiguous(), out = try Tensor(uninitialized: shape, dtype: .int64)
                let s = src.int64Pointer, d = out.int64Pointer
                for i in 0..<count {
                    d[i] = op == .neg ? 0 &- s[i] : op == .abs ? (s[i] < 0 ? 0 &- s[i] : s[i]) : (s[i] > 0 ? 1 : s[i] < 0 ? -1 : 0)
                }
                return out
            }
            return try toFloat32().unary(op)
        }
        let src = try contiguous()
        let out = try Tensor(uninitialized: shape, dtype: .float32)
        let x = src.floatPointer, y = out.floatPointer
        Parallel.chunks(count, grain: op == .sin || op == .cos || op == .log1p || op == .expm1 ? 8192 : 32768) { lo, hi in
            lk_unary_f32(op.rawValue, x + lo, y + lo, hi - lo)
        }
        if Autograd.needs(self) {
            let xd = src.detach(), yd = out.detach()
            out.record(op.name, [self]) { g throws(LatheError) in
                let gc = try g.contiguous()
                let gx = try Tensor(uninitialized: xd.shape, dtype: .float32)
                let xp = xd.floatPointer, yp = yd.floatPointer, gp = gc.floatPointer, op2 = gx.floatPointer
                Parallel.chunks(gx.count) { lo, hi in
                    lk_unary_grad_f32(op.rawValue, xp + lo, yp + lo, gp + lo, op2 + lo, hi - lo)
                }
                return [gx]
            }
        }
        return out
    }

    public func neg() throws(LatheError) -> Tensor { try unary(.neg) }
    public func exp() throws(LatheError) -> Tensor { try unary(.exp) }
    public func log() throws(LatheError) -> Tensor { try unary(.log) }
    public func relu() throws(LatheError) -> Tensor { try unary(.relu) }
    public func sigmoid() throws(LatheError) -> Tensor { try unary(.sigmoid) }
    public func tanh() throws(LatheError) -> Tensor { try unary(.tanh) }
    public func gelu(approximate: Bool = false) throws(LatheError) -> Tensor { try unary(approximate ? .geluTanh : .geluErf) }
    public func silu() throws(LatheError) -> Tensor { try unary(.silu) }
    public func sqrt() throws(LatheError) -> Tensor { try unary(.sqrt) }
    public func rsqrt() throws(LatheError) -> Tensor { try unary(.rsqrt) }

    /// Clamps into [lo, hi] (either may be nil); the gradient passes where the value was kept.
    public func clamp(min lo: Double?, max hi: Double?) throws(LatheError) -> Tensor {
        if let lo, let hi, lo > hi { throw LatheError("lo (\(lo)) is greater than hi (\(hi))") }
        var r = self
        if let lo { r = try r.scalarOp(lo, .maximum) }
        if let hi { r = try r.scalarOp(hi, .minimum) }
        return r
    }

    // MARK: - comparisons and selection

    public static func compare(_ a: Tensor, _ b: Tensor, _ op: CompareOp) throws(LatheError) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            throw LatheError("\(op.name): shapes \(a.shapeString) and \(b.shapeString) are not broadcastable")
        }
        _ = try checkShape(shape, dtype: .bool)
        let out = try Tensor(uninitialized: shape, dtype: .bool)
        if a.dtype == .float32 || b.dtype == .float32 {
            let af = try a.toFloat32(), bf = try b.toFloat32()
            let av = try af.broadcastView(to: shape), bv = try bf.broadcastView(to: shape)
            let (shp, sts) = coalesce(shape, [out.strides, av.strides, bv.strides])
            let ap = af.floatPointer, bp = bf.floatPointer, o = out.bytePointer
            stridedLoop(shp, sts) { offs, len, ist in
                if ist[0] == 1 {
                    lk_compare_strided_f32(op.rawValue, ap + offs[1], ist[1], bp + offs[2], ist[2], o + offs[0], len)
                } else {
                    for i in 0..<len {
                        let x = ap[offs[1] + i * ist[1]], y = bp[offs[2] + i * ist[2]]
                        o[offs[0] + i * ist[0]] = cmp(x, y, op) ? 1 : 0
                    }
                }
            }
            return out
        }
        let a64 = try a.to(.int64), b64 = try b.to(.int64)
        let av = try a64.broadcastView(to: shape), bv = try b64.broadcastView(to: shape)
        let (shp, sts) = coalesce(shape, [out.strides, av.strides, bv.strides])
        let ap = a64.int64Pointer, bp = b64.int64Pointer, o = out.bytePointer
        stridedLoop(shp, sts) { offs, len, ist in
            for i in 0..<len {
                o[offs[0] + i * ist[0]] = cmp(ap[offs[1] + i * ist[1]], bp[offs[2] + i * ist[2]], op) ? 1 : 0
            }
        }
        return out
    }

    @inline(__always) static func cmp<T: Comparable>(_ x: T, _ y: T, _ op: CompareOp) -> Bool {
        switch op {
        case .eq: return x == y
        case .ne: return x != y
        case .lt: return x < y
        case .le: return x <= y
        case .gt: return x > y
        case .ge: return x >= y
        }
    }

    public static func compareScalar(_ a: Tensor, _ s: Double, _ op: CompareOp) throws(LatheError) -> Tensor {
        let st: Tensor = a.dtype == .float32 || s != s.rounded() ? Tensor(floats: [Float(s)], shape: []) : Tensor(int64s: [Int64(s)], shape: [])
        return try compare(a, st, op)
    }

    /// cond ? a : b, broadcasting all three (cond: bool or nonzero numbers).
    public static func whereSelect(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws(LatheError) -> Tensor {
        guard let s1 = broadcastShape(cond.shape, a.shape), let shape = broadcastShape(s1, b.shape) else {
            throw LatheError("where: shapes \(cond.shapeString), \(a.shapeString) and \(b.shapeString) are not broadcastable")
        }
        let c = try cond.to(.bool)
        let dt: DType = a.dtype == .float32 || b.dtype == .float32 ? .float32 : (a.dtype == .int64 || b.dtype == .int64 ? .int64 : .bool)
        let ac = try a.to(dt), bc = try b.to(dt)
        _ = try checkShape(shape, dtype: dt)
        let out = try Tensor(uninitialized: shape, dtype: dt)
        let cv = try c.broadcastView(to: shape), av = try ac.broadcastView(to: shape), bv = try bc.broadcastView(to: shape)
        let (shp, sts) = coalesce(shape, [out.strides, cv.strides, av.strides, bv.strides])
        let es = dt.byteSize
        let cp = c.bytePointer, ap = ac.storage.raw + ac.offset * es, bp = bc.storage.raw + bc.offset * es
        let op = out.storage.raw
        if dt == .float32 {
            let af = ap.assumingMemoryBound(to: Float.self), bf = bp.assumingMemoryBound(to: Float.self)
            let of = op.assumingMemoryBound(to: Float.self)
            stridedLoop(shp, sts) { offs, len, ist in
                for i in 0..<len {
                    of[offs[0] + i * ist[0]] = cp[offs[1] + i * ist[1]] != 0 ? af[offs[2] + i * ist[2]] : bf[offs[3] + i * ist[3]]
                }
            }
        } else {
            stridedLoop(shp, sts) { offs, len, ist in
                for i in 0..<len {
                    let src = cp[offs[1] + i * ist[1]] != 0 ? ap + (offs[2] + i * ist[2]) * es : bp + (offs[3] + i * ist[3]) * es
                    memcpy(op + (offs[0] + i * ist[0]) * es, src, es)
                }
            }
        }
        if dt == .float32 && Autograd.needs(a, b) {
            let cd = cv.detach()
            let aShape = a.shape, bShape = b.shape
            let needA = a.requiresGrad, needB = b.requiresGrad
            out.record("where", [a, b]) { g throws(LatheError) in
                let zero = Tensor(floats: [0], shape: [])
                let ga = needA ? try whereSelect(cd, g, zero).sumTo(aShape) : nil
                let gb = needB ? try whereSelect(cd, zero, g).sumTo(bShape) : nil
                return [ga, gb]
            }
        }
        return out
    }

    /// Replaces elements where mask is true by value.
    public func maskedFill(_ mask: Tensor, _ value: Double) throws(LatheError) -> Tensor {
        guard let shape = Tensor.broadcastShape(mask.shape, self.shape), shape == self.shape else {
            throw LatheError("masked_fill: mask shape \(mask.shapeString) does not broadcast to the tensor's \(shapeString)")
        }
        let v: Tensor
        switch dtype {
        case .float32: v = Tensor(floats: [Float(value)], shape: [])
        case .int64:
            guard let i = value.truncatedInt64 else { throw LatheError("masked_fill: \(value) does not fit in an int64 tensor") }
            v = Tensor(int64s: [i], shape: [])
        case .bool: v = Tensor(bools: [value != 0], shape: [])
        }
        return try Tensor.whereSelect(mask, v, self)
    }

    /// Logical and/or/xor of bool (or nonzero) tensors; logical not.
    public static func logical(_ a: Tensor, _ b: Tensor, _ op: String) throws(LatheError) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            throw LatheError("logical_\(op): shapes \(a.shapeString) and \(b.shapeString) are not broadcastable")
        }
        let ab = try a.to(.bool), bb = try b.to(.bool)
        let out = try Tensor(uninitialized: shape, dtype: .bool)
        let av = try ab.broadcastView(to: shape), bv = try bb.broadcastView(to: shape)
        let (shp, sts) = coalesce(shape, [out.strides, av.strides, bv.strides])
        let ap = ab.bytePointer, bp = bb.bytePointer, o = out.bytePointer
        stridedLoop(shp, sts) { offs, len, ist in
            for i in 0..<len {
                let x = ap[offs[1] + i * ist[1]] != 0, y = bp[offs[2] + i * ist[2]] != 0
                let r: Bool = op == "and" ? (x && y) : op == "or" ? (x || y) : (x != y)
                o[offs[0] + i * ist[0]] = r ? 1 : 0
            }
        }
        return out
    }

    public func logicalNot() throws(LatheError) -> Tensor {
        let b = try to(.bool).contiguous()
        let out = try Tensor(uninitialized: shape, dtype: .bool)
        for i in 0..<count { out.storage.bytes[i] = b.bytePointer[i] == 0 ? 1 : 0 }
        return out
    }

    // MARK: - in place (no autograd; for optimizers and gradient accumulation)

    /// self += other (other broadcast to self's shape).
    public func addInPlace(_ other: Tensor, alpha: Float = 1) throws(LatheError) {
        guard dtype == .float32 else { throw LatheError("in-place add needs a float32 tensor") }
        let o = try other.toFloat32().broadcastView(to: shape)
        if isContiguous && o.isContiguous {
            let y = floatPointer, x = o.floatPointer
            Parallel.chunks(count) { lo, hi in
                if alpha == 1 { lk_acc_f32(y + lo, x + lo, hi - lo) } else { lk_axpy_f32(y + lo, alpha, x + lo, hi - lo) }
            }
            return
        }
        let (shp, sts) = Tensor.coalesce(shape, [strides, o.strides])
        let y = floatPointer, x = o.floatPointer
        Tensor.stridedLoop(shp, sts) { offs, len, ist in
            for i in 0..<len { y[offs[0] + i * ist[0]] += alpha * x[offs[1] + i * ist[1]] }
        }
    }

    /// Fills every element with a value in place.
    public func fill(_ v: Float) throws(LatheError) {
        guard dtype == .float32 else { throw LatheError("fill needs a float32 tensor") }
        try assign(Tensor(floats: [v], shape: []))
    }

    /// self *= s in place.
    public func scaleInPlace(_ s: Float) throws(LatheError) {
        guard dtype == .float32, isContiguous else { throw LatheError("in-place scale needs a contiguous float32 tensor") }
        let p = floatPointer
        Parallel.chunks(count) { lo, hi in lk_binary_scalar_f32(Int32(LK_MUL), p + lo, s, p + lo, hi - lo) }
    }

    // MARK: - operators

    public func adding(_ o: Tensor) throws(LatheError) -> Tensor { try Tensor.binary(self, o, .add) }

    public static func + (a: Tensor, b: Tensor) throws(LatheError) -> Tensor { try binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) throws(LatheError) -> Tensor { try binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) throws(LatheError) -> Tensor { try binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) throws(LatheError) -> Tensor { try binary(a, b, .div) }
}

extension Tensor {
    /// Floor modulo (the result takes the sign of the divisor, as Lua's % and torch.remainder)
    /// or floor division, with broadcasting. int64 stays int64; otherwise float32.
    public static func modOrDiv(_ a: Tensor, _ b: Tensor, floorDivide: Bool) throws(LatheError) -> Tensor {
        let name = floorDivide ? "floor_divide" : "remainder"
        guard let shape = broadcastShape(a.shape, b.shape) else {
            throw LatheError("\(name): shapes \(a.shapeString) and \(b.shapeString) are not broadcastable")
        }
        if a.dtype != .float32 && b.dtype != .float32 {
            let a64 = try a.to(.int64), b64 = try b.to(.int64)
            let out = try Tensor(uninitialized: shape, dtype: .int64)
            let av = try a64.broadcastView(to: shape), bv = try b64.broadcastView(to: shape)
            let (shp, sts) = coalesce(shape, [out.strides, av.strides, bv.strides])
            let o = out.int64Pointer, ap = a64.int64Pointer, bp = b64.int64Pointer
            var zero = false
            stridedLoop(shp, sts) { offs, len, ist in
                for i in 0..<len {
                    let x = ap[offs[1] + i * ist[1]], y = bp[offs[2] + i * ist[2]]
                    if y == 0 { zero = true; continue }
                    // wrapping as numpy does: Int64.min / -1 is Int64.min (remainder 0)
                    var q = x.dividedReportingOverflow(by: y).partialValue
                    let r = x.remainderReportingOverflow(dividingBy: y).partialValue
                    if r != 0 && ((x < 0) != (y < 0)) { q &-= 1 }
                    o[offs[0] + i * ist[0]] = floorDivide ? q : x &- q &* y
                }
            }
            if zero { throw LatheError("\(name): integer division by zero") }
            return out
        }
        let af = try a.toFloat32(), bf = try b.toFloat32()
        let out = try Tensor(uninitialized: shape, dtype: .float32)
        let av = try af.broadcastView(to: shape), bv = try bf.broadcastView(to: shape)
        let (shp, sts) = coalesce(shape, [out.strides, av.strides, bv.strides])
        let o = out.floatPointer, ap = af.floatPointer, bp = bf.floatPointer
        stridedLoop(shp, sts) { offs, len, ist in
            for i in 0..<len {
                let x = ap[offs[1] + i * ist[1]], y = bp[offs[2] + i * ist[2]]
                let q = (x / y).rounded(.down)
                o[offs[0] + i * ist[0]] = floorDivide ? q : x - q * y
            }
        }
        if !floorDivide && Autograd.needs(a) {
            let aShape = a.shape
            out.record(name, [a]) { g throws(LatheError) in [try g.sumTo(aShape)] }
        }
        return out
    }
}
