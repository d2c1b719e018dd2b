#!/usr/bin/env bash
# The fuzzing bench: runs each cargo-fuzz target for SECONDS (default 60) from its seeds and
# the corpus of earlier runs, and prints executions and crashes per target.
#
#   bash tests/fuzz/run.sh [SECONDS] [TARGET…]
#
# Targets (tests/fuzz/fuzz_targets, checks in tests/fuzz/checks.rs): front_matter_markdown,
# form_body, spreadsheet_import. A crash is copied into tests/fuzz/regressions/<target>/,
# where tests/fuzz_regressions.rs (part of `cargo test`) replays it: fix the code, keep the
# file, commit both. The script exits 1 when any target crashed.
#
# cargo-fuzz needs nightly compiler flags; on the stable toolchain RUSTC_BOOTSTRAP=1 lets
# rustc accept them. Built with optimisations, debug assertions and overflow checks, without
# AddressSanitizer by default (all the code is safe Rust, and ASan triples the build on two
# cores): BEIAN_FUZZ_SANITIZER=address turns it on. The build goes to its own target folder
# (BEIAN_FUZZ_TARGET_DIR, default ~/.cache/beian/target-fuzz), since the instrumentation
# flags rebuild every dependency.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(front_matter_markdown form_body spreadsheet_import)

cache="${BEIAN_CACHE:-$HOME/.cache/beian}"
target_dir="${BEIAN_FUZZ_TARGET_DIR:-$cache/target-fuzz}"
sanitizer="${BEIAN_FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1
export PATH="$cache/cargo-fuzz/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz into $cache/cargo-fuzz"
  cargo install -q cargo-fuzz --version "0.13.*" --locked --root "$cache/cargo-fuzz"
fi
# libFuzzer is C++: build-essential brings g++.
command -v c++ >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null; }

fuzz=(--fuzz-dir tests/fuzz)
build=(-O -a -s "$sanitizer" --target-dir "$target_dir")
echo "== building the fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build "${fuzz[@]}" "${build[@]}"

crashed=0
summary=()
for target in "${targets[@]}"; do
  corpus="tests/fuzz/corpus/$target"
  artifacts="tests/fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts" "tests/fuzz/regressions/$target"
  log=$(mktemp)
  echo "== $target for ${seconds}s"
  set +e
  cargo fuzz run "${fuzz[@]}" "${build[@]}" "$target" "$corpus" "tests/fuzz/seeds/$target" \
    "tests/fuzz/regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -oE '[0-9]+ second' | grep -oE '[0-9]+' || echo "$seconds")
  found=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
    crashed=1
    tail -40 "$log"
    for file in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
      [ -f "$file" ] && cp "$file" "tests/fuzz/regressions/$target/" && echo "saved $(basename "$file") in tests/fuzz/regressions/$target/"
    done
  fi
  summary+=("$target: ${runs:-0} executions in ${took}s, $found crashes, corpus $(find "$corpus" -type f | wc -l) inputs")
  rm -f "$log"
done

echo "== fuzzing summary"
printf '%s\n' "${summary[@]}"
if [ "$crashed" -ne 0 ]; then
  echo "crashes were found: the inputs are in tests/fuzz/regressions/ (replayed by cargo test --test fuzz_regressions)"
  exit 1
fi
