"""Push plans: the next Data-Notification of a known shape, from its bytes to readings.

A steady meter sends the same notification again and again with new numbers. skeleton.py
reads it with one struct call and rebuilds the A-XDR tree; the layout step (layouts/)
then reads that tree with a compiled Plan. Once both have read a push, `compile_push_plan`
joins them for the pushes that follow: each reading comes from one struct field, scaler
and unit are resolved once, and a reading is made again only for a field whose value
changed. No tree is rebuilt and no layout is looked for again.

This holds because the layout step decides from bytes that repeat: type tags, lengths, the
push object list, OBIS codes, names and other texts. A plan is used only while every one
of those bytes is what it was, with the same system title and layout state; only numbers
and the clock may differ. Anything else goes the full way (skeleton, tree, layout), which
compiles a new plan: a push's result never depends on which way it took
(docs/architecture.md, "Decoder speed").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from itertools import compress
from operator import itemgetter, ne, or_
import struct
from typing import Any, Final

from .errors import DecodeError
from .layouts import LayoutDecoder, LayoutResult
from .layouts.convert import scaler_unit
from .layouts.result import BODY_ERRORS, uninterpretable
from .layouts.shapes import is_date_time, is_scaler_unit
from .layouts.slots import CAPTURE, CLOCK, VALUE, Plan, Slot
from .push import Reading
from .scaling import scale
from .skeleton import Skeleton
from .values import Long64, datetime_from_bytes

# Struct codes of integers and floats: the values that may change between pushes (with
# the clock). Integers without a conversion (or as Long64) take the short way.
_INTEGERS: Final = frozenset("bBhHiIqQ")
_NUMBERS: Final = _INTEGERS | {"f", "d"}
# A plan that does not fit this many pushes in a row is not compiled for the next PAUSE.
PLAN_MISSES: Final = 3
PLAN_PAUSE: Final = 64

type Maker = Callable[[Any], Reading]


@dataclass(slots=True)
class Planned:
    """A notification a plan matched: its header and its unpacked fields."""

    long_invoke_id: int
    timestamp: datetime | None  # of the header's date-time, when it has a whole one
    fields: tuple[Any, ...]
    plan: PushPlan

    @property
    def invoke_id(self) -> int:
        """Invoke-id: bits 0..23 of long-invoke-id-and-priority."""
        return self.long_invoke_id & 0xFFFFFF


def _scaled(scaler: int, unit: str | None, raw: int) -> Reading:
    """Make an integer's reading with a resolved scaler, as Converter.convert does."""
    return Reading(raw if scaler == 0 else scale(raw, scaler), unit)


def _clock(tz: tzinfo, fallback: Maker, raw: bytes) -> Reading:
    """Make a clock's reading of 12 octets, as Converter.convert does."""
    if is_date_time(raw):
        return Reading(datetime_from_bytes(raw, tz), None)
    return fallback(raw)


def _converted(
    reading: Callable[[Slot, object, object], Reading | None],
    slot: Slot,
    convert: Callable[[Any], Any] | None,
    su: object,
    raw: object,
) -> Reading:
    """Make any other value's reading by the converter the full way uses."""
    made = reading(slot, raw if convert is None else convert(raw), su)
    assert made is not None  # only containers have no reading, and a field holds none
    return made


