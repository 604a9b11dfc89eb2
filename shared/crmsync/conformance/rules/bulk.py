"""Bulk: per-operation results in request order, one transaction, limits."""

from __future__ import annotations

from ..runner import Context, rule
from .samples import check_record, sample


@rule(
    "bulk.per-item-results",
    "Bulk answers 200 with one result per operation, in order, each as the single call",
    "Writes",
)
def per_item(ctx: Context) -> None:
    a = ctx.made("contacts", sample("contacts", ctx))
    b = ctx.made("contacts", sample("contacts", ctx))
    c = ctx.made("contacts", sample("contacts", ctx))
    ops = [
        {"op": "create", "idempotency_key": ctx.key("bulk"), "record": {"tags": ctx.tags(), **sample("contacts", ctx)}},
        {
            "op": "create",
            "idempotency_key": ctx.key("bulk"),
            "record": {"tags": ctx.tags(), "emails": [{"type": "work", "value": "bad@"}]},
        },
        {"op": "update", "id": a["id"], "if_match": 7, "patch": {"title": "stale"}},
        {"op": "update", "id": b["id"], "if_match": 1, "patch": {"title": "fresh"}},
        {"op": "delete", "id": c["id"], "if_match": 1},
    ]
    ex = ctx.http("POST", "/contacts/bulk", body={"operations": ops})
    ctx.expect(ex, 200, "a bulk call with mixed operations")
    results = ctx.obj(ex)["results"]
    got = [(r.get("index"), r.get("status")) for r in results]
    want = [(0, 201), (1, 422), (2, 412), (3, 200), (4, 204)]
    ctx.check(got == want, f"results (index, status): want {want}, got {got}", ex)
    for i in (0, 3):
        check_record("contacts", results[i].get("record"), ex, f"/results/{i}/record")
    for i in (1, 2):
        problem = results[i].get("problem") or {}
        ctx.check(
            all(k in problem for k in ("type", "title", "status", "detail")) and problem["status"] == want[i][1],
            f"result {i} carries its problem (type, title, status, detail)",
            ex,
        )
    ctx.check((results[2].get("problem") or {}).get("current_version") == 1, "the 412 result has current_version", ex)
    ctx.expect(ctx.http("GET", f"/contacts/{c['id']}"), 404, "the record the bulk call deleted")


@rule("bulk.limits", "Bulk takes 1-500 operations: 501 is 413 (path /operations), none is 400", "Writes")
def limits(ctx: Context) -> None:
    op = {"op": "delete", "id": f"{ctx.tag}-none", "if_match": 1}
    big = ctx.http("POST", "/contacts/bulk", body={"operations": [op] * 501})
    ctx.expect(big, 413, "501 operations")
    paths = [e.get("path") for e in ctx.obj(big).get("errors", [])]
    ctx.check("/operations" in paths, f"the 413 points at /operations (got {paths})", big)
    ctx.expect(ctx.http("POST", "/contacts/bulk", body={"operations": []}), 400, "no operations")


@rule("bulk.replay", "A bulk create replays by its key like a single create", "Writes")
def replay(ctx: Context) -> None:
    key = ctx.key("bulk-replay")
    ops = [{"op": "create", "idempotency_key": key, "record": {"tags": ctx.tags(), **sample("contacts", ctx)}}]
    first = ctx.http("POST", "/contacts/bulk", body={"operations": ops})
    again = ctx.http("POST", "/contacts/bulk", body={"operations": ops})
    ctx.expect(first, 200, "a bulk create")
    ctx.expect(again, 200, "the same bulk create again")
    r1, r2 = ctx.obj(first)["results"][0], ctx.obj(again)["results"][0]
    ctx.check(r1.get("status") == 201 and r2.get("status") == 201, "both answers are 201", first, again)
    ctx.check(r1.get("record") == r2.get("record"), "the replay answers the same record", first, again)
