import CLatheCore
import Foundation

/// A weight matrix [rows, cols] kept in one of ggml's block formats (Q8_0, Q4_0, Q4_1: 32
/// weights per block with an f16 scale, and an f16 offset for Q4_1), as llama.cpp stores it.
/// About 4.5-8.5 bits per weight instead of 32.
public final class QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int, cols: Int
    let data: Storage

    public static let supported: [GGMLType] = [.q8_0, .q4_0, .q4_1]

    /// Bytes of packed data.
    public var byteCount: Int { data.byteCount }

    /// A copy of the packed blocks (rows of cols/32 blocks, as a GGUF file stores them).
    public var packedBytes: [UInt8] { Array(UnsafeBufferPointer(start: data.bytes, count: data.byteCount)) }

    /// Copies packed rows (as a GGUF file stores them: each row cols/32 blocks).
    public init(type: GGMLType, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer) throws(LatheError) {
        guard QuantizedMatrix.supported.contains(type) else {
            throw LatheError("quantized matrices support \(QuantizedMatrix.supported.map(\.description).joined(separator: ", ")) (got \(type))")
        }
        guard rows > 0, cols > 0, cols % 32 == 0 else {
            throw LatheError("a \(type) matrix needs a positive number of rows and columns in whole 32-weight blocks (got [\(rows), \(cols)])")
        }
        let need = rows * (cols / 32) * type.typeSize
        guard bytes.count == need, let base = bytes.baseAddress else {
            throw LatheError("a \(type) matrix [\(rows), \(cols)] needs \(need) bytes (got \(bytes.count))")
        }
        self.type = type
        self.rows = rows
        self.cols = cols
        data = try Storage.make(byteCount: need)
        data.raw.copyMemory(from: base, byteCount: need)
    }

    /// Quantizes a float32 [rows, cols] matrix as ggml's reference quantizers do
    /// (`quantize_row_q8_0_ref`, `_q4_0_ref`, `_q4_1_ref`).
    public convenience init(quantizing w: Tensor, type: GGMLType) throws(LatheError) {
        guard w.rank == 2 else { throw LatheError("quantize: expected a 2-d weight, got \(w.shapeString)") }
        let (rows, cols) = (w.shape[0], w.shape[1])
        guard cols % 32 == 0 else { throw LatheError("quantize: \(cols) columns is not a multiple of the 32-weight block") }
        guard QuantizedMatrix.supported.contains(type) else {
            throw LatheError("quantize: supported types are \(QuantizedMatrix.supported.map(\.description).joined(separator: ", ")) (got \(type))")
        }
        let x = try w.toFloat32().contiguous()
        var out = [UInt8](repeating: 0, count: rows * (cols / 32) * type.typeSize)
        let xp = x.floatPointer
        out.withUnsafeMutableBytes { o in
            for blk in 0..<(rows * cols / 32) {
                QuantizedMatrix.quantizeBlock(xp + blk * 32, type, o.baseAddress! + blk * type.typeSize)
            }
        }
        let storage = try Storage.make(byteCount: out.count)
        out.withUnsafeBytes { b in storage.raw.copyMemory(from: b.baseAddress!, byteCount: b.count) }
        self.init(type: type, rows: rows, cols: cols, storage: storage)
    }

    init(type: GGMLType, rows: Int, cols: Int, storage: Storage) {
        self.type = type
        self.rows = rows
        self.cols = cols
        data = storage
    }

    static func putHalf(_ v: Float, _ p: UnsafeMutableRawPointer) {
        let h = ElementConversion.floatToHalf(v).littleEndian
        p.storeBytes(of: h, as: UInt16.self)
    }

    static func quantizeBlock(_ x: UnsafePointer<Float>, _ type: GGMLType, _ o: UnsafeMutableRawPointer) {
        switch type {
        case .q8_0:
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[j])) }
            let d = amax / 127, id = d != 0 ? 1 / d : 0
            putHalf(d, o)
            for j in 0..<32 { o.storeBytes(of: Int8(clamping: Int((x[j] * id).rounded(.toNearestOrAwayFromZero))), toByteOffset: 2 + j, as: Int8.self) }
        case .q4_0:
            var amax: Float = 0, mx: Float = 0
            for j in 0..<32 where amax < abs(x[j]) { amax = abs(x[j]); mx = x[j] }
            let d = mx / -8, id = d != 0 ? 1 / d : 0
            putHalf(d, o)
            for j in 0..<16 {
                let a = min(15, Int(Int8(clamping: Int((x[j] * id + 8.5).rounded(.towardZero)))))
                let b = min(15, Int(Int8(clamping: Int((x[j + 16] * id + 8.5).rounded(.towardZero)))))
                o.storeBytes(of: UInt8(truncatingIfNeeded: a | (b << 4)), toByteOffset: 2 + j, as: UInt8.self)
            }
        default:  // q4_1
            var lo = Float.infinity, hi = -Float.infinity
            for j in 0..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
            let d = (hi - lo) / 15, id = d != 0 ? 1 / d : 0
            putHalf(d, o)
            putHalf(lo, o + 2)
            for j in 0..<16 {
                let a = min(15, Int(Int8(clamping: Int(((x[j] - lo) * id + 0.5).rounded(.towardZero)))))
                let b = min(15, Int(Int8(clamping: Int(((x[j + 16] - lo) * id + 0.5).rounded(.towardZero)))))
                o.storeBytes(of: UInt8(truncatingIfNeeded: a | (b << 4)), toByteOffset: 4 + j, as: UInt8.self)
            }
        }
    }

    var cType: Int32 { Int32(type.rawValue) }
    var bytes: UnsafePointer<UInt8> { UnsafePointer(data.bytes) }

    /// The whole matrix as float32 [rows, cols].
    public func dequantized() throws(LatheError) -> Tensor {
        let t = try Tensor(uninitialized: [rows, cols], dtype: .float32)
        let tp = UnsafeSendable(t.floatPointer)
        Parallel.chunks(rows, grain: max(1, 16384 / cols)) { lo, hi in
            lk_q_dequant_rows(self.cType, self.bytes, self.cols, lo, hi, tp.value + lo * self.cols)
        }
        return t
    }

    /// Rows per dequantized tile in the blocked products (about 256 KB of floats).
    var tileRows: Int { max(16, min(rows, (1 << 16) / max(cols, 1))) }

    /// x [n, cols] (contiguous) times the matrix transposed: [n, rows]. Few rows of x use the
    /// packed matrix-vector kernel; more dequantize tiles of rows and multiply them with BLAS.
    func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) throws(LatheError) {
        if n <= 8 {
            let xs = UnsafeSendable(x), ys = UnsafeSendable(y)
            Parallel.chunks(rows, grain: max(8, 65536 / max(cols * n, 1))) { lo, hi in
                lk_q_gemv(self.cType, self.bytes, self.cols, lo, hi, xs.value, n, self.cols, ys.value, self.rows)
            }
            return
        }
        try Gemm.ensureReady()
        let tr = tileRows
        let tile = try Tensor(uninitialized: [tr, cols], dtype: .float32)
        let tp = UnsafeSendable(tile.floatPointer)
        var r0 = 0
        while r0 < rows {
            let m = min(tr, rows - r0)
            let base = r0
            Parallel.chunks(m, grain: max(1, 8192 / cols)) { lo, hi in
                lk_q_dequant_rows(self.cType, self.bytes, self.cols, base + lo, base + hi, tp.value + lo * self.cols)
            }
            try gemmRowMajor(Int32(LK_NO_TRANS), Int32(LK_TRANS), Int32(n), Int32(m), Int32(cols), 1, x, Int32(cols),
                     tile.floatPointer, Int32(cols), 0, y + r0, Int32(rows))
            r0 += m
        }
    }

    /// g [n, rows] (contiguous) times the matrix: [n, cols] (the input gradient of a product).
    func multiplyTransposed(_ g: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>) throws(LatheError) {
        try Gemm.ensureReady()
        let tr = tileRows
        let tile = try Tensor(uninitialized: [tr, cols], dtype: .float32)
        let tp = UnsafeSendable(tile.floatPointer)
        var r0 = 0
        while r0 < rows {
            let m = min(tr, rows - r0)
            let base = r0
            Parallel.chunks(m, grain: max(1, 8192 / cols)) { lo, hi in
                lk_q_dequant_rows(self.cType, self.bytes, self.cols, base + lo, base + hi, tp.value + lo * self.cols)
            }
            try gemmRowMajor(Int32(LK_NO_TRANS), Int32(LK_NO_TRANS), Int32(n), Int32(cols), Int32(m), 1, g + r0, Int32(rows),
                     tile.floatPointer, Int32(cols), r0 == 0 ? 0 : 1, dx, Int32(cols))
            r0 += m
        }
    }
}

