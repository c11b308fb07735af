import CLatheCore
import Foundation

extension Trainer {
    /// Everything a checkpoint must hold to continue a run exactly, besides the tensors
    /// (weights, optimizer moments, the best weights), which go into safetensors files.
    struct State: Codable {
        /// 2: early stopping's progress as `tracker`, best weights in best.safetensors.
        var format = Trainer.stateFormat
        var step = 0           // updates done; also the schedule's position
        var epoch = 0
        var batchInEpoch = 0   // micro-batches done in the current epoch
        var rng: [String] = []  // Runtime.rng, hex: JSON numbers cannot hold every UInt64 exactly
        var loss: [Double] = []
        var lr: [Double] = []
        var evals: [[Double]] = []  // [step, epoch, valLoss, metric]
        var tracker = EarlyStopping()
        /// Whether best.safetensors (early stopping's copy of the best weights) is in the folder.
        var hasBestWeights = false
        var seed: UInt64 = 0   // the epoch shuffles derive from (seed, epoch)
        var fingerprint = ""
        var optimizerSteps: [String: Int] = [:]
        var optimizerStepCount = 0
        var unitsSeen = 0
    }

    static let stateFormat = 2

    /// What one call of `fit` carries between its parts: the checkpointed state and what
    /// only this process needs (timing, the note shown in the progress bar).
    struct Run {
        var st: State
        /// Early stopping's copy of the best evaluated weights, in `trainable`'s order.
        var bestWeights: [Tensor]?
        let total: Int
        let started: Double
        var unitsThisRun = 0
        var evalNote: String? = nil
        let history: FitHistory
    }

    func fingerprint() -> String {
        var h: UInt64 = 1469598103934665603
        for (n, t) in trainable {
            for b in (n + t.shapeString).utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        }
        return String(h, radix: 16)
    }

    /// Early stopping's tracker with its direction resolved; without early stopping one that
    /// only records the best evaluation.
    func makeTracker() -> EarlyStopping {
        var t = config.earlyStopping ?? EarlyStopping.trackingOnly(higherIsBetter: higherIsBetter)
        t.mode = higherIsBetter ? "max" : "min"
        return t
    }

    public func fit() throws(LatheError) -> FitHistory {
        var run = try startRun()
        let wasTraining = model.training
        model.setTraining(true)
        let oldPrecision = Runtime.autocast
        Runtime.autocast = config.precision
        defer {
            model.setTraining(wasTraining)
            Runtime.autocast = oldPrecision
        }
        try trainLoop(&run)
        return try finish(&run)
    }

    /// A fresh run seeded from the config, or the state of the checkpoint to resume from
    /// (weights, optimizer and the random generator are restored by the way).
    func startRun() throws(LatheError) -> Run {
        let history = FitHistory()
        history.metricName = config.metric
        history.unit = task == .languageModel || (train.inputs.dtype == .int64 && train.inputs.rank >= 2) ? "tokens" : "examples"
        var st = State()
        st.seed = config.seed ?? Runtime.seed
        Runtime.seed(st.seed)
        st.fingerprint = fingerprint()
        st.tracker = makeTracker()
        var best: [Tensor]? = nil
        if let r = config.resume {
            (st, best) = try loadCheckpoint(r, expected: st.fingerprint)
            let words = st.rng.compactMap { UInt64($0, radix: 16) }
            if words.count != st.rng.count || !Runtime.rng.restore(words) { throw LatheError("checkpoint has a malformed random-generator state") }
            st.tracker = makeTracker().continuing(st.tracker)
            log?("resumed from step \(st.step) (epoch \(st.epoch + 1), batch \(st.batchInEpoch))")
        }
        return Run(st: st, bestWeights: config.earlyStopping == nil ? nil : best, total: totalUpdates,
                   started: monotonicSeconds(), history: history)
    }

