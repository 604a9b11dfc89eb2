"""Google Tasks JSON at the edge: the ``Task`` resource and its canonical form, both ways."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..model.link import Canon
from ..model.task import COMPLETED, canonical_task


class GoogleTask(BaseModel):
    """The fields of a Tasks API ``Task`` that the sync reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    etag: str | None = None
    title: str | None = None
    notes: str | None = None
    status: str = "needsAction"
    due: str | None = None
    completed: str | None = None
    updated: str | None = None
    deleted: bool = False
    hidden: bool = False
    parent: str | None = None
    web_view_link: str | None = Field(default=None, alias="webViewLink")

    @property
    def updated_at(self) -> datetime | None:
        """``updated`` as a datetime."""
        return datetime.fromisoformat(self.updated.replace("Z", "+00:00")) if self.updated else None


def task_canon(task: GoogleTask) -> Canon:
    """Canonical form of a Google task (``due`` carries only a date; ``hidden`` is ignored on
    purpose: hidden tasks are completed ones, not deletions)."""
    return canonical_task(
        {
            "title": task.title,
            "notes": task.notes,
            "due": task.due[:10] if task.due else None,
            "status": task.status,
            "completed": task.completed,
        }
    )


def google_due(due_date: str | None) -> str | None:
    """Google's ``due`` for a canonical date: midnight UTC (Google drops the time and keeps the UTC date)."""
    return f"{due_date}T00:00:00.000Z" if due_date else None


def google_completed(canon: Canon) -> str | None:
    """Google's ``completed`` for a canonical record (None unless completed)."""
    value = canon.get("completed")
    if canon.get("status") != COMPLETED or not value:
        return None
    return str(value).replace("Z", ".000Z")


def insert_body(canon: Canon) -> dict[str, Any]:
    """The ``Task`` to insert for a canonical record (absent values left out)."""
    body: dict[str, Any] = {
        "title": canon["title"],
        "status": "completed" if canon.get("status") == COMPLETED else "needsAction",
    }
    if canon.get("notes"):
        body["notes"] = canon["notes"]
    if due := google_due(canon.get("due_date")):
        body["due"] = due
    if done := google_completed(canon):
        body["completed"] = done
    return body


def patch_body(fields: Canon, full: Canon) -> dict[str, Any]:
    """The PATCH body for changed canonical ``fields`` (explicit nulls clear); status and
    completion always travel together."""
    body: dict[str, Any] = {}
    if "title" in fields:
        body["title"] = fields["title"]
    if "notes" in fields:
        body["notes"] = fields["notes"]
    if "due_date" in fields:
        body["due"] = google_due(fields["due_date"])
    if "status" in fields or "completed" in fields:
        done = full.get("status") == COMPLETED
        body["status"] = "completed" if done else "needsAction"
        body["completed"] = google_completed(full)
        if done and body["completed"] is None:
            del body["completed"]  # Google stamps the completion time itself
    return body
