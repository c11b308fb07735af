import Foundation
import LatheCore
import Testing

@Suite struct DataCleanTests {
    @Test func whitespace() {
        #expect(Clean.normalizeWhitespace("  a \n\t b  ") == "a b")
        #expect(Clean.normalizeWhitespace("\u{00A0}x\u{2003}\u{200B}y\u{3000}") == "x y")
        #expect(Clean.normalizeWhitespace("") == "")
        #expect(Clean.normalizeWhitespace("one") == "one")
    }

    @Test func nfkcMatchesPython() throws {
        let g = try goldenData("nfkc.json") as! [String: Any]
        for case let c as [String: String] in g["cases"] as! [Any] {
            #expect(Clean.nfkc(c["in"]!) == c["out"]!, "\(c["in"]!)")
        }
    }

    @Test func stripHTML() {
        #expect(Clean.stripHTML("<p>Hello <b>World</b></p><p>Next</p>") == "Hello World Next")
        #expect(Clean.stripHTML("a<br/>b") == "a b")
        #expect(Clean.stripHTML("Tom &amp; Jerry &lt;3 &#39;x&#x27; &euro;5 &bogus;") == "Tom & Jerry <3 'x' €5 &bogus;")
        #expect(Clean.stripHTML("if a < b and c > d") == "if a < b and c > d")
        #expect(Clean.stripHTML("x<script type=\"t\">alert('<b>')</script>y") == "x y")
        #expect(Clean.stripHTML("<!-- note -->kept<style>p{}</style>") == "kept")
        #expect(Clean.stripHTML("<a href=\"x>y\">link</a>") == "link")
        #expect(Clean.stripHTML("I <3 it") == "I <3 it")
        #expect(Clean.stripHTML("no tags") == "no tags")
    }

    @Test func stripURLs() {
        #expect(Clean.stripURLs("see https://example.com/a?b=1. ok") == "see . ok")
        #expect(Clean.stripURLs("(www.example.org) and http://x.io/wiki_(a)", replacement: "[URL]") == "([URL]) and [URL]")
        #expect(Clean.stripURLs("no links here, just www") == "no links here, just www")
    }

    @Test func mapStringsReports() throws {
        let t = try DataTable(names: ["text", "n"], columns: [
            Column(strings: ["  a  b ", "clean", nil, "<b>x</b>"]), Column(integers: [1, 2, 3, 4]),
        ])
        let (out, rep) = try Clean.mapStrings(t, columns: nil, step: "normalize_whitespace") { Clean.normalizeWhitespace($0) }
        #expect(rep.cellsChanged == 1 && rep.rows == 4 && rep.columns == ["text"])
        #expect(rep.example == ["  a  b ", "a b"])
        #expect(try strings(out, "text") == ["a b", "clean", nil, "<b>x</b>"])
        #expect(csvUnwrapError { _ = try Clean.mapStrings(t, columns: ["n"], step: "x") { $0 } }
            == "column 'n' is integer; text cleaning works on string columns")
        let (d, r2) = try Clean.dropMissing(t, columns: ["text"])
        #expect(d.rowCount == 3 && r2.rowsDropped == 1)
        let (f, r3) = try Clean.filterLength(t, column: "text", min: 5, max: nil, unit: .chars)
        #expect(try strings(f, "text") == ["  a  b ", "clean", "<b>x</b>"] && r3.rowsDropped == 1)
        let (w, _) = try Clean.filterLength(t, column: "text", min: 2, max: nil, unit: .words)
        #expect(w.rowCount == 1)
        let (k, _) = try Clean.filterLength(t, column: "text", min: nil, max: 0, unit: .tokens) { $0.count / 6 }
        #expect(try strings(k, "text") == ["clean"])
    }

    @Test func bigTableMapsInParallelInOrder() throws {
        let n = 50_000
        let t = try DataTable(names: ["s"], columns: [Column(strings: (0..<n).map { " row  \($0) " })])
        let (out, rep) = try Clean.mapStrings(t, columns: nil, step: "ws") { Clean.normalizeWhitespace($0) }
        #expect(rep.cellsChanged == n)
        let col = try out.column("s")
        #expect(col.string(0) == "row 0" && col.string(n - 1) == "row \(n - 1)" && col.string(12345) == "row 12345")
    }
}

@Suite struct DataPIITests {
    func kinds(_ s: String) -> [String] { PII.find(s).map { $0.kind } }
    func found(_ s: String) -> [String] { PII.find(s).map { $0.text } }

