"""Decode throughput: this project's decoder, gurux-dlms and dlms-cosem on the same bytes.

Every decoder gets the same pushes and does, as far as it can, the same work: find the
frames, reassemble (GBT blocks, HDLC segments, M-Bus telegrams), decrypt and check the GCM
tag, parse the A-XDR body to values. Where a library does less, the notes say so.

Run with scripts/benchmark throughput (it makes the benchmark environment); --profile adds
a cProfile of our decoder on the encrypted E450 push.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
import cProfile
from dataclasses import dataclass, field, replace
import gc
from importlib import metadata
import io
import pstats
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from simulator.encoder import crc16_x25

from .cases import Case, simulated_cases, vector_cases
from .common import decoder_module, machine_line
from .rivals import RIVALS, Prepared, UnsupportedError, count_leaves, hdlc_frames, prepare_rival

if TYPE_CHECKING:
    from custom_components.swiss_meter_cii.decoder.push import ErrorEvent, Push
    from custom_components.swiss_meter_cii.decoder.stream import StreamDecoder

E450_CASE: Final = "sim-e450-gcm-tag"
TARGET_VS_FLOOR: Final = 4.0  # steady state, as a multiple of the C-level work
TARGET_CHUNKED: Final = 1.2  # 64-byte reads against whole pushes
CHUNK: Final = 64  # bytes per read in the "chunked" variant (a TCP segment, a serial read)
RHYTHM_GAP: Final = 0.25  # seconds of idle before each push timed at the meters' rhythm
RHYTHM_PUSHES: Final = 30


@dataclass(slots=True)
class Ours:
    """The project's decoder, imported without Home Assistant."""

    stream_decoder: type[StreamDecoder]
    decode_capture: Callable[..., list[Push | ErrorEvent]]
    push_type: type[Push]

    @classmethod
    def load(cls) -> Ours:
        """Import `decoder` from the integration folder (as scripts/decode does)."""
        module = decoder_module()
        return cls(
            stream_decoder=module.StreamDecoder,
            decode_capture=module.decode_capture,
            push_type=module.Push,
        )


@dataclass(slots=True)
class Timing:
    """Microseconds per push: best and median of the repeats."""

    best: float
    median: float

    @property
    def per_second(self) -> float:
        """Pushes per second at the best time."""
        return 1e6 / self.best


@dataclass(slots=True)
class Row:
    """One case's results."""

    case: Case
    values: int = 0
    ours_stream: Timing | None = None
    ours_chunked: Timing | None = None
    ours_oneshot: Timing | None = None
    floor: Timing | None = None
    gurux: Timing | None = None
    dlms_cosem: Timing | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def ours(self) -> Timing | None:
        """Pick the figure the ratios use.

        A long-lived stream decoder when there are several consecutive pushes (what the
        integration runs), else a one-shot decode.
        """
        return self.ours_stream or self.ours_oneshot


def measure(
    runs: dict[str, tuple[Callable[[], object], int]], min_time: float, repeats: int
) -> dict[str, Timing]:
    """timeit-style, interleaved: µs per push of every run, best and median of the repeats.

    Each run gets loops so that one repeat lasts >= min_time; then the repeats go round
    the runs in turn, so that a phase of load on this shared machine hits all of them
    alike and the ratios between them stay true. Counts the CPU time of this process
    (time.process_time), not wall time.
    """
    clock = time.process_time
    loops: dict[str, int] = {}
    samples: dict[str, list[float]] = {}
    for name, (run, pushes) in runs.items():
        count = 1
        while True:
            gc.collect()
            start = clock()
            for _ in range(count):
                run()
            elapsed = clock() - start
            if elapsed >= min_time:
                break
            count = max(count * 2, int(count * min_time / max(elapsed, 1e-9) * 1.1))
        loops[name] = count
        samples[name] = [elapsed / (count * pushes)]
    for _ in range(repeats - 1):
        for name, (run, pushes) in runs.items():
            gc.collect()
            start = clock()
            for _ in range(loops[name]):
                run()
            samples[name].append((clock() - start) / (loops[name] * pushes))
    return {
        name: Timing(best=min(values) * 1e6, median=statistics.median(values) * 1e6)
        for name, values in samples.items()
    }


