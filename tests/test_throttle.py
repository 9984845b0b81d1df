"""Throttle/restore the regional API function over HTTP: exact restore, durable mark, refusals."""

from __future__ import annotations

import io
import zipfile

import pytest

from gtcore.actions.throttle import (
    TAG,
    restore_all,
    restore_region,
    throttle_region,
    throttle_state,
    throttle_states,
    throttled_regions,
)
from gtcore.errors import ConfigError, GtError, NotFoundError, ReadOnlyError
from gtcore.target import Connection, Target

REGIONS = ("us-west-2", "eu-west-1")


@pytest.fixture
def endpoint(emulator):
    """The session emulator's endpoint (tests/conftest.py); tables are named per test."""
    return emulator.endpoint


def _deploy(conn: Connection, region: str, name: str, concurrency: int | None = None) -> None:
    iam = conn.client("iam", region)
    try:
        role = iam.get_role(RoleName="gt-throttle-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="gt-throttle-test", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lam = conn.client("lambda", region)
    lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
    )
    if concurrency is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=concurrency)


def _concurrency(conn: Connection, region: str, name: str) -> int | None:
    resp = conn.client("lambda", region).get_function_concurrency(FunctionName=name)
    return resp.get("ReservedConcurrentExecutions")


def _tags(conn: Connection, region: str, name: str) -> dict:
    lam = conn.client("lambda", region)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return lam.list_tags(Resource=arn).get("Tags", {})


def _record(conn: Connection, region: str) -> list[tuple[str, str]]:
    """Record (method, url) of every Lambda request that goes on the wire."""
    seen: list[tuple[str, str]] = []
    conn.client("lambda", region).meta.events.register(
        "before-send.lambda", lambda request, **kw: seen.append((request.method, request.url))
    )
    return seen


@pytest.fixture
def target_conn(endpoint, request):
    table = f"thr-{request.node.name[5:30].replace('_', '-')}".rstrip("-")
    return Connection(Target(regions=REGIONS, table=table, endpoint=endpoint))


def test_throttle_and_restore_with_no_previous_setting(target_conn, endpoint):
    conn = target_conn
    fn = conn.target.function_name
    for r in REGIONS:
        _deploy(conn, r, fn)

    change = throttle_region(conn, "eu-west-1")
    assert change.changed and change.before.reserved is None
    assert _concurrency(conn, "eu-west-1", fn) == 0
    assert _tags(conn, "eu-west-1", fn)[TAG] == "none"
    assert _concurrency(conn, "us-west-2", fn) is None  # the other region untouched

    # A second dashboard (or a restart) finds it and restores exactly "no setting".
    other = Connection(conn.target)
    assert throttled_regions(other) == ["eu-west-1"]
    st = throttle_state(other, "eu-west-1")
    assert st.throttled and st.marked and "restore unreserved" in st.describe()
    back = restore_region(other, "eu-west-1")
    assert back.changed and back.after.reserved is None and not back.after.marked
    assert _concurrency(conn, "eu-west-1", fn) is None
    assert TAG not in _tags(conn, "eu-west-1", fn)
    assert throttled_regions(other) == []


def test_throttle_restores_pre_existing_reserved_concurrency(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn, concurrency=25)
    _deploy(conn, "eu-west-1", fn)

    throttle_region(conn, "us-west-2")
    assert _concurrency(conn, "us-west-2", fn) == 0
    assert _tags(conn, "us-west-2", fn)[TAG] == "25"
    again = throttle_region(conn, "us-west-2")  # idempotent: the mark keeps the original 25
    assert not again.changed and _tags(conn, "us-west-2", fn)[TAG] == "25"

    back = restore_region(Connection(conn.target), "us-west-2")
    assert back.note == "restored reserved concurrency 25"
    assert _concurrency(conn, "us-west-2", fn) == 25
    assert TAG not in _tags(conn, "us-west-2", fn)
    # Restoring twice is harmless.
    assert not restore_region(conn, "us-west-2").changed
    assert _concurrency(conn, "us-west-2", fn) == 25


def test_only_the_configured_function_is_touched(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn)
    _deploy(conn, "us-west-2", "someone-elses-function", concurrency=7)
    seen = _record(conn, "us-west-2")
    throttle_region(conn, "us-west-2")
    restore_region(conn, "us-west-2")
    assert seen and all(fn in url for _, url in seen)
    assert _concurrency(conn, "us-west-2", "someone-elses-function") == 7
    assert TAG not in _tags(conn, "us-west-2", "someone-elses-function")


