import Foundation
import LatheCore
import Testing

// MARK: - helpers

/// Tests/golden/formats in this checkout.
let goldenDir: String = {
    let here = URL(fileURLWithPath: #filePath)
    return here.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("golden/formats").path
}()
let repoRoot: String = URL(fileURLWithPath: goldenDir).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

func golden(_ name: String) -> String { goldenDir + "/" + name }
func goldenBytes(_ name: String) throws -> [UInt8] { try AtomicFile.read(golden(name)) }
func goldenJSON(_ name: String) throws -> JSONValue { try JSONValue.parse(goldenBytes(name)) }

extension JSONValue {
    var items: [JSONValue] { if case .array(let a) = self { return a }; return [] }
    var members: [(String, JSONValue)] { if case .object(let m) = self { return m }; return [] }
    var int: Int? {
        guard case .number(let s) = self else { return nil }
        return Int(s)
    }
    var int64: Int64? { if case .number(let s) = self { return Int64(s) }; return nil }
    var uint64: UInt64? { if case .number(let s) = self { return UInt64(s) }; return nil }
    var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    var ints: [Int] { items.compactMap(\.int) }
    var u32s: [UInt32] { items.compactMap { $0.uint64.map { UInt32($0) } } }
}

func floatBits(_ t: Tensor) -> [UInt32] { t.toFloatArray().map(\.bitPattern) }

/// A scratch folder removed at the end of the test.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "lathe-formats-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ n: String) -> String { path + "/" + n }
}

/// The error message of `body`, or nil when it succeeds.
func errorMessage(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let e as LatheError { return e.message } catch {
        Issue.record("a non-LatheError was thrown: \(error)")
        return "\(error)"
    }
}

/// Builds the tensor a golden write case describes.
func tensorFrom(_ e: JSONValue) -> Tensor {
    let shape = e["shape"]?.ints ?? []
    switch e["dtype"]?.string {
    case "int64": return Tensor(int64s: (e["ints"]?.items ?? []).compactMap(\.int64), shape: shape)
    case "bool": return Tensor(bools: (e["bools"]?.items ?? []).compactMap(\.boolValue), shape: shape)
    default: return Tensor(floats: (e["f32_bits"]?.u32s ?? []).map { Float(bitPattern: $0) }, shape: shape)
    }
}

/// Checks `t` against an expected entry with f32_bits / ints / bools.
func expectValues(_ t: Tensor, _ e: JSONValue, _ what: String) {
    #expect(t.shape == (e["shape"]?.ints ?? [-1]), "\(what) shape")
    if let bits = e["f32_bits"] {
        #expect(t.dtype == .float32, "\(what) dtype")
        #expect(floatBits(t) == bits.u32s, "\(what) values")
    } else if let ints = e["ints"] {
        #expect(t.dtype == .int64, "\(what) dtype")
        #expect((try? t.toInt64Array()) == ints.items.compactMap(\.int64), "\(what) values")
    } else if let bools = e["bools"] {
        #expect(t.dtype == .bool, "\(what) dtype")
        #expect((try? t.toInt64Array())?.map { $0 != 0 } == bools.items.compactMap(\.boolValue), "\(what) values")
    } else {
        Issue.record("\(what): golden entry has no values")
    }
}

/// A tiny seeded generator for the mutation tests (independent of Runtime.rng).
struct Mutator {
    var rng: RandomGenerator
    init(seed: UInt64) { rng = RandomGenerator(seed: seed) }
    mutating func int(_ n: Int) -> Int { rng.below(max(n, 1)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: rng.next()) }

