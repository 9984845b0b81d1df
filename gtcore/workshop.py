"""Set up (and tear down) the workshop: global table, replicas, sample data, regional API.

:func:`setup_workshop` is what ``python -m setup up`` and the dashboard's setup page run:

1. the on-demand table (``PK``/``SK`` strings) in the home region (tagged as made by setup);
2. a replica in every other region (``UpdateTable ReplicaUpdates Create``, one at a time),
   waiting until every replica is ACTIVE;
3. the sample data (the twelve-title catalog and the demo bookmarks), written only where an
   item is missing, never overwriting one;
4. a read-back of every sample item in every region (waiting out replication lag);
5. the regional API: against the emulator, the Lambda function ``<table>-dev`` in every region
   (IAM role first, a zip of ``setup/api``); against AWS, the URL of each region's API, from a
   ``deploy`` callable (``setup --deploy-api`` runs ``chalice deploy``) or discovered through
   API Gateway, recorded with :mod:`gtcore.apis`; then a ``/health`` call per region.

It is idempotent: a second run changes nothing and its report says so. :func:`teardown_workshop`
removes what setup made (replicas first, then the table, functions and role) and nothing else:
a table without setup's tag is refused unless ``force=True``.

Both report progress through an optional callback and return a :class:`SetupReport`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtcore import apis
from gtcore.errors import ConfigError, GtError, NotFoundError, ReadOnlyError, wrap
from gtcore.regional_client import RegionalApi

__all__ = [
    "API_PROJECT_DIR",
    "CREATED_BY",
    "SAMPLE_DATA_PATH",
    "THUMBS_DIR",
    "SetupProgress",
    "SetupReport",
    "Step",
    "api_zip",
    "catalog",
    "ensure_api_urls",
    "remove_replica",
    "sample_items",
    "setup_workshop",
    "teardown_workshop",
    "thumbnail_data_uri",
    "thumbnail_path",
]

REPO_DIR = Path(__file__).resolve().parents[1]
SAMPLE_DATA_PATH = REPO_DIR / "setup" / "data" / "sample-data.json"
THUMBS_DIR = REPO_DIR / "setup" / "data" / "thumbs"
API_PROJECT_DIR = REPO_DIR / "setup" / "api"

# Tag put on everything setup creates; teardown only removes what carries it.
CREATED_BY = {"Key": "created-by", "Value": "gtcore-setup"}
KEY_SCHEMA = [
    {"AttributeName": "PK", "KeyType": "HASH"},
    {"AttributeName": "SK", "KeyType": "RANGE"},
]
ATTRIBUTES = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
]
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

# What changed things, for SetupReport.changed.
CHANGED = frozenset({"created", "updated", "written", "deleted", "recorded"})


# --- sample data and thumbnails ----------------------------------------------------------


def sample_items(path: Path | str | None = None) -> list[dict[str, Any]]:
    """The sample items (DynamoDB JSON) from the project's ``sample-data.json``.

    The file has the workshop's ``batch-write-item`` layout (``{table: [{"PutRequest": ...}]}``),
    so ``aws dynamodb batch-write-item --request-items file://setup/data/sample-data.json``
    loads it too (for the default table name).
    """
    source = Path(path) if path is not None else SAMPLE_DATA_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the sample data {source}: {err}") from err
    items: list[dict[str, Any]] = []
    for requests in data.values():
        for request in requests:
            item = request["PutRequest"]["Item"]
            if "S" not in item.get("PK", {}) or "S" not in item.get("SK", {}):
                raise ConfigError(f"sample item without string PK/SK in {source}: {item}")
            items.append(item)
    return items


def catalog(path: Path | str | None = None) -> list[dict[str, str]]:
    """The catalog (``PK="library"``) as plain dicts: sk, title, thumb, video."""
    out = []
    for item in sample_items(path):
        if item["PK"]["S"] == "library":
            out.append(
                {
                    "sk": item["SK"]["S"],
                    "title": item.get("title", {}).get("S", ""),
                    "thumb": item.get("thumb", {}).get("S", ""),
                    "video": item.get("video", {}).get("S", ""),
                }
            )
    return out


def thumbnail_path(thumb: str | None) -> Path | None:
    """The shipped image a ``thumb`` attribute names, or None.

    Accepts the file name the sample data uses (``"spring.svg"``), a path or URL ending in it,
    or the base64 of any of these (the workshop's player writes ``btoa(thumb)``).
    """
    if not thumb or not isinstance(thumb, str):
        return None
    candidates = [thumb.strip()]
    try:
        decoded = base64.b64decode(thumb.strip() + "=" * (-len(thumb.strip()) % 4), validate=True)
        candidates.append(decoded.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        pass
    for candidate in candidates:
        name = candidate.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if name and not name.startswith(".") and name.endswith(".svg"):
            path = THUMBS_DIR / name
            if path.is_file():
                return path
    return None


def thumbnail_data_uri(thumb: str | None) -> str | None:
    """The shipped image as a ``data:image/svg+xml;base64,...`` URI (works offline), or None."""
    path = thumbnail_path(thumb)
    if path is None:
        return None
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{payload}"


# --- the Lambda code -----------------------------------------------------------------------


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


# --- progress and report ---------------------------------------------------------------------


@dataclass(frozen=True)
class SetupProgress:
    """One progress event: ``fraction`` of the whole job done (0..1), what is happening now."""

    step: str
    message: str
    region: str | None = None
    fraction: float | None = None
    replicas: dict[str, str] | None = None  # region -> "ACTIVE" / "CREATING 40%" while waiting
    done: Step | None = None  # set when a step has just finished


ProgressFn = Callable[[SetupProgress], None]
DeployFn = Callable[[str, str], str]  # (table, region) -> API URL
UndeployFn = Callable[[str, str], bool]  # (table, region) -> deleted something


@dataclass
class Step:
    """One thing setup looked at and what it did: ``outcome`` is one of created, updated,
    written, deleted, recorded (changes) or exists, absent, kept, checked, skipped, failed."""

    action: str
    region: str | None
    outcome: str
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "region": self.region,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class SetupReport:
    operation: str  # "up" or "down"
    target: str
    steps: list[Step] = field(default_factory=list)
    api_urls: dict[str, str | None] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(s.outcome in CHANGED for s in self.steps)

    @property
    def ok(self) -> bool:
        return not any(s.outcome == "failed" for s in self.steps)

    @property
    def failures(self) -> list[Step]:
        return [s for s in self.steps if s.outcome == "failed"]

    def summary(self) -> str:
        """One line for people: what changed, or that nothing did."""
        if not self.ok:
            head = f"{len(self.failures)} step(s) failed"
        elif self.changed:
            n = sum(s.outcome in CHANGED for s in self.steps)
            head = f"done: {n} change(s)"
        else:
            head = "nothing to do: everything was already " + (
                "in place" if self.operation == "up" else "gone"
            )
        return f"{head} ({self.target}, {self.seconds:.1f} s)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "target": self.target,
            "changed": self.changed,
            "ok": self.ok,
            "summary": self.summary(),
            "seconds": round(self.seconds, 3),
            "api_urls": dict(self.api_urls),
            "steps": [s.to_dict() for s in self.steps],
        }


class _Run:
    """Bookkeeping shared by setup and teardown: steps, progress, timing."""

    def __init__(self, conn: Any, operation: str, progress: ProgressFn | None, total: int):
        self.conn = conn
        self.target = conn.target
        self.report = SetupReport(operation, self.target.describe())
        self._progress = progress
        self._total = max(total, 1)
        self._done = 0
        self._start = time.monotonic()
        local = self.target.is_local
        self.poll = 0.2 if local else 5.0

    def tell(self, step: str, message: str, region: str | None = None,
             replicas: dict[str, str] | None = None, done: Step | None = None) -> None:
        if self._progress is not None:
            fraction = min(self._done / self._total, 1.0)
            self._progress(SetupProgress(step, message, region, fraction, replicas, done))

    def record(self, action: str, region: str | None, outcome: str, detail: str = "",
               started: float | None = None) -> Step:
        seconds = time.monotonic() - started if started is not None else 0.0
        step = Step(action, region, outcome, detail, seconds)
        self.report.steps.append(step)
        self._done += 1
        self.tell(action, f"{action}: {outcome}" + (f" ({detail})" if detail else ""), region,
                  done=step)
        return step

    def finish(self) -> SetupReport:
        self.report.seconds = time.monotonic() - self._start
        if self._progress is not None:
            self._progress(SetupProgress("done", self.report.summary(), None, 1.0))
        return self.report

    def ddb(self, region: str) -> Any:
        return self.conn.client("dynamodb", region)


def _describe(run: _Run, region: str) -> dict[str, Any] | None:
    """DescribeTable's Table, or None when it does not exist."""
    table = run.target.table
    try:
        with wrap(f"describe table {table}", region):
            return run.ddb(region).describe_table(TableName=table)["Table"]
    except NotFoundError:
        return None


def _replica_states(desc: dict[str, Any]) -> dict[str, str]:
    out = {}
    for rep in desc.get("Replicas", []) or []:
        status = rep.get("ReplicaStatus", "?")
        pct = rep.get("ReplicaStatusPercentProgress")
        out[rep["RegionName"]] = f"{status} {pct}%" if pct and status != "ACTIVE" else status
    return out


def _deadline(timeout: float) -> float:
    return time.monotonic() + timeout


def _wait_table(run: _Run, region: str, until: Callable[[dict[str, Any] | None], bool],
                what: str, deadline: float) -> dict[str, Any] | None:
    """Poll DescribeTable until ``until(desc)``; raises GtError at the deadline."""
    while True:
        desc = _describe(run, region)
        if until(desc):
            return desc
        states = _replica_states(desc) if desc else {}
        bad = {r: s for r, s in states.items() if s.split()[0] in _REPLICA_FAILED}
        if bad:
            region_bad, state = next(iter(bad.items()))
            raise GtError(
                f"replica in {region_bad} is {state}",
                hint="see the DynamoDB console for the replica's status description; "
                "remove it (`python -m setup down`) and try again",
                region=region_bad,
                action=what,
            )
        status = desc.get("TableStatus", "?") if desc else "absent"
        run.tell("wait", f"{what}: table {status}", region, states or None)
        if time.monotonic() > deadline:
            raise GtError(
                f"gave up waiting ({what}); table is {status}, replicas {states or 'none'}",
                hint="AWS can take many minutes for a replica; run the same command again "
                "later, it carries on where it stopped",
                region=region,
                action=what,
            )
        time.sleep(run.poll)


_REPLICA_FAILED = {
    "CREATION_FAILED",
    "REGION_DISABLED",
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
    "REPLICATION_NOT_AUTHORIZED",
}


def _active_with(regions: Iterable[str]) -> Callable[[dict[str, Any] | None], bool]:
    wanted = set(regions)

    def check(desc: dict[str, Any] | None) -> bool:
        if not desc or desc.get("TableStatus") != "ACTIVE":
            return False
        states = {r["RegionName"]: r.get("ReplicaStatus") for r in desc.get("Replicas", []) or []}
        return all(states.get(r) == "ACTIVE" for r in wanted)

    return check


def _without(region: str) -> Callable[[dict[str, Any] | None], bool]:
    def check(desc: dict[str, Any] | None) -> bool:
        if not desc:
            return True
        regions = {r["RegionName"] for r in desc.get("Replicas", []) or []}
        return region not in regions and desc.get("TableStatus") == "ACTIVE"

    return check


# --- setup -----------------------------------------------------------------------------------


def setup_workshop(
    conn: Any,
    *,
    progress: ProgressFn | None = None,
    load_data: bool = True,
    deploy: DeployFn | None = None,
    discover: bool = True,
    timeout: float | None = None,
    sample_path: Path | str | None = None,
) -> SetupReport:
    """Create what the workshop needs on ``conn.target``; see the module docstring.

    ``deploy(table, region) -> url`` deploys the regional API to AWS (the CLI passes one that
    runs ``chalice deploy`` when given ``--deploy-api``); without it, existing APIs are
    discovered (unless ``discover=False``). ``timeout`` bounds each wait (default 60 s on the
    emulator, 30 min on AWS).
    """
    target = conn.target
    if target.read_only:
        raise ReadOnlyError(
            "setup creates the table, replicas and data, and this target is read-only",
            hint="drop --read-only (and read_only in the config) to run setup",
            action="set up the workshop",
        )
    items = sample_items(sample_path) if load_data else []
    n = len(target.regions)
    total = 1 + (n - 1) + 1 + (2 if load_data else 0) + 2 * n + 1
    run = _Run(conn, "up", progress, total)
    wait = timeout if timeout is not None else (60.0 if target.is_local else 1800.0)

    # The table's anchor: the first listed region that has it (a replica removed earlier may
    # have been the home one), else the home region, where it is created.
    home = _find_anchor(run) or target.regions[0]
    others = [r for r in target.regions if r != home]
    _ensure_table(run, home, wait)
    _ensure_replicas(run, home, others, wait)
    if load_data:
        _load_items(run, home, items)
        _verify_items(run, items, wait)
    if target.is_local:
        _ensure_functions(run)
    else:
        _ensure_api_urls(run, deploy, discover)
    _check_apis(run)
    return run.finish()


def _find_anchor(run: _Run) -> str | None:
    """The first region of the target where the table exists, or None."""
    for region in run.target.regions:
        run.tell("table", f"looking for table {run.target.table}", region)
        if _describe(run, region) is not None:
            return region
    return None


def _ensure_table(run: _Run, home: str, wait: float) -> None:
    table = run.target.table
    started = time.monotonic()
    run.tell("table", f"looking for table {table}", home)
    desc = _describe(run, home)
    if desc is not None:
        keys = sorted((k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", []))
        if keys != [("PK", "HASH"), ("SK", "RANGE")]:
            raise ConfigError(
                f"table {table} exists in {home} with key {keys}, not PK (hash) + SK (range)",
                hint="use another --table name; setup leaves existing tables alone",
                region=home,
                action="set up the workshop",
            )
        if desc.get("TableStatus") != "ACTIVE":
            _wait_table(run, home, _active_with([]), f"table {table} to become ACTIVE",
                        _deadline(wait))
        run.record(f"table {table}", home, "exists", desc.get("TableStatus", ""), started)
        return
    with wrap(f"create table {table}", home):
        run.ddb(home).create_table(
            TableName=table,
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
            Tags=[CREATED_BY],
        )
    _wait_table(run, home, _active_with([]), f"table {table} to become ACTIVE", _deadline(wait))
    run.record(f"table {table}", home, "created", "on-demand, PK/SK strings", started)


def _ensure_replicas(run: _Run, home: str, others: list[str], wait: float) -> None:
    table = run.target.table
    desc = _describe(run, home) or {}
    present = _replica_states(desc)
    for region in others:
        started = time.monotonic()
        if region in present:
            if present[region] != "ACTIVE":
                _wait_table(run, home, _active_with([region]),
                            f"replica in {region} to become ACTIVE", _deadline(wait))
            run.record(f"replica of {table}", region, "exists", present[region], started)
            continue
        run.tell("replica", f"adding a replica in {region}", region)
        deadline = _deadline(wait)
        while True:
            try:
                with wrap(f"add a replica of {table} in {region}", home):
                    run.ddb(home).update_table(
                        TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region}}]
                    )
                break
            except GtError as err:
                # Another replica update still running: wait for the table and try again.
                if err.code not in ("ResourceInUseException", "LimitExceededException"):
                    raise
                if time.monotonic() > deadline:
                    raise
                _wait_table(run, home, _active_with([]), "table to become ACTIVE", deadline)
        _wait_table(run, home, _active_with([region]), f"replica in {region} to become ACTIVE",
                    deadline)
        # Tags do not propagate to replicas: tag each copy setup made, so `down` knows it.
        own = _describe(run, region)
        if own is not None:
            with wrap(f"tag the replica of {table}", region):
                run.ddb(region).tag_resource(ResourceArn=own["TableArn"], Tags=[CREATED_BY])
        run.record(f"replica of {table}", region, "created", "ACTIVE", started)
    extra = sorted(set(present) - set(run.target.regions))
    if extra:
        run.record("replicas outside --regions", None, "kept", ", ".join(extra))
    run.tell("wait", "every replica ACTIVE", home,
             _replica_states(_describe(run, home) or {}) or None)


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"PK": item["PK"], "SK": item["SK"]}


