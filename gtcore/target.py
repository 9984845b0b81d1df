"""What the dashboard talks to (a :class:`Target`) and how (a :class:`Connection`).

A Target names the regions (home region first), the table, and either a local endpoint (the
emulator) or real AWS with an optional profile. A Connection hands out cached, thread-safe
boto3 clients per (service, region) with explicit timeouts and retries; in read-only mode every
client refuses any operation that is not on an allow-list of reads.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.config

from gtcore.config_file import read_settings
from gtcore.errors import ConfigError, ReadOnlyError, wrap
from gtcore.regional_urls import emulator_api_url

__all__ = [
    "DEFAULT_REGIONS",
    "DEFAULT_TABLE",
    "FUNCTION_NAME",
    "Connection",
    "Target",
    "is_read_operation",
]

DEFAULT_REGIONS: tuple[str, ...] = ("us-west-2", "eu-west-1")
DEFAULT_TABLE = "global-serverless"
# The workshop's Chalice app "global-serverless", stage "dev".
FUNCTION_NAME = "global-serverless-dev"

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_regions(value: str | Iterable[str]) -> tuple[str, ...]:
    if not isinstance(value, str | list | tuple):
        raise ConfigError(
            f"regions must be a comma-separated string or a list of names, got {value!r}",
            hint="use names like us-west-2,eu-west-1 (home region first)",
        )
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for raw in items:
        if not isinstance(raw, str):
            raise ConfigError(f"region names must be strings, got {raw!r}")
        name = raw.strip()
        if not name:
            continue
        if not _REGION_RE.match(name):
            raise ConfigError(
                f"{name!r} is not an AWS region name",
                hint="use names like us-west-2,eu-west-1 (home region first)",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise ConfigError("no regions given", hint="pass at least one, e.g. --regions us-west-2")
    return tuple(out)


def _check_table(name: str) -> str:
    if not isinstance(name, str) or not _TABLE_RE.match(name):
        raise ConfigError(
            f"{name!r} is not a valid DynamoDB table name",
            hint="3-255 characters from A-Z a-z 0-9 _ - .",
        )
    return name


def _check_endpoint(url: str) -> str:
    try:
        parsed = urlparse(url) if isinstance(url, str) and url.isprintable() else None
        port = parsed.port if parsed is not None else None  # raises for a port that is no number
    except ValueError:
        parsed = port = None
    if (
        parsed is None
        or parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or " " in url
        or port == 0
    ):
        raise ConfigError(
            f"{url!r} is not an endpoint URL",
            hint="use e.g. http://127.0.0.1:4566 (or leave it unset for real AWS)",
        )
    # Credentials in the URL are never used (requests are signed with AWS keys) and never kept,
    # so no description, error, export or page can show them.
    return parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl().rstrip("/")


def _parse_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{what} must be true or false, got {value!r}")


def _load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    data = read_settings(p)
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table/object of settings")
    if isinstance(data.get("target"), dict):
        data = data["target"]
    known = {"regions", "table", "endpoint", "profile", "read_only"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"config file {p} has unknown keys: {', '.join(unknown)}",
            hint=f"known keys: {', '.join(sorted(known))}",
        )
    return data


@dataclass(frozen=True)
class Target:
    """The table and regions to look at, and where (local endpoint or real AWS)."""

    regions: tuple[str, ...]
    table: str = DEFAULT_TABLE
    endpoint: str | None = None
    profile: str | None = None
    read_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", _parse_regions(self.regions))
        _check_table(self.table)
        if self.endpoint is not None:
            object.__setattr__(self, "endpoint", _check_endpoint(self.endpoint))
        if self.profile is not None and not isinstance(self.profile, str):
            raise ConfigError(f"profile must be a profile name, got {self.profile!r}")
        if self.profile is not None and not self.profile.strip():
            object.__setattr__(self, "profile", None)

    @property
    def is_local(self) -> bool:
        """True when an explicit endpoint (the emulator) is used instead of real AWS."""
        return self.endpoint is not None

    @property
    def home(self) -> str:
        """The home region (first in ``regions``)."""
        return self.regions[0]

    @property
    def function_name(self) -> str:
        """The regional API's Lambda function for this table (Chalice stage "dev")."""
        return f"{self.table}-dev"

    def describe(self) -> str:
        """One line for people: where this target points (never credentials)."""
        where = f"endpoint {self.endpoint}" if self.is_local else "AWS"
        if self.profile and not self.is_local:
            where += f" (profile {self.profile})"
        ro = ", read-only" if self.read_only else ""
        return f"table {self.table} in {', '.join(self.regions)} on {where}{ro}"

    @classmethod
    def from_sources(
        cls,
        *,
        regions: str | Iterable[str] | None = None,
        table: str | None = None,
        endpoint: str | None = None,
        profile: str | None = None,
        read_only: bool | None = None,
        config_path: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> Target:
        """Build a Target: flags > environment > config file > defaults.

        Environment: AWS_PROFILE, AWS_ENDPOINT_URL, GT_REGIONS, GT_TABLE, GT_READ_ONLY,
        GT_CONFIG (config path when ``config_path`` is not given). The config file is TOML or
        JSON with keys regions, table, endpoint, profile, read_only (optionally under
        ``[target]``).
        """
        path = config_path if config_path is not None else env.get("GT_CONFIG") or None
        conf = _load_config(path) if path else {}

        def pick(flag: Any, env_key: str | None, conf_key: str, default: Any) -> Any:
            if flag is not None:
                return flag
            if env_key and env.get(env_key):
                return env[env_key]
            if conf.get(conf_key) is not None:
                return conf[conf_key]
            return default

        ro = pick(read_only, "GT_READ_ONLY", "read_only", False)
        return cls(
            regions=_parse_regions(pick(regions, "GT_REGIONS", "regions", DEFAULT_REGIONS)),
            table=pick(table, "GT_TABLE", "table", DEFAULT_TABLE),
            endpoint=pick(endpoint, "AWS_ENDPOINT_URL", "endpoint", None),
            profile=pick(profile, "AWS_PROFILE", "profile", None),
            read_only=_parse_bool(ro, "read_only"),
        )


# --- read-only allow-list --------------------------------------------------------------------

_READ_PREFIXES = ("Describe", "Get", "List", "BatchGet")
_READ_EXACT = frozenset({"Query", "Scan", "TransactGetItems", "LookupEvents"})
# "Get*" operations that change state or mint credentials: not reads for our purposes.
_NOT_READS = frozenset({"GetSessionToken", "GetFederationToken"})
_PARTIQL_READ_RE = re.compile(r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*select\b", re.I | re.S)


def _is_select(statement: Any) -> bool:
    return isinstance(statement, str) and bool(_PARTIQL_READ_RE.match(statement))


def is_read_operation(operation: str, params: Mapping[str, Any] | None = None) -> bool:
    """True when ``operation`` (a botocore operation name) only reads.

    PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) counts as a read only
    when every statement is a SELECT.
    """
    params = params or {}
    if operation in _NOT_READS:
        return False
    if operation in _READ_EXACT or operation.startswith(_READ_PREFIXES):
        return True
    if operation == "ExecuteStatement":
        return _is_select(params.get("Statement"))
    if operation == "BatchExecuteStatement":
        stmts = params.get("Statements") or []
        return bool(stmts) and all(_is_select(s.get("Statement")) for s in stmts)
    if operation == "ExecuteTransaction":
        stmts = params.get("TransactStatements") or []
        return bool(stmts) and all(_is_select(s.get("Statement")) for s in stmts)
    return False


_PARAMS_KEY = "gtcore_api_params"


def _remember_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
    # before-parameter-build sees the API parameters; before-call only sees the serialized
    # request. Keep the former in the per-call context for the guard below.
    context[_PARAMS_KEY] = dict(params)


def _make_read_only_guard(service: str, region: str):
    def guard(model: Any, context: Mapping[str, Any] | None = None, **_: Any) -> None:
        api_params = (context or {}).get(_PARAMS_KEY) or {}
        if not is_read_operation(model.name, api_params):
            raise ReadOnlyError(
                f"{service} {model.name} is a write or control-plane call and this target is "
                "read-only",
                hint="drop --read-only (and read_only in the config) to allow changes",
                region=region,
                action=f"call {service} {model.name}",
            )

    return guard


# --- connection ------------------------------------------------------------------------------

_DUMMY_KEY = "testing"


class Connection:
    """Thread-safe per-region boto3 clients for a Target."""

    target: Target

    def __init__(
        self,
        target: Target,
        *,
        session: boto3.Session | None = None,
        config: botocore.config.Config | None = None,
    ) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._session = session
        self._config = config

    def __repr__(self) -> str:
        return f"Connection({self.target.describe()})"

    @property
    def regions(self) -> tuple[str, ...]:
        return self.target.regions

    def _base_config(self) -> botocore.config.Config:
        if self.target.is_local:
            # Fail fast: the emulator is local, an isolated region answers 503 at once.
            connect_timeout, read_timeout, attempts = 2, 10, 1
        else:
            connect_timeout, read_timeout, attempts = 5, 20, 3
        base = botocore.config.Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": attempts},
            ignore_configured_endpoint_urls=True,
            max_pool_connections=20,
        )
        return base.merge(self._config) if self._config is not None else base

    def _get_session(self) -> boto3.Session:
        # Called with the lock held: boto3 sessions are not thread-safe.
        if self._session is None:
            if self.target.is_local:
                # Never walk the credential chain against a local endpoint (it could reach the
                # instance metadata service); use what the environment sets, else dummies.
                env = os.environ
                key = env.get("AWS_ACCESS_KEY_ID") or _DUMMY_KEY
                secret = env.get("AWS_SECRET_ACCESS_KEY") or _DUMMY_KEY
                token = env.get("AWS_SESSION_TOKEN") if env.get("AWS_ACCESS_KEY_ID") else None
                self._session = boto3.Session(
                    aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token
                )
            else:
                with wrap(f"open AWS profile {self.target.profile or '(default)'}"):
                    self._session = boto3.Session(profile_name=self.target.profile)
        return self._session

    def open(self) -> Connection:
        """Open the boto3 session now (no request is sent): an unknown profile is a
        :class:`CredentialsError` here, before a command starts, not one error per region."""
        with self._lock:
            self._get_session()
        return self

    def client(self, service: str, region: str) -> Any:
        """The cached boto3 client for ``service`` in ``region`` (built on first use)."""
        key = (service, region)
        found = self._clients.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                return found
            session = self._get_session()
            with wrap(f"create {service} client", region):
                client = session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.target.endpoint,
                    config=self._base_config(),
                )
            if self.target.read_only:
                events = client.meta.events
                events.register("before-parameter-build.*.*", _remember_params)
                events.register("before-call.*.*", _make_read_only_guard(service, region))
            self._clients[key] = client
            return client

    def identity(self) -> dict[str, str]:
        """Who the credentials belong to: {"Account": ..., "Arn": ...} (never the keys)."""
        region = self.target.home
        with wrap("identify the caller (STS GetCallerIdentity)", region):
            resp = self.client("sts", region).get_caller_identity()
        return {"Account": str(resp.get("Account", "")), "Arn": str(resp.get("Arn", ""))}

    def api_base_url(self, region: str) -> str | None:
        """Base URL of the regional API in ``region`` (None when not known)."""
        if self.target.is_local:
            # The emulator serves one API per function; the workshop's own has the short URL.
            function = None if self.target.function_name == FUNCTION_NAME else self.target.function_name
            return emulator_api_url(self.target.endpoint, region, function)
        from gtcore import apis  # owned by the setup engineer; imported lazily

        return apis.recorded_api_url(self.target.table, region)

    def close(self) -> None:
        """Close every cached client's connection pool."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            close = getattr(c, "close", None)
            if close is not None:
                close()
