"""The CRM connector over the CRM Sync API (REST): pooled connections, timeouts, retries with jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from ..model.custom import CrmField
from . import replies
from .errors import error_from_problem, parse_retry_after
from .models import Capabilities, Company, Kind, Record, User
from .notifications import Notification
from .port import (
    BulkCreate,
    BulkDelete,
    BulkOp,
    BulkResult,
    ChangePage,
    CrmContractError,
    CrmError,
    CrmNotFound,
    CrmTransient,
    CrmValidation,
    RecordInput,
    record_body,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


USER_AGENT = "crmsync/1 (CRM Sync API v1 client)"


class RestCrmConnector:
    """``CrmConnector`` speaking the CRM Sync API v1 with a bearer API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: tuple[float, float] = (3.05, 30.0),
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120.0,
        pool_size: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
        self._sleep, self._rand = sleep, rand
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # crmsync names itself: a CRM need not notify crmsync of the changes crmsync made (docs "Change notifications").
        self.session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self.calls = 0  # HTTP requests sent, retries included
        self.capabilities_ttl = 300.0  # seconds a read of GET /capabilities is reused
        self._caps: tuple[float, Capabilities] | None = None

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    # -- the one request loop ------------------------------------------------------------------
    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Delay before retry ``attempt`` (1-based): Retry-After if given, else full jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return float(self._rand() * min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        on_behalf_of: str | None = None,
    ) -> requests.Response:
        hdrs = dict(headers or {})
        if on_behalf_of is not None:
            hdrs["X-CRM-User"] = on_behalf_of
        last: CrmTransient | None = None
        for attempt in range(1, self.max_attempts + 1):
            if last is not None:
                self._sleep(self.backoff(attempt - 1, last.retry_after))
            self.calls += 1
            try:
                resp = self.session.request(
                    method, self.base_url + path, params=params, json=body, headers=hdrs, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as err:
                last = CrmTransient(f"CRM unreachable on {method} {path}: {err}")
                continue
            if resp.status_code in RETRY_STATUSES:
                last = self._error(resp)  # type: ignore[assignment]
                continue
            if resp.status_code >= 400:
                if method == "DELETE" and resp.status_code == 404 and attempt > 1:
                    # An earlier attempt deleted it but its reply was lost.
                    return resp
                raise self._error(resp)
            return resp
        assert last is not None
        raise last

    @staticmethod
    def _error(resp: requests.Response) -> CrmError:
        try:
            problem = resp.json()
        except ValueError:
            problem = {"detail": resp.text[:500]}
        if not isinstance(problem, dict):
            problem = {"detail": str(problem)[:500]}
        return error_from_problem(resp.status_code, problem, parse_retry_after(resp.headers.get("Retry-After")))

    # -- CrmConnector ----------------------------------------------------------------------------
    def changes(
        self,
        kind: Kind,
        cursor: str | None,
        *,
        limit: int = 1000,
        owner_id: str | None = None,
        tag: str | None = None,
        on_behalf_of: str | None = None,
    ) -> ChangePage:
        """Changes after ``cursor`` in commit order."""
        params = {
            k: v
            for k, v in {"cursor": cursor, "limit": limit, "owner_id": owner_id, "tag": tag}.items()
            if v is not None
        }
        resp = self._request("GET", f"/{kind}/changes", params=params, on_behalf_of=on_behalf_of)
        return replies.change_page(kind, _json(resp), f"GET /{kind}/changes")

    def get(self, kind: Kind, record_id: str, *, on_behalf_of: str | None = None) -> Record:
        """One live record."""
        resp = self._request("GET", f"/{kind}/{quote(record_id, safe='')}", on_behalf_of=on_behalf_of)
        return replies.parse_record(kind, _json(resp), where=f"GET /{kind}/{{id}}")

    def get_many(self, kind: Kind, ids: Sequence[str], *, on_behalf_of: str | None = None) -> list[Record]:
        """Live visible records among ``ids``."""
        if not ids:
            return []
        resp = self._request("GET", f"/{kind}", params={"ids": ",".join(ids)}, on_behalf_of=on_behalf_of)
        return replies.records(kind, _json(resp), f"GET /{kind}?ids=")

    def create(
        self, kind: Kind, record: RecordInput, idempotency_key: str, *, on_behalf_of: str | None = None
    ) -> Record:
        """Create once per idempotency key (retries are safe)."""
        resp = self._request(
            "POST",
            f"/{kind}",
            body=record_body(record),
            headers={"Idempotency-Key": idempotency_key},
            on_behalf_of=on_behalf_of,
        )
        return replies.parse_record(kind, _json(resp), where=f"POST /{kind}")

    def update(
        self, kind: Kind, record_id: str, patch: Mapping[str, Any], if_match: int, *, on_behalf_of: str | None = None
    ) -> Record:
        """Partial update guarded by the version."""
        resp = self._request(
            "PATCH",
            f"/{kind}/{quote(record_id, safe='')}",
            body=dict(patch),
            headers={"If-Match": f'"{if_match}"'},
            on_behalf_of=on_behalf_of,
        )
        return replies.parse_record(kind, _json(resp), where=f"PATCH /{kind}/{{id}}")

    def delete(self, kind: Kind, record_id: str, if_match: int, *, on_behalf_of: str | None = None) -> None:
        """Delete guarded by the version."""
        self._request(
            "DELETE",
            f"/{kind}/{quote(record_id, safe='')}",
            headers={"If-Match": f'"{if_match}"'},
            on_behalf_of=on_behalf_of,
        )

    def bulk(self, kind: Kind, ops: Sequence[BulkOp], *, on_behalf_of: str | None = None) -> list[BulkResult]:
        """Up to 500 operations in one call."""
        body = {"operations": [_op_json(op) for op in ops]}
        resp = self._request("POST", f"/{kind}/bulk", body=body, on_behalf_of=on_behalf_of)
        where = f"POST /{kind}/bulk"
        return [
            BulkResult(
                index=r["index"],
                status=r["status"],
                record=replies.parse_record(kind, r["record"], where=where, base=f"/results/{i}/record")
                if r.get("record") is not None
                else None,
                error=error_from_problem(r["status"], r.get("problem")) if r["status"] >= 400 else None,
            )
            for i, r in enumerate(replies.bulk_results(_json(resp), where, len(ops)))
        ]

    def user(self, user_id: str) -> User:
        """A CRM user by id."""
        return replies.user(_json(self._request("GET", f"/users/{quote(user_id, safe='')}")), "GET /users/{id}")

    def user_by_email(self, email: str) -> User | None:
        """A CRM user by e-mail, or None."""
        found = replies.users(_json(self._request("GET", "/users", params={"email": email})), "GET /users?email=")
        return found[0] if found else None

    def find_companies(self, *, name: str | None = None, domain: str | None = None) -> list[Company]:
        """Companies by exact name or domain (case-insensitive)."""
        params = {k: v for k, v in {"name": name, "domain": domain}.items() if v}
        if not params:
            raise CrmValidation("give a company name or domain to look up", status=400)
        return replies.companies(_json(self._request("GET", "/companies", params=params)), "GET /companies?name=")

    def capabilities(self) -> Capabilities:
        """``GET /capabilities`` (optional in v1: a 404 means everything v1 offers), reused for a few minutes."""
        now = time.monotonic()
        if self._caps is not None and now - self._caps[0] < self.capabilities_ttl:
            return self._caps[1]
        try:
            data = _json(self._request("GET", "/capabilities"))
        except CrmNotFound:
            caps = Capabilities()
        else:
            caps = replies.capabilities(data, "GET /capabilities")
        self._caps = (now, caps)
        return caps

    def fields(self, kind: Kind) -> list[CrmField]:
        """``GET /{kind}/fields``: the CRM's custom fields of ``kind`` (none when it declares none)."""
        if not self.capabilities().custom_fields:
            return []
        return replies.fields(_json(self._request("GET", f"/{kind}/fields")), f"GET /{kind}/fields")

    def notify(self, notification: Notification) -> None:
        """``POST /notifications`` with the notification's id as Idempotency-Key (a retry is the same one)."""
        self._request(
            "POST",
            "/notifications",
            body=notification.model_dump(mode="json"),
            headers={"Idempotency-Key": notification.id},
            on_behalf_of=notification.user_id,
        )


def _json(resp: requests.Response) -> Any:
    """A success reply's JSON body; ``CrmContractError`` if it is not JSON."""
    try:
        return resp.json()
    except ValueError as err:
        where = f"{resp.request.method} {resp.request.path_url.split('?')[0]}"
        raise CrmContractError(
            f"the CRM's reply to {where} is not JSON (HTTP {resp.status_code}, "
            f"Content-Type {resp.headers.get('Content-Type')!r}): {resp.text[:200]!r}",
            status=resp.status_code,
        ) from err


def _op_json(op: BulkOp) -> dict[str, Any]:
    if isinstance(op, BulkCreate):
        return {"op": "create", "idempotency_key": op.idempotency_key, "record": record_body(op.record)}
    if isinstance(op, BulkDelete):
        return {"op": "delete", "id": op.id, "if_match": op.if_match}
    return {"op": "update", "id": op.id, "if_match": op.if_match, "patch": dict(op.patch)}
