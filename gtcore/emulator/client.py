"""Drive an emulator over its HTTP control API, and run one as a subprocess.

`EmulatorControl` offers the same control methods as the in-process `Emulator` for an emulator
in another process (started by a launcher such as `python -m setup.emulator`, or with
`spawn_emulator` / `start_emulator_process`). This module loads without moto: a program that only
drives an emulator (the CLI, the dashboard) never imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from gtcore.emulator.errors import EmulatorError

# What a launcher prints once the emulator answers (gtcore.emulator.program).
_READY = " listening on http://"
OUTPUT_KEPT = 200  # lines of a child's output kept (the last ones): why it stopped, when it did


class EmulatorControl:
    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise EmulatorError(f"{endpoint!r} is not an emulator URL",
                                hint="use e.g. http://127.0.0.1:4566")
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
                answer = _json_object(reply.read())
        except urllib.error.HTTPError as err:
            detail = err.read()
            said = (_json_object(detail) or {}).get("error") or detail.decode(errors="replace")[:300]
            raise EmulatorError(f"emulator control {action}: {said}") from err
        except (OSError, ValueError) as err:  # ValueError: a URL urllib cannot use
            raise EmulatorError(f"emulator at {self.endpoint} is not answering ({err})",
                                hint="start it (or start it again) and check its URL") from err
        if answer is None:  # something else listens there
            raise EmulatorError(f"{self.endpoint} answered {action} with something other than the "
                                "emulator's control API", hint="check the emulator's URL")
        return answer

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


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """A JSON object from bytes, or None when they hold anything else."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class EmulatorProcess(EmulatorControl):
    """An emulator running in a child process of this one, driven over HTTP."""

    def __init__(self, endpoint: str, process: subprocess.Popen[bytes], output: deque[str],
                 reader: threading.Thread) -> None:
        super().__init__(endpoint)
        self.process = process
        self._output = output
        self._reader = reader

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> list[str]:
        """The child's last :data:`OUTPUT_KEPT` lines of output (stdout and stderr), complete
        once it stopped: why it stopped, when it did."""
        return list(self._output)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin is not None:
            with suppress(OSError):
                self.process.stdin.close()
        self._reader.join(timeout=5)  # the output to its end


def start_emulator_process(module: str, lag: str = "fixed:100", *, port: int = 0,
                           replica_create_seconds: float = 0.2, startup_timeout: float = 30.0,
                           cwd: str | os.PathLike[str] | None = None) -> EmulatorProcess:
    """Run ``python -m <module> --port <port> --lag <lag>`` and return it once it answers.

    ``module`` is the launcher: a program that hands the emulator what it serves and runs
    :func:`gtcore.emulator.program.main` (``setup.emulator`` for the workshop's regional API,
    ``gtcore.emulator`` for the emulator alone). The child stops when this process exits, even
    when this process is killed outright: its stdin is a pipe from here (``--exit-with-stdin``).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), "--lag", lag,
         "--replica-create-seconds", str(replica_create_seconds), "--exit-with-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: deque[str] = deque(maxlen=OUTPUT_KEPT)
    ready = threading.Event()
    found: list[str] = []

    def read_output() -> None:
        """Find the endpoint line, then keep draining (a full pipe would stall the child)."""
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            if not found and _READY in line:
                found.append(line.split(" on ", 1)[1].split()[0])
                ready.set()
        ready.set()  # the child exited

    reader = threading.Thread(target=read_output, name=f"gt-emulator-output-{process.pid}", daemon=True)
    reader.start()
    exited = ready.wait(startup_timeout)  # set by the endpoint line, or by the output's end
    if not found:
        process.kill()
        process.wait()
        said = " / ".join(line for line in output if line.strip())[-800:]
        what = f"exited: {said or 'no output'}" if exited else f"did not start within {startup_timeout:g} s"
        raise EmulatorError(f"the emulator subprocess (python -m {module}) {what}")
    return EmulatorProcess(found[0], process, output, reader)


@contextmanager
def spawn_emulator(lag: str = "fixed:100", *, module: str, replica_create_seconds: float = 0.2,
                   startup_timeout: float = 30.0) -> Iterator[EmulatorProcess]:
    """:func:`start_emulator_process` for the length of a ``with`` block."""
    emu = start_emulator_process(module, lag, replica_create_seconds=replica_create_seconds,
                                 startup_timeout=startup_timeout)
    try:
        yield emu
    finally:
        emu.stop()
