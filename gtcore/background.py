"""Work that runs in background threads while a page or the CLI polls it.

:class:`BackgroundRun` is the one lifecycle: started once, run by worker threads, cancellable,
waited for, and ended in a state (``failed`` whenever there is an error) that is also written
into the history's meta, so an exported history says how its run ended.  The experiments
(lag probe, conflict lab, failover drill) subclass it; :class:`BackgroundCall` runs any
synchronous gtcore call that reports progress through a callback and honours a cancel event
(the replica diff), so a page can render its progress from a fragment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar

from gtcore.errors import ConfigError, GtError
from gtcore.history import History


class BackgroundRun:
    """Base of every background run (the experiments, :class:`BackgroundCall`): ``start()``
    once, ``cancel()``, ``wait()``, ``running``.

    A subclass names itself in :attr:`what` (for the "already started" error), starts its
    threads in :meth:`_begin` and calls :meth:`_end` from the thread that finishes last.
    """

    what: ClassVar[str] = "run"
    state_meta_key: ClassVar[str] = "state"  # where the final state goes in the history meta

    def __init__(self, history: History | None) -> None:
        self.history = history if history is not None else History()
        self.error: GtError | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._state = "idle"
        self._started = 0.0
        self._ended = 0.0

    def start(self) -> Self:
        """Start the run in the background (a run starts only once)."""
        with self._lock:
            if self._state != "idle":
                raise ConfigError(f"this {self.what} was already started; make a new one")
            self._state = "running"
        self._begin()
        return self

    def cancel(self) -> None:
        """Ask the run to stop; it ends in the background (see :meth:`wait`)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True when it has."""
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        """True from ``start()`` until the run has ended (its threads may still be winding up)."""
        return self._state != "idle" and not self._done.is_set()

    # -- for subclasses -----------------------------------------------------------------------

    def _begin(self) -> None:
        raise NotImplementedError

    def _run_to_end(self, seconds: float | None = None) -> None:
        """Start, cancel after ``seconds`` (None: let it finish), wait, raise the run's error."""
        self.start()
        if seconds is not None and not self._done.is_set():
            self._cancel.wait(seconds)
            self.cancel()
        self.wait()
        if self.error is not None:
            raise self.error

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    def _clock_start(self) -> None:
        self._started = time.monotonic()
        self.history.meta["started_wall"] = time.time()

    def _elapsed_s(self) -> float:
        end = self._ended or time.monotonic()
        return (end - self._started) if self._started else 0.0

    def _refuse(self, err: GtError) -> Self:
        """End a run that cannot begin (read-only target, no regional API) with ``err``."""
        with self._lock:
            self.error = err
            self._state = "failed"
        self._done.set()
        return self

    def _end(self, outcome: str) -> None:
        """Record the final state (``outcome``, or ``failed`` after an error) and wake waiters."""
        with self._lock:
            self._state = "failed" if self.error is not None else outcome
            self._ended = time.monotonic()
        self.history.meta[self.state_meta_key] = self._state
        self._done.set()


T = TypeVar("T")
Work = Callable[[Callable[[Any], None], threading.Event], T]


class BackgroundCall(BackgroundRun, Generic[T]):
    """``work(progress, cancel)`` in a daemon thread; poll :meth:`progress`, :attr:`result`,
    :attr:`error`.  A GtError from the work becomes :attr:`error` as it is; any other exception
    (a bug) becomes a GtError that names it, so the page shows it instead of hanging."""

    what = "background call"

    def __init__(self, name: str, work: Work[T]) -> None:
        super().__init__(None)
        self.name = name
        self._work = work
        self._progress: Any = None
        self._result: T | None = None

    def progress(self) -> Any:
        """The latest event the work reported (None before the first)."""
        with self._lock:
            return self._progress

    @property
    def result(self) -> T | None:
        with self._lock:
            return self._result

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_s()

    def _begin(self) -> None:
        self._clock_start()
        self._spawn(self._main, f"call-{self.name}")

    def _report(self, event: Any) -> None:
        with self._lock:
            self._progress = event

    def _main(self) -> None:
        try:
            result = self._work(self._report, self._cancel)
            with self._lock:
                self._result = result
        except GtError as err:
            self.error = err
        except Exception as err:  # a bug must end the call visibly, not hang the page
            self.error = GtError(f"{self.name} crashed: {type(err).__name__}: {err}")
        finally:
            self._end("done")
