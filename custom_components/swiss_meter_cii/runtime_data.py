"""What a loaded entry holds (`entry.runtime_data`): built once at set-up, never changed.

Everything a platform, the diagnostics or an action needs from a running meter is reached
through these fields, so nothing has to be attached to the coordinator from outside.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import SwissMeterCoordinator
from .options import MeterOptions
from .reader import MeterReader

type SwissMeterConfigEntry = ConfigEntry[SwissMeterData]


@dataclass(frozen=True, slots=True)
class SwissMeterData:
    """The run of one entry: its state, the loop reading the port, the options it started with."""

    coordinator: SwissMeterCoordinator
    reader: MeterReader  # owns the read task and the decoder (its statistics for diagnostics)
    options: MeterOptions
