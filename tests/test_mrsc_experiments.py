"""The conflict lab, the failover drill, the probe and status on an MREC and an MRSC table, each
in its own private emulator (realistic lag: MREC replicates in 0.5-2.5 s, MRSC writes wait for the
nearest other Region's round trip)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gtcore.cli import main
from gtcore.experiments.conflict import ConflictConfig, ConflictLab
from gtcore.experiments.drill import DrillConfig, FailoverDrill
from gtcore.target import Connection, Target
from gtcore.workshop import provision_workshop

US = ("us-west-2", "us-east-1", "us-east-2")
pytestmark = pytest.mark.slow


def _workshop(consistency: str) -> Iterator[tuple[Any, Connection]]:
    from setup.emulator import spawn

    with spawn("realistic", replica_create_seconds=0.2) as emu:
        conn = Connection(Target(regions=US, endpoint=emu.endpoint))
        report = provision_workshop(conn, consistency=consistency)
        assert report.ok, report.to_dict()
        yield emu, conn
        conn.close()


@pytest.fixture(scope="module")
def mrec() -> Iterator[tuple[Any, Connection]]:
    yield from _workshop("EVENTUAL")


@pytest.fixture(scope="module")
def mrsc() -> Iterator[tuple[Any, Connection]]:
    yield from _workshop("STRONG")


def test_conflict_lab_mrec_loses_a_write_silently(mrec) -> None:
    _, conn = mrec
    lab = ConflictLab(conn, ConflictConfig(trials=3))
    lab.run()
    summary = lab.summary()
    assert summary["consistency"] == "MREC" and summary["conflicts"] == 3
    assert summary["lost_writes"] == 3 * (len(US) - 1) and summary["writes_rejected"] == 0
    assert "silently lost" in summary["said"]
    assert json.loads(lab.to_json())["mode"]["consistency"] == "MREC"


def test_conflict_lab_mrsc_rejects_and_retries_losing_nothing(mrsc) -> None:
    _, conn = mrsc
    lab = ConflictLab(conn, ConflictConfig(trials=3))
    results = lab.run()
    summary = lab.summary()
    assert summary["consistency"] == "MRSC" and summary["conflicts"] == 3
    assert summary["writes_rejected"] >= 3 and summary["lost_writes"] == 0
    assert all(r.converged and r.lww != "violation" and r.acked == len(US) for r in results)
    assert "ReplicatedWriteConflictException" in summary["said"]
    assert summary["write_latency_ms_p50"] > 0 and summary["write_latency_ms_p99"] >= summary["write_latency_ms_p50"]
    assert json.loads(lab.to_json())["trials"][0]["rejected"] >= 1


def _drill_through_an_outage(emu: Any, conn: Connection) -> Any:
    drill = FailoverDrill(conn, DrillConfig(interval=0.1, health_every=3))

    def outage() -> None:
        time.sleep(1.0)
        emu.isolate("us-west-2")
        time.sleep(1.5)
        emu.heal("us-west-2")

    fault = threading.Thread(target=outage, daemon=True)
    drill.start()
    fault.start()
    fault.join()
    time.sleep(1.0)
    drill.stop()
    assert drill.wait(60)
    assert drill.verdict is not None
    return drill.verdict


def test_drill_mrec_failover_region_is_behind(mrec) -> None:
    verdict = _drill_through_an_outage(*mrec)
    assert verdict.consistency == "MREC" and verdict.failovers
    assert verdict.failover_lost > 0 and verdict.failover_rpo_ms > 0, verdict.describe()
    assert verdict.rto_ms is not None and "behind" in verdict.said


def test_drill_mrsc_failover_region_holds_the_last_write(mrsc) -> None:
    verdict = _drill_through_an_outage(*mrsc)
    assert verdict.consistency == "MRSC" and verdict.failovers
    assert verdict.failover_lost == 0 and verdict.failover_rpo_ms == 0, verdict.describe()
    assert verdict.passed and verdict.lost_acked == 0 and verdict.rto_ms is not None
    assert "RPO 0" in verdict.said and verdict.to_dict()["said"] == verdict.said


def test_probe_on_mrsc_reports_visibility_not_lag(mrsc, capsys) -> None:
    emu, _ = mrsc
    argv = ["--endpoint", emu.endpoint, "--regions", ",".join(US), "probe", "--samples", "3", "--rate", "20"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"]["consistency"] == "MRSC" and out["kind"] == "read-after-write-visibility"
    assert len(out["summary"]) == 6
    assert all(row["visible"] == row["samples"] == 3 and row["write_p50_ms"] > 0 for row in out["summary"])
    assert main(argv) == 0
    assert "no replication lag to measure" in capsys.readouterr().out


def test_probe_on_mrec_still_measures_lag(mrec, capsys) -> None:
    emu, _ = mrec
    assert main(["--endpoint", emu.endpoint, "--regions", ",".join(US), "probe", "--samples", "2", "--json",
                 "--pairs", "us-west-2:us-east-1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"]["consistency"] == "MREC" and out["kind"] == "replication-lag"


def test_status_shows_the_mode(mrsc, mrec, capsys) -> None:
    for (emu, _), mode in ((mrsc, "STRONG"), (mrec, "EVENTUAL")):
        main(["--endpoint", emu.endpoint, "--regions", ",".join(US), "status", "--json", "--no-api"])
        regions = json.loads(capsys.readouterr().out)["regions"]
        assert {r["consistency"] for r in regions} == {mode}
        main(["--endpoint", emu.endpoint, "--regions", ",".join(US), "status", "--no-api"])
        assert f"{mode} (M{'RSC' if mode == 'STRONG' else 'REC'})" in capsys.readouterr().out


def test_conflict_cli_json_carries_the_mode(mrsc, capsys) -> None:
    emu, _ = mrsc
    assert main(["--endpoint", emu.endpoint, "--regions", ",".join(US), "conflict", "--trials", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"]["consistency"] == "MRSC" and out["summary"]["lost_writes"] == 0