    /// One random corruption of `b`; `headerEnd` bounds the region of text edits.
    mutating func mutate(_ b: [UInt8], headerRange: Range<Int>) -> [UInt8] {
        var m = b
        switch int(7) {
        case 0:  // flip a few random bits anywhere
            for _ in 0...int(3) where !m.isEmpty { m[int(m.count)] ^= UInt8(1) << UInt8(int(8)) }
        case 1:  // overwrite random bytes in the header region
            for _ in 0...int(4) where !headerRange.isEmpty { m[headerRange.lowerBound + int(headerRange.count)] = byte() }
        case 2:  // delete a slice of the header
            if !headerRange.isEmpty {
                let s = headerRange.lowerBound + int(headerRange.count)
                let e = min(m.count, s + 1 + int(8))
                m.removeSubrange(s..<e)
            }
        case 3:  // insert random bytes in the header region
            if !headerRange.isEmpty {
                let s = headerRange.lowerBound + int(headerRange.count)
                m.insert(contentsOf: (0...int(6)).map { _ in byte() }, at: s)
            }
        case 4:  // replace a digit in the header with another digit or with a huge number
            let digits = headerRange.filter { m[$0] >= 48 && m[$0] <= 57 }
            if let d = digits.isEmpty ? nil : digits[int(digits.count)] {
                if int(2) == 0 { m[d] = UInt8(48 + int(10)) } else {
                    m.replaceSubrange(d...d, with: Array(["18446744073709551615", "9223372036854775807", "4294967296", "0", "99999999999"][int(5)].utf8))
                }
            }
        case 5:  // a random 8-byte little-endian word at an 8-aligned position (sizes, counts)
            if m.count >= 8 {
                let pos = int(max(1, min(m.count, 64) / 8)) * 8
                let values: [UInt64] = [0, 1, 7, 8, UInt64(m.count), UInt64(m.count - 8), UInt64.max, UInt64(Int64.max), 1 << 32, UInt64(int(1 << 20))]
                let v = values[int(values.count)]
                for k in 0..<8 where pos + k < m.count { m[pos + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            }
        default:  // truncate or extend
            if int(2) == 0 { m.removeLast(min(m.count, 1 + int(16))) } else { m.append(contentsOf: (0...int(8)).map { _ in byte() }) }
        }
        return m
    }
}

// MARK: - JSON

@Suite struct FormatsJSONTests {
    @Test func parsesAndKeepsOrderAndExactNumbers() throws {
        let v = try JSONValue.parse(#" { "b": [1, 2.5e3, -0, true, null], "a": "x\u00e9\n\ud83d\ude00", "b": {} } "#)
        #expect(v.members.map(\.0) == ["b", "a", "b"])
        #expect(v.members[0].1 == .array([.number("1"), .number("2.5e3"), .number("-0"), .bool(true), .null]))
        #expect(v["a"]?.string == "xé\n😀")
        #expect(try JSONValue.parse("18446744073709551615").uint64 == UInt64.max)
        #expect(JSONValue.number("18446744073709551616").nonNegativeInt == nil)
        #expect(JSONValue.number("1.0").nonNegativeInt == nil)
    }

    @Test func writesIndentedSortedAndASCII() throws {
        let v = try JSONValue.parse(#"{"b": [1, {"z": null, "a": "é😀\n"}], "a": {}, "c": []}"#)
        #expect(v.compactText == #"{"b":[1,{"z":null,"a":"é😀\n"}],"a":{},"c":[]}"#)
        let pretty = String(decoding: v.text(indent: 2, sortKeys: true, asciiOnly: true), as: UTF8.self)
        #expect(pretty == "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": \"\\u00e9\\ud83d\\ude00\\n\",\n      \"z\": null\n    }\n  ],\n  \"c\": []\n}")
        // Python's json.dumps(indent=2, sort_keys=True) gives the same text
        #expect(pretty.contains("\"a\": {}"))
    }

    @Test func nonFiniteOnlyWhenAllowedAndErrorsKeepTheOffset() throws {
        let bytes = Array("[NaN, -Infinity, Infinity]".utf8)
        let v = try bytes.withUnsafeBytes { b in try JSONValue.parseDocument(b, allowNonFinite: true) }
        #expect(v == .array([.number("NaN"), .number("-Infinity"), .number("Infinity")]))
        do {
            _ = try bytes.withUnsafeBytes { b in try JSONValue.parseDocument(b) }
            Issue.record("NaN accepted")
        } catch let error as JSONSyntaxError {
            #expect(error.offset == 1 && error.message.contains("NaN and Infinity are not JSON"))
        }
    }

    @Test func rejectsBadJSONWithPosition() {
        let bad: [(String, String)] = [
            ("{\"a\":1,}", "expected a string key"),
            ("[1 2]", "expected ',' or ']'"),
            ("{\"a\" 1}", "expected ':'"),
            ("\"\\ud800\"", "lone leading surrogate"),
            ("01", "after the end of the value"),
            ("\"a\u{01}\"", "control character"),
            ("{} x", "after the end"),
            ("tru", "invalid literal"),
            ("", "unexpected end"),
            (String(repeating: "[", count: 100_000), "nested deeper"),
        ]
        for (text, want) in bad {
            let msg = errorMessage { _ = try JSONValue.parse(text) } ?? "no error"
            #expect(msg.contains(want), "\(text.prefix(20)): \(msg)")
        }
        #expect(errorMessage { _ = try JSONValue.parse([0x22, 0xFF, 0x22]) }?.contains("invalid UTF-8") == true)
    }

    @Test func writesLikeSerde() {
        var s = ""
        JSONValue.appendQuoted("a\"b\\c\n\t\u{01}\u{7f}é/", to: &s)
        #expect(s == "\"a\\\"b\\\\c\\n\\t\\u0001\u{7f}é/\"")
    }
}

// MARK: - element conversions

@Suite struct FormatsConversionTests {
    @Test func halfRoundTripsEveryValue() {
        for h in 0...0xFFFF {
            let f = ElementConversion.halfToFloat(UInt16(h))
            if f.isNaN {
                #expect(ElementConversion.floatToHalf(f) & 0x7C00 == 0x7C00)
                continue
            }
            #expect(ElementConversion.floatToHalf(f) == UInt16(h), "half \(h)")
        }
        #expect(ElementConversion.halfToFloat(0x3C00) == 1)
        #expect(ElementConversion.halfToFloat(0x0001) == Float(pow(2.0, -24.0)))
        #expect(ElementConversion.halfToFloat(0xFC00) == -.infinity)
    }

    @Test func halfRoundsToNearestEven() {
        #expect(ElementConversion.floatToHalf(1 + Float(pow(2.0, -11.0))) == 0x3C00)        // tie -> even
        #expect(ElementConversion.floatToHalf(1 + 3 * Float(pow(2.0, -11.0))) == 0x3C02)    // tie -> even (up)
        #expect(ElementConversion.floatToHalf(65520) == 0x7C00)                              // overflow
        #expect(ElementConversion.floatToHalf(65519.99) == 0x7BFF)
        #expect(ElementConversion.floatToHalf(Float(pow(2.0, -25.0))) == 0)                  // tie -> 0
        #expect(ElementConversion.floatToHalf(3 * Float(pow(2.0, -26.0))) == 1)
        #expect(ElementConversion.floatToHalf(-0.0) == 0x8000)
    }

    @Test func bf16RoundsToNearestEven() {
        #expect(ElementConversion.floatToBF16(1) == 0x3F80)
        #expect(ElementConversion.floatToBF16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)    // tie -> even
        #expect(ElementConversion.floatToBF16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(ElementConversion.floatToBF16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(ElementConversion.floatToBF16(.infinity) == 0x7F80)
        #expect(ElementConversion.floatToBF16(Float(bitPattern: 0x7F7F_FFFF)) == 0x7F80)    // rounds up to inf
        #expect(ElementConversion.floatToBF16(-.nan) & 0x7FC0 == 0x7FC0)
        #expect(ElementConversion.bf16ToFloat(0xC000) == -2)
    }

    @Test func float8Tables() {
        #expect(ElementConversion.f8e4m3Table[0x38] == 1)
        #expect(ElementConversion.f8e4m3Table[0x7E] == 448)
        #expect(ElementConversion.f8e4m3Table[0x7F].isNaN)
        #expect(ElementConversion.f8e4m3Table[0x01] == Float(pow(2.0, -9.0)))
        #expect(ElementConversion.f8e5m2Table[0x3C] == 1)
        #expect(ElementConversion.f8e5m2Table[0x7C] == .infinity)
        #expect(ElementConversion.f8e5m2Table[0xC0] == -2)
    }
}

// MARK: - safetensors

@Suite struct SafetensorsTests {
    @Test func readsEveryDTypeOfTheGoldenFile() throws {
        let doc = try goldenJSON("safetensors.json")
        let read = try #require(doc["read"])
        let f = try SafetensorsFile(path: golden("st_read.safetensors"))
        #expect(f.metadata == ["format": "pt"])
        #expect(f.names == (read["order"]?.items ?? []).compactMap(\.string))
        for (name, e) in read["tensors"]?.members ?? [] {
            let info = try f.info(name)
            #expect(info.dtype.rawValue == e["dtype"]?.string, "\(name) dtype")
            #expect(info.shape == e["shape"]?.ints, "\(name) shape")
            expectValues(try f.tensor(name), e, name)
        }
        #expect(try f.tensor("half").name == "half")
        #expect(f.names.count == 12)
        // raw bytes are the stored ones
        let raw = try f.withRawBytes("u8") { [UInt8]($0) }
        #expect(raw == [0, 200, 255])
    }

    @Test func writesByteIdenticalFiles() throws {
        let doc = try goldenJSON("safetensors.json")
        let tmp = TempDir()
        for c in doc["write"]?.items ?? [] {
            let file = try #require(c["file"]?.string)
            let tensors = (c["tensors"]?.items ?? []).map { (name: $0["name"]?.string ?? "", tensor: tensorFrom($0)) }
            var meta: [String: String]? = nil
            if case .object(let m)? = c["metadata"] {
                meta = Dictionary(uniqueKeysWithValues: m.map { ($0.0, $0.1.string ?? "") })
            }
            let fd = SafetensorsDType(rawValue: c["float_dtype"]?.string ?? "F32") ?? .f32
            let bytes = try SafetensorsWriter.serialize(tensors, metadata: meta, floatDType: fd)
            let want = try goldenBytes(file)
            #expect(bytes == want, "\(file): \(bytes.count) bytes vs \(want.count)")
            // the streaming file writer gives the same bytes
            let out = tmp.file(file)
            try SafetensorsWriter.write(tensors, to: out, metadata: meta, floatDType: fd)
            #expect(try AtomicFile.read(out) == want, "\(file) via write()")
            let again = errorMessage { try SafetensorsWriter.write(tensors, to: out, metadata: meta) }
            #expect(again?.contains("already exists") == true)
            try SafetensorsWriter.write(tensors, to: out, metadata: meta, floatDType: fd, overwrite: true)
            // and it reads back
            let back = try SafetensorsFile(path: out)
            #expect(back.names.count == tensors.count)
        }
    }

    @Test func roundTripsViewsAndConversions() throws {
        // a transposed (non-contiguous) view must be written in row-major order
        let base = Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        let view = Tensor(storage: base.storage, offset: 0, shape: [3, 2], strides: [1, 3], dtype: .float32)
        let ids = Tensor(int64s: [1, 2, 3, 4], shape: [2, 2])
        let idsT = Tensor(storage: ids.storage, offset: 0, shape: [2, 2], strides: [1, 2], dtype: .int64)
        let mask = Tensor(bools: [true, false, false, true, true, false], shape: [2, 3])
        let maskT = Tensor(storage: mask.storage, offset: 1, shape: [2, 2], strides: [3, 1], dtype: .bool)
        let bytes = try SafetensorsWriter.serialize([("v", view), ("i", idsT), ("m", maskT)], metadata: nil)
        let f = try SafetensorsFile(bytes: bytes)
        #expect(try f.tensor("v").toFloatArray() == [1, 4, 2, 5, 3, 6])
        #expect(try f.tensor("i").toInt64Array() == [1, 3, 2, 4])
        #expect(try f.tensor("m").toInt64Array() == [0, 0, 1, 0])
        for fd in [SafetensorsDType.f16, .bf16] {
            let g = try SafetensorsFile(bytes: SafetensorsWriter.serialize([("v", view)], floatDType: fd))
            #expect(try g.info("v").dtype == fd)
            #expect(try g.tensor("v").toFloatArray() == [1, 4, 2, 5, 3, 6])
        }
        #expect(errorMessage { _ = try SafetensorsWriter.serialize([("a", base), ("a", base)]) }?.contains("given twice") == true)
        #expect(errorMessage { _ = try SafetensorsWriter.serialize([("__metadata__", base)]) } != nil)
        #expect(errorMessage { _ = try SafetensorsWriter.serialize([("a", base)], floatDType: .i64) }?.contains("F32, F16 or BF16") == true)
    }

    @Test func largeTensorsRoundTripThroughFiles() throws {
        // over 1 MB: the reader copies these with pread instead of out of the mapping
        let tmp = TempDir()
        let n = 300_000
        let w = Tensor(floats: (0..<n).map { Float($0) * 0.25 - 7 }, shape: [300, 1000])
        let ids = Tensor(int64s: (0..<200_000).map { Int64($0) * 3 - 5 }, shape: [200_000])
        try SafetensorsWriter.write([("w", w), ("ids", ids)], to: tmp.file("big.safetensors"))
        let f = try SafetensorsFile(path: tmp.file("big.safetensors"))
        #expect(try f.tensor("w").toFloatArray() == w.toFloatArray())
        #expect(try f.tensor("ids").toInt64Array() == ids.toInt64Array())
        try Npy.write(w, to: tmp.file("w.npy"))
        #expect(try Npy.read(path: tmp.file("w.npy")).tensor.toFloatArray() == w.toFloatArray())
        try Npy.write(ids, to: tmp.file("ids.npy"))
        #expect(try Npy.read(path: tmp.file("ids.npy")).tensor.toInt64Array() == ids.toInt64Array())
    }

    @Test func opensShardedCheckpoints() throws {
        let doc = try goldenJSON("safetensors.json")
        let ck = try SafetensorsCheckpoint(path: golden("sharded"))
        let want = try #require(doc["sharded"])
        #expect(ck.names == want.members.map(\.0).sorted())
        #expect(ck.files.count == 2)
        for (name, e) in want.members {
            expectValues(try ck.tensor(name), e, name)
        }
        let idx = try SafetensorsCheckpoint(path: golden("sharded/model.safetensors.index.json"))
        #expect(idx.names == ck.names)
        let single = try SafetensorsCheckpoint(path: golden("st_read.safetensors"))
        #expect(single.contains("mask"))
        let msg = errorMessage { _ = try ck.tensor("model.layers.0.x") } ?? ""
        #expect(msg.contains("no tensor named 'model.layers.0.x'") && msg.contains("did you mean 'model.layers.0.w'"), "\(msg)")

        // an index pointing at a tensor its shard lacks, or outside the folder
        let tmp = TempDir()
        for f in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            try FileManager.default.copyItem(atPath: golden("sharded/" + f), toPath: tmp.file(f))
        }
        try AtomicFile.write(#"{"weight_map": {"ghost": "model-00001-of-00002.safetensors"}}"#, to: tmp.file("model.safetensors.index.json"), overwrite: true)
        #expect(errorMessage { _ = try SafetensorsCheckpoint(path: tmp.path) }?.contains("no tensor 'ghost'") == true)
        try AtomicFile.write(#"{"weight_map": {"x": "../x.safetensors"}}"#, to: tmp.file("model.safetensors.index.json"), overwrite: true)
        #expect(errorMessage { _ = try SafetensorsCheckpoint(path: tmp.path) }?.contains("not a file inside") == true)
        try AtomicFile.write(#"{"weight_map": {"x": "missing.safetensors"}}"#, to: tmp.file("model.safetensors.index.json"), overwrite: true)
        #expect(errorMessage { _ = try SafetensorsCheckpoint(path: tmp.path) }?.contains("no such file") == true)
    }

    /// A safetensors file from a header text and a buffer size.
    func file(_ header: String, buffer: Int) -> [UInt8] {
        var h = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        out += h
        h = []
        return out + [UInt8](repeating: 0, count: buffer)
    }

    @Test func rejectsBadFilesWithClearMessages() {
        let t = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
        let cases: [([UInt8], String)] = [
            ([1, 2, 3], "model.safetensors: file is 3 bytes, too short"),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0], "over the 100 MB limit"),
            ([100, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D], "header size 100 exceeds the 2 bytes"),
            (file(#"{"encoder.layer.0.weight":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}"#, buffer: 64),
             "model.safetensors: tensor 'encoder.layer.0.weight': data_offsets [0, 100] exceed the 64-byte buffer"),
            (file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, buffer: 8), "tensor 'a': data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12"),
            (file(#"{"a":\#(t),"a":\#(t)}"#, buffer: 8), "tensor 'a' appears twice"),
            (file(#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, buffer: 8), "tensor 'a': unknown dtype 'F33'"),
            (file(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, buffer: 8), "shape entries must be non-negative integers (got -2)"),
            (file(#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, buffer: 8), "non-negative integers"),
            (file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, buffer: 8), "too many elements (overflow)"),
            (file(#"{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#, buffer: 0), "too many elements (overflow)"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, buffer: 8), "end before they begin"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, buffer: 12), "cover 8 bytes but the data buffer has 12"),
            (file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: 8), "bytes [0, 4] of the data buffer belong to no tensor"),
            (file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, buffer: 4), "overlap"),
            (file(#"{"__metadata__":{"k":1}}"#, buffer: 0), "__metadata__ value for 'k' must be a string (got number)"),
            (file(#"{"__metadata__":[]}"#, buffer: 0), "__metadata__ must be an object"),
            (file(#"[]"#, buffer: 0), "header is not a JSON object (got array)"),
            (file(#"{"a":{"dtype":"F32","shape":[2]}}"#, buffer: 8), "tensor 'a': missing 'data_offsets'"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}"#, buffer: 8), "must be an array of 2 integers"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x"#, buffer: 8), "header is not valid JSON"),
            (file(#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}"#, buffer: 1), "do not fill whole bytes"),
            (file("{\"\u{1}\":1}", buffer: 0), "control character"),
        ]
        for (bytes, want) in cases {
            let msg = errorMessage { _ = try SafetensorsFile(bytes: bytes, name: "model.safetensors") } ?? "no error"
            #expect(msg.contains(want), "expected '\(want)', got '\(msg)'")
            #expect(msg.hasPrefix("model.safetensors: "), "\(msg)")
        }
    }

    @Test func acceptsWhatTheReferenceAccepts() throws {
        // leading whitespace, null metadata, extra fields, zero-size tensors, any entry order
        let f = try SafetensorsFile(bytes: file(#"  {"__metadata__":null,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8],"x":1},"z":{"dtype":"I64","shape":[0,5],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, buffer: 8))
        #expect(f.metadata == nil)
        #expect(f.names == ["a", "z", "b"])
        #expect(try f.tensor("z").shape == [0, 5])
        #expect(try f.tensor("a").shape == [])
        let empty = try SafetensorsFile(bytes: file("{}", buffer: 0))
        #expect(empty.names.isEmpty)
        #expect(errorMessage { _ = try empty.tensor("x") }?.contains("the file has no tensors") == true)
    }

    @Test func loadsOtherDTypesAndRejectsUnloadable() throws {
        var bytes = file(#"{"u":{"dtype":"U64","shape":[2],"data_offsets":[0,16]},"c":{"dtype":"C64","shape":[1],"data_offsets":[16,24]},"e":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[24,26]},"w":{"dtype":"U16","shape":[1],"data_offsets":[26,28]}}"#, buffer: 28)
        let base = bytes.count - 28
        bytes[base] = 5
        bytes[base + 8 + 7] = 0x80   // second U64 = 2^63
        bytes[base + 24] = 0x38      // 1.0
        bytes[base + 25] = 0xB8      // -1.0
        bytes[base + 26] = 0xFF
        bytes[base + 27] = 0xFF      // 65535
        let f = try SafetensorsFile(bytes: bytes, name: "x.safetensors")
        #expect(errorMessage { _ = try f.tensor("u") }?.contains("U64 element 1 is above the int64 range") == true)
        #expect(errorMessage { _ = try f.tensor("c") }?.contains("x.safetensors: tensor 'c' has dtype C64, which Lathe cannot load") == true)
        #expect(try f.tensor("e").toFloatArray() == [1, -1])
        #expect(try f.tensor("w").toInt64Array() == [65535])
        #expect(try f.info("c").dtype.latheDType == nil)
    }

    @Test func refusesTensorsLargerThanMemory() throws {
        // a sparse 1 TB file whose header is valid: opening works, loading is refused clearly
        let tmp = TempDir()
        let header = Array(#"{"huge":{"dtype":"U8","shape":[1099511627776],"data_offsets":[0,1099511627776]}}"#.utf8)
        var bytes: [UInt8] = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        bytes += header
        let path = tmp.file("sparse.safetensors")
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(truncate(path, off_t(bytes.count) + (1 << 40)) == 0)
        let f = try SafetensorsFile(path: path)
        #expect(try f.info("huge").elementCount == 1 << 40)
        let msg = errorMessage { _ = try f.tensor("huge") } ?? ""
        #expect(msg.contains("tensor 'huge' needs 8796.1 GB as int64, more than this machine's"), "\(msg)")
    }

    @Test func missingFilesAndFolders() {
        #expect(errorMessage { _ = try SafetensorsFile(path: "/nonexistent/model.safetensors") } == "/nonexistent/model.safetensors: no such file")
        #expect(errorMessage { _ = try SafetensorsFile(path: goldenDir) }?.contains("is a folder") == true)
        let tmp = TempDir()
        FileManager.default.createFile(atPath: tmp.file("empty.safetensors"), contents: Data())
        #expect(errorMessage { _ = try SafetensorsFile(path: tmp.file("empty.safetensors")) }?.contains("file is 0 bytes") == true)
    }

    @Test func survivesTruncationAndMutation() throws {
        let seed = try goldenBytes("st_read.safetensors")
        let headerEnd = 8 + Int(seed[0]) + Int(seed[1]) << 8
        var ok = 0, failed = 0
        func attempt(_ b: [UInt8]) {
            do {
                let f = try SafetensorsFile(bytes: b, name: "fuzz.safetensors")
                for n in f.names { _ = try? f.tensor(n) }
                ok += 1
            } catch {
                #expect(error.message.hasPrefix("fuzz.safetensors: "), "\(error.message)")
                failed += 1
            }
        }
        // every truncation
        for n in 0..<seed.count { attempt(Array(seed[0..<n])) }
        #expect(failed == seed.count)   // a cut anywhere breaks the tiling check
        // random mutations
        var m = Mutator(seed: 20251122)
        for _ in 0..<4000 { attempt(m.mutate(seed, headerRange: 8..<headerEnd)) }
        #expect(ok > 0 && failed > seed.count)
    }
}

// MARK: - .npy

@Suite struct NpyTests {
    @Test func readsNumpysFiles() throws {
        let doc = try goldenJSON("npy.json")
        for (file, e) in doc["read"]?.members ?? [] {
            let (t, h) = try Npy.read(path: golden(file))
            expectValues(t, e, file)
            #expect(h.descr == e["descr"]?.string, "\(file) descr")
            #expect(h.fortranOrder == e["fortran_order"]?.boolValue, "\(file) fortran")
            #expect([h.major, h.minor] == e["version"]?.ints, "\(file) version")
            #expect(h.dataOffset % 64 == 0)
        }
    }

    @Test func writesWhatNpSaveWrites() throws {
        let doc = try goldenJSON("npy.json")
        let tmp = TempDir()
        for e in doc["write"]?.items ?? [] {
            let file = try #require(e["file"]?.string)
            var spec = e
            if case .object(var m) = spec {
                m.append(("dtype", e["lathe_dtype"] ?? .null))
                spec = .object(m)
            }
            let t = tensorFrom(spec)
            let dt = NpyDType(rawValue: e["npy_dtype"]?.string ?? "")
            let bytes = try Npy.encode(t, as: dt)
            #expect(bytes == (try goldenBytes(file)), "\(file)")
            try Npy.write(t, to: tmp.file(file), as: dt)
            #expect(try AtomicFile.read(tmp.file(file)) == (try goldenBytes(file)))
            let (back, _) = try Npy.read(path: tmp.file(file))
            #expect(back.shape == t.shape)
        }
    }

    @Test func rejectsBadFiles() throws {
        let good = try goldenBytes("npy_write_f4.npy")
        func withHeader(_ h: String, data: Int = 0) -> [UInt8] {
            let text = Array(h.utf8)
            return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + [UInt8](repeating: 0, count: data)
        }
        let cases: [([UInt8], String)] = [
            (Array("hello".utf8), "file ends inside the magic string"),
            (Array("PK\u{3}\u{4}xxxxxxxx".utf8), "not a .npy file"),
            ([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 9, 0, 0, 0], "version 9.0 is not supported"),
            (Array(good.dropLast(4)), "needs 24 (truncated file?)"),
            (good + [0], "1 unexpected bytes after"),
            (withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), "dtype '<c8' is not supported"),
            (withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"), "cannot parse"),
            (withHeader("{'descr': '<f4', 'shape': (1,), }"), "exactly the keys"),
            (withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "negative"),
            (withHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }"), "fortran_order must be True or False"),
            (withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"), "too large"),
            (withHeader("__import__('os')"), "cannot parse"),
            (withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 0), }"), "too large"),
        ]
        for (b, want) in cases {
            let msg = errorMessage { _ = try Npy.decode(bytes: b, name: "a.npy") } ?? "no error"
            #expect(msg.contains(want) && msg.hasPrefix("a.npy: "), "expected '\(want)', got '\(msg)'")
        }
        #expect(errorMessage { _ = try Npy.encode(Tensor(int64s: [1], shape: [1]), as: .f4) } == "int64 tensors cannot be stored as .npy '<f4' (expected one of '<i8')")
        #expect(errorMessage { _ = try Npy.encode(Tensor(floats: [1], shape: [1]), as: .b1) }?.hasSuffix("(expected one of '<f2', '<f4', '<f8')") == true)
        #expect(NpyDType(descr: "<f2") == .f2 && NpyDType(descr: "|b1") == .b1 && NpyDType(descr: "<b1") == nil && NpyDType(descr: ">f4") == nil)
        #expect(NpyDType.allCases.allSatisfy { NpyDType(descr: $0.descr) == $0 })
    }

    @Test func survivesTruncationAndMutation() throws {
        var m = Mutator(seed: 7)
        for name in ["npy_read_fortran.npy", "npy_read_big_i8.npy", "npy_read_v3.npy"] {
            let seed = try goldenBytes(name)
            for n in 0..<seed.count {
                #expect(errorMessage { _ = try Npy.decode(bytes: Array(seed[0..<n]), name: "f.npy") } != nil)
            }
            for _ in 0..<1000 {
                let b = m.mutate(seed, headerRange: 10..<min(seed.count, 128))
                if let msg = errorMessage({ _ = try Npy.decode(bytes: b, name: "f.npy") }) {
                    #expect(msg.hasPrefix("f.npy: "))
                }
            }
        }
    }
}

// MARK: - GGUF

func ggufValue(_ e: JSONValue) -> GGUFValue? {
    let t = e["type"]?.string ?? ""
    let v = e["value"]
    switch t {
    case "UINT8": return v?.uint64.map { .uint8(UInt8($0)) }
    case "INT8": return v?.int64.map { .int8(Int8($0)) }
    case "UINT16": return v?.uint64.map { .uint16(UInt16($0)) }
    case "INT16": return v?.int64.map { .int16(Int16($0)) }
    case "UINT32": return v?.uint64.map { .uint32(UInt32($0)) }
    case "INT32": return v?.int64.map { .int32(Int32($0)) }
    case "UINT64": return v?.uint64.map { .uint64($0) }
    case "INT64": return v?.int64.map { .int64($0) }
    case "FLOAT32": return e["bits"]?.uint64.map { .float32(Float(bitPattern: UInt32($0))) }
    case "FLOAT64": return e["bits"]?.uint64.map { .float64(Double(bitPattern: $0)) }
    case "BOOL": return v?.boolValue.map { .bool($0) }
    case "STRING": return v?.string.map { .string($0) }
    case "ARRAY":
        let items = (e["items"]?.items ?? []).compactMap(ggufValue)
        return .array(items.first?.type ?? .uint8, items)
    default: return nil
    }
}

@Suite struct GGUFTests {
    @Test func readsGoldenFiles() throws {
        let doc = try goldenJSON("gguf.json")
        let files = doc["files"]?.items ?? []
        let values = files.first?["tensors"]?.items ?? []
        #expect(files.count == 2)
        for fe in files {
            let name = try #require(fe["file"]?.string)
            let g = try GGUFFile(path: golden(name))
            #expect(g.version == 3)
            #expect(g.alignment == fe["alignment"]?.int)
            #expect(g.dataOffset == fe["data_offset"]?.int)
            #expect(g.keys == (fe["keys"]?.items ?? []).compactMap(\.string))
            for (k, e) in fe["metadata"]?.members ?? [] {
                #expect(g[k] == ggufValue(e), "\(name) \(k): \(String(describing: g[k]))")
            }
            let ts = fe["tensors"]?.items ?? []
            #expect(g.tensors.map(\.name) == ts.compactMap { $0["name"]?.string })
            for (i, e) in ts.enumerated() {
                let info = g.tensors[i]
                #expect(info.type.description == e["type"]?.string)
                #expect(info.dims == e["dims"]?.ints)
                #expect(info.shape == Array((e["dims"]?.ints ?? []).reversed()))
                #expect(info.offset == e["offset"]?.int)
                #expect(info.byteCount == e["n_bytes"]?.int)
                #expect(info.offset % g.alignment == 0)
                let t = try g.tensor(info.name)
                #expect(t.shape == info.shape)
                #expect(floatBits(t) == values[i]["f32_bits"]?.u32s, "\(name) \(info.name)")
            }
        }
    }

    @Test func version2ReadsTheSame() throws {
        var b = try goldenBytes("tiny.gguf")
        b[4] = 2
        let g = try GGUFFile(bytes: b)
        #expect(g.version == 2)
        let ref = try GGUFFile(path: golden("tiny.gguf"))
        #expect(g.tensors == ref.tensors.map { $0 }.map { $0 })
        #expect(try floatBits(g.tensor("blk.0.attn_k.weight")) == floatBits(ref.tensor("blk.0.attn_k.weight")))
    }

    @Test func rawBlocksAndDequantizeAgree() throws {
        let g = try GGUFFile(path: golden("tiny.gguf"))
        for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "flat.weight"] {
            let info = try g.info(name)
            let raw = try g.rawData(name)
            #expect(raw.count == info.byteCount)
            #expect(raw.count == info.elementCount / info.type.blockSize * info.type.typeSize)
            var out = [Float](repeating: 0, count: info.elementCount)
            try raw.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer { dst in
                    try info.type.dequantize(src.baseAddress!, into: dst.baseAddress!, count: info.elementCount)
                }
            }
            #expect(out.map(\.bitPattern) == floatBits(try g.tensor(name)))
        }
        // the documented Q4_1 layout, by hand: d = 0.5, m = -1, nibbles 0..15
        var blk: [UInt8] = [0x00, 0x38, 0x00, 0xBC]
        for j in 0..<16 { blk.append(UInt8(j) | UInt8(15 - j) << 4) }
        var y = [Float](repeating: 0, count: 32)
        try blk.withUnsafeBytes { s in try y.withUnsafeMutableBufferPointer { try GGMLType.q4_1.dequantize(s.baseAddress!, into: $0.baseAddress!, count: 32) } }
        let low: [Float] = (0..<16).map { (j: Int) -> Float in Float(j) * 0.5 - 1 }
        let high: [Float] = (0..<16).map { (j: Int) -> Float in Float(15 - j) * 0.5 - 1 }
        #expect(Array(y[0..<16]) == low)
        #expect(Array(y[16..<32]) == high)
        let zeros = [UInt8](repeating: 0, count: 144)
        var sink = [Float](repeating: 0, count: 256)
        let q4k: String? = zeros.withUnsafeBytes { src in
            sink.withUnsafeMutableBufferPointer { dst in
                errorMessage { try GGMLType.q4_K.dequantize(src.baseAddress!, into: dst.baseAddress!, count: 256) }
            }
        }
        #expect(q4k?.contains("Q4_K tensors cannot be dequantized") == true)
    }

    @Test func tokenizerAndNames() throws {
        let g = try GGUFFile(path: golden("tiny.gguf"))
        let tok = try g.tokenizer()
        #expect(tok.model == "gpt2")
        #expect(tok.tokens == ["<s>", "</s>", "a", "b", "ab"])
        #expect(tok.tokenTypes == [3, 3, 1, 1, 1])
        #expect(tok.merges == ["a b"])
        #expect(tok.bosID == 0 && tok.eosID == 1 && tok.paddingID == nil)
        #expect(tok.chatTemplate == "{{ messages }}")
        #expect(tok.controlTokenIDs == [0, 1])
        #expect(g.architecture == "llama")
        #expect(errorMessage { _ = try GGUFLlama.config(g) }?.contains("metadata 'llama.embedding_length' is missing") == true)
        #expect(errorMessage { _ = try g.tensor("blk.0.attn_z.weight") }?.contains("did you mean") == true)

        let names: [(String, String?)] = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
            ("blk.12.ffn_norm.weight", "model.layers.12.post_attention_layernorm.weight"),
            ("blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"),
            ("blk.3.attn_k.bias", "model.layers.3.self_attn.k_proj.bias"),
            ("blk.3.attn_v.weight", "model.layers.3.self_attn.v_proj.weight"),
            ("blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"),
            ("blk.29.ffn_gate.weight", "model.layers.29.mlp.gate_proj.weight"),
            ("blk.29.ffn_up.weight", "model.layers.29.mlp.up_proj.weight"),
            ("blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight"),
            ("rope_freqs.weight", nil), ("blk.x.attn_q.weight", nil), ("blk.01.attn_q.weight", nil), ("cube", nil),
        ]
        for (a, b) in names { #expect(GGUFLlama.hfName(for: a) == b, "\(a)") }
    }

    @Test func unpermuteInvertsLlamaCppsPermute() throws {
        // llama.cpp's permute: w.reshape(h, 2, D/2, cols).swapaxes(1, 2); build it by hand
        let heads = 3, D = 4, cols = 2, rows = heads * D
        let hf = (0..<(rows * cols)).map { Float($0) }
        var permuted = [Float](repeating: 0, count: hf.count)
        for h in 0..<heads { for half in 0..<2 { for j in 0..<(D / 2) { for c in 0..<cols {
            permuted[(h * D + 2 * j + half) * cols + c] = hf[(h * D + half * D / 2 + j) * cols + c]
        } } } }
        let out = try GGUFLlama.unpermute(Tensor(floats: permuted, shape: [rows, cols]), heads: heads)
        #expect(out.toFloatArray() == hf)
        let bias = try GGUFLlama.unpermute(Tensor(floats: [0, 2, 1, 3], shape: [4]), heads: 1)
        #expect(bias.toFloatArray() == [0, 1, 2, 3])
        #expect(errorMessage { _ = try GGUFLlama.unpermute(Tensor(floats: [1, 2, 3], shape: [3]), heads: 1) }?.contains("cannot be split") == true)
    }

    /// A minimal GGUF: header, the given metadata/tensor-info bytes, padding, data.
    func gguf(kv: [[UInt8]], tensors: [[UInt8]], data: [UInt8], version: UInt32 = 3) -> [UInt8] {
        var b: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        u32(version); u64(UInt64(tensors.count)); u64(UInt64(kv.count))
        for k in kv { b += k }
        for t in tensors { b += t }
        while b.count % 32 != 0 { b.append(0) }
        return b + data
    }
    func str(_ s: String) -> [UInt8] { withUnsafeBytes(of: UInt64(s.utf8.count).littleEndian) { Array($0) } + Array(s.utf8) }
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) -> [UInt8] {
        str(name) + le(UInt32(dims.count)) + dims.flatMap { le($0) } + le(type) + le(offset)
    }

    @Test func rejectsBadFilesWithClearMessages() {
        let okTensor = tensorInfo("w", dims: [2], type: 0, offset: 0)
        let cases: [([UInt8], String)] = [
            (Array("GGU".utf8), "file ends inside the magic"),
            (Array("GGML\u{3}\0\0\0".utf8), "not a GGUF file"),
            (gguf(kv: [], tensors: [], data: [], version: 1), "GGUF version 1 is not supported"),
            (gguf(kv: [], tensors: [], data: [], version: 0x0300_0000), "big-endian"),
            (gguf(kv: [], tensors: [], data: [], version: 4), "version 4 is not supported"),
            (Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(0)) + le(UInt64.max), "claims 18446744073709551615 metadata entries"),
            (Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1) << 40) + le(UInt64(0)), "tensors, more than the file can hold"),
            (gguf(kv: [str("k") + le(UInt32(13)) + [0]], tensors: [], data: []), "metadata 'k' has unknown value type 13"),
            (gguf(kv: [str("k") + le(UInt32(7)) + [2]], tensors: [], data: []), "bool byte is 2"),
            (gguf(kv: [str("k") + le(UInt32(8)) + le(UInt64(1) << 50)], tensors: [], data: []), "claims 1125899906842624 bytes"),
            (gguf(kv: [str("k") + le(UInt32(9)) + le(UInt32(8)) + le(UInt64.max)], tensors: [], data: []), "does not fit in the rest of the file"),
            (gguf(kv: [str("k") + le(UInt32(8)) + str("a"), str("k") + le(UInt32(8)) + str("b")], tensors: [], data: []), "metadata key 'k' appears twice"),
            (gguf(kv: [le(UInt64(2)) + [0xFF, 0x6B] + le(UInt32(0)) + [0]], tensors: [], data: []), "metadata key 0 is not valid UTF-8"),
            (gguf(kv: [str("general.alignment") + le(UInt32(4)) + le(UInt32(48))], tensors: [], data: []), "not a power of two"),
            (gguf(kv: [str("general.alignment") + le(UInt32(10)) + le(UInt64(64))], tensors: [], data: []), "general.alignment must be a uint32"),
            (gguf(kv: [], tensors: [okTensor, okTensor], data: [UInt8](repeating: 0, count: 64)), "tensor 'w' appears twice"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [1, 1, 1, 1, 1], type: 0, offset: 0)], data: []), "has 5 dimensions"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [2], type: 99, offset: 0)], data: []), "unknown ggml type 99"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [33], type: 8, offset: 0)], data: []), "not a whole number of Q8_0 blocks"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [UInt64(1) << 62, 8], type: 0, offset: 0)], data: []), "overflow"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [UInt64.max], type: 0, offset: 0)], data: []), "negative or too large"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [0, UInt64(1) << 40, UInt64(1) << 40], type: 0, offset: 0)], data: []), "overflow"),
            (gguf(kv: [], tensors: [tensorInfo("w", dims: [2], type: 0, offset: 4)], data: []), "not a multiple of the alignment 32"),
            (gguf(kv: [], tensors: [tensorInfo("blk.0.attn_q.weight", dims: [64], type: 0, offset: 0)], data: [UInt8](repeating: 0, count: 100)),
             "tensor 'blk.0.attn_q.weight': data [96, 352) extends past the end of the 196-byte file"),
            (gguf(kv: [], tensors: [tensorInfo("a", dims: [16], type: 0, offset: 0), tensorInfo("b", dims: [16], type: 0, offset: 32)], data: [UInt8](repeating: 0, count: 96)), "overlap"),
        ]
        for (b, want) in cases {
            let msg = errorMessage { _ = try GGUFFile(bytes: b, name: "m.gguf") } ?? "no error"
            #expect(msg.contains(want) && msg.hasPrefix("m.gguf: "), "expected '\(want)', got '\(msg)'")
        }
        // deep nesting is refused, not recursed into
        var nested = str("deep") + le(UInt32(9))
        for _ in 0..<100 { nested += le(UInt32(9)) + le(UInt64(1)) }
        let deep = gguf(kv: [nested + le(UInt32(0)) + le(UInt64(0))], tensors: [], data: [])
        #expect(errorMessage { _ = try GGUFFile(bytes: deep) }?.contains("nested deeper") == true)
        // types Lathe knows but cannot dequantize are refused by name
        let k = gguf(kv: [], tensors: [tensorInfo("q", dims: [256], type: 12, offset: 0)], data: [UInt8](repeating: 0, count: 144))
        #expect(errorMessage { _ = try GGUFFile(bytes: k, name: "k.gguf").tensor("q") } == "k.gguf: tensor 'q' is Q4_K, which Lathe cannot dequantize yet (supported: F32, F16, BF16, F64, Q8_0, Q4_0, Q4_1)")
    }

    @Test func survivesTruncationAndMutation() throws {
        let seed = try goldenBytes("tiny.gguf")
        let g = try GGUFFile(bytes: seed)
        var ok = 0, failed = 0
        func attempt(_ b: [UInt8]) {
            do {
                let f = try GGUFFile(bytes: b, name: "fuzz.gguf")
                for t in f.tensors { _ = try? f.tensor(t.name) }
                _ = try? f.tokenizer()
                ok += 1
            } catch {
                #expect(error.message.hasPrefix("fuzz.gguf: "), "\(error.message)")
                failed += 1
            }
        }
        // every truncation inside the header and tensor table fails; cuts in the data section fail
        // unless they only remove trailing padding
        for n in 0..<seed.count { attempt(Array(seed[0..<n])) }
        #expect(failed >= g.dataOffset)
        var m = Mutator(seed: 99)
        for _ in 0..<3000 { attempt(m.mutate(seed, headerRange: 24..<g.dataOffset)) }
        #expect(ok > 0 && failed > 0)
    }
}

