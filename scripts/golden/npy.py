#!/usr/bin/env python3
"""Golden .npy files for Lathe's Formats tests, written by NumPy itself.

    python3 scripts/golden/npy.py [OUT_DIR]     (default Tests/golden/formats)

Needs numpy==2.4.6 (scripts/requirements-golden.txt). Writes npy_read_*.npy (every variant
Lathe reads: dtypes, 0-d, empty, Fortran order, big-endian, format versions 2.0 and 3.0) and
npy_write_*.npy (what np.save writes; Lathe's writer must match byte for byte), described in
npy.json (float values as float32 bit patterns).
"""
import json
import os
import sys

import numpy as np
from numpy.lib import format as npformat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def f32_bits(a):
    return np.asarray(a, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def expect(a):
    c = np.array(a, order="C")  # (ascontiguousarray would turn a 0-d array into 1-d)
    e = {"shape": list(c.shape)}
    if c.dtype.kind == "f":
        e["f32_bits"] = f32_bits(c.astype(np.float32))
    elif c.dtype.kind == "b":
        e["bools"] = c.reshape(-1).tolist()
    else:
        e["ints"] = [int(v) for v in c.reshape(-1)]
    return e


def generate(out):
    np.seterr(over="ignore")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    reads = {
        "f4": rng.standard_normal((2, 3)).astype("<f4"),
        "f8": np.array([np.pi, -1e-310, 1e300, np.inf], dtype="<f8"),
        "f2": np.array([0.5, -65504, 6e-8, np.nan, -0.0], dtype="<f2"),
        "i8": np.array([[1, -2], [2**62, -2**63]], dtype="<i8"),
        "i4": np.array([-7, 2**31 - 1], dtype="<i4"),
        "i2": np.array([-300, 300], dtype="<i2"),
        "i1": np.array([-128, 5], dtype="|i1"),
        "u1": np.array([255, 0, 17], dtype="|u1"),
        "u2": np.array([65535], dtype="<u2"),
        "u4": np.array([4294967295], dtype="<u4"),
        "b1": np.array([[True, False], [False, True]]),
        "scalar": np.array(2.25, dtype="<f4"),
        "empty": np.zeros((0, 3), dtype="<f4"),
        "fortran": np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4)),
        "fortran2d_i8": np.asfortranarray(np.arange(6, dtype="<i8").reshape(2, 3)),
        "big_f4": np.arange(5, dtype=">f4") / 3,
        "big_i8": np.array([1, -2, 2**40], dtype=">i8"),
    }
    doc = {"generator": "scripts/golden/npy.py", "numpy": np.__version__, "read": {}, "write": []}
    for name, a in reads.items():
        fname = f"npy_read_{name}.npy"
        np.save(os.path.join(out, fname), a)
        e = expect(a)
        e["descr"] = npformat.dtype_to_descr(a.dtype)
        e["fortran_order"] = bool(a.flags.f_contiguous and not a.flags.c_contiguous)
        e["version"] = [1, 0]
        doc["read"][fname] = e
    for ver in ((2, 0), (3, 0)):
        a = rng.standard_normal((3, 2)).astype("<f4")
        fname = f"npy_read_v{ver[0]}.npy"
        with open(os.path.join(out, fname), "wb") as f:
            npformat.write_array(f, a, version=ver)
        e = expect(a)
        e.update(descr="<f4", fortran_order=False, version=list(ver))
        doc["read"][fname] = e

    writes = {
        "f4": rng.standard_normal((2, 3)).astype(np.float32),
        "f4_long": rng.standard_normal((3, 17)).astype(np.float32),
        "i8": np.array([3, -1, 2**50, 0, 7], dtype=np.int64),
        "b1": np.array([[True, False], [True, True]]),
        "scalar": np.array(-1.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "f2": np.array([0.1, 65519.99, -3.0, 1e-7], dtype=np.float32).astype(np.float16),
        "wide": np.zeros((12345678, 0), dtype=np.float32),
    }
    for name, a in writes.items():
        fname = f"npy_write_{name}.npy"
        np.save(os.path.join(out, fname), a)
        e = expect(a)
        # the float32 values Lathe is asked to store (f2: the float32 inputs it converts itself)
        e["lathe_dtype"] = {"f": "float32", "i": "int64", "b": "bool"}[a.dtype.kind]
        e["npy_dtype"] = {"float32": "f4", "float16": "f2", "int64": "i8", "bool": "b1"}[a.dtype.name]
        if name == "f2":
            e["f32_bits"] = f32_bits(np.array([0.1, 65519.99, -3.0, 1e-7], dtype=np.float32))
        e["file"] = fname
        doc["write"].append(e)
    with open(os.path.join(out, "npy.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "golden", "formats"))
