"""OIDC caller verification through the real google-auth code path and a real local certs endpoint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google.auth.transport.requests
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as gjwt

from crmsync.security import Forbidden, GoogleOidcVerifier, SharedSecretVerifier, Unauthenticated, VerifierUnavailable

pytestmark = pytest.mark.integration

AUDIENCE = "https://worker-abc-uc.a.run.app/worker"
TASKS_SA = "tasks-invoker@crmsync-prod.iam.gserviceaccount.com"


class Signer:
    """An RSA key with a self-signed certificate, as Google publishes at oauth2/v1/certs."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kid)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.signer = crypt.RSASigner.from_string(pem, key_id=kid)

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://accounts.google.com",
            "aud": AUDIENCE,
            "sub": "1234567890",
            "email": TASKS_SA,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return gjwt.encode(self.signer, claims).decode()


class CertsServer:
    """Serves {kid: cert PEM} over real HTTP on a free port and counts requests."""

    def __init__(self) -> None:
        self.certs: dict[str, str] = {}
        self.hits = 0
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.certs).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oauth2/v1/certs"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def google_key() -> Signer:
    return Signer("kid-1")


@pytest.fixture
def certs(google_key: Signer) -> Iterator[CertsServer]:
    server = CertsServer()
    server.certs[google_key.kid] = google_key.cert_pem
    yield server
    server.stop()


@pytest.fixture
def verifier(certs: CertsServer) -> GoogleOidcVerifier:
    return GoogleOidcVerifier(
        AUDIENCE, frozenset({TASKS_SA}), google.auth.transport.requests.Request(), certs_url=certs.url
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_is_accepted(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    caller = verifier.verify(bearer(google_key.token()))
    assert (caller.email, caller.subject, caller.method) == (TASKS_SA, "1234567890", "google-oidc")


def test_header_lookup_is_case_insensitive(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    assert verifier.verify({"authorization": f"bearer {google_key.token()}"}).email == TASKS_SA


def test_certs_are_cached_between_calls(verifier: GoogleOidcVerifier, google_key: Signer, certs: CertsServer) -> None:
    verifier.verify(bearer(google_key.token()))
    verifier.verify(bearer(google_key.token()))
    assert certs.hits == 1


def test_expired_token_is_401(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    past = int(time.time()) - 7200
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(bearer(google_key.token(iat=past, exp=past + 3600)))


def test_wrong_audience_is_401(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    with pytest.raises(Unauthenticated, match="wrong audience") as info:
        verifier.verify(bearer(google_key.token(aud="https://other-function.a.run.app")))
    assert info.value.status == 401


def test_wrong_signer_key_is_401(verifier: GoogleOidcVerifier) -> None:
    impostor = Signer("kid-1")  # same key id, different key
    with pytest.raises(Unauthenticated, match="signature"):
        verifier.verify(bearer(impostor.token()))


def test_unknown_key_id_refetches_certs_once(
    verifier: GoogleOidcVerifier, google_key: Signer, certs: CertsServer
) -> None:
    verifier.verify(bearer(google_key.token()))
    rotated = Signer("kid-2")
    certs.certs[rotated.kid] = rotated.cert_pem  # Google published a new key after we cached
    assert verifier.verify(bearer(rotated.token())).email == TASKS_SA
    assert certs.hits == 2
    with pytest.raises(Unauthenticated, match="key id"):
        verifier.verify(bearer(Signer("kid-3").token()))


def test_unlisted_service_account_is_403(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    with pytest.raises(Forbidden, match="intruder@") as info:
        verifier.verify(bearer(google_key.token(email="intruder@evil.iam.gserviceaccount.com")))
    assert info.value.status == 403


def test_unverified_email_is_403(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    with pytest.raises(Forbidden, match="not verified"):
        verifier.verify(bearer(google_key.token(email_verified=False)))


def test_non_google_issuer_is_401(verifier: GoogleOidcVerifier, google_key: Signer) -> None:
    with pytest.raises(Unauthenticated, match="iss"):
        verifier.verify(bearer(google_key.token(iss="https://evil.example")))


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": ""}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}]
)
def test_missing_or_malformed_header_is_401(verifier: GoogleOidcVerifier, headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify(headers)


def test_garbled_token_is_401_without_echoing_it(verifier: GoogleOidcVerifier) -> None:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(bearer("not-a-jwt-secretish-value"))
    assert "secretish" not in str(info.value)


def test_certs_endpoint_down_is_unavailable(
    verifier: GoogleOidcVerifier, google_key: Signer, certs: CertsServer
) -> None:
    certs.status = 500
    with pytest.raises(VerifierUnavailable):
        verifier.verify(bearer(google_key.token()))


def test_shared_secret_verifier() -> None:
    verifier = SharedSecretVerifier("local-secret-0123456789")
    assert verifier.verify({"x-crmsync-internal": "local-secret-0123456789"}).method == "shared-secret"
    with pytest.raises(Unauthenticated, match="missing"):
        verifier.verify({})
    with pytest.raises(Unauthenticated, match="wrong"):
        verifier.verify({"X-CrmSync-Internal": "local-secret-0123456780"})
    with pytest.raises(ValueError, match="16 characters"):
        SharedSecretVerifier("short")
