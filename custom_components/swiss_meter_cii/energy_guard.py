"""Keep cumulative registers monotonic: the Energy dashboard counts every drop as a meter reset.

One zero or one lower value in a `total_increasing` sensor makes Home Assistant add the whole
register again to the statistics, so a glitch is dropped here (the last good value stays). A
drop that persists over many consecutive, consistent pushes is not a glitch (a changed scaler
override, a meter that really restarted its register) and is accepted after `resync_after`
pushes. Zero after a non-zero value is never accepted; a new meter shows up under a new meter
number and starts with a fresh guard anyway.

A glitch upwards would be worse: once published, every real value after it looks like a drop.
So a step far larger than the register's recent steps (and above `SPIKE_MIN`) is held back
until `CONFIRM_PUSHES` pushes in a row stay at least as high: a real catch-up after an outage
is published two pushes late; a corrupt spike, even one repeated in the next push (a wrong
scaler for two pushes), never, because the real value that follows falls back below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
import logging

from .decoder.catalogue import Quantity, describe
from .decoder.push import Reading

_LOGGER = logging.getLogger(__name__)

RESYNC_PUSHES = 30
SPIKE_MIN = Decimal(10_000)  # base units (Wh, varh, VAh): smaller steps are never held back
SPIKE_FACTOR = 10  # ... nor steps up to this many times the largest recent step
CONFIRM_PUSHES = 3  # a held step is published once this many pushes in a row reach it
_STEP_DECAY = Decimal("0.99")  # the "largest recent step" fades by 1 % per push

# What the guard applies to: registers the Energy dashboard sums.
CUMULATIVE: frozenset[Quantity] = frozenset(
    {
        Quantity.ACTIVE_ENERGY,
        Quantity.REACTIVE_ENERGY,
        Quantity.APPARENT_ENERGY,
        Quantity.SUBMETER_TOTAL,  # gas / water / heat meter readings: the guard applies too
    }
)

# Registers may arrive in Wh from binary pushes and in kWh from DSMR text: compare (and store
# across restarts) in base units. unit -> (base unit, factor).
_UNITS: dict[str, tuple[str, Decimal]] = {
    prefix + base: (base, factor)
    for base in ("Wh", "varh", "VAh")
    for prefix, factor in (("", Decimal(1)), ("k", Decimal(1000)), ("M", Decimal(1_000_000)))
}


def base_unit(unit: str | None) -> str | None:
    """Return the unit the guard keeps a register in (kWh -> Wh); others unchanged."""
    known = _UNITS.get(unit or "")
    return known[0] if known else unit


def reading_magnitude(reading: Reading) -> Decimal | None:
    """Return the reading in base units (Wh, varh, VAh), or None when not a number."""
    value = reading.value
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    try:
        number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    known = _UNITS.get(reading.unit or "")
    return number * known[1] if known else number


@lru_cache(maxsize=1024)
def is_cumulative(obis: str) -> bool:
    """Tell whether `obis` is a register the Energy dashboard sums (guarded)."""
    return describe(obis).quantity in CUMULATIVE


def not_above(reading: Reading, current: Reading | None) -> bool:
    """Whether a register reading is not higher than the current one (both numbers)."""
    if current is None:
        return False
    new, old = reading_magnitude(reading), reading_magnitude(current)
    return new is not None and old is not None and new <= old


@dataclass(slots=True)
class _Drop:
    """A run of consecutive lower values: accepted once long and consistent enough."""

    count: int
    last: Decimal


@dataclass(slots=True)
class _Held:
    """A large step up, held back until enough pushes confirm it."""

    value: Decimal
    count: int


class EnergyGuard:
    """Decides per register whether a new reading may be published."""

    def __init__(self, resync_after: int = RESYNC_PUSHES) -> None:
        self._resync_after = resync_after
        self._last: dict[str, Decimal] = {}
        self._drops: dict[str, _Drop] = {}
        self._held: dict[str, _Held] = {}  # a large step waiting for confirmation
        self._step: dict[str, Decimal] = {}  # largest recent step, fading
        self._warned: set[str] = set()
        self.rejected: dict[str, int] = {}

    def last(self, register: str) -> Decimal | None:
        """Return the last value let through for `register` (base units)."""
        return self._last.get(register)

    def seed(self, register: str, reading: Reading) -> None:
        """Start from a value published before a restart (only if nothing newer is known)."""
        magnitude = reading_magnitude(reading)
        if register not in self._last and magnitude is not None and magnitude >= 0:
            self._last[register] = magnitude

    def restore(self, register: str, obis: str, value: object, unit: str | None) -> None:
        """Seed `register` from its sensor's restored state (a number), if the guard keeps it.

        Sensors call this as they are restored, before the first push of a run.
        """
        if is_cumulative(obis) and isinstance(value, int | float | Decimal):
            self.seed(register, Reading(value, unit))

    def kept(self, register: str, obis: str, unit: str | None) -> tuple[Decimal, str | None] | None:
        """Return what a sensor showing nothing must store at shutdown: its last guarded value.

        Otherwise an unavailable register restores nothing, and the first (possibly lower)
        value after the restart would pass the guard unchecked. `unit` is the sensor's.
        """
        if not is_cumulative(obis):
            return None
        last = self._last.get(register)
        return None if last is None else (last, base_unit(unit))

    def accept(self, register: str, reading: Reading) -> bool:
        """Return True when `reading` may be published; count and log the ones that may not."""
        value = reading_magnitude(reading)
        if value is None or value < 0:
            return self._reject(register, reading, "not a non-negative number")
        previous = self._last.get(register)
        if previous is None:
            self._last[register] = value
            return True
        held = self._held.get(register)
        if held is not None and value < held.value:
            del self._held[register]  # fell back below the held step: that was a glitch
            held = None
        if value >= previous:
            step = value - previous
            if held is not None:
                step = value - held.value
                held.value = value
                held.count += 1
                if held.count < CONFIRM_PUSHES:
                    return self._reject(register, reading, "large step not yet confirmed")
                del self._held[register]  # confirmed: a catch-up, not a glitch
            elif step > max(SPIKE_MIN, SPIKE_FACTOR * self._step.get(register, Decimal(0))):
                self._held[register] = _Held(value, 1)
                return self._reject(register, reading, f"jump of {step} waits for confirmation")
            self._step[register] = max(step, self._step.get(register, Decimal(0)) * _STEP_DECAY)
            self._last[register] = value
            self._drops.pop(register, None)
            return True
        if value == 0:
            return self._reject(register, reading, f"zero after {previous}")
        drop = self._drops.get(register)
        if drop is not None and value >= drop.last:
            drop.count += 1
            drop.last = value
        else:
            drop = self._drops[register] = _Drop(1, value)
        if drop.count >= self._resync_after:
            _LOGGER.warning(
                "%s stayed below its last value for %d pushes; accepting %s (register reset "
                "or changed scaler)",
                register,
                drop.count,
                reading.value,
            )
            self._last[register] = value
            del self._drops[register]
            return True
        return self._reject(register, reading, f"lower than {previous}")

    def _reject(self, register: str, reading: Reading, why: str) -> bool:
        self.rejected[register] = self.rejected.get(register, 0) + 1
        if register not in self._warned:
            self._warned.add(register)
            _LOGGER.warning(
                "Dropped implausible reading of %s: %r %s (%s); the last good value stays",
                register,
                reading.value,
                reading.unit or "",
                why,
            )
        else:
            _LOGGER.debug("Dropped %s = %r (%s)", register, reading.value, why)
        return False
