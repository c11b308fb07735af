#!/usr/bin/env python3
"""Golden vectors for Lathe's `metrics` module, computed with the reference libraries.

    pip install -r scripts/requirements-golden.txt
    apt-get install wamerican          # /usr/share/dict/words, for the Porter stemmer list
    python3 scripts/golden/metrics.py  # writes Tests/golden/metrics/*.json

References: scikit-learn (classification, ranking, log loss), sacrebleu (BLEU, chrF, 13a),
rouge-score (+ NLTK's Porter stemmer), jiwer (WER/CER), SciPy (KS test, Jensen-Shannon).
Where no library defines the metric (ECE, PSI, SQuAD exact match/F1, WER/CER on text jiwer
rejects) the reference is written out below in plain Python/NumPy, following the definition
Lathe documents.

JSON conventions: NaN is written as the string "nan", infinities as "inf"/"-inf".
"""
import json
import math
import os
import random
import re
import string
import sys
import warnings
from collections import Counter

import jiwer
import nltk
import numpy as np
import rouge_score
import sacrebleu
import scipy
import sklearn
from nltk.stem.porter import PorterStemmer
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp
from sklearn import metrics as skm

PINS = {"scikit-learn": (sklearn.__version__, "1.9.1"), "sacrebleu": (sacrebleu.__version__, "2.6.0"),
        "rouge-score": (getattr(rouge_score, "__version__", "0.1.2"), "0.1.2"), "nltk": (nltk.__version__, "3.10.4"),
        "scipy": (scipy.__version__, "1.17.1"), "jiwer": (None, "4.0.0"), "numpy": (np.__version__, "2.4.6")}
