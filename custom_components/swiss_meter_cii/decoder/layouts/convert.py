"""Raw A-XDR values -> readings: exact scaling, text, times; and a compiled plan run.

Integers are scaled exactly (scaling.py); octet-strings become text (or hex); dates and
times become aware datetimes in the meter's zone; structures and arrays have no sensor
form and are skipped. Each slot memoises its last raw value: an unchanged counter reuses
its previous immutable Reading, which is most of a push's values between two pushes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Final

from ..catalogue import Quantity
from ..errors import DecodeError, ErrorKind
from ..push import Reading, Value
from ..scaling import plausible_scaler, scale, scale_float
from ..units import unit_from_dlms
from ..values import BitString, CosemDate, CosemDateTime, CosemTime, Long64, datetime_from_bytes
from .result import LayoutResult
from .shapes import MAX_SCALER, is_date_time, is_int, is_scaler_unit, to_text
from .slots import CAPTURE, CLOCK, DATE, SU_SCALER, SU_WHOLE, TIME, Plan, Slot


class _Skip:
    """Marker for value shapes that have no sensor representation (arrays, structures)."""


_SKIP: Final = _Skip()


class Converter:
    """Per-connection conversion state: the time zone and learned plausibility scalers."""

    __slots__ = ("_learned", "_tz")

    def __init__(self, tz: tzinfo) -> None:
        """Convert times into `tz` (the meter's wall time zone)."""
        self._tz = tz
        self._learned: dict[Quantity, int] = {}

    def run(self, plan: Plan, body: Sequence[object], push_setup: str | None) -> LayoutResult:
        """Execute a compiled plan over a body of the planned size."""
        values: dict[str, Reading] = {}
        timestamp: datetime | None = None
        time_raw: object = None
        date_raw: object = None
        for slot in plan.slots:
            raw = body[slot.index]
            if slot.simple:
                # The short path of reading(): same memo, same conversion of an integer.
                if raw == slot.last_raw and type(raw) is slot.last_type:
                    reading = slot.last_reading
                else:
                    if type(raw) is int:
                        scaler = slot.scaler
                        reading = Reading(raw if not scaler else scale(raw, scaler), slot.unit)
                    else:
                        reading = self.convert(slot, raw, None)
                    slot.last_raw = raw
                    slot.last_type = type(raw)
                    slot.last_su = None
                    slot.last_reading = reading
                if reading is not None:
                    values[slot.key] = reading
                continue
            su = body[slot.su_index] if slot.su_index >= 0 else None
            if slot.whole:
                raw, su = unpack_whole(slot, raw)
            reading = self.reading(slot, raw, su)
            if reading is None:
                continue
            values[slot.key] = reading
            if slot.kind == CLOCK and timestamp is None and isinstance(reading.value, datetime):
                timestamp = reading.value
            elif slot.kind == TIME:
                time_raw = raw
            elif slot.kind == DATE:
                date_raw = raw
        if timestamp is None and time_raw is not None and date_raw is not None:
            timestamp = self.combine(time_raw, date_raw)
        return LayoutResult(values, plan.layout, plan.model, push_setup, timestamp, plan)

    def reading(self, slot: Slot, raw: object, su: object) -> Reading | None:
        """Return one reading (None = no sensor representation), memoised per slot.

        Counters and identifiers repeat from push to push: an unchanged raw value (same
        type, same pushed scaler_unit) reuses the previous immutable Reading.
        """
        if (
            raw == slot.last_raw
            and type(raw) is slot.last_type
            and su == slot.last_su
            and not slot.auto
        ):
            return slot.last_reading
        reading = self.convert(slot, raw, su)
        slot.last_raw = raw
        slot.last_type = type(raw)
        slot.last_su = su
        slot.last_reading = reading
        return reading

    def convert(self, slot: Slot, raw: object, su: object) -> Reading | None:
        """Convert one raw value: integers are scaled, the rest becomes text or time."""
        raw_type = type(raw)
        if raw_type is int or raw_type is Long64:
            number = int(raw)  # type: ignore[call-overload]
            if su is None:
                scaler, unit = slot.scaler, slot.unit
            elif su == slot.su_seen and type(su) is type(slot.su_seen):
                scaler, unit = slot.su_scaling
            else:
                scaler, unit = slot.su_scaling = scaler_unit(slot, su)
                slot.su_seen = su
            if scaler is None:
                scaler = self._auto_scaler(slot.quantity, number) if slot.auto else 0
            return Reading(number if scaler == 0 else scale(number, scaler), unit)
        kind = slot.kind
        if kind in (CLOCK, CAPTURE):
            if isinstance(raw, CosemDateTime):
                return Reading(raw.to_datetime(self._tz), None)
            if type(raw) is bytes and is_date_time(raw):
                return Reading(datetime_from_bytes(raw, self._tz), None)
        elif kind == TIME and type(raw) is bytes and len(raw) == 4:
            raw = CosemTime.from_bytes(raw)
        elif kind == DATE and type(raw) is bytes and len(raw) == 5:
            raw = CosemDate.from_bytes(raw)
        value = self._plain(raw)
        if isinstance(value, _Skip):
            return None
        if type(value) is float:
            scaler, unit = slot.scaler, slot.unit
            if su is not None:
                scaler, unit = scaler_unit(slot, su)
            return Reading(scale_float(value, scaler or 0), unit)
        return Reading(value, None)

    def combine(self, time_raw: object, date_raw: object) -> datetime | None:
        """Timestamp from a separate time (0.9.1) and date (0.9.2), as local wall time."""
        clock = time_raw if isinstance(time_raw, CosemTime) else None
        if type(time_raw) is bytes and len(time_raw) == 4:
            clock = CosemTime.from_bytes(time_raw)
        day = date_raw if isinstance(date_raw, CosemDate) else None
        if type(date_raw) is bytes and len(date_raw) == 5:
            day = CosemDate.from_bytes(date_raw)
        if clock is None or day is None:
            return None
        wall_time, wall_date = clock.to_time(), day.to_date()
        if wall_time is None or wall_date is None:
            return None
        return datetime.combine(wall_date, wall_time).replace(tzinfo=self._tz)

    def _auto_scaler(self, quantity: Quantity, raw: int) -> int:
        """Plausibility scaler; out-of-band values reuse the last in-band decision."""
        scaler = plausible_scaler(quantity, raw)
        if scaler is None:
            return self._learned.get(quantity, 0)
        self._learned[quantity] = scaler
        return scaler

    def _plain(self, raw: object) -> Value | _Skip:
        """Non-integer shapes -> reading values (text, time, bool, float) or _SKIP."""
        if isinstance(raw, bytes | str):
            return to_text(raw)
        if raw is None or isinstance(raw, bool | float):
            return raw
        if isinstance(raw, int):  # DlmsEnum and other int subclasses: never scaled
            return int(raw)
        if isinstance(raw, CosemDateTime):
            return raw.to_datetime(self._tz)
        if isinstance(raw, CosemDate):
            day = raw.to_date()
            return day.isoformat() if day is not None else None
        if isinstance(raw, CosemTime):
            clock = raw.to_time()
            return clock.isoformat() if clock is not None else None
        if isinstance(raw, BitString):
            return raw.data.hex().upper()
        return _SKIP


def scaler_unit(slot: Slot, su: object) -> tuple[int | None, str | None]:
    """(scaler, unit) from a pushed scaler_unit, honouring the user's override."""
    part = slot.su_part
    if part == SU_WHOLE:
        if not is_scaler_unit(su):
            raise DecodeError(
                ErrorKind.MALFORMED, f"scaler_unit of {slot.key} is not {{integer, enum}}"
            )
        scaler: int | None = su[0]
        unit = unit_from_dlms(su[1])
    elif is_int(su) and -MAX_SCALER - 1 <= su <= 255:
        scaler, unit = (su, slot.unit) if part == SU_SCALER else (slot.scaler, unit_from_dlms(su))
    else:
        raise DecodeError(ErrorKind.MALFORMED, f"scaler or unit of {slot.key} is no integer")
    if slot.override is not None:
        scaler = slot.override
    return scaler, unit


def unpack_whole(slot: Slot, raw: object) -> tuple[object, object]:
    """Attribute 0: {logical_name, value[, scaler_unit, ...]} -> (value, scaler_unit)."""
    if not isinstance(raw, tuple) or len(raw) < 2:
        raise DecodeError(
            ErrorKind.MALFORMED, f"whole object {slot.key} is not a structure of attributes"
        )
    su = raw[2] if len(raw) >= 3 and is_scaler_unit(raw[2]) else None
    return raw[1], su
