import Foundation

/// Options of chrF / chrF++, named as in sacrebleu.
public struct CHRFOptions: Sendable {
    public var charOrder = 6
    /// 0 for chrF, 2 for chrF++.
    public var wordOrder = 0
    public var beta: Double = 2
    public var lowercase = false
    /// Keep whitespace inside character n-grams.
    public var whitespace = false
    /// chrF++.py-style epsilon smoothing instead of sacrebleu's effective order.
    public var epsSmoothing = false
    public init() {}
}

/// A chrF result.
public struct CHRFScore: Sendable {
    public var score: Double
    public var name: String
    public var signature: String
    /// Summed [hyp, ref, match] counts per order (character orders, then word orders).
    public var statistics: [Int]
    public var text: String { "\(name) = \(pyFixed(score, 2))" }
}

/// chrF and chrF++ exactly as sacrebleu 2.6.0 computes them.
public final class CHRF {
    public let options: CHRFOptions
    /// n-gram ids of the current segment (characters, words)
    let charGrams = LocalInterner(capacity: 2048)
    let wordGrams = LocalInterner(capacity: 256)
    let words = ByteInterner(capacity: 1 << 12)
    var hc: [Int32] = []
    var rc: [Int32] = []
    static let puncts: Set<UInt8> = Set(Array("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".utf8))

    public init(_ options: CHRFOptions = CHRFOptions()) throws(LatheError) {
        // the bounds first: the sum below must not overflow
        if options.charOrder > 32 || options.wordOrder > 16 {
            throw LatheError("char_order must be at most 32 and word_order at most 16")
        }
        if options.charOrder < 0 || options.wordOrder < 0 || options.charOrder + options.wordOrder == 0 {
            throw LatheError("char_order and word_order must be non-negative and not both 0 (got \(options.charOrder) and \(options.wordOrder))")
        }
        if !(options.beta >= 0 && options.beta.isFinite) { throw LatheError("beta must be a non-negative finite number (got \(options.beta))") }
        self.options = options
    }

    var order: Int { options.charOrder + options.wordOrder }

    /// N-gram ids per order for a segment: char orders first, then word orders.
    func grams(_ raw: String) -> [[Int32]] {
        let s = options.lowercase ? PyText.lower(raw) : raw
        var out: [[Int32]] = []
        // characters (code points), whitespace removed unless asked to keep it
        var chars: [Int32] = []
        for u in s.unicodeScalars where options.whitespace || !PyText.isSpace(u.value) {
            chars.append(Int32(bitPattern: u.value))
        }
        var prev = [Int32](repeating: -1, count: chars.count)
        for n in 1...max(options.charOrder, 1) where n <= options.charOrder {
            var ids: [Int32] = []
            if chars.count >= n {
                ids.reserveCapacity(chars.count - n + 1)
                for i in 0...(chars.count - n) {
                    let id = charGrams.intern(NgramKey.pair(prev[i], chars[i + n - 1]))
                    prev[i] = id
                    ids.append(id)
                }
            }
            out.append(ids)
        }
        if options.wordOrder > 0 {
            var toks: [Int32] = []
            var bytes = Array(s.utf8)
            var ranges: [Range<Int>] = []
            bytes.withUnsafeBufferPointer { PyText.splitRanges($0, into: &ranges) }
            bytes.withUnsafeMutableBufferPointer { mp in
                let p = UnsafeBufferPointer(mp)
                for r in ranges {
                    var cps = 0
                    for i in r where p[i] & 0xC0 != 0x80 { cps += 1 }
                    if cps == 1 {
                        toks.append(words.intern(p, r))
                    } else if CHRF.puncts.contains(p[r.upperBound - 1]) {
                        toks.append(words.intern(p, r.lowerBound..<(r.upperBound - 1)))
                        toks.append(words.intern(p, (r.upperBound - 1)..<r.upperBound))
                    } else if CHRF.puncts.contains(p[r.lowerBound]) {
                        toks.append(words.intern(p, r.lowerBound..<(r.lowerBound + 1)))
                        toks.append(words.intern(p, (r.lowerBound + 1)..<r.upperBound))
                    } else {
                        toks.append(words.intern(p, r))
                    }
                }
            }
            var wprev = [Int32](repeating: -1, count: toks.count)
            for n in 1...options.wordOrder {
                var ids: [Int32] = []
                if toks.count >= n {
                    for i in 0...(toks.count - n) {
                        let id = wordGrams.intern(NgramKey.pair(wprev[i], toks[i + n - 1]))
                        wprev[i] = id
                        ids.append(id)
                    }
                }
                out.append(ids)
            }
        }
        return out
    }

