/// The one comparison of numbers in Lathe's Swift tests: |got - want| <= atol + rtol * |want|,
/// written so that NaN fails it (NaN matches only NaN) and infinities match only themselves.
public func isClose(_ got: Double, _ want: Double, rtol: Double, atol: Double = 0) -> Bool {
    if got.isNaN || want.isNaN { return got.isNaN && want.isNaN }
    if got == want { return true }
    if got.isInfinite || want.isInfinite { return false }
    let ok = abs(got - want) <= atol + rtol * abs(want)
    return ok
}

/// nil when every element is close, else a description of the first that is not.
public func firstMismatch<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(
    _ got: [A], _ want: [B], rtol: Double, atol: Double = 0, describe: ((Int) -> String)? = nil
) -> String? {
    guard got.count == want.count else { return "sizes \(got.count) and \(want.count) differ" }
    for i in 0..<got.count where !isClose(Double(got[i]), Double(want[i]), rtol: rtol, atol: atol) {
        return "element \(i)\(describe.map { " (\($0(i)))" } ?? ""): got \(Double(got[i])), want \(Double(want[i]))"
    }
    return nil
}

/// The largest error |got - want| / max(1, |want|) (or absolute, with `relative: false`);
/// infinity when the sizes differ or NaN meets a number, so `maxError(...) <= tol` fails then.
public func maxError<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ got: [A], _ want: [B], relative: Bool = true) -> Double {
    guard got.count == want.count else { return .infinity }
    var worst = 0.0
    for (g, w) in zip(got, want) {
        let x = Double(g), y = Double(w)
        if x.isNaN || y.isNaN {
            if x.isNaN && y.isNaN { continue }
            return .infinity
        }
        if x == y { continue }
        let e = abs(x - y) / (relative ? max(1, abs(y)) : 1)
        if !(e <= worst) { worst = e.isNaN ? .infinity : e }
    }
    return worst
}
