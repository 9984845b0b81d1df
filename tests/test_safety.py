"""Safety: gtcore touches only what it was told to touch.

* the lag probe writes only its own TTL'd items;
* read-only mode sends no write and no control-plane call, whatever is attempted;
* destructive actions (throttle, teardown, replica removal) stay on the configured table and its
  function;
* every server binds to 127.0.0.1 only.

Calls are recorded with botocore event hooks on the session the Connection uses:
``before-parameter-build`` sees every attempted call with its API parameters, ``before-send``
every request that actually goes on the wire.
"""

from __future__ import annotations

import copy
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from emulator_helpers import client, create_table, key, make_global, scan_all, wait_for

from gtcore.actions.throttle import (
    restore_all,
    restore_region,
    throttle_region,
    throttle_states,
    throttled_regions,
)
from gtcore.errors import ConfigError, ReadOnlyError
from gtcore.experiments.lag_probe import PROBE_PK, LagProbe, ProbeConfig, all_pairs
from gtcore.probes.cloudwatch import replication_latency
from gtcore.probes.diff import diff_replicas
from gtcore.probes.status import count_items, table_status
from gtcore.target import Connection, Target

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ("us-west-2", "eu-west-1")

# Independent of gtcore.target.is_read_operation on purpose: if that allow-list were wrong, this
# test must still catch a write on the wire.
_READ_RE = re.compile(r"^(Describe|Get|List|BatchGet)[A-Za-z]*$|^(Query|Scan|TransactGetItems)$")
_NOT_READ = {"GetSessionToken", "GetFederationToken"}


def _is_read(op: str) -> bool:
    return bool(_READ_RE.match(op)) and op not in _NOT_READ


class Recorder:
    """Every boto3 call attempted (with API params) and sent, by clients of its sessions."""

    def __init__(self) -> None:
        self.attempted: list[tuple[str, str, dict[str, Any]]] = []
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def session(self) -> boto3.Session:
        s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        s.events.register("before-parameter-build.*.*", self._attempt)
        s.events.register("before-send.*.*", self._send)
        return s

    def _attempt(self, params: dict[str, Any], model: Any, event_name: str, **_: Any) -> None:
        with self._lock:
            self.attempted.append((event_name.split(".")[1], model.name, copy.deepcopy(params)))

    def _send(self, event_name: str, **_: Any) -> None:
        _, service, op = event_name.split(".")
        with self._lock:
            self.sent.append((service, op))

    def calls(self, op: str) -> list[dict[str, Any]]:
        return [p for _, o, p in self.attempted if o == op]

    def sent_writes(self) -> list[tuple[str, str]]:
        return [(s, o) for s, o in self.sent if not _is_read(o)]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _conn(endpoint: str, table: str, regions=REGIONS, *, session=None, read_only=False):
    return Connection(Target(regions=regions, table=table, endpoint=endpoint, read_only=read_only),
                      session=session)


# --- the probe writes only its own TTL'd items -----------------------------------------------


def test_probe_writes_only_its_own_ttl_items(emulator, unique_table, recorder):
    regions = ("us-west-2", "eu-west-1", "ap-southeast-2")
    clients = make_global(emulator.endpoint, unique_table, regions)
    clients["us-west-2"].put_item(TableName=unique_table, Item={**key("user100", "AshlandValley"),
                                                                "Bookmark": {"N": "5"}})
    conn = _conn(emulator.endpoint, unique_table, regions, session=recorder.session())
    cfg = ProbeConfig(pairs=all_pairs(regions), samples=3, rate=10, timeout=5, ttl_seconds=300)
    started = time.time()
    frame = LagProbe(conn, cfg).run()
    assert set(frame["status"]) == {"ok"}

    ops = {op for _, op, _ in recorder.attempted}
    assert ops <= {"PutItem", "GetItem", "BatchWriteItem"}, ops
    puts = recorder.calls("PutItem")
    assert len(puts) == 3 * len(regions)
    for params in puts:
        assert params["TableName"] == unique_table
        item = params["Item"]
        assert item["PK"] == {"S": PROBE_PK}, item
        expires = int(item[cfg.ttl_attribute]["N"])
        assert started + 290 <= expires <= time.time() + 310, expires
    deletes = 0
    for params in recorder.calls("BatchWriteItem"):
        assert set(params["RequestItems"]) == {unique_table}
        for request in params["RequestItems"][unique_table]:
            assert set(request) == {"DeleteRequest"}, request  # clean-up only
            assert request["DeleteRequest"]["Key"]["PK"] == {"S": PROBE_PK}
            deletes += 1
    assert deletes == len(puts)  # it cleans up after itself
    for params in recorder.calls("GetItem"):
        assert params["TableName"] == unique_table and params["Key"]["PK"] == {"S": PROBE_PK}
    # ... and the user's item is as it was.
    assert emulator.wait_replicated(10)
    for r in regions:
        assert {k[0] for k in scan_all(clients[r], unique_table)} <= {"user100"}


