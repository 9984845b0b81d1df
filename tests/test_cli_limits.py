"""Each bad input of issue 9, point 7, through the real entry points (``python -m gtcore``,
``python -m setup`` in a subprocess): one line on stderr, exit 2, no traceback, nothing run.

The subprocesses get a 1.5 GB address-space limit, so a file that is read without bound fails
fast instead of eating the machine. Only loopback is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from gtcore.errors import ConfigError, GtError, scrub
from gtcore.target import Connection, Target

ROOT = Path(__file__).resolve().parents[1]
REGIONS = "us-west-2,eu-west-1"
CLOSED = "http://127.0.0.1:9"
PASSWORD = "Sup3r-s3cret-pw"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


def run(module: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GT_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout, preexec_fn=_limit_memory)


def assert_refused(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 2 and exactly one line on stderr, starting with "error:", holding ``words``."""
    where = f"rc={done.returncode} stderr={done.stderr[-1500:]!r} stdout={done.stdout[-500:]!r}"
    assert done.returncode == 2, where
    assert "Traceback" not in done.stderr + done.stdout, where
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), where
    assert "unexpected" not in lines[0], where
    for word in words:
        assert word in lines[0], where
    return lines[0]


@pytest.fixture
def workshop(emulator, unique_table) -> list[str]:
    from gtcore.workshop import provision_workshop

    conn = Connection(Target(regions=tuple(REGIONS.split(",")), table=unique_table,
                             endpoint=emulator.endpoint))
    assert provision_workshop(conn).ok
    return ["--endpoint", emulator.endpoint, "--regions", REGIONS, "--table", unique_table]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-config")
    made = {
        "deep.json": "[" * 100_000,
        "deep.toml": "regions = " + "[" * 100_000,
        "deep17.json": json.dumps({"regions": [[[[[[[[[[[[[[[[["us-west-2"]]]]]]]]]]]]]]]]]}),
        "big.json": " " * 2 * 1024 * 1024 + "{}",  # valid JSON, over the 1 MiB bound
    }
    for name, body in made.items():
        (d / name).write_text(body)
    os.mkfifo(d / "fifo")
    return {name: d / name for name in [*made, "fifo"]}


# --- config files ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deep.json", "deep.toml"])
def test_deeply_nested_config_is_one_line_exit_2_in_both_clis(files, name):
    words = ("nests lists or tables deeper than 16 levels", name)
    assert_refused(run("setup", "up", "--config", str(files[name]), "--endpoint", CLOSED), *words)
    assert_refused(run("gtcore", "status", "--config", str(files[name]), "--endpoint", CLOSED),
                   *words)


@pytest.mark.parametrize("path, words", [
    ("/dev/zero", "is not a regular file"),
    ("fifo", "is not a regular file"),
    ("big.json", "is larger than 1024 KiB"),
    ("/proc/self/mem", "cannot read config file /proc/self/mem"),
    ("/nonexistent/gt.toml", "cannot read config file"),
])
def test_config_files_are_bounded_and_regular(files, path, words):
    name = str(files[path]) if path in files else path
    # --endpoint: should a file get through by mistake, nothing goes beyond loopback.
    assert_refused(run("gtcore", "status", "--config", name, "--endpoint", CLOSED, timeout=30),
                   words)
    assert_refused(run("setup", "up", "--config", name, "--endpoint", CLOSED, timeout=30), words)


def test_config_depth_is_checked_after_parsing_too(files):
    from gtcore.config_file import read_settings

    with pytest.raises(ConfigError, match="deeper than 16 levels"):
        read_settings(files["deep17.json"])
    assert read_settings(files["deep17.json"], max_depth=18)["regions"]


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["probe", "--samples", "1e23"],
    ["probe", "--samples", "100000000000000000000000"],
    ["drill", "--seconds", "inf"],
    ["drill", "--seconds", "-1"],
    ["probe", "--max-lag-ms", "nan"],
    ["probe", "--max-lag-ms", "-5"],
    ["cloudwatch", "--window", "1e309"],
    ["conflict", "--trials", "0"],
    ["diff", "--settle=-inf"],
    ["conflict", "--amounts", "1," + "9" * 40],
    ["conflict", "--amounts", "1,nan"],
])
def test_numeric_flags_out_of_range_are_refused_before_anything_runs(argv):
    flag = argv[1].partition("=")[0]
    assert_refused(run("gtcore", *argv, "--endpoint", CLOSED), f"argument {flag}: must be")


def test_a_negative_drill_never_reports_passed(workshop):
    done = run("gtcore", "drill", "--seconds", "-1", *workshop)
    assert_refused(done, "--seconds")
    assert "PASSED" not in done.stdout.upper()


def test_setup_timeout_is_a_finite_positive_number():
    for bad in ("nan", "inf", "-1", "0", "1e9"):
        assert_refused(run("setup", "up", "--timeout", bad, "--endpoint", CLOSED), "--timeout")


