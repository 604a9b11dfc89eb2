"""The world the contact-sync state machine drives: a CRM fake behind a flaky
connector, a fake Google side, a link store, the engine, and a small model of
what the "user" did (edits, deletes) to judge the outcome against."""

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
from tests.support.machines import Edit, FlakyCrm, Groups, RecordingLinks, Removal, StableIdCrm

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


# ---------------------------------------------------------------- the model of the user's actions


ABSENT = object()  # an element removed from a multi-valued field


def holds(canon: Canon, field_name: str, key: str | None, value: Any) -> bool:
    """Whether ``canon`` carries what an edit set."""
    if key is None:
        return bool(canon.get(field_name) == value)
    types = {e["value"]: e["type"] for e in canon.get(field_name) or []}
    return (key not in types) if value is ABSENT else types.get(key) == value


def edits_of(seq: int, epoch: int, node: tuple[str, str], before: Canon, after: Canon) -> list[Edit]:
    """The edits that turn ``before`` into ``after``, one per scalar or element."""
    out = []
    for f in SCALARS:
        if before.get(f) != after.get(f):
            out.append(Edit(seq, epoch, node, f, None, after.get(f)))
    for f in KEYED:
        b = {e["value"]: e["type"] for e in before.get(f) or []}
        a = {e["value"]: e["type"] for e in after.get(f) or []}
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.append(Edit(seq, epoch, node, f, key, a.get(key, ABSENT)))
    return out


@dataclass
class Model:
    """What the user did, and the conflicts the engine reported."""

    seq: int = 0
    runs: int = 0
    edits: list[Edit] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    conflicts: list[tuple[int, str, str, str]] = field(default_factory=list)  # (run, crm id, google id, field)
    errors: list[str] = field(default_factory=list)
    groups: Groups = field(default_factory=Groups)
    # The last agreed (linked base) canon per record id, and for each edit the agreed value of its
    # field at the time: an edit back to that value is no change to a state-based sync.
    agreed: dict[tuple[str, str], Canon] = field(default_factory=dict)
    reverts: set[int] = field(default_factory=set)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def edited(self, node: tuple[str, str], before: Canon, after: Canon) -> None:
        new = edits_of(self.next_seq(), self.runs, node, before, after)
        base = self.agreed.get(node)
        for e in new:
            if base is not None and holds(base, e.field, e.key, e.value):
                self.reverts.add(id(e))
            elif base is None and e.key is not None and e.value is ABSENT:
                # An element removed from a record the sync never saw: to a state-based sync that
                # is a record which never had it, and matched with a counterpart holding the element,
                # the first merge (no common base) keeps the union.
                self.reverts.add(id(e))
        self.edits.extend(new)

    def created(self, node: tuple[str, str], canon: Canon) -> None:
        self.edited(node, gcanon({}), canon)

    def removed(self, node: tuple[str, str], snapshot: Canon) -> None:
        self.removals.append(Removal(self.next_seq(), node, snapshot))

    def observe(self, run: int, report: KindReport | None, links: Sequence[Link], world: World) -> None:
        """After a sync run (failed or not): remember conflicts, errors and which records are one contact."""
        if report is not None:
            self.errors.extend(report.errors)
            for c in report.conflicts:
                self.conflicts.append((run, c["crm_id"], c["google_id"], c["field"]))
                self.groups.union(("crm", c["crm_id"]), ("google", c["google_id"]))
        for cid, gid in world.links.ever:
            self.groups.union(("crm", cid), ("google", gid))
        for lk in links:
            self.groups.union(("crm", lk.crm_id), ("google", lk.google_id))
            self.agreed[("crm", lk.crm_id)] = lk.base
            self.agreed[("google", lk.google_id)] = lk.base
        for gid, (_, _, hint) in world.google_live().items():
            if hint:
                self.groups.union(("google", gid), ("crm", hint))

    # ------------------------------------------------------------ judging the end state

    def lost_edits(
        self,
        pairs: Sequence[tuple[str, str]],
        crm: Mapping[str, Canon],
        google: Mapping[str, Canon],
        alive: set[tuple[str, str]],
        out_of_scope: set[tuple[str, str]],
        solo: Mapping[tuple[str, str], Canon] | None = None,
    ) -> list[str]:
        """Every last edit of a field that is neither present on both sides of its contact, nor
        superseded, nor resolved in a recorded conflict, nor removed by the user afterwards, nor
        made to a record the user keeps out of the sync's scope."""
        find = self.groups.find
        last: dict[tuple[Any, str, str | None], Edit] = {}
        for e in self.edits:
            last[(find(e.node), e.field, e.key)] = e  # later edits supersede earlier ones
        live_pairs: dict[Any, list[tuple[str, str]]] = {}
        for cid, gid in pairs:
            live_pairs.setdefault(find(("crm", cid)), []).append((cid, gid))
        problems = []
        for (group, fname, key), e in sorted(last.items(), key=lambda kv: kv[1].seq):
            if e.node in out_of_scope or self._conflicted(e, group):
                continue
            if id(e) in self.reverts:
                continue  # set back to the agreed value: indistinguishable from no edit, by design
            if e.node not in alive and self._removed_after(e, group):
                continue
            if solo and e.node in solo and holds(solo[e.node], fname, key, e.value):
                continue  # an unlinked record kept after its counterpart left scope holds its own edit
            mine = [p for p in live_pairs.get(group, []) if e.node in (("crm", p[0]), ("google", p[1]))]
            candidates = mine or live_pairs.get(group, [])
            if not candidates:
                problems.append(f"{e} vanished: no live contact holds it and no user removal excuses it")
                continue
            if not any(
                holds(crm[c], fname, key, e.value) and holds(google[g], fname, key, e.value) for c, g in candidates
            ):
                shown = [(c, crm[c].get(fname), g, google[g].get(fname)) for c, g in candidates]
                problems.append(f"{e} lost: the contact now holds {shown}")
        return problems

    def _conflicted(self, e: Edit, group: Any) -> bool:
        find = self.groups.find
        return any(
            run >= e.epoch and f == e.field and find(("crm", cid)) == group for run, cid, _gid, f in self.conflicts
        )

    def _removed_after(self, e: Edit, group: Any) -> bool:
        """The user removed the edited record later, or removed its counterpart after the edit reached it."""
        return any(
            self.groups.find(r.node) == group
            and (
                (r.seq > e.seq and (r.node == e.node or holds(r.snapshot, e.field, e.key, e.value)))
                # An edit back to the very value the deleted counterpart held adds nothing the
                # user's delete did not already remove (the record equals the agreed base).
                or (r.seq < e.seq and r.node != e.node and holds(r.snapshot, e.field, e.key, e.value))
            )
            for r in self.removals
        )
