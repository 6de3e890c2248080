"""Nightly extracts for Tillväxtverket, written from the published warehouse."""

import dagster as dg

from orchestration.defs.publish_assets import published_warehouse
from orchestration.defs.resources import WarehouseResource
from orchestration.night import run_date
from warehouse.outputs import extract_dir, restricted_extract_dir


@dg.asset(
    group_name="extracts",
    deps=[published_warehouse],
    kinds={"excel", "csv"},
    description="warehouse/extracts/<run date>/: the Tillväxtverket indicator and supported-enterprise "
    "sheets (.xlsx and CSV). The participant list, which carries identifiers, goes to "
    "warehouse/restricted/extracts/<run date>/ (mode 0600). Earlier nights' files stay.",
)
def tillvaxtverket_extract(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # Imported here: openpyxl takes a while to load, and a quiet night writes no extract.
    from warehouse.extracts import write_tillvaxtverket_extract

    date = run_date(context)
    files = write_tillvaxtverket_extract(
        warehouse.published_path,
        warehouse.identifiers_path,
        extract_dir(warehouse.warehouse_path, date),
        restricted_extract_dir(warehouse.warehouse_path, date),
    )
    context.log.info(f"wrote {files.workbook}; participant list (restricted) {files.participant_list}")
    return dg.MaterializeResult(
        metadata={"workbook": dg.MetadataValue.path(str(files.workbook)),
                  "participant_list": dg.MetadataValue.path(str(files.participant_list))}
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[tillvaxtverket_extract])