    @Test func validatorsMatchStdnum() throws {
        let g = try goldenData("pii_checks.json") as! [String: Any]
        let lengths = g["iban_lengths"] as! [String: Int]
        for (cc, n) in lengths { #expect(PII.ibanLengths[cc] == n, "IBAN length of \(cc)") }
        #expect(PII.ibanLengths.count == lengths.count)
        for case let c as [String: Any] in g["ibans"] as! [Any] {
            #expect(PII.ibanValid(c["iban"] as! String) == (c["valid"] as! Bool), "\(c["iban"]!)")
        }
        for case let c as [String: Any] in g["cards"] as! [Any] {
            let digits = (c["number"] as! String).utf8.map { $0 - 48 }
            #expect(PII.luhnValid(digits) == (c["luhn"] as! Bool), "\(c["number"]!)")
        }
    }

    @Test func positives() {
        let cases: [(String, String, String)] = [
            ("Mail ann@example.com.", "email", "ann@example.com"),
            ("to first.last+tag@sub.domain.co.uk now", "email", "first.last+tag@sub.domain.co.uk"),
            ("call +1 (555) 123-4567 today", "phone", "+1 (555) 123-4567"),
            ("tel: +44 20 7946 0958", "phone", "+44 20 7946 0958"),
            ("+49 30 12345678", "phone", "+49 30 12345678"),
            ("mobile +33 6 12 34 56 78.", "phone", "+33 6 12 34 56 78"),
            ("whatsapp +4915112345678", "phone", "+4915112345678"),
            ("0044 20 7946 0958", "phone", "0044 20 7946 0958"),
            ("(555) 123-4567", "phone", "(555) 123-4567"),
            ("555-123-4567", "phone", "555-123-4567"),
            ("ring 555.123.4567", "phone", "555.123.4567"),
            ("030 12345678", "phone", "030 12345678"),
            ("06 12 34 56 78", "phone", "06 12 34 56 78"),
            ("+91-98765-43210", "phone", "+91-98765-43210"),
            ("+81 3-1234-5678", "phone", "+81 3-1234-5678"),
            ("card 4111 1111 1111 1111 exp 12/25", "card", "4111 1111 1111 1111"),
            ("4111-1111-1111-1111", "card", "4111-1111-1111-1111"),
            ("cc=4111111111111111;", "card", "4111111111111111"),
            ("amex 3782 822463 10005", "card", "3782 822463 10005"),
            ("5500 0000 0000 0004", "card", "5500 0000 0000 0004"),
            ("IBAN DE89 3704 0044 0532 0130 00, thanks", "iban", "DE89 3704 0044 0532 0130 00"),
            ("GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
            ("nl91 abna 0417 1643 00", "iban", "nl91 abna 0417 1643 00"),
            ("from 192.168.0.1.", "ipv4", "192.168.0.1"),
            ("dns 8.8.8.8", "ipv4", "8.8.8.8"),
            ("host 2001:db8::1 up", "ipv6", "2001:db8::1"),
            ("fe80::1ff:fe23:4567:890a", "ipv6", "fe80::1ff:fe23:4567:890a"),
            ("lo ::1", "ipv6", "::1"),
            ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
            ("::ffff:192.0.2.128", "ipv6", "::ffff:192.0.2.128"),
            ("see https://example.com/path?q=1.", "url", "https://example.com/path?q=1"),
            ("www.example.org", "url", "www.example.org"),
            ("(http://foo.com/blah_(wiki))", "url", "http://foo.com/blah_(wiki)"),
        ]
        for (text, kind, match) in cases {
            let ms = PII.find(text)
            #expect(ms.count == 1 && ms.first?.kind == kind && ms.first?.text == match, "\(text) -> \(ms.map { "\($0.kind):\($0.text)" })")
            if let m = ms.first {
                #expect(String(decoding: Array(text.utf8)[m.range], as: UTF8.self) == match)
            }
        }
    }

    @Test func hardNegatives() {
        let negatives = [
            "4111 1111 1111 1112", "5500 0000 0000 0005", "card 1234 5678 9012 3456",
            "9999999999999995",              // Luhn-valid, but no issuer starts with 9
            "79927398713",                   // Luhn-valid, too short for a card
            "DE89 3704 0044 0532 0130 01", "GB82WEST12345698765433", "XX89370400440532013000",
            "version 1.2.3", "v2.10.4.1", "release 10.4.1.2.3", "pi is 3.14159", "1e-10",
            "2024-01-15", "15.01.2024", "01/02/2024", "2024/01/15", "on 03.04.2023 at 10:30:45",
            "$1,299.99", "€ 49.90", "EUR 1.234.567,89", "100,000 users", "costs $ 555 123 4567",
            "order 1234567890", "tracking 123456789012", "ref 00123456789", "id 0123456789",
            "999.999.999.999", "256.1.1.1", "1.2.3.4.5",
            "12:30:45", "MAC 00:1A:2B:3C:4D:5E", "ISBN 978-3-16-148410-0",
            "room 101-202-3030", "user@localhost", "@handle", "a@b.c", "call me at 5", "just www and http",
            "Invoice 2023-0042 of 2023-11-05", "+1", "phone: +12", "00:00",
        ]
        for s in negatives {
            let ms = PII.find(s)
            #expect(ms.isEmpty, "\(s) -> \(ms.map { "\($0.kind):\($0.text)" })")
        }
    }

    @Test func maskingPlaceholdersAndPseudonyms() throws {
        let text = "Mail Ann@Example.com or ann@example.com, bob@x.org; card 4111 1111 1111 1111"
        let m = try PIIMasker()
        #expect(m.mask(text) == "Mail [EMAIL] or [EMAIL], [EMAIL]; card [CARD]")
        #expect(m.counts["email"] == 3 && m.counts["card"] == 1 && m.counts["phone"] == 0)
        let p = try PIIMasker(pseudonyms: true)
        #expect(p.mask(text) == "Mail [EMAIL_1] or [EMAIL_1], [EMAIL_2]; card [CARD_1]")
        #expect(p.mask("again bob@x.org and carol@y.org") == "again [EMAIL_2] and [EMAIL_3]")
        let only = try PIIMasker(kinds: ["card"])
        #expect(only.mask(text) == "Mail Ann@Example.com or ann@example.com, bob@x.org; card [CARD]")
        let custom = try PIIMasker(kinds: [], patterns: [PII.Pattern(name: "employee_id", pattern: "EMP-\\d{5}")])
        #expect(custom.mask("badge EMP-12345, not EMP-12") == "badge [EMPLOYEE_ID], not EMP-12")
        #expect(csvUnwrapError { _ = try PIIMasker(kinds: ["emial"]) }.contains("did you mean 'email'?"))
        #expect(csvUnwrapError { _ = try PII.Pattern(name: "x", pattern: "(") }.contains("not a valid regular expression"))
    }

    @Test func maskTable() throws {
        let t = try DataTable(names: ["text", "n"], columns: [
            Column(strings: ["hi ann@example.com", nil, "no pii", "call +44 20 7946 0958"]), Column(integers: [1, 2, 3, 4]),
        ])
        let m = try PIIMasker(pseudonyms: true)
        let (out, changed) = try m.mask(t, columns: nil)
        #expect(changed == 2)
        #expect(try strings(out, "text") == ["hi [EMAIL_1]", nil, "no pii", "call [PHONE_1]"])
    }

    @Test func unicodeAroundMatches() {
        let s = "Zoë schreibt an zoë@example.com – Tel. +49 30 1234567"
        let ms = PII.find(s)
        #expect(ms.map { $0.kind } == ["email", "phone"])
        #expect(ms.map { $0.text } == ["zoë@example.com", "+49 30 1234567"])
        #expect(PII.find("Grüße an müller@bücher.de!").map { $0.text } == ["müller@bücher.de"])
    }
}

@Suite struct DataDedupeTests {
    @Test func lshParamsMatchDatasketch() throws {
        let g = try goldenData("lsh_params.json") as! [String: Any]
        for case let c as [String: Any] in g["cases"] as! [Any] {
            let (b, r) = Dedupe.lshParams(threshold: c["threshold"] as! Double, numPerm: c["num_perm"] as! Int)
            #expect(b == c["bands"] as! Int && r == c["rows"] as! Int, "\(c)")
        }
    }

    @Test func exactAfterNormalization() throws {
        let texts: [String?] = ["Where is my order?", "where  is my ORDER?", "Ｗhere is my order?", nil, nil, "Other", "other "]
        let r = try Dedupe.find(texts)
        #expect(r.clusterOf == [0, 0, 0, 3, 4, 5, 5])
        #expect(r.exactDuplicates == 3 && r.nearDuplicates == 0)
        #expect(r.clusters == [[0, 1, 2], [5, 6]])
    }

    func shingleSet(_ s: String) -> Set<String> {
        let n = Array(Dedupe.normalize(s))
        if n.count <= 5 { return [String(n)] }
        return Set((0...(n.count - 5)).map { String(n[$0..<($0 + 5)]) })
    }

    @Test func nearDuplicatesAgreeWithBruteForce() throws {
        var g = RandomGenerator(seed: 5)
        let words = "order refund shipping late broken screen battery charge account password login invoice payment card delivery address update cancel subscription help".split(separator: " ").map(String.init)
        var texts: [String] = []
        for _ in 0..<40 {
            let base = (0..<12).map { _ in words[g.below(words.count)] }
            texts.append(base.joined(separator: " "))
            for _ in 0..<4 {
                var w = base
                let edits = g.below(4)
                for _ in 0..<edits { w[g.below(w.count)] = words[g.below(words.count)] }
                texts.append(w.joined(separator: " "))
            }
        }
        let threshold = 0.7
        var o = Dedupe.Options()
        o.near = threshold
        let r = try Dedupe.find(texts, options: o)
        // brute force: exact Jaccard of character 5-gram sets, connected components
        let sets = texts.map { shingleSet($0) }
        var parent = Array(0..<texts.count)
        func find(_ x: Int) -> Int { var x = x; while parent[x] != x { x = parent[x] }; return x }
        var truePairs = Set<[Int]>()
        for i in 0..<texts.count {
            for j in (i + 1)..<texts.count {
                let a = sets[i], b = sets[j]
                let jac = Double(a.intersection(b).count) / Double(a.union(b).count)
                if jac >= threshold {
                    truePairs.insert([i, j])
                    let ri = find(i), rj = find(j)
                    if ri != rj { parent[max(ri, rj)] = min(ri, rj) }
                }
            }
        }
        let brute = (0..<texts.count).map { find($0) }
        // never joins rows brute force keeps apart
        for i in 0..<texts.count {
            for j in (i + 1)..<texts.count where r.clusterOf[i] == r.clusterOf[j] {
                #expect(brute[i] == brute[j], "joined \(i) and \(j) wrongly")
            }
        }
        // finds (nearly) all true duplicates
        let bruteDup = (0..<texts.count).filter { brute[$0] != $0 }.count
        let ourDup = (0..<texts.count).filter { r.clusterOf[$0] != $0 }.count
        #expect(bruteDup > 50)
        #expect(Double(ourDup) >= 0.95 * Double(bruteDup), "found \(ourDup) of \(bruteDup)")
        #expect(r.verifiedPairs > 0 && r.candidatePairs >= r.verifiedPairs)
        #expect(r.bands * r.rowsPerBand <= 128)
    }

    @Test func minhashEstimatesAreUnbiased() {
        // pairs of texts with overlaps from none to nearly all; the signature estimate of the
        // Jaccard similarity should be unbiased with the binomial spread sqrt(J(1-J)/128)
        var g = RandomGenerator(seed: 12)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz ")
        var diffs: [Double] = []
        var z: [Double] = []
        for _ in 0..<300 {
            let len = 40 + g.below(80)
            let a = String((0..<len).map { _ in alphabet[g.below(alphabet.count)] })
            var chars = Array(a)
            let edits = g.below(len / 3 + 1)
            for _ in 0..<edits { chars[g.below(len)] = alphabet[g.below(alphabet.count)] }
            let b = String(chars)
            let sig = Dedupe.signatures([a, b])
            let est = Double(zip(sig[0], sig[1]).filter { $0 == $1 }.count) / 128
            let j = Dedupe.jaccard(a, b)
            diffs.append(est - j)
            let sd = (j * (1 - j) / 128).squareRoot()
            if sd > 0.01 { z.append((est - j) / sd) }
        }
        let bias = diffs.reduce(0, +) / Double(diffs.count)
        #expect(abs(bias) < 0.01, "bias \(bias)")
        let zvar = z.map { $0 * $0 }.reduce(0, +) / Double(z.count)
        #expect(zvar > 0.5 && zvar < 1.6, "variance ratio \(zvar)")
    }

    @Test func wordShinglesAndMinhashVerify() throws {
        let texts: [String?] = [
            "the quick brown fox jumps over the lazy dog today",
            "the quick brown fox jumps over the lazy dog tonight",
            "completely different sentence about invoices and refunds",
        ]
        var o = Dedupe.Options()
        o.near = 0.6
        o.unit = .word
        let r = try Dedupe.find(texts, options: o)
        #expect(r.clusterOf == [0, 0, 2])
        o.verify = .minhash
        o.unit = .char
        o.near = 0.8
        let r2 = try Dedupe.find(texts, options: o)
        #expect(r2.clusterOf == [0, 0, 2])
        #expect(r2.nearDuplicates == 1)
    }

    @Test func tableDedupeKeepsFirst() throws {
        let t = try DataTable(names: ["id", "text"], columns: [
            Column(integers: [1, 2, 3, 4]), Column(strings: ["Hello there", "hello  THERE", "bye", nil]),
        ])
        let (out, r) = try Dedupe.dedupe(t, column: "text")
        #expect(out.rowCount == 3)
        guard case .integer(let ids) = try out.column("id").values else { Issue.record("type"); return }
        #expect(ids == [1, 3, 4])
        #expect(r.exactDuplicates == 1)
        #expect(csvUnwrapError { _ = try Dedupe.dedupe(t, column: "id") }.contains("de-duplication works on a string column"))
        var bad = Dedupe.Options()
        bad.near = 1.5
        #expect(csvUnwrapError { _ = try Dedupe.find(["a"], options: bad) }.contains("near must be a Jaccard threshold"))
    }
}
