"""Operation histories in the shape Jepsen uses.

An experiment's client records every operation twice: an ``invoke`` entry just before the
request is sent, and a completion just after the answer arrives:

* ``ok``   - the operation definitely happened (the service acknowledged it);
* ``fail`` - it definitely did not happen (the service refused it, or it never left);
* ``info`` - the outcome is unknown (timeout, dropped connection): it may or may not have
  taken effect, and a checker must allow for both.

A checker then judges the whole history after the fact.  Because the history holds only plain
values and timestamps it can be exported (JSON or CSV), loaded again and re-checked later.

``time`` is ``time.monotonic()`` in seconds (use it for durations and ordering; it is only
comparable within one boot of one machine), ``wall`` is ``time.time()`` (for display).

A History is append-only and safe to share between threads: writers append, the dashboard
reads ``ops`` or ``since(n)`` from its own thread.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import threading
import time as _time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pandas is imported lazily: the recording path must stay cheap
    import pandas as pd

OpType = Literal["invoke", "ok", "fail", "info"]
OP_TYPES: tuple[str, ...] = ("invoke", "ok", "fail", "info")
COMPLETIONS: tuple[str, ...] = ("ok", "fail", "info")
FORMAT_VERSION = 1
COLUMNS: tuple[str, ...] = (
    "index", "process", "type", "f", "region", "value", "time", "wall", "extra",
)


@dataclass
class Op:
    """One history entry.  ``index`` is its position in the history (append order)."""

    index: int
    process: str
    type: OpType
    f: str
    region: str
    value: Any
    time: float
    wall: float
    extra: dict = field(default_factory=dict)

    @property
    def is_invoke(self) -> bool:
        return self.type == "invoke"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = jsonable(self.value)
        data["extra"] = jsonable(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Op:
        op_type = data["type"]
        if op_type not in OP_TYPES:
            raise ValueError(f"unknown op type {op_type!r} (expected one of {OP_TYPES})")
        return cls(
            index=int(data["index"]),
            process=str(data["process"]),
            type=op_type,
            f=str(data["f"]),
            region=str(data.get("region") or ""),
            value=data.get("value"),
            time=float(data["time"]),
            wall=float(data["wall"]),
            extra=dict(data.get("extra") or {}),
        )


def jsonable(value: Any) -> Any:
    """Turn DynamoDB-ish values (Decimal, set, bytes, tuples) into plain JSON values."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


