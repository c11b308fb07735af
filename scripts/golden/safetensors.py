#!/usr/bin/env python3
"""Golden safetensors files for Lathe's Formats tests, written by the reference package.

    python3 scripts/golden/safetensors.py [OUT_DIR]     (default Tests/golden/formats)

Needs the pins in scripts/requirements-golden.txt (safetensors==0.8.0, numpy==2.4.6).
Writes:
  st_read.safetensors + st_read.json   every dtype Lathe reads (values Lathe must get, floats
                                       as float32 bit patterns so NaN/-0/subnormals compare exactly)
  st_write_*.safetensors + st_write.json
                                       files Lathe's writer must reproduce byte for byte from the
                                       inputs listed in st_write.json
  sharded/                             a 2-shard checkpoint with model.safetensors.index.json
The output is deterministic (fixed seeds); Tests/python/test_formats.py regenerates it and
compares with the committed files.
"""
import json
import os
import struct
import sys

# this file is named like the package it uses: keep its own folder off the import path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _HERE]

import numpy as np  # noqa: E402
from safetensors import serialize, TensorSpec  # noqa: E402
from safetensors.numpy import save_file, save  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def f32_bits(a):
    return np.asarray(a, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even, NaN quieted with sign kept (ggml's rule)."""
    n = np.asarray(x, dtype=np.float32).reshape(-1).view(np.uint32).astype(np.uint64)
    nan = (n & 0x7FFFFFFF) > 0x7F800000
    r = (n + (0x7FFF + ((n >> 16) & 1))) >> 16
    q = ((n & 0xFFFF0000) | (64 << 16)) >> 16
    return np.where(nan, q, r).astype(np.uint16)


def write_raw(tensors, metadata=None):
    """serialize() with explicit dtypes (for BF16, which numpy lacks). tensors: name -> (dtype, shape, bytes)."""
    keep = []
    specs = {}
    for name, (dt, shape, data) in tensors.items():
        buf = np.frombuffer(data, dtype=np.uint8).copy() if len(data) else np.zeros(1, np.uint8)
        keep.append(buf)
        specs[name] = TensorSpec(dtype=dt, shape=list(shape), data_ptr=buf.ctypes.data, data_len=len(data))
    return bytes(serialize(specs, metadata))


SPECIAL = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 65520.0, 1e-8, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26,
                    6.1e-5, np.inf, -np.inf, np.nan, 1.00048828125, 1.001953125, 3.4e38, -1e-40,
                    0.1, 1.0 / 3.0], dtype=np.float32)


