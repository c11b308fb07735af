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

public struct EarlyStopping: Sendable {
    public var patience = 3
    public var minDelta = 0.0
    public var mode = "auto"   // "min", "max" or "auto" (from the metric)
    /// Whether the best evaluated weights are put back at the end (also when training ran
    /// all its epochs and the last evaluation was not the best), as Keras' restore_best_weights.
    public var restoreBest = true
    public init() {}
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
    public var metric = "loss"                  // loss, accuracy, f1, perplexity, or custom
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
    public var keepCheckpoints = 2
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
    public var steps = 0
    public var epochs = 0
    public var seconds = 0.0
    public var unitsPerSecond = 0.0
    public var unit = "tokens"
    public var checkpoint: String? = nil
    /// Why the final checkpoint could not be written (nil when it was, or none was asked for).
    public var checkpointError: String? = nil
    public init() {}
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
    let optimizer: Optimizer
    let trainable: [(String, Tensor)]

    public init(model: Module, train: Dataset, val: Dataset?, config: FitConfig) throws(LatheError) {
        guard train.count > 0 else { throw LatheError("the training data is empty") }
        if let val, val.count == 0 { throw LatheError("the validation data is empty") }
        guard config.epochs >= 1 || config.maxSteps != nil else { throw LatheError("epochs must be at least 1, got \(config.epochs)") }
        guard config.batchSize >= 1 else { throw LatheError("batch_size must be at least 1, got \(config.batchSize)") }
        guard config.gradAccum >= 1 else { throw LatheError("grad_accum must be at least 1, got \(config.gradAccum)") }
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
        var totalLoss = 0.0, totalWeight = 0.0
        var correct = 0, counted = 0
        var tp: [Int: Int] = [:], fp: [Int: Int] = [:], fn: [Int: Int] = [:]
        try Autograd.noGrad { () throws(LatheError) in
            var start = 0
            while start < data.count {
                try Interrupt.check()
                let rows = Array(start..<min(start + config.batchSize, data.count))
                let (x, batchY, m) = try data.batch(rows)
                let (out, y) = try outputs(x, batchY, m)
                let l = try loss(out, y).item()
                let w: Double
                switch task {
                case .languageModel:
                    let yy = try y.toInt64Array()
                    w = Double(yy.filter { $0 != -100 }.count)
                    let pred = try out.maxMin(dim: 1, isMin: false).1.toInt64Array()
                    for (p, t) in zip(pred, yy) where t != -100 { counted += 1; if p == t { correct += 1 } }
                case .classification:
                    w = Double(rows.count)
                    let pred = try out.maxMin(dim: 1, isMin: false).1.toInt64Array()
                    for (p, t) in zip(pred, try y.toInt64Array()) {
                        counted += 1
                        if p == t { correct += 1; tp[Int(t), default: 0] += 1 } else { fp[Int(p), default: 0] += 1; fn[Int(t), default: 0] += 1 }
                    }
                case .regression:
                    w = Double(rows.count)
                }
                if l.isFinite { totalLoss += l * w; totalWeight += w }
                start += config.batchSize
            }
        }
        let meanLoss = totalWeight > 0 ? totalLoss / totalWeight : .nan
        let metric: Double
        switch config.metric {
        case "loss": metric = meanLoss
        case "perplexity": metric = Foundation.exp(meanLoss)
        case "accuracy": metric = counted > 0 ? Double(correct) / Double(counted) : .nan
        case "f1":
            // macro F1 over the classes seen in targets or predictions
            let classes = Set(tp.keys).union(fp.keys).union(fn.keys)
            var s = 0.0
            for c in classes {
                let t = Double(tp[c] ?? 0), p = Double(fp[c] ?? 0), n = Double(fn[c] ?? 0)
                s += t == 0 ? 0 : 2 * t / (2 * t + p + n)
            }
            metric = classes.isEmpty ? 0 : s / Double(classes.count)
        default:
            if let f = config.customMetric {
                do { metric = try f(model) } catch let e as LatheError { throw e } catch { throw LatheError("metric function failed: \(error)") }
            } else {
                throw LatheError("unknown metric '\(config.metric)' (expected loss, accuracy, f1, perplexity or a function)")
            }
        }
        return (meanLoss, metric)
    }

