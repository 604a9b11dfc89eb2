"""Per-account People data: contacts, contact groups and the change log that serves sync tokens.

Every write gives the contact a new per-account change sequence number and
appends ``(seq, key)`` to an append-only log; a listing walks the log from a
position found by bisection, skipping superseded entries, so a sync page costs
O(page + changes), never O(all contacts). Deleted contacts stay as tombstones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .core import ApiError, EmulatorState, rfc3339
from .people_contact import Contact, digest
from .people_limits import Fields, check_room, check_size
from .people_model import finish_items
from .people_replica import ContactLog, Replica
from .realism import realism

PEOPLE_STORE = "people"
MY_CONTACTS = "myContacts"
STARRED = "starred"
# System groups: (id, formattedName, members may be added). The deprecated ones only allow removal.
SYSTEM_GROUPS = [
    (MY_CONTACTS, "My Contacts", True),
    (STARRED, "Starred", True),
    ("friends", "Friends", False),
    ("family", "Family", False),
    ("coworkers", "Coworkers", False),
    # Real accounts also have these (contactGroups.list shows them); no client adds to them.
    ("chatBuddies", "Chat contacts", False),
    ("all", "All Contacts", False),
    ("blocked", "Blocked", False),
]
NOT_FOUND = "Requested entity was not found."


@dataclass
class Group:
    """One contact group (system or user)."""

    id: str
    name: str
    system: bool
    formatted_name: str
    client_data: list[dict[str, str]] = field(default_factory=list)
    version: int = 0
    update_time: str = ""
    seq: int = 0
    deleted: bool = False
    addable: bool = True

    @property
    def resource_name(self) -> str:
        return "contactGroups/" + self.id

    @property
    def etag(self) -> str:
        return "#" + digest(f"g{self.id}.{self.version}", 9)


class PeopleStore(ContactLog):
    """One account's contacts and contact groups."""

    def __init__(self, state: EmulatorState, email: str) -> None:
        super().__init__()
        self.state = state
        self.email = email
        self.account_tag = digest(email, 6)  # ties tokens to the account
        self.token_epoch = 0  # bumped by expire_sync_tokens: older tokens are expired
        self.groups: dict[str, Group] = {}
        self.members: dict[str, dict[str, None]] = {}
        self.replica: Replica | None = None  # while writes take time to reach sync listings
        stamp = rfc3339(state.clock.now())
        for gid, label, addable in SYSTEM_GROUPS:
            self.groups[gid] = Group(gid, gid, True, label, addable=addable)
            self.members[gid] = {}
            self._touch_group(self.groups[gid], stamp)

    # ------------------------------------------------------------------ ids and bookkeeping

    def region(self) -> str:
        return str(self.state.extras.get("people.default_region", "US"))

    def new_key(self) -> tuple[str, str]:
        """A fresh (key, hex source id) pair, 16 hex digits like Google's."""
        while True:
            num = (self.state.next_id() * 0x9E3779B97F4A7C15) % (1 << 60) + (1 << 60)
            key = f"c{num}"
            if key not in self.contacts:
                return key, f"{num:x}"

    def follow_settings(self) -> None:
        """Start or stop the lagging replica as the account's propagation setting says; sync tokens
        issued before the switch are expired (they count positions in the other log)."""
        delay = realism(self.state, self.email).people_propagation_seconds
        if (delay > 0) != (self.replica is not None):
            self.replica = Replica(list(self.contacts.values()), delay, self.account_tag) if delay > 0 else None
            self.token_epoch += 1
        if self.replica is not None:
            self.replica.max_delay = delay

    def sync_view(self) -> ContactLog:
        """What sync listings and search see now: the store, or the writes that have propagated."""
        if self.replica is None:
            return self
        self.replica.catch_up(self.state.clock.now().timestamp())
        return self.replica

    def _touch(self, contact: Contact, stamp: str) -> None:
        self.seq += 1
        contact.seq = self.seq
        contact.version = self.state.next_id()
        contact.update_time = stamp
        contact.cache = None
        self._append(contact)
        if self.replica is not None:
            self.replica.record(contact, self.state.clock.now().timestamp())

    def _touch_group(self, group: Group, stamp: str) -> None:
        self.seq += 1
        group.seq = self.seq
        group.version = self.state.next_id()
        group.update_time = stamp

    # ------------------------------------------------------------------ contacts

    def get(self, key: str) -> Contact:
        """A live contact or a 404."""
        contact = self.contacts.get(key)
        if contact is None or contact.deleted:
            raise ApiError(404, NOT_FOUND)
        return contact

    def resolve_groups(self, memberships: list[dict[str, Any]], where: str = "person.memberships") -> list[str]:
        """Group ids named by membership items; 400 for unknown or non-addable groups."""
        ids: list[str] = []
        for item in memberships:
            cgm = item.get("contactGroupMembership") or {}
            # contactGroupId is output only (ContactGroupMembership reference): a write names the group
            # by contactGroupResourceName; a membership giving only the id names no group.
            name = cgm.get("contactGroupResourceName") or ""
            if not name:
                continue
            gid = name.removeprefix("contactGroups/")
            group = self.groups.get(gid)
            if not name.startswith("contactGroups/") or group is None or group.deleted:
                raise ApiError(400, f"Invalid {where}: contact group {name!r} does not exist.")
            if not group.addable:
                raise ApiError(400, f"Invalid {where}: contacts cannot be added to the system group {name!r}.")
            if gid not in ids:
                ids.append(gid)
        return ids

    def _finish(self, contact: Contact, cleaned: dict[str, list[dict[str, Any]]]) -> None:
        source, region = contact.source(), self.region()
        for name, items in cleaned.items():
            if name == "memberships":
                continue
            if items:
                contact.fields[name] = finish_items(name, items, source, region)
            else:
                contact.fields.pop(name, None)

    def check_room(self, adding: int) -> None:
        """400 when ``adding`` contacts would pass the account's contact limit."""
        check_room(self.state, self.live, adding)

    def check_size(self, fields: Fields, where: str = "person") -> None:
        """400 when a contact with ``fields`` would pass the per-contact size."""
        check_size(self.state, fields, where)

    def check_update_size(self, contact: Contact, cleaned: Fields, fields: list[str], where: str = "person") -> None:
        """``check_size`` of the contact as an update of ``fields`` would leave it."""
        after = {k: v for k, v in contact.fields.items() if k not in fields}
        check_size(self.state, {**after, **{f: cleaned.get(f, []) for f in fields}}, where)

    def create(self, cleaned: dict[str, list[dict[str, Any]]], stamp: str, key: str | None = None) -> Contact:
        """A new contact in myContacts plus any groups its memberships name."""
        self.check_room(1)
        self.check_size(cleaned)
        groups = self.resolve_groups(cleaned.get("memberships", []))
        if key is None:
            key, source_id = self.new_key()
        else:
            source_id = f"{int(key[1:]):x}"
        contact = Contact(key, source_id, {}, [])
        self._finish(contact, cleaned)
        self.contacts[key] = contact
        self.live += 1
        self.set_groups(contact, [MY_CONTACTS, *[g for g in groups if g != MY_CONTACTS]], stamp, touch=False)
        self._touch(contact, stamp)
        return contact

    def update(self, contact: Contact, cleaned: dict[str, list[dict[str, Any]]], fields: list[str], stamp: str) -> None:
        """Replace ``fields`` of a contact with the cleaned values (absent = cleared)."""
        self.check_update_size(contact, cleaned, fields)
        if "memberships" in fields:
            groups = self.resolve_groups(cleaned.get("memberships", []))
            if not groups:
                raise ApiError(400, "Invalid person.memberships: at least one contact group membership is required.")
            self.set_groups(contact, groups, stamp, touch=False)
        self._finish(contact, {f: cleaned.get(f, []) for f in fields})
        self._touch(contact, stamp)

    def set_groups(self, contact: Contact, groups: list[str], stamp: str, *, touch: bool = True) -> None:
        """Set a contact's groups, keeping member indexes and group etags/counts right."""
        old, new = set(contact.groups), set(groups)
        for gid in old - new:
            self.members[gid].pop(contact.key, None)
            self._touch_group(self.groups[gid], stamp)
        for gid in new - old:
            self.members[gid][contact.key] = None
            self._touch_group(self.groups[gid], stamp)
        contact.groups = list(groups)
        if touch:
            self._touch(contact, stamp)
        else:
            contact.cache = None

    def delete(self, contact: Contact, stamp: str) -> None:
        """Turn a contact into a tombstone (kept to serve sync tokens)."""
        for gid in contact.groups:
            self.members[gid].pop(contact.key, None)
            self._touch_group(self.groups[gid], stamp)
        contact.groups = []
        contact.fields = {}
        contact.deleted = True
        self.live -= 1
        self._touch(contact, stamp)

    # ------------------------------------------------------------------ groups

    def group(self, gid: str) -> Group:
        """A live group or a 404."""
        group = self.groups.get(gid)
        if group is None or group.deleted:
            raise ApiError(404, NOT_FOUND)
        return group

    def new_group(self, name: str, client_data: list[dict[str, str]], stamp: str, gid: str | None = None) -> Group:
        """A user contact group; 409 when the name is taken."""
        self.check_group_name(name, None)
        gid = gid or f"{self.state.next_id() * 0x9E3779B97F4A7C15 % (1 << 48):x}"
        group = Group(gid, name, False, name, client_data)
        self.groups[gid] = group
        self.members[gid] = {}
        self._touch_group(group, stamp)
        return group

    def check_group_name(self, name: str, own_id: str | None) -> None:
        """400 for an empty name, 409 when another live group already has it."""
        if not name.strip():
            raise ApiError(400, "Invalid contactGroup.name: the name must not be empty.")
        for g in self.groups.values():
            if not g.deleted and g.id != own_id and (g.name == name or g.formatted_name == name):
                raise ApiError(409, f'Contact group name "{name}" already exists.', status="ALREADY_EXISTS")

    def group_view(self, group: Group, fields: list[str], max_members: int = 0) -> dict[str, Any]:
        """A ContactGroup resource restricted to ``fields``."""
        out: dict[str, Any] = {"resourceName": group.resource_name, "etag": group.etag}
        if group.deleted:
            out["metadata"] = {"updateTime": group.update_time, "deleted": True}
            return out
        if "metadata" in fields:
            out["metadata"] = {"updateTime": group.update_time}
        if "groupType" in fields:
            out["groupType"] = "SYSTEM_CONTACT_GROUP" if group.system else "USER_CONTACT_GROUP"
        if "name" in fields:
            out["name"] = group.name
            out["formattedName"] = group.formatted_name
        if "memberCount" in fields:
            out["memberCount"] = len(self.members[group.id])
        if "clientData" in fields and group.client_data:
            out["clientData"] = group.client_data
        if max_members > 0:
            names = ["people/" + k for k in self.members[group.id]]
            out["memberResourceNames"] = names[:max_members]
        return out

    def delete_group(self, group: Group, stamp: str, *, delete_contacts: bool) -> None:
        """Delete a user group; its members lose the membership or, if asked, are deleted."""
        for key in list(self.members[group.id]):
            contact = self.contacts[key]
            if delete_contacts:
                self.delete(contact, stamp)
            else:
                self.set_groups(contact, [g for g in contact.groups if g != group.id], stamp)
        group.deleted = True
        group.client_data = []
        self._touch_group(group, stamp)


def store_for(state: EmulatorState, account: Any) -> PeopleStore:
    """The account's People store, created on first use."""
    store: PeopleStore = account.store(PEOPLE_STORE, lambda: PeopleStore(state, account.email))
    store.follow_settings()
    return store
