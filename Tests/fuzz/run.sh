#!/usr/bin/env bash
# Builds and runs the libFuzzer harness for the Formats readers (safetensors, .npy, GGUF, JSON).
#   Tests/fuzz/run.sh [SECONDS]        (default 60; needs clang from the Swift toolchain)
# The corpus starts from the golden files; new interesting inputs go to .build/fuzz/corpus and
# crashes to .build/fuzz/crash-*. Not part of CI (the seeded mutation tests in
# Tests/LatheCoreTests/FormatsTests.swift are).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-60}"
OUT=.build/fuzz
mkdir -p "$OUT/corpus"
cp Tests/golden/formats/*.safetensors Tests/golden/formats/*.npy Tests/golden/formats/*.gguf "$OUT/corpus/" 2>/dev/null || true
# SwiftPM generates the C target's module map; do the same here
printf 'module CLatheCore {\n  umbrella header "%s"\n  export *\n}\n' "$PWD/Sources/CLatheCore/include/CLatheCore.h" > "$OUT/module.modulemap"
clang -c -O1 -g -fsanitize=fuzzer-no-link,address -I Sources/CLatheCore/include \
  Sources/CLatheCore/support.c -o "$OUT/support.o"
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name LatheCore -emit-library -static \
  -Xcc -fmodule-map-file="$OUT/module.modulemap" \
  $(find Sources/LatheCore -name '*.swift') -emit-module -emit-module-path "$OUT/LatheCore.swiftmodule" \
  -o "$OUT/libLatheCore.a"
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -I "$OUT" \
  -Xcc -fmodule-map-file="$OUT/module.modulemap" \
  Tests/fuzz/FormatsFuzz.swift "$OUT/libLatheCore.a" "$OUT/support.o" -ldl -lpthread -o "$OUT/formats-fuzz"
cd "$OUT"
./formats-fuzz -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=4096 corpus
