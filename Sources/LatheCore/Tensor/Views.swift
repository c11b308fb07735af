import CLatheCore
import Foundation

extension Tensor {
    /// Normalizes a 0-based dim that may be negative (-1 = last).
    @inline(__always)
    public func dim(_ d: Int, op: String) throws(LatheError) -> Int {
        let r = rank
        let dd = d < 0 ? d + r : d
        if dd < 0 || dd >= r {
            throw LatheError("\(op): dimension \(d >= 0 ? d + 1 : d) out of range for a \(r)-d tensor of shape \(shapeString)")
        }
        return dd
    }

    // MARK: - copies

    /// A contiguous tensor with the same values (self when already contiguous and `copy` is false).
    public func contiguous(copy: Bool = false) throws(LatheError) -> Tensor {
        if isContiguous && !copy { return self }
        let out = try Tensor(uninitialized: shape, dtype: dtype)
        copyInto(out)
        if Autograd.needs(self) {
            out.record("contiguous", [self]) { g in [g] }
        }
        return out
    }

    /// Copies this tensor's values into `dst` (same shape; dst contiguous).
    func copyInto(_ dst: Tensor) {
        let n = count
        if n == 0 { return }
        let es = dtype.byteSize
        if isContiguous {
            memcpy(dst.storage.raw + dst.offset * es, storage.raw + offset * es, n * es)
            return
        }
        // coalesce dims, then copy the last two with a blocked kernel
        var (shp, st) = Tensor.coalesce(shape, [strides])
        let s = st[0]
        if dtype == .float32 && shp.count >= 2 {
            let r = shp.count
            let n0 = shp[r - 2], n1 = shp[r - 1]
            let outer = shp.dropLast(2).reduce(1, *)
            let src = storage.floats + offset, dstp = dst.storage.floats + dst.offset
            var idx = [Int](repeating: 0, count: max(r - 2, 0))
            for o in 0..<outer {
                var soff = 0
                var rem = o
                for k in stride(from: r - 3, through: 0, by: -1) {
                    idx[k] = rem % shp[k]
                    rem /= shp[k]
                    soff += idx[k] * s[k]
                }
                lk_copy_strided_f32(src + soff, s[r - 2], s[r - 1], dstp + o * n0 * n1, n0, n1)
            }
            return
        }
        if shp.isEmpty { shp = [1]; st = [[1]] }
        let d = dst.storage.raw + dst.offset * es
        let srcRaw = storage.raw
        var i = 0
        forEachIndex { _, sidx in
            memcpy(d + i * es, srcRaw + sidx * es, es)
            i += 1
        }
    }

    /// Merges adjacent dims that are contiguous in every stride set (for faster loops).
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> ([Int], [[Int]]) {
        if shape.count <= 1 { return (shape, strides) }
        var shp: [Int] = [shape[0]]
        var sts: [[Int]] = strides.map { [$0[0]] }
        for d in 1..<shape.count {
            let size = shape[d]
            if size == 1 { continue }
            let last = shp.count - 1
            if shp[last] == 1 {
                shp[last] = size
                for k in 0..<sts.count { sts[k][last] = strides[k][d] }
                continue
            }
            var mergeable = true
            for k in 0..<sts.count where sts[k][last] != strides[k][d] * size {
                mergeable = false
                break
            }
            if mergeable {
                shp[last] *= size
                for k in 0..<sts.count { sts[k][last] = strides[k][d] }
            } else {
                shp.append(size)
                for k in 0..<sts.count { sts[k].append(strides[k][d]) }
            }
        }
        return (shp, sts)
    }

    // MARK: - reshape

    /// Same data with a new shape; one dimension may be -1 (inferred). A view when the data
    /// is contiguous, a copy otherwise.
    public func reshape(_ newShape: [Int]) throws(LatheError) -> Tensor {
        var shp = newShape
        let n = count
        var infer = -1
        var known = 1
        for (i, d) in shp.enumerated() {
            if d == -1 {
                if infer >= 0 { throw LatheError("reshape: only one dimension can be -1 (got \(Tensor.shapeString(newShape)))") }
                infer = i
            } else if d < 0 {
                throw LatheError("reshape: negative size \(d) in \(Tensor.shapeString(newShape))")
            } else {
                let (m, o) = known.multipliedReportingOverflow(by: d)
                if o { throw LatheError("reshape: shape \(Tensor.shapeString(newShape)) has too many elements") }
                known = m
            }
        }
        if infer >= 0 {
            if known == 0 || n % known != 0 {
                throw LatheError("reshape: cannot infer -1 in \(Tensor.shapeString(newShape)) for \(n) elements (shape \(shapeString))")
            }
            shp[infer] = n / known
        } else if known != n {
            throw LatheError("reshape: shape \(Tensor.shapeString(newShape)) has \(known) elements but the tensor \(shapeString) has \(n)")
        }
        _ = try Tensor.checkShape(shp, dtype: dtype, checkMemory: false)  // [0, 2^40, 2^40]
        let src = isContiguous ? self : try contiguous()
        let out = Tensor(storage: src.storage, offset: src.offset, shape: shp, dtype: dtype)
        if Autograd.needs(self) {
            let inShape = shape
            out.record("reshape", [self]) { g throws(LatheError) in [try g.reshape(inShape)] }
        }
        return out
    }

