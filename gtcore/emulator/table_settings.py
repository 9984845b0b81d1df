"""Contributor insights and Kinesis streaming destinations: per-table settings stored as AWS stores them.

The emulator draws no contributor graphs and streams nothing to Kinesis; it keeps the settings,
their status transitions (ENABLING -> ENABLED/ACTIVE, DISABLING -> DISABLED) and AWS's answers
and errors, so tools and the AWS CLI that read or change them work as against AWS.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models.table import Table
from moto.kinesis.models import kinesis_backends

from gtcore.emulator.replicas import ApiError
from gtcore.emulator.table_extras import KinesisDestination, Phase, TableExtrasStore, page

MAX_INSIGHTS_PAGE = 100


class TableSettings:
    def __init__(self, extras: TableExtrasStore) -> None:
        self._extras = extras

    def handlers(self) -> dict[str, Any]:
        return {
            "DescribeContributorInsights": self.describe_contributor_insights,
            "UpdateContributorInsights": self.update_contributor_insights,
            "ListContributorInsights": self.list_contributor_insights,
            "DescribeKinesisStreamingDestination": self.describe_kinesis,
            "EnableKinesisStreamingDestination": self.enable_kinesis,
            "DisableKinesisStreamingDestination": self.disable_kinesis,
            "UpdateKinesisStreamingDestination": self.update_kinesis,
        }

    # -- contributor insights ------------------------------------------------------------
    @staticmethod
    def _index(table: Table, index: str | None) -> str:
        if index and index not in {ix.name for ix in [*table.global_indexes, *table.indexes]}:
            raise ApiError("ResourceNotFoundException",
                           f"Requested resource not found: Index: {index} not found for table {table.name}")
        return index or ""

    def _insights(self, table: Table, index: str) -> tuple[str, str | None, float | None]:
        extras = self._extras.peek(table)
        entry = extras.contributor_insights.get(index) if extras else None
        if entry is None:
            return "DISABLED", None, None
        phase, mode = entry
        return self._extras.status(phase), mode, phase.since

    def describe_contributor_insights(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        index = self._index(table, request.get("IndexName"))
        status, mode, since = self._insights(table, index)
        answer: dict[str, Any] = {"TableName": table.name, "ContributorInsightsStatus": status}
        if index:
            answer["IndexName"] = index
        if since is not None:
            answer["LastUpdateDateTime"] = since
        if status in ("ENABLED", "ENABLING") and mode:
            answer["ContributorInsightsMode"] = mode
            answer["ContributorInsightsRuleList"] = self._rules(table, index, mode, since or 0.0)
        return answer

    @staticmethod
    def _rules(table: Table, index: str, mode: str, since: float) -> list[str]:
        """The CloudWatch Contributor Insights rule names AWS creates (partition/sort key x consumed/throttled)."""
        kinds = ["PK"] + (["SK"] if table.range_key_attr else [])
        counts = ["T"] if mode == "THROTTLED_KEYS" else ["C", "T"]
        name = f"{table.name}-{index}" if index else table.name
        return [f"DynamoDBContributorInsights-{k}{c}-{name}-{int(since * 1000)}" for k in kinds for c in counts]

    def update_contributor_insights(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        index = self._index(table, request.get("IndexName"))
        action = request["ContributorInsightsAction"]
        now = self._extras.clock()
        insights = self._extras.of(table).contributor_insights
        if action == "ENABLE":
            mode = request.get("ContributorInsightsMode", "ACCESSED_AND_THROTTLED_KEYS")
            insights[index] = (Phase("ENABLING", "ENABLED", now), mode)
        else:
            _, mode = insights.get(index, (None, "ACCESSED_AND_THROTTLED_KEYS"))
            insights[index] = (Phase("DISABLING", "DISABLED", now), mode)
        status, mode, _ = self._insights(table, index)
        answer = {"TableName": table.name, "ContributorInsightsStatus": status}
        if index:
            answer["IndexName"] = index
        if action == "ENABLE" and mode:
            answer["ContributorInsightsMode"] = mode
        return answer

    def list_contributor_insights(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("TableName"):
            table = self._extras.table(region, request["TableName"])
            keys = [(table, "")] + [(table, ix.name) for ix in table.global_indexes]
        else:
            keys = [(t, ix) for t in self._extras.tables(region)
                    for ix in sorted(getattr(self._extras.peek(t), "contributor_insights", ()))]
        summaries = []
        for table, index in keys:
            status, mode, _ = self._insights(table, index)
            if not request.get("TableName") and status == "DISABLED":
                continue
            entry = {"TableName": table.name, "ContributorInsightsStatus": status}
            if index:
                entry["IndexName"] = index
            if mode and status != "DISABLED":
                entry["ContributorInsightsMode"] = mode
            summaries.append(entry)
        chunk, token = page(summaries, request.get("NextToken"), request.get("MaxResults"), most=MAX_INSIGHTS_PAGE)
        return {"ContributorInsightsSummaries": chunk, **({"NextToken": token} if token else {})}

    # -- Kinesis streaming destinations --------------------------------------------------
    def _stream_exists(self, arn: str) -> bool:
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
            raise ApiError("ValidationException", f"Invalid StreamArn: {arn} is not a Kinesis data stream ARN")
        region, account = parts[3], parts[4]
        try:
            streams = kinesis_backends[account][region].streams
        except KeyError:
            return False
        return any(stream.arn == arn for stream in list(streams.values()))

    def _destination_answer(self, table: Table, dest: KinesisDestination, config_key: str) -> dict[str, Any]:
        return {"TableName": table.name, "StreamArn": dest.stream_arn,
                "DestinationStatus": self._extras.status(dest.phase),
                config_key: {"ApproximateCreationDateTimePrecision": dest.precision}}

    def describe_kinesis(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        extras = self._extras.peek(table)
        destinations = [
            {"StreamArn": d.stream_arn, "DestinationStatus": self._extras.status(d.phase),
             "ApproximateCreationDateTimePrecision": d.precision}
            for d in (extras.kinesis.values() if extras else [])
        ]
        return {"TableName": table.name, "KinesisDataStreamDestinations": destinations}

    def _active(self, table: Table, arn: str) -> KinesisDestination | None:
        extras = self._extras.peek(table)
        dest = extras.kinesis.get(arn) if extras else None
        if dest is None or self._extras.status(dest.phase) in ("DISABLED", "DISABLING"):
            return None
        return dest

    def enable_kinesis(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        arn = request["StreamArn"]
        if not self._stream_exists(arn):
            raise ApiError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found")
        if self._active(table, arn) is not None:
            raise ApiError("ValidationException",
                           f"Table {table.name} already has an enabled Kinesis streaming destination for {arn}")
        precision = (request.get("EnableKinesisStreamingConfiguration") or {}).get(
            "ApproximateCreationDateTimePrecision", "MILLISECOND")
        dest = KinesisDestination(arn, Phase("ENABLING", "ACTIVE", self._extras.clock()), precision)
        self._extras.of(table).kinesis[arn] = dest
        return self._destination_answer(table, dest, "EnableKinesisStreamingConfiguration")

    def disable_kinesis(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        dest = self._active(table, request["StreamArn"])
        if dest is None:
            raise ApiError("ValidationException", f"Table {table.name} has no enabled Kinesis streaming "
                           f"destination for {request['StreamArn']}")
        dest.phase = Phase("DISABLING", "DISABLED", self._extras.clock())
        return self._destination_answer(table, dest, "EnableKinesisStreamingConfiguration")

    def update_kinesis(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        dest = self._active(table, request["StreamArn"])
        if dest is None or self._extras.status(dest.phase) != "ACTIVE":
            raise ApiError("ValidationException",
                           f"Table {table.name} has no ACTIVE Kinesis streaming destination for {request['StreamArn']}")
        config = request.get("UpdateKinesisStreamingConfiguration") or {}
        precision = config.get("ApproximateCreationDateTimePrecision")
        if precision is None:
            raise ApiError("ValidationException", "UpdateKinesisStreamingConfiguration must set "
                           "ApproximateCreationDateTimePrecision")
        if precision == dest.precision:
            raise ApiError("ValidationException",
                           f"ApproximateCreationDateTimePrecision is already {precision} for this destination")
        dest.precision = precision
        dest.phase = Phase("UPDATING", "ACTIVE", self._extras.clock())
        return self._destination_answer(table, dest, "UpdateKinesisStreamingConfiguration")
