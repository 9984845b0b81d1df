"""The emulator: moto, the replication engine and the control plane behind one HTTP server.

One endpoint on 127.0.0.1 serves DynamoDB, DynamoDB Streams, CloudWatch, Lambda, IAM and STS for
every AWS region (moto underneath, the region taken from each request's signature), and on top
of moto: real replication between replicas with lag and last-writer-wins, the Global Tables
control plane, ReplicationLatency in CloudWatch, TTL expiry, per-region locking, fault injection
(pause replication, isolate a region) and the workshop's regional API per region. Writes are
validated at the source and all or nothing (`write_path`), replication is supervised (faults and
health: `faults()`, `health()`), and only loopback clients drive it (`access`).

    emu = Emulator(port=0, lag="fixed:100", regional_api=code).start()   # port 0: a free port
    boto3.client("dynamodb", region_name="us-west-2", endpoint_url=emu.endpoint, ...)
    emu.stop()

moto keeps its state per process, so one emulator runs per process. The process-wide tuning a
dedicated emulator process wants (:func:`tune_process`) is the caller's choice, not ``start()``'s:
the emulator's program does it, a test or dashboard that hosts an emulator in its own process
decides for itself.
"""

from __future__ import annotations

import gc
import http.client
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

from gtcore.emulator.control import make_control_api
from gtcore.emulator.engine import Delivery, ReplicationEngine
from gtcore.emulator.errors import EmulatorError
from gtcore.emulator.gateway import Gateway
from gtcore.emulator.lag import LagModel, parse_lag
from gtcore.emulator.metrics import LatencyPublisher
from gtcore.emulator.operations import dynamodb_front
from gtcore.emulator.protocol import json_response, status_line
from gtcore.emulator.replicas import ReplicaManager
from gtcore.emulator.store import MotoStore
from gtcore.emulator.strong import StrongConsistency
from gtcore.emulator.ttl import run_sweeper, sweep_once

if TYPE_CHECKING:
    from gtcore.emulator.regional_api import FunctionCode, RegionalApiApp

HOST = "127.0.0.1"
SWITCH_INTERVAL = 0.0005
STREAM_RECORDS_KEPT = 10_000  # per table stream; AWS keeps 24 hours


_WARM_UP: tuple[tuple[str, str, str, dict[str, str], bytes], ...] = (
    ("dynamodb", "POST", "/", {"X-Amz-Target": "DynamoDB_20120810.ListTables",
                               "Content-Type": "application/x-amz-json-1.0"}, b"{}"),
    ("dynamodb", "POST", "/", {"X-Amz-Target": "DynamoDBStreams_20120810.ListStreams",
                               "Content-Type": "application/x-amz-json-1.0"}, b"{}"),
    ("monitoring", "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
     b"Action=ListDashboards&Version=2010-08-01"),
    ("lambda", "GET", "/2015-03-31/functions/", {}, b""),
    ("sts", "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
     b"Action=GetCallerIdentity&Version=2011-06-15"),
    ("iam", "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
     b"Action=ListRoles&Version=2010-05-08"),
)


