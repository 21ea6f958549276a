"""The project's own frame encoder: A-XDR, Data-Notification, GCM, GBT, HDLC, M-Bus, wrapper.

Written from the wire-format reference (docs/protocol.md, "HDLC" to "Push body layouts")
without looking at the decoder, so that encoding a push here and decoding it there
cross-checks both.
Everything is a pure function from values to bytes; nothing here knows about meters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# --------------------------------------------------------------------------- CRC-16/X.25


def _crc_table() -> tuple[int, ...]:
    """Byte-wise table for the reflected polynomial 0x1021 (0x8408 when reflected)."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (HDLC HCS/FCS): init 0xFFFF, reflected, final XOR 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def _crc_bytes(data: bytes) -> bytes:
    """Return the check word as sent on the line: low byte first."""
    return crc16_x25(data).to_bytes(2, "little")


# --------------------------------------------------------------------------- BER length


def ber_length(length: int) -> bytes:
    """A-XDR/BER length: short form below 128, else 0x81/0x82/0x84 + big-endian count."""
    if length < 0:
        raise ValueError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return b"\x81" + bytes([length])
    if length <= 0xFFFF:
        return b"\x82" + length.to_bytes(2, "big")
    if length <= 0xFFFFFFFF:
        return b"\x84" + length.to_bytes(4, "big")
    raise ValueError(f"length {length} does not fit in 32 bits")


# --------------------------------------------------------------------------- A-XDR data


def _int(tag: int, value: int, size: int, *, signed: bool) -> bytes:
    """Tag + fixed-size big-endian integer; out-of-range values are a bug in the caller."""
    try:
        return bytes([tag]) + value.to_bytes(size, "big", signed=signed)
    except OverflowError:
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"{value} does not fit a {size}-byte {kind} (tag {tag:#04x})") from None


def null_data() -> bytes:
    """null-data (tag 0x00)."""
    return b"\x00"


def array(items: Iterable[bytes]) -> bytes:
    """Encode an array (0x01): count + already encoded elements."""
    elements = list(items)
    return b"\x01" + ber_length(len(elements)) + b"".join(elements)


def structure(items: Iterable[bytes]) -> bytes:
    """Encode a structure (0x02): count + already encoded elements."""
    elements = list(items)
    return b"\x02" + ber_length(len(elements)) + b"".join(elements)


def boolean(value: bool) -> bytes:
    """Encode a boolean (0x03)."""
    return b"\x03\xff" if value else b"\x03\x00"


def bit_string(bits: int, data: bytes) -> bytes:
    """bit-string (0x04): the length counts bits, the data is MSB first."""
    if len(data) != (bits + 7) // 8:
        raise ValueError(f"{bits} bits need {(bits + 7) // 8} bytes, got {len(data)}")
    return b"\x04" + ber_length(bits) + data


def double_long(value: int) -> bytes:
    """double-long (0x05): int32."""
    return _int(0x05, value, 4, signed=True)


def double_long_unsigned(value: int) -> bytes:
    """double-long-unsigned (0x06): uint32, the type of energy and power registers."""
    return _int(0x06, value, 4, signed=False)


def octet_string(value: bytes) -> bytes:
    """octet-string (0x09): OBIS codes, date-times, ASCII ids."""
    return b"\x09" + ber_length(len(value)) + value


def visible_string(value: str) -> bytes:
    """visible-string (0x0A): ASCII text."""
    raw = value.encode("ascii")
    return b"\x0a" + ber_length(len(raw)) + raw


def utf8_string(value: str) -> bytes:
    """utf8-string (0x0C)."""
    raw = value.encode("utf-8")
    return b"\x0c" + ber_length(len(raw)) + raw