    var higherIsBetter: Bool {
        if let es = config.earlyStopping, es.mode != "auto" { return es.mode == "max" }
        switch config.metric {
        case "loss", "perplexity": return false
        case "accuracy", "f1": return true
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

    // MARK: - the loop

    struct State: Codable {
        var step = 0           // updates done
        var epoch = 0
        var batchInEpoch = 0   // micro-batches done in the current epoch
        var rng: [String] = []  // hex: JSON numbers cannot hold every UInt64 exactly
        var loss: [Double] = []
        var lr: [Double] = []
        var evals: [[Double]] = []  // [step, epoch, valLoss, metric]
        var bestStep: Int? = nil
        var bestMetric: Double? = nil
        var badEvals = 0
        var seed: UInt64 = 0
        var fingerprint = ""
        var optimizerSteps: [String: Int] = [:]
        var optimizerStepCount = 0
        var unitsSeen = 0
    }

    func fingerprint() -> String {
        var h: UInt64 = 1469598103934665603
        for (n, t) in trainable {
            for b in (n + t.shapeString).utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        }
        return String(h, radix: 16)
    }

    public func fit() throws(LatheError) -> FitHistory {
        let history = FitHistory()
        history.metricName = config.metric
        history.unit = task == .languageModel || (train.inputs.dtype == .int64 && train.inputs.rank >= 2) ? "tokens" : "examples"
        var st = State()
        let seed = config.seed ?? Runtime.seed
        st.seed = seed
        Runtime.seed(seed)
        st.fingerprint = fingerprint()
        if let r = config.resume {
            st = try loadCheckpoint(r, expected: st.fingerprint)
            let words = st.rng.compactMap { UInt64($0, radix: 16) }
            if words.count != st.rng.count || !Runtime.rng.restore(words) { throw LatheError("checkpoint has a malformed random-generator state") }
            log?("resumed from step \(st.step) (epoch \(st.epoch + 1), batch \(st.batchInEpoch))")
        }
        var bestWeights: [Tensor]? = nil
        let total = totalUpdates
        let start = monotonicSeconds()
        var unitsThisRun = 0
        let wasTraining = model.training
        model.setTraining(true)
        let oldPrecision = Runtime.autocast
        Runtime.autocast = config.precision
        defer {
            model.setTraining(wasTraining)
            Runtime.autocast = oldPrecision
        }
        var lastEvalNote: String? = nil

        func currentLR(_ step: Int) -> Double { config.schedule?.lr(at: step) ?? config.lr }

        outer: while st.epoch < max(config.epochs, 1) && st.step < total {
            if config.gradualUnfreeze { Trainer.applyGradualUnfreeze(model, epoch: st.epoch) }
            // the epoch's order depends only on (seed, epoch): resuming replays it exactly
            var order = Array(0..<train.count)
            if config.shuffle {
                var erng = RandomGenerator(seed: seed &+ UInt64(st.epoch) &* 0x9E3779B97F4A7C15)
                erng.shuffle(&order)
            }
            let batches = stride(from: 0, to: order.count, by: config.batchSize).map { Array(order[$0..<min($0 + config.batchSize, order.count)]) }
            var micro = st.batchInEpoch
            while micro < batches.count && st.step < total {
                // one update: grad_accum micro-batches
                optimizer.zeroGrad()
                var stepLoss = 0.0
                let group = Array(batches[micro..<min(micro + config.gradAccum, batches.count)])
                let groupExamples = group.reduce(0) { $0 + $1.count }
                for rows in group {
                    let (x, batchY, m) = try train.batch(rows)
                    let (out, y) = try outputs(x, batchY, m)
                    let l = try loss(out, y)
                    let lv = try l.item()
                    if !lv.isFinite {
                        throw LatheError("the loss became \(lv.isNaN ? "nan" : (lv > 0 ? "inf" : "-inf")) at step \(st.step + 1) (epoch \(st.epoch + 1)); training stopped and the weights from the last good step are kept. Try a lower lr or clip = 1.0")
                    }
                    // weight each micro-batch by its share of the examples in this update
                    let w = Double(rows.count) / Double(groupExamples)
                    try l.mulScalar(w).backward()
                    stepLoss += lv * w
                    unitsThisRun += units(x)
                    st.unitsSeen += units(x)
                }
                let lr = currentLR(st.step)
                optimizer.lr = Float(lr)
                let norm: Double
                if let clip = config.clip {
                    norm = try Optimizer.clipGradNorm(trainable, maxNorm: clip)
                } else {
                    norm = try Optimizer.gradNorm(trainable)
                }
                if !norm.isFinite {
                    throw LatheError("gradients became \(norm.isNaN ? "nan" : "inf") at step \(st.step + 1) (epoch \(st.epoch + 1)); the update was skipped and the weights from the last good step are kept. Try a lower lr or clip = 1.0")
                }
                try optimizer.step()
                st.step += 1
                micro += group.count
                st.batchInEpoch = micro
                st.loss.append(stepLoss)
                st.lr.append(lr)
                let elapsed = monotonicSeconds() - start
                let rate = elapsed > 0 ? Double(unitsThisRun) / elapsed : 0

                // evaluation
                let epochEnd = micro >= batches.count
                let evalNow: Bool
                if let every = config.evalEvery { evalNow = st.step % every == 0 || st.step == total } else { evalNow = epochEnd || st.step == total }
                if evalNow, let val {
                    let (vl, metric) = try evaluate(val)
                    st.evals.append([Double(st.step), Double(st.epoch + 1), vl, metric])
                    let better: Bool
                    if let best = st.bestMetric {
                        let delta = config.earlyStopping?.minDelta ?? 0
                        better = higherIsBetter ? metric > best + delta : metric < best - delta
                    } else {
                        better = metric.isFinite
                    }
                    if better {
                        st.bestMetric = metric
                        st.bestStep = st.step
                        st.badEvals = 0
                        if config.earlyStopping != nil {
                            bestWeights = try Autograd.noGrad { () throws(LatheError) in
                                var copies: [Tensor] = []
                                for (_, p) in model.namedParameters() { copies.append(try p.contiguous(copy: true)) }
                                return copies
                            }
                        }
                    } else {
                        st.badEvals += 1
                    }
                    lastEvalNote = String(format: "val_loss %.4f %@ %.4f", vl, config.metric, metric)
                    log?("step \(st.step): " + lastEvalNote!)
                }
                progress?(FitProgress(epoch: st.epoch + 1, epochs: config.epochs, step: st.step, totalSteps: total, loss: stepLoss,
                                      lr: lr, unitsPerSecond: rate, unit: history.unit, evalNote: lastEvalNote))
                if let es = config.earlyStopping, st.badEvals >= es.patience {
                    history.stoppedEarly = true
                    log?("early stopping at step \(st.step): no improvement in \(es.patience) evaluations; restoring the best weights (step \(st.bestStep ?? 0))")
                    break outer
                }
                if Interrupt.pending {
                    Interrupt.clear()
                    history.interrupted = true
                    break outer
                }
            }
            if micro >= batches.count {
                st.epoch += 1
                st.batchInEpoch = 0
            }
        }
        st.rng = Runtime.rng.state.map { String($0, radix: 16) }
        st.optimizerSteps = optimizer.steps
        st.optimizerStepCount = optimizer.stepCount
        if let es = config.earlyStopping, es.restoreBest, !history.interrupted, let best = bestWeights,
           let bestStep = st.bestStep, bestStep != st.step {
            try Autograd.noGrad { () throws(LatheError) in
                for ((_, p), b) in zip(model.namedParameters(), best) { try p.assign(b) }
            }
            history.restoredStep = bestStep
        }
        if let dir = config.checkpointDir ?? (history.interrupted ? Trainer.defaultInterruptDir() : nil) {
            // a failed save (a full disk) must not throw away the run: the model holds the
            // trained weights and the history is returned with the reason
            do { history.checkpoint = try saveCheckpoint(dir: dir, state: st) } catch {
                history.checkpointError = error.message
            }
        }
        history.loss = st.loss
        history.lr = st.lr
        history.evals = st.evals.map { FitHistory.Eval(step: Int($0[0]), epoch: Int($0[1]), valLoss: $0[2], metric: $0[3]) }
        history.bestStep = st.bestStep
        history.bestMetric = st.bestMetric
        history.steps = st.step
        history.epochs = st.epoch
        history.seconds = monotonicSeconds() - start
        history.unitsPerSecond = history.seconds > 0 ? Double(unitsThisRun) / history.seconds : 0
        return history
    }

    static func defaultInterruptDir() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "lathe-checkpoints/interrupted-" + f.string(from: Date())
    }

    // MARK: - checkpoints

    /// The file written last into a checkpoint folder: a folder without it is not a checkpoint.
    static let completeMarker = "checkpoint_complete"

    /// Writes checkpoint-STEP/ (trainable weights, optimizer state, trainer_state.json and,
    /// last, the completion marker) into dir atomically: everything goes into a temporary
    /// folder that is renamed into place, and old checkpoints are renamed away before they are
    /// deleted, so a kill at any moment leaves only whole checkpoints under checkpoint-* names.
    func saveCheckpoint(dir: String, state st: State) throws(LatheError) -> String {
        let fm = FileManager.default
        try Folder.create(dir)
        Trainer.removeStaleFolders(in: dir)
        let final = (dir as NSString).appendingPathComponent(String(format: "checkpoint-%06d", st.step))
        let tmp = final + ".tmp-\(getpid())"
        try? fm.removeItem(atPath: tmp)
        try Folder.create(tmp)
        let weights = trainable.filter { $0.1.requiresGrad || config.gradualUnfreeze || true }.map { (name: $0.0, tensor: $0.1) }
        try SafetensorsWriter.write(weights, to: tmp + "/model.safetensors", metadata: ["format": "pt", "lathe": "checkpoint"])
        let ost = optimizer.stateTensors().sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }
        try SafetensorsWriter.write(ost, to: tmp + "/optimizer.safetensors", metadata: ["optimizer": optimizer.kind.rawValue])
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let json = try? enc.encode(st) else { throw LatheError("cannot encode the trainer state") }
        try AtomicFile.write([UInt8](json), to: tmp + "/trainer_state.json", overwrite: false)
        try AtomicFile.write([UInt8]("step \(st.step)\n".utf8), to: tmp + "/" + Trainer.completeMarker, overwrite: false)
        Trainer.syncFolder(tmp)
        if fm.fileExists(atPath: final) { try Trainer.retire(final) }
        if rename(tmp, final) != 0 {
            throw LatheError("cannot move the checkpoint into \(final): \(String(cString: strerror(errno)))")
        }
        Trainer.syncFolder(dir)
        // keep only the newest checkpoints
        let cks = Trainer.checkpointNames(in: dir)
        if cks.count > config.keepCheckpoints {
            for old in cks.prefix(cks.count - config.keepCheckpoints) { try? Trainer.retire((dir as NSString).appendingPathComponent(old)) }
        }
        return final
    }

