"""Run the Google Workspace emulator: ``python -m infra.google_emulator --host 127.0.0.1 --port 8085``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from . import register_all
from .controls import apply_settings
from .realism import PROFILES, set_startup_profile
from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.google_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8085, help="port to bind (default 8085; 0 picks a free one)")
    parser.add_argument("--auto-approve", action="store_true", help="approve OAuth consent without showing the page")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every API call by this many milliseconds")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="plain",
        help="realistic: Google's propagation delays, short pages, sequential People writes (see realism.py)",
    )
    parser.add_argument(
        "--allow-http-push",
        action="store_true",
        help="let events.watch deliver to http:// on a loopback host (Google requires https; the local stack needs this)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    register_all()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    server = EmulatorServer(args.host, args.port)
    # Kept under "startup_settings" so POST /__emulator/reset re-applies the flags.
    startup = {"auto_approve": args.auto_approve, "latency_ms": args.latency_ms}
    server.state.extras["startup_settings"] = startup
    apply_settings(server.state, dict(startup))
    set_startup_profile(server.state, args.profile)
    if args.allow_http_push:
        from .calendar_watch import PushSettings, set_startup

        set_startup(server.state, PushSettings(allow_http_loopback=True))
    server.start()
    print(server.base_url, flush=True)  # first line: the base URL alone (port 0 picks a free port)
    print(f"Google Workspace emulator listening on {server.base_url}", flush=True)
    print(f"  People:   {server.base_url}/", flush=True)
    print(f"  Calendar: {server.base_url}/calendar/v3/", flush=True)
    print(f"  Tasks:    {server.base_url}/", flush=True)
    print(f"  OAuth:    {server.base_url}/o/oauth2/auth  token: {server.base_url}/token", flush=True)
    print(f"  Controls: {server.base_url}/__emulator/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
