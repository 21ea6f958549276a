"""Compiled lists: how each body position becomes a reading, resolved once per list.

A `Plan` is a list's slots in body order. A slot knows its code, how to read the value
(a number to scale, the clock, a separate time or date, a capture time), where its scaler
and unit come from (docs/protocol.md, "Scaling and units"; the order is in scaling.py) and
memoises its last raw value and reading: counters repeat from push to push.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, NamedTuple

from ..catalogue import Quantity, describe
from ..push import Reading
from ..scaling import default_scaler, has_plausibility, override_for

# Slot kinds (plain ints: compared on every value of every push).
VALUE: Final = 0
CLOCK: Final = 1  # the push clock (0-0:1.0.0, class 8)
TIME: Final = 2  # a separate time (0-0:0.9.1) ...
DATE: Final = 3  # ... and date (0-0:0.9.2), combined into the push time
CAPTURE: Final = 4  # capture time (attribute 5) of an extended register: never the push clock

# Which part of a pushed scaler_unit a slot takes (capture data_index of attribute 3).
SU_WHOLE: Final = 0
SU_SCALER: Final = 1
SU_UNIT: Final = 2


class Unread:
    """Marker for a slot that has read nothing yet (no raw value compares equal to it)."""


UNREAD: Final = Unread()
_NONE_TYPE: Final = type(None)

# The user's scaler overrides (scaling.normalize_overrides), as sorted items: hashable, so
# that compiled slots can be cached for the process.
type OverrideItems = tuple[tuple[str, int], ...]


@dataclass(slots=True, eq=False)
class Slot:
    """One body position: the code it carries and how to turn its raw value into a reading.

    `scaler` is the fixed scaler (user override, template or model default); None means
    "take it from the pushed scaler_unit" or, with `auto`, "decide by plausibility".
    """

    index: int
    key: str
    kind: int
    quantity: Quantity
    scaler: int | None
    override: int | None
    auto: bool
    unit: str | None
    su_index: int = -1  # position of the pushed scaler_unit, -1: none
    su_part: int = SU_WHOLE
    whole: bool = False  # capture attribute 0: the value is {LN, value[, scaler_unit]}
    # A plain value with a fixed scaler (no pushed scaler_unit, no plausibility rule, not
    # a whole object): most values of most pushes, converted on the plan's short path.
    simple: bool = False
    last_raw: object = field(default=UNREAD)
    last_su: object = None
    # The last pushed scaler_unit this slot resolved and its (scaler, unit): a meter pushes
    # the same scaler_unit for a code in every push.
    su_seen: object = field(default=UNREAD)
    su_scaling: tuple[int | None, str | None] = (None, None)
    last_type: type = _NONE_TYPE
    last_reading: Reading | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled list: slots in body order plus the result's constant fields."""

    layout: str
    model: str
    slots: tuple[Slot, ...]


def kind_for(name: bytes) -> int:
    """Slot kind implied by a logical name: the clock and the separate time/date objects."""
    if name[0] == 0 and name[2:5] == b"\x01\x00\x00":
        return CLOCK
    if name[2:4] == b"\x00\x09" and name[4] in (1, 2):
        return TIME if name[4] == 1 else DATE
    return VALUE


class SlotSpec(NamedTuple):
    """What a slot is, without its memo: compiled once per process, shared by connections.

    The fields are Slot's first fields, in order: `Slot(*spec)` is a slot with a fresh memo
    (`position` is Slot.index: a tuple has an `index` method).
    """

    position: int
    key: str
    kind: int
    quantity: Quantity
    scaler: int | None
    override: int | None
    auto: bool
    unit: str | None
    su_index: int
    su_part: int
    whole: bool
    simple: bool


def slot_spec(
    index: int,
    key: str,
    kind: int,
    profile: str,
    overrides: OverrideItems,
    *,
    su_index: int = -1,
    su_part: int = SU_WHOLE,
    pushed_scaler: bool = False,
    fixed_scaler: int | None = None,
    fixed_unit: str | None = None,
    whole: bool = False,
) -> SlotSpec:
    """Resolve scaler and unit sources for one code (see scaling.py for the order)."""
    override = override_for(dict(overrides), key) if overrides else None
    quantity, scaler, auto, unit = _resolve(
        key, profile, override, pushed_scaler, fixed_scaler, fixed_unit
    )
    simple = kind == VALUE and su_index < 0 and not auto and not whole and scaler is not None
    return SlotSpec(
        index, key, kind, quantity, scaler, override, auto, unit, su_index, su_part, whole, simple
    )


def instantiate(specs: Iterable[SlotSpec]) -> tuple[Slot, ...]:
    """Slots with a fresh memo each: specs are shared between connections, memos never."""
    return tuple(Slot(*spec) for spec in specs)


@lru_cache(maxsize=4096)
def _resolve(
    key: str,
    profile: str,
    override: int | None,
    pushed_scaler: bool,
    fixed_scaler: int | None,
    fixed_unit: str | None,
) -> tuple[Quantity, int | None, bool, str | None]:
    """(quantity, fixed scaler, decide by plausibility, unit) of one code; a pure function.

    Cached for the process like the catalogue it reads: a new connection (or a one-shot
    decode) of a meter seen before compiles its lists without resolving every code again.
    """
    info = describe(key)
    scaler = override
    auto = False
    if scaler is None and not pushed_scaler:
        scaler = fixed_scaler
        if scaler is None:
            scaler = default_scaler(profile, info.quantity)
        if scaler is None:
            auto = has_plausibility(info.quantity)
            scaler = None if auto else 0
    unit = fixed_unit if fixed_unit is not None else info.unit
    return info.quantity, scaler, auto, unit
