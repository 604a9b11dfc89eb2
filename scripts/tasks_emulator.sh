#!/usr/bin/env bash
# The Cloud Tasks emulator (gcloud-tasks-emulator 0.6.2) in its own virtualenv .venv-tasks: it needs
# protobuf<5, which cannot share .venv. Created on first use (idempotent).
#
#   scripts/tasks_emulator.sh install          # create .venv-tasks only
#   scripts/tasks_emulator.sh start PORT [..]  # run the emulator in the foreground on 127.0.0.1:PORT
#   scripts/tasks_emulator.sh path             # print the emulator executable (installing if needed)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CRMSYNC_TASKS_VENV:-$ROOT/.venv-tasks}"
EXE="$VENV/bin/gcloud-tasks-emulator"
PIN="gcloud-tasks-emulator==0.6.2"

install() {
  if [[ -x "$EXE" ]] && "$VENV/bin/python" -c 'import gcloud_tasks_emulator' 2>/dev/null; then
    return 0
  fi
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PIN" >&2
}

case "${1:-}" in
  install) install ;;
  path) install; echo "$EXE" ;;
  start)
    [[ -n "${2:-}" ]] || { echo "usage: $0 start PORT [emulator options]" >&2; exit 2; }
    install
    port="$2"; shift 2
    export PYTHONWARNINGS="ignore::FutureWarning"
    exec "$EXE" start --port="$port" "$@"
    ;;
  *) echo "usage: $0 install | path | start PORT [emulator options]" >&2; exit 2 ;;
esac
