"""What DynamoDB refuses, refused at the source, before anything is written.

moto accepts things a real replica (and AWS) refuses: numbers out of DynamoDB's range or over 38
significant digits in update expressions, a batch whose later item is invalid (moto writes the
earlier ones first), and so on. A replica fed such a write could not apply it. So every write
request is checked here, whole, with AWS's error messages, before moto sees it
(:func:`check_request`), and every item a request wrote is checked again after it ran, before the
answer goes out (:func:`check_written`): that catches what only the result shows (an update that
grows the item past 400 KB, arithmetic past the number range). The gateway undoes a request that
fails either check, so a refused request changes nothing.

Pure functions over DynamoDB JSON; the table schemas come from the caller.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from gtcore.emulator.replicas import ApiError

MAX_ITEM_BYTES = 400 * 1024
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
MAX_BATCH_WRITES = 25
MAX_TRANSACT_ITEMS = 100
MAX_DIGITS = 38
MAX_EXPONENT = 125  # largest magnitude 9.9999999999999999999999999999999999999E+125
MIN_EXPONENT = -130  # smallest non-zero magnitude 1E-130

WRITE_OPERATIONS = frozenset({
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
    "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
})

_INVALID = "One or more parameter values were invalid: "
# AWS's own wording, spacing included (moto checked these against AWS).
_HASH_TOO_LONG = _INVALID + f"Size of hashkey has exceeded the maximum size limit of{MAX_HASH_KEY_BYTES} bytes"
_RANGE_TOO_LONG = (_INVALID + "Aggregated size of all range keys has exceeded the size limit of "
                   f"{MAX_RANGE_KEY_BYTES} bytes")
_NOT_A_NUMBER = "A value provided cannot be converted into a number"
_OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
_UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
_TOO_PRECISE = "Attempting to store more than 38 significant digits in a Number"
_ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
_UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"
_KEY_SCHEMA = "The provided key element does not match the schema"
_DUPLICATES = "Provided list of item keys contains duplicates"


@dataclass(frozen=True)
class KeySchema:
    """A table's key attributes and their declared types (S, N or B), and its index keys."""

    hash_key: str
    types: dict[str, str]
    range_key: str | None = None
    index_keys: tuple[tuple[str, str], ...] = field(default=())  # (index name, attribute)


Schemas = Callable[[str], KeySchema | None]  # table name -> schema (None: no such table)


def invalid(message: str) -> ApiError:
    return ApiError("ValidationException", message)


# -- numbers ----------------------------------------------------------------------------------
def check_number(text: Any) -> None:
    """Raise AWS's ValidationException for a number DynamoDB cannot store."""
    if not isinstance(text, str) or not text or text != text.strip() or "_" in text:
        raise invalid(_NOT_A_NUMBER)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise invalid(_NOT_A_NUMBER) from None
    if not value.is_finite():
        raise invalid(_NOT_A_NUMBER)
    if value.is_zero():
        return
    if _significant_digits(value) > MAX_DIGITS:
        raise invalid(_TOO_PRECISE)
    if value.adjusted() > MAX_EXPONENT:
        raise invalid(_OVERFLOW)
    if value.adjusted() < MIN_EXPONENT:
        raise invalid(_UNDERFLOW)


def _significant_digits(value: Decimal) -> int:
    """Digits without leading or trailing zeros (Decimal.normalize would round to 28 first)."""
    return len("".join(map(str, value.as_tuple().digits)).strip("0")) or 1