for name, (have, want) in PINS.items():
    if have is not None and have != want:
        sys.exit(f"{name} {have} is installed but the golden vectors pin {want} (scripts/requirements-golden.txt)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "golden", "metrics")
os.makedirs(OUT, exist_ok=True)
rng = random.Random(20240611)
nprng = np.random.default_rng(20240611)


def clean(x):
    """JSON-safe: numpy scalars to Python, NaN/inf to strings."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    return x


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(clean(obj), f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def capture(fn):
    """Runs fn; returns (result, warning messages, error class name or None)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = fn()
            err = None
        except (ValueError, TypeError) as e:
            r, err = None, type(e).__name__
    msgs = sorted({str(x.message) for x in w})
    return r, msgs, err


# ---------------------------------------------------------------------------------------------
# Classification (scikit-learn)

def label_cases():
    cases = []

    def rand(labels, n, p=None):
        return [labels[i] for i in nprng.choice(len(labels), size=n, p=p)]

    for n in [1, 2, 5, 20, 100]:
        cases.append(("binary int n=%d" % n, rand([0, 1], n), rand([0, 1], n)))
    cases.append(("binary -1/1", rand([-1, 1], 30), rand([-1, 1], 30)))
    cases.append(("binary bool", rand([False, True], 25), rand([False, True], 25)))
    cases.append(("binary strings", rand(["neg", "pos"], 25), rand(["neg", "pos"], 25)))
    for n in [3, 12, 60, 300]:
        cases.append(("multiclass int n=%d" % n, rand([0, 1, 2, 3], n), rand([0, 1, 2, 3], n)))
    cases.append(("multiclass sparse ints", rand([7, 200, 3000, -5], 40), rand([7, 200, 3000, -5], 40)))
    cases.append(("multiclass strings", rand(["cat", "dog", "bird"], 50), rand(["cat", "dog", "bird"], 50)))
    uni = ["apple", "Zebra", "ünïcödé", "Ω", "日本", "e\u0301", "\u00e9"]
    cases.append(("unicode strings", rand(uni, 70), rand(uni, 70)))
    cases.append(("class never predicted", [0, 1, 2, 2, 1, 0, 2, 1], [0, 1, 1, 1, 1, 0, 0, 1]))
    cases.append(("predicted class absent from y_true", [0, 0, 1, 1, 0], [0, 2, 1, 2, 0]))
    cases.append(("single class, all right", [3, 3, 3, 3], [3, 3, 3, 3]))
    cases.append(("single class strings", ["yes"] * 5, ["yes"] * 5))
    cases.append(("only negatives", [0, 0, 0, 0], [0, 0, 0, 0]))
    cases.append(("only positives predicted negative", [1, 1, 1], [0, 0, 0]))
    cases.append(("all wrong multiclass", [0, 1, 2, 0, 1, 2], [1, 2, 0, 1, 2, 0]))
    cases.append(("imbalanced", [0] * 90 + [1] * 8 + [2] * 2, [0] * 85 + [1] * 5 + [0] * 5 + [1] * 3 + [0, 2]))
    return cases


def prf_record(yt, yp, average, zd, beta=1.0, pos_label=1, labels=None):
    kw = dict(average=average, beta=beta, zero_division=zd, labels=labels, pos_label=pos_label,
              warn_for=("precision", "recall", "f-score"))
    r, msgs, err = capture(lambda: skm.precision_recall_fscore_support(yt, yp, **kw))
    rec = {"average": "none" if average is None else average,
           "zero_division": "nan" if isinstance(zd, float) and math.isnan(zd) else zd,
           "beta": "inf" if math.isinf(beta) else beta, "pos_label": pos_label, "labels": labels,
           "warnings": msgs, "error": err}
    if r is not None:
        p, rc, f, s = r
        rec.update(precision=p, recall=rc, fscore=f, support=s)
    return rec


def classification():
    out = []
    for name, yt, yp in label_cases():
        case = {"name": name, "y_true": yt, "y_pred": yp, "accuracy": skm.accuracy_score(yt, yp), "prf": [],
                "confusion": [], "report": []}
        strings = isinstance(yt[0], str)
        bools = isinstance(yt[0], (bool, np.bool_))
        present = sorted(set(yt) | set(yp))
        pos_choices = [True] if bools else ([present[-1]] if strings else [1])
        if strings and len(present) == 2:
            pos_choices = [present[0], present[1], 1]  # pos_label=1 is an error with strings
        for zd in ["warn", 0.0, 1.0, float("nan")]:
            for average in ["binary", "micro", "macro", "weighted", None]:
                if average == "binary":
                    for pl in pos_choices:
                        case["prf"].append(prf_record(yt, yp, average, zd, pos_label=pl))
                else:
                    case["prf"].append(prf_record(yt, yp, average, zd))
        for beta in [0.5, 2.0, 0.0, float("inf")]:
            for average in ["macro", "weighted", "micro"]:
                case["prf"].append(prf_record(yt, yp, average, "warn", beta=beta))
        if len(present) >= 2:
            sub = present[:2]
            extra = (["zzz-absent"] if strings else ([True] if bools else [99]))
            for labels in [sub, list(reversed(present)), present + extra]:
                if bools and labels == present + extra:
                    continue
                for average in ["micro", "macro", "weighted", None]:
                    case["prf"].append(prf_record(yt, yp, average, "warn", labels=labels))
        if not bools and not strings:
            case["prf"].append(prf_record(yt, yp, "macro", "warn", pos_label=present[0]))
        for labels in [None, present[::-1], present[:1]]:
            for normalize in [None, "true", "pred", "all"]:
                m, msgs, err = capture(lambda: skm.confusion_matrix(yt, yp, labels=labels, normalize=normalize))
                case["confusion"].append({"labels": labels, "normalize": normalize, "matrix": m, "error": err})
        for digits in [2, 3, 4]:
            for zd in ["warn", 0.0, 1.0, float("nan")]:
                t, msgs, err = capture(lambda: skm.classification_report(yt, yp, digits=digits, zero_division=zd))
                case["report"].append({"digits": digits, "labels": None, "target_names": None,
                                       "zero_division": "nan" if isinstance(zd, float) and math.isnan(zd) else zd,
                                       "text": t, "warnings": msgs, "error": err})
        if len(present) >= 3:
            t, msgs, err = capture(lambda: skm.classification_report(yt, yp, labels=present[:2]))
            case["report"].append({"digits": 2, "labels": present[:2], "target_names": None, "zero_division": "warn",
                                   "text": t, "warnings": msgs, "error": err})
        names = ["class %d" % i for i in range(len(present))]
        t, msgs, err = capture(lambda: skm.classification_report(yt, yp, target_names=names))
        case["report"].append({"digits": 2, "labels": None, "target_names": names, "zero_division": "warn",
                               "text": t, "warnings": msgs, "error": err})
        out.append(case)
    write("classification.json", out)


# ---------------------------------------------------------------------------------------------
# Scores and probabilities (scikit-learn; ECE in NumPy)

def ece_reference(y_true, proba, classes, bins):
    """Top-label ECE with equal-width bins (b/bins, (b+1)/bins] (0 in the first bin)."""
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        proba = np.stack([1 - proba, proba], axis=1)
    conf = proba.max(axis=1)
    pred = proba.argmax(axis=1)
    truth = np.array([classes.index(y) for y in y_true])
    edges = np.linspace(0, 1, bins + 1)
    b = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    ece = 0.0
    per = []
    for k in range(bins):
        m = b == k
        if m.sum() == 0:
            per.append({"count": 0})
            continue
        acc = float((pred[m] == truth[m]).mean())
        c = float(conf[m].mean())
        ece += m.sum() / len(conf) * abs(acc - c)
        per.append({"count": int(m.sum()), "accuracy": acc, "confidence": c})
    return ece, per


def ranking():
    auc, ap, ll, ece = [], [], [], []
    score_sets = []
    for n in [2, 5, 10, 50, 200]:
        y = [int(v) for v in nprng.integers(0, 2, n)]
        if len(set(y)) < 2:
            y[0], y[-1] = 0, 1
        s = [float(v) for v in nprng.random(n)]
        score_sets.append(("random n=%d" % n, y, s))
    y = [int(v) for v in nprng.integers(0, 2, 80)]
    score_sets.append(("heavy ties", y, [float(v) for v in nprng.integers(0, 4, 80) / 4.0]))
    score_sets.append(("all scores equal", [0, 1, 0, 1, 1], [0.5] * 5))
    score_sets.append(("perfect", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]))
    score_sets.append(("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]))
    score_sets.append(("negative scores", [0, 1, 1, 0, 1], [-3.5, 2.0, -0.5, -7.0, 10.0]))
    score_sets.append(("-1/1 labels", [-1, 1, 1, -1, 1, -1], [0.3, 0.6, 0.2, 0.1, 0.9, 0.7]))
    score_sets.append(("bool labels", [False, True, True, False], [0.2, 0.7, 0.4, 0.5]))
    score_sets.append(("string labels", ["ham", "spam", "spam", "ham", "spam"], [0.1, 0.8, 0.35, 0.4, 0.9]))
    score_sets.append(("single class", [1, 1, 1], [0.2, 0.5, 0.9]))
    score_sets.append(("no positives", [0, 0, 0], [0.2, 0.5, 0.9]))
    for name, y, s in score_sets:
        r, msgs, err = capture(lambda: skm.roc_auc_score(y, s))
        auc.append({"name": name, "y_true": y, "scores": s, "value": r, "warnings": msgs, "error": err})
        kw = {"pos_label": "spam"} if name == "string labels" else {}
        r, msgs, err = capture(lambda: skm.average_precision_score(y, s, **kw))
        ap.append({"name": name, "y_true": y, "scores": s, "pos_label": kw.get("pos_label"), "value": r,
                   "warnings": msgs, "error": err})
    # log loss
    ll_cases = []
    for n in [3, 20, 100]:
        y = [int(v) for v in nprng.integers(0, 2, n)]
        y[0], y[-1] = 0, 1
        ll_cases.append(("binary 1-D n=%d" % n, y, [float(v) for v in nprng.random(n)], None))
    ll_cases.append(("binary with exact 0 and 1", [0, 1, 1, 0], [0.0, 1.0, 0.0, 1.0], None))
    for n in [4, 30]:
        y = [int(v) for v in nprng.integers(0, 3, n)]
        y[:3] = [0, 1, 2]
        p = nprng.random((n, 3))
        p = p / p.sum(axis=1, keepdims=True)
        ll_cases.append(("3 classes n=%d" % n, y, p.tolist(), None))
    ll_cases.append(("labels option", [1, 1, 0], [[0.2, 0.5, 0.3], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2]], [0, 1, 2]))
    ll_cases.append(("strings", ["a", "b", "c", "a"], [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25]], None))
    ll_cases.append(("not normalized", [0, 1], [[0.5, 0.6], [0.2, 0.7]], None))
    ll_cases.append(("single class without labels", [1, 1], [0.3, 0.9], None))
    ll_cases.append(("probability above 1", [0, 1], [0.3, 1.2], None))
    for name, y, p, labels in ll_cases:
        r, msgs, err = capture(lambda: skm.log_loss(y, p, labels=labels))
        ll.append({"name": name, "y_true": y, "proba": p, "labels": labels, "value": r, "warnings": msgs, "error": err})
        if err is None:
            classes = sorted(set(labels if labels else y))
            for bins in [1, 5, 10, 15]:
                v, per = ece_reference(y, p, classes, bins)
                ece.append({"name": name, "y_true": y, "proba": p, "labels": labels, "bins": bins, "value": v, "per_bin": per})
    write("ranking.json", {"roc_auc": auc, "average_precision": ap, "log_loss": ll, "ece": ece})


