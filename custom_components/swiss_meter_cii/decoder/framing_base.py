"""What one link framing declares so that the FrameHunter can find it in a byte stream.

The hunter (framing.py) owns the buffer, garbage reports and the trust between framings; a
framing only answers questions about bytes at a position. framing.FRAMINGS lists them
(docs/architecture.md, "Framing registry"; docs/protocol.md, "Finding frames in a byte
stream").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .assembly import LinkFrame
from .errors import DecodeError, ErrorKind

NEED: Final = -1  # sizer answer: more bytes are needed to tell
NO: Final = -2  # sizer answer: no frame of this framing starts here

# (buffer, index of a marker byte, buffer length) -> whether a frame may start there.
# Bytes not received yet count as matching: the sizer decides once they are here.
type Candidate = Callable[[bytearray, int, int], bool]

# (buffer, p, base, limit) -> (size, or NEED / NO; for NEED the index the buffer must reach
# before asking again). `base` is the stream offset of buffer[0]: state is keyed by stream
# offsets, which stay put when the hunter drops bytes. `limit` is the longest frame the hunter
# keeps. A size beyond the buffered bytes means the frame is complete at p + size.
type Sizer = Callable[[bytearray, int, int, int], tuple[int, int]]


def stateless(size: Sizer) -> Callable[[], Sizer]:
    """Sizer factory for a framing that sizes every candidate from its header alone."""
    return lambda: size


@dataclass(frozen=True, slots=True)
class Checksum:
    """How a checksummed framing proves a frame valid without decoding it.

    The hunter uses it to trust checksummed frames over checksum-less ones: a valid one inside
    or after a checksum-less candidate proves that candidate false.
    """

    header_size: Callable[[bytearray, int], int]  # size from a verified header, NEED or NO
    valid: Callable[[bytes], bool]  # checksums of the complete frame


@dataclass(frozen=True, slots=True, eq=False)
class Framing:
    """One link framing: how its frames start, are sized and parsed (framing_*.py)."""

    kind: str  # its name, RawApdu.kind for checksum-less framings
    markers: bytes  # every byte a frame can start with; no two framings share one
    candidate: Candidate  # the header check that makes a marker byte a candidate
    new_sizer: Callable[[], Sizer]  # the sizing state one hunter keeps for this framing
    parse: Callable[[bytes], LinkFrame]  # complete bytes -> frame; DecodeError if bad
    checksum: Checksum | None = None  # None: nothing proves a frame of this framing valid
    # Checksum-less but never the payload of a checksummed frame (DSMR text): still looked
    # for once the link has shown HDLC or M-Bus frames.
    standalone: bool = False
    filler: bytes = b""  # bytes that may follow one of its frames without being garbage
    flag: int | None = None  # a closing byte that may open the next frame (HDLC 7E); idle fill
    not_a_frame: tuple[type[DecodeError], ...] = ()  # parse errors: no header, one byte skipped
    skip_whole: ErrorKind | None = None  # parse error of a valid frame: reported, skipped whole
