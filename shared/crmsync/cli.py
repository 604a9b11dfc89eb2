"""``python -m crmsync sync``: run one sync of one connection against configured
endpoints, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import vault_cli
from .crm.port import CrmAuthError, CrmError
from .crm.rest import RestCrmConnector
from .errors import CrmSyncError, NeedsReauth, TransientError
from .google.client import Endpoint
from .model.kinds import Kind
from .model.settings import ContactOptions, SyncSettings
from .model.state import Connection
from .services.admin_config import load_admin_config
from .services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, RunSummary, sync_connection
from .services.run_words import kind_name, write_sentences
from .services.vault_migration import MigrationError
from .store.contract import StateStore as FullStore
from .store.contract import StoreError
from .vault.port import VaultError

DEFAULT_STATE = Path(".local") / "cli-state.sqlite"
# The names a user may give a kind: the kinds themselves and what the pages call them.
KIND_NAMES = {
    "contacts": Kind.CONTACTS,
    "contact": Kind.CONTACTS,
    "events": Kind.EVENTS,
    "event": Kind.EVENTS,
    "calendar": Kind.EVENTS,
    "activities": Kind.EVENTS,
    "tasks": Kind.TASKS,
    "task": Kind.TASKS,
}


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def kinds_arg(text: str) -> list[Kind]:
    """``contacts,calendar,tasks`` (or events/activities for the calendar) as kinds, in order, once each."""
    kinds: list[Kind] = []
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word not in KIND_NAMES:
            raise argparse.ArgumentTypeError(f"unknown kind {word!r}: use contacts, calendar (or events), tasks")
        if KIND_NAMES[word] not in kinds:
            kinds.append(KIND_NAMES[word])
    if not kinds:
        raise argparse.ArgumentTypeError("name at least one kind: contacts, calendar, tasks")
    return kinds


class _SecretOnCommandLine(argparse.Action):
    """Refuses a secret given as an argument: every user of the machine can read a command line (``ps``,
    /proc) and it stays in the shell's history."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        env = self.metavar
        parser.error(
            f"{self.option_strings[0]} is not taken on the command line, where other users of this machine "
            f"can read it (ps) and the shell keeps it in its history: set {env} or use "
            f"{self.option_strings[0]}-file PATH (- reads standard input); the secret was not used"
        )


def _secret_option(s: argparse.ArgumentParser, flag: str, env: str, what: str, default: str | None = None) -> None:
    """A secret comes from the environment or from a file, never from the command line."""
    dest = flag.lstrip("-").replace("-", "_")
    s.add_argument(
        flag, action=_SecretOnCommandLine, metavar=env, dest=dest, default=_env(env, default), help=argparse.SUPPRESS
    )
    s.add_argument(
        f"{flag}-file",
        dest=f"{dest}_file",
        type=Path,
        metavar="PATH",
        help=f"read {what} from a file (- for standard input) [or set {env}]",
    )


