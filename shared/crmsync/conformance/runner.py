"""Rules, the context they run in, and the run: each rule passes, fails (with the request and reply
that showed it) or is skipped (with why); records the run made are deleted at the end."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests

from .client import Client, Exchange

DOCS = "docs/crm-sync-api.md"
KIT_TAG = "crmsync-conformance"
KINDS = ("contacts", "companies", "activities", "tasks")


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


class Failure(Exception):
    """A rule is broken; ``exchanges`` are the request(s) and reply(ies) that show it."""

    def __init__(self, message: str, *exchanges: Exchange) -> None:
        super().__init__(message)
        self.exchanges = list(exchanges)


class Skipped(Exception):
    """The rule cannot run against this server or with these options (the message says why)."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    section: str  # the heading of docs/crm-sync-api.md the rule comes from
    check: Callable[[Context], None]

    @property
    def where(self) -> str:
        return f"{DOCS}#{slug(self.section)}"


RULES: list[Rule] = []


def rule(rule_id: str, title: str, section: str) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register a rule (rules run in registration order)."""

    def register(fn: Callable[[Context], None]) -> Callable[[Context], None]:
        RULES.append(Rule(rule_id, title, section, fn))
        return fn

    return register


def slug(heading: str) -> str:
    """A heading's anchor as GitHub renders it."""
    keep = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return keep.strip().replace(" ", "-")


@dataclass
class RuleResult:
    id: str
    title: str
    section: str
    docs: str
    outcome: Outcome
    message: str = ""
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "docs": self.docs,
            "outcome": self.outcome.value,
            "message": self.message,
            "exchanges": self.exchanges,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Report:
    server: str
    run_tag: str
    results: list[RuleResult] = field(default_factory=list)
    fatal: str | None = None  # the server could not be used at all
    cleanup: list[str] = field(default_factory=list)  # what could not be cleaned up

    @property
    def passed(self) -> bool:
        return self.fatal is None and all(r.outcome is not Outcome.FAIL for r in self.results)

    @property
    def exit_code(self) -> int:
        if self.fatal is not None:
            return 2
        return 0 if self.passed else 1

    def counts(self) -> dict[str, int]:
        return {o.value: sum(r.outcome is o for r in self.results) for o in Outcome}

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "run_tag": self.run_tag,
            "passed": self.passed,
            "fatal": self.fatal,
            "counts": self.counts(),
            "rules": [r.as_dict() for r in self.results],
            "cleanup_problems": self.cleanup,
        }


class Context:
    """What a rule works with: the client, the users given, the run tag, and helpers that keep
    track of every record made so the run can delete them."""

    def __init__(self, client: Client, run_tag: str, user: str | None, other_user: str | None) -> None:
        self.client, self.tag, self.user, self.other_user = client, run_tag, user, other_user
        self.kinds: tuple[str, ...] = KINDS  # narrowed to what GET /capabilities declares
        self._n = 0
        self.started = time.time()

    # -- requests ------------------------------------------------------------------------------
    def http(self, method: str, path: str, **kw: Any) -> Exchange:
        return self.client.request(method, path, **kw)

    def key(self, what: str = "k") -> str:
        self._n += 1
        return f"{self.tag}-{what}-{self._n}"

    def tags(self, *extra: str) -> list[str]:
        return [KIT_TAG, self.tag, *extra]

    def create(self, kind: str, record: dict[str, Any], *, key: str | None = None, user: str | None = None) -> Exchange:
        """POST a record carrying the run's tags (added unless the record has tags)."""
        body = {"tags": self.tags(), **record}
        return self.http("POST", f"/{kind}", body=body, headers={"Idempotency-Key": key or self.key()}, user=user)

    def made(self, kind: str, record: dict[str, Any], *, user: str | None = None) -> dict[str, Any]:
        """Create a record that must succeed; the created record."""
        ex = self.create(kind, record, user=user)
        self.expect(ex, 201, f"creating a {kind[:-1]}")
        return self.obj(ex)

    def feed(self, kind: str, cursor: str | None = None, *, user: str | None = None, **params: Any) -> Exchange:
        query = {"tag": self.tag, **params}
        if cursor is not None:
            query["cursor"] = cursor
        return self.http("GET", f"/{kind}/changes", params=query, user=user)

    def drain(
        self, kind: str, cursor: str | None = None, *, user: str | None = None, **params: Any
    ) -> tuple[list[dict[str, Any]], str]:
        """Every feed entry after ``cursor`` (all pages) and the cursor after them."""
        items: list[dict[str, Any]] = []
        for _ in range(10_000):
            ex = self.feed(kind, cursor, user=user, **params)
            self.expect(ex, 200, "reading the change feed")
            page = self.obj(ex)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                assert cursor is not None
                return items, cursor
        raise Failure("the feed never ended (has_more stayed true for 10,000 pages)")

    # -- judging -------------------------------------------------------------------------------
    @staticmethod
    def obj(ex: Exchange) -> dict[str, Any]:
        body = ex.reply
        if not isinstance(body, dict):
            raise Failure("the reply body is not a JSON object", ex)
        return body

    @staticmethod
    def expect(ex: Exchange, status: int | Iterable[int], doing: str) -> None:
        wanted = {status} if isinstance(status, int) else set(status)
        if ex.status not in wanted:
            shown = " or ".join(str(s) for s in sorted(wanted))
            raise Failure(f"{doing}: expected HTTP {shown}, got {ex.status}", ex)

    @staticmethod
    def check(ok: bool, message: str, *exchanges: Exchange) -> None:
        if not ok:
            raise Failure(message, *exchanges)


