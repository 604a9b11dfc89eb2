"""People API v1 contact groups: contactGroups.* and contactGroups.members.modify."""

from __future__ import annotations

import re
from typing import Any

from .core import PEOPLE, SCOPE_CONTACTS, SCOPE_CONTACTS_RO, ApiError, Ctx, rfc3339, route
from .people_model import long_get, parse_mask
from .people_store import NOT_FOUND, Group, PeopleStore, store_for
from .people_sync import check_expiry, decode_token, encode_token, fingerprint
from .realism import page_limit

READ = frozenset({SCOPE_CONTACTS, SCOPE_CONTACTS_RO})
WRITE = frozenset({SCOPE_CONTACTS})
GROUP_FIELDS = ["clientData", "groupType", "memberCount", "metadata", "name"]
DEFAULT_READ_FIELDS = ["metadata", "groupType", "memberCount", "name"]
DEFAULT_WRITE_READ_FIELDS = ["metadata", "groupType", "name"]
MAX_GROUP_BATCH_GET = 200
MAX_MODIFY = 1000
_GROUP_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def _store(ctx: Ctx) -> PeopleStore:
    return store_for(ctx.state, ctx.acct)


def _fields(value: str | None, name: str, default: list[str]) -> list[str]:
    return parse_mask(value, name, frozenset(GROUP_FIELDS), required=False) or default


def _max_members(ctx: Ctx) -> int:
    return ctx.int_param("maxMembers", 0, low=0, high=1 << 31)


def _client_data(group: dict[str, Any], where: str) -> list[dict[str, str]]:
    items = group.get("clientData") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and set(i) <= {"key", "value"} for i in items):
        raise ApiError(400, f"Invalid {where}.clientData: expected a list of {{key, value}} objects.")
    return [{k: str(v) for k, v in i.items()} for i in items]


def _group_in(ctx: Ctx) -> Group:
    gid = ctx.path_params["group_id"]
    if not _GROUP_ID.fullmatch(gid):
        raise ApiError(400, f'Resource name "contactGroups/{gid}" is not a valid contact group resource name.')
    return _store(ctx).group(gid)


