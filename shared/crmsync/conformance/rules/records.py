"""Records: every kind's create/read/update round trip and the shape of every record reply."""

from __future__ import annotations

import re

from ..runner import Context, rule
from .samples import check_record, patch_for, sample

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@rule("records.round-trip", "Each kind: create (201, ETag, Location), read, patch; every field, no other", "Records")
def round_trip(ctx: Context) -> None:
    for kind in ctx.kinds:
        ex = ctx.create(kind, sample(kind, ctx))
        ctx.expect(ex, 201, f"POST /{kind}")
        rec = ctx.obj(ex)
        check_record(kind, rec, ex)
        ctx.check(rec["version"] == 1, f"a new {kind[:-1]} has version 1, not {rec['version']!r}", ex)
        ctx.check(ex.header("ETag") in ('"1"', 'W/"1"'), f'ETag of a new record is "1", not {ex.header("ETag")!r}', ex)
        ctx.check(bool(ex.header("Location")), "a 201 carries Location: /{kind}/{id}", ex)
        for name in ("created_at", "updated_at"):
            ctx.check(bool(RFC3339.match(str(rec[name]))), f"{name} is RFC 3339 with an offset, not {rec[name]!r}", ex)
        got = ctx.http("GET", f"/{kind}/{rec['id']}")
        ctx.expect(got, 200, f"GET /{kind}/{{id}}")
        check_record(kind, ctx.obj(got), got)
        ctx.check(ctx.obj(got) == rec, "GET returns the record exactly as the create answered it", ex, got)
        patch = patch_for(kind)
        upd = ctx.http("PATCH", f"/{kind}/{rec['id']}", body=patch, headers={"If-Match": '"1"'})
        ctx.expect(upd, 200, f"PATCH /{kind}/{{id}}")
        new = ctx.obj(upd)
        check_record(kind, new, upd)
        ctx.check(new["version"] == 2, f"a patch moves the version from 1 to 2, not to {new['version']!r}", upd)
        ctx.check(upd.header("ETag") in ('"2"', 'W/"2"'), 'the patched record\'s ETag is "2"', upd)
        changed = {k: v for k, v in new.items() if rec.get(k) != v and k not in ("version", "updated_at")}
        ctx.check(changed == patch, f"a patch changes the given fields only; changed: {sorted(changed)}", upd)


@rule("records.unknown-field-refused", "A misspelt field is refused with 422 and its path, never dropped", "Records")
def unknown_field(ctx: Context) -> None:
    body = {**sample("contacts", ctx), "phone_numbers": [{"type": "work", "value": "+49 30 1"}]}
    ex = ctx.create("contacts", body)
    ctx.expect(ex, 422, "creating a contact with the unknown field phone_numbers")
    paths = [e.get("path") for e in ctx.obj(ex).get("errors", [])]
    ctx.check("/phone_numbers" in paths, f"errors[].path names /phone_numbers (got {paths})", ex)


@rule("records.meta-read-only", "id, version, created_at, updated_at are read-only (422 with the path)", "Records")
def meta_read_only(ctx: Context) -> None:
    rec = ctx.made("contacts", sample("contacts", ctx))
    ex = ctx.http("PATCH", f"/contacts/{rec['id']}", body={"version": 7}, headers={"If-Match": '"1"'})
    ctx.expect(ex, 422, "patching version")
    paths = [e.get("path") for e in ctx.obj(ex).get("errors", [])]
    ctx.check("/version" in paths, f"errors[].path names /version (got {paths})", ex)


@rule("records.null-clears", "PATCH: null clears a field, lists are replaced whole", "Writes")
def null_clears(ctx: Context) -> None:
    rec = ctx.made("contacts", {**sample("contacts", ctx), "title": "Boss"})
    ex = ctx.http(
        "PATCH",
        f"/contacts/{rec['id']}",
        body={"title": None, "phones": [{"type": "home", "value": "+1 555 0100"}]},
        headers={"If-Match": '"1"'},
    )
    ctx.expect(ex, 200, "patching title: null and a new phone list")
    new = ctx.obj(ex)
    ctx.check(new["title"] is None, f"title: null clears it (now {new['title']!r})", ex)
    ctx.check([p["value"] for p in new["phones"]] == ["+1 555 0100"], "a list in a patch replaces the whole list", ex)
    ctx.check(new["emails"] == rec["emails"], "fields the patch does not name keep their value", ex)


@rule(
    "records.capabilities",
    "GET /capabilities is 404 or declares kinds, recurrence_exceptions, a key retention in days (null: forever)",
    "Capabilities",
)
def capabilities(ctx: Context) -> None:
    ex = ctx.http("GET", "/capabilities")
    ctx.expect(ex, (200, 404), "GET /capabilities")
    if ex.status == 404:
        return
    body = ctx.obj(ex)
    kinds = body.get("kinds", ["contacts", "companies", "activities", "tasks"])
    ctx.check(
        isinstance(kinds, list) and set(kinds) <= {"contacts", "companies", "activities", "tasks"},
        f"kinds lists contract kinds only (got {kinds!r})",
        ex,
    )
    ctx.check(isinstance(body.get("recurrence_exceptions", True), bool), "recurrence_exceptions is a boolean", ex)
    keep = body.get("idempotency_key_retention_days")
    ctx.check(
        keep is None or (type(keep) is int and keep >= 1),
        f"idempotency_key_retention_days is null (forever) or a whole number of days, not {keep!r}",
        ex,
    )