def test_read_only_refuses_before_any_call(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn, concurrency=3)
    ro = Connection(Target(regions=REGIONS, table=conn.target.table,
                           endpoint=conn.target.endpoint, read_only=True))
    seen = _record(ro, "us-west-2")
    for action in (throttle_region, restore_region):
        with pytest.raises(ReadOnlyError) as info:
            action(ro, "us-west-2")
        assert "read-only" in str(info.value)
    with pytest.raises(ReadOnlyError):
        restore_all(ro)
    assert seen == []
    assert _concurrency(conn, "us-west-2", fn) == 3
    # Reading the state is fine in read-only mode.
    assert throttle_state(ro, "us-west-2").reserved == 3


def test_console_throttle_is_not_ours_and_is_restored_as_it_was(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn, concurrency=0)  # someone pressed "Throttle" in the console
    assert throttled_regions(conn) == ["us-west-2"]
    assert "not by gtcore" in restore_region(conn, "us-west-2").note
    assert _concurrency(conn, "us-west-2", fn) == 0
    # gtcore never records 0 as "previous": it leaves someone else's throttle alone.
    change = throttle_region(conn, "us-west-2")
    assert not change.changed and "not by gtcore" in change.note
    assert TAG not in _tags(conn, "us-west-2", fn)
    restore_region(conn, "us-west-2")
    assert _concurrency(conn, "us-west-2", fn) == 0  # exactly what was there before
    assert TAG not in _tags(conn, "us-west-2", fn)


def test_stale_mark_after_manual_change_is_dropped_without_overwriting(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn)
    throttle_region(conn, "us-west-2")
    conn.client("lambda", "us-west-2").put_function_concurrency(
        FunctionName=fn, ReservedConcurrentExecutions=10
    )
    change = restore_region(conn, "us-west-2")
    assert not change.changed and "changed since" in change.note
    assert _concurrency(conn, "us-west-2", fn) == 10
    assert TAG not in _tags(conn, "us-west-2", fn)


def test_restore_all_and_per_region_errors(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn, concurrency=4)
    _deploy(conn, "eu-west-1", fn)
    throttle_region(conn, "us-west-2")
    throttle_region(conn, "eu-west-1")
    assert sorted(throttled_regions(conn)) == sorted(REGIONS)
    results = restore_all(conn)
    assert all(not isinstance(r, GtError) for r in results) and len(results) == 2
    assert _concurrency(conn, "us-west-2", fn) == 4
    assert _concurrency(conn, "eu-west-1", fn) is None
    assert throttled_regions(conn) == []
    assert restore_all(conn) == []  # nothing marked any more

    # A region of the target without the function: an error entry, not an exception.
    wide = Connection(Target(regions=(*REGIONS, "ap-south-1"), table=conn.target.table,
                             endpoint=conn.target.endpoint))
    states = {s.region: s for s in throttle_states(wide)}
    assert states["ap-south-1"].error and "ap-south-1" in states["ap-south-1"].error
    errors = [r for r in restore_all(wide) if isinstance(r, GtError)]
    assert len(errors) == 1 and isinstance(errors[0], NotFoundError)
    assert errors[0].region == "ap-south-1"


def test_failed_throttle_removes_the_mark(target_conn):
    conn = target_conn
    fn = conn.target.function_name
    _deploy(conn, "us-west-2", fn, concurrency=9)
    lam = conn.client("lambda", "us-west-2")

    def deny(**_):
        from botocore.awsrequest import AWSResponse

        class Raw:
            def stream(self, **_):
                yield b""

        body = b'{"Type":"User","message":"not allowed"}'
        resp = AWSResponse("http://x", 403, {"x-amzn-ErrorType": "AccessDeniedException"}, Raw())
        resp._content = body
        return resp

    lam.meta.events.register("before-send.lambda.PutFunctionConcurrency", deny)
    with pytest.raises(GtError) as info:
        throttle_region(conn, "us-west-2")
    assert info.value.kind == "access_denied"
    lam.meta.events.unregister("before-send.lambda.PutFunctionConcurrency", deny)
    assert _concurrency(conn, "us-west-2", fn) == 9
    assert TAG not in _tags(conn, "us-west-2", fn)


def test_region_outside_target_and_missing_function(target_conn):
    conn = target_conn
    with pytest.raises(ConfigError):
        throttle_region(conn, "ap-south-1")
    with pytest.raises(NotFoundError) as info:
        throttle_region(conn, "us-west-2")  # never deployed for this table
    assert conn.target.function_name in str(info.value)
