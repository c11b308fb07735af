import Foundation

/// What a push sent.
public struct PushSummary: Sendable {
    public struct Run: Sendable {
        public var local: String
        public var remote: String
        public var name: String
        public var experiment: String
        public var experimentID: String
        public var created: Bool
    }
    public var uri: String
    public var runs: [Run] = []
    public var params = 0
    public var metrics = 0
    public var tags = 0
    public var artifacts = 0
    /// Things not sent, and why (e.g. a server that does not proxy artifacts).
    public var notes: [String] = []
}

/// Sends runs of a store to an MLflow tracking server: experiments by name, one MLflow run per
/// Lathe run (found again by its tag `lathe.run_id`), params, tags, every metric point, the
/// status and the artifacts.
///
/// Pushing again never duplicates: the MLflow run carries `lathe.pushed_metrics`, the number of
/// the run's points it holds, written in the same log-batch request as the points (one
/// transaction on the server), so a push that fails halfway resumes exactly where it stopped.
/// Artifacts are sent again only when their list (paths and sha256) changed, recorded in
/// `lathe.artifacts_sha256`. The local store is only read.
public final class MLflowPusher: @unchecked Sendable {
    public let client: MLflowClient
    let store: TrackStore
    /// The MLflow experiment to push into; nil keeps each run's own experiment name.
    let experimentName: String?
    var experiments: [String: String] = [:]
    var remote: [String: RemoteRun] = [:]
    var interruptible = true

    // MLflow's limits for one log-batch request
    static let maxMetrics = 1000, maxParams = 100, maxTags = 100
    static let metricsTag = "lathe.pushed_metrics", artifactsTag = "lathe.artifacts_sha256", idTag = "lathe.run_id"

    struct RemoteRun {
        var id: String
        var artifactURI: String
        var status: String
        var endTime: Int64?
        var name: String
        var params: [String: String]
        var tags: [String: String]
    }

    public init(store: TrackStore, client: MLflowClient, experiment: String? = nil) {
        self.store = store
        self.client = client
        experimentName = experiment
    }

