import CLatheCore
import Foundation

/// Examples for training: inputs [N, ...] (int64 token ids or float features), targets
/// [N] (class ids), [N, T] (next-token ids, -100 = ignored) or floats (regression), and an
/// optional attention mask [N, T].
public struct Dataset: Sendable {
    public var inputs: Tensor
    public var targets: Tensor
    public var mask: Tensor?
    public var count: Int { inputs.shape.first ?? 0 }

    public init(inputs: Tensor, targets: Tensor, mask: Tensor? = nil) throws(LatheError) {
        guard inputs.rank >= 1, targets.rank >= 1, inputs.shape[0] == targets.shape[0] else {
            throw LatheError("inputs \(inputs.shapeString) and targets \(targets.shapeString) must have the same number of examples (first dimension)")
        }
        if let mask, mask.shape.first != inputs.shape[0] {
            throw LatheError("mask \(mask.shapeString) does not match inputs \(inputs.shapeString)")
        }
        self.inputs = try inputs.contiguous()
        self.targets = try targets.contiguous()
        self.mask = try mask?.contiguous()
    }

    /// Language-model examples from sequences [N, T+1]: inputs are tokens 0..T-1, targets 1..T.
    public static func languageModel(_ seqs: Tensor) throws(LatheError) -> Dataset {
        guard seqs.rank == 2, seqs.shape[1] >= 2, seqs.dtype == .int64 else {
            throw LatheError("language-model data must be an int64 tensor [sequences, length >= 2], got \(seqs.dtype.rawValue) \(seqs.shapeString)")
        }
        let t = seqs.shape[1]
        return try Dataset(inputs: seqs.narrow(1, 0, t - 1).contiguous(), targets: seqs.narrow(1, 1, t - 1).contiguous())
    }

    /// Windows of `length + 1` tokens cut from one long stream (stride `length`).
    public static func windows(_ stream: [Int64], length: Int) throws(LatheError) -> Tensor {
        guard length >= 1 else { throw LatheError("window length must be positive") }
        guard length < stream.count else { throw LatheError("the text has \(stream.count) tokens, not enough for one window of \(length) tokens and the one after") }
        let n = (stream.count - 1) / length
        guard n >= 1 else { throw LatheError("the text has \(stream.count) tokens, fewer than one window of \(length + 1)") }
        var data: [Int64] = []
        data.reserveCapacity(n * (length + 1))
        for i in 0..<n { data += stream[(i * length)...(i * length + length)] }
        return Tensor(int64s: data, shape: [n, length + 1])
    }

    /// The examples at `rows` (0-based). With a mask [N, T], trailing positions that are padding in
    /// every chosen row (mask 0, and target -100 for per-position targets) are cut off: a
    /// batch of short texts costs what short texts cost, whatever the longest in the set.
    func batch(_ rows: [Int]) throws(LatheError) -> (Tensor, Tensor, Tensor?) {
        let idx = Tensor(int64s: rows.map { Int64($0) }, shape: [rows.count])
        var x = try inputs.index(0, idx), y = try targets.index(0, idx)
        guard var m = try mask.map({ m throws(LatheError) in try m.index(0, idx) }) else { return (x, y, nil) }
        let floatPerPosition = y.rank >= 2 && y.shape[0] == x.shape[0] && y.dtype != .int64
        if m.rank == 2, x.rank == 2, m.shape == x.shape, m.shape[1] > 1, !floatPerPosition {
            let (n, t) = (m.shape[0], m.shape[1])
            let mv = try m.contiguous().toFloatArray()
            let perPosition = y.shape == x.shape && y.dtype == .int64
            let yv = perPosition ? try y.contiguous().toInt64Array() : []
            var keep = 1
            for r in 0..<n {
                var j = t - 1
                while j >= keep && mv[r * t + j] == 0 && (!perPosition || yv[r * t + j] == -100) { j -= 1 }
                keep = max(keep, j + 1)
            }
            if keep < t {
                x = try x.narrow(1, 0, keep).contiguous()
                m = try m.narrow(1, 0, keep).contiguous()
                if perPosition { y = try y.narrow(1, 0, keep).contiguous() }
            }
        }
        return (x, y, m)
    }
}

