"""The workshop's regional API, served by the emulator as API Gateway in front of Lambda.

The gateway mounts :func:`make_regional_api` at ``{endpoint}/_api/{region}``: it calls the WSGI
app with ``PATH_INFO`` set to the rest of the path (``/api/scan``) and
``environ["gtcore.region"]``. For each request this app does what API Gateway and Lambda would:

* looks up the region's Lambda function in moto's Lambda backend (in-process). One API per
  function, as API Gateway has one per Chalice stack: ``/_api/{region}/{function}/api/...``
  calls that function; the short ``/_api/{region}/api/...`` calls ``global-serverless-dev`` if
  it exists, else the most recently updated function ``python -m setup up`` made. No function:
  404 with a JSON message saying the API is not deployed there;
* reserved concurrency 0 (the console's "Throttle"): HTTP 500 ``{"message": "Internal server
  error"}``, as API Gateway answers when Lambda throttles; reserved concurrency N: at most N
  requests run at once in that region, the others get the same 500. Like API Gateway's default
  5XX gateway response it carries no CORS headers (an API has them only if it configures them),
  so a browser page sees a failed fetch, as it would on AWS;
* otherwise runs the Chalice app the emulator's starter handed in (a :class:`FunctionCode`;
  the workshop's launcher hands in ``setup/api/chalicelib/routes.py``) through Chalice's
  ``LocalGateway``, one app instance per concurrent request ("execution environment"), bound to
  the region and to the table in the function's ``TABLE_NAME``, talking to DynamoDB over HTTP
  at the emulator's endpoint exactly as the Lambda function would.

Path parameters are URL-decoded as API Gateway does (``%2F`` stays inside one parameter).
Every answer is ``application/json`` unless the function says otherwise (API Gateway's default
for a proxy integration) and carries ``x-amzn-RequestId`` and ``x-amz-apigw-id``.
Unknown paths answer 404 with the list of routes (API Gateway would say 403 "Missing
Authentication Token", which helps nobody).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import boto3
import boto3.session
import botocore.config
from chalice.config import Config as ChaliceConfig
from chalice.local import LambdaEventConverter, LocalGateway, LocalGatewayException, RouteMatcher
from moto.awslambda.models import lambda_backends

from gtcore.emulator.store import ACCOUNT_ID
from gtcore.target import FUNCTION_NAME
from gtcore.workshop.tags import _made_by_setup

__all__ = ["FunctionCode", "RegionalApiApp"]

STAGE = "api"

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass(frozen=True)
class FunctionCode:
    """The code every regional API function runs, handed to the emulator by whoever starts it.

    ``create_app(region=, table=, dynamodb=)`` builds the Chalice app for one region and table
    with the given DynamoDB client; ``app_name`` is the app's name (and the table it serves when
    the function names none); ``routes`` are listed in 404 answers.
    """

    app_name: str
    routes: tuple[str, ...]
    create_app: Callable[..., Any]


class _DecodingConverter(LambdaEventConverter):
    """Chalice's local event converter, with path parameters URL-decoded like API Gateway."""

    def create_lambda_event(self, method: str, path: str, headers: dict[str, str],
                            body: bytes | None = None) -> dict[str, Any]:
        event = super().create_lambda_event(method, path, headers, body)
        params = event.get("pathParameters") or {}
        event["pathParameters"] = {k: unquote(v) for k, v in params.items()}
        event["path"] = unquote(event["requestContext"]["path"])
        return event


class _Environment:
    """One warm "execution environment": a Chalice app instance bound to a region and table."""

    _create_lock = threading.Lock()  # boto3 sessions are not thread-safe to build clients on

    def __init__(self, code: FunctionCode, region: str, table: str, endpoint: str, function_name: str) -> None:
        with _Environment._create_lock:
            session = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            client = session.client(
                "dynamodb",
                region_name=region,
                endpoint_url=endpoint,
                config=botocore.config.Config(
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"mode": "standard", "total_max_attempts": 1},
                ),
            )
        app = code.create_app(region=region, table=table, dynamodb=client)
        config = ChaliceConfig(
            chalice_stage="dev",
            function_name=function_name,  # what the handler sees in its LambdaContext
            user_provided_params={"app_name": code.app_name, "lambda_timeout": 10,
                                  "lambda_memory_size": 256},
        )
        self.gateway = LocalGateway(app, config)
        self.gateway.event_converter = _DecodingConverter(RouteMatcher(list(app.routes)),
                                                          app.api.binary_types)