// MARK: - the real SmolLM2 GGUF (fetched into the cache by scripts/fetch_models.sh)

/// The SmolLM2 GGUF in the model cache, fetching it first when it is missing.
func smolLM2Path() throws -> String {
    let cache = ProcessInfo.processInfo.environment["LATHE_CACHE"] ?? (NSHomeDirectory() + "/.cache/lathe")
    let path = cache + "/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
    if FileManager.default.fileExists(atPath: path) { return path }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = [repoRoot + "/scripts/fetch_models.sh", "smollm2"]
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
        throw LatheError("scripts/fetch_models.sh smollm2 failed (status \(p.terminationStatus)); the SmolLM2 GGUF is needed at \(path)")
    }
    return path
}

/// SHA-256 (FIPS 180-4), for comparing dequantized tensors with the golden digests.
func sha256(_ data: UnsafeRawBufferPointer) -> String {
    let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var tail = [UInt8](data[(data.count / 64 * 64)...])
    tail.append(0x80)
    while tail.count % 64 != 56 { tail.append(0) }
    tail += withUnsafeBytes(of: (UInt64(data.count) * 8).bigEndian) { Array($0) }
    var w = [UInt32](repeating: 0, count: 64)
    func block(_ p: UnsafeRawPointer) {
        for i in 0..<16 { w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        for i in 16..<64 {
            let s0 = (w[i - 15] >> 7 | w[i - 15] << 25) ^ (w[i - 15] >> 18 | w[i - 15] << 14) ^ (w[i - 15] >> 3)
            let s1 = (w[i - 2] >> 17 | w[i - 2] << 15) ^ (w[i - 2] >> 19 | w[i - 2] << 13) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for i in 0..<64 {
            let S1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
            let t1 = hh &+ S1 &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
            let S0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
            let t2 = S0 &+ ((a & b) ^ (a & c) ^ (b & c))
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
    }
    if let base = data.baseAddress {
        for off in stride(from: 0, to: data.count / 64 * 64, by: 64) { block(base + off) }
    }
    tail.withUnsafeBytes { t in for off in stride(from: 0, to: t.count, by: 64) { block(t.baseAddress! + off) } }
    return h.map { String(format: "%08x", $0) }.joined()
}

func sha256(_ t: Tensor) -> String {
    let a = t.toFloatArray()
    return a.withUnsafeBytes { sha256($0) }
}

@Suite(.serialized) struct SmolLM2GGUFTests {
    @Test func sha256Works() {
        #expect(Array("abc".utf8).withUnsafeBytes { sha256($0) } == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect([UInt8]().withUnsafeBytes { sha256($0) } == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = [UInt8](repeating: 0x61, count: 1000)
        #expect(long.withUnsafeBytes { sha256($0) } == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func metadataTokenizerAndConfig() throws {
        let want = try goldenJSON("smollm2.json")
        let g = try GGUFFile(path: try smolLM2Path())
        #expect(g.version == 3)
        #expect(g.tensors.count == want["tensor_count"]?.int)
        #expect(g.keys.count == want["kv_count"]?.int)
        #expect(g.alignment == want["alignment"]?.int)
        #expect(g.dataOffset == want["data_offset"]?.int)
        #expect(g.tensors.prefix(12).map(\.name) == (want["tensor_names_first"]?.items ?? []).compactMap(\.string))
        var counts: [String: Int] = [:]
        for t in g.tensors { counts[t.type.description, default: 0] += 1 }
        #expect(counts == ["Q8_0": 1, "F32": 61, "Q4_1": 210])
        for (k, v) in want["metadata"]?.members ?? [] {
            switch v {
            case .string(let s): #expect(g[k]?.string == s, "\(k)")
            case .bool(let b): #expect(g[k]?.bool == b, "\(k)")
            default:
                if let i = v.int { #expect(g[k]?.int == i, "\(k)") } else { #expect(g[k]?.double == v.double, "\(k)") }
            }
        }
        #expect(g["llama.block_count"]?.int == 30)
        #expect(g["llama.embedding_length"]?.int == 576)
        #expect(g["llama.attention.head_count"]?.int == 9)
        #expect(g["llama.attention.head_count_kv"]?.int == 3)
        #expect(g["llama.rope.freq_base"]?.double == 100000)

        let tok = try g.tokenizer()
        let wt = try #require(want["tokenizer"])
        #expect(tok.tokens.count == 49152)
        #expect(tok.merges.count == 48900)
        #expect(tok.model == "gpt2" && tok.pre == "smollm")
        #expect(Array(tok.tokens.prefix(20)) == (wt["first_tokens"]?.items ?? []).compactMap(\.string))
        #expect(tok.tokens[100] == wt["token_100"]?.string)
        #expect(tok.tokens.last == wt["last_token"]?.string)
        #expect(Array(tok.merges.prefix(5)) == (wt["first_merges"]?.items ?? []).compactMap(\.string))
        #expect(tok.merges.last == wt["last_merge"]?.string)
        #expect(tok.controlTokenIDs == wt["control_ids"]?.ints)
        #expect(tok.bosID == 1 && tok.eosID == 2 && tok.unknownID == 0 && tok.paddingID == 2)
        #expect(tok.tokens[1] == "<|im_start|>" && tok.tokens[2] == "<|im_end|>")
        let tmpl = try #require(tok.chatTemplate)
        #expect(tmpl.utf8.count == wt["chat_template_len"]?.int)
        #expect(Array(tmpl.utf8).withUnsafeBytes { sha256($0) } == wt["chat_template_sha256"]?.string)

        let cfg = try GGUFLlama.config(g)
        #expect(cfg.hiddenSize == 576 && cfg.intermediateSize == 1536 && cfg.numHiddenLayers == 30)
        #expect(cfg.numAttentionHeads == 9 && cfg.numKeyValueHeads == 3 && cfg.headDim == 64)
        #expect(cfg.ropeTheta == 100000 && cfg.rmsNormEps == 1e-5 && cfg.vocabSize == 49152)
        #expect(cfg.maxPositionEmbeddings == 8192 && cfg.tieWordEmbeddings)
        #expect(cfg.bosTokenID == 1 && cfg.eosTokenID == 2 && cfg.padTokenID == 2)
        let json = try JSONValue.parse(cfg.jsonText)
        #expect(json["num_key_value_heads"]?.int == 3 && json["rope_theta"]?.double == 100000)
        #expect(json["tie_word_embeddings"] == .bool(true) && json["architectures"] == .array([.string("LlamaForCausalLM")]))
        let mapped = g.tensors.compactMap { GGUFLlama.hfName(for: $0.name) }
        #expect(mapped.count == 272 && Set(mapped).count == 272)
        #expect(mapped.contains("model.layers.29.mlp.down_proj.weight") && !mapped.contains("lm_head.weight"))
    }

    @Test func dequantizedTensorsMatchGGUFPy() throws {
        let want = try goldenJSON("smollm2.json")
        let g = try GGUFFile(path: try smolLM2Path())
        let cfg = try GGUFLlama.config(g)
        for (name, e) in want["tensors"]?.members ?? [] {
            let t = try g.tensor(name)
            #expect(t.shape == e["shape"]?.ints, "\(name)")
            #expect(try g.info(name).type.description == e["type"]?.string)
            let a = t.toFloatArray()
            let idx = e["sample_index"]?.ints ?? []
            #expect(idx.map { a[$0].bitPattern } == e["sample_bits"]?.u32s, "\(name) samples")
            var sum = 0.0, abs = 0.0
            for v in a { sum += Double(v); abs += Double(Swift.abs(v)) }
            let ws = e["sum"]?.double ?? .nan, wa = e["abs_sum"]?.double ?? .nan
            #expect(Swift.abs(sum - ws) <= 1e-9 * max(1, wa), "\(name) sum \(sum) vs \(ws)")
            #expect(Swift.abs(abs - wa) <= 1e-9 * max(1, wa), "\(name) abs sum")
            if t.count <= 1_000_000 {
                #expect(sha256(t) == e["sha256_f32"]?.string, "\(name) digest")
            }
            if let u = e["unpermuted_sha256_f32"]?.string {
                let (hf, ut) = try GGUFLlama.hfTensor(g, name, config: cfg)
                #expect(hf.hasSuffix(name.contains("attn_q") ? "self_attn.q_proj.weight" : "self_attn.k_proj.weight"))
                #expect(sha256(ut) == u, "\(name) un-permuted digest")
                let ua = ut.toFloatArray()
                #expect(idx.map { ua[$0].bitPattern } == e["unpermuted_sample_bits"]?.u32s)
            }
        }
    }
}
