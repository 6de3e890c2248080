"""The Great Expectations results of each load, as Dagster asset checks on the source assets.

Participants or Bisnode with no usable rows at all is an ERROR and blocks everything
downstream: no metric can be built. Any other source with no usable rows yet, rejected files,
quarantined rows and failed expectations are a WARN: the run goes on.
"""

import dagster as dg

from ingest.contracts import SOURCES, Source
from ingest.load import OUTCOME_REJECTED
from orchestration.defs.ingest_assets import DUCKDB_POOL
from orchestration.defs.resources import WarehouseResource


def build_source_check(source_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"raw_{source_name}",
        name=f"{source_name}_expectations",
        blocking=True,
        pool=DUCKDB_POOL,  # reads the working database: one process at a time
        description=f"The {source_name} expectation suite (expectations/suites.py) on this run's deliveries.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect_work() as con:
            usable = con.execute(f"SELECT count(*) FROM raw.{source_name}").fetchone()[0]
            failed = con.execute(
                "SELECT expectation, column_name, sum(unexpected_count) FROM audit.validation_results "
                "WHERE load_id = ? AND source = ? AND NOT success GROUP BY ALL ORDER BY ALL",
                [context.run.run_id, source_name],
            ).fetchall()
            files = con.execute(
                "SELECT count(*) FILTER (outcome = ?), coalesce(sum(rows_quarantined), 0), count(*) "
                "FROM audit.loads WHERE load_id = ? AND source = ?",
                [OUTCOME_REJECTED, context.run.run_id, source_name],
            ).fetchone()
        rejected, quarantined, new_files = files
        metadata = {
            "new_files": new_files,
            "files_rejected": rejected,
            "rows_quarantined": int(quarantined),
            "usable_rows": usable,
            "failed_expectations": dg.MetadataValue.json(
                [{"expectation": e, "column": c, "unexpected": int(n)} for e, c, n in failed]
            ),
        }
        if usable == 0:
            return _no_usable_rows(SOURCES[source_name], metadata)
        clean = not failed and not rejected and not quarantined
        return dg.AssetCheckResult(passed=clean, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)

    return _check


def _no_usable_rows(source: Source, metadata: dict) -> dg.AssetCheckResult:
    folder = f"landing/{source.name}/"
    if source.feeds is None:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata,
            description=f"raw.{source.name} has no usable rows: no file in {folder} has loaded (audit.loads says "
            f"why for each), and every metric starts from it. Deliver a readable file to {folder} and run again.",
        )
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=metadata,
        description=f"raw.{source.name} has no usable rows yet, so {source.feeds} stay empty. "
        f"Deliver a file to {folder} (audit.loads says why any earlier one did not load).",
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[build_source_check(name) for name in SOURCES])
