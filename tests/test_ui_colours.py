"""Region colours: fixed, distinct within a target, independent of order, readable text."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from gtcore.regions import REGIONS
from ui.colours import PALETTE, region_colour, region_colours, text_colour_on

ALL = sorted(REGIONS)


def test_lab_regions_have_their_home_colours() -> None:
    colours = region_colours(["us-west-2", "eu-west-1"])
    assert colours == {"us-west-2": "#E69F00", "eu-west-1": "#0072B2"}


def test_a_region_keeps_its_colour_on_every_call() -> None:
    assert region_colour("us-west-2") == region_colour("us-west-2", ["eu-west-1"])
    assert {region_colour(r) for r in ALL} <= set(PALETTE)


@given(st.lists(st.sampled_from(ALL), min_size=1, max_size=len(PALETTE), unique=True))
def test_distinct_up_to_palette_size_and_order_free(regions: list[str]) -> None:
    colours = region_colours(regions)
    assert len(set(colours.values())) == len(regions)
    assert region_colours(list(reversed(regions))) == colours
    for r in regions:
        assert region_colour(r, regions) == colours[r]


def test_more_regions_than_colours_still_get_palette_colours() -> None:
    colours = region_colours(ALL)
    assert set(colours) == set(ALL)
    assert set(colours.values()) == set(PALETTE)


def test_every_five_region_subset_of_common_regions_is_distinct() -> None:
    common = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
              "ap-southeast-2", "ap-southeast-1"]
    for combo in itertools.combinations(common, 5):
        assert len(set(region_colours(combo).values())) == 5


def test_text_colour_contrasts_with_background() -> None:
    assert text_colour_on("#000000") == "#FFFFFF"
    assert text_colour_on("#E69F00") == "#000000"
    assert text_colour_on("#0072B2") == "#FFFFFF"


def test_the_five_regions_of_a_big_room_stay_apart_on_a_projector() -> None:
    """eu-west-1's blue and ap-southeast-2's sky blue looked alike on a projector."""
    colours = region_colours(["us-west-2", "eu-west-1", "us-east-1", "ap-southeast-2",
                              "eu-central-1"])
    assert colours["ap-southeast-2"] != "#56B4E9" and "#56B4E9" not in colours.values()
