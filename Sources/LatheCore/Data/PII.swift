import Foundation

/// One piece of personal data found in a text: its kind and its UTF-8 byte range.
public struct PIIMatch: Sendable, Equatable {
    public var kind: String
    public var range: Range<Int>
    public var text: String
}

/// Finding and masking personal data: e-mail addresses, phone numbers in international and
/// common national formats, payment card numbers (Luhn-valid, known issuer prefixes), IBANs
/// (country length and mod-97 checksum), IPv4 and IPv6 addresses, URLs, and patterns the
/// user gives. Numbers that fail a checksum, dates, prices and version strings are left alone.
public enum PII {
    /// Built-in kinds, in priority order (an earlier kind wins an overlap).
    public static let kinds = ["email", "url", "iban", "card", "ipv6", "ipv4", "phone"]

    /// IBAN length per country (ISO 13616 registry).
    public static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
        "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
        "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
        "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
        "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
        "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
        "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
        "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    ]

    // MARK: - Validators

    /// The Luhn (mod 10) check used by payment cards.
    public static func luhnValid(_ digits: [UInt8]) -> Bool {
        if digits.isEmpty { return false }
        var sum = 0
        for (k, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if k % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    /// Issuer prefix and length rules of the major card networks (Visa, Mastercard, American
    /// Express, Discover, JCB, Diners Club, UnionPay, Maestro, Mir, RuPay).
    public static func cardIssuerValid(_ d: [UInt8]) -> Bool {
        let n = d.count
        func pre(_ k: Int) -> Int { d.prefix(k).reduce(0) { $0 * 10 + Int($1) } }
        let p1 = pre(1), p2 = pre(2), p3 = pre(3), p4 = pre(4), p6 = pre(6)
        if p1 == 4 { return n == 13 || n == 16 || n == 19 }                          // Visa
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return n == 16 }    // Mastercard
        if p2 == 34 || p2 == 37 { return n == 15 }                                    // Amex
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 || (622126...622925).contains(p6) { return (16...19).contains(n) }  // Discover
        if (3528...3589).contains(p4) { return (16...19).contains(n) }                // JCB
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 { return (14...19).contains(n) }  // Diners
        if p2 == 62 || p2 == 81 { return (16...19).contains(n) }                      // UnionPay
        if (2200...2204).contains(p4) { return (16...19).contains(n) }                // Mir
        if p2 == 50 || (56...58).contains(p2) || p2 == 63 || p2 == 67 || p2 == 60 { return (13...19).contains(n) }  // Maestro, RuPay
        return false
    }

    /// A card number: 13 to 19 digits, a known issuer prefix, and a valid Luhn checksum.
    public static func cardValid(_ s: String) -> Bool {
        let d = s.utf8.filter { $0 >= 48 && $0 <= 57 }.map { $0 - 48 }
        return (13...19).contains(d.count) && cardIssuerValid(d) && luhnValid(d)
    }

    /// An IBAN (spaces allowed): known country, its exact length, and mod-97 == 1.
    public static func ibanValid(_ s: String) -> Bool {
        let c = Array(s.uppercased().utf8.filter { $0 != 32 })
        return ibanValidBytes(c)
    }

    static func ibanValidBytes(_ c: [UInt8]) -> Bool {
        guard c.count >= 15, c.count <= 34 else { return false }
        let cc = String(decoding: c[0..<2], as: UTF8.self)
        guard let len = ibanLengths[cc], len == c.count else { return false }
        guard isDigit(c[2]), isDigit(c[3]) else { return false }
        var rem = 0
        for k in 0..<c.count {
            let ch = c[(k + 4) % c.count]
            if isDigit(ch) { rem = (rem * 10 + Int(ch - 48)) % 97 }
            else if ch >= 65 && ch <= 90 { rem = (rem * 100 + Int(ch - 55)) % 97 }
            else { return false }
        }
        return rem == 1
    }

    /// A dotted IPv4 address (0-255, no leading zeros).
    public static func ipv4Valid(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if p.count > 1 && p.first == "0" { return false }
            guard let v = Int(p), v <= 255 else { return false }
        }
        return true
    }

