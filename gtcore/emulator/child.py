"""A long-running program's own emulator, in a child process: the dashboard's, one per server.

The program creates one :class:`EmulatorChild` and shares it (the dashboard holds it in
``st.cache_resource``, so every browser session of a server uses the same emulator). The child
runs in its own process, with its own GIL and its own process-wide tuning, and is driven only over
HTTP (:class:`~gtcore.emulator.client.EmulatorControl`). It stops with this process: at exit
(``atexit``), and, when this process is killed outright, by itself, as its stdin (a pipe from
here) closes. When it dies it stays dead until someone asks for :meth:`EmulatorChild.restart`.
"""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from gtcore.emulator.client import EmulatorProcess, start_emulator_process
from gtcore.emulator.errors import EmulatorError


@dataclass(frozen=True)
class ChildState:
    """What a status line needs: whether the child runs, its process id, and why it does not."""

    running: bool
    pid: int | None
    problem: str | None  # why it is not running: its start error, or its exit code and last words


class EmulatorChild:
    _shared: ClassVar[dict[str, EmulatorChild]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, module: str, **options: Any) -> EmulatorChild:
        """This process's one child running ``module``, started unless it runs. A second caller
        (e.g. after the dashboard's caches were cleared) gets the same child, not a new emulator
        with none of the tables; ``options`` apply when the child is first made."""
        with cls._shared_lock:
            child = cls._shared.get(module)
            if child is None:
                child = cls._shared[module] = cls(module, **options)
        return child.start()

    def __init__(self, module: str, *, lag: str, replica_create_seconds: float,
                 cwd: str | os.PathLike[str] | None = None, startup_timeout: float = 60.0) -> None:
        """``module``: the launcher to run (``python -m <module>``), e.g. ``setup.emulator``."""
        self._module = module
        self._lag = lag
        self._replica_create_seconds = replica_create_seconds
        self._cwd = cwd
        self._startup_timeout = startup_timeout
        self._lock = threading.Lock()
        self._process: EmulatorProcess | None = None
        self._start_error: EmulatorError | None = None
        atexit.register(self.stop)

    def start(self) -> EmulatorChild:
        """Start the child unless it runs; a failure is kept (see :meth:`state`), not raised."""
        with self._lock:
            if self._process is None or not self._process.running:
                self._start()
        return self

    def restart(self) -> None:
        """Stop the child if it still runs, then start a new one (on a new port: its state is new)."""
        with self._lock:
            if self._process is not None:
                self._process.stop()
            self._start()

    def _start(self) -> None:
        try:
            self._process = start_emulator_process(
                self._module, self._lag, replica_create_seconds=self._replica_create_seconds,
                startup_timeout=self._startup_timeout, cwd=self._cwd)
            self._start_error = None
        except EmulatorError as err:
            self._process, self._start_error = None, err

    def stop(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.stop()

    @property
    def endpoint(self) -> str:
        """Where the child listens (or listened, when it died); raises when it never started."""
        process = self._process
        if process is None:
            raise self._start_error or EmulatorError("the local emulator has not been started")
        return process.endpoint

    def state(self) -> ChildState:
        process = self._process
        if process is None:
            problem = str(self._start_error) if self._start_error else "not started"
            return ChildState(False, None, problem)
        code = process.process.poll()
        problem = None
        if code is not None:
            said = [line for line in process.output() if line.strip()]
            problem = f"exited with code {code}" + (f": {said[-1]}" if said else "")
        return ChildState(code is None, process.process.pid, problem)
