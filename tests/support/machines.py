"""The harness the three sync state machines (contacts, events, tasks) share: the connector and
link-store wrappers that make runs replayable and observable, the settings every machine runs
with, and the convergence loop. The lost-edit oracle they share is tests/support/oracle.py. What
is kind-specific (worlds, fields, moves that make an edit moot) stays with each machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from hypothesis import Phase, settings

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Record
from crmsync.crm.port import BulkCreate, BulkOp, BulkResult, ChangePage, CrmTransient
from crmsync.errors import TransientError
from crmsync.model.link import Link


def machine_settings(steps: int) -> settings:
    """A machine's settings: the active profile's (derandomised in ``ci``), ``steps`` rules per
    example, one bug reported, no explain phase (it replays too slowly)."""
    return settings(
        settings(),
        stateful_step_count=steps,
        report_multiple_bugs=False,
        phases=[p for p in Phase if p is not Phase.explain],
    )


def realistic_settings(plain: settings) -> settings:
    """The realistic variant's settings: the plain machine's, half the examples (each is slower)."""
    return settings(plain, max_examples=max(1, settings().max_examples // 2))


def converge(
    world: Any, on_report: Callable[[Any], None], max_runs: int = 6, between: Callable[[], None] | None = None
) -> int:
    """Sync until two consecutive runs are complete and write nothing; the number of runs.
    Fails (AssertionError) if that takes more than ``max_runs``. ``between`` runs after each run
    that is not the last (e.g. time passing)."""
    quiet = 0
    for n in range(1, max_runs + 1):
        try:
            report = world.sync()
        except TransientError as err:
            raise AssertionError(f"a sync with no injected failures failed: {err}") from err
        on_report(report)
        quiet = quiet + 1 if report.complete and not report.writes else 0
        if quiet == 2:
            return n
        if between is not None:
            between()
    raise AssertionError(f"no two quiet syncs within {max_runs} runs (last report: {report.as_dict()})")


class StableIdCrm:
    """The CRM fake with ids handed out in order of appearance (``con_0001``...), so a run
    replays exactly (the fake itself draws random ids); it only renames, nothing else."""

    def __init__(self, crm: FakeCrm) -> None:
        self.crm = crm
        self._stable: dict[str, str] = {}
        self._real: dict[str, str] = {}

    def stable(self, real: str) -> str:
        if real not in self._stable:
            sid = f"{real.split('_')[0]}_{len(self._stable) + 1:04d}"
            self._stable[real], self._real[sid] = sid, real
        return self._stable[real]

    def real(self, sid: str) -> str:
        return self._real.get(sid, sid)

    def _rec(self, rec: Any) -> Any:
        return None if rec is None else rec.model_copy(update={"id": self.stable(rec.id)})

    def changes(self, kind: Any, cursor: str | None, **kw: Any) -> ChangePage:
        page = self.crm.changes(kind, cursor, **kw)
        items = [replace(c, id=self.stable(c.id), record=self._rec(c.record)) for c in page.items]
        return replace(page, items=items)

    def get(self, kind: Any, record_id: str, **kw: Any) -> Record:
        return self._rec(self.crm.get(kind, self.real(record_id), **kw))  # type: ignore[no-any-return]

    def get_many(self, kind: Any, ids: Sequence[str], **kw: Any) -> list[Record]:
        return [self._rec(r) for r in self.crm.get_many(kind, [self.real(i) for i in ids], **kw)]

    def create(self, kind: Any, record: Any, idempotency_key: str, **kw: Any) -> Record:
        return self._rec(self.crm.create(kind, record, idempotency_key, **kw))  # type: ignore[no-any-return]

    def update(self, kind: Any, record_id: str, patch: Mapping[str, Any], if_match: int, **kw: Any) -> Record:
        return self._rec(self.crm.update(kind, self.real(record_id), patch, if_match, **kw))  # type: ignore[no-any-return]

    def delete(self, kind: Any, record_id: str, if_match: int, **kw: Any) -> None:
        self.crm.delete(kind, self.real(record_id), if_match, **kw)

    def bulk(self, kind: Any, ops: Sequence[BulkOp], **kw: Any) -> list[BulkResult]:
        real_ops = [op if isinstance(op, BulkCreate) else replace(op, id=self.real(op.id)) for op in ops]
        return [
            replace(r, record=self._rec(r.record), error=self._err(r.error))
            for r in self.crm.bulk(kind, real_ops, **kw)
        ]

    def _err(self, err: Any) -> Any:
        if err is not None and err.problem.get("record_id"):
            err.problem["record_id"] = self.stable(err.problem["record_id"])
            if err.problem.get("record"):
                err.problem["record"] = {**err.problem["record"], "id": err.problem["record_id"]}
        return err

    def __getattr__(self, name: str) -> Any:
        return getattr(self.crm, name)


class FlakyCrm:
    """A connector that fails on demand, like the network does: ``fail`` names calls
    (changes, get_many, bulk) that raise ``CrmTransient`` once each; ``bulk_lost`` makes
    the next bulk call commit and then lose its response (a dropped connection)."""

    def __init__(self, crm: StableIdCrm) -> None:
        self.crm = crm
        self.fail: list[str] = []

    def _maybe_fail(self, name: str) -> None:
        if name in self.fail:
            self.fail.remove(name)
            raise CrmTransient(f"injected 503 on {name}", status=503, retry_after=1)

    def changes(self, kind: Any, cursor: str | None, **kw: Any) -> ChangePage:
        self._maybe_fail("changes")
        return self.crm.changes(kind, cursor, **kw)

    def get_many(self, kind: Any, ids: Sequence[str], **kw: Any) -> list[Record]:
        self._maybe_fail("get_many")
        return self.crm.get_many(kind, ids, **kw)

    def bulk(self, kind: Any, ops: Sequence[BulkOp], **kw: Any) -> list[BulkResult]:
        self._maybe_fail("bulk")
        results = self.crm.bulk(kind, ops, **kw)
        if "bulk_lost" in self.fail:
            self.fail.remove("bulk_lost")
            raise CrmTransient("injected dropped connection after the bulk call committed")
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self.crm, name)


class RecordingLinks:
    """The link store, remembering every pair it was asked to save or delete: a link a run makes
    and drops again (a replayed create whose record is gone) still shows which records were one."""

    def __init__(self, links: Any) -> None:
        self.links = links
        self.ever: list[tuple[str, str]] = []

    def save_links(self, upserts: Sequence[Link], deletes: Sequence[Link]) -> None:
        self.links.save_links(upserts, deletes)
        self.ever.extend((lk.crm_id, lk.google_id) for lk in (*upserts, *deletes))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.links, name)
