"""Which Google OAuth scopes each kind needs, and which kinds a grant covers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from crmsync.model.kinds import KINDS, Kind

OPENID = "openid"
EMAIL = "https://www.googleapis.com/auth/userinfo.email"
IDENTITY_SCOPES = (OPENID, EMAIL)
KIND_SCOPES: dict[Kind, str] = {k: info.scope for k, info in KINDS.items()}
KIND_LABELS: dict[Kind, str] = {k: info.label for k, info in KINDS.items()}
_SHORT = {"email": EMAIL, "profile": "https://www.googleapis.com/auth/userinfo.profile"}


def scopes_for(kinds: Iterable[Kind]) -> list[str]:
    """The scopes to request for these kinds (identity scopes first)."""
    return [*IDENTITY_SCOPES, *(KIND_SCOPES[k] for k in Kind if k in set(kinds))]


def normalise(scopes: Iterable[str] | str) -> set[str]:
    """Scopes as full URLs ("email" becomes the userinfo.email URL)."""
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    return {_SHORT.get(s, s) for s in items}


def granted_kinds(scopes: Iterable[str] | str) -> set[Kind]:
    """The kinds whose scope is among the granted scopes."""
    have = normalise(scopes)
    return {k for k, s in KIND_SCOPES.items() if s in have}


def connection_id_for(crm_user_id: str) -> str:
    """The connection id of a CRM user: stable, so a reconnect updates the same connection."""
    return "c_" + hashlib.sha256(crm_user_id.encode("utf-8")).hexdigest()[:32]
