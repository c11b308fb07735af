import Foundation

/// What one cleaning step changed.
public struct CleanReport: Sendable, Equatable {
    public var step: String
    public var columns: [String]
    /// Cells whose text changed.
    public var cellsChanged = 0
    /// Rows removed by the step.
    public var rowsDropped = 0
    /// Rows after the step.
    public var rows = 0
    /// The first change, shortened (before, after), so a person sees what happened.
    public var example: [String]? = nil

    public init(step: String, columns: [String]) {
        self.step = step
        self.columns = columns
    }
}

/// Text cleaning on string columns. Every step returns the new table and a report of what it
/// changed; steps never modify their input.
public enum Clean {
    /// String columns to work on: the given names (each must be a string column) or all
    /// string columns.
    public static func stringColumns(_ t: DataTable, _ cols: [String]?) throws(LatheError) -> [String] {
        guard let cols else { return zip(t.names, t.types).filter { $0.1 == .string }.map { $0.0 } }
        for c in cols {
            let col = try t.column(c)
            if col.type != .string {
                throw LatheError("column '\(c)' is \(col.type.rawValue); text cleaning works on string columns")
            }
        }
        return cols
    }

    static func shorten(_ s: String, _ n: Int = 60) -> String {
        TableFormat.truncate(TableFormat.oneLine(s), n)
    }

    /// Applies f to every non-missing cell of the columns (in parallel for big tables).
    public static func mapStrings(_ t: DataTable, columns: [String]?, step: String,
                                  _ f: @escaping @Sendable (String) -> String) throws(LatheError) -> (DataTable, CleanReport) {
        let cols = try stringColumns(t, columns)
        var report = CleanReport(step: step, columns: cols)
        var out = t
        for name in cols {
            let col = try t.column(name)
            guard case .string(let a) = col.values else { continue }
            let missing = col.missing
            let n = a.count
            let parts = try Parallel.chunks(n, minChunk: 4096) { (range) throws(LatheError) -> (StringArray, Int, [String]?) in
                var sa = StringArray()
                var changed = 0
                var ex: [String]? = nil
                for i in range {
                    if missing[i] { sa.appendEmpty(); continue }
                    let s = a[i]
                    let r = f(s)
                    if r != s {
                        changed += 1
                        if ex == nil { ex = [shorten(s), shorten(r)] }
                    }
                    sa.append(r)
                    if i & 0x3FFF == 0 && Interrupt.pending { throw LatheError.interrupted }
                }
                return (sa, changed, ex)
            }
            try Interrupt.check()
            var merged = StringArray()
            for p in parts { merged = merged.count == 0 ? p.0 : merged + p.0 }
            report.cellsChanged += parts.reduce(0) { $0 + $1.1 }
            if report.example == nil { report.example = parts.compactMap { $0.2 }.first }
            out = try out.setting(name, Column(.string(merged), missing: missing))
        }
        report.rows = out.rowCount
        return (out, report)
    }

    // MARK: - Text functions

    @inline(__always) static func isASCII(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { b in
            var i = 0
            while i + 8 <= b.count {
                if UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
                i += 8
            }
            while i < b.count { if b[i] >= 0x80 { return false }; i += 1 }
            return true
        }
    }

