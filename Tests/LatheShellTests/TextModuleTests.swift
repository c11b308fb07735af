import CLua
import Foundation
import LatheCore
import LatheLua
import Testing

/// The `text` module's tensor outputs, checked on the Swift side (the Lua `tensor` module
/// is not needed): shapes, dtypes and values of encode_batch's ids, mask and labels.
@Suite struct TextModuleTests {
    /// Runs `code` (which returns values) and hands the results on the stack to `body`.
    func run(_ code: String, _ body: (LuaVM, Int32) throws -> Void) throws {
        let vm = try LuaVM(stdlib: nil)
        let L = vm.L
        let base = lua_gettop(L)
        let (ok, err) = vm.load(code, chunkname: "=test")
        #expect(ok, "\(err ?? "")")
        switch vm.call(nargs: 0, base: base) {
        case .success: try body(vm, base)
        case .failure(let e): Issue.record("\(e.message)")
        }
        lua_settop(L, base)
    }

    static let setup = """
        local tok = text.word_vocab({"the cat sat on the mat", "a dog"}, {specials = {"<pad>", "<unk>", "<eos>"}})
        """

    @Test func encodeBatchGivesInt64IdsAndMask() throws {
        try run(Self.setup + "\nlocal ids, mask = tok:encode_batch({'the cat', 'a dog sat on the mat', ''})\nreturn ids, mask") { vm, base in
            let ids = try #require(vm.object(at: base + 1, Tensor.self))
            let mask = try #require(vm.object(at: base + 2, Tensor.self))
            #expect(ids.dtype == .int64 && mask.dtype == .int64)
            #expect(ids.shape == [3, 6])
            #expect(mask.shape == [3, 6])
            let flat = try ids.toInt64Array()
            let m = try mask.toInt64Array()
            // row 1: "the cat" then padding (<pad> = 0)
            #expect(Array(m[0..<6]) == [1, 1, 0, 0, 0, 0])
            #expect(Array(m[6..<12]) == [1, 1, 1, 1, 1, 1])
            #expect(Array(m[12..<18]) == [0, 0, 0, 0, 0, 0])
            #expect(Array(flat[2..<6]) == [0, 0, 0, 0])
            #expect(Array(flat[12..<18]) == [0, 0, 0, 0, 0, 0])
        }
    }

    @Test func maxLengthPaddingAndLeftSide() throws {
        try run(Self.setup + "\nreturn tok:encode_batch({'the cat', 'a dog sat on the mat'}, {max_length = 4, padding = 'max_length', padding_side = 'left', pad_id = 2})") { vm, base in
            let ids = try #require(vm.object(at: base + 1, Tensor.self))
            let mask = try #require(vm.object(at: base + 2, Tensor.self))
            #expect(ids.shape == [2, 4])
            let flat = try ids.toInt64Array()
            #expect(flat[0] == 2 && flat[1] == 2)
            #expect(try mask.toInt64Array() == [0, 0, 1, 1, 1, 1, 1, 1])
        }
    }

    @Test func labelsMaskThePromptAndPadding() throws {
        let code = Self.setup + """

            local prompt, answer = "the cat sat", " on the mat"
            local ids, mask, labels = tok:encode_batch({prompt .. answer, "a dog"}, {response_starts = {#prompt, 1}})
            return ids, mask, labels
            """
        try run(code) { vm, base in
            let ids = try #require(vm.object(at: base + 1, Tensor.self)).toInt64Array()
            let labels = try #require(vm.object(at: base + 3, Tensor.self))
            #expect(labels.shape == [2, 6])
            let l = try labels.toInt64Array()
            #expect(Array(l[0..<3]) == [-100, -100, -100])
            #expect(Array(l[3..<6]) == Array(ids[3..<6]))
            // "a dog" with the response from byte 1: "a" is prompt, "dog" response, padding ignored
            #expect(Array(l[6..<12]) == [-100, ids[7], -100, -100, -100, -100])
        }
    }

    @Test func decodeAcceptsTensors() throws {
        let vm = try LuaVM(stdlib: nil)
        let L = vm.L
        vm.pushObject(Tensor(int64s: [3, 4], shape: [2]))
        lua_setglobal(L, "ROW")
        vm.pushObject(Tensor(floats: [1, 2], shape: [2]))
        lua_setglobal(L, "FLOATS")
        let base = lua_gettop(L)
        let code = Self.setup + """

            local row = tok:decode(ROW)
            local ok, err = pcall(tok.decode, tok, FLOATS)
            local ids = tok:encode_batch({'the cat', 'a dog'})
            return tok:decode_batch(ids)[2], row, err
            """
        #expect(vm.load(code, chunkname: "=test").ok)
        if case .failure(let e) = vm.call(nargs: 0, base: base) { Issue.record("\(e.message)"); return }
        #expect(vm.string(at: base + 1) == "a dog")
        #expect(vm.string(at: base + 2) == "the a")
        #expect(vm.string(at: base + 3)?.contains("Tokenizer:decode: bad argument #1 'ids' (expected an int64 tensor, got a float32 tensor)") == true)
    }
}
