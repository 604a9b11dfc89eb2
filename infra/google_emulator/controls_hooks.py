"""The fault, quota and latency hooks the control API (``controls``) configures.

Hooks run for every counted API call, inner batch calls included (see
``server.BEFORE_CALL``). Latency is per HTTP request: an inner batch call is not
delayed, the outer ``batch`` call is. Fault rules for ``*`` match every API
method but not the outer ``batch`` call (name ``batch`` explicitly for that).
"""

from __future__ import annotations

import math
import random
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from .core import CALENDAR, ApiError, Ctx, EmulatorState
from .faults import fault_reply, quota_reply
from .server import BEFORE_CALL, ConnectionDrop, in_batch

QUOTA_WINDOW = timedelta(seconds=60)


def _latency_hook(state: EmulatorState, ctx: Ctx) -> float | None:
    if in_batch():
        return None
    per_method: dict[str, float] = state.extras.get("latency_methods", {})
    ms = per_method.get(ctx.method_id, state.extras.get("latency_ms", 0))
    return ms / 1000.0 if ms else None


def _rng(state: EmulatorState) -> random.Random:
    rng: random.Random = state.extras.setdefault("fault_rng", random.Random(0))
    return rng


def _fault_hook(state: EmulatorState, ctx: Ctx) -> None:
    rules: dict[str, dict[str, Any]] = state.extras.get("faults", {})
    rule = rules.get(ctx.method_id) or (rules.get("*") if ctx.method_id != "batch" else None)
    if rule is None or (rule.get("account") and (ctx.account is None or rule["account"] != ctx.account.email)):
        return
    now = state.clock.now()
    if (rule.get("from") and now < rule["from"]) or (rule.get("until") and now >= rule["until"]):
        return  # outside the rule's schedule (emulator clock)
    if rule.get("sequence"):
        kind = rule["sequence"].popleft()
    elif _rng(state).random() < rule.get("probability", 0.0):
        kind = _rng(state).choice(rule["errors"])
    else:
        kind = "ok"
    if kind == "drop":
        raise ConnectionDrop
    if kind != "ok":
        raise fault_reply(kind, ctx.api)


def _quota_error(state: EmulatorState, api: str, key: str, limit: int, retry_after: int) -> ApiError:
    headers = {"Retry-After": str(retry_after)}
    if api == CALENDAR:
        if state.extras.get("quota_calendar_status", 403) == 429:
            return ApiError(
                429, "Rate Limit Exceeded", reason="rateLimitExceeded", domain="usageLimits", headers=headers
            )
        return ApiError(
            403, "Rate Limit Exceeded", reason="userRateLimitExceeded", domain="usageLimits", headers=headers
        )
    return quota_reply(
        api,
        metric=key,
        limit=f"{key} per minute per user",
        limit_name=f"{key} per minute per user",
        per="minute",
        value=limit,
        headers=headers,
    )


def _quota_hook(state: EmulatorState, ctx: Ctx) -> None:
    limits: dict[str, int] = state.extras.get("quota_limits", {})
    if not limits or ctx.account is None or ctx.method_id == "batch":
        return
    keys = [k for k in (ctx.api, f"{ctx.api}:write" if ctx.method != "GET" else "", ctx.method_id) if k in limits]
    windows: dict[tuple[str, str], deque[datetime]] = state.extras.setdefault("quota_windows", {})
    now = state.clock.now()
    for key in keys:
        window = windows.setdefault((ctx.account.email, key), deque())
        while window and window[0] <= now - QUOTA_WINDOW:
            window.popleft()
        if len(window) >= limits[key]:
            retry = max(1, math.ceil((window[0] + QUOTA_WINDOW - now).total_seconds()))
            raise _quota_error(state, ctx.api, key, limits[key], retry)
    for key in keys:
        windows[(ctx.account.email, key)].append(now)


def install_hooks() -> None:
    """Register the latency, fault and quota hooks once (latency first, so faulted calls are delayed too)."""
    for hook in (_latency_hook, _fault_hook, _quota_hook):
        if hook not in BEFORE_CALL:
            BEFORE_CALL.append(hook)
