"""Normalisation of field values to canonical form, so formatting noise never
looks like a change (whitespace, Unicode forms, phone formats, e-mail case,
HTML vs text)."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

import phonenumbers

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_BREAK = re.compile(r"(?i)<\s*(br|/p|/div|/li|/h[1-6]|/tr)\s*/?\s*>")
_LOOKS_HTML = re.compile(r"(?i)<\s*/?\s*(p|br|b|i|u|div|span|a|ul|ol|li|strong|em|h[1-6]|table|tr|td)\b[^>]*>")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidValue(ValueError):
    """A field value that cannot be synced as it is (the record is skipped with this message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def unreadable(err: Exception) -> str:
    """Why one record could not be read, for its skip note: an ``InvalidValue``'s own message
    (it names the field), else the error's type and text — an unexpected error in one record's
    values is that record's problem, never the whole run's."""
    return str(err) if isinstance(err, InvalidValue) else f"could not sync this record ({type(err).__name__}: {err})"


def text(value: Any) -> str | None:
    """One-line text: NFC, whitespace collapsed and trimmed; empty -> None."""
    if value is None:
        return None
    cleaned = _WS.sub(" ", unicodedata.normalize("NFC", str(value))).strip()
    return cleaned or None


def multiline(value: Any) -> str | None:
    """Free text (notes, descriptions): HTML turned into text, NFC, line endings
    and trailing spaces normalised; empty -> None."""
    if value is None:
        return None
    raw = unicodedata.normalize("NFC", str(value))
    if _LOOKS_HTML.search(raw):
        raw = _BLOCK_BREAK.sub("\n", raw)
        raw = html.unescape(_TAG.sub("", raw))
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [line.rstrip() for line in raw.split("\n")]
    cleaned = "\n".join(lines).strip("\n").strip()
    return cleaned or None


def label(value: Any, default: str = "other") -> str:
    """A type label (work, home, mobile...): lower-case, no spaces."""
    cleaned = text(value)
    return cleaned.lower().replace(" ", "_") if cleaned else default


def email(value: Any) -> str:
    """An e-mail address compared case-insensitively; raises InvalidValue if malformed."""
    cleaned = text(value)
    if cleaned is None:
        raise InvalidValue("emails", "empty e-mail address")
    lowered = cleaned.lower()
    if not _EMAIL.match(lowered):
        raise InvalidValue("emails", f"{cleaned!r} is not a valid e-mail address")
    return lowered


def loose_email(value: Any) -> str:
    """An e-mail address as it is compared, well-formed or not (``someone@lisbon`` is kept, for
    the side that can hold it): one odd address never keeps its record from syncing."""
    try:
        return email(value)
    except InvalidValue:
        cleaned = text(value)
        if cleaned is None:
            raise
        return cleaned.lower()


def phone(value: Any, default_region: str) -> str:
    """A phone number's comparison form: E.164 when it is a valid number (in the default region,
    or with its own country code), else the trimmed original — a number that is not valid as
    typed is never given a country code it may not have (Google's own ``canonicalForm`` leaves
    such numbers alone: ``15810139237`` is a Chinese mobile, not ``+1 581 013 9237``)."""
    cleaned = text(value)
    if cleaned is None:
        raise InvalidValue("phones", "empty phone number")
    try:
        parsed = phonenumbers.parse(cleaned, default_region)
    except phonenumbers.NumberParseException:
        return cleaned
    if not phonenumbers.is_valid_number(parsed):
        return cleaned
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def typed_values(items: list[dict[str, Any]] | None, normalise_value: Any) -> list[dict[str, str]]:
    """Typed multi-valued field as a sorted list of {value, type}, one entry per value
    (the first type seen wins), so order never creates a phantom change."""
    seen: dict[str, str] = {}
    for item in items or []:
        raw = item.get("value")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        value = normalise_value(raw)
        seen.setdefault(value, label(item.get("type")))
    return [{"value": v, "type": t} for v, t in sorted(seen.items())]
