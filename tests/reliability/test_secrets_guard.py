"""The suite-wide key-leak guard finds keys in every spelling, and a leaking test fails.

The guard (tests/conftest.py, tests/reliability/secrets_guard.py) is only worth something if
it fails on a real leak: these tests plant keys in log records, in a diagnostics download and
in a throw-away test run in a subprocess, and check that clean text passes.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
import subprocess
import sys
import textwrap
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped,unused-ignore]
    ClientSessionGenerator,
)

from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator, wrong_key
from tests.integration.conftest import FakeLink, entry_for, send_push, setup_entry

from .secrets_guard import KeyLeakGuard, suite_keys

REPO = Path(__file__).resolve().parents[2]
ASCII_KEY = bytes.fromhex("34743677397A24432646294A404E6352")  # Netz Burgenland vector: text


def spellings(key: bytes) -> dict[str, str]:
    """The ways a key ends up in a message (what users paste, what Python prints)."""
    hexed = key.hex()
    pairs = [hexed[i : i + 2] for i in range(0, 32, 2)]
    return {
        "lower": hexed,
        "upper": hexed.upper(),
        "spaced": " ".join(pairs),
        "colons": ":".join(pairs).upper(),
        "dashes": "-".join(pairs),
        "quads": " ".join(hexed[i : i + 4] for i in range(0, 32, 4)).upper(),
        "0x list": ", ".join(f"0x{p.upper()}" for p in pairs),
        "escaped": "".join(f"\\x{p}" for p in pairs),
        "bytes repr": repr(key),
        "int list": repr(list(key)),
        "base64": base64.b64encode(key).decode(),
    }


@pytest.mark.parametrize(
    "key",
    [DEFAULT_KEY, DEFAULT_AUTH_KEY, ASCII_KEY, wrong_key(DEFAULT_KEY)],
    ids=["guek", "gak", "ascii", "wrong-key"],  # never the key itself in a test id
)
def test_every_spelling_is_found(key: bytes) -> None:
    guard = KeyLeakGuard(suite_keys())
    assert key in guard.keys
    for name, text in spellings(key).items():
        assert guard.find(f"Decrypting with {text} failed") is not None, name
    if key == ASCII_KEY:
        assert guard.find(f"key={key.decode()}") == "text"


def test_every_vector_key_is_known() -> None:
    keys = KeyLeakGuard(suite_keys()).keys
    for key in (
        "36C66639E48A8CA4D6BC8B282A793BBB",
        "5C316162209EBB790B52EB0E7FC5B11C",
        "92705C5C97286064EABAE38D190F87A4",
        "D491470F47126332B07D1923B3504188",
        "00112233445566778899AABBCCDDEEFF",
        "612888F59306A7855AC5C08CB3A96B39",
    ):
        assert bytes.fromhex(key) in keys


def test_clean_text_passes() -> None:
    """Frames, counters, half a key and other long hex do not trip the guard."""
    guard = KeyLeakGuard(suite_keys())
    sim = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=1)
    clean = [
        "Refused (wrong_key): decrypted APDU starts with 0x3A, not a push: the key is wrong",
        "socket://127.0.0.1:3001 sends at 2400_8E1",
        "Dropped implausible reading of 12345678_1-1:1.8.0.255: 0 Wh (zero after 5120)",
        DEFAULT_KEY.hex()[:16],  # half a key: the guard looks for whole keys only
        bytes(range(1, 17)).hex(),
        "frame counter 4294967295 is not above 4294967296",
        sim.next_push().hex(" "),
        repr(sim.last_values),
    ]
    for text in clean:
        assert guard.find(text) is None, text


def test_a_logged_key_is_caught(key_leak_guard: KeyLeakGuard) -> None:
    logger = logging.getLogger("custom_components.swiss_meter_cii.planted")
    with key_leak_guard.expect_leaks() as caught:
        logger.warning("Decryption failed with key %s", DEFAULT_KEY.hex(":"))
        logger.warning("nothing to see")
        try:
            raise ValueError(f"bad key {DEFAULT_AUTH_KEY.hex().upper()}")
        except ValueError:
            logger.exception("Setup failed")
    assert [leak.where for leak in caught] == [logger.name] * 2
    report = " ".join(str(leak) for leak in caught)
    for key in (DEFAULT_KEY, DEFAULT_AUTH_KEY):
        assert KeyLeakGuard([key]).find(report) is None  # the report never repeats a key


def test_a_registered_key_is_caught(key_leak_guard: KeyLeakGuard) -> None:
    own = bytes.fromhex("8F1E2D3C4B5A69788796A5B4C3D2E1F0")
    logger = logging.getLogger(__name__)
    with key_leak_guard.expect_leaks() as caught:
        logger.warning("key %s", own.hex())
    assert caught == []
    key_leak_guard.register(own.hex(" "))
    with key_leak_guard.expect_leaks() as caught:
        logger.warning("key %s", own.hex())
    assert len(caught) == 1


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_a_key_in_a_diagnostics_download_is_caught(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_link: FakeLink,
    key_leak_guard: KeyLeakGuard,
) -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=5)
    entry = entry_for(meter, key_text=DEFAULT_KEY.hex("-"))
    await setup_entry(hass, entry)
    await send_push(hass, fake_link, meter)
    with key_leak_guard.expect_leaks() as caught:
        await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert caught == []  # the integration redacts
    # The redaction "forgotten": the download now carries the key as typed.
    with (
        patch("custom_components.swiss_meter_cii.diagnostics.TO_REDACT", set()),
        patch("custom_components.swiss_meter_cii.diagnostics._secrets", return_value=[]),
        key_leak_guard.expect_leaks() as caught,
    ):
        await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert [leak.where for leak in caught] == ["diagnostics of swiss_meter_cii"]
    assert await hass.config_entries.async_unload(entry.entry_id)


def run_planted(tmp_path: Path, filename: str, source: str) -> subprocess.CompletedProcess[str]:
    """Run a throw-away test file with only the suite's guard plugin (tests/conftest.py)."""
    (tmp_path / filename).write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path),
            "-p",
            "tests.conftest",
            "-p",
            "no:homeassistant",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rN",  # no short summary: with CI set, pytest repeats every reason there
            "-o",
            "addopts=",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "-W",
            "ignore::DeprecationWarning",
            "--rootdir",
            str(tmp_path),
        ],
        cwd=REPO,
        env={name: value for name, value in os.environ.items() if name != "CI"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PLANTED = """
import logging

import pytest

KEY = "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"


def test_clean():
    logging.getLogger("planted").warning("nothing secret here")


def test_logs_a_key():
    logging.getLogger("planted").warning("using key %s", KEY)


@pytest.fixture
def leaks_on_teardown():
    yield
    logging.getLogger("planted").error("closing with key %s", KEY.replace(" ", "").upper())


def test_leaks_on_teardown(leaks_on_teardown):
    pass


def test_fails_and_leaks():
    logging.getLogger("planted").warning("key %s", KEY.replace(" ", ":"))
    assert False, "failing for another reason"
"""


def test_a_leaking_test_fails(tmp_path: Path) -> None:
    """End to end: a throw-away suite with the guard plugin; the leaking tests fail."""
    result = run_planted(tmp_path, "test_planted.py", PLANTED)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    summary = output.strip().splitlines()[-1] if "error" in output else output
    for part in ("2 failed", "2 passed", "1 error"):
        assert part in output, summary
    assert "key material leaked during the test" in output
    assert "key material leaked during tear-down" in output
    # The guard's own report names the logger and the message template, never the key
    # (pytest's "Captured log" sections still show what the planted test logged).
    reports = [line for line in output.splitlines() if "planted: " in line and "(key as" in line]
    assert len(reports) == 3, output
    assert "failing for another reason" in output  # its own failure is kept
    assert KeyLeakGuard([DEFAULT_KEY]).find("\n".join(reports)) is None


REPORTED = """
import logging


def test_home_assistant_complains():
    logging.getLogger("homeassistant.util.loop").warning(
        "Detected blocking call to open inside the event loop by custom integration"
        " 'swiss_meter_cii' at custom_components/swiss_meter_cii/link.py, line 1"
    )


def test_other_integration_is_not_ours():
    logging.getLogger("homeassistant.helpers.frame").warning(
        "Detected that custom integration 'other' calls a deprecated helper"
    )


def test_our_own_warning_is_behaviour():
    logging.getLogger("custom_components.swiss_meter_cii").warning(
        "Landis+Gyr 1: no valid data from the meter for 30 s (deprecated wording test)"
    )
"""


def test_a_home_assistant_report_about_us_fails_the_test(tmp_path: Path) -> None:
    """HA's warnings about this integration (blocking calls, deprecations) fail the test."""
    result = run_planted(tmp_path, "test_reported.py", REPORTED)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed, 2 passed" in output, output
    assert "Home Assistant reported during the test" in output
