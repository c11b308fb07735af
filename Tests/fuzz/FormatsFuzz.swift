// libFuzzer entry point for LatheCore's file-format readers (not run in CI; see README.md).
// Every input is tried as a safetensors file, a .npy file and a GGUF file; each reader must
// either succeed (then every tensor is loaded) or throw a LatheError. A crash, a sanitizer
// report or a timeout is a bug.
import LatheCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormats(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    if let f = try? SafetensorsFile(bytes: bytes, name: "fuzz.safetensors") {
        for n in f.names { _ = try? f.tensor(n) }
    }
    _ = try? Npy.decode(bytes: bytes, name: "fuzz.npy")
    if let g = try? GGUFFile(bytes: bytes, name: "fuzz.gguf") {
        for t in g.tensors { _ = try? g.tensor(t.name) }
        _ = try? g.tokenizer()
        _ = try? GGUFLlama.config(g)
    }
    _ = try? JSONValue.parse(bytes)
    return 0
}