/// lk_sgemm's argument order on Lathe's GEMM (`Gemm.gemm`, which parallelizes over the pool).
@inline(__always)
func gemmRowMajor(_ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float, _ a: UnsafePointer<Float>,
                  _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32, _ beta: Float, _ c: UnsafeMutablePointer<Float>,
                  _ ldc: Int32) throws(LatheError) {
    try Gemm.gemm(transA: ta == Int32(LK_TRANS), transB: tb == Int32(LK_TRANS), m: Int(m), n: Int(n), k: Int(k), alpha: alpha,
                  a: a, lda: Int(lda), b: b, ldb: Int(ldb), beta: beta, c: c, ldc: Int(ldc))
}

extension F {
    /// x [..., cols] times a quantized matrix transposed (+ bias): [..., rows]; the blocks are
    /// dequantized inside the product. Differentiable in x (the matrix is frozen).
    public static func quantLinear(_ x: Tensor, _ w: QuantizedMatrix, _ bias: Tensor?) throws(LatheError) -> Tensor {
        guard x.rank >= 1, x.shape[x.rank - 1] == w.cols else {
            throw LatheError("linear: input \(x.shapeString) does not end in the weight's input size \(w.cols) (\(w.type) weight [\(w.rows),\(w.cols)])")
        }
        if let bias, bias.shape != [w.rows] {
            throw LatheError("linear: bias shape \(bias.shapeString) does not match the weight's output size \(w.rows)")
        }
        let n = x.count / w.cols
        let xc = try x.toFloat32().contiguous()
        let out = try Tensor(uninitialized: Array(x.shape.dropLast()) + [w.rows], dtype: .float32)
        if n > 0 { try w.multiply(xc.floatPointer, n: n, into: out.floatPointer) }
        var y = out
        if let bias { y = try Autograd.noGrad { () throws(LatheError) in try out + bias } }
        var inputs = [x]
        if let bias { inputs.append(bias) }
        if Autograd.needs(inputs) {
            let needX = x.requiresGrad, needB = bias?.requiresGrad ?? false, hasB = bias != nil
            let xShape = x.shape, rows = w.rows
            y.record("quant_linear", inputs) { g throws(LatheError) in
                let gc = try g.contiguous()
                var grads: [Tensor?] = []
                if needX {
                    let dx = try Tensor(uninitialized: xShape, dtype: .float32)
                    if n > 0 { try w.multiplyTransposed(gc.floatPointer, n: n, into: dx.floatPointer) }
                    grads.append(dx)
                } else {
                    grads.append(nil)
                }
                if hasB { grads.append(needB ? try gc.reshape([n, rows]).sum(dims: [0]) : nil) }
                return grads
            }
        }
        return y
    }
}

