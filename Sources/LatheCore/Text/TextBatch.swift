/// How `TextTokenizer.batch` pads (transformers' `padding` argument).
public enum TextPaddingMode: String, Sendable, CaseIterable {
    /// To the longest encoding of the batch.
    case longest
    /// To the batch's `maxLength`.
    case maxLength = "max_length"
    /// Not at all: every text must then encode to the same length.
    case doNotPad = "do_not_pad"
}

/// The settings of one batch, as transformers' `tokenizer(texts, ...)` takes them. What is
/// left nil falls back on the tokenizer's own truncation and padding settings.
public struct TextBatchOptions: Sendable {
    /// Truncate to this many tokens (special tokens included) unless `truncation` is false.
    public var maxLength: Int?
    /// nil: the tokenizer's padding setting when it has one, else `.longest`.
    public var padding: TextPaddingMode?
    /// nil: truncate when `maxLength` is given, else as the tokenizer's setting says;
    /// true without `maxLength` needs that setting.
    public var truncation: Bool?
    /// Cut tokens from the left (keep the end of long texts).
    public var truncateLeft = false
    /// Pad on the left (for generation); nil: the tokenizer's setting, else the right.
    public var padLeft: Bool?
    /// nil: `defaultPadId`.
    public var padId: Int?
    public var addSpecialTokens = true
    /// Second texts of pairs, one per text.
    public var pairs: [String]?
    /// Byte offsets where each text's response begins: labels are then computed.
    public var responseStarts: [Int]?

    public init() {}
}

/// A batch ready for a model: int64 tensors [texts, length].
public struct TextBatch {
    public let ids: Tensor
    /// 1 on tokens, 0 on padding.
    public let mask: Tensor
    /// The ids with -100 on the prompt and padding (when response starts were given).
    public let labels: Tensor?
}

extension TextTokenizer {
    /// The truncation and padding a batch gets from its options and the tokenizer's settings.
    public func batchSettings(_ o: TextBatchOptions) throws(LatheError) -> (truncation: TextTruncation?, padding: TextPadding?) {
        if let m = o.maxLength, m < 1 || m > TextTokenizer.maxLength {
            throw LatheError("max_length must be from 1 to \(TextTokenizer.maxLength) (got \(m))")
        }
        var trunc = truncation
        if let m = o.maxLength, o.truncation != false {
            trunc = TextTruncation(maxLength: m, left: o.truncateLeft)
        } else if o.truncation == false {
            trunc = nil
        } else if o.truncation == true && trunc == nil {
            throw LatheError("truncation = true needs max_length or a tokenizer truncation setting")
        }
        var pad: TextPadding?
        switch o.padding {
        case .doNotPad?: pad = nil
        case nil where padding != nil:
            pad = padding
            if let m = o.maxLength, pad?.length != nil { pad?.length = m }
        default:
            let fixed = o.padding == .maxLength
            if fixed && o.maxLength == nil { throw LatheError("padding \"max_length\" needs the max_length option") }
            var p = padding ?? TextPadding()
            p.length = fixed ? o.maxLength : nil
            if fixed { p.padToMultipleOf = nil }
            pad = p
        }
        pad?.padId = o.padId ?? defaultPadId
        if let left = o.padLeft { pad?.left = left }
        return (trunc, pad)
    }

    /// Encodes texts into a batch (on `threads` threads): ids, attention mask and, with
    /// response starts, labels for supervised fine-tuning (see `labels(_:responseStart:)`).
    public func batch(_ texts: [String], _ o: TextBatchOptions = TextBatchOptions(), threads: Int = 1) throws(LatheError) -> TextBatch {
        if let s = o.responseStarts {
            guard s.count == texts.count else {
                throw LatheError("response_starts: expected \(texts.count) byte offsets, one per text, got \(s.count)")
            }
            if let bad = s.first(where: { $0 < 0 }) { throw LatheError("response_starts: byte offsets are non-negative (got \(bad))") }
        }
        let (trunc, pad) = try batchSettings(o)
        let encs = try encodeBatch(texts, pairs: o.pairs, addSpecialTokens: o.addSpecialTokens, withTokens: false,
                                   withOffsets: o.responseStarts != nil, truncation: .some(trunc), padding: .some(pad), threads: threads)
        let len = encs.first?.count ?? 0
        for (i, e) in encs.enumerated() where e.count != len {
            throw LatheError("texts encode to different lengths (\(len) for text 1, \(e.count) for text \(i + 1)); pass padding = true")
        }
        if encs.count.multipliedReportingOverflow(by: len).overflow || encs.count * len > 1 << 32 {
            throw LatheError("the batch would hold \(encs.count) x \(len) ids, too many for one tensor; encode it in chunks")
        }
        var ids: [Int64] = [], mask: [Int64] = [], labels: [Int64] = []
        ids.reserveCapacity(encs.count * len)
        mask.reserveCapacity(encs.count * len)
        for (i, e) in encs.enumerated() {
            ids.append(contentsOf: e.ids.map { Int64($0) })
            mask.append(contentsOf: e.attentionMask.map { Int64($0) })
            if let s = o.responseStarts { labels.append(contentsOf: TextTokenizer.labels(e, responseStart: s[i]).map { Int64($0) }) }
        }
        let shape = [encs.count, len]
        return TextBatch(ids: Tensor(int64s: ids, shape: shape), mask: Tensor(int64s: mask, shape: shape),
                         labels: o.responseStarts == nil ? nil : Tensor(int64s: labels, shape: shape))
    }

    /// Encodes a prompt + response text for supervised fine-tuning: the ids, and labels with
    /// -100 on the prompt (see `labels(_:responseStart:)`). Padding is never applied;
    /// `maxLength` replaces the tokenizer's truncation (`truncateLeft` keeps the end, so the
    /// response survives a long prompt).
    public func maskPrompt(_ text: String, responseStart: Int, addSpecialTokens: Bool = true, maxLength: Int? = nil,
                           truncateLeft: Bool = false) throws(LatheError) -> (ids: [Int], labels: [Int]) {
        if responseStart < 0 { throw LatheError("response_start must be a non-negative byte offset (got \(responseStart))") }
        var trunc = truncation
        if let m = maxLength {
            if m < 1 { throw LatheError("max_length must be positive (got \(m))") }
            trunc = TextTruncation(maxLength: m, left: truncateLeft)
        }
        let e = try encode(text, addSpecialTokens: addSpecialTokens, withTokens: false, truncation: .some(trunc), padding: .some(nil))
        return (e.ids, TextTokenizer.labels(e, responseStart: responseStart))
    }

    /// Decodes each row of a batch of ids (padding, a special token in most tokenizers, is skipped).
    public func decodeBatch(_ rows: [[Int]], skipSpecialTokens: Bool = true) throws(LatheError) -> [String] {
        var out: [String] = []
        out.reserveCapacity(rows.count)
        for r in rows { out.append(try decode(r, skipSpecialTokens: skipSpecialTokens)) }
        return out
    }
}
