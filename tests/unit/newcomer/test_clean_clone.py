"""A clean clone elsewhere runs every test: nothing reads files outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[3]
OUTSIDE = "/work/shared"  # the workplace's copy of the design files; the repo has its own (infra/crm/data)


def test_no_test_or_benchmark_reads_a_file_outside_the_repository() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "bench", "shared", "infra", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if OUTSIDE in path.read_text(encoding="utf-8") and path != Path(__file__)
    ]
    assert offenders == [], f"read the repository's copy (infra/crm/data/tricky_records.json) instead: {offenders}"
