#!/usr/bin/env bash
# The test command behind `make test` and .ci/run: lint, types, then every test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

echo "== ruff"
"$BIN/ruff" check bridge tests bench || exit 1
echo "== mypy (strict, bridge/)"
"$BIN/mypy" || exit 1

echo "== pytest"
"$BIN/pytest" -q -m "not slow" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no test: that is a failure here, not a pass" >&2
  exit 1
fi
exit "$rc"