    /// Flattens dims start...end (0-based, inclusive) into one.
    public func flatten(_ start: Int = 0, _ end: Int = -1) throws(LatheError) -> Tensor {
        if rank == 0 { return try reshape([1]) }
        let s = try dim(start, op: "flatten"), e = try dim(end, op: "flatten")
        if s > e { throw LatheError("flatten: start dimension \(s + 1) is after end dimension \(e + 1)") }
        var shp = Array(shape[..<s])
        shp.append(shape[s...e].reduce(1, *))
        shp += shape[(e + 1)...]
        return try reshape(shp)
    }

    // MARK: - dimension shuffles (views)

    public func transpose(_ d0: Int, _ d1: Int) throws(LatheError) -> Tensor {
        let a = try dim(d0, op: "transpose"), b = try dim(d1, op: "transpose")
        var shp = shape, st = strides
        shp.swapAt(a, b)
        st.swapAt(a, b)
        let out = Tensor(storage: storage, offset: offset, shape: shp, strides: st, dtype: dtype)
        if Autograd.needs(self) {
            out.record("transpose", [self]) { g throws(LatheError) in [try g.transpose(a, b)] }
        }
        return out
    }

    public func permute(_ dims: [Int]) throws(LatheError) -> Tensor {
        guard dims.count == rank else {
            throw LatheError("permute: \(dims.count) dimensions given for a \(rank)-d tensor of shape \(shapeString)")
        }
        var seen = [Bool](repeating: false, count: rank)
        var p: [Int] = []
        for d in dims {
            let dd = try dim(d, op: "permute")
            if seen[dd] { throw LatheError("permute: dimension \(dd + 1) appears twice") }
            seen[dd] = true
            p.append(dd)
        }
        let out = Tensor(storage: storage, offset: offset, shape: p.map { shape[$0] }, strides: p.map { strides[$0] }, dtype: dtype)
        if Autograd.needs(self) {
            var inv = [Int](repeating: 0, count: p.count)
            for (i, d) in p.enumerated() { inv[d] = i }
            out.record("permute", [self]) { g throws(LatheError) in [try g.permute(inv)] }
        }
        return out
    }

    /// Removes size-1 dims (all, or the given one if it has size 1).
    public func squeeze(_ d: Int? = nil) throws(LatheError) -> Tensor {
        var shp: [Int] = [], st: [Int] = []
        let target: Int? = try d.map { v throws(LatheError) in try dim(v, op: "squeeze") }
        for i in 0..<rank {
            if shape[i] == 1 && (target == nil || target == i) { continue }
            shp.append(shape[i])
            st.append(strides[i])
        }
        let out = Tensor(storage: storage, offset: offset, shape: shp, strides: st, dtype: dtype)
        if Autograd.needs(self) {
            let inShape = shape
            out.record("squeeze", [self]) { g throws(LatheError) in [try g.reshape(inShape)] }
        }
        return out
    }

    /// Inserts a size-1 dim at position d (0-based; -1 = after the last).
    public func unsqueeze(_ d: Int) throws(LatheError) -> Tensor {
        let r = rank + 1
        let dd = d < 0 ? d + r : d
        if dd < 0 || dd >= r {
            throw LatheError("unsqueeze: dimension \(d >= 0 ? d + 1 : d) out of range for a \(rank)-d tensor")
        }
        var shp = shape, st = strides
        let s = dd < rank ? strides[dd] * shape[dd] : 1
        shp.insert(1, at: dd)
        st.insert(s, at: dd)
        let out = Tensor(storage: storage, offset: offset, shape: shp, strides: st, dtype: dtype)
        if Autograd.needs(self) {
            let inShape = shape
            out.record("unsqueeze", [self]) { g throws(LatheError) in [try g.reshape(inShape)] }
        }
        return out
    }

