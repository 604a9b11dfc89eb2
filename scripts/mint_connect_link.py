"""Mint a signed connect link (or, with --settings, a settings link) for a CRM user and print it.

    python scripts/mint_connect_link.py --crm-user user1@crm.example [--ttl 15m] [--settings]

``--crm-user`` is the CRM user's id or e-mail address (an e-mail is looked up in the CRM).
Reads CRMSYNC_LINK_SIGNING_KEY, CRMSYNC_BASE_URL and (to look users up) CRMSYNC_CRM_BASE_URL and
CRMSYNC_CRM_API_KEY from the environment; what is not set there comes from the running local stack
(``make run`` writes .local/secrets.json and .local/stack.json), or from a KEY=VALUE file (--env-file).
"""

from __future__ import annotations

import argparse
import json
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


def stack_env(local: Path) -> dict[str, str]:
    """The settings of the local stack (``make run``): its keys and URLs ({} when it never ran)."""
    env: dict[str, str] = {}
    for name, mapping in (
        ("secrets.json", {"link_key": "CRMSYNC_LINK_SIGNING_KEY", "crm_key": "CRMSYNC_CRM_API_KEY"}),
        ("stack.json", {"web": "CRMSYNC_BASE_URL", "crm": "CRMSYNC_CRM_BASE_URL"}),
    ):
        try:
            data = json.loads((local / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            env |= {var: str(data[key]) for key, var in mapping.items() if data.get(key)}
    return env


def resolve_user(crm_user: str, env: Mapping[str, str]) -> str:
    """The CRM user id for an id or e-mail, checked against the CRM when one is configured."""
    crm, key = env.get("CRMSYNC_CRM_BASE_URL"), env.get("CRMSYNC_CRM_API_KEY")
    if not crm or not key:
        if "@" in crm_user:
            raise SystemExit(
                f"--crm-user {crm_user}: looking an e-mail up needs the CRM (CRMSYNC_CRM_BASE_URL and "
                "CRMSYNC_CRM_API_KEY, or a running `make run`); or pass the user's id"
            )
        return crm_user
    from crmsync.crm.port import CrmError, CrmNotFound
    from crmsync.crm.rest import RestCrmConnector

    connector = RestCrmConnector(crm, key, max_attempts=1, timeout=(3.05, 10.0))
    try:
        user = connector.user_by_email(crm_user) if "@" in crm_user else connector.user(crm_user)
    except CrmNotFound:
        user = None
    except CrmError as err:
        if "@" in crm_user:
            raise SystemExit(f"--crm-user {crm_user}: the CRM at {crm} did not answer ({err})") from None
        return crm_user  # the CRM is not running: trust the id
    if user is None:
        raise SystemExit(f"--crm-user {crm_user}: the CRM at {crm} has no such user (give an id or e-mail)")
    return user.id


def mint_link(
    crm_user: str, ttl: timedelta, env: Mapping[str, str], now: datetime, purpose: LinkPurpose = LinkPurpose.CONNECT
) -> str:
    """The full connect (or settings) URL for the CRM user."""
    key, base = env.get("CRMSYNC_LINK_SIGNING_KEY"), env.get("CRMSYNC_BASE_URL")
    if not key:
        raise SystemExit("CRMSYNC_LINK_SIGNING_KEY is not set (environment, or run `make run` first)")
    if not base:
        raise SystemExit("CRMSYNC_BASE_URL is not set (environment, or run `make run` first)")
    try:
        token = mint_link_token(key.encode(), crm_user, purpose, ttl, now)
    except KeyTooShort as err:
        raise SystemExit(f"CRMSYNC_LINK_SIGNING_KEY: {err}") from None
    path = "/connect" if purpose is LinkPurpose.CONNECT else "/settings"
    return f"{base.rstrip('/')}{path}?{urlencode({'t': token})}"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, print the link."""
    parser = argparse.ArgumentParser(description="Print a signed crmsync connect link for a CRM user.")
    parser.add_argument("--crm-user", required=True, help="the CRM user (id or e-mail) the link is for")
    parser.add_argument("--ttl", type=parse_ttl, default=timedelta(minutes=15), help="validity, e.g. 15m (default)")
    parser.add_argument("--settings", action="store_true", help="a settings link (for a user already connected)")
    parser.add_argument("--env-file", type=Path, help="a KEY=VALUE file with the settings (instead of the stack's)")
    parser.add_argument("--local-dir", type=Path, default=ROOT / ".local", help="the local stack's directory")
    args = parser.parse_args(argv)
    if not args.crm_user.strip():
        parser.error("--crm-user must not be empty")
    fallback = local_env(args.env_file) if args.env_file else stack_env(args.local_dir)
    env = {**fallback, **os.environ}
    user_id = resolve_user(args.crm_user.strip(), env)
    purpose = LinkPurpose.SETTINGS if args.settings else LinkPurpose.CONNECT
    print(mint_link(user_id, args.ttl, env, datetime.now(UTC), purpose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
