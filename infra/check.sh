#!/usr/bin/env bash
# Lints infra/template.yaml offline (no AWS account, no network but PyPI for the installs):
#   1. cfn-lint on the template as written (it expands the SAM transform itself);
#   2. the SAM transform done by aws-sam-translator (infra/sam_transform.py), and cfn-lint on
#      the plain CloudFormation that comes out, which is what CloudFormation deploys;
#   3. checkov, whose every skipped check must carry a written reason in the template.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${BEIAN_CACHE:-$HOME/.cache/beian}"
mkdir -p "$cache"

# Two virtual environments: checkov pins versions of libraries that cfn-lint also uses.
lint="$cache/cfn-venv"
if [ ! -x "$lint/bin/cfn-lint" ] || [ ! -x "$lint/bin/python" ] || ! "$lint/bin/python" -c 'import samtranslator, yaml' 2>/dev/null; then
  python3 -m venv "$lint"
  "$lint/bin/pip" install -q --upgrade pip
  "$lint/bin/pip" install -q "cfn-lint==1.*" "aws-sam-translator==1.*" pyyaml
fi
checkov="$cache/checkov-venv"
if [ ! -x "$checkov/bin/checkov" ]; then
  python3 -m venv "$checkov"
  "$checkov/bin/pip" install -q --upgrade pip
  "$checkov/bin/pip" install -q "checkov==3.*"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== cfn-lint infra/template.yaml"
"$lint/bin/cfn-lint" infra/template.yaml

echo "== SAM transform (aws-sam-translator), then cfn-lint on the result"
"$lint/bin/python" infra/sam_transform.py infra/template.yaml "$work/expanded.json"
"$lint/bin/cfn-lint" "$work/expanded.json"

echo "== checkov"
# --skip-download: no calls to the vendor's platform; the checks ship with the package.
"$checkov/bin/checkov" -f infra/template.yaml --framework cloudformation --skip-download \
  -o json >"$work/checkov.json" 2>"$work/checkov.err" || true
if ! "$lint/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/checkov.json" 2>/dev/null; then
  cat "$work/checkov.err" "$work/checkov.json" >&2
  echo "checkov did not run" >&2
  exit 1
fi
"$lint/bin/python" - infra/template.yaml "$work/checkov.json" <<'PY'
# Every skip names its reason, and every skip is still needed (checkov would fail without it).
import json, sys, yaml

class Loader(yaml.SafeLoader):
    pass

template = yaml.load(open(sys.argv[1], encoding="utf-8"), Loader=Loader)
results = json.load(open(sys.argv[2], encoding="utf-8"))
results = results if isinstance(results, list) else [results]
skipped = {
    (c["resource"].split(".")[-1], c["check_id"])
    for r in results
    for c in r["results"]["skipped_checks"]
}
failed = [c for r in results for c in r["results"]["failed_checks"]]
passed = sum(len(r["results"]["passed_checks"]) for r in results)
problems = [f"failed: {c['check_id']} {c['resource']} {c['check_name']}" for c in failed]
written = 0
for name, resource in template["Resources"].items():
    for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
        written += 1
        if len(str(skip.get("comment", "")).strip()) < 20:
            problems.append(f"{name}: skip {skip['id']} has no written reason")
        if (name, skip["id"]) not in skipped:
            problems.append(f"{name}: skip {skip['id']} is not needed any more: remove it")
for p in problems:
    print("  " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"   checkov: {passed} passed, 0 failed, {written} skipped, each with its reason")
PY
