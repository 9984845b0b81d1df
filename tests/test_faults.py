"""Reliability under faults: an isolated region during a probe run (and the failover drill),
replication paused during 1,000 writes over three regions (nothing acknowledged is lost, every
replica converges), and a process killed while a function is throttled (a fresh start finds it
and restores the exact previous setting, through gtcore and through the CLI).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_helpers import client, key, make_global, scan_all, wait_for

from gtcore.actions.throttle import TAG, restore_all, throttle_states, throttled_regions
from gtcore.emulator.client import EmulatorProcess
from gtcore.errors import GtError
from gtcore.experiments.lag_probe import PROBE_PK, LagProbe, ProbeConfig, all_pairs
from gtcore.target import Connection, Target
from setup.emulator import spawn

ROOT = Path(__file__).resolve().parents[1]
REGIONS3 = ("us-west-2", "eu-west-1", "ap-southeast-2")


# --- an isolated region during a probe run ---------------------------------------------------


def _probe(conn: Connection, *, samples: int, timeout: float) -> LagProbe:
    cfg = ProbeConfig(pairs=all_pairs(conn.regions), samples=samples, rate=8.0, timeout=timeout,
                      threads_per_region=2, max_in_flight=12)
    return LagProbe(conn, cfg)


@pytest.mark.slow
def test_probe_survives_a_region_isolated_mid_run_and_recovers_after_heal(emulator, unique_table):
    regions = REGIONS3
    make_global(emulator.endpoint, unique_table, regions)
    conn = Connection(Target(regions=regions, table=unique_table, endpoint=emulator.endpoint))
    lost = "eu-west-1"
    run = _probe(conn, samples=10, timeout=1.5).start()
    try:
        # Isolate once the run is well under way (samples already measured), heal after the end.
        wait_for(lambda: run.progress().done >= 4, timeout=20)
        emulator.isolate(lost)
        assert run.wait(60), "the probe run hung while a region was isolated"
    finally:
        emulator.heal(lost)
    assert run.state == "done" and run.error is None, (run.state, run.error)
    samples = run.samples()
    assert len(samples) == run.total == 10 * 6  # every (probe, destination) has an outcome
    touching = [s for s in samples if lost in (s.source, s.destination)]
    others = [s for s in samples if lost not in (s.source, s.destination)]
    failed = [s for s in touching if s.status != "ok"]
    assert failed, "no probe involving the isolated region recorded a timeout or failure"
    assert {s.status for s in failed} <= {"timeout", "write_failed", "write_unknown"}
    assert all(s.status == "ok" for s in others), Counter(s.status for s in others)
    # The failures are in the history with a message, not swallowed.
    errors = [op for op in run.history.ops
              if op.type in ("fail", "info") and op.f in ("read", "write") and op.region == lost]
    assert errors and all("eu-west-1" in str(op.extra.get("error")) for op in errors)

    # After heal: a new run measures every pair, the formerly isolated region included.
    again = _probe(conn, samples=3, timeout=5.0)
    frame = again.run()
    assert again.error is None and set(frame["status"]) == {"ok"}, frame["status"].value_counts()
    assert len(frame) == 3 * 6


@pytest.mark.slow
def test_probe_against_a_region_isolated_from_the_start_fails_only_that_region(emulator,
                                                                             unique_table):
    regions = REGIONS3[:2]
    make_global(emulator.endpoint, unique_table, regions)
    conn = Connection(Target(regions=regions, table=unique_table, endpoint=emulator.endpoint))
    emulator.isolate("eu-west-1")
    try:
        run = _probe(conn, samples=2, timeout=0.5)
        frame = run.run()  # raises if the run failed as a whole
    finally:
        emulator.heal("eu-west-1")
    by_source = frame.groupby("source")["status"].agg(set).to_dict()
    assert by_source["eu-west-1"] <= {"write_failed", "write_unknown"}
    assert by_source["us-west-2"] == {"timeout"}  # written, never seen in the isolated replica
    assert run.warnings, "the probe items left in the isolated region were not reported"


# --- isolated regions during the failover drill ---------------------------------------------


@pytest.fixture(scope="module")
def private_emulator() -> Iterator[EmulatorProcess]:
    """One private emulator (a subprocess) for this module's tests that isolate regions or
    kill a process mid-throttle: they use their own tables and functions, so they can share it,
    and the session's emulator never sees a region isolated."""
    with spawn("fixed:100", replica_create_seconds=0.2) as emu:
        yield emu


@pytest.fixture(scope="module")
def _workshop3(private_emulator) -> Connection:
    from gtcore.workshop import provision_workshop

    conn = Connection(Target(regions=REGIONS3, endpoint=private_emulator.endpoint))
    assert provision_workshop(conn).ok
    return conn


