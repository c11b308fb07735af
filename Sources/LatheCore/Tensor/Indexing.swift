import CLatheCore
import Foundation

extension Tensor {
    /// Joins tensors along an existing dim (0-based).
    public static func cat(_ ts: [Tensor], dim d: Int) throws(LatheError) -> Tensor {
        guard let first = ts.first else { throw LatheError("cat: no tensors given") }
        let dd = try first.dim(d, op: "cat")
        let dt: DType = ts.contains { $0.dtype == .float32 } ? .float32 : (ts.contains { $0.dtype == .int64 } ? .int64 : .bool)
        var total = 0
        for (i, t) in ts.enumerated() {
            guard t.rank == first.rank else {
                throw LatheError("cat: tensor \(i + 1) has \(t.rank) dimensions, tensor 1 has \(first.rank)")
            }
            for k in 0..<first.rank where k != dd && t.shape[k] != first.shape[k] {
                throw LatheError("cat: tensor \(i + 1) has shape \(t.shapeString), which differs from \(first.shapeString) outside dimension \(dd + 1)")
            }
            total += t.shape[dd]
        }
        var shp = first.shape
        shp[dd] = total
        _ = try checkShape(shp, dtype: dt)
        let out = try Tensor(uninitialized: shp, dtype: dt)
        var pos = 0
        for t in ts {
            let len = t.shape[dd]
            if len > 0 {
                try Autograd.noGrad { () throws(LatheError) in
                    try out.narrow(dd, pos, len).assign(t.to(dt))
                }
            }
            pos += len
        }
        if dt == .float32 && Autograd.needs(ts) {
            let sizes = ts.map { $0.shape[dd] }
            let needs = ts.map { $0.requiresGrad }
            out.record("cat", ts) { g throws(LatheError) in
                var grads: [Tensor?] = []
                var p = 0
                for (i, n) in sizes.enumerated() {
                    grads.append(needs[i] ? try g.narrow(dd, p, n) : nil)
                    p += n
                }
                return grads
            }
        }
        return out
    }

    /// Stacks same-shape tensors along a new dim.
    public static func stack(_ ts: [Tensor], dim d: Int) throws(LatheError) -> Tensor {
        guard let first = ts.first else { throw LatheError("stack: no tensors given") }
        for (i, t) in ts.enumerated() where t.shape != first.shape {
            throw LatheError("stack: tensor \(i + 1) has shape \(t.shapeString), tensor 1 has \(first.shapeString)")
        }
        let r = first.rank + 1
        let dd = d < 0 ? d + r : d
        if dd < 0 || dd >= r { throw LatheError("stack: dimension \(d + 1) out of range for \(r)-d result") }
        return try cat(ts.map { t throws(LatheError) in try t.unsqueeze(dd) }, dim: dd)
    }

    /// Splits into pieces of `size` along dim (the last may be smaller); views.
    public func split(_ size: Int, dim d: Int) throws(LatheError) -> [Tensor] {
        let dd = try dim(d, op: "split")
        if size <= 0 { throw LatheError("split: size must be positive, got \(size)") }
        var out: [Tensor] = []
        var p = 0
        while p < shape[dd] {
            let n = min(size, shape[dd] - p)
            out.append(try narrow(dd, p, n))
            p += n
        }
        return out
    }

    /// Splits into `chunks` nearly equal pieces along dim (as torch.chunk).
    public func chunk(_ chunks: Int, dim d: Int) throws(LatheError) -> [Tensor] {
        let dd = try dim(d, op: "chunk")
        if chunks <= 0 { throw LatheError("chunk: number of chunks must be positive, got \(chunks)") }
        let size = shape[dd] / chunks + (shape[dd] % chunks == 0 ? 0 : 1)
        return try split(max(size, 1), dim: dd)
    }

    func checkIndices(_ idx: Tensor, _ limit: Int, op: String, dim dd: Int) throws(LatheError) -> Tensor {
        guard idx.dtype == .int64 || idx.dtype == .float32 else {
            throw LatheError("\(op): indices must be an int64 tensor, got \(idx.dtype.rawValue)")
        }
        let i64 = try idx.to(.int64).contiguous()
        let p = i64.int64Pointer
        for k in 0..<i64.count where p[k] < 0 || p[k] >= Int64(limit) {
            throw LatheError("\(op): index \(p[k] &+ 1) out of range 1..\(limit) for dimension \(dd + 1) of shape \(shapeString)")
        }
        return i64
    }

