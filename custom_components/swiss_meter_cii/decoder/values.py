"""Python shapes of A-XDR data that plain `int`/`bytes`/`str` cannot express.

The A-XDR parser maps: null -> None, array -> list, structure -> tuple, boolean -> bool,
integer types and bcd -> int (long64 -> Long64, an int), enum -> DlmsEnum, octet-string -> bytes,
visible/utf8-string -> str, float32/64 -> float, bit-string -> BitString,
date-time/date/time (tags 0x19-0x1B) -> CosemDateTime/CosemDate/CosemTime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
import struct

NOT_SPECIFIED_DEVIATION = -0x8000  # 0x8000 read as signed 16 bit
# year, month, day, weekday, hour, minute, second, hundredths, deviation, status
_DATE_TIME = struct.Struct(">HBBBBBBBhB").unpack_from
_OFFSETS: dict[int, timezone] = {}  # deviation (minutes) -> fixed UTC offset, built once


class DlmsEnum(int):
    """An A-XDR enum (tag 0x16): an int that layouts can tell apart (unit of scaler_unit)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"DlmsEnum({int(self)})"


class Long64(int):
    """A 64-bit A-XDR integer (tags 0x14/0x15).

    Kept apart from plain ints because only some meters use 64-bit registers (the L+G
    E570, a CT meter whose currents are unscaled): `auto` can tell the model from it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Long64({int(self)})"


@dataclass(frozen=True, slots=True)
class BitString:
    """An A-XDR bit-string: `bits` significant bits, MSB first, in `data`."""

    bits: int
    data: bytes


@dataclass(frozen=True, slots=True)
class CosemDate:
    """COSEM date (5 bytes); 0xFF/0xFFFF fields are None."""

    year: int | None
    month: int | None
    day: int | None
    weekday: int | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemDate:
        """Parse 5 bytes (no validation beyond not-specified markers)."""
        year = int.from_bytes(raw[0:2], "big")
        return cls(
            None if year == 0xFFFF else year,
            None if raw[2] >= 0xFD else raw[2],
            None if raw[3] >= 0xFD else raw[3],
            None if raw[4] == 0xFF else raw[4],
        )

    def to_date(self) -> date | None:
        """Return the calendar date, or None when a field is not specified or out of range."""
        if self.year is None or self.month is None or self.day is None:
            return None
        try:
            return date(self.year, self.month, self.day)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class CosemTime:
    """COSEM time (4 bytes); 0xFF fields are None."""

    hour: int | None
    minute: int | None
    second: int | None
    hundredths: int | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemTime:
        """Parse 4 bytes."""
        return cls(*(None if b == 0xFF else b for b in raw[0:4]))

    def to_time(self) -> time | None:
        """Wall-clock time, or None when hour/minute are not specified or out of range."""
        if self.hour is None or self.minute is None:
            return None
        try:
            return time(self.hour, self.minute, self.second or 0, (self.hundredths or 0) * 10_000)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """COSEM date-time (12 bytes): date, time, deviation and clock status.

    `deviation` is in minutes as sent (None = not specified); the UTC offset is
    -deviation (what Netz NÖ, amshan and the meters' displays agree on).
    """

    date: CosemDate
    time: CosemTime
    deviation: int | None
    status: int | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemDateTime:
        """Parse 12 bytes (one struct call: every push carries one or two of these)."""
        year, month, day, weekday, hour, minute, second, hundredths, deviation, status = _DATE_TIME(
            raw
        )
        return cls(
            CosemDate(
                None if year == 0xFFFF else year,
                None if month >= 0xFD else month,
                None if day >= 0xFD else day,
                None if weekday == 0xFF else weekday,
            ),
            CosemTime(
                None if hour == 0xFF else hour,
                None if minute == 0xFF else minute,
                None if second == 0xFF else second,
                None if hundredths == 0xFF else hundredths,
            ),
            None if deviation == NOT_SPECIFIED_DEVIATION else deviation,
            None if status == 0xFF else status,
        )

    @property
    def dst(self) -> bool:
        """Daylight saving flag of the clock status (bit 7)."""
        return self.status is not None and bool(self.status & 0x80)

    def to_datetime(self, local_tz: tzinfo) -> datetime | None:
        """Return an aware datetime, or None when the date or time is not usable.

        With a deviation the offset is exact; without one the stamp is wall time in
        `local_tz` (Swiss E450s send deviation "not specified").
        """
        day, clock = self.date, self.time
        return _aware(
            (day.year, day.month, day.day, clock.hour, clock.minute, clock.second),
            clock.hundredths,
            self.deviation,
            self.dst,
            local_tz,
        )


def datetime_from_bytes(raw: bytes, local_tz: tzinfo) -> datetime | None:
    """Convert 12 bytes as `CosemDateTime.from_bytes(raw).to_datetime(local_tz)` does.

    Without building the three objects: a clock value in every push takes this path.
    """
    year, month, day, _, hour, minute, second, hundredths, deviation, status = _DATE_TIME(raw)
    return _aware(
        (
            None if year == 0xFFFF else year,
            None if month >= 0xFD else month,
            None if day >= 0xFD else day,
            None if hour == 0xFF else hour,
            None if minute == 0xFF else minute,
            None if second == 0xFF else second,
        ),
        None if hundredths == 0xFF else hundredths,
        None if deviation == NOT_SPECIFIED_DEVIATION else deviation,
        status != 0xFF and bool(status & 0x80),
        local_tz,
    )


def _aware(
    fields: tuple[int | None, ...],
    hundredths: int | None,
    deviation: int | None,
    dst: bool,
    local_tz: tzinfo,
) -> datetime | None:
    """Aware datetime from (year, month, day, hour, minute, second); see to_datetime."""
    year, month, day, hour, minute, second = fields
    if year is None or month is None or day is None or hour is None or minute is None:
        return None
    if deviation is not None and -720 <= deviation <= 720:
        zone: tzinfo | None = _OFFSETS.get(deviation)
        if zone is None:
            zone = _OFFSETS[deviation] = timezone(timedelta(minutes=-deviation))
        fold = 0
    else:
        # Wall time: the DST flag picks the right side of an ambiguous autumn hour.
        zone, fold = local_tz, 0 if dst else 1
    try:
        return datetime(
            year,
            month,
            day,
            hour,
            minute,
            second or 0,
            (hundredths or 0) * 10_000,
            tzinfo=zone,
            fold=fold,
        )
    except ValueError:
        return None