def _key_text(item: dict[str, Any]) -> str:
    return f"{item['PK']['S']}/{item['SK']['S']}"


def _load_items(run: _Run, home: str, items: list[dict[str, Any]]) -> None:
    table = run.target.table
    started = time.monotonic()
    client = run.ddb(home)
    written, kept = 0, 0
    for n, item in enumerate(items, 1):
        run.tell("data", f"sample item {n}/{len(items)}: {_key_text(item)}", home)
        try:
            with wrap(f"write sample item {_key_text(item)}", home):
                client.put_item(
                    TableName=table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(PK)",
                )
            written += 1
        except GtError as err:
            if err.code != "ConditionalCheckFailedException":
                raise
            kept += 1
    outcome = "written" if written else "exists"
    detail = f"{written} written, {kept} already there (left as they are)"
    run.record(f"sample data ({len(items)} items)", home, outcome, detail, started)


def _batch_get(run: _Run, region: str, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    table = run.target.table
    found: dict[str, dict[str, Any]] = {}
    pending = list(keys)
    while pending:
        chunk, pending = pending[:100], pending[100:]
        request = {table: {"Keys": chunk, "ConsistentRead": True}}
        while request:
            with wrap(f"read back the sample items of {table}", region):
                resp = run.ddb(region).batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(table, []):
                found[_key_text(item)] = item
            request = resp.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.05)
    return found