def test_conflict_lab_writes_only_its_own_item(emulator, unique_table, recorder):
    from gtcore.experiments.conflict import CONFLICT_PK, ConflictConfig, ConflictLab

    clients = make_global(emulator.endpoint, unique_table, REGIONS)
    clients["eu-west-1"].put_item(TableName=unique_table, Item={**key("user100", "AshlandValley"),
                                                                "Bookmark": {"N": "5"}})
    assert emulator.wait_replicated(10)
    conn = _conn(emulator.endpoint, unique_table, session=recorder.session())
    results = ConflictLab(conn, ConflictConfig(trials=2)).run()
    assert len(results) == 2
    writes = [(op, p) for _, op, p in recorder.attempted if not _is_read(op)]
    assert writes and {op for op, _ in writes} <= {"PutItem", "UpdateItem", "DeleteItem"}
    for op, params in writes:
        assert params["TableName"] == unique_table
        target = params.get("Key") or params.get("Item")
        assert target["PK"] == {"S": CONFLICT_PK}, (op, params)
    assert emulator.wait_replicated(10)
    for r in REGIONS:  # the user's item untouched, the lab's own item removed
        items = scan_all(clients[r], unique_table)
        assert list(items) == [("user100", "AshlandValley")]
        assert items[("user100", "AshlandValley")]["Bookmark"] == {"N": "5"}


# --- read-only mode --------------------------------------------------------------------------


@pytest.fixture
def workshop(emulator, unique_table) -> Connection:
    from gtcore.workshop import provision_workshop

    conn = _conn(emulator.endpoint, unique_table)
    assert provision_workshop(conn).ok
    return conn


def _snapshot(conn: Connection) -> dict[str, Any]:
    """Items, table settings and function settings in every region (read with a writable
    connection of its own, not recorded)."""
    out: dict[str, Any] = {}
    fn = conn.target.function_name
    for r in conn.regions:
        ddb = client(conn.target.endpoint, "dynamodb", r)
        lam = client(conn.target.endpoint, "lambda", r)
        desc = ddb.describe_table(TableName=conn.target.table)["Table"]
        arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
        out[r] = {
            "items": scan_all(ddb, conn.target.table),
            "replicas": sorted(x["RegionName"] for x in desc.get("Replicas", [])),
            "ttl": ddb.describe_time_to_live(TableName=conn.target.table)["TimeToLiveDescription"],
            "concurrency": lam.get_function_concurrency(FunctionName=fn).get(
                "ReservedConcurrentExecutions"),
            "tags": lam.list_tags(Resource=arn).get("Tags", {}),
        }
    return out


