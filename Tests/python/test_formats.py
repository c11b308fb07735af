"""Reference checks for LatheCore/Formats.

The Swift tests (Tests/LatheCoreTests/FormatsTests.swift) require Lathe's safetensors and .npy
writers to reproduce the committed golden files byte for byte, and its readers to return the
values listed next to them. These tests close the loop on the Python side: the committed
golden files must be exactly what the pinned reference packages (safetensors, numpy, gguf)
write today, and the reference readers must read them back to the listed values. So a file
Lathe writes is, byte for byte, a file the reference package wrote and reads.
"""
import importlib.util
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "golden" / "formats"


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"golden_{name}", ROOT / "scripts" / "golden" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def same_tree(produced, names):
    for n in names:
        want = (GOLDEN / n).read_bytes()
        got = (produced / n).read_bytes()
        assert got == want, f"{n}: regenerated file differs from the committed golden file"


@pytest.mark.parametrize("script", ["safetensors", "npy", "gguf"])
def test_golden_files_are_what_the_reference_writes(tmp_path, script):
    load_script(script).generate(str(tmp_path))
    produced = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert produced, "the generator wrote nothing"
    same_tree(tmp_path, produced)


def f32(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def test_reference_reads_the_write_goldens_to_lathes_inputs():
    from safetensors.numpy import load_file
    from safetensors import safe_open
    doc = json.loads((GOLDEN / "safetensors.json").read_text())
    for case in doc["write"]:
        path = str(GOLDEN / case["file"])
        if case["float_dtype"] == "BF16":
            continue  # numpy has no bfloat16; test_bf16_golden_bits_use_round_to_nearest_even checks it
        got = load_file(path)
        assert sorted(got) == sorted(t["name"] for t in case["tensors"])
        with safe_open(path, framework="numpy") as f:
            assert (f.metadata() or None) == case["metadata"]
        for t in case["tensors"]:
            a = got[t["name"]]
            assert list(a.shape) == t["shape"]
            if t["dtype"] == "float32":
                want = f32(t["f32_bits"])
                if case["float_dtype"] == "F16":
                    want = want.astype(np.float16)
                    assert a.dtype == np.float16
                np.testing.assert_array_equal(a.reshape(-1), want)
            elif t["dtype"] == "int64":
                assert a.dtype == np.int64 and a.reshape(-1).tolist() == t["ints"]
            else:
                assert a.dtype == np.bool_ and a.reshape(-1).tolist() == t["bools"]


def test_bf16_golden_bits_use_round_to_nearest_even():
    # the BF16 file stores exactly what the documented rounding gives for the float32 inputs
    mod = load_script("safetensors")
    doc = json.loads((GOLDEN / "safetensors.json").read_text())
    case = next(c for c in doc["write"] if c["float_dtype"] == "BF16")
    data = (GOLDEN / case["file"]).read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    w = next(t for t in case["tensors"] if t["name"] == "w")
    b, e = header["w"]["data_offsets"]
    stored = np.frombuffer(data[8 + n + b:8 + n + e], dtype="<u2")
    np.testing.assert_array_equal(stored, mod.bf16_bits(f32(w["f32_bits"])))
    assert header["w"]["dtype"] == "BF16"


def test_numpy_reads_npy_goldens():
    doc = json.loads((GOLDEN / "npy.json").read_text())
    for name, e in doc["read"].items():
        a = np.load(GOLDEN / name)
        assert list(a.shape) == e["shape"]
        if "f32_bits" in e:
            np.testing.assert_array_equal(np.ascontiguousarray(a, dtype=np.float32).reshape(-1).view(np.uint32),
                                          np.array(e["f32_bits"], dtype=np.uint32))


def test_smollm2_facts_match_gguf_py(tmp_path):
    # fetches the real model into the cache (fails, does not skip, when it cannot)
    out = subprocess.run([str(ROOT / "scripts" / "fetch_models.sh"), "smollm2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    model = out.stdout.strip().splitlines()[-1].split(" ", 1)[-1]  # lines are "name path"
    load_script("gguf").smollm2(model, str(tmp_path))
    assert json.loads((tmp_path / "smollm2.json").read_text()) == json.loads((GOLDEN / "smollm2.json").read_text())


def test_python_safetensors_reads_files_lathe_writes(lathe, tmp_path):
    """tensor.save output is read by the Python safetensors package with the same values,
    and a file Python writes is read by tensor.load."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    out = tmp_path / "lathe.safetensors"
    code = f"""
    tensor.save("{out}", {{w = tensor.from({{{{1.5, -2.0, 3.25}}, {{0.0, 1e-3, -7.0}}}}), ids = tensor.from({{1, 2, 3}}), m = tensor.from({{true, false}})}}, {{note = "from lathe"}})
    """
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = load_file(str(out))
    np.testing.assert_array_equal(d["w"], np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype=np.float32))
    np.testing.assert_array_equal(d["ids"], np.array([1, 2, 3], dtype=np.int64))
    np.testing.assert_array_equal(d["m"], np.array([True, False]))
    # same bytes as Python writes for the same tensors and metadata
    again = tmp_path / "py-same.safetensors"
    save_file(d, str(again), metadata={"note": "from lathe"})
    assert again.read_bytes() == out.read_bytes()
    # the reverse direction
    src = tmp_path / "py.safetensors"
    save_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([5, -6], dtype=np.int64)}, str(src), metadata={"k": "v"})
    r = subprocess.run([lathe, "-e", f'local t, meta = tensor.load("{src}"); print(t.a:sum():item(), t.b[2], t.a:shape()[2], meta.k)'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["15.0", "-6", "3", "v"]
    # numpy reads .npy files lathe writes
    npy = tmp_path / "x.npy"
    r = subprocess.run([lathe, "-e", f'tensor.save_npy("{npy}", tensor.from({{{{1.0, 2.0}}, {{3.0, 4.0}}}}))'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(npy), np.array([[1, 2], [3, 4]], dtype=np.float32))


@pytest.mark.parametrize("descr", ["<f2", "<f4", "<f8"])
def test_save_npy_dtype_is_what_numpy_writes(lathe, tmp_path, descr):
    # numpy reads the stored type back; the bytes equal np.save of the same values
    ours = tmp_path / "ours.npy"
    code = (f'local t = tensor.from({{{{1.5, -2.25, 3.1}}, {{65504, 1e-3, 0}}}})\n'
            f'tensor.save_npy("{ours}", t, {{dtype = "{descr}"}})\n'
            f'local back = tensor.load_npy("{ours}")\n'
            f'print(back:stored_dtype())')
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("nil" if descr == "<f4" else descr)
    a = np.load(ours)
    assert a.dtype == np.dtype(descr)
    want = np.array([[1.5, -2.25, 3.1], [65504, 1e-3, 0]], dtype=np.float32).astype(descr)
    np.testing.assert_array_equal(a, want)
    ref = tmp_path / "ref.npy"
    np.save(ref, want)
    assert ours.read_bytes() == ref.read_bytes()
