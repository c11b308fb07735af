import Foundation

/// A study's trials as the run store keeps them: the study is a run tagged `tune.study`; each
/// trial is a run nested in it, named "trial N", with its parameters as params (as the user
/// sees them), their distributions as tags `tune.dist.<name>`, its state as the tag
/// `tune.state`, its value as the metric `value` and what it reported as the metric
/// `intermediate` (one point per step). Successive halving's rungs are tags `tune.rung.<k>`.
public struct TrialRecord: Sendable {
    public var run: String
    public var frozen: FrozenTrial
    /// The parameters as the user sees them (a categorical's choice, not its index).
    public var params: [String: String]
    public var startTime: Double
    public var endTime: Double?
    public var rungs: [Int: Double]
    public var error: String?
}

extension TrackStore {
    /// The run of the study `name`, created (finished at once: it only holds the trials) when
    /// there is none, in one transaction, so processes opening a new study at once share it.
    public func studyRun(_ name: String, creatingIn experiment: String, tags: [(String, String)]) throws(LatheError) -> String {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let now = Date().timeIntervalSince1970
        return try db.write { () throws(LatheError) in
            if let found = try db.run("""
                SELECT r.id FROM runs r JOIN tags t ON t.run_id = r.id WHERE t.key = 'tune.study' AND t.value = ?
                ORDER BY r.start_time LIMIT 1
                """, [.text(name)]).first?.first?.text { return found }
            let exp = try experimentID(experiment)
            _ = try db.run("INSERT INTO runs (id, experiment_id, name, status, start_time, end_time, pid, host, heartbeat) VALUES (?, ?, ?, 'FINISHED', ?, ?, ?, ?, ?)",
                           [.text(id), .int(exp), .text(name), .real(now), .real(now), .int(Int64(getpid())), .text(TrackStore.hostName), .real(now)])
            for (k, v) in [("tune.study", name)] + tags {
                _ = try db.run("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", [.text(id), .text(k), .text(v)])
            }
            return id
        }
    }

    /// Starts the next trial of a study in one transaction: its number is the count of trials
    /// so far, so processes sharing the study never take the same number.
    public func startTrial(study: String, experiment: String) throws(LatheError) -> (run: String, number: Int) {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let now = Date().timeIntervalSince1970
        let number: Int = try db.write { () throws(LatheError) in
            let n = Int(try db.run("SELECT count(*) FROM runs WHERE parent_id = ?", [.text(study)]).first?.first?.int ?? 0)
            let exp = try experimentID(experiment)
            _ = try db.run("INSERT INTO runs (id, experiment_id, name, status, start_time, parent_id, pid, host, heartbeat) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?)",
                           [.text(id), .int(exp), .text("trial \(n)"), .real(now), .text(study), .int(Int64(getpid())),
                            .text(TrackStore.hostName), .real(now)])
            for (k, v) in [("tune.number", String(n)), ("tune.state", TrialState.running.rawValue)] {
                _ = try db.run("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", [.text(id), .text(k), .text(v)])
            }
            return n
        }
        beating(id, true)
        return (id, number)
    }

    /// The trials' runs of a study and their statuses (a cheap look before loading them).
    public func trialRuns(study: String) throws(LatheError) -> [(id: String, status: String)] {
        try db.query("SELECT id, status FROM runs WHERE parent_id = ?", [.text(study)]).map { ($0[0].text ?? "", $0[1].text ?? "") }
    }

    /// Ends a trial's run in one transaction: its value (a metric), tags, status and end time.
    public func endTrial(_ run: String, value: Double?, tags: [(String, String)], status: String) throws(LatheError) {
        try flush()
        beating(run, false)
        let now = Date().timeIntervalSince1970
        try db.write { () throws(LatheError) in
            try requireRun(run)
            if let value { try insert([(run, "value", value, 0, now)]) }
            for (k, v) in tags {
                _ = try db.run("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)", [.text(run), .text(k), .text(v)])
            }
            _ = try db.run("UPDATE runs SET status = ?, end_time = ? WHERE id = ? AND status = 'RUNNING'", [.text(status), .real(now), .text(run)])
        }
    }

