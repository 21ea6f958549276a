"""Open the meter link: a serial device path or a URL (socket://, esphome://) via serialx."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import serialx

CONNECT_TIMEOUT = 10.0

# Query parameters whose values are secrets (serialx's esphome:// takes key, password,
# noise_psk); a few more that proxies use.
_SECRET_PARAMS = frozenset({"key", "password", "noise_psk", "psk", "token", "api_key"})

_PARITY = {"N": serialx.Parity.NONE, "E": serialx.Parity.EVEN, "O": serialx.Parity.ODD}


class LinkError(Exception):
    """The port could not be opened (unplugged device, refused or unreachable host)."""


@dataclass(frozen=True, slots=True)
class SerialFormat:
    """Line settings such as 2400 8E1 (M-Bus CII) or 115200 8N1 (P1)."""

    baudrate: int
    byte_size: int
    parity: serialx.Parity
    stopbits: serialx.StopBits

    @classmethod
    def parse(cls, text: str) -> SerialFormat:
        """Parse '2400_8E1' (the form stored in config entries)."""
        try:
            baud, frame = text.split("_")
            parity = _PARITY[frame[1]]
            return cls(int(baud), int(frame[0]), parity, serialx.StopBits(int(frame[2])))
        except (ValueError, KeyError, IndexError) as err:
            raise ValueError(f"not a serial format: {text!r}") from err

    def __str__(self) -> str:
        return f"{self.baudrate}_{self.byte_size}{self.parity.value}{int(self.stopbits)}"


def is_url(port: str) -> bool:
    """Tell a network or proxy URL from a local device path."""
    return "://" in port


def redact_port(port: str) -> str:
    """Return the port as it may appear in logs (an esphome:// URL can carry an API key).

    Our own, not `serialx.redact_uri`: that only exists from serialx 1.15, and Home Assistant
    2026.10 pins serialx 1.11. Secret query values and a password in the user part go.
    """
    if not is_url(port):
        return port
    rest, hash_sign, fragment = port.partition("#")
    base, question, query = rest.partition("?")
    scheme, sep, netloc_path = base.partition("://")
    netloc, slash, path = netloc_path.partition("/")
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.partition(':')[0]}:REDACTED@{host}"
    pairs = []
    for pair in query.split("&") if query else []:
        name = pair.partition("=")[0]
        clean = unquote_plus(name.replace("\t", "").replace("\r", "").replace("\n", ""))
        pairs.append(f"{name}=REDACTED" if clean.lower() in _SECRET_PARAMS else pair)
    return f"{scheme}{sep}{netloc}{slash}{path}{question}{'&'.join(pairs)}{hash_sign}{fragment}"


def _secrets(port: str) -> list[str]:
    """Values of the URL's secret parameters and user password (library errors echo them)."""
    if not is_url(port):
        return []
    parts = urlsplit(port)
    found = [
        value
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if value and name.lower() in _SECRET_PARAMS
    ]
    if parts.password:
        found.append(parts.password)
    return found


def scrub(text: str, port: str) -> str:
    """`text` with the raw port and every secret in it replaced (library errors echo URLs)."""
    if is_url(port):
        text = text.replace(port, redact_port(port))
        for secret in _secrets(port):
            text = text.replace(secret, "REDACTED")
    return text


async def open_link(
    port: str, serial_format: SerialFormat
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open `port`; the meter only talks, so the writer is just for closing.

    For socket:// the line settings live in ser2net and are ignored by the socket.
    """
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            return await serialx.open_serial_connection(
                port,
                baudrate=serial_format.baudrate,
                parity=serial_format.parity,
                stopbits=serial_format.stopbits,
                byte_size=serial_format.byte_size,
            )
    except (OSError, TimeoutError, serialx.SerialException, ValueError) as err:
        detail = scrub(str(err) or type(err).__name__, port)
        raise LinkError(f"cannot open {redact_port(port)}: {detail}") from None
