"""Sizing an APDU that no checksummed link layer delimits (IP wrapper, LLC only, bare).

A ciphered APDU or a GBT block has a BER length. A bare Data-Notification has none: it ends
where its A-XDR body ends (docs/protocol.md, "Sizing bare Data-Notifications").
"""

from __future__ import annotations

from .apdu import DATA_NOTIFICATION, parse_data_notification, parse_header_time
from .assembly import GENERAL_BLOCK_TRANSFER
from .axdr import TruncatedError, read_length
from .axdr_sizer import ValueSizer
from .descriptors import descriptor_list_size
from .errors import DecodeError
from .framing_base import NEED, NO
from .security import CIPHERED_TAGS, ciphered_size

APDU_TAGS = frozenset((DATA_NOTIFICATION, GENERAL_BLOCK_TRANSFER, *CIPHERED_TAGS))


def apdu_size(buf: bytearray, start: int) -> tuple[int, int]:
    """Size of the APDU at `start` (DB/DC, 0F, E0) -> (size or NEED/NO, bytes needed).

    A Data-Notification is parsed whole: callers with a length field to compare need this
    once; a bare one is walked by ApduSizer instead.
    """
    n = len(buf)
    if start >= n:
        return NEED, start + 1
    tag = buf[start]
    try:
        if tag in CIPHERED_TAGS:
            size = ciphered_size(buf, start)
        elif tag == DATA_NOTIFICATION:
            _, end = parse_data_notification(bytes(buf), start)
            size = end - start
        elif tag == GENERAL_BLOCK_TRANSFER:
            if start + 6 > n:
                return NEED, start + 6
            length, data = read_length(buf, start + 6)
            size = data - start + length
        else:
            return NO, 0
    except TruncatedError as err:
        return NEED, err.needed
    except DecodeError:
        return NO, 0
    return size, start + size


class ApduSizer:
    """Sizes the APDU `header` bytes into a candidate (LLC only: 3, bare: 0).

    A Data-Notification is walked by an A-XDR ValueSizer that keeps its place between reads
    (keyed by the stream offset of the candidate), so a push that trickles in is walked once.
    """

    __slots__ = ("_header", "_walk")

    def __init__(self, header: int) -> None:
        """Size APDUs that start `header` bytes after the candidate's first byte."""
        self._header = header
        # The Data-Notification being walked: (stream offset, body offset from its tag, walker).
        self._walk: tuple[int, int, ValueSizer] | None = None

    def __call__(self, buf: bytearray, p: int, base: int, limit: int) -> tuple[int, int]:
        """Frame size of the candidate at `p` -> (size or NEED/NO, bytes needed)."""
        start = p + self._header
        if start < len(buf) and buf[start] == DATA_NOTIFICATION:
            inner, need = self._notification_size(buf, start, base + start)
        else:
            inner, need = apdu_size(buf, start)
        if inner < 0:
            return inner, need
        return inner + start - p, start + inner

    def _notification_size(self, buf: bytearray, start: int, key: int) -> tuple[int, int]:
        """Size of a bare Data-Notification -> (size or NEED/NO, bytes needed)."""
        walk = self._walk
        try:
            if walk is None or walk[0] != key:
                walk = None  # a header that fails is no push, whatever was walked before
                if start + 5 > len(buf):
                    return NEED, start + 5
                _, body = parse_header_time(buf, start + 5)
                walk = self._walk = (key, body - start, ValueSizer())
            size = walk[2].scan(buf, start + walk[1])
        except TruncatedError as err:
            return NEED, err.needed
        except DecodeError:
            self._walk = None
            return _descriptor_list_size(buf, start, walk)
        if size is None:
            return NEED, start + walk[1] + walk[2].offset + 1
        self._walk = None
        size += walk[1]
        return size, start + size


def _descriptor_list_size(
    buf: bytearray, start: int, walk: tuple[int, int, ValueSizer] | None
) -> tuple[int, int]:
    """Size a body that is no A-XDR value: a descriptor list (descriptors.py) or no push.

    Such a body is walked from its start again for every chunk; XT211 pushes are a few
    hundred bytes once a minute.
    """
    if walk is None:
        return NO, 0
    body = start + walk[1]
    try:
        size = descriptor_list_size(buf, body)
    except TruncatedError as err:
        return NEED, err.needed
    except DecodeError:
        return NO, 0
    return size + walk[1], body + size
