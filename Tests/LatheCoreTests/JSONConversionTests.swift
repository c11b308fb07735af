import Testing
import LatheCore

/// What the json module relies on in LatheCore: numbers as integers or doubles, shortest
/// doubles, errors by line and column, and the paths encode errors name.
@Suite struct JSONConversionTests {
    @Test func numbersAreIntegersWhenTheyFit64Bits() throws {
        let v = try JSONValue.parse("[17, -0, 1e2, 2.5, 9223372036854775807, 9223372036854775808]")
        guard case .array(let a) = v else { Issue.record("not an array"); return }
        #expect(a.map(\.number) == [.int(17), .int(0), .double(100), .double(2.5), .int(Int64.max), .double(9223372036854775808.0)])
        #expect(JSONValue.string("1").number == nil)
        if case .double(let x)? = JSONValue.number("NaN").number { #expect(x.isNaN) } else { Issue.record("NaN is not a double") }
    }

    @Test func doublesAreWrittenShortest() {
        #expect([0.1, 3.0, 1e-7, 1e16, 5e-324, -0.0].map { JSONValue.number($0) }
                == ["0.1", "3.0", "1e-07", "1e+16", "5e-324", "-0.0"].map { JSONValue.number($0) })
        #expect(JSONValue.number(Double.infinity) == .number("Infinity") && JSONValue.number(-Double.infinity) == .number("-Infinity"))
    }

    @Test func errorsNameLineAndColumn() {
        let text = Array("{\"a\": \"é\",\n \"b\": 2,}".utf8)
        let msg = errorMessage { _ = try text.withUnsafeBytes { (b) throws(LatheError) in try JSONValue.parseReportingLines(b) } }
        #expect(msg == "invalid JSON at line 2, column 9: expected a string key, got '}'")
        let first = Array("[é, 1]".utf8)
        let msg2 = errorMessage { _ = try first.withUnsafeBytes { (b) throws(LatheError) in try JSONValue.parseReportingLines(b) } }
        #expect(msg2?.hasPrefix("invalid JSON at line 1, column 2: ") == true)
    }

    @Test func pathsNameKeysAndIndices() {
        var p = JSONPath()
        p.steps = [.key("a"), .index(2), .key("odd key"), .key("1a"), .key("_x9")]
        #expect(p.description == "$.a[2][\"odd key\"][\"1a\"]._x9")
        p.steps = Array(repeating: .index(1), count: 13)
        #expect(p.description == "$[1][1][1][1][1][1][...3 more...][1][1][1][1]")
        #expect(JSONPath().description == "$")
    }
}
