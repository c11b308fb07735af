import Testing
import LatheCore

@Suite struct MetricsSmoke {
    @Test func accuracy() throws {
        let e = try EncodedLabels([.ints([1, 0, 1]), .ints([1, 1, 1])])
        #expect(Classification.accuracy(e) == 2.0 / 3.0)
    }
}
