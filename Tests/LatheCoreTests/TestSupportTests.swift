import TestSupport
import Testing

/// The comparison helpers every test relies on must fail on NaN (NaN matches only NaN).
@Suite struct ComparisonHelperTests {
    @Test func nanNeverPasses() {
        let nan = Double.nan
        #expect(!isClose(nan, 1, rtol: 1e-3))
        #expect(!isClose(1, nan, rtol: 1e-3))
        #expect(isClose(nan, nan, rtol: 1e-3))
        #expect(isClose(.infinity, .infinity, rtol: 1e-3))
        #expect(!isClose(.infinity, -.infinity, rtol: 1e-3))
        #expect(!isClose(.infinity, 1e300, rtol: 1e-3))
        #expect(isClose(1 + 1e-9, 1, rtol: 1e-6))
        #expect(!isClose(1.1, 1, rtol: 1e-6))
        #expect(firstMismatch([Float(1), .nan], [1.0, 2.0], rtol: 1e-3) != nil)
        #expect(firstMismatch([Float(1), .nan], [1.0, .nan], rtol: 1e-3) == nil)
        #expect(firstMismatch([Float(1)], [1.0, 2.0], rtol: 1e-3) != nil)
        #expect(!(maxError([1.0, .nan], [1.0, 2.0]) <= 1e-3))
        #expect(!(maxError([1.0, 2.0], [1.0, .nan]) <= 1e-3))
        #expect(maxError([1.0, .nan], [1.0, .nan]) == 0)
        #expect(maxError([Float(1)], [1.0, 2.0]) == .infinity)
        #expect(maxError([1.5], [1.0], relative: false) == 0.5)
    }
}
