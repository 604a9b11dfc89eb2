"""events.quickAdd: a small, deterministic, documented subset of Google's free-text event parsing.

Recognised (case-insensitive) and cut out of the text, whose rest becomes the summary:
- a date: ``today``/``tonight``, ``tomorrow``, a weekday (the next one, today included),
  ``2026-10-05``, ``June 3``/``Jun 3rd, 2027``/``3 June`` (a day-month already past means next year);
- a time: ``12:30``, ``10am``, ``10:25pm``, ``noon``; or a range ``10am-10:25am``, ``10-11am``,
  ``14:00-15:30``, ``2pm to 4pm`` (a bare number such as ``5`` is never a time);
- a location: what follows the last `` at `` once dates and times are gone
  ("Appointment at Somewhere" -> summary "Appointment", location "Somewhere").
A single time lasts one hour; a range whose end is not after its start ends the next day; a time
without a date is today; a date without a time is an all-day event; text with neither is an
all-day event today. Times are wall-clock times in the calendar's zone. Google's real parser
understands many more phrasings and languages (and turns "with <e-mail>" into guests); this
emulator does not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .calendar_model import zone

_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ISO_DATE = re.compile(r"\b(?:on\s+)?(\d{4})-(\d{2})-(\d{2})\b", re.I)
_MONTH_DAY = re.compile(rf"\b(?:on\s+)?{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.I)
_DAY_MONTH = re.compile(rf"\b(?:on\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+(\d{{4}}))?(?!\w)", re.I)
_RELATIVE = re.compile(rf"\b(?:on\s+)?(today|tonight|tomorrow|{'|'.join(_WEEKDAYS)})\b", re.I)
_T = r"(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?"
_RANGE = re.compile(rf"\b(?:from\s+|at\s+)?{_T}\s*(?:-|–|to|until)\s*{_T}(?!\w)", re.I)
_TIME = re.compile(r"\b(?:at\s+)?(?:(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?|(\d{1,2})\s*([ap]\.?m\.?)|(noon))(?!\w)", re.I)
_LOCATION = re.compile(r"^(.*\S)\s+at\s+(\S.*)$", re.I)


def _month_number(word: str) -> int:
    return ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec").index(
        word[:3].lower()
    ) + 1


def _cut(text: str, m: re.Match[str]) -> str:
    return text[: m.start()] + " " + text[m.end() :]


def _day(year: int | None, month: int, day: int, today: date) -> date | None:
    try:
        found = date(year or today.year, month, day)
        if year is None and found < today:
            found = date(today.year + 1, month, day)
    except ValueError:
        return None
    return found


def _find_date(text: str, today: date) -> tuple[date | None, str]:
    m = _ISO_DATE.search(text)
    if m and (found := _day(int(m[1]), int(m[2]), int(m[3]), today)):
        return found, _cut(text, m)
    m = _MONTH_DAY.search(text)
    if m and (found := _day(int(m[3]) if m[3] else None, _month_number(m[1]), int(m[2]), today)):
        return found, _cut(text, m)
    m = _DAY_MONTH.search(text)
    if m and (found := _day(int(m[3]) if m[3] else None, _month_number(m[2]), int(m[1]), today)):
        return found, _cut(text, m)
    m = _RELATIVE.search(text)
    if m:
        word = m[1].lower()
        if word in ("today", "tonight"):
            return today, _cut(text, m)
        if word == "tomorrow":
            return today + timedelta(days=1), _cut(text, m)
        return today + timedelta(days=(_WEEKDAYS.index(word) - today.weekday()) % 7), _cut(text, m)
    return None, text


def _minutes(hour: str, minute: str | None, meridiem: str | None) -> int | None:
    h, mins = int(hour), int(minute or 0)
    mer = (meridiem or "").replace(".", "").lower()
    if mer and not 1 <= h <= 12:
        return None
    if mer == "pm" and h < 12:
        h += 12
    elif mer == "am" and h == 12:
        h = 0
    return h * 60 + mins if h < 24 and mins < 60 else None


def _find_times(text: str) -> tuple[int | None, int | None, str]:
    """(start minute of day, end minute of day or None, text without them)."""
    for m in _RANGE.finditer(text):
        h1, m1, mer1, h2, m2, mer2 = m.groups()
        if not (m1 or mer1 or m2 or mer2):
            continue  # "5-6" is a count, not a time range
        end = _minutes(h2, m2, mer2)
        start = _minutes(h1, m1, mer1 or mer2)
        if mer2 and not mer1 and start is not None and end is not None and start > end:
            start = _minutes(h1, m1, None)  # "11-1pm" starts at 11am
        if start is not None and end is not None:
            return start, end, _cut(text, m)
    for m in _TIME.finditer(text):
        if m[6]:
            start = 12 * 60
        elif m[1]:
            start = _minutes(m[1], m[2], m[3])
        else:
            start = _minutes(m[4], None, m[5])
        if start is not None:
            return start, None, _cut(text, m)
    return None, None, text


def parse(text: str, now: datetime, time_zone: str) -> dict[str, Any]:
    """The Event body quickAdd creates from ``text`` at ``now`` (aware) in a calendar zoned ``time_zone``."""
    today = now.astimezone(zone(time_zone) or UTC).date()
    day, rest = _find_date(text, today)
    start_min, end_min, rest = _find_times(rest)
    rest = re.sub(r"\s+", " ", rest).strip(" ,;-")
    rest = re.sub(r"\s+(?:on|at|from)$", "", rest, flags=re.I)
    body: dict[str, Any] = {}
    located = _LOCATION.match(rest)
    if located:
        rest, body["location"] = located[1].strip(" ,;-"), located[2].strip(" ,;-")
    if rest:
        body["summary"] = rest
    day = day or today
    if start_min is None:
        body["start"] = {"date": day.isoformat()}
        body["end"] = {"date": (day + timedelta(days=1)).isoformat()}
        return body
    begin = datetime(day.year, day.month, day.day) + timedelta(minutes=start_min)
    if end_min is None:
        finish = begin + timedelta(hours=1)
    else:
        finish = datetime(day.year, day.month, day.day) + timedelta(minutes=end_min)
        if finish <= begin:
            finish += timedelta(days=1)
    body["start"] = {"dateTime": begin.isoformat(timespec="seconds"), "timeZone": time_zone}
    body["end"] = {"dateTime": finish.isoformat(timespec="seconds"), "timeZone": time_zone}
    return body
