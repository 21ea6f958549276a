"""Notification body -> OBIS readings: layout detection, text/time conversion, scaling.

The body arrives as parsed by the A-XDR parser (values.py shapes). Layouts, tried in
this order (docs/protocol.md, "Push body layouts"):

1. "push_object_list": IDIS self-describing pushes (Swiss E450/E570/E360/AM550): a
   structure whose first element is the push setup's capture-object list; value i
   belongs to capture object i. Compiled once per push setup and list, then reused.
2. Values-only templates with a discriminator (IM350/AM550 Austria led by the push-setup
   name, Norwegian Kaifa "KFM_001" lists): templates.py.
3. "obis_structures" / "flat_obis": self-describing entries: {OBIS, value[, scaler_unit]}
   structures (Kaifa AT, Aidon arrays), flat OBIS/value pairs and OBIS/value/scaler_unit
   triples (EVN/Netz NÖ, Sagemcom, Austrian E450, Kamstrup), optionally led by a list id
   or a date-time and closed by a lone meter number.
4. Values-only templates without a discriminator (Austrian E450 variants).

Anything else is `unsupported_layout` with the structure attached for diagnostics; a
known layout whose content contradicts itself is `malformed`. Scalers: see scaling.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Final, TypeIs
from zoneinfo import ZoneInfo

from .catalogue import CAPTURE_TIME_ATTRIBUTE, Quantity, describe
from .errors import DecodeError, ErrorKind
from .explain import signature
from .identity import flag_of, resolve
from .models import AUTO, MODEL_IDS
from .obis import attribute_key, key_of
from .push import Reading, Value
from .scaling import (
    default_scaler,
    has_plausibility,
    normalize_overrides,
    override_for,
    plausible_scaler,
    scale,
    scale_float,
)
from .templates import FieldKind, Template, find_template
from .units import unit_from_dlms
from .values import (
    BitString,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DlmsEnum,
    Long64,
)

DEFAULT_TZ: Final = ZoneInfo("Europe/Zurich")

# Keys for values that carry no OBIS code in the body.
CLOCK_OBIS: Final = "0-0:1.0.0.255"
LIST_ID_OBIS: Final = "1-1:0.2.129.255"  # NVE "OBIS list version identifier"
METER_NUMBER_OBIS: Final = "0-0:96.1.0.255"  # trailing meter number (EVN / Netz NÖ lists)

# Slot kinds (plain ints: compared on every value of every push).
_VALUE: Final = 0
_CLOCK: Final = 1
_TIME: Final = 2
_DATE: Final = 3
_CAPTURE: Final = 4  # capture time (attribute 5) of an extended register: never the push clock
MBUS_CLIENT_CLASS: Final = 72  # M-Bus client setup of a sub-meter channel
MBUS_DEVICE_TYPE_ATTRIBUTE: Final = 9

# Scaler-unit parts (capture data_index of attribute 3).
_SU_WHOLE: Final = 0
_SU_SCALER: Final = 1
_SU_UNIT: Final = 2

_PLAN_CACHE_MAX: Final = 16
_SLOT_CACHE_MAX: Final = 1024
_MAX_SCALER: Final = 127  # int8; anything larger cannot come from a real meter


class _Skip:
    """Marker for value shapes that have no sensor representation (arrays, structures)."""


_SKIP: Final = _Skip()


@dataclass(frozen=True, slots=True)
class LayoutResult:
    """Readings of one body plus what the layout step learned about it."""

    values: dict[str, Reading]  # 'A-B:C.D.E.F' -> Reading(value, HA unit or None), scaled
    layout: str  # e.g. "push_object_list", "obis_structures", "flat_obis", "template:im350"
    model: str  # resolved model id (decoder/models.py) or "auto" when undecidable
    push_setup: str | None = None  # OBIS of the push setup when the push names it
    timestamp: datetime | None = None  # clock carried in the body, aware


class _Slot:
    """How to turn one body position into a reading; resolved once per list, then reused.

    `scaler` is the fixed scaler (user override, template or model default); None means
    "take it from the pushed scaler_unit" or, with `auto`, "decide by plausibility".
    The last raw value and its reading are memoised: counters repeat between pushes.
    """

    __slots__ = (
        "auto",
        "index",
        "key",
        "kind",
        "last_raw",
        "last_reading",
        "last_su",
        "last_type",
        "override",
        "quantity",
        "scaler",
        "su_index",
        "su_part",
        "unit",
        "whole",
    )

    def __init__(
        self,
        index: int,
        key: str,
        kind: int,
        quantity: Quantity,
        scaler: int | None,
        override: int | None,
        auto: bool,
        unit: str | None,
        su_index: int = -1,
        su_part: int = _SU_WHOLE,
        whole: bool = False,
    ) -> None:
        self.index = index
        self.whole = whole  # capture attribute 0: the value is {LN, value[, scaler_unit]}
        self.key = key
        self.kind = kind
        self.quantity = quantity
        self.scaler = scaler
        self.override = override
        self.auto = auto
        self.unit = unit
        self.su_index = su_index
        self.su_part = su_part
        self.last_raw: object = _SKIP
        self.last_su: object = None
        self.last_type: type = type(None)
        self.last_reading: Reading | None = None


@dataclass(slots=True)
class _Plan:
    """A compiled list: slots in body order plus the result's constant fields."""

    layout: str
    model: str
    slots: tuple[_Slot, ...]


