"""`scripts/decode`: decode a capture from a file, stdin or hex text into JSON lines.

stdout: one JSON object per decoded push; stderr: one JSON object per rejected frame or
push. Exit 0 when at least one push was decoded, 1 when none, 2 on usage errors. Keys
never appear in any output, and neither do tracebacks.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import contextlib
from datetime import date, datetime, time
from decimal import Decimal
import json
import math
import os
import re
import sys
from typing import Any, TextIO

from .explain import outline
from .keys import parse_key
from .models import AUTO, MODEL_IDS
from .push import ErrorEvent, Push, Value
from .stream import StreamDecoder

_HEX_TEXT = re.compile(rb"(?:0x)?[0-9A-Fa-f\s:,\-]*")
_HEX_NOISE = re.compile(r"0x|[\s:,\-]")


class _UsageError(Exception):
    """A command-line mistake: exit 2 with this message."""


def _json_value(value: Value | object) -> Any:
    """JSON form of a reading: numbers stay numbers, times become ISO 8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex().upper()
    return str(value)


def push_to_json(push: Push) -> dict[str, Any]:
    """Push -> the JSON object `scripts/decode` prints."""
    return {
        "layout": push.layout,
        "model": push.model,
        "system_title": push.system_title.hex().upper() if push.system_title else None,
        "manufacturer": push.manufacturer,
        "frame_counter": push.frame_counter,
        "security": str(push.security),
        "timestamp": push.timestamp.isoformat() if push.timestamp else None,
        "values": {
            obis: {"value": _json_value(reading.value), "unit": reading.unit}
            for obis, reading in push.values.items()
        },
    }


def event_to_json(event: ErrorEvent, *, explain: bool = False) -> dict[str, Any]:
    """ErrorEvent -> the JSON object printed on stderr (its detail never holds a key).

    With `explain`, a body no layout maps comes with its outline (explain.py): the types
    and positions a values-only template is written from.
    """
    result: dict[str, Any] = {"error": str(event.kind), "detail": event.detail}
    if explain and event.structure is not None:
        result["outline"] = outline(event.structure)
    return result


def _hex_bytes(text: str) -> bytes:
    """Hex text (spaces, colons, commas, dashes, 0x prefixes allowed) -> bytes."""
    compact = _HEX_NOISE.sub("", text)
    try:
        return bytes.fromhex(compact)
    except ValueError:
        raise _UsageError("--hex: not an even number of hex digits") from None


def _read_input(args: argparse.Namespace, stdin: Any) -> bytes:
    """Read the capture: --hex text, a file, or stdin (a file of hex text is decoded)."""
    if args.hex is not None:
        return _hex_bytes(args.hex)
    if args.file in (None, "-"):
        data = bytes(stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read())
    else:
        try:
            with open(args.file, "rb") as handle:
                data = handle.read()
        except OSError as err:
            raise _UsageError(f"cannot read {args.file}: {err.strerror}") from None
    stripped = data.strip()
    if stripped and _HEX_TEXT.fullmatch(stripped):
        try:
            return _hex_bytes(stripped.decode("ascii"))
        except _UsageError:
            return data  # not hex after all: decode the bytes as they are
    return data


def _parser() -> argparse.ArgumentParser:
    """Command-line definition."""
    parser = argparse.ArgumentParser(
        prog="decode",
        description="Decode DLMS/COSEM push frames (HDLC, M-Bus, raw APDU, DSMR) to JSON lines.",
    )
    parser.add_argument("--key", metavar="HEX", help="encryption key (GUEK), 32 hex digits")
    parser.add_argument("--auth-key", metavar="HEX", help="authentication key (GAK), 32 hex digits")
    parser.add_argument("--model", choices=MODEL_IDS, default=AUTO, help="meter model")
    parser.add_argument(
        "--country",
        metavar="CC",
        help="ISO country code of the installation (NO: Kamstrup energy counts 10 Wh)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="for a list no layout maps, print its outline: every position with type and value",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("file", nargs="?", help="capture file (binary or hex text); - = stdin")
    source.add_argument("--hex", metavar="TEXT", help="the capture as hex text")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: Any = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command; returns the exit status."""
    stdin = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        key = parse_key(args.key) if args.key is not None else None
    except ValueError as error:
        print(f"decode: error: --key: {error}", file=err)
        return 2
    try:
        auth_key = parse_key(args.auth_key) if args.auth_key is not None else None
    except ValueError as error:
        print(f"decode: error: --auth-key: {error}", file=err)
        return 2
    try:
        data = _read_input(args, stdin)
    except _UsageError as error:
        print(f"decode: error: {error}", file=err)
        return 2
    decoder = StreamDecoder(key=key, auth_key=auth_key, model=args.model, country=args.country)
    pushes = 0
    try:
        for result in decoder.feed(data) + decoder.flush():
            if isinstance(result, Push):
                pushes += 1
                print(json.dumps(push_to_json(result), ensure_ascii=False), file=out)
            else:
                print(
                    json.dumps(event_to_json(result, explain=args.explain), ensure_ascii=False),
                    file=err,
                )
        out.flush()
    except BrokenPipeError:
        # The reader went away (`scripts/decode ... | head`): stop quietly, like cat does;
        # point stdout at /dev/null so the interpreter's final flush does not complain.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    return 0 if pushes else 1