def _verify_items(run: _Run, items: list[dict[str, Any]], wait: float) -> None:
    """Every sample item reads back in every region, as the home region holds it."""
    home = run.target.regions[0]
    keys = [_key_of(i) for i in items]
    expected = _batch_get(run, home, keys)
    missing_home = [k for k in map(_key_text, items) if k not in expected]
    if missing_home:
        raise GtError(
            f"sample items missing in {home} right after writing them: {missing_home}",
            region=home,
            action="check the sample data",
        )
    deadline = _deadline(wait)
    for region in run.target.regions:
        started = time.monotonic()
        while True:
            got = _batch_get(run, region, keys)
            differ = [k for k, item in expected.items() if got.get(k) != item]
            if not differ:
                run.record(f"read back {len(keys)} sample items", region, "checked",
                           "all present and equal to the home region's", started)
                break
            run.tell("verify", f"{len(differ)} item(s) not replicated yet", region)
            if time.monotonic() > deadline:
                run.record(f"read back {len(keys)} sample items", region, "failed",
                           f"{len(differ)} item(s) missing or different after {wait:.0f} s, "
                           f"e.g. {differ[0]}", started)
                break
            time.sleep(run.poll)


# --- the regional API: emulator ------------------------------------------------------------


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
    try:
        with wrap(f"look for IAM role {name}"):
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        run.record(f"IAM role {name}", None, "exists", "", started)
        return arn
    except NotFoundError:
        pass
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
        try:
            with wrap(f"look for Lambda function {name}", region):
                conf = client.get_function(FunctionName=name)["Configuration"]
        except NotFoundError:
            conf = None
        if conf is None:
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


