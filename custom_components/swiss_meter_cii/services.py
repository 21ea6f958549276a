"""The `get_reading` action: the last push as the Austrian customer-interface data set.

The key list is the Annex D data set of the Oesterreichs Energie customer-interface concept
(docs/protocol.md, "Standard outputs"); every key is always present (None when the meter does
not send it), so automations can rely on the shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
import voluptuous as vol

from .const import DOMAIN
from .decoder.push import Reading

SERVICE_GET_READING: Final = "get_reading"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"


def _codes(prefix: str, groups: str, what: str) -> dict[str, str]:
    """Expand 'C.D.E' groups of one kind of value into full codes -> meaning."""
    return {f"{prefix}:{group}.255": what for group in groups.split()}


def _tariffs(c: int, what: str) -> dict[str, str]:
    """Expand a register and its tariffs 1..4: 1-0:C.8.0 .. 1-0:C.8.4."""
    return {
        f"1-0:{c}.8.{tariff}.255": f"{what}" + (f", tariff {tariff}" if tariff else "")
        for tariff in range(5)
    }


# OBIS code -> what it is: the data set of the Oesterreichs Energie customer-interface
# concept, Annex D (docs/protocol.md, "Standard outputs"). The concept lists 0-0:96.1.1 as
# meter number in one place and as time in another: the key is the code, not a meaning.
ANNEX_D: Final[dict[str, str]] = {
    "0-0:1.0.0.255": "clock (date and time)",
    "0-0:0.9.1.255": "time",
    "0-0:0.9.2.255": "date",
    "0-0:96.1.0.255": "meter serial number (C.1.0)",
    "0-0:96.1.1.255": "meter number",
    "0-0:96.1.2.255": "date",
    "0-0:0.0.1.255": "meter number (adapter format)",
    "0-0:42.0.0.255": "logical device name",
    **_tariffs(1, "active energy import"),
    **_tariffs(2, "active energy export"),
    **_tariffs(3, "reactive energy import"),
    **_tariffs(4, "reactive energy export"),
    **_tariffs(15, "absolute active energy"),
    **_codes("1-0", "1.7.0 2.7.0", "active power import / export"),
    **_codes("1-0", "3.7.0 4.7.0", "reactive power import / export"),
    **_codes("1-0", "32.7.0 52.7.0 72.7.0", "voltage L1 / L2 / L3"),
    **_codes("1-0", "31.7.0 51.7.0 71.7.0", "current L1 / L2 / L3"),
    **_codes("1-0", "13.7.0 33.7.0 53.7.0 73.7.0", "power factor, total / L1 / L2 / L3"),
    "1-0:1.6.0.255": "maximum demand, active power import",
    "1-0:15.35.0.255": "power over-limit threshold",
    **_codes("1-0", "81.7.40 81.7.51 81.7.62", "angle U to I, L1 / L2 / L3"),
    **_codes("1-1", "1.8.0 2.8.0 3.8.1 4.8.1", "energy registers of channel 1"),
    **_codes("1-1", "1.7.0 2.7.0 3.7.0 4.7.0", "powers of channel 1"),
    **_codes("0-0", "96.13.0 96.13.1", "consumer message text / code"),
    "1-3:0.2.8.255": "P1 interface version",
}

SCHEMA: Final = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): str})


def annex_d_values(sent: Mapping[str, Reading]) -> dict[str, Reading | None]:
    """Fill every Annex D code from the push: the code itself, else its channel-1 twin.

    Swiss IDIS lists count on channel 1 (an E450 sends 1-1:1.8.1, Annex D names 1-0:1.8.1);
    a code the meter sends neither way stays None.
    """
    filled: dict[str, Reading | None] = {}
    for code in ANNEX_D:
        reading = sent.get(code)
        if reading is None and code.startswith("1-0:"):
            reading = sent.get("1-1:" + code[4:])
        filled[code] = reading
    return filled


def _json_value(value: object) -> Any:
    """Make a decoded value JSON-safe (Decimal -> float, datetime -> ISO 8601, bytes -> hex)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _json_reading(reading: Reading) -> dict[str, Any]:
    return {"value": _json_value(reading.value), "unit": reading.unit}


async def _get_reading(call: ServiceCall) -> ServiceResponse:
    """Answer from the coordinator's last push; a clear error when there is none."""
    entry_id = str(call.data[ATTR_CONFIG_ENTRY_ID])
    entry = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry_id": entry_id},
        )
    coordinator = entry.runtime_data.coordinator
    push = coordinator.last_push
    if push is None or coordinator.meter is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_push_yet",
            translation_placeholders={"meter": entry.title},
        )
    values: dict[str, Any] = {
        code: None if reading is None else _json_reading(reading)
        for code, reading in annex_d_values(push.values).items()
    }
    timestamp = coordinator.data.timestamp or push.timestamp or coordinator.stats.last_push
    return {
        "meter_number": coordinator.meter.number,
        "timestamp": timestamp.isoformat() if timestamp else None,
        "values": values,
    }


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once for all meters (quality scale: action-setup)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_READING,
        _get_reading,
        schema=SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
