"""Writes: idempotent creates and key reuse, If-Match, the order of checks, tombstones."""

from __future__ import annotations

from ..runner import Context, rule
from .samples import check_record, sample

REUSED = "urn:crm-sync:problem:idempotency-key-reused"


@rule(
    "writes.idempotent-replay", "A replayed create returns the original response and makes no second record", "Writes"
)
def replay(ctx: Context) -> None:
    key, body = ctx.key("replay"), sample("contacts", ctx)
    first = ctx.create("contacts", body, key=key)
    ctx.expect(first, 201, "the first create")
    again = ctx.create("contacts", body, key=key)
    ctx.expect(again, 201, "the same create again (same key, same body)")
    a, b = ctx.obj(first), ctx.obj(again)
    ctx.check(a == b, "the replay returns the original record (same id, version, fields)", first, again)
    ctx.check(
        (again.header("Idempotent-Replayed") or "").lower() == "true",
        "a replay carries Idempotent-Replayed: true",
        again,
    )
    ctx.check(
        (first.header("Idempotent-Replayed") or "false").lower() != "true",
        "a first create is not marked replayed",
        first,
    )
    items, _ = ctx.drain("contacts")
    same = [i for i in items if i["change"] == "upsert" and i["record"]["emails"] == body["emails"]]
    ctx.check(len(same) == 1, f"the feed holds one record for the key, not {len(same)}", first, again)


@rule("writes.replay-after-change", "A replay after the record changed still returns the original response", "Writes")
def replay_after_change(ctx: Context) -> None:
    key, body = ctx.key("replay2"), sample("contacts", ctx)
    first = ctx.create("contacts", body, key=key)
    ctx.expect(first, 201, "the first create")
    rid = ctx.obj(first)["id"]
    upd = ctx.http("PATCH", f"/contacts/{rid}", body={"title": "Changed"}, headers={"If-Match": '"1"'})
    ctx.expect(upd, 200, "changing the record")
    again = ctx.create("contacts", body, key=key)
    ctx.expect(again, 201, "replaying the create after the change")
    ctx.check(ctx.obj(again) == ctx.obj(first), "the replay answers the record as first created (version 1)", again)


@rule(
    "writes.key-reuse", "Same key, other body: 422 urn:crm-sync:problem:idempotency-key-reused with record_id", "Writes"
)
def key_reuse(ctx: Context) -> None:
    key = ctx.key("reuse")
    first = ctx.create("contacts", sample("contacts", ctx), key=key)
    ctx.expect(first, 201, "the first create")
    other = ctx.create("contacts", sample("contacts", ctx), key=key)
    ctx.expect(other, 422, "the same key with another body")
    problem = ctx.obj(other)
    ctx.check(
        problem.get("type") == REUSED, f"the problem type is exactly {REUSED}, not {problem.get('type')!r}", other
    )
    ctx.check(
        problem.get("record_id") == ctx.obj(first)["id"],
        "the problem names the record the key created (record_id) for its owner",
        other,
    )
    if "record" in problem:
        check_record("contacts", problem["record"], other, "/record")
        ctx.check(problem["record"] == ctx.obj(first), "problem.record is the record as first created", other)


@rule("writes.failed-create-keeps-key", "A refused create does not use up its key; a missing key is 400", "Writes")
def failed_keeps_key(ctx: Context) -> None:
    key = ctx.key("failed")
    bad = ctx.create("contacts", {"emails": [{"type": "work", "value": "not-an-email@"}]}, key=key)
    ctx.expect(bad, 422, "a create with an invalid e-mail")
    good = ctx.create("contacts", sample("contacts", ctx), key=key)
    ctx.expect(good, 201, "a valid create with the key of the refused one")
    ctx.check((good.header("Idempotent-Replayed") or "").lower() != "true", "it is a new record, not a replay", good)
    none = ctx.http("POST", "/contacts", body={"tags": ctx.tags(), **sample("contacts", ctx)})
    ctx.expect(none, 400, "a create without Idempotency-Key")