    /// Trims the ends and turns every run of white space (including line breaks, tabs and
    /// Unicode spaces such as no-break space) into one space.
    public static func normalizeWhitespace(_ s: String) -> String {
        if isASCII(s) {
            var s = s
            return s.withUTF8 { b -> String in
                var out = [UInt8]()
                out.reserveCapacity(b.count)
                var pendingSpace = false
                for c in b {
                    if c == 32 || (c >= 9 && c <= 13) {
                        pendingSpace = !out.isEmpty
                    } else {
                        if pendingSpace { out.append(32); pendingSpace = false }
                        out.append(c)
                    }
                }
                return String(decoding: out, as: UTF8.self)
            }
        }
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for u in s.unicodeScalars {
            if u.properties.isWhitespace || u == "\u{200B}" || u == "\u{FEFF}" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(u)
            }
        }
        return String(out)
    }

    /// Unicode NFKC: compatibility characters folded (ﬁ -> fi, full-width letters -> ASCII,
    /// ① -> 1) and accents composed.
    public static func nfkc(_ s: String) -> String {
        if isASCII(s) { return s }
        return s.precomposedStringWithCompatibilityMapping
    }

    public static func lower(_ s: String) -> String { s.lowercased() }

    static let inlineTags: Set<String> = ["a", "b", "i", "u", "em", "strong", "span", "font", "small", "big", "code",
                                          "abbr", "sub", "sup", "mark", "s", "strike", "del", "ins", "q", "cite", "kbd", "tt", "wbr"]
    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®",
        "trade": "™", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "hellip": "…", "mdash": "—", "ndash": "–",
        "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "laquo": "«", "raquo": "»", "deg": "°", "times": "×",
        "middot": "·", "bull": "•", "shy": "",
    ]

    /// Removes HTML: tags (block tags become a space, inline tags vanish), comments, script and
    /// style elements; decodes character references (&amp;, &#39;, &#x2019;, ...). A "<" not
    /// starting a tag ("a < b") is kept.
    public static func stripHTML(_ s: String) -> String {
        guard s.contains("<") || s.contains("&") else { return s }
        let u = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        let n = u.count
        func lowerWord(_ from: Int) -> (String, Int) {
            var j = from
            var w = ""
            while j < n, u[j].properties.isAlphabetic || ("0"..."9").contains(u[j]) {
                w.unicodeScalars.append(u[j]); j += 1
            }
            return (w.lowercased(), j)
        }
        func find(_ pat: String, from: Int) -> Int? {
            let p = Array(pat.unicodeScalars)
            var j = from
            while j + p.count <= n {
                var ok = true
                for k in 0..<p.count where Character(u[j + k]).lowercased() != Character(p[k]).lowercased() { ok = false; break }
                if ok { return j }
                j += 1
            }
            return nil
        }
        var lastInserted = false
        func space() {
            if let last = out.last, !last.properties.isWhitespace { out.append(" "); lastInserted = true }
        }
        while i < n {
            lastInserted = lastInserted && (out.last == " ")
            let c = u[i]
            if c == "<" && i + 1 < n {
                let nx = u[i + 1]
                if nx == "!" && i + 3 < n && u[i + 2] == "-" && u[i + 3] == "-" {
                    if let e = find("-->", from: i + 4) { i = e + 3 } else { i = n }
                    continue
                }
                if nx.properties.isAlphabetic || nx == "/" || nx == "!" || nx == "?" {
                    let closing = nx == "/"
                    let (name, _) = lowerWord(i + (closing ? 2 : 1))
                    // find the end of the tag, skipping quoted attribute values
                    var j = i + 1
                    var quote: Unicode.Scalar? = nil
                    while j < n {
                        let d = u[j]
                        if let q = quote { if d == q { quote = nil } }
                        else if d == "\"" || d == "'" { quote = d }
                        else if d == ">" { break }
                        j += 1
                    }
                    if j >= n { out.append(c); i += 1; continue }  // no closing '>': not a tag
                    i = j + 1
                    if !closing && (name == "script" || name == "style") {
                        if let e = find("</" + name, from: i) {
                            var k = e
                            while k < n && u[k] != ">" { k += 1 }
                            i = min(n, k + 1)
                        } else { i = n }
                        space()
                        continue
                    }
                    if !inlineTags.contains(name) { space() }
                    continue
                }
            }
            if c == "&" {
                var j = i + 1
                var name = ""
                while j < n && j - i <= 10 && u[j] != ";" && (u[j].properties.isAlphabetic || ("0"..."9").contains(u[j]) || u[j] == "#" || u[j] == "x" || u[j] == "X") {
                    name.unicodeScalars.append(u[j]); j += 1
                }
                if j < n && u[j] == ";" && !name.isEmpty {
                    var rep: String? = nil
                    if name.hasPrefix("#") {
                        let body = name.dropFirst()
                        let v = body.hasPrefix("x") || body.hasPrefix("X") ? UInt32(body.dropFirst(), radix: 16) : UInt32(body)
                        if let v, let sc = Unicode.Scalar(v) { rep = String(sc) }
                    } else {
                        rep = entities[name.lowercased()]
                    }
                    if let rep {
                        out.append(contentsOf: rep.unicodeScalars)
                        i = j + 1
                        continue
                    }
                }
            }
            out.append(c)
            lastInserted = false
            i += 1
        }
        if lastInserted, out.last == " " { out.removeLast() }
        return String(out)
    }

    /// Removes URLs (http, https, ftp and www. addresses), replacing each with `replacement`.
    public static func stripURLs(_ s: String, replacement: String = "") -> String {
        let spans = PII.urlSpans(s)
        if spans.isEmpty { return s }
        var b = Array(s.utf8)
        for sp in spans.reversed() { b.replaceSubrange(sp, with: Array(replacement.utf8)) }
        return String(decoding: b, as: UTF8.self)
    }

    // MARK: - Row steps

    /// Drops rows with a missing value in any of the columns (all columns when nil).
    public static func dropMissing(_ t: DataTable, columns: [String]?) throws(LatheError) -> (DataTable, CleanReport) {
        let cols = columns ?? t.names
        var idx: [Column] = []
        for c in cols { idx.append(try t.column(c)) }
        var keep = [Bool](repeating: true, count: t.rowCount)
        for col in idx where col.missing.anySet {
            for r in 0..<t.rowCount where col.missing[r] { keep[r] = false }
        }
        let out = try t.filter(keep)
        var rep = CleanReport(step: "drop_missing", columns: cols)
        rep.rowsDropped = t.rowCount - out.rowCount
        rep.rows = out.rowCount
        return (out, rep)
    }

    public enum LengthUnit: String, Sendable { case chars, words, tokens }

    /// Number of words (runs of non-white-space).
    public static func wordCount(_ s: String) -> Int {
        var n = 0
        var inWord = false
        for u in s.unicodeScalars {
            if u.properties.isWhitespace { inWord = false } else if !inWord { inWord = true; n += 1 }
        }
        return n
    }

    /// Keeps rows whose text length (characters, words, or tokens from `count`) lies in
    /// [min, max]; missing values are dropped.
    public static func filterLength(_ t: DataTable, column: String, min lo: Int?, max hi: Int?, unit: LengthUnit,
                                    count: ((String) throws -> Int)? = nil) throws -> (DataTable, CleanReport) {
        let col = try t.column(column)
        guard case .string(let a) = col.values else {
            throw LatheError("column '\(column)' is \(col.type.rawValue); a length filter needs a string column")
        }
        var keep = [Bool](repeating: false, count: t.rowCount)
        for r in 0..<t.rowCount where !col.missing[r] {
            let s = a[r]
            let len: Int
            switch unit {
            case .chars: len = s.count
            case .words: len = wordCount(s)
            case .tokens:
                guard let count else { throw LatheError("unit = \"tokens\" needs a token counter") }
                len = try count(s)
            }
            keep[r] = (lo.map { len >= $0 } ?? true) && (hi.map { len <= $0 } ?? true)
            if r & 0xFFFF == 0 { try Interrupt.check() }
        }
        let out = try t.filter(keep)
        var rep = CleanReport(step: "filter_length", columns: [column])
        rep.rowsDropped = t.rowCount - out.rowCount
        rep.rows = out.rowCount
        return (out, rep)
    }
}
