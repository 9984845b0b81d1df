"""Simulate a region failure the workshop's way: throttle the regional API function.

Throttling sets the function's reserved concurrency to 0 (the Lambda console's "Throttle"
button). Before changing anything, the value that was there is stored durably as a tag on the
function, ``gtcore:previous-concurrency`` = ``"none"`` (no reserved concurrency) or a number
(the *mark*), so a restart, a second dashboard or the CLI can restore EXACTLY that value later.

Only the target's own function (``<table>-dev``) in the target's regions is touched, and every
action refuses to run on a read-only target.

Throttle and restore may run at the same time (two dashboards, the CLI, a drill), and Lambda has
no lock and no conditional write for tags or concurrency. The invariant they keep is:

    When no action is in flight and gtcore's throttle is in force (reserved concurrency 0), the
    mark is there and holds the value from before that throttle. Otherwise the function is at
    that value, with no mark or with a mark holding that same value (harmless: the next restore
    removes it, the next throttle reuses it).

Three rules keep it, whatever the interleaving of the calls:

1. A throttle writes the mark *before* setting 0 (so a crash in between loses nothing), and
   *after* setting 0 reads the mark again and puts it back if it is gone while the concurrency
   is still 0 (a restore that ran in between took the mark for a leftover).
2. A restore sets the previous value first and removes the mark *after*; it then reads the
   concurrency again and puts the mark back if it is 0 (a throttle landed in between).
3. A throttle never records 0 as the previous value: a function at 0 without a mark was throttled
   by someone else (or by gtcore while a restore is between rules 2's removal and put-back), so
   it is left alone. Hence every mark written during one throttle holds the same value.

Rules 1 and 2 are the two halves of a write-then-read pair: the throttle writes concurrency 0
then reads the mark, the restore deletes the mark then reads the concurrency. For any throttle
and restore that overlap, one of the two reads comes after the other's write, so at least one
of them sees the damage and repairs it with the same value (rule 3). This relies on each read
seeing the writes that finished before it started: true of the emulator; AWS's documentation
says nothing either way about GetFunctionConcurrency and ListTags, and if one of them could
return a stale answer, a race landing within that staleness could still lose the mark. A crash
between two steps leaves either nothing changed or the mark beside the old value (restorable).
A person changing the concurrency by hand while gtcore's actions overlap can leave that value
in the mark instead.
"""

from __future__ import annotations

import contextlib
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


def _reserved(conn: Connection, region: str) -> int | None:
    # get_function omits Concurrency when it is 0 (moto): ask GetFunctionConcurrency.
    name = conn.target.function_name
    with wrap(f"read reserved concurrency of function {name}", region):
        value = conn.client("lambda", region).get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )
    return None if value is None else int(value)


def _mark_of(conn: Connection, region: str, arn: str) -> str | None:
    with wrap(f"read tags of function {conn.target.function_name}", region):
        return (conn.client("lambda", region).list_tags(Resource=arn).get("Tags") or {}).get(TAG)


def _read(conn: Connection, region: str) -> tuple[ThrottleState, str]:
    arn = _arn(conn, region)
    state = ThrottleState(
        region=region,
        function=conn.target.function_name,
        reserved=_reserved(conn, region),
        previous=_mark_of(conn, region, arn),
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


def _write_mark(conn: Connection, region: str, arn: str, mark: str) -> None:
    with wrap(f"record previous concurrency on function {conn.target.function_name}", region):
        conn.client("lambda", region).tag_resource(Resource=arn, Tags={TAG: mark})


def _keep_mark(conn: Connection, region: str, arn: str, mark: str) -> bool:
    """Rule 1's check after setting 0 (and rule 2's after removing the mark): when the function
    is at 0 and the mark is gone, put ``mark`` back. True when it had to."""
    if _mark_of(conn, region, arn) is not None or _reserved(conn, region) != 0:
        return False
    _write_mark(conn, region, arn, mark)
    return True


def _untag(conn: Connection, region: str, arn: str) -> None:
    with wrap(f"remove the mark from function {conn.target.function_name}", region):
        conn.client("lambda", region).untag_resource(Resource=arn, TagKeys=[TAG])


def _drop_mark(conn: Connection, region: str, arn: str, mark: str) -> bool:
    """Remove the mark, then put it back if a throttle has set 0 meanwhile (rule 2).

    True when the mark is gone for good, False when a throttle needs it and it stays."""
    _untag(conn, region, arn)
    return not _keep_mark(conn, region, arn, mark)


def throttle_region(conn: Connection, region: str) -> ThrottleChange:
    """Throttle the function in ``region`` (reserved concurrency 0), remembering the old value.

    Idempotent: throttling an already-marked function keeps the original mark. A function that
    is already at 0 without gtcore's mark is left alone (see rule 3 in the module docstring).
    """
    action = f"throttle function {conn.target.function_name}"
    _refuse_read_only(conn, action, region)
    _check_region(conn, region)
    before, arn = _read(conn, region)
    name = before.function
    if before.marked:
        previous = _parse_mark(before.previous, region)  # refuse to build on an unreadable mark
        mark = str(before.previous)
        note = ("already throttled by gtcore" if before.reserved == 0
                else f"throttled; will restore {_label(previous)} (gtcore's mark was already there)")
    elif before.reserved == 0:
        note = "already throttled, not by gtcore: left as is (unthrottle will not touch it)"
        return ThrottleChange(region, name, before, before, False, note)
    else:
        mark = _NONE if before.reserved is None else str(before.reserved)
        _write_mark(conn, region, arn, mark)  # durable first (rule 1)
        note = f"throttled; will restore {_label(before.reserved)}"
    if before.reserved != 0:
        try:
            _set(conn, region, 0)
        except GtError:
            if not before.marked:
                with contextlib.suppress(GtError):  # if it stays, restore puts back the same value
                    _drop_mark(conn, region, arn, mark)
            raise
    _keep_mark(conn, region, arn, mark)
    after = _read(conn, region)[0]
    return ThrottleChange(region, name, before, after, before.reserved != 0, note)


def restore_region(conn: Connection, region: str) -> ThrottleChange:
    """Put back exactly what was there before gtcore throttled ``region``, then drop the mark.

    A function without the mark is left alone (gtcore does not know its previous value). A mark
    on a function whose concurrency is no longer 0 means someone changed it since (or a throttle
    is on its way): the concurrency is left as it is and the mark removed, unless a throttle
    lands meanwhile (then it stays, see rule 2 in the module docstring).
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
    if previous == 0:  # an older gtcore recorded someone else's throttle: no throttle needs it
        _untag(conn, region, arn)
    elif not _drop_mark(conn, region, arn, str(before.previous)):
        note += f"; a throttle landed meanwhile, so it stays throttled (will restore {_label(previous)})"
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
