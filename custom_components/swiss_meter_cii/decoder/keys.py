"""Parse user-entered AES keys (GUEK / GAK) without ever echoing them."""

from __future__ import annotations

import re

KEY_BYTES = 16
_SEPARATORS = re.compile(r"[\s:\-]+")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_key(text: str) -> bytes:
    """Turn 32 hex digits (spaces, colons, dashes and any case allowed) into 16 key bytes.

    Raises ValueError with a message that says what is wrong; the message never
    contains the key or any part of it, because it ends up in logs and the UI.
    """
    if not isinstance(text, str):
        raise TypeError("key must be given as text")
    compact = _SEPARATORS.sub("", text)
    if text.strip().lower().startswith("0x"):
        raise ValueError("remove the '0x' prefix: the key is 32 hex digits")
    bad = sum(1 for ch in compact if ch not in _HEX_DIGITS)
    if not compact:
        raise ValueError("the key is empty: expected 32 hex digits")
    if bad:
        what = "1 character is" if bad == 1 else f"{bad} characters are"
        hint = ""
        if len(compact) == KEY_BYTES:
            hint = " (a 16-character text key must be entered as its 32 hex digits)"
        raise ValueError(f"{what} not hex digits (0-9, A-F); expected 32 hex digits{hint}")
    if len(compact) != 2 * KEY_BYTES:
        raise ValueError(f"{len(compact)} hex digits, expected {2 * KEY_BYTES}")
    return bytes.fromhex(compact)
