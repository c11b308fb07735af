import CLatheCore
import CTrackLibs
import Foundation

/// A run as the store holds it (MLflow's concepts, one to one).
public struct RunRecord: Sendable {
    public var id: String
    public var name: String
    public var experiment: String
    public var status: String
    public var startTime: Double
    public var endTime: Double?
    public var parent: String?
    public var params: [String: String] = [:]
    /// The last value of each metric (highest step, then latest time).
    public var metrics: [String: Double] = [:]
    public var tags: [String: String] = [:]
    public var artifacts: [ArtifactRecord] = []
}

public struct ArtifactRecord: Sendable, Equatable {
    public var path: String
    public var size: Int64
    public var sha256: String
}

public struct MetricPoint: Sendable, Equatable {
    public var step: Int64
    public var value: Double
    public var timestamp: Double
    public init(step: Int64, value: Double, timestamp: Double) {
        self.step = step
        self.value = value
        self.timestamp = timestamp
    }
    public static func == (a: MetricPoint, b: MetricPoint) -> Bool {
        a.step == b.step && a.timestamp == b.timestamp && (a.value == b.value || a.value.isNaN && b.value.isNaN)
    }
}

/// The run store: one SQLite file (WAL, busy timeout, retried writes) and a folder of artifacts
/// beside it. Runs whose process died are marked KILLED when a store is opened.
public final class TrackStore: @unchecked Sendable {
    public static let statuses = ["RUNNING", "FINISHED", "FAILED", "KILLED"]
    /// 'LATH': marks the file as a Lathe run store (PRAGMA application_id).
    static let applicationID: Int64 = 0x4C41_5448
    /// The schema's steps: `migrations[i]` takes a store from version i to i + 1. A new version
    /// appends a step; a store of any older version is brought up to date when opened
    /// (Tests/fixtures/track holds a store of each version, opened by the tests).
    static let migrations: [[String]] = [schemaV1]
    static var schemaVersion: Int64 { Int64(migrations.count) }

    public let path: String
    let db: SQLiteDatabase
    var lastHeartbeat: [String: Double] = [:]

