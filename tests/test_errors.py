"""Error mapping: botocore failures injected at the client become the right GtError."""

from __future__ import annotations

import socket

import boto3
import botocore.config
import pytest
from botocore import exceptions as bce
from botocore.stub import Stubber

from gtcore.errors import (
    AccessDeniedError,
    ConfigError,
    CredentialsError,
    GtError,
    NotFoundError,
    ReadOnlyError,
    RegionUnavailableError,
    ThrottledError,
    scrub,
    wrap,
)
from gtcore.target import Connection, Target

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def ddb():
    # Offline client: never reaches AWS (endpoint is loopback; Stubber answers everything).
    return boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id=FAKE_KEY,
        aws_secret_access_key=FAKE_SECRET,
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 1}),
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ResourceNotFoundException", 400, NotFoundError),
        ("AccessDeniedException", 400, AccessDeniedError),
        ("AccessDenied", 403, AccessDeniedError),
        ("UnrecognizedClientException", 400, CredentialsError),
        ("ExpiredTokenException", 400, CredentialsError),
        ("RequestExpired", 400, CredentialsError),
        ("ProvisionedThroughputExceededException", 400, ThrottledError),
        ("ThrottlingException", 400, ThrottledError),
        ("TooManyRequestsException", 429, ThrottledError),
        ("ValidationException", 400, ConfigError),
        ("InternalServerError", 500, RegionUnavailableError),
        ("SomethingNew", 503, RegionUnavailableError),
        ("ConditionalCheckFailedException", 400, GtError),
    ],
)
def test_client_error_codes_map_to_the_right_class(ddb, code, status, expected):
    stub = Stubber(ddb)
    stub.add_client_error(
        "describe_table", service_error_code=code, service_message="boom", http_status_code=status
    )
    with (
        stub,
        pytest.raises(GtError) as info,
        wrap("read table global-serverless", "eu-west-1"),
    ):
        ddb.describe_table(TableName="global-serverless")
    err = info.value
    assert type(err) is expected
    assert isinstance(err.__cause__, bce.ClientError)
    assert err.code == code
    assert err.region == "eu-west-1"
    assert err.action == "read table global-serverless"
    text = str(err)
    assert "\n" not in text
    assert text.startswith("read table global-serverless in eu-west-1: ")
    assert code in text


def test_expired_token_has_actionable_hint(ddb):
    stub = Stubber(ddb)
    stub.add_client_error(
        "scan",
        service_error_code="ExpiredTokenException",
        service_message="The security token included in the request is expired",
    )
    with stub, pytest.raises(CredentialsError) as info, wrap("scan table t", "us-west-2"):
        ddb.scan(TableName="ttt")
    assert "expired" in str(info.value)
    assert "login" in (info.value.hint or "")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (bce.ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), RegionUnavailableError),
        (bce.ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"), RegionUnavailableError),
        (bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), RegionUnavailableError),
        (bce.NoCredentialsError(), CredentialsError),
        (bce.ProfileNotFound(profile="prod"), CredentialsError),
    ],
)
def test_transport_errors_injected_by_event_hook(ddb, exc, expected):
    def boom(**_):
        raise exc

    ddb.meta.events.register("before-send.dynamodb.DescribeTable", boom)
    with pytest.raises(expected) as info, wrap("read table t", "eu-west-1"):
        ddb.describe_table(TableName="ttt")
    assert info.value.__cause__ is exc
    assert "\n" not in str(info.value)


def test_real_connection_refused_is_region_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    conn = Connection(Target(regions=("us-west-2",), endpoint=f"http://127.0.0.1:{port}"))
    with pytest.raises(RegionUnavailableError) as info, wrap("list tables", "us-west-2"):
        conn.client("dynamodb", "us-west-2").list_tables()
    assert isinstance(info.value.__cause__, bce.EndpointConnectionError)
    assert "emulator" in str(info.value)


def test_param_validation_is_config_error(ddb):
    with pytest.raises(ConfigError), wrap("read table", "eu-west-1"):
        ddb.get_item(TableName="ttt", Key="not-a-map")


def test_messages_never_contain_credentials(ddb):
    stub = Stubber(ddb)
    stub.add_client_error(
        "describe_table",
        service_error_code="UnrecognizedClientException",
        service_message=f"key {FAKE_KEY} secret {FAKE_SECRET} Signature=abcdef0123",
    )
    with stub, pytest.raises(CredentialsError) as info, wrap("read table", "eu-west-1"):
        ddb.describe_table(TableName="ttt")
    text = str(info.value)
    assert FAKE_KEY not in text and FAKE_SECRET not in text and "abcdef0123" not in text
    assert str(info.value.to_dict()).count(FAKE_KEY) == 0


def test_scrub_keeps_ordinary_text():
    arn = "arn:aws:iam::123456789012:user/alice"
    assert scrub(f"User: {arn} is not authorized") == f"User: {arn} is not authorized"
    assert "ASIA" not in scrub("token ASIAXXXXXXXXXXXXXXXX here")


def test_gterror_passes_through_and_gains_context():
    with pytest.raises(ReadOnlyError) as info, wrap("throttle function", "eu-west-1"):
        raise ReadOnlyError("writes are off")
    assert info.value.action == "throttle function"
    assert info.value.region == "eu-west-1"
    assert str(info.value) == "throttle function in eu-west-1: writes are off"


def test_other_exceptions_pass_through_unchanged():
    with pytest.raises(KeyError), wrap("x"):
        raise KeyError("k")


def test_kinds_and_exit_codes():
    assert NotFoundError("x").kind == "not_found"
    assert RegionUnavailableError("x").retryable
    assert ConfigError("x").exit_code == 2
    assert GtError("x").exit_code == 1
