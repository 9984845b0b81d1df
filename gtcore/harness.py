"""The workshop's test harness, per region: ping, get, +/-, set, and who has caught up.

`Harness` holds one `RegionalApi` per region and the last write made through it; `observe`
records, from each poll, when every other region first showed the written value, and
`catch_up` tells where the last write has arrived, so the Replicas live page can say "Ireland
caught up 1.2 s after the write". Every action notes what happened (or why it failed) in
`last_action`, per region, for the page to show under that region's buttons.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from gtcore.errors import ConfigError, GtError
from gtcore.regional_client import ApiReply, RegionalApi
from gtcore.target import Connection

T = TypeVar("T")

DEMO_PK = "user100"
DEMO_SK = "AshlandValley"
ATTRIBUTE = "Bookmark"


def attribute_value(item: dict[str, Any] | None, name: str = ATTRIBUTE) -> Decimal | None:
    """A number attribute of a DynamoDB-JSON item (None when absent or not a number)."""
    if not item or name not in item:
        return None
    raw = item[name]
    text = raw.get("N") if isinstance(raw, dict) else raw
    try:
        return Decimal(str(text))
    except (InvalidOperation, TypeError, ValueError):
        return None


def format_number(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:f}" if value != value.to_integral_value() else str(int(value))


@dataclass
class Reading:
    """One region's view of the item at one moment (or why there is none)."""

    region: str
    at: float
    value: Decimal | None = None
    item: dict[str, Any] | None = None
    db_latency_ms: float | None = None
    rtt_ms: float | None = None
    error: GtError | None = None
    wall: float | None = None  # time.time() when the answer came: what a screen can show


@dataclass
class LastWrite:
    region: str
    value: Decimal | None
    at: float
    wall: float
    what: str
    seen_after: dict[str, float] = field(default_factory=dict)  # region -> seconds


@dataclass(frozen=True)
class CatchUp:
    """Where the last write has arrived: ``caught`` maps each other region that has shown it to
    the seconds it took; ``waiting`` lists the regions (with an API) that have not yet."""

    write: LastWrite
    since_s: float  # seconds since the write was made
    caught: dict[str, float]
    waiting: list[str]


