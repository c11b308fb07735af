// Reads model files with LatheCore and prints one JSON line of timings (seconds) per call:
//   formats-bench safetensors FILE   open + every tensor to float32/int64 (SafetensorsFile)
//   formats-bench npy FILE           Npy.read
//   formats-bench gguf FILE          open + every tensor dequantized to float32 (GGUFFile)
//   formats-bench write FILE OUT     read FILE, write its tensors to OUT (SafetensorsWriter)
// Runs at LATHE_THREADS threads (the Python readers it is compared with use one) and reports
// the count. Built by scripts/bench/formats against the release build's LatheCore objects.
import Foundation
import LatheCore

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write("usage: formats-bench safetensors|npy|gguf|write FILE [OUT]\n".data(using: .utf8)!)
    exit(2)
}
if let n = ProcessInfo.processInfo.environment["LATHE_THREADS"].flatMap({ Int($0) }) {
    Runtime.setThreads(n)
}
do {
    let t0 = now()
    var outBytes = 0
    var open = 0.0
    switch args[1] {
    case "safetensors":
        let f = try SafetensorsFile(path: args[2])
        open = now() - t0
        for n in f.names { let t = try f.tensor(n); outBytes += t.count * t.dtype.byteSize }
    case "npy":
        let (t, _) = try Npy.read(path: args[2])
        outBytes = t.count * t.dtype.byteSize
    case "gguf":
        let g = try GGUFFile(path: args[2])
        open = now() - t0
        for info in g.tensors { outBytes += try g.tensor(info.name).count * 4 }
    case "write":
        let f = try SafetensorsFile(path: args[2])
        let ts = try f.tensors()
        let t1 = now()
        try SafetensorsWriter.write(ts, to: args[3], metadata: f.metadata, overwrite: true)
        open = t1 - t0
        outBytes = ts.reduce(0) { $0 + $1.tensor.count * $1.tensor.dtype.byteSize }
    default:
        throw LatheError("unknown mode \(args[1])")
    }
    let total = now() - t0
    print("{\"seconds\": \(total), \"open\": \(open), \"bytes\": \(outBytes), \"threads\": \(Runtime.threads)}")
} catch {
    FileHandle.standardError.write("formats-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
