"""Tests of the meter simulator, plus a few test-only readers of its output.

The readers below are deliberately minimal and independent of both the project's
decoder and the simulator's encoder: they split frames by their length fields,
reassemble the APDU, verify the GCM tag with `cryptography` and parse the A-XDR
subset the simulator emits, so simulator tests can check bytes against `last_values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def split_hdlc(wire: bytes) -> list[bytes]:
    """HDLC frames (flags included) by the 11-bit length of each format field."""
    frames = []
    pos = 0
    while pos < len(wire):
        assert wire[pos] == 0x7E, f"no flag at {pos}"
        length = int.from_bytes(wire[pos + 1 : pos + 3], "big") & 0x7FF
        frames.append(wire[pos : pos + length + 2])
        assert wire[pos + length + 1] == 0x7E, "no closing flag"
        pos += length + 2
    return frames


def hdlc_fields(frame: bytes) -> tuple[int, bytes, bytes, int, bytes]:
    """(format, destination, source, control, info) of one frame; checks nothing."""
    fmt = int.from_bytes(frame[1:3], "big")
    pos = 3
    while not frame[pos] & 1:
        pos += 1
    dst = frame[3 : pos + 1]
    start = pos + 1
    pos = start
    while not frame[pos] & 1:
        pos += 1
    src = frame[start : pos + 1]
    control = frame[pos + 1]
    info = frame[pos + 4 : -3]
    return fmt, dst, src, control, info


def split_mbus(wire: bytes) -> list[bytes]:
    """Wired M-Bus long frames; an L of 0x01 whose stop byte is 256 later is 257 (T210-D)."""
    frames = []
    pos = 0
    while pos < len(wire):
        assert wire[pos] == wire[pos + 3] == 0x68
        length = wire[pos + 1]
        if wire[pos + length + 5 : pos + length + 6] != b"\x16":
            length += 256
        frames.append(wire[pos : pos + length + 6])
        assert wire[pos + length + 5] == 0x16
        pos += length + 6
    return frames


def apdu_from_hdlc(wire: bytes) -> bytes:
    """The APDU carried by HDLC frames: S-bit segments, LLC, GBT blocks all undone."""
    payload = b"".join(hdlc_fields(frame)[4] for frame in split_hdlc(wire))
    if payload.startswith(b"\xe6\xe7\x00"):
        payload = payload[3:]
    if payload[0] != 0xE0:
        return payload
    apdu = b""
    pos = 0
    while pos < len(payload):
        assert payload[pos] == 0xE0
        length, pos = read_length(payload, pos + 6)
        apdu += payload[pos : pos + length]
        pos += length
    return apdu


def apdu_from_mbus(wire: bytes) -> bytes:
    """The APDU carried by M-Bus telegrams (5 header bytes inside L, CS and stop after)."""
    return b"".join(frame[9:-2] for frame in split_mbus(wire))


def read_length(data: bytes, pos: int) -> tuple[int, int]:
    """BER length at `pos` -> (length, position after it)."""
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def open_glo(apdu: bytes, key: bytes, auth_key: bytes | None) -> bytes:
    """Decrypt a general-glo-ciphering APDU; with an AK the 12-byte tag must verify."""
    assert apdu[:2] == b"\xdb\x08"
    title = apdu[2:10]
    length, pos = read_length(apdu, 10)
    assert len(apdu) - pos == length
    sc = apdu[pos]
    iv = title + apdu[pos + 1 : pos + 5]
    body = apdu[pos + 5 :]
    if sc & 0x10:
        assert auth_key is not None
        ciphertext, tag = body[:-12], body[-12:]
        decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
        decryptor.authenticate_additional_data(bytes([sc]) + auth_key)
        return decryptor.update(ciphertext) + decryptor.finalize()
    ctr = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).decryptor()
    return ctr.update(body) + ctr.finalize()


@dataclass(frozen=True)
class Scalar:
    """A parsed A-XDR scalar with its type tag (0x06 uint32, 0x12 uint16, 0x09 octets...)."""

    tag: int
    value: int | bytes


def parse_axdr(data: bytes, pos: int = 0) -> tuple[Any, int]:
    """The A-XDR subset the simulator sends: array -> list, structure -> tuple, else Scalar."""
    tag = data[pos]
    pos += 1
    if tag in (0x01, 0x02):
        count, pos = read_length(data, pos)
        items = []
        for _ in range(count):
            item, pos = parse_axdr(data, pos)
            items.append(item)
        return (items if tag == 0x01 else tuple(items)), pos
    if tag == 0x09:
        length, pos = read_length(data, pos)
        return Scalar(tag, data[pos : pos + length]), pos + length
    sizes = {0x05: (4, True), 0x06: (4, False), 0x0F: (1, True), 0x10: (2, True)}
    sizes |= {0x11: (1, False), 0x12: (2, False), 0x16: (1, False)}
    size, signed = sizes[tag]
    value = int.from_bytes(data[pos : pos + size], "big", signed=signed)
    return Scalar(tag, value), pos + size


def parse_notification(apdu: bytes) -> tuple[int, bytes | None, Any]:
    """(long-invoke-id, 12-byte date-time or None, body) of a Data-Notification."""
    assert apdu[0] == 0x0F
    invoke = int.from_bytes(apdu[1:5], "big")
    if apdu[5] == 0x0C:
        stamp: bytes | None = apdu[6:18]
        pos = 18
    else:
        assert apdu[5] == 0x00
        stamp, pos = None, 6
    body, end = parse_axdr(apdu, pos)
    assert end == len(apdu), "trailing bytes after the body"
    return invoke, stamp, body


def obis_text(raw: bytes) -> str:
    """6-byte logical name -> 'A-B:C.D.E.F'."""
    a, b, c, d, e, f = raw
    return f"{a}-{b}:{c}.{d}.{e}.{f}"