# --- the regional API: AWS -----------------------------------------------------------------


def ensure_api_urls(
    conn: Any,
    *,
    deploy: DeployFn | None = None,
    discover: bool = True,
    progress: ProgressFn | None = None,
) -> SetupReport:
    """The AWS half of the regional API step: deploy or discover each region's API, record it.

    With ``deploy(table, region) -> url`` (``setup --deploy-api``: ``chalice deploy``) every
    region is deployed; otherwise REST APIs named after the table are discovered through API
    Gateway. Found URLs are recorded with :func:`gtcore.apis.record_api_url`, where
    ``Connection.api_base_url`` finds them. Regions without an API are reported as skipped.
    """
    run = _Run(conn, "up", progress, len(conn.target.regions))
    _ensure_api_urls(run, deploy, discover)
    return run.finish()


def _ensure_api_urls(run: _Run, deploy: DeployFn | None, discover: bool) -> None:
    table = run.target.table
    found: dict[str, str | None] = {}
    if deploy is None and discover:
        run.tell("api", "looking for deployed regional APIs (API Gateway)")
        try:
            found = apis.discover_api_urls(run.conn)
        except GtError as err:
            run.record("discover regional APIs", None, "failed", str(err))
            return
    for region in run.target.regions:
        started = time.monotonic()
        if deploy is not None:
            run.tell("api", "deploying the regional API (chalice deploy)", region)
            url: str | None = deploy(table, region)
        else:
            url = found.get(region)
        if not url:
            run.record("regional API", region, "skipped",
                       "none found; deploy it with `python -m setup up --deploy-api`", started)
            continue
        if apis.recorded_api_url(table, region) == url:
            run.record("regional API URL", region, "exists", url, started)
        else:
            apis.record_api_url(table, region, url)
            run.record("regional API URL", region, "recorded", url, started)


