"""History: recording rules, thread safety, export and import round trips."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from gtcore.history import History, Op, jsonable


def test_invoke_complete_pairs_and_in_flight() -> None:
    h = History(meta={"experiment": "unit"})
    w = h.invoke("p1", "write", "us-west-2", "v1")
    r = h.invoke("p2", "read", "eu-west-1")
    assert [op.index for op in h.in_flight()] == [w.index, r.index]
    h.ok(w, "v1", latency_ms=3.2)
    h.info(r, None, error="timeout")
    pairs = h.pairs()
    assert [(i.f, c.type if c else None) for i, c in pairs] == [("write", "ok"), ("read", "info")]
    assert h.in_flight() == []
    assert pairs[0][1].extra == {"latency_ms": 3.2}
    assert pairs[0][1].time >= pairs[0][0].time
    assert [op.index for op in h.ops] == [0, 1, 2, 3]
    assert [op.index for op in h.since(2)] == [2, 3]


def test_one_operation_in_flight_per_process() -> None:
    h = History()
    op = h.invoke("p", "read", "r")
    with pytest.raises(ValueError, match="already has an operation in flight"):
        h.invoke("p", "read", "r")
    h.fail(op)
    with pytest.raises(ValueError, match="not in flight"):
        h.ok(op)
    with pytest.raises(ValueError, match="completion type"):
        h.complete(h.invoke("p", "read", "r"), "invoke")


def test_unknown_type_rejected() -> None:
    with pytest.raises(ValueError):
        History().append("p", "done", "f")  # type: ignore[arg-type]


def test_concurrent_appends_keep_unique_dense_indices() -> None:
    h = History()

    def worker(name: str) -> None:
        for i in range(300):
            op = h.invoke(name, "write", "r", i)
            h.ok(op, i)

    threads = [threading.Thread(target=worker, args=(f"t{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ops = h.ops
    assert len(ops) == 6 * 300 * 2
    assert [op.index for op in ops] == list(range(len(ops)))
    pairs = h.pairs()
    assert len(pairs) == 1800
    assert all(c is not None and c.value == i.value and c.process == i.process for i, c in pairs)


def test_json_round_trip_preserves_everything() -> None:
    h = History(meta={"lag": "fixed:100", "regions": ["a", "b"]})
    op = h.invoke("p", "write", "us-west-2", {"Bookmark": Decimal("25"), "x": Decimal("0.5")})
    h.ok(op, Decimal("25"), old=None)
    h.append("q", "info", "read", "eu-west-1", None, {"error": "boom"}, time=12.5, wall=1e9)
    text = h.to_json()
    back = History.from_json(text)
    assert back.meta == {"lag": "fixed:100", "regions": ["a", "b"]}
    assert [o.to_dict() for o in back.ops] == [o.to_dict() for o in h.ops]
    assert back.ops[0].value == {"Bookmark": 25, "x": 0.5}
    assert back.ops[2].time == 12.5
    # the loaded history keeps working as a history
    back.ok(back.invoke("z", "read", "r"), 1)
    assert len(back) == 5


def test_json_file_and_csv_round_trip(tmp_path) -> None:
    h = History(meta={"m": 1})
    for i in range(5):
        h.ok(h.invoke("p", "read", "eu-west-1", None), {"v": f"tok,{i}\n"}, n=i)
    path = tmp_path / "h.json"
    h.to_json(path)
    assert History.from_json(path).to_dict() == h.to_dict()
    assert History.from_json(str(path)).to_dict() == h.to_dict()
    csv_path = tmp_path / "h.csv"
    text = h.to_csv(csv_path)
    assert text.splitlines()[0] == "index,process,type,f,region,value,time,wall,extra"
    for source in (text, csv_path, str(csv_path)):
        back = History.from_csv(source)
        assert [o.to_dict() for o in back.ops] == [o.to_dict() for o in h.ops]


def test_from_json_rejects_other_documents() -> None:
    with pytest.raises(ValueError, match="not a history"):
        History.from_json(json.dumps({"items": []}))
    with pytest.raises(ValueError, match="version"):
        History.from_json(json.dumps({"version": 99, "ops": []}))
    with pytest.raises(ValueError, match="unknown op type"):
        Op.from_dict({"index": 0, "process": "p", "type": "x", "f": "f", "time": 0, "wall": 0})


def test_to_frame_columns_and_types() -> None:
    h = History()
    h.ok(h.invoke("p", "write", "us-west-2", 1), 1)
    frame = h.to_frame()
    assert list(frame.columns[:9]) == [
        "index", "process", "type", "f", "region", "value", "time", "wall", "extra",
    ]
    assert list(frame["type"]) == ["invoke", "ok"]
    assert str(frame["wall_ts"].dt.tz) == "UTC"
    assert History().to_frame().empty


def test_jsonable_handles_dynamodb_values() -> None:
    assert jsonable({"n": Decimal("3"), "f": Decimal("1.25"), "s": {"b", "a"}}) == {
        "n": 3, "f": 1.25, "s": ["a", "b"],
    }
    assert jsonable(b"\x00\x01") == "AAE="
    assert jsonable(float("inf")) is None
    assert jsonable((1, 2)) == [1, 2]
