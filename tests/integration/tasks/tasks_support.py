"""Building the task sync against the in-process Google emulator and a CRM (fake or reference server)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from crmsync.crm.port import CrmConnector
from crmsync.crm.tasks_side import CrmTasks
from crmsync.google.client import Endpoint, build_service
from crmsync.google.intents import IntentStore, MemoryIntentStore
from crmsync.google.tasks import GoogleTasks
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.model.task import TaskOptions, match_keys
from crmsync.ports import LinkStore, OpCounter
from crmsync.sync.engine import KindReport, KindSync
from infra.google_emulator.core import SCOPE_TASKS
from tests.support.google import credentials

EMAIL = "owner@example.com"


def tasks_service(emulator: Any) -> Any:
    """A Tasks service built by crmsync's own client module, aimed at the emulator."""
    creds = credentials(emulator.state, EMAIL, frozenset({SCOPE_TASKS}))
    return build_service("tasks", creds, Endpoint(emulator.base_url, timeout=10))


def google_side(emulator: Any, intents: IntentStore, counter: OpCounter | None = None, **kw: Any) -> GoogleTasks:
    """GoogleTasks on the emulator; its clock and sleep are the emulator's clock."""

    def sleep(seconds: float) -> None:
        emulator.state.clock.advance(timedelta(seconds=seconds))

    kw.setdefault("options", TaskOptions())
    return GoogleTasks(
        tasks_service(emulator),
        Endpoint(emulator.base_url).batch_uri("tasks"),
        intents=intents,
        counter=counter or OpCounter(),
        clock=emulator.state.clock.now,
        sleep=sleep,
        **kw,
    )


def server_calls(emulator: Any) -> dict[str, int]:
    """The emulator's count of API calls for the test account, by method id (inner batch calls included)."""
    return dict(emulator.state.counters.get(EMAIL, {}))


class TaskWorld:
    """One connection's task sync between a CRM connector and the emulator."""

    def __init__(
        self,
        emulator: Any,
        crm: CrmConnector,
        links: LinkStore,
        *,
        user_id: str = "u1",
        settings: KindSettings | None = None,
        options: TaskOptions | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.emulator = emulator
        self.crm = crm
        self.links = links
        self.user_id = user_id
        self.settings = settings or KindSettings(google_group=None)
        self.options = options or TaskOptions()
        self.intents = MemoryIntentStore()
        self.google_counter = OpCounter()
        self.crm_counter = OpCounter()
        self.clock = clock or emulator.state.clock.now

    def sides(self) -> tuple[CrmTasks, GoogleTasks]:
        crm = CrmTasks(self.crm, "conn1", self.user_id, self.settings, self.crm_counter)
        google = google_side(self.emulator, self.intents, self.google_counter, options=self.options)
        return crm, google

    def engine(self, **kw: Any) -> KindSync:
        crm, google = self.sides()
        return KindSync(
            Kind.TASKS, crm, google, self.links, self.settings, clock=self.clock, match_keys=match_keys, **kw
        )

    def sync(self, **kw: Any) -> KindReport:
        return self.engine(**kw).run()

    def google_tasks(self) -> dict[str, dict[str, Any]]:
        """Every live (non-deleted) Google task of every list, by id."""
        from infra.google_emulator.tasks import dump

        out: dict[str, dict[str, Any]] = {}
        for tasks in dump(self.emulator.state.account(EMAIL), self.emulator.state)["tasklists"].values():
            out.update({t["id"]: t for t in tasks if not t.get("deleted")})
        return out

    def later(self, minutes: float = 5) -> None:
        """Let time pass (the scheduler's interval) on the emulator's clock."""
        self.emulator.state.clock.advance(timedelta(minutes=minutes))
