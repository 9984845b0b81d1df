"""`chalice package` works offline and yields a SAM template with the function and the API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gtcore.workshop import API_PROJECT_DIR
from setup.api.chalicelib.routes import ROUTES
from setup.deploy import prepare_project


def _package(project: Path, out: Path, home: Path) -> dict:
    chalice = Path(sys.executable).with_name("chalice")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Offline: any attempt to reach the network goes to a closed loopback port.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "PIP_NO_INDEX": "1",
    }
    done = subprocess.run([str(chalice), "--project-dir", str(project), "package", "--stage",
                           "dev", str(out)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "sam.json").read_text())


@pytest.fixture()
def project(tmp_path) -> Path:
    dest = tmp_path / "api"
    shutil.copytree(API_PROJECT_DIR, dest,
                    ignore=shutil.ignore_patterns("__pycache__", "deployments", "deployed"))
    return dest


def test_chalice_package_offline(project, tmp_path):
    sam = _package(project, tmp_path / "out", tmp_path)
    assert sam["Transform"] == "AWS::Serverless-2016-10-31"
    resources = sam["Resources"]

    fn = resources["APIHandler"]
    assert fn["Type"] == "AWS::Serverless::Function"
    props = fn["Properties"]
    assert props["Handler"] == "app.app" and props["Runtime"].startswith("python3")
    assert props["Environment"]["Variables"]["TABLE_NAME"] == "global-serverless"
    assert "app=global-serverless" in props["Tags"]["aws-chalice"]
    assert "stage=dev" in props["Tags"]["aws-chalice"]

    api = resources["RestAPI"]
    assert api["Type"] == "AWS::Serverless::Api"
    assert api["Properties"]["StageName"] == "api"
    body = api["Properties"]["DefinitionBody"]
    assert body["info"]["title"] == "global-serverless"
    assert sorted(body["paths"]) == sorted(ROUTES)
    for path, methods in body["paths"].items():
        assert methods["get"]["x-amazon-apigateway-integration"]["type"] == "aws_proxy", path
        assert "options" in methods, f"CORS preflight for {path}"
    assert sam["Outputs"]["EndpointURL"]["Value"]["Fn::Sub"].endswith("/api/")

    policy = resources["ApiHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
            "dynamodb:UpdateItem"} <= actions

    names = zipfile.ZipFile(tmp_path / "out" / "deployment.zip").namelist()
    assert {"app.py", "chalicelib/routes.py", "chalice/app.py"} <= set(names)


def test_per_region_project_for_another_table(tmp_path, monkeypatch):
    monkeypatch.setenv("GTCORE_HOME", str(tmp_path / "home"))
    project = prepare_project("bookmarks", "eu-west-1")
    assert project == tmp_path / "home" / "chalice" / "bookmarks" / "eu-west-1"
    sam = _package(project, tmp_path / "out", tmp_path)
    props = sam["Resources"]["APIHandler"]["Properties"]
    assert props["Environment"]["Variables"]["TABLE_NAME"] == "bookmarks"
    assert "app=bookmarks" in props["Tags"]["aws-chalice"]
    policy = sam["Resources"]["ApiHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    resources = [s["Resource"] for s in policy["Statement"] if "dynamodb:GetItem" in s["Action"]]
    assert resources == ["arn:aws:dynamodb:*:*:table/bookmarks"]
