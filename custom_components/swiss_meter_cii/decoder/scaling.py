"""Exact scaling, per-model default scalers, voltage plausibility and user overrides.

Physical value = raw x 10**scaler (Blue Book, register attribute 3). It is computed with
integers and `Decimal`, never with floats, so an energy total of 1234567 Wh with scaler -3
is exactly 1234.567 and 3 x 0.1 never becomes 0.30000000000000004.

Where the scaler comes from, strongest first (the layouts apply this order):

1. a user override for the code (`parse_scaler_overrides`);
2. the scaler pushed by the meter (scaler_unit in the body or attribute 3 in the list);
3. the scaler a values-only template documents for its position (templates.py);
4. the default of the meter model or family (`DEFAULT_SCALERS`);
5. voltage and frequency: a plausibility rule on the raw value (`plausible_scaler`);
6. otherwise 0 (energies in Wh and powers in W are never scaled by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
import re
from types import MappingProxyType
from typing import Final

from .catalogue import Quantity
from .obis import read_spelling

# Scalers seen in the sources range from -3 to +3; allow headroom, refuse nonsense.
MIN_OVERRIDE: Final = -12
MAX_OVERRIDE: Final = 12

# 10**n for every scaler an int8 can carry.
_POW10: Final[tuple[int, ...]] = tuple(10**n for n in range(129))

_V: Final = Quantity.VOLTAGE
_A: Final = Quantity.CURRENT
_PF: Final = Quantity.POWER_FACTOR
_EA: Final = Quantity.ACTIVE_ENERGY
_ER: Final = Quantity.REACTIVE_ENERGY

# Default scalers per model id or family profile, for lists that do not push scalers.
# Energies and powers are 10^0 everywhere (docs/protocol.md, "Scaling and units"). A
# quantity missing from a profile falls back to the plausibility rule (voltage, frequency)
# or to 0.
DEFAULT_SCALERS: Final[Mapping[str, Mapping[Quantity, int]]] = MappingProxyType(
    {
        # docs/protocol.md, "Model defaults" (SCS DEFAULT_REGISTER_MAP and its E450 tests):
        # 236 -> 236 V, 9 -> 0.09 A (vector lg-e450-ch-gbt-plain-vse2026-scs).
        "lg_e450": {_V: 0, _A: -2, _PF: -3},
        # docs/protocol.md, "Model defaults": CT meter, current in whole A (SCS commit
        # a71ccff).
        "lg_e570": {_V: 0, _A: 0, _PF: -3},
        # docs/protocol.md, "Model defaults": 2357 -> 235.7 V (SCS commit 4e1f501; vector
        # lg-e360-...-vse2026).
        "lg_e360": {_V: -1, _A: -2, _PF: -3},
        # No published E35C list: current and power factor as the other L+G meters,
        # voltage by plausibility.
        "lg_e35c": {_A: -2, _PF: -3},
        # L+G meter whose model is not configured: E450/E360 agree on current and power
        # factor; their voltages differ (10^0 vs 10^-1), so voltage goes by plausibility.
        # An E570 (current 10^0) must be configured as lg_e570 or overridden.
        "lgz": {_A: -2, _PF: -3},
        # docs/protocol.md, "Model defaults": AM550 2347 -> 234.7 V (SCS iskraam550.py).
        "iskra_am550": {_V: -1, _A: -2, _PF: -3},
        # Kaifa/Sagemcom (AT) push their scalers; these are the values they push
        # (TINETZ/EVN documents, vector sagemcom-t210d-at-raw-apdu-gh867-2).
        "kaifa_ma309m": {_V: -1, _A: -2, _PF: -3},
        "kaifa_ma110m": {_V: -1, _A: -2, _PF: -3},
        "kfm": {_V: -1, _A: -2, _PF: -3},
        "sagemcom_t210d": {_V: -1, _A: -2, _PF: -3},
        # Siemens IM150/IM350 and the FLEXY F2 publish no voltages/currents without
        # scalers in the sources: generic rules apply.
        "siemens_im150": {_A: -2, _PF: -3},
        "siemens_im350": {_A: -2, _PF: -3},
        "sms": {_A: -2, _PF: -3},
        "mc_flexy_f2": {_A: -2, _PF: -3},
        # Kamstrup NVE list 1 (list id "Kamstrup_V0001"): 237 -> 2.37 A, 232 -> 232 V
        # (amshan tests/test_kamstrup.py; vector kamstrup-omnipower-se-hdlc-list1).
        # Swedish firmware counts energy in Wh (vector kamstrup-omnipower-se-hdlc-list1;
        # amsreader issue 239, amshan-homeassistant issue 43).
        "kamstrup": {_V: 0, _A: -2},
        # Norway: Kamstrup "HAN-NVE interface description" rev 3.1, section 2.8.1, and
        # NVE's "OBIS List Information - KAMSTRUP": energy registers count 10 Wh
        # (scaler 1); docs/protocol.md, "Model defaults".
        "kamstrup_no": {_V: 0, _A: -2, _EA: 1, _ER: 1},
        # Nothing known about the meter: current 10^-2 and power factor 10^-3 as on
        # every CH/AT meter in the sources; voltage and frequency by plausibility.
        "generic": {_A: -2, _PF: -3},
    }
)


def default_scaler(profile: str, quantity: Quantity) -> int | None:
    """Profile default for a quantity; None = decide by plausibility (or 0)."""
    table = DEFAULT_SCALERS.get(profile, DEFAULT_SCALERS["generic"])
    return table.get(quantity)


# Plausibility bands: raw value range -> scaler. A mains voltage is 80..300 V phase to
# neutral (400 V lines are inside 800..3000 x 0.1 too); a raw 2357 can only be 235.7 V.
# Frequencies are 45..65 Hz in any resolution. Values outside every band (0 during an
# outage, a brown-out) keep the scaler learned from an earlier in-band value.
_BANDS: Final[Mapping[Quantity, tuple[tuple[int, int, int], ...]]] = MappingProxyType(
    {
        Quantity.VOLTAGE: ((80, 300, 0), (800, 3000, -1), (8000, 30000, -2)),
        Quantity.FREQUENCY: ((45, 65, 0), (450, 650, -1), (4500, 6500, -2), (45000, 65000, -3)),
    }
)


def plausible_scaler(quantity: Quantity, raw: int) -> int | None:
    """Scaler that puts `raw` into the quantity's normal band; None when no band fits."""
    for low, high, scaler in _BANDS.get(quantity, ()):
        if low <= abs(raw) <= high:
            return scaler
    return None


