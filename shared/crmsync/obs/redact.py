"""Masks secrets (registered values and well-known token shapes) in log text and fields.

Only values this deployment issued or verified are registered (its configured keys, the states,
verifiers and session cookies it made, the tokens Google gave it). A value someone merely presents
(a bearer header, a cookie, a link token, an OAuth state) is never registered: it is masked by its
shape instead, so no caller can make the redactor blank arbitrary log text, and no flood of issued
values can push the configured secrets out of the registry (those are pinned).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

MASK = "[REDACTED]"
# Values shorter than this are not registered: masking every "abc" in every line helps no one.
MIN_SECRET_LENGTH = 8
_MAX_REGISTERED = 10_000

_SECRET_KEY_NAMES = (
    "refresh_token|access_token|id_token|client_secret|code_verifier|password|authorization|secret|api_key"
)
_SECRET_KEY = re.compile(rf"^(?:{_SECRET_KEY_NAMES}|token|code|state|t|cookie|set-cookie)$", re.IGNORECASE)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON or Python-repr fields: "refresh_token": "..." / 'client_secret': '...'
    (re.compile(rf"""(["'](?:{_SECRET_KEY_NAMES})["']\s*:\s*["'])[^"']*""", re.IGNORECASE), rf"\g<1>{MASK}"),
    # Authorization headers and the like.
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\g<1> {MASK}"),
    # Cookie headers, whatever they carry.
    (re.compile(r"\b((?:Set-)?Cookie:\s*)[^\r\n]+", re.IGNORECASE), rf"\g<1>{MASK}"),
    # Query or form parameters (and cookies) carrying codes, link tokens, state, sessions or tokens.
    (
        re.compile(
            rf"(?<![A-Za-z0-9_.-])((?:code|t|state|token|(?:__Host-)?crmsync_session|{_SECRET_KEY_NAMES})=)"
            r"[^&\s#\"',;]+",
            re.IGNORECASE,
        ),
        rf"\g<1>{MASK}",
    ),
    # Our session cookie values (s1.<payload>.<mac>) and Google authorization codes (4/0A...).
    (re.compile(r"(?<![A-Za-z0-9_.-])s1\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), MASK),
    (re.compile(r"(?<![A-Za-z0-9])4/0[0-9A-Za-z_-]{10,}"), MASK),
    # Google access tokens, refresh tokens and any JWT (id tokens, signed links).
    (re.compile(r"\bya29\.[0-9A-Za-z_.~+/-]+"), MASK),
    (re.compile(r"(?<![A-Za-z0-9])1//[0-9A-Za-z_.~+/-]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"), MASK),
)


class Redactor:
    """Replaces registered secret values and token-shaped substrings with a mask."""

    def __init__(self) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()  # issued per request: the oldest go first
        self._pinned: set[str] = set()  # configured secrets: never forgotten
        self._lock = threading.Lock()

    def register(self, value: str | bytes | None, *, pinned: bool = False) -> None:
        """Remember a value this deployment issued or verified, so it is masked wherever it appears later.
        ``pinned`` (configured keys and secrets) are kept however many other values are registered.
        Never register a value a caller merely presented: its shape must mask it (see _PATTERNS)."""
        if value is None:
            return
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if len(text) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if pinned:
                self._pinned.add(text)
                return
            if text in self._pinned:
                return
            self._values[text] = None
            self._values.move_to_end(text)
            while len(self._values) > _MAX_REGISTERED:
                self._values.popitem(last=False)

    def clear(self) -> None:
        """Forget all registered values (pinned ones too)."""
        with self._lock:
            self._values.clear()
            self._pinned.clear()

    def text(self, text: str) -> str:
        """Return the text with every known secret masked."""
        with self._lock:
            values = sorted(self._pinned.union(self._values), key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any, key: str | None = None) -> Any:
        """Return a JSON-ready copy of a field value with secrets masked (by key name or content)."""
        if key is not None and _SECRET_KEY.match(key) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, Mapping):
            return {str(k): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        return self.text(str(value))
