"""Private control API under ``/__emulator/`` (no auth, JSON in and out); the fault, quota and
latency hooks it configures are in ``controls_hooks`` (installed when this module loads).
"""

from __future__ import annotations

import math
import random
import sys
from collections import deque
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from . import oauth
from .calendar_listing import UPDATED_MIN_DAYS
from .controls_hooks import install_hooks
from .core import CONTROL, ApiError, Ctx, EmulatorState, parse_rfc3339, rfc3339, route
from .faults import FAULT_REPLIES

P = "/__emulator"
API_MODULES = ("people", "calendar", "tasks")
FAULT_KINDS = ("ok", "drop", *FAULT_REPLIES)  # "drop" closes the connection; the rest: faults.FAULT_REPLIES


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _body(ctx: Ctx) -> dict[str, Any]:
    return ctx.json()


def _number(data: dict[str, Any], key: str, default: float | None = None, *, low: float = 0) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise _bad(f"{key} must be a number >= {low}, got {value!r}")
    return float(value)


def _account_param(ctx: Ctx, *, required: bool = True) -> str | None:
    email = ctx.param("account")
    if required and not email:
        raise _bad("Missing query parameter: account (the account's e-mail address)")
    return email.strip().lower() if email else None


install_hooks()


# --------------------------------------------------------------------------- state controls