@dataclass(slots=True, eq=False, repr=False)
class PushPlan:
    """One notification shape compiled down to the fields that change.

    Built by `compile_push_plan`; the fields hold what it worked out once.
    """

    unpack: Callable[[bytes, int], tuple[Any, ...]]  # the skeleton's struct
    size: int  # bytes of the notification
    repeating: Callable[[tuple[Any, ...]], Any]  # fields that must repeat ...
    expected: Any  # ... and their values
    header: Callable[[tuple[Any, ...]], tuple[int, Any]]  # invoke id, date-time field
    tz: tzinfo | None  # the header's date-time is 12 octets: the meter's zone (else None)
    raws: Callable[[tuple[Any, ...]], tuple[Any, ...]]  # fields of the values that may change
    makers: tuple[Maker, ...]  # per such field: its reading from its value
    # Per such field: made again on every push, changed or not. Values scaled by
    # plausibility are (Converter.reading never reuses them): they learn a scaler shared by
    # every value of their quantity, in body order, and so must run as the full way runs them.
    always: tuple[bool, ...]
    any_always: bool
    places: tuple[int, ...]  # per such field: its place in `keys`
    keys: tuple[str, ...]  # the values' keys, in body order
    clocks: tuple[int, ...]  # places of the push clock, in body order
    plan: Plan  # the layout's plan (LayoutResult.plan)
    push_setup: str | None
    title: bytes | None  # the system title it was compiled for
    generation: int  # LayoutDecoder.generation it was compiled at
    readings: list[Reading]  # per key, the last push's reading
    last: tuple[Any, ...]  # the last push's `raws`

    def match(self, buf: bytes, pos: int) -> Planned | None:
        """Return the notification at `pos` if it has this shape and every repeating byte."""
        try:
            fields = self.unpack(buf, pos)
        except struct.error:
            return None
        if self.repeating(fields) != self.expected:
            return None
        invoke_id, stamp = self.header(fields)
        tz = self.tz
        return Planned(
            invoke_id, None if tz is None else datetime_from_bytes(stamp, tz), fields, self
        )

    def run(self, fields: tuple[Any, ...]) -> LayoutResult:
        """Return the layout step's result for a matched notification.

        DecodeError for a value the converter refuses (as the full way would); the plan's
        memory changes only when every reading was made.
        """
        raws = self.raws(fields)
        readings = self.readings
        last = self.last
        if self.any_always or raws != last:
            readings = readings.copy()
            makers, places = self.makers, self.places
            due = map(or_, map(ne, raws, last), self.always)  # in body order, as the full way
            try:
                for index in compress(range(len(makers)), due):
                    readings[places[index]] = makers[index](raws[index])
            except DecodeError:
                raise
            except BODY_ERRORS as err:
                raise uninterpretable(err) from err
            self.readings, self.last = readings, raws
        values = dict(zip(self.keys, readings, strict=True))
        timestamp = None
        for place in self.clocks:
            value = readings[place].value
            if isinstance(value, datetime):
                timestamp = value
                break
        plan = self.plan
        return LayoutResult(values, plan.layout, plan.model, self.push_setup, timestamp, plan)


def compile_push_plan(
    skeleton: Skeleton,
    body: Any,
    result: LayoutResult,
    layout: LayoutDecoder,
    title: bytes | None,
    tz: tzinfo,
) -> PushPlan | None:
    """Join the skeleton that read a notification and the Plan that read its body.

    `skeleton.last_fields` and the plan's slot memos must be of that notification (the
    pipeline calls this right after decoding it). None when the body has a part this does
    not handle (a separate time and date, a value that is no single field).
    """
    plan = result.plan
    fields = skeleton.last_fields
    if plan is None or not fields:
        return None
    codes = skeleton.codes
    reading = layout.converter.reading
    keys: list[str] = []
    readings: list[Reading] = []
    clocks: list[int] = []
    changing: list[int] = []
    makers: list[Maker] = []
    always: list[bool] = []
    places: list[int] = []
    for slot in plan.slots:
        if slot.kind not in (VALUE, CLOCK, CAPTURE):
            return None
        found = _value_and_su(skeleton, body, slot)
        if found is None:
            return None
        field, su = found
        if field is not None and (codes[field] in _NUMBERS or slot.kind in (CLOCK, CAPTURE)):
            made = _maker(slot, skeleton.convert_of(field), codes[field], su, reading, tz)
            if made is None:
                return None
            changing.append(field)
            makers.append(made)
            always.append(slot.auto)
            places.append(len(keys))
        if slot.last_reading is None:
            if field is not None:
                return None  # cannot be: a field always has a reading
            continue  # a container that repeats and has no reading: never in the values
        if slot.kind == CLOCK:
            clocks.append(len(keys))
        keys.append(slot.key)
        readings.append(slot.last_reading)
    invoke, date_time = skeleton.field_at((0,)), skeleton.field_at((1,))
    if invoke is None:
        return None
    header = {invoke, *changing} | ({date_time} if date_time is not None else set())
    repeating = [index for index in range(len(codes)) if index not in header]
    if len(repeating) < 2 or len(set(changing)) != len(changing):
        return None
    repeating_of = itemgetter(*repeating)
    # Two repeating fields at the end keep the getter's result a tuple for any count.
    raws = itemgetter(*changing, repeating[0], repeating[1])
    return PushPlan(
        unpack=skeleton.unpack,
        size=skeleton.size,
        repeating=repeating_of,
        expected=repeating_of(fields),
        header=itemgetter(invoke, date_time if date_time is not None else invoke),
        tz=tz if date_time is not None and codes[date_time] == "12s" else None,
        raws=raws,
        makers=tuple(makers),
        always=(*always, False, False),  # the two repeating fields at the end of `raws`
        any_always=any(always),
        places=tuple(places),
        keys=tuple(keys),
        clocks=tuple(clocks),
        plan=plan,
        push_setup=result.push_setup,
        title=title,
        generation=layout.generation,
        readings=readings,
        last=raws(fields),
    )


