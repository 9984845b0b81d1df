"""ListExports and ListImports over moto's stored exports and imports, with AWS's answer shapes.

moto keeps the exports (ExportTableToPointInTime) and imports (ImportTable) it runs, but lists
exports only for one table (its TableArn is required there, optional in AWS) and has no
ListImports at all.
"""

from __future__ import annotations

from typing import Any

from gtcore.emulator.table_extras import TableExtrasStore, page

MAX_EXPORTS_PAGE = 25  # ListExports MaxResults: 1..25
MAX_IMPORTS_PAGE = 25  # ListImports PageSize: 1..25


class ExportsImports:
    def __init__(self, extras: TableExtrasStore) -> None:
        self._extras = extras

    def handlers(self) -> dict[str, Any]:
        return {"ListExports": self.list_exports, "ListImports": self.list_imports}

    def list_exports(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        wanted = request.get("TableArn")
        exports = [e for e in list(self._extras.moto.backend(region).table_exports.values())
                   if not wanted or e.table.table_arn == wanted]
        chunk, token = page(exports, request.get("NextToken"), request.get("MaxResults"), most=MAX_EXPORTS_PAGE)
        summaries = [{"ExportArn": e.arn, "ExportStatus": e.status, "ExportType": e.export_type} for e in chunk]
        return {"ExportSummaries": summaries, **({"NextToken": token} if token else {})}

    def list_imports(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        wanted = request.get("TableArn")
        imports = [i for i in list(self._extras.moto.backend(region).table_imports.values())
                   if not wanted or i.table_arn == wanted]
        chunk, token = page(imports, request.get("NextToken"), request.get("PageSize"), most=MAX_IMPORTS_PAGE)
        summaries = []
        for item in chunk:
            summary: dict[str, Any] = {"ImportArn": item.arn, "ImportStatus": item.status, "TableArn": item.table_arn}
            if item.s3_source:
                summary["S3BucketSource"] = dict(item.s3_source)
            summaries.append(summary)
        return {"ImportSummaryList": summaries, **({"NextToken": token} if token else {})}
