"""scripts/build_function_zips.py: contents, exclusions and byte-for-byte determinism."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.integration.terraform.tfmodel import REPO

pytestmark = pytest.mark.integration

SCRIPT = REPO / "scripts" / "build_function_zips.py"


def run_builder(repo: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def build(repo: Path, out: Path) -> dict[str, object]:
    result = run_builder(repo, out)
    assert result.returncode == 0, result.stderr
    zips = json.loads(result.stdout)["zips"]
    assert len(zips) == 1
    return zips[0]  # type: ignore[no-any-return]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(root / "functions" / "main.py", "from crmsync import VERSION\n\ndef web(request): return VERSION\n")
    write(root / "functions" / "helpers.py", "X = 1\n")
    write(root / "functions" / "__pycache__" / "main.cpython-311.pyc", "junk")
    write(root / "functions" / "tests" / "test_main.py", "def test(): pass\n")
    write(root / "shared" / "crmsync" / "__init__.py", 'VERSION = "fixture"\n')
    write(root / "shared" / "crmsync" / "py.typed", "")
    write(root / "shared" / "crmsync" / "store" / "queries.py", "Q = 1\n")
    write(root / "shared" / "crmsync" / "store" / "__pycache__" / "queries.cpython-311.pyc", "junk")
    write(root / "shared" / "crmsync" / "stale.pyc", "junk")
    write(root / "shared" / "crmsync" / ".env", "SECRET=1\n")
    write(root / "shared" / "crmsync" / "tests" / "test_x.py", "")
    write(root / "requirements.txt", "pydantic==2.14.3\n")
    write(root / "infra" / "ignored.py", "")
    return root


def test_zip_holds_main_package_and_requirements_only(tree: Path, tmp_path: Path) -> None:
    info = build(tree, tmp_path / "out")
    path = Path(str(info["path"]))
    assert path == tmp_path / "out" / "crmsync.zip"
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert names == [
            "crmsync/__init__.py",
            "crmsync/py.typed",
            "crmsync/store/queries.py",
            "helpers.py",
            "main.py",
            "requirements.txt",
        ]
        assert archive.read("requirements.txt") == (tree / "requirements.txt").read_bytes()
        assert archive.read("main.py") == (tree / "functions" / "main.py").read_bytes()
        for entry in archive.infolist():
            assert entry.date_time == (1980, 1, 1, 0, 0, 0)
            assert entry.external_attr >> 16 == 0o100644
            assert entry.compress_type == zipfile.ZIP_DEFLATED
    assert info["files"] == len(names)


def test_same_input_gives_identical_bytes(tree: Path, tmp_path: Path) -> None:
    first = build(tree, tmp_path / "a")
    # Timestamps, permissions and file creation order must not leak into the zip.
    main = tree / "functions" / "main.py"
    os.utime(main, (1_700_000_000, 1_700_000_000))
    main.chmod(0o755)
    helpers = tree / "functions" / "helpers.py"
    text = helpers.read_text()
    helpers.unlink()
    helpers.write_text(text)
    second = build(tree, tmp_path / "b")
    assert first["sha256"] == second["sha256"]
    assert Path(str(first["path"])).read_bytes() == Path(str(second["path"])).read_bytes()


def test_a_code_change_changes_the_hash(tree: Path, tmp_path: Path) -> None:
    before = build(tree, tmp_path / "a")["sha256"]
    write(tree / "shared" / "crmsync" / "store" / "queries.py", "Q = 2\n")
    assert build(tree, tmp_path / "b")["sha256"] != before


def test_rebuilding_into_the_same_folder_replaces_the_zip(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(tree, out)
    write(tree / "functions" / "main.py", "def web(request): return 'v2'\n")
    info = build(tree, out)
    with zipfile.ZipFile(Path(str(info["path"]))) as archive:
        assert b"v2" in archive.read("main.py")
    assert sorted(p.name for p in out.iterdir()) == ["crmsync.zip"]


def test_the_zip_imports_crmsync_from_its_root(tree: Path, tmp_path: Path) -> None:
    info = build(tree, tmp_path / "out")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(Path(str(info["path"]))) as archive:
        archive.extractall(unpacked)
    result = subprocess.run(
        [sys.executable, "-c", "import main, crmsync; print(crmsync.__file__, main.web(None))"],
        cwd=unpacked,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path, value = result.stdout.split()
    assert Path(path).is_relative_to(unpacked)
    assert value == "fixture"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("functions/main.py", "main.py is missing"),
        ("shared/crmsync/__init__.py", "crmsync package"),
        ("requirements.txt", "requirements.txt is missing"),
    ],
)
def test_missing_inputs_are_refused_with_a_clear_message(
    tree: Path, tmp_path: Path, missing: str, message: str
) -> None:
    (tree / missing).unlink()
    result = run_builder(tree, tmp_path / "out")
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "out" / "crmsync.zip").exists()


def test_real_repository(tmp_path: Path) -> None:
    result = run_builder(REPO, tmp_path / "out")
    if not (REPO / "functions" / "main.py").exists():
        # Until the entry points exist the builder must refuse rather than ship an undeployable zip.
        assert result.returncode == 2
        assert "main.py is missing" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)["zips"][0]
    with zipfile.ZipFile(info["path"]) as archive:
        names = set(archive.namelist())
        assert archive.read("requirements.txt") == (REPO / "requirements.txt").read_bytes()
    package = REPO / "shared" / "crmsync"
    expected = {
        f"crmsync/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts and "tests" not in p.parts
    }
    assert expected <= names, f"package files missing from the zip: {sorted(expected - names)[:5]}"
    assert "main.py" in names
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    again = json.loads(run_builder(REPO, tmp_path / "again").stdout)["zips"][0]
    assert again["sha256"] == info["sha256"]
