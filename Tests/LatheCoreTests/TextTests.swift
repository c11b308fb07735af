import Foundation
import Testing
import LatheCore

@Suite struct TextTests {
    @Test func jsonRoundTrip() throws {
        let j = try TextJSON.parse(#"{"a": [1, 2.5, "x\n\u00e9"], "b": null, "c": true}"#)
        #expect(j["a"]?.arrayValue?.count == 3)
        #expect(j["c"]?.boolValue == true)
    }
}
