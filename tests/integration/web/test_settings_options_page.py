"""The calendar and task options on the settings page, over real HTTP: the page's own fields post back
unchanged, changes are stored, bad values are explained next to their field, and admin-managed settings
are read-only."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from crmsync.model.settings import SyncSettings
from crmsync.services import admin
from crmsync.services.scopes import connection_id_for
from tests.integration.web.browserless import connect
from tests.integration.web.stack import Stack

pytestmark = pytest.mark.integration


class FormFields(HTMLParser):
    """What a browser submits for the settings form: enabled, named fields with their current values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.disabled: set[str] = set()
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("action") == "/settings"
        if not self._in_form or "name" not in a:
            if tag == "option" and self._select and "selected" in a:
                self.fields[self._select] = a.get("value") or ""
            return
        name = a["name"] or ""
        if "disabled" in a:
            self.disabled.add(name)
            return
        if tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""
        elif a.get("type") in ("radio", "checkbox"):
            if "checked" in a:
                self.fields[name] = a.get("value") or "on"
        else:
            self.fields[name] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def fields_of(html: str) -> FormFields:
    parser = FormFields()
    parser.feed(html)
    return parser


def assert_ids_sound(html: str) -> None:
    """Ids are unique and every aria-describedby names one of them."""
    ids = Counter(re.findall(r' id="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    described = {d for ds in re.findall(r'aria-describedby="([^"]+)"', html) for d in ds.split()}
    assert described and described <= set(ids)


def stored(stack: Stack) -> SyncSettings:
    conn = stack.store.get_connection(connection_id_for("u1"))
    assert conn is not None
    return conn.settings


def test_the_page_posts_back_its_own_values_unchanged(stack: Stack) -> None:
    http, page = connect(stack)
    before = stored(stack)
    assert_ids_sound(page.text)
    fields = fields_of(page.text).fields
    assert fields["event_options.calendar"] == "primary"
    assert fields["event_options.crm_window.ahead_days"] == "365"
    assert fields["task_options.default_list_choice"] == "named"
    resp = http.post(stack.base_url + "/settings", data=fields, timeout=10)
    assert resp.status_code == 200, resp.text
    assert "Your settings were saved." in resp.text
    assert stored(stack) == before


def test_changes_are_stored_and_shown_and_bad_values_are_explained_next_to_the_field(stack: Stack) -> None:
    http, page = connect(stack)
    fields = fields_of(page.text).fields | {
        "event_options.calendar": "dedicated",
        "event_options.calendar_name": "Sales",
        "event_options.google_window.back_days": "30",
        "event_options.send_updates": "externalOnly",
        "event_options.read_calendars": "team@group.calendar.google.com",
        "task_options.default_list_choice": "id",
        "task_options.default_list": "L-42",
        "task_options.lists": "L-7, L-8",
    }
    resp = http.post(stack.base_url + "/settings", data=fields, timeout=10)
    assert "Your settings were saved." in resp.text
    eo, to = stored(stack).event_options, stored(stack).task_options
    assert (eo.calendar, eo.calendar_name, eo.google_window.back_days) == ("dedicated", "Sales", 30)
    assert eo.send_updates == "externalOnly"
    assert eo.read_calendars == ("team@group.calendar.google.com",)
    assert (to.default_list, to.lists) == ("L-42", ("L-7", "L-8"))
    shown = fields_of(resp.text).fields
    assert shown["event_options.read_calendars"] == "team@group.calendar.google.com"
    assert shown["task_options.lists"] == "L-7\nL-8"
    assert shown["task_options.default_list_choice"] == "id"

    bad = http.post(
        stack.base_url + "/settings",
        data=shown | {"event_options.crm_window.back_days": "-3", "task_options.lists": "L-7\nmy list"},
        timeout=10,
    )
    assert bad.status_code == 422
    assert (
        '<p class="error" id="event_options-crm_window-back_days-error">Enter a whole number of days from 0 to 3650.'
        in bad.text
    )
    assert 'aria-invalid="true" aria-describedby="event_options-crm_window-back_days-error"' in bad.text
    assert "“my list” is not a task list id" in bad.text
    assert_ids_sound(bad.text)
    kept = fields_of(bad.text).fields
    assert kept["event_options.crm_window.back_days"] == "-3"
    assert kept["task_options.lists"] == "L-7\nmy list"
    assert stored(stack).event_options.crm_window.back_days == 60
    assert stored(stack).task_options.lists == ("L-7", "L-8")


def test_admin_managed_settings_show_the_options_read_only(stack: Stack) -> None:
    http, _ = connect(stack)
    admin.put_config(stack.app, {"users_may_edit": False})
    page = http.get(stack.base_url + "/settings", timeout=10)
    form = fields_of(page.text)
    for name in (
        "event_options.calendar",
        "event_options.calendar_name",
        "event_options.crm_window.back_days",
        "event_options.google_window.ahead_days",
        "event_options.private_activities",
        "event_options.send_updates",
        "event_options.read_calendars",
        "task_options.target",
        "task_options.default_list_choice",
        "task_options.default_list_title",
        "task_options.default_list",
        "task_options.lists",
    ):
        assert name in form.disabled, name
    assert not any(k.startswith(("event_options.", "task_options.")) for k in form.fields)
    assert 'id="save"' not in page.text
    # A crafted POST, even with a bad value in it, is refused as "not allowed" before any form check.
    csrf = fields_of(page.text).fields["csrf"]
    crafted = http.post(
        stack.base_url + "/settings",
        data={"csrf": csrf, "event_options.crm_window.back_days": "-3"},
        timeout=10,
    )
    assert crafted.status_code == 403, crafted.text
    assert "Your administrator manages the sync settings" in crafted.text
    assert stored(stack).event_options.crm_window.back_days == 60


def test_the_contact_options_once_only_in_the_api_are_on_the_page(stack: Stack) -> None:
    http, page = connect(stack)
    fields = fields_of(page.text).fields
    assert fields["contact_options.default_region"] == "US"
    assert 'id="advanced-contacts"' in page.text  # the rules are under a disclosure
    fields = {k: v for k, v in fields.items() if k != "contact_options.link_companies"}  # unchecked
    fields |= {"contact_options.default_region": "DE", "contact_options.groups_as_tags": "on"}
    resp = http.post(stack.base_url + "/settings", data=fields, timeout=10)
    assert "Your settings were saved." in resp.text
    co = stored(stack).contact_options
    assert (co.default_region, co.link_companies, co.create_companies, co.groups_as_tags) == ("DE", False, False, True)
    bad = http.post(stack.base_url + "/settings", data=fields | {"contact_options.default_region": "XX1"}, timeout=10)
    assert bad.status_code == 422
    assert 'id="contact_options-default_region-error"' in bad.text
    assert "Choose the country of phone numbers" in bad.text
    assert 'id="advanced-contacts" open' in bad.text  # a field to fix is never hidden
    assert stored(stack).contact_options.default_region == "DE"


def test_a_time_zone_that_does_not_exist_is_explained(stack: Stack) -> None:
    http, page = connect(stack)
    fields = fields_of(page.text).fields
    assert fields["time_zone"] == ""
    bad = http.post(stack.base_url + "/settings", data=fields | {"time_zone": "Mars/Olympus_Mons"}, timeout=10)
    assert bad.status_code == 422
    assert 'id="time_zone-error"' in bad.text and "Choose a time zone from the list." in bad.text
    ok = http.post(stack.base_url + "/settings", data=fields | {"time_zone": "Asia/Tokyo"}, timeout=10)
    assert "Your settings were saved." in ok.text
    assert stored(stack).time_zone == "Asia/Tokyo"