def read_case(out):
    rng = np.random.default_rng(1234)
    f32 = rng.standard_normal((2, 3)).astype(np.float32)
    f16 = np.concatenate([SPECIAL, rng.standard_normal(4).astype(np.float32)]).astype(np.float16)
    bf = np.concatenate([SPECIAL, rng.standard_normal(4).astype(np.float32)])
    bfb = bf16_bits(bf)
    f64 = np.array([[1e-300, -1e300], [np.pi, 1.0 / 3.0]], dtype=np.float64)
    arrays = {
        "embeddings.weight": ("float32", f32),
        "half": ("float16", f16),
        "double": ("float64", f64),
        "position_ids": ("int64", np.array([[0, 1, 2, 2**40, -2**62]], dtype=np.int64)),
        "i32": ("int32", np.array([-2**31, 2**31 - 1, 0], dtype=np.int32)),
        "i16": ("int16", np.array([-32768, 32767], dtype=np.int16)),
        "i8": ("int8", np.array([[-128], [127]], dtype=np.int8)),
        "u8": ("uint8", np.array([0, 200, 255], dtype=np.uint8)),
        "mask": ("bool", np.array([[True, False, True], [False, False, True]])),
        "scalar": ("float32", np.array(7.5, dtype=np.float32)),
        "empty": ("float32", np.zeros((0, 4), dtype=np.float32)),
    }
    raw = {k: (dt, a.shape, a.tobytes()) for k, (dt, a) in arrays.items()}
    raw["brain"] = ("bfloat16", bfb.shape, bfb.tobytes())
    data = write_raw(raw, {"format": "pt"})
    with open(os.path.join(out, "st_read.safetensors"), "wb") as f:
        f.write(data)
    expect = {"metadata": {"format": "pt"}, "tensors": {}}
    codes = {"float32": "F32", "float16": "F16", "float64": "F64", "int64": "I64", "int32": "I32",
             "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
    for k, (dt, a) in arrays.items():
        e = {"dtype": codes[dt], "shape": list(a.shape)}
        if dt.startswith("float"):
            e["f32_bits"] = f32_bits(a.astype(np.float32))
        elif dt == "bool":
            e["bools"] = a.reshape(-1).tolist()
        else:
            e["ints"] = a.reshape(-1).astype(np.int64).tolist()
        expect["tensors"][k] = e
    bf_as_f32 = (bfb.astype(np.uint32) << 16).view(np.float32)
    expect["tensors"]["brain"] = {"dtype": "BF16", "shape": list(bfb.shape), "f32_bits": f32_bits(bf_as_f32)}
    # the names in file order (descending dtype, then name) as the reference orders them
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    expect["order"] = [k for k, _ in sorted(((k, v["data_offsets"]) for k, v in hdr.items() if k != "__metadata__"),
                                            key=lambda kv: (kv[1][0], kv[1][1]))]
    return expect


def write_cases(out):
    rng = np.random.default_rng(99)
    cases = []

    def case(name, tensors, metadata=None, float_dtype="F32"):
        # tensors: list of (name, lathe dtype, shape, values)
        arrays = {}
        for tn, dt, shape, vals in tensors:
            if dt == "float32":
                a = np.asarray(vals, dtype=np.float32).reshape(shape)
                if float_dtype == "F16":
                    arrays[tn] = ("float16", a.astype(np.float16).tobytes(), shape)
                elif float_dtype == "BF16":
                    arrays[tn] = ("bfloat16", bf16_bits(a).tobytes(), shape)
                else:
                    arrays[tn] = ("float32", a.tobytes(), shape)
            elif dt == "int64":
                arrays[tn] = ("int64", np.asarray(vals, dtype=np.int64).reshape(shape).tobytes(), shape)
            else:
                arrays[tn] = ("bool", np.asarray(vals, dtype=np.bool_).reshape(shape).tobytes(), shape)
        if float_dtype == "F32" and all(dt != "bfloat16" for dt, _, _ in arrays.values()):
            # the ordinary numpy path, exactly as a user would save
            np_arrays = {tn: np.frombuffer(b, dtype=dt).reshape(shape) if len(b) else np.zeros(shape, dtype=dt)
                         for tn, (dt, b, shape) in arrays.items()}
            data = save(np_arrays, metadata=metadata)
        else:
            data = write_raw({tn: (dt, shape, b) for tn, (dt, b, shape) in arrays.items()}, metadata)
        fname = f"st_write_{name}.safetensors"
        with open(os.path.join(out, fname), "wb") as f:
            f.write(data)
        inputs = []
        for tn, dt, shape, vals in tensors:
            e = {"name": tn, "dtype": dt, "shape": list(shape)}
            if dt == "float32":
                e["f32_bits"] = f32_bits(np.asarray(vals, dtype=np.float32))
            elif dt == "int64":
                e["ints"] = [int(v) for v in np.asarray(vals).reshape(-1)]
            else:
                e["bools"] = [bool(v) for v in np.asarray(vals).reshape(-1)]
            inputs.append(e)
        cases.append({"file": fname, "metadata": metadata, "float_dtype": float_dtype, "tensors": inputs})

    w = rng.standard_normal(6).astype(np.float32)
    case("model", [
        ("encoder.weight", "float32", (2, 3), w),
        ("encoder.bias", "float32", (3,), rng.standard_normal(3)),
        ("position_ids", "int64", (1, 4), [0, 1, 2, 3]),
        ("attention_mask", "bool", (2, 2), [True, False, False, True]),
        ("temperature", "float32", (), [0.7]),
        ("empty", "float32", (0, 3), []),
    ], metadata={"format": "pt"})
    case("names", [
        ("Z", "float32", (1,), [1.0]),
        ("a", "float32", (1,), [2.0]),
        ("\u00e9t\u00e9", "float32", (1,), [3.0]),
        ("a.b\"q\\\n/\u0001", "int64", (2,), [-1, 2**62]),
        ("b", "bool", (3,), [True, True, False]),
    ])
    vals = np.concatenate([SPECIAL[~np.isnan(SPECIAL)], rng.standard_normal(32).astype(np.float32) * 100,
                           np.array([1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8,
                                     65519.0, 65519.99, -65536.0, 2.0 ** -14 * 1.5, 5.96e-8, 2.98e-8],
                                    dtype=np.float32)])
    vals = np.append(vals, np.float32(np.nan))
    for fd in ("F16", "BF16"):
        case(fd.lower(), [
            ("w", "float32", (len(vals),), vals),
            ("ids", "int64", (2,), [5, 6]),
            ("m", "bool", (1,), [True]),
        ], metadata={"dtype": fd.lower()}, float_dtype=fd)
    case("empty", [])
    case("metaonly", [], metadata={"note": "only metadata \u2713"})
    return cases


def sharded(out):
    d = os.path.join(out, "sharded")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(5)
    s1 = {"model.embed.weight": rng.standard_normal((3, 2)).astype(np.float32),
          "model.layers.0.w": rng.standard_normal((2, 2)).astype(np.float32)}
    s2 = {"model.layers.1.w": rng.standard_normal((2, 2)).astype(np.float32),
          "lm_head.bias": np.arange(3, dtype=np.float32)}
    save_file(s1, os.path.join(d, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
    save_file(s2, os.path.join(d, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
    wm = {k: "model-00001-of-00002.safetensors" for k in s1}
    wm.update({k: "model-00002-of-00002.safetensors" for k in s2})
    total = sum(a.nbytes for a in list(s1.values()) + list(s2.values()))
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))}, f, indent=2)
        f.write("\n")
    return {k: {"shape": list(v.shape), "f32_bits": f32_bits(v)} for k, v in {**s1, **s2}.items()}


def generate(out):
    np.seterr(over="ignore")
    os.makedirs(out, exist_ok=True)
    doc = {
        "generator": "scripts/golden/safetensors.py",
        "versions": {"safetensors": __import__("safetensors").__version__, "numpy": np.__version__},
        "read": read_case(out),
        "write": write_cases(out),
        "sharded": sharded(out),
    }
    with open(os.path.join(out, "safetensors.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"), ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    np.seterr(over="ignore")
    generate(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "golden", "formats"))
