"""The google-auth-oauthlib Flow for our OAuth client, aimed at Google or the emulator."""

from __future__ import annotations

import os
from typing import Any

from crmsync.config import Config


def make_flow(config: Config, scopes: list[str], state: str | None = None) -> Any:
    """A web-server Flow with our client and redirect URI (PKCE verifier set by the caller)."""
    # Import here: google_auth_oauthlib pulls in requests-oauthlib, which cold starts need not pay for.
    from google_auth_oauthlib.flow import Flow

    # Partial grants are normal (the user unticks a box); oauthlib must not raise on a narrower scope.
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    if config.is_local:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on loopback only (Config.is_local)
    oauth = config.oauth_client()
    client = {
        "web": {
            "client_id": oauth.client_id,
            "client_secret": oauth.client_secret,
            "auth_uri": config.google_auth_uri,
            "token_uri": config.google_token_uri,
            "redirect_uris": [config.redirect_uri],
        }
    }
    return Flow.from_client_config(
        client, scopes=scopes, redirect_uri=config.redirect_uri, state=state, autogenerate_code_verifier=False
    )
