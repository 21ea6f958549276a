"""Net grid power (import minus export), derived from the two active-power registers.

Shared by the net power sensor and the dashboard's live graph, so both show the same number.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from .decoder.push import Reading

NET_POWER: Final = "net_power"  # the sensor's key: unique id suffix and translation key
_WATTS_PER_UNIT: Final[dict[str | None, Decimal]] = {"W": Decimal(1), "kW": Decimal(1000)}


def net_power_pair(values: Mapping[str, Reading]) -> tuple[Reading, Reading] | None:
    """Find the 1.7.0/2.7.0 readings of one channel (B=0 preferred), if both were pushed."""
    for channel in (0, 1, 2):
        imported = values.get(f"1-{channel}:1.7.0.255")
        exported = values.get(f"1-{channel}:2.7.0.255")
        if imported is not None and exported is not None:
            return imported, exported
    return None


def net_power(values: Mapping[str, Reading]) -> Decimal | None:
    """Import positive, export negative, in W; None unless both powers are pushed in W/kW."""
    pair = net_power_pair(values)
    if pair is None:
        return None
    imported, exported = (_watts(reading) for reading in pair)
    if imported is None or exported is None:
        return None
    return imported - exported


def graph_power(values: Mapping[str, Reading]) -> Decimal | None:
    """Return what the live graph draws, in W: the net power, else the import power.

    A consumer-only list has no export register; None when the push has neither power.
    """
    watts = net_power(values)
    if watts is not None:
        return watts
    for channel in (0, 1, 2):
        imported = values.get(f"1-{channel}:1.7.0.255")
        if imported is not None:
            return _watts(imported)
    return None


def _watts(reading: Reading) -> Decimal | None:
    value, factor = reading.value, _WATTS_PER_UNIT.get(reading.unit)
    if factor is None or isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    return (Decimal(repr(value)) if isinstance(value, float) else Decimal(value)) * factor