# ---------------------------------------------------------------------------------------------
# Text corpora

WORDS = ("the a an of to in for on with at by from about as into like through after over between out "
         "against during without before under around among cat dog bird model data train test loss "
         "accuracy learning rate batch token sentence word vector matrix result value error report "
         "quick brown fox jumps lazy river bank money paper translation system human machine good bad "
         "running runs ran runner happily happiness connection connected connecting generalization "
         "organizational relational conditional rational valenci digitizer conformabli radicalli "
         "differentli vileli analogousli vietnamization predication operator feudalism decisiveness "
         "hopefulness callousness formaliti sensitiviti sensibiliti").split()
PUNCT = [".", ",", "!", "?", ";", ":", "(", ")", "\"", "'", "-", "--", "...", "&", "%", "$", "#", "@", "/"]
EXOTIC = ["3.14", "1,000", "2-3", "10-year", "U.S.", "e.g.", "don't", "O'Neill", "&amp;", "&quot;hi&quot;", "&lt;b&gt;",
          "<skipped>", "Ünïcödé", "naïve", "日本語", "中文字", "Ελληνικά", "ΟΔΟΣ", "İstanbul", "ǅemal", "straße",
          "\u212aelvin", "Ω", "e\u0301", "café", "co-operate", "50%", "$5.00", "#1", "a/b", "x_y", "{x}", "[1]",
          "½", "٣", "👍", "\u00a0", "\u2009", "\u3000"]


