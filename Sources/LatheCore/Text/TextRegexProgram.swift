import Foundation

/// One instruction of a compiled pattern. `char`: consume a character of class `a`, go to `b`;
/// `split`: try `a`, then `b`; `jmp`: go to `a`; `assert`: zero-width test `a`, go to `b`;
/// `look`: lookaround `a` holds here, go to `b`; `match`: done.
struct TextRegexInst {
    var op: UInt8
    var a: Int32
    var b: Int32

    static let char: UInt8 = 0, split: UInt8 = 1, jmp: UInt8 = 2, assert: UInt8 = 3, look: UInt8 = 4, match: UInt8 = 5
}

/// A program: instructions and the entry.
struct TextRegexCode {
    var insts: [TextRegexInst]
    var start: Int32
}

/// A lookaround: its body's program (compiled backwards for a lookahead, forwards for a
/// lookbehind: see `TextRegexRun.lookTable`).
struct TextRegexLook {
    var code: TextRegexCode
    var behind: Bool
    var negate: Bool
}

/// A compiled regular expression with Oniguruma's semantics (leftmost match, alternatives and
/// quantifiers in priority order, Oniguruma's empty-loop rule), run in time linear in pattern
/// size times text length: see `TextRegexRun`.
public struct TextRegexProgram: @unchecked Sendable {
    public let source: String
    let main: TextRegexCode
    let looks: [TextRegexLook]
    let classes: [TextCharClass]
    /// A pattern that is one class (`C`, `C+?`: every character its own match) or a greedy run
    /// (`C+`) is scanned directly.
    let single: (cls: Int, run: Bool)?
    /// Classes that can consume the first character of a match, when every match consumes one
    /// first (no assertion or empty match at the start): positions no class accepts are skipped.
    let first: [Int]?

    /// Largest program, in instructions (counted repeats are expanded).
    static let maxInsts = 100_000

    public init(_ pattern: String) throws(LatheError) {
        var parser = TextRegexParser(pattern)
        let root = try parser.parse()
        var c = TextRegexCompiler(pattern: pattern, lookCount: parser.lookCount)
        main = try c.compileMain(root)
        // a lookaround inside a repeat of zero, x{0}, is never emitted nor reached
        let unused = TextRegexLook(code: TextRegexCode(insts: [TextRegexInst(op: TextRegexInst.match, a: 0, b: 0)], start: 0),
                                   behind: false, negate: false)
        looks = c.looks.map { $0 ?? unused }
        classes = c.classes
        source = pattern
        single = TextRegexProgram.singleClass(root)
        first = TextRegexProgram.firstClasses(main)
    }

    static func singleClass(_ root: TextRegexNode) -> (Int, Bool)? {
        func strip(_ n: TextRegexNode) -> TextRegexNode {
            var n = n
            while case .group(let x) = n { n = x }
            return n
        }
        // class 0 is the pattern's only class (a repeat compiles copies of the same one)
        switch strip(root) {
        case .set: return (0, false)
        case .rep(let x, min: 1, max: -1, greedy: let greedy):
            if case .set = strip(x) { return (0, greedy) }
            return nil
        default: return nil
        }
    }

    static func firstClasses(_ code: TextRegexCode) -> [Int]? {
        var out: [Int] = []
        var seen = Set<Int32>()
        var stack = [code.start]
        while let pc = stack.popLast() {
            if !seen.insert(pc).inserted { continue }
            let ins = code.insts[Int(pc)]
            switch ins.op {
            case TextRegexInst.char: if !out.contains(Int(ins.a)) { out.append(Int(ins.a)) }
            case TextRegexInst.split: stack.append(ins.b); stack.append(ins.a)
            case TextRegexInst.jmp: stack.append(ins.a)
            default: return nil
            }
        }
        return out
    }
}

/// Turns a parsed pattern into programs. Code is emitted back to front: each node is compiled
/// with the program counter of what follows it.
struct TextRegexCompiler {
    let pattern: String
    var insts: [TextRegexInst] = []
    var classes: [TextCharClass] = []
    var looks: [TextRegexLook?]

    init(pattern: String, lookCount: Int) {
        self.pattern = pattern
        looks = Array(repeating: nil, count: lookCount)
    }

    mutating func compileMain(_ root: TextRegexNode) throws(LatheError) -> TextRegexCode {
        insts = [TextRegexInst(op: TextRegexInst.match, a: 0, b: 0)]
        let start = try emit(root, 0, reversed: false)
        return TextRegexCode(insts: insts, start: start)
    }

