"""``/_workshop/``: the project's own page for the workshop's regional APIs, so a browser is all
an attendee needs. It lists every region's API (the host-name form, as ``setup up`` prints it),
calls them side by side, and plays a catalog video that bookmarks to one region and fails over
to the next; ``/_workshop/apis.json`` is the list it reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gtcore.regional_urls import host_form_url

__all__ = ["make_workshop_app"]

_PAGE = Path(__file__).resolve().parent / "web" / "workshop.html"


def make_workshop_app(api_regions: Callable[[], list[str]]) -> Callable[[dict[str, Any], Callable[..., Any]],
                                                                          Iterable[bytes]]:
    """The WSGI app the gateway mounts at ``/_workshop/``; ``api_regions()`` lists the regions
    that have the workshop's function, home region first."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET").upper() not in ("GET", "HEAD"):
            return _send(start_response, "405 Method Not Allowed", "application/json",
                         json.dumps({"message": "use GET"}).encode())
        if path in ("/_workshop/", "/_workshop/index.html"):
            return _send(start_response, "200 OK", "text/html; charset=utf-8", _PAGE.read_bytes())
        if path == "/_workshop/apis.json":
            endpoint = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '127.0.0.1')}"
            apis = [{"region": r, "url": host_form_url(endpoint, r)} for r in api_regions()]
            return _send(start_response, "200 OK", "application/json", json.dumps({"apis": apis}).encode())
        return _send(start_response, "404 Not Found", "application/json",
                     json.dumps({"message": f"No page at {path}; the workshop's page is /_workshop/"}).encode())

    return app


def _send(start_response: Callable[..., Any], status: str, content_type: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store")])
    return [body]
