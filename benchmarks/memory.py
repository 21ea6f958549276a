"""Decoder memory over 1,000,000 pushes: one long-lived StreamDecoder must not grow.

A reader keeps one StreamDecoder per connection for days, so anything it keeps per push
(replay table, buffers, statistics) must stay bounded. The decoder is fed a pool of
consecutive encrypted E450 pushes over and over. Each time the pool starts again the frame
counter goes back: by the decoder's rule two pushes are refused as replays and the third is
accepted as a counter reset, so the re-synchronisation path is exercised too.

Measured: RSS (from /proc) and the number of live objects after a full collection every
100,000 pushes, then a tracemalloc comparison over a shorter run (tracemalloc slows decoding
several times, so not over the full million).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
import gc
import os
import resource
import sys
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY

from .cases import simulated_pushes
from .common import decoder_module, machine_line

if TYPE_CHECKING:
    from custom_components.swiss_meter_cii.decoder.stream import StreamDecoder


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc), 0 elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def feed(decoder: StreamDecoder, pool: Sequence[bytes], count: int, tally: Counter[str]) -> None:
    """Feed `count` pushes from the pool, cycling; tally what came out."""
    size = len(pool)
    for index in range(count):
        for event in decoder.feed(pool[index % size]):
            tally[str(getattr(event, "kind", "push"))] += 1


def main(argv: Sequence[str] | None = None) -> int:
    """Print RSS and live objects every 100,000 pushes and a tracemalloc growth figure."""
    parser = argparse.ArgumentParser(prog="scripts/benchmark memory", description=__doc__)
    parser.add_argument("--pushes", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=2_000, help="distinct consecutive pushes")
    parser.add_argument("--step", type=int, default=100_000, help="pushes between samples")
    parser.add_argument("--traced", type=int, default=100_000, help="pushes under tracemalloc")
    args = parser.parse_args(argv)

    print(machine_line())
    module: Any = decoder_module()
    _, pool = simulated_pushes("e450", args.pool, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY)
    print(
        f"pool: {len(pool)} consecutive encrypted E450 pushes "
        f"({sum(map(len, pool)) / len(pool):.0f} bytes each), fed {args.pushes:,} times in turn"
    )
    decoder: StreamDecoder = module.StreamDecoder(
        key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, model="lg_e450"
    )
    tally: Counter[str] = Counter()
    feed(decoder, pool, len(pool), tally)  # warm-up: caches, first allocations
    gc.collect()
    rss0 = rss_bytes()
    objects0 = len(gc.get_objects())
    print(f"{'pushes':>10} {'RSS MiB':>9} {'growth KiB':>11} {'live objects':>13} {'s':>7}")
    print(f"{0:>10,} {rss0 / 2**20:9.2f} {0:11.0f} {objects0:13,} {0:7.1f}")
    start = time.perf_counter()
    done = 0
    while done < args.pushes:
        step = min(args.step, args.pushes - done)
        feed(decoder, pool, step, tally)
        done += step
        gc.collect()
        rss = rss_bytes()
        print(
            f"{done:>10,} {rss / 2**20:9.2f} {(rss - rss0) / 1024:11.0f} "
            f"{len(gc.get_objects()):13,} {time.perf_counter() - start:7.1f}",
            flush=True,
        )
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"events: {dict(tally)}; {elapsed / args.pushes * 1e6:.1f} µs per push; "
        f"peak RSS {peak / 2**20:.1f} MiB"
    )
    print(
        f"RSS growth over {args.pushes:,} pushes: {(rss_bytes() - rss0) / 1024:.0f} KiB; "
        f"live objects {len(gc.get_objects()) - objects0:+d}"
    )

    # tracemalloc: Python allocations still alive after `traced` more pushes, by source line.
    tracemalloc.start(5)
    feed(decoder, pool, len(pool), tally)
    gc.collect()
    before = tracemalloc.take_snapshot()
    feed(decoder, pool, args.traced, tally)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diffs = after.filter_traces(keep).compare_to(before.filter_traces(keep), "lineno")
    growth = sum(d.size_diff for d in diffs)
    print(f"tracemalloc over {args.traced:,} more pushes: net {growth / 1024:+.1f} KiB")
    for diff in sorted(diffs, key=lambda d: d.size_diff, reverse=True)[:5]:
        if diff.size_diff > 0:
            print(f"    {diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
