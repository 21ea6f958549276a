"""Which layout a body has, and the per-connection state of every layout.

Tried in this order (docs/protocol.md, "Push body layouts"): a push-object list (the first
element is the capture-object list), a values-only template with a discriminator (templates.py),
the OBIS walker, a values-only template without one. Anything else is `unsupported_layout`
with the structure attached for diagnostics; a known layout whose content contradicts itself
is `malformed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from ..errors import DecodeError, ErrorKind
from ..explain import signature
from ..identity import flag_of, resolve
from ..models import AUTO, MODEL_IDS
from ..obis import key_of
from ..scaling import normalize_overrides
from ..templates import FieldKind, Template, find_template
from .convert import Converter
from .push_list import PushLists
from .result import BODY_ERRORS, LayoutResult, uninterpretable
from .shapes import is_capture_definition
from .slots import CLOCK, DATE, TIME, VALUE, OverrideItems, Plan, SlotSpec, instantiate, slot_spec
from .walker import Walker

DEFAULT_TZ: Final = ZoneInfo("Europe/Zurich")
_TEMPLATE_KINDS: Final = {FieldKind.CLOCK: CLOCK, FieldKind.TIME: TIME, FieldKind.DATE: DATE}


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
        self._overrides: OverrideItems = tuple(
            sorted(normalize_overrides(scaler_overrides).items())
        )
        self._convert = Converter(local_tz if local_tz is not None else DEFAULT_TZ)
        self._push_lists = PushLists(model, self._overrides)
        self._walker = Walker(model, self._overrides, (country or "").upper())
        self._template_plans: dict[tuple[str, str | None], Plan] = {}
        self._title: bytes | None = None
        self._flag: str | None = None
        self._objects: list[object] | None = None
        # List families this connection sent; a configured Kaifa meter implies its family,
        # so that a lone list 1 (active power, no code) is read before any list 2
        # (amsreader reads list 1 only for a configured Kaifa meter, too).
        self._seen: set[str] = {"kaifa_no"} if model.startswith("kaifa_") else set()

    @property
    def converter(self) -> Converter:
        """The connection's conversion state (push_plan.py converts through it too)."""
        return self._convert

    @property
    def generation(self) -> int:
        """Grows when what decides a layout may change (the list families sent so far)."""
        return len(self._seen)

    def decode(self, body: object, *, system_title: bytes | None) -> LayoutResult:
        """Return the readings of one body; DecodeError for unknown or broken layouts."""
        try:
            return self._decode(body, system_title)
        except DecodeError:
            raise
        except BODY_ERRORS as err:
            raise uninterpretable(err) from err

    def _decode(self, body: object, system_title: bytes | None) -> LayoutResult:
        if system_title != self._title:  # one meter sends one title: worked out once
            self._title, self._flag = system_title, flag_of(system_title) if system_title else None
        flag = self._flag
        if isinstance(body, tuple) and body and isinstance(body[0], list):
            objects = body[0]
            if objects is self._objects or (objects and is_capture_definition(objects[0])):
                self._objects = objects  # the last capture-object list (shared while unchanged)
                return self._push_lists.decode(body, objects, flag, self._convert)
        if isinstance(body, tuple | list) and body:
            template = find_template(body, flag=flag, seen=self._seen, discriminated=True)
            if template is not None:
                return self._decode_template(template, body, flag)
            result = self._walker.read(body, flag, self._convert)
            if result is not None:
                return result
            template = find_template(body, flag=flag, seen=self._seen, discriminated=False)
            if template is not None:
                return self._decode_template(template, body, flag)
            shape = "structure" if isinstance(body, tuple) else "array"
            detail = f"no known layout for a {shape} of {len(body)} elements {signature(body)}"
        else:
            detail = f"no known layout for a body of type {type(body).__name__}"
        raise DecodeError(ErrorKind.UNSUPPORTED_LAYOUT, detail, structure=body)

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
            setup = key_of(first)
        return self._convert.run(plan, body, setup)

    def _compile_template(self, template: Template, flag: str | None) -> Plan:
        meter = resolve(self._model, flag)
        specs = _template_specs(template, meter.profile, self._overrides)
        return Plan(f"template:{template.name}", meter.model, instantiate(specs))


@lru_cache(maxsize=256)
def _template_specs(
    template: Template, profile: str, overrides: OverrideItems
) -> tuple[SlotSpec, ...]:
    """Slot specs of a values-only template; cached for the process."""
    return tuple(
        slot_spec(
            position,
            field.obis,
            _TEMPLATE_KINDS.get(field.kind, VALUE),
            profile,
            overrides,
            fixed_scaler=field.scaler,
            fixed_unit=field.unit,
        )
        for position, field in enumerate(template.fields)
        if field.obis is not None  # the push setup's name: not a value
    )
