"""People API v1 (contacts): people.* methods; seed/dump/expire_sync_tokens for the controls come
from ``people_seed``.

Contact groups live in ``people_groups``; storage in ``people_store``; listing
and sync tokens in ``people_sync``; field rules in ``people_model``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .core import (
    PEOPLE,
    SCOPE_CONTACTS,
    SCOPE_CONTACTS_RO,
    SCOPE_EMAIL,
    SCOPE_PROFILE,
    ApiError,
    Ctx,
    rfc3339,
    route,
)
from .people_contact import CONTACT_ID, Contact
from .people_model import READ_FIELDS, UPDATE_FIELDS, clean_person, long_get, parse_mask
from .people_seed import dump as dump  # the controls' entry points of this API (controls.API_MODULES)
from .people_seed import expire_sync_tokens as expire_sync_tokens
from .people_seed import seed as seed
from .people_store import NOT_FOUND, PeopleStore, store_for
from .people_sync import list_connections, person_fields

READ = frozenset({SCOPE_CONTACTS, SCOPE_CONTACTS_RO})
WRITE = frozenset({SCOPE_CONTACTS})
MAX_BATCH_CREATE = 200
MAX_BATCH_UPDATE = 200
MAX_BATCH_DELETE = 500
MAX_BATCH_GET = 200
MAX_SEARCH_PAGE = 30


def _store(ctx: Ctx) -> PeopleStore:
    return store_for(ctx.state, ctx.acct)


def _stamp(ctx: Ctx) -> str:
    return rfc3339(ctx.now())


def contact_key(resource: str, *, prefixed: bool = False) -> str:
    """The contact id of ``people/c123`` (or ``c123``); 400 when it is not a contact resource name."""
    key = resource.removeprefix("people/") if prefixed else resource
    if (prefixed and not resource.startswith("people/")) or not CONTACT_ID.fullmatch(key):
        shown = resource if prefixed else "people/" + resource
        raise ApiError(
            400, f'Resource name "{shown}" is not a valid contact resource name (expected people/c<digits>).'
        )
    return key


def _check_etag(person: dict[str, Any], contact: Contact, where: str = "person") -> None:
    """Google compares the request's person.etag (or its CONTACT source etag) with the current one."""
    given = person.get("etag")
    sources = ((person.get("metadata") or {}).get("sources")) or []
    source_etag = next((s.get("etag") for s in sources if s.get("type") == "CONTACT" and s.get("etag")), None)
    if not given and not source_etag:
        raise ApiError(
            400, f"Request must set {where}.etag or {where}.metadata.sources.etag for the source that is being updated."
        )
    if (given and given != contact.etag) or (not given and source_etag != contact.source_etag):
        raise ApiError(
            400,
            "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.",
            status="FAILED_PRECONDITION",
            reason="failedPrecondition",
        )


def _profile(ctx: Ctx, mask: list[str]) -> dict[str, Any]:
    acct = ctx.acct
    source = {"type": "PROFILE", "id": acct.subject}
    full: dict[str, Any] = {
        "resourceName": "people/" + acct.subject,
        "etag": "%EgMBAi4aAQI=",
        "metadata": {"sources": [source], "objectType": "PERSON"},
        "names": [{"metadata": {"primary": True, "source": source}, "displayName": acct.name, "givenName": acct.name}],
        "emailAddresses": [{"metadata": {"primary": True, "verified": True, "source": source}, "value": acct.email}],
    }
    return {k: v for k, v in full.items() if k in ("resourceName", "etag") or k in mask}


# --------------------------------------------------------------------------- reads


@route("GET", "/v1/people/{person_id}/connections", api=PEOPLE, method_id="people.people.connections.list", scopes=READ)
def connections_list(ctx: Ctx) -> dict[str, Any]:
    """people.connections.list (only people/me)."""
    if ctx.path_params["person_id"] != "me":
        raise ApiError(400, "Invalid resourceName: only people/me is valid for connections.list.")
    return list_connections(ctx, _store(ctx))


@route(
    "GET",
    "/v1/people/{person_id}",
    api=PEOPLE,
    method_id="people.people.get",
    scopes=READ | {SCOPE_PROFILE, SCOPE_EMAIL},
)
def get_person(ctx: Ctx) -> dict[str, Any]:
    """people.get: a contact, or the signed-in user for people/me."""
    mask = person_fields(ctx)
    pid = ctx.path_params["person_id"]
    if pid == "me":
        return _profile(ctx, mask)
    if pid.isdigit():
        raise ApiError(404, NOT_FOUND)
    if not (ctx.token and ctx.token.scopes & READ):
        raise ApiError(403, "Request had insufficient authentication scopes.", reason="insufficientPermissions")
    return _store(ctx).get(contact_key(pid)).view(mask)


