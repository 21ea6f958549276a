"""Notification body -> OBIS readings: layout detection, text/time conversion, scaling.

The body arrives as parsed by the A-XDR parser (values.py shapes). The modules, in the
order a body meets them:

    dispatch.py   which layout (push-object list, template, OBIS walker) and its state
    push_list.py  IDIS self-describing pushes, compiled once per push setup
    walker.py     {OBIS, value[, scaler_unit]} entries and flat OBIS runs
    (templates.py, one level up: values-only lists, matched by signature)
    slots.py      a compiled list: per position, its code and where scaler and unit come from
    convert.py    raw values -> readings (exact scaling, text, times) and a plan's run
    shapes.py     the tests every layout asks of an element
    result.py     LayoutResult and the keys of values that carry no code

Scalers: see scaling.py; meter identity (model, scaler profile): identity.py.
"""

from .dispatch import DEFAULT_TZ, LayoutDecoder
from .result import CLOCK_OBIS, LIST_ID_OBIS, METER_NUMBER_OBIS, LayoutResult

__all__ = [
    "CLOCK_OBIS",
    "DEFAULT_TZ",
    "LIST_ID_OBIS",
    "METER_NUMBER_OBIS",
    "LayoutDecoder",
    "LayoutResult",
]
