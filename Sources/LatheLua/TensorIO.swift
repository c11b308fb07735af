import CLua
import CLuaShim
import Foundation
import LatheCore

extension TensorModule {
    static func installIO(_ vm: LuaVM, _ m: LuaModuleBuilder) {
        m.function("save", Doc("Writes named tensors to a safetensors file (the format Hugging Face and PyTorch read).",
            signature: "tensor.save(path, {name = Tensor, ...} [, metadata] [, {overwrite=false, dtype=\"float32\"|\"float16\"|\"bfloat16\"}])",
            details: "The layout is the published one (8-byte header size, JSON header, data), byte for byte what the Python\nsafetensors package writes for the same tensors. metadata: a table of string keys and values (__metadata__).\nThe write is atomic; an existing file is only replaced with overwrite = true. Names are saved sorted\nas safetensors orders them; views are written in row-major order.",
            returns: "nothing",
            errors: "an existing file without overwrite; a non-Tensor value; a non-string metadata value.",
            example: "local p = os.tmpname()\nos.remove(p)\ntensor.save(p, {w = tensor.ones(2, 2), ids = tensor.arange(3)}, {note = \"demo\"})\nlocal t, meta = tensor.load(p)\nprint(t.w:shape()[1], meta.note)\nos.remove(p)")) { c in
            let path = try c.checkString(1, "path")
            try c.checkTable(2, "tensors")
            var tensors: [(name: String, tensor: Tensor)] = []
            let L = c.L
            lua_pushnil(L)
            while lua_next(L, 2) != 0 {
                defer { lp_pop(L, 1) }
                guard let k = c.string(-2) else { lp_pop(L, 1); throw c.argError(2, "tensors", "names must be strings") }
                guard let t = c.object(-1, Tensor.self) else { let d = c.describe(-1); lp_pop(L, 1); throw c.argError(2, "tensors", "'\(k)' is a \(d), expected Tensor") }
                tensors.append((k, t))
            }
            var meta: [String: String]? = nil
            var optIdx: Int32 = 3
            // tensor.save(path, t, nil, {options}): no metadata, options in the fourth place
            if c.isNoneOrNil(3) && !c.isNoneOrNil(4) { optIdx = 4 }
            if c.type(3) == LUA_TTABLE && c.type(4) != LUA_TNONE || (c.type(3) == LUA_TTABLE && !isOptionsTable(c, 3)) {
                meta = [:]
                lua_pushnil(L)
                while lua_next(L, 3) != 0 {
                    defer { lp_pop(L, 1) }
                    guard let k = c.string(-2), let v = c.string(-1) else { lp_pop(L, 1); throw c.argError(3, "metadata", "keys and values must be strings") }
                    meta?[k] = v
                }
                optIdx = 4
            }
            let o = try c.options(optIdx, allowed: ["overwrite", "dtype"])
            let dt = try o.choice("dtype", ["float32", "float16", "bfloat16"], "float32")
            let fdt: SafetensorsDType = dt == "float16" ? .f16 : (dt == "bfloat16" ? .bf16 : .f32)
            try SafetensorsWriter.write(tensors.sorted { $0.name < $1.name }, to: path, metadata: meta, floatDType: fdt,
                                        overwrite: try o.bool("overwrite", false))
            return 0
        }
        m.function("load", Doc("Reads a safetensors file (or a sharded checkpoint's index) into a table of tensors.",
            signature: "tensor.load(path) -> {name = Tensor, ...}, metadata",
            details: "float16/bfloat16/float64 become float32, integer types int64, BOOL bool. The header is validated\n(sizes, offsets, overlaps, dtype names); a truncated or corrupted file is an error, never a crash.",
            returns: "the tensors by name, and the metadata table (or nil)",
            errors: "a missing file; a corrupted or truncated file (the message names the file and the tensor).",
            example: "local p = os.tmpname()\nos.remove(p)\ntensor.save(p, {x = tensor.from({1.5, 2.5})})\nprint(tensor.load(p).x)\nos.remove(p)")) { c in
            let path = try c.checkString(1, "path")
            let ck = try SafetensorsCheckpoint(path: path)
            var fields: [(String, LuaValue)] = []
            for n in ck.names { fields.append((n, .object(try ck.tensor(n)))) }
            try c.push(.record(fields))
            if let meta = ck.files.first?.metadata {
                try c.push(.record(meta.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
            } else {
                c.pushNil()
            }
            return 2
        }
        m.function("save_npy", Doc("Writes one tensor as a NumPy .npy file (numpy.load reads it).",
            signature: "tensor.save_npy(path, t [, {overwrite=false, dtype=}])",
            details: "dtype: the stored type, as numpy names it: \"<f4\" (float32's default), \"<f2\" (float16, round to\nnearest even) or \"<f8\" for float tensors; int64 tensors are written \"<i8\", bool \"|b1\".",
            errors: "an existing file without overwrite; a dtype that does not fit the tensor's type.",
            example: "local p = os.tmpname()\nos.remove(p)\ntensor.save_npy(p, tensor.eye(2), {dtype = \"<f2\"})\nlocal t = tensor.load_npy(p)\nprint(t, t:stored_dtype())\nos.remove(p)")) { c in
            let path = try c.checkString(1, "path")
            let t = try c.tensorArg(2, "t")
            let o = try c.options(3, allowed: ["overwrite", "dtype"])
            var stored: NpyDType? = nil
            if let d = try o.string("dtype") {
                let allowed: [String] = t.dtype == .float32 ? ["<f2", "<f4", "<f8"] : (t.dtype == .int64 ? ["<i8"] : ["|b1"])
                guard allowed.contains(d), let nd = NpyDType(rawValue: String(d.dropFirst())) else {
                    throw LuaError("bad option 'dtype' (expected \(allowed.map { "\"\($0)\"" }.joined(separator: " or ")) for a \(t.dtype.rawValue) tensor, got \"\(d)\")")
                }
                stored = nd
            }
            try Npy.write(t, to: path, as: stored, overwrite: try o.bool("overwrite", false))
            return 0
        }
        m.function("load_npy", Doc("Reads a NumPy .npy file (v1-v3; float types become float32, integers int64).",
            signature: "tensor.load_npy(path) -> Tensor",
            errors: "a missing or malformed file; an unsupported dtype.",
            example: "local p = os.tmpname()\nos.remove(p)\ntensor.save_npy(p, tensor.arange(4))\nprint(tensor.load_npy(p))\nos.remove(p)")) { c in
            return push(c, try Npy.read(path: try c.checkString(1, "path")).tensor)
        }
    }

    /// A table whose keys are only the options of save (overwrite, dtype).
    static func isOptionsTable(_ c: LuaCall, _ i: Int32) -> Bool {
        let L = c.L
        var only = true
        var any = false
        lua_pushnil(L)
        while lua_next(L, i) != 0 {
            any = true
            let k = c.string(-2) ?? ""
            if k != "overwrite" && k != "dtype" { only = false }
            lp_pop(L, 1)
        }
        return any && only
    }
}
