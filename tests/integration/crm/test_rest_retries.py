"""The REST connector's transport over real HTTP: retries, Retry-After, timeouts, pooled connections."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from crmsync.crm.port import CrmTransient, CrmValidation
from crmsync.crm.rest import RestCrmConnector
from infra.crm.httpd import KeepAliveServer

pytestmark = pytest.mark.integration
USER = {"id": "usr_1", "email": "a@example.com", "name": "A", "role": "user", "active": True}


class Scripted:
    """An HTTP server that answers from a script: (status, headers, body or a delay in seconds)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.peers: list[str] = []
        self.httpd = KeepAliveServer("127.0.0.1", 0, self.app)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.peers.append(f"{environ['REMOTE_ADDR']}:{environ['REMOTE_PORT']}")
        status, headers, body = self.script.pop(0) if self.script else (200, {}, USER)
        if isinstance(body, float):
            time.sleep(body)
            body = USER
        data = json.dumps(body).encode()
        ctype = "application/problem+json" if status >= 400 else "application/json"
        start_response(f"{status} X", [("Content-Type", ctype), ("Content-Length", str(len(data))), *headers.items()])
        return [data]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    srv = Scripted()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def make(base_url: str, sleeps: list[float], **kw: Any) -> RestCrmConnector:
    return RestCrmConnector(base_url, "k", sleep=sleeps.append, rand=lambda: 0.5, **kw)


def problem(status: int) -> dict[str, Any]:
    return {"type": "urn:x", "title": "t", "status": status, "detail": "try later"}


def test_retry_after_is_honoured(scripted: Scripted) -> None:
    scripted.script = [(503, {"Retry-After": "2"}, problem(503))]
    sleeps: list[float] = []
    conn = make(scripted.base_url, sleeps)
    assert conn.user("usr_1").id == "usr_1"
    assert sleeps == [2.0]
    assert conn.calls == 2


def test_backoff_is_exponential_with_full_jitter(scripted: Scripted) -> None:
    scripted.script = [(429, {}, problem(429)), (502, {}, problem(502)), (500, {}, problem(500))]
    sleeps: list[float] = []
    conn = make(scripted.base_url, sleeps, backoff_base=1.0)
    assert conn.user("usr_1").email == "a@example.com"
    assert sleeps == [0.5, 1.0, 2.0]  # rand() * base * 2**n


def test_gives_up_after_the_last_attempt_with_a_transient_error(scripted: Scripted) -> None:
    scripted.script = [(503, {"Retry-After": "7"}, problem(503))] * 3
    sleeps: list[float] = []
    conn = make(scripted.base_url, sleeps, max_attempts=3)
    with pytest.raises(CrmTransient) as err:
        conn.user("usr_1")
    assert err.value.retry_after == 7.0
    assert err.value.status == 503
    assert conn.calls == 3
    assert sleeps == [7.0, 7.0]


def test_client_errors_are_not_retried(scripted: Scripted) -> None:
    scripted.script = [(422, {}, {**problem(422), "errors": [{"path": "/title", "message": "required"}]})]
    sleeps: list[float] = []
    conn = make(scripted.base_url, sleeps)
    with pytest.raises(CrmValidation) as err:
        conn.create("tasks", {}, "k1")
    assert err.value.errors[0].path == "/title"
    assert conn.calls == 1
    assert sleeps == []


def test_read_timeout_is_transient_and_retried(scripted: Scripted) -> None:
    scripted.script = [(200, {}, 0.5)]
    sleeps: list[float] = []
    conn = make(scripted.base_url, sleeps, timeout=(2.0, 0.1))
    assert conn.user("usr_1").id == "usr_1"  # the second attempt is answered at once
    assert len(sleeps) == 1


def test_unreachable_crm_is_transient() -> None:
    srv = Scripted()
    url = srv.base_url
    srv.httpd.shutdown()
    srv.httpd.server_close()
    sleeps: list[float] = []
    with pytest.raises(CrmTransient, match="unreachable"):
        make(url, sleeps, max_attempts=2).user("usr_1")
    assert len(sleeps) == 1


def test_connections_are_pooled(scripted: Scripted) -> None:
    conn = make(scripted.base_url, [])
    for _ in range(5):
        conn.user("usr_1")
    assert len(set(scripted.peers)) == 1, scripted.peers