    /// [hyp, ref, match] per order for one hypothesis/reference pair.
    func matchStatistics(_ h: [[Int32]], _ r: [[Int32]]) -> [Int] {
        let size = max(charGrams.count, wordGrams.count)
        if hc.count < size {
            hc.append(contentsOf: repeatElement(0, count: size - hc.count))
            rc.append(contentsOf: repeatElement(0, count: size - rc.count))
        }
        var stats: [Int] = []
        stats.reserveCapacity(3 * h.count)
        for o in 0..<h.count {
            for id in r[o] { rc[Int(id)] += 1 }
            for id in h[o] { hc[Int(id)] += 1 }
            var match = 0
            for id in h[o] {
                let k = Int(id)
                if hc[k] > 0 {
                    match += Int(min(hc[k], rc[k]))
                    hc[k] = 0  // count each distinct n-gram once
                }
            }
            for id in r[o] { rc[Int(id)] = 0 }
            stats.append(r[o].isEmpty ? 0 : h[o].count)
            stats.append(r[o].count)
            stats.append(match)
        }
        return stats
    }

    /// sacrebleu's `_compute_f_score` (0-100).
    public func fScore(_ stats: [Int]) -> Double {
        let eps = 1e-16
        var score = 0.0
        var effectiveOrder = 0
        let factor = options.beta * options.beta
        var avgPrec = 0.0, avgRec = 0.0
        for i in 0..<order {
            let nHyp = stats[3 * i], nRef = stats[3 * i + 1], nMatch = stats[3 * i + 2]
            let prec = nHyp > 0 ? Double(nMatch) / Double(nHyp) : eps
            let rec = nRef > 0 ? Double(nMatch) / Double(nRef) : eps
            let denom = factor * prec + rec
            score += denom > 0 ? ((1 + factor) * prec * rec / denom) : eps
            if nHyp > 0 && nRef > 0 {
                avgPrec += prec
                avgRec += rec
                effectiveOrder += 1
            }
        }
        if options.epsSmoothing { return 100 * score / Double(order) }
        if effectiveOrder == 0 {
            avgPrec = 0; avgRec = 0
        } else {
            avgPrec /= Double(effectiveOrder)
            avgRec /= Double(effectiveOrder)
        }
        if avgPrec + avgRec != 0 {
            var s = (1 + factor) * avgPrec * avgRec
            s /= (factor * avgPrec) + avgRec
            return 100 * s
        }
        return 0
    }

    /// Per-segment statistics: against each reference, the one with the best F wins.
    public func segmentStatistics(_ hyps: [String], _ refs: [[String?]]) throws -> [[Int]] {
        var out: [[Int]] = []
        out.reserveCapacity(hyps.count)
        for (i, h) in hyps.enumerated() {
            if i & 1023 == 0 { try Interrupt.check() }
            charGrams.reset()
            wordGrams.reset()
            let hg = grams(h)
            var best: [Int] = []
            var bestF = -1.0
            for r in refs[i] {
                guard let r else { continue }
                let st = matchStatistics(hg, grams(r))
                let f = fScore(st)
                if f > bestF { bestF = f; best = st }
            }
            out.append(best)
        }
        return out
    }

    public var name: String {
        let b = options.beta == options.beta.rounded() && abs(options.beta) < 1e15 ? String(Int(options.beta)) : String(options.beta)
        return "chrF\(b)" + String(repeating: "+", count: options.wordOrder)
    }

    public func signature(nrefs: String) -> String {
        "nrefs:\(nrefs)|case:\(options.lowercase ? "lc" : "mixed")|eff:\(options.epsSmoothing ? "no" : "yes")|nc:\(options.charOrder)|nw:\(options.wordOrder)|space:\(options.whitespace ? "yes" : "no")|version:\(sacrebleuVersion)"
    }

    public func score(fromTotals stats: [Int], nrefs: String) -> CHRFScore {
        CHRFScore(score: fScore(stats), name: name, signature: signature(nrefs: nrefs), statistics: stats)
    }

    /// Corpus chrF: `refs` is a list of reference streams (sacrebleu's argument shape).
    public func corpus(_ hyps: [String], _ refs: [[String?]]) throws -> CHRFScore {
        let (segRefs, nrefs) = try transposeReferences(hyps.count, refs)
        let stats = try segmentStatistics(hyps, segRefs)
        var sum = [Int](repeating: 0, count: 3 * order)
        for s in stats where s.count == sum.count { for k in 0..<sum.count { sum[k] += s[k] } }
        return score(fromTotals: sum, nrefs: nrefs)
    }

    public func sentence(_ hyp: String, _ refs: [String]) throws -> CHRFScore {
        try corpus([hyp], refs.map { [$0] })
    }
}
