"""Checking an experiment's configuration: each rule is a (holds, message) pair."""

from __future__ import annotations

from collections.abc import Iterable

from gtcore.errors import ConfigError


def require(rules: Iterable[tuple[bool, str]]) -> None:
    """Raise :class:`~gtcore.errors.ConfigError` with the message of the first rule broken."""
    for ok, message in rules:
        if not ok:
            raise ConfigError(message)
