"""Routes of the workshop's regional API (Chalice app ``global-serverless``).

The workshop's GET routes and answers are kept (``/``, ``/scan``, ``/query/{PK}``,
``/get/{PK}/{SK}``, ``/update/{PK}/{SK}/{VAL}``, ``/update/{PK}/{SK}/{VAL}/{THUMB}``; items in
DynamoDB JSON; ``Latency`` in ms; CORS on), and its defects are fixed:

* a DynamoDB failure answers 5xx with a JSON error (the workshop answered 200), a rejected
  request 400; bad paths and values get a 4xx with a message saying what was wrong;
* every answer names the region that served it (``Region``) and its DynamoDB time (``Latency``);
* ``/set/{PK}/{SK}/{VAL}`` is an idempotent ``SET Bookmark = VAL`` beside the increment route;
* ``/health`` does a real, strongly consistent read of the table;
* reads take ``?consistent=true`` for a strongly consistent read.

``create_app`` builds an app bound to one region and table; Lambda uses the environment
(``AWS_REGION``, ``TABLE_NAME``), the local emulator passes its own client per region.
This module imports only chalice, boto3 and the standard library (it ships in the Lambda zip).
"""

from __future__ import annotations

import base64
import functools
import os
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Chalice, Response

APP_NAME = "global-serverless"
DEFAULT_TABLE = "global-serverless"
DEMO_PK = "user100"
DEMO_SK = "AshlandValley"

MAX_PK_BYTES = 2048
MAX_SK_BYTES = 1024
MAX_THUMB_CHARS = 2048
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}

# DynamoDB error codes that mean "the request was wrong", answered 400; all others are 503.
_CLIENT_ERRORS = {"ValidationException", "ConditionalCheckFailedException"}

ROUTES = (
    "/",
    "/health",
    "/scan",
    "/query/{PK}",
    "/get/{PK}/{SK}",
    "/update/{PK}/{SK}/{VAL}",
    "/update/{PK}/{SK}/{VAL}/{THUMB}",
    "/set/{PK}/{SK}/{VAL}",
)

# A route's view function: path parts as keyword arguments in, an answer out.
View = Callable[..., Response]


class BadRequest(Exception):
    """A path part or query value the API refuses (answered 400)."""