def _number_actions(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _number_actions(sub, (*path, name))
        elif action.option_strings:
            yield path, action


def _parsers() -> dict[str, argparse.ArgumentParser]:
    from gtcore.cli import build_parser
    from setup.cli import _parser

    return {"gtcore": build_parser(), "setup": _parser()}


def test_every_numeric_flag_of_both_clis_is_range_checked_and_documented():
    from gtcore.cli.arguments import number

    checked = 0
    for cli, parser in _parsers().items():
        for path, action in _number_actions(parser):
            flag = action.option_strings[-1]
            assert action.type not in (int, float), f"{cli} {' '.join(path)} {flag}: unbounded"
            if type(action.type) is not type(number(0, 1)):
                continue
            checked += 1
            assert action.type.range_text in action.help, (cli, path, flag)
            for bad in ("nan", "inf", "-inf", "1e309", "1e23", "-1e23", "x", ""):
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type(bad)
            if action.default is not None:
                assert action.type(str(action.default)) == action.default, (cli, path, flag)
    assert checked >= 19  # cloudwatch 2, conflict 3, diff 4, drill 5, probe 4, setup 1
    amounts = next(a for _, a in _number_actions(_parsers()["gtcore"]) if "--amounts" in a.option_strings)
    assert amounts.type("1,-1") == (1, -1) and amounts.type.range_text in amounts.help
    for bad in ("1,1e40", "1,,2", "", "nan", "1,x"):
        with pytest.raises(argparse.ArgumentTypeError):
            amounts.type(bad)


def test_usage_errors_are_one_line():
    assert_refused(run("gtcore", "diff", "--segments", "many"), "--segments")
    assert_refused(run("gtcore", "nosuchcommand"), "invalid choice")
    assert_refused(run("setup", "sideways"), "invalid choice")
    assert_refused(run("setup", "up", "--endpoint", CLOSED, "--profile", "p"), "not allowed with")


# --- files to write --------------------------------------------------------------------------


@pytest.mark.parametrize("path, words", [
    ("/proc/self/mem", "is a device or a kernel file"),
    ("/dev/zero", "is a device or a kernel file"),
    ("/nonexistent/dir/h.json", "its directory does not exist"),
    (".", "exists and is not a regular file"),
    ("t" * 300 + ".json", "not a usable file name"),
])
def test_history_and_out_files_are_checked_before_the_run(workshop, path, words):
    for command in (["probe", "--samples", "1", "--history", path],
                    ["conflict", "--trials", "1", "--history", path],
                    ["drill", "--seconds", "1", "--history", path],
                    ["probe", "--samples", "1", "--out", path]):
        expected = words if command[-2] == "--history" or path.endswith(".json") else "use a .csv"
        done = run("gtcore", *command, *workshop)
        assert_refused(done, command[-2], expected)
        assert done.stdout == ""  # nothing ran


def test_a_write_that_fails_after_the_run_names_the_flag(workshop, tmp_path, monkeypatch):
    from gtcore.cli import main

    target = tmp_path / "h.json"
    monkeypatch.setattr("gtcore.history.History.to_json",
                        lambda self, path: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    rc = main(["probe", "--samples", "1", "--timeout", "2", "--history", str(target), *workshop])
    assert rc == 2


# --- credentials in URLs ---------------------------------------------------------------------


def test_endpoint_credentials_are_never_printed(workshop, emulator, tmp_path):
    endpoint = emulator.endpoint.replace("://", f"://operator:{PASSWORD}@")
    flags = [*workshop[2:], "--endpoint", endpoint]
    for argv in (["status", "--no-api"], ["status", "--no-api", "--json"],
                 ["diff", "--settle", "0"], ["throttle", "eu-west-1", "--read-only"],
                 ["throttle", "eu-west-1", "--json"], ["unthrottle", "--all", "--json"]):
        done = run("gtcore", *argv, *flags)
        assert PASSWORD not in done.stdout + done.stderr, argv
        assert done.returncode in (0, 1, 2) and "Traceback" not in done.stderr, (argv, done.stderr)
    status = run("gtcore", "status", "--no-api", "--json", *flags)
    assert json.loads(status.stdout)["target"].endswith(f"on endpoint {emulator.endpoint}")
    broken = f"http://operator:{PASSWORD}@[::1"
    assert PASSWORD not in assert_refused(run("gtcore", "status", "--endpoint", broken))
    assert PASSWORD not in assert_refused(run("setup", "up", "--endpoint", broken))
    conf = tmp_path / "gt.toml"
    conf.write_text(f'endpoint = "{endpoint}"\ntable = "{workshop[-1]}"\n')
    done = run("setup", "up", "--config", str(conf), "--regions", REGIONS)
    assert done.returncode == 0 and PASSWORD not in done.stdout + done.stderr, done.stderr


@pytest.mark.parametrize("text", [
    f"http://user:{PASSWORD}@127.0.0.1:4566/x",
    f"'https://{PASSWORD}@host.example'",
    f"could not connect to http://u:{PASSWORD}/x@127.0.0.1:9/ (raw slash in the password)",
])
def test_scrub_removes_url_credentials(text):
    clean = scrub(text)
    assert PASSWORD not in clean and "[redacted]@" in clean
    assert PASSWORD not in str(GtError(text, hint=text))


def test_credentials_are_dropped_from_the_endpoint_itself():
    target = Target(regions=("us-west-2",), endpoint=f"http://u:{PASSWORD}@127.0.0.1:4566/")
    assert target.endpoint == "http://127.0.0.1:4566"
    assert PASSWORD not in target.describe() and PASSWORD not in repr(Connection(target))


# --- profiles --------------------------------------------------------------------------------


def test_unknown_profile_is_exit_2_before_anything_runs():
    words = ("no-such-profile-gt", "--profile")
    assert_refused(run("gtcore", "status", "--profile", "no-such-profile-gt"), *words)
    assert_refused(run("gtcore", "throttle", "eu-west-1", "--profile", "no-such-profile-gt"), *words)
    assert_refused(run("setup", "up", "--profile", "no-such-profile-gt"), *words)
