import CLua
import CLuaShim
import Foundation
import LatheCore

/// The `Run` class: log to a run, read it back.
enum RunMethods {
    static func install(_ vm: LuaVM) {
        vm.defineClass(RunObject.self, name: "Run", summary: "One run of the store: params, metrics, tags, artifacts. Fields read the store each time.") { b in
            b.add([log, param, tag, artifact, finish, history])
            func rec(_ c: LuaCall) throws -> RunRecord {
                let r = try c.selfObject(RunObject.self)
                return try r.store.run(r.id)
            }
            b.getter("id") { c in try c.ret(.string(try c.selfObject(RunObject.self).id)) }
            b.getter("name") { c in try c.ret(.string(try rec(c).name)) }
            b.getter("experiment") { c in try c.ret(.string(try rec(c).experiment)) }
            b.getter("status") { c in try c.ret(.string(try rec(c).status)) }
            b.getter("start_time") { c in try c.ret(.number(try rec(c).startTime)) }
            b.getter("end_time") { c in try c.ret(try rec(c).endTime.map { .number($0) } ?? .nil) }
            b.getter("parent") { c in try c.ret(try rec(c).parent.map { .string($0) } ?? .nil) }
            b.getter("params") { c in try c.ret(.record(try rec(c).params.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
            b.getter("metrics") { c in try c.ret(.record(try rec(c).metrics.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })) }
            b.getter("tags") { c in try c.ret(.record(try rec(c).tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
            b.getter("artifacts") { c in
                try c.ret(.array(try rec(c).artifacts.map { .record([("path", .string($0.path)), ("size", .int(Int($0.size))), ("sha256", .string($0.sha256))]) }))
            }
            b.getter("artifact_dir") { c in
                let r = try c.selfObject(RunObject.self)
                return try c.ret(.string(r.store.artifactDir(r.id)))
            }
            b.meta("__tostring") { c in
                let r = try rec(c)
                var s = "Run \(r.name) (\(r.id.prefix(8)), \(r.experiment), \(r.status))"
                if !r.params.isEmpty { s += "\n  params:  " + r.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") }
                if !r.metrics.isEmpty { s += "\n  metrics: " + r.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(fmt($0.value))" }.joined(separator: ", ") }
                if !r.tags.isEmpty { s += "\n  tags:    " + r.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") }
                return try c.ret(.string(s))
            }
            b.meta("__eq") { c in
                try c.ret(.bool(c.object(1, RunObject.self)?.id == c.object(2, RunObject.self)?.id))
            }
        }
    }

    static let example = "local p = os.tmpname()\nos.remove(p)\ntrack.open(p)\nlocal run = track.start{name = \"demo\"}\n"
    static let exampleEnd = "\nrun:finish()\ntrack.off()\nos.remove(p)"

    static let log = LuaFunc(
        "log", "Logs metric points: run:log{f1 = 0.9, loss = 0.3} or run:log(\"f1\", 0.9).",
        params: [LuaParam("metrics", .either([.string, .table]), "a metric name, or {name = value, ...}"),
                 LuaParam("value", .value, optional: true, "the value, with a name (NaN is kept as NaN)")],
        options: [LuaOpt("step", .integer(), .computed("the metric's next step (0, 1, 2, ...)"), "the step the points belong to")],
        returns: "the run",
        details: "As in MLflow, a finished run still takes points (a test score logged after training).",
        errors: "a deleted run; a value that is not a number.",
        example: example + "run:log{loss = 0.5}\nrun:log{loss = 0.25}\nrun:log(\"f1\", 0.75, {step = 10})\nprint(#run:history(\"loss\").values, run.metrics.f1)  --> 2  0.75" + exampleEnd
    ) { c in
        let r = try c.selfObject(RunObject.self)
        let o = try c.opts()
        var pts: [(String, Double)] = []
        if c.type(2) == LUA_TSTRING {
            guard c.type(3) == LUA_TNUMBER else { throw c.argError(3, "value", expected: "number") }
            pts = [(c.string(2) ?? "", lua_tonumberx(c.L, 3, nil))]
        } else {
            lua_pushnil(c.L)
            while lua_next(c.L, 2) != 0 {
                defer { lp_pop(c.L, 1) }
                guard lua_type(c.L, -2) == LUA_TSTRING, let k = c.string(-2) else { throw c.argError(2, "metrics", "keys must be metric names (strings), got \(c.describe(-2))") }
                guard lua_type(c.L, -1) == LUA_TNUMBER else { throw c.argError(2, "metrics", "metric '\(k)' is \(c.describe(-1)); expected a number") }
                pts.append((k, lua_tonumberx(c.L, -1, nil)))
            }
            pts.sort { $0.0 < $1.0 }
        }
        let given = try o.intIfGiven("step").map { Int64($0) }
        let now = Date().timeIntervalSince1970
        for (k, v) in pts {
            // the metric's next step: also for a Run fetched again (track.get) or in another session
            if given == nil && r.nextStep[k] == nil { r.nextStep[k] = try r.store.lastStep(r.id, k).map { $0 + 1 } ?? 0 }
            let step = given ?? r.nextStep[k, default: 0]
            try r.store.logMetric(r.id, key: k, value: v, step: step, timestamp: now)
            r.nextStep[k] = max(r.nextStep[k, default: 0], step + 1)
        }
        lua_pushvalue(c.L, 1)
        return 1
    }

    static let param = LuaFunc(
        "param", "Logs params: run:param{lr = 0.01} or run:param(\"lr\", 0.01). A param keeps its first value.",
        params: [LuaParam("params", .either([.string, .table]), "a name, or {name = value, ...}"),
                 LuaParam("value", .any, optional: true, "the value, with a name (string, number or boolean)")],
        returns: "the run",
        errors: "a param already logged with another value (as MLflow: log a metric or a tag instead); a deleted run.",
        example: example + "run:param{lr = 0.01, method = \"lora\"}\nprint(run.params.lr, run.params.method)  --> 0.01  lora" + exampleEnd
    ) { c in
        let r = try c.selfObject(RunObject.self)
        let kv: [(String, String)] = c.type(2) == LUA_TSTRING
            ? [(c.string(2) ?? "", try TrackFunctions.text(c, 3, "value"))]
            : try TrackFunctions.keyedTexts(c, 2, "params")
        try r.store.logParams(r.id, kv)
        lua_pushvalue(c.L, 1)
        return 1
    }

    static let tag = LuaFunc(
        "tag", "Sets tags: run:tag{stage = \"draft\"} or run:tag(\"stage\", \"draft\"). Tags may change.",
        params: [LuaParam("tags", .either([.string, .table]), "a name, or {name = value, ...}"),
                 LuaParam("value", .any, optional: true, "the value, with a name")],
        returns: "the run",
        example: example + "run:tag(\"stage\", \"draft\")\nrun:tag{stage = \"final\"}\nprint(run.tags.stage)  --> final" + exampleEnd
    ) { c in
        let r = try c.selfObject(RunObject.self)
        let kv: [(String, String)] = c.type(2) == LUA_TSTRING
            ? [(c.string(2) ?? "", try TrackFunctions.text(c, 3, "value"))]
            : try TrackFunctions.keyedTexts(c, 2, "tags")
        try r.store.setTags(r.id, kv)
        lua_pushvalue(c.L, 1)
        return 1
    }

    static let artifact = LuaFunc(
        "artifact", "Copies a file into the run's folder beside the store and records its size and SHA-256.",
        params: [LuaParam("path", .string, "the file")],
        options: [LuaOpt("name", .string, .computed("the file's name"), "its path inside the run's folder (e.g. \"reports/eval.md\")")],
        returns: "{path, size, sha256}",
        errors: "a missing or unreadable file; a name outside the run's folder.",
        example: example + "local f = os.tmpname()\nio.open(f, \"w\"):write(\"hello\"):close()\nlocal a = run:artifact(f, {name = \"note.txt\"})\nprint(a.path, a.size, a.sha256:sub(1, 8))  --> note.txt  5  2cf24dba\nos.remove(f)\nos.execute(\"rm -rf \" .. run.artifact_dir)" + exampleEnd
    ) { c in
        let r = try c.selfObject(RunObject.self)
        let a = try r.store.addArtifact(r.id, file: try c.checkString(2, "path"), as: try c.opts().stringIfGiven("name"))
        try c.pushRecord([("path", .string(a.path)), ("size", .int(Int(a.size))), ("sha256", .string(a.sha256))], name: "Artifact")
        return 1
    }

    static let finish = LuaFunc(
        "finish", "Ends the run (FINISHED unless another status is given); it is no longer the active run.",
        options: [LuaOpt("status", .choice(["FINISHED", "FAILED", "KILLED"]), .string("FINISHED"), "how it ended")],
        returns: "the run",
        example: example + "run:finish{status = \"FAILED\"}\nprint(run.status)  --> FAILED\ntrack.off()\nos.remove(p)"
    ) { c in
        let r = try c.selfObject(RunObject.self)
        try r.store.finish(r.id, status: try c.opts().string("status"))
        let s = TrackFunctions.state(c)
        if s.active?.id == r.id { s.active = nil }
        TrackFunctions.endMirror(s, run: r.id)
        lua_pushvalue(c.L, 1)
        return 1
    }

    static let history = LuaFunc(
        "history", "Every point of one metric, in step order.",
        params: [LuaParam("metric", .string, "the metric's name")],
        options: [LuaOpt("tensor", .boolean, .bool(false), "values as a 1-D float32 tensor instead of an array")],
        returns: "{steps, values, timestamps} (arrays; values a Tensor with tensor = true)",
        example: example + "for i = 1, 3 do run:log{loss = 1 / i} end\nlocal h = run:history(\"loss\")\nprint(h.steps[3], h.values[3])  --> 2  0.33333333333333" + exampleEnd
    ) { c in
        let r = try c.selfObject(RunObject.self)
        let pts = try r.store.history(r.id, try c.checkString(2, "metric"))
        let asTensor = try c.opts().bool("tensor")
        let values: LuaValue = .numbers(pts.map(\.value))
        try c.push(.record([("steps", .ints(pts.map { Int($0.step) })), ("timestamps", .numbers(pts.map(\.timestamp)))]))
        if asTensor {
            c.push(Tensor(floats: pts.map { Float($0.value) }, shape: [pts.count]))
        } else {
            try c.push(values)
        }
        lua_setfield(c.L, -2, "values")
        return 1
    }
}
