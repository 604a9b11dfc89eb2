"""The world the task-sync state machine drives: the real ``GoogleTasks`` adapter and the
real Google client library talking to the Google emulator in process (no socket), the CRM
fake behind ``CrmTasks``, a link store, creation intents, the engine, and a model of what
the "user" did to judge the outcome against. The transport and the model are shared with
the event machine (``tests/unit/events/machine_events_support.py``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import google_auth_httplib2
import googleapiclient
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document

from crmsync.crm import custom_side
from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Task
from crmsync.crm.port import BulkOp, BulkResult
from crmsync.crm.tasks_side import CrmTasks, raw_task
from crmsync.errors import TransientError
from crmsync.google import tasks_custom
from crmsync.google.intents import MemoryIntentStore
from crmsync.google.tasks import GoogleTasks
from crmsync.google.tasks_mapping import GoogleTask, task_canon
from crmsync.model import custom
from crmsync.model.field_mapping import FieldMap, MappedFields, Target
from crmsync.model.kinds import Kind
from crmsync.model.link import Canon, Link
from crmsync.model.settings import KindSettings
from crmsync.model.task import TaskOptions, canonical_task, match_keys
from crmsync.ports import OpCounter
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync, RunInterrupted
from infra.google_emulator import register_all
from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_TASKS, EmulatorState
from infra.google_emulator.realism import configure
from infra.google_emulator.server import dispatch
from tests.support.machines import FlakyCrm, RecordingLinks, StableIdCrm
from tests.support.machines import converge as shared_converge
from tests.support.oracle import EditLog

USER = "u1"
EMAIL = "anna@corp.example"
BASE = "http://google.emulator.invalid"
register_all()


# ---------------------------------------------------------------- Google, in process


class WorkerCrash(BaseException):
    """The worker process died (deploy, OOM, timeout): nothing after this point runs."""


class InProcessHttp:
    """An ``httplib2.Http`` stand-in that serves each request with the emulator's own
    dispatcher (auth, batch parsing, error shapes), with faults on demand: ``fail`` names
    requests (``batch``, ``list``, ``get``, ``other``) answered 503 once per entry; ``lost``
    ones are served and then time out (the reply is lost); ``crash_after`` serves that many
    more requests normally, then serves one more and kills the worker (``WorkerCrash``)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.fail: list[str] = []
        self.lost: list[str] = []
        self.crash_after: int | None = None
        self.timeout = None

    @staticmethod
    def classify(method: str, path: str) -> str:
        if path.startswith("/batch"):
            return "batch"
        if method == "GET" and path.endswith(("/tasks", "/events", "/instances")):
            return "list"
        return "get" if method == "GET" else "other"

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        parts = urlsplit(uri)
        name = self.classify(method.upper(), parts.path)
        if name in self.fail:
            self.fail.remove(name)
            err = {"error": {"code": 503, "message": "injected", "status": "UNAVAILABLE", "errors": []}}
            return httplib2.Response({"status": "503", "content-type": "application/json"}), json.dumps(err).encode()
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        data = body.encode() if isinstance(body, str) else (body or b"")
        resp = dispatch(self.state, method, parts.path, parts.query, hdrs, data)
        if self.crash_after is not None:
            if self.crash_after <= 0:
                self.crash_after = None
                raise WorkerCrash(f"the worker died after {method} {parts.path} was served")
            self.crash_after -= 1
        if name in self.lost:
            self.lost.remove(name)
            raise TimeoutError(f"injected: the reply to {method} {parts.path} was lost")
        head = {"status": str(resp.status), **{k.lower(): v for k, v in resp.headers.items()}}
        return httplib2.Response(head), resp.body

    def clear(self) -> None:
        self.fail.clear()
        self.lost.clear()
        self.crash_after = None


@cache
def _discovery(api: str, version: str) -> str:
    root = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    return (root / f"{api}.{version}.json").read_text()


def google_service(api: str, state: EmulatorState, http: InProcessHttp) -> Any:
    """A real google-api-python-client service whose requests the emulator serves in process."""
    token = state.mint_access_token(EMAIL, frozenset({SCOPE_TASKS, SCOPE_CALENDAR}))
    authed = google_auth_httplib2.AuthorizedHttp(Credentials(token=token.token), http=http)  # type: ignore[no-untyped-call]
    endpoint = BASE + "/calendar/v3/" if api == "calendar" else BASE
    version = "v3" if api == "calendar" else "v1"
    return build_from_document(_discovery(api, version), http=authed, client_options={"api_endpoint": endpoint})


