"""Typed configuration from CRMSYNC_* environment variables; fails fast naming the variable."""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_USERINFO_URI = "https://openidconnect.googleapis.com/v1/userinfo"
MIN_KEY_BYTES = 32
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

VaultKind = Literal["secret_manager", "envelope", "local_file"]
StoreKind = Literal["firestore", "memory"]


class ConfigError(ValueError):
    """A configuration variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Config:
    """Everything the functions read from the environment."""

    base_url: str
    oauth_client_id: str
    oauth_client_secret: str
    link_signing_key: bytes
    admin_api_key: str
    crm_base_url: str
    crm_api_key: str
    google_auth_uri: str = GOOGLE_AUTH_URI
    google_token_uri: str = GOOGLE_TOKEN_URI
    google_revoke_uri: str = GOOGLE_REVOKE_URI
    google_api_base: str | None = None  # None: real Google APIs
    vault: VaultKind = "secret_manager"
    local_vault_path: str | None = None
    store: StoreKind = "firestore"
    project: str | None = None
    secret_prefix: str = "crmsync-rt-"
    internal_secret: str | None = None
    log_level: str = "INFO"
    # Signs session cookies. Its own secret (CRMSYNC_SESSION_KEY), never derived from the link key:
    # the CRM holds the link key, and must not be able to forge sessions with it. Only the web function needs it.
    session_signing_key: bytes | None = None

    @property
    def is_local(self) -> bool:
        """True when the base URL is plain http on loopback (the only place insecure transport is allowed)."""
        parts = urlsplit(self.base_url)
        return parts.scheme == "http" and (parts.hostname or "") in _LOCAL_HOSTS

    @property
    def redirect_uri(self) -> str:
        """The OAuth redirect URI registered with Google."""
        return self.base_url + "/oauth/callback"

    @property
    def userinfo_uri(self) -> str:
        """The OpenID Connect userinfo endpoint (the emulator's when GOOGLE_API_BASE is set)."""
        return self.google_api_base + "/v1/userinfo" if self.google_api_base else GOOGLE_USERINFO_URI

    @property
    def session_key(self) -> bytes:
        """The session-cookie signing key (CRMSYNC_SESSION_KEY); ConfigError if it is not configured."""
        if not self.session_signing_key:
            raise ConfigError(
                "CRMSYNC_SESSION_KEY is not set: the web function signs session cookies with it "
                "(at least 32 random characters, different from CRMSYNC_LINK_SIGNING_KEY)"
            )
        return self.session_signing_key

    def secrets(self) -> list[str]:
        """Every secret value in the configuration (registered with the log redactor)."""
        values = [self.oauth_client_secret, self.admin_api_key, self.crm_api_key, self.internal_secret]
        values.append(self.link_signing_key.decode("utf-8", "replace"))
        if self.session_signing_key:
            values.append(self.session_signing_key.decode("utf-8", "replace"))
        return [v for v in values if v]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read and validate CRMSYNC_* variables; raise ConfigError naming the first bad one."""
        env = os.environ if env is None else env
        reader = _Reader(env)
        config = cls(
            base_url=reader.url("CRMSYNC_BASE_URL"),
            oauth_client_id=reader.required("CRMSYNC_OAUTH_CLIENT_ID"),
            oauth_client_secret=reader.required("CRMSYNC_OAUTH_CLIENT_SECRET"),
            link_signing_key=reader.key("CRMSYNC_LINK_SIGNING_KEY"),
            admin_api_key=reader.key("CRMSYNC_ADMIN_API_KEY").decode(),
            crm_base_url=reader.url("CRMSYNC_CRM_BASE_URL"),
            crm_api_key=reader.required("CRMSYNC_CRM_API_KEY"),
            google_auth_uri=reader.url("CRMSYNC_GOOGLE_AUTH_URI", GOOGLE_AUTH_URI),
            google_token_uri=reader.url("CRMSYNC_GOOGLE_TOKEN_URI", GOOGLE_TOKEN_URI),
            google_revoke_uri=reader.url("CRMSYNC_GOOGLE_REVOKE_URI", GOOGLE_REVOKE_URI),
            google_api_base=reader.url("CRMSYNC_GOOGLE_API_BASE", "") or None,
            vault=reader.choice("CRMSYNC_VAULT", ("secret_manager", "envelope", "local_file"), "secret_manager"),  # type: ignore[arg-type]
            local_vault_path=env.get("CRMSYNC_LOCAL_VAULT_PATH") or None,
            store=reader.choice("CRMSYNC_STORE", ("firestore", "memory"), "firestore"),  # type: ignore[arg-type]
            project=env.get("CRMSYNC_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT") or None,
            secret_prefix=env.get("CRMSYNC_SECRET_PREFIX") or "crmsync-rt-",
            internal_secret=env.get("CRMSYNC_INTERNAL_SECRET") or None,
            log_level=reader.choice("CRMSYNC_LOG_LEVEL", _LEVELS, "INFO", upper=True),
            session_signing_key=reader.key("CRMSYNC_SESSION_KEY") if env.get("CRMSYNC_SESSION_KEY") else None,
        )
        config.check()
        return config

    def check(self) -> None:
        """Cross-field rules; raise ConfigError naming the variable to fix."""
        if self.vault == "local_file" and not self.local_vault_path:
            raise ConfigError("CRMSYNC_LOCAL_VAULT_PATH is required when CRMSYNC_VAULT=local_file")
        needs_project = self.store == "firestore" or self.vault in ("secret_manager", "envelope")
        if needs_project and not self.project:
            raise ConfigError(
                f"CRMSYNC_PROJECT is required with CRMSYNC_STORE={self.store} and CRMSYNC_VAULT={self.vault}"
            )
        if self.vault == "envelope" and self.store != "firestore":
            raise ConfigError("CRMSYNC_VAULT=envelope keeps ciphertext in Firestore: set CRMSYNC_STORE=firestore")
        if not self.is_local and urlsplit(self.base_url).scheme != "https":
            raise ConfigError(f"CRMSYNC_BASE_URL must be https:// (plain http only on localhost), got {self.base_url}")
        if len(self.link_signing_key) < MIN_KEY_BYTES:
            raise ConfigError(f"CRMSYNC_LINK_SIGNING_KEY must be at least {MIN_KEY_BYTES} bytes")
        if self.session_signing_key is not None:
            if len(self.session_signing_key) < MIN_KEY_BYTES:
                raise ConfigError(f"CRMSYNC_SESSION_KEY must be at least {MIN_KEY_BYTES} bytes")
            if hmac.compare_digest(self.session_signing_key, self.link_signing_key):
                raise ConfigError(
                    "CRMSYNC_SESSION_KEY must differ from CRMSYNC_LINK_SIGNING_KEY (the CRM holds the link key)"
                )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def required(self, name: str) -> str:
        value = (self.env.get(name) or "").strip()
        if not value:
            raise ConfigError(f"{name} is not set; see README 'Configuration'")
        return value

    def url(self, name: str, default: str | None = None) -> str:
        raw = (self.env.get(name) or "").strip()
        if not raw:
            if default is None:
                raise ConfigError(f"{name} is not set; expected a URL like https://sync.example.com")
            return default
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(f"{name} must be an absolute http(s) URL without query or fragment, got {raw!r}")
        return raw.rstrip("/")

    def key(self, name: str) -> bytes:
        value = self.required(name).encode("utf-8")
        if len(value) < MIN_KEY_BYTES:
            raise ConfigError(
                f"{name} is {len(value)} bytes; use at least {MIN_KEY_BYTES} random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str, *, upper: bool = False) -> str:
        value = (self.env.get(name) or "").strip() or default
        value = value.upper() if upper else value
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value
