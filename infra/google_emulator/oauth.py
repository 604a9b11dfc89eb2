"""OAuth 2.0 web-server flow: userinfo, tokeninfo, OpenID discovery and certs, and the flow's public names.

The flow is split by endpoint: ``oauth_consent`` (authorization page, Allow/Deny,
codes), ``oauth_token`` (token and revoke), ``oauth_id_token`` (signing key and ID
tokens) and ``oauth_state`` (clients, codes, grants). The names other modules
use are re-exported here, and importing this module registers every OAuth route.

Clients: any ``client_id`` is accepted (and remembered with the first secret it
presents) unless ``state.extras["strict_clients"]`` is true; then only clients
registered through ``POST /__emulator/clients`` work. A registered client's
secret and redirect URIs are always enforced.
"""

from __future__ import annotations

import json
from typing import Any

from jwt.algorithms import RSAAlgorithm

from . import oauth_consent, oauth_token  # noqa: F401  (importing them registers their routes, ahead of these)
from .core import OAUTH, SCOPE_EMAIL, SCOPE_OPENID, SCOPE_PROFILE, Ctx, route
from .oauth_id_token import ISSUER, signing_key
from .oauth_state import OAuthError, create_grant, normalize_scopes, oauth_store, register_client
from .server import Response

__all__ = ["create_grant", "normalize_scopes", "oauth_store", "register_client"]  # used by controls and tests


def _base_url(ctx: Ctx) -> str:
    host = ctx.headers.get("host")
    return f"http://{host}" if host else str(ctx.state.extras.get("base_url", ""))


# --------------------------------------------------------------------------- userinfo and discovery

_USERINFO_SCOPES = {SCOPE_OPENID, SCOPE_EMAIL, SCOPE_PROFILE}


@route("GET", "/oauth2/v2/userinfo", api=OAUTH, method_id="oauth2.userinfo.get", scopes=_USERINFO_SCOPES)
def userinfo_v2(ctx: Ctx) -> dict[str, Any]:
    """Google's userinfo (oauth2 v2 shape)."""
    acct, scopes = ctx.acct, ctx.token.scopes if ctx.token else frozenset()
    info: dict[str, Any] = {"id": acct.subject}
    if SCOPE_EMAIL in scopes:
        info.update(email=acct.email, verified_email=True)
    if SCOPE_PROFILE in scopes:
        info.update(name=acct.name, given_name=acct.name.split()[0] if acct.name else "")
    return info


@route("GET", "/v1/userinfo", api=OAUTH, method_id="openidconnect.userinfo", scopes=_USERINFO_SCOPES)
@route("GET", "/oauth2/v3/userinfo", api=OAUTH, method_id="openidconnect.userinfo", scopes=_USERINFO_SCOPES)
def userinfo_oidc(ctx: Ctx) -> dict[str, Any]:
    """OpenID Connect userinfo."""
    acct, scopes = ctx.acct, ctx.token.scopes if ctx.token else frozenset()
    info: dict[str, Any] = {"sub": acct.subject}
    if SCOPE_EMAIL in scopes:
        info.update(email=acct.email, email_verified=True)
    if SCOPE_PROFILE in scopes:
        info["name"] = acct.name
    return info


@route("GET", "/oauth2/v3/tokeninfo", api=OAUTH, method_id="oauth2.tokeninfo")
def tokeninfo(ctx: Ctx) -> Response:
    """Describe an access token (scopes, expiry, account)."""
    tok = ctx.state.access_tokens.get(ctx.param("access_token") or "")
    now = ctx.state.clock.now()
    if tok is None or tok.expires_at <= now:
        return OAuthError(400, "invalid_token", "Invalid Value").response()
    acct = ctx.state.account(tok.email)
    return Response.json(
        200,
        {
            "azp": tok.client_id,
            "aud": tok.client_id,
            "sub": acct.subject,
            "scope": " ".join(sorted(tok.scopes)),
            "exp": str(int(tok.expires_at.timestamp())),
            "expires_in": str(int((tok.expires_at - now).total_seconds())),
            "email": acct.email,
            "email_verified": "true",
        },
    )


@route("GET", "/.well-known/openid-configuration", api=OAUTH, method_id="oauth.discovery")
def openid_configuration(ctx: Ctx) -> dict[str, Any]:
    """OpenID Connect discovery document pointing at this emulator."""
    base = _base_url(ctx)
    return {
        "issuer": ISSUER,
        "authorization_endpoint": base + "/o/oauth2/v2/auth",
        "token_endpoint": base + "/token",
        "userinfo_endpoint": base + "/v1/userinfo",
        "revocation_endpoint": base + "/revoke",
        "jwks_uri": base + "/oauth2/v3/certs",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": [
            "aud",
            "email",
            "email_verified",
            "exp",
            "iat",
            "iss",
            "name",
            "sub",
            "nonce",
            "at_hash",
            "azp",
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }


@route("GET", "/oauth2/v3/certs", api=OAUTH, method_id="oauth.certs")
def certs_jwk(ctx: Ctx) -> dict[str, Any]:
    """The ID-token signing keys as a JWK set."""
    key, kid, _ = signing_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return {"keys": [jwk]}


@route("GET", "/oauth2/v1/certs", api=OAUTH, method_id="oauth.certs")
def certs_pem(ctx: Ctx) -> dict[str, Any]:
    """The ID-token signing keys as ``{kid: PEM certificate}`` (google-auth's default format)."""
    _, kid, pem = signing_key()
    return {kid: pem}
