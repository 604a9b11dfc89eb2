"""The contract for people: every operation and error of the OpenAPI document has an example, and
every example is valid against its own schema (a wrong example teaches a vendor the wrong thing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_PATH = Path(__file__).resolve().parents[3] / "shared" / "crmsync" / "crm" / "openapi" / "crm-sync-api.v1.yaml"
DOC: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
BASE = "urn:crm-sync-api"
REGISTRY = Registry().with_resource(
    BASE, Resource.from_contents({"$id": BASE, **DOC}, default_specification=DRAFT202012)
)
METHODS = ("get", "post", "patch", "delete", "put")


def _examples() -> list[tuple[str, Any, str]]:
    out = []
    for name, schema in DOC["components"]["schemas"].items():
        out += [(f"schemas/{name}", ex, f"#/components/schemas/{name}") for ex in schema.get("examples", [])]
    for name, resp in DOC["components"]["responses"].items():
        for ctype, media in resp.get("content", {}).items():
            pointer = f"#/components/responses/{name}/content/{ctype.replace('/', '~1')}/schema"
            if "example" in media:
                out.append((f"responses/{name}", media["example"], pointer))
            out += [(f"responses/{name}/{k}", e["value"], pointer) for k, e in media.get("examples", {}).items()]
    return out


@pytest.mark.parametrize(("where", "example", "pointer"), _examples(), ids=[e[0] for e in _examples()])
def test_every_example_is_valid_against_its_schema(where: str, example: Any, pointer: str) -> None:
    Draft202012Validator({"$ref": BASE + pointer}, registry=REGISTRY).validate(example)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _has_example(schema: Any, seen: frozenset[str] = frozenset()) -> bool:
    if isinstance(schema, dict):
        if "examples" in schema or "example" in schema:
            return True
        if "$ref" in schema and schema["$ref"] not in seen:
            return _has_example(_resolve(schema), seen | {schema["$ref"]})
        return any(_has_example(v, seen) for k, v in schema.items() if k in ("items", "properties", "anyOf", "oneOf"))
    return False


def test_every_operation_and_every_reply_has_an_example() -> None:
    missing = []
    for path, item in DOC["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body and not _has_example(body.get("schema")):
                missing.append(f"{method.upper()} {path} request")
            for status, reply in op["responses"].items():
                media = _resolve(reply).get("content", {})
                if not media:
                    continue  # 204
                if not any("example" in m or "examples" in m or _has_example(m.get("schema")) for m in media.values()):
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing
