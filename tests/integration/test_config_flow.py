"""The setup wizard end to end: real pty / TCP links fed by the meter simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
import json
import os
from pathlib import Path
import random
import termios
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import serialx

from custom_components.swiss_meter_cii import config_flow, ports
from custom_components.swiss_meter_cii.const import (
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
)
from custom_components.swiss_meter_cii.decoder.models import MODEL_IDS
from custom_components.swiss_meter_cii.link import SerialFormat, open_link
from custom_components.swiss_meter_cii.options import (
    CONF_VSE_GROUP,
    CONF_VSE_MQTT,
    CONF_VSE_SOURCE,
)
from custom_components.swiss_meter_cii.ports import normalize_port
from custom_components.swiss_meter_cii.probe import PROBE_ERRORS, ProbeTimeouts
from simulator import (
    DEFAULT_AUTH_KEY,
    DEFAULT_KEY,
    MeterSimulator,
    PtyOutput,
    TcpMeterServer,
    encoder as enc,
    wrong_key,
)

FLOW = "custom_components.swiss_meter_cii.config_flow"
PORTS = "custom_components.swiss_meter_cii.ports"
PROBE = "custom_components.swiss_meter_cii.probe"
FAST = ProbeTimeouts(total=3.0, per_format=1.0, gap=0.1)
INTERVAL = 0.15

# How users paste keys: separators, lower case, surrounding blanks.
KEY_TEXT = " " + ":".join(f"{b:02x}" for b in DEFAULT_KEY) + " "
KEY_HEX = DEFAULT_KEY.hex().upper()
AUTH_TEXT = " ".join(f"{b:02X}" for b in DEFAULT_AUTH_KEY)
AUTH_HEX = DEFAULT_AUTH_KEY.hex().upper()
WRONG_TEXT = wrong_key(DEFAULT_KEY).hex()
SECRETS = (
    KEY_HEX,
    KEY_HEX.lower(),
    AUTH_HEX,
    AUTH_HEX.lower(),
    WRONG_TEXT,
    WRONG_TEXT.upper(),
    KEY_TEXT.strip(),
)


@pytest.fixture(autouse=True)
def _fast_probe() -> Iterator[None]:
    with patch(f"{FLOW}.PROBE_TIMEOUTS", FAST):
        yield


@pytest.fixture(autouse=True)
def port_scan() -> Iterator[AsyncMock]:
    with patch.object(serialx, "async_list_serial_ports", AsyncMock(return_value=[])) as scan:
        yield scan


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    with (
        patch("custom_components.swiss_meter_cii.async_setup_entry", return_value=True) as setup,
        patch("custom_components.swiss_meter_cii.async_unload_entry", return_value=True),
    ):
        yield setup


class PtyMeter:
    """A meter behind a pseudo-terminal, pushing every `interval` seconds.

    With `good_format` set, the meter only comes through at that serial format (the
    format the last reader opened the port with); otherwise the line carries noise.
    """

    def __init__(
        self,
        source: Callable[[], bytes] | None,
        *,
        good_format: str | None = None,
        interval: float = INTERVAL,
    ) -> None:
        self.source = source
        self.good_format = good_format
        self.interval = interval
        self.format: str | None = None
        self.opened: list[str] = []
        self.pty = PtyOutput()
        self.path = self.pty.path
        self._rng = random.Random(5)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.source is None:
                continue
            wire = self.source()
            if self.good_format is not None and self.format != self.good_format:
                wire = self._rng.randbytes(len(wire))
            self.pty.write(wire)

    async def opener(
        self, port: str, serial_format: SerialFormat
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """open_link that tells the simulated line which settings the reader uses."""
        self.format = str(serial_format)
        self.opened.append(self.format)
        self._reset_termios()
        return await open_link(port, serial_format)

    def _reset_termios(self) -> None:
        """Undo the last reader's line settings, as unplugging a USB adapter would.

        A Linux pty drops PARENB, and refuses (EINVAL) a later tcsetattr whose only change
        is that flag, so a second opening at 8E1 would fail where a real adapter does not.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            attrs = termios.tcgetattr(fd)
            attrs[4] = attrs[5] = termios.B38400
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        finally:
            os.close(fd)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.pty.close()


type PtyFactory = Callable[..., PtyMeter]


@pytest.fixture
async def pty_meter() -> AsyncIterator[PtyFactory]:
    made: list[PtyMeter] = []

    def make(source: Callable[[], bytes] | MeterSimulator | None, **kwargs: Any) -> PtyMeter:
        if isinstance(source, MeterSimulator):
            meter = source
            source = lambda: meter.next_push(5.0)  # noqa: E731
        line = PtyMeter(source, **kwargs)
        made.append(line)
        return line

    async def opener(
        port: str, serial_format: SerialFormat
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        for line in made:
            if line.path == port:
                return await line.opener(port, serial_format)
        return await open_link(port, serial_format)

    with patch(f"{PROBE}.open_link", opener):
        yield make
    for line in made:
        await line.close()


def assert_no_secret(result: ConfigFlowResult | dict[str, Any]) -> None:
    """No key material in what the flow hands to the frontend (entry data aside)."""
    shown = {k: v for k, v in result.items() if k not in ("data", "result")}
    text = repr(shown)
    for secret in SECRETS:
        assert secret not in text


async def open_serial(
    hass: HomeAssistant, port: str, serial_format: str = "2400_8E1"
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["serial", "network"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "serial"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: port, CONF_SERIAL_FORMAT: serial_format}
    )


async def open_network(hass: HomeAssistant, port: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "network"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "network"
    return await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})


async def submit_meter(
    hass: HomeAssistant, result: ConfigFlowResult, **fields: str
) -> ConfigFlowResult:
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meter"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL: "auto", **fields}
    )
    assert_no_secret(result)
    return result


