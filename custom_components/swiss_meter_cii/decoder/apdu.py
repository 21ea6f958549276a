"""xDLMS Data-Notification (tag 0x0F): the plaintext APDU every push ends up as."""

from __future__ import annotations

from dataclasses import dataclass
import struct
from typing import Any

from .axdr import ListMemo, TruncatedError, parse
from .descriptors import parse_descriptor_list
from .errors import DecodeError, ErrorKind
from .skeleton import Skeleton, compile_skeleton
from .values import CosemDate, CosemDateTime, CosemTime

DATA_NOTIFICATION = 0x0F
_U32 = struct.Struct(">I").unpack_from

type HeaderTime = CosemDateTime | CosemDate | CosemTime | None


@dataclass(slots=True)
class DataNotification:
    """A parsed Data-Notification: long-invoke-id-and-priority, date-time, body."""

    long_invoke_id: int
    date_time: HeaderTime
    body: Any

    @property
    def invoke_id(self) -> int:
        """Invoke-id: bits 0..23 of long-invoke-id-and-priority (bit 31 is the priority)."""
        return self.long_invoke_id & 0xFFFFFF


# After this many pushes in a row that did not fit the skeleton, none is compiled for
# SKELETON_PAUSE pushes (a meter whose layout changes every time).
SKELETON_MISSES = 3
SKELETON_PAUSE = 64


class NotificationMemo(ListMemo):
    """Per-connection memory of the last Data-Notification: its push object list and layout."""

    __slots__ = ("_misses", "_parsed", "_pause", "applied", "skeleton")

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.skeleton: Skeleton | None = None
        self.applied: Skeleton | None = None  # the skeleton that read the last notification
        self._parsed = 0  # notifications parsed in full
        self._misses = 0
        self._pause = 0

    def hit(self) -> None:
        """Note that the skeleton fitted."""
        self._misses = 0
        self.applied = self.skeleton

    def parsed(self, buf: bytes, pos: int, end: int) -> None:
        """Learn the layout of a notification parsed in full (unless it keeps changing)."""
        self.applied = None
        if self.skeleton is not None:
            self._misses += 1
            if self._misses >= SKELETON_MISSES:
                self._misses, self._pause, self.skeleton = 0, SKELETON_PAUSE, None
                return
        if self._pause:
            self._pause -= 1
            return
        self._parsed += 1
        if self._parsed >= 2:  # a one-shot decode (decode_capture) never pays for learning
            self.skeleton = compile_skeleton(buf[pos:end], end - pos)


def parse_header_time(buf: bytes, pos: int) -> tuple[HeaderTime, int]:
    """Parse the optional date-time: `00` absent, `0C`+12, `09 0C`+12, `19`+12, 4/5 bytes.

    The standard form is an octet string without type tag (length byte, then bytes);
    meters in the field also send it with the octet-string (0x09) or date-time (0x19)
    type tag.
    """
    n = len(buf)
    if pos >= n:
        raise TruncatedError(pos + 1)
    first = buf[pos]
    if first == 0x19:
        size, pos = 12, pos + 1
    elif first == 0x09:
        if pos + 1 >= n:
            raise TruncatedError(pos + 2)
        size, pos = buf[pos + 1], pos + 2
    else:
        size, pos = first, pos + 1
    if size == 0:
        return None, pos
    if size not in (4, 5, 12):
        raise DecodeError(ErrorKind.MALFORMED, f"date-time of {size} bytes in Data-Notification")
    end = pos + size
    if end > n:
        raise TruncatedError(end)
    raw = buf[pos:end]
    if size == 12:
        return CosemDateTime.from_bytes(raw), end
    if size == 5:
        return CosemDate.from_bytes(raw), end
    return CosemTime.from_bytes(raw), end


def parse_data_notification(
    buf: bytes, pos: int = 0, memo: ListMemo | None = None
) -> tuple[DataNotification, int]:
    """Parse a Data-Notification at `pos` -> (notification, position after it).

    Raises DecodeError(MALFORMED); an `axdr.TruncatedError` when the input ends early.
    """
    n = len(buf)
    if pos >= n or buf[pos] != DATA_NOTIFICATION:
        raise DecodeError(ErrorKind.MALFORMED, "not a Data-Notification")
    skeleton = memo.skeleton if isinstance(memo, NotificationMemo) else None
    if skeleton is not None:
        fields = skeleton.apply(buf, pos)
        if fields is not None:
            assert isinstance(memo, NotificationMemo)
            memo.hit()
            return DataNotification(*fields), pos + skeleton.size
    if pos + 5 > n:
        raise TruncatedError(pos + 5)
    start = pos
    long_invoke_id = _U32(buf, pos + 1)[0]
    date_time, pos = parse_header_time(buf, pos + 5)
    try:
        body, pos = parse(buf, pos, memo)
    except TruncatedError:
        raise
    except DecodeError as err:
        try:
            descriptors, pos = parse_descriptor_list(buf, pos)
        except TruncatedError:
            raise
        except DecodeError:
            raise err from None
        return DataNotification(long_invoke_id, date_time, descriptors), pos
    if isinstance(memo, NotificationMemo):
        memo.parsed(buf, start, pos)
    return DataNotification(long_invoke_id, date_time, body), pos
