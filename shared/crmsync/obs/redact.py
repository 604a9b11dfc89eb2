"""Masks secrets (registered values and well-known token shapes) in log text and fields."""

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
    # Query or form parameters carrying codes, link tokens, state or tokens.
    (
        re.compile(rf"(?<![A-Za-z0-9_.-])((?:code|t|state|token|{_SECRET_KEY_NAMES})=)[^&\s#\"',;]+", re.IGNORECASE),
        rf"\g<1>{MASK}",
    ),
    # Google access tokens, refresh tokens and any JWT (id tokens, signed links).
    (re.compile(r"\bya29\.[0-9A-Za-z_.~+/-]+"), MASK),
    (re.compile(r"(?<![A-Za-z0-9])1//[0-9A-Za-z_.~+/-]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"), MASK),
)


class Redactor:
    """Replaces registered secret values and token-shaped substrings with a mask."""

    def __init__(self) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def register(self, value: str | bytes | None) -> None:
        """Remember a secret value so it is masked wherever it appears later."""
        if value is None:
            return
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if len(text) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._values[text] = None
            self._values.move_to_end(text)
            while len(self._values) > _MAX_REGISTERED:
                self._values.popitem(last=False)

    def clear(self) -> None:
        """Forget all registered values."""
        with self._lock:
            self._values.clear()

    def text(self, text: str) -> str:
        """Return the text with every known secret masked."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
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
