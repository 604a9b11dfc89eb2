"""The admin's rules apply to every run of existing connections, and unreadable rules fail closed."""

from __future__ import annotations

import logging

import pytest

from crmsync.model.contact import canonical_contact
from crmsync.services.admin_config import AdminConfig, load_admin_config
from crmsync.services.worker import Outcome
from tests.support.admin_rules import store_without_preview
from tests.unit.scheduling.support import World

pytestmark = pytest.mark.unit


def _google_only_contact(world: World, cid: str) -> None:
    raw = {"given_name": "Only", "family_name": "InGoogle", "emails": [{"value": "only@google.example"}]}
    world.sides[cid].google.put(canonical_contact(raw, default_region="DE"))


def test_a_restriction_to_crm_to_google_stops_writes_into_the_crm_of_an_existing_connection(world: World) -> None:
    world.connect("c1")  # two-way, chosen while the admin allowed it
    assert world.deliver("c1", task="t-1").outcome is Outcome.SYNCED
    crm, google = world.sides["c1"].crm, world.sides["c1"].google
    assert (len(crm.records), len(google.records)) == (3, 3)
    store_without_preview(world.store, {"allowed_directions": ["crm_to_google"]})
    _google_only_contact(world, "c1")
    raw = {"given_name": "New", "family_name": "InCrm", "emails": [{"value": "new@crm.example"}]}
    world.sides["c1"].crm.put(canonical_contact(raw, default_region="DE"))
    assert world.deliver("c1", task="t-2").outcome is Outcome.SYNCED
    assert len(crm.records) == 4, "the run wrote into the CRM after the admin allowed only CRM -> Google"
    assert len(google.records) == 5, "CRM -> Google still syncs"
    # The user's stored choice is kept: lifting the restriction brings two-way back.
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.settings.contacts.direction.value == "two_way"


def test_a_kind_switched_off_by_the_admin_is_not_synced(world: World) -> None:
    world.connect("c1")
    world.store.put_global_config({"kinds": {"contacts": False}})
    world.deliver("c1", task="t-1")
    assert world.sides["c1"].syncs == 0
    assert not world.sides["c1"].google.records


def test_run_settings_narrow_directions_to_the_permitted_writes() -> None:
    from crmsync.model.settings import Direction, KindSettings, SyncSettings

    settings = SyncSettings(
        contacts=KindSettings(direction=Direction.TWO_WAY),
        events=KindSettings(direction=Direction.GOOGLE_TO_CRM),
        tasks=KindSettings(direction=Direction.CRM_TO_GOOGLE),
    )
    only_to_google = AdminConfig(allowed_directions=[Direction.CRM_TO_GOOGLE]).run_settings(settings)
    assert only_to_google.contacts.direction is Direction.CRM_TO_GOOGLE and only_to_google.contacts.enabled
    assert not only_to_google.events.enabled  # Google -> CRM has no permitted write left
    assert only_to_google.tasks.enabled
    two_way_only = AdminConfig(allowed_directions=[Direction.TWO_WAY]).run_settings(settings)
    assert two_way_only == settings  # a one-way choice writes a subset of what two-way permits


@pytest.mark.parametrize(
    "stored",
    [
        {"sync_enabled": True, "new_field_from_a_newer_version": 1},
        {"allowed_directions": []},
        {"allowed_directions": ["sideways"]},
        {"connect": {"mode": "users"}},
        {"kinds": {"contacts": "maybe"}},
    ],
)
def test_an_invalid_stored_config_denies_when_nothing_was_read_before(
    world: World, stored: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    world.connect("c1")
    world.store.put_global_config(stored)
    with caplog.at_level(logging.ERROR, logger="crmsync.services.admin_config"):
        rules = load_admin_config(world.store)
        result = world.deliver("c1", task="t-1")
    assert rules == AdminConfig.deny_all()
    assert not rules.sync_enabled and not rules.enabled_kinds()
    assert result.outcome is Outcome.SKIPPED
    assert world.sides["c1"].syncs == 0
    assert any("admin config is invalid" in r.getMessage() for r in caplog.records)


def test_an_invalid_stored_config_keeps_the_rules_read_before(world: World) -> None:
    world.store.put_global_config({"allowed_directions": ["crm_to_google"], "users_may_edit": False})
    before = load_admin_config(world.store)
    world.store.put_global_config({"allowed_directions": ["crm_to_google"], "typo_field": True})
    assert load_admin_config(world.store) == before


def test_a_user_the_connect_policy_no_longer_allows_stops_syncing_visibly(world: World) -> None:
    world.connect("c1")
    world.connect("c2")
    world.store.put_global_config({"connect": {"mode": "users", "user_ids": ["u-c2"]}})
    result = world.deliver("c1", task="t-1")
    assert result.outcome is Outcome.SKIPPED
    assert world.sides["c1"].syncs == 0 and not world.sides["c1"].google.records
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.status.value == "paused"
    assert conn.status_reason is not None and "no longer allow" in conn.status_reason
    assert world.deliver("c2", task="t-1").outcome is Outcome.SYNCED  # the allowed user goes on


def test_a_crm_user_who_is_gone_or_inactive_stops_syncing(world: World) -> None:
    world.connect("c1")
    world.connect("c2")
    world.crm.remove_user("u-c1")  # deleted in the CRM
    world.crm.set_user_active("u-c2", False)  # left the company
    assert world.deliver("c1", task="t-1").outcome is Outcome.SKIPPED
    assert world.deliver("c2", task="t-1").outcome is Outcome.SKIPPED
    assert world.sides["c1"].syncs == world.sides["c2"].syncs == 0
    assert "no longer exists" in (world.store.get_connection("c1").status_reason or "")  # type: ignore[union-attr]
