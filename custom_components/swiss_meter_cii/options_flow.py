"""The options form: state-write spacing, scaler fixes, unknown codes, clock, VSE MQTT output.

What is stored is read back only through options.MeterOptions (one place for the defaults);
the runtime reloads the entry when a stored option changes (README "Setup wizard").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
import voluptuous as vol

from .const import (
    CONF_MIN_INTERVAL,
    CONF_SCALER_OVERRIDES,
    CONF_TIME_SOURCE,
    CONF_UNKNOWN_OBIS,
    TIME_SOURCE_METER,
    TIME_SOURCE_RECEIVE,
)
from .decoder.scaling import parse_scaler_overrides
from .options import CONF_VSE_GROUP, CONF_VSE_MQTT, CONF_VSE_SOURCE, MeterOptions
from .vse_output import valid_topic_level

ERROR_INVALID_SCALER = "invalid_scaler"
ERROR_INVALID_TOPIC = "invalid_topic_level"
ERROR_MQTT_MISSING = "mqtt_missing"
SECTION_VSE = "vse_output"  # the options form's collapsed section of the VSE MQTT output


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
            text = (flat.get(CONF_SCALER_OVERRIDES) or "").strip()  # optional: empty = none
            try:
                parse_scaler_overrides(text)
            except ValueError as err:
                errors[CONF_SCALER_OVERRIDES] = ERROR_INVALID_SCALER
                placeholders["scaler_error"] = str(err)
            errors.update(self._vse_errors(flat))
            if not errors:
                # Every other key is in `flat`: required with a default, or kept above.
                return self.async_create_entry(
                    data={
                        CONF_MIN_INTERVAL: int(flat[CONF_MIN_INTERVAL]),
                        CONF_SCALER_OVERRIDES: text,
                        CONF_UNKNOWN_OBIS: bool(flat[CONF_UNKNOWN_OBIS]),
                        CONF_TIME_SOURCE: flat[CONF_TIME_SOURCE],
                        CONF_VSE_MQTT: bool(flat[CONF_VSE_MQTT]),
                        CONF_VSE_GROUP: str(flat[CONF_VSE_GROUP]).strip(),
                        CONF_VSE_SOURCE: str(flat[CONF_VSE_SOURCE]).strip(),
                    }
                )
            options = {**options, **flat}
        return self.async_show_form(
            step_id="init",
            data_schema=_schema(MeterOptions.from_mapping(options)),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _vse_errors(self, flat: Mapping[str, Any]) -> dict[str, str]:
        """Topic levels must be valid; the output needs the MQTT integration set up."""
        errors: dict[str, str] = {}
        for field in (CONF_VSE_GROUP, CONF_VSE_SOURCE):
            text = str(flat[field]).strip()
            if text and not valid_topic_level(text):
                errors["base"] = ERROR_INVALID_TOPIC
        if flat[CONF_VSE_MQTT] and not self.hass.config_entries.async_entries("mqtt"):
            errors["base"] = ERROR_MQTT_MISSING
        return errors


def _schema(current: MeterOptions) -> vol.Schema:
    """Build the form, filled with `current` (what is stored, or what was just typed)."""
    return vol.Schema(
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
