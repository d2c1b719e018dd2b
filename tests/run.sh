#!/usr/bin/env bash
# The test command in the README: installs what the tests need on a fresh machine, then runs
# every test of the workspace and checks the real site with the command-line tool.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "missing $*: install it (apt-get install $*) and run again" >&2
    exit 1
  fi
}

# The search test runs the site's own search.js in Node.js.
command -v node >/dev/null || apt_install nodejs
command -v python3 >/dev/null || apt_install python3

cargo test --workspace

echo "== beian check (the department's site)"
cargo run -q -- check
