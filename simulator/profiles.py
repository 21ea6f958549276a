"""Meter variants: which objects each one pushes, in which A-XDR types, and how it frames them.

A profile turns a `Snapshot` of the household into a plaintext Data-Notification plus
the values a correct decoder must report for it, and wraps a (possibly ciphered) APDU
in the meter's own link framing. The object lists follow docs/protocol.md, "Push body layouts".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
import math
import random
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from . import encoder as enc
from .household import Snapshot

type Value = int | Decimal | str | datetime
type Expected = dict[str, tuple[Value, str | None]]

# DLMS unit enum -> Home Assistant unit string (docs/protocol.md, "Unit enumeration")
WATT, VAR, WATT_HOUR, VAR_HOUR, AMPERE, VOLT, NO_UNIT = 27, 29, 30, 32, 33, 35, 255
CUBIC_METRE = 13
HA_UNITS: dict[int, str | None] = {
    CUBIC_METRE: "m³",
    WATT: "W",
    VAR: "var",
    WATT_HOUR: "Wh",
    VAR_HOUR: "varh",
    AMPERE: "A",
    VOLT: "V",
    NO_UNIT: None,
}

CLASS_DATA, CLASS_REGISTER, CLASS_CLOCK, CLASS_PUSH_SETUP = 1, 3, 8, 40
CLASS_EXTENDED_REGISTER, CLASS_MBUS_CLIENT = 4, 72
CLOCK_LN = "0-0:1.0.0"


def obis_key(text: str) -> str:
    """Normalise 'A-B:C.D.E' to the decoder's value key 'A-B:C.D.E.F'."""
    a, b, c, d, e, f = enc.obis(text)
    return f"{a}-{b}:{c}.{d}.{e}.{f}"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the meter is: fixed for its lifetime, drawn from the seed."""

    system_title: bytes
    logical_device_name: str
    meter_number: str
    hdlc_destination: bytes = b"\xcf"
    hdlc_source: bytes = b"\x03"


@dataclass(frozen=True, slots=True)
class ClockStyle:
    """How a meter writes a COSEM date-time (deviation, hundredths, status byte)."""

    deviation: bool  # False: 0x8000 'not specified' (Swiss E450: local wall time)
    resolution: Literal["hundredths", "seconds", "unspecified"]
    status_summer: int
    status_winter: int

    def encode(self, instant: datetime, zone: ZoneInfo) -> tuple[bytes, datetime]:
        """12 bytes for `instant`, and the aware datetime a decoder must read back."""
        local = instant.astimezone(zone)
        if self.resolution == "hundredths":
            local = local.replace(microsecond=local.microsecond // 10_000 * 10_000)
        else:
            local = local.replace(microsecond=0)
        summer = bool(local.dst())
        offset = local.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        raw = enc.cosem_datetime(
            local,
            deviation=-minutes if self.deviation else None,
            status=self.status_summer if summer else self.status_winter,
            hundredths=self.resolution != "unspecified",
        )
        readback = local.astimezone(timezone(offset)) if self.deviation else local
        return raw, readback


@dataclass(frozen=True, slots=True)
class Register:
    """A class-3 register: where its value comes from, its A-XDR type, scaler and unit."""

    obis: str
    quantity: Callable[[Snapshot], float]
    kind: Literal["u32", "u16"]
    scaler: int
    unit: int
    cumulative: bool = False  # energy: floor like a meter's counter, never rounds up

    class_id: ClassVar[int] = CLASS_REGISTER

    def raw(self, snap: Snapshot) -> int:
        """Return the integer the meter sends: value / 10**scaler, clamped to the type."""
        scaled = self.quantity(snap) / 10.0**self.scaler
        value = math.floor(scaled) if self.cumulative else round(scaled)
        top = 0xFFFFFFFF if self.kind == "u32" else 0xFFFF
        return min(max(value, 0), top)

    def encode(self, raw: int) -> bytes:
        """Encode the A-XDR value element."""
        return enc.double_long_unsigned(raw) if self.kind == "u32" else enc.long_unsigned(raw)

    def reading(self, raw: int) -> tuple[Value, str | None]:
        """Scaled exactly: int for scaler 0, Decimal otherwise; plus the HA unit."""
        value: Value = raw if self.scaler == 0 else Decimal(raw).scaleb(self.scaler)
        return value, HA_UNITS[self.unit]


@dataclass(frozen=True, slots=True)
class Text:
    """A class-1 data object holding ASCII text in an octet-string."""

    obis: str
    text: Callable[[Snapshot, Identity], str]

    class_id: ClassVar[int] = CLASS_DATA


@dataclass(frozen=True, slots=True)
class Clock:
    """The class-8 clock object (attribute 2) as a 12-byte octet-string."""

    style: ClockStyle
    obis: str = CLOCK_LN

    class_id: ClassVar[int] = CLASS_CLOCK


@dataclass(frozen=True, slots=True)
class Submeter:
    """A gas or water meter on the electricity meter's own M-Bus, channel 1..4.

    Pushed as the IDIS/DSMR objects of docs/protocol.md, "M-Bus sub-meters": the M-Bus
    client's device type (class 72, attribute 9: the EN 13757-3 medium byte), the
    sub-meter's serial (0-n:96.1.0) and its reading, an extended register (class 4) with
    value, scaler_unit and capture time. Readings count litres (scaler -3, m³).
    """

    channel: int
    medium: Literal["gas", "water"]

    MEDIUM_BYTES: ClassVar[dict[str, int]] = {"gas": 0x03, "water": 0x07}
    SCALER: ClassVar[int] = -3

    @property
    def value_obis(self) -> str:
        """The reading: 0-n:24.2.1."""
        return f"0-{self.channel}:24.2.1"

    def captures(self) -> list[bytes]:
        """Capture-object definitions, in the order of `elements`."""
        n = self.channel
        return [
            enc.capture_object(CLASS_MBUS_CLIENT, f"0-{n}:24.1.0", 9),
            enc.capture_object(CLASS_DATA, f"0-{n}:96.1.0", 2),
            enc.capture_object(CLASS_EXTENDED_REGISTER, self.value_obis, 2),
            enc.capture_object(CLASS_EXTENDED_REGISTER, self.value_obis, 3),
            enc.capture_object(CLASS_EXTENDED_REGISTER, self.value_obis, 5),
        ]

    def serial(self, identity: Identity) -> str:
        """Return a serial that stays with the meter: its number plus the channel."""
        return f"{self.medium[0].upper()}{identity.meter_number}{self.channel:02d}"

    def elements(
        self, snap: Snapshot, identity: Identity, zone: ZoneInfo, clock: ClockStyle
    ) -> tuple[list[bytes], Expected]:
        """Encode the five values and the readings a decoder must report for them."""
        volume = snap.gas_volume if self.medium == "gas" else snap.water_volume
        raw = math.floor(volume / 10.0**self.SCALER)
        reading = Decimal(raw).scaleb(self.SCALER)
        read_at = snap.submeter_time or snap.time
        stamp, readback = clock.encode(read_at, zone)
        serial = self.serial(identity)
        n = self.channel
        elements = [
            enc.unsigned(self.MEDIUM_BYTES[self.medium]),
            enc.octet_string(serial.encode("ascii")),
            enc.double_long_unsigned(raw),
            enc.scaler_unit(self.SCALER, CUBIC_METRE),
            enc.octet_string(stamp),
        ]
        expected: Expected = {
            obis_key(f"0-{n}:24.1.0"): (self.MEDIUM_BYTES[self.medium], None),
            obis_key(f"0-{n}:96.1.0"): (serial, None),
            obis_key(self.value_obis): (reading, "m³"),
            f"{obis_key(self.value_obis)}/5": (readback, None),
        }
        return elements, expected


type CaptureObject = Register | Text | Clock | Submeter


def _energy(pick: Callable[[Snapshot], float], obis: str, unit: int) -> Register:
    return Register(obis, pick, "u32", 0, unit, cumulative=True)


def _phase(
    values: Callable[[Snapshot], tuple[float, ...]], index: int
) -> Callable[[Snapshot], float]:
    return lambda snap: values(snap)[index]


def _voltages(obis: tuple[str, ...], phases: tuple[int, ...], scaler: int) -> list[Register]:
    return [
        Register(ln, _phase(lambda s: s.voltage, ph), "u16", scaler, VOLT)
        for ln, ph in zip(obis, phases, strict=True)
    ]


def _currents(scaler: int) -> list[Register]:
    return [
        Register(ln, _phase(lambda s: s.current, ph), "u16", scaler, AMPERE)
        for ph, ln in enumerate(("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"))
    ]


def _tariff(snap: Snapshot, _identity: Identity) -> str:
    return "RATE1" if snap.high_tariff else "RATE2"


def _idis_title(flag: str, rng: random.Random) -> bytes:
    """FLAG + IDIS device type 103 (IP polyphase), function flags 7, 28-bit serial."""
    serial = rng.randrange(10_000_000, 1 << 28)
    return flag.encode("ascii") + bytes([0x67, 0x70 | serial >> 24]) + serial.to_bytes(4)[1:]


# --------------------------------------------------------------------------- profiles


class Profile(ABC):
    """One meter variant. Subclasses declare the object list, clock and framing."""

    name: ClassVar[str]
    model: ClassVar[str]  # decoder model id (custom_components/.../decoder/models.py)
    family: ClassVar[str]  # meters of one family share identity and history for a seed
    title: ClassVar[str]
    zone: ClassVar[ZoneInfo]
    suite: ClassVar[int] = 0  # security suite in the SC low nibble
    pv_peak: ClassVar[tuple[float, float]] = (4000.0, 10000.0)
    mbus: ClassVar[bool] = False  # framed as wired M-Bus telegrams (T210-D overflow option)
    # A second push list of the same meter (same key and frame counter), sent at its own
    # rate: MeterSimulator.next_second_list_push().
    second_list: ClassVar[Profile | None] = None
    default_auth: ClassVar[bool] = True  # the CLI adds the default GAK (SC 0x30)

    @abstractmethod
    def identity(self, rng: random.Random) -> Identity:
        """Draw the meter's system title, names and HDLC addresses."""

    @abstractmethod
    def notification(
        self, snap: Snapshot, identity: Identity, invoke_id: int
    ) -> tuple[bytes, Expected]:
        """Build the plaintext Data-Notification for `snap` and the values it carries."""

    @abstractmethod
    def frame(self, apdu: bytes, identity: Identity, *, mbus_overflow: bool) -> bytes:
        """Wrap the APDU on the wire as this meter does."""


