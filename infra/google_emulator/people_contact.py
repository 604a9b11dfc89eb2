"""One stored contact of the People emulator (or its tombstone): its fields, groups and version,
and the Person resource it shows. Kept apart from the store (people_store) so the replica that
delays what listings show (people_replica) can hold contacts without importing the store."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .people_model import FIELD_ORDER

CONTACT_ID = re.compile(r"c\d{1,20}")  # the id in a contact's resource name people/c<digits>


def digest(text: str, size: int = 12) -> str:
    return base64.b64encode(hashlib.blake2b(text.encode(), digest_size=size).digest()).decode()


@dataclass
class Contact:
    """One contact (or its tombstone once deleted)."""

    key: str  # "c<decimal>": the id in "people/c<decimal>"
    source_id: str  # the same number in hex, as Google's CONTACT source id
    fields: dict[str, list[dict[str, Any]]]
    groups: list[str]
    version: int = 0  # a process-wide id drawn at each write; etags derive from it
    update_time: str = ""
    seq: int = 0
    deleted: bool = False
    cache: dict[str, Any] | None = None

    @property
    def resource_name(self) -> str:
        return "people/" + self.key

    @property
    def etag(self) -> str:
        return "%Eg" + digest(f"{self.key}.{self.version}")

    @property
    def source_etag(self) -> str:
        return "#" + digest(f"s{self.key}.{self.version}", 9)

    def source(self) -> dict[str, str]:
        return {"type": "CONTACT", "id": self.source_id}

    def full(self) -> dict[str, Any]:
        """The whole Person resource (cached until the next write)."""
        if self.cache is None:
            meta_source = {**self.source(), "etag": self.source_etag, "updateTime": self.update_time}
            person: dict[str, Any] = {"resourceName": self.resource_name, "etag": self.etag}
            if self.deleted:
                person["metadata"] = {"sources": [meta_source], "deleted": True, "objectType": "PERSON"}
            else:
                person["metadata"] = {"sources": [meta_source], "objectType": "PERSON"}
                for name in FIELD_ORDER:
                    if name == "memberships":
                        if self.groups:
                            person[name] = [_membership(g, self.source()) for g in self.groups]
                    elif self.fields.get(name):
                        person[name] = self.fields[name]
            self.cache = person
        return self.cache

    def view(self, mask: list[str] | None) -> dict[str, Any]:
        """The Person with only the fields in ``mask`` (resourceName and etag always; tombstones keep metadata)."""
        full = self.full()
        if mask is None:
            return full
        out = {"resourceName": full["resourceName"], "etag": full["etag"]}
        if self.deleted:
            out["metadata"] = full["metadata"]
            return out
        for name in mask:
            if name in full:
                out[name] = full[name]
        return out


def _membership(group_id: str, source: dict[str, str]) -> dict[str, Any]:
    cgm = {"contactGroupId": group_id, "contactGroupResourceName": "contactGroups/" + group_id}
    return {"metadata": {"source": source}, "contactGroupMembership": cgm}
