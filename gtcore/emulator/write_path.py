"""One DynamoDB request through moto, all or nothing: the gateway's DynamoDB path.

Every JSON request whose X-Amz-Target names DynamoDB, in any letter case (moto accepts
`dynamodb_20120810.PutItem` and applies it), comes here: the target is rewritten to its
canonical spelling, the body is parsed once (AWS's SerializationException for what is not a
JSON object), and under the region's lock the request is checked whole before moto sees it,
run inside a write journal, and checked again by what it wrote. A request that fails anywhere
is undone from the journal; one that succeeds hands its writes to the replication engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from gtcore.emulator.protocol import Headers
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.store import capture
from gtcore.emulator.validation import KeySchema, check_request, check_written

if TYPE_CHECKING:
    from moto.dynamodb.models.table import Table

    from gtcore.emulator import Emulator

Reply = tuple[int, Headers, bytes]

DYNAMODB_PREFIX = "DynamoDB_20120810"
MAX_BODY_BYTES = 16 * 1024 * 1024  # DynamoDB's own request limit


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
    """The request's JSON object; AWS's SerializationException for anything else."""
    if len(body) > MAX_BODY_BYTES:
        raise ApiError("ValidationException", "Request size exceeded 16777216 bytes", 413)
    if not body.strip():
        return {}
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError("SerializationException", "Start of structure or map found where not expected, "
                       "or the request body is not valid JSON") from None
    if not isinstance(request, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object")
    return request


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
