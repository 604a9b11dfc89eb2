"""The admin's field mapping: which CRM custom fields sync, into which Google field, which way.

The built-in fields keep their fixed mapping (the settings page lists it); the admin adds the CRM's
own custom fields per kind. Each entry names the CRM field, the Google target (and its key where the
target holds several values: a ``userDefined`` key, an ``externalIds``/``relations``/``events``
type, an extended property's key, the label of a line in the notes), and a direction (the sync's own ``Direction``, per field):

- ``two_way``: edits flow both ways, merged like every built-in field;
- ``crm_to_google``: CRM edits reach Google; Google edits are never written into the CRM (the CRM
  keeps its value, so a Google edit stays in Google until the CRM's value changes). Read-only CRM
  fields may only be mapped this way;
- ``google_to_crm``: the reverse.

An event's ``colorId`` and ``transparency`` take a fixed set of values (``CHOICES``): a picklist
mapped there must offer only those, a string field is checked at sync time (a value Calendar
cannot hold is held back from Google and named in the run's notes, google/calendar_custom.py).
Its ``visibility`` is refused: the activity's built-in ``private`` flag is synced there
(private <-> ``private``, otherwise ``default``), and two fields writing one Google field would
undo each other's edits.

Mapping a field never loses data: the next run copies each record's value to the side that has
none (a value on one side only is simply new there); where both sides already hold different
values, the side the admin chose (``fill_from``) wins on the run after the mapping change, or
without a choice that is a conflict settled by the user's conflict policy and shown as one. An
empty value on the chosen side never clears the other (sync/fill.py). Unmapping a field stops
syncing it; both sides keep their values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from .custom import MAX_FIELDS, CrmField, key
from .kinds import KINDS, Kind, Side
from .link import Canon
from .settings import Direction

Key = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Target(StrEnum):
    """Google fields a CRM custom field may map to."""

    # People (contacts)
    USER_DEFINED = "userDefined"  # a key/value pair; key required
    EXTERNAL_ID = "externalIds"  # typed; key = the type
    RELATION = "relations"  # typed; key = the type (e.g. "assistant"); the value is a person's name
    EVENT = "events"  # typed date; key = the type (e.g. "anniversary"); date fields only
    NICKNAME = "nicknames"  # the first nickname
    OCCUPATION = "occupations"  # the first occupation
    # Calendar (events)
    PRIVATE_PROPERTY = "extendedProperties.private"  # key required
    SHARED_PROPERTY = "extendedProperties.shared"  # key required
    COLOR = "colorId"  # the event's colour, "1".."11" (Calendar's event palette)
    VISIBILITY = "visibility"  # refused: the built-in ``private`` flag owns it (see FieldMap)
    TRANSPARENCY = "transparency"  # opaque (busy) / transparent (free)
    # Tasks: Google Tasks has no custom fields; a labelled line of the task's notes
    NOTES_LINE = "notes_line"  # key = the line's label


TARGETS: dict[Kind, frozenset[Target]] = {
    Kind.CONTACTS: frozenset(
        {Target.USER_DEFINED, Target.EXTERNAL_ID, Target.RELATION, Target.EVENT, Target.NICKNAME, Target.OCCUPATION}
    ),
    # not VISIBILITY: the built-in ``private`` flag owns it (a mapping there is refused with that reason)
    Kind.EVENTS: frozenset({Target.PRIVATE_PROPERTY, Target.SHARED_PROPERTY, Target.COLOR, Target.TRANSPARENCY}),
    Kind.TASKS: frozenset({Target.NOTES_LINE}),
}
# Event fields that take one of a fixed set of values: a CRM picklist whose options are all among
# them, or a string field whose values are checked at sync time (an invalid one is never sent to
# Google: it is held back and named in the run's notes, see google/calendar_custom.py).
CHOICES: dict[Target, tuple[str, ...]] = {
    Target.COLOR: tuple(str(n) for n in range(1, 12)),
    Target.TRANSPARENCY: ("opaque", "transparent"),
}
SINGLE = frozenset({Target.NICKNAME, Target.OCCUPATION, *CHOICES, Target.VISIBILITY})  # no key
# The CRM kind (CRM Sync API) of each crmsync kind.
CRM_KIND: dict[Kind, Literal["contacts", "activities", "tasks"]] = {k: info.crm_kind for k, info in KINDS.items()}


class FieldMap(BaseModel):
    """One mapped CRM custom field. ``field`` is the CRM's declaration as it was when the admin
    saved the mapping (``GET /{kind}/fields``): a run needs no extra call to know its type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: CrmField
    target: Target
    key: Key | None = None
    direction: Direction = Direction.TWO_WAY
    # Where both sides already hold different values when the field is newly mapped: the side whose
    # value wins on the run after the mapping change (no conflict). None: a conflict, as always.
    fill_from: Side | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldMap:
        if self.target in SINGLE and self.key is not None:
            raise ValueError(f"{self.target.value} takes no key (the contact's first one is synced)")
        if self.target not in SINGLE and self.key is None:
            raise ValueError(f"{self.target.value} needs a key")
        if self.target is Target.EVENT and (self.field.type != "date" or self.field.multi):
            raise ValueError("People events hold one date: map a date field there")
        if self.target is Target.VISIBILITY:
            raise ValueError(
                "visibility is synced from the activity's built-in private flag (private <-> private, "
                "otherwise default): a custom field cannot be mapped there as well"
            )
        if self.target in CHOICES:
            self._choice_field(CHOICES[self.target])
        against = {Direction.CRM_TO_GOOGLE: Side.GOOGLE, Direction.GOOGLE_TO_CRM: Side.CRM}.get(self.direction)
        if self.fill_from is not None and self.fill_from is against:
            raise ValueError(f"fill_from {self.fill_from.value} contradicts the direction {self.direction.value}")
        if self.field.read_only and self.direction is not Direction.CRM_TO_GOOGLE:
            raise ValueError(f"the CRM field {self.field.name!r} is read-only: map it crm_to_google")
        return self

    def _choice_field(self, allowed: tuple[str, ...]) -> None:
        what = f"{self.target.value} takes one of {', '.join(allowed)}"
        if self.field.multi or self.field.type not in ("picklist", "string"):
            raise ValueError(f"{what}: map a picklist or a string field holding one value there")
        bad = [o for o in self.field.options or [] if o not in allowed]
        if bad:
            raise ValueError(f"{what}; the options {', '.join(map(repr, bad))} are not among them")

    @property
    def slot(self) -> tuple[Target, str | None]:
        """Where in Google the value goes: no two entries may share it."""
        return self.target, (self.key.casefold() if self.key else None)


