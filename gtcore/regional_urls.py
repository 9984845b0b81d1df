"""The regional API's URLs: the one place that builds, reads, checks and joins them.

A region's API has one of three URL forms, each ending in ``/`` because every client (the
workshop's web pages verbatim) appends routes to the URL as given:

* AWS: ``https://{rest-api-id}.execute-api.{region}.amazonaws.com/api/`` (what ``chalice
  deploy`` prints; :func:`api_url_from_rest_api`).
* The emulator's host form, for browsers:
  ``http://{api-id}.execute-api.{region}.amazonaws.com.localhost:{port}/api/``. Browsers resolve
  every name under ``.localhost`` to loopback; the emulator routes the request by its ``Host``
  header. The name keeps API Gateway's shape because the workshop's pages read the region from
  it: the third dot-separated label names each API's row, cookie and buttons, and the label
  before ``amazonaws.com`` names the cookie when an API is added. ``api-id`` is stable per
  region and function (:func:`api_id`).
* The emulator's path form, for clients that cannot resolve ``*.localhost`` (Python's resolver,
  most command-line tools): ``{endpoint}/_api/{region}/api/`` for the workshop's function, or
  ``{endpoint}/_api/{region}/{function}/api/`` for another one.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote, urlencode, urlsplit

from gtcore.errors import ConfigError

__all__ = [
    "LOCAL_SUFFIX",
    "STAGE",
    "api_id",
    "api_url_from_rest_api",
    "browser_url",
    "check_api_url",
    "emulator_api_url",
    "format_api_urls",
    "host_form_url",
    "loopback_target",
    "parse_api_host",
    "region_from_url",
    "route_url",
]

STAGE = "api"
LOCAL_SUFFIX = ".amazonaws.com.localhost"

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_PATH_FORM_RE = re.compile(rf"^/_api/({_REGION})/(?:([^/]+)/)?{STAGE}/?$")
_PATH_REGION_RE = re.compile(rf"/_api/({_REGION})(?:/|$)")
_HOST_RE = re.compile(rf"^([a-z0-9]{{10}})\.execute-api\.({_REGION})\.amazonaws\.com(?:\.localhost)?$")
_ANY_API_HOST_RE = re.compile(rf"\.execute-api\.({_REGION})\.amazonaws\.com(?:\.localhost)?$")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_URL_FORMS_NOTE = ("the .localhost URL is for web pages (browsers resolve *.localhost to this machine); "
                   "the /_api/ URL is for tools that cannot resolve *.localhost")


def api_id(region: str, function: str | None = None) -> str:
    """The emulator's 10-character API id (API Gateway's shape) for ``function`` in ``region``.

    Derived from a hash, so it is the same in every run and on every machine; ``None`` is the
    workshop's default API (the short path form).
    """
    number = int.from_bytes(hashlib.sha256(f"{region}/{function or ''}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(10):
        number, digit = divmod(number, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[digit])
    return "".join(chars)


def emulator_api_url(endpoint: str, region: str, function: str | None = None) -> str:
    """The path form: ``{endpoint}/_api/{region}/api/`` (or ``.../{function}/api/``)."""
    middle = f"/{quote(function, safe='')}" if function else ""
    return f"{endpoint.rstrip('/')}/_api/{region}{middle}/{STAGE}/"


def host_form_url(endpoint: str, region: str, function: str | None = None) -> str:
    """The host form of the emulator's API for browsers (see the module docstring)."""
    parts = urlsplit(endpoint)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'http'}://{api_id(region, function)}.execute-api.{region}{LOCAL_SUFFIX}{port}/{STAGE}/"


def browser_url(url: str | None) -> str | None:
    """The host form of an emulator's path-form URL, or None for any other URL.

    Works on what ``Connection.api_base_url`` gives, so whoever shows a URL can show both.
    """
    if not url:
        return None
    parts = urlsplit(url)
    match = _PATH_FORM_RE.match(parts.path)
    if match is None or not parts.netloc:
        return None
    region, function = match.group(1), match.group(2)
    endpoint = f"{parts.scheme}://{parts.netloc}"
    return host_form_url(endpoint, region, unquote(function) if function else None)


def parse_api_host(host: str) -> tuple[str, str] | None:
    """``(api_id, region)`` from a ``Host`` header of the host form (port allowed), else None."""
    name = (host or "").strip().lower()
    if name.startswith("["):  # an IPv6 literal is never an API's name
        return None
    name = name.rsplit(":", 1)[0] if ":" in name else name
    if not name.endswith(LOCAL_SUFFIX):
        return None
    match = _HOST_RE.match(name)
    return (match.group(1), match.group(2)) if match else None


def api_url_from_rest_api(rest_api_id: str, region: str, stage: str = STAGE) -> str:
    """The invoke URL of a REST API stage, as ``chalice deploy`` prints it."""
    return f"https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage}/"


def region_from_url(url: str) -> str | None:
    """The AWS region a regional API URL names (any of the three forms), else None."""
    parts = urlsplit(url or "")
    host = _ANY_API_HOST_RE.search((parts.hostname or "").lower())
    if host:
        return host.group(1)
    path = _PATH_REGION_RE.search(parts.path)
    return path.group(1) if path else None


def check_api_url(url: str, region: str | None = None) -> str:
    """``url`` ending in ``/`` when it is an http(s) URL with a host, else ConfigError (naming
    ``region``, when given). Everything that records or shows a URL passes it through here."""
    parts = urlsplit(url.strip() if isinstance(url, str) else "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"not an http(s) URL for the regional API: {url!r}",
            hint="use the URL `chalice deploy` printed, e.g. "
            "https://abc123.execute-api.us-west-2.amazonaws.com/api/",
            region=region,
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"a regional API URL has no query or fragment: {url!r}",
            hint="use the stage's base URL, e.g. https://abc123.execute-api.us-west-2.amazonaws.com/api/",
            region=region,
        )
    base = url.strip()
    return base if base.endswith("/") else base + "/"


def route_url(base_url: str, parts: tuple[str, ...], query: dict[str, str] | None = None) -> str:
    """A route under ``base_url`` (with or without its trailing ``/``); each part is
    percent-quoted, ``/`` included, so one part stays one path parameter."""
    path = "/".join(quote(part, safe="") for part in parts)
    url = base_url.rstrip("/") + "/" + path
    return url + ("?" + urlencode(query) if query else "")


def loopback_target(url: str) -> tuple[str, str | None]:
    """``(url to connect to, Host header)``: a name under ``.localhost`` is loopback (RFC 6761),
    which browsers know and Python's resolver may not, so connect to 127.0.0.1 and name the host
    in the header; any other URL is returned as is with no header."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not (host == "localhost" or host.endswith(".localhost")):
        return url, None
    netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl(), parts.netloc


def format_api_urls(urls: dict[str, str | None]) -> list[str]:
    """Lines that show each region's API URL, both forms for the emulator's (host form first)."""
    lines = [f"Regional API ({_URL_FORMS_NOTE}):"] if any(browser_url(u) for u in urls.values()) else ["Regional API:"]
    width = max((len(region) for region in urls), default=0)
    for region, url in urls.items():
        if not url:
            lines.append(f"  {region:<{width}}  (none)")
            continue
        browser = browser_url(url)
        lines.append(f"  {region:<{width}}  {browser or url}")
        if browser:
            lines.append(f"  {'':<{width}}  {url}")
    return lines
