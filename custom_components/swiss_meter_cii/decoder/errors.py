"""Error kinds the decoder reports; one exception type so callers catch exactly ours."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """Why a frame or push was rejected (also the `error` field of `scripts/decode`)."""

    CHECKSUM = "checksum"  # HDLC HCS/FCS or M-Bus checksum wrong
    FRAMING = "framing"  # bytes that are no frame, a broken segment or block sequence
    INCOMPLETE = "incomplete"  # a frame or push cut off (end of capture, stale buffer)
    MISSING_KEY = "missing_key"  # encrypted push but no encryption key configured
    WRONG_KEY = "wrong_key"  # the plaintext is not a valid APDU: the key is wrong
    AUTH_FAILED = "auth_failed"  # the GCM tag does not verify with the given GAK
    REPLAY = "replay"  # frame counter not above the last accepted one
    UNSUPPORTED_LAYOUT = "unsupported_layout"  # decoded fine, but the body layout is unknown
    MALFORMED = "malformed"  # an APDU or A-XDR structure that does not parse


class DecodeError(Exception):
    """Raised inside the decoder layers; the stream decoder turns it into an `ErrorEvent`.

    `detail` is a short human-readable reason. It must never contain key material.
    `structure` carries the decoded body for `unsupported_layout` (for diagnostics).
    """

    def __init__(self, kind: ErrorKind, detail: str, *, structure: Any = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.structure = structure
