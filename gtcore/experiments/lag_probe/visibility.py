"""Read-after-write visibility on an MRSC table: what the lag probe measures there instead of lag.

An MRSC table has no replication lag to measure: a write returns once another Region holds it,
and a strongly consistent read in any member returns it. So for each pair (source, destination)
the probe writes a fresh item in the source (timing the write: MRSC's cost is write latency) and
at once reads it with ``ConsistentRead=true`` in the destination, once: the read either sees the
write (``visible``) or it does not, which on an MRSC table would be a broken promise. Every call
goes into the history; the same probe item prefix and clean-up as the lag probe.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import time
import uuid
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtcore.background import BackgroundRun
from gtcore.errors import GtError, ReadOnlyError, wrap
from gtcore.experiments.export import save
from gtcore.experiments.lag_probe.config import ProbeConfig
from gtcore.history import History

if TYPE_CHECKING:
    from gtcore.target import Connection

EXPERIMENT = "visibility"


@dataclass(frozen=True)
class VisibilityRow:
    """One pair's figures."""

    source: str
    destination: str
    samples: int
    visible: int  # strong reads that saw the write at once
    write_p50_ms: float
    write_p99_ms: float
    read_p50_ms: float
    read_p99_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))] if values else math.nan


class VisibilityProbe(BackgroundRun):
    """``config.samples`` write-then-strong-read probes per pair, ``1/config.rate`` s apart."""

    what = "visibility probe"

    def __init__(self, conn: Connection, config: ProbeConfig, *, history: History | None = None) -> None:
        super().__init__(history)
        self.conn, self.config = conn, config
        self.table = conn.target.table
        self.run_id = uuid.uuid4().hex[:10]
        self._samples: dict[tuple[str, str], list[tuple[float, float, bool]]] = {p: [] for p in config.pairs}
        self.history.meta.update({"experiment": EXPERIMENT, "run_id": self.run_id, "table": self.table,
                                  "config": config.to_meta()})

    @property
    def state(self) -> str:
        return self._state

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_s()

    def run(self) -> list[VisibilityRow]:
        self._run_to_end()
        return self.summary()

    def summary(self) -> list[VisibilityRow]:
        with self._lock:
            samples = {p: list(s) for p, s in self._samples.items()}
        return [VisibilityRow(src, dst, len(s), sum(1 for *_, seen in s if seen),
                              _p([w for w, _, _ in s], 0.5), _p([w for w, _, _ in s], 0.99),
                              _p([r for _, r, _ in s], 0.5), _p([r for _, r, _ in s], 0.99))
                for (src, dst), s in samples.items()]

    def to_csv(self, path: str | Path | None = None) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(VisibilityRow)])
        writer.writeheader()
        writer.writerows(r.to_dict() for r in self.summary())
        return save(buffer.getvalue(), path)

    def to_json(self, path: str | Path | None = None) -> str:
        doc = {"experiment": EXPERIMENT, "run_id": self.run_id, "state": self.state, "table": self.table,
               "summary": [r.to_dict() for r in self.summary()],
               "error": self.error.to_dict() if self.error else None}
        return save(json.dumps(doc, indent=1, default=str), path)

    def _begin(self) -> None:
        if self.conn.target.read_only:
            self._refuse(ReadOnlyError("the probe writes probe items and this target is read-only",
                                       hint="drop --read-only to run it", action="start visibility probe"))
            return
        self._clock_start()
        self._spawn(self._main, "visibility-probe")

    def _main(self) -> None:
        cfg = self.config
        written: list[tuple[str, dict[str, Any]]] = []
        try:
            for n in range(cfg.samples):
                for src, dst in cfg.pairs:
                    if self._cancel.is_set():
                        return
                    written.append((src, self._probe(n, src, dst)))
                if self._cancel.wait(1.0 / cfg.rate):
                    return
        except GtError as err:
            self.error = err
        except Exception as err:  # a bug must end the run visibly
            self.error = GtError(f"visibility probe crashed: {type(err).__name__}: {err}")
        finally:
            if cfg.cleanup:
                for region, key in written:  # a leftover probe item is harmless (it has a TTL attribute)
                    with contextlib.suppress(Exception):
                        self.conn.client("dynamodb", region).delete_item(TableName=self.table, Key=key)
            self._end("cancelled" if self._cancel.is_set() else "done")

    def _probe(self, n: int, src: str, dst: str) -> dict[str, Any]:
        token = uuid.uuid4().hex
        key = {"PK": {"S": self.config.key_prefix}, "SK": {"S": f"{self.run_id}#{src}#{dst}#{n}"}}
        item = {**key, "token": {"S": token},
                self.config.ttl_attribute: {"N": str(int(time.time()) + self.config.ttl_seconds)}}
        inv = self.history.invoke(f"writer:{src}", "write", src, token, dst=dst)
        with wrap("write a probe item", src):
            self.conn.client("dynamodb", src).put_item(TableName=self.table, Item=item)
        wrote = self.history.ok(inv, token)
        inv_read = self.history.invoke(f"reader:{dst}", "read", dst, None, token=token)
        with wrap("read the probe item (strongly consistent)", dst):
            got = self.conn.client("dynamodb", dst).get_item(TableName=self.table, Key=key, ConsistentRead=True)
        seen = (got.get("Item") or {}).get("token", {}).get("S") == token
        read = self.history.ok(inv_read, {"visible": seen})
        with self._lock:
            self._samples[(src, dst)].append(((wrote.time - inv.time) * 1000.0,
                                              (read.time - inv_read.time) * 1000.0, seen))
        return key
