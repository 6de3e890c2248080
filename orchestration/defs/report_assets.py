"""The nightly cohort report, written from the published warehouse."""

import dagster as dg

from orchestration.defs.publish_assets import published_warehouse
from orchestration.defs.resources import WarehouseResource
from orchestration.night import run_date
from warehouse.outputs import report_dir


@dg.asset(
    group_name="report",
    deps=[published_warehouse],
    kinds={"html", "png"},
    description="warehouse/report/<run date>/: the cohort report, one self-contained HTML page that opens "
    "offline (indexed outcomes against matched controls, representativity, export outcomes, the key-figure "
    "table, data quality), and every chart as PNG beside it. Earlier nights' reports stay.",
)
def cohort_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # Imported here: the plotting libraries take a while to load, and a quiet night writes no report.
    from warehouse.cohort_report import write_cohort_report

    date = run_date(context)
    files = write_cohort_report(warehouse.published_path, report_dir(warehouse.warehouse_path, date), date,
                                bundle_cache=warehouse.warehouse_path / "report" / ".cache")
    context.log.info(f"wrote {files.page} and {len(files.charts)} charts as PNG")
    return dg.MaterializeResult(
        metadata={"page": dg.MetadataValue.path(str(files.page)), "charts": len(files.charts)}
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[cohort_report])
