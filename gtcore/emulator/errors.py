"""The emulator's one error type, in a module of its own so HTTP clients load without moto."""

from __future__ import annotations

from gtcore.errors import GtError


class EmulatorError(GtError):
    """The emulator could not start, stopped, or was used wrongly; the message says what to do."""
