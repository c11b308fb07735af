"""The data module against the Python tools people trust: files Lathe writes read back the
same in pandas, the csv module and json; files pandas writes read the same in Lathe; the
sample datasets are reproducible."""
import csv
import io
import json
import os
import pathlib
import subprocess
import sys

import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

TRICKY = ["plain", "with, comma", 'quote "q" inside', "line\nbreak", "crlf\r\nbreak", "", " pad ", "NA",
          "ünïcödé ✓", "tab\there", "007", "true"]


def run(lathe, code):
    out = subprocess.run([lathe, "-e", code], capture_output=True, text=True, env={**os.environ, "LATHE_PROGRESS": "0"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def lua_str(s):
    return '"' + "".join(f"\\{ord(c):03d}" if ord(c) < 128 and not c.isalnum() else c for c in s) + '"'


def make_table_code():
    vals = "{" + ", ".join(lua_str(s) for s in TRICKY) + "}"
    ints = "{" + ", ".join(str(i * 7 - 20) for i in range(len(TRICKY))) + "}"
    nums = "{" + ", ".join(repr(x) for x in [0.1, 1e-5, 2.5e10, -0.0, 3.0, 1 / 3, 12.75, 100.0, 5e-324, 1e300, -7.25, 0.5]) + "}"
    return f'local t = data.from({{s = {vals}, i = {ints}, x = {nums}}}, {{columns = {{"s", "i", "x"}}, types = {{s = "string"}}}})'


def test_csv_written_by_lathe_reads_the_same_in_pandas_and_csv(lathe, tmp_path):
    path = tmp_path / "out.csv"
    run(lathe, make_table_code() + f"\ndata.write_csv(t, {lua_str(str(path))})")
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
    assert rows[0] == ["s", "i", "x"]
    assert [r[0] for r in rows[1:]] == TRICKY
    df = pd.read_csv(path, keep_default_na=False, dtype={"s": str})
    assert df["s"].tolist() == TRICKY
    assert df["i"].tolist() == [i * 7 - 20 for i in range(len(TRICKY))]
    assert df["x"].tolist() == [0.1, 1e-5, 2.5e10, -0.0, 3.0, 1 / 3, 12.75, 100.0, 5e-324, 1e300, -7.25, 0.5]


def test_jsonl_written_by_lathe_is_json(lathe, tmp_path):
    path = tmp_path / "out.jsonl"
    run(lathe, make_table_code() + f"\nt = t:add_column('m', {{1, data.NA, 3, data.NA, 5, 6, 7, 8, 9, 10, 11, 12}})\ndata.write_jsonl(t, {lua_str(str(path))})")
    lines = [json.loads(l) for l in open(path, encoding="utf-8")]
    assert [r["s"] for r in lines] == TRICKY
    assert lines[1]["m"] is None and lines[0]["m"] == 1
    assert list(lines[0].keys()) == ["s", "i", "x", "m"]
    df = pd.read_json(path, lines=True, dtype={"s": str})
    assert df["s"].tolist() == TRICKY


def test_pandas_csv_reads_the_same_in_lathe(lathe, tmp_path):
    df = pd.DataFrame({
        "text": TRICKY,
        "n": list(range(len(TRICKY))),
        "x": [i / 8 for i in range(len(TRICKY))],
        "b": [i % 2 == 0 for i in range(len(TRICKY))],
    })
    path = tmp_path / "pd.csv"
    df.to_csv(path, index=False)
    back = tmp_path / "back.jsonl"
    out = run(lathe, f"local t = data.read_csv({lua_str(str(path))}, {{types = {{text = 'string'}}, na = {{}}}})\n"
                     f"local ty = t:types() print(ty.n, ty.x, ty.b)\ndata.write_jsonl(t, {lua_str(str(back))})")
    assert out.split() == ["integer", "number", "boolean"]
    got = [json.loads(l) for l in open(back, encoding="utf-8")]
    # pandas writes "" for an empty string without quotes; with na = {} Lathe reads it as ""
    assert [r["text"] for r in got] == TRICKY
    assert [r["n"] for r in got] == df["n"].tolist()
    assert [r["x"] for r in got] == df["x"].tolist()
    assert [r["b"] for r in got] == df["b"].tolist()


def test_read_csv_agrees_with_pandas_on_the_sample_tickets(lathe, tmp_path):
    path = ROOT / "data" / "support_tickets.csv"
    back = tmp_path / "t.jsonl"
    run(lathe, f"data.write_jsonl(data.read_csv({lua_str(str(path))}), {lua_str(str(back))})")
    got = pd.read_json(back, lines=True, dtype=False)
    df = pd.read_csv(path)
    assert len(got) == len(df)
    for col in df.columns:
        want = [None if (isinstance(v, float) and v != v) else v for v in df[col].tolist()]
        have = [None if (isinstance(v, float) and v != v) else v for v in got[col].tolist()]
        assert have == want, col


@pytest.mark.parametrize("script,name", [("make_support_tickets.py", "support_tickets.csv"), ("make_product_faq.py", "product_faq.jsonl")])
def test_sample_datasets_are_reproducible(tmp_path, script, name):
    out = tmp_path / name
    subprocess.run([sys.executable, str(ROOT / "scripts" / "datasets" / script), str(out)], check=True, capture_output=True)
    assert out.read_bytes() == (ROOT / "data" / name).read_bytes()
    assert out.stat().st_size < 2_000_000
