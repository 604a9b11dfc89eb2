"""Move every connection's refresh token from one vault to another (``python -m crmsync vault migrate``).

Pages through all connections (newest first, any status), reads each token from the source vault and
puts it into the target, and says what it did per page. It is

- idempotent: a token the target already holds is left alone (``same``), so running it again changes
  nothing; with ``missing_only`` a token the target holds (even a different one) is never overwritten;
- resumable: after each page, the position and counts go to a small JSON progress file; a run that
  stops (Ctrl-C, a quota error) goes on from there next time; a finished run starts over when run again;
- a dry run on request: reads both sides, counts what it would copy, writes nothing (not even progress);
- with ``delete_source``, a copy proven equal in the target is deleted from the source (run it after
  the deployment reads the target: per-connection secrets are billed per version and month).

A connection whose source has no token (disconnected, or already moved and deleted) is counted as
``no_token``, never an error. A token the source cannot read (a key version gone) is counted as
``failed`` and named; the run goes on and exits non-zero at the end. A temporary failure (quota,
outage) stops the run; run it again to resume.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from crmsync.model.state import Connection, ConnectionStatus
from crmsync.store.contract import Page
from crmsync.vault.port import TokenNotFound, TokenVault, VaultError, VaultUnavailable

PAGE = 200


class ConnectionLister(Protocol):
    """The part of the store the migration reads."""

    def list_connections(
        self, status: ConnectionStatus | None = None, limit: int = 100, start_after: str | None = None
    ) -> Page[Connection]: ...


@dataclass
class MigrationCounts:
    """What a migration did (or, in a dry run, would do)."""

    seen: int = 0
    copied: int = 0  # put into the target (a dry run: would be)
    same: int = 0  # the target already held this token
    kept: int = 0  # missing_only: the target held a different token and kept it
    no_token: int = 0  # the source holds none
    deleted_from_source: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # "connection id: reason", at most 50


@dataclass
class MigrationProgress:
    """The progress file: where the last finished page ended, and the counts so far."""

    source: str
    target: str
    after: str | None = None
    pages: int = 0
    finished: bool = False
    counts: MigrationCounts = field(default_factory=MigrationCounts)

    @classmethod
    def load(cls, path: Path, source: str, target: str) -> MigrationProgress:
        """The saved progress of this source -> target migration, or a fresh start."""
        fresh = cls(source, target)
        if not path.exists():
            return fresh
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            saved = cls(
                raw["source"], raw["target"], raw.get("after"), int(raw.get("pages", 0)), bool(raw.get("finished"))
            )
            saved.counts = MigrationCounts(**raw.get("counts", {}))
        except (ValueError, KeyError, TypeError) as err:
            raise MigrationError(
                f"{path} is not a migration progress file ({err}); move it away to start over"
            ) from None
        if (saved.source, saved.target) != (source, target):
            raise MigrationError(
                f"{path} holds a migration from {saved.source} to {saved.target}; finish it or move the file away"
            )
        return fresh if saved.finished else saved

    def save(self, path: Path) -> None:
        """Write the progress atomically (a stop mid-write leaves the previous one)."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(tmp, path)


class MigrationError(Exception):
    """The migration cannot start (a progress file of another migration, an unreadable file)."""


@dataclass(frozen=True)
class MigrationPlan:
    source_name: str
    target_name: str
    progress_file: Path
    dry_run: bool = False
    missing_only: bool = False
    delete_source: bool = False
    page_size: int = PAGE


def migrate(
    store: ConnectionLister,
    source: TokenVault,
    target: TokenVault,
    plan: MigrationPlan,
    on_page: Callable[[MigrationProgress], None] = lambda progress: None,
) -> MigrationProgress:
    """Copy every connection's token from ``source`` to ``target`` (see the module's doc)."""
    if plan.dry_run:
        progress = MigrationProgress(plan.source_name, plan.target_name)
    else:
        progress = MigrationProgress.load(plan.progress_file, plan.source_name, plan.target_name)
    while True:
        page = store.list_connections(None, plan.page_size, progress.after)
        for conn in page.items:
            _move(conn.id, source, target, plan, progress.counts)
        progress.pages += 1
        progress.after = page.next_cursor
        progress.finished = page.next_cursor is None
        if not plan.dry_run:
            progress.save(plan.progress_file)
        on_page(progress)
        if progress.finished:
            return progress


def _move(cid: str, source: TokenVault, target: TokenVault, plan: MigrationPlan, counts: MigrationCounts) -> None:
    counts.seen += 1
    try:
        token = source.get(cid)
    except TokenNotFound:
        counts.no_token += 1
        return
    except VaultUnavailable:
        raise  # temporary (quota, outage): stop; the next run resumes at the last finished page
    except VaultError as err:
        _failed(counts, cid, f"reading the source: {err}")
        return
    try:
        held: str | None = target.get(cid)
    except TokenNotFound:
        held = None
    except VaultUnavailable:
        raise
    except VaultError as err:
        if not plan.missing_only:
            held = None  # unreadable in the target (e.g. sealed with a key since removed): overwrite it
        else:
            _failed(counts, cid, f"reading the target: {err}")
            return
    if held == token:
        counts.same += 1
    elif held is not None and plan.missing_only:
        counts.kept += 1
        return  # never delete a source token the target does not hold
    else:
        counts.copied += 1
        if not plan.dry_run:
            try:
                target.put(cid, token)
            except VaultUnavailable:
                raise
            except VaultError as err:
                counts.copied -= 1
                _failed(counts, cid, f"writing the target: {err}")
                return
    if plan.delete_source:
        counts.deleted_from_source += 1
        if not plan.dry_run:
            source.delete(cid)


def _failed(counts: MigrationCounts, cid: str, why: str) -> None:
    counts.failed += 1
    if len(counts.failures) < 50:
        counts.failures.append(f"{cid}: {why}"[:300])


class Resealer(Protocol):
    """The envelope vault's part the reseal needs."""

    def reencrypt(self, connection_ids: Iterable[str]) -> int: ...


@dataclass
class ResealCounts:
    """What a reseal did."""

    seen: int = 0
    resealed: int = 0
    pages: int = 0


def reseal(
    store: ConnectionLister,
    vault: Resealer,
    page_size: int = PAGE,
    on_page: Callable[[ResealCounts], None] = lambda counts: None,
) -> ResealCounts:
    """Seal every token again under the envelope vault's current data key (after adding a version), so the
    older versions can be disabled. Idempotent: a token already under the current key is left alone."""
    counts = ResealCounts()
    after: str | None = None
    while True:
        page = store.list_connections(None, page_size, after)
        counts.seen += len(page.items)
        counts.resealed += vault.reencrypt(c.id for c in page.items)
        counts.pages += 1
        on_page(counts)
        if page.next_cursor is None:
            return counts
        after = page.next_cursor