@route("POST", "/v1/people:batchGet", api=PEOPLE, method_id="people.people.getBatchGet", scopes=READ)
@route("GET", "/v1/people:batchGet", api=PEOPLE, method_id="people.people.getBatchGet", scopes=READ)
def batch_get(ctx: Ctx) -> dict[str, Any]:
    """people.getBatchGet: up to 200 people, one response each (404 status for unknown ones)."""
    long_get(ctx)
    mask = person_fields(ctx)
    names = ctx.params("resourceNames")
    if not names:
        raise ApiError(400, "resourceNames is required: give at least one person resource name.")
    if len(names) > MAX_BATCH_GET:
        raise ApiError(400, f"Too many resourceNames: {len(names)} given, at most {MAX_BATCH_GET} are allowed.")
    store, responses = _store(ctx), []
    for name in names:
        if name == "people/me":
            responses.append({"httpStatusCode": 200, "person": _profile(ctx, mask), "requestedResourceName": name})
            continue
        contact = store.contacts.get(name.removeprefix("people/"))
        if contact is None or contact.deleted:
            status = {"code": 5, "message": NOT_FOUND}
            responses.append({"httpStatusCode": 404, "requestedResourceName": name, "status": status})
        else:
            responses.append({"httpStatusCode": 200, "person": contact.view(mask), "requestedResourceName": name})
    return {"responses": responses}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _matches(contact: Contact, query: str, digits: str) -> bool:
    texts: list[str] = []
    for item in contact.fields.get("names", []):
        texts += [
            item.get(k, "") for k in ("displayName", "givenName", "familyName", "middleName", "displayNameLastFirst")
        ]
    texts += [i.get("value", "") for i in contact.fields.get("nicknames", [])]
    texts += [i.get("name", "") for i in contact.fields.get("organizations", [])]
    for item in contact.fields.get("emailAddresses", []):
        value = item.get("value", "")
        texts += [value, *re.split(r"[@.]", value)]
    for text in texts:
        words = _fold(text).split()
        if any(" ".join(words[i:]).startswith(query) for i in range(len(words))):
            return True
    if digits:
        for item in contact.fields.get("phoneNumbers", []):
            for value in (item.get("value", ""), item.get("canonicalForm", "")):
                if re.sub(r"\D", "", value).startswith(digits):
                    return True
    return False


@route("GET", "/v1/people:searchContacts", api=PEOPLE, method_id="people.people.searchContacts", scopes=READ)
def search_contacts(ctx: Ctx) -> dict[str, Any]:
    """people.searchContacts: prefix match on names, nicknames, e-mails, phones and organizations."""
    mask = parse_mask(ctx.param("readMask"), "readMask", READ_FIELDS, required=True)
    query = ctx.param("query")
    if query is None:
        raise ApiError(400, "query is required (send an empty query as the warm-up request).")
    page_size = min(ctx.int_param("pageSize", 10, low=0, high=1 << 31) or 10, MAX_SEARCH_PAGE)
    folded = " ".join(_fold(query).split())
    if not folded:
        return {}
    digits = re.sub(r"\D", "", query) if re.fullmatch(r"[\d\s()+.\-]+", query) else ""
    results = []
    for contact in _store(ctx).sync_view().contacts.values():  # search serves from the lagging cache too
        if not contact.deleted and _matches(contact, folded, digits):
            results.append({"person": contact.view(mask)})
            if len(results) >= page_size:
                break
    return {"results": results} if results else {}


# --------------------------------------------------------------------------- writes


def _write_mask(ctx: Ctx) -> list[str] | None:
    return parse_mask(ctx.param("personFields"), "personFields", READ_FIELDS, required=False)


@route("POST", "/v1/people:createContact", api=PEOPLE, method_id="people.people.createContact", scopes=WRITE)
def create_contact(ctx: Ctx) -> dict[str, Any]:
    """people.createContact (personFields defaults to every field)."""
    mask = _write_mask(ctx)
    cleaned = clean_person(ctx.json(), None)
    return _store(ctx).create(cleaned, _stamp(ctx)).view(mask)


@route(
    "PATCH", "/v1/people/{person_id}:updateContact", api=PEOPLE, method_id="people.people.updateContact", scopes=WRITE
)
def update_contact(ctx: Ctx) -> dict[str, Any]:
    """people.updateContact: replace the fields in updatePersonFields; the body's etag must be current."""
    fields = parse_mask(ctx.param("updatePersonFields"), "updatePersonFields", UPDATE_FIELDS, required=True)
    assert fields is not None
    mask = _write_mask(ctx)
    key = contact_key(ctx.path_params["person_id"])
    body = ctx.json()
    if body.get("resourceName") and body["resourceName"] != "people/" + key:
        raise ApiError(400, f"person.resourceName {body['resourceName']!r} does not match the URL (people/{key}).")
    store = _store(ctx)
    cleaned = clean_person(body, fields)
    contact = store.get(key)
    _check_etag(body, contact)
    store.update(contact, cleaned, fields, _stamp(ctx))
    return contact.view(mask)