def _value_and_su(skeleton: Skeleton, body: Any, slot: Slot) -> tuple[int | None, object] | None:
    """Find the field of a slot's value (None: a repeating container) and its scaler_unit.

    As Converter.run reads them: a whole object {name, value[, scaler_unit]} gives its
    value and the scaler_unit it carries, any other slot its element and, if the list has
    one, the pushed scaler_unit at `su_index`, which must repeat.
    """
    if slot.whole:
        element = body[slot.index]
        if type(element) is not tuple or len(element) < 2:
            return None
        su = element[2] if len(element) >= 3 and is_scaler_unit(element[2]) else None
        return skeleton.field_at((2, slot.index, 1)), su
    su = body[slot.su_index] if slot.su_index >= 0 else None
    return skeleton.field_at((2, slot.index)), su


def _maker(
    slot: Slot,
    convert: Callable[[Any], Any] | None,
    code: str,
    su: object,
    reading: Callable[[Slot, object, object], Reading | None],
    tz: tzinfo,
) -> Maker | None:
    """How a changed field becomes its reading.

    A plain integer and a clock of 12 octets take the short way, anything else the
    converter's.
    """
    if (
        code in _INTEGERS
        and (convert is None or convert is Long64)
        and slot.kind == VALUE
        and not slot.auto
    ):
        if slot.simple or su is None:
            scaler, unit = slot.scaler, slot.unit
        else:
            try:
                scaler, unit = scaler_unit(slot, su)
            except DecodeError:
                return None
        return partial(_scaled, scaler or 0, unit)
    general = partial(_converted, reading, slot, convert, su)
    if slot.kind in (CLOCK, CAPTURE) and code == "12s" and convert is None:
        return partial(_clock, tz, general)
    return general


class PushPlans:
    """A connection's push plan, and when to compile one (not for a shape that keeps changing)."""

    __slots__ = ("_misses", "_pause", "hits", "plan")

    def __init__(self) -> None:
        """No plan yet."""
        self.plan: PushPlan | None = None
        self.hits = 0  # notifications read by a plan
        self._misses = 0
        self._pause = 0

    def match(self, buf: bytes, pos: int, title: bytes | None, generation: int) -> Planned | None:
        """Read the notification at `pos` by the plan; None: it goes the full way."""
        plan = self.plan
        if plan is None:
            return None
        if plan.title == title and plan.generation == generation:
            planned = plan.match(buf, pos)
            if planned is not None:
                self._misses = 0
                self.hits += 1
                return planned
        self.plan = None
        self._misses += 1
        if self._misses >= PLAN_MISSES:
            self._misses, self._pause = 0, PLAN_PAUSE
        return None

    def due(self) -> bool:
        """Whether to compile a plan from the push the full way just decoded (not in a pause)."""
        if self._pause:
            self._pause -= 1
            return False
        return True

    def drop(self) -> None:
        """Forget the plan (the notification it matched could not be decoded)."""
        self.plan = None
