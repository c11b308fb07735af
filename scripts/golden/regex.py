#!/usr/bin/env python3
"""Golden vectors for Lathe's regular expression engine (LatheCore/Text/TextRegex*.swift), made
with the Python `tokenizers` library (pinned: tokenizers==0.23.3), whose `Regex` runs Oniguruma
through the onig crate.

    python3 scripts/golden/regex.py

Writes Tests/golden/tokenizers/regex.json: for every (pattern, text) pair
  isolated  the pieces of Split(Regex(pattern), "isolated").pre_tokenize_str(text), as
            [start, end] in characters (Python str indices): every non-empty match and every
            non-empty gap between matches
  replaced  Replace(Regex(pattern), MARK).normalize_str(text): every match, empty ones
            included, replaced by MARK
Together they fix every match's position and extent. Also:
  classes   for each class pattern (\\w, [[:punct:]], \\p{Lu}, ...), the code points it matches,
            as ranges, among the code points below U+30000 that Python's unicodedata knows
            (assigned, not surrogates): "checked", as ranges
  cased     the characters Python's str.lower/upper/casefold change, below U+20000, as ranges
  folds     for each of them, the characters (?i)c matches alone, when that is not c itself
  random    random small patterns (alternation, groups, greedy and lazy quantifiers, anchors,
            lookarounds over a and b) on random short texts, seeded: isolated and replaced as above
"""
import json
import os
import random
import re
import sys
import unicodedata

# this file's folder holds tokenizers.py: keep it off the import path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import tokenizers  # noqa: E402
from tokenizers import Regex, normalizers, pre_tokenizers  # noqa: E402

assert tokenizers.__version__ == "0.23.3", f"tokenizers {tokenizers.__version__}; pin 0.23.3"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "golden", "tokenizers", "regex.json")
MARK = "\u241e"

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
DEEPSEEK = (r"[\r\n]|\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗ]+"
            r"|\s?[!-/:-~！-／：-～‘-‟　-。]+|\s+$|[一-龥ࠀ-一가-퟿]+|\p{N}+")

PATTERNS = [
    GPT2,
    LLAMA3,
    "(?:" + GPT2 + ")",          # the same patterns through the engine instead of the scanners
    "(?:" + LLAMA3 + ")",
    O200K,
    DEEPSEEK,
    r"\w+|[^\w\s]+",
    r" ?[^\s]+|\s+",
    r"\p{N}",
    r"\p{P}",
    r"\p{N}{1,3}",
    r"\d{1,3}(?=(?:\d{3})*\b)",
    r"(?<=\d)(?=(?:\d{3})+(?!\d))",
    r"a*",
    r"\b",
    r"x*?",
    r".+?",
    r"\w+?\b",
    r"a(?i)b|c",
    r"(?i:the|cat|k|σ|ǆ)",
    r"(?i)[^a-z\s]+",
    r"(?i)\p{Lu}+",
    r"(?i)[\p{Lu}]+",
    r"[\p{L}&&[^\p{Lu}]]+",
    r"[[:punct:]]+|[[:alpha:]]+",
    r"^\s*|\s*$",
    r"^.+$",
    r"\A\w|\w\z|\w\Z",
    r"\s+(?!\S)|\s+",
    r"(?<!\S)\w+",
    r"(?<=\p{Ll})(?=\p{Lu})",
    r"(a|ab)(c|bcd)(d*)",
    r"(?:|a)*",
    r"(?:a|)*",
    r"(?:a*|b)*",
    r"(a+)+$",
    r"\p{Lu}\p{Ll}+|\p{Lt}|\p{Lo}+|\p{M}",
    r"[\u3040-\u309F]+|[\u30A0-\u30FF]+|[\x{4E00}-\x{9FFF}]+|[\x{1F300}-\x{1FAFF}]",
    r"\S+|\D+|\W+",
    "(?x) \\p{L}+ # words\n | \\d+",
    r"a{2}?|\w{2,3}?|[aeiou]{2,}",
    r"(?m:.)+|\n",
    r"\t|\n|\r|\f|\v|\\|\.",
    r"[\w-]+@[\w.]+",
    r"\p{^L}+|\P{N}",
    r"\h+|\s",
    r"(?i)[ǅ-ǆ]|[^\p{Ll}\p{Lu}]{2}",
]

