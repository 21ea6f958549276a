"""Layout detection and decoding: published test vectors and hand-built bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder import Push, decode_capture
from custom_components.swiss_meter_cii.decoder.apdu import parse_data_notification
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.layouts import LayoutDecoder, LayoutResult
from custom_components.swiss_meter_cii.decoder.layouts.convert import Converter
from custom_components.swiss_meter_cii.decoder.layouts.walker import Walker, along, fits, walk
from custom_components.swiss_meter_cii.decoder.obis import Obis
from custom_components.swiss_meter_cii.decoder.values import (
    BitString,
    CosemDateTime,
    DlmsEnum,
)

ZURICH = ZoneInfo("Europe/Zurich")
VECTORS: dict[str, dict[str, Any]] = {
    vector["id"]: vector
    for vector in json.loads(
        (Path(__file__).parents[1] / "fixtures" / "public_vectors.json").read_text()
    )
}

# --------------------------------------------------------------------------- vector bodies
# Test-only link layer: just enough HDLC/GBT/M-Bus and CTR decryption to reach the
# plaintext of the published vectors. The A-XDR body comes from the real parser.


def _ber(buf: bytes, pos: int) -> tuple[int, int]:
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    return int.from_bytes(buf[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _hdlc_payloads(data: bytes) -> list[bytes]:
    """Information fields of type-3 frames, S-bit segments joined, LLC removed."""
    payloads: list[bytes] = []
    pending = b""
    pos = 0
    while pos < len(data) - 2:
        if data[pos] != 0x7E or data[pos + 1] & 0xF0 != 0xA0:
            pos += 1
            continue
        length = ((data[pos + 1] & 0x07) << 8) | data[pos + 2]
        frame = data[pos + 1 : pos + 1 + length]
        pos += 1 + length
        index = 2
        for _ in range(2):  # destination and source address: LSB 1 ends each
            while not frame[index] & 1:
                index += 1
            index += 1
        pending += frame[index + 3 : -2]  # after control + HCS, before FCS
        if frame[0] & 0x08:
            continue
        payloads.append(pending.removeprefix(b"\xe6\xe7\x00"))
        pending = b""
    return payloads


def _unblock(payloads: list[bytes]) -> list[bytes]:
    """General block transfer: restart at block 1, drop sequences with gaps."""
    apdus: list[bytes] = []
    blocks: list[bytes] | None = None
    last = 0
    for payload in payloads:
        if payload[0] != 0xE0:
            apdus.append(payload)
            continue
        number = int.from_bytes(payload[2:4], "big")
        size, start = _ber(payload, 6)
        block = payload[start : start + size]
        if number == 1:
            blocks = [block]
        elif blocks is not None and number == last + 1:
            blocks.append(block)
        else:
            blocks = None
        last = number
        if payload[1] & 0x80 and blocks is not None:
            apdus.append(b"".join(blocks))
            blocks = None
    return apdus


def _mbus_apdus(data: bytes) -> list[bytes]:
    apdus: list[bytes] = []
    pending = b""
    pos = 0
    while pos + 4 <= len(data):
        if data[pos] == 0x68 and data[pos + 3] == 0x68 and data[pos + 1] == data[pos + 2]:
            length = data[pos + 1]
            body = data[pos + 4 : pos + 4 + length]
            pending += body[5:]
            pos += 4 + length + 2
            if body[2] & 0x10:
                apdus.append(pending)
                pending = b""
        else:
            pos += 1
    return apdus


def _decrypt(apdu: bytes, key: bytes) -> tuple[bytes, bytes]:
    """general-glo-ciphering -> (system title, plaintext) by AES-CTR from counter 2."""
    title = apdu[2:10]
    size, pos = _ber(apdu, 10)
    control, counter = apdu[pos], apdu[pos + 1 : pos + 5]
    ciphertext = apdu[pos + 5 : pos + size]
    if control & 0x10:
        ciphertext = ciphertext[:-12]
    cipher = Cipher(algorithms.AES(key), modes.CTR(title + counter + b"\x00\x00\x00\x02"))
    decryptor = cipher.decryptor()
    return title, decryptor.update(ciphertext) + decryptor.finalize()


def vector_bodies(vector_id: str) -> list[tuple[bytes | None, Any]]:
    """(system title, Data-Notification body) of every push in a published vector."""
    vector = VECTORS[vector_id]
    data = bytes.fromhex(vector["hex"])
    framing = vector["framing"]
    if framing == "hdlc":
        apdus = _unblock(_hdlc_payloads(data))
    elif framing == "mbus":
        apdus = _mbus_apdus(data)
    elif framing == "llc":
        apdus = [data.removeprefix(b"\xe6\xe7\x00")]
    else:
        apdus = [data]
    bodies: list[tuple[bytes | None, Any]] = []
    for apdu in apdus:
        title: bytes | None = None
        plain = apdu
        if apdu[0] == 0xDB:
            title, plain = _decrypt(apdu, bytes.fromhex(vector["key_hex"]))
        notification, _ = parse_data_notification(plain)
        bodies.append((title, notification.body))
    return bodies


def decode_vector(vector_id: str, **kwargs: Any) -> LayoutResult:
    title, body = vector_bodies(vector_id)[0]
    return LayoutDecoder(**kwargs).decode(body, system_title=title)


def _key(dotted: str) -> str:
    a, b, c, d, e, f = dotted.split(".")
    return f"{a}-{b}:{c}.{d}.{e}.{f}"


def _assert_value(got: object, expected: object, where: str) -> None:
    if isinstance(expected, float):
        assert type(got) in (int, Decimal), f"{where}: {got!r} is not exact"
        assert got == Decimal(repr(expected)), f"{where}: {got!r} != {expected!r}"
    else:
        assert type(got) is type(expected), f"{where}: {got!r} vs {expected!r}"
        assert got == expected, f"{where}: {got!r} != {expected!r}"


# --------------------------------------------------------------------------- vectors

WITH_EXPECTED = [
    "netznoe-kaifa-ma309m-doc-example",
    "lg-e450-gbt-glo-cnrd-1",
    "lg-e450-ch-gbt-plain-scs-a",
    "lg-e450-ch-gbt-plain-vse2026-scs",
    "lg-e360-ch-hdlc-plain-vse2026-scs",
    "lg-e570-ch-gbt-glo-scs",
    "iskra-am550-ch-hdlc-plain-scs",
    "aidon-se-tekniskaverken-doc-hdlc-3ph",
    "kamstrup-omnipower-se-hdlc-list1",
    "kaifa-ma304h3e-no-list3-llc",
]


@pytest.mark.parametrize("vector_id", WITH_EXPECTED)
def test_published_expected_values(vector_id: str) -> None:
    """Every value a source publishes for a vector, with model auto and no overrides."""
    expected = VECTORS[vector_id]["expected"]
    assert expected
    result = decode_vector(vector_id)
    for dotted, (value, unit) in expected.items():
        key = _key(dotted)
        assert key in result.values, f"{vector_id}: {key} missing"
        reading = result.values[key]
        _assert_value(reading.value, value, f"{vector_id} {key}")
        assert (reading.unit or "") == unit, f"{vector_id} {key} unit {reading.unit!r}"


def test_e450_vse2026_push_list() -> None:
    result = decode_vector("lg-e450-ch-gbt-plain-vse2026-scs")
    assert result.layout == "push_object_list"
    assert result.push_setup == "0-8:25.9.0.255"
    assert result.model == "auto"  # LGZ is E450, E570, E360 or E35C
    # scs asserts 09:39:21 UTC: local wall time (deviation not specified), summer time.
    assert result.timestamp == datetime(2026, 5, 4, 9, 39, 21, tzinfo=UTC)
    assert result.values["0-0:1.0.0.255"].value == result.timestamp
    assert result.values["0-0:96.1.1.255"].value == "1909113"
    assert len(result.values) == 15  # 17 capture objects minus the push setup's two


def test_e360_voltage_in_tenths_with_model_auto() -> None:
    result = decode_vector("lg-e360-ch-hdlc-plain-vse2026-scs")
    assert result.values["1-0:32.7.0.255"].value == Decimal("235.7")
    assert result.push_setup == "0-6:25.9.0.255"
    assert result.timestamp is None  # no clock in this list (only in the APDU header)


def test_e360_voltage_with_configured_model() -> None:
    title, body = vector_bodies("lg-e360-ch-hdlc-plain-vse2026-scs")[0]
    assert LayoutDecoder(model="lg_e360").decode(body, system_title=title).values[
        "1-0:32.7.0.255"
    ].value == Decimal("235.7")
    # A wrongly configured model is obeyed: the user asked for E450 scaling.
    result = LayoutDecoder(model="lg_e450").decode(body, system_title=title)
    assert result.values["1-0:32.7.0.255"].value == 2357
    assert result.model == "lg_e450"


def test_e450_2021_push_and_clock() -> None:
    result = decode_vector("lg-e450-ch-gbt-plain-scs-a")
    assert result.timestamp == datetime(2021, 7, 6, 14, 58, 18, tzinfo=ZURICH)
    assert result.values["1-0:13.7.0.255"].value == Decimal("0.941")
    assert result.values["1-0:13.7.0.255"].unit is None
    assert result.values["1-1:8.8.0.255"].value == 291341
    assert result.values["1-1:8.8.0.255"].unit == "varh"


def test_am550_push_resolves_model_from_logical_device_name() -> None:
    result = decode_vector("iskra-am550-ch-hdlc-plain-scs")
    assert result.model == "iskra_am550"
    assert result.timestamp == datetime(2020, 8, 15, 6, 19, 45, tzinfo=timezone(timedelta(hours=2)))
    assert len(result.values) == 26  # 28 capture objects minus the push setup's two
    assert result.values["1-1:5.8.1.255"].value == 230463


def test_e570_encrypted_push() -> None:
    result = decode_vector("lg-e570-ch-gbt-glo-scs")
    assert result.layout == "push_object_list"
    assert result.values["1-1:1.8.0.255"].value == 862055
    assert result.values["1-0:13.7.0.255"].value == 1


def test_e450_flat_pairs_encrypted() -> None:
    """SCS asserts 16-17 objects for its no-push-list frame: date-time + 16 registers."""
    result = decode_vector("lg-e450-ch-gbt-glo-scs")
    assert result.layout == "flat_obis"
    assert len(result.values) == 17
    assert result.values["1-0:4.7.0.255"].value == 442
    assert result.values["1-0:4.7.0.255"].unit == "var"
    assert result.timestamp == datetime(2022, 2, 23, 21, 36, tzinfo=ZURICH)


def test_netz_noe_example_carries_obis_codes() -> None:
    """The vector notes say 'without OBIS'; the plaintext has flat OBIS/value/scaler triples."""
    result = decode_vector("netznoe-kaifa-ma309m-doc-example")
    assert result.layout == "flat_obis"
    assert result.timestamp == datetime(2021, 9, 27, 9, 47, 15, tzinfo=timezone(timedelta(hours=2)))
    assert result.values["0-0:96.1.0.255"].value == "181220000009"  # trailing meter number


def test_sagemcom_flat_triples() -> None:
    result = decode_vector("sagemcom-t210d-at-raw-apdu-gh867-2")
    assert result.layout == "flat_obis"
    assert result.values["1-0:1.8.0.255"].value == 4752026
    assert result.values["1-0:32.7.0.255"].value == Decimal("233.4")
    assert result.values["1-0:71.7.0.255"].value == Decimal("0.83")
    assert result.values["1-0:13.7.0.255"].value == Decimal("0.094")
    assert result.values["0-0:96.1.0.255"].value == "178210128502"
    assert result.timestamp == datetime(
        2024, 11, 15, 14, 45, 45, tzinfo=timezone(timedelta(hours=1))
    )


def test_tinetz_structures() -> None:
    result = decode_vector("tinetz-kaifa-ma309-doc-example-fneur")
    assert result.layout == "obis_structures"
    assert result.values["0-0:96.1.0.255"].value == "1KFM0100000035"
    assert result.values["0-0:42.0.0.255"].value == "KFM1100100000035"
    assert result.values["1-0:32.7.0.255"].value == Decimal("230.8")
    assert result.values["1-0:3.8.0.255"].unit == "varh"  # the enum says varh (not Wh)
    assert result.timestamp == datetime(
        2021, 7, 19, 15, 46, 35, tzinfo=timezone(timedelta(hours=2))
    )


def test_burgenland_values_only() -> None:
    result = decode_vector("lg-e450-at-burgenland-glo-gh501-1")
    assert result.layout == "template:burgenland_e450"
    values = {key: reading.value for key, reading in result.values.items()}
    assert values["1-0:32.7.0.255"] == 236
    assert values["1-0:52.7.0.255"] == 237
    assert values["1-0:51.7.0.255"] == Decimal("0.04")
    assert values["1-0:71.7.0.255"] == Decimal("0.26")
    assert values["1-0:1.7.0.255"] == 29
    assert values["1-0:1.8.0.255"] == 31358606
    assert values["1-0:2.8.0.255"] == 7619
    assert values["0-0:96.1.0.255"] == "30137181"


def test_im350_values_only() -> None:
    result = decode_vector("siemens-im350-at-wienernetze-hdlc-glo-1")
    assert result.layout == "template:im350"
    assert result.push_setup == "0-6:25.9.0.255"
    assert result.values["0-0:96.1.1.255"].value == "2221202033801"
    assert result.values["1-0:1.8.0.255"].value == 2946830
    assert result.values["1-0:4.8.0.255"].unit == "varh"
    assert result.values["1-0:1.7.0.255"].value == 73
    assert result.values["0-0:96.13.0.255"].value == ""
    # Time and date pushed separately (14:55:33, 2021-03-07) -> one local timestamp.
    assert result.timestamp == datetime(2021, 3, 7, 14, 55, 33, tzinfo=ZURICH)


def test_kaifa_norway_list2() -> None:
    result = decode_vector("kaifa-ma304h3e-no-list2-cnrd")
    assert result.layout == "template:kaifa_no_list2_3ph"
    values = {key: reading.value for key, reading in result.values.items()}
    assert values["1-1:0.2.129.255"] == "KFM_001"
    assert values["0-0:96.1.0.255"] == "6970631401753985"
    assert values["1-0:1.7.0.255"] == 948
    assert values["1-0:4.7.0.255"] == 64
    assert values["1-0:31.7.0.255"] == Decimal("1.416")
    assert values["1-0:71.7.0.255"] == Decimal("3.119")
    assert values["1-0:32.7.0.255"] == Decimal("238.5")
    assert values["1-0:72.7.0.255"] == Decimal("238.9")


def test_kaifa_norway_list3_clock() -> None:
    result = decode_vector("kaifa-ma304h3e-no-list3-llc")
    assert result.timestamp == datetime(2020, 1, 25, 14, 0, 10, tzinfo=ZURICH)


def test_aidon_array_of_structures() -> None:
    result = decode_vector("aidon-se-tekniskaverken-doc-hdlc-3ph")
    assert result.layout == "obis_structures"
    assert len(result.values) == 27
    # deviation "not specified": wall time in the configured zone
    assert result.timestamp == datetime(2019, 12, 16, 7, 59, 40, tzinfo=ZURICH)


def test_kamstrup_list_id() -> None:
    result = decode_vector("kamstrup-omnipower-se-hdlc-list1")
    assert result.layout == "flat_obis"
    assert result.values["1-1:0.2.129.255"].value == "Kamstrup_V0001"
    assert result.values["1-1:0.0.5.255"].value == "5706567326590407"


def test_zmf100_is_broken_before_the_layout_step() -> None:
    """Negative vector: its A-XDR is broken, so no body ever reaches the layouts."""
    with pytest.raises(DecodeError):
        vector_bodies("lg-zmf100-hdlc-cnrd")


# --------------------------------------------------------------------------- hand-built


def ln(text: str) -> bytes:
    return Obis.parse(text).to_bytes()


def su(scaler: int, unit: int) -> tuple[int, DlmsEnum]:
    return (scaler, DlmsEnum(unit))


SETUP = ln("0-8:25.9.0")
CLOCK_RAW = bytes.fromhex("07EA0504010B2715FF80000081")[:12]


def push_list(*objects: tuple[int, str, int, int]) -> list[tuple[int, bytes, int, int]]:
    return [(class_id, ln(name), attribute, index) for class_id, name, attribute, index in objects]


def test_push_list_attribute3_scales_its_register() -> None:
    objects = push_list(
        (40, "0-8:25.9.0", 2, 0),
        (3, "1-0:32.7.0", 3, 0),  # scaler_unit before the value
        (3, "1-0:32.7.0", 2, 0),
        (3, "1-0:31.7.0", 2, 0),
        (3, "1-0:31.7.0", 3, 0),
        (8, "0-0:1.0.0", 2, 0),
    )
    body = (objects, su(-1, 35), 2301, 1234, su(-3, 33), CLOCK_RAW)
    result = LayoutDecoder().decode(body, system_title=None)
    assert result.values["1-0:32.7.0.255"].value == Decimal("230.1")
    assert result.values["1-0:32.7.0.255"].unit == "V"
    assert result.values["1-0:31.7.0.255"].value == Decimal("1.234")
    assert result.timestamp == datetime(2026, 5, 4, 11, 39, 21, tzinfo=ZURICH)
    assert set(result.values) == {"1-0:32.7.0.255", "1-0:31.7.0.255", "0-0:1.0.0.255"}


def test_push_list_scaler_unit_parts_by_data_index() -> None:
    objects = push_list(
        (40, "0-8:25.9.0", 2, 0),
        (3, "1-0:1.8.0", 2, 0),
        (3, "1-0:1.8.0", 3, 1),  # data_index 1: only the scaler
        (3, "1-0:2.8.0", 2, 0),
        (3, "1-0:2.8.0", 3, 2),  # data_index 2: only the unit
    )
    body = (objects, 1234567, 1, 42, DlmsEnum(30))
    result = LayoutDecoder().decode(body, system_title=None)
    assert result.values["1-0:1.8.0.255"].value == 12345670
    assert result.values["1-0:1.8.0.255"].unit == "Wh"  # catalogue default
    assert result.values["1-0:2.8.0.255"].value == 42
    assert result.values["1-0:2.8.0.255"].unit == "Wh"


def test_push_list_attribute0_whole_objects() -> None:
    objects = push_list(
        (40, "0-8:25.9.0", 2, 0),
        (3, "1-0:32.7.0", 0, 0),
        (1, "0-0:96.1.0", 0, 0),
        (8, "0-0:1.0.0", 0, 0),
    )
    body = (
        objects,
        (ln("1-0:32.7.0"), 2345, su(-1, 35)),
        (ln("0-0:96.1.0"), b"12345678"),
        (ln("0-0:1.0.0"), CLOCK_RAW, 60, DlmsEnum(1)),
    )
    result = LayoutDecoder().decode(body, system_title=None)
    assert result.values["1-0:32.7.0.255"].value == Decimal("234.5")
    assert result.values["0-0:96.1.0.255"].value == "12345678"
    assert result.timestamp is not None


def test_push_list_length_mismatch_is_malformed() -> None:
    objects = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:1.8.0", 2, 0))
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode((objects, 1, 2), system_title=None)
    assert info.value.kind is ErrorKind.MALFORMED


def test_push_list_broken_entry_is_malformed() -> None:
    objects: list[object] = [(40, SETUP, 2, 0), (3, b"\x01\x00", 2, 0)]
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode((objects, 1), system_title=None)
    assert info.value.kind is ErrorKind.MALFORMED
    assert "entry 2" in info.value.detail


def test_push_list_bad_scaler_unit_is_malformed() -> None:
    objects = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:1.8.0", 2, 0), (3, "1-0:1.8.0", 3, 0))
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode((objects, 5, b"xx"), system_title=None)
    assert info.value.kind is ErrorKind.MALFORMED


def test_push_list_plan_is_reused_and_recompiled_on_change() -> None:
    decoder = LayoutDecoder()
    first = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-1:1.8.0", 2, 0), (3, "1-0:1.7.0", 2, 0))
    one = decoder.decode((first, 1000, 5), system_title=None)
    two = decoder.decode((list(first), 1000, 6), system_title=None)
    # Same list again: the compiled slots (and their memo) are reused.
    assert two.values["1-1:1.8.0.255"] is one.values["1-1:1.8.0.255"]
    assert two.values["1-0:1.7.0.255"].value == 6
    # The meter is reconfigured: same setup, other list.
    changed = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:2.7.0", 2, 0), (3, "1-0:1.7.0", 2, 0))
    three = decoder.decode((changed, 1000, 7), system_title=None)
    assert set(three.values) == {"1-0:2.7.0.255", "1-0:1.7.0.255"}


def test_several_push_setups_per_meter() -> None:
    decoder = LayoutDecoder()
    fast = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:1.7.0", 2, 0))
    slow = push_list((40, "0-9:25.9.0", 2, 0), (3, "1-1:1.8.1", 2, 0), (3, "1-1:1.8.2", 2, 0))
    for power in (100, 200):
        result = decoder.decode((fast, power), system_title=None)
        assert result.push_setup == "0-8:25.9.0.255"
        assert result.values == {"1-0:1.7.0.255": result.values["1-0:1.7.0.255"]}
        assert result.values["1-0:1.7.0.255"].value == power
        other = decoder.decode((slow, 11, 22), system_title=None)
        assert other.push_setup == "0-9:25.9.0.255"
        assert [r.value for r in other.values.values()] == [11, 22]


def test_overrides_beat_pushed_and_default_scalers() -> None:
    decoder = LayoutDecoder(scaler_overrides={"31.7.0": -3, "1-0:32.7.0": 0, "1-0:1.7.0.255": 1})
    objects = push_list(
        (40, "0-8:25.9.0", 2, 0),
        (3, "1-1:31.7.0", 2, 0),  # short key applies to any channel
        (3, "1-0:32.7.0", 2, 0),
        (3, "1-0:32.7.0", 3, 0),
        (3, "1-0:1.7.0", 2, 0),
    )
    result = decoder.decode((objects, 1500, 2301, su(-1, 35), 42), system_title=None)
    assert result.values["1-1:31.7.0.255"].value == Decimal("1.500")
    assert result.values["1-0:32.7.0.255"].value == 2301  # override 0 beats pushed -1
    assert result.values["1-0:32.7.0.255"].unit == "V"
    assert result.values["1-0:1.7.0.255"].value == 420


def test_configured_e570_reads_whole_amperes() -> None:
    objects = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:31.7.0", 2, 0), (3, "1-0:13.7.0", 2, 0))
    e570 = LayoutDecoder(model="lg_e570").decode((objects, 12, 998), system_title=None)
    assert e570.values["1-0:31.7.0.255"].value == 12
    assert e570.values["1-0:13.7.0.255"].value == Decimal("0.998")
    e450 = LayoutDecoder(model="lg_e450").decode((objects, 12, 998), system_title=None)
    assert e450.values["1-0:31.7.0.255"].value == Decimal("0.12")


def test_model_from_system_title_flag() -> None:
    objects = push_list((40, "0-6:25.9.0", 2, 0), (3, "1-0:32.7.0", 2, 0))
    body = (objects, 2347)
    iskra = LayoutDecoder().decode(body, system_title=b"ISKit\\\xf6\xc9")
    assert iskra.model == "iskra_am550"
    assert iskra.values["1-0:32.7.0.255"].value == Decimal("234.7")
    sagemcom = LayoutDecoder().decode(body, system_title=b"SAGY\x05\xe6\xd9\xfd")
    assert sagemcom.model == "sagemcom_t210d"
    unknown = LayoutDecoder().decode(body, system_title=b"\x00\x01\x02\x03\x04\x05\x06\x07")
    assert unknown.model == "auto"
    assert unknown.values["1-0:32.7.0.255"].value == Decimal("234.7")  # plausibility


def test_voltage_plausibility_is_learned_per_connection() -> None:
    objects = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:32.7.0", 2, 0))
    decoder = LayoutDecoder()
    assert decoder.decode((objects, 2357), system_title=None).values[
        "1-0:32.7.0.255"
    ].value == Decimal("235.7")
    # A brown-out to 50 V (raw 500) keeps the tenths learned from the first push.
    assert decoder.decode((objects, 500), system_title=None).values["1-0:32.7.0.255"].value == 50
    fresh = LayoutDecoder()
    assert fresh.decode((objects, 236), system_title=None).values["1-0:32.7.0.255"].value == 236
    assert fresh.decode((objects, 0), system_title=None).values["1-0:32.7.0.255"].value == 0


def test_frequency_plausibility() -> None:
    objects = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:14.7.0", 2, 0))
    result = LayoutDecoder().decode((objects, 4998), system_title=None)
    assert result.values["1-0:14.7.0.255"].value == Decimal("49.98")
    assert result.values["1-0:14.7.0.255"].unit == "Hz"


def test_value_shapes() -> None:
    objects = push_list(
        (40, "0-8:25.9.0", 2, 0),
        (1, "0-0:96.1.0", 2, 0),
        (1, "0-0:96.1.1", 2, 0),
        (1, "0-0:96.13.0", 2, 0),
        (1, "0-0:96.14.0", 2, 0),
        (1, "0-0:96.3.10", 2, 0),
        (1, "0-0:96.3.11", 2, 0),
        (3, "1-0:1.7.0", 2, 0),
        (3, "1-0:2.7.0", 2, 0),
        (3, "1-0:2.7.0", 3, 0),
        (1, "0-0:96.50.0", 2, 0),
        (1, "0-0:96.50.1", 2, 0),
        (1, "0-0:96.50.2", 2, 0),
    )
    body = (
        objects,
        b"LGZ12345\x00\x00  ",  # printable, trailing NULs and spaces stripped
        b"\x01\x02\xfe",  # not text -> hex
        "Hello world  ",  # utf8/visible string
        DlmsEnum(2),  # enum -> int, never scaled
        True,
        None,
        0.1,  # float32 without scaler stays as sent
        1.5,
        su(-1, 27),  # float with scaler -> exact Decimal
        BitString(8, b"\x81"),
        [1, 2, 3],  # an array value has no sensor representation
        CosemDateTime.from_bytes(bytes.fromhex("07E80B0F050E2D2D00FFC402")),
    )
    values = LayoutDecoder().decode(body, system_title=None).values
    assert values["0-0:96.1.0.255"].value == "LGZ12345"
    assert values["0-0:96.1.1.255"].value == "0102FE"
    assert values["0-0:96.13.0.255"].value == "Hello world"
    assert values["0-0:96.14.0.255"].value == 2
    assert type(values["0-0:96.14.0.255"].value) is int
    assert values["0-0:96.3.10.255"].value is True
    assert values["0-0:96.3.11.255"].value is None
    assert values["1-0:1.7.0.255"].value == 0.1
    assert values["1-0:2.7.0.255"].value == Decimal("0.15")
    assert values["0-0:96.50.0.255"].value == "81"
    assert "0-0:96.50.1.255" not in values
    assert values["0-0:96.50.2.255"].value == datetime(
        2024, 11, 15, 14, 45, 45, tzinfo=timezone(timedelta(hours=1))
    )


def test_negative_values_scale_exactly() -> None:
    objects = push_list((40, "0-8:25.9.0", 2, 0), (3, "1-0:16.7.0", 2, 0), (3, "1-0:16.7.0", 3, 0))
    result = LayoutDecoder().decode((objects, -1234, su(-2, 27)), system_title=None)
    assert result.values["1-0:16.7.0.255"].value == Decimal("-12.34")


# --------------------------------------------------------------------------- OBIS walker


def test_flat_pairs_with_list_id_and_trailing_number() -> None:
    body = (
        "List_V1",
        ln("1-0:1.7.0"),
        512,
        ln("1-0:1.8.0"),
        9999,
        su(0, 30),
        b"12345678",
    )
    result = LayoutDecoder().decode(body, system_title=None)
    assert result.layout == "flat_obis"
    assert result.values["1-1:0.2.129.255"].value == "List_V1"
    assert result.values["1-0:1.7.0.255"].value == 512
    assert result.values["1-0:1.8.0.255"].unit == "Wh"
    assert result.values["0-0:96.1.0.255"].value == "12345678"


def test_trailing_binary_meter_number_becomes_hex() -> None:
    body = (ln("1-0:1.7.0"), 1, ln("1-0:2.7.0"), 2, b"\x12\x34\xab")
    result = LayoutDecoder().decode(body, system_title=None)
    assert result.values["0-0:96.1.0.255"].value == "1234AB"


def test_walker_inconsistent_list_is_malformed() -> None:
    body = (ln("1-0:1.7.0"), 1, ln("1-0:2.7.0"), 2, ln("1-0:1.8.0"))
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode(body, system_title=None)
    assert info.value.kind is ErrorKind.MALFORMED


def test_walker_broken_scaler_unit_is_malformed() -> None:
    body = [
        (ln("1-0:1.7.0"), 1, su(0, 27)),
        (ln("1-0:2.7.0"), 2, su(0, 27)),
        (ln("1-0:1.8.0"), 3, ("x", 30)),
    ]
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode(body, system_title=None)
    assert info.value.kind is ErrorKind.MALFORMED


def test_walker_uses_profile_defaults_without_scalers() -> None:
    body = (CLOCK_RAW, ln("1-0:31.7.0"), 123, ln("1-0:32.7.0"), 2301)
    result = LayoutDecoder().decode(body, system_title=b"KFMgP\x00\x00\t")
    assert result.values["1-0:31.7.0.255"].value == Decimal("1.23")
    assert result.values["1-0:32.7.0.255"].value == Decimal("230.1")
    assert result.values["0-0:1.0.0.255"].value == result.timestamp


_CODES = [
    ln(code)
    for code in ("1-0:1.7.0", "1-0:32.7.0", "1-0:1.8.0", "0-0:96.1.0", "0-0:1.0.0", "0-0:42.0.0")
]
_LIST_IDS = ("List_V1", "Kamstrup_V0001")  # the second picks Kamstrup's profile (NO: 10 Wh)
_LATER_CLOCK = CLOCK_RAW[:5] + b"\x0c" + CLOCK_RAW[6:]
_VALUES = st.sampled_from(
    [None, 7, 230, 2301, *_LIST_IDS, b"12345678", b"KFM5550001", b"LGZ1030362", CLOCK_RAW, b"\x01"]
)
_SCALER_UNITS = st.builds(su, st.integers(-3, 3), st.sampled_from([27, 30, 35]))
_ELEMENT = st.one_of(
    st.sampled_from(_CODES),
    _VALUES,
    _SCALER_UNITS,
    st.just(("x", 30)),
    st.tuples(st.sampled_from(_CODES), st.integers(0, 9)),
    st.tuples(st.sampled_from(_CODES), st.integers(0, 9), _SCALER_UNITS),
)
_ENTRY = st.one_of(
    st.tuples(st.sampled_from(_CODES), _VALUES),
    st.tuples(st.sampled_from(_CODES), _VALUES, _SCALER_UNITS),
    st.tuples(st.tuples(st.sampled_from(_CODES), _VALUES)),
    st.tuples(st.tuples(st.sampled_from(_CODES), _VALUES, _SCALER_UNITS)),
    st.just((None, None)),
)


@st.composite
def _walkable_body(draw: st.DrawFn) -> list[object]:
    """A body the walker takes: optional list id or clock, entries, optional meter number."""
    body: list[object] = list(draw(st.sampled_from([(), *((i,) for i in _LIST_IDS), (CLOCK_RAW,)])))
    body.append(draw(st.sampled_from(_CODES)))
    body.append(draw(_VALUES))
    for entry in draw(st.lists(_ENTRY, max_size=5)):
        body.extend(entry)
    body.extend(draw(st.sampled_from([(), (b"12345678",), ("nr 1",)])))
    return body


def _walked(body: tuple[object, ...]) -> object:
    try:
        found = walk(body)
    except DecodeError as err:
        return err.kind
    return found[0] if found is not None else None


def _found_after(first: tuple[object, ...], second: tuple[object, ...]) -> object:
    """What the walker finds in `second` after `first`: along first's shape when it fits."""
    try:
        found = walk(first)
    except DecodeError:
        found = None
    shape = found[1] if found is not None else None
    if shape is not None and fits(shape, second):
        return along(shape, second)
    return _walked(second)


