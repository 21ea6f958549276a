"""Setup wizard: pick the port, the meter and its keys, then prove it works with a live check.

Users get one chance to understand why a meter does not show up, so nothing is created until
the probe has decoded real pushes, and every failure has its own message (field report #1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
from homeassistant.helpers.translation import async_get_translations
import serialx
import voluptuous as vol

from .const import (
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_MIN_INTERVAL,
    CONF_MODEL,
    CONF_PORT,
    CONF_PUSH_INTERVALS,
    CONF_SCALER_OVERRIDES,
    CONF_SERIAL_FORMAT,
    CONF_TIME_SOURCE,
    CONF_UNKNOWN_OBIS,
    DOMAIN,
    PROBE_ORDER,
    SERIAL_FORMAT_AUTO,
    SERIAL_FORMATS,
    TIME_SOURCE_METER,
    TIME_SOURCE_RECEIVE,
)
from .decoder import parse_key
from .decoder.models import AUTO, MODEL_IDS
from .decoder.scaling import parse_scaler_overrides
from .link import is_url, redact_port
from .options import CONF_VSE_GROUP, CONF_VSE_MQTT, CONF_VSE_SOURCE, MeterOptions
from .presets import CONF_UTILITY, NO_UTILITY, UtilityPreset, get_preset, sorted_presets
from .probe import (
    CANNOT_CONNECT,
    NO_DATA,
    NO_FRAMES,
    ProbeError,
    ProbeResult,
    ProbeTimeouts,
    async_probe,
)
from .vse_output import valid_topic_level

_LOGGER = logging.getLogger(__name__)

# Tests shorten these; the flow reads the module attribute at probe time.
PROBE_TIMEOUTS = ProbeTimeouts()

STEP_SERIAL = "serial"
STEP_NETWORK = "network"
STEP_METER = "meter"
STEP_PROBE = "probe"
STEP_CONFIRM = "confirm"
STEP_APPLY = "apply"
STEP_RECONFIGURE = "reconfigure"
STEP_REAUTH_CONFIRM = "reauth_confirm"

ERROR_INVALID_KEY = "invalid_key"
ERROR_INVALID_URL = "invalid_url"
ERROR_INVALID_SCALER = "invalid_scaler"
ERROR_INVALID_TOPIC = "invalid_topic_level"
ERROR_MQTT_MISSING = "mqtt_missing"
SECTION_VSE = "vse_output"  # the options form's collapsed section of the VSE MQTT output
ERROR_PORT_IN_USE = "port_in_use"
ERROR_UNKNOWN = "unknown"
ABORT_WRONG_METER = "wrong_meter"

# Probe failures that are about the line, not the meter's keys: the user fixes the port step.
_LINK_ERRORS = frozenset({CANNOT_CONNECT, NO_DATA, NO_FRAMES})

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


def _normalize_key(text: str | None) -> tuple[str, bytes | None]:
    """Return the stored form (upper-case hex, '' if absent) and the bytes; ValueError if bad."""
    if not text or not text.strip():
        return "", None
    key = parse_key(text)
    return key.hex().upper(), key


def _stored_key(text: str | None) -> bytes | None:
    """Bytes of a key already stored in an entry (it was validated when it was stored)."""
    return parse_key(text) if text else None


def _serial_by_id(device: str) -> str:
    """Prefer the stable /dev/serial/by-id link of a device path (blocking)."""
    if is_url(device) or device.startswith(SERIAL_BY_ID) or not os.path.isdir(SERIAL_BY_ID):
        return device
    real = os.path.realpath(device)
    with os.scandir(SERIAL_BY_ID) as entries:
        for entry in entries:
            if entry.is_symlink() and os.path.realpath(entry.path) == real:
                return entry.path
    return device


def _same_port(port: str, other: str) -> bool:
    """Whether two stored ports reach the same device (blocking: resolves symlinks)."""
    if is_url(port) or is_url(other):
        return port == other
    return port == other or os.path.realpath(port) == os.path.realpath(other)


def _port_label(info: serialx.SerialPortInfo) -> str:
    """'FT232R USB UART - FTDI (/dev/serial/by-id/...)': what users recognise in a list."""
    names = [n for n in (info.product, info.manufacturer) if n]
    if info.serial_number and names:
        names[-1] = f"{names[-1]}, s/n {info.serial_number}"
    return f"{' - '.join(names)} ({info.device})" if names else info.device


async def _async_port_options() -> list[selector.SelectOptionDict]:
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
            options.append(selector.SelectOptionDict(value=info.device, label=_port_label(info)))
    return options


async def _async_port_selector(hass: HomeAssistant) -> selector.Selector[Any]:
    """HA 2026's serial_port selector when available, else a list of ports plus free entry."""
    serial_port_selector = getattr(selector, "SerialPortSelector", None)
    if serial_port_selector is not None and "usb" in hass.config.components:
        port_selector: selector.Selector[Any] = serial_port_selector()
        return port_selector
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=await _async_port_options(),
            custom_value=True,
            mode=selector.SelectSelectorMode.DROPDOWN,
            sort=False,
        )
    )


