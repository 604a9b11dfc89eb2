"""Security building blocks: signed connect links, session cookies, caller verification."""

from crmsync.security.errors import KeyTooShort, SecurityError
from crmsync.security.links import (
    ConnectClaims,
    InMemoryNonceStore,
    LinkError,
    LinkExpired,
    LinkInvalid,
    LinkReplayed,
    NonceStore,
    mint_connect_token,
    verify_connect_token,
)
from crmsync.security.oidc import (
    Caller,
    CallerVerifier,
    Forbidden,
    GoogleOidcVerifier,
    SharedSecretVerifier,
    Unauthenticated,
    VerifierUnavailable,
)
from crmsync.security.sessions import Session, check_csrf, csrf_token, issue_session, read_session

__all__ = [
    "Caller",
    "CallerVerifier",
    "ConnectClaims",
    "Forbidden",
    "GoogleOidcVerifier",
    "InMemoryNonceStore",
    "KeyTooShort",
    "LinkError",
    "LinkExpired",
    "LinkInvalid",
    "LinkReplayed",
    "NonceStore",
    "SecurityError",
    "Session",
    "SharedSecretVerifier",
    "Unauthenticated",
    "VerifierUnavailable",
    "check_csrf",
    "csrf_token",
    "issue_session",
    "mint_connect_token",
    "read_session",
    "verify_connect_token",
]
