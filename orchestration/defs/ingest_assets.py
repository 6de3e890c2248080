"""One asset per landing source: its delivered files, typed, into ``raw.<source>``."""


import dagster as dg

from ingest.contracts import SOURCES, Source
from ingest.load import NOT_READ_OUTCOMES, OUTCOME_REJECTED, LoadSettings, load_source
from ingest.typing import redact_number_like
from orchestration.defs.resources import WarehouseResource

DUCKDB_POOL = "duckdb"


def build_source_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{source.name}",
        group_name="ingest",
        pool=DUCKDB_POOL,
        kinds={"duckdb", "python"},
        description=f"Every delivered file in landing/{source.name}/, typed into raw.{source.name}; "
        "rows that fail parsing go to audit.quarantine with a reason.",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.connect_work() as con:
            results = load_source(
                con, source, warehouse.landing_path, context.run_id, warehouse.pseudonym_secret(),
                LoadSettings(
                    max_quarantine_share=warehouse.max_quarantine_share,
                    fallback_copies_dir=warehouse.warehouse_path / "restricted" / "landing_copies",
                    counties=warehouse.covered_counties,
                    key_origin=warehouse.pseudonym_key_origin(),
                ),
            )
        not_read = [r for r in results if r.outcome in NOT_READ_OUTCOMES]
        results = [r for r in results if r.outcome not in NOT_READ_OUTCOMES]
        # The run's events are for everyone with the Dagster UI: a file named after a sole trader
        # shows there as the published file shows it, '[redacted]'.
        for result in not_read:
            context.log.warning(redact_number_like(f"{result.path}: {result.message}"))
        for result in results:
            log = context.log.warning if result.outcome == OUTCOME_REJECTED or result.message else context.log.info
            log(redact_number_like(f"{result.path.name}: {result.outcome}, {result.rows_read} read, "
                                   f"{result.rows_loaded} loaded, {result.rows_quarantined} quarantined. {result.message}"))
        return dg.MaterializeResult(
            metadata={
                "files": len(results),
                "files_not_read": dg.MetadataValue.json(
                    [{"file": redact_number_like(str(r.path)), "outcome": r.outcome, "reason": redact_number_like(r.message)}
                     for r in not_read]
                ),
                "rows_read": sum(r.rows_read for r in results),
                "rows_loaded": sum(r.rows_loaded for r in results),
                "rows_quarantined": sum(r.rows_quarantined for r in results),
                "seconds_read_validate": round(sum(r.seconds_read_validate for r in results), 3),
                "seconds_raw_load": round(sum(r.seconds_raw_load for r in results), 3),
                "files_rejected": dg.MetadataValue.json(
                    [{"file": redact_number_like(str(r.path)), "reason": redact_number_like(r.message)}
                     for r in results if r.outcome == OUTCOME_REJECTED]
                ),
            }
        )

    return _asset


# Read by dbt (its audit source) and written by every ingest asset as it loads, so no asset of
# their own: declared here, so that the graph shows where they come from.
AUDIT_TABLES = [
    dg.AssetSpec(["audit", "loads"], group_name="ingest", deps=[f"raw_{name}" for name in SOURCES],
                 description="audit.loads: one row per delivered file, with its sha256, outcome and row counts; "
                 "written by the ingest assets as they load."),
    dg.AssetSpec(["audit", "superseded_rows"], group_name="ingest", deps=[f"raw_{name}" for name in SOURCES],
                 description="audit.superseded_rows: each raw row a later delivery replaced or withdrew; written by "
                 "the ingest assets as they load."),
]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[*(build_source_asset(s) for s in SOURCES.values()), *AUDIT_TABLES])
