"""Build google-api-python-client services for real Google or a local emulator.

Real Google by default; with ``base_url`` every request (batch ones included)
goes to that server instead, with Google's real paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest, HttpRequest

from .selections import SelectingRequest

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_TIMEOUT = 60.0
_APIS = {"people": "v1", "calendar": "v3", "tasks": "v1"}
_BATCH_PATHS = {"people": "/batch", "tasks": "/batch", "calendar": "/batch/calendar/v3"}
_GOOGLE_BATCH = {
    "people": "https://people.googleapis.com/batch",
    "tasks": "https://tasks.googleapis.com/batch",
    "calendar": "https://www.googleapis.com/batch/calendar/v3",
}


@dataclass(frozen=True)
class Endpoint:
    """Where Google is: real Google (``base_url`` None) or an emulator's base URL."""

    base_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT  # seconds per HTTP request

    def __post_init__(self) -> None:
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")

    @property
    def token_uri(self) -> str:
        """The OAuth token endpoint."""
        return self.base_url.rstrip("/") + "/token" if self.base_url else GOOGLE_TOKEN_URI

    def api_endpoint(self, api: str) -> str | None:
        """``client_options.api_endpoint`` for ``api`` (Calendar needs its service path too)."""
        if self.base_url is None:
            return None
        base = self.base_url.rstrip("/")
        return base + "/calendar/v3/" if api == "calendar" else base

    def batch_uri(self, api: str) -> str:
        """The HTTP batch endpoint of ``api`` (``new_batch_http_request`` ignores api_endpoint)."""
        _check_api(api)
        if self.base_url is None:
            return _GOOGLE_BATCH[api]
        return self.base_url.rstrip("/") + _BATCH_PATHS[api]


def _check_api(api: str) -> None:
    if api not in _APIS:
        raise ValueError(f"unknown Google API {api!r}; expected one of {', '.join(sorted(_APIS))}")


def user_credentials(
    *,
    refresh_token: str,
    client_id: str,
    client_secret: str,
    scopes: Iterable[str],
    endpoint: Endpoint = Endpoint(),
    access_token: str | None = None,
) -> Credentials:
    """OAuth user credentials that refresh against the endpoint's token URI."""
    return Credentials(  # type: ignore[no-untyped-call]
        token=access_token,
        refresh_token=refresh_token,
        token_uri=endpoint.token_uri,
        client_id=client_id,
        client_secret=client_secret,
        scopes=sorted(scopes),
    )


def authorized_http(credentials: Any, endpoint: Endpoint = Endpoint()) -> google_auth_httplib2.AuthorizedHttp:
    """An HTTP client that adds the access token (refreshing on 401) and times out after ``endpoint.timeout``."""
    return google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=endpoint.timeout))


def build_service(api: str, credentials: Any, endpoint: Endpoint = Endpoint(), *, select_fields: bool = True) -> Any:
    """A service for ``api`` ("people", "calendar" or "tasks") from the bundled discovery document;
    every request it builds asks only for the fields crmsync reads (``selections.FIELDS``), unless
    ``select_fields`` is off (benchmarks measure what the selection saves)."""
    _check_api(api)
    options = {"api_endpoint": ep} if (ep := endpoint.api_endpoint(api)) else None
    return build(
        api,
        _APIS[api],
        http=authorized_http(credentials, endpoint),
        static_discovery=True,
        cache_discovery=False,
        client_options=options,
        requestBuilder=SelectingRequest if select_fields else HttpRequest,
    )


def new_batch(
    api: str, endpoint: Endpoint = Endpoint(), callback: Callable[..., None] | None = None
) -> BatchHttpRequest:
    """An HTTP batch request aimed at the right batch endpoint for ``api``."""
    return BatchHttpRequest(callback=callback, batch_uri=endpoint.batch_uri(api))
