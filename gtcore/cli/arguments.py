"""What the command lines (``python -m gtcore``, ``python -m setup``) accept, checked in one place.

* :class:`OneLineParser`: argparse, but a usage error is one line on stderr (exit 2), like every
  other error of these commands.
* :func:`number`: the ``type=`` of every numeric flag: finite, within a documented range, else a
  usage error. ``nan``, ``inf``, ``-5`` or ``1e23`` never reach a command. :func:`numbers` is
  the same for a comma-separated list.
* :func:`output_file`: the ``type=`` of every flag naming a file to write (``--out``,
  ``--history``), checked before a run starts rather than failing (or writing into a device)
  after it.
* :func:`document_ranges`: appends each numeric flag's range to its ``--help`` text.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

__all__ = ["OneLineParser", "document_ranges", "number", "numbers", "output_file"]

_KERNEL_TREES = ("/proc/", "/sys/", "/dev/")
_NAME_MAX = 255


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``error: <what> (see <prog> --help)``."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {' '.join(message.split())} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


class _Number:
    """A finite number in [low, high] (``low`` itself excluded when ``above`` is set)."""

    def __init__(self, low: float, high: float, *, integer: bool, above: bool) -> None:
        self.low, self.high, self.integer, self.above = low, high, integer, above
        self.__name__ = "whole number" if integer else "number"  # argparse names the type so

    @property
    def range_text(self) -> str:
        def fmt(x: float) -> str:
            return f"{x:,}" if float(x).is_integer() else str(x)

        kind = "a whole number" if self.integer else "a number"
        if self.above:
            return f"{kind} above {fmt(self.low)}, at most {fmt(self.high)}"
        return f"{kind} from {fmt(self.low)} to {fmt(self.high)}"

    def __call__(self, text: str) -> int | float:
        try:
            value: float = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (value > self.low if self.above else value >= self.low)
        ok = ok and value <= self.high and (not self.integer or value.is_integer())
        if self.integer and ok:
            try:
                return int(text)
            except ValueError:  # "1e3", "10.0": a whole number, written otherwise
                ok = False
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {self.range_text}, got {text!r}")
        return value


def number(low: float, high: float, *, integer: bool = False,
           above: bool = False) -> Callable[[str], int | float]:
    """``type=`` for a numeric flag: a finite number from ``low`` (or just above it, with
    ``above``) to ``high``; whole numbers only with ``integer``."""
    return _Number(low, high, integer=integer, above=above)


class _Numbers:
    """Comma-separated numbers, each checked by a :class:`_Number`."""

    def __init__(self, item: _Number) -> None:
        self.item = item
        self.__name__ = f"list of {item.__name__}s"
        self.range_text = f"comma-separated, each {item.range_text}"

    def __call__(self, text: str) -> tuple[int | float, ...]:
        parts = [part.strip() for part in text.split(",")]
        if not any(parts):
            raise argparse.ArgumentTypeError(f"must be {self.range_text}, got {text!r}")
        try:
            return tuple(self.item(part) for part in parts)
        except argparse.ArgumentTypeError as err:
            raise argparse.ArgumentTypeError(f"{err} in {text[:80]!r}") from None


def numbers(low: float, high: float, *, integer: bool = False) -> Callable[[str], tuple[int | float, ...]]:
    """``type=`` for a comma-separated list of numbers (``"1,-1"``), each as :func:`number`."""
    return _Numbers(_Number(low, high, integer=integer, above=False))


def output_file(*suffixes: str) -> Callable[[str], str]:
    """``type=`` for a flag naming a file to write: ends in one of ``suffixes``, sits in an
    existing directory, and is a regular file if it exists (never a device, FIFO or a file of
    the kernel's trees /proc, /sys, /dev)."""

    def check(text: str) -> str:
        p = Path(text)
        if suffixes and p.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text!r}: use a {' or '.join(suffixes)} file name")
        if not text or any(len(part.encode()) > _NAME_MAX for part in p.parts):
            raise argparse.ArgumentTypeError(f"{text[:80]!r}: not a usable file name")
        real = os.path.realpath(p)
        if real.startswith(_KERNEL_TREES):
            raise argparse.ArgumentTypeError(f"{text!r} is a device or a kernel file, not a file "
                                             "to write results into")
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: {err.strerror or err}") from err
        if mode is not None and not stat.S_ISREG(mode):
            raise argparse.ArgumentTypeError(f"{text!r} exists and is not a regular file")
        if not os.path.isdir(os.path.dirname(real) or "."):
            raise argparse.ArgumentTypeError(f"{text!r}: its directory does not exist")
        return text

    check.__name__ = "file name"
    return check


def document_ranges(parser: argparse.ArgumentParser) -> None:
    """Append ``[<range>]`` to the help of every :func:`number` flag of ``parser`` and of its
    sub-commands (once, even for actions shared through ``parents=``)."""
    parsers, seen = [parser], set()
    while parsers:
        current = parsers.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
            if isinstance(action.type, _Number | _Numbers) and id(action) not in seen:
                seen.add(id(action))
                action.help = f"{action.help or ''} [{action.type.range_text}]".strip()