# --------------------------------------------------------------------------------------------
# Our decoder


def stream_run(
    ours: Ours, case: Case, chunk: int | None = None
) -> Callable[[], list[Push | ErrorEvent]]:
    """One StreamDecoder per pass, fed every push in order (as the reader does)."""
    pieces: list[bytes] = list(case.pushes)
    if chunk:
        joined = b"".join(case.pushes)
        pieces = [joined[i : i + chunk] for i in range(0, len(joined), chunk)]

    def run() -> list[Push | ErrorEvent]:
        decoder = ours.stream_decoder(key=case.key, auth_key=case.auth_key, model=case.model)
        events: list[Push | ErrorEvent] = []
        for piece in pieces:
            events += decoder.feed(piece)
        return events

    return run


def oneshot_run(ours: Ours, case: Case) -> Callable[[], list[Push | ErrorEvent]]:
    """decode_capture per push: includes setting the decoder up (key, GCM context)."""

    def run() -> list[Push | ErrorEvent]:
        events: list[Push | ErrorEvent] = []
        for push in case.pushes:
            events += ours.decode_capture(
                push, key=case.key, auth_key=case.auth_key, model=case.model
            )
        return events

    return run


def floor_run(ours: Ours, case: Case) -> Callable[[], None]:
    """Time the C-level work no decoder can skip, on the same bytes: checksums, AES-GCM.

    Per frame the check its link layer needs (HDLC: CRC-16/X.25 of the FCS range, done
    as decoder/crc.py does it, `bytes.translate` + `binascii.crc_hqx`; M-Bus: the byte
    sum); per ciphered APDU the AES-GCM decryption with its 12-byte tag (or the keystream
    alone when the push has no tag or the GAK is not known), with `cryptography`, in the
    cheapest way it offers: one reusable `AESGCM` key object, as decoder/security.py
    does (a `Cipher(...)` context per push redoes the key schedule and costs twice as much;
    the floor follows the decoder to the cheapest call, so a ratio never flatters us).
    Where the frames are, where the APDU starts and which IV it uses are prepared
    beforehand by our own decoder and not timed: this is a floor, not a decoder.
    """
    import binascii
    from hmac import compare_digest

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    module = decoder_module()
    security = sys.modules[f"{module.__name__}.security"]
    framing = sys.modules[f"{module.__name__}.framing"]
    seen: list[Any] = []
    original = security.Decryptor.decrypt

    def spy(self: Any, apdu: Any) -> Any:
        seen.append(apdu)
        return original(self, apdu)

    hunter = framing.FrameHunter()
    frames: list[bytes] = []
    security.Decryptor.decrypt = spy
    try:
        decoder = ours.stream_decoder(key=case.key, auth_key=case.auth_key, model=case.model)
        for push in case.pushes:
            decoder.feed(push)
            frames += [f.raw for f in hunter.feed(push) if hasattr(f, "raw")]
    finally:
        security.Decryptor.decrypt = original
    reverse = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
    hdlc = [f[1:-3] for f in frames if f[0] == 0x7E]
    mbus = [f[4:-2] for f in frames if f[0] == 0x68]
    aes = AESGCM(case.key or bytes(16))  # unused without a key (no ciphered APDUs)
    gcm: list[tuple[bytes, bytes, bytes, bytes]] = []
    ctr: list[tuple[bytes, bytes]] = []
    for apdu in seen:
        iv = apdu.system_title + apdu.invocation_counter.to_bytes(4, "big")
        if apdu.auth_tag is not None and case.auth_key is not None:
            aad = bytes((apdu.security_control,)) + case.auth_key
            gcm.append((iv, apdu.auth_tag, aad, apdu.payload))
        elif apdu.security_control & 0x20:
            ctr.append((iv, apdu.payload))
    crc = binascii.crc_hqx
    encrypt = aes.encrypt

    def run() -> None:
        for body in hdlc:
            crc(body.translate(reverse), 0xFFFF)
        for body in mbus:
            sum(body)
        for iv, tag, aad, payload in gcm:  # keystream, then the tag over the ciphertext
            plaintext = encrypt(iv, payload, None)[:-16]
            compare_digest(encrypt(iv, plaintext, aad)[-16:-4], tag)
        for iv, payload in ctr:
            encrypt(iv, payload, None)

    return run


