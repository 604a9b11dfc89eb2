"""Behaviours Google documents that make a client's life harder, as switchable settings.

Each setting follows a sentence of Google's references (cited in the tests):

- ``people_propagation_seconds``: People connections.list — "writes may have a propagation
  delay of several minutes for sync requests"; searchContacts serves from a cache. Each write
  reaches sync listings and search after a random delay in ``[0, value]`` seconds of the
  emulator's clock, so writes arrive late and in shuffled order (one contact never goes back
  to an older version). Reads by id (get, batchGet) stay read-after-write.
- ``short_pages``: Calendar events.list — "the number of events in the resulting page may be
  less than this value, or none at all, even if there are more events matching the query".
  Listings of all three APIs return pages shorter than asked, every third one empty, each with
  a ``nextPageToken`` while more remain (the first page is one of the empty ones).
- ``people_sequential``: People — "mutate requests for the same user should be sent
  sequentially". A People write that overlaps another write for the same account is refused
  with 429 ``RESOURCE_EXHAUSTED`` (reason ``CONCURRENT_MUTATIONS``), so a client that sends
  them in parallel is caught.
- ``off_rule_start``: a series whose start is not on its RRULE. ``google`` (Google's
  behaviour, reported by clients): the start is an extra occurrence that COUNT does not
  include; ``rfc5545``: the start is the first of the COUNT occurrences.

The ``realistic`` profile switches them all on; ``plain`` (the default) switches them off.
Settings apply to every account unless set for one account (``account``).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .core import CONTROL, PEOPLE, ApiError, Ctx, EmulatorState, error_info, route
from .server import AFTER_CALL, BEFORE_CALL

P = "/__emulator"
OFF_RULE_MODES = ("google", "rfc5545")


@dataclass(frozen=True)
class Realism:
    """One account's (or every account's) realistic behaviours."""

    people_propagation_seconds: float = 0.0
    short_pages: bool = False
    people_sequential: bool = False
    off_rule_start: str = "google"


PROFILES = {
    "plain": Realism(),
    "realistic": Realism(
        people_propagation_seconds=180.0, short_pages=True, people_sequential=True, off_rule_start="google"
    ),
}


def _settings(state: EmulatorState) -> dict[str, Any]:
    data: dict[str, Any] = state.extras.setdefault("realism", {"default": state.extras.get("realism_startup")})
    return data


def realism(state: EmulatorState, email: str | None = None) -> Realism:
    """The behaviours in force for ``email`` (or the default)."""
    data = _settings(state)
    own = data.get("accounts", {}).get(email) if email else None
    found = own or data.get("default") or PROFILES["plain"]
    assert isinstance(found, Realism)
    return found


def ctx_realism(ctx: Ctx) -> Realism:
    return realism(ctx.state, ctx.account.email if ctx.account else None)


def parse(data: dict[str, Any], base: Realism) -> Realism:
    """``base`` changed by a control body: ``profile`` first, then single settings; 400 on bad input."""
    known = {f.name for f in fields(Realism)} | {"profile", "account"}
    unknown = set(data) - known
    if unknown:
        raise ApiError(
            400, f"Unknown realism settings: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})"
        )
    out = base
    if "profile" in data:
        if data["profile"] not in PROFILES:
            raise ApiError(400, f"profile must be one of {', '.join(PROFILES)}, got {data['profile']!r}")
        out = PROFILES[data["profile"]]
    if "people_propagation_seconds" in data:
        value = data["people_propagation_seconds"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ApiError(400, f"people_propagation_seconds must be a number >= 0, got {value!r}")
        out = replace(out, people_propagation_seconds=float(value))
    for flag in ("short_pages", "people_sequential"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise ApiError(400, f"{flag} must be true or false")
            out = replace(out, **{flag: data[flag]})
    if "off_rule_start" in data:
        if data["off_rule_start"] not in OFF_RULE_MODES:
            raise ApiError(400, f"off_rule_start must be one of {', '.join(OFF_RULE_MODES)}")
        out = replace(out, off_rule_start=data["off_rule_start"])
    return out


def configure(state: EmulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """Apply a control body (``account`` limits it to one account); the settings now in force."""
    with state.lock:
        settings = _settings(state)
        email = str(data["account"]).strip().lower() if data.get("account") else None
        if email:
            accounts = settings.setdefault("accounts", {})
            accounts[email] = parse(data, accounts.get(email) or realism(state))
        else:
            settings["default"] = parse(data, realism(state))
        return describe(state)


def describe(state: EmulatorState) -> dict[str, Any]:
    settings = _settings(state)
    return {
        "default": asdict(realism(state)),
        "accounts": {k: asdict(v) for k, v in settings.get("accounts", {}).items()},
    }


def set_startup_profile(state: EmulatorState, profile: str) -> None:
    """The profile the emulator starts with and returns to on reset (the ``--profile`` flag)."""
    state.extras["realism_startup"] = PROFILES[profile]
    state.extras.pop("realism", None)


@route("GET", P + "/realism", api=CONTROL, method_id="emulator.realism.get")
def get_realism(ctx: Ctx) -> dict[str, Any]:
    """The realistic behaviours in force (default and per account)."""
    return describe(ctx.state)


@route("POST", P + "/realism", api=CONTROL, method_id="emulator.realism")
def post_realism(ctx: Ctx) -> dict[str, Any]:
    """Switch behaviours: {profile?: plain|realistic, account?, people_propagation_seconds?, short_pages?, ...}."""
    return configure(ctx.state, ctx.json())


# --------------------------------------------------------------------------- short pages


def page_limit(ctx: Ctx, requested: int, page_number: int) -> int:
    """How many items page ``page_number`` (0 first) of a listing may hold: ``requested`` normally;
    with short pages every third page (the first included) is empty, the others hold 1 to
    ``requested`` items: 1, 2 or a third of ``requested`` (deterministic per page number)."""
    if not ctx_realism(ctx).short_pages:
        return requested
    if page_number % 3 == 0:
        return 0
    return random.Random(page_number * 7919 + requested).choice([1, min(2, requested), max(1, requested // 3)])


# --------------------------------------------------------------------------- sequential People writes

_PEOPLE_READS = ("people.people.getBatchGet", "people.contactGroups.batchGet")


def _is_people_mutation(ctx: Ctx) -> bool:
    return ctx.api == PEOPLE and ctx.method != "GET" and ctx.method_id not in _PEOPLE_READS


def _sequential_before(state: EmulatorState, ctx: Ctx) -> None:
    """With ``people_sequential``: a People write while another write for the same account is in
    flight is refused with 429 RESOURCE_EXHAUSTED (retryable), as a client sending them in parallel
    would be rate-limited; the first write goes on."""
    if ctx.account is None or not _is_people_mutation(ctx) or not ctx_realism(ctx).people_sequential:
        return
    holding: dict[str, int] = state.extras.setdefault("people_writes_in_flight", {})
    if holding.get(ctx.account.email):
        raise ApiError(
            429,
            "Concurrent People mutations for one user: mutate requests for the same user should be sent "
            "sequentially. Wait for the earlier request to finish, then retry.",
            details=[error_info("RATE_LIMIT_EXCEEDED", service="people.googleapis.com")],
            headers={"Retry-After": "1"},
        )
    holding[ctx.account.email] = id(ctx)


def _sequential_after(state: EmulatorState, ctx: Ctx) -> None:
    holding: dict[str, int] = state.extras.get("people_writes_in_flight", {})
    if ctx.account is not None and holding.get(ctx.account.email) == id(ctx):
        del holding[ctx.account.email]


if _sequential_before not in BEFORE_CALL:
    BEFORE_CALL.append(_sequential_before)
    AFTER_CALL.append(_sequential_after)
