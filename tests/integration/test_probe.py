"""The live check on its own: what it reports for each kind of line and meter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import random
import time
from typing import cast

import pytest

from custom_components.swiss_meter_cii import probe
from custom_components.swiss_meter_cii.const import PROBE_ORDER, SERIAL_FORMAT_AUTO
from custom_components.swiss_meter_cii.decoder.identity import LOGICAL_DEVICE_NAME, push_flag
from custom_components.swiss_meter_cii.decoder.push import Push, Reading
from custom_components.swiss_meter_cii.link import LinkError, SerialFormat
from custom_components.swiss_meter_cii.probe import (
    ProbeError,
    ProbeResult,
    ProbeTimeouts,
    async_probe,
)
from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator, encoder as enc, wrong_key

FAST = ProbeTimeouts(total=3.0, per_format=1.0, gap=0.1)
INTERVAL = 0.15  # seconds between simulated pushes


def hdlc_frames(wire: bytes) -> list[bytes]:
    """Split concatenated HDLC frames using their 11-bit length fields."""
    frames = []
    while wire:
        assert wire[0] == 0x7E
        length = ((wire[1] & 0x07) << 8) | wire[2]
        frames.append(wire[: length + 2])
        wire = wire[length + 2 :]
    return frames


def unknown_layout_push() -> bytes:
    """A valid frame with a Data-Notification whose body no layout describes."""
    body = enc.structure([enc.boolean(True), enc.bit_string(3, b"\xa0"), enc.boolean(False)])
    apdu = enc.data_notification(1, body, None)
    return enc.hdlc_frame(enc.LLC_PUSH + apdu, destination=b"\xcf", source=b"\x03")


class FakeWriter:
    """Stands in for the StreamWriter: closing stops the feeder."""

    def __init__(self, feeder: asyncio.Task[None]) -> None:
        self.feeder = feeder
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.feeder.cancel()

    async def wait_closed(self) -> None:
        await asyncio.gather(self.feeder, return_exceptions=True)


class FakeLine:
    """An opener whose meter talks properly only at `good_format`.

    `source()` gives the next push's bytes; at other formats the line carries random
    bytes of the same length, like a UART at the wrong speed.
    """

    def __init__(
        self,
        source: Callable[[], bytes] | None,
        *,
        good_format: str = "2400_8E1",
        interval: float = INTERVAL,
        fail: bool = False,
        close_after: int | None = None,
    ) -> None:
        self.source = source
        self.good_format = good_format
        self.interval = interval
        self.fail = fail
        self.close_after = close_after
        self.opened: list[str] = []
        self.writers: list[FakeWriter] = []
        self.opened_once = asyncio.Event()
        self._rng = random.Random(7)

    async def __call__(
        self, port: str, serial_format: SerialFormat
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.fail:
            raise LinkError(f"cannot open {port}: [Errno 2] No such file or directory")
        self.opened.append(str(serial_format))
        reader = asyncio.StreamReader()
        feeder = asyncio.create_task(self._feed(reader, str(serial_format)))
        writer = FakeWriter(feeder)
        self.writers.append(writer)
        self.opened_once.set()
        return reader, cast(asyncio.StreamWriter, writer)

    async def _feed(self, reader: asyncio.StreamReader, serial_format: str) -> None:
        sent = 0
        while True:
            await asyncio.sleep(self.interval)
            if self.close_after is not None and sent >= self.close_after:
                reader.feed_eof()
                return
            if self.source is None:
                continue
            wire = self.source()
            if serial_format != self.good_format:
                wire = self._rng.randbytes(len(wire))
            reader.feed_data(wire)
            sent += 1


def meter_line(meter: MeterSimulator, **kwargs: object) -> FakeLine:
    return FakeLine(lambda: meter.next_push(5.0), **kwargs)  # type: ignore[arg-type]


async def run(
    line: FakeLine,
    *,
    key: bytes | None = None,
    auth_key: bytes | None = None,
    serial_format: str = "2400_8E1",
    port: str = "/dev/ttyUSB0",
    timeouts: ProbeTimeouts = FAST,
) -> ProbeResult:
    return await async_probe(
        port, serial_format, key=key, auth_key=auth_key, timeouts=timeouts, opener=line
    )


async def reason(line: FakeLine, **kwargs: object) -> str:
    with pytest.raises(ProbeError) as err:
        await run(line, **kwargs)  # type: ignore[arg-type]
    assert all(writer.closed for writer in line.writers)
    return err.value.reason


async def test_plain_meter() -> None:
    meter = MeterSimulator("e450", seed=1)
    line = meter_line(meter)
    result = await run(line)
    assert result.meter_number == meter.meter_number
    assert result.identity == meter.meter_number
    assert result.serial_format == "2400_8E1"
    assert result.pushes == 2
    assert result.values >= 20
    assert result.security == "none"
    # Plain pushes carry no system title: the FLAG comes from the logical device name, and
    # LGZ alone does not tell an E450 from an E570.
    assert result.manufacturer == "LGZ"
    assert result.model == "auto"
    assert result.model_name() == "Landis+Gyr"
    assert result.model_name("lg_e450") == "Landis+Gyr E450"
    assert line.writers[0].closed  # the port is released for the runtime


async def test_encrypted_and_authenticated_meter() -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=2)
    result = await run(meter_line(meter), key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY)
    assert result.meter_number == meter.meter_number
    assert result.security == "authenticated"
    assert result.system_title == meter.system_title.hex().upper()
    assert result.manufacturer == "LGZ"


async def test_encryption_key_alone_reads_an_authenticating_meter() -> None:
    """Swiss E450: the utility hands out the GUEK but not the GAK (field report #2)."""
    meter = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=3)
    result = await run(meter_line(meter), key=DEFAULT_KEY)
    assert result.security == "encrypted"


