"""`python -m gtcore.emulator [--port 4566] [--lag MODEL]`: the emulator alone, in the foreground.

It serves no regional API (``/_api/...`` answers 404): the emulator imports nothing from the
project using it. The workshop's launcher, ``python -m setup.emulator``, hands it the workshop's.
"""

from __future__ import annotations

import sys

from gtcore.emulator.program import main

if __name__ == "__main__":
    sys.exit(main())
