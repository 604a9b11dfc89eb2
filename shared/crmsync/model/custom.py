"""A CRM's custom fields: how the CRM declares them, and their values in canonical form.

A mapped custom field takes part in a record's canonical form like any built-in field, under the
key ``custom.<crm field name>``: merged field by field, echo-suppressed by the same hashes, held to
the same never-overwrite rules and named in conflicts. Every mapped field is in the record (None
when empty, like a built-in field), but records are compared and hashed without their empty custom
fields (``without_empty``), so mapping a field changes nothing for the records that hold no value
in it: a mapping change is no mass edit.

Both sides compare one normal form per type: text collapsed as every text field is, numbers as
their shortest decimal string, dates ``YYYY-MM-DD``, booleans as JSON booleans, several values as
a sorted list. A value Google holds as text that does not read as the type (``"abc"`` in a number
field) is kept as that text: the CRM refuses it when it is written, and the CRM write holds it back
with a note naming the field, so one odd value never keeps the rest of a record from syncing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from . import normalise as n

PREFIX = "custom."
MAX_OPTIONS = 500
MAX_FIELDS = 200  # per kind, declared by a CRM
MULTI_SEPARATOR = ", "  # several values in one Google text value
CustomName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CustomValue = str | bool | int | float | list[str] | None
_TRUE = frozenset({"true", "yes", "y", "1", "on", "ja", "oui", "sí", "si"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "nein", "non"})


# The value types a CRM field may declare: one line of text, free text, a number, a date
# (YYYY-MM-DD), yes/no, one of ``options`` (several when ``multi``).
FieldType = Literal["string", "text", "number", "date", "boolean", "picklist"]


class CrmField(BaseModel):
    """One field a CRM declares for a kind at ``GET /{kind}/fields`` (custom fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: CustomName
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    multi: bool = False
    read_only: bool = False
    options: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=MAX_OPTIONS
    )

    @model_validator(mode="after")
    def _options(self) -> CrmField:
        if self.type == "picklist" and not self.options:
            raise ValueError("a picklist field needs its options")
        if self.type != "picklist" and self.options is not None:
            raise ValueError("only a picklist field has options")
        if self.multi and self.type not in ("string", "picklist"):
            raise ValueError("only string and picklist fields may hold several values")
        return self


def key(name: str) -> str:
    """The canonical record key of custom field ``name``."""
    return PREFIX + name


def is_custom(canon_key: str) -> bool:
    return canon_key.startswith(PREFIX)


def name_of(canon_key: str) -> str:
    return canon_key[len(PREFIX) :]


def _number(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    try:
        num = Decimal(str(value).strip().replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not num.is_finite():
        raise ValueError(f"{value!r} is not a number")
    text = format(num.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _one(ftype: str, value: Any) -> Any:
    """One value in normal form (None when empty); raises ValueError when it is not of the type."""
    if isinstance(value, str) and not value.strip():
        return None
    if value is None:
        return None
    if ftype == "text":
        return n.multiline(value)
    if ftype == "number":
        return _number(value)
    if ftype == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(f"{value!r} is not yes or no")
    if ftype == "date":
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    return n.text(value)


def normal(field: CrmField, value: Any, *, lenient: bool = False) -> Any:
    """``value`` of ``field`` in canonical form, None when empty. A value not of the field's type
    raises ``normalise.InvalidValue`` naming the field, or with ``lenient`` is kept as its text."""
    try:
        if field.multi:
            items = value if isinstance(value, list) else str(value or "").split(",")
            found = {v for v in (_one(field.type, item) for item in items) if v is not None}
            return sorted(found, key=str) or None
        return _one(field.type, value)
    except (ValueError, TypeError) as err:
        if lenient:
            return n.multiline(value) if field.type == "text" else n.text(value)
        raise n.InvalidValue(key(field.name), str(err)) from None


def as_text(field: CrmField, value: Any) -> str | None:
    """A canonical value as the text a Google text field holds."""
    if value is None:
        return None
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(v) for v in value) or None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def as_crm(field: CrmField, value: Any) -> Any:
    """A canonical value as the CRM Sync API carries it (numbers as JSON numbers)."""
    if value is None or field.type != "number" or isinstance(value, list):
        return value
    try:
        num = Decimal(str(value))
    except InvalidOperation:
        return value  # text Google held in a number field: the CRM refuses it with a note
    return int(num) if num == num.to_integral_value() else float(num)


def canon_values(fields: Mapping[str, CrmField], values: Mapping[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """The canonical entries (``custom.<name>`` -> value, None when empty) of ``values`` (field
    name -> raw value) for the ``fields`` mapped."""
    return {key(name): normal(field, values.get(name), lenient=lenient) for name, field in fields.items()}


def without_empty(canon: Mapping[str, Any]) -> dict[str, Any]:
    """``canon`` without its empty custom fields: how records are compared and hashed, so that
    mapping a field changes nothing for the records that hold no value in it."""
    return {k: v for k, v in canon.items() if v is not None or not k.startswith(PREFIX)}
