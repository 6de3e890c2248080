"""The Dagster definitions load, with the job, the 02:00 schedule and the landing sensor."""

import logging
from unittest import mock

import dagster as dg

from orchestration.defs.dbt_assets import dbt_build_args


def test_definitions_load_with_job_schedule_and_sensor():
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    schedule = defs.resolve_schedule_def("nightly_at_two")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Stockholm"
    assert schedule.job_name == job.name
    assert defs.resolve_sensor_def("landing_sensor").job_name == job.name
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for source in ("participants", "bisnode", "baselines", "markets", "targets"):
        assert f"raw_{source}" in keys
    assert {"marts/rpt_cohort_summary", "marts/dim_firm", "marts/fct_firm_year", "marts/dim_cohort", "published_warehouse"} <= keys


def test_dbt_sources_hang_off_the_ingest_assets():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey(["staging", "stg_bisnode__financials"])).parent_keys
    assert dg.AssetKey("raw_bisnode") in upstream


def test_dbt_tests_become_asset_checks():
    from orchestration.definitions import defs

    checks = defs.resolve_asset_graph().asset_check_keys
    assert any(c.asset_key == dg.AssetKey(["marts", "dim_firm"]) and "unique" in c.name for c in checks)


def test_dbt_build_args_stop_at_the_first_failure():
    assert dbt_build_args() == ["build", "--fail-fast"]


def test_landing_sensor_starts_a_night_once_a_file_with_new_content_has_stood_still(tmp_path):
    import os

    from orchestration.defs.resources import WarehouseResource
    from orchestration.defs.sensors import landing_sensor

    warehouse = WarehouseResource(warehouse_dir=str(tmp_path / "warehouse"), landing_dir=str(tmp_path / "landing"))
    folder = tmp_path / "landing" / "participants"
    folder.mkdir(parents=True)
    cursor = "3f2a9c"  # what an earlier version kept: a plain fingerprint

    def tick() -> list:
        nonlocal cursor
        # Entered, as the daemon enters it: the warehouse resource is a context manager.
        with dg.build_sensor_context(cursor=cursor, resources={"warehouse": warehouse}) as context:
            result = landing_sensor(context)
            cursor = context.cursor
        return [result] if isinstance(result, dg.RunRequest) else []

    assert tick() == []
    new = folder / "intake_2022.csv"
    new.write_text("Organisationsnummer;Program;Kohort\n")
    assert tick() == []  # it may still be arriving
    with new.open("a") as fh:
        fh.write("5560000019;Exportboost;2022\n")
    assert tick() == []  # it was: it grew
    assert len(tick()) == 1  # it stood still for a tick
    assert tick() == []
    os.utime(new, ns=(new.stat().st_atime_ns, new.stat().st_mtime_ns + 10**9))  # touched, same content
    assert tick() == [] and tick() == []
    new.rename(folder / "intake_2022_renamed.csv")
    assert tick() == [] and tick() == []
    (folder / ".intake_2023.csv.part").write_text("hidden while uploading")
    assert tick() == [] and tick() == []
    (folder / "intake_2023.csv").write_text("Organisationsnummer;Program;Kohort\n5560000027;Exportboost;2023\n")
    assert tick() == [] and len(tick()) == 1


def test_dbt_resource_reports_the_version_of_the_dbt_it_runs():
    """The resource skips dagster-dbt's `dbt --version` probe; what it assumes must be what runs."""
    import re
    import subprocess

    from orchestration.definitions import defs

    dbt = defs.resources["dbt"]
    output = subprocess.run([dbt.dbt_executable, "--version"], capture_output=True, text=True, check=True).stdout
    installed = re.search(r"installed: (\d+\.\d+\.\d+)", output).group(1)
    assert str(dbt._cli_version) == installed


