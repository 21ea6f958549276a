"""Who sent a push: FLAG, manufacturer, model and scaler profile, decided in one module."""

from __future__ import annotations

import pytest

from custom_components.swiss_meter_cii.decoder.identity import (
    MeterKind,
    flag_of,
    manufacturer_of,
    model_name,
    model_of,
    push_flag,
    resolve,
    system_title_identity,
)
from custom_components.swiss_meter_cii.decoder.models import MODEL_IDS, MODELS
from custom_components.swiss_meter_cii.decoder.push import Push, Reading
from custom_components.swiss_meter_cii.decoder.scaling import DEFAULT_SCALERS


@pytest.mark.parametrize(
    ("model", "flag", "expected"),
    [
        ("auto", "ISK", ("iskra_am550", "iskra_am550")),
        ("auto", "SAG", ("sagemcom_t210d", "sagemcom_t210d")),
        ("auto", "LGZ", ("auto", "lgz")),
        ("auto", "KFM", ("auto", "kfm")),
        ("auto", "SMS", ("auto", "sms")),
        ("auto", "XYZ", ("auto", "generic")),
        ("auto", None, ("auto", "generic")),
        ("lg_e570", "LGZ", ("lg_e570", "lg_e570")),
        ("lg_e360", None, ("lg_e360", "lg_e360")),
    ],
)
def test_resolve_model(model: str, flag: str | None, expected: tuple[str, str]) -> None:
    assert resolve(model, flag) == MeterKind(*expected)


def test_every_model_id_resolves() -> None:
    for model in MODEL_IDS:
        kind = resolve(model, None)
        assert kind.model == model
        assert kind.profile in DEFAULT_SCALERS


def test_what_the_push_shows() -> None:
    """64-bit registers name an L+G meter an E570; a Kamstrup list its country's profile."""
    assert resolve("auto", "LGZ", wide_registers=True) == MeterKind("lg_e570", "lg_e570")
    assert resolve("auto", "KFM", wide_registers=True) == MeterKind("auto", "kfm")
    assert resolve("lg_e450", "LGZ", wide_registers=True) == MeterKind("lg_e450", "lg_e450")
    assert resolve("auto", None, list_id="Kamstrup_V0001", country="no").profile == "kamstrup_no"
    assert resolve("auto", None, list_id="Kamstrup_V0001", country="SE").profile == "kamstrup"
    assert resolve("auto", None, list_id="Kamstrup_V0001").profile == "kamstrup"
    assert resolve("auto", None, list_id="KFM_001").profile == "generic"
    assert resolve("lg_e450", None, list_id="Kamstrup_V0001").profile == "lg_e450"


def test_flags_and_names() -> None:
    assert flag_of(b"LGZgsp\x00\x01") == "LGZ"
    assert flag_of("isk1030123") == "ISK"
    assert flag_of(b"\x00\x01\x02\x03") is None
    assert flag_of("12ABC") is None
    assert flag_of(None) is None
    assert push_flag(Push(values={}, system_title=b"KFM\x10\x10\x00\x00\x01")) == "KFM"
    plain = Push(values={"0-0:42.0.0.255": Reading("LGZ1030655933512", None)})
    assert push_flag(plain) == "LGZ"
    assert push_flag(Push(values={})) is None
    assert manufacturer_of("KAM") == "Kamstrup"
    assert manufacturer_of("LGZ") == "Landis+Gyr"
    assert manufacturer_of("XYZ") == "XYZ"
    assert manufacturer_of(None, MODELS["kaifa_ma309m"]) == "Kaifa"
    assert model_of("auto", "lg_e450") is MODELS["lg_e450"]
    assert model_of("auto", None) is None
    assert model_name("LGZ", "lg_e360", "lg_e450") == "Landis+Gyr E360"  # configured first
    assert model_name("LGZ", "auto") == "Landis+Gyr"
    assert model_name(None, "auto") is None
    assert system_title_identity(b"LGZ\x01") == "st-4C475A01"
    assert system_title_identity("4c475a01") == "st-4C475A01"
