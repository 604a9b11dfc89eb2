#!/usr/bin/env bash
# Runs checkov on terraform/ from its own virtualenv (.venv-checkov): checkov pins its own
# python-hcl2, which conflicts with the one in .venv. Extra arguments go to checkov.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.3.30
VENV=${CHECKOV_VENV:-.venv-checkov}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/checkov" ] || [ ! -f "$VENV/.checkov-$VERSION" ]; then
  echo "crmsync: installing checkov==$VERSION into $VENV (first run takes a minute)" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$VERSION" >&2; then
    echo "crmsync: could not install checkov==$VERSION from the package index (no network?); see the pip error above" >&2
    exit 3
  fi
  touch "$VENV/.checkov-$VERSION"
fi
exec "$VENV/bin/checkov" -d terraform --framework terraform --compact --quiet --skip-download "$@"