TEXTS = [
    "",
    "Hello world",
    "Hello, world! How's it going? I'm fine; you'll see.",
    "  leading and trailing   ",
    "multiple\n\nlines\r\nwith CRLF\n",
    "numbers 1234567 and 3.14159, 1,000,000",
    "Café naïve résumé façade Ångström",
    "日本語のテキストです。東京タワー",
    "emoji 😀👍🏽 family 👨\u200d👩\u200d👧 flags 🇯🇵",
    "combining e\u0301 a\u0308 n\u0303",
    "Mixed: ΑΒΓ αβγ ΣΑΣ σας ς",
    "tabs\tand\u00a0nbsp\u3000ideographic space",
    "camelCaseWordsAndHTTPServer",
    "aaaaaaaaab",
    "abcd abd acd",
    "Kelvin \u212a k ſ long s Ǆ ǅ ǆ",
    "don't won't they're we've I'd you'll SHE'S",
    "x",
    "\n",
    "   ",
    "a1b2c3 ٣٤٥ ½ Ⅻ ①",
    "email me: john.doe-x@example.com!",
    "(parenthesised) [brackets] {braces} <angles>",
    "under_score snake_case __init__",
    "ﬁ ligature ﬀ",
    "Ⓐ circled",
    "ıİiI Turkish",
    "'quotes' “curly” ‘single’ «guillemets»",
    "math ∑ ∫ ≠ ± $100 €50 ¥",
    "zero\u200bwidth\u200dJOIN",
    "ends with newline\n",
    "aaaa",
]


CLASSES = [
    r"\w", r"\W", r"\d", r"\s", r"\h", r"\p{Alpha}", r"\p{Word}", r"\p{Upper}", r"\p{Lower}", r"\p{Space}",
    r"[[:punct:]]", r"[[:graph:]]", r"[[:print:]]", r"[[:upper:]]", r"[[:lower:]]", r"[[:alnum:]]",
    r"[[:blank:]]", r"[[:cntrl:]]", r"[[:xdigit:]]", r"[[:word:]]", r"[[:digit:]]", r"[[:space:]]",
    r"\p{L}", r"\p{Lu}", r"\p{Ll}", r"\p{Lt}", r"\p{Lm}", r"\p{Lo}", r"\p{LC}", r"\p{M}", r"\p{Mn}", r"\p{Mc}",
    r"\p{Me}", r"\p{N}", r"\p{Nd}", r"\p{Nl}", r"\p{No}", r"\p{P}", r"\p{Pc}", r"\p{Pd}", r"\p{Ps}", r"\p{Pe}",
    r"\p{Pi}", r"\p{Pf}", r"\p{Po}", r"\p{S}", r"\p{Sm}", r"\p{Sc}", r"\p{Sk}", r"\p{So}", r"\p{Z}", r"\p{Zs}",
    r"\p{C}", r"\p{Cc}", r"\p{Cf}", r"\p{Co}", r"\p{Punct}", r"\p{ASCII}", r"\p{Any}", r"\p{^L}", r"[^\p{L}\p{N}]",
]


def ranges(codes):
    out = []
    for c in sorted(codes):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def matched_chars(pattern, text):
    split = pre_tokenizers.Split(Regex(pattern), "removed", invert=True)
    got = set()
    for _, (a, b) in split.pre_tokenize_str(text):
        if b - a == 1:
            got.add(ord(text[a]))
        else:
            got.update(ord(ch) for ch in text[a:b])
    return got


def class_vectors():
    checked = [c for c in range(0x30000) if not 0xD800 <= c < 0xE000 and unicodedata.category(chr(c)) != "Cn"]
    text = "".join(map(chr, checked))
    return {"unicode": unicodedata.unidata_version, "checked": ranges(checked),
            "classes": [{"pattern": p, "matches": ranges(matched_chars(p, text))} for p in CLASSES]}


