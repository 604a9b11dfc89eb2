"""Drive the connect flow with plain HTTP (requests keeps the cookies like a browser)."""

from __future__ import annotations

import re

import requests

from tests.integration.web.stack import Stack

TASKS = "https://www.googleapis.com/auth/tasks"


def consent(
    http: requests.Session, url: str, *, email: str, uncheck: tuple[str, ...] = (), action: str = "allow"
) -> requests.Response:
    """Submit the emulator's consent page; returns the response after following redirects back to us."""
    page = http.get(url, timeout=10)
    assert page.status_code == 200, page.text
    rid = re.search(r'name="rid" value="([^"]+)"', page.text)
    assert rid is not None
    offered = re.findall(r'name="scope" value="([^"]+)"', page.text)
    form = {"rid": rid.group(1), "email": email, "scope": [s for s in offered if s not in uncheck], "action": action}
    return http.post(page.url.split("?")[0], data=form, timeout=10)


def browser_session() -> requests.Session:
    """A requests session that asks for HTML, as a browser does."""
    http = requests.Session()
    http.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    return http


def connect(
    stack: Stack,
    user: str = "u1",
    *,
    email: str = "ana@example.com",
    uncheck: tuple[str, ...] = (),
    action: str = "allow",
    language: str | None = None,
) -> tuple[requests.Session, requests.Response]:
    """Open a connect link and answer the consent page; the browser-like session and the final page
    (``language``: the browser's Accept-Language)."""
    http = browser_session()
    if language is not None:
        http.headers["Accept-Language"] = language
    return http, consent(http, confirm(http, stack.link(user)), email=email, uncheck=uncheck, action=action)


def confirm(http: requests.Session, link: str) -> str:
    """Open a connect link, confirm on our page that it is for us; the Google consent URL it sends us to."""
    page = http.get(link, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    assert 'id="confirm-continue"' in page.text
    base = link.split("/connect?")[0]
    start = http.post(base + "/connect/confirm", data={"csrf": csrf_of(page.text)}, allow_redirects=False, timeout=10)
    assert start.status_code == 303, start.text
    return str(start.headers["Location"])


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a page."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)