/// What the trainer optimizes and reports.
public enum Task: String, Sendable {
    case languageModel = "lm"
    case classification
    case regression
}

/// Everything `fit` needs besides the model and data.
public struct FitConfig {
    public var epochs = 1
    public var maxSteps: Int? = nil
    public var batchSize = 16
    public var lr = 1e-3
    public var optimizer: Optimizer.Kind = .adamw
    public var weightDecay: Float? = nil
    public var betas: (Float, Float) = (0.9, 0.999)
    public var momentum: Float = 0
    public var nesterov = false
    public var noDecay: [String] = []
    public var schedule: Schedule? = nil        // lr(at:) replaces lr when given
    public var gradAccum = 1
    public var clip: Float? = nil
    public var evalEvery: Int? = nil            // updates between evaluations (default: each epoch)
    /// loss, perplexity, accuracy, f1 (macro F1: the mean of every class's F1), f1_binary (the
    /// F1 of class `posLabel`), or custom.
    public var metric = "loss"
    public var posLabel = 1
    /// The metric names the trainer computes itself.
    public static let metrics = ["loss", "accuracy", "f1", "f1_binary", "perplexity"]
    public var customMetric: ((Module) throws -> Double)? = nil
    public var customMetricMode = "max"
    public var earlyStopping: EarlyStopping? = nil
    public var checkpointDir: String? = nil
    public var resume: String? = nil            // a checkpoint folder, or "latest" in checkpointDir
    public var seed: UInt64? = nil
    public var shuffle = true
    public var task: Task? = nil
    public var labelSmoothing: Float = 0
    public var classWeights: Tensor? = nil
    public var gradualUnfreeze = false
    /// How many checkpoints stay in checkpointDir (the newest).
    public var keepCheckpoints = 2
    /// Updates between checkpoints (besides the one at the end or on Ctrl-C), so a killed
    /// process loses at most this many.
    public var checkpointEvery: Int? = nil
    /// Matrix products in bf16 (fp32 master weights, gradients and optimizer state) or fp32.
    public var precision: MatmulPrecision = .fp32
    public init() {}
}

/// What happened during training.
public final class FitHistory {
    public var loss: [Double] = []
    public var lr: [Double] = []
    public struct Eval { public var step: Int; public var epoch: Int; public var valLoss: Double; public var metric: Double }
    public var evals: [Eval] = []
    public var bestStep: Int? = nil
    public var bestMetric: Double? = nil
    public var metricName = "loss"
    public var stoppedEarly = false
    /// The step whose weights were put back at the end (early stopping's best), if any.
    public var restoredStep: Int? = nil
    public var interrupted = false
    /// The step at which a search's pruner stopped the training (onEvaluation), if it did.
    public var prunedAt: Int? = nil
    public var steps = 0
    public var epochs = 0
    public var seconds = 0.0
    public var unitsPerSecond = 0.0
    public var unit = "tokens"
    public var checkpoint: String? = nil
    /// Why the final checkpoint could not be written (nil when it was, or none was asked for).
    public var checkpointError: String? = nil
    public init() {}

    /// One paragraph: updates, time and rate, the loss curve's ends, the last and best
    /// evaluations, and how the run ended.
    public var summary: String {
        var s = "History: \(steps) updates"
        s += epochs > 0 ? " (\(epochs) epoch\(epochs == 1 ? "" : "s"))" : ""
        s += String(format: " in %.1f s, %@ %@/s", seconds, (unitsPerSecond.isFinite && unitsPerSecond < 1e18 ? Int(unitsPerSecond) : 0).groupedThousands, unit)
        if let f = loss.first, let l = loss.last { s += String(format: "; train loss %.4f -> %.4f", f, l) }
        if let last = evals.last {
            s += String(format: "; last val_loss %.4f", last.valLoss) + (metricName != "loss" ? String(format: ", %@ %.4f", metricName, last.metric) : "")
        }
        if let b = bestMetric, let bs = bestStep { s += String(format: "; best %@ %.4f at step %d", metricName, b, bs) }
        if stoppedEarly { s += "; stopped early" }
        if let r = restoredStep { s += "; weights of step \(r) restored" }
        if interrupted { s += "; interrupted (checkpoint: \(checkpoint ?? "-"))" }
        if let p = prunedAt { s += "; pruned by the search at step \(p)" }
        return s
    }
}

