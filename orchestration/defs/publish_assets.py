"""The last step of a night: publish the tested working database for analysts."""


import dagster as dg

from orchestration.defs.dbt_assets import followup_dbt_models
from orchestration.defs.ingest_assets import DUCKDB_POOL
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.staggered_assets import rpt_staggered_att
from orchestration.night import run_date
from warehouse.build_state import last_completed_build, record_publication
from warehouse.outputs import night_outputs
from warehouse.publish import publish_warehouse

@dg.asset(
    group_name="publish",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    deps=[*followup_dbt_models.keys, rpt_staggered_att.key],
    description="warehouse/followup.duckdb: marts, reference and audit, swapped in atomically "
    "after dbt build (models and tests) succeeded. Identifiers go to restricted/identifiers.duckdb (0600); "
    "both files carry the same publication id (audit.publication, restricted.publication).",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # A night publishes only after its whole build passed; a run of this step from the UI after a
    # run of some models, or after a failed build, would publish what no complete build made, and
    # the next night would take it for current.
    with warehouse.connect_work() as con:
        built_from = last_completed_build(con)
    if built_from is None:
        raise dg.Failure(
            "The last dbt build did not complete (a run of some models only, or a build a failed test stopped), so "
            "the working database is not published: run the whole nightly job (`followup run`), which builds "
            "everything first. The published warehouse was left unchanged."
        )
    publication = publish_warehouse(warehouse.work_db_path, warehouse.warehouse_path, context.run_id,
                                    duckdb_config=warehouse.duckdb_config)
    path, restricted = warehouse.published_path, warehouse.identifiers_path
    with warehouse.connect_work() as con:
        # Done once the night's extract and report exist too (build_state.publication_is_current).
        outputs = night_outputs(warehouse.warehouse_path, run_date(context))
        # What dbt built from, not the load log now: an overlapping night may have loaded since.
        record_publication(con, built_from, warehouse.warehouse_path, outputs)
    context.log.info(f"published {path}; identifiers in {restricted}; publication {publication.id}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "restricted_path": dg.MetadataValue.path(str(restricted)),
                  "publication_id": publication.id}
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[published_warehouse])
