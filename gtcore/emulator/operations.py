"""DynamoDB and DynamoDB Streams requests answered before moto: AWS's answer for every operation.

In the order AWS applies them: an `X-Amz-Target` naming no operation of either service is
`UnknownOperationException`; the body must parse and fit the operation's input shape
(`input_shapes`: `SerializationException` / `ValidationException` with AWS's wording); the
operations the emulator implements itself (2017.11.29 global tables, contributor insights,
Kinesis streaming destinations, replica auto scaling, ListExports/ListImports) are answered here;
an operation in botocore's model that neither moto nor the emulator offers is
`UnknownOperationException`, as AWS answers in a region that lacks a feature. Everything else
goes on to moto (None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from gtcore.emulator.engine import ReplicationEngine
from gtcore.emulator.exports_imports import ExportsImports
from gtcore.emulator.input_shapes import RequestRejected, check, input_shape, parse_body, service_model
from gtcore.emulator.legacy_global_tables import LegacyGlobalTables
from gtcore.emulator.protocol import Reply, aws_json_response, error_response
from gtcore.emulator.replica_settings import ReplicaSettings
from gtcore.emulator.replicas import ReplicaManager
from gtcore.emulator.store import MotoStore
from gtcore.emulator.table_extras import TableExtrasStore
from gtcore.emulator.table_settings import TableSettings

Handler = Callable[[str, dict[str, Any]], dict[str, Any]]

_SERVICES = {"dynamodb_20120810": ("dynamodb", DynamoHandler),
             "dynamodbstreams_20120810": ("dynamodbstreams", DynamoDBStreamsHandler)}


def moto_offers(service: str, operation: str) -> bool:
    handler = next(cls for name, cls in _SERVICES.values() if name == service)
    return callable(getattr(handler, camelcase_to_underscores(operation), None))


class DynamoDBFront:
    def __init__(self, handlers: dict[str, Handler]) -> None:
        self._handlers = handlers

    def answer(self, environ: dict[str, Any], region: str, body: bytes) -> Reply | None:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix, _, operation = target.partition(".")
        service, _ = _SERVICES.get(prefix.lower(), (None, None))
        if service is None or operation not in service_model(service).operation_names:
            return _unknown(environ, f"{target or 'a request without X-Amz-Target'} names no DynamoDB or "
                            "DynamoDB Streams operation")
        handler = self._handlers.get(operation) if service == "dynamodb" else None
        if handler is None and not moto_offers(service, operation):
            return _unknown(environ, f"{operation} is an AWS operation this local emulator does not offer")
        try:
            request = parse_body(body)
            check(input_shape(service, operation), request)
        except RequestRejected as err:
            return error_response(environ, "dynamodb", 400, err.code, err.message)
        environ[PARSED_REQUEST] = request  # parsed once: the write path reads it from here
        return aws_json_response(handler(region, request)) if handler is not None else None


PARSED_REQUEST = "gtcore.request"


def _unknown(environ: dict[str, Any], why: str) -> Reply:
    return error_response(environ, "dynamodb", 400, "UnknownOperationException",
                          f"An unknown operation was requested: {why}")


def dynamodb_front(store: MotoStore, engine: ReplicationEngine, replicas: ReplicaManager, *,
                   settle_seconds: float) -> DynamoDBFront:
    """The front with every operation the emulator answers itself, wired to the replica manager
    (which shows replica overrides and the 2017.11.29 version in DescribeTable)."""
    extras = TableExtrasStore(store, settle_seconds=settle_seconds)
    replica_settings = ReplicaSettings(extras, engine)
    legacy = LegacyGlobalTables(extras, engine, replica_settings)
    replicas.attach(replica_settings, legacy)
    parts = (legacy, TableSettings(extras), replica_settings, ExportsImports(extras))
    return DynamoDBFront({operation: handler for part in parts for operation, handler in part.handlers().items()})
