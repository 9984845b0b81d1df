"""The project's sample data: the workshop's twelve-title catalog, the demo bookmarks, and
thumbnails that need no internet."""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
import zipfile
from io import BytesIO

from gtcore.workshop import (
    SAMPLE_DATA_PATH,
    THUMBS_DIR,
    api_zip,
    catalog,
    sample_items,
    thumbnail_data_uri,
    thumbnail_path,
)
from setup.data.make_thumbnails import render

TITLES = [
    "Sprite Fright", "Coffee Run", "Spring", "Hero", "The Daily Dweebs", "Agent 327",
    "Caminandes Llamigos", "Glass Half", "Cosmos Laundromat", "Caminandes", "Tears of Steel",
    "Big Buck Bunny",
]
SVG = "{http://www.w3.org/2000/svg}"


def test_file_has_the_batch_write_layout():
    data = json.loads(SAMPLE_DATA_PATH.read_text(encoding="utf-8"))
    assert list(data) == ["global-serverless"]
    requests = data["global-serverless"]
    assert len(requests) <= 25  # one BatchWriteItem call, as in the workshop
    for request in requests:
        item = request["PutRequest"]["Item"]
        for value in item.values():
            (kind, raw), = value.items()
            assert kind in ("S", "N") and isinstance(raw, str)  # valid DynamoDB JSON


def test_catalog_is_the_workshops_twelve_titles():
    entries = catalog()
    assert [e["sk"] for e in entries] == [f"{n:02d}" for n in range(1, 13)]
    assert [e["title"] for e in entries] == TITLES
    for entry in entries:
        assert entry["video"].startswith("https://")
        assert entry["thumb"].endswith(".svg") and "/" not in entry["thumb"]


def test_demo_bookmarks():
    items = {(i["PK"]["S"], i["SK"]["S"]): i for i in sample_items()}
    assert items[("user100", "AshlandValley")]["Bookmark"] == {"N": "0"}
    user10 = [i for (pk, _), i in items.items() if pk == "user10"]
    assert user10, "a user10 bookmark, as the video player writes"
    for item in user10:
        assert 0 <= float(item["bookmark"]["S"]) <= 1
        assert thumbnail_path(item["thumb"]["S"]) is not None
        assert item["SK"]["S"] in {e["sk"] for e in catalog()}
    assert len(items) == len(sample_items())  # keys are unique


def test_every_thumbnail_is_a_small_offline_svg():
    shipped = {p.name for p in THUMBS_DIR.glob("*.svg")}
    assert shipped == {e["thumb"] for e in catalog()}
    for entry in catalog():
        path = thumbnail_path(entry["thumb"])
        text = path.read_text(encoding="utf-8")
        assert len(text) < 4096
        root = ET.fromstring(text)
        assert root.tag == f"{SVG}svg"
        assert root.find(f"{SVG}title").text == entry["title"]
        # No fetches: the only URL is the SVG namespace, no href, no @import.
        assert text.count("http") == 1 and "href" not in text and "@import" not in text
        assert text == render(entry["sk"], entry["title"])  # regenerated files match


def test_thumbnails_resolve_in_every_shape_the_player_uses():
    path = THUMBS_DIR / "spring.svg"
    assert thumbnail_path("spring.svg") == path
    assert thumbnail_path("thumbs/spring.svg") == path
    assert thumbnail_path("https://example.invalid/x/spring.svg?size=2") == path
    assert thumbnail_path(base64.b64encode(b"spring.svg").decode()) == path  # btoa(thumb)
    for bad in ("", None, "nope.svg", "../sample-data.json", ".svg", "spring.png"):
        assert thumbnail_path(bad) is None
    uri = thumbnail_data_uri("spring.svg")
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == path.read_bytes()
    assert thumbnail_data_uri("missing.svg") is None


def test_api_zip_is_deterministic_and_complete():
    first, second = api_zip(), api_zip()
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    names = zipfile.ZipFile(BytesIO(first)).namelist()
    assert "app.py" in names and "chalicelib/routes.py" in names
    assert not any("__pycache__" in n for n in names)