def test_instance_runs_one_night_at_a_time_and_updates_settings_it_wrote(tmp_path):
    from orchestration.cli import write_dagster_yaml

    (tmp_path / "dagster.yaml").write_text("# Written by `followup run`: an older version\ntelemetry:\n  enabled: false\n")
    write_dagster_yaml(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 1
        assert config.pool_config.default_pool_limit == 1

    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    write_dagster_yaml(own)
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_the_daemon_frees_the_pool_slot_of_a_run_whose_worker_died(tmp_path):
    """With our dagster.yaml the daemon monitors runs, and frees the "duckdb" slot a run still holds
    after it ended (the code server marks a killed run worker's run failed, nothing frees its slot)."""
    import datetime
    from types import SimpleNamespace

    from dagster._core.instance.ref import InstanceRef
    from dagster._daemon.monitoring import execute_concurrency_slots_iteration
    from dagster._daemon.daemon import MonitoringDaemon

    from orchestration.cli import write_dagster_yaml
    from orchestration.defs.ingest_assets import DUCKDB_POOL

    write_dagster_yaml(tmp_path)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path))) as instance:
        assert MonitoringDaemon.daemon_type() in instance.get_required_daemon_types()
        storage = instance.event_log_storage
        storage.set_concurrency_slots(DUCKDB_POOL, 1)
        dead = instance.create_run_for_job(dg.GraphDefinition("ui_run").to_job(), status=dg.DagsterRunStatus.STARTED)
        assert storage.claim_concurrency_slot(DUCKDB_POOL, dead.run_id, "followup_dbt_models").is_claimed
        instance.report_run_failed(dead, "Run execution process for the run was terminated by signal 9 (SIGKILL).")
        grace = instance.run_monitoring_settings["free_slots_after_run_end_seconds"]
        assert grace <= 300, "a dead run's slot must not block nights for long"

        def daemon_tick(seconds_after_end):
            later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_after_end)
            with mock.patch("dagster._daemon.monitoring.concurrency.get_current_datetime", return_value=later):
                list(execute_concurrency_slots_iteration(SimpleNamespace(instance=instance), logging.getLogger()))

        daemon_tick(0)
        assert dead.run_id in storage.get_concurrency_run_ids()  # a run that just ended may still release its own
        daemon_tick(grace + 1)
        assert dead.run_id not in storage.get_concurrency_run_ids()


def test_every_asset_in_the_graph_is_described_and_in_a_named_group():
    """An asset in the UI's "default" group without a description (a dbt source no asset writes
    by itself) tells the operator nothing."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    unexplained = [key.to_user_string() for key in graph.get_all_asset_keys()
                   if not graph.get(key).description or graph.get(key).group_name == "default"]
    assert unexplained == []


def test_a_manifest_parsed_from_other_project_files_is_parsed_again(tmp_path):
    # The definitions are built from dbt_project/target/manifest.json. A manifest an earlier version
    # of the code left there (a `git pull` in the checkout, then `followup run` without `make`) named
    # other tests, and every night failed with a KeyError on the first new one.
    from types import SimpleNamespace

    from orchestration.defs.project import prepare_manifest

    project_dir = tmp_path / "dbt_project"
    (project_dir / "models").mkdir(parents=True)
    (project_dir / "dbt_project.yml").write_text("name: followup\n")
    model = project_dir / "models" / "dim_firm.sql"
    model.write_text("select 1 as firm_key\n")
    parsed = []

    class Preparer:
        def prepare(self, project):
            parsed.append(model.read_text())
            project.manifest_path.write_text("{}")

    project = SimpleNamespace(project_dir=project_dir, manifest_path=project_dir / "target" / "manifest.json",
                              preparer=Preparer())
    project.manifest_path.parent.mkdir()
    project.manifest_path.write_text('{"parsed by": "an earlier version"}')

    prepare_manifest(project)
    assert parsed == ["select 1 as firm_key\n"]
    prepare_manifest(project)  # nothing changed since: not parsed again
    assert len(parsed) == 1
    model.write_text("select 2 as firm_key\n")  # the next version of a model
    prepare_manifest(project)
    assert parsed[-1] == "select 2 as firm_key\n"
    project.manifest_path.unlink()
    prepare_manifest(project)
    assert len(parsed) == 3
    prepare_manifest(project, always=True)  # `dagster dev` parses on every load
    assert len(parsed) == 4
