"""What a run did, in words a user reads: "12 contacts created in Google", "1 task deleted in the CRM".

Every sentence goes through gettext (``ngettext``), so the settings page, the status API and the
CLI say the same thing in the user's language (catalogues under ``crmsync/web/locale``).
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from typing import Any, Protocol


class Translations(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


ENGLISH: Translations = gettext.NullTranslations()


def N_(message: str) -> str:
    """gettext's marker: the message goes into the catalogue and is translated where it is shown."""
    return message


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """A plural pair marked for the catalogue, translated when shown."""
    return singular, plural


# (kind, op, side) -> (singular, plural); all spelled out so the extractor finds each one.
_SENTENCES: dict[tuple[str, str, str], tuple[str, str]] = {
    ("contacts", "create", "google"): ngettext_noop(
        "%(n)d contact created in Google", "%(n)d contacts created in Google"
    ),
    ("contacts", "update", "google"): ngettext_noop(
        "%(n)d contact updated in Google", "%(n)d contacts updated in Google"
    ),
    ("contacts", "delete", "google"): ngettext_noop(
        "%(n)d contact deleted in Google", "%(n)d contacts deleted in Google"
    ),
    ("contacts", "create", "crm"): ngettext_noop(
        "%(n)d contact created in the CRM", "%(n)d contacts created in the CRM"
    ),
    ("contacts", "update", "crm"): ngettext_noop(
        "%(n)d contact updated in the CRM", "%(n)d contacts updated in the CRM"
    ),
    ("contacts", "delete", "crm"): ngettext_noop(
        "%(n)d contact deleted in the CRM", "%(n)d contacts deleted in the CRM"
    ),
    ("events", "create", "google"): ngettext_noop("%(n)d event created in Google", "%(n)d events created in Google"),
    ("events", "update", "google"): ngettext_noop("%(n)d event updated in Google", "%(n)d events updated in Google"),
    ("events", "delete", "google"): ngettext_noop("%(n)d event deleted in Google", "%(n)d events deleted in Google"),
    ("events", "create", "crm"): ngettext_noop(
        "%(n)d activity created in the CRM", "%(n)d activities created in the CRM"
    ),
    ("events", "update", "crm"): ngettext_noop(
        "%(n)d activity updated in the CRM", "%(n)d activities updated in the CRM"
    ),
    ("events", "delete", "crm"): ngettext_noop(
        "%(n)d activity deleted in the CRM", "%(n)d activities deleted in the CRM"
    ),
    ("tasks", "create", "google"): ngettext_noop("%(n)d task created in Google", "%(n)d tasks created in Google"),
    ("tasks", "update", "google"): ngettext_noop("%(n)d task updated in Google", "%(n)d tasks updated in Google"),
    ("tasks", "delete", "google"): ngettext_noop("%(n)d task deleted in Google", "%(n)d tasks deleted in Google"),
    ("tasks", "create", "crm"): ngettext_noop("%(n)d task created in the CRM", "%(n)d tasks created in the CRM"),
    ("tasks", "update", "crm"): ngettext_noop("%(n)d task updated in the CRM", "%(n)d tasks updated in the CRM"),
    ("tasks", "delete", "crm"): ngettext_noop("%(n)d task deleted in the CRM", "%(n)d tasks deleted in the CRM"),
}
_ORDER = ("create", "update", "delete")


def kind_name(kind: str, t: Translations = ENGLISH) -> str:
    """The user-facing name of a kind."""
    names = {"contacts": t.gettext("Contacts"), "events": t.gettext("Calendar"), "tasks": t.gettext("Tasks")}
    return names.get(kind, kind)


def write_sentences(kind: str, writes: Mapping[str, Any], t: Translations = ENGLISH) -> list[str]:
    """One sentence per (side, operation) that happened, Google first, creates before updates before deletes."""
    out: list[str] = []
    for side in ("google", "crm"):
        for op in _ORDER:
            n = writes.get(f"{side}.{op}", 0)
            words = _SENTENCES.get((kind, op, side))
            if isinstance(n, int) and n > 0 and words:
                out.append(t.ngettext(words[0], words[1], n) % {"n": n})
    return out


def run_sentences(kinds: Mapping[str, Any], t: Translations = ENGLISH) -> list[str]:
    """What a whole run changed, kind by kind; ["No changes"] when nothing was written."""
    out: list[str] = []
    for kind, report in kinds.items():
        if isinstance(report, Mapping):
            out.extend(write_sentences(kind, report.get("writes") or {}, t))
            out.extend(answer_sentences(kind, report, t))
    return out or [t.gettext("No changes")]


def answer_sentences(kind: str, report: Mapping[str, Any], t: Translations = ENGLISH) -> list[str]:
    """What the run did with the user's answers: a safety stop's deletions applied or records kept,
    conflicts settled by the user's choice (or not, because the field changed since)."""
    name = kind_name(kind, t)
    out: list[str] = []
    if report.get("awaiting_start"):
        out.append(t.gettext("%(kind)s: previewed, nothing written; waiting for you to start it") % {"kind": name})
    approved = report.get("approved_deletes")
    if isinstance(approved, int) and approved > 0:
        out.append(
            t.ngettext("%(kind)s: %(n)d deletion you approved", "%(kind)s: %(n)d deletions you approved", approved)
            % {"kind": name, "n": approved}
        )
    kept = sum(n for n in (report.get("restored") or {}).values() if isinstance(n, int))
    if kept:
        out.append(
            t.ngettext(
                "%(kind)s: %(n)d record kept as you chose (restored from the other side)",
                "%(kind)s: %(n)d records kept as you chose (restored from the other side)",
                kept,
            )
            % {"kind": name, "n": kept}
        )
    chosen = [c for c in report.get("choices") or [] if isinstance(c, Mapping)]
    used = sum(1 for c in chosen if c.get("outcome") == "applied")
    if used:
        out.append(
            t.ngettext(
                "%(kind)s: %(n)d conflict settled with the value you chose",
                "%(kind)s: %(n)d conflicts settled with the value you chose",
                used,
            )
            % {"kind": name, "n": used}
        )
    if len(chosen) > used:
        out.append(
            t.ngettext(
                "%(kind)s: %(n)d value you chose was not used (see Conflicts)",
                "%(kind)s: %(n)d values you chose were not used (see Conflicts)",
                len(chosen) - used,
            )
            % {"kind": name, "n": len(chosen) - used}
        )
    return out
