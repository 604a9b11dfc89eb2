"""Issue 13 §2: each kind of a run succeeds or fails on its own, a run that dies late loses no
conflict, and an incomplete run always says why. The worker on fakes, with all three kinds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crmsync.model.cursor import Cursor
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.ports import OpCounter
from crmsync.services import run_sync
from crmsync.services.run_sync import GRANT_SCOPES, KindWiring, RunDeps
from crmsync.services.worker import Outcome, WorkerSettings
from tests.support.fakes import FakeSide
from tests.unit.scheduling.support import NOW, World

pytestmark = pytest.mark.unit


class Killed(BaseException):
    """The instance died mid-run (nothing after this point runs, like SIGKILL)."""


class DyingSide(FakeSide):
    """A side whose listing kills the process while ``die`` is set."""

    die: bool = False

    def list_changes(self, token: str | None) -> Any:
        if self.die:
            raise Killed
        return super().list_changes(token)


class ThreeKinds:
    """Contacts, events and tasks, each a pair of fake sides per kind, with counted syncs."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sides = {k: (FakeSide(k, prefix=f"c{k.value[0]}"), DyingSide(k, prefix=f"g{k.value[0]}")) for k in Kind}
        self.syncs = dict.fromkeys(Kind, 0)

    def factory(self, kind: Kind) -> Any:
        def wire(conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter) -> KindWiring:
            self.syncs[kind] += 1
            crm, google = self.sides[kind]
            return KindWiring(crm, google, None)

        return wire

    def connect(self) -> None:
        conn = Connection(
            id="c1",
            crm_user_id="u-c1",
            google_subject="sub-c1",
            google_email="c1@example.com",
            scopes=list(GRANT_SCOPES.values()),
            settings=SyncSettings(contacts=KindSettings(google_group=None)),
            next_sync_at=self.world.clock(),
            created_at=NOW,
        )
        self.world.store.put_connection(conn)
        self.world.crm.add_user("c1@crm.example", "User c1", user_id="u-c1")
        self.world.vault.put("c1", "refresh-token-of-c1")
        for kind, (crm, _) in self.sides.items():
            crm.put({"title": f"first {kind.value}"})


@pytest.fixture
def kinds(world: World) -> Iterator[ThreeKinds]:
    three = ThreeKinds(world)
    saved = dict(run_sync.KIND_FACTORIES)
    for kind in Kind:
        run_sync.register_kind(kind, three.factory(kind))
    try:
        three.connect()
        yield three
    finally:
        run_sync.KIND_FACTORIES.clear()
        run_sync.KIND_FACTORIES.update(saved)


def test_regression_a_kind_failing_for_an_hour_does_not_stop_the_others(world: World, kinds: ThreeKinds) -> None:
    # People answering 503: today the whole run stopped, so events and tasks stopped too.
    _, people = kinds.sides[Kind.CONTACTS]
    people.fail_calls.extend(["list"] * 3)
    result = world.deliver("c1", task="c1-1")
    assert (result.outcome, result.status_code) == (Outcome.RETRY, 503)
    assert "contacts" in result.detail
    for kind in (Kind.EVENTS, Kind.TASKS):
        assert [r.canon["title"] for r in kinds.sides[kind][1].records.values()] == [f"first {kind.value}"]
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    last = conn.last_run
    assert last["retry_kinds"] == ["contacts"]
    assert last["complete"] is False and "contacts: temporary failure" in last["error"]
    assert "contacts: temporary failure" in last["incomplete"]
    assert last["kinds"]["events"]["complete"] and last["kinds"]["tasks"]["complete"]
    # Cloud Tasks redelivers the task: only the failed kind runs again.
    before = dict(kinds.syncs)
    assert world.deliver("c1", task="c1-1").outcome is Outcome.RETRY  # still failing
    assert world.deliver("c1", task="c1-1").outcome is Outcome.RETRY
    assert world.deliver("c1", task="c1-1").outcome is Outcome.SYNCED  # People is back
    assert kinds.syncs[Kind.EVENTS] == before[Kind.EVENTS] and kinds.syncs[Kind.TASKS] == before[Kind.TASKS]
    assert [r.canon["title"] for r in people.records.values()] == ["first contacts"]
    # The next tick runs every kind again.
    assert world.deliver("c1", task="c1-2").outcome is Outcome.SYNCED
    assert kinds.syncs[Kind.EVENTS] == before[Kind.EVENTS] + 1


def test_regression_a_conflict_is_reported_although_the_process_dies_in_a_later_kind(
    world: World, kinds: ThreeKinds
) -> None:
    crm, google = kinds.sides[Kind.CONTACTS]
    assert world.deliver("c1", task="c1-1").outcome is Outcome.SYNCED
    [(cid, gid)] = [(lk.crm_id, lk.google_id) for lk in world.store.connection_store("c1").all_links(Kind.CONTACTS)]
    crm.edit(cid, title="edited in the CRM")
    google.edit(gid, title="edited in Google")  # a conflict, resolved by contacts' run...
    kinds.sides[Kind.EVENTS][1].die = True  # ...after which the process dies while events run
    with pytest.raises(Killed):
        world.deliver("c1", task="c1-2")
    kinds.sides[Kind.EVENTS][1].die = False
    runs = world.store.recent_runs("c1")
    [record] = [r for r in runs if r.get("task") == "c1-2#0"]
    assert [c["field"] for c in record["kinds"]["contacts"]["conflicts"]] == ["title"]
    assert record["complete"] is False and "stopped before it finished" in record["error"]
    # The run after (the lease expired) syncs the rest; the conflict stays in the log.
    world.clock.advance(seconds=world.settings.lease_ttl.total_seconds() + 1)
    assert world.deliver("c1", task="c1-2").outcome is Outcome.SYNCED
    assert any(
        c["field"] == "title" for r in world.store.recent_runs("c1") for c in r["kinds"]["contacts"]["conflicts"]
    )


def test_an_incomplete_run_always_says_why(world: World, kinds: ThreeKinds) -> None:
    world.settings = WorkerSettings(budget_seconds=5)
    for i in range(450):
        kinds.sides[Kind.TASKS][0].put({"title": f"task {i}"})
    tasks_google = kinds.sides[Kind.TASKS][1]
    real_create = tasks_google.create

    def slow_create(ops):  # type: ignore[no-untyped-def]
        world.mono.value += 6  # each batch eats the whole budget
        return real_create(ops)

    tasks_google.create = slow_create  # type: ignore[method-assign]
    result = world.deliver("c1", task="c1-1")
    assert result.outcome is Outcome.CONTINUED
    last = world.store.get_connection("c1").last_run  # type: ignore[union-attr]
    assert last is not None and last["complete"] is False
    assert "tasks: the run's time budget ran out" in last["incomplete"]
    assert last["error"] is None  # a continuation is no error
    assert last["kinds"]["tasks"]["incomplete"]
