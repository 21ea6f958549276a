"""Data-Notification: long-invoke-id, the date-time variants, the body."""

from __future__ import annotations

import pytest

from custom_components.swiss_meter_cii.decoder.apdu import parse_data_notification
from custom_components.swiss_meter_cii.decoder.axdr import TruncatedError
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.values import (
    CosemDate,
    CosemDateTime,
    CosemTime,
)

from . import notification

DT = bytes.fromhex("07E7031C02130B14FF800000")
BODY = b"\x02\x02\x12\x00\xec\x06\x00\x00\x00\x1d"


@pytest.mark.parametrize(
    "date_time",
    [b"\x0c" + DT, b"\x09\x0c" + DT, b"\x19" + DT],
    ids=["octet-string", "with-09-tag", "date-time-tag"],
)
def test_date_time_variants(date_time: bytes) -> None:
    apdu = notification(BODY, invoke=0x002180FC, date_time=date_time)
    parsed, end = parse_data_notification(apdu)
    assert end == len(apdu)
    assert isinstance(parsed.date_time, CosemDateTime)
    assert parsed.date_time.date == CosemDate(2023, 3, 28, 2)
    assert parsed.date_time.time == CosemTime(19, 11, 20, None)
    assert parsed.body == (236, 29)
    assert parsed.invoke_id == 0x2180FC


def test_absent_date_time() -> None:
    parsed, _ = parse_data_notification(notification(BODY, date_time=b"\x00"))
    assert parsed.date_time is None
    parsed, _ = parse_data_notification(notification(BODY, date_time=b"\x09\x00"))
    assert parsed.date_time is None


def test_short_date_and_time_forms() -> None:
    parsed, _ = parse_data_notification(notification(BODY, date_time=b"\x05" + DT[:5]))
    assert parsed.date_time == CosemDate(2023, 3, 28, 2)
    parsed, _ = parse_data_notification(notification(BODY, date_time=b"\x04" + DT[5:9]))
    assert parsed.date_time == CosemTime(19, 11, 20, None)


def test_invoke_id_is_lower_24_bits() -> None:
    parsed, _ = parse_data_notification(notification(BODY, invoke=0x8006870E))
    assert parsed.invoke_id == 0x06870E
    assert parsed.long_invoke_id == 0x8006870E


def test_offset_and_trailing_bytes() -> None:
    apdu = notification(BODY)
    parsed, end = parse_data_notification(b"\xe6\xe7\x00" + apdu + b"\x0f\x01", 3)
    assert end == 3 + len(apdu)
    assert parsed.body == (236, 29)


@pytest.mark.parametrize("date_time", [b"\x07" + DT[:7], b"\x0d" + DT + b"\x00"])
def test_bad_date_time_length(date_time: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        parse_data_notification(notification(BODY, date_time=date_time))
    assert err.value.kind is ErrorKind.MALFORMED


def test_not_a_notification() -> None:
    with pytest.raises(DecodeError) as err:
        parse_data_notification(b"\xdb\x08")
    assert err.value.kind is ErrorKind.MALFORMED


def test_truncated() -> None:
    apdu = notification(BODY, date_time=b"\x0c" + DT)
    for cut in range(1, len(apdu)):
        with pytest.raises(TruncatedError):
            parse_data_notification(apdu[:cut])
