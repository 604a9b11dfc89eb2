"""Contact groups for the People adapter: the scope group (default "CRM") and group tags."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .errors import AlreadyExists
from .paging import fetch_all
from .people_models import ContactGroup

USER_GROUP = "USER_CONTACT_GROUP"
Call = Callable[[str, Callable[[], Any]], dict[str, Any]]


class GroupDirectory:
    """Looks groups up by name (one ``contactGroups.list`` per instance, only when needed) and
    creates missing ones."""

    def __init__(self, call: Call, service: Any, scope_name: str | None, scope_resource_name: str | None) -> None:
        self._call = call
        self._service = service
        self.scope_name = scope_name
        self.scope_resource_name = scope_resource_name if scope_name else None
        self._by_name: dict[str, str] | None = None  # user group name -> resource name

    def _load(self) -> dict[str, str]:
        if self._by_name is None:
            groups = self._service.contactGroups()

            def page(token: str | None) -> dict[str, Any]:
                params: dict[str, Any] = {"pageSize": 1000, "groupFields": "name,groupType,metadata"}
                if token:
                    params["pageToken"] = token
                return self._call("people.contactGroups.list", lambda: groups.list(**params))

            by_name: dict[str, str] = {}
            for item in fetch_all(page, "contactGroups").items:
                g = ContactGroup.model_validate(item)
                if g.group_type == USER_GROUP and g.name and not (g.metadata and g.metadata.deleted):
                    by_name.setdefault(g.name, g.resource_name)
            self._by_name = by_name
        return self._by_name

    def _create(self, name: str) -> str:
        groups = self._service.contactGroups()
        body = {"contactGroup": {"name": name}, "readGroupFields": "name,groupType,metadata"}
        try:
            made = self._call("people.contactGroups.create", lambda: groups.create(body=body))
        except AlreadyExists:
            self._by_name = None  # created meanwhile (another client): look it up again
            found = self._load().get(name)
            if found is None:
                raise
            return found
        rn = str(made["resourceName"])
        self._load()[name] = rn
        return rn

    def scope(self, *, create: bool) -> str | None:
        """The scope group's resource name (None when the sync is not limited to a group); looked up,
        and created when missing and ``create`` is set, on first use."""
        if self.scope_name is None or self.scope_resource_name is not None:
            return self.scope_resource_name
        rn = self._load().get(self.scope_name)
        if rn is None and create:
            rn = self._create(self.scope_name)
        self.scope_resource_name = rn
        return rn

    def tag_names(self) -> dict[str, str]:
        """Resource name -> name of the user groups mirrored as tags (every user group but the scope group)."""
        scope = self.scope(create=False)
        return {rn: name for name, rn in self._load().items() if rn != scope}

    def ensure_tags(self, names: Iterable[str]) -> list[str]:
        """Resource names of the named groups, creating missing ones."""
        known = self._load()
        return [known.get(n) or self._create(n) for n in names if n != self.scope_name]