    mutating func add(_ op: UInt8, _ a: Int32, _ b: Int32) throws(LatheError) -> Int32 {
        if insts.count >= TextRegexProgram.maxInsts {
            throw LatheError("regular expression \(pattern.debugDescription): too large once its repeats are expanded (more than \(TextRegexProgram.maxInsts) instructions)")
        }
        insts.append(TextRegexInst(op: op, a: a, b: b))
        return Int32(insts.count - 1)
    }

    mutating func classIndex(_ s: TextCharSet) -> Int32 {
        classes.append(TextCharClass(s))
        return Int32(classes.count - 1)
    }

    /// `reversed`: concatenations run last to first (lookahead bodies, matched right to left).
    mutating func emit(_ n: TextRegexNode, _ next: Int32, reversed rev: Bool) throws(LatheError) -> Int32 {
        switch n {
        case .empty: return next
        case .set(let s): return try add(TextRegexInst.char, classIndex(s), next)
        case .group(let x): return try emit(x, next, reversed: rev)
        case .concat(let xs):
            var k = next
            for x in (rev ? xs : xs.reversed()) { k = try emit(x, k, reversed: rev) }
            return k
        case .alt(let xs):
            var entries: [Int32] = []
            for x in xs { entries.append(try emit(x, next, reversed: rev)) }
            var k = entries[entries.count - 1]
            for e in entries.dropLast().reversed() { k = try add(TextRegexInst.split, e, k) }
            return k
        case .assert(let a): return try add(TextRegexInst.assert, a.rawValue, next)
        case .look(let idx, let body, let behind, let negate):
            if looks[idx] == nil {
                let saved = insts
                insts = [TextRegexInst(op: TextRegexInst.match, a: 0, b: 0)]
                let start = try emit(body, 0, reversed: !behind)
                looks[idx] = TextRegexLook(code: TextRegexCode(insts: insts, start: start), behind: behind, negate: negate)
                insts = saved
            }
            return try add(TextRegexInst.look, Int32(idx), next)
        case .rep(let x, let mn, let mx, let greedy):
            var k = next
            if mx < 0 {
                k = try star(x, next, greedy, rev)
            } else {
                for _ in 0..<(mx - mn) { k = try optional(x, k, exit: next, greedy, rev) }
            }
            for _ in 0..<mn { k = try emit(x, k, reversed: rev) }
            return k
        }
    }

    mutating func star(_ x: TextRegexNode, _ next: Int32, _ greedy: Bool, _ rev: Bool) throws(LatheError) -> Int32 {
        let loop = try add(TextRegexInst.split, 0, 0)
        let body = x.nullable && !rev ? try emitEmptyChecked(x, consumed: loop, empty: next)
                                      : try emit(x, loop, reversed: rev)
        insts[Int(loop)] = TextRegexInst(op: TextRegexInst.split, a: greedy ? body : next, b: greedy ? next : body)
        return loop
    }

    /// One optional iteration of a counted repeat: its body continues to `cont` (the next
    /// iteration), or leaves the repeat at `exit` after an empty iteration.
    mutating func optional(_ x: TextRegexNode, _ cont: Int32, exit: Int32, _ greedy: Bool, _ rev: Bool) throws(LatheError) -> Int32 {
        let body = x.nullable && !rev ? try emitEmptyChecked(x, consumed: cont, empty: exit)
                                      : try emit(x, cont, reversed: rev)
        return try add(TextRegexInst.split, greedy ? body : exit, greedy ? exit : body)
    }

    /// A loop body with Oniguruma's empty check: an iteration that consumed nothing leaves the
    /// loop (`empty`) instead of looping again (`consumed`). The body is emitted twice: copy B
    /// (something consumed) ends at `consumed`; copy A (nothing consumed yet) ends at `empty`, and
    /// each of its character steps continues in copy B. (a|)* then matches "aa" as Oniguruma does,
    /// and (|a)* matches the empty string.
    mutating func emitEmptyChecked(_ x: TextRegexNode, consumed: Int32, empty: Int32) throws(LatheError) -> Int32 {
        let baseB = Int32(insts.count)
        _ = try emit(x, consumed, reversed: false)
        let baseA = Int32(insts.count)
        let entryA = try emit(x, empty, reversed: false)
        let endA = Int32(insts.count)
        let delta = baseB - baseA
        for pc in Int(baseA)..<Int(endA) where insts[pc].op == TextRegexInst.char {
            let t = insts[pc].b
            if t >= baseA && t < endA {
                insts[pc].b = t + delta
            } else if t == empty {
                insts[pc].b = consumed
            }
        }
        return entryA
    }
}
