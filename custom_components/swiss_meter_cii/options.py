"""The entry's options, parsed once with their defaults (the wizard's options step writes them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .const import (
    CONF_MIN_INTERVAL,
    CONF_SCALER_OVERRIDES,
    CONF_TIME_SOURCE,
    CONF_UNKNOWN_OBIS,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_TIME_SOURCE,
    DEFAULT_UNKNOWN_OBIS,
)

# VSE MQTT output (vse_output.py, README "Standard outputs"): off by default.
CONF_VSE_MQTT: Final = "vse_mqtt"
CONF_VSE_GROUP: Final = "vse_group"
CONF_VSE_SOURCE: Final = "vse_source"  # empty = the meter number
DEFAULT_VSE_GROUP: Final = "building"  # the default of scs/smartmeter-datacollector


@dataclass(frozen=True, slots=True)
class MeterOptions:
    """What a run is set up with; a change of any field reloads the entry."""

    min_interval: float = DEFAULT_MIN_INTERVAL  # seconds between state writes, 0 = every push
    scaler_overrides: str = ""  # "1-0:32.7.0=-1, 1-0:31.7.0=-2"
    unknown_obis: bool = DEFAULT_UNKNOWN_OBIS  # create (disabled) entities for unknown codes
    time_source: str = DEFAULT_TIME_SOURCE  # "meter" or "receive"
    vse_mqtt: bool = False  # publish each push on dt/{group}/{source}/ds
    vse_group: str = DEFAULT_VSE_GROUP
    vse_source: str = ""  # empty = the meter number

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> MeterOptions:
        """Read `entry.options` (missing keys take the defaults)."""
        return cls(
            min_interval=float(options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL)),
            scaler_overrides=str(options.get(CONF_SCALER_OVERRIDES) or "").strip(),
            unknown_obis=bool(options.get(CONF_UNKNOWN_OBIS, DEFAULT_UNKNOWN_OBIS)),
            time_source=str(options.get(CONF_TIME_SOURCE, DEFAULT_TIME_SOURCE)),
            vse_mqtt=bool(options.get(CONF_VSE_MQTT, False)),
            vse_group=str(options.get(CONF_VSE_GROUP) or DEFAULT_VSE_GROUP).strip(),
            vse_source=str(options.get(CONF_VSE_SOURCE) or "").strip(),
        )
