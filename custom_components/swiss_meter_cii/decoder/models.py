"""Meter models: ids shared with the setup wizard, and what `auto` can infer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MeterModel:
    """A meter model the decoder knows (id is stored in config entries: never rename)."""

    id: str
    manufacturer: str
    name: str
    flag: str | None  # FLAG id in the system title / logical device name


AUTO = "auto"

MODELS: dict[str, MeterModel] = {
    m.id: m
    for m in (
        MeterModel("lg_e450", "Landis+Gyr", "E450", "LGZ"),
        MeterModel("lg_e570", "Landis+Gyr", "E570", "LGZ"),
        MeterModel("lg_e360", "Landis+Gyr", "E360", "LGZ"),
        MeterModel("lg_e35c", "Landis+Gyr", "E35C", "LGZ"),
        MeterModel("iskra_am550", "Iskraemeco", "AM550", "ISK"),
        MeterModel("mc_flexy_f2", "Meter&Control", "FLEXY F2", None),
        MeterModel("kaifa_ma309m", "Kaifa", "MA309M", "KFM"),
        MeterModel("kaifa_ma110m", "Kaifa", "MA110M", "KFM"),
        MeterModel("sagemcom_t210d", "Sagemcom", "T210-D", "SAG"),
        MeterModel("siemens_im150", "Siemens", "IM150", "SMS"),
        MeterModel("siemens_im350", "Siemens", "IM350", "SMS"),
    )
}

MODEL_IDS: tuple[str, ...] = (AUTO, *MODELS)