class RegionalApiApp:
    """WSGI app: the regional API of every region (see the module docstring)."""

    def __init__(self, emulator: Any, code: FunctionCode, *, account_id: str = ACCOUNT_ID) -> None:
        self._emulator = emulator
        self._code = code
        self._account = account_id
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, str], list[_Environment]] = {}
        self._busy: dict[tuple[str, str], int] = {}

    # -- Lambda side ----------------------------------------------------------------------
    def _function(self, region: str, name: str | None) -> Any | None:
        """The function behind the URL: the named one, else the workshop's default."""
        try:
            backend = lambda_backends[self._account][region]
        except KeyError:
            return None
        functions = list(backend.list_functions())
        wanted = name or FUNCTION_NAME
        for fn in functions:
            if fn.function_name == wanted:
                return fn
        if name is not None:
            return None
        ours = [fn for fn in functions if _made_by_setup(fn.tags or {})]
        if not ours:
            return None
        return max(ours, key=lambda fn: str(fn.last_modified))

    @staticmethod
    def _reserved(fn: Any) -> int | None:
        value = getattr(fn, "reserved_concurrency", None)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def _acquire(self, region: str, fn: Any, table: str) -> _Environment | None:
        """A warm environment, or None when reserved concurrency is exhausted (throttled)."""
        limit = self._reserved(fn)
        name = fn.function_name
        with self._lock:
            busy = self._busy.get((region, name), 0)
            if limit is not None and busy >= limit:
                return None
            self._busy[(region, name)] = busy + 1
            idle = self._idle.get((region, name, table))
            if idle:
                return idle.pop()
        try:
            return _Environment(self._code, region, table, self._emulator.endpoint, name)
        except BaseException:
            self._release(region, name, table, None)
            raise

    def _release(self, region: str, name: str, table: str, env: _Environment | None) -> None:
        with self._lock:
            self._busy[(region, name)] = max(self._busy.get((region, name), 1) - 1, 0)
            if env is not None:
                self._idle.setdefault((region, name, table), []).append(env)

    def environments(self) -> int:
        """Warm app environments kept for reuse (bounded by peak concurrency per function)."""
        with self._lock:
            return sum(len(envs) for envs in self._idle.values())

    # -- HTTP side --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        region = environ.get("gtcore.region") or ""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        raw_path = _raw_path(environ, region)
        query = environ.get("QUERY_STRING", "")
        request_id = str(uuid.uuid4())

        name, raw_path = _function_and_path(raw_path)
        if raw_path != f"/{STAGE}" and not raw_path.startswith(f"/{STAGE}/"):
            return _json(start_response, 404, {
                "message": f"No stage in {raw_path!r}: the regional API of {region} is at "
                f"/_api/{region}/{STAGE}/ or /_api/{region}/<function>/{STAGE}/ "
                f"(routes: {', '.join(self._code.routes)})",
            }, request_id)
        route_path = raw_path[len(STAGE) + 1:] or "/"

        fn = self._function(region, name)
        if fn is None:
            return _json(start_response, 404, {
                "message": f"The regional API is not deployed in {region}: there is no Lambda "
                f"function {name or FUNCTION_NAME} there. Run `python -m setup up` (with this region "
                "in --regions) to create it.",
                "Region": region,
            }, request_id)
        table = (fn.environment_vars or {}).get("TABLE_NAME") or self._code.app_name
        env = self._acquire(region, fn, table)
        if env is None:
            return _gateway_5xx(start_response, 500, request_id)
        keep: _Environment | None = None
        try:
            reply = env.gateway.handle_request(
                method,
                route_path + (f"?{query}" if query else ""),
                _request_headers(environ),
                _request_body(environ),
            )
            keep = env
        except LocalGatewayException as err:
            keep = env
            if err.CODE != 403:
                return _raw(start_response, err.CODE, dict(err.headers), err.body or b"")
            return _json(start_response, 404, {
                "message": f"No route {method} /{STAGE}{route_path} in the regional API; "
                f"routes: {', '.join(self._code.routes)}",
                "Region": region,
            }, request_id)
        except Exception:  # the function crashed: API Gateway answers 502 for a proxy integration
            return _gateway_5xx(start_response, 502, request_id)
        finally:
            self._release(region, fn.function_name, table, keep)
        return _from_proxy(start_response, reply, request_id)


