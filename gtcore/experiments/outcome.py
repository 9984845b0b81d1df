"""How an experiment's client turns an exception into a history completion.

``fail`` means the operation definitely did not take effect: the service answered with a
client error (4xx: bad request, not found, access denied, throttled), or the request was
refused before it left (read-only target, bad parameters).  Everything else - timeouts,
dropped connections, 5xx answers - is ``info``: the write may or may not have been applied,
and a checker has to allow for both.
"""

from __future__ import annotations

from typing import Literal

from botocore import exceptions as bce

from gtcore.errors import (
    AccessDeniedError,
    ConfigError,
    CredentialsError,
    GtError,
    NotFoundError,
    ReadOnlyError,
    from_botocore,
)

# Errors that will not go away by retrying: an experiment stops on them.
FATAL: tuple[type[GtError], ...] = (
    AccessDeniedError,
    ConfigError,
    CredentialsError,
    NotFoundError,
    ReadOnlyError,
)


def classify(
    err: BaseException, action: str, region: str | None
) -> tuple[Literal["fail", "info"], GtError]:
    """The completion type for ``err`` and the GtError that explains it."""
    mapped = from_botocore(err, action, region)
    if mapped is None:
        mapped = GtError(f"{type(err).__name__}: {err}", action=action, region=region)
    if isinstance(err, bce.ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        definite = isinstance(status, int) and 400 <= status < 500
        return ("fail" if definite else "info"), mapped
    if isinstance(err, bce.ParamValidationError | ReadOnlyError | ConfigError):
        return "fail", mapped
    if isinstance(err, GtError) and not isinstance(err, FATAL):
        return "info", mapped
    if isinstance(err, bce.EndpointConnectionError | bce.ConnectTimeoutError):
        # the connection was never made: the request did not reach the service
        return "fail", mapped
    return "info", mapped


def is_fatal(err: GtError) -> bool:
    """True for errors that repeating the operation cannot fix (wrong table, no access)."""
    return isinstance(err, FATAL)
