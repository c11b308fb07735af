import Foundation
import LatheCore
import Testing

/// The run store on real SQLite files.
struct TrackStoreTests {
    func tempStore() throws -> (TrackStore, String) {
        let dir = NSTemporaryDirectory() + "lathe-track-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try TrackStore(path: dir + "/runs.db"), dir)
    }

    @Test func runsRoundTripThroughAReopenedStore() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = try store.startRun(name: "a", experiment: "exp", params: [("lr", "0.1")], tags: [("t", "x")])
        try store.logMetrics(id, [("loss", 2.0, 0, 1.0), ("loss", 1.0, 1, 2.0), ("acc", .nan, 0, 3.0), ("acc", .infinity, 1, 4.0)])
        try store.finish(id)
        let again = try TrackStore(path: dir + "/runs.db")
        let r = try again.run("a")
        #expect(r.status == "FINISHED" && r.experiment == "exp" && r.params == ["lr": "0.1"] && r.tags == ["t": "x"])
        #expect(r.metrics["loss"] == 1.0 && r.metrics["acc"] == .infinity)
        let acc = try again.history(id, "acc")
        #expect(acc.count == 2 && acc[0].value.isNaN && acc[1].value == .infinity)
        #expect(try again.history(id, "loss") == [MetricPoint(step: 0, value: 2, timestamp: 1), MetricPoint(step: 1, value: 1, timestamp: 2)])
        #expect(try again.resolve(String(id.prefix(6))) == id)
    }

    @Test func aParamKeepsItsFirstValue() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = try store.startRun(name: nil, params: [("lr", "0.1")])
        try store.logParams(id, [("lr", "0.1")])
        #expect(throws: LatheError.self) { try store.logParams(id, [("lr", "0.2")]) }
        // the failed write changed nothing
        #expect(try store.run(id).params == ["lr": "0.1"])
    }

    @Test func storesFromOtherProgramsAndNewerLathesAreRefused() throws {
        let (_, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = dir + "/text.db"
        try "not sqlite".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: LatheError.self) { _ = try TrackStore(path: text) }
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "not sqlite")
        let other = try SQLiteDatabase(path: dir + "/other.db")
        try other.query("CREATE TABLE t (x)")
        do {
            _ = try TrackStore(path: dir + "/other.db")
            Issue.record("another program's database was opened")
        } catch {
            #expect(error.message.contains("another program"))
        }
        let newer = try SQLiteDatabase(path: dir + "/runs.db")
        try newer.query("PRAGMA user_version = 7")
        do {
            _ = try TrackStore(path: dir + "/runs.db")
            Issue.record("a newer store was opened")
        } catch {
            #expect(error.message.contains("newer Lathe"))
        }
    }

    @Test func twoConnectionsWritingAtOnceLoseNothing() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let second = try TrackStore(path: dir + "/runs.db")
        let a = try store.startRun(name: "a"), b = try second.startRun(name: "b")
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            let (s, id) = k == 0 ? (store, a) : (second, b)
            for i in 0..<200 {
                do { try s.logMetrics(id, [("x", Double(i), Int64(i), 0)]) } catch { failures.update { $0 += 1 } }
            }
        }
        #expect(failures.value == 0)
        #expect(try store.history(a, "x").count == 200 && store.history(b, "x").count == 200)
    }

    @Test func bufferedPointsReachTheFileWithinAFractionOfASecond() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = try store.startRun(name: "b")
        for i in 0..<2500 { try store.logMetric(id, key: "x", value: Double(i), step: Int64(i), timestamp: 0) }
        // another connection (another process would see the same): the full batches at once,
        // the rest after the timer's flush, without any read of this store
        let other = try SQLiteDatabase(path: dir + "/runs.db")
        let count = { () throws(LatheError) -> Int64 in try other.query("SELECT count(*) FROM metrics").first?.first?.int ?? -1 }
        #expect(try count() >= 2000)
        usleep(600_000)
        #expect(try count() == 2500)
        #expect(try store.history(id, "x").map(\.value) == (0..<2500).map(Double.init))
    }

    @Test func tablesOfRunsAndComparisons() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try store.startRun(name: "a", params: [("lr", "0.1"), ("r", "8")])
        try store.logMetrics(a, [("f1", 0.8, 0, 0)])
        let b = try store.startRun(name: "b", params: [("lr", "auto"), ("r", "8")])
        try store.logMetrics(b, [("f1", 0.9, 0, 0)])
        let t = try TrackTables.runs(try store.runs())
        #expect(t.names.contains("params.lr") && t.names.contains("metrics.f1") && t.rowCount == 2)
        let c = try TrackTables.compare([try store.run("a"), try store.run("b")])
        #expect(c.names == ["field", "kind", "a", "b", "change"])
        #expect(c.rowCount == 4)  // lr (differs), r, status, f1
    }

    @Test func openRunsBeatAndSilentRunsOfOtherMachinesEndKilled() throws {
        let dir = NSTemporaryDirectory() + "lathe-track-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try TrackStore(path: dir + "/runs.db", heartbeat: 0.1)
        let id = try store.startRun(name: "beating")
        let first = try #require(try store.heartbeat(id))
        // the timer beats with no point logged (a long evaluation, a long save)
        var later = first
        for _ in 0..<50 where later == first {
            usleep(100_000)
            later = try #require(try store.heartbeat(id))
        }
        #expect(later > first)
        try store.finish(id)
        let ended = try #require(try store.heartbeat(id))
        usleep(400_000)
        #expect(try store.heartbeat(id) == ended)  // a finished run no longer beats

        // runs of another machine: one silent for 11 minutes, one for 5
        let silent = try store.startRun(name: "silent"), recent = try store.startRun(name: "recent")
        try store.finish(silent, status: "FINISHED")
        let db = dir + "/runs.db"
        let now = Date().timeIntervalSince1970
        let sql = """
            UPDATE runs SET status = 'RUNNING', end_time = NULL, host = 'another-machine', heartbeat = \(now - 660) WHERE name = 'silent';
            UPDATE runs SET host = 'another-machine', heartbeat = \(now - 300) WHERE name = 'recent';
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [db, sql]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let reopened = try TrackStore(path: db)
        #expect(try reopened.run(silent).status == "KILLED")
        #expect(try reopened.run(recent).status == "RUNNING")
    }
}

final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}
