import CLatheCore
import CLua
import CLuaShim
import Foundation
import LatheCore

/// train.fit's own run: started before training, filled and finished after it.
enum FitTracking {
    /// The run of this fit, or nil when tracking is off or the call says track = false.
    static func start(_ c: LuaCall, _ o: DeclaredOptions, model: Module, train: Dataset, val: Dataset?, config: FitConfig,
                      totalUpdates: Int) throws -> RunObject? {
        let s = TrackFunctions.state(c)
        var name: String? = nil
        switch try o.push("track") {
        case LUA_TBOOLEAN where lua_toboolean(c.L, -1) == 0: lp_pop(c.L, 1); return nil
        case LUA_TSTRING: name = c.string(-1)
        default: break
        }
        lp_pop(c.L, 1)
        guard s.path != nil else { return nil }
        let store = try s.open()
        var params = try givenOptions(c, o)
        let given = Set(params.map(\.0))
        let resolved: [(String, String)] = [
            ("epochs", String(config.epochs)), ("batch_size", String(config.batchSize)), ("lr", fmt(config.lr)),
            ("optimizer", config.optimizer.rawValue), ("grad_accum", String(config.gradAccum)), ("precision", config.precision.rawValue),
            ("metric", config.metric), ("total_updates", String(totalUpdates)), ("seed", config.seed.map { String(Int64(bitPattern: $0)) } ?? String(Runtime.seed)),
        ]
        params += resolved.filter { !given.contains($0.0) }
        params += ModelFacts.of(model)
        params += [("data.train_rows", String(train.count)), ("data.train_sha256", fingerprint(train))]
        if let val { params += [("data.val_rows", String(val.count)), ("data.val_sha256", fingerprint(val))] }
        let tags: [(String, String)] = [("lathe.version", LatheInfo.version), ("lathe.source", "train.fit")]
            + Gemm.report().map { ("lathe.kernel.\($0.op)", $0.kernel) }
        let id = try store.startRun(name: name, experiment: "Default", params: params, tags: tags, parent: s.active?.id)
        let run = RunObject(store: store, id: id)
        run.cpuStart = lk_cpu_seconds()
        return run
    }

    /// The options the call gave, as text (the data and the model are described separately).
    static func givenOptions(_ c: LuaCall, _ o: DeclaredOptions) throws -> [(String, String)] {
        guard o.index != 0 else { return [] }
        var out: [(String, String)] = []
        try c.reserve()
        lua_pushnil(c.L)
        while lua_next(c.L, o.index) != 0 {
            defer { lp_pop(c.L, 1) }
            guard let k = c.string(-2), !["model", "train", "val", "track"].contains(k) else { continue }
            out.append((k, describe(c, -1, depth: 0)))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// A compact text for an option's value: scalars as written, tables as {a, b} or {k = v}.
    static func describe(_ c: LuaCall, _ idx: Int32, depth: Int) -> String {
        let L = c.L
        switch lua_type(L, idx) {
        case LUA_TSTRING, LUA_TNUMBER, LUA_TBOOLEAN: return (try? TrackFunctions.text(c, idx, "value")) ?? "?"
        case LUA_TTABLE where depth < 3 && lua_checkstack(L, 4) != 0:
            let abs = lua_absindex(L, idx)
            var parts: [String] = []
            let n = lua_rawlen(L, abs)
            if n > 0 {
                for i in 1...n {
                    lua_rawgeti(L, abs, lua_Integer(i))
                    parts.append(describe(c, -1, depth: depth + 1))
                    lp_pop(L, 1)
                }
            } else {
                lua_pushnil(L)
                while lua_next(L, abs) != 0 {
                    if let k = c.string(-2) { parts.append("\(k) = \(describe(c, -1, depth: depth + 1))") }
                    lp_pop(L, 1)
                }
                parts.sort()
            }
            return "{" + parts.joined(separator: ", ") + "}"
        case LUA_TFUNCTION: return "function"
        default:
            var len = 0
            guard let p = lp_safe_tolstring(L, idx, &len) else { lp_pop(L, 1); return c.typeName(idx) }
            defer { lp_pop(L, 1) }
            return String(String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self).split(separator: "\n").first ?? "")
        }
    }

    /// Logs each update's loss, lr and throughput as it happens (through the store's buffer: a
    /// killed fit keeps its curve up to its last 0.2 s).
    static func live(_ run: RunObject) -> (FitProgress) -> Void {
        { p in
            let now = Date().timeIntervalSince1970, step = Int64(p.step)
            try? run.store.logMetric(run.id, key: "loss", value: p.loss, step: step, timestamp: now)
            try? run.store.logMetric(run.id, key: "lr", value: p.lr, step: step, timestamp: now)
            try? run.store.logMetric(run.id, key: p.unit == "tokens" ? "tokens_per_sec" : "examples_per_sec", value: p.unitsPerSecond, step: step, timestamp: now)
        }
    }

    /// SHA-256 of a dataset's tensors (inputs, targets, mask), as its fingerprint.
    static func fingerprint(_ d: Dataset) -> String {
        var digests: [UInt8] = []
        for t in [d.inputs, d.targets] + (d.mask.map { [$0] } ?? []) {
            let size = t.dtype == .float32 ? 4 : t.dtype == .int64 ? 8 : 1
            var out = [UInt8](repeating: 0, count: 32)
            let p = t.storage.raw.advanced(by: t.offset * size)
            if lk_sha256(p, t.count * size, &out) != 0 { return "unavailable (no libcrypto)" }
            digests += out
        }
        var out = [UInt8](repeating: 0, count: 32)
        _ = digests.withUnsafeBytes { lk_sha256($0.baseAddress, $0.count, &out) }
        return out.map { String(format: "%02x", $0) }.joined()
    }

    /// Checkpoints up to this size are copied into the run (artifacts checkpoint/...); larger
    /// ones stay where train.fit wrote them, named by the run's `checkpoint` tag.
    static let checkpointCopyLimit: Int64 = 256 << 20

    /// Copies the last checkpoint folder into the run; returns why it was not copied, if so.
    static func keepCheckpoint(_ st: TrackStore, _ run: String, _ dir: String) throws(LatheError) -> String? {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: dir) else { return nil }
        var files: [(String, Int64)] = []
        while let rel = walker.nextObject() as? String {
            let path = dir + "/" + rel
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let size = (try? fm.attributesOfItem(atPath: path)[.size] as? Int64) ?? nil
            files.append((rel, size ?? 0))
        }
        let total = files.reduce(0) { $0 + $1.1 }
        if total > checkpointCopyLimit {
            return "not copied (\(total >> 20) MiB, more than \(checkpointCopyLimit >> 20) MiB): it stays at \(dir)"
        }
        for (rel, _) in files.sorted(by: { $0.0 < $1.0 }) { try st.addArtifact(run, file: dir + "/" + rel, as: "checkpoint/" + rel) }
        return nil
    }