def _unique(kind: Kind, maps: list[FieldMap]) -> list[FieldMap]:
    names: set[str] = set()
    slots: set[tuple[Target, str | None]] = set()
    for m in maps:
        if m.target not in TARGETS[kind]:
            allowed = ", ".join(sorted(t.value for t in TARGETS[kind]))
            raise ValueError(f"{m.target.value} is not a Google field of {kind.value}; use one of {allowed}")
        if m.field.name in names:
            raise ValueError(f"the CRM field {m.field.name!r} is mapped twice")
        if m.slot in slots:
            where = m.target.value + (f" {m.key!r}" if m.key else "")
            raise ValueError(f"{where} is the target of two CRM fields")
        names.add(m.field.name)
        slots.add(m.slot)
    return maps


class FieldMapping(BaseModel):
    """The custom fields mapped per kind (empty: the built-in fields only, as always)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contacts: list[FieldMap] = Field(default_factory=list, max_length=MAX_FIELDS)
    events: list[FieldMap] = Field(default_factory=list, max_length=MAX_FIELDS)
    tasks: list[FieldMap] = Field(default_factory=list, max_length=MAX_FIELDS)

    @field_validator("contacts", "events", "tasks")
    @classmethod
    def _valid(cls, maps: list[FieldMap], info: ValidationInfo) -> list[FieldMap]:
        return _unique(Kind(str(info.field_name)), maps)

    def of(self, kind: Kind) -> list[FieldMap]:
        return {Kind.CONTACTS: self.contacts, Kind.EVENTS: self.events, Kind.TASKS: self.tasks}[kind]


class MappedFields:
    """One kind's mapping as the adapters use it."""

    def __init__(self, maps: list[FieldMap] | None = None) -> None:
        self.maps = list(maps or [])
        self.fields: dict[str, CrmField] = {m.field.name: m.field for m in self.maps}

    def __bool__(self) -> bool:
        return bool(self.maps)

    def kept(self, record: Canon, wanted: Canon, *, crm: bool) -> Canon:
        """Of ``wanted`` (values about to be written into ``record``), the custom fields the side
        (the CRM when ``crm``, else Google) keeps its own value of: its stand-ins (ports.HoldsStandIns)."""
        keep = self.kept_by(into_crm=crm)
        return {k: record.get(k) for k in wanted if k in keep}

    def fill_from(self) -> dict[str, Side]:
        """The canonical keys the admin chose a side to fill from, with that side."""
        return {key(m.field.name): m.fill_from for m in self.maps if m.fill_from is not None}

    def kept_by(self, into_crm: bool) -> frozenset[str]:
        """The canonical keys a side never takes from the other (it keeps its own value)."""
        flow = Direction.CRM_TO_GOOGLE if into_crm else Direction.GOOGLE_TO_CRM
        return frozenset(key(m.field.name) for m in self.maps if m.direction is flow)