async def probed(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    """Wait for the live check and return the step it leads to."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "probe"
    assert_no_secret(result)
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert_no_secret(result)
    return result


# -- success paths ---------------------------------------------------------------------------


async def test_serial_success(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=1)
    line = pty_meter(meter)
    result = await open_serial(hass, line.path)
    result = await submit_meter(hass, result, encryption_key=KEY_TEXT, authentication_key=AUTH_TEXT)
    result = await probed(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["meter_number"] == meter.meter_number
    assert placeholders["model"] == "Landis+Gyr"  # 'auto' cannot tell an E450 from an E570
    assert int(placeholders["values"]) >= 20
    assert placeholders["serial_format"] == "2400 8E1"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Landis+Gyr {meter.meter_number}"
    # The live check measured the push interval; availability starts from it.
    intervals = result["data"][CONF_PUSH_INTERVALS]
    assert list(intervals) == ["0-8:25.9.0.255"], intervals  # the E450's push setup
    assert 0 < intervals["0-8:25.9.0.255"] < 10
    assert {k: v for k, v in result["data"].items() if k != CONF_PUSH_INTERVALS} == {
        CONF_PORT: line.path,
        CONF_SERIAL_FORMAT: "2400_8E1",
        CONF_MODEL: "auto",
        CONF_ENCRYPTION_KEY: KEY_HEX,
        CONF_AUTHENTICATION_KEY: AUTH_HEX,
    }
    assert result["result"].unique_id == meter.meter_number
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1


async def test_no_interval_stored_when_the_two_pushes_are_of_different_lists(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    """An E450 sending its two lists in turn: the live check cannot time either of them."""
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=8)
    lists = iter(range(10**6))

    def alternating() -> bytes:
        first = next(lists) % 2 == 0
        return meter.next_push(5.0) if first else meter.next_second_list_push()

    line = pty_meter(alternating)
    result = await open_serial(hass, line.path)
    result = await probed(hass, await submit_meter(hass, result, encryption_key=KEY_TEXT))
    assert result["step_id"] == "confirm", result.get("errors")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PUSH_INTERVALS not in result["data"]  # the runtime measures them instead


async def test_plain_meter_without_keys(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    meter = MeterSimulator("am550", seed=2)
    line = pty_meter(meter)
    result = await open_serial(hass, line.path, "115200_8N1")
    result = await probed(hass, await submit_meter(hass, result, model="iskra_am550"))
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Iskraemeco AM550 {meter.meter_number}"
    assert result["data"][CONF_MODEL] == "iskra_am550"
    assert result["data"][CONF_SERIAL_FORMAT] == "115200_8N1"
    assert result["data"][CONF_ENCRYPTION_KEY] == ""
    assert result["data"][CONF_AUTHENTICATION_KEY] == ""


async def test_serial_format_auto_detection(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    """The meter only answers at 9600 8N1: the flow stores that, not 'auto'."""
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=3)
    line = pty_meter(meter, good_format="9600_8N1")
    result = await open_serial(hass, line.path, SERIAL_FORMAT_AUTO)
    result = await probed(hass, await submit_meter(hass, result, encryption_key=KEY_TEXT))
    assert result["step_id"] == "confirm", result.get("errors")
    assert line.opened == list(PROBE_ORDER[:2])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SERIAL_FORMAT] == "9600_8N1"


@pytest.mark.parametrize("address", ["socket://127.0.0.1:{port}", "127.0.0.1:{port}"])
async def test_network_success(
    hass: HomeAssistant, socket_enabled: None, mock_setup_entry: AsyncMock, address: str
) -> None:
    meter = MeterSimulator("kaifa_ma309m", key=DEFAULT_KEY, seed=4)
    server = TcpMeterServer(meter, interval=INTERVAL)
    port = await server.start()
    try:
        result = await open_network(hass, address.format(port=port))
        result = await probed(
            hass, await submit_meter(hass, result, encryption_key=KEY_TEXT, model="kaifa_ma309m")
        )
        assert result["step_id"] == "confirm"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    finally:
        await server.stop()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PORT] == f"socket://127.0.0.1:{port}"
    assert result["data"][CONF_SERIAL_FORMAT] == PROBE_ORDER[0]
    assert result["result"].unique_id == meter.meter_number
    assert result["title"] == f"Kaifa MA309M {meter.meter_number}"


async def test_network_flow_over_the_rest_api(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    socket_enabled: None,
    mock_setup_entry: AsyncMock,
) -> None:
    """The progress step can be polled by a REST client until the confirm form appears."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=5)
    server = TcpMeterServer(meter, interval=INTERVAL)
    port = await server.start()
    base = "/api/config/config_entries/flow"
    try:
        resp = await client.post(base, json={"handler": DOMAIN, "show_advanced_options": False})
        assert resp.status == HTTPStatus.OK
        flow_id = (await resp.json())["flow_id"]
        resp = await client.post(f"{base}/{flow_id}", json={"next_step_id": "network"})
        resp = await client.post(f"{base}/{flow_id}", json={CONF_PORT: f"127.0.0.1:{port}"})
        assert (await resp.json())["step_id"] == "meter"
        resp = await client.post(
            f"{base}/{flow_id}", json={CONF_MODEL: "auto", CONF_ENCRYPTION_KEY: KEY_TEXT}
        )
        body = await resp.json()
        assert body["type"] == "progress"
        assert_no_secret(body)
        for _ in range(100):
            await asyncio.sleep(0.1)
            body = await (await client.get(f"{base}/{flow_id}")).json()
            if body["type"] != "progress":
                break
        assert body["type"] == "form"
        assert body["step_id"] == "confirm"
        assert body["description_placeholders"]["meter_number"] == meter.meter_number
        resp = await client.post(f"{base}/{flow_id}", json={})
        body = await resp.json()
    finally:
        await server.stop()
    assert body["type"] == "create_entry"
    assert_no_secret(body)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.data[CONF_ENCRYPTION_KEY] == KEY_HEX


# -- probe failures --------------------------------------------------------------------------


async def test_cannot_connect_then_fix_the_port(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    """A link error goes back to the port step; the keys are kept for the retry."""
    result = await open_serial(hass, "/dev/does-not-exist-ttyUSB9")
    result = await probed(hass, await submit_meter(hass, result, encryption_key=KEY_TEXT))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "cannot_connect"}
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=6)
    line = pty_meter(meter)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: line.path, CONF_SERIAL_FORMAT: "2400_8E1"}
    )
    result = await probed(hass, result)  # straight to the check: no second key entry
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ENCRYPTION_KEY] == KEY_HEX


async def test_no_data(hass: HomeAssistant, pty_meter: PtyFactory) -> None:
    line = pty_meter(None)
    with patch(f"{FLOW}.PROBE_TIMEOUTS", ProbeTimeouts(total=0.6, per_format=0.3, gap=0.1)):
        result = await open_serial(hass, line.path)
        result = await probed(hass, await submit_meter(hass, result))
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_data"}


async def test_no_frames(hass: HomeAssistant, pty_meter: PtyFactory) -> None:
    meter = MeterSimulator("e450", seed=7)
    line = pty_meter(meter, good_format="none")
    result = await open_serial(hass, line.path, SERIAL_FORMAT_AUTO)
    result = await probed(hass, await submit_meter(hass, result))
    assert result["step_id"] == "serial"
    assert result["errors"] == {"base": "no_frames"}
    assert line.opened == list(PROBE_ORDER)


