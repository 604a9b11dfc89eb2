"""A Google collection a setting names is gone: which setting, and what the user can do.

A listing of a calendar or task list answering 404 is not a record to delete and not a reason
to reconnect: that kind stops with a message naming the setting to change (``SettingTargetGone``),
rather than reading every linked record in it as deleted; the other kinds go on."""

from __future__ import annotations

from ..errors import SettingTargetGone
from ..model.event import EventOptions
from ..model.task import TaskOptions


class TaskListMissing(SettingTargetGone):
    """A task list the settings name (or the one CRM tasks are written to) no longer exists."""


def calendar_gone(cal: str, options: EventOptions, write_calendar: str) -> SettingTargetGone:
    """The stop for a calendar read that no longer exists (or is no longer shared with the user)."""
    if cal in options.read_calendars:
        return SettingTargetGone(
            f"the Google calendar {cal!r} chosen in the event settings (further calendars read) no longer "
            "exists or is no longer shared with this account: remove it from the calendars read",
            setting="event_options.read_calendars",
        )
    what = "CRM activities are written to" if cal == write_calendar else "CRM activities were written to before"
    return SettingTargetGone(
        f"the Google calendar {cal!r} that {what} no longer exists or is no longer shared with this account: "
        "choose the calendar for CRM activities in the event settings",
        setting="event_options.calendar",
    )


def task_list_gone(list_id: str, options: TaskOptions) -> TaskListMissing:
    """The stop for a task list that no longer exists."""
    if list_id in options.lists:
        return TaskListMissing(
            f"the Google task list {list_id!r} chosen in the task settings (lists synced) no longer exists: "
            "remove it from the synced lists or pick another",
            setting="task_options.lists",
        )
    if list_id == options.default_list:
        return TaskListMissing(
            f"the Google task list {list_id!r} chosen for new CRM tasks no longer exists: pick another list",
            setting="task_options.default_list",
        )
    return TaskListMissing(
        f"the Google task list {options.default_list_title!r} ({list_id}) that CRM tasks were written to "
        "was deleted in Google: choose a list for new CRM tasks in the task settings",
        setting="task_options.default_list",
    )