/// Progress reported after each update.
public struct FitProgress {
    public var epoch: Int, epochs: Int, step: Int, totalSteps: Int, loss: Double, lr: Double, unitsPerSecond: Double, unit: String
    public var evalNote: String?
}

/// The training loop: batches, gradient accumulation, clipping, schedules, evaluation,
/// early stopping (restoring the best weights), checkpoints and exact resumption, Ctrl-C.
public final class Trainer {
    public let model: Module
    public let train: Dataset
    public let val: Dataset?
    public var config: FitConfig
    public let task: Task
    public var progress: ((FitProgress) -> Void)?
    public var log: ((String) -> Void)?
    /// Called after each evaluation with the step and the metric; answering true stops the
    /// training there (a pruned trial of a hyperparameter search).
    public var onEvaluation: ((_ step: Int, _ metric: Double) throws(LatheError) -> Bool)?
    let optimizer: Optimizer
    let trainable: [(String, Tensor)]

    public init(model: Module, train: Dataset, val: Dataset?, config: FitConfig) throws(LatheError) {
        guard train.count > 0 else { throw LatheError("the training data is empty") }
        if let val, val.count == 0 { throw LatheError("the validation data is empty") }
        guard config.epochs >= 1 || config.maxSteps != nil else { throw LatheError("epochs must be at least 1, got \(config.epochs)") }
        guard config.batchSize >= 1 else { throw LatheError("batch_size must be at least 1, got \(config.batchSize)") }
        guard config.gradAccum >= 1 else { throw LatheError("grad_accum must be at least 1, got \(config.gradAccum)") }
        guard config.keepCheckpoints >= 1 else { throw LatheError("keep_checkpoints must be at least 1, got \(config.keepCheckpoints)") }
        if let every = config.checkpointEvery {
            guard every >= 1 else { throw LatheError("checkpoint_every must be at least 1, got \(every)") }
            guard config.checkpointDir != nil else { throw LatheError("checkpoint_every needs checkpoint_dir (the folder the checkpoints go to)") }
        }
        self.model = model
        self.train = train
        self.val = val
        self.config = config
        if let t = config.task {
            task = t
        } else if model is DecoderLM {
            task = .languageModel
        } else {
            task = train.targets.dtype == .float32 ? .regression : .classification
        }
        if task == .languageModel && train.targets.rank != 2 {
            throw LatheError("language-model targets must be [examples, length], got \(train.targets.shapeString)")
        }
        if config.gradualUnfreeze { Trainer.applyGradualUnfreeze(model, epoch: 0) }
        trainable = model.namedParameters()
        guard trainable.contains(where: { $0.1.requiresGrad }) || config.gradualUnfreeze else {
            throw LatheError("the model has no trainable parameters (everything is frozen)")
        }
        let opt = try Optimizer(config.optimizer, params: trainable, lr: Float(config.lr), weightDecay: config.weightDecay)
        opt.beta1 = config.betas.0
        opt.beta2 = config.betas.1
        opt.momentum = config.momentum
        opt.nesterov = config.nesterov
        opt.noDecay = config.noDecay
        optimizer = opt
    }

    var updatesPerEpoch: Int {
        // divisions rounded up without n + d - 1, which overflows for d near Int.max
        func ceilDiv(_ n: Int, _ d: Int) -> Int { n / d + (n % d == 0 ? 0 : 1) }
        let batches = ceilDiv(train.count, max(config.batchSize, 1))
        return max(1, ceilDiv(batches, max(config.gradAccum, 1)))
    }

    public var totalUpdates: Int {
        // past Int.max updates is "train until stopped" (Ctrl-C), not an overflow
        let (byEpochs, o) = updatesPerEpoch.multipliedReportingOverflow(by: max(config.epochs, 0))
        if o { return config.maxSteps ?? Int.max }
        if let m = config.maxSteps { return min(m, config.epochs > 0 ? byEpochs : m) }
        return byEpochs
    }