def tune_process() -> None:
    """Process-wide settings for a process whose main job is to be the emulator.

    Request threads and the replication thread share one GIL; CPython's default 5 ms switch
    interval would add whole milliseconds to delivered lag and to request tails under load.
    moto and botocore leave ~a million long-lived objects; a full collection over them stops
    every thread for ~100 ms (seen as 1% of deliveries arriving 100 ms late). Freezing them out
    of the collector's view keeps pauses to the objects made since.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:  # no per-request noise
        pass


class Emulator:
    _active: ClassVar[Emulator | None] = None
    _active_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        port: int = 4566,
        lag: str | LagModel = "realistic",
        *,
        replica_create_seconds: float = 2.0,
        ttl_interval: float = 2.0,
        metrics_interval: float = 2.0,
        seed: int | None = None,
        regional_api: FunctionCode | None = None,
    ) -> None:
        """``regional_api``: the code behind each region's regional API (``/_api/{region}/...``),
        handed in by whoever starts the emulator; without it those URLs answer 404."""
        import random

        self.port = port
        self._regional_api_code = regional_api
        self.store = MotoStore()
        self.publisher = LatencyPublisher(self.store.account_id)
        self.engine = ReplicationEngine(
            self.store,
            lag=parse_lag(lag) if isinstance(lag, str) else lag,
            rng=random.Random(seed),
            on_applied=self.publisher.record,
        )
        self.replicas = ReplicaManager(self.store, self.engine, create_seconds=replica_create_seconds)
        self.strong = StrongConsistency(self, seed=seed)  # MRSC tables
        self.dynamodb_front = dynamodb_front(self.store, self.engine, self.replicas,
                                             settle_seconds=replica_create_seconds)
        self._ttl_interval = ttl_interval
        self._metrics_interval = metrics_interval
        self._server: BaseWSGIServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread_errors: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    def running(cls) -> Emulator | None:
        """The emulator started in this process, if any (there can be only one)."""
        with cls._active_lock:
            return cls._active

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise EmulatorError("the emulator is not running: call start() first")
        return f"http://{HOST}:{self._listener.getsockname()[1]}"

    def start(self) -> Emulator:
        with Emulator._active_lock:
            if Emulator._active is not None:
                raise EmulatorError(
                    f"an emulator already runs in this process at {Emulator._active.endpoint}; "
                    "moto keeps one state per process, so use that one or start another process"
                )
            app = Gateway(self, self._regional_api, make_control_api(self))
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((HOST, self.port))
                listener.listen(128)
            except OSError as err:
                listener.close()
                raise EmulatorError(f"cannot listen on {HOST}:{self.port}: {err.strerror or err}") from err
            # werkzeug would print and sys.exit() on a busy port; handing it a bound socket avoids that.
            self._server = make_server(HOST, self.port, app, threaded=True, request_handler=_QuietHandler,
                                       fd=listener.fileno())
            self._listener = listener
            Emulator._active = self
        self._stop.clear()
        self._spawn("gt-emulator-http", self._server.serve_forever)
        self._spawn("gt-replication", lambda: self.engine.run(self._stop))
        self._spawn("gt-ttl", lambda: run_sweeper(self, self._stop, self._ttl_interval))
        self._spawn("gt-housekeeping", self._housekeeping)
        self._warm_up()
        return self

    def _warm_up(self) -> None:
        """One request per service, one at a time, before anyone else's: moto builds each
        service's routing on first use, and Python 3.11 can fail that build ("AST constructor
        recursion depth mismatch", a one-off 500) when several first requests arrive at once."""
        port = self._listener.getsockname()[1]
        for service, method, path, headers, body in _WARM_UP:
            auth = f"AWS4-HMAC-SHA256 Credential=warmup/20260101/us-east-1/{service}/aws4_request, " \
                   "SignedHeaders=host, Signature=0"
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            try:
                conn.request(method, path, body=body, headers={"Authorization": auth, **headers})
                conn.getresponse().read()
            finally:
                conn.close()

    def _spawn(self, name: str, target: Any) -> None:
        def supervised() -> None:
            try:
                target()
            except BaseException as err:  # noted for health(); the thread still ends
                self._thread_errors[name] = f"{type(err).__name__}: {err}"
                raise

        thread = threading.Thread(target=supervised, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _housekeeping(self) -> None:
        """Publish ReplicationLatency and keep stream data bounded, every metrics interval."""
        while not self._stop.wait(self._metrics_interval):
            self.publisher.flush()
            self.store.trim_streams(STREAM_RECORDS_KEPT)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        with Emulator._active_lock:
            if Emulator._active is self:
                Emulator._active = None
        self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    _regional_api_app: RegionalApiApp | None = None

    def _regional_api(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._regional_api_code is None:
            status, headers, body = json_response(404, {
                "message": "This emulator serves no regional API: it was started without one "
                "(start it through a launcher that hands it the API's code, e.g. python -m setup.emulator)",
            })
            start_response(status_line(status), headers)
            return [body]
        if self._regional_api_app is None:
            from gtcore.emulator.regional_api import RegionalApiApp  # chalice loads on first use

            self._regional_api_app = RegionalApiApp(self, self._regional_api_code)
        return self._regional_api_app(environ, start_response)

    # -- replication ---------------------------------------------------------------------
    def record_writes(self, touched: set[tuple[str, str, str]]) -> None:
        """Hand the current image of each written key to the engine (caller holds the lock)."""
        for region, table, key in touched:
            self.engine.local_write(region, table, key, self.store.read(region, table, key))

    def add_delivery_listener(self, listener: Callable[[Delivery, float], None]) -> None:
        """Call `listener(delivery, applied_at)` for every applied replicated write: the truth a
        lag measurement can be checked against (`applied_at - delivery.write.ts` is its lag)."""
        self.engine.add_listener(listener)

    def remove_delivery_listener(self, listener: Callable[[Delivery, float], None]) -> None:
        self.engine.remove_listener(listener)

    def set_lag(self, spec: str | LagModel) -> None:
        self.engine.set_lag(parse_lag(spec) if isinstance(spec, str) else spec)

    def lag_description(self) -> str:
        return self.engine.lag.describe()

    def pending(self) -> dict[tuple[str, str], int]:
        return self.engine.pending()

    def wait_replicated(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is pending (held ones count: heal or resume first)."""
        deadline = time.monotonic() + timeout
        while self.engine.pending_total() > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # -- faults --------------------------------------------------------------------------
    def pause_replication(self, table: str, region: str) -> None:
        self.engine.pause(table, region)

    def resume_replication(self, table: str, region: str) -> None:
        self.engine.resume(table, region)

    def isolate(self, region: str) -> None:
        self.engine.isolate(region)

    def heal(self, region: str) -> None:
        self.engine.heal(region)

    def is_isolated(self, region: str) -> bool:
        return self.engine.is_isolated(region)

    def sweep_ttl(self) -> int:
        return sweep_once(self)

    # -- observation and reset -----------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Whether every background thread still runs (replication, TTL, metrics, HTTP):
        `{"healthy": bool, "problems": [text], "threads": {name: alive}}`."""
        threads = {t.name: t.is_alive() for t in self._threads}
        dead = [name for name, alive in threads.items() if not alive]
        problems = [f"emulator thread {name} stopped ({self._thread_errors.get(name, 'it returned')}): "
                    "restart the emulator" for name in dead]
        if self.engine.last_error:
            problems.append(f"replication engine error (it kept running): {self.engine.last_error}")
        return {"healthy": bool(threads) and not dead, "problems": problems, "threads": threads}

    def faults(self) -> dict[str, Any]:
        """Replication faults (newest first), their total count, health, and how far behind its lag
        model delivery is (`overload`)."""
        return {**self.health(), "total": self.engine.faults.total,
                "faults": [f.to_dict() for f in self.engine.faults.faults()], "overload": self.overload()}

    def overload(self) -> dict[str, Any]:
        """How far behind its lag model delivery is, per pair (see `gtcore.emulator.overload`)."""
        return self.engine.overload()

    def clear_faults(self) -> None:
        self.engine.faults.clear()
        self.engine.last_error = None

    def state(self) -> dict[str, Any]:
        health = self.health()
        return {
            "healthy": health["healthy"],
            "problems": health["problems"],
            "faults": self.engine.faults.total,
            "retried": self.engine.retried_count,
            "endpoint": self.endpoint,
            "lag": self.lag_description(),
            "isolated": self.engine.isolated(),
            "paused": [{"table": t, "region": r} for t, r in self.engine.paused()],
            "pending": [
                {"source": s, "destination": d, "count": n} for (s, d), n in sorted(self.pending().items())
            ],
            "tables": self.engine.groups(),
            "applied": self.engine.applied_count,
            "discarded": self.engine.discarded_count,
            "superseded": self.engine.superseded_count,
            "overload": self.overload(),
            "sizes": self.sizes(),
        }

    def sizes(self) -> dict[str, int]:
        """How much the emulator holds (for soak tests: each must stay bounded over time)."""
        from moto.awslambda.models import lambda_backends
        from moto.cloudwatch.models import cloudwatch_backends

        account = self.store.account_id
        out = {**self.engine.sizes(), **self.store.sizes()}
        out["metric_aggregates"] = self.publisher.open_aggregates()
        out["metric_datums"] = sum(len(b.metric_data) for b in list(cloudwatch_backends[account].values()))
        out["functions"] = sum(len(list(b.list_functions())) for b in list(lambda_backends[account].values()))
        api = self._regional_api_app
        out["api_environments"] = api.environments() if api is not None else 0
        return out

    def reset(self) -> None:
        """Forget every table, item, metric, function and fault (moto's reset plus ours)."""
        self.engine.reset()
        self.publisher.reset()
        moto_api_backend.reset()
