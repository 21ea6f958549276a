"""Utility presets: the table's integrity and what a choice prefills in the setup wizard."""

# The wizard's fixtures are imported from its test module; tests take them as parameters.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.swiss_meter_cii.const import (
    CONF_ENCRYPTION_KEY,
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_FORMAT,
    DOMAIN,
    SERIAL_FORMAT_AUTO,
    SERIAL_FORMATS,
)
from custom_components.swiss_meter_cii.decoder.models import MODEL_IDS
from custom_components.swiss_meter_cii.presets import (
    CONF_UTILITY,
    NO_UTILITY,
    PRESETS,
    PRESETS_BY_ID,
    get_preset,
    sorted_presets,
)
from simulator import DEFAULT_KEY, MeterSimulator, TcpMeterServer

# The wizard's fixtures (fast probe, empty port scan, simulated pty lines) are shared.
from .test_config_flow import (  # noqa: F401
    INTERVAL,
    KEY_HEX,
    KEY_TEXT,
    PtyFactory,
    _fast_probe,
    assert_no_secret,
    mock_setup_entry,
    port_scan,
    probed,
    pty_meter,
)

TINETZ_URL = PRESETS_BY_ID["tinetz"].key_url


# -- the table -------------------------------------------------------------------------------


def test_every_row_is_valid_and_sourced() -> None:
    assert len(PRESETS_BY_ID) == len(PRESETS)  # ids are unique
    assert NO_UTILITY not in PRESETS_BY_ID
    for preset in PRESETS:
        assert preset.serial_format in (SERIAL_FORMAT_AUTO, *SERIAL_FORMATS), preset.id
        assert preset.model in MODEL_IDS, preset.id
        assert preset.country in ("CH", "AT"), preset.id
        assert preset.interface in (None, "mbus", "p1", "optical", "varies", "not_dlms"), preset.id
        assert preset.sources, preset.id
        for source in preset.sources:
            assert source.startswith(("https://", "http://", "README.md", "docs/")), source
        assert preset.key_url is None or preset.key_url.startswith(("https://", "mailto:"))
    required = {"ekz", "bkw", "ckw", "ewz", "iwb", "groupe_e", "romande_energie", "sil"}
    assert required <= set(PRESETS_BY_ID)


def test_readme_lists_every_preset() -> None:
    """The README table is what users read before the wizard: it must not fall behind."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Utility presets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0][2:] for row in rows[1:]] == [p.name for p in sorted_presets()]


def test_sorted_by_country_then_name() -> None:
    rows = sorted_presets()
    countries = [p.country for p in rows]
    assert countries == sorted(countries, key=("CH", "AT").index)
    for country in ("CH", "AT"):
        names = [p.name.casefold() for p in rows if p.country == country]
        assert names == sorted(names)
    assert get_preset(None) is None
    assert get_preset(NO_UTILITY) is None
    assert get_preset("gone_utility") is None
    assert get_preset("ekz") is PRESETS_BY_ID["ekz"]


# -- the wizard ------------------------------------------------------------------------------


async def _port_step(hass: HomeAssistant, step: str, fields: dict[str, Any]) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    utility = next(k for k in schema.schema if k == CONF_UTILITY)
    assert utility.default() == NO_UTILITY
    options = schema.schema[utility].config["options"]
    assert options[0]["value"] == NO_UTILITY
    assert [o["value"] for o in options[1:]] == [p.id for p in sorted_presets()]
    return await hass.config_entries.flow.async_configure(result["flow_id"], fields)


def _meter_form(result: ConfigFlowResult) -> tuple[str, str]:
    """The meter step's suggested model and its utility hint."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meter"
    schema = result["data_schema"]
    assert schema is not None
    model = next(k for k in schema.schema if k == CONF_MODEL)
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    return model.description["suggested_value"], placeholders["utility_hint"]


async def test_serial_preset_fills_format_model_and_hint(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    """TINETZ: 2400 8E1 instead of auto detection, Kaifa MA309M, and where to get the key."""
    meter = MeterSimulator("kaifa_ma309m", key=DEFAULT_KEY, seed=21)
    line = pty_meter(meter, good_format="2400_8E1")
    result = await _port_step(
        hass,
        "serial",
        {CONF_UTILITY: "tinetz", CONF_PORT: line.path, CONF_SERIAL_FORMAT: SERIAL_FORMAT_AUTO},
    )
    model, hint = _meter_form(result)
    assert model == "kaifa_ma309m"
    assert TINETZ_URL is not None
    assert TINETZ_URL in hint
    assert "TINETZ" in hint
    assert "M-Bus" in hint
    assert "leave that field empty" in hint  # TINETZ sends no authentication tag (0x21)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL: model, CONF_ENCRYPTION_KEY: KEY_TEXT}
    )
    assert_no_secret(result)
    result = await probed(hass, result)
    assert result["step_id"] == "confirm", result.get("errors")
    assert line.opened == ["2400_8E1"]  # the preset's format only, no detection round
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SERIAL_FORMAT] == "2400_8E1"
    assert result["data"][CONF_MODEL] == "kaifa_ma309m"
    assert result["data"][CONF_ENCRYPTION_KEY] == KEY_HEX
    assert CONF_UTILITY not in result["data"]


