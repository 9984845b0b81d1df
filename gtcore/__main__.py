"""``python -m gtcore``: the command line (see :mod:`gtcore.cli`)."""

from gtcore.cli import main

raise SystemExit(main())
