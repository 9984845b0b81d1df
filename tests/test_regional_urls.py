"""gtcore.regional_urls: the three URL forms, trailing slashes, joining routes, reading regions."""

from __future__ import annotations

import pytest

from gtcore.errors import ConfigError
from gtcore.regional_urls import (
    api_id,
    api_url_from_rest_api,
    browser_url,
    check_api_url,
    emulator_api_url,
    format_api_urls,
    host_form_url,
    loopback_target,
    parse_api_host,
    region_from_url,
    route_url,
)

EP = "http://127.0.0.1:5000"


def test_api_id_is_stable_and_shaped_like_api_gateways():
    ident = api_id("us-west-2")
    assert ident == api_id("us-west-2") and len(ident) == 10 and ident.isalnum() and ident.islower()
    assert len({api_id("us-west-2"), api_id("eu-west-1"), api_id("us-west-2", "other-fn")}) == 3


def test_every_built_url_ends_in_a_slash():
    assert emulator_api_url(EP, "eu-west-1") == f"{EP}/_api/eu-west-1/api/"
    assert emulator_api_url(EP + "/", "eu-west-1", "fn-x") == f"{EP}/_api/eu-west-1/fn-x/api/"
    host = host_form_url(EP, "eu-west-1")
    assert host == f"http://{api_id('eu-west-1')}.execute-api.eu-west-1.amazonaws.com.localhost:5000/api/"
    assert api_url_from_rest_api("abc123", "ap-south-1") == "https://abc123.execute-api.ap-south-1.amazonaws.com/api/"


def test_host_form_reads_like_the_workshop_pages_read_it():
    url = host_form_url(EP, "ap-southeast-2")
    assert url.split(".")[2] == "ap-southeast-2"  # the row's and cookie's name
    prefix = url[: url.index("amazonaws.com") - 1]  # what the pages' setCookie() does
    assert prefix[prefix.rindex(".") + 1:] == "ap-southeast-2"


def test_browser_url_converts_only_the_emulators_path_form():
    assert browser_url(f"{EP}/_api/eu-west-1/api/") == host_form_url(EP, "eu-west-1")
    assert browser_url(f"{EP}/_api/eu-west-1/api") == host_form_url(EP, "eu-west-1")
    assert browser_url(f"{EP}/_api/eu-west-1/fn-x/api/") == host_form_url(EP, "eu-west-1", "fn-x")
    for other in (None, "", "https://abc.execute-api.us-west-2.amazonaws.com/api/", f"{EP}/_api/eu-west-1/"):
        assert browser_url(other) is None


def test_parse_api_host():
    ident = api_id("eu-west-1")
    assert parse_api_host(f"{ident}.execute-api.eu-west-1.amazonaws.com.localhost:5000") == (ident, "eu-west-1")
    assert parse_api_host(f"{ident.upper()}.EXECUTE-API.EU-WEST-1.AMAZONAWS.COM.LOCALHOST") == (ident, "eu-west-1")
    for host in ("127.0.0.1:5000", "localhost", "[::1]:5000", f"{ident}.execute-api.eu-west-1.amazonaws.com",
                 "x.execute-api.eu-west-1.amazonaws.com.localhost", "evil.localhost:5000"):
        assert parse_api_host(host) is None


def test_region_from_url_reads_all_three_forms():
    assert region_from_url("https://abc.execute-api.ap-southeast-2.amazonaws.com/api/") == "ap-southeast-2"
    assert region_from_url(host_form_url(EP, "eu-central-1")) == "eu-central-1"
    assert region_from_url(f"{EP}/_api/us-east-2/fn/api/") == "us-east-2"
    assert region_from_url("http://example.com/api/") is None


def test_check_api_url_adds_the_slash_and_refuses_what_is_not_a_base_url():
    assert check_api_url("https://abc.execute-api.us-west-2.amazonaws.com/api") == (
        "https://abc.execute-api.us-west-2.amazonaws.com/api/")
    assert check_api_url(" http://h/api/ ") == "http://h/api/"
    for bad in ("", "ftp://h/api/", "h/api/", "http://h/api/?x=1", "http://h/api/#top", None):
        with pytest.raises(ConfigError):
            check_api_url(bad)  # type: ignore[arg-type]


def test_route_url_joins_with_or_without_the_slash():
    for base in ("http://h/api", "http://h/api/"):
        assert route_url(base, ("get", "a/b", "c d")) == "http://h/api/get/a%2Fb/c%20d"
    assert route_url("http://h/api/", (), {"consistent": "true"}) == "http://h/api/?consistent=true"


def test_loopback_target_keeps_the_name_in_the_host_header():
    url = host_form_url(EP, "eu-west-1") + "scan"
    target, host = loopback_target(url)
    assert target == "http://127.0.0.1:5000/api/scan" and host == url.split("/")[2]
    assert loopback_target("https://abc.execute-api.us-west-2.amazonaws.com/api/") == (
        "https://abc.execute-api.us-west-2.amazonaws.com/api/", None)


def test_format_api_urls_shows_both_forms_for_the_emulator_only():
    lines = format_api_urls({"eu-west-1": f"{EP}/_api/eu-west-1/api/"})
    assert ".localhost URL is for web pages" in lines[0]
    assert lines[1].split()[-1] == host_form_url(EP, "eu-west-1")
    assert lines[2].split()[-1] == f"{EP}/_api/eu-west-1/api/"
    aws = format_api_urls({"us-west-2": "https://abc.execute-api.us-west-2.amazonaws.com/api/"})
    assert aws == ["Regional API:", "  us-west-2  https://abc.execute-api.us-west-2.amazonaws.com/api/"]


def test_recorded_urls_end_in_a_slash_even_from_an_older_file(tmp_path, monkeypatch):
    import json

    from gtcore import apis

    monkeypatch.setenv("GTCORE_HOME", str(tmp_path))
    apis.record_api_url("t", "us-west-2", "https://abc.execute-api.us-west-2.amazonaws.com/api")
    assert apis.recorded_api_url("t", "us-west-2") == "https://abc.execute-api.us-west-2.amazonaws.com/api/"
    stored = json.loads(apis.registry_path().read_text())["apis"]["t"]["us-west-2"]["url"]
    assert stored.endswith("/api/")
    apis.registry_path().write_text(json.dumps(
        {"version": 1, "apis": {"t": {"eu-west-1": {"url": "https://d.execute-api.eu-west-1.amazonaws.com/api"}}}}))
    assert apis.recorded_api_urls("t") == {"eu-west-1": "https://d.execute-api.eu-west-1.amazonaws.com/api/"}
