"""One region's way in for the conflict lab: DynamoDB UpdateItem (exact: returns the replaced
item) or the region's regional API (returns only the new value)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from gtcore.errors import ConfigError
from gtcore.experiments.conflict.config import ConflictConfig, Mode
from gtcore.history import jsonable

if TYPE_CHECKING:
    from gtcore.target import Connection


@dataclass(frozen=True)
class _Wrote:
    old: Any
    old_tag: str | None
    new: Any
    old_known: bool = True


class Port(Protocol):
    region: str

    def warm(self) -> None: ...

    def write(self, mode: Mode, amount: int, tag: str | None) -> _Wrote: ...

    def read(self) -> tuple[Any, str | None]: ...


def _number(attr: dict[str, Any] | None) -> Any:
    if not attr:
        return None
    if "N" in attr:
        value = Decimal(attr["N"])
        return int(value) if value == value.to_integral_value() else float(value)
    if "S" in attr:
        return attr["S"]
    return jsonable(attr)


def _string(attr: dict[str, Any] | None) -> str | None:
    return attr.get("S") if attr else None


class _DynamoPort:
    def __init__(self, conn: Connection, region: str, table: str, cfg: ConflictConfig,
                 sk: str) -> None:
        self.region = region
        self.table = table
        self.cfg = cfg
        self.client = conn.client("dynamodb", region)
        self.key = {"PK": {"S": cfg.pk}, "SK": {"S": sk}}

    def warm(self) -> None:
        self.read()

    def write(self, mode: Mode, amount: int, tag: str | None) -> _Wrote:
        names = {"#a": self.cfg.attribute}
        values: dict[str, Any] = {":v": {"N": str(amount)}}
        expr = "SET #a = :v" if mode == "set" else "SET #a = if_not_exists(#a, :z) + :v"
        if mode == "increment":
            values[":z"] = {"N": "0"}
        if self.cfg.tag_attribute and tag is not None:
            names["#t"] = self.cfg.tag_attribute
            values[":t"] = {"S": tag}
            expr += ", #t = :t"
        resp = self.client.update_item(
            TableName=self.table, Key=self.key, UpdateExpression=expr,
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        old_item = resp.get("Attributes") or {}
        old = _number(old_item.get(self.cfg.attribute))
        old_tag = _string(old_item.get(self.cfg.tag_attribute)) if self.cfg.tag_attribute else None
        new = amount if mode == "set" else (old or 0) + amount
        return _Wrote(old, old_tag, new)

    def read(self) -> tuple[Any, str | None]:
        names = {"#a": self.cfg.attribute}
        projection = "#a"
        if self.cfg.tag_attribute:
            names["#t"] = self.cfg.tag_attribute
            projection += ", #t"
        resp = self.client.get_item(
            TableName=self.table, Key=self.key, ConsistentRead=True,
            ProjectionExpression=projection, ExpressionAttributeNames=names,
        )
        item = resp.get("Item") or {}
        tag = _string(item.get(self.cfg.tag_attribute)) if self.cfg.tag_attribute else None
        return _number(item.get(self.cfg.attribute)), tag

    def put_initial(self, value: int, tag: str | None) -> None:
        item = {**self.key, self.cfg.attribute: {"N": str(value)}}
        if self.cfg.tag_attribute and tag is not None:
            item[self.cfg.tag_attribute] = {"S": tag}
        self.client.put_item(TableName=self.table, Item=item)

    def delete(self) -> None:
        self.client.delete_item(TableName=self.table, Key=self.key)


class _ApiPort:
    def __init__(self, conn: Connection, region: str, cfg: ConflictConfig, sk: str,
                 timeout: float) -> None:
        from gtcore.regional_client import RegionalApi

        url = conn.api_base_url(region)
        if not url:
            raise ConfigError(
                f"no regional API known for {region}",
                hint="deploy it (`python -m setup up`) or use the dynamodb path",
                region=region,
            )
        self.region = region
        self.api = RegionalApi(url, timeout=timeout, region=region)
        self.pk, self.sk = cfg.pk, sk

    def warm(self) -> None:
        self.api.ping()

    def write(self, mode: Mode, amount: int, tag: str | None) -> _Wrote:
        if mode == "set":
            reply = self.api.set_value(self.pk, self.sk, amount)
        else:
            reply = self.api.increment(self.pk, self.sk, amount)
        new = _number((reply.body.get("Attributes") or {}).get("Bookmark"))
        if mode == "increment" and isinstance(new, int | float):
            return _Wrote(new - amount, None, new)
        return _Wrote(None, None, new, old_known=False)

    def read(self) -> tuple[Any, str | None]:
        reply = self.api.get(self.pk, self.sk, consistent=True)
        item = reply.body.get("Item") or {}
        return _number(item.get("Bookmark")), None

    def put_initial(self, value: int, tag: str | None) -> None:
        self.api.set_value(self.pk, self.sk, value)

    def delete(self) -> None:  # the API has no delete route; the item stays
        return None


def open_ports(
    conn: Connection, regions: Sequence[str], table: str, cfg: ConflictConfig, sk: str,
    api_timeout: float,
) -> list[Port]:
    """One port per writer region, on the path the configuration asks for."""
    if cfg.path == "api":
        return [_ApiPort(conn, r, cfg, sk, api_timeout) for r in regions]
    return [_DynamoPort(conn, r, table, cfg, sk) for r in regions]