def has_plausibility(quantity: Quantity) -> bool:
    """Tell whether the scaler of a quantity can be inferred from the raw value."""
    return quantity in _BANDS


def scale(raw: int, scaler: int) -> int | Decimal:
    """Compute raw x 10**scaler exactly: an int when integral, else a Decimal."""
    if scaler == 0:
        return raw
    if scaler > 0:
        return raw * _POW10[scaler]
    whole, rest = divmod(raw, _POW10[-scaler])
    if rest == 0:
        return whole
    return Decimal(raw).scaleb(scaler)


def scale_float(raw: float, scaler: int) -> float | int | Decimal:
    """Scale a float32/64 register exactly from its shortest decimal representation."""
    if scaler == 0 or raw != raw or raw in (float("inf"), float("-inf")):
        return raw
    value = Decimal(repr(raw)).scaleb(scaler)
    if value == value.to_integral_value():
        return int(value)
    return value


_ITEM_SPLIT = re.compile(r"[,;\n]+")


def _override_key(text: str) -> str:
    """Canonical key: 'A-B:C.D.E.F', 'A-B:C.D.E' (any F) or 'C.D.E' (any A, B and F)."""
    spelling = read_spelling(text)
    if spelling.attribute is not None:
        raise ValueError(f"a scaler correction names a code, not an attribute: {text!r}")
    cde = f"{spelling.c}.{spelling.d}.{spelling.e}"
    if spelling.a is None or spelling.b is None:
        return cde
    if spelling.f is None:
        return f"{spelling.a}-{spelling.b}:{cde}"
    return f"{spelling.a}-{spelling.b}:{cde}.{spelling.f}"


def parse_scaler_overrides(text: str) -> dict[str, int]:
    """Parse "1-0:32.7.0=-1, 31.7.0=-2" into {canonical OBIS key: scaler}.

    Items are separated by commas, semicolons or new lines. A key is 'A-B:C.D.E.F',
    'A-B:C.D.E' (any F) or 'C.D.E' (any A, B and F). Raises ValueError with a message
    naming the bad item; an empty text gives {}.
    """
    result: dict[str, int] = {}
    for raw_item in _ITEM_SPLIT.split(text):
        item = raw_item.strip()
        if not item:
            continue
        key_text, sep, value_text = item.partition("=")
        if not sep:
            raise ValueError(f"expected OBIS=scaler, got {item!r}")
        key = _override_key(key_text.strip())
        try:
            scaler = int(value_text.strip())
        except ValueError:
            raise ValueError(f"scaler must be a whole number: {item!r}") from None
        if not MIN_OVERRIDE <= scaler <= MAX_OVERRIDE:
            raise ValueError(
                f"scaler {scaler} out of range {MIN_OVERRIDE}..{MAX_OVERRIDE}: {item!r}"
            )
        if key in result:
            raise ValueError(f"{key} is given twice")
        result[key] = scaler
    return result


def normalize_overrides(overrides: Mapping[str, int] | None) -> dict[str, int]:
    """Canonical keys for an override mapping given by code (ValueError if malformed)."""
    result: dict[str, int] = {}
    for key, scaler in (overrides or {}).items():
        if isinstance(scaler, bool) or not isinstance(scaler, int):
            raise ValueError(f"scaler for {key!r} must be an int")
        if not MIN_OVERRIDE <= scaler <= MAX_OVERRIDE:
            raise ValueError(f"scaler {scaler} for {key!r} out of range")
        result[_override_key(key.strip())] = scaler
    return result


def override_for(overrides: Mapping[str, int], obis: str) -> int | None:
    """Return the user's scaler for a code 'A-B:C.D.E.F', most specific key first."""
    if not overrides:
        return None
    if obis in overrides:
        return overrides[obis]
    ab, _, cdef = obis.partition(":")
    cde = cdef.rsplit(".", 1)[0]
    hit = overrides.get(f"{ab}:{cde}")
    if hit is None:
        hit = overrides.get(cde)
    return hit
