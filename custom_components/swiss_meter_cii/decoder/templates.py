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
* IM350/AM550 at Wiener Netze, Kärnten, Wels (12 and 10 elements, push setup 0-x:25.9.0
  first): verified on the public IM350 vector and on SHRDZM's AM550/Wels samples.
* Netz Burgenland E450 (14): verified on the public vector; the three trailing values are
  most likely the phase angles 81.7.40/51/62 (Austrian adapter format "Variant 6"); their
  0.1° scaling is inferred from magnitudes and not documented (unverified).
* Austrian E450 with 11 values (Tasmota issue #23027): order from that issue; current
  scaling 0.01 A inferred from magnitudes (U x I matches P).
* Wiener Netze E450 with 9 values (date-time + 8 registers, tasmota-sml-parser #5): order
  A+, A-, R+, R-, P+, P-, Q+, Q- as in Wiener Netze's IM350 list; magnitudes agree
  (unverified against a document).
* Norwegian Kaifa "KFM_001" lists 1/2/3, 1- and 3-phase (amshan han/kaifa.py, amsreader
  Kaifa.h; vectors kaifa-ma304h3e-*): currents 10^-3 A, voltages 10^-1 V. List 1 is a
  lone integer; it is only accepted on a connection that already sent a KFM_001 list.
* Not covered: the SIL Lausanne consumer message and the Swiss AM550 15-value list
  (amsreader #1001): neither list is public. A SIL meter that sends its push_object_list
  is decoded by the generic path in layouts.py.
* The Netz NÖ documentation example is not values-only: its plaintext carries OBIS codes
  (flat OBIS/value/scaler_unit triples) and is decoded by the OBIS walker.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Field:
    """One position of a values-only list."""

    kind: FieldKind
    obis: str | None = None  # 'A-B:C.D.E.F'; None only for PUSH_SETUP
    scaler: int | None = None  # documented scaler; None = model defaults
    unit: str | None = None  # documented unit; None = catalogue default


@dataclass(frozen=True, slots=True)
class Template:
    """A values-only list: its fields in order plus what may discriminate it."""

    name: str  # layout id suffix: "template:<name>"
    family: str  # lists of one operator/meter family (for `after`)
    fields: tuple[Field, ...]
    list_id: str | None = None  # value of the LIST_ID field
    flags: frozenset[str] | None = None  # system-title FLAGs it may come from (None = any)
    after: str | None = None  # family that must have been seen on this connection first

    @property
    def discriminated(self) -> bool:
        """True when the first field identifies the list (push-setup LN or list id)."""
        return self.fields[0].kind in (FieldKind.PUSH_SETUP, FieldKind.LIST_ID)


def _num(obis: str, scaler: int | None = None, unit: str | None = None) -> Field:
    return Field(FieldKind.NUMBER, obis, scaler, unit)


def _text(obis: str) -> Field:
    return Field(FieldKind.TEXT, obis)


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
_WIENER_NETZE_E450_9 = (
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
_LGZ = frozenset({"LGZ"})

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
    Template("wienernetze_e450", "at_e450", _WIENER_NETZE_E450_9, flags=_LGZ),
)


def is_push_setup_name(value: object) -> bool:
    """Tell the logical name of a push setup (class 40), 0-x:25.9.0."""
    return type(value) is bytes and len(value) == 6 and value[0] == 0 and value[2:4] == b"\x19\x09"


def _is_text(value: object) -> bool:
    return isinstance(value, bytes | str)


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
    for template in TEMPLATES:
        if template.after is not None:
            # No discriminator of its own: only after its family, with the strong group.
            if not discriminated or template.after not in seen:
                continue
        elif template.discriminated != discriminated:
            continue
        if flag is not None and template.flags is not None and flag not in template.flags:
            continue
        if len(template.fields) != len(body):
            continue
        if template.discriminated and not field_accepts(
            template.fields[0], body[0], template.list_id
        ):
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
