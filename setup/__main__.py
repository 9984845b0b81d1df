"""`python -m setup up|down` (see setup/cli.py)."""

import sys

from setup.cli import main

sys.exit(main())
