#!/usr/bin/env bash
# The test command in the README: installs what the tests need on a fresh machine, starts
# the servers they talk to (moto's DynamoDB-compatible server on 127.0.0.1), runs every test
# of the workspace, checks the real site with the command-line tool, then runs the browser
# suite (tests/browser: headless Chromium and axe-core against `beian serve` on 127.0.0.1).
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
# The browser suite (tests/browser) drives Debian's Chromium with playwright-core from npm
# (Playwright's own browser download cannot work on a closed network), and screenshots need a
# Chinese font.
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || apt_install chromium
fc-list 2>/dev/null | grep -qi -e 'WenQuanYi' -e 'Noto Sans CJK' || apt_install fonts-wqy-microhei
command -v npm >/dev/null || apt_install npm
# infra/package.sh reads the Lambda packages' glibc symbol versions with objdump.
command -v objdump >/dev/null || apt_install binutils

# The deployment: lint the AWS template (cfn-lint, SAM transform, checkov; offline), then
# build the Lambda packages that the template deploys (cargo-lambda, glibc 2.34) for the
# test that starts them (tests/infra_template.rs).
bash infra/check.sh
bash infra/package.sh --functions-only
export BEIAN_LAMBDA_PACKAGES=infra/build

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

# The site in a real browser: journeys (desktop, phone, keyboard only, no JavaScript), axe-core
# at WCAG 2.1 AA on every page and form state, screenshots into tests/screenshots/. It runs
# the dev binary that `cargo run` above has just built.
echo "== browser: Chromium, axe-core (tests/browser)"
browser_started=$(date +%s)
(
  cd tests/browser
  # node_modules is kept while package-lock.json is unchanged; npm's own cache keeps the
  # downloads between fresh clones.
  stamp=node_modules/.package-lock.sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    npm ci --no-audit --no-fund --loglevel=error --cache "$cache/npm"
    echo "$want" >"$stamp"
  fi
)
target_dir="${CARGO_TARGET_DIR:-target}"
BEIAN_BIN="$(cd "$target_dir" && pwd)/debug/beian" CHROMIUM="$chromium" node tests/browser/run.mjs
echo "browser suite: $(($(date +%s) - browser_started)) s"
