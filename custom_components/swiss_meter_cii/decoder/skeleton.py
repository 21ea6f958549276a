"""A-XDR skeleton: a Data-Notification parsed along the byte layout of the previous one.

A meter's pushes differ only in their values: every type tag, length and element count
stays where it was, and so do the push object list and the scaler_unit structures.
`compile_skeleton` records that layout once, as one `struct` format over the whole APDU.
The next APDU is then unpacked in one call, its structural bytes compared with the
recorded ones in one tuple comparison, and the same tree `axdr.parse` would build is put
together from the unpacked values. If a single structural byte differs, `apply` returns
None and the caller parses in full (docs/architecture.md, "Decoder speed").

Containers below the second level (the push object list, scaler_unit structures, arrays)
are kept whole as constant bytes: they repeat, and their parsed value is shared between
pushes (callers must not mutate it, as with axdr.ListMemo).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
import struct
from typing import Any

from .axdr import ENUMS, bcd, parse
from .values import CosemDate, CosemDateTime, CosemTime, Long64

# Fixed-size tags -> struct code and the conversion axdr.parse applies (None: none).
_FIXED: dict[int, tuple[str, Callable[[Any], Any] | None]] = {
    0x03: ("B", lambda v: v != 0),
    0x05: ("i", None),
    0x06: ("I", None),
    0x0D: ("B", bcd),
    0x0F: ("b", None),
    0x10: ("h", None),
    0x11: ("B", None),
    0x12: ("H", None),
    0x14: ("q", Long64),
    0x15: ("Q", Long64),
    0x16: ("B", ENUMS.__getitem__),
    0x17: ("f", None),
    0x18: ("d", None),
    0x19: ("12s", CosemDateTime.from_bytes),
    0x1A: ("5s", CosemDate.from_bytes),
    0x1B: ("4s", CosemTime.from_bytes),
}
_TEXT: dict[int, Callable[[bytes], Any] | None] = {
    0x09: None,
    0x0A: lambda raw: raw.decode("latin-1"),
    0x0C: lambda raw: raw.decode("utf-8", "replace"),
}
_HEADER_TIME = {4: CosemTime.from_bytes, 5: CosemDate.from_bytes, 12: CosemDateTime.from_bytes}
_MAX_FIELDS = 1024  # a skeleton bigger than this is not worth keeping

# A reference to a pool entry while the skeleton is built: (area, index) with area
# 0 = unpacked field, 1 = shared constant, 2 = rebuilt container. Resolved in Skeleton.
type _Ref = tuple[int, int]
_FIELD, _SHARED, _NODE = 0, 1, 2


class _Builder:
    """Collects the struct format, the structural bytes and the recipe of the tree."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.constant: list[int] = []  # field indices that must repeat
        self.convert: list[tuple[int, Callable[[Any], Any]]] = []
        self.shared: list[object] = []  # parsed containers (and None) kept whole
        self.nodes: list[tuple[bool, tuple[_Ref, ...]]] = []  # (is_tuple, members)

    def field(self, code: str, *, constant: bool) -> _Ref:
        self.codes.append(code)
        index = len(self.codes) - 1
        if constant:
            self.constant.append(index)
        return _FIELD, index

    def byte(self) -> None:
        self.field("B", constant=True)

    def share(self, value: object) -> _Ref:
        self.shared.append(value)
        return _SHARED, len(self.shared) - 1