@pytest.mark.parametrize("profile", ["e360", "am550", "kaifa_ma309m"])
async def test_other_framings(profile: str) -> None:
    meter = MeterSimulator(profile, key=DEFAULT_KEY, seed=4)
    result = await run(meter_line(meter), key=DEFAULT_KEY)
    assert result.pushes == 2
    assert result.meter_number == meter.meter_number
    assert result.model in ("auto", meter.model)
    assert result.model_name(meter.model) is not None


async def test_auto_detects_the_format_that_yields_frames() -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=5)
    line = meter_line(meter, good_format="9600_8E1")
    result = await run(line, key=DEFAULT_KEY, serial_format=SERIAL_FORMAT_AUTO)
    assert result.serial_format == "9600_8E1"
    assert line.opened == list(PROBE_ORDER[:3])
    assert all(writer.closed for writer in line.writers)


async def test_auto_rejects_a_garbage_format_before_its_time_is_up() -> None:
    """Two whole bursts without a valid frame are enough to move on."""
    meter = MeterSimulator("e450", seed=6)
    line = meter_line(meter, good_format="9600_8N1", interval=0.3)
    slow = ProbeTimeouts(total=10.0, per_format=8.0, gap=0.1)
    started = time.monotonic()
    result = await run(line, serial_format=SERIAL_FORMAT_AUTO, timeouts=slow)
    assert result.serial_format == "9600_8N1"
    assert time.monotonic() - started < 4.0


async def test_socket_bridge_is_probed_once_in_auto() -> None:
    """ser2net owns the line settings: trying four formats over TCP is pointless."""
    line = FakeLine(None)
    with pytest.raises(ProbeError):
        await run(
            line,
            port="socket://127.0.0.1:3001",
            serial_format=SERIAL_FORMAT_AUTO,
            timeouts=ProbeTimeouts(total=0.5, per_format=0.3, gap=0.1),
        )
    assert line.opened == ["2400_8E1"]


async def test_cannot_connect() -> None:
    line = FakeLine(None, fail=True)
    assert await reason(line) == probe.CANNOT_CONNECT


async def test_connection_closed_before_any_byte_is_cannot_connect() -> None:
    line = FakeLine(None, close_after=0)
    assert await reason(line) == probe.CANNOT_CONNECT


async def test_no_data() -> None:
    line = FakeLine(None)
    short = ProbeTimeouts(total=0.6, per_format=0.3, gap=0.1)
    assert await reason(line, timeouts=short) == probe.NO_DATA


async def test_no_data_in_auto_tries_every_format() -> None:
    line = FakeLine(None)
    short = ProbeTimeouts(total=0.6, per_format=0.3, gap=0.1)
    assert await reason(line, serial_format=SERIAL_FORMAT_AUTO, timeouts=short) == probe.NO_DATA
    assert line.opened == list(PROBE_ORDER)


async def test_no_frames_ends_early_on_garbage() -> None:
    meter = MeterSimulator("e450", seed=7)
    line = meter_line(meter, good_format="none", interval=0.3)
    slow = ProbeTimeouts(total=20.0, per_format=20.0, gap=0.1)
    started = time.monotonic()
    assert await reason(line, timeouts=slow) == probe.NO_FRAMES
    assert time.monotonic() - started < 3.0


async def test_no_frames_in_auto() -> None:
    meter = MeterSimulator("e450", seed=8)
    line = meter_line(meter, good_format="none")
    assert await reason(line, serial_format=SERIAL_FORMAT_AUTO) == probe.NO_FRAMES
    assert line.opened == list(PROBE_ORDER)


async def test_a_continuous_garbage_stream_is_no_frames() -> None:
    """A meter that never pauses (or a line full of noise) hits the garbage limit."""
    rng = random.Random(1)
    line = FakeLine(lambda: rng.randbytes(600), interval=0.01)
    slow = ProbeTimeouts(total=20.0, per_format=20.0, gap=0.5)
    started = time.monotonic()
    assert await reason(line, timeouts=slow) == probe.NO_FRAMES
    assert time.monotonic() - started < 3.0


async def test_missing_key() -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=9)
    assert await reason(meter_line(meter)) == probe.MISSING_KEY


async def test_wrong_key() -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=10)
    assert await reason(meter_line(meter), key=wrong_key(DEFAULT_KEY)) == probe.WRONG_KEY


