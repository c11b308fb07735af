import CLua
import CLuaShim
import LatheCore

/// tensor.save/load (safetensors) and tensor.save_npy/load_npy.
extension TensorFunctions {
    static let path = LuaParam("path", .string, "the file")
    static let overwrite = LuaOpt("overwrite", .boolean, .bool(false), "replace an existing file")
    static let tmp = "local p = os.tmpname()\nos.remove(p)\n"

    static let save = LuaFunc(
        "save", "Writes named tensors to a safetensors file (the format Hugging Face and PyTorch read).",
        params: [path, LuaParam("tensors", .table, "{name = Tensor, ...}"),
                 LuaParam("metadata", .table, optional: true, "string keys and values (the header's __metadata__)")],
        options: [overwrite, LuaOpt("dtype", .choice(SafetensorsWriter.floatTypes.map(\.name)), .string("float32"), "how float32 tensors are stored")],
        details: """
        The layout is the published one (8-byte header size, JSON header, data), byte for byte what the Python
        safetensors package writes for the same tensors. The write is atomic. Names are saved sorted as
        safetensors orders them; views are written in row-major order. A table of only option names in
        metadata's place is the options.
        """,
        errors: "an existing file without overwrite; a non-Tensor value; a non-string metadata value.",
        example: tmp + "tensor.save(p, {w = tensor.ones(2, 2), ids = tensor.arange(3)}, {note = \"demo\"})\nlocal t, meta = tensor.load(p)\nprint(t.w:shape()[1], meta.note)\nos.remove(p)"
    ) { c in
        let tensors = try stringKeyed(c, 2, "tensors", { c.object(-1, Tensor.self) }) { k in
            k.map { "'\($0)' is \(c.describe(-1)), expected Tensor" } ?? "names must be strings"
        }
        // tensor.save(path, t, {overwrite = true}): a last table of option names only is the options
        let keys = c.type(3) == LUA_TTABLE && c.isNoneOrNil(4) ? c.keys(3) : []
        let asOptions = !keys.isEmpty && keys.allSatisfy { k in c.decl?.options.contains { $0.name == k } ?? false }
        let meta = c.type(3) != LUA_TTABLE || asOptions ? nil
            : Dictionary(try stringKeyed(c, 3, "metadata", { c.string(-1) }) { _ in "keys and values must be strings" }) { $1 }
        let o = try c.opts(at: asOptions ? 3 : 4)
        let stored = try o.string("dtype")
        try SafetensorsWriter.write(tensors, to: try c.checkString(1, "path"), metadata: meta,
                                    floatDType: SafetensorsWriter.floatTypes.first { $0.name == stored }?.dtype ?? .f32, overwrite: try o.bool("overwrite"))
        return 0
    }

    /// The entries of a table with string keys, each value read by `read`; `bad` says why an
    /// entry is refused (given its key, nil when the key is not a string).
    static func stringKeyed<T>(_ c: LuaCall, _ i: Int32, _ label: String, _ read: () -> T?, bad: (String?) -> String) throws -> [(String, T)] {
        var out: [(String, T)] = []
        lua_pushnil(c.L)
        while lua_next(c.L, i) != 0 {
            let k = c.string(-2), v = read()
            guard let k, let v else { let why = bad(k); lp_pop(c.L, 2); throw c.argError(i, label, why) }
            out.append((k, v))
            lp_pop(c.L, 1)
        }
        return out
    }

    static let load = LuaFunc(
        "load", "Reads a safetensors file (or a sharded checkpoint's index) into a table of tensors.", params: [path],
        returns: "tensors, metadata: the tensors by name, and the metadata table (or nil)",
        details: "float16/bfloat16/float64 become float32, integer types int64, BOOL bool. The header is validated\n(sizes, offsets, overlaps, dtype names); a truncated or corrupted file is an error, never a crash.",
        errors: "a missing file; a corrupted or truncated file (the message names the file and the tensor).",
        example: tmp + "tensor.save(p, {x = tensor.from({1.5, 2.5})})\nprint(tensor.load(p).x)\nos.remove(p)"
    ) { c in
        let ck = try SafetensorsCheckpoint(path: try c.checkString(1, "path"))
        let meta = ck.files.first?.metadata.map { m in LuaValue.record(m.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }) }
        return try c.ret(.record(try ck.names.map { ($0, .object(try ck.tensor($0))) }), meta ?? .nil)
    }

    static let saveNpy = LuaFunc(
        "save_npy", "Writes one tensor as a NumPy .npy file (numpy.load reads it).",
        params: [path, LuaParam("t", .object("Tensor"), "the tensor")],
        options: [overwrite, LuaOpt("dtype", .choice([NpyDType.f2, .f4, .f8, .i8, .b1].map(\.descr)),
                                    .computed("\"<f4\", \"<i8\" or \"|b1\" as the tensor"), "the stored type: float tensors \"<f2\", \"<f4\" or \"<f8\"; int64 \"<i8\"; bool \"|b1\"")],
        details: "\"<f2\" is float16, rounded to nearest even.", errors: "an existing file without overwrite; a dtype that does not fit the tensor's type.",
        example: tmp + "tensor.save_npy(p, tensor.eye(2), {dtype = \"<f2\"})\nlocal t = tensor.load_npy(p)\nprint(t, t:stored_dtype())\nos.remove(p)"
    ) { c in
        let o = try c.opts()
        try Npy.write(try c.tensorArg(2, "t"), to: try c.checkString(1, "path"), as: try o.stringIfGiven("dtype").flatMap(NpyDType.init(descr:)),
                      overwrite: try o.bool("overwrite"))
        return 0
    }

    static let loadNpy = LuaFunc(
        "load_npy", "Reads a NumPy .npy file (v1-v3; float types become float32, integers int64).", params: [path],
        returns: "Tensor", errors: "a missing or malformed file; an unsupported dtype.",
        example: tmp + "tensor.save_npy(p, tensor.arange(4))\nprint(tensor.load_npy(p))\nos.remove(p)"
    ) { c in c.ret(try Npy.read(path: try c.checkString(1, "path")).tensor) }
}