def rhythm(ours: Ours, case: Case, gap: float, count: int) -> tuple[float, float] | None:
    """Median thread CPU µs per push (floor, ours) with `gap` seconds of idle before each.

    A meter pushes every 1-60 s and the process sleeps in between: by the next push the CPU
    caches (and, on this VM, more of the CPU's state) hold other work, and every push is
    decoded cold. Back-to-back timing (the table) keeps them warm and shows the least a
    push can cost; this shows what it costs at the meters' rhythm, which is what Home
    Assistant pays. The floor and our long-lived decoder (warmed on the case's first pushes)
    take turns on the same pushes, each after its own idle gap.
    """
    warm = min(10, len(case.pushes) // 2)
    pushes = case.pushes[warm : warm + count]
    if len(pushes) < 3:
        return None
    decoder = ours.stream_decoder(key=case.key, auth_key=case.auth_key, model=case.model)
    for push in case.pushes[:warm]:
        decoder.feed(push)
    floors = [floor_run(ours, replace(case, pushes=(push,))) for push in pushes]
    clock = time.thread_time
    floor_times: list[float] = []
    ours_times: list[float] = []
    gc.collect()
    for push, floor in zip(pushes, floors, strict=True):
        time.sleep(gap)
        start = clock()
        floor()
        floor_times.append(clock() - start)
        time.sleep(gap)
        start = clock()
        decoder.feed(push)
        ours_times.append(clock() - start)
    return statistics.median(floor_times) * 1e6, statistics.median(ours_times) * 1e6


def print_rhythm(rows: Sequence[Row], ours: Ours, gap: float, count: int) -> None:
    """Time the steady cases at the meters' rhythm next to their back-to-back figures."""
    steady = [r for r in rows if r.case.simulated and r.ours_stream and r.floor]
    if not steady:
        return
    print()
    print(
        f"At the meters' rhythm: every push after {gap:g} s idle, as in Home Assistant where a "
        "meter pushes every 1-60 s"
    )
    print(f"(caches cold); median thread CPU µs per push of {count}, floor and ours in turns.")
    head = f"{'case':34} {'floor':>7} {'ours':>8} {'/floor':>7}   back to back: floor, ours"
    print(head)
    print("-" * len(head))
    for row in steady:
        print(f"  timing {row.case.name} at the meters' rhythm ...", file=sys.stderr, flush=True)
        found = rhythm(ours, row.case, gap, count)
        if found is None or row.ours_stream is None or row.floor is None:
            continue
        floor, mine = found
        print(
            f"{row.case.name[:34]:34} {floor:7.1f} {mine:8.1f} {mine / floor:6.1f}x   "
            f"{row.floor.best:.1f}, {row.ours_stream.best:.1f} µs "
            f"= {row.ours_stream.best / row.floor.best:.1f}x"
        )


def rival_run(prepared: Prepared, case: Case) -> Callable[[], None]:
    """Decode every push of the case with a prepared rival."""
    decode = prepared.decode
    pushes = case.pushes

    def run() -> None:
        for push in pushes:
            decode(push)

    return run


def check_ours(ours: Ours, events: Sequence[Push | ErrorEvent]) -> tuple[int, int, str]:
    """(pushes, values in the first push, problems) of one pass."""
    pushes = [e for e in events if isinstance(e, ours.push_type)]
    errors = [e for e in events if not isinstance(e, ours.push_type)]
    problem = ", ".join(sorted({f"{e.kind}: {e.detail}" for e in errors}))  # type: ignore[union-attr]
    return len(pushes), len(pushes[0].values) if pushes else 0, problem


# --------------------------------------------------------------------------------------------
# The table


def run_case(ours: Ours, case: Case, args: argparse.Namespace) -> Row:
    """Verify every decoder on the case, then time it."""
    row = Row(case)
    stream = stream_run(ours, case)
    pushes, row.values, problem = check_ours(ours, stream())
    if pushes == 0 or (case.simulated and pushes != len(case.pushes)):
        row.notes["ours"] = f"NOT DECODED: {pushes} push(es); {problem or 'no error'}"
        return row
    if problem:  # e.g. the aborted block sequence some captures start with
        row.notes["ours"] = f"also reports, as it should: {problem}"
    runs: dict[str, tuple[Callable[[], object], int]] = {}
    if len(case.pushes) > 1:
        runs["stream"] = (stream, pushes)
        if case.name == E450_CASE or args.chunked:
            chunked = stream_run(ours, case, CHUNK)
            if check_ours(ours, chunked())[0] == pushes:
                runs["chunked"] = (chunked, pushes)
    runs["oneshot"] = (oneshot_run(ours, case), pushes)
    runs["floor"] = (floor_run(ours, case), len(case.pushes))
    for label in () if args.no_rivals else RIVALS:
        try:
            prepared = prepare_rival(label, case.framing, case.key, case.auth_key, case.pushes[0])
            leaves = count_leaves(prepared.decode(case.pushes[0]))
            rival = rival_run(prepared, case)
            rival()
        except UnsupportedError as err:
            row.notes[label] = f"cannot: {err}"
            continue
        except Exception as err:  # a library failing is a result, not a crash
            row.notes[label] = f"fails: {type(err).__name__}: {str(err)[:90]}"
            continue
        row.notes[label] = f"{leaves} A-XDR leaves; {prepared.note}"
        runs[label] = (rival, len(case.pushes))
    timings = measure(runs, args.min_time, args.repeats)
    row.ours_stream = timings.get("stream")
    row.ours_chunked = timings.get("chunked")
    row.ours_oneshot = timings["oneshot"]
    row.floor = timings["floor"]
    row.gurux = timings.get("gurux")
    row.dlms_cosem = timings.get("dlms-cosem")
    return row


def _ratio(rival: Timing | None, ours: Timing | None) -> str:
    if rival is None or ours is None:
        return f"{'-':>7}"
    return f"{rival.best / ours.best:6.1f}x"


def _floor_ratio(row: Row, timing: Timing | None) -> str:
    if timing is None or row.floor is None or row.floor.best <= 0:
        return f"{'-':>7}"
    return f"{timing.best / row.floor.best:6.1f}x"


def print_table(rows: Sequence[Row]) -> None:
    """Microseconds per push (best of the repeats), the floor and the ratios of one run."""
    print()
    print("CPU µs per push (process time), best of interleaved repeats.")
    print("floor: the C-level work on the same bytes (frame CRCs / M-Bus sums + AES-GCM or CTR).")
    print("ours: simulated meters = one long-lived StreamDecoder fed consecutive pushes (what the")
    print(
        "reader does, steady state); public vectors (one push each, marked *) = a new decoder per"
    )
    print("push (decode_capture: set-up and the first-push layout analysis included, i.e. cold).")
    print("one-shot: decode_capture per push. gurux/dlms-cosem: one client/parser reused per case.")
    head = (
        f"{'case':34} {'bytes':>5} {'vals':>4} {'floor':>7} {'ours':>8} {'/floor':>7} "
        f"{'one-shot':>8} {'gurux':>8} {'dlms-cos':>8} {'gurux/us':>8} {'dlmsc/us':>8}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        ours = row.ours
        name = row.case.name if row.case.simulated else f"{row.case.name[:32]} *"
        floor = f"{row.floor.best:7.1f}" if row.floor else f"{'-':>7}"
        print(
            f"{name[:34]:34} {row.case.bytes_per_push:5.0f} {row.values:4d} {floor} "
            f"{_us(ours)} {_floor_ratio(row, ours)} {_us(row.ours_oneshot)} {_us(row.gurux)} "
            f"{_us(row.dlms_cosem)} {_ratio(row.gurux, ours):>8} {_ratio(row.dlms_cosem, ours):>8}"
        )
        if row.ours_chunked and ours:
            print(
                f"{'  same, fed in 64-byte reads':34} {'':5} {'':4} {'':7} {_us(row.ours_chunked)} "
                f"{_floor_ratio(row, row.ours_chunked)}  = "
                f"{row.ours_chunked.best / ours.best:.2f}x "
                "the whole-push figure"
            )
    print()
    print(
        "medians (µs): "
        + "; ".join(
            f"{r.case.name}: ours {r.ours.median:.1f}"
            + (f", floor {r.floor.median:.1f}" if r.floor else "")
            + (f", gurux {r.gurux.median:.0f}" if r.gurux else "")
            + (f", dlms-cosem {r.dlms_cosem.median:.0f}" if r.dlms_cosem else "")
            for r in rows
            if r.ours
        )
    )
    print()
    print("notes:")
    for row in rows:
        print(f"  {row.case.name}: {row.case.what}")
        for label, note in row.notes.items():
            print(f"      {label}: {note}")


def _us(timing: Timing | None) -> str:
    return f"{timing.best:8.1f}" if timing else f"{'-':>8}"


# --------------------------------------------------------------------------------------------
# GCM tag check: who notices a tampered tag?


def tampered(push: bytes) -> bytes:
    """Flip the last GCM tag byte of the push and make the last frame's FCS valid again.

    The tag closes the ciphered APDU, so it ends the last general-block-transfer block, i.e.
    the information field of the last HDLC frame.
    """
    frames = hdlc_frames(push)
    last = bytearray(frames[-1])
    last[-4] ^= 0x01
    fcs = crc16_x25(bytes(last[1:-3]))
    last[-3:-1] = fcs.to_bytes(2, "little")
    return b"".join(frames[:-1]) + bytes(last)


def tag_check(ours: Ours, case: Case, no_rivals: bool) -> None:
    """Feed a push with a broken tag to every decoder and say who rejects it."""
    bad = tampered(case.pushes[0])
    print()
    print(f"GCM tag check ({case.name}, last tag byte flipped, FCS fixed):")
    events = ours.stream_decoder(key=case.key, auth_key=case.auth_key, model=case.model).feed(bad)
    kinds = [str(getattr(e, "kind", "push")) for e in events]
    print(f"  ours:       {'rejects' if 'push' not in kinds else 'ACCEPTS'} ({', '.join(kinds)})")
    if no_rivals:
        return
    for label in RIVALS:
        try:
            result: Any = prepare_rival(label, case.framing, case.key, case.auth_key, bad).decode(
                bad
            )
        except Exception as err:  # rejection is what we look for
            print(f"  {label + ':':11} rejects ({type(err).__name__}: {str(err)[:60]})")
        else:
            print(f"  {label + ':':11} ACCEPTS ({count_leaves(result)} values returned)")


# --------------------------------------------------------------------------------------------
# Profile


def profile(ours: Ours, case: Case, seconds: float, top: int) -> None:
    """Profile our stream decoder on the case: hot spots by own time and cumulative."""
    run = stream_run(ours, case)
    profiler = cProfile.Profile()
    deadline = time.perf_counter() + seconds
    passes = 0
    profiler.enable()
    while time.perf_counter() < deadline:
        run()
        passes += 1
    profiler.disable()
    print()
    print(f"cProfile: {passes} passes x {len(case.pushes)} pushes of {case.name}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        text = out.getvalue()
        print(text[text.find("   ncalls") :].rstrip())
        print()


def pyinstrument_profile(ours: Ours, case: Case, seconds: float) -> None:
    """Print pyinstrument's call tree for the same run (when installed)."""
    try:
        from pyinstrument import Profiler  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print("pyinstrument not installed")
        return
    run = stream_run(ours, case)
    profiler = Profiler(interval=0.0001)
    deadline = time.perf_counter() + seconds
    profiler.start()
    while time.perf_counter() < deadline:
        run()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


# --------------------------------------------------------------------------------------------


def versions() -> str:
    """Versions of the libraries in this environment."""
    parts = []
    for name in ("gurux-dlms", "dlms-cosem", "cryptography"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the throughput table (and optionally a profile)."""
    parser = argparse.ArgumentParser(prog="scripts/benchmark throughput", description=__doc__)
    parser.add_argument("--pushes", type=int, default=200, help="consecutive simulated pushes")
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="run only cases whose name contains this")
    parser.add_argument("--no-rivals", action="store_true", help="only this project's decoder")
    parser.add_argument("--no-vectors", action="store_true", help="only the simulated meters")
    parser.add_argument(
        "--chunked", action="store_true", help="also time every stream in 64-byte reads"
    )
    parser.add_argument(
        "--rhythm-gap",
        type=float,
        default=RHYTHM_GAP,
        help="seconds of idle before each push timed at the meters' rhythm (0: skip that part)",
    )
    parser.add_argument("--rhythm-pushes", type=int, default=RHYTHM_PUSHES)
    parser.add_argument("--profile", action="store_true", help="cProfile the E450 case")
    parser.add_argument("--pyinstrument", action="store_true", help="pyinstrument the E450 case")
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    print(machine_line())
    print(f"libraries: {versions()}")
    ours = Ours.load()
    cases = simulated_cases(args.pushes)
    if not args.no_vectors:
        cases += vector_cases()
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    e450 = next((c for c in cases if c.name == E450_CASE), None)

    if args.profile or args.pyinstrument:
        if e450 is None:
            print("the E450 case is not selected")
            return 1
        if args.profile:
            profile(ours, e450, args.profile_seconds, 30)
        if args.pyinstrument:
            pyinstrument_profile(ours, e450, args.profile_seconds)
        return 0

    rows = []
    for case in cases:
        print(f"  timing {case.name} ...", file=sys.stderr, flush=True)
        rows.append(run_case(ours, case, args))
    print_table(rows)
    if args.rhythm_gap > 0:
        print_rhythm(rows, ours, args.rhythm_gap, args.rhythm_pushes)
    if e450 is not None:
        tag_check(ours, e450, args.no_rivals)
    summary(rows)
    return 0


def summary(rows: Sequence[Row]) -> None:
    """Check the targets: steady state vs the floor, cold start vs the peers, read size."""
    print()
    for row in rows:
        if not row.case.simulated:
            continue
        ours, floor = row.ours, row.floor
        if ours is None or floor is None:
            print(f"{row.case.name}: not decoded; target not measurable")
            continue
        ratio = ours.best / floor.best
        met = "MET" if ratio <= TARGET_VS_FLOOR else "MISSED"
        print(
            f"target <= {TARGET_VS_FLOOR:.0f}x the floor, {row.case.name}: {ours.best:.1f} µs "
            f"= {ratio:.1f}x {floor.best:.1f} µs -> {met}"
        )
        if row.ours_chunked:
            ratio = row.ours_chunked.best / ours.best
            met = "MET" if ratio <= TARGET_CHUNKED else "MISSED"
            print(
                f"target <= {TARGET_CHUNKED}x whole pushes when fed in {CHUNK}-byte reads, "
                f"{row.case.name}: {ratio:.2f}x -> {met}"
            )
    behind = [
        f"{row.case.name} ({label} {rival.best:.0f} µs vs ours {row.ours_oneshot.best:.0f})"
        for row in rows
        if not row.case.simulated and row.ours_oneshot
        for label, rival in (("gurux", row.gurux), ("dlms-cosem", row.dlms_cosem))
        if rival is not None and rival.best < row.ours_oneshot.best
    ]
    cold = [r for r in rows if not r.case.simulated and (r.gurux or r.dlms_cosem)]
    if cold:
        met = "MISSED: " + "; ".join(behind) if behind else "MET"
        print(
            f"target: cold start ahead of both peers on all {len(cold)} vectors they decode "
            f"-> {met}"
        )


if __name__ == "__main__":
    sys.exit(main())
