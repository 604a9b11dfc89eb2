"""Calendar push notifications: ``events.watch`` and ``channels.stop``, with delivery as Google does it.

Google's guide ("Push notifications", Calendar API) and the ``events.watch`` / ``channels.stop`` references:

- ``events.watch`` takes ``{id, type: "web_hook" | "webhook", address, token?, expiration?, params.ttl?}``.
  ``id`` is at most 64 characters and unique among open channels; ``token`` at most 256; the address must
  be HTTPS (400 ``push.webhookUrlNotHttps``; the emulator accepts ``http`` to a loopback host when the
  ``allow_http_loopback`` setting is on, as the local stack needs). ``params.ttl`` is seconds, 604800 by
  default; an ``expiration`` (ms since the epoch) earlier than that wins; Google caps a channel's life
  (``max_ttl_seconds``, 30 days here). The reply is an ``api#channel`` with ``resourceId`` (opaque, the
  same for every channel on one calendar's events), ``resourceUri`` and ``expiration`` (ms, as a string).
- The first message on a channel has ``X-Goog-Resource-State: sync`` and message number 1. Then each change
  to the watched calendar's events sends ``exists`` (several changes close together may share one message,
  as Google's do); a deleted calendar sends ``not_exists`` and ends the channel. Messages are POSTs with no
  body and the headers ``X-Goog-Channel-ID``, ``X-Goog-Channel-Token`` (when set), ``X-Goog-Channel-Expiration``
  (RFC 1123), ``X-Goog-Resource-ID``, ``X-Goog-Resource-URI``, ``X-Goog-Resource-State`` and
  ``X-Goog-Message-Number`` (increasing per channel).
- A reply of 200, 201, 202, 204 or 102 is success; anything else, or no reply, is retried with exponential
  backoff (same message number) up to ``max_attempts``. ``drop_rate`` loses that share of messages outright
  (Google does not promise delivery). An expired channel sends nothing more and is forgotten.
- ``channels.stop`` takes ``{id, resourceId}``; 204, or 404 when no open channel has both.

Controls: ``GET/POST /__emulator/push`` (settings and open channels), ``GET /__emulator/push/deliveries``.
"""

from __future__ import annotations

import hashlib
import heapq
import ipaddress
import itertools
import random
import re
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from .calendar import BASE, EVENTS_READ, LIST_READ, _store
from .core import CALENDAR, CONTROL, ApiError, Ctx, EmulatorState, route

P = "/__emulator/push"
DEFAULT_TTL_SECONDS = 604_800
OK_STATUSES = frozenset({102, 200, 201, 202, 204})
_CHANNEL_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}")
TICK_SECONDS = 0.02


@dataclass(frozen=True)
class PushSettings:
    """How the emulator delivers (``POST /__emulator/push`` changes them)."""

    allow_http_loopback: bool = False
    drop_rate: float = 0.0  # share of messages lost without a trace
    max_attempts: int = 6
    retry_seconds: float = 1.0  # first retry after this, doubling
    max_ttl_seconds: int = 30 * 86_400
    timeout_seconds: float = 5.0


@dataclass
class Channel:
    """One open notification channel."""

    id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration: datetime
    email: str
    calendar_id: str
    seen_seq: int  # the calendar's last change already announced
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


