"""FrameHunter: finds link-layer frames in a noisy byte stream of arbitrary chunks.

Serial and TCP reads end anywhere, start mid-frame and carry line noise. The hunter
keeps one bounded buffer and repeatedly takes the *earliest* candidate header of any
framing: HDLC (`7E Ax`), wired M-Bus (`68 L L 68`), DLMS IP wrapper (`00 01 ...`), LLC
only (`E6 E7 00` + APDU), a bare APDU (`DB 08 XYZ...` or `0F ...`) or a DSMR text
telegram (`/XYZ5`). A candidate that fails validation costs one byte, never its claimed
length: a false header in garbage may claim a long length that hides the next real frame.

Checksummed frames (HDLC HCS/FCS, M-Bus sum) are trusted over checksum-less ones: a
checksum-less candidate is dropped when a valid checksummed frame lies inside it or after
it while it waits, and none is looked for inside a checksummed frame whose FCS failed.
"""

from __future__ import annotations

from collections.abc import Callable

from . import dsmr, hdlc, mbus
from .apdu import DATA_NOTIFICATION, parse_data_notification, parse_header_time
from .assembly import GENERAL_BLOCK_TRANSFER, LLC_COMMAND, LLC_RESPONSE, LinkFrame, RawApdu
from .axdr import TruncatedError, ValueSizer, read_length
from .descriptors import descriptor_list_size
from .errors import DecodeError, ErrorKind
from .push import ErrorEvent
from .security import CIPHERED_TAGS, ciphered_size

DEFAULT_MAX_BUFFER = 32768
MIN_MAX_BUFFER = 4096
GARBAGE_EVENT_BYTES = 1024  # report a long run of garbage before it ends
_SAMPLE = 64  # garbage bytes kept in the event for diagnostics
MAX_FILLER = 4  # flags / line ends between frames looked past on the fast path

_NEED = -1  # probe: more bytes needed
_NO = -2  # probe: not a frame

HDLC, MBUS, IP, LLC, BARE, DSMR = "hdlc", "mbus", "ip", "llc", "bare", "dsmr"
_CHECKSUMMED = (HDLC, MBUS)
_APDU_TAGS = frozenset((DATA_NOTIFICATION, GENERAL_BLOCK_TRANSFER, *CIPHERED_TAGS))
_DATE_MARKERS = frozenset((0x00, 0x0C, 0x09, 0x19))
_UPPER = frozenset(range(0x41, 0x5B))
_FILLER_HDLC = b"\x7e"
_FILLER_TEXT = b"\r\n"


