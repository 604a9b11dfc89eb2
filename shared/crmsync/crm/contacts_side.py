"""The CRM's contacts as the engine sees them: a ``RecordSide`` over any
``CrmConnector``, in canonical form, with companies linked by name."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from ..model.contact import ADDRESS_PARTS, canonical_contact
from ..model.field_mapping import MappedFields
from ..model.kinds import Kind, Side
from ..model.link import Canon
from ..model.names import plain_name
from ..model.normalise import unreadable
from ..model.settings import ContactOptions, KindSettings
from ..model.typed_numbers import TypedNumbers, typed_forms
from ..ports import Change, Listing, OpCounter, WriteOp, WriteResult
from . import custom_side
from .bulk_writes import BULK_MAX, write_result
from .capabilities import DeclaresKeyRetention, companies_offered
from .contact_adapt import adapt
from .converge import bulk_converging
from .feed import feed_change, guard, parse_time, read_feed
from .held_values import write_holding_refused
from .models import Contact
from .port import BulkCreate, BulkDelete, BulkOp, BulkResult, BulkUpdate, CrmConnector
from .port import Change as FeedChange

PAGE = 1000
# Canonical contact field -> the CRM contract's field (the default field mapping).
NAME_FIELDS = {
    "prefix": "name_prefix",
    "given": "given_name",
    "middle": "middle_name",
    "family": "family_name",
    "suffix": "name_suffix",
    "title": "title",
    "department": "department",
    "notes": "notes",
}


@dataclass
class CrmContacts(DeclaresKeyRetention):
    """Contacts of one CRM user, through the connector, as canonical records."""

    connector: CrmConnector
    connection_id: str
    crm_user_id: str
    settings: KindSettings
    options: ContactOptions = field(default_factory=ContactOptions)
    counter: OpCounter = field(default_factory=OpCounter)
    kind: Kind = Kind.CONTACTS
    mapped: MappedFields = field(default_factory=MappedFields)  # the admin's custom fields of contacts
    numbers: TypedNumbers | None = None  # how each side typed its phones (shared with Google's side by the wiring)
    _seen: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict, init=False)  # id -> version, phones
    _company_names: dict[str, str] = field(default_factory=dict, init=False)
    _company_ids: dict[str, str | None] = field(default_factory=dict, init=False)
    _companies: bool | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.numbers is None:
            self.numbers = TypedNumbers(self.options.default_region)

    @property
    def typed(self) -> TypedNumbers:
        assert self.numbers is not None
        return self.numbers

    @property
    def link_companies(self) -> bool:
        """Organisations are linked to CRM companies: the admin's option, if the CRM has companies."""
        if self._companies is None:
            self._companies = self.options.link_companies and companies_offered(self.connector)
        return self._companies

    # ----------------------------------------------------------------- reading

    def list_changes(self, token: str | None) -> Listing:
        """Every feed entry after ``token`` (all pages); from the start when None."""
        read = read_feed(
            self.connector,
            "contacts",
            token,
            crm_user_id=self.crm_user_id,
            settings=self.settings,
            counter=self.counter,
        )
        self._load_company_names([e.record for e in read.entries if isinstance(e.record, Contact)])
        return Listing([self._change(e) for e in read.entries], read.cursor, full=read.full)

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current records by id (deleted or invisible ones are absent)."""
        found: list[Contact] = []
        for start in range(0, len(ids), PAGE):
            part = list(ids[start : start + PAGE])
            with self._guard("crm.get_many"):
                records = self.connector.get_many("contacts", part, on_behalf_of=self.crm_user_id)
            found.extend(r for r in records if isinstance(r, Contact))
        self._load_company_names(found)
        return {r.id: self._record_change(r) for r in found}

    def _change(self, entry: FeedChange) -> Change:
        return feed_change(entry, Contact, self._record_change)

    def _record_change(self, record: Contact) -> Change:
        phones = [p.model_dump() for p in record.phones]
        self.typed.note(Side.CRM, phones)
        self._seen[record.id] = (record.version, typed_forms(phones, self.options.default_region))
        try:
            canon = canonical_contact(self.raw(record), default_region=self.options.default_region)
            canon.update(custom_side.read(self.mapped, record.custom_fields))
        except Exception as err:  # one record's odd value skips that record, never the run
            when, version = parse_time(record.updated_at), str(record.version)
            email = next((e.value for e in record.emails if e.value), None)
            name = plain_name(record.given_name, record.family_name) or plain_name(email)
            return Change(record.id, None, when, version, error=unreadable(err), name=name)
        return Change(record.id, canon, parse_time(record.updated_at), str(record.version))

    def raw(self, record: Contact) -> dict[str, Any]:
        """The CRM record as a raw contact dict (see ``canonical_contact``)."""
        raw: dict[str, Any] = {canon: getattr(record, crm) for canon, crm in NAME_FIELDS.items()}
        raw["emails"] = [e.model_dump() for e in record.emails]
        raw["phones"] = [p.model_dump() for p in record.phones]
        raw["urls"] = [u.model_dump() for u in record.urls]
        raw["addresses"] = [a.model_dump() for a in record.addresses]
        raw["birthday"] = record.birthday.model_dump() if record.birthday else None
        raw["company"] = self._company_names.get(record.company_id or "") if self.link_companies else None
        raw["groups"] = sorted(record.tags) if self.options.groups_as_tags else []
        return raw

    def _load_company_names(self, records: Sequence[Contact]) -> None:
        wanted = sorted({r.company_id for r in records if r.company_id and r.company_id not in self._company_names})
        if not wanted or not self.link_companies:
            return
        for start in range(0, len(wanted), PAGE):
            part = wanted[start : start + PAGE]
            with self._guard("crm.get_many"):
                companies = self.connector.get_many("companies", part)
            for company in companies:
                name = getattr(company, "name", None)
                if name:
                    self._company_names[company.id] = name

    # ----------------------------------------------------------------- writing

    def _body(self, fields: Canon, *, creating: bool, own: dict[str, str] | None = None) -> dict[str, Any]:
        """The CRM patch (or create body) for canonical fields; a phone is written as the record
        already holds it (``own``: canonical -> typed), else as Google typed it (see typed_numbers)."""
        body: dict[str, Any] = {}
        for canon, value in fields.items():
            if canon in NAME_FIELDS:
                body[NAME_FIELDS[canon]] = value
            elif canon == "phones":
                body[canon] = [
                    {"type": v["type"], "value": self.typed.written(Side.CRM, v["value"], own)} for v in value or []
                ]
            elif canon in ("emails", "urls"):
                body[canon] = [{"type": v["type"], "value": v["value"]} for v in value or []]
            elif canon == "addresses":
                body[canon] = [{"type": a["type"], **{p: a.get(p) for p in ADDRESS_PARTS}} for a in value or []]
            elif canon == "birthday":
                body[canon] = value
            elif canon == "company" and self.link_companies:
                body["company_id"] = self._company_id(value)
            elif canon == "groups" and self.options.groups_as_tags:
                body["tags"] = sorted({*(value or []), *([self.settings.crm_tag] if self.settings.crm_tag else [])})
        custom = custom_side.patch(self.mapped, fields)
        if custom:
            body["custom_fields"] = {k: v for k, v in custom.items() if v is not None or not creating}
        if creating:
            body.setdefault("owner_id", self.crm_user_id)
            if self.settings.crm_tag:
                body["tags"] = sorted({*body.get("tags", []), self.settings.crm_tag})
        return body

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """An organisation the CRM has no company for (and may not create), or any while companies
        are not linked, and Google groups while they are not mirrored as tags: the CRM record keeps
        its own value. Company names are looked up once per run, never created here."""
        keeps: Canon = {}
        name = wanted.get("company")
        if "company" in wanted and (not self.link_companies or (name and not self._holds_company(name))):
            keeps["company"] = record.get("company")
        if "groups" in wanted and not self.options.groups_as_tags:
            keeps["groups"] = record.get("groups")
        return {**keeps, **self.mapped.kept(record, wanted, crm=True)}

    def _holds_company(self, name: str) -> bool:
        key = name.casefold()
        if self.options.create_companies or self._company_ids.get(key):
            return True
        if key not in self._company_ids:
            with self._guard("crm.find_companies"):
                found = self.connector.find_companies(name=name)
            self._company_ids[key] = found[0].id if found else None
            if found:
                self._company_names[found[0].id] = name
        return bool(self._company_ids[key])

    def _company_id(self, name: str | None) -> str | None:
        """The CRM company for an organisation name: matched by name, optionally created."""
        if not name:
            return None
        key = name.casefold()
        if key not in self._company_ids:
            with self._guard("crm.find_companies"):
                found = self.connector.find_companies(name=name)
            if found:
                self._company_ids[key] = found[0].id
            elif self.options.create_companies:
                with self._guard("crm.create"):
                    created = self.connector.create(
                        "companies", {"name": name}, _key(self.connection_id, "company", key)
                    )
                self._company_ids[key] = created.id
            else:
                self._company_ids[key] = None
        company_id = self._company_ids[key]
        if company_id:
            self._company_names[company_id] = name
        return company_id

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Create contacts; each carries an idempotency key derived from the
        connection and the Google id, so a retried run never creates twice."""

        def make(op: WriteOp, body: dict[str, Any], held: str) -> BulkOp:
            return BulkCreate(body, _key(self.connection_id, "contacts", op.idempotency + held))

        return self._write(ops, [self._body(op.fields, creating=True) for op in ops], make)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Patch changed fields only, If-Match the version last seen."""

        def make(op: WriteOp, body: dict[str, Any], held: str) -> BulkOp:
            return BulkUpdate(str(op.target_id), int(op.version or 0), body)

        own = self._phones_held([op for op in ops if "phones" in op.fields])
        bodies = [self._body(op.fields, creating=False, own=own.get(str(op.target_id))) for op in ops]
        return self._write(ops, bodies, make)

    def _phones_held(self, ops: Sequence[WriteOp]) -> dict[str, dict[str, str]]:
        """How the records ``ops`` patch hold their phones now (canonical -> typed): from this run's
        read when its version is the one the op expects, else read again (one call per 1000)."""
        stale = [
            str(op.target_id) for op in ops if self._seen.get(str(op.target_id), (None,))[0] != int(op.version or 0)
        ]
        if stale:
            self.get(stale)
        return {str(op.target_id): self._seen[str(op.target_id)][1] for op in ops if str(op.target_id) in self._seen}

    def _write(
        self,
        ops: Sequence[WriteOp],
        bodies: list[dict[str, Any]],
        make: Callable[[WriteOp, dict[str, Any], str], BulkOp],
    ) -> list[WriteResult]:
        """Send creates or patches: values the CRM's format cannot take as they are adapted (see
        contact_adapt); a contact the CRM still refuses for some values is sent once more without
        them (held in Google, named in the notes), so the rest of it reaches the CRM."""
        return write_holding_refused(ops, [adapt(b) for b in bodies], make, self._bulk)

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete, If-Match the version last seen (a newer edit makes it a conflict)."""
        bulk: list[BulkOp] = [BulkDelete(str(op.target_id), int(op.version or 0)) for op in ops]
        return [res for res, _ in self._bulk(ops, bulk, missing_ok=True)]

    def _bulk(
        self, ops: Sequence[WriteOp], bulk: list[BulkOp], *, missing_ok: bool = False
    ) -> list[tuple[WriteResult, BulkResult]]:
        out: list[tuple[WriteResult, BulkResult]] = []
        for start in range(0, len(bulk), BULK_MAX):
            part = bulk[start : start + BULK_MAX]
            with self._guard("crm.bulk"):
                results = bulk_converging(self.connector, "contacts", part, on_behalf_of=self.crm_user_id)
            company_ids = [
                r.record.company_id for r in results if isinstance(r.record, Contact) and r.record.company_id
            ]
            missing = [c for c in company_ids if c not in self._company_names]
            if missing:
                self._load_company_names([r.record for r in results if isinstance(r.record, Contact)])
            out.extend(
                (write_result(op, res, Contact, self._record_change, missing_ok=missing_ok, what="contact"), res)
                for op, res in zip(ops[start : start + BULK_MAX], results, strict=True)
            )
        return out

    def _guard(self, name: str) -> AbstractContextManager[None]:
        return guard(self.counter, name)


def _key(connection_id: str, kind: str, source_id: str) -> str:
    """A stable idempotency key for creating ``source_id``'s counterpart."""
    return "crmsync-" + hashlib.sha256(f"{connection_id}|{kind}|{source_id}".encode()).hexdigest()[:40]