class CipProfile(Profile):
    """Swiss IDIS CIP push: element 1 is the push_object_list itself.

    See docs/protocol.md, "Self-describing push lists".
    """

    push_setup: ClassVar[str]
    send_setup_name: ClassVar[bool]  # E450: attribute 1 of the push setup is element 2
    objects: ClassVar[tuple[CaptureObject, ...]]
    header_clock: ClassVar[ClockStyle]
    submeter_clock: ClassVar[ClockStyle] = ClockStyle(False, "unspecified", 0x81, 0x01)

    def capture_list(self) -> bytes:
        """Encode push_object_list: this list, maybe the setup's LN, then the objects."""
        entries = [enc.capture_object(CLASS_PUSH_SETUP, self.push_setup, 2)]
        if self.send_setup_name:
            entries.append(enc.capture_object(CLASS_PUSH_SETUP, self.push_setup, 1))
        for obj in self.objects:
            if isinstance(obj, Submeter):
                entries += obj.captures()
            else:
                entries.append(enc.capture_object(obj.class_id, obj.obis, 2))
        return enc.array(entries)

    def notification(
        self, snap: Snapshot, identity: Identity, invoke_id: int
    ) -> tuple[bytes, Expected]:
        """Build the self-describing body and the expected readings."""
        elements = [self.capture_list()]
        if self.send_setup_name:
            elements.append(enc.octet_string(enc.obis(self.push_setup)))
        expected: Expected = {}
        for obj in self.objects:
            if isinstance(obj, Submeter):
                more, readings = obj.elements(snap, identity, self.zone, self.submeter_clock)
                elements += more
                expected.update(readings)
                continue
            key = obis_key(obj.obis)
            if isinstance(obj, Register):
                raw = obj.raw(snap)
                elements.append(obj.encode(raw))
                expected[key] = obj.reading(raw)
            elif isinstance(obj, Text):
                text = obj.text(snap, identity)
                elements.append(enc.octet_string(text.encode("ascii")))
                expected[key] = (text, None)
            else:
                raw_clock, readback = obj.style.encode(snap.time, self.zone)
                elements.append(enc.octet_string(raw_clock))
                expected[key] = (readback, None)
        header, _ = self.header_clock.encode(snap.time, self.zone)
        apdu = enc.data_notification(invoke_id, enc.structure(elements), header)
        return apdu, expected


