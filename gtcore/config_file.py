"""Reading a settings file (TOML or JSON) that a person names, within bounds.

A file named on a command line or in ``GT_CONFIG`` can be anything: ``/dev/zero`` (endless), a
FIFO (blocks), ``/proc/self/mem`` (fails on read), a 100,000-deep ``[[[[...`` (the parsers recurse
until Python gives up). :func:`read_settings` reads at most :data:`MAX_BYTES` of a regular file
and refuses documents nested deeper than :data:`MAX_DEPTH`; every refusal is a
:class:`~gtcore.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from gtcore.errors import ConfigError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "read_settings"]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 16  # settings are a table of scalars and lists; sections add a level or two


def _read_bounded(p: Path, limit: int) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise ConfigError(f"cannot read config file {p}: {err.strerror or err}",
                          hint="check the --config path") from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"config file {p} is not a regular file",
                              hint="name a TOML or JSON file")
        if info.st_size > limit:
            raise ConfigError(f"config file {p} is larger than {limit // 1024} KiB",
                              hint="a settings file is a few lines of TOML or JSON")
        chunks, size = [], 0
        while size <= limit:  # st_size can be 0 for files that are not (/proc)
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise ConfigError(f"cannot read config file {p}: {err.strerror or err}",
                          hint="check the --config path") from err
    finally:
        os.close(fd)
    if size > limit:
        raise ConfigError(f"config file {p} is larger than {limit // 1024} KiB",
                          hint="a settings file is a few lines of TOML or JSON")
    return b"".join(chunks)


def _depth(doc: Any) -> int:
    """How deeply ``doc`` nests lists and tables (a scalar is 0), without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _parse(text: str, suffix: str) -> Any:
    if suffix == ".json":
        return json.loads(text)
    if suffix == ".toml":
        return tomllib.loads(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return tomllib.loads(text)


def read_settings(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                  max_depth: int = MAX_DEPTH) -> Any:
    """The parsed document in ``path`` (JSON for ``.json``, TOML for ``.toml``, else either)."""
    p = Path(path)
    raw = _read_bounded(p, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {p} is not UTF-8 text",
                          hint="save it as UTF-8 TOML or JSON") from err
    too_deep = ConfigError(f"config file {p} nests lists or tables deeper than {max_depth} levels",
                           hint="a settings file is a flat table: see README for the format")
    try:
        doc = _parse(text, p.suffix.lower())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"config file {p} is not valid TOML or JSON: {err}",
                          hint="see README for the format") from err
    except RecursionError as err:  # the parsers recurse per level; the stack ran out first
        raise too_deep from err
    if _depth(doc) > max_depth:
        raise too_deep
    return doc