def _format_selector() -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=[SERIAL_FORMAT_AUTO, *SERIAL_FORMATS],
            translation_key=CONF_SERIAL_FORMAT,
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


def _model_selector() -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=list(MODEL_IDS),
            translation_key=CONF_MODEL,
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


def _utility_selector() -> selector.SelectSelector:
    # Utility names are proper nouns: shown as in the table; only "none/other" is translated.
    options = [selector.SelectOptionDict(value=NO_UTILITY, label="None / other")]
    options += [
        selector.SelectOptionDict(value=p.id, label=f"{p.name} ({p.country})")
        for p in sorted_presets()
    ]
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options,
            translation_key=CONF_UTILITY,
            mode=selector.SelectSelectorMode.DROPDOWN,
            sort=False,
        )
    )


async def _async_utility_hint(hass: HomeAssistant, preset: UtilityPreset | None) -> str:
    """Describe interface, key ordering and GAK of a preset, in the user's language."""
    if preset is None:
        return ""
    strings = await async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    prefix = f"component.{DOMAIN}.selector.utility_hint.options."

    def text(key: str) -> str:
        return strings.get(prefix + key, "")

    if preset.interface == "not_dlms":  # nothing else matters: no DLMS to read
        parts = [text("interface_not_dlms")]
    else:
        gak = {True: "gak_yes", False: "gak_no", None: "gak_unknown"}[preset.uses_gak]
        parts = [
            text(f"interface_{preset.interface or 'unknown'}"),
            text("key_url" if preset.key_url else "key_unknown"),
            text(gak),
        ]
    where = (preset.key_url or "").removeprefix("mailto:")  # an e-mail address as written
    hint = " ".join(p for p in parts if p)
    return "\n\n" + hint.replace("{name}", preset.name).replace("{url}", where)


def _key_selector() -> selector.TextSelector:
    # Hidden like a password: keys end up on screenshots in forum posts otherwise.
    return selector.TextSelector(
        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
    )


def _key_errors(user_input: Mapping[str, Any], *, required: bool = False) -> dict[str, str]:
    """Syntax errors of the key fields (never echoes the key: only an error key)."""
    errors: dict[str, str] = {}
    for field in (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY):
        try:
            _normalize_key(user_input.get(field))
        except ValueError:
            errors[field] = ERROR_INVALID_KEY
    if required and not (user_input.get(CONF_ENCRYPTION_KEY) or "").strip():
        errors[CONF_ENCRYPTION_KEY] = ERROR_INVALID_KEY
    return errors