    // MARK: - loss and evaluation

    func forward(_ x: Tensor, _ mask: Tensor?) throws(LatheError) -> Tensor {
        var inputs = [x]
        if let mask { inputs.append(mask) }
        return try model.forward(inputs)
    }

    /// The model's outputs for a batch and the targets the loss compares them with. Language
    /// models give [K, vocab] logits and K targets: for a decoder LM only the K positions whose
    /// target is live (not -100), so the output projection (the largest layer of a small LM)
    /// skips prompts and padding; for other LMs every position (-100 is ignored by the loss).
    func outputs(_ x: Tensor, _ y: Tensor, _ m: Tensor?) throws(LatheError) -> (Tensor, Tensor) {
        guard task == .languageModel else { return (try forward(x, m), y) }
        if let lm = model as? DecoderLM, y.dtype == .int64, y.shape == x.shape, x.rank == 2 {
            let yv = try y.contiguous().toInt64Array()
            var live: [Int64] = [], tv: [Int64] = []
            for (i, t) in yv.enumerated() where t != -100 { live.append(Int64(i)); tv.append(t) }
            if !live.isEmpty {
                let h = try lm.hidden(x, keyMask: m)
                var hs = try h.reshape([-1, h.shape[2]])
                if live.count < yv.count { hs = try hs.index(0, Tensor(int64s: live, shape: [live.count])) }
                let logits: Tensor
                if let hd = lm.head { logits = try hd(hs) } else { logits = try Tensor.linear(hs, lm.embed.weight, nil) }
                return (logits, Tensor(int64s: tv, shape: [tv.count]))
            }
        }
        let out = try forward(x, m)
        guard out.rank == 3 else { throw LatheError("a language model must return [batch, seq, vocab] logits, got \(out.shapeString)") }
        return (try out.reshape([-1, out.shape[2]]), try y.reshape([-1]))
    }

    /// The loss of `outputs`' results.
    func loss(_ out: Tensor, _ y: Tensor) throws(LatheError) -> Tensor {
        switch task {
        case .languageModel:
            return try F.crossEntropy(out, y, labelSmoothing: config.labelSmoothing)
        case .classification:
            guard out.rank == 2, y.rank == 1 else {
                throw LatheError("classification needs [batch, classes] outputs and [batch] class ids, got \(out.shapeString) and \(y.shapeString)")
            }
            return try F.crossEntropy(out, y, labelSmoothing: config.labelSmoothing, weight: config.classWeights)
        case .regression:
            let yy = y.shape == out.shape ? y : try y.reshape(out.shape)
            return try F.mse(out, yy)
        }
    }

    /// Units counted for throughput: tokens for LMs and sequence models, examples otherwise.
    func units(_ x: Tensor) -> Int { x.dtype == .int64 && x.rank >= 2 ? x.count : (x.shape.first ?? 0) }

    /// Mean validation loss and the metric (higher is better for accuracy/f1).
    public func evaluate(_ data: Dataset) throws(LatheError) -> (loss: Double, metric: Double) {
        let wasTraining = model.training
        model.setTraining(false)
        defer { model.setTraining(wasTraining) }
        var tally = EvalTally()
        try Autograd.noGrad { () throws(LatheError) in
            var start = 0
            while start < data.count {
                try Interrupt.check()
                try tallyBatch(data, rows: Array(start..<min(start + config.batchSize, data.count)), &tally)
                start += config.batchSize
            }
        }
        return (tally.meanLoss, try metricValue(tally))
    }

    /// Running sums of an evaluation: the weighted loss, correct predictions and the
    /// per-class counts macro F1 needs.
    struct EvalTally {
        var totalLoss = 0.0, totalWeight = 0.0
        var correct = 0, counted = 0
        var tp: [Int: Int] = [:], fp: [Int: Int] = [:], fn: [Int: Int] = [:]

