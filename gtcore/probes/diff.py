"""Compare a global table's replicas item by item and report real divergence.

1. Scan every region with parallel scan segments (a digest per item, not the item, is kept).
2. Keys missing in some region or with differing digests are *candidates*: a scan sees writes
   still in flight between regions, so a candidate is not yet a divergence.
3. After a settle interval, re-read just the candidates in every region with consistent reads.
   A key that now agrees everywhere was in-flight replication (``settled``). A key that still
   differs and did not change since the previous read is confirmed divergence. A key that keeps
   changing (live writes) is re-read again, up to ``rechecks`` times, then reported as
   ``unsettled``, separately from divergence.

Progress goes to an optional callback; a ``threading.Event`` cancels between pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from gtcore.errors import ConfigError, GtError, wrap
from gtcore.target import Connection

__all__ = ["DiffProgress", "DiffReport", "ItemDiff", "diff_replicas", "plain_item"]

Image = dict[str, Any]  # an item in DynamoDB JSON ({"PK": {"S": "x"}, ...})
_BATCH_GET_MAX = 100
_DESER = TypeDeserializer()


@dataclass(frozen=True)
class DiffProgress:
    """A progress event: ``phase`` is scan, settle, recheck or done; ``done`` of ``total``."""

    phase: str
    done: int
    total: int
    items: int = 0  # items scanned so far (all regions)
    candidates: int = 0
    message: str = ""


@dataclass(frozen=True)
class ItemDiff:
    """One key whose replicas disagree."""

    key: dict[str, Any]  # plain key, e.g. {"PK": "user10", "SK": "42"}
    kind: str  # "missing" (absent in some regions) or "different" (present, not equal)
    missing_in: tuple[str, ...]
    differing_attributes: tuple[str, ...]
    images: dict[str, dict[str, Any] | None]  # region -> plain item (None: absent)

    def describe(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        if self.kind == "missing":
            present = [r for r, img in self.images.items() if img is not None]
            text = f"[{key}] missing in {', '.join(self.missing_in)} (present in "
            text += f"{', '.join(present)})"
            if self.differing_attributes:
                text += f"; also differs in {', '.join(self.differing_attributes)}"
            return text
        return f"[{key}] differs in {', '.join(self.differing_attributes)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "missing_in": list(self.missing_in),
            "differing_attributes": list(self.differing_attributes),
            "images": self.images,
            "text": self.describe(),
        }


@dataclass
class DiffReport:
    """Outcome of a replica comparison."""

    table: str
    regions: tuple[str, ...]
    scanned: dict[str, int] = field(default_factory=dict)  # region -> items scanned
    candidates: int = 0  # keys that differed in the scan
    settled: int = 0  # ... and agreed after the settle interval (replication in flight)
    divergent: list[ItemDiff] = field(default_factory=list)
    unsettled: list[ItemDiff] = field(default_factory=list)  # still changing at the end
    errors: dict[str, str] = field(default_factory=dict)  # region -> message
    cancelled: bool = False
    elapsed_ms: float = 0.0

    @property
    def diverged(self) -> bool:
        return bool(self.divergent)

    @property
    def complete(self) -> bool:
        """Every region was compared to the end."""
        return not self.errors and not self.cancelled

    @property
    def ok(self) -> bool:
        """The replicas agree (only meaningful when ``complete``)."""
        return self.complete and not self.divergent and not self.unsettled

    def missing_by_region(self) -> dict[str, int]:
        out = dict.fromkeys(self.regions, 0)
        for d in self.divergent:
            for r in d.missing_in:
                out[r] = out.get(r, 0) + 1
        return out

    def different_by_region(self) -> dict[str, int]:
        """Per region, divergent keys whose image there is not the majority image."""
        out = dict.fromkeys(self.regions, 0)
        for d in self.divergent:
            digests = {r: _digest_plain(img) for r, img in d.images.items() if img is not None}
            if len(set(digests.values())) < 2:
                continue
            counts: dict[str, int] = {}
            for dg in digests.values():
                counts[dg] = counts.get(dg, 0) + 1
            top = max(counts.values())
            for r, dg in digests.items():
                if counts[dg] < top or list(counts.values()).count(top) > 1:
                    out[r] = out.get(r, 0) + 1
        return out

    def summary(self) -> str:
        if self.cancelled:
            return "diff cancelled before it finished"
        scanned = ", ".join(f"{r}: {n}" for r, n in self.scanned.items())
        text = (
            f"{len(self.divergent)} divergent key(s), {len(self.unsettled)} still changing, "
            f"{self.settled} settled after replication caught up (scanned {scanned})"
        )
        if self.errors:
            text += f"; could not compare {', '.join(sorted(self.errors))}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "regions": list(self.regions),
            "scanned": self.scanned,
            "candidates": self.candidates,
            "settled": self.settled,
            "diverged": self.diverged,
            "complete": self.complete,
            "ok": self.ok,
            "cancelled": self.cancelled,
            "divergent": [d.to_dict() for d in self.divergent],
            "unsettled": [d.to_dict() for d in self.unsettled],
            "missing_by_region": self.missing_by_region(),
            "different_by_region": self.different_by_region(),
            "errors": self.errors,
            "elapsed_ms": self.elapsed_ms,
            "summary": self.summary(),
        }


# --- item helpers ----------------------------------------------------------------------------


def _plain_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3 Binary
        return base64.b64encode(value.value).decode()
    if isinstance(value, set | frozenset):
        return sorted((_plain_value(v) for v in value), key=repr)
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    return value


def plain_item(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB-JSON item as plain JSON-friendly Python (numbers, strings, lists...)."""
    if image is None:
        return None
    return {k: _plain_value(_DESER.deserialize(v)) for k, v in sorted(image.items())}


