"""Who may call the private functions (/fanout, /worker).

Production: Google-signed OIDC tokens of the configured service accounts, checked in code
on top of Cloud Run IAM. Local stack: a shared secret header.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import google.auth.exceptions
import jwt
from google.auth import transport
from google.oauth2 import id_token

from crmsync.obs.logging import redact
from crmsync.security.errors import SecurityError

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
CLOCK_SKEW_SECONDS = 10


class Unauthenticated(SecurityError):
    """401: credentials missing, garbled, expired, badly signed or for another audience."""

    status = 401


class Forbidden(SecurityError):
    """403: a valid Google identity that is not allowed to call this function."""

    status = 403


class VerifierUnavailable(SecurityError):
    """503: Google's signing certificates could not be fetched; retry later."""

    status = 503


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of a private function."""

    email: str
    subject: str
    method: str  # "google-oidc" or "shared-secret"


class CallerVerifier(Protocol):
    """Authenticates the caller of a private function from its request headers."""

    def verify(self, headers: Mapping[str, str]) -> Caller:
        """Return the caller or raise Unauthenticated / Forbidden."""
        ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up case-insensitively (works for dicts and werkzeug Headers alike)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


class CachedCertsRequest:
    """A google.auth transport Request that caches the certs endpoint's 200 answer for a while."""

    def __init__(
        self, inner: transport.Request, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._inner = inner
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, transport.Response]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        """Serve a fresh cached GET, else forward to the wrapped request."""
        if method != "GET":
            return self._inner(url, method=method, body=body, headers=headers, **kwargs)
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None and hit[0] > self._clock():
                return hit[1]
        response = self._inner(url, method=method, body=body, headers=headers, **kwargs)
        if response.status == 200:
            response.data  # noqa: B018  (read the body once so the cached object can be reused)
            with self._lock:
                self._cache[url] = (self._clock() + self._ttl, response)
        return response

    def forget(self, url: str) -> None:
        """Drop a cached answer (after a token names a key id we have not seen)."""
        with self._lock:
            self._cache.pop(url, None)


class GoogleOidcVerifier:
    """Accepts `Authorization: Bearer <Google ID token>` for the audience, from allowed service accounts."""

    def __init__(
        self,
        audience: str,
        allowed_emails: frozenset[str],
        request: transport.Request,
        certs_url: str = GOOGLE_CERTS_URL,
        *,
        certs_cache_seconds: float = 300.0,
    ) -> None:
        if not audience:
            raise ValueError("audience must be the function's URL (the OIDC audience Cloud Tasks/Scheduler use)")
        if not allowed_emails:
            raise ValueError("allowed_emails must list the scheduler/tasks service account e-mails")
        self.audience = audience
        self.allowed_emails = frozenset(e.lower() for e in allowed_emails)
        self._certs_url = certs_url
        self._request = CachedCertsRequest(request, certs_cache_seconds)

    def verify(self, headers: Mapping[str, str]) -> Caller:
        """Return the service-account caller or raise Unauthenticated / Forbidden / VerifierUnavailable."""
        value = header(headers, "Authorization")
        if not value:
            raise Unauthenticated("missing Authorization header; private functions need a Google OIDC token")
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Authorization header must be 'Bearer <Google OIDC token>'")
        claims = self._claims(token)  # the token is masked by its shape; registered only once Google's signature holds
        redact.register(token)
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthenticated("token was not issued by Google (unexpected iss)")
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise Forbidden("token carries no e-mail; the OIDC token must be minted for a service account")
        if email.lower() not in self.allowed_emails:
            raise Forbidden(f"service account {email} may not call this function")
        if claims.get("email_verified") is not True:
            raise Forbidden(f"e-mail {email} in the token is not verified")
        return Caller(email=email, subject=str(claims.get("sub", "")), method="google-oidc")

    def _claims(self, token: str) -> Mapping[str, Any]:
        try:
            return self._verify(token)
        except google.auth.exceptions.MalformedError as err:
            if "key id" not in str(err):
                raise Unauthenticated(f"invalid token: {_reason(err)}") from err
            # Google rotated its keys since we cached the certs: fetch them once more.
            self._request.forget(self._certs_url)
            try:
                return self._verify(token)
            except (ValueError, jwt.PyJWTError) as again:
                raise Unauthenticated(f"invalid token: {_reason(again)}") from again

    def _verify(self, token: str) -> Mapping[str, Any]:
        try:
            return id_token.verify_token(
                token,
                self._request,  # type: ignore[arg-type]  # duck-typed transport.Request
                audience=self.audience,
                certs_url=self._certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except google.auth.exceptions.TransportError as err:
            raise VerifierUnavailable(f"could not fetch signing certificates from {self._certs_url}") from err
        except google.auth.exceptions.MalformedError:
            raise
        except (ValueError, jwt.PyJWTError) as err:
            # Expired, wrong audience (RFC 6750 invalid_token), bad signature, garbage.
            raise Unauthenticated(f"invalid token: {_reason(err)}") from err


def _reason(err: Exception) -> str:
    text = str(err)
    # Only fixed phrases: google-auth messages can quote the token itself.
    for known in ("expired", "wrong audience", "too early", "signature", "key id", "segments"):
        if known in text.lower():
            return known
    return type(err).__name__


class SharedSecretVerifier:
    """Local stack: the caller sends the shared secret in a header (compared in constant time)."""

    def __init__(self, secret: str, header: str = "X-CrmSync-Internal") -> None:
        if len(secret) < 16:
            raise ValueError("shared secret must be at least 16 characters; generate one with secrets.token_urlsafe()")
        redact.register(secret, pinned=True)
        self._secret = secret.encode("utf-8")
        self.header = header

    def verify(self, headers: Mapping[str, str]) -> Caller:
        """Return the local caller or raise Unauthenticated."""
        value = header(headers, self.header)
        if not value:
            raise Unauthenticated(f"missing {self.header} header")
        if not hmac.compare_digest(value.encode("utf-8"), self._secret):
            raise Unauthenticated(f"wrong {self.header} header")
        return Caller(email="local", subject="local", method="shared-secret")
