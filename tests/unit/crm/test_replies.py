"""Reading CRM replies strictly: every problem is named with a JSON Pointer, nothing becomes an empty value."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.crm import replies
from crmsync.crm.port import CrmContractError

pytestmark = pytest.mark.unit

CONTACT: dict[str, Any] = {
    "id": "c1",
    "version": 1,
    "created_at": "2026-11-20T09:00:00Z",
    "updated_at": "2026-11-20T09:00:00Z",
    "owner_id": None,
    "tags": [],
    "name_prefix": None,
    "given_name": "Ada",
    "middle_name": None,
    "family_name": None,
    "name_suffix": None,
    "emails": [{"type": "work", "value": "ada@example.com"}],
    "phones": [],
    "addresses": [],
    "urls": [],
    "company_id": None,
    "title": None,
    "department": None,
    "birthday": None,
    "notes": None,
}


def _errors(data: Any) -> list[str]:
    with pytest.raises(CrmContractError) as err:
        replies.parse_record("contacts", data)
    return [f"{e.path}: {e.message}" for e in err.value.errors]


def test_a_complete_record_parses() -> None:
    assert replies.parse_record("contacts", CONTACT).given_name == "Ada"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"phones": None}, "/phones: "),
        ({"version": "1"}, "/version: "),
        ({"version": True}, "/version: "),
        ({"emails": [{"type": "work"}]}, "/emails/0/value: missing"),
        ({"emails": [{"type": "work", "value": "a@b.c", "primary": True}]}, "/emails/0/primary: unknown field"),
        ({"birthday": {"month": "12", "day": 10}}, "/birthday/month: "),
    ],
)
def test_each_problem_is_named_by_its_pointer(change: dict[str, Any], expected: str) -> None:
    assert any(e.startswith(expected) for e in _errors({**CONTACT, **change})), _errors({**CONTACT, **change})


def test_a_renamed_field_is_missing_and_unknown_with_a_hint() -> None:
    data = {k: v for k, v in CONTACT.items() if k != "phones"} | {"phone_numbers": []}
    found = _errors(data)
    assert "/phones: missing (the contract requires every field in replies; send null or [])" in found
    assert "/phone_numbers: unknown field, not in the contract; did you mean 'phones'?" in found


def test_feed_pages_bulk_answers_and_users_have_their_exact_shape() -> None:
    page = {"items": [{"id": "c1", "version": 1, "updated_at": "x", "change": "upsert", "record": CONTACT}]}
    with pytest.raises(CrmContractError, match="/next_cursor: missing"):
        replies.change_page("contacts", {**page, "has_more": False}, "GET /contacts/changes")
    tomb = {"id": "c1", "version": 2, "updated_at": "x", "change": "delete", "record": CONTACT}
    with pytest.raises(CrmContractError, match=r"/items/0/record: must be null"):
        replies.change_page("contacts", {"items": [tomb], "next_cursor": "c", "has_more": False}, "feed")
    bad = {**page["items"][0], "change": "updated"}
    with pytest.raises(CrmContractError, match=r"/items/0/change: expected one of"):
        replies.change_page("contacts", {"items": [bad], "next_cursor": "c", "has_more": False}, "feed")
    with pytest.raises(CrmContractError, match="one result per operation"):
        replies.bulk_results({"results": [{"index": 0, "status": 204}]}, "bulk", 2)
    with pytest.raises(CrmContractError, match="/results/0/record: missing"):
        replies.bulk_results({"results": [{"index": 0, "status": 201}]}, "bulk", 1)
    user = {"id": "u", "email": "e", "name": "n", "role": "user", "active": True, "mail": "e"}
    with pytest.raises(CrmContractError, match="/items/0/mail: unknown field"):
        replies.users({"items": [user]}, "users")
