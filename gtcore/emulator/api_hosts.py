"""The regional API at API Gateway-shaped host names under ``.localhost``, routed by ``Host``.

``http://{api-id}.execute-api.{region}.amazonaws.com.localhost:{port}/api/...`` is the same API
as the path form ``/_api/{region}[/{function}]/api/...`` (see :mod:`gtcore.regional_urls` for
why the name has this shape). :func:`mount_host_api` rewrites such a request into the path form,
so one code path (and its CORS, throttling and errors) serves both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from gtcore.regional_urls import api_id

__all__ = ["mount_host_api"]


def _function_for(identifier: str, region: str, functions: Iterable[str]) -> str | None | bool:
    """None for the workshop's default API, the function's name for another one, False if none."""
    if identifier == api_id(region):
        return None
    for name in functions:
        if api_id(region, name) == identifier:
            return name
    return False


def mount_host_api(environ: dict[str, Any], identifier: str, region: str, functions: Iterable[str]) -> bool:
    """Make ``environ`` read as the path form of API ``identifier`` in ``region``; False when no
    API (the default one, or one per function in ``functions``) has that id."""
    function = _function_for(identifier, region, functions)
    if function is False:
        return False
    prefix = f"/_api/{region}" + (f"/{quote(str(function), safe='')}" if function else "")
    environ["PATH_INFO"] = prefix + (environ.get("PATH_INFO") or "/")
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(key)
        if raw:
            if "://" in raw:  # absolute-form request target
                raw = "/" + raw.split("://", 1)[1].partition("/")[2]
            environ[key] = prefix + raw
    return True
