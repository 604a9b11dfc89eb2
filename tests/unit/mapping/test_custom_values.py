"""Custom field values in canonical form: one normal form per type, so formatting noise on either side
is never a change, and a value Google holds that is not of the type is kept as text (not an error)."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.google import people_custom, tasks_custom
from crmsync.model import custom
from crmsync.model.custom import CrmField
from crmsync.model.field_mapping import FieldMap, MappedFields, Target
from crmsync.model.link import content_hash
from crmsync.model.normalise import InvalidValue

pytestmark = pytest.mark.unit
NUMBER = CrmField(name="score", label="Score", type="number")
FLAG = CrmField(name="vip", label="VIP", type="boolean")
DAY = CrmField(name="renewal", label="Renewal", type="date")
TAGS = CrmField(name="tags", label="Tags", type="picklist", multi=True, options=["AI", "Data"])


@pytest.mark.parametrize(
    ("field", "crm", "google"),
    [
        (NUMBER, 42.5, "42.50"),
        (NUMBER, 7, " 7 "),
        (NUMBER, 1000, "1000.0"),
        (FLAG, True, "Yes"),
        (FLAG, False, "false"),
        (DAY, "2027-03-01", "2027-03-01"),
        (TAGS, ["Data", "AI"], "AI,  Data"),
    ],
)
def test_both_sides_compare_in_one_normal_form(field: CrmField, crm: Any, google: str) -> None:
    assert custom.normal(field, crm) == custom.normal(field, google, lenient=True)
    assert custom.normal(field, custom.as_text(field, custom.normal(field, crm)), lenient=True) == custom.normal(
        field, crm
    )


def test_a_value_not_of_its_type_is_kept_as_text_from_google_and_an_error_from_the_crm() -> None:
    assert custom.normal(NUMBER, "about ten", lenient=True) == "about ten"
    with pytest.raises(InvalidValue, match=r"custom\.score"):
        custom.normal(NUMBER, "about ten")
    assert custom.as_crm(NUMBER, "42.5") == 42.5 and custom.as_crm(NUMBER, "7") == 7


def test_an_empty_custom_field_hashes_as_absent() -> None:
    record = {"given": "Ada"}
    assert content_hash({**record, "custom.score": None}) == content_hash(record)
    assert content_hash({**record, "custom.score": "1"}) != content_hash(record)
    assert content_hash({**record, "given": None}) != content_hash(record)  # built-in fields unchanged


def test_task_lines_come_out_of_the_notes_and_go_back_after_them() -> None:
    mapped = MappedFields([FieldMap(field=NUMBER, target=Target.NOTES_LINE, key="Score")])
    notes, values = tasks_custom.split("Call first\n\nscore:  12\n", mapped)
    assert notes == "Call first" and values == {"custom.score": "12"}
    assert tasks_custom.join({"notes": "Call first", "custom.score": "12"}, mapped) == "Call first\n\nScore: 12"
    assert tasks_custom.join({"notes": None, "custom.score": None}, mapped) is None


def test_a_people_write_replaces_only_the_items_the_mapping_claims() -> None:
    mapped = MappedFields([FieldMap(field=NUMBER, target=Target.USER_DEFINED, key="Score")])
    current = [{"key": "Shoe size", "value": "42"}, {"key": "score", "value": "1", "metadata": {"primary": True}}]
    sent = people_custom.items("userDefined", {"custom.score": "2"}, mapped, current)
    assert sent == [{"key": "Shoe size", "value": "42"}, {"key": "Score", "value": "2", "metadata": {"primary": True}}]
    assert people_custom.items("userDefined", {"custom.score": None}, mapped, current) == [current[0]]
    assert people_custom.read({"userDefined": current}, mapped) == {"custom.score": "1"}
