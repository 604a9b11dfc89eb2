"""Mint a signed connect link (or, with --settings, a settings link) for a CRM user and print it.

    python scripts/mint_connect_link.py --crm-user u1 [--ttl 15m] [--settings]

Reads CRMSYNC_LINK_SIGNING_KEY and CRMSYNC_BASE_URL from the environment, or from the local
stack's config file (.local/env, KEY=VALUE lines) when they are not set.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "shared"))

from crmsync.security.errors import KeyTooShort  # noqa: E402
from crmsync.security.links import MAX_LIFETIME, LinkPurpose, mint_link_token  # noqa: E402

_TTL = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_TTL = MAX_LIFETIME  # the server refuses links valid for longer


def parse_ttl(text: str) -> timedelta:
    """'90s', '15m' or the like as a timedelta (at most 15 minutes: the server refuses longer-lived links)."""
    match = _TTL.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"--ttl must look like 90s, 15m, 2h or 1d, got {text!r}")
    ttl = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if ttl > MAX_TTL:
        raise argparse.ArgumentTypeError("--ttl is at most 15m: crmsync refuses links valid for longer")
    return ttl


def local_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of the local stack's config file ({} if missing)."""
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip().strip("'\"") for k, v in pairs}


def mint_link(
    crm_user: str, ttl: timedelta, env: Mapping[str, str], now: datetime, purpose: LinkPurpose = LinkPurpose.CONNECT
) -> str:
    """The full connect (or settings) URL for the CRM user."""
    key, base = env.get("CRMSYNC_LINK_SIGNING_KEY"), env.get("CRMSYNC_BASE_URL")
    if not key:
        raise SystemExit("CRMSYNC_LINK_SIGNING_KEY is not set (environment or .local/env)")
    if not base:
        raise SystemExit("CRMSYNC_BASE_URL is not set (environment or .local/env)")
    try:
        token = mint_link_token(key.encode(), crm_user, purpose, ttl, now)
    except KeyTooShort as err:
        raise SystemExit(f"CRMSYNC_LINK_SIGNING_KEY: {err}") from None
    path = "/connect" if purpose is LinkPurpose.CONNECT else "/settings"
    return f"{base.rstrip('/')}{path}?{urlencode({'t': token})}"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, print the link."""
    parser = argparse.ArgumentParser(description="Print a signed crmsync connect link for a CRM user.")
    parser.add_argument("--crm-user", required=True, help="the CRM user id the link is for")
    parser.add_argument("--ttl", type=parse_ttl, default=timedelta(minutes=15), help="validity, e.g. 15m (default)")
    parser.add_argument("--settings", action="store_true", help="a settings link (for a user already connected)")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".local" / "env", help="fallback KEY=VALUE file")
    args = parser.parse_args(argv)
    if not args.crm_user.strip():
        parser.error("--crm-user must not be empty")
    env = {**local_env(args.env_file), **os.environ}
    purpose = LinkPurpose.SETTINGS if args.settings else LinkPurpose.CONNECT
    print(mint_link(args.crm_user.strip(), args.ttl, env, datetime.now(UTC), purpose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
