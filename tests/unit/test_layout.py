"""The code's layout, read from its own imports and line counts (nothing is run): services take
narrow dependencies (never the composition root), no import circle, and modules stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"crmsync": ROOT / "shared" / "crmsync", "infra": ROOT / "infra"}
MAX_LINES = 400
# Modules still over the habit, each to be split by one idea; the list only shrinks (empty now).
OVER_LIMIT: set[str] = set()


def _modules() -> dict[str, Path]:
    """Every module of the packages by dotted name."""
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements at module level (inside try/if too, ``if TYPE_CHECKING`` included): not in functions."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):  # under TYPE_CHECKING too: a circle for the type checker is one
            stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                stack.extend(handler.body)
        else:
            yield node


def _imported(name: str, path: Path, modules: dict[str, Path], everywhere: bool) -> set[str]:
    """The project modules ``name`` imports (at import time, or ``everywhere`` in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if everywhere else _top_level(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part: list[str] = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_services_take_narrow_dependencies_not_the_composition_root() -> None:
    modules = _modules()
    offenders = {
        name: "crmsync.bootstrap"
        for name, path in modules.items()
        if name.startswith("crmsync.services.") and "crmsync.bootstrap" in _imported(name, path, modules, True)
    }
    assert offenders == {}, "services name the few ports they use (services/deps.py), not bootstrap.App"


def test_no_import_circle() -> None:
    modules = _modules()
    graph = {
        name: {m for m in _imported(name, path, modules, False) if not name.startswith(m + ".")}
        for name, path in modules.items()
    }
    assert _circles(graph) == []


def test_modules_stay_under_the_line_habit() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines()) for path in _modules().values()
    }
    over = {p for p, n in sizes.items() if n > MAX_LINES}
    assert over - OVER_LIMIT == set(), f"modules over {MAX_LINES} lines: split them by one idea each"
    assert OVER_LIMIT - over == set(), "these are small now: take them off OVER_LIMIT"


def test_no_tracked_link_points_outside_the_checkout() -> None:
    """A symbolic link committed by accident (a worktree's .venv pointing at another one) breaks every
    fresh clone: it dangles, and scripts/bootstrap.sh cannot make the venv there."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in listed.splitlines() if line.startswith("120000 ")]
    outside = {}
    for name in links:
        target = (ROOT / name).parent / Path((ROOT / name).readlink()) if (ROOT / name).is_symlink() else None
        if target is None or not target.resolve().is_relative_to(ROOT.resolve()):
            outside[name] = str(target)
    assert outside == {}, "tracked links out of the checkout (git rm --cached them)"
