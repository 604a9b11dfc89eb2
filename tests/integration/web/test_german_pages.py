"""Every page speaks German when the browser asks for it: the settings page (every form label, choice,
hint and error), the connect confirmation, and the message pages (a used link, an expired session, a
cancelled connect) are rendered in English and in German over real HTTP, and no text the user reads
(text nodes, button and option labels, table-cell labels) is left the same English in the German page
— only names (Google, CRM, the user's e-mail, time zones, countries' codes) may be the same.

Before: the older form labels, choices and hints and the message pages were English in a German browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from zoneinfo import available_timezones

import pytest
import requests

from tests.integration.web.browserless import browser_session, confirm, connect, csrf_of
from tests.integration.web.stack import Stack

pytestmark = pytest.mark.integration
# The same in both languages: proper names, ids, values the user typed, numbers and times.
SAME = {"Google", "CRM", "Status", "Google Tasks", "crmsync", "Name", "Websites", "—"}
ZONES = available_timezones()  # the time zone picker lists IANA names
API_NAMES = re.compile(r"^[a-z][A-Za-z_]*(, [a-z][A-Za-z_]*)*$")  # the field mapping names API fields
NEUTRAL = re.compile(
    r"^([\W\d_]*|[\w.+-]+@[\w.-]+|[A-Z][a-z]+/[\w/+-]+|.*\(UTC\)|[A-Z]{2}|[\w\s.,'’-]+ \([A-Z]{2}\)|u\d+|Ana.*|CRM)$"
)


class Text(HTMLParser):
    """What a user reads on a page: text nodes and the labels of buttons, options and table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self._skip += 1
        for name, value in attrs:
            if name in ("data-label", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip:
            self.parts.append(text)


def read(html: str) -> set[str]:
    parser = Text()
    parser.feed(html)
    return set(parser.parts)


def english_left(en: str, de: str) -> list[str]:
    """Texts the German page shows exactly as the English one does, other than names and values."""
    same = read(de) & read(en)
    return sorted(
        t for t in same if t not in SAME and t not in ZONES and not NEUTRAL.match(t) and not API_NAMES.match(t)
    )


def get(http: requests.Session, url: str, language: str, **kw: object) -> str:
    resp = http.get(url, headers={"Accept-Language": language}, timeout=10, **kw)  # type: ignore[arg-type]
    assert resp.status_code < 500, resp.text
    return resp.text


def test_the_settings_page_has_no_english_left_in_german(stack: Stack) -> None:
    http, page = connect(stack)
    assert page.status_code == 200
    url = stack.base_url + "/settings"
    en, de = get(http, url, "en-GB"), get(http, url, "de-DE")
    assert 'lang="de"' in de
    left = english_left(en, de)
    assert left == [], "\n".join(left)
    # The form's errors too: a bad value is explained next to its field in the user's language.
    bad = {"csrf": csrf_of(en), "interval_minutes": "0", "event_options.calendar": "dedicated"}
    bad_en = http.post(url, data=bad, headers={"Accept-Language": "en"}, timeout=10).text
    bad_de = http.post(url, data=bad, headers={"Accept-Language": "de"}, timeout=10).text
    assert 'id="form-error"' in bad_de
    assert english_left(bad_en, bad_de) == []


def test_the_connect_confirmation_and_the_message_pages_have_no_english_left_in_german(stack: Stack) -> None:
    pages: dict[str, dict[str, str]] = {"en-GB": {}, "de-DE": {}}
    for language, texts in pages.items():
        http = browser_session()
        http.headers["Accept-Language"] = language
        texts["confirm"] = get(http, stack.link("u1"), language)
        texts["bad link"] = get(http, stack.base_url + "/connect?t=forged", language)
        texts["no session"] = get(http, stack.base_url + "/settings", language)
        cancel = http.post(stack.base_url + "/connect/cancel", data={"csrf": csrf_of(texts["confirm"])}, timeout=10)
        texts["cancelled"] = cancel.text
    for language, texts in pages.items():  # the user declines Google's consent: a page to try again
        _, declined = connect(stack, action="deny", language=language)
        texts["declined"] = declined.text
    link = stack.link("u1")
    confirm(browser_session(), link)  # the link is used now
    for language, texts in pages.items():
        texts["used link"] = get(browser_session(), link, language)
    for name in pages["en-GB"]:
        en, de = pages["en-GB"][name], pages["de-DE"][name]
        assert 'lang="de"' in de, name
        assert english_left(en, de) == [], name
