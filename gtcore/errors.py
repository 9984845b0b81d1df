"""One error hierarchy for everything gtcore does against AWS or the emulator.

Every boto3/botocore failure that leaves gtcore is a :class:`GtError` (or a subclass), raised
``from`` the original botocore exception so the cause stays inspectable in logs and tests.
``str(err)`` is a single line a person can act on; it never contains credentials.

Use :func:`wrap` around boto3 calls::

    with wrap("read table global-serverless", "eu-west-1"):
        client.describe_table(TableName="global-serverless")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore import exceptions as bce

__all__ = [
    "AccessDeniedError",
    "ConfigError",
    "CredentialsError",
    "GtError",
    "NotFoundError",
    "ReadOnlyError",
    "RegionUnavailableError",
    "ThrottledError",
    "from_botocore",
    "scrub",
    "wrap",
]


class GtError(Exception):
    """Base class: something gtcore attempted (``action``) failed (in ``region``).

    Attributes:
        message: what went wrong, in plain words.
        hint: what the person can do about it (may be None).
        region: the AWS region involved (may be None).
        action: what was being attempted, e.g. "read table global-serverless".
        code: the AWS error code when the cause was a ClientError (may be None).
    """

    exit_code: int = 1
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        region: str | None = None,
        action: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = scrub(_one_line(message))
        self.hint = scrub(_one_line(hint)) if hint else None
        self.region = region
        self.action = action
        self.code = code
        super().__init__(self.message)

    @property
    def kind(self) -> str:
        """Short machine name of the error class, e.g. ``"not_found"``."""
        return _KIND.get(type(self), "error")

    def __str__(self) -> str:
        where = f" in {self.region}" if self.region else ""
        head = f"{self.action}{where}: " if self.action else (f"{self.region}: " if where else "")
        text = f"{head}{self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_dict(self) -> dict[str, str | None]:
        """JSON-friendly view (for --json output and UI)."""
        return {
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
            "region": self.region,
            "action": self.action,
            "code": self.code,
            "text": str(self),
        }


class ConfigError(GtError):
    """Bad input or configuration (CLI exit code 2)."""

    exit_code = 2


class CredentialsError(GtError):
    """No usable credentials: missing, unknown profile, invalid or expired token."""

    exit_code = 2


class AccessDeniedError(GtError):
    """The credentials are valid but not allowed to do this."""


class NotFoundError(GtError):
    """A table, replica, function or other resource does not exist where expected."""


class ThrottledError(GtError):
    """AWS throttled the request; retrying later should work."""

    retryable = True


class RegionUnavailableError(GtError):
    """The region did not answer: timeout, connection refused, 5xx, isolated region."""

    retryable = True


class ReadOnlyError(GtError):
    """A write or control-plane call was attempted while the target is read-only."""

    exit_code = 2


_KIND: dict[type, str] = {
    GtError: "error",
    ConfigError: "config",
    CredentialsError: "credentials",
    AccessDeniedError: "access_denied",
    NotFoundError: "not_found",
    ThrottledError: "throttled",
    RegionUnavailableError: "region_unavailable",
    ReadOnlyError: "read_only",
}

# --- scrubbing ---------------------------------------------------------------------------

_ACCESS_KEY_RE = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{12,}\b")
# Secret keys are 40 base64-ish characters; session tokens are much longer.
_SECRET_RE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40,}(?![A-Za-z0-9/+=])")
_SIG_RE = re.compile(r"(?i)(signature|credential|x-amz-security-token|token)=([^\s,&;]+)")
# user:password@ in a URL; up to the last "@" of the word, as a password may hold a raw "/".
_URL_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s'\"<>]*@")


def scrub(text: str) -> str:
    """Remove anything that looks like an access key, secret key, token, signature or the
    credentials in a URL (``http://user:password@host``)."""
    text = _URL_USERINFO_RE.sub(r"\1[redacted]@", text)
    text = _ACCESS_KEY_RE.sub("[redacted-key-id]", text)
    text = _SIG_RE.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _SECRET_RE.sub("[redacted]", text)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- mapping -----------------------------------------------------------------------------

_NOT_FOUND = {
    "ResourceNotFoundException",
    "ResourceNotFound",
    "TableNotFoundException",
    "ReplicaNotFoundException",
    "GlobalTableNotFoundException",
    "NoSuchEntity",
    "NoSuchEntityException",
    "NotFoundException",
}
_ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
    "NotAuthorized",
}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "UnrecognizedClient",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AuthFailure",
}
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "TooManyRequests",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "LimitExceededException",
}
_INVALID = {
    "ValidationException",
    "ValidationError",
    "InvalidParameterValueException",
    "InvalidParameterValue",
    "InvalidParameterException",
    "InvalidParameterCombination",
    "InvalidParameterCombinationException",
    "MissingParameter",
    "SerializationException",
    "InvalidRequestContentException",
}
_UNAVAILABLE = {
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalServerError",
    "InternalServerErrorException",
    "InternalFailure",
    "InternalError",
    "ServiceException",
    "RegionUnavailable",
    "RegionIsolated",
}


