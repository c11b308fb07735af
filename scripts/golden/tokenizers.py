#!/usr/bin/env python3
"""Golden vectors for Lathe's tokenizers (LatheCore/Text), made with the Python `tokenizers`
library (pinned: tokenizers==0.23.3, see scripts/requirements-golden.txt).

    python3 scripts/golden/tokenizers.py

Writes into Tests/golden/tokenizers/:
  corpus.txt             a small generated corpus (mixed English prose, accents, CJK, numbers)
  bytelevel_bpe.json     GPT-2 style byte-level BPE trained on it (ByteLevelBPETokenizer)
  llama3_bpe.json        Llama-3 style: Split(Llama-3 regex) + ByteLevel(use_regex=false), ignore_merges,
                         <|begin_of_text|> template
  wordpiece.json         a small BERT WordPiece (BertWordPieceTokenizer)
  sentencepiece_bpe.json Llama-2 style BPE: Prepend/Replace normalizer, byte_fallback, ByteFallback/Fuse/Strip decoder
  charbpe.json           BPE with end_of_word_suffix </w> (CharBPETokenizer)
  wordlevel.json         WordLevel + Whitespace + NFKC/Lowercase, added tokens with lstrip/rstrip/single_word/normalized,
                         RobertaProcessing
  prefix_bpe.json        BPE with continuing_subword_prefix "##", Punctuation/Digits/Metaspace(first) pre-tokenizers
  golden.json            encodings (ids, tokens, byte offsets, word ids, type ids, masks), decodes, normalizer
                         and pre-tokenizer outputs for all of the above and for two real tokenizers fetched by
                         scripts/fetch_tokenizers.py (all-MiniLM-L6-v2 and SmolLM2-135M); the real files are not
                         committed, only their results
  train.json             what `BpeTrainer` (via ByteLevelBPETokenizer) learns on the corpus, for comparing merges
"""
import json
import os
import random
import subprocess
import sys

# this file is named like the library: keep its own folder off the import path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import tokenizers  # noqa: E402
from tokenizers import (AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers,
                        processors, trainers)
from tokenizers.implementations import (BertWordPieceTokenizer, ByteLevelBPETokenizer,
                                        CharBPETokenizer)

assert tokenizers.__version__ == "0.23.3", f"tokenizers {tokenizers.__version__}; pin 0.23.3"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "golden", "tokenizers")
os.makedirs(OUT, exist_ok=True)

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# ---------------------------------------------------------------------------------------------
# corpus

WORDS = """the of and to in a is that was he for it with as his on be at by had not are but from
or have an they which one you were her all she there would their we him been has when who will
more no if out so said what up its about into than them can only other new some could time these
two may then do first any my now such like our over man me even most made after also did many
before must through back years where much your way well down should because each just those people
house morning letter father mother sister brother friend evening garden window family heart
marriage fortune character manner feeling opinion pleasure happiness attention conversation
acquaintance circumstance neighbourhood situation understanding consideration satisfaction
elizabeth darcy bennet jane bingley emma knightley harriet woodhouse anne elliot wentworth catherine
tilney fanny price edmund bertram elinor marianne dashwood willoughby brandon lucas collins
wickham lydia kitty mary netherfield longbourn pemberley hartfield highbury bath london
certainly perhaps indeed however nothing something everything whatever really quite very""".split()

EXTRA = ["café", "naïve", "résumé", "Zoë", "Ångström", "straße", "Übermut", "déjà", "vu", "façade",
         "東京", "日本語", "中文", "北京", "한국어", "서울", "привет", "мир", "γειά", "σου", "مرحبا", "שלום",
         "नमस्ते", "😀", "🍕", "❤️", "👍🏽", "2024", "3.14", "1,000", "42", "½", "Ⅻ", "٣٤٥", "e-mail",
         "don't", "it's", "we're", "I'll", "you've", "'tis", "O'Brien", "#hashtag", "@user", "https://example.com/a?b=c"]


