"""The dbt models as assets; dbt tests become asset checks."""


import graphlib
import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.ingest_assets import DUCKDB_POOL
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import WarehouseResource
from orchestration.dbt_process import forget_dbt_build, record_dbt_build
from orchestration.dbt_selection import node_selectors, unaffected_nodes
from warehouse.build_state import (
    build_digest,
    changed_sources,
    code_digest,
    publication_is_current,
    record_build,
    record_build_completed,
    source_digests,
)

# A run with this tag set to "always" builds even when nothing changed (`followup run --rebuild`).
REBUILD_TAG = "followup/rebuild"


class FolderGroupTranslator(DagsterDbtTranslator):
    """Group models by their folder: staging, intermediate, marts, restricted."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_build_args(unaffected: list[str] | None = None) -> list[str]:
    """The dbt command of the nightly run: build (models, seeds and tests) and stop at the first
    failure; leave out the ``unaffected`` nodes (dbt selectors) last night's build still stands for."""
    return ["build", "--fail-fast"] + (["--exclude", " ".join(unaffected)] if unaffected else [])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=FolderGroupTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=DUCKDB_POOL,
)
def followup_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    rebuild = context.run.tags.get(REBUILD_TAG) == "always"
    with warehouse.connect_work() as con:
        if not _has_load_log(con):
            raise dg.Failure("No delivery has been loaded into this warehouse yet: run the whole nightly job "
                             "(`followup run`), whose ingest steps load the landing folder before dbt builds.")
        code, sources = code_digest(), source_digests(con)
        digest = build_digest(con, code)
        # A run of some models only (from the UI) builds what it asks for, and completes no build.
        whole = not context.is_subset
        if whole and not rebuild and publication_is_current(
            con, digest, warehouse.warehouse_path, warehouse.published_path, warehouse.identifiers_path
        ):
            # Yielding nothing skips the models, and with them estimation, publication and extracts.
            context.log.info("No new delivery and no new code since the last publication: nothing to build.")
            return
        changed = changed_sources(con, code, sources) if whole and not rebuild else None
        record_build(con, digest, code, sources)
    manifest = json.loads(dbt_project.manifest_path.read_text())
    unaffected = None if changed is None else unaffected_nodes(manifest, changed)
    if unaffected:
        news = f"New deliveries of {', '.join(changed)}" if changed else "No new delivery since the last build"
        context.log.info(f"{news}: building what reads them and the load log; {len(unaffected)} models and "
                         "tests stand as the last build left them.")
        yield from _unchanged_outputs(context, unaffected)
    excluded = node_selectors(manifest, unaffected) if unaffected else None
    build = dbt.cli(dbt_build_args(excluded), context=context, target_path=warehouse.dbt_target_path)
    # Recorded while it runs: if this process is killed, dbt lives on, and the next `followup run`
    # ends it before it starts (orchestration/dbt_process.py).
    work_dir = warehouse.work_db_path.parent
    recorded = record_dbt_build(work_dir, build.process.pid)
    try:
        yield from build.stream()
    finally:
        # Forgotten only once dbt has ended (interrupted, dagster-dbt sends it SIGINT and waits).
        if recorded and build.process.poll() is not None:
            forget_dbt_build(work_dir, recorded)
    if whole:
        with warehouse.connect_work() as con:
            record_build_completed(con, digest)


_NOT_REBUILT = {
    "rebuilt": False,
    "why": "It reads none of tonight's new deliveries: the table the last completed build made stands.",
}


def _unchanged_outputs(context: dg.AssetExecutionContext, unaffected: list[str]):
    """An output for each model dbt leaves alone tonight, so that estimation and publication
    go ahead: its table is current. Yielded first, dependencies before dependents (no model
    left alone reads one that is rebuilt)."""
    left_alone = set(unaffected)
    assets = context.assets_def
    keys = [k for k in context.selected_asset_keys
            if assets.specs_by_key[k].metadata.get("dagster_dbt/unique_id") in left_alone]
    order = graphlib.TopologicalSorter({k: assets.asset_deps.get(k, set()) & set(keys) for k in keys})
    for key in order.static_order():
        yield dg.Output(None, output_name=assets.get_output_name_for_asset_key(key), metadata=_NOT_REBUILT)


def _has_load_log(con) -> bool:
    """The load log exists once any ingest asset has run against this warehouse."""
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' AND table_name = 'loads'").fetchone()[0]
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[followup_dbt_models])
