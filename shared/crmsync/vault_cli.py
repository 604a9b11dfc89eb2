"""``python -m crmsync vault migrate --from secret-manager --to envelope``: move the refresh tokens between
the per-connection Secret Manager vault and the envelope vault (either way); see docs/deploy.md.

Reads CRMSYNC_PROJECT, CRMSYNC_SECRET_PREFIX and CRMSYNC_DATA_KEY_SECRET as the functions do (flags
override them); Firestore and Secret Manager through Application Default Credentials.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from .services.vault_migration import MigrationPlan, MigrationProgress, ResealCounts, migrate, reseal
from .vault.port import TokenVault

VAULTS = ("secret-manager", "envelope")


def add_parser(sub: Any) -> None:
    """Add ``vault migrate`` to the command line's sub-commands."""
    v = sub.add_parser("vault", help="token vault maintenance")
    vsub = v.add_subparsers(dest="vault_command", required=True)
    m = vsub.add_parser(
        "migrate",
        help="move every connection's refresh token from one vault to the other (idempotent, resumable)",
    )
    m.add_argument("--from", dest="source", choices=VAULTS, required=True, help="the vault the tokens are in now")
    m.add_argument("--to", dest="target", choices=VAULTS, required=True, help="the vault to move them to")
    m.add_argument("--dry-run", action="store_true", help="count what would be copied; write nothing")
    m.add_argument(
        "--missing-only",
        action="store_true",
        help="copy only tokens the target does not hold (the pass after switching the deployment)",
    )
    m.add_argument(
        "--delete-source",
        action="store_true",
        help="delete each token from the source once the target holds the same (after the switch)",
    )
    m.add_argument("--page-size", type=int, default=200, help="connections per page (1-1000)")
    m.add_argument(
        "--progress-file",
        type=Path,
        default=Path(".crmsync-vault-migration.json"),
        help="where the position is kept between runs (resumes from it; a finished one starts over)",
    )
    m.add_argument("--secret-prefix", default=os.environ.get("CRMSYNC_SECRET_PREFIX") or "crmsync-rt-")
    _place_options(m)
    r = vsub.add_parser(
        "reseal",
        help="seal every token in the envelope vault again under the current data key (after a rotation)",
    )
    r.add_argument("--page-size", type=int, default=200, help="connections per page (1-1000)")
    _place_options(r)


def _place_options(p: Any) -> None:
    p.add_argument("--project", default=os.environ.get("CRMSYNC_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT"))
    p.add_argument("--data-key-secret", default=(os.environ.get("CRMSYNC_DATA_KEY_SECRET") or "").strip() or None)
    p.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")


def run(args: argparse.Namespace, console: Console, *, secret_manager: Any = None, firestore_client: Any = None) -> int:
    """Run ``vault migrate`` or ``vault reseal``; the clients are built from the environment unless given (tests)."""
    if args.vault_command == "reseal":
        return _reseal(args, console, secret_manager, firestore_client)
    if args.source == args.target:
        console.print("crmsync: --from and --to name the same vault; nothing to do")
        return 2
    if not 1 <= args.page_size <= 1000:
        console.print("crmsync: --page-size must be 1-1000")
        return 2
    if not args.project:
        console.print("crmsync: set CRMSYNC_PROJECT (or --project): the project of the Firestore database")
        return 2
    if "envelope" in (args.source, args.target) and not args.data_key_secret:
        console.print("crmsync: set CRMSYNC_DATA_KEY_SECRET (or --data-key-secret): the envelope vault's data key")
        return 2
    from google.cloud import firestore, secretmanager

    from .store.firestore import FirestoreStore

    store = FirestoreStore(firestore_client or firestore.Client(project=args.project))
    sm = secret_manager or secretmanager.SecretManagerServiceClient()

    def vault(name: str) -> TokenVault:
        if name == "envelope":
            from .vault.data_keys import SecretManagerDataKeys
            from .vault.envelope import EnvelopeVault

            return EnvelopeVault(store, SecretManagerDataKeys(sm, args.project, args.data_key_secret))
        from .vault.secret_manager import SecretManagerVault

        return SecretManagerVault(sm, args.project, args.secret_prefix)

    plan = MigrationPlan(
        args.source,
        args.target,
        args.progress_file,
        dry_run=args.dry_run,
        missing_only=args.missing_only,
        delete_source=args.delete_source,
        page_size=args.page_size,
    )
    what = "dry run: " if args.dry_run else ""
    console.print(f"{what}moving refresh tokens from {args.source} to {args.target} (project {args.project})")

    def page(progress: MigrationProgress) -> None:
        console.print(f"page {progress.pages}: {_counts(progress)}", highlight=False)

    done = migrate(store, vault(args.source), vault(args.target), plan, page)
    console.print(f"{what}done: {_counts(done)}", highlight=False)
    for failure in done.counts.failures:
        console.print(f"  failed: {failure}", highlight=False)
    return 1 if done.counts.failed else 0


def _counts(progress: MigrationProgress) -> str:
    c = progress.counts
    parts = [
        f"{c.seen} connections",
        f"{c.copied} copied",
        f"{c.same} already there",
        f"{c.no_token} without a token",
    ]
    parts += [f"{c.kept} kept (target differs)"] if c.kept else []
    parts += [f"{c.deleted_from_source} deleted from {progress.source}"] if c.deleted_from_source else []
    parts += [f"{c.failed} failed"] if c.failed else []
    return ", ".join(parts)


def _reseal(args: argparse.Namespace, console: Console, secret_manager: Any, firestore_client: Any) -> int:
    if not 1 <= args.page_size <= 1000:
        console.print("crmsync: --page-size must be 1-1000")
        return 2
    if not args.project or not args.data_key_secret:
        console.print("crmsync: set CRMSYNC_PROJECT and CRMSYNC_DATA_KEY_SECRET (or --project, --data-key-secret)")
        return 2
    from google.cloud import firestore, secretmanager

    from .store.firestore import FirestoreStore
    from .vault.data_keys import SecretManagerDataKeys
    from .vault.envelope import EnvelopeVault

    store = FirestoreStore(firestore_client or firestore.Client(project=args.project))
    keys = SecretManagerDataKeys(
        secret_manager or secretmanager.SecretManagerServiceClient(), args.project, args.data_key_secret
    )
    version = keys.current()[0]
    console.print(f"sealing every token under data key version {version} (project {args.project})")

    def page(counts: ResealCounts) -> None:
        console.print(
            f"page {counts.pages}: {counts.seen} connections, {counts.resealed} sealed again", highlight=False
        )

    done = reseal(store, EnvelopeVault(store, keys), args.page_size, page)
    console.print(
        f"done: {done.seen} connections, {done.resealed} sealed again under version {version}; "
        "older versions can now be disabled (run this at least 5 minutes after adding the version: "
        "warm instances seal with the version they read up to 5 minutes before)",
        highlight=False,
    )
    return 0
