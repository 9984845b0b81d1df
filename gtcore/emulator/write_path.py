"""One DynamoDB request through moto, all or nothing: the gateway's DynamoDB path.

Every JSON request whose X-Amz-Target names DynamoDB, in any letter case (moto accepts
`dynamodb_20120810.PutItem` and applies it), comes here: the target is rewritten to its
canonical spelling, the body is parsed once (AWS's SerializationException for what is not a
JSON object), and under the region's lock the request is checked whole before moto sees it,
run inside a write journal, and checked again by what it wrote. A request that fails anywhere
is undone from the journal; one that succeeds hands its writes to the replication engine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from gtcore.emulator.input_shapes import RequestRejected, parse_body
from gtcore.emulator.operations import PARSED_REQUEST
from gtcore.emulator.protocol import Headers
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.store import capture
from gtcore.emulator.validation import KeySchema, check_request, check_written

if TYPE_CHECKING:
    from moto.dynamodb.models.table import Table

    from gtcore.emulator import Emulator

Reply = tuple[int, Headers, bytes]

DYNAMODB_PREFIX = "DynamoDB_20120810"


@cache
def _operations() -> dict[str, str]:
    """DynamoDB's operation names by their lower-case spelling (from botocore's model)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("dynamodb")
    return {name.lower(): name for name in model.operation_names}


def dynamodb_operation(environ: dict[str, Any]) -> str | None:
    """The DynamoDB operation a request names, canonically spelt; None for other targets.
    The target header is rewritten to that spelling so moto and the capture agree on it."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    prefix, _, op = target.partition(".")
    if prefix.lower() != DYNAMODB_PREFIX.lower():
        return None
    op = _operations().get(op.lower(), op)
    environ["HTTP_X_AMZ_TARGET"] = f"{DYNAMODB_PREFIX}.{op}"
    return op


def read_request(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The request's JSON object, as the operations front parsed it (or parsed here, with the
    same rules, for a request that did not pass the front)."""
    parsed = environ.get(PARSED_REQUEST)
    if isinstance(parsed, dict):
        return parsed
    try:
        return parse_body(body)
    except RequestRejected as err:
        raise ApiError(err.code, err.message) from None


def key_schema(table: Table) -> KeySchema:
    types = {d["AttributeName"]: d["AttributeType"] for d in table.attr
             if isinstance(d, dict) and "AttributeName" in d and "AttributeType" in d}
    index_keys = tuple((index.name, k["AttributeName"]) for index in table.global_indexes
                       for k in index.schema)
    return KeySchema(hash_key=table.hash_key_attr, range_key=table.range_key_attr, types=types,
                     index_keys=index_keys)


def run_write(emu: Emulator, region: str, op: str, request: dict[str, Any],
              call: Callable[[], Reply]) -> Reply:
    """Check, run, check again, and keep or undo one request (the caller holds the region lock)."""
    def schemas(name: str) -> KeySchema | None:
        table = emu.store.table(region, name)
        return None if table is None else key_schema(table)

    check_request(op, request, schemas)
    with capture() as journal:
        status, headers, body = call()
        if status != 200:
            journal.undo()
            return status, headers, body
        written = [(region_, table, key, emu.store.read(region_, table, key))
                   for region_, table, key in sorted(journal.touched)]
        try:
            check_written(op, [image for *_, image in written])
        except ApiError:
            journal.undo()
            raise
    for region_, table, key, image in written:
        emu.engine.local_write(region_, table, key, image)
    return status, headers, body
