"""The emulator's front door: one WSGI app in front of moto for every region and service.

It refuses what the operator did not send (see `access`), routes `/_emulator/...` to the control
API, `/_api/{region}/...` and API Gateway-shaped host names
(`{api-id}.execute-api.{region}.amazonaws.com.localhost`) to the regional API, `/_media/...` to the
catalog's media, `/_workshop/` to the project's page for them, and for AWS requests it reads the
region from the signature, refuses unknown regions (400, in the client's protocol) and isolated
ones (503, fast), runs DynamoDB requests all or nothing under a per-region lock (see `write_path`; moto
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
from gtcore.emulator.api_hosts import mount_host_api
from gtcore.emulator.media import make_media_app
from gtcore.emulator.protocol import (
    Headers,
    crash_reply,
    credential_scope,
    error_response,
    status_line,
    with_json_body,
    without_html,
)
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.workshop_page import make_workshop_app
from gtcore.emulator.write_path import dynamodb_operation, read_request, run_write
from gtcore.regional_urls import parse_api_host
from gtcore.regions import is_known_region
from gtcore.target import FUNCTION_NAME

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


def _guarded(app: WSGIApp) -> WSGIApp:
    """moto as a WSGI app whose exceptions become AWS errors in the client's protocol (never HTML 500s)."""
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = credential_scope(environ)[1]
        try:
            reply = without_html(environ, service, call_app(app, environ))
        except Exception as err:  # moto raised: see crash_reply
            reply = crash_reply(environ, service, err)
        return _respond(start_response, reply)

    return guarded


def _list_moto_modules_once() -> None:
    """moto's dispatcher lists its package folder (a stat per service, ~200) on every request, under
    its one process-wide lock (5% of the emulator's time under a room's load); the list cannot
    change while the process runs."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return modules

    listed.listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = listed  # type: ignore[assignment]


def _set_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


class Gateway:
    def __init__(self, emulator: Emulator, regional_api: WSGIApp, control_api: WSGIApp) -> None:
        self._emu = emulator
        _list_moto_modules_once()
        self._moto = _guarded(DomainDispatcherApplication(create_backend_app))
        self._regional_api = regional_api
        self._control_api = control_api
        self._media = make_media_app()
        self._workshop = make_workshop_app(self._api_regions)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        hosted = parse_api_host(environ.get("HTTP_HOST", ""))
        if hosted is not None:  # a name under .localhost: the regional API, with its open CORS
            return self._regional_by_host(environ, start_response, *hosted)
        refused = refusal(environ)
        if refused is not None:
            return _respond(start_response, refused)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_media/"):
            return self._media(environ, start_response)
        if path.startswith("/_workshop/"):
            return self._workshop(environ, start_response)
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
            if service == "dynamodb" and environ.get("HTTP_X_AMZ_TARGET"):
                early = self._emu.dynamodb_front.answer(environ, region or "us-east-1", _read_body(environ))
                if early is not None:
                    return _respond(start_response, early)
            if op is not None:
                return _respond(start_response, self._dynamodb(environ, region or "us-east-1", op))
            if service == "monitoring":
                self._emu.publisher.flush()
            if service == "lambda" and region is not None:
                return _respond(start_response, self._lambda(environ, region))
        except ApiError as err:
            return _respond(start_response, error_response(environ, service, err.status, err.code, err.message))
        except Exception as err:  # the emulator's own code raised: AWS's error, never werkzeug's HTML 500
            return _respond(start_response, crash_reply(environ, service, err))
        return self._moto(environ, start_response)

    @staticmethod
    def _isolated(environ: dict[str, Any], service: str | None, region: str) -> Reply:
        return error_response(
            environ, service, 503, "ServiceUnavailable",
            f"Region {region} is isolated by the emulator (a simulated regional outage); "
            "heal it from the Region failure page or `POST /_emulator/heal`",
        )

    # -- regional API --------------------------------------------------------------------
    def _api_regions(self) -> list[str]:
        """Regions with the workshop's function, in the order setup made them (home first)."""
        made: dict[str, str] = {}
        for region, backend in list(lambda_backends[self._emu.store.account_id].items()):
            for fn in list(backend.list_functions()):
                if fn.function_name == FUNCTION_NAME:
                    made[region] = str(fn.last_modified)
        return sorted(made, key=lambda r: (made[r], r))

    def _regional_by_host(self, environ: dict[str, Any], start_response: Callable[..., Any], api_id: str,
                          region: str) -> Iterable[bytes]:
        try:
            names = [fn.function_name for fn in lambda_backends[self._emu.store.account_id][region].list_functions()]
        except KeyError:
            names = []
        if not mount_host_api(environ, api_id, region, names):
            return _respond(start_response, error_response(
                environ, None, 404, "NotFound", f"No regional API {api_id} in {region}: use the URL "
                "`python -m setup up` or `python -m gtcore status` printed"))
        return self._regional(environ, start_response, environ["PATH_INFO"])

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
        strong = emu.strong.answer(region, op, request, lambda: call_app(self._moto, environ), self._with_extras)
        if strong is not None:  # an MRSC table's request (gtcore.emulator.strong)
            return strong
        with emu.store.region_lock(region):
            emu.engine.deliver_due(region)  # what is due is visible to this request, whatever the load
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
        extras = self._emu.strong.describe_extras(region, table, self._emu.replicas.describe_extras(region, table))
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