def default_client(region: str | None) -> Any:
    """The DynamoDB client a Lambda function uses: its own region, short timeouts."""
    config = Config(
        connect_timeout=2,
        read_timeout=4,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.client("dynamodb", region_name=region, config=config)


def create_app(
    *,
    region: str | None = None,
    table: str | None = None,
    dynamodb: Any = None,
) -> Chalice:
    """The regional API for ``region`` over ``table``, calling DynamoDB through ``dynamodb``.

    Defaults come from the Lambda environment: ``AWS_REGION`` (set by Lambda), ``TABLE_NAME``
    (set in .chalice/config.json); the client defaults to :func:`default_client`.
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    table = table or os.environ.get("TABLE_NAME") or DEFAULT_TABLE
    clients = [dynamodb] if dynamodb is not None else []
    lock = threading.Lock()
    app = Chalice(app_name=APP_NAME)

    def client() -> Any:
        # Built on first use, so importing app.py (e.g. `chalice package`) needs no region.
        if not clients:
            with lock:
                if not clients:
                    clients.append(default_client(region))
        return clients[0]

    def answer(body: dict, status: int = 200, latency: float | None = None) -> Response:
        body = dict(body)
        body["Region"] = region
        body["Latency"] = round(latency, 2) if latency is not None else 0
        return Response(body=body, status_code=status, headers={"Cache-Control": "no-store"})

    def bad_request(err: BadRequest) -> Response:
        return answer({"Error": "BadRequest", "Message": str(err)}, 400)

    def call(op: str, **params: Any) -> tuple[dict | None, float, Response | None]:
        """Run one DynamoDB call; (response, ms, None) or (None, ms, error answer)."""
        tic = time.perf_counter()
        try:
            result = getattr(client(), op)(TableName=table, **params)
        except ClientError as err:
            ms = (time.perf_counter() - tic) * 1000.0
            return None, ms, _error_answer(answer, err, table, region, ms)
        except BotoCoreError as err:
            ms = (time.perf_counter() - tic) * 1000.0
            body = {
                "Error": type(err).__name__,
                "Message": f"DynamoDB in {region} did not answer: {err}",
                "Table": table,
            }
            return None, ms, answer(body, 503, ms)
        return result, (time.perf_counter() - tic) * 1000.0, None

    def consistent_param() -> bool:
        params = app.current_request.query_params or {}
        value = str(params.get("consistent", "false")).strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise BadRequest(f"consistent must be true or false, got {value!r}")

    def get_route(path: str) -> Callable[[View], View]:
        """``app.route`` for a GET route with CORS whose view may raise BadRequest while reading
        its path parts and query (answered 400)."""

        def register(view: View) -> View:
            @functools.wraps(view)
            def refusing_bad_requests(**parts: str) -> Response:
                try:
                    return view(**parts)
                except BadRequest as err:
                    return bad_request(err)

            return app.route(path, methods=["GET"], cors=True)(refusing_bad_requests)

        return register

    def read_items(op: str, consistent: bool, **params: Any) -> Response:
        """Scan or Query (``op``): the page of items, its count, whether more were left."""
        result, ms, failed = call(op, ConsistentRead=consistent, **params)
        if failed is not None:
            return failed
        items = [_jsonable(item) for item in result.get("Items", [])]
        body = {"Items": items, "Count": len(items), "ConsistentRead": consistent,
                "Truncated": "LastEvaluatedKey" in result}
        return answer(body, 200, ms)

    def update(key: dict, expression: str, values: dict, rejected_hint: str = "") -> Response:
        """UpdateItem ``expression`` on ``key``, answering the attributes it set; a rejected
        update (400) gets ``rejected_hint`` added to its message."""
        result, ms, failed = call(
            "update_item",
            Key=key,
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
        if failed is not None:
            if rejected_hint and failed.status_code == 400:
                failed.body["Message"] += rejected_hint
            return failed
        return answer(_updated(result, key), 200, ms)

    @get_route("/")
    def ping() -> Response:
        return answer({"ping": "ok"})

    @get_route("/health")
    def health() -> Response:
        key = {"PK": {"S": DEMO_PK}, "SK": {"S": DEMO_SK}}
        result, ms, failed = call("get_item", Key=key, ConsistentRead=True)
        if failed is not None:
            failed.body["status"] = "error"
            return failed
        return answer({"status": "ok", "Table": table, "ItemFound": "Item" in result}, 200, ms)

    @get_route("/scan")
    def scan() -> Response:
        return read_items("scan", consistent_param())

    @get_route("/query/{PK}")
    def query(PK: str) -> Response:  # noqa: N803 - the workshop's parameter names
        pk = _key_part(PK, "PK", MAX_PK_BYTES)
        return read_items(
            "query",
            consistent_param(),
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": "PK"},
            ExpressionAttributeValues={":pk": {"S": pk}},
        )

    @get_route("/get/{PK}/{SK}")
    def get(PK: str, SK: str) -> Response:  # noqa: N803
        key = _item_key(PK, SK)
        consistent = consistent_param()
        result, ms, failed = call("get_item", Key=key, ConsistentRead=consistent)
        if failed is not None:
            return failed
        item = result.get("Item")
        body = {"Item": _jsonable(item) if item is not None else None,
                "ConsistentRead": consistent}
        return answer(body, 200, ms)

    @get_route("/update/{PK}/{SK}/{VAL}")
    def increment(PK: str, SK: str, VAL: str) -> Response:  # noqa: N803
        key = _item_key(PK, SK)
        delta = _number(VAL, "VAL")
        return update(
            key,
            "SET Bookmark = Bookmark + :inc",
            {":inc": {"N": delta}},
            rejected_hint=f" (the item needs a numeric Bookmark to increment; "
            f"set one with /set/{PK}/{SK}/0)",
        )

    @get_route("/update/{PK}/{SK}/{VAL}/{THUMB}")
    def set_bookmark(PK: str, SK: str, VAL: str, THUMB: str) -> Response:  # noqa: N803
        key = _item_key(PK, SK)
        value = _fraction(VAL)
        thumb = _thumb(THUMB)
        return update(key, "SET bookmark = :val, thumb = :thumb",
                      {":val": {"S": value}, ":thumb": {"S": thumb}})

    @get_route("/set/{PK}/{SK}/{VAL}")
    def set_value(PK: str, SK: str, VAL: str) -> Response:  # noqa: N803
        key = _item_key(PK, SK)
        value = _number(VAL, "VAL")
        return update(key, "SET Bookmark = :val", {":val": {"N": value}})

    return app


# --- validation --------------------------------------------------------------------------


def _key_part(value: str | None, name: str, max_bytes: int) -> str:
    if value is None or value == "":
        raise BadRequest(f"{name} is empty")
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise BadRequest(f"{name} is {size} bytes long; DynamoDB allows at most {max_bytes}")
    return value


def _item_key(pk: str | None, sk: str | None) -> dict:
    return {
        "PK": {"S": _key_part(pk, "PK", MAX_PK_BYTES)},
        "SK": {"S": _key_part(sk, "SK", MAX_SK_BYTES)},
    }


def _number(value: str | None, name: str) -> str:
    text = (value or "").strip()
    if not _NUMBER_RE.match(text):
        raise BadRequest(f"{name} must be a number such as 1, -1 or 42, got {value!r}")
    try:
        number = Decimal(text)
    except InvalidOperation as err:  # pragma: no cover - the regex already rejects these
        raise BadRequest(f"{name} must be a number, got {value!r}") from err
    digits = len(number.as_tuple().digits)
    if digits > 38:
        raise BadRequest(f"{name} has {digits} digits; DynamoDB numbers have at most 38")
    return text


def _fraction(value: str | None) -> str:
    text = _number(value, "VAL")
    if Decimal(text) < 0:
        raise BadRequest(f"VAL is the fraction of the video watched, >= 0; got {value!r}")
    return text


def _thumb(value: str | None) -> str:
    if value is None or value.strip() == "":
        raise BadRequest("THUMB is empty")
    if len(value) > MAX_THUMB_CHARS:
        raise BadRequest(f"THUMB is {len(value)} characters; at most {MAX_THUMB_CHARS}")
    return value


# --- answers -----------------------------------------------------------------------------


def _updated(result: dict, key: dict) -> dict:
    return {
        "Attributes": _jsonable(result.get("Attributes", {})),
        "PK": key["PK"]["S"],
        "SK": key["SK"]["S"],
    }


def _error_answer(answer: Any, err: ClientError, table: str, region: str | None,
                  ms: float) -> Response:
    error = err.response.get("Error", {}) or {}
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or error.get("message") or code)
    if code == "ResourceNotFoundException":
        message = (f"table {table} does not exist in {region} ({message}); "
                   "create it with `python -m setup up`")
    status = 400 if code in _CLIENT_ERRORS else 503
    return answer({"Error": code, "Message": message, "Table": table}, status, ms)


def _jsonable(value: Any) -> Any:
    """DynamoDB JSON with binary values base64-encoded, so every item serializes."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value
