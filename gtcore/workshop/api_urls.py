"""The regional API's URL in each region (deployed, discovered or the emulator's) and /health."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gtcore import apis
from gtcore.errors import GtError
from gtcore.regional_client import RegionalApi
from gtcore.regional_urls import check_api_url
from gtcore.workshop.report import ProgressFn, WorkshopReport, _Run

DeployFn = Callable[[str, str], str]  # (table, region) -> API URL
UndeployFn = Callable[[str, str], bool]  # (table, region) -> deleted something


def ensure_api_urls(
    conn: Any,
    *,
    deploy: DeployFn | None = None,
    discover: bool = True,
    progress: ProgressFn | None = None,
) -> WorkshopReport:
    """The AWS half of the regional API step: deploy or discover each region's API, record it.

    With ``deploy(table, region) -> url`` (``setup --deploy-api``: ``chalice deploy``) every
    region is deployed; otherwise REST APIs named after the table are discovered through API
    Gateway. Found URLs are recorded with :func:`gtcore.apis.record_api_url`, where
    ``Connection.api_base_url`` finds them. Regions without an API are reported as skipped.
    """
    run = _Run(conn, "up", progress, len(conn.target.regions))
    _ensure_api_urls(run, deploy, discover)
    return run.finish()


def _ensure_api_urls(run: _Run, deploy: DeployFn | None, discover: bool) -> None:
    table = run.target.table
    found: dict[str, str | None] = {}
    if deploy is None and discover:
        run.tell("api", "looking for deployed regional APIs (API Gateway)")
        try:
            found = apis.discover_api_urls(run.conn)
        except GtError as err:
            run.record("discover regional APIs", None, "failed", str(err))
            return
    for region in run.target.regions:
        started = time.monotonic()
        if deploy is not None:
            run.tell("api", "deploying the regional API (chalice deploy)", region)
            url: str | None = deploy(table, region)
        else:
            url = found.get(region)
        if not url:
            run.record("regional API", region, "skipped",
                       "none found; deploy it with `python -m setup up --deploy-api`", started)
            continue
        url = check_api_url(url, region)
        if apis.recorded_api_url(table, region) == url:
            run.record("regional API URL", region, "exists", url, started)
        else:
            apis.record_api_url(table, region, url)
            run.record("regional API URL", region, "recorded", url, started)


def _check_apis(run: _Run) -> None:
    for region in run.target.regions:
        started = time.monotonic()
        url = run.conn.api_base_url(region)
        run.report.api_urls[region] = url
        if not url:
            continue
        run.tell("api", f"calling {url}health", region)
        api = RegionalApi(url, timeout=10.0, raise_for_status=False, region=region)
        reply = api.health()
        if reply.ok and reply.region == region:
            run.record("regional API /health", region, "checked",
                       f"HTTP {reply.status}, DynamoDB {reply.db_latency_ms} ms", started)
        elif reply.status in (403, 404) and api.ping().ok:
            # API Gateway answers 403 for a route it does not know: the workshop's own app.
            run.record("regional API /health", region, "checked",
                       "it answers / but has no /health: the workshop's original app? "
                       "`python -m setup up --deploy-api` deploys this project's", started)
        else:
            why = reply.message or f"answered by {reply.region!r}"
            run.record("regional API /health", region, "failed",
                       f"{url}: HTTP {reply.status}: {why}", started)
