import CLatheCore
import Foundation

extension Tensor {
    /// Normalized, sorted, unique 0-based dims (empty input = all dims).
    func reduceDims(_ dims: [Int]?, op: String) throws(LatheError) -> [Int] {
        guard let dims, !dims.isEmpty else { return Array(0..<rank) }
        var out = Set<Int>()
        for d in dims { out.insert(try dim(d, op: op)) }
        return out.sorted()
    }

    func reducedShape(_ dims: [Int], keepdim: Bool) -> [Int] {
        var s: [Int] = []
        for i in 0..<rank {
            if dims.contains(i) {
                if keepdim { s.append(1) }
            } else {
                s.append(shape[i])
            }
        }
        return s
    }

    /// Splits a contiguous tensor around the block of dims [first, last]: (outer, R, inner).
    func blockSplit(_ first: Int, _ last: Int) -> (Int, Int, Int) {
        let outer = shape[..<first].reduce(1, *)
        let r = shape[first...last].reduce(1, *)
        let inner = shape[(last + 1)...].reduce(1, *)
        return (outer, r, inner)
    }

    /// Sums a contiguous float tensor over the block [first, last] into `out` (outer*inner).
    static func sumBlock(_ src: UnsafeMutablePointer<Float>, _ outer: Int, _ r: Int, _ inner: Int,
                         _ out: UnsafeMutablePointer<Float>) {
        if inner == 1 {
            Parallel.forEach(outer, costPerItem: r) { o in out[o] = lk_sum_f32(src + o * r, r) }
            return
        }
        if outer >= Runtime.threads || r * inner < 65536 {
            Parallel.forEach(outer, costPerItem: r * inner) { o in
                let dst = out + o * inner
                let base = src + o * r * inner
                dst.update(from: base, count: inner)
                for k in 1..<max(r, 1) { lk_acc_f32(dst, base + k * inner, inner) }
                if r == 0 { dst.initialize(repeating: 0, count: inner) }
            }
            return
        }
        // few outer blocks: split the inner range over threads (each column summed in the same
        // order whatever the thread count). A range's work is r times its length: a bias gradient
        // (2048 rows of 256) is worth two threads.
        let grain = max(16, 32768 / max(r, 1))
        for o in 0..<outer {
            let dst = out + o * inner, base = src + o * r * inner
            Parallel.chunks(inner, grain: grain) { lo, hi in
                (dst + lo).update(from: base + lo, count: hi - lo)
                for k in 1..<max(r, 1) { lk_acc_f32(dst + lo, base + k * inner + lo, hi - lo) }
                if r == 0 { (dst + lo).initialize(repeating: 0, count: hi - lo) }
            }
        }
    }

    // MARK: - sum / mean

    /// Sum over dims (nil = all).
    public func sum(dims: [Int]? = nil, keepdim: Bool = false) throws(LatheError) -> Tensor {
        let ds = try reduceDims(dims, op: "sum")
        if dtype != .float32 {
            return try intSum(ds, keepdim: keepdim)
        }
        let outShape = reducedShape(ds, keepdim: keepdim)
        let src = try contiguous()
        var cur = src
        var curShape = shape
        // reduce maximal blocks of consecutive dims, from the last block to the first
        var blocks: [(Int, Int)] = []
        for d in ds {
            if let l = blocks.last, l.1 == d - 1 { blocks[blocks.count - 1].1 = d } else { blocks.append((d, d)) }
        }
        for (first, last) in blocks.reversed() {
            let outer = curShape[..<first].reduce(1, *)
            let r = curShape[first...last].reduce(1, *)
            let inner = curShape[(last + 1)...].reduce(1, *)
            var ns = curShape
            for i in first...last { ns[i] = 1 }
            let out = try Tensor(uninitialized: ns, dtype: .float32)
            if r == 0 {
                memset(out.floatPointer, 0, out.count * 4)
            } else {
                Tensor.sumBlock(cur.floatPointer, outer, r, inner, out.floatPointer)
            }
            cur = out
            curShape = ns
        }
        let res = Tensor(storage: cur.storage, offset: cur.offset, shape: outShape, dtype: .float32)
        if Autograd.needs(self) {
            let inShape = shape
            let keepShape = reducedShape(ds, keepdim: true)
            res.record("sum", [self]) { g throws(LatheError) in
                [try g.reshape(keepShape).expand(inShape)]
            }
        }
        return res
    }