    /// Broadcasts size-1 dims to a larger shape without copying (-1 keeps a size).
    public func expand(_ newShape: [Int]) throws(LatheError) -> Tensor {
        guard newShape.count >= rank else {
            throw LatheError("expand: cannot expand shape \(shapeString) to \(Tensor.shapeString(newShape)) (fewer dimensions)")
        }
        let lead = newShape.count - rank
        var shp = newShape
        var st = [Int](repeating: 0, count: newShape.count)
        for i in 0..<newShape.count {
            if i < lead {
                if newShape[i] < 0 { throw LatheError("expand: size -1 is not allowed for a new leading dimension") }
                continue
            }
            let j = i - lead
            if newShape[i] == -1 || newShape[i] == shape[j] {
                shp[i] = shape[j]
                st[i] = strides[j]
            } else if shape[j] == 1 {
                if newShape[i] < 0 { throw LatheError("expand: negative size \(newShape[i])") }
                st[i] = 0
            } else {
                throw LatheError("expand: cannot expand shape \(shapeString) to \(Tensor.shapeString(newShape)) (dimension \(i + 1): size \(shape[j]) is not 1)")
            }
        }
        // a view allocates nothing, but its element count must still be a number (every loop
        // over it multiplies the sizes)
        var n = 1
        for d in shp {
            let (m, o) = n.multipliedReportingOverflow(by: d)
            if o { throw LatheError("expand: shape \(Tensor.shapeString(shp)) has more than 2^63 elements") }
            n = m
        }
        let out = Tensor(storage: storage, offset: offset, shape: shp, strides: st, dtype: dtype)
        if Autograd.needs(self) {
            let inShape = shape
            out.record("expand", [self]) { g throws(LatheError) in [try g.sumTo(inShape)] }
        }
        return out
    }

