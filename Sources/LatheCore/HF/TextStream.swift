/// The text of tokens as they are generated, for showing a reply while it is written: each
/// token gives the text gained since the last (decoding bytewise, since a combining mark may
/// join the last character). A trailing partial UTF-8 character, and a tail that may be the
/// start of a stop string, wait; text from a stop string on is never given.
public final class TextStream {
    let tokenizer: TextTokenizer
    let stops: [String]
    var ids: [Int] = []
    var shown: [UInt8] = []
    var stopped = false

    public init(tokenizer: TextTokenizer, stops: [String] = []) {
        self.tokenizer = tokenizer
        self.stops = stops
    }

    /// Adds a generated token; returns the text to show now (often empty).
    public func push(_ id: Int) -> String {
        ids.append(id)
        return gained(final: false)
    }

    /// The text still held back at the end of generation.
    public func finish() -> String { gained(final: true) }

    func gained(final: Bool) -> String {
        guard !stopped, var text = try? tokenizer.decode(ids, skipSpecialTokens: true) else { return "" }
        if let cut = HF.cutAtStop(text, stops) {
            text = cut
            stopped = true
        } else if !final {
            let hold = stops.map { s in
                stride(from: min(s.count, text.count), to: 0, by: -1).first { text.hasSuffix(String(s.prefix($0))) } ?? 0
            }.max() ?? 0
            text = String(text.dropLast(hold))
        }
        if !final && !stopped && text.unicodeScalars.last == "\u{FFFD}" { return "" }
        let b = Array(text.utf8)
        guard b.count >= shown.count, Array(b[0..<shown.count]) == shown else { return "" }
        defer { shown = b }
        return String(decoding: b[shown.count...], as: UTF8.self)
    }
}
