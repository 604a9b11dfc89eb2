"""Custom fields (optional): declared at GET /{kind}/fields, carried as custom_fields, patched per name."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ...model.custom import CrmField
from ..runner import Context, Skipped, rule
from .samples import sample

VALUES: dict[str, Any] = {
    "string": "conformance",
    "text": "line one\nline two",
    "number": 42,
    "date": "2026-12-24",
    "boolean": True,
}


def _value(field: CrmField) -> Any:
    one = field.options[0] if field.type == "picklist" and field.options else VALUES[field.type]
    return [one] if field.multi else one


@rule(
    "records.custom-fields",
    "Custom fields: GET /contacts/fields declares them; records carry custom_fields; a patch changes only the names sent",
    "Custom fields",
)
def custom_fields(ctx: Context) -> None:
    caps = ctx.http("GET", "/capabilities")
    if caps.status != 200 or ctx.obj(caps).get("custom_fields") is not True:
        raise Skipped("the CRM declares no custom fields")
    listed = ctx.http("GET", "/contacts/fields")
    ctx.expect(listed, 200, "GET /contacts/fields")
    items = ctx.obj(listed).get("items")
    ctx.check(isinstance(items, list), "GET /contacts/fields answers {items: [...]}", listed)
    fields = []
    for item in items or []:
        try:
            fields.append(CrmField.model_validate(item))
        except ValidationError as err:
            ctx.check(False, f"a field declaration matches the contract: {item!r}: {err.errors()[0]['msg']}", listed)
    writable = [f for f in fields if not f.read_only]
    if len(writable) < 2:
        raise Skipped("fewer than two writable custom fields of contacts to check with")
    a, b = writable[:2]
    rec = ctx.made("contacts", {**sample("contacts", ctx), "custom_fields": {a.name: _value(a), b.name: _value(b)}})
    ctx.check(
        rec.get("custom_fields") == {a.name: _value(a), b.name: _value(b)},
        f"the created record carries the custom values sent (got {rec.get('custom_fields')!r})",
    )
    ex = ctx.http(
        "PATCH", f"/contacts/{rec['id']}", body={"custom_fields": {a.name: None}}, headers={"If-Match": '"1"'}
    )
    ctx.expect(ex, 200, f"patching custom_fields {{{a.name}: null}}")
    got = ctx.obj(ex).get("custom_fields")
    ctx.check(got == {b.name: _value(b)}, f"null clears {a.name} and {b.name} keeps its value (got {got!r})", ex)
    bad = ctx.http(
        "PATCH", f"/contacts/{rec['id']}", body={"custom_fields": {"no_such_field_x": "1"}}, headers={"If-Match": '"2"'}
    )
    ctx.expect(bad, 422, "patching an undeclared custom field")
    paths = [e.get("path") for e in ctx.obj(bad).get("errors", [])]
    ctx.check("/custom_fields/no_such_field_x" in paths, f"errors[].path names the field (got {paths})", bad)
    read_only = next((f for f in fields if f.read_only), None)
    if read_only is not None:
        ro = ctx.http(
            "PATCH",
            f"/contacts/{rec['id']}",
            body={"custom_fields": {read_only.name: _value(read_only)}},
            headers={"If-Match": '"2"'},
        )
        ctx.expect(ro, 422, f"patching the read-only custom field {read_only.name}")