    /// Renames a checkpoint folder out of the checkpoint-* names, then deletes it: a kill in the
    /// middle leaves a `.deleting` folder that is cleaned up later, never a torn checkpoint.
    static func retire(_ path: String) throws(LatheError) {
        let gone = path + ".deleting-\(getpid())"
        if rename(path, gone) != 0 {
            throw LatheError("cannot remove the old checkpoint \(path): \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(atPath: gone)
    }

    /// Removes what killed runs left: `.deleting-*` folders, and `.tmp-PID` folders whose
    /// process is gone.
    static func removeStaleFolders(in dir: String) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return }
        for n in names where n.hasPrefix("checkpoint-") {
            let stale: Bool
            if n.contains(".deleting-") {
                stale = true
            } else if let r = n.range(of: ".tmp-"), let pid = Int32(n[r.upperBound...]) {
                stale = pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
            } else {
                stale = false
            }
            if stale { try? fm.removeItem(atPath: (dir as NSString).appendingPathComponent(n)) }
        }
    }

    static func syncFolder(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Whole checkpoints in dir (checkpoint-NNNNNN folders holding the completion marker), oldest first.
    static func checkpointNames(in dir: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { n in
            n.hasPrefix("checkpoint-") && n.dropFirst("checkpoint-".count).allSatisfy(\.isNumber)
                && FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(n) + "/" + completeMarker)
        }.sorted()
    }

