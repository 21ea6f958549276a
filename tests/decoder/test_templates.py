"""Values-only templates: signatures, discriminators, provenance checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.swiss_meter_cii.decoder.catalogue import describe
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.layouts import LayoutDecoder
from custom_components.swiss_meter_cii.decoder.obis import Obis
from custom_components.swiss_meter_cii.decoder.templates import (
    TEMPLATES,
    Field,
    FieldKind,
    Template,
    field_accepts,
    find_template,
)
from custom_components.swiss_meter_cii.decoder.values import (
    CosemDateTime,
    DlmsEnum,
)

from .test_layouts import vector_bodies

SETUP = Obis.parse("0-6:25.9.0").to_bytes()
CLOCK = bytes.fromhex("07E40119060E000AFF800000")


def by_name(name: str) -> Template:
    return next(template for template in TEMPLATES if template.name == name)


def sample(template: Template) -> tuple[object, ...]:
    """A body with the template's signature (every position a distinct value)."""
    values: list[object] = []
    for position, field in enumerate(template.fields):
        kind = field.kind
        if kind is FieldKind.PUSH_SETUP:
            values.append(SETUP)
        elif kind is FieldKind.LIST_ID:
            assert template.list_id is not None
            values.append(template.list_id.encode())
        elif kind is FieldKind.NUMBER:
            values.append(1000 + position)
        elif kind is FieldKind.TEXT:
            values.append(f"T{position}".encode())
        elif kind is FieldKind.CLOCK:
            values.append(CLOCK)
        elif kind is FieldKind.TIME:
            values.append(bytes([14, 55, 33, 0]))
        elif kind is FieldKind.NAME:
            values.append(f"ISK10307893756{position:02d}".encode())
        elif kind is FieldKind.DIGITS:
            values.append(f"846058{position:02d}".encode())
        elif kind is FieldKind.ENUM:
            values.append(DlmsEnum(position))
        elif kind is FieldKind.IGNORED:
            values.append([position])  # anything: an array, as in the IE.5 list
        else:
            values.append(bytes([0x07, 0xE5, 3, 7, 7]))
    return tuple(values)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_each_template_matches_its_own_signature_only(template: Template) -> None:
    seen = {template.after} if template.after else set()
    found = find_template(
        sample(template),
        flag=None,
        seen=seen,
        discriminated=template.discriminated or template.after is not None,
    )
    assert found is template


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_template_codes_are_catalogued(template: Template) -> None:
    unpublished = (FieldKind.PUSH_SETUP, FieldKind.LIST_ID, FieldKind.IGNORED)
    for field in template.fields:
        if field.kind is FieldKind.PUSH_SETUP or field.kind is FieldKind.IGNORED:
            assert field.obis is None
            continue
        if field.obis is None:  # a list id or short id that is no meter value
            assert field.kind in (*unpublished, FieldKind.TEXT, FieldKind.DIGITS)
            continue
        info = describe(field.obis)
        assert info.known, field.obis
        if field.unit is not None and info.unit is not None:
            assert field.unit == info.unit, field.obis


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_each_template_decodes_every_position(template: Template) -> None:
    decoder = LayoutDecoder()
    if template.after:
        decoder.decode(sample(by_name("kaifa_no_list2_3ph")), system_title=None)
    result = decoder.decode(sample(template), system_title=None)
    assert result.layout == f"template:{template.name}"
    expected = {f.obis for f in template.fields if f.obis is not None}
    assert set(result.values) == expected


def test_im350_short_variant_and_setup_name() -> None:
    template = by_name("im350_short")
    result = LayoutDecoder().decode(sample(template), system_title=b"SMSgp\x02\xfdb")
    assert result.push_setup == "0-6:25.9.0.255"
    assert result.values["1-0:2.8.0.255"].value == 1005
    assert result.values["1-0:2.8.0.255"].unit == "Wh"
    assert "0-0:96.13.0.255" not in result.values


def test_discriminator_with_wrong_types_is_malformed() -> None:
    body = list(sample(by_name("im350")))
    body[5] = b"not a number"
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode(tuple(body), system_title=None)
    assert info.value.kind is ErrorKind.MALFORMED
    assert "im350" in info.value.detail


def test_discriminator_with_unknown_length_is_unsupported() -> None:
    body = (*sample(by_name("im350")), 77)  # a 13-element variant nobody documented
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode(body, system_title=None)
    assert info.value.kind is ErrorKind.UNSUPPORTED_LAYOUT


