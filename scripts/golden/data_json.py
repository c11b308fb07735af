#!/usr/bin/env python3
"""Golden tables for data.read_json, from pandas.json_normalize.

Writes the corpus Tests/golden/data/json/*.json (the texts below, byte for byte) and
Tests/golden/data/json_normalize.json: for each file, the options Lathe is called with and the
table pandas makes of it:

    records = json.load(f)            (or json.load(f)[records] with records = "key")
    pandas.json_normalize(records, sep=sep, max_level=max_level)

Each case lists the columns in pandas' order, their dtypes, and the rows, with missing values
(None, NaN) as null and cells holding a list or dict as {"json": value} (Lathe keeps those as
JSON text, compared after decoding).

Pins: scripts/requirements-test.txt (pandas 3.1.1). Run: python3 scripts/golden/data_json.py
"""
import json
import math
import os

import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "golden", "data")
CORPUS = os.path.join(OUT, "json")

# name -> (file text, Lua options {records, sep, max_level, flatten})
CASES = {
    "flat": ('[{"id": 1, "name": "Ann", "score": 0.5, "ok": true},\n'
             ' {"id": 2, "name": "Bob", "score": 1e-7, "ok": false},\n'
             ' {"id": 3, "name": "Zoë 李", "score": -2.25, "ok": true}]\n', {}),
    "missing": ('[{"a": 1, "b": "x"}, {"a": null, "c": 2.5}, {"b": null, "c": 3}, {}]', {}),
    "nested": ('[\n  {"user": {"name": "Ann", "geo": {"city": "Oslo", "zip": "0150"}}, "id": 1},\n'
               '  {"id": 2, "user": {"name": "Bob", "age": 40}}\n]\n', {}),
    "records_key": ('{"meta": {"count": 2, "tags": ["x"]},\n "data": [{"q": "hi", "n": 1}, {"q": "yo", "n": 2, "extra": {"k": true}}],\n "more": []}\n',
                    {"records": "data"}),
    "arrays": ('[{"id": 1, "tags": ["a", "b"], "pts": [[1, 2], [3.5, null]], "items": [{"k": 1}]},\n'
               ' {"id": 2, "tags": [], "pts": [], "items": []}]', {}),
    "max_level": ('[{"a": {"b": {"c": {"d": 1}}, "e": 2}, "f": {"g": 3}, "h": 4}]', {"max_level": 1}),
    "no_flatten": ('[{"a": {"b": 1, "c": [1, 2]}, "d": "x"}, {"a": {}, "d": "y"}]', {"flatten": False}),
    "sep": ('[{"a": {"b": 1, "c": {"d": "x"}}, "e": 5}]', {"sep": "_"}),
    "empty_nested": ('[{"a": {}, "b": 1}, {"a": {"x": {}}, "b": 2}, {"a": {"x": {"y": 7}}, "b": 3}]', {}),
    "duplicates": ('[{"k": 1, "v": "first", "k": 2}, {"v": "second", "m": {"p": 1, "p": 9}}]', {}),
    "escapes": ('[{"s": "tab\\there \\"q\\" \\\\ \\/ \\u00e9 \\ud83d\\ude00 \\n", "n": -0, "big": 9223372036854775807},\n'
                ' {"s": "", "n": 12345678901234, "big": -9223372036854775808}]', {}),
    "numbers": ('[{"x": 1, "y": 0.1, "z": 1.7976931348623157e308},\n {"x": 2.5, "y": 5e-324, "z": -1E-3},\n {"x": null, "y": 100, "z": 0}]', {}),
}


def cell(v):
    """A pandas cell in the golden form: null, plain JSON values, or {"json": list/dict}."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (list, dict)):
        return {"json": v}
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def main():
    os.makedirs(CORPUS, exist_ok=True)
    expected = {}
    for name, (text, opts) in CASES.items():
        path = os.path.join(CORPUS, name + ".json")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        records = doc[opts["records"]] if "records" in opts else doc
        max_level = 0 if opts.get("flatten") is False else opts.get("max_level")
        df = pd.json_normalize(records, sep=opts.get("sep", "."), max_level=max_level)
        expected[name] = {
            "file": name + ".json",
            "options": opts,
            "columns": [str(c) for c in df.columns],
            "dtypes": [str(t) for t in df.dtypes],
            "rows": [[cell(v) for v in row] for row in df.astype(object).itertuples(index=False, name=None)],
        }
    with open(os.path.join(OUT, "json_normalize.json"), "w", encoding="utf-8") as f:
        json.dump({"pandas": pd.__version__, "cases": expected}, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