    func intSum(_ ds: [Int], keepdim: Bool) throws(LatheError) -> Tensor {
        let src = try to(.int64).contiguous()
        let outShape = reducedShape(ds, keepdim: keepdim)
        let out = try Tensor.zeros(outShape, dtype: .int64)
        let keep = reducedShape(ds, keepdim: true)
        let ov = Tensor(storage: out.storage, offset: 0, shape: keep, dtype: .int64)
        var ostr = ov.strides
        for d in ds { ostr[d] = 0 }
        let (shp, sts) = Tensor.coalesce(shape, [src.strides, ostr])
        let s = src.int64Pointer, o = out.int64Pointer
        Tensor.stridedLoop(shp, sts) { offs, len, ist in
            for i in 0..<len { o[offs[1] + i * ist[1]] &+= s[offs[0] + i * ist[0]] }
        }
        return out
    }

    public func mean(dims: [Int]? = nil, keepdim: Bool = false) throws(LatheError) -> Tensor {
        let ds = try reduceDims(dims, op: "mean")
        let n = ds.reduce(1) { $0 * shape[$1] }
        let s = try toFloat32().sum(dims: ds, keepdim: keepdim)
        return try s.scalarOp(1.0 / Double(max(n, 1)), .mul).scalarOp(n == 0 ? .nan : 1, .mul)
    }

    /// Variance with `correction` (1 = unbiased, as torch's default; 0 = population).
    public func variance(dims: [Int]? = nil, correction: Int = 1, keepdim: Bool = false) throws(LatheError) -> Tensor {
        let ds = try reduceDims(dims, op: "var")
        let n = ds.reduce(1) { $0 * shape[$1] }
        let x = try toFloat32()
        let mu = try x.mean(dims: ds, keepdim: true)
        let d = try x - mu
        let ss = try (d * d).sum(dims: ds, keepdim: keepdim)
        return try ss.scalarOp(1.0 / Double(n - correction), .mul)
    }

    public func std(dims: [Int]? = nil, correction: Int = 1, keepdim: Bool = false) throws(LatheError) -> Tensor {
        try variance(dims: dims, correction: correction, keepdim: keepdim).sqrt()
    }

    // MARK: - max / min / argmax

    /// Max (or min) over one dim: values and 0-based indices; over all elements (dim nil):
    /// a 0-d value and flat index.
    public func maxMin(dim d: Int?, keepdim: Bool = false, isMin: Bool) throws(LatheError) -> (Tensor, Tensor) {
        let op = isMin ? "min" : "max"
        if count == 0 { throw LatheError("\(op) of an empty tensor (shape \(shapeString))") }
        let x = try toFloat32().contiguous()
        guard let d else {
            let idx = isMin ? lk_argmin_f32(x.floatPointer, count) : lk_argmax_f32(x.floatPointer, count)
            let v = Tensor(floats: [x.floatPointer[idx]], shape: [])
            if dtype == .float32 && Autograd.needs(self) {
                let inShape = shape
                v.record(op, [self]) { g throws(LatheError) in
                    let z = try Tensor.zeros(inShape)
                    z.storage.floats[idx] = try g.contiguous().floatPointer[0]
                    return [z]
                }
            }
            return (try dtype == .float32 ? v : v.to(dtype), Tensor(int64s: [Int64(idx)], shape: []))
        }
        let dd = try dim(d, op: op)
        if shape[dd] == 0 { throw LatheError("\(op) over an empty dimension \(dd + 1) (shape \(shapeString))") }
        let (outer, r, inner) = x.blockSplit(dd, dd)
        let vals = try Tensor(uninitialized: reducedShape([dd], keepdim: true), dtype: .float32)
        let idxs = try Tensor(uninitialized: vals.shape, dtype: .int64)
        let src = x.floatPointer, vp = vals.floatPointer, ip = idxs.int64Pointer
        Parallel.forEach(outer, costPerItem: r * inner) { o in
            if inner == 1 {
                let k = isMin ? lk_argmin_f32(src + o * r, r) : lk_argmax_f32(src + o * r, r)
                vp[o] = src[o * r + k]
                ip[o] = Int64(k)
            } else {
                let dst = vp + o * inner, di = ip + o * inner
                dst.update(from: src + o * r * inner, count: inner)
                var tmp = [Int](repeating: 0, count: inner)
                tmp.withUnsafeMutableBufferPointer { tb in
                    for k in 1..<r {
                        lk_max_acc_f32(dst, tb.baseAddress, src + (o * r + k) * inner, k, inner, isMin ? 1 : 0)
                    }
                }
                for j in 0..<inner { di[j] = Int64(tmp[j]) }
            }
        }
        let outShape = reducedShape([dd], keepdim: keepdim)
        let v = Tensor(storage: vals.storage, shape: outShape, dtype: .float32)
        let ix = Tensor(storage: idxs.storage, shape: outShape, dtype: .int64)
        if dtype == .float32 && Autograd.needs(self) {
            let inShape = shape
            let keepShape = vals.shape
            let ixd = Tensor(storage: idxs.storage, shape: keepShape, dtype: .int64)
            v.record(op, [self]) { g throws(LatheError) in
                let z = try Tensor.zeros(inShape)
                return [try z.scatterAdd(dd, ixd, g.reshape(keepShape), record: false)]
            }
        }
        return (try dtype == .float32 ? v : v.to(dtype), ix)
    }