@pytest.mark.parametrize(
    ("meter_keys", "entered", "error"),
    [
        ((DEFAULT_KEY, None), {}, "missing_key"),
        ((DEFAULT_KEY, None), {CONF_ENCRYPTION_KEY: WRONG_TEXT}, "wrong_key"),
        (
            (DEFAULT_KEY, DEFAULT_AUTH_KEY),
            {CONF_ENCRYPTION_KEY: KEY_TEXT, CONF_AUTHENTICATION_KEY: WRONG_TEXT},
            "auth_failed",
        ),
    ],
)
async def test_key_errors_then_fix_the_key(
    hass: HomeAssistant,
    pty_meter: PtyFactory,
    mock_setup_entry: AsyncMock,
    meter_keys: tuple[bytes, bytes | None],
    entered: dict[str, str],
    error: str,
) -> None:
    """A key problem is reported as such, on the meter step, and can be corrected there."""
    key, auth = meter_keys
    meter = MeterSimulator("e450", key=key, auth_key=auth, seed=8)
    line = pty_meter(meter)
    result = await open_serial(hass, line.path)
    result = await probed(hass, await submit_meter(hass, result, **entered))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": error}
    result = await probed(hass, await submit_meter(hass, result, encryption_key=KEY_TEXT))
    assert result["step_id"] == "confirm", result.get("errors")


async def test_unsupported_layout(hass: HomeAssistant, pty_meter: PtyFactory) -> None:
    body = enc.structure([enc.boolean(True), enc.bit_string(3, b"\xa0"), enc.boolean(False)])
    frame = enc.hdlc_frame(
        enc.LLC_PUSH + enc.data_notification(1, body, None), destination=b"\xcf", source=b"\x03"
    )
    line = pty_meter(lambda: frame)
    result = await open_serial(hass, line.path)
    result = await probed(hass, await submit_meter(hass, result))
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": "unsupported_layout"}


async def test_unexpected_probe_error(hass: HomeAssistant) -> None:
    with patch(f"{FLOW}.async_probe", side_effect=RuntimeError("boom")):
        result = await open_serial(hass, "/dev/ttyUSB0")
        result = await probed(hass, await submit_meter(hass, result))
    assert result["step_id"] == "meter"
    assert result["errors"] == {"base": "unknown"}


# -- input validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY],
)
@pytest.mark.parametrize(
    "bad",
    [
        KEY_HEX + "A0B",  # 35 characters: digits of the next field pasted too
        KEY_HEX[:-2],  # 30 digits
        "G" * 32,  # not hex
        "0x" + KEY_HEX,
    ],
    ids=["35-characters", "30-digits", "not-hex", "0x-prefix"],
)
async def test_invalid_key_is_rejected_on_its_field(
    hass: HomeAssistant, field: str, bad: str
) -> None:
    with patch(f"{FLOW}.async_probe") as probe:
        result = await open_serial(hass, "/dev/ttyUSB0")
        result = await submit_meter(hass, result, **{field: bad})
    probe.assert_not_called()
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meter"
    assert result["errors"] == {field: "invalid_key"}
    assert bad not in repr(result)
    assert bad.lower().removeprefix("0x")[:20] not in repr(result).lower()


async def test_35_character_paste_is_rejected(hass: HomeAssistant) -> None:
    pasted = KEY_HEX + "A0B"
    assert len(pasted) == 35
    result = await open_serial(hass, "/dev/ttyUSB0")
    result = await submit_meter(hass, result, encryption_key=pasted)
    assert result["errors"] == {CONF_ENCRYPTION_KEY: "invalid_key"}


@pytest.mark.parametrize(
    "address", ["/dev/ttyUSB0", "http://10.0.0.2:80", "socket://:3001", "socket://host", "host:x"]
)
async def test_network_step_rejects_bad_addresses(hass: HomeAssistant, address: str) -> None:
    result = await open_network(hass, address)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "network"
    assert result["errors"] == {CONF_PORT: "invalid_url"}


