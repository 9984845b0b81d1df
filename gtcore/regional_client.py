"""HTTP client for the workshop's regional API (one per region), stdlib only.

The regional API is the Chalice app in ``setup/api`` (deployed per region behind API Gateway, or
served by the local emulator; see :mod:`gtcore.regional_urls` for the URL forms). Every answer is JSON; the
project's version of the app adds ``Region`` (who served it) and keeps the workshop's ``Latency``
(milliseconds spent in DynamoDB)::

    api = RegionalApi("http://127.0.0.1:5000/_api/eu-west-1/api/")
    reply = api.get("user100", "AshlandValley", consistent=True)
    reply.body["Item"], reply.region, reply.db_latency_ms, reply.rtt_ms

A non-2xx answer (e.g. API Gateway's 500 ``{"message": "Internal server error"}`` for a throttled
function) or no answer at all raises :class:`gtcore.errors.RegionUnavailableError`, unless the
client was made with ``raise_for_status=False``: then the reply is returned as is, and a failure
to connect comes back as ``status=0`` with ``body={"message": <why>}``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from gtcore.errors import ConfigError, RegionUnavailableError
from gtcore.regional_urls import check_api_url, loopback_target, region_from_url, route_url

__all__ = ["ApiReply", "RegionalApi"]

_MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class ApiReply:
    """One answer of the regional API.

    ``status`` is the HTTP status (0 when nothing answered); ``body`` the decoded JSON object
    (``{"raw": text}`` when the answer was not JSON); ``region`` the region the API says served
    the request (None when the answer does not say, e.g. a gateway error); ``db_latency_ms`` the
    API's ``Latency`` field; ``rtt_ms`` the round trip measured by this client.
    """

    status: int
    body: dict
    region: str | None
    db_latency_ms: float | None
    rtt_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str | None:
        """The API's error message, whichever key it used (None when there is none)."""
        return _message_of(self.body)