def _check_apis(run: _Run) -> None:
    for region in run.target.regions:
        started = time.monotonic()
        url = run.conn.api_base_url(region)
        run.report.api_urls[region] = url
        if not url:
            continue
        run.tell("api", f"calling {url}/health", region)
        api = RegionalApi(url, timeout=10.0, raise_for_status=False, region=region)
        reply = api.health()
        if reply.ok and reply.region == region:
            run.record("regional API /health", region, "checked",
                       f"HTTP {reply.status}, DynamoDB {reply.db_latency_ms} ms", started)
        elif reply.status in (403, 404) and api.ping().ok:
            # API Gateway answers 403 for a route it does not know: the workshop's own app.
            run.record("regional API /health", region, "checked",
                       "it answers / but has no /health: the workshop's original app? "
                       "`python -m setup up --deploy-api` deploys this project's", started)
        else:
            why = reply.message or f"answered by {reply.region!r}"
            run.record("regional API /health", region, "failed",
                       f"{url}: HTTP {reply.status}: {why}", started)


# --- teardown --------------------------------------------------------------------------------


def _table_tags(run: _Run, region: str, arn: str) -> dict[str, str]:
    with wrap(f"read the tags of table {run.target.table}", region):
        resp = run.ddb(region).list_tags_of_resource(ResourceArn=arn)
    return {t["Key"]: t["Value"] for t in resp.get("Tags", [])}