@pytest.mark.parametrize(
    ("text", "network", "expected"),
    [
        ("/dev/serial/by-id/usb-FTDI-if00-port0", False, "/dev/serial/by-id/usb-FTDI-if00-port0"),
        ("  /dev/ttyUSB0 ", False, "/dev/ttyUSB0"),
        ("COM3", False, "COM3"),
        ("192.168.1.20:3001", True, "socket://192.168.1.20:3001"),
        ("ser2net.local:3001", False, "socket://ser2net.local:3001"),
        ("[fd00::5]:3001", True, "socket://[fd00::5]:3001"),
        ("tcp://bridge:3001", True, "socket://bridge:3001"),
        ("SOCKET://bridge:3001", True, "socket://bridge:3001"),
        ("rfc2217://bridge:4000", True, "rfc2217://bridge:4000"),
        (
            "esphome://meter-proxy.local/?port_name=cii",
            True,
            "esphome://meter-proxy.local/?port_name=cii",
        ),
        (
            "esphome://10.0.0.9:6053?port_name=cii&key=abc",
            True,
            "esphome://10.0.0.9:6053?port_name=cii&key=abc",
        ),
        # What HA 2026.5+'s serial-port selector returns for an ESPHome serial proxy.
        (
            "esphome-hass://esphome/01JABCDEF?port_name=cii",
            False,
            "esphome-hass://esphome/01JABCDEF?port_name=cii",
        ),
    ],
)
def test_normalize_port(text: str, network: bool, expected: str) -> None:
    assert normalize_port(text, network=network) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "socket://host:99999", "ftp://x:1", "socket://:1", "esphome://"]
)
def test_normalize_port_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        normalize_port(text, network=True)


async def test_serial_step_lists_ports_with_readable_labels(
    hass: HomeAssistant, port_scan: AsyncMock
) -> None:
    by_id = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1ABC-if00-port0"
    port_scan.return_value = [
        serialx.SerialPortInfo(
            "/dev/ttyS0", "/dev/ttyS0", None, None, None, None, None, None, None, None
        ),
        serialx.SerialPortInfo(
            by_id, "/dev/ttyUSB0", 0x0403, 0x6001, None, "FTDI", "FT232R USB UART", None, None, 0
        ),
        # Listed twice (some platforms report a port per interface): shown once.
        serialx.SerialPortInfo(
            by_id, "/dev/ttyUSB0", 0x0403, 0x6001, None, "FTDI", "FT232R USB UART", None, None, 0
        ),
    ]
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "serial"}
    )
    schema = result["data_schema"]
    assert schema is not None
    port_selector = schema.schema[CONF_PORT]
    assert isinstance(port_selector, selector.SelectSelector)
    assert port_selector.config["custom_value"] is True
    assert port_selector.config["options"] == [
        {"value": by_id, "label": f"FT232R USB UART - FTDI ({by_id})"},
        {"value": "/dev/ttyS0", "label": "/dev/ttyS0"},
    ]


async def test_serial_port_selector_of_newer_home_assistant(hass: HomeAssistant) -> None:
    """HA 2026 has a serial_port selector (with its usb helpers); it is used when present."""

    class SerialPortSelector(selector.TextSelector):
        pass

    hass.config.components.add("usb")
    with patch.object(selector, "SerialPortSelector", SerialPortSelector, create=True):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "serial"}
        )
    schema = result["data_schema"]
    assert schema is not None
    assert isinstance(schema.schema[CONF_PORT], SerialPortSelector)


async def test_port_in_use(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id="1234567", data={CONF_PORT: "/dev/ttyUSB0"}
    ).add_to_hass(hass)
    result = await open_serial(hass, "/dev/ttyUSB0")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    assert result["errors"] == {CONF_PORT: "port_in_use"}


async def test_already_configured(hass: HomeAssistant, pty_meter: PtyFactory) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=9)
    MockConfigEntry(
        domain=DOMAIN, unique_id=meter.meter_number, data={CONF_PORT: "/dev/ttyUSB7"}
    ).add_to_hass(hass)
    line = pty_meter(meter)
    result = await open_serial(hass, line.path)
    result = await probed(hass, await submit_meter(hass, result, encryption_key=KEY_TEXT))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_esphome_key_is_redacted_in_the_progress_text(hass: HomeAssistant) -> None:
    never_done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def wait_forever(*_args: Any, **_kwargs: Any) -> Any:
        return await never_done

    with patch(f"{FLOW}.async_probe", wait_forever):
        result = await open_network(hass, "esphome://proxy.local/?port_name=cii&key=c2VjcmV0")
        result = await submit_meter(hass, result)
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        placeholders = result["description_placeholders"]
        assert placeholders is not None
        assert "c2VjcmV0" not in placeholders["port"]
        assert "REDACTED" in placeholders["port"]
        hass.config_entries.flow.async_abort(result["flow_id"])
        await hass.async_block_till_done()


