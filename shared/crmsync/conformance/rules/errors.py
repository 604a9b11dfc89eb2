"""Errors: every error is application/problem+json with type, title, status, detail; paths point at fields."""

from __future__ import annotations

from ..client import Exchange
from ..runner import Context, rule
from .samples import sample

MEMBERS = ("type", "title", "status", "detail")


def check_problem(ctx: Context, ex: Exchange, status: int, doing: str) -> dict[str, object]:
    ctx.expect(ex, status, doing)
    ctype = (ex.header("Content-Type") or "").split(";")[0].strip()
    ctx.check(
        ctype == "application/problem+json", f"{doing}: Content-Type is application/problem+json, not {ctype!r}", ex
    )
    body = ctx.obj(ex)
    missing = [m for m in MEMBERS if m not in body]
    ctx.check(not missing, f"{doing}: the problem lacks {missing}", ex)
    ctx.check(body["status"] == status, f"{doing}: the problem's status is the HTTP status ({status})", ex)
    ctx.check(":" in str(body["type"]), f"{doing}: type is a URI (got {body['type']!r})", ex)
    return body


@rule("errors.problem-json", "401, 404, 415 and 422 are problem+json with type, title, status, detail", "Errors")
def problem_json(ctx: Context) -> None:
    ex = ctx.http("GET", "/contacts/changes", params={"tag": ctx.tag}, auth=False)
    check_problem(ctx, ex, 401, "a call without the API key")
    ctx.check(
        (ex.header("WWW-Authenticate") or "").lower().startswith("bearer"), "a 401 carries WWW-Authenticate: Bearer", ex
    )
    check_problem(ctx, ctx.http("GET", f"/contacts/{ctx.tag}-missing"), 404, "reading an unknown id")
    raw = ctx.http(
        "POST", "/contacts", raw=b"given_name=x", headers={"Content-Type": "text/plain", "Idempotency-Key": ctx.key()}
    )
    check_problem(ctx, raw, 415, "a create with a text/plain body")
    bad = ctx.create("contacts", {"emails": [{"type": "work", "value": "not-an-email@"}]})
    body = check_problem(ctx, bad, 422, "a create with an invalid e-mail")
    errors = body.get("errors")
    ctx.check(
        isinstance(errors, list) and any(isinstance(e, dict) and e.get("path") == "/emails/0/value" for e in errors),
        "errors[].path is a JSON Pointer to the field (/emails/0/value)",
        bad,
    )


@rule("errors.bad-json", "A body that is not JSON is 400 (or 415 for another media type), never 5xx", "Errors")
def bad_json(ctx: Context) -> None:
    ex = ctx.http(
        "POST",
        "/contacts",
        raw=b'{"given_name": ',
        headers={"Content-Type": "application/json", "Idempotency-Key": ctx.key()},
    )
    check_problem(ctx, ex, 400, "a create with truncated JSON")
    rec = ctx.made("contacts", sample("contacts", ctx))
    ex = ctx.http("PATCH", f"/contacts/{rec['id']}", body=["not", "an", "object"], headers={"If-Match": '"1"'})
    ctx.expect(ex, (400, 422), "a patch whose body is a JSON array")