def _canonical(value: Any) -> Any:
    # Sets come back in any order: sort their members so equal items digest equally.
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("SS", "NS", "BS") and isinstance(v, list):
                out[k] = sorted(_canonical(x) for x in v)
            else:
                out[k] = _canonical(v)
        return out
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value


def _digest(image: Image) -> str:
    data = json.dumps(_canonical(image), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()


def _digest_plain(image: Mapping[str, Any]) -> str:
    data = json.dumps(image, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()


def _key_id(image: Image, key_names: Sequence[str]) -> str:
    return json.dumps(
        {k: _canonical(image[k]) for k in key_names}, sort_keys=True, separators=(",", ":")
    )


# --- the comparison --------------------------------------------------------------------------


class _Cancelled(Exception):
    pass


def _key_names(conn: Connection) -> list[str]:
    table = conn.target.table
    last: GtError | None = None
    for region in conn.target.regions:
        try:
            with wrap(f"read key schema of table {table}", region):
                desc = conn.client("dynamodb", region).describe_table(TableName=table)["Table"]
        except GtError as err:
            last = err
            continue
        schema = sorted(desc["KeySchema"], key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
        return [k["AttributeName"] for k in schema]
    assert last is not None
    raise last


def _scan_segment(
    conn: Connection,
    region: str,
    segment: int,
    segments: int,
    key_names: Sequence[str],
    page_size: int | None,
    cancel: threading.Event,
    on_page: Callable[[int], None],
) -> dict[str, str]:
    table = conn.target.table
    client = conn.client("dynamodb", region)
    out: dict[str, str] = {}
    kwargs: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": segments}
    if page_size:
        kwargs["Limit"] = page_size
    while True:
        if cancel.is_set():
            raise _Cancelled
        with wrap(f"scan table {table} (segment {segment + 1}/{segments})", region):
            page = client.scan(**kwargs)
        for item in page.get("Items", []):
            out[_key_id(item, key_names)] = _digest(item)
        on_page(len(page.get("Items", [])))
        last = page.get("LastEvaluatedKey")
        if not last:
            return out
        kwargs["ExclusiveStartKey"] = last


def _read_keys(
    conn: Connection,
    region: str,
    keys: Sequence[str],
    key_names: Sequence[str],
    cancel: threading.Event,
) -> dict[str, Image]:
    """Consistent reads of ``keys`` (key ids) in ``region``: key id -> image (absent: missing)."""
    table = conn.target.table
    client = conn.client("dynamodb", region)
    found: dict[str, Image] = {}
    for start in range(0, len(keys), _BATCH_GET_MAX):
        if cancel.is_set():
            raise _Cancelled
        request = {
            table: {
                "Keys": [json.loads(k) for k in keys[start : start + _BATCH_GET_MAX]],
                "ConsistentRead": True,
            }
        }
        attempts = 0
        while request:
            with wrap(f"re-read {len(keys)} key(s) of table {table}", region):
                resp = client.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(table, []):
                found[_key_id(item, key_names)] = item
            request = resp.get("UnprocessedKeys") or {}
            attempts += 1
            if request:
                if attempts > 8:
                    raise GtError(
                        "DynamoDB kept returning unprocessed keys",
                        hint="retry the diff later",
                        region=region,
                        action=f"re-read keys of table {table}",
                    )
                time.sleep(min(1.0, 0.05 * 2**attempts))
    return found


def _differing(images: Mapping[str, dict[str, Any] | None]) -> tuple[str, ...]:
    present = [img for img in images.values() if img is not None]
    names = sorted({n for img in present for n in img})
    out = []
    for n in names:
        values = {json.dumps(img.get(n, "<absent>"), sort_keys=True, default=str) for img in present}
        if len(values) > 1:
            out.append(n)
    return tuple(out)


def _make_diff(
    key_id: str, key_names: Sequence[str], images: Mapping[str, Image | None]
) -> ItemDiff:
    plain = {r: plain_item(img) for r, img in images.items()}
    missing = tuple(r for r, img in images.items() if img is None)
    key_image = json.loads(key_id)
    key = {k: _plain_value(_DESER.deserialize(key_image[k])) for k in key_names}
    return ItemDiff(
        key=key,
        kind="missing" if missing else "different",
        missing_in=missing,
        differing_attributes=_differing(plain),
        images=plain,
    )


def diff_replicas(
    conn: Connection,
    *,
    segments: int = 4,
    settle_seconds: float = 3.0,
    rechecks: int = 3,
    page_size: int | None = None,
    progress: Callable[[DiffProgress], None] | None = None,
    cancel: threading.Event | None = None,
    regions: Iterable[str] | None = None,
) -> DiffReport:
    """Compare the target's table across its regions (see the module docstring).

    ``settle_seconds`` should exceed the replication lag (AWS: typically 0.5-2.5 s).
    Per-region failures are recorded in ``errors`` (that region is left out of the comparison);
    cancellation returns a report with ``cancelled=True``.
    """
    if not 1 <= segments <= 64:
        raise ConfigError(f"segments must be between 1 and 64, got {segments}")
    if not math.isfinite(settle_seconds) or settle_seconds < 0 or rechecks < 1:
        raise ConfigError(
            f"settle must be a number of seconds >= 0 (got {settle_seconds!r}) and rechecks "
            f">= 1 (got {rechecks!r})",
            hint="e.g. --settle 3 --rechecks 3",
        )
    cancel = cancel or threading.Event()
    regs = tuple(regions) if regions is not None else conn.target.regions
    report = DiffReport(table=conn.target.table, regions=regs)
    t0 = time.perf_counter()

    def emit(ev: DiffProgress) -> None:
        if progress is not None:
            progress(ev)

    def finish() -> DiffReport:
        report.elapsed_ms = round((time.perf_counter() - t0) * 1000.0, 1)
        emit(DiffProgress("done", 1, 1, sum(report.scanned.values()), report.candidates,
                          report.summary()))
        return report

    key_names = _key_names(conn)

    # 1. scan every region, all segments in parallel
    lock = threading.Lock()
    total_tasks = len(regs) * segments
    state = {"items": 0, "done": 0}

    def on_page(n: int) -> None:
        with lock:
            state["items"] += n
            ev = DiffProgress("scan", state["done"], total_tasks, state["items"])
        emit(ev)

    digests: dict[str, dict[str, str]] = {r: {} for r in regs}
    with ThreadPoolExecutor(max_workers=min(32, total_tasks)) as pool:
        futures = {
            (r, s): pool.submit(
                _scan_segment, conn, r, s, segments, key_names, page_size, cancel, on_page
            )
            for r in regs
            for s in range(segments)
        }
        for (region, _seg), fut in futures.items():
            try:
                part = fut.result()
            except _Cancelled:
                report.cancelled = True
                continue
            except GtError as err:
                report.errors.setdefault(region, str(err))
                continue
            digests[region].update(part)
            with lock:
                state["done"] += 1
                ev = DiffProgress("scan", state["done"], total_tasks, state["items"])
            emit(ev)
    if report.cancelled or cancel.is_set():
        report.cancelled = True
        return finish()
    for r in report.errors:
        digests.pop(r, None)
    report.scanned = {r: len(digests[r]) for r in regs if r in digests}
    compared = [r for r in regs if r in digests]
    if len(compared) < 2:
        return finish()

    # 2. candidates: missing somewhere or differing digests
    all_keys = set().union(*(d.keys() for d in digests.values()))
    candidates = sorted(
        k for k in all_keys if len({digests[r].get(k) for r in compared}) > 1
    )
    report.candidates = len(candidates)
    previous: dict[str, dict[str, str | None]] = {
        k: {r: digests[r].get(k) for r in compared} for k in candidates
    }

    # 3. settle, then consistent re-reads of just those keys
    pending = candidates
    images: dict[str, dict[str, Image | None]] = {}
    for round_no in range(1, rechecks + 1):
        if not pending:
            break
        emit(DiffProgress("settle", round_no - 1, rechecks, sum(report.scanned.values()),
                          len(pending), f"waiting {settle_seconds:g}s for replication"))
        if cancel.wait(settle_seconds):
            report.cancelled = True
            return finish()
        emit(DiffProgress("recheck", round_no - 1, rechecks, sum(report.scanned.values()),
                          len(pending), f"re-reading {len(pending)} key(s)"))
        reads: dict[str, dict[str, Image]] = {}
        with ThreadPoolExecutor(max_workers=len(compared)) as pool:
            futs = {r: pool.submit(_read_keys, conn, r, pending, key_names, cancel) for r in compared}
            for r, fut in futs.items():
                try:
                    reads[r] = fut.result()
                except _Cancelled:
                    report.cancelled = True
                except GtError as err:
                    report.errors.setdefault(r, str(err))
        if report.cancelled:
            return finish()
        live = [r for r in compared if r in reads]
        if len(live) < 2:
            return finish()
        still: list[str] = []
        for k in pending:
            now_images = {r: reads[r].get(k) for r in live}
            now = {r: (_digest(img) if img is not None else None) for r, img in now_images.items()}
            images[k] = now_images
            if len(set(now.values())) == 1:
                report.settled += 1
                continue
            before = previous[k]
            if all(before.get(r) == now[r] for r in live):
                report.divergent.append(_make_diff(k, key_names, now_images))
                continue
            previous[k] = dict(now)
            still.append(k)
        pending = still
    report.unsettled = [_make_diff(k, key_names, images[k]) for k in pending]
    return finish()