def _read(walker: Walker, body: tuple[object, ...], flag: str | None) -> object:
    try:
        return walker.read(body, flag, Converter(ZoneInfo("Europe/Zurich")))
    except DecodeError as err:
        return err.kind


_FLAGS = st.sampled_from([None, "KFM", "LGZ"])
_STRUCTS = [(ln(code), 5, su(0, 27)) for code in ("1-0:1.7.0", "1-0:2.7.0", "1-0:32.7.0")]


@settings(max_examples=1500, deadline=None)
@given(
    _walkable_body(), st.lists(st.tuples(st.integers(0, 20), _ELEMENT), max_size=2), _FLAGS, _FLAGS
)
# Two clocks: a walk takes the last as the push time.
@example([CLOCK_RAW, ln("1-0:1.7.0"), 5, ln("0-0:1.0.0"), _LATER_CLOCK], [], "KFM", "KFM")
# Another list id: Kamstrup's profile in Norway.
@example(["List_V1", ln("1-0:1.8.0"), 7], [(0, "Kamstrup_V0001")], None, None)
# The FLAG changes the profile (voltage in 0.1 V for Kaifa, by plausibility for L+G).
@example([ln("1-0:32.7.0"), 230, ln("1-0:1.7.0"), 5], [], "KFM", "LGZ")
# Without a FLAG, the pushed logical device name picks the profile.
@example([ln("0-0:42.0.0"), b"KFM5550001", ln("1-0:32.7.0"), 230], [(1, b"LGZ1030362")], None, None)
# A broken scaler_unit in the third structure.
@example(_STRUCTS, [(2, (ln("1-0:32.7.0"), 5, ("x", 30)))], "KFM", "KFM")
def test_walker_along_the_last_shape_finds_what_a_walk_finds(
    elements: list[object],
    changes: list[tuple[int, object]],
    flag: str | None,
    next_flag: str | None,
) -> None:
    """The next body, read along the last body's shape (and its plan), reads as a fresh walk."""
    first = tuple(elements)
    second = list(elements)
    for position, element in changes:
        if position < len(second):
            second[position] = element
    assert _found_after(first, tuple(second)) == _walked(tuple(second))
    reader = Walker("auto", (), "NO")
    _read(reader, first, flag)
    _read(reader, first, flag)  # the plan of the first body's shape exists now
    fresh = Walker("auto", (), "NO")
    assert _read(reader, tuple(second), next_flag) == _read(fresh, tuple(second), next_flag)