    // MARK: - softmax family (along one dim)

    /// Applies a row kernel along dim d (moving it last when needed).
    func rowwise(_ d: Int, op: String, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: op)
        let last = rank - 1
        let moved = dd == last ? try toFloat32().contiguous() : try toFloat32().transpose(dd, last).contiguous()
        let out = try Tensor(uninitialized: moved.shape, dtype: .float32)
        let n = moved.shape.last ?? 1
        let rows = moved.count / max(n, 1)
        let src = moved.floatPointer, dst = out.floatPointer
        Parallel.forEach(rows, costPerItem: n * 4) { r in kernel(src + r * n, dst + r * n, n) }
        let res = Autograd.noGrad { dd == last ? out : try! out.transpose(dd, last) }
        return res
    }

    public func softmax(_ d: Int) throws(LatheError) -> Tensor {
        let y = try Autograd.noGrad { () throws(LatheError) -> Tensor in
            try rowwise(d, op: "softmax") { x, y, n in lk_softmax_row_f32(x, y, n) }
        }
        if Autograd.needs(self) {
            let yd = y.detach()
            let dd = try dim(d, op: "softmax")
            y.record("softmax", [self]) { g throws(LatheError) in
                [try Tensor.rowwise2(yd, g, dd) { y, g, gx, n in lk_softmax_grad_row_f32(y, g, gx, n) }]
            }
        }
        return y
    }

    public func logSoftmax(_ d: Int) throws(LatheError) -> Tensor {
        let y = try Autograd.noGrad { () throws(LatheError) -> Tensor in
            try rowwise(d, op: "log_softmax") { x, y, n in lk_log_softmax_row_f32(x, y, n) }
        }
        if Autograd.needs(self) {
            let yd = y.detach()
            let dd = try dim(d, op: "log_softmax")
            y.record("log_softmax", [self]) { g throws(LatheError) in
                [try Tensor.rowwise2(yd, g, dd) { y, g, gx, n in lk_log_softmax_grad_row_f32(y, g, gx, n) }]
            }
        }
        return y
    }

    /// Row kernel of two same-shape inputs along dim d.
    static func rowwise2(_ a: Tensor, _ b: Tensor, _ dd: Int,
                         _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) throws(LatheError) -> Tensor {
        let last = a.rank - 1
        let am = dd == last ? try a.contiguous() : try a.transpose(dd, last).contiguous()
        let bm = dd == last ? try b.contiguous() : try b.transpose(dd, last).contiguous()
        let out = try Tensor(uninitialized: am.shape, dtype: .float32)
        let n = am.shape.last ?? 1
        let rows = am.count / max(n, 1)
        let ap = am.floatPointer, bp = bm.floatPointer, op = out.floatPointer
        Parallel.forEach(rows, costPerItem: n * 4) { r in kernel(ap + r * n, bp + r * n, op + r * n, n) }
        return dd == last ? out : try out.transpose(dd, last)
    }

    public func logsumexp(_ d: Int, keepdim: Bool = false) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "logsumexp")
        let m = try Autograd.noGrad { () throws(LatheError) -> Tensor in
            let rows = try rowwise(dd, op: "logsumexp") { x, y, n in y[0] = lk_logsumexp_row_f32(x, n) }
            return try rows.narrow(dd, 0, 1).contiguous()
        }
        let keepShape = m.shape
        let res = Tensor(storage: m.storage, offset: m.offset, shape: reducedShape([dd], keepdim: keepdim), dtype: .float32)
        if Autograd.needs(self) {
            let xd = detach(), md = Tensor(storage: m.storage, offset: m.offset, shape: keepShape, dtype: .float32)
            res.record("logsumexp", [self]) { g throws(LatheError) in
                [try g.reshape(keepShape) * (xd - md).exp()]
            }
        }
        return res
    }

    // MARK: - cumsum, sort, topk

    public func cumsum(_ d: Int) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "cumsum")
        if dtype == .int64 {
            let x = try contiguous()
            let out = try Tensor(uninitialized: shape, dtype: .int64)
            let (outer, r, inner) = x.blockSplit(dd, dd)
            let s = x.int64Pointer, o = out.int64Pointer
            for a in 0..<outer {
                for j in 0..<inner {
                    var acc: Int64 = 0
                    for k in 0..<r { acc &+= s[(a * r + k) * inner + j]; o[(a * r + k) * inner + j] = acc }
                }
            }
            return out
        }
        let x = try toFloat32().contiguous()
        let out = try Tensor(uninitialized: shape, dtype: .float32)
        let (outer, r, inner) = x.blockSplit(dd, dd)
        let s = x.floatPointer, o = out.floatPointer
        for a in 0..<outer {
            let base = a * r * inner
            if r > 0 { (o + base).update(from: s + base, count: inner) }
            for k in 1..<max(r, 1) {
                let prev = o + base + (k - 1) * inner, cur = o + base + k * inner
                lk_binary_f32(Int32(LK_ADD), prev, s + base + k * inner, cur, inner)
            }
        }
        if Autograd.needs(self) {
            out.record("cumsum", [self]) { g throws(LatheError) in
                // reverse cumulative sum of the gradient
                let n = g.shape[dd]
                let rev = try g.index(dd, Tensor(int64s: (0..<n).reversed().map { Int64($0) }, shape: [n]))
                let c = try rev.cumsum(dd)
                return [try c.index(dd, Tensor(int64s: (0..<n).reversed().map { Int64($0) }, shape: [n]))]
            }
        }
        return out
    }

    /// Sorts along dim d (stable). Returns values and 0-based indices.
    public func sort(_ d: Int, descending: Bool = false) throws(LatheError) -> (Tensor, Tensor) {
        let dd = try dim(d, op: "sort")
        let n = shape[dd]
        return try topk(n, dd, largest: descending, sorted: true, op: "sort")
    }

    /// The k largest (or smallest) values along dim d with their 0-based indices.
    public func topk(_ k: Int, _ d: Int, largest: Bool = true, sorted: Bool = true, op: String = "topk") throws(LatheError) -> (Tensor, Tensor) {
        let dd = try dim(d, op: op)
        let n = shape[dd]
        if k < 0 || k > n { throw LatheError("\(op): k = \(k) out of range 0..\(n) for dimension \(dd + 1) of shape \(shapeString)") }
        let isInt = dtype == .int64
        let last = rank - 1
        let xf = try toFloat32()
        let moved = dd == last ? try xf.contiguous() : try xf.transpose(dd, last).contiguous()
        let x64: Tensor? = isInt ? (dd == last ? try contiguous() : try transpose(dd, last).contiguous()) : nil
        let rows = moved.count / max(n, 1)
        var outShape = moved.shape
        outShape[last] = k
        let vals = try Tensor(uninitialized: outShape, dtype: .float32)
        let idxs = try Tensor(uninitialized: outShape, dtype: .int64)
        let src = moved.floatPointer, vp = vals.floatPointer, ip = idxs.int64Pointer
        let ints = x64?.int64Pointer
        Parallel.forEach(rows, costPerItem: n * 8) { r in
            var order = Array(0..<n)
            let row = src + r * n
            if let ints {
                let irow = ints + r * n
                if largest { order.sort { irow[$0] > irow[$1] || (irow[$0] == irow[$1] && $0 < $1) } } else { order.sort { irow[$0] < irow[$1] || (irow[$0] == irow[$1] && $0 < $1) } }
            } else if largest {
                // NaN sorts as the largest, like torch
                order.sort { a, b in
                    let x = row[a], y = row[b]
                    if x.isNaN != y.isNaN { return x.isNaN }
                    return x > y || (x == y && a < b) || (x.isNaN && y.isNaN && a < b)
                }
            } else {
                order.sort { a, b in
                    let x = row[a], y = row[b]
                    if x.isNaN != y.isNaN { return y.isNaN }
                    return x < y || (x == y && a < b) || (x.isNaN && y.isNaN && a < b)
                }
            }
            for j in 0..<k {
                vp[r * k + j] = row[order[j]]
                ip[r * k + j] = Int64(order[j])
            }
        }
        var v: Tensor = vals
        var ix: Tensor = idxs
        if dd != last {
            v = try Autograd.noGrad { () throws(LatheError) -> Tensor in try vals.transpose(dd, last) }
            ix = try idxs.transpose(dd, last)
        }
        if isInt {
            v = try ix.contiguous().gatherValues(from: self, dim: dd)
        } else if Autograd.needs(self) {
            let inShape = shape
            let ixd = ix
            v.record(op, [self]) { g throws(LatheError) in
                let z = try Tensor.zeros(inShape)
                return [try z.scatterAdd(dd, ixd, g, record: false)]
            }
        }
        return (v, ix)
    }

    /// Values of `src` at these 0-based indices along dim (self holds the indices).
    func gatherValues(from src: Tensor, dim dd: Int) throws(LatheError) -> Tensor {
        try src.gather(dd, self)
    }
}
