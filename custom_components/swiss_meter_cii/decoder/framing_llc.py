"""LLC only (docs/protocol.md, "DLMS/IP wrapper and bare APDUs"): `E6 E7 00` and an APDU.

No HDLC around it and no checksum; the APDU is sized from its own header or body.
"""

from __future__ import annotations

from .assembly import LLC_COMMAND, LLC_RESPONSE, LinkFrame, RawApdu
from .framing_apdus import APDU_TAGS, ApduSizer
from .framing_base import Framing

KIND = "llc"
_LLC = len(LLC_RESPONSE)


def _candidate(buf: bytearray, i: int, n: int) -> bool:
    """`E6 E7 00` (or `E6 E6 00`) + an APDU tag."""
    head = bytes(buf[i : i + _LLC])
    if not (LLC_RESPONSE.startswith(head) or LLC_COMMAND.startswith(head)):
        return False
    return i + _LLC >= n or buf[i + _LLC] in APDU_TAGS


def _parse(raw: bytes) -> LinkFrame:
    """Hand on the APDU behind the LLC header."""
    return RawApdu(KIND, raw[_LLC:], raw)


FRAMING = Framing(
    kind=KIND,
    markers=LLC_RESPONSE[:1],
    candidate=_candidate,
    new_sizer=lambda: ApduSizer(_LLC),
    parse=_parse,
)
