"""M-Bus sub-meters: catalogue entries, capture time from push lists and DSMR lines, media."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder.catalogue import Quantity, describe
from custom_components.swiss_meter_cii.decoder.dsmr import parse_telegram
from custom_components.swiss_meter_cii.decoder.layouts import LayoutDecoder
from custom_components.swiss_meter_cii.decoder.push import Reading
from custom_components.swiss_meter_cii.decoder.submeters import (
    Medium,
    capture_time_key,
    channel_of,
    medium_of,
)

TZ = ZoneInfo("Europe/Luxembourg")

# Smarty-style telegram (docs/protocol.md, "M-Bus sub-meters"); no CRC, DSMR 2/3 style end.
TELEGRAM = (
    b"/Ene5\\T210-D ESMR5.0\r\n\r\n"
    b"0-0:1.0.0(231202121500W)\r\n"
    b"0-1:24.1.0(003)\r\n"
    b"0-1:96.1.0(4730303339303031363532303530323136)\r\n"
    b"0-1:24.2.1(231202120000W)(01234.567*m3)\r\n"
    b"0-2:24.1.0(007)\r\n"
    b"0-2:24.2.1(231202120000W)(00056.100*m3)\r\n"
    b"1-0:1.6.0(231201183000W)(05.123*kW)\r\n"
    b"!\r\n"
)


def ln(a: int, b: int, c: int, d: int, e: int) -> bytes:
    return bytes((a, b, c, d, e, 255))


def test_catalogue_entries_per_channel() -> None:
    for channel in range(1, 5):
        value = describe(f"0-{channel}:24.2.1.255")
        assert value.quantity is Quantity.SUBMETER_TOTAL
        assert value.placeholders == {"channel": str(channel)}
        assert describe(f"0-{channel}:24.1.0.255").translation_key == "mbus_device_type"
        assert describe(f"0-{channel}:96.1.0.255").translation_key == "mbus_serial"
        captured = describe(capture_time_key(channel))
        assert captured.translation_key == "mbus_capture_time"
        assert captured.quantity is Quantity.TIMESTAMP
    # The electricity meter's own serial stays a device id; channel 5+ is no sub-meter.
    assert describe("0-0:96.1.0.255").translation_key == "device_id"
    assert describe("0-5:96.1.0.255").translation_key == "device_id"


def test_other_attributes_are_generic_and_bad_ones_refused() -> None:
    info = describe("1-0:1.8.0.255/5")
    assert (info.translation_key, info.known, info.quantity) == ("generic_value", False, "other")
    assert info.placeholders["obis"] == "1-0:1.8.0/5"
    for bad in ("0-1:24.2.1.255/x", "0-1:24.2.1.255/0", "0-1:24.2.1.255/256"):
        with pytest.raises(ValueError, match="attribute number"):
            describe(bad)


def test_dsmr_lines_keep_the_capture_time() -> None:
    values = parse_telegram(TELEGRAM, local_tz=TZ).values
    assert values["0-1:24.2.1.255"].value == Decimal("1234.567")
    assert values["0-1:24.2.1.255"].unit == "m3"
    assert values["0-1:24.1.0.255"].value == 3
    assert values["0-1:96.1.0.255"].value == "4730303339303031363532303530323136"
    assert values[capture_time_key(1)].value == datetime(2023, 12, 2, 12, 0, tzinfo=TZ)
    assert values[capture_time_key(2)].value == datetime(2023, 12, 2, 12, 0, tzinfo=TZ)
    assert values["0-2:24.2.1.255"].value == Decimal("56.100")
    # Only M-Bus values gain a capture-time reading: max demand keeps its one reading.
    assert "1-0:1.6.0.255/5" not in values


def test_push_list_class4_attribute5_is_its_own_reading() -> None:
    """E450-style list: clock, the channel's value, scaler_unit, capture time, medium, serial."""
    objects = [
        (40, ln(0, 0, 25, 9, 0), 2, 0),
        (8, ln(0, 0, 1, 0, 0), 2, 0),
        (4, ln(0, 1, 24, 2, 1), 2, 0),
        (4, ln(0, 1, 24, 2, 1), 3, 0),
        (4, ln(0, 1, 24, 2, 1), 5, 0),
        (1, ln(0, 1, 24, 1, 0), 2, 0),
        (1, ln(0, 1, 96, 1, 0), 2, 0),
    ]
    clock = bytes.fromhex("07E70C0206") + bytes((12, 15, 0, 0, 0x80, 0, 0))
    captured = bytes.fromhex("07E70C0206") + bytes((12, 0, 0, 0, 0x80, 0, 0))
    body = (list(objects), clock, 1234567, (-3, 13), captured, 3, b"12345678")
    decoder = LayoutDecoder(model="lg_e450", local_tz=TZ)
    result = decoder.decode(body, system_title=None)
    assert result.values["0-1:24.2.1.255"].value == Decimal("1234.567")
    assert result.values["0-1:24.2.1.255"].unit == "m³"
    assert result.values[capture_time_key(1)].value == datetime(2023, 12, 2, 12, 0, tzinfo=TZ)
    # The push clock is the clock object, never the sub-meter's capture time.
    assert result.timestamp == datetime(2023, 12, 2, 12, 15, tzinfo=TZ)
    assert result.values["0-1:24.1.0.255"].value == 3
    assert result.values["0-1:96.1.0.255"].value == "12345678"


@pytest.mark.parametrize(
    ("device_type", "medium"),
    [
        (3, Medium.GAS),
        ("003", Medium.GAS),
        (0x06, Medium.WATER),
        (0x07, Medium.WATER),
        (0x15, Medium.WATER),
        (0x16, Medium.WATER),
        (0x04, Medium.HEAT),
        (0x0C, Medium.HEAT),
        (0x02, Medium.UNKNOWN),
        (None, Medium.UNKNOWN),
        (True, Medium.UNKNOWN),
        ("gas", Medium.UNKNOWN),
    ],
)
def test_medium_table(device_type: object, medium: Medium) -> None:
    assert medium_of(device_type) is medium


def test_channel_of() -> None:
    assert channel_of("0-1:24.2.1.255") == 1
    assert channel_of("0-4:24.2.1.255/5") == 4
    assert channel_of("0-2:96.1.0.255") == 2
    assert channel_of("0-0:96.1.0.255") is None
    assert channel_of("0-5:24.2.1.255") is None
    assert channel_of("1-1:1.8.0.255") is None
    assert channel_of("0-1:96.1.1.255") is None


@given(st.integers(min_value=0, max_value=255))
def test_every_medium_byte_maps(byte: int) -> None:
    assert medium_of(byte) in Medium
    assert medium_of(str(byte)) is medium_of(byte)


def test_public_warmtelink_heat_meter() -> None:
    """The real Warmtelink telegram in field_frames.json (source there): heat on channel 1."""
    frames = json.loads((Path(__file__).parents[1] / "fixtures" / "field_frames.json").read_text())
    (frame,) = (f for f in frames if f["id"] == "D1-dsmr-warmtelink-B9F")
    values = parse_telegram(frame["text"].encode("ascii"), local_tz=TZ).values
    assert medium_of(values["0-1:24.1.0.255"].value) is Medium.HEAT
    assert values["0-1:24.2.1.255"] == Reading(Decimal("240.860"), "GJ")
    assert values[capture_time_key(1)].value == datetime(2026, 2, 15, 20, 5, 23, tzinfo=TZ)
    assert describe("0-1:24.2.1.255").quantity is Quantity.SUBMETER_TOTAL