@pytest.fixture
def workshop3(private_emulator, _workshop3):
    """The private emulator with the workshop in three regions (its regional API serves it)."""
    yield private_emulator, _workshop3
    for r in REGIONS3:  # whatever happened, no region stays isolated
        private_emulator.heal(r)


def _bookmarks(conn: Connection, video: str) -> dict[str, str]:
    out = {}
    for r in conn.regions:
        item = conn.client("dynamodb", r).get_item(
            TableName=conn.target.table, ConsistentRead=True,
            Key={"PK": {"S": "user10"}, "SK": {"S": video}}).get("Item", {})
        out[r] = item.get("bookmark", {}).get("S")
    return out


@pytest.mark.slow
def test_drill_fails_over_twice_when_regions_go_down_one_after_another(workshop3):
    from gtcore.experiments.drill import DrillConfig, FailoverDrill

    emu, conn = workshop3
    drill = FailoverDrill(conn, DrillConfig(video="07", interval=0.1, health_every=3,
                                            converge_timeout=20)).start()
    try:
        time.sleep(0.5)
        emu.isolate("us-west-2")  # home down: over to eu-west-1
        wait_for(lambda: drill.active == "eu-west-1", timeout=15)
        time.sleep(0.3)
        emu.isolate("eu-west-1")  # and the region it fled to: over to ap-southeast-2
        wait_for(lambda: drill.active == "ap-southeast-2", timeout=15)
        time.sleep(0.5)
        state = drill.state()
        assert state.phase == "running" and not state.regions["eu-west-1"].ok
        emu.heal("eu-west-1")
        emu.heal("us-west-2")
        wait_for(lambda: drill.active == "us-west-2", timeout=15)  # automatic failback home
        time.sleep(0.5)
    finally:
        emu.heal("eu-west-1")
        emu.heal("us-west-2")
        drill.stop()
    assert drill.wait(60) and drill.phase == "done", drill.error
    v = drill.verdict
    assert v.passed and v.lost_acked == 0, v.describe()
    assert [s["to"] for s in v.failovers] == ["eu-west-1", "ap-southeast-2", "us-west-2"]
    assert {o.region for o in v.outages} == {"us-west-2", "eu-west-1"}
    assert all(o.rto_ms is not None and o.elsewhere for o in v.outages), v.outages
    assert set(_bookmarks(conn, "07").values()) == {v.last_acked}
    print(f"cascade drill: {v.writes} writes, {v.acked} acked, lost: {v.lost_acked}, "
          f"RTO {v.rto_ms:.0f} ms")


@pytest.mark.slow
def test_drill_keeps_writing_home_while_a_replica_is_isolated(workshop3):
    from gtcore.experiments.drill import DrillConfig, FailoverDrill

    emu, conn = workshop3
    drill = FailoverDrill(conn, DrillConfig(video="08", interval=0.1)).start()
    try:
        time.sleep(0.4)
        emu.isolate("ap-southeast-2")
        time.sleep(1.0)
        state = drill.state()
        view = state.regions["ap-southeast-2"]
        assert not view.ok and view.error and "ap-southeast-2" in view.error
        assert state.active == "us-west-2" and state.consecutive_failures == 0
        emu.heal("ap-southeast-2")
        time.sleep(0.6)
    finally:
        emu.heal("ap-southeast-2")
        drill.stop()
    assert drill.wait(60), "the drill did not end"
    v = drill.verdict
    assert v.passed and v.lost_acked == 0 and v.failovers == [] and v.failed == 0, v.describe()
    assert set(_bookmarks(conn, "08").values()) == {v.last_acked}


# --- replication paused during 1,000 writes --------------------------------------------------


