"""Tokenizers Lathe writes, read by the Python `tokenizers` library (pinned 0.23.3): trained
byte-level BPE, character and word vocabularies, and real tokenizer.json files re-saved by
Lathe must load there and encode exactly as Lathe encodes."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

import tokenizers  # noqa: E402  (pinned in scripts/requirements-test.txt: missing is a failure)
from tokenizers import Tokenizer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "golden" / "tokenizers"

TEXTS = [
    "Hello world!",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune",
    "Café naïve résumé Ångström, 東京タワー 한국어 😀👍🏽 👨‍👩‍👧",
    "a  b   c\t\td\n\ne   \n  f  ",
    "3.14159 1,000,000 2024-11-22 I'm you're WON'T",
    "",
    "<|endoftext|>special<pad> in text",
    "supercalifragilisticexpialidocious" * 3,
    # unassigned (Cn), private use (Co), format (Cf) and control characters
    "a\u0378b \ufffe \U0010ffff c\ue000d e\u200bf g\u0007h",
]


def run_lua(lathe, code, tmp_path):
    script = tmp_path / "script.lua"
    script.write_text(code, encoding="utf-8")
    r = subprocess.run([lathe, "run", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout



def lathe_encodings(lathe, tok_expr, path, tmp_path):
    """Builds a tokenizer in Lathe, saves it to `path`, and returns Lathe's encodings of TEXTS."""
    texts = "{" + ", ".join(lua_escape(t) for t in TEXTS) + "}"
    code = f"""
local tok = {tok_expr}
tok:save({lua_escape(str(path))}, {{overwrite = true}})
local texts = {texts}
for _, t in ipairs(texts) do
  local ids = tok:encode(t)
  print(table.concat(ids, " "))
  print((tok:decode(ids):gsub("\\n", "\\\\n")))
end
"""
    out = run_lua(lathe, code, tmp_path).split("\n")
    res = []
    for k in range(len(TEXTS)):
        ids = [int(x) for x in out[2 * k].split()] if out[2 * k] else []
        res.append((ids, out[2 * k + 1].replace("\\n", "\n")))
    return res


def lua_escape(s):
    out = []
    for b in s.encode("utf-8"):
        if 32 <= b < 127 and chr(b) not in "\\\"":
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


CORPUS = (GOLDEN / "corpus.txt").read_text(encoding="utf-8").splitlines()[:400]


@pytest.fixture
def corpus_file(tmp_path):
    p = tmp_path / "corpus.txt"
    p.write_text("\n".join(CORPUS), encoding="utf-8")
    return p


def corpus_lua(corpus_file):
    return f"""(function()
  local lines = {{}}
  for l in io.lines({lua_escape(str(corpus_file))}) do lines[#lines + 1] = l end
  return lines
end)()"""


@pytest.mark.parametrize("opts", [
    "{vocab_size = 600, special_tokens = {\"<|endoftext|>\", \"<pad>\"}}",
    "{vocab_size = 400, min_frequency = 3, lowercase = true}",
])
def test_trained_bpe_loads_and_encodes_identically(lathe, tmp_path, corpus_file, opts):
    path = tmp_path / "bpe.json"
    ours = lathe_encodings(lathe, f"text.train_bpe({corpus_lua(corpus_file)}, {opts})", path, tmp_path)
    tok = Tokenizer.from_file(str(path))
    for text, (ids, decoded) in zip(TEXTS, ours):
        enc = tok.encode(text)
        assert enc.ids == ids, text
        assert tok.decode(enc.ids) == decoded, text


def test_trained_bpe_matches_the_python_trainer(lathe, tmp_path, corpus_file):
    """Exact merge order: the same corpus trained by both libraries gives the same file."""
    from tokenizers.implementations import ByteLevelBPETokenizer
    path = tmp_path / "ours.json"
    lathe_encodings(lathe, f"text.train_bpe({corpus_lua(corpus_file)}, {{vocab_size = 700, special_tokens = {{\"<s>\"}}}})",
                    path, tmp_path)
    ref = ByteLevelBPETokenizer()
    ref.train_from_iterator(CORPUS, vocab_size=700, min_frequency=2, show_progress=False, special_tokens=["<s>"])
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(ref._tokenizer.to_str())