def read_secrets(args: argparse.Namespace) -> None:
    """Replace each secret with the contents of its ``--…-file`` where one was given."""
    for name in ("crm_api_key", "client_secret", "refresh_token"):
        path: Path | None = getattr(args, f"{name}_file", None)
        if path is None:
            continue
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        setattr(args, name, text.strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crmsync", description="crmsync command line")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="run one sync of one connection")
    s.add_argument(
        "--crm-url", default=_env("CRMSYNC_CRM_BASE_URL"), help="CRM Sync API base URL [CRMSYNC_CRM_BASE_URL]"
    )
    _secret_option(s, "--crm-api-key", "CRMSYNC_CRM_API_KEY", "the CRM API key")
    s.add_argument("--crm-user", required=True, help="the CRM user id whose data syncs")
    s.add_argument(
        "--google-base-url",
        default=_env("CRMSYNC_GOOGLE_API_BASE"),
        help="Google API base URL (an emulator); default: real Google [CRMSYNC_GOOGLE_API_BASE]",
    )
    s.add_argument(
        "--client-id", default=_env("CRMSYNC_OAUTH_CLIENT_ID", "crmsync-local"), help="[CRMSYNC_OAUTH_CLIENT_ID]"
    )
    _secret_option(s, "--client-secret", "CRMSYNC_OAUTH_CLIENT_SECRET", "the OAuth client secret", "local-secret")
    _secret_option(s, "--refresh-token", "CRMSYNC_REFRESH_TOKEN", "the Google refresh token")
    s.add_argument("--google-email", default="", help="the Google account's e-mail (for the report)")
    s.add_argument(
        "--kinds",
        type=kinds_arg,
        default=[Kind.CONTACTS, Kind.EVENTS, Kind.TASKS],
        help="comma-separated kinds to sync: contacts, calendar (or events), tasks (default: all)",
    )
    s.add_argument("--region", default="US", help="default phone region for numbers without a country code")
    s.add_argument(
        "--store",
        choices=("file", "memory", "firestore"),
        default="firestore"
        if os.environ.get("FIRESTORE_EMULATOR_HOST") or os.environ.get("CRMSYNC_PROJECT")
        else "file",
        help="where links and cursors live: a local file (default; see --state), memory (forgotten when the "
        "command ends: every run is a first sync), firestore (default when FIRESTORE_EMULATOR_HOST or "
        "CRMSYNC_PROJECT is set)",
    )
    s.add_argument(
        "--state",
        type=Path,
        default=Path(_env("CRMSYNC_STATE_FILE") or DEFAULT_STATE),
        help=f"the local state file of --store file (default {DEFAULT_STATE}) [CRMSYNC_STATE_FILE]",
    )
    s.add_argument("--json", action="store_true", help="print the run summary as JSON instead of a table")
    s.add_argument(
        "--dry-run",
        action="store_true",
        help="preview: list both sides and say what a sync would create, update, delete, pair and skip; write nothing",
    )
    s.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    vault_cli.add_parser(sub)
    return p


def _store(kind: str, state: Path) -> FullStore:
    if kind == "memory":
        from .store.memory import MemoryStore

        return MemoryStore()
    if kind == "file":
        from .store.sqlite import SqliteStore

        return SqliteStore(state)
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from .store.firestore import FirestoreStore

    project = os.environ.get("CRMSYNC_PROJECT", "crmsync-local")
    creds = AnonymousCredentials() if os.environ.get("FIRESTORE_EMULATOR_HOST") else None  # type: ignore[no-untyped-call]
    return FirestoreStore(firestore.Client(project=project, credentials=creds))


def _table(summary: RunSummary) -> Table:
    table = Table(title=f"crmsync run {summary.run_id} ({summary.duration_s:.1f} s)")
    for col in (
        "kind",
        "listed in Google",
        "listed in the CRM",
        "changes",
        "conflicts",
        "skipped",
        "errors",
        "complete",
    ):
        table.add_column(
            col, justify="right" if col.startswith(("listed", "conflicts", "skipped", "errors")) else "left"
        )
    for kind, rep in summary.kinds.items():
        listed = rep.get("listed", {})
        table.add_row(
            kind_name(kind),
            str(listed.get("google", "-")),
            str(listed.get("crm", "-")),
            "\n".join(write_sentences(kind, rep.get("writes", {}))) or "no changes",
            str(len(rep.get("conflicts", []))),
            str(len(rep.get("notes", []))),
            str(len(rep.get("errors", []))),
            "yes" if rep.get("complete") else f"no: {rep.get('stopped') or 'continues next run'}",
        )
    return table


def connection_id(args: argparse.Namespace) -> str:
    """The CLI's connection id: one per CRM, CRM user, Google endpoint and account (never shared by two)."""
    key = "\n".join((args.crm_url or "", args.crm_user, args.google_base_url or "google", args.google_email.lower()))
    return "cli-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def run_sync(args: argparse.Namespace, console: Console) -> int:
    read_secrets(args)
    missing = [n for n in ("crm_url", "crm_api_key", "refresh_token") if not getattr(args, n)]
    if missing:
        names = ", ".join("--" + m.replace("_", "-") + ("" if m == "crm_url" else "-file") for m in missing)
        console.print(f"[red]missing: {names}[/red] (or their environment variables; see --help)")
        return 2
    kinds: list[Kind] = args.kinds
    conn = Connection(
        id=connection_id(args),
        crm_user_id=args.crm_user,
        google_subject="",
        google_email=args.google_email,
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(contact_options=ContactOptions(default_region=args.region.upper())),
        created_at=datetime.now(UTC),
    )
    store = _store(args.store, args.state)
    deps = RunDeps(
        store,
        RestCrmConnector(args.crm_url, args.crm_api_key),
        GoogleAccess(Endpoint(args.google_base_url), args.client_id, args.client_secret),
        lambda: datetime.now(UTC),
        field_mapping=load_admin_config(store).field_mapping,  # the admin's, when the store is the deployment's
    )
    if args.dry_run:
        return _preview(conn, args, deps, kinds, console)
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
        except _caught(_RUN_FAILURES) as err:
            return _failed(err, _RUN_FAILURES, console)
    refused = next((r for r in summary.kinds.values() if str(r.get("alert", "")).startswith("crm.")), None)
    if refused is not None:  # the CRM refused the key or user (an operator alert): nothing synced
        console.print(f"[red]the CRM refused the API key or user:[/red] {escape(str(refused['stopped']))}")
        return 3
    if args.json:
        console.print_json(json.dumps(summary.as_dict()))
    else:
        console.print(_table(summary))
        if args.store == "file":
            console.print(f"[dim]state kept in {args.state} (the next run continues from it)[/dim]")
    return 0 if summary.complete else 4


# What a failed run prints and exits with, most specific first (the first match wins).
_Failure = tuple[type[Exception], str, int]
_REFUSALS: tuple[_Failure, ...] = (
    (NeedsReauth, "[red]Google refused the refresh token:[/red]", 3),
    (CrmAuthError, "[red]the CRM refused the API key or user:[/red]", 3),
)
_RUN_FAILURES: tuple[_Failure, ...] = (
    *_REFUSALS,
    (TransientError, "[yellow]temporary failure, run again later:[/yellow]", 75),
    (CrmSyncError, "[red]sync failed:[/red]", 1),
)


def _caught(failures: tuple[_Failure, ...]) -> tuple[type[Exception], ...]:
    """The exception types a table of failures handles."""
    return tuple(kind for kind, _, _ in failures)


def _failed(err: Exception, failures: tuple[_Failure, ...], console: Console) -> int:
    """Print the failure's one line and return its exit code."""
    for kind, words, code in failures:
        if isinstance(err, kind):
            console.print(f"{words} {escape(str(err))}")
            return code
    raise err


def _preview(conn: Connection, args: argparse.Namespace, deps: RunDeps, kinds: list[Kind], console: Console) -> int:
    from .services.preview_run import preview_connection

    try:
        found = preview_connection(conn, args.refresh_token, deps, kinds)
    except _caught(_REFUSALS) as err:
        return _failed(err, _REFUSALS, console)
    if args.json:
        console.print_json(json.dumps({"dry_run": True, "kinds": found}))
        return 0
    table = Table(title="crmsync dry run: what a sync would do (nothing was written)")
    for col in ("kind", "listed in Google", "listed in the CRM", "a sync would write", "paired", "skipped"):
        table.add_column(col)
    for kind, p in found.items():
        table.add_row(
            kind_name(kind),
            str(p["listed"]["google"]),
            str(p["listed"]["crm"]),
            "\n".join(write_sentences(kind, p["writes"])) or "nothing",
            str(p["paired_count"]),
            str(len(p["skipped"])),
        )
    console.print(table)
    for kind, p in found.items():
        for pair in p["paired"]:
            by = f" by {pair['by']}" if pair.get("by") else ""
            console.print(
                f"  {kind_name(kind)}: would pair {escape(pair['name'] or pair['crm_id'])}{by}", highlight=False
            )
        for note in p["skipped"]:
            console.print(f"  {kind_name(kind)}: skipped {escape(note)}", highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    try:
        if args.command == "sync":
            return run_sync(args, console)
        if args.command == "vault":
            return vault_cli.run(args, console)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]: what was written is kept; the next run continues")
        return 130
    except (CrmError, CrmSyncError, StoreError, OSError, VaultError, MigrationError) as error:
        if args.debug:
            raise
        err.print(f"[red]crmsync:[/red] {type(error).__name__}: {escape(str(error))}", markup=True, highlight=False)
        return 1
    except Exception as error:  # the last resort: a message, the traceback only when asked for
        if args.debug:
            raise
        err.print(
            f"[red]crmsync: unexpected error[/red] {type(error).__name__}: {escape(str(error))}\n"
            "Run again with --debug for the traceback, and please report it.",
            highlight=False,
        )
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
