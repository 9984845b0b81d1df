"""Who may drive the emulator: the operator's own clients, not any web page they happen to open.

The emulator listens on 127.0.0.1 only, but a browser on the same machine reaches that too. So:

- a request whose `Host` is not a loopback name (127.0.0.0/8, `localhost`, `[::1]`, any name
  under `.localhost`, which browsers resolve to loopback) is refused: that is DNS rebinding,
  a foreign name pointed at 127.0.0.1 so a page's requests look same-origin;
- a browser request from a foreign `Origin` (any host that is not a loopback name, and the
  opaque `null` of sandboxed frames and files) is refused for the control API, moto's endpoints
  and the AWS service endpoints, before anything runs, preflights included, so no simple
  `text/plain` POST acts and no CORS answer lets a page read the reply;
- the regional API (`/_api/...`) keeps the open CORS its Chalice app and API Gateway give it:
  the workshop's web pages call it from wherever they are opened;
- moto's own internal API (`/moto-api/...`: reset, seeding, its dashboard) is not served; the
  control API has what the operator needs (`POST /_emulator/reset`).

Refusals are 403s in the protocol the client speaks.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from gtcore.emulator.protocol import Headers, credential_scope, error_response, json_response

Reply = tuple[int, Headers, bytes]

REGIONAL_API_PREFIX = "/_api/"
CONTROL_PREFIX = "/_emulator"
MOTO_API_PREFIX = "/moto-api"


def is_loopback_name(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (bracketed or not), localhost and names under .localhost."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _host_name(host_header: str) -> str | None:
    """The name part of a Host header (port dropped); None when it cannot be read."""
    try:
        return urlsplit(f"//{host_header}").hostname
    except ValueError:
        return None


def _origin_is_loopback(origin: str) -> bool:
    if origin.strip().lower() == "null":
        return False
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname is not None and is_loopback_name(parts.hostname)


def _refuse(environ: dict[str, Any], path: str, message: str) -> Reply:
    if path.startswith(CONTROL_PREFIX) or path.startswith(MOTO_API_PREFIX):
        return json_response(403, {"error": message})
    _, service = credential_scope(environ)
    return error_response(environ, service, 403, "AccessDeniedException", message)


def refusal(environ: dict[str, Any]) -> Reply | None:
    """The 403 for a request the operator did not send, or None to serve it."""
    path = environ.get("PATH_INFO", "") or "/"
    host = environ.get("HTTP_HOST")
    if host is not None:
        name = _host_name(host)
        if name is None or not is_loopback_name(name):
            return _refuse(environ, path, f"Host {host!r} is not a loopback name: the emulator serves only "
                           "127.0.0.1, localhost, [::1] and names under .localhost (DNS rebinding guard)")
    if path.startswith(MOTO_API_PREFIX):
        return _refuse(environ, path, "moto's internal API is not served by the emulator; "
                       "use the control API (/_emulator/...), e.g. POST /_emulator/reset")
    if path.startswith(REGIONAL_API_PREFIX):
        return None
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not _origin_is_loopback(origin):
        return _refuse(environ, path, f"Requests from web pages at {origin!r} are refused: only the operator's own "
                       "tools (and pages served from a loopback name) may drive the emulator")
    return None