def test_kaifa_list1_needs_a_kaifa_list_first() -> None:
    decoder = LayoutDecoder()
    with pytest.raises(DecodeError) as info:
        decoder.decode((1234,), system_title=None)
    assert info.value.kind is ErrorKind.UNSUPPORTED_LAYOUT
    title, list2 = vector_bodies("kaifa-ma304h3e-no-list2-cnrd")[0]
    decoder.decode(list2, system_title=title)
    result = decoder.decode((1234,), system_title=None)
    assert result.layout == "template:kaifa_no_list1"
    assert result.values["1-0:1.7.0.255"].value == 1234


def test_kaifa_list_id_as_visible_string() -> None:
    template = by_name("kaifa_no_list2_1ph")
    body = ("KFM_001", *sample(template)[1:])
    result = LayoutDecoder().decode(body, system_title=None)
    assert result.values["1-0:31.7.0.255"].value == Decimal("1.007")  # mA -> A
    assert result.values["1-0:32.7.0.255"].value == Decimal("100.8")  # 0.1 V


def test_austrian_e450_templates_only_for_landis_gyr() -> None:
    title, body = vector_bodies("lg-e450-at-burgenland-glo-gh501-1")[0]
    assert title is not None
    assert title.startswith(b"LGZ")
    with pytest.raises(DecodeError) as info:
        LayoutDecoder().decode(body, system_title=b"KFMgP\x00\x00\t")
    assert info.value.kind is ErrorKind.UNSUPPORTED_LAYOUT


def test_weak_templates_need_every_type() -> None:
    template = by_name("at_e450_11")
    body = list(sample(template))
    assert find_template(body, flag="LGZ", seen=(), discriminated=False) is template
    body[3] = DlmsEnum(3)  # an enum is not a register value
    assert find_template(body, flag="LGZ", seen=(), discriminated=False) is None
    body[3] = None
    assert find_template(body, flag="LGZ", seen=(), discriminated=False) is None


def test_at_e450_11_scaling_matches_power() -> None:
    """Tasmota #23027 push: U 228/226/230 V, I 7.81/14.82/6.43 A, P+ 5432 W, '30052002'."""
    body = (228, 226, 230, 781, 1482, 643, 5432, 0, 40091000, 0, b"30052002")
    result = LayoutDecoder().decode(body, system_title=b"LGZgr\xa9\xa1\x11")
    values: dict[str, Decimal] = {}
    for key, reading in result.values.items():
        if isinstance(reading.value, int | Decimal):
            values[key] = Decimal(reading.value)
    assert values["1-0:31.7.0.255"] == Decimal("7.81")
    assert values["1-0:1.8.0.255"] == 40091000
    apparent = sum(
        (values[f"1-0:{u}.7.0.255"] * values[f"1-0:{i}.7.0.255"])
        for u, i in ((32, 31), (52, 51), (72, 71))
    )
    assert Decimal(5432) < apparent < Decimal(5432) * 2  # P <= S, plausible power factor


def test_wiener_netze_e450_nine_values() -> None:
    """tasmota-sml-parser #5 dump: date-time + 8 x uint32."""
    stamp = bytes.fromhex("07E7091302162C01FF800080")
    body = (stamp, 0x4DF0C8, 0, 0x1131F7, 0x08A600, 0xE6, 0, 0x58, 0x15)
    result = LayoutDecoder().decode(body, system_title=b"LGZgr\x00\x00\x01")
    assert result.layout == "template:wienernetze_9"
    assert result.values["1-0:1.8.0.255"].value == 5107912
    assert result.values["1-0:1.7.0.255"].value == 230
    assert result.values["1-0:4.7.0.255"].unit == "var"
    assert result.timestamp is not None


def test_field_shapes() -> None:
    clock = Field(FieldKind.CLOCK, "0-0:1.0.0.255")
    assert field_accepts(clock, CosemDateTime.from_bytes(CLOCK))
    assert field_accepts(clock, CLOCK)
    assert not field_accepts(clock, CLOCK[:11])
    number = Field(FieldKind.NUMBER, "1-0:1.7.0.255")
    assert field_accepts(number, 5)
    assert field_accepts(number, 5.5)
    assert not field_accepts(number, True)
    assert not field_accepts(number, b"5")
    listed = Field(FieldKind.LIST_ID, "1-1:0.2.129.255")
    assert field_accepts(listed, b"KFM_001", "KFM_001")
    assert not field_accepts(listed, b"KFM_002", "KFM_001")
    setup = Field(FieldKind.PUSH_SETUP)
    assert field_accepts(setup, _ln("0-1:25.9.0"))
    assert not field_accepts(setup, _ln("0-0:1.0.0"))


def _ln(text: str) -> bytes:
    """The 6-byte logical name of a code."""
    return Obis.parse(text).to_bytes()
