"""call_with_retry (fake sleep, fixed jitter) and the generic paging loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from crmsync.google.errors import BadRequest, NotFound, Transient
from crmsync.google.paging import fetch_all
from crmsync.google.retry import call_with_retry

pytestmark = pytest.mark.unit


def _err(status: int, retry_after: str | None = None) -> HttpError:
    headers = {"status": str(status)}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    body = {"error": {"code": status, "message": f"status {status}", "status": "X"}}
    return HttpError(httplib2.Response(headers), json.dumps(body).encode())


def _script(*outcomes: Any) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        out = outcomes[len(calls) - 1]
        if isinstance(out, BaseException):
            raise out
        return str(out)

    return fn, calls


def test_retries_honour_retry_after_then_succeed() -> None:
    slept: list[float] = []
    fn, calls = _script(_err(429, "5"), _err(503), "ok")
    assert call_with_retry(fn, attempts=4, sleep=slept.append, rng=lambda: 0.5) == "ok"
    assert len(calls) == 3
    assert slept == [5.0, 1.0]  # Retry-After beats the jitter (0.5 * 1); then 0.5 * 2


def test_full_jitter_grows_and_is_capped() -> None:
    slept: list[float] = []
    fn, _ = _script(*([ConnectionResetError("reset")] * 6), "ok")
    call_with_retry(fn, attempts=7, sleep=slept.append, rng=lambda: 1.0, base=1.0, cap=8.0)
    assert slept == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_exhausted_attempts_raise_transient_from_the_cause() -> None:
    slept: list[float] = []
    fn, calls = _script(*([_err(500)] * 3))
    with pytest.raises(Transient) as info:
        call_with_retry(fn, attempts=3, sleep=slept.append, rng=lambda: 0.0)
    assert len(calls) == 3
    assert len(slept) == 2
    assert isinstance(info.value.__cause__, HttpError)


def test_long_retry_after_is_not_slept_through() -> None:
    slept: list[float] = []
    fn, calls = _script(_err(429, "3600"), "ok")
    with pytest.raises(Transient) as info:
        call_with_retry(fn, attempts=5, sleep=slept.append, max_wait=60)
    assert info.value.retry_after == 3600.0
    assert (len(calls), slept) == (1, [])


def test_permanent_errors_are_not_retried() -> None:
    fn, calls = _script(_err(404), "ok")
    with pytest.raises(NotFound):
        call_with_retry(fn, attempts=5, sleep=lambda s: None)
    assert len(calls) == 1
    fn, _ = _script(KeyError("bug"))
    with pytest.raises(KeyError):
        call_with_retry(fn, attempts=5, sleep=lambda s: None)
    with pytest.raises(ValueError, match="attempts"):
        call_with_retry(fn, attempts=0)


def test_paging_follows_tokens_and_returns_the_sync_token() -> None:
    pages = {
        None: {"items": [1, 2], "nextPageToken": "a"},
        "a": {"nextPageToken": "b"},
        "b": {"items": [3], "nextSyncToken": "sync-1"},
    }
    seen: list[str | None] = []

    def fetch(token: str | None) -> dict[str, Any]:
        seen.append(token)
        return pages[token]

    paged = fetch_all(fetch, "items")
    assert (paged.items, paged.next_sync_token, paged.pages) == ([1, 2, 3], "sync-1", 3)
    assert seen == [None, "a", "b"]


def test_paging_stops_on_a_repeated_token() -> None:
    with pytest.raises(BadRequest, match="page token"):
        fetch_all(lambda t: {"items": [1], "nextPageToken": "same"}, "items")
