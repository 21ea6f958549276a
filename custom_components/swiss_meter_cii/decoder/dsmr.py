"""DSMR / IEC 62056-21 text telegrams, from a P1 port or inside a GCM ciphertext.

They come from an E360 in DSMR mode, or decrypted from a Luxembourg Smarty or an
Energienetze Steiermark Sagemcom.

`/XXX5 identification` ... `A-B:C.D.E(value*unit)` lines ... `!CRC`. Values keep the
unit the meter prints (kWh stays kWh); numbers with a fraction become exact Decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
import re

from .catalogue import CAPTURE_TIME_ATTRIBUTE
from .crc import crc16_arc
from .errors import DecodeError, ErrorKind
from .obis import TEXT_CODE_PATTERN, Obis, attribute_key
from .push import Reading

START = 0x2F  # '/'
_HEADER = re.compile(rb"/[A-Za-z]{3}[0-9A-I-]")  # "-": Warmtelink gateways (NL)
_TEXT_BAD = re.compile(rb"[^\x20-\x7e\r\n]")  # anything but printable ASCII and line ends
# The CRC after '!': four hex digits by the standard; some devices drop leading zeros
# ("!B9F" for 0x0B9F, docs/protocol.md, "DSMR P1"), so one to four digits are accepted.
_CRC = re.compile(rb"[0-9A-Fa-f]{1,4}")
_HEX_DIGITS = frozenset(b"0123456789ABCDEFabcdef")
_LINE = re.compile(rf"({TEXT_CODE_PATTERN})((?:\([^()]*\))+)")
_GROUP = re.compile(r"\(([^()]*)\)")
_STAMP = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})([SW])")
_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+\.\d+")
MAX_TELEGRAM = 8192  # DSMR 5 telegrams with M-Bus channels stay well below
MAX_HEADER = 128  # '/XXX5' identification line, CR LF included


@dataclass(frozen=True, slots=True)
class DsmrTelegram:
    """A parsed telegram: identification line (without '/'), values, meter clock."""

    identification: str
    values: dict[str, Reading]
    timestamp: datetime | None


def is_header(buf: bytes | bytearray, pos: int) -> bool | None:
    """Whether `buf[pos:]` starts like a telegram header; None if too few bytes to tell."""
    avail = len(buf) - pos
    if avail >= 5:
        return _HEADER.match(buf, pos) is not None
    for i in range(1, avail):
        if not chr(buf[pos + i]).isascii() or not chr(buf[pos + i]).isalpha():
            return False
    return None


def telegram_size(
    buf: bytes | bytearray, pos: int, max_size: int = MAX_TELEGRAM, checked: int = 0
) -> int:
    """Size of the telegram at `pos` ('/' .. '!' and its CRC); -1 = need bytes, -2 = none.

    Binary garbage that happens to start like a header is refused as soon as a byte
    that cannot occur in a telegram shows up. `checked`: bytes before this index were
    already seen to be text without '!' (a stream framer re-probing after each chunk).
    """
    end_of_header = buf.find(b"\n", pos, pos + MAX_HEADER)
    if end_of_header < 0 and len(buf) - pos >= MAX_HEADER:
        return -2  # the identification line is short (16 characters in IEC 62056-21)
    limit = min(len(buf), pos + max_size)
    start = max(pos, checked)
    bang = buf.find(b"!", start, limit)
    scan_end = limit if bang < 0 else bang
    if _TEXT_BAD.search(buf, start, scan_end):
        return -2
    if bang < 0:
        return -2 if limit - pos >= max_size else -1
    if bang + 1 >= len(buf):
        return -1
    if buf[bang + 1] in b"\r\n":
        return bang + 1 - pos  # DSMR 2/3: no CRC
    digits = 0
    while digits < 4 and bang + 1 + digits < len(buf) and buf[bang + 1 + digits] in _HEX_DIGITS:
        digits += 1
    if digits == 4:
        return bang + 5 - pos
    if bang + 1 + digits >= len(buf):
        return -1  # the CRC may go on
    if digits and buf[bang + 1 + digits] in b"\r\n":
        return bang + 1 + digits - pos  # a CRC without its leading zeros
    return -2


def _timestamp(text: str, local_tz: tzinfo) -> datetime | None:
    """`YYMMDDhhmmssS|W` -> aware datetime; S/W picks the side of the autumn DST hour."""
    match = _STAMP.fullmatch(text)
    if match is None:
        return None
    yy, mo, dd, hh, mi, ss = (int(g) for g in match.groups()[:6])
    try:
        naive = datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None
    return naive.replace(tzinfo=local_tz, fold=0 if match.group(7) == "S" else 1)


def _is_text_code(c: int, d: int) -> bool:
    """OBIS codes whose value is an identifier or message, never a number.

    Equipment ids (96.1.x), logical device name (42.0.0), text messages (96.13.x)
    and the P1 version (0.2.8) are often all digits (hex-encoded text) and must stay
    the string the meter sent.
    """
    return (c == 96 and d in (1, 13)) or (c == 42 and d == 0) or (c == 0 and d == 2)


def _number(text: str) -> int | Decimal | None:
    """Exact number: int without a fraction, Decimal with one; None if not a number."""
    if _INT.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return Decimal(text)
    return None


def _value(text: str, c: int, d: int, local_tz: tzinfo) -> Reading:
    """One `(value*unit)` group -> Reading."""
    body, star, unit = text.partition("*")
    if star:
        number = _number(body)
        return Reading(number if number is not None else body, unit or None)
    if _is_text_code(c, d):
        return Reading(text, None)
    stamp = _timestamp(text, local_tz)
    if stamp is not None:
        return Reading(stamp, None)
    number = _number(text)
    return Reading(number if number is not None else text, None)


def _line_reading(groups: list[str], c: int, d: int, local_tz: tzinfo) -> Reading:
    """Build the reading of a line: one group, or capture time(s) followed by a value."""
    if len(groups) == 1 or all(_STAMP.fullmatch(g) for g in groups[:-1]):
        return _value(groups[-1], c, d, local_tz)
    return Reading("".join(f"({g})" for g in groups), None)  # e.g. a power-failure log


def parse_telegram(data: bytes, *, local_tz: tzinfo) -> DsmrTelegram:
    """Parse and check one telegram ('/' .. '!CRC'); trailing line ends are ignored.

    Raises DecodeError(CHECKSUM) when the CRC does not match and
    DecodeError(MALFORMED) for text that is no telegram.
    """
    if not data.startswith(b"/"):
        raise DecodeError(ErrorKind.MALFORMED, "DSMR telegram does not start with '/'")
    bang = data.find(b"!")
    if bang < 0:
        raise DecodeError(ErrorKind.MALFORMED, "DSMR telegram has no '!' end line")
    if _TEXT_BAD.search(data, 0, bang):
        raise DecodeError(ErrorKind.MALFORMED, "DSMR telegram contains non-text bytes")
    crc_text = _CRC.match(data, bang + 1)
    if crc_text is not None:
        expected = int(crc_text.group(), 16)
        actual = crc16_arc(data[: bang + 1])
        if expected != actual:
            raise DecodeError(
                ErrorKind.CHECKSUM, f"DSMR CRC wrong (sent {expected:04X}, got {actual:04X})"
            )
    text = data[:bang].decode("ascii")
    header, _, rest = text.partition("\n")
    values: dict[str, Reading] = {}
    for line in rest.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is None:
            continue
        try:
            code = Obis.parse(match.group(1))
        except ValueError:  # a value group above 255: not a code
            continue
        groups = _GROUP.findall(match.group(2))
        obis = code.key
        values[obis] = _line_reading(groups, code.c, code.d, local_tz)
        if code.a == 0 and code.c == 24 and code.d == 2 and len(groups) == 2:
            # M-Bus value `(capture time)(value*unit)`: the time is its own reading,
            # keyed like a pushed attribute 5 (docs/protocol.md, "M-Bus sub-meters").
            stamp = _timestamp(groups[0], local_tz)
            if stamp is not None:
                values[attribute_key(obis, CAPTURE_TIME_ATTRIBUTE)] = Reading(stamp, None)
    clock = values.get("0-0:1.0.0.255")
    timestamp = clock.value if clock is not None and isinstance(clock.value, datetime) else None
    return DsmrTelegram(header.strip()[1:], values, timestamp)
