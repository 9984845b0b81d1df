"""Regenerate the catalog's thumbnails: `python -m setup.data.make_thumbnails`.

One small SVG per title (320x180, no fonts or images fetched from anywhere), so the dashboard
looks right offline. The catalog item's `thumb` attribute is the file name in this folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "sample-data.json"
THUMBS = HERE / "thumbs"


def _colour(seed: bytes, offset: int) -> str:
    hue = int.from_bytes(seed[offset : offset + 2], "big") % 360
    return f"hsl({hue}, 55%, {28 + seed[offset + 2] % 18}%)"


def render(sk: str, title: str) -> str:
    """The SVG for one catalog title (deterministic: same title, same bytes)."""
    seed = hashlib.sha256(title.encode("utf-8")).digest()
    top, bottom = _colour(seed, 0), _colour(seed, 3)
    size = 30 if len(title) <= 14 else 22
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180" '
        f'role="img" aria-label="{escape(title)}">\n'
        f"<title>{escape(title)}</title>\n"
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        "</linearGradient></defs>\n"
        '<rect width="320" height="180" fill="url(#g)"/>\n'
        '<circle cx="160" cy="72" r="26" fill="#ffffff" fill-opacity="0.22"/>\n'
        '<path d="M151 58 L174 72 L151 86 Z" fill="#ffffff"/>\n'
        f'<text x="160" y="138" text-anchor="middle" font-family="sans-serif" '
        f'font-size="{size}" font-weight="bold" fill="#ffffff">{escape(title)}</text>\n'
        f'<text x="304" y="24" text-anchor="end" font-family="monospace" font-size="14" '
        f'fill="#ffffff" fill-opacity="0.8">{escape(sk)}</text>\n'
        "</svg>\n"
    )


def catalog() -> list[tuple[str, str, str]]:
    """(SK, title, thumb file name) of every library item in the sample data."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    out = []
    for requests in data.values():
        for request in requests:
            item = request["PutRequest"]["Item"]
            if item["PK"]["S"] == "library":
                out.append((item["SK"]["S"], item["title"]["S"], item["thumb"]["S"]))
    return out


def main() -> None:
    THUMBS.mkdir(exist_ok=True)
    for sk, title, thumb in catalog():
        (THUMBS / thumb).write_text(render(sk, title), encoding="utf-8")
        print(f"wrote {THUMBS / thumb}")


if __name__ == "__main__":
    main()
