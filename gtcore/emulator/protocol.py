"""Error answers in the wire protocol each AWS client expects, and request inspection helpers."""

from __future__ import annotations

import http
import json
import logging
import re
import uuid
import zlib
from typing import Any
from xml.sax.saxutils import escape

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")

Headers = list[tuple[str, str]]
Reply = tuple[int, Headers, bytes]

_log = logging.getLogger(__name__)


def credential_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(region, service) from the SigV4 Authorization header or a presigned URL's query."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _SCOPE.search(auth)
    if not match:
        query = environ.get("QUERY_STRING", "")
        match = re.search(r"X-Amz-Credential=[^&/]+(?:/|%2F)\d{8}(?:/|%2F)([^&/%]+)(?:/|%2F)([^&/%]+)", query)
    return (match.group(1), match.group(2)) if match else (None, None)


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 24:
        head = bytes([0x60 | n])
    elif n < 256:
        head = bytes([0x78, n])
    else:
        head = bytes([0x79]) + n.to_bytes(2, "big")
    return head + data


def _cbor_map(values: dict[str, str]) -> bytes:
    """The tiny CBOR subset an error needs: a map of short text to text."""
    return bytes([0xA0 | len(values)]) + b"".join(
        _cbor_text(k) + _cbor_text(v) for k, v in values.items()
    )


def error_response(
    environ: dict[str, Any], service: str | None, status: int, code: str, message: str
) -> tuple[int, Headers, bytes]:
    """An AWS-shaped error for the protocol the request used (JSON, CBOR, REST-JSON or XML)."""
    request_id = str(uuid.uuid4())
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
        body = _cbor_map({"__type": code, "message": message})
        headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    elif target:
        prefix = "com.amazonaws.dynamodb.v20120810#" if target.startswith("DynamoDB") else ""
        body = json.dumps({"__type": prefix + code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amz-crc32", str(zlib.crc32(body)))]
    elif service == "lambda" or service is None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    headers += [("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
    return status, headers, body


def aws_json_response(payload: Any) -> Reply:
    """A 200 answer in the AWS JSON 1.0 protocol (DynamoDB, DynamoDB Streams), with the CRC32 botocore checks."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return 200, with_json_body([("Content-Type", "application/x-amz-json-1.0"),
                                ("x-amzn-RequestId", str(uuid.uuid4()))], body), body


def _query_protocol(environ: dict[str, Any], service: str | None) -> bool:
    """The request uses AWS's Query protocol (STS, IAM; CloudWatch's older clients): XML errors."""
    return not environ.get("HTTP_X_AMZ_TARGET") and service not in (None, "lambda") \
        and environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor"


def crash_reply(environ: dict[str, Any], service: str | None, err: Exception) -> Reply:
    """AWS's error, in the request's protocol, for a request moto raised on instead of answering.

    moto raises NotImplementedError for an operation it lacks (AWS: UnknownOperationException, or
    InvalidAction for Query-protocol services), and other exceptions for input it does not check
    (AWS rejects such input as invalid). Either way the client gets a fast 400 it does not retry,
    never the HTML 500 that werkzeug would make of it; the traceback goes to the emulator's log.
    """
    query_protocol = _query_protocol(environ, service)
    if isinstance(err, NotImplementedError):
        code = "InvalidAction" if query_protocol else "UnknownOperationException"
        return error_response(environ, service, 400, code, f"An unknown operation was requested: {err}")
    _log.error("moto raised on a %s request %s %s", service, environ.get("REQUEST_METHOD"),
               environ.get("HTTP_X_AMZ_TARGET") or environ.get("PATH_INFO"), exc_info=err)
    code = "ValidationError" if query_protocol else "ValidationException"
    return error_response(environ, service, 400, code,
                          f"The request could not be processed ({type(err).__name__}: {err}); check its parameters")


def without_html(environ: dict[str, Any], service: str | None, reply: Reply) -> Reply:
    """moto's error pages (Flask's HTML 404 for a REST path it has no route for, e.g. a Lambda
    operation it lacks) as AWS's error in the request's protocol; any other answer unchanged."""
    status, headers, _ = reply
    html = any(k.lower() == "content-type" and v.startswith("text/html") for k, v in headers)
    if status < 400 or not html:
        return reply
    code = "InvalidAction" if _query_protocol(environ, service) else "UnknownOperationException"
    what = f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}".strip()
    return error_response(environ, service, status if status < 500 else 400, code,
                          f"An unknown operation was requested: no {service or 'AWS'} operation at {what}")


def json_response(status: int, payload: Any) -> tuple[int, Headers, bytes]:
    body = json.dumps(payload, indent=1, sort_keys=True, default=str).encode()
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body


def with_json_body(headers: Headers, body: bytes) -> Headers:
    """Headers fixed up for a rewritten DynamoDB JSON body (length and the CRC32 botocore checks)."""
    drop = {"content-length", "x-amz-crc32"}
    kept = [(k, v) for k, v in headers if k.lower() not in drop]
    return kept + [("Content-Length", str(len(body))), ("x-amz-crc32", str(zlib.crc32(body)))]


def status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Status"
