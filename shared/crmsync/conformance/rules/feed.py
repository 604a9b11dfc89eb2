"""The change feed: shape, commit order, paging limits, cursors, scope exits, concurrent writers."""

from __future__ import annotations

import threading
from typing import Any

from ...crm.port import CrmContractError
from ...crm.replies import change_page
from ..runner import Context, Failure, rule
from .samples import sample

EXPIRED = "urn:crm-sync:problem:cursor-expired"


@rule(
    "feed.shape-and-order", "Feed pages: exact shape, commit order, a record once at its latest version", "Change feed"
)
def shape_and_order(ctx: Context) -> None:
    _, start = ctx.drain("contacts")
    a, b, c = (ctx.made("contacts", sample("contacts", ctx)) for _ in range(3))
    upd = ctx.http("PATCH", f"/contacts/{a['id']}", body={"title": "later"}, headers={"If-Match": '"1"'})
    ctx.expect(upd, 200, "updating the first record")
    page = ctx.feed("contacts", start)
    ctx.expect(page, 200, "reading the feed")
    try:
        change_page("contacts", page.reply, "GET /contacts/changes")
    except CrmContractError as err:
        raise Failure(str(err), page) from err
    items, _ = ctx.drain("contacts", start)
    order = [(i["id"], i["version"]) for i in items]
    want = [(b["id"], 1), (c["id"], 1), (a["id"], 2)]
    ctx.check(
        order == want, f"commit order with each record once at its latest version: want {want}, got {order}", page
    )


@rule("feed.empty-page-advances", "With has_more false, next_cursor points past the newest change", "Change feed")
def empty_page(ctx: Context) -> None:
    _, cursor = ctx.drain("contacts")
    empty = ctx.feed("contacts", cursor)
    ctx.expect(empty, 200, "reading at the end of the feed")
    body = ctx.obj(empty)
    ctx.check(body["items"] == [] and body["has_more"] is False, "the end of the feed is an empty page", empty)
    rec = ctx.made("contacts", sample("contacts", ctx))
    items, _ = ctx.drain("contacts", body["next_cursor"])
    got = [i["id"] for i in items]
    ctx.check(got == [rec["id"]], f"after one new write the cursor gives exactly it (got {got})", empty)