# ---------------------------------------------------------------- the CRM, flaky and mortal


class MortalCrm(FlakyCrm):
    """``FlakyCrm`` plus ``bulk_crash``: the next bulk call commits and the worker dies."""

    def bulk(self, kind: Any, ops: Sequence[BulkOp], **kw: Any) -> list[BulkResult]:
        results = super().bulk(kind, ops, **kw)
        if "bulk_crash" in self.fail:
            self.fail.remove("bulk_crash")
            raise WorkerCrash("the worker died after a CRM bulk call committed")
        return results


# ---------------------------------------------------------------- the world


# A mapped CRM custom field (a picklist, a labelled line of the Google task's notes).
PRIORITY = custom.key("priority")
PRIORITIES = (None, "Low", "High")
MAPPED = MappedFields(
    [
        FieldMap(
            field=next(f for f in REFERENCE_FIELDS["tasks"] if f.name == "priority"),
            target=Target.NOTES_LINE,
            key="Priority",
        )
    ]
)


def google_task_canon(raw: Mapping[str, Any]) -> Canon:
    """A Google task's canonical form as the adapter reads it (custom lines out of the notes)."""
    task = GoogleTask.model_validate(raw)
    notes, values = tasks_custom.split(task.notes, MAPPED)
    return {**task_canon(task.model_copy(update={"notes": notes})), **values}


class TaskWorld:
    """Both sides, the links, the creation intents and the engine between them."""

    def __init__(self, settings: KindSettings | None = None, profile: str = "plain") -> None:
        self.settings = settings or KindSettings(google_group=None)
        self.state = EmulatorState()
        configure(self.state, {"profile": profile})  # the emulator's behaviours (realism.py)
        self.http = InProcessHttp(self.state)  # the worker's connection (faults apply)
        self.service = google_service("tasks", self.state, self.http)
        self.user = google_service("tasks", self.state, InProcessHttp(self.state))  # Google's own apps
        self.list_id = str(self.user.tasklists().insert(body={"title": "CRM"}).execute()["id"])
        self.crm = FakeCrm()
        self.crm.declare_fields(REFERENCE_FIELDS)
        self.crm.add_user(EMAIL, "Anna", user_id=USER)
        self.ids = StableIdCrm(self.crm)
        self.flaky = MortalCrm(self.ids)
        self.links = RecordingLinks(MemoryStore().connection_store("conn1"))
        self.intents = MemoryIntentStore()
        self.order: dict[str, int] = {}  # Google ids in order of first sight (the emulator's ids are random)
        self._keys = 0

    def engine(self) -> KindSync:
        google = GoogleTasks(
            self.service,
            BASE + "/batch",
            options=TaskOptions(),
            intents=self.intents,
            counter=OpCounter(),
            clock=self.state.clock.now,
            sleep=lambda _: None,
            mapped=MAPPED,
        )
        crm = CrmTasks(self.flaky, "conn1", USER, self.settings, OpCounter(), mapped=MAPPED)
        clock = self.state.clock.now
        return KindSync(Kind.TASKS, crm, google, self.links, self.settings, clock=clock, match_keys=match_keys)

    def sync(self) -> KindReport:
        return self.engine().run()

    def later(self) -> None:
        """A little time passes (Google stamps ``updated`` to the millisecond; people are slower)."""
        later_by(self.state, 0.002)

    # ------------------------------------------------------------ the user, in the CRM

    def crm_create(self, body: Mapping[str, Any]) -> str:
        self._keys += 1
        return str(self.ids.create("tasks", {"owner_id": USER, **body}, f"user-{self._keys}", on_behalf_of=USER).id)

    def crm_task(self, rid: str) -> Task:
        rec = self.ids.get("tasks", rid, on_behalf_of=USER)
        assert isinstance(rec, Task)
        return rec

    def crm_update(self, rid: str, patch: Mapping[str, Any]) -> None:
        self.ids.update("tasks", rid, patch, self.crm_task(rid).version, on_behalf_of=USER)

    def crm_delete(self, rid: str) -> None:
        self.ids.delete("tasks", rid, self.crm_task(rid).version, on_behalf_of=USER)

    def crm_records(self) -> dict[str, Task]:
        page = self.ids.changes("tasks", None, on_behalf_of=USER)
        return {c.id: c.record for c in page.items if isinstance(c.record, Task)}

    def crm_live(self) -> dict[str, Canon]:
        return {
            rid: {**canonical_task(raw_task(rec)), **custom_side.read(MAPPED, rec.custom_fields)}
            for rid, rec in self.crm_records().items()
        }

    # ------------------------------------------------------------ the user, in Google (as Google's apps do)

    def google_tasks(self) -> dict[str, dict[str, Any]]:
        """Every live task of the synced list (hidden ones included), raw."""
        tasks = self.user.tasks()
        items: list[dict[str, Any]] = []
        req = tasks.list(tasklist=self.list_id, maxResults=100, showHidden=True, showCompleted=True)
        while req is not None:
            page = req.execute()
            items += page.get("items") or []
            req = tasks.list_next(req, page)
        for t in items:
            self.order.setdefault(t["id"], len(self.order))
        return {t["id"]: t for t in items}

    def google_ids(self) -> list[str]:
        """Live Google task ids in a replayable order."""
        return sorted(self.google_tasks(), key=self.order.__getitem__)

    def google_live(self) -> dict[str, Canon]:
        return {tid: google_task_canon(t) for tid, t in self.google_tasks().items()}

    def google_insert(self, body: Mapping[str, Any]) -> str:
        self.later()
        return str(self.user.tasks().insert(tasklist=self.list_id, body=dict(body)).execute()["id"])

    def google_patch(self, tid: str, body: Mapping[str, Any]) -> None:
        self.later()
        self.user.tasks().patch(tasklist=self.list_id, task=tid, body=dict(body)).execute()

    def google_delete(self, tid: str) -> None:
        self.later()
        self.user.tasks().delete(tasklist=self.list_id, task=tid).execute()

    def google_clear(self) -> None:
        """ "Clear completed": every completed task of the list becomes hidden (not deleted)."""
        self.later()
        self.user.tasks().clear(tasklist=self.list_id).execute()

    def all_links(self) -> list[Link]:
        return list(self.links.all_links(Kind.TASKS))

    def clear_failures(self) -> None:
        self.http.clear()
        self.flaky.fail.clear()