def sentence(lo=3, hi=18, exotic=0.1):
    n = rng.randint(lo, hi)
    out = []
    for i in range(n):
        r = rng.random()
        if r < exotic:
            out.append(rng.choice(EXOTIC))
        elif r < exotic + 0.12:
            out.append(rng.choice(PUNCT))
        else:
            w = rng.choice(WORDS)
            if rng.random() < 0.1:
                w = w.capitalize()
            if rng.random() < 0.05:
                w = w.upper()
            out.append(w)
    sep = " " if rng.random() < 0.9 else rng.choice(["  ", "\t", " \u00a0"])
    s = sep.join(out)
    if rng.random() < 0.5:
        s += rng.choice([".", " .", "!", "?", ""])
    return s


def perturb(s):
    toks = s.split(" ")
    out = []
    for t in toks:
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            out.append(rng.choice(WORDS))
        elif r < 0.25:
            out.append(t)
            out.append(rng.choice(WORDS))
        else:
            out.append(t)
    if rng.random() < 0.2 and len(out) > 2:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def corpus(n, exotic=0.1):
    refs = [sentence(exotic=exotic) for _ in range(n)]
    hyps = [perturb(r) for r in refs]
    return hyps, refs


TOKENIZER_LINES = [
    "Hello, world!", "The price is $5.00, or 5,00 EUR.", "It's 10-20 degrees... maybe.", "U.S.A. e.g. i.e.",
    "a.b,c", "1.5.2", ",.,.", "..", "x.", ".x", "3,", ",3", "9-", "-9", "a-b", "1-2-3", "&quot;quoted&quot; &amp; &lt;tag&gt;",
    "&amp;lt;", "word<skipped>word", "line-\nbreak", "two\nlines", "tabs\tand  spaces", "  leading and trailing  ",
    "{braces} [brackets] (parens) <angles>", "back\\slash /slash |pipe ~tilde ^caret _under `tick",
    "Ünïcödé, naïve café.", "日本語。中文，字！", "Ελληνικά.", "emoji 👍.", "nbsp\u00a0here", "thin\u2009space",
    "ideographic\u3000space", "x\u0085y", "", " ", "...", "trailing dot .", "a ,b", "@#$%&*+=", "50% of $3.",
]


def bleu():
    tok = Tokenizer13a()
    toks = [{"line": l, "tokens": tok(l.rstrip())} for l in TOKENIZER_LINES]
    for _ in range(200):
        l = sentence(exotic=0.3)
        toks.append({"line": l, "tokens": tok(l.rstrip())})
    cases = []

    def run(name, hyps, refs, **kw):
        m = BLEU(**kw)
        s, msgs, err = capture(lambda: m.corpus_score(hyps, refs))
        rec = {"name": name, "hyps": hyps, "refs": refs, "options": kw, "error": err}
        if s is not None:
            rec.update(score=s.score, counts=s.counts, totals=s.totals, precisions=s.precisions, bp=s.bp,
                       sys_len=s.sys_len, ref_len=s.ref_len, signature=str(m.get_signature()), text=s.format())
        cases.append(rec)

    hyps, refs = corpus(60)
    run("default 60 segments", hyps, [refs])
    for sm in ["exp", "floor", "add-k", "none"]:
        run("smooth %s" % sm, hyps[:25], [refs[:25]], smooth_method=sm)
    run("floor 0.2", hyps[:25], [refs[:25]], smooth_method="floor", smooth_value=0.2)
    run("add-k 2", hyps[:25], [refs[:25]], smooth_method="add-k", smooth_value=2)
    run("lowercase", hyps, [refs], lowercase=True)
    run("tokenize none", hyps, [refs], tokenize="none")
    run("tokenize char", hyps[:20], [refs[:20]], tokenize="char")
    run("effective order", hyps[:10], [refs[:10]], effective_order=True)
    run("max order 2", hyps[:30], [refs[:30]], max_ngram_order=2)
    refs2 = [perturb(r) for r in refs]
    refs3 = [perturb(r) for r in refs]
    run("two references", hyps, [refs, refs2])
    run("three references", hyps, [refs, refs2, refs3])
    run("variable references", hyps[:10], [refs[:10], [r if i % 3 else None for i, r in enumerate(refs2[:10])]])
    e_h = list(hyps[:10])
    e_h[2] = ""
    e_h[5] = ""
    run("some empty hypotheses", e_h, [refs[:10]])
    run("all empty hypotheses", [""] * 4, [refs[:4]])
    run("empty reference", hyps[:3], [["", refs[1], refs[2]]])
    u_h, u_r = corpus(40, exotic=0.5)
    run("unicode heavy", u_h, [u_r])
    run("unicode lowercase", u_h, [u_r], lowercase=True)
    run("short segments", ["a", "b c", "the cat"], [["a", "b d", "the cat sat"]])
    run("identical", refs[:15], [refs[:15]])
    run("no overlap", ["xyz qqq"] * 3, [["abc def ghi"] * 3])
    sents = []
    for i in range(40):
        h, rs = hyps[i], [refs[i], refs2[i]][: 1 + i % 2]
        for sm in ["exp", "floor", "add-k", "none"]:
            s = sacrebleu.sentence_bleu(h, rs, smooth_method=sm)
            sents.append({"hyp": h, "refs": rs, "smooth_method": sm, "score": s.score, "bp": s.bp,
                          "precisions": s.precisions, "counts": s.counts, "totals": s.totals})
    write("bleu.json", {"tokenizer_13a": toks, "corpus": cases, "sentence": sents})