@dataclass(slots=True)
class _CachedPushList:
    objects: list[object]
    flag: str | None
    plan: _Plan


@dataclass(slots=True)
class _Walk:
    """Entries found by the OBIS walker: (logical name, value, scaler_unit or None)."""

    entries: list[tuple[bytes, object, object]]
    nested: int
    list_id: str | None
    timestamp: object
    meter_number: object


def _is_obis(value: object) -> TypeIs[bytes]:
    """Tell a 6-byte logical name (A 0..15 rules out ASCII text of the same length)."""
    return type(value) is bytes and len(value) == 6 and value[0] <= 15


def _is_int(value: object) -> TypeIs[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_scaler_unit(value: object) -> TypeIs[tuple[int, int]]:
    """Tell {integer scaler, enum unit} (a 2-element structure); hot in the OBIS walker."""
    if type(value) is not tuple or len(value) != 2:
        return False
    scaler, unit = value
    kind = type(unit)
    return (
        type(scaler) is int
        and -_MAX_SCALER - 1 <= scaler <= _MAX_SCALER
        and (kind is DlmsEnum or kind is int)
        and 0 <= unit <= 255
    )


def _is_capture_definition(value: object) -> TypeIs[tuple[int, bytes, int, int]]:
    """{class_id, logical_name, attribute_index, data_index} (Blue Book capture object)."""
    return (
        isinstance(value, tuple)
        and len(value) == 4
        and _is_int(value[0])
        and type(value[1]) is bytes
        and len(value[1]) == 6
        and _is_int(value[2])
        and _is_int(value[3])
    )


def _is_date_time(value: object) -> bool:
    """Tell a COSEM date-time: CosemDateTime or a 12-byte octet-string with a sane date."""
    if isinstance(value, CosemDateTime):
        return True
    if type(value) is not bytes or len(value) != 12:
        return False
    month, day = value[2], value[3]
    return (1 <= month <= 12 or month >= 0xFD) and (1 <= day <= 31 or day >= 0xFD)


def _printable(raw: bytes) -> str | None:
    """ASCII text without trailing NULs/spaces, or None when the bytes are not text."""
    stripped = raw.rstrip(b"\x00 ")
    if not stripped.isascii():
        return None
    text = stripped.decode("ascii")
    return text if text.isprintable() else None


def _is_text(value: object) -> bool:
    if type(value) is str:
        return True
    return type(value) is bytes and _printable(value) is not None


def _to_text(value: object) -> str:
    """Octet-string or string -> str: printable ASCII as text, anything else upper-case hex."""
    if isinstance(value, str):
        return value.rstrip("\x00 ")
    if isinstance(value, bytes):
        text = _printable(value)
        return text if text is not None else value.hex().upper()
    return str(value)


def _kind_for(name: bytes) -> int:
    """Slot kind implied by a logical name: the clock and the separate time/date objects."""
    if name[0] == 0 and name[2:5] == b"\x01\x00\x00":
        return _CLOCK
    if name[2:4] == b"\x00\x09" and name[4] in (1, 2):
        return _TIME if name[4] == 1 else _DATE
    return _VALUE


class LayoutDecoder:
    """Per-connection layout step: detects the layout, caches compiled lists, scales.

    Keeps state across pushes: compiled push_object_lists per push setup, the scaler
    learned for voltages when the model is unknown, and the lists this meter has sent.
    """

    def __init__(
        self,
        *,
        model: str = AUTO,
        scaler_overrides: Mapping[str, int] | None = None,
        local_tz: tzinfo | None = None,
        country: str | None = None,
    ) -> None:
        """Configure for one meter; ValueError for an unknown model or a bad override.

        `country` (ISO 3166 alpha-2, Home Assistant's own setting) decides the rules
        that differ between countries for the same list: Kamstrup energy resolution.
        """
        if model not in MODEL_IDS:
            raise ValueError(f"unknown meter model {model!r}")
        self._model = model
        self._country = (country or "").upper()
        self._overrides = normalize_overrides(scaler_overrides)
        self._tz: tzinfo = local_tz if local_tz is not None else DEFAULT_TZ
        self._push_plans: dict[str | None, _CachedPushList] = {}
        self._template_plans: dict[tuple[str, str | None], _Plan] = {}
        # profile -> (slots without pushed scaler, slots with one), keyed by logical name
        self._walk_slots: dict[str, tuple[dict[bytes, _Slot], dict[bytes, _Slot]]] = {}
        self._names: dict[bytes, str] = {}
        self._learned: dict[Quantity, int] = {}
        # List families this connection sent; a configured Kaifa meter implies its family,
        # so that a lone list 1 (active power, no code) is read before any list 2
        # (amsreader reads list 1 only for a configured Kaifa meter, too).
        self._seen: set[str] = {"kaifa_no"} if model.startswith("kaifa_") else set()

    # ------------------------------------------------------------------ entry point

    def decode(self, body: object, *, system_title: bytes | None) -> LayoutResult:
        """Return the readings of one body; DecodeError for unknown or broken layouts."""
        try:
            return self._decode(body, system_title)
        except DecodeError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, ArithmeticError) as err:
            # A shape no check above anticipated: report it, never crash the reader.
            raise DecodeError(
                ErrorKind.MALFORMED, f"body could not be interpreted ({type(err).__name__})"
            ) from err

    def _decode(self, body: object, system_title: bytes | None) -> LayoutResult:
        flag = flag_of(system_title) if system_title else None
        if isinstance(body, tuple) and body and isinstance(body[0], list):
            objects = body[0]
            if objects and _is_capture_definition(objects[0]):
                return self._decode_push_list(body, objects, flag)
        if isinstance(body, tuple | list) and body:
            template = find_template(body, flag=flag, seen=self._seen, discriminated=True)
            if template is not None:
                return self._decode_template(template, body, flag)
            walk = self._walk(body)
            if walk is not None:
                return self._decode_walk(walk, flag)
            template = find_template(body, flag=flag, seen=self._seen, discriminated=False)
            if template is not None:
                return self._decode_template(template, body, flag)
            shape = "structure" if isinstance(body, tuple) else "array"
            detail = f"no known layout for a {shape} of {len(body)} elements {signature(body)}"
        else:
            detail = f"no known layout for a body of type {type(body).__name__}"
        raise DecodeError(ErrorKind.UNSUPPORTED_LAYOUT, detail, structure=body)

    # ------------------------------------------------------------------ helpers

    def _name(self, raw: bytes) -> str:
        """'A-B:C.D.E.F' of a logical name, formatted once per connection."""
        name = self._names.get(raw)
        if name is None:
            if len(self._names) >= _SLOT_CACHE_MAX:
                self._names.clear()
            name = self._names[raw] = key_of(raw)
        return name

    def _slot(
        self,
        index: int,
        key: str,
        kind: int,
        profile: str,
        *,
        su_index: int = -1,
        su_part: int = _SU_WHOLE,
        pushed_scaler: bool = False,
        fixed_scaler: int | None = None,
        fixed_unit: str | None = None,
    ) -> _Slot:
        """Resolve scaler and unit sources for one code (see scaling.py for the order)."""
        override = override_for(self._overrides, key)
        quantity, scaler, auto, unit = _resolve(
            key, profile, override, pushed_scaler, fixed_scaler, fixed_unit
        )
        return _Slot(index, key, kind, quantity, scaler, override, auto, unit, su_index, su_part)

    def _auto_scaler(self, quantity: Quantity, raw: int) -> int:
        """Plausibility scaler; out-of-band values reuse the last in-band decision."""
        scaler = plausible_scaler(quantity, raw)
        if scaler is None:
            return self._learned.get(quantity, 0)
        self._learned[quantity] = scaler
        return scaler

    def _scaler_unit(self, slot: _Slot, su: object) -> tuple[int | None, str | None]:
        """(scaler, unit) from a pushed scaler_unit, honouring the user's override."""
        part = slot.su_part
        if part == _SU_WHOLE:
            if not _is_scaler_unit(su):
                raise DecodeError(
                    ErrorKind.MALFORMED, f"scaler_unit of {slot.key} is not {{integer, enum}}"
                )
            scaler: int | None = su[0]
            unit = unit_from_dlms(su[1])
        elif _is_int(su) and -_MAX_SCALER - 1 <= su <= 255:
            scaler, unit = (
                (su, slot.unit) if part == _SU_SCALER else (slot.scaler, unit_from_dlms(su))
            )
        else:
            raise DecodeError(ErrorKind.MALFORMED, f"scaler or unit of {slot.key} is no integer")
        if slot.override is not None:
            scaler = slot.override
        return scaler, unit

    def _reading(self, slot: _Slot, raw: object, su: object) -> Reading | None:
        """Return one reading (None = no sensor representation), memoised per slot.

        Counters and identifiers repeat from push to push: an unchanged raw value (same
        type, same pushed scaler_unit) reuses the previous immutable Reading.
        """
        if (
            raw == slot.last_raw
            and type(raw) is slot.last_type
            and su == slot.last_su
            and not slot.auto
        ):
            return slot.last_reading
        reading = self._convert(slot, raw, su)
        slot.last_raw = raw
        slot.last_type = type(raw)
        slot.last_su = su
        slot.last_reading = reading
        return reading

    def _convert(self, slot: _Slot, raw: object, su: object) -> Reading | None:
        """Convert one raw value: integers are scaled, the rest becomes text or time."""
        raw_type = type(raw)
        if raw_type is int or raw_type is Long64:
            number = int(raw)  # type: ignore[call-overload]
            if su is None:
                scaler, unit = slot.scaler, slot.unit
            else:
                scaler, unit = self._scaler_unit(slot, su)
            if scaler is None:
                scaler = self._auto_scaler(slot.quantity, number) if slot.auto else 0
            return Reading(number if scaler == 0 else scale(number, scaler), unit)
        kind = slot.kind
        if kind in (_CLOCK, _CAPTURE):
            if isinstance(raw, CosemDateTime):
                return Reading(raw.to_datetime(self._tz), None)
            if type(raw) is bytes and _is_date_time(raw):
                return Reading(CosemDateTime.from_bytes(raw).to_datetime(self._tz), None)
        elif kind == _TIME and type(raw) is bytes and len(raw) == 4:
            raw = CosemTime.from_bytes(raw)
        elif kind == _DATE and type(raw) is bytes and len(raw) == 5:
            raw = CosemDate.from_bytes(raw)
        value = self._plain(raw)
        if isinstance(value, _Skip):
            return None
        if type(value) is float:
            scaler, unit = slot.scaler, slot.unit
            if su is not None:
                scaler, unit = self._scaler_unit(slot, su)
            return Reading(scale_float(value, scaler or 0), unit)
        return Reading(value, None)

    def _plain(self, raw: object) -> Value | _Skip:
        """Non-integer shapes -> reading values (text, time, bool, float) or _SKIP."""
        if isinstance(raw, bytes | str):
            return _to_text(raw)
        if raw is None or isinstance(raw, bool | float):
            return raw
        if isinstance(raw, int):  # DlmsEnum and other int subclasses: never scaled
            return int(raw)
        if isinstance(raw, CosemDateTime):
            return raw.to_datetime(self._tz)
        if isinstance(raw, CosemDate):
            day = raw.to_date()
            return day.isoformat() if day is not None else None
        if isinstance(raw, CosemTime):
            clock = raw.to_time()
            return clock.isoformat() if clock is not None else None
        if isinstance(raw, BitString):
            return raw.data.hex().upper()
        return _SKIP

    def _run(self, plan: _Plan, body: Sequence[object], push_setup: str | None) -> LayoutResult:
        """Execute a compiled plan over a body of the planned size."""
        values: dict[str, Reading] = {}
        timestamp: datetime | None = None
        time_raw: object = None
        date_raw: object = None
        for slot in plan.slots:
            raw = body[slot.index]
            su = body[slot.su_index] if slot.su_index >= 0 else None
            if slot.whole:
                raw, su = self._unpack_whole(slot, raw)
            reading = self._reading(slot, raw, su)
            if reading is None:
                continue
            values[slot.key] = reading
            if slot.kind == _CLOCK and timestamp is None and isinstance(reading.value, datetime):
                timestamp = reading.value
            elif slot.kind == _TIME:
                time_raw = raw
            elif slot.kind == _DATE:
                date_raw = raw
        if timestamp is None and time_raw is not None and date_raw is not None:
            timestamp = self._combine(time_raw, date_raw)
        return LayoutResult(values, plan.layout, plan.model, push_setup, timestamp)

    def _unpack_whole(self, slot: _Slot, raw: object) -> tuple[object, object]:
        """Attribute 0: {logical_name, value[, scaler_unit, ...]} -> (value, scaler_unit)."""
        if not isinstance(raw, tuple) or len(raw) < 2:
            raise DecodeError(
                ErrorKind.MALFORMED, f"whole object {slot.key} is not a structure of attributes"
            )
        su = raw[2] if len(raw) >= 3 and _is_scaler_unit(raw[2]) else None
        return raw[1], su

    def _combine(self, time_raw: object, date_raw: object) -> datetime | None:
        """Timestamp from a separate time (0.9.1) and date (0.9.2), as local wall time."""
        clock = time_raw if isinstance(time_raw, CosemTime) else None
        if type(time_raw) is bytes and len(time_raw) == 4:
            clock = CosemTime.from_bytes(time_raw)
        day = date_raw if isinstance(date_raw, CosemDate) else None
        if type(date_raw) is bytes and len(date_raw) == 5:
            day = CosemDate.from_bytes(date_raw)
        if clock is None or day is None:
            return None
        wall_time, wall_date = clock.to_time(), day.to_date()
        if wall_time is None or wall_date is None:
            return None
        return datetime.combine(wall_date, wall_time).replace(tzinfo=self._tz)

    # ------------------------------------------------------------------ push_object_list

    def _decode_push_list(
        self, body: tuple[object, ...], objects: list[object], flag: str | None
    ) -> LayoutResult:
        if len(body) != len(objects):
            raise DecodeError(
                ErrorKind.MALFORMED,
                f"push_object_list names {len(objects)} objects but the body has {len(body)}",
            )
        setup = self._setup_name(objects)
        cached = self._push_plans.get(setup)
        if cached is None or cached.flag != flag or cached.objects != objects:
            plan = self._compile_push_list(body, objects, flag, setup)
            if len(self._push_plans) >= _PLAN_CACHE_MAX and setup not in self._push_plans:
                self._push_plans.clear()
            self._push_plans[setup] = _CachedPushList(list(objects), flag, plan)
        else:
            plan = cached.plan
        return self._run(plan, body, setup)

    def _setup_name(self, objects: list[object]) -> str | None:
        """OBIS of the push setup the list belongs to (its class 40 entry)."""
        for entry in objects:
            if _is_capture_definition(entry) and entry[0] == 40:
                return self._name(entry[1])
        return None

    def _compile_push_list(
        self, body: tuple[object, ...], objects: list[object], flag: str | None, setup: str | None
    ) -> _Plan:
        """Capture objects -> slots: values by attribute 2, scalers by attribute 3."""
        definitions: list[tuple[int, bytes, int, int]] = []
        for position, entry in enumerate(objects):
            if not _is_capture_definition(entry):
                raise DecodeError(
                    ErrorKind.MALFORMED,
                    f"push_object_list entry {position + 1} is not "
                    "{class_id, logical_name, attribute_index, data_index}",
                )
            definitions.append((entry[0], entry[1], entry[2], entry[3]))

        # Attribute 3 of a register (class 3/4) or 4 of a demand register (class 5).
        scalers: dict[bytes, tuple[int, int]] = {}
        for position, (class_id, name, attribute, data_index) in enumerate(definitions):
            if (class_id in (3, 4) and attribute == 3) or (class_id == 5 and attribute == 4):
                part = data_index if data_index in (_SU_SCALER, _SU_UNIT) else _SU_WHOLE
                scalers[name] = (position, part)

        if flag is None:
            flag = self._ldn_flag_in_list(body, definitions)
        meter = resolve(self._model, flag, wide_registers=any(type(v) is Long64 for v in body))
        model, profile = meter.model, meter.profile
        slots: list[_Slot] = []
        for position, (class_id, name, attribute, _data_index) in enumerate(definitions):
            if class_id in (40, 7) or attribute == 1:
                continue  # push setup itself, profile buffers, logical names
            key = self._name(name)
            if attribute == 0:
                kind = _CLOCK if class_id == 8 else _kind_for(name)
                slot = self._slot(position, key, kind, profile, pushed_scaler=class_id in (3, 4))
                slot.whole = True
                slots.append(slot)
            elif attribute == 2:
                kind = _CLOCK if class_id == 8 else _kind_for(name)
                su_index, su_part = scalers.get(name, (-1, _SU_WHOLE))
                slots.append(
                    self._slot(
                        position,
                        key,
                        kind,
                        profile,
                        su_index=su_index,
                        su_part=su_part,
                        pushed_scaler=su_index >= 0 and su_part != _SU_UNIT,
                    )
                )
            elif class_id == MBUS_CLIENT_CLASS and attribute == MBUS_DEVICE_TYPE_ATTRIBUTE:
                # The M-Bus client's device type (the medium byte) is the value of 0-n:24.1.0
                # (docs/protocol.md, "M-Bus sub-meters").
                slots.append(self._slot(position, key, _VALUE, profile))
            elif attribute == CAPTURE_TIME_ATTRIBUTE and class_id == 4:
                # Its own reading beside the value (docs/protocol.md, "M-Bus sub-meters").
                capture_key = attribute_key(key, attribute)
                slots.append(self._slot(position, capture_key, _CAPTURE, profile))
        return _Plan("push_object_list", model, tuple(slots))

    @staticmethod
    def _ldn_flag_in_list(
        body: tuple[object, ...], definitions: list[tuple[int, bytes, int, int]]
    ) -> str | None:
        """FLAG from the pushed logical device name (0-0:42.0.0) of a plaintext push."""
        for position, (_class_id, name, attribute, _index) in enumerate(definitions):
            if attribute == 2 and name[2:5] == b"\x2a\x00\x00":
                return flag_of(body[position])
        return None

    # ------------------------------------------------------------------ templates

    def _decode_template(
        self, template: Template, body: Sequence[object], flag: str | None
    ) -> LayoutResult:
        self._seen.add(template.family)
        plan = self._template_plans.get((template.name, flag))
        if plan is None:
            plan = self._compile_template(template, flag)
            self._template_plans[(template.name, flag)] = plan
        first = body[0]
        setup = None
        if template.fields[0].kind is FieldKind.PUSH_SETUP and type(first) is bytes:
            setup = self._name(first)
        return self._run(plan, body, setup)

    def _compile_template(self, template: Template, flag: str | None) -> _Plan:
        meter = resolve(self._model, flag)
        model, profile = meter.model, meter.profile
        slots: list[_Slot] = []
        kinds = {
            FieldKind.CLOCK: _CLOCK,
            FieldKind.TIME: _TIME,
            FieldKind.DATE: _DATE,
        }
        for position, field in enumerate(template.fields):
            if field.obis is None:  # the push setup's name: not a value
                continue
            slots.append(
                self._slot(
                    position,
                    field.obis,
                    kinds.get(field.kind, _VALUE),
                    profile,
                    fixed_scaler=field.scaler,
                    fixed_unit=field.unit,
                )
            )
        return _Plan(f"template:{template.name}", model, tuple(slots))

    # ------------------------------------------------------------------ OBIS walker

    def _walk(self, body: Sequence[object]) -> _Walk | None:
        """Find {OBIS, value[, scaler_unit]} entries; None when the body has none.

        Raises MALFORMED when at least two entries were found and then the body stops
        making sense (a code without value, a broken scaler_unit, a stray element).
        """
        count = len(body)
        position = 0
        list_id: str | None = None
        timestamp: object = None
        meter_number: object = None
        if count > 1 and _starts_entry(body[1]):
            first = body[0]
            if _is_date_time(first):
                timestamp, position = first, 1
            elif not _is_obis(first) and _is_text(first):
                list_id, position = _to_text(first), 1
        entries: list[tuple[bytes, object, object]] = []
        nested = 0
        while position < count:
            item = body[position]
            if isinstance(item, tuple | list) and len(item) in (2, 3) and _is_obis(item[0]):
                su = item[2] if len(item) == 3 else None
                if su is not None and not _is_scaler_unit(su):
                    return self._walk_failed(entries, f"entry {position + 1} has no scaler_unit")
                entries.append((item[0], item[1], su))
                nested += 1
                position += 1
            elif _is_obis(item):
                if position + 1 >= count:
                    return self._walk_failed(entries, "the last OBIS code has no value")
                value = body[position + 1]
                if position + 2 < count and _is_scaler_unit(body[position + 2]):
                    entries.append((item, value, body[position + 2]))
                    position += 3
                else:
                    entries.append((item, value, None))
                    position += 2
            elif item is None and entries and position + 1 < count and body[position + 1] is None:
                # Null code, null value: single-phase Kamstrup meters keep the three-phase
                # list and send this pair for each phase they lack (docs/protocol.md,
                # "Push body layouts").
                position += 2
            elif position == count - 1 and entries and isinstance(item, bytes | str):
                meter_number = item
                position += 1
            else:
                return self._walk_failed(entries, f"element {position + 1} belongs to no OBIS code")
        if not entries:
            return None
        return _Walk(entries, nested, list_id, timestamp, meter_number)

    @staticmethod
    def _walk_failed(entries: list[tuple[bytes, object, object]], why: str) -> None:
        if len(entries) >= 2:
            raise DecodeError(ErrorKind.MALFORMED, f"OBIS list is inconsistent: {why}")

    def _walk_tables(self, profile: str) -> tuple[dict[bytes, _Slot], dict[bytes, _Slot]]:
        """Walker slots of one scaler profile: (without pushed scaler, with one)."""
        tables = self._walk_slots.get(profile)
        if tables is None or len(tables[0]) + len(tables[1]) >= _SLOT_CACHE_MAX:
            tables = self._walk_slots[profile] = ({}, {})
        return tables

    def _walk_slot(
        self, table: dict[bytes, _Slot], name: bytes, profile: str, pushed: bool
    ) -> _Slot:
        """Slot of one logical name, compiled on first sight."""
        slot = table.get(name)
        if slot is None:
            key = self._name(name)
            slot = table[name] = self._slot(-1, key, _kind_for(name), profile, pushed_scaler=pushed)
        return slot

    def _decode_walk(self, walk: _Walk, flag: str | None) -> LayoutResult:
        if flag is None:
            for name, value, _su in walk.entries:
                if name[2:5] == b"\x2a\x00\x00":
                    flag = flag_of(value)
                    break
        meter = resolve(self._model, flag, list_id=walk.list_id, country=self._country)
        model, profile = meter.model, meter.profile
        tables = self._walk_tables(profile)
        values: dict[str, Reading] = {}
        timestamp: datetime | None = None
        if walk.list_id is not None:
            values[LIST_ID_OBIS] = Reading(walk.list_id, None)
        if walk.timestamp is not None:
            clock = self._walk_slot(tables[0], _CLOCK_NAME, profile, False)
            stamp = self._reading(clock, walk.timestamp, None)
            if stamp is not None:
                values[CLOCK_OBIS] = stamp
                if isinstance(stamp.value, datetime):
                    timestamp = stamp.value
        time_raw: object = None
        date_raw: object = None
        plain, pushed = tables
        for name, raw, su in walk.entries:
            if su is None:
                slot = plain.get(name) or self._walk_slot(plain, name, profile, False)
            else:
                slot = pushed.get(name) or self._walk_slot(pushed, name, profile, True)
            reading = self._reading(slot, raw, su)
            if reading is None:
                continue
            values[slot.key] = reading
            if slot.kind == _CLOCK and isinstance(reading.value, datetime):
                timestamp = reading.value
            elif slot.kind == _TIME:
                time_raw = raw
            elif slot.kind == _DATE:
                date_raw = raw
        if walk.meter_number is not None:
            values[METER_NUMBER_OBIS] = Reading(_to_text(walk.meter_number), None)
        if timestamp is None and time_raw is not None and date_raw is not None:
            timestamp = self._combine(time_raw, date_raw)
        layout = "obis_structures" if walk.nested else "flat_obis"
        return LayoutResult(values, layout, model, None, timestamp)


