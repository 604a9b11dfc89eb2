"""Token vault backed by Secret Manager: one secret per connection, one live version."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import google.auth.exceptions
import requests
from google.api_core import exceptions as gexc
from google.cloud import secretmanager

from crmsync.obs.logging import redact
from crmsync.vault.crc32c import crc32c
from crmsync.vault.port import TokenNotFound, VaultError, VaultUnavailable, check_connection_id, check_token

DEFAULT_PREFIX = "crmsync-token-"
LABELS = {"app": "crmsync"}
_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.BadGateway,
    gexc.GatewayTimeout,
    gexc.RetryError,
    gexc.Aborted,
)


#: Everything a Secret Manager call can raise that we translate (REST transport errors are raw requests errors).
CALL_ERRORS = (gexc.GoogleAPIError, google.auth.exceptions.GoogleAuthError, requests.RequestException)


def vault_error(err: Exception, what: str) -> VaultError:
    """Map a Google API error to VaultUnavailable (transient) or VaultError (permanent)."""
    if isinstance(err, gexc.ResourceExhausted | gexc.TooManyRequests):
        return VaultUnavailable(f"{what}: Secret Manager quota exceeded (600 writes/min per project); retry later")
    if isinstance(err, (*_TRANSIENT, requests.RequestException, google.auth.exceptions.TransportError)):
        return VaultUnavailable(f"{what}: Secret Manager unavailable ({type(err).__name__}); retry later")
    if isinstance(err, google.auth.exceptions.GoogleAuthError):
        return VaultError(f"{what}: no usable Google credentials ({type(err).__name__})")
    if isinstance(err, gexc.PermissionDenied | gexc.Unauthenticated):
        return VaultError(
            f"{what}: permission denied; grant the service account roles/secretmanager.admin on the project"
        )
    return VaultError(
        f"{what}: Secret Manager refused the request ({type(err).__name__}: {getattr(err, 'message', '')})"
    )


def payload_of(response: secretmanager.AccessSecretVersionResponse, what: str) -> bytes:
    """Return the payload bytes after checking the CRC32C the server sent (when it sent one)."""
    payload = response.payload
    data = bytes(payload.data)
    if "data_crc32c" in payload and payload.data_crc32c != crc32c(data):
        raise VaultUnavailable(f"{what}: payload checksum mismatch (corrupted in transit); retry")
    return data


def version_number(version_name: str) -> int:
    """Return the number at the end of projects/P/secrets/S/versions/N."""
    return int(version_name.rsplit("/", 1)[-1])


class SecretManagerVault:
    """One secret `<prefix><connection id>` per connection; older versions are destroyed on each put."""

    def __init__(
        self,
        client: secretmanager.SecretManagerServiceClient,
        project: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        cache_ttl_seconds: float = 0.0,
        cache_size: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not project:
            raise VaultError("SecretManagerVault needs a Google Cloud project id")
        self._client = client
        self._project = project
        self._prefix = prefix
        self._ttl = cache_ttl_seconds
        self._cache_size = cache_size
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def secret_name(self, connection_id: str) -> str:
        """Return the full resource name of the connection's secret."""
        return f"projects/{self._project}/secrets/{self._prefix}{check_connection_id(connection_id)}"

    def put(self, connection_id: str, refresh_token: str) -> None:
        """Store the token as a new version unless it is already the live one, then destroy older versions."""
        data = check_token(refresh_token)
        name = self.secret_name(connection_id)
        try:
            if self._access(name) == data:
                self._remember(connection_id, refresh_token)
                return
        except TokenNotFound:
            self._create(name)
        try:
            added = self._add(name, data)
        except TokenNotFound:
            # Deleted between our read and write (a concurrent disconnect): recreate once.
            self._create(name)
            added = self._add(name, data)
        self._remember(connection_id, refresh_token)
        self._destroy_older(name, version_number(added.name))

    def get(self, connection_id: str) -> str:
        """Return the live token (from the warm-instance cache when enabled) or raise TokenNotFound."""
        name = self.secret_name(connection_id)
        cached = self._cached(connection_id)
        if cached is not None:
            return cached
        token = self._access(name).decode("utf-8")
        redact.register(token)
        self._remember(connection_id, token)
        return token

    def delete(self, connection_id: str) -> None:
        """Delete the secret with all its versions; a missing secret is fine."""
        name = self.secret_name(connection_id)
        with self._lock:
            self._cache.pop(connection_id, None)
        try:
            self._client.delete_secret(name=name)
        except gexc.NotFound:
            return
        except CALL_ERRORS as err:
            raise vault_error(err, f"deleting the token of connection {connection_id}") from err

    def _access(self, name: str) -> bytes:
        try:
            response = self._client.access_secret_version(name=f"{name}/versions/latest")
        except (gexc.NotFound, gexc.FailedPrecondition) as err:
            # FailedPrecondition: the latest version is disabled or destroyed.
            raise TokenNotFound(f"no token stored in {name}") from err
        except CALL_ERRORS as err:
            raise vault_error(err, f"reading {name}") from err
        return payload_of(response, f"reading {name}")

    def _create(self, name: str) -> None:
        parent, secret_id = name.split("/secrets/")
        try:
            self._client.create_secret(
                request={
                    "parent": parent,
                    "secret_id": secret_id,
                    "secret": {"replication": {"automatic": {}}, "labels": LABELS},
                }
            )
        except gexc.Conflict:
            # gRPC AlreadyExists is a Conflict subclass; the REST transport and drongo say 409 Conflict.
            pass
        except CALL_ERRORS as err:
            raise vault_error(err, f"creating {name}") from err

    def _add(self, name: str, data: bytes) -> secretmanager.SecretVersion:
        try:
            return self._client.add_secret_version(
                request={"parent": name, "payload": {"data": data, "data_crc32c": crc32c(data)}}
            )
        except gexc.NotFound as err:
            raise TokenNotFound(f"secret {name} does not exist") from err
        except CALL_ERRORS as err:
            raise vault_error(err, f"adding a version to {name}") from err

    def _destroy_older(self, name: str, keep: int) -> None:
        # Only versions numbered below ours: a concurrent put's newer version must survive.
        try:
            versions = list(
                self._client.list_secret_versions(request={"parent": name, "filter": "NOT state:DESTROYED"})
            )
            for version in versions:
                state = secretmanager.SecretVersion.State
                if version.state in (state.ENABLED, state.DISABLED) and version_number(version.name) < keep:
                    self._client.destroy_secret_version(request={"name": version.name})
        except (gexc.NotFound, gexc.FailedPrecondition):
            return  # already gone: a concurrent put or delete got there first
        except CALL_ERRORS as err:
            raise vault_error(err, f"destroying old versions of {name}") from err

    def _cached(self, connection_id: str) -> str | None:
        if self._ttl <= 0:
            return None
        with self._lock:
            hit = self._cache.get(connection_id)
            if hit is None or hit[0] <= self._clock():
                self._cache.pop(connection_id, None)
                return None
            return hit[1]

    def _remember(self, connection_id: str, token: str) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._cache[connection_id] = (self._clock() + self._ttl, token)
            self._cache.move_to_end(connection_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