def chrf():
    cases = []

    def run(name, hyps, refs, **kw):
        m = CHRF(**kw)
        s = m.corpus_score(hyps, refs)
        stats = m._extract_corpus_statistics(hyps, refs)
        total = [int(v) for v in np.array(stats, dtype=np.int64).sum(axis=0)]
        cases.append({"name": name, "hyps": hyps, "refs": refs, "options": kw, "score": s.score, "name_": s.name,
                      "signature": str(m.get_signature()), "statistics": total, "text": s.format()})

    hyps, refs = corpus(50)
    refs2 = [perturb(r) for r in refs]
    run("default", hyps, [refs])
    run("chrF++", hyps, [refs], word_order=2)
    run("word order 1", hyps[:20], [refs[:20]], word_order=1)
    run("lowercase", hyps, [refs], lowercase=True)
    run("whitespace", hyps[:20], [refs[:20]], whitespace=True)
    run("eps smoothing", hyps[:20], [refs[:20]], eps_smoothing=True)
    run("beta 1", hyps[:20], [refs[:20]], beta=1)
    run("beta 3 chrF++", hyps[:20], [refs[:20]], beta=3, word_order=2)
    run("char order 3", hyps[:20], [refs[:20]], char_order=3)
    run("two references", hyps, [refs, refs2])
    run("two references chrF++", hyps, [refs, refs2], word_order=2)
    u_h, u_r = corpus(30, exotic=0.5)
    run("unicode", u_h, [u_r])
    run("unicode lowercase chrF++", u_h, [u_r], lowercase=True, word_order=2)
    run("empty hypothesis", ["", hyps[1], "x"], [[refs[0], refs[1], "yz"]])
    run("short", ["a", "(hi)", "b."], [["a", "(hi)", "c."]], word_order=2)
    sents = []
    for i in range(30):
        for wo in [0, 2]:
            s = sacrebleu.sentence_chrf(hyps[i], [refs[i], refs2[i]][: 1 + i % 2], word_order=wo)
            sents.append({"hyp": hyps[i], "refs": [refs[i], refs2[i]][: 1 + i % 2], "word_order": wo, "score": s.score})
    write("chrf.json", {"corpus": cases, "sentence": sents})


