"""Languages and time zones of the pages: the user's language from the browser (Accept-Language),
gettext catalogues compiled by Babel (``locale/<lang>/LC_MESSAGES/messages.mo``, committed so a fresh
clone and the deploy zip work; ``tests/unit/web/test_i18n.py`` checks they match the .po files), and
times in the user's time zone (their choice, else their Google Calendar's, else UTC)."""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_timedelta
from babel.support import Translations
from werkzeug.wrappers import Request

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "de")
DEFAULT = "en"


_LANGUAGE: ContextVar[str] = ContextVar("page_language", default=DEFAULT)


@contextmanager
def speaking(request: Request) -> Iterator[None]:
    """Pages rendered while handling ``request`` speak its language (message pages, the confirmation)."""
    token = _LANGUAGE.set(pick_language(request))
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def language() -> str:
    """The language of the request being handled (English outside one)."""
    return _LANGUAGE.get()


def translate(message: str) -> str:
    """``message`` in the language of the request being handled."""
    return translations(language()).gettext(message)


def pick_language(request: Request | None) -> str:
    """The best of our languages for the browser's Accept-Language (English when none fits)."""
    if request is None:
        return DEFAULT
    return str(request.accept_languages.best_match(LANGUAGES, default=DEFAULT))


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (English: the messages as written)."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def zone_of(name: str | None) -> ZoneInfo | None:
    """The time zone of an IANA name, or None when unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def calendar_zone(runs: Sequence[Mapping[str, Any]]) -> str | None:
    """The Google Calendar time zone the latest runs learned (events report it), if any."""
    for run in runs:
        kinds = run.get("kinds") or {}
        report = kinds.get("events") if isinstance(kinds, Mapping) else None
        if isinstance(report, Mapping) and isinstance(report.get("time_zone"), str):
            return str(report["time_zone"])
    return None


@dataclass(frozen=True)
class Locale:
    """How a page speaks: language, translations and the time zone times are shown in."""

    language: str
    zone: str

    @property
    def t(self) -> gettext.NullTranslations:
        return translations(self.language)

    def gettext(self, message: str) -> str:
        return self.t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.t.ngettext(singular, plural, n)

    def when(self, moment: datetime | None) -> str:
        """A moment as the user reads it: date, time and time zone, in their language."""
        if moment is None:
            return "—"
        zone = zone_of(self.zone) or ZoneInfo("UTC")
        return format_datetime(moment, "medium", tzinfo=zone, locale=self.language) + f" ({self.zone})"

    def duration(self, seconds: float | None) -> str:
        """'3 seconds', '2 minutes' in the user's language."""
        if seconds is None:
            return "—"
        return str(format_timedelta(timedelta(seconds=max(seconds, 1.0)), threshold=1.5, locale=self.language))


def page_locale(request: Request | None, chosen_zone: str | None, runs: Sequence[Mapping[str, Any]]) -> Locale:
    """The language of the request and the user's time zone."""
    zone = next((z for z in (chosen_zone, calendar_zone(runs)) if zone_of(z) is not None), "UTC")
    return Locale(pick_language(request), str(zone))
