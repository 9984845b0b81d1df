"""The AWS commercial regions: where they are, for lag models and physics floors.

Coordinates are the approximate location of each region's metro area; they feed the emulator's
realistic lag model and the dashboard's physics floor (great-circle distance over the speed of
light in fiber).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SPEED_OF_LIGHT_KM_S = 299_792.458
FIBER_FACTOR = 2 / 3  # light in fiber travels at about two thirds of c
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    lat: float
    lon: float
    geography: str  # "north-america", "south-america", "europe", "middle-east", "africa", "asia-pacific"


_CATALOG: tuple[tuple[str, str, float, float, str], ...] = (
    ("us-east-1", "N. Virginia", 38.9, -77.4, "north-america"),
    ("us-east-2", "Ohio", 40.0, -83.0, "north-america"),
    ("us-west-1", "N. California", 37.4, -121.9, "north-america"),
    ("us-west-2", "Oregon", 45.8, -119.7, "north-america"),
    ("ca-central-1", "Canada Central", 45.5, -73.6, "north-america"),
    ("ca-west-1", "Calgary", 51.0, -114.1, "north-america"),
    ("mx-central-1", "Mexico Central", 20.6, -100.4, "north-america"),
    ("sa-east-1", "São Paulo", -23.5, -46.6, "south-america"),
    ("eu-west-1", "Ireland", 53.3, -6.3, "europe"),
    ("eu-west-2", "London", 51.5, -0.1, "europe"),
    ("eu-west-3", "Paris", 48.9, 2.4, "europe"),
    ("eu-central-1", "Frankfurt", 50.1, 8.7, "europe"),
    ("eu-central-2", "Zurich", 47.4, 8.5, "europe"),
    ("eu-north-1", "Stockholm", 59.3, 18.1, "europe"),
    ("eu-south-1", "Milan", 45.5, 9.2, "europe"),
    ("eu-south-2", "Spain", 41.6, -0.9, "europe"),
    ("il-central-1", "Tel Aviv", 32.1, 34.8, "middle-east"),
    ("me-south-1", "Bahrain", 26.1, 50.6, "middle-east"),
    ("me-central-1", "UAE", 25.2, 55.3, "middle-east"),
    ("af-south-1", "Cape Town", -33.9, 18.4, "africa"),
    ("ap-east-1", "Hong Kong", 22.3, 114.2, "asia-pacific"),
    ("ap-east-2", "Taipei", 25.0, 121.5, "asia-pacific"),
    ("ap-south-1", "Mumbai", 19.1, 72.9, "asia-pacific"),
    ("ap-south-2", "Hyderabad", 17.4, 78.5, "asia-pacific"),
    ("ap-northeast-1", "Tokyo", 35.7, 139.7, "asia-pacific"),
    ("ap-northeast-2", "Seoul", 37.6, 127.0, "asia-pacific"),
    ("ap-northeast-3", "Osaka", 34.7, 135.5, "asia-pacific"),
    ("ap-southeast-1", "Singapore", 1.3, 103.8, "asia-pacific"),
    ("ap-southeast-2", "Sydney", -33.9, 151.2, "asia-pacific"),
    ("ap-southeast-3", "Jakarta", -6.2, 106.8, "asia-pacific"),
    ("ap-southeast-4", "Melbourne", -37.8, 145.0, "asia-pacific"),
    ("ap-southeast-5", "Malaysia", 3.1, 101.7, "asia-pacific"),
    ("ap-southeast-6", "New Zealand", -36.8, 174.8, "asia-pacific"),
    ("ap-southeast-7", "Thailand", 13.8, 100.5, "asia-pacific"),
)

REGIONS: dict[str, Region] = {c[0]: Region(*c) for c in _CATALOG}


def is_known_region(code: str) -> bool:
    return code in REGIONS


def great_circle_km(a: str, b: str) -> float:
    """Haversine distance between two regions' metro areas, in km."""
    ra, rb = REGIONS[a], REGIONS[b]
    p1, p2 = math.radians(ra.lat), math.radians(rb.lat)
    dp, dl = p2 - p1, math.radians(rb.lon - ra.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def physics_floor_ms(a: str, b: str) -> float:
    """One-way time for light in fiber along the great circle: no replication can beat it."""
    return great_circle_km(a, b) / (SPEED_OF_LIGHT_KM_S * FIBER_FACTOR) * 1000.0


def same_geography(a: str, b: str) -> bool:
    return REGIONS[a].geography == REGIONS[b].geography