    /// Every trial of a study (or only those whose runs are in `only`), by number.
    public func trials(study: String, only: [String]? = nil) throws(LatheError) -> [TrialRecord] {
        try flush()
        if let only, only.isEmpty { return [] }
        let filter = only.map { " AND r.id IN (" + Array(repeating: "?", count: $0.count).joined(separator: ", ") + ")" } ?? ""
        let args: [SQLValue] = [.text(study)] + (only ?? []).map { .text($0) }
        var out: [TrialRecord] = []
        var index: [String: Int] = [:]
        var status: [String] = []
        for r in try db.query("SELECT r.id, r.status, r.start_time, r.end_time FROM runs r WHERE r.parent_id = ?" + filter + " ORDER BY r.start_time, r.rowid", args) {
            guard let id = r[0].text else { continue }
            index[id] = out.count
            status.append(r[1].text ?? "")
            out.append(TrialRecord(run: id, frozen: FrozenTrial(number: -1, state: .running), params: [:], startTime: r[2].real ?? 0,
                                   endTime: r[3].real, rungs: [:], error: nil))
        }
        if out.isEmpty { return [] }
        let child = " JOIN runs r ON r.id = x.run_id WHERE r.parent_id = ?"
        var tagState: [Int: String] = [:]
        for r in try db.query("SELECT x.run_id, x.key, x.value FROM tags x" + child + filter, args) {
            guard let i = index[r[0].text ?? ""], let k = r[1].text, let v = r[2].text else { continue }
            if k == "tune.number" { out[i].frozen.number = Int(v) ?? -1 }
            else if k == "tune.state" { tagState[i] = v }
            else if k == "error" { out[i].error = v }
            else if k.hasPrefix("tune.dist."), let d = TuneDistribution(encoded: v) { out[i].frozen.distributions[String(k.dropFirst(10))] = d }
            else if k.hasPrefix("tune.rung."), let rung = Int(k.dropFirst(10)), let x = Double(v) { out[i].rungs[rung] = x }
        }
        for r in try db.query("SELECT x.run_id, x.key, x.value FROM params x" + child + filter, args) {
            guard let i = index[r[0].text ?? ""], let k = r[1].text, let v = r[2].text else { continue }
            out[i].params[k] = v
        }
        for r in try db.query("SELECT x.run_id, x.key, x.step, x.value, x.is_nan FROM metrics x" + child + filter + " AND x.key IN ('value', 'intermediate') ORDER BY x.rowid",
                              args) {
            guard let i = index[r[0].text ?? ""] else { continue }
            let v = r[4].int == 1 ? Double.nan : (r[3].real ?? .nan)
            if r[1].text == "value" { out[i].frozen.value = v } else { out[i].frozen.intermediate[Int(r[2].int ?? 0)] = v }
        }
        for i in out.indices {
            // internal values: a categorical's index, numbers as they are
            for (k, d) in out[i].frozen.distributions {
                guard let text = out[i].params[k], let v = d.internalValue(text) else { continue }
                out[i].frozen.params[k] = v
            }
            // a trial whose run ended without a verdict (its process killed) failed
            let tag = tagState[i].flatMap(TrialState.init(rawValue:)) ?? .running
            out[i].frozen.state = tag == .running && status[i] != "RUNNING" ? .fail : tag
        }
        return out.sorted { $0.frozen.number < $1.frozen.number }
    }
}

extension TuneDistribution {
    /// The distribution as one line of text (the tag `tune.dist.<name>`).
    public var encoded: String {
        switch self {
        case let .float(low, high, log, step): return "float|\(low)|\(high)|\(log)|\(step.map { "\($0)" } ?? "")"
        case let .int(low, high, log, step): return "int|\(low)|\(high)|\(log)|\(step)"
        case .categorical(let choices): return "categorical|" + JSONValue.array(choices.map { .string($0) }).compactText
        }
    }

    public init?(encoded s: String) {
        let parts = s.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "float" where parts.count == 5:
            guard let lo = Double(parts[1]), let hi = Double(parts[2]) else { return nil }
            self = .float(low: lo, high: hi, log: parts[3] == "true", step: parts[4].isEmpty ? nil : Double(parts[4]))
        case "int" where parts.count == 5:
            guard let lo = Int(parts[1]), let hi = Int(parts[2]), let st = Int(parts[4]) else { return nil }
            self = .int(low: lo, high: hi, log: parts[3] == "true", step: st)
        case "categorical":
            let text = String(s.dropFirst("categorical|".count))
            guard case .array(let items)? = try? JSONValue.parse(text) else { return nil }
            self = .categorical(items.compactMap(\.string))
        default: return nil
        }
    }

    /// A choice's text as the user sees it: a string as itself, other values as JSON.
    public static func display(_ choice: String) -> String {
        if let v = try? JSONValue.parse(choice), case .string(let s) = v { return s }
        return choice
    }

    /// The internal value of a parameter's text (nil when it does not belong).
    public func internalValue(_ text: String) -> Double? {
        switch self {
        case .float, .int: return Double(text)
        case .categorical(let choices): return choices.firstIndex { TuneDistribution.display($0) == text }.map(Double.init)
        }
    }

    /// The text a user sees for an internal value.
    public func text(_ v: Double) -> String {
        switch self {
        case .float: return "\(v)"
        case .int: return String(Int(v))
        case .categorical(let choices): return TuneDistribution.display(choices[min(max(Int(v), 0), choices.count - 1)])
        }
    }

    /// Checks the bounds; errors name the parameter and say what is wrong.
    public func validate(_ name: String) throws(LatheError) {
        switch self {
        case let .float(low, high, log, step):
            guard low.isFinite && high.isFinite else { throw LatheError("\(name): the range must be finite numbers, got \(low) .. \(high)") }
            guard low <= high else { throw LatheError("\(name): low (\(low)) is above high (\(high))") }
            if log && low <= 0 { throw LatheError("\(name): a log range must be above 0, got low = \(low)") }
            if log && step != nil { throw LatheError("\(name): step and log cannot be used together") }
            if let step, !(step > 0) { throw LatheError("\(name): step must be above 0, got \(step)") }
        case let .int(low, high, log, step):
            guard low <= high else { throw LatheError("\(name): low (\(low)) is above high (\(high))") }
            if log && low < 1 { throw LatheError("\(name): a log range of integers must start at 1 or more, got low = \(low)") }
            if log && step != 1 { throw LatheError("\(name): step and log cannot be used together") }
            if step < 1 { throw LatheError("\(name): step must be 1 or more, got \(step)") }
        case .categorical(let choices):
            if choices.isEmpty { throw LatheError("\(name): a choice needs at least one value") }
        }
    }
}