        var meanLoss: Double { totalWeight > 0 ? totalLoss / totalWeight : .nan }
        var accuracy: Double { counted > 0 ? Double(correct) / Double(counted) : .nan }
        /// The F1 of one class (0 when it was never predicted nor present, as scikit-learn's
        /// zero_division default).
        func f1(of c: Int) -> Double {
            let t = Double(tp[c] ?? 0), p = Double(fp[c] ?? 0), n = Double(fn[c] ?? 0)
            return t == 0 ? 0 : 2 * t / (2 * t + p + n)
        }
        /// Macro F1 over the classes seen in targets or predictions.
        var macroF1: Double {
            let classes = Set(tp.keys).union(fp.keys).union(fn.keys)
            var s = 0.0
            for c in classes {
                let t = Double(tp[c] ?? 0), p = Double(fp[c] ?? 0), n = Double(fn[c] ?? 0)
                s += t == 0 ? 0 : 2 * t / (2 * t + p + n)
            }
            return classes.isEmpty ? 0 : s / Double(classes.count)
        }
    }

    /// Adds one batch to the tally; the loss is weighted by the batch's live targets (LMs)
    /// or examples, so the mean does not depend on how the data splits into batches.
    func tallyBatch(_ data: Dataset, rows: [Int], _ tally: inout EvalTally) throws(LatheError) {
        let (x, batchY, m) = try data.batch(rows)
        let (out, y) = try outputs(x, batchY, m)
        let l = try loss(out, y).item()
        let w: Double
        switch task {
        case .languageModel:
            let yy = try y.toInt64Array()
            w = Double(yy.filter { $0 != -100 }.count)
            let pred = try out.maxMin(dim: 1, isMin: false).1.toInt64Array()
            for (p, t) in zip(pred, yy) where t != -100 { tally.counted += 1; if p == t { tally.correct += 1 } }
        case .classification:
            w = Double(rows.count)
            let pred = try out.maxMin(dim: 1, isMin: false).1.toInt64Array()
            for (p, t) in zip(pred, try y.toInt64Array()) {
                tally.counted += 1
                if p == t {
                    tally.correct += 1
                    tally.tp[Int(t), default: 0] += 1
                } else {
                    tally.fp[Int(p), default: 0] += 1
                    tally.fn[Int(t), default: 0] += 1
                }
            }
        case .regression:
            w = Double(rows.count)
        }
        if l.isFinite { tally.totalLoss += l * w; tally.totalWeight += w }
    }

    /// The configured metric of a finished tally (a custom metric calls its function instead).
    func metricValue(_ tally: EvalTally) throws(LatheError) -> Double {
        switch config.metric {
        case "loss": return tally.meanLoss
        case "perplexity": return Foundation.exp(tally.meanLoss)
        case "accuracy": return tally.accuracy
        case "f1": return tally.macroF1
        case "f1_binary": return tally.f1(of: config.posLabel)
        default:
            guard let f = config.customMetric else {
                throw LatheError("unknown metric '\(config.metric)' (expected loss, accuracy, f1, perplexity or a function)")
            }
            do { return try f(model) } catch let e as LatheError { throw e } catch { throw LatheError("metric function failed: \(error)") }
        }
    }

    var higherIsBetter: Bool {
        if let es = config.earlyStopping, es.mode != "auto" { return es.mode == "max" }
        switch config.metric {
        case "loss", "perplexity": return false
        case "accuracy", "f1", "f1_binary": return true
        default: return config.customMetricMode == "max"
        }
    }

    // MARK: - gradual unfreezing

    /// Top layer groups first: at epoch e, the head plus the last e+1 numbered layers train.
    static func layerIndex(_ name: String) -> Int? {
        let parts = name.split(separator: ".")
        for (i, p) in parts.enumerated() where (p == "layers" || p == "layer" || p == "h") && i + 1 < parts.count {
            return Int(parts[i + 1])
        }
        return nil
    }

    static func applyGradualUnfreeze(_ model: Module, epoch: Int) {
        let params = model.namedParameters()
        let layers = Set(params.compactMap { layerIndex($0.0) })
        let top = layers.max() ?? -1
        for (name, t) in params {
            if let li = layerIndex(name) {
                t.requiresGrad = li > top - (epoch + 1)
            } else if name.contains("embed") {
                t.requiresGrad = epoch + 1 > top + 1   // embeddings last
            } else {
                t.requiresGrad = true   // heads and final norms
            }
        }
    }
}
