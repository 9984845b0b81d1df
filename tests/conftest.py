"""Shared fixtures: an embedded emulator for the session, and no way for a test to reach AWS."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

# Tests never leave this machine: dummy credentials, no profile, no instance metadata lookups.
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
              "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-west-2",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    AWS_EC2_METADATA_DISABLED="true",
)

from gtcore.emulator import Emulator  # noqa: E402
from gtcore.emulator.client import EmulatorProcess  # noqa: E402
from gtcore.emulator.server import tune_process  # noqa: E402
from setup.emulator import regional_api, spawn  # noqa: E402

FIXED_LAG = "fixed:100"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """The in-process emulator shared by the session (lag fixed:100), serving the workshop's
    regional API. Use `unique_table` names; a test that changes the lag or faults must put them
    back. It tunes the test process as the emulator's own process is tuned (switch interval, gc
    freeze), so timing assertions see the lag an emulator process delivers."""
    tune_process()
    emu = Emulator(port=0, lag=FIXED_LAG, replica_create_seconds=0.2, ttl_interval=0.5,
                   metrics_interval=0.5, seed=7, regional_api=regional_api()).start()
    yield emu
    emu.stop()


@pytest.fixture
def unique_table() -> str:
    return f"gt-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., EmulatorProcess]]:
    """Factory for a private emulator in a subprocess (`python -m setup.emulator`, its own moto
    state), stopped at teardown."""
    stack: list = []

    def factory(lag: str = FIXED_LAG, replica_create_seconds: float = 0.2) -> EmulatorProcess:
        cm = spawn(lag, replica_create_seconds=replica_create_seconds)
        emu = cm.__enter__()
        stack.append(cm)
        return emu

    yield factory
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


OFFLINE_PROFILE = "gt-offline"


@pytest.fixture
def offline_aws_profile(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:  # noqa: ANN001
    """An AWS profile with made-up keys, every AWS endpoint a closed loopback port: an AWS
    target that has credentials (so pages draw) and whose calls fail at once, on this machine."""
    import socket

    config = tmp_path / "aws-config"
    config.write_text(f"[profile {OFFLINE_PROFILE}]\naws_access_key_id = made-up\n"
                      "aws_secret_access_key = made-up\nregion = us-west-2\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return OFFLINE_PROFILE
