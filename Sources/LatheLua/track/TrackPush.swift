import CLua
import CLuaShim
import Foundation
import LatheCore

/// track.push and the live mirror of track.start{mlflow = ...}: runs sent to an MLflow server.
extension TrackFunctions {
    static let uriOption = LuaOpt("uri", .string, .computed("MLFLOW_TRACKING_URI"), "the MLflow tracking server, e.g. \"http://127.0.0.1:5000\"")

    static func mlflowURI(_ given: String?) throws -> String {
        if let given { return given }
        if let env = ProcessInfo.processInfo.environment["MLFLOW_TRACKING_URI"], !env.isEmpty { return env }
        throw LuaError("option 'uri' is required (the MLflow server, e.g. uri = \"http://127.0.0.1:5000\"), or set MLFLOW_TRACKING_URI")
    }

    static let push = LuaFunc(
        "push", "Sends runs to an MLflow tracking server (MLflow 2.x or 3.x, over its REST API); pushing again sends only what is new.",
        options: [
            uriOption,
            LuaOpt("experiment", .string, .none, "push only this experiment's runs (they keep their experiment's name on the server)"),
            LuaOpt("runs", .any, .computed("every run of the store (or of experiment)"), "a Run, an id or name, an array of them, or a data table from track.runs"),
            LuaOpt("timeout", .number(min: 0, above: true), .number(60), "seconds to wait for each request"),
        ],
        tableCall: true,
        returns: "PushResult {uri, runs = {{id, mlflow_id, name, experiment, experiment_id, created}}, params, metrics, tags, artifacts, notes}",
        details: """
            Experiments are found or created by name; each run becomes one MLflow run carrying the tag lathe.run_id, found
            again on the next push, so pushing twice never duplicates. Params, tags, every metric point (with its step and
            time, NaN kept), the status and end time, and the artifacts (through the server's artifact proxy) are sent;
            runs nested in others are sent with their parents and stay nested (mlflow.parentRunId). A push that fails
            halfway sends the rest next time, exactly once: the run on the server records how many points it holds in the
            same request that adds them. The local store is only read. MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME
            and MLFLOW_TRACKING_PASSWORD authenticate, as with MLflow's own client.
            """,
        errors: "no uri; a server that cannot be reached (the address is named) or answers with an error (its code and message).",
        example: """
            local p = os.tmpname()
            os.remove(p)
            track.open(p)
            track.start{name = "baseline", params = {lr = 0.01}}:finish()
            -- with `mlflow server --port 5000` running:  print(track.push{uri = "http://127.0.0.1:5000"})
            local ok, err = pcall(track.push, {uri = "http://127.0.0.1:9"})
            print(err:match("cannot reach the MLflow server") ~= nil)  --> true
            track.off()
            os.remove(p)
            """
    ) { c in
        let o = try c.opts()
        let uri = try mlflowURI(try o.stringIfGiven("uri"))
        let client = try MLflowClient(uri: uri, timeout: try o.number("timeout"))
        let st = try store(c)
        let experiment = try o.stringIfGiven("experiment")
        var ids: [String]
        if try o.push("runs") == LUA_TNIL {
            ids = try st.runs(experiment: experiment).map(\.id).reversed()  // oldest first
        } else {
            ids = try runIDs(c, lua_gettop(c.L), st)
        }
        lp_pop(c.L, 1)
        if let experiment, try o.has("runs") {
            ids = try ids.filter { id throws(LatheError) in try st.run(id).experiment == experiment }
        }
        let pusher = MLflowPusher(store: st, client: client)
        let bar = ProgressBar("pushing to \(client.uri)", total: ids.count, unit: "runs")
        let s: PushSummary
        do {
            defer { bar.finish() }
            s = try pusher.push(ids) { done, total in
                bar.total = total
                bar.update(done)
            }
        }
        for n in s.notes { Output.warning("track.push", n) }
        let runs: [LuaValue] = s.runs.map {
            .record([("id", .string($0.local)), ("mlflow_id", .string($0.remote)), ("name", .string($0.name)),
                     ("experiment", .string($0.experiment)), ("experiment_id", .string($0.experimentID)), ("created", .bool($0.created))])
        }
        let created = s.runs.filter(\.created).count
        var text = "pushed \(s.runs.count) run\(s.runs.count == 1 ? "" : "s") to \(s.uri) (\(created) new, \(s.runs.count - created) updated): "
        text += "\(s.params) params, \(s.metrics) metric points, \(s.tags) tags, \(s.artifacts) artifacts"
        for r in s.runs { text += "\n  \(r.name)  \(r.local.prefix(8)) -> \(s.uri)/#/experiments/\(r.experimentID)/runs/\(r.remote)" }
        for n in s.notes { text += "\n  note: \(n)" }
        try c.pushRecord([("uri", .string(s.uri)), ("runs", .array(runs)), ("params", .int(s.params)), ("metrics", .int(s.metrics)),
                          ("tags", .int(s.tags)), ("artifacts", .int(s.artifacts)), ("notes", .strings(s.notes))],
                         name: "PushResult", text: text)
        return 1
    }

    /// Runs named by a Run, an id or name, an array of them, or a data table with an `id` column.
    static func runIDs(_ c: LuaCall, _ i: Int32, _ st: TrackStore) throws -> [String] {
        if let r = c.object(i, RunObject.self) { return [r.id] }
        if let t = c.object(i, DataTable.self) {
            guard let col = t.index(of: "id") else { throw LuaError("bad option 'runs' (a data table of runs has an 'id' column, as track.runs gives; this one has \(t.names.joined(separator: ", ")))") }
            return try (0..<t.rowCount).map { r throws in
                guard case .string(let s) = t.cell(r, col) else { throw LuaError("bad option 'runs' (row \(r + 1) has no run id)") }
                return try st.resolve(s)
            }
        }
        switch lua_type(c.L, i) {
        case LUA_TSTRING: return [try st.resolve(c.string(i) ?? "")]
        case LUA_TTABLE:
            var out: [String] = []
            let n = c.rawLen(i)
            if n == 0 { return [] }
            try c.reserve()
            for k in 1...n {
                lua_rawgeti(c.L, i, lua_Integer(k))
                defer { lp_pop(c.L, 1) }
                if let r = c.object(-1, RunObject.self) { out.append(r.id) } else if let s = c.string(-1), lua_type(c.L, -1) == LUA_TSTRING {
                    out.append(try st.resolve(s))
                } else {
                    throw LuaError("bad option 'runs' (item \(k): expected a Run, an id or a name, got \(c.describe(-1)))")
                }
            }
            return out
        default:
            throw LuaError("bad option 'runs' (expected a Run, an id or name, an array of them or a data table of runs, got \(c.describe(i)))")
        }
    }

    /// Starts mirroring a new run to an MLflow server (track.start{mlflow = uri}).
    static func mirror(_ c: LuaCall, _ s: TrackState, run: String, uri: String) throws {
        let m = MLflowMirror(store: try s.open(), run: run, client: try MLflowClient(uri: uri, timeout: 30))
        do {
            try m.start()
        } catch {
            try? s.store?.finish(run, status: "FAILED")
            throw error
        }
        s.mirrors[run] = m
    }

    /// Stops a run's mirror after a last push; a failure is a warning (the run is kept locally).
    static func endMirror(_ s: TrackState, run: String) {
        guard let m = s.mirrors.removeValue(forKey: run) else { return }
        if let e = m.finish() {
            Output.warning("track", "run \(run.prefix(8)) could not be sent to MLflow (\(e)); it is kept here: track.push{uri = \"\(m.uri)\"} sends it later")
        }
    }
}
