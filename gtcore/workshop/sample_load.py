"""Load the sample items into the table (never overwriting one) and read them back everywhere."""

from __future__ import annotations

import time
from typing import Any

from gtcore.errors import GtError, wrap
from gtcore.workshop.report import _Run
from gtcore.workshop.table import _deadline


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"PK": item["PK"], "SK": item["SK"]}


def _key_text(item: dict[str, Any]) -> str:
    return f"{item['PK']['S']}/{item['SK']['S']}"


def _load_items(run: _Run, home: str, items: list[dict[str, Any]]) -> None:
    table = run.target.table
    started = time.monotonic()
    client = run.ddb(home)
    written, kept = 0, 0
    for n, item in enumerate(items, 1):
        run.tell("data", f"sample item {n}/{len(items)}: {_key_text(item)}", home)
        try:
            with wrap(f"write sample item {_key_text(item)}", home):
                client.put_item(
                    TableName=table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(PK)",
                )
            written += 1
        except GtError as err:
            if err.code != "ConditionalCheckFailedException":
                raise
            kept += 1
    outcome = "written" if written else "exists"
    detail = f"{written} written, {kept} already there (left as they are)"
    run.record(f"sample data ({len(items)} items)", home, outcome, detail, started)


def _batch_get(run: _Run, region: str, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    table = run.target.table
    found: dict[str, dict[str, Any]] = {}
    pending = list(keys)
    while pending:
        chunk, pending = pending[:100], pending[100:]
        request = {table: {"Keys": chunk, "ConsistentRead": True}}
        while request:
            with wrap(f"read back the sample items of {table}", region):
                resp = run.ddb(region).batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(table, []):
                found[_key_text(item)] = item
            request = resp.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.05)
    return found


def _verify_items(run: _Run, items: list[dict[str, Any]], wait: float) -> None:
    """Every sample item reads back in every region, as the home region holds it."""
    home = run.target.regions[0]
    keys = [_key_of(i) for i in items]
    expected = _batch_get(run, home, keys)
    missing_home = [k for k in map(_key_text, items) if k not in expected]
    if missing_home:
        raise GtError(
            f"sample items missing in {home} right after writing them: {missing_home}",
            region=home,
            action="check the sample data",
        )
    deadline = _deadline(wait)
    for region in run.target.regions:
        started = time.monotonic()
        while True:
            got = _batch_get(run, region, keys)
            differ = [k for k, item in expected.items() if got.get(k) != item]
            if not differ:
                run.record(f"read back {len(keys)} sample items", region, "checked",
                           "all present and equal to the home region's", started)
                break
            run.tell("verify", f"{len(differ)} item(s) not replicated yet", region)
            if time.monotonic() > deadline:
                run.record(f"read back {len(keys)} sample items", region, "failed",
                           f"{len(differ)} item(s) missing or different after {wait:.0f} s, "
                           f"e.g. {differ[0]}", started)
                break
            time.sleep(run.poll)
