import Foundation
import LatheCore
import Testing

/// The shared guards the fuzz (Tests/lua/test_fuzz.lua) made every reader go through.
@Suite struct SupportTests {
    @Test func checkedConversionsRefuseWhatIntWouldTrapOn() throws {
        #expect(3.0.exactInt == 3)
        #expect(2.5.exactInt == nil)
        #expect(Double.nan.exactInt == nil)
        #expect(Double.infinity.exactInt64 == nil)
        #expect(0x1p63.exactInt64 == nil)
        #expect((-0x1p63).exactInt64 == Int64.min)
        #expect((-2.7).truncatedInt == -2)
        #expect(Double.nan.truncatedInt64 == nil)
        #expect(0x1p63.truncatedInt64 == nil)
        #expect(Float(1e30).truncatedInt64 == nil)
        #expect(Double.infinity.clampedInt() == Int.max)
        #expect((-1e300).clampedInt() == Int.min)
        #expect(Double.nan.clampedInt(nan: 7) == 7)
        #expect(throws: LatheError.self) { try checkedInt(.nan, "n") }
        #expect(try checkedInt64(-5, "n") == -5)
    }

    @Test func parentOfPathsFoundationCrashedOn() {
        #expect(FilePath.parent("a") == "")
        #expect(FilePath.parent("a/") == "")
        #expect(FilePath.parent(".") == "")
        #expect(FilePath.parent("a/b") == "a")
        #expect(FilePath.parent("a//b/") == "a")
        #expect(FilePath.parent("/a") == "/")
        #expect(FilePath.parent("/") == "/")
        #expect(FilePath.parent("") == "")
        #expect(FilePath.parent("/x/y/z.json") == "/x/y")
    }

    @Test func memoryBudgetRefusesWhatCannotFit() throws {
        #expect(throws: LatheError.self) { try MemoryBudget.check(count: -1, of: Double.self, for: "x") }
        #expect(throws: LatheError.self) { try MemoryBudget.check(count: Int.max / 2, of: Double.self, for: "x") }
        #expect(throws: LatheError.self) { try MemoryBudget.check(bytes: Int.max, for: "x") }
        try MemoryBudget.check(count: 1000, of: Double.self, for: "x")
        #expect(MemoryBudget.available() > 0)
    }

    @Test func writersRefuseFIFOsAndNULPaths() throws {
        let dir = NSTemporaryDirectory() + "/lathe-support-\(getpid())"
        try Folder.create(dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let e = (try? AtomicFile.write([1, 2], to: fifo, overwrite: true)).map { "wrote" } ?? "refused"
        #expect(e == "refused")
        var st = stat()
        #expect(stat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "the FIFO is still there")
        #expect(throws: LatheError.self) { try AtomicFile.write([1], to: dir + "/a\0b", overwrite: true) }
        #expect(throws: LatheError.self) { _ = try RegularFile.read(dir + "/a\0b") }
    }
}
