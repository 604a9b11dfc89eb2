"""Building responses: HTML pages from Jinja2 templates, JSON, and application/problem+json errors."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from crmsync.services.errors import InvalidInput, ServiceError
from crmsync.web.i18n import language, translations

TEMPLATES = Path(__file__).with_name("templates")
_NO_STORE = {"Cache-Control": "no-store"}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the connect link's token must not leak through Referer
    "X-Frame-Options": "DENY",
    # No form-action: "Reconnect Google" posts here and is redirected on to Google's consent page,
    # and Chromium applies form-action to that redirect as well.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    # Browsers ignore HSTS over plain http (the local stack), so it is safe to send always.
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


@cache
def templates() -> Environment:
    """The Jinja2 environment (autoescaping on)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    # The language of the request being handled, unless a page passes its locale's gettext (web/i18n.py).
    env.globals.update(
        _=lambda message: translations(language()).gettext(message),
        ngettext=lambda s, p, n: translations(language()).ngettext(s, p, n),
    )
    return env


def secure(resp: Response) -> Response:
    """Add the headers every response carries (no caching of personal data, no framing, no referrer)."""
    for key, value in {**_NO_STORE, **_SECURITY_HEADERS}.items():
        resp.headers.setdefault(key, value)
    return resp


def render(template: str, **values: Any) -> str:
    """A template rendered to text."""
    return templates().get_template(template).render(**{"lang": language(), **values})


def html(template: str, status_code: int = 200, **values: Any) -> Response:
    """Render a template as an HTML response."""
    body = render(template, **values)
    return secure(Response(body, status=status_code, content_type="text/html; charset=utf-8"))


def message_page(status: int, title: str, message: str, **values: Any) -> Response:
    """A friendly page that says what happened and what to do next."""
    return html("message.html", status_code=status, title=title, message=message, **values)


def as_json(data: Any, status: int = 200) -> Response:
    """A JSON response."""
    return secure(Response(json.dumps(data, default=str), status=status, content_type="application/json"))


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return secure(Response(json.dumps(body, default=str), status=status, content_type="application/problem+json"))


def service_problem(err: ServiceError) -> Response:
    """A ServiceError as problem+json (with field errors for InvalidInput)."""
    if isinstance(err, InvalidInput):
        errors = [{"field": p.field, "message": p.message} for p in err.problems]
        return problem(err.status, err.title, err.message, errors=errors)
    return problem(err.status, err.title, err.message)


def wants_html(request: Request) -> bool:
    """True for a browser (HTML preferred over JSON, or a form post)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def redirect(location: str, status: int = 303) -> Response:
    """A redirect (303 after a form post)."""
    resp = Response("", status=status)
    resp.headers["Location"] = location
    return secure(resp)
