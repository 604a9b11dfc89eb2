"""The Google side of contact sync: the People API as a ``RecordSide`` for ``Kind.CONTACTS``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..model.custom import is_custom
from ..model.field_mapping import MappedFields
from ..model.kinds import Kind, Side
from ..model.link import Canon
from ..model.names import plain_name
from ..model.normalise import unreadable
from ..model.settings import ContactOptions
from ..model.typed_numbers import TypedNumbers
from ..ports import Change, Listing, OpCounter, WriteOp, WriteResult
from . import people_custom
from .errors import SyncTokenExpired, Transient
from .paging import fetch_all
from .people_custom import CUSTOM_PERSON_FIELDS
from .people_groups import GroupDirectory
from .people_mapping import (
    CONTENT_FIELDS,
    READ_MASK,
    client_data_with,
    crm_id_of,
    group_ids,
    is_deleted,
    person_body,
    person_canon,
    person_fields,
    updated_at,
)
from .people_models import Person
from .people_preserve import preserve
from .people_writes import WriteBatches
from .retry import Caller

CLIENT_DATA = "clientData"  # where a contact we created keeps its CRM id

ME = "people/me"
PAGE_SIZE = 1000
MAX_GET = 200


class GooglePeople:
    """Google contacts in canonical form: listings by sync token, batched reads and writes.

    Mutations are sent one request at a time (Google asks for sequential writes
    per user), through the API's own batch methods; transient failures are retried
    with backoff, then raised as ``Transient``.
    """

    kind = Kind.CONTACTS

    def __init__(
        self,
        service: Any,
        *,
        options: ContactOptions,
        counter: OpCounter,
        group_name: str | None = "CRM",
        group_resource_name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        attempts: int = 5,
        numbers: TypedNumbers | None = None,
        mapped: MappedFields | None = None,
    ) -> None:
        self.service = service
        self.mapped = mapped or MappedFields()  # the admin's custom fields of contacts
        self.options = options
        self.counter = counter
        self.call = Caller(counter, sleep=sleep, rng=rng, attempts=attempts)
        self.groups = GroupDirectory(self.call, service, group_name, group_resource_name)
        self.writes = WriteBatches(self)
        self.seen: dict[str, dict[str, Any]] = {}  # raw Persons as last read, by resource name (updates lay over them)
        self.numbers = numbers or TypedNumbers(options.default_region)  # how each side typed its phones

    @property
    def group_resource_name(self) -> str | None:
        """The scope group's resource name once known (persist it and pass it next time)."""
        return self.groups.scope_resource_name

    # ------------------------------------------------------------------ plumbing

    def to_change(self, item: dict[str, Any], scope: str | None, tags: dict[str, str] | None) -> Change:
        """One listed or fetched Person as a ``Change``."""
        person = Person.model_validate(item)
        rid, version, when = str(person.resource_name), person.etag, updated_at(person)
        self.seen[rid] = item
        self.numbers.note(Side.GOOGLE, item.get("phoneNumbers") or [])
        if is_deleted(person):
            return Change(rid, None, when, version)
        hint = crm_id_of(person)
        try:
            canon = person_canon(person, default_region=self.options.default_region, group_names=tags)
            canon.update(people_custom.read(item, self.mapped))
        except Exception as err:  # one record's odd value skips that record, never the run
            return Change(rid, None, when, version, crm_id_hint=hint, error=unreadable(err), name=_name_of(person))
        # With a scope group configured, only its members are in scope (none while it does not exist).
        in_scope = self.groups.scope_name is None or (scope is not None and scope in group_ids(person))
        return Change(rid, canon, when, version, in_scope=in_scope, crm_id_hint=hint)

    def tag_map(self) -> dict[str, str] | None:
        """Group resource name -> tag name when groups are mirrored as tags, else None."""
        return self.groups.tag_names() if self.options.groups_as_tags else None

    # ------------------------------------------------------------------ RecordSide

    def list_changes(self, token: str | None) -> Listing:
        """Every contact change since ``token`` (all pages); a full listing when it is None or expired."""
        params = {"resourceName": ME, "personFields": READ_MASK, "pageSize": PAGE_SIZE, "requestSyncToken": True}
        full = token is None
        try:
            paged = self._list({**params, "syncToken": token} if token else params)
        except SyncTokenExpired:
            full = True
            paged = self._list(params)
        if not paged.items:
            return Listing([], paged.next_sync_token, full)
        scope, tags = self.groups.scope(create=True), self.tag_map()
        return Listing([self.to_change(i, scope, tags) for i in paged.items], paged.next_sync_token, full)

    def _list(self, params: dict[str, Any]) -> Any:
        connections = self.service.people().connections()

        def page(token: str | None) -> dict[str, Any]:
            extra = {"pageToken": token} if token else {}
            return self.call("people.connections.list", lambda: connections.list(**params, **extra))

        return fetch_all(page, "connections")

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current contacts by resource name (missing ones are absent)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        found = self.fetch(wanted, READ_MASK)
        scope, tags = self.groups.scope(create=False), self.tag_map()
        return {rid: self.to_change(p, scope, tags) for rid, p in found.items()}

    def fetch(self, ids: Sequence[str], mask: str) -> dict[str, dict[str, Any]]:
        """Raw Persons by resource name through ``getBatchGet`` (≤ 200 per call); missing ones absent."""
        out: dict[str, dict[str, Any]] = {}
        people = self.service.people()
        for start in range(0, len(ids), MAX_GET):
            part = list(ids[start : start + MAX_GET])

            def request(names: list[str] = part) -> Any:
                return people.getBatchGet(resourceNames=names, personFields=mask)

            resp = self.call("people.getBatchGet", request)
            for r in resp.get("responses") or []:
                code = int(r.get("httpStatusCode") or (200 if r.get("person") else 0))
                if code == 200 and r.get("person"):
                    out[str(r.get("requestedResourceName") or r["person"]["resourceName"])] = r["person"]
                elif code == 429 or code >= 500:
                    raise Transient(
                        f"people.getBatchGet: HTTP {code} for {r.get('requestedResourceName')}", status=code
                    )
        return out

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Create contacts (≤ 200 per call) carrying the CRM id in ``clientData`` and the scope group."""
        return self.writes.create(ops)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Update the changed fields (≤ 200 per call), each conditional on its etag."""
        return self.writes.update(ops)

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete contacts (≤ 500 per call); one already gone counts as deleted."""
        return self.writes.delete(ops)

    # ------------------------------------------------------------------ bodies

    def memberships(self, canon: dict[str, Any], *, for_update: bool) -> list[str]:
        """Groups a contact is written into: the scope group, plus its tags when groups are tags
        (and My Contacts on updates, where the list replaces every membership)."""
        out = ["contactGroups/myContacts"] if for_update else []
        scope = self.groups.scope(create=True)
        if scope:
            out.append(scope)
        if self.options.groups_as_tags:
            out += [g for g in self.groups.ensure_tags(canon.get("groups") or []) if g not in out]
        return out

    def create_body(self, op: WriteOp) -> dict[str, Any]:
        """The Person to create for one op."""
        fields = [*CONTENT_FIELDS, "memberships"]
        body = person_body(
            op.full,
            fields,
            memberships=self.memberships(op.full, for_update=False),
            crm_id=op.crm_id,
            phone=self._phone,
        )
        for field in sorted(people_custom.person_fields(op.full, self.mapped)):
            body[field] = people_custom.items(field, op.full, self.mapped, [])
        return body

    def _phone(self, value: str) -> str:
        """A canonical phone as written into Google: as the CRM typed it (E.164 only for comparing)."""
        return self.numbers.written(Side.GOOGLE, value)

    def update_mask(self, ops: Sequence[WriteOp]) -> list[str]:
        """The union of Person fields the ops change."""
        groups = self.options.groups_as_tags
        out = {f for op in ops for f in person_fields([k for k in op.fields if not is_custom(k)], groups=groups)}
        out |= {CLIENT_DATA for op in ops if op.crm_id is not None}  # the pair's new CRM id (re-created there)
        return sorted(out | {f for op in ops for f in people_custom.person_fields(op.fields, self.mapped)})

    def update_body(self, op: WriteOp, mask: Sequence[str], current: dict[str, Any] | None = None) -> dict[str, Any]:
        """The Person sent for one update: every masked field from the merged record, laid over
        ``current`` (the Person as Google holds it, see people_preserve), with the etag."""
        members = self.memberships(op.full, for_update=True) if "memberships" in mask else []
        holders = [f for f in mask if f in CUSTOM_PERSON_FIELDS]
        fields = [f for f in mask if f not in holders and f != CLIENT_DATA]
        body = person_body(op.full, fields, memberships=members, etag=op.version, phone=self._phone)
        if current is not None:
            region = self.options.default_region
            for field in fields:
                if field != "memberships":
                    body[field] = preserve(field, body[field], op.full, current, region)
        for field in holders:
            body[field] = people_custom.items(field, op.full, self.mapped, (current or {}).get(field) or [])
        if CLIENT_DATA in mask and op.crm_id is not None:
            body[CLIENT_DATA] = client_data_with((current or {}).get(CLIENT_DATA) or [], op.crm_id)
        return body

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """Custom fields mapped google_to_crm: Google keeps its own value."""
        return self.mapped.kept(record, wanted, crm=False)

    def current(self, ops: Sequence[WriteOp]) -> dict[str, dict[str, Any]]:
        """The Persons ``ops`` update, as Google holds them at the etag the ops expect: from the
        last read when its etag matches, else read again (one getBatchGet per 200)."""
        out = {str(op.target_id): self.seen[str(op.target_id)] for op in ops if self._seen_at(op)}
        missing = [str(op.target_id) for op in ops if str(op.target_id) not in out]
        if missing:
            for rid, person in self.fetch(missing, READ_MASK).items():
                self.seen[rid] = person
                out[rid] = person
        return out

    def _seen_at(self, op: WriteOp) -> bool:
        item = self.seen.get(str(op.target_id))
        return item is not None and item.get("etag") == op.version


def _name_of(person: Person) -> str | None:
    """The person's name as Google shows it, else the first e-mail address (for a record left out)."""
    first = person.names[0] if person.names else None
    name = plain_name(first.given_name, first.family_name) if first is not None else None
    return name or plain_name(next((e.value for e in person.email_addresses or [] if e.value), None))