# --- helpers -----------------------------------------------------------------------------


def _function_and_path(raw_path: str) -> tuple[str | None, str]:
    """Split ``/<function>/api/...`` (one API per function, like one API Gateway per stack)
    from ``/api/...`` (the workshop's default function)."""
    first, _, rest = raw_path.lstrip("/").partition("/")
    if first == STAGE or not first:
        return None, raw_path
    return unquote(first), "/" + rest


def _raw_path(environ: dict[str, Any], region: str) -> str:
    """The still percent-encoded path after ``/_api/{region}`` (PATH_INFO is decoded)."""
    decoded = environ.get("PATH_INFO", "") or "/"
    try:
        decoded_text = decoded.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        decoded_text = decoded
    prefix = f"/_api/{region}"
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(key)
        if not raw:
            continue
        raw = raw.split("?", 1)[0]
        if "://" in raw:  # absolute-form request target
            raw = "/" + raw.split("://", 1)[1].partition("/")[2]
        if raw.startswith(prefix):
            rest = raw[len(prefix):] or "/"
            if unquote(rest) == decoded_text:
                return rest
    return quote(decoded_text, safe="/")


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    headers.pop("authorization", None)  # never passed on (and not needed: no authorizers)
    return headers


def _request_body(environ: dict[str, Any]) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else None


def _status(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Unknown')}"


def _apigw_id() -> str:
    """API Gateway's per-request ``x-amz-apigw-id`` (16 characters)."""
    return base64.b64encode(uuid.uuid4().bytes[:12]).decode("ascii").replace("/", "_").replace("+", "-")


def _json(start_response: Callable[..., Any], status: int, body: dict[str, Any], request_id: str) -> list[bytes]:
    """The emulator's own 404s: JSON with CORS, so a page can show what is wrong with its URL."""
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*",
               "x-amzn-RequestId": request_id, "x-amz-apigw-id": _apigw_id()}
    return _raw(start_response, status, headers, data)


def _gateway_5xx(start_response: Callable[..., Any], status: int, request_id: str) -> list[bytes]:
    """API Gateway's default 5XX gateway response: its headers, and no CORS headers."""
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id,
               "x-amzn-ErrorType": "InternalServerErrorException", "x-amz-apigw-id": _apigw_id()}
    return _raw(start_response, status, headers, b'{"message": "Internal server error"}')


def _raw(start_response: Callable[..., Any], status: int, headers: dict[str, str],
         body: bytes) -> list[bytes]:
    out = [(k, str(v)) for k, v in headers.items() if k.lower() != "content-length"]
    out.append(("Content-Length", str(len(body))))
    start_response(_status(status), out)
    return [body]


def _from_proxy(start_response: Callable[..., Any], reply: dict[str, Any],
                request_id: str) -> list[bytes]:
    status = int(reply.get("statusCode") or 502)
    body = reply.get("body") or b""
    if reply.get("isBase64Encoded") and isinstance(body, str):
        data = base64.b64decode(body)
    else:
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    headers = {k: str(v) for k, v in (reply.get("headers") or {}).items()}
    for k, values in (reply.get("multiValueHeaders") or {}).items():
        headers[k] = ", ".join(str(v) for v in values)
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    headers.setdefault("x-amzn-RequestId", request_id)
    headers.setdefault("x-amz-apigw-id", _apigw_id())
    return _raw(start_response, status, headers, data)
