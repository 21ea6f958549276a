"""IDIS self-describing pushes: the first element is the push setup's capture-object list.

Value i of the body belongs to capture object i {class_id, logical name, attribute,
data_index}: attribute 2 is a value, attribute 3 of a register (4 of a demand register) its
scaler_unit, attribute 0 the whole object, attribute 5 of an extended register its capture
time, attribute 9 of an M-Bus client its device type (docs/protocol.md, "Self-describing push
lists", "M-Bus sub-meters"). A list is compiled once per push setup and reused while the same
list arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from ..catalogue import CAPTURE_TIME_ATTRIBUTE
from ..errors import DecodeError, ErrorKind
from ..identity import flag_of, resolve
from ..obis import attribute_key, key_of
from ..values import Long64
from .convert import Converter
from .result import LayoutResult
from .shapes import is_capture_definition
from .slots import (
    CAPTURE,
    CLOCK,
    SU_SCALER,
    SU_UNIT,
    SU_WHOLE,
    VALUE,
    OverrideItems,
    Plan,
    SlotSpec,
    instantiate,
    kind_for,
    slot_spec,
)

PUSH_SETUP_CLASS: Final = 40
PROFILE_CLASS: Final = 7
CLOCK_CLASS: Final = 8
REGISTER_CLASSES: Final = (3, 4)
DEMAND_CLASS: Final = 5
EXTENDED_REGISTER_CLASS: Final = 4
MBUS_CLIENT_CLASS: Final = 72  # M-Bus client setup of a sub-meter channel
MBUS_DEVICE_TYPE_ATTRIBUTE: Final = 9
_LOGICAL_DEVICE_NAME: Final = b"\x2a\x00\x00"  # C.D.E of 0-0:42.0.0
_PLAN_CACHE_MAX: Final = 16

type Definition = tuple[int, bytes, int, int]


@dataclass(slots=True)
class _Compiled:
    objects: list[object]
    flag: str | None
    plan: Plan


class PushLists:
    """The compiled push-object lists of one connection, by push setup."""

    __slots__ = ("_last", "_model", "_overrides", "_plans")

    def __init__(self, model: str, overrides: OverrideItems) -> None:
        """Compile for the configured model with the user's scaler overrides."""
        self._model = model
        self._overrides = overrides
        self._plans: dict[str | None, _Compiled] = {}
        # The list of the last push, the very object: the A-XDR parse shares an unchanged
        # capture-object list between pushes (skeleton.py, axdr.ListMemo), so the next push
        # of that list finds its plan without comparing the list.
        self._last: tuple[list[object], str | None, Plan, str | None] | None = None

    def decode(
        self, body: tuple[object, ...], objects: list[object], flag: str | None, run: Converter
    ) -> LayoutResult:
        """Return the readings of a body whose first element is its capture-object list."""
        last = self._last
        if (
            last is not None
            and objects is last[0]
            and flag == last[1]
            and len(body) == len(objects)
        ):
            return run.run(last[2], body, last[3])
        if len(body) != len(objects):
            raise DecodeError(
                ErrorKind.MALFORMED,
                f"push_object_list names {len(objects)} objects but the body has {len(body)}",
            )
        setup = _setup_name(objects)
        cached = self._plans.get(setup)
        if cached is None or cached.flag != flag or cached.objects != objects:
            plan = self._compile(body, objects, flag)
            if len(self._plans) >= _PLAN_CACHE_MAX and setup not in self._plans:
                self._plans.clear()
            self._plans[setup] = _Compiled(list(objects), flag, plan)
        else:
            plan = cached.plan
        self._last = (objects, flag, plan, setup)
        return run.run(plan, body, setup)

    def _compile(self, body: tuple[object, ...], objects: list[object], flag: str | None) -> Plan:
        """Capture objects -> slots (compiled once per process for a list and profile)."""
        definitions = _definitions(objects)
        if flag is None:
            flag = _ldn_flag(body, definitions)
        meter = resolve(self._model, flag, wide_registers=any(type(v) is Long64 for v in body))
        specs = _list_specs(tuple(definitions), meter.profile, self._overrides)
        return Plan("push_object_list", meter.model, instantiate(specs))


