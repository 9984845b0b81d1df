"""``setup down`` and the removal of one replica: remove what setup made, and nothing else."""

from __future__ import annotations

import time
from typing import Any

from gtcore import apis
from gtcore.errors import ConfigError, NotFoundError, ReadOnlyError, wrap
from gtcore.workshop.api_urls import UndeployFn
from gtcore.workshop.functions import _remove_functions
from gtcore.workshop.report import ProgressFn, WorkshopReport, _Run
from gtcore.workshop.strong_table import is_strong, remove_strong_members
from gtcore.workshop.table import (
    _deadline,
    _delete_replica,
    _describe,
    _find_anchor,
    _replica_states,
    _wait_seconds,
    _wait_table,
)
from gtcore.workshop.tags import CREATED_BY, _made_by_setup


def _is_tagged(run: _Run, region: str, desc: dict[str, Any]) -> bool:
    """Whether the table ``desc`` describes (in ``region``) carries setup's tag."""
    with wrap(f"read the tags of table {run.target.table}", region):
        resp = run.ddb(region).list_tags_of_resource(ResourceArn=desc["TableArn"])
    return _made_by_setup({t["Key"]: t["Value"] for t in resp.get("Tags", [])})


def teardown_workshop(
    conn: Any,
    *,
    progress: ProgressFn | None = None,
    force: bool = False,
    undeploy: UndeployFn | None = None,
    timeout: float | None = None,
) -> WorkshopReport:
    """Remove what :func:`provision_workshop` made, replicas first, and nothing else.

    The table is removed only when it carries setup's tag (or ``force=True``); replicas in
    regions outside ``conn.target.regions`` are kept, and then so is the home table. On the
    emulator the Lambda functions and IAM role made by setup go too; on AWS, ``undeploy``
    (the CLI's ``chalice delete``) removes APIs setup deployed.
    """
    target = conn.target
    if target.read_only:
        raise ReadOnlyError(
            "teardown deletes the table and replicas, and this target is read-only",
            hint="drop --read-only to run it",
            action="tear down the workshop",
        )
    run = _Run(conn, "down", progress, 1 + 3 * len(target.regions))
    wait = _wait_seconds(target, timeout)
    table = target.table

    started = time.monotonic()
    anchor = _find_anchor(run)
    home = anchor or target.regions[0]
    others = [r for r in target.regions if r != home]
    desc = _describe(run, home) if anchor else None
    if desc is None:
        run.record(f"table {table}", None, "absent", "in every region", started)
    else:
        if not _is_tagged(run, home, desc) and not force:
            raise ConfigError(
                f"table {table} in {home} was not made by `python -m setup up` "
                f"(no tag {CREATED_BY['Key']}={CREATED_BY['Value']}); not deleting it",
                hint="pass --force to delete it anyway, with its replicas in --regions",
                region=home,
                action="tear down the workshop",
            )
        present = _replica_states(desc)
        if is_strong(desc, home):  # MRSC members go two at once
            remove_strong_members(run, home, desc, wait)
            others = []
        for region in others:
            if region not in present:
                alone = _describe(run, region) is not None
                run.record(f"replica of {table}", region, "kept" if alone else "absent",
                           f"a separate table, not a replica of the one in {home}" if alone
                           else "")
                continue
            _delete_replica(run, home, region, wait)
        remaining = _describe(run, home) or {}
        extra = sorted(set(_replica_states(remaining)) - set(target.regions))
        started = time.monotonic()
        if extra:
            run.record(f"table {table}", home, "kept",
                       f"it still has replicas outside --regions: {', '.join(extra)}; "
                       "include them in --regions to remove everything", started)
        else:
            with wrap(f"delete table {table}", home):
                run.ddb(home).delete_table(TableName=table)
            _wait_table(run, home, lambda d: d is None, f"table {table} to go", _deadline(wait))
            run.record(f"table {table}", home, "deleted", "", started)

    if target.is_local:
        _remove_functions(run)
    elif undeploy is not None:
        for region in target.regions:
            started = time.monotonic()
            run.tell("api", "deleting the regional API (chalice delete)", region)
            if undeploy(table, region):
                apis.forget_api_url(table, region)
                run.record("regional API", region, "deleted", "", started)
            else:
                run.record("regional API", region, "absent", "not deployed by setup", started)
    return run.finish()


def remove_replica(
    conn: Any,
    region: str,
    *,
    progress: ProgressFn | None = None,
    force: bool = False,
    remove_api: bool = True,
    timeout: float | None = None,
) -> WorkshopReport:
    """Remove one replica (``region``) of the target's table, and nothing else.

    The request goes through another member region of ``conn.target.regions`` (so any replica,
    the home one included, can go while others remain; to remove the last copy use
    :func:`teardown_workshop`). Refused for a table setup did not make, unless ``force``.
    On the emulator, the regional API function setup made in that region goes too
    (``remove_api``).
    """
    target = conn.target
    if target.read_only:
        raise ReadOnlyError(
            f"removing the replica in {region} changes the table, and this target is read-only",
            hint="drop --read-only to do it",
            action=f"remove the replica in {region}",
        )
    table = target.table
    run = _Run(conn, "down", progress, 3)
    wait = _wait_seconds(target, timeout)
    candidates = [r for r in target.regions if r != region]
    via = next((r for r in candidates if _describe(run, r) is not None),
               candidates[0] if candidates else None)
    if via is None:
        raise ConfigError(
            f"{region} is the only region of the target; there is no other replica to ask",
            hint="list the table's other regions in --regions, or tear everything down",
            region=region,
            action=f"remove the replica in {region}",
        )
    desc = _describe(run, via)
    if desc is None:
        raise NotFoundError(
            f"table {table} does not exist in {via}",
            hint="check --table and --regions",
            region=via,
            action=f"remove the replica in {region}",
        )
    present = _replica_states(desc)
    if region not in present:
        run.record(f"replica of {table}", region, "absent", "")
    else:
        # Tags do not propagate to replicas: the tag is on the copy setup created first.
        tagged = _is_tagged(run, via, desc)
        if not tagged:
            own = _describe(run, region)
            tagged = own is not None and _is_tagged(run, region, own)
            if tagged:  # the copy that goes carries setup's tag: keep it on one that stays
                with wrap(f"tag table {table}", via):
                    run.ddb(via).tag_resource(ResourceArn=desc["TableArn"], Tags=[CREATED_BY])
        if not tagged and not force:
            raise ConfigError(
                f"table {table} was not made by `python -m setup up` "
                f"(no tag {CREATED_BY['Key']}={CREATED_BY['Value']} in {via}); "
                f"not removing its replica in {region}",
                hint="pass force=True (--force) to remove it anyway",
                region=region,
                action=f"remove the replica in {region}",
            )
        _delete_replica(run, via, region, wait)
    if target.is_local and remove_api:
        _remove_functions(run, regions=[region], role=False)
    return run.finish()