def fold_vectors():
    cased = [c for c in range(0x20000) if not 0xD800 <= c < 0xE000
             and (chr(c).lower() != chr(c) or chr(c).upper() != chr(c) or chr(c).casefold() != chr(c))]
    text = "".join(map(chr, cased))
    out = []
    for c in cased:
        split = pre_tokenizers.Split(Regex("(?i)" + re.escape(chr(c))), "removed", invert=True)
        got = sorted(ord(text[a]) for _, (a, b) in split.pre_tokenize_str(text) if b - a == 1)
        if got != [c]:
            out.append([c, got])
    return ranges(cased), out


def random_pattern(rng, depth=0):
    def atom():
        k = rng.randrange(12 if depth < 2 else 7)
        if k < 7:
            return rng.choice(["a", "b", ".", "[ab]", "[^a]", "a", "b"]), True
        if k == 7:
            return rng.choice([r"\b", "^", "$", r"\B", r"\z"]), False
        inner = random_pattern(rng, depth + 1)
        if k == 8:
            return "(" + inner + ")", True
        if k == 9:
            return "(?:" + inner + ")", True
        if k == 10:
            return rng.choice(["(?=", "(?!"]) + inner + ")", False
        return rng.choice(["(?<=", "(?<!"]) + rng.choice(["a", "b", "[ab]", "a|bb"]) + ")", False
    def piece():
        a, quantifiable = atom()
        if quantifiable and rng.random() < 0.6:
            a += rng.choice(["*", "+", "?", "*?", "+?", "??", "{1,2}", "{2}", "{0,2}?", "{2,}"])
        return a
    alts = ["".join(piece() for _ in range(rng.randrange(0, 4))) for _ in range(rng.randrange(1, 4))]
    return "|".join(alts)


def random_vectors(count=250, texts_per=4):
    rng = random.Random(20240611)
    out = []
    while len(out) < count:
        p = random_pattern(rng)
        try:
            r = Regex(p)
        except Exception:
            continue
        split = pre_tokenizers.Split(r, "isolated")
        rep = normalizers.Replace(r, MARK)
        cases = []
        for _ in range(texts_per):
            t = "".join(rng.choice("aab \n") for _ in range(rng.randrange(0, 9)))
            cases.append({"text": t, "isolated": [[a, b] for _, (a, b) in split.pre_tokenize_str(t)],
                          "replaced": rep.normalize_str(t)})
        out.append({"pattern": p, "cases": cases})
    return out


def main():
    out = {"tokenizers": tokenizers.__version__, "mark": MARK, "texts": TEXTS, "patterns": []}
    cls = class_vectors()
    cased, folds = fold_vectors()
    rand = random_vectors()
    for p in PATTERNS:
        r = Regex(p)
        split = pre_tokenizers.Split(r, "isolated")
        rep = normalizers.Replace(r, MARK)
        cases = []
        for t in TEXTS:
            assert MARK not in t
            iso = [[a, b] for _, (a, b) in split.pre_tokenize_str(t)]
            cases.append({"isolated": iso, "replaced": rep.normalize_str(t)})
        out["patterns"].append({"pattern": p, "cases": cases})
    def dumps(v):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    with open(OUT, "w", encoding="utf-8") as f:
        # one case per line: reviewable diffs without a huge file
        f.write('{"tokenizers":%s,"mark":%s,"texts":[\n%s\n],"patterns":[\n' % (
            dumps(out["tokenizers"]), dumps(MARK), ",\n".join(dumps(t) for t in TEXTS)))
        f.write(",\n".join('{"pattern":%s,"cases":[\n%s\n]}' % (dumps(e["pattern"]), ",\n".join(dumps(c) for c in e["cases"]))
                           for e in out["patterns"]))
        f.write("\n],\n\"unicode\":%s,\n\"checked\":%s,\n\"classes\":[\n%s\n],\n\"cased\":%s,\n\"folds\":[\n%s\n],\n\"random\":[\n%s\n]}\n" % (
            dumps(cls["unicode"]), dumps(cls["checked"]), ",\n".join(dumps(c) for c in cls["classes"]),
            dumps(cased), ",\n".join(dumps(x) for x in folds), ",\n".join(dumps(x) for x in rand)))
    print(f"wrote {OUT}: {len(PATTERNS)} patterns x {len(TEXTS)} texts, {len(CLASSES)} classes, {len(folds)} folds")


if __name__ == "__main__":
    main()
