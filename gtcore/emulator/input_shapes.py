"""Requests to JSON-protocol services checked against botocore's input shapes, worded as AWS words it.

AWS checks every request against the operation's input shape before anything else: a member of
the wrong JSON type is a `SerializationException`; a missing required member, a string or list
outside its length bounds, a number below its minimum, a value outside an enum or a name not
matching its pattern is a `ValidationException` listing every violation, e.g.
"1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member
must not be null". moto checks little of this and crashes on much of the rest (an HTML 500 the
AWS CLI retries for ~26 s), so the gateway runs this check first.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import OperationNotFoundError, ServiceModel, Shape

MAX_NESTING = 32  # DynamoDB: "Nesting Levels have exceeded supported limits" beyond 32 levels

_JSON_KIND = {str: "STRING_VALUE", bool: "BOOLEAN_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE"}
_TARGET_TYPE = {"string": "String", "integer": "Integer", "long": "Long", "double": "Double",
                "boolean": "Boolean", "blob": "Blob", "timestamp": "Date"}


@dataclass(frozen=True)
class RequestRejected(Exception):
    """The request fails AWS's input checks: answer `code` (HTTP 400) with `message`."""

    code: str
    message: str


@functools.cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> Shape | None:
    """The operation's input shape, or None when botocore's model has no such operation."""
    try:
        return service_model(service).operation_model(operation).input_shape
    except OperationNotFoundError:
        return None


MAX_BODY_BYTES = 16 * 1024 * 1024  # DynamoDB's own request limit


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON request body (empty means {}); malformed, too large or nested too deep is rejected as
    AWS does."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestRejected("ValidationException", f"Request size exceeded {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except RecursionError as err:
        raise RequestRejected("ValidationException", "Nesting Levels have exceeded supported limits") from err
    except ValueError as err:
        raise RequestRejected("SerializationException", f"Malformed JSON request body: {err}") from err
    if not isinstance(parsed, dict):
        raise RequestRejected("SerializationException", "Start of structure or map expected at the top level.")
    return parsed


def check(shape: Shape | None, request: dict[str, Any]) -> None:
    """Raise RequestRejected with AWS's code and wording if `request` does not fit `shape`."""
    if shape is None:
        return
    problems: list[str] = []
    _check_value(shape, request, "", problems, 0)
    if problems:
        count = len(problems)
        raise RequestRejected(
            "ValidationException",
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems),
        )


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def _member_path(parent: str, name: str) -> str:
    lowered = name[:1].lower() + name[1:]
    return f"{parent}.{lowered}" if parent else lowered


def _type_error(shape: Shape, value: Any) -> RequestRejected:
    if isinstance(value, dict):
        return RequestRejected("SerializationException", "Start of structure or map found where not expected.")
    if isinstance(value, list):
        return RequestRejected("SerializationException", "Start of list found where not expected.")
    kind = _JSON_KIND.get(type(value), "VALUE")
    return RequestRejected("SerializationException",
                           f"{kind} cannot be converted to {_TARGET_TYPE.get(shape.type_name, shape.type_name)}")


def _fits_type(shape: Shape, value: Any) -> bool:
    kind = shape.type_name
    if kind == "structure" or kind == "map":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind in ("string", "blob"):
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("double", "timestamp"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _check_value(shape: Shape, value: Any, path: str, problems: list[str], depth: int) -> None:
    if depth > MAX_NESTING:
        raise RequestRejected("ValidationException", "Nesting Levels have exceeded supported limits")
    if not _fits_type(shape, value):
        raise _type_error(shape, value)
    if shape.type_name == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(f"Value null at '{_member_path(path, name)}' failed to satisfy constraint: "
                                "Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check_value(member, value[name], _member_path(path, name), problems, depth + 1)
        return
    constraint = _constraint(shape, value)
    if constraint and path:
        problems.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: {constraint}")
    if shape.type_name == "list":
        for i, item in enumerate(value, start=1):
            _check_value(shape.member, item, f"{path}.{i}.member", problems, depth + 1)
    elif shape.type_name == "map":
        for key, item in value.items():
            _check_value(shape.value, item, f"{path}.{key}", problems, depth + 1)


def _constraint(shape: Shape, value: Any) -> str | None:
    meta = shape.metadata
    if shape.type_name in ("string", "list", "map", "blob"):
        size = len(value)
        if "min" in meta and size < meta["min"]:
            return f"Member must have length greater than or equal to {meta['min']}"
        if "max" in meta and size > meta["max"]:
            return f"Member must have length less than or equal to {meta['max']}"
    if shape.type_name in ("integer", "long", "double"):
        if "min" in meta and value < meta["min"]:
            return f"Member must have value greater than or equal to {meta['min']}"
        if "max" in meta and value > meta["max"]:
            return f"Member must have value less than or equal to {meta['max']}"
    if shape.type_name == "string":
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            return f"Member must satisfy enum value set: [{', '.join(enum)}]"
        pattern = meta.get("pattern")
        if pattern and _full_match(pattern, value) is False:
            return f"Member must satisfy regular expression pattern: {pattern}"
    return None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: AWS checks it, we cannot; let the value through
        return None


def _full_match(pattern: str, value: str) -> bool | None:
    compiled = _compiled(pattern)
    return None if compiled is None else compiled.fullmatch(value) is not None
