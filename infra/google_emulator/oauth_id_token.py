"""ID tokens: the emulator's RS256 signing key and certificate, JWT signing and OpenID Connect claims."""

from __future__ import annotations

import base64
import functools
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from .core import SCOPE_EMAIL, SCOPE_PROFILE, AccessToken, EmulatorState
from .oauth_state import Grant

ISSUER = "https://accounts.google.com"


@functools.cache
def signing_key() -> tuple[rsa.RSAPrivateKey, str, str]:
    """The process's ID-token key, its key id and a self-signed PEM certificate for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = hashlib.sha1(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.google.com.emulator")])
    now = datetime.now(UTC)  # certificate validity is real time, not the emulator clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, kid, cert.public_bytes(Encoding.PEM).decode()


def sign_jwt(claims: dict[str, Any]) -> str:
    """Sign ``claims`` as an RS256 JWT with the emulator's key."""
    key, kid, _ = signing_key()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def id_token(state: EmulatorState, grant: Grant, tok: AccessToken) -> str:
    """A signed RS256 OpenID Connect ID token for ``grant``."""
    account = state.account(grant.email)
    now = int(state.clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "azp": grant.client_id,
        "aud": grant.client_id,
        "sub": account.subject,
        "at_hash": base64.urlsafe_b64encode(hashlib.sha256(tok.token.encode()).digest()[:16]).rstrip(b"=").decode(),
        "iat": now,
        "exp": now + 3600,
    }
    if SCOPE_EMAIL in grant.scopes:
        claims.update(email=account.email, email_verified=True)
    if SCOPE_PROFILE in grant.scopes:
        claims["name"] = account.name
    if grant.nonce:
        claims["nonce"] = grant.nonce
    return sign_jwt(claims)