    /// The newest whole checkpoint folder in dir.
    public static func latestCheckpoint(in dir: String) -> String? {
        guard let last = checkpointNames(in: dir).last else { return nil }
        return (dir as NSString).appendingPathComponent(last)
    }

    func loadCheckpoint(_ spec: String, expected: String) throws(LatheError) -> State {
        var path = spec
        if spec == "latest" || spec == "true" {
            guard let d = config.checkpointDir else { throw LatheError("resume = true needs checkpoint_dir") }
            guard let p = Trainer.latestCheckpoint(in: d) else { throw LatheError("no checkpoint to resume from in \(d)") }
            path = p
        } else if Trainer.latestCheckpoint(in: spec) != nil && !FileManager.default.fileExists(atPath: spec + "/trainer_state.json") {
            path = Trainer.latestCheckpoint(in: spec)!
        }
        guard FileManager.default.fileExists(atPath: path + "/" + Trainer.completeMarker) else {
            throw LatheError("\(path) is not a complete checkpoint (no \(Trainer.completeMarker): its writing was interrupted, or it is not a Lathe checkpoint)")
        }
        let statePath = path + "/trainer_state.json"
        let bytes = try AtomicFile.read(statePath)
        guard let st = try? JSONDecoder().decode(State.self, from: Data(bytes)) else {
            throw LatheError("\(statePath) is not a valid trainer state (corrupted checkpoint?)")
        }
        if st.fingerprint != expected {
            throw LatheError("checkpoint \(path) was made by a different model (its parameters' names or shapes differ)")
        }
        let wfile = try SafetensorsFile(path: path + "/model.safetensors")
        var values: [String: Tensor] = [:]
        for n in wfile.names { values[n] = try wfile.tensor(n) }
        _ = try model.loadValues(values, strict: false)
        let missing = trainable.map { $0.0 }.filter { values[$0] == nil }
        if !missing.isEmpty { throw LatheError("checkpoint \(path) lacks weights for \(missing.prefix(3).joined(separator: ", "))") }
        let ofile = try SafetensorsFile(path: path + "/optimizer.safetensors")
        var ostate: [String: Tensor] = [:]
        for n in ofile.names { ostate[n] = try ofile.tensor(n) }
        try optimizer.loadState(tensors: ostate, steps: st.optimizerSteps, stepCount: st.optimizerStepCount)
        return st
    }
}
