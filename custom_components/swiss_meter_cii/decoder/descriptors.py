"""Descriptor lists without type tags: the Sagemcom XT211 (ČEZ Distribuce, EG.D, Groupe E).

The XT211 pushes `structure{enum, array of structure{descriptor, value}}` where the
descriptor `{class-id u16, logical name 6 bytes, attribute u8}` carries no A-XDR tags
(no `12`, no `09 06`, no `11`): nine raw bytes, then one tagged value. A-XDR parsing
stops at the first raw byte, so the body is read here instead, as `[(logical name,
value), ...]`, the shape of the OBIS-structure lists layouts.py already maps
(docs/protocol.md, "Push body layouts").
"""

from __future__ import annotations

from .axdr import TruncatedError, parse
from .errors import DecodeError, ErrorKind

_DESCRIPTOR = 9  # class id (2), logical name (6), attribute (1)
_MAX_CLASS = 255  # interface classes of the Blue Book are below this
_MAX_ATTRIBUTE = 32


def _items(buf: bytes, pos: int) -> tuple[int, int]:
    """(count, position of the first item) of the list at `pos`."""
    n = len(buf)
    if pos + 6 > n:
        raise TruncatedError(pos + 6)
    if buf[pos] == 0x02 and buf[pos + 1] == 0x02 and buf[pos + 2] == 0x16 and buf[pos + 4] == 0x01:
        return buf[pos + 5], pos + 6  # {enum (list type), array}
    if buf[pos] == 0x01:
        return buf[pos + 1], pos + 2
    raise DecodeError(ErrorKind.MALFORMED, "not a descriptor list")


def parse_descriptor_list(buf: bytes, pos: int) -> tuple[list[tuple[bytes, object]], int]:
    """Parse the body at `pos` -> ([(logical name, value), ...], position after it).

    Raises DecodeError(MALFORMED) for bytes of another shape and `axdr.TruncatedError`
    when the body is cut off (a stream framer then waits for more bytes).
    """
    count, at = _items(buf, pos)
    if count >= 0x80:
        raise DecodeError(ErrorKind.MALFORMED, "descriptor list with a long count")
    n = len(buf)
    entries: list[tuple[bytes, object]] = []
    for _ in range(count):
        if at + 2 + _DESCRIPTOR > n:
            raise TruncatedError(at + 2 + _DESCRIPTOR + 1)
        if buf[at] != 0x02 or buf[at + 1] != 0x02:
            raise DecodeError(ErrorKind.MALFORMED, "descriptor list entry is no structure of 2")
        class_id = (buf[at + 2] << 8) | buf[at + 3]
        name = bytes(buf[at + 4 : at + 10])
        attribute = buf[at + 10]
        if not 0 < class_id <= _MAX_CLASS or name[0] > 15 or not 0 < attribute <= _MAX_ATTRIBUTE:
            raise DecodeError(ErrorKind.MALFORMED, "descriptor list entry has no descriptor")
        value, at = parse(buf, at + 2 + _DESCRIPTOR)
        entries.append((name, value))
    return entries, at


def descriptor_list_size(buf: bytes | bytearray, pos: int) -> int:
    """Bytes of the descriptor list at `pos` (for a framer: a bare APDU has no length)."""
    return parse_descriptor_list(bytes(buf), pos)[1] - pos
