"""tokenizer.json files that the Python `tokenizers` library (the reference reader) rejects must
be rejected by Lathe too, and the odd-but-valid ones must encode the same way (ids and offsets)."""
import json
import subprocess

import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordPiece
from tokenizers.pre_tokenizers import Whitespace

TEXT = "ab a x"


def base():
    tok = Tokenizer(WordPiece({"[UNK]": 0, "a": 1, "b": 2, "##b": 3, "x": 4, "[PAD]": 5}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    return json.loads(tok.to_str())


def padding(strategy):
    return {"strategy": strategy, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 5,
            "pad_type_id": 0, "pad_token": "[PAD]"}


def truncation(max_length, stride=0):
    return {"direction": "Right", "max_length": max_length, "strategy": "LongestFirst", "stride": stride}


CASES = {
    "max_input_chars_per_word -1": lambda d: d["model"].__setitem__("max_input_chars_per_word", -1),
    "max_input_chars_per_word 0": lambda d: d["model"].__setitem__("max_input_chars_per_word", 0),
    "max_input_chars_per_word 1.5": lambda d: d["model"].__setitem__("max_input_chars_per_word", 1.5),
    "padding Fixed -5": lambda d: d.__setitem__("padding", padding({"Fixed": -5})),
    "padding Fixed 0": lambda d: d.__setitem__("padding", padding({"Fixed": 0})),
    "padding Fixed 8": lambda d: d.__setitem__("padding", padding({"Fixed": 8})),
    "truncation max_length -1": lambda d: d.__setitem__("truncation", truncation(-1)),
    "truncation max_length 0": lambda d: d.__setitem__("truncation", truncation(0)),
    "truncation max_length 2": lambda d: d.__setitem__("truncation", truncation(2)),
    "Replace empty string": lambda d: d.__setitem__("normalizer", {"type": "Replace", "pattern": {"String": ""}, "content": "x"}),
    "Replace empty regex": lambda d: d.__setitem__("normalizer", {"type": "Replace", "pattern": {"Regex": ""}, "content": "x"}),
    "Split empty regex": lambda d: d.__setitem__("pre_tokenizer", {"type": "Split", "pattern": {"Regex": ""}, "behavior": "Isolated", "invert": False}),
    "Split empty string": lambda d: d.__setitem__("pre_tokenizer", {"type": "Split", "pattern": {"String": ""}, "behavior": "Isolated", "invert": False}),
    "unk_token missing from vocab": lambda d: d["model"].__setitem__("unk_token", "[NOPE]"),
    "vocab id negative": lambda d: d["model"]["vocab"].__setitem__("b", -2),
}


def reference(doc):
    try:
        t = Tokenizer.from_str(json.dumps(doc))
        e = t.encode(TEXT)
        return ("ok", e.ids, [list(o) for o in e.offsets])
    except Exception as err:  # the reference refuses the file (or the encoding)
        return ("error", str(err))


def lathe_result(lathe, path, tmp_path):
    code = f"""
local ok, tok = pcall(text.load_tokenizer, {json.dumps(str(path))})
if not ok then print("ERROR " .. tostring(tok)) return end
local ok2, e = pcall(function() return tok:encode_detailed({json.dumps(TEXT)}) end)
if not ok2 then print("ERROR " .. tostring(e)) return end
local offs = {{}}
for i, o in ipairs(e.offsets) do offs[i] = o[1] .. ":" .. o[2] end
print("OK " .. table.concat(e.ids, " ") .. "|" .. table.concat(offs, " "))
"""
    script = tmp_path / "v.lua"
    script.write_text(code, encoding="utf-8")
    r = subprocess.run([lathe, "run", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.parametrize("name", sorted(CASES))
def test_tokenizer_json_validated_as_the_reference(lathe, tmp_path, name):
    doc = base()
    CASES[name](doc)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    ref = reference(doc)
    ours = lathe_result(lathe, path, tmp_path)
    if ref[0] == "error":
        assert ours.startswith("ERROR"), f"the reference refuses it ({ref[1][:120]}), Lathe gave {ours}"
        assert "tokenizer" in ours.lower() or ".json" in ours, ours
    else:
        assert ours.startswith("OK"), f"the reference accepts it, Lathe said {ours}"
        ids, offs = ours[3:].split("|")
        got_ids = [int(x) for x in ids.split()] if ids else []
        got_offs = [[int(a) for a in o.split(":")] for o in offs.split()] if offs else []
        assert got_ids == ref[1], (got_ids, ref[1])
        assert got_offs == ref[2], (got_offs, ref[2])


def test_truncation_stride_not_below_max_length_is_refused(lathe, tmp_path):
    # the reference panics while encoding; Lathe refuses the file when it loads
    doc = base()
    doc["truncation"] = truncation(2, stride=2)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    ours = lathe_result(lathe, path, tmp_path)
    assert ours.startswith("ERROR") and "stride" in ours, ours
