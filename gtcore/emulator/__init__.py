"""The embedded multi-region DynamoDB Global Tables emulator.

One endpoint on 127.0.0.1 serves DynamoDB, DynamoDB Streams, CloudWatch, Lambda, IAM and STS for
every AWS region (moto underneath, the region taken from each request's signature), and on top
of moto: real replication between replicas with lag and last-writer-wins, the Global Tables
control plane, ReplicationLatency in CloudWatch, TTL expiry, per-region locking, fault injection
(pause replication, isolate a region) and, when its starter hands one in, a regional API per
region (API Gateway in front of Lambda running the given Chalice app).

    emu = Emulator(port=0, lag="fixed:100").start()   # port 0 picks a free port
    boto3.client("dynamodb", region_name="us-west-2", endpoint_url=emu.endpoint, ...)
    emu.stop()

The emulator is a component with one boundary: it imports nothing from the project that uses it
(setup/, ui/, pages/); whoever starts it hands it what it serves (``regional_api=FunctionCode``).
moto keeps its state per process, so one emulator runs per process; other programs run it as a
child process (:mod:`gtcore.emulator.program`, started by a launcher such as
``python -m setup.emulator``) and drive it over HTTP with :class:`~gtcore.emulator.client.EmulatorControl`.

Modules: :mod:`.server` (the ``Emulator``: moto and the parts below behind one HTTP server),
:mod:`.client` (HTTP control client and subprocess spawning, no moto), :mod:`.child` (a
long-running program's own emulator child process), :mod:`.program` (the emulator as a program),
:mod:`.errors`, and the parts: engine, lag, clock, store, replicas, gateway, control, protocol,
metrics, ttl, regional_api.

``Emulator`` and ``HOST`` load on first use, so ``import gtcore.emulator.client`` stays moto-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gtcore.emulator.errors import EmulatorError

if TYPE_CHECKING:
    from gtcore.emulator.server import HOST, Emulator

__all__ = ["HOST", "Emulator", "EmulatorError"]


def __getattr__(name: str) -> Any:
    if name in ("Emulator", "HOST"):
        from gtcore.emulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
