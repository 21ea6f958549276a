"""Sans-IO decoder for DLMS/COSEM pushes of Swiss and Austrian smart meters.

Pure Python, needs only `cryptography`; no Home Assistant imports, so `scripts/decode`
runs it on any Python 3.13.
"""

from __future__ import annotations

from .errors import DecodeError, ErrorKind
from .keys import parse_key
from .layouts import LayoutDecoder, LayoutResult
from .models import AUTO, MODEL_IDS, MODELS
from .push import ErrorEvent, Push, Reading, Security
from .stream import DecoderStats, StreamDecoder, decode_capture

__all__ = [
    "AUTO",
    "MODELS",
    "MODEL_IDS",
    "DecodeError",
    "DecoderStats",
    "ErrorEvent",
    "ErrorKind",
    "LayoutDecoder",
    "LayoutResult",
    "Push",
    "Reading",
    "Security",
    "StreamDecoder",
    "decode_capture",
    "parse_key",
]