@dataclass(order=True)
class _Message:
    due: float
    seq: int
    channel_id: str = field(compare=False)
    number: int = field(compare=False)
    state: str = field(compare=False)
    headers: dict[str, str] = field(compare=False)
    address: str = field(compare=False)
    attempt: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt (for tests and benchmarks)."""

    channel_id: str
    number: int
    state: str
    attempt: int
    status: int  # 0: no reply; -1: dropped on purpose
    at: float


class PushHub:
    """The open channels of one emulator and the thread that delivers their messages."""

    def __init__(self, state: EmulatorState, settings: PushSettings) -> None:
        self.state = state
        self.settings = settings
        self.channels: dict[str, Channel] = {}
        self.deliveries: list[Delivery] = []
        self._queue: list[_Message] = []
        self._seq = itertools.count()
        self._rng = random.Random(0)
        self._session = requests.Session()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- channels (called under state.lock)

    def open(self, channel: Channel) -> None:
        if channel.id in self.channels:
            raise ApiError(400, f"Channel id {channel.id} not unique", reason="channelIdNotUnique")
        self.channels[channel.id] = channel
        self._send(channel, "sync")
        self._start()

    def close(self, channel_id: str, resource_id: str) -> None:
        found = self.channels.get(channel_id)
        if found is None or found.resource_id != resource_id:
            raise ApiError(404, f"Channel '{channel_id}' not found for project 'emulator'", reason="notFound")
        del self.channels[channel_id]
        self._queue = [m for m in self._queue if m.channel_id != channel_id]
        heapq.heapify(self._queue)

    def _send(self, channel: Channel, resource_state: str) -> None:
        number = next(channel.numbers)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(channel.expiration.astimezone(UTC), usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": resource_state,
            "X-Goog-Message-Number": str(number),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        msg = _Message(time.monotonic(), next(self._seq), channel.id, number, resource_state, headers, channel.address)
        heapq.heappush(self._queue, msg)

    def _scan(self) -> None:
        """Announce changes of watched calendars; forget expired channels (under state.lock)."""
        now = self.state.clock.now()
        for channel in list(self.channels.values()):
            if channel.expiration <= now:
                del self.channels[channel.id]
                continue
            account = self.state.accounts.get(channel.email)
            cal = _store(account, self.state).calendars.get(channel.calendar_id) if account else None
            if cal is None:
                self._send(channel, "not_exists")
                del self.channels[channel.id]
            elif cal.last_seq > channel.seen_seq:
                channel.seen_seq = cal.last_seq
                self._send(channel, "exists")

    # ---------------------------------------------------------------- delivery thread

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="emulator-push", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while self.state.extras.get("push") is self:
            with self.state.lock:
                self._scan()
                due = self._queue[0] if self._queue and self._queue[0].due <= time.monotonic() else None
                if due is not None:
                    heapq.heappop(self._queue)
                settings = self.settings
            if due is None:
                time.sleep(TICK_SECONDS)
                continue
            self._deliver(due, settings)

    def _deliver(self, msg: _Message, settings: PushSettings) -> None:
        msg.attempt += 1
        if msg.attempt == 1 and self._rng.random() < settings.drop_rate:
            self._record(msg, -1)
            return
        try:
            reply = self._session.post(msg.address, data=b"", headers=msg.headers, timeout=settings.timeout_seconds)
            status = reply.status_code
        except requests.RequestException:
            status = 0
        self._record(msg, status)
        if status in OK_STATUSES or msg.attempt >= settings.max_attempts:
            return
        with self.state.lock:
            if msg.channel_id in self.channels:
                msg.due = time.monotonic() + settings.retry_seconds * 2 ** (msg.attempt - 1)
                heapq.heappush(self._queue, msg)

    def _record(self, msg: _Message, status: int) -> None:
        with self.state.lock:
            self.deliveries.append(Delivery(msg.channel_id, msg.number, msg.state, msg.attempt, status, time.time()))


def hub(state: EmulatorState) -> PushHub:
    """This emulator's hub (made on first use; a reset makes a new one and the old thread ends)."""
    with state.lock:
        found = state.extras.get("push")
        if not isinstance(found, PushHub):
            found = PushHub(state, state.extras.get("push_startup") or PushSettings())
            state.extras["push"] = found
        return found


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address(raw: Any, settings: PushSettings) -> str:
    if not isinstance(raw, str) or not raw:
        raise ApiError(400, "Required parameter: address", reason="required", location="address")
    parts = urlsplit(raw)
    if parts.scheme == "https" and parts.hostname:
        return raw
    if parts.scheme == "http" and parts.hostname and settings.allow_http_loopback and _loopback(parts.hostname):
        return raw
    raise ApiError(400, f"WebHook callback must be HTTPS: {raw}", reason="push.webhookUrlNotHttps")


def _expiration(body: dict[str, Any], now: datetime, settings: PushSettings) -> datetime:
    ttl: Any = (body.get("params") or {}).get("ttl", DEFAULT_TTL_SECONDS)
    try:
        seconds = int(ttl)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid value for params.ttl: {ttl}", reason="invalid", location="params.ttl") from None
    if seconds <= 0:
        raise ApiError(400, f"Invalid value for params.ttl: {ttl}", reason="invalid", location="params.ttl")
    when = now + timedelta(seconds=min(seconds, settings.max_ttl_seconds))
    if body.get("expiration") is not None:
        try:
            asked = datetime.fromtimestamp(int(body["expiration"]) / 1000, UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise ApiError(400, "Invalid value for expiration", reason="invalid", location="expiration") from None
        if asked <= now:
            raise ApiError(400, "Channel expiration is in the past", reason="invalid", location="expiration")
        when = min(when, asked)
    return when


@route(
    "POST",
    BASE + "/calendars/{calendarId}/events/watch",
    api=CALENDAR,
    method_id="calendar.events.watch",
    scopes=EVENTS_READ,
)
def events_watch(ctx: Ctx) -> dict[str, Any]:
    """events.watch: open a channel on a calendar's events; the ``sync`` message follows at once."""
    body = ctx.json()
    the_hub = hub(ctx.state)
    store = _store(ctx.acct, ctx.state)
    cal = store.resolve(unquote(ctx.path_params["calendarId"]), ctx.acct.email, ctx.state)
    cid = body.get("id")
    if not isinstance(cid, str) or not cid:
        raise ApiError(400, "Required parameter: id", reason="required", location="id")
    if not _CHANNEL_ID.fullmatch(cid):
        raise ApiError(400, f"Invalid channel id {cid[:80]}", reason="invalid", location="id")
    if body.get("type") not in ("web_hook", "webhook"):
        raise ApiError(400, f"Invalid value for type: {body.get('type')}", reason="invalid", location="type")
    token = body.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > 256):
        raise ApiError(400, "Invalid value for token (at most 256 characters)", reason="invalid", location="token")
    address = _address(body.get("address"), the_hub.settings)
    expiration = _expiration(body, ctx.now(), the_hub.settings)
    resource_id = hashlib.sha256(f"{ctx.acct.email}|{cal.id}".encode()).hexdigest()[:27]
    base = str(ctx.state.extras.get("base_url", "https://www.googleapis.com"))
    resource_uri = f"{base}{BASE}/calendars/{quote(cal.id, safe='@')}/events?alt=json"
    channel = Channel(cid, resource_id, resource_uri, address, token, expiration, ctx.acct.email, cal.id, cal.last_seq)
    the_hub.open(channel)
    out: dict[str, Any] = {"kind": "api#channel", "id": cid, "resourceId": resource_id, "resourceUri": resource_uri}
    if token is not None:
        out["token"] = token
    out["expiration"] = str(int(expiration.timestamp() * 1000))
    return out


