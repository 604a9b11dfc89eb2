"""The settings form: field names, choices with human labels, and form data -> settings document."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from crmsync.model.kinds import Kind
from crmsync.model.settings import ConflictPolicy, DeleteConflictRule, DeleteRule, Direction, SyncSettings
from crmsync.services.errors import FieldProblem, InvalidInput
from crmsync.services.run_words import N_
from crmsync.services.settings import parse_settings
from crmsync.web import options_form

DIRECTIONS = {
    Direction.TWO_WAY: N_("Both ways"),
    Direction.CRM_TO_GOOGLE: N_("CRM to Google only"),
    Direction.GOOGLE_TO_CRM: N_("Google to CRM only"),
}
CONFLICTS = {
    ConflictPolicy.MOST_RECENT: N_("The most recent change wins"),
    ConflictPolicy.CRM_WINS: N_("The CRM wins"),
    ConflictPolicy.GOOGLE_WINS: N_("Google wins"),
}
DELETES = {
    DeleteRule.DELETE: N_("Delete it on the other side too"),
    DeleteRule.UNLINK_ONLY: N_("Keep it on the other side, stop syncing it"),
    DeleteRule.IGNORE: N_("Do nothing"),
}
DELETE_CONFLICTS = {
    DeleteConflictRule.KEEP_EDITED: N_("Keep the edited record"),
    DeleteConflictRule.DELETE: N_("The deletion wins"),
}
# Friendlier messages than pydantic's for the fields a person types into.
_MESSAGES = {
    "interval_minutes": N_("Enter a whole number of minutes from 1 to 1440."),
    "time_zone": N_("Choose a time zone from the list."),
    "contact_options.default_region": N_("Choose the country of phone numbers written without a country code."),
    **options_form.MESSAGES,
}
# A read-only view of how fields map (canonical field: CRM field, Google field).
# The real mapping: CRM Sync API fields (docs/crm-sync-api.md, crm/models.py) and Google API fields
# (People Person, Calendar Event, Tasks Task); tests/unit/web/test_field_map.py checks every name exists.
FIELD_MAP: dict[Kind, list[tuple[str, str, str]]] = {
    Kind.CONTACTS: [
        (N_("Name"), "name_prefix, given_name, middle_name, family_name, name_suffix", "names"),
        (N_("E-mail addresses"), "emails", "emailAddresses"),
        (N_("Phone numbers"), "phones", "phoneNumbers"),
        (N_("Company, job title, department"), "company_id, title, department", "organizations"),
        (N_("Addresses"), "addresses", "addresses"),
        (N_("Websites"), "urls", "urls"),
        (N_("Birthday"), "birthday", "birthdays"),
        (N_("Notes"), "notes", "biographies"),
        (N_("Tags and contact groups"), "tags", "memberships"),
    ],
    Kind.EVENTS: [
        (N_("Subject"), "subject", "summary"),
        (N_("Start and end"), "start, end, start_date, end_date, all_day, time_zone", "start, end"),
        (N_("Location"), "location", "location"),
        (N_("Description"), "description", "description"),
        (N_("Attendees"), "attendees", "attendees"),
        (N_("Organizer"), "organizer_email", "organizer"),
        (N_("Repeats"), "recurrence, exceptions", "recurrence"),
        (N_("Private"), "private", "visibility"),
        (N_("Reminders"), "reminders", "reminders"),
    ],
    Kind.TASKS: [
        (N_("Title"), "title", "title"),
        (N_("Notes"), "notes", "notes"),
        (N_("Due date"), "due", "due"),
        (N_("Done, and when"), "status, completed_at", "status, completed"),
    ],
}


def form_to_settings(form: Mapping[str, str], current: SyncSettings) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The settings document the form describes (the current settings overlaid with the submitted fields),
    and the problems only the form can see (the model validates the rest)."""
    doc: dict[str, Any] = copy.deepcopy(current.model_dump(mode="json"))
    for kind in Kind:
        ks = doc[kind.value]
        ks["enabled"] = form.get(f"{kind}.enabled") == "on"
        for key in ("direction", "conflict_policy", "delete_conflict"):
            if f"{kind}.{key}" in form:
                ks[key] = form[f"{kind}.{key}"]
        for side in ("crm", "google"):
            if f"{kind}.{side}.delete" in form:
                ks[side]["delete"] = form[f"{kind}.{side}.delete"]
        for key in ("crm_tag", "google_group"):
            if f"{kind}.{key}" in form:
                ks[key] = form[f"{kind}.{key}"].strip() or None
    if "contact_options.present" in form:  # the page's contact options (a browser leaves unchecked boxes out)
        co = doc["contact_options"]
        co["default_region"] = form.get("contact_options.default_region", "").strip().upper()
        for key in ("link_companies", "create_companies", "groups_as_tags"):
            co[key] = form.get(f"contact_options.{key}") == "on"
    if "interval_minutes" in form:
        doc["interval_minutes"] = form["interval_minutes"].strip()
    if "time_zone" in form:
        doc["time_zone"] = form["time_zone"].strip() or None
    problems = options_form.apply_event_options(form, doc["event_options"])
    problems += options_form.apply_task_options(form, doc["task_options"])
    return doc, problems


def check_form(form: Mapping[str, str], current: SyncSettings) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The settings document the form describes and every problem with it: the form's own and the model's."""
    doc, problems = form_to_settings(form, current)
    try:
        parse_settings(doc)
    except InvalidInput as err:
        problems += err.problems
    return doc, problems


def field_errors(problems: list[FieldProblem]) -> dict[str, str]:
    """Problems keyed by form field name, in human words."""
    out: dict[str, str] = {}
    for p in problems:
        field = re.sub(r"(\.\d+)+$", "", p.field)  # "lists.3" (the model's item) is the form's "lists" box
        out.setdefault(field, _MESSAGES.get(field, p.message))
    return out
