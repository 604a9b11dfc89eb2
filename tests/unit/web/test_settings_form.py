"""The settings form's calendar and task options: parsing, checks and the messages shown next to each field."""

from __future__ import annotations

import pytest

from crmsync.model.settings import SyncSettings
from crmsync.model.task import TaskTarget
from crmsync.web import forms

pytestmark = pytest.mark.unit


def page_form(current: SyncSettings) -> dict[str, str]:
    """The fields the settings page submits for ``current`` when nothing is changed (as the template fills them)."""
    s = current.model_dump(mode="json")
    form = {"interval_minutes": str(s["interval_minutes"])}
    for kind in ("contacts", "events", "tasks"):
        ks = s[kind]
        if ks["enabled"]:
            form[f"{kind}.enabled"] = "on"
        for key in ("direction", "conflict_policy", "delete_conflict"):
            form[f"{kind}.{key}"] = ks[key]
        form[f"{kind}.google.delete"] = ks["google"]["delete"]
        form[f"{kind}.crm.delete"] = ks["crm"]["delete"]
        form[f"{kind}.crm_tag"] = ks["crm_tag"] or ""
    form["contacts.google_group"] = s["contacts"]["google_group"] or ""
    eo, to = s["event_options"], s["task_options"]
    for key in ("calendar", "calendar_name", "private_activities", "send_updates"):
        form[f"event_options.{key}"] = eo[key]
    for window in ("crm_window", "google_window"):
        for field in ("back_days", "ahead_days"):
            form[f"event_options.{window}.{field}"] = str(eo[window][field])
    form["event_options.read_calendars"] = "\n".join(eo["read_calendars"])
    form["task_options.target"] = to["target"]
    form["task_options.default_list_choice"] = "id" if to["default_list"] is not None else "named"
    form["task_options.default_list_title"] = to["default_list_title"]
    form["task_options.default_list"] = to["default_list"] or ""
    form["task_options.lists"] = "\n".join(to["lists"])
    return form


def saved(form: dict[str, str], current: SyncSettings | None = None) -> SyncSettings:
    """The settings a valid form saves."""
    doc, problems = forms.check_form(form, current or SyncSettings())
    assert problems == []
    return SyncSettings.model_validate(doc)


def errors(changes: dict[str, str], current: SyncSettings | None = None) -> dict[str, str]:
    """The messages the page shows, by field name, when the unchanged form is submitted with ``changes``."""
    current = current or SyncSettings()
    _, problems = forms.check_form({**page_form(current), **changes}, current)
    return forms.field_errors(problems)


def test_defaults_round_trip_unchanged() -> None:
    assert saved(page_form(SyncSettings())) == SyncSettings()


def test_non_default_options_round_trip_unchanged() -> None:
    current = SyncSettings.model_validate(
        {
            "event_options": {
                "calendar": "dedicated",
                "calendar_name": "Sales",
                "read_calendars": ["team@group.calendar.google.com"],
                "crm_window": {"back_days": 7, "ahead_days": 30},
                "private_activities": "busy",
                "send_updates": "externalOnly",
            },
            "task_options": {"target": "tasks", "default_list": "MTIzNDU2", "lists": ["abc", "def"]},
        }
    )
    assert saved(page_form(current), current) == current


def test_good_values_are_saved() -> None:
    form = page_form(SyncSettings()) | {
        "event_options.calendar": "dedicated",
        "event_options.calendar_name": "  CRM activities ",
        "event_options.crm_window.back_days": " 0 ",
        "event_options.crm_window.ahead_days": "3650",
        "event_options.google_window.back_days": "14",
        "event_options.google_window.ahead_days": "1",
        "event_options.private_activities": "skip",
        "event_options.send_updates": "all",
        "event_options.read_calendars": "a@group.calendar.google.com, b@example.com\n\nprimary\na@group.calendar.google.com",
        "task_options.target": "calendar",
        "task_options.default_list_choice": "id",
        "task_options.default_list": " MTIzNDU2Nzg5MDow ",
        "task_options.lists": "one,two\r\nthree",
    }
    s = saved(form)
    eo, to = s.event_options, s.task_options
    assert (eo.calendar, eo.calendar_name) == ("dedicated", "CRM activities")
    assert (eo.crm_window.back_days, eo.crm_window.ahead_days) == (0, 3650)
    assert (eo.google_window.back_days, eo.google_window.ahead_days) == (14, 1)
    assert (eo.private_activities, eo.send_updates) == ("skip", "all")
    assert eo.read_calendars == ("a@group.calendar.google.com", "b@example.com", "primary")
    assert to.target is TaskTarget.CALENDAR
    assert to.default_list == "MTIzNDU2Nzg5MDow"
    assert to.lists == ("one", "two", "three")


