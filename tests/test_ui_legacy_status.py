"""The Status page's region card says what a legacy (2017.11.29) global table is."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _card_app(version: str) -> None:
    from gtcore.probes.status import RegionStatus
    from ui.home import region_card

    region_card(RegionStatus(region="us-west-2", table="t", table_status="ACTIVE", global_table_version=version,
                             replicas={"eu-west-1": "ACTIVE"}), False)


def _markdown(version: str) -> list[str]:
    at = AppTest.from_function(_card_app, args=(version,)).run()
    assert not at.exception
    return [m.value for m in at.markdown]


def test_region_card_names_a_legacy_global_table_and_the_upgrade() -> None:
    shown = _markdown("2017.11.29")
    assert any(text.startswith("Legacy 2017.11.29 global table: upgrade to 2019.11.21") for text in shown)
    assert not any("2017.11.29" in text for text in _markdown("2019.11.21"))