@route(
    "DELETE", "/v1/people/{person_id}:deleteContact", api=PEOPLE, method_id="people.people.deleteContact", scopes=WRITE
)
def delete_contact(ctx: Ctx) -> dict[str, Any]:
    """people.deleteContact: the contact becomes a tombstone (404 on get, deleted in sync listings)."""
    store = _store(ctx)
    store.delete(store.get(contact_key(ctx.path_params["person_id"])), _stamp(ctx))
    return {}


def _read_mask(body: dict[str, Any]) -> list[str]:
    """The batch readMask: required; an empty one skips the post-mutate read."""
    if "readMask" not in body:
        raise ApiError(
            400, "readMask is required. Please specify one or more valid paths (or an empty string to skip the read)."
        )
    return parse_mask(str(body["readMask"]), "readMask", READ_FIELDS, required=False) or []


def _batch_view(contact: Contact, mask: list[str]) -> dict[str, Any]:
    return contact.view(mask) if mask else {"resourceName": contact.resource_name, "etag": contact.etag}


@route(
    "POST", "/v1/people:batchCreateContacts", api=PEOPLE, method_id="people.people.batchCreateContacts", scopes=WRITE
)
def batch_create(ctx: Ctx) -> dict[str, Any]:
    """people.batchCreateContacts: up to 200 contacts, all validated before any is created."""
    body = ctx.json()
    mask = _read_mask(body)
    contacts = body.get("contacts") or []
    if not contacts:
        raise ApiError(400, "contacts is required: give at least one contact to create.")
    if len(contacts) > MAX_BATCH_CREATE:
        raise ApiError(
            400, f"Too many contacts: {len(contacts)} given, at most {MAX_BATCH_CREATE} can be created per request."
        )
    store = _store(ctx)
    store.check_room(len(contacts))  # all or nothing
    cleaned = []
    for i, item in enumerate(contacts):
        where = f"contacts[{i}].contactPerson"
        person = clean_person((item or {}).get("contactPerson") or {}, None, where)
        store.resolve_groups(person.get("memberships", []), where + ".memberships")
        store.check_size(person, where)
        cleaned.append(person)
    stamp = _stamp(ctx)
    created = [store.create(person, stamp) for person in cleaned]
    return {"createdPeople": [{"httpStatusCode": 200, "person": _batch_view(c, mask)} for c in created]}


@route(
    "POST", "/v1/people:batchUpdateContacts", api=PEOPLE, method_id="people.people.batchUpdateContacts", scopes=WRITE
)
def batch_update(ctx: Ctx) -> dict[str, Any]:
    """people.batchUpdateContacts: up to 200, all-or-nothing (every etag checked first)."""
    body = ctx.json()
    fields = parse_mask(body.get("updateMask"), "updateMask", UPDATE_FIELDS, required=True)
    assert fields is not None
    mask = _read_mask(body)
    contacts = body.get("contacts") or {}
    if not isinstance(contacts, dict) or not contacts:
        raise ApiError(400, "contacts is required: a map of resource name to the person to update.")
    if len(contacts) > MAX_BATCH_UPDATE:
        raise ApiError(
            400, f"Too many contacts: {len(contacts)} given, at most {MAX_BATCH_UPDATE} can be updated per request."
        )
    store = _store(ctx)
    plan = []
    for name, person in contacts.items():
        where = f"contacts[{name!r}]"
        contact = store.contacts.get(contact_key(name, prefixed=True))
        if contact is None or contact.deleted:
            raise ApiError(404, f"{NOT_FOUND} ({name})")
        cleaned = clean_person(person or {}, fields, where)
        _check_etag(person or {}, contact, where)
        if "memberships" in fields:
            store.resolve_groups(cleaned.get("memberships", []), where + ".memberships")
        store.check_update_size(contact, cleaned, fields, where)
        plan.append((name, contact, cleaned))
    stamp = _stamp(ctx)
    for _, contact, cleaned in plan:
        store.update(contact, cleaned, fields, stamp)
    return {"updateResult": {name: {"httpStatusCode": 200, "person": _batch_view(c, mask)} for name, c, _ in plan}}


@route(
    "POST", "/v1/people:batchDeleteContacts", api=PEOPLE, method_id="people.people.batchDeleteContacts", scopes=WRITE
)
def batch_delete(ctx: Ctx) -> dict[str, Any]:
    """people.batchDeleteContacts: up to 500; nothing is deleted if one name is unknown."""
    names = ctx.json().get("resourceNames") or []
    if not names:
        raise ApiError(400, "resourceNames is required: give at least one contact resource name.")
    if len(names) > MAX_BATCH_DELETE:
        raise ApiError(
            400, f"Too many resourceNames: {len(names)} given, at most {MAX_BATCH_DELETE} can be deleted per request."
        )
    store = _store(ctx)
    targets: dict[str, Contact] = {}
    for name in names:
        contact = store.contacts.get(contact_key(str(name), prefixed=True))
        if contact is None or contact.deleted:
            raise ApiError(404, f"{NOT_FOUND} ({name})")
        targets[contact.key] = contact
    stamp = _stamp(ctx)
    for contact in targets.values():
        store.delete(contact, stamp)
    return {}
