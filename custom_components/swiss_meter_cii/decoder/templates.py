"""Values-only body layouts: the meaning of each position comes from the operator's list.

Some operators push a structure of bare values without OBIS codes. A template names the
code, scaler and unit of every position. It is matched by its signature only: element
count, the Python type of every element (values.py shapes) and, where the list has one,
a discriminator such as the leading push-setup logical name or a list id. Never by byte
offsets and never by guessing from a system title alone.

Templates with a discriminator are tried before the OBIS walker in layouts.py; a body
that carries the discriminator but breaks the type pattern is malformed. Templates
without one (Austrian E450 variants) are tried last and only when every type matches.

Coverage and provenance (docs/protocol.md, "Values-only templates"; public vectors in tests):
* IM350/AM550 at Wiener Netze, Kärnten Netz/KELAG, Wels (12 and 10 elements, push setup
  0-x:25.9.0 first): verified on the public IM350 vector, SHRDZM's AM550 samples and nine
  KELAG captures (amsreader #787, key published there).
* Netz Burgenland E450 (14): verified on the public vector; the three trailing values are
  most likely the phase angles 81.7.40/51/62 (Austrian adapter format "Variant 6"); their
  0.1° scaling is inferred from magnitudes and not documented (unverified).
* Austrian E450 with 11 values (Tasmota issue #23027): order from that issue; current
  scaling 0.01 A inferred from magnitudes (U x I matches P).
* Wiener Netze E450 and AM550 with 9 values (date-time + 8 registers, tasmota-sml-parser
  #5, the Tasmota documentation's decoded AM550 table): A+, A-, R+, R-, P+, P-, Q+, Q-.
* Norwegian Kaifa "KFM_001" lists 1/2/3, 1- and 3-phase (amshan han/kaifa.py, amsreader
  Kaifa.h; vectors kaifa-ma304h3e-*): currents 10^-3 A, voltages 10^-1 V. List 1 is a
  lone integer; it is only accepted on a connection that already sent a KFM_001 list.
* Iskraemeco AM550 at Elektro Ljubljana (18, 12, 10, 9, 9, 4 elements) and Elektro
  Celje (12), IE.5 at HEP (33): amsreader's Iskra branch and the field labels of its
  frames/slovenia-iskra.raw, checked on its captures (tests/fixtures/field_frames.json):
  tariff registers add up to the totals, phase powers to the total power.
* Not covered: the SIL Lausanne consumer message and the Swiss AM550 15-value list
  (amsreader #1001, encrypted, no key published): neither list is readable. A SIL meter
  that sends its push_object_list is decoded by the generic path in layouts.py.
* The Netz NÖ documentation example is not values-only: its plaintext carries OBIS codes
  (flat OBIS/value/scaler_unit triples) and is decoded by the OBIS walker.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field as dataclass_field
from enum import IntEnum

from .errors import DecodeError, ErrorKind
from .units import AMPERE, DEGREE, VAR, VAR_HOUR, VOLT, WATT, WATT_HOUR
from .values import CosemDate, CosemDateTime, CosemTime, DlmsEnum


class FieldKind(IntEnum):
    """What a template position holds (and which Python shapes it accepts)."""

    PUSH_SETUP = 1  # logical name of the push setup, octet-string(6) 0-x:25.9.0
    LIST_ID = 2  # a fixed list identifier string (discriminator and value)
    NUMBER = 3  # any integer or float register value
    TEXT = 4  # octet-string or visible string
    CLOCK = 5  # date-time: octet-string(12) or CosemDateTime
    TIME = 6  # time: octet-string(4) or CosemTime
    DATE = 7  # date: octet-string(5) or CosemDate
    NAME = 8  # logical device name: printable ASCII led by a FLAG id ("ISK1030789375606")
    DIGITS = 9  # an identifier of ASCII digits only
    ENUM = 10  # an enum value (DlmsEnum), e.g. disconnect control state
    IGNORED = 11  # a position whose meaning no source documents: accepted, not published


@dataclass(frozen=True, slots=True)
class Field:
    """One position of a values-only list."""

    kind: FieldKind
    obis: str | None = None  # 'A-B:C.D.E.F'; None only for PUSH_SETUP
    scaler: int | None = None  # documented scaler; None = model defaults
    unit: str | None = None  # documented unit; None = catalogue default


@dataclass(frozen=True, slots=True, eq=False)  # one object per list: identity is equality
class Template:
    """A values-only list: its fields in order plus what may discriminate it."""

    name: str  # layout id suffix: "template:<name>"
    family: str  # lists of one operator/meter family (for `after`)
    fields: tuple[Field, ...]
    list_id: str | None = None  # value of the LIST_ID field
    flags: frozenset[str] | None = None  # system-title FLAGs it may come from (None = any)
    after: str | None = None  # family that must have been seen on this connection first
    # Position of the field that identifies the list (push-setup LN or list id), or None.
    discriminator: int | None = dataclass_field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        """Find the discriminator once (it is asked for every values-only body)."""
        for position, field in enumerate(self.fields[:2]):
            if field.kind in (FieldKind.PUSH_SETUP, FieldKind.LIST_ID):
                object.__setattr__(self, "discriminator", position)
                break

    @property
    def discriminated(self) -> bool:
        """True when a leading field identifies the list."""
        return self.discriminator is not None


def _num(obis: str, scaler: int | None = None, unit: str | None = None) -> Field:
    return Field(FieldKind.NUMBER, obis, scaler, unit)


def _text(obis: str) -> Field:
    return Field(FieldKind.TEXT, obis)


_IGNORED = Field(FieldKind.IGNORED)
_LDN = Field(FieldKind.NAME, "0-0:42.0.0.255")


_IM350_10 = (
    Field(FieldKind.PUSH_SETUP),
    _text("0-0:96.1.1.255"),  # meter number (OE "Variant 1": 0-0:96.1.1)
    Field(FieldKind.TIME, "0-0:0.9.1.255"),
    Field(FieldKind.DATE, "0-0:0.9.2.255"),
    _num("1-0:1.8.0.255", 0, WATT_HOUR),
    _num("1-0:2.8.0.255", 0, WATT_HOUR),
    _num("1-0:3.8.0.255", 0, VAR_HOUR),
    _num("1-0:4.8.0.255", 0, VAR_HOUR),
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
)
_IM350_12 = (*_IM350_10, _text("0-0:96.13.0.255"), _text("0-0:96.13.1.255"))

_AT_E450_11 = (
    _num("1-0:32.7.0.255", 0, VOLT),
    _num("1-0:52.7.0.255", 0, VOLT),
    _num("1-0:72.7.0.255", 0, VOLT),
    _num("1-0:31.7.0.255", -2, AMPERE),
    _num("1-0:51.7.0.255", -2, AMPERE),
    _num("1-0:71.7.0.255", -2, AMPERE),
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
    _num("1-0:1.8.0.255", 0, WATT_HOUR),
    _num("1-0:2.8.0.255", 0, WATT_HOUR),
)
_BURGENLAND_14 = (
    *_AT_E450_11,
    _num("1-0:81.7.40.255", -1, DEGREE),
    _num("1-0:81.7.51.255", -1, DEGREE),
    _num("1-0:81.7.62.255", -1, DEGREE),
    _text("0-0:96.1.0.255"),
)
_WIENER_NETZE_9 = (
    Field(FieldKind.CLOCK, "0-0:1.0.0.255"),
    _num("1-0:1.8.0.255", 0, WATT_HOUR),
    _num("1-0:2.8.0.255", 0, WATT_HOUR),
    _num("1-0:3.8.0.255", 0, VAR_HOUR),
    _num("1-0:4.8.0.255", 0, VAR_HOUR),
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
    _num("1-0:3.7.0.255", 0, VAR),
    _num("1-0:4.7.0.255", 0, VAR),
)

_KAIFA_HEAD = (
    Field(FieldKind.LIST_ID, "1-1:0.2.129.255"),  # NVE "OBIS list version identifier"
    _text("0-0:96.1.0.255"),  # meter id (GS1)
    _text("0-0:96.1.7.255"),  # meter type
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
    _num("1-0:3.7.0.255", 0, VAR),
    _num("1-0:4.7.0.255", 0, VAR),
)
_KAIFA_1PH = (
    *_KAIFA_HEAD,
    _num("1-0:31.7.0.255", -3, AMPERE),
    _num("1-0:32.7.0.255", -1, VOLT),
)
_KAIFA_3PH = (
    *_KAIFA_HEAD,
    _num("1-0:31.7.0.255", -3, AMPERE),
    _num("1-0:51.7.0.255", -3, AMPERE),
    _num("1-0:71.7.0.255", -3, AMPERE),
    _num("1-0:32.7.0.255", -1, VOLT),
    _num("1-0:52.7.0.255", -1, VOLT),
    _num("1-0:72.7.0.255", -1, VOLT),
)
_KAIFA_ENERGY = (
    Field(FieldKind.CLOCK, "0-0:1.0.0.255"),
    _num("1-0:1.8.0.255", 0, WATT_HOUR),
    _num("1-0:2.8.0.255", 0, WATT_HOUR),
    _num("1-0:3.8.0.255", 0, VAR_HOUR),
    _num("1-0:4.8.0.255", 0, VAR_HOUR),
)
_KAIFA_ID = "KFM_001"

# Iskraemeco AM550 lists of the Slovenian distribution companies and the IE.5 list of HEP
# (Croatia), without OBIS codes (docs/protocol.md, "Values-only templates"). Element 2 of
# the 18- and 12-element lists ("16820005", "16820006", "UP_3f") repeats on different
# meters: it names the list, it is no meter id. Short ids such as "ISK84605887" repeat
# digits of the logical device name and are not published (they would look like a second
# meter number). Voltages 0.1 V, currents 0.01 A, power factor 0.001, energy Wh, power W.
_SI_VOLTS = tuple(_num(f"1-0:{c}.7.0.255", -1, VOLT) for c in (32, 52, 72))
_SI_AMPS = tuple(_num(f"1-0:{c}.7.0.255", -2, AMPERE) for c in (31, 51, 71))
_SI_POWER = (
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
    _num("1-0:3.7.0.255", 0, VAR),
    _num("1-0:4.7.0.255", 0, VAR),
)
_SI_INSTANT_18 = (
    _LDN,
    Field(FieldKind.LIST_ID),
    *_SI_POWER,
    *_SI_VOLTS,
    *_SI_AMPS,
    *(_num(f"1-0:{c}.7.0.255", 0, WATT) for c in (21, 41, 61, 22, 42, 62)),
)
_SI_ENERGY_12 = (
    _LDN,
    Field(FieldKind.LIST_ID),
    Field(FieldKind.ENUM, "0-0:96.3.10.255"),
    _text("0-0:96.14.0.255"),
    *(_num(f"1-0:{c}.8.{t}.255", 0, WATT_HOUR) for c in (1, 2) for t in (0, 1, 2)),
    _num("1-0:3.8.0.255", 0, VAR_HOUR),
    _num("1-0:4.8.0.255", 0, VAR_HOUR),
)
_SI_CELJE_12 = (_LDN, Field(FieldKind.LIST_ID), *_SI_VOLTS, *_SI_AMPS, *_SI_POWER)
_SHORT_ID = Field(FieldKind.TEXT)  # "ISK84605887": digits of the device name, not published
_SI_1PH_9 = (_LDN, _SHORT_ID, *_SI_POWER, _SI_VOLTS[0], _IGNORED, _IGNORED)
_SI_1PH_10 = (
    _LDN,
    _SHORT_ID,
    *_SI_POWER,
    _SI_VOLTS[0],
    _SI_AMPS[0],
    _num("1-0:21.7.0.255", 0, WATT),
    _num("1-0:22.7.0.255", 0, WATT),
)
_SI_3PH_9 = (
    _LDN,
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
    *(_num(f"1-0:{c}.8.{t}.255", 0, WATT_HOUR) for c in (1, 2) for t in (0, 1, 2)),
)
_SI_ENERGY_4 = (
    Field(FieldKind.DIGITS),  # last digits of the logical device name: not published
    _IGNORED,  # always 0 in the captures; no source says what it is
    _num("1-0:1.8.0.255", 0, WATT_HOUR),
    _num("1-0:2.8.0.255", 0, WATT_HOUR),
)
_HR_IE5_33 = (
    Field(FieldKind.DIGITS, "0-0:96.1.0.255"),
    Field(FieldKind.TIME, "0-0:0.9.1.255"),
    Field(FieldKind.DATE, "0-0:0.9.2.255"),
    *(_num(f"1-0:{c}.8.{t}.255", 0, WATT_HOUR) for c in (1, 2) for t in (0, 1, 2)),
    *(_num(f"1-0:{c}.8.0.255", 0, VAR_HOUR) for c in (5, 6, 7, 8)),
    _num("1-0:1.7.0.255", 0, WATT),
    _num("1-0:2.7.0.255", 0, WATT),
    _num("1-0:13.7.0.255", -3, None),
    *(_num(f"1-0:{c}.7.0.255", 0, WATT) for c in (21, 41, 61, 22, 42, 62)),
    *_SI_VOLTS,
    *_SI_AMPS,
    *(_IGNORED,) * 5,  # u32 17250, three arrays {u16 9400}, a boolean: undocumented
)
_LGZ = frozenset({"LGZ"})
_ISK = frozenset({"ISK"})

TEMPLATES: tuple[Template, ...] = (
    Template("im350", "im350", _IM350_12),
    Template("im350_short", "im350", _IM350_10),
    Template("kaifa_no_list2_3ph", "kaifa_no", _KAIFA_3PH, _KAIFA_ID),
    Template("kaifa_no_list2_1ph", "kaifa_no", _KAIFA_1PH, _KAIFA_ID),
    Template("kaifa_no_list3_3ph", "kaifa_no", (*_KAIFA_3PH, *_KAIFA_ENERGY), _KAIFA_ID),
    Template("kaifa_no_list3_1ph", "kaifa_no", (*_KAIFA_1PH, *_KAIFA_ENERGY), _KAIFA_ID),
    Template("kaifa_no_list1", "kaifa_no", (_num("1-0:1.7.0.255", 0, WATT),), after="kaifa_no"),
    Template("burgenland_e450", "at_e450", _BURGENLAND_14, flags=_LGZ),
    Template("at_e450_11", "at_e450", (*_AT_E450_11, _text("0-0:96.1.0.255")), flags=_LGZ),
    # Wiener Netze E450 and AM550 (optical port): the same nine values.
    Template("wienernetze_9", "wienernetze", _WIENER_NETZE_9, flags=_LGZ | _ISK),
    Template("si_instant_18", "si_am550", _SI_INSTANT_18, "16820005"),
    Template("si_energy_12", "si_am550", _SI_ENERGY_12, "16820006"),
    Template("si_celje_12", "si_am550", _SI_CELJE_12, "UP_3f"),
    Template("si_1ph_10", "si_am550", _SI_1PH_10),
    Template("si_1ph_9", "si_am550", _SI_1PH_9),
    Template("si_3ph_9", "si_am550", _SI_3PH_9),
    Template("si_energy_4", "si_am550", _SI_ENERGY_4),
    Template("hr_ie5_33", "hr_ie5", _HR_IE5_33),
)


def is_push_setup_name(value: object) -> bool:
    """Tell the logical name of a push setup (class 40), 0-x:25.9.0."""
    return type(value) is bytes and len(value) == 6 and value[0] == 0 and value[2:4] == b"\x19\x09"


def _is_text(value: object) -> bool:
    return isinstance(value, bytes | str)


def _ascii(value: object) -> str | None:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return text if isinstance(text, str) and text.isascii() and text.isprintable() else None


def _is_number(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool | DlmsEnum)) or isinstance(
        value, float
    )


def field_accepts(field: Field, value: object, list_id: str | None = None) -> bool:
    """Tell whether `value` has the shape the field expects."""
    kind = field.kind
    if kind is FieldKind.NUMBER:
        return _is_number(value)
    if kind is FieldKind.TEXT:
        return _is_text(value)
    if kind is FieldKind.CLOCK:
        return isinstance(value, CosemDateTime) or (type(value) is bytes and len(value) == 12)
    if kind is FieldKind.TIME:
        return isinstance(value, CosemTime) or (type(value) is bytes and len(value) == 4)
    if kind is FieldKind.DATE:
        return isinstance(value, CosemDate) or (type(value) is bytes and len(value) == 5)
    if kind is FieldKind.PUSH_SETUP:
        return is_push_setup_name(value)
    if kind is FieldKind.IGNORED:
        return True
    if kind is FieldKind.ENUM:
        return isinstance(value, DlmsEnum)
    if kind is FieldKind.NAME:
        name = _ascii(value)
        return name is not None and len(name) > 3 and name[:3].isalpha()
    if kind is FieldKind.DIGITS:
        digits = _ascii(value)
        return digits is not None and digits.isdigit()
    # LIST_ID
    text = value.decode("latin-1") if type(value) is bytes else value
    return list_id is not None and text == list_id


def _matches(template: Template, body: Sequence[object]) -> bool:
    return all(
        field_accepts(field, value, template.list_id)
        for field, value in zip(template.fields, body, strict=True)
    )


def find_template(
    body: Sequence[object],
    *,
    flag: str | None,
    seen: Collection[str],
    discriminated: bool,
) -> Template | None:
    """Return the template whose signature the body carries, or None.

    `discriminated` selects the group: templates led by a push-setup LN or list id, or
    the weaker ones matched by count and types alone. `flag` is the system-title FLAG
    (None for plaintext pushes: any template may apply). `seen` holds the families this
    connection already sent. Raises DecodeError(MALFORMED) when a body carries a
    template's discriminator and element count but not its types.
    """
    if not body:
        return None
    broken: Template | None = None
    for template in _BY_LENGTH.get(len(body), ()):
        if template.after is not None:
            # No discriminator of its own: only after its family, with the strong group.
            if not discriminated or template.after not in seen:
                continue
        elif template.discriminated != discriminated:
            continue
        if flag is not None and template.flags is not None and flag not in template.flags:
            continue
        at = template.discriminator
        if at is not None and not field_accepts(template.fields[at], body[at], template.list_id):
            continue
        if _matches(template, body):
            return template
        if template.discriminated:
            broken = template
    if broken is not None:
        raise DecodeError(
            ErrorKind.MALFORMED,
            f"body has the {broken.name} signature but element types do not match it",
        )
    return None


# Templates by element count, in TEMPLATES order (one dict lookup instead of a scan).
_BY_LENGTH: dict[int, tuple[Template, ...]] = {}
for _template in TEMPLATES:
    _BY_LENGTH[len(_template.fields)] = (*_BY_LENGTH.get(len(_template.fields), ()), _template)
