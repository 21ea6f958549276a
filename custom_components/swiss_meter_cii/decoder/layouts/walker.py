"""Self-describing entries: {OBIS, value[, scaler_unit]} structures and flat OBIS runs.

Kaifa (AT) and Aidon arrays of structures, flat OBIS/value pairs and OBIS/value/scaler_unit
triples (EVN/Netz NÖ, Sagemcom, Austrian E450, Kamstrup), optionally led by a list id or a
date-time and closed by a lone meter number (docs/protocol.md, "Push body layouts"). Each
code is compiled to a slot on first sight and kept per scaler profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

from ..errors import DecodeError, ErrorKind
from ..identity import flag_of, resolve
from ..obis import key_of
from ..push import Reading
from .convert import Converter
from .result import CLOCK_OBIS, LIST_ID_OBIS, METER_NUMBER_OBIS, LayoutResult
from .shapes import is_date_time, is_obis, is_scaler_unit, is_text, starts_entry, to_text
from .slots import (
    CLOCK,
    DATE,
    TIME,
    VALUE,
    OverrideItems,
    Plan,
    Slot,
    SlotSpec,
    instantiate,
    kind_for,
    slot_spec,
)

_CLOCK_NAME: Final = b"\x00\x00\x01\x00\x00\xff"
_LOGICAL_DEVICE_NAME: Final = b"\x2a\x00\x00"  # C.D.E of 0-0:42.0.0
_SLOT_CACHE_MAX: Final = 1024


@dataclass(slots=True)
class Walk:
    """Entries found by the walker: (logical name, value, scaler_unit or None)."""

    entries: list[tuple[bytes, object, object]]
    nested: int  # entries that came as structures
    list_id: str | None
    timestamp: object
    meter_number: object


# How an entry came (WalkShape.entries): a code and its value, a code, value and
# scaler_unit, a structure of two or of three.
_PAIR, _TRIPLE, _STRUCT2, _STRUCT3 = 0, 1, 2, 3
_NO_PREFIX, _TIMESTAMP, _LIST_ID = 0, 1, 2


@dataclass(frozen=True, slots=True)
class WalkShape:
    """Where every element of a walked body was: the next body of this shape needs no walk.

    A meter sends the same list push after push; `fits` checks each position against
    this record (the codes compared byte for byte, the list id as text), so that the
    entries are where they were and a compiled plan reads them (Walker.read).
    """

    length: int
    prefix: int
    entries: tuple[tuple[int, int, bytes], ...]  # (position, how it came, code)
    nulls: tuple[int, ...]  # positions of (null code, null value) pairs
    trailer: bool  # a meter number closes the list
    nested: int
    list_id: str | None


def walk(body: Sequence[object]) -> tuple[Walk, WalkShape | None] | None:
    """Find {OBIS, value[, scaler_unit]} entries and their shape; None when there are none.

    The shape is None when an entry is an array (kept off the plan path). Raises MALFORMED
    when at least two entries were found and then the body stops making sense (a code
    without value, a broken scaler_unit, a stray element).
    """
    count = len(body)
    position = 0
    prefix = _NO_PREFIX
    list_id: str | None = None
    timestamp: object = None
    meter_number: object = None
    if count > 1 and starts_entry(body[1]):
        first = body[0]
        if is_date_time(first):
            timestamp, position, prefix = first, 1, _TIMESTAMP
        elif not is_obis(first) and is_text(first):
            list_id, position, prefix = to_text(first), 1, _LIST_ID
    entries: list[tuple[bytes, object, object]] = []
    places: list[tuple[int, int, bytes]] = []
    nulls: list[int] = []
    nested = 0
    replayable = True
    while position < count:
        item = body[position]
        if isinstance(item, tuple | list) and len(item) in (2, 3) and is_obis(item[0]):
            su = item[2] if len(item) == 3 else None
            if su is not None and not is_scaler_unit(su):
                _failed(entries, f"entry {position + 1} has no scaler_unit")
                return None
            entries.append((item[0], item[1], su))
            places.append((position, _STRUCT2 if su is None else _STRUCT3, item[0]))
            replayable = replayable and type(item) is tuple
            nested += 1
            position += 1
        elif is_obis(item):
            if position + 1 >= count:
                _failed(entries, "the last OBIS code has no value")
                return None
            value = body[position + 1]
            if position + 2 < count and is_scaler_unit(body[position + 2]):
                entries.append((item, value, body[position + 2]))
                places.append((position, _TRIPLE, item))
                position += 3
            else:
                entries.append((item, value, None))
                places.append((position, _PAIR, item))
                position += 2
        elif item is None and entries and position + 1 < count and body[position + 1] is None:
            # Null code, null value: single-phase Kamstrup meters keep the three-phase
            # list and send this pair for each phase they lack (docs/protocol.md,
            # "Push body layouts").
            nulls.append(position)
            position += 2
        elif position == count - 1 and entries and isinstance(item, bytes | str):
            meter_number = item
            position += 1
        else:
            _failed(entries, f"element {position + 1} belongs to no OBIS code")
            return None
    if not entries:
        return None
    found = Walk(entries, nested, list_id, timestamp, meter_number)
    if not replayable:
        return found, None
    trailer = meter_number is not None
    return found, WalkShape(count, prefix, tuple(places), tuple(nulls), trailer, nested, list_id)


def fits(shape: WalkShape, body: Sequence[object]) -> bool:
    """Tell whether `walk` would find `body` laid out as `shape` (positions, codes, list id).

    Checks what `walk` would find at each recorded position (a code compared with the
    recorded one is a code; whatever follows a pair is checked as what it is, so it cannot
    be a scaler_unit); anything else is walked anew.
    """
    if len(body) != shape.length:
        return False
    for position, form, code in shape.entries:
        if form >= _STRUCT2:
            item = body[position]
            if type(item) is not tuple or len(item) != form or item[0] != code:
                return False
            if form == _STRUCT3 and not is_scaler_unit(item[2]):
                return False
        else:
            name = body[position]
            if type(name) is not bytes or name != code:
                return False
            if form == _TRIPLE and not is_scaler_unit(body[position + 2]):
                return False
    for position in shape.nulls:
        if body[position] is not None or body[position + 1] is not None:
            return False
    if shape.trailer:
        last = body[-1]
        if not isinstance(last, bytes | str) or is_obis(last):
            return False
    if shape.prefix == _TIMESTAMP:
        return is_date_time(body[0])
    if shape.prefix == _LIST_ID:
        first = body[0]
        return (
            not is_date_time(first)
            and not is_obis(first)
            and is_text(first)
            and to_text(first) == shape.list_id
        )
    return True


def along(shape: WalkShape, body: Sequence[object]) -> Walk:
    """Build the Walk of a body that `fits` the shape: the one `walk` would build."""
    entries: list[tuple[bytes, object, object]] = []
    for position, form, code in shape.entries:
        if form >= _STRUCT2:
            item = body[position]
            assert type(item) is tuple  # checked by fits
            entries.append((code, item[1], item[2] if form == _STRUCT3 else None))
        elif form == _TRIPLE:
            entries.append((code, body[position + 1], body[position + 2]))
        else:
            entries.append((code, body[position + 1], None))
    timestamp = body[0] if shape.prefix == _TIMESTAMP else None
    meter_number = body[-1] if shape.trailer else None
    return Walk(entries, shape.nested, shape.list_id, timestamp, meter_number)


def _failed(entries: list[tuple[bytes, object, object]], why: str) -> None:
    """Two entries or more make it an OBIS list: then a stray element is an error."""
    if len(entries) >= 2:
        raise DecodeError(ErrorKind.MALFORMED, f"OBIS list is inconsistent: {why}")


class Walker:
    """The walker's state for one connection: slots by logical name, the last shape's plan."""

    __slots__ = ("_country", "_model", "_overrides", "_plan", "_shape", "_tables")

    def __init__(self, model: str, overrides: OverrideItems, country: str) -> None:
        """Compile for the configured model, the user's overrides and the user's country."""
        self._model = model
        self._overrides = overrides
        self._country = country
        # profile -> (slots without pushed scaler, slots with one), keyed by logical name
        self._tables: dict[str, tuple[dict[bytes, Slot], dict[bytes, Slot]]] = {}
        self._shape: WalkShape | None = None  # of the last body walked
        # The last shape's plan (None: it has none) and the FLAG it was compiled with.
        self._plan: tuple[str | None, Plan | None] | None = None

    def read(self, body: Sequence[object], flag: str | None, run: Converter) -> LayoutResult | None:
        """Return the readings of a self-describing body; None when it has no OBIS entries.

        A body of the last body's shape is read by that shape's compiled plan: the same
        slots, conversions and order as entry by entry (`decode`), without the lookups.
        """
        shape = self._shape
        if shape is None or not fits(shape, body):
            # A new shape: walked entry by entry. Its plan is compiled when a second body of
            # the same shape arrives, so a one-shot decode does not pay for compiling it.
            walked = walk(body)
            if walked is None:
                return None
            self._shape, self._plan = walked[1], None
            return self.decode(walked[0], flag, run)[0]
        known = self._plan
        if known is not None and known[0] == flag:
            if known[1] is not None:
                return run.run(known[1], body, None)
            return self.decode(along(shape, body), flag, run)[0]
        found = along(shape, body)
        result, profile = self.decode(found, flag, run)
        if flag is not None or not _names_device(found):
            # None is kept too: a shape that has no plan is not compiled again for each body.
            self._plan = (flag, _compile(shape, profile, result.model, self._overrides))
        return result

    def decode(self, found: Walk, flag: str | None, run: Converter) -> tuple[LayoutResult, str]:
        """Return the readings of the entries the walker found, and the scaler profile."""
        if flag is None:
            for name, value, _su in found.entries:
                if name[2:5] == _LOGICAL_DEVICE_NAME:
                    flag = flag_of(value)
                    break
        meter = resolve(self._model, flag, list_id=found.list_id, country=self._country)
        profile = meter.profile
        plain, pushed = self._tables_of(profile)
        values: dict[str, Reading] = {}
        timestamp: datetime | None = None
        if found.list_id is not None:
            values[LIST_ID_OBIS] = Reading(found.list_id, None)
        if found.timestamp is not None:
            clock = self._slot(plain, _CLOCK_NAME, profile, False)
            stamp = run.reading(clock, found.timestamp, None)
            if stamp is not None:
                values[CLOCK_OBIS] = stamp
                if isinstance(stamp.value, datetime):
                    timestamp = stamp.value
        time_raw: object = None
        date_raw: object = None
        for name, raw, su in found.entries:
            if su is None:
                slot = plain.get(name) or self._slot(plain, name, profile, False)
            else:
                slot = pushed.get(name) or self._slot(pushed, name, profile, True)
            reading = run.reading(slot, raw, su)
            if reading is None:
                continue
            values[slot.key] = reading
            if slot.kind == CLOCK and isinstance(reading.value, datetime):
                timestamp = reading.value
            elif slot.kind == TIME:
                time_raw = raw
            elif slot.kind == DATE:
                date_raw = raw
        if found.meter_number is not None:
            values[METER_NUMBER_OBIS] = Reading(to_text(found.meter_number), None)
        if timestamp is None and time_raw is not None and date_raw is not None:
            timestamp = run.combine(time_raw, date_raw)
        layout = "obis_structures" if found.nested else "flat_obis"
        return LayoutResult(values, layout, meter.model, None, timestamp), profile

    def _tables_of(self, profile: str) -> tuple[dict[bytes, Slot], dict[bytes, Slot]]:
        """Walker slots of one scaler profile: (without pushed scaler, with one)."""
        tables = self._tables.get(profile)
        if tables is None or len(tables[0]) + len(tables[1]) >= _SLOT_CACHE_MAX:
            tables = self._tables[profile] = ({}, {})
        return tables

    def _slot(self, table: dict[bytes, Slot], name: bytes, profile: str, pushed: bool) -> Slot:
        """Slot of one logical name, compiled on first sight."""
        slot = table.get(name)
        if slot is None:
            slot = table[name] = Slot(*_name_spec(name, profile, self._overrides, pushed))
        return slot


def _names_device(found: Walk) -> bool:
    """Whether the entries carry the logical device name (its FLAG then picks the model)."""
    return any(name[2:5] == _LOGICAL_DEVICE_NAME for name, _value, _su in found.entries)


def _compile(shape: WalkShape, profile: str, model: str, overrides: OverrideItems) -> Plan | None:
    """Compile a shape: `decode`'s slots, bound to body positions, in body order.

    None when two values would be the push clock: `decode` takes the last, a plan the
    first, so such a body keeps being read entry by entry.
    """
    specs: list[SlotSpec] = []
    if shape.prefix == _TIMESTAMP:
        specs.append(_name_spec(_CLOCK_NAME, profile, overrides, False)._replace(position=0))
    elif shape.prefix == _LIST_ID:
        specs.append(slot_spec(0, LIST_ID_OBIS, VALUE, profile, overrides))
    for position, form, code in shape.entries:
        key, kind = key_of(code), kind_for(code)
        if form == _PAIR:
            spec = slot_spec(position + 1, key, kind, profile, overrides)
        elif form == _TRIPLE:
            spec = slot_spec(
                position + 1,
                key,
                kind,
                profile,
                overrides,
                su_index=position + 2,
                pushed_scaler=True,
            )
        else:  # a structure: read whole, as a capture object's attribute 0
            spec = slot_spec(
                position, key, kind, profile, overrides, pushed_scaler=form == _STRUCT3, whole=True
            )
        specs.append(spec)
    if shape.trailer:
        specs.append(slot_spec(shape.length - 1, METER_NUMBER_OBIS, VALUE, profile, overrides))
    if sum(spec.kind == CLOCK for spec in specs) > 1:
        return None
    layout = "obis_structures" if shape.nested else "flat_obis"
    return Plan(layout, model, instantiate(specs))


@lru_cache(maxsize=4096)
def _name_spec(name: bytes, profile: str, overrides: OverrideItems, pushed: bool) -> SlotSpec:
    """Spec of a walked logical name; cached for the process (a new decoder compiles fast)."""
    return slot_spec(-1, key_of(name), kind_for(name), profile, overrides, pushed_scaler=pushed)
