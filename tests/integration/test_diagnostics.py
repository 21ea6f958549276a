"""Diagnostics download: useful for a bug report, and no key in any spelling."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped,unused-ignore]
    ClientSessionGenerator,
)

from custom_components.swiss_meter_cii.diagnostics import _scrub
from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator, wrong_key
from tests.decoder import UNKNOWN_LIST, UNKNOWN_OUTLINE, UNKNOWN_SIGNATURE

from .conftest import FakeLink, entry_for, send_push, settle, setup_entry

NOISE_PSK = "q2Zc3Vb0rXk8nYt5w1LmP4sJ7dHfG6aE9uKoTiRyBvN="
AUTH_TEXT = ":".join(f"{byte:02X}" for byte in DEFAULT_AUTH_KEY)


def spellings(key: bytes) -> list[str]:
    hexed = key.hex()
    return [
        hexed,
        hexed.upper(),
        " ".join(hexed[i : i + 2] for i in range(0, 32, 2)),
        ":".join(hexed[i : i + 2].upper() for i in range(0, 32, 2)),
        hexed[:16],  # half a key is still a leak
        hexed[16:].upper(),
    ]


async def test_diagnostics_are_useful_and_keyless(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, fake_link: FakeLink
) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=11)
    port = f"esphome://meter-bridge.local:6053/?port_name=CII&key={NOISE_PSK}"
    entry = entry_for(meter, port=port, auth_text=AUTH_TEXT)
    coordinator = await setup_entry(hass, entry)

    wire = await send_push(hass, fake_link, meter)
    stranger = MeterSimulator("e450", key=wrong_key(DEFAULT_KEY), seed=11)
    fake_link.send(stranger.next_push())
    fake_link.send(b"\x7e\xa0\x10garbage-bytes\x7e")
    await settle(hass)

    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in (*spellings(DEFAULT_KEY), *spellings(DEFAULT_AUTH_KEY), NOISE_PSK):
        assert secret not in text
        assert secret.lower() not in text.lower()

    data = diagnostics["entry"]["data"]
    assert data["encryption_key"] == "**REDACTED**"
    assert data["authentication_key"] == "**REDACTED**"
    assert "port_name=CII" in data["port"]

    link = diagnostics["link"]
    assert link["state"] == "connected"
    assert link["pushes"] == 1
    assert link["security"] == "authenticated"
    assert link["frame_counter"] == meter.frame_counter
    assert link["bytes_received"] == coordinator.stats.bytes_received > len(wire)
    errors = diagnostics["errors"]
    assert errors["auth_failed"] + errors["wrong_key"] == 1
    assert diagnostics["decoder"]["pushes"] == 1

    frames = diagnostics["raw_frames"]
    assert isinstance(frames, list)
    assert len(frames) == 1
    assert bytes.fromhex(str(frames[0])) in wire or wire in bytes.fromhex(str(frames[0]))
    refused = diagnostics["refused_frames"]
    assert isinstance(refused, list)
    assert refused
    assert {item["kind"] for item in refused} & {"wrong_key", "auth_failed"}

    last = diagnostics["last_push"]["values"]
    energy, unit = meter.last_values["1-1:1.8.0.255"]
    assert last["1-1:1.8.0.255"] == {"value": str(energy), "unit": unit}
    assert diagnostics["meter"]["identity"]["number"] == meter.meter_number
    await hass.config_entries.async_unload(entry.entry_id)


def test_scrub_catches_a_key_anywhere() -> None:
    """The last line of defence: a key that slipped into any text is replaced."""
    hexed = DEFAULT_KEY.hex()
    data = {
        "detail": f"tried {hexed.upper()} and {hexed}",
        "frames": [f"7ea0{hexed}7e", 42, None],
        "nested": {"text": "nothing secret"},
    }
    scrubbed = _scrub(data, [hexed, hexed.upper()])
    assert hexed not in json.dumps(scrubbed).lower()
    assert scrubbed["detail"] == "tried **REDACTED** and **REDACTED**"
    assert scrubbed["frames"] == ["7ea0**REDACTED**7e", 42, None]
    assert scrubbed["nested"] == {"text": "nothing secret"}


async def test_an_unknown_list_is_outlined_for_a_template(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, fake_link: FakeLink
) -> None:
    """The download shows every position with its type, the way templates count them."""
    meter = MeterSimulator("am550", seed=4)
    entry = entry_for(meter, key_text="")
    await setup_entry(hass, entry)
    fake_link.send(UNKNOWN_LIST)
    await settle(hass)

    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    (refusal,) = [r for r in diagnostics["refused_frames"] if r["kind"] == "unsupported_layout"]
    assert UNKNOWN_SIGNATURE in refusal["detail"]
    assert refusal["outline"] == UNKNOWN_OUTLINE
    await hass.config_entries.async_unload(entry.entry_id)