@dataclass
class Harness:
    apis: dict[str, RegionalApi]
    pk: str = DEMO_PK
    sk: str = DEMO_SK
    last_write: LastWrite | None = None
    last_action: dict[str, str] = field(default_factory=dict)  # region -> what happened
    missing: dict[str, str] = field(default_factory=dict)  # region -> why no API

    @classmethod
    def for_connection(cls, conn: Connection, timeout: float = 3.0) -> Harness:
        apis: dict[str, RegionalApi] = {}
        missing: dict[str, str] = {}
        for region in conn.regions:
            try:
                url = conn.api_base_url(region)
            except (GtError, ImportError) as err:
                missing[region] = str(err)
                continue
            if not url:
                missing[region] = "no regional API URL recorded for this region (run Setup)"
                continue
            apis[region] = RegionalApi(url, timeout=timeout, region=region)
        return cls(apis=apis, missing=missing)

    # --- reads ---------------------------------------------------------------------------

    def read(self, region: str) -> Reading:
        now = time.monotonic()
        api = self.apis.get(region)
        if api is None:
            return Reading(region, now, error=ConfigError(
                self.missing.get(region, "no regional API"), region=region))
        try:
            reply = api.get(self.pk, self.sk)
        except GtError as err:
            return Reading(region, now, error=err)
        item = reply.body.get("Item")
        return Reading(region, time.monotonic(), attribute_value(item), item,
                       reply.db_latency_ms, reply.rtt_ms, wall=time.time())

    def read_now(self, regions: list[str] | tuple[str, ...]) -> dict[str, Reading]:
        """Every region's view, read concurrently (nothing noted: readings can be shared)."""
        with ThreadPoolExecutor(max_workers=max(1, len(regions))) as pool:
            return dict(zip(regions, pool.map(self.read, regions), strict=True))

    def read_all(self, regions: list[str] | tuple[str, ...]) -> dict[str, Reading]:
        """Every region's view, read concurrently, and catch-up times updated."""
        readings = self.read_now(regions)
        self.observe(readings)
        return readings

    def read_everywhere(self, regions: list[str] | tuple[str, ...], pk: str | None, *,
                        consistent: bool = False) -> dict[str, ApiReply | GtError]:
        """Query ``pk`` (scan when None) through every region's API, concurrently: each
        region's reply, or the GtError that says why there is none."""

        def one(region: str) -> ApiReply | GtError:
            api = self.apis.get(region)
            if api is None:
                return ConfigError(self.missing.get(region, "no regional API"), region=region)
            try:
                return api.query(pk, consistent=consistent) if pk else api.scan(consistent=consistent)
            except GtError as err:
                return err

        with ThreadPoolExecutor(max_workers=max(1, len(regions))) as pool:
            return dict(zip(regions, pool.map(one, regions), strict=True))

    def observe(self, readings: dict[str, Reading]) -> None:
        w = self.last_write
        if w is None or w.value is None:
            return
        for region, r in readings.items():
            # A reading from before the write (shared readings can be) proves nothing about it.
            if region not in w.seen_after and r.error is None and r.at >= w.at and r.value == w.value:
                w.seen_after[region] = max(0.0, r.at - w.at)

    def catch_up(self, now: float | None = None) -> CatchUp | None:
        """The last write's progress through the other regions (None before the first write)."""
        w = self.last_write
        if w is None:
            return None
        now = time.monotonic() if now is None else now
        return CatchUp(w, now - w.at,
                       {r: s for r, s in w.seen_after.items() if r != w.region},
                       [r for r in self.apis if r not in w.seen_after])

    def in_sync(self, reading: Reading) -> bool | None:
        """True when the region shows the last written value (None: nothing written yet)."""
        w = self.last_write
        if w is None or w.value is None or reading.error is not None:
            return None
        return reading.value == w.value

    def watch(self, pk: str, sk: str) -> None:
        """Follow another item from now on (forgets the last write, which was to the old one)."""
        if (pk, sk) != (self.pk, self.sk):
            self.pk, self.sk, self.last_write = pk, sk, None

    # --- writes and pings ----------------------------------------------------------------

    def _attempt(self, region: str, what: str, call: Callable[[], T]) -> T:
        """``call()``; when it fails, note why under the region and raise the GtError."""
        try:
            return call()
        except GtError as err:
            self.last_action[region] = f"{what} failed: {err.message}"
            raise

    def _write(self, region: str, what: str, call: Callable[[], ApiReply]) -> ApiReply:
        start = time.monotonic()
        wall = time.time()
        reply = self._attempt(region, what, call)
        value = attribute_value(reply.body.get("Attributes"))
        self.last_write = LastWrite(region, value, start, wall, what, {region: 0.0})
        self.last_action[region] = (f"{what} → {format_number(value)} "
                                    f"({_ms(reply.db_latency_ms)} DynamoDB, "
                                    f"{_ms(reply.rtt_ms)} round trip)")
        return reply

    def increment(self, region: str, delta: int) -> ApiReply:
        sign = "+" if delta >= 0 else "−"
        return self._write(region, f"{sign}{abs(delta)}",
                           lambda: self.apis[region].increment(self.pk, self.sk, delta))

    def set_value(self, region: str, value: int) -> ApiReply:
        return self._write(region, f"set {value}",
                           lambda: self.apis[region].set_value(self.pk, self.sk, value))

    def ping(self, region: str) -> ApiReply:
        reply = self._attempt(region, "ping", self.apis[region].ping)
        self.last_action[region] = f"ping ok in {_ms(reply.rtt_ms)}"
        return reply

    def get(self, region: str) -> Reading:
        """Read the item in ``region`` now; a failed read is noted and raised."""
        reading = self.read(region)
        if reading.error is not None:
            self.last_action[region] = f"get-item failed: {reading.error.message}"
            raise reading.error
        self.last_action[region] = (f"get-item → {format_number(reading.value)} "
                                    f"({_ms(reading.db_latency_ms)} DynamoDB, "
                                    f"{_ms(reading.rtt_ms)} round trip)")
        return reading


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} ms"
