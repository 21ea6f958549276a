"""Decoder tests, plus helpers that build wire bytes without using the decoder.

Checksums here are slow bit-by-bit reference implementations, and ciphertexts come from
`cryptography`'s AESGCM, so a test never checks the decoder against itself.
"""

from __future__ import annotations

import json
from pathlib import Path
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KEY = bytes(range(0x10, 0x20))  # the well-known L+G demo key 101112..1F
AUTH_KEY = bytes(range(0xD0, 0xE0))
SYSTEM_TITLE = b"LGZgsx\x1f\xd0"


# A values-only list no template knows (five values, no codes), as a bare APDU, and the
# outline decoder/explain.py gives of it.
UNKNOWN_LIST = bytes.fromhex("0F000000000002050908313233343536373806000003E812090416010903414243")
UNKNOWN_SIGNATURE = "[octet-string(8), integer, integer, enum, octet-string(3)]"
UNKNOWN_OUTLINE = [
    "structure of 5",
    "1: octet-string(8) '12345678'",
    "2: integer 1000",
    "3: integer 2308",
    "4: enum 1",
    "5: octet-string(3) 'ABC'",
]


def load_vectors() -> list[dict[str, Any]]:
    """The public vectors (the repository's own copy)."""
    with (FIXTURES / "public_vectors.json").open(encoding="utf-8") as handle:
        vectors: list[dict[str, Any]] = json.load(handle)
    return vectors


def vector(vector_id: str) -> dict[str, Any]:
    """One public vector by id."""
    return next(v for v in load_vectors() if v["id"] == vector_id)


def ref_crc16_x25(data: bytes) -> int:
    """CRC-16/X.25, one bit at a time (reflected 0x1021, init/xorout 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        for bit in range(8):
            if ((crc ^ (byte >> bit)) & 1) != 0:
                crc = (crc >> 1) ^ 0x8408
            else:
                crc >>= 1
    return crc ^ 0xFFFF


def ref_crc16_arc(data: bytes) -> int:
    """CRC-16/ARC, one bit at a time (reflected 0x8005, init 0, no xorout)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def ber(length: int) -> bytes:
    """BER/A-XDR length."""
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def hdlc_frame(
    info: bytes,
    *,
    dest: bytes = b"\xce\xff",
    src: bytes = b"\x03",
    control: int = 0x13,
    segmented: bool = False,
    flags: bool = True,
) -> bytes:
    """HDLC type-3 frame with HCS and FCS (flags included unless `flags=False`)."""
    length = 2 + len(dest) + len(src) + 1 + (2 + len(info) if info else 0) + 2
    header = bytes((0xA0 | (0x08 if segmented else 0) | (length >> 8), length & 0xFF))
    header += dest + src + bytes((control,))
    body = header
    if info:
        body += ref_crc16_x25(header).to_bytes(2, "little") + info
    body += ref_crc16_x25(body).to_bytes(2, "little")
    return b"\x7e" + body + b"\x7e" if flags else body


def mbus_frame(
    data: bytes,
    ci: int,
    *,
    control: int = 0x53,
    address: int = 0xFF,
    stsap: int = 0x01,
    dtsap: int = 0x67,
) -> bytes:
    """Wired M-Bus long frame `68 L L 68 C A CI STSAP DTSAP data CS 16`."""
    user = bytes((control, address, ci, stsap, dtsap)) + data
    length = len(user) & 0xFF  # 257 bytes of user data give L = 0x01, as the T210-D sends
    return bytes((0x68, length, length, 0x68)) + user + bytes((sum(user) & 0xFF, 0x16))


def notification(body: bytes, *, invoke: int = 0x0000CBC2, date_time: bytes = b"\x00") -> bytes:
    """Data-Notification APDU."""
    return b"\x0f" + struct.pack(">I", invoke) + date_time + body


def glo_ciphering(
    plaintext: bytes,
    *,
    key: bytes = KEY,
    counter: int = 1,
    sc: int = 0x20,
    auth_key: bytes | None = None,
    system_title: bytes = SYSTEM_TITLE,
    tag: int = 0xDB,
) -> bytes:
    """general-glo-ciphering APDU built with AESGCM (tag truncated to 12 bytes)."""
    iv = system_title + counter.to_bytes(4, "big")
    if sc & 0x10:
        assert auth_key is not None
        sealed = AESGCM(key).encrypt(iv, plaintext, bytes((sc,)) + auth_key)
        payload = sealed[:-16] + sealed[-16:-4]
    else:
        payload = AESGCM(key).encrypt(iv, plaintext, None)[:-16]
    content = bytes((sc,)) + counter.to_bytes(4, "big") + payload
    return bytes((tag, len(system_title))) + system_title + ber(len(content)) + content


def gbt_blocks(apdu: bytes, size: int) -> list[bytes]:
    """Split an APDU into general-block-transfer APDUs of `size` bytes of data."""
    parts = [apdu[i : i + size] for i in range(0, len(apdu), size)]
    blocks = []
    for number, part in enumerate(parts, start=1):
        control = 0xC0 if number == len(parts) else 0x40
        blocks.append(
            bytes((0xE0, control)) + number.to_bytes(2, "big") + b"\x00\x00" + ber(len(part)) + part
        )
    return blocks


def gbt_block(number: int, data: bytes, *, last: bool) -> bytes:
    """One GBT APDU."""
    control = 0xC0 if last else 0x40
    return bytes((0xE0, control)) + number.to_bytes(2, "big") + b"\x00\x00" + ber(len(data)) + data


def obis_entry(obis: bytes, value: int, scaler: int, unit: int) -> bytes:
    """structure{OBIS, double-long-unsigned, {scaler, unit}} (Aidon-style entry)."""
    return (
        b"\x02\x03\x09\x06"
        + obis
        + b"\x06"
        + struct.pack(">I", value)
        + b"\x02\x02\x0f"
        + struct.pack(">b", scaler)
        + b"\x16"
        + bytes((unit,))
    )


def power_body(watts: int = 1122, energy: int = 256) -> bytes:
    """Small self-describing body: 1-0:1.7.0 (W) and 1-0:1.8.0 (Wh)."""
    return (
        b"\x01\x02"
        + obis_entry(bytes.fromhex("0100010700FF"), watts, 0, 27)
        + obis_entry(bytes.fromhex("0100010800FF"), energy, 0, 30)
    )
