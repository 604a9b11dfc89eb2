"""What the SQLite file store adds to the shared contract suite: state survives the process, two
processes sharing the file see each other's commits, a failed batch leaves nothing on disk."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmsync.model.kinds import Kind
from crmsync.store.contract import StoreError
from crmsync.store.sqlite import SqliteStore
from tests.integration.store.helpers import make_connection, make_link

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_links_cursors_runs_and_blobs_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = SqliteStore(path)
    first.put_connection(make_connection("c1"))
    links = first.connection_store("c1")
    links.save_links([make_link("a"), make_link("b")], [])
    first.append_run("c1", "r1", {"started_at": T0, "kinds": {}}, T0 + timedelta(days=30))
    first.put_blob("c1", b"\x00secret\xff")
    first.close()

    again = SqliteStore(path)
    assert again.get_connection("c1") == make_connection("c1")
    assert sorted(link.crm_id for link in again.connection_store("c1").all_links(Kind.CONTACTS)) == ["a", "b"]
    assert again.recent_runs("c1")[0]["started_at"] == T0
    assert again.get_blob("c1") == b"\x00secret\xff"
    assert path.stat().st_mode & 0o077 == 0  # refresh-token blobs live here


def test_another_process_sees_commits_and_its_own_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    mine = SqliteStore(path)
    mine.put_connection(make_connection("c1"))
    assert mine.get_connection("c2") is None  # cached as absent
    code = (
        "from pathlib import Path; from crmsync.store.sqlite import SqliteStore;"
        "from tests.integration.store.helpers import make_connection;"
        f"s = SqliteStore(Path({str(path)!r}));"
        "assert s.get_connection('c1') is not None;"
        "s.put_connection(make_connection('c2'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert mine.get_connection("c2") == make_connection("c2")


def test_a_batch_that_fails_half_way_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    store = SqliteStore(path)
    store.put_connection(make_connection("c1"))
    with pytest.raises(StoreError):
        store.update_connections({"c1": {"status_reason": "x"}, "missing": {"status_reason": "x"}})
    assert store.get_connection("c1") == make_connection("c1")
    assert SqliteStore(path).get_connection("c1") == make_connection("c1")


def test_a_file_that_is_not_a_state_file_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a crmsync state file"):
        SqliteStore(path)