@route(
    "POST", BASE + "/channels/stop", api=CALENDAR, method_id="calendar.channels.stop", scopes=EVENTS_READ | LIST_READ
)
def channels_stop(ctx: Ctx) -> tuple[int, None]:
    """channels.stop: end the channel that has both this id and this resourceId."""
    body = ctx.json()
    cid, rid = body.get("id"), body.get("resourceId")
    if not isinstance(cid, str) or not cid:
        raise ApiError(400, "Required parameter: id", reason="required", location="id")
    if not isinstance(rid, str) or not rid:
        raise ApiError(400, "Required parameter: resourceId", reason="required", location="resourceId")
    hub(ctx.state).close(cid, rid)
    return 204, None


# --------------------------------------------------------------------------- controls


def _settings_from(data: dict[str, Any], base: PushSettings) -> PushSettings:
    known = set(asdict(base))
    unknown = set(data) - known
    if unknown:
        raise ApiError(400, f"Unknown push settings: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    out = base
    if "allow_http_loopback" in data:
        if not isinstance(data["allow_http_loopback"], bool):
            raise ApiError(400, "allow_http_loopback must be true or false")
        out = replace(out, allow_http_loopback=data["allow_http_loopback"])
    limits: dict[str, tuple[float, float]] = {
        "drop_rate": (0.0, 1.0),
        "max_attempts": (1.0, 100.0),
        "retry_seconds": (0.0, 3600.0),
        "max_ttl_seconds": (1.0, 366 * 86_400.0),
        "timeout_seconds": (0.1, 60.0),
    }
    for name, (low, high) in limits.items():
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise ApiError(400, f"{name} must be a number from {low} to {high}, got {value!r}")
            whole = name in ("max_attempts", "max_ttl_seconds")
            out = replace(out, **{name: int(value) if whole else float(value)})  # type: ignore[arg-type]
    return out


def set_startup(state: EmulatorState, settings: PushSettings) -> None:
    """The settings the emulator starts with and returns to on reset (the ``--allow-http-push`` flag)."""
    state.extras["push_startup"] = settings


def _describe(the_hub: PushHub) -> dict[str, Any]:
    channels = [
        {
            "id": c.id,
            "resourceId": c.resource_id,
            "calendarId": c.calendar_id,
            "account": c.email,
            "address": c.address,
            "expiration": c.expiration.isoformat(),
        }
        for c in the_hub.channels.values()
    ]
    return {"settings": asdict(the_hub.settings), "channels": channels}


@route("GET", P, api=CONTROL, method_id="emulator.push.get")
def get_push(ctx: Ctx) -> dict[str, Any]:
    """Push settings and open channels."""
    return _describe(hub(ctx.state))


@route("POST", P, api=CONTROL, method_id="emulator.push")
def post_push(ctx: Ctx) -> dict[str, Any]:
    """Change push settings: {allow_http_loopback?, drop_rate?, max_attempts?, retry_seconds?, ...}."""
    the_hub = hub(ctx.state)
    the_hub.settings = _settings_from(ctx.json(), the_hub.settings)
    return _describe(the_hub)


@route("GET", P + "/deliveries", api=CONTROL, method_id="emulator.push.deliveries")
def get_deliveries(ctx: Ctx) -> dict[str, Any]:
    """Every delivery attempt so far (status 0: no reply; -1: dropped on purpose)."""
    return {"deliveries": [asdict(d) for d in hub(ctx.state).deliveries]}
