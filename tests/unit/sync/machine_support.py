"""The world the contact-sync state machine drives: a CRM fake behind a flaky
connector, a fake Google side, a link store and the engine; what the "user" did is judged by
the shared edit log (tests/support/oracle.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmsync.crm.contacts_side import CrmContacts
from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.fake import FakeCrm
from crmsync.model import custom
from crmsync.model.contact import canonical_contact, match_keys
from crmsync.model.field_mapping import FieldMap, MappedFields, Target
from crmsync.model.kinds import Kind
from crmsync.model.link import Canon, Link
from crmsync.model.settings import ContactOptions, KindSettings
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync
from tests.support.fakes import FakeSide
from tests.support.lagging_side import LaggingSide
from tests.support.machines import FlakyCrm, RecordingLinks, StableIdCrm
from tests.support.oracle import EditLog

USER = "u1"
TAG = "sync"
REGION = "DE"
OPTIONS = ContactOptions(default_region=REGION)
CLOCK = datetime(2026, 11, 22, tzinfo=UTC)

# Small vocabularies so that edits collide. Match keys (e-mails, phones) differ per side
# so that two records the user created separately are never paired by the first-sync match.
GIVEN = ("Anna", "Ben", "Cleo")
FAMILY = ("Schmidt", "Meyer", "Öz")
TITLES = (None, "CEO", "CTO", "CFO")
EMAILS = {"crm": ("a@crm.example", "b@crm.example", "c@crm.example"), "google": ("a@g.example", "b@g.example")}
PHONES = {"crm": ("+49301111001", "+49301111002"), "google": ("+49302222001", "+49302222002")}
TYPES = {"emails": ("work", "home"), "phones": ("work", "mobile")}
# A mapped CRM custom field (a picklist, synced to a People userDefined pair): merged, echoed and
# conflicted like the built-in fields.
TIER = custom.key("customer_tier")
TIERS = (None, "Bronze", "Silver", "Gold")
MAPPED = MappedFields(
    [
        FieldMap(
            field=next(f for f in REFERENCE_FIELDS["contacts"] if f.name == "customer_tier"),
            target=Target.USER_DEFINED,
            key="Tier",
        )
    ]
)
SCALARS = ("given", "family", "title", TIER)
KEYED = ("emails", "phones")


def gcanon(raw: Mapping[str, Any]) -> Canon:
    """The canonical form of a raw contact, as the Google adapter would produce it."""
    return {
        **canonical_contact(raw, default_region=REGION),
        **custom.canon_values(MAPPED.fields, {"customer_tier": raw.get(TIER)}),
    }


def noisy_phone(e164: str) -> str:
    """A German number as a person types it (national format, spaces): normalises back to ``e164``."""
    assert e164.startswith("+4930")
    rest = e164[5:]
    return f"030 {rest[:3]} {rest[3:]}"


def crm_patch(canon: Canon, fields: Sequence[str]) -> dict[str, Any]:
    """A CRM patch setting ``fields`` of a canonical record, written with formatting noise."""
    names = {"given": "given_name", "family": "family_name", "title": "title"}
    patch: dict[str, Any] = {}
    for f in fields:
        if f in names:
            patch[names[f]] = canon.get(f)
        elif f == TIER:
            patch["custom_fields"] = {"customer_tier": canon.get(f)}
        elif f == "emails":
            patch["emails"] = [{"type": e["type"], "value": e["value"].capitalize()} for e in canon.get("emails") or []]
        elif f == "phones":
            patch["phones"] = [{"type": p["type"], "value": noisy_phone(p["value"])} for p in canon.get("phones") or []]
    return patch


@dataclass
class World:
    """Both sides, the links, and the engine between them."""

    settings: KindSettings = field(default_factory=lambda: KindSettings(google_group=None, crm_tag=TAG))
    # The realistic profile: Google's listings lag its writes (People's propagation delay).
    realistic: bool = False

    def __post_init__(self) -> None:
        self.crm = FakeCrm()
        self.crm.declare_fields(REFERENCE_FIELDS)
        self.crm.add_user("anna@corp.example", "Anna", user_id=USER)
        self.ids = StableIdCrm(self.crm)
        self.flaky = FlakyCrm(self.ids)
        google_side = LaggingSide if self.realistic else FakeSide
        self.google = google_side(Kind.CONTACTS, prefix="people/c")
        self.store = MemoryStore()
        self.links = RecordingLinks(self.store.connection_store("conn1"))
        self._keys = 0

    def engine(self) -> KindSync:
        side = CrmContacts(self.flaky, "conn1", USER, self.settings, OPTIONS, mapped=MAPPED)  # type: ignore[arg-type]
        return KindSync(
            Kind.CONTACTS, side, self.google, self.links, self.settings, clock=lambda: CLOCK, match_keys=match_keys
        )

    def sync(self) -> KindReport:
        return self.engine().run()

    # ------------------------------------------------------------ the user, in the CRM

    def crm_create(self, canon: Canon, tagged: bool) -> str:
        self._keys += 1
        body = {"owner_id": USER, "tags": [TAG] if tagged else [], **crm_patch(canon, (*SCALARS, *KEYED))}
        return self.ids.create("contacts", body, f"user-{self._keys}", on_behalf_of=USER).id

    def crm_update(self, rid: str, patch: Mapping[str, Any]) -> None:
        rec = self.ids.get("contacts", rid)
        self.ids.update("contacts", rid, patch, rec.version, on_behalf_of=USER)

    def crm_set_tag(self, rid: str, tagged: bool) -> None:
        rec = self.ids.get("contacts", rid)
        tags = sorted({*rec.tags, TAG} if tagged else set(rec.tags) - {TAG})  # type: ignore[union-attr]
        self.ids.update("contacts", rid, {"tags": tags}, rec.version, on_behalf_of=USER)

    def crm_delete(self, rid: str) -> None:
        self.ids.delete("contacts", rid, self.ids.get("contacts", rid).version, on_behalf_of=USER)

    # ------------------------------------------------------------ what each side holds

    def crm_live(self) -> dict[str, tuple[Canon, bool]]:
        """Every live CRM contact: (canonical form, in the sync's scope)."""
        inspector = CrmContacts(self.ids, "inspect", USER, self.settings, OPTIONS, mapped=MAPPED)  # type: ignore[arg-type]
        page = self.ids.changes("contacts", None, on_behalf_of=USER)
        records = {c.id: c.record for c in page.items if c.record is not None}
        canons = inspector.get(sorted(records))
        out = {}
        for rid, rec in records.items():
            canon = canons[rid].canon
            assert canon is not None, f"CRM contact {rid} does not normalise: {canons[rid].error}"
            out[rid] = (canon, TAG in getattr(rec, "tags", []))
        return out

    def google_live(self) -> dict[str, tuple[Canon, bool, str | None]]:
        """Every live Google contact: (canonical form, in scope, CRM id hint)."""
        return {rid: (dict(r.canon), r.in_scope, r.hint) for rid, r in self.google.records.items()}

    def hints(self) -> list[tuple[str, str]]:
        """(Google id, CRM id) of the Google contacts that carry the CRM id they were made from."""
        return [(rid, r.hint) for rid, r in self.google.records.items() if r.hint]

    def all_links(self) -> list[Link]:
        return list(self.links.all_links(Kind.CONTACTS))

    def clear_failures(self) -> None:
        self.flaky.fail.clear()
        self.google.fail_calls.clear()
        self.google.crash_after_writes = None

    def minutes_pass(self) -> None:
        """Long enough for every write to propagate to Google's listings (realistic profile)."""
        if isinstance(self.google, LaggingSide):
            self.google.propagate(everything=True)


def edit_log() -> EditLog:
    """The shared lost-edit oracle over the fields this machine's user edits."""
    return EditLog(SCALARS + KEYED, first_match_keeps_union=True)