def make_corpus():
    rng = random.Random(1234)
    lines = []
    for _ in range(1500):
        n = rng.randint(4, 24)
        ws = []
        for k in range(n):
            w = rng.choice(EXTRA) if rng.random() < 0.08 else rng.choice(WORDS)
            if k == 0 or rng.random() < 0.05:
                w = w[:1].upper() + w[1:]
            ws.append(w)
            if rng.random() < 0.08:
                ws[-1] += rng.choice([",", ";", ":"])
        s = " ".join(ws) + rng.choice([".", ".", ".", "!", "?", "...", '."'])
        if rng.random() < 0.1:
            s = '"' + s
        if rng.random() < 0.05:
            s = "    " + s  # indentation
        if rng.random() < 0.05:
            s += "\t" + str(rng.randint(0, 99999))
        lines.append(s)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# texts

TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "Café naïve résumé Ångström Zoë déjà vu façade",
    "Straße Übergrößenträger ÄÖÜ äöü ß",
    "你好，世界！ 日本語のテキストです。 한국어 텍스트 東京タワー",
    "I ❤️ 🍕 and 👨‍👩‍👧‍👦 family 🏳️‍🌈 flag 👍🏽 thumbs",
    "a  b   c\t\td\n\ne   \n  f  ",
    "   leading and trailing   ",
    "3.14159 1,000,000 2024-11-22 0x1F 12345678901234567890 -42 +7 1e10",
    "Wait... what?! (yes) [no] {maybe} <tag> \"quoted\" 'single' — em-dash – en-dash … ellipsis",
    "I'm you're he's we've they'll I'd can't WON'T It'S 'tis O'Brien",
    "a" * 150,
    "supercalifragilisticexpialidocious" * 5,
    "",
    " ",
    "\n",
    "\u0000\u0007bell\u001b[0m \ue000 \U0010fffd \ufffd x",
    "Привет мир Γειά σου κόσμε مرحبا بالعالم שלום עולם नमस्ते दुनिया",
    "e\u0301 a\u0308 n\u0303 o\u0323\u0302 (decomposed accents)",
    "ﬁ ﬂ ① ² ½ Ⅷ ＡＢＣ ｶﾀｶﾅ ㌔",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "[CLS] hello [SEP] [MASK] [UNK] [PAD]",
    "def f(x):\n    return x ** 2  # square\n\n\tprint(f(3))",
    "Visit https://example.com/path?q=1&r=2 or mail me@example.org!",
    "İstanbul ΣΊΣΥΦΟΣ ǅemal ΑΥΤΟΣ ὈΔΥΣΣΕΎΣ",
    "line one\r\nline two\r\n\r\nline four",
    "a\u00a0b\u2009c\u3000d\u200be\u2028f",
    "٣٤٥ ४५६ ১২৩ 𝟙𝟚𝟛",
    "'s 're 'VE 'LL 'd 'ſ 'x",
    "hello <mask> world, <mask>ing <MASK> [custom]  x",
    "Hello World hello world HELLO WORLD",
    "mr. smith's dog—which was brown—ran 5km in 30min!!!",
    "   \t  \n  ",
    "ab" * 40 + " " + "xy z" * 20,
]

PAIRS = [
    ("How old are you?", "I am 6 years old."),
    ("The cat sat on the mat.", ""),
    ("Short", "A much longer second sentence that goes on and on and on for quite a while."),
]


def byte_offsets(text, offsets):
    """Python gives character offsets; Lathe reports byte offsets into the UTF-8 text."""
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    out = []
    for s, e in offsets:
        out.append([pos[s] if s < len(pos) else s, pos[e] if e < len(pos) else e])
    return out


def encode_case(tok, text, pair=None, add_special_tokens=True):
    enc = tok.encode(text, pair, add_special_tokens=add_special_tokens)
    full = text if pair is None else None
    c = {
        "text": text,
        "ids": enc.ids,
        "tokens": enc.tokens,
        "type_ids": enc.type_ids,
        "word_ids": enc.word_ids,
        "special_tokens_mask": enc.special_tokens_mask,
        "attention_mask": enc.attention_mask,
        "decoded": tok.decode(enc.ids),
        "decoded_with_special": tok.decode(enc.ids, skip_special_tokens=False),
    }
    if pair is not None:
        c["pair"] = pair
    if full is not None:
        # character offsets, as the Python binding reports them; the Swift test converts Lathe's
        # byte offsets to characters exactly as the Rust library does (BytesToCharOffsetConverter)
        c["char_offsets"] = [list(o) for o in enc.offsets]
    if not add_special_tokens:
        c["add_special_tokens"] = False
    return c


