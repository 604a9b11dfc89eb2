#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies; quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "crmsync: creating .venv with $($PY --version)" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.deps-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "crmsync: installing pinned dependencies into .venv (first run takes a minute)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  rm -f .venv/.deps-*
  touch "$stamp"
fi
# Make the crmsync package (shared/) and infra/ importable in the venv.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n%s\n' "$PWD/shared" "$PWD" > "$site/crmsync-dev.pth"
