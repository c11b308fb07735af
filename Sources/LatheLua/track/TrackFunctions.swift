import CLua
import CLuaShim
import Foundation
import LatheCore

/// One run as Lua holds it: the store and the run's id.
final class RunObject: LuaObject {
    static let luaTag = LuaTag.run
    let store: TrackStore
    let id: String
    /// Steps given to points logged without one: the next step of each metric.
    var nextStep: [String: Int64] = [:]
    /// The process's CPU seconds when train.fit started the run (its cpu_seconds metric).
    var cpuStart: Double?
    init(store: TrackStore, id: String) {
        self.store = store
        self.id = id
    }
}

/// Where runs go in this state: the store (opened on first use), or off.
final class TrackState: LuaObject {
    static let luaTag = LuaTag.trackState
    var path: String?
    var store: TrackStore?
    var active: RunObject?
    /// Runs mirrored live to an MLflow server (track.start{mlflow = ...}), by id.
    var mirrors: [String: MLflowMirror] = [:]
    init(path: String?) { self.path = path }

    func open() throws -> TrackStore {
        guard let path else { throw LuaError("tracking is off (track.open(path) turns it on)") }
        if let store, store.path == path { return store }
        let s = try TrackStore(path: path)
        store = s
        return s
    }
}

/// The `track` module: runs remembered in an embedded SQLite store (lathe-runs.db).
enum TrackFunctions: LuaInstaller {
    static let stateKey = "lathe.track"
    static let defaultPath = "lathe-runs.db"

    static func install(_ vm: LuaVM) {
        // LATHE_TRACKING: another store path, or "off"
        let env = ProcessInfo.processInfo.environment["LATHE_TRACKING"]
        let state = TrackState(path: env == "off" ? nil : (env.flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath))
        LuaCall(L: vm.L).push(state)
        lua_setfield(vm.L, lp_registryindex(), stateKey)
        vm.onClose.append { failed in
            // a run left open by a script finishes with it
            if let run = state.active { try? run.store.finish(run.id, status: failed ? "FAILED" : "FINISHED") }
            state.active = nil
            for id in state.mirrors.keys { endMirror(state, run: id) }
            try? state.store?.flush()
        }
        vm.module("track", summary: "Every run remembered: an embedded SQLite store (lathe-runs.db), compared and searched at the prompt.",
                  details: """
            train.fit records a run by itself (track = false to skip); track.start begins one by hand. Runs have MLflow's
            concepts: an experiment, a name, a status (RUNNING, FINISHED, FAILED, KILLED), params (fixed once logged),
            metrics (many points per name, with steps), tags and artifacts (files copied beside the store with their
            SHA-256). The store is opened on first use; LATHE_TRACKING sets its path (or "off").
            """)
            .add([open, off, path, start, active, runs, get, best, compare, delete, rename, tag, push])
        RunMethods.install(vm)
    }

    static func state(_ c: LuaCall) -> TrackState {
        lua_getfield(c.L, lp_registryindex(), stateKey)
        defer { lp_pop(c.L, 1) }
        return c.object(-1, TrackState.self)!
    }

    static func store(_ c: LuaCall) throws -> TrackStore { try state(c).open() }

    /// Files a function wrote while a run is active (lora.save, hf.save) become artifacts of the
    /// run under `folder/`. A failure to copy is a warning: the save itself succeeded.
    static func attach(_ c: LuaCall, dir: String, files: [String], folder: String) {
        guard let run = state(c).active else { return }
        for f in files {
            let path = f.hasPrefix("/") ? f : dir + "/" + f
            do { try run.store.addArtifact(run.id, file: path, as: folder + "/" + (f as NSString).lastPathComponent) } catch {
                Output.warning(c.name, "\(f) was saved but could not be kept with run \(run.id): \(error.message)")
            }
        }
    }

    /// A report made while a run is active (metrics.report, cost.report) is kept with the run:
    /// its text as the artifact `reports/<name>` (`-2`, `-3`... when the name is taken) and its
    /// headline numbers as metrics at their next step. A failure is a warning.
    static func attachReport(_ c: LuaCall, _ name: String, text: String, metrics: [(String, Double)] = []) {
        guard let run = state(c).active else { return }
        let st = run.store
        do {
            let dot = name.lastIndex(of: ".") ?? name.endIndex
            var path = "reports/" + name, n = 1
            while try st.hasArtifact(run.id, path) {
                n += 1
                path = "reports/" + name[..<dot] + "-\(n)" + name[dot...]
            }
            try st.addArtifact(run.id, data: Array(text.utf8), as: path)
            let now = Date().timeIntervalSince1970
            var pts: [(key: String, value: Double, step: Int64, timestamp: Double)] = []
            for (k, v) in metrics { pts.append((k, v, (try st.lastStep(run.id, k)).map { $0 + 1 } ?? 0, now)) }
            if !pts.isEmpty { try st.logMetrics(run.id, pts) }
        } catch {
            Output.warning(c.name, "the report could not be kept with run \(run.id): \(error.message)")
        }
    }

