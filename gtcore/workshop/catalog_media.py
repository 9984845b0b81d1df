"""The catalog's media, made by the project, so the workshop's web pages work with no internet.

The emulator serves them (:mod:`gtcore.emulator.media`) under ``{endpoint}/_media/``:

* ``thumbs/{name}.svg``: the shipped thumbnail (``setup/data/thumbs``);
* ``videos/{name}.webm``: a two-minute VP8 video made on first request (PyAV), the title on
  its own colours with a running clock and progress bar, so a screenshot shows where playback
  is. A few tens of kilobytes, nothing stored in the repository.

Loading the sample data into the emulator points the catalog's ``thumb`` and ``video`` at these
URLs (:func:`localize`) and each demo bookmark's ``thumb`` at the base64 of its title's
thumbnail URL, which is what the player writes (``btoa(thumb)``) and globalflix decodes
(``atob``). None of these URLs contains ``?``, ``~`` or ``>``, so their base64 has no ``/`` or
``+`` and stays one path segment in the player's ``update/{PK}/{SK}/{VAL}/{THUMB}`` route.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import hashlib
import io
import threading
from typing import Any

from gtcore.workshop.sample_data import THUMBS_DIR, catalog

__all__ = [
    "MEDIA_PREFIX",
    "VIDEO_SECONDS",
    "MediaUnavailable",
    "localize",
    "thumb_url",
    "title_for_video",
    "video_url",
    "video_webm",
]

MEDIA_PREFIX = "/_media"
VIDEO_SECONDS = 120
_FPS = 2
_SIZE = (320, 180)
_cache: dict[str, bytes] = {}
_cache_lock = threading.Lock()


class MediaUnavailable(RuntimeError):
    """A video cannot be made here (PyAV is not installed)."""


def thumb_url(endpoint: str, thumb: str) -> str:
    """Where the emulator serves the thumbnail ``thumb`` (a file name such as ``spring.svg``)."""
    return f"{endpoint.rstrip('/')}{MEDIA_PREFIX}/thumbs/{thumb}"


def video_url(endpoint: str, thumb: str) -> str:
    """Where the emulator serves the video of the title whose thumbnail is ``thumb``."""
    stem = thumb.rsplit(".", 1)[0]
    return f"{endpoint.rstrip('/')}{MEDIA_PREFIX}/videos/{stem}.webm"


def _file_name(thumb: str) -> str | None:
    """The thumbnail file a ``thumb`` value names: a file name, or the base64 of one."""
    if (THUMBS_DIR / thumb).is_file():
        return thumb
    try:
        decoded = base64.b64decode(thumb, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    name = decoded.rstrip("/").rsplit("/", 1)[-1]
    return name if (THUMBS_DIR / name).is_file() else None


def localize(items: list[dict[str, Any]], endpoint: str) -> list[dict[str, Any]]:
    """The sample items with their media pointing at the emulator's ``endpoint`` (copies)."""
    out = []
    for item in items:
        item = dict(item)
        thumb = item.get("thumb", {}).get("S")
        name = _file_name(thumb) if thumb else None
        if name and item["PK"]["S"] == "library":
            item["thumb"] = {"S": thumb_url(endpoint, name)}
            item["video"] = {"S": video_url(endpoint, name)}
        elif name:
            item["thumb"] = {"S": base64.b64encode(thumb_url(endpoint, name).encode()).decode("ascii")}
        out.append(item)
    return out


def title_for_video(stem: str) -> str | None:
    """The catalog title whose thumbnail is ``{stem}.svg``, or None."""
    for entry in catalog():
        if entry["thumb"] == f"{stem}.svg":
            return entry["title"]
    return None


def _colour(title: str) -> tuple[int, int, int]:
    hue = int.from_bytes(hashlib.sha256(title.encode()).digest()[:2], "big") % 360
    r, g, b = colorsys.hls_to_rgb(hue / 360, 0.32, 0.55)
    return int(r * 255), int(g * 255), int(b * 255)


def _frames(title: str) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    width, height = _SIZE
    big, small = ImageFont.load_default(size=24), ImageFont.load_default(size=16)
    background = _colour(title)
    for n in range(VIDEO_SECONDS * _FPS):
        second = n // _FPS
        image = Image.new("RGB", _SIZE, background)
        draw = ImageDraw.Draw(image)
        draw.text((width / 2, 70), title, fill="white", font=big, anchor="mm")
        clock = f"{second // 60:02d}:{second % 60:02d} / {VIDEO_SECONDS // 60:02d}:{VIDEO_SECONDS % 60:02d}"
        draw.text((width / 2, 110), clock, fill="white", font=small, anchor="mm")
        draw.rectangle((0, height - 10, int(width * (n + 1) / (VIDEO_SECONDS * _FPS)), height), fill="white")
        yield image


def video_webm(title: str) -> bytes:
    """The title's video (WebM, VP8), made once per process; MediaUnavailable without PyAV."""
    with _cache_lock:
        if title in _cache:
            return _cache[title]
        try:
            import av
        except ImportError as err:
            raise MediaUnavailable(
                "making the catalog's videos needs PyAV (`pip install -r requirements.txt`)"
            ) from err
        out = io.BytesIO()
        with av.open(out, "w", format="webm") as container:
            stream = container.add_stream("libvpx", rate=_FPS)
            stream.width, stream.height = _SIZE
            stream.pix_fmt = "yuv420p"
            stream.options = {"b:v": "40k", "deadline": "realtime", "cpu-used": "8"}
            for image in _frames(title):
                container.mux(stream.encode(av.VideoFrame.from_image(image)))
            container.mux(stream.encode())
        _cache[title] = out.getvalue()
        return _cache[title]
