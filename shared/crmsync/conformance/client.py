"""The kit's HTTP client: raw requests (the kit checks the wire, not a connector's reading of it),
each exchange kept so a failing rule can show the request and the reply."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

MAX_SHOWN = 1500  # characters of a body shown in a report


@dataclass
class Exchange:
    """One request and its reply, as a report shows them (the API key is never shown)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    reply_headers: dict[str, str]
    reply_text: str

    @property
    def reply(self) -> Any:
        """The reply body as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.reply_text) if self.reply_text else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        """A reply header, case-insensitively."""
        return next((v for k, v in self.reply_headers.items() if k.lower() == name.lower()), None)

    def as_dict(self) -> dict[str, Any]:
        """For reports: bodies cut to a readable length."""
        body = self.request_body
        shown = json.dumps(body, ensure_ascii=False) if body is not None and not isinstance(body, str) else body
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": _cut(shown) if shown is not None else None,
            },
            "reply": {"status": self.status, "headers": self.reply_headers, "body": _cut(self.reply_text)},
        }


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + f"... ({len(text)} characters)"


SHOWN_REPLY_HEADERS = ("content-type", "etag", "location", "idempotent-replayed", "www-authenticate", "retry-after")


@dataclass
class Client:
    """Requests to one CRM Sync API server with one API key."""

    base_url: str
    api_key: str
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)
    log: list[Exchange] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        user: str | None = None,
        auth: bool = True,
    ) -> Exchange:
        """Send one request; never raises for an HTTP status (the rules judge those)."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        if user is not None:
            hdrs["X-CRM-User"] = user
        sent = dict(hdrs)
        if auth:
            hdrs["Authorization"] = f"Bearer {self.api_key}"
            sent["Authorization"] = "Bearer <api key>"
        data: bytes | None = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
            sent.setdefault("Content-Type", "application/json")
        resp = self.session.request(
            method, self.base_url.rstrip("/") + path, params=params, data=data, headers=hdrs, timeout=self.timeout
        )
        shown = {k: v for k, v in resp.headers.items() if k.lower() in SHOWN_REPLY_HEADERS}
        ex = Exchange(
            method,
            resp.request.url or path,
            sent,
            body if body is not None else (raw.decode("utf-8", "replace") if raw else None),
            resp.status_code,
            shown,
            resp.text,
        )
        self.log.append(ex)
        return ex