async def test_explicit_serial_format_beats_the_preset(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    meter = MeterSimulator("kaifa_ma309m", key=DEFAULT_KEY, seed=22)
    line = pty_meter(meter, good_format="9600_8E1")
    result = await _port_step(
        hass,
        "serial",
        {CONF_UTILITY: "tinetz", CONF_PORT: line.path, CONF_SERIAL_FORMAT: "9600_8E1"},
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL: "kaifa_ma309m", CONF_ENCRYPTION_KEY: KEY_TEXT}
    )
    result = await probed(hass, result)
    assert result["step_id"] == "confirm", result.get("errors")
    assert line.opened == ["9600_8E1"]


async def test_network_preset(
    hass: HomeAssistant, socket_enabled: None, mock_setup_entry: AsyncMock
) -> None:
    """Wiener Netze: optical head at 9600 8N1; several models in use, so the model stays auto."""
    meter = MeterSimulator("kaifa_ma309m", key=DEFAULT_KEY, seed=23)
    server = TcpMeterServer(meter, interval=INTERVAL)
    port = await server.start()
    try:
        result = await _port_step(
            hass, "network", {CONF_UTILITY: "wiener_netze", CONF_PORT: f"127.0.0.1:{port}"}
        )
        model, hint = _meter_form(result)
        assert model == "auto"
        assert "Wiener Netze" in hint
        assert "optical" in hint
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_MODEL: model, CONF_ENCRYPTION_KEY: KEY_TEXT}
        )
        result = await probed(hass, result)
        assert result["step_id"] == "confirm", result.get("errors")
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    finally:
        await server.stop()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SERIAL_FORMAT] == "9600_8N1"  # used by ESPHome/RFC 2217 links
    assert result["data"][CONF_MODEL] == "auto"


@pytest.mark.parametrize("step", ["serial", "network"])
async def test_none_other_changes_nothing(hass: HomeAssistant, step: str) -> None:
    port = "/dev/ttyUSB3" if step == "serial" else "127.0.0.1:3001"
    result = await _port_step(
        hass, step, {CONF_UTILITY: NO_UTILITY, CONF_PORT: port, CONF_SERIAL_FORMAT: "auto"}
    )
    assert _meter_form(result) == ("auto", "")


async def test_hint_in_the_users_language(hass: HomeAssistant) -> None:
    """Netz Burgenland authenticates its pushes; no key page is known: both said in German."""
    hass.config.language = "de"
    result = await _port_step(
        hass, "serial", {CONF_UTILITY: "netz_burgenland", CONF_PORT: "/dev/ttyUSB4"}
    )
    model, hint = _meter_form(result)
    assert model == "lg_e450"
    assert "Netz Burgenland" in hint
    assert "Authentisierungsschlüssel (GAK) ein" in hint
    assert "Kundendienst" in hint


async def test_a_port_retry_keeps_the_model_chosen_on_the_meter_step(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    """The preset is remembered on the port form, but never overrides the user's model."""
    result = await _port_step(
        hass,
        "serial",
        {CONF_UTILITY: "ekz", CONF_PORT: "/dev/does-not-exist-ttyUSB8"},
    )
    assert _meter_form(result)[0] == "lg_e450"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL: "auto", CONF_ENCRYPTION_KEY: KEY_TEXT}
    )
    result = await probed(hass, result)
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "cannot_connect"}
    schema = result["data_schema"]
    assert schema is not None
    utility = next(k for k in schema.schema if k == CONF_UTILITY)
    assert utility.description["suggested_value"] == "ekz"
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=24)
    line = pty_meter(meter)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_UTILITY: "ekz", CONF_PORT: line.path, CONF_SERIAL_FORMAT: "2400_8E1"},
    )
    result = await probed(hass, result)
    assert result["step_id"] == "confirm", result.get("errors")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_MODEL] == "auto"


async def test_network_port_in_use_with_a_preset(hass: HomeAssistant) -> None:
    """URLs are compared as text; the form comes back with the preset still chosen."""
    MockConfigEntry(
        domain=DOMAIN, unique_id="7654321", data={CONF_PORT: "socket://127.0.0.1:3001"}
    ).add_to_hass(hass)
    result = await _port_step(
        hass, "network", {CONF_UTILITY: "netz_noe", CONF_PORT: "127.0.0.1:3001"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "network"
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    schema = result["data_schema"]
    assert schema is not None
    fields = {k: k.description for k in schema.schema if k in (CONF_UTILITY, CONF_SERIAL_FORMAT)}
    suggested = {str(k): (d or {}).get("suggested_value") for k, d in fields.items()}
    assert suggested == {CONF_UTILITY: "netz_noe", CONF_SERIAL_FORMAT: "2400_8E1"}


async def test_an_operator_without_dlms_is_told(hass: HomeAssistant) -> None:
    """Linz Netz meters send MEP or wireless M-Bus: the hint says it cannot be read, no more."""
    result = await _port_step(
        hass, "serial", {CONF_UTILITY: "linz_netz", CONF_PORT: "/dev/ttyUSB5"}
    )
    model, hint = _meter_form(result)
    assert model == "auto"
    assert "Linz Netz" in hint
    assert "cannot read them" in hint
    assert "key" not in hint  # where to order a key would only mislead
