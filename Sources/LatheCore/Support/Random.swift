import CGemm
import Foundation
import CLatheCore

/// The one seeded random generator (`lathe.seed`). xoshiro256** seeded through SplitMix64:
/// the same seed gives the same stream on every run and machine.
public struct RandomGenerator: Sendable {
    public private(set) var seed: UInt64
    private var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
    private var cachedNormal: Double? = nil

    public init(seed: UInt64) {
        self.seed = seed
        reseed(seed)
    }

    public mutating func reseed(_ seed: UInt64) {
        self.seed = seed
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x); s1 = splitmix(&x); s2 = splitmix(&x); s3 = splitmix(&x)
        cachedNormal = nil
    }

    /// The full generator state, for checkpoints (4 words plus the cached normal).
    public var state: [UInt64] {
        [seed, s0, s1, s2, s3, cachedNormal.map { $0.bitPattern } ?? 0, cachedNormal == nil ? 0 : 1]
    }
    public mutating func restore(_ st: [UInt64]) -> Bool {
        guard st.count == 7 else { return false }
        seed = st[0]; s0 = st[1]; s1 = st[2]; s2 = st[3]; s3 = st[4]
        cachedNormal = st[6] == 1 ? Double(bitPattern: st[5]) : nil
        return true
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 &- k))
    }

    @inline(__always) public mutating func next() -> UInt64 {
        let result = RandomGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = RandomGenerator.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always) public mutating func uniform() -> Double {
        Double(next() >> 11) * (1.0 / 9007199254740992.0)
    }

    /// Uniform float in [0, 1) with 24 random bits.
    @inline(__always) public mutating func uniformFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16777216.0)
    }

    /// Standard normal (Marsaglia polar method).
    public mutating func normal() -> Double {
        if let c = cachedNormal { cachedNormal = nil; return c }
        while true {
            let u = 2 * uniform() - 1, v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let m = (-2 * _log(s) / s).squareRoot()
                cachedNormal = v * m
                return u * m
            }
        }
    }

    /// Uniform integer in 0..<n (n > 0), unbiased (Lemire).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(below64(UInt64(n)))
    }

    /// Uniform integer in 0..<bound (bound > 0), unbiased (Lemire); spans up to 2^64 - 1.
    public mutating func below64(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let t = (0 &- bound) % bound
            while m.low < t { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }

    /// A random permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }
}

@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
