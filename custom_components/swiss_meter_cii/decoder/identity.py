"""Who sent a push: FLAG id, manufacturer, model and scaler profile, decided in one place.

A meter names its maker in the first three letters of its system title and of its logical
device name (the DLMS UA "FLAG id"). Which model it is follows from the model the user
configured, else from a FLAG that only one supported model carries, else from what the push
itself shows: the E570 is the one Landis+Gyr meter that pushes 64-bit registers, and a
Kamstrup list names itself (docs/protocol.md, "Model defaults"). The layouts take the scaler
profile from here, the integration the names it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from .models import AUTO, MODELS, MeterModel

if TYPE_CHECKING:  # push.py asks this module for the FLAG of its system title
    from .push import Push

LOGICAL_DEVICE_NAME: Final = "0-0:42.0.0.255"

# FLAG ids -> manufacturer: the supported models' and a few more seen in the field.
MANUFACTURERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ELS": "Elster",
        "EMH": "EMH metering",
        "KAM": "Kamstrup",
        **{model.flag: model.manufacturer for model in MODELS.values() if model.flag},
    }
)

# FLAG ids several supported models share -> the family's scaler profile (scaling.py).
FAMILY_PROFILES: Final[Mapping[str, str]] = MappingProxyType(
    {"LGZ": "lgz", "KFM": "kfm", "SMS": "sms"}
)

_FLAG_MODELS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        flag: tuple(m.id for m in MODELS.values() if m.flag == flag)
        for flag in {m.flag for m in MODELS.values() if m.flag}
    }
)
_E570: Final = "lg_e570"


@dataclass(frozen=True, slots=True)
class MeterKind:
    """The model id ("auto" when undecidable) and the scaler profile to read it with."""

    model: str
    profile: str


def flag_of(text: object) -> str | None:
    """Three-letter FLAG id at the start of a system title or logical device name."""
    if isinstance(text, str):
        head = text[:3]
    elif isinstance(text, bytes) and len(text) >= 3 and text[:3].isascii():
        head = text[:3].decode("ascii")
    else:
        return None
    return head.upper() if len(head) == 3 and head.isalpha() else None


def push_flag(push: Push) -> str | None:
    """FLAG id of a push: its system title, else its logical device name (plain pushes)."""
    flag = flag_of(push.system_title)
    if flag is None:
        reading = push.values.get(LOGICAL_DEVICE_NAME)
        flag = flag_of(reading.value) if reading is not None else None
    return flag


def resolve(
    configured: str,
    flag: str | None,
    *,
    wide_registers: bool = False,
    list_id: str | None = None,
    country: str | None = None,
) -> MeterKind:
    """Model and scaler profile: the configured model wins, then what the push shows.

    With "auto", a FLAG only one model carries names the model (ISK -> iskra_am550, SAG ->
    sagemcom_t210d); a FLAG several models share picks the family profile; an L+G meter
    with 64-bit registers (`wide_registers`) is an E570 (a CT meter, currents unscaled);
    a list that names itself Kamstrup picks Kamstrup's profile, whose energy counts 10 Wh in
    Norway and Wh elsewhere (Home Assistant's `country`).
    """
    if configured != AUTO:
        return MeterKind(configured, configured)
    kind = MeterKind(AUTO, "generic")
    if flag:
        models = _FLAG_MODELS.get(flag, ())
        if len(models) == 1:
            kind = MeterKind(models[0], models[0])
        elif flag in FAMILY_PROFILES:
            kind = MeterKind(AUTO, FAMILY_PROFILES[flag])
    if wide_registers and kind.profile == "lgz":
        return MeterKind(_E570, _E570)
    if list_id is not None and list_id.startswith("Kamstrup"):
        return MeterKind(
            kind.model, "kamstrup_no" if (country or "").upper() == "NO" else "kamstrup"
        )
    return kind


def model_of(*ids: str | None) -> MeterModel | None:
    """Return the first of `ids` that is a supported model (configured, then detected)."""
    for model_id in ids:
        if model_id in MODELS:
            return MODELS[model_id]
    return None


def manufacturer_of(flag: str | None, model: MeterModel | None = None) -> str | None:
    """Manufacturer to show: from the FLAG, else the model's, else the bare FLAG."""
    if flag and flag in MANUFACTURERS:
        return MANUFACTURERS[flag]
    return model.manufacturer if model is not None else flag


def model_name(flag: str | None, *ids: str | None) -> str | None:
    """Readable name such as 'Landis+Gyr E450'; the manufacturer alone if only that is known."""
    model = model_of(*ids)
    if model is not None:
        return f"{model.manufacturer} {model.name}"
    return MANUFACTURERS.get(flag) if flag else None


TITLE_IDENTITY_PREFIX: Final = "st-"


def is_title_identity(identity: str) -> bool:
    """Whether an identity is a system title (the meter never sent its number)."""
    return identity.startswith(TITLE_IDENTITY_PREFIX)


def system_title_identity(system_title: bytes | str) -> str:
    """Identity of a meter that never sends its number: 'st-' + its system title in hex."""
    text = system_title.hex() if isinstance(system_title, bytes) else system_title
    return f"{TITLE_IDENTITY_PREFIX}{text.upper()}"
