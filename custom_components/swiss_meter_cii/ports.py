"""Ports as the wizard handles them: listing adapters, normalising what was typed, one reader each.

The wizard stores stable names (a `/dev/serial/by-id` link rather than `/dev/ttyUSB0`, which
moves between reboots) and refuses a port another entry already reads: two readers on one tty
each get half the bytes, and a ser2net port takes one client. Redaction of ports for logs and
texts is link.redact_port (the reader and the live check use it too).
"""

from __future__ import annotations

from collections.abc import Iterable
import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
import serialx

from .const import CONF_PORT
from .link import is_url

_LOGGER = logging.getLogger(__name__)

# serialx opens these; tcp:// is accepted as a friendly alias of socket://.
URL_SCHEMES = ("socket", "esphome", "esphome-hass", "rfc2217")
# Serial proxies addressed by name, not host:port: esphome:// (serialx talks to the device's
# API itself) and esphome-hass:// (HA 2026.5+: a proxy of a configured ESPHome device, as
# the serial-port selector offers it; only Home Assistant can open it).
_PORTLESS_SCHEMES = ("esphome", "esphome-hass")
SERIAL_BY_ID = "/dev/serial/by-id"
# host:port or [v6]:port; device paths start with / and Windows COM ports have no colon.
_HOST_PORT = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):\d{1,5}")


def normalize_port(text: str, *, network: bool) -> str:
    """Turn what the user typed into a port the link can open; ValueError if unusable.

    A bare 'host:port' means a raw TCP bridge (ser2net) and becomes socket://host:port. On the
    network step anything but a URL is refused; elsewhere it is a device path.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty port")
    if "://" not in text:
        if _HOST_PORT.fullmatch(text):
            text = f"socket://{text}"
        elif network:
            raise ValueError("neither a URL nor host:port")
        else:
            return text
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme == "tcp":
        scheme = "socket"
    if scheme not in URL_SCHEMES:
        raise ValueError(f"unsupported scheme {scheme!r}")
    url = f"{scheme}://{rest}"
    parts = urlsplit(url)
    port = parts.port  # raises ValueError when not a number in 0..65535
    if not parts.hostname:
        raise ValueError("no host")
    if scheme not in _PORTLESS_SCHEMES and not port:
        raise ValueError("no TCP port")
    return url


def serial_by_id(device: str) -> str:
    """Prefer the stable /dev/serial/by-id link of a device path (blocking)."""
    if is_url(device) or device.startswith(SERIAL_BY_ID) or not os.path.isdir(SERIAL_BY_ID):
        return device
    real = os.path.realpath(device)
    with os.scandir(SERIAL_BY_ID) as entries:
        for entry in entries:
            if entry.is_symlink() and os.path.realpath(entry.path) == real:
                return entry.path
    return device


async def async_stored_port(hass: HomeAssistant, text: str, *, network: bool) -> str:
    """Return the form of a typed port the entry stores; ValueError if unusable."""
    port = normalize_port(text, network=network)
    return port if network else await hass.async_add_executor_job(serial_by_id, port)


def same_port(port: str, other: str) -> bool:
    """Whether two stored ports reach the same device (blocking: resolves symlinks)."""
    if is_url(port) or is_url(other):
        return port == other
    return port == other or os.path.realpath(port) == os.path.realpath(other)


async def async_port_in_use(
    hass: HomeAssistant, port: str, entries: Iterable[ConfigEntry], flow_entry: str | None
) -> bool:
    """Another of `entries` than `flow_entry` (an id) already reads this port."""
    others = [
        entry.data[CONF_PORT]
        for entry in entries
        if CONF_PORT in entry.data and entry.entry_id != flow_entry
    ]
    for other in others:
        if await hass.async_add_executor_job(same_port, port, other):
            return True
    return False


def port_label(info: serialx.SerialPortInfo) -> str:
    """'FT232R USB UART - FTDI (/dev/serial/by-id/...)': what users recognise in a list."""
    names = [n for n in (info.product, info.manufacturer) if n]
    if info.serial_number and names:
        names[-1] = f"{names[-1]}, s/n {info.serial_number}"
    return f"{' - '.join(names)} ({info.device})" if names else info.device


async def async_port_options() -> list[selector.SelectOptionDict]:
    """List detected serial ports, USB adapters first (the meter is almost always on one)."""
    try:
        ports = await serialx.async_list_serial_ports()
    except (OSError, serialx.SerialException) as err:
        _LOGGER.debug("Listing serial ports failed: %s", err)
        return []
    ports.sort(key=lambda p: (p.vid is None, p.device))
    seen: set[str] = set()
    options = []
    for info in ports:
        if info.device not in seen:
            seen.add(info.device)
            options.append(selector.SelectOptionDict(value=info.device, label=port_label(info)))
    return options


async def async_port_selector(hass: HomeAssistant) -> selector.Selector[Any]:
    """HA 2026's serial_port selector when available, else a list of ports plus free entry."""
    serial_port_selector = getattr(selector, "SerialPortSelector", None)
    if serial_port_selector is not None and "usb" in hass.config.components:
        port_selector: selector.Selector[Any] = serial_port_selector()
        return port_selector
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=await async_port_options(),
            custom_value=True,
            mode=selector.SelectSelectorMode.DROPDOWN,
            sort=False,
        )
    )