_CH = ZoneInfo("Europe/Zurich")
_AT = ZoneInfo("Europe/Vienna")


class E450(CipProfile):
    """L+G E450, Swiss CIP list of 28 values, HDLC + general block transfer."""

    name = family = "e450"
    model = "lg_e450"
    title = "Landis+Gyr E450 (CH CIP list, 28 values, HDLC + GBT)"
    zone = _CH
    push_setup = "0-8:25.9.0"
    send_setup_name = True
    # The E450 header stamp has status 0x00; the clock object 0x81/0x01
    # (docs/protocol.md, "COSEM date-time").
    header_clock = ClockStyle(False, "unspecified", 0x00, 0x00)
    objects = (
        Text("0-0:42.0.0", lambda _s, ident: ident.logical_device_name),
        Text("0-0:96.1.1", lambda _s, ident: ident.meter_number),
        Clock(ClockStyle(False, "unspecified", 0x81, 0x01)),
        _energy(lambda s: s.import_energy, "1-1:1.8.0", WATT_HOUR),
        _energy(lambda s: s.import_energy_t1, "1-1:1.8.1", WATT_HOUR),
        _energy(lambda s: s.import_energy_t2, "1-1:1.8.2", WATT_HOUR),
        _energy(lambda s: s.export_energy, "1-1:2.8.0", WATT_HOUR),
        _energy(lambda s: s.reactive_import_energy, "1-1:3.8.0", VAR_HOUR),
        _energy(lambda s: s.reactive_export_energy, "1-1:4.8.0", VAR_HOUR),
        Register("1-0:1.7.0", lambda s: s.power_import, "u32", 0, WATT),
        Register("1-0:2.7.0", lambda s: s.power_export, "u32", 0, WATT),
        Register("1-0:3.7.0", lambda s: s.reactive_import, "u32", 0, VAR),
        Register("1-0:4.7.0", lambda s: s.reactive_export, "u32", 0, VAR),
        *(
            Register(ln, _phase(lambda s: s.phase_import, ph), "u32", 0, WATT)
            for ph, ln in enumerate(("1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0"))
        ),
        *(
            Register(ln, _phase(lambda s: s.phase_export, ph), "u32", 0, WATT)
            for ph, ln in enumerate(("1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"))
        ),
        *_voltages(("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"), (0, 1, 2), 0),
        *_currents(-2),
        Register("1-0:13.7.0", lambda s: s.power_factor, "u16", -3, NO_UNIT),
        Text("0-0:96.14.0", _tariff),
        Text("0-0:96.13.0", lambda s, _ident: s.message),
    )

    def identity(self, rng: random.Random) -> Identity:
        """LGZ IDIS title, 'LGZ1030…' device name, 7-8 digit utility meter number."""
        return Identity(
            system_title=_idis_title("LGZ", rng),
            logical_device_name=f"LGZ1030{rng.randrange(10**9):09d}",
            meter_number=str(rng.randrange(1_000_000, 100_000_000)),
            hdlc_destination=bytes([0xCE, rng.randrange(128) << 1 | 1]),
            hdlc_source=b"\x03",
        )

    def frame(self, apdu: bytes, identity: Identity, *, mbus_overflow: bool) -> bytes:
        """Complete HDLC frames, one GBT block each, LLC in the first only."""
        return b"".join(
            enc.hdlc_gbt(apdu, destination=identity.hdlc_destination, source=identity.hdlc_source)
        )


