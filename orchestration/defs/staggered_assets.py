"""marts.rpt_staggered_att: Callaway & Sant'Anna across all cohorts, beside the dbt marts.

The estimator is Python (numpy), so this is a Dagster asset rather than a dbt model; the
logic lives in ``warehouse/staggered_att.py`` and this asset only wires it to the working database.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.dbt_assets import followup_dbt_models
from orchestration.defs.ingest_assets import DUCKDB_POOL
from orchestration.defs.resources import WarehouseResource
from warehouse.staggered_att import TABLE, TABLE_COMMENT, build_table, write_table

# The dbt models the panel query reads.
UPSTREAM_MODELS = (
    "fct_firm_year", "fct_cohort_membership", "dim_firm", "dim_cohort",
    "int_cohort_effects__participant_changes", "int_cohort_effects__base_year_strata",
)


@dg.asset(
    name="rpt_staggered_att",
    key_prefix=["marts"],
    group_name="effects",
    pool=DUCKDB_POOL,
    kinds={"duckdb", "python"},
    deps=[get_asset_key_for_model([followup_dbt_models], model) for model in UPSTREAM_MODELS],
    description=TABLE_COMMENT,
)
def rpt_staggered_att(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect_work() as con:
        table = build_table(con)
        write_table(con, table)
    shown = table[~table["is_suppressed"]]
    context.log.info(f"{TABLE}: {len(table)} rows, {len(shown)} shown, {len(table) - len(shown)} suppressed")
    return dg.MaterializeResult(
        metadata={
            "rows": len(table),
            "rows_suppressed": int(table["is_suppressed"].sum()),
            "programs": dg.MetadataValue.json(sorted(table["program"].unique().tolist())),
        }
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[rpt_staggered_att])