async def test_wrong_key_on_mbus() -> None:
    meter = MeterSimulator("kaifa_ma309m", key=DEFAULT_KEY, seed=10)
    assert await reason(meter_line(meter), key=wrong_key(DEFAULT_KEY)) == probe.WRONG_KEY


async def test_auth_failed() -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=11)
    got = await reason(meter_line(meter), key=DEFAULT_KEY, auth_key=wrong_key(DEFAULT_AUTH_KEY))
    assert got == probe.AUTH_FAILED


async def test_unsupported_layout() -> None:
    line = FakeLine(unknown_layout_push)
    assert await reason(line) == probe.UNSUPPORTED_LAYOUT


async def test_valid_frames_without_a_complete_push() -> None:
    """Only the first block of every general block transfer arrives."""
    meter = MeterSimulator("e450", seed=12)
    line = FakeLine(lambda: hdlc_frames(meter.next_push(5.0))[0])
    short = ProbeTimeouts(total=1.0, per_format=1.0, gap=0.1)
    assert await reason(line, timeouts=short) == probe.NO_PUSH


async def test_a_single_push_is_enough_when_time_runs_out() -> None:
    meter = MeterSimulator("e450", seed=13)
    line = meter_line(meter, interval=0.6)
    result = await run(line, timeouts=ProbeTimeouts(total=1.0, per_format=1.0, gap=0.1))
    assert result.pushes == 1


async def test_noise_between_pushes_is_tolerated() -> None:
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=14)
    rng = random.Random(3)
    line = FakeLine(lambda: rng.randbytes(40) + meter.next_push(5.0))
    result = await run(line, key=DEFAULT_KEY)
    assert result.meter_number == meter.meter_number


async def test_cancel_closes_the_port() -> None:
    line = FakeLine(None)
    task = asyncio.create_task(run(line, timeouts=ProbeTimeouts(total=30, per_format=30)))
    await line.opened_once.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert line.writers[0].closed


async def test_read_error_before_data_is_cannot_connect() -> None:
    class BrokenReader(asyncio.StreamReader):
        async def read(self, n: int = -1) -> bytes:
            raise OSError(5, "Input/output error")

    async def opener(
        port: str, serial_format: SerialFormat
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return BrokenReader(), cast(asyncio.StreamWriter, FakeWriter(asyncio.ensure_future(done)))

    with pytest.raises(ProbeError) as err:
        await async_probe("/dev/ttyUSB0", "2400_8E1", key=None, auth_key=None, opener=opener)
    assert err.value.reason == probe.CANNOT_CONNECT


def test_identity_falls_back_to_the_system_title() -> None:
    result = ProbeResult(
        serial_format="2400_8E1",
        meter_number=None,
        system_title="4B464D1020000001",
        model="auto",
        manufacturer="KFM",
        values=12,
        pushes=2,
        security="encrypted",
    )
    assert result.identity == "st-4B464D1020000001"
    assert result.model_name() == "Kaifa"
    assert result.model_name("kaifa_ma110m") == "Kaifa MA110M"
    anonymous = ProbeResult("2400_8E1", None, None, "auto", None, 3, 1, "none")
    assert anonymous.identity is None
    assert anonymous.model_name() is None


def test_probe_error_keeps_its_reason() -> None:
    err = ProbeError(probe.WRONG_KEY, "2 push(es) refused")
    assert err.reason == "wrong_key"
    assert "wrong_key" in str(err)
    assert set(probe.PROBE_ERRORS) >= {
        "cannot_connect",
        "no_data",
        "no_frames",
        "missing_key",
        "wrong_key",
        "auth_failed",
        "unsupported_layout",
    }


async def test_link_lost_after_a_push_keeps_what_was_decoded() -> None:
    """The adapter is unplugged after the first push: one push is still a result."""
    meter = MeterSimulator("e450", seed=15)
    line = meter_line(meter, close_after=1)
    result = await run(line, timeouts=ProbeTimeouts(total=5.0, per_format=5.0, gap=0.1))
    assert result.pushes == 1


async def test_read_error_after_a_push_keeps_what_was_decoded() -> None:
    meter = MeterSimulator("e450", seed=16)
    first = meter.next_push(5.0)

    class FailingReader(asyncio.StreamReader):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        async def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls == 1:
                return first
            raise OSError(5, "Input/output error")

    async def opener(
        port: str, serial_format: SerialFormat
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return FailingReader(), cast(asyncio.StreamWriter, FakeWriter(asyncio.ensure_future(done)))

    result = await async_probe("/dev/ttyUSB0", "2400_8E1", key=None, auth_key=None, opener=opener)
    assert result.pushes == 1
    assert result.meter_number == meter.meter_number


def test_manufacturer_comes_from_the_title_or_the_device_name() -> None:
    titled = Push(values={}, system_title=b"KFM\x10\x20\x00\x00\x01")
    named = Push(values={LOGICAL_DEVICE_NAME: Reading("ISK1030115484973", None)})
    numeric = Push(values={LOGICAL_DEVICE_NAME: Reading("1030115484973", None)})
    assert push_flag(titled) == "KFM"
    assert push_flag(named) == "ISK"
    assert push_flag(numeric) is None
    assert push_flag(Push(values={})) is None
