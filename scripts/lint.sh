#!/usr/bin/env bash
# ruff (lint and format check) and mypy, exactly as `make test` runs them; exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check .
if ! ruff format --check shared functions infra tests bench >/dev/null; then
  echo "ruff format: files need formatting; run 'ruff format shared functions infra tests bench'"
  exit 1
fi
echo "== mypy"
mypy shared/crmsync functions infra bench