def _numbers(node: Any) -> Iterator[Any]:
    """Every number in a DynamoDB JSON document: {"N": text} and the members of {"NS": [...]}."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "N" and not isinstance(value, dict | list):
                yield value
            elif name == "NS" and isinstance(value, list):
                yield from value
            else:
                yield from _numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value)


def check_numbers(document: Any) -> None:
    for text in _numbers(document):
        check_number(text)


# -- sizes ------------------------------------------------------------------------------------
def _utf8(text: Any) -> int:
    return len(str(text).encode("utf-8", "surrogatepass"))


def _binary(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    try:
        return len(base64.b64decode(str(value), validate=False))
    except (binascii.Error, ValueError):
        return _utf8(value)


def _number_size(text: Any) -> int:
    try:
        digits = _significant_digits(Decimal(str(text)))
    except (InvalidOperation, TypeError):
        return _utf8(text)
    return (digits + 1) // 2 + 1


def value_size(value: Any) -> int:
    """The bytes a DynamoDB AttributeValue counts for (the developer guide's item size rules)."""
    if not isinstance(value, dict) or len(value) != 1:
        return _utf8(json.dumps(value, default=str))
    (kind, inner), = value.items()
    if kind == "S":
        return _utf8(inner)
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return _binary(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(v) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(_binary(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + _utf8(k) + value_size(v) for k, v in inner.items())
    return _utf8(json.dumps(inner, default=str))


def item_size(item: dict[str, Any]) -> int:
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


# -- keys -------------------------------------------------------------------------------------
def _type_of(value: Any) -> str:
    return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else "?"


def _check_key_value(schema: KeySchema, name: str, value: Any) -> None:
    expected, actual = schema.types.get(name, "S"), _type_of(value)
    if actual != expected:
        raise invalid(_INVALID + f"Type mismatch for key {name} expected: {expected} actual: {actual}")
    inner = value[actual]
    if inner in ("", b""):
        raise invalid("One or more parameter values are not valid. The AttributeValue for a key attribute "
                      f"cannot contain an empty {'string' if actual == 'S' else 'binary'} value. Key: {name}")
    if actual == "N":
        check_number(inner)
    size = value_size(value)
    if name == schema.hash_key and size > MAX_HASH_KEY_BYTES:
        raise invalid(_HASH_TOO_LONG)
    if name == schema.range_key and size > MAX_RANGE_KEY_BYTES:
        raise invalid(_RANGE_TOO_LONG)


def _key_names(schema: KeySchema) -> tuple[str, ...]:
    return (schema.hash_key,) if schema.range_key is None else (schema.hash_key, schema.range_key)


def _check_map(value: Any) -> None:
    """A map of AttributeValues, as the JSON protocol requires (moto fails on other shapes)."""
    if value is None:
        return
    if not isinstance(value, dict):
        found = "list" if isinstance(value, list) else "value"
        raise ApiError("SerializationException", f"Start of {found} found where not expected")
    for attribute in value.values():
        if not isinstance(attribute, dict) or len(attribute) != 1:
            raise invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def check_item(schema: KeySchema, item: Any) -> None:
    """An item to put: its key present, of the declared types, non-empty, within size."""
    _check_map(item)
    if item is None:
        return  # moto reports the missing parameter
    for name in _key_names(schema):
        if name not in item:
            raise invalid(_INVALID + f"Missing the key {name} in the item")
        _check_key_value(schema, name, item[name])
    for index, name in schema.index_keys:
        value = item.get(name)
        expected = schema.types.get(name)
        if value is not None and expected is not None and _type_of(value) != expected:
            raise invalid(_INVALID + f"Type mismatch for Index Key {name} Expected: {expected} "
                          f"Actual: {_type_of(value)} IndexName: {index}")
    check_numbers(item)
    if item_size(item) > MAX_ITEM_BYTES:
        raise invalid(_ITEM_TOO_LARGE)


def check_key(schema: KeySchema, key: Any) -> None:
    """A Key parameter: exactly the table's key attributes, each valid."""
    _check_map(key)
    if key is None:
        return
    if set(key) != set(_key_names(schema)):
        raise invalid(_KEY_SCHEMA)
    for name in _key_names(schema):
        _check_key_value(schema, name, key[name])


def key_text(schema: KeySchema, attrs: dict[str, Any]) -> str:
    return json.dumps({n: attrs.get(n) for n in _key_names(schema)}, sort_keys=True)


# -- requests ---------------------------------------------------------------------------------
def check_request(op: str, request: dict[str, Any], schemas: Schemas) -> None:
    """Raise ApiError (AWS's code and message) for a write request DynamoDB would refuse."""
    if op not in WRITE_OPERATIONS:
        return
    check_numbers(request)
    if op == "PutItem":
        _check_map(request.get("Item"))
        _with_schema(schemas, request, lambda s: check_item(s, request.get("Item")))
    elif op in ("UpdateItem", "DeleteItem"):
        _check_map(request.get("Key"))
        _with_schema(schemas, request, lambda s: check_key(s, request.get("Key")))
    elif op == "BatchWriteItem":
        _check_batch(request.get("RequestItems"), schemas)
    elif op == "TransactWriteItems":
        _check_transaction(request.get("TransactItems"), schemas)


def _with_schema(schemas: Schemas, params: Any, check: Callable[[KeySchema], None]) -> None:
    name = params.get("TableName") if isinstance(params, dict) else None
    schema = schemas(name) if isinstance(name, str) else None
    if schema is not None:  # an unknown table is moto's ResourceNotFoundException
        check(schema)


def _check_batch(request_items: Any, schemas: Schemas) -> None:
    if not isinstance(request_items, dict):
        return
    total = sum(len(v) for v in request_items.values() if isinstance(v, list))
    if total > MAX_BATCH_WRITES:
        raise invalid("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value "
                      f"must satisfy constraint: [Member must have length less than or equal to {MAX_BATCH_WRITES}, "
                      "Member must have length greater than or equal to 1]")
    for table, requests in request_items.items():
        schema = schemas(table) if isinstance(table, str) else None
        if schema is None or not isinstance(requests, list):
            continue
        seen: set[str] = set()
        for request in requests:
            if not isinstance(request, dict):
                continue
            put, delete = request.get("PutRequest"), request.get("DeleteRequest")
            if isinstance(put, dict):
                check_item(schema, put.get("Item"))
                attrs = put.get("Item")
            elif isinstance(delete, dict):
                check_key(schema, delete.get("Key"))
                attrs = delete.get("Key")
            else:
                continue
            text = key_text(schema, attrs if isinstance(attrs, dict) else {})
            if text in seen:
                raise invalid(_DUPLICATES)
            seen.add(text)


def _check_transaction(transact_items: Any, schemas: Schemas) -> None:
    if not isinstance(transact_items, list):
        return
    if len(transact_items) > MAX_TRANSACT_ITEMS:
        raise invalid("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
                      f"Member must have length less than or equal to {MAX_TRANSACT_ITEMS}")
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        (kind, params), = entry.items()
        if kind == "Put":
            _with_schema(schemas, params, lambda s, p=params: check_item(s, p.get("Item")))
        elif kind in ("Update", "Delete", "ConditionCheck"):
            _with_schema(schemas, params, lambda s, p=params: check_key(s, p.get("Key")))


def check_written(op: str, images: list[dict[str, Any] | None]) -> None:
    """The items a request left behind: what only the result shows (size, computed numbers)."""
    for image in images:
        if image is None:
            continue
        check_numbers(image)
        if item_size(image) > MAX_ITEM_BYTES:
            raise invalid(_UPDATE_TOO_LARGE if op == "UpdateItem" else _ITEM_TOO_LARGE)