@lru_cache(maxsize=64)
def _list_specs(
    definitions: tuple[Definition, ...], profile: str, overrides: OverrideItems
) -> tuple[SlotSpec, ...]:
    """Capture objects -> slot specs: values by attribute 2, scalers by attribute 3."""
    # Attribute 3 of a register (class 3/4) or 4 of a demand register (class 5).
    scalers: dict[bytes, tuple[int, int]] = {}
    for position, (class_id, name, attribute, data_index) in enumerate(definitions):
        if (class_id in REGISTER_CLASSES and attribute == 3) or (
            class_id == DEMAND_CLASS and attribute == 4
        ):
            part = data_index if data_index in (SU_SCALER, SU_UNIT) else SU_WHOLE
            scalers[name] = (position, part)
    return tuple(
        spec
        for position, definition in enumerate(definitions)
        if (spec := _spec(position, definition, scalers, profile, overrides)) is not None
    )


def _spec(
    position: int,
    definition: Definition,
    scalers: Mapping[bytes, tuple[int, int]],
    profile: str,
    overrides: OverrideItems,
) -> SlotSpec | None:
    """Return the slot spec of one capture object; None for objects that carry no value."""
    class_id, name, attribute, _data_index = definition
    if class_id in (PUSH_SETUP_CLASS, PROFILE_CLASS) or attribute == 1:
        return None  # push setup itself, profile buffers, logical names
    key = key_of(name)
    if attribute in (0, 2):
        kind = CLOCK if class_id == CLOCK_CLASS else kind_for(name)
        if attribute == 0:
            return slot_spec(
                position,
                key,
                kind,
                profile,
                overrides,
                pushed_scaler=class_id in (3, 4),
                whole=True,
            )
        su_index, su_part = scalers.get(name, (-1, SU_WHOLE))
        return slot_spec(
            position,
            key,
            kind,
            profile,
            overrides,
            su_index=su_index,
            su_part=su_part,
            pushed_scaler=su_index >= 0 and su_part != SU_UNIT,
        )
    if class_id == MBUS_CLIENT_CLASS and attribute == MBUS_DEVICE_TYPE_ATTRIBUTE:
        # The M-Bus client's device type (the medium byte) is the value of 0-n:24.1.0
        # (docs/protocol.md, "M-Bus sub-meters").
        return slot_spec(position, key, VALUE, profile, overrides)
    if attribute == CAPTURE_TIME_ATTRIBUTE and class_id == EXTENDED_REGISTER_CLASS:
        # Its own reading beside the value (docs/protocol.md, "M-Bus sub-meters").
        return slot_spec(position, attribute_key(key, attribute), CAPTURE, profile, overrides)
    return None


def _definitions(objects: list[object]) -> list[Definition]:
    """Return the capture objects, checked: MALFORMED names the first that is none."""
    definitions: list[Definition] = []
    for position, entry in enumerate(objects):
        if not is_capture_definition(entry):
            raise DecodeError(
                ErrorKind.MALFORMED,
                f"push_object_list entry {position + 1} is not "
                "{class_id, logical_name, attribute_index, data_index}",
            )
        definitions.append((entry[0], entry[1], entry[2], entry[3]))
    return definitions


def _setup_name(objects: list[object]) -> str | None:
    """OBIS of the push setup the list belongs to (its class 40 entry)."""
    for entry in objects:
        if is_capture_definition(entry) and entry[0] == PUSH_SETUP_CLASS:
            return key_of(entry[1])
    return None


def _ldn_flag(body: tuple[object, ...], definitions: list[Definition]) -> str | None:
    """FLAG from the pushed logical device name (0-0:42.0.0) of a plaintext push."""
    for position, (_class_id, name, attribute, _index) in enumerate(definitions):
        if attribute == 2 and name[2:5] == _LOGICAL_DEVICE_NAME:
            return flag_of(body[position])
    return None
