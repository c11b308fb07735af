"""Lathe's LoRA adapters in PEFT's layout, checked with Python's safetensors and json against
the files PEFT itself wrote (Tests/golden/peft, from scripts/golden/peft_adapter.py)."""
import json
import pathlib
import subprocess

import numpy as np
from safetensors.numpy import load_file

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "peft"

LLAMA = ('nn.gpt{vocab = 32, layers = 2, dim = 16, heads = 4, kv_heads = 2, seq = 16, hidden = 32, norm = "rmsnorm", '
         'norm_eps = 1e-6, mlp = "swiglu", positions = "rotary", bias = false, tie = false, naming = "llama"}')


def test_lathe_adapter_files_match_peft(lathe, tmp_path):
    out = tmp_path / "adapter"
    code = f'''
    local g = {LLAMA}
    g:load("{GOLDEN}/base/model.safetensors")
    lora.load(g, "{GOLDEN}/adapter")
    lora.save(g, "{out}", {{base_model = "tiny-llama"}})
    '''
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ours, theirs = load_file(str(out / "adapter_model.safetensors")), load_file(str(GOLDEN / "adapter" / "adapter_model.safetensors"))
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        assert ours[k].shape == theirs[k].shape and ours[k].dtype == theirs[k].dtype
        np.testing.assert_array_equal(ours[k], theirs[k])
    cfg = json.loads((out / "adapter_config.json").read_text())
    ref = json.loads((GOLDEN / "adapter" / "adapter_config.json").read_text())
    for k in ("peft_type", "r", "lora_alpha", "lora_dropout", "bias", "task_type", "target_modules", "fan_in_fan_out"):
        assert cfg[k] == ref[k], k
    assert cfg["base_model_name_or_path"] == "tiny-llama"