_CLOCK_NAME: Final = b"\x00\x00\x01\x00\x00\xff"


@lru_cache(maxsize=4096)
def _resolve(
    key: str,
    profile: str,
    override: int | None,
    pushed_scaler: bool,
    fixed_scaler: int | None,
    fixed_unit: str | None,
) -> tuple[Quantity, int | None, bool, str | None]:
    """(quantity, fixed scaler, decide by plausibility, unit) of one code; a pure function.

    Cached for the process like the catalogue it reads: a new connection (or a one-shot
    decode) of a meter seen before compiles its lists without resolving every code again.
    """
    info = describe(key)
    scaler = override
    auto = False
    if scaler is None and not pushed_scaler:
        scaler = fixed_scaler
        if scaler is None:
            scaler = default_scaler(profile, info.quantity)
        if scaler is None:
            auto = has_plausibility(info.quantity)
            scaler = None if auto else 0
    unit = fixed_unit if fixed_unit is not None else info.unit
    return info.quantity, scaler, auto, unit


def _starts_entry(value: object) -> bool:
    """Tell an OBIS code or an {OBIS, ...} structure (the start of an entry)."""
    if _is_obis(value):
        return True
    return isinstance(value, tuple | list) and len(value) in (2, 3) and _is_obis(value[0])
