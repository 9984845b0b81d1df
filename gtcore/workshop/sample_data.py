"""The shipped sample data (catalog and demo bookmarks) and the catalog's thumbnails."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from gtcore.errors import ConfigError

_DATA_DIR = Path(__file__).resolve().parents[2] / "setup" / "data"
SAMPLE_DATA_PATH = _DATA_DIR / "sample-data.json"
THUMBS_DIR = _DATA_DIR / "thumbs"


def sample_items(path: Path | str | None = None) -> list[dict[str, Any]]:
    """The sample items (DynamoDB JSON) from the project's ``sample-data.json``.

    The file has the workshop's ``batch-write-item`` layout (``{table: [{"PutRequest": ...}]}``),
    so ``aws dynamodb batch-write-item --request-items file://setup/data/sample-data.json``
    loads it too (for the default table name).
    """
    source = Path(path) if path is not None else SAMPLE_DATA_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the sample data {source}: {err}") from err
    items: list[dict[str, Any]] = []
    for requests in data.values():
        for request in requests:
            item = request["PutRequest"]["Item"]
            if "S" not in item.get("PK", {}) or "S" not in item.get("SK", {}):
                raise ConfigError(f"sample item without string PK/SK in {source}: {item}")
            items.append(item)
    return items


def catalog(path: Path | str | None = None) -> list[dict[str, str]]:
    """The catalog (``PK="library"``) as plain dicts: sk, title, thumb, video."""
    out = []
    for item in sample_items(path):
        if item["PK"]["S"] == "library":
            out.append(
                {
                    "sk": item["SK"]["S"],
                    "title": item.get("title", {}).get("S", ""),
                    "thumb": item.get("thumb", {}).get("S", ""),
                    "video": item.get("video", {}).get("S", ""),
                }
            )
    return out


def thumbnail_path(thumb: str | None) -> Path | None:
    """The shipped image a ``thumb`` attribute names, or None.

    Accepts the file name the sample data uses (``"spring.svg"``), a path or URL ending in it,
    or the base64 of any of these (the workshop's player writes ``btoa(thumb)``).
    """
    if not thumb or not isinstance(thumb, str):
        return None
    candidates = [thumb.strip()]
    try:
        decoded = base64.b64decode(thumb.strip() + "=" * (-len(thumb.strip()) % 4), validate=True)
        candidates.append(decoded.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        pass
    for candidate in candidates:
        name = candidate.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if name and not name.startswith(".") and name.endswith(".svg"):
            path = THUMBS_DIR / name
            if path.is_file():
                return path
    return None


def thumbnail_data_uri(thumb: str | None) -> str | None:
    """The shipped image as a ``data:image/svg+xml;base64,...`` URI (works offline), or None."""
    path = thumbnail_path(thumb)
    if path is None:
        return None
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{payload}"
