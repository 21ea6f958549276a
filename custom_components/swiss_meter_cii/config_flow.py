"""Setup wizard: pick the port, the meter and its keys, then prove it works with a live check.

Users get one chance to understand why a meter does not show up, so nothing is created until
the probe has decoded real pushes, and every failure has its own message (field report #1).
Step ids, field keys and error keys are a public contract (tests/e2e drives them over REST);
the fields are in flow_fields.py, port handling in ports.py, the options in options_flow.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers import selector
import voluptuous as vol

from .const import (
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_FORMAT,
    DOMAIN,
    SERIAL_FORMAT_AUTO,
)
from .decoder.models import AUTO
from .flow_fields import (
    Choices,
    async_utility_hint,
    format_selector,
    key_fields,
    model_selector,
    typed_keys,
    utility_selector,
)
from .options_flow import SwissMeterOptionsFlow
from .ports import async_port_in_use, async_port_selector, async_stored_port
from .presets import CONF_UTILITY, NO_UTILITY, get_preset
from .probe import (
    CANNOT_CONNECT,
    NO_DATA,
    NO_FRAMES,
    ProbeError,
    ProbeResult,
    ProbeTimeouts,
    async_probe,
)

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

ERROR_INVALID_URL = "invalid_url"
ERROR_PORT_IN_USE = "port_in_use"
ERROR_UNKNOWN = "unknown"
ABORT_WRONG_METER = "wrong_meter"

# Probe failures that are about the line, not the meter's keys: the user fixes the port step.
_LINK_ERRORS = frozenset({CANNOT_CONNECT, NO_DATA, NO_FRAMES})


class SwissMeterConfigFlow(ConfigFlow, domain=DOMAIN):
    """Port -> meter and keys -> live check -> confirm; also reconfigure and reauth."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._port_step = STEP_SERIAL
        self._chosen = Choices()
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
        return await self._async_port_step(STEP_SERIAL, user_input)

    async def async_step_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Enter the address of a ser2net bridge or an ESPHome serial proxy."""
        return await self._async_port_step(STEP_NETWORK, user_input)

    async def _async_port_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Show or take the port form: a list of adapters (serial) or a URL field (network)."""
        network = step_id == STEP_NETWORK
        chosen = self._chosen
        self._port_step = step_id
        errors = self._take_errors()
        if user_input is not None:
            port = await self._async_typed_port(user_input, network=network)
            if port is None:
                errors = {CONF_PORT: ERROR_INVALID_URL}
            else:
                return await self._async_port_chosen(port, user_input)
        port_field = selector.TextSelector() if network else await async_port_selector(self.hass)
        schema = vol.Schema(
            {
                vol.Optional(CONF_UTILITY, default=NO_UTILITY): utility_selector(),
                vol.Required(CONF_PORT): port_field,
                vol.Required(CONF_SERIAL_FORMAT, default=SERIAL_FORMAT_AUTO): format_selector(),
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, chosen.port_suggestion()),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def _async_typed_port(
        self, user_input: Mapping[str, Any], *, network: bool
    ) -> str | None:
        """Return the port as the entry stores it, or None when the text is no usable port."""
        try:
            return await async_stored_port(self.hass, user_input[CONF_PORT], network=network)
        except ValueError:
            return None

    async def _async_port_chosen(
        self, port: str, user_input: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Remember the port; retry the probe directly when the keys are already known."""
        chosen = self._chosen
        chosen.port = port
        chosen.serial_format = user_input.get(CONF_SERIAL_FORMAT, SERIAL_FORMAT_AUTO)
        preset = get_preset(user_input.get(CONF_UTILITY))
        chosen.utility = preset.id if preset is not None else NO_UTILITY
        if preset is not None:
            # The preset fills what the user left open; an explicit choice always wins.
            if chosen.serial_format == SERIAL_FORMAT_AUTO:
                chosen.serial_format = preset.serial_format
            if not self._have_keys:
                chosen.model = preset.model
        if await self._async_port_in_use(port):
            self._errors = {CONF_PORT: ERROR_PORT_IN_USE}
            return await self._async_port_step(self._port_step, None)
        if self._have_keys:
            return await self.async_step_probe()
        return await self.async_step_meter()

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Meter model and keys."""
        errors = self._take_errors()
        if user_input is not None:
            self._chosen.model = user_input.get(CONF_MODEL, AUTO)
            keys, errors = typed_keys(user_input)
            if not errors:
                self._chosen.keys = keys
                self._have_keys = True
                return await self.async_step_probe()
        schema = vol.Schema(
            {
                vol.Required(CONF_MODEL, default=AUTO): model_selector(),
                **key_fields(),
            }
        )
        hint = await async_utility_hint(self.hass, get_preset(self._chosen.utility))
        # Keys are never sent back to the browser; only the model is kept.
        suggested = {CONF_MODEL: self._chosen.model}
        return self.async_show_form(
            step_id=STEP_METER,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={**self._placeholders(), "utility_hint": hint},
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the live check found and create the entry."""
        result = self._result
        assert result is not None
        await self.async_set_unique_id(self._chosen.unique_id(result))
        self._abort_if_unique_id_configured()
        if user_input is not None:
            return self.async_create_entry(
                title=self._chosen.title(result), data=self._chosen.entry_data(result)
            )
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
        chosen = self._chosen
        key, auth_key = chosen.keys.as_bytes()
        try:
            result = await async_probe(
                chosen.port,
                chosen.serial_format,
                key=key,
                auth_key=auth_key,
                model=chosen.model,
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
        chosen = self._chosen
        errors = self._take_errors()
        if user_input is not None:
            port = await self._async_typed_port(user_input, network=False)
            if port is None:
                errors = {CONF_PORT: ERROR_INVALID_URL}
            else:
                keys, errors = typed_keys(user_input)
                if not errors and await self._async_port_in_use(port):
                    errors = {CONF_PORT: ERROR_PORT_IN_USE}
                if not errors:
                    chosen.port = port
                    chosen.serial_format = user_input[CONF_SERIAL_FORMAT]
                    chosen.model = user_input[CONF_MODEL]
                    chosen.keys = keys.or_stored(entry.data)  # an empty field keeps the key
                    return await self.async_step_probe()
        else:
            chosen.port = chosen.port or entry.data[CONF_PORT]
            chosen.serial_format = entry.data.get(CONF_SERIAL_FORMAT, SERIAL_FORMAT_AUTO)
            chosen.model = entry.data.get(CONF_MODEL, AUTO)
        schema = vol.Schema(
            {
                vol.Required(CONF_PORT): await async_port_selector(self.hass),
                vol.Required(CONF_SERIAL_FORMAT): format_selector(),
                vol.Required(CONF_MODEL): model_selector(),
                **key_fields(),
            }
        )
        suggested = {
            CONF_PORT: chosen.port,
            CONF_SERIAL_FORMAT: chosen.serial_format,
            CONF_MODEL: chosen.model,
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
            keys, errors = typed_keys(user_input, required=True)
            if not errors:
                self._chosen = Choices.of_entry(entry.data, keys)
                return await self.async_step_probe()
        return self.async_show_form(
            step_id=STEP_REAUTH_CONFIRM,
            data_schema=vol.Schema(key_fields(required=True)),
            errors=errors,
            description_placeholders={"name": entry.title, **self._placeholders()},
        )

    async def async_step_apply(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Store a checked reconfigure/reauth; only for the meter the entry belongs to."""
        entry = self._flow_entry()
        result = self._result
        assert entry is not None
        assert result is not None
        found = self._chosen.unique_id(result)
        if found != entry.unique_id:
            if self._paused:
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_abort(
                reason=ABORT_WRONG_METER,
                description_placeholders={"expected": entry.unique_id or "?", "found": found},
            )
        return self.async_update_reload_and_abort(
            entry, data_updates=self._chosen.entry_data(result)
        )

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

    async def _async_port_in_use(self, port: str) -> bool:
        """Another entry than the one reconfigured already reads this port."""
        entry = self._flow_entry()
        entries = self._async_current_entries(include_ignore=False)
        return await async_port_in_use(
            self.hass, port, entries, None if entry is None else entry.entry_id
        )

    def _placeholders(self) -> dict[str, str]:
        return self._chosen.placeholders(PROBE_TIMEOUTS, self._result)
