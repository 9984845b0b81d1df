"""Simulate a region failure the workshop's way: throttle the regional API function.

Throttling sets the function's reserved concurrency to 0 (the Lambda console's "Throttle"
button). Before changing anything, the value that was there is stored durably as a tag on the
function, ``gtcore:previous-concurrency`` = ``"none"`` (no reserved concurrency) or a number,
so a restart, a second dashboard or the CLI can restore EXACTLY that value later.

Only the target's own function (``<table>-dev``) in the target's regions is touched, and every
action refuses to run on a read-only target.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from gtcore.errors import ConfigError, GtError, ReadOnlyError, wrap
from gtcore.target import Connection

__all__ = [
    "TAG",
    "ThrottleChange",
    "ThrottleState",
    "restore_all",
    "restore_region",
    "throttle_region",
    "throttle_state",
    "throttle_states",
    "throttled_regions",
]

TAG = "gtcore:previous-concurrency"
_NONE = "none"


@dataclass(frozen=True)
class ThrottleState:
    """The function's reserved concurrency in one region and gtcore's mark, if any."""

    region: str
    function: str
    reserved: int | None = None  # None: no reserved concurrency (unreserved account pool)
    previous: str | None = None  # the mark: "none" or a number; None when not marked
    error: str | None = None  # the state could not be read

    @property
    def throttled(self) -> bool:
        return self.error is None and self.reserved == 0

    @property
    def marked(self) -> bool:
        """gtcore throttled it and remembers what to restore."""
        return self.previous is not None

    def describe(self) -> str:
        if self.error:
            return f"{self.region}: {self.error}"
        now = "unreserved" if self.reserved is None else f"reserved concurrency {self.reserved}"
        state = "THROTTLED" if self.throttled else "not throttled"
        text = f"{self.region}: {self.function} {state} ({now})"
        if self.marked:
            text += f"; gtcore will restore {_label(_parse_mark(self.previous, self.region))}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "throttled": self.throttled, "marked": self.marked}


@dataclass(frozen=True)
class ThrottleChange:
    """What an action did in one region."""

    region: str
    function: str
    before: ThrottleState
    after: ThrottleState
    changed: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "function": self.function,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "changed": self.changed,
            "note": self.note,
        }


def _label(value: int | None) -> str:
    return "unreserved (no setting)" if value is None else f"reserved concurrency {value}"


def _parse_mark(mark: str | None, region: str) -> int | None:
    if mark is None or mark == _NONE:
        return None
    if mark.isdigit():
        return int(mark)
    raise GtError(
        f"tag {TAG}={mark!r} is not 'none' or a number",
        hint=f"fix or remove the tag on the function in {region} by hand",
        region=region,
        action="read the throttle mark",
    )


def _check_region(conn: Connection, region: str) -> None:
    if region not in conn.target.regions:
        raise ConfigError(
            f"region {region} is not one of the target's regions "
            f"({', '.join(conn.target.regions)})",
            hint="pass it with --regions",
        )


def _refuse_read_only(conn: Connection, action: str, region: str | None) -> None:
    if conn.target.read_only:
        raise ReadOnlyError(
            "the target is read-only, so functions are never throttled or restored",
            hint="drop --read-only (and read_only in the config) to allow changes",
            region=region,
            action=action,
        )


def _arn(conn: Connection, region: str) -> str:
    name = conn.target.function_name
    with wrap(f"find function {name}", region):
        return conn.client("lambda", region).get_function(FunctionName=name)["Configuration"][
            "FunctionArn"
        ]


def _read(conn: Connection, region: str) -> tuple[ThrottleState, str]:
    name = conn.target.function_name
    lam = conn.client("lambda", region)
    arn = _arn(conn, region)
    # get_function omits Concurrency when it is 0 (moto): ask GetFunctionConcurrency.
    with wrap(f"read reserved concurrency of function {name}", region):
        value = lam.get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )
    with wrap(f"read tags of function {name}", region):
        tags = lam.list_tags(Resource=arn).get("Tags", {}) or {}
    state = ThrottleState(
        region=region,
        function=name,
        reserved=None if value is None else int(value),
        previous=tags.get(TAG),
    )
    return state, arn


def throttle_state(conn: Connection, region: str) -> ThrottleState:
    """Current reserved concurrency and gtcore mark of the function in ``region`` (read-only)."""
    _check_region(conn, region)
    return _read(conn, region)[0]


def throttle_states(conn: Connection) -> list[ThrottleState]:
    """:func:`throttle_state` for every region, concurrently; failures land in ``error``."""
    regions = conn.target.regions

    def one(region: str) -> ThrottleState:
        try:
            return _read(conn, region)[0]
        except GtError as err:
            return ThrottleState(region, conn.target.function_name, error=str(err))

    with ThreadPoolExecutor(max_workers=len(regions)) as pool:
        return list(pool.map(one, regions))


def throttled_regions(conn: Connection) -> list[str]:
    """Regions whose function is throttled now or carries gtcore's mark (restore pending)."""
    return [s.region for s in throttle_states(conn) if s.throttled or s.marked]


