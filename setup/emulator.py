"""`python -m setup.emulator [--port 4566] [--lag MODEL]`: the local emulator with the workshop's
regional API, in the foreground.

The emulator (gtcore.emulator) imports nothing from this tree: this launcher is where the two
meet. It hands the emulator the regional API's code (``api/chalicelib/routes.py``, the app every
region's Lambda function runs) and starts it. The dashboard runs it as its child process, tests
and benchmarks through :func:`spawn`.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from gtcore.emulator.client import EmulatorProcess, spawn_emulator

if TYPE_CHECKING:
    from gtcore.emulator.regional_api import FunctionCode

MODULE = "setup.emulator"  # what `python -m` runs


def regional_api() -> FunctionCode:
    """The workshop's regional API, as the emulator's Lambda functions run it."""
    from gtcore.emulator.regional_api import FunctionCode
    from setup.api.chalicelib.routes import APP_NAME, ROUTES, create_app

    return FunctionCode(app_name=APP_NAME, routes=ROUTES, create_app=create_app)


def spawn(lag: str = "fixed:100", *, replica_create_seconds: float = 0.2,
          startup_timeout: float = 30.0) -> AbstractContextManager[EmulatorProcess]:
    """This emulator in a subprocess for a ``with`` block (its own moto state)."""
    return spawn_emulator(lag, module=MODULE, replica_create_seconds=replica_create_seconds,
                          startup_timeout=startup_timeout)


def main(argv: list[str] | None = None) -> int:
    from gtcore.emulator.program import main as run

    return run(argv, regional_api=regional_api(), prog=f"python -m {MODULE}")


if __name__ == "__main__":
    sys.exit(main())
