"""Provisioning (``python -m setup up``): create what the workshop needs, in order (see
:mod:`gtcore.workshop`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gtcore.consistency import check_strong_members
from gtcore.errors import ConfigError, ReadOnlyError
from gtcore.workshop.api_urls import DeployFn, _check_apis, _ensure_api_urls
from gtcore.workshop.catalog_media import localize
from gtcore.workshop.functions import _ensure_functions
from gtcore.workshop.report import ProgressFn, WorkshopReport, _Run
from gtcore.workshop.sample_data import sample_items
from gtcore.workshop.sample_load import _load_items, _verify_items
from gtcore.workshop.strong_table import ensure_strong, is_strong
from gtcore.workshop.table import _describe, _ensure_replicas, _ensure_table, _find_anchor, _wait_seconds

EVENTUAL, STRONG = "EVENTUAL", "STRONG"


def provision_workshop(
    conn: Any,
    *,
    progress: ProgressFn | None = None,
    load_data: bool = True,
    deploy: DeployFn | None = None,
    discover: bool = True,
    timeout: float | None = None,
    sample_path: Path | str | None = None,
    consistency: str = EVENTUAL,
    witness: str | None = None,
) -> WorkshopReport:
    """Create what the workshop needs on ``conn.target``; see the package docstring.

    ``deploy(table, region) -> url`` deploys the regional API to AWS (the CLI passes one that
    runs ``chalice deploy`` when given ``--deploy-api``); without it, existing APIs are
    discovered (unless ``discover=False``). ``timeout`` bounds each wait (default 60 s on the
    emulator, 30 min on AWS). ``consistency="STRONG"`` makes the table an MRSC global table of the
    target's regions (three, or two and ``witness``, all in one Region set), before any data.
    """
    target = conn.target
    if target.read_only:
        raise ReadOnlyError(
            "setup creates the table, replicas and data, and this target is read-only",
            hint="drop --read-only (and read_only in the config) to run setup",
            action="set up the workshop",
        )
    if consistency not in (EVENTUAL, STRONG):
        raise ConfigError(f"consistency must be {EVENTUAL} or {STRONG}, got {consistency!r}")
    if witness and consistency != STRONG:
        raise ConfigError("a witness is for MRSC tables", hint="add --consistency strong")
    if consistency == STRONG:
        check_strong_members(target.regions, witness)
    items = sample_items(sample_path) if load_data else []
    if target.is_local:  # the emulator serves the catalog's media: no internet needed
        items = localize(items, target.endpoint)
    n = len(target.regions)
    total = 1 + (n - 1) + 1 + (2 if load_data else 0) + 2 * n + 1
    run = _Run(conn, "up", progress, total)
    wait = _wait_seconds(target, timeout)

    # The table's anchor: the first listed region that has it (a replica removed earlier may
    # have been the home one), else the home region, where it is created.
    home = _find_anchor(run) or target.regions[0]
    others = [r for r in target.regions if r != home]
    _ensure_table(run, home, wait)
    if consistency == STRONG:
        ensure_strong(run, home, others, witness, wait)  # MRSC members need an empty table: data after
        if load_data:
            _load_items(run, home, items)
    elif is_strong(_describe(run, home), home):
        raise ConfigError(f"table {target.table} is an MRSC (strong consistency) global table",
                          hint="pass --consistency strong, or tear it down first (`python -m setup down`)",
                          region=home, action="set up the workshop")
    else:
        if load_data:  # before the replicas: a new replica is backfilled with them, no lag to wait out
            _load_items(run, home, items)
        _ensure_replicas(run, home, others, wait)
    if load_data:
        _verify_items(run, items, wait)
    if target.is_local:
        _ensure_functions(run)
    else:
        _ensure_api_urls(run, deploy, discover)
    _check_apis(run)
    return run.finish()