class FrameHunter:
    """Turns byte chunks into validated link frames and `checksum`/`framing`/`incomplete` events."""

    __slots__ = (
        "_base",
        "_buf",
        "_filler",
        "_look_from",
        "_look_owner",
        "_max",
        "_need_at",
        "_need_end",
        "_need_exact",
        "_reported_until",
        "_run",
        "_sample",
        "_sizer",
        "_text_checked",
        "_unchecked_ok",
        "bytes_received",
        "frames",
        "garbage_bytes",
    )

    def __init__(self, *, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        """Create an empty hunter; `max_buffer` bounds memory and the longest frame."""
        if max_buffer < MIN_MAX_BUFFER:
            raise ValueError(f"max_buffer must be at least {MIN_MAX_BUFFER}")
        self._max = max_buffer
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._filler = b""  # bytes allowed after the last frame without being garbage
        self._reported_until = 0  # stream offset: bytes before it belong to a reported frame
        self._need_at = -1  # stream offset of a candidate known to need more bytes ...
        self._need_end = 0  # ... until the stream reaches this offset
        self._need_exact = False  # ... which is its exact end (its header was valid)
        # A bare Data-Notification being received: (stream offset, body offset, sizer).
        self._sizer: tuple[int, int, ValueSizer] | None = None
        self._look_owner = -1  # candidate whose look-ahead progress is _look_from
        self._look_from = 0
        self._text_checked = 0  # stream offset up to which a waiting telegram is plain text
        self._run = 0  # unreported garbage bytes since the last frame
        self._sample = bytearray()
        # Frames without a checksum (bare APDU, LLC only, IP wrapper) are accepted only
        # until the link shows HDLC or M-Bus frames: on such a link they can only be the
        # payload of a frame whose header was damaged, and nothing would check them.
        self._unchecked_ok = True
        self.bytes_received = 0
        self.garbage_bytes = 0
        self.frames = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def detach(self) -> bytes | None:
        """Hand the bytes after the last frame to the caller, as if they never came.

        For replay (replay.py): the start of the next push moves out of the hunter; if
        replay does not take it, the caller feeds it back. None while garbage waits to be
        reported (it must not be lost).
        """
        if self._run:
            return None
        data = bytes(self._buf)
        self._buf.clear()
        self._base += len(data)
        self.bytes_received -= len(data)
        self._need_at, self._sizer, self._look_owner, self._text_checked = -1, None, -1, 0
        return data

    def feed(self, data: bytes | bytearray | memoryview) -> list[LinkFrame | ErrorEvent]:
        """Add a chunk; returns the frames and errors it completes, in stream order."""
        self.bytes_received += len(data)
        self._buf += data
        return self._scan(final=False)

    def flush(self) -> list[LinkFrame | ErrorEvent]:
        """End of input: decode what is complete; a cut-off frame becomes `incomplete`."""
        out = self._scan(final=True)
        self._report_run(out)
        return out

    # -- scanning ---------------------------------------------------------------------

    def _scan(self, *, final: bool) -> list[LinkFrame | ErrorEvent]:
        """Take frames off the front of the buffer until it needs more bytes."""
        out: list[LinkFrame | ErrorEvent] = []
        buf = self._buf
        n = len(buf)
        pos = 0
        cache: dict[bytes, int] = {}
        while True:
            if n - pos == 1 and buf[pos] == hdlc.FLAG and not final:
                break  # the closing flag of the last frame: nothing to look at yet
            p, kind = self._next_candidate(pos, cache)
            if p != pos:
                self._discard(pos, p, out)
                pos = p
            if kind is None:
                break
            size = self._probe(kind, p, final=final)
            if size == _NO:
                self._discard(p, p + 1, out)
                pos = p + 1
                continue
            if size == _NEED:
                if final:
                    if self._valid_checksummed_in(p + 1, n, final=True) == "valid":
                        self._discard(p, p + 1, out)
                        pos = p + 1
                        continue
                    self._incomplete(p, out)
                    pos = n
                    break
                if n - p > self._max:
                    self._discard(p, p + 1, out)
                    pos = p + 1
                    continue
                if self._look_ahead(p) == "valid":
                    self._cut_short(kind, p, out)
                    self._discard(p, p + 1, out)
                    pos = p + 1
                    continue
                break
            if kind not in _CHECKSUMMED:
                inner = self._valid_checksummed_in(p + 1, p + size, final=final)
                if inner == "valid":
                    self._discard(p, p + 1, out)
                    pos = p + 1
                    continue
                if inner == "wait":
                    break
            pos = self._take(kind, p, size, out)
        if pos:
            del buf[:pos]
            self._base += pos
        return out

    def _next_candidate(self, pos: int, cache: dict[bytes, int]) -> tuple[int, str | None]:
        """Earliest candidate header at or after `pos` -> (index, kind); (len, None) if none."""
        buf = self._buf
        n = len(buf)
        bare_from = self._reported_until - self._base
        unchecked_ok = self._unchecked_ok
        # Fast path: in a clean stream the next frame starts right here, or after the
        # flag (or line end) that closed the previous one.
        q = pos
        while q < n:
            check = _MARKER_AT.get(buf[q])
            if check is not None:
                kind = check(buf, q, n)
                if kind is not None and (
                    kind in _CHECKSUMMED or (q >= bare_from and (unchecked_ok or kind == DSMR))
                ):
                    return q, kind
            if buf[q] not in self._filler or q - pos >= MAX_FILLER:
                break
            q += 1
        best, best_kind = n, None
        for marker, check in _MARKERS:
            i = cache.get(marker, -1)
            if i < pos:
                i = buf.find(marker, pos)
                if i < 0:
                    i = n
            while i < best:
                kind = check(buf, i, n)
                if kind is not None and (
                    kind in _CHECKSUMMED or (i >= bare_from and (unchecked_ok or kind == DSMR))
                ):
                    best, best_kind = i, kind
                    break
                i = buf.find(marker, i + 1)
                if i < 0:
                    i = n
            cache[marker] = i
        return best, best_kind

    def _probe(self, kind: str, p: int, *, final: bool) -> int:
        """Frame size of the candidate at `p`, or _NEED / _NO."""
        buf = self._buf
        n = len(buf)
        if not final and self._need_at == self._base + p and self._base + n < self._need_end:
            return _NEED  # known to be cut off: don't parse it again for every chunk
        need = n + 1
        if kind == HDLC:
            if p + 3 <= n:
                size = (((buf[p + 1] & 0x07) << 8) | buf[p + 2]) + 2
                if p + size <= n:
                    return size  # complete: parse_frame checks header and FCS at once
            size = hdlc.probe(buf, p)
        elif kind == MBUS:
            size = mbus.probe(buf, p)
            if size > 0 and p + size <= n and buf[p + size - 1] != mbus.STOP:
                return _NO
        elif kind == DSMR:
            checked = self._text_checked - self._base if self._need_at == self._base + p else 0
            size = dsmr.telegram_size(buf, p, min(self._max, dsmr.MAX_TELEGRAM), checked)
            # Any '!' lies in the last 5 bytes when more are needed: the rest is text.
            self._text_checked = self._base + max(p, n - 5)
        else:
            size, need = self._apdu_frame_size(kind, p)
        if size == _NO:
            return _NO
        if size == _NEED or p + size > n:
            end = p + size if size > 0 else need
            if end - p > self._max:
                return _NO
            self._need_at = self._base + p
            self._need_end = self._base + end
            self._need_exact = size > 0
            return _NEED
        return size

    def _apdu_frame_size(self, kind: str, p: int) -> tuple[int, int]:
        """Size of an IP-wrapper, LLC or bare candidate -> (size or _NEED/_NO, bytes needed)."""
        buf = self._buf
        n = len(buf)
        if kind == IP:
            if p + 8 > n:
                return _NEED, p + 8
            length = (buf[p + 6] << 8) | buf[p + 7]
            if length == 0 or length + 8 > self._max:
                return _NO, 0
            inner, _ = _apdu_size(buf, p + 8)
            if inner == _NEED:
                # The APDU is cut off: fine while the wrapper is too; else they disagree.
                return (_NEED, p + 8 + length) if p + 8 + length > n else (_NO, 0)
            return (length + 8 if inner == length else _NO), 0
        start = p + 3 if kind == LLC else p
        if start < n and buf[start] == DATA_NOTIFICATION:
            inner, need = self._notification_size(start)
        else:
            inner, need = _apdu_size(buf, start)
        if inner < 0:
            return inner, need
        return inner + start - p, start + inner

    def _descriptor_list_size(
        self, start: int, state: tuple[int, int, ValueSizer] | None
    ) -> tuple[int, int]:
        """Size a body that is no A-XDR value: a descriptor list (descriptors.py) or no push.

        Such a body is walked from its start again for every chunk; XT211 pushes are a
        few hundred bytes once a minute.
        """
        if state is None:
            return _NO, 0
        body = start + state[1]
        try:
            size = descriptor_list_size(self._buf, body)
        except TruncatedError as err:
            return _NEED, err.needed
        except DecodeError:
            return _NO, 0
        return size + state[1], body + size

    def _notification_size(self, start: int) -> tuple[int, int]:
        """Size of a bare Data-Notification -> (size or _NEED/_NO, bytes needed).

        It has no length field: a sizer kept across chunks finds its end, so a push that
        trickles in is walked once, not once per chunk.
        """
        buf = self._buf
        key = self._base + start
        state = self._sizer
        try:
            if state is None or state[0] != key:
                if start + 5 > len(buf):
                    return _NEED, start + 5
                _, body = parse_header_time(buf, start + 5)
                state = self._sizer = (key, body - start, ValueSizer())
            size = state[2].scan(buf, start + state[1])
        except TruncatedError as err:
            return _NEED, err.needed
        except DecodeError:
            self._sizer = None
            return self._descriptor_list_size(start, state)
        if size is None:
            return _NEED, start + state[1] + state[2].offset + 1
        self._sizer = None
        size += state[1]
        return size, start + size

    def _cut_short(self, kind: str, p: int, out: list[LinkFrame | ErrorEvent]) -> None:
        """Report a checksummed frame with a valid header that the next frame interrupts.

        Bytes were lost on the line: the frame can never complete. Its bytes are not
        searched for checksum-less frames (they would be unchecked pieces of it).
        """
        if kind not in _CHECKSUMMED or not self._need_exact:
            return
        stop = self._look_from - self._base  # where the valid frame starts
        if self._run:
            self._report_run(out)
        raw = bytes(self._buf[p:stop])
        out.append(
            ErrorEvent(ErrorKind.INCOMPLETE, f"frame cut short after {len(raw)} bytes", raw=raw)
        )
        self._reported_until = max(self._reported_until, self._base + stop)

    def _look_ahead(self, p: int) -> str:
        """Check for a valid checksummed frame after the candidate at `p`, which waits."""
        owner = self._base + p
        if self._look_owner != owner:
            self._look_owner = owner
            self._look_from = owner + 1
        start = max(p + 1, self._look_from - self._base)
        # Only frames that start inside the candidate's known minimum size prove it
        # false: one-shot decoding would find them by the inner check (same results
        # whatever the chunking).
        stop = len(self._buf)
        if self._need_at == owner:
            stop = min(stop, self._need_end - self._base)
        result, resume = self._scan_checksummed(start, stop, final=False)
        self._look_from = self._base + resume
        return result

    def _valid_checksummed_in(self, start: int, stop: int, *, final: bool) -> str:
        """Return 'valid' if a valid HDLC/M-Bus frame starts in [start, stop), 'wait' if one may."""
        return self._scan_checksummed(start, stop, final=final)[0]

    def _scan_checksummed(self, start: int, stop: int, *, final: bool) -> tuple[str, int]:
        """Look for a valid checksummed frame starting in [start, stop) -> (result, resume)."""
        buf = self._buf
        n = len(buf)
        h = buf.find(b"\x7e", start, stop)
        m = buf.find(b"\x68", start, stop)
        while h >= 0 or m >= 0:
            is_hdlc = h >= 0 and (m < 0 or h < m)
            if is_hdlc:
                i = h
                h = buf.find(b"\x7e", i + 1, stop)
                size = hdlc.probe(buf, i) if i + 1 >= n or buf[i + 1] & 0xF0 == 0xA0 else _NO
            else:
                i = m
                m = buf.find(b"\x68", i + 1, stop)
                size = mbus.probe(buf, i)
            if size == _NEED or (size > 0 and i + size > n):
                if not final:
                    return "wait", i
            elif size > 0 and _checksummed_valid(bytes(buf[i : i + size]), is_hdlc=is_hdlc):
                return "valid", i
        return "none", max(start, min(stop, n))

    # -- results ----------------------------------------------------------------------

    def _take(self, kind: str, p: int, size: int, out: list[LinkFrame | ErrorEvent]) -> int:
        """Validate and emit the complete candidate at `p`; returns where scanning goes on."""
        raw = bytes(self._buf[p : p + size])
        frame: LinkFrame
        try:
            if kind == HDLC:
                frame = hdlc.parse_frame(raw)
            elif kind == MBUS:
                frame = mbus.parse_frame(raw)
            elif kind == DSMR:
                frame = RawApdu(DSMR, raw, raw)
            elif kind == LLC:
                frame = RawApdu(LLC, raw[3:], raw)
            elif kind == IP:
                frame = RawApdu(IP, raw[8:], raw)
            else:
                frame = RawApdu(BARE, raw, raw)
        except hdlc.HeaderError:
            self._discard(p, p + 1, out)  # no frame header: a 0x7E in garbage
            return p + 1
        except DecodeError as err:
            if self._run:
                self._report_run(out)
            out.append(ErrorEvent(err.kind, err.detail, raw=raw))
            if kind == MBUS and err.kind is ErrorKind.FRAMING:
                return p + size  # a valid M-Bus frame that carries no DLMS
            self._reported_until = max(self._reported_until, self._base + p + size)
            self._discard(p, p + 1, out)
            return p + 1
        if self._run:
            self._report_run(out)
        self.frames += 1
        if kind in _CHECKSUMMED:
            self._unchecked_ok = False
        self._need_at = -1
        out.append(frame)
        if kind == HDLC:
            self._filler = _FILLER_HDLC
            return p + size - 1  # the closing flag may open the next frame
        self._filler = _FILLER_TEXT if kind == DSMR else b""
        return p + size

    def _discard(self, start: int, stop: int, out: list[LinkFrame | ErrorEvent]) -> None:
        """Drop buf[start:stop] as garbage (flags and line ends after a frame excepted)."""
        if start >= stop:
            return
        buf = self._buf
        filler = self._filler
        if filler:
            while start < stop and buf[start] in filler:
                start += 1
            if start >= stop:
                return
            self._filler = b""
        self.garbage_bytes += stop - start
        unreported_from = max(start, self._reported_until - self._base)
        if unreported_from < stop:
            if len(self._sample) < _SAMPLE:
                self._sample += buf[unreported_from : min(stop, unreported_from + _SAMPLE)]
            self._run += stop - unreported_from
            if self._run >= GARBAGE_EVENT_BYTES:
                self._report_run(out)

    def _report_run(self, out: list[LinkFrame | ErrorEvent]) -> None:
        """Emit one `framing` event for the garbage skipped since the last report."""
        if self._run:
            out.append(
                ErrorEvent(
                    ErrorKind.FRAMING,
                    f"{self._run} byte(s) that are no frame skipped",
                    raw=bytes(self._sample[:_SAMPLE]),
                )
            )
        self._run = 0
        self._sample = bytearray()

    def _incomplete(self, p: int, out: list[LinkFrame | ErrorEvent]) -> None:
        """End of input inside a candidate: report it (unless it is only trailing flags)."""
        rest = bytes(self._buf[p:])
        if not rest.strip(_FILLER_HDLC + self._filler):
            return  # only closing flags (or line ends) left
        if self._base + len(self._buf) <= self._reported_until:
            return  # the tail of a frame already reported as bad
        self._report_run(out)
        out.append(
            ErrorEvent(
                ErrorKind.INCOMPLETE, f"input ends inside a frame ({len(rest)} bytes)", raw=rest
            )
        )
        self._need_at = -1


def _checksummed_valid(raw: bytes, *, is_hdlc: bool) -> bool:
    """Whether a complete HDLC or M-Bus candidate has correct checksums."""
    if is_hdlc:
        try:
            hdlc.parse_frame(raw)
        except DecodeError:
            return False
        return True
    return raw[-1] == mbus.STOP and sum(raw[4:-2]) & 0xFF == raw[-2]


def _apdu_size(buf: bytearray, start: int) -> tuple[int, int]:
    """Size of the APDU at `start` (DB/DC, 0F, E0) -> (size or _NEED/_NO, bytes needed)."""
    n = len(buf)
    if start >= n:
        return _NEED, start + 1
    tag = buf[start]
    try:
        if tag in CIPHERED_TAGS:
            size = ciphered_size(buf, start)
        elif tag == DATA_NOTIFICATION:
            _, end = parse_data_notification(bytes(buf), start)
            size = end - start
        elif tag == GENERAL_BLOCK_TRANSFER:
            if start + 6 > n:
                return _NEED, start + 6
            length, data = read_length(buf, start + 6)
            size = data - start + length
        else:
            return _NO, 0
    except TruncatedError as err:
        return _NEED, err.needed
    except DecodeError:
        return _NO, 0
    return size, start + size


# -- candidate header patterns ----------------------------------------------------------
# Each takes (buffer, index of the marker byte, buffer length) and returns the kind when
# the bytes there can start that framing (bytes not yet received count as matching).


def _is_hdlc(buf: bytearray, i: int, n: int) -> str | None:
    """`7E Ax`."""
    return HDLC if i + 1 >= n or buf[i + 1] & 0xF0 == 0xA0 else None


def _is_mbus(buf: bytearray, i: int, n: int) -> str | None:
    """`68 L L 68`."""
    if i + 2 < n and buf[i + 2] != buf[i + 1]:
        return None
    if i + 3 < n and buf[i + 3] != mbus.START:
        return None
    return MBUS


def _is_ciphered(buf: bytearray, i: int, n: int) -> str | None:
    """`DB 08` (or `DC 08`) + a three-letter upper-case FLAG id."""
    if i + 1 < n and buf[i + 1] != 8:
        return None
    for j in range(i + 2, min(i + 5, n)):
        if buf[j] not in _UPPER:
            return None
    return BARE


def _is_notification(buf: bytearray, i: int, n: int) -> str | None:
    """`0F` + invoke id + date-time (month and day checked) + a structure or array body."""
    if i + 5 >= n:
        return BARE
    marker = buf[i + 5]
    if marker not in _DATE_MARKERS:
        return None
    if marker == 0x00:
        body = i + 6
    elif marker == 0x09:
        if i + 6 >= n:
            return BARE
        if buf[i + 6] == 0x00:
            body = i + 7
        elif buf[i + 6] == 0x0C:
            body = i + 19
        else:
            return None
    else:
        body = i + 18  # 0C or 19, then 12 bytes
    if body - i >= 18 and body - 9 < n:  # a 12-byte date-time ends at `body`
        month, day = buf[body - 10], buf[body - 9]
        if not (1 <= month <= 12 or month >= 0xFD) or not (1 <= day <= 31 or day >= 0xFD):
            return None
    if body < n and buf[body] not in (0x01, 0x02):
        return None
    return BARE


def _is_llc(buf: bytearray, i: int, n: int) -> str | None:
    """`E6 E7 00` (or `E6 E6 00`) + an APDU tag."""
    head = bytes(buf[i : i + 3])
    if not (LLC_RESPONSE.startswith(head) or LLC_COMMAND.startswith(head)):
        return None
    return LLC if i + 3 >= n or buf[i + 3] in _APDU_TAGS else None


def _is_wrapper(buf: bytearray, i: int, n: int) -> str | None:
    """`00 01` + source and destination wPort + length + an APDU tag."""
    if i + 1 < n and buf[i + 1] != 0x01:
        return None
    if i + 8 < n and buf[i + 8] not in _APDU_TAGS:
        return None
    return IP


def _is_dsmr(buf: bytearray, i: int, n: int) -> str | None:
    """`/XYZ5`: a DSMR / IEC 62056-21 identification line."""
    return DSMR if dsmr.is_header(buf, i) is not False else None


_MARKERS: tuple[tuple[bytes, Callable[[bytearray, int, int], str | None]], ...] = (
    (b"\x7e", _is_hdlc),
    (b"\x68", _is_mbus),
    (b"\xdb", _is_ciphered),
    (b"\xdc", _is_ciphered),
    (b"\x0f", _is_notification),
    (b"\xe6", _is_llc),
    (b"\x00", _is_wrapper),
    (b"\x2f", _is_dsmr),
)
_MARKER_AT = {marker[0]: check for marker, check in _MARKERS}
