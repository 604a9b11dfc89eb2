"""``python -m crmsync sync``: run one sync of one connection against configured
endpoints, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .crm.rest import RestCrmConnector
from .errors import CrmSyncError, NeedsReauth, TransientError
from .google.client import Endpoint
from .model.kinds import Kind
from .model.settings import ContactOptions, SyncSettings
from .model.state import Connection
from .services import kinds as _all_kinds  # noqa: F401  (registers every kind)
from .services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, RunSummary, StateStore, sync_connection


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crmsync", description="crmsync command line")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="run one sync of one connection")
    s.add_argument(
        "--crm-url", default=_env("CRMSYNC_CRM_BASE_URL"), help="CRM Sync API base URL [CRMSYNC_CRM_BASE_URL]"
    )
    s.add_argument("--crm-api-key", default=_env("CRMSYNC_CRM_API_KEY"), help="CRM API key [CRMSYNC_CRM_API_KEY]")
    s.add_argument("--crm-user", required=True, help="the CRM user id whose data syncs")
    s.add_argument(
        "--google-base-url",
        default=_env("CRMSYNC_GOOGLE_API_BASE"),
        help="Google API base URL (an emulator); default: real Google [CRMSYNC_GOOGLE_API_BASE]",
    )
    s.add_argument(
        "--client-id", default=_env("CRMSYNC_OAUTH_CLIENT_ID", "crmsync-local"), help="[CRMSYNC_OAUTH_CLIENT_ID]"
    )
    s.add_argument(
        "--client-secret",
        default=_env("CRMSYNC_OAUTH_CLIENT_SECRET", "local-secret"),
        help="[CRMSYNC_OAUTH_CLIENT_SECRET]",
    )
    s.add_argument(
        "--refresh-token",
        default=_env("CRMSYNC_REFRESH_TOKEN"),
        help="the Google refresh token [CRMSYNC_REFRESH_TOKEN]",
    )
    s.add_argument("--google-email", default="", help="the Google account's e-mail (for the report)")
    s.add_argument("--kinds", default="contacts,events,tasks", help="comma-separated kinds to sync (default: all)")
    s.add_argument("--region", default="US", help="default phone region for numbers without a country code")
    s.add_argument(
        "--store",
        choices=("memory", "firestore"),
        default="firestore"
        if os.environ.get("FIRESTORE_EMULATOR_HOST") or os.environ.get("CRMSYNC_PROJECT")
        else "memory",
        help="where links and cursors live (firestore needs FIRESTORE_EMULATOR_HOST or CRMSYNC_PROJECT)",
    )
    s.add_argument("--json", action="store_true", help="print the run summary as JSON instead of a table")
    return p


def _store(kind: str) -> StateStore:
    if kind == "memory":
        from .store.memory import MemoryStore

        return MemoryStore()
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from .store.firestore import FirestoreStore

    project = os.environ.get("CRMSYNC_PROJECT", "crmsync-local")
    creds = AnonymousCredentials() if os.environ.get("FIRESTORE_EMULATOR_HOST") else None  # type: ignore[no-untyped-call]
    return FirestoreStore(firestore.Client(project=project, credentials=creds))


def _table(summary: RunSummary) -> Table:
    table = Table(title=f"crmsync run {summary.run_id} ({summary.duration_s:.1f} s)")
    for col in ("kind", "listed google", "listed crm", "→ google", "→ crm", "conflicts", "notes", "errors", "complete"):
        table.add_column(col, justify="right" if col not in ("kind", "complete") else "left")
    for kind, rep in summary.kinds.items():
        writes: dict[str, int] = rep.get("writes", {})
        to_google = ", ".join(f"{k.split('.')[1]} {v}" for k, v in writes.items() if k.startswith("google.")) or "-"
        to_crm = ", ".join(f"{k.split('.')[1]} {v}" for k, v in writes.items() if k.startswith("crm.")) or "-"
        listed = rep.get("listed", {})
        table.add_row(
            kind,
            str(listed.get("google", "-")),
            str(listed.get("crm", "-")),
            to_google,
            to_crm,
            str(len(rep.get("conflicts", []))),
            str(len(rep.get("notes", []))),
            str(len(rep.get("errors", []))),
            "yes" if rep.get("complete") else f"no {rep.get('stopped', '')}",
        )
    return table


def run_sync(args: argparse.Namespace, console: Console) -> int:
    missing = [n for n in ("crm_url", "crm_api_key", "refresh_token") if not getattr(args, n)]
    if missing:
        console.print(
            f"[red]missing: {', '.join('--' + m.replace('_', '-') for m in missing)}[/red] (or their environment variables; see --help)"
        )
        return 2
    kinds = [Kind(k.strip()) for k in args.kinds.split(",") if k.strip()]
    conn = Connection(
        id="cli-" + hashlib.sha256(args.crm_user.encode()).hexdigest()[:20],
        crm_user_id=args.crm_user,
        google_subject="",
        google_email=args.google_email,
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(contact_options=ContactOptions(default_region=args.region.upper())),
        created_at=datetime.now(UTC),
    )
    deps = RunDeps(
        _store(args.store),
        RestCrmConnector(args.crm_url, args.crm_api_key),
        GoogleAccess(Endpoint(args.google_base_url), args.client_id, args.client_secret),
        lambda: datetime.now(UTC),
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(kind: Kind, phase: str, done: int, total: int) -> None:
            key = f"{kind.value}: {phase}"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=max(total, 1))
            bar.update(tasks[key], completed=done, total=max(total, 1))

        try:
            summary = sync_connection(conn, args.refresh_token, deps, progress=progress, kinds=kinds)
        except NeedsReauth as err:
            console.print(f"[red]Google refused the refresh token:[/red] {err}")
            return 3
        except TransientError as err:
            console.print(f"[yellow]temporary failure, run again later:[/yellow] {err}")
            return 75
        except CrmSyncError as err:
            console.print(f"[red]sync failed:[/red] {err}")
            return 1
    if args.json:
        console.print_json(json.dumps(summary.as_dict()))
    else:
        console.print(_table(summary))
    return 0 if summary.complete else 4


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)
    if args.command == "sync":
        return run_sync(args, console)
    return 2


if __name__ == "__main__":
    sys.exit(main())
