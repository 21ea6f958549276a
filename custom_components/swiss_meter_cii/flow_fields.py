"""The wizard's fields: selectors, the utility note, the keys, and what was chosen in them.

Field keys and their options are a public contract (README "Setup wizard"; tests/e2e drives
the wizard over REST): the keys are in const.py, the options of each selector only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.translation import async_get_translations
import voluptuous as vol

from .const import (
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_MODEL,
    CONF_PORT,
    CONF_PUSH_INTERVALS,
    CONF_SERIAL_FORMAT,
    DOMAIN,
    PROBE_ORDER,
    SERIAL_FORMAT_AUTO,
    SERIAL_FORMATS,
)
from .decoder import parse_key
from .decoder.models import AUTO, MODEL_IDS
from .link import redact_port
from .presets import CONF_UTILITY, NO_UTILITY, UtilityPreset, sorted_presets
from .probe import ProbeResult, ProbeTimeouts

ERROR_INVALID_KEY = "invalid_key"


@dataclass(frozen=True, slots=True)
class Keys:
    """The two keys in their stored form: upper-case hex, '' when not given."""

    key: str = field(default="", repr=False)
    auth: str = field(default="", repr=False)

    def or_stored(self, data: Mapping[str, Any]) -> Keys:
        """Keep the key stored in `data` where a field was left empty (keys are never shown)."""
        return Keys(
            self.key or data.get(CONF_ENCRYPTION_KEY) or "",
            self.auth or data.get(CONF_AUTHENTICATION_KEY) or "",
        )

    def as_bytes(self) -> tuple[bytes | None, bytes | None]:
        """Return the keys for the decoder (None when absent); they were checked when typed."""
        return (
            parse_key(self.key) if self.key else None,
            parse_key(self.auth) if self.auth else None,
        )


def typed_keys(
    user_input: Mapping[str, Any], *, required: bool = False
) -> tuple[Keys, dict[str, str]]:
    """Read both key fields (any case, with separators) and the errors of each field.

    `required`: the encryption key must be given (re-authentication). An error never echoes
    the key, only an error key.
    """
    stored: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY):
        text = user_input.get(name)
        try:
            stored[name] = parse_key(text).hex().upper() if text and text.strip() else ""
        except ValueError:
            errors[name] = ERROR_INVALID_KEY
    if required and not (user_input.get(CONF_ENCRYPTION_KEY) or "").strip():
        errors[CONF_ENCRYPTION_KEY] = ERROR_INVALID_KEY
    keys = Keys(stored.get(CONF_ENCRYPTION_KEY, ""), stored.get(CONF_AUTHENTICATION_KEY, ""))
    return keys, errors


@dataclass(slots=True)
class Choices:
    """What the user chose so far: what the entry stores, once the live check has passed."""

    port: str = ""
    serial_format: str = SERIAL_FORMAT_AUTO
    model: str = AUTO
    utility: str = NO_UTILITY  # the preset of the port step (not stored in the entry)
    keys: Keys = field(default_factory=Keys)

    @classmethod
    def of_entry(cls, data: Mapping[str, Any], keys: Keys) -> Choices:
        """Return the entry's port, line settings and model with new `keys` (reauth)."""
        return cls(
            port=data[CONF_PORT],
            serial_format=data.get(CONF_SERIAL_FORMAT, SERIAL_FORMAT_AUTO),
            model=data.get(CONF_MODEL, AUTO),
            keys=keys,
        )

    def port_suggestion(self) -> dict[str, Any]:
        """Return the port step's fields as last entered (a retry after a link error)."""
        if not self.port:
            return {}
        return {
            CONF_PORT: self.port,
            CONF_SERIAL_FORMAT: self.serial_format,
            CONF_UTILITY: self.utility,
        }

    def unique_id(self, result: ProbeResult) -> str:
        """Return the meter's identity; without number or system title, the port's."""
        return result.identity or redact_port(self.port)

    def title(self, result: ProbeResult) -> str:
        """Return the entry's title: model and meter number."""
        name = result.model_name(self.model) or "Smart meter"
        return f"{name} {result.identity or redact_port(self.port)}"

    def entry_data(self, result: ProbeResult) -> dict[str, Any]:
        """Return the entry's data: the choices, with the serial format that worked."""
        data: dict[str, Any] = {
            CONF_PORT: self.port,
            # What worked, so the runtime need not probe again at every start.
            CONF_SERIAL_FORMAT: result.serial_format,
            CONF_MODEL: self.model,
            CONF_ENCRYPTION_KEY: self.keys.key,
            CONF_AUTHENTICATION_KEY: self.keys.auth,
        }
        if result.intervals:
            data[CONF_PUSH_INTERVALS] = dict(result.intervals)
        return data

    def placeholders(self, timeouts: ProbeTimeouts, result: ProbeResult | None) -> dict[str, str]:
        """Text for descriptions; ports are redacted (esphome:// URLs can carry an API key)."""
        formats = len(PROBE_ORDER) if self.serial_format == SERIAL_FORMAT_AUTO else 1
        longest = timeouts.total + (formats - 1) * timeouts.per_format
        placeholders = {
            "port": redact_port(self.port) if self.port else "",
            "timeout": str(round(longest)),
            "example_url": "socket://192.168.1.20:3001",
        }
        if result is not None:
            placeholders |= {
                "meter_number": result.identity or "?",
                "model": result.model_name(self.model) or result.manufacturer or "?",
                "values": str(result.values),
                "serial_format": result.serial_format.replace("_", " "),
            }
        return placeholders


def key_fields(*, required: bool = False) -> dict[vol.Marker, selector.TextSelector]:
    """Return the two key fields, hidden like passwords (keys end up on forum screenshots).

    `required`: the encryption key must be given (re-authentication).
    """
    encryption = (
        vol.Required(CONF_ENCRYPTION_KEY) if required else vol.Optional(CONF_ENCRYPTION_KEY)
    )
    return {encryption: _hidden(), vol.Optional(CONF_AUTHENTICATION_KEY): _hidden()}


def _hidden() -> selector.TextSelector:
    return selector.TextSelector(
        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
    )


def format_selector() -> selector.SelectSelector:
    """Return the serial format field: auto-detect or one of the formats meters use."""
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=[SERIAL_FORMAT_AUTO, *SERIAL_FORMATS],
            translation_key=CONF_SERIAL_FORMAT,
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


def model_selector() -> selector.SelectSelector:
    """Return the meter model field."""
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=list(MODEL_IDS),
            translation_key=CONF_MODEL,
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


def utility_selector() -> selector.SelectSelector:
    """Return the utility field (presets.py)."""
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


async def async_utility_hint(hass: HomeAssistant, preset: UtilityPreset | None) -> str:
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
