"""The calendar and task options of the settings form: choices with explanations, and form fields -> options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from babel import Locale as BabelLocale

from crmsync.services.errors import FieldProblem
from crmsync.services.run_words import N_

# (value, label, one-line explanation) per choice.
Choice = tuple[str, str, str]

CALENDARS: list[Choice] = [
    ("primary", N_("Your primary calendar"), N_("Activities appear among your own Google Calendar events.")),
    ("dedicated", N_("A dedicated calendar"), N_("A separate calendar you can colour, hide or share on its own.")),
]
PRIVATE: list[Choice] = [
    ("sync", N_("Sync them in full"), N_("Private activities are copied with all their details, like any other.")),
    ("skip", N_("Skip them"), N_("Private activities stay in the CRM only.")),
    (
        "busy",
        N_("Show them as a busy block"),
        N_(
            "Google shows a private event titled “Private” with no details; edits made to it in Google never "
            "overwrite the CRM's details."
        ),
    ),
]
INVITATIONS: list[Choice] = [
    ("none", N_("Send none (default)"), N_("Attendees get no e-mail from Google when crmsync writes an event.")),
    (
        "all",
        N_("Send to all attendees"),
        N_("Google e-mails every attendee when crmsync creates, changes or cancels an event."),
    ),
    (
        "externalOnly",
        N_("Send only to external attendees"),
        N_("Only attendees outside your Google organisation get e-mails."),
    ),
]
TASK_TARGETS: list[Choice] = [
    ("tasks", "Google Tasks", N_("CRM tasks are kept in Google Tasks, and Google tasks come back to the CRM.")),
    (
        "calendar",
        N_("Google Calendar, as all-day events"),
        N_(
            "Each CRM task with a due date is an all-day event on that date; tasks without a due date stay in the "
            "CRM, and nothing is created in the CRM from Google."
        ),
    ),
]
TASK_LISTS: list[Choice] = [
    ("named", N_("A list with this name"), N_("Found by its name, or created the first time a CRM task needs it.")),
    ("id", N_("An existing list, by its id"), N_("The Google Tasks list id, as the Google Tasks API shows it.")),
]
# (settings key, legend, what it selects)
WINDOWS = [
    (
        "crm_window",
        N_("Time window, CRM → Google"),
        N_("CRM activities that overlap this window are written to Google."),
    ),
    (
        "google_window",
        N_("Time window, Google → CRM"),
        N_("Google events that overlap this window are brought into the CRM."),
    ),
]
WINDOW_LIMITS = {"back_days": (0, 3650), "ahead_days": (1, 3650)}
_CALENDAR_ID = re.compile(r"^(primary|[^\s/,@]+@[^\s/,@]+)$")
_LIST_ID = re.compile(r"^[^\s,]{1,1024}$")
_SPLIT = re.compile(r"[,\n\r]+")
_DAYS = {  # the limits above, in words (each spelled out for the catalogue)
    "back_days": N_("Enter a whole number of days from 0 to 3650."),
    "ahead_days": N_("Enter a whole number of days from 1 to 3650."),
}

# Friendlier messages than pydantic's for these fields.
MESSAGES: dict[str, str] = {
    "event_options.calendar": N_("Choose your primary calendar or a dedicated calendar."),
    "event_options.calendar_name": N_("Enter a name for the dedicated calendar, up to 200 characters."),
    "event_options.private_activities": N_("Choose what happens to private activities."),
    "event_options.send_updates": N_("Choose whether Google sends invitation e-mails."),
    "task_options.target": N_("Choose Google Tasks or Google Calendar."),
    "task_options.default_list_title": N_("Enter a name for the task list, up to 1024 characters."),
}
for _key, _legend, _what in WINDOWS:
    for _field in WINDOW_LIMITS:
        MESSAGES[f"event_options.{_key}.{_field}"] = _DAYS[_field]


def regions(language: str) -> list[tuple[str, str]]:
    """The countries phone numbers can belong to, (code, name in the language), sorted by name."""
    names = BabelLocale.parse(language).territories
    return sorted(((code, names.get(code, code)) for code in phonenumbers.SUPPORTED_REGIONS), key=lambda r: r[1])


def id_list(raw: str) -> list[str]:
    """Ids typed one per line or separated by commas: stripped, blanks dropped, duplicates removed."""
    return list(dict.fromkeys(part.strip() for part in _SPLIT.split(raw) if part.strip()))


def apply_event_options(form: Mapping[str, str], opts: dict[str, Any]) -> list[FieldProblem]:
    """Overlay the submitted calendar options on ``opts`` (a dumped EventOptions); problems the model cannot see."""
    problems: list[FieldProblem] = []
    for key in ("calendar", "private_activities", "send_updates"):
        if f"event_options.{key}" in form:
            opts[key] = form[f"event_options.{key}"]
    if "event_options.calendar_name" in form:
        name = form["event_options.calendar_name"].strip()
        # The name only matters for a dedicated calendar: a blank one is kept as it was otherwise.
        if name or opts.get("calendar") == "dedicated":
            opts["calendar_name"] = name
    for key, _legend, _what in WINDOWS:
        for field in WINDOW_LIMITS:
            if f"event_options.{key}.{field}" in form:
                opts[key][field] = form[f"event_options.{key}.{field}"].strip()
    if "event_options.read_calendars" in form:
        ids = id_list(form["event_options.read_calendars"])
        opts["read_calendars"] = ids
        bad = [i for i in ids if not _CALENDAR_ID.match(i)]
        if bad:
            problems.append(
                FieldProblem(
                    "event_options.read_calendars",
                    f"{_quoted(bad)} {'is not a calendar id' if len(bad) == 1 else 'are not calendar ids'}. "
                    "A calendar id looks like name@group.calendar.google.com: copy it from Google Calendar, "
                    "Settings, the calendar, Integrate calendar.",
                )
            )
    return problems


def apply_task_options(form: Mapping[str, str], opts: dict[str, Any]) -> list[FieldProblem]:
    """Overlay the submitted task options on ``opts`` (a dumped TaskOptions); problems the model cannot see."""
    problems: list[FieldProblem] = []
    if "task_options.target" in form:
        opts["target"] = form["task_options.target"]
    choice = form.get("task_options.default_list_choice")
    if "task_options.default_list_title" in form:
        title = form["task_options.default_list_title"].strip()
        if title or choice != "id":
            opts["default_list_title"] = title
    if choice == "named":
        opts["default_list"] = None
    elif choice == "id":
        list_id = form.get("task_options.default_list", "").strip()
        opts["default_list"] = list_id
        if not list_id:
            problems.append(
                FieldProblem("task_options.default_list", "Enter the list's id, or choose a list with a name instead.")
            )
        elif not _LIST_ID.match(list_id):
            problems.append(FieldProblem("task_options.default_list", _bad_lists([list_id])))
    elif choice is not None:
        problems.append(FieldProblem("task_options.default_list", "Choose a list by name or by id."))
    if "task_options.lists" in form:
        ids = id_list(form["task_options.lists"])
        opts["lists"] = ids
        bad = [i for i in ids if not _LIST_ID.match(i)]
        if bad:
            problems.append(FieldProblem("task_options.lists", _bad_lists(bad)))
    return problems


def _bad_lists(bad: list[str]) -> str:
    what = "is not a task list id" if len(bad) == 1 else "are not task list ids"
    return f"{_quoted(bad)} {what}: a list id has no spaces or commas. Put one id per line."


def _quoted(values: list[str]) -> str:
    shown = ", ".join(f"“{v[:60]}”" for v in values[:3])
    return shown + (f" and {len(values) - 3} more" if len(values) > 3 else "")
