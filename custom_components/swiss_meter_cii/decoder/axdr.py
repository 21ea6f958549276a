"""A-XDR data parser (Blue Book table 2; docs/protocol.md, "A-XDR types") -> values.py shapes.

This is the decoder's hot path: scalar types common in pushes are decoded inline inside
the sequence loop (no call per value), integers come from precompiled `struct` unpackers,
and every length or count is checked against the bytes that are left, so a hostile count
can neither allocate memory nor loop for long.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct
from typing import Any

from .errors import DecodeError, ErrorKind
from .values import BitString, CosemDate, CosemDateTime, CosemTime, DlmsEnum, Long64

MAX_DEPTH = 16  # real pushes nest 3-4 levels; deeper input is hostile or garbage
_MAX_DESCRIPTION_NODES = 128  # compact-array type descriptions

_S8 = struct.Struct(">b").unpack_from
_S16 = struct.Struct(">h").unpack_from
_U16 = struct.Struct(">H").unpack_from
_S32 = struct.Struct(">i").unpack_from
_U32 = struct.Struct(">I").unpack_from
_S64 = struct.Struct(">q").unpack_from
_U64 = struct.Struct(">Q").unpack_from
_F32 = struct.Struct(">f").unpack_from
_F64 = struct.Struct(">d").unpack_from

ENUMS = tuple(DlmsEnum(i) for i in range(256))  # one shared instance per enum value

# Tag -> size of fixed-size values (compact-array minimal sizes use it too).
FIXED_SIZES: dict[int, int] = {
    0x00: 0,
    0x03: 1,
    0x05: 4,
    0x06: 4,
    0x0D: 1,
    0x0F: 1,
    0x10: 2,
    0x11: 1,
    0x12: 2,
    0x14: 8,
    0x15: 8,
    0x16: 1,
    0x17: 4,
    0x18: 8,
    0x19: 12,
    0x1A: 5,
    0x1B: 4,
}
VARIABLE_TAGS = frozenset((0x04, 0x09, 0x0A, 0x0C))  # octet/visible/utf8 strings, bits


class TruncatedError(DecodeError):
    """The input ends inside a value; `needed` is a lower bound for the total length.

    A stream framer uses `needed` to wait for more bytes instead of re-parsing after
    every chunk; everybody else treats it as the MALFORMED DecodeError it is.
    """

    def __init__(self, needed: int) -> None:
        super().__init__(ErrorKind.MALFORMED, "A-XDR data truncated")
        self.needed = needed


def read_length(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    """BER length at `pos` (short form, or 0x81..0x84 + 1..4 bytes) -> (length, next pos)."""
    n = len(buf)
    if pos >= n:
        raise TruncatedError(pos + 1)
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        raise DecodeError(ErrorKind.MALFORMED, f"bad length byte 0x{first:02X}")
    end = pos + 1 + size
    if end > n:
        raise TruncatedError(end)
    return int.from_bytes(buf[pos + 1 : end], "big"), end


def _count(buf: bytes, pos: int, n: int) -> tuple[int, int]:
    """Element count of an array/structure; each element needs at least one byte."""
    first = buf[pos] if pos < n else -1
    if 0 <= first < 0x80:
        count, pos = first, pos + 1
    else:
        count, pos = read_length(buf, pos)
    if count > n - pos:
        raise TruncatedError(pos + count)
    return count, pos


class ListMemo:
    """The last push object list a connection parsed: its bytes and its value.

    Meters repeat their push object list byte for byte in every push; comparing those
    bytes (one memcmp) costs far less than parsing its ~140 A-XDR items again.
    The cached value is shared between pushes: callers must not mutate it.
    """

    __slots__ = ("raw", "value")

    def __init__(self) -> None:
        """Start empty."""
        self.raw = b""
        self.value: Any = None


_MEMO_MIN = 64  # shorter first elements are cheaper to parse than to cache


def parse(
    buf: bytes | bytearray | memoryview, pos: int = 0, memo: ListMemo | None = None
) -> tuple[Any, int]:
    """Parse one A-XDR Data value at `pos` -> (value, position after it).

    With `memo`, a body structure whose first element is an array (the push object list
    of IDIS/Swiss pushes) reuses the previous parse when the array's bytes are unchanged.
    Raises DecodeError(MALFORMED) (a `TruncatedError` when the input ends early).
    """
    data = buf if isinstance(buf, bytes) else bytes(buf)
    n = len(data)
    if memo is not None and pos + 2 < n and data[pos] == 0x02:
        count, first = _count(data, pos + 1, n)
        if count and data[first] == 0x01:
            raw = memo.raw
            if raw and data.startswith(raw, first):
                head, after = memo.value, first + len(raw)
            else:
                head, after = _parse(data, first, n, 1)
                if after - first >= _MEMO_MIN:
                    memo.raw, memo.value = data[first:after], head
            rest, end = _sequence(data, after, n, count - 1, 1)
            return (head, *rest), end
    return _parse(data, pos, n, 0)


def _parse(buf: bytes, pos: int, n: int, depth: int) -> tuple[Any, int]:
    """Parse one tagged value (see `parse`)."""
    if pos >= n:
        raise TruncatedError(pos + 1)
    tag = buf[pos]
    pos += 1
    if tag == 0x02 or tag == 0x01:
        if depth >= MAX_DEPTH:
            raise DecodeError(ErrorKind.MALFORMED, "A-XDR nesting too deep")
        count, pos = _count(buf, pos, n)
        items, pos = _sequence(buf, pos, n, count, depth + 1)
        return (tuple(items) if tag == 0x02 else items), pos
    return _scalar(tag, buf, pos, n, depth)


def _sequence(buf: bytes, pos: int, n: int, count: int, depth: int) -> tuple[list[Any], int]:
    """Parse `count` tagged values; the usual push types are decoded inline."""
    items: list[Any] = []
    append = items.append
    for _ in range(count):
        if pos >= n:
            raise TruncatedError(pos + 1)
        tag = buf[pos]
        if tag == 0x06:
            end = pos + 5
            if end > n:
                raise TruncatedError(end)
            append(_U32(buf, pos + 1)[0])
            pos = end
        elif tag == 0x09:
            size = buf[pos + 1] if pos + 1 < n else 0x80
            if size < 0x80:
                start = pos + 2
            else:
                size, start = read_length(buf, pos + 1)
            end = start + size
            if end > n:
                raise TruncatedError(end)
            append(buf[start:end])
            pos = end
        elif tag == 0x12:
            end = pos + 3
            if end > n:
                raise TruncatedError(end)
            append(_U16(buf, pos + 1)[0])
            pos = end
        elif tag == 0x02:
            if depth >= MAX_DEPTH:
                raise DecodeError(ErrorKind.MALFORMED, "A-XDR nesting too deep")
            sub, pos = _count(buf, pos + 1, n)
            inner, pos = _sequence(buf, pos, n, sub, depth + 1)
            append(tuple(inner))
        elif tag == 0x0F:
            end = pos + 2
            if end > n:
                raise TruncatedError(end)
            append(_S8(buf, pos + 1)[0])
            pos = end
        elif tag == 0x16:
            end = pos + 2
            if end > n:
                raise TruncatedError(end)
            append(ENUMS[buf[pos + 1]])
            pos = end
        else:
            value, pos = _parse(buf, pos, n, depth)
            append(value)
    return items, pos


def _scalar(tag: int, buf: bytes, pos: int, n: int, depth: int) -> tuple[Any, int]:
    """Decode the value of a non-container tag whose tag byte was already read."""
    size = FIXED_SIZES.get(tag)
    if size is not None:
        end = pos + size
        if end > n:
            raise TruncatedError(end)
        return _fixed(tag, buf, pos), end
    if tag in VARIABLE_TAGS:
        return _variable(tag, buf, pos, n)
    if tag == 0x13:
        return _compact_array(buf, pos, n, depth)
    raise DecodeError(ErrorKind.MALFORMED, f"unknown A-XDR tag 0x{tag:02X}")


def _fixed(tag: int, buf: bytes, pos: int) -> Any:
    """Decode a fixed-size value (length already checked)."""
    if tag == 0x06:
        return _U32(buf, pos)[0]
    if tag == 0x12:
        return _U16(buf, pos)[0]
    if tag == 0x05:
        return _S32(buf, pos)[0]
    if tag == 0x10:
        return _S16(buf, pos)[0]
    if tag == 0x11:
        return buf[pos]
    if tag == 0x0F:
        return _S8(buf, pos)[0]
    if tag == 0x16:
        return ENUMS[buf[pos]]
    if tag == 0x15:
        return Long64(_U64(buf, pos)[0])
    if tag == 0x14:
        return Long64(_S64(buf, pos)[0])
    if tag == 0x03:
        return buf[pos] != 0
    if tag == 0x00:
        return None
    if tag == 0x17:
        return _F32(buf, pos)[0]
    if tag == 0x18:
        return _F64(buf, pos)[0]
    if tag == 0x19:
        return CosemDateTime.from_bytes(buf[pos : pos + 12])
    if tag == 0x1A:
        return CosemDate.from_bytes(buf[pos : pos + 5])
    if tag == 0x1B:
        return CosemTime.from_bytes(buf[pos : pos + 4])
    return bcd(buf[pos])


def bcd(byte: int) -> int:
    """0x0D bcd: two decimal digits; a byte that is no valid BCD stays its raw value."""
    high, low = byte >> 4, byte & 0x0F
    return high * 10 + low if high < 10 and low < 10 else byte


def _variable(tag: int, buf: bytes, pos: int, n: int) -> tuple[Any, int]:
    """Decode a length-prefixed value: octet/visible/utf8-string or bit-string."""
    size, pos = read_length(buf, pos)
    if tag == 0x04:
        nbytes = (size + 7) // 8
        end = pos + nbytes
        if end > n:
            raise TruncatedError(end)
        return BitString(size, buf[pos:end]), end
    end = pos + size
    if end > n:
        raise TruncatedError(end)
    raw = buf[pos:end]
    if tag == 0x09:
        return raw, end
    if tag == 0x0A:
        return raw.decode("latin-1"), end
    return raw.decode("utf-8", "replace"), end


@dataclass(frozen=True, slots=True)
class _ArrayType:
    """compact-array type description of an array: `count` elements of `element`."""

    count: int
    element: _Type


@dataclass(frozen=True, slots=True)
class _StructType:
    """compact-array type description of a structure."""

    members: tuple[_Type, ...]


type _Type = int | _ArrayType | _StructType  # an int is a simple type's tag


def _min_size(desc: _Type) -> int:
    """Fewest bytes one value of `desc` can take."""
    if isinstance(desc, int):
        return FIXED_SIZES.get(desc, 1)
    if isinstance(desc, _ArrayType):
        return desc.count * _min_size(desc.element)
    return sum(_min_size(m) for m in desc.members)


def _description(buf: bytes, pos: int, n: int, budget: list[int]) -> tuple[_Type, int]:
    """Parse a TypeDescription; `budget` bounds the number of nodes.

    An array whose elements can take zero bytes is refused: decoding it would cost
    work without consuming input.
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise DecodeError(ErrorKind.MALFORMED, "compact-array type description too large")
    if pos >= n:
        raise TruncatedError(pos + 1)
    tag = buf[pos]
    pos += 1
    if tag == 0x01:
        if pos + 2 > n:
            raise TruncatedError(pos + 2)
        count = _U16(buf, pos)[0]
        element, pos = _description(buf, pos + 2, n, budget)
        if count and _min_size(element) == 0:
            raise DecodeError(ErrorKind.MALFORMED, "compact-array of zero-size elements")
        return _ArrayType(count, element), pos
    if tag == 0x02:
        count, pos = _count(buf, pos, n)
        members = []
        for _ in range(count):
            member, pos = _description(buf, pos, n, budget)
            members.append(member)
        return _StructType(tuple(members)), pos
    if tag in FIXED_SIZES or tag in VARIABLE_TAGS:
        return tag, pos
    raise DecodeError(ErrorKind.MALFORMED, f"bad compact-array type 0x{tag:02X}")