class RegionalApi:
    """Client for one region's API; thread-safe (no shared mutable state)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 3.0,
        raise_for_status: bool = True,
        region: str | None = None,
    ) -> None:
        base_url = check_api_url(base_url, region)
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        self.base_url = base_url
        self.timeout = float(timeout)
        self.raise_for_status = raise_for_status
        self.region = region or region_from_url(base_url)

    def __repr__(self) -> str:
        return f"RegionalApi({self.base_url!r}, region={self.region!r})"

    # --- routes --------------------------------------------------------------------------

    def ping(self) -> ApiReply:
        """``GET /``: the function answers (no DynamoDB call)."""
        return self.request(())

    def health(self) -> ApiReply:
        """``GET /health``: the function does a real, strongly consistent read of the table."""
        return self.request(("health",))

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> ApiReply:
        """``GET /get/{PK}/{SK}``: GetItem (``Item`` is None when absent)."""
        return self.request(("get", _key(pk, "pk"), _key(sk, "sk")), consistent=consistent)

    def query(self, pk: str, *, consistent: bool = False) -> ApiReply:
        """``GET /query/{PK}``: every item of a partition."""
        return self.request(("query", _key(pk, "pk")), consistent=consistent)

    def scan(self, *, consistent: bool = False) -> ApiReply:
        """``GET /scan``: the whole table (one page, as in the workshop)."""
        return self.request(("scan",), consistent=consistent)

    def increment(self, pk: str, sk: str, delta: int) -> ApiReply:
        """The workshop's ``/update/{PK}/{SK}/{VAL}``: ``SET Bookmark = Bookmark + VAL``.

        Not idempotent: a retried or conflicting increment can count twice or be lost.
        """
        return self.request(("update", _key(pk, "pk"), _key(sk, "sk"), _integer(delta, "delta")))

    def set_bookmark(self, pk: str, sk: str, value: str, thumb: str) -> ApiReply:
        """The player's ``/update/{PK}/{SK}/{VAL}/{THUMB}``: ``SET bookmark, thumb``.

        ``value`` is the fraction of the video watched (e.g. ``"0.137"``), stored as a string.
        """
        return self.request(
            ("update", _key(pk, "pk"), _key(sk, "sk"), _text(value, "value"), _text(thumb, "thumb"))
        )

    def set_value(self, pk: str, sk: str, value: int) -> ApiReply:
        """``/set/{PK}/{SK}/{VAL}``: the idempotent ``SET Bookmark = VAL``."""
        return self.request(("set", _key(pk, "pk"), _key(sk, "sk"), _integer(value, "value")))

    # --- transport -----------------------------------------------------------------------

    def url_for(self, parts: tuple[str, ...], *, consistent: bool = False) -> str:
        """The full URL of a route; each path part is percent-quoted (``/`` included)."""
        return route_url(self.base_url, parts, {"consistent": "true"} if consistent else None)

    def request(self, parts: tuple[str, ...], *, consistent: bool = False) -> ApiReply:
        """GET a route given as unquoted path parts; see the module docstring for errors."""
        url, host = loopback_target(self.url_for(parts, consistent=consistent))
        headers = {"Accept": "application/json", **({"Host": host} if host else {})}
        req = urllib.request.Request(url, method="GET", headers=headers)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                status = resp.status
                raw = resp.read(_MAX_BODY)
        except urllib.error.HTTPError as err:
            status = err.code
            try:
                raw = err.read(_MAX_BODY)
            except OSError:
                raw = b""
            finally:
                err.close()
        except OSError as err:  # URLError and timeouts are OSErrors
            rtt = (time.perf_counter() - start) * 1000.0
            why = _connection_reason(err)
            if self.raise_for_status:
                raise RegionUnavailableError(
                    f"regional API at {self.base_url} did not answer ({why})",
                    hint="check the URL and that the API is deployed and reachable "
                    "(`python -m setup up`); is the emulator running?",
                    region=self.region,
                    action=f"call regional API /{'/'.join(parts)}",
                ) from err
            return ApiReply(0, {"message": why}, None, None, rtt)
        rtt = (time.perf_counter() - start) * 1000.0
        body = _decode(raw)
        reply = ApiReply(
            status=status,
            body=body,
            region=_str_or_none(body.get("Region")),
            db_latency_ms=_float_or_none(body.get("Latency")),
            rtt_ms=rtt,
        )
        if self.raise_for_status and not reply.ok:
            message = reply.message or "no message"
            raise RegionUnavailableError(
                f"regional API at {self.base_url} answered HTTP {status}: {message}",
                hint=_hint_for(status),
                region=self.region,
                action=f"call regional API /{'/'.join(parts)}",
                code=f"HTTP{status}",
            )
        return reply


# --- helpers -----------------------------------------------------------------------------


def _key(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _integer(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    return str(value)


def _decode(raw: bytes) -> dict:
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"raw": text[:2000]}
    return data if isinstance(data, dict) else {"value": data}


def _message_of(body: dict) -> str | None:
    for key in ("Message", "message", "Error", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    raw = body.get("raw")
    if isinstance(raw, str) and raw.strip():
        return " ".join(raw.split())[:200]
    return None


def _hint_for(status: int) -> str:
    if status == 404:
        return "the route or the regional API is missing in this region; run `python -m setup up`"
    if status == 403:
        return "API Gateway knows no such route (it answers 403 for unknown paths); check the URL"
    if 400 <= status < 500:
        return "the request was rejected; check the key and value"
    if status == 500:
        return (
            "API Gateway answers 500 when the function fails or is throttled (reserved "
            "concurrency 0); check the function in this region"
        )
    return "the region's API or its DynamoDB table is unavailable; retry or fail over"


def _connection_reason(err: BaseException) -> str:
    reason = getattr(err, "reason", err)
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return f"{type(reason).__name__}: {reason}"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
