"""CRC-16 checksums: X.25 for HDLC HCS/FCS, ARC for DSMR telegrams.

X.25 is the bit-reflected form of CRC-CCITT. `binascii.crc_hqx` computes the
unreflected CCITT CRC in C, so reflecting every input byte (one `bytes.translate`)
and the 16-bit result gives X.25 without a Python loop per byte.
"""

from __future__ import annotations

import binascii

# Bit-reversal of every byte value, as a `bytes.translate` table.
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


# crc_hqx over the bit-reversed bytes of a frame *with* its FCS always ends here when the
# FCS is right (the X.25 "good FCS" residue 0xF0B8, bit-reversed): one C call per frame.
X25_RESIDUE = 0x1D0F


def reverse_bits(data: bytes | bytearray) -> bytes:
    """Every byte bit-reversed: X.25 input for `binascii.crc_hqx` (one C pass for a push)."""
    return data.translate(_REVERSED)


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X.25 (init 0xFFFF, reflected, xorout 0xFFFF); sent low byte first in HDLC."""
    reg = binascii.crc_hqx(bytes(data).translate(_REVERSED), 0xFFFF)
    return ((_REVERSED[reg & 0xFF] << 8) | _REVERSED[reg >> 8]) ^ 0xFFFF


def _arc_table() -> tuple[int, ...]:
    """Table for CRC-16/ARC (reflected polynomial 0xA001), one entry per byte value."""
    table = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)


_ARC = _arc_table()


def crc16_arc(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/ARC (init 0, reflected, no xorout): the DSMR telegram checksum.

    Only DSMR text telegrams need it (a few hundred bytes every few seconds), so a
    table-driven loop is fast enough here.
    """
    reg = 0
    table = _ARC
    for byte in bytes(data):
        reg = (reg >> 8) ^ table[(reg ^ byte) & 0xFF]
    return reg