def _set(conn: Connection, region: str, value: int | None) -> None:
    name = conn.target.function_name
    lam = conn.client("lambda", region)
    with wrap(f"set reserved concurrency of function {name} to {_label(value)}", region):
        if value is None:
            lam.delete_function_concurrency(FunctionName=name)
        else:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=value)


def throttle_region(conn: Connection, region: str) -> ThrottleChange:
    """Throttle the function in ``region`` (reserved concurrency 0), remembering the old value.

    Idempotent: throttling an already-marked function keeps the original mark.
    """
    action = f"throttle function {conn.target.function_name}"
    _refuse_read_only(conn, action, region)
    _check_region(conn, region)
    before, arn = _read(conn, region)
    name = before.function
    lam = conn.client("lambda", region)
    if before.marked:
        _parse_mark(before.previous, region)  # refuse to build on an unreadable mark
        if before.reserved != 0:
            _set(conn, region, 0)
        after = _read(conn, region)[0]
        return ThrottleChange(
            region, name, before, after, before.reserved != 0, "already throttled by gtcore"
        )
    mark = _NONE if before.reserved is None else str(before.reserved)
    # Durable first: if the process dies right after, the previous value is still known.
    with wrap(f"record previous concurrency on function {name}", region):
        lam.tag_resource(Resource=arn, Tags={TAG: mark})
    try:
        _set(conn, region, 0)
    except GtError:
        try:
            with wrap(f"remove the mark from function {name}", region):
                lam.untag_resource(Resource=arn, TagKeys=[TAG])
        except GtError:
            pass  # the mark stays; restore will put back the same (unchanged) value
        raise
    after = _read(conn, region)[0]
    return ThrottleChange(
        region, name, before, after, True, f"throttled; will restore {_label(before.reserved)}"
    )


def restore_region(conn: Connection, region: str) -> ThrottleChange:
    """Put back exactly what was there before gtcore throttled ``region``, then drop the mark.

    A function without the mark is left alone (gtcore does not know its previous value). A mark
    on a function whose concurrency is no longer 0 means someone changed it since: the stale mark
    is removed and the concurrency left as it is.
    """
    action = f"restore function {conn.target.function_name}"
    _refuse_read_only(conn, action, region)
    _check_region(conn, region)
    before, arn = _read(conn, region)
    name = before.function
    if not before.marked:
        note = (
            "throttled, but not by gtcore: no record of the previous value; left as is"
            if before.throttled
            else "not throttled by gtcore; nothing to restore"
        )
        return ThrottleChange(region, name, before, before, False, note)
    previous = _parse_mark(before.previous, region)
    changed = False
    if before.reserved == 0:
        if previous != 0:
            _set(conn, region, previous)
            changed = True
        note = f"restored {_label(previous)}"
    else:
        note = (
            f"concurrency was changed since gtcore throttled it ({_label(before.reserved)}); "
            "left as is, stale mark removed"
        )
    with wrap(f"remove the mark from function {name}", region):
        conn.client("lambda", region).untag_resource(Resource=arn, TagKeys=[TAG])
    after = _read(conn, region)[0]
    return ThrottleChange(region, name, before, after, changed, note)


def restore_all(conn: Connection) -> list[ThrottleChange | GtError]:
    """Restore every marked region of the target; one entry per region (a change or its error).

    Regions without a mark are skipped (not listed).
    """
    _refuse_read_only(conn, f"restore function {conn.target.function_name}", None)
    out: list[ThrottleChange | GtError] = []
    for region in conn.target.regions:
        try:
            change = restore_region(conn, region)
        except GtError as err:
            out.append(err)
            continue
        if change.before.marked:
            out.append(change)
    return out