# --------------------------------------------------------------------------- unsupported


@pytest.mark.parametrize(
    "body",
    [
        ("1-0:1.8.0(000123.456*kWh)", "1-0:2.8.0(000000.000*kWh)"),  # DSMR lines
        (1, 2, 3),
        (),
        [],
        b"\x01\x02",
        None,
        42,
    ],
)
def test_unknown_layouts_are_unsupported_with_structure(body: object) -> None:
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode(body, system_title=None)
    assert info.value.kind is ErrorKind.UNSUPPORTED_LAYOUT
    assert info.value.structure is body


def test_unknown_model_is_rejected() -> None:
    with pytest.raises(ValueError, match="model"):
        LayoutDecoder(model="lg_e999")


def test_bad_override_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an OBIS code"):
        LayoutDecoder(scaler_overrides={"1-0:32.7": -1})


# --------------------------------------------------------------------------- robustness

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.binary(max_size=14),
    st.text(max_size=8),
    st.integers(min_value=0, max_value=255).map(DlmsEnum),
    st.sampled_from([ln("1-0:1.8.0"), ln("0-8:25.9.0"), CLOCK_RAW, b"KFM_001"]),
)
_shapes = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.tuples(
            st.integers(0, 80),
            st.sampled_from([SETUP, ln("1-0:1.8.0")]),
            st.integers(0, 4),
            st.integers(0, 2),
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_shapes)
def test_any_shape_gives_a_result_or_a_typed_error(body: object) -> None:
    decoder = LayoutDecoder()
    cause: BaseException | None = None
    try:
        result: LayoutResult | None = decoder.decode(body, system_title=None)
    except DecodeError as err:
        result = None
        cause = err.__cause__
    # A typed error from a check, never the last-resort net around unexpected exceptions.
    assert cause is None, repr(cause)
    for key in result.values if result else ():
        assert key.count(".") == 3
        assert ":" in key