    /// A view of `length` elements along dim d starting at `start` (0-based).
    public func narrow(_ d: Int, _ start: Int, _ length: Int) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "narrow")
        // start + length is not computed before both are known to be in range: it may overflow
        if start < 0 || length < 0 || start > shape[dd] || length > shape[dd] - start {
            let range = start < 0 || length < 0 || start > shape[dd] ? "\(length) elements from position \(start &+ 1)" : "range \(start + 1)..\(start &+ length)"
            throw LatheError("narrow: \(range) is outside dimension \(dd + 1) of size \(shape[dd]) (shape \(shapeString))")
        }
        var shp = shape
        shp[dd] = length
        let out = Tensor(storage: storage, offset: offset + start * strides[dd], shape: shp, strides: strides, dtype: dtype)
        if Autograd.needs(self) {
            let inShape = shape
            out.record("narrow", [self]) { g throws(LatheError) in
                let z = try Tensor.zeros(inShape)
                try z.narrow(dd, start, length).assign(g)
                return [z]
            }
        }
        return out
    }

    /// A strided slice along dim d: elements start, start+step, ... < end (0-based).
    public func slice(_ d: Int, _ start: Int, _ end: Int, step: Int = 1) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "slice")
        if step < 1 { throw LatheError("slice: step must be positive, got \(step)") }
        let s = max(0, min(start, shape[dd])), e = max(s, min(end, shape[dd]))
        if step == 1 { return try narrow(dd, s, e - s) }
        var shp = shape, st = strides
        shp[dd] = (e - s) / step + ((e - s) % step == 0 ? 0 : 1)
        // with one element left the stride is never used (and a huge step would overflow it)
        st[dd] = shp[dd] > 1 ? strides[dd] * step : strides[dd]
        let out = Tensor(storage: storage, offset: offset + s * strides[dd], shape: shp, strides: st, dtype: dtype)
        if Autograd.needs(self) {
            let inShape = shape
            out.record("slice", [self]) { g throws(LatheError) in
                let z = try Tensor.zeros(inShape)
                try z.slice(dd, s, e, step: step).assign(g)
                return [z]
            }
        }
        return out
    }

    /// Selects index i along dim d, removing that dim (a view).
    public func select(_ d: Int, _ i: Int) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "select")
        if i < 0 || i >= shape[dd] {
            throw LatheError("index \(i + 1) out of range 1..\(shape[dd]) for dimension \(dd + 1) of shape \(shapeString)")
        }
        return try narrow(dd, i, 1).squeeze(dd)
    }

    /// Copies `src` (broadcast to this shape) into this tensor's elements in place. Used for
    /// building results; records no gradient.
    public func assign(_ src: Tensor) throws(LatheError) {
        let s = try src.broadcastView(to: shape)
        let n = count
        if n == 0 { return }
        if dtype != s.dtype {
            try assign(try s.to(dtype))
            return
        }
        let es = dtype.byteSize
        if dtype == .float32 {
            let (shp, sts) = Tensor.coalesce(shape, [strides, s.strides])
            Tensor.stridedLoop(shp, sts) { offs, len, inner in
                lk_binary_strided_f32(Int32(LK_ADD), s.storage.floats + s.offset + offs[1], inner[1],
                                      Tensor.zeroFloat, 0, storage.floats + offset + offs[0], inner[0], len)
            }
            return
        }
        let (shp, sts) = Tensor.coalesce(shape, [strides, s.strides])
        let dst = storage.raw, srcRaw = s.storage.raw
        let dOff = offset, sOff = s.offset
        Tensor.stridedLoop(shp, sts) { offs, len, inner in
            for k in 0..<len {
                memcpy(dst + (dOff + offs[0] + k * inner[0]) * es, srcRaw + (sOff + offs[1] + k * inner[1]) * es, es)
            }
        }
    }

    nonisolated(unsafe) static let zeroFloat: UnsafeMutablePointer<Float> = {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// A view broadcast to `target` (numpy rules), for reading.
    func broadcastView(to target: [Int]) throws(LatheError) -> Tensor {
        if shape == target { return self }
        guard target.count >= rank else {
            throw LatheError("shapes \(shapeString) and \(Tensor.shapeString(target)) are not broadcastable")
        }
        let lead = target.count - rank
        var st = [Int](repeating: 0, count: target.count)
        for i in 0..<rank {
            if shape[i] == target[lead + i] {
                st[lead + i] = strides[i]
            } else if shape[i] == 1 {
                st[lead + i] = 0
            } else {
                throw LatheError("shapes \(shapeString) and \(Tensor.shapeString(target)) are not broadcastable (dimension \(lead + i + 1): \(shape[i]) vs \(target[lead + i]))")
            }
        }
        return Tensor(storage: storage, offset: offset, shape: target, strides: st, dtype: dtype)
    }

    /// numpy broadcasting of two shapes.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Iterates a (coalesced) shape with several stride sets: body(offsets, innerLength,
    /// innerStrides) is called once per run of the last dimension.
    @inline(__always)
    static func stridedLoop(_ shape: [Int], _ strides: [[Int]], _ body: ([Int], Int, [Int]) -> Void) {
        let r = shape.count
        let k = strides.count
        if r == 0 {
            body([Int](repeating: 0, count: k), 1, [Int](repeating: 1, count: k))
            return
        }
        if shape.contains(0) { return }
        let inner = shape[r - 1]
        let innerStrides = strides.map { $0[r - 1] }
        let outer = shape.dropLast().reduce(1, *)
        var idx = [Int](repeating: 0, count: r)
        var offs = [Int](repeating: 0, count: k)
        for _ in 0..<outer {
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

    /// Sums a (broadcast) gradient down to `target` shape.
    public func sumTo(_ target: [Int]) throws(LatheError) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        if lead < 0 { throw LatheError("cannot reduce shape \(shapeString) to \(Tensor.shapeString(target))") }
        var dims: [Int] = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 {
            dims.append(lead + i)
        }
        var r = dims.isEmpty ? self : try sum(dims: dims, keepdim: true)
        if lead > 0 || r.shape != target { r = try r.reshape(target) }
        return r
    }

    /// Converts to another dtype (a copy; float -> int truncates toward zero).
    public func to(_ dt: DType) throws(LatheError) -> Tensor {
        if dt == dtype { return self }
        let src = try contiguous()
        let n = count
        let out = try Tensor(uninitialized: shape, dtype: dt)
        switch (dtype, dt) {
        case (.float32, .int64):
            let s = src.floatPointer, d = out.storage.int64s
            for i in 0..<n {
                guard let v = s[i].truncatedInt64 else { throw LatheError("cannot convert \(s[i]) to int64") }
                d[i] = v
            }
        case (.float32, .bool):
            let s = src.floatPointer, d = out.storage.bytes
            for i in 0..<n { d[i] = s[i] != 0 ? 1 : 0 }
        case (.int64, .float32):
            let s = src.int64Pointer, d = out.storage.floats
            for i in 0..<n { d[i] = Float(s[i]) }
        case (.int64, .bool):
            let s = src.int64Pointer, d = out.storage.bytes
            for i in 0..<n { d[i] = s[i] != 0 ? 1 : 0 }
        case (.bool, .float32):
            let s = src.bytePointer, d = out.storage.floats
            for i in 0..<n { d[i] = s[i] != 0 ? 1 : 0 }
        case (.bool, .int64):
            let s = src.bytePointer, d = out.storage.int64s
            for i in 0..<n { d[i] = s[i] != 0 ? 1 : 0 }
        default:
            break
        }
        return out
    }

    /// float32 view or conversion.
    public func toFloat32() throws(LatheError) -> Tensor { try to(.float32) }
}

