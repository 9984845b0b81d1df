"""``/_media/``: the catalog's thumbnails and videos, so the workshop's pages play offline.

What is served and why is in :mod:`gtcore.workshop.catalog_media`. Videos honour ``Range``
(206, as a media server does), which the browser's ``<video>`` uses to seek; errors are JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from gtcore.workshop.catalog_media import MEDIA_PREFIX, MediaUnavailable, title_for_video, video_webm
from gtcore.workshop.sample_data import THUMBS_DIR

__all__ = ["make_media_app"]

_THUMB_RE = re.compile(rf"^{MEDIA_PREFIX}/thumbs/([a-z0-9-]+\.svg)$")
_VIDEO_RE = re.compile(rf"^{MEDIA_PREFIX}/videos/([a-z0-9-]+)\.webm$")
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_STATUS = {200: "200 OK", 206: "206 Partial Content", 404: "404 Not Found",
           405: "405 Method Not Allowed", 416: "416 Range Not Satisfiable", 503: "503 Service Unavailable"}


def _answer(start_response: Callable[..., Any], status: int, content_type: str, body: bytes,
            extra: list[tuple[str, str]] | None = None, head: bool = False) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("Cache-Control", "max-age=3600"), *(extra or [])]
    start_response(_STATUS[status], headers)
    return [b"" if head else body]


def _error(start_response: Callable[..., Any], status: int, message: str) -> list[bytes]:
    return _answer(start_response, status, "application/json", json.dumps({"message": message}).encode())


def _ranged(start_response: Callable[..., Any], data: bytes, content_type: str, range_header: str,
            head: bool) -> list[bytes]:
    accept = [("Accept-Ranges", "bytes")]
    match = _RANGE_RE.match(range_header.strip())
    if not range_header or match is None or match.groups() == ("", ""):
        return _answer(start_response, 200, content_type, data, accept, head)
    first, last = match.groups()
    size = len(data)
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:  # a suffix: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        return _answer(start_response, 416, content_type, b"", [*accept, ("Content-Range", f"bytes */{size}")])
    return _answer(start_response, 206, content_type, data[start:end + 1],
                   [*accept, ("Content-Range", f"bytes {start}-{end}/{size}")], head)


def make_media_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI app the gateway mounts at ``/_media/``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in ("GET", "HEAD"):
            return _error(start_response, 405, f"{method} is not allowed on media; use GET")
        path = environ.get("PATH_INFO", "")
        head = method == "HEAD"
        thumb = _THUMB_RE.match(path)
        if thumb and (THUMBS_DIR / thumb.group(1)).is_file():
            return _answer(start_response, 200, "image/svg+xml", (THUMBS_DIR / thumb.group(1)).read_bytes(),
                           head=head)
        video = _VIDEO_RE.match(path)
        title = title_for_video(video.group(1)) if video else None
        if title is None:
            return _error(start_response, 404, f"No media at {path}: the catalog's media are "
                          f"{MEDIA_PREFIX}/thumbs/<name>.svg and {MEDIA_PREFIX}/videos/<name>.webm")
        try:
            data = video_webm(title)
        except MediaUnavailable as err:
            return _error(start_response, 503, str(err))
        return _ranged(start_response, data, "video/webm", environ.get("HTTP_RANGE", ""), head)

    return app
