"""A sample of the real-world corpus run (issue 12; in full: ``python -m bench.corpus``): real
calendars (icalendar's test suite) and vCards (vobject's and khard's) imported into the Google
emulator, synced into the reference CRM, edited there, synced back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.corpus import run

pytestmark = pytest.mark.integration


def test_corpus_sample_syncs_without_crash_damage_or_silent_skip(emulator: Any, tmp_path: Path) -> None:
    figures = run(sample=2, emulator=emulator, workdir=tmp_path)
    found = figures.as_dict()
    assert found["crashes"] == 0, found["examples"]["crashes"]
    assert found["unedited_fields_changed"] == 0, found["examples"]["unedited_fields_changed"]
    assert found["unexplained"] == 0, found["examples"]["unexplained"]
    # The sample is real work, not an empty pass: records of both kinds were imported, synced and edited.
    assert found["imported"]["events"] >= 20 and found["imported"]["contacts"] >= 10, found
    assert found["synced"]["events"] >= 15 and found["synced"]["contacts"] == found["imported"]["contacts"], found
    assert found["edited"]["records"] >= 8, found
