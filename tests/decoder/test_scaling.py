"""Exact scaling, default scalers per model, plausibility rule and user overrides."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder.catalogue import Quantity
from custom_components.swiss_meter_cii.decoder.models import MODELS
from custom_components.swiss_meter_cii.decoder.scaling import (
    DEFAULT_SCALERS,
    default_scaler,
    normalize_overrides,
    override_for,
    parse_scaler_overrides,
    plausible_scaler,
    scale,
    scale_float,
)


@pytest.mark.parametrize(
    ("raw", "scaler", "expected"),
    [
        (2357, -1, Decimal("235.7")),
        (9, -2, Decimal("0.09")),
        (1000, -3, 1),
        (941, -3, Decimal("0.941")),
        (14571, -3, Decimal("14.571")),
        (236, 0, 236),
        (12, 2, 1200),
        (-1234, -2, Decimal("-12.34")),
        (-1200, -2, -12),
        (0, -3, 0),
        (2**63 - 1, -3, Decimal("9223372036854775.807")),
    ],
)
def test_scale_is_exact(raw: int, scaler: int, expected: int | Decimal) -> None:
    result = scale(raw, scaler)
    assert result == expected
    assert type(result) is type(expected)


def test_no_binary_float_artefacts() -> None:
    total = sum((scale(1, -1) for _ in range(3)), Decimal(0))
    assert total == Decimal("0.3")
    assert str(scale(30000000000000004, -17)) == "0.30000000000000004"


@given(st.integers(min_value=-(2**64), max_value=2**64), st.integers(min_value=-9, max_value=9))
def test_scale_matches_decimal_arithmetic(raw: int, scaler: int) -> None:
    result = scale(raw, scaler)
    assert isinstance(result, int | Decimal)
    assert Decimal(result) == Decimal(raw).scaleb(scaler)
    exact = Decimal(raw).scaleb(scaler)
    assert isinstance(result, int) == (exact == exact.to_integral_value())


def test_scale_float() -> None:
    assert scale_float(0.1, 0) == 0.1
    assert scale_float(1.5, -1) == Decimal("0.15")
    assert scale_float(2.5, 1) == 25
    assert type(scale_float(2.5, 1)) is int


def test_per_model_defaults_from_the_sources() -> None:
    assert default_scaler("lg_e450", Quantity.VOLTAGE) == 0
    assert default_scaler("lg_e450", Quantity.CURRENT) == -2
    assert default_scaler("lg_e450", Quantity.POWER_FACTOR) == -3
    assert default_scaler("lg_e570", Quantity.CURRENT) == 0
    assert default_scaler("lg_e360", Quantity.VOLTAGE) == -1
    assert default_scaler("iskra_am550", Quantity.VOLTAGE) == -1
    assert default_scaler("kamstrup", Quantity.CURRENT) == -2
    # Undecided: voltage goes by plausibility, energies and powers are never scaled.
    assert default_scaler("lgz", Quantity.VOLTAGE) is None
    assert default_scaler("generic", Quantity.ACTIVE_ENERGY) is None
    assert default_scaler("no-such-profile", Quantity.CURRENT) == -2


def test_every_model_has_a_profile() -> None:
    for model in MODELS:
        assert model in DEFAULT_SCALERS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (236, 0),
        (80, 0),
        (300, 0),
        (2357, -1),
        (800, -1),
        (3000, -1),
        (23012, -2),
        (0, None),
        (40, None),
        (500, None),
        (5000, None),
    ],
)
def test_voltage_plausibility(raw: int, expected: int | None) -> None:
    assert plausible_scaler(Quantity.VOLTAGE, raw) == expected


def test_frequency_plausibility() -> None:
    assert plausible_scaler(Quantity.FREQUENCY, 50) == 0
    assert plausible_scaler(Quantity.FREQUENCY, 4998) == -2
    assert plausible_scaler(Quantity.FREQUENCY, 50012) == -3
    assert plausible_scaler(Quantity.CURRENT, 500) is None


def test_parse_overrides() -> None:
    assert parse_scaler_overrides("1-0:32.7.0=-1, 31.7.0=-2") == {"1-0:32.7.0": -1, "31.7.0": -2}
    assert parse_scaler_overrides(" 1-0:32.7.0.255 = 0 ;\n1.0.31.7.0.255=-3") == {
        "1-0:32.7.0.255": 0,
        "1-0:31.7.0.255": -3,
    }
    assert parse_scaler_overrides("") == {}
    assert parse_scaler_overrides(" , ;") == {}
    assert parse_scaler_overrides("01-00:032.7.0=+1") == {"1-0:32.7.0": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1-0:32.7.0", "OBIS=scaler"),
        ("1-0:32.7.0=x", "whole number"),
        ("1-0:32.7.0=1.5", "whole number"),
        ("1-0:32.7=-1", "not an OBIS code"),
        ("32.7=-1", "not an OBIS code"),
        ("1-0:320.7.0=-1", "0..255"),
        ("1-0:32.7.0=-13", "out of range"),
        ("1-0:32.7.0=-1, 1-0:32.7.0=-2", "twice"),
        ("voltage=-1", "not an OBIS code"),
    ],
)
def test_parse_overrides_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scaler_overrides(text)


def test_override_lookup_most_specific_first() -> None:
    overrides = parse_scaler_overrides("1-0:32.7.0.255=1, 1-0:32.7.0=2, 32.7.0=3, 31.7.0=-1")
    assert override_for(overrides, "1-0:32.7.0.255") == 1
    assert override_for(overrides, "1-0:32.7.0.101") == 2
    assert override_for(overrides, "1-1:32.7.0.255") == 3
    assert override_for(overrides, "1-1:31.7.0.255") == -1
    assert override_for(overrides, "1-0:52.7.0.255") is None
    assert override_for({}, "1-0:52.7.0.255") is None


def test_normalize_overrides_mapping() -> None:
    assert normalize_overrides({" 1.0.32.7.0.255 ": -1}) == {"1-0:32.7.0.255": -1}
    assert normalize_overrides(None) == {}
    with pytest.raises(ValueError, match="int"):
        normalize_overrides({"1-0:32.7.0": True})
    with pytest.raises(ValueError, match="range"):
        normalize_overrides({"1-0:32.7.0": 40})