    /// Selects entries along dim by 0-based int64 indices (1-d); index_select.
    public func index(_ d: Int, _ indices: Tensor) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "index_select")
        guard indices.rank <= 1 else { throw LatheError("index_select: indices must be 1-d, got shape \(indices.shapeString)") }
        let idx = try checkIndices(indices, shape[dd], op: "index_select", dim: dd)
        let n = idx.count
        var shp = shape
        shp[dd] = n
        let out = try Tensor(uninitialized: shp, dtype: dtype)
        let src = try contiguous()
        let (outer, r, inner) = src.blockSplit(dd, dd)
        let es = dtype.byteSize
        let ip = idx.int64Pointer
        let sp = src.storage.raw + src.offset * es, op = out.storage.raw
        Parallel.forEach(outer, costPerItem: n * inner) { o in
            for k in 0..<n {
                memcpy(op + ((o * n + k) * inner) * es, sp + ((o * r + Int(ip[k])) * inner) * es, inner * es)
            }
        }
        if dtype == .float32 && Autograd.needs(self) {
            let inShape = shape
            let idxd = idx
            out.record("index_select", [self]) { g throws(LatheError) in
                let z = try Tensor.zeros(inShape)
                let gc = try g.contiguous()
                let gp = gc.floatPointer, zp = z.floatPointer, ipp = idxd.int64Pointer
                for o in 0..<outer {
                    for k in 0..<n {
                        lk_acc_f32(zp + (o * r + Int(ipp[k])) * inner, gp + (o * n + k) * inner, inner)
                    }
                }
                return [z]
            }
        }
        return out
    }

    /// Rows of a 2-d table by 0-based ids of any shape: out shape = ids.shape + [dim]
    /// (an embedding lookup).
    public func embedding(_ ids: Tensor) throws(LatheError) -> Tensor {
        guard rank == 2 else { throw LatheError("embedding: the table must be 2-d, got shape \(shapeString)") }
        let flat = try ids.reshape([ids.count]).contiguous()
        guard flat.dtype == .int64 else { throw LatheError("embedding: ids must be int64, got \(flat.dtype.rawValue)") }
        let p = flat.int64Pointer
        for k in 0..<flat.count where p[k] < 0 || p[k] >= Int64(shape[0]) {
            throw LatheError("embedding: token id \(p[k]) is outside the vocabulary 0..\(shape[0] - 1)")
        }
        let idx = flat
        let rows = try index(0, idx)
        return try rows.reshape(ids.shape + [shape[1]])
    }

    /// out[i][j] = self[i][idx[i][j]] along dim (0-based int64 indices, same rank).
    public func gather(_ d: Int, _ indices: Tensor) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "gather")
        guard indices.rank == rank else {
            throw LatheError("gather: indices have \(indices.rank) dimensions, the tensor has \(rank)")
        }
        for k in 0..<rank where k != dd && indices.shape[k] > shape[k] {
            throw LatheError("gather: index shape \(indices.shapeString) is larger than the tensor \(shapeString) in dimension \(k + 1)")
        }
        let idx = try checkIndices(indices, shape[dd], op: "gather", dim: dd)
        let out = try Tensor(uninitialized: idx.shape, dtype: dtype)
        let es = dtype.byteSize
        let ip = idx.int64Pointer
        let sp = storage.raw, op = out.storage.raw
        var ostr = strides
        ostr[dd] = 0
        let (shp, sts) = Tensor.coalesce(idx.shape, [idx.strides, ostr])
        // idx contiguous == out contiguous: same linear offsets
        Tensor.stridedLoop(shp, sts) { offs, len, ist in
            for k in 0..<len {
                let lin = offs[0] + k * ist[0]
                let srcOff = offset + offs[1] + k * ist[1] + Int(ip[lin]) * strides[dd]
                memcpy(op + lin * es, sp + srcOff * es, es)
            }
        }
        if dtype == .float32 && Autograd.needs(self) {
            let inShape = shape
            out.record("gather", [self]) { g throws(LatheError) in
                [try Tensor.zeros(inShape).scatterAdd(dd, idx, g, record: false)]
            }
        }
        return out
    }

    /// Returns a copy of self with src added at 0-based indices along dim (scatter_add).
    public func scatterAdd(_ d: Int, _ indices: Tensor, _ src: Tensor, record: Bool = true) throws(LatheError) -> Tensor {
        let dd = try dim(d, op: "scatter_add")
        guard indices.rank == rank, src.rank == rank else {
            throw LatheError("scatter_add: indices \(indices.shapeString) and source \(src.shapeString) must have as many dimensions as the tensor \(shapeString)")
        }
        for k in 0..<rank where indices.shape[k] > src.shape[k] || (k != dd && indices.shape[k] > shape[k]) {
            throw LatheError("scatter_add: index shape \(indices.shapeString) does not fit source \(src.shapeString) and tensor \(shapeString)")
        }
        let idx = try checkIndices(indices, shape[dd], op: "scatter_add", dim: dd)
        let out = try toFloat32().contiguous(copy: true)
        let s = try src.toFloat32()
        let ip = idx.int64Pointer, sp = s.floatPointer, op = out.floatPointer
        var ostr = out.strides
        ostr[dd] = 0
        let (shp, sts) = Tensor.coalesce(idx.shape, [idx.strides, s.strides, ostr])
        Tensor.stridedLoop(shp, sts) { offs, len, ist in
            for k in 0..<len {
                let lin = offs[0] + k * ist[0]
                op[offs[2] + k * ist[2] + Int(ip[lin]) * out.strides[dd]] += sp[offs[1] + k * ist[1]]
            }
        }
        if record && Autograd.needs(self, src) {
            let needSelf = requiresGrad, needSrc = src.requiresGrad
            let srcShape = src.shape
            out.record("scatter_add", [self, src]) { g throws(LatheError) in
                var gs: Tensor? = nil
                if needSrc {
                    let gg = try g.gather(dd, idx)
                    gs = gg.shape == srcShape ? gg : try Tensor.zeros(srcShape).scatterRegion(gg)
                }
                return [needSelf ? g : nil, gs]
            }
        }
        return out
    }

    /// Copies `part` into the leading region of self (same rank, part not larger).
    func scatterRegion(_ part: Tensor) throws(LatheError) -> Tensor {
        var view = self
        for k in 0..<rank { view = try view.narrow(k, 0, part.shape[k]) }
        try view.assign(part)
        return self
    }

    /// Lower (tril) or upper (triu) triangle of the last two dims; k shifts the diagonal.
    public func triangle(lower: Bool, k: Int = 0) throws(LatheError) -> Tensor {
        guard rank >= 2 else { throw LatheError("\(lower ? "tril" : "triu") needs at least 2 dimensions, got shape \(shapeString)") }
        let rows = shape[rank - 2], cols = shape[rank - 1]
        let m = try Tensor(uninitialized: [rows, cols], dtype: .bool)
        for i in 0..<rows {
            for j in 0..<cols {
                let keep = lower ? j - i <= k : j - i >= k
                m.storage.bytes[i * cols + j] = keep ? 0 : 1
            }
        }
        return try maskedFill(m, 0)
    }

    /// One-hot encoding of 0-based class ids: shape + [numClasses] (int64).
    public func oneHot(_ numClasses: Int) throws(LatheError) -> Tensor {
        guard dtype == .int64 else { throw LatheError("one_hot: needs an int64 tensor of class ids, got \(dtype.rawValue)") }
        if numClasses <= 0 { throw LatheError("one_hot: number of classes must be positive, got \(numClasses)") }
        let src = try contiguous()
        let out = try Tensor.zeros(shape + [numClasses], dtype: .int64)
        let sp = src.int64Pointer, op = out.int64Pointer
        for i in 0..<count {
            let c = sp[i]
            if c < 0 || c >= Int64(numClasses) {
                throw LatheError("one_hot: class id \(c) out of range 0..\(numClasses - 1)")
            }
            op[i * numClasses + Int(c)] = 1
        }
        return out
    }
}
