"""Drive an emulator over its HTTP control API, and run one as a subprocess.

`EmulatorControl` offers the same control methods as the in-process `Emulator` for an emulator
in another process (started with `python -m gtcore.emulator` or `spawn_emulator`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from gtcore.emulator import EmulatorError


class EmulatorControl:
    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator/{action}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            with suppress(ValueError):
                detail = json.loads(detail).get("error", detail)
            raise EmulatorError(f"emulator control {action}: {detail}") from err
        except OSError as err:
            raise EmulatorError(f"emulator at {self.endpoint} is not answering ({err})") from err

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def set_lag(self, spec: str) -> None:
        self._call("POST", "lag", {"model": spec})

    def lag_description(self) -> str:
        return str(self.state()["lag"])

    def pause_replication(self, table: str, region: str) -> None:
        self._call("POST", "pause", {"table": table, "region": region})

    def resume_replication(self, table: str, region: str) -> None:
        self._call("POST", "resume", {"table": table, "region": region})

    def isolate(self, region: str) -> None:
        self._call("POST", "isolate", {"region": region})

    def heal(self, region: str) -> None:
        self._call("POST", "heal", {"region": region})

    def is_isolated(self, region: str) -> bool:
        return region in self.state()["isolated"]

    def pending(self) -> dict[tuple[str, str], int]:
        return {(p["source"], p["destination"]): p["count"] for p in self._call("GET", "pending")["pending"]}

    def wait_replicated(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def faults(self) -> dict[str, Any]:
        """Replication faults and health: `{"healthy", "problems", "threads", "total", "faults"}`
        (see `GET /_emulator/faults`)."""
        return self._call("GET", "faults")

    def overload(self) -> dict[str, Any]:
        """How far behind its lag model delivery is, per pair (see `GET /_emulator/overload`)."""
        return self._call("GET", "overload")

    def health(self) -> dict[str, Any]:
        answer = self.faults()
        return {k: answer[k] for k in ("healthy", "problems", "threads") if k in answer}

    def clear_faults(self) -> None:
        self._call("POST", "clear-faults")

    def sweep_ttl(self) -> int:
        return int(self._call("POST", "sweep-ttl")["deleted"])

    def reset(self) -> None:
        self._call("POST", "reset")


class EmulatorProcess(EmulatorControl):
    def __init__(self, endpoint: str, process: subprocess.Popen[str]) -> None:
        super().__init__(endpoint)
        self.process = process

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def spawn_emulator(lag: str = "fixed:100", *, replica_create_seconds: float = 0.2,
                   startup_timeout: float = 30.0) -> Iterator[EmulatorProcess]:
    """Run `python -m gtcore.emulator --port 0` in a subprocess; yields it ready for requests."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gtcore.emulator", "--port", "0", "--lag", lag,
         "--replica-create-seconds", str(replica_create_seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + startup_timeout
    endpoint = None
    assert process.stdout is not None
    while endpoint is None:
        line = process.stdout.readline()
        if not line:
            err = process.stderr.read() if process.stderr else ""
            raise EmulatorError(f"the emulator subprocess exited: {err.strip()}")
        if " on http://" in line:
            endpoint = line.split(" on ", 1)[1].split()[0]
        elif time.monotonic() > deadline:
            process.kill()
            raise EmulatorError("the emulator subprocess did not start in time")
    emu = EmulatorProcess(endpoint, process)
    try:
        yield emu
    finally:
        emu.stop()
