#!/usr/bin/env python3
"""Golden vectors for the data module, from the reference libraries people trust.

Writes Tests/golden/data/*.json:
  csv_cases.json      raw CSV texts and the rows Python's csv module reads from them
  class_weights.json  scikit-learn compute_class_weight("balanced", ...)
  lsh_params.json     datasketch's _optimal_param(threshold, num_perm, 0.5, 0.5)
  nfkc.json           unicodedata.normalize("NFKC", s)
  pii_checks.json     python-stdnum: Luhn and IBAN validity (registry format, length and
                      mod-97; national check digits are not checked), the registry lengths
  csv_pandas.json     pandas.read_csv dtypes and values on typed columns

Pins: scripts/requirements-golden.txt. Run: python3 scripts/golden/data.py
"""
import csv
import io
import json
import os
import random
import unicodedata

import numpy as np
import pandas as pd
import sklearn
from sklearn.utils.class_weight import compute_class_weight
import datasketch
from datasketch.lsh import _optimal_param
import stdnum
from stdnum import iban as stdiban
from stdnum import luhn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "golden", "data")
os.makedirs(OUT, exist_ok=True)


def write(name, obj):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


# --- CSV parsing: RFC 4180 texts read by Python's csv module ------------------------------
csv_texts = [
    "a,b,c\n1,2,3\n",
    "a,b\n\"x, y\",z\n",
    "a,b\n\"she said \"\"hi\"\"\",2\n",
    "a,b\n\"line one\nline two\",2\n",
    "a,b\r\n1,2\r\n3,4\r\n",
    "a,b\n1,2",                      # no final line break
    "a,b,c\n,,\n",                   # empty fields
    "a,b\n\"\",x\n",                 # quoted empty
    "a,b\n1,\n",                     # trailing separator
    "a,b\r1,2\r",                    # old Mac line ends
    "h1,h2\n\"a\"\"b\"\"c\",\"\"\"\"\n",
    "name,city\nZoë,Zürich\n李,北京\n",
    "a,b\n\"multi\r\nline\r\nCRLF\",z\r\n",
    "a;b\n1;\"x;y\"\n",
    "a\tb\nx y\t\"t\tq\"\n",
    "a,b\n  spaced  , b \n",
    "x\n\"\"\"quoted at start\"\n",
    "a,b\n1,2\n\n3,4\n",             # blank line
]
seps = {13: ";", 14: "\t"}
cases = []
for i, t in enumerate(csv_texts):
    sep = seps.get(i, ",")
    rows = [r for r in csv.reader(io.StringIO(t, newline=""), delimiter=sep) if r]
    cases.append({"text": t, "sep": sep, "rows": rows})
write("csv_cases.json", {"python": "csv module", "cases": cases})

# --- pandas type inference on plain columns ---------------------------------------------------
pd_text = "i,f,b,s,m\n1,1.5,true,x,\n-20,2e3,False,y,7\n300,-0.25,TRUE,z,8\n"
df = pd.read_csv(io.StringIO(pd_text))
write("csv_pandas.json", {
    "pandas": pd.__version__,
    "text": pd_text,
    "dtypes": {c: str(df[c].dtype) for c in df.columns},
    "values": {c: [None if (isinstance(v, float) and np.isnan(v)) else (v.item() if hasattr(v, "item") else v)
                   for v in df[c].tolist()] for c in df.columns},
})

# --- class weights -----------------------------------------------------------------------------
cw_cases = []
rng = random.Random(7)
label_sets = [
    ["a", "b", "b", "c", "c", "c"],
    ["spam"] * 13 + ["ham"] * 87,
    [0, 1, 1, 2, 2, 2, 2, 3],
    [rng.choice(["billing", "shipping", "technical", "account", "returns"]) for _ in range(257)],
    ["x"] * 5,
]
for labels in label_sets:
    classes = np.unique(labels)
    w = compute_class_weight("balanced", classes=classes, y=np.array(labels))
    cw_cases.append({"labels": labels, "classes": [c.item() if hasattr(c, "item") else c for c in classes],
                     "weights": [float(x) for x in w]})
write("class_weights.json", {"sklearn": sklearn.__version__, "cases": cw_cases})

# --- LSH parameters -------------------------------------------------------------------------------
lsh = []
for num_perm in (32, 64, 128, 256):
    for t in (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        b, r = _optimal_param(t, num_perm, 0.5, 0.5)
        lsh.append({"threshold": t, "num_perm": num_perm, "bands": b, "rows": r})
write("lsh_params.json", {"datasketch": "2.0.0", "cases": lsh})

# --- NFKC --------------------------------------------------------------------------------------------
nfkc_inputs = ["ﬁne", "Ｆｕｌｌ ｗｉｄｔｈ", "①②③", "㎏ ㎞", "e\u0301", "Å", "ﾊﾝｶｸ", "x²", "½", "\u00a0nbsp", "™", "ǅ", "ℌ", "plain ascii"]
write("nfkc.json", {"python": "unicodedata " + unicodedata.unidata_version,
                    "cases": [{"in": s, "out": unicodedata.normalize("NFKC", s)} for s in nfkc_inputs]})

# --- PII validators ---------------------------------------------------------------------------------
regfile = os.path.join(os.path.dirname(stdnum.__file__), "iban.dat")
lengths = {}
formats = {}
for line in open(regfile, encoding="utf-8"):
    if not line.strip() or line.startswith("#"):
        continue
    cc = line.split()[0]
    bban = line.split('bban="')[1].split('"')[0]
    parts = []
    for p in bban.replace("!", "").replace("n", "n ").replace("a", "a ").replace("c", "c ").split():
        parts.append((int(p[:-1]), p[-1]))
    formats[cc] = parts
    lengths[cc] = 4 + sum(n for n, _ in parts)

def make_iban(cc, r):
    s = ""
    for n, kind in formats[cc]:
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[kind]
        s += "".join(r.choice(alphabet) for _ in range(n))
    check = 98 - int("".join(str(int(ch, 36)) for ch in s + cc + "00")) % 97
    return f"{cc}{check:02d}{s}"

r = random.Random(11)
ibans = []
for cc in sorted(formats):
    good = make_iban(cc, r)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    ibans.append({"iban": good, "valid": bool(stdiban.is_valid(good, check_country=False))})
    ibans.append({"iban": bad, "valid": bool(stdiban.is_valid(bad, check_country=False))})
ibans += [{"iban": x, "valid": bool(stdiban.is_valid(x, check_country=False))} for x in
          ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 33",
           "NL91ABNA0417164300", "FR1420041010050500013M02606", "DE89370400440532013001", "XX89370400440532013000"]]
cards = []
for x in ["4111111111111111", "4111111111111112", "5500000000000004", "340000000000009", "6011000000000004",
          "3530111333300000", "4012888888881881", "378282246310005", "1234567812345678", "79927398713", "0"]:
    cards.append({"number": x, "luhn": bool(luhn.is_valid(x))})
for _ in range(40):
    x = str(r.randrange(10**15, 10**16))
    cards.append({"number": x, "luhn": bool(luhn.is_valid(x))})
write("pii_checks.json", {"stdnum": stdnum.__version__, "iban_lengths": lengths, "ibans": ibans, "cards": cards})
print("wrote", OUT)
