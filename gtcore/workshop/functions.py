"""The regional API on the emulator: the Lambda function ``<table>-dev`` per region, its IAM role.

(On AWS the API is deployed with Chalice instead; see :mod:`gtcore.workshop.api_urls`.)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gtcore.errors import NotFoundError, wrap
from gtcore.workshop.report import _Run
from gtcore.workshop.tags import CREATED_BY, _made_by_setup

API_PROJECT_DIR = Path(__file__).resolve().parents[2] / "setup" / "api"
LAMBDA_RUNTIME = "python3.11"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ROLE_POLICY_NAME = "workshop-table-access"


def api_zip(project: Path | None = None) -> bytes:
    """A deterministic zip of the regional API (``app.py`` and ``chalicelib/``).

    Same sources, same bytes: the zip's SHA-256 is compared with the function's CodeSha256 to
    tell whether the deployed code is current.
    """
    root = project or API_PROJECT_DIR
    files = [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def _code_sha256(blob: bytes) -> str:
    return base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")


def _find_role(iam: Any, name: str) -> dict[str, Any] | None:
    """GetRole's Role, or None when there is no such role."""
    try:
        with wrap(f"look for IAM role {name}"):
            return iam.get_role(RoleName=name)["Role"]
    except NotFoundError:
        return None


def _find_function(client: Any, name: str, region: str) -> dict[str, Any] | None:
    """GetFunction's answer (Configuration, Tags), or None when there is no such function."""
    try:
        with wrap(f"look for Lambda function {name}", region):
            return client.get_function(FunctionName=name)
    except NotFoundError:
        return None


def _role_arn(run: _Run) -> str:
    iam = run.conn.client("iam", run.target.regions[0])
    name = run.target.function_name
    started = time.monotonic()
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
                           "dynamodb:UpdateItem", "dynamodb:BatchGetItem"],
                "Resource": f"arn:aws:dynamodb:*:*:table/{run.target.table}",
            }
        ],
    }
    role = _find_role(iam, name)
    if role is not None:
        run.record(f"IAM role {name}", None, "exists", "", started)
        return role["Arn"]
    with wrap(f"create IAM role {name}"):
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
            Description="Role of the workshop's regional API (made by python -m setup up)",
            Tags=[CREATED_BY],
        )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(policy)
        )
    run.record(f"IAM role {name}", None, "created", "", started)
    return arn


def _ensure_functions(run: _Run) -> None:
    name = run.target.function_name
    table = run.target.table
    role = _role_arn(run)
    code = api_zip()
    sha = _code_sha256(code)
    env = {"Variables": {"TABLE_NAME": table}}
    for region in run.target.regions:
        started = time.monotonic()
        client = run.conn.client("lambda", region)
        run.tell("function", f"Lambda function {name}", region)
        fn = _find_function(client, name, region)
        if fn is None:
            with wrap(f"create Lambda function {name}", region):
                client.create_function(
                    FunctionName=name,
                    Runtime=LAMBDA_RUNTIME,
                    Role=role,
                    Handler="app.app",
                    Code={"ZipFile": code},
                    Description="The workshop's regional API (Chalice app global-serverless)",
                    Timeout=10,
                    MemorySize=256,
                    Environment=env,
                    Tags={CREATED_BY["Key"]: CREATED_BY["Value"], "table": table},
                )
            run.record(f"Lambda function {name}", region, "created", "", started)
            continue
        conf = fn["Configuration"]
        changes = []
        if conf.get("CodeSha256") != sha:
            with wrap(f"update the code of Lambda function {name}", region):
                client.update_function_code(FunctionName=name, ZipFile=code)
            changes.append("code")
        if (conf.get("Environment") or {}).get("Variables", {}).get("TABLE_NAME") != table:
            with wrap(f"update the configuration of Lambda function {name}", region):
                client.update_function_configuration(FunctionName=name, Environment=env)
            changes.append("TABLE_NAME")
        if changes:
            run.record(f"Lambda function {name}", region, "updated", " and ".join(changes),
                       started)
        else:
            run.record(f"Lambda function {name}", region, "exists", "code current", started)


def _remove_functions(run: _Run, regions: Iterable[str] | None = None, role: bool = True) -> None:
    """Delete the functions (in ``regions``, default all) and, with ``role``, the IAM role,
    each only if setup made it."""
    name = run.target.function_name
    for region in (run.target.regions if regions is None else regions):
        started = time.monotonic()
        client = run.conn.client("lambda", region)
        fn = _find_function(client, name, region)
        if fn is None:
            run.record(f"Lambda function {name}", region, "absent", "", started)
            continue
        if not _made_by_setup(fn.get("Tags") or {}):
            run.record(f"Lambda function {name}", region, "kept", "not made by setup", started)
            continue
        with wrap(f"delete Lambda function {name}", region):
            client.delete_function(FunctionName=name)
        run.record(f"Lambda function {name}", region, "deleted", "", started)
    if not role:
        return
    iam = run.conn.client("iam", run.target.regions[0])
    started = time.monotonic()
    found = _find_role(iam, name)
    if found is None:
        run.record(f"IAM role {name}", None, "absent", "", started)
        return
    if not _made_by_setup({t["Key"]: t["Value"] for t in found.get("Tags", []) or []}):
        run.record(f"IAM role {name}", None, "kept", "not made by setup", started)
        return
    with wrap(f"delete IAM role {name}"):
        for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    run.record(f"IAM role {name}", None, "deleted", "", started)