def test_read_only_sends_only_reads_and_refuses_every_change(workshop, emulator, recorder,
                                                             monkeypatch):
    from gtcore.cli import main
    from gtcore.experiments.conflict import ConflictConfig, ConflictLab
    from gtcore.experiments.drill import DrillConfig, FailoverDrill
    from gtcore.workshop import provision_workshop, remove_replica, teardown_workshop

    table = workshop.target.table
    before = _snapshot(workshop)
    ro = _conn(emulator.endpoint, table, session=recorder.session(), read_only=True)

    # Reads work.
    status = table_status(ro, count=True)
    assert all(r.error is None for r in status.regions), [r.error for r in status.regions]
    assert replication_latency(ro, window=600).errors == {}
    report = diff_replicas(ro, settle_seconds=0.1)
    assert report.errors == {} and not report.diverged
    assert count_items(ro, "eu-west-1")[0] > 0
    assert len(throttle_states(ro)) == 2 and throttled_regions(ro) == []
    reads_sent = len(recorder.sent)
    assert reads_sent > 0

    # Every change is refused with ReadOnlyError.
    refused = []
    attempts = {
        "throttle": lambda: throttle_region(ro, "eu-west-1"),
        "restore": lambda: restore_region(ro, "eu-west-1"),
        "restore all": lambda: restore_all(ro),
        "probe": lambda: LagProbe(ro, ProbeConfig(pairs=all_pairs(REGIONS), samples=1)).run(),
        "conflict": lambda: ConflictLab(ro, ConflictConfig(trials=1)).run(),
        "drill": lambda: FailoverDrill(ro, DrillConfig(interval=0.1)).run(0.5),
        "setup": lambda: provision_workshop(ro),
        "teardown": lambda: teardown_workshop(ro, force=True),
        "remove replica": lambda: remove_replica(ro, "eu-west-1", force=True),
        "put item": lambda: ro.client("dynamodb", "us-west-2").put_item(
            TableName=table, Item={**key("x"), "v": {"N": "1"}}),
        "delete table": lambda: ro.client("dynamodb", "eu-west-1").delete_table(TableName=table),
        "update table": lambda: ro.client("dynamodb", "us-west-2").update_table(
            TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": "eu-west-1"}}]),
        "partiql update": lambda: ro.client("dynamodb", "us-west-2").execute_statement(
            Statement=f"UPDATE \"{table}\" SET v = 2 WHERE PK = 'user100' AND SK = 'x'"),
        "concurrency": lambda: ro.client("lambda", "eu-west-1").put_function_concurrency(
            FunctionName=ro.target.function_name, ReservedConcurrentExecutions=0),
        "metric": lambda: ro.client("cloudwatch", "us-west-2").put_metric_data(
            Namespace="x", MetricData=[{"MetricName": "m", "Value": 1.0}]),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ReadOnlyError) as info:
            attempt()
        assert "read-only" in str(info.value), name
        refused.append(name)
    # The CLI too (its own Connection, on the recorded session).
    monkeypatch.setattr(Connection, "_get_session", lambda self: recorder.session())
    flags = ["--endpoint", emulator.endpoint, "--regions", ",".join(REGIONS), "--table", table,
             "--read-only"]
    assert main(["throttle", "eu-west-1", *flags]) == 2
    assert main(["unthrottle", "--all", *flags]) == 2
    assert main(["status", *flags]) == 0

    written = recorder.sent_writes()
    assert written == [], f"write or control-plane calls reached the wire: {written}"
    assert {op for _, op, _ in recorder.attempted if not _is_read(op)} >= {
        "PutItem", "DeleteTable", "UpdateTable", "PutFunctionConcurrency", "PutMetricData"}
    assert _snapshot(workshop) == before


# --- destructive actions stay on the configured table and function ----------------------------


def _deploy(endpoint: str, region: str, name: str, concurrency: int | None) -> str:
    iam = client(endpoint, "iam", region)
    try:
        role = iam.get_role(RoleName="gt-safety")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="gt-safety", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lam = client(endpoint, "lambda", region)
    arn = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                              Handler="app.handler", Code={"ZipFile": buf.getvalue()})["FunctionArn"]
    if concurrency is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=concurrency)
    return arn


def _functions(endpoint: str, region: str) -> dict[str, tuple[int | None, dict[str, str]]]:
    lam = client(endpoint, "lambda", region)
    out = {}
    for fn in lam.list_functions()["Functions"]:
        name = fn["FunctionName"]
        conc = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        out[name] = (conc, lam.list_tags(Resource=fn["FunctionArn"]).get("Tags", {}))
    return out