    /// Logs the history and the run's end: per update loss and lr, per evaluation val_loss and the
    /// metric, the totals; the session so far as session.lua; the status (FINISHED, KILLED on
    /// Ctrl-C, FAILED with the error as a tag).
    static func finish(_ c: LuaCall, _ run: RunObject, _ h: FitHistory?, error: Error?) {
        let st = run.store
        do {
            if let h {
                let now = Date().timeIntervalSince1970
                var pts: [(key: String, value: Double, step: Int64, timestamp: Double)] = []
                pts.reserveCapacity(2 * h.loss.count + 2 * h.evals.count + 8)
                // loss, lr and throughput per update were logged as they happened (`live`)
                for e in h.evals {
                    pts.append(("val_loss", e.valLoss, Int64(e.step), now))
                    if h.metricName != "loss" { pts.append(("val_" + h.metricName, e.metric, Int64(e.step), now)) }
                }
                let last = Int64(h.steps)
                pts.append(("seconds", h.seconds, last, now))
                if let cpu = run.cpuStart { pts.append(("cpu_seconds", lk_cpu_seconds() - cpu, last, now)) }
                pts.append(("peak_rss_bytes", Double(lk_peak_rss_bytes()), last, now))
                if let b = h.bestMetric { pts.append(("best_" + h.metricName, b, last, now)) }
                if let b = h.bestStep { pts.append(("best_step", Double(b), last, now)) }
                try st.logMetrics(run.id, pts)
                var tags = [("stopped_early", h.stoppedEarly ? "true" : "false")]
                if let p = h.prunedAt { tags.append(("pruned_at_step", String(p))) }
                if let ck = h.checkpoint {
                    tags.append(("checkpoint", ck))
                    if let note = try keepCheckpoint(st, run.id, ck) { tags.append(("checkpoint_artifact", note)) }
                }
                try st.setTags(run.id, tags)
            }
            if let text = c.vm.sessionText?() {
                let tmp = NSTemporaryDirectory() + "lathe-session-\(run.id).lua"
                try AtomicFile.write(text, to: tmp, overwrite: true)
                defer { try? FileManager.default.removeItem(atPath: tmp) }
                try st.addArtifact(run.id, file: tmp, as: "session.lua")
            }
            if let error {
                try st.setTags(run.id, [("error", String(describing: (error as? LuaError)?.message ?? (error as? LatheError)?.message ?? "\(error)").prefix(5000).description)])
            }
            try st.finish(run.id, status: error != nil ? "FAILED" : (h?.interrupted == true ? "KILLED" : "FINISHED"))
        } catch {
            Output.warning("train.fit", "the run could not be recorded in \(st.path): \(error.message)")
            try? st.finish(run.id, status: "FAILED")
        }
    }
}
