"""Where an A-XDR value ends, found without parsing it, resumable between reads.

The frame hunter sizes a bare Data-Notification with it (framing_apdus.py): such an APDU
carries no length field (docs/protocol.md, "A-XDR types"; docs/architecture.md, "Framing").
"""

from __future__ import annotations

from .axdr import FIXED_SIZES, MAX_DEPTH, VARIABLE_TAGS, TruncatedError, parse, read_length
from .errors import DecodeError, ErrorKind


class ValueSizer:
    """Finds where one A-XDR value ends, resuming where it stopped when more bytes come.

    A bare Data-Notification carries no length: a framer that parsed it again after every
    chunk would take quadratic time. The sizer looks at each byte once, building nothing:
    it keeps its offset and the number of values still to come in each open array or
    structure.
    """

    __slots__ = ("_open", "offset")

    def __init__(self) -> None:
        """Start before the value's tag."""
        self.offset = 0  # bytes of the value known to be complete items
        self._open = [1]  # values still to read per open level; the value itself first

    def scan(self, buf: bytes | bytearray, start: int) -> int | None:
        """Advance over `buf[start:]`; the value's size once it is complete, else None.

        Raises DecodeError(MALFORMED) for bytes that cannot be A-XDR.
        """
        n = len(buf)
        pos = start + self.offset
        open_ = self._open
        while open_:
            if open_[-1] == 0:
                open_.pop()
                continue
            if pos >= n:
                break
            tag = buf[pos]
            size = FIXED_SIZES.get(tag)
            try:
                if size is not None:
                    end = pos + 1 + size
                elif tag in (0x01, 0x02):
                    count, end = read_length(buf, pos + 1)
                    if len(open_) >= MAX_DEPTH:
                        raise DecodeError(ErrorKind.MALFORMED, "A-XDR nested too deeply")
                    open_[-1] -= 1
                    open_.append(count)
                    pos = end
                    continue
                elif tag in VARIABLE_TAGS:
                    length, end = read_length(buf, pos + 1)
                    end += (length + 7) // 8 if tag == 0x04 else length
                elif tag == 0x13:  # compact array: rare enough to parse whole when complete
                    _, end = parse(buf, pos)
                else:
                    raise DecodeError(ErrorKind.MALFORMED, f"unknown A-XDR tag 0x{tag:02X}")
            except TruncatedError:
                break
            if end > n:
                break
            pos = end
            open_[-1] -= 1
        self.offset = pos - start
        return None if open_ else self.offset