class Skeleton:
    """The byte layout of one Data-Notification and how to rebuild its parsed value."""

    __slots__ = (
        "_convert",
        "_expected",
        "_members",
        "_nodes",
        "_results",
        "_shared",
        "_structural",
        "_tree",
        "codes",
        "constant",
        "last_fields",
        "size",
        "unpack",
    )

    def __init__(self, builder: _Builder, results: tuple[_Ref, _Ref, _Ref], sample: bytes) -> None:
        """Freeze a builder; `sample` is the APDU it was made from (at offset 0)."""
        layout = struct.Struct(">" + "".join(builder.codes))
        self.unpack = layout.unpack_from
        self.size = layout.size  # bytes of the APDU
        # For push_plan.py: the struct code and the structural flag of every field, the
        # tree as references, and the fields of the last APDU `apply` rebuilt.
        self.codes = tuple(builder.codes)
        self.constant = tuple(builder.constant)
        self._members = tuple(members for _, members in builder.nodes)
        self._tree = results
        self.last_fields: tuple[Any, ...] = ()
        fields, shared = len(builder.codes), len(builder.shared)

        def resolve(ref: _Ref) -> int:
            area, index = ref
            return index + (0 if area == _FIELD else fields if area == _SHARED else fields + shared)

        self._structural = itemgetter(*builder.constant, -1)  # -1: a 1-tuple stays a tuple
        self._expected = self._structural((*layout.unpack_from(sample), None))
        self._convert = tuple(builder.convert)
        self._shared = list(builder.shared)
        self._nodes = tuple(
            (is_tuple, itemgetter(*(resolve(m) for m in members), -1))
            for is_tuple, members in builder.nodes
        )
        self._results = itemgetter(*(resolve(r) for r in results))

    def apply(self, buf: bytes, pos: int) -> tuple[int, Any, Any] | None:
        """(long invoke id, header date-time, body) of the APDU at `pos`, or None."""
        try:
            fields = self.unpack(buf, pos)
        except struct.error:
            return None
        pool = [*fields, None]
        if self._structural(pool) != self._expected:
            return None
        self.last_fields = fields
        for index, convert in self._convert:
            pool[index] = convert(pool[index])
        del pool[-1]
        pool += self._shared
        for is_tuple, getter in self._nodes:
            pool.append(None)
            members = getter(pool)[:-1]
            pool[-1] = members if is_tuple else list(members)
        invoke_id, date_time, body = self._results(pool)
        return invoke_id, date_time, body

    def convert_of(self, index: int) -> Callable[[Any], Any] | None:
        """Return the conversion `apply` gives field `index` (None: none)."""
        for field, convert in self._convert:
            if field == index:
                return convert
        return None

    def field_at(self, path: tuple[int, ...]) -> int | None:
        """Return the field that holds the element at `path`, None if no single field does.

        The first step chooses among invoke id (0), date-time (1) and body (2); the next
        ones index into the body's containers: (2, 5) is body element 5.
        """
        ref = self._tree[path[0]]
        for step in path[1:]:
            area, index = ref
            members = self._members[index] if area == _NODE else ()
            if step >= len(members):
                return None
            ref = members[step]
        return ref[1] if ref[0] == _FIELD else None


def compile_skeleton(buf: bytes, end: int) -> Skeleton | None:
    """Record the layout of the Data-Notification `buf[:end]` (parsed fine before).

    Returns None for shapes it does not handle (long lengths,
    compact arrays or bit strings at the two top levels): those are parsed in full.
    """
    sample = bytes(buf[:end])
    builder = _Builder()
    builder.byte()  # tag 0x0F
    invoke = builder.field("I", constant=False)  # long-invoke-id-and-priority
    header = _header_time(builder, sample, 5)
    if header is None:
        return None
    at, date_time = header
    body = _element(builder, sample, at, end, depth=0)
    if body is None or body[0] != end or len(builder.codes) > _MAX_FIELDS:
        return None
    return Skeleton(builder, (invoke, date_time, body[1]), sample)


def _header_time(builder: _Builder, buf: bytes, at: int) -> tuple[int, _Ref] | None:
    """Describe the header date-time -> (position after it, its reference)."""
    if at >= len(buf):
        return None
    first = buf[at]
    if first == 0x19:
        builder.byte()
        size, at = 12, at + 1
    elif first == 0x09:
        if at + 1 >= len(buf):
            return None
        builder.byte()
        builder.byte()
        size, at = buf[at + 1], at + 2
    else:
        builder.byte()
        size, at = first, at + 1
    if size == 0:
        return at, builder.share(None)
    convert = _HEADER_TIME.get(size)
    if convert is None:
        return None
    ref = builder.field(f"{size}s", constant=False)
    builder.convert.append((ref[1], convert))
    return at + size, ref


def _element(
    builder: _Builder, buf: bytes, at: int, end: int, depth: int
) -> tuple[int, _Ref] | None:
    """Describe the value at `at` -> (position after it, its reference)."""
    if at >= end:
        return None
    tag = buf[at]
    fixed = _FIXED.get(tag)
    if fixed is not None:
        builder.byte()
        code, convert = fixed
        ref = builder.field(code, constant=False)
        if convert is not None:
            builder.convert.append((ref[1], convert))
        return at + 1 + struct.calcsize(">" + code), ref
    if tag == 0x00:
        builder.byte()
        return at + 1, builder.share(None)
    if tag in _TEXT:
        if at + 1 >= end or buf[at + 1] >= 0x80:
            return None
        size = buf[at + 1]
        builder.byte()
        builder.byte()
        ref = builder.field(f"{size}s", constant=False)
        convert = _TEXT[tag]
        if convert is not None:
            builder.convert.append((ref[1], convert))
        return at + 2 + size, ref
    if tag not in (0x01, 0x02):
        return None
    if depth >= 2 or (tag == 0x01 and depth >= 1):
        value, after = parse(buf[:end], at)
        builder.field(f"{after - at}s", constant=True)
        return after, builder.share(value)
    if at + 1 >= end or buf[at + 1] >= 0x80:
        return None
    builder.byte()
    builder.byte()
    members = []
    position = at + 2
    for _ in range(buf[at + 1]):
        item = _element(builder, buf, position, end, depth + 1)
        if item is None:
            return None
        position, ref = item
        members.append(ref)
    builder.nodes.append((tag == 0x02, tuple(members)))
    return position, (_NODE, len(builder.nodes) - 1)
