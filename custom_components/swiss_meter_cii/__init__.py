"""Swiss Meter CII: read the consumer interface of Swiss and Austrian smart meters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .const import (
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_FORMAT,
    DOMAIN,
    PROBE_ORDER,
    SERIAL_FORMAT_AUTO,
)
from .coordinator import SwissMeterCoordinator
from .dashboard import async_setup_dashboard
from .decoder import StreamDecoder, parse_key
from .decoder.models import AUTO
from .decoder.scaling import parse_scaler_overrides
from .link import LinkError, SerialFormat, open_link
from .options import MeterOptions
from .reader import MeterReader
from .runtime_data import SwissMeterConfigEntry, SwissMeterData
from .services import async_setup_services
from .vse_output import async_setup_vse_output

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]
STOP_TIMEOUT = 5.0
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register what serves every meter at once: services, the dashboard, its WebSocket API."""
    await async_setup_dashboard(hass)
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SwissMeterConfigEntry) -> bool:
    """Open the link once (so a missing adapter retries set-up) and start the reader."""
    data = entry.data
    key, auth_key = _keys(data)
    options = MeterOptions.from_mapping(entry.options)
    try:
        overrides = parse_scaler_overrides(options.scaler_overrides)
    except ValueError as err:
        raise _settings_error("invalid_scaler_overrides", err) from err
    model = str(data.get(CONF_MODEL) or AUTO)
    local_tz = dt_util.get_default_time_zone()
    country = hass.config.country  # Kamstrup energy counts 10 Wh in Norway, Wh in Sweden

    def new_decoder() -> StreamDecoder:
        return StreamDecoder(
            key=key,
            auth_key=auth_key,
            model=model,
            scaler_overrides=overrides,
            local_tz=local_tz,
            country=country,
        )

    try:
        new_decoder()  # a model id this version does not know fails here, before the port opens
    except ValueError as err:
        raise _settings_error("invalid_settings", err) from None

    port = str(data[CONF_PORT])
    serial_format = str(data.get(CONF_SERIAL_FORMAT) or SERIAL_FORMAT_AUTO)
    first_format = PROBE_ORDER[0] if serial_format == SERIAL_FORMAT_AUTO else serial_format
    try:
        link = await open_link(port, SerialFormat.parse(first_format))
    except (LinkError, ValueError) as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err

    coordinator = SwissMeterCoordinator(hass, entry, options)
    reader = MeterReader(coordinator, port, serial_format, new_decoder, first_link=link)
    entry.runtime_data = SwissMeterData(coordinator, reader, options)
    try:
        # The platforms first: restored registers seed the energy guard before any push.
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    except BaseException:
        link[1].close()
        raise
    coordinator.async_start()
    async_setup_vse_output(hass, entry)
    reader.start(
        lambda run: entry.async_create_background_task(hass, run, f"{DOMAIN} reader {entry.title}")
    )
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SwissMeterConfigEntry) -> bool:
    """Unload the platforms, then stop the reader (which closes the port)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.reader.stop(STOP_TIMEOUT)
    return unloaded


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: SwissMeterConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete the device of a meter that is gone (stale-devices).

    Never the configured meter's (it carries the link diagnostics; a replaced meter is moved
    off it by the meter_replaced repair) nor the one sending now.
    """
    coordinator = entry.runtime_data.coordinator
    keep = {entry.unique_id, coordinator.meter.number if coordinator.meter else None}
    return not any(domain == DOMAIN and ident in keep for domain, ident in device.identifiers)


async def _async_options_updated(hass: HomeAssistant, entry: SwissMeterConfigEntry) -> None:
    """Options are read once at set-up: reload when they change (not on data-only updates)."""
    if MeterOptions.from_mapping(entry.options) != entry.runtime_data.options:
        hass.config_entries.async_schedule_reload(entry.entry_id)


def _keys(data: Mapping[str, Any]) -> tuple[bytes | None, bytes | None]:
    """Parse the stored keys; a broken one asks the user for a new one (never shown)."""
    keys: list[bytes | None] = []
    for field in (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY):
        text = data.get(field)
        if not text:
            keys.append(None)
            continue
        try:
            keys.append(parse_key(str(text)))
        except ValueError:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="invalid_key",
            ) from None
    return keys[0], keys[1]


def _settings_error(translation_key: str, err: ValueError) -> ConfigEntryError:
    """Report stored settings this version cannot use, in the user's language."""
    return ConfigEntryError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders={"error": str(err)},
    )
