#!/usr/bin/env bash
# Builds what gets deployed: the site into public/ and one Lambda package per function into
# infra/build/<function>/bootstrap (what infra/template.yaml's CodeUri points at).
#
#   bash infra/package.sh https://beian.example.gov.cn/   # site and functions
#   bash infra/package.sh --functions-only                # functions only (tests/run.sh)
#
# The functions are built with cargo-lambda (from PyPI, with the zig it brings) for
# x86_64-unknown-linux-gnu against glibc 2.34, the glibc of Lambda's provided.al2023 runtime,
# with the `lambda` profile (size-optimised, LTO, stripped). After the build every
# bootstrap's symbol versions are read: a binary that needs a newer glibc than 2.34 would not
# start on Lambda, so the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${BEIAN_CACHE:-$HOME/.cache/beian}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
# provided.al2023 has glibc 2.34 (Amazon Linux 2023).
glibc_max="2.34"

site=1
base_url=""
for arg in "$@"; do
  case "$arg" in
    --functions-only) site=0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) base_url="$arg" ;;
  esac
done

if [ "$site" = 1 ]; then
  echo "== site → public/ (base URL ${base_url:-from site/config.toml})"
  if [ -n "$base_url" ]; then
    cargo run -q --release -- build --output-dir public --base-url "$base_url"
  else
    cargo run -q --release -- build --output-dir public
  fi
fi

venv="$cache/lambda-venv"
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "cargo-lambda==1.*"
fi
export PATH="$venv/bin:$PATH"

echo "== Lambda packages → infra/build/ (cargo lambda, x86_64, glibc $glibc_max)"
rm -rf infra/build
start=$(date +%s)
# Bulk upload (`upload`) needs the spreadsheet reader and writer; the other functions are
# built without them so each stays small.
cargo lambda build --quiet --profile lambda -p beian-functions --features aws \
  --bin forms --bin submit --bin receipt \
  --target "x86_64-unknown-linux-gnu.$glibc_max" --lambda-dir infra/build
cargo lambda build --quiet --profile lambda -p beian-functions --features aws,upload \
  --bin upload \
  --target "x86_64-unknown-linux-gnu.$glibc_max" --lambda-dir infra/build
echo "   built in $(( $(date +%s) - start )) s"

status=0
found=0
for bootstrap in infra/build/*/bootstrap; do
  [ -f "$bootstrap" ] || continue
  found=$((found + 1))
  # The highest GLIBC_x.y among the versioned symbols the binary needs.
  needed=$(objdump -T "$bootstrap" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  newest=$(printf '%s\n%s\n' "$needed" "$glibc_max" | sort -V | tail -n 1)
  size=$(stat -c %s "$bootstrap")
  if [ "$newest" != "$glibc_max" ]; then
    echo "   $bootstrap needs glibc $needed, newer than provided.al2023's $glibc_max" >&2
    status=1
  else
    echo "   $bootstrap: $size bytes, needs glibc ≤ $needed"
  fi
done
if [ "$found" = 0 ]; then
  echo "no bootstrap was built under infra/build" >&2
  exit 1
fi
exit "$status"
