import Foundation

extension TextRegexProgram {
    /// Which matcher runs: `automatic` takes the backtracker while its visited set fits in
    /// `maxVisitedBits`, the Pike VM beyond. Both give the same matches.
    public enum Engine: Sendable {
        case automatic, backtrack, pike
    }

    /// Size of the backtracker's visited set (instructions x text positions) above which the
    /// Pike VM runs instead, bounding memory to 8 MB.
    static let maxVisitedBits = 1 << 26

    /// Every match of the pattern in UTF-8 text, left to right and not overlapping, as byte
    /// offsets: the onig crate's `find_iter`, which Hugging Face tokenizers use (an empty match
    /// where the previous match ended is skipped). Throws `LatheError.interrupted` on Ctrl-C.
    public func matches(in text: String, engine: Engine = .automatic) throws(LatheError) -> [(start: Int, end: Int)] {
        var out: [(start: Int, end: Int)] = []
        var bytes = Array(text.utf8)
        bytes.append(0)  // a valid pointer for the empty text; not part of the text
        var failure: LatheError?
        bytes.withUnsafeBufferPointer { buf in
            do throws(LatheError) {
                try forEachMatch(buf.baseAddress!, buf.count - 1, engine: engine) { out.append((start: $0, end: $1)) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return out
    }

    func forEachMatch(_ p: UnsafePointer<UInt8>, _ n: Int, engine: Engine = .automatic,
                      _ body: (Int, Int) -> Void) throws(LatheError) {
        if let (cls, run) = single {
            try scanSingle(p, n, classes[cls], run: run, body)
            return
        }
        let r = TextRegexRun(self, p, n)
        let useBacktrack: Bool
        switch engine {
        case .automatic: useBacktrack = main.insts.count * (n + 1) <= TextRegexProgram.maxVisitedBits
        case .backtrack: useBacktrack = true
        case .pike: useBacktrack = false
        }
        if useBacktrack {
            try r.backtrackAll(body)
        } else {
            try r.findIter({ (from: Int) throws(LatheError) -> (Int, Int)? in try r.pikeSearch(from) }, body)
        }
    }

    /// `C` (each character its own match) or `C+` (maximal runs).
    func scanSingle(_ p: UnsafePointer<UInt8>, _ n: Int, _ cls: TextCharClass, run: Bool,
                    _ body: (Int, Int) -> Void) throws(LatheError) {
        var i = 0
        var runStart = -1
        var count = 0
        while i < n {
            count &+= 1
            if count & 0xFFFF == 0 { try Interrupt.check() }
            let (v, l) = TextChar.decode(p, i, n)
            if cls.matches(v) {
                if !run { body(i, i + l) } else if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                body(runStart, i)
                runStart = -1
            }
            i += l
        }
        if runStart >= 0 { body(runStart, n) }
    }
}

/// A set of program counters with O(1) insert, membership and clear.
struct TextRegexSparseSet {
    var dense: [Int32]
    var sparse: [Int32]
    var count = 0

    init(_ capacity: Int) {
        dense = [Int32](repeating: 0, count: capacity)
        sparse = [Int32](repeating: 0, count: capacity)
    }

    @inline(__always) func contains(_ pc: Int32) -> Bool {
        let s = Int(sparse[Int(pc)])
        return s < count && dense[s] == pc
    }

    @inline(__always) mutating func insert(_ pc: Int32) {
        sparse[Int(pc)] = Int32(count)
        dense[count] = pc
        count += 1
    }
}

/// Matching one program over one text. Lookarounds are answered from per-position tables
/// computed once for the whole text (a lookahead by running its body backwards from the end,
/// a lookbehind forwards from the start, each a set simulation in O(body x text)), so every
/// assertion is O(1) and the main matchers stay linear:
/// - the backtracker (RE2's BitState) explores (instruction, position) states in priority order
///   and never revisits one; a state's outcome does not depend on how it was reached, so the
///   visited set is kept across the successive searches of `find_iter` (only the positions at a
///   match's end are cleared), and all matches together cost O(program x text);
/// - the Pike VM runs threads in priority order in lockstep (O(program) per character per
///   search) with memory O(program).
final class TextRegexRun {
    let prog: TextRegexProgram
    let p: UnsafePointer<UInt8>
    let n: Int
    var lookTables: [[Bool]?]
    var steps = 0

    init(_ prog: TextRegexProgram, _ p: UnsafePointer<UInt8>, _ n: Int) {
        self.prog = prog
        self.p = p
        self.n = n
        lookTables = Array(repeating: nil, count: prog.looks.count)
    }

    /// Polls Ctrl-C every few thousand steps.
    @inline(__always) func poll() throws(LatheError) {
        steps &+= 1
        if steps & 4095 == 0 { try Interrupt.check() }
    }

    @inline(__always) func decode(_ i: Int) -> (UInt32, Int) { TextChar.decode(p, i, n) }

    @inline(__always) func prevStart(_ i: Int) -> Int {
        var k = i - 1
        while k > 0 && p[k] & 0xC0 == 0x80 { k -= 1 }
        return k
    }

    func holds(_ kind: Int32, _ pos: Int) -> Bool {
        switch TextRegexAssert(rawValue: kind)! {
        case .lineStart: return pos == 0 || (pos < n && p[pos - 1] == 0x0A)
        case .lineEnd: return pos == n || p[pos] == 0x0A
        case .textStart: return pos == 0
        case .textEnd: return pos == n
        case .textEndNewline: return pos == n || (pos == n - 1 && p[pos] == 0x0A)
        case .wordBoundary, .notWordBoundary:
            let before = pos > 0 && TextUnicodeTables.isWord(decode(prevStart(pos)).0)
            let after = pos < n && TextUnicodeTables.isWord(decode(pos).0)
            return (before != after) == (kind == TextRegexAssert.wordBoundary.rawValue)
        }
    }

    @inline(__always) func lookHolds(_ idx: Int32, _ pos: Int) throws(LatheError) -> Bool {
        if let t = lookTables[Int(idx)] { return t[pos] }
        return try lookTable(Int(idx))[pos]
    }

    /// Whether the lookaround holds at each byte position (character boundaries only).
    func lookTable(_ idx: Int) throws(LatheError) -> [Bool] {
        let look = prog.looks[idx]
        let code = look.code
        var cur = TextRegexSparseSet(code.insts.count)
        var nxt = TextRegexSparseSet(code.insts.count)
        var stack: [Int32] = []
        var out = [Bool](repeating: look.negate, count: n + 1)
        var pos = look.behind ? 0 : n
        var curMatched = false
        while true {
            try poll()
            // a match of the body may start (lookahead: end) at every position
            if try closure(code, code.start, pos, &cur, &stack) { curMatched = true }
            if curMatched { out[pos] = !look.negate }
            if look.behind ? pos == n : pos == 0 { break }
            let start = look.behind ? pos : prevStart(pos)
            let (c, l) = decode(start)
            let newPos = look.behind ? pos + l : start
            nxt.count = 0
            var nextMatched = false
            for k in 0..<cur.count {
                let ins = code.insts[Int(cur.dense[k])]
                if ins.op == TextRegexInst.char && prog.classes[Int(ins.a)].matches(c) {
                    if try closure(code, ins.b, newPos, &nxt, &stack) { nextMatched = true }
                }
            }
            swap(&cur, &nxt)
            curMatched = nextMatched
            pos = newPos
        }
        lookTables[idx] = out
        return out
    }

    /// Adds the states reachable from `pc0` without consuming to `set`; true when one is the match.
    func closure(_ code: TextRegexCode, _ pc0: Int32, _ pos: Int, _ set: inout TextRegexSparseSet,
                 _ stack: inout [Int32]) throws(LatheError) -> Bool {
        var matched = false
        stack.append(pc0)
        while let top = stack.popLast() {
            var pc = top
            walk: while !set.contains(pc) {
                set.insert(pc)
                let ins = code.insts[Int(pc)]
                switch ins.op {
                case TextRegexInst.split: stack.append(ins.b); pc = ins.a
                case TextRegexInst.jmp: pc = ins.a
                case TextRegexInst.assert:
                    guard holds(ins.a, pos) else { break walk }
                    pc = ins.b
                case TextRegexInst.look:
                    guard try lookHolds(ins.a, pos) else { break walk }
                    pc = ins.b
                case TextRegexInst.match:
                    matched = true
                    break walk
                default: break walk
                }
            }
        }
        return matched
    }

    /// True when a match can start at pos (its first character is in one of the first classes).
    @inline(__always) func canStart(_ pos: Int) -> Bool {
        guard let first = prog.first else { return true }
        if pos >= n { return false }
        let c = decode(pos).0
        for k in first where prog.classes[k].matches(c) { return true }
        return false
    }

    /// onig's `find_iter` over a search function (leftmost match starting at or after `from`):
    /// an empty match where the previous match ended is dropped and the search moves one
    /// character on.
    func findIter(_ search: (Int) throws(LatheError) -> (Int, Int)?, _ body: (Int, Int) -> Void) throws(LatheError) {
        var lastEnd = 0
        var lastMatchEnd = -1
        while lastEnd <= n {
            guard let (s, e) = try search(lastEnd) else { return }
            if s == e && e == lastMatchEnd {
                lastEnd += lastEnd < n ? TextChar.seqLen(p[lastEnd]) : 1
                continue
            }
            lastEnd = e
            lastMatchEnd = e
            body(s, e)
        }
    }

    // MARK: backtracker

    static let pcBits = 17

    func backtrackAll(_ body: (Int, Int) -> Void) throws(LatheError) {
        let m = prog.main.insts.count
        let words = (m * (n + 1) + 63) >> 6
        let visited = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        visited.initialize(repeating: 0, count: words)
        defer { visited.deallocate() }
        var stack: [Int] = []
        try findIter({ (from: Int) throws(LatheError) -> (Int, Int)? in
            guard let (s, e) = try backtrackSearch(from, visited, &stack) else { return nil }
            // states at the match's end may lie on the successful path: the next search
            // (which starts there) must explore them again
            for pc in 0..<m {
                let bit = e * m + pc
                visited[bit >> 6] &= ~(UInt64(1) << UInt64(bit & 63))
            }
            return (s, e)
        }, body)
    }

    func backtrackSearch(_ from: Int, _ visited: UnsafeMutablePointer<UInt64>, _ stack: inout [Int]) throws(LatheError) -> (Int, Int)? {
        var s = from
        while s <= n {
            if prog.first != nil {
                while s < n && !canStart(s) {
                    try poll()
                    s += TextChar.seqLen(p[s])
                }
                if s >= n { return nil }
            }
            if let e = try backtrack(s, visited, &stack) { return (s, e) }
            if s == n { break }
            s += TextChar.seqLen(p[s])
        }
        return nil
    }

    /// Depth-first search from the start state at `s` in priority order: the first match found
    /// is the leftmost-first (backtracking) one.
    func backtrack(_ s: Int, _ visited: UnsafeMutablePointer<UInt64>, _ stack: inout [Int]) throws(LatheError) -> Int? {
        let insts = prog.main.insts
        let m = insts.count
        let mask = (1 << TextRegexRun.pcBits) - 1
        stack.removeAll(keepingCapacity: true)
        stack.append(s << TextRegexRun.pcBits | Int(prog.main.start))
        while let top = stack.popLast() {
            var pc = top & mask
            var pos = top >> TextRegexRun.pcBits
            walk: while true {
                let bit = pos * m + pc
                let w = bit >> 6, b = UInt64(1) << UInt64(bit & 63)
                if visited[w] & b != 0 { break walk }
                visited[w] |= b
                try poll()
                let ins = insts[pc]
                switch ins.op {
                case TextRegexInst.char:
                    guard pos < n else { break walk }
                    let (c, l) = decode(pos)
                    guard prog.classes[Int(ins.a)].matches(c) else { break walk }
                    pc = Int(ins.b)
                    pos += l
                case TextRegexInst.split:
                    // an alternative already explored is not queued again (keeps the stack small)
                    let alt = pos * m + Int(ins.b)
                    if visited[alt >> 6] & (UInt64(1) << UInt64(alt & 63)) == 0 {
                        stack.append(pos << TextRegexRun.pcBits | Int(ins.b))
                    }
                    pc = Int(ins.a)
                case TextRegexInst.jmp: pc = Int(ins.a)
                case TextRegexInst.assert:
                    guard holds(ins.a, pos) else { break walk }
                    pc = Int(ins.b)
                case TextRegexInst.look:
                    guard try lookHolds(ins.a, pos) else { break walk }
                    pc = Int(ins.b)
                default:
                    return pos
                }
            }
        }
        return nil
    }

    // MARK: Pike VM

    /// Threads of one position in priority order, each with its match's start.
    struct Threads {
        var set: TextRegexSparseSet
        var pcs: [Int32]
        var starts: [Int]
        var count = 0

        init(_ m: Int) {
            set = TextRegexSparseSet(m)
            pcs = [Int32](repeating: 0, count: m)
            starts = [Int](repeating: 0, count: m)
        }

        mutating func clear() {
            set.count = 0
            count = 0
        }
    }

    var pikeLists: (Threads, Threads)?
    var pikeStack: [Int32] = []

    /// Adds the threads reachable from `pc0` at `pos` (lower priority than those already in).
    func addThread(_ list: inout Threads, _ pc0: Int32, _ pos: Int, _ start: Int) throws(LatheError) {
        let insts = prog.main.insts
        pikeStack.append(pc0)
        while let top = pikeStack.popLast() {
            var pc = top
            walk: while !list.set.contains(pc) {
                list.set.insert(pc)
                try poll()
                let ins = insts[Int(pc)]
                switch ins.op {
                case TextRegexInst.split: pikeStack.append(ins.b); pc = ins.a
                case TextRegexInst.jmp: pc = ins.a
                case TextRegexInst.assert:
                    guard holds(ins.a, pos) else { break walk }
                    pc = ins.b
                case TextRegexInst.look:
                    guard try lookHolds(ins.a, pos) else { break walk }
                    pc = ins.b
                default:
                    list.pcs[list.count] = pc
                    list.starts[list.count] = start
                    list.count += 1
                    break walk
                }
            }
        }
    }

    /// The leftmost-first match starting at or after `from`.
    func pikeSearch(_ from: Int) throws(LatheError) -> (Int, Int)? {
        let insts = prog.main.insts
        var (cur, nxt) = pikeLists ?? (Threads(insts.count), Threads(insts.count))
        pikeLists = nil  // owned here until the search ends (no copy-on-write of the buffers)
        defer { pikeLists = (cur, nxt) }
        cur.clear()
        var matched: (Int, Int)?
        var pos = from
        while true {
            if matched == nil {
                if cur.count == 0 && prog.first != nil {
                    while pos < n && !canStart(pos) {
                        try poll()
                        pos += TextChar.seqLen(p[pos])
                    }
                    if pos >= n { return nil }
                }
                // a match starting here has lower priority than every earlier start
                try addThread(&cur, prog.main.start, pos, pos)
            }
            if cur.count == 0 {
                if matched != nil || pos >= n { return matched }
                pos += TextChar.seqLen(p[pos])
                cur.clear()
                continue
            }
            var c: UInt32 = 0, l = 0
            if pos < n { (c, l) = decode(pos) }
            nxt.clear()
            for k in 0..<cur.count {
                let ins = insts[Int(cur.pcs[k])]
                if ins.op == TextRegexInst.match {
                    // lower-priority threads are cut: this match beats them
                    matched = (cur.starts[k], pos)
                    break
                }
                if pos < n && prog.classes[Int(ins.a)].matches(c) {
                    try addThread(&nxt, ins.b, pos + l, cur.starts[k])
                }
            }
            if pos >= n { return matched }
            swap(&cur, &nxt)
            pos += l
        }
    }
}
