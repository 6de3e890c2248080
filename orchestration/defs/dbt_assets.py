"""The dbt models as assets; dbt tests become asset checks."""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.ingest_assets import DUCKDB_POOL
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import WarehouseResource
from warehouse.build_state import build_digest, code_digest, publication_is_current, record_build

# A run with this tag set to "always" builds even when nothing changed (`followup run --rebuild`).
REBUILD_TAG = "followup/rebuild"


class FolderGroupTranslator(DagsterDbtTranslator):
    """Group models by their folder: staging, intermediate, marts, restricted."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_build_args() -> list[str]:
    """The dbt command of the nightly run: build (models, seeds and tests) and stop at the first failure."""
    return ["build", "--fail-fast"]


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=FolderGroupTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=DUCKDB_POOL,
)
def followup_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    with warehouse.connect_work() as con:
        digest = build_digest(con, code_digest()) if _has_load_log(con) else None
        if context.run.tags.get(REBUILD_TAG) != "always" and digest is not None and publication_is_current(
            con, digest, warehouse.warehouse_path, warehouse.published_path, warehouse.identifiers_path
        ):
            # Yielding nothing skips the models, and with them estimation, publication and extracts.
            context.log.info("No new delivery and no new code since the last publication: nothing to build.")
            return
        if digest is not None:
            record_build(con, digest)
    yield from dbt.cli(dbt_build_args(), context=context, target_path=warehouse.dbt_target_path).stream()


def _has_load_log(con) -> bool:
    """The load log exists once any ingest asset has run against this warehouse."""
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' AND table_name = 'loads'").fetchone()[0]
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[followup_dbt_models])