    /// Pushes runs (ids of `store`), with the runs they are nested under so the nesting shows
    /// on the server. `progress(done, total)` is called after each run.
    /// Ctrl-C stops a push between requests unless `interruptible` is false (a push on a
    /// background queue must not take the interrupt meant for the work in front).
    public func push(_ ids: [String], interruptible: Bool = true, progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> PushSummary {
        self.interruptible = interruptible
        var summary = PushSummary(uri: client.uri)
        var records: [String: RunRecord] = [:]
        var order: [String] = []
        func add(_ id: String) throws(LatheError) {
            if records[id] != nil { return }
            let r = try store.run(id)
            records[id] = r
            if let p = r.parent { try add(p) }
            order.append(id)  // parents before the runs nested under them
        }
        for id in ids { try add(id) }
        for (i, id) in order.enumerated() {
            if interruptible { try Interrupt.check() }
            guard let r = records[id] else { continue }
            try pushRun(r, into: &summary)
            progress?(i + 1, order.count)
        }
        return summary
    }

    func experimentID(_ name: String) throws(LatheError) -> String {
        if let id = experiments[name] { return id }
        for _ in 0..<2 {
            if let found = try client.call("GET", "experiments/get-by-name", query: [("experiment_name", name)],
                                           allowing: ["RESOURCE_DOES_NOT_EXIST"]), let exp = found["experiment"] {
                if exp["lifecycle_stage"]?.string == "deleted" {
                    throw LatheError("the experiment \"\(name)\" is deleted on \(client.uri); restore it there (mlflow experiments restore) or push with experiment = \"another name\"")
                }
                guard let id = exp["experiment_id"]?.string else { break }
                experiments[name] = id
                return id
            }
            // created by another process meanwhile: read it again
            if let made = try client.call("POST", "experiments/create", .object([("name", .string(name))]),
                                          allowing: ["RESOURCE_ALREADY_EXISTS"]), let id = made["experiment_id"]?.string {
                experiments[name] = id
                return id
            }
        }
        throw LatheError("the MLflow server at \(client.uri) gave no id for the experiment \"\(name)\"")
    }

    static func int64(_ v: JSONValue?) -> Int64? {
        switch v {
        case .number(let s)?, .string(let s)?: return Int64(s)
        default: return nil
        }
    }

    static func pairs(_ v: JSONValue?) -> [String: String] {
        guard case .array(let items)? = v else { return [:] }
        var out: [String: String] = [:]
        for item in items { if let k = item["key"]?.string { out[k] = item["value"]?.string ?? "" } }
        return out
    }

    static func remoteRun(_ run: JSONValue) -> RemoteRun? {
        guard let info = run["info"], let id = info["run_id"]?.string else { return nil }
        return RemoteRun(id: id, artifactURI: info["artifact_uri"]?.string ?? "", status: info["status"]?.string ?? "",
                         endTime: int64(info["end_time"]), name: info["run_name"]?.string ?? "",
                         params: pairs(run["data"]?["params"]), tags: pairs(run["data"]?["tags"]))
    }

    static func ms(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

    static func keyValues(_ kv: [(String, String)]) -> JSONValue {
        .array(kv.map { .object([("key", .string($0.0)), ("value", .string($0.1))]) })
    }

    func pushRun(_ r: RunRecord, into summary: inout PushSummary) throws(LatheError) {
        let expName = experimentName ?? r.experiment
        let exp = try experimentID(expName)
        var parentRemote: String?
        if let p = r.parent { parentRemote = remote[p]?.id }
        // the tags the MLflow run should carry
        var wanted = r.tags
        wanted[MLflowPusher.idTag] = r.id
        wanted["mlflow.source.name"] = wanted["mlflow.source.name"] ?? "lathe"
        wanted["mlflow.source.type"] = wanted["mlflow.source.type"] ?? "LOCAL"
        if let parentRemote { wanted["mlflow.parentRunId"] = parentRemote }

        var created = false
        var state: RemoteRun
        if let known = remote[r.id] {
            state = known
        } else if let found = try find(r.id, experiment: exp) {
            state = found
        } else {
            let made = try client.call("POST", "runs/create", .object([
                ("experiment_id", .string(exp)), ("run_name", .string(r.name)),
                ("start_time", .number(String(MLflowPusher.ms(r.startTime)))),
                ("tags", MLflowPusher.keyValues([(MLflowPusher.idTag, r.id)])),
            ]))
            guard let run = made["run"], let s = MLflowPusher.remoteRun(run) else {
                throw LatheError("the MLflow server at \(client.uri) created a run but did not say its id")
            }
            state = s
            created = true
        }
        remote[r.id] = state

        // params (immutable on both sides: only the missing ones) and changed tags
        let params = r.params.filter { state.params[$0.key] == nil }.sorted { $0.key < $1.key }
        let tags = wanted.filter { state.tags[$0.key] != $0.value }.sorted { $0.key < $1.key }
        var pi = 0, ti = 0
        while pi < params.count || ti < tags.count {
            let p = Array(params[pi..<min(params.count, pi + MLflowPusher.maxParams)])
            let t = Array(tags[ti..<min(tags.count, ti + MLflowPusher.maxTags)])
            try logBatch(state.id, params: p.map { ($0.key, $0.value) }, tags: t.map { ($0.key, $0.value) })
            for (k, v) in p { state.params[k] = v }
            for (k, v) in t { state.tags[k] = v }
            pi += p.count
            ti += t.count
            remote[r.id] = state
        }
        summary.params += params.count
        summary.tags += tags.count

        // metric points after those the server holds, 999 a request with the new count
        var sent = Int(state.tags[MLflowPusher.metricsTag] ?? "0") ?? 0
        let total = try store.metricCount(r.id)
        if sent > total {
            summary.notes.append("run \(r.name) has \(sent) points on the server but \(total) here (pushed from another copy of the store?); its points were not sent")
        }
        while sent < total {
            if interruptible { try Interrupt.check() }
            let points = try store.metricPoints(r.id, offset: sent, limit: MLflowPusher.maxMetrics - 1)
            if points.isEmpty { break }
            let metrics: [JSONValue] = points.map { p in
                let v = p.point.value
                let value: JSONValue = v.isFinite ? .number(v) : .string(v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"))
                return .object([("key", .string(p.key)), ("value", value),
                                ("timestamp", .number(String(MLflowPusher.ms(p.point.timestamp)))), ("step", .number(String(p.point.step)))])
            }
            sent += points.count
            try logBatch(state.id, metrics: metrics, tags: [(MLflowPusher.metricsTag, String(sent))])
            state.tags[MLflowPusher.metricsTag] = String(sent)
            remote[r.id] = state
            summary.metrics += points.count
        }

        // artifacts, when their list changed since the last push
        if !r.artifacts.isEmpty {
            let listing = r.artifacts.map { "\($0.path)\t\($0.sha256)\n" }.sorted().joined()
            let digest = try SHA256Digest.hex(Array(listing.utf8))
            if state.tags[MLflowPusher.artifactsTag] != digest {
                if let base = MLflowPusher.proxyPath(state.artifactURI) {
                    for a in r.artifacts {
                        if interruptible { try Interrupt.check() }
                        try client.upload(file: store.artifactDir(r.id) + "/" + a.path, to: base + "/" + a.path)
                        summary.artifacts += 1
                    }
                    try logBatch(state.id, tags: [(MLflowPusher.artifactsTag, digest)])
                    state.tags[MLflowPusher.artifactsTag] = digest
                    remote[r.id] = state
                } else {
                    summary.notes.append("the artifacts of run \(r.name) were not sent: the server keeps them at \(state.artifactURI), which it does not serve (start it with --artifacts-destination, serving artifacts as MLflow does by default)")
                }
            }
        }

        // name, status and end time
        let end = r.endTime.map(MLflowPusher.ms)
        if state.status != r.status || state.endTime != end || state.name != r.name {
            var body: [(String, JSONValue)] = [("run_id", .string(state.id)), ("status", .string(r.status)), ("run_name", .string(r.name))]
            if let end { body.append(("end_time", .number(String(end)))) }
            try client.call("POST", "runs/update", .object(body))
            state.status = r.status
            state.endTime = end
            state.name = r.name
            remote[r.id] = state
        }
        summary.runs.append(.init(local: r.id, remote: state.id, name: r.name, experiment: expName, experimentID: exp, created: created))
    }

    func find(_ id: String, experiment: String) throws(LatheError) -> RemoteRun? {
        let found = try client.call("POST", "runs/search", .object([
            ("experiment_ids", .array([.string(experiment)])),
            ("filter", .string("tags.`\(MLflowPusher.idTag)` = '\(id)'")),
            ("max_results", .number("1")),
        ]))
        guard case .array(let runs)? = found["runs"], let first = runs.first else { return nil }
        return MLflowPusher.remoteRun(first)
    }

    func logBatch(_ run: String, metrics: [JSONValue] = [], params: [(String, String)] = [], tags: [(String, String)] = []) throws(LatheError) {
        var body: [(String, JSONValue)] = [("run_id", .string(run))]
        if !metrics.isEmpty { body.append(("metrics", .array(metrics))) }
        if !params.isEmpty { body.append(("params", MLflowPusher.keyValues(params))) }
        if !tags.isEmpty { body.append(("tags", MLflowPusher.keyValues(tags))) }
        try client.call("POST", "runs/log-batch", .object(body))
    }

    /// The path below the artifact proxy for a run's artifact URI (`mlflow-artifacts:/1/<run>/artifacts`
    /// or `mlflow-artifacts://host:port/...`), or nil when the server does not proxy artifacts.
    static func proxyPath(_ uri: String) -> String? {
        let scheme = "mlflow-artifacts:"
        guard uri.hasPrefix(scheme) else { return nil }
        var rest = Substring(uri.dropFirst(scheme.count))
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            rest = rest[slash...]
        }
        while rest.hasPrefix("/") { rest = rest.dropFirst() }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        return String(rest)
    }
}

/// A run mirrored live to an MLflow server: every couple of seconds, on a queue of its own,
/// what the run (and the runs nested under it) logged since is pushed. A failing server does
/// not stop the work: the run is kept locally and the error is reported when it finishes.
public final class MLflowMirror: @unchecked Sendable {
    let pusher: MLflowPusher
    let store: TrackStore
    public let run: String
    let queue = DispatchQueue(label: "lathe.track.mlflow")
    var timer: DispatchSourceTimer?
    var lastError: String?
    /// The server's address.
    public var uri: String { pusher.client.uri }
    /// The MLflow run's id, once it exists.
    public private(set) var remoteID: String?

    public init(store: TrackStore, run: String, client: MLflowClient) {
        self.store = store
        self.run = run
        pusher = MLflowPusher(store: store, client: client)
    }

    /// Creates the MLflow run now (so a wrong address is an error at once), then pushes every
    /// `every` seconds.
    public func start(every: Double = 2) throws(LatheError) {
        let s = try pusher.push([run], interruptible: false)
        remoteID = s.runs.last?.remote
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + every, repeating: every)
        t.setEventHandler { [weak self] in self?.tick() }
        t.resume()
        timer = t
    }

    func tick() {
        do {
            _ = try pusher.push([run] + store.descendants(of: run), interruptible: false)
            lastError = nil
        } catch {
            lastError = error.message
        }
    }

    /// Stops the timer and pushes what is left; returns why the last push failed, if it did.
    public func finish() -> String? {
        timer?.cancel()
        timer = nil
        return queue.sync {
            tick()
            return lastError
        }
    }
}
