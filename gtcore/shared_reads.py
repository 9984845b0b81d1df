"""Reads shared by every viewer: each made at most once per interval, whoever asks.

A room of browser sessions watching one target asks the same questions (the status report, the
item in every region, the emulator's health, CloudWatch) many times a second. :class:`SharedReads`
answers them from one read per key and interval:

- a fresh answer (younger than the interval the caller gives) is returned as it is;
- while a read of a key is under way, other callers of that key wait for it and share its
  answer (single flight): N sessions asking at once cause one read;
- a read that raises shares its error with the callers that waited for it, and the error is kept
  like an answer, for the interval only: the next caller after that reads again;
- :meth:`forget` drops the answers under a key prefix (a write through the dashboard), so the next
  caller reads the new state instead of an answer from before the write; a read under way
  when it is called still answers its waiting callers but is not kept;
- at most ``max_entries`` answers are kept, the least recently used dropped first.

Answers are shared objects: callers must treat them as read-only. Keys are tuples; the first
element is by convention the target (see :mod:`gtcore.target_reads`), so :meth:`forget` with
the target alone drops everything read about it. The clock is injected (tests use a fake one).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["SharedReads"]

T = TypeVar("T")
Key = tuple[Hashable, ...]


@dataclass
class _Answer:
    at: float  # clock() when the read started: the answer is at least this old
    value: Any = None
    error: Exception | None = None

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    answer: _Answer | None = None  # None when the read ended without one (interrupted)


class SharedReads:
    """A per-key, per-interval cache of read results with single flight; thread-safe, bounded."""

    def __init__(self, *, max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self.clock = clock  # public: a test may put a fake clock under a running dashboard
        self._lock = threading.Lock()
        self._answers: OrderedDict[Key, _Answer] = OrderedDict()
        self._flights: dict[Key, _Flight] = {}
        self.reads = 0  # reads made (for tests and benchmarks)

    def get(self, key: Key, interval: float, read: Callable[[], T]) -> T:
        """``read()``'s answer for ``key``, at most ``interval`` seconds old (see the module doc)."""
        while True:
            with self._lock:
                held = self._answers.get(key)
                if held is not None and self.clock() - held.at < interval:
                    self._answers.move_to_end(key)
                    return held.result()
                flight = self._flights.get(key)
                leader = flight is None
                if leader:
                    flight = self._flights[key] = _Flight()
                    started = self.clock()
                    self.reads += 1
            if leader:
                return self._lead(key, flight, started, read)
            flight.done.wait()
            if flight.answer is not None:
                return flight.answer.result()
            # The leader was interrupted (not an error of the read): ask again, maybe as leader.

    def _lead(self, key: Key, flight: _Flight, started: float, read: Callable[[], T]) -> T:
        answer = None
        try:
            try:
                answer = _Answer(started, value=read())
            except Exception as err:  # the read's own failure: shared like an answer
                answer = _Answer(started, error=err)
        finally:  # also when interrupted (KeyboardInterrupt, a script stopped): waiters must wake
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
                    if answer is not None:
                        self._keep(key, answer)
            flight.answer = answer
            flight.done.set()
        return answer.result()

    def _keep(self, key: Key, answer: _Answer) -> None:
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > self._max_entries:
            self._answers.popitem(last=False)

    def forget(self, *prefix: Hashable) -> int:
        """Drop every answer whose key starts with ``prefix`` (all with no prefix); a read under
        way for such a key is not kept when it ends. Returns how many answers were dropped."""
        n = len(prefix)
        with self._lock:
            gone = [k for k in self._answers if k[:n] == prefix]
            for k in gone:
                del self._answers[k]
            for k in [k for k in self._flights if k[:n] == prefix]:
                del self._flights[k]  # its leader still answers the callers waiting on it
        return len(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)
