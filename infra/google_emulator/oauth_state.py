"""OAuth state: clients, authorization codes, grants and the tokens issued under them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from .core import SCOPE_EMAIL, SCOPE_PROFILE, AccessToken, Ctx, EmulatorState
from .server import Response

_SHORT_SCOPES = {"email": SCOPE_EMAIL, "profile": SCOPE_PROFILE}


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    registered: bool


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    email: str
    scopes: frozenset[str]
    challenge: str | None
    challenge_method: str
    offline: bool
    force_refresh_token: bool
    nonce: str | None
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    """One consent: its refresh token (offline only) and the access tokens issued under it."""

    email: str
    client_id: str
    scopes: frozenset[str]
    refresh_token: str | None
    nonce: str | None = None
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class OAuthStore:
    clients: dict[str, Client] = field(default_factory=dict)
    pending: dict[str, tuple[datetime, dict[str, Any]]] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    by_refresh: dict[str, Grant] = field(default_factory=dict)
    by_access: dict[str, Grant] = field(default_factory=dict)


class OAuthError(Exception):
    """An OAuth protocol error answered as ``{"error", "error_description"}`` JSON."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return Response.json(self.status, body, {"Cache-Control": "no-store"})


def oauth_store(state: EmulatorState) -> OAuthStore:
    """The OAuth store kept in ``state.extras`` (so ``reset()`` clears it)."""
    store: OAuthStore = state.extras.setdefault("oauth", OAuthStore())
    return store


def normalize_scopes(scopes: list[str] | str) -> list[str]:
    """Scopes as Google echoes them: short ``email``/``profile`` become URLs; order kept, duplicates dropped."""
    items = scopes.split() if isinstance(scopes, str) else scopes
    out: list[str] = []
    for item in items:
        full = _SHORT_SCOPES.get(item, item)
        if full not in out:
            out.append(full)
    return out


def register_client(
    state: EmulatorState, client_id: str, client_secret: str | None, redirect_uris: list[str]
) -> Client:
    """Register (or replace) an OAuth client."""
    client = Client(client_id, client_secret, list(redirect_uris), registered=True)
    oauth_store(state).clients[client_id] = client
    return client


def create_grant(
    state: EmulatorState,
    email: str,
    client_id: str,
    scopes: list[str],
    *,
    offline: bool = True,
    nonce: str | None = None,
) -> tuple[Grant, AccessToken]:
    """Record a consent and issue its first access token (and a refresh token when ``offline``)."""
    store = oauth_store(state)
    refresh = "1//0emu-" + secrets.token_urlsafe(32) if offline else None
    grant = Grant(email.strip().lower(), client_id, frozenset(normalize_scopes(scopes)), refresh, nonce)
    store.grants.append(grant)
    if refresh:
        store.by_refresh[refresh] = grant
    return grant, issue_access(state, grant)


def issue_access(state: EmulatorState, grant: Grant, scopes: frozenset[str] | None = None) -> AccessToken:
    """Mint an access token under ``grant`` (its scopes, or the narrower ``scopes``) and index it."""
    tok = state.mint_access_token(grant.email, scopes or grant.scopes, grant.client_id)
    grant.access_tokens.add(tok.token)
    oauth_store(state).by_access[tok.token] = grant
    return tok


def read_form(ctx: Ctx) -> dict[str, list[str]]:
    """The request's ``application/x-www-form-urlencoded`` body."""
    return parse_qs(ctx.body.decode("utf-8", "replace"), keep_blank_values=True)


def client_for(state: EmulatorState, client_id: str) -> Client | None:
    """The client ``client_id``; an unknown one is remembered unless ``strict_clients`` is on (then None)."""
    store = oauth_store(state)
    client = store.clients.get(client_id)
    if client is None and not state.extras.get("strict_clients"):
        client = store.clients[client_id] = Client(client_id, None, [], registered=False)
    return client
