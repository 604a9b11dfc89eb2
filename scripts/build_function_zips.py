"""Build the Cloud Functions source zip from functions/, shared/crmsync and requirements.txt.

The zip is deterministic: the same input files give the same bytes (sorted entries, fixed
timestamps and permissions), so its sha256 changes only when the code does, and Terraform's
content-hashed object name redeploys the functions exactly then.

    python scripts/build_function_zips.py --out build/functions

prints JSON: {"zips": [{"name", "path", "sha256", "size", "files"}]}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZIP_NAME = "crmsync"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "test", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


class BuildError(Exception):
    """The source tree cannot make a deployable zip."""


def _included(rel: Path) -> bool:
    """Whether a file (path relative to its source root) belongs in the zip."""
    if any(part in EXCLUDED_DIRS or part.startswith(".") for part in rel.parts):
        return False
    return not rel.name.endswith(EXCLUDED_SUFFIXES)


def _walk(root: Path) -> Iterator[Path]:
    """Every included file under root, as paths relative to root."""
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and _included(rel):
            yield rel


def collect(repo: Path) -> dict[str, Path]:
    """Map each archive name to its source file: functions/* at the root, crmsync/, requirements.txt."""
    functions, package, requirements = repo / "functions", repo / "shared" / "crmsync", repo / "requirements.txt"
    if not (functions / "main.py").is_file():
        raise BuildError(f"{functions / 'main.py'} is missing: it holds the web, fanout and worker entry points.")
    if not (package / "__init__.py").is_file():
        raise BuildError(f"{package / '__init__.py'} is missing: the crmsync package must be at shared/crmsync.")
    if not requirements.is_file():
        raise BuildError(f"{requirements} is missing: Cloud Functions installs the runtime dependencies from it.")
    entries: dict[str, Path] = {rel.as_posix(): functions / rel for rel in _walk(functions)}
    for rel in _walk(package):
        name = f"crmsync/{rel.as_posix()}"
        if name in entries:
            raise BuildError(f"functions/{name} clashes with shared/{name}: remove one of them.")
        entries[name] = package / rel
    if "requirements.txt" in entries:
        raise BuildError("functions/requirements.txt clashes with the repository's requirements.txt: remove it.")
    entries["requirements.txt"] = requirements
    return dict(sorted(entries.items()))


def write_zip(entries: dict[str, Path], target: Path) -> None:
    """Write the entries to target with sorted names, fixed timestamps and fixed permissions."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)
    tmp.replace(target)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(repo: Path, out: Path) -> list[dict[str, object]]:
    """Build every function zip (one, shared by the three entry points) and describe them."""
    entries = collect(repo)
    target = out / f"{ZIP_NAME}.zip"
    write_zip(entries, target)
    return [
        {
            "name": ZIP_NAME,
            "path": str(target),
            "sha256": sha256_of(target),
            "size": target.stat().st_size,
            "files": len(entries),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    """Command line: build the zips and print their paths and hashes as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "functions", help="output folder")
    parser.add_argument("--repo", type=Path, default=REPO, help="repository root to build from")
    args = parser.parse_args(argv)
    try:
        zips = build(args.repo.resolve(), args.out.resolve())
    except BuildError as err:
        print(f"build_function_zips: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"zips": zips}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
