"""M-Bus sub-meters relayed by the electricity meter: what the medium byte means.

The device type pushed as 0-n:24.1.0 is the EN 13757-3 medium byte; it decides whether the
meter reading 0-n:24.2.1 is gas, water or heat (docs/protocol.md, "M-Bus sub-meters").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .catalogue import CAPTURE_TIME_ATTRIBUTE, MBUS_CHANNELS
from .obis import attribute_key


class Medium(StrEnum):
    """What a sub-meter measures, as far as Home Assistant needs to know."""

    GAS = "gas"
    WATER = "water"
    HEAT = "heat"
    UNKNOWN = "unknown"


# EN 13757-3 table "Medium" (values the IDIS / DSMR meters relay); the rest is UNKNOWN.
_MEDIA: Final[dict[int, Medium]] = {
    0x03: Medium.GAS,
    0x04: Medium.HEAT,  # heat, return temperature
    0x0C: Medium.HEAT,  # heat, flow temperature
    0x0D: Medium.HEAT,  # heat / cooling load meter
    0x06: Medium.WATER,  # warm water (30..90 degC)
    0x07: Medium.WATER,
    0x15: Medium.WATER,  # hot water (>= 90 degC)
    0x16: Medium.WATER,  # cold water
}


def medium_of(device_type: object) -> Medium:
    """Medium of a pushed device type (int, or the digits DSMR prints); UNKNOWN otherwise."""
    if isinstance(device_type, str) and device_type.strip().isdigit():
        device_type = int(device_type)
    if isinstance(device_type, bool) or not isinstance(device_type, int):
        return Medium.UNKNOWN
    return _MEDIA.get(device_type, Medium.UNKNOWN)


def channel_of(obis: str) -> int | None:
    """M-Bus channel (1..4) of a sub-meter code 0-n:24.x / 0-n:96.1.0; None for others."""
    code = obis.partition("/")[0]
    ab, _, cdef = code.partition(":")
    if not ab.startswith("0-") or not cdef.startswith(("24.", "96.1.0.")):
        return None
    group_b = ab[2:]
    if not group_b.isdigit() or not 1 <= int(group_b) <= MBUS_CHANNELS:
        return None
    return int(group_b)


def value_key(channel: int) -> str:
    """Key of a channel's meter reading."""
    return f"0-{channel}:24.2.1.255"


def capture_time_key(channel: int) -> str:
    """Key of the time a channel's reading was taken (attribute 5 of its register)."""
    return attribute_key(value_key(channel), CAPTURE_TIME_ATTRIBUTE)


def device_type_key(channel: int) -> str:
    """Key of a channel's device type (medium byte)."""
    return f"0-{channel}:24.1.0.255"


def serial_key(channel: int) -> str:
    """Key of a channel's sub-meter serial number."""
    return f"0-{channel}:96.1.0.255"
