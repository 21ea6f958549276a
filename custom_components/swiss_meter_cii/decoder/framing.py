"""FrameHunter: finds link-layer frames in a noisy byte stream of arbitrary chunks.

Serial and TCP reads end anywhere, start mid-frame and carry line noise. The hunter keeps
one bounded buffer and repeatedly takes the *earliest* candidate header of any framing in
the registry below (framing_*.py: HDLC, wired M-Bus, DLMS IP wrapper, LLC only, bare APDU,
DSMR text). Each framing says how its frames start, are sized and parsed; the hunter keeps the
buffer, the garbage reports, which candidate waits for bytes, and the trust between
framings (docs/protocol.md, "Finding frames in a byte stream").

A candidate that fails validation costs one byte, never its claimed length: a false header
in garbage may claim a long length that hides the next real frame. Checksummed frames (HDLC
HCS/FCS, M-Bus sum) are trusted over checksum-less ones: a checksum-less candidate is
dropped when a valid checksummed frame lies inside it or after it while it waits, and none
is looked for inside a checksummed frame whose FCS failed.
"""

from __future__ import annotations

from . import framing_bare, framing_dsmr, framing_hdlc, framing_llc, framing_mbus, framing_wrapper

# A bare Data-Notification is sized by the A-XDR sizer (framing_apdus.py), never parsed whole.
from .assembly import LinkFrame
from .errors import DecodeError, ErrorKind
from .framing_base import NEED, NO, Checksum, Framing, Sizer
from .push import ErrorEvent

# The registry: every framing the hunter looks for, one module each (framing_base.py says
# what a framing declares). Order does not matter: no two framings share a marker byte, and
# the hunter takes the earliest candidate of any framing.
FRAMINGS: tuple[Framing, ...] = (
    framing_hdlc.FRAMING,
    framing_mbus.FRAMING,
    framing_wrapper.FRAMING,
    framing_llc.FRAMING,
    framing_bare.FRAMING,
    framing_dsmr.FRAMING,
)

DEFAULT_MAX_BUFFER = 32768
MIN_MAX_BUFFER = 4096
GARBAGE_EVENT_BYTES = 1024  # report a long run of garbage before it ends
_SAMPLE = 64  # garbage bytes kept in the event for diagnostics
MAX_FILLER = 4  # flags / line ends between frames looked past on the fast path


