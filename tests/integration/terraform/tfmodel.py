"""Load terraform/*.tf with python-hcl2 into plain dicts that tests can read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"


def unquote(value: Any) -> Any:
    """A literal string without its HCL quotes; an expression stays as "${...}"."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def strip(value: Any) -> Any:
    """Recursively unquote literals and drop the parser's __comments__/__is_block__ markers."""
    if isinstance(value, dict):
        return {unquote(k): strip(v) for k, v in value.items() if k not in ("__comments__", "__is_block__")}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return unquote(value)


def expr(value: Any) -> str:
    """The inside of a "${...}" expression (or the value itself when it is not one)."""
    text = str(value)
    match = re.fullmatch(r"\$\{(.*)\}", text, re.DOTALL)
    return match.group(1) if match else text


@dataclass
class Model:
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> body
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file name -> text

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of one type, by name."""
        prefix = rtype + "."
        return {k[len(prefix) :]: v for k, v in self.resources.items() if k.startswith(prefix)}


def load(folder: Path = TERRAFORM) -> Model:
    """Parse every .tf file of a folder into one Model."""
    model = Model()
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text()
        model.files[path.name] = text
        doc = strip(hcl2.loads(text))
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    key = f"{rtype}.{name}"
                    assert key not in model.resources, f"{key} is declared twice"
                    model.resources[key] = body
        for block in doc.get("variable", []):
            model.variables.update(block)
        for block in doc.get("output", []):
            model.outputs.update(block)
        for block in doc.get("locals", []):
            model.locals.update(block)
    return model


def first(blocks: Any) -> dict[str, Any]:
    """The single nested block that python-hcl2 returns as a one-item list."""
    assert isinstance(blocks, list), f"expected a block, got {blocks!r}"
    assert len(blocks) == 1, f"expected exactly one block, got {len(blocks)}"
    return blocks[0]  # type: ignore[no-any-return]
