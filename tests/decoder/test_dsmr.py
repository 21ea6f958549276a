"""DSMR / IEC 62056-21 telegrams: lines, units as given, timestamps, CRC, framing size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from custom_components.swiss_meter_cii.decoder.dsmr import (
    is_header,
    parse_telegram,
    telegram_size,
)
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind

from . import ref_crc16_arc

ZURICH = ZoneInfo("Europe/Zurich")

LINES = [
    "/EST5\\253710000_A",
    "",
    "1-3:0.2.8(50)",
    "0-0:1.0.0(241027025959S)",
    "0-0:42.0.0(53414731303330373030313134303034)",
    "0-0:96.1.1(4B384547303034303436333935353037)",
    "1-0:1.8.0(000006.695*kWh)",
    "1-0:2.8.0(000000.025*kWh)",
    "1-0:1.7.0(00.120*kW)",
    "1-0:3.8.1(0000123*varh)",
    "0-0:96.14.0(0002)",
    "1-0:3.7.0(00.000)",
    "0-0:96.13.0()",
    "0-1:24.2.1(101209112500W)(12785.123*m3)",
    "1-0:99.97.0(1)(0-0:96.7.19)(000101000001W)(2147483647*s)",
    "junk line without obis",
]


def telegram(lines: list[str] = LINES, *, crc: bool = True) -> bytes:
    """Telegram bytes with the CRC computed by the reference implementation."""
    body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
    if not crc:
        return body + b"\r\n"
    return body + f"{ref_crc16_arc(body):04X}".encode() + b"\r\n"


def test_values_and_units() -> None:
    parsed = parse_telegram(telegram(), local_tz=ZURICH)
    values = parsed.values
    assert parsed.identification == "EST5\\253710000_A"
    assert values["1-0:1.8.0.255"].value == Decimal("6.695")
    assert values["1-0:1.8.0.255"].unit == "kWh"
    assert values["1-0:2.8.0.255"].value == Decimal("0.025")
    assert values["1-0:1.7.0.255"].unit == "kW"
    assert values["1-0:3.8.1.255"].value == 123
    assert type(values["1-0:3.8.1.255"].value) is int
    assert values["0-0:96.14.0.255"].value == 2
    assert values["1-0:3.7.0.255"].value == Decimal("0.000")
    assert values["1-0:3.7.0.255"].unit is None


def test_identifiers_stay_text() -> None:
    values = parse_telegram(telegram(), local_tz=ZURICH).values
    assert values["0-0:42.0.0.255"].value == "53414731303330373030313134303034"
    assert values["0-0:96.1.1.255"].value == "4B384547303034303436333935353037"
    assert values["1-3:0.2.8.255"].value == "50"
    assert values["0-0:96.13.0.255"].value == ""


def test_multi_value_lines() -> None:
    values = parse_telegram(telegram(), local_tz=ZURICH).values
    gas = values["0-1:24.2.1.255"]
    assert gas.value == Decimal("12785.123")
    assert gas.unit == "m3"
    log = values["1-0:99.97.0.255"]
    assert log.value == "(1)(0-0:96.7.19)(000101000001W)(2147483647*s)"


def test_summer_time_stamp_in_the_repeated_autumn_hour() -> None:
    # 2024-10-27 02:59:59 happens twice in Zurich; S = still summer time (UTC+2).
    parsed = parse_telegram(telegram(), local_tz=ZURICH)
    assert parsed.timestamp is not None
    assert parsed.timestamp.utcoffset() == timedelta(hours=2)
    assert parsed.values["0-0:1.0.0.255"].value == parsed.timestamp
    lines = [*LINES]
    lines[3] = "0-0:1.0.0(241027025959W)"
    winter = parse_telegram(telegram(lines), local_tz=ZURICH).timestamp
    assert winter is not None
    assert winter.utcoffset() == timedelta(hours=1)
    assert winter.astimezone(UTC) - parsed.timestamp.astimezone(UTC) == timedelta(hours=1)


def test_plain_timestamp() -> None:
    lines = [*LINES]
    lines[3] = "0-0:1.0.0(180130102122W)"
    stamp = parse_telegram(telegram(lines), local_tz=ZURICH).timestamp
    assert stamp == datetime(2018, 1, 30, 10, 21, 22, tzinfo=ZURICH)


def test_crc_mismatch() -> None:
    raw = bytearray(telegram())
    raw[40] = ord("9") if raw[40] != ord("9") else ord("8")
    with pytest.raises(DecodeError) as err:
        parse_telegram(bytes(raw), local_tz=ZURICH)
    assert err.value.kind is ErrorKind.CHECKSUM


def test_without_crc_dsmr3() -> None:
    parsed = parse_telegram(telegram(crc=False), local_tz=ZURICH)
    assert parsed.values["1-0:1.8.0.255"].value == Decimal("6.695")


@pytest.mark.parametrize(
    "raw",
    [b"1-0:1.8.0(1)\r\n!", b"/ABC5 no end", b"/ABC5\r\n\x00\x01!0000"],
)
def test_malformed(raw: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        parse_telegram(raw, local_tz=ZURICH)
    assert err.value.kind is ErrorKind.MALFORMED


def test_telegram_size() -> None:
    raw = telegram()
    bang = raw.index(b"!")
    assert telegram_size(raw, 0) == bang + 5
    assert telegram_size(b"xx" + raw, 2) == bang + 5
    assert telegram_size(raw[: bang + 3], 0) == -1
    assert telegram_size(raw[:20], 0) == -1
    assert telegram_size(telegram(crc=False), 0) == bang + 1
    assert telegram_size(b"/ABC5\r\n\x7e\x00", 0) == -2  # binary: not a telegram
    assert telegram_size(b"/ABC5\r\n!XY12", 0) == -2
    assert telegram_size(b"/ABC5" + b"x" * 100, 0, max_size=50) == -2


def test_is_header() -> None:
    assert is_header(b"/Lux5\\2", 0) is True
    assert is_header(b"/ISk5\\2MT382", 0) is True
    assert is_header(b"/Lu", 0) is None
    assert is_header(b"/1", 0) is False
    assert is_header(b"/ABCZ", 0) is False
