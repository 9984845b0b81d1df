"""Where each region's regional API lives: a small JSON registry under ``$GTCORE_HOME``.

``setup up --deploy-api`` records the URL `chalice deploy` printed; without it, ``setup up``
discovers existing APIs (API Gateway ``get_rest_apis``) and records those. The dashboard and
gtcore read them back with :func:`recorded_api_url` (the emulator needs no registry: its URLs
are built by :mod:`gtcore.regional_urls`, which also checks every URL recorded here). Recorded
and returned URLs end in ``/``, as clients append routes to them.

The file is ``$GTCORE_HOME/apis.json`` (default ``~/.gtcore/apis.json``)::

    {"version": 1, "apis": {"global-serverless": {"us-west-2": {"url": "https://.../api/",
                                                              "recorded_at": "2025-..."}}}}

A corrupt file is never overwritten in place: reading it raises :class:`ConfigError` naming the
file; recording a URL moves the corrupt file aside (``apis.json.corrupt-<time>``) first.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gtcore.errors import ConfigError, wrap
from gtcore.regional_urls import api_url_from_rest_api, check_api_url

__all__ = [
    "discover_api_urls",
    "forget_api_url",
    "gtcore_home",
    "record_api_url",
    "recorded_api_url",
    "recorded_api_urls",
    "registry_path",
]

_FILE_NAME = "apis.json"
_VERSION = 1
_lock = threading.Lock()


def gtcore_home() -> Path:
    """``$GTCORE_HOME``, else ``~/.gtcore`` (not created here)."""
    env = os.environ.get("GTCORE_HOME", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".gtcore"


def registry_path() -> Path:
    """The registry file: ``<gtcore_home()>/apis.json``."""
    return gtcore_home() / _FILE_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"version": _VERSION, "apis": {}}
    except OSError as err:
        raise ConfigError(
            f"cannot read the API registry {path}: {err.strerror or err}",
            hint="check the file's permissions or set GTCORE_HOME to another directory",
        ) from err
    try:
        data = json.loads(text) if text.strip() else {"version": _VERSION, "apis": {}}
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"the API registry {path} is not valid JSON ({err.msg} at line {err.lineno})",
            hint="fix or delete the file; `python -m setup up` records the URLs again "
            "(recording moves a corrupt file aside, nothing is lost)",
        ) from err
    apis = data.get("apis") if isinstance(data, dict) else None
    if not isinstance(apis, dict) or not all(isinstance(v, dict) for v in apis.values()):
        raise ConfigError(
            f"the API registry {path} does not have the expected layout "
            '({"version": 1, "apis": {table: {region: {"url": ...}}}})',
            hint="fix or delete the file; `python -m setup up` records the URLs again",
        )
    return data


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialize writers across threads and processes (best effort where fcntl is missing)."""
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.with_name(path.name + ".lock")
        with open(lock_path, "a+") as handle:
            try:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX)
            except (ImportError, OSError):  # pragma: no cover - non-POSIX
                pass
            yield


def _write(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".apis-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _set_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, backup)
    return backup


def _modify(update: Any) -> Path | None:
    """Apply ``update(apis_dict)`` under the lock; returns where a corrupt file was moved."""
    path = registry_path()
    moved: Path | None = None
    with _file_lock(path):
        try:
            data = _read(path)
        except ConfigError:
            if not path.exists():
                raise
            moved = _set_aside(path)
            data = {"version": _VERSION, "apis": {}}
        update(data["apis"])
        data["version"] = _VERSION
        try:
            _write(path, data)
        except OSError as err:
            raise ConfigError(
                f"cannot write the API registry {path}: {err.strerror or err}",
                hint="check the directory's permissions or set GTCORE_HOME elsewhere",
            ) from err
    return moved


def record_api_url(table: str, region: str, url: str) -> Path | None:
    """Remember ``url`` as the regional API of ``table`` in ``region``.

    Returns the path a corrupt registry was moved to (None normally).
    """
    url = check_api_url(url, region)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")

    def update(apis: dict[str, Any]) -> None:
        apis.setdefault(table, {})[region] = {"url": url, "recorded_at": stamp}

    return _modify(update)


def forget_api_url(table: str, region: str) -> bool:
    """Drop the recorded URL; True when there was one."""
    found: list[bool] = []

    def update(apis: dict[str, Any]) -> None:
        regions = apis.get(table, {})
        found.append(regions.pop(region, None) is not None)
        if not regions:
            apis.pop(table, None)

    if not registry_path().exists():
        return False
    _modify(update)
    return bool(found and found[0])


def recorded_api_urls(table: str) -> dict[str, str]:
    """Every recorded ``{region: url}`` for ``table``."""
    data = _read(registry_path())
    out: dict[str, str] = {}
    for region, entry in (data["apis"].get(table) or {}).items():
        url = entry.get("url") if isinstance(entry, dict) else entry
        if isinstance(url, str) and url:
            out[region] = check_api_url(url, region)  # files written before URLs ended in '/'

    return out


def recorded_api_url(table: str, region: str) -> str | None:
    """The recorded URL of ``table``'s API in ``region``, or None."""
    return recorded_api_urls(table).get(region)


def discover_api_urls(conn: Any, app_name: str | None = None) -> dict[str, str | None]:
    """Find the regional API in each region of ``conn.target`` by REST API name.

    ``app_name`` defaults to the target's table name (the Chalice app is named after the table;
    ``global-serverless`` in the workshop). Returns ``{region: url or None}``; records nothing.
    """
    name = app_name or conn.target.table
    found: dict[str, str | None] = {}
    for region in conn.target.regions:
        client = conn.client("apigateway", region)
        url: str | None = None
        with wrap(f"look for REST API {name}", region):
            for page in client.get_paginator("get_rest_apis").paginate():
                for api in page.get("items", []):
                    if api.get("name") == name:
                        url = api_url_from_rest_api(api["id"], region)
                        break
                if url:
                    break
        found[region] = url
    return found