class E450Registers(E450):
    """The E450's second push setup (0-2:25.9.0): its registers, every 60 s or 15 min.

    Sent beside the instantaneous list; no meter number in it: it belongs to the meter of the
    first list.
    """

    name = "e450_registers"
    title = "Landis+Gyr E450 register list (0-2:25.9.0)"
    push_setup = "0-2:25.9.0"
    objects = (
        Clock(ClockStyle(False, "unspecified", 0x81, 0x01)),
        _energy(lambda s: s.import_energy, "1-1:1.8.0", WATT_HOUR),
        _energy(lambda s: s.import_energy_t1, "1-1:1.8.1", WATT_HOUR),
        _energy(lambda s: s.import_energy_t2, "1-1:1.8.2", WATT_HOUR),
        _energy(lambda s: s.export_energy, "1-1:2.8.0", WATT_HOUR),
        # |+A| + |-A|: only in this list, so its availability follows this list alone.
        _energy(lambda s: s.import_energy + s.export_energy, "1-1:15.8.0", WATT_HOUR),
    )


E450.second_list = E450Registers()


class E450GasWater(E450):
    """The E450's list with a gas meter on M-Bus channel 1 and a water meter on channel 2."""

    name = "e450_gas_water"
    title = "Landis+Gyr E450 (CH CIP list + gas and water meters on its M-Bus)"
    objects = (*E450.objects, Submeter(1, "gas"), Submeter(2, "water"))