@rule("writes.if-match", "PATCH/DELETE need If-Match: missing 428, stale 412 with current_version and ETag", "Writes")
def if_match(ctx: Context) -> None:
    rec = ctx.made("contacts", sample("contacts", ctx))
    path = f"/contacts/{rec['id']}"
    ctx.expect(ctx.http("PATCH", path, body={"title": "x"}), 428, "PATCH without If-Match")
    ctx.expect(ctx.http("DELETE", path), 428, "DELETE without If-Match")
    ok = ctx.http("PATCH", path, body={"title": "a"}, headers={"If-Match": "1"})
    ctx.expect(ok, 200, "PATCH with If-Match: 1 (unquoted)")
    ok = ctx.http("PATCH", path, body={"title": "b"}, headers={"If-Match": '"2"'})
    ctx.expect(ok, 200, 'PATCH with If-Match: "2" (quoted)')
    stale = ctx.http("PATCH", path, body={"title": "c"}, headers={"If-Match": '"1"'})
    ctx.expect(stale, 412, "PATCH with a stale If-Match")
    ctx.check(ctx.obj(stale).get("current_version") == 3, "a 412 carries current_version (3)", stale)
    ctx.check(stale.header("ETag") in ('"3"', 'W/"3"'), 'a 412 carries the current ETag ("3")', stale)
    gone = ctx.http("DELETE", path, headers={"If-Match": '"2"'})
    ctx.expect(gone, 412, "DELETE with a stale If-Match")


@rule("writes.order-of-checks", "Checks run in order: visible and alive (404), version (412), body (422)", "Writes")
def order_of_checks(ctx: Context) -> None:
    rec = ctx.made("contacts", sample("contacts", ctx))
    bad_body = {"emails": [{"type": "work", "value": "not-an-email@"}]}
    ex = ctx.http("PATCH", f"/contacts/{rec['id']}", body=bad_body, headers={"If-Match": '"9"'})
    ctx.expect(ex, 412, "a stale If-Match with an invalid body (the version is checked before the body)")
    ex = ctx.http("PATCH", f"/contacts/{ctx.tag}-no-such-id", body=bad_body, headers={"If-Match": '"9"'})
    ctx.expect(ex, 404, "an unknown id with a stale If-Match and an invalid body (404 first)")


@rule(
    "writes.tombstones",
    "DELETE leaves a tombstone: 404 on read, left out of ?ids=, a delete entry in the feed",
    "Change feed",
)
def tombstones(ctx: Context) -> None:
    rec = ctx.made("contacts", sample("contacts", ctx))
    _, cursor = ctx.drain("contacts")
    gone = ctx.http("DELETE", f"/contacts/{rec['id']}", headers={"If-Match": '"1"'})
    ctx.expect(gone, 204, "DELETE with the current version")
    ctx.expect(ctx.http("GET", f"/contacts/{rec['id']}"), 404, "reading a deleted record")
    ids = ctx.http("GET", "/contacts", params={"ids": rec["id"]})
    ctx.expect(ids, 200, "?ids= with a deleted id")
    ctx.check(ctx.obj(ids)["items"] == [], "?ids= leaves deleted records out", ids)
    again = ctx.http("DELETE", f"/contacts/{rec['id']}", headers={"If-Match": '"2"'})
    ctx.expect(again, 404, "deleting a deleted record")
    items, _ = ctx.drain("contacts", cursor)
    feed = ctx.feed("contacts", cursor)
    mine = [i for i in items if i["id"] == rec["id"]]
    ctx.check(len(mine) == 1 and mine[0]["change"] == "delete", f"the feed has one delete entry (got {mine})", feed)
    ctx.check(mine[0]["record"] is None and mine[0]["version"] == 2, "a tombstone has record null, version + 1", feed)
    full, _ = ctx.drain("contacts")
    ctx.check(
        any(i["id"] == rec["id"] and i["change"] == "delete" for i in full),
        "tombstones stay in the feed (a read from the start still has it)",
        feed,
    )