class History:
    """A thread-safe, append-only list of :class:`Op` with export and import.

    ``meta`` holds the experiment's parameters (plain JSON values) so an exported history can
    be re-checked without knowing how it was produced.
    """

    def __init__(self, ops: list[Op] | None = None, meta: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._open: dict[str, Op] = {}
        self.meta: dict[str, Any] = dict(meta or {})
        for op in ops or []:
            self._append_op(op)

    # -- recording -------------------------------------------------------------------------

    def _append_op(self, op: Op) -> None:
        op.index = len(self._ops)
        self._ops.append(op)
        if op.type == "invoke":
            self._open[op.process] = op
        else:
            self._open.pop(op.process, None)

    def append(
        self,
        process: str,
        type: OpType,
        f: str,
        region: str = "",
        value: Any = None,
        extra: dict[str, Any] | None = None,
        *,
        time: float | None = None,
        wall: float | None = None,
    ) -> Op:
        """Append one entry.  Timestamps default to now (taken before the lock is held)."""
        if type not in OP_TYPES:
            raise ValueError(f"unknown op type {type!r} (expected one of {OP_TYPES})")
        mono = _time.monotonic() if time is None else time
        wall_now = _time.time() if wall is None else wall
        op = Op(0, str(process), type, f, region, value, mono, wall_now, dict(extra or {}))
        with self._lock:
            self._append_op(op)
        return op

    def invoke(
        self, process: str, f: str, region: str = "", value: Any = None, **extra: Any
    ) -> Op:
        """Record that ``process`` is about to send operation ``f``.  Call it just before
        sending: its timestamp is a lower bound on when the service saw the request."""
        with self._lock:
            pending = self._open.get(str(process))
        if pending is not None:
            raise ValueError(
                f"process {process!r} already has an operation in flight "
                f"(op {pending.index} {pending.f}); complete it first"
            )
        return self.append(process, "invoke", f, region, value, extra)

    def complete(
        self, invoke: Op, type: OpType, value: Any = None, *, time: float | None = None,
        **extra: Any,
    ) -> Op:
        """Record the outcome of ``invoke``.  Call it just after the answer arrived: its
        timestamp is an upper bound on when the service handled the request."""
        if type not in COMPLETIONS:
            raise ValueError(f"completion type must be one of {COMPLETIONS}, not {type!r}")
        mono = _time.monotonic() if time is None else time
        with self._lock:
            if self._open.get(invoke.process) is not invoke:
                raise ValueError(
                    f"op {invoke.index} of process {invoke.process!r} is not in flight"
                )
        return self.append(
            invoke.process, type, invoke.f, invoke.region, value, extra, time=mono
        )

    def ok(self, invoke: Op, value: Any = None, **extra: Any) -> Op:
        return self.complete(invoke, "ok", value, **extra)

    def fail(self, invoke: Op, value: Any = None, **extra: Any) -> Op:
        return self.complete(invoke, "fail", value, **extra)

    def info(self, invoke: Op, value: Any = None, **extra: Any) -> Op:
        return self.complete(invoke, "info", value, **extra)

    # -- reading ---------------------------------------------------------------------------

    @property
    def ops(self) -> list[Op]:
        """A snapshot copy of the entries so far."""
        with self._lock:
            return list(self._ops)

    def since(self, index: int) -> list[Op]:
        """Entries with ``op.index >= index`` (for incremental rendering)."""
        with self._lock:
            return self._ops[max(0, index):]

    def __len__(self) -> int:
        with self._lock:
            return len(self._ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def in_flight(self) -> list[Op]:
        """Invocations that have no completion yet."""
        with self._lock:
            return sorted(self._open.values(), key=lambda op: op.index)

    def pairs(self) -> list[tuple[Op, Op | None]]:
        """Each invocation with its completion (``None`` while still in flight), in
        invocation order.  Completions are matched to the open invocation of their process,
        as in Jepsen (a process has at most one operation in flight)."""
        open_by_process: dict[str, int] = {}
        result: list[tuple[Op, Op | None]] = []
        for op in self.ops:
            if op.type == "invoke":
                open_by_process[op.process] = len(result)
                result.append((op, None))
            else:
                slot = open_by_process.pop(op.process, None)
                if slot is not None:
                    result[slot] = (result[slot][0], op)
        return result

    # -- export / import -------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per entry; ``extra`` stays a dict column, ``time`` is monotonic seconds,
        ``wall`` is epoch seconds and ``wall_ts`` the same as a UTC timestamp."""
        import pandas as pd

        rows = [asdict(op) for op in self.ops]
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame["wall_ts"] = pd.to_datetime(frame["wall"], unit="s", utc=True)
        return frame

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "gtcore.history",
            "version": FORMAT_VERSION,
            "meta": jsonable(self.meta),
            "ops": [op.to_dict() for op in self.ops],
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        if not isinstance(data, dict) or "ops" not in data:
            raise ValueError("not a history export: expected an object with an 'ops' list")
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported history format version {version}")
        ops = [Op.from_dict(item) for item in data["ops"]]
        ops.sort(key=lambda op: op.index)
        return cls(ops, meta=data.get("meta") or {})

    @classmethod
    def from_json(cls, source: str | bytes | Path) -> History:
        """Load from JSON text, or from a file path."""
        if isinstance(source, Path):
            source = source.read_text(encoding="utf-8")
        elif isinstance(source, str) and not source.lstrip().startswith("{"):
            source = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(source))

    def to_csv(self, path: str | Path | None = None) -> str:
        """CSV with ``value`` and ``extra`` JSON-encoded (so :meth:`from_csv` restores them).
        ``meta`` is not part of the CSV; use JSON to keep it."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for op in self.ops:
            data = op.to_dict()
            writer.writerow([
                data["index"], data["process"], data["type"], data["f"], data["region"],
                json.dumps(data["value"]), repr(data["time"]), repr(data["wall"]),
                json.dumps(data["extra"], sort_keys=True),
            ])
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_csv(cls, source: str | Path, meta: dict[str, Any] | None = None) -> History:
        """Load CSV text (or a file path) written by :meth:`to_csv`."""
        if isinstance(source, Path) or "\n" not in source:
            source = Path(source).read_text(encoding="utf-8")
        reader = csv.DictReader(io.StringIO(source))
        missing = set(COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"not a history CSV: missing columns {sorted(missing)}")
        ops = []
        for row in reader:
            row = dict(row)
            row["value"] = json.loads(row["value"]) if row["value"] else None
            row["extra"] = json.loads(row["extra"]) if row["extra"] else {}
            ops.append(Op.from_dict(row))
        ops.sort(key=lambda op: op.index)
        return cls(ops, meta=meta)