def rouge():
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    pairs = []
    hyps, refs = corpus(80, exotic=0.15)
    for i in range(80):
        pairs.append((refs[i], hyps[i]))
    pairs += [("", "something"), ("something", ""), ("", ""), ("...", "!!!"), ("The cat", "the CAT"),
              ("İstanbul İzmir", "istanbul i izmir"), ("\u212aelvin", "kelvin"), ("running runner runs", "run ran running"),
              ("connection connected connecting", "connect connections"), ("a b c d", "d c b a"),
              ("one.\ntwo three\n\nfour five six", "two three\none four\nsix five"),
              ("first sentence here\nsecond one there", "second one there\nfirst sentence"),
              ("line one\r\nline two", "line two\r\nline one"), (" \n \n", "a\nb"),
              ("generalizations organizational", "generalization organization")]
    for k in range(20):
        a = "\n".join(sentence() for _ in range(rng.randint(1, 4)))
        b = "\n".join(perturb(x) for x in a.split("\n"))
        if rng.random() < 0.3:
            b = "\n".join(reversed(b.split("\n")))
        pairs.append((a, b))
    out = []
    for stem in [False, True]:
        sc = rouge_scorer.RougeScorer(types, use_stemmer=stem)
        for t, p in pairs:
            s = sc.score(t, p)
            out.append({"target": t, "prediction": p, "stem": stem,
                        "scores": {k: [v.precision, v.recall, v.fmeasure] for k, v in s.items()}})
    multi = []
    for stem in [False, True]:
        sc = rouge_scorer.RougeScorer(types, use_stemmer=stem)
        for i in range(15):
            targets = [refs[i], perturb(refs[i]), hyps[(i + 1) % 80]]
            s = sc.score_multi(targets, hyps[i])
            multi.append({"targets": targets, "prediction": hyps[i], "stem": stem,
                          "scores": {k: [v.precision, v.recall, v.fmeasure] for k, v in s.items()}})
    corp = []
    for stem in [False, True]:
        sc = rouge_scorer.RougeScorer(types, use_stemmer=stem)
        scores = [sc.score(refs[i], hyps[i]) for i in range(40)]
        mean = {k: [float(np.mean([s[k].precision for s in scores])), float(np.mean([s[k].recall for s in scores])),
                    float(np.mean([s[k].fmeasure for s in scores]))] for k in types}
        corp.append({"predictions": hyps[:40], "references": refs[:40], "stem": stem, "mean": mean})
    write("rouge.json", {"pairs": out, "multi": multi, "corpus": corp})


