"""The json module against Python's json: texts Python writes decode in Lathe and encode back to
values Python reads as equal (same types, floats bit for bit), and Lathe's text is the text
json.dumps writes with sorted keys."""
import json
import math
import os
import subprocess

CORPUS = [
    {"name": "Ann", "age": 31, "score": 0.1, "ok": True, "none": None},
    [1, 2.5, -0.0, 0.0, 3.0, 100.0, 1e-7, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 1 / 3, 0.1 + 0.2],
    [9223372036854775807, -9223372036854775808, 0, -1, 12345678901234567, 2 ** 53 + 1],
    [1e16, 1e15, 123456789012345.0, 1e22, 1.5e300, -2.5e-300, 9007199254740993.0],
    {"unicode": "日本語 ✓ Zoë 😀 \U0010ffff", "escapes": "\"\\/\b\f\n\r\t\u0000\u001f\u007f", "empty": ""},
    {"nested": {"a": {"b": {"c": [[[]], {}, [{}], {"d": [None, False]}]}}}, "list": [], "dict": {}},
    {"ü": 1, "😀": 2, " ": 3, "": 4, "a b": 5, "B": 6, "a": 7},
    [[], {}, [[]], [{}], {"": []}],
    "just a string",
    42,
    -0.5,
    None,
    True,
    [{"id": i, "v": i / 7, "tag": chr(0x4E00 + i)} for i in range(50)],
]


def same(a, b):
    """Equality that also holds types (int vs float vs bool) and float bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.isnan(a) and math.isnan(b) or a.hex() == b.hex()
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


LUA = r'''
local texts = json.decode(io.open(arg_in):read("a"))
local out = {}
for i, s in ipairs(texts) do
  local v = json.decode(s, {allow_nan = true})
  out[i] = {compact = json.encode(v, {allow_nan = true}), pretty = json.encode(v, {indent = 2, allow_nan = true}),
            ascii = json.encode(v, {ascii = true, allow_nan = true})}
end
local f = io.open(arg_out, "w")
f:write(json.encode(out))
f:close()
'''


def lathe_round_trip(lathe, tmp_path, texts):
    src, dst = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(json.dumps(texts), encoding="utf-8")
    code = f"arg_in, arg_out = {json.dumps(str(src))}, {json.dumps(str(dst))}\n" + LUA
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True, env={**os.environ, "LATHE_PROGRESS": "0"})
    assert r.returncode == 0, r.stderr
    return json.loads(dst.read_text(encoding="utf-8"))


def test_python_text_decodes_and_encodes_back_equal(lathe, tmp_path):
    texts = []
    for v in CORPUS:
        texts += [json.dumps(v), json.dumps(v, ensure_ascii=False, indent=1), json.dumps(v, sort_keys=True, separators=(",", ":"))]
    outs = lathe_round_trip(lathe, tmp_path, texts)
    for k, (text, out) in enumerate(zip(texts, outs)):
        want = CORPUS[k // 3]
        for form in ("compact", "pretty", "ascii"):
            assert same(json.loads(out[form]), want), (form, text, out[form])


def test_lathe_text_is_what_json_dumps_writes(lathe, tmp_path):
    outs = lathe_round_trip(lathe, tmp_path, [json.dumps(v) for v in CORPUS])
    for v, out in zip(CORPUS, outs):
        assert out["compact"] == json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert out["pretty"] == json.dumps(v, sort_keys=True, indent=2, ensure_ascii=False)
        assert out["ascii"] == json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def test_nan_and_infinity_with_allow_nan(lathe, tmp_path):
    v = [float("nan"), float("inf"), -float("inf"), {"x": float("nan")}]
    (out,) = lathe_round_trip(lathe, tmp_path, [json.dumps(v)])
    assert out["compact"] == "[NaN,Infinity,-Infinity,{\"x\":NaN}]"
    assert same(json.loads(out["compact"]), v)
