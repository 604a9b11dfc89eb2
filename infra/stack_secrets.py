"""The local stack's keys: made once per local folder and kept in files only this user can read."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def local_secrets(local: Path) -> dict[str, str]:
    """Keys of the local deployment, made once and kept in ``local``/secrets.json (0600)."""
    path = local / "secrets.json"
    if path.exists():
        values = dict(json.loads(path.read_text()))
        missing = {"session_key", "webhook_secret"} - set(values)
        if missing:  # made by an older version: add the keys it did not have, each its own secret
            values.update({name: secrets.token_urlsafe(48) for name in missing})
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(values, out)
            tmp.replace(path)
        return values
    values = {
        "link_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "session_key": secrets.token_urlsafe(48),
        "webhook_secret": secrets.token_urlsafe(48),
        "admin_key": secrets.token_urlsafe(32),
        "crm_key": secrets.token_urlsafe(24),
        "internal": secrets.token_urlsafe(24),
        "client_secret": secrets.token_urlsafe(24),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(values, out)
    return values


def write_private(path: Path, text: str) -> None:
    """Write a file that holds keys: readable by this user only (0600) from the first byte, replaced atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older tmp file may have been created with other bits
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)