    /// Opens or creates the store at `path`; `heartbeat` is the seconds between beats of the
    /// runs this process has open.
    public init(path: String, heartbeat: Double = 30) throws(LatheError) {
        self.path = path
        beatInterval = heartbeat
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw LatheError("\(path) is a folder; the run store is a file (e.g. \(path)/lathe-runs.db)")
        }
        db = try SQLiteDatabase(path: path)
        // a store being created by another process at this moment can answer "locked" past
        // the busy timeout (switching to WAL takes the file alone): every step is idempotent
        var attempt = 0
        while true {
            do {
                try migrate()
                break
            } catch {
                let m = error.message
                guard attempt < 40, m.contains("locked") || m.contains("busy") else { throw error }
                attempt += 1
                _ = try? db.query("ROLLBACK")
                usleep(useconds_t(50_000 + 10_000 * attempt))
            }
        }
        try markDeadRuns()
    }

    /// Where the artifacts of a run are copied (a folder beside the database).
    public func artifactDir(_ run: String) -> String {
        let base = (path as NSString).deletingPathExtension + "-artifacts"
        return base + "/" + run
    }

    // MARK: schema

    func migrate() throws(LatheError) {
        // one read transaction: another process creating the store meanwhile is seen either
        // not at all or whole (its tables with its application id)
        _ = try db.query("BEGIN")
        let app: Int64, version: Int64, tables: Int64
        do {
            app = try db.query("PRAGMA application_id").first?.first?.int ?? 0
            version = try db.query("PRAGMA user_version").first?.first?.int ?? 0
            tables = try db.query("SELECT count(*) FROM sqlite_master WHERE type = 'table'").first?.first?.int ?? 0
        } catch {
            _ = try? db.query("ROLLBACK")
            throw error
        }
        _ = try db.query("COMMIT")
        if app != TrackStore.applicationID && tables > 0 {
            throw LatheError("\(path) is a SQLite database of another program (not a Lathe run store); give track.open another path")
        }
        if version > TrackStore.schemaVersion {
            throw LatheError("\(path) was written by a newer Lathe (store version \(version), this Lathe reads up to \(TrackStore.schemaVersion))")
        }
        // WAL lets readers run while one process writes; it persists in the file
        _ = try db.query("PRAGMA journal_mode = WAL")
        _ = try db.query("PRAGMA synchronous = NORMAL")
        _ = try db.query("PRAGMA foreign_keys = ON")
        if version == TrackStore.schemaVersion { return }
        try db.write { () throws(LatheError) in
            // re-read inside the lock: another process may have migrated meanwhile
            let v = Int(try db.run("PRAGMA user_version", []).first?.first?.int ?? 0)
            for step in TrackStore.migrations[min(v, TrackStore.migrations.count)...] {
                for sql in step { _ = try db.run(sql, []) }
            }
            _ = try db.run("PRAGMA application_id = \(TrackStore.applicationID)", [])
            _ = try db.run("PRAGMA user_version = \(TrackStore.schemaVersion)", [])
        }
    }

    static let schemaV1 = [
        """
        CREATE TABLE experiments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created REAL NOT NULL)
        """,
        """
        CREATE TABLE runs (id TEXT PRIMARY KEY, experiment_id INTEGER NOT NULL REFERENCES experiments(id),
          name TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
          start_time REAL NOT NULL, end_time REAL, parent_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
          pid INTEGER, host TEXT, heartbeat REAL)
        """,
        "CREATE TABLE params (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
        """
        CREATE TABLE metrics (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL,
          value REAL, is_nan INTEGER NOT NULL DEFAULT 0, step INTEGER NOT NULL, timestamp REAL NOT NULL)
        """,
        "CREATE INDEX metrics_by_run ON metrics (run_id, key, step)",
        "CREATE TABLE tags (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
        """
        CREATE TABLE artifacts (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, path TEXT NOT NULL,
          size INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (run_id, path))
        """,
    ]

    /// A process beats for its RUNNING runs every `beatInterval` seconds (from a background
    /// timer, so long computations beat too); a run of another machine silent for
    /// `deadAfter` seconds is taken as dead. Runs of this machine are judged by their process.
    static let deadAfter = 600.0
    let beatInterval: Double

    /// RUNNING runs of this machine whose process is gone, and runs of other machines whose
    /// heartbeat stopped, become KILLED.
    func markDeadRuns() throws(LatheError) {
        let rows = try db.query("SELECT id, pid, host, heartbeat FROM runs WHERE status = 'RUNNING'")
        if rows.isEmpty { return }
        let me = TrackStore.hostName, now = Date().timeIntervalSince1970
        var dead: [String] = []
        for r in rows {
            guard let id = r[0].text else { continue }
            let pid = r[1].int ?? 0, host = r[2].text ?? "", beat = r[3].real ?? 0
            if host == me {
                if pid > 0 && pid != Int64(getpid()) && !TrackStore.alive(pid_t(clamping: pid)) { dead.append(id) }
            } else if now - beat > TrackStore.deadAfter {
                dead.append(id)
            }
        }
        if dead.isEmpty { return }
        try db.write { () throws(LatheError) in
            for id in dead {
                _ = try db.run("UPDATE runs SET status = 'KILLED', end_time = coalesce(heartbeat, start_time) WHERE id = ? AND status = 'RUNNING'", [.text(id)])
            }
        }
    }

    /// Whether a process of this machine runs: it exists and is not a zombie (a killed process
    /// nobody has reaped yet, common in containers).
    static func alive(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // "pid (comm) S ...": the state follows the last ')'
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    static var hostName: String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count - 1)
        return String(cString: buf)
    }

    // MARK: writing

    func experimentID(_ name: String) throws(LatheError) -> Int64 {
        if let id = try db.run("SELECT id FROM experiments WHERE name = ?", [.text(name)]).first?.first?.int { return id }
        _ = try db.run("INSERT INTO experiments (name, created) VALUES (?, ?)", [.text(name), .real(Date().timeIntervalSince1970)])
        return db.lastInsertRowID
    }

    /// Starts a run; returns its id (32 hex digits, as MLflow's).
    public func startRun(name: String?, experiment: String = "Default", params: [(String, String)] = [], tags: [(String, String)] = [],
                         parent: String? = nil) throws(LatheError) -> String {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let now = Date().timeIntervalSince1970
        try db.write { () throws(LatheError) in
            if let parent, try db.run("SELECT 1 FROM runs WHERE id = ?", [.text(parent)]).isEmpty {
                throw LatheError("parent run \(parent) is not in \(path)")
            }
            let exp = try experimentID(experiment)
            let count = try db.run("SELECT count(*) FROM runs", []).first?.first?.int ?? 0
            let runName = name ?? "run-\(count + 1)"
            _ = try db.run("INSERT INTO runs (id, experiment_id, name, status, start_time, parent_id, pid, host, heartbeat) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?)",
                           [.text(id), .int(exp), .text(runName), .real(now), parent.map { .text($0) } ?? .null, .int(Int64(getpid())),
                            .text(TrackStore.hostName), .real(now)])
            for (k, v) in params { try insertParam(id, k, v) }
            for (k, v) in tags { _ = try db.run("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)", [.text(id), .text(k), .text(v)]) }
        }
        beating(id, true)
        return id
    }

    /// Runs started by this process and not finished: the heartbeat timer's list.
    var running: Set<String> = []
    var beatTimer: DispatchSourceTimer?

    func beating(_ run: String, _ on: Bool) {
        bufferLock.lock()
        defer { bufferLock.unlock() }
        if on { running.insert(run) } else { running.remove(run) }
        if beatTimer == nil && on {
            let t = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
            t.schedule(deadline: .now() + beatInterval, repeating: beatInterval)
            t.setEventHandler { [weak self] in self?.beat() }
            t.resume()
            beatTimer = t
        }
    }

    func beat() {
        bufferLock.lock()
        let ids = Array(running)
        bufferLock.unlock()
        if ids.isEmpty { return }
        let now = Date().timeIntervalSince1970
        try? db.write(attempts: 2) { () throws(LatheError) in
            for id in ids { _ = try db.run("UPDATE runs SET heartbeat = ? WHERE id = ? AND status = 'RUNNING'", [.real(now), .text(id)]) }
        }
    }

    static let maxParamLength = 6000  // MLflow's limit

    func insertParam(_ run: String, _ key: String, _ value: String) throws(LatheError) {
        try TrackStore.checkKey(key, "param")
        if value.utf8.count > TrackStore.maxParamLength {
            throw LatheError("param '\(key)' is \(value.utf8.count) bytes; MLflow keeps at most \(TrackStore.maxParamLength)")
        }
        if let old = try db.run("SELECT value FROM params WHERE run_id = ? AND key = ?", [.text(run), .text(key)]).first?.first?.text {
            if old == value { return }
            throw LatheError("param '\(key)' of run \(run) is already \"\(old)\"; params cannot change (log a metric or a tag instead, or start a new run)")
        }
        _ = try db.run("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)", [.text(run), .text(key), .text(value)])
    }

    static func checkKey(_ key: String, _ what: String) throws(LatheError) {
        if key.isEmpty || key.utf8.count > 250 { throw LatheError("\(what) names must have 1 to 250 bytes, got \(key.utf8.count)") }
    }

    /// As MLflow: a finished run still takes points, params and tags (a test score logged after
    /// training); a deleted one is gone.
    func requireRun(_ run: String) throws(LatheError) {
        if try db.run("SELECT 1 FROM runs WHERE id = ?", [.text(run)]).isEmpty { throw LatheError("run \(run) is not in \(path)") }
    }

    /// Logs params (and tags with them, in the same transaction).
    public func logParams(_ run: String, _ params: [(String, String)], tags: [(String, String)] = []) throws(LatheError) {
        try db.write { () throws(LatheError) in
            try requireRun(run)
            for (k, v) in params { try insertParam(run, k, v) }
            for (k, v) in tags {
                try TrackStore.checkKey(k, "tag")
                _ = try db.run("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)", [.text(run), .text(k), .text(v)])
            }
        }
    }

    /// Logs metric points now, in one transaction (NaN kept as NaN, as MLflow does); updates
    /// the heartbeat.
    public func logMetrics(_ run: String, _ points: [(key: String, value: Double, step: Int64, timestamp: Double)]) throws(LatheError) {
        for p in points { try TrackStore.checkKey(p.key, "metric") }
        try flush()
        try db.write { () throws(LatheError) in
            try requireRun(run)
            try insert(points.map { (run, $0.key, $0.value, $0.step, $0.timestamp) })
        }
    }

    typealias Point = (run: String, key: String, value: Double, step: Int64, timestamp: Double)

    func insert(_ points: [Point]) throws(LatheError) {
        var beat: Set<String> = []
        for p in points {
            _ = try db.run("INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp) VALUES (?, ?, ?, ?, ?, ?)",
                           [.text(p.run), .text(p.key), p.value.isNaN ? .null : .real(p.value), .int(p.value.isNaN ? 1 : 0), .int(p.step), .real(p.timestamp)])
            beat.insert(p.run)
        }
        for r in beat { _ = try db.run("UPDATE runs SET heartbeat = ? WHERE id = ?", [.real(Date().timeIntervalSince1970), .text(r)]) }
    }

    /// Points logged one at a time wait here and are written together: when 1,000 wait, every
    /// 0.2 s (a timer on a background queue), and before anything reads the store or the store
    /// closes. A process killed at any moment loses at most the last 0.2 s of points.
    var buffer: [Point] = []
    let bufferLock = NSLock()
    var timer: DispatchSourceTimer?
    /// Runs known to exist (a point for a deleted run is refused when logged, not when written).
    var known: Set<String> = []

    /// Logs one point through the buffer (see `buffer`).
    public func logMetric(_ run: String, key: String, value: Double, step: Int64, timestamp: Double) throws(LatheError) {
        try TrackStore.checkKey(key, "metric")
        if !known.contains(run) {
            try requireRun(run)
            known.insert(run)
        }
        bufferLock.lock()
        buffer.append((run, key, value, step, timestamp))
        let full = buffer.count >= 1000
        if timer == nil { startTimer() }
        bufferLock.unlock()
        if full { try flush() }
    }

    func startTimer() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        t.schedule(deadline: .now() + 0.2, repeating: 0.2)
        t.setEventHandler { [weak self] in try? self?.flush() }
        t.resume()
        timer = t
    }

    /// Writes the buffered points (a failed write keeps them for the next try).
    public func flush() throws(LatheError) {
        bufferLock.lock()
        let points = buffer
        buffer.removeAll(keepingCapacity: true)
        bufferLock.unlock()
        if points.isEmpty { return }
        do {
            try writePoints(points)
        } catch {
            bufferLock.lock()
            buffer.insert(contentsOf: points, at: 0)
            bufferLock.unlock()
            throw error
        }
    }

    func writePoints(_ points: [Point]) throws(LatheError) {
        try db.write { () throws(LatheError) in
            // points of runs deleted meanwhile (by another process) are dropped with them
            var alive: Set<String> = []
            for r in Set(points.map(\.run)) where !(try db.run("SELECT 1 FROM runs WHERE id = ?", [.text(r)])).isEmpty { alive.insert(r) }
            try insert(points.filter { alive.contains($0.run) })
        }
    }

    deinit {
        timer?.cancel()
        beatTimer?.cancel()
        try? flush()
    }

    public func setTags(_ run: String, _ tags: [(String, String)]) throws(LatheError) {
        try db.write { () throws(LatheError) in
            if try db.run("SELECT 1 FROM runs WHERE id = ?", [.text(run)]).isEmpty { throw LatheError("run \(run) is not in \(path)") }
            for (k, v) in tags {
                try TrackStore.checkKey(k, "tag")
                _ = try db.run("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)", [.text(run), .text(k), .text(v)])
            }
        }
    }

    /// Copies a file into the run's artifact folder (atomically) and records its size and sha256.
    @discardableResult
    public func addArtifact(_ run: String, file: String, as name: String? = nil) throws(LatheError) -> ArtifactRecord {
        try addArtifact(run, data: try RegularFile.read(file), as: name ?? (file as NSString).lastPathComponent)
    }

    /// Keeps bytes (a report's text) as an artifact of a run; see `addArtifact(_:file:as:)`.
    @discardableResult
    public func addArtifact(_ run: String, data src: [UInt8], as rel: String) throws(LatheError) -> ArtifactRecord {
        if rel.isEmpty || rel.hasPrefix("/") || rel.split(separator: "/").contains("..") {
            throw LatheError("artifact name \"\(rel)\" must be a relative path inside the run's folder")
        }
        let dest = artifactDir(run) + "/" + rel
        do {
            try FileManager.default.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
            throw LatheError("cannot create the artifact folder for \(dest): \(error.localizedDescription)")
        }
        try AtomicFile.write(src, to: dest, overwrite: true)
        let rec = ArtifactRecord(path: rel, size: Int64(src.count), sha256: try SHA256Digest.hex(src))
        try db.write { () throws(LatheError) in
            if try db.run("SELECT 1 FROM runs WHERE id = ?", [.text(run)]).isEmpty { throw LatheError("run \(run) is not in \(path)") }
            _ = try db.run("INSERT OR REPLACE INTO artifacts (run_id, path, size, sha256) VALUES (?, ?, ?, ?)",
                           [.text(run), .text(rec.path), .int(rec.size), .text(rec.sha256)])
        }
        return rec
    }

    public func finish(_ run: String, status: String = "FINISHED") throws(LatheError) {
        try flush()
        guard TrackStore.statuses.contains(status), status != "RUNNING" else {
            throw LatheError("a run finishes as FINISHED, FAILED or KILLED, not \(status)")
        }
        beating(run, false)
        try db.write { () throws(LatheError) in
            _ = try db.run("UPDATE runs SET status = ?, end_time = ? WHERE id = ? AND status = 'RUNNING'",
                           [.text(status), .real(Date().timeIntervalSince1970), .text(run)])
        }
    }

    public func rename(_ run: String, to name: String) throws(LatheError) {
        try db.write { () throws(LatheError) in
            _ = try db.run("UPDATE runs SET name = ? WHERE id = ?", [.text(name), .text(run)])
            if try db.run("SELECT changes()", []).first?.first?.int == 0 { throw LatheError("run \(run) is not in \(path)") }
        }
    }

    /// Deletes a run, its params, metrics, tags and artifact files.
    public func delete(_ run: String) throws(LatheError) {
        try flush()
        known.remove(run)
        try db.write { () throws(LatheError) in
            _ = try db.run("DELETE FROM runs WHERE id = ?", [.text(run)])
            if try db.run("SELECT changes()", []).first?.first?.int == 0 { throw LatheError("run \(run) is not in \(path)") }
        }
        try? FileManager.default.removeItem(atPath: artifactDir(run))
    }

    // MARK: reading

    /// A run by id, or by a unique prefix of its id (as git takes commits), or by its name
    /// when one run has it.
    public func resolve(_ ref: String) throws(LatheError) -> String {
        if let id = try db.query("SELECT id FROM runs WHERE id = ?", [.text(ref)]).first?.first?.text { return id }
        let byPrefix = try db.query("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2", [.text(ref.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%")])
        if byPrefix.count == 1, ref.count >= 4, let id = byPrefix[0][0].text { return id }
        let byName = try db.query("SELECT id FROM runs WHERE name = ? ORDER BY start_time DESC", [.text(ref)])
        if byName.count == 1, let id = byName[0][0].text { return id }
        if byName.count > 1 { throw LatheError("\(byName.count) runs are named \"\(ref)\"; give the run's id") }
        throw LatheError("no run \"\(ref)\" in \(path)")
    }

    /// Runs (newest first), optionally of one experiment, with their params, last metrics and tags.
    public func runs(experiment: String? = nil) throws(LatheError) -> [RunRecord] { try records(experiment: experiment, id: nil) }

    /// Runs with their params, last metrics, tags and artifacts: all, one experiment's, or one run.
    func records(experiment: String?, id: String?) throws(LatheError) -> [RunRecord] {
        try flush()
        var sql = "SELECT r.id, r.name, e.name, r.status, r.start_time, r.end_time, r.parent_id FROM runs r JOIN experiments e ON e.id = r.experiment_id"
        var args: [SQLValue] = []
        if let experiment { sql += " WHERE e.name = ?"; args.append(.text(experiment)) }
        if let id { sql += experiment == nil ? " WHERE r.id = ?" : " AND r.id = ?"; args.append(.text(id)) }
        // the per-run tables read only that run's rows when one run is asked for
        let only = id == nil ? "" : " WHERE run_id = ?", onlyArgs: [SQLValue] = id.map { [.text($0)] } ?? []
        sql += " ORDER BY r.start_time DESC, r.rowid DESC"
        var out: [RunRecord] = []
        var index: [String: Int] = [:]
        for r in try db.query(sql, args) {
            let rec = RunRecord(id: r[0].text ?? "", name: r[1].text ?? "", experiment: r[2].text ?? "", status: r[3].text ?? "",
                                startTime: r[4].real ?? 0, endTime: r[5].real, parent: r[6].text)
            index[rec.id] = out.count
            out.append(rec)
        }
        if out.isEmpty { return out }
        for r in try db.query("SELECT run_id, key, value FROM params" + only, onlyArgs) {
            if let i = index[r[0].text ?? ""] { out[i].params[r[1].text ?? ""] = r[2].text ?? "" }
        }
        for r in try db.query("SELECT run_id, key, value FROM tags" + only, onlyArgs) {
            if let i = index[r[0].text ?? ""] { out[i].tags[r[1].text ?? ""] = r[2].text ?? "" }
        }
        // the last point of each metric: highest step, then latest time, then last written
        let last = """
            SELECT m.run_id, m.key, m.value, m.is_nan FROM metrics m WHERE m.rowid = (
              SELECT m2.rowid FROM metrics m2 WHERE m2.run_id = m.run_id AND m2.key = m.key
              ORDER BY m2.step DESC, m2.timestamp DESC, m2.rowid DESC LIMIT 1)
            """ + (id == nil ? "" : " AND m.run_id = ?")
        for r in try db.query(last, onlyArgs) {
            if let i = index[r[0].text ?? ""] { out[i].metrics[r[1].text ?? ""] = r[3].int == 1 ? .nan : (r[2].real ?? .nan) }
        }
        for r in try db.query("SELECT run_id, path, size, sha256 FROM artifacts" + only + " ORDER BY path", onlyArgs) {
            if let i = index[r[0].text ?? ""] { out[i].artifacts.append(ArtifactRecord(path: r[1].text ?? "", size: r[2].int ?? 0, sha256: r[3].text ?? "")) }
        }
        return out
    }

    public func run(_ ref: String) throws(LatheError) -> RunRecord {
        let id = try resolve(ref)
        guard let r = try records(experiment: nil, id: id).first else { throw LatheError("no run \"\(ref)\" in \(path)") }
        return r
    }

    /// Every point of one metric, in step order.
    public func history(_ run: String, _ key: String) throws(LatheError) -> [MetricPoint] {
        try flush()
        return try db.query("SELECT step, value, is_nan, timestamp FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, timestamp, rowid",
                     [.text(run), .text(key)]).map {
            MetricPoint(step: $0[0].int ?? 0, value: $0[2].int == 1 ? .nan : ($0[1].real ?? .nan), timestamp: $0[3].real ?? 0)
        }
    }

    /// The highest step logged for a metric of a run, or nil when it has none.
    public func lastStep(_ run: String, _ key: String) throws(LatheError) -> Int64? {
        try flush()
        return try db.query("SELECT max(step) FROM metrics WHERE run_id = ? AND key = ?", [.text(run), .text(key)]).first?.first?.int
    }

    /// How many metric points a run has.
    public func metricCount(_ run: String) throws(LatheError) -> Int {
        try flush()
        return Int(try db.query("SELECT count(*) FROM metrics WHERE run_id = ?", [.text(run)]).first?.first?.int ?? 0)
    }

    /// A run's metric points in the order they were written, from the `offset`-th on. New
    /// points of a run always come after its older ones, so "the first n points" names the
    /// same points forever (a push remembers how many it sent).
    public func metricPoints(_ run: String, offset: Int, limit: Int) throws(LatheError) -> [(key: String, point: MetricPoint)] {
        try flush()
        return try db.query("SELECT key, step, value, is_nan, timestamp FROM metrics WHERE run_id = ? ORDER BY rowid LIMIT ? OFFSET ?",
                            [.text(run), .int(Int64(limit)), .int(Int64(offset))]).map {
            ($0[0].text ?? "", MetricPoint(step: $0[1].int ?? 0, value: $0[3].int == 1 ? .nan : ($0[2].real ?? .nan), timestamp: $0[4].real ?? 0))
        }
    }

    /// The runs nested under a run, at any depth.
    public func descendants(of run: String) throws(LatheError) -> [String] {
        let rows = try db.query("""
            WITH RECURSIVE d(id) AS (SELECT id FROM runs WHERE parent_id = ? UNION SELECT r.id FROM runs r JOIN d ON r.parent_id = d.id)
            SELECT id FROM d
            """, [.text(run)])
        return rows.compactMap { $0[0].text }
    }

    /// The last heartbeat of a run (seconds since 1970).
    public func heartbeat(_ run: String) throws(LatheError) -> Double? {
        try db.query("SELECT heartbeat FROM runs WHERE id = ?", [.text(run)]).first?.first?.real
    }

    /// Whether a run has an artifact at `path`.
    public func hasArtifact(_ run: String, _ path: String) throws(LatheError) -> Bool {
        !(try db.query("SELECT 1 FROM artifacts WHERE run_id = ? AND path = ?", [.text(run), .text(path)]).isEmpty)
    }

    /// The names of a run's metrics.
    public func metricKeys(_ run: String) throws(LatheError) -> [String] {
        try flush()
        return try db.query("SELECT DISTINCT key FROM metrics WHERE run_id = ? ORDER BY key", [.text(run)]).compactMap { $0[0].text }
    }
}

/// SHA-256 through OpenSSL's libcrypto (Debian's libssl3), loaded on first use.
public enum SHA256Digest {
    public static func hex(_ bytes: [UInt8]) throws(LatheError) -> String {
        var out = [UInt8](repeating: 0, count: 32)
        let rc = bytes.withUnsafeBytes { b in lk_sha256(b.baseAddress, b.count, &out) }
        if rc != 0 { throw LatheError("SHA-256 needs OpenSSL's libcrypto.so.3 (Debian: libssl3), which could not be loaded") }
        return out.map { String(format: "%02x", $0) }.joined()
    }
}
