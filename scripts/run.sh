#!/usr/bin/env bash
# Runs crmsync's local stack on loopback (grows with each component).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m infra.stack "$@"
