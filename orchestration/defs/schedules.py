"""The nightly job and its schedule: 02:00 Stockholm time, every night."""

import dagster as dg

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Ingest every landing source, build and test the dbt models, publish the warehouse.",
    # Every step writes the one DuckDB file (pool "duckdb", limit 1), so steps cannot run in
    # parallel anyway; one process spares a Python start-up per step.
    executor_def=dg.in_process_executor,
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_two",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Stockholm",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.definitions
def defs() -> dg.Definitions:
    # Every run in one process, a UI launch of some assets too: the night locks its warehouse
    # resource takes (orchestration/night_guard.py) are then held from its first step to its last.
    return dg.Definitions(jobs=[nightly_job], schedules=[nightly_schedule], executor=dg.in_process_executor)
