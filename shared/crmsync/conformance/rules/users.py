"""Users and acting users: lookup, X-CRM-User, visibility applied alike to reads, lookups and feeds."""

from __future__ import annotations

from ..runner import Context, Skipped, rule
from .samples import sample


def _need_user(ctx: Context) -> str:
    if not ctx.user:
        raise Skipped("give --user <a non-admin CRM user id> to check acting users and visibility")
    return ctx.user


@rule("users.lookup", "Users by id and by e-mail (case-insensitive); unknown id 404", "Calls")
def lookup(ctx: Context) -> None:
    user = _need_user(ctx)
    ex = ctx.http("GET", f"/users/{user}")
    ctx.expect(ex, 200, "GET /users/{id}")
    body = ctx.obj(ex)
    ctx.check(
        set(body) == {"id", "email", "name", "role", "active"},
        f"a user has exactly id, email, name, role, active (got {sorted(body)})",
        ex,
    )
    by_mail = ctx.http("GET", "/users", params={"email": str(body["email"]).upper()})
    ctx.expect(by_mail, 200, "GET /users?email= (upper-cased)")
    ctx.check(
        ctx.obj(by_mail)["items"] == [body], "the e-mail lookup is case-insensitive and gives the same user", by_mail
    )
    ctx.expect(ctx.http("GET", f"/users/{ctx.tag}-nobody"), 404, "an unknown user id")


@rule("users.unknown-acting-user", "X-CRM-User naming no active user is 403", "Authentication and acting users")
def unknown_actor(ctx: Context) -> None:
    ex = ctx.feed("contacts", user=f"{ctx.tag}-nobody")
    ctx.expect(ex, 403, "a feed read on behalf of an unknown user")


@rule(
    "users.acting-user-owns",
    "A create on behalf of a user without owner_id is owned by that user and visible to them",
    "Authentication and acting users",
)
def acting_owner(ctx: Context) -> None:
    user = _need_user(ctx)
    ex = ctx.create("contacts", sample("contacts", ctx), user=user)
    ctx.expect(ex, 201, "a create on behalf of --user")
    rec = ctx.obj(ex)
    ctx.check(rec["owner_id"] == user, f"owner_id is the acting user, not {rec['owner_id']!r}", ex)
    ctx.expect(ctx.http("GET", f"/contacts/{rec['id']}", user=user), 200, "the owner reading it")
    items, _ = ctx.drain("contacts", user=user)
    ctx.check(any(i["id"] == rec["id"] for i in items), "the owner's feed lists it")


@rule(
    "users.visibility-consistent",
    "What a user cannot see is 404 on read and write and absent from lookups and feeds",
    "Authentication and acting users",
)
def visibility(ctx: Context) -> None:
    user = _need_user(ctx)
    if not ctx.other_user:
        raise Skipped("give --other-user <another non-admin CRM user id> to check visibility between users")
    ex = ctx.create("contacts", sample("contacts", ctx), user=ctx.other_user)
    ctx.expect(ex, 201, "a create on behalf of --other-user")
    rec = ctx.obj(ex)
    read = ctx.http("GET", f"/contacts/{rec['id']}", user=user)
    ctx.expect(read, (200, 404), "--user reading --other-user's record")
    visible = read.status == 200
    ids = ctx.http("GET", "/contacts", params={"ids": rec["id"]}, user=user)
    ctx.expect(ids, 200, "?ids= on behalf of --user")
    in_ids = [r["id"] for r in ctx.obj(ids)["items"]] == [rec["id"]]
    items, _ = ctx.drain("contacts", user=user)
    in_feed = any(i["id"] == rec["id"] and i["change"] == "upsert" for i in items)
    ctx.check(
        in_ids == visible and in_feed == visible,
        f"read says {'visible' if visible else 'invisible'}, ?ids= {'lists' if in_ids else 'omits'} it, "
        f"the feed {'lists' if in_feed else 'omits'} it: all three must agree",
        read,
        ids,
    )
    if not visible:
        patch = ctx.http("PATCH", f"/contacts/{rec['id']}", body={"title": "x"}, headers={"If-Match": '"1"'}, user=user)
        ctx.expect(patch, 404, "--user patching a record they cannot see")
