"""Drive gurux-dlms and dlms-cosem through a push, for the side-by-side throughput figures.

These two libraries are benchmark-only (GPL/commercial and BSL licences): this is the only
module that imports them, it does so inside functions, and only the benchmark environment
(.cache/bench-venv) has them installed. No code is copied from them; they are used through
their public classes.

Each `prepare_*` returns a `Decode` callable that turns one push (all its bytes, several
frames when the meter splits it) into the library's parsed values, or raises `UnsupportedError`
with the reason when the library cannot do this case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
from typing import Any

type Decode = Callable[[bytes], Any]


class UnsupportedError(Exception):
    """The library cannot decode this case; the message says why (printed in the table)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A ready decoder for one case and what it does (or skips) compared with ours."""

    decode: Decode
    note: str


class _NullWriter:
    """Swallows output: gurux prints lines such as 'Encryption is applied.' per push."""

    def write(self, text: str) -> int:
        """Drop the text."""
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence stdout while a library runs (its prints would dominate a terminal)."""
    with contextlib.redirect_stdout(_NullWriter()):  # type: ignore[type-var]
        yield


def count_leaves(value: Any) -> int:
    """Count the scalar values in a parsed A-XDR tree (lists are containers)."""
    if isinstance(value, list | tuple):
        return sum(count_leaves(item) for item in value)
    return 1


# --------------------------------------------------------------------------------------------
# gurux-dlms


def prepare_gurux(framing: str, key: bytes | None, auth_key: bytes | None) -> Prepared:
    """GXDLMSClient / GXDLMSSecureClient.getData over a GXByteBuffer, as push listeners do.

    One client per case (it keeps no per-push state we rely on). Wired M-Bus: gurux leaves
    each telegram's checksum and stop byte in the buffer, so the driver steps over those two
    bytes after every telegram it consumed (it does not check them).
    """
    from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
    from gurux_dlms.enums import InterfaceType, Security
    from gurux_dlms.secure import GXDLMSSecureClient

    interfaces = {
        "hdlc": InterfaceType.HDLC,
        "mbus": InterfaceType.WIRED_MBUS,
        "raw-apdu": InterfaceType.PDU,
        "llc": InterfaceType.PDU,
    }
    if framing not in interfaces:
        raise UnsupportedError(f"framing {framing!r}")
    interface = interfaces[framing]
    client: Any
    if key is not None:
        client = GXDLMSSecureClient(True, interfaceType=interface)
        client.ciphering.security = (
            Security.AUTHENTICATION_ENCRYPTION if auth_key else Security.ENCRYPTION
        )
        client.ciphering.blockCipherKey = key
        if auth_key:
            client.ciphering.authenticationKey = auth_key
    else:
        client = GXDLMSClient(True, interfaceType=interface)
    mbus = framing == "mbus"
    llc = framing == "llc"

    def decode(data: bytes) -> Any:
        buffer = GXByteBuffer(data[3:] if llc else data)
        notify = GXReplyData()
        reply = GXReplyData()
        with quiet():
            while buffer.position < buffer.size:
                before = buffer.position
                client.getData(buffer, reply, notify)
                if mbus and buffer.position != before:
                    buffer.position += 2
                for result in (notify, reply):
                    if result.complete and not result.isMoreData() and result.value is not None:
                        return result.value
                if buffer.position == before:
                    raise UnsupportedError(f"gurux stops at byte {before} without a push")
        raise UnsupportedError("gurux returns no complete push")

    note = "values as A-XDR tree (no OBIS mapping, no scaling)"
    if key is not None and auth_key:
        note += "; GCM tag computed but not compared"
    return Prepared(decode, note)


# --------------------------------------------------------------------------------------------
# dlms-cosem


def hdlc_frames(data: bytes) -> list[bytes]:
    """Split concatenated HDLC frames by their 11-bit length (no checks)."""
    frames = []
    pos = 0
    while pos + 3 <= len(data):
        if data[pos] != 0x7E or data[pos + 1] & 0xF0 != 0xA0:
            pos += 1
            continue
        length = ((data[pos + 1] & 0x07) << 8) | data[pos + 2]
        frames.append(data[pos : pos + length + 2])
        pos += length + 2
    return frames


def _hdlc_info_unchecked(frame: bytes) -> bytes:
    """Information field of a frame: skip format, both addresses, control, HCS; drop FCS."""
    pos = 3
    for _ in range(2):  # destination, then source address: last byte has LSB 1
        while not frame[pos] & 1:
            pos += 1
        pos += 1
    return frame[pos + 3 : -3]