/// A frozen linear layer whose weight stays in a ggml block format (Q8_0, Q4_0, Q4_1) and is
/// dequantized block by block inside the product: a 4-bit base for QLoRA-style fine-tuning.
/// LoRA adapters attach as on `Linear` (and train); the packed weight never changes.
public final class QuantLinear: Module, LoRAHost {
    public let weight: QuantizedMatrix
    public let bias: Tensor?
    public private(set) var lora: LoRAAdapter?
    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public init(_ weight: QuantizedMatrix, bias: Tensor?) throws(LatheError) {
        if let bias, bias.shape != [weight.rows] {
            throw LatheError("quantized linear: bias \(bias.shapeString) does not match \(weight.rows) outputs")
        }
        self.weight = weight
        self.bias = try bias?.toFloat32().contiguous()
        super.init()
        if let b = self.bias {
            param("bias", b)
            b.requiresGrad = false
        }
    }

    /// Quantizes a Linear layer's weight (its bias stays float32).
    public convenience init(quantizing l: Linear, type: GGMLType) throws(LatheError) {
        try self.init(QuantizedMatrix(quantizing: l.weight, type: type), bias: l.bias)
    }

    override public var typeName: String { lora == nil ? "QuantLinear" : "QuantLinear+LoRA" }
    override public var details: String {
        "\(inFeatures) -> \(outFeatures), \(weight.type)" + (bias == nil ? ", no bias" : "") + (lora.map { ", lora r=\($0.r)" } ?? "")
    }
    override public var packedParameterCount: Int { weight.rows * weight.cols }
    /// `[out,in] Q4_1` for summaries.
    public var packedShapeText: String { "[\(weight.rows),\(weight.cols)] \(weight.type)" }

    override public func forward(_ inputs: [Tensor]) throws(LatheError) -> Tensor {
        let x = inputs[0]
        return try addLoRA(F.quantLinear(x, weight, bias), x)
    }

    public func denseWeight() throws(LatheError) -> Tensor { try weight.dequantized() }

    public func attachLoRA(_ adapter: LoRAAdapter) {
        lora = adapter
        register("lora_A", adapter.aModule)
        register("lora_B", adapter.bModule)
    }

    public func detachLoRA() {
        lora = nil
        removeChildren(["lora_A", "lora_B"])
    }
}
