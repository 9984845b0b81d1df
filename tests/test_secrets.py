"""Credentials and session tokens never show: not in CLI output (human or --json), error
messages, exceptions, exported histories and results, the dashboard, or the emulator's output.

The fake credentials are recognisable. The worst case is an endpoint that echoes them back:
``echo_server`` answers every AWS request with an error whose message repeats the request's
Authorization header (which holds the access key id) and its session token, as a careless
service or proxy might. Everything gtcore shows must still be free of them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gtcore.emulator.client import OUTPUT_KEPT
from gtcore.errors import GtError
from gtcore.target import Connection, Target

ROOT = Path(__file__).resolve().parents[1]
KEY_ID = "AKIAFAKESECRET1234567"
SECRET = "SeCrEtKeYfAkE0123456789abcdefghijklmnopq"  # 40 characters, like a real secret key
TOKEN = "SeCrEtToKeN" + "IQoJb3JpZ2luX2VjEFAaCXVzLXdlc3QtMiJHMEUCIQDf" * 6 + "+/Aw=="
NEEDLES = (KEY_ID, "FAKESECRET1234567", SECRET, "SeCrEtKeY", "SeCrEtToKeN", TOKEN[20:60])
REGIONS = ("us-west-2", "eu-west-1")
SECRET_ENV = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
              "AWS_SESSION_TOKEN": TOKEN}


def assert_clean(text: str, where: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"{needle[:12]}... appears in {where}: {text[:2000]!r}"


# --- an endpoint that echoes credentials -------------------------------------------------------


def _cbor_text(s: str) -> bytes:
    data = s.encode()
    n = len(data)
    if n < 24:
        return bytes([0x60 + n]) + data
    if n < 256:
        return bytes([0x78, n]) + data
    return bytes([0x79]) + n.to_bytes(2, "big") + data


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        token = self.headers.get("X-Amz-Security-Token", "")
        m = re.search(r"Credential=([^/]+)/", auth)
        message = (f"The security token included in the request is invalid. Authorization: {auth}; "
                   f"X-Amz-Security-Token: {token}; access key {m.group(1) if m else '-'}; "
                   f"token={token} (copy:{token})")
        if self.path.startswith("/_api/"):  # the regional API: no credentials to echo
            self._send(503, "application/json", json.dumps({"message": "unavailable"}).encode())
        elif self.headers.get("smithy-protocol") == "rpc-v2-cbor":
            payload = (b"\xa2" + _cbor_text("__type") + _cbor_text("UnrecognizedClientException")
                       + _cbor_text("message") + _cbor_text(message))
            self._send(400, "application/cbor", payload, {"smithy-protocol": "rpc-v2-cbor"})
        elif self.headers.get("X-Amz-Target"):
            doc = {"__type": "com.amazonaws.dynamodb.v20120810#UnrecognizedClientException",
                   "message": message}
            self._send(400, "application/x-amz-json-1.0", json.dumps(doc).encode())
        elif b"Action=" in body:  # query protocol (STS, IAM)
            xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                   f"<Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>")
            self._send(403, "text/xml", xml.encode())
        else:  # rest-json (Lambda)
            self._send(403, "application/json", json.dumps({"message": message}).encode(),
                       {"x-amzn-ErrorType": "UnrecognizedClientException"})

    def _send(self, status: int, ctype: str, payload: bytes,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_env(monkeypatch) -> dict[str, str]:
    for k, v in SECRET_ENV.items():
        monkeypatch.setenv(k, v)
    return SECRET_ENV


def test_the_echo_server_really_echoes_the_credentials(echo_server, secret_env):
    """Without scrubbing the secrets would show: the raw botocore error carries them."""
    conn = Connection(Target(regions=REGIONS, endpoint=echo_server))
    ddb = conn.client("dynamodb", "us-west-2")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:  # straight from botocore, before gtcore maps it
        ddb.describe_table(TableName="x")
    raw = str(info.value)
    assert raw is not None and KEY_ID in raw and TOKEN in raw


# --- in process: every gtcore function and CLI command against the echo server ----------------


def _gtcore_calls(conn: Connection) -> dict[str, Any]:
    from gtcore.actions.throttle import restore_all, throttle_region, throttle_states
    from gtcore.experiments.lag_probe import LagProbe, ProbeConfig, all_pairs
    from gtcore.probes.cloudwatch import replication_latency
    from gtcore.probes.diff import diff_replicas
    from gtcore.probes.status import table_status

    def probe() -> Any:
        run = LagProbe(conn, ProbeConfig(pairs=all_pairs(REGIONS), samples=1, timeout=0.3))
        run.start()
        run.wait(20)
        return run

    return {
        "status": lambda: table_status(conn, count=True),
        "cloudwatch": lambda: replication_latency(conn, window=600),
        "diff": lambda: diff_replicas(conn, settle_seconds=0),
        "throttle": lambda: throttle_region(conn, "eu-west-1"),
        "states": lambda: throttle_states(conn),
        "restore": lambda: restore_all(conn),
        "identity": conn.identity,
        "probe": probe,
    }


def _shown(result: Any) -> str:
    """Everything a caller could show from a result: its dict/JSON form and repr."""
    parts = [repr(result)]
    for attr in ("to_dict", "to_json"):
        fn = getattr(result, attr, None)
        if callable(fn):
            with contextlib.suppress(TypeError):
                parts.append(json.dumps(fn(), default=str) if attr == "to_dict" else fn())
    history = getattr(result, "history", None)
    if history is not None:
        parts += [history.to_json(), history.to_csv()]
    return "\n".join(parts)


def test_gtcore_functions_never_show_credentials(echo_server, secret_env):
    conn = Connection(Target(regions=REGIONS, endpoint=echo_server))
    errors = 0
    for name, call in _gtcore_calls(conn).items():
        try:
            result = call()
        except GtError as err:
            errors += 1
            assert_clean(str(err), f"{name}: str(error)")
            assert_clean(repr(err), f"{name}: repr(error)")
            assert_clean(json.dumps(err.to_dict()), f"{name}: error.to_dict()")
            assert "credentials rejected" in str(err), (name, str(err))
            continue
        shown = _shown(result)
        assert "credentials rejected" in shown, (name, shown[:500])  # the error is there...
        assert_clean(shown, f"{name}: result")  # ... without the secrets
    assert errors >= 3


def _run(main: Any, argv: list[str], **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv, **kw)
        except SystemExit as stop:
            rc = stop.code if isinstance(stop.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


GTCORE_COMMANDS = [
    ["status"], ["status", "--count"], ["cloudwatch"], ["diff", "--settle", "0"],
    ["throttle", "eu-west-1"], ["unthrottle", "--all"], ["unthrottle", "us-west-2"],
    ["probe", "--samples", "1", "--timeout", "0.3", "--out", "{tmp}/p.json",
     "--history", "{tmp}/ph.json"],
    ["conflict", "--trials", "1", "--timeout", "0.5", "--out", "{tmp}/c.json",
     "--history", "{tmp}/ch.json"],
]  # (the drill talks to the regional API only, which never sees credentials; it is run
#    against the emulator below, where it can finish)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
@pytest.mark.slow
def test_cli_output_and_exports_never_show_credentials(echo_server, secret_env, tmp_path,
                                                        json_flag):
    from gtcore.cli import main
    from setup.cli import main as setup_main

    flags = ["--endpoint", echo_server, "--regions", ",".join(REGIONS), *json_flag]
    shown = 0
    for command in GTCORE_COMMANDS:
        argv = [part.format(tmp=tmp_path) for part in command] + flags
        rc, out, err = _run(main, argv)
        assert_clean(out + err, f"{argv}")
        assert rc != 0, (argv, out, err)
        shown += "credentials rejected" in out + err
    for command in (["up"], ["down", "--force"]):
        rc, out, err = _run(setup_main, [*command, "--endpoint", echo_server, *json_flag])
        assert rc != 0 and "credentials rejected" in out + err, (command, out, err)
        assert_clean(out + err, f"setup {command}")
    assert shown >= 6
    for path in tmp_path.iterdir():
        assert_clean(path.read_text(), f"exported {path.name}")


# --- against a real emulator: successful runs, exports, and the emulator's own output ----------


@pytest.fixture
def workshop(make_emulator, secret_env):
    from gtcore.workshop import provision_workshop

    emu = make_emulator()
    conn = Connection(Target(regions=REGIONS, endpoint=emu.endpoint))
    assert provision_workshop(conn).ok
    return emu


@pytest.mark.slow
def test_successful_runs_and_their_exports_never_show_credentials(workshop, secret_env,
                                                                   tmp_path):
    from gtcore.cli import main
    from gtcore.experiments.conflict import ConflictConfig, ConflictLab
    from gtcore.experiments.drill import DrillConfig, FailoverDrill
    from gtcore.experiments.lag_probe import LagProbe, ProbeConfig, all_pairs

    emu = workshop
    conn = Connection(Target(regions=REGIONS, endpoint=emu.endpoint))
    probe = LagProbe(conn, ProbeConfig(pairs=all_pairs(REGIONS), samples=2, timeout=5))
    probe.run()
    lab = ConflictLab(conn, ConflictConfig(trials=1))
    lab.run()
    drill = FailoverDrill(conn, DrillConfig(video="09", interval=0.1))
    drill.run(0.6)
    for name, text in {
        "probe json": probe.to_json(include_history=True), "probe csv": probe.to_csv(),
        "probe history csv": probe.history.to_csv(),
        "conflict json": lab.to_json(include_history=True), "conflict csv": lab.to_csv(),
        "drill json": drill.to_json(), "drill history": drill.history.to_csv(),
    }.items():
        assert_clean(text, name)
    flags = ["--endpoint", emu.endpoint, "--regions", ",".join(REGIONS)]
    for argv in (["status", "--json"], ["status"], ["throttle", "eu-west-1", "--json"],
                 ["unthrottle", "--all"], ["diff", "--settle", "0.1", "--json"],
                 ["probe", "--samples", "1", "--history", str(tmp_path / "h.json")],
                 ["drill", "--seconds", "0.6", "--interval", "0.1", "--video", "10", "--json",
                  "--history", str(tmp_path / "d.json")]):
        rc, out, err = _run(main, [*argv, *flags])
        assert rc == 0, (argv, out, err)
        assert_clean(out + err, f"{argv}")
    assert_clean((tmp_path / "h.json").read_text(), "probe --history")
    assert_clean((tmp_path / "d.json").read_text(), "drill --history")
    # The emulator process saw signed requests with these credentials: it must not print them.
    emu.stop()
    printed = emu.output()  # stdout and stderr, to the end
    assert 2 <= len(printed) < OUTPUT_KEPT, printed  # its start lines, and nothing dropped
    assert_clean("\n".join(printed), "the emulator's output")


# --- real processes: python -m gtcore / python -m setup with secrets in env and a profile -------


def _python_m(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.mark.slow
def test_processes_with_secrets_in_env_and_profile_never_print_them(echo_server, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GT_"))}
    base.update(PYTHONPATH=str(ROOT), AWS_EC2_METADATA_DISABLED="true",
                AWS_CONFIG_FILE=str(tmp_path / "config"),
                AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
                GTCORE_HOME=str(tmp_path / "home"))
    (tmp_path / "config").write_text("[profile fakeprof]\nregion = us-west-2\n")
    (tmp_path / "credentials").write_text(
        f"[fakeprof]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {TOKEN}\n")

    env_secrets = {**base, **SECRET_ENV}
    runs = [
        (["gtcore", "status", "--endpoint", echo_server], env_secrets),
        (["gtcore", "throttle", "eu-west-1", "--json", "--endpoint", echo_server], env_secrets),
        (["setup", "up", "--endpoint", echo_server], env_secrets),
        # Real AWS with a profile: every request goes to a proxy on loopback that is not there,
        # so nothing leaves the machine; the failure must not print the profile's keys.
        (["gtcore", "status", "--profile", "fakeprof", "--regions", "us-west-2", "--no-api"],
         {**base, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
          "NO_PROXY": ""}),
        (["gtcore", "status", "--profile", "nosuchprofile", "--json"], base),
    ]
    for args, env in runs:
        done = _python_m(args, env, tmp_path)
        assert done.returncode != 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert_clean(done.stdout + done.stderr, f"python -m {' '.join(args[:2])}")
    assert not (tmp_path / "home").exists() or all(
        KEY_ID not in p.read_text() for p in (tmp_path / "home").rglob("*") if p.is_file())


# --- the dashboard --------------------------------------------------------------------------


def _all_text(node: Any) -> Iterator[str]:
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield str(proto)
    for child in getattr(node, "children", {}).values():
        yield from _all_text(child)


@pytest.mark.slow
def test_dashboard_pages_never_show_credentials(echo_server, secret_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui import session
    from ui.session import Choice

    monkeypatch.setenv("GT_EMULATOR_URL", echo_server)  # "the emulator" is the echo server
    try:
        choice = Choice(mode="emulator", regions=REGIONS, table="global-serverless")
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
        at.session_state["gt_choice"] = choice
        at.run()
        seen = []
        for page in [None, "pages/region_failure.py", "pages/data_explorer.py",
                     "pages/cloudwatch.py", "pages/setup.py"]:
            if page is not None:
                at.switch_page(page).run()
            assert not at.exception, [e.value for e in at.exception]
            text = "\n".join(_all_text(at._tree))
            assert_clean(text, f"dashboard page {page or 'home'}")
            seen.append(text)
        assert "credentials rejected" in "\n".join(seen)  # the errors were shown...
    finally:
        session._connection.clear()