def _mbus_data(data: bytes) -> list[bytes]:
    """Cut the data parts out of concatenated wired M-Bus long frames (no checksum check)."""
    parts = []
    pos = 0
    while pos + 4 <= len(data) and data[pos] == 0x68:
        length = data[pos + 1]
        parts.append(data[pos + 9 : pos + 4 + length])
        pos += length + 6
    return parts


def _ber_length(data: bytes, pos: int) -> tuple[int, int]:
    """Read a BER length at `pos` -> (length, position after it)."""
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _join_infos(infos: list[bytes]) -> bytes:
    """LLC header off, general-block-transfer blocks or HDLC segments joined into one APDU."""
    out = bytearray()
    for number, info in enumerate(infos):
        if number == 0 and info[:3] == b"\xe6\xe7\x00":
            info = info[3:]
        if info[:1] == b"\xe0":
            length, pos = _ber_length(info, 6)
            out += info[pos : pos + length]
        else:
            out += info
    return bytes(out)


def prepare_dlms_cosem(
    framing: str, key: bytes | None, auth_key: bytes | None, sample: bytes
) -> Prepared:
    """UnnumberedInformationFrame.from_bytes -> GeneralGlobalCipher -> DataNotification -> data.

    dlms-cosem has no general-block-transfer reassembly for pushes and no wired M-Bus, so the
    driver joins blocks/telegrams itself (slices, no checks). Where its HDLC parser rejects the
    frames (it reads a one-byte client address, the E450 sends two) the driver also splits the
    frames itself, without HCS/FCS checks: the note says so.
    """
    from dlms_cosem.dlms_data import DlmsDataParser
    from dlms_cosem.hdlc.frames import UnnumberedInformationFrame
    from dlms_cosem.protocol.xdlms.data_notification import DataNotification
    from dlms_cosem.protocol.xdlms.general_global_cipher import GeneralGlobalCipher

    def hdlc_checked(data: bytes) -> bytes:
        frames = hdlc_frames(data)
        infos = [bytes(UnnumberedInformationFrame.from_bytes(f).payload) for f in frames]
        return _join_infos(infos)

    def hdlc_unchecked(data: bytes) -> bytes:
        return _join_infos([_hdlc_info_unchecked(f) for f in hdlc_frames(data)])

    def mbus(data: bytes) -> bytes:
        return b"".join(_mbus_data(data))

    def bare(data: bytes) -> bytes:
        return _join_infos([data])

    notes = []
    split: Callable[[bytes], bytes]
    if framing == "hdlc":
        split = hdlc_checked
        try:
            hdlc_checked(sample)
        except Exception as err:  # any rejection means: use the fallback
            notes.append(f"own HDLC parser fails ({type(err).__name__}): frames split by driver")
            split = hdlc_unchecked
    elif framing == "mbus":
        notes.append("no M-Bus support: telegrams joined by driver, checksums unchecked")
        split = mbus
    elif framing in ("raw-apdu", "llc"):
        split = bare
    else:
        raise UnsupportedError(f"framing {framing!r}")

    apdu = split(sample)
    if apdu[:1] == b"\xdb":
        if key is None:
            raise UnsupportedError("encrypted, no key published")
        _, pos = _ber_length(apdu, 2 + apdu[1])
        control = apdu[pos]
        if not control & 0x10:
            raise UnsupportedError(f"SC 0x{control:02X} has no tag; dlms-cosem always expects one")
        if auth_key is None:
            raise UnsupportedError("needs the GAK (AAD): it always checks the tag")
    elif apdu[:1] != b"\x0f":
        raise UnsupportedError(f"APDU tag 0x{apdu[0]:02X} is not a data-notification")

    parser = DlmsDataParser()

    def decode(data: bytes) -> Any:
        plain = split(data)
        if plain[:1] == b"\xdb":
            plain = GeneralGlobalCipher.from_bytes(plain).to_plain_apdu(key, auth_key)
        notification = DataNotification.from_bytes(plain)
        return [item.to_python() for item in parser.parse(notification.body)]

    notes.append("values as A-XDR tree (no OBIS mapping, no scaling)")
    return Prepared(decode, "; ".join(notes))


RIVALS: tuple[str, ...] = ("gurux", "dlms-cosem")


def prepare_rival(
    name: str, framing: str, key: bytes | None, auth_key: bytes | None, sample: bytes
) -> Prepared:
    """Prepare rival `name` (one of RIVALS) for a case whose first push is `sample`."""
    if name == "gurux":
        return prepare_gurux(framing, key, auth_key)
    return prepare_dlms_cosem(framing, key, auth_key, sample)