# -- options ---------------------------------------------------------------------------------


async def test_options(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="1", data={CONF_PORT: "/dev/ttyUSB0"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_MIN_INTERVAL: 10.0,
            CONF_SCALER_OVERRIDES: " 1-0:32.7.0=-1, 31.7.0=-2 ",
            CONF_UNKNOWN_OBIS: False,
            CONF_TIME_SOURCE: "receive",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_MIN_INTERVAL: 10,
        CONF_SCALER_OVERRIDES: "1-0:32.7.0=-1, 31.7.0=-2",
        CONF_UNKNOWN_OBIS: False,
        CONF_TIME_SOURCE: "receive",
        **VSE_OFF,
    }


async def test_options_defaults_and_invalid_scaler(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="1", data={CONF_PORT: "/dev/ttyUSB0"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_MIN_INTERVAL: 0, CONF_SCALER_OVERRIDES: "32.7.0=minus one"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SCALER_OVERRIDES: "invalid_scaler"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["scaler_error"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MIN_INTERVAL: 0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_MIN_INTERVAL: 0,
        CONF_SCALER_OVERRIDES: "",
        CONF_UNKNOWN_OBIS: True,
        CONF_TIME_SOURCE: "meter",
        **VSE_OFF,
    }


VSE_OFF = {CONF_VSE_MQTT: False, CONF_VSE_GROUP: "building", CONF_VSE_SOURCE: ""}


@pytest.mark.parametrize(
    ("vse", "error"),
    [
        ({CONF_VSE_MQTT: True}, "mqtt_missing"),
        ({CONF_VSE_MQTT: False, CONF_VSE_GROUP: "my house"}, "invalid_topic_level"),
        ({CONF_VSE_MQTT: False, CONF_VSE_SOURCE: "a/b"}, "invalid_topic_level"),
        ({CONF_VSE_MQTT: False, CONF_VSE_SOURCE: "#"}, "invalid_topic_level"),
    ],
)
async def test_options_vse_output_refused(
    hass: HomeAssistant, vse: dict[str, object], error: str
) -> None:
    """The VSE output needs MQTT set up, and group and source are single topic levels."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="1", data={CONF_PORT: "/dev/ttyUSB0"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MIN_INTERVAL: 0, "vse_output": vse}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert not entry.options


async def test_options_vse_output_with_mqtt(hass: HomeAssistant) -> None:
    """With an MQTT entry the output can be turned on; the section is stored flat."""
    MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1"}).add_to_hass(hass)
    entry = MockConfigEntry(domain=DOMAIN, unique_id="1", data={CONF_PORT: "/dev/ttyUSB0"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    vse = {CONF_VSE_MQTT: True, CONF_VSE_GROUP: " house1 ", CONF_VSE_SOURCE: "garage"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MIN_INTERVAL: 5, "vse_output": vse}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_VSE_MQTT] is True
    assert entry.options[CONF_VSE_GROUP] == "house1"
    assert entry.options[CONF_VSE_SOURCE] == "garage"
    # The form opens again with the section unfolded and the stored values.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    (vse_section,) = [v for k, v in schema.schema.items() if str(k) == "vse_output"]
    assert vse_section.options == {"collapsed": False}


# -- reconfigure -----------------------------------------------------------------------------


def meter_entry(meter: MeterSimulator, port: str, **data: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        unique_id=meter.meter_number,
        title=f"Landis+Gyr E450 {meter.meter_number}",
        data={
            CONF_PORT: port,
            CONF_SERIAL_FORMAT: "2400_8E1",
            CONF_MODEL: "auto",
            CONF_ENCRYPTION_KEY: KEY_HEX,
            CONF_AUTHENTICATION_KEY: "",
            **data,
        },
    )


@pytest.mark.parametrize(
    ("loaded", "sender", "fields", "outcome"),
    [
        pytest.param(False, "mine", {CONF_MODEL: "lg_e450"}, "reconfigure_successful", id="moves"),
        pytest.param(False, "other", {}, "wrong_meter", id="another-meter"),
        pytest.param(False, "mine", {CONF_ENCRYPTION_KEY: WRONG_TEXT}, "wrong_key", id="failure"),
        pytest.param(True, "mine", {}, "reconfigure_successful", id="loaded"),
        pytest.param(True, "other", {}, "wrong_meter", id="loaded-another-meter"),
        pytest.param(
            True, "mine", {CONF_ENCRYPTION_KEY: WRONG_TEXT}, "wrong_key", id="loaded-failure"
        ),
    ],
)
async def test_reconfigure(
    hass: HomeAssistant,
    pty_meter: PtyFactory,
    mock_setup_entry: AsyncMock,
    loaded: bool,
    sender: str,
    fields: dict[str, str],
    outcome: str,
) -> None:
    """Stored only for the same meter after a passed check; a loaded entry is paused for it.

    A loaded entry reads the port it is reconfigured on (the reader is stopped during the
    check and started again afterwards, whatever the outcome); an unloaded one moves from
    another port. A failed check shows the form again, another meter aborts.
    """
    mine = MeterSimulator("e450", key=DEFAULT_KEY, seed=11)
    other = MeterSimulator("e450", key=DEFAULT_KEY, seed=12)
    assert mine.meter_number != other.meter_number
    line = pty_meter(other if sender == "other" else mine)
    stored_port = line.path if loaded else "/dev/ttyUSB0"
    entry = meter_entry(mine, stored_port)
    entry.add_to_hass(hass)
    if loaded:
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.LOADED
    calls = len(mock_setup_entry.mock_calls)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert_no_secret(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PORT: line.path, CONF_SERIAL_FORMAT: "2400_8E1", CONF_MODEL: "auto", **fields},
    )
    result = await probed(hass, result)
    if outcome == "wrong_key":
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        assert result["errors"] == {"base": "wrong_key"}
    else:
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == outcome
    await hass.async_block_till_done()
    if outcome == "reconfigure_successful":
        assert entry.data[CONF_PORT] == line.path
        assert entry.data[CONF_MODEL] == fields.get(CONF_MODEL, "auto")
        assert entry.unique_id == mine.meter_number
    else:
        assert entry.data[CONF_PORT] == stored_port  # nothing stored
    assert entry.data[CONF_ENCRYPTION_KEY] == KEY_HEX  # an empty key field keeps the key
    if loaded:
        assert entry.state is ConfigEntryState.LOADED
        assert len(mock_setup_entry.mock_calls) == calls + 1


# -- reauth ----------------------------------------------------------------------------------


async def test_reauth_with_the_new_key(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    """The utility changed the key: the stored one no longer decrypts."""
    meter = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=16)
    line = pty_meter(meter)
    entry = meter_entry(meter, line.path, encryption_key=wrong_key(DEFAULT_KEY).hex().upper())
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert_no_secret(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_ENCRYPTION_KEY: KEY_TEXT, CONF_AUTHENTICATION_KEY: AUTH_TEXT},
    )
    result = await probed(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_ENCRYPTION_KEY] == KEY_HEX
    assert entry.data[CONF_AUTHENTICATION_KEY] == AUTH_HEX
    assert entry.data[CONF_PORT] == line.path


async def test_reauth_still_wrong(hass: HomeAssistant, pty_meter: PtyFactory) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=17)
    line = pty_meter(meter)
    stored = wrong_key(DEFAULT_KEY).hex().upper()
    entry = meter_entry(meter, line.path, encryption_key=stored)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENCRYPTION_KEY: WRONG_TEXT}
    )
    result = await probed(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "wrong_key"}
    assert entry.data[CONF_ENCRYPTION_KEY] == stored


async def test_reauth_requires_a_valid_key(hass: HomeAssistant) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=18)
    entry = meter_entry(meter, "/dev/ttyUSB0")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENCRYPTION_KEY: "12 34"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ENCRYPTION_KEY: "invalid_key"}


async def test_reauth_refuses_another_meter(
    hass: HomeAssistant, pty_meter: PtyFactory, mock_setup_entry: AsyncMock
) -> None:
    mine = MeterSimulator("e450", key=DEFAULT_KEY, seed=19)
    other = MeterSimulator("e450", key=DEFAULT_KEY, seed=20)
    line = pty_meter(other)
    entry = meter_entry(mine, line.path)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENCRYPTION_KEY: KEY_TEXT}
    )
    result = await probed(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"


# -- translations ----------------------------------------------------------------------------


def test_translations_cover_every_error_and_option() -> None:
    """Custom integrations only read translations/*.json: every key must be in each."""
    folder = Path(config_flow.__file__).parent
    source = json.loads((folder / "strings.json").read_text(encoding="utf-8"))
    for lang in ("en", "de", "fr", "it"):
        tr = json.loads((folder / "translations" / f"{lang}.json").read_text(encoding="utf-8"))
        errors = tr["config"]["error"]
        for key in (*PROBE_ERRORS, "invalid_key", "invalid_url", "port_in_use", "unknown"):
            assert errors[key], (lang, key)
        assert set(tr["config"]["abort"]) >= {
            "already_configured",
            "wrong_meter",
            "reconfigure_successful",
            "reauth_successful",
        }
        assert tr["config"]["progress"]["probe"]
        assert set(tr["selector"]["model"]["options"]) == set(MODEL_IDS)
        assert set(tr["selector"]["serial_format"]["options"]) == {
            SERIAL_FORMAT_AUTO,
            *SERIAL_FORMATS,
        }
        assert set(tr["selector"]["time_source"]["options"]) == {"meter", "receive"}
        assert tr["options"]["error"]["invalid_scaler"]
        for step, content in tr["config"]["step"].items():
            assert set(content.get("data", {})) == set(content.get("data_description", {})), step
            assert content["title"], step
        assert set(tr["config"]) == set(source["config"])
        if lang == "en":
            assert tr["config"] == source["config"]
            assert tr["options"] == source["options"]


# -- port helpers and remaining validation -----------------------------------------------------


def test_device_paths_become_stable_by_id_links(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = by_id / "usb-FTDI_FT232R_USB_UART_A10K1ABC-if00-port0"
    link.symlink_to(device)
    (by_id / "not-a-link").touch()
    with patch(f"{PORTS}.SERIAL_BY_ID", str(by_id)):
        assert ports.serial_by_id(str(device)) == str(link)
        assert ports.serial_by_id(str(tmp_path / "ttyACM0")) == str(tmp_path / "ttyACM0")
        assert ports.serial_by_id("socket://h:1") == "socket://h:1"
    with patch(f"{PORTS}.SERIAL_BY_ID", str(tmp_path / "missing")):
        assert ports.serial_by_id(str(device)) == str(device)


async def test_port_in_use_through_a_symlink(hass: HomeAssistant, tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = tmp_path / "meter"
    link.symlink_to(device)
    MockConfigEntry(domain=DOMAIN, unique_id="1", data={CONF_PORT: str(link)}).add_to_hass(hass)
    result = await open_serial(hass, str(device))
    assert result["errors"] == {CONF_PORT: "port_in_use"}


async def test_port_labels_and_a_failing_scan(hass: HomeAssistant, port_scan: AsyncMock) -> None:
    info = serialx.SerialPortInfo(
        "/dev/ttyACM0", "/dev/ttyACM0", 0x10C4, 0xEA60, "0001", "Silicon Labs", None, None, None, 0
    )
    assert ports.port_label(info) == "Silicon Labs, s/n 0001 (/dev/ttyACM0)"
    port_scan.side_effect = OSError("no sysfs")
    assert await ports.async_port_options() == []


async def test_serial_step_refuses_a_bad_url(hass: HomeAssistant) -> None:
    result = await open_serial(hass, "http://bridge:80")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "serial"
    assert result["errors"] == {CONF_PORT: "invalid_url"}


async def test_reauth_refuses_an_empty_key(hass: HomeAssistant) -> None:
    entry = meter_entry(MeterSimulator("e450", key=DEFAULT_KEY, seed=21), "/dev/ttyUSB0")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENCRYPTION_KEY: "   "}
    )
    assert result["errors"] == {CONF_ENCRYPTION_KEY: "invalid_key"}


async def test_reconfigure_validates_port_and_keys(hass: HomeAssistant) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=22)
    entry = meter_entry(meter, "/dev/ttyUSB0")
    entry.add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, unique_id="other", data={CONF_PORT: "/dev/ttyUSB1"}).add_to_hass(
        hass
    )
    base = {CONF_SERIAL_FORMAT: "2400_8E1", CONF_MODEL: "auto"}
    result = await entry.start_reconfigure_flow(hass)
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**base, CONF_PORT: "ftp://x:1"}
    )
    assert result["errors"] == {CONF_PORT: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**base, CONF_PORT: "/dev/ttyUSB1"}
    )
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**base, CONF_PORT: "/dev/ttyUSB0", CONF_AUTHENTICATION_KEY: "00"}
    )
    assert result["errors"] == {CONF_AUTHENTICATION_KEY: "invalid_key"}
    assert_no_secret(result)
