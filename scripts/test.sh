#!/usr/bin/env bash
# The whole test suite: lint, types, then every test (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
scripts/lint.sh
# Browser tests drive Debian's Chromium; install it when the machine lacks it.
scripts/ensure_chromium.sh
echo "== pytest"
# pytest's exit code 5 (no tests collected) is non-zero and fails the run too.
exec pytest -n "${PYTEST_WORKERS:-2}" "$@"