def describe(tok, name, source, texts=TEXTS, extra=None):
    d = {"name": name, "source": source, "cases": []}
    for t in texts:
        c = encode_case(tok, t)
        if tok.normalizer is not None:
            c["normalized"] = tok.normalizer.normalize_str(t)
        if tok.pre_tokenizer is not None:
            pts = tok.pre_tokenizer.pre_tokenize_str(t)
            c["pre_tokens"] = [[p, o] for p, o in zip([p for p, _ in pts], byte_offsets(t, [o for _, o in pts]))]
        d["cases"].append(c)
    for a, b in PAIRS:
        d["cases"].append(encode_case(tok, a, b))
    d["cases"].append(encode_case(tok, TEXTS[2], add_special_tokens=False))
    # decoding arbitrary id runs (not produced by encode)
    n = tok.get_vocab_size()
    ids = [i % n for i in range(0, 3 * n, max(1, n // 97))][:120]
    d["decode_cases"] = [{"ids": ids, "decoded": tok.decode(ids), "decoded_with_special": tok.decode(ids, skip_special_tokens=False)}]
    d["vocab_size"] = tok.get_vocab_size(with_added_tokens=False)
    d["vocab_size_with_added"] = tok.get_vocab_size(with_added_tokens=True)
    if extra:
        d.update(extra)
    return d


def batch_case(tok, texts, **padding):
    tok.enable_padding(**padding)
    encs = tok.encode_batch(texts)
    tok.no_padding()
    return {"texts": texts, "padding": padding, "ids": [e.ids for e in encs],
            "attention_mask": [e.attention_mask for e in encs]}


def save(tok, fname):
    path = os.path.join(OUT, fname)
    tok.save(path)
    return path


def main():
    corpus = make_corpus()
    with open(os.path.join(OUT, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write(corpus)
    lines = corpus.splitlines()

    results = []

    # 1. GPT-2 style byte-level BPE
    bl = ByteLevelBPETokenizer()
    bl.train_from_iterator(lines, vocab_size=1000, min_frequency=2, show_progress=False,
                           special_tokens=["<|endoftext|>"])
    save(bl, "bytelevel_bpe.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "bytelevel_bpe.json"))
    results.append(describe(tok, "bytelevel_bpe", "bytelevel_bpe.json"))

    # training parity data: train with our exact settings on the corpus, several sizes
    train = {"corpus": "corpus.txt", "runs": []}
    for vs, mf, specials in [(300, 2, []), (1000, 2, ["<|endoftext|>"]), (2000, 0, ["<s>", "</s>", "<pad>"])]:
        t = ByteLevelBPETokenizer()
        t.train_from_iterator(lines, vocab_size=vs, min_frequency=mf, show_progress=False, special_tokens=specials)
        j = json.loads(t._tokenizer.to_str())
        train["runs"].append({"vocab_size": vs, "min_frequency": mf, "special_tokens": specials,
                              "vocab": j["model"]["vocab"], "merges": j["model"]["merges"],
                              "tokenizer_json": t._tokenizer.to_str(pretty=True)})

    # 1b. RoBERTa style: the same BPE with ByteLevel(add_prefix_space) and RobertaProcessing (trim offsets)
    rb = Tokenizer.from_file(os.path.join(OUT, "bytelevel_bpe.json"))
    rb.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    rb.add_special_tokens([AddedToken("<s>", special=True), AddedToken("</s>", special=True),
                           AddedToken("<mask>", special=True, lstrip=True)])
    rb.post_processor = processors.RobertaProcessing(("</s>", rb.token_to_id("</s>")), ("<s>", rb.token_to_id("<s>")),
                                                     trim_offsets=True, add_prefix_space=True)
    save(rb, "roberta_bpe.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "roberta_bpe.json"))
    results.append(describe(tok, "roberta_bpe", "roberta_bpe.json"))

    # 2. Llama-3 style
    l3 = Tokenizer(models.BPE(ignore_merges=True))
    l3.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    l3.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, show_progress=False,
                                  special_tokens=["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    l3.train_from_iterator(lines, trainer=trainer)
    l3.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", l3.token_to_id("<|begin_of_text|>"))])])
    save(l3, "llama3_bpe.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "llama3_bpe.json"))
    results.append(describe(tok, "llama3_bpe", "llama3_bpe.json"))

    # 3. small BERT WordPiece (BertProcessing post-processor)
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(lines, vocab_size=800, min_frequency=2, show_progress=False)
    wp._tokenizer.post_processor = processors.BertProcessing(("[SEP]", wp.token_to_id("[SEP]")),
                                                             ("[CLS]", wp.token_to_id("[CLS]")))
    save(wp, "wordpiece.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "wordpiece.json"))
    d = describe(tok, "wordpiece", "wordpiece.json")
    d["truncated_cases"] = []
    for params, (a, b) in [({"max_length": 16}, (TEXTS[2], None)), ({"max_length": 16}, PAIRS[2]),
                           ({"max_length": 12, "strategy": "only_second", "direction": "left"}, PAIRS[2]),
                           ({"max_length": 9, "strategy": "longest_first"}, PAIRS[0]),
                           ({"max_length": 7, "direction": "left"}, (TEXTS[1], None))]:
        tok.enable_truncation(**params)
        c = encode_case(tok, a, b)
        c["truncation"] = params
        d["truncated_cases"].append(c)
    tok.no_truncation()
    d["batch_cases"] = [batch_case(tok, TEXTS[:6], pad_id=0, pad_token="[PAD]"),
                        batch_case(tok, TEXTS[:6], pad_id=0, pad_token="[PAD]", length=40, direction="left"),
                        batch_case(tok, TEXTS[:4], pad_id=0, pad_token="[PAD]", pad_to_multiple_of=8)]
    results.append(d)

    # 4. Llama-2 style SentencePiece BPE with byte fallback
    sp = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    sp.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    sp_tr = trainers.BpeTrainer(vocab_size=600, min_frequency=2, show_progress=False,
                                special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=120)
    sp.train_from_iterator(lines, trainer=sp_tr)
    j = json.loads(sp.to_str())
    vocab = j["model"]["vocab"]
    for b in range(256):
        vocab.setdefault("<0x%02X>" % b, len(vocab))
    sp_model = models.BPE(vocab=vocab, merges=[tuple(m) for m in j["model"]["merges"]], unk_token="<unk>",
                          fuse_unk=True, byte_fallback=True)
    sp2 = Tokenizer(sp_model)
    sp2.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    sp2.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    sp2.add_special_tokens([AddedToken("<unk>", special=True, normalized=False),
                            AddedToken("<s>", special=True, normalized=False),
                            AddedToken("</s>", special=True, normalized=False)])
    sp2.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", sp2.token_to_id("<s>"))])
    save(sp2, "sentencepiece_bpe.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "sentencepiece_bpe.json"))
    results.append(describe(tok, "sentencepiece_bpe", "sentencepiece_bpe.json"))

    # 5. CharBPE (end_of_word_suffix)
    cb = CharBPETokenizer(unk_token="<unk>", suffix="</w>", lowercase=True)
    cb.train_from_iterator(lines, vocab_size=700, min_frequency=2, show_progress=False, special_tokens=["<unk>"])
    save(cb, "charbpe.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "charbpe.json"))
    results.append(describe(tok, "charbpe", "charbpe.json"))

    # 6. WordLevel with added-token options and RobertaProcessing
    wl = Tokenizer(models.WordLevel(unk_token="<unk>"))
    wl.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    wl.pre_tokenizer = pre_tokenizers.Whitespace()
    wl_tr = trainers.WordLevelTrainer(vocab_size=500, min_frequency=1, show_progress=False,
                                      special_tokens=["<unk>", "<s>", "</s>", "<pad>"])
    wl.train_from_iterator(lines, trainer=wl_tr)
    wl.add_tokens([AddedToken("<mask>", lstrip=True, single_word=True, normalized=False),
                   AddedToken("hello world", normalized=True),
                   AddedToken("[custom]", rstrip=True, normalized=False)])
    wl.add_special_tokens([AddedToken("<pad>", special=True)])
    wl.post_processor = processors.RobertaProcessing(("</s>", wl.token_to_id("</s>")), ("<s>", wl.token_to_id("<s>")))
    save(wl, "wordlevel.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "wordlevel.json"))
    results.append(describe(tok, "wordlevel", "wordlevel.json"))

    # 7. BPE with a continuing-subword prefix, more pre-tokenizers and normalizers
    pb = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"))
    pb.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                          normalizers.Strip()])
    pb.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                                pre_tokenizers.Digits(individual_digits=False)])
    pb_tr = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False, special_tokens=["[UNK]"],
                                continuing_subword_prefix="##")
    pb.train_from_iterator(lines, trainer=pb_tr)
    pb.decoder = decoders.WordPiece(prefix="##")
    save(pb, "prefix_bpe.json")
    tok = Tokenizer.from_file(os.path.join(OUT, "prefix_bpe.json"))
    results.append(describe(tok, "prefix_bpe", "prefix_bpe.json"))

    # 8. normalizer and pre-tokenizer variety on a tiny WordLevel (no committed file: inline)
    variants = {
        "nfc_metaspace_first": (normalizers.NFC(), pre_tokenizers.Metaspace(prepend_scheme="first")),
        "nfkd_bert": (normalizers.NFKD(), pre_tokenizers.BertPreTokenizer()),
        "bert_cased_split_removed": (normalizers.BertNormalizer(lowercase=False, strip_accents=False),
                                     pre_tokenizers.Split(" ", "removed")),
        "nmt_punct_merged": (normalizers.Nmt(), pre_tokenizers.Sequence([pre_tokenizers.Punctuation("merged_with_previous"),
                                                                          pre_tokenizers.Split(tokenizers.Regex(r"\d+"), "merged_with_next")])),
        "replace_regex_contiguous": (normalizers.Replace(tokenizers.Regex(r"\s+"), " "),
                                     pre_tokenizers.Sequence([pre_tokenizers.Split(tokenizers.Regex(r"[aeiou]+"), "contiguous"),
                                                              pre_tokenizers.Digits(individual_digits=True)])),
        "strip_left_gpt2_split": (normalizers.Strip(left=True, right=False),
                                  pre_tokenizers.Split(tokenizers.Regex(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"),
                                                       "isolated", invert=False)),
        "metaspace_always_nosplit": (normalizers.Sequence([normalizers.NFKD(), normalizers.Replace(tokenizers.Regex(r"\d"), "#")]),
                                     pre_tokenizers.Metaspace(replacement="_", prepend_scheme="always", split=False)),
        "bytelevel_norm_delimiter": (normalizers.Sequence([normalizers.Lowercase(), normalizers.ByteLevel()]),
                                     pre_tokenizers.CharDelimiterSplit("Ġ")),
    }
    for name, (norm, pre) in variants.items():
        t = Tokenizer(models.WordLevel(vocab={"<unk>": 0, "hello": 1, "world": 2, "▁hello": 3, "the": 4, ".": 5},
                                       unk_token="<unk>"))
        t.normalizer = norm
        t.pre_tokenizer = pre
        if "metaspace_first" in name:
            t.decoder = decoders.Metaspace(prepend_scheme="first")
        elif "metaspace_always" in name:
            t.decoder = decoders.Metaspace(replacement="_", prepend_scheme="always", split=False)
        results.append(describe(t, name, {"inline": json.loads(t.to_str())}))

    # 9. the real tokenizers (fetched, not committed)
    fetched = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "fetch_tokenizers.py")],
                             capture_output=True, text=True, check=True).stdout.split("\n")
    paths = dict(line.split(" ", 1) for line in fetched if line.strip())
    tok = Tokenizer.from_file(paths["minilm"])
    d = describe(tok, "minilm", {"fetch": "minilm"})
    tok.no_padding()
    tok.no_truncation()
    d["unpadded_cases"] = [encode_case(tok, t) for t in TEXTS[:8]]
    results.append(d)
    tok = Tokenizer.from_file(paths["smollm2"])
    results.append(describe(tok, "smollm2", {"fetch": "smollm2"}))

    with open(os.path.join(OUT, "golden.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "tokenizers": results}, f, ensure_ascii=False)
    with open(os.path.join(OUT, "train.json"), "w", encoding="utf-8") as f:
        json.dump(train, f, ensure_ascii=False)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