    /// The micro-batches of an epoch: its order depends only on (seed, epoch), so resuming
    /// replays it exactly.
    func epochBatches(_ epoch: Int, seed: UInt64) -> [[Int]] {
        var order = Array(0..<train.count)
        if config.shuffle {
            var erng = RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E3779B97F4A7C15)
            erng.shuffle(&order)
        }
        return stride(from: 0, to: order.count, by: config.batchSize).map { Array(order[$0..<min($0 + config.batchSize, order.count)]) }
    }

    /// Epochs of updates until the last update, early stopping or Ctrl-C.
    func trainLoop(_ run: inout Run) throws(LatheError) {
        while run.st.epoch < max(config.epochs, 1) && run.st.step < run.total && !run.st.tracker.shouldStop {
            if config.gradualUnfreeze { Trainer.applyGradualUnfreeze(model, epoch: run.st.epoch) }
            let batches = epochBatches(run.st.epoch, seed: run.st.seed)
            while run.st.batchInEpoch < batches.count && run.st.step < run.total {
                let from = run.st.batchInEpoch
                let (loss, lr) = try trainStep(Array(batches[from..<min(from + config.gradAccum, batches.count)]), &run)
                try evaluateAndTrack(&run, epochEnd: run.st.batchInEpoch >= batches.count)
                reportProgress(run, loss: loss, lr: lr)
                if run.history.prunedAt != nil { return }
                if run.st.tracker.shouldStop {
                    log?("early stopping at step \(run.st.step): no improvement in \(run.st.tracker.patience) evaluations; restoring the best weights (step \(run.st.tracker.bestStep ?? 0))")
                    return
                }
                if Interrupt.pending {
                    Interrupt.clear()
                    run.history.interrupted = true
                    return
                }
                try checkpointIfDue(run)
            }
            if run.st.batchInEpoch >= batches.count {
                run.st.epoch += 1
                run.st.batchInEpoch = 0
            }
        }
    }

    /// One update: the gradients of a group of grad_accum micro-batches, clipping, and the
    /// optimizer step. A non-finite loss or gradient norm throws before the weights change.
    func trainStep(_ group: [[Int]], _ run: inout Run) throws(LatheError) -> (loss: Double, lr: Double) {
        optimizer.zeroGrad()
        var stepLoss = 0.0
        let groupExamples = group.reduce(0) { $0 + $1.count }
        for rows in group {
            // each micro-batch weighs by its share of the examples in this update
            stepLoss += try accumulateGradients(rows, weight: Double(rows.count) / Double(groupExamples), &run)
        }
        let lr = config.schedule?.lr(at: run.st.step) ?? config.lr
        optimizer.lr = Float(lr)
        let norm: Double
        if let clip = config.clip {
            norm = try Optimizer.clipGradNorm(trainable, maxNorm: clip)
        } else {
            norm = try Optimizer.gradNorm(trainable)
        }
        if !norm.isFinite {
            throw LatheError("gradients became \(norm.isNaN ? "nan" : "inf") at step \(run.st.step + 1) (epoch \(run.st.epoch + 1)); the update was skipped and the weights from the last good step are kept. Try a lower lr or clip = 1.0")
        }
        try optimizer.step()
        run.st.step += 1
        run.st.batchInEpoch += group.count
        run.st.loss.append(stepLoss)
        run.st.lr.append(lr)
        return (stepLoss, lr)
    }

    /// Forward and backward over one micro-batch, its loss scaled by `weight`; returns the
    /// weighted loss.
    func accumulateGradients(_ rows: [Int], weight w: Double, _ run: inout Run) throws(LatheError) -> Double {
        let (x, batchY, m) = try train.batch(rows)
        let (out, y) = try outputs(x, batchY, m)
        let l = try loss(out, y)
        let lv = try l.item()
        if !lv.isFinite {
            throw LatheError("the loss became \(lv.isNaN ? "nan" : (lv > 0 ? "inf" : "-inf")) at step \(run.st.step + 1) (epoch \(run.st.epoch + 1)); training stopped and the weights from the last good step are kept. Try a lower lr or clip = 1.0")
        }
        try l.mulScalar(w).backward()
        run.unitsThisRun += units(x)
        run.st.unitsSeen += units(x)
        return lv * w
    }

    /// Evaluates when due (every eval_every updates, else at each epoch's end, and after the
    /// last update), records it, and lets the tracker observe the metric; an improvement
    /// under early stopping copies the weights so they can be put back.
    func evaluateAndTrack(_ run: inout Run, epochEnd: Bool) throws(LatheError) {
        let due = config.evalEvery.map { run.st.step % $0 == 0 } ?? epochEnd
        guard due || run.st.step == run.total, let val else { return }
        let (vl, metric) = try evaluate(val)
        run.st.evals.append([Double(run.st.step), Double(run.st.epoch + 1), vl, metric])
        if run.st.tracker.observe(metric, step: run.st.step) == .improved && config.earlyStopping != nil {
            run.bestWeights = try Autograd.noGrad { () throws(LatheError) in
                var copies: [Tensor] = []
                for (_, p) in trainable { copies.append(try p.contiguous(copy: true)) }
                return copies
            }
        }
        let note = String(format: "val_loss %.4f %@ %.4f", vl, config.metric, metric)
        run.evalNote = note
        log?("step \(run.st.step): " + note)
        if let hook = onEvaluation, try hook(run.st.step, metric) {
            run.history.prunedAt = run.st.step
            log?("step \(run.st.step): pruned by the search")
        }
    }

    func reportProgress(_ run: Run, loss: Double, lr: Double) {
        let elapsed = monotonicSeconds() - run.started
        let rate = elapsed > 0 ? Double(run.unitsThisRun) / elapsed : 0
        progress?(FitProgress(epoch: run.st.epoch + 1, epochs: config.epochs, step: run.st.step, totalSteps: run.total, loss: loss,
                              lr: lr, unitsPerSecond: rate, unit: run.history.unit, evalNote: run.evalNote))
    }

    /// The periodic checkpoint (checkpoint_every). The last update's is left to `finish`, which
    /// writes one at the same step.
    func checkpointIfDue(_ run: Run) throws(LatheError) {
        guard let every = config.checkpointEvery, let dir = config.checkpointDir,
              run.st.step % every == 0, run.st.step < run.total else { return }
        _ = try saveCheckpoint(dir: dir, run: run)
    }

    /// The end of a run: the final checkpoint (the last update's weights and optimizer state,
    /// with the best weights beside them, so resuming from it continues the same run), then
    /// early stopping's best weights put back, then the history.
    func finish(_ run: inout Run) throws(LatheError) -> FitHistory {
        let history = run.history
        history.stoppedEarly = config.earlyStopping != nil && run.st.tracker.shouldStop
        if let dir = config.checkpointDir ?? (history.interrupted ? Trainer.defaultInterruptDir() : nil) {
            // a failed save (a full disk) must not throw away the run: the model holds the
            // trained weights and the history is returned with the reason
            do { history.checkpoint = try saveCheckpoint(dir: dir, run: run) } catch {
                history.checkpointError = error.message
            }
        }
        if let es = config.earlyStopping, es.restoreBest, !history.interrupted, let best = run.bestWeights,
           let bestStep = run.st.tracker.bestStep, bestStep != run.st.step {
            try Autograd.noGrad { () throws(LatheError) in
                for ((_, p), b) in zip(trainable, best) { try p.assign(b) }
            }
            history.restoredStep = bestStep
        }
        fillHistory(history, run)
        return history
    }

    func fillHistory(_ history: FitHistory, _ run: Run) {
        let st = run.st
        history.loss = st.loss
        history.lr = st.lr
        history.evals = st.evals.map { FitHistory.Eval(step: Int($0[0]), epoch: Int($0[1]), valLoss: $0[2], metric: $0[3]) }
        history.bestStep = st.tracker.bestStep
        history.bestMetric = st.tracker.best
        history.steps = st.step
        history.epochs = st.epoch
        history.seconds = monotonicSeconds() - run.started
        history.unitsPerSecond = history.seconds > 0 ? Double(run.unitsThisRun) / history.seconds : 0
    }

    static func defaultInterruptDir() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "lathe-checkpoints/interrupted-" + f.string(from: Date())
    }
}