_capture = st.tuples(
    st.sampled_from([1, 3, 4, 5, 8, 40, 7, 72]),
    st.sampled_from([SETUP, ln("1-0:32.7.0"), ln("1-0:1.8.0"), ln("0-0:1.0.0"), ln("0-0:0.9.1")]),
    st.integers(0, 6),
    st.integers(0, 3),
)
_push_bodies = st.lists(_capture, min_size=1, max_size=7).flatmap(
    lambda objects: st.tuples(st.just(objects), *[_shapes for _ in range(len(objects) - 1)])
)
_template_bodies = st.tuples(
    st.sampled_from([SETUP, b"KFM_001", 236]), st.lists(_shapes, min_size=0, max_size=18)
).map(lambda parts: (parts[0], *parts[1]))


@settings(max_examples=300, deadline=None)
@given(st.one_of(_push_bodies, _template_bodies))
def test_push_lists_and_templates_fail_only_with_typed_errors(body: tuple[object, ...]) -> None:
    decoder = LayoutDecoder()
    cause: BaseException | None = None
    for _ in range(2):  # the second pass runs on the cached plan
        try:
            decoder.decode(body, system_title=b"LGZgsp\xb1w")
        except DecodeError as err:
            cause = err.__cause__
        assert cause is None, repr(cause)


def test_auto_model_recognises_e570_by_its_64_bit_registers() -> None:
    """An E570 (CT meter) pushes long64 registers and unscaled currents."""
    vector = VECTORS["lg-e570-ch-gbt-glo-scs"]
    (push,) = [
        r
        for r in decode_capture(bytes.fromhex(vector["hex"]), key=vector["key_hex"])
        if isinstance(r, Push)
    ]
    assert push.model == "lg_e570"
    assert type(push.values["1-1:1.8.0.255"].value) is int
    assert push.values["1-1:1.8.0.255"].value == 862055