def bcd(value: int) -> bytes:
    """Encode a bcd (0x0D): one byte, two decimal digits."""
    if not 0 <= value <= 99:
        raise ValueError(f"bcd holds 0..99, got {value}")
    return bytes([0x0D, (value // 10) << 4 | value % 10])


def integer(value: int) -> bytes:
    """Encode an integer (0x0F): int8, e.g. a scaler."""
    return _int(0x0F, value, 1, signed=True)


def long(value: int) -> bytes:
    """Encode a long (0x10): int16."""
    return _int(0x10, value, 2, signed=True)


def unsigned(value: int) -> bytes:
    """Encode an unsigned (0x11): uint8."""
    return _int(0x11, value, 1, signed=False)


def long_unsigned(value: int) -> bytes:
    """long-unsigned (0x12): uint16 (voltages, currents, power factor, class ids)."""
    return _int(0x12, value, 2, signed=False)


def long64(value: int) -> bytes:
    """long64 (0x14): int64 (E570 registers)."""
    return _int(0x14, value, 8, signed=True)


def long64_unsigned(value: int) -> bytes:
    """long64-unsigned (0x15): uint64."""
    return _int(0x15, value, 8, signed=False)


def enum(value: int) -> bytes:
    """Encode an enum (0x16): one byte, e.g. the unit of a scaler_unit."""
    return _int(0x16, value, 1, signed=False)


def float32(value: float) -> bytes:
    """float32 (0x17): IEEE 754 big-endian."""
    return b"\x17" + struct.pack(">f", value)


def float64(value: float) -> bytes:
    """float64 (0x18): IEEE 754 big-endian."""
    return b"\x18" + struct.pack(">d", value)


def date_time(raw: bytes) -> bytes:
    """date-time (0x19): 12 bytes without a length (rare on CII; octet-string is usual)."""
    if len(raw) != 12:
        raise ValueError("a COSEM date-time is 12 bytes")
    return b"\x19" + raw


def scaler_unit(scaler: int, unit: int) -> bytes:
    """Register attribute 3: structure {integer scaler, enum unit}."""
    return structure([integer(scaler), enum(unit)])


# --------------------------------------------------------------------------- OBIS, date-time


def obis(text: str) -> bytes:
    """'A-B:C.D.E.F' or 'A-B:C.D.E' (F = 255) -> the 6-byte logical name."""
    group_ab, sep, group_cdef = text.partition(":")
    group_a, dash, group_b = group_ab.partition("-")
    if not sep or not dash:
        raise ValueError(f"not an OBIS code: {text!r}")
    parts = [group_a, group_b, *group_cdef.split(".")]
    if len(parts) == 5:
        parts.append("255")
    if len(parts) != 6:
        raise ValueError(f"not an OBIS code: {text!r}")
    return bytes(int(part) for part in parts)


def cosem_datetime(
    wall: datetime,
    *,
    deviation: int | None,
    status: int | None,
    hundredths: bool = True,
) -> bytes:
    """12-byte COSEM date-time from a wall-clock datetime (its tzinfo is ignored).

    `deviation` is in minutes as the meter sends it (UTC offset = -deviation); None
    sends 0x8000 'not specified' like the Swiss E450. `hundredths=False` sends 0xFF.
    """
    dev = 0x8000 if deviation is None else deviation & 0xFFFF
    if deviation is not None and not -720 <= deviation <= 720:
        raise ValueError(f"deviation {deviation} outside -720..720 minutes")
    return bytes(
        [
            *wall.year.to_bytes(2, "big"),
            wall.month,
            wall.day,
            wall.isoweekday(),
            wall.hour,
            wall.minute,
            wall.second,
            wall.microsecond // 10_000 if hundredths else 0xFF,
            *dev.to_bytes(2, "big"),
            0xFF if status is None else status,
        ]
    )


# --------------------------------------------------------------------------- Data-Notification


def capture_object(class_id: int, logical_name: str, attribute: int, data_index: int = 0) -> bytes:
    """One push_object_list entry: {class_id u16, LN octet-string(6), attribute i8, index u16}."""
    return structure(
        [
            long_unsigned(class_id),
            octet_string(obis(logical_name)),
            integer(attribute),
            long_unsigned(data_index),
        ]
    )


def data_notification(long_invoke_id: int, body: bytes, date_time_raw: bytes | None) -> bytes:
    """Data-Notification APDU (0x0F): long-invoke-id-and-priority, date-time, one Data body.

    The date-time is sent as a bare octet-string (length 12 + bytes, no 0x09 tag), or as
    the single byte 0x00 when the meter sends none.
    """
    if not 0 <= long_invoke_id <= 0xFFFFFFFF:
        raise ValueError("long-invoke-id-and-priority is 32 bits")
    if date_time_raw is None:
        stamp = b"\x00"
    elif len(date_time_raw) == 12:
        stamp = b"\x0c" + date_time_raw
    else:
        raise ValueError("a COSEM date-time is 12 bytes")
    return b"\x0f" + long_invoke_id.to_bytes(4, "big") + stamp + body


# --------------------------------------------------------------------------- security

SC_AUTHENTICATED = 0x10
SC_ENCRYPTED = 0x20
TAG_LENGTH = 12


def gcm_protect(
    plaintext: bytes,
    *,
    key: bytes,
    system_title: bytes,
    frame_counter: int,
    security_control: int,
    auth_key: bytes | None = None,
) -> bytes:
    """Apply suite-0/1 symmetric protection; return what follows SC and IC in the APDU.

    E only (0x20/0x21): AES-GCM ciphertext without tag (= CTR from counter 2), no AAD.
    A+E (0x30/0x31): ciphertext + 12-byte tag over AAD = SC || AK.
    A only (0x10/0x11): plaintext + tag over AAD = SC || AK || plaintext.
    """
    if len(key) != 16:
        raise ValueError("suite 0/1 needs a 16-byte block cipher key")
    if len(system_title) != 8:
        raise ValueError("the system title is 8 bytes")
    if security_control & 0xC0 or security_control & 0x0F not in (0, 1):
        raise ValueError(f"unsupported security control {security_control:#04x}")
    authenticated = bool(security_control & SC_AUTHENTICATED)
    encrypted = bool(security_control & SC_ENCRYPTED)
    if not (authenticated or encrypted):
        raise ValueError("security control without A or E bit protects nothing")
    if authenticated and (auth_key is None or len(auth_key) != 16):
        raise ValueError("authentication needs a 16-byte authentication key")
    iv = system_title + frame_counter.to_bytes(4, "big")
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    if authenticated:
        assert auth_key is not None  # checked above; narrows the type
        aad = bytes([security_control]) + auth_key
        encryptor.authenticate_additional_data(aad if encrypted else aad + plaintext)
    body = encryptor.update(plaintext) if encrypted else plaintext
    encryptor.finalize()
    return body + encryptor.tag[:TAG_LENGTH] if authenticated else body


def general_glo_ciphering(
    apdu: bytes,
    *,
    key: bytes,
    system_title: bytes,
    frame_counter: int,
    security_control: int,
    auth_key: bytes | None = None,
) -> bytes:
    """general-glo-ciphering APDU (0xDB): ST-len, system title, BER len, SC, IC, payload."""
    if not 0 <= frame_counter <= 0xFFFFFFFF:
        raise ValueError("the invocation counter is 32 bits")
    payload = gcm_protect(
        apdu,
        key=key,
        system_title=system_title,
        frame_counter=frame_counter,
        security_control=security_control,
        auth_key=auth_key,
    )
    protected = bytes([security_control]) + frame_counter.to_bytes(4, "big") + payload
    return b"\xdb\x08" + system_title + ber_length(len(protected)) + protected


# --------------------------------------------------------------------------- GBT

GBT_LAST_BLOCK = 0x80
GBT_STREAMING = 0x40


def gbt_block(
    block_number: int,
    data: bytes,
    *,
    last: bool,
    streaming: bool = True,
    window: int = 0,
    acknowledged: int = 0,
) -> bytes:
    """general-block-transfer APDU (0xE0): BC, BN(2), BNA(2), BER length, block data.

    The L+G E450 sets STR on every block (0x40) and LB on the last (0xC0).
    """
    if not 0 <= window <= 0x3F:
        raise ValueError("window is 6 bits")
    control = (GBT_LAST_BLOCK if last else 0) | (GBT_STREAMING if streaming else 0) | window
    return (
        bytes([0xE0, control])
        + block_number.to_bytes(2, "big")
        + acknowledged.to_bytes(2, "big")
        + ber_length(len(data))
        + data
    )


def split_sizes(total: int, sizes: Sequence[int]) -> list[int]:
    """Chunk sizes covering `total` bytes: `sizes` in order, the last size repeating."""
    if not sizes or any(size <= 0 for size in sizes):
        raise ValueError("chunk sizes must be positive")
    out: list[int] = []
    remaining = total
    index = 0
    while remaining > 0 or not out:
        size = min(sizes[min(index, len(sizes) - 1)], remaining)
        out.append(size)
        remaining -= size
        index += 1
        if total == 0:
            break
    return out


def gbt_blocks(apdu: bytes, sizes: Sequence[int]) -> list[bytes]:
    """Split an APDU into GBT blocks BN 1..n of the given data sizes (last size repeats)."""
    chunks = split_sizes(len(apdu), sizes)
    blocks = []
    offset = 0
    for number, size in enumerate(chunks, start=1):
        blocks.append(gbt_block(number, apdu[offset : offset + size], last=number == len(chunks)))
        offset += size
    return blocks


# --------------------------------------------------------------------------- HDLC

HDLC_FLAG = 0x7E
LLC_PUSH = b"\xe6\xe7\x00"
"""LLC header of a push (response direction): dest LSAP E6, source LSAP E7, quality 00."""

CTRL_UI_FINAL = 0x13
CTRL_UI = 0x03
HDLC_MAX_LENGTH = 0x7FF


def _check_address(address: bytes, what: str) -> None:
    """Check an HDLC address: 1, 2 or 4 bytes, only the last one with the LSB set."""
    if len(address) not in (1, 2, 4):
        raise ValueError(f"{what} address must be 1, 2 or 4 bytes")
    if address[-1] & 1 == 0 or any(b & 1 for b in address[:-1]):
        raise ValueError(f"{what} address: only its last byte may (and must) have the LSB set")


def hdlc_frame(
    info: bytes,
    *,
    destination: bytes,
    source: bytes,
    control: int = CTRL_UI_FINAL,
    segmented: bool = False,
) -> bytes:
    """One HDLC type-3 frame with flags: format, addresses, control, HCS, info, FCS.

    No byte stuffing: frame boundaries come from the 11-bit length in the format field.
    """
    _check_address(destination, "destination")
    _check_address(source, "source")
    header_len = 2 + len(destination) + len(source) + 1
    length = header_len + 2 + (len(info) + 2 if info else 0)
    if length > HDLC_MAX_LENGTH:
        raise ValueError(f"HDLC frame of {length} bytes exceeds the 11-bit length")
    fmt = 0xA000 | (0x0800 if segmented else 0) | length
    header = fmt.to_bytes(2, "big") + destination + source + bytes([control])
    body = header + _crc_bytes(header)
    if info:
        body += info
        body += _crc_bytes(body)
    return bytes([HDLC_FLAG]) + body + bytes([HDLC_FLAG])


def hdlc_segmented(
    payload: bytes,
    *,
    destination: bytes,
    source: bytes,
    max_info: int,
) -> list[bytes]:
    """Split a payload over HDLC frames with the S bit (Iskra AM550 style).

    All but the last frame carry S=1 and control 0x03; the last has S=0 and 0x13.
    """
    chunks = split_sizes(len(payload), [max_info])
    frames = []
    offset = 0
    for index, size in enumerate(chunks):
        last = index == len(chunks) - 1
        frames.append(
            hdlc_frame(
                payload[offset : offset + size],
                destination=destination,
                source=source,
                control=CTRL_UI_FINAL if last else CTRL_UI,
                segmented=not last,
            )
        )
        offset += size
    return frames


def hdlc_gbt(
    apdu: bytes,
    *,
    destination: bytes,
    source: bytes,
    max_info: int = 129,
    block_sizes: Sequence[int] | None = None,
) -> list[bytes]:
    """L+G E450/E570 style: one GBT block per complete HDLC frame, LLC only in the first.

    By default every frame's info field is filled up to `max_info` bytes (the E450
    sends 129: 119 block bytes in the first frame, 122 in the others); `block_sizes`
    overrides that (the E570 uses 116-byte blocks).
    """
    if block_sizes is None:
        first = max_info - len(LLC_PUSH) - 7
        rest = max_info - 7
        if first <= 0 or first >= 0x80 or rest >= 0x80:
            raise ValueError("max_info must keep blocks between 1 and 127 bytes")
        block_sizes = [first, rest]
    frames = []
    for index, block in enumerate(gbt_blocks(apdu, block_sizes)):
        info = (LLC_PUSH if index == 0 else b"") + block
        frames.append(hdlc_frame(info, destination=destination, source=source))
    return frames


# --------------------------------------------------------------------------- wired M-Bus

MBUS_START = 0x68
MBUS_STOP = 0x16
MBUS_SND_UD = 0x53
MBUS_BROADCAST = 0xFF
MBUS_FIN = 0x10


def mbus_checksum(data: bytes) -> int:
    """M-Bus checksum: arithmetic sum of C .. last data byte, modulo 256."""
    return sum(data) & 0xFF


def mbus_long_frame(
    data: bytes,
    *,
    ci: int,
    control: int = MBUS_SND_UD,
    address: int = MBUS_BROADCAST,
    stsap: int = 0x01,
    dtsap: int = 0x67,
    allow_overflow: bool = False,
) -> bytes:
    """One long frame `68 L L 68 C A CI STSAP DTSAP data CS 16`.

    L counts C..last data byte. Above 255 only with `allow_overflow`, which writes
    L mod 256 like the older Sagemcom T210-D firmware (257 -> 0x01).
    """
    body = bytes([control, address, ci, stsap, dtsap]) + data
    if len(body) > 0xFF and not allow_overflow:
        raise ValueError(f"M-Bus long frame of {len(body)} bytes: L is one byte")
    if len(body) > 0x1FF:
        raise ValueError("even the T210-D overflow stops at 511 bytes")
    length = len(body) & 0xFF
    return (
        bytes([MBUS_START, length, length, MBUS_START])
        + body
        + bytes([mbus_checksum(body), MBUS_STOP])
    )


def mbus_segments(
    apdu: bytes,
    *,
    segment_size: int = 245,
    first_segment_size: int | None = None,
) -> list[bytes]:
    """Split an APDU over wired M-Bus telegrams with CI segmentation.

    CI low nibble = segment number, 0x10 = FIN on the last (a single telegram is 0x10).
    `first_segment_size=252` reproduces the T210-D first segment with L = 0x01.
    """
    sizes = [first_segment_size or segment_size, segment_size]
    chunks = split_sizes(len(apdu), sizes)
    if len(chunks) > 16:
        raise ValueError("CI numbers at most 16 segments")
    frames = []
    offset = 0
    for index, size in enumerate(chunks):
        ci = index | (MBUS_FIN if index == len(chunks) - 1 else 0)
        frames.append(
            mbus_long_frame(
                apdu[offset : offset + size],
                ci=ci,
                allow_overflow=index == 0 and first_segment_size is not None,
            )
        )
        offset += size
    return frames


# --------------------------------------------------------------------------- IP wrapper


def ip_wrapper(
    apdu: bytes, *, source_wport: int = 0x0001, destination_wport: int = 0x0067
) -> bytes:
    """DLMS/COSEM IP wrapper: version 1, source and destination wPort, APDU length."""
    if len(apdu) > 0xFFFF:
        raise ValueError("the wrapper length field is 16 bits")
    return (
        b"\x00\x01"
        + source_wport.to_bytes(2, "big")
        + destination_wport.to_bytes(2, "big")
        + len(apdu).to_bytes(2, "big")
        + apdu
    )
