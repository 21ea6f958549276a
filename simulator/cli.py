"""`scripts/simulate_meter`: run a simulated meter on TCP, a file/stdout or a pty."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from datetime import datetime
import json
import os
from pathlib import Path
import re
import signal
import sys
import threading
from typing import cast

from .faults import FaultedPush, FaultInjector, wrong_key
from .meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, FRAMINGS, Framing, MeterSimulator
from .outputs import PtyOutput, StreamWriter, TcpMeterServer, run_stream, serve
from .profiles import PROFILES

PROG = "simulate_meter"

EPILOG = f"""\
profiles:
{chr(10).join(f"  {name:<13} {p.title}" for name, p in PROFILES.items())}

keys (documented defaults, used unless you pass your own):
  key (GUEK)  {DEFAULT_KEY.hex().upper()}
  GAK         {DEFAULT_AUTH_KEY.hex().upper()}
  Configure these in the integration. Encryption is on by default: SC 0x30 with the
  GAK; kaifa_ma309m sends suite 1 without tag (SC 0x21) like TINETZ meters unless you
  give it --auth-key (then 0x31).

examples:
  {PROG} --profile e450
      ser2net-like TCP server on 127.0.0.1:3001, AES-GCM with the default keys
  {PROG} --profile e450 --state meter-state.json
      the same, but registers and frame counter go on from the last run
  {PROG} --profile am550 --port 0 --host 127.0.0.1 --plain --interval 1
      free port (printed as socket://127.0.0.1:PORT), unencrypted, one push a second
  {PROG} --profile kaifa_ma309m --output capture.bin --count 100 --seed 7 \\
      --start 2025-06-21T12:00:00 --mbus-overflow
      100 pushes to a file at once, byte-identical on every run, T210-D style segments
  {PROG} --profile e360 --output - --hex --fast --count 3 --framing wrapper
      three pushes in DLMS/IP wrapper frames as hex lines on stdout
  {PROG} --pty --link /tmp/ttyMETER --baud 2400
      pseudo-terminal paced like a 2400 baud line; point the integration at /tmp/ttyMETER
  {PROG} --garbage 0.1 --flip-bits 0.05 --drop-bytes 0.02 --truncate 0.02 --repeat 0.01 --verbose
      10 % of pushes with line noise before them, 5 % with a flipped bit, ...; one
      line per push on stderr says which fault hit it
  {PROG} --key 00112233445566778899AABBCCDDEEFF --no-auth --wrong-key
      configure this key in the integration, but the meter encrypts with another one
  {PROG} --auth-key 00112233445566778899AABBCCDDEEFF --wrong-auth-key
      the tag is computed with a GAK other than the one given (authentication failure)
"""


def parse_key(text: str) -> bytes:
    """16-byte key from hex; spaces, colons and dashes are ignored, any case."""
    cleaned = re.sub(r"[\s:\-]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{32}", cleaned):
        raise argparse.ArgumentTypeError("a key is 32 hex digits (16 bytes)")
    return bytes.fromhex(cleaned)


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1 (e.g. 0.05)")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0 (0 = endless)")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a TCP port is 0..65535 (0 = any free port)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the parser: every option documented, examples in the epilog."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Simulate a Swiss/Austrian smart meter's CII push stream (DLMS/COSEM), "
        "built on the project's own frame encoder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    meter = parser.add_argument_group("meter")
    meter.add_argument(
        "--profile", choices=list(PROFILES), default="e450", help="meter variant (default e450)"
    )
    meter.add_argument(
        "--seed", type=int, default=0, help="random seed for identity and values (default 0)"
    )
    meter.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep registers and counters in FILE: read at start when it exists, written "
        "after every push, so a restarted meter goes on where it stopped (never lower)",
    )
    meter.add_argument(
        "--start",
        help="meter time of the first push, ISO 8601 (naive = meter's local time); "
        "default now. With --seed this makes file output byte-identical",
    )
    meter.add_argument(
        "--interval",
        type=_positive,
        default=5.0,
        help="seconds between pushes (default 5), real and simulated",
    )
    meter.add_argument(
        "--count", type=_count, default=0, help="stop after N pushes (default 0 = endless)"
    )
    meter.add_argument(
        "--framing",
        choices=FRAMINGS,
        default="native",
        help="link layer: the meter's own (default), DLMS/IP 'wrapper', or 'raw' APDUs",
    )
    meter.add_argument(
        "--mbus-overflow",
        action="store_true",
        help="kaifa_ma309m: first M-Bus segment of 252 bytes with L=0x01 (T210-D quirk)",
    )

    security = parser.add_argument_group("security")
    security.add_argument(
        "--key", type=parse_key, help="GUEK, 32 hex digits (default: documented default)"
    )
    security.add_argument(
        "--auth-key", type=parse_key, help="GAK, 32 hex digits (default: documented default)"
    )
    security.add_argument(
        "--no-auth", action="store_true", help="encrypt without tag (SC 0x20/0x21, no GAK)"
    )
    security.add_argument("--plain", action="store_true", help="no encryption at all")
    security.add_argument(
        "--wrong-key",
        action="store_true",
        help="encrypt with a different key than the one to configure",
    )
    security.add_argument(
        "--wrong-auth-key",
        action="store_true",
        help="authenticate with a different GAK than the one to configure",
    )

    output = parser.add_argument_group("output (default: TCP server)")
    target = output.add_mutually_exclusive_group()
    target.add_argument(
        "--port",
        type=_port,
        default=3001,
        help="TCP port like ser2net (default 3001; 0 = pick a free one and print it)",
    )
    target.add_argument(
        "--output", metavar="FILE|-", help="write pushes to FILE (needs --count) or stdout (-)"
    )
    target.add_argument(
        "--pty", action="store_true", help="serve on a pseudo-terminal; prints the slave path"
    )
    output.add_argument(
        "--host", default="127.0.0.1", help="TCP listen address (default 127.0.0.1)"
    )
    output.add_argument("--link", metavar="PATH", help="with --pty: symlink PATH to the slave")
    output.add_argument(
        "--hex", action="store_true", help="with --output: one hex line per push, not bytes"
    )
    output.add_argument(
        "--fast", action="store_true", help="with --output -: do not sleep between pushes"
    )
    output.add_argument(
        "--baud",
        type=int,
        default=0,
        help="pace bytes like a serial line at this rate, 11 bits/byte (default 0 = burst)",
    )
    output.add_argument("-v", "--verbose", action="store_true", help="one line per push on stderr")

    faults = parser.add_argument_group(
        "faults (rate = share of pushes hit, 0..1; at most one fault per push)"
    )
    faults.add_argument("--garbage", type=_rate, default=0.0, help="random bytes before a push")
    faults.add_argument("--flip-bits", type=_rate, default=0.0, help="one bit flipped")
    faults.add_argument("--drop-bytes", type=_rate, default=0.0, help="1-3 bytes lost")
    faults.add_argument("--truncate", type=_rate, default=0.0, help="push cut short")
    faults.add_argument("--repeat", type=_rate, default=0.0, help="push sent twice")
    return parser


def _start_time(text: str | None, profile: str) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PROFILES[profile].zone)
    return moment


def _key_note(args: argparse.Namespace, key: bytes | None, auth: bytes | None) -> str:
    """Say which keys to configure, never echoing a key the user typed."""
    if key is None:
        return "plaintext: no key to configure"
    parts = [
        "key: the one given with --key"
        if args.key
        else f"key: documented default {DEFAULT_KEY.hex().upper()}"
    ]
    if auth is not None:
        parts.append(
            "GAK: the one given with --auth-key"
            if args.auth_key
            else f"GAK: documented default {DEFAULT_AUTH_KEY.hex().upper()}"
        )
    if args.wrong_key:
        parts.append("pushes are encrypted with a DIFFERENT key (--wrong-key)")
    if args.wrong_auth_key and auth is not None:
        parts.append("tags use a DIFFERENT GAK (--wrong-auth-key)")
    return ", ".join(parts)


def _interrupt(_signum: int, _frame: object) -> None:
    """Turn SIGTERM into the Ctrl-C path, so the pty link is removed on the way out."""
    raise KeyboardInterrupt


def _save_state(path: Path, state: dict[str, float | int]) -> None:
    """Write the meter's registers and counters atomically (a kill never leaves half a file)."""
    partial = path.with_suffix(path.suffix + ".tmp")
    partial.write_text(json.dumps(state))
    partial.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.plain and (args.key or args.auth_key or args.wrong_key or args.wrong_auth_key):
        parser.error("--plain cannot be combined with keys or --wrong-key")
    if args.output and args.output != "-" and not args.count:
        parser.error("--output FILE needs --count N (files are written without pausing)")
    if args.link and not args.pty:
        parser.error("--link needs --pty")
    if args.mbus_overflow and not PROFILES[args.profile].mbus:
        parser.error("--mbus-overflow applies to the M-Bus profile kaifa_ma309m only")
    if args.baud < 0:
        parser.error("--baud must be >= 0")
    try:
        start = _start_time(args.start, args.profile)
    except ValueError:
        parser.error(f"--start: not an ISO 8601 date-time: {args.start!r}")

    key = None if args.plain else (args.key or DEFAULT_KEY)
    profile = PROFILES[args.profile]
    wants_auth = args.auth_key is not None or profile.default_auth
    auth = (
        None
        if args.plain or args.no_auth or not wants_auth
        else (args.auth_key or DEFAULT_AUTH_KEY)
    )
    sim = MeterSimulator(
        args.profile,
        key=wrong_key(key) if key is not None and args.wrong_key else key,
        auth_key=wrong_key(auth) if auth is not None and args.wrong_auth_key else auth,
        seed=args.seed,
        start=start,
        framing=cast(Framing, args.framing),
        mbus_overflow=args.mbus_overflow,
    )
    injector = FaultInjector(
        seed=args.seed,
        garbage=args.garbage,
        flip=args.flip_bits,
        drop=args.drop_bytes,
        truncate=args.truncate,
        repeat=args.repeat,
    )
    faults = injector if injector.active else None
    count = args.count or None
    sc = sim.security_control
    security = "plaintext" if sc is None else f"AES-128-GCM SC {sc:#04x}"

    def banner(where: str) -> None:
        print(
            f"{PROG}: {args.profile} = {sim.description}; {security}; "
            f"system title {sim.system_title.hex().upper()}; output {where}; "
            f"{_key_note(args, key, auth)}",
            file=sys.stderr,
            flush=True,
        )

    if args.state is not None and args.state.exists():
        try:
            sim.restore(json.loads(args.state.read_text()))
        except (OSError, ValueError, TypeError) as err:
            parser.error(f"--state: cannot read {args.state}: {err}")

    def report(push: FaultedPush) -> None:
        if args.state is not None:
            _save_state(args.state, sim.state())
        if args.verbose:
            print(
                f"push {sim.pushes}: IC {sim.frame_counter}, {len(push.data)} bytes, {push.fault}",
                file=sys.stderr,
                flush=True,
            )

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        if args.output is not None:
            to_stdout = args.output == "-"
            banner("stdout" if to_stdout else args.output)
            if to_stdout:
                write = StreamWriter(sys.stdout.buffer, hex_lines=args.hex)
                run_stream(
                    sim,
                    write,
                    count=count,
                    interval=args.interval,
                    faults=faults,
                    realtime=not args.fast,
                    baud=args.baud,
                    on_push=report,
                )
            else:
                with open(args.output, "wb") as sink:
                    run_stream(
                        sim,
                        StreamWriter(sink, hex_lines=args.hex),
                        count=count,
                        interval=args.interval,
                        faults=faults,
                        realtime=False,
                        on_push=report,
                    )
        elif args.pty:
            with PtyOutput(args.link) as pty:
                print(pty.path, flush=True)
                banner(f"pty {pty.path}" + (f" (link {args.link})" if args.link else ""))
                run_stream(
                    sim,
                    pty.write,
                    count=count,
                    interval=args.interval,
                    faults=faults,
                    baud=args.baud,
                    on_push=report,
                )
        else:
            server = TcpMeterServer(
                sim,
                interval=args.interval,
                faults=faults,
                count=count,
                baud=args.baud,
                on_push=report,
            )

            def ready(port: int) -> None:
                print(f"socket://{args.host}:{port}", flush=True)
                banner(f"tcp {args.host}:{port}")

            asyncio.run(serve(server, args.host, args.port, ready))
    except KeyboardInterrupt:
        print(f"{PROG}: stopped after {sim.pushes} pushes", file=sys.stderr)
    except BrokenPipeError:
        # The reader left (e.g. `| head`): stop quietly, and keep Python's final flush
        # of the dead stdout from complaining.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    return 0
