"""The emulator's front door: one WSGI app in front of moto for every region and service.

It refuses what the operator did not send (see `access`), routes `/_emulator/...` to the control
API and `/_api/{region}/...` to the regional API, and for AWS requests it reads the region from
the signature, refuses unknown regions (400, in the client's protocol) and isolated ones (503,
fast), runs DynamoDB requests all or nothing under a per-region lock (see `write_path`; moto
has no locking), hands every successful item write to the replication engine, answers the
Global Tables control plane (ReplicaUpdates, DescribeTable's Replicas) and tops up two moto gaps
(CloudWatch sees latency published up to the moment it is asked; GetFunction reports reserved
concurrency 0).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from moto.awslambda.models import lambda_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from gtcore.emulator.access import refusal
from gtcore.emulator.protocol import (
    Headers,
    credential_scope,
    error_response,
    status_line,
    with_json_body,
)
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.write_path import dynamodb_operation, read_request, run_write
from gtcore.regions import is_known_region

if TYPE_CHECKING:
    from gtcore.emulator import Emulator

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Reply = tuple[int, Headers, bytes]

_DESCRIBING = {"DescribeTable", "CreateTable", "UpdateTable"}


def _respond(start_response: Callable[..., Any], reply: Reply) -> list[bytes]:
    status, headers, body = reply
    start_response(status_line(status), headers)
    return [body]


def call_app(app: WSGIApp, environ: dict[str, Any]) -> Reply:
    """Run a WSGI app to completion and return its whole answer."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
        seen["status"], seen["headers"] = status, list(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(seen["status"].split()[0]), seen["headers"], body


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _set_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


class Gateway:
    def __init__(self, emulator: Emulator, regional_api: WSGIApp, control_api: WSGIApp) -> None:
        self._emu = emulator
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._regional_api = regional_api
        self._control_api = control_api

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = refusal(environ)
        if refused is not None:
            return _respond(start_response, refused)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/") or path == "/_emulator":
            return self._control_api(environ, start_response)
        if path.startswith("/_api/"):
            return self._regional(environ, start_response, path)
        region, service = credential_scope(environ)
        if region is not None and not is_known_region(region):
            return _respond(start_response, error_response(
                environ, service, 400, "UnknownRegion",
                f"Unknown region {region!r}: the emulator serves the AWS commercial regions "
                "(for example us-west-2, eu-west-1); check the region name",
            ))
        if region is not None and self._emu.is_isolated(region):
            return _respond(start_response, self._isolated(environ, service, region))
        try:
            op = dynamodb_operation(environ) if service == "dynamodb" else None
            if op is not None:
                return _respond(start_response, self._dynamodb(environ, region or "us-east-1", op))
            if service == "monitoring":
                self._emu.publisher.flush()
            if service == "lambda" and region is not None:
                return _respond(start_response, self._lambda(environ, region))
        except ApiError as err:
            return _respond(start_response, error_response(environ, service, err.status, err.code, err.message))
        return self._moto(environ, start_response)

    @staticmethod
    def _isolated(environ: dict[str, Any], service: str | None, region: str) -> Reply:
        return error_response(
            environ, service, 503, "ServiceUnavailable",
            f"Region {region} is isolated by the emulator (a simulated regional outage); "
            "heal it from the Region failure page or `POST /_emulator/heal`",
        )

    # -- regional API --------------------------------------------------------------------
    def _regional(self, environ: dict[str, Any], start_response: Callable[..., Any], path: str) -> Iterable[bytes]:
        _, _, rest = path.partition("/_api/")
        region, _, remainder = rest.partition("/")
        if not is_known_region(region):
            return _respond(start_response, error_response(
                environ, None, 404, "NotFound", f"Unknown region {region!r} in the regional API URL"
            ))
        if self._emu.is_isolated(region):
            return _respond(start_response, self._isolated(environ, None, region))
        environ["PATH_INFO"] = "/" + remainder
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/_api/{region}"
        environ["gtcore.region"] = region
        return self._regional_api(environ, start_response)

    # -- DynamoDB ------------------------------------------------------------------------
    def _dynamodb(self, environ: dict[str, Any], region: str, op: str) -> Reply:
        request = read_request(environ, _read_body(environ))
        emu = self._emu
        with emu.store.region_lock(region):
            if op == "UpdateTable" and "ReplicaUpdates" in request:
                return self._update_replicas(environ, region, request)
            status, headers, body = run_write(emu, region, op, request, lambda: call_app(self._moto, environ))
            if status == 200:
                table = request.get("TableName")
                if op in _DESCRIBING and isinstance(table, str):
                    return self._with_extras(region, table, status, headers, body)
                if op == "DeleteTable" and isinstance(table, str):
                    emu.replicas.table_deleted(region, table)
                if op == "UpdateTimeToLive" and isinstance(table, str):
                    emu.replicas.ttl_updated(region, table)
            return status, headers, body

    def _update_replicas(self, environ: dict[str, Any], region: str, request: dict[str, Any]) -> Reply:
        table = request.get("TableName")
        if not isinstance(table, str):
            raise ApiError("ValidationException", "TableName is required")
        self._emu.replicas.apply_replica_updates(region, table, request["ReplicaUpdates"])
        rest = {k: v for k, v in request.items() if k != "ReplicaUpdates"}
        if set(rest) - {"TableName"}:
            _set_body(environ, json.dumps(rest).encode())
            environ["HTTP_X_AMZ_TARGET"] = "DynamoDB_20120810.UpdateTable"
        else:
            _set_body(environ, json.dumps({"TableName": table}).encode())
            environ["HTTP_X_AMZ_TARGET"] = "DynamoDB_20120810.DescribeTable"
        status, headers, body = call_app(self._moto, environ)
        if status != 200:
            return status, headers, body
        answer = json.loads(body)
        answer = {"TableDescription": answer.get("Table") or answer.get("TableDescription")}
        return self._with_extras(region, table, 200, headers, json.dumps(answer).encode())

    def _with_extras(self, region: str, table: str, status: int, headers: Headers, body: bytes) -> Reply:
        extras = self._emu.replicas.describe_extras(region, table)
        if not extras:
            return status, headers, body
        answer = json.loads(body)
        for wrapper in ("Table", "TableDescription"):
            if isinstance(answer.get(wrapper), dict):
                answer[wrapper].update(extras)
        body = json.dumps(answer).encode()
        return status, with_json_body(headers, body), body

    # -- Lambda --------------------------------------------------------------------------
    def _lambda(self, environ: dict[str, Any], region: str) -> Reply:
        status, headers, body = call_app(self._moto, environ)
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        is_get_function = environ.get("REQUEST_METHOD") == "GET" and len(parts) == 3 and parts[1] == "functions"
        if status != 200 or not is_get_function:
            return status, headers, body
        answer = json.loads(body)
        if "Concurrency" not in answer:
            name = answer.get("Configuration", {}).get("FunctionName", parts[2])
            try:
                reserved = lambda_backends[self._emu.store.account_id][region].get_function(name).reserved_concurrency
            except Exception:  # the function vanished between the two looks: answer as moto did
                reserved = None
            if reserved is not None:
                answer["Concurrency"] = {"ReservedConcurrentExecutions": int(reserved)}
                body = json.dumps(answer).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
        return status, headers, body
