"""The emulator as a component with one boundary: what it imports, what its clients load, who
defines the constants, and how its process is started, tuned and stopped."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gtcore.emulator.client import EmulatorControl, start_emulator_process
from gtcore.emulator.errors import EmulatorError
from gtcore.errors import GtError

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIRS = ("gtcore", "setup", "ui", "pages", "bench", "scripts")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at any depth (functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _project_files() -> list[Path]:
    files = [ROOT / "dashboard.py"]
    for name in PROJECT_DIRS:
        files += sorted((ROOT / name).rglob("*.py"))
    return files


def test_the_emulator_imports_nothing_from_setup_ui_or_pages() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}: {module}"
           for path in sorted((ROOT / "gtcore" / "emulator").rglob("*.py"))
           for line, module in _imports(path)
           if module.split(".")[0] in ("setup", "ui", "pages")]
    assert bad == []


def test_ui_and_pages_never_use_the_in_process_emulator() -> None:
    """The dashboard drives its emulator over HTTP only (EmulatorControl), as the CLI does."""
    files = [ROOT / "dashboard.py", *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]
    heavy = ("gtcore.emulator.Emulator", "gtcore.emulator.server", "gtcore.emulator.HOST")
    bad = [f"{path.relative_to(ROOT)}:{line}: {module}" for path in files
           for line, module in _imports(path) if module.startswith(heavy)]
    assert bad == []
    for path in files:
        assert "Emulator(" not in path.read_text(), path  # no Emulator object built there either


@pytest.mark.parametrize("modules", [
    "gtcore.emulator.client",
    "gtcore.emulator.child, gtcore.emulator.errors, gtcore.emulator, setup.emulator",
    "ui.session, ui.sidebar, ui.failure_view",  # everything the dashboard loads to drive one
])
def test_emulator_clients_load_without_moto(modules: str) -> None:
    code = (f"import sys, {modules}; loaded = sorted(m for m in sys.modules if m.startswith('moto')); "
            "assert not loaded, loaded")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_package_still_offers_emulator_on_first_use() -> None:
    from gtcore.emulator import HOST, Emulator
    from gtcore.emulator.server import Emulator as Defined

    assert Emulator is Defined and HOST == "127.0.0.1"
    with pytest.raises(AttributeError):
        import gtcore.emulator as package

        package.Nothing  # noqa: B018


def test_shared_constants_are_defined_once() -> None:
    homes = {"FUNCTION_NAME": "gtcore/target.py", "CREATED_BY": "gtcore/workshop/tags.py",
             "ACCOUNT_ID": "gtcore/emulator/store.py"}
    defined: dict[str, list[str]] = {name: [] for name in homes}
    for path in _project_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            for target in targets:
                if isinstance(target, ast.Name) and target.id in defined:
                    defined[target.id].append(str(path.relative_to(ROOT)))
    assert defined == {name: [home] for name, home in homes.items()}
    literals = {"global-serverless-dev": "gtcore/target.py", "gtcore-setup": "gtcore/workshop/tags.py"}
    for literal, home in literals.items():
        where = [str(p.relative_to(ROOT)) for p in _project_files()
                 if any(isinstance(n, ast.Constant) and n.value == literal
                        for n in ast.walk(ast.parse(p.read_text())))]
        assert where == [home], literal


def test_starting_an_emulator_leaves_the_hosting_process_settings_alone() -> None:
    """Switch interval and gc freeze are the emulator process's own (gtcore.emulator.program);
    a process that hosts an Emulator object (a test, a benchmark) keeps its settings."""
    code = ("import gc, sys; from gtcore.emulator import Emulator; before = sys.getswitchinterval(); "
            "emu = Emulator(port=0, lag='fixed:10').start(); "
            "assert sys.getswitchinterval() == before, sys.getswitchinterval(); "
            "assert gc.get_freeze_count() == 0, gc.get_freeze_count(); emu.stop()")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_launcher_reports_a_busy_port_in_one_line() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "setup.emulator", "--port", str(port)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and f"127.0.0.1:{port}" in done.stderr


def test_the_emulator_alone_serves_no_regional_api_and_stops_when_its_stdin_closes() -> None:
    emu = start_emulator_process("gtcore.emulator", "fixed:10", cwd=ROOT)
    try:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"{emu.endpoint}/_api/us-west-2/api/", timeout=10)
        assert answer.value.code == 404
        assert "serves no regional API" in json.loads(answer.value.read())["message"]
        assert emu.state()["lag"] == "fixed:10"
        assert emu.process.stdin is not None
        emu.process.stdin.close()  # what the OS does when the parent dies, even by SIGKILL
        assert emu.process.wait(timeout=15) == 0
        assert not emu.running
    finally:
        emu.stop()


def test_a_launcher_that_fails_to_start_is_one_error_with_its_last_words() -> None:
    with pytest.raises(EmulatorError, match="No module named") as failed:
        start_emulator_process("setup.no_such_launcher", cwd=ROOT)
    assert isinstance(failed.value, GtError)  # the UI and CLI show it as any other error


class _NotTheEmulator(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b"<html>a web page</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_control_client_says_when_something_else_answers() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTheEmulator)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(EmulatorError, match="something other than the emulator's control API"):
            EmulatorControl(f"http://127.0.0.1:{server.server_address[1]}").state()
    finally:
        server.shutdown()
        server.server_close()
    closed = f"http://127.0.0.1:{server.server_address[1]}"
    started = time.monotonic()
    with pytest.raises(EmulatorError, match="not answering"):
        EmulatorControl(closed).state()
    assert time.monotonic() - started < 5
