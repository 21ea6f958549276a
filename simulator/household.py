"""The physics behind a simulated meter: a three-phase household with loads and PV.

Registers are integrated from the power actually flowing, so a decoder test can rely
on the same relations a real meter obeys: energy never decreases, import and export
never rise together for the same phase balance, I = S / U per phase, 0.9 <= PF <= 1.
Everything is driven by one seeded `random.Random`, so a seed gives one history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
import math
import random

PHASES = 3
MAX_STEP = 60.0  # seconds; longer advances are integrated in steps of at most this
NOMINAL_VOLTAGE = 230.0
VOLTAGE_RANGE = (207.0, 253.0)  # +-10 %, EN 50160
VOLT_PER_WATT = 0.0015  # voltage rise/drop per watt flowing out of/into the house, per phase
# The M-Bus gas and water meters the electricity meter relays are read every 5 minutes (the
# DSMR 5 rhythm; IDIS meters read hourly), so a short demo already shows them move.
SUBMETER_READ_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Appliance:
    """A load type that switches on now and then: watts per phase and typical run time."""

    name: str
    watts: tuple[float, float, float]
    minutes: float
    per_hour: float  # how often it starts on average


APPLIANCES: tuple[Appliance, ...] = (
    Appliance("kettle", (2000.0, 0.0, 0.0), 3, 0.6),
    Appliance("oven", (0.0, 2400.0, 0.0), 35, 0.08),
    Appliance("washing machine", (0.0, 0.0, 2100.0), 20, 0.08),
    Appliance("heat pump", (900.0, 900.0, 900.0), 40, 0.3),
    Appliance("car charger", (3680.0, 3680.0, 3680.0), 90, 0.02),
)


@dataclass(slots=True)
class _Running:
    appliance: Appliance
    remaining: float  # seconds


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Instantaneous quantities and register totals at one moment (SI units, floats).

    Energies are in Wh/varh since installation; powers in W/var; per-phase lists L1..L3.
    """

    time: datetime  # aware UTC
    import_energy_t1: float
    import_energy_t2: float
    export_energy: float
    reactive_import_energy: float
    reactive_export_energy: float
    power_import: float
    power_export: float
    reactive_import: float
    reactive_export: float
    phase_import: tuple[float, ...]
    phase_export: tuple[float, ...]
    voltage: tuple[float, ...]
    current: tuple[float, ...]
    power_factor: float
    high_tariff: bool
    message: str
    # The sub-meters' last readings (m³) and when they were taken (aware UTC).
    gas_volume: float = 0.0
    water_volume: float = 0.0
    submeter_time: datetime | None = None

    @property
    def import_energy(self) -> float:
        """Total active import (both tariffs)."""
        return self.import_energy_t1 + self.import_energy_t2


MESSAGES = (
    "Netzwartung morgen 08:00-10:00",
    "Tarifwechsel per 01.01.",
    "Bitte Zaehlerstand ablesen",
)