@route("GET", "/v1/contactGroups", api=PEOPLE, method_id="people.contactGroups.list", scopes=READ)
def list_groups(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.list: every live group, or with syncToken the groups changed since (deleted ones marked)."""
    store = _store(ctx)
    fields = _fields(ctx.param("groupFields"), "groupFields", DEFAULT_READ_FIELDS)
    page_size = ctx.int_param("pageSize", 30, low=0, high=1000) or 30
    sync_token, page_token = ctx.param("syncToken"), ctx.param("pageToken")
    fp = fingerprint(sorted(fields), page_size, sync_token or "")
    if page_token:
        st = decode_token(page_token, "pageToken", "gp", store, store)
        if st["f"] != fp:
            raise ApiError(400, "Parameters provided with pageToken do not match the request that issued it.")
        if st["m"] == "sync":
            check_expiry(ctx, store, st)
    elif sync_token:
        tok = decode_token(sync_token, "syncToken", "g", store, store)
        check_expiry(ctx, store, tok)
        st = {"m": "sync", "s": tok["s"], "c": 0, "u": store.seq, "cs": tok["cs"], "e": store.token_epoch}
    else:
        st = {"m": "full", "s": 0, "c": 0, "u": store.seq, "cs": ctx.now().timestamp(), "e": store.token_epoch}
    since, offset = int(st["s"]), int(st["c"])
    if st["m"] == "sync":
        eligible = [g for g in store.groups.values() if since < g.seq]
    else:
        eligible = [g for g in store.groups.values() if not g.deleted]
    number = int(st.get("n", 0))
    size = page_limit(ctx, page_size, number)  # short pages when asked (realism.py)
    page = eligible[offset : offset + size]
    out: dict[str, Any] = {}
    if page:
        out["contactGroups"] = [store.group_view(g, fields) for g in page]
    out["totalItems"] = len(eligible)
    if offset + size < len(eligible):
        resume = {**st, "k": "gp", "a": store.account_tag, "f": fp, "c": offset + size, "n": number + 1}
        out["nextPageToken"] = encode_token(resume)
    else:
        token = {"k": "g", "a": store.account_tag, "s": store.seq, "cs": st["cs"], "e": store.token_epoch}
        out["nextSyncToken"] = encode_token(token)
    return out


@route("GET", "/v1/contactGroups/{group_id}", api=PEOPLE, method_id="people.contactGroups.get", scopes=READ)
def get_group(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.get (maxMembers > 0 returns memberResourceNames)."""
    fields = _fields(ctx.param("groupFields"), "groupFields", DEFAULT_READ_FIELDS)
    return _store(ctx).group_view(_group_in(ctx), fields, _max_members(ctx))


@route("POST", "/v1/contactGroups:batchGet", api=PEOPLE, method_id="people.contactGroups.batchGet", scopes=READ)
@route("GET", "/v1/contactGroups:batchGet", api=PEOPLE, method_id="people.contactGroups.batchGet", scopes=READ)
def batch_get_groups(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.batchGet: up to 200 groups, a NOT_FOUND status for unknown ones."""
    long_get(ctx)
    fields = _fields(ctx.param("groupFields"), "groupFields", DEFAULT_READ_FIELDS)
    names, max_members = ctx.params("resourceNames"), _max_members(ctx)
    if not names:
        raise ApiError(400, "resourceNames is required: give at least one contact group resource name.")
    if len(names) > MAX_GROUP_BATCH_GET:
        raise ApiError(400, f"Too many resourceNames: {len(names)} given, at most {MAX_GROUP_BATCH_GET} are allowed.")
    store, responses = _store(ctx), []
    for name in names:
        group = store.groups.get(name.removeprefix("contactGroups/")) if name.startswith("contactGroups/") else None
        if group is None or group.deleted:
            responses.append({"requestedResourceName": name, "status": {"code": 5, "message": NOT_FOUND}})
        else:
            view = store.group_view(group, fields, max_members)
            responses.append({"requestedResourceName": name, "contactGroup": view, "status": {}})
    return {"responses": responses}


@route("POST", "/v1/contactGroups", api=PEOPLE, method_id="people.contactGroups.create", scopes=WRITE)
def create_group(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.create: a user group; 409 ALREADY_EXISTS for a taken name."""
    body = ctx.json()
    group = body.get("contactGroup")
    if not isinstance(group, dict):
        raise ApiError(400, "contactGroup is required: the contact group to create.")
    fields = _fields(body.get("readGroupFields"), "readGroupFields", DEFAULT_WRITE_READ_FIELDS)
    name = str(group.get("name") or "")
    store = _store(ctx)
    created = store.new_group(name, _client_data(group, "contactGroup"), rfc3339(ctx.now()))
    return store.group_view(created, fields)


@route("PUT", "/v1/contactGroups/{group_id}", api=PEOPLE, method_id="people.contactGroups.update", scopes=WRITE)
def update_group(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.update: name and/or clientData of a user group; a given etag must be current."""
    body = ctx.json()
    data = body.get("contactGroup")
    if not isinstance(data, dict):
        raise ApiError(400, "contactGroup is required: the contact group to update.")
    fields = _fields(body.get("readGroupFields"), "readGroupFields", DEFAULT_WRITE_READ_FIELDS)
    update = parse_mask(
        body.get("updateGroupFields"), "updateGroupFields", frozenset({"name", "clientData"}), required=False
    )
    store, group = _store(ctx), _group_in(ctx)
    if group.system:
        raise ApiError(400, f"System contact group {group.resource_name} cannot be updated.")
    if data.get("etag") and data["etag"] != group.etag:
        raise ApiError(
            400,
            "Request contactGroup.etag is different than the current contactGroup.etag. Clear local cache and get "
            "the latest contact group.",
            status="FAILED_PRECONDITION",
        )
    update = update or ["name"]
    if "name" in update:
        name = str(data.get("name") or "")
        store.check_group_name(name, group.id)
        group.name = group.formatted_name = name
    if "clientData" in update:
        group.client_data = _client_data(data, "contactGroup")
    store._touch_group(group, rfc3339(ctx.now()))
    return store.group_view(group, fields)


@route("DELETE", "/v1/contactGroups/{group_id}", api=PEOPLE, method_id="people.contactGroups.delete", scopes=WRITE)
def delete_group(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.delete (deleteContacts=true also deletes the members)."""
    store, group = _store(ctx), _group_in(ctx)
    if group.system:
        raise ApiError(400, f"System contact group {group.resource_name} cannot be deleted.")
    store.delete_group(group, rfc3339(ctx.now()), delete_contacts=ctx.bool_param("deleteContacts"))
    return {}


@route(
    "POST", "/v1/contactGroups/{group_id}/members:modify", api=PEOPLE,
    method_id="people.contactGroups.members.modify", scopes=WRITE,
)  # fmt: skip
def modify_members(ctx: Ctx) -> dict[str, Any]:
    """contactGroups.members.modify: add/remove up to 1000 contacts; reports unknown and last-group names."""
    body = ctx.json()
    add, remove = body.get("resourceNamesToAdd") or [], body.get("resourceNamesToRemove") or []
    if len(add) + len(remove) > MAX_MODIFY:
        raise ApiError(400, f"Too many resource names: {len(add) + len(remove)} given, at most {MAX_MODIFY} combined.")
    store, group = _store(ctx), _group_in(ctx)
    if add and not group.addable:
        raise ApiError(400, f"Contacts cannot be added to the system contact group {group.resource_name}.")
    stamp = rfc3339(ctx.now())
    not_found: list[str] = []
    last_group: list[str] = []
    for name, adding in [(n, True) for n in add] + [(n, False) for n in remove]:
        contact = store.contacts.get(name.removeprefix("people/")) if name.startswith("people/") else None
        if contact is None or contact.deleted:
            not_found.append(name)
        elif adding and group.id not in contact.groups:
            store.set_groups(contact, [*contact.groups, group.id], stamp)
        elif not adding and group.id in contact.groups:
            if len(contact.groups) == 1:
                last_group.append(name)
            else:
                store.set_groups(contact, [g for g in contact.groups if g != group.id], stamp)
    out: dict[str, Any] = {}
    if not_found:
        out["notFoundResourceNames"] = not_found
    if last_group:
        out["canNotRemoveLastContactGroupResourceNames"] = last_group
    return out


def seed_groups(store: PeopleStore, groups: list[dict[str, Any]], stamp: str) -> list[dict[str, Any]]:
    """Create seeded user groups (a valid given resourceName is kept; system groups already exist)."""
    out = []
    for i, data in enumerate(groups):
        if (data.get("metadata") or {}).get("deleted"):
            continue
        gid = str(data.get("resourceName") or "").removeprefix("contactGroups/")
        if gid in store.groups and store.groups[gid].system:
            continue
        if gid in store.groups or (gid and not _GROUP_ID.fullmatch(gid)):
            raise ApiError(400, f"contactGroups[{i}]: resourceName {data['resourceName']!r} is invalid or taken.")
        group = store.new_group(
            str(data.get("name") or ""), _client_data(data, f"contactGroups[{i}]"), stamp, gid or None
        )
        out.append(store.group_view(group, GROUP_FIELDS))
    return out