class SwissMeterConfigFlow(ConfigFlow, domain=DOMAIN):
    """Port -> meter and keys -> live check -> confirm; also reconfigure and reauth."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._port_step = STEP_SERIAL
        self._port = ""
        self._serial_format = SERIAL_FORMAT_AUTO
        self._model = AUTO
        self._utility = NO_UTILITY  # preset chosen on the port step (not stored in the entry)
        self._key_text = ""
        self._auth_key_text = ""
        self._have_keys = False  # the meter step was filled in (a port retry skips it)
        self._errors: dict[str, str] = {}
        self._probe_task: asyncio.Task[ProbeResult] | None = None
        self._result: ProbeResult | None = None
        self._paused = False  # the entry was unloaded to free the port for the probe

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SwissMeterOptionsFlow:
        """Options live in their own flow."""
        return SwissMeterOptionsFlow()

    # -- user flow ---------------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask how the meter is connected."""
        return self.async_show_menu(step_id="user", menu_options=[STEP_SERIAL, STEP_NETWORK])

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick a serial adapter plugged into this machine."""
        self._port_step = STEP_SERIAL
        errors = self._take_errors()
        if user_input is not None:
            try:
                port = normalize_port(user_input[CONF_PORT], network=False)
            except ValueError:
                errors = {CONF_PORT: ERROR_INVALID_URL}
            else:
                port = await self.hass.async_add_executor_job(_serial_by_id, port)
                return await self._async_port_chosen(port, user_input)
        schema = vol.Schema(
            {
                vol.Optional(CONF_UTILITY, default=NO_UTILITY): _utility_selector(),
                vol.Required(CONF_PORT): await _async_port_selector(self.hass),
                vol.Required(CONF_SERIAL_FORMAT, default=SERIAL_FORMAT_AUTO): _format_selector(),
            }
        )
        return self.async_show_form(
            step_id=STEP_SERIAL,
            data_schema=self.add_suggested_values_to_schema(schema, self._port_suggestion()),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Enter the address of a ser2net bridge or an ESPHome serial proxy."""
        self._port_step = STEP_NETWORK
        errors = self._take_errors()
        if user_input is not None:
            try:
                port = normalize_port(user_input[CONF_PORT], network=True)
            except ValueError:
                errors = {CONF_PORT: ERROR_INVALID_URL}
            else:
                return await self._async_port_chosen(port, user_input)
        schema = vol.Schema(
            {
                vol.Optional(CONF_UTILITY, default=NO_UTILITY): _utility_selector(),
                vol.Required(CONF_PORT): selector.TextSelector(),
                vol.Required(CONF_SERIAL_FORMAT, default=SERIAL_FORMAT_AUTO): _format_selector(),
            }
        )
        return self.async_show_form(
            step_id=STEP_NETWORK,
            data_schema=self.add_suggested_values_to_schema(schema, self._port_suggestion()),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def _async_port_chosen(
        self, port: str, user_input: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Remember the port; retry the probe directly when the keys are already known."""
        self._port = port
        self._serial_format = user_input.get(CONF_SERIAL_FORMAT, SERIAL_FORMAT_AUTO)
        preset = get_preset(user_input.get(CONF_UTILITY))
        self._utility = preset.id if preset is not None else NO_UTILITY
        if preset is not None:
            # The preset fills what the user left open; an explicit choice always wins.
            if self._serial_format == SERIAL_FORMAT_AUTO:
                self._serial_format = preset.serial_format
            if not self._have_keys:
                self._model = preset.model
        if await self._async_port_in_use(port):
            self._errors = {CONF_PORT: ERROR_PORT_IN_USE}
            return await (
                self.async_step_network()
                if self._port_step == STEP_NETWORK
                else self.async_step_serial()
            )
        if self._have_keys:
            return await self.async_step_probe()
        return await self.async_step_meter()

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Meter model and keys."""
        errors = self._take_errors()
        if user_input is not None:
            self._model = user_input.get(CONF_MODEL, AUTO)
            errors = _key_errors(user_input)
            if not errors:
                self._key_text = _normalize_key(user_input.get(CONF_ENCRYPTION_KEY))[0]
                self._auth_key_text = _normalize_key(user_input.get(CONF_AUTHENTICATION_KEY))[0]
                self._have_keys = True
                return await self.async_step_probe()
        schema = vol.Schema(
            {
                vol.Required(CONF_MODEL, default=AUTO): _model_selector(),
                vol.Optional(CONF_ENCRYPTION_KEY): _key_selector(),
                vol.Optional(CONF_AUTHENTICATION_KEY): _key_selector(),
            }
        )
        hint = await _async_utility_hint(self.hass, get_preset(self._utility))
        # Keys are never sent back to the browser; only the model is kept.
        return self.async_show_form(
            step_id=STEP_METER,
            data_schema=self.add_suggested_values_to_schema(schema, {CONF_MODEL: self._model}),
            errors=errors,
            description_placeholders={**self._placeholders(), "utility_hint": hint},
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the live check found and create the entry."""
        result = self._result
        assert result is not None
        await self.async_set_unique_id(self._unique_id(result))
        self._abort_if_unique_id_configured()
        if user_input is not None:
            return self.async_create_entry(title=self._title(result), data=self._entry_data())
        return self.async_show_form(
            step_id=STEP_CONFIRM,
            data_schema=vol.Schema({}),
            description_placeholders=self._placeholders(),
        )

    # -- live check (shared by all sources) --------------------------------------------------

    async def async_step_probe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listen to the meter in the background; the UI (or REST client) polls this step."""
        started = self._probe_task is None
        if self._probe_task is None:
            self._result = None
            self._probe_task = self.hass.async_create_task(
                self._async_probe(), f"{DOMAIN} live check"
            )
        # Always show progress once: "done" may only follow a progress step, and an eager
        # task that failed at once would otherwise loop through the submitting form.
        if started or not self._probe_task.done():
            # step_id: the check is entered from the meter, reconfigure and reauth steps.
            return self.async_show_progress(
                step_id=STEP_PROBE,
                progress_action=STEP_PROBE,
                progress_task=self._probe_task,
                description_placeholders=self._placeholders(),
            )
        task, self._probe_task = self._probe_task, None
        try:
            self._result = task.result()
        except ProbeError as err:
            self._errors = {"base": err.reason}
            return self.async_show_progress_done(next_step_id=self._retry_step(err.reason))
        except Exception:
            _LOGGER.exception("Unexpected error during the live check")
            self._errors = {"base": ERROR_UNKNOWN}
            return self.async_show_progress_done(next_step_id=self._retry_step(ERROR_UNKNOWN))
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            return self.async_show_progress_done(next_step_id=STEP_APPLY)
        return self.async_show_progress_done(next_step_id=STEP_CONFIRM)

    async def _async_probe(self) -> ProbeResult:
        """Run the probe, freeing the port from our own running entry first."""
        entry = self._flow_entry()
        paused = False
        if entry is not None and entry.state in (
            ConfigEntryState.LOADED,
            ConfigEntryState.SETUP_RETRY,
        ):
            # A tty read by two processes splits the bytes, a ser2net port takes one client.
            paused = await self.hass.config_entries.async_unload(entry.entry_id)
        try:
            result = await async_probe(
                self._port,
                self._serial_format,
                key=_stored_key(self._key_text),
                auth_key=_stored_key(self._auth_key_text),
                model=self._model,
                timeouts=PROBE_TIMEOUTS,
            )
        except BaseException:
            if paused and entry is not None:
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            raise
        self._paused = paused
        return result

    def _retry_step(self, reason: str) -> str:
        """Pick the form where the user can fix what the probe complained about."""
        if self.source == SOURCE_REAUTH:
            return STEP_REAUTH_CONFIRM
        if self.source == SOURCE_RECONFIGURE:
            return STEP_RECONFIGURE
        return self._port_step if reason in _LINK_ERRORS else STEP_METER

    # -- reconfigure and reauth --------------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change port, line settings, model or keys of the same meter."""
        entry = self._get_reconfigure_entry()
        errors = self._take_errors()
        if user_input is not None:
            try:
                port = normalize_port(user_input[CONF_PORT], network=False)
            except ValueError:
                errors = {CONF_PORT: ERROR_INVALID_URL}
            else:
                errors = _key_errors(user_input)
                port = await self.hass.async_add_executor_job(_serial_by_id, port)
                if not errors and await self._async_port_in_use(port):
                    errors = {CONF_PORT: ERROR_PORT_IN_USE}
                if not errors:
                    self._port = port
                    self._serial_format = user_input[CONF_SERIAL_FORMAT]
                    self._model = user_input[CONF_MODEL]
                    # An empty key field keeps the stored key (keys are never shown).
                    key = _normalize_key(user_input.get(CONF_ENCRYPTION_KEY))[0]
                    auth = _normalize_key(user_input.get(CONF_AUTHENTICATION_KEY))[0]
                    self._key_text = key or entry.data.get(CONF_ENCRYPTION_KEY) or ""
                    self._auth_key_text = auth or entry.data.get(CONF_AUTHENTICATION_KEY) or ""
                    return await self.async_step_probe()
        else:
            self._port = self._port or entry.data[CONF_PORT]
            self._serial_format = entry.data.get(CONF_SERIAL_FORMAT, SERIAL_FORMAT_AUTO)
            self._model = entry.data.get(CONF_MODEL, AUTO)
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT): await _async_port_selector(self.hass),
                vol.Required(CONF_SERIAL_FORMAT): _format_selector(),
                vol.Required(CONF_MODEL): _model_selector(),
                vol.Optional(CONF_ENCRYPTION_KEY): _key_selector(),
                vol.Optional(CONF_AUTHENTICATION_KEY): _key_selector(),
            }
        )
        suggested = {
            CONF_PORT: self._port,
            CONF_SERIAL_FORMAT: self._serial_format,
            CONF_MODEL: self._model,
        }
        return self.async_show_form(
            step_id=STEP_RECONFIGURE,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start over with new keys: the meter refuses the stored ones (wrong_key/auth_failed)."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new keys and check them on the entry's port."""
        entry = self._get_reauth_entry()
        errors = self._take_errors()
        if user_input is not None:
            errors = _key_errors(user_input, required=True)
            if not errors:
                self._port = entry.data[CONF_PORT]
                self._serial_format = entry.data.get(CONF_SERIAL_FORMAT, SERIAL_FORMAT_AUTO)
                self._model = entry.data.get(CONF_MODEL, AUTO)
                self._key_text = _normalize_key(user_input.get(CONF_ENCRYPTION_KEY))[0]
                self._auth_key_text = _normalize_key(user_input.get(CONF_AUTHENTICATION_KEY))[0]
                return await self.async_step_probe()
        schema = vol.Schema(
            {
                vol.Required(CONF_ENCRYPTION_KEY): _key_selector(),
                vol.Optional(CONF_AUTHENTICATION_KEY): _key_selector(),
            }
        )
        return self.async_show_form(
            step_id=STEP_REAUTH_CONFIRM,
            data_schema=schema,
            errors=errors,
            description_placeholders={"name": entry.title, **self._placeholders()},
        )

    async def async_step_apply(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Store a checked reconfigure/reauth; only for the meter the entry belongs to."""
        entry = self._flow_entry()
        result = self._result
        assert entry is not None
        assert result is not None
        if self._unique_id(result) != entry.unique_id:
            if self._paused:
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_abort(
                reason=ABORT_WRONG_METER,
                description_placeholders={
                    "expected": entry.unique_id or "?",
                    "found": self._unique_id(result),
                },
            )
        return self.async_update_reload_and_abort(entry, data_updates=self._entry_data())

    # -- helpers -----------------------------------------------------------------------------

    def _flow_entry(self) -> ConfigEntry | None:
        if self.source == SOURCE_REAUTH:
            return self._get_reauth_entry()
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry()
        return None

    def _take_errors(self) -> dict[str, str]:
        """Errors left by the probe for the form shown next (shown once)."""
        errors, self._errors = self._errors, {}
        return errors

    def _port_suggestion(self) -> dict[str, Any]:
        if not self._port:
            return {}
        return {
            CONF_PORT: self._port,
            CONF_SERIAL_FORMAT: self._serial_format,
            CONF_UTILITY: self._utility,
        }

    async def _async_port_in_use(self, port: str) -> bool:
        """Another entry already reads this port (two readers would each get half the bytes)."""
        flow_entry = self._flow_entry()
        others = [
            entry.data[CONF_PORT]
            for entry in self._async_current_entries(include_ignore=False)
            if CONF_PORT in entry.data
            and (flow_entry is None or entry.entry_id != flow_entry.entry_id)
        ]
        for other in others:
            if await self.hass.async_add_executor_job(_same_port, port, other):
                return True
        return False

    def _unique_id(self, result: ProbeResult) -> str:
        # Without number or system title the port is the only stable handle left.
        return result.identity or redact_port(self._port)

    def _title(self, result: ProbeResult) -> str:
        name = result.model_name(self._model) or "Smart meter"
        return f"{name} {result.identity or redact_port(self._port)}"

    def _entry_data(self) -> dict[str, Any]:
        result = self._result
        assert result is not None
        data: dict[str, Any] = {
            CONF_PORT: self._port,
            # What worked, so the runtime need not probe again at every start.
            CONF_SERIAL_FORMAT: result.serial_format,
            CONF_MODEL: self._model,
            CONF_ENCRYPTION_KEY: self._key_text,
            CONF_AUTHENTICATION_KEY: self._auth_key_text,
        }
        if result.intervals:
            data[CONF_PUSH_INTERVALS] = dict(result.intervals)
        return data

    def _placeholders(self) -> dict[str, str]:
        """Text for descriptions; ports are redacted (esphome:// URLs can carry an API key)."""
        timeouts = PROBE_TIMEOUTS
        formats = len(PROBE_ORDER) if self._serial_format == SERIAL_FORMAT_AUTO else 1
        longest = timeouts.total + (formats - 1) * timeouts.per_format
        placeholders = {
            "port": redact_port(self._port) if self._port else "",
            "timeout": str(round(longest)),
            "example_url": "socket://192.168.1.20:3001",
        }
        if (result := self._result) is not None:
            placeholders |= {
                "meter_number": result.identity or "?",
                "model": result.model_name(self._model) or result.manufacturer or "?",
                "values": str(result.values),
                "serial_format": result.serial_format.replace("_", " "),
            }
        return placeholders


class SwissMeterOptionsFlow(OptionsFlow):
    """How often states are written, scaler fixes, unknown codes and which clock to trust."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; the runtime reloads the entry when options change."""
        errors: dict[str, str] = {}
        placeholders = {"scaler_error": ""}
        options: Mapping[str, Any] = self.config_entry.options
        if user_input is not None:
            # A client may leave the folded section out: it keeps what is stored.
            stored = MeterOptions.from_mapping(options)
            kept = {
                CONF_VSE_MQTT: stored.vse_mqtt,
                CONF_VSE_GROUP: stored.vse_group,
                CONF_VSE_SOURCE: stored.vse_source,
            }
            flat = {**user_input, **kept, **user_input.get(SECTION_VSE, {})}
            text = (flat.get(CONF_SCALER_OVERRIDES) or "").strip()
            try:
                parse_scaler_overrides(text)
            except ValueError as err:
                errors[CONF_SCALER_OVERRIDES] = ERROR_INVALID_SCALER
                placeholders["scaler_error"] = str(err)
            errors.update(self._vse_errors(flat))
            if not errors:
                return self.async_create_entry(
                    data={
                        CONF_MIN_INTERVAL: int(flat[CONF_MIN_INTERVAL]),
                        CONF_SCALER_OVERRIDES: text,
                        CONF_UNKNOWN_OBIS: bool(flat[CONF_UNKNOWN_OBIS]),
                        CONF_TIME_SOURCE: flat[CONF_TIME_SOURCE],
                        CONF_VSE_MQTT: bool(flat.get(CONF_VSE_MQTT, False)),
                        CONF_VSE_GROUP: str(flat.get(CONF_VSE_GROUP) or "").strip(),
                        CONF_VSE_SOURCE: str(flat.get(CONF_VSE_SOURCE) or "").strip(),
                    }
                )
            options = {**options, **flat}
        current = MeterOptions.from_mapping(options)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_MIN_INTERVAL,
                    default=current.min_interval,
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=0,
                        max=3600,
                        step=1,
                        mode=selector.NumberSelectorMode.BOX,
                        unit_of_measurement="s",
                    )
                ),
                vol.Optional(
                    CONF_SCALER_OVERRIDES,
                    description={"suggested_value": current.scaler_overrides},
                ): selector.TextSelector(),
                vol.Required(
                    CONF_UNKNOWN_OBIS,
                    default=current.unknown_obis,
                ): selector.BooleanSelector(),
                vol.Required(
                    CONF_TIME_SOURCE,
                    default=current.time_source,
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[TIME_SOURCE_METER, TIME_SOURCE_RECEIVE],
                        translation_key=CONF_TIME_SOURCE,
                        mode=selector.SelectSelectorMode.LIST,
                    )
                ),
                # Off by default and for few users: folded away unless it is on.
                vol.Optional(SECTION_VSE): section(
                    vol.Schema(
                        {
                            vol.Required(
                                CONF_VSE_MQTT, default=current.vse_mqtt
                            ): selector.BooleanSelector(),
                            vol.Optional(
                                CONF_VSE_GROUP, default=current.vse_group
                            ): selector.TextSelector(),
                            vol.Optional(
                                CONF_VSE_SOURCE,
                                description={"suggested_value": current.vse_source},
                            ): selector.TextSelector(),
                        }
                    ),
                    {"collapsed": not current.vse_mqtt},
                ),
            }
        )
        return self.async_show_form(
            step_id="init", data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    def _vse_errors(self, flat: Mapping[str, Any]) -> dict[str, str]:
        """Topic levels must be valid; the output needs the MQTT integration set up."""
        errors: dict[str, str] = {}
        for field in (CONF_VSE_GROUP, CONF_VSE_SOURCE):
            text = str(flat.get(field) or "").strip()
            if text and not valid_topic_level(text):
                errors["base"] = ERROR_INVALID_TOPIC
        if flat.get(CONF_VSE_MQTT) and not self.hass.config_entries.async_entries("mqtt"):
            errors["base"] = ERROR_MQTT_MISSING
        return errors