# The registry by marker byte. Markers are searched one by one with bytes.find (memchr),
# far faster than one pattern for all of them over long stretches of payload or garbage.
_AT: dict[int, Framing] = {m: f for f in FRAMINGS for m in f.markers}
_MARKERS: tuple[tuple[bytes, Framing], ...] = tuple((bytes((m,)), f) for m, f in _AT.items())
_CHECKED: tuple[tuple[bytes, Checksum], ...] = tuple(
    (bytes((m,)), f.checksum) for m, f in _AT.items() if f.checksum is not None
)
_FLAGS = bytes(f.flag for f in FRAMINGS if f.flag is not None)  # closing bytes, idle fill


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
        "_sizers",
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
        # Each framing's sizing state (a Data-Notification being walked, a telegram's text
        # checked so far), made when the framing first sizes a candidate.
        self._sizers: dict[Framing, Sizer] = {}
        self._look_owner = -1  # candidate whose look-ahead progress is _look_from
        self._look_from = 0
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
        self._need_at, self._look_owner = -1, -1
        self._sizers.clear()
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
            if n - pos == 1 and buf[pos] in _FLAGS and not final:
                break  # the closing flag of the last frame: nothing to look at yet
            p, framing = self._next_candidate(pos, cache)
            if p != pos:
                self._discard(pos, p, out)
                pos = p
            if framing is None:
                break
            size = self._probe(framing, p, final=final)
            if size == NO:
                self._discard(p, p + 1, out)
                pos = p + 1
                continue
            if size == NEED:
                if final:
                    if self._scan_checksummed(p + 1, n, final=True)[0] == "valid":
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
                    self._cut_short(framing, p, out)
                    self._discard(p, p + 1, out)
                    pos = p + 1
                    continue
                break
            if framing.checksum is None:
                inner = self._scan_checksummed(p + 1, p + size, final=final)[0]
                if inner == "valid":
                    self._discard(p, p + 1, out)
                    pos = p + 1
                    continue
                if inner == "wait":
                    break
            pos = self._take(framing, p, size, out)
        if pos:
            del buf[:pos]
            self._base += pos
        return out

    def _next_candidate(self, pos: int, cache: dict[bytes, int]) -> tuple[int, Framing | None]:
        """Earliest candidate header at or after `pos` -> (index, framing); (len, None) if none.

        `cache`: per marker, its next occurrence not yet refused during this scan (a refusal
        stands: the buffer and the trust only shrink what is accepted while a scan runs).
        """
        buf = self._buf
        n = len(buf)
        bare_from = self._reported_until - self._base
        unchecked_ok = self._unchecked_ok
        # Fast path: in a clean stream the next frame starts right here, or after the
        # flag (or line end) that closed the previous one.
        q = pos
        while q < n:
            framing = _AT.get(buf[q])
            if (
                framing is not None
                and framing.candidate(buf, q, n)
                and (
                    framing.checksum is not None
                    or (q >= bare_from and (unchecked_ok or framing.standalone))
                )
            ):
                return q, framing
            if buf[q] not in self._filler or q - pos >= MAX_FILLER:
                break
            q += 1
        best, best_framing = n, None
        for marker, framing in _MARKERS:
            i = cache.get(marker, -1)
            if i < pos:
                i = buf.find(marker, pos)
                if i < 0:
                    i = n
            while i < best:
                if framing.candidate(buf, i, n) and (
                    framing.checksum is not None
                    or (i >= bare_from and (unchecked_ok or framing.standalone))
                ):
                    best, best_framing = i, framing
                    break
                i = buf.find(marker, i + 1)
                if i < 0:
                    i = n
            cache[marker] = i
        return best, best_framing

    def _probe(self, framing: Framing, p: int, *, final: bool) -> int:
        """Frame size of the candidate at `p`, or NEED / NO."""
        buf = self._buf
        n = len(buf)
        base = self._base
        if not final and self._need_at == base + p and base + n < self._need_end:
            return NEED  # known to be cut off: don't size it again for every chunk
        sizer = self._sizers.get(framing)
        if sizer is None:
            sizer = self._sizers[framing] = framing.new_sizer()
        size, need = sizer(buf, p, base, self._max)
        if size == NO:
            return NO
        if size == NEED or p + size > n:
            end = p + size if size > 0 else need
            if end - p > self._max:
                return NO
            self._need_at = base + p
            self._need_end = base + end
            self._need_exact = size > 0
            return NEED
        return size

    def _cut_short(self, framing: Framing, p: int, out: list[LinkFrame | ErrorEvent]) -> None:
        """Report a checksummed frame with a valid header that the next frame interrupts.

        Bytes were lost on the line: the frame can never complete. Its bytes are not
        searched for checksum-less frames (they would be unchecked pieces of it).
        """
        if framing.checksum is None or not self._need_exact:
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

    def _scan_checksummed(self, start: int, stop: int, *, final: bool) -> tuple[str, int]:
        """Look for a valid checksummed frame starting in [start, stop) -> (result, resume).

        'valid' if one starts there, 'wait' if one may (not final), else 'none'. The earliest
        decides: each framing's search ends where an earlier one was found.
        """
        buf = self._buf
        n = len(buf)
        result = "none"
        for marker, checksum in _CHECKED:
            i = buf.find(marker, start, stop)
            while i >= 0:
                size = checksum.header_size(buf, i)
                if size == NEED or (size > 0 and i + size > n):
                    if not final:
                        result, stop = "wait", i
                        break
                elif size > 0 and checksum.valid(bytes(buf[i : i + size])):
                    result, stop = "valid", i
                    break
                i = buf.find(marker, i + 1, stop)
        return result, stop if result != "none" else max(start, min(stop, n))

    # -- results ----------------------------------------------------------------------

    def _take(self, framing: Framing, p: int, size: int, out: list[LinkFrame | ErrorEvent]) -> int:
        """Validate and emit the complete candidate at `p`; returns where scanning goes on."""
        raw = bytes(self._buf[p : p + size])
        try:
            frame = framing.parse(raw)
        except framing.not_a_frame:
            self._discard(p, p + 1, out)  # no frame header: a marker byte in garbage
            return p + 1
        except DecodeError as err:
            if self._run:
                self._report_run(out)
            out.append(ErrorEvent(err.kind, err.detail, raw=raw))
            if err.kind is framing.skip_whole:
                return p + size  # a valid frame that carries no DLMS
            self._reported_until = max(self._reported_until, self._base + p + size)
            self._discard(p, p + 1, out)
            return p + 1
        if self._run:
            self._report_run(out)
        self.frames += 1
        if framing.checksum is not None:
            self._unchecked_ok = False
        self._need_at = -1
        out.append(frame)
        self._filler = framing.filler
        if framing.flag is not None:
            return p + size - 1  # the closing flag may open the next frame
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
            detail = f"{self._run} byte(s) that are no frame skipped"
            out.append(ErrorEvent(ErrorKind.FRAMING, detail, raw=bytes(self._sample[:_SAMPLE])))
        self._run = 0
        self._sample = bytearray()

    def _incomplete(self, p: int, out: list[LinkFrame | ErrorEvent]) -> None:
        """End of input inside a candidate: report it (unless it is only trailing flags)."""
        rest = bytes(self._buf[p:])
        if not rest.strip(_FLAGS + self._filler):
            return  # only closing flags (or line ends) left
        if self._base + len(self._buf) <= self._reported_until:
            return  # the tail of a frame already reported as bad
        self._report_run(out)
        detail = f"input ends inside a frame ({len(rest)} bytes)"
        out.append(ErrorEvent(ErrorKind.INCOMPLETE, detail, raw=rest))
        self._need_at = -1
