#!/usr/bin/env bash
# The test command in the README: installs what the tests need on a fresh machine, starts
# the servers they talk to (moto's DynamoDB-compatible server on 127.0.0.1), runs every test
# of the workspace, and checks the real site with the command-line tool.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${BEIAN_CACHE:-$HOME/.cache/beian}"
mkdir -p "$cache"

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "missing $*: install it (apt-get install $*) and run again" >&2
    exit 1
  fi
}

# The search test runs the site's own search.js in Node.js.
command -v node >/dev/null || apt_install nodejs
command -v python3 >/dev/null || apt_install python3
# The bulk-filing template is opened in LibreOffice, headless, as employers' WPS/Excel would.
command -v soffice >/dev/null || apt_install libreoffice-calc-nogui

# moto in server mode: a DynamoDB API on loopback for the store contract tests.
venv="$cache/venv"
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "moto[server]==5.*"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$cache/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
export BEIAN_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=cn-north-1
export AWS_EC2_METADATA_DISABLED=true

# The robustness tests write what they counted (requests, pages, states, inputs) here.
counts=$(mktemp)
export BEIAN_TEST_COUNTS="$counts"
cargo test --workspace --all-features
echo "== what the robustness tests checked"
cat "$counts"
rm -f "$counts"

echo "== beian check (the department's site)"
cargo run -q -- check

# The API description against the running server (the binary `beian check` just built).
bash tests/schemathesis.sh "${CARGO_TARGET_DIR:-target}/debug/beian"