@rule("feed.paging", "limit pages the feed (1-1000; 0 and 1001 are 400); has_more until the last page", "Change feed")
def paging(ctx: Context) -> None:
    _, start = ctx.drain("contacts")
    made = [ctx.made("contacts", sample("contacts", ctx))["id"] for _ in range(3)]
    cursor, seen, pages = start, [], 0
    while True:
        ex = ctx.feed("contacts", cursor, limit=1)
        ctx.expect(ex, 200, "reading with limit=1")
        body = ctx.obj(ex)
        ctx.check(len(body["items"]) <= 1, f"limit=1 gives at most one item, not {len(body['items'])}", ex)
        seen += [i["id"] for i in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if not body["has_more"] or pages > 10:
            break
    ctx.check(seen == made, f"paging one by one gives every change once, in order (got {seen})", ex)
    for bad in ("0", "1001", "ten"):
        ex = ctx.feed("contacts", start, limit=bad)
        ctx.expect(ex, 400, f"limit={bad}")
    many = ",".join(f"{ctx.tag}-{i}" for i in range(1001))
    ctx.expect(ctx.http("GET", "/contacts", params={"ids": many}), 400, "?ids= with 1,001 ids")


@rule(
    "feed.cursor-bound",
    "A cursor belongs to its feed; a foreign or mangled one is 400 /cursor or 410 cursor-expired",
    "Change feed",
)
def cursor_bound(ctx: Context) -> None:
    _, cursor = ctx.drain("contacts")
    for what, ex in (
        (
            "a cursor used with another tag",
            ctx.http("GET", "/contacts/changes", params={"cursor": cursor, "tag": ctx.tag + "-x"}),
        ),
        ("a cursor of contacts used for tasks", ctx.feed("tasks", cursor)),
        ("a mangled cursor", ctx.feed("contacts", cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"))),
    ):
        ctx.expect(ex, (400, 410), what)
        body = ctx.obj(ex)
        if ex.status == 410:
            ctx.check(body.get("type") == EXPIRED, f"a 410 on a cursor is type {EXPIRED}", ex)
        else:
            paths = [e.get("path") for e in body.get("errors", [])]
            ctx.check("/cursor" in paths or body.get("type") == EXPIRED, f"{what}: the problem points at /cursor", ex)


@rule(
    "feed.out-of-scope",
    "A record leaving a filtered feed comes as out_of_scope; one never in it never appears",
    "Change feed",
)
def out_of_scope(ctx: Context) -> None:
    scope = ctx.tag + "-scope"
    leaving = ctx.made("contacts", {**sample("contacts", ctx), "tags": ctx.tags(scope)})
    ctx.made("contacts", sample("contacts", ctx))  # never in the scope
    items, cursor = ctx.drain("contacts", tag=scope)
    ctx.check([i["id"] for i in items] == [leaving["id"]], "the filtered feed lists only the tagged record")
    ex = ctx.http("PATCH", f"/contacts/{leaving['id']}", body={"tags": ctx.tags()}, headers={"If-Match": '"1"'})
    ctx.expect(ex, 200, "removing the tag")
    page = ctx.feed("contacts", cursor, tag=scope)
    items, _ = ctx.drain("contacts", cursor, tag=scope)
    got = [(i["id"], i["change"], i["record"]) for i in items]
    ctx.check(got == [(leaving["id"], "out_of_scope", None)], f"one out_of_scope entry, record null (got {got})", page)


@rule("feed.concurrent-writes", "Under concurrent writers a reader following cursors misses no change", "Change feed")
def concurrent(ctx: Context) -> None:
    _, start = ctx.drain("contacts")
    errors: list[str] = []
    done = threading.Event()
    seen: dict[str, int] = {}
    written: list[str] = []
    regressions: list[str] = []

    def writer(n: int) -> None:
        try:
            for i in range(6):
                ex = ctx.create("contacts", sample("contacts", ctx), key=ctx.key(f"w{n}-{i}"))
                if ex.status != 201:
                    errors.append(f"create answered {ex.status}")
                    continue
                rec = ex.reply
                written.append(rec["id"])
                up = ctx.http("PATCH", f"/contacts/{rec['id']}", body={"title": f"t{i}"}, headers={"If-Match": '"1"'})
                if up.status != 200:
                    errors.append(f"patch answered {up.status}")
        except Exception as err:  # a thread must report, not die silently
            errors.append(repr(err))

    def apply(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["version"] < seen.get(item["id"], 0):
                regressions.append(f"{item['id']} went back from version {seen[item['id']]} to {item['version']}")
            seen[item["id"]] = item["version"]

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    cursor = start
    while not done.is_set():
        if not any(t.is_alive() for t in threads):
            done.set()  # one more read after the writers stop
        items, cursor = ctx.drain("contacts", cursor)
        apply(items)
    for t in threads:
        t.join()
    ctx.check(not errors, f"the writers failed: {errors[:3]}")
    ctx.check(not regressions, f"versions went backwards in the feed: {regressions[:3]}")
    ids = sorted(written)
    truth: dict[str, int] = {}
    for part in range(0, len(ids), 500):
        ex = ctx.http("GET", "/contacts", params={"ids": ",".join(ids[part : part + 500])})
        ctx.expect(ex, 200, "?ids= of the records written")
        truth.update({r["id"]: r["version"] for r in ctx.obj(ex)["items"]})
    missed = {i: (seen.get(i), v) for i, v in truth.items() if seen.get(i) != v}
    ctx.check(len(truth) == len(ids) == 24, f"24 records were written, ?ids= found {len(truth)} of {len(ids)}")
    ctx.check(not missed, f"the reader missed changes (id: (seen, actual) versions): {dict(list(missed.items())[:3])}")
