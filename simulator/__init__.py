"""Meter simulator and the project's own DLMS/COSEM frame encoder.

Tests, scripts, benchmarks and fuzzers use it; the integration never imports it, and it
never imports the integration (it cross-checks the decoder). Needs only `cryptography`.

    sim = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=1)
    wire = sim.next_push(elapsed=5.0)   # bytes on the line for one push
    sim.last_values                     # {'1-1:1.8.0.255': (12345, 'Wh'), ...}
    FaultInjector(seed=1, flip=0.05).apply(wire)  # FaultedPush(data, fault, push)
    port = await TcpMeterServer(sim, interval=0.1).start()   # ser2net-like
"""

from .faults import FAULTS, INTACT, FaultedPush, FaultInjector, wrong_key
from .meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator
from .outputs import PtyOutput, TcpMeterServer
from .profiles import PROFILES

__all__ = [
    "DEFAULT_AUTH_KEY",
    "DEFAULT_KEY",
    "FAULTS",
    "INTACT",
    "PROFILES",
    "FaultInjector",
    "FaultedPush",
    "MeterSimulator",
    "PtyOutput",
    "TcpMeterServer",
    "wrong_key",
]