@pytest.mark.slow
def test_throttle_touches_only_the_target_function_in_the_target_regions(emulator, unique_table,
                                                                         recorder, monkeypatch):
    from gtcore.cli import main

    table = unique_table
    mine = f"{table}-dev"
    # Decoys: same prefix, same suffix, the workshop's default name, and a region not targeted.
    decoys = {f"{table}-dev2": 5, f"{table}": 2, f"x{table}-dev": None, f"{table}-prod": 3}
    arns = {}
    for region in REGIONS:
        arns[region] = _deploy(emulator.endpoint, region, mine, None)
        for name, conc in decoys.items():
            _deploy(emulator.endpoint, region, name, conc)
    _deploy(emulator.endpoint, "ap-southeast-2", mine, 9)  # outside the target's regions
    others_before = {r: {n: v for n, v in _functions(emulator.endpoint, r).items() if n != mine}
                     for r in (*REGIONS, "ap-southeast-2")}

    conn = _conn(emulator.endpoint, table, session=recorder.session())
    with pytest.raises(ConfigError):
        throttle_region(conn, "ap-southeast-2")
    for r in REGIONS:
        throttle_region(conn, r)
    assert sorted(throttled_regions(conn)) == sorted(REGIONS)
    restore_all(conn)
    monkeypatch.setattr(Connection, "_get_session", lambda self: recorder.session())
    flags = ["--endpoint", emulator.endpoint, "--regions", ",".join(REGIONS), "--table", table]
    assert main(["throttle", "eu-west-1", *flags]) == 0
    assert main(["unthrottle", "--all", *flags]) == 0
    assert main(["throttle", "ap-southeast-2", *flags]) == 2  # not one of the target's regions

    touched = set()
    for service, op, params in recorder.attempted:
        assert service == "lambda", (service, op)
        name = params.get("FunctionName") or params.get("Resource")
        assert name in (mine, arns["us-west-2"], arns["eu-west-1"]), (op, params)
        touched.add(op)
    assert {"PutFunctionConcurrency", "TagResource", "UntagResource"} <= touched
    for r in REGIONS:
        assert _functions(emulator.endpoint, r)[mine] == (None, {})
    for r, before in others_before.items():
        now = {n: v for n, v in _functions(emulator.endpoint, r).items() if n != mine}
        assert now == before, r
    assert _functions(emulator.endpoint, "ap-southeast-2")[mine][0] == 9


@pytest.mark.slow
def test_setup_down_and_replica_removal_touch_only_the_target(make_emulator, recorder,
                                                              monkeypatch):
    from gtcore.workshop import provision_workshop, remove_replica
    from setup.cli import main as setup_main

    emu = make_emulator()
    ep = emu.endpoint
    regions3 = ("us-west-2", "eu-west-1", "ap-southeast-2")
    mine, theirs = "wk-mine", "wk-mine-other"
    assert provision_workshop(_conn(ep, mine, regions3)).ok
    assert provision_workshop(_conn(ep, theirs, REGIONS)).ok  # also made by setup, another name
    plain = client(ep, "dynamodb", "us-west-2")
    create_table(plain, "wk-min")  # a prefix of ours, not made by setup
    create_table(client(ep, "dynamodb", "eu-west-1"), mine + "x")
    plain.put_item(TableName="wk-min", Item={**key("keep"), "v": {"N": "1"}})

    def tables() -> dict[str, list[str]]:
        return {r: sorted(client(ep, "dynamodb", r).list_tables()["TableNames"]) for r in regions3}

    monkeypatch.setattr(Connection, "_get_session", lambda self: recorder.session())
    # Remove one replica: only that one goes.
    remove_replica(Connection(Target(regions=regions3, table=mine, endpoint=ep)),
                   "ap-southeast-2")
    assert tables()["ap-southeast-2"] == []
    assert mine in tables()["eu-west-1"] and mine in tables()["us-west-2"]

    # A table setup did not make is refused, exit code 2, nothing deleted.
    out, err = io.StringIO(), io.StringIO()
    assert setup_main(["down", "--endpoint", ep, "--table", "wk-min", "--regions", "us-west-2"],
                      out=out, err=err) == 2
    assert "not made by" in err.getvalue() and "wk-min" in tables()["us-west-2"]

    before_theirs = {r: scan_all(client(ep, "dynamodb", r), theirs) for r in REGIONS}
    assert setup_main(["down", "--endpoint", ep, "--table", mine, "--regions", ",".join(REGIONS)],
                      out=out, err=err) == 0, err.getvalue()
    after = tables()
    assert after == {
        "us-west-2": sorted([theirs, "wk-min"]),
        "eu-west-1": sorted([theirs, mine + "x"]),
        "ap-southeast-2": [],
    }
    assert {r: scan_all(client(ep, "dynamodb", r), theirs) for r in REGIONS} == before_theirs
    assert scan_all(plain, "wk-min")
    for r in REGIONS:
        names = {f["FunctionName"] for f in client(ep, "lambda", r).list_functions()["Functions"]}
        assert names == {f"{theirs}-dev"}, names
    roles = {x["RoleName"] for x in client(ep, "iam", "us-west-2").list_roles()["Roles"]}
    assert f"{theirs}-dev" in roles and f"{mine}-dev" not in roles

    # Every destructive call named our table, function or role.
    destructive = {"DeleteTable", "UpdateTable", "DeleteFunction", "DeleteRole",
                   "DeleteRolePolicy", "DeleteItem", "BatchWriteItem", "PutItem"}
    for service, op, params in recorder.attempted:
        if op in destructive:
            name = params.get("TableName") or params.get("FunctionName") or params.get("RoleName")
            assert name in (mine, f"{mine}-dev"), (service, op, params)
    assert recorder.calls("DeleteTable") and recorder.calls("DeleteFunction")