@pytest.mark.parametrize("builder", ["char_vocab", "word_vocab"])
def test_vocabularies_load_and_encode_identically(lathe, tmp_path, corpus_file, builder):
    path = tmp_path / f"{builder}.json"
    ours = lathe_encodings(lathe, f"text.{builder}({corpus_lua(corpus_file)}, {{min_freq = 2}})", path, tmp_path)
    tok = Tokenizer.from_file(str(path))
    for text, (ids, decoded) in zip(TEXTS, ours):
        enc = tok.encode(text)
        assert enc.ids == ids, text
        assert tok.decode(enc.ids) == decoded, text


def fetch(name):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_tokenizers.py"), name],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"fetch_tokenizers.py {name} failed (the test needs it): {r.stderr}"
    return r.stdout.split(" ", 1)[1].strip()


@pytest.mark.parametrize("name", ["minilm", "smollm2"])
def test_resaved_real_tokenizers_round_trip(lathe, tmp_path, name):
    src = fetch(name)
    path = tmp_path / "resaved.json"
    ours = lathe_encodings(lathe, f"text.load_tokenizer({lua_escape(src)})", path, tmp_path)
    ref = Tokenizer.from_file(src)
    back = Tokenizer.from_file(str(path))
    for text, (ids, decoded) in zip(TEXTS, ours):
        assert ref.encode(text).ids == ids, text
        assert back.encode(text).ids == ids, text
        assert ref.decode(ids) == decoded, text


def test_committed_tokenizer_files_round_trip(lathe, tmp_path):
    for f in ["llama3_bpe.json", "wordpiece.json", "sentencepiece_bpe.json", "charbpe.json", "wordlevel.json", "prefix_bpe.json"]:
        path = tmp_path / f
        ours = lathe_encodings(lathe, f"text.load_tokenizer({lua_escape(str(GOLDEN / f))})", path, tmp_path)
        back = Tokenizer.from_file(str(path))
        for text, (ids, _) in zip(TEXTS, ours):
            assert back.encode(text).ids == ids, (f, text)


PIECES = ["a", "Z", "q", " ", "  ", "\t", "\n", "\r\n", "\x00", "\x07", "é", "e\u0301", "東", "京", "😀", "👍🏽", "\u200d",
          "'s", "'LL", "<mask>", "[CLS]", "<|im_start|>", "<s>", "</s>", "1234", "٣", "½", "##", "▁", "Ġ", "\ufffd", "İ",
          "ß", "ﬁ", "\ue000", "[custom]", "hello world", "Hello", ",", "...", "(", "—", "\u00a0", "\u3000", "x" * 40]


def random_texts(n, seed):
    import random
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25))) for _ in range(n)]


@pytest.mark.parametrize("name", ["bytelevel_bpe", "roberta_bpe", "llama3_bpe", "wordpiece", "sentencepiece_bpe",
                                  "charbpe", "wordlevel", "prefix_bpe", "minilm", "smollm2"])
def test_random_texts_encode_like_the_python_library(lathe, tmp_path, name):
    """Differential check on random mixes of tricky pieces (combining marks, ZWJ, specials inside
    words, control characters, CJK, digits of other scripts)."""
    path = fetch(name) if name in ("minilm", "smollm2") else str(GOLDEN / f"{name}.json")
    texts = random_texts(300, sum(map(ord, name)))
    src = tmp_path / "texts.txt"
    # one text per line, as a Lua string literal (bytes escaped), so newlines survive
    src.write_text("\n".join(lua_escape(t) for t in texts), encoding="utf-8")
    code = f"""
local tok = text.load_tokenizer({lua_escape(path)})
for line in io.lines({lua_escape(str(src))}) do
  local s = load("return " .. line)()
  print(table.concat(tok:encode(s), " "))
end
"""
    out = run_lua(lathe, code, tmp_path).split("\n")
    ref = Tokenizer.from_file(path)
    for k, t in enumerate(texts):
        want = ref.encode(t).ids
        got = [int(x) for x in out[k].split()] if out[k] else []
        assert got == want, f"{name}: {t!r}"
