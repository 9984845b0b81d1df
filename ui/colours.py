"""One fixed colour per region, the same on every page.

The palette is Okabe-Ito (safe for the common colour-vision deficiencies) without its yellow,
which vanishes on a white projector screen, extended with four of Paul Tol's muted colours for
targets with more than seven regions. Every region has a *home* colour picked from its code, so
the lab's Oregon is always orange and Ireland always blue. When two regions of one target share a
home colour, the later one (in sorted order, never in the order the user typed them) takes the
next free colour, so the result depends only on the set of regions.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

PALETTE: tuple[str, ...] = (
    "#E69F00",  # orange
    "#0072B2",  # blue
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#882255",  # wine (Tol)
    "#44AA99",  # teal (Tol)
    "#999933",  # olive (Tol)
    "#332288",  # indigo (Tol)
)

# Home colours of the regions facilitators use most; everything else hashes into the palette.
_HOME: dict[str, int] = {
    "us-west-2": 0,
    "eu-west-1": 1,
    "us-east-1": 2,
    "ap-northeast-1": 3,
    "eu-central-1": 4,
    "ap-southeast-2": 6,  # black: sky blue beside eu-west-1's blue is lost on a projector
    "us-east-2": 5,
    "ap-southeast-1": 7,
    "eu-west-2": 8,
    "sa-east-1": 9,
    "ap-south-1": 10,
}

UNKNOWN_COLOUR = "#888888"


def home_index(region: str) -> int:
    """The palette slot a region asks for when nobody else in its target wants it."""
    if region in _HOME:
        return _HOME[region]
    return zlib.crc32(region.encode()) % len(PALETTE)


def region_colours(regions: Iterable[str]) -> dict[str, str]:
    """Colours for a set of regions: distinct for up to len(PALETTE) regions, then reused."""
    taken: set[int] = set()
    result: dict[str, str] = {}
    for region in sorted(set(regions)):
        slot = home_index(region)
        if len(taken) < len(PALETTE):
            while slot in taken:
                slot = (slot + 1) % len(PALETTE)
        taken.add(slot)
        result[region] = PALETTE[slot]
    return result


def region_colour(region: str, regions: Iterable[str] = ()) -> str:
    """The colour of `region` within a target of `regions` (its home colour when alone)."""
    others = set(regions) | {region}
    return region_colours(others)[region]


def text_colour_on(background: str) -> str:
    """Black or white, whichever reads better on `background` (#RRGGBB)."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 140 else "#FFFFFF"