# --- servers bind to 127.0.0.1 only -----------------------------------------------------------

_SOURCE_DIRS = ("gtcore", "setup", "ui", "pages", "bench", "tests", "scripts")
_BIND_CALL = re.compile(
    r"\b(?:\.bind|make_server|HTTPServer|ThreadingHTTPServer|TCPServer|ThreadedMotoServer|"
    r"run_simple|create_server|serve)\s*\(\s*\(?\s*([^,)\s]+)")
_LOOPBACK_ARG = re.compile(
    r"""^(?:(?:ip_address|host|address)=)?(HOST|self\.host|host|["']127\.0\.0\.1["']|["']localhost["'])$""")


def _source_files() -> list[Path]:
    files = [ROOT / "dashboard.py"]
    for d in _SOURCE_DIRS:
        files += sorted((ROOT / d).rglob("*.py")) + sorted((ROOT / d).rglob("*.sh"))
    return files


def test_no_code_binds_or_points_a_server_to_all_interfaces():
    wildcard = re.compile(r"0\.0\.0\.0|INADDR_ANY|\bhost\s*=\s*['\"]['\"]|bind\(\(\s*['\"]['\"]|"
                          r"--server\.address[= ]+(?!127\.0\.0\.1)")
    me = Path(__file__).resolve()
    bad, binds = [], []
    for path in _source_files():
        if path.resolve() == me:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if wildcard.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
            for m in _BIND_CALL.finditer(line):
                binds.append((f"{path.relative_to(ROOT)}:{n}", m.group(1)))
    assert bad == []
    not_loopback = [(where, arg) for where, arg in binds if not _LOOPBACK_ARG.match(arg)
                    and not arg.startswith(("self._server.serve_forever", "listener"))]
    assert not_loopback == [], not_loopback
    assert any(arg == "HOST" for _, arg in binds)  # the emulator's bind was found
    from gtcore.emulator import HOST

    assert HOST == "127.0.0.1"
    conf = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r'(?m)^address\s*=\s*"127\.0\.0\.1"', conf)
    readme = (ROOT / "README.md").read_text()
    for cmd in re.findall(r"streamlit run [^\n`]*", readme):
        # .streamlit/config.toml binds loopback; a command line may only repeat that
        assert re.findall(r"--server\.address[ =](\S+)", cmd) in ([], ["127.0.0.1"]), cmd


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc (no psutil)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for name, v6 in (("tcp", False), ("tcp6", True)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            raw = bytes.fromhex(addr_hex)
            if v6:
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                addr = socket.inet_ntop(socket.AF_INET6, raw)
            else:
                addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
            out.append((addr, int(port_hex, 16)))
    return out


def test_proc_net_parser_reads_the_exact_listening_address():
    """The parser below must tell one address from another (else the next tests, which expect
    127.0.0.1, prove nothing). 127.0.0.2 is loopback too, so nothing is exposed meanwhile."""
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.listen(1)
    try:
        listening = _listening(os.getpid())
        assert ("127.0.0.2", s.getsockname()[1]) in listening
        assert ("127.0.0.1", s.getsockname()[1]) not in listening
    finally:
        s.close()


def test_emulator_process_listens_on_loopback_only(make_emulator):
    emu = make_emulator()
    socks = _listening(emu.process.pid)
    port = int(emu.endpoint.rsplit(":", 1)[1])
    assert socks == [("127.0.0.1", port)], socks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_streamlit_dashboard_listens_on_loopback_only(tmp_path):
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
         "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        def up() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    return True
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                return False

        wait_for(up, timeout=60, every=0.3)
        socks = _listening(proc.pid)
        assert socks and all(addr in ("127.0.0.1", "::1") for addr, _ in socks), socks
        assert ("127.0.0.1", port) in socks
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