def porter():
    words = []
    with open("/usr/share/dict/words", encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if re.fullmatch(r"[a-z]+", w):
                words.append(w)
    pick = words[::20]  # every 20th dictionary word (about 3,700)
    roots = ["connect", "general", "relat", "happy", "hop", "fil", "fail", "agree", "feed", "sky", "die", "lie",
             "spy", "fly", "try", "plaster", "motor", "sing", "conflat", "troubl", "siz", "fall", "hiss", "fizz",
             "cease", "probat", "control", "roll", "valen", "hesitan", "digit", "formal", "sensitiv", "sensib",
             "electric", "hope", "good", "revival", "allow", "infer", "airlin", "gyroscop", "adjust", "defens",
             "irrit", "replac", "depend", "adopt", "homolog", "commun", "activ", "angular", "effect", "bowdler",
             "archaeo", "geo", "theo", "analog", "yyy", "syzyg", "toy", "enjoy", "ivy", "oat", "tree", "by"]
    suffixes = ["", "s", "es", "ies", "ied", "ed", "ing", "ly", "lli", "alli", "ational", "tional", "enci", "anci",
                "izer", "bli", "abli", "entli", "eli", "ousli", "ization", "ation", "ator", "alism", "iveness",
                "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi", "icate", "ative", "alize",
                "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement",
                "ment", "ent", "sion", "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "y"]
    synth = sorted({r + s for r in roots for s in suffixes})
    extra = ["a", "is", "as", "us", "ies", "dies", "flies", "died", "spied", "news", "innings", "dying", "lying",
             "tying", "skies", "proceed", "exceed", "succeed", "howe", "yy", "y", "ay", "ya", "abc123", "3d", "2nd",
             "1990s", "covid19", "mp3s", "x"]
    st = PorterStemmer()
    allw = pick + synth + extra
    write("porter.json", [[w, st.stem(w)] for w in allw])


def squad_normalize(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def squad_f1(prediction, ground_truth):
    p = squad_normalize(prediction).split()
    g = squad_normalize(ground_truth).split()
    common = Counter(p) & Counter(g)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(p)
    recall = 1.0 * num_same / len(g)
    return (2 * precision * recall) / (precision + recall)


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j - 1] + (a[i - 1] != b[j - 1]), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return prev[len(b)]


def text():
    qa = [("The Eiffel Tower", ["Eiffel Tower"]), ("an apple a day", ["apple day"]), ("Paris.", ["paris"]),
          ("the the the", ["the"]), ("", ["something"]), ("", [""]), ("something", [""]),
          ("Théa and the cat", ["théa cat"]), ("atheist anthem", ["atheist anthem"]), ("a-b c", ["ab c"]),
          ("Ünïcödé answer", ["ünïcödé   answer"]), ("1,000 km", ["1000 km"]), ("foo bar baz", ["bar", "foo bar", "baz qux"]),
          ("New York City", ["New York", "NYC", "the city of New York"]), ("ΣΟΦΟΣ", ["σοφος"]), ("ΣΟΦΟΣ", ["σοφοσ"]),
          ("an\tanswer\nhere", ["answer here"]), ("A", ["a"]), ("Ａ ｂ", ["ａ ｂ"]), ("x_the y", ["x_the y"]),
          ("théthe", ["théthe"]), ("l'the a", ["lthe"])]
    for _ in range(40):
        r = sentence(2, 8, exotic=0.15)
        qa.append((perturb(r), [r] + ([sentence(2, 5)] if rng.random() < 0.3 else [])))
    squad = [{"prediction": p, "references": rs, "normalized": squad_normalize(p),
              "exact_match": max(float(squad_normalize(p) == squad_normalize(r)) for r in rs),
              "f1": max(squad_f1(p, r) for r in rs)} for p, rs in qa]
    # WER / CER: jiwer on space-separated text; an explicit Levenshtein on whitespace-split words
    # (Python str.split) and on code points of the stripped text for everything else.
    wer_cases = []
    hyps, refs = corpus(30, exotic=0.0)
    hyps = [re.sub(r"\s+", " ", h) for h in hyps]
    refs = [re.sub(r"\s+", " ", r) for r in refs]
    wer_cases.append({"name": "jiwer corpus", "predictions": hyps, "references": refs,
                      "wer": jiwer.wer(refs, hyps), "cer": jiwer.cer(refs, hyps), "source": "jiwer"})
    for i in range(10):
        wer_cases.append({"name": "jiwer pair %d" % i, "predictions": [hyps[i]], "references": [refs[i]],
                          "wer": jiwer.wer(refs[i], hyps[i]), "cer": jiwer.cer(refs[i], hyps[i]), "source": "jiwer"})
    wer_cases.append({"name": "jiwer extra spaces", "predictions": ["  the  cat sat ", "a b"], "references": ["the cat  sat on", "a  b c"],
                      "wer": jiwer.wer(["the cat  sat on", "a  b c"], ["  the  cat sat ", "a b"]),
                      "cer": jiwer.cer(["the cat  sat on", "a  b c"], ["  the  cat sat ", "a b"]), "source": "jiwer"})
    u_h, u_r = corpus(10, exotic=0.5)
    u_h.append("")
    u_r.append("non empty")
    u_h.append("x")
    u_r.append("")
    edits_w = sum(levenshtein(r.split(), h.split()) for h, r in zip(u_h, u_r))
    total_w = sum(len(r.split()) for r in u_r)
    edits_c = sum(levenshtein(list(r.strip()), list(h.strip())) for h, r in zip(u_h, u_r))
    total_c = sum(len(r.strip()) for r in u_r)
    wer_cases.append({"name": "unicode, tabs, empty strings", "predictions": u_h, "references": u_r,
                      "wer": edits_w / total_w, "cer": edits_c / total_c, "source": "levenshtein"})
    write("text.json", {"squad": squad, "error_rates": wer_cases})


def lcg_sample(seed, n, shift):
    """n values of (u1 + u2 + u3) / 3 + shift, u from the LCG x -> (1103515245 x + 12345) mod 2^31."""
    x = seed
    out = []
    for _ in range(n):
        s = 0.0
        for _ in range(3):
            x = (1103515245 * x + 12345) % 2147483648
            s += x / 2147483648.0
        out.append(s / 3 + shift)
    return out


def drift():
    ks = []

    def run(name, a, b):
        r = ks_2samp(a, b)
        ks.append({"name": name, "a": [float(x) for x in a], "b": [float(x) for x in b], "statistic": float(r.statistic),
                   "pvalue": float(r.pvalue), "location": float(r.statistic_location)})

    run("tiny equal sizes", [1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    run("identical", [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    run("disjoint", [1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0])
    run("ties", [1, 1, 2, 2, 3, 3, 3], [1, 2, 2, 2, 4, 4])
    for n1, n2, shift in [(20, 20, 0.5), (30, 45, 0.3), (100, 80, 0.0), (500, 300, 0.2), (1000, 1000, 0.1),
                          (2000, 3000, 0.05), (7, 13, 1.0), (9000, 7000, 0.03)]:
        run("normal %d/%d shift %.2f" % (n1, n2, shift), nprng.normal(0, 1, n1), nprng.normal(shift, 1, n2))
    # Large samples (the asymptotic method) are not stored: both sides regenerate them with
    # lcg_sample(seed, n, shift), which is exact in binary floating point.
    for k, (n1, n2, shift) in enumerate([(12000, 15000, 0.005), (12000, 15000, 0.05), (20000, 50, 0.1), (20000, 300, 0.04),
                                         (11000, 11000, 0.0), (30000, 120, 0.0), (15000, 2000, 0.15), (20000, 20, 0.5),
                                         (20000, 100, 0.02), (12000, 3000, 0.01), (25000, 25000, 0.01), (10001, 40, 0.08)]):
        a, b = lcg_sample(2 * k + 1, n1, 0.0), lcg_sample(2 * k + 2, n2, shift)
        r = ks_2samp(a, b)
        ks.append({"name": "asymp %d/%d shift %.3f" % (n1, n2, shift),
                   "generate": {"a": [2 * k + 1, n1, 0.0], "b": [2 * k + 2, n2, shift]},
                   "statistic": float(r.statistic), "pvalue": float(r.pvalue), "location": float(r.statistic_location)})
    # the remaining branches of SciPy's one-sample KS distribution (Durbin's matrix for n > 140,
    # Smirnov's formula for n <= 140 and for D >= 0.5, p = 0 for n D^2 >= 370, D <= 1/n)
    for (s1, n1, sh1), (s2, n2, sh2) in [((50, 12000, 0.0), (50, 12000, 0.0005)), ((51, 20000, 0.0), (52, 100, 0.12)),
                                         ((53, 20000, 0.0), (54, 100, 0.3)), ((55, 12000, 0.0), (56, 3000, 0.2))]:
        a, b = lcg_sample(s1, n1, sh1), lcg_sample(s2, n2, sh2)
        r = ks_2samp(a, b)
        ks.append({"name": "asymp %d/%d seeds %d/%d shift %.4f" % (n1, n2, s1, s2, sh2),
                   "generate": {"a": [s1, n1, sh1], "b": [s2, n2, sh2]},
                   "statistic": float(r.statistic), "pvalue": float(r.pvalue), "location": float(r.statistic_location)})
    # b: 20 quantiles of a, sorted(a)[int((k - 0.2) / 20 * n)] for k = 1..20 (D below 1/20)
    a = lcg_sample(59, 20000, 0.0)
    srt = sorted(a)
    b = [srt[int((k - 0.2) / 20 * 20000)] for k in range(1, 21)]
    r = ks_2samp(a, b)
    ks.append({"name": "asymp 20000/20 quantiles", "generate": {"a": [59, 20000, 0.0], "quantiles": 20},
               "statistic": float(r.statistic), "pvalue": float(r.pvalue), "location": float(r.statistic_location)})
    js = []
    for p, q in [([0.5, 0.5], [0.5, 0.5]), ([1, 0], [0, 1]), ([0.1, 0.2, 0.7], [0.3, 0.3, 0.4]), ([1, 2, 3], [3, 2, 1]),
                 ([10, 0, 5, 1], [2, 2, 2, 2]), (list(nprng.random(20)), list(nprng.random(20)))]:
        js.append({"p": p, "q": q, "base_e": jensenshannon(p, q), "base_2": jensenshannon(p, q, base=2)})
    psi = []

    def psi_ref(e, a, bins=10, eps=1e-4):
        e, a = np.asarray(e, float), np.asarray(a, float)
        qs = np.quantile(e, np.arange(1, bins) / bins)
        cuts = []
        for q in qs:
            if not cuts or cuts[-1] != q:
                cuts.append(q)
        cuts = np.array(cuts)
        ce = np.bincount(np.searchsorted(cuts, e, side="left"), minlength=len(cuts) + 1) / len(e)
        ca = np.bincount(np.searchsorted(cuts, a, side="left"), minlength=len(cuts) + 1) / len(a)
        ee, aa = np.maximum(ce, eps), np.maximum(ca, eps)
        return float(np.sum((aa - ee) * np.log(aa / ee))), cuts.tolist(), ce.tolist(), ca.tolist()

    for name, e, a, bins in [("same", nprng.normal(0, 1, 500), nprng.normal(0, 1, 400), 10),
                             ("shifted", nprng.normal(0, 1, 500), nprng.normal(0.5, 1, 400), 10),
                             ("few distinct", nprng.integers(0, 3, 300), nprng.integers(0, 4, 200), 10),
                             ("5 bins", nprng.exponential(1, 1000), nprng.exponential(1.3, 800), 5),
                             ("tiny", [1.0, 2.0], [3.0], 4)]:
        v, cuts, ce, ca = psi_ref(e, a, bins)
        psi.append({"name": name, "expected": [float(x) for x in e], "actual": [float(x) for x in a], "bins": bins,
                    "psi": v, "cuts": cuts, "expected_p": ce, "actual_p": ca})
    cat = []
    for e, a in [(["a", "b", "b", "c"], ["a", "a", "b", "d"]), (["x"] * 10, ["x"] * 3 + ["y"] * 7)]:
        cats = sorted(set(e) | set(a))
        ce = np.array([e.count(c) for c in cats]) / len(e)
        ca = np.array([a.count(c) for c in cats]) / len(a)
        ee, aa = np.maximum(ce, 1e-4), np.maximum(ca, 1e-4)
        cat.append({"expected": e, "actual": a, "psi": float(np.sum((aa - ee) * np.log(aa / ee))),
                    "js_base2": jensenshannon([e.count(c) for c in cats], [a.count(c) for c in cats], base=2)})
    write("drift.json", {"ks": ks, "js": js, "psi": psi, "categorical": cat})


if __name__ == "__main__":
    classification()
    ranking()
    bleu()
    chrf()
    rouge()
    porter()
    text()
    drift()
