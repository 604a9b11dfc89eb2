"""What clients sent and received, per account.

- Bytes answered (``GET /__emulator/traffic``): the body bytes of every API response, by method;
  a batch is counted once, as its whole multipart answer (its inner answers are inside it). The
  benchmarks report what a sync receives with it.
- Requests (``POST /__emulator/traffic/record {"on": true}``): each API call's method id, query
  parameter names and JSON body keys (inner batch calls too), so a test can check that every
  request a client makes asks only for what it reads (``fields``, People's masks).

``POST /__emulator/traffic/reset`` forgets both.
"""

from __future__ import annotations

import json
from typing import Any

from .core import CONTROL, Ctx, EmulatorState, route

P = "/__emulator/traffic"
BYTES = "traffic.bytes"
RECORDING = "traffic.recording"
REQUESTS = "traffic.requests"


def note(state: EmulatorState, who: str, ctx: Ctx | None, answered: bytes, *, inner: bool) -> None:
    """Count one API call's answer (not an inner one: its batch counts it) and record the request."""
    if ctx is None:
        return
    with state.lock:
        if not inner:
            by_method = state.extras.setdefault(BYTES, {}).setdefault(who, {})
            by_method[ctx.method_id] = by_method.get(ctx.method_id, 0) + len(answered)
        if state.extras.get(RECORDING):
            state.extras.setdefault(REQUESTS, []).append(
                {
                    "account": who,
                    "method": ctx.method_id,
                    "params": sorted(ctx.query),
                    "body": _body_keys(ctx.body),
                    "inner": inner,
                }
            )


def _body_keys(body: bytes) -> list[str]:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return []
    return sorted(data) if isinstance(data, dict) else []


@route("GET", P, api=CONTROL, method_id="emulator.traffic")
def traffic(ctx: Ctx) -> dict[str, Any]:
    """Bytes answered per account and method, and the requests recorded (when recording)."""
    only = ctx.param("account")
    sent: dict[str, dict[str, int]] = ctx.state.extras.get(BYTES, {})
    accounts = {
        who: {"bytes": sum(by.values()), "by_method": dict(sorted(by.items()))}
        for who, by in sorted(sent.items())
        if not only or who == only.strip().lower()
    }
    requests = [r for r in ctx.state.extras.get(REQUESTS, []) if not only or r["account"] == only.strip().lower()]
    return {"accounts": accounts, "requests": requests}


@route("POST", P + "/record", api=CONTROL, method_id="emulator.traffic.record")
def record(ctx: Ctx) -> dict[str, Any]:
    """Turn request recording on or off: {"on": true|false}."""
    data = ctx.json()
    ctx.state.extras[RECORDING] = bool(data.get("on"))
    return {"recording": ctx.state.extras[RECORDING]}


@route("POST", P + "/reset", api=CONTROL, method_id="emulator.traffic.reset")
def reset(ctx: Ctx) -> dict[str, Any]:
    """Forget the byte counts and the recorded requests."""
    ctx.state.extras.pop(BYTES, None)
    ctx.state.extras.pop(REQUESTS, None)
    return {"ok": True}
