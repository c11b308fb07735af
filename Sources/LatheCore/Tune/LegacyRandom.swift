/// A port of the part of numpy's legacy `np.random.RandomState` (MT19937) that Optuna's
/// TPESampler and RandomSampler consume, reproducing numpy's output bit for bit.
///
/// Seeding: `RandomState(seed)` with an integer seed in [0, 2^32) goes through numpy's
/// `_legacy_seeding`, which calls `mt19937_seed` (Knuth's linear recurrence, i.e. the reference
/// `init_genrand`), not `init_by_array`. `init(initByArray:)` is the array-seed path
/// (`RandomState([k0, k1, ...])`), kept for completeness.

import Foundation

public struct LegacyRandomState: Sendable {
    private static let n = 624
    private static let m = 397
    private var key: [UInt32]
    private var pos: Int

    /// `np.random.RandomState(seed)` for an integer seed.
    public init(seed: UInt32) {
        var key = [UInt32](repeating: 0, count: Self.n)
        var s = seed
        for i in 0..<Self.n {
            key[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
        self.key = key
        self.pos = Self.n
    }

    /// `np.random.RandomState(array_of_uint32)`: MT19937 `init_by_array`.
    public init(initByArray initKey: [UInt32]) {
        precondition(!initKey.isEmpty, "init_by_array needs at least one word")
        var mt = [UInt32](repeating: 0, count: Self.n)
        mt[0] = 19_650_218
        for i in 1..<Self.n {
            mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
        var i = 1, j = 0
        var k = max(Self.n, initKey.count)
        while k > 0 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ initKey[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= Self.n { mt[0] = mt[Self.n - 1]; i = 1 }
            if j >= initKey.count { j = 0 }
            k -= 1
        }
        k = Self.n - 1
        while k > 0 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= Self.n { mt[0] = mt[Self.n - 1]; i = 1 }
            k -= 1
        }
        mt[0] = 0x8000_0000
        self.key = mt
        self.pos = Self.n
    }

    private mutating func generate() {
        let upper: UInt32 = 0x8000_0000, lower: UInt32 = 0x7fff_ffff, matrixA: UInt32 = 0x9908_b0df
        var i = 0
        while i < Self.n - Self.m {
            let y = (key[i] & upper) | (key[i + 1] & lower)
            key[i] = key[i + Self.m] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : matrixA)
            i += 1
        }
        while i < Self.n - 1 {
            let y = (key[i] & upper) | (key[i + 1] & lower)
            key[i] = key[i + Self.m - Self.n] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : matrixA)
            i += 1
        }
        let y = (key[Self.n - 1] & upper) | (key[0] & lower)
        key[Self.n - 1] = key[Self.m - 1] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : matrixA)
        pos = 0
    }

    /// One tempered 32-bit output (`mt19937_next32`).
    public mutating func nextUInt32() -> UInt32 {
        if pos == Self.n { generate() }
        var y = key[pos]
        pos += 1
        y ^= (y >> 11)
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= (y >> 18)
        return y
    }

    /// `random_sample()`: a double in [0, 1) with 53 random bits from two 32-bit draws.
    public mutating func randomSample() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(low, high)`: `low + (high - low) * random_sample()`.
    public mutating func uniform(low: Double, high: Double) -> Double {
        low + (high - low) * randomSample()
    }

    /// `choice(len(p), p=p, size=size)` (with replacement): cdf = cumsum(p) / cdf[-1], one
    /// `random_sample()` per draw, `searchsorted(side="right")`.
    public mutating func choice(probabilities p: [Double], size: Int) -> [Int] {
        precondition(!p.isEmpty, "choice needs a non-empty p")
        var cdf = [Double](repeating: 0, count: p.count)
        var acc = 0.0
        for i in 0..<p.count { acc += p[i]; cdf[i] = acc }
        let last = cdf[cdf.count - 1]
        for i in 0..<cdf.count { cdf[i] /= last }
        var out = [Int]()
        out.reserveCapacity(size)
        for _ in 0..<size {
            let u = randomSample()
            // searchsorted right: number of cdf entries <= u.
            var lo = 0, hi = cdf.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if cdf[mid] <= u { lo = mid + 1 } else { hi = mid }
            }
            out.append(lo)
        }
        return out
    }
}
