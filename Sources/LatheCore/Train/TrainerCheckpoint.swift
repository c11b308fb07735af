import CLatheCore
import Foundation

/// Checkpoint folders: checkpoint-STEP/ holds model.safetensors (the weights of the last
/// update), optimizer.safetensors (moments), best.safetensors (early stopping's best weights,
/// when it has some), trainer_state.json (position, random state, history, early stopping)
/// and, written last, the completion marker.
extension Trainer {
    /// The file written last into a checkpoint folder: a folder without it is not a checkpoint.
    static let completeMarker = "checkpoint_complete"

    /// Seconds to sleep before each file of a checkpoint and before it is renamed into place
    /// (LATHE_TEST_CHECKPOINT_PAUSE), so tests can kill a process in the middle of a write.
    static let testPause: Double? = ProcessInfo.processInfo.environment["LATHE_TEST_CHECKPOINT_PAUSE"].flatMap(Double.init)

    static func pauseForTests() {
        if let s = testPause, s > 0 { usleep(useconds_t(s * 1e6)) }
    }

    /// Writes checkpoint-STEP/ into dir atomically: everything goes into a temporary folder
    /// that is renamed into place, and old checkpoints are renamed away before they are
    /// deleted, so a kill at any moment leaves only whole checkpoints under checkpoint-* names.
    func saveCheckpoint(dir: String, run: Run) throws(LatheError) -> String {
        try Folder.create(dir)
        Trainer.removeStaleFolders(in: dir)
        let final = (dir as NSString).appendingPathComponent(String(format: "checkpoint-%06d", run.st.step))
        let tmp = final + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: tmp)
        try Folder.create(tmp)
        try writeCheckpointFiles(into: tmp, run: run)
        Trainer.syncFolder(tmp)
        Trainer.pauseForTests()
        try Trainer.moveIntoPlace(tmp, final)
        Trainer.syncFolder(dir)
        pruneCheckpoints(in: dir)
        return final
    }

    /// The files of a checkpoint, each written and synced before the next; the marker last.
    func writeCheckpointFiles(into folder: String, run: Run) throws(LatheError) {
        var st = run.st
        st.rng = Runtime.rng.state.map { String($0, radix: 16) }
        st.optimizerSteps = optimizer.steps
        st.optimizerStepCount = optimizer.stepCount
        st.hasBestWeights = run.bestWeights != nil
        Trainer.pauseForTests()
        let weights = trainable.map { (name: $0.0, tensor: $0.1) }
        try SafetensorsWriter.write(weights, to: folder + "/model.safetensors", metadata: ["format": "pt", "lathe": "checkpoint"])
        Trainer.pauseForTests()
        let ost = optimizer.stateTensors().sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }
        try SafetensorsWriter.write(ost, to: folder + "/optimizer.safetensors", metadata: ["optimizer": optimizer.kind.rawValue])
        if let best = run.bestWeights {
            Trainer.pauseForTests()
            let named = zip(trainable, best).map { (name: $0.0.0, tensor: $0.1) }
            try SafetensorsWriter.write(named, to: folder + "/best.safetensors",
                                        metadata: ["format": "pt", "lathe": "best", "step": "\(st.tracker.bestStep ?? 0)"])
        }
        Trainer.pauseForTests()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let json = try? enc.encode(st) else { throw LatheError("cannot encode the trainer state") }
        try AtomicFile.write([UInt8](json), to: folder + "/trainer_state.json", overwrite: false)
        Trainer.pauseForTests()
        try AtomicFile.write([UInt8]("step \(st.step)\n".utf8), to: folder + "/" + Trainer.completeMarker, overwrite: false)
    }

    /// Renames the finished temporary folder to its checkpoint name. A checkpoint of the same
    /// step (a run resumed from its last checkpoint writes it again) is swapped out in one step
    /// where the file system can, so that name always holds a whole checkpoint.
    static func moveIntoPlace(_ tmp: String, _ final: String) throws(LatheError) {
        if FileManager.default.fileExists(atPath: final) {
            if lk_rename_exchange(tmp, final) == 0 {
                try? FileManager.default.removeItem(atPath: tmp)
                return
            }
            try retire(final)
        }
        if rename(tmp, final) != 0 {
            throw LatheError("cannot move the checkpoint into \(final): \(String(cString: strerror(errno)))")
        }
    }

    /// Keeps the keep_checkpoints newest whole checkpoints.
    func pruneCheckpoints(in dir: String) {
        let cks = Trainer.checkpointNames(in: dir)
        guard cks.count > config.keepCheckpoints else { return }
        for old in cks.prefix(cks.count - config.keepCheckpoints) {
            try? Trainer.retire((dir as NSString).appendingPathComponent(old))
        }
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

    // MARK: - loading

    /// The checkpoint folder `resume` names: "latest" (or "true") is the newest in
    /// checkpoint_dir; a folder of checkpoints stands for its newest.
    func checkpointFolder(_ spec: String) throws(LatheError) -> String {
        if spec == "latest" || spec == "true" {
            guard let d = config.checkpointDir else { throw LatheError("resume = true needs checkpoint_dir") }
            guard let p = Trainer.latestCheckpoint(in: d) else { throw LatheError("no checkpoint to resume from in \(d)") }
            return p
        }
        if !FileManager.default.fileExists(atPath: spec + "/trainer_state.json"), let p = Trainer.latestCheckpoint(in: spec) {
            return p
        }
        return spec
    }

    /// Puts the checkpoint's weights and optimizer state into the model and optimizer and
    /// returns its state and best weights (in `trainable`'s order), if it has them.
    func loadCheckpoint(_ spec: String, expected: String) throws(LatheError) -> (State, [Tensor]?) {
        let path = try checkpointFolder(spec)
        guard FileManager.default.fileExists(atPath: path + "/" + Trainer.completeMarker) else {
            throw LatheError("\(path) is not a complete checkpoint (no \(Trainer.completeMarker): its writing was interrupted, or it is not a Lathe checkpoint)")
        }
        let st = try Trainer.readState(path + "/trainer_state.json")
        if st.fingerprint != expected {
            throw LatheError("checkpoint \(path) was made by a different model (its parameters' names or shapes differ)")
        }
        let values = try Trainer.readTensors(path + "/model.safetensors")
        _ = try model.loadValues(values, strict: false)
        let missing = trainable.map { $0.0 }.filter { values[$0] == nil }
        if !missing.isEmpty { throw LatheError("checkpoint \(path) lacks weights for \(missing.prefix(3).joined(separator: ", "))") }
        let ostate = try Trainer.readTensors(path + "/optimizer.safetensors")
        try optimizer.loadState(tensors: ostate, steps: st.optimizerSteps, stepCount: st.optimizerStepCount)
        guard st.hasBestWeights else { return (st, nil) }
        return (st, try readBestWeights(path + "/best.safetensors"))
    }

    static func readState(_ statePath: String) throws(LatheError) -> State {
        let bytes = try AtomicFile.read(statePath)
        struct Format: Decodable { var format: Int? }
        guard let f = try? JSONDecoder().decode(Format.self, from: Data(bytes)) else {
            throw LatheError("\(statePath) is not a valid trainer state (corrupted checkpoint?)")
        }
        guard f.format == stateFormat else {
            throw LatheError("\(statePath) was written by another version of Lathe (trainer state format \(f.format.map(String.init) ?? "1"), this version reads \(stateFormat)); start the run again")
        }
        guard let st = try? JSONDecoder().decode(State.self, from: Data(bytes)) else {
            throw LatheError("\(statePath) is not a valid trainer state (corrupted checkpoint?)")
        }
        return st
    }

    static func readTensors(_ path: String) throws(LatheError) -> [String: Tensor] {
        let file = try SafetensorsFile(path: path)
        var values: [String: Tensor] = [:]
        for n in file.names { values[n] = try file.tensor(n) }
        return values
    }

    func readBestWeights(_ path: String) throws(LatheError) -> [Tensor] {
        let values = try Trainer.readTensors(path)
        var best: [Tensor] = []
        for (name, p) in trainable {
            guard let t = values[name], t.shape == p.shape else {
                throw LatheError("\(path) lacks the best weights of \(name) (or has another shape)")
            }
            // a copy: the file may be deleted (pruned) while the run holds these
            best.append(try t.contiguous(copy: true))
        }
        return best
    }
}
