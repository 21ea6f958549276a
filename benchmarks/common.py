"""Shared helpers: paths, the decoder without Home Assistant, statistics, machine facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import importlib
import os
from pathlib import Path
import platform
import statistics
import sys
from types import ModuleType
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
INTEGRATION_DIR: Final = ROOT / "custom_components" / "swiss_meter_cii"
# The repository's own copy of the public vectors (the repo must stand alone).
VECTORS_FILE: Final = ROOT / "tests" / "fixtures" / "public_vectors.json"

# Keys for simulated meters: arbitrary, never a real meter's.
SIM_KEY: Final = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
SIM_AUTH_KEY: Final = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")


def decoder_module() -> ModuleType:
    """Import the decoder as the top-level package `decoder`, the way scripts/decode runs it.

    Importing it as `custom_components.swiss_meter_cii.decoder` would first run the
    integration's `__init__`, which needs Home Assistant; the benchmark environment has none.
    """
    path = str(INTEGRATION_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("decoder")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (p99 of 1,000 = the 990th)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """Latency distribution in milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        """Summarise durations given in seconds."""
        ms = sorted(s * 1000.0 for s in seconds)
        return cls(
            count=len(ms),
            p50=percentile(ms, 0.50),
            p95=percentile(ms, 0.95),
            p99=percentile(ms, 0.99),
            max=ms[-1] if ms else float("nan"),
            mean=statistics.fmean(ms) if ms else float("nan"),
        )

    def line(self) -> str:
        """One printable line."""
        return (
            f"n={self.count}  p50={self.p50:.2f} ms  p95={self.p95:.2f} ms  "
            f"p99={self.p99:.2f} ms  max={self.max:.2f} ms  mean={self.mean:.2f} ms"
        )


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    """Return the 1/5/15-minute load average, to judge whether the machine was quiet."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine_line() -> str:
    """Describe what the figures were taken on: CPU, cores, Python, load."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores ({usable} usable), "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}, load average {load_average()}"
    )