def _is_tagged(run: _Run, region: str, desc: dict[str, Any]) -> bool:
    tags = _table_tags(run, region, desc["TableArn"])
    return tags.get(CREATED_BY["Key"]) == CREATED_BY["Value"]


def teardown_workshop(
    conn: Any,
    *,
    progress: ProgressFn | None = None,
    force: bool = False,
    undeploy: UndeployFn | None = None,
    timeout: float | None = None,
) -> SetupReport:
    """Remove what :func:`setup_workshop` made, replicas first, and nothing else.

    The table is removed only when it carries setup's tag (or ``force=True``); replicas in
    regions outside ``conn.target.regions`` are kept, and then so is the home table. On the
    emulator the Lambda functions and IAM role made by setup go too; on AWS, ``undeploy``
    (the CLI's ``chalice delete``) removes APIs setup deployed.
    """
    target = conn.target
    if target.read_only:
        raise ReadOnlyError(
            "teardown deletes the table and replicas, and this target is read-only",
            hint="drop --read-only to run it",
            action="tear down the workshop",
        )
    run = _Run(conn, "down", progress, 1 + 3 * len(target.regions))
    wait = timeout if timeout is not None else (60.0 if target.is_local else 1800.0)
    table = target.table

    started = time.monotonic()
    anchor = _find_anchor(run)
    home = anchor or target.regions[0]
    others = [r for r in target.regions if r != home]
    desc = _describe(run, home) if anchor else None
    if desc is None:
        run.record(f"table {table}", None, "absent", "in every region", started)
    else:
        if not _is_tagged(run, home, desc) and not force:
            raise ConfigError(
                f"table {table} in {home} was not made by `python -m setup up` "
                f"(no tag {CREATED_BY['Key']}={CREATED_BY['Value']}); not deleting it",
                hint="pass --force to delete it anyway, with its replicas in --regions",
                region=home,
                action="tear down the workshop",
            )
        present = _replica_states(desc)
        for region in others:
            if region not in present:
                alone = _describe(run, region) is not None
                run.record(f"replica of {table}", region, "kept" if alone else "absent",
                           f"a separate table, not a replica of the one in {home}" if alone
                           else "")
                continue
            _delete_replica(run, home, region, wait)
        remaining = _describe(run, home) or {}
        extra = sorted(set(_replica_states(remaining)) - set(target.regions))
        started = time.monotonic()
        if extra:
            run.record(f"table {table}", home, "kept",
                       f"it still has replicas outside --regions: {', '.join(extra)}; "
                       "include them in --regions to remove everything", started)
        else:
            with wrap(f"delete table {table}", home):
                run.ddb(home).delete_table(TableName=table)
            _wait_table(run, home, lambda d: d is None, f"table {table} to go", _deadline(wait))
            run.record(f"table {table}", home, "deleted", "", started)

    if target.is_local:
        _remove_functions(run)
    elif undeploy is not None:
        for region in target.regions:
            started = time.monotonic()
            run.tell("api", "deleting the regional API (chalice delete)", region)
            if undeploy(table, region):
                apis.forget_api_url(table, region)
                run.record("regional API", region, "deleted", "", started)
            else:
                run.record("regional API", region, "absent", "not deployed by setup", started)
    return run.finish()