@pytest.mark.slow
def test_paused_replication_loses_no_acknowledged_write_and_replicas_converge(emulator,
                                                                            unique_table):
    regions = REGIONS3
    table = unique_table
    clients = make_global(emulator.endpoint, table, regions)
    writers = {r: client(emulator.endpoint, "dynamodb", r) for r in regions}
    hot = [f"hot{i}" for i in range(10)]  # contended items, written in every region
    acked: dict[str, list[tuple[str, str]]] = {r: [] for r in regions}  # (pk, value)
    failed: list[str] = []
    per_region = {"us-west-2": 334, "eu-west-1": 333, "ap-southeast-2": 333}
    assert sum(per_region.values()) == 1000

    def write(region: str) -> None:
        ddb = writers[region]
        for n in range(per_region[region]):
            pk = hot[(n // 10) % len(hot)] if n % 10 == 0 else f"{region}-{n}"
            value = f"{region}#{n}"
            try:
                ddb.put_item(TableName=table, Item={**key(pk), "v": {"S": value}})
            except Exception as err:  # counted, and the test says which
                failed.append(f"{region} {pk}: {err}")
            else:
                acked[region].append((pk, value))

    for r in regions:
        emulator.pause_replication(table, r)
    try:
        threads = [threading.Thread(target=write, args=(r,)) for r in regions]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.monotonic() - t0
        # While paused nothing crossed: each replica holds only its own writes.
        for r in regions:
            own = {pk for pk, _ in acked[r]}
            assert set(k[0] for k in scan_all(clients[r], table)) == own
        assert sum(emulator.pending().values()) == 2 * sum(len(a) for a in acked.values())
    finally:
        for r in regions:
            emulator.resume_replication(table, r)
    assert emulator.wait_replicated(60), emulator.pending()

    writes = sum(len(a) for a in acked.values())
    assert not failed and writes == 1000, failed[:3]
    final = {r: scan_all(clients[r], table) for r in regions}
    images = {r: {k[0]: item["v"]["S"] for k, item in final[r].items()} for r in regions}
    # Converged: every replica holds exactly the same items.
    assert images["eu-west-1"] == images["us-west-2"] == images["ap-southeast-2"]
    merged = images["us-west-2"]
    # Nothing acknowledged is lost: every acknowledged write to a unique item is there as written.
    unique = [(pk, v) for a in acked.values() for pk, v in a if pk not in hot]
    lost = [(pk, v) for pk, v in unique if merged.get(pk) != v]
    assert lost == [], f"lost: {len(lost)} of {len(unique)}"
    # Contended items end at one of their acknowledged values (last writer wins, no invention).
    for pk in hot:
        written = {v for a in acked.values() for p, v in a if p == pk}
        assert merged[pk] in written
    assert len(merged) == len(unique) + len(hot)
    print(f"pause test: {writes} writes in {len(regions)} regions in {elapsed:.1f}s, lost: {len(lost)}")


# --- a process killed while a function is throttled ------------------------------------------


def _deploy(endpoint: str, region: str, name: str, concurrency: int | None) -> None:
    iam = client(endpoint, "iam", region)
    try:
        role = iam.get_role(RoleName="gt-faults")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="gt-faults", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lam = client(endpoint, "lambda", region)
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()})
    if concurrency is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=concurrency)


def _concurrency(endpoint: str, region: str, name: str) -> int | None:
    resp = client(endpoint, "lambda", region).get_function_concurrency(FunctionName=name)
    return resp.get("ReservedConcurrentExecutions")


def _tags(endpoint: str, region: str, name: str) -> dict[str, str]:
    lam = client(endpoint, "lambda", region)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return lam.list_tags(Resource=arn).get("Tags", {})


# Runs in a child process: throttles the given regions through gtcore, says so, then waits to be
# killed (SIGKILL: no cleanup, no atexit, like a dashboard whose machine died). With
# die_before_set, it kills itself between recording the mark and changing the concurrency.
_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from gtcore.actions.throttle import throttle_region
    from gtcore.target import Connection, Target
    endpoint, table, die_before_set, target_regions, *regions = sys.argv[1:]
    conn = Connection(Target(regions=target_regions, table=table, endpoint=endpoint))
    if die_before_set == "1":
        for r in regions:
            conn.client("lambda", r).meta.events.register(
                "before-call.lambda.PutFunctionConcurrency",
                lambda **kw: os.kill(os.getpid(), signal.SIGKILL))
    for r in regions:
        throttle_region(conn, r)
    print("throttled", flush=True)
    time.sleep(120)
""")


def _run_child(endpoint: str, table: str, regions: list[str], *, die_before_set: bool,
               target_regions: tuple[str, ...] = REGIONS3) -> int:
    """Throttle ``regions`` in a child process, then SIGKILL it; returns its exit status."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, endpoint, table, "1" if die_before_set else "0",
         ",".join(target_regions), *regions],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    try:
        if not die_before_set:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == "throttled", child.stderr.read() if child.stderr else ""
            child.send_signal(signal.SIGKILL)
        return child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.slow