    static let open = LuaFunc(
        "open", "Sends runs to the store at path (created when missing), from now on in this session.",
        params: [LuaParam("path", .string, "the SQLite file, e.g. \"runs/team.db\"")],
        returns: "string: the path",
        errors: "a path that is a folder, a foreign or damaged database file, a folder that cannot be written.",
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nprint(track.path() == p)  --> true\ntrack.off()\nos.remove(p)"
    ) { c in
        let s = state(c), p = try c.checkString(1, "path")
        let old = (s.path, s.store)
        s.path = p
        s.store = nil
        do { _ = try s.open() } catch { (s.path, s.store) = old; throw error }
        c.push(p)
        return 1
    }

    static let off = LuaFunc(
        "off", "Stops recording runs in this session (train.fit no longer records; track.open turns it back on).",
        example: "track.off()\nprint(track.path())  --> nil"
    ) { c in
        let s = state(c)
        s.path = nil
        s.store = nil
        return 0
    }

    static let path = LuaFunc(
        "path", "The store runs go to, or nil when tracking is off.", returns: "string or nil",
        example: "print(track.path())"
    ) { c in try c.ret(state(c).path.map { .string($0) } ?? .nil) }

    static func pairs(_ c: LuaCall, _ o: DeclaredOptions, _ name: String) throws -> [(String, String)] {
        guard try o.push(name) == LUA_TTABLE else { lp_pop(c.L, 1); return [] }
        defer { lp_pop(c.L, 1) }
        return try keyedTexts(c, -1, name)
    }

