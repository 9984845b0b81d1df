"""The dashboard's embedded emulator: a child process of the server, one per server, shared by
every session, driven over HTTP, restartable from the sidebar, and gone when the server goes.

The first test runs the dashboard in process (AppTest); the others run `streamlit run
dashboard.py` as a user does, with sessions opened by Debian's chromium (skipped without it).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCHER = "setup.emulator"


def emulator_children(parent: int) -> list[int]:
    """Live (not zombie) processes whose parent is `parent` and that run the emulator launcher."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and LAUNCHER.encode() in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    parts += [x.label for x in at.expander]
    return "\n".join(str(p) for p in parts)


# --- in process --------------------------------------------------------------------------------


@pytest.fixture
def own_child(monkeypatch) -> Iterator[None]:
    """No GT_EMULATOR_URL: the dashboard starts its own emulator, as for a user; stopped after."""
    from ui import session

    monkeypatch.delenv("GT_EMULATOR_URL", raising=False)
    session._emulator_child.clear()
    yield
    session._emulator_child().stop()
    session._emulator_child.clear()


def test_sessions_share_one_child_emulator_and_restart_it_when_it_died(own_child) -> None:
    from ui.session import Choice

    choice = Choice(mode="emulator", regions=("us-west-2", "eu-west-1"),
                    table=f"gt-child-{uuid.uuid4().hex[:6]}")
    sessions = []
    for _ in range(2):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        at.session_state["gt_choice"] = choice
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        sessions.append(at)
    children = emulator_children(os.getpid())
    assert len(children) == 1, children
    ports = [re.findall(r"Emulator · running on port (\d+)", _texts(at)) for at in sessions]
    assert ports[0] and ports[0] == ports[1], ports
    assert "All 2 regions healthy" in _texts(sessions[1])
    assert "No region isolated" in _texts(sessions[0])

    st.cache_resource.clear()  # the menu's "Clear cache": the same emulator, not an empty new one
    sessions[1].run()
    assert emulator_children(os.getpid()) == children
    assert re.findall(r"Emulator · running on port (\d+)", _texts(sessions[1])) == ports[0]

    os.kill(children[0], signal.SIGKILL)
    wait_for(lambda: not alive(children[0]), 10, "the child to die")
    first = sessions[0]
    first.run()
    assert not first.exception, [e.value for e in first.exception]
    shown = _texts(first)
    assert "The local emulator stopped" in shown and "exited with code -9" in shown
    first.button(key="sidebar_emulator_restart").click().run()
    assert not first.exception, [e.value for e in first.exception]
    restarted = emulator_children(os.getpid())
    assert len(restarted) == 1 and restarted != children, restarted
    assert re.search(r"Emulator · running on port \d+", _texts(first))
    assert "All 2 regions healthy" in _texts(first)  # set up again on the new emulator
    sessions[1].run()
    assert re.findall(r"running on port (\d+)", _texts(sessions[1])) == \
        re.findall(r"running on port (\d+)", _texts(first))


def test_an_endpoint_in_the_config_file_is_used_and_nothing_is_started(emulator, tmp_path, monkeypatch) -> None:
    from ui import session

    config = tmp_path / "target.toml"
    config.write_text(f'endpoint = "{emulator.endpoint}"\ntable = "gt-conf-{uuid.uuid4().hex[:6]}"\n')
    monkeypatch.delenv("GT_EMULATOR_URL", raising=False)
    monkeypatch.delenv("GT_TARGET", raising=False)
    monkeypatch.setenv("GT_CONFIG", str(config))
    session._emulator_child.clear()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["gt_choice"].is_emulator
    shown = _texts(at)
    assert f"running on port {emulator.endpoint.rsplit(':', 1)[1]}" in shown
    assert "started outside the dashboard" in shown and "All 2 regions healthy" in shown
    assert emulator_children(os.getpid()) == []


def test_a_bad_emulator_url_is_a_message_and_starts_nothing(monkeypatch) -> None:
    from ui.session import Choice

    monkeypatch.setenv("GT_EMULATOR_URL", "127.0.0.1:4566")  # no scheme
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["gt_choice"] = Choice(mode="emulator")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "'127.0.0.1:4566' is not an emulator URL" in _texts(at)
    assert "The local emulator does not answer" in _texts(at)
    assert emulator_children(os.getpid()) == []


# --- `streamlit run dashboard.py` ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_servers_emulator_is_shared_by_sessions_and_stops_with_the_server(tmp_path, how) -> None:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "GTCORE_HOME": str(tmp_path)}
    for name in ("GT_TARGET", "GT_CONFIG", "GT_EMULATOR_URL"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    children: list[int] = []
    try:
        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    return True
            except OSError:
                assert server.poll() is None, "streamlit exited"
                return False

        wait_for(up, 60, "streamlit to answer")
        assert emulator_children(server.pid) == []  # started by the first session, not before
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            shown = []
            for _ in range(2):
                page = browser.new_page()
                page.goto(url)
                label = page.get_by_text(re.compile(r"Emulator · running on port \d+"))
                label.wait_for(timeout=90_000)
                shown.append(label.inner_text())
            browser.close()
        assert shown[0] == shown[1], shown
        children = emulator_children(server.pid)
        assert len(children) == 1, children
        server.send_signal(how)
        server.wait(timeout=30)
        wait_for(lambda: not alive(children[0]), 15, f"the emulator to stop after {how.name}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for pid in children:  # an emulator this test left behind (when it failed)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
