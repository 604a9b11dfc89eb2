"""A Google Calendar push channel crmsync keeps open on one read calendar of one connection."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

CHANNEL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Google: at most 64 characters; ours are a safe subset
TOKEN_MAX = 256  # Google keeps channel tokens up to 256 characters


def token_hash(token: str) -> str:
    """How a channel token is stored: its SHA-256 (a stolen copy of the store cannot forge notifications)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WatchChannel(BaseModel):
    """One open ``events.watch`` channel. Stored at watch_channels/{id}; the token itself is never stored."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=CHANNEL_ID.pattern, max_length=64)
    connection_id: str
    calendar_id: str
    resource_id: str
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    expires_at: datetime
    created_at: datetime
    last_message: int = Field(default=0, ge=0)  # the highest X-Goog-Message-Number accepted
    last_message_at: datetime | None = None
    # A poll found Google changes no message announced: the next events run replaces this channel.
    suspect: bool = False

    def token_matches(self, token: str) -> bool:
        """Whether ``token`` is this channel's token (constant time)."""
        return hmac.compare_digest(token_hash(token), self.token_sha256)
