"""The token endpoint (authorization_code with PKCE, refresh_token) and token revocation."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import unquote

from .core import OAUTH, SCOPE_OPENID, AccessToken, Ctx, route
from .oauth_id_token import id_token
from .oauth_state import (
    Client,
    Grant,
    OAuthError,
    client_for,
    create_grant,
    issue_access,
    normalize_scopes,
    oauth_store,
    read_form,
)
from .server import Response


def _client_credentials(ctx: Ctx, form: dict[str, list[str]]) -> tuple[str, str | None]:
    auth = ctx.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError as err:
            raise OAuthError(401, "invalid_client", "Malformed HTTP Basic client credentials.") from err
        return unquote(user), unquote(password)
    return (form.get("client_id") or [""])[0], next(iter(form.get("client_secret", [])), None)


def _authenticate_client(ctx: Ctx, form: dict[str, list[str]]) -> Client:
    client_id, secret = _client_credentials(ctx, form)
    if not client_id:
        raise OAuthError(
            400,
            "invalid_request",
            "Could not determine client ID from request (send HTTP Basic credentials or client_id).",
        )
    client = client_for(ctx.state, client_id)
    if client is None:
        raise OAuthError(401, "invalid_client", f"The OAuth client was not found: {client_id}")
    if client.client_secret is None and not client.registered:
        client.client_secret = secret  # first use of an unregistered client pins its secret
    if client.client_secret is not None and secret != client.client_secret:
        raise OAuthError(401, "invalid_client", "Unauthorized: wrong or missing client_secret.")
    return client


def _token_response(ctx: Ctx, grant: Grant, tok: AccessToken, *, refresh: bool) -> Response:
    body: dict[str, Any] = {
        "access_token": tok.token,
        "expires_in": int((tok.expires_at - ctx.state.clock.now()).total_seconds()),
        "scope": " ".join(sorted(tok.scopes)),
        "token_type": "Bearer",
    }
    if refresh and grant.refresh_token:
        body["refresh_token"] = grant.refresh_token
    if SCOPE_OPENID in tok.scopes:
        body["id_token"] = id_token(ctx.state, grant, tok)
    return Response.json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _exchange_code(ctx: Ctx, form: dict[str, list[str]], client: Client) -> Response:
    store = oauth_store(ctx.state)
    value = (form.get("code") or [""])[0]
    if not value:
        raise OAuthError(400, "invalid_request", "Missing required parameter: code")
    code = store.codes.get(value)
    if code is None:
        raise OAuthError(400, "invalid_grant", "Malformed auth code.")
    if code.used:
        raise OAuthError(
            400,
            "invalid_grant",
            "The authorization code was already used. Codes are single-use: start the sign-in again.",
        )
    if code.expires_at <= ctx.state.clock.now():
        raise OAuthError(400, "invalid_grant", "The authorization code has expired (codes are valid for 10 minutes).")
    if code.client_id != client.client_id:
        raise OAuthError(400, "invalid_grant", "The authorization code was issued to another client.")
    if (form.get("redirect_uri") or [""])[0] != code.redirect_uri:
        raise OAuthError(
            400, "redirect_uri_mismatch", "redirect_uri must equal the one sent to the authorization endpoint."
        )
    if code.challenge:
        verifier = (form.get("code_verifier") or [""])[0]
        if not verifier:
            raise OAuthError(400, "invalid_grant", "Missing code verifier.")
        expected = verifier
        if code.challenge_method == "S256":
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not secrets.compare_digest(expected, code.challenge):
            raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
    code.used = True
    has_refresh = any(
        g.refresh_token and not g.revoked and g.email == code.email and g.client_id == code.client_id
        for g in store.grants
    )
    offline = code.offline and (code.force_refresh_token or not has_refresh)
    grant, tok = create_grant(
        ctx.state, code.email, code.client_id, sorted(code.scopes), offline=offline, nonce=code.nonce
    )
    return _token_response(ctx, grant, tok, refresh=True)


def _refresh(ctx: Ctx, form: dict[str, list[str]], client: Client) -> Response:
    value = (form.get("refresh_token") or [""])[0]
    if not value:
        raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
    grant = oauth_store(ctx.state).by_refresh.get(value)
    if grant is None or grant.revoked:
        raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
    if grant.client_id != client.client_id:
        raise OAuthError(401, "unauthorized_client", "The refresh token was issued to another OAuth client.")
    scopes = grant.scopes
    if form.get("scope"):
        asked = frozenset(normalize_scopes(form["scope"][0]))
        if not asked <= grant.scopes:
            raise OAuthError(400, "invalid_scope", f"Scopes not granted: {' '.join(sorted(asked - grant.scopes))}")
        scopes = asked
    return _token_response(ctx, grant, issue_access(ctx.state, grant, scopes), refresh=False)


@route("POST", "/token", api=OAUTH, method_id="oauth.token")
@route("POST", "/o/oauth2/token", api=OAUTH, method_id="oauth.token")
def token(ctx: Ctx) -> Response:
    """Exchange an authorization code or a refresh token for an access token."""
    try:
        if not ctx.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise OAuthError(400, "invalid_request", "The token request must be application/x-www-form-urlencoded.")
        form = read_form(ctx)
        grant_type = (form.get("grant_type") or [""])[0]
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client = _authenticate_client(ctx, form)
        return _exchange_code(ctx, form, client) if grant_type == "authorization_code" else _refresh(ctx, form, client)
    except OAuthError as err:
        return err.response()


@route("POST", "/revoke", api=OAUTH, method_id="oauth.revoke")
@route("GET", "/revoke", api=OAUTH, method_id="oauth.revoke")
@route("POST", "/o/oauth2/revoke", api=OAUTH, method_id="oauth.revoke")
def revoke(ctx: Ctx) -> Response:
    """Revoke a refresh or access token. As at Google, what goes is the app's access to the account: every
    grant of that account to that OAuth client (all its refresh tokens and access tokens), not one token."""
    value = ctx.param("token") or (read_form(ctx).get("token") or [""])[0]
    store, state = oauth_store(ctx.state), ctx.state
    grant = store.by_refresh.get(value) or store.by_access.get(value)
    if grant is not None and not grant.revoked:
        for g in store.grants:
            if (g.email, g.client_id) == (grant.email, grant.client_id) and not g.revoked:
                g.revoked = True
                for t in g.access_tokens:
                    state.access_tokens.pop(t, None)
        return Response.json(200, {})
    if value and grant is None and state.access_tokens.pop(value, None) is not None:
        return Response.json(200, {})
    return OAuthError(400, "invalid_token", "Token expired or revoked").response()