def _delete_replica(run: _Run, via: str, region: str, wait: float) -> None:
    """UpdateTable(Delete) from ``via`` and wait until the replica in ``region`` is gone."""
    table = run.target.table
    started = time.monotonic()
    deadline = _deadline(wait)
    run.tell("replica", f"removing the replica in {region}", region)
    while True:
        try:
            with wrap(f"remove the replica of {table} in {region}", via):
                run.ddb(via).update_table(
                    TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": region}}]
                )
            break
        except GtError as err:
            if err.code not in ("ResourceInUseException", "LimitExceededException"):
                raise
            if time.monotonic() > deadline:
                raise
            _wait_table(run, via, _active_with([]), "table to become ACTIVE", deadline)
    _wait_table(run, via, _without(region), f"replica in {region} to go", deadline)
    run.record(f"replica of {table}", region, "deleted", "", started)


def remove_replica(
    conn: Any,
    region: str,
    *,
    progress: ProgressFn | None = None,
    force: bool = False,
    remove_api: bool = True,
    timeout: float | None = None,
) -> SetupReport:
    """Remove one replica (``region``) of the target's table, and nothing else.

    The request goes through another member region of ``conn.target.regions`` (so any replica,
    the home one included, can go while others remain; to remove the last copy use
    :func:`teardown_workshop`). Refused for a table setup did not make, unless ``force``.
    On the emulator, the regional API function setup made in that region goes too
    (``remove_api``).
    """
    target = conn.target
    if target.read_only:
        raise ReadOnlyError(
            f"removing the replica in {region} changes the table, and this target is read-only",
            hint="drop --read-only to do it",
            action=f"remove the replica in {region}",
        )
    table = target.table
    run = _Run(conn, "down", progress, 3)
    wait = timeout if timeout is not None else (60.0 if target.is_local else 1800.0)
    candidates = [r for r in target.regions if r != region]
    via = next((r for r in candidates if _describe(run, r) is not None),
               candidates[0] if candidates else None)
    if via is None:
        raise ConfigError(
            f"{region} is the only region of the target; there is no other replica to ask",
            hint="list the table's other regions in --regions, or tear everything down",
            region=region,
            action=f"remove the replica in {region}",
        )
    desc = _describe(run, via)
    if desc is None:
        raise NotFoundError(
            f"table {table} does not exist in {via}",
            hint="check --table and --regions",
            region=via,
            action=f"remove the replica in {region}",
        )
    present = _replica_states(desc)
    if region not in present:
        run.record(f"replica of {table}", region, "absent", "")
    else:
        # Tags do not propagate to replicas: the tag is on the copy setup created first.
        tagged = _is_tagged(run, via, desc)
        if not tagged:
            own = _describe(run, region)
            tagged = own is not None and _is_tagged(run, region, own)
            if tagged:  # the copy that goes carries setup's tag: keep it on one that stays
                with wrap(f"tag table {table}", via):
                    run.ddb(via).tag_resource(ResourceArn=desc["TableArn"], Tags=[CREATED_BY])
        if not tagged and not force:
            raise ConfigError(
                f"table {table} was not made by `python -m setup up` "
                f"(no tag {CREATED_BY['Key']}={CREATED_BY['Value']} in {via}); "
                f"not removing its replica in {region}",
                hint="pass force=True (--force) to remove it anyway",
                region=region,
                action=f"remove the replica in {region}",
            )
        _delete_replica(run, via, region, wait)
    if target.is_local and remove_api:
        _remove_functions(run, regions=[region], role=False)
    return run.finish()


