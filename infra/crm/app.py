"""The reference CRM's WSGI application: routing, auth, request parsing, problem+json."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from crmsync.crm import semantics as sem
from crmsync.crm.models import KINDS, Capabilities, User
from crmsync.crm.validation import FieldError

from . import notifications as N
from . import problems as P
from .change_hooks import ChangeNotifier, from_crmsync
from .store import CrmStore

log = logging.getLogger("infra.crm")
OPENAPI_PATH = Path(__file__).resolve().parents[2] / "shared" / "crmsync" / "crm" / "openapi" / "crm-sync-api.v1.yaml"
MAX_BODY = 16 * 1024 * 1024
StartResponse = Callable[..., Any]
Reply = tuple[int, Any, dict[str, str]]
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_VERSION = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


@cache
def openapi_document() -> tuple[bytes, bytes]:
    """The contract as YAML and as JSON."""
    import yaml

    raw = OPENAPI_PATH.read_bytes()
    return raw, json.dumps(yaml.safe_load(raw)).encode()


class Request:
    """The parts of a WSGI request the handlers use."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.method = environ["REQUEST_METHOD"].upper()
        self.path = environ.get("PATH_INFO", "/")
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        self.content_type = environ.get("CONTENT_TYPE", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            raise P.Problem(413, "too-large", f"the request body is {length} bytes; at most {MAX_BODY} are accepted")
        self.body = environ["wsgi.input"].read(length) if length > 0 else b""

    def param(self, name: str) -> str | None:
        """A single query parameter, or None."""
        values = self.query.get(name)
        if values and len(values) > 1:
            raise P.bad_request(f"query parameter {name!r} given {len(values)} times; give it once", f"/{name}")
        return values[0] if values else None

    def json(self) -> Any:
        """The body parsed as JSON (400 with a clear message if it is not)."""
        media = self.content_type.split(";")[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            raise P.Problem(415, "unsupported-media-type", f"send the body as application/json, not {media!r}")
        if not self.body:
            raise P.bad_request("the request needs a JSON body", "", "missing body")
        try:
            data = json.loads(self.body.decode("utf-8"), parse_constant=_no_constants)
            json.dumps(data, ensure_ascii=False).encode("utf-8")  # rejects lone surrogates
        except (UnicodeError, ValueError, RecursionError) as err:
            raise P.bad_request(f"the body is not valid UTF-8 JSON: {err}", "", "invalid JSON") from err
        return data

    def version(self, header: str = "if-match") -> int:
        """The record version in If-Match (``3`` or ``"3"``); 428 if missing."""
        raw = self.headers.get(header)
        if raw is None:
            raise P.Problem(
                428, "precondition-required", 'send If-Match with the version you last read, e.g. If-Match: "3"'
            )
        found = _VERSION.match(raw)
        if not found:
            raise P.bad_request(f'If-Match must be a record version such as "3", not {raw!r}', "/If-Match")
        return int(found.group(1))


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _limit(req: Request, default: int, most: int) -> int:
    raw = req.param("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise P.bad_request(f"limit must be an integer from 1 to {most}", "/limit")
    return int(raw)


def _ids(req: Request) -> list[str]:
    raw = req.param("ids")
    ids = [i for i in (raw or "").split(",") if i]
    if not 1 <= len(ids) <= sem.MAX_PAGE:
        raise P.bad_request(f"ids must list 1 to {sem.MAX_PAGE} comma-separated record ids", "/ids")
    return ids


class CrmApp:
    """WSGI callable serving the CRM Sync API from a ``CrmStore``."""

    def __init__(
        self,
        store: CrmStore,
        api_key: str,
        capabilities: Capabilities | None = None,
        notifier: ChangeNotifier | None = None,
    ) -> None:
        self.store = store
        self.api_key = api_key
        # A narrower one plays a CRM without, e.g., tasks; the reference CRM takes crmsync's notifications.
        self.capabilities = capabilities or Capabilities(custom_fields=True, notifications=True)
        self.notifier = notifier  # tells crmsync about changes (change notifications), if configured
        store.recurrence_exceptions = self.capabilities.recurrence_exceptions
        days = self.capabilities.idempotency_key_retention_days
        store.key_retention = timedelta(days=days) if days else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers: dict[str, str]
        try:
            req = Request(environ)
            status, payload, headers = self.route(req)
            if isinstance(payload, bytes):
                body = payload
            else:
                body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
                if payload is not None:
                    headers.setdefault("Content-Type", "application/json")
        except P.Problem as err:
            status, headers = err.status, {"Content-Type": "application/problem+json", **err.headers}
            body = json.dumps(err.body(), ensure_ascii=False).encode("utf-8")
        except Exception:
            log.exception("unhandled error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            status, headers = 500, {"Content-Type": "application/problem+json"}
            body = json.dumps(
                P.Problem(500, "internal", "the CRM failed; this is a bug in the reference CRM").body()
            ).encode()
        start_response(
            f"{status} {P.TITLES.get(status, 'OK') if status >= 400 else 'OK'}",
            [("Content-Length", str(len(body))), *headers.items()],
        )
        return [body]

    def route(self, req: Request) -> Reply:
        """Match the path and method to a handler."""
        parts = [p for p in req.path.split("/") if p]
        if req.method == "GET" and parts in (["openapi.yaml"], ["openapi.json"]):
            yaml_doc, json_doc = openapi_document()
            return (
                (200, yaml_doc, {"Content-Type": "application/yaml"})
                if parts[0].endswith("yaml")
                else (200, json_doc, {"Content-Type": "application/json"})
            )
        if req.method == "GET" and parts == ["health"]:
            return 200, {"status": "ok"}, {}
        actor = self.authenticate(req)
        if parts == ["capabilities"]:
            self._allow(req, "GET")
            return 200, self.capabilities.model_dump(), {}
        if parts == ["notifications"] and self.capabilities.notifications:
            self._allow(req, "GET", "POST")
            if req.method == "GET":
                return 200, N.listing(self.store.db, req.param("user_id")), {}
            status, stored, replayed = N.receive(
                self.store.db, req.json(), req.headers.get("idempotency-key"), req.headers.get("x-crm-user")
            )
            return status, stored, {"Idempotent-Replayed": "true"} if replayed else {}
        if parts[:1] == ["users"] and len(parts) <= 2:
            self._allow(req, "GET")
            return self.users(req, parts[1] if len(parts) == 2 else None)
        if not parts or parts[0] not in KINDS or len(parts) > 2 or not self.capabilities.offers(parts[0]):
            raise P.Problem(404, "no-such-path", f"no endpoint at {req.path}; see /openapi.yaml")
        kind = parts[0]
        if len(parts) == 1:
            self._allow(req, "GET", "POST")
            if req.method == "GET":
                return self.lookup(req, kind, actor)
            return self._notify(req, kind, set(), self.create(req, kind, actor))
        if parts[1] == "changes":
            self._allow(req, "GET")
            return self.changes(req, kind, actor)
        if parts[1] == "fields":
            self._allow(req, "GET")
            if not self.capabilities.custom_fields:
                raise P.Problem(404, "no-such-path", "this CRM declares no custom fields (GET /capabilities)")
            return 200, {"items": self.store.custom_fields(kind)}, {}
        if parts[1] == "bulk":
            self._allow(req, "POST")
            return self._notify(req, kind, self._owners_before(req, kind, None), self.bulk(req, kind, actor))
        self._allow(req, "GET", "PATCH", "DELETE")
        if req.method == "GET":
            return self.one(req, kind, parts[1], actor)
        return self._notify(req, kind, self._owners_before(req, kind, parts[1]), self.one(req, kind, parts[1], actor))

    def _owners_before(self, req: Request, kind: str, record_id: str | None) -> set[str | None]:
        """Who owns the records a write will change, read before it (a delete leaves nothing to read)."""
        if self.notifier is None or from_crmsync(req.headers.get("user-agent")):
            return set()
        ids = [record_id] if record_id is not None else []
        if record_id is None:
            try:
                ops = req.json().get("operations")
                ids = [str(op["id"]) for op in ops if isinstance(op, dict) and "id" in op][: sem.MAX_BULK]
            except (P.Problem, AttributeError, TypeError):
                return set()
        return {rec.get("owner_id") for rec in self.store.get_many(kind, ids, None)} if ids else set()

    def _notify(self, req: Request, kind: str, before: set[str | None], reply: Reply) -> Reply:
        """Tell crmsync the owners (before and after) of what a successful write changed."""
        status, payload, _ = reply
        if self.notifier is None or status >= 300 or from_crmsync(req.headers.get("user-agent")):
            return reply
        after = set(before)
        records = [payload] if isinstance(payload, dict) and "results" not in payload else []
        if isinstance(payload, dict) and isinstance(payload.get("results"), list):
            records = [r["record"] for r in payload["results"] if isinstance(r.get("record"), dict)]
        after |= {rec.get("owner_id") for rec in records}
        self.notifier.changed(kind, after)
        return reply

    @staticmethod
    def _allow(req: Request, *methods: str) -> None:
        if req.method not in methods:
            raise P.Problem(
                405,
                "method-not-allowed",
                f"{req.method} is not supported here; use {', '.join(methods)}",
                headers={"Allow": ", ".join(methods)},
            )

    def authenticate(self, req: Request) -> User | None:
        """Check the bearer API key; resolve X-CRM-User to the acting user."""
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not token or not hmac.compare_digest(token.encode("utf-8", "replace"), self.api_key.encode()):
            detail = (
                "send the CRM API key as 'Authorization: Bearer <key>'" if not token else "the API key is not valid"
            )
            raise P.Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="crm-sync-api"'})
        user_id = req.headers.get("x-crm-user")
        if user_id is None:
            return None
        user = self.store.user(user_id)
        if user is None or not user.active:
            raise P.Problem(
                403,
                "unknown-user",
                f"X-CRM-User names no active CRM user ({user_id!r}); look users up with GET /users?email=",
            )
        return user

    def users(self, req: Request, user_id: str | None) -> Reply:
        """GET /users/{id} and GET /users?email=."""
        if user_id is not None:
            user = self.store.user(user_id)
            if user is None:
                raise P.Problem(404, "not-found", f"no CRM user with id {user_id!r}")
            return 200, user.model_dump(), {}
        email = req.param("email")
        if not email:
            raise P.bad_request("give ?email= to look a user up by e-mail", "/email")
        found = self.store.user_by_email(email)
        return 200, {"items": [found.model_dump()] if found else []}, {}

    def changes(self, req: Request, kind: str, actor: User | None) -> Reply:
        """GET /{kind}/changes."""
        flt = sem.FeedFilter(owner_id=req.param("owner_id"), tag=req.param("tag"), user_id=actor.id if actor else None)
        page = self.store.changes(kind, req.param("cursor"), _limit(req, sem.MAX_PAGE, sem.MAX_PAGE), flt, actor)
        return 200, page, {"Content-Type": "application/json"}

    def lookup(self, req: Request, kind: str, actor: User | None) -> Reply:
        """GET /{kind}?ids=a,b (and for companies ?name= or ?domain=)."""
        if kind == "companies" and req.param("ids") is None:
            name, domain = req.param("name"), req.param("domain")
            if not name and not domain:
                raise P.bad_request("give ids=, name= or domain= to look companies up", "/name")
            return 200, {"items": self.store.find_companies(name, domain, actor)}, {}
        return 200, {"items": self.store.get_many(kind, _ids(req), actor)}, {}

    def create(self, req: Request, kind: str, actor: User | None) -> Reply:
        """POST /{kind} with an Idempotency-Key."""
        key = req.headers.get("idempotency-key")
        if key is None or not _KEY.match(key):
            raise P.bad_request(
                "send an Idempotency-Key header (1-255 visible ASCII characters, e.g. a UUID)", "/Idempotency-Key"
            )
        status, rec, replayed = self.store.create(kind, req.json(), key, actor)
        headers = {"ETag": f'"{rec["version"]}"', "Location": f"/{kind}/{rec['id']}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return status, rec, headers

    def one(self, req: Request, kind: str, rid: str, actor: User | None) -> Reply:
        """GET, PATCH, DELETE /{kind}/{id}."""
        if req.method == "GET":
            rec = self.store.get(kind, rid, actor)
        elif req.method == "PATCH":
            version = req.version()
            rec = self.store.update(kind, rid, req.json(), version, actor)
        else:
            self.store.delete(kind, rid, req.version(), actor)
            return 204, None, {}
        return 200, rec, {"ETag": f'"{rec["version"]}"'}

    def bulk(self, req: Request, kind: str, actor: User | None) -> Reply:
        """POST /{kind}/bulk: up to 500 operations, a result each."""
        body = req.json()
        if not isinstance(body, dict) or set(body) != {"operations"} or not isinstance(body["operations"], list):
            raise P.bad_request(
                'the body must be {"operations": [...]}', "/operations", "required: a list of operations"
            )
        ops = body["operations"]
        if not 1 <= len(ops) <= sem.MAX_BULK:
            raise P.Problem(
                413 if ops else 400,
                "too-many-operations" if ops else "bad-request",
                f"a bulk call takes 1 to {sem.MAX_BULK} operations, got {len(ops)}; split it into several calls",
                errors=[FieldError("/operations", f"1 to {sem.MAX_BULK} operations")],
            )
        return 200, {"results": self.store.bulk(kind, ops, actor)}, {}