_VSE_ENERGIES = (
    _energy(lambda s: s.import_energy, "1-1:1.8.0", WATT_HOUR),
    _energy(lambda s: s.export_energy, "1-1:2.8.0", WATT_HOUR),
    _energy(lambda s: s.reactive_import_energy, "1-1:3.8.0", VAR_HOUR),
    _energy(lambda s: s.reactive_export_energy, "1-1:4.8.0", VAR_HOUR),
)


class E360(CipProfile):
    """L+G E360 (P1), VSE-2026-like list of 14, one big HDLC frame, voltage in 0.1 V."""

    name = family = "e360"
    model = "lg_e360"
    title = "Landis+Gyr E360 (CH VSE-2026 list, 14 objects, one HDLC frame)"
    zone = _CH
    push_setup = "0-6:25.9.0"
    send_setup_name = False
    header_clock = ClockStyle(True, "hundredths", 0x80, 0x00)
    objects = (
        Text("0-0:42.0.0", lambda _s, ident: ident.logical_device_name),
        *_VSE_ENERGIES,
        Register("1-0:1.7.0", lambda s: s.power_import, "u32", 0, WATT),
        Register("1-0:2.7.0", lambda s: s.power_export, "u32", 0, WATT),
        # The real E360 pushes the voltages in the order L1, L3, L2.
        *_voltages(("1-0:32.7.0", "1-0:72.7.0", "1-0:52.7.0"), (0, 2, 1), -1),
        *_currents(-2),
    )

    def identity(self, rng: random.Random) -> Identity:
        """LGZ IDIS title; the device name doubles as the meter number (no 96.1.1)."""
        name = f"LGZ1030{rng.randrange(10**9):09d}"
        return Identity(_idis_title("LGZ", rng), name, name, b"\xcf", b"\x03")

    def frame(self, apdu: bytes, identity: Identity, *, mbus_overflow: bool) -> bytes:
        """One HDLC frame (format A1xx once the push exceeds 255 bytes)."""
        return enc.hdlc_frame(
            enc.LLC_PUSH + apdu,
            destination=identity.hdlc_destination,
            source=identity.hdlc_source,
        )


class AM550(CipProfile):
    """Iskraemeco AM550 (P1), VSE-2026-like list of 14, HDLC S-bit segmentation."""

    name = family = "am550"
    model = "iskra_am550"
    title = "Iskraemeco AM550 (CH VSE-2026 list, 14 objects, HDLC segments)"
    zone = _CH
    push_setup = "0-6:25.9.0"
    send_setup_name = False
    header_clock = ClockStyle(True, "seconds", 0x80, 0x00)
    objects = (
        Text("0-0:42.0.0", lambda _s, ident: ident.logical_device_name),
        *_VSE_ENERGIES,
        Register("1-1:1.7.0", lambda s: s.power_import, "u32", 0, WATT),
        Register("1-1:2.7.0", lambda s: s.power_export, "u32", 0, WATT),
        *_voltages(("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"), (0, 1, 2), -1),
        *_currents(-2),
    )
    max_info: ClassVar[int] = 154  # 164-byte frames (A8 A4) like the real AM550

    def identity(self, rng: random.Random) -> Identity:
        """ISK IDIS title, 'ISK1030…' device name, server address 02 23."""
        name = f"ISK1030{rng.randrange(10**9):09d}"
        return Identity(_idis_title("ISK", rng), name, name, b"\xcf", b"\x02\x23")

    def frame(self, apdu: bytes, identity: Identity, *, mbus_overflow: bool) -> bytes:
        """A8xx segments with control 03, the last A0xx with 13; LLC in the first only."""
        return b"".join(
            enc.hdlc_segmented(
                enc.LLC_PUSH + apdu,
                destination=identity.hdlc_destination,
                source=identity.hdlc_source,
                max_info=self.max_info,
            )
        )


