"""Typed configuration from CRMSYNC_* environment variables; fails fast naming the variable."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeVar
from urllib.parse import urlsplit

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_USERINFO_URI = "https://openidconnect.googleapis.com/v1/userinfo"
MIN_KEY_BYTES = 32
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")
VaultKind = Literal["secret_manager", "envelope", "local_file"]
StoreKind = Literal["firestore", "memory"]


class ConfigError(ValueError):
    """A configuration variable is missing or invalid; the message names it."""


class Function(StrEnum):
    """The deployed functions; each reads only the configuration it needs."""

    WEB = "web"
    FANOUT = "fanout"
    WORKER = "worker"


OAUTH_CLIENT_ID = "CRMSYNC_OAUTH_CLIENT_ID"
OAUTH_CLIENT_SECRET = "CRMSYNC_OAUTH_CLIENT_SECRET"
LINK_SIGNING_KEY = "CRMSYNC_LINK_SIGNING_KEY"
SESSION_KEY = "CRMSYNC_SESSION_KEY"
ADMIN_API_KEY = "CRMSYNC_ADMIN_API_KEY"
CRM_BASE_URL = "CRMSYNC_CRM_BASE_URL"
CRM_API_KEY = "CRMSYNC_CRM_API_KEY"
# Verifies the CRM's change notifications (POST /crm/changes). Optional: without it the route refuses
# every call (terraform/secrets.tf always gives it to the web function).
CRM_WEBHOOK_SECRET = "CRMSYNC_CRM_WEBHOOK_SECRET"
# What each function reads beyond the common variables. terraform/secrets.tf gives each function
# exactly these secrets (tests/integration/terraform/test_deploy_environment.py builds every
# function from the HCL's variables): the fan-out holds no secret, the worker no web key.
NEEDS: dict[Function, frozenset[str]] = {
    Function.WEB: frozenset(
        {
            OAUTH_CLIENT_ID,
            OAUTH_CLIENT_SECRET,
            LINK_SIGNING_KEY,
            SESSION_KEY,
            ADMIN_API_KEY,
            CRM_BASE_URL,
            CRM_API_KEY,
        }
    ),
    Function.WORKER: frozenset({OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, CRM_BASE_URL, CRM_API_KEY}),
    Function.FANOUT: frozenset(),
}
# Read when set, and then checked like the others (terraform/secrets.tf gives them too): the web function
# verifies the CRM's change notifications with the webhook secret; the worker mints the settings link it
# puts in a notification to the CRM with the link key (without it, the CRM mints one at click time).
OPTIONAL: dict[Function, frozenset[str]] = {
    Function.WEB: frozenset({CRM_WEBHOOK_SECRET}),
    Function.WORKER: frozenset({LINK_SIGNING_KEY}),
    Function.FANOUT: frozenset(),
}


@dataclass(frozen=True)
class OAuthClient:
    """The Google OAuth web client crmsync authenticates as."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class CrmAccess:
    """Where the CRM Sync API is and the key to call it with."""

    base_url: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class Config:
    """Everything the functions read from the environment.

    The secrets are None in a function that does not read them (``NEEDS``); the accessors
    (``oauth_client()``, ``crm_access()``, ``link_key()``, ``admin_key()``) raise ConfigError
    naming the variable if code in the wrong function asks for one.
    """

    base_url: str
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)
    link_signing_key: bytes | None = field(default=None, repr=False)
    admin_api_key: str | None = field(default=None, repr=False)
    crm_base_url: str | None = None
    crm_api_key: str | None = field(default=None, repr=False)
    google_auth_uri: str = GOOGLE_AUTH_URI
    google_token_uri: str = GOOGLE_TOKEN_URI
    google_revoke_uri: str = GOOGLE_REVOKE_URI
    google_api_base: str | None = None  # None: real Google APIs
    vault: VaultKind = "envelope"  # tokens sealed in Firestore under one data key (docs/deploy.md, "Token vault")
    local_vault_path: str | None = None
    store: StoreKind = "firestore"
    project: str | None = None
    secret_prefix: str = "crmsync-rt-"
    data_key_secret: str | None = None  # envelope vault: the Secret Manager secret holding the data keys
    internal_secret: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    # Signs session cookies. Its own secret (CRMSYNC_SESSION_KEY), never derived from the link key:
    # the CRM holds the link key, and must not be able to forge sessions with it. Only the web function needs it.
    session_signing_key: bytes | None = field(default=None, repr=False)
    function: Function = Function.WEB
    # Google Calendar push: the worker keeps a watch channel per read calendar delivering to
    # {base_url}/push/calendar (CRMSYNC_CALENDAR_PUSH=on; off: events are polled like the other kinds).
    calendar_push: bool = False
    push_debounce_seconds: float = 5.0  # CRMSYNC_PUSH_DEBOUNCE_SECONDS: one run per connection per window
    crm_webhook_secret: bytes | None = field(default=None, repr=False)  # None: change notifications refused

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

    def oauth_client(self) -> OAuthClient:
        """The OAuth client (web and worker)."""
        return OAuthClient(
            self._need(self.oauth_client_id, OAUTH_CLIENT_ID), self._need(self.oauth_client_secret, OAUTH_CLIENT_SECRET)
        )

    def crm_access(self) -> CrmAccess:
        """The CRM Sync API and its key (web and worker)."""
        return CrmAccess(self._need(self.crm_base_url, CRM_BASE_URL), self._need(self.crm_api_key, CRM_API_KEY))

    def link_key(self) -> bytes:
        """The connect-link signing key (web only)."""
        return self._need(self.link_signing_key, LINK_SIGNING_KEY)

    def admin_key(self) -> str:
        """The admin API key (web only)."""
        return self._need(self.admin_api_key, ADMIN_API_KEY)

    def _need(self, value: T | None, variable: str) -> T:
        if value is None:
            raise ConfigError(f"{variable} is not configured for the {self.function} function (see config.NEEDS)")
        return value

    def secrets(self) -> list[str]:
        """Every secret value in the configuration (registered with the log redactor)."""
        values = [self.oauth_client_secret, self.admin_api_key, self.crm_api_key, self.internal_secret]
        if self.link_signing_key is not None:
            values.append(self.link_signing_key.decode("utf-8", "replace"))
        if self.session_signing_key:
            values.append(self.session_signing_key.decode("utf-8", "replace"))
        if self.crm_webhook_secret:
            values.append(self.crm_webhook_secret.decode("utf-8", "replace"))
        return [v for v in values if v]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, function: Function = Function.WEB) -> Config:
        """Read and validate the CRMSYNC_* variables ``function`` uses; raise ConfigError naming the first bad one.

        Variables the function does not need are not read at all, even when set.
        """
        env = os.environ if env is None else env
        reader = _Reader(env)
        needs = NEEDS[function]

        def opt(name: str, read: Callable[[str], T]) -> T | None:
            if name in OPTIONAL[function]:
                return read(name) if (env.get(name) or "").strip() else None
            return read(name) if name in needs else None

        link_key = opt(LINK_SIGNING_KEY, reader.key)
        admin_key = opt(ADMIN_API_KEY, reader.key)
        config = cls(
            base_url=reader.url("CRMSYNC_BASE_URL"),
            oauth_client_id=opt(OAUTH_CLIENT_ID, reader.required),
            oauth_client_secret=opt(OAUTH_CLIENT_SECRET, reader.required),
            link_signing_key=link_key,
            admin_api_key=admin_key.decode() if admin_key is not None else None,
            crm_base_url=opt(CRM_BASE_URL, reader.url),
            crm_api_key=opt(CRM_API_KEY, reader.required),
            google_auth_uri=reader.url("CRMSYNC_GOOGLE_AUTH_URI", GOOGLE_AUTH_URI),
            google_token_uri=reader.url("CRMSYNC_GOOGLE_TOKEN_URI", GOOGLE_TOKEN_URI),
            google_revoke_uri=reader.url("CRMSYNC_GOOGLE_REVOKE_URI", GOOGLE_REVOKE_URI),
            google_api_base=reader.url("CRMSYNC_GOOGLE_API_BASE", "") or None,
            vault=reader.choice("CRMSYNC_VAULT", ("secret_manager", "envelope", "local_file"), "envelope"),  # type: ignore[arg-type]
            local_vault_path=env.get("CRMSYNC_LOCAL_VAULT_PATH") or None,
            store=reader.choice("CRMSYNC_STORE", ("firestore", "memory"), "firestore"),  # type: ignore[arg-type]
            project=env.get("CRMSYNC_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT") or None,
            secret_prefix=env.get("CRMSYNC_SECRET_PREFIX") or "crmsync-rt-",
            data_key_secret=(env.get("CRMSYNC_DATA_KEY_SECRET") or "").strip() or None,
            internal_secret=env.get("CRMSYNC_INTERNAL_SECRET") or None,
            log_level=reader.choice("CRMSYNC_LOG_LEVEL", _LEVELS, "INFO", upper=True),
            session_signing_key=opt(SESSION_KEY, reader.key),
            function=function,
            calendar_push=reader.choice("CRMSYNC_CALENDAR_PUSH", ("on", "off"), "off") == "on",
            push_debounce_seconds=reader.seconds("CRMSYNC_PUSH_DEBOUNCE_SECONDS", 5.0, low=1.0, high=300.0),
            crm_webhook_secret=opt(CRM_WEBHOOK_SECRET, reader.key),
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
        if self.vault == "envelope" and self.function is not Function.FANOUT and not self.data_key_secret:
            raise ConfigError(
                "CRMSYNC_DATA_KEY_SECRET (the data-key secret id, e.g. crmsync-data-key) is required with "
                "CRMSYNC_VAULT=envelope, the default (CRMSYNC_VAULT=secret_manager keeps one secret per connection)"
            )
        if not self.is_local and urlsplit(self.base_url).scheme != "https":
            raise ConfigError(f"CRMSYNC_BASE_URL must be https:// (plain http only on localhost), got {self.base_url}")
        if self.link_signing_key is not None and len(self.link_signing_key) < MIN_KEY_BYTES:
            raise ConfigError(f"CRMSYNC_LINK_SIGNING_KEY must be at least {MIN_KEY_BYTES} bytes")
        if self.session_signing_key is not None:
            if len(self.session_signing_key) < MIN_KEY_BYTES:
                raise ConfigError(f"CRMSYNC_SESSION_KEY must be at least {MIN_KEY_BYTES} bytes")
            if self.link_signing_key is not None and hmac.compare_digest(
                self.session_signing_key, self.link_signing_key
            ):
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

    def seconds(self, name: str, default: float, *, low: float, high: float) -> float:
        raw = (self.env.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be from {low:g} to {high:g} seconds, got {raw}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str, *, upper: bool = False) -> str:
        value = (self.env.get(name) or "").strip() or default
        value = value.upper() if upper else value
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value
