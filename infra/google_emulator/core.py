"""Core types of the Google Workspace emulator: errors, request context, router, state.

Every API module (people, calendar, tasks) registers its handlers on the shared
``ROUTER`` with the ``route`` decorator. A handler receives a ``Ctx`` and returns
either a JSON-able dict (HTTP 200), a ``(status, dict | None)`` tuple, or raises
``ApiError``. The server renders ``ApiError`` in the API's own error shape.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

# API names used for error shapes, counters and route registration.
PEOPLE = "people"
CALENDAR = "calendar"
TASKS = "tasks"
OAUTH = "oauth"
CONTROL = "control"

SCOPE_CONTACTS = "https://www.googleapis.com/auth/contacts"
SCOPE_CONTACTS_RO = "https://www.googleapis.com/auth/contacts.readonly"
SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPE_CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_CALENDAR_RO = "https://www.googleapis.com/auth/calendar.readonly"
SCOPE_CALENDARLIST_RO = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
SCOPE_TASKS = "https://www.googleapis.com/auth/tasks"
SCOPE_TASKS_RO = "https://www.googleapis.com/auth/tasks.readonly"
SCOPE_OPENID = "openid"
SCOPE_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
SCOPE_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"

_RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_LEGACY_REASON = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "duplicate",
    410: "deleted",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}


class ApiError(Exception):
    """An error answered to the client in the shape of the API that raised it.

    ``status`` is the google.rpc status (People, Tasks); ``reason`` the legacy
    ``errors[0].reason`` (Calendar; Tasks also carries it). ``details`` are
    google.rpc detail objects. ``headers`` are extra response headers
    (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        reason: str | None = None,
        details: list[dict[str, Any]] | None = None,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _RPC_STATUS.get(code, "UNKNOWN")
        self.reason = reason or _LEGACY_REASON.get(code, "unknown")
        self.details = details or []
        self.domain = domain
        self.location = location
        self.location_type = location_type or ("parameter" if location else None)
        self.headers = headers or {}

    def body(self, api: str) -> dict[str, Any]:
        """The JSON error body in ``api``'s real shape."""
        legacy_item: dict[str, Any] = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            legacy_item["locationType"] = self.location_type
            legacy_item["location"] = self.location
        if api == CALENDAR:
            return {"error": {"errors": [legacy_item], "code": self.code, "message": self.message}}
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if api == TASKS:
            err["errors"] = [legacy_item]
        if self.details:
            err["details"] = self.details
        return {"error": err}


def error_info(reason: str, domain: str = "googleapis.com", **metadata: str) -> dict[str, Any]:
    """A google.rpc.ErrorInfo detail entry."""
    info: dict[str, Any] = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain}
    if metadata:
        info["metadata"] = metadata
    return info


def bad_request(message: str, location: str | None = None) -> ApiError:
    """400 with a field location (invalid argument / required parameter)."""
    return ApiError(400, message, location=location, reason="invalid" if location is None else "required")


# --------------------------------------------------------------------------- clock


class Clock:
    """The emulator's settable clock: real time plus an offset, or frozen."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def set(self, when: datetime, *, frozen: bool = False) -> None:
        if frozen:
            self._frozen = when
        else:
            self._frozen = None
            self._offset = when - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None


def rfc3339(when: datetime) -> str:
    """RFC 3339 UTC timestamp with milliseconds, as Google writes them."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_rfc3339(value: str, location: str) -> datetime:
    """Parse an RFC 3339 timestamp or raise a 400 naming the parameter."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise bad_request(f"Invalid value for {location}: {value}", location) from err
    if parsed.tzinfo is None:
        raise bad_request(f"Invalid value for {location}: {value} (a time zone offset is required)", location)
    return parsed


# --------------------------------------------------------------------------- accounts


S = TypeVar("S")


@dataclass
class Account:
    """One Google account with isolated per-API data stores."""

    email: str
    subject: str
    name: str
    stores: dict[str, Any] = field(default_factory=dict)

    def store(self, api: str, factory: Callable[[], S]) -> S:
        """The account's data store for ``api``, created on first use."""
        if api not in self.stores:
            self.stores[api] = factory()
        return self.stores[api]  # type: ignore[no-any-return]


@dataclass
class AccessToken:
    token: str
    email: str
    scopes: frozenset[str]
    expires_at: datetime
    client_id: str