def _remove_functions(run: _Run, regions: Iterable[str] | None = None, role: bool = True) -> None:
    name = run.target.function_name
    for region in (run.target.regions if regions is None else regions):
        started = time.monotonic()
        client = run.conn.client("lambda", region)
        try:
            with wrap(f"look for Lambda function {name}", region):
                fn = client.get_function(FunctionName=name)
        except NotFoundError:
            run.record(f"Lambda function {name}", region, "absent", "", started)
            continue
        tags = fn.get("Tags") or {}
        if tags.get(CREATED_BY["Key"]) != CREATED_BY["Value"]:
            run.record(f"Lambda function {name}", region, "kept", "not made by setup", started)
            continue
        with wrap(f"delete Lambda function {name}", region):
            client.delete_function(FunctionName=name)
        run.record(f"Lambda function {name}", region, "deleted", "", started)
    if not role:
        return
    iam = run.conn.client("iam", run.target.regions[0])
    started = time.monotonic()
    try:
        with wrap(f"look for IAM role {name}"):
            role = iam.get_role(RoleName=name)["Role"]
    except NotFoundError:
        run.record(f"IAM role {name}", None, "absent", "", started)
        return
    tags = {t["Key"]: t["Value"] for t in role.get("Tags", []) or []}
    if tags.get(CREATED_BY["Key"]) != CREATED_BY["Value"]:
        run.record(f"IAM role {name}", None, "kept", "not made by setup", started)
        return
    with wrap(f"delete IAM role {name}"):
        for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    run.record(f"IAM role {name}", None, "deleted", "", started)
