"""Deploy the regional API to AWS with Chalice, one region at a time.

Chalice remembers what it deployed per stage in ``.chalice/deployed/dev.json``, not per region,
so deploying one project to two regions (as the workshop did) mixes them up. Each (table,
region) gets its own copy of ``setup/api`` under ``$GTCORE_HOME/chalice/<table>/<region>/``,
with the app named after the table (``global-serverless`` -> function
``global-serverless-dev``) and the table name in its environment and IAM policy; its
``deployed`` record stays there for ``chalice delete``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from gtcore.apis import gtcore_home
from gtcore.errors import ConfigError, GtError
from gtcore.workshop import API_PROJECT_DIR

__all__ = [
    "chalice_command",
    "make_deployer",
    "make_undeployer",
    "parse_api_url",
    "prepare_project",
    "project_dir",
]

STAGE = "dev"
Runner = Callable[..., subprocess.CompletedProcess]
_URL_RE = re.compile(r"Rest API URL:\s*(https://\S+)")


def project_dir(table: str, region: str) -> Path:
    """Where the per-region Chalice project for ``table`` lives."""
    return gtcore_home() / "chalice" / table / region


def prepare_project(table: str, region: str, source: Path | None = None) -> Path:
    """Copy the app into :func:`project_dir` with config and policy for ``table``.

    Keeps an existing ``.chalice/deployed`` record (so a later deploy updates in place).
    """
    src = source or API_PROJECT_DIR
    dest = project_dir(table, region)
    (dest / ".chalice").mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "app.py", dest / "app.py")
    shutil.copy2(src / "requirements.txt", dest / "requirements.txt")
    if (dest / "chalicelib").exists():
        shutil.rmtree(dest / "chalicelib")
    shutil.copytree(src / "chalicelib", dest / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    config = json.loads((src / ".chalice" / "config.json").read_text(encoding="utf-8"))
    config["app_name"] = table
    config.setdefault("environment_variables", {})["TABLE_NAME"] = table
    (dest / ".chalice" / "config.json").write_text(json.dumps(config, indent=2) + "\n",
                                                   encoding="utf-8")
    policy = json.loads((src / ".chalice" / "policy-dev.json").read_text(encoding="utf-8"))
    for statement in policy["Statement"]:
        if str(statement.get("Resource", "")).startswith("arn:aws:dynamodb:"):
            statement["Resource"] = f"arn:aws:dynamodb:*:*:table/{table}"
    (dest / ".chalice" / "policy-dev.json").write_text(json.dumps(policy, indent=2) + "\n",
                                                       encoding="utf-8")
    return dest


def _chalice_executable() -> str:
    beside = Path(sys.executable).with_name("chalice")
    if beside.exists():
        return str(beside)
    found = shutil.which("chalice")
    if not found:
        raise ConfigError(
            "the chalice command is not installed",
            hint="pip install chalice (it is pinned in requirements.txt)",
        )
    return found


def chalice_command(verb: str, project: Path, region: str,
                    profile: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of ``chalice <verb>`` for one region's project."""
    argv = [_chalice_executable(), "--project-dir", str(project), verb, "--stage", STAGE]
    if profile:
        argv += ["--profile", profile]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_ENDPOINT_URL")}  # a local endpoint must not leak in
    env["AWS_DEFAULT_REGION"] = region
    env.pop("AWS_REGION", None)
    return argv, env


def parse_api_url(output: str) -> str | None:
    """The ``Rest API URL`` `chalice deploy` printed, or None."""
    match = _URL_RE.search(output or "")
    return match.group(1) if match else None


def _run(runner: Runner, argv: list[str], env: dict[str, str], what: str,
         region: str) -> subprocess.CompletedProcess:
    try:
        done = runner(argv, env=env, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as err:
        raise GtError(f"could not run chalice: {err}", region=region, action=what) from err
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout or "").split()[-60:])
        raise GtError(
            f"chalice exited with {done.returncode}: {tail}",
            hint="check the credentials and permissions (IAM, Lambda, API Gateway) in this "
            "region; run the same command with --debug for more",
            region=region,
            action=what,
        )
    return done


def make_deployer(profile: str | None = None, *,
                  runner: Runner = subprocess.run) -> Callable[[str, str], str]:
    """A ``deploy(table, region) -> url`` for :func:`gtcore.workshop.provision_workshop`."""

    def deploy(table: str, region: str) -> str:
        project = prepare_project(table, region)
        argv, env = chalice_command("deploy", project, region, profile)
        done = _run(runner, argv, env, f"deploy the regional API ({table})", region)
        url = parse_api_url(done.stdout or "")
        if not url:
            raise GtError(
                "chalice deploy finished but printed no Rest API URL",
                hint=f"run `chalice url --stage dev` in {project} and record it",
                region=region,
                action="deploy the regional API",
            )
        return url

    return deploy


def make_undeployer(profile: str | None = None, *,
                    runner: Runner = subprocess.run) -> Callable[[str, str], bool]:
    """An ``undeploy(table, region) -> bool`` running ``chalice delete`` where setup deployed."""

    def undeploy(table: str, region: str) -> bool:
        project = project_dir(table, region)
        record = project / ".chalice" / "deployed" / f"{STAGE}.json"
        if not record.exists():
            return False
        argv, env = chalice_command("delete", project, region, profile)
        _run(runner, argv, env, f"delete the regional API ({table})", region)
        return True

    return undeploy