def apply_settings(state: EmulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """Apply ``POST settings`` keys; unknown keys are a 400."""
    known = {"auto_approve", "access_token_ttl_seconds", "default_account", "strict_clients", "latency_ms"}
    known |= {"batch_limit", "calendar_batch_limit", "calendar_updated_min_days"}
    unknown = set(data) - known
    if unknown:
        raise _bad(f"Unknown settings: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    for flag in ("auto_approve", "strict_clients"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise _bad(f"{flag} must be true or false")
            state.extras[flag] = data[flag]
    if "access_token_ttl_seconds" in data:
        state.access_token_ttl = timedelta(seconds=_number(data, "access_token_ttl_seconds", low=1))
    if "default_account" in data:
        state.extras["default_account"] = str(data["default_account"]).strip().lower()
    if "latency_ms" in data:
        state.extras["latency_ms"] = _number(data, "latency_ms")
    for key in ("batch_limit", "calendar_batch_limit"):
        if key in data:
            state.extras[key] = int(_number(data, key, low=1))
    if "calendar_updated_min_days" in data:  # how far back events.list updatedMin may reach; 0: no limit
        state.extras["calendar_updated_min_days"] = _number(data, "calendar_updated_min_days")
    return current_settings(state)


def current_settings(state: EmulatorState) -> dict[str, Any]:
    """The settings as ``POST settings`` takes them."""
    ex = state.extras
    return {
        "auto_approve": bool(ex.get("auto_approve", False)),
        "access_token_ttl_seconds": int(state.access_token_ttl.total_seconds()),
        "default_account": ex.get("default_account", "user@example.com"),
        "strict_clients": bool(ex.get("strict_clients", False)),
        "latency_ms": ex.get("latency_ms", 0),
        "batch_limit": ex.get("batch_limit", 1000),
        "calendar_batch_limit": ex.get("calendar_batch_limit", 1000),
        "calendar_updated_min_days": ex.get("calendar_updated_min_days", UPDATED_MIN_DAYS),
    }


@route("POST", P + "/reset", api=CONTROL, method_id="emulator.reset")
def reset(ctx: Ctx) -> dict[str, Any]:
    """Forget all data, tokens, counters, faults and settings (start-up flags are re-applied)."""
    keep: dict[str, Any] = {
        k: ctx.state.extras[k]
        for k in ("base_url", "startup_settings", "realism_startup", "push_startup")
        if k in ctx.state.extras
    }
    ctx.state.reset()
    ctx.state.extras.update(keep)
    apply_settings(ctx.state, dict(keep.get("startup_settings", {})))
    return {"ok": True}


@route("GET", P + "/settings", api=CONTROL, method_id="emulator.settings.get")
def get_settings(ctx: Ctx) -> dict[str, Any]:
    """Current settings."""
    return current_settings(ctx.state)


@route("POST", P + "/settings", api=CONTROL, method_id="emulator.settings")
def settings(ctx: Ctx) -> dict[str, Any]:
    """Change settings: auto_approve, access_token_ttl_seconds, default_account, strict_clients, ..."""
    return apply_settings(ctx.state, _body(ctx))


@route("POST", P + "/accounts", api=CONTROL, method_id="emulator.accounts.create")
def create_account(ctx: Ctx) -> dict[str, Any]:
    """Create an account {email, name}."""
    data = _body(ctx)
    email = str(data.get("email", "")).strip()
    if "@" not in email:
        raise _bad(f"email must be an e-mail address, got {email!r}")
    acct = ctx.state.account(email, name=data.get("name"))
    return {"email": acct.email, "name": acct.name, "sub": acct.subject}


@route("GET", P + "/accounts", api=CONTROL, method_id="emulator.accounts.list")
def list_accounts(ctx: Ctx) -> dict[str, Any]:
    """All accounts."""
    return {"accounts": [{"email": a.email, "name": a.name, "sub": a.subject} for a in ctx.state.accounts.values()]}


def _scopes(data: dict[str, Any]) -> list[str]:
    scopes = data.get("scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not scopes or not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise _bad("scopes must be a non-empty list of scope strings")
    return oauth.normalize_scopes(scopes)


@route("POST", P + "/tokens", api=CONTROL, method_id="emulator.tokens.create")
def mint_token(ctx: Ctx) -> dict[str, Any]:
    """Mint an access token without OAuth: {email, scopes, client_id?} -> {access_token, expires_in}."""
    data = _body(ctx)
    email = str(data.get("email", "")).strip()
    if "@" not in email:
        raise _bad(f"email must be an e-mail address, got {email!r}")
    tok = ctx.state.mint_access_token(email, frozenset(_scopes(data)), str(data.get("client_id", "test-client")))
    return {
        "access_token": tok.token,
        "expires_in": int((tok.expires_at - ctx.now()).total_seconds()),
        "token_type": "Bearer",
    }


@route("POST", P + "/grants", api=CONTROL, method_id="emulator.grants.create")
def create_grant(ctx: Ctx) -> dict[str, Any]:
    """A full offline grant without the browser: {email, client_id, scopes} -> {refresh_token, access_token, ...}."""
    data = _body(ctx)
    email, client_id = str(data.get("email", "")).strip(), str(data.get("client_id", "")).strip()
    if "@" not in email or not client_id:
        raise _bad("email (an e-mail address) and client_id are required")
    ctx.state.account(email)
    grant, tok = oauth.create_grant(ctx.state, email, client_id, _scopes(data), offline=True)
    return {
        "refresh_token": grant.refresh_token,
        "access_token": tok.token,
        "expires_in": int((tok.expires_at - ctx.now()).total_seconds()),
        "scope": " ".join(sorted(tok.scopes)),
        "token_type": "Bearer",
    }


@route("POST", P + "/clients", api=CONTROL, method_id="emulator.clients.create")
def register_client(ctx: Ctx) -> dict[str, Any]:
    """Register an OAuth client {client_id, client_secret, redirect_uris}."""
    data = _body(ctx)
    uris = data.get("redirect_uris", [])
    if not data.get("client_id") or not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise _bad("client_id (string) and redirect_uris (list of URLs) are required")
    secret = data.get("client_secret")
    client = oauth.register_client(ctx.state, str(data["client_id"]), str(secret) if secret else None, uris)
    return {"client_id": client.client_id, "client_secret": client.client_secret, "redirect_uris": client.redirect_uris}


@route("GET", P + "/stats", api=CONTROL, method_id="emulator.stats")
def stats(ctx: Ctx) -> dict[str, Any]:
    """Per-account call counters by method id (inner batch calls included; outer batch calls as ``batch``)."""
    only = _account_param(ctx, required=False)
    statuses: dict[str, Any] = ctx.state.extras.get("status_counts", {})
    out: dict[str, Any] = {}
    for email in [only] if only else sorted(ctx.state.counters):
        calls = dict(ctx.state.counters.get(email, {}))
        batches = calls.pop("batch", 0)
        out[email] = {
            "calls": calls,
            "total": sum(calls.values()),
            "batch": batches,
            "statuses": statuses.get(email, {}),
        }
    return {"accounts": out}


@route("POST", P + "/stats/reset", api=CONTROL, method_id="emulator.stats.reset")
def reset_stats(ctx: Ctx) -> dict[str, Any]:
    """Zero the counters."""
    ctx.state.counters.clear()
    ctx.state.extras.pop("status_counts", None)
    return {"ok": True}


@route("POST", P + "/latency", api=CONTROL, method_id="emulator.latency")
def latency(ctx: Ctx) -> dict[str, Any]:
    """Set added latency: {ms} for every call and/or {methods: {method_id: ms}}."""
    data = _body(ctx)
    if "ms" in data:
        ctx.state.extras["latency_ms"] = _number(data, "ms")
    methods = data.get("methods")
    if methods is not None:
        if not isinstance(methods, dict):
            raise _bad("methods must be an object {method_id: ms}")
        ctx.state.extras["latency_methods"] = {str(k): _number(methods, k) for k in methods}
    return {"ms": ctx.state.extras.get("latency_ms", 0), "methods": ctx.state.extras.get("latency_methods", {})}


@route("POST", P + "/faults", api=CONTROL, method_id="emulator.faults")
def faults(ctx: Ctx) -> dict[str, Any]:
    """Fault injection per method id or ``*``: {method, sequence} or {method, probability, errors}, optionally
    {account} and a schedule {from, until} on the emulator clock; {clear}; {seed}. Error kinds: ``FAULT_KINDS``
    (Google's replies in ``faults.FAULT_REPLIES``, e.g. quota_exceeded_403, daily_limit, api_disabled)."""
    data, ex = _body(ctx), ctx.state.extras
    rules: dict[str, dict[str, Any]] = ex.setdefault("faults", {})
    if data.get("clear"):
        rules.clear()
    if "seed" in data:
        ex["fault_rng"] = random.Random(data["seed"])
    if "method" in data:
        method = str(data["method"])
        rule: dict[str, Any] = {"account": str(data["account"]).lower() if data.get("account") else None}
        for edge in ("from", "until"):  # a schedule on the emulator clock (RFC 3339), either end optional
            if data.get(edge):
                rule[edge] = parse_rfc3339(str(data[edge]), edge)
        if "sequence" in data:
            seq = [str(k) for k in data["sequence"]] if isinstance(data["sequence"], list) else None
            if not seq or any(k not in FAULT_KINDS for k in seq):
                raise _bad(f"sequence must be a non-empty list of {', '.join(FAULT_KINDS)}")
            rule["sequence"] = deque(seq)
        else:
            probability = _number(data, "probability", low=0)
            errors = [str(k) for k in data.get("errors", [data.get("error", "503")])]
            if probability > 1 or not errors or any(k not in FAULT_KINDS for k in errors):
                raise _bad(f"probability must be in [0, 1] and errors a list of {', '.join(FAULT_KINDS)}")
            rule.update(probability=probability, errors=errors)
        rules[method] = rule
    return {"faults": {m: _shown(r) for m, r in rules.items()}}


def _shown(rule: dict[str, Any]) -> dict[str, Any]:
    out = {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in rule.items()}
    if "sequence" in rule:
        out["sequence"] = list(rule["sequence"])
    return out


@route("POST", P + "/quotas", api=CONTROL, method_id="emulator.quotas")
def quotas(ctx: Ctx) -> dict[str, Any]:
    """Per-account per-minute quotas: {limits: {api | api:write | method_id: n}, calendar_status: 403|429}; {clear}."""
    data, ex = _body(ctx), ctx.state.extras
    if data.get("clear"):
        ex.pop("quota_limits", None)
        ex.pop("quota_windows", None)
    limits = data.get("limits", {})
    if not isinstance(limits, dict):
        raise _bad("limits must be an object {api or method id: requests per minute}")
    ex.setdefault("quota_limits", {}).update({str(k): int(_number(limits, k, low=1)) for k in limits})
    if "calendar_status" in data:
        if data["calendar_status"] not in (403, 429):
            raise _bad("calendar_status must be 403 (userRateLimitExceeded) or 429 (rateLimitExceeded)")
        ex["quota_calendar_status"] = data["calendar_status"]
    return {"limits": ex.get("quota_limits", {}), "calendar_status": ex.get("quota_calendar_status", 403)}


@route("GET", P + "/clock", api=CONTROL, method_id="emulator.clock.get")
def get_clock(ctx: Ctx) -> dict[str, Any]:
    """The emulator's current time."""
    return {"now": rfc3339(ctx.now())}


@route("POST", P + "/clock", api=CONTROL, method_id="emulator.clock")
def clock(ctx: Ctx) -> dict[str, Any]:
    """Set ({set: RFC 3339, frozen}), advance ({advance_seconds}) or reset ({reset: true}) the clock."""
    data = _body(ctx)
    if data.get("reset"):
        ctx.state.clock.reset()
    if "set" in data:
        ctx.state.clock.set(parse_rfc3339(str(data["set"]), "set"), frozen=bool(data.get("frozen", False)))
    if "advance_seconds" in data:
        ctx.state.clock.advance(timedelta(seconds=_number(data, "advance_seconds", low=-math.inf)))
    return {"now": rfc3339(ctx.now())}


def _api_modules() -> dict[str, ModuleType]:
    return {name: mod for name in API_MODULES if (mod := sys.modules.get(f"{__package__}.{name}")) is not None}


@route("POST", P + "/seed", api=CONTROL, method_id="emulator.seed")
def seed(ctx: Ctx) -> dict[str, Any]:
    """Seed an account's data: {"people": {...}, "calendar": {...}, "tasks": {...}} in each API's JSON shape."""
    email, data, modules = _account_param(ctx), _body(ctx), _api_modules()
    acct = ctx.state.account(email or "")
    out: dict[str, Any] = {}
    for api, payload in data.items():
        mod = modules.get(api)
        if mod is None or not hasattr(mod, "seed"):
            raise _bad(f"Cannot seed {api!r}: no such API module with seed() (available: {', '.join(sorted(modules))})")
        if not isinstance(payload, dict):
            raise _bad(f"seed data for {api} must be an object")
        out[api] = mod.seed(acct, ctx.state, payload)
    return out


@route("GET", P + "/dump", api=CONTROL, method_id="emulator.dump")
def dump(ctx: Ctx) -> dict[str, Any]:
    """An account's data in the shape ``seed`` takes."""
    acct = ctx.state.account(_account_param(ctx) or "")
    return {api: mod.dump(acct, ctx.state) for api, mod in _api_modules().items() if hasattr(mod, "dump")}


@route("POST", P + "/expire-sync-tokens", api=CONTROL, method_id="emulator.expireSyncTokens")
def expire_sync_tokens(ctx: Ctx) -> dict[str, Any]:
    """Invalidate the account's sync tokens in every API that has them."""
    acct = ctx.state.account(_account_param(ctx) or "")
    done = [api for api, mod in _api_modules().items() if hasattr(mod, "expire_sync_tokens")]
    for api in done:
        _api_modules()[api].expire_sync_tokens(acct, ctx.state)
    return {"expired": done}
