"""The pages' catalogues: every message the code and templates use is in German, and the committed
.mo files are what the .po files compile to (so a fresh clone and the deploy zip speak German)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from crmsync.web.i18n import LANGUAGES, LOCALE_DIR, translations

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def _ids(catalog: object) -> set[object]:
    return {m.id for m in catalog if m.id}  # type: ignore[attr-defined]


def test_every_message_in_use_is_translated(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_",
         "-k", "ngettext_noop:1,2", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    used = _ids(read_po(pot.open("rb")))
    assert len(used) > 80
    for language in LANGUAGES[1:]:
        po = read_po((LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb"), locale=language)
        missing = used - _ids(po)
        assert not missing, f"{language}: run scripts/i18n.sh and translate {sorted(map(str, missing))[:5]}"
        untranslated = [m.id for m in po if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
        assert not untranslated, f"{language}: untranslated {untranslated[:5]}"


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_the_committed_mo_is_the_compiled_po(language: str) -> None:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    po = read_po((folder / "messages.po").open("rb"), locale=language)
    mo = read_mo(io.BytesIO((folder / "messages.mo").read_bytes()))

    def table(catalog: object) -> dict[object, object]:
        return {_key(m.id): _key(m.string) for m in catalog if m.id}  # type: ignore[attr-defined]

    assert table(po) == table(mo), "run scripts/i18n.sh compile"
    assert translations(language).gettext("Sync health") == "Zustand der Synchronisierung"