class EmulatorState:
    """All mutable emulator state, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.accounts: dict[str, Account] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        # Counters: account email -> method id -> count (inner batch calls included).
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # Settings other modules (oauth, controls) extend; kept here so reset clears them.
        self.extras: dict[str, Any] = {}
        self.access_token_ttl = timedelta(hours=1)
        self._seq = 0

    def next_id(self) -> int:
        """A process-wide increasing integer (ids, etags, sync tokens)."""
        with self.lock:
            self._seq += 1
            return self._seq

    def account(self, email: str, *, name: str | None = None) -> Account:
        """The account for ``email``, created on first use."""
        key = email.strip().lower()
        with self.lock:
            if key not in self.accounts:
                subject = str(100000000000000000000 + len(self.accounts) + 1)
                self.accounts[key] = Account(email=key, subject=subject, name=name or key.split("@")[0])
            return self.accounts[key]

    def mint_access_token(self, email: str, scopes: frozenset[str], client_id: str = "test-client") -> AccessToken:
        """Issue an access token for ``email`` with ``scopes`` (used by OAuth and test controls)."""
        with self.lock:
            self.account(email)
            tok = AccessToken(
                token="ya29.emu-" + secrets.token_urlsafe(24),
                email=email.strip().lower(),
                scopes=scopes,
                expires_at=self.clock.now() + self.access_token_ttl,
                client_id=client_id,
            )
            self.access_tokens[tok.token] = tok
            return tok

    def reset(self) -> None:
        """Forget every account, token, counter and setting."""
        with self.lock:
            self.accounts.clear()
            self.access_tokens.clear()
            self.counters.clear()
            self.extras.clear()
            self.clock.reset()
            self.access_token_ttl = timedelta(hours=1)


# --------------------------------------------------------------------------- requests and routes


@dataclass
class Ctx:
    """One API call as a handler sees it (an inner batch call is a Ctx too)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    path_params: dict[str, str]
    state: EmulatorState
    api: str
    method_id: str
    account: Account | None = None
    token: AccessToken | None = None

    @property
    def acct(self) -> Account:
        """The authenticated account (routes with scopes always have one)."""
        assert self.account is not None
        return self.account

    def now(self) -> datetime:
        return self.state.clock.now()

    def json(self) -> dict[str, Any]:
        """The JSON body as a dict, or a 400 that says what is wrong."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as err:
            raise ApiError(400, f"Invalid JSON payload received. {err}") from err
        if not isinstance(data, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.")
        return data

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def bool_param(self, name: str, default: bool = False) -> bool:
        value = self.param(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_request(f"Invalid value for {name}: {value!r} (expected true or false)", name)
        return value.lower() == "true"

    def int_param(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.param(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError as err:
            raise bad_request(f"Invalid value for {name}: {value!r}", name) from err
        if not low <= number <= high:
            raise bad_request(f"Invalid value for {name}: {number} (must be between {low} and {high})", name)
        return number


Reply = Any  # a dict (200), a (status, dict | None) tuple, or a server.Response
Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    http_method: str
    pattern: re.Pattern[str]
    api: str
    method_id: str
    scopes: frozenset[str]  # any one of these grants access; empty = no auth
    handler: Handler


class Router:
    """Maps (HTTP method, path) to a handler. Patterns use ``{name}`` for one path
    segment and ``{name+}`` for the rest of the path (may contain slashes)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        http_method: str,
        template: str,
        *,
        api: str,
        method_id: str,
        scopes: frozenset[str] | set[str] = frozenset(),
    ) -> Callable[[Handler], Handler]:
        regex = re.escape(template)
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+?)", regex)
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+?)", regex)
        compiled = re.compile("^" + regex + "$")

        def register(fn: Handler) -> Handler:
            self.routes.append(Route(http_method.upper(), compiled, api, method_id, frozenset(scopes), fn))
            return fn

        return register

    def match(self, http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a request, or None. A path that matches with another
        HTTP method is reported by ``allowed_methods``."""
        for r in self.routes:
            if r.http_method == http_method.upper():
                m = r.pattern.match(path)
                if m:
                    return r, m.groupdict()
        return None

    def api_for_path(self, path: str) -> str:
        """Which API a path belongs to, for error shapes of unmatched requests."""
        if path.startswith(("/calendar/", "/batch/calendar")):
            return CALENDAR
        if path.startswith("/tasks/"):
            return TASKS
        return PEOPLE


ROUTER = Router()
route = ROUTER.route


def parse_query(query_string: str) -> dict[str, list[str]]:
    return parse_qs(query_string, keep_blank_values=True)