    /// A table {key = value} as sorted key/text pairs (numbers in their shortest form).
    static func keyedTexts(_ c: LuaCall, _ idx: Int32, _ what: String) throws -> [(String, String)] {
        let abs = lua_absindex(c.L, idx)
        var out: [(String, String)] = []
        try c.reserve()
        lua_pushnil(c.L)
        while lua_next(c.L, abs) != 0 {
            defer { lp_pop(c.L, 1) }
            guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2) else { throw LuaError("bad \(what) (keys must be strings, got \(c.describe(-2)))") }
            out.append((k, try text(c, -1, "\(what).\(k)")))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// A param or tag value as text: strings as they are, numbers shortest, booleans true/false.
    static func text(_ c: LuaCall, _ idx: Int32, _ what: String) throws -> String {
        switch lua_type(c.L, idx) {
        case LUA_TSTRING: return c.string(idx) ?? ""
        case LUA_TNUMBER:
            if lua_isinteger(c.L, idx) != 0 { return String(lua_tointegerx(c.L, idx, nil)) }
            return fmt(lua_tonumberx(c.L, idx, nil))
        case LUA_TBOOLEAN: return lua_toboolean(c.L, idx) != 0 ? "true" : "false"
        default: throw LuaError("bad \(what) (expected string, number or boolean, got \(c.describe(idx)))")
        }
    }

    static let start = LuaFunc(
        "start", "Starts a run by hand (train.fit starts its own); it is the active run until run:finish().",
        options: [
            LuaOpt("name", .string, .computed("run-N"), "the run's name"),
            LuaOpt("experiment", .string, .string("Default"), "the experiment it belongs to (created when new)"),
            LuaOpt("params", .table, .none, "{key = value}: settings, fixed once logged"),
            LuaOpt("tags", .table, .none, "{key = value}: labels that may change"),
            LuaOpt("parent", .either([.string, .object("Run")]), .computed("the active run, if any"), "the run this one is nested in"),
            LuaOpt("mlflow", .string, .none, "also log live to this MLflow server (\"http://host:port\"): the run and the runs nested in it are pushed every 2 s and when it finishes"),
        ],
        tableCall: true, returns: "Run",
        errors: "tracking off; a store that cannot be written.",
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal run = track.start{name = \"baseline\", params = {lr = 0.01}}\nrun:log{f1 = 0.91}\nrun:finish()\nprint(run.status, run.metrics.f1)  --> FINISHED  0.91\ntrack.off()\nos.remove(p)"
    ) { c in
        let s = state(c)
        let st = try s.open()
        let o = try c.opts()
        var parent: String? = s.active?.id
        if try o.push("parent") != LUA_TNIL {
            if let r = c.object(-1, RunObject.self) { parent = r.id } else { parent = try st.resolve(c.string(-1) ?? "") }
        }
        lp_pop(c.L, 1)
        let id = try st.startRun(name: try o.stringIfGiven("name"), experiment: try o.string("experiment"),
                                 params: try pairs(c, o, "params"), tags: try pairs(c, o, "tags"), parent: parent)
        if let uri = try o.stringIfGiven("mlflow") { try mirror(c, s, run: id, uri: uri) }
        let run = RunObject(store: st, id: id)
        if s.active == nil { s.active = run }
        c.push(run)
        return 1
    }

    static let active = LuaFunc(
        "active", "The run in progress (started by track.start and not finished), or nil.", returns: "Run or nil",
        example: "print(track.active())"
    ) { c in
        if let r = state(c).active { c.push(r) } else { c.pushNil() }
        return 1
    }

    static let runs = LuaFunc(
        "runs", "The runs of the store as a data table: one row per run, params and last metrics as columns.",
        options: [
            LuaOpt("experiment", .string, .none, "only this experiment's runs"),
            LuaOpt("where", .function, .none, "function(row) -> boolean: keep the runs it accepts (row holds the columns)"),
            LuaOpt("order_by", .string, .computed("newest first"), "a column to sort by; \"-name\" or \"name desc\" for descending (e.g. \"-metrics.f1\")"),
            LuaOpt("limit", .integer(0...Int.max), .none, "at most this many rows"),
        ],
        returns: "DataTable: id, name, experiment, status, start, seconds, params.<key>..., metrics.<key>...",
        details: "Columns are named as MLflow's search_runs names them (params.lr, metrics.f1), so the data module's\nfilter, sort and describe work on them.",
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nfor _, lr in ipairs({0.1, 0.01}) do\n  local r = track.start{params = {lr = lr}}\n  r:log{loss = lr * 3}\n  r:finish()\nend\nprint(track.runs{order_by = \"metrics.loss\"})\ntrack.off()\nos.remove(p)"
    ) { c in
        let o = try c.opts()
        var t = try TrackTables.runs(try store(c).runs(experiment: try o.stringIfGiven("experiment")))
        if try o.push("where") == LUA_TFUNCTION {
            let f = lua_gettop(c.L)
            var keep: [Int] = []
            for r in 0..<t.rowCount {
                try c.callLua(f, nresults: 1) {
                    DataLua.pushRow(c, t, r, naIndex: 0)
                    return 1
                }
                if lua_toboolean(c.L, -1) != 0 { keep.append(r) }
                lp_pop(c.L, 1)
            }
            t = t.take(keep)
        }
        lp_pop(c.L, 1)
        if let ob = try o.stringIfGiven("order_by") {
            var key = ob.trimmingCharacters(in: .whitespaces), desc = false
            if key.hasPrefix("-") { key.removeFirst(); desc = true }
            let parts = key.split(separator: " ")
            if parts.count == 2, ["desc", "asc"].contains(parts[1].lowercased()) { key = String(parts[0]); desc = parts[1].lowercased() == "desc" }
            guard t.names.contains(key) else {
                throw LuaError("bad option 'order_by' (no column '\(key)'; the columns are \(t.names.joined(separator: ", ")))")
            }
            t = try t.sorted(by: [key], descending: [desc])
        }
        if let n = try o.intIfGiven("limit"), n < t.rowCount { t = t.take(Array(0..<n)) }
        c.push(t)
        return 1
    }

    static let ref = LuaParam("run", .either([.string, .object("Run")]), "a Run, its id (or the first 4+ characters) or its name")

    static func resolve(_ c: LuaCall, _ i: Int32) throws -> String {
        if let r = c.object(i, RunObject.self) { return r.id }
        return try store(c).resolve(try c.checkString(i, "run"))
    }

    static let get = LuaFunc(
        "get", "A run of the store by id, id prefix or name.", params: [ref], returns: "Run",
        errors: "no such run; a name several runs share.",
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal r = track.start{name = \"first\"}\nr:finish()\nprint(track.get(\"first\").id == r.id)  --> true\ntrack.off()\nos.remove(p)"
    ) { c in
        let st = try store(c)
        c.push(RunObject(store: st, id: try resolve(c, 1)))
        return 1
    }

    static let best = LuaFunc(
        "best", "The run with the best last value of a metric.",
        options: [
            LuaOpt("metric", .string, .none, "the metric (required)"),
            LuaOpt("mode", .choice(["max", "min"]), .computed("min for names with loss, error or perplexity, else max"), "whether higher is better"),
            LuaOpt("experiment", .string, .none, "only this experiment's runs"),
        ],
        tableCall: true, returns: "Run, or nil when no run has the metric",
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nfor i, f1 in ipairs({0.8, 0.9, 0.85}) do\n  local r = track.start{name = \"r\" .. i}\n  r:log{f1 = f1}\n  r:finish()\nend\nprint(track.best{metric = \"f1\"}.name)  --> r2\ntrack.off()\nos.remove(p)"
    ) { c in
        let o = try c.opts()
        guard let metric = try o.stringIfGiven("metric") else { throw LuaError("option 'metric' is required (e.g. track.best{metric = \"f1\"})") }
        let lower = ["loss", "error", "perplexity", "wer", "cer"].contains { metric.lowercased().contains($0) }
        let mode = try o.stringIfGiven("mode") ?? (lower ? "min" : "max")
        let st = try store(c)
        let cands = try st.runs(experiment: try o.stringIfGiven("experiment")).compactMap { r in r.metrics[metric].flatMap { $0.isNaN ? nil : (r.id, $0) } }
        guard let b = (mode == "max" ? cands.max { $0.1 < $1.1 } : cands.min { $0.1 < $1.1 }) else { c.pushNil(); return 1 }
        c.push(RunObject(store: st, id: b.0))
        return 1
    }

    static let compare = LuaFunc(
        "compare", "Runs side by side: params that differ first, then shared params, then last metrics with the change.",
        params: [LuaParam("runs", .any, variadic: true, "Runs, ids or names (two or more), or one array of them")],
        returns: "DataTable: field, kind, a column per run, change (last run minus first, for metrics)",
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal a = track.start{name = \"a\", params = {lr = 0.1, r = 8}}\na:log{f1 = 0.8}\na:finish()\nlocal b = track.start{name = \"b\", params = {lr = 0.01, r = 8}}\nb:log{f1 = 0.9}\nb:finish()\nprint(track.compare(a, b))\ntrack.off()\nos.remove(p)"
    ) { c in
        let st = try store(c)
        var ids: [String] = []
        if c.top == 1, c.type(1) == LUA_TTABLE {
            for k in 1...max(1, c.rawLen(1)) where c.rawLen(1) > 0 {
                lua_rawgeti(c.L, 1, lua_Integer(k))
                defer { lp_pop(c.L, 1) }
                if let r = c.object(-1, RunObject.self) { ids.append(r.id) } else { ids.append(try st.resolve(try c.checkString(-1, "runs[\(k)]"))) }
            }
        } else {
            for i in stride(from: Int32(1), through: c.top, by: 1) { ids.append(try resolve(c, i)) }
        }
        if ids.isEmpty { throw c.argError(1, "runs", expected: "Runs, ids or names") }
        c.push(try TrackTables.compare(try ids.map { id throws(LatheError) in try st.run(id) }))
        return 1
    }

    static let delete = LuaFunc(
        "delete", "Deletes a run: its params, metrics, tags and artifact files.", params: [ref],
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal r = track.start{}\nr:finish()\ntrack.delete(r)\nprint(#track.runs())  --> 0\ntrack.off()\nos.remove(p)"
    ) { c in
        let id = try resolve(c, 1)
        endMirror(state(c), run: id)
        try store(c).delete(id)
        if state(c).active?.id == id { state(c).active = nil }
        return 0
    }

    static let rename = LuaFunc(
        "rename", "Gives a run another name.", params: [ref, LuaParam("name", .string, "the new name")],
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal r = track.start{name = \"tmp\"}\ntrack.rename(r, \"lora r=8\")\nprint(r.name)  --> lora r=8\nr:finish()\ntrack.off()\nos.remove(p)"
    ) { c in
        try store(c).rename(try resolve(c, 1), to: try c.checkString(2, "name"))
        return 0
    }

    static let tag = LuaFunc(
        "tag", "Sets tags of a run (a finished one too).", params: [ref, LuaParam("tags", .table, "{key = value}")],
        example: "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal r = track.start{}\nr:finish()\ntrack.tag(r, {verdict = \"ship it\"})\nprint(r.tags.verdict)  --> ship it\ntrack.off()\nos.remove(p)"
    ) { c in
        try store(c).setTags(try resolve(c, 1), try keyedTexts(c, 2, "tags"))
        return 0
    }
}
