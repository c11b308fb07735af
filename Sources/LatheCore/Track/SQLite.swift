import CTrackLibs
import Foundation

/// A value read from or written to SQLite.
public enum SQLValue: Equatable, Sendable {
    case null
    case int(Int64)
    case real(Double)
    case text(String)

    public var int: Int64? {
        switch self {
        case .int(let i): return i
        case .real(let d): return d.exactInt64
        default: return nil
        }
    }
    public var real: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .real(let d): return d
        default: return nil
        }
    }
    public var text: String? {
        if case .text(let s) = self { return s }
        return nil
    }
}

/// One SQLite connection (SQLite's C API from Debian's libsqlite3-dev). Writes go through
/// `write`, an immediate transaction retried while another process holds the lock, so two
/// Lathe processes logging into one store wait for each other instead of failing.
public final class SQLiteDatabase: @unchecked Sendable {
    let db: OpaquePointer
    public let path: String
    let lock = NSRecursiveLock()

    /// Opens (creating unless `create` is false) the database file at `path`.
    public init(path: String, create: Bool = true, busyTimeoutMs: Int32 = 10_000) throws(LatheError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let handle { sqlite3_close_v2(handle) }
            throw LatheError("cannot open \(path): \(msg)")
        }
        db = handle
        self.path = path
        sqlite3_busy_timeout(db, busyTimeoutMs)
        sqlite3_extended_result_codes(db, 1)
    }

    /// Prepared statements by their SQL, reused (a logged point is one insert, not one parse).
    var statements: [String: OpaquePointer] = [:]

    deinit {
        for s in statements.values { sqlite3_finalize(s) }
        sqlite3_close_v2(db)
    }

    func error(_ rc: Int32, _ what: String) -> LatheError {
        let msg = String(cString: sqlite3_errmsg(db))
        // a write refused for space: ENOSPC (full disk), EDQUOT (quota), EFBIG (file size limit)
        let sys = sqlite3_system_errno(db)
        if rc & 0xff == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT || sys == EFBIG) {
            return LatheError("\(path): the disk is full (\(String(cString: strerror(sys)))); nothing more was written")
        }
        // a write cut short without an error number: no room left at the end of the file
        if rc == SQLITE_IOERR | (3 << 8) && sys == 0 {
            return LatheError("\(path): the disk is full or a file size limit was reached (a write was cut short); nothing more was written")
        }
        switch rc & 0xff {
        case SQLITE_NOTADB: return LatheError("\(path) is not a SQLite database (\(msg))")
        case SQLITE_CORRUPT: return LatheError("\(path) is damaged (\(msg)); the store was not changed")
        case SQLITE_READONLY: return LatheError("\(path) cannot be written (\(msg)): is the file or its folder read-only?")
        case SQLITE_FULL: return LatheError("\(path): the disk is full (\(msg)); nothing was written")
        case SQLITE_CANTOPEN: return LatheError("cannot open \(path) (\(msg)): does its folder exist and allow writing?")
        case SQLITE_IOERR: return LatheError("\(path): input/output error while \(what) (\(msg)\(sys != 0 ? ": " + String(cString: strerror(sys)) : ""), code \(rc))")
        default: return LatheError("\(path): \(what) failed: \(msg)")
        }
    }

    /// Runs SQL with arguments; returns the rows.
    @discardableResult
    public func query(_ sql: String, _ args: [SQLValue] = []) throws(LatheError) -> [[SQLValue]] {
        lock.lock()
        defer { lock.unlock() }
        return try run(sql, args)
    }

    func run(_ sql: String, _ args: [SQLValue]) throws(LatheError) -> [[SQLValue]] {
        var rc: Int32
        let stmt: OpaquePointer
        if let cached = statements[sql] {
            stmt = cached
        } else {
            var s: OpaquePointer?
            rc = sqlite3_prepare_v2(db, sql, -1, &s, nil)
            guard rc == SQLITE_OK, let s else { throw error(rc, "preparing a query") }
            stmt = s
            // PRAGMAs and one-off schema statements are not kept
            if !sql.hasPrefix("PRAGMA") && !sql.hasPrefix("CREATE") { statements[sql] = s }
        }
        let cached = statements[sql] != nil
        defer {
            if cached {
                sqlite3_reset(stmt)
                sqlite3_clear_bindings(stmt)
            } else {
                sqlite3_finalize(stmt)
            }
        }
        for (k, a) in args.enumerated() {
            let i = Int32(k + 1)
            switch a {
            case .null: rc = sqlite3_bind_null(stmt, i)
            case .int(let v): rc = sqlite3_bind_int64(stmt, i, v)
            case .real(let v): rc = v.isNaN ? sqlite3_bind_null(stmt, i) : sqlite3_bind_double(stmt, i, v)
            case .text(let s): rc = sqlite3_bind_text(stmt, i, s, -1, lp_sqlite_transient())
            }
            if rc != SQLITE_OK { throw error(rc, "binding a value") }
        }
        var rows: [[SQLValue]] = []
        while true {
            rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, "running a query") }
            let n = sqlite3_column_count(stmt)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(n))
            for c in 0..<n {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(stmt, c)))
                case SQLITE_TEXT, SQLITE_BLOB:
                    let p = sqlite3_column_text(stmt, c)
                    let len = Int(sqlite3_column_bytes(stmt, c))
                    row.append(.text(p.map { String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self) } ?? ""))
                default: row.append(.null)
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs `body` in one immediate transaction (all or nothing). While another process holds
    /// the write lock past the busy timeout, it tries again, up to `attempts` times.
    public func write<T>(attempts: Int = 6, _ body: () throws(LatheError) -> T) throws(LatheError) -> T {
        lock.lock()
        defer { lock.unlock() }
        var tries = 0
        while true {
            tries += 1
            let rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            if rc & 0xff == SQLITE_BUSY || rc & 0xff == SQLITE_LOCKED {
                if tries < attempts { usleep(useconds_t(50_000 * tries)); continue }
                throw LatheError("\(path) stayed locked by another process for \(tries) attempts; nothing was written")
            }
            if rc != SQLITE_OK { throw error(rc, "starting a transaction") }
            do throws(LatheError) {
                let out = try body()
                let c = sqlite3_exec(db, "COMMIT", nil, nil, nil)
                if c != SQLITE_OK {
                    let e = error(c, "committing")
                    sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                    throw e
                }
                return out
            } catch {
                sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                throw error
            }
        }
    }

    /// The rowid of the last insert.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(db) }
}
