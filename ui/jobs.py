"""Run a synchronous gtcore call (one that reports progress through a callback and honours a
cancel event) in a background thread, so a page can render its progress from a fragment.

The thread never touches Streamlit: it only stores the latest progress event, the result or
the GtError, behind a lock. No Streamlit import here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from gtcore.errors import GtError

T = TypeVar("T")
Work = Callable[[Callable[[Any], None], threading.Event], T]


class BackgroundJob(Generic[T]):
    """`work(progress, cancel)` in a daemon thread; poll `progress`, `result`, `error`."""

    def __init__(self, name: str, work: Work[T]) -> None:
        self.name = name
        self._work = work
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._progress: Any = None
        self._result: T | None = None
        self._error: GtError | None = None
        self.started = 0.0
        self.ended = 0.0
        self._thread = threading.Thread(target=self._run, name=f"job-{name}", daemon=True)

    def start(self) -> BackgroundJob[T]:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def _report(self, event: Any) -> None:
        with self._lock:
            self._progress = event

    def _run(self) -> None:
        try:
            result = self._work(self._report, self._cancel)
            with self._lock:
                self._result = result
        except GtError as err:
            with self._lock:
                self._error = err
        except Exception as err:  # a bug must end the job visibly, not hang the page
            with self._lock:
                self._error = GtError(f"{self.name} crashed: {type(err).__name__}: {err}")
        finally:
            self.ended = time.monotonic()
            self._done.set()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() or (self.started > 0 and not self._done.is_set())

    @property
    def progress(self) -> Any:
        with self._lock:
            return self._progress

    @property
    def result(self) -> T | None:
        with self._lock:
            return self._result

    @property
    def error(self) -> GtError | None:
        with self._lock:
            return self._error

    @property
    def elapsed_s(self) -> float:
        end = self.ended or time.monotonic()
        return end - self.started if self.started else 0.0