def sync_once(world: Any, model: EditLog) -> tuple[int, KindReport | None]:
    """One sync as a machine rule sees it: (run number, its report, or None when the run failed
    or the worker died — a death is remembered in the model)."""
    run = model.runs
    model.runs += 1
    try:
        return run, world.sync()
    except RunInterrupted as err:
        return run, err.report
    except WorkerCrash:
        model.crashed.append(run)
        return run, None
    except TransientError:
        return run, None


def converge(world: Any, on_report: Any, max_runs: int = 6) -> int:
    """Sync until two consecutive runs are complete and write nothing (time passes between runs)."""
    return shared_converge(world, on_report, max_runs, between=world.later)


def check_pairs(world: Any, model: EditLog, crm: Mapping[str, Canon], google: Mapping[str, Canon]) -> list[Link]:
    """The kind-independent invariants after two quiet syncs; the links."""
    links: list[Link] = world.all_links()
    assert not model.errors, f"permanent errors: {model.errors}"
    assert len({lk.google_id for lk in links}) == len(links) == len({lk.crm_id for lk in links}), "links not 1:1"
    for lk in links:
        assert lk.crm_id in crm, f"link to a CRM record that is gone: {lk.crm_id}"
        assert lk.google_id in google, f"link to a Google record that is gone: {lk.google_id}"
    assert not set(crm) - {lk.crm_id for lk in links}, f"unlinked CRM records: {set(crm) - {lk.crm_id for lk in links}}"
    unlinked = set(google) - {lk.google_id for lk in links}
    assert not unlinked, f"unlinked Google records (duplicates?): {unlinked}"
    for lk in links:
        assert crm[lk.crm_id] == google[lk.google_id], (
            f"sides disagree on {lk.crm_id} / {lk.google_id}:\n{crm[lk.crm_id]}\n{google[lk.google_id]}"
        )
    problems = model.lost_edits([(lk.crm_id, lk.google_id) for lk in links], crm, google)
    assert not problems, "lost edits:\n" + "\n".join(problems)
    return links


def later_by(state: EmulatorState, seconds: float) -> None:
    """Advance the emulator's clock (tokens and windows only; stamps stay real time)."""
    state.clock.advance(timedelta(seconds=seconds))