def _typed(desc: _Type, buf: bytes, pos: int, end: int, depth: int) -> tuple[Any, int]:
    """Decode one untagged value described by `desc` inside `buf[:end]`."""
    if isinstance(desc, int):
        return _scalar(desc, buf, pos, end, depth)
    if depth >= MAX_DEPTH:
        raise DecodeError(ErrorKind.MALFORMED, "A-XDR nesting too deep")
    values = []
    members = [desc.element] * desc.count if isinstance(desc, _ArrayType) else desc.members
    for member in members:
        value, pos = _typed(member, buf, pos, end, depth + 1)
        values.append(value)
    return (values if isinstance(desc, _ArrayType) else tuple(values)), pos


def _compact_array(buf: bytes, pos: int, n: int, depth: int) -> tuple[list[Any], int]:
    """compact-array: TypeDescription, then an octet string of packed elements -> list."""
    desc, pos = _description(buf, pos, n, [_MAX_DESCRIPTION_NODES])
    size, pos = read_length(buf, pos)
    end = pos + size
    if end > n:
        raise TruncatedError(end)
    if _min_size(desc) == 0:
        raise DecodeError(ErrorKind.MALFORMED, "compact-array of zero-size elements")
    items = []
    while pos < end:
        try:
            value, pos = _typed(desc, buf, pos, end, depth + 1)
        except TruncatedError:
            raise DecodeError(ErrorKind.MALFORMED, "compact-array contents cut short") from None
        items.append(value)
    return items, end
