"""Throttle and restore racing each other (issue 9, point 5).

The interleavings are forced, not hoped for: a :class:`Gate` stops one connection's real Lambda
client at one step (a botocore event) until the test lets it go, while another connection (a
second dashboard, the CLI) runs. Then two processes hammer throttle/unthrottle on one function.
Every test ends with the function restorable to its original reserved concurrency, 7.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_throttle import _concurrency, _deploy, _tags

from gtcore.actions.throttle import TAG, restore_region, throttle_region, throttled_regions
from gtcore.target import Connection, Target

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-west-2"
ORIGINAL = 7


class Gate:
    """Holds a connection's Lambda client at ``event`` (e.g. ``after-call.lambda.TagResource``)
    the first time it fires, until :meth:`release`."""

    def __init__(self, conn: Connection, event: str) -> None:
        self.reached = threading.Event()
        self._go = threading.Event()
        self._armed = True
        conn.client("lambda", REGION).meta.events.register(event, self._hold)

    def _hold(self, **_: Any) -> None:
        if self._armed:
            self._armed = False
            self.reached.set()
            assert self._go.wait(30), "the test never released the gate"

    def wait(self) -> None:
        assert self.reached.wait(30), "the action never reached the gate"

    def release(self) -> None:
        self._go.set()


class Running:
    """An action running in its own thread; :meth:`result` joins it and returns (or raises)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._out: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._out["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in result()
            self._out["error"] = err

    def result(self) -> Any:
        self._thread.join(30)
        assert not self._thread.is_alive(), "the action did not finish"
        if "error" in self._out:
            raise self._out["error"]
        return self._out["value"]


@pytest.fixture
def target(emulator, unique_table) -> Target:
    target = Target(regions=(REGION, "eu-west-1"), table=unique_table, endpoint=emulator.endpoint)
    _deploy(Connection(target), REGION, target.function_name, concurrency=ORIGINAL)
    return target


def _state(target: Target) -> tuple[int | None, str | None]:
    conn = Connection(target)
    fn = target.function_name
    return _concurrency(conn, REGION, fn), _tags(conn, REGION, fn).get(TAG)


def _assert_restorable(target: Target) -> None:
    """Throttled with the original value in the mark, or back at it (a mark, if any, agrees);
    and one restore brings back exactly the original value, with no mark left."""
    now, mark = _state(target)
    assert (now, mark) in ((0, str(ORIGINAL)), (ORIGINAL, None), (ORIGINAL, str(ORIGINAL))), (now, mark)
    restore_region(Connection(target), REGION)
    assert _state(target) == (ORIGINAL, None)
    assert throttled_regions(Connection(target)) == []


def test_restore_between_the_throttles_mark_and_zero_keeps_the_previous_value(target):
    """The issue's case: the restore runs while the throttle has written its mark but not yet set
    0; the restore takes the mark for a leftover and removes it; then the throttle lands."""
    throttling = Connection(target)
    gate = Gate(throttling, "after-call.lambda.TagResource")
    throttle = Running(lambda: throttle_region(throttling, REGION))
    gate.wait()
    assert _state(target) == (ORIGINAL, str(ORIGINAL))
    restore_region(Connection(target), REGION)  # another dashboard, start to end
    gate.release()
    throttle.result()
    assert _state(target) == (0, str(ORIGINAL))  # the throttle put its mark back
    back = restore_region(Connection(target), REGION)
    assert back.note == f"restored reserved concurrency {ORIGINAL}"
    _assert_restorable(target)


def test_throttle_lands_while_a_restore_is_about_to_remove_the_mark(target):
    """Both check, neither sees the other in time: the restore reads (7, mark) before the throttle
    sets 0 and removes the mark after the throttle has checked it is there."""
    throttling, restoring = Connection(target), Connection(target)
    tagged = Gate(throttling, "after-call.lambda.TagResource")
    untag = Gate(restoring, "before-call.lambda.UntagResource")
    throttle = Running(lambda: throttle_region(throttling, REGION))
    tagged.wait()
    restore = Running(lambda: restore_region(restoring, REGION))
    untag.wait()
    tagged.release()
    throttle.result()  # set 0, saw the mark still there
    untag.release()
    change = restore.result()  # removed the mark, saw 0, put it back
    assert "a throttle landed meanwhile" in change.note
    assert _state(target) == (0, str(ORIGINAL))
    _assert_restorable(target)


def test_throttle_between_a_restores_put_back_and_its_mark_removal(target):
    """The restore has put 7 back; before it removes the mark, a throttle sees the mark and sets 0
    again. The restore must not leave 0 without the mark."""
    throttle_region(Connection(target), REGION)
    restoring = Connection(target)
    restored = Gate(restoring, "after-call.lambda.PutFunctionConcurrency")
    restore = Running(lambda: restore_region(restoring, REGION))
    restored.wait()
    assert _state(target) == (ORIGINAL, str(ORIGINAL))
    throttle_region(Connection(target), REGION)  # start to end
    restored.release()
    assert "a throttle landed meanwhile" in restore.result().note
    assert _state(target) == (0, str(ORIGINAL))
    _assert_restorable(target)


def test_a_third_throttle_never_records_zero_as_the_previous_value(target):
    """While a restore sits between removing the mark and putting it back, a third action sees 0
    and no mark. Recording 0 there would make the next restore 'restore' 0 and lose 7."""
    throttling, restoring = Connection(target), Connection(target)
    tagged = Gate(throttling, "after-call.lambda.TagResource")
    zeroed = Gate(throttling, "after-call.lambda.PutFunctionConcurrency")
    removed = Gate(restoring, "after-call.lambda.UntagResource")
    throttle = Running(lambda: throttle_region(throttling, REGION))
    tagged.wait()
    restore = Running(lambda: restore_region(restoring, REGION))
    removed.wait()  # the restore took the mark for a leftover and removed it
    tagged.release()
    zeroed.wait()  # the first throttle has set 0 and not yet checked its mark
    assert _state(target) == (0, None)
    third = throttle_region(Connection(target), REGION)
    assert not third.changed and "not by gtcore" in third.note
    removed.release()
    restore.result()
    zeroed.release()
    throttle.result()
    assert _state(target) == (0, str(ORIGINAL))
    _assert_restorable(target)


def test_a_mark_of_0_left_by_an_older_version_is_removed(emulator, unique_table):
    """Older versions recorded "0" for a function someone else had throttled; restoring it must
    leave 0 and remove the mark, not mistake the 0 for a throttle landing meanwhile."""
    target = Target(regions=(REGION, "eu-west-1"), table=unique_table, endpoint=emulator.endpoint)
    conn = Connection(target)
    _deploy(conn, REGION, target.function_name, concurrency=0)
    lam = conn.client("lambda", REGION)
    arn = lam.get_function(FunctionName=target.function_name)["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={TAG: "0"})
    change = restore_region(conn, REGION)
    assert change.note == "restored reserved concurrency 0"
    assert _state(target) == (0, None)


_HAMMER = """
import random, sys
from gtcore.actions.throttle import restore_region, throttle_region
from gtcore.target import Connection, Target
endpoint, table, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conn = Connection(Target(regions=("us-west-2", "eu-west-1"), table=table, endpoint=endpoint))
rnd = random.Random(seed)
for _ in range(count):
    (throttle_region if rnd.random() < 0.5 else restore_region)(conn, "us-west-2")
print("done")
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_processes_hammering_throttle_and_unthrottle_end_restorable(target, seed):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    procs = [subprocess.Popen([sys.executable, "-c", _HAMMER, target.endpoint, target.table,
                               str(seed * 10 + i), "120"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0 and out.strip() == "done", err[-2000:]
    _assert_restorable(target)