class Household:
    """A three-phase house: base load, switching appliances, PV, grid voltage wander."""

    def __init__(
        self, rng: random.Random, *, start: datetime, local_tz: tzinfo, pv_peak: float
    ) -> None:
        """Draw the house's fixed traits and starting register values from `rng`."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._rng = rng
        self._tz = local_tz
        self.time = start.astimezone(UTC)
        self.pv_peak = pv_peak
        self._base_mean = [rng.uniform(120.0, 350.0) for _ in range(PHASES)]
        self._base = list(self._base_mean)
        self._capacitive = [rng.uniform(30.0, 120.0) for _ in range(PHASES)]
        self._phase_offset = [rng.uniform(-3.0, 3.0) for _ in range(PHASES)]
        self._grid = rng.uniform(-2.0, 2.0)
        self._cloud = rng.uniform(0.4, 1.0)
        self._pf = rng.uniform(0.93, 0.99)
        self._running: list[_Running] = []
        self._message = ""
        self._message_left = 0.0
        scale = rng.uniform(2e6, 1.2e7)
        self.import_t1 = scale * rng.uniform(0.55, 0.7)
        self.import_t2 = scale - self.import_t1
        self.export = scale * rng.uniform(0.1, 0.4) if pv_peak > 0 else 0.0
        self.reactive_import = scale * rng.uniform(0.15, 0.3)
        self.reactive_export = scale * rng.uniform(0.03, 0.08)
        # Gas and water (m³) from a stream of their own: the electricity history of a seed
        # stays what it was before sub-meters existed.
        self._sub_rng = random.Random(f"submeters:{scale!r}")
        self.gas = self._sub_rng.uniform(800.0, 9000.0)
        self.water = self._sub_rng.uniform(50.0, 900.0)
        self._gas_rate = self._sub_rng.uniform(0.1, 0.6)  # m³/h while heating
        self.read_submeters()

    # ----------------------------------------------------------------- time and tariff

    def local_time(self) -> datetime:
        """Wall time where the meter hangs."""
        return self.time.astimezone(self._tz)

    def high_tariff(self) -> bool:
        """Swiss-style HT: Mon-Fri 07-20 h, Sat 07-13 h; NT otherwise."""
        local = self.local_time()
        if local.weekday() < 5:
            return 7 <= local.hour < 20
        return local.weekday() == 5 and 7 <= local.hour < 13

    def pv_output(self) -> float:
        """PV power from a sine over the day's daylight hours, times cloudiness."""
        if self.pv_peak <= 0:
            return 0.0
        local = self.local_time()
        day = local.timetuple().tm_yday
        daylight = 12.0 + 4.0 * math.sin(2 * math.pi * (day - 80) / 365.0)
        sunrise = 13.0 - daylight / 2
        hour = local.hour + local.minute / 60 + local.second / 3600
        x = (hour - sunrise) / daylight
        if not 0.0 < x < 1.0:
            return 0.0
        season = 0.65 + 0.35 * math.sin(2 * math.pi * (day - 80) / 365.0)
        return self.pv_peak * season * math.sin(math.pi * x) * self._cloud

    # ----------------------------------------------------------------- power flows

    def _loads(self) -> list[float]:
        loads = list(self._base)
        for run in self._running:
            for phase in range(PHASES):
                loads[phase] += run.appliance.watts[phase]
        return loads

    def _flows(self) -> tuple[list[float], list[float], list[float], list[float]]:
        """Net active power, reactive power, voltage and current per phase."""
        loads = self._loads()
        pv = self.pv_output() / PHASES
        tan_phi = math.tan(math.acos(self._pf))
        net = [load - pv for load in loads]
        reactive = [load * tan_phi - cap for load, cap in zip(loads, self._capacitive, strict=True)]
        volts = []
        for phase in range(PHASES):
            u = NOMINAL_VOLTAGE + self._grid + self._phase_offset[phase]
            u -= VOLT_PER_WATT * net[phase]
            volts.append(min(max(u, VOLTAGE_RANGE[0]), VOLTAGE_RANGE[1]))
        amps = [math.hypot(p, q) / u for p, q, u in zip(net, reactive, volts, strict=True)]
        return net, reactive, volts, amps

    # ----------------------------------------------------------------- evolution

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass: integrate the registers, then let the loads wander."""
        if seconds < 0 or not math.isfinite(seconds):
            raise ValueError(f"elapsed time must be a finite number >= 0, got {seconds}")
        remaining = seconds
        while remaining > 0:
            step = min(remaining, MAX_STEP)
            self._step(step)
            remaining -= step

    def _step(self, dt: float) -> None:
        net, reactive, _, _ = self._flows()
        p_total = sum(net)
        q_total = sum(reactive)
        hours = dt / 3600.0
        if p_total >= 0:
            if self.high_tariff():
                self.import_t1 += p_total * hours
            else:
                self.import_t2 += p_total * hours
        else:
            self.export += -p_total * hours
        if q_total >= 0:
            self.reactive_import += q_total * hours
        else:
            self.reactive_export += -q_total * hours
        self._flow_submeters(hours)
        before = self.time
        self.time += timedelta(seconds=dt)
        if int(self.time.timestamp()) // SUBMETER_READ_SECONDS != (
            int(before.timestamp()) // SUBMETER_READ_SECONDS
        ):
            self.read_submeters()
        self._wander(dt)

    def _flow_submeters(self, hours: float) -> None:
        """Gas for heating (more in winter) and cooking, water in draws of a few litres."""
        local = self.local_time()
        winter = 0.5 + 0.5 * math.cos(2 * math.pi * (local.timetuple().tm_yday - 15) / 365.0)
        self.gas += hours * (0.02 + self._gas_rate * winter)
        rng = self._sub_rng
        if rng.random() < 1.0 - math.exp(-hours * 4.0):  # about four draws an hour
            self.water += rng.uniform(0.002, 0.06)

    def read_submeters(self) -> None:
        """Take the readings the meter relays, at the last full read interval."""
        seconds = int(self.time.timestamp()) // SUBMETER_READ_SECONDS * SUBMETER_READ_SECONDS
        self.gas_read = self.gas
        self.water_read = self.water
        self.read_at = datetime.fromtimestamp(seconds, UTC)

    def _wander(self, dt: float) -> None:
        """Mean-reverting random walks and appliance switching over `dt` seconds."""
        rng = self._rng
        spread = math.sqrt(dt / 5.0)
        pull = min(1.0, dt / 600.0)
        for phase in range(PHASES):
            mean = self._base_mean[phase]
            self._base[phase] += pull * (mean - self._base[phase]) + rng.gauss(0, 6.0) * spread
            self._base[phase] = min(max(self._base[phase], 0.3 * mean), 3.0 * mean)
        self._grid += -pull * self._grid + rng.gauss(0, 0.15) * spread
        self._grid = min(max(self._grid, -12.0), 12.0)
        self._cloud = min(max(self._cloud + rng.gauss(0, 0.02) * spread, 0.1), 1.0)
        self._pf = min(max(self._pf + rng.gauss(0, 0.002) * spread, 0.9), 0.999)
        for run in self._running:
            run.remaining -= dt
        self._running = [run for run in self._running if run.remaining > 0]
        for appliance in APPLIANCES:
            if rng.random() < 1.0 - math.exp(-appliance.per_hour * dt / 3600.0):
                minutes = appliance.minutes * rng.uniform(0.5, 1.5)
                self._running.append(_Running(appliance, minutes * 60.0))
        if self._message_left > 0:
            self._message_left -= dt
            if self._message_left <= 0:
                self._message = ""
        elif rng.random() < 1.0 - math.exp(-dt / (8 * 3600.0)):
            self._message = rng.choice(MESSAGES)
            self._message_left = rng.uniform(300.0, 1800.0)

    def snapshot(self) -> Snapshot:
        """Return the values a meter would show right now."""
        net, reactive, volts, amps = self._flows()
        p_total = sum(net)
        q_total = sum(reactive)
        return Snapshot(
            time=self.time,
            import_energy_t1=self.import_t1,
            import_energy_t2=self.import_t2,
            export_energy=self.export,
            reactive_import_energy=self.reactive_import,
            reactive_export_energy=self.reactive_export,
            power_import=max(p_total, 0.0),
            power_export=max(-p_total, 0.0),
            reactive_import=max(q_total, 0.0),
            reactive_export=max(-q_total, 0.0),
            phase_import=tuple(max(p, 0.0) for p in net),
            phase_export=tuple(max(-p, 0.0) for p in net),
            voltage=tuple(volts),
            current=tuple(amps),
            power_factor=self._pf,
            high_tariff=self.high_tariff(),
            message=self._message,
            gas_volume=self.gas_read,
            water_volume=self.water_read,
            submeter_time=self.read_at,
        )