def test_killed_while_throttled_a_fresh_connection_finds_and_restores_exactly(private_emulator):
    emu = private_emulator
    table = "killed-while-throttled"
    name = f"{table}-dev"
    before = {"us-west-2": None, "eu-west-1": 7, "ap-southeast-2": 3}
    for region, value in before.items():
        _deploy(emu.endpoint, region, name, value)
    _deploy(emu.endpoint, "eu-west-1", "someone-elses-function", 5)

    rc = _run_child(emu.endpoint, table, ["us-west-2", "eu-west-1"], die_before_set=False)
    assert rc == -signal.SIGKILL
    assert _concurrency(emu.endpoint, "us-west-2", name) == 0
    assert _concurrency(emu.endpoint, "eu-west-1", name) == 0

    # The next start: a brand-new Connection (no state shared with the dead process).
    conn = Connection(Target(regions=tuple(before), table=table, endpoint=emu.endpoint))
    assert sorted(throttled_regions(conn)) == ["eu-west-1", "us-west-2"]
    marks = {s.region: s.previous for s in throttle_states(conn)}
    assert marks == {"us-west-2": "none", "eu-west-1": "7", "ap-southeast-2": None}

    results = restore_all(conn)  # one action
    assert not [r for r in results if isinstance(r, GtError)], results
    assert sorted(r.region for r in results) == ["eu-west-1", "us-west-2"]
    assert {r: _concurrency(emu.endpoint, r, name) for r in before} == before
    assert all(TAG not in _tags(emu.endpoint, r, name) for r in before)
    assert throttled_regions(conn) == []
    assert _concurrency(emu.endpoint, "eu-west-1", "someone-elses-function") == 5


@pytest.mark.slow
def test_killed_while_throttled_the_cli_shows_it_and_unthrottle_all_restores(private_emulator):
    emu = private_emulator
    table = "killed-cli"
    name = f"{table}-dev"
    before = {"us-west-2": 11, "eu-west-1": None, "ap-southeast-2": None}
    for region, value in before.items():
        _deploy(emu.endpoint, region, name, value)
    assert _run_child(emu.endpoint, table, ["us-west-2", "ap-southeast-2"],
                      die_before_set=False) == -signal.SIGKILL

    flags = ["--endpoint", emu.endpoint, "--regions", ",".join(before), "--table", table]
    cli = [sys.executable, "-m", "gtcore"]
    status = subprocess.run([*cli, "status", "--json", "--no-api", *flags], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    doc = json.loads(status.stdout)
    concurrency = {r["region"]: r["reserved_concurrency"] for r in doc["regions"]}
    assert concurrency == {"us-west-2": 0, "eu-west-1": None, "ap-southeast-2": 0}, status.stderr

    done = subprocess.run([*cli, "unthrottle", "--all", *flags], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "restored reserved concurrency 11" in done.stdout
    assert "restored unreserved" in done.stdout
    assert {r: _concurrency(emu.endpoint, r, name) for r in before} == before
    again = subprocess.run([*cli, "unthrottle", "--all", *flags], capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
    assert again.returncode == 0 and "nothing to restore" in again.stdout


@pytest.mark.slow
def test_killed_between_mark_and_throttle_leaves_nothing_changed_and_a_findable_mark(
        private_emulator):
    emu = private_emulator
    table = "killed-mid-throttle"
    name = f"{table}-dev"
    for region in REGIONS3:
        _deploy(emu.endpoint, region, name, 4 if region == "eu-west-1" else None)
    rc = _run_child(emu.endpoint, table, ["eu-west-1"], die_before_set=True)
    assert rc == -signal.SIGKILL
    # The mark was written first; the concurrency never changed.
    assert _tags(emu.endpoint, "eu-west-1", name).get(TAG) == "4"
    assert _concurrency(emu.endpoint, "eu-west-1", name) == 4
    conn = Connection(Target(regions=REGIONS3, table=table, endpoint=emu.endpoint))
    assert throttled_regions(conn) == ["eu-west-1"]  # a restore is pending: shown
    [change] = restore_all(conn)
    assert not isinstance(change, GtError) and change.changed is False
    assert _concurrency(emu.endpoint, "eu-west-1", name) == 4
    assert TAG not in _tags(emu.endpoint, "eu-west-1", name)
    assert throttled_regions(conn) == []


def test_probe_items_written_during_faults_carry_the_probe_key(emulator, unique_table):
    """Faults never make the probe write outside its own key space (left-overs are findable)."""
    regions = REGIONS3[:2]
    clients = make_global(emulator.endpoint, unique_table, regions)
    conn = Connection(Target(regions=regions, table=unique_table, endpoint=emulator.endpoint))
    emulator.isolate("us-west-2")
    try:
        _probe(conn, samples=2, timeout=0.3).run()
    finally:
        emulator.heal("us-west-2")
    assert emulator.wait_replicated(20)
    for r in regions:
        assert {k[0] for k in scan_all(clients[r], unique_table)} <= {PROBE_PK}