class KaifaMA309M(Profile):
    """Kaifa MA309M (TINETZ/KSM-West): {OBIS, value, {scaler, unit}} over wired M-Bus."""

    name = family = "kaifa_ma309m"
    model = "kaifa_ma309m"
    title = "Kaifa MA309M (AT TINETZ/KSM-West list, wired M-Bus, SC 0x21)"
    zone = _AT
    suite = 1
    pv_peak = (0.0, 8000.0)
    mbus = True
    default_auth = False  # TINETZ/KSM-West send SC 0x21: encrypted, no tag
    clock = ClockStyle(True, "seconds", 0x80, 0x00)
    registers: ClassVar[tuple[Register, ...]] = (
        *_voltages(("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"), (0, 1, 2), -1),
        *_currents(-2),
        Register("1-0:1.7.0", lambda s: s.power_import, "u32", 0, WATT),
        Register("1-0:2.7.0", lambda s: s.power_export, "u32", 0, WATT),
        _energy(lambda s: s.import_energy, "1-0:1.8.0", WATT_HOUR),
        _energy(lambda s: s.export_energy, "1-0:2.8.0", WATT_HOUR),
        _energy(lambda s: s.reactive_import_energy, "1-0:3.8.0", VAR_HOUR),
        _energy(lambda s: s.reactive_export_energy, "1-0:4.8.0", VAR_HOUR),
    )

    def identity(self, rng: random.Random) -> Identity:
        """'KFM' + 10 10 + 24-bit serial; 96.1.0 '1KFM01…', device name 'KFM11001…'."""
        serial = rng.randrange(1, 1 << 24)
        return Identity(
            system_title=b"KFM\x10\x10" + serial.to_bytes(3, "big"),
            logical_device_name=f"KFM11001{serial:08d}",
            meter_number=f"1KFM01{serial:08d}",
        )

    def notification(
        self, snap: Snapshot, identity: Identity, invoke_id: int
    ) -> tuple[bytes, Expected]:
        """Clock LN + value, {96.1.0, text}, {42.0.0, text}, then {LN, value, scaler_unit}."""
        stamp, readback = self.clock.encode(snap.time, self.zone)
        elements = [
            enc.octet_string(enc.obis(CLOCK_LN)),
            enc.octet_string(stamp),
            enc.structure(
                [
                    enc.octet_string(enc.obis("0-0:96.1.0")),
                    enc.octet_string(identity.meter_number.encode()),
                ]
            ),
            enc.structure(
                [
                    enc.octet_string(enc.obis("0-0:42.0.0")),
                    enc.octet_string(identity.logical_device_name.encode()),
                ]
            ),
        ]
        expected: Expected = {
            obis_key(CLOCK_LN): (readback, None),
            obis_key("0-0:96.1.0"): (identity.meter_number, None),
            obis_key("0-0:42.0.0"): (identity.logical_device_name, None),
        }
        for reg in self.registers:
            raw = reg.raw(snap)
            elements.append(
                enc.structure(
                    [
                        enc.octet_string(enc.obis(reg.obis)),
                        reg.encode(raw),
                        enc.scaler_unit(reg.scaler, reg.unit),
                    ]
                )
            )
            expected[obis_key(reg.obis)] = reg.reading(raw)
        apdu = enc.data_notification(invoke_id, enc.structure(elements), stamp)
        return apdu, expected

    def frame(self, apdu: bytes, identity: Identity, *, mbus_overflow: bool) -> bytes:
        """245 data bytes per telegram, CI 00, 01 … FIN; T210-D style 252/L=0x01 on request."""
        first = 252 if mbus_overflow else None
        return b"".join(enc.mbus_segments(apdu, first_segment_size=first))


PROFILES: dict[str, Profile] = {
    p.name: p for p in (E450(), E450GasWater(), E360(), AM550(), KaifaMA309M())
}