    /// An IPv6 address in any standard form (full, "::" compressed, IPv4 tail).
    public static func ipv6Valid(_ s: String) -> Bool {
        var addr = in6_addr()
        return s.withCString { inet_pton(AF_INET6, $0, &addr) } == 1
    }

    // MARK: - Scanning

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
    /// Letters of any script count as word characters (bytes >= 0x80 belong to non-ASCII letters).
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool { isAlnum(c) || c >= 0x80 || c == 95 }
    @inline(__always) static func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102) }

    static func text(_ b: [UInt8], _ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }

    /// The Unicode scalar starting at byte i and its byte length.
    static func scalar(_ b: [UInt8], _ i: Int) -> (Unicode.Scalar?, Int) {
        let c = b[i]
        let len = c < 0x80 ? 1 : (c >= 0xF0 ? 4 : (c >= 0xE0 ? 3 : (c >= 0xC0 ? 2 : 1)))
        if i + len > b.count { return (nil, 1) }
        var it = b[i..<(i + len)].makeIterator()
        var dec = UTF8()
        if case .scalarValue(let u) = dec.decode(&it) { return (u, len) }
        return (nil, 1)
    }

    /// Start of the scalar that ends just before byte i.
    static func scalarStart(before i: Int, _ b: [UInt8]) -> Int {
        var k = i - 1
        while k > 0 && b[k] & 0xC0 == 0x80 { k -= 1 }
        return k
    }

    static func emails(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        func localChar(_ c: UInt8) -> Bool { isAlnum(c) || c == 46 || c == 95 || c == 37 || c == 43 || c == 45 }
        func domainChar(_ c: UInt8) -> Bool { isAlnum(c) || c == 46 || c == 45 }
        var i = 0
        while i < n {
            guard b[i] == 64 else { i += 1; continue }  // '@'
            // internationalized addresses (RFC 6531) may use letters of any script
            var s = i
            while s > 0 {
                if localChar(b[s - 1]) { s -= 1; continue }
                if b[s - 1] >= 0x80 {
                    let k = scalarStart(before: s, b)
                    if let u = scalar(b, k).0, u.properties.isAlphabetic { s = k; continue }
                }
                break
            }
            while s < i && b[s] == 46 { s += 1 }      // no leading dot
            var e = i + 1
            while e < n {
                if domainChar(b[e]) { e += 1; continue }
                if b[e] >= 0x80 {
                    let (u, len) = scalar(b, e)
                    if let u, u.properties.isAlphabetic { e += len; continue }
                }
                break
            }
            while e > i + 1 && (b[e - 1] == 46 || b[e - 1] == 45) { e -= 1 }  // trailing dot of a sentence
            if s < i && e > i + 1 {
                let labels = b[(i + 1)..<e].split(separator: 46, omittingEmptySubsequences: false)
                let ok = labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && $0.first != 45 && $0.last != 45 }
                    && labels.last!.count >= 2 && labels.last!.allSatisfy(isAlpha)
                    && b[i - 1] != 46
                if ok {
                    out.append(s..<e)
                    i = e
                    continue
                }
            }
            i += 1
        }
        return out
    }

    /// URL byte ranges (http, https, ftp, and www. addresses).
    public static func urlSpans(_ s: String) -> [Range<Int>] { urls(Array(s.utf8)) }

    static func urls(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        func lowerAt(_ i: Int, _ w: String) -> Bool {
            let u = Array(w.utf8)
            if i + u.count > n { return false }
            for k in 0..<u.count where (b[i + k] | (isAlpha(b[i + k]) ? 0x20 : 0)) != u[k] { return false }
            return true
        }
        var i = 0
        while i < n {
            let c = b[i] | 0x20
            guard c == 104 || c == 102 || c == 119 else { i += 1; continue }  // h, f, w
            if i > 0 && isWordByte(b[i - 1]) { i += 1; continue }
            var bodyStart = -1
            for scheme in ["https://", "http://", "ftp://"] where lowerAt(i, scheme) { bodyStart = i + scheme.utf8.count; break }
            if bodyStart < 0 && lowerAt(i, "www.") { bodyStart = i + 4 }
            if bodyStart < 0 { i += 1; continue }
            var e = bodyStart
            while e < n {
                let d = b[e]
                if d <= 32 || d == 34 || d == 60 || d == 62 || d == 96 || d == 127 { break }
                e += 1
            }
            // trailing punctuation belongs to the sentence; a ")" only when unbalanced
            while e > bodyStart {
                let d = b[e - 1]
                if d == 46 || d == 44 || d == 59 || d == 58 || d == 33 || d == 63 || d == 39 || d == 93 || d == 125 { e -= 1; continue }
                if d == 41 {
                    let opens = b[bodyStart..<e].filter { $0 == 40 }.count
                    let closes = b[bodyStart..<e].filter { $0 == 41 }.count
                    if closes > opens { e -= 1; continue }
                }
                break
            }
            // the host needs a letter or digit
            if e > bodyStart && isAlnum(b[bodyStart]) {
                out.append(i..<e)
                i = e
            } else {
                i += 1
            }
        }
        return out
    }

    static func ibans(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        var i = 0
        while i + 15 <= n {
            guard isAlpha(b[i]), isAlpha(b[i + 1]), isDigit(b[i + 2]), isDigit(b[i + 3]), i == 0 || !isWordByte(b[i - 1]) else { i += 1; continue }
            let cc = String(decoding: [b[i] & ~0x20, b[i + 1] & ~0x20], as: UTF8.self)
            guard let len = ibanLengths[cc] else { i += 1; continue }
            // gather len alphanumerics, allowing single spaces between groups
            var chars: [UInt8] = []
            var e = i
            while e < n && chars.count < len {
                let c = b[e]
                if isAlnum(c) { chars.append(isAlpha(c) ? c & ~0x20 : c); e += 1; continue }
                if c == 32 && e + 1 < n && isAlnum(b[e + 1]) && e > i { e += 1; continue }
                break
            }
            if chars.count == len && (e >= n || !isWordByte(b[e])) && ibanValidBytes(chars) {
                out.append(i..<e)
                i = e
            } else {
                i += 1
            }
        }
        return out
    }

    /// Digit runs with single space or dash separators (card candidates).
    static func cards(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        var i = 0
        while i < n {
            guard isDigit(b[i]), i == 0 || (!isWordByte(b[i - 1]) && b[i - 1] != 43 && b[i - 1] != 46 && b[i - 1] != 45) else { i += 1; continue }
            var digits: [UInt8] = []
            var groups: [Int] = []
            var cur = 0
            var seps = Set<UInt8>()
            var e = i
            while e < n {
                let c = b[e]
                if isDigit(c) { digits.append(c - 48); cur += 1; e += 1; continue }
                if (c == 32 || c == 45) && e + 1 < n && isDigit(b[e + 1]) { groups.append(cur); cur = 0; seps.insert(c); e += 1; continue }
                break
            }
            groups.append(cur)
            let boundary = e >= n || !(isWordByte(b[e]) || (b[e] == 46 && e + 1 < n && isDigit(b[e + 1])))
            var shapeOK = groups.count == 1 || seps.count == 1
            if groups.count > 1 && shapeOK {
                // 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4
                let g = groups
                let fours = g.dropLast().allSatisfy { $0 == 4 } && (1...4).contains(g.last!)
                shapeOK = fours || g == [4, 6, 5] || g == [4, 6, 4]
            }
            if boundary && shapeOK && (13...19).contains(digits.count) && cardIssuerValid(digits) && luhnValid(digits) {
                out.append(i..<e)
            }
            i = max(e, i + 1)
        }
        return out
    }

    static func ipv4s(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        var i = 0
        while i < n {
            guard isDigit(b[i]), i == 0 || (!isWordByte(b[i - 1]) && b[i - 1] != 46) else { i += 1; continue }
            var e = i
            while e < n && (isDigit(b[e]) || b[e] == 46) { e += 1 }
            var end = e
            while end > i && b[end - 1] == 46 { end -= 1 }  // sentence dot
            let boundary = e >= n || !isWordByte(b[e])
            if boundary && ipv4Valid(text(b, i..<end)) { out.append(i..<end) }
            i = e
        }
        return out
    }

    static func ipv6s(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        var i = 0
        while i < n {
            guard isHex(b[i]) || b[i] == 58, i == 0 || (!isWordByte(b[i - 1]) && b[i - 1] != 58) else { i += 1; continue }
            var e = i
            var colons = 0
            var hex = 0
            while e < n && (isHex(b[e]) || b[e] == 58 || b[e] == 46) {
                if b[e] == 58 { colons += 1 } else if isHex(b[e]) { hex += 1 }
                e += 1
            }
            var end = e
            while end > i && b[end - 1] == 46 { end -= 1 }
            if end > i && b[end - 1] == 58 && !(end >= 2 && b[end - 2] == 58) { end -= 1 }  // "fe80::" keeps its "::"
            let boundary = e >= n || !isWordByte(b[e])
            if boundary && colons >= 2 && hex >= 1 && ipv6Valid(text(b, i..<end)) { out.append(i..<end) }
            i = max(e, i + 1)
        }
        return out
    }

    static func phones(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = b.count
        func sepChar(_ c: UInt8) -> Bool { c == 32 || c == 45 || c == 46 || c == 40 || c == 41 }
        var i = 0
        while i < n {
            let c0 = b[i]
            guard c0 == 43 || c0 == 40 || isDigit(c0) else { i += 1; continue }
            if i > 0 {
                let p = b[i - 1]
                if isWordByte(p) || p == 43 || p == 46 || p == 45 || p == 47 || p == 36 || p == 35 || (isDigit(c0) && p == 40) { i += 1; continue }
                // a currency sign just before: a price
                if i >= 2 && b[i - 1] == 32 && (b[i - 2] == 0xAC || b[i - 2] == 0xA3 || b[i - 2] == 36) { i += 1; continue }
            }
            let startsPlus = c0 == 43
            var e = i + (startsPlus ? 1 : 0)
            if startsPlus && !(e < n && (isDigit(b[e]) || b[e] == 40)) { i += 1; continue }
            var groups: [Int] = []
            var cur = 0
            var sepRun = 0
            var opens = 0, closes = 0
            var sepKinds = Set<UInt8>()
            var parenGroup: Int? = nil
            var lastDigitEnd = e
            while e < n {
                let c = b[e]
                if isDigit(c) {
                    if cur == 0 && opens > closes && parenGroup == nil { parenGroup = groups.count }
                    cur += 1
                    sepRun = 0
                    e += 1
                    lastDigitEnd = e
                    continue
                }
                if sepChar(c) {
                    sepRun += 1
                    if sepRun > 3 { break }
                    if c == 40 { opens += 1; if opens > 1 { break } }
                    if c == 41 { closes += 1; if closes > opens { break } }
                    if c == 32 && e > 0 && b[e - 1] == 32 { break }   // two spaces end it
                    if c == 45 || c == 46 || c == 32 { sepKinds.insert(c) }
                    if cur > 0 { groups.append(cur); cur = 0 }
                    e += 1
                    continue
                }
                break
            }
            if cur > 0 { groups.append(cur) }
            let end = lastDigitEnd
            // what follows the last digit must not continue a word or number
            let after = end < n ? b[end] : 32
            let boundary = !(isWordByte(after) || after == 64 || after == 37 || (after == 46 && end + 1 < n && isDigit(b[end + 1])) || (after == 44 && end + 1 < n && isDigit(b[end + 1])))
            let digits = groups.reduce(0, +)
            var ok = false
            if boundary && opens == closes {
                let firstDigit: UInt8 = {
                    var k = i
                    while k < end && !isDigit(b[k]) { k += 1 }
                    return k < end ? b[k] : 0
                }()
                let secondDigit: UInt8 = {
                    var k = i, seen = 0
                    while k < end { if isDigit(b[k]) { seen += 1; if seen == 2 { return b[k] } }; k += 1 }
                    return 0
                }()
                if startsPlus {
                    ok = groups.count == 1 ? (10...15).contains(digits) : (8...15).contains(digits)
                } else if firstDigit == 48 && secondDigit == 48 && groups.count >= 2 {
                    ok = (10...15).contains(digits)
                } else if c0 == 40 {
                    if let pg = parenGroup, pg == 0, (2...5).contains(groups[0]) {
                        ok = (9...12).contains(digits) && groups.count >= 2
                    }
                } else if groups.count >= 2 {
                    if groups == [3, 3, 4] && firstDigit >= 50 && sepKinds.count == 1 {
                        ok = true   // North American 555-123-4567
                    } else if firstDigit == 48 && (2...5).contains(groups[0]) && (9...12).contains(digits) && sepKinds.count <= 2 {
                        ok = !(groups.count == 3 && groups[2] == 4 && groups[0] <= 2 && groups[1] <= 2)  // not a date 01.02.2024
                    }
                }
            }
            if ok {
                out.append(i..<end)
                i = end
            } else {
                i = max(i + 1, e)
            }
        }
        return out
    }

    /// A user pattern (a regular expression, ICU syntax as in NSRegularExpression).
    public struct Pattern: @unchecked Sendable {
        public let name: String
        let regex: NSRegularExpression
        public init(name: String, pattern: String) throws(LatheError) {
            self.name = name
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw LatheError("pattern '\(name)' is not a valid regular expression: \(pattern)")
            }
        }
        func matches(_ s: String) -> [Range<Int>] {
            let ns = NSRange(s.startIndex..., in: s)
            return regex.matches(in: s, range: ns).compactMap { m in
                guard m.range.length > 0, let r = Range(m.range, in: s) else { return nil }
                let a = s.utf8.distance(from: s.utf8.startIndex, to: r.lowerBound.samePosition(in: s.utf8) ?? s.utf8.startIndex)
                let b = s.utf8.distance(from: s.utf8.startIndex, to: r.upperBound.samePosition(in: s.utf8) ?? s.utf8.startIndex)
                return a..<b
            }
        }
    }

    /// All matches in s for the kinds asked (built-in names from `kinds`), plus user
    /// patterns (they win overlaps), sorted by position; overlaps go to the earlier kind in
    /// priority order.
    public static func find(_ s: String, kinds: [String] = PII.kinds, patterns: [Pattern] = []) -> [PIIMatch] {
        let b = Array(s.utf8)
        var cands: [(Int, String, Range<Int>)] = []
        for (k, p) in patterns.enumerated() {
            for r in p.matches(s) { cands.append((k, p.name, r)) }
        }
        let base = patterns.count
        // cheap pre-checks so plain text costs little
        let hasAt = b.contains(64)
        let hasDigit = b.contains { isDigit($0) }
        let hasColon = b.contains(58)
        for (k, kind) in PII.kinds.enumerated() where kinds.contains(kind) {
            let rs: [Range<Int>]
            switch kind {
            case "email": rs = hasAt ? emails(b) : []
            case "url": rs = urls(b)
            case "iban": rs = hasDigit ? ibans(b) : []
            case "card": rs = hasDigit ? cards(b) : []
            case "ipv6": rs = hasColon ? ipv6s(b) : []
            case "ipv4": rs = hasDigit ? ipv4s(b) : []
            case "phone": rs = hasDigit ? phones(b) : []
            default: rs = []
            }
            for r in rs { cands.append((base + k, kind, r)) }
        }
        cands.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.2.lowerBound < $1.2.lowerBound }
        var taken: [PIIMatch] = []
        for (_, kind, r) in cands where !taken.contains(where: { $0.range.overlaps(r) }) {
            taken.append(PIIMatch(kind: kind, range: r, text: text(b, r)))
        }
        return taken.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// The placeholder name of a kind ("email" -> "EMAIL").
    public static func label(_ kind: String) -> String { kind.uppercased() }

    /// Throws for a name that is not one of `kinds`, naming the nearest.
    public static func checkKinds(_ given: [String]) throws(LatheError) {
        for k in given where !kinds.contains(k) {
            var msg = "unknown kind '\(k)'"
            if let h = closestName(k, kinds) { msg += "; did you mean '\(h)'?" }
            throw LatheError(msg + " (kinds: \(kinds.joined(separator: ", ")))")
        }
    }

    /// The form under which two matches count as the same value (for pseudonyms).
    static func canonical(_ m: PIIMatch) -> String {
        switch m.kind {
        case "email", "url", "ipv6": return m.text.lowercased()
        case "phone": return (m.text.hasPrefix("+") ? "+" : "") + m.text.filter { $0.isASCII && $0.isNumber }
        case "card": return m.text.filter { $0.isASCII && $0.isNumber }
        case "iban": return m.text.uppercased().filter { $0 != " " }
        default: return m.text
        }
    }
}

