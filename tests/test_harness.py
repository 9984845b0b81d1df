"""The workshop's test harness without a page: catch-up per region, failures noted per region."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from gtcore.errors import ConfigError, GtError
from gtcore.harness import Harness, LastWrite, Reading
from gtcore.regional_client import RegionalApi

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")


def _closed_url() -> str:
    """A loopback URL nothing listens on: every call gets a real connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def _harness() -> Harness:
    return Harness(apis={r: RegionalApi(_closed_url(), timeout=1.0, region=r) for r in REGIONS})


def test_catch_up_names_who_has_the_write_and_who_is_still_behind() -> None:
    h = _harness()
    assert h.catch_up() is None
    h.last_write = LastWrite("us-west-2", Decimal(6), at=100.0, wall=0.0, what="+1",
                             seen_after={"us-west-2": 0.0})
    h.observe({"eu-west-1": Reading("eu-west-1", 101.25, Decimal(6)),
               "ap-southeast-2": Reading("ap-southeast-2", 101.5, Decimal(5))})
    progress = h.catch_up(now=103.0)
    assert progress is not None and progress.since_s == pytest.approx(3.0)
    assert progress.caught == {"eu-west-1": pytest.approx(1.25)}
    assert progress.waiting == ["ap-southeast-2"]


def test_watching_another_item_forgets_the_last_write() -> None:
    h = _harness()
    h.last_write = LastWrite("us-west-2", Decimal(1), 0.0, 0.0, "+1")
    h.watch(h.pk, h.sk)
    assert h.last_write is not None
    h.watch("user1", "Other")
    assert (h.pk, h.sk, h.last_write) == ("user1", "Other", None)


@pytest.mark.parametrize("action, noted", [
    (lambda h: h.increment("eu-west-1", 1), "+1 failed: "),
    (lambda h: h.set_value("eu-west-1", 7), "set 7 failed: "),
    (lambda h: h.ping("eu-west-1"), "ping failed: "),
    (lambda h: h.get("eu-west-1"), "get-item failed: "),
])
def test_a_failed_action_is_raised_and_noted_under_its_region(action, noted: str) -> None:
    h = _harness()
    with pytest.raises(GtError):
        action(h)
    assert h.last_action["eu-west-1"].startswith(noted)
    assert h.last_write is None and set(h.last_action) == {"eu-west-1"}


def test_reading_everywhere_returns_each_regions_error_instead_of_raising() -> None:
    h = _harness()
    del h.apis["ap-southeast-2"]
    h.missing["ap-southeast-2"] = "no regional API URL recorded for this region (run Setup)"
    replies = h.read_everywhere(REGIONS, "library", consistent=True)
    assert list(replies) == list(REGIONS)
    assert all(isinstance(r, GtError) for r in replies.values())
    assert isinstance(replies["ap-southeast-2"], ConfigError)
    assert "run Setup" in replies["ap-southeast-2"].message
    assert replies["eu-west-1"].region == "eu-west-1"