def test_choosing_the_named_list_forgets_the_list_id() -> None:
    current = SyncSettings.model_validate({"task_options": {"default_list": "L1"}})
    form = page_form(current) | {
        "task_options.default_list_choice": "named",
        "task_options.default_list_title": "Deals",
    }
    to = saved(form, current).task_options
    assert (to.default_list, to.default_list_title) == (None, "Deals")


def test_a_blank_calendar_name_is_kept_as_it_was_when_the_primary_calendar_is_chosen() -> None:
    form = page_form(SyncSettings()) | {"event_options.calendar_name": "  "}
    assert saved(form).event_options.calendar_name == "CRM"


def test_fields_not_submitted_keep_their_values() -> None:
    current = SyncSettings.model_validate(
        {"event_options": {"calendar": "dedicated", "send_updates": "all"}, "task_options": {"lists": ["x"]}}
    )
    form = {k: v for k, v in page_form(current).items() if not k.startswith(("event_options.", "task_options."))}
    assert saved(form, current) == current


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("event_options.crm_window.back_days", "-1", "Enter a whole number of days from 0 to 3650."),
        ("event_options.crm_window.back_days", "3651", "Enter a whole number of days from 0 to 3650."),
        ("event_options.crm_window.ahead_days", "0", "Enter a whole number of days from 1 to 3650."),
        ("event_options.crm_window.ahead_days", "two", "Enter a whole number of days from 1 to 3650."),
        ("event_options.google_window.back_days", "", "Enter a whole number of days from 0 to 3650."),
        ("event_options.google_window.back_days", "1.5", "Enter a whole number of days from 0 to 3650."),
        ("event_options.google_window.ahead_days", "99999", "Enter a whole number of days from 1 to 3650."),
        ("event_options.calendar", "secondary", "Choose your primary calendar or a dedicated calendar."),
        ("event_options.private_activities", "hide", "Choose what happens to private activities."),
        ("event_options.send_updates", "some", "Choose whether Google sends invitation e-mails."),
        ("task_options.target", "notes", "Choose Google Tasks or Google Calendar."),
        ("event_options.calendar_name", "x" * 201, "Enter a name for the dedicated calendar, up to 200 characters."),
    ],
)
def test_each_bad_value_gets_its_message_on_its_field(field: str, value: str, message: str) -> None:
    assert errors({field: value}) == {field: message}


def test_a_dedicated_calendar_needs_a_name() -> None:
    got = errors({"event_options.calendar": "dedicated", "event_options.calendar_name": " "})
    assert got == {"event_options.calendar_name": "Enter a name for the dedicated calendar, up to 200 characters."}


def test_bad_calendar_ids_are_named_in_the_message() -> None:
    got = errors({"event_options.read_calendars": "ok@group.calendar.google.com\nmy team\nx/y@example.com"})
    assert list(got) == ["event_options.read_calendars"]
    assert got["event_options.read_calendars"].startswith("“my team”, “x/y@example.com” are not calendar ids.")
    assert "name@group.calendar.google.com" in got["event_options.read_calendars"]


def test_a_list_id_is_needed_when_choosing_a_list_by_id() -> None:
    got = errors({"task_options.default_list_choice": "id", "task_options.default_list": " "})
    assert got == {"task_options.default_list": "Enter the list's id, or choose a list with a name instead."}


def test_a_named_list_needs_a_name() -> None:
    got = errors({"task_options.default_list_choice": "named", "task_options.default_list_title": ""})
    assert got == {"task_options.default_list_title": "Enter a name for the task list, up to 1024 characters."}


def test_bad_task_list_ids_are_named_in_the_message() -> None:
    got = errors({"task_options.lists": "good\nnot an id"})
    assert got == {
        "task_options.lists": "“not an id” is not a task list id: a list id has no spaces or commas. "
        "Put one id per line."
    }


def test_every_bad_field_is_reported_in_one_round_and_values_are_kept() -> None:
    form = page_form(SyncSettings()) | {
        "event_options.crm_window.ahead_days": "0",
        "event_options.read_calendars": "nope",
        "task_options.default_list_choice": "id",
        "task_options.default_list": "",
    }
    doc, problems = forms.check_form(form, SyncSettings())
    assert set(forms.field_errors(problems)) == {
        "event_options.crm_window.ahead_days",
        "event_options.read_calendars",
        "task_options.default_list",
    }
    # What the person typed is what the page shows again.
    assert doc["event_options"]["crm_window"]["ahead_days"] == "0"
    assert doc["event_options"]["read_calendars"] == ["nope"]
    assert doc["task_options"]["default_list"] == ""
