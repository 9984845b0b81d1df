"""The emulator's regional API gateway in-process: raw paths and the per-function concurrency."""

from __future__ import annotations

from types import SimpleNamespace

from gtcore.emulator.regional_api import RegionalApiApp, _raw_path
from setup.emulator import regional_api


def test_raw_path_keeps_encoded_slashes():
    environ = {"PATH_INFO": "/api/get/a/b/c", "RAW_URI": "/_api/eu-west-1/api/get/a%2Fb/c?x=1"}
    assert _raw_path(environ, "eu-west-1") == "/api/get/a%2Fb/c"
    environ = {"PATH_INFO": "/api/get/a/b/c", "REQUEST_URI": "/_api/eu-west-1/api/get/a%2Fb/c"}
    assert _raw_path(environ, "eu-west-1") == "/api/get/a%2Fb/c"


def test_raw_path_falls_back_to_path_info():
    # No raw URI (or one that does not match): quote the decoded path, non-ASCII included.
    wsgi_text = "/api/get/ç/x y".encode().decode("latin-1")  # PEP 3333 PATH_INFO
    assert _raw_path({"PATH_INFO": wsgi_text}, "us-west-2") == "/api/get/%C3%A7/x%20y"
    mismatched = {"PATH_INFO": "/api/scan", "RAW_URI": "/_api/us-west-2/api/query/x"}
    assert _raw_path(mismatched, "us-west-2") == "/api/scan"


def test_reserved_concurrency_limits_environments():
    app = RegionalApiApp(SimpleNamespace(endpoint="http://127.0.0.1:9"), regional_api())
    fn = SimpleNamespace(function_name="global-serverless-dev", reserved_concurrency=1)
    first = app._acquire("us-west-2", fn, "global-serverless")
    assert first is not None
    assert app._acquire("us-west-2", fn, "global-serverless") is None  # one at a time
    other_region = app._acquire("eu-west-1", fn, "global-serverless")
    assert other_region is not None
    app._release("us-west-2", fn.function_name, "global-serverless", first)
    again = app._acquire("us-west-2", fn, "global-serverless")
    assert again is first  # the warm environment is reused

    fn.reserved_concurrency = 0
    app._release("us-west-2", fn.function_name, "global-serverless", again)
    assert app._acquire("us-west-2", fn, "global-serverless") is None

    fn.reserved_concurrency = None  # unreserved: no limit here
    held = [app._acquire("us-west-2", fn, "global-serverless") for _ in range(3)]
    assert all(env is not None for env in held) and len({id(e) for e in held}) == 3
