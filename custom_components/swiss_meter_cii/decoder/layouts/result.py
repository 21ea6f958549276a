"""What the layout step hands back, and the keys of values a body carries without a code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ..errors import DecodeError, ErrorKind
from ..push import Reading

if TYPE_CHECKING:
    from .slots import Plan

# Keys for values that carry no OBIS code in the body.
CLOCK_OBIS: Final = "0-0:1.0.0.255"
LIST_ID_OBIS: Final = "1-1:0.2.129.255"  # NVE "OBIS list version identifier"
METER_NUMBER_OBIS: Final = "0-0:96.1.0.255"  # trailing meter number (EVN / Netz NÖ lists)


@dataclass(slots=True)  # made once per push: a frozen __init__ costs 3x
class LayoutResult:
    """Readings of one body plus what the layout step learned about it."""

    values: dict[str, Reading]  # 'A-B:C.D.E.F' -> Reading(value, HA unit or None), scaled
    layout: str  # e.g. "push_object_list", "obis_structures", "flat_obis", "template:im350"
    model: str  # resolved model id (decoder/models.py) or "auto" when undecidable
    push_setup: str | None = None  # OBIS of the push setup when the push names it
    timestamp: datetime | None = None  # clock carried in the body, aware
    # The compiled plan that read the body, if one did (push_plan.py); not part of the result.
    plan: Plan | None = field(default=None, compare=False, repr=False)


# What reading a body of an unforeseen shape raises, besides DecodeError.
BODY_ERRORS: Final = (TypeError, ValueError, IndexError, KeyError, ArithmeticError)


def uninterpretable(err: Exception) -> DecodeError:
    """Report a shape no check anticipated (one of BODY_ERRORS) instead of crashing."""
    return DecodeError(ErrorKind.MALFORMED, f"body could not be interpreted ({type(err).__name__})")