def run_suite(
    base_url: str,
    api_key: str,
    *,
    user: str | None = None,
    other_user: str | None = None,
    only: Iterable[str] = (),
    timeout: float = 30.0,
) -> Report:
    """Run every rule (or those whose id starts with one of ``only``) against the server."""
    run_tag = "conf-" + uuid.uuid4().hex[:10]
    client = Client(base_url, api_key, timeout=timeout)
    report = Report(base_url, run_tag)
    try:
        probe = client.request("GET", "/contacts/changes", params={"tag": run_tag, "limit": 1})
    except requests.RequestException as err:
        report.fatal = f"cannot reach {base_url}: {err}"
        return report
    if probe.status in (401, 403):
        report.fatal = f"the server refused the API key (HTTP {probe.status}); check --api-key"
        return report
    ctx = Context(client, run_tag, user, other_user)
    caps = client.request("GET", "/capabilities")
    if caps.status == 200 and isinstance(caps.reply, dict) and isinstance(caps.reply.get("kinds"), list):
        ctx.kinds = tuple(k for k in KINDS if k in caps.reply["kinds"])
    wanted = tuple(only)
    try:
        for r in RULES:
            if wanted and not r.id.startswith(wanted):
                continue
            report.results.append(_run_rule(r, ctx))
    finally:
        report.cleanup = cleanup(client, run_tag)
        client.session.close()
    return report


def _run_rule(r: Rule, ctx: Context) -> RuleResult:
    before = len(ctx.client.log)
    started = time.monotonic()
    result = RuleResult(r.id, r.title, r.section, r.where, Outcome.PASS)
    try:
        r.check(ctx)
    except Failure as err:
        result.outcome, result.message = Outcome.FAIL, str(err)
        result.exchanges = [e.as_dict() for e in err.exchanges]
    except Skipped as err:
        result.outcome, result.message = Outcome.SKIP, str(err)
    except requests.RequestException as err:
        result.outcome, result.message = Outcome.FAIL, f"the request failed: {err}"
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        # The reply did not have the shape the contract gives it (a field missing or of another type).
        last = ctx.client.log[-1:] if len(ctx.client.log) > before else []
        result.outcome = Outcome.FAIL
        result.message = f"a reply could not be read as the contract describes it: {type(err).__name__}: {err}"
        result.exchanges = [e.as_dict() for e in last]
    result.seconds = time.monotonic() - started
    del ctx.client.log[before:]  # keep memory flat on long runs
    return result


def cleanup(client: Client, run_tag: str) -> list[str]:
    """Delete every live record carrying the run tag (found through the tag-filtered feeds)."""
    problems: list[str] = []
    for kind in KINDS:
        live: dict[str, int] = {}
        cursor: str | None = None
        try:
            for _ in range(1000):
                params: dict[str, Any] = {"tag": run_tag}
                if cursor:
                    params["cursor"] = cursor
                ex = client.request("GET", f"/{kind}/changes", params=params)
                if ex.status != 200 or not isinstance(ex.reply, dict):
                    problems.append(f"{kind}: could not list the run's records (HTTP {ex.status})")
                    break
                for item in ex.reply.get("items", []):
                    if item.get("change") == "upsert":
                        live[item["id"]] = int(item["version"])
                    else:
                        live.pop(item.get("id"), None)
                cursor = ex.reply.get("next_cursor")
                if not ex.reply.get("has_more"):
                    break
            for rid, version in live.items():
                ex = client.request("DELETE", f"/{kind}/{rid}", headers={"If-Match": f'"{version}"'})
                if ex.status == 412 and isinstance(ex.reply, dict) and "current_version" in ex.reply:
                    ex = client.request(
                        "DELETE", f"/{kind}/{rid}", headers={"If-Match": f'"{ex.reply["current_version"]}"'}
                    )
                if ex.status not in (204, 404):
                    problems.append(f"{kind}/{rid}: delete answered HTTP {ex.status}")
        except requests.RequestException as err:
            problems.append(f"{kind}: {err}")
        client.log.clear()
    return problems