/// Masks personal data with typed placeholders ([EMAIL]) or consistent pseudonyms
/// ([EMAIL_1] for every occurrence of the same address, across all texts one masker sees).
public final class PIIMasker {
    public let kinds: [String]
    public let patterns: [PII.Pattern]
    public let pseudonyms: Bool
    /// Occurrences masked per kind.
    public private(set) var counts: [String: Int] = [:]
    var seen: [String: [String: Int]] = [:]

    public init(kinds: [String] = PII.kinds, patterns: [PII.Pattern] = [], pseudonyms: Bool = false) throws(LatheError) {
        try PII.checkKinds(kinds)
        self.kinds = kinds
        self.patterns = patterns
        self.pseudonyms = pseudonyms
        for k in kinds { counts[k] = 0 }
        for p in patterns { counts[p.name] = 0 }
    }

    public func mask(_ s: String) -> String {
        let ms = PII.find(s, kinds: kinds, patterns: patterns)
        if ms.isEmpty { return s }
        var tags: [String] = []
        for m in ms {
            counts[m.kind, default: 0] += 1
            var tag = PII.label(m.kind)
            if pseudonyms {
                let key = PII.canonical(m)
                var map = seen[m.kind] ?? [:]
                let id = map[key] ?? (map.count + 1)
                map[key] = id
                seen[m.kind] = map
                tag += "_\(id)"
            }
            tags.append("[" + tag + "]")
        }
        var b = Array(s.utf8)
        for (m, tag) in zip(ms, tags).reversed() {
            b.replaceSubrange(m.range, with: Array(tag.utf8))
        }
        return String(decoding: b, as: UTF8.self)
    }

    /// Masks the string columns (all of them when nil) of a table.
    public func mask(_ t: DataTable, columns: [String]?, progress: ((Int, Int) -> Void)? = nil) throws(LatheError) -> (DataTable, Int) {
        let cols = try Clean.stringColumns(t, columns)
        var out = t
        var changed = 0
        var done = 0
        for name in cols {
            let col = try t.column(name)
            guard case .string(let a) = col.values else { continue }
            var sa = StringArray()
            for r in 0..<t.rowCount {
                if col.missing[r] { sa.appendEmpty(); continue }
                let s = a[r]
                let m = mask(s)
                if m != s { changed += 1 }
                sa.append(m)
                if r & 0xFFF == 0 {
                    try Interrupt.check()
                    progress?(done + r, t.rowCount * cols.count)
                }
            }
            done += t.rowCount
            out = try out.setting(name, Column(.string(sa), missing: col.missing))
        }
        return (out, changed)
    }
}
