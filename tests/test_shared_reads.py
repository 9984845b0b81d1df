"""Reads shared by every viewer (gtcore.shared_reads): once per interval, single flight, per key,
errors shared for one interval only, forgotten after a write, bounded. A fake clock throughout."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from gtcore.errors import RegionUnavailableError
from gtcore.shared_reads import SharedReads


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Counted:
    """A read that counts its calls and answers its call number (or raises what it is given)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self) -> int:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.calls


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def reads(clock: FakeClock) -> SharedReads:
    return SharedReads(max_entries=8, clock=clock)


def test_an_answer_is_reused_within_the_interval_and_read_again_after_it(reads, clock) -> None:
    read = Counted()
    assert [reads.get(("t", "status"), 2.0, read) for _ in range(5)] == [1] * 5
    clock.now += 1.99
    assert reads.get(("t", "status"), 2.0, read) == 1
    clock.now += 0.01
    assert reads.get(("t", "status"), 2.0, read) == 2
    assert read.calls == 2 == reads.reads


def test_each_caller_says_how_old_an_answer_it_accepts(reads, clock) -> None:
    read = Counted()
    reads.get(("t", "items"), 5.0, read)
    clock.now += 1.0
    assert reads.get(("t", "items"), 5.0, read) == 1
    assert reads.get(("t", "items"), 0.5, read) == 2


def test_keys_and_targets_are_read_separately(reads) -> None:
    a, b, c = Counted(), Counted(), Counted()
    reads.get(("target-a", "status"), 2.0, a)
    reads.get(("target-b", "status"), 2.0, b)
    reads.get(("target-a", "items", "user100"), 2.0, c)
    reads.get(("target-a", "status"), 2.0, a)
    assert (a.calls, b.calls, c.calls) == (1, 1, 1)


def _together(n: int, call: Callable[[], object]) -> list[object]:
    """``call()`` in ``n`` threads at once; what each got (an answer or the exception)."""
    got: list[object] = [None] * n
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        try:
            got[i] = call()
        except Exception as err:
            got[i] = err

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    return got


def test_callers_asking_at_once_share_one_read(reads) -> None:
    release = threading.Event()
    calls = []

    def slow() -> str:
        calls.append(1)
        release.wait(5)
        return "report"

    timer = threading.Timer(0.2, release.set)  # every caller is waiting by then
    timer.start()
    got = _together(10, lambda: reads.get(("t", "status"), 2.0, slow))
    assert got == ["report"] * 10
    assert len(calls) == 1


def test_an_error_is_shared_by_the_waiting_callers_and_kept_for_one_interval_only(reads, clock) -> None:
    release = threading.Event()
    failing = RegionUnavailableError("no answer", region="eu-west-1")
    calls = []

    def slow_failure() -> str:
        calls.append(1)
        release.wait(5)
        raise failing

    threading.Timer(0.2, release.set).start()
    got = _together(6, lambda: reads.get(("t", "status"), 2.0, slow_failure))
    assert got == [failing] * 6 and len(calls) == 1
    with pytest.raises(RegionUnavailableError):  # within the interval: the same error, no read
        reads.get(("t", "status"), 2.0, slow_failure)
    assert len(calls) == 1
    clock.now += 2.0
    assert reads.get(("t", "status"), 2.0, lambda: "back") == "back"


def test_forget_drops_one_targets_answers_and_keeps_the_others(reads) -> None:
    a, b = Counted(), Counted()
    reads.get(("target-a", "status"), 2.0, a)
    reads.get(("target-a", "items"), 2.0, a)
    reads.get(("target-b", "status"), 2.0, b)
    assert reads.forget("target-a") == 2
    assert reads.get(("target-a", "status"), 2.0, a) == 3
    assert reads.get(("target-b", "status"), 2.0, b) == 1
    reads.forget()
    assert len(reads) == 0


def test_a_read_under_way_when_forgotten_answers_its_callers_but_is_not_kept(reads) -> None:
    started, release = threading.Event(), threading.Event()

    def before_the_write() -> str:
        started.set()
        release.wait(5)
        return "old"

    got = []
    leader = threading.Thread(target=lambda: got.append(reads.get(("t", "items"), 2.0, before_the_write)))
    leader.start()
    assert started.wait(5)
    reads.forget("t")  # a write lands while the read is under way
    assert reads.get(("t", "items"), 2.0, lambda: "new") == "new"  # not joined to the old read
    release.set()
    leader.join(5)
    assert got == ["old"]
    assert reads.get(("t", "items"), 2.0, lambda: "again") == "new"


def test_an_interrupted_read_wakes_its_waiters_and_one_of_them_reads_again(reads) -> None:
    started, release = threading.Event(), threading.Event()

    def interrupted() -> str:
        started.set()
        release.wait(5)
        raise KeyboardInterrupt  # not the read's failure: the script running it was stopped

    def leader() -> None:
        with pytest.raises(KeyboardInterrupt):
            reads.get(("t", "status"), 2.0, interrupted)

    lead = threading.Thread(target=leader)
    lead.start()
    assert started.wait(5)
    got = []
    waiter = threading.Thread(target=lambda: got.append(reads.get(("t", "status"), 2.0, lambda: "read again")))
    waiter.start()
    release.set()
    lead.join(5)
    waiter.join(5)
    assert got == ["read again"]


def test_at_most_max_entries_answers_are_kept_least_recently_used_first_out(clock) -> None:
    reads = SharedReads(max_entries=3, clock=clock)
    for key in "abcd":
        reads.get((key,), 60.0, lambda k=key: k)
    assert len(reads) == 3
    reads.get(("b",), 60.0, lambda: "b again")  # b is kept: used now
    reads.get(("e",), 60.0, lambda: "e")
    assert reads.get(("b",), 60.0, lambda: "b read again") == "b"
    assert reads.get(("c",), 60.0, lambda: "c read again") == "c read again"
    assert reads.get(("a",), 60.0, lambda: "a read again") == "a read again"
    with pytest.raises(ValueError):
        SharedReads(max_entries=0)