def _client_error(
    err: bce.ClientError, action: str | None, region: str | None
) -> GtError:
    error = err.response.get("Error", {}) or {}
    code = str(error.get("Code") or "")
    aws_msg = str(error.get("Message") or error.get("message") or "").strip()
    meta = err.response.get("ResponseMetadata", {}) or {}
    status = meta.get("HTTPStatusCode")
    op = getattr(err, "operation_name", None) or ""
    detail = f"{code}: {aws_msg}" if aws_msg else (code or f"HTTP {status}")
    kw = {"action": action, "region": region, "code": code or None}

    if code in _NOT_FOUND:
        return NotFoundError(
            f"not found ({detail})",
            hint="check the table or function name and that it exists in this region "
            "(--table, --regions)",
            **kw,
        )
    if code in _ACCESS_DENIED:
        needed = f" {op}" if op else ""
        return AccessDeniedError(
            f"access denied ({detail})",
            hint=f"grant the caller permission for{needed} in this region, or use another "
            "profile (--profile)",
            **kw,
        )
    if code in _EXPIRED:
        return CredentialsError(
            f"credentials expired ({detail})",
            hint="refresh your session, e.g. `aws sso login` or new temporary credentials",
            **kw,
        )
    if code in _BAD_CREDENTIALS:
        return CredentialsError(
            f"credentials rejected ({detail})",
            hint="check the access key / profile (--profile, AWS_PROFILE) belongs to this "
            "account and is active",
            **kw,
        )
    if code in _THROTTLED:
        return ThrottledError(
            f"throttled by AWS ({detail})",
            hint="wait a moment and retry; lower the refresh rate if this repeats",
            **kw,
        )
    if code in _INVALID:
        return ConfigError(
            f"request rejected as invalid ({detail})",
            hint="check the table name, regions and parameters",
            **kw,
        )
    if code in _UNAVAILABLE or (isinstance(status, int) and status >= 500):
        return RegionUnavailableError(
            f"region not answering ({detail or 'HTTP ' + str(status)})",
            hint="the region (or the emulator's region) is unavailable; retry later or "
            "leave it out with --regions",
            **kw,
        )
    if code == "ResourceInUseException":
        return GtError(
            f"resource busy ({detail})",
            hint="wait until the table/replica is ACTIVE and retry",
            **kw,
        )
    return GtError(f"AWS error ({detail})", **kw)


def from_botocore(
    err: BaseException, action: str | None = None, region: str | None = None
) -> GtError | None:
    """The GtError for a botocore exception, or None when ``err`` is not one we map."""
    kw = {"action": action, "region": region}
    if isinstance(err, GtError):
        return err
    if isinstance(err, bce.ClientError):
        return _client_error(err, action, region)
    if isinstance(err, bce.NoCredentialsError):
        return CredentialsError(
            "no AWS credentials found",
            hint="set a profile (--profile or AWS_PROFILE) or run `aws configure` / "
            "`aws sso login`",
            **kw,
        )
    if isinstance(err, bce.PartialCredentialsError):
        return CredentialsError(
            "incomplete AWS credentials (a key id without a secret, or similar)",
            hint="check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile",
            **kw,
        )
    if isinstance(err, bce.ProfileNotFound):
        return CredentialsError(
            f"no credentials for this profile ({err})",
            hint="check the profile name (--profile, AWS_PROFILE) against ~/.aws/config",
            **kw,
        )
    if isinstance(
        err,
        bce.TokenRetrievalError
        | bce.SSOTokenLoadError
        | bce.UnauthorizedSSOTokenError
        | bce.SSOError
        | bce.CredentialRetrievalError
        | bce.RefreshWithMFAUnsupportedError,
    ):
        return CredentialsError(
            f"could not obtain credentials ({type(err).__name__})",
            hint="log in again, e.g. `aws sso login --profile <name>`",
            **kw,
        )
    if isinstance(err, bce.ConnectTimeoutError | bce.ReadTimeoutError):
        return RegionUnavailableError(
            f"timed out ({type(err).__name__})",
            hint="the region (or endpoint) is slow or unreachable; retry later or check "
            "--endpoint",
            **kw,
        )
    if isinstance(err, bce.ConnectionError):  # EndpointConnectionError, ProxyConnectionError, SSL
        return RegionUnavailableError(
            "could not connect to the endpoint",
            hint="check the network or --endpoint; is the emulator running?",
            **kw,
        )
    if isinstance(err, bce.HTTPClientError):
        return RegionUnavailableError(
            f"connection failed ({type(err).__name__})",
            hint="retry later; check the network or --endpoint",
            **kw,
        )
    if isinstance(err, bce.ParamValidationError):
        return ConfigError(f"invalid request parameters ({err})", **kw)
    if isinstance(err, bce.NoRegionError | bce.InvalidRegionError | bce.UnknownRegionError):
        return ConfigError(
            f"invalid or missing region ({type(err).__name__})",
            hint="pass region names like us-west-2 with --regions",
            **kw,
        )
    if isinstance(err, bce.BotoCoreError):
        return GtError(f"AWS client error ({type(err).__name__}: {err})", **kw)
    return None


@contextmanager
def wrap(action: str, region: str | None = None) -> Iterator[None]:
    """Map botocore errors raised in the block to GtError (raised ``from`` the original).

    GtErrors raised in the block pass through, gaining ``action``/``region`` if they had none.
    Other exceptions pass through unchanged.
    """
    try:
        yield
    except GtError as err:
        if err.action is None:
            err.action = action
        if err.region is None:
            err.region = region
        raise
    except (bce.BotoCoreError, bce.ClientError) as err:
        mapped = from_botocore(err, action, region)
        if mapped is None:  # pragma: no cover - from_botocore maps every botocore error
            raise
        raise mapped from err
