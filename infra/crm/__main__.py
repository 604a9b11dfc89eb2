"""Run the reference CRM: ``python -m infra.crm --db crm.sqlite --host 127.0.0.1 --port 8090 --api-key KEY``.

The first line on stdout is the base URL (useful with ``--port 0``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading

from crmsync.crm.models import KINDS, Capabilities

from .change_hooks import ChangeNotifier
from .server import CrmServer


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.crm", description="Reference CRM implementing the CRM Sync API v1 on SQLite."
    )
    parser.add_argument("--db", required=True, help="SQLite file (created if missing; survives restarts)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090; 0 picks a free one)")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("CRM_API_KEY", "dev-crm-key"),
        help="bearer API key clients must send (default $CRM_API_KEY or dev-crm-key)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=KINDS,
        help="play a CRM without this kind (declared in GET /capabilities; its endpoints are 404)",
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("CRM_WEBHOOK_URL") or None,
        help="send signed change notifications here (crmsync's <web url>/crm/changes; default $CRM_WEBHOOK_URL); "
        "the secret comes from $CRM_WEBHOOK_SECRET, never the command line",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    caps = Capabilities(kinds=[k for k in KINDS if k not in args.without], custom_fields=True, notifications=True)
    notifier = None
    if args.webhook_url:
        secret = os.environ.get("CRM_WEBHOOK_SECRET", "")
        if len(secret) < 32:
            parser.error("--webhook-url needs CRM_WEBHOOK_SECRET (at least 32 characters) in the environment")
        notifier = ChangeNotifier(args.webhook_url, secret.encode())
    server = CrmServer(args.db, args.host, args.port, args.api_key, caps, notifier).start()
    print(server.base_url, flush=True)
    print(f"reference CRM: db={args.db} contract={server.base_url}/openapi.yaml", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
